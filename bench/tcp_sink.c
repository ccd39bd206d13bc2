/* SPDX-License-Identifier: ISC */
/*
 * tcp_sink: the loopback listener the TCP benchmark probes.
 *
 * It accepts every connection and keeps it until the peer closes (read
 * returns 0, or ECONNRESET after an RST), then closes its side.  So the
 * sink is never the active closer and never holds a socket in TIME_WAIT:
 * whatever TIME_WAIT the bench counts belongs to the client under test.
 *
 * It owns nothing but its own sockets.  It prints the port it bound on
 * 127.0.0.1 on stdout (one line), then runs until SIGTERM or SIGINT and
 * prints its counters as one logfmt line on exit.  With --status FILE it
 * also rewrites FILE (atomically, by rename) every second and at once on
 * SIGUSR1, so a script can read the accepted count at a precise moment:
 * send SIGUSR1, wait until seq= changes.
 *
 * Plain C, no project libraries: it must not share code with what it
 * measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SINK_MAX_EVENTS		256
#define SINK_ACCEPT_BATCH	256	/* accepts per wakeup, then reads */
#define SINK_EMFILE_PAUSE_MS	10

/* epoll data for the sink's own fds; connections use their fd (>= 0). */
#define SINK_TAG_LISTEN		((uint64_t)-1)
#define SINK_TAG_SIGNAL		((uint64_t)-2)
#define SINK_TAG_TIMER		((uint64_t)-3)

struct sink {
	int		 epfd;
	int		 lfd;
	int		 sfd;
	int		 tfd;
	const char	*status_path;
	uint64_t	 seq;
	uint64_t	 accepted;
	uint64_t	 closed_fin;	/* peer closed with FIN */
	uint64_t	 closed_rst;	/* peer closed with RST */
	uint64_t	 accept_errors;
	uint64_t	 bytes;
	int64_t		 open;
	int64_t		 open_max;
	int		 paused;	/* listener off after EMFILE */
};

static void
usage(void)
{
	fprintf(stderr, "usage: tcp_sink [--port N] [--backlog N] "
	    "[--status FILE]\n");
	exit(2);
}

/* Parses an integer in [min, max] or exits with the usage. */
static int
int_arg(const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return (int)v;
}

static void
die(const char *what)
{
	fprintf(stderr, "tcp_sink: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* As many fds as the hard limit allows: the sink must not be the limit. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
sink_status(struct sink *s)
{
	char	tmp[4096], line[512];
	int	fd, n;

	if (s->status_path == NULL)
		return;
	s->seq++;
	n = snprintf(line, sizeof(line), "seq=%" PRIu64 " t_us=%" PRId64
	    " accepted=%" PRIu64 " open=%" PRId64 " closed_fin=%" PRIu64
	    " closed_rst=%" PRIu64 "\n", s->seq, now_us(), s->accepted,
	    s->open, s->closed_fin, s->closed_rst);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->status_path) >=
	    (int)sizeof(tmp))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		die(tmp);
	if (write(fd, line, (size_t)n) != n)
		die(tmp);
	close(fd);
	if (rename(tmp, s->status_path) == -1)
		die(s->status_path);
}

static void
sink_listen_ctl(struct sink *s, int op, uint32_t events)
{
	struct epoll_event	ev = { .events = events,
				       .data.u64 = SINK_TAG_LISTEN };

	if (epoll_ctl(s->epfd, op, s->lfd, &ev) == -1)
		die("epoll_ctl listener");
}

static void
sink_accept(struct sink *s)
{
	struct epoll_event	ev;
	int			i, fd;

	for (i = 0; i < SINK_ACCEPT_BATCH; i++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			s->accept_errors++;
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered: would spin; pause. */
				sink_listen_ctl(s, EPOLL_CTL_MOD, 0);
				s->paused = 1;
				return;
			}
			die("accept4");
		}
		s->accepted++;
		if (++s->open > s->open_max)
			s->open_max = s->open;
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = (uint64_t)fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			die("epoll_ctl conn");
	}
}

/* Reads until EAGAIN; closes only once the peer has closed. */
static void
sink_conn(struct sink *s, int fd)
{
	char	buf[4096];
	ssize_t	n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			s->bytes += (uint64_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0)
			s->closed_fin++;
		else
			s->closed_rst++;	/* ECONNRESET, or any error */
		close(fd);	/* also leaves the epoll set */
		s->open--;
		return;
	}
}

/* Returns 1 when the sink should stop. */
static int
sink_signal(struct sink *s)
{
	struct signalfd_siginfo	si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			sink_status(s);
		else
			return 1;
	}
	return 0;
}

static void
sink_setup(struct sink *s, int port, int backlog)
{
	struct sockaddr_in	sin;
	struct itimerspec	its = { { 1, 0 }, { 1, 0 } };
	struct epoll_event	ev;
	socklen_t		len = sizeof(sin);
	sigset_t		mask;
	int			one = 1;

	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd == -1)
		die("socket");
	(void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind 127.0.0.1");
	/* The kernel caps backlog at net.core.somaxconn. */
	if (listen(s->lfd, backlog) == -1)
		die("listen");
	if (getsockname(s->lfd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname");
	sink_listen_ctl(s, EPOLL_CTL_ADD, EPOLLIN);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		die("sigprocmask");
	if ((s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		die("signalfd");
	ev.events = EPOLLIN;
	ev.data.u64 = SINK_TAG_SIGNAL;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sfd, &ev) == -1)
		die("epoll_ctl signalfd");

	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd == -1 || timerfd_settime(s->tfd, 0, &its, NULL) == -1)
		die("timerfd");
	ev.events = EPOLLIN;
	ev.data.u64 = SINK_TAG_TIMER;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev) == -1)
		die("epoll_ctl timerfd");

	printf("%u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);
}

static void
sink_run(struct sink *s)
{
	struct epoll_event	ev[SINK_MAX_EVENTS];
	uint64_t		ticks;
	int			i, n, stop = 0;

	while (!stop) {
		n = epoll_wait(s->epfd, ev, SINK_MAX_EVENTS,
		    s->paused ? SINK_EMFILE_PAUSE_MS : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (s->paused) {
			s->paused = 0;
			sink_listen_ctl(s, EPOLL_CTL_MOD, EPOLLIN);
		}
		for (i = 0; i < n; i++) {
			switch (ev[i].data.u64) {
			case SINK_TAG_LISTEN:
				sink_accept(s);
				break;
			case SINK_TAG_SIGNAL:
				stop |= sink_signal(s);
				break;
			case SINK_TAG_TIMER:
				if (read(s->tfd, &ticks, sizeof(ticks)) > 0)
					sink_status(s);
				break;
			default:
				sink_conn(s, (int)ev[i].data.u64);
				break;
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sink	s;
	int		i, port = 0, backlog = 4096;

	memset(&s, 0, sizeof(s));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = int_arg(argv[++i], 0, 65535);
		else if (strcmp(argv[i], "--backlog") == 0 && i + 1 < argc)
			backlog = int_arg(argv[++i], 1, 65535);
		else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
			s.status_path = argv[++i];
		else
			usage();
	}
	if (port < 0 || port > 65535 || backlog < 1)
		usage();
	raise_nofile();
	sink_setup(&s, port, backlog);
	sink_status(&s);
	sink_run(&s);
	sink_status(&s);
	printf("tcp_sink accepted=%" PRIu64 " closed_fin=%" PRIu64
	    " closed_rst=%" PRIu64 " open=%" PRId64 " open_max=%" PRId64
	    " accept_errors=%" PRIu64 " bytes=%" PRIu64 "\n", s.accepted,
	    s.closed_fin, s.closed_rst, s.open, s.open_max, s.accept_errors,
	    s.bytes);
	return 0;
}
