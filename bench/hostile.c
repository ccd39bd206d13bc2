/* SPDX-License-Identifier: ISC */
/*
 * hostile: the misbehaving targets of the soak (bench/soak.sh).
 *
 * One epoll process serves, on 127.0.0.1 ports it picks itself, every way
 * a target can hurt a prober without being simply down:
 *   drip      accepts, reads the request, sends a status line, then one
 *             header byte a second, never finishing the head
 *   silent    accepts and never writes
 *   endless   a 200 with no length, streaming bytes as fast as the socket
 *             takes them (up to --max-bytes a connection)
 *   backlog   listen(fd, 0) and never accept(): the queue stays full
 *   garbage   writes random bytes at once
 *   dns       UDP: each query gets, in turn, random bytes, a header cut
 *             short, an answer that claims a record and stops, the right
 *             answer with the wrong id, and TC=1 (so the client retries on
 *             TCP, where the same port accepts and never answers)
 *   dns_silent UDP: reads queries and never answers
 * It prints "drip=P silent=P ..." on stdout, then runs until SIGTERM or
 * SIGINT and prints its counters as one logfmt line.  Connections are
 * closed when the peer closes (so the server holds no TIME_WAIT); beyond
 * --max-conns open ones, new ones are closed at once.
 *
 * Plain C, no project code: it must not share code with what it tests.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
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

enum kind {
	K_DRIP, K_SILENT, K_ENDLESS, K_BACKLOG, K_GARBAGE, K_DNSTCP,
	K_DNS, K_DNS_SILENT, K_LAST
};

static const char *const kind_name[K_LAST] = {
	"drip", "silent", "endless", "backlog", "garbage", "dns_tcp", "dns",
	"dns_silent"
};

#define TAG_SIGNAL	((uint64_t)1 << 40)
#define TAG_TIMER	((uint64_t)2 << 40)
#define TAG_LISTEN	((uint64_t)3 << 40)	/* | kind */
#define MAX_EVENTS	256
#define CHUNK		65536

struct conn {
	int		 open;
	enum kind	 kind;
	int		 started;	/* drip/endless: response begun */
	uint64_t	 sent;
};

struct hostile {
	int		 epfd;
	int		 sfd;		/* signalfd: TERM, INT */
	int		 tfd;		/* timerfd: the drip's second */
	int		 lfd[K_LAST];
	int		 port[K_LAST];
	struct conn	*conns;		/* indexed by fd */
	int		 nconns;
	int64_t		 open, open_max, max_conns;
	uint64_t	 max_bytes;
	uint64_t	 accepted[K_LAST];
	uint64_t	 bytes_out[K_LAST];
	uint64_t	 cap_closed;
	uint64_t	 dns_queries, dns_answers, dns_ignored;
	uint64_t	 rng;
	char		 chunk[CHUNK];
};

static void
die(const char *what)
{
	fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
rnd(struct hostile *h)
{
	/* xorshift64: fast and good enough for garbage */
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

static void
ep_add(struct hostile *h, int fd, uint32_t ev, uint64_t data)
{
	struct epoll_event	e = { .events = ev, .data.u64 = data };

	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &e) == -1)
		die("epoll_ctl add");
}

/* Binds 127.0.0.1:port (0: any) of the type; returns the fd. */
static int
bind_lo(int type, int port, int *bound)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname");
	*bound = ntohs(sin.sin_port);
	return fd;
}

static void
listen_tcp(struct hostile *h, enum kind k, int backlog)
{
	if ((h->lfd[k] = bind_lo(SOCK_STREAM, 0, &h->port[k])) == -1)
		die("bind");
	if (listen(h->lfd[k], backlog) == -1)
		die("listen");
	/* backlog: never accepted, so never watched */
	if (k != K_BACKLOG)
		ep_add(h, h->lfd[k], EPOLLIN, TAG_LISTEN | k);
}

/* The DNS port: UDP, and TCP on the same number (for TC=1 retries). */
static void
listen_dns(struct hostile *h)
{
	int	tries, port, fd;

	for (tries = 0; tries < 50; tries++) {
		h->lfd[K_DNS] = bind_lo(SOCK_DGRAM, 0, &port);
		if (h->lfd[K_DNS] == -1)
			die("bind udp");
		if ((fd = bind_lo(SOCK_STREAM, port, &port)) != -1)
			break;
		close(h->lfd[K_DNS]);
	}
	if (tries == 50)
		die("no port free for both UDP and TCP");
	h->port[K_DNS] = h->port[K_DNSTCP] = port;
	h->lfd[K_DNSTCP] = fd;
	if (listen(fd, 1024) == -1)
		die("listen");
	ep_add(h, fd, EPOLLIN, TAG_LISTEN | K_DNSTCP);
	ep_add(h, h->lfd[K_DNS], EPOLLIN, TAG_LISTEN | K_DNS);
	if ((h->lfd[K_DNS_SILENT] = bind_lo(SOCK_DGRAM, 0,
	    &h->port[K_DNS_SILENT])) == -1)
		die("bind udp");
	ep_add(h, h->lfd[K_DNS_SILENT], EPOLLIN, TAG_LISTEN | K_DNS_SILENT);
}

static void
conn_close(struct hostile *h, int fd)
{
	if (fd < 0 || fd >= h->nconns || !h->conns[fd].open)
		return;
	h->conns[fd].open = 0;
	h->open--;
	close(fd);		/* also leaves the epoll set */
}

/* Writes what the socket takes, at most n bytes; -1 on a dead peer. */
static int
conn_write(struct hostile *h, int fd, const char *p, size_t n)
{
	ssize_t	w;

	w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == -1)
		return errno == EAGAIN ? 0 : -1;
	h->conns[fd].sent += (uint64_t)w;
	h->bytes_out[h->conns[fd].kind] += (uint64_t)w;
	return 0;
}

static void
garbage_fill(struct hostile *h, char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (char)(rnd(h) & 0xff);
}

static void
on_accept(struct hostile *h, enum kind k)
{
	char	junk[256];
	int	fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(h->lfd[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;		/* EAGAIN, or EMFILE: next wakeup */
		if (h->open >= h->max_conns || fd >= h->nconns) {
			h->cap_closed++;
			close(fd);
			continue;
		}
		h->accepted[k]++;
		h->conns[fd] = (struct conn){ .open = 1, .kind = k };
		if (++h->open > h->open_max)
			h->open_max = h->open;
		ep_add(h, fd, EPOLLIN | EPOLLRDHUP, (uint64_t)fd);
		if (k == K_GARBAGE) {
			garbage_fill(h, junk, sizeof(junk));
			if (conn_write(h, fd, junk, sizeof(junk)) == -1)
				conn_close(h, fd);
		}
	}
}

/* The response starts once the request (any bytes of it) arrived. */
static void
conn_start(struct hostile *h, int fd)
{
	static const char	drip[] = "HTTP/1.1 200 OK\r\nX-Drip: ";
	static const char	endless[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Connection: close\r\n\r\n";
	struct conn		*c = &h->conns[fd];
	struct epoll_event	 e = { .events = EPOLLIN | EPOLLOUT |
	    EPOLLRDHUP, .data.u64 = (uint64_t)fd };

	c->started = 1;
	if (c->kind == K_DRIP) {
		if (conn_write(h, fd, drip, sizeof(drip) - 1) == -1)
			conn_close(h, fd);
		return;
	}
	if (conn_write(h, fd, endless, sizeof(endless) - 1) == -1) {
		conn_close(h, fd);
		return;
	}
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &e) == -1)
		die("epoll_ctl mod");
}

static void
on_conn(struct hostile *h, int fd, uint32_t ev)
{
	struct conn	*c;
	char		 buf[4096];
	ssize_t		 r;

	if (fd >= h->nconns || !(c = &h->conns[fd])->open)
		return;		/* closed earlier in this batch */
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r == -1 && errno != EAGAIN)) {
			conn_close(h, fd);
			return;
		}
		if (r > 0 && !c->started &&
		    (c->kind == K_DRIP || c->kind == K_ENDLESS))
			conn_start(h, fd);
	}
	if (c->open && (ev & EPOLLOUT) && c->kind == K_ENDLESS) {
		if (c->sent >= h->max_bytes) {
			conn_close(h, fd);
			return;
		}
		if (conn_write(h, fd, h->chunk, CHUNK) == -1)
			conn_close(h, fd);
	}
}

/* A DNS answer shaped by the query's turn; 0: no answer. */
static size_t
dns_answer(struct hostile *h, const unsigned char *q, size_t qn,
    unsigned char *a, size_t alen)
{
	size_t	n;

	if (qn < 12 || qn + 16 > alen)
		return 0;
	memcpy(a, q, qn);
	a[2] = (unsigned char)(0x80 | (q[2] & 0x79) | 0x04);	/* QR, AA */
	a[3] = 0x80;
	switch (h->dns_queries % 5) {
	case 0:		/* random bytes of a random length */
		n = 1 + rnd(h) % 96;
		garbage_fill(h, (char *)a, n);
		return n;
	case 1:		/* a header cut short */
		return 7;
	case 2:		/* claims one answer, carries none */
		a[7] = 1;
		return qn;
	case 3:		/* a right-looking answer with the wrong id */
		a[1] ^= 0x5a;
		a[7] = 1;
		n = qn;
		memcpy(a + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c"
		    "\x00\x04\x7f\x00\x00\x01", 16);
		return n + 16;
	default:	/* truncated: the client must retry over TCP */
		a[2] |= 0x02;
		return qn;
	}
}

static void
on_dns(struct hostile *h, enum kind k)
{
	unsigned char		 q[512], a[512 + 16];
	struct sockaddr_in	 from;
	socklen_t		 flen;
	ssize_t			 r;
	size_t			 n;
	int			 i;

	for (i = 0; i < 64; i++) {
		flen = sizeof(from);
		r = recvfrom(h->lfd[k], q, sizeof(q), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (r == -1)
			return;
		h->accepted[k]++;
		if (k == K_DNS_SILENT) {
			h->dns_ignored++;
			continue;
		}
		n = dns_answer(h, q, (size_t)r, a, sizeof(a));
		h->dns_queries++;
		if (n > 0 && sendto(h->lfd[k], a, n, MSG_DONTWAIT,
		    (struct sockaddr *)&from, flen) > 0) {
			h->dns_answers++;
			h->bytes_out[k] += n;
		}
	}
}

/* Once a second: one more byte to every dripping connection. */
static void
on_tick(struct hostile *h)
{
	uint64_t	 exp;
	int		 fd;

	if (read(h->tfd, &exp, sizeof(exp)) != sizeof(exp))
		return;
	for (fd = 0; fd < h->nconns; fd++)
		if (h->conns[fd].open && h->conns[fd].kind == K_DRIP &&
		    h->conns[fd].started &&
		    conn_write(h, fd, "a", 1) == -1)
			conn_close(h, fd);
}

static void
report(const struct hostile *h)
{
	int	k;

	printf("event=stopped");
	for (k = 0; k < K_LAST; k++)
		printf(" %s_accepted=%" PRIu64 " %s_bytes=%" PRIu64,
		    kind_name[k], h->accepted[k], kind_name[k],
		    h->bytes_out[k]);
	printf(" dns_answers=%" PRIu64 " dns_ignored=%" PRIu64
	    " cap_closed=%" PRIu64 " open=%" PRId64 " open_max=%" PRId64 "\n",
	    h->dns_answers, h->dns_ignored, h->cap_closed, h->open,
	    h->open_max);
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hostile [--max-conns N] [--max-bytes B]\n");
	exit(2);
}

static void
setup(struct hostile *h, int argc, char **argv)
{
	struct rlimit	rl;
	int		i;

	h->max_conns = 8192;
	h->max_bytes = 64ULL << 20;
	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--max-conns") == 0)
			h->max_conns = strtoll(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--max-bytes") == 0)
			h->max_bytes = strtoull(argv[++i], NULL, 10);
		else
			usage();
	}
	if (h->max_conns < 1 || h->max_bytes < 1)
		usage();
	/* room for max_conns connections plus our own fds */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit");
	h->nconns = rl.rlim_cur > 1000000 ? 1000000 : (int)rl.rlim_cur;
	if ((h->conns = calloc((size_t)h->nconns, sizeof(*h->conns))) == NULL)
		die("calloc");
	h->rng = (uint64_t)time(NULL) * 2654435761ULL | 1;
	garbage_fill(h, h->chunk, CHUNK);
}

/* The epoll set with the signal fd and the drip's one-second timer. */
static void
setup_loop(struct hostile *h)
{
	struct itimerspec	its = { { 1, 0 }, { 1, 0 } };
	sigset_t		mask;

	if ((h->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((h->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		die("signalfd");
	ep_add(h, h->sfd, EPOLLIN, TAG_SIGNAL);
	if ((h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 || timerfd_settime(h->tfd, 0, &its, NULL) == -1)
		die("timerfd");
	ep_add(h, h->tfd, EPOLLIN, TAG_TIMER);
}

int
main(int argc, char **argv)
{
	static struct hostile	h;
	struct epoll_event	ev[MAX_EVENTS];
	uint64_t		tag;
	int			n, i, k;

	setup(&h, argc, argv);
	setup_loop(&h);
	for (k = K_DRIP; k <= K_GARBAGE; k++)
		listen_tcp(&h, (enum kind)k, k == K_BACKLOG ? 0 : 1024);
	listen_dns(&h);
	for (k = 0; k < K_LAST; k++)
		if (k != K_DNSTCP)
			printf("%s%s=%d", k > 0 ? " " : "", kind_name[k],
			    h.port[k]);
	printf("\n");
	fflush(stdout);
	for (;;) {
		if ((n = epoll_wait(h.epfd, ev, MAX_EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			tag = ev[i].data.u64;
			if (tag == TAG_SIGNAL) {
				report(&h);
				return 0;
			} else if (tag == TAG_TIMER)
				on_tick(&h);
			else if ((tag & ~(uint64_t)0xff) == TAG_LISTEN) {
				k = (int)(tag & 0xff);
				if (k == K_DNS || k == K_DNS_SILENT)
					on_dns(&h, (enum kind)k);
				else
					on_accept(&h, (enum kind)k);
			} else
				on_conn(&h, (int)tag, ev[i].events);
		}
	}
}
