/* SPDX-License-Identifier: ISC */
/*
 * Tests for slo, incident and report: the bucket arithmetic on a fake
 * clock (the SRE workbook's examples, window roll-over, restart gaps,
 * a clock stepped back), the slo block and slo_burn rules in the config,
 * burn-rate alerts through the alert table, the incident log (merge,
 * MTTR/MTBF, rotation, torn lines), and sonde report on a state dir.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "incident.h"
#include "notify.h"
#include "probe.h"
#include "report.h"
#include "rules.h"
#include "slo.h"
#include "testutil.h"
#include "xmalloc.h"

#define SEC	INT64_C(1000000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
/* 2026-11-28T00:00:00Z: on every bucket boundary (minute, hour, 2 min). */
#define T0	(1795824000LL * SEC)

static struct slo_conf
conf(double objective, int days)
{
	struct slo_conf	c;

	memset(&c, 0, sizeof(c));
	c.objective = objective;
	c.window_ms = days * 86400 * INT64_C(1000);
	return c;
}

/* n results evenly spread over [from, from + span), bad of them bad. */
static void
spread(struct slo_store *st, int64_t from, int64_t span, int n, int bad)
{
	int	i;

	for (i = 0; i < n; i++)
		slo_store_add(st, from + span * i / n, i >= bad);
}

/* ---- the store --------------------------------------------------------- */

START_TEST(test_slo_store_size)
{
	/* sonde.conf(5) promises this figure. */
	ck_assert_uint_eq(sizeof(struct slo_store), 7968);
}
END_TEST

START_TEST(test_slo_workbook_budget)
{
	struct slo_conf	c = conf(99.9, 30);

	/* 99.9% over 30 days is 43.2 minutes of budget. */
	ck_assert_int_eq(slo_budget_us(&c), 2592 * SEC);
	c = conf(99.0, 7);
	ck_assert_int_eq(slo_budget_us(&c), (int64_t)(7 * 864) * SEC);
}
END_TEST

/*
 * A steady 625 probes an hour (every 5.76 s): 719 good hours, then one
 * hour at 1.44% errors, a 14.4x burn for 99.9%: it spends 2% of the
 * budget (14.4 / 720), and the budget lasts 0.98 * 720 h / 14.4 more.
 */
START_TEST(test_slo_workbook_burn_spends_two_percent)
{
	struct slo_conf		c = conf(99.9, 30);
	struct slo_store	st;
	struct slo_figures	f;
	int64_t			now = T0 + 720 * HOUR - 1;
	int			h;

	slo_store_init(&st, c.window_ms);
	ck_assert_int_eq(st.coarse_us, HOUR);
	for (h = 0; h < 719; h++)
		spread(&st, T0 + h * HOUR, HOUR, 625, 0);
	spread(&st, T0 + 719 * HOUR, HOUR, 625, 9);
	ck_assert_double_eq_tol(slo_store_burn(&st, &c, now, HOUR), 14.4,
	    1e-9);
	ck_assert(isnan(slo_store_burn(&st, &c, now - HOUR, HOUR)) == 0);
	ck_assert_double_eq_tol(slo_store_burn(&st, &c, now - HOUR, HOUR), 0,
	    1e-12);
	memset(&f, 0, sizeof(f));
	slo_store_figures(&st, &c, now, &f);
	ck_assert_uint_eq(f.good + f.bad, 720 * 625);
	ck_assert_uint_eq(f.bad, 9);
	ck_assert_double_eq_tol(1 - f.budget_left, 0.02, 1e-9);
	ck_assert_double_eq_tol(f.availability, 1 - 9.0 / (720 * 625), 1e-12);
	ck_assert_double_eq_tol(f.burn[2], 14.4, 1e-9);
	ck_assert_int_le(llabs(f.exhausted_in_us - 49 * HOUR), SEC);
	ck_assert_int_eq(f.unknown_us, 0);
}
END_TEST

/* Short windows sum whole minutes: the current one and those before. */
START_TEST(test_slo_short_windows)
{
	struct slo_conf		c = conf(99.0, 30);
	struct slo_store	st;
	uint64_t		good, bad;

	slo_store_init(&st, c.window_ms);
	spread(&st, T0, 10 * MIN, 100, 0);	/* 10 good minutes */
	spread(&st, T0 + 10 * MIN, 5 * MIN, 50, 50);	/* 5 bad ones */
	slo_store_sum(&st, T0 + 15 * MIN - 1, 5 * MIN, &good, &bad);
	ck_assert_uint_eq(good, 0);
	ck_assert_uint_eq(bad, 50);
	ck_assert_double_eq_tol(slo_store_burn(&st, &c, T0 + 15 * MIN - 1,
	    5 * MIN), 100, 1e-9);
	/* The hour holds both: 50 bad of 150 is a 33.3x burn at 99%. */
	ck_assert_double_eq_tol(slo_store_burn(&st, &c, T0 + 15 * MIN - 1,
	    HOUR), 100.0 / 3, 1e-9);
	/* Nothing in the window: no figure, never "0 errors". */
	ck_assert(isnan(slo_store_burn(&st, &c, T0 + 30 * MIN, 5 * MIN)));
}
END_TEST

/* The fine ring forgets after 6 h, the coarse one after the window. */
START_TEST(test_slo_window_roll_over)
{
	struct slo_conf		c = conf(99.0, 1);
	struct slo_store	st;
	uint64_t		good, bad;

	slo_store_init(&st, c.window_ms);
	ck_assert_int_eq(st.coarse_us, 2 * MIN);
	spread(&st, T0, 10 * MIN, 10, 10);
	slo_store_add(&st, T0 + 6 * HOUR + 5 * MIN, true);
	slo_store_sum(&st, T0 + 6 * HOUR + 5 * MIN, 6 * HOUR, &good, &bad);
	ck_assert_uint_eq(good, 1);
	ck_assert_uint_eq(bad, 4);	/* minutes 6..9 are still in */
	/* The day: all of it until a day has passed. */
	slo_store_sum(&st, T0 + DAY - 1, DAY, &good, &bad);
	ck_assert_uint_eq(bad, 10);
	slo_store_add(&st, T0 + DAY + 4 * MIN, true);
	slo_store_sum(&st, T0 + DAY + 4 * MIN, DAY, &good, &bad);
	ck_assert_uint_eq(good, 2);
	ck_assert_uint_eq(bad, 4);	/* 2-minute buckets 0..2 gone */
	/* Long after: an empty ring, not stale counts. */
	slo_store_add(&st, T0 + 40 * DAY, true);
	slo_store_sum(&st, T0 + 40 * DAY, DAY, &good, &bad);
	ck_assert_uint_eq(good, 1);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_slo_clock_stepped_back)
{
	struct slo_conf		c = conf(99.0, 30);
	struct slo_store	st;
	uint64_t		good, bad;

	slo_store_init(&st, c.window_ms);
	slo_store_add(&st, T0 + 10 * MIN, true);
	slo_store_add(&st, T0 + 2 * MIN, false);	/* NTP stepped back */
	slo_store_sum(&st, T0 + 10 * MIN, MIN, &good, &bad);
	ck_assert_uint_eq(good, 1);
	ck_assert_uint_eq(bad, 1);
}
END_TEST

START_TEST(test_slo_unknown_gap)
{
	struct slo_conf		c = conf(99.9, 30);
	struct slo_store	st;
	struct slo_figures	f;

	slo_store_init(&st, c.window_ms);
	spread(&st, T0, 2 * HOUR, 120, 0);
	/* Down from 02:00 to 05:30: neither good nor bad, but shown. */
	slo_store_unknown(&st, T0 + 2 * HOUR, T0 + 5 * HOUR + 30 * MIN);
	spread(&st, T0 + 5 * HOUR + 30 * MIN, HOUR, 60, 6);
	memset(&f, 0, sizeof(f));
	slo_store_figures(&st, &c, T0 + 6 * HOUR + 29 * MIN, &f);
	ck_assert_int_eq(f.unknown_us, 3 * HOUR + 30 * MIN);
	ck_assert_uint_eq(f.good, 174);
	ck_assert_uint_eq(f.bad, 6);
	ck_assert_double_eq_tol(f.availability, 174.0 / 180, 1e-12);
	/* A bucket never holds more unknown than its width. */
	slo_store_unknown(&st, T0 + 2 * HOUR, T0 + 3 * HOUR);
	slo_store_figures(&st, &c, T0 + 6 * HOUR + 29 * MIN, &f);
	ck_assert_int_eq(f.unknown_us, 3 * HOUR + 30 * MIN);
}
END_TEST

START_TEST(test_slo_latency_is_part_of_good)
{
	struct slo_conf		c = conf(99.0, 30);
	struct probe_result	res;

	probe_result_init(&res);
	res.duration = 250000;
	ck_assert(slo_good(&c, &res));
	c.latency_ms = 200;
	ck_assert(!slo_good(&c, &res));
	res.duration = 199999;
	ck_assert(slo_good(&c, &res));
	probe_result_set(&res, PROBE_CONNECT_REFUSED, "refused");
	ck_assert(!slo_good(&c, &res));
}
END_TEST

/* ---- config ------------------------------------------------------------ */

static struct config *
load(const char *dir, const char *text, struct config_errors *errs)
{
	struct config	*cfg;
	char		*path, *full;

	full = xasprintf("agent = { name = \"edge-1\"; state_dir = \"%s\"; "
	    "digest_window = \"0s\"; };\n%s", dir, text);
	path = testutil_write_file(dir, "sonde.conf", full);
	memset(errs, 0, sizeof(*errs));
	cfg = config_load(path, errs);
	free(path);
	free(full);
	return cfg;
}

#define CHECK_SLO(slo) "checks = ( { name = \"api\"; type = \"tcp\"; " \
	"host = \"127.0.0.1\"; port = 1; " slo " } );\n"

START_TEST(test_slo_config_good_and_default_rules)
{
	struct config_errors	 errs;
	struct config		*cfg;
	const struct rule_conf	*r;

	cfg = load(testutil_tmpdir(), CHECK_SLO("slo = { objective = 99.5; "
	    "window = \"7d\"; latency = \"300ms\"; };"), &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_ptr_nonnull(cfg->checks[0].slo);
	ck_assert_double_eq(cfg->checks[0].slo->objective, 99.5);
	ck_assert_int_eq(cfg->checks[0].slo->window_ms, 7 * 86400000LL);
	ck_assert_int_eq(cfg->checks[0].slo->latency_ms, 300);
	/* The default down rule, then the workbook's page and ticket. */
	ck_assert_uint_eq(cfg->nrules, 3);
	ck_assert_str_eq(cfg->rules[0].name, "down");
	r = &cfg->rules[1];
	ck_assert_str_eq(r->name, "slo_page");
	ck_assert_int_eq(r->when, RULES_WHEN_SLO_BURN);
	ck_assert_double_eq(r->burn_rate, 14.4);
	ck_assert_int_eq(r->long_window_ms, 3600000);
	ck_assert_int_eq(r->short_window_ms, 300000);
	ck_assert_int_eq(r->severity, RULES_SEV_CRITICAL);
	r = &cfg->rules[2];
	ck_assert_str_eq(r->name, "slo_ticket");
	ck_assert_double_eq(r->burn_rate, 6);
	ck_assert_int_eq(r->long_window_ms, 6 * 3600000);
	ck_assert_int_eq(r->short_window_ms, 1800000);
	ck_assert_int_eq(r->severity, RULES_SEV_WARNING);
	config_errors_free(&errs);
	config_unref(cfg);
	/* Without an slo block there are no burn rules. */
	cfg = load(testutil_tmpdir(), CHECK_SLO(""), &errs);
	ck_assert_uint_eq(cfg->nrules, 1);
	ck_assert_ptr_null(cfg->checks[0].slo);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

START_TEST(test_slo_config_own_burn_rule)
{
	struct config_errors	 errs;
	struct config		*cfg;

	cfg = load(testutil_tmpdir(), CHECK_SLO("slo = { objective = 99; };")
	    "rules = ( { name = \"fast\"; when = \"slo_burn\"; burn_rate = 10; "
	    "long_window = \"30m\"; short_window = \"2m\"; "
	    "notify = [\"log\"]; } );\n", &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_uint_eq(cfg->nrules, 1);	/* no defaults added */
	ck_assert_int_eq(cfg->rules[0].when, RULES_WHEN_SLO_BURN);
	ck_assert_double_eq(cfg->rules[0].burn_rate, 10);
	ck_assert_int_eq(cfg->rules[0].fire_after, 1);
	ck_assert_int_eq(cfg->rules[0].long_window_ms, 1800000);
	ck_assert_int_eq(cfg->checks[0].slo->window_ms, 30 * 86400000LL);
	ck_assert(rules_match(&cfg->rules[0], &cfg->checks[0]));
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

static const struct {
	const char	*text;
	const char	*error;
} slo_bad[] = {
	{ CHECK_SLO("slo = { window = \"30d\"; };"),
	  "slo: 'objective' is required (a percentage such as 99.9)" },
	{ CHECK_SLO("slo = { objective = 100; };"),
	  "slo: 'objective' must be above 0 and below 100" },
	{ CHECK_SLO("slo = { objective = \"99.9\"; };"),
	  "slo: 'objective' must be a percentage such as 99.9, got a string" },
	{ CHECK_SLO("slo = { objective = 99.9; window = \"36h\"; };"),
	  "slo: 'window' must be whole days such as \"30d\"" },
	{ CHECK_SLO("slo = { objective = 99.9; window = \"365d\"; };"),
	  "'window'" },
	{ CHECK_SLO("slo = { objective = 99.9; latancy = \"1s\"; };"),
	  "latency" },
	{ CHECK_SLO("") "rules = ( { name = \"p\"; when = \"slo_burn\"; "
	  "checks = [\"api\"]; } );\n",
	  "rule 'p': check 'api' has no slo = { ... } block, so no burn rate" },
	{ CHECK_SLO("slo = { objective = 99; };") "rules = ( { name = \"p\"; "
	  "burn_rate = 3; } );\n", "'burn_rate' needs when = \"slo_burn\"" },
	{ CHECK_SLO("slo = { objective = 99; };") "rules = ( { name = \"p\"; "
	  "when = \"slo_burn\"; burn_rate = 0; } );\n",
	  "'burn_rate' must be a number above 0 such as 14.4" },
	{ CHECK_SLO("slo = { objective = 99; };") "rules = ( { name = \"p\"; "
	  "when = \"slo_burn\"; burn_rate = \"5m\"; } );\n",
	  "'burn_rate' must be a number above 0 such as 14.4" },
	{ CHECK_SLO("slo = { objective = 99; };") "rules = ( { name = \"p\"; "
	  "when = \"slo_burn\"; long_window = \"5m\"; short_window = \"1h\"; "
	  "} );\n", "'short_window' must not be longer than 'long_window'" },
};

START_TEST(test_slo_config_bad)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;
	bool			 found = false;

	cfg = load(testutil_tmpdir(), slo_bad[_i].text, &errs);
	ck_assert_ptr_null(cfg);
	for (i = 0; i < errs.count; i++)
		found = found || (strstr(errs.lines[i], slo_bad[_i].error) !=
		    NULL && strstr(errs.lines[i], "sonde.conf:") != NULL);
	ck_assert_msg(found, "want \"%s\", got \"%s\"", slo_bad[_i].error,
	    errs.count ? errs.lines[0] : "nothing");
	config_errors_free(&errs);
}
END_TEST

/* ---- burn-rate alerts through the alert table -------------------------- */

static struct notify_item	items[32];
static size_t			nitems;

static void
rec_send(void *arg, const char *channel, const struct notify_item *it,
    size_t n)
{
	(void)arg;
	(void)channel;
	ck_assert(nitems < sizeof(items) / sizeof(items[0]) && n == 1);
	items[nitems++] = it[0];
}

static const struct notify_sink rec_sink = { rec_send, NULL };

/* Feeds one result of api at t to the SLO table, then the alerts. */
static void
feed(struct slo_table *t, struct alerts *a, const struct config *cfg,
    int64_t at, bool ok)
{
	struct probe_result	res;

	probe_result_init(&res);
	res.started_at = at;
	if (!ok)
		probe_result_set(&res, PROBE_CONNECT_REFUSED, "connect to "
		    "127.0.0.1:1: refused");
	slo_table_result(t, &cfg->checks[0], &res, at);
	if (a != NULL)
		alerts_result(a, &cfg->checks[0], &res, at);
}

/*
 * 99% over 30 d, page at 14.4x over 1 h and 5 m: a fast outage pages
 * with the budget and the time left in the notification; a slow trickle
 * of failures within budget never pages; the incident log has both ends.
 */
START_TEST(test_slo_burn_alert_lifecycle)
{
	const char		*dir = testutil_tmpdir();
	struct config_errors	 errs;
	struct config		*cfg;
	struct slo_table	*t = slo_table_new();
	struct alerts		*a = alerts_new(&rec_sink);
	struct incident_event	*ev;
	struct incident_stats	 is;
	size_t			 n, skipped;
	int64_t			 at = T0;
	char			 err[256];
	int			 i;

	cfg = load(dir, CHECK_SLO("slo = { objective = 99; };")
	    "rules = ( { name = \"page\"; when = \"slo_burn\"; "
	    "resolve_after = 2; } );\n", &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	slo_table_set_config(t, cfg);
	alerts_set_slo(a, t);
	alerts_set_incidents(a, true);
	alerts_set_config(a, cfg, T0);
	nitems = 0;
	/* 29 good days at one result per 5 minutes: a budget to spend. */
	for (; at < T0 + 29 * DAY; at += 5 * MIN)
		feed(t, NULL, cfg, at, true);
	/* An hour at 1 in 10 failing (a 10x burn) does not page. */
	for (i = 0; i < 360; i++, at += 10 * SEC)
		feed(t, a, cfg, at, i % 10 != 0);
	ck_assert_uint_eq(nitems, 0);
	/* A hard outage: the 1 h rate passes 14.4 within minutes. */
	for (i = 0; i < 40 && nitems == 0; i++, at += 10 * SEC)
		feed(t, a, cfg, at, false);
	ck_assert_uint_eq(nitems, 1);
	ck_assert_int_eq(items[0].kind, NOTIFY_FIRING);
	ck_assert_str_eq(items[0].rule, "page");
	ck_assert(items[0].has_slo);
	ck_assert(items[0].burn_long > 14.4 && items[0].burn_short > 14.4);
	ck_assert(items[0].budget_left < 0.9 && items[0].budget_left > 0);
	ck_assert(items[0].exhausted_in > 0 &&
	    items[0].exhausted_in < 30 * DAY);
	ck_assert_msg(strstr(items[0].message, "of the 30d error budget "
	    "(7h12m) left, exhausted in ") != NULL, "%s", items[0].message);
	/* Back: the 5 m window clears first; two clean results resolve. */
	for (i = 0; i < 60 && nitems == 1; i++, at += 10 * SEC)
		feed(t, a, cfg, at, true);
	ck_assert_uint_eq(nitems, 2);
	ck_assert_int_eq(items[1].kind, NOTIFY_RESOLVED);
	ck_assert_int_eq(incident_load(dir, &ev, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(!ev[0].resolved && ev[1].resolved);
	ck_assert_int_eq(ev[1].since, ev[0].at);
	incident_stats(ev, n, "api", T0, at, &is);
	ck_assert_uint_eq(is.incidents, 1);
	ck_assert_int_eq(is.mttr_us, ev[1].at - ev[0].at);
	free(ev);
	alerts_free(a);
	slo_table_free(t);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

/* Save, restart 3 h later: the counts are back and the gap is unknown. */
START_TEST(test_slo_table_save_restore_gap)
{
	const char		*dir = testutil_tmpdir();
	struct config_errors	 errs;
	struct config		*cfg;
	struct slo_table	*t = slo_table_new(), *u = slo_table_new();
	struct slo_figures	 f, g;
	char			 err[256];
	int64_t			 gap;
	size_t			 n;

	cfg = load(dir, CHECK_SLO("slo = { objective = 99.9; };"), &errs);
	ck_assert_ptr_nonnull(cfg);
	slo_table_set_config(t, cfg);
	ck_assert_uint_eq(slo_table_count(t), 1);
	feed(t, NULL, cfg, T0, true);
	ck_assert(slo_table_dirty(t));
	ck_assert_int_eq(slo_table_save(t, dir, T0 + HOUR, err, sizeof(err)),
	    0);
	ck_assert(!slo_table_dirty(t));
	slo_table_set_config(u, cfg);
	ck_assert_int_eq(slo_table_restore(u, dir, T0 + 4 * HOUR, &gap, &n,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(gap, 3 * HOUR);
	ck_assert_uint_eq(n, 1);
	slo_table_figures(t, 0, T0 + 4 * HOUR, &f);
	slo_table_figures(u, 0, T0 + 4 * HOUR, &g);
	ck_assert_str_eq(g.check, "api");
	ck_assert_uint_eq(g.good, f.good);
	ck_assert_int_eq(f.unknown_us, 0);
	ck_assert_int_eq(g.unknown_us, 3 * HOUR);
	/* A reload that keeps the check and window keeps the counts. */
	slo_table_set_config(u, cfg);
	slo_table_figures(u, 0, T0 + 4 * HOUR, &g);
	ck_assert_uint_eq(g.good, 1);
	/* A torn file is an error, not a crash. */
	free(testutil_write_file(dir, SLO_FILE, "{\"version\":1,\"sav"));
	ck_assert_int_eq(slo_table_restore(u, dir, T0, NULL, NULL, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, SLO_FILE) != NULL, "%s", err);
	slo_table_free(t);
	slo_table_free(u);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

/*
 * A saved store whose indices or times are negative (other than an empty
 * ring's -1) is refused: its arithmetic would overflow.  Found by the
 * fuzz_slo harness.
 */
START_TEST(test_slo_file_negative_index)
{
	static const char *const	 fields[] = { "\"fine_idx\":",
	    "\"coarse_idx\":", "\"first\":", "\"last\":" };
	const char		*dir = testutil_tmpdir();
	struct config_errors	 errs;
	struct config		*cfg;
	struct slo_table	*t = slo_table_new();
	struct slo_saved	*v = NULL;
	char			 err[256], path[512], *txt, *p, *q, *bad;
	int64_t			 at;
	size_t			 n, i;
	FILE			*f;

	cfg = load(dir, CHECK_SLO("slo = { objective = 99.9; };"), &errs);
	ck_assert_ptr_nonnull(cfg);
	slo_table_set_config(t, cfg);
	feed(t, NULL, cfg, T0, true);
	ck_assert_int_eq(slo_table_save(t, dir, T0 + HOUR, err, sizeof(err)),
	    0);
	snprintf(path, sizeof(path), "%s/%s", dir, SLO_FILE);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	txt = xcalloc(1, 65536);
	ck_assert_uint_gt(fread(txt, 1, 65535, f), 0);
	fclose(f);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		/* The field's value becomes INT64_MIN. */
		ck_assert_ptr_nonnull(p = strstr(txt, fields[i]));
		p += strlen(fields[i]);
		q = p + strspn(p, "-0123456789");
		bad = xasprintf("%.*s-9223372036854775808%s", (int)(p - txt),
		    txt, q);
		free(testutil_write_file(dir, SLO_FILE, bad));
		ck_assert_int_eq(slo_file_load(dir, &v, &n, &at, err,
		    sizeof(err)), -1);
		ck_assert_ptr_null(v);
		ck_assert_msg(strstr(err, "out of range") != NULL, "%s: %s",
		    fields[i], err);
		free(bad);
	}
	free(txt);
	slo_table_free(t);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

/* ---- the incident log -------------------------------------------------- */

static void
event(const char *dir, const char *rule, const char *check, bool resolved,
    int64_t at, int64_t since)
{
	struct incident_event	ev;
	char			err[256];

	memset(&ev, 0, sizeof(ev));
	ev.resolved = resolved;
	snprintf(ev.rule, sizeof(ev.rule), "%s", rule);
	snprintf(ev.check, sizeof(ev.check), "%s", check);
	snprintf(ev.agent, sizeof(ev.agent), "edge-1");
	ev.at = at;
	ev.since = since;
	ck_assert_int_eq(incident_append(dir, &ev, INCIDENT_ROTATE_BYTES, err,
	    sizeof(err)), 0);
}

/*
 * api: down 00:10-00:20 with slo_page overlapping 00:15-00:30 (one
 * outage of 20 m), then 02:00-02:05; db: firing since 03:00.
 */
static void
incidents_sample(const char *dir)
{
	event(dir, "down", "api", false, T0 + 10 * MIN, 0);
	event(dir, "slo_page", "api", false, T0 + 15 * MIN, 0);
	event(dir, "down", "api", true, T0 + 20 * MIN, T0 + 10 * MIN);
	event(dir, "slo_page", "api", true, T0 + 30 * MIN, T0 + 15 * MIN);
	event(dir, "down", "api", false, T0 + 2 * HOUR, 0);
	event(dir, "down", "api", true, T0 + 2 * HOUR + 5 * MIN,
	    T0 + 2 * HOUR);
	event(dir, "down", "db", false, T0 + 3 * HOUR, 0);
}

START_TEST(test_incident_stats)
{
	const char		*dir = testutil_tmpdir();
	struct incident_event	*ev;
	struct incident_stats	 st;
	size_t			 n, skipped;
	char			 err[256], *path;
	FILE			*fp;

	incidents_sample(dir);
	/* A torn last line (a crash mid-write) is skipped and counted. */
	path = xasprintf("%s/%s", dir, INCIDENT_FILE);
	ck_assert_ptr_nonnull(fp = fopen(path, "a"));
	fputs("{\"event\":\"firi", fp);
	fclose(fp);
	free(path);
	ck_assert_int_eq(incident_load(dir, &ev, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(skipped, 1);
	incident_stats(ev, n, "api", T0, T0 + 4 * HOUR, &st);
	ck_assert_uint_eq(st.incidents, 2);
	ck_assert_uint_eq(st.open, 0);
	ck_assert_int_eq(st.down_us, 25 * MIN);
	ck_assert_int_eq(st.longest_us, 20 * MIN);
	ck_assert_int_eq(st.mttr_us, 12 * MIN + 30 * SEC);
	ck_assert_int_eq(st.mtbf_us, (4 * HOUR - 25 * MIN) / 2);
	/* Clipped to the period: only the part after 00:25 counts. */
	incident_stats(ev, n, "api", T0 + 25 * MIN, T0 + 4 * HOUR, &st);
	ck_assert_uint_eq(st.incidents, 2);
	ck_assert_int_eq(st.down_us, 10 * MIN);
	incident_stats(ev, n, "db", T0, T0 + 4 * HOUR, &st);
	ck_assert_uint_eq(st.incidents, 1);
	ck_assert_uint_eq(st.open, 1);
	ck_assert_int_eq(st.down_us, HOUR);
	ck_assert_int_eq(st.mttr_us, -1);
	incident_stats(ev, n, "nope", T0, T0 + 4 * HOUR, &st);
	ck_assert_uint_eq(st.incidents, 0);
	ck_assert_int_eq(st.mtbf_us, -1);
	free(ev);
}
END_TEST

START_TEST(test_incident_rotation)
{
	const char		*dir = testutil_tmpdir();
	struct incident_event	 ev, *v;
	size_t			 n, skipped, i;
	char			 err[256], *path;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.rule, sizeof(ev.rule), "down");
	snprintf(ev.check, sizeof(ev.check), "api");
	for (i = 0; i < 10; i++) {
		ev.resolved = i % 2 == 1;
		ev.at = T0 + (int64_t)i * MIN;
		ev.since = ev.resolved ? ev.at - MIN : 0;
		ck_assert_int_eq(incident_append(dir, &ev, 600, err,
		    sizeof(err)), 0);
	}
	path = xasprintf("%s/%s.1", dir, INCIDENT_FILE);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(path);
	/* Only the last two files are kept; what is left still reads. */
	ck_assert_int_eq(incident_load(dir, &v, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert(n > 0 && n < 10);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_int_eq(v[n - 1].at, T0 + 9 * MIN);
	free(v);
}
END_TEST

/* A message quoting bad bytes from the network still makes a line. */
START_TEST(test_incident_bad_utf8)
{
	const char		*dir = testutil_tmpdir();
	struct incident_event	 ev, *v;
	size_t			 n, skipped;
	char			 err[256];

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.rule, sizeof(ev.rule), "down");
	snprintf(ev.check, sizeof(ev.check), "ssh");
	snprintf(ev.message, sizeof(ev.message), "reply \"SSH-1.99\xff\xfe\"");
	ev.at = T0;
	ck_assert_int_eq(incident_append(dir, &ev, INCIDENT_ROTATE_BYTES, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(incident_load(dir, &v, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].message, "reply \"SSH-1.99\xef\xbf\xbd\xef"
	    "\xbf\xbd\"");
	free(v);
}
END_TEST

/*
 * Lines with times sonde never writes (before 1970, past 9999) are
 * skipped like foreign lines: the stats subtract them.  Found by
 * fuzz_incident (signed overflow in incident_stats).
 */
START_TEST(test_incident_times_out_of_range)
{
	const char		*dir = testutil_tmpdir();
	struct incident_event	*v;
	struct incident_stats	 st;
	size_t			 n, skipped;
	char			 err[256];

	free(testutil_write_file(dir, INCIDENT_FILE,
	    "{\"event\":\"firing\",\"at_us\":1000,\"rule\":\"down\","
	    "\"check\":\"db\"}\n"
	    "{\"event\":\"resolved\",\"at_us\":2000,\"rule\":\"down\","
	    "\"check\":\"db\",\"fired_at_us\":-9223372036854775807}\n"
	    "{\"event\":\"firing\",\"at_us\":-1,\"rule\":\"down\","
	    "\"check\":\"db\"}\n"
	    "{\"event\":\"firing\",\"at_us\":9223372036854775807,"
	    "\"rule\":\"down\",\"check\":\"db\"}\n"));
	ck_assert_int_eq(incident_load(dir, &v, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(skipped, 3);
	incident_stats(v, n, "db", 0, 5000, &st);
	ck_assert_uint_eq(st.incidents, 1);
	ck_assert_uint_eq(st.open, 1);
	ck_assert_int_eq(st.down_us, 4000);
	free(v);
}
END_TEST

/*
 * A resolve logged before its firing (the wall clock stepped back) is an
 * outage of no length, never a negative down time.  Found by
 * fuzz_incident.
 */
START_TEST(test_incident_clock_stepped_back)
{
	const char		*dir = testutil_tmpdir();
	struct incident_event	*v;
	struct incident_stats	 st;
	size_t			 n, skipped;
	char			 err[256];

	free(testutil_write_file(dir, INCIDENT_FILE,
	    "{\"event\":\"firing\",\"at_us\":5000,\"rule\":\"down\","
	    "\"check\":\"db\"}\n"
	    "{\"event\":\"resolved\",\"at_us\":3000,\"rule\":\"down\","
	    "\"check\":\"db\",\"fired_at_us\":5000}\n"
	    "{\"event\":\"resolved\",\"at_us\":7000,\"rule\":\"slow\","
	    "\"check\":\"db\",\"fired_at_us\":9000}\n"));
	ck_assert_int_eq(incident_load(dir, &v, &n, &skipped, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	incident_stats(v, n, "db", 0, 10000, &st);
	ck_assert_int_eq(st.down_us, 0);
	ck_assert_int_eq(st.mttr_us, 0);
	ck_assert_int_eq(st.longest_us, 0);
	free(v);
}
END_TEST

/* ---- sonde report ------------------------------------------------------ */

/* Runs report_run() into a string (caller frees); *rc its status. */
static char *
report_capture(const struct report_options *o, int64_t now, int *rc)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*out, *err;

	ck_assert_ptr_nonnull(out = open_memstream(&buf, &len));
	ck_assert_ptr_nonnull(err = fopen("/dev/null", "w"));
	*rc = report_run(o, now, out, err);
	fclose(out);
	fclose(err);
	return buf;
}

START_TEST(test_report_from_state_dir)
{
	const char		*dir = testutil_tmpdir();
	const char		*only[] = { "api" };
	struct report_options	 o;
	struct config_errors	 errs;
	struct config		*cfg;
	struct slo_table	*t = slo_table_new();
	json_t			*j;
	char			*out, err[256], *line;
	int			 rc, lines = 0;

	cfg = load(dir, CHECK_SLO("slo = { objective = 99.9; };"), &errs);
	ck_assert_ptr_nonnull(cfg);
	slo_table_set_config(t, cfg);
	for (rc = 0; rc < 240; rc++)
		feed(t, NULL, cfg, T0 + rc * 15 * SEC, rc < 230);
	ck_assert_int_eq(slo_table_save(t, dir, T0 + HOUR, err, sizeof(err)),
	    0);
	incidents_sample(dir);
	memset(&o, 0, sizeof(o));
	o.state_dir = dir;
	o.since_ms = 86400000;
	out = report_capture(&o, T0 + 4 * HOUR, &rc);
	ck_assert_int_eq(rc, 0);
	for (line = out; *line != '\0'; line = strchr(line, '\n') + 1, lines++)
		ck_assert_msg(strchr(line, '\n') - line <= 80, "%s", line);
	ck_assert_msg(strstr(out, "api   99.9%/30d   95.833%") != NULL &&
	    strstr(out, "\ndb    -") != NULL && strstr(out, "1*") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "api: 3h00m of the last 1d unknown") !=
	    NULL, "%s", out);
	free(out);
	o.json = true;
	o.checks = only;
	o.nchecks = 1;
	out = report_capture(&o, T0 + 4 * HOUR, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(j = json_loads(out, JSON_DISABLE_EOF_CHECK,
	    NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "good")), 230);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "bad")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "incidents")),
	    2);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "mttr_seconds")), 750, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "unknown_seconds")), 3 * 3600, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "error_budget_remaining")), 1 - (10.0 / 240) / 0.001, 1e-9);
	json_decref(j);
	free(out);
	/* A check that is in neither file. */
	only[0] = "nope";
	free(report_capture(&o, T0, &rc));
	ck_assert_int_eq(rc, 1);
	slo_table_free(t);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST


/* ---- end to end: the built daemon against a listener we turn off ------- */

#define E2E_INTERVAL_MS	100
#define E2E_WAIT_MS	10000

/* Check messages are short: the daemon's log goes to stderr instead. */
#define E2E_ASSERT(d, cond, what) do {					\
	if (!(cond))							\
		fprintf(stderr, "# daemon log:\n%s\n", (d)->err);	\
	ck_assert_msg((cond), "%s", (what));				\
} while (0)

static int64_t
wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec / 1000;
}

struct e2e {
	pid_t	 pid;
	int	 errfd;
	char	*err;
	size_t	 len;
	int	 lfd;		/* -1 while "down" */
	int	 port;
	int	 accepted;	/* the truth: probes that connected */
};

/* Reads what the daemon logged so far (waits at most ms). */
static void
e2e_read(struct e2e *d, int ms)
{
	struct pollfd	 pfd = { .fd = d->errfd, .events = POLLIN };
	char		 buf[4096];
	ssize_t		 n;

	if (poll(&pfd, 1, ms) <= 0 || (n = read(d->errfd, buf,
	    sizeof(buf))) <= 0)
		return;
	d->err = xreallocarray(d->err, d->len + (size_t)n + 1, 1);
	memcpy(d->err + d->len, buf, (size_t)n);
	d->len += (size_t)n;
	d->err[d->len] = '\0';
}

/* Accepts every pending connection (each one a good probe). */
static void
e2e_drain(struct e2e *d)
{
	int	fd;

	while ((fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		d->accepted++;
		close(fd);
	}
}

/* Serves (up) or refuses (down) for ms, reading the daemon's log. */
static void
e2e_phase(struct e2e *d, bool up, int ms)
{
	struct sockaddr_in	sin;
	int64_t			end = wall_us() + ms * 1000LL;
	int			one = 1;

	if (up && d->lfd == -1) {
		d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		ck_assert(d->lfd >= 0);
		setsockopt(d->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)d->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_msg(bind(d->lfd, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0, "bind: %s", strerror(errno));
		ck_assert(listen(d->lfd, 64) == 0);
	} else if (!up && d->lfd != -1) {
		e2e_drain(d);
		close(d->lfd);
		d->lfd = -1;
	}
	while (wall_us() < end) {
		if (d->lfd != -1)
			e2e_drain(d);
		e2e_read(d, 5);
	}
}

/*
 * History as slo.json: good results every 0.5 s from 10 to 3 minutes ago,
 * a budget to spend that stays out of the 2 m burn window.
 */
static int
e2e_seed(const char *dir, const char *conf_path)
{
	struct config_errors	 errs;
	struct config		*cfg;
	struct slo_table	*t = slo_table_new();
	int64_t			 now = wall_us(), at;
	char			 err[256];
	int			 n = 0;

	memset(&errs, 0, sizeof(errs));
	ck_assert_ptr_nonnull(cfg = config_load(conf_path, &errs));
	slo_table_set_config(t, cfg);
	for (at = now - 10 * MIN; at < now - 3 * MIN; at += SEC / 2, n++)
		feed(t, NULL, cfg, at, true);
	ck_assert_int_eq(slo_table_save(t, dir, now, err, sizeof(err)), 0);
	slo_table_free(t);
	config_unref(cfg);
	return n;
}

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
}

static void
e2e_stop(struct e2e *d, uint64_t *probes)
{
	const char	*at;
	int64_t		 end = wall_us() +
			    testutil_scale_ms(E2E_WAIT_MS) * 1000LL;
	int		 status;

	ck_assert(kill(d->pid, SIGTERM) == 0);
	while ((at = strstr(d->err, "event=stopped")) == NULL &&
	    wall_us() < end)
		e2e_read(d, 50);
	ck_assert(waitpid(d->pid, &status, 0) == d->pid);
	E2E_ASSERT(d, at != NULL && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "the daemon did not stop cleanly");
	ck_assert(sscanf(at, "event=stopped probes=%" SCNu64, probes) == 1);
	close(d->errfd);
	if (d->lfd != -1)
		close(d->lfd);
}

/* sonde report --json for api; returns the parsed object. */
static json_t *
e2e_report(const char *conf)
{
	static const char *const args[] = { "report", "-c", NULL, "--since",
	    "1d", "--check", "api", "--json", NULL };
	char	*argv[10], *out, *err;
	json_t	*j;
	size_t	 i;

	argv[0] = getenv("SONDE_BIN");
	for (i = 0; i < 9; i++)
		argv[i + 1] = (char *)(i == 2 ? conf : args[i]);

	ck_assert_msg(testutil_run_cmd(argv, &out, &err, 5000) == 0, "%s",
	    err);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j != NULL, "%s", out);
	free(out);
	free(err);
	return j;
}

/* [start, end] of the merged outage of api from the incident log. */
static int
e2e_log_outage(const char *dir, int64_t *start, int64_t *end)
{
	json_t	*o;
	char	*path, line[2048];
	FILE	*fp;
	int	 open = 0;

	path = xasprintf("%s/%s", dir, INCIDENT_FILE);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	*start = INT64_MAX;
	*end = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		ck_assert_ptr_nonnull(o = json_loads(line, 0, NULL));
		if (strcmp(json_string_value(json_object_get(o, "event")),
		    "firing") == 0) {
			open++;
			if (json_integer_value(json_object_get(o, "at_us")) <
			    *start)
				*start = json_integer_value(json_object_get(o,
				    "at_us"));
		} else {
			open--;
			*end = json_integer_value(json_object_get(o, "at_us"));
		}
		json_decref(o);
	}
	fclose(fp);
	free(path);
	return open;
}

/*
 * The probe's timeout: 50 ms, or under valgrind (a time scale above 1)
 * nearly the interval, since a starved process can miss 50 ms and count a
 * good probe bad, which is exactly what the slow-burn step must not see.
 */
static int
e2e_timeout_ms(void)
{
	return testutil_timescale() > 1 ? E2E_INTERVAL_MS - 10 : 50;
}

/*
 * 90% over 1 d (10% budget); page at 2x over 2m and 1m.  Slow: off 100 ms
 * of every second for 4 s (a 1x burn): no page.  Fast: off 3 s: a page.
 * Then the daemon's counts, sonde report and the incident log agree with
 * what the listener saw, within one probe per outage.
 */
START_TEST(test_slo_daemon_end_to_end)
{
	const char	*dir = testutil_tmpdir();
	struct e2e	 d;
	json_t		*j;
	char		*text, *conf;
	uint64_t	 probes;
	int64_t		 good, bad, start, end, off_ms = 0;
	int		 seeded, i, open, noff = 0;

	memset(&d, 0, sizeof(d));
	d.lfd = -1;
	d.port = testutil_closed_port();
	text = xasprintf("agent = { name = \"e2e\"; state_dir = \"%s\"; };\n"
	    "checks = ( { name = \"api\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = %d; interval = \"%dms\"; "
	    "timeout = \"%dms\"; slo = { objective = 90; window = \"1d\"; "
	    "}; } );\n"
	    "rules = ( { name = \"down\"; fire_after = 3; resolve_after = 2; },"
	    " { name = \"page\"; when = \"slo_burn\"; burn_rate = 2; "
	    "long_window = \"2m\"; short_window = \"1m\"; } );\n", dir,
	    d.port, E2E_INTERVAL_MS, e2e_timeout_ms());
	conf = testutil_write_file(dir, "sonde.conf", text);
	seeded = e2e_seed(dir, conf);
	e2e_phase(&d, true, 0);
	e2e_start(&d, conf);
	e2e_phase(&d, true, 1000);
	/* Under valgrind the daemon alone takes seconds to start. */
	for (i = 1; i < testutil_timescale() &&
	    strstr(d.err, "check=api state=ok") == NULL; i++)
		e2e_phase(&d, true, 1000);
	E2E_ASSERT(&d, strstr(d.err, "check=api state=ok") != NULL,
	    "the check never succeeded");
	E2E_ASSERT(&d, strstr(d.err, "restored the SLO counts of 1 of 1 check;"
	    " ") != NULL, "the seeded SLO counts were not restored");
	for (i = 0; i < 4; i++, noff++, off_ms += 100) {
		e2e_phase(&d, false, 100);
		e2e_phase(&d, true, 900);
	}
	E2E_ASSERT(&d, strstr(d.err, "alert=page/api state=firing") == NULL,
	    "paged on a slow burn within budget");
	e2e_phase(&d, false, 3000);
	noff++;
	off_ms += 3000;
	E2E_ASSERT(&d, strstr(d.err, "alert=page/api state=firing") != NULL &&
	    strstr(d.err, "notification=firing alert=page/api") != NULL,
	    "no page on a fast burn");
	E2E_ASSERT(&d, strstr(d.err, "budget_left=") != NULL &&
	    strstr(d.err, "of the 1d error budget (2h24m)") != NULL,
	    "the page does not say the budget");
	e2e_phase(&d, true, 1000);
	e2e_stop(&d, &probes);
	j = e2e_report(conf);
	good = json_integer_value(json_object_get(j, "good")) - seeded;
	bad = json_integer_value(json_object_get(j, "bad"));
	fprintf(stderr, "# e2e: probes=%llu good=%lld (accepted %d) bad=%lld "
	    "(off %lld ms = %lld probes)\n", (unsigned long long)probes,
	    (long long)good, d.accepted, (long long)bad, (long long)off_ms,
	    (long long)(off_ms / E2E_INTERVAL_MS));
	ck_assert_int_eq(good + bad, (int64_t)probes);
	ck_assert_int_le(llabs(good - d.accepted), 1);
	ck_assert_int_le(llabs(bad - off_ms / E2E_INTERVAL_MS), noff);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "availability")), (double)(seeded + good) /
	    (double)(seeded + good + bad), 1e-12);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "error_budget_remaining")), 1 - ((double)(off_ms /
	    E2E_INTERVAL_MS) / (double)(seeded + probes)) / 0.1,
	    (double)noff / (double)(seeded + probes) / 0.1);
	/* The report's incidents are the log's: one outage, two rules. */
	open = e2e_log_outage(dir, &start, &end);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "incidents")),
	    1);
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "open_incidents")), open > 0);
	if (open == 0)
		ck_assert_double_eq_tol(json_real_value(json_object_get(j,
		    "mttr_seconds")), (double)(end - start) / 1e6, 1e-6);
	else
		ck_assert(json_real_value(json_object_get(j,
		    "downtime_seconds")) >= (double)(wall_us() - start) / 1e6 -
		    5);
	json_decref(j);
	free(d.err);
	free(text);
	free(conf);
}
END_TEST

static Suite *
slo_suite(void)
{
	Suite	*s = suite_create("slo");
	TCase	*tc;

	tc = tcase_create("buckets");
	tcase_add_test(tc, test_slo_store_size);
	tcase_add_test(tc, test_slo_workbook_budget);
	tcase_add_test(tc, test_slo_workbook_burn_spends_two_percent);
	tcase_add_test(tc, test_slo_short_windows);
	tcase_add_test(tc, test_slo_window_roll_over);
	tcase_add_test(tc, test_slo_clock_stepped_back);
	tcase_add_test(tc, test_slo_unknown_gap);
	tcase_add_test(tc, test_slo_latency_is_part_of_good);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, test_slo_config_good_and_default_rules);
	tcase_add_test(tc, test_slo_config_own_burn_rule);
	tcase_add_loop_test(tc, test_slo_config_bad, 0,
	    sizeof(slo_bad) / sizeof(slo_bad[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("alerts_and_state");
	tcase_add_test(tc, test_slo_burn_alert_lifecycle);
	tcase_add_test(tc, test_slo_table_save_restore_gap);
	tcase_add_test(tc, test_slo_file_negative_index);
	suite_add_tcase(s, tc);
	tc = tcase_create("incidents_and_report");
	tcase_add_test(tc, test_incident_stats);
	tcase_add_test(tc, test_incident_rotation);
	tcase_add_test(tc, test_incident_bad_utf8);
	tcase_add_test(tc, test_incident_times_out_of_range);
	tcase_add_test(tc, test_incident_clock_stepped_back);
	tcase_add_test(tc, test_report_from_state_dir);
	suite_add_tcase(s, tc);
	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_slo_daemon_end_to_end);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(slo_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
