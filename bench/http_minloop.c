/* SPDX-License-Identifier: ISC */
/*
 * http_minloop: the physical limit of an HTTP probe on this machine.
 *
 * One epoll loop that, at a given rate for a given time, does what an http
 * check must do and nothing more: socket(SOCK_NONBLOCK), connect, wait for
 * EPOLLOUT, send one fixed GET (the request line and headers sonde's
 * libcurl sends: no "Connection: close", so the server keeps its side
 * open as it does for sonde), read until the response is complete by its
 * own framing (the header block, then Content-Length bytes, or chunked
 * chunks to the last one and its trailer, or EOF when it has neither),
 * check the status line says 200, close with an RST (SO_LINGER {1, 0}) as
 * sonde does.  No URL parsing, no header table, no TLS, no results kept.
 *
 * The due times are tcp_minloop's: with --checks N --interval MS those of
 * sonde's scheduler (check i named --prefix and i zero-padded to --width
 * digits, first run at FNV-1a-64(name) mod interval, then a fixed grid);
 * with --rate evenly spaced.  It sleeps in epoll_pwait2 to the microsecond,
 * as src/loop.c does, so the wakeups are part of the limit too.
 *
 * It reports its own CPU (getrusage, user + sys) per completed probe over
 * the window after --warmup: bench/run divides sonde's CPU per probe by
 * it.  Plain C, no project code: it must not share code with what it
 * measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HM_MAX_EVENTS	256
#define HM_BUF		2048		/* a response header block fits */
#define HM_LAG_BUCKET	10		/* µs per lag histogram bucket */
#define HM_LAG_BUCKETS	100000		/* up to 1 s; the last one is "more" */

struct hm_slot {			/* indexed by fd */
	uint32_t	 gen;
	int		 active;
	int		 sent;		/* the GET is out: reading */
	size_t		 len;		/* bytes in buf */
	size_t		 hdr_end;	/* 0 until the blank line is seen */
	long long	 clen;		/* Content-Length, -1 unknown */
	int		 chunked;	/* Transfer-Encoding: chunked */
	int		 cstate;	/* enum hm_chunk */
	long long	 crem;		/* chunk size, then bytes left */
	int		 cdigits, cext;	/* size line: digits, in extension */
	int		 cline;		/* trailer line length so far */
	char		 buf[HM_BUF];
};

enum hm_chunk { HM_CH_SIZE, HM_CH_DATA, HM_CH_CRLF, HM_CH_TRAILER };

struct hm_pending {			/* FIFO of deadlines (one timeout) */
	int64_t		 deadline;
	int		 fd;
	uint32_t	 gen;
};

struct hm {
	double			 rate;
	int64_t			*offsets;	/* sorted first-run offsets */
	uint64_t		 ncheck;
	int64_t			 interval_us;
	double			 duration, warmup;
	int64_t			 t0, t_warm, t_stop, t_warm_real;
	uint64_t		 k, done_warm;
	int64_t			 cpu_warm;
	int			 epfd, max_in_flight, in_flight;
	int64_t			 timeout_us;
	struct sockaddr_in	 dst;
	char			 req[512];
	size_t			 reqlen;
	struct hm_slot		*slots;
	size_t			 nslots;
	uint32_t		 gen;
	struct hm_pending	*ring;
	size_t			 rhead, rlen, rcap;
	uint64_t		 started, ok, errors, timeouts, skipped, done;
	uint32_t		*lag;
	uint64_t		 nlag;
	int64_t			 lag_max;
};

static void
usage(void)
{
	fprintf(stderr, "usage: http_minloop --port N [--host A.B.C.D] "
	    "[--path /ok] --duration S\n"
	    "         (--rate PROBES_PER_S | --checks N --interval MS "
	    "[--prefix t --width 5 --grid MS])\n"
	    "         [--warmup S] [--max-in-flight N] [--timeout MS]\n");
	exit(2);
}

static void
die(const char *what)
{
	fprintf(stderr, "http_minloop: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double
num_arg(const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		die("calloc");
	return p;
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
cpu_us(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		die("getrusage");
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void
hm_slot_grow(struct hm *m, int fd)
{
	size_t	n = m->nslots ? m->nslots : 1024;

	while (n <= (size_t)fd)
		n *= 2;
	m->slots = realloc(m->slots, n * sizeof(*m->slots));
	if (m->slots == NULL)
		die("realloc");
	memset(m->slots + m->nslots, 0, (n - m->nslots) * sizeof(*m->slots));
	m->nslots = n;
}

static void
hm_ring_push(struct hm *m, int fd, uint32_t gen, int64_t deadline)
{
	struct hm_pending	*r;
	size_t			 i;

	if (m->rlen == m->rcap) {
		r = xcalloc(m->rcap ? m->rcap * 2 : 4096, sizeof(*r));
		for (i = 0; i < m->rlen; i++)
			r[i] = m->ring[(m->rhead + i) % m->rcap];
		free(m->ring);
		m->ring = r;
		m->rhead = 0;
		m->rcap = m->rcap ? m->rcap * 2 : 4096;
	}
	r = &m->ring[(m->rhead + m->rlen) % m->rcap];
	r->fd = fd;
	r->gen = gen;
	r->deadline = deadline;
	m->rlen++;
}

static void
hm_lag(struct hm *m, int64_t lag)
{
	int64_t	b = lag / HM_LAG_BUCKET;

	if (lag > m->lag_max)
		m->lag_max = lag;
	if (b >= HM_LAG_BUCKETS)
		b = HM_LAG_BUCKETS - 1;
	m->lag[b < 0 ? 0 : b]++;
	m->nlag++;
}

static double
hm_lag_pct(const struct hm *m, double pct)
{
	uint64_t	want, seen = 0;
	size_t		i;

	if (m->nlag == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)m->nlag);
	if (want == 0)
		want = 1;
	for (i = 0; i < HM_LAG_BUCKETS; i++) {
		seen += m->lag[i];
		if (seen >= want)
			return (double)(i * HM_LAG_BUCKET) / 1000.0;
	}
	return (double)m->lag_max / 1000.0;
}

static int64_t
hm_due(const struct hm *m, uint64_t k)
{
	if (m->offsets == NULL)
		return m->t0 + (int64_t)((double)k * 1e6 / m->rate);
	return m->t0 + (int64_t)(k / m->ncheck) * m->interval_us +
	    m->offsets[k % m->ncheck];
}

/* FNV-1a, 64 bit, as src/sched.c spreads first runs. */
static uint64_t
hm_fnv1a(const char *name)
{
	const unsigned char	*p;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
hm_cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
hm_offsets(struct hm *m, const char *prefix, int width, int64_t grid_us)
{
	char		name[256];
	uint64_t	i;

	m->offsets = xcalloc(m->ncheck, sizeof(*m->offsets));
	for (i = 0; i < m->ncheck; i++) {
		snprintf(name, sizeof(name), "%s%0*llu", prefix, width,
		    (unsigned long long)i + 1);
		m->offsets[i] = (int64_t)(hm_fnv1a(name) %
		    (uint64_t)m->interval_us);
		/* sonde's agent.schedule_grid: up to a multiple of the grid */
		if (grid_us > 0 && m->interval_us % grid_us == 0)
			m->offsets[i] = (m->offsets[i] + grid_us - 1) /
			    grid_us * grid_us;
	}
	qsort(m->offsets, m->ncheck, sizeof(*m->offsets), hm_cmp64);
	m->rate = (double)m->ncheck * 1e6 / (double)m->interval_us;
}

/* Closes fd with an RST (sonde's default) and counts the outcome. */
static void
hm_finish(struct hm *m, int fd, int ok)
{
	struct linger	lg = { 1, 0 };

	if (ok)
		m->ok++;
	else
		m->errors++;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if ((size_t)fd < m->nslots && m->slots[fd].active) {
		m->slots[fd].active = 0;
		m->in_flight--;
	}
	m->done++;
}

static void
hm_start(struct hm *m, int64_t now)
{
	struct epoll_event	 ev;
	struct hm_slot		*s;
	int			 fd;

	m->started++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		m->errors++;
		m->done++;
		return;
	}
	if (connect(fd, (struct sockaddr *)&m->dst, sizeof(m->dst)) == -1 &&
	    errno != EINPROGRESS) {
		hm_finish(m, fd, 0);
		return;
	}
	if ((size_t)fd >= m->nslots)
		hm_slot_grow(m, fd);
	m->gen++;
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)m->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl");
	s = &m->slots[fd];
	s->gen = m->gen;
	s->active = 1;
	s->sent = 0;
	s->len = s->hdr_end = 0;
	s->clen = -1;
	s->chunked = 0;
	s->cstate = HM_CH_SIZE;
	s->crem = s->cdigits = s->cext = s->cline = 0;
	m->in_flight++;
	hm_ring_push(m, fd, m->gen, now + m->timeout_us);
}

static void
hm_expire(struct hm *m, int64_t now)
{
	struct hm_pending	*p;
	struct hm_slot		*s;

	while (m->rlen > 0) {
		p = &m->ring[m->rhead];
		s = &m->slots[p->fd];
		if (s->active && s->gen == p->gen) {
			if (p->deadline > now)
				return;
			m->timeouts++;
			hm_finish(m, p->fd, 0);
		}
		m->rhead = (m->rhead + 1) % m->rcap;
		m->rlen--;
	}
}

/*
 * Finds the end of the header block, Content-Length and chunked once it
 * is in.  Header names are matched case-insensitively, as HTTP wants;
 * chunked wins over a Content-Length (RFC 9112 §6.3).
 */
static void
hm_headers(struct hm_slot *s)
{
	char	*end, *p, *eol;

	s->buf[s->len] = '\0';
	if ((end = strstr(s->buf, "\r\n\r\n")) == NULL)
		return;
	s->hdr_end = (size_t)(end - s->buf) + 4;
	for (p = strstr(s->buf, "\r\n"); p != NULL && p < end; p = eol) {
		eol = strstr(p + 2, "\r\n");
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			s->clen = strtoll(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0 &&
		    eol != NULL && memmem(p + 20, (size_t)(eol - p - 20),
		    "chunked", 7) != NULL)
			s->chunked = 1;
	}
	if (s->chunked)
		s->clen = -1;
}

/* One byte of a chunk-size line; -1 when it is not one. */
static int
hm_chunk_size_byte(struct hm_slot *s, char c)
{
	int	v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

	if (c == '\n') {
		if (s->cdigits == 0)
			return -1;
		s->cstate = s->crem > 0 ? HM_CH_DATA : HM_CH_TRAILER;
		s->cline = 0;
	} else if (v >= 0 && !s->cext) {
		if (++s->cdigits > 15)
			return -1;
		s->crem = s->crem * 16 + v;
	} else if (c == ';' || c == '\r' || c == ' ' || c == '\t')
		s->cext = 1;		/* extensions are not ours to read */
	else if (!s->cext)
		return -1;
	return 0;
}

/*
 * Feeds n body bytes of a chunked response: 1 when the last chunk and
 * the trailer section are in, 0 for more, -1 on a framing error.
 */
static int
hm_chunks(struct hm_slot *s, const char *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		switch (s->cstate) {
		case HM_CH_SIZE:
			if (hm_chunk_size_byte(s, *p) == -1)
				return -1;
			p++, n--;
			break;
		case HM_CH_DATA:
			k = n < (size_t)s->crem ? n : (size_t)s->crem;
			p += k, n -= k;
			if ((s->crem -= (long long)k) == 0)
				s->cstate = HM_CH_CRLF;
			break;
		case HM_CH_CRLF:
			if (*p == '\n') {
				s->cstate = HM_CH_SIZE;
				s->crem = s->cdigits = s->cext = 0;
			} else if (*p != '\r')
				return -1;
			p++, n--;
			break;
		default:		/* trailer lines, to an empty one */
			if (*p == '\n' && s->cline == 0)
				return 1;
			s->cline = *p == '\n' ? 0 : s->cline + (*p != '\r');
			p++, n--;
			break;
		}
	}
	return 0;
}

/* Body bytes in: 1 when the response is complete, -1 when broken. */
static int
hm_body(struct hm_slot *s, const char *p, size_t n)
{
	if (s->chunked)
		return hm_chunks(s, p, n);
	if (s->clen >= 0)
		return (s->clen -= (long long)n) <= 0 ? 1 : 0;
	return 0;			/* no framing: EOF ends it */
}

/* Whether the status line is a 200 (HTTP/1.0 or 1.1). */
static int
hm_status_ok(const struct hm_slot *s)
{
	return s->len >= 12 && strncmp(s->buf, "HTTP/1.", 7) == 0 &&
	    strncmp(s->buf + 8, " 200", 4) == 0;
}

/* Reads what is there; finishes the probe when the response is complete. */
static void
hm_read(struct hm *m, int fd, struct hm_slot *s)
{
	char	 body[4096];
	char	*p = body;
	ssize_t	 n;
	int	 rc;

	for (;;) {
		if (s->hdr_end == 0) {
			if (s->len >= HM_BUF - 1) {
				hm_finish(m, fd, 0);	/* headers too long */
				return;
			}
			n = read(fd, s->buf + s->len, HM_BUF - 1 - s->len);
		} else
			n = read(fd, body, sizeof(body));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {	/* EOF ends an unframed body only */
			hm_finish(m, fd, n == 0 && s->hdr_end > 0 &&
			    !s->chunked && s->clen < 0 && hm_status_ok(s));
			return;
		}
		p = body;
		if (s->hdr_end == 0) {
			s->len += (size_t)n;
			hm_headers(s);
			if (s->hdr_end == 0)
				continue;
			p = s->buf + s->hdr_end;
			n = (ssize_t)(s->len - s->hdr_end);
			if (s->clen == 0) {
				hm_finish(m, fd, hm_status_ok(s));
				return;
			}
		}
		if ((rc = hm_body(s, p, (size_t)n)) != 0) {
			hm_finish(m, fd, rc == 1 && hm_status_ok(s));
			return;
		}
	}
}

static void
hm_event(struct hm *m, const struct epoll_event *ev)
{
	struct epoll_event	 in;
	struct hm_slot		*s;
	int			 fd = (int)(uint32_t)ev->data.u64;
	int			 err = 0;
	socklen_t		 len = sizeof(err);

	if ((size_t)fd >= m->nslots || !m->slots[fd].active ||
	    m->slots[fd].gen != (uint32_t)(ev->data.u64 >> 32))
		return;
	s = &m->slots[fd];
	if (s->sent) {
		hm_read(m, fd, s);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0 || write(fd, m->req, m->reqlen) != (ssize_t)m->reqlen) {
		hm_finish(m, fd, 0);
		return;
	}
	s->sent = 1;
	in.events = EPOLLIN;
	in.data.u64 = ev->data.u64;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &in) == -1)
		die("epoll_ctl");
}

static void
hm_request(struct hm *m, const char *host, int port, const char *path)
{
	int	n;

	/* What sonde's libcurl sends, byte for byte but the agent's name. */
	n = snprintf(m->req, sizeof(m->req), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\nUser-Agent: http_minloop\r\nAccept: */*\r\n"
	    "\r\n", path, host, port);
	if (n < 0 || (size_t)n >= sizeof(m->req))
		usage();
	m->reqlen = (size_t)n;
}

static void
parse_args(struct hm *m, int argc, char **argv)
{
	const char	*host = "127.0.0.1", *prefix = "t", *path = "/ok";
	int		 i, port = 0, width = 5;
	double		 interval_ms = 0, grid_ms = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (int)num_arg(argv[i + 1], 1, 65535);
		else if (strcmp(argv[i], "--host") == 0)
			host = argv[i + 1];
		else if (strcmp(argv[i], "--path") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--rate") == 0)
			m->rate = num_arg(argv[i + 1], 0.001, 1e7);
		else if (strcmp(argv[i], "--checks") == 0)
			m->ncheck = (uint64_t)num_arg(argv[i + 1], 1, 1e7);
		else if (strcmp(argv[i], "--grid") == 0)
			grid_ms = num_arg(argv[i + 1], 0, 1000);
		else if (strcmp(argv[i], "--interval") == 0)
			interval_ms = num_arg(argv[i + 1], 1, 864e5);
		else if (strcmp(argv[i], "--prefix") == 0)
			prefix = argv[i + 1];
		else if (strcmp(argv[i], "--width") == 0)
			width = (int)num_arg(argv[i + 1], 0, 20);
		else if (strcmp(argv[i], "--duration") == 0)
			m->duration = num_arg(argv[i + 1], 0.001, 864e2);
		else if (strcmp(argv[i], "--warmup") == 0)
			m->warmup = num_arg(argv[i + 1], 0, 864e2);
		else if (strcmp(argv[i], "--max-in-flight") == 0)
			m->max_in_flight = (int)num_arg(argv[i + 1], 1, 1e6);
		else if (strcmp(argv[i], "--timeout") == 0)
			m->timeout_us = (int64_t)num_arg(argv[i + 1], 1,
			    864e5) * 1000;
		else
			usage();
	}
	if (i != argc || port == 0 || m->duration <= 0 ||
	    m->warmup >= m->duration || (m->rate > 0) == (m->ncheck > 0))
		usage();
	if (m->ncheck > 0) {
		if (interval_ms < 1)
			usage();
		m->interval_us = (int64_t)(interval_ms * 1000);
		hm_offsets(m, prefix, width, (int64_t)(grid_ms * 1000));
	}
	m->dst.sin_family = AF_INET;
	m->dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &m->dst.sin_addr) != 1)
		usage();
	hm_request(m, host, port, path);
}

/* Takes the CPU snapshot that opens the measured window, once. */
static void
hm_window_open(struct hm *m, int64_t now)
{
	if (m->cpu_warm >= 0 || now < m->t_warm)
		return;
	m->cpu_warm = cpu_us();
	m->done_warm = m->done;
	m->t_warm_real = now;
}

/* Starts what is due; returns the next due time (INT64_MAX: none). */
static int64_t
hm_start_due(struct hm *m, int64_t now)
{
	int64_t	due;

	while ((due = hm_due(m, m->k)) <= now && due < m->t_stop) {
		if (m->in_flight >= m->max_in_flight)
			m->skipped++;
		else {
			hm_lag(m, now - due);
			hm_start(m, now);
		}
		m->k++;
	}
	return due < m->t_stop ? due : INT64_MAX;
}

/*
 * One iteration, the shape of loop_run_once(): start what is due, sleep
 * until the next due time, deadline or event, dispatch.  Returns 0 once
 * every probe has been started and has finished.
 */
static int
hm_step(struct hm *m)
{
	struct epoll_event	ev[HM_MAX_EVENTS];
	struct timespec		ts;
	int64_t			now, next, wait;
	int			i, n;

	now = now_us();
	hm_window_open(m, now);
	hm_expire(m, now);
	next = hm_start_due(m, now);
	if (next == INT64_MAX && m->in_flight == 0)
		return 0;
	if (m->rlen > 0 && m->ring[m->rhead].deadline < next)
		next = m->ring[m->rhead].deadline;
	if (m->cpu_warm < 0 && m->t_warm < next)
		next = m->t_warm;
	wait = next - now < 0 ? 0 : next - now;
	ts.tv_sec = wait / 1000000;
	ts.tv_nsec = (long)(wait % 1000000) * 1000;
	n = epoll_pwait2(m->epfd, ev, HM_MAX_EVENTS,
	    next == INT64_MAX ? NULL : &ts, NULL);
	if (n == -1 && errno == ENOSYS)	/* valgrind 3.19 (callgrind) */
		n = epoll_wait(m->epfd, ev, HM_MAX_EVENTS, next == INT64_MAX ?
		    -1 : (int)((wait + 999) / 1000));
	if (n == -1 && errno != EINTR)
		die("epoll_pwait2");
	for (i = 0; i < n; i++)
		hm_event(m, &ev[i]);
	return 1;
}

static void
hm_report(struct hm *m)
{
	int64_t		cpu_end, t_end;
	uint64_t	wdone;
	double		wsec;
	struct rusage	ru;

	cpu_end = cpu_us();
	t_end = now_us();
	if (m->cpu_warm < 0) {
		m->cpu_warm = 0;
		m->t_warm_real = m->t0;
	}
	wdone = m->done - m->done_warm;
	wsec = (double)(t_end - m->t_warm_real) / 1e6;
	(void)getrusage(RUSAGE_SELF, &ru);
	printf("http_minloop schedule=%s checks=%" PRIu64 " rate=%.1f"
	    " started=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
	    " timeouts=%" PRIu64 " skipped=%" PRIu64 " window_s=%.3f"
	    " window_probes=%" PRIu64 " window_cpu_us=%" PRId64
	    " probes_per_s=%.1f cpu_us_per_probe=%.2f lag_p50_ms=%.2f"
	    " lag_p99_ms=%.2f lag_max_ms=%.2f maxrss_kb=%ld\n",
	    m->offsets ? "hash" : "even", m->ncheck, m->rate, m->started,
	    m->ok, m->errors, m->timeouts, m->skipped, wsec, wdone,
	    cpu_end - m->cpu_warm, wsec > 0 ? (double)wdone / wsec : 0,
	    wdone ? (double)(cpu_end - m->cpu_warm) / (double)wdone : 0,
	    hm_lag_pct(m, 50), hm_lag_pct(m, 99),
	    (double)m->lag_max / 1000.0, ru.ru_maxrss);
}

int
main(int argc, char **argv)
{
	struct hm	m;
	struct rlimit	rl;

	memset(&m, 0, sizeof(m));
	m.max_in_flight = 512;
	m.timeout_us = 2000000;
	m.warmup = 1;
	m.cpu_warm = -1;
	parse_args(&m, argc, argv);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	m.lag = xcalloc(HM_LAG_BUCKETS, sizeof(*m.lag));
	if ((m.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	m.t0 = now_us() + 1000;
	m.t_warm = m.t0 + (int64_t)(m.warmup * 1e6);
	m.t_stop = m.t0 + (int64_t)(m.duration * 1e6);
	while (hm_step(&m))
		;
	hm_report(&m);
	close(m.epfd);
	free(m.slots);
	free(m.ring);
	free(m.lag);
	free(m.offsets);
	return m.errors > 0 ? 1 : 0;
}
