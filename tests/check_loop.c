/* SPDX-License-Identifier: ISC */
/*
 * Tests for loop: timer order and cancellation (also from inside a
 * callback), fd watchers and stale events, signals, deferred calls and
 * pre-sleep hooks, with the fake clock where time matters.
 */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "testutil.h"

static struct loop		*lp;
static struct testutil_clock	 fake;
static char			 order[64];
static size_t			 norder;
static char			 ca[] = "a", cb[] = "b", cp[] = "p", cy[] = "y";

static void
setup(void)
{
	lp = loop_new();
	fake.now = 1000000;
	testutil_fake_clock_install(lp, &fake);
	norder = 0;
	memset(order, 0, sizeof(order));
}

static void
teardown(void)
{
	loop_free(lp);
}

static void
record_timer(struct loop *loop, struct loop_timer *t, void *arg)
{
	order[norder++] = *(const char *)arg;
}

START_TEST(test_loop_timers_fire_in_due_order)
{
	struct loop_timer	t[5];
	static const char	names[] = "abcde";
	static const int64_t	due[] = { 500, 100, 300, 100, 200 };
	int			i;

	for (i = 0; i < 5; i++) {
		loop_timer_init(&t[i], record_timer, (void *)&names[i]);
		loop_timer_after(lp, &t[i], due[i]);
	}
	ck_assert_uint_eq(loop_timer_count(lp), 5);
	fake.now += 99;
	loop_run_once(lp, 0);
	ck_assert_uint_eq(norder, 0);
	fake.now += 1000;
	loop_run_once(lp, 0);
	/* Equal due times may fire in either order. */
	ck_assert(strcmp(order, "bdeca") == 0 || strcmp(order, "dbeca") == 0);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
}
END_TEST

START_TEST(test_loop_timer_cancel_and_rearm)
{
	struct loop_timer	a, b;

	loop_timer_init(&a, record_timer, ca);
	loop_timer_init(&b, record_timer, cb);
	loop_timer_after(lp, &a, 100);
	loop_timer_after(lp, &b, 200);
	loop_timer_cancel(lp, &a);
	loop_timer_cancel(lp, &a);		/* idempotent */
	ck_assert(!loop_timer_armed(&a));
	loop_timer_after(lp, &b, 50);		/* re-arm moves it */
	fake.now += 60;
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "b");
	fake.now += 1000;
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "b");
}
END_TEST

struct pair {
	struct loop_timer	 self;
	struct loop_timer	*victim;
	int			 fired;
};

static void
cancel_other(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct pair	*p = arg;

	p->fired++;
	loop_timer_cancel(loop, p->victim);
	loop_timer_cancel(loop, t);		/* itself: already unlinked */
}

static void
count_timer(struct loop *loop, struct loop_timer *t, void *arg)
{
	(*(int *)arg)++;
}

START_TEST(test_loop_timer_cancel_inside_callback)
{
	struct pair		p = { .fired = 0 };
	struct loop_timer	victim;
	int			victim_fired = 0;

	loop_timer_init(&victim, count_timer, &victim_fired);
	loop_timer_init(&p.self, cancel_other, &p);
	p.victim = &victim;
	/* Both due in the same pass: the first cancels the second. */
	loop_timer_after(lp, &p.self, 10);
	loop_timer_after(lp, &victim, 20);
	fake.now += 100;
	loop_run_once(lp, 0);
	ck_assert_int_eq(p.fired, 1);
	ck_assert_int_eq(victim_fired, 0);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
}
END_TEST

static void
rearm_self(struct loop *loop, struct loop_timer *t, void *arg)
{
	int	*n = arg;

	if (++*n < 3)
		loop_timer_after(loop, t, 100);
}

START_TEST(test_loop_timer_rearm_inside_callback)
{
	struct loop_timer	t;
	int			n = 0, i;

	loop_timer_init(&t, rearm_self, &n);
	loop_timer_after(lp, &t, 100);
	for (i = 0; i < 10; i++) {
		fake.now += 100;
		loop_run_once(lp, 0);
	}
	ck_assert_int_eq(n, 3);
	ck_assert(!loop_timer_armed(&t));
}
END_TEST

static int64_t	last_due;
static int	out_of_order;

static void
ordered_timer(struct loop *loop, struct loop_timer *t, void *arg)
{
	if (t->due < last_due)
		out_of_order++;
	last_due = t->due;
	(*(int *)arg)++;
}

START_TEST(test_loop_timer_heap_many)
{
	enum { N = 2000 };
	static struct loop_timer	t[N];
	int				i, fired = 0;

	/* Pseudo-random due times; cancel every third; the rest fire in order. */
	last_due = 0;
	out_of_order = 0;
	for (i = 0; i < N; i++) {
		loop_timer_init(&t[i], ordered_timer, &fired);
		loop_timer_after(lp, &t[i], (i * 7919) % 5000);
	}
	for (i = 0; i < N; i += 3)
		loop_timer_cancel(lp, &t[i]);
	fake.now += 5000;
	loop_run_once(lp, 0);
	ck_assert_int_eq(fired, N - (N + 2) / 3);
	ck_assert_int_eq(out_of_order, 0);
}
END_TEST

struct fdrec {
	int	calls;
	unsigned events;
	int	close_fd;	/* closed by the callback, then reused */
	int	pipe2_fds[2];
};

static void
record_fd(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fdrec	*r = arg;
	char		 buf[16];

	r->calls++;
	r->events = events;
	if (events & LOOP_READ)
		(void)!read(fd, buf, sizeof(buf));
}

START_TEST(test_loop_fd_read_and_write)
{
	struct fdrec	r = { 0 };
	int		p[2];

	ck_assert(pipe(p) == 0);
	ck_assert(loop_fd_add(lp, p[0], LOOP_READ, record_fd, &r) == 0);
	ck_assert(loop_fd_add(lp, p[0], LOOP_READ, record_fd, &r) == -1);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 0);
	ck_assert(write(p[1], "x", 1) == 1);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert(r.events & LOOP_READ);
	/* The write end is always writable. */
	ck_assert(loop_fd_add(lp, p[1], LOOP_WRITE, record_fd, &r) == 0);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 2);
	ck_assert(r.events & LOOP_WRITE);
	ck_assert(loop_fd_mod(lp, p[1], 0) == 0);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 2);
	loop_fd_del(lp, p[0]);
	loop_fd_del(lp, p[0]);			/* unknown: ignored */
	loop_fd_del(lp, p[1]);
	ck_assert(write(p[1], "x", 1) == 1);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 2);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * loop_fd_forget() leaves the kernel's registration to close(2): before
 * the close the fd is still in the epoll set (adding it again fails),
 * after it the number can be watched afresh and its events arrive.
 */
START_TEST(test_loop_fd_forget_then_close)
{
	struct fdrec	r = { 0 };
	int		p[2], q[2];

	ck_assert(pipe(p) == 0);
	ck_assert(loop_fd_add(lp, p[0], LOOP_READ, record_fd, &r) == 0);
	loop_fd_forget(lp, p[0]);
	loop_fd_forget(lp, p[0]);		/* unknown: ignored */
	ck_assert(loop_fd_add(lp, p[0], LOOP_READ, record_fd, &r) == -1);
	ck_assert_int_eq(errno, EEXIST);
	close(p[0]);
	ck_assert(pipe(q) == 0);
	ck_assert_int_eq(q[0], p[0]);		/* the lowest free number */
	ck_assert(loop_fd_add(lp, q[0], LOOP_READ, record_fd, &r) == 0);
	ck_assert(write(q[1], "x", 1) == 1);
	loop_run_once(lp, 0);
	ck_assert_int_eq(r.calls, 1);
	loop_fd_del(lp, q[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
END_TEST

static void
record_fd_order(struct loop *loop, int fd, unsigned events, void *arg)
{
	char	buf[8];

	(void)loop;
	(void)events;
	(void)!read(fd, buf, sizeof(buf));
	order[norder++] = *(const char *)arg;
}

/*
 * A stall: a deadline 1 ms away, the answer arrives in time, but the loop
 * runs again only 50 ms later.  The answer must be seen before the
 * deadline fires, or the probe is failed as a timeout it did not have.
 */
START_TEST(test_loop_io_before_overdue_timer)
{
	struct loop_timer	t;
	int			p[2];

	ck_assert(pipe(p) == 0);
	ck_assert(loop_fd_add(lp, p[0], LOOP_READ, record_fd_order, cy) == 0);
	loop_timer_init(&t, record_timer, ca);
	loop_timer_after(lp, &t, 1000);
	ck_assert(write(p[1], "x", 1) == 1);
	fake.now += 50000;
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "ya");
	/* On time (not late): timers first, as before; no extra epoll. */
	norder = 0;
	memset(order, 0, sizeof(order));
	loop_timer_after(lp, &t, 1000);
	ck_assert(write(p[1], "x", 1) == 1);
	fake.now += 1000;
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "ay");
	loop_fd_del(lp, p[0]);
	close(p[0]);
	close(p[1]);
}
END_TEST

static struct fdrec	newcomer;

/*
 * Closes the other pipe's read end and makes a new pipe, which gets the
 * freed number: the batch's event for the old fd must not reach the new one.
 */
static void
close_and_reuse(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fdrec	*r = arg;
	int		 p[2];

	r->calls++;
	if (r->close_fd < 0)
		return;
	loop_fd_del(loop, r->close_fd);
	close(r->close_fd);
	ck_assert(pipe(p) == 0);
	ck_assert_int_eq(p[0], r->close_fd);
	ck_assert(loop_fd_add(loop, p[0], LOOP_READ, record_fd,
	    &newcomer) == 0);
	r->pipe2_fds[0] = p[0];
	r->pipe2_fds[1] = p[1];
	r->close_fd = -1;
}

START_TEST(test_loop_fd_stale_event_dropped)
{
	struct fdrec	a = { 0 }, b = { 0 };
	int		pa[2], pb[2];

	memset(&newcomer, 0, sizeof(newcomer));
	ck_assert(pipe(pa) == 0 && pipe(pb) == 0);
	a.close_fd = pb[0];
	b.close_fd = pa[0];
	ck_assert(loop_fd_add(lp, pa[0], LOOP_READ, close_and_reuse, &a) == 0);
	ck_assert(loop_fd_add(lp, pb[0], LOOP_READ, close_and_reuse, &b) == 0);
	ck_assert(write(pa[1], "x", 1) == 1 && write(pb[1], "x", 1) == 1);
	loop_run_once(lp, 0);
	/* Exactly one of the two ran; the other's event was stale. */
	ck_assert_int_eq(a.calls + b.calls, 1);
	ck_assert_int_eq(newcomer.calls, 0);
}
END_TEST

static void
on_signal(struct loop *loop, int signo, void *arg)
{
	*(int *)arg = signo;
}

START_TEST(test_loop_signal_delivered_through_loop)
{
	int	got = 0, got2 = 0;

	ck_assert(loop_signal_add(lp, SIGUSR1, on_signal, &got) == 0);
	ck_assert(loop_signal_add(lp, SIGUSR2, on_signal, &got2) == 0);
	ck_assert(raise(SIGUSR1) == 0);		/* blocked: pending, not fatal */
	ck_assert_int_eq(got, 0);
	loop_run_once(lp, 100000);
	ck_assert_int_eq(got, SIGUSR1);
	ck_assert(kill(getpid(), SIGUSR2) == 0);
	loop_run_once(lp, 100000);
	ck_assert_int_eq(got2, SIGUSR2);
}
END_TEST

static void
hook_append(struct loop *loop, void *arg)
{
	order[norder++] = *(const char *)arg;
}

static void
hook_defer_more(struct loop *loop, void *arg)
{
	order[norder++] = 'x';
	loop_defer(loop, hook_append, cy);
}

START_TEST(test_loop_defer_and_prepare)
{
	loop_defer(lp, hook_append, ca);
	loop_defer(lp, hook_defer_more, NULL);
	ck_assert(loop_prepare_add(lp, hook_append, cp) == 0);
	loop_run_once(lp, 0);
	/* Deferred calls in order, including ones they add, then prepare. */
	ck_assert_str_eq(order, "axyp");
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "axypp");
	loop_prepare_del(lp, hook_append, cp);
	loop_run_once(lp, 0);
	ck_assert_str_eq(order, "axypp");
}
END_TEST

static void
stop_timer(struct loop *loop, struct loop_timer *t, void *arg)
{
	loop_stop(loop);
}

START_TEST(test_loop_run_real_clock_until_stop)
{
	struct loop	*real = loop_new();
	struct loop_timer t;
	int64_t		start, elapsed;

	loop_timer_init(&t, stop_timer, NULL);
	start = loop_time(real);
	loop_timer_after(real, &t, 20000);
	ck_assert_int_eq(loop_run(real), 0);
	elapsed = loop_time(real) - start;
	/* Never early; generous upper bound for a noisy machine. */
	ck_assert_int_ge(elapsed, 20000);
	ck_assert_int_lt(elapsed, 2000000);
	ck_assert(loop_stopping(real));
	loop_free(real);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite	*s = suite_create("loop");
	TCase	*tc;

	tc = tcase_create("timers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loop_timers_fire_in_due_order);
	tcase_add_test(tc, test_loop_timer_cancel_and_rearm);
	tcase_add_test(tc, test_loop_timer_cancel_inside_callback);
	tcase_add_test(tc, test_loop_timer_rearm_inside_callback);
	tcase_add_test(tc, test_loop_timer_heap_many);
	tcase_add_test(tc, test_loop_run_real_clock_until_stop);
	suite_add_tcase(s, tc);

	tc = tcase_create("fds");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loop_fd_read_and_write);
	tcase_add_test(tc, test_loop_fd_forget_then_close);
	tcase_add_test(tc, test_loop_fd_stale_event_dropped);
	tcase_add_test(tc, test_loop_io_before_overdue_timer);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals_and_hooks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loop_signal_delivered_through_loop);
	tcase_add_test(tc, test_loop_defer_and_prepare);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(loop_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
