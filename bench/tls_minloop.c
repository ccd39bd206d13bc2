/* SPDX-License-Identifier: ISC */
/*
 * tls_minloop: the physical limit for sonde's tls check, as a benchmark
 * baseline.  The least a client can do per probe and still do what the
 * check does: non-blocking connect, a full TLS handshake (no resumption)
 * with SNI, chain and host name verification against a CA file loaded
 * once, close_notify, RST close; all on one epoll loop, with new probes
 * started on a fixed grid at the given rate (as sonde's scheduler does).
 * It parses no config, keeps no results, builds no messages.  Like
 * sonde's contexts, it releases an SSL's record buffers while it waits
 * (SSL_MODE_RELEASE_BUFFERS: 34 kB less per handshake in flight, for
 * 0.1% more instructions) and never reads after the handshake, so the
 * server's TLS 1.3 NewSessionTickets, if any, are never parsed.
 *
 * usage: tls_minloop HOST PORT SERVER_NAME CA_FILE RATE SECONDS [GRID_MS]
 * With GRID_MS the loop wakes every GRID_MS and starts the probes due by
 * then together, as sonde does on its agent.schedule_grid (give sonde's
 * grid for handshakes: 50 at 100 probes/s, 5 at 1,000; see
 * sched_handshake_grid() in src/sched.c); without, it wakes once per
 * probe.
 * Runs WARMUP_S seconds first (OpenSSL's lazy initialisation, provider
 * and algorithm fetches), then measures CPU and handshakes over SECONDS.
 * prints: handshakes=N failed=N seconds=S rate=R cpu_us_per_probe=C
 *         maxrss_kb=K
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAXCONN	4096
#define WARMUP_S	2.0

struct conn {
	int	 fd;
	SSL	*ssl;
	int	 connected;
};

static struct conn	conns[MAXCONN];
static SSL_CTX		*ctx;
static struct sockaddr_in sin_;
static const char	*sname;
static long		 done, failed;
static int		 ep;

static double
cpu_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
conn_close(struct conn *c, int ok)
{
	struct linger	lg = { 1, 0 };

	if (c->ssl != NULL) {
		if (ok)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
	ERR_clear_error();
	if (ok)
		done++;
	else
		failed++;
}

static void
conn_start(void)
{
	struct epoll_event	ev;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || fd >= MAXCONN) {
		if (fd >= 0)
			close(fd);
		failed++;
		return;
	}
	if (connect(fd, (struct sockaddr *)&sin_, sizeof(sin_)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		failed++;
		return;
	}
	conns[fd].fd = fd;
	conns[fd].connected = 0;
	conns[fd].ssl = NULL;
	ev.events = EPOLLOUT;
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void
conn_event(struct conn *c)
{
	struct epoll_event	ev;
	int			r, e, err = 0;
	socklen_t		len = sizeof(err);

	if (!c->connected) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			conn_close(c, 0);
			return;
		}
		c->connected = 1;
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		SSL_set_tlsext_host_name(c->ssl, sname);
		SSL_set1_host(c->ssl, sname);
	}
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		conn_close(c, SSL_get_verify_result(c->ssl) == X509_V_OK);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		conn_close(c, 0);
		return;
	}
	ev.events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
	ev.data.fd = c->fd;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[256], ev;
	struct itimerspec	 its;
	struct rusage		 ru;
	double			 rate, secs, t0, t, cpu, cpu0 = 0, tw = 0;
	long			 started = 0, due, done0 = 0, failed0 = 0;
	long			 period;
	uint64_t		 ticks;
	int			 tfd, n, i, warm = 0;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: tls_minloop HOST PORT SERVER_NAME "
		    "CA_FILE RATE SECONDS [GRID_MS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin_, 0, sizeof(sin_));
	sin_.sin_family = AF_INET;
	sin_.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sin_.sin_addr);
	sname = argv[3];
	rate = atof(argv[5]);
	secs = atof(argv[6]);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1) {
		fprintf(stderr, "cannot load %s\n", argv[4]);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	/* One wakeup per probe, or per grid step, as sonde's timers do. */
	period = argc == 8 && atof(argv[7]) > 0 ? (long)(atof(argv[7]) * 1e6) :
	    (long)(1e9 / rate);
	its.it_interval.tv_sec = period / 1000000000;
	its.it_interval.tv_nsec = period % 1000000000;
	its.it_value = its.it_interval;
	timerfd_settime(tfd, 0, &its, NULL);
	ev.events = EPOLLIN;
	ev.data.fd = -1;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	t0 = now_s();
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd != -1) {
				conn_event(&conns[evs[i].data.fd]);
				continue;
			}
			(void)!read(tfd, &ticks, sizeof(ticks));
			t = now_s() - t0;
			if (!warm && t >= WARMUP_S) {
				warm = 1;
				cpu0 = cpu_us();
				done0 = done;
				failed0 = failed;
				tw = t;
			}
			if (t >= WARMUP_S + secs)
				goto out;
			/* A fixed grid: the probes due by now, not per tick. */
			due = (long)(t * rate);
			while (started < due) {
				conn_start();
				started++;
			}
		}
	}
out:
	t = now_s() - t0 - tw;
	cpu = cpu_us() - cpu0;
	done -= done0;
	failed -= failed0;
	getrusage(RUSAGE_SELF, &ru);
	printf("handshakes=%ld failed=%ld seconds=%.2f rate=%.1f "
	    "cpu_us_per_probe=%.1f maxrss_kb=%ld\n", done, failed, t,
	    done / t, done > 0 ? cpu / (double)done : 0.0, ru.ru_maxrss);
	return 0;
}
