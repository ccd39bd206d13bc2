/* SPDX-License-Identifier: ISC */
/*
 * outbox_bench: the cost of durable delivery.  A benchmark, not a test.
 *
 * Spools N notifications for a Slack channel into a fresh outbox (each
 * one a JSON record written with temp + fsync + rename + fsync of the
 * directory) while nothing sends, times each spool; frees the outbox and
 * opens it again (the restart path: every record read back); then lets
 * it deliver all N to a local HTTP sink (a forked child answering 200
 * "ok", keep-alive) and times the drain.  Prints one line:
 *   n=N spool_p50_us=.. spool_p99_us=.. reload_ms=.. drain_per_s=..
 *   cpu_us_per_spool=.. cpu_us_per_send=.. vmhwm_kb=..
 * CPU is this process's utime+stime (getrusage) over each phase; the
 * sink's CPU is not counted.
 *
 *   outbox_bench N STATE_DIR
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "curlmux.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"

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

/* Keep-alive HTTP sink: each request (head + Content-Length) gets "ok". */
static void
sink(int lfd)
{
	static const char	resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2"
	    "\r\n\r\nok";
	static char		buf[1 << 16];
	size_t			len, want;
	ssize_t			n;
	char			*end, *cl;
	int			fd;

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		for (len = 0;;) {
			if ((n = recv(fd, buf + len, sizeof(buf) - 1 - len,
			    0)) <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
				cl = strcasestr(buf, "\r\nContent-Length:");
				want = (size_t)(end + 4 - buf) + (cl != NULL &&
				    cl < end ? strtoul(cl + 17, NULL, 10) : 0);
				if (len < want)
					break;
				(void)send(fd, resp, sizeof(resp) - 1,
				    MSG_NOSIGNAL);
				memmove(buf, buf + want, len - want + 1);
				len -= want;
			}
		}
		close(fd);
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static long
vmhwm_kb(void)
{
	char	line[256];
	long	kb = -1;
	FILE	*f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f != NULL)
		fclose(f);
	return kb;
}

static struct config *
bench_config(const char *dir, int port)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			 path[512], url[128];
	FILE			*f;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T/B/x", port);
	setenv("SONDE_BENCH_URL", url, 1);
	snprintf(path, sizeof(path), "%s/bench.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fprintf(f, "channels = { slack = { webhook_url_env = "
	    "\"SONDE_BENCH_URL\"; }; };\n");
	fclose(f);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load(path, &errs);
	config_errors_free(&errs);
	return cfg;
}

static void
bench_item(struct notify_item *it, int i)
{
	memset(it, 0, sizeof(*it));
	it->kind = i % 2 == 0 ? NOTIFY_FIRING : NOTIFY_RESOLVED;
	snprintf(it->agent, sizeof(it->agent), "edge-bench");
	snprintf(it->rule, sizeof(it->rule), "down");
	snprintf(it->check, sizeof(it->check), "check-%d", i / 2);
	snprintf(it->target, sizeof(it->target), "10.0.%d.%d:443",
	    (i / 256) % 256, i % 256);
	snprintf(it->severity, sizeof(it->severity), "critical");
	snprintf(it->state, sizeof(it->state), "firing");
	snprintf(it->reason, sizeof(it->reason), "connect_timeout");
	snprintf(it->message, sizeof(it->message), "connect timeout after "
	    "3.0s");
	it->at = loop_wallclock();
	it->since = it->at - 60000000;
	it->bad = 3;
	it->of = 5;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct notify_item	 it;
	struct loop		*loop;
	struct outbox		*ob;
	struct config		*cfg;
	socklen_t		 sl = sizeof(sin);
	int64_t			*lat, t0, c0, spool_cpu, reload, drain;
	char			 err[256];
	int			 n, i, lfd;
	pid_t			 pid;

	if (argc != 3 || (n = atoi(argv[1])) <= 0)
		return fprintf(stderr, "usage: outbox_bench N STATE_DIR\n"), 2;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 16) == -1 || getsockname(lfd, (struct sockaddr *)&sin,
	    &sl) == -1)
		return perror("sink"), 1;
	if ((pid = fork()) == 0)
		sink(lfd);
	close(lfd);
	if ((cfg = bench_config(argv[2], ntohs(sin.sin_port))) == NULL)
		return fprintf(stderr, "config\n"), 1;
	lat = calloc((size_t)n, sizeof(*lat));
	loop = loop_new();
	if ((ob = outbox_new(loop, argv[2], NULL, err, sizeof(err))) == NULL)
		return fprintf(stderr, "%s\n", err), 1;
	c0 = cpu_us();
	for (i = 0; i < n; i++) {
		bench_item(&it, i);
		t0 = now_us();
		if (outbox_put(ob, "slack", &it, 1, err, sizeof(err)) == -1)
			return fprintf(stderr, "%s\n", err), 1;
		lat[i] = now_us() - t0;
	}
	spool_cpu = cpu_us() - c0;
	outbox_free(ob);
	t0 = now_us();
	ob = outbox_new(loop, argv[2], NULL, err, sizeof(err));
	reload = now_us() - t0;
	c0 = cpu_us();
	t0 = now_us();
	outbox_set_config(ob, cfg);
	while (outbox_pending(ob, NULL) > 0 && now_us() - t0 < 120000000)
		loop_run_once(loop, 100000);
	drain = now_us() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp64);
	printf("n=%d spool_p50_us=%lld spool_p99_us=%lld reload_ms=%.1f "
	    "drain_per_s=%.0f cpu_us_per_spool=%.1f cpu_us_per_send=%.1f "
	    "undelivered=%zu vmhwm_kb=%ld\n", n, (long long)lat[n / 2],
	    (long long)lat[n * 99 / 100], reload / 1e3, n / (drain / 1e6),
	    (double)spool_cpu / n, (double)(cpu_us() - c0) / n,
	    outbox_pending(ob, NULL), vmhwm_kb());
	outbox_free(ob);
	curlmux_shared_free();
	config_unref(cfg);
	loop_free(loop);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(lat);
	return 0;
}
