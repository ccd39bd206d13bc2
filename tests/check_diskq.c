/* SPDX-License-Identifier: ISC */
/*
 * Tests for diskq, the writer thread of state_dir: jobs run in FIFO
 * order, a pending write of a state file is replaced by a newer one, a
 * barrier reports after everything queued before it, errors come back to
 * the loop, diskq_free() drains, and the loop keeps running timers while
 * the writer is stalled.  The stall is a hook on the writer thread that
 * waits on a pipe, so every step is ordered, not timed.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskq.h"
#include "loop.h"
#include "testutil.h"
#include "xmalloc.h"

#define LOG_MAX	64

/*
 * What the tests watch.  The hook writes names from the writer thread
 * under mu; the loop reads them after a completion, which orders them.
 */
struct watch {
	pthread_mutex_t	 mu;
	char		 seen[LOG_MAX][64];	/* hook: names in order */
	int		 nseen;
	int		 gate_in[2];	/* hook -> test: "I am stalled" */
	int		 gate_out[2];	/* test -> hook: "go on" */
	const char	*stall_on;	/* the name that stalls, or NULL */
	/* completions, loop thread */
	uint64_t	 tags[LOG_MAX];
	int		 rcs[LOG_MAX];
	char		 errs[LOG_MAX][DISKQ_ERR_MAX];
	int		 ndone;
	bool		 barrier_done;
	bool		 file_at_barrier;
	const char	*file;		/* checked at the barrier */
};

static struct watch	w;

static void
hook(const char *name, void *arg)
{
	struct watch	*wt = arg;
	char		 c = 'x';

	const char	*stall;

	pthread_mutex_lock(&wt->mu);
	if (wt->nseen < LOG_MAX)
		snprintf(wt->seen[wt->nseen++], sizeof(wt->seen[0]), "%s",
		    name != NULL ? name : "(barrier)");
	stall = wt->stall_on;
	pthread_mutex_unlock(&wt->mu);
	if (name == NULL || stall == NULL || strcmp(name, stall) != 0)
		return;
	/* Tell the test, then wait for it: a disk that takes its time. */
	if (write(wt->gate_in[1], &c, 1) != 1 || read(wt->gate_out[0], &c,
	    1) != 1)
		abort();
}

static void
done_cb(void *arg, uint64_t tag, const struct diskq_done *d)
{
	struct watch	*wt = arg;

	ck_assert_int_lt(wt->ndone, LOG_MAX);
	wt->tags[wt->ndone] = tag;
	wt->rcs[wt->ndone] = d->rc;
	snprintf(wt->errs[wt->ndone], sizeof(wt->errs[0]), "%s", d->err);
	wt->ndone++;
}

static void
barrier_cb(void *arg, uint64_t tag, const struct diskq_done *d)
{
	struct watch	*wt = arg;

	(void)tag;
	ck_assert_int_eq(d->rc, 0);
	wt->barrier_done = true;
	wt->file_at_barrier = access(wt->file, F_OK) == 0;
}

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	ck_assert_int_eq(pipe(w.gate_in), 0);
	ck_assert_int_eq(pipe(w.gate_out), 0);
}

static void
teardown(void)
{
	close(w.gate_in[0]);
	close(w.gate_in[1]);
	close(w.gate_out[0]);
	close(w.gate_out[1]);
	pthread_mutex_destroy(&w.mu);
}

/* The writer reads it under w.mu. */
static void
stall_on(const char *name)
{
	pthread_mutex_lock(&w.mu);
	w.stall_on = name;
	pthread_mutex_unlock(&w.mu);
}

/* Waits until the writer sits in the hook on w.stall_on. */
static void
wait_stalled(void)
{
	char	c;

	ck_assert_int_eq(read(w.gate_in[0], &c, 1), 1);
}

static void
let_go(void)
{
	ck_assert_int_eq(write(w.gate_out[1], "g", 1), 1);
}

static char *
slurp(const char *dir, const char *name)
{
	char	*path, buf[256];
	FILE	*f;
	size_t	 n;

	path = xasprintf("%s/%s", dir, name);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static struct diskq *
new_queue(struct loop *loop)
{
	struct diskq	*q;
	char		 err[256];

	q = diskq_new(loop, err, sizeof(err));
	ck_assert_msg(q != NULL, "diskq_new: %s", err);
	diskq_set_hook(q, hook, &w);
	return q;
}

START_TEST(test_diskq_fifo_order)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	char		*txt;
	int		 i;

	diskq_write(q, dir, "a", xstrdup("A"), false, done_cb, &w, 1);
	diskq_write(q, dir, "b", xstrdup("B"), false, done_cb, &w, 2);
	diskq_write(q, dir, "c", xstrdup("C"), false, done_cb, &w, 3);
	diskq_unlink(q, dir, "a", done_cb, &w, 4);
	diskq_barrier(q, done_cb, &w, 5);
	diskq_flush(q);
	ck_assert_int_eq(diskq_depth(q), 0);
	ck_assert_int_eq(w.ndone, 5);
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(w.tags[i], (uint64_t)i + 1);
		ck_assert_int_eq(w.rcs[i], 0);
	}
	ck_assert_int_eq(w.nseen, 5);
	ck_assert_str_eq(w.seen[0], "a");
	ck_assert_str_eq(w.seen[1], "b");
	ck_assert_str_eq(w.seen[2], "c");
	ck_assert_str_eq(w.seen[3], "a");
	ck_assert_str_eq(w.seen[4], "(barrier)");
	ck_assert_ptr_null(slurp(dir, "a"));	/* removed after written */
	txt = slurp(dir, "c");
	ck_assert_str_eq(txt, "C\n");
	free(txt);
	diskq_free(q);
	loop_free(loop);
}
END_TEST

/* A slow disk holds one pending alerts.json, the newest, not three. */
START_TEST(test_diskq_coalesces_pending_writes)
{
	struct loop		*loop = loop_new();
	struct diskq		*q = new_queue(loop);
	struct diskq_stats	 st;
	const char		*dir = testutil_tmpdir();
	char			*txt;
	int			 i, writes = 0;

	stall_on("record");
	diskq_write(q, dir, "record", xstrdup("R"), false, done_cb, &w, 1);
	wait_stalled();
	ck_assert_int_eq(diskq_write(q, dir, "alerts.json", xstrdup("v1"),
	    true, done_cb, &w, 2), 0);
	ck_assert_int_eq(diskq_write(q, dir, "alerts.json", xstrdup("v2"),
	    true, done_cb, &w, 3), 1);
	diskq_write(q, dir, "other", xstrdup("O"), false, done_cb, &w, 4);
	ck_assert_int_eq(diskq_write(q, dir, "alerts.json", xstrdup("v3"),
	    true, done_cb, &w, 5), 1);
	/* record (in progress), other, alerts.json */
	ck_assert_int_eq(diskq_depth(q), 3);
	let_go();
	diskq_flush(q);
	for (i = 0; i < w.nseen; i++)
		writes += strcmp(w.seen[i], "alerts.json") == 0;
	ck_assert_int_eq(writes, 1);
	/* The newer write moved behind "other": it speaks of later news. */
	ck_assert_int_eq(w.ndone, 3);
	ck_assert_uint_eq(w.tags[0], 1);
	ck_assert_uint_eq(w.tags[1], 4);
	ck_assert_uint_eq(w.tags[2], 5);
	txt = slurp(dir, "alerts.json");
	ck_assert_str_eq(txt, "v3\n");
	free(txt);
	diskq_get_stats(q, &st);
	ck_assert_uint_eq(st.coalesced, 2);
	ck_assert_uint_eq(st.jobs, 3);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_ge(st.depth_max, 3);
	diskq_free(q);
	loop_free(loop);
}
END_TEST

/* A write already started is not replaced: the newer one follows it. */
START_TEST(test_diskq_started_write_not_replaced)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	char		*txt;

	stall_on("slo.json");
	diskq_write(q, dir, "slo.json", xstrdup("old"), true, done_cb, &w, 1);
	wait_stalled();
	ck_assert_int_eq(diskq_write(q, dir, "slo.json", xstrdup("new"), true,
	    done_cb, &w, 2), 0);
	stall_on(NULL);
	let_go();
	diskq_flush(q);
	ck_assert_int_eq(w.ndone, 2);
	txt = slurp(dir, "slo.json");
	ck_assert_str_eq(txt, "new\n");
	free(txt);
	diskq_free(q);
	loop_free(loop);
}
END_TEST

/* The loop learns of the barrier only once the earlier write is on disk. */
START_TEST(test_diskq_barrier_after_earlier_jobs)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	char		*path;
	int		 i;

	path = xasprintf("%s/00000000000000000001.json", dir);
	w.file = path;
	stall_on("00000000000000000001.json");
	diskq_write(q, dir, "00000000000000000001.json", xstrdup("{}"), false,
	    NULL, NULL, 0);
	diskq_barrier(q, barrier_cb, &w, 7);
	wait_stalled();
	for (i = 0; i < 20; i++)
		loop_run_once(loop, 1000);
	ck_assert(!w.barrier_done);
	ck_assert_int_eq(diskq_depth(q), 2);
	let_go();
	ck_assert(testutil_run_until(loop, &w.barrier_done, 5000));
	ck_assert(w.file_at_barrier);
	ck_assert_int_eq(diskq_depth(q), 0);
	diskq_free(q);
	loop_free(loop);
	free(path);
}
END_TEST

/*
 * Errors come back to the loop with the path and the cause: a directory
 * whose parent is missing, a "directory" that is a file (root-proof, as
 * CI may run as root), an unlink in a directory that is a file.
 */
START_TEST(test_diskq_errors_reported)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	char		*file, *missing, *under;

	missing = xasprintf("%s/no/such", dir);
	file = testutil_write_file(dir, "plain", "x\n");
	under = xasprintf("%s/ok", dir);
	diskq_write(q, missing, "a.json", xstrdup("1"), false, done_cb, &w, 1);
	diskq_write(q, file, "b.json", xstrdup("2"), false, done_cb, &w, 2);
	diskq_write(q, under, "c.json", xstrdup("3"), false, done_cb, &w, 3);
	diskq_unlink(q, file, "d.json", done_cb, &w, 4);
	diskq_flush(q);
	ck_assert_int_eq(w.ndone, 4);
	ck_assert_int_eq(w.rcs[0], -1);
	ck_assert_msg(strstr(w.errs[0], "cannot create") != NULL &&
	    strstr(w.errs[0], "no/such") != NULL &&
	    strstr(w.errs[0], strerror(ENOENT)) != NULL, "%s", w.errs[0]);
	ck_assert_int_eq(w.rcs[1], -1);
	ck_assert_msg(strstr(w.errs[1], "plain/.b.json.tmp") != NULL &&
	    strstr(w.errs[1], strerror(ENOTDIR)) != NULL, "%s", w.errs[1]);
	/* One bad job does not spoil the batch. */
	ck_assert_int_eq(w.rcs[2], 0);
	ck_assert_str_eq(w.errs[2], "");
	ck_assert_int_eq(w.rcs[3], -1);
	ck_assert_msg(strstr(w.errs[3], "remove") != NULL &&
	    strstr(w.errs[3], strerror(ENOTDIR)) != NULL, "%s", w.errs[3]);
	diskq_free(q);
	loop_free(loop);
	free(missing);
	free(file);
	free(under);
}
END_TEST

/* diskq_free() without a loop turn: every job lands, every callback runs. */
START_TEST(test_diskq_free_drains)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	char		 name[32], *txt;
	int		 i;

	diskq_set_hook(q, NULL, NULL);
	for (i = 0; i < 50 && i < LOG_MAX; i++) {
		snprintf(name, sizeof(name), "r%02d", i);
		diskq_write(q, dir, name, xasprintf("%d", i), false, done_cb,
		    &w, (uint64_t)i);
	}
	diskq_free(q);
	ck_assert_int_eq(w.ndone, 50);
	for (i = 0; i < 50; i++) {
		ck_assert_uint_eq(w.tags[i], (uint64_t)i);
		snprintf(name, sizeof(name), "r%02d", i);
		txt = slurp(dir, name);
		ck_assert_ptr_nonnull(txt);
		ck_assert_int_eq(atoi(txt), i);
		free(txt);
	}
	loop_free(loop);
}
END_TEST

struct ticker {
	struct loop_timer	 t;
	int			 fired;
};

static void
tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct ticker	*tk = arg;

	tk->fired++;
	loop_timer_after(loop, t, 2000);
}

/* A stalled disk: the loop still runs its timers, every 2 ms. */
START_TEST(test_diskq_loop_runs_while_stalled)
{
	struct loop	*loop = loop_new();
	struct diskq	*q = new_queue(loop);
	const char	*dir = testutil_tmpdir();
	struct ticker	 tk = { .fired = 0 };
	int64_t		 end;

	stall_on("alerts.json");
	loop_timer_init(&tk.t, tick_cb, &tk);
	loop_timer_after(loop, &tk.t, 2000);
	diskq_write(q, dir, "alerts.json", xstrdup("{}"), true, done_cb, &w,
	    1);
	wait_stalled();
	end = loop_time(loop) + 200000;
	while (loop_time(loop) < end)
		loop_run_once(loop, 5000);
	/* 100 ticks due; a loaded host still gets well over 20 in. */
	ck_assert_int_ge(tk.fired, 20);
	ck_assert_int_eq(w.ndone, 0);
	let_go();
	while (w.ndone == 0 && loop_time(loop) < end + 5000000)
		loop_run_once(loop, 5000);
	ck_assert_int_eq(w.ndone, 1);
	ck_assert_int_eq(w.rcs[0], 0);
	loop_timer_cancel(loop, &tk.t);
	diskq_free(q);
	loop_free(loop);
}
END_TEST

static Suite *
diskq_suite(void)
{
	Suite	*s = suite_create("diskq");
	TCase	*tc;

	tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_diskq_fifo_order);
	tcase_add_test(tc, test_diskq_coalesces_pending_writes);
	tcase_add_test(tc, test_diskq_started_write_not_replaced);
	tcase_add_test(tc, test_diskq_barrier_after_earlier_jobs);
	tcase_add_test(tc, test_diskq_errors_reported);
	tcase_add_test(tc, test_diskq_free_drains);
	tcase_add_test(tc, test_diskq_loop_runs_while_stalled);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(diskq_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
