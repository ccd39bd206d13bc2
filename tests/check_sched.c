/* SPDX-License-Identifier: ISC */
/*
 * Tests for sched: first-run spreading, the fixed grid, no overlap, the
 * in-flight cap, deadlines, run_once, reloads and the counters.  Checks use
 * a recording fake kind whose probes answer after a set delay (or never),
 * and time is a fake clock moved by the test: no network, no sleeping.
 */
#include "autoconf.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hist.h"
#include "loop.h"
#include "probe.h"
#include "sched.h"
#include "testutil.h"
#include "xmalloc.h"

#define MS		INT64_C(1000)
#define SEC		INT64_C(1000000)
#define T0		(1000 * SEC)
#define MAX_EVENTS	8192
#define NEVER		(-1)

/* A fake check's kind_conf: what its probes do. */
struct fake_conf {
	int64_t	delay;		/* µs from start to result; NEVER */
	int	fail_start;	/* start() returns -1 */
	int	active;		/* runs in flight now */
	bool	handshakes;	/* as a tls check: off the grid */
};

/* A fake probe's run->priv. */
struct fake_probe {
	struct loop_timer	 timer;
	struct probe_run	*run;
};

struct event {
	char			name[32];
	int64_t			at;
	enum probe_status	status;
	char			message[PROBE_MESSAGE_MAX];
};

static struct loop		*lp;
static struct sched		*sc;
static struct testutil_clock	 clk;
static struct event		 starts[MAX_EVENTS], results[MAX_EVENTS];
static size_t			 nstarts, nresults;
static int			 naborts, nexpires, active, max_active;
static int			 stop_in_callback;

static void
fake_release(struct probe_run *run)
{
	struct fake_probe	*fp = run->priv;
	struct fake_conf	*fc = run->check->kind_conf;

	loop_timer_cancel(run->loop, &fp->timer);
	free(fp);
	run->priv = NULL;
	fc->active--;
	active--;
}

static void
fake_answer(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct fake_probe	*fp = arg;
	struct probe_run	*run = fp->run;

	fake_release(run);
	probe_result_set(&run->result, PROBE_OK, "fake: answered");
	probe_run_done(run);
}

static int
fake_start(struct probe_run *run)
{
	struct fake_conf	*fc = run->check->kind_conf;
	struct fake_probe	*fp;
	struct event		*ev;

	ck_assert_uint_lt(nstarts, MAX_EVENTS);
	ev = &starts[nstarts++];
	snprintf(ev->name, sizeof(ev->name), "%s", run->check->name);
	ev->at = loop_now(run->loop);
	if (fc->fail_start) {
		probe_result_set(&run->result, PROBE_CONNECT_FAILED,
		    "fake: cannot start");
		return -1;
	}
	ck_assert_msg(fc->active == 0, "%s overlaps itself", ev->name);
	fc->active++;
	if (++active > max_active)
		max_active = active;
	fp = xcalloc(1, sizeof(*fp));
	fp->run = run;
	run->priv = fp;
	loop_timer_init(&fp->timer, fake_answer, fp);
	if (fc->delay != NEVER)
		loop_timer_at(run->loop, &fp->timer, ev->at + fc->delay);
	return 0;
}

static void
fake_expire(struct probe_run *run)
{
	fake_release(run);
	nexpires++;
	probe_result_set(&run->result, PROBE_CONNECT_TIMEOUT,
	    "fake: no answer");
}

static void
fake_abort(struct probe_run *run)
{
	fake_release(run);
	naborts++;
}

static bool
fake_handshakes(const void *kind_conf)
{
	const struct fake_conf	*fc = kind_conf;

	return fc->handshakes;
}

static const struct probe_ops fake_ops = {
	.kind = "fake",
	.start = fake_start,
	.expire = fake_expire,
	.abort = fake_abort,
	.handshakes = fake_handshakes,
};

static void
on_result(const struct check_conf *check, const struct probe_result *res,
    void *arg)
{
	struct event	*ev;

	ck_assert_uint_lt(nresults, MAX_EVENTS);
	ev = &results[nresults++];
	snprintf(ev->name, sizeof(ev->name), "%s", check->name);
	ev->at = loop_now(lp);
	ev->status = res->status;
	snprintf(ev->message, sizeof(ev->message), "%s", res->message);
	if (stop_in_callback)
		sched_stop(sc);
}

/* n checks "<prefix>-<i>", built by hand: no config_load(). */
static struct config *
cfg_new(const char *prefix, size_t n, int64_t interval_ms, int64_t delay)
{
	struct config		*cfg;
	struct check_conf	*c;
	struct fake_conf	*fc;
	size_t			 i;

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->refs = 1;
	cfg->checks = xcalloc(n, sizeof(*cfg->checks));
	cfg->nchecks = n;
	for (i = 0; i < n; i++) {
		c = &cfg->checks[i];
		c->name = xasprintf("%s-%zu", prefix, i);
		c->ops = &fake_ops;
		c->interval_ms = interval_ms;
		c->timeout_ms = interval_ms;
		fc = xcalloc(1, sizeof(*fc));
		fc->delay = delay;
		c->kind_conf = fc;
	}
	return cfg;
}

/* Frees a hand-built config; the scheduler must have let go of it. */
static void
cfg_free(struct config *cfg)
{
	size_t	i;

	ck_assert_int_eq(cfg->refs, 1);
	for (i = 0; i < cfg->nchecks; i++) {
		free(cfg->checks[i].name);
		free(cfg->checks[i].kind_conf);
	}
	free(cfg->checks);
	free(cfg);
}

static struct fake_conf *
fake(struct config *cfg, size_t i)
{
	return cfg->checks[i].kind_conf;
}

static int64_t
offset_of(const struct config *cfg, size_t i)
{
	return sched_first_offset(cfg->checks[i].name,
	    cfg->checks[i].interval_ms * MS);
}

/* One loop iteration at time t. */
static void
run_at(int64_t t)
{
	ck_assert_int_ge(t, clk.now);
	clk.now = t;
	loop_run_once(lp, 0);
}

/* Moves the clock to t in steps of at most step, iterating at each. */
static void
run_until(int64_t t, int64_t step)
{
	while (clk.now < t)
		run_at(clk.now + step < t ? clk.now + step : t);
}

static size_t
count_named(const struct event *evs, size_t n, const char *name)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (strcmp(evs[i].name, name) == 0)
			k++;
	return k;
}

/* Returns the k-th event for name, or fails the test. */
static const struct event *
nth_named(const struct event *evs, size_t n, const char *name, size_t k)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(evs[i].name, name) == 0 && k-- == 0)
			return &evs[i];
	ck_abort_msg("no event %zu for %s", k, name);
	return NULL;
}

static void
setup(void)
{
	lp = loop_new();
	clk.now = T0;
	testutil_fake_clock_install(lp, &clk);
	sc = sched_new(lp, NULL, on_result, NULL);
	nstarts = nresults = 0;
	naborts = nexpires = active = max_active = 0;
	stop_in_callback = 0;
}

static void
teardown(void)
{
	sched_free(sc);
	loop_run_once(lp, 0);		/* deferred frees */
	loop_free(lp);
}

/* ---- the hash ---------------------------------------------------------- */

/*
 * These values fix every deployment's schedule: if this test fails, the
 * change moves each check's first run (and so its phase) on every host.
 */
START_TEST(test_sched_hash_stable)
{
	ck_assert_uint_eq(sched_hash(""), UINT64_C(0xcbf29ce484222325));
	ck_assert_uint_eq(sched_hash("a"), UINT64_C(0xaf63dc4c8601ec8c));
	ck_assert_uint_eq(sched_hash("foobar"), UINT64_C(0x85944171f73967e8));
	ck_assert_uint_eq(sched_hash("api"), UINT64_C(0xe74fc019056aae07));
	ck_assert_uint_eq(sched_hash("edge-fra-1/check-42"),
	    UINT64_C(0x7a09454e370bff48));
	ck_assert_int_eq(sched_first_offset("api", 30 * SEC), 9087879);
	ck_assert_int_eq(sched_first_offset("db", 30 * SEC), 8790371);
	ck_assert_int_eq(sched_first_offset("edge-fra-1/check-42", 15 * SEC),
	    5902856);
	ck_assert_int_eq(sched_first_offset("api", 0), 0);
	ck_assert_int_eq(sched_first_offset("api", 1), 0);
}
END_TEST

START_TEST(test_sched_offsets_spread)
{
	const int64_t	interval = 30 * SEC;
	int		tenth[10] = { 0 };
	char		name[32];
	int64_t		off;
	int		i;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "check-%d", i);
		off = sched_first_offset(name, interval);
		ck_assert_int_ge(off, 0);
		ck_assert_int_lt(off, interval);
		ck_assert_int_eq(off, sched_first_offset(name, interval));
		tenth[off / (interval / 10)]++;
	}
	for (i = 0; i < 10; i++)
		ck_assert_msg(tenth[i] >= 60 && tenth[i] <= 140,
		    "tenth %d of the interval got %d of 1000", i, tenth[i]);
}
END_TEST

/* ---- the periodic schedule --------------------------------------------- */

/* Runs i's first slot at exactly `at`, not a microsecond before. */
static void
expect_first_run(const struct config *cfg, size_t i, int64_t at)
{
	const char	*name = cfg->checks[i].name;
	size_t		 before = count_named(starts, nstarts, name);

	run_at(at - 1);
	ck_assert_uint_eq(count_named(starts, nstarts, name), before);
	run_at(at);
	ck_assert_uint_eq(count_named(starts, nstarts, name), before + 1);
	ck_assert_int_eq(nth_named(starts, nstarts, name, before)->at, at);
}

static int64_t	sort_offsets[64];

static int
cmp_by_offset(const void *a, const void *b)
{
	int64_t	x = sort_offsets[*(const size_t *)a];
	int64_t	y = sort_offsets[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

/* Returns in order[] the checks of cfg sorted by first offset. */
static void
by_offset(const struct config *cfg, size_t *order)
{
	size_t	i;

	ck_assert_uint_le(cfg->nchecks, 64);
	for (i = 0; i < cfg->nchecks; i++) {
		sort_offsets[i] = offset_of(cfg, i);
		order[i] = i;
	}
	qsort(order, cfg->nchecks, sizeof(*order), cmp_by_offset);
}

START_TEST(test_sched_first_runs_at_offsets)
{
	struct config	*cfg = cfg_new("check", 40, 10000, 1 * MS);
	size_t		 order[40], i;
	int64_t		 t1;

	by_offset(cfg, order);
	sched_set_config(sc, cfg);
	for (i = 0; i < 40; i++)
		expect_first_run(cfg, order[i], T0 + offset_of(cfg, order[i]));
	ck_assert_uint_eq(nstarts, 40);

	/* Stopped and installed again later, each check keeps its offset. */
	t1 = T0 + 25 * SEC + 123;
	run_until(t1, 100 * MS);
	sched_stop(sc);
	sched_set_config(sc, cfg);
	nstarts = 0;
	for (i = 0; i < 40; i++)
		expect_first_run(cfg, order[i], t1 + offset_of(cfg, order[i]));
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/*
 * A loop that is always a little late (7 ms steps against a 1 s interval)
 * must not push the schedule back: run k starts within one step of
 * first + k * interval, however large k gets.
 */
START_TEST(test_sched_fixed_grid_no_drift)
{
	struct config		*cfg = cfg_new("grid", 3, 1000, 300 * MS);
	const struct event	*ev;
	struct sched_stats	 st;
	int64_t			 due;
	size_t			 i, k;

	sched_set_config(sc, cfg);
	run_until(T0 + 100 * SEC, 7 * MS);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(count_named(starts, nstarts,
		    cfg->checks[i].name), 100);
		for (k = 0; k < 100; k++) {
			ev = nth_named(starts, nstarts, cfg->checks[i].name, k);
			due = T0 + offset_of(cfg, i) + (int64_t)k * SEC;
			ck_assert_int_ge(ev->at, due);
			ck_assert_int_lt(ev->at, due + 7 * MS);
		}
	}
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_lt(st.lag.max, 7 * MS);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/*
 * schedule_grid: the first due is the hashed offset moved up to the grid,
 * by less than one step, and only when the interval is whole steps.
 */
START_TEST(test_sched_first_due_on_grid)
{
	static const char *const names[] = { "api", "db", "edge-fra-1/x",
	    "c17", "" };
	int64_t	now = T0 + 123457, off, due;
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		off = sched_first_offset(names[i], 5 * SEC);
		ck_assert_int_eq(sched_first_due(now, names[i], 5 * SEC, 0),
		    now + off);
		due = sched_first_due(now, names[i], 5 * SEC, 50 * MS);
		ck_assert_int_eq(due % (50 * MS), 0);
		ck_assert_int_ge(due, now + off);
		ck_assert_int_lt(due, now + off + 50 * MS);
		/* 5.03 s is not whole 50 ms steps: no rounding. */
		ck_assert_int_eq(sched_first_due(now, names[i], 5030 * MS,
		    50 * MS), now + sched_first_offset(names[i], 5030 * MS));
	}
}
END_TEST

/*
 * 200 checks every second on a 50 ms grid: every run starts on the grid,
 * at most 20 distinct start times a second, each check exactly a second
 * after its previous run, and the lag stays what it was.
 */
START_TEST(test_sched_grid_runs_together)
{
	struct config		*cfg = cfg_new("g", 200, 1000, 2 * MS);
	const struct event	*ev, *prev;
	struct sched_stats	 st;
	int64_t			 distinct[64];
	size_t			 i, j, k, nd = 0;

	cfg->agent.schedule_grid_ms = 50;
	sched_set_config(sc, cfg);
	run_until(T0 + 3 * SEC + 100 * MS, 1 * MS);
	for (i = 0; i < nstarts; i++) {
		ck_assert_int_eq(starts[i].at % (50 * MS), 0);
		if (starts[i].at >= T0 + SEC)
			continue;
		for (j = 0; j < nd && distinct[j] != starts[i].at; j++)
			;
		if (j == nd)
			distinct[nd++] = starts[i].at;
	}
	ck_assert_uint_le(nd, 20);
	for (i = 0; i < cfg->nchecks; i++)
		for (k = 1; k < 3; k++) {
			prev = nth_named(starts, nstarts, cfg->checks[i].name,
			    k - 1);
			ev = nth_named(starts, nstarts, cfg->checks[i].name, k);
			ck_assert_int_eq(ev->at - prev->at, SEC);
		}
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(st.lag.max, 0);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

static int
cmp_time(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The handshakes' grid: whole ms dividing the grid, <= 5 a step. */
START_TEST(test_sched_handshake_grid)
{
	static const struct {
		int64_t	grid;
		int64_t	per_s;		/* handshakes a second, x 1,000 */
		int64_t	want;
	} cases[] = {
		{ 50 * MS, 0, 50 * MS },
		{ 50 * MS, 100000, 50 * MS },	/* 5 a step: the grid */
		{ 50 * MS, 100001, 25 * MS },
		{ 50 * MS, 400000, 10 * MS },
		{ 50 * MS, 1000000, 5 * MS },	/* 10,000 checks at 10 s */
		{ 50 * MS, 2500000, 2 * MS },
		{ 50 * MS, 100000000, 1 * MS },	/* never below 1 ms */
		{ 1000 * MS, 1000000, 5 * MS },
		{ 40 * MS, 1000000, 5 * MS },
		{ 7 * MS, 1000000, 1 * MS },	/* 7 is prime */
		{ 0, 1000000, 0 },		/* no grid, none for them */
		{ 1500, 1000000, 1500 },	/* not whole ms: untouched */
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(sched_handshake_grid(cases[i].grid,
		    cases[i].per_s) == cases[i].want, "case %zu: %lld", i,
		    (long long)sched_handshake_grid(cases[i].grid,
		    cases[i].per_s));
}
END_TEST

/*
 * Drives the first two runs of every check of cfg at exactly want[i] and
 * want[i] + interval (all intervals 1 s or all 5 s, given) and asserts
 * that each started then, not a µs off.
 */
static void
expect_two_runs(struct config *cfg, const int64_t *want, int64_t interval)
{
	int64_t		*times;
	size_t		 i, k, n = 0;
	const char	*name;

	times = xcalloc(2 * cfg->nchecks, sizeof(*times));
	for (i = 0; i < cfg->nchecks; i++) {
		times[n++] = want[i];
		times[n++] = want[i] + interval;
	}
	qsort(times, n, sizeof(times[0]), cmp_time);
	sched_set_config(sc, cfg);
	for (i = 0; i < n; i++) {
		if (i > 0 && times[i] == times[i - 1])
			continue;
		/* A µs before: nothing due at or after times[i] started. */
		run_at(times[i] - 1);
		ck_assert_uint_eq(nstarts, i);
		run_at(times[i]);
	}
	ck_assert_uint_eq(nstarts, n);
	for (i = 0; i < cfg->nchecks; i++) {
		name = cfg->checks[i].name;
		ck_assert_uint_eq(count_named(starts, nstarts, name), 2);
		for (k = 0; k < 2; k++)
			ck_assert_int_eq(nth_named(starts, nstarts, name,
			    k)->at, want[i] + (int64_t)k * interval);
	}
	free(times);
}

/*
 * 400 checks whose runs are TLS handshakes every second and 40 that are
 * not, on a 50 ms grid: the handshakes start on a 10 ms grid (4 a step,
 * not 20), the others stay on the 50 ms one, and both keep their period.
 */
START_TEST(test_sched_handshakes_finer_grid)
{
	struct config	*cfg = cfg_new("hs", 440, 1000, 2 * MS);
	int64_t		*want;
	size_t		 i, off_coarse = 0;

	want = xcalloc(cfg->nchecks, sizeof(*want));
	cfg->agent.schedule_grid_ms = 50;
	for (i = 0; i < cfg->nchecks; i++) {
		fake(cfg, i)->handshakes = i >= 40;
		want[i] = sched_first_due(T0, cfg->checks[i].name, SEC,
		    i >= 40 ? 10 * MS : 50 * MS);
		if (i >= 40 && want[i] % (50 * MS) != 0)
			off_coarse++;
	}
	/* Else the test proves nothing: 4 in 5 should be off 50 ms. */
	ck_assert_uint_ge(off_coarse, 250);
	expect_two_runs(cfg, want, SEC);
	sched_stop(sc);
	free(want);
	cfg_free(cfg);
}
END_TEST

/*
 * 500 handshaking checks every 5 s are 100 a second, exactly 5 a 50 ms
 * step: they keep the whole grid (a float sum once made it 100.0000001
 * a second, and the grid 25 ms).
 */
START_TEST(test_sched_handshakes_keep_grid_at_limit)
{
	struct config	*cfg = cfg_new("tls", 500, 5000, 2 * MS);
	int64_t		*want;
	size_t		 i, off_fine = 0;

	want = xcalloc(cfg->nchecks, sizeof(*want));
	cfg->agent.schedule_grid_ms = 50;
	for (i = 0; i < cfg->nchecks; i++) {
		fake(cfg, i)->handshakes = true;
		want[i] = sched_first_due(T0, cfg->checks[i].name, 5 * SEC,
		    50 * MS);
		if (sched_first_due(T0, cfg->checks[i].name, 5 * SEC,
		    25 * MS) != want[i])
			off_fine++;
	}
	ck_assert_uint_ge(off_fine, 150);
	expect_two_runs(cfg, want, 5 * SEC);
	sched_stop(sc);
	free(want);
	cfg_free(cfg);
}
END_TEST

/*
 * A stalled loop runs the overdue slot once, late, then skips the slots it
 * missed instead of bursting, and goes back to the grid.
 */
START_TEST(test_sched_stall_skips_missed_slots)
{
	struct config		*cfg = cfg_new("stall", 1, 1000, 100 * MS);
	int64_t			 due = T0 + offset_of(cfg, 0);
	struct sched_stats	 st;

	sched_set_config(sc, cfg);
	run_at(due);
	run_at(due + 5 * SEC + 500 * MS);	/* stalled 5.5 intervals */
	ck_assert_uint_eq(nstarts, 2);
	ck_assert_int_eq(starts[1].at, due + 5 * SEC + 500 * MS);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 4);	/* the slots at +2 s .. +5 s */
	ck_assert_int_eq(st.lag.max, 4 * SEC + 500 * MS);
	expect_first_run(cfg, 0, due + 6 * SEC);	/* back on the grid */
	ck_assert_uint_eq(nstarts, 3);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/*
 * A run of 2.5 s on a 1 s interval: slots at +1 s and +2 s are skipped,
 * the next run starts at +3 s, on the grid; fake_start fails the test if
 * a check ever overlaps itself.
 */
START_TEST(test_sched_no_overlap)
{
	struct config		*cfg = cfg_new("slow", 1, 1000, 2500 * MS);
	int64_t			 due = T0 + offset_of(cfg, 0);
	struct sched_stats	 st;
	size_t			 k;

	/* config.c keeps timeout <= interval; sched must not rely on it. */
	cfg->checks[0].timeout_ms = 5000;
	sched_set_config(sc, cfg);
	run_at(due);
	run_until(due + 9 * SEC + 500 * MS, 1 * MS);
	ck_assert_uint_eq(nstarts, 4);
	for (k = 0; k < 4; k++)
		ck_assert_int_eq(starts[k].at, due + (int64_t)k * 3 * SEC);
	ck_assert_uint_eq(nresults, 3);
	ck_assert_int_eq(max_active, 1);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 6);
	ck_assert_uint_eq(st.started, 4);
	ck_assert_uint_eq(st.completed, 3);
	ck_assert_uint_eq(st.in_flight, 1);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/*
 * Cap 2, five checks due in the same iteration: the two first due start,
 * the others wait and start in due order as runs finish, and their lag
 * includes the wait.
 */
START_TEST(test_sched_cap_fifo)
{
	struct config		*cfg = cfg_new("capped", 5, 60000, 1 * SEC);
	struct sched_stats	 st;
	size_t			 order[5], i;
	int64_t			 t = T0 + 60 * SEC - 1, lag, max = 0, sum = 0;

	cfg->agent.max_in_flight = 2;
	by_offset(cfg, order);
	sched_set_config(sc, cfg);
	run_at(t);				/* all five are due */
	ck_assert_uint_eq(nstarts, 2);
	run_at(t + 1 * SEC);			/* two finish, two start */
	ck_assert_uint_eq(nstarts, 4);
	run_at(t + 2 * SEC);
	ck_assert_uint_eq(nstarts, 5);
	ck_assert_int_eq(max_active, 2);
	for (i = 0; i < 5; i++) {
		ck_assert_str_eq(starts[i].name, cfg->checks[order[i]].name);
		ck_assert_int_eq(starts[i].at, t + (int64_t)(i / 2) * SEC);
		lag = starts[i].at - (T0 + offset_of(cfg, order[i]));
		max = lag > max ? lag : max;
		sum += lag;
	}
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.waited, 3);
	ck_assert_uint_eq(st.lag.count, 5);
	ck_assert_int_eq(st.lag.max, max);
	ck_assert_int_eq(st.lag.sum, sum);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/* ---- deadlines and failures -------------------------------------------- */

START_TEST(test_sched_deadline)
{
	struct config		*cfg = cfg_new("mute", 1, 10000, NEVER);
	int64_t			 due = T0 + offset_of(cfg, 0);

	cfg->checks[0].timeout_ms = 3000;
	sched_set_config(sc, cfg);
	run_at(due);
	ck_assert_uint_eq(nstarts, 1);
	run_at(due + 3 * SEC - 1);
	ck_assert_uint_eq(nresults, 0);
	run_at(due + 3 * SEC);
	ck_assert_uint_eq(nresults, 1);
	ck_assert_int_eq(nexpires, 1);
	ck_assert_int_eq(results[0].at, due + 3 * SEC);
	ck_assert_int_eq(results[0].status, PROBE_CONNECT_TIMEOUT);
	ck_assert_str_eq(results[0].message, "fake: no answer");
	/* The check is free again for its next slot. */
	expect_first_run(cfg, 0, due + 10 * SEC);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/*
 * timeout == interval against a target that never answers: each run ends
 * just after the next slot is due; the slot is held, not skipped, so the
 * check still runs once per interval.
 */
START_TEST(test_sched_timeout_equal_interval_keeps_every_slot)
{
	struct config		*cfg = cfg_new("hole", 1, 2000, NEVER);
	int64_t			 due = T0 + offset_of(cfg, 0);
	struct sched_stats	 st;

	cfg->checks[0].timeout_ms = 2000;
	sched_set_config(sc, cfg);
	run_until(due + 20 * SEC + 500 * MS, 1 * MS);
	ck_assert_uint_eq(nstarts, 11);
	ck_assert_uint_eq(nresults, 10);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 0);
	/* Held slots start when the previous run ends: lag is one step. */
	ck_assert_int_le(st.lag.max, 1 * MS);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_sched_start_failure_reported)
{
	struct config		*cfg = cfg_new("broken", 1, 1000, 0);
	int64_t			 due = T0 + offset_of(cfg, 0);
	struct sched_stats	 st;

	fake(cfg, 0)->fail_start = 1;
	sched_set_config(sc, cfg);
	run_until(due + 2 * SEC, 100 * MS);
	ck_assert_uint_eq(nstarts, 3);
	ck_assert_uint_eq(nresults, 3);
	ck_assert_int_eq(results[0].status, PROBE_CONNECT_FAILED);
	ck_assert_int_eq(results[2].at, due + 2 * SEC);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(st.completed, 3);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/* ---- run_once ---------------------------------------------------------- */

START_TEST(test_sched_run_once)
{
	struct config		*cfg = cfg_new("once", 5, 1000, 100 * MS);
	const struct check_conf	*pick[3];
	struct sched_stats	 st;
	size_t			 i;

	for (i = 0; i < 3; i++)
		pick[i] = &cfg->checks[2 * i];
	ck_assert_uint_eq(sched_run_once(sc, cfg, pick, 3), 3);
	ck_assert_uint_eq(nstarts, 3);		/* no waiting for a slot */
	run_until(T0 + 10 * SEC, 10 * MS);
	ck_assert_uint_eq(nstarts, 3);
	ck_assert_uint_eq(nresults, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(count_named(results, nresults,
		    pick[i]->name), 1);
		ck_assert_int_eq(nth_named(results, nresults, pick[i]->name,
		    0)->at, T0 + 100 * MS);
	}
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.checks, 3);
	ck_assert_uint_eq(st.started, 3);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_sched_run_once_capped)
{
	struct config		*cfg = cfg_new("once", 3, 1000, 100 * MS);
	const struct check_conf	*pick[3];
	struct sched_stats	 st;
	size_t			 i;

	cfg->agent.max_in_flight = 1;
	for (i = 0; i < 3; i++)
		pick[i] = &cfg->checks[i];
	ck_assert_uint_eq(sched_run_once(sc, cfg, pick, 3), 3);
	run_until(T0 + 1 * SEC, 10 * MS);
	ck_assert_uint_eq(nstarts, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(starts[i].name, pick[i]->name);
		ck_assert_int_eq(starts[i].at, T0 + (int64_t)i * 100 * MS);
	}
	ck_assert_uint_eq(nresults, 3);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.waited, 2);
	ck_assert_int_eq(st.lag.max, 200 * MS);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

/* ---- reload and stop --------------------------------------------------- */

START_TEST(test_sched_reload_aborts_old_runs)
{
	struct config		*a = cfg_new("old", 3, 60000, NEVER);
	struct config		*b = cfg_new("new", 2, 60000, 1 * SEC);
	struct sched_stats	 st;

	sched_set_config(sc, a);
	ck_assert_int_eq(a->refs, 2);
	run_until(T0 + 60 * SEC - 1, 1 * SEC);
	ck_assert_uint_eq(nstarts, 3);
	sched_set_config(sc, b);
	ck_assert_int_eq(naborts, 3);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(a->refs, 1);		/* let go of the old one */
	cfg_free(a);
	run_until(clk.now + 120 * SEC, 100 * MS);
	ck_assert_uint_eq(count_named(results, nresults, "old-0") +
	    count_named(results, nresults, "old-1") +
	    count_named(results, nresults, "old-2"), 0);
	ck_assert_uint_eq(count_named(results, nresults, "new-0"), 2);
	ck_assert_uint_eq(count_named(results, nresults, "new-1"), 2);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.aborted, 3);
	ck_assert_uint_eq(st.checks, 2);
	sched_stop(sc);
	cfg_free(b);
}
END_TEST

/* Counts the slots of check i of cfg in [from, to] on its grid. */
static size_t
slots_between(const struct config *cfg, size_t i, int64_t from, int64_t to)
{
	int64_t	t = T0 + offset_of(cfg, i), iv = cfg->checks[i].interval_ms * MS;
	size_t	n = 0;

	for (; t <= to; t += iv)
		if (t >= from)
			n++;
	return n;
}

/*
 * 1,000 checks, reloaded 12 times with an equal config (a different
 * generation each time, as SIGHUP builds) at awkward moments, some with
 * runs in flight and some waiting for the cap: every check runs exactly
 * once per slot of its grid, none aborted, none twice.
 */
START_TEST(test_sched_reload_keeps_schedule)
{
	struct config		*gen[2];
	struct sched_stats	 st;
	char			 name[32];
	size_t			 i, k;

	gen[0] = cfg_new("c", 1000, 1000, 200 * MS);
	gen[1] = cfg_new("c", 1000, 1000, 200 * MS);
	gen[0]->agent.max_in_flight = gen[1]->agent.max_in_flight = 250;
	sched_set_config(sc, gen[0]);
	for (k = 1; k <= 12; k++) {
		run_until(T0 + (int64_t)k * 370 * MS + 3, 10 * MS);
		sched_set_config(sc, gen[k % 2]);
	}
	run_until(T0 + 5 * SEC, 10 * MS);
	ck_assert_int_eq(naborts, 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c-%zu", i);
		ck_assert_msg(count_named(starts, nstarts, name) ==
		    slots_between(gen[0], i, T0, T0 + 5 * SEC),
		    "%s: %zu runs, %zu slots", name,
		    count_named(starts, nstarts, name),
		    slots_between(gen[0], i, T0, T0 + 5 * SEC));
	}
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(nresults + st.in_flight, nstarts);
	sched_stop(sc);
	loop_run_once(lp, 0);		/* deferred frees drop their refs */
	cfg_free(gen[0]);
	cfg_free(gen[1]);
}
END_TEST

/*
 * Kept, changed, removed and added checks: the kept one's run goes on
 * (holding the old generation) and reports under its name; the changed
 * and removed ones are cancelled, the changed and added ones start over.
 */
START_TEST(test_sched_reload_changed_removed)
{
	struct config		*a = cfg_new("x", 3, 10000, NEVER);
	struct config		*b = cfg_new("x", 3, 10000, 1 * SEC);
	struct sched_stats	 st;

	b->checks[1].fingerprint = 99;		/* x-1 changed */
	free(b->checks[2].name);
	b->checks[2].name = xstrdup("x-new");	/* x-2 removed, x-new added */
	sched_set_config(sc, a);
	run_until(T0 + 10 * SEC - 1, 100 * MS);
	ck_assert_uint_eq(nstarts, 3);
	sched_set_config(sc, b);
	ck_assert_int_eq(naborts, 2);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(a->refs, 2);		/* x-0's run holds it */
	/* Started up to one 100 ms step after its slot, so expires so. */
	run_until(T0 + 10 * SEC + offset_of(a, 0) + 200 * MS, 100 * MS);
	ck_assert_uint_eq(count_named(results, nresults, "x-0"), 1);
	ck_assert_int_eq(nth_named(results, nresults, "x-0", 0)->status,
	    PROBE_CONNECT_TIMEOUT);
	ck_assert_int_eq(a->refs, 1);
	run_until(clk.now + 20 * SEC, 100 * MS);
	ck_assert_uint_eq(count_named(results, nresults, "x-2"), 0);
	ck_assert_uint_ge(count_named(results, nresults, "x-1"), 2);
	ck_assert_uint_ge(count_named(results, nresults, "x-new"), 2);
	ck_assert_uint_ge(count_named(results, nresults, "x-0"), 3);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.aborted, 2);
	ck_assert_uint_eq(st.checks, 3);
	sched_stop(sc);
	loop_run_once(lp, 0);
	cfg_free(a);
	cfg_free(b);
}
END_TEST

START_TEST(test_sched_stop_and_free_in_flight)
{
	struct config		*cfg = cfg_new("busy", 4, 10000, NEVER);
	struct sched_stats	 st;

	sched_set_config(sc, cfg);
	run_until(T0 + 10 * SEC - 1, 1 * SEC);
	ck_assert_uint_eq(nstarts, 4);
	sched_stop(sc);
	sched_stop(sc);				/* idempotent */
	ck_assert_int_eq(naborts, 4);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(st.checks, 0);
	run_until(clk.now + 60 * SEC, 1 * SEC);
	ck_assert_uint_eq(nresults, 0);
	ck_assert_uint_eq(nstarts, 4);

	/* sched_free() with runs in flight: the sanitizers watch this one. */
	sched_set_config(sc, cfg);
	run_until(clk.now + 10 * SEC, 1 * SEC);
	ck_assert_uint_eq(nstarts, 8);
	sched_free(sc);
	sc = NULL;
	ck_assert_int_eq(naborts, 8);
	cfg_free(cfg);
	sched_free(NULL);
}
END_TEST

/* The result callback may stop the scheduler that called it. */
START_TEST(test_sched_stop_inside_callback)
{
	struct config	*cfg = cfg_new("cb", 3, 1000, 100 * MS);
	const struct check_conf	*pick[3] = {
		&cfg->checks[0], &cfg->checks[1], &cfg->checks[2]
	};

	fake(cfg, 1)->delay = 200 * MS;
	fake(cfg, 2)->delay = 200 * MS;
	stop_in_callback = 1;
	sched_run_once(sc, cfg, pick, 3);
	run_until(T0 + 1 * SEC, 10 * MS);
	ck_assert_uint_eq(nresults, 1);
	ck_assert_str_eq(results[0].name, "cb-0");
	ck_assert_int_eq(naborts, 2);
	cfg_free(cfg);
}
END_TEST

/* ---- counters ---------------------------------------------------------- */

START_TEST(test_sched_stats)
{
	struct config		*cfg = cfg_new("stat", 4, 1000, 200 * MS);
	struct sched_stats	 st;

	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.started + st.checks + st.lag.count, 0);
	sched_set_config(sc, cfg);
	run_until(T0 + 10 * SEC + 50 * MS, 10 * MS);
	sched_get_stats(sc, &st);
	ck_assert_uint_eq(st.checks, 4);
	ck_assert_uint_eq(st.started, nstarts);
	ck_assert_uint_eq(st.completed, nresults);
	ck_assert_uint_eq(st.in_flight, (size_t)active);
	ck_assert_uint_eq(st.started, st.completed + st.in_flight);
	ck_assert_uint_eq(st.lag.count, st.started);
	ck_assert_uint_eq(st.skipped + st.waited + st.aborted, 0);
	ck_assert_uint_ge(st.started, 40);
	ck_assert_uint_le(st.started, 44);
	sched_stop(sc);
	cfg_free(cfg);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc;

	tc = tcase_create("hash");
	tcase_add_test(tc, test_sched_hash_stable);
	tcase_add_test(tc, test_sched_offsets_spread);
	suite_add_tcase(s, tc);

	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_sched_first_runs_at_offsets);
	tcase_add_test(tc, test_sched_fixed_grid_no_drift);
	tcase_add_test(tc, test_sched_first_due_on_grid);
	tcase_add_test(tc, test_sched_grid_runs_together);
	tcase_add_test(tc, test_sched_handshake_grid);
	tcase_add_test(tc, test_sched_handshakes_finer_grid);
	tcase_add_test(tc, test_sched_handshakes_keep_grid_at_limit);
	tcase_add_test(tc, test_sched_stall_skips_missed_slots);
	tcase_add_test(tc, test_sched_no_overlap);
	tcase_add_test(tc, test_sched_cap_fifo);
	tcase_add_test(tc, test_sched_stats);
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_sched_deadline);
	tcase_add_test(tc, test_sched_timeout_equal_interval_keeps_every_slot);
	tcase_add_test(tc, test_sched_start_failure_reported);
	tcase_add_test(tc, test_sched_run_once);
	tcase_add_test(tc, test_sched_run_once_capped);
	tcase_add_test(tc, test_sched_reload_aborts_old_runs);
	tcase_add_test(tc, test_sched_reload_keeps_schedule);
	tcase_add_test(tc, test_sched_reload_changed_removed);
	tcase_add_test(tc, test_sched_stop_and_free_in_flight);
	tcase_add_test(tc, test_sched_stop_inside_callback);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sched_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
