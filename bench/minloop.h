/* SPDX-License-Identifier: ISC */
/*
 * minloop: what the minimal probe loops (bench/tcp_minloop.c,
 * bench/http_minloop.c) share, so that each keeps only its protocol.
 *
 * One epoll loop paced like sonde's scheduler: with --checks N --interval MS
 * the due times are src/sched.c's (check i named --prefix and i zero-padded
 * to --width digits, first run at FNV-1a-64(name) mod interval, rounded up
 * to --grid, then a fixed grid), with --rate evenly spaced.  It sleeps in
 * epoll_pwait2 to the microsecond as src/loop.c does (or epoll_wait to the
 * millisecond, its fallback), keeps one deadline per probe in a FIFO (every
 * probe has the same timeout), a slot per fd with a generation so a stale
 * event or deadline is ignored, the schedule lag histogram, and the CPU
 * window after --warmup that it reports.
 *
 * Bench code only: a floor must not share code with what it measures, so
 * nothing here comes from src/.
 */
#ifndef SONDE_BENCH_MINLOOP_H
#define SONDE_BENCH_MINLOOP_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

struct minloop;

/* The part of a per-fd slot that the loop owns; a tool's slot starts so. */
struct minloop_slot {
	uint32_t	 gen;
	int		 active;
};

struct minloop_ops {
	/* Starts one probe: a socket that minloop_watch()es or minloop_close()s. */
	void	(*start)(struct minloop *, int64_t now);
	/* fd, live, is ready; slot is its slot (the tool's struct). */
	void	(*ready)(struct minloop *, int fd, void *slot);
};

struct minloop_pending {		/* FIFO of deadlines (one timeout) */
	int64_t		 deadline;
	int		 fd;
	uint32_t	 gen;
};

struct minloop {
	const char			*prog;
	const char			*usage;	/* after "usage: " */
	const struct minloop_ops	*ops;
	void				*arg;	/* the tool's own state */

	/* The options that minloop_opts_done() turns into offsets. */
	double			 interval_ms, grid_ms;
	const char		*prefix;	/* check i is prefix, i */
	int			 width;		/* zero-padded to width */

	double			 rate;		/* evenly spaced, or: */
	int64_t			*offsets;	/* sorted first-run offsets */
	uint64_t		 ncheck;
	int64_t			 interval_us;
	double			 duration, warmup;	/* s */
	int64_t			 t0, t_warm, t_stop;	/* µs, monotonic */
	uint64_t		 k;		/* next probe to start */
	int64_t			 cpu_warm;	/* -1 until the window opens */
	int64_t			 t_warm_real;
	uint64_t		 done_warm;

	int			 epfd;
	const char		*host;
	int			 port;
	struct sockaddr_in	 dst;
	int			 rst;		/* SO_LINGER {1, 0} at close */
	int			 sleep_ms;	/* epoll_wait, not pwait2 */
	int			 epoll_del;	/* EPOLL_CTL_DEL before close */
	int			 max_in_flight;
	int64_t			 timeout_us;

	void			*slots;		/* indexed by fd */
	size_t			 slot_size, nslots;
	uint32_t		 gen;
	struct minloop_pending	*ring;
	size_t			 rhead, rlen, rcap;
	int			 in_flight;

	uint64_t		 started, ok, errors, timeouts, skipped;
	uint64_t		 done;
	uint32_t		*lag;
	uint64_t		 nlag;
	int64_t			 lag_max;

	/* The window, set by minloop_run() when it returns. */
	double			 wsec;
	uint64_t		 wdone;
	int64_t			 wcpu;
};

/* Sets the defaults; slot_size is the size of the tool's slot struct. */
void	minloop_init(struct minloop *, const char *prog, const char *usage,
	    const struct minloop_ops *, void *arg, size_t slot_size);
/* Prints the usage and exits 2. */
void	minloop_usage(const struct minloop *) __attribute__((noreturn));
/* Prints "prog: what: strerror(errno)" and exits 1. */
void	minloop_die(const struct minloop *, const char *what)
	    __attribute__((noreturn));
/* A number in [min, max] from s, or the usage. */
double	minloop_num(const struct minloop *, const char *s, double min,
	    double max);
/* Takes the common option at argv[*i] (and its value); 0 if not one. */
int	minloop_opt(struct minloop *, int argc, char **argv, int *i);
/* Checks the options taken and computes the due times; or the usage. */
void	minloop_opts_done(struct minloop *);
/* The slot of fd (NULL if it has none). */
void	*minloop_slot(const struct minloop *, int fd);
/* Watches fd until its deadline; returns its slot (the tool's fields
 * are as the last probe on fd left them). */
void	*minloop_watch(struct minloop *, int fd, uint32_t events,
	    int64_t now);
/* Changes the events fd is watched for. */
void	minloop_rewatch(struct minloop *, int fd, uint32_t events);
/* Counts the outcome and closes fd (RST if m->rst); its slot is freed. */
void	minloop_close(struct minloop *, int fd, int ok);
/*
 * Opens a non-blocking socket and connects it to m->dst.  Returns the fd
 * with *done set when the connect finished at once, or -1 when the probe
 * already ended (counted and closed here).
 */
int	minloop_connect(struct minloop *, int *done);
/* Runs until every probe has been started and has finished. */
void	minloop_run(struct minloop *);
/* Prints the report line: head, the schedule, mid, the figures, tail. */
void	minloop_report(const struct minloop *, const char *head,
	    const char *mid, const char *tail);
/* Frees what minloop_run() and minloop_opts_done() allocated. */
void	minloop_free(struct minloop *);

#endif /* SONDE_BENCH_MINLOOP_H */
