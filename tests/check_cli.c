/* SPDX-License-Identifier: ISC */
/*
 * check_cli: end-to-end tests of the built sonde binary ($SONDE_BIN): the
 * command line, -t, --once (table and JSON, against a real listener and a
 * closed port), and the daemon (state-change logging, SIGHUP reload,
 * SIGTERM summary).
 *
 * The daemon tests run sonde with -d so that every result is logged: the
 * test waits for the results it needs instead of sleeping.  A spawned
 * daemon dies with its test process (PR_SET_PDEATHSIG), so a failed
 * assertion never leaves one behind.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "curlmux.h"
#include "loop.h"
#include "recsrv.h"
#include "testutil.h"
#include "xmalloc.h"

#define CLI_TIMEOUT_MS	10000	/* for a command that should just finish */
#define CLI_WAIT_MS	5000	/* for a line the daemon should log */

/* A sonde daemon started by a test, and what it wrote on stderr. */
struct cli_daemon {
	pid_t	 pid;
	int	 errfd;
	char	*err;
	size_t	 len;
};

static const char *
cli_bin(void)
{
	const char	*bin = getenv("SONDE_BIN");

	return bin != NULL ? bin : "./sonde";
}

/* Runs sonde with the NULL-terminated arguments; returns the status. */
static int
cli_run(char **out, char **err, ...)
{
	char	*argv[16];
	va_list	 ap;
	int	 n = 0;

	argv[n++] = (char *)cli_bin();
	va_start(ap, err);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		ck_assert_int_lt(++n, 15);
	va_end(ap);
	return testutil_run_cmd(argv, out, err, CLI_TIMEOUT_MS);
}

/* Writes text into dir/sonde.conf (printf-style); returns the path. */
static char *
cli_config(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
cli_config(const char *dir, const char *fmt, ...)
{
	va_list	 ap;
	char	*text, *path;

	char	*full;

	va_start(ap, fmt);
	ck_assert(vasprintf(&text, fmt, ap) != -1);
	va_end(ap);
	/*
	 * Each test's daemon gets its own state_dir: agents on one state_dir
	 * refuse to run together (its pid file is locked).  Appended, so the
	 * lines the tests expect in errors stay where they are.
	 */
	if (strstr(text, "agent") == NULL)
		full = xasprintf("%s\nagent: { state_dir = \"%s/state\"; };\n",
		    text, dir);
	else
		full = xstrdup(text);
	path = testutil_write_file(dir, "sonde.conf", full);
	free(full);
	free(text);
	return path;
}

/* Returns how many times needle occurs in s. */
static int
cli_count(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* Returns the number of lines of s (each ends in '\n'). */
static int
cli_lines(const char *s)
{
	return cli_count(s, "\n");
}

/* A tcp check block on 127.0.0.1:port. */
static char *
cli_check(const char *name, int port, const char *extra)
{
	return xasprintf("{ name = \"%s\"; type = \"tcp\"; host = "
	    "\"127.0.0.1\"; port = %d; %s }", name, port, extra);
}

/* ---- the daemon ---------------------------------------------------------- */

static void
cli_daemon_start(struct cli_daemon *d, const char *conf)
{
	sigset_t	none;
	int		p[2], null;
	pid_t		parent = getpid();

	ck_assert(pipe2(p, O_CLOEXEC) == 0);
	d->pid = fork();
	ck_assert(d->pid >= 0);
	if (d->pid == 0) {
		/* Die with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execl(cli_bin(), cli_bin(), "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	d->errfd = p[0];
	d->err = xstrdup("");
	d->len = 0;
}

static int64_t
cli_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what the daemon logged for up to ms; returns false at EOF. */
static bool
cli_daemon_read(struct cli_daemon *d, int ms)
{
	struct pollfd	pfd = { .fd = d->errfd, .events = POLLIN };
	char		buf[4096];
	ssize_t		n;

	if (poll(&pfd, 1, ms) <= 0)
		return true;
	if ((n = read(d->errfd, buf, sizeof(buf))) <= 0)
		return false;
	d->err = xreallocarray(d->err, d->len + (size_t)n + 1, 1);
	memcpy(d->err + d->len, buf, (size_t)n);
	d->len += (size_t)n;
	d->err[d->len] = '\0';
	return true;
}

/* Waits until needle has been logged count times; fails the test if not. */
static void
cli_daemon_wait(struct cli_daemon *d, const char *needle, int count)
{
	int64_t	end = cli_ms() + testutil_scale_ms(CLI_WAIT_MS);

	while (cli_count(d->err, needle) < count && cli_ms() < end)
		if (!cli_daemon_read(d, (int)(end - cli_ms())))
			break;
	ck_assert_msg(cli_count(d->err, needle) >= count,
	    "waited for %d x '%s'; sonde logged:\n%s", count, needle, d->err);
}

/* Sends signo, reads stderr to EOF and reaps; returns the exit status. */
static int
cli_daemon_stop(struct cli_daemon *d, int signo)
{
	int64_t	end = cli_ms() + testutil_scale_ms(CLI_TIMEOUT_MS);
	int	status;

	ck_assert(kill(d->pid, signo) == 0);
	while (cli_ms() < end && cli_daemon_read(d, (int)(end - cli_ms())))
		;
	if (cli_ms() >= end)
		kill(d->pid, SIGKILL);
	ck_assert(waitpid(d->pid, &status, 0) == d->pid);
	close(d->errfd);
	ck_assert_msg(WIFEXITED(status), "sonde died of signal %d:\n%s",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0, d->err);
	return WEXITSTATUS(status);
}

static bool
cli_daemon_alive(const struct cli_daemon *d)
{
	int	status;

	return waitpid(d->pid, &status, WNOHANG) == 0;
}

/* ---- -t ------------------------------------------------------------------ */

/*
 * Every shipped example passes sonde -t, so a user who copies one starts
 * from a valid file.  (api.conf reads secret files at load; it is checked
 * by hand, see its header.)
 */
static const char *const cli_examples[] = {
	"quickstart.conf", "sonde.conf", "web.conf", "resolver.conf",
	"certs.conf", "smtp.conf"
};

START_TEST(test_cli_examples_valid)
{
	const char	*src = getenv("SONDE_SRCDIR");
	char		*path, *out, *err;

	path = xasprintf("%s/examples/%s", src != NULL ? src : "..",
	    cli_examples[_i]);
	ck_assert_msg(cli_run(&out, &err, "-t", "-c", path, NULL) == 0,
	    "%s: %s", path, err);
	ck_assert_ptr_nonnull(strstr(out, "ok ("));
	free(out);
	free(err);
	free(path);
}
END_TEST

START_TEST(test_cli_test_ok)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err, *want, *a, *b;

	a = cli_check("a", 1, "");
	b = cli_check("b", 2, "interval = \"10s\";");
	conf = cli_config(dir, "checks = (\n  %s,\n  %s\n);\n", a, b);
	ck_assert_int_eq(cli_run(&out, &err, "-t", "-c", conf, NULL), 0);
	want = xasprintf("sonde: configuration %s ok (2 checks)\n", conf);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(err, "");
	free(a);
	free(b);
	free(want);
	free(conf);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_test_errors)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err, *line;
	int		 i;
	static const int lines[] = { 3, 5, 8 };

	conf = cli_config(dir,
	    "checks = (\n"
	    "  { name = \"a\"; type = \"tcp\"; host = \"127.0.0.1\";\n"
	    "    port = 70000; },\n"
	    "  { name = \"b\"; type = \"tcp\"; host = \"::1\"; port = 1;\n"
	    "    colour = \"red\"; },\n"
	    "  { name = \"c\"; type = \"tcp\"; host = \"::1\"; port = 1;\n"
	    "    labels = { team = \"x\"; };\n"
	    "    interval = \"soon\"; }\n"
	    ");\n");
	ck_assert_int_eq(cli_run(&out, &err, "-t", "-c", conf, NULL), 2);
	ck_assert_str_eq(out, "");
	ck_assert_msg(cli_lines(err) == 3, "want 3 error lines, got:\n%s",
	    err);
	for (i = 0; i < 3; i++) {
		line = xasprintf("%s:%d: ", conf, lines[i]);
		ck_assert_msg(cli_count(err, line) == 1, "no '%s' in:\n%s",
		    line, err);
		free(line);
	}
	free(conf);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_test_missing)
{
	char	*out, *err;

	ck_assert_int_eq(cli_run(&out, &err, "-t", "-c",
	    "/nonexistent/sonde.conf", NULL), 2);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/sonde.conf"));
	free(out);
	free(err);
}
END_TEST

/* ---- --once -------------------------------------------------------------- */

/* A config with "up" (a listener) then "down" (a closed port). */
static char *
cli_up_down(const char *dir, int *lfd, int *up, int *down)
{
	char	*a, *b, *conf;

	*lfd = testutil_listen_tcp(AF_INET, 16, up);
	*down = testutil_closed_port();
	a = cli_check("up", *up, "timeout = \"2s\";");
	/* The label's bad UTF-8 byte must not cost the whole record. */
	b = cli_check("down", *down, "timeout = \"2s\"; "
	    "labels = { team = \"core\"; note = \"caf\\xc3\\xa9 \\xff\"; };");
	conf = cli_config(dir, "checks = (\n  %s,\n  %s\n);\n", a, b);
	free(a);
	free(b);
	return conf;
}

static json_t *
cli_json_line(const char *line)
{
	json_error_t	 jerr;
	json_t		*obj;

	obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(obj != NULL, "bad JSON (%s): %s", jerr.text, line);
	ck_assert(json_is_object(obj));
	return obj;
}

/* "2026-11-27T18:00:00.000Z" */
static void
cli_assert_rfc3339(const char *s)
{
	static const char	shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t			i;

	ck_assert_msg(strlen(s) == strlen(shape), "started_at %s", s);
	for (i = 0; shape[i] != '\0'; i++)
		ck_assert_msg(shape[i] == 'd' ? isdigit((unsigned char)s[i]) :
		    s[i] == shape[i], "started_at %s", s);
}

static void
cli_assert_common(json_t *r, const char *name, int port)
{
	char	target[64];
	json_t	*phases, *tcp;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	ck_assert_str_eq(json_string_value(json_object_get(r, "check")), name);
	ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(r, "target")),
	    target);
	ck_assert(json_real_value(json_object_get(r, "duration_seconds")) > 0);
	phases = json_object_get(r, "phases");
	ck_assert(json_is_real(json_object_get(phases, "connect")));
	ck_assert_ptr_null(json_object_get(phases, "resolve"));	/* literal */
	tcp = json_object_get(r, "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(tcp, "address")),
	    target);
	cli_assert_rfc3339(json_string_value(json_object_get(r,
	    "started_at")));
}

START_TEST(test_cli_once_json)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err, *nl;
	json_t		*up, *down, *labels;
	int		 lfd, uport, dport;

	conf = cli_up_down(dir, &lfd, &uport, &dport);
	ck_assert_int_eq(cli_run(&out, &err, "--once", "--json", "-c", conf,
	    NULL), 1);
	ck_assert_msg(cli_lines(out) == 2, "stdout:\n%s\nstderr:\n%s", out,
	    err);
	nl = strchr(out, '\n');
	*nl = '\0';
	up = cli_json_line(out);
	down = cli_json_line(nl + 1);

	cli_assert_common(up, "up", uport);
	ck_assert(json_is_true(json_object_get(up, "ok")));
	ck_assert_ptr_null(json_object_get(up, "reason"));
	ck_assert_ptr_null(json_object_get(up, "labels"));

	cli_assert_common(down, "down", dport);
	ck_assert(json_is_false(json_object_get(down, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(down, "reason")),
	    "connect_refused");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(down,
	    "message")));
	labels = json_object_get(down, "labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "team")),
	    "core");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "note")),
	    "caf\xc3\xa9 \xef\xbf\xbd");

	json_decref(up);
	json_decref(down);
	close(lfd);
	free(conf);
	free(out);
	free(err);
}
END_TEST

/* ---- --once: what the duration holds ---------------------------------- */

static const char *
cli_any_request(const char *head, const char *body)
{
	(void)head;
	(void)body;
	return NULL;
}

static int64_t
cli_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * What a fresh process spends setting curl up (curl_global_init, which
 * initialises OpenSSL, and the multi), in µs: the least of 3 children,
 * so the figure fits this host and build (sanitizers make it larger).
 */
static int64_t
cli_curl_setup_us(void)
{
	int64_t	 best = INT64_MAX, us;
	pid_t	 pid;
	int	 fds[2], i, status;
	char	 err[256];

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			struct loop	*loop = loop_new();
			struct curlmux	*cm;

			us = cli_mono_us();
			if ((cm = curlmux_new(loop, err, sizeof(err))) == NULL)
				_exit(1);
			us = cli_mono_us() - us;
			curlmux_free(cm);	/* valgrind checks children */
			loop_free(loop);
			_exit(write(fds[1], &us, sizeof(us)) == sizeof(us) ?
			    0 : 1);
		}
		ck_assert_int_gt(pid, 0);
		close(fds[1]);
		ck_assert_int_eq(read(fds[0], &us, sizeof(us)), sizeof(us));
		close(fds[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (us < best)
			best = us;
	}
	return best;
}

/* duration_seconds minus the sum of the phases, in µs. */
static int64_t
cli_unphased_us(json_t *r)
{
	json_t		*phases = json_object_get(r, "phases"), *v;
	const char	*k;
	double		 sum = 0;

	ck_assert_ptr_nonnull(phases);
	json_object_foreach(phases, k, v)
		sum += json_real_value(v);
	return (int64_t)((json_real_value(json_object_get(r,
	    "duration_seconds")) - sum) * 1e6);
}

/*
 * The first http probe of a process used to set curl up inside its timed
 * window: --once reported about 1 ms more than its phases added up to
 * (bench/accuracy.sh).  Now curl is set up before probes start, so what
 * the phases leave out must be well under what that set-up costs.  The
 * least of 5 runs: a busy host only ever adds to a run.
 */
START_TEST(test_cli_once_http_duration_excludes_curl_setup)
{
	static const struct recsrv_answer ok = { 200, "", "ok" };
	const char	*dir = testutil_tmpdir();
	struct recsrv	 srv;
	char		*conf, *out, *err;
	json_t		*r;
	int64_t		 setup, gap, best = INT64_MAX;
	int		 i;

	recsrv_start(&srv, &ok, 1, cli_any_request);
	conf = cli_config(dir, "checks = ({ name = \"web\"; type = \"http\"; "
	    "url = \"http://127.0.0.1:%d/\"; });\n", srv.port);
	setup = cli_curl_setup_us();
	for (i = 0; i < 5; i++) {
		ck_assert_msg(cli_run(&out, &err, "--once", "--json", "-c",
		    conf, NULL) == 0, "stdout:\n%s\nstderr:\n%s", out, err);
		r = cli_json_line(out);
		gap = cli_unphased_us(r);
		if (gap < best)
			best = gap;
		json_decref(r);
		free(out);
		free(err);
	}
	recsrv_stop(&srv);
	/*
	 * Under valgrind a ratio of two timings says nothing: its slowdown
	 * differs from one stretch of code to the next.
	 */
	if (testutil_timescale() == 1)
		ck_assert_msg(best < setup / 2, "duration exceeds the phases "
		    "by %lld us at least; setting curl up costs %lld us: is it "
		    "timed?", (long long)best, (long long)setup);
	free(conf);
}
END_TEST

START_TEST(test_cli_once_select)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err;
	json_t		*r;
	int		 lfd, uport, dport;

	conf = cli_up_down(dir, &lfd, &uport, &dport);
	ck_assert_int_eq(cli_run(&out, &err, "--once", "--json", "--check",
	    "down", "-c", conf, NULL), 1);
	ck_assert_int_eq(cli_lines(out), 1);
	r = cli_json_line(out);
	ck_assert_str_eq(json_string_value(json_object_get(r, "check")),
	    "down");
	json_decref(r);
	free(out);
	free(err);

	/* Only the listener: all ok. */
	ck_assert_int_eq(cli_run(&out, &err, "--once", "--check", "up",
	    "-c", conf, NULL), 0);
	ck_assert_int_eq(cli_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, "\nup "));
	ck_assert_ptr_null(strstr(out, "down"));
	close(lfd);
	free(conf);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_once_unknown_check)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err, *want;
	int		 lfd, uport, dport;

	conf = cli_up_down(dir, &lfd, &uport, &dport);
	ck_assert_int_eq(cli_run(&out, &err, "--once", "--check", "up",
	    "--check", "nope", "-c", conf, NULL), 2);
	ck_assert_str_eq(out, "");
	want = xasprintf("sonde: no check named 'nope' in %s\n", conf);
	ck_assert_str_eq(err, want);
	close(lfd);
	free(want);
	free(conf);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_once_table)
{
	const char	*dir = testutil_tmpdir();
	char		*conf, *out, *err, *a, *b;
	int		 lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	a = cli_check("first", port, "");
	b = cli_check("second-check", port, "");
	conf = cli_config(dir, "checks = (\n  %s,\n  %s\n);\n", a, b);
	ck_assert_int_eq(cli_run(&out, &err, "--once", "-c", conf, NULL), 0);
	ck_assert_msg(cli_lines(out) == 3, "stdout:\n%s", out);
	ck_assert_msg(strncmp(out, "CHECK ", 6) == 0, "stdout:\n%s", out);
	ck_assert_ptr_nonnull(strstr(out, " TYPE "));
	ck_assert_ptr_nonnull(strstr(out, " TARGET "));
	ck_assert_ptr_nonnull(strstr(out, " RESULT "));
	ck_assert_ptr_nonnull(strstr(out, " TIME "));
	ck_assert_ptr_nonnull(strstr(out, " MESSAGE\n"));
	/* Config order, aligned: both rows start their target together. */
	ck_assert_ptr_nonnull(strstr(out, "\nfirst        tcp  127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(out, "\nsecond-check tcp  127.0.0.1:"));
	ck_assert_int_eq(cli_count(out, " ok "), 2);
	close(lfd);
	free(a);
	free(b);
	free(conf);
	free(out);
	free(err);
}
END_TEST

/* ---- the daemon ---------------------------------------------------------- */

START_TEST(test_cli_daemon_state_changes)
{
	const char		*dir = testutil_tmpdir();
	struct cli_daemon	 d;
	char			*conf, *c;
	int			 lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 64, &port);
	c = cli_check("svc", port, "interval = \"200ms\"; "
	    "timeout = \"150ms\";");
	conf = cli_config(dir, "checks = (\n  %s\n);\n", c);
	cli_daemon_start(&d, conf);
	cli_daemon_wait(&d, "started: 1 check,", 1);
	cli_daemon_wait(&d, "check=svc state=ok ", 1);
	/* Several ok results, each logged at debug, one state line. */
	cli_daemon_wait(&d, "check \\\"svc\\\": ok in ", 4);
	close(lfd);
	cli_daemon_wait(&d, "check=svc state=failing reason=connect_refused ",
	    1);
	cli_daemon_wait(&d, "check \\\"svc\\\": connect_refused in ", 3);

	ck_assert_int_eq(cli_daemon_stop(&d, SIGTERM), 0);
	ck_assert_msg(cli_count(d.err, "check=svc state=ok ") == 1 &&
	    cli_count(d.err, "check=svc state=failing ") == 1,
	    "want one line per state change:\n%s", d.err);
	ck_assert_ptr_nonnull(strstr(d.err, " target=127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(d.err, " message=\"connect to "));
	ck_assert_ptr_nonnull(strstr(d.err, "SIGTERM received"));
	ck_assert_msg(strstr(d.err, " event=stopped probes=") != NULL &&
	    strstr(d.err, " failed=") != NULL &&
	    strstr(d.err, " skipped=") != NULL &&
	    strstr(d.err, " lag_p50_ms=") != NULL &&
	    strstr(d.err, " lag_p99_ms=") != NULL &&
	    strstr(d.err, " lag_max_ms=") != NULL, "no summary:\n%s", d.err);
	free(c);
	free(conf);
	free(d.err);
}
END_TEST

/*
 * Started as root with agent.user and no state_dir yet: root creates it
 * for the user (0700, theirs), so after the drop the outbox and the state
 * are still written there, not refused.
 */
START_TEST(test_cli_user_state_dir)
{
	struct cli_daemon	 d;
	struct passwd		*pw = getpwnam("nobody");
	struct stat		 st;
	char			*base, *conf, *c, *p;
	int			 lfd, port;

	if (geteuid() != 0 || pw == NULL) {
		fprintf(stderr, "check_cli: the agent.user case needs root "
		    "and user nobody\n");
		return;
	}
	base = xstrdup(testutil_tmpdir());
	ck_assert_int_eq(chmod(base, 0755), 0);
	lfd = testutil_listen_tcp(AF_INET, 64, &port);
	c = cli_check("svc", port, "interval = \"200ms\";");
	conf = cli_config(base, "agent: { user = \"nobody\"; state_dir = "
	    "\"%s/state\"; };\nchecks = (\n  %s\n);\n", base, c);
	cli_daemon_start(&d, conf);
	cli_daemon_wait(&d, "started: 1 check,", 1);
	cli_daemon_wait(&d, "check=svc state=ok ", 1);
	ck_assert_int_eq(cli_daemon_stop(&d, SIGTERM), 0);
	ck_assert_msg(strstr(d.err, "cannot open the outbox") == NULL &&
	    strstr(d.err, "cannot start") == NULL, "%s", d.err);
	p = xasprintf("%s/state", base);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_uid, pw->pw_uid);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	free(p);
	p = xasprintf("%s/state/outbox", base);
	ck_assert_msg(stat(p, &st) == 0 && st.st_uid == pw->pw_uid,
	    "%s: %s", p, strerror(errno));
	free(p);
	close(lfd);
	free(c);
	free(conf);
	free(base);
	free(d.err);
}
END_TEST

/*
 * sonde -s finds the agent by its state_dir's locked pid file: reload asks
 * it to reload, stop waits for it to exit; a second agent on the same
 * state_dir is refused; with none running, -s says so.
 */
START_TEST(test_cli_signal_and_pid_lock)
{
	const char		*dir = testutil_tmpdir();
	struct cli_daemon	 d, twin;
	char			*conf, *c, *out, *err;
	int			 status, port = testutil_closed_port();

	c = cli_check("a", port, "interval = \"300ms\"; timeout = \"200ms\";");
	conf = cli_config(dir, "checks = (\n  %s\n);\n", c);
	ck_assert_int_eq(cli_run(&out, &err, "-s", "reload", "-c", conf,
	    NULL), 1);
	ck_assert_msg(strstr(err, "no agent runs with state_dir") != NULL,
	    "%s", err);
	free(out);
	free(err);

	cli_daemon_start(&d, conf);
	cli_daemon_wait(&d, "started: 1 check,", 1);
	/* The twin stops at once, naming the pid that holds the lock. */
	cli_daemon_start(&twin, conf);
	status = cli_daemon_stop(&twin, SIGCONT);
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(twin.err, "locked by another sonde (pid ") != NULL,
	    "%s", twin.err);
	free(twin.err);

	ck_assert_int_eq(cli_run(&out, &err, "-s", "reload", "-c", conf,
	    NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "asked the agent (pid "));
	free(out);
	free(err);
	cli_daemon_wait(&d, "config reloaded", 1);
	ck_assert_int_eq(cli_run(&out, &err, "-s", "stop", "-c", conf, NULL),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "stopped"));
	free(out);
	free(err);
	ck_assert_int_eq(cli_daemon_stop(&d, SIGCONT), 0);
	ck_assert_ptr_nonnull(strstr(d.err, "SIGTERM received"));
	ck_assert_int_eq(cli_run(&out, &err, "-s", "sideways", "-c", conf,
	    NULL), 2);
	free(out);
	free(err);
	free(d.err);
	free(c);
	free(conf);
}
END_TEST

START_TEST(test_cli_daemon_reload)
{
	const char		*dir = testutil_tmpdir();
	struct cli_daemon	 d;
	char			*conf, *a, *b, *bad, *want;
	int			 port = testutil_closed_port();

	a = cli_check("a", port, "interval = \"300ms\"; timeout = \"200ms\";");
	b = cli_check("b", port, "interval = \"300ms\"; timeout = \"200ms\";");
	conf = cli_config(dir, "checks = (\n  %s\n);\n", a);
	cli_daemon_start(&d, conf);
	cli_daemon_wait(&d, "check=a state=failing ", 1);

	/* Broken in place: logged with file:line, the old config runs on. */
	bad = cli_config(dir, "checks = (\n  %s,\n  { name = \"x\"; "
	    "type = \"tcp\"; host = \"127.0.0.1\";\n    port = 70000; }\n);\n",
	    a);
	ck_assert(kill(d.pid, SIGHUP) == 0);
	want = xasprintf("%s:4: ", conf);
	cli_daemon_wait(&d, want, 1);
	cli_daemon_wait(&d, "keeping the running configuration", 1);
	ck_assert(cli_daemon_alive(&d));
	cli_daemon_wait(&d, "check \\\"a\\\": connect_refused in ", 2);

	/*
	 * Fixed: swapped in; "a" keeps its state (no second line), "b" new.
	 * "b" comes first, so "a" changes places: its state follows its name.
	 */
	free(cli_config(dir, "checks = (\n  %s,\n  %s\n);\n", b, a));
	ck_assert(kill(d.pid, SIGHUP) == 0);
	cli_daemon_wait(&d, "config reloaded: 2 checks", 1);
	cli_daemon_wait(&d, "check=b state=failing ", 1);
	cli_daemon_wait(&d, "check \\\"a\\\": connect_refused in ", 4);
	ck_assert_int_eq(cli_daemon_stop(&d, SIGINT), 0);
	ck_assert_msg(cli_count(d.err, "check=a state=failing ") == 1,
	    "state of 'a' lost on reload:\n%s", d.err);
	free(want);
	free(bad);
	free(a);
	free(b);
	free(conf);
	free(d.err);
}
END_TEST

/* ---- options ------------------------------------------------------------- */

START_TEST(test_cli_version)
{
	static const char *const libs[] = { "libcurl", "c-ares", "OpenSSL",
	    "libconfig", "PCRE2", "jansson" };
	char	*out, *err;
	size_t	 i;

	ck_assert_int_eq(cli_run(&out, &err, "--version", NULL), 0);
	ck_assert(strncmp(out, "sonde " PACKAGE_VERSION "\n",
	    strlen("sonde " PACKAGE_VERSION "\n")) == 0);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		ck_assert_msg(strstr(out, libs[i]) != NULL, "no %s", libs[i]);
	free(out);
	free(err);
	ck_assert_int_eq(cli_run(&out, &err, "-V", NULL), 0);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_help)
{
	static const char *const opts[] = { "--config", "--foreground",
	    "--test", "--once", "--check", "--json", "--debug", "--version",
	    "--help" };
	char	*out, *err, *line;
	size_t	 i;

	ck_assert_int_eq(cli_run(&out, &err, "--help", NULL), 0);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		ck_assert_msg(strstr(out, opts[i]) != NULL, "no %s", opts[i]);
	ck_assert_ptr_nonnull(strstr(out, "sonde report"));
	ck_assert_ptr_nonnull(strstr(out, "--test-channels"));
	/* The default config path depends on --prefix; other lines fit. */
	for (line = out; *line != '\0'; line = strchr(line, '\n') + 1)
		if (strncmp(line, "  default config: ", 18) != 0 &&
		    strstr(line, "/sonde/sonde.conf") == NULL)
			ck_assert_int_le(strcspn(line, "\n"), 79);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_usage_errors)
{
	static const char *const bad[][3] = {
		{ "--bogus", NULL, "unknown option '--bogus'" },
		{ "-x", NULL, "unknown option '-x'" },
		{ "-c", NULL, "option '-c' needs an argument" },
		{ "reports", NULL, "unexpected argument 'reports'" },
		{ "report", "--since=0s", "--since '0s': must be a duration" },
		{ "--json", NULL, "--check and --json need --once" },
		{ "-t", "--once", "cannot be combined" },
	};
	char	*out, *err;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(cli_run(&out, &err, bad[i][0], bad[i][1],
		    NULL), 2);
		ck_assert_str_eq(out, "");
		ck_assert_msg(strstr(err, bad[i][2]) != NULL &&
		    strstr(err, "sonde --help") != NULL, "%s: %s", bad[i][0],
		    err);
		free(out);
		free(err);
	}
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite	*s = suite_create("cli");
	TCase	*tc;

	tc = tcase_create("test");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_cli_test_ok);
	tcase_add_loop_test(tc, test_cli_examples_valid, 0,
	    sizeof(cli_examples) / sizeof(cli_examples[0]));
	tcase_add_test(tc, test_cli_test_errors);
	tcase_add_test(tc, test_cli_test_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("once");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_cli_once_json);
	tcase_add_test(tc, test_cli_once_http_duration_excludes_curl_setup);
	tcase_add_test(tc, test_cli_once_select);
	tcase_add_test(tc, test_cli_once_unknown_check);
	tcase_add_test(tc, test_cli_once_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cli_daemon_state_changes);
	tcase_add_test(tc, test_cli_daemon_reload);
	tcase_add_test(tc, test_cli_signal_and_pid_lock);
	tcase_add_test(tc, test_cli_user_state_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_cli_version);
	tcase_add_test(tc, test_cli_help);
	tcase_add_test(tc, test_cli_usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(cli_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
