/* SPDX-License-Identifier: ISC */
/*
 * testutil: fixtures shared by the Check suites.  Test-only code: failures
 * abort the test with ck_abort_msg() rather than returning errors.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "testutil.h"
#include "xmalloc.h"

static int64_t
testutil_fake_now(void *arg)
{
	return ((struct testutil_clock *)arg)->now;
}

void
testutil_fake_clock_install(struct loop *loop, struct testutil_clock *clock)
{
	loop_set_clock(loop, testutil_fake_now, clock);
}

/*
 * Binds fd (its address in ss, port 0) to a free port below the kernel's
 * ephemeral range when it can, else to any.  A port the kernel picks for
 * bind(0) comes from the same range as the source ports of outgoing
 * connections: picked here, closed, and handed to a server a test starts
 * later, it could meanwhile become the source port of another test's
 * connection (or of one to itself), and the test talked to the wrong
 * peer.  Seen as rare failures under make -j2 on a loaded host.
 */
static int
testutil_bind_low(int fd, struct sockaddr_storage *ss, socklen_t len)
{
	static unsigned	 seed;
	static int	 low;	/* the ephemeral range's start, read once */
	FILE		*f;
	int		 i, port;

	if (low == 0) {
		low = 32768;
		if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range",
		    "r")) != NULL) {
			if (fscanf(f, "%d", &low) != 1)
				low = 32768;
			fclose(f);
		}
	}
	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	for (i = 0; low > 12000 && i < 64; i++) {
		port = 10000 + (int)(rand_r(&seed) % (unsigned)(low - 10000));
		if (ss->ss_family == AF_INET6)
			((struct sockaddr_in6 *)ss)->sin6_port =
			    htons((uint16_t)port);
		else
			((struct sockaddr_in *)ss)->sin_port =
			    htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)ss, len) == 0)
			return 0;
	}
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)ss)->sin_port = 0;
	return bind(fd, (struct sockaddr *)ss, len);
}

int
testutil_listen_tcp(int family, int backlog, int *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(testutil_bind_low(fd, &ss, len) == 0,
	    "bind: %s", strerror(errno));
	ck_assert_msg(listen(fd, backlog) == 0, "listen: %s", strerror(errno));
	len = sizeof(ss);
	ck_assert(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	*port = ntohs(family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int
testutil_closed_port(void)
{
	int	fd, port;

	/* Bound but never listening: connects to it are refused. */
	fd = testutil_listen_tcp(AF_INET, 1, &port);
	close(fd);
	return port;
}

void
testutil_free_ports(int *ports, int n)
{
	int	fds[256], i;

	ck_assert_int_le(n, 256);
	for (i = 0; i < n; i++)
		fds[i] = testutil_listen_tcp(AF_INET, 1, &ports[i]);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

const char *
testutil_tmpdir(void)
{
	static char	dir[256];
	const char	*base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sonde-test-XXXXXX",
	    base != NULL ? base : "/tmp");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	return dir;
}

char *
testutil_write_file(const char *dir, const char *name, const char *text)
{
	char	*path;
	FILE	*f;

	path = xasprintf("%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert(fclose(f) == 0);
	return path;
}

static char	*testutil_log_buf;
static size_t	 testutil_log_len;

static void
testutil_log_handler(enum log_level level, const char *token,
    const char *line, void *arg)
{
	size_t	n = strlen(line);

	testutil_log_buf = xreallocarray(testutil_log_buf,
	    testutil_log_len + n + 2, 1);
	memcpy(testutil_log_buf + testutil_log_len, line, n);
	testutil_log_len += n;
	testutil_log_buf[testutil_log_len++] = '\n';
	testutil_log_buf[testutil_log_len] = '\0';
}

void
testutil_log_capture_start(void)
{
	free(testutil_log_buf);
	testutil_log_buf = xstrdup("");
	testutil_log_len = 0;
	log_init(LOG_LEVEL_DEBUG, NULL);
	log_set_handler(testutil_log_handler, NULL);
}

const char *
testutil_log_captured(void)
{
	return testutil_log_buf != NULL ? testutil_log_buf : "";
}

void
testutil_log_capture_stop(void)
{
	log_set_handler(NULL, NULL);
	log_init(LOG_LEVEL_INFO, NULL);
}

static int64_t
testutil_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
testutil_timescale(void)
{
	const char	*env = getenv("SONDE_TEST_TIMESCALE");
	long		 n;

	if (env == NULL || *env == '\0')
		return 1;
	n = strtol(env, NULL, 10);
	return n >= 1 && n <= 1000 ? (int)n : 1;
}

int
testutil_scale_ms(int ms)
{
	return ms * testutil_timescale();
}

bool
testutil_run_until(struct loop *loop, const bool *flag, int timeout_ms)
{
	int64_t	end = testutil_ms() + testutil_scale_ms(timeout_ms);

	while (!*flag && testutil_ms() < end)
		ck_assert(loop_run_once(loop, 10000) != -1);
	return *flag;
}

struct testutil_buf {
	char	*data;
	size_t	 len;
};

static int
testutil_drain(int fd, struct testutil_buf *b)
{
	char	chunk[4096];
	ssize_t	n;

	n = read(fd, chunk, sizeof(chunk));
	if (n <= 0)
		return -1;
	b->data = xreallocarray(b->data, b->len + (size_t)n + 1, 1);
	memcpy(b->data + b->len, chunk, (size_t)n);
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return 0;
}

static void
testutil_child(char *const argv[], int outfd, int errfd)
{
	int	null = open("/dev/null", O_RDONLY);

	dup2(null, STDIN_FILENO);
	dup2(outfd, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	execv(argv[0], argv);
	_exit(127);
}

/* Reads both pipes until EOF on both or the deadline. */
static bool
testutil_collect(int fds[2], struct testutil_buf bufs[2], int64_t end)
{
	struct pollfd	pfd[2];
	int		i, open_fds = 2;

	pfd[0].fd = fds[0];
	pfd[1].fd = fds[1];
	while (open_fds > 0 && testutil_ms() < end) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)(end - testutil_ms())) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (testutil_drain(pfd[i].fd, &bufs[i]) == -1) {
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	return open_fds == 0;
}

int
testutil_run_cmd(char *const argv[], char **out, char **err, int timeout_ms)
{
	struct testutil_buf	bufs[2] = { { xstrdup(""), 0 },
				    { xstrdup(""), 0 } };
	int			opipe[2], epipe[2], fds[2], status;
	pid_t			pid;
	bool			finished;

	ck_assert(pipe2(opipe, O_CLOEXEC) == 0 && pipe2(epipe, O_CLOEXEC) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0)
		testutil_child(argv, opipe[1], epipe[1]);
	close(opipe[1]);
	close(epipe[1]);
	fds[0] = opipe[0];
	fds[1] = epipe[0];
	finished = testutil_collect(fds, bufs,
	    testutil_ms() + testutil_scale_ms(timeout_ms));
	if (!finished)
		kill(pid, SIGKILL);
	ck_assert(waitpid(pid, &status, 0) == pid);
	close(opipe[0]);
	close(epipe[0]);
	*out = bufs[0].data;
	*err = bufs[1].data;
	if (!finished)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

struct config *
testutil_config_text(const char *dir, const char *text, char **errors)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*path, *out = xstrdup(""), *t;
	const char		*line;
	size_t			 i;

	path = testutil_write_file(dir, "sonde.conf", text);
	cfg = config_load(path, &errs);
	for (i = 0; i < errs.count; i++) {
		line = strstr(errs.lines[i], "sonde.conf:");
		t = xasprintf("%s%s%s", out, i == 0 ? "" : "\n",
		    line != NULL ? line : errs.lines[i]);
		free(out);
		out = t;
	}
	config_errors_free(&errs);
	free(path);
	*errors = out;
	return cfg;
}

void
testutil_outcome_done(struct probe_run *run, void *arg)
{
	struct testutil_outcome	*o = arg;

	o->done = true;
	o->result = run->result;
	o->elapsed_ms = testutil_ms() - o->elapsed_ms;
}

void
testutil_run_probe(struct loop *loop, struct resolver *resolver,
    const struct check_conf *check, struct testutil_outcome *o)
{
	struct probe_run	run;

	memset(o, 0, sizeof(*o));
	probe_run_init(&run, loop, resolver, check);
	o->elapsed_ms = testutil_ms();	/* the start, until done */
	probe_run_start(&run, loop_time(loop) + check->timeout_ms * 1000,
	    testutil_outcome_done, o);
	ck_assert(!o->done);
	ck_assert_msg(testutil_run_until(loop, &o->done,
	    (int)check->timeout_ms + 3000), "probe did not finish");
	ck_assert_ptr_null(run.priv);
}

void
testutil_assert_result(const struct probe_result *res, enum probe_status st,
    const char *msg)
{
	ck_assert_msg(res->status == st, "status %s, want %s (%s)",
	    probe_status_str(res->status), probe_status_str(st),
	    res->message);
	ck_assert_str_eq(res->message, msg);
}
