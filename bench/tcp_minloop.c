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
 * Plain C, no project libraries: it must not share code with what it
 * measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ML_MAX_EVENTS	256
#define ML_LAG_BUCKET	10		/* µs per lag histogram bucket */
#define ML_LAG_BUCKETS	100000		/* up to 1 s; the last one is "more" */

struct ml_slot {			/* indexed by fd */
	int64_t		 start;
	uint32_t	 gen;
	int		 active;
};

struct ml_pending {			/* FIFO of deadlines (one timeout) */
	int64_t		 deadline;
	int		 fd;
	uint32_t	 gen;
};

struct ml {
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
	struct sockaddr_in	 dst;
	int			 rst;
	int			 sleep_ms;	/* epoll_wait, not pwait2 */
	int			 epoll_del;	/* EPOLL_CTL_DEL before close */
	int			 max_in_flight;
	int64_t			 timeout_us;

	struct ml_slot		*slots;
	size_t			 nslots;
	uint32_t		 gen;
	struct ml_pending	*ring;
	size_t			 rhead, rlen, rcap;
	int			 in_flight;

	uint64_t		 started, ok, errors, timeouts, skipped;
	uint64_t		 done;
	uint32_t		*lag;
	uint64_t		 nlag;
	int64_t			 lag_max;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tcp_minloop --port N [--host A.B.C.D] "
	    "--duration S\n"
	    "         (--rate PROBES_PER_S | --checks N --interval MS "
	    "[--prefix t --width 5 --grid MS])\n"
	    "         [--warmup S] [--close rst|graceful] [--sleep us|ms] "
	    "[--epoll-del]\n"
	    "         [--max-in-flight N] [--timeout MS]\n");
	exit(2);
}

static void
die(const char *what)
{
	fprintf(stderr, "tcp_minloop: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Parses a number in [min, max] or exits with the usage. */
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
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
ml_slot_grow(struct ml *m, int fd)
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
ml_ring_push(struct ml *m, int fd, uint32_t gen, int64_t deadline)
{
	struct ml_pending	*r;
	size_t			 i;

	if (m->rlen == m->rcap) {
		/* Completed entries wait behind the oldest live one: grow. */
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
ml_lag(struct ml *m, int64_t lag)
{
	int64_t	b = lag / ML_LAG_BUCKET;

	if (lag > m->lag_max)
		m->lag_max = lag;
	if (b >= ML_LAG_BUCKETS)
		b = ML_LAG_BUCKETS - 1;
	m->lag[b < 0 ? 0 : b]++;
	m->nlag++;
}

static double
ml_lag_pct(const struct ml *m, double pct)
{
	uint64_t	want, seen = 0;
	size_t		i;

	if (m->nlag == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)m->nlag);
	if (want == 0)
		want = 1;
	for (i = 0; i < ML_LAG_BUCKETS; i++) {
		seen += m->lag[i];
		if (seen >= want)
			return (double)(i * ML_LAG_BUCKET) / 1000.0;
	}
	return (double)m->lag_max / 1000.0;
}

/* The due time of the k-th probe since t0. */
static int64_t
ml_due(const struct ml *m, int64_t t0, uint64_t k)
{
	if (m->offsets == NULL)
		return t0 + (int64_t)((double)k * 1e6 / m->rate);
	return t0 + (int64_t)(k / m->ncheck) * m->interval_us +
	    m->offsets[k % m->ncheck];
}

/* FNV-1a, 64 bit, as src/sched.c (sched_hash) spreads first runs. */
static uint64_t
ml_fnv1a(const char *name)
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
ml_cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
ml_offsets(struct ml *m, const char *prefix, int width, int64_t grid_us)
{
	char		name[256];
	uint64_t	i;

	m->offsets = xcalloc(m->ncheck, sizeof(*m->offsets));
	for (i = 0; i < m->ncheck; i++) {
		snprintf(name, sizeof(name), "%s%0*llu", prefix, width,
		    (unsigned long long)i + 1);
		m->offsets[i] = (int64_t)(ml_fnv1a(name) %
		    (uint64_t)m->interval_us);
		if (grid_us > 0 && m->interval_us % grid_us == 0)
			m->offsets[i] = (m->offsets[i] + grid_us - 1) /
			    grid_us * grid_us;
	}
	qsort(m->offsets, m->ncheck, sizeof(*m->offsets), ml_cmp64);
	m->rate = (double)m->ncheck * 1e6 / (double)m->interval_us;
}

/* Closes fd with the configured policy and counts the outcome. */
static void
ml_finish(struct ml *m, int fd, int err)
{
	struct linger	lg = { 1, 0 };

	if (err == 0)
		m->ok++;
	else
		m->errors++;
	/* close() leaves the epoll set by itself; --epoll-del prices the
	 * explicit removal an fd-watcher API does first. */
	if (m->epoll_del && (size_t)fd < m->nslots && m->slots[fd].active)
		(void)epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (m->rst)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if ((size_t)fd < m->nslots && m->slots[fd].active) {
		m->slots[fd].active = 0;
		m->in_flight--;
	}
	m->done++;
}

static void
ml_start(struct ml *m, int64_t now)
{
	struct epoll_event	ev;
	int			fd;

	m->started++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		m->errors++;
		m->done++;
		return;
	}
	if (connect(fd, (struct sockaddr *)&m->dst, sizeof(m->dst)) == 0) {
		ml_finish(m, fd, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		ml_finish(m, fd, errno);
		return;
	}
	if ((size_t)fd >= m->nslots)
		ml_slot_grow(m, fd);
	m->gen++;
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)m->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl");
	m->slots[fd].start = now;
	m->slots[fd].gen = m->gen;
	m->slots[fd].active = 1;
	m->in_flight++;
	ml_ring_push(m, fd, m->gen, now + m->timeout_us);
}

static void
ml_expire(struct ml *m, int64_t now)
{
	struct ml_pending	*p;
	struct ml_slot		*s;

	while (m->rlen > 0) {
		p = &m->ring[m->rhead];
		s = &m->slots[p->fd];
		if (s->active && s->gen == p->gen) {
			if (p->deadline > now)
				return;
			m->timeouts++;
			ml_finish(m, p->fd, ETIMEDOUT);
		}
		m->rhead = (m->rhead + 1) % m->rcap;
		m->rlen--;
	}
}

static void
ml_event(struct ml *m, const struct epoll_event *ev)
{
	int		fd = (int)(uint32_t)ev->data.u64;
	uint32_t	gen = (uint32_t)(ev->data.u64 >> 32);
	int		err = 0;
	socklen_t	len = sizeof(err);

	if ((size_t)fd >= m->nslots || !m->slots[fd].active ||
	    m->slots[fd].gen != gen)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	ml_finish(m, fd, err);
}

static void
parse_args(struct ml *m, int argc, char **argv)
{
	const char	*host = "127.0.0.1", *prefix = "t";
	int		 i, port = 0, width = 5;
	double		 interval_ms = 0, grid_ms = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--epoll-del") == 0) {
			m->epoll_del = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--port") == 0)
			port = (int)num_arg(argv[++i], 1, 65535);
		else if (strcmp(argv[i], "--host") == 0)
			host = argv[++i];
		else if (strcmp(argv[i], "--rate") == 0)
			m->rate = num_arg(argv[++i], 0.001, 1e7);
		else if (strcmp(argv[i], "--checks") == 0)
			m->ncheck = (uint64_t)num_arg(argv[++i], 1, 1e7);
		else if (strcmp(argv[i], "--interval") == 0)
			interval_ms = num_arg(argv[++i], 1, 864e5);
		else if (strcmp(argv[i], "--prefix") == 0)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--grid") == 0)
			grid_ms = num_arg(argv[++i], 0, 1000);
		else if (strcmp(argv[i], "--width") == 0)
			width = (int)num_arg(argv[++i], 0, 20);
		else if (strcmp(argv[i], "--duration") == 0)
			m->duration = num_arg(argv[++i], 0.001, 864e2);
		else if (strcmp(argv[i], "--warmup") == 0)
			m->warmup = num_arg(argv[++i], 0, 864e2);
		else if (strcmp(argv[i], "--max-in-flight") == 0)
			m->max_in_flight = (int)num_arg(argv[++i], 1, 1e6);
		else if (strcmp(argv[i], "--timeout") == 0)
			m->timeout_us = (int64_t)num_arg(argv[++i], 1, 864e5) *
			    1000;
		else if (strcmp(argv[i], "--sleep") == 0) {
			i++;
			if (strcmp(argv[i], "us") == 0)
				m->sleep_ms = 0;
			else if (strcmp(argv[i], "ms") == 0)
				m->sleep_ms = 1;
			else
				usage();
		} else if (strcmp(argv[i], "--close") == 0) {
			i++;
			if (strcmp(argv[i], "rst") == 0)
				m->rst = 1;
			else if (strcmp(argv[i], "graceful") == 0)
				m->rst = 0;
			else
				usage();
		} else
			usage();
	}
	if (port <= 0 || port > 65535 || m->duration <= 0 ||
	    m->warmup < 0 || m->warmup >= m->duration ||
	    m->max_in_flight < 1 || m->timeout_us <= 0)
		usage();
	if ((m->rate > 0) == (m->ncheck > 0 || interval_ms > 0))
		usage();		/* exactly one of the two modes */
	if (m->rate <= 0) {
		if (m->ncheck == 0 || interval_ms < 1)
			usage();
		m->interval_us = (int64_t)(interval_ms * 1000);
		ml_offsets(m, prefix, width, (int64_t)(grid_ms * 1000));
	}
	m->dst.sin_family = AF_INET;
	m->dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &m->dst.sin_addr) != 1)
		usage();
}

/* Takes the CPU snapshot that opens the measured window, once. */
static void
ml_window_open(struct ml *m, int64_t now)
{
	if (m->cpu_warm >= 0 || now < m->t_warm)
		return;
	m->cpu_warm = cpu_us();
	m->done_warm = m->done;
	m->t_warm_real = now;
}

/*
 * One iteration, the shape of loop_run_once(): start what is due, sleep
 * until the next due time or an event, dispatch.
 * Returns 0 once every probe has been started and has finished.
 */
static int
ml_step(struct ml *m)
{
	struct epoll_event	ev[ML_MAX_EVENTS];
	struct timespec		ts;
	int64_t			now, due, next = INT64_MAX, wait;
	int			i, n;

	now = now_us();
	ml_window_open(m, now);
	ml_expire(m, now);
	while ((due = ml_due(m, m->t0, m->k)) <= now && due < m->t_stop) {
		if (m->in_flight >= m->max_in_flight)
			m->skipped++;
		else {
			ml_lag(m, now - due);
			ml_start(m, now);
		}
		m->k++;
	}
	if (due >= m->t_stop && m->in_flight == 0)
		return 0;
	if (due < m->t_stop)
		next = due;
	if (m->rlen > 0 && m->ring[m->rhead].deadline < next)
		next = m->ring[m->rhead].deadline;
	if (m->cpu_warm < 0 && m->t_warm < next)
		next = m->t_warm;
	wait = next - now < 0 ? 0 : next - now;
	if (m->sleep_ms)
		n = epoll_wait(m->epfd, ev, ML_MAX_EVENTS,
		    next == INT64_MAX ? -1 : (int)((wait + 999) / 1000));
	else {
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		n = epoll_pwait2(m->epfd, ev, ML_MAX_EVENTS,
		    next == INT64_MAX ? NULL : &ts, NULL);
	}
	if (n == -1 && errno != EINTR)
		die("epoll_wait");
	for (i = 0; i < n; i++)
		ml_event(m, &ev[i]);
	return 1;
}

static void
ml_report(struct ml *m)
{
	int64_t		cpu_end, t_end;
	uint64_t	wdone;
	double		wsec;

	cpu_end = cpu_us();
	t_end = now_us();
	if (m->cpu_warm < 0) {
		m->cpu_warm = 0;
		m->t_warm_real = m->t0;
	}
	wdone = m->done - m->done_warm;
	wsec = (double)(t_end - m->t_warm_real) / 1e6;
	printf("tcp_minloop close=%s sleep=%s schedule=%s checks=%" PRIu64
	    " rate=%.1f duration_s=%.1f warmup_s=%.1f started=%" PRIu64
	    " ok=%" PRIu64 " errors=%" PRIu64 " timeouts=%" PRIu64
	    " skipped=%" PRIu64 " window_s=%.3f window_probes=%" PRIu64
	    " window_cpu_us=%" PRId64 " probes_per_s=%.1f"
	    " cpu_us_per_probe=%.2f lag_p50_ms=%.2f lag_p99_ms=%.2f"
	    " lag_max_ms=%.2f\n",
	    m->rst ? "rst" : "graceful", m->sleep_ms ? "ms" : "us",
	    m->offsets ? "hash" : "even",
	    m->ncheck, m->rate, m->duration, m->warmup, m->started, m->ok,
	    m->errors, m->timeouts, m->skipped, wsec, wdone,
	    cpu_end - m->cpu_warm, wsec > 0 ? (double)wdone / wsec : 0,
	    wdone ? (double)(cpu_end - m->cpu_warm) / (double)wdone : 0,
	    ml_lag_pct(m, 50), ml_lag_pct(m, 99),
	    (double)m->lag_max / 1000.0);
}

int
main(int argc, char **argv)
{
	struct ml	m;

	memset(&m, 0, sizeof(m));
	m.rst = 1;
	m.max_in_flight = 512;
	m.timeout_us = 2000000;
	m.warmup = 1;
	m.cpu_warm = -1;
	parse_args(&m, argc, argv);
	raise_nofile();
	m.lag = xcalloc(ML_LAG_BUCKETS, sizeof(*m.lag));
	if ((m.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");

	m.t0 = now_us() + 1000;
	m.t_warm = m.t0 + (int64_t)(m.warmup * 1e6);
	m.t_stop = m.t0 + (int64_t)(m.duration * 1e6);
	while (ml_step(&m))
		;
	ml_report(&m);
	return m.errors > 0 ? 1 : 0;
}
