/* SPDX-License-Identifier: ISC */
/*
 * tcp_minloop: the physical limit of a TCP probe on this machine.
 *
 * One epoll loop that, at a given rate for a given time, does exactly what
 * a TCP check must do and nothing more: socket(SOCK_NONBLOCK), connect,
 * wait for EPOLLOUT, getsockopt(SO_ERROR), close.  The close policy is
 * sonde's default (SO_LINGER {1, 0}: an RST, no TIME_WAIT) or, with
 * --close graceful, a FIN close.  Probes are paced like a scheduler paces
 * them: each has a due time, and the loop sleeps until then in
 * epoll_pwait2 to the microsecond, as src/loop.c does (--sleep ms:
 * epoll_wait with the timeout rounded up to the millisecond, src/loop.c's
 * fallback), so the wakeup cost per probe is part of the limit too.
 *
 * With --checks N --interval MS the due times are sonde's own
 * (src/sched.c): check i (from 1) is named --prefix and i zero-padded to
 * --width digits ("t00001"), first runs at FNV-1a-64(name) mod interval,
 * then on a fixed grid; so both loops wake up the same way.  --grid MS
 * rounds each first run up to a multiple of MS, as sonde's
 * agent.schedule_grid does (give it the same value).  With --rate they
 * are evenly spaced instead.
 *
 * What it reports is its own CPU (getrusage RUSAGE_SELF, user + sys) per
 * completed probe over the window after --warmup, which the bench divides
 * sonde's CPU per probe by.  On loopback, the kernel does most of the
 * server's half of the handshake in the client's context (softirq on the
 * sending path), so "client CPU" here includes that; it does for sonde too.
 *
 * The loop, schedule, deadlines and report are bench/minloop.c's, shared
 * with http_minloop.  Plain C, no project libraries: it must not share code
 * with what it measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "minloop.h"

static const char tcp_minloop_usage[] =
    "tcp_minloop --port N [--host A.B.C.D] --duration S\n"
    "         (--rate PROBES_PER_S | --checks N --interval MS "
    "[--prefix t --width 5 --grid MS])\n"
    "         [--warmup S] [--close rst|graceful] [--sleep us|ms] "
    "[--epoll-del]\n"
    "         [--max-in-flight N] [--timeout MS]\n";

static void
tm_start(struct minloop *m, int64_t now)
{
	int	fd, done;

	if ((fd = minloop_connect(m, &done)) == -1)
		return;
	if (done) {
		minloop_close(m, fd, 1);
		return;
	}
	(void)minloop_watch(m, fd, EPOLLOUT, now);
}

/* The connect is done: SO_ERROR says how. */
static void
tm_ready(struct minloop *m, int fd, void *slot)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	(void)slot;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	minloop_close(m, fd, err == 0);
}

/* Takes the options that only tcp_minloop has; 0 if argv[*i] is not one. */
static int
tm_opt(struct minloop *m, int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--epoll-del") == 0) {
		m->epoll_del = 1;
		return 1;
	}
	if (*i + 1 >= argc)
		minloop_usage(m);
	if (strcmp(argv[*i], "--sleep") == 0) {
		if (strcmp(argv[*i + 1], "us") == 0)
			m->sleep_ms = 0;
		else if (strcmp(argv[*i + 1], "ms") == 0)
			m->sleep_ms = 1;
		else
			minloop_usage(m);
	} else if (strcmp(argv[*i], "--close") == 0) {
		if (strcmp(argv[*i + 1], "rst") == 0)
			m->rst = 1;
		else if (strcmp(argv[*i + 1], "graceful") == 0)
			m->rst = 0;
		else
			minloop_usage(m);
	} else
		return 0;
	(*i)++;
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct minloop_ops	ops = { tm_start, tm_ready };
	struct minloop			m;
	char				head[64], mid[64];
	int				i;

	minloop_init(&m, "tcp_minloop", tcp_minloop_usage, &ops, NULL,
	    sizeof(struct minloop_slot));
	for (i = 1; i < argc; i++)
		if (!tm_opt(&m, argc, argv, &i) &&
		    !minloop_opt(&m, argc, argv, &i))
			minloop_usage(&m);
	minloop_opts_done(&m);
	minloop_run(&m);
	snprintf(head, sizeof(head), "tcp_minloop close=%s sleep=%s",
	    m.rst ? "rst" : "graceful", m.sleep_ms ? "ms" : "us");
	snprintf(mid, sizeof(mid), " duration_s=%.1f warmup_s=%.1f",
	    m.duration, m.warmup);
	minloop_report(&m, head, mid, "");
	minloop_free(&m);
	return m.errors > 0 ? 1 : 0;
}
