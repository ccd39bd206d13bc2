/* SPDX-License-Identifier: ISC */
/*
 * Tests for alert: the table of alerts over a config loaded from text,
 * fed fake results at fake wall times, with a recording notification sink
 * and log capture: lifecycle lines, depends_on holding and summarising,
 * silences holding and the reconciliation at their end, the digest, reload
 * keeping or resolving pairs, restore after a restart.  Then the daemon
 * end to end: the built sonde with TCP checks against a listener this test
 * stops and restarts, measuring the detection delay.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"
#include "notify.h"
#include "probe.h"
#include "rules.h"
#include "state.h"
#include "testutil.h"
#include "xmalloc.h"

#define SEC	1000000LL
#define T0	(1795824000LL * SEC)	/* a Saturday, 00:00 UTC */

/* ---- a recording sink -------------------------------------------------- */

struct rec {
	char			channel[16];
	size_t			n;		/* > 1: a digest */
	struct notify_item	item;		/* the first */
};

static struct rec	recs[256];
static size_t		nrecs;

static void
rec_send(void *arg, const char *channel, const struct notify_item *items,
    size_t n)
{
	(void)arg;
	ck_assert(nrecs < sizeof(recs) / sizeof(recs[0]));
	snprintf(recs[nrecs].channel, sizeof(recs[nrecs].channel), "%s",
	    channel);
	recs[nrecs].n = n;
	recs[nrecs].item = items[0];
	nrecs++;
}

static const struct notify_sink rec_sink = { rec_send, NULL };

/* "firing down/api" of record i. */
static const char *
rec_str(size_t i)
{
	static char	buf[256];

	snprintf(buf, sizeof(buf), "%s %s/%s", notify_kind_str(
	    recs[i].item.kind), recs[i].item.rule, recs[i].item.check);
	return buf;
}

/* ---- fixtures ---------------------------------------------------------- */

struct fx {
	struct config	*cfg;
	struct alerts	*a;
	char		*dir;
};

static struct config *
fx_load(const char *dir, const char *text)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			*path, *full;

	full = xasprintf("agent = { name = \"edge-1\"; state_dir = \"%s\"; "
	    "digest_window = \"0s\"; };\n%s", dir, text);
	path = testutil_write_file(dir, "sonde.conf", full);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "?");
	config_errors_free(&errs);
	free(path);
	free(full);
	return cfg;
}

static void
fx_init(struct fx *f, const char *text)
{
	nrecs = 0;
	f->dir = xstrdup(testutil_tmpdir());
	f->cfg = fx_load(f->dir, text);
	f->a = alerts_new(&rec_sink);
	alerts_set_config(f->a, f->cfg, T0);
}

static void
fx_free(struct fx *f)
{
	alerts_free(f->a);
	config_unref(f->cfg);
	free(f->dir);
}

/* Feeds one result of check name at T0 + secs. */
static void
feed(struct fx *f, const char *name, int status, int secs)
{
	const struct check_conf	*ck = config_find_check(f->cfg, name);
	struct probe_result	 res;

	ck_assert_msg(ck != NULL, "no check %s", name);
	probe_result_init(&res);
	if (status != PROBE_OK)
		probe_result_set(&res, status, "connect to %s: refused",
		    ck->target);
	res.duration = 1000;
	alerts_result(f->a, ck, &res, T0 + secs * SEC);
}

#define TCP(n, p) \
	"  { name = \"" n "\"; type = \"tcp\"; host = \"127.0.0.1\"; " \
	"port = " #p "; interval = \"10s\"; }"

/* ---- lifecycle --------------------------------------------------------- */

START_TEST(test_alert_lifecycle_lines_and_notifications)
{
	struct fx	f;
	const char	*log;
	bool		 told;

	testutil_log_capture_start();
	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 3; "
	    "resolve_after = 2; } );\n");
	ck_assert_uint_eq(alerts_count(f.a), 1);
	feed(&f, "api", PROBE_CONNECT_REFUSED, 0);
	feed(&f, "api", PROBE_CONNECT_REFUSED, 10);
	ck_assert_uint_eq(nrecs, 0);
	feed(&f, "api", PROBE_CONNECT_REFUSED, 20);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(rec_str(0), "firing down/api");
	ck_assert_str_eq(recs[0].channel, "log");
	ck_assert_str_eq(recs[0].item.agent, "edge-1");
	ck_assert_str_eq(recs[0].item.reason, "connect_refused");
	ck_assert_str_eq(recs[0].item.target, "127.0.0.1:1");
	ck_assert_str_eq(recs[0].item.severity, "critical");
	ck_assert_int_eq(recs[0].item.at - recs[0].item.since,
	    20 * SEC);
	ck_assert_uint_eq(recs[0].item.bad, 3);
	ck_assert_uint_eq(recs[0].item.of, 3);
	ck_assert(alerts_state(f.a, "down", "api", &told)->state ==
	    RULES_FIRING && told);
	ck_assert(alerts_dirty(f.a));
	feed(&f, "api", PROBE_OK, 30);
	feed(&f, "api", PROBE_OK, 40);
	ck_assert_uint_eq(nrecs, 2);
	ck_assert_str_eq(rec_str(1), "resolved down/api");
	log = testutil_log_captured();
	ck_assert_msg(strstr(log, "alert=down/api state=pending from=ok "
	    "severity=critical check=api reason=connect_refused") != NULL,
	    "%s", log);
	ck_assert_msg(strstr(log, "alert=down/api state=firing from=pending "
	    "severity=critical check=api reason=connect_refused message="
	    "\"connect to 127.0.0.1:1: refused\" failed=3/3 after=20.00s")
	    != NULL, "%s", log);
	ck_assert_msg(strstr(log, "alert=down/api state=resolved from=firing "
	    "severity=critical check=api reason=none") != NULL, "%s", log);
	testutil_log_capture_stop();
	fx_free(&f);
}
END_TEST

/*
 * A notification carries the phase the triggering result failed in, with
 * its time, and the check's labels (the first 8, cut to fit); the log
 * channel's line says both.
 */
START_TEST(test_alert_failing_phase_and_labels)
{
	const struct check_conf	*ck;
	struct probe_result	 res;
	struct fx		 f;
	const char		*log;
	char			 text[2048], big[201];

	memset(big, 'v', 200);
	big[200] = '\0';
	snprintf(text, sizeof(text), "checks = (\n"
	    "  { name = \"api\"; type = \"tcp\"; host = \"127.0.0.1\"; "
	    "port = 1; interval = \"10s\"; labels = { env = \"prod\"; "
	    "team = \"db\"; l3 = \"3\"; l4 = \"4\"; l5 = \"5\"; l6 = \"6\"; "
	    "l7 = \"7\"; big = \"%s\"; l9 = \"9\"; }; }\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 1; } );\n", big);
	fx_init(&f, text);
	ck = config_find_check(f.cfg, "api");
	probe_result_init(&res);
	probe_result_set(&res, PROBE_CONNECT_TIMEOUT, "connect timed out");
	res.phase[PROBE_PHASE_RESOLVE] = 200;
	res.duration = 3000200;
	alerts_result(f.a, ck, &res, T0);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(recs[0].item.phase, "connect");
	ck_assert_int_eq(recs[0].item.phase_us, 3000000);
	ck_assert_uint_eq(recs[0].item.nlabels, 8);	/* l9 is left out */
	ck_assert_str_eq(recs[0].item.labels[7].key, "big");
	ck_assert_uint_eq(strlen(recs[0].item.labels[7].value),
	    NOTIFY_LABEL_VALUE_MAX - 1);
	testutil_log_capture_start();
	notify_log(&recs[0].item, 1);
	log = testutil_log_captured();
	ck_assert_msg(strstr(log, " phase=connect phase_seconds=3.000 "
	    "labels=\"env=prod, team=db, l3=3, ") != NULL, "%s", log);
	testutil_log_capture_stop();
	/* resolved: an ok result failed in no phase; labels stay */
	probe_result_init(&res);
	res.duration = 100;
	alerts_result(f.a, ck, &res, T0 + 10 * SEC);
	ck_assert_str_eq(rec_str(1), "resolved down/api");
	ck_assert_str_eq(recs[1].item.phase, "");
	ck_assert_uint_eq(recs[1].item.nlabels, 8);
	testutil_log_capture_start();
	notify_log(&recs[1].item, 1);
	log = testutil_log_captured();
	ck_assert_msg(strstr(log, "phase=") == NULL, "%s", log);
	testutil_log_capture_stop();
	fx_free(&f);
}
END_TEST

/* A timeout failed in the last phase that started. */
START_TEST(test_alert_failing_phase_timeout)
{
	const struct check_conf	*ck;
	struct probe_result	 res;
	struct fx		 f;
	int			 i;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; } );\n");
	ck = config_find_check(f.cfg, "api");
	for (i = 0; i < 2; i++) {
		probe_result_init(&res);
		probe_result_set(&res, PROBE_TIMEOUT, "timed out");
		res.phase[PROBE_PHASE_RESOLVE] = 100;
		res.phase[PROBE_PHASE_CONNECT] = 250;
		res.duration = 5000000;
		alerts_result(f.a, ck, &res, T0 + 10 * i * SEC);
	}
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(recs[0].item.phase, "connect");
	ck_assert_int_eq(recs[0].item.phase_us, 250);
	ck_assert_uint_eq(recs[0].item.nlabels, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_alert_metric_message)
{
	struct fx		 f;
	const struct check_conf	*ck;
	struct probe_result	 res;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"slow\"; metric = \"duration\"; "
	    "above = \"800ms\"; clear_below = \"500ms\"; fire_after = 1; "
	    "severity = \"warning\"; } );\n");
	ck = config_find_check(f.cfg, "api");
	probe_result_init(&res);
	res.duration = 912000;
	alerts_result(f.a, ck, &res, T0);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(recs[0].item.message, "duration = 0.912 (fires "
	    "above 0.8, clears below 0.5)");
	ck_assert_str_eq(recs[0].item.severity, "warning");
	fx_free(&f);
}
END_TEST

START_TEST(test_alert_flapping_once_then_stable)
{
	struct fx	f;
	size_t		i, flapping = 0, stable = 0, firing = 0;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 1; } );\n");
	for (i = 0; i < 30; i++)
		feed(&f, "api", i % 2 ? PROBE_OK : PROBE_TIMEOUT, (int)i * 10);
	for (i = 30; i < 50; i++)
		feed(&f, "api", PROBE_OK, (int)i * 10);
	for (i = 0; i < nrecs; i++) {
		flapping += recs[i].item.kind == NOTIFY_FLAPPING;
		stable += recs[i].item.kind == NOTIFY_STABLE;
		firing += recs[i].item.kind == NOTIFY_FIRING;
	}
	ck_assert_uint_eq(flapping, 1);
	ck_assert_uint_eq(stable, 1);
	ck_assert_uint_le(firing, 4);	/* before the flapping started */
	ck_assert_str_eq(recs[nrecs - 1].item.state, "ok");
	fx_free(&f);
}
END_TEST

/* ---- footprint ---------------------------------------------------------- */

/*
 * An alert holds its latest words only while it is not a quiet ok alert:
 * none while healthy, the failing result's while pending or firing, the
 * latest result's while firing even when that one passed, none again once
 * resolved or back to ok after a blip.
 */
START_TEST(test_alert_message_kept_only_while_not_ok)
{
	struct fx	 f;
	const char	*m;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 2; "
	    "resolve_after = 2; } );\n");
	feed(&f, "api", PROBE_OK, 0);
	ck_assert_ptr_null(alerts_message(f.a, "down", "api"));
	feed(&f, "api", PROBE_CONNECT_REFUSED, 10);	/* pending */
	m = alerts_message(f.a, "down", "api");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, "connect to 127.0.0.1:1: refused");
	feed(&f, "api", PROBE_OK, 20);			/* cancelled: ok */
	ck_assert_ptr_null(alerts_message(f.a, "down", "api"));
	feed(&f, "api", PROBE_CONNECT_REFUSED, 30);
	feed(&f, "api", PROBE_CONNECT_REFUSED, 40);	/* firing */
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(recs[0].item.message,
	    "connect to 127.0.0.1:1: refused");
	feed(&f, "api", PROBE_OK, 50);			/* still firing */
	m = alerts_message(f.a, "down", "api");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, "");
	feed(&f, "api", PROBE_OK, 60);			/* resolved */
	ck_assert_uint_eq(nrecs, 2);
	ck_assert_str_eq(rec_str(1), "resolved down/api");
	ck_assert_ptr_null(alerts_message(f.a, "down", "api"));
	feed(&f, "api", PROBE_OK, 70);
	ck_assert_ptr_null(alerts_message(f.a, "down", "api"));
	fx_free(&f);
}
END_TEST

/* A reload moves a firing alert's words to the new table. */
START_TEST(test_alert_message_survives_reload)
{
	struct fx	 f;
	struct config	*cfg2;
	const char	*text = "checks = (\n" TCP("api", 1) ",\n"
	    TCP("db", 2) "\n);\nrules = ( { name = \"down\"; "
	    "fire_after = 1; } );\n";

	fx_init(&f, text);
	feed(&f, "db", PROBE_CONNECT_REFUSED, 0);
	cfg2 = fx_load(f.dir, text);
	alerts_set_config(f.a, cfg2, T0 + 5 * SEC);
	config_unref(f.cfg);
	f.cfg = cfg2;
	ck_assert_ptr_null(alerts_message(f.a, "down", "api"));
	ck_assert_str_eq(alerts_message(f.a, "down", "db"),
	    "connect to 127.0.0.1:2: refused");
	fx_free(&f);
}
END_TEST

/* Of 300 alerts one fires: the state file holds that one. */
START_TEST(test_alert_save_writes_only_what_matters)
{
	struct fx		 f;
	struct state_alert	*v;
	char			*text, *p, err[256];
	size_t			 i, n, len = 0, cap = 300 * 128 + 256;

	text = p = xmalloc(cap);
	len += (size_t)snprintf(p, cap, "checks = (\n");
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(p + len, cap - len, "%s  { name = "
		    "\"c%zu\"; type = \"tcp\"; host = \"127.0.0.1\"; "
		    "port = 1; }\n", i > 0 ? "," : "", i);
	snprintf(p + len, cap - len, ");\nrules = ( { name = \"down\"; "
	    "fire_after = 1; } );\n");
	fx_init(&f, text);
	free(text);
	for (i = 0; i < 300; i++)
		feed(&f, "c0", PROBE_OK, 0);
	feed(&f, "c7", PROBE_TIMEOUT, 1);
	ck_assert_int_eq(alerts_save(f.a, err, sizeof(err)), 0);
	ck_assert_int_eq(state_load(f.dir, &v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].rule, "down");
	ck_assert_str_eq(v[0].check, "c7");
	ck_assert(v[0].told);
	free(v);
	fx_free(&f);
}
END_TEST

/* ---- depends_on -------------------------------------------------------- */

START_TEST(test_alert_depends_on_holds_and_summarises)
{
	struct fx	f;
	int		t;
	bool		told;

	testutil_log_capture_start();
	fx_init(&f, "checks = (\n" TCP("uplink", 1) ",\n" TCP("api", 2) ",\n"
	    TCP("db", 3) ",\n" TCP("cache", 4) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 2; resolve_after = 1; "
	    "depends_on = [\"uplink\"]; } );\n");
	/* The uplink goes first in each round, as sonde's spread may do. */
	for (t = 0; t <= 10; t += 10) {
		feed(&f, "uplink", PROBE_CONNECT_TIMEOUT, t);
		feed(&f, "api", PROBE_CONNECT_TIMEOUT, t + 1);
		feed(&f, "db", PROBE_CONNECT_TIMEOUT, t + 2);
		feed(&f, "cache", PROBE_OK, t + 3);
	}
	/* One page: the uplink, naming what is behind it. */
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(rec_str(0), "firing down/uplink");
	ck_assert_str_eq(recs[0].item.dependents, "down/api, down/db");
	ck_assert(alerts_state(f.a, "down", "api", &told)->state ==
	    RULES_FIRING && !told);
	ck_assert_msg(strstr(testutil_log_captured(), "alert down/api: "
	    "firing notification held by depends_on uplink") != NULL, "%s",
	    testutil_log_captured());
	/* db recovers while held: nobody hears of it. */
	feed(&f, "db", PROBE_OK, 21);
	ck_assert_uint_eq(nrecs, 1);
	/* The uplink recovers; api is still down and is now told. */
	feed(&f, "uplink", PROBE_OK, 30);
	ck_assert_uint_eq(nrecs, 3);
	ck_assert_str_eq(rec_str(1), "resolved down/uplink");
	ck_assert_str_eq(recs[1].item.dependents, "down/api");
	ck_assert_str_eq(rec_str(2), "firing down/api");
	ck_assert_str_eq(recs[2].item.note, "no longer held by a dependency");
	feed(&f, "api", PROBE_OK, 31);
	ck_assert_uint_eq(nrecs, 4);
	ck_assert_str_eq(rec_str(3), "resolved down/api");
	testutil_log_capture_stop();
	fx_free(&f);
}
END_TEST

/* ---- silences ---------------------------------------------------------- */

START_TEST(test_alert_silence_holds_then_reconciles)
{
	struct fx	f;
	bool		told;

	fx_init(&f, "checks = (\n" TCP("api", 1) ",\n" TCP("db", 2) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 1; } );\n"
	    "silences = ( { checks = [\"a*\"]; from = \"2026-11-28T00:00Z\"; "
	    "until = \"2026-11-28T00:01:00Z\"; } );\n");
	feed(&f, "api", PROBE_TIMEOUT, 5);
	feed(&f, "db", PROBE_TIMEOUT, 5);
	/* db is not silenced; api's state moves but it says nothing. */
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(rec_str(0), "firing down/db");
	ck_assert(alerts_state(f.a, "down", "api", &told)->state ==
	    RULES_FIRING && !told);
	alerts_tick(f.a, T0 + 59 * SEC);
	ck_assert_uint_eq(nrecs, 1);
	alerts_tick(f.a, T0 + 60 * SEC);
	ck_assert_uint_eq(nrecs, 2);
	ck_assert_str_eq(rec_str(1), "firing down/api");
	ck_assert_str_eq(recs[1].item.note, "silence ended");
	fx_free(&f);
}
END_TEST

START_TEST(test_alert_silence_whole_episode_stays_quiet)
{
	struct fx	f;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 1; } );\n"
	    "silences = ( { weekly = [\"sat 00:00-00:05\"]; } );\n");
	setenv("TZ", "UTC", 1);
	tzset();
	alerts_set_config(f.a, f.cfg, T0);	/* with TZ in effect */
	feed(&f, "api", PROBE_TIMEOUT, 10);
	feed(&f, "api", PROBE_OK, 20);
	alerts_tick(f.a, T0 + 400 * SEC);
	ck_assert_uint_eq(nrecs, 0);
	fx_free(&f);
}
END_TEST

/* ---- digest ------------------------------------------------------------ */

START_TEST(test_alert_digest_folds_a_storm)
{
	struct config_errors	 errs;
	struct fx		 f;
	char			*path;
	static const char *const names[] = { "a", "b", "c", "d", "e" };
	size_t			 i;

	nrecs = 0;
	f.dir = xstrdup(testutil_tmpdir());
	path = testutil_write_file(f.dir, "sonde.conf",
	    "agent = { digest_threshold = 2; digest_window = \"10s\"; };\n"
	    "checks = (\n" TCP("a", 1) ",\n" TCP("b", 2) ",\n" TCP("c", 3)
	    ",\n" TCP("d", 4) ",\n" TCP("e", 5) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; } );\n");
	memset(&errs, 0, sizeof(errs));
	ck_assert((f.cfg = config_load(path, &errs)) != NULL);
	f.a = alerts_new(&rec_sink);
	alerts_set_config(f.a, f.cfg, T0);
	for (i = 0; i < 5; i++)
		feed(&f, names[i], PROBE_TIMEOUT, (int)i);
	ck_assert_uint_eq(nrecs, 2);		/* the threshold, at once */
	alerts_tick(f.a, T0 + 9 * SEC);
	ck_assert_uint_eq(nrecs, 2);
	alerts_tick(f.a, T0 + 10 * SEC);
	ck_assert_uint_eq(nrecs, 3);
	ck_assert_uint_eq(recs[2].n, 3);	/* c, d, e in one message */
	ck_assert_str_eq(recs[2].item.check, "c");
	/* A new window: the next one goes out at once. */
	feed(&f, "a", PROBE_OK, 30);
	feed(&f, "a", PROBE_OK, 40);
	ck_assert_uint_eq(nrecs, 4);
	ck_assert_uint_eq(recs[3].n, 1);
	config_errors_free(&errs);
	free(path);
	fx_free(&f);
}
END_TEST

/*
 * A digest split by channel: rule "down" goes to log and slack, rule
 * "db" only to slack.  Slack gets every queued change in one message,
 * log only its rule's, in the order they came.
 */
START_TEST(test_alert_digest_per_channel)
{
	struct config_errors	 errs;
	struct fx		 f;
	char			*path;
	size_t			 i, log_i = 0, slack_i = 0;

	nrecs = 0;
	setenv("SONDE_TEST_DIGEST_URL", "https://hooks.example.test/x", 1);
	f.dir = xstrdup(testutil_tmpdir());
	path = testutil_write_file(f.dir, "sonde.conf",
	    "agent = { digest_threshold = 1; digest_window = \"10s\"; };\n"
	    "channels = { slack = { webhook_url_env = "
	    "\"SONDE_TEST_DIGEST_URL\"; }; };\n"
	    "checks = (\n" TCP("a", 1) ",\n" TCP("b", 2) ",\n" TCP("c", 3)
	    ",\n" TCP("db1", 4) "\n);\n"
	    "rules = ( { name = \"down\"; checks = [\"a\", \"b\", \"c\"];"
	    " fire_after = 1; notify = [\"log\", \"slack\"]; },\n"
	    " { name = \"db\"; checks = [\"db*\"]; fire_after = 1;"
	    " notify = [\"slack\"]; } );\n");
	memset(&errs, 0, sizeof(errs));
	ck_assert_msg((f.cfg = config_load(path, &errs)) != NULL, "%s",
	    errs.count > 0 ? errs.lines[0] : "?");
	f.a = alerts_new(&rec_sink);
	alerts_set_config(f.a, f.cfg, T0);
	feed(&f, "a", PROBE_TIMEOUT, 0);	/* the threshold: at once */
	ck_assert_uint_eq(nrecs, 2);		/* log and slack */
	feed(&f, "db1", PROBE_TIMEOUT, 1);
	feed(&f, "b", PROBE_TIMEOUT, 2);
	feed(&f, "c", PROBE_TIMEOUT, 3);
	ck_assert_uint_eq(nrecs, 2);
	alerts_tick(f.a, T0 + 10 * SEC);
	ck_assert_uint_eq(nrecs, 4);
	for (i = 2; i < 4; i++) {
		if (strcmp(recs[i].channel, "log") == 0)
			log_i = i;
		else if (strcmp(recs[i].channel, "slack") == 0)
			slack_i = i;
	}
	ck_assert_uint_ne(log_i, 0);
	ck_assert_uint_ne(slack_i, 0);
	ck_assert_uint_eq(recs[slack_i].n, 3);	/* db1, b, c */
	ck_assert_str_eq(recs[slack_i].item.check, "db1");
	ck_assert_uint_eq(recs[log_i].n, 2);	/* b, c */
	ck_assert_str_eq(recs[log_i].item.check, "b");
	unsetenv("SONDE_TEST_DIGEST_URL");
	config_errors_free(&errs);
	free(path);
	fx_free(&f);
}
END_TEST

/* ---- reload and restart ------------------------------------------------ */

/*
 * A firing spooled by the last run but not yet in its saved state (killed
 * in between): restored from the outbox's item, the alert is firing and
 * told, so the next failures fire nothing and two oks resolve it.  A
 * spooled resolution makes a saved firing ok.
 */
START_TEST(test_alert_restore_spooled)
{
	struct fx		 f;
	struct notify_item	 it;
	bool			 told;

	fx_init(&f, "checks = (\n" TCP("api", 1) ",\n" TCP("db", 2) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 2; } );\n");
	memset(&it, 0, sizeof(it));
	it.kind = NOTIFY_FIRING;
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "api");
	it.since = T0 - 5 * SEC;
	it.at = T0 - 4 * SEC;
	alerts_restore_spooled(&it, f.a);
	ck_assert(alerts_state(f.a, "down", "api", &told)->state ==
	    RULES_FIRING && told);
	ck_assert(alerts_dirty(f.a));
	feed(&f, "api", PROBE_CONNECT_REFUSED, 1);
	feed(&f, "api", PROBE_CONNECT_REFUSED, 2);
	ck_assert_uint_eq(nrecs, 0);
	feed(&f, "api", PROBE_OK, 3);
	feed(&f, "api", PROBE_OK, 4);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_str_eq(rec_str(0), "resolved down/api");
	/* db fired and was saved so; its resolution was spooled after. */
	feed(&f, "db", PROBE_CONNECT_REFUSED, 5);
	ck_assert_uint_eq(nrecs, 2);
	it.kind = NOTIFY_RESOLVED;
	snprintf(it.check, sizeof(it.check), "db");
	alerts_restore_spooled(&it, f.a);
	ck_assert(alerts_state(f.a, "down", "db", &told)->state == RULES_OK &&
	    !told);
	/* unknown alerts are ignored */
	snprintf(it.check, sizeof(it.check), "gone");
	alerts_restore_spooled(&it, f.a);
	fx_free(&f);
}
END_TEST


START_TEST(test_alert_reload_keeps_and_resolves)
{
	struct fx	 f;
	struct config	*cfg2;
	bool		 told;

	testutil_log_capture_start();
	fx_init(&f, "checks = (\n" TCP("api", 1) ",\n" TCP("db", 2) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; } );\n");
	feed(&f, "api", PROBE_TIMEOUT, 0);
	feed(&f, "db", PROBE_TIMEOUT, 0);
	ck_assert_uint_eq(nrecs, 2);
	/* db leaves the config; api stays, still firing, not re-told. */
	cfg2 = fx_load(f.dir, "checks = (\n" TCP("api", 1) ",\n"
	    TCP("web", 3) "\n);\nrules = ( { name = \"down\"; "
	    "fire_after = 1; } );\n");
	alerts_set_config(f.a, cfg2, T0 + 5 * SEC);
	config_unref(f.cfg);
	f.cfg = cfg2;
	ck_assert_uint_eq(alerts_count(f.a), 2);
	ck_assert(alerts_state(f.a, "down", "api", &told)->state ==
	    RULES_FIRING && told);
	ck_assert(alerts_state(f.a, "down", "web", NULL)->state == RULES_OK);
	ck_assert_uint_eq(nrecs, 3);
	ck_assert_str_eq(rec_str(2), "resolved down/db");
	ck_assert_str_eq(recs[2].item.note, "removed from the configuration");
	ck_assert(strstr(testutil_log_captured(), "alert=down/db "
	    "state=resolved from=firing cause=removed") != NULL);
	feed(&f, "api", PROBE_TIMEOUT, 10);
	ck_assert_uint_eq(nrecs, 3);
	testutil_log_capture_stop();
	fx_free(&f);
}
END_TEST

/*
 * A reload that reorders, adds and removes checks: each alert kept finds
 * its old state by name (the old config's index, not the order), each
 * removed one resolves, each new one starts ok.
 */
START_TEST(test_alert_reload_reordered_finds_by_name)
{
	struct fx	 f;
	struct config	*cfg2;
	bool		 told;

	fx_init(&f, "checks = (\n" TCP("a", 1) ",\n" TCP("b", 2) ",\n"
	    TCP("c", 3) ",\n" TCP("d", 4) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; } );\n");
	feed(&f, "b", PROBE_TIMEOUT, 0);
	feed(&f, "c", PROBE_TIMEOUT, 0);
	feed(&f, "d", PROBE_OK, 0);
	ck_assert_uint_eq(nrecs, 2);
	cfg2 = fx_load(f.dir, "checks = (\n" TCP("x", 5) ",\n" TCP("d", 4)
	    ",\n" TCP("c", 3) ",\n" TCP("a", 1) "\n);\nrules = ( { name = "
	    "\"down\"; fire_after = 1; } );\n");
	alerts_set_config(f.a, cfg2, T0 + 5 * SEC);
	config_unref(f.cfg);
	f.cfg = cfg2;
	ck_assert_uint_eq(alerts_count(f.a), 4);
	ck_assert(alerts_state(f.a, "down", "c", &told)->state ==
	    RULES_FIRING && told);
	ck_assert(alerts_state(f.a, "down", "d", &told)->state == RULES_OK &&
	    !told);
	ck_assert(alerts_state(f.a, "down", "a", NULL)->state == RULES_OK);
	ck_assert(alerts_state(f.a, "down", "x", NULL)->state == RULES_OK);
	ck_assert_uint_eq(nrecs, 3);
	ck_assert_str_eq(rec_str(2), "resolved down/b");
	feed(&f, "c", PROBE_TIMEOUT, 10);	/* still firing: not re-told */
	ck_assert_uint_eq(nrecs, 3);
	fx_free(&f);
}
END_TEST

START_TEST(test_alert_restart_neither_refires_nor_forgets)
{
	struct fx		 f;
	struct state_alert	*v;
	struct alerts		*b;
	char			 err[256];
	size_t			 n;
	bool			 told;

	fx_init(&f, "checks = (\n" TCP("api", 1) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 1; "
	    "resolve_after = 1; } );\n");
	feed(&f, "api", PROBE_TIMEOUT, 0);
	ck_assert_uint_eq(nrecs, 1);
	ck_assert_int_eq(alerts_save(f.a, err, sizeof(err)), 0);
	ck_assert(!alerts_dirty(f.a));
	/* A new process: fresh table, state from the file. */
	b = alerts_new(&rec_sink);
	alerts_set_config(b, f.cfg, T0 + 60 * SEC);
	ck_assert_int_eq(state_load(f.dir, &v, &n, err, sizeof(err)), 0);
	alerts_restore(b, v, n);
	free(v);
	ck_assert(alerts_state(b, "down", "api", &told)->state ==
	    RULES_FIRING && told);
	alerts_result(b, config_find_check(f.cfg, "api"), &(struct
	    probe_result){ .status = PROBE_TIMEOUT }, T0 + 70 * SEC);
	ck_assert_uint_eq(nrecs, 1);		/* not fired again */
	alerts_result(b, config_find_check(f.cfg, "api"), &(struct
	    probe_result){ .status = PROBE_OK }, T0 + 80 * SEC);
	ck_assert_uint_eq(nrecs, 2);		/* not forgotten */
	ck_assert_str_eq(rec_str(1), "resolved down/api");
	alerts_free(b);
	fx_free(&f);
}
END_TEST

/* ---- a property over routing --------------------------------------- */

#define ROUTE_SEEDS	40
#define ROUTE_STEPS	300

static uint32_t
route_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

/*
 * Whatever the results, silences and parents do, each alert's channels
 * hear firing and resolved strictly alternating (never told twice, never
 * resolved unannounced), and once all is well and nothing holds, nobody
 * is left believing an alert fires.
 */
START_TEST(test_alert_property_told_alternates)
{
	static const char *const names[] = { "uplink", "api", "db", "web" };
	uint64_t	 seed = 0x7011ed00ULL + (uint64_t)_i;
	struct fx	 f;
	bool		 told[4] = { false, false, false, false };
	size_t		 i, k, seen = 0;
	int		 step, p, c;

	fx_init(&f, "checks = (\n" TCP("uplink", 1) ",\n" TCP("api", 2) ",\n"
	    TCP("db", 3) ",\n" TCP("web", 4) "\n);\n"
	    "rules = ( { name = \"down\"; fire_after = 2; of_last = 3; "
	    "resolve_after = 2; depends_on = [\"uplink\"]; } );\n"
	    "silences = ( { checks = [\"a*\", \"w*\"]; "
	    "from = \"2026-11-28T00:10Z\"; until = \"2026-11-28T00:30Z\"; } "
	    ");\n");
	p = 10 + (int)(route_rand(&seed) % 60);
	for (step = 0; step < ROUTE_STEPS + 25; step++) {
		for (c = 0; c < 4; c++)
			feed(&f, names[c], step < ROUTE_STEPS &&
			    (int)(route_rand(&seed) % 100) < p ?
			    PROBE_TIMEOUT : PROBE_OK, step * 10 + c);
		alerts_tick(f.a, T0 + (step * 10 + 5) * SEC);
		for (; seen < nrecs; seen++) {
			for (k = 0; k < 4; k++)
				if (strcmp(recs[seen].item.check, names[k]) ==
				    0)
					break;
			ck_assert(k < 4 && recs[seen].n == 1);
			switch (recs[seen].item.kind) {
			case NOTIFY_FIRING:
				ck_assert_msg(!told[k], "seed %d: %s told "
				    "twice", _i, rec_str(seen));
				told[k] = true;
				break;
			case NOTIFY_RESOLVED:
				ck_assert_msg(told[k], "seed %d: %s never "
				    "told firing", _i, rec_str(seen));
				told[k] = false;
				break;
			case NOTIFY_STABLE:
				told[k] = strcmp(recs[seen].item.state,
				    "firing") == 0;
				break;
			default:
				break;
			}
		}
		nrecs = seen = 0;
	}
	/* 25 good rounds (flapping ends too): all resolved and told so. */
	for (i = 0; i < 4; i++)
		ck_assert_msg(!told[i] && alerts_state(f.a, "down", names[i],
		    NULL)->state != RULES_FIRING, "seed %d: %s left firing",
		    _i, names[i]);
	fx_free(&f);
}
END_TEST

/* ---- the daemon, end to end -------------------------------------------- */

#define E2E_INTERVAL_MS	200
#define E2E_FIRE_AFTER	3
#define E2E_WAIT_MS	10000

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct e2e {
	pid_t	 pid;
	int	 errfd;
	char	*err;
	size_t	 len;
};

static void
e2e_start(struct e2e *d, const char *conf)
{
	const char	*bin = getenv("SONDE_BIN");
	int		 p[2];

	ck_assert_msg(bin != NULL, "SONDE_BIN is not set (run make check)");
	ck_assert(pipe(p) == 0);
	if ((d->pid = fork()) == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		execl(bin, bin, "-c", conf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	d->errfd = p[0];
	d->err = xstrdup("");
	d->len = 0;
}

/* Reads the daemon's log until needle appears; returns where, or NULL. */
static const char *
e2e_wait(struct e2e *d, const char *needle, size_t from)
{
	struct pollfd	 pfd = { .fd = d->errfd, .events = POLLIN };
	int64_t		 end = wall_ms() + testutil_scale_ms(E2E_WAIT_MS);
	char		 buf[4096];
	const char	*at;
	ssize_t		 n;

	while ((at = strstr(d->err + from, needle)) == NULL &&
	    wall_ms() < end) {
		if (poll(&pfd, 1, (int)(end - wall_ms())) <= 0)
			continue;
		if ((n = read(d->errfd, buf, sizeof(buf))) <= 0)
			break;
		d->err = xreallocarray(d->err, d->len + (size_t)n + 1, 1);
		memcpy(d->err + d->len, buf, (size_t)n);
		d->len += (size_t)n;
		d->err[d->len] = '\0';
	}
	return at;
}

/* The wall time in ms of the log line at p ("time=2026-...Z"). */
static int64_t
e2e_line_ms(const char *base, const char *p)
{
	struct tm	tm;
	int		ms = 0;
	const char	*t;

	while (p > base && p[-1] != '\n')
		p--;
	t = strstr(p, "time=");
	ck_assert(t != NULL);
	memset(&tm, 0, sizeof(tm));
	ck_assert(sscanf(t, "time=%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms) == 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* A listener on 127.0.0.1:port again (the outage is over). */
static int
listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	ck_assert((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	ck_assert(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "bind 127.0.0.1:%d: %s", port, strerror(errno));
	ck_assert(listen(fd, 64) == 0);
	return fd;
}

START_TEST(test_alert_daemon_detection_delay)
{
	const char	*dir = testutil_tmpdir(), *at;
	struct e2e	 d;
	char		*conf, *text;
	int		 lfd, port, status;
	int64_t		 down, fired, bound;
	size_t		 off;

	lfd = testutil_listen_tcp(AF_INET, 64, &port);
	text = xasprintf("agent = { name = \"e2e\"; state_dir = \"%s\"; "
	    "digest_window = \"0s\"; };\n"
	    "checks = ( { name = \"api\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = %d; interval = \"%dms\"; "
	    "timeout = \"100ms\"; } );\n"
	    "rules = ( { name = \"down\"; fire_after = %d; "
	    "resolve_after = 2; } );\n", dir, port, E2E_INTERVAL_MS,
	    E2E_FIRE_AFTER);
	conf = testutil_write_file(dir, "sonde.conf", text);
	/* A torn state file from a crash: reported, then a clean start. */
	free(testutil_write_file(dir, STATE_FILE, "{\"version\":1,\"al"));
	e2e_start(&d, conf);
	ck_assert_msg(e2e_wait(&d, "check=api state=ok", 0) != NULL, "%s",
	    d.err);
	ck_assert_msg(strstr(d.err, "msg=\"cannot use the saved alert state "
	    "(") != NULL && strstr(d.err, "starting with every alert ok\"")
	    != NULL, "%s", d.err);
	/* The outage: the listener goes away (connections are refused). */
	close(lfd);
	down = wall_ms();
	at = e2e_wait(&d, "alert=down/api state=firing", 0);
	ck_assert_msg(at != NULL, "no firing line:\n%s", d.err);
	fired = e2e_line_ms(d.err, at);
	off = (size_t)(at - d.err);	/* d.err moves as it grows */
	bound = (int64_t)E2E_FIRE_AFTER * E2E_INTERVAL_MS + 50;
	fprintf(stderr, "# detection delay: firing %lld ms after the outage "
	    "began (bound N*I + 50 = %lld ms, N=%d, I=%d ms)\n",
	    (long long)(fired - down), (long long)bound, E2E_FIRE_AFTER,
	    E2E_INTERVAL_MS);
	ck_assert_msg(fired - down <= bound, "fired %lld ms after the outage, "
	    "bound %lld ms:\n%s", (long long)(fired - down), (long long)bound,
	    d.err);
	ck_assert_msg(e2e_wait(&d, "channel=log notification=firing "
	    "alert=down/api state=firing severity=critical agent=e2e "
	    "target=127.0.0.1:", 0) != NULL, "%s", d.err);
	/* Back up on the same port. */
	lfd = listen_on(port);
	ck_assert_msg(e2e_wait(&d, "alert=down/api state=resolved", off) !=
	    NULL, "no resolved line:\n%s", d.err);
	ck_assert(kill(d.pid, SIGTERM) == 0);
	e2e_wait(&d, "event=stopped", 0);
	ck_assert(waitpid(d.pid, &status, 0) == d.pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(text);
	text = xasprintf("%s/%s", dir, STATE_FILE);
	ck_assert_msg(access(text, F_OK) == 0, "no state file:\n%s", d.err);
	close(lfd);
	close(d.errfd);
	free(d.err);
	free(text);
	free(conf);
}
END_TEST

/* Reads what the daemon logs for ms (no needle: just collects). */
static void
e2e_collect(struct e2e *d, int ms)
{
	struct pollfd	 pfd = { .fd = d->errfd, .events = POLLIN };
	int64_t		 end = wall_ms() + ms;
	char		 buf[4096];
	ssize_t		 n;

	while (wall_ms() < end) {
		if (poll(&pfd, 1, (int)(end - wall_ms())) <= 0)
			continue;
		if ((n = read(d->errfd, buf, sizeof(buf))) <= 0)
			break;
		d->err = xreallocarray(d->err, d->len + (size_t)n + 1, 1);
		memcpy(d->err + d->len, buf, (size_t)n);
		d->len += (size_t)n;
		d->err[d->len] = '\0';
	}
}

static void
e2e_stop(struct e2e *d)
{
	int	status;

	ck_assert(kill(d->pid, SIGTERM) == 0);
	e2e_wait(d, "event=stopped", 0);
	ck_assert(waitpid(d->pid, &status, 0) == d->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    d->err);
	close(d->errfd);
}

/* A firing alert survives a restart: not paged again, still resolved. */
START_TEST(test_alert_daemon_restart_keeps_firing)
{
	const char	*dir = testutil_tmpdir();
	struct e2e	 d1, d2;
	char		*conf, *text;
	int		 port = testutil_closed_port(), lfd;

	text = xasprintf("agent = { name = \"e2e\"; state_dir = \"%s\"; };\n"
	    "checks = ( { name = \"api\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = %d; interval = \"200ms\"; "
	    "timeout = \"100ms\"; } );\n"
	    "rules = ( { name = \"down\"; fire_after = 2; "
	    "resolve_after = 1; } );\n", dir, port);
	conf = testutil_write_file(dir, "sonde.conf", text);
	e2e_start(&d1, conf);
	ck_assert_msg(e2e_wait(&d1, "notification=firing alert=down/api", 0)
	    != NULL, "%s", d1.err);
	e2e_stop(&d1);
	e2e_start(&d2, conf);
	ck_assert_msg(e2e_wait(&d2, "alert down/api restored as firing", 0)
	    != NULL, "%s", d2.err);
	e2e_collect(&d2, 1000);		/* about 5 more failures */
	ck_assert_msg(strstr(d2.err, "check=api state=failing") != NULL,
	    "%s", d2.err);
	ck_assert_msg(strstr(d2.err, "notification=firing") == NULL &&
	    strstr(d2.err, "alert=down/api state=firing") == NULL,
	    "paged again after the restart:\n%s", d2.err);
	lfd = listen_on(port);
	ck_assert_msg(e2e_wait(&d2, "notification=resolved alert=down/api",
	    0) != NULL, "%s", d2.err);
	e2e_stop(&d2);
	close(lfd);
	free(d1.err);
	free(d2.err);
	free(text);
	free(conf);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite	*s = suite_create("alert");
	TCase	*tc;

	tc = tcase_create("lifecycle");
	tcase_add_test(tc, test_alert_lifecycle_lines_and_notifications);
	tcase_add_test(tc, test_alert_failing_phase_and_labels);
	tcase_add_test(tc, test_alert_failing_phase_timeout);
	tcase_add_test(tc, test_alert_metric_message);
	tcase_add_test(tc, test_alert_flapping_once_then_stable);
	suite_add_tcase(s, tc);
	tc = tcase_create("footprint");
	tcase_add_test(tc, test_alert_message_kept_only_while_not_ok);
	tcase_add_test(tc, test_alert_message_survives_reload);
	tcase_add_test(tc, test_alert_save_writes_only_what_matters);
	suite_add_tcase(s, tc);
	tc = tcase_create("routing");
	tcase_add_test(tc, test_alert_depends_on_holds_and_summarises);
	tcase_add_test(tc, test_alert_silence_holds_then_reconciles);
	tcase_add_test(tc, test_alert_silence_whole_episode_stays_quiet);
	tcase_add_test(tc, test_alert_digest_folds_a_storm);
	tcase_add_test(tc, test_alert_digest_per_channel);
	suite_add_tcase(s, tc);
	tc = tcase_create("properties");
	tcase_add_loop_test(tc, test_alert_property_told_alternates, 0,
	    ROUTE_SEEDS);
	suite_add_tcase(s, tc);
	tc = tcase_create("generations");
	tcase_add_test(tc, test_alert_restore_spooled);
	tcase_add_test(tc, test_alert_reload_keeps_and_resolves);
	tcase_add_test(tc, test_alert_reload_reordered_finds_by_name);
	tcase_add_test(tc, test_alert_restart_neither_refires_nor_forgets);
	suite_add_tcase(s, tc);
	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_alert_daemon_detection_delay);
	tcase_add_test(tc, test_alert_daemon_restart_keeps_firing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(alert_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
