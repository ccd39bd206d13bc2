/* SPDX-License-Identifier: ISC */
/*
 * flakyhook: the soak's Slack-compatible webhook, which fails on a
 * schedule and records what it accepted (bench/soak.sh).
 *
 * It serves HTTP/1.1 (keep-alive, Expect: 100-continue) on 127.0.0.1 and
 * answers every POST according to the phase of its schedule, a list of
 * MODE:SECONDS given on the command line (the last phase lasts forever):
 *   ok     200 "ok", as Slack does; the notification is recorded
 *   500    500 "rollup_error" (Slack's own transient error)
 *   429    429 with Retry-After (--retry-after, default 20 s)
 *   drop   closes the connection as soon as the request arrived
 *   hang   reads the request and never answers
 * Only a request answered 200 is recorded: one line per notification in
 * --record FILE, "MS_SINCE_START<TAB>UNIX_MS<TAB>TEXT" (the wall clock, to
 * line a record up with sonde's log), TEXT being the JSON "text"
 * member of the body (the first one, which is the top-level one in the
 * body sonde writes), written and flushed before the 200 goes out.  It
 * prints its port on stdout, logs each phase change on stderr, and prints
 * its counters on SIGTERM or SIGINT.
 *
 * Plain C, no project code: it must not share code with what it tests.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	1024
#define MAX_REQ		(1 << 20)	/* a Slack body is a few kB */
#define MAX_PHASES	64
#define TAG_LISTEN	((uint64_t)-1)
#define TAG_SIGNAL	((uint64_t)-2)
#define TAG_TIMER	((uint64_t)-3)

enum mode { M_OK, M_500, M_429, M_DROP, M_HANG, M_LAST };

static const char *const mode_name[M_LAST] = {
	"ok", "500", "429", "drop", "hang"
};

struct phase {
	enum mode	 mode;
	int64_t		 end_ms;	/* since start; -1: forever */
};

struct conn {
	int		 fd;		/* -1: free */
	int		 hung;
	int		 continued;	/* 100 Continue sent */
	size_t		 len;
	char		*buf;
};

struct hook {
	int		 epfd, lfd, sfd, tfd;
	struct phase	 phases[MAX_PHASES];
	int		 nphases, cur;
	int		 retry_after;
	int64_t		 t0_ms;
	FILE		*rec;
	struct conn	 conns[MAX_CONNS];
	uint64_t	 requests[M_LAST];
	uint64_t	 recorded, conns_accepted, conns_refused, bad_requests;
};

static void
die(const char *what)
{
	fprintf(stderr, "flakyhook: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "ok:180,500:120,...,ok" into phases; exits on a bad one. */
static void
parse_schedule(struct hook *h, char *spec)
{
	char	*tok, *colon, *save = NULL;
	int64_t	 t = 0;
	int	 m;

	for (tok = strtok_r(spec, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (h->nphases == MAX_PHASES)
			goto bad;
		if ((colon = strchr(tok, ':')) != NULL)
			*colon++ = '\0';
		for (m = 0; m < M_LAST && strcmp(tok, mode_name[m]) != 0; m++)
			;
		if (m == M_LAST)
			goto bad;
		h->phases[h->nphases].mode = (enum mode)m;
		if (colon != NULL) {
			t += strtoll(colon, NULL, 10) * 1000;
			h->phases[h->nphases].end_ms = t;
		} else
			h->phases[h->nphases].end_ms = -1;
		h->nphases++;
	}
	if (h->nphases > 0)
		return;
bad:
	fprintf(stderr, "flakyhook: bad schedule (MODE[:SECONDS],...; "
	    "modes ok 500 429 drop hang)\n");
	exit(2);
}

/* The phase now; logs a change. */
static enum mode
cur_mode(struct hook *h)
{
	int64_t	t = now_ms() - h->t0_ms;
	int	c = h->cur;

	while (c + 1 < h->nphases && h->phases[c].end_ms >= 0 &&
	    t >= h->phases[c].end_ms)
		c++;
	if (c != h->cur) {
		h->cur = c;
		fprintf(stderr, "flakyhook: t=%.1fs phase=%d mode=%s\n",
		    (double)t / 1e3, c, mode_name[h->phases[c].mode]);
	}
	return h->phases[h->cur].mode;
}

static void
conn_close(struct hook *h, struct conn *c)
{
	(void)h;
	if (c->fd == -1)
		return;
	close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}

static int
say(struct conn *c, const char *s)
{
	size_t	n = strlen(s);

	/* small answers on a fresh socket buffer: a short write is a dead
	 * peer, for this purpose */
	return send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ?
	    0 : -1;
}

/* The first "text":"..." of the body, unescaped enough for names. */
static void
record(struct hook *h, const char *body, size_t blen)
{
	const char	*p, *end = body + blen;
	char		 out[1024];
	size_t		 o = 0;

	p = memmem(body, blen, "\"text\":\"", 8);
	if (p == NULL) {
		fprintf(h->rec, "%" PRId64 "\t%" PRId64 "\t?\n",
		    now_ms() - h->t0_ms, wall_ms());
		fflush(h->rec);
		return;
	}
	for (p += 8; p < end && *p != '"' && o + 2 < sizeof(out); p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		out[o++] = *p == '\t' || *p == '\n' ? ' ' : *p;
	}
	out[o] = '\0';
	fprintf(h->rec, "%" PRId64 "\t%" PRId64 "\t%s\n", now_ms() - h->t0_ms,
	    wall_ms(), out);
	fflush(h->rec);
	h->recorded++;
}

/* The value of header NAME in the head, or -1. */
static long
header_num(const char *head, size_t hlen, const char *name)
{
	const char	*p = head, *end = head + hlen, *nl;
	size_t		 n = strlen(name);

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = nl + 1;
		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':')
			return strtol(p + n + 1, NULL, 10);
	}
	return -1;
}

static int
has_expect(const char *head, size_t hlen)
{
	return memmem(head, hlen, "100-continue", 12) != NULL;
}

/* One complete request: answer it as the phase says; -1: close. */
static int
answer(struct hook *h, struct conn *c, const char *body, size_t blen)
{
	char	 msg[256];
	enum mode m = cur_mode(h);

	h->requests[m]++;
	switch (m) {
	case M_OK:
		record(h, body, blen);
		return say(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		    "Content-Length: 2\r\n\r\nok");
	case M_500:
		return say(c, "HTTP/1.1 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 12\r\n\r\n"
		    "rollup_error");
	case M_429:
		snprintf(msg, sizeof(msg), "HTTP/1.1 429 Too Many Requests\r\n"
		    "Retry-After: %d\r\nContent-Type: text/plain\r\n"
		    "Content-Length: 12\r\n\r\nrate_limited", h->retry_after);
		return say(c, msg);
	case M_DROP:
		return -1;
	default:
		c->hung = 1;
		return 0;
	}
}

/* Handles every complete request in the buffer; -1: close. */
static int
conn_process(struct hook *h, struct conn *c)
{
	char	*eoh;
	size_t	 hlen, need;
	long	 cl;

	while (!c->hung && c->len > 0) {
		eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (eoh == NULL)
			return c->len >= MAX_REQ ? -1 : 0;
		hlen = (size_t)(eoh - c->buf) + 4;
		cl = header_num(c->buf, hlen, "Content-Length");
		if (cl < 0 || cl > MAX_REQ) {
			h->bad_requests++;
			say(c, "HTTP/1.1 400 Bad Request\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n");
			return -1;
		}
		need = hlen + (size_t)cl;
		if (c->len < need) {
			if (!c->continued && has_expect(c->buf, hlen)) {
				c->continued = 1;
				if (say(c, "HTTP/1.1 100 Continue\r\n\r\n") == -1)
					return -1;
			}
			return 0;
		}
		if (answer(h, c, c->buf + hlen, (size_t)cl) == -1)
			return -1;
		memmove(c->buf, c->buf + need, c->len - need);
		c->len -= need;
		c->continued = 0;
	}
	return 0;
}

static void
on_conn(struct hook *h, struct conn *c)
{
	ssize_t	 r;

	if (c->fd == -1)
		return;
	if (c->buf == NULL && (c->buf = malloc(MAX_REQ)) == NULL)
		die("malloc");
	r = recv(c->fd, c->buf + c->len, MAX_REQ - c->len, MSG_DONTWAIT);
	if (r == 0 || (r == -1 && errno != EAGAIN)) {
		conn_close(h, c);
		return;
	}
	if (r == -1)
		return;
	if (c->hung) {		/* a hung request: drain, never answer */
		c->len = 0;
		return;
	}
	c->len += (size_t)r;
	if (conn_process(h, c) == -1)
		conn_close(h, c);
	else if (c->len == 0) {
		free(c->buf);	/* idle keep-alive: give the buffer back */
		c->buf = NULL;
	}
}

static void
on_accept(struct hook *h)
{
	struct epoll_event	 e;
	int			 fd, i;

	while ((fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < MAX_CONNS && h->conns[i].fd != -1; i++)
			;
		if (i == MAX_CONNS) {
			h->conns_refused++;
			close(fd);
			continue;
		}
		h->conns_accepted++;
		h->conns[i] = (struct conn){ .fd = fd };
		e.events = EPOLLIN;
		e.data.u64 = (uint64_t)i;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &e) == -1)
			die("epoll_ctl");
	}
}

static int
listen_lo(struct hook *h, int port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	struct epoll_event	e = { .events = EPOLLIN, .data.u64 = TAG_LISTEN };
	int			one = 1;

	if ((h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(h->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(h->lfd, 128) == -1 ||
	    getsockname(h->lfd, (struct sockaddr *)&sin, &len) == -1)
		die("bind/listen");
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &e) == -1)
		die("epoll_ctl");
	return ntohs(sin.sin_port);
}

static void
report(const struct hook *h)
{
	int	m;

	printf("event=stopped recorded=%" PRIu64, h->recorded);
	for (m = 0; m < M_LAST; m++)
		printf(" requests_%s=%" PRIu64, mode_name[m], h->requests[m]);
	printf(" conns=%" PRIu64 " conns_refused=%" PRIu64 " bad_requests=%"
	    PRIu64 "\n", h->conns_accepted, h->conns_refused,
	    h->bad_requests);
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: flakyhook --record FILE [--schedule "
	    "MODE:SECONDS,...] [--retry-after S] [--port N]\n");
	exit(2);
}

/* Options into h; returns the port to bind. */
static int
setup(struct hook *h, int argc, char **argv)
{
	char	sched[] = "ok";
	int	i, port = 0;

	h->retry_after = 20;
	for (i = 0; i < MAX_CONNS; i++)
		h->conns[i].fd = -1;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--record") == 0) {
			if ((h->rec = fopen(argv[i + 1], "a")) == NULL)
				die(argv[i + 1]);
		} else if (strcmp(argv[i], "--schedule") == 0)
			parse_schedule(h, argv[i + 1]);
		else if (strcmp(argv[i], "--retry-after") == 0)
			h->retry_after = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else
			usage();
	}
	if (i != argc || h->rec == NULL)
		usage();
	if (h->nphases == 0)
		parse_schedule(h, sched);
	return port;
}

/* The epoll set with the signal fd and a one-second tick. */
static void
setup_loop(struct hook *h)
{
	struct epoll_event	e;
	struct itimerspec	its = { { 1, 0 }, { 1, 0 } };
	sigset_t		mask;

	signal(SIGPIPE, SIG_IGN);
	if ((h->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((h->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		die("signalfd");
	e.events = EPOLLIN;
	e.data.u64 = TAG_SIGNAL;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->sfd, &e);
	/* a tick so that phase changes are logged on time */
	if ((h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 || timerfd_settime(h->tfd, 0, &its, NULL) == -1)
		die("timerfd");
	e.data.u64 = TAG_TIMER;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &e);
}

int
main(int argc, char **argv)
{
	static struct hook	h;
	struct epoll_event	ev[64];
	uint64_t		tag, x;
	int			n, i, port;

	port = setup(&h, argc, argv);
	setup_loop(&h);
	h.t0_ms = now_ms();
	printf("%d\n", listen_lo(&h, port));
	fflush(stdout);
	fprintf(stderr, "flakyhook: t=0.0s phase=0 mode=%s\n",
	    mode_name[h.phases[0].mode]);
	for (;;) {
		if ((n = epoll_wait(h.epfd, ev, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			tag = ev[i].data.u64;
			if (tag == TAG_SIGNAL) {
				report(&h);
				return 0;
			} else if (tag == TAG_TIMER) {
				if (read(h.tfd, &x, sizeof(x)) > 0)
					(void)cur_mode(&h);
			} else if (tag == TAG_LISTEN)
				on_accept(&h);
			else
				on_conn(&h, &h.conns[tag]);
		}
	}
}
