/* SPDX-License-Identifier: ISC */
/*
 * Tests for rules: the pure evaluator as tables of result sequences and
 * the transitions they must give (tcase_add_loop_test), property tests
 * over seeded random sequences, matching of checks and silences, and the
 * rules/silences config through config_load() with its file:line errors.
 * No clock, no network.
 */
#include "autoconf.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "probe.h"
#include "rules.h"
#include "testutil.h"
#include "xmalloc.h"

#define STEP_US		(10 * 1000000LL)	/* results every 10 s */
#define NV		NAN			/* metric not measured */

/* ---- tables ------------------------------------------------------------ */

struct rcase {
	const char	*name;
	enum rules_when	 when;
	uint64_t	 reasons;
	bool		 above;
	double		 enter, leave;
	int		 fire_after, of_last, resolve_after;
	int64_t		 for_ms, keep_for_ms, repeat_ms;
	double		 flap_high, flap_low;
	bool		 no_resolved;
	/* '.' ok, 'F' connect_refused, 'T' timeout, 'v' the next value */
	const char	*seq;
	const double	*values;
	/* per result: '-' nothing, P pending, C cancelled, F firing,
	 * R resolved, r repeat */
	const char	*events;
	const char	*flaps;		/* NULL: none; -, X start, S end */
	const char	*notify;	/* NULL: not checked; else '-' or 'n' */
};

#define REFUSED		(UINT64_C(1) << PROBE_CONNECT_REFUSED)

static const double v_above[] = { 0.9, 0.6, 0.4, 0.6, 0.9, 0.85 };
static const double v_below[] = { 30, 13, 15, 22, 14, 13.9 };
static const double v_gap[] = { 0.9, NV, NV, 0.1, NV };

static const struct rcase rcases[] = {
	{ "3 in a row fires, 2 in a row resolves", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, false,
	  "..FFF..F", NULL, "--P-F-RP", NULL, "----n-n-" },
	{ "an ok breaks a run of failures", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, false,
	  "FF.FF.FFF", NULL, "P-CP-CP-F", NULL, NULL },
	{ "3 of the last 5 fires on scattered failures", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 3, 5, 1, 0, 0, 0, 0, 0, false,
	  "F.F.F", NULL, "P---F", NULL, NULL },
	{ "a failure leaving the 5-window cancels pending", RULES_WHEN_FAILED,
	  0, false, 0, 0, 3, 5, 1, 0, 0, 0, 0, 0, false,
	  "F.....", NULL, "P----C", NULL, NULL },
	{ "2 of the last 64", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 2, 64, 1, 0, 0, 0, 0, 0, false,
	  "F..........F", NULL, "P----------F", NULL, NULL },
	{ "fire_after 1 goes straight to firing", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 3, 0, 0, 0, 0, 0, false,
	  "F..F...", NULL, "F-----R", NULL, NULL },
	{ "only the listed reason codes count", RULES_WHEN_FAILED, REFUSED,
	  false, 0, 0, 2, 2, 1, 0, 0, 0, 0, 0, false,
	  "FTFFT.", NULL, "PCPFR-", NULL, NULL },
	{ "for: pending until 25 s of violation", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 25000, 0, 0, 0, 0, false,
	  "FFFF.", NULL, "P--FR", NULL, NULL },
	{ "for: an ok while pending starts over", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 15000, 0, 0, 0, 0, false,
	  "FF.FFF", NULL, "P-CP-F", NULL, NULL },
	{ "keep_for: resolves 15 s after the first ok", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 0, 15000, 0, 0, 0, false,
	  "F...", NULL, "F--R", NULL, NULL },
	{ "repeat every 25 s while firing", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 0, 0, 25000, 0, 0, false,
	  "FFFFFFF.", NULL, "F--r--rR", NULL, "n--n--nn" },
	{ "send_resolved off: resolved is not notified", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, true,
	  "F.", NULL, "FR", NULL, "n-" },
	{ "above 0.8, clear below 0.5: the band holds", RULES_WHEN_METRIC, 0,
	  true, 0.8, 0.5, 1, 1, 1, 0, 0, 0, 0, 0, false,
	  "vvvvvv", v_above, "F-R-F-", NULL, NULL },
	{ "below 14, clear above 21 (days left)", RULES_WHEN_METRIC, 0,
	  false, 14, 21, 1, 1, 1, 0, 0, 0, 0, 0, false,
	  "vvvvvv", v_below, "-F-R-F", NULL, NULL },
	{ "an unmeasured value keeps the band's answer", RULES_WHEN_METRIC, 0,
	  true, 0.8, 0.5, 1, 1, 1, 0, 0, 0, 0, 0, false,
	  "vvvvv", v_gap, "F--R-", NULL, NULL },
	{ "a metric rule ignores the probe status", RULES_WHEN_METRIC, 0,
	  true, 0.8, 0.5, 1, 1, 1, 0, 0, 0, 0, 0, false,
	  "FFF", (const double[]){ 0.1, 0.2, 0.3 }, "---", NULL, NULL },
	{ "flapping starts at 30% and silences, ends below 25%",
	  RULES_WHEN_FAILED, 0, false, 0, 0, 1, 1, 1, 0, 0, 0, 30, 25, false,
	  "F.F.F.F.F" "................" "F", NULL,
	  "FRFRFRFRFR" "---------------" "F",
	  "------X" "-----------------" "S-",
	  "nnnnnnn" "-----------------" "nn" },
	{ "flap detection off", RULES_WHEN_FAILED, 0,
	  false, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, false,
	  "F.F.F.F.F.F.F.", NULL, "FRFRFRFRFRFRFR", "--------------",
	  "nnnnnnnnnnnnnn" },
};

static void
rcase_rule(const struct rcase *c, struct rule_conf *r)
{
	memset(r, 0, sizeof(*r));
	r->name = (char *)"t";
	r->when = c->when;
	r->reasons = c->reasons;
	r->metric = (char *)"duration";
	r->above = c->above;
	r->enter = c->enter;
	r->leave = c->leave;
	r->fire_after = c->fire_after;
	r->of_last = c->of_last;
	r->resolve_after = c->resolve_after;
	r->for_ms = c->for_ms;
	r->keep_for_ms = c->keep_for_ms;
	r->repeat_ms = c->repeat_ms;
	r->send_resolved = !c->no_resolved;
	r->flap_high = c->flap_high;
	r->flap_low = c->flap_low;
}

static char
event_char(enum rules_event ev)
{
	static const char chars[] = "-PCFRr";

	return chars[ev];
}

START_TEST(test_rules_table)
{
	const struct rcase	*c = &rcases[_i];
	struct rule_conf	 r;
	struct rule_state	 st;
	struct rules_transition	 tr;
	struct rules_input	 in;
	size_t			 i, n = strlen(c->seq), vi = 0;
	char			 ev[64], fl[64], nt[64];

	rcase_rule(c, &r);
	rules_state_init(&st, 0);
	for (i = 0; i < n; i++) {
		memset(&in, 0, sizeof(in));
		in.status = c->seq[i] == 'F' ? PROBE_CONNECT_REFUSED :
		    c->seq[i] == 'T' ? PROBE_TIMEOUT : PROBE_OK;
		if (c->values != NULL) {
			in.value = c->values[vi++];
			in.has_value = !isnan(in.value);
		}
		rules_eval(&r, &st, &in, (int64_t)i * STEP_US, &tr);
		ev[i] = event_char(tr.event);
		fl[i] = tr.flap == RULES_FLAP_START ? 'X' :
		    tr.flap == RULES_FLAP_END ? 'S' : '-';
		nt[i] = tr.notify ? 'n' : '-';
	}
	ev[n] = fl[n] = nt[n] = '\0';
	ck_assert_msg(strcmp(ev, c->events) == 0, "%s: events %s, want %s",
	    c->name, ev, c->events);
	if (c->flaps != NULL)
		ck_assert_msg(strcmp(fl, c->flaps) == 0, "%s: flaps %s, want "
		    "%s", c->name, fl, c->flaps);
	if (c->notify != NULL)
		ck_assert_msg(strcmp(nt, c->notify) == 0, "%s: notify %s, "
		    "want %s", c->name, nt, c->notify);
}
END_TEST

START_TEST(test_rules_flap_percent_weights)
{
	struct rule_state	st;

	memset(&st, 0, sizeof(st));
	st.nflap = RULES_FLAP_RESULTS;
	st.flap_hist = 0x155555;	/* alternating: 20 changes */
	ck_assert_double_eq_tol(rules_flap_percent(&st), 100.0, 1e-9);
	st.flap_hist = 0x1;		/* only the newest change: 1.2 */
	ck_assert_double_eq_tol(rules_flap_percent(&st), 6.0, 1e-9);
	st.flap_hist = 0x100000;	/* only the oldest change: 0.8 */
	ck_assert_double_eq_tol(rules_flap_percent(&st), 4.0, 1e-9);
	st.flap_hist = 0;
	ck_assert_double_eq_tol(rules_flap_percent(&st), 0.0, 1e-9);
}
END_TEST

/* ---- properties -------------------------------------------------------- */

/*
 * Check reports every passing ck_assert to the parent process, which is
 * slow in loops of thousands: the loops test with PROP_CHECK, which
 * reports only a failure.
 */
#define PROP_CHECK(cond, ...) do {					\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

#define PROP_RUNS	20	/* forks */
#define PROP_SEQS	200	/* seeded sequences per fork: 4,000 in all */
#define PROP_LEN	200

/* A small LCG so a seed gives the same sequences everywhere. */
static uint32_t
prop_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static void
prop_rule(uint64_t *seed, struct rule_conf *r)
{
	memset(r, 0, sizeof(*r));
	r->name = (char *)"p";
	r->when = RULES_WHEN_FAILED;
	r->fire_after = 1 + (int)(prop_rand(seed) % 8);
	r->of_last = r->fire_after + (int)(prop_rand(seed) % 10);
	r->resolve_after = 1 + (int)(prop_rand(seed) % 5);
	r->repeat_ms = prop_rand(seed) % 2 ? 45000 : 0;
	r->send_resolved = true;
	r->flap_high = prop_rand(seed) % 2 ? RULES_FLAP_HIGH : 0;
	r->flap_low = RULES_FLAP_LOW;
}

/*
 * Never fires before fire_after violations in the window since the last
 * reset; never resolves before resolve_after ok results in a row; always
 * fires once fire_after results in a row failed (no for); notifications
 * never exceed one per transition plus repeats and flap changes.
 */
static void
prop_debounce(int seq)
{
	uint64_t		 seed = 0x5eed0000ULL + (uint64_t)seq;
	struct rule_conf	 r;
	struct rule_state	 st;
	struct rules_transition	 tr;
	struct rules_input	 in;
	bool			 hist[PROP_LEN];
	int			 i, k, bad, since_reset, p, run, ntr, nnot;

	prop_rule(&seed, &r);
	rules_state_init(&st, 0);
	p = 1 + (int)(prop_rand(&seed) % 99);	/* failure percent */
	since_reset = 0;
	run = ntr = nnot = 0;
	for (i = 0; i < PROP_LEN; i++) {
		memset(&in, 0, sizeof(in));
		hist[i] = (int)(prop_rand(&seed) % 100) < p;
		in.status = hist[i] ? PROBE_TIMEOUT : PROBE_OK;
		run = hist[i] ? run + 1 : 0;
		since_reset++;
		rules_eval(&r, &st, &in, (int64_t)i * STEP_US, &tr);
		if (tr.event == RULES_EV_FIRING) {
			for (bad = 0, k = 0; k < r.of_last && k < since_reset;
			    k++)
				bad += hist[i - k];
			PROP_CHECK(bad >= r.fire_after, "seed %d step %d: "
			    "fired with %d of %d", seq, i, bad, r.fire_after);
		}
		if (tr.event == RULES_EV_RESOLVED)
			for (k = 0; k < r.resolve_after; k++)
				PROP_CHECK(i - k >= 0 && !hist[i - k],
				    "seed %d step %d: resolved early", seq, i);
		if (tr.event == RULES_EV_FIRING ||
		    tr.event == RULES_EV_RESOLVED)
			since_reset = 0;
		if (run >= r.fire_after && i > 0)
			PROP_CHECK(st.state == RULES_FIRING, "seed %d step "
			    "%d: %d failures in a row, not firing", seq, i,
			    run);
		if (tr.event == RULES_EV_FIRING ||
		    tr.event == RULES_EV_RESOLVED ||
		    tr.event == RULES_EV_REPEAT || tr.flap != RULES_FLAP_NONE)
			ntr++;
		nnot += tr.notify;
		PROP_CHECK(nnot <= ntr, "seed %d step %d: %d notifications "
		    "for %d transitions", seq, i, nnot, ntr);
		PROP_CHECK(!(tr.notify && st.flapping &&
		    tr.flap == RULES_FLAP_NONE), "seed %d step %d: notified "
		    "while flapping", seq, i);
	}
}

START_TEST(test_rules_property_debounce)
{
	int	seq;

	for (seq = 0; seq < PROP_SEQS; seq++)
		prop_debounce(_i * PROP_SEQS + seq);
}
END_TEST

/* A metric that stays inside the band never changes anything. */
static void
prop_band(int seq)
{
	uint64_t		 seed = 0xba0d0000ULL + (uint64_t)seq;
	struct rule_conf	 r;
	struct rule_state	 st;
	struct rules_transition	 tr;
	struct rules_input	 in;
	enum rules_state	 before;
	int			 i;

	memset(&r, 0, sizeof(r));
	r.when = RULES_WHEN_METRIC;
	r.metric = (char *)"duration";
	r.above = seq % 2 == 0;
	r.enter = r.above ? 0.8 : 14;
	r.leave = r.above ? 0.5 : 21;
	r.fire_after = r.of_last = 1 + (int)(prop_rand(&seed) % 4);
	r.resolve_after = 1 + (int)(prop_rand(&seed) % 4);
	r.repeat_ms = 0;
	r.flap_high = RULES_FLAP_HIGH;
	r.flap_low = RULES_FLAP_LOW;
	rules_state_init(&st, 0);
	/* Settle outside the band, firing or ok. */
	for (i = 0; i < 10; i++) {
		in.status = PROBE_OK;
		in.has_value = true;
		in.value = (prop_rand(&seed) % 2 == 0) == r.above ? 100 : -100;
		if (i > 0)
			in.value = st.violating == r.above ? 100 : -100;
		rules_eval(&r, &st, &in, (int64_t)i * STEP_US, &tr);
	}
	before = st.state;
	ck_assert(before == RULES_OK || before == RULES_FIRING);
	for (i = 10; i < 10 + PROP_LEN; i++) {
		in.value = r.above ? 0.5 + 0.3 * (prop_rand(&seed) % 1001) /
		    1000.0 : 14 + 7 * (prop_rand(&seed) % 1001) / 1000.0;
		PROP_CHECK(!rules_eval(&r, &st, &in, (int64_t)i * STEP_US,
		    &tr) && st.state == before, "seed %d step %d: %g inside "
		    "the band moved the alert", seq, i, in.value);
	}
}

START_TEST(test_rules_property_band)
{
	int	seq;

	for (seq = 0; seq < PROP_SEQS; seq++)
		prop_band(_i * PROP_SEQS + seq);
}
END_TEST

/* ---- matching ---------------------------------------------------------- */

START_TEST(test_rules_match_globs_labels_metrics)
{
	struct config_label	 cl[] = { { (char *)"team", (char *)"core" } };
	struct config_label	 rl[] = { { (char *)"team", (char *)"co*" } };
	struct check_conf	 ck;
	struct rule_conf	 r;
	char			*globs[] = { (char *)"api-*", (char *)"db" };

	memset(&ck, 0, sizeof(ck));
	ck.name = (char *)"api-eu";
	ck.ops = probe_find("tcp");
	memset(&r, 0, sizeof(r));
	ck_assert(rules_match(&r, &ck));		/* no globs: all */
	r.checks = globs;
	r.nchecks = 2;
	ck_assert(rules_match(&r, &ck));
	ck.name = (char *)"web";
	ck_assert(!rules_match(&r, &ck));
	ck.name = (char *)"db";
	r.labels = rl;
	r.nlabels = 1;
	ck_assert(!rules_match(&r, &ck));		/* no labels */
	ck.labels = cl;
	ck.nlabels = 1;
	ck_assert(rules_match(&r, &ck));
	r.when = RULES_WHEN_METRIC;
	r.metric = (char *)"phase.connect";
	ck_assert(rules_match(&r, &ck));
	r.metric = (char *)"http.status";		/* not a tcp metric */
	ck_assert(!rules_match(&r, &ck));
}
END_TEST

START_TEST(test_rules_silence_windows)
{
	struct silence_weekly	w[] = {
		{ 0x41, 2 * 60, 4 * 60 },	/* sat,sun 02:00-04:00 */
		{ 0x3e, 22 * 60, 6 * 60 },	/* mon-fri 22:00-06:00 */
	};
	struct silence_conf	s;
	/* 2026-11-28 is a Saturday; times in UTC. */
	int64_t			sat = 1795824000LL * 1000000;

	setenv("TZ", "UTC", 1);
	tzset();
	memset(&s, 0, sizeof(s));
	s.weekly = w;
	s.nweekly = 1;
	ck_assert(!rules_silence_active(&s, sat + 3600LL * 1000000));
	ck_assert(rules_silence_active(&s, sat + 3 * 3600LL * 1000000));
	ck_assert(!rules_silence_active(&s, sat + 4 * 3600LL * 1000000));
	s.weekly = &w[1];
	/* Friday 23:00 and Saturday 05:00 (the morning after a listed day). */
	ck_assert(rules_silence_active(&s, sat - 3600LL * 1000000));
	ck_assert(rules_silence_active(&s, sat + 5 * 3600LL * 1000000));
	ck_assert(!rules_silence_active(&s, sat + 23 * 3600LL * 1000000));
	s.nweekly = 0;
	s.from = sat;
	s.until = sat + 60 * 1000000LL;
	ck_assert(!rules_silence_active(&s, sat - 1));
	ck_assert(rules_silence_active(&s, sat));
	ck_assert(!rules_silence_active(&s, sat + 60 * 1000000LL));
}
END_TEST

/* ---- config ------------------------------------------------------------ */

#define CHECKS \
	"checks = (\n" \
	"  { name = \"api\"; type = \"tcp\"; host = \"127.0.0.1\"; " \
	"port = 1; labels = { team = \"core\"; }; },\n" \
	"  { name = \"uplink\"; type = \"tcp\"; host = \"127.0.0.1\"; " \
	"port = 2; }\n);\n"

static struct config *
load_in(const char *dir, const char *text, struct config_errors *errs)
{
	char		*path;
	struct config	*cfg;

	path = testutil_write_file(dir, "sonde.conf", text);
	memset(errs, 0, sizeof(*errs));
	cfg = config_load(path, errs);
	free(path);
	return cfg;
}

static struct config *
load(const char *text, struct config_errors *errs)
{
	return load_in(testutil_tmpdir(), text, errs);
}

START_TEST(test_rules_conf_good)
{
	struct config_errors	 errs;
	struct config		*cfg;
	const struct rule_conf	*r;

	cfg = load("agent = { digest_threshold = 3; digest_window = \"30s\"; "
	    "};\n" CHECKS
	    "rules = (\n"
	    "  { name = \"down\"; checks = [\"*\"]; when = \"failed\";\n"
	    "    reasons = [\"connect_refused\", \"timeout\"];\n"
	    "    fire_after = 3; of_last = 5; resolve_after = 2;\n"
	    "    severity = \"critical\"; notify = [\"log\"];\n"
	    "    repeat = \"4h\";\n"
	    "    depends_on = [\"uplink\"]; },\n"
	    "  { name = \"slow\"; checks = [\"api\"]; metric = \"duration\";\n"
	    "    above = \"800ms\"; clear_below = \"500ms\"; for = \"1m\";\n"
	    "    keep_for = \"2m\"; send_resolved = false; flap_high = 50;\n"
	    "    flap_low = 40; severity = \"warning\"; }\n"
	    ");\n"
	    "silences = ( { checks = [\"api\"]; weekly = [\"sun "
	    "02:00-04:00\"]; comment = \"backups\"; } );\n", &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_int_eq(cfg->nrules, 2);
	ck_assert_int_eq(cfg->agent.digest_threshold, 3);
	ck_assert_int_eq(cfg->agent.digest_window_ms, 30000);
	r = &cfg->rules[0];
	ck_assert_str_eq(r->name, "down");
	ck_assert(r->reasons == ((UINT64_C(1) << PROBE_CONNECT_REFUSED) |
	    (UINT64_C(1) << PROBE_TIMEOUT)));
	ck_assert_int_eq(r->of_last, 5);
	ck_assert_int_eq(r->repeat_ms, 4 * 3600 * 1000);
	ck_assert_str_eq(r->depends_on[0], "uplink");
	ck_assert(r->send_resolved);
	r = &cfg->rules[1];
	ck_assert_int_eq(r->when, RULES_WHEN_METRIC);
	ck_assert(r->above);
	ck_assert_double_eq_tol(r->enter, 0.8, 1e-9);
	ck_assert_double_eq_tol(r->leave, 0.5, 1e-9);
	ck_assert_int_eq(r->of_last, 3);
	ck_assert_int_eq(r->for_ms, 60000);
	ck_assert_int_eq(r->keep_for_ms, 120000);
	ck_assert(!r->send_resolved);
	ck_assert_int_eq(r->severity, RULES_SEV_WARNING);
	ck_assert_str_eq(r->notify[0], "log");
	ck_assert_int_eq(cfg->nsilences, 1);
	ck_assert_int_eq(cfg->silences[0].weekly[0].days, 1);
	ck_assert_int_eq(cfg->silences[0].weekly[0].start, 120);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

START_TEST(test_rules_conf_default_rule)
{
	struct config_errors	 errs;
	struct config		*cfg;

	cfg = load(CHECKS, &errs);
	ck_assert(cfg != NULL);
	ck_assert_int_eq(cfg->nrules, 1);
	ck_assert_str_eq(cfg->rules[0].name, RULES_DEFAULT_NAME);
	ck_assert_int_eq(cfg->rules[0].fire_after, 3);
	ck_assert_int_eq(cfg->rules[0].resolve_after, 2);
	ck_assert_int_eq(cfg->rules[0].nchecks, 0);
	config_errors_free(&errs);
	config_unref(cfg);
}
END_TEST

static const struct {
	const char	*name;
	const char	*text;		/* after CHECKS (5 lines) */
	const char	*want;
} bad_confs[] = {
	{ "unknown channel",
	  "rules = ( { name = \"a\"; notify = [\"log\", \"slack\"]; } );\n",
	  "sonde.conf:5: unknown channel 'slack' (configured channels: log)" },
	{ "unknown reason code",
	  "rules = ( { name = \"a\"; reasons = [\"refused\"]; } );\n",
	  "sonde.conf:5: unknown reason code 'refused' (see sonde.conf(5), "
	  "REASON CODES)" },
	{ "unknown metric",
	  "rules = ( { name = \"a\"; metric = \"durration\"; above = 1; } );\n",
	  "sonde.conf:5: unknown metric 'durration' (duration, "
	  "phase.<resolve|connect|tls|processing|transfer|request>, or a "
	  "kind's own such as tls.days_left)" },
	{ "of_last below fire_after",
	  "rules = ( { name = \"a\"; fire_after = 4; of_last = 3; } );\n",
	  "sonde.conf:5: 'of_last' (3) must be at least 'fire_after' (4)" },
	{ "of_last over 64",
	  "rules = ( { name = \"a\"; of_last = 65; } );\n",
	  "sonde.conf:5: 'of_last' must be between 1 and 64, got 65" },
	{ "metric with both above and below",
	  "rules = ( { name = \"a\"; metric = \"duration\"; above = 1;\n"
	  "  below = 0.5; } );\n",
	  "sonde.conf:5: rule 'a': a metric needs exactly one of 'above' or "
	  "'below'" },
	{ "clear_below above the threshold",
	  "rules = ( { name = \"a\"; metric = \"duration\"; above = \"1s\";\n"
	  "  clear_below = \"2s\"; } );\n",
	  "sonde.conf:6: 'clear_below' (2) must not exceed 'above' (1)" },
	{ "clear_above with above",
	  "rules = ( { name = \"a\"; metric = \"duration\"; above = 1;\n"
	  "  clear_above = 2; } );\n",
	  "sonde.conf:6: rule 'a': 'clear_above' goes with 'below'; with "
	  "'above' use 'clear_below'" },
	{ "depends_on an unknown check",
	  "rules = ( { name = \"a\"; depends_on = [\"uplnk\"]; } );\n",
	  "sonde.conf:5: rule 'a': depends_on names check 'uplnk', which does "
	  "not exist" },
	{ "duplicate rule name",
	  "rules = ( { name = \"a\"; },\n  { name = \"a\"; } );\n",
	  "sonde.conf:6: duplicate rule name 'a' (first defined at " },
	{ "unknown rule key",
	  "rules = ( { name = \"a\"; fire_afterr = 2; } );\n",
	  "sonde.conf:5: unknown key 'fire_afterr' in rule (did you mean "
	  "'fire_after'?)" },
	{ "empty checks list",
	  "rules = ( { name = \"a\"; checks = []; } );\n",
	  "sonde.conf:5: 'checks' is empty; name checks or globs, or leave it "
	  "out for every check" },
	{ "silence without a window",
	  "silences = ( { checks = [\"api\"]; } );\n",
	  "sonde.conf:5: a silence needs 'from'/'until' or 'weekly' windows" },
	{ "bad weekly window",
	  "silences = ( { weekly = [\"sunday 2-4\"]; } );\n",
	  "sonde.conf:5: weekly window \"sunday 2-4\" must look like "
	  "\"sat,sun 02:00-04:00\" or \"mon-fri 22:00-06:00\" (local time)" },
	{ "bad timestamp",
	  "silences = ( { from = \"tomorrow\"; } );\n",
	  "sonde.conf:5: 'from' must be a UTC time such as "
	  "\"2026-11-28T02:00:00Z\", got \"tomorrow\"" },
	{ "rules in an include are refused",
	  "agent = { include = [\"r.conf\"]; };\n",
	  "r.conf:1: 'rules' is only allowed in the main config file" },
};

START_TEST(test_rules_conf_errors)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			*text, *inc;
	size_t			 i;
	bool			 found = false;
	const char		*dir = testutil_tmpdir();

	inc = testutil_write_file(dir, "r.conf", "rules = ();\n");
	free(inc);
	text = xasprintf(CHECKS "%s", bad_confs[_i].text);
	cfg = load_in(dir, text, &errs);
	ck_assert_msg(cfg == NULL, "%s: loaded", bad_confs[_i].name);
	/* Lines are "<tmpdir>/sonde.conf:6: ..." */
	for (i = 0; i < errs.count; i++) {
		const char	*at = strstr(errs.lines[i], bad_confs[_i].want);

		if (at != NULL && at > errs.lines[i] && at[-1] == '/')
			found = true;
	}
	ck_assert_msg(found, "%s: want '%s', got '%s' (%zu errors)",
	    bad_confs[_i].name, bad_confs[_i].want,
	    errs.count ? errs.lines[0] : "", errs.count);
	free(text);
	config_errors_free(&errs);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc;

	tc = tcase_create("tables");
	tcase_add_loop_test(tc, test_rules_table, 0,
	    sizeof(rcases) / sizeof(rcases[0]));
	tcase_add_test(tc, test_rules_flap_percent_weights);
	suite_add_tcase(s, tc);
	tc = tcase_create("properties");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_rules_property_debounce, 0, PROP_RUNS);
	tcase_add_loop_test(tc, test_rules_property_band, 0, PROP_RUNS);
	suite_add_tcase(s, tc);
	tc = tcase_create("matching");
	tcase_add_test(tc, test_rules_match_globs_labels_metrics);
	tcase_add_test(tc, test_rules_silence_windows);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, test_rules_conf_good);
	tcase_add_test(tc, test_rules_conf_default_rule);
	tcase_add_loop_test(tc, test_rules_conf_errors, 0,
	    sizeof(bad_confs) / sizeof(bad_confs[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(rules_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
