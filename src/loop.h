/*
 * loop: the one reactor every part of sonde runs on.
 *
 * One thread, one epoll instance (level-triggered, as libcurl, c-ares and
 * libmicrohttpd expect), one heap of one-shot timers on a monotonic clock,
 * a signalfd for the signals the daemon handles, and hooks that run before
 * each sleep (deferred frees, re-arming library timeouts).
 *
 * Time is int64_t microseconds.  loop_now() is cached once per iteration so
 * every callback of one iteration sees the same "now"; loop_time() reads the
 * clock afresh for precise phase timings.  The clock is injectable: tests
 * install a fake one and drive the loop with loop_run_once().
 *
 * Timers are embedded in their owner (struct loop_timer is public so a
 * check's state needs no extra allocation) and are one-shot: re-arm them
 * explicitly.  A timer may be cancelled or re-armed from any callback,
 * including its own.
 *
 * fd watchers are indexed by fd with a generation number, so an event for an
 * fd that was closed (and perhaps reused) earlier in the same batch is
 * dropped instead of delivered to the wrong owner.
 */
#ifndef SONDE_LOOP_H
#define SONDE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOOP_READ	0x1
#define LOOP_WRITE	0x2
#define LOOP_ERROR	0x4	/* EPOLLERR or EPOLLHUP; always reported */

#define LOOP_TIMER_IDLE	((size_t)-1)

struct loop;
struct loop_timer;

/* events is a mask of LOOP_READ | LOOP_WRITE | LOOP_ERROR. */
typedef void (*loop_fd_cb)(struct loop *loop, int fd, unsigned events,
    void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *timer,
    void *arg);
typedef void (*loop_signal_cb)(struct loop *loop, int signo, void *arg);
typedef void (*loop_hook_cb)(struct loop *loop, void *arg);
/* Returns the current time in microseconds on a monotonic clock. */
typedef int64_t (*loop_clock_cb)(void *arg);

/* Embedded in its owner; initialise with loop_timer_init() before use. */
struct loop_timer {
	int64_t		 due;		/* absolute, loop clock, µs */
	size_t		 heap_index;	/* LOOP_TIMER_IDLE when not armed */
	loop_timer_cb	 cb;
	void		*arg;
};

/* Returns a new loop; fatal if epoll or signalfd cannot be created. */
struct loop	*loop_new(void);
/* Frees the loop; fds and timers still registered are only forgotten. */
void		 loop_free(struct loop *loop);

/* Replaces the clock (tests); arg is borrowed.  Refreshes the cached now. */
void	 loop_set_clock(struct loop *loop, loop_clock_cb clock, void *arg);
/* Returns the time cached at the start of this iteration. */
int64_t	 loop_now(struct loop *loop);
/* Reads the clock now, updates the cached value and returns it. */
int64_t	 loop_time(struct loop *loop);
/* Returns CLOCK_REALTIME in µs (for timestamps people read, not timing). */
int64_t	 loop_wallclock(void);

/*
 * Watches fd for events (LOOP_READ/LOOP_WRITE); cb and arg are borrowed
 * until loop_fd_del().  Returns 0, or -1 with errno set.
 */
int	 loop_fd_add(struct loop *loop, int fd, unsigned events, loop_fd_cb cb,
	    void *arg);
/* Changes the events watched on fd.  Returns 0, or -1 with errno set. */
int	 loop_fd_mod(struct loop *loop, int fd, unsigned events);
/* Stops watching fd; call before close(fd).  Unknown fds are ignored. */
void	 loop_fd_del(struct loop *loop, int fd);
/*
 * Forgets fd without telling the kernel, for a caller about to close(fd)
 * who holds its only descriptor (no dup, no fork): the close removes it
 * from the epoll set, which saves loop_fd_del's epoll_ctl.
 */
void	 loop_fd_forget(struct loop *loop, int fd);

void	 loop_timer_init(struct loop_timer *timer, loop_timer_cb cb,
	    void *arg);
/* Arms (or re-arms) timer to fire at the absolute time due. */
void	 loop_timer_at(struct loop *loop, struct loop_timer *timer,
	    int64_t due);
/* Arms (or re-arms) timer to fire delay µs after loop_now(). */
void	 loop_timer_after(struct loop *loop, struct loop_timer *timer,
	    int64_t delay);
/* Disarms timer; a no-op when it is not armed. */
void	 loop_timer_cancel(struct loop *loop, struct loop_timer *timer);
bool	 loop_timer_armed(const struct loop_timer *timer);
/* Returns the number of armed timers. */
size_t	 loop_timer_count(const struct loop *loop);

/*
 * Delivers signo through the loop instead of asynchronously: the signal is
 * blocked and read from a signalfd.  Returns 0, or -1 with errno set.
 */
int	 loop_signal_add(struct loop *loop, int signo, loop_signal_cb cb,
	    void *arg);

/*
 * Runs cb(loop, arg) once, before the loop next sleeps; the place to free
 * objects whose callbacks may still be on the stack.  Calls run in order.
 */
void	 loop_defer(struct loop *loop, loop_hook_cb cb, void *arg);
/*
 * Runs cb before every sleep, after deferred calls (to re-arm library
 * timeouts).  Returns 0, or -1 when all hook slots are taken.
 */
int	 loop_prepare_add(struct loop *loop, loop_hook_cb cb, void *arg);
void	 loop_prepare_del(struct loop *loop, loop_hook_cb cb, void *arg);

/*
 * One iteration: run due timers, then the pre-sleep hooks, then wait for
 * events at most max_wait µs (-1: until the next timer; 0: do not block),
 * dispatch them, run due timers again.  Returns the number of callbacks
 * run, or -1 on an epoll failure (errno set).
 */
int	 loop_run_once(struct loop *loop, int64_t max_wait);
/* Iterates until loop_stop(); returns 0, or -1 on an epoll failure. */
int	 loop_run(struct loop *loop);
/* Makes loop_run() return after the current iteration. */
void	 loop_stop(struct loop *loop);
bool	 loop_stopping(const struct loop *loop);

#endif /* SONDE_LOOP_H */
