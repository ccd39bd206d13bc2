/* SPDX-License-Identifier: ISC */
/*
 * curl_minloop: the least a libcurl prober can spend on one HTTP probe:
 * the floor under sonde's http check, which is built on the same API.
 *
 *   curl_minloop TEMPLATE N INTERVAL_MS SECONDS [GRID_MS]
 *
 * One epoll loop drives one curl multi through the multi_socket API (the
 * socket and timer callbacks, as src/curlmux.c does), and starts N probes
 * every INTERVAL_MS, evenly spaced (each start moved up to a multiple of
 * GRID_MS when given, as sonde's agent.schedule_grid does): GET TEMPLATE (its %d replaced by
 * 0..N-1) on a fresh connection each (FRESH_CONNECT, FORBID_REUSE), closed
 * with a reset (SO_LINGER {1, 0}) as sonde does, the body thrown away.
 * Easy handles are reused with their options (only the URL is set per
 * probe); nothing else is done per probe: no result, no rules, no log.
 * Everything sonde adds on top is what its CPU per probe exceeds this
 * one's by.
 *
 * The syscalls libcurl 7.88 lets a client save are saved, as sonde does:
 * no TCP_NODELAY (a bodiless GET leaves in one write, so Nagle never holds
 * it), and no EPOLL_CTL_DEL for a socket curl closes (CURL_POLL_REMOVE
 * only marks it; curl's close, through CURLOPT_CLOSESOCKETFUNCTION, takes
 * it out of the epoll set; a socket removed but not closed is deleted
 * after curl's call).  What is left per probe is libcurl's own: socket,
 * fcntl x2 (non-blocking), SO_LINGER (ours), connect, poll, getsockopt,
 * getsockname x3, getpeername x2, sendto, recvfrom, close, and two
 * epoll_ctl (add for writing, then modify for reading).
 *
 * Prints "sent=... done=... ok=... failed=... cpu_us_per_probe=..." on
 * exit (after SECONDS, or SIGTERM); the CPU is getrusage() over the run
 * after the first interval (warm-up).  Bench code, not sonde.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define MINLOOP_MAX_FREE	256
#define MINLOOP_MAX_FD		65536

static int		 ep;
static CURLM		*multi;
static int64_t		 curl_due = -1;		/* µs, -1: none */
static CURL		*idle[MINLOOP_MAX_FREE];
static int		 nidle;
static long		 sent, done, ok, failed;
static volatile sig_atomic_t stop;
static int64_t		 grid_us;
static unsigned char	 fdstate[MINLOOP_MAX_FD];	/* 0, 1 watched, 2 removed */
static int		 dying[MINLOOP_MAX_FD];
static int		 ndying;

/* t moved up to the grid, when there is one. */
static int64_t
on_grid(int64_t t)
{
	return grid_us > 0 ? (t + grid_us - 1) / grid_us * grid_us : t;
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

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
rst_close(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct linger	lg = { 1, 0 };

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return CURL_SOCKOPT_OK;
}

static int
socket_cb(CURL *e, curl_socket_t fd, int what, void *clientp, void *sockp)
{
	struct epoll_event	ev = { 0 };

	(void)e;
	(void)clientp;
	(void)sockp;
	if (fd < 0 || fd >= MINLOOP_MAX_FD)
		return -1;
	if (what == CURL_POLL_REMOVE) {
		if (fdstate[fd] == 1) {
			fdstate[fd] = 2;
			dying[ndying++] = fd;
		}
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	epoll_ctl(ep, fdstate[fd] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
	    &ev);
	fdstate[fd] = 1;
	return 0;
}

/* curl closes its socket: the close drops it from the epoll set. */
static int
close_cb(void *arg, curl_socket_t fd)
{
	(void)arg;
	if (fd >= 0 && fd < MINLOOP_MAX_FD)
		fdstate[fd] = 0;
	return close(fd);
}

/* After curl's call: sockets it removed but did not close. */
static void
flush(void)
{
	int	fd;

	while (ndying > 0) {
		fd = dying[--ndying];
		if (fdstate[fd] != 2)
			continue;
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		fdstate[fd] = 0;
	}
}

static int
timer_cb(CURLM *m, long ms, void *arg)
{
	(void)m;
	(void)arg;
	curl_due = ms < 0 ? -1 : now_us() + ms * 1000;
	return 0;
}

static void
reap(void)
{
	CURLMsg	*msg;
	int	 left;
	long	 code = 0;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &code);
		done++;
		if (msg->data.result == CURLE_OK && code == 200)
			ok++;
		else
			failed++;
		curl_multi_remove_handle(multi, msg->easy_handle);
		if (nidle < MINLOOP_MAX_FREE)
			idle[nidle++] = msg->easy_handle;
		else
			curl_easy_cleanup(msg->easy_handle);
	}
}

/* A new handle: every option but the URL, once. */
static CURL *
handle_new(void)
{
	CURL	*e = curl_easy_init();

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, rst_close);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
	return e;
}

static void
start(const char *tmpl, long i)
{
	CURL		*e = nidle > 0 ? idle[--nidle] : handle_new();
	const char	*d = strstr(tmpl, "%d");
	char		 url[1024];

	if (d == NULL)
		snprintf(url, sizeof(url), "%s", tmpl);
	else
		snprintf(url, sizeof(url), "%.*s%ld%s", (int)(d - tmpl), tmpl,
		    i, d + 2);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_multi_add_handle(multi, e);
	sent++;
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
run(const char *tmpl, long n, int64_t interval_us, int64_t end)
{
	struct epoll_event	evs[64];
	int64_t			step = interval_us / n, next = now_us(), t;
	int64_t			wait_until;
	long			i = 0;
	int			k, nev, running, timeout;

	while (!stop && (t = now_us()) < end) {
		while (t >= on_grid(next)) {
			start(tmpl, i++ % n);
			next += step;
		}
		wait_until = on_grid(next);
		if (curl_due >= 0 && curl_due < wait_until)
			wait_until = curl_due;
		timeout = wait_until <= t ? 0 :
		    (int)((wait_until - t + 999) / 1000);
		nev = epoll_wait(ep, evs, 64, timeout);
		for (k = 0; k < nev; k++)
			curl_multi_socket_action(multi, evs[k].data.fd,
			    (evs[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			    (evs[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			    (evs[k].events & (EPOLLERR | EPOLLHUP) ?
			    CURL_CSELECT_ERR : 0), &running);
		if (curl_due >= 0 && now_us() >= curl_due) {
			curl_due = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0,
			    &running);
		}
		reap();
		flush();
	}
}

int
main(int argc, char **argv)
{
	long	 n, interval_ms, seconds, sent0, done0;
	int64_t	 t0, cpu0;

	if ((argc != 5 && argc != 6) || (n = atol(argv[2])) <= 0 ||
	    (interval_ms = atol(argv[3])) <= 0 || (seconds = atol(argv[4])) <=
	    0) {
		fprintf(stderr, "usage: curl_minloop TEMPLATE N INTERVAL_MS "
		    "SECONDS [GRID_MS]\n");
		return 2;
	}
	grid_us = argc == 6 ? atol(argv[5]) * 1000 : 0;
	signal(SIGTERM, on_term);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ep = epoll_create1(EPOLL_CLOEXEC);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	t0 = now_us();
	run(argv[1], n, interval_ms * 1000, t0 + interval_ms * 1000);
	cpu0 = cpu_us();
	sent0 = sent;
	done0 = done;
	run(argv[1], n, interval_ms * 1000, t0 + seconds * 1000000);
	printf("sent=%ld done=%ld ok=%ld failed=%ld cpu_us_per_probe=%.1f\n",
	    sent, done, ok, failed, done > done0 ?
	    (double)(cpu_us() - cpu0) / (double)(done - done0) : 0.0);
	(void)sent0;
	while (nidle > 0)
		curl_easy_cleanup(idle[--nidle]);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	return failed > 0 ? 1 : 0;
}
