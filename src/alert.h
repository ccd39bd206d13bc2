/*
 * alert: the table of alerts of the running config and where their
 * transitions go.
 *
 * Every (rule, check) pair the rules match is one alert, identified by
 * (agent, rule, check).  Results go through rules_eval(); each transition
 * is logged as one logfmt line ("alert=down/api state=firing ...") and,
 * when people should hear of it, routed to the rule's channels through a
 * struct notify_sink, unless it is held:
 *
 * - by a silence matching the check (the state still moves; when the
 *   silence ends, each alert whose channels were told something else than
 *   its state now is told what it is);
 * - by depends_on: while an alert of a check named there fires, the
 *   dependent's notifications wait; the parent's notification lists the
 *   dependents that are pending or firing behind it; when the parent
 *   stops firing they are reconciled like at the end of a silence.
 *
 * Digest: within agent.digest_window from the first notification, the
 * first agent.digest_threshold notifications go out one by one; the rest
 * are folded, per channel, into one message at the window's end.
 *
 * Time is wall-clock µs passed in by the caller (the agent), so the table
 * is tested with a fake clock.  The config is borrowed while installed.
 */
#ifndef SONDE_ALERT_H
#define SONDE_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alerts;
struct notify_item;
struct check_conf;
struct config;
struct notify_sink;
struct probe_result;
struct rule_state;
struct slo_table;
struct state_alert;

/* Returns a new empty table; sink is borrowed for its lifetime. */
struct alerts	*alerts_new(const struct notify_sink *sink);
/* Frees the table (nothing is notified); NULL is a no-op. */
void		 alerts_free(struct alerts *a);
/*
 * Installs cfg (borrowed until the next call or alerts_free): alerts of
 * (rule, check) pairs that exist in both keep their state (the window is
 * cleared when the rule's condition changed); alerts that disappear and
 * were firing log "state=resolved cause=removed" and their channels are
 * told when they had been told it fired.
 */
void		 alerts_set_config(struct alerts *a, const struct config *cfg,
		    int64_t now);
/* Feeds one result of check (of the installed config); both borrowed. */
void		 alerts_result(struct alerts *a, const struct check_conf *check,
		    const struct probe_result *res, int64_t now);
/*
 * Time passes: ends of silences are reconciled and a digest whose window
 * is over is sent.  Call about once a second.
 */
void		 alerts_tick(struct alerts *a, int64_t now);
/*
 * Borrows slo (until the next call or alerts_free) for the burn rates of
 * when = "slo_burn" rules; without it those rules never fire.  Feed the
 * result to slo_table_result() before alerts_result().
 */
void		 alerts_set_slo(struct alerts *a, const struct slo_table *slo);
/*
 * With on, every firing and resolved transition is appended to the
 * incident log in agent.state_dir (incident.h); off by default.
 */
void		 alerts_set_incidents(struct alerts *a, bool on);
/* Returns the number of alerts (pairs) of the installed config. */
size_t		 alerts_count(const struct alerts *a);
/*
 * Calls cb once per alert, in table order, with its rule and check names
 * (borrowed), its state ("ok", "pending", "firing"; "flapping" while
 * flapping) and when it entered it (wall clock µs).  For /metrics and the
 * status page.
 */
typedef void	(*alerts_each_cb)(const char *rule, const char *check,
		    const char *state, int64_t since, void *arg);
void		 alerts_each(const struct alerts *a, alerts_each_cb cb,
		    void *arg);
/*
 * Returns the state of alert rule/check (borrowed), or NULL; *told (if not
 * NULL) says whether its channels were told that it fires.
 */
const struct rule_state *alerts_state(const struct alerts *a,
		    const char *rule, const char *check, bool *told);
/*
 * Returns the latest message of alert rule/check (borrowed until its next
 * result), or NULL when it has none: an alert keeps one only while it is
 * not ok, or its channels were told it fires.
 */
const char	*alerts_message(const struct alerts *a, const char *rule,
		    const char *check);

/* True when a transition happened since the last alerts_save(). */
bool		 alerts_dirty(const struct alerts *a);
/*
 * Writes every alert's state to the installed config's agent.state_dir.
 * Returns 0, or -1 with the reason in err.
 */
int		 alerts_save(struct alerts *a, char *err, size_t errlen);
/*
 * Returns the text alerts_save() would write (new, caller frees; it is
 * then no longer dirty), for a writer off the loop; NULL when it cannot
 * be encoded.  Needs an installed config.
 */
char		*alerts_encode(struct alerts *a);
/*
 * Restores saved state (borrowed) into the alerts with the same identity;
 * saved alerts the config no longer has are logged and dropped.
 */
void		 alerts_restore(struct alerts *a, const struct state_alert *v,
		    size_t n);
/*
 * Restores what a notification the last run spooled, and did not see
 * delivered, told (arg is the struct alerts; the outbox replays it): a
 * firing alert is firing and told, a resolved one ok, whatever the saved
 * state says.  Killed between the spool and the state's save, the agent
 * would otherwise fire a second time.  Call after alerts_restore().
 */
void		 alerts_restore_spooled(const struct notify_item *it,
		    void *arg);

#endif /* SONDE_ALERT_H */
