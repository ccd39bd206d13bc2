/* SPDX-License-Identifier: ISC */
/*
 * agent: the three things sonde does, wired from the parts: validate a
 * config (-t), run checks once and print the results (--once), and run the
 * daemon until told to stop.
 *
 * The agent owns the process-level objects (the loop, the resolver, the
 * scheduler, the current config generation) and what a person reads about
 * them: the startup and summary lines, reload outcomes, and one log line
 * per check state change.  For that it keeps, per check, whether the
 * check is failing and since when, in an array indexed like the running
 * config's checks (16 bytes a check, no lookup per result); a reload
 * carries each state over by name, so a check it keeps keeps its state.
 * Results also go to the alert table (alert.c), whose state the agent
 * saves at the tick after a transition (once a second at most) and at
 * stop, and restores at startup.  Probing, scheduling, parsing and rule
 * logic belong to the modules it calls.  It also owns the SLO table
 * (slo.c): each result is counted there before the alerts see it, the
 * counts are saved every minute and at stop, and restored at startup with
 * the time it was down counted as unknown.
 *
 * For operators (the "ops" section) it also owns the per-check history
 * (src/history.c), the HTTP endpoint (src/metrics.c), to which it hands a
 * read-only view of itself per request, the systemd notifications and
 * watchdog, and the switch to agent.user after binding.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "alert.h"
#include "channel.h"
#include "config.h"
#include "diskq.h"
#include "expo.h"
#include "history.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "pidfile.h"
#include "priv.h"
#include "sdnotify.h"
#include "probe.h"
#include "resolver.h"
#include "curlmux.h"
#include "result.h"
#include "sched.h"
#include "slo.h"
#include "state.h"
#include "xmalloc.h"

/* What the daemon remembers about a check between results. */
struct agent_state {
	bool	 seen;		/* a result has arrived */
	bool	 failing;
	int64_t	 since;		/* loop clock when this state began */
};

/* One state per check of the running config, in its order. */
struct agent_states {
	struct agent_state	*v;
	size_t			 n;
};

struct agent {
	const struct agent_options	*opt;
	struct loop			*loop;
	struct resolver			*resolver;
	struct sched			*sched;
	struct config			*cfg;	/* the running generation */
	struct agent_states		 states;
	int				 pidfd;		/* -1: none */
	uint64_t			 failed;	/* failed results */
	bool				 syslog;
	struct alerts			*alerts;
	struct loop_timer		 tick;		/* alerts_tick, 1 s */
	char				 save_err[256]; /* last one logged */
	struct diskq			*dq;	/* NULL: write in place */
	int				 saves;	/* of alerts.json, queued */
	int				 barriers;	/* queued */
	bool				 save_retry;	/* the last failed */
	bool				 slo_retry;
	bool				 stopping;	/* no more sends */
	struct slo_table		*slo;
	struct outbox			*outbox;	/* NULL: log only */
	struct notify_sink		 sink;
	int64_t				 slo_saved;	/* loop clock */
	char				 slo_err[256];	/* last one logged */
	/* ---- ops: what /metrics, /status.json and / show ---- */
	struct history			*history;
	struct metrics			*metrics;	/* NULL: listen off */
	struct sched_stats		 stats;		/* for the view */
	int64_t				 started_at;	/* wall µs */
	int64_t				 reload_at;	/* wall µs */
	bool				 reload_ok;
	uint64_t			 reloads_failed;
	struct loop_timer		 watchdog;	/* systemd WatchdogSec */
	int64_t				 watchdog_us;
};

#define AGENT_TICK_US	1000000
/* SLO counts are saved this often (and at stop): a crash loses at most it. */
#define AGENT_SLO_SAVE_US	(60 * 1000000LL)

/* --once: results wait here so they print in config order. */
struct agent_once {
	struct loop		*loop;
	const struct config	*cfg;
	struct probe_result	*results;	/* indexed like cfg->checks */
	size_t			 pending;
};

/* ---- loading ------------------------------------------------------------- */

/* "check%s" for cfg's number of checks. */
static const char *
agent_plural(const struct config *cfg)
{
	return cfg->nchecks == 1 ? "" : "s";
}

/* Loads path, printing every error line on stderr; returns NULL on errors. */
static struct config *
agent_load(const char *path)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;

	memset(&errs, 0, sizeof(errs));
	cfg = config_load(path, &errs);
	for (i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	if (cfg == NULL && errs.count == 0)
		fprintf(stderr, "sonde: %s: cannot load the configuration\n",
		    path);
	config_errors_free(&errs);
	return cfg;
}

int
agent_test_channels(const struct agent_options *opt)
{
	struct config	*cfg;
	int		 rc;

	if ((cfg = agent_load(opt->config_path)) == NULL)
		return 2;
	rc = channel_test_all(cfg, stdout);
	config_unref(cfg);
	return rc;
}

int
agent_test_config(const struct agent_options *opt)
{
	struct config	*cfg;

	if ((cfg = agent_load(opt->config_path)) == NULL)
		return 2;
	printf("sonde: configuration %s ok (%zu check%s)\n", opt->config_path,
	    cfg->nchecks, agent_plural(cfg));
	config_unref(cfg);
	return 0;
}

/* Returns the index of check in cfg->checks, or -1 if it is not there. */
static ptrdiff_t
agent_check_index(const struct config *cfg, const struct check_conf *check)
{
	uintptr_t	p = (uintptr_t)check, base = (uintptr_t)cfg->checks;

	if (p < base || p >= base + cfg->nchecks * sizeof(*check))
		return -1;
	return (ptrdiff_t)((p - base) / sizeof(*check));
}

/* ---- --once -------------------------------------------------------------- */

/*
 * Picks the checks --check names (all when none), in config order and each
 * once.  Returns a new array of n checks, or NULL after saying which name
 * is unknown.
 */
static const struct check_conf **
agent_select(const struct agent_options *opt, const struct config *cfg,
    size_t *n)
{
	const struct check_conf	**sel;
	const struct check_conf	 *check;
	bool			 *want, bad = false;
	size_t			  i;

	want = xcalloc(cfg->nchecks + 1, sizeof(*want));
	for (i = 0; i < cfg->nchecks; i++)
		want[i] = opt->ncheck_names == 0;
	for (i = 0; i < opt->ncheck_names; i++) {
		check = config_find_check(cfg, opt->check_names[i]);
		if (check != NULL && agent_check_index(cfg, check) >= 0) {
			want[agent_check_index(cfg, check)] = true;
			continue;
		}
		fprintf(stderr, "sonde: no check named '%s' in %s\n",
		    opt->check_names[i], opt->config_path);
		bad = true;
	}
	sel = xcalloc(cfg->nchecks + 1, sizeof(*sel));
	for (*n = 0, i = 0; i < cfg->nchecks; i++)
		if (want[i])
			sel[(*n)++] = &cfg->checks[i];
	free(want);
	if (bad) {
		free(sel);
		return NULL;
	}
	return sel;
}

static void
agent_once_result(const struct check_conf *check,
    const struct probe_result *res, void *arg)
{
	struct agent_once	*once = arg;
	ptrdiff_t		 i;

	if ((i = agent_check_index(once->cfg, check)) < 0)
		i = agent_check_index(once->cfg,
		    config_find_check(once->cfg, check->name));
	if (i < 0 || once->pending == 0) {
		log_warnx("agent", "check \"%s\": unexpected result",
		    check->name);
		return;
	}
	once->results[i] = *res;
	if (--once->pending == 0)
		loop_stop(once->loop);
}

/* Prints the results of sel; returns the exit status, 0 or 1. */
static int
agent_once_print(const struct agent_options *opt, const struct agent_once *once,
    const struct check_conf *const *sel, size_t n)
{
	const struct probe_result	*res;
	struct result_table		 table;
	size_t				 i;
	char				*json;
	int				 rc = 0;

	result_table_init(&table);
	for (i = 0; i < n; i++)
		result_table_fit(&table, sel[i],
		    &once->results[agent_check_index(once->cfg, sel[i])]);
	if (!opt->json)
		result_table_header(stdout, &table);
	for (i = 0; i < n; i++) {
		res = &once->results[agent_check_index(once->cfg, sel[i])];
		if (res->status != PROBE_OK)
			rc = 1;
		if (!opt->json) {
			result_table_row(stdout, &table, sel[i], res);
			continue;
		}
		if ((json = result_json(sel[i], res)) == NULL) {
			fprintf(stderr, "sonde: check '%s': cannot encode "
			    "the result as JSON\n", sel[i]->name);
			rc = 1;
			continue;
		}
		printf("%s\n", json);
		free(json);
	}
	return rc;
}

/*
 * Sets up curl (curl_global_init, which initialises OpenSSL and reads its
 * config, and the shared multi) before any probe starts: done lazily, it
 * costs about 1 ms inside the first http probe's timed window, and
 * `sonde --once` reported that much more than the phases add up to.
 * A failure is only logged: http probes then report it themselves.
 */
static void
agent_curl_early(struct loop *loop)
{
	char	err[256];

	if (curlmux_shared(loop, err, sizeof(err)) == NULL)
		log_warnx("agent", "curl: %s", err);
}

/* Runs sel once, concurrently, and prints; returns the exit status. */
static int
agent_once_run(const struct agent_options *opt, struct config *cfg,
    const struct check_conf *const *sel, size_t n)
{
	struct agent_once	 once;
	struct resolver		*resolver;
	struct sched		*sched;
	char			 err[256];
	int			 rc = 1;

	memset(&once, 0, sizeof(once));
	once.loop = loop_new();
	once.cfg = cfg;
	once.results = xcalloc(cfg->nchecks + 1, sizeof(*once.results));
	if ((resolver = resolver_new(once.loop, NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "sonde: resolver: %s\n", err);
		goto out;
	}
	sched = sched_new(once.loop, resolver, agent_once_result, &once);
	agent_curl_early(once.loop);
	/* The callback stops the loop when the last result is in. */
	if ((once.pending = sched_run_once(sched, cfg, sel, n)) != n)
		fprintf(stderr, "sonde: only %zu of %zu checks could start\n",
		    once.pending, n);
	else if (n > 0 && loop_run(once.loop) == -1)
		log_warn("agent", "loop");
	else
		rc = agent_once_print(opt, &once, sel, n);
	sched_free(sched);
	curlmux_shared_free();
	resolver_free(resolver);
out:
	free(once.results);
	loop_free(once.loop);
	return rc;
}

int
agent_once(const struct agent_options *opt)
{
	const struct check_conf	**sel;
	struct config		 *cfg;
	size_t			  n;
	int			  rc;

	log_init(opt->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, NULL);
	if ((cfg = agent_load(opt->config_path)) == NULL)
		return 2;
	if ((sel = agent_select(opt, cfg, &n)) == NULL)
		rc = 2;
	else
		rc = agent_once_run(opt, cfg, sel, n);
	free(sel);
	config_unref(cfg);
	return rc;
}

/* ---- check states (daemon) ----------------------------------------------- */

/*
 * The state of check in t, which is indexed like cfg; NULL when cfg has no
 * check of that name (a late result of a removed check).  A result of the
 * previous generation is found by name.
 */
static struct agent_state *
agent_states_get(const struct agent_states *t, const struct config *cfg,
    const struct check_conf *check)
{
	ptrdiff_t	i;

	if ((i = agent_check_index(cfg, check)) < 0 &&
	    (check = config_find_check(cfg, check->name)) != NULL)
		i = agent_check_index(cfg, check);
	return i >= 0 && (size_t)i < t->n ? &t->v[i] : NULL;
}

static void
agent_states_free(struct agent_states *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/*
 * Replaces t (indexed like old, NULL at startup) with the states of cfg's
 * checks, each keeping the state its name had under old.  A reload mostly
 * keeps the order of checks, so the one after the previous match is tried
 * first: 10,000 kept checks cost 10,000 comparisons, and each check added
 * or moved one search.
 */
static void
agent_states_rebuild(struct agent_states *t, const struct config *old,
    const struct config *cfg)
{
	struct agent_states	 nt;
	const struct check_conf	*ck;
	size_t			 i, next = 0;

	nt.n = cfg->nchecks;
	nt.v = xcalloc(nt.n + 1, sizeof(*nt.v));
	for (i = 0; old != NULL && i < cfg->nchecks; i++) {
		if (next < old->nchecks && strcmp(old->checks[next].name,
		    cfg->checks[i].name) == 0)
			ck = &old->checks[next];
		else if ((ck = config_find_check(old,
		    cfg->checks[i].name)) == NULL)
			continue;
		next = (size_t)(ck - old->checks) + 1;
		if (next - 1 < t->n)
			nt.v[i] = t->v[next - 1];
	}
	agent_states_free(t);
	*t = nt;
}

/* ---- alerts (daemon) ----------------------------------------------------- */

/* Logs a failed save of the alert state once per cause; "" is success. */
static void
agent_save_outcome(struct agent *a, const char *err)
{
	if (err[0] == '\0') {
		if (a->save_err[0] != '\0')
			log_info("state", "alert state saved again in %s",
			    a->cfg->agent.state_dir);
		a->save_err[0] = '\0';
		return;
	}
	if (strcmp(err, a->save_err) != 0)
		log_warnx("state", "cannot save the alert state: %s (alerts "
		    "still work; a restart would start them all ok; set "
		    "agent.state_dir to a writable directory)", err);
	snprintf(a->save_err, sizeof(a->save_err), "%s", err);
}

/*
 * alerts.json is durable (or failed): the records spooled up to tag, whose
 * being told it says, may go.  On failure they go too, as they would
 * without a state_dir: alerts still work.
 */
static void
agent_saved(void *arg, uint64_t tag, const struct diskq_done *d)
{
	struct agent	*a = arg;

	a->saves--;
	a->save_retry = d->rc != 0;
	agent_save_outcome(a, d->rc != 0 ? d->err : "");
	if (a->outbox != NULL && !a->stopping)
		outbox_release_upto(a->outbox, tag);
}

/* A barrier: every record up to tag is on disk, and no save was due. */
static void
agent_barrier_done(void *arg, uint64_t tag, const struct diskq_done *d)
{
	struct agent	*a = arg;

	(void)d;
	a->barriers--;
	if (a->outbox != NULL && !a->stopping)
		outbox_release_upto(a->outbox, tag);
}

/*
 * Saves the alert state when it changed: queued on the diskq (after every
 * record it speaks of), or in place without one.
 */
static void
agent_save(struct agent *a, bool force)
{
	char	err[256], *txt;

	if (!force && !alerts_dirty(a->alerts) && !a->save_retry)
		return;
	if (a->dq == NULL) {
		err[0] = '\0';
		if (alerts_save(a->alerts, err, sizeof(err)) == 0)
			err[0] = '\0';
		agent_save_outcome(a, err);
		return;
	}
	if ((txt = alerts_encode(a->alerts)) == NULL) {
		agent_save_outcome(a, "cannot encode the alert state");
		return;
	}
	a->save_retry = false;
	if (diskq_write(a->dq, a->cfg->agent.state_dir, STATE_FILE, txt, true,
	    agent_saved, a, a->outbox != NULL ? outbox_last_seq(a->outbox) :
	    0) == 0)
		a->saves++;
}

/* A torn or foreign state file is reported and ignored: a clean start. */
static void
agent_restore(struct agent *a)
{
	struct state_alert	*v;
	size_t			 n;
	char			 err[512];

	if (state_load(a->cfg->agent.state_dir, &v, &n, err,
	    sizeof(err)) == -1)
		log_warnx("state", "cannot use the saved alert state (%s); "
		    "starting with every alert ok", err);
	else if (n > 0)
		alerts_restore(a->alerts, v, n);
	free(v);
	/* What the outbox replays is what the alerts last told. */
	if (a->outbox != NULL)
		outbox_each_restored(a->outbox, alerts_restore_spooled,
		    a->alerts);
}

/* Logs a failed save of the SLO counts once per cause; "" is success. */
static void
agent_slo_outcome(struct agent *a, const char *err)
{
	a->slo_retry = err[0] != '\0';
	if (err[0] == '\0') {
		a->slo_err[0] = '\0';
		return;
	}
	if (strcmp(err, a->slo_err) != 0)
		log_warnx("state", "cannot save the SLO counts: %s (a restart "
		    "would lose the error budget; set agent.state_dir to a "
		    "writable directory)", err);
	snprintf(a->slo_err, sizeof(a->slo_err), "%s", err);
}

static void
agent_slo_saved(void *arg, uint64_t tag, const struct diskq_done *d)
{
	(void)tag;
	agent_slo_outcome(arg, d->rc != 0 ? d->err : "");
}

/* Saves the SLO counts when due (or forced), through the diskq if any. */
static void
agent_slo_save(struct agent *a, bool force)
{
	char	err[256], *txt;

	if (slo_table_count(a->slo) == 0 || (!force &&
	    ((!slo_table_dirty(a->slo) && !a->slo_retry) ||
	    loop_now(a->loop) - a->slo_saved < AGENT_SLO_SAVE_US)))
		return;
	a->slo_saved = loop_now(a->loop);
	if (a->dq == NULL) {
		err[0] = '\0';
		if (slo_table_save(a->slo, a->cfg->agent.state_dir,
		    loop_wallclock(), err, sizeof(err)) == 0)
			err[0] = '\0';
		agent_slo_outcome(a, err);
		return;
	}
	if ((txt = slo_table_encode(a->slo, loop_wallclock())) == NULL) {
		agent_slo_outcome(a, "cannot encode the SLO counts");
		return;
	}
	diskq_write(a->dq, a->cfg->agent.state_dir, SLO_FILE, txt, true,
	    agent_slo_saved, a, 0);
}

/* The saved counts come back; the time the agent was down is unknown. */
static void
agent_slo_restore(struct agent *a)
{
	char	err[512], gapbuf[32];
	int64_t	gap = 0;
	size_t	n = 0;

	a->slo_saved = loop_now(a->loop);
	if (slo_table_count(a->slo) == 0)
		return;
	if (slo_table_restore(a->slo, a->cfg->agent.state_dir,
	    loop_wallclock(), &gap, &n, err, sizeof(err)) == -1)
		log_warnx("state", "cannot use the saved SLO counts (%s); "
		    "every error budget starts afresh", err);
	else if (n > 0)
		log_info("state", "restored the SLO counts of %zu of %zu "
		    "check%s; %s since they were saved counts as unknown", n,
		    slo_table_count(a->slo), slo_table_count(a->slo) == 1 ?
		    "" : "s", result_format_us(gap, gapbuf, sizeof(gapbuf)));
}

static void
agent_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct agent	*a = arg;

	alerts_tick(a->alerts, loop_wallclock());
	agent_save(a, false);
	/*
	 * What was spooled since the last tick goes out once the state
	 * saying it was told is on disk (outbox_hold_new): a kill -9 can no
	 * longer leave a delivered firing behind a state that fires again.
	 * With the diskq, agent_saved() releases them; with no save due, a
	 * barrier does (the records' own writes are before it).  While a
	 * save is queued, its completion will: a barrier now could overtake
	 * a newer save that replaces it.
	 */
	if (a->outbox != NULL && a->dq == NULL)
		outbox_release(a->outbox);
	else if (a->outbox != NULL && a->saves == 0 && a->barriers == 0 &&
	    outbox_holding(a->outbox)) {
		a->barriers++;
		diskq_barrier(a->dq, agent_barrier_done, a,
		    outbox_last_seq(a->outbox));
	}
	agent_slo_save(a, false);
	loop_timer_after(loop, timer, AGENT_TICK_US);
}

/* ---- the daemon ---------------------------------------------------------- */

/*
 * One logfmt line per state change, e.g.
 *   check=db state=failing reason=connect_refused target=db:5432
 *       message="connect to 10.0.0.5:5432: refused" duration=0.000412
 *   check=db state=ok target=db:5432 after=2m30s duration=0.000318
 * after= is how long the check was failing; the first result has none.
 */
static void
agent_log_change(const struct check_conf *check, const struct probe_result *res,
    const struct agent_state *st, int64_t now)
{
	char	name[256], target[256], msg[2 * PROBE_MESSAGE_MAX + 3];
	char	after[32];
	double	secs = (double)res->duration / 1e6;

	log_quote(check->name, name, sizeof(name));
	log_quote(check->target != NULL ? check->target : "", target,
	    sizeof(target));
	if (res->status != PROBE_OK) {
		log_event("check", "check=%s state=failing reason=%s target=%s "
		    "message=%s duration=%.6f", name,
		    probe_status_str(res->status), target,
		    log_quote(res->message, msg, sizeof(msg)), secs);
	} else if (st->seen) {
		log_event("check", "check=%s state=ok target=%s after=%s "
		    "duration=%.6f", name, target,
		    result_format_us(now - st->since, after, sizeof(after)),
		    secs);
	} else
		log_event("check", "check=%s state=ok target=%s duration=%.6f",
		    name, target, secs);
}

static void
agent_result(const struct check_conf *check, const struct probe_result *res,
    void *arg)
{
	struct agent		*a = arg;
	struct agent_state	*st;
	bool			 failing = res->status != PROBE_OK;
	int64_t			 now = loop_now(a->loop);
	int64_t			 wall = loop_wallclock();
	char			 dur[32];

	if (log_debug_enabled("check"))
		log_debug("check", "check \"%s\": %s in %s%s%s", check->name,
		    probe_status_str(res->status),
		    result_format_us(res->duration, dur, sizeof(dur)),
		    res->message[0] != '\0' ? ": " : "", res->message);
	if (failing)
		a->failed++;
	/* Saved by the next tick: at most one fsync a second, not per result. */
	slo_table_result(a->slo, check, res, wall);
	alerts_result(a->alerts, check, res, wall);
	if (a->history != NULL)		/* only what the endpoint shows */
		history_add(a->history, check->name, res);
	if ((st = agent_states_get(&a->states, a->cfg, check)) == NULL)
		return;		/* not in the running config (a late result) */
	if (st->seen && st->failing == failing)
		return;
	agent_log_change(check, res, st, now);
	st->seen = true;
	st->failing = failing;
	st->since = now;
}

/* Sets the log level (and, at startup, the target) from opt and cfg. */
static void
agent_apply_log(struct agent *a, const struct config *cfg, bool startup)
{
	bool	want_syslog = cfg->agent.log == CONFIG_LOG_SYSLOG;

	log_init(a->opt->debug || cfg->agent.debug ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO, NULL);
	if (startup && want_syslog) {
		log_use_syslog("sonde", cfg->agent.log_facility);
		a->syslog = true;
	} else if (!startup && want_syslog != a->syslog)
		log_warnx("config", "agent.log changes on restart, not reload");
}

/* ---- ops: history, the HTTP endpoint, systemd, privileges ---------------- */

/*
 * The agent's alerts, read-only, for /metrics, /status.json and the status
 * page.  None until the rules engine is connected here: call cb once per
 * (rule, check) with its state and since when.
 */
struct agent_alerts_ctx {
	expo_alert_cb	 cb;
	void		*arg;
};

static void
agent_alert_one(const char *rule, const char *check, const char *state,
    int64_t since, void *arg)
{
	struct agent_alerts_ctx	*ctx = arg;
	struct expo_alert	 al;

	al.rule = rule;
	al.check = check;
	al.state = state;
	al.since = since;
	ctx->cb(&al, ctx->arg);
}

/* The alert table, as /metrics, /status.json and / show it. */
static void
agent_alerts(void *src, expo_alert_cb cb, void *arg)
{
	struct agent		*a = src;
	struct agent_alerts_ctx	 ctx = { cb, arg };

	alerts_each(a->alerts, agent_alert_one, &ctx);
}

static void
agent_view(void *arg, struct expo_view *v)
{
	struct agent	*a = arg;

	sched_get_stats(a->sched, &a->stats);
	v->cfg = a->cfg;
	v->history = a->history;
	v->stats = &a->stats;
	v->agent = a->cfg->agent.name;
	v->started_at = a->started_at;
	v->now = loop_wallclock();
	v->reload_ok = a->reload_ok;
	v->reload_at = a->reload_at;
	v->reloads_failed = a->reloads_failed;
	v->alerts = agent_alerts;
	v->alerts_src = a;
	v->slo = a->slo;
	v->outbox = a->outbox;
	v->diskq = a->dq;
}

/* Tells systemd state (sd_notify); logs a failure once per kind. */
static void
agent_notify(struct agent *a, const char *state)
{
	char	buf[96];

	if (strcmp(state, "RELOADING=1") == 0) {
		snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%lld",
		    (long long)loop_time(a->loop));
		state = buf;
	}
	if (sdnotify_send(state) == -1)
		log_warn("agent", "sd_notify %s", state);
}

static void
agent_watchdog(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct agent	*a = arg;

	agent_notify(a, "WATCHDOG=1");
	loop_timer_after(loop, t, a->watchdog_us / 2);
}

static void
agent_ops_reload(struct agent *a, const struct config *cfg)
{
	const char	*was = a->cfg->agent.listen, *now = cfg->agent.listen;

	if (a->history != NULL)
		history_sync(a->history, cfg);
	if (strcmp(was != NULL ? was : "", now != NULL ? now : "") != 0)
		log_warnx("config", "agent.listen changes on restart, not "
		    "reload");
	was = a->cfg->agent.user;
	now = cfg->agent.user;
	if (strcmp(was != NULL ? was : "", now != NULL ? now : "") != 0)
		log_warnx("config", "agent.user changes on restart, not "
		    "reload");
}

/* Binds agent.listen, then drops to agent.user; returns 0 or -1. */
static int
agent_ops_start(struct agent *a)
{
	const char	*listen = a->cfg->agent.listen;
	char		 err[256];

	a->started_at = a->reload_at = loop_wallclock();
	a->reload_ok = true;
	if (listen != NULL && listen[0] != '\0') {
		/*
		 * The history (about 2.7 KB a check: the last result whole)
		 * is only read by the endpoint: without one, keep none.
		 */
		a->history = history_new();
		history_sync(a->history, a->cfg);
		a->metrics = metrics_new(a->loop, a->resolver, listen,
		    agent_view, a, err, sizeof(err));
		if (a->metrics == NULL) {
			log_warnx("agent", "agent.listen %s", err);
			return -1;
		}
		log_info("metrics", "serving /metrics, /status.json and the "
		    "status page on port %d", metrics_port(a->metrics));
	}
	if (a->cfg->agent.user != NULL &&
	    priv_drop(a->cfg->agent.user, err, sizeof(err)) == -1) {
		log_warnx("agent", "agent.user: %s", err);
		return -1;
	}
	if ((a->watchdog_us = sdnotify_watchdog_usec()) > 0) {
		loop_timer_init(&a->watchdog, agent_watchdog, a);
		loop_timer_after(a->loop, &a->watchdog, a->watchdog_us / 2);
	}
	return 0;
}

/* SIGHUP: a valid new config replaces the running one; else keep it. */
static void
agent_reload(struct agent *a)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;

	log_info("config", "reloading %s", a->opt->config_path);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load(a->opt->config_path, &errs);
	for (i = 0; i < errs.count; i++)
		log_warnx("config", "%s", errs.lines[i]);
	a->reload_at = loop_wallclock();
	a->reload_ok = cfg != NULL;
	if (cfg == NULL) {
		log_warnx("config", "reload failed with %zu error%s, keeping "
		    "the running configuration", errs.count,
		    errs.count == 1 ? "" : "s");
		config_errors_free(&errs);
		a->reloads_failed++;
		return;
	}
	config_errors_free(&errs);
	agent_apply_log(a, cfg, false);
	agent_ops_reload(a, cfg);
	agent_states_rebuild(&a->states, a->cfg, cfg);
	slo_table_set_config(a->slo, cfg);
	sched_set_config(a->sched, cfg);
	/* The old generation is still alive: removed alerts can be told. */
	alerts_set_config(a->alerts, cfg, loop_wallclock());
	if (a->outbox != NULL)
		outbox_set_config(a->outbox, cfg);
	config_unref(a->cfg);
	a->cfg = cfg;
	log_info("config", "config reloaded: %zu check%s", cfg->nchecks,
	    agent_plural(cfg));
}

static void
agent_signal(struct loop *loop, int signo, void *arg)
{
	struct agent	*a = arg;

	if (signo == SIGHUP) {
		agent_notify(a, "RELOADING=1");
		agent_reload(a);
		agent_notify(a, "READY=1");
		return;
	}
	agent_notify(a, "STOPPING=1");
	log_info("agent", "%s received, stopping",
	    signo == SIGTERM ? "SIGTERM" : "SIGINT");
	sched_stop(a->sched);
	loop_stop(loop);
}

/*
 * The last line of a run.  bench/ parses it, so its keys are stable:
 *   probes      probe runs completed (results delivered)
 *   failed      of those, the failed ones
 *   skipped     slots skipped because the check's previous run was going
 *   waited      runs delayed by the agent.max_in_flight cap
 *   lag_p50_ms, lag_p99_ms, lag_max_ms
 *               schedule lag (actual start minus due time), milliseconds
 * New keys may be added; these keep their names and meanings.
 */
static void
agent_log_summary(const struct agent *a)
{
	struct sched_stats	st;

	sched_get_stats(a->sched, &st);
	log_event("agent", "event=stopped probes=%" PRIu64 " failed=%" PRIu64
	    " skipped=%" PRIu64 " waited=%" PRIu64 " lag_p50_ms=%.3f "
	    "lag_p99_ms=%.3f lag_max_ms=%.3f", st.completed, a->failed,
	    st.skipped, st.waited,
	    (double)hist_quantile(&st.lag, 0.5) / 1e3,
	    (double)hist_quantile(&st.lag, 0.99) / 1e3,
	    (double)st.lag.max / 1e3);
}

/*
 * The outbox in state_dir; without it channels still get notifications,
 * but only the log channel: better than nothing, and said loudly.
 */
static void
agent_outbox_start(struct agent *a)
{
	struct outbox_limits	lim = {
		OUTBOX_MAX_RECORDS, OUTBOX_MAX_BYTES, OUTBOX_BACKOFF_MIN_US,
		OUTBOX_BACKOFF_MAX_US, OUTBOX_DELAY_NOTE_US
	};
	char			err[256];

	/* Read at start only: a reload keeps the outbox as it is. */
	if (a->cfg->agent.outbox_max_records > 0)
		lim.max_records = (size_t)a->cfg->agent.outbox_max_records;
	if (a->cfg->agent.outbox_max_bytes > 0)
		lim.max_bytes = (size_t)a->cfg->agent.outbox_max_bytes;
	a->outbox = outbox_new(a->loop, a->cfg->agent.state_dir, &lim, err,
	    sizeof(err));
	if (a->outbox == NULL) {
		log_warnx("outbox", "cannot open the outbox: %s; alerts go to "
		    "the log only (set agent.state_dir to a writable "
		    "directory)", err);
		return;
	}
	a->sink.send = outbox_sink_send;
	a->sink.arg = a->outbox;
	outbox_set_diskq(a->outbox, a->dq);
	/* Sent once the state that told them is saved: agent_tick(). */
	outbox_hold_new(a->outbox, true);
	outbox_set_config(a->outbox, a->cfg);
}

/* Creates the loop, signals, resolver and scheduler; returns 0 or -1. */
static int
agent_start(struct agent *a)
{
	static const int	 signals[] = { SIGTERM, SIGINT, SIGHUP };
	char			 err[256];
	size_t			 i;

	a->loop = loop_new();
	loop_timer_init(&a->tick, agent_tick, a);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (loop_signal_add(a->loop, signals[i], agent_signal, a) ==
		    -1) {
			log_warn("agent", "signal %d", signals[i]);
			return -1;
		}
	}
	if ((a->resolver = resolver_new(a->loop, NULL, err, sizeof(err))) ==
	    NULL) {
		log_warnx("agent", "resolver: %s", err);
		return -1;
	}
	a->sched = sched_new(a->loop, a->resolver, agent_result, a);
	agent_curl_early(a->loop);
	if (agent_ops_start(a) == -1)
		return -1;
	agent_states_rebuild(&a->states, NULL, a->cfg);
	/* After the drop to agent.user: the writer is that user too. */
	if ((a->dq = diskq_new(a->loop, err, sizeof(err))) == NULL)
		log_warnx("state", "%s: state and outbox files are written on "
		    "the loop instead", err);
	agent_outbox_start(a);
	a->alerts = alerts_new(a->outbox != NULL ? &a->sink : &notify_log_sink);
	a->slo = slo_table_new();
	slo_table_set_config(a->slo, a->cfg);
	agent_slo_restore(a);
	alerts_set_slo(a->alerts, a->slo);
	alerts_set_incidents(a->alerts, true);
	alerts_set_config(a->alerts, a->cfg, loop_wallclock());
	agent_restore(a);
	loop_timer_after(a->loop, &a->tick, AGENT_TICK_US);
	sched_set_config(a->sched, a->cfg);
	return 0;
}

/*
 * Takes the state_dir's pid file.  Another agent on the same state_dir is
 * fatal (they would fight over alert state, budgets and the outbox); not
 * being able to write it only costs `sonde -s`, so that is a warning.
 */
static int
agent_pidfile(struct agent *a)
{
	char	err[512];
	pid_t	other;

	/* Root creates it for agent.user, who writes there after the drop. */
	if (a->cfg->agent.user != NULL && priv_mkdir_for(
	    a->cfg->agent.state_dir, a->cfg->agent.user, err, sizeof(err)) ==
	    -1) {
		log_warnx("agent", "cannot start: agent.state_dir: %s", err);
		return -1;
	}
	/* A shared directory would let another user aim our writes. */
	if (state_dir_check(a->cfg->agent.state_dir, err, sizeof(err)) ==
	    -1) {
		log_warnx("agent", "cannot start: agent.state_dir %s", err);
		return -1;
	}
	a->pidfd = pidfile_acquire(a->cfg->agent.state_dir, &other, err,
	    sizeof(err));
	if (a->pidfd >= 0)
		return 0;
	if (other != 0) {
		log_warnx("agent", "cannot start: %s", err);
		return -1;
	}
	log_warnx("agent", "no pid file (%s): sonde -s will not find this "
	    "agent", err);
	return 0;
}

int
agent_run(const struct agent_options *opt)
{
	struct agent	a;
	int		rc = 1;

	memset(&a, 0, sizeof(a));
	a.opt = opt;
	if ((a.cfg = agent_load(opt->config_path)) == NULL)
		return 2;
	agent_apply_log(&a, a.cfg, true);
	if (agent_pidfile(&a) == -1) {
		config_unref(a.cfg);
		return 1;
	}
	if (agent_start(&a) == 0) {
		log_info("agent", "sonde %s started: %zu check%s, config %s",
		    PACKAGE_VERSION, a.cfg->nchecks, agent_plural(a.cfg),
		    opt->config_path);
		agent_notify(&a, "READY=1");
		if (loop_run(a.loop) == -1)
			log_warn("agent", "loop");
		else
			rc = 0;
		agent_save(&a, true);
		agent_slo_save(&a, true);
		/*
		 * Every durable write lands before the exit (SIGTERM); what
		 * was held stays on disk for the next start, unsent, as a
		 * send begun now would never be seen through.
		 */
		a.stopping = true;
		if (a.dq != NULL)
			diskq_flush(a.dq);
		agent_log_summary(&a);
	}
	metrics_free(a.metrics);
	if (a.watchdog_us > 0)
		loop_timer_cancel(a.loop, &a.watchdog);
	sched_free(a.sched);
	if (a.loop != NULL)
		loop_timer_cancel(a.loop, &a.tick);
	alerts_free(a.alerts);
	outbox_free(a.outbox);
	diskq_free(a.dq);
	slo_table_free(a.slo);
	curlmux_shared_free();
	history_free(a.history);
	resolver_free(a.resolver);
	loop_free(a.loop);
	agent_states_free(&a.states);
	pidfile_release(a.cfg->agent.state_dir, a.pidfd);
	config_unref(a.cfg);
	return rc;
}

/* Waits up to ms for the agent on dir to let go of its lock. */
static bool
agent_control_wait(const char *dir, int ms)
{
	char	err[256];
	int	i;

	for (i = 0; i < ms / 50; i++) {
		if (pidfile_running(dir, err, sizeof(err)) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

int
agent_control(const struct agent_options *opt)
{
	struct config	*cfg;
	const char	*dir;
	char		 err[512];
	pid_t		 pid;
	bool		 stop = strcmp(opt->signal, "stop") == 0;
	int		 rc = 0;

	if ((cfg = agent_load(opt->config_path)) == NULL)
		return 2;
	dir = cfg->agent.state_dir;
	if ((pid = pidfile_running(dir, err, sizeof(err))) <= 0) {
		fprintf(stderr, "sonde: no agent runs with state_dir %s%s%s\n",
		    dir, pid < 0 ? ": " : "", pid < 0 ? err : "");
		config_unref(cfg);
		return 1;
	}
	if (kill(pid, stop ? SIGTERM : SIGHUP) == -1) {
		fprintf(stderr, "sonde: signal pid %ld: %s\n", (long)pid,
		    strerror(errno));
		rc = 1;
	} else if (!stop)
		printf("sonde: asked the agent (pid %ld) to reload; it logs "
		    "the outcome\n", (long)pid);
	else if (agent_control_wait(dir, 10000))
		printf("sonde: the agent (pid %ld) stopped\n", (long)pid);
	else {
		fprintf(stderr, "sonde: the agent (pid %ld) did not stop "
		    "within 10s\n", (long)pid);
		rc = 1;
	}
	config_unref(cfg);
	return rc;
}
