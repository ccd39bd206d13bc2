/* SPDX-License-Identifier: ISC */
/*
 * agent: the three things sonde does, wired from the parts: validate a
 * config (-t), run checks once and print the results (--once), and run the
 * daemon until told to stop.
 *
 * The agent owns the process-level objects (the loop, the resolver, the
 * scheduler, the current config generation) and what a person reads about
 * them: the startup and summary lines, reload outcomes, and one log line
 * per check state change.  For that it keeps, per check name, whether the
 * check is failing and since when; the table is keyed by name so a reload
 * that keeps a check keeps its state.  Results also go to the alert table
 * (alert.c), whose state the agent saves at the tick after a transition
 * (once a second at most) and at stop, and restores at startup.  Probing, scheduling, parsing
 * and rule logic belong to the modules it calls.  It also owns the SLO
 * table (slo.c): each result is counted there before the alerts see it,
 * the counts are saved every minute and at stop, and restored at startup
 * with the time it was down counted as unknown.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alert.h"
#include "channel.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
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
	char	*name;		/* owned; NULL marks an empty slot */
	bool	 seen;		/* a result has arrived */
	bool	 failing;
	int64_t	 since;		/* loop clock when this state began */
};

/* Open addressing on sched_hash(); cap is a power of 2, over 2x full. */
struct agent_states {
	struct agent_state	*slots;
	size_t			 cap;
};

struct agent {
	const struct agent_options	*opt;
	struct loop			*loop;
	struct resolver			*resolver;
	struct sched			*sched;
	struct config			*cfg;	/* the running generation */
	struct agent_states		 states;
	uint64_t			 failed;	/* failed results */
	bool				 syslog;
	struct alerts			*alerts;
	struct loop_timer		 tick;		/* alerts_tick, 1 s */
	char				 save_err[256]; /* last one logged */
	struct slo_table		*slo;
	struct outbox			*outbox;	/* NULL: log only */
	struct notify_sink		 sink;
	int64_t				 slo_saved;	/* loop clock */
	char				 slo_err[256];	/* last one logged */
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

/* Returns name's slot, or the empty one where it would go; NULL: no table. */
static struct agent_state *
agent_states_slot(const struct agent_states *t, const char *name)
{
	size_t	i, mask = t->cap - 1;

	if (t->cap == 0)
		return NULL;
	for (i = sched_hash(name) & mask; t->slots[i].name != NULL;
	    i = (i + 1) & mask)
		if (strcmp(t->slots[i].name, name) == 0)
			break;
	return &t->slots[i];
}

static void
agent_states_free(struct agent_states *t)
{
	size_t	i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].name);
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
}

/*
 * Replaces the table with one holding cfg's checks, each keeping the state
 * its name had; the state of checks cfg no longer has is dropped.
 */
static void
agent_states_rebuild(struct agent_states *t, const struct config *cfg)
{
	struct agent_states	 nt;
	struct agent_state	*st, *old;
	size_t			 i;

	for (nt.cap = 16; nt.cap < 2 * cfg->nchecks + 1; nt.cap *= 2)
		;
	nt.slots = xcalloc(nt.cap, sizeof(*nt.slots));
	for (i = 0; i < cfg->nchecks; i++) {
		st = agent_states_slot(&nt, cfg->checks[i].name);
		if (st->name != NULL)
			continue;	/* a duplicate; config.c rejects them */
		old = agent_states_slot(t, cfg->checks[i].name);
		if (old != NULL && old->name != NULL)
			*st = *old;
		st->name = xstrdup(cfg->checks[i].name);
	}
	agent_states_free(t);
	*t = nt;
}

/* ---- alerts (daemon) ----------------------------------------------------- */

/* Saves the alert state when it changed; logs a failure once per cause. */
static void
agent_save(struct agent *a, bool force)
{
	char	err[256];

	if (!force && !alerts_dirty(a->alerts))
		return;
	if (alerts_save(a->alerts, err, sizeof(err)) == 0) {
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

/* A torn or foreign state file is reported and ignored: a clean start. */
static void
agent_restore(struct agent *a)
{
	struct state_alert	*v;
	size_t			 n;
	char			 err[512];

	if (state_load(a->cfg->agent.state_dir, &v, &n, err,
	    sizeof(err)) == -1) {
		log_warnx("state", "cannot use the saved alert state (%s); "
		    "starting with every alert ok", err);
		return;
	}
	if (n > 0)
		alerts_restore(a->alerts, v, n);
	free(v);
}

/* Saves the SLO counts when due (or forced); logs a failure once. */
static void
agent_slo_save(struct agent *a, bool force)
{
	char	err[256];

	if (slo_table_count(a->slo) == 0 || (!force &&
	    (!slo_table_dirty(a->slo) ||
	    loop_now(a->loop) - a->slo_saved < AGENT_SLO_SAVE_US)))
		return;
	a->slo_saved = loop_now(a->loop);
	if (slo_table_save(a->slo, a->cfg->agent.state_dir, loop_wallclock(),
	    err, sizeof(err)) == 0) {
		a->slo_err[0] = '\0';
		return;
	}
	if (strcmp(err, a->slo_err) != 0)
		log_warnx("state", "cannot save the SLO counts: %s (a restart "
		    "would lose the error budget; set agent.state_dir to a "
		    "writable directory)", err);
	snprintf(a->slo_err, sizeof(a->slo_err), "%s", err);
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
	char			 dur[32];

	log_debug("check", "check \"%s\": %s in %s%s%s", check->name,
	    probe_status_str(res->status),
	    result_format_us(res->duration, dur, sizeof(dur)),
	    res->message[0] != '\0' ? ": " : "", res->message);
	if (failing)
		a->failed++;
	/* Saved by the next tick: at most one fsync a second, not per result. */
	slo_table_result(a->slo, check, res, loop_wallclock());
	alerts_result(a->alerts, check, res, loop_wallclock());
	st = agent_states_slot(&a->states, check->name);
	if (st == NULL || st->name == NULL)
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
	if (cfg == NULL) {
		log_warnx("config", "reload failed with %zu error%s, keeping "
		    "the running configuration", errs.count,
		    errs.count == 1 ? "" : "s");
		config_errors_free(&errs);
		return;
	}
	config_errors_free(&errs);
	agent_apply_log(a, cfg, false);
	agent_states_rebuild(&a->states, cfg);
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
		agent_reload(a);
		return;
	}
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
	agent_states_rebuild(&a->states, a->cfg);
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
	if (agent_start(&a) == 0) {
		log_info("agent", "sonde %s started: %zu check%s, config %s",
		    PACKAGE_VERSION, a.cfg->nchecks, agent_plural(a.cfg),
		    opt->config_path);
		if (loop_run(a.loop) == -1)
			log_warn("agent", "loop");
		else
			rc = 0;
		agent_save(&a, true);
		agent_slo_save(&a, true);
		agent_log_summary(&a);
	}
	sched_free(a.sched);
	if (a.loop != NULL)
		loop_timer_cancel(a.loop, &a.tick);
	alerts_free(a.alerts);
	outbox_free(a.outbox);
	slo_table_free(a.slo);
	curlmux_shared_free();
	resolver_free(a.resolver);
	loop_free(a.loop);
	agent_states_free(&a.states);
	config_unref(a.cfg);
	return rc;
}
