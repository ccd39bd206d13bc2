/* SPDX-License-Identifier: ISC */
/*
 * loop: epoll reactor, timer heap, signalfd and pre-sleep hooks.
 *
 * The loop owns the epoll and signal fds, the table of fd watchers and the
 * heap of armed timers.  It does not own the watched fds or the timers
 * (they are embedded in their owners); it only forgets them at loop_free().
 *
 * Why a generation per fd: one epoll_wait batch can hold events for fd 7
 * while an earlier callback of the same batch closes fd 7 and a new socket
 * gets number 7.  The event carries the generation it was registered with;
 * a mismatch means "not for the current owner" and the event is dropped.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define LOOP_MAX_EVENTS		256
#define LOOP_MAX_PREPARE	8
/* A timer this late means the loop stalled (see loop_run_once). */
#define LOOP_STALL_US		1000

struct loop_fdslot {
	loop_fd_cb	 cb;
	void		*arg;
	uint32_t	 gen;
	unsigned	 events;
	int		 active;
};

struct loop_call {
	loop_hook_cb	 cb;
	void		*arg;
};

struct loop {
	int			 epfd;
	int			 sigfd;
	sigset_t		 sigmask;
	loop_signal_cb		 sig_cb[NSIG];
	void			*sig_arg[NSIG];

	struct loop_fdslot	*fds;
	size_t			 nfds;
	uint32_t		 next_gen;

	struct loop_timer	**heap;
	size_t			 heap_len;
	size_t			 heap_cap;

	struct loop_call	*deferred;
	size_t			 ndeferred;
	size_t			 deferred_cap;
	struct loop_call	 prepare[LOOP_MAX_PREPARE];
	size_t			 nprepare;

	loop_clock_cb		 clock;
	void			*clock_arg;
	int64_t			 now;
	int			 stop;
	int			 no_pwait2;	/* kernel older than 5.11 */
};

static int	loop_run_deferred(struct loop *);

static int64_t
loop_monotonic(void *arg)
{
	struct timespec	ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
loop_wallclock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct loop *
loop_new(void)
{
	struct loop	*loop;

	loop = xcalloc(1, sizeof(*loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd == -1)
		fatal("loop", "epoll_create1");
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->clock = loop_monotonic;
	loop->now = loop_monotonic(NULL);
	return loop;
}

void
loop_free(struct loop *loop)
{
	size_t	i;

	if (loop == NULL)
		return;
	/* Deferred calls are usually frees: run them rather than leak. */
	loop_run_deferred(loop);
	for (i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_index = LOOP_TIMER_IDLE;
	if (loop->sigfd != -1) {
		close(loop->sigfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	close(loop->epfd);
	free(loop->fds);
	free(loop->heap);
	free(loop->deferred);
	free(loop);
}

void
loop_set_clock(struct loop *loop, loop_clock_cb clock, void *arg)
{
	loop->clock = clock != NULL ? clock : loop_monotonic;
	loop->clock_arg = arg;
	loop->now = loop->clock(loop->clock_arg);
}

int64_t
loop_now(struct loop *loop)
{
	return loop->now;
}

int64_t
loop_time(struct loop *loop)
{
	loop->now = loop->clock(loop->clock_arg);
	return loop->now;
}

/* ---- fd watchers ------------------------------------------------------ */

static uint32_t
loop_epoll_events(unsigned events)
{
	uint32_t	ev = 0;

	if (events & LOOP_READ)
		ev |= EPOLLIN;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static struct loop_fdslot *
loop_slot(struct loop *loop, int fd)
{
	size_t	n;

	if ((size_t)fd >= loop->nfds) {
		n = loop->nfds == 0 ? 64 : loop->nfds;
		while (n <= (size_t)fd)
			n *= 2;
		loop->fds = xreallocarray(loop->fds, n, sizeof(*loop->fds));
		memset(loop->fds + loop->nfds, 0,
		    (n - loop->nfds) * sizeof(*loop->fds));
		loop->nfds = n;
	}
	return &loop->fds[fd];
}

int
loop_fd_add(struct loop *loop, int fd, unsigned events, loop_fd_cb cb,
    void *arg)
{
	struct epoll_event	 ev;
	struct loop_fdslot	*slot;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	slot = loop_slot(loop, fd);
	if (slot->active) {
		errno = EEXIST;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = loop_epoll_events(events);
	ev.data.u64 = (uint64_t)++loop->next_gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	slot->cb = cb;
	slot->arg = arg;
	slot->gen = loop->next_gen;
	slot->events = events;
	slot->active = 1;
	return 0;
}

int
loop_fd_mod(struct loop *loop, int fd, unsigned events)
{
	struct epoll_event	 ev;
	struct loop_fdslot	*slot;

	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active) {
		errno = ENOENT;
		return -1;
	}
	slot = &loop->fds[fd];
	if (slot->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = loop_epoll_events(events);
	ev.data.u64 = (uint64_t)slot->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -1;
	slot->events = events;
	return 0;
}

void
loop_fd_del(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active)
		return;
	/* ENOENT/EBADF are normal: a library may have closed it already. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd].active = 0;
	loop->fds[fd].gen = 0;
}

void
loop_fd_forget(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active)
		return;
	loop->fds[fd].active = 0;
	loop->fds[fd].gen = 0;
}

/* ---- timers: a binary min-heap of pointers with back-indices ---------- */

static void
loop_heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void
loop_heap_up(struct loop *loop, size_t i)
{
	struct loop_timer	*t = loop->heap[i];
	size_t			 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (loop->heap[parent]->due <= t->due)
			break;
		loop_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	loop_heap_set(loop, i, t);
}

static void
loop_heap_down(struct loop *loop, size_t i)
{
	struct loop_timer	*t = loop->heap[i];
	size_t			 child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->due < loop->heap[child]->due)
			child++;
		if (t->due <= loop->heap[child]->due)
			break;
		loop_heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	loop_heap_set(loop, i, t);
}

void
loop_timer_init(struct loop_timer *timer, loop_timer_cb cb, void *arg)
{
	timer->due = 0;
	timer->heap_index = LOOP_TIMER_IDLE;
	timer->cb = cb;
	timer->arg = arg;
}

void
loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	struct loop_timer	*last;
	size_t			 i = timer->heap_index;

	if (i == LOOP_TIMER_IDLE)
		return;
	timer->heap_index = LOOP_TIMER_IDLE;
	last = loop->heap[--loop->heap_len];
	if (last == timer)
		return;
	loop_heap_set(loop, i, last);
	if (i > 0 && loop->heap[(i - 1) / 2]->due > last->due)
		loop_heap_up(loop, i);
	else
		loop_heap_down(loop, i);
}

void
loop_timer_at(struct loop *loop, struct loop_timer *timer, int64_t due)
{
	loop_timer_cancel(loop, timer);
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap == 0 ? 64 : loop->heap_cap * 2;
		loop->heap = xreallocarray(loop->heap, loop->heap_cap,
		    sizeof(*loop->heap));
	}
	timer->due = due;
	loop->heap[loop->heap_len] = timer;
	timer->heap_index = loop->heap_len++;
	loop_heap_up(loop, timer->heap_index);
}

void
loop_timer_after(struct loop *loop, struct loop_timer *timer, int64_t delay)
{
	loop_timer_at(loop, timer, loop->now + (delay > 0 ? delay : 0));
}

bool
loop_timer_armed(const struct loop_timer *timer)
{
	return timer->heap_index != LOOP_TIMER_IDLE;
}

size_t
loop_timer_count(const struct loop *loop)
{
	return loop->heap_len;
}

/*
 * Fires every timer due at the cached now.  A timer is unlinked before its
 * callback, so the callback may re-arm or free it; timers it arms for "now"
 * run in this same pass.
 */
static int
loop_run_timers(struct loop *loop)
{
	struct loop_timer	*t;
	int			 n = 0;

	while (loop->heap_len > 0 && loop->heap[0]->due <= loop->now) {
		t = loop->heap[0];
		loop_timer_cancel(loop, t);
		t->cb(loop, t, t->arg);
		n++;
	}
	return n;
}

/* ---- signals ----------------------------------------------------------- */

static void
loop_signal_read(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo	 si;
	ssize_t			 n;
	int			 signo;

	(void)events;
	(void)arg;
	while ((n = read(fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		signo = (int)si.ssi_signo;
		if (signo > 0 && signo < NSIG && loop->sig_cb[signo] != NULL)
			loop->sig_cb[signo](loop, signo, loop->sig_arg[signo]);
	}
}

int
loop_signal_add(struct loop *loop, int signo, loop_signal_cb cb, void *arg)
{
	sigset_t	one;
	int		fd;

	if (signo <= 0 || signo >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) == -1)
		return -1;
	sigaddset(&loop->sigmask, signo);
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	if (loop->sigfd == -1) {
		loop->sigfd = fd;
		if (loop_fd_add(loop, fd, LOOP_READ, loop_signal_read,
		    NULL) == -1)
			return -1;
	}
	loop->sig_cb[signo] = cb;
	loop->sig_arg[signo] = arg;
	return 0;
}

/* ---- hooks ------------------------------------------------------------- */

void
loop_defer(struct loop *loop, loop_hook_cb cb, void *arg)
{
	if (loop->ndeferred == loop->deferred_cap) {
		loop->deferred_cap = loop->deferred_cap == 0 ? 32 :
		    loop->deferred_cap * 2;
		loop->deferred = xreallocarray(loop->deferred,
		    loop->deferred_cap, sizeof(*loop->deferred));
	}
	loop->deferred[loop->ndeferred].cb = cb;
	loop->deferred[loop->ndeferred].arg = arg;
	loop->ndeferred++;
}

int
loop_prepare_add(struct loop *loop, loop_hook_cb cb, void *arg)
{
	if (loop->nprepare == LOOP_MAX_PREPARE)
		return -1;
	loop->prepare[loop->nprepare].cb = cb;
	loop->prepare[loop->nprepare].arg = arg;
	loop->nprepare++;
	return 0;
}

void
loop_prepare_del(struct loop *loop, loop_hook_cb cb, void *arg)
{
	size_t	i;

	for (i = 0; i < loop->nprepare; i++) {
		if (loop->prepare[i].cb != cb || loop->prepare[i].arg != arg)
			continue;
		memmove(&loop->prepare[i], &loop->prepare[i + 1],
		    (loop->nprepare - i - 1) * sizeof(loop->prepare[0]));
		loop->nprepare--;
		return;
	}
}

/* Deferred calls may defer more; all run before the loop sleeps. */
static int
loop_run_deferred(struct loop *loop)
{
	struct loop_call	call;
	size_t			i;
	int			n = 0;

	for (i = 0; i < loop->ndeferred; i++) {
		call = loop->deferred[i];
		call.cb(loop, call.arg);
		n++;
	}
	loop->ndeferred = 0;
	return n;
}

static int
loop_run_hooks(struct loop *loop)
{
	size_t	i;
	int	n;

	n = loop_run_deferred(loop);
	for (i = 0; i < loop->nprepare; i++)
		loop->prepare[i].cb(loop, loop->prepare[i].arg);
	return n;
}

/* ---- the loop ---------------------------------------------------------- */

/* Returns how long to sleep in µs: -1 for no limit, 0 for not at all. */
static int64_t
loop_wait_us(struct loop *loop, int64_t max_wait)
{
	int64_t	wait = max_wait;

	if (loop->ndeferred > 0 || loop->stop)
		return 0;
	if (loop->heap_len > 0) {
		int64_t	until = loop->heap[0]->due - loop->now;

		if (until < 0)
			until = 0;
		if (wait < 0 || until < wait)
			wait = until;
	}
	if (wait > (int64_t)24 * 3600 * 1000000)
		wait = (int64_t)24 * 3600 * 1000000;
	return wait;
}

/*
 * epoll_pwait2 (Linux 5.11) sleeps to the microsecond; epoll_wait only to
 * the millisecond, rounded up so it never wakes early and spins, which
 * costs up to 1 ms of schedule lag per timer.
 */
static int
loop_epoll(struct loop *loop, struct epoll_event *ev, int64_t wait)
{
	struct timespec	ts;
	int		n;

	if (!loop->no_pwait2) {
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		n = epoll_pwait2(loop->epfd, ev, LOOP_MAX_EVENTS,
		    wait < 0 ? NULL : &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		loop->no_pwait2 = 1;
	}
	return epoll_wait(loop->epfd, ev, LOOP_MAX_EVENTS,
	    wait < 0 ? -1 : (int)((wait + 999) / 1000));
}

static int
loop_dispatch(struct loop *loop, const struct epoll_event *ev, int nev)
{
	struct loop_fdslot	*slot;
	unsigned		 events;
	uint32_t		 gen;
	int			 i, fd, n = 0;

	for (i = 0; i < nev; i++) {
		fd = (int)(uint32_t)ev[i].data.u64;
		gen = (uint32_t)(ev[i].data.u64 >> 32);
		if ((size_t)fd >= loop->nfds)
			continue;
		slot = &loop->fds[fd];
		if (!slot->active || slot->gen != gen)
			continue;	/* closed (and maybe reused) meanwhile */
		events = 0;
		if (ev[i].events & EPOLLIN)
			events |= LOOP_READ;
		if (ev[i].events & EPOLLOUT)
			events |= LOOP_WRITE;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			events |= LOOP_ERROR;
		slot->cb(loop, fd, events, slot->arg);
		n++;
	}
	return n;
}

/*
 * After a stall (a slow callback such as an fsync, or the host not running
 * us), answers that came in time wait in the kernel while their deadlines
 * are overdue.  Taking the ready fds before the timers keeps a probe whose
 * answer arrived from being failed as a timeout (the soak, bench/soak.sh,
 * saw 1,577 such false failures of healthy checks in a 2-second stall;
 * 3 with this).  Only when the oldest timer is late, so that the common
 * iteration costs no extra epoll_wait.
 */
static int
loop_drain_if_late(struct loop *loop, struct epoll_event *ev)
{
	int	nev;

	if (loop->heap_len == 0 ||
	    loop->now - loop->heap[0]->due <= LOOP_STALL_US)
		return 0;
	if ((nev = loop_epoll(loop, ev, 0)) <= 0)
		return 0;
	return loop_dispatch(loop, ev, nev);
}

int
loop_run_once(struct loop *loop, int64_t max_wait)
{
	struct epoll_event	ev[LOOP_MAX_EVENTS];
	int			nev, n;

	loop_time(loop);
	n = loop_drain_if_late(loop, ev);
	n += loop_run_timers(loop);
	n += loop_run_hooks(loop);
	nev = loop_epoll(loop, ev, loop_wait_us(loop, max_wait));
	if (nev == -1) {
		if (errno != EINTR)
			return -1;
		nev = 0;
	}
	loop_time(loop);
	n += loop_dispatch(loop, ev, nev);
	n += loop_run_timers(loop);
	return n;
}

int
loop_run(struct loop *loop)
{
	loop->stop = 0;
	while (!loop->stop)
		if (loop_run_once(loop, -1) == -1)
			return -1;
	/* Let deferred frees of the last iteration happen. */
	loop_run_hooks(loop);
	return 0;
}

void
loop_stop(struct loop *loop)
{
	loop->stop = 1;
}

bool
loop_stopping(const struct loop *loop)
{
	return loop->stop != 0;
}
