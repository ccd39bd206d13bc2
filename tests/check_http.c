/* SPDX-License-Identifier: ISC */
/*
 * Tests for the http check kind and curlmux, through the real paths: each
 * check is loaded with config_load() and run with probe_run_start() on a
 * real loop against servers on the loopback:
 *
 *  - nginx (Debian's package), started by the test with a private prefix,
 *    config and pid file in a temporary directory, in the foreground
 *    (daemon off, master_process off) so the test owns its PID and stops
 *    it; plain HTTP, HTTPS with a private CA's chain, HTTPS requiring a
 *    client certificate, HTTPS with an expired certificate, HTTP/2, and
 *    HTTP on ::1.  Certificates are made by the test (tests/tlscert.c:
 *    OpenSSL's API, which can also date a certificate in the past).
 *  - hostile servers of the test's own, on the test's loop: one that
 *    never answers, one that drips a byte a second, an endless body, a
 *    garbage status line, one that closes at once, and a fake proxy.
 *
 * A missing nginx fails every test that needs it, saying which package to
 * install.  No external network.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "curlmux.h"
#include "http.h"
#include "loop.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "testutil.h"
#include "tlscert.h"
#include "xmalloc.h"

#define DAY	86400

/* ---- nginx ----------------------------------------------------------------- */

struct nginx {
	pid_t	 pid;
	char	*dir;		/* prefix, config, certificates */
	char	*error;		/* why it is not running, or NULL */
	int	 http;		/* plain HTTP/1.1 on 127.0.0.1 */
	int	 https;		/* localhost + 127.0.0.1 certificate */
	int	 mtls;		/* requires a client certificate */
	int	 expired;	/* an expired certificate */
	int	 http6;		/* plain HTTP on ::1, 0 when no IPv6 */
	int	 h2c;		/* HTTP/2 without TLS (prior knowledge) */
	char	*ca;		/* the private root, PEM */
	char	*client_cert;
	char	*client_key;
};

static struct nginx	ng;

static const char nginx_locations[] =
    "    location = /ok { add_header X-Test \"yes\" always;"
    " return 200 \"ok\\n\"; }\n"
    "    location = /json { default_type application/json;"
    " return 200 '{\"status\":\"ok\"}'; }\n"
    "    location = /503 { return 503; }\n"
    "    location = /r3 { return 302 /r2; }\n"
    "    location = /r2 { return 301 /r1; }\n"
    "    location = /r1 { return 307 /ok; }\n"
    "    location = /loop1 { return 302 /loop2; }\n"
    "    location = /loop2 { return 302 /loop1; }\n"
    "    location = /host { return 200 \"host=$http_host\\n\"; }\n"
    "    location = /method { return 200 \"$request_method\\n\"; }\n"
    "    location = /auth { if ($http_authorization !="
    " \"Basic dXNlcjpzM2NyM3Q=\") { return 401; } return 200 \"in\\n\"; }\n"
    "    location = /bearer { if ($http_authorization !="
    " \"Bearer t0k3n\") { return 401; } return 200 \"in\\n\"; }\n"
    "    location = /proto { return 200 \"$server_protocol\\n\"; }\n"
    "    location = /big { alias %s/big.bin; }\n"
    "    location = /away { return 302 http://localhost:$server_port/auth; }\n"
    "    location = /to-https { return 301 https://localhost:%d/ok; }\n";

/*
 * The client certificate, with the openssl command line as a user would
 * make one: a key, a request, signed by the private CA for clientAuth
 * (nginx checks the purpose).  A missing openssl fails the test.
 */
static void
nginx_client_cert(const char *dir)
{
	char	*key, *csr, *ca, *cakey, *ext, *serial, *out, *err;
	int	 rc;

	key = xasprintf("%s/cli.key", dir);
	csr = xasprintf("%s/cli.csr", dir);
	ca = xasprintf("%s/ca.pem", dir);
	cakey = xasprintf("%s/ca.key", dir);
	serial = xasprintf("%s/ca.srl", dir);
	ext = testutil_write_file(dir, "cli.ext",
	    "extendedKeyUsage = clientAuth\n");
	ng.client_key = key;
	ng.client_cert = xasprintf("%s/cli.pem", dir);
	{
		const char *req[] = { "/usr/bin/openssl", "req", "-new",
		    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		    "-nodes", "-keyout", key, "-subj", "/CN=sonde client",
		    "-out", csr, NULL };
		const char *sign[] = { "/usr/bin/openssl", "x509", "-req",
		    "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAserial",
		    serial, "-CAcreateserial", "-days", "20", "-extfile", ext,
		    "-out", ng.client_cert, NULL };

		ck_assert_msg(access(req[0], X_OK) == 0, "openssl is not "
		    "installed: apt-get install openssl");
		rc = testutil_run_cmd((char *const *)req, &out, &err, 10000);
		ck_assert_msg(rc == 0, "openssl req: %s", err);
		free(out);
		free(err);
		rc = testutil_run_cmd((char *const *)sign, &out, &err, 10000);
		ck_assert_msg(rc == 0, "openssl x509: %s", err);
		free(out);
		free(err);
	}
	free(csr);
	free(ca);
	free(cakey);
	free(serial);
	free(ext);
}

/* Writes the private CA, a server and a client certificate, an expired one. */
static void
nginx_certs(const char *dir)
{
	struct tlscert	 ca, srv, old;
	X509		*chain[2];

	tlscert_make(&ca, TLSCERT_EC, "sonde test root", NULL, true, -DAY,
	    30 * DAY, NULL);
	tlscert_make(&srv, TLSCERT_EC, "localhost", &ca, false, -DAY, 20 * DAY,
	    "DNS:localhost,IP:127.0.0.1,IP:::1");
	tlscert_make(&old, TLSCERT_EC, "old.localhost", &ca, false, -10 * DAY,
	    -2 * DAY, "DNS:localhost,IP:127.0.0.1");
	ng.ca = tlscert_write_chain(dir, "ca.pem", &ca.cert, 1);
	chain[0] = srv.cert;
	chain[1] = ca.cert;
	free(tlscert_write_chain(dir, "srv.pem", chain, 2));
	free(tlscert_write_key(dir, "srv.key", srv.key));
	chain[0] = old.cert;
	free(tlscert_write_chain(dir, "old.pem", chain, 2));
	free(tlscert_write_key(dir, "old.key", old.key));
	free(tlscert_write_key(dir, "ca.key", ca.key));
	nginx_client_cert(dir);
	tlscert_free(&ca);
	tlscert_free(&srv);
	tlscert_free(&old);
}

static bool
ipv6_loopback(void)
{
	int	fd, port;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd == -1)
		return false;
	close(fd);
	fd = testutil_listen_tcp(AF_INET6, 1, &port);
	close(fd);
	return true;
}

static char *
nginx_conf(const char *dir)
{
	char	*loc, *conf, *v6 = xstrdup("");

	loc = xasprintf(nginx_locations, dir, ng.https);
	if (ng.http6 != 0) {
		free(v6);
		v6 = xasprintf("  server { listen [::1]:%d; %s  }\n", ng.http6,
		    loc);
	}
	conf = xasprintf(
	    "daemon off;\nmaster_process off;\nworker_processes 1;\n"
	    "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
	    "events { worker_connections 256; }\n"
	    "http {\n  access_log off;\n  default_type text/plain;\n"
	    "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp;\n"
	    "  fastcgi_temp_path %s/tmp; uwsgi_temp_path %s/tmp;\n"
	    "  scgi_temp_path %s/tmp;\n"
	    "  ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key;\n"
	    "  server { listen 127.0.0.1:%d; %s  }\n"
	    "  server { listen 127.0.0.1:%d ssl http2; %s  }\n"
	    "  server { listen 127.0.0.1:%d ssl; ssl_client_certificate "
	    "%s/ca.pem; ssl_verify_client on; %s  }\n"
	    "  server { listen 127.0.0.1:%d ssl; ssl_certificate %s/old.pem;"
	    " ssl_certificate_key %s/old.key; %s  }\n"
	    "  server { listen 127.0.0.1:%d http2; %s  }\n%s}\n",
	    dir, dir, dir, dir, dir, dir, dir, dir, dir, ng.http, loc,
	    ng.https, loc, ng.mtls, dir, loc, ng.expired, dir, dir, loc, ng.h2c,
	    loc, v6);
	free(loc);
	free(v6);
	return conf;
}

/* Waits until port accepts connections; false after about 3 s. */
static bool
port_ready(int family, int port)
{
	struct sockaddr_in6	s6;
	struct sockaddr_in	s4;
	int			i, fd, rc;

	for (i = 0; i < 300; i++) {
		fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memset(&s6, 0, sizeof(s6));
		memset(&s4, 0, sizeof(s4));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_loopback;
		s6.sin6_port = htons((uint16_t)port);
		s4.sin_family = AF_INET;
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4.sin_port = htons((uint16_t)port);
		rc = family == AF_INET6 ? connect(fd, (struct sockaddr *)&s6,
		    sizeof(s6)) : connect(fd, (struct sockaddr *)&s4,
		    sizeof(s4));
		close(fd);
		if (rc == 0)
			return true;
		usleep(10000);
	}
	return false;
}

static const char *
nginx_binary(void)
{
	static const char *const paths[] = { "/usr/sbin/nginx",
	    "/usr/local/sbin/nginx", NULL };
	int	i;

	for (i = 0; paths[i] != NULL; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Unchecked fixture: once per TCase; failures are kept in ng.error. */
static void
nginx_start(void)
{
	const char	*bin = nginx_binary();
	char		*conf, *path, *tmp, *big, *elog;
	FILE		*f;

	memset(&ng, 0, sizeof(ng));
	if (bin == NULL) {
		ng.error = xstrdup("nginx is not installed: apt-get install "
		    "nginx (Debian package) to run the http tests");
		return;
	}
	ng.dir = xstrdup(testutil_tmpdir());
	nginx_certs(ng.dir);
	tmp = xasprintf("%s/tmp", ng.dir);
	mkdir(tmp, 0700);
	free(tmp);
	big = xasprintf("%s/big.bin", ng.dir);
	f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), 2 * 1024 * 1024), 0);
	fclose(f);
	free(big);
	ng.http = testutil_closed_port();
	ng.https = testutil_closed_port();
	ng.mtls = testutil_closed_port();
	ng.expired = testutil_closed_port();
	ng.h2c = testutil_closed_port();
	ng.http6 = ipv6_loopback() ? testutil_closed_port() : 0;
	conf = nginx_conf(ng.dir);
	path = testutil_write_file(ng.dir, "nginx.conf", conf);
	free(conf);
	if ((ng.pid = fork()) == 0) {
		if (freopen("/dev/null", "r", stdin) == NULL)
			_exit(127);
		elog = xasprintf("%s/error.log", ng.dir);
		execl(bin, bin, "-e", elog, "-p", ng.dir, "-c", path,
		    (char *)NULL);
		_exit(127);
	}
	free(path);
	if (!port_ready(AF_INET, ng.http) || !port_ready(AF_INET, ng.https) ||
	    (ng.http6 != 0 && !port_ready(AF_INET6, ng.http6)))
		ng.error = xasprintf("nginx did not start; see %s/error.log",
		    ng.dir);
}

static void
nginx_stop(void)
{
	int	status;

	if (ng.pid > 0) {
		kill(ng.pid, SIGTERM);
		waitpid(ng.pid, &status, 0);
	}
	free(ng.dir);
	free(ng.error);
	free(ng.ca);
	free(ng.client_cert);
	free(ng.client_key);
	memset(&ng, 0, sizeof(ng));
}

#define NEED_NGINX() ck_assert_msg(ng.error == NULL, "%s", ng.error)

/* ---- hostile servers on the test's loop -------------------------------- */

enum evil_mode {
	EVIL_SILENT,	/* accepts, reads, never answers */
	EVIL_DRIP,	/* a valid response, one byte a second */
	EVIL_ENDLESS,	/* headers, then a chunked body that never ends */
	EVIL_GARBAGE,	/* a line that is not a status line, then closes */
	EVIL_CLOSE,	/* closes as soon as it has accepted */
	EVIL_PROXY	/* answers 200 "proxied", keeps the request line */
};

#define EVIL_CONNS	8

struct evil {
	struct loop		*loop;
	enum evil_mode		 mode;
	int			 lfd;
	int			 port;
	int			 fd[EVIL_CONNS];
	size_t			 sent[EVIL_CONNS];
	int			 nconns;
	struct loop_timer	 drip;
	char			 request[512];	/* what the client sent */
	size_t			 reqlen;
	int			 closed;	/* 0, or 1 FIN, 2 RST */
};

static const char evil_response[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

static void
evil_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct evil	*e = arg;
	static char	 chunk[8192];
	static const char body[] = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n"
	    "\r\nproxied\n";
	char		 buf[1024];
	ssize_t		 n;

	(void)loop;
	if (e->mode == EVIL_ENDLESS && (events & LOOP_WRITE)) {
		memset(chunk, 'x', sizeof(chunk));
		memcpy(chunk, "1ff8\r\n", 6);
		memcpy(chunk + sizeof(chunk) - 2, "\r\n", 2);
		(void)send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0 && e->reqlen + (size_t)n < sizeof(e->request)) {
		memcpy(e->request + e->reqlen, buf, (size_t)n);
		e->reqlen += (size_t)n;
	}
	if (n > 0 && e->mode == EVIL_PROXY && memmem(e->request, e->reqlen,
	    "\r\n\r\n", 4) != NULL)
		(void)send(fd, body, sizeof(body) - 1, MSG_NOSIGNAL);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		e->closed = n == 0 ? 1 : errno == ECONNRESET ? 2 : 3;
		loop_fd_del(e->loop, fd);
		close(fd);
		for (int i = 0; i < e->nconns; i++)
			if (e->fd[i] == fd)
				e->fd[i] = -1;
	}
}

/* One byte of the response to every connection, then again in 1 s. */
static void
evil_drip(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct evil	*e = arg;
	int		 i;

	for (i = 0; i < e->nconns; i++) {
		if (e->fd[i] == -1 || e->sent[i] >= sizeof(evil_response) - 1)
			continue;
		if (send(e->fd[i], evil_response + e->sent[i], 1,
		    MSG_NOSIGNAL) == 1)
			e->sent[i]++;
	}
	loop_timer_after(loop, t, 1000000);
}

static void
evil_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	static const char garbage[] = "SSH-2.0-OpenSSH_9.2p1\r\n\r\n";
	struct evil	*e = arg;
	int		 fd;

	(void)events;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	if (e->mode == EVIL_CLOSE || e->nconns == EVIL_CONNS) {
		close(fd);
		return;
	}
	if (e->mode == EVIL_GARBAGE) {
		(void)send(fd, garbage, sizeof(garbage) - 1, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	e->fd[e->nconns++] = fd;
	ck_assert_int_eq(loop_fd_add(loop, fd, LOOP_READ |
	    (e->mode == EVIL_ENDLESS ? LOOP_WRITE : 0), evil_io, e), 0);
	if (e->mode == EVIL_ENDLESS)
		(void)send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n", 47, MSG_NOSIGNAL);
	if (e->mode == EVIL_DRIP && !loop_timer_armed(&e->drip))
		loop_timer_after(loop, &e->drip, 0);
}

static void
evil_start(struct evil *e, struct loop *loop, enum evil_mode mode)
{
	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->mode = mode;
	loop_timer_init(&e->drip, evil_drip, e);
	e->lfd = testutil_listen_tcp(AF_INET, 16, &e->port);
	ck_assert_int_eq(loop_fd_add(loop, e->lfd, LOOP_READ, evil_accept, e),
	    0);
}

static void
evil_stop(struct evil *e)
{
	int	i;

	loop_timer_cancel(e->loop, &e->drip);
	for (i = 0; i < e->nconns; i++) {
		if (e->fd[i] != -1) {
			loop_fd_del(e->loop, e->fd[i]);
			close(e->fd[i]);
		}
	}
	loop_fd_del(e->loop, e->lfd);
	close(e->lfd);
}

/* ---- fixture: a loop, a resolver, a temp dir, one config --------------- */

static struct loop	*lp;
static struct resolver	*rs;
static struct config	*cfg;
static char		*dir;

static void
setup(void)
{
	char	err[128];

	lp = loop_new();
	rs = resolver_new(lp, NULL, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
	dir = xstrdup(testutil_tmpdir());
	cfg = NULL;
}

static void
teardown(void)
{
	char	*path;

	config_unref(cfg);
	curlmux_shared_free();
	resolver_free(rs);
	loop_free(lp);
	path = xasprintf("%s/sonde.conf", dir);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* Loads a config of one http check with these keys; returns its errors. */
static char *
load(const char *fmt, ...)
{
	va_list	 ap;
	char	*keys, *text, *errs, timeout[32];

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&keys, fmt, ap), -1);
	va_end(ap);
	/* 2 s, stretched under valgrind (a TLS handshake takes seconds). */
	snprintf(timeout, sizeof(timeout), "timeout = \"%ds\";",
	    2 * testutil_timescale());
	text = xasprintf("checks = (\n  { name = \"t\"; type = \"http\";\n"
	    "    interval = \"1m\"; %s\n    %s }\n);\n",
	    strstr(keys, "timeout =") != NULL ? "" : timeout, keys);
	config_unref(cfg);
	cfg = testutil_config_text(dir, text, &errs);
	free(keys);
	free(text);
	return errs;
}

static const struct check_conf *
check_of(const char *fmt, ...)
{
	va_list	 ap;
	char	*keys, *errs;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&keys, fmt, ap), -1);
	va_end(ap);
	errs = load("%s", keys);
	ck_assert_msg(cfg != NULL, "config: %s", errs);
	ck_assert_uint_eq(cfg->nchecks, 1);
	free(keys);
	free(errs);
	return &cfg->checks[0];
}

/*
 * Runs check once to completion; the probe's deadline is its timeout, and
 * it must end within it (plus scheduling slack).
 */
static void
run_check(const struct check_conf *ck, struct testutil_outcome *o)
{
	char	err[128];

	testutil_run_probe(lp, rs, ck, o);
	ck_assert_int_le(o->elapsed_ms, ck->timeout_ms +
	    testutil_scale_ms(250));
	ck_assert_uint_eq(curlmux_count(curlmux_shared(lp, err,
	    sizeof(err))), 0);
}

static void
assert_status(const struct testutil_outcome *o, enum probe_status st)
{
	ck_assert_msg(o->result.status == st, "status %s, want %s (%s)",
	    probe_status_str(o->result.status), probe_status_str(st),
	    o->result.message);
}

/* The message contains every one of the NULL-terminated fragments. */
static void
assert_message(const struct testutil_outcome *o, ...)
{
	va_list		 ap;
	const char	*frag;

	va_start(ap, o);
	while ((frag = va_arg(ap, const char *)) != NULL)
		ck_assert_msg(strstr(o->result.message, frag) != NULL,
		    "message \"%s\" lacks \"%s\"", o->result.message, frag);
	va_end(ap);
}

/* ---- nginx: responses and expectations ----------------------------------- */

START_TEST(test_http_ok)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 url[128];

	NEED_NGINX();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ng.http);
	ck = check_of("url = \"%s\";", url);
	ck_assert_str_eq(ck->target, url);
	run_check(ck, &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.status, 200);
	ck_assert_int_eq(o.result.http.version, 11);
	ck_assert_int_eq(o.result.http.body_bytes, 3);
	ck_assert_int_eq(o.result.http.redirects, 0);
	ck_assert(!o.result.http.ssl);
	ck_assert_str_eq(o.result.http.final_url, url);
	/* An address is not looked up: no resolve phase. */
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_RESOLVE], -1);
	ck_assert_int_gt(o.result.phase[PROBE_PHASE_CONNECT], 0);
	ck_assert_int_gt(o.result.phase[PROBE_PHASE_PROCESSING], 0);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_TRANSFER], 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_TLS], -1);
	ck_assert_int_ge(o.result.duration, o.result.phase[PROBE_PHASE_CONNECT] +
	    o.result.phase[PROBE_PHASE_PROCESSING]);
}
END_TEST

START_TEST(test_http_status_mismatch)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/503\";", ng.http), &o);
	assert_status(&o, PROBE_HTTP_STATUS);
	assert_message(&o, "got 503, expected 2xx (response after ", "/503)",
	    NULL);
	ck_assert_int_eq(o.result.http.status, 503);
}
END_TEST

/* status lists and classes; each row: path, status = ..., ok or not. */
static const struct {
	const char	*path;
	const char	*status;
	bool		 ok;
	const char	*msg;
} status_rows[] = {
	{ "/503", "503", true, NULL },
	{ "/503", "\"5xx\"", true, NULL },
	{ "/503", "(200, \"4xx\")", false, "got 503, expected 200, 4xx" },
	{ "/r3", "(200, \"3xx\")", true, NULL },	/* not followed */
	{ "/r3", "[200]", false, "got 302, expected 200" },
	{ "/ok", "[\"2XX\"]", true, NULL },
};

START_TEST(test_http_status_table)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d%s\"; expect = { "
	    "status = %s; };", ng.http, status_rows[_i].path,
	    status_rows[_i].status), &o);
	assert_status(&o, status_rows[_i].ok ? PROBE_OK : PROBE_HTTP_STATUS);
	if (status_rows[_i].msg != NULL)
		assert_message(&o, status_rows[_i].msg, NULL);
}
END_TEST

START_TEST(test_http_body_match)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/json\"; expect = { "
	    "body = \"\\\"status\\\":\\\"ok\\\"\"; body_not = \"error\"; };",
	    ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.body_bytes, 15);
}
END_TEST

START_TEST(test_http_body_mismatch)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/json\"; expect = { "
	    "body = \"^degraded\"; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_BODY_MISMATCH);
	assert_message(&o, "body (15 bytes) does not match /^degraded/: "
	    "\"{\\\"status\\\":\\\"ok\\\"}\"", NULL);
	run_check(check_of("url = \"http://127.0.0.1:%d/json\"; expect = { "
	    "body_not = \"ok\"; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_BODY_MISMATCH);
	assert_message(&o, "body (15 bytes) matches body_not /ok/", NULL);
}
END_TEST

START_TEST(test_http_headers)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/ok\"; expect = { "
	    "headers = { X-Test = \"^yes$\"; Content-Type = \"text/\"; }; };",
	    ng.http), &o);
	assert_status(&o, PROBE_OK);
	run_check(check_of("url = \"http://127.0.0.1:%d/ok\"; expect = { "
	    "headers = { X-Test = \"^no$\"; }; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_HEADER_MISMATCH);
	assert_message(&o, "header X-Test: \"yes\" does not match /^no$/",
	    NULL);
	run_check(check_of("url = \"http://127.0.0.1:%d/ok\"; expect = { "
	    "headers = { X-Missing = \".\"; }; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_HEADER_MISMATCH);
	assert_message(&o, "header X-Missing missing, expected /./", NULL);
}
END_TEST

START_TEST(test_http_methods_and_body)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; method = "
	    "\"HEAD\";", ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.body_bytes, 0);
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; method = "
	    "\"DELETE\"; expect = { body = \"^DELETE\"; };", ng.http), &o);
	assert_status(&o, PROBE_OK);
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; body = "
	    "\"{}\"; headers = { Content-Type = \"application/json\"; }; "
	    "expect = { body = \"^POST\"; };", ng.http), &o);
	assert_status(&o, PROBE_OK);
}
END_TEST

/*
 * Plain checks (GET, no body, credentials, proxy or TLS files) share easy
 * handles that keep their options between runs: nothing one check sets
 * may reach the next, and a check of another shape never gets one.
 */
START_TEST(test_http_kept_handle_carries_nothing)
{
	struct testutil_outcome	 o;
	struct curlmux		*mux;
	char			 err[128], want[64];

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/host\"; headers = "
	    "{ Host = \"a.example\"; }; max_body = 2; expect = { body = "
	    "\"^host=a.example$\"; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_BODY_TOO_LARGE);
	mux = curlmux_shared(lp, err, sizeof(err));
	ck_assert_ptr_nonnull(mux);
	ck_assert_uint_eq(curlmux_kept(mux), 1);
	/* The same handle again: no Host header, the default max_body. */
	snprintf(want, sizeof(want), "^host=127.0.0.1:%d$", ng.http);
	run_check(check_of("url = \"http://127.0.0.1:%d/host\"; expect = { "
	    "body = \"%s\"; };", ng.http, want), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_uint_eq(curlmux_kept(mux), 1);
	/* HEAD is not plain: a reset handle, and the kept one stays. */
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; method = "
	    "\"HEAD\";", ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.body_bytes, 0);
	ck_assert_uint_eq(curlmux_kept(mux), 1);
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; body = "
	    "\"{}\"; expect = { body = \"^POST\"; };", ng.http), &o);
	assert_status(&o, PROBE_OK);
	run_check(check_of("url = \"http://127.0.0.1:%d/method\"; expect = { "
	    "body = \"^GET$\"; };", ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.body_bytes, 4);
	ck_assert_uint_eq(curlmux_kept(mux), 1);
}
END_TEST

START_TEST(test_http_auth_secrets)
{
	struct testutil_outcome	 o;
	char		*pw;

	NEED_NGINX();
	pw = testutil_write_file(dir, "pw", "s3cr3t\n");
	run_check(check_of("url = \"http://127.0.0.1:%d/auth\"; basic_auth = "
	    "{ username = \"user\"; password_file = \"%s\"; };", ng.http, pw),
	    &o);
	assert_status(&o, PROBE_OK);
	setenv("SONDE_TEST_TOKEN", "t0k3n", 1);
	run_check(check_of("url = \"http://127.0.0.1:%d/bearer\"; bearer_token "
	    "= { env = \"SONDE_TEST_TOKEN\"; };", ng.http), &o);
	assert_status(&o, PROBE_OK);
	setenv("SONDE_TEST_TOKEN", "wrong", 1);
	run_check(check_of("url = \"http://127.0.0.1:%d/bearer\"; bearer_token "
	    "= { env = \"SONDE_TEST_TOKEN\"; };", ng.http), &o);
	assert_status(&o, PROBE_HTTP_STATUS);
	assert_message(&o, "got 401", NULL);
	unlink(pw);
	free(pw);
}
END_TEST

/* A Content-Length over max_body stops before the body is read. */
START_TEST(test_http_body_too_large_known_length)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/big\";", ng.http), &o);
	assert_status(&o, PROBE_HTTP_BODY_TOO_LARGE);
	assert_message(&o, "larger than max_body (1048576 bytes)", NULL);
	run_check(check_of("url = \"http://127.0.0.1:%d/big\"; max_body = "
	    "3000000;", ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.body_bytes, 2 * 1024 * 1024);
}
END_TEST

/* ---- redirects ----------------------------------------------------------- */

START_TEST(test_http_redirect_chain_followed)
{
	struct testutil_outcome	o;
	char		url[128];

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/r3\"; "
	    "follow_redirects = true;", ng.http), &o);
	assert_status(&o, PROBE_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ng.http);
	ck_assert_str_eq(o.result.http.final_url, url);
	ck_assert_int_eq(o.result.http.redirects, 3);
	ck_assert_int_eq(o.result.http.status, 200);
	ck_assert_int_eq(o.result.http.body_bytes, 3);
	/* Four hops, each connected afresh: the phases add up. */
	ck_assert_int_le(o.result.phase[PROBE_PHASE_RESOLVE] +
	    o.result.phase[PROBE_PHASE_CONNECT] +
	    o.result.phase[PROBE_PHASE_PROCESSING] +
	    o.result.phase[PROBE_PHASE_TRANSFER], o.result.duration);
}
END_TEST

START_TEST(test_http_redirect_limit)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/r3\"; "
	    "follow_redirects = true; max_redirects = 2;", ng.http), &o);
	assert_status(&o, PROBE_HTTP_TOO_MANY_REDIRECTS);
	assert_message(&o, "more than max_redirects (2): ", "/r1 redirects "
	    "(307) to ", "/ok", NULL);
	ck_assert_int_eq(o.result.http.redirects, 2);
}
END_TEST

START_TEST(test_http_redirect_loop)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/loop1\"; "
	    "follow_redirects = true;", ng.http), &o);
	assert_status(&o, PROBE_HTTP_TOO_MANY_REDIRECTS);
	assert_message(&o, "redirect loop: ", "/loop2 redirects (302) back "
	    "to ", "/loop1 after 2 redirects", NULL);
}
END_TEST

/* Credentials go to the configured host only, not where it redirects. */
START_TEST(test_http_redirect_drops_credentials)
{
	struct testutil_outcome	 o;
	char		*pw;

	NEED_NGINX();
	pw = testutil_write_file(dir, "pw", "s3cr3t");
	run_check(check_of("url = \"http://127.0.0.1:%d/away\"; basic_auth = "
	    "{ username = \"user\"; password_file = \"%s\"; }; "
	    "follow_redirects = true;", ng.http, pw), &o);
	assert_status(&o, PROBE_HTTP_STATUS);
	assert_message(&o, "got 401, expected 2xx", "http://localhost:", NULL);
	ck_assert_int_eq(o.result.http.redirects, 1);
	unlink(pw);
	free(pw);
}
END_TEST

/* http to https, followed: the result describes the last hop. */
START_TEST(test_http_redirect_to_https)
{
	struct testutil_outcome	o;
	char		url[128];

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/to-https\"; ca_file = "
	    "\"%s\"; follow_redirects = true; expect = { ssl = true; };",
	    ng.http, ng.ca), &o);
	assert_status(&o, PROBE_OK);
	snprintf(url, sizeof(url), "https://localhost:%d/ok", ng.https);
	ck_assert_str_eq(o.result.http.final_url, url);
	ck_assert(o.result.http.ssl);
	ck_assert_int_ge(o.result.tls.days_left, 19);
	ck_assert_int_gt(o.result.phase[PROBE_PHASE_TLS], 0);
}
END_TEST

/* ---- TLS ----------------------------------------------------------------- */

START_TEST(test_https_ok_with_private_ca)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/ok\"; ca_file = "
	    "\"%s\"; expect = { ssl = true; };", ng.https, ng.ca), &o);
	assert_status(&o, PROBE_OK);
	ck_assert(o.result.http.ssl);
	ck_assert(!o.result.http.insecure);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_RESOLVE], 0); /* a name */
	ck_assert_int_gt(o.result.phase[PROBE_PHASE_TLS], 0);
	ck_assert_int_ge(o.result.tls.days_left, 19);
	ck_assert_int_le(o.result.tls.days_left, 20);
	ck_assert_msg(strncmp(o.result.tls.subject, "CN=localhost", 12) == 0,
	    "subject %s", o.result.tls.subject);
	run_check(check_of("url = \"https://localhost:%d/ok\"; ca_file = "
	    "\"%s\"; expect = { ssl = false; };", ng.https, ng.ca), &o);
	assert_status(&o, PROBE_HTTP_PROTOCOL_ERROR);
	assert_message(&o, "expected plain http (ssl = false)", NULL);
}
END_TEST

START_TEST(test_https_untrusted)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/ok\";", ng.https), &o);
	assert_status(&o, PROBE_TLS_UNTRUSTED);
	assert_message(&o, "unknown CA", "CN=sonde test root", "(tls with "
	    "127.0.0.1:", NULL);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_TLS], 0);
}
END_TEST

START_TEST(test_https_insecure_says_so)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/ok\"; insecure = "
	    "true;", ng.https), &o);
	assert_status(&o, PROBE_OK);
	ck_assert(o.result.http.insecure);
	ck_assert_int_ge(o.result.tls.days_left, 19);
}
END_TEST

START_TEST(test_https_expired)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/ok\"; ca_file = "
	    "\"%s\";", ng.expired, ng.ca), &o);
	assert_status(&o, PROBE_TLS_EXPIRED);
	assert_message(&o, "CN=old.localhost", "expired", NULL);
}
END_TEST

/* connect_to keeps the URL's host for SNI and the name check. */
START_TEST(test_https_hostname_mismatch)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://wrong.example:%d/ok\"; ca_file = "
	    "\"%s\"; connect_to = \"127.0.0.1:%d\";", ng.https, ng.ca,
	    ng.https), &o);
	assert_status(&o, PROBE_TLS_HOSTNAME_MISMATCH);
	assert_message(&o, "wrong.example", NULL);
}
END_TEST

START_TEST(test_https_server_name)
{
	struct testutil_outcome	o;
	char		want[64];

	NEED_NGINX();
	run_check(check_of("url = \"https://127.0.0.2:%d/host\"; ca_file = "
	    "\"%s\"; server_name = \"localhost\"; connect_to = "
	    "\"127.0.0.1\";", ng.https, ng.ca), &o);
	assert_status(&o, PROBE_OK);
	snprintf(want, sizeof(want), "host=127.0.0.2:%d", ng.https);
	run_check(check_of("url = \"https://127.0.0.2:%d/host\"; ca_file = "
	    "\"%s\"; server_name = \"localhost\"; connect_to = "
	    "\"127.0.0.1\"; expect = { body = \"%s\"; };", ng.https, ng.ca,
	    want), &o);
	assert_status(&o, PROBE_OK);
}
END_TEST

START_TEST(test_https_client_certificate)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/ok\"; ca_file = "
	    "\"%s\";", ng.mtls, ng.ca), &o);
	assert_status(&o, PROBE_HTTP_STATUS);
	assert_message(&o, "got 400", NULL);
	run_check(check_of("url = \"https://localhost:%d/ok\"; ca_file = "
	    "\"%s\"; client_cert = \"%s\"; client_key = \"%s\";", ng.mtls,
	    ng.ca, ng.client_cert, ng.client_key), &o);
	assert_status(&o, PROBE_OK);
}
END_TEST

START_TEST(test_https_http2)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"https://localhost:%d/proto\"; ca_file = "
	    "\"%s\"; http_version = \"2\"; expect = { http_version = \"2\"; "
	    "body = \"HTTP/2.0\"; };", ng.https, ng.ca), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.version, 20);
	run_check(check_of("url = \"https://localhost:%d/proto\"; ca_file = "
	    "\"%s\"; expect = { http_version = \"2\"; };", ng.https, ng.ca),
	    &o);
	assert_status(&o, PROBE_HTTP_PROTOCOL_ERROR);
	assert_message(&o, "got HTTP/1.1, expected HTTP/2", NULL);
}
END_TEST

/* http_version = "2" on plain http speaks HTTP/2 at once (RFC 9113 §3.3). */
START_TEST(test_http_h2c_prior_knowledge)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://127.0.0.1:%d/proto\"; http_version "
	    "= \"2\"; expect = { http_version = \"2\"; body = \"HTTP/2.0\"; };",
	    ng.h2c), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.version, 20);
}
END_TEST

/* connect_to: the request still carries the URL's host (curl --connect-to). */
START_TEST(test_http_connect_to_keeps_host)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://api.example.test:%d/host\"; "
	    "connect_to = \"127.0.0.1:%d\"; expect = { body = "
	    "\"^host=api\\\\.example\\\\.test:%d\\n\"; };", ng.http, ng.http,
	    ng.http), &o);
	assert_status(&o, PROBE_OK);
}
END_TEST

/*
 * connect_to covers every hop to the URL's host: /r3 redirects three
 * times within api.example.test, a name nothing resolves, so each hop
 * must go to connect_to's address too.
 */
START_TEST(test_http_connect_to_follows_redirects)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	run_check(check_of("url = \"http://api.example.test:%d/r3\"; "
	    "connect_to = \"127.0.0.1:%d\"; follow_redirects = true;",
	    ng.http, ng.http), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.redirects, 3);
	ck_assert_int_eq(o.result.http.status, 200);
}
END_TEST

START_TEST(test_http_ipv6_loopback)
{
	struct testutil_outcome	o;

	NEED_NGINX();
	ck_assert_msg(ng.http6 != 0, "no IPv6 on the loopback (::1)");
	run_check(check_of("url = \"http://[::1]:%d/ok\"; ip_version = \"6\";",
	    ng.http6), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_int_eq(o.result.http.status, 200);
	run_check(check_of("url = \"http://localhost:%d/ok\"; ip_version = "
	    "\"6\";", ng.http6), &o);
	assert_status(&o, PROBE_OK);
}
END_TEST

/* ---- hostile servers ------------------------------------------------------ */

START_TEST(test_http_never_answers)
{
	struct evil	e;
	struct testutil_outcome	o;
	int		ms = testutil_scale_ms(500);
	char		d[32], want[64];

	evil_start(&e, lp, EVIL_SILENT);
	/* 500 ms; more under valgrind, or the connect alone may use it up. */
	run_check(check_of("url = \"http://127.0.0.1:%d/\"; timeout = "
	    "\"%dms\";", e.port, ms), &o);
	assert_status(&o, PROBE_TIMEOUT);
	snprintf(want, sizeof(want), "within %s (request sent after ",
	    result_format_us((int64_t)ms * 1000, d, sizeof(d)));
	if (ms == 500)	/* the formatter itself, pinned once */
		ck_assert_str_eq(want, "within 500.0ms (request sent after ");
	assert_message(&o, "no response from 127.0.0.1:", want, NULL);
	ck_assert_int_ge(o.elapsed_ms, ms - 10);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
	evil_stop(&e);
}
END_TEST

START_TEST(test_http_drip)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_DRIP);
	run_check(check_of("url = \"http://127.0.0.1:%d/\"; timeout = "
	    "\"1500ms\";", e.port), &o);
	assert_status(&o, PROBE_TIMEOUT);
	assert_message(&o, "response headers from 127.0.0.1:", "not complete "
	    "within 1.50s (first byte after ", NULL);
	ck_assert_int_ge(o.elapsed_ms, 1490);
	evil_stop(&e);
}
END_TEST

START_TEST(test_http_endless_body)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_ENDLESS);
	run_check(check_of("url = \"http://127.0.0.1:%d/\"; max_body = 65536;",
	    e.port), &o);
	assert_status(&o, PROBE_HTTP_BODY_TOO_LARGE);
	assert_message(&o, "larger than max_body (65536 bytes); stopped "
	    "reading after ", NULL);
	ck_assert_int_lt(o.elapsed_ms, testutil_scale_ms(1000));
	evil_stop(&e);
}
END_TEST

START_TEST(test_http_garbage_status_line)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_GARBAGE);
	run_check(check_of("url = \"http://127.0.0.1:%d/\";", e.port), &o);
	assert_status(&o, PROBE_HTTP_PROTOCOL_ERROR);
	assert_message(&o, "is not HTTP", NULL);
	evil_stop(&e);
}
END_TEST

START_TEST(test_http_closes_at_once)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_CLOSE);
	run_check(check_of("url = \"http://127.0.0.1:%d/\";", e.port), &o);
	assert_status(&o, PROBE_HTTP_PROTOCOL_ERROR);
	assert_message(&o, "closed the connection without a response", NULL);
	evil_stop(&e);
}
END_TEST

START_TEST(test_http_refused)
{
	struct testutil_outcome	o;
	char		want[80];
	int		port = testutil_closed_port();

	run_check(check_of("url = \"http://127.0.0.1:%d/\";", port), &o);
	assert_status(&o, PROBE_CONNECT_REFUSED);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: refused (after ",
	    port);
	assert_message(&o, want, NULL);
}
END_TEST

START_TEST(test_http_tls_to_plain_port)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_GARBAGE);
	run_check(check_of("url = \"https://127.0.0.1:%d/\";", e.port), &o);
	assert_status(&o, PROBE_TLS_HANDSHAKE_FAILED);
	evil_stop(&e);
}
END_TEST

/* connect_to names a literal of the wrong family: no lookup, a reason. */
START_TEST(test_http_literal_wrong_family)
{
	struct testutil_outcome	o;

	run_check(check_of("url = \"http://example.test/\"; ip_version = "
	    "\"4\"; connect_to = \"[::1]:80\";"), &o);
	assert_status(&o, PROBE_RESOLVE_FAILED);
	assert_message(&o, "resolve ::1: an IPv6 address where ip_version is "
	    "\"4\"", NULL);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_CONNECT], -1);
}
END_TEST

START_TEST(test_http_resolve_failed)
{
	struct testutil_outcome	o;

	run_check(check_of("url = \"http://sonde-test.invalid/\";"), &o);
	assert_status(&o, PROBE_RESOLVE_FAILED);
	assert_message(&o, "resolve sonde-test.invalid: ", NULL);
}
END_TEST

/* The proxy gets the absolute URL; sonde resolved only the proxy. */
START_TEST(test_http_proxy)
{
	struct evil	e;
	struct testutil_outcome	o;

	evil_start(&e, lp, EVIL_PROXY);
	run_check(check_of("url = \"http://origin.invalid/x\"; proxy = "
	    "\"http://127.0.0.1:%d\"; expect = { body = \"^proxied\"; };",
	    e.port), &o);
	assert_status(&o, PROBE_OK);
	ck_assert_msg(strncmp(e.request, "GET http://origin.invalid/x "
	    "HTTP/1.1\r\n", 38) == 0, "request: %.60s", e.request);
	evil_stop(&e);
}
END_TEST

/* The probe closes with a reset: no TIME_WAIT left on the agent's host. */
START_TEST(test_http_closes_with_reset)
{
	struct evil	e;
	struct testutil_outcome	o;
	int		i;

	evil_start(&e, lp, EVIL_PROXY);
	run_check(check_of("url = \"http://127.0.0.1:%d/\";", e.port), &o);
	assert_status(&o, PROBE_OK);
	for (i = 0; i < 100 && e.closed == 0; i++)
		loop_run_once(lp, 10000);
	ck_assert_int_eq(e.closed, 2);
	evil_stop(&e);
}
END_TEST

/* Aborted mid-transfer: nothing reported, nothing left in the multi. */
START_TEST(test_http_abort_releases_everything)
{
	struct evil		 e;
	struct probe_run	 run;
	struct testutil_outcome	 o;
	char			 err[64];
	int			 i;

	evil_start(&e, lp, EVIL_SILENT);
	memset(&o, 0, sizeof(o));
	probe_run_init(&run, lp, rs, check_of("url = \"http://127.0.0.1:%d/\";",
	    e.port));
	probe_run_start(&run, loop_time(lp) + 2000000, testutil_outcome_done, &o);
	for (i = 0; i < 50 && e.nconns == 0; i++)
		loop_run_once(lp, 10000);
	ck_assert_int_eq(e.nconns, 1);
	probe_run_abort(&run);
	ck_assert_ptr_null(run.priv);
	ck_assert_uint_eq(curlmux_count(curlmux_shared(lp, err, sizeof(err))),
	    0);
	for (i = 0; i < 5; i++)
		loop_run_once(lp, 1000);
	ck_assert(!o.done);
	evil_stop(&e);
}
END_TEST

/* ---- config --------------------------------------------------------------- */

static const struct {
	const char	*keys;
	const char	*error;
} conf_rows[] = {
	{ "", "sonde.conf:2: check is missing required key 'url'" },
	{ "url = \"ftp://x/\";",
	  "sonde.conf:4: 'url' \"ftp://x/\": scheme \"ftp\" is not http or "
	  "https" },
	{ "url = \"http://\";", "sonde.conf:4: 'url' \"http://\": " },
	{ "url = \"http://x/\"; method = \"FETCH\";",
	  "sonde.conf:4: 'method' \"FETCH\" is not one of GET, HEAD, POST" },
	{ "url = \"http://x/\"; expect = { status = [99]; };",
	  "sonde.conf:4: 'status' entries are codes 100-599 or classes" },
	{ "url = \"http://x/\"; expect = { status = \"6xx\"; };",
	  "sonde.conf:4: 'status' entries are codes 100-599 or classes" },
	{ "url = \"http://x/\"; expect = { body = \"(\"; };",
	  "sonde.conf:4: 'body': bad regex: " },
	{ "url = \"http://x/\"; expect = { headers = { X-A = \"[\"; }; };",
	  "sonde.conf:4: expect.headers 'X-A': bad regex: " },
	{ "url = \"http://x/\"; expect = { stauts = 200; };",
	  "sonde.conf:4: unknown key 'stauts' in expect (did you mean "
	  "'status'?)" },
	{ "url = \"http://x/\"; basic_auth = { username = \"u\"; };",
	  "sonde.conf:4: basic_auth needs exactly one of 'password_file' and "
	  "'password_env'" },
	{ "url = \"http://x/\"; basic_auth = { username = \"u\"; "
	  "password_env = \"SONDE_TEST_UNSET_VAR\"; };",
	  "sonde.conf:4: basic_auth: environment variable "
	  "SONDE_TEST_UNSET_VAR is not set or empty" },
	{ "url = \"http://x/\"; bearer_token = { file = \"/nonexistent/t\"; "
	  "};", "sonde.conf:4: bearer_token: cannot read /nonexistent/t: No "
	  "such file or directory" },
	{ "url = \"http://x/\"; body = \"a\"; body_file = \"/etc/hostname\";",
	  "sonde.conf:4: 'body' and 'body_file' exclude each other" },
	{ "url = \"http://x/\"; connect_to = \"a:b:c\";",
	  "sonde.conf:4: 'connect_to' \"a:b:c\" is not host:port" },
	{ "url = \"http://x/\"; proxy = \"socks5://p:1080\";",
	  "sonde.conf:4: 'proxy' \"socks5://p:1080\" is not an "
	  "http://host:port URL" },
	{ "url = \"http://x/\"; client_key = \"/k\";",
	  "sonde.conf:4: 'client_key' needs 'client_cert'" },
	{ "url = \"http://x/\"; http_version = \"3\";",
	  "sonde.conf:4: " },
	{ "url = \"http://x/\"; max_redirects = 31;", "sonde.conf:4: " },
	{ "url = \"http://x/\"; headers = { X-A = 1; };",
	  "sonde.conf:4: header 'X-A' must be a string, got an integer" },
	/* credentials inline would be published as the target, or leak */
	{ "url = \"https://u:s3cret@x/\";",
	  "sonde.conf:4: 'url' holds credentials (user:password@); use "
	  "basic_auth" },
	{ "url = \"http://x/\"; proxy = \"http://u:s3cret@p:3128\";",
	  "sonde.conf:4: 'proxy' holds credentials" },
	{ "url = \"http://x/\"; headers = { authorization = \"s3cret\"; };",
	  "sonde.conf:4: header 'authorization' holds a credential; use "
	  "basic_auth or bearer_token" },
	{ "url = \"http://x/\"; headers = { Cookie = \"s=s3cret\"; };",
	  "sonde.conf:4: header 'Cookie' holds a credential" },
	{ "url = \"http://[::1]/\"; ip_version = \"4\";",
	  "sonde.conf:4: 'url' host ::1 is an IPv6 address but ip_version is "
	  "\"4\"" },
};

START_TEST(test_http_conf_errors)
{
	char	*errs;

	errs = load("%s", conf_rows[_i].keys);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(errs, conf_rows[_i].error) == errs ||
	    strstr(errs, conf_rows[_i].error) != NULL,
	    "errors \"%s\" lack \"%s\"", errs, conf_rows[_i].error);
	ck_assert_msg(strstr(errs, "s3cret") == NULL, "a secret in the "
	    "error: %s", errs);
	free(errs);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;

	tc = tcase_create("nginx");
	tcase_add_unchecked_fixture(tc, nginx_start, nginx_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_http_ok);
	tcase_add_test(tc, test_http_status_mismatch);
	tcase_add_loop_test(tc, test_http_status_table, 0,
	    sizeof(status_rows) / sizeof(status_rows[0]));
	tcase_add_test(tc, test_http_body_match);
	tcase_add_test(tc, test_http_body_mismatch);
	tcase_add_test(tc, test_http_headers);
	tcase_add_test(tc, test_http_methods_and_body);
	tcase_add_test(tc, test_http_kept_handle_carries_nothing);
	tcase_add_test(tc, test_http_auth_secrets);
	tcase_add_test(tc, test_http_body_too_large_known_length);
	tcase_add_test(tc, test_http_redirect_chain_followed);
	tcase_add_test(tc, test_http_redirect_limit);
	tcase_add_test(tc, test_http_redirect_loop);
	tcase_add_test(tc, test_http_redirect_drops_credentials);
	tcase_add_test(tc, test_http_redirect_to_https);
	tcase_add_test(tc, test_http_connect_to_keeps_host);
	tcase_add_test(tc, test_http_connect_to_follows_redirects);
	tcase_add_test(tc, test_http_ipv6_loopback);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, nginx_start, nginx_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_https_ok_with_private_ca);
	tcase_add_test(tc, test_https_untrusted);
	tcase_add_test(tc, test_https_insecure_says_so);
	tcase_add_test(tc, test_https_expired);
	tcase_add_test(tc, test_https_hostname_mismatch);
	tcase_add_test(tc, test_https_server_name);
	tcase_add_test(tc, test_https_client_certificate);
	tcase_add_test(tc, test_https_http2);
	tcase_add_test(tc, test_http_h2c_prior_knowledge);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_http_never_answers);
	tcase_add_test(tc, test_http_drip);
	tcase_add_test(tc, test_http_endless_body);
	tcase_add_test(tc, test_http_garbage_status_line);
	tcase_add_test(tc, test_http_closes_at_once);
	tcase_add_test(tc, test_http_refused);
	tcase_add_test(tc, test_http_tls_to_plain_port);
	tcase_add_test(tc, test_http_resolve_failed);
	tcase_add_test(tc, test_http_literal_wrong_family);
	tcase_add_test(tc, test_http_proxy);
	tcase_add_test(tc, test_http_closes_with_reset);
	tcase_add_test(tc, test_http_abort_releases_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_http_conf_errors, 0,
	    sizeof(conf_rows) / sizeof(conf_rows[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(http_suite());

	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
