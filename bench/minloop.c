/* SPDX-License-Identifier: ISC */
/*
 * minloop: the loop, schedule, deadlines and report that bench/tcp_minloop
 * and bench/http_minloop share (see minloop.h).  It owns the epoll fd, the
 * slot table, the deadline FIFO, the lag histogram and the CPU window; the
 * tool owns its protocol: how a probe starts and what it does when its fd
 * is ready.  Plain C, no project code: a floor must not share code with
 * what it measures.
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
#include <time.h>
#include <unistd.h>

#include "minloop.h"

#define MINLOOP_MAX_EVENTS	256
#define MINLOOP_LAG_BUCKET	10	/* µs per lag histogram bucket */
#define MINLOOP_LAG_BUCKETS	100000	/* up to 1 s; the last one is "more" */

void
minloop_init(struct minloop *m, const char *prog, const char *usage,
    const struct minloop_ops *ops, void *arg, size_t slot_size)
{
	memset(m, 0, sizeof(*m));
	m->prog = prog;
	m->usage = usage;
	m->ops = ops;
	m->arg = arg;
	m->slot_size = slot_size;
	m->host = "127.0.0.1";
	m->prefix = "t";
	m->width = 5;
	m->epfd = -1;
	m->rst = 1;
	m->max_in_flight = 512;
	m->timeout_us = 2000000;
	m->warmup = 1;
	m->cpu_warm = -1;
}

void
minloop_usage(const struct minloop *m)
{
	fprintf(stderr, "usage: %s", m->usage);
	exit(2);
}

void
minloop_die(const struct minloop *m, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", m->prog, what, strerror(errno));
	exit(1);
}

double
minloop_num(const struct minloop *m, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		minloop_usage(m);
	return v;
}

static void *
minloop_calloc(const struct minloop *m, size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		minloop_die(m, "calloc");
	return p;
}

static int64_t
minloop_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
minloop_cpu(const struct minloop *m)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		minloop_die(m, "getrusage");
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int
minloop_opt(struct minloop *m, int argc, char **argv, int *i)
{
	const char	*o = argv[*i], *v;

	if (*i + 1 >= argc)
		minloop_usage(m);
	v = argv[*i + 1];
	if (strcmp(o, "--port") == 0)
		m->port = (int)minloop_num(m, v, 1, 65535);
	else if (strcmp(o, "--host") == 0)
		m->host = v;
	else if (strcmp(o, "--rate") == 0)
		m->rate = minloop_num(m, v, 0.001, 1e7);
	else if (strcmp(o, "--checks") == 0)
		m->ncheck = (uint64_t)minloop_num(m, v, 1, 1e7);
	else if (strcmp(o, "--interval") == 0)
		m->interval_ms = minloop_num(m, v, 1, 864e5);
	else if (strcmp(o, "--prefix") == 0)
		m->prefix = v;
	else if (strcmp(o, "--grid") == 0)
		m->grid_ms = minloop_num(m, v, 0, 1000);
	else if (strcmp(o, "--width") == 0)
		m->width = (int)minloop_num(m, v, 0, 20);
	else if (strcmp(o, "--duration") == 0)
		m->duration = minloop_num(m, v, 0.001, 864e2);
	else if (strcmp(o, "--warmup") == 0)
		m->warmup = minloop_num(m, v, 0, 864e2);
	else if (strcmp(o, "--max-in-flight") == 0)
		m->max_in_flight = (int)minloop_num(m, v, 1, 1e6);
	else if (strcmp(o, "--timeout") == 0)
		m->timeout_us = (int64_t)minloop_num(m, v, 1, 864e5) * 1000;
	else
		return 0;
	(*i)++;
	return 1;
}

/* FNV-1a, 64 bit, as src/sched.c (sched_hash) spreads first runs. */
static uint64_t
minloop_fnv1a(const char *name)
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
minloop_cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
minloop_offsets(struct minloop *m, int64_t grid_us)
{
	char		name[256];
	uint64_t	i;

	m->offsets = minloop_calloc(m, m->ncheck, sizeof(*m->offsets));
	for (i = 0; i < m->ncheck; i++) {
		snprintf(name, sizeof(name), "%s%0*llu", m->prefix,
		    m->width, (unsigned long long)i + 1);
		m->offsets[i] = (int64_t)(minloop_fnv1a(name) %
		    (uint64_t)m->interval_us);
		/* sonde's agent.schedule_grid: up to a multiple of the grid */
		if (grid_us > 0 && m->interval_us % grid_us == 0)
			m->offsets[i] = (m->offsets[i] + grid_us - 1) /
			    grid_us * grid_us;
	}
	qsort(m->offsets, m->ncheck, sizeof(*m->offsets), minloop_cmp64);
	m->rate = (double)m->ncheck * 1e6 / (double)m->interval_us;
}

void
minloop_opts_done(struct minloop *m)
{
	if (m->port <= 0 || m->port > 65535 || m->duration <= 0 ||
	    m->warmup < 0 || m->warmup >= m->duration ||
	    m->max_in_flight < 1 || m->timeout_us <= 0)
		minloop_usage(m);
	if ((m->rate > 0) == (m->ncheck > 0 || m->interval_ms > 0))
		minloop_usage(m);	/* exactly one of the two modes */
	if (m->rate <= 0) {
		if (m->ncheck == 0 || m->interval_ms < 1)
			minloop_usage(m);
		m->interval_us = (int64_t)(m->interval_ms * 1000);
		minloop_offsets(m, (int64_t)(m->grid_ms * 1000));
	}
	m->dst.sin_family = AF_INET;
	m->dst.sin_port = htons((uint16_t)m->port);
	if (inet_pton(AF_INET, m->host, &m->dst.sin_addr) != 1)
		minloop_usage(m);
}

void *
minloop_slot(const struct minloop *m, int fd)
{
	if (fd < 0 || (size_t)fd >= m->nslots)
		return NULL;
	return (char *)m->slots + (size_t)fd * m->slot_size;
}

static void
minloop_slot_grow(struct minloop *m, int fd)
{
	size_t	n = m->nslots ? m->nslots : 1024;

	while (n <= (size_t)fd)
		n *= 2;
	m->slots = realloc(m->slots, n * m->slot_size);
	if (m->slots == NULL)
		minloop_die(m, "realloc");
	memset((char *)m->slots + m->nslots * m->slot_size, 0,
	    (n - m->nslots) * m->slot_size);
	m->nslots = n;
}

static void
minloop_ring_push(struct minloop *m, int fd, uint32_t gen, int64_t deadline)
{
	struct minloop_pending	*r;
	size_t			 i;

	if (m->rlen == m->rcap) {
		/* Completed entries wait behind the oldest live one: grow. */
		r = minloop_calloc(m, m->rcap ? m->rcap * 2 : 4096,
		    sizeof(*r));
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

void *
minloop_watch(struct minloop *m, int fd, uint32_t events, int64_t now)
{
	struct epoll_event	 ev;
	struct minloop_slot	*s;

	if ((size_t)fd >= m->nslots)
		minloop_slot_grow(m, fd);
	m->gen++;
	ev.events = events;
	ev.data.u64 = (uint64_t)m->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		minloop_die(m, "epoll_ctl");
	s = minloop_slot(m, fd);
	s->gen = m->gen;
	s->active = 1;
	m->in_flight++;
	minloop_ring_push(m, fd, m->gen, now + m->timeout_us);
	return s;
}

void
minloop_rewatch(struct minloop *m, int fd, uint32_t events)
{
	struct minloop_slot	*s = minloop_slot(m, fd);
	struct epoll_event	 ev;

	ev.events = events;
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		minloop_die(m, "epoll_ctl");
}

int
minloop_connect(struct minloop *m, int *done)
{
	int	fd;

	*done = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		m->errors++;
		m->done++;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&m->dst, sizeof(m->dst)) == 0)
		*done = 1;
	else if (errno != EINPROGRESS) {
		minloop_close(m, fd, 0);
		return -1;
	}
	return fd;
}

void
minloop_close(struct minloop *m, int fd, int ok)
{
	struct minloop_slot	*s = minloop_slot(m, fd);
	struct linger		 lg = { 1, 0 };

	if (ok)
		m->ok++;
	else
		m->errors++;
	/* close() leaves the epoll set by itself; --epoll-del prices the
	 * explicit removal an fd-watcher API does first. */
	if (m->epoll_del && s != NULL && s->active)
		(void)epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (m->rst)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if (s != NULL && s->active) {
		s->active = 0;
		m->in_flight--;
	}
	m->done++;
}

static void
minloop_expire(struct minloop *m, int64_t now)
{
	struct minloop_pending	*p;
	struct minloop_slot	*s;

	while (m->rlen > 0) {
		p = &m->ring[m->rhead];
		s = minloop_slot(m, p->fd);
		if (s->active && s->gen == p->gen) {
			if (p->deadline > now)
				return;
			m->timeouts++;
			minloop_close(m, p->fd, 0);
		}
		m->rhead = (m->rhead + 1) % m->rcap;
		m->rlen--;
	}
}

static void
minloop_lag(struct minloop *m, int64_t lag)
{
	int64_t	b = lag / MINLOOP_LAG_BUCKET;

	if (lag > m->lag_max)
		m->lag_max = lag;
	if (b >= MINLOOP_LAG_BUCKETS)
		b = MINLOOP_LAG_BUCKETS - 1;
	m->lag[b < 0 ? 0 : b]++;
	m->nlag++;
}

static double
minloop_lag_pct(const struct minloop *m, double pct)
{
	uint64_t	want, seen = 0;
	size_t		i;

	if (m->nlag == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)m->nlag);
	if (want == 0)
		want = 1;
	for (i = 0; i < MINLOOP_LAG_BUCKETS; i++) {
		seen += m->lag[i];
		if (seen >= want)
			return (double)(i * MINLOOP_LAG_BUCKET) / 1000.0;
	}
	return (double)m->lag_max / 1000.0;
}

/* The due time of the k-th probe since t0. */
static int64_t
minloop_due(const struct minloop *m, uint64_t k)
{
	if (m->offsets == NULL)
		return m->t0 + (int64_t)((double)k * 1e6 / m->rate);
	return m->t0 + (int64_t)(k / m->ncheck) * m->interval_us +
	    m->offsets[k % m->ncheck];
}

/* Takes the CPU snapshot that opens the measured window, once. */
static void
minloop_window_open(struct minloop *m, int64_t now)
{
	if (m->cpu_warm >= 0 || now < m->t_warm)
		return;
	m->cpu_warm = minloop_cpu(m);
	m->done_warm = m->done;
	m->t_warm_real = now;
}

/* Starts what is due; returns the next due time (INT64_MAX: none). */
static int64_t
minloop_start_due(struct minloop *m, int64_t now)
{
	int64_t	due;

	while ((due = minloop_due(m, m->k)) <= now && due < m->t_stop) {
		if (m->in_flight >= m->max_in_flight)
			m->skipped++;
		else {
			minloop_lag(m, now - due);
			m->started++;
			m->ops->start(m, now);
		}
		m->k++;
	}
	return due < m->t_stop ? due : INT64_MAX;
}

/* Sleeps until next (INT64_MAX: an event) and hands out what is ready. */
static void
minloop_wait(struct minloop *m, int64_t now, int64_t next)
{
	struct epoll_event	 ev[MINLOOP_MAX_EVENTS];
	struct minloop_slot	*s;
	struct timespec		 ts;
	int64_t			 wait = next - now < 0 ? 0 : next - now;
	int			 fd, i, n;

	if (m->sleep_ms)
		n = epoll_wait(m->epfd, ev, MINLOOP_MAX_EVENTS,
		    next == INT64_MAX ? -1 : (int)((wait + 999) / 1000));
	else {
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		n = epoll_pwait2(m->epfd, ev, MINLOOP_MAX_EVENTS,
		    next == INT64_MAX ? NULL : &ts, NULL);
		if (n == -1 && errno == ENOSYS)	/* valgrind 3.19 */
			n = epoll_wait(m->epfd, ev, MINLOOP_MAX_EVENTS,
			    next == INT64_MAX ? -1 :
			    (int)((wait + 999) / 1000));
	}
	if (n == -1 && errno != EINTR)
		minloop_die(m, m->sleep_ms ? "epoll_wait" : "epoll_pwait2");
	for (i = 0; i < n; i++) {
		fd = (int)(uint32_t)ev[i].data.u64;
		s = minloop_slot(m, fd);
		if (s != NULL && s->active &&
		    s->gen == (uint32_t)(ev[i].data.u64 >> 32))
			m->ops->ready(m, fd, s);
	}
}

/*
 * One iteration, the shape of loop_run_once(): start what is due, sleep
 * until the next due time, deadline or event, dispatch.  Returns 0 once
 * every probe has been started and has finished.
 */
static int
minloop_step(struct minloop *m)
{
	int64_t	now, next;

	now = minloop_now();
	minloop_window_open(m, now);
	minloop_expire(m, now);
	next = minloop_start_due(m, now);
	if (next == INT64_MAX && m->in_flight == 0)
		return 0;
	if (m->rlen > 0 && m->ring[m->rhead].deadline < next)
		next = m->ring[m->rhead].deadline;
	if (m->cpu_warm < 0 && m->t_warm < next)
		next = m->t_warm;
	minloop_wait(m, now, next);
	return 1;
}

static void
minloop_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
minloop_run(struct minloop *m)
{
	int64_t	cpu_end, t_end;

	minloop_raise_nofile();
	m->lag = minloop_calloc(m, MINLOOP_LAG_BUCKETS, sizeof(*m->lag));
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		minloop_die(m, "epoll_create1");
	m->t0 = minloop_now() + 1000;
	m->t_warm = m->t0 + (int64_t)(m->warmup * 1e6);
	m->t_stop = m->t0 + (int64_t)(m->duration * 1e6);
	while (minloop_step(m))
		;
	cpu_end = minloop_cpu(m);
	t_end = minloop_now();
	if (m->cpu_warm < 0) {
		m->cpu_warm = 0;
		m->t_warm_real = m->t0;
	}
	m->wdone = m->done - m->done_warm;
	m->wsec = (double)(t_end - m->t_warm_real) / 1e6;
	m->wcpu = cpu_end - m->cpu_warm;
}

void
minloop_report(const struct minloop *m, const char *head, const char *mid,
    const char *tail)
{
	printf("%s schedule=%s checks=%" PRIu64 " rate=%.1f%s"
	    " started=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
	    " timeouts=%" PRIu64 " skipped=%" PRIu64 " window_s=%.3f"
	    " window_probes=%" PRIu64 " window_cpu_us=%" PRId64
	    " probes_per_s=%.1f cpu_us_per_probe=%.2f lag_p50_ms=%.2f"
	    " lag_p99_ms=%.2f lag_max_ms=%.2f%s\n",
	    head, m->offsets ? "hash" : "even", m->ncheck, m->rate, mid,
	    m->started, m->ok, m->errors, m->timeouts, m->skipped, m->wsec,
	    m->wdone, m->wcpu, m->wsec > 0 ? (double)m->wdone / m->wsec : 0,
	    m->wdone ? (double)m->wcpu / (double)m->wdone : 0,
	    minloop_lag_pct(m, 50), minloop_lag_pct(m, 99),
	    (double)m->lag_max / 1000.0, tail);
}

void
minloop_free(struct minloop *m)
{
	if (m->epfd != -1)
		close(m->epfd);
	free(m->slots);
	free(m->ring);
	free(m->lag);
	free(m->offsets);
}
