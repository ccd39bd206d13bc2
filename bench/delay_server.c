/* SPDX-License-Identifier: ISC */
/*
 * delay_server: the loopback target of bench/accuracy.sh.  It answers HTTP
 * and DNS after a delay the request asks for, and measures the delay it
 * actually put in, so a prober's reported time can be compared with a
 * figure measured on the server's side rather than with a nominal one.
 *
 *   HTTP  GET /delay/MS[/anything]: "200 ok" MS milliseconds after the
 *         request's header block was read (any other path: 404 at once).
 *   DNS   a query whose first label is dMS (d100.x.bench.): an A record
 *         127.0.0.1 (TTL 0) MS milliseconds after the datagram was read.
 *   TCP   the HTTP port accepts and closes when the peer does: a connect
 *         baseline, nothing to delay.
 *
 * The delay is measured with CLOCK_MONOTONIC from just after the read that
 * completed the request to just before the write of the answer (see
 * ds_answer() for why not after), and one line per answer goes to the log
 * (--log FILE, flushed each line):
 *   kind=http target=/delay/10/i3 nominal_ms=10 measured_us=10057.2
 *       write_us=12.5
 * Pending answers wait on one timerfd armed (absolute time) for the
 * earliest; the timer's wake-up latency is in the measured figure.
 *
 * It prints "http=PORT dns=PORT" on stdout, then runs until SIGTERM or
 * SIGINT, or --max-seconds (default 3600) as a safety net.  Plain C, no
 * project libraries: it must not share code with what it measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DS_MAX_CONNS	4096	/* fds at or above this are refused */
#define DS_MAX_PENDING	1024	/* answers waiting for their time */
#define DS_REQ_MAX	4096	/* an HTTP request's header block */
#define DS_DNS_MAX	512
#define DS_MAX_DELAY_MS	60000

#define DS_TAG_HTTP	((uint64_t)-1)
#define DS_TAG_DNS	((uint64_t)-2)
#define DS_TAG_SIGNAL	((uint64_t)-3)
#define DS_TAG_TIMER	((uint64_t)-4)

struct ds_conn {
	size_t	 len;
	bool	 answered;		/* queued: stop reading the request */
	char	 req[DS_REQ_MAX];
};

struct ds_pending {
	bool			 used;
	bool			 dns;
	int			 fd;		/* the connection, for http */
	struct sockaddr_in	 peer;		/* for dns */
	int64_t			 t_in;		/* ns, request read */
	int64_t			 due;		/* ns */
	long			 nominal_ms;
	size_t			 len;
	char			 target[256];
	unsigned char		 out[DS_DNS_MAX];
};

struct ds {
	int			 epfd, hfd, ufd, sfd, tfd;
	FILE			*log;
	struct ds_conn		*conns[DS_MAX_CONNS];
	struct ds_pending	 pend[DS_MAX_PENDING];
	unsigned long		 answered, dropped;
};

static const char ds_http_ok[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";
static const char ds_http_404[] = "HTTP/1.1 404 Not Found\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

static int64_t
ds_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
ds_die(const char *what)
{
	fprintf(stderr, "delay_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A listening (or bound, for UDP) socket on 127.0.0.1:0; returns its fd. */
static int
ds_bind(int type, int *port)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);
	int			fd;

	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		ds_die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		ds_die("bind");
	if (type == SOCK_STREAM && listen(fd, 1024) == -1)
		ds_die("listen");
	if (getsockname(fd, (struct sockaddr *)&sin, &slen) == -1)
		ds_die("getsockname");
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
ds_watch(struct ds *s, int fd, uint64_t tag)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		ds_die("epoll_ctl");
}

/* Arms the timerfd for the earliest pending answer (or disarms it). */
static void
ds_arm(struct ds *s)
{
	struct itimerspec	its;
	int64_t			due = -1;
	size_t			i;

	for (i = 0; i < DS_MAX_PENDING; i++)
		if (s->pend[i].used && (due == -1 || s->pend[i].due < due))
			due = s->pend[i].due;
	memset(&its, 0, sizeof(its));
	if (due != -1) {
		if (due <= 0)
			due = 1;	/* 0 would disarm it */
		its.it_value.tv_sec = due / 1000000000;
		its.it_value.tv_nsec = due % 1000000000;
	}
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		ds_die("timerfd_settime");
}

static struct ds_pending *
ds_pending_new(struct ds *s)
{
	size_t	i;

	for (i = 0; i < DS_MAX_PENDING; i++)
		if (!s->pend[i].used) {
			memset(&s->pend[i], 0, sizeof(s->pend[i]));
			s->pend[i].used = true;
			return &s->pend[i];
		}
	s->dropped++;
	return NULL;
}

/* Also drops an answer still waiting for it: the fd may be reused. */
static void
ds_conn_close(struct ds *s, int fd)
{
	size_t	i;

	for (i = 0; i < DS_MAX_PENDING; i++)
		if (s->pend[i].used && !s->pend[i].dns && s->pend[i].fd == fd) {
			s->pend[i].used = false;
			s->dropped++;
		}
	free(s->conns[fd]);
	s->conns[fd] = NULL;
	close(fd);
}

/*
 * Writes a due answer and logs the delay measured up to the write.  The
 * end mark is taken just before write(): on loopback the write wakes the
 * prober, which on a busy host often preempts us right after it, so a
 * mark taken after the write would count our waiting for a CPU while the
 * prober already has the answer.  What write() itself took is logged too.
 */
static void
ds_answer(struct ds *s, struct ds_pending *p)
{
	ssize_t	n;
	int64_t	t_out, t_done;

	t_out = ds_now();
	if (p->dns)
		n = sendto(s->ufd, p->out, p->len, 0,
		    (struct sockaddr *)&p->peer, sizeof(p->peer));
	else
		n = write(p->fd, p->nominal_ms < 0 ? ds_http_404 : ds_http_ok,
		    p->nominal_ms < 0 ? sizeof(ds_http_404) - 1 :
		    sizeof(ds_http_ok) - 1);
	t_done = ds_now();
	p->used = false;
	if (n == -1) {
		fprintf(stderr, "delay_server: answer %s: %s\n", p->target,
		    strerror(errno));
		s->dropped++;
	} else
		s->answered++;
	if (n != -1 && s->log != NULL) {
		fprintf(s->log, "kind=%s target=%s nominal_ms=%ld "
		    "measured_us=%.1f write_us=%.1f\n", p->dns ? "dns" : "http",
		    p->target, p->nominal_ms, (double)(t_out - p->t_in) / 1e3,
		    (double)(t_done - t_out) / 1e3);
		fflush(s->log);
	}
	/* The peer reads "ok" and its FIN; it closes, we see EOF and close. */
	if (!p->dns)
		shutdown(p->fd, SHUT_WR);
}

static void
ds_fire(struct ds *s)
{
	uint64_t	ticks;
	int64_t		now = ds_now();
	size_t		i;

	if (read(s->tfd, &ticks, sizeof(ticks)) == -1 && errno != EAGAIN)
		ds_die("read timerfd");
	for (i = 0; i < DS_MAX_PENDING; i++)
		if (s->pend[i].used && s->pend[i].due <= now)
			ds_answer(s, &s->pend[i]);
	ds_arm(s);
}

/* Queues p; an answer due now is written at once, without a timer trip. */
static void
ds_queue(struct ds *s, struct ds_pending *p)
{
	if (p->nominal_ms <= 0) {
		ds_answer(s, p);
		return;
	}
	p->due = p->t_in + (int64_t)p->nominal_ms * 1000000;
	ds_arm(s);
}

/* "GET /delay/MS..." -> MS, or -1 for any other request. */
static long
ds_http_delay(const char *req, char *target, size_t targetlen)
{
	const char	*sp, *end;
	char		*stop;
	long		 ms;

	snprintf(target, targetlen, "?");
	if (strncmp(req, "GET ", 4) != 0)
		return -1;
	sp = req + 4;
	end = strpbrk(sp, " \r\n");
	if (end == NULL)
		return -1;
	snprintf(target, targetlen, "%.*s", (int)(end - sp), sp);
	if (strncmp(target, "/delay/", 7) != 0)
		return -1;
	ms = strtol(target + 7, &stop, 10);
	if (stop == target + 7 || (*stop != '\0' && *stop != '/' &&
	    *stop != '?') || ms < 0 || ms > DS_MAX_DELAY_MS)
		return -1;
	return ms;
}

/* Reads from a connection; a complete header block queues its answer. */
static void
ds_http_read(struct ds *s, int fd)
{
	struct ds_conn		*c = s->conns[fd];
	struct ds_pending	*p;
	ssize_t			 n;
	int64_t			 t_in;

	n = read(fd, c->req + c->len, sizeof(c->req) - 1 - c->len);
	t_in = ds_now();
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		ds_conn_close(s, fd);	/* its answer, if any, went out */
		return;
	}
	if (n == -1 || c->answered)
		return;
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") == NULL) {
		if (c->len == sizeof(c->req) - 1)
			ds_conn_close(s, fd);
		return;
	}
	c->answered = true;
	if ((p = ds_pending_new(s)) == NULL) {
		ds_conn_close(s, fd);
		return;
	}
	p->fd = fd;
	p->t_in = t_in;
	p->nominal_ms = ds_http_delay(c->req, p->target, sizeof(p->target));
	ds_queue(s, p);
}

static void
ds_http_accept(struct ds *s)
{
	int	fd;

	while ((fd = accept4(s->hfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		if (fd >= DS_MAX_CONNS) {
			close(fd);
			s->dropped++;
			continue;
		}
		s->conns[fd] = calloc(1, sizeof(*s->conns[fd]));
		if (s->conns[fd] == NULL)
			ds_die("calloc");
		ds_watch(s, fd, (uint64_t)fd);
	}
}

/*
 * The question of a query (RFC 1035 §4.1.2) as "d10.x.bench." and its
 * end offset; the delay is the first label's digits after 'd'.
 */
static long
ds_dns_question(const unsigned char *q, size_t len, char *name,
    size_t namelen, size_t *qend)
{
	size_t	i = 12, o = 0;
	long	ms = 0;

	name[0] = '\0';
	while (i < len && q[i] != 0) {
		if ((q[i] & 0xc0) != 0 || i + 1 + q[i] > len ||
		    o + q[i] + 2 >= namelen)
			return -1;
		memcpy(name + o, q + i + 1, q[i]);
		o += q[i];
		name[o++] = '.';
		name[o] = '\0';
		i += 1 + q[i];
	}
	if (i + 5 > len)
		return -1;
	*qend = i + 5;		/* root label, QTYPE, QCLASS */
	if (name[0] == 'd')
		ms = strtol(name + 1, NULL, 10);
	return ms < 0 || ms > DS_MAX_DELAY_MS ? -1 : ms;
}

/* The answer: the question, and an A record 127.0.0.1 if A was asked. */
static size_t
ds_dns_build(const unsigned char *q, size_t qend, unsigned char *out)
{
	static const unsigned char rr[] = { 0xc0, 0x0c, 0, 1, 0, 1,
	    0, 0, 0, 0, 0, 4, 127, 0, 0, 1 };
	bool	a = q[qend - 4] == 0 && q[qend - 3] == 1;
	size_t	len = qend;

	memcpy(out, q, qend);
	out[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, the query's RD */
	out[3] = 0;			/* RA 0, NOERROR */
	out[4] = 0; out[5] = 1;
	out[6] = 0; out[7] = a ? 1 : 0;
	memset(out + 8, 0, 4);		/* no NS, no additional (no OPT) */
	if (a) {
		memcpy(out + len, rr, sizeof(rr));
		len += sizeof(rr);
	}
	return len;
}

static void
ds_dns_read(struct ds *s)
{
	unsigned char		 q[DS_DNS_MAX];
	struct ds_pending	*p;
	struct sockaddr_in	 peer;
	socklen_t		 plen;
	ssize_t			 n;
	size_t			 qend;
	int64_t			 t_in;
	char			 name[256];
	long			 ms;

	for (;;) {
		plen = sizeof(peer);
		n = recvfrom(s->ufd, q, sizeof(q), 0, (struct sockaddr *)&peer,
		    &plen);
		t_in = ds_now();
		if (n == -1)
			return;
		if (n < 12 || (q[2] & 0x80) != 0 || (ms = ds_dns_question(q,
		    (size_t)n, name, sizeof(name), &qend)) < 0 ||
		    qend + 16 > DS_DNS_MAX || (p = ds_pending_new(s)) == NULL)
			continue;
		p->dns = true;
		p->peer = peer;
		p->t_in = t_in;
		p->nominal_ms = ms;
		snprintf(p->target, sizeof(p->target), "%s", name);
		p->len = ds_dns_build(q, qend, p->out);
		ds_queue(s, p);
	}
}

static void
ds_setup(struct ds *s, const char *logpath)
{
	sigset_t	mask;
	int		hport, uport;

	memset(s, 0, sizeof(*s));
	if (logpath != NULL && (s->log = fopen(logpath, "a")) == NULL)
		ds_die(logpath);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		ds_die("epoll_create1");
	s->hfd = ds_bind(SOCK_STREAM, &hport);
	s->ufd = ds_bind(SOCK_DGRAM, &uport);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		ds_die("signalfd");
	if ((s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		ds_die("timerfd_create");
	ds_watch(s, s->hfd, DS_TAG_HTTP);
	ds_watch(s, s->ufd, DS_TAG_DNS);
	ds_watch(s, s->sfd, DS_TAG_SIGNAL);
	ds_watch(s, s->tfd, DS_TAG_TIMER);
	printf("http=%d dns=%d\n", hport, uport);
	fflush(stdout);
}

/* Runs until a signal or the deadline; returns the exit status. */
static int
ds_run(struct ds *s, int64_t deadline)
{
	struct epoll_event	ev[64];
	int			i, n;

	while (ds_now() < deadline) {
		n = epoll_wait(s->epfd, ev, 64, 1000);
		if (n == -1 && errno != EINTR)
			ds_die("epoll_wait");
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 == DS_TAG_SIGNAL)
				return 0;
			if (ev[i].data.u64 == DS_TAG_TIMER)
				ds_fire(s);
			else if (ev[i].data.u64 == DS_TAG_HTTP)
				ds_http_accept(s);
			else if (ev[i].data.u64 == DS_TAG_DNS)
				ds_dns_read(s);
			else if (s->conns[ev[i].data.u64] != NULL)
				ds_http_read(s, (int)ev[i].data.u64);
		}
	}
	fprintf(stderr, "delay_server: --max-seconds reached\n");
	return 1;
}

int
main(int argc, char *argv[])
{
	static struct ds	 s;
	const char		*logpath = NULL;
	long			 max_s = 3600;
	int			 i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			logpath = argv[++i];
		else if (strcmp(argv[i], "--max-seconds") == 0 &&
		    i + 1 < argc)
			max_s = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: delay_server [--log FILE] "
			    "[--max-seconds N]\n");
			return 2;
		}
	}
	ds_setup(&s, logpath);
	rc = ds_run(&s, ds_now() + (int64_t)max_s * 1000000000);
	fprintf(stderr, "delay_server: answered=%lu dropped=%lu\n",
	    s.answered, s.dropped);
	return rc;
}
