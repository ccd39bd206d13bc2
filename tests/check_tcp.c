/* SPDX-License-Identifier: ISC */
/*
 * Tests for the tcp check kind, through the real paths: each check is
 * loaded with config_load() from a file in a temporary directory and run
 * with probe_run_start() on a real loop, against listeners on 127.0.0.1
 * (and ::1 when the host has it) served by the test's own loop: an open
 * port, a refused one, a full accept queue, banner servers, a PING/PONG
 * responder, an endless talker, a fake DNS server.  No external network.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "loop.h"
#include "probe.h"
#include "resolver.h"
#include "tcp.h"
#include "testutil.h"
#include "xmalloc.h"

/* ---- servers on the test's loop ---------------------------------------- */

enum srv_mode {
	SRV_BANNER,		/* write the banner, keep the connection */
	SRV_BANNER_CLOSE,	/* write the banner, close */
	SRV_PONG,		/* "PING\r\n" in, "+PONG\r\n" out */
	SRV_FLOOD,		/* write forever */
	SRV_WATCH_CLOSE		/* read until the peer closes: FIN or RST */
};

enum srv_close {
	SRV_OPEN,
	SRV_FIN,
	SRV_RST
};

#define SRV_MAX_CONNS	8

struct srv {
	struct loop	*loop;
	int		 lfd;
	int		 port;
	enum srv_mode	 mode;
	const char	*banner;
	int		 conns[SRV_MAX_CONNS];
	int		 nconns;
	char		 got[64];
	size_t		 gotlen;
	enum srv_close	 closed;
	bool		 done;		/* the peer closed (WATCH_CLOSE) */
};

static void
srv_drop(struct srv *s, int fd)
{
	int	i;

	loop_fd_del(s->loop, fd);
	close(fd);
	for (i = 0; i < s->nconns; i++)
		if (s->conns[i] == fd)
			s->conns[i] = -1;
}

static void
srv_conn(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct srv	*s = arg;
	static char	 flood[4096];
	char		 buf[256];
	ssize_t		 n;

	if (s->mode == SRV_FLOOD) {
		memset(flood, 'x', sizeof(flood));
		if (send(fd, flood, sizeof(flood), MSG_NOSIGNAL) == -1 &&
		    errno != EAGAIN)
			srv_drop(s, fd);
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0 && s->gotlen + (size_t)n < sizeof(s->got)) {
		memcpy(s->got + s->gotlen, buf, (size_t)n);
		s->gotlen += (size_t)n;
	}
	if (n > 0 && s->mode == SRV_PONG && memmem(s->got, s->gotlen,
	    "PING\r\n", 6) != NULL)
		ck_assert_int_eq(send(fd, "+PONG\r\n", 7, MSG_NOSIGNAL), 7);
	if (n > 0 || (n == -1 && errno == EAGAIN))
		return;
	s->closed = n == 0 ? SRV_FIN : errno == ECONNRESET ? SRV_RST : SRV_OPEN;
	s->done = true;
	srv_drop(s, fd);
}

static void
srv_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct srv	*s = arg;
	size_t		 len;
	int		 fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	ck_assert_int_lt(s->nconns, SRV_MAX_CONNS);
	s->conns[s->nconns++] = fd;
	if (s->banner != NULL) {
		len = strlen(s->banner);
		ck_assert_int_eq(send(fd, s->banner, len, MSG_NOSIGNAL),
		    (ssize_t)len);
	}
	if (s->mode == SRV_BANNER_CLOSE)
		srv_drop(s, fd);
	else if (s->mode == SRV_FLOOD)
		ck_assert_int_eq(loop_fd_add(loop, fd, LOOP_WRITE, srv_conn, s),
		    0);
	else if (s->mode != SRV_BANNER)
		ck_assert_int_eq(loop_fd_add(loop, fd, LOOP_READ, srv_conn, s),
		    0);
}

static void
srv_start(struct srv *s, struct loop *loop, int family, enum srv_mode mode,
    const char *banner)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->mode = mode;
	s->banner = banner;
	s->lfd = testutil_listen_tcp(family, 16, &s->port);
	ck_assert_int_eq(loop_fd_add(loop, s->lfd, LOOP_READ, srv_accept, s),
	    0);
}

static void
srv_stop(struct srv *s)
{
	int	i;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i] != -1)
			srv_drop(s, s->conns[i]);
	loop_fd_del(s->loop, s->lfd);
	close(s->lfd);
}

/* A fake DNS server: answers every question with NXDOMAIN, or nothing. */
struct fakedns {
	int	fd;
	int	port;
	bool	silent;
};

static void
fakedns_read(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fakedns		*d = arg;
	struct sockaddr_storage	 peer;
	socklen_t		 plen = sizeof(peer);
	unsigned char		 buf[512];
	ssize_t			 n;

	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
	if (n < 12 || d->silent)
		return;
	buf[2] = 0x80 | 0x04 | (buf[2] & 0x01);	/* QR, AA, RD as asked */
	buf[3] = 0x80 | 3;			/* RA, NXDOMAIN */
	memset(buf + 6, 0, 6);
	buf[11] = 0;
	/* The question is echoed; an EDNS OPT in additional is dropped. */
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
}

static void
fakedns_start(struct fakedns *d, struct loop *loop, bool silent)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	d->silent = silent;
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(d->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(d->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(d->fd, (struct sockaddr *)&sin, &len), 0);
	d->port = ntohs(sin.sin_port);
	ck_assert_int_eq(loop_fd_add(loop, d->fd, LOOP_READ, fakedns_read, d),
	    0);
}

/* ---- fixture: a loop, a resolver, a temp dir, one config -------------- */

static struct loop	*lp;
static struct resolver	*rs;
static struct config	*cfg;
static struct fakedns	 dns;
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
	dns.fd = -1;
}

static void
teardown(void)
{
	char	*path;

	config_unref(cfg);
	resolver_free(rs);
	if (dns.fd != -1) {
		loop_fd_del(lp, dns.fd);
		close(dns.fd);
	}
	loop_free(lp);
	path = xasprintf("%s/sonde.conf", dir);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* Replaces the resolver with one that asks only the fake DNS server. */
static void
use_fake_dns(bool silent)
{
	char	servers[64], err[128];

	fakedns_start(&dns, lp, silent);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", dns.port);
	resolver_free(rs);
	rs = resolver_new(lp, servers, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
}

/* Loads a config of one check with these keys; returns its error lines. */
static char *
load(const char *fmt, ...)
{
	va_list	 ap;
	char	*keys, *text, *errs;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&keys, fmt, ap), -1);
	va_end(ap);
	text = xasprintf("checks = (\n  { name = \"t\"; type = \"tcp\";\n"
	    "    interval = \"1m\"; %s }\n);\n", keys);
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

/* Runs check once to completion; the probe's deadline is its timeout. */
static void
run_check(const struct check_conf *ck, struct testutil_outcome *o)
{
	testutil_run_probe(lp, rs, ck, o);
}

static void
assert_result(const struct testutil_outcome *o, enum probe_status st,
    const char *msg)
{
	testutil_assert_result(&o->result, st, msg);
}

static int
open_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

/* ---- connect ------------------------------------------------------------ */

START_TEST(test_tcp_open_port)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[64];
	int			 lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	ck = check_of("host = \"127.0.0.1\"; port = %d;", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(ck->target, want);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_str_eq(o.result.tcp.address, want);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_RESOLVE], -1);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_PROCESSING], -1);
	ck_assert_int_ge(o.result.duration,
	    o.result.phase[PROBE_PHASE_CONNECT]);
	close(lfd);
}
END_TEST

START_TEST(test_tcp_refused)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[80];
	int			 port = testutil_closed_port();

	ck = check_of("host = \"127.0.0.1\"; port = %d;", port);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: refused", port);
	assert_result(&o, PROBE_CONNECT_REFUSED, want);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
}
END_TEST

/*
 * With backlog 0 and the accept queue full of connections nobody accepts,
 * the kernel drops further SYNs: the connect hangs until the deadline.
 */
START_TEST(test_tcp_accept_queue_full)
{
	const struct check_conf	*ck;
	struct sockaddr_in	 sin;
	struct testutil_outcome	 o;
	char			 want[80];
	int			 lfd, port, fill[4], i;

	lfd = testutil_listen_tcp(AF_INET, 0, &port);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100000);
	ck = check_of("host = \"127.0.0.1\"; port = %d; timeout = \"1s\";",
	    port);
	run_check(ck, &o);
	snprintf(want, sizeof(want),
	    "connect to 127.0.0.1:%d: no answer within 1s", port);
	assert_result(&o, PROBE_CONNECT_TIMEOUT, want);
	ck_assert_int_ge(o.elapsed_ms, 1000);
	ck_assert_int_lt(o.elapsed_ms, 2000);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}
END_TEST

START_TEST(test_tcp_emfile)
{
	const struct check_conf	*ck;
	struct rlimit		 rl, low;
	struct testutil_outcome	 o;
	int			 lfd, port, fd, dups[64], ndups = 0, i;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	ck = check_of("host = \"127.0.0.1\"; port = %d;", port);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)open_fds() + 16;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (ndups < 64 && (fd = dup(lfd)) != -1)
		dups[ndups++] = fd;
	ck_assert_int_lt(ndups, 64);
	ck_assert_int_eq(errno, EMFILE);
	run_check(ck, &o);
	/* Undo before asserting, for CK_FORK=no runs. */
	for (i = 0; i < ndups; i++)
		close(dups[i]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_result(&o, PROBE_INTERNAL, "socket: Too many open files");
	close(lfd);
}
END_TEST

/* ---- send and expect ---------------------------------------------------- */

START_TEST(test_tcp_banner_match)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_BANNER, "SSH-2.0-test\r\n");
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^SSH-2\\\\.0-\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_PROCESSING], 0);
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_banner_mismatch)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_BANNER_CLOSE, "SSH-1.99-Foo");
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^SSH-2\\\\.0-\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_TCP_EXPECT_MISMATCH, "connection closed after "
	    "12 bytes; reply \"SSH-1.99-Foo\" does not match /^SSH-2\\.0-/");
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_PROCESSING], -1);
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_closed_without_reply)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_BANNER_CLOSE, NULL);
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^220 \"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_TCP_EXPECT_MISMATCH,
	    "connection closed without a reply; expected /^220 /");
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_send_expect_pong)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_PONG, NULL);
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    send = \"PING\\r\\n\"; expect = { reply = \"^\\\\+PONG\"; };",
	    s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_uint_eq(s.gotlen, 6);
	ck_assert(memcmp(s.got, "PING\r\n", 6) == 0);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_PROCESSING], 0);
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_send_without_expect)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_WATCH_CLOSE, NULL);
	ck = check_of("host = \"127.0.0.1\"; port = %d; send = \"QUIT\\r\\n\";"
	    " close = \"graceful\";", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert(testutil_run_until(lp, &s.done, 2000));
	ck_assert_uint_eq(s.gotlen, 6);
	ck_assert(memcmp(s.got, "QUIT\r\n", 6) == 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_PROCESSING], -1);
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_endless_reply_hits_cap)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_FLOOD, NULL);
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^HELLO\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_TCP_EXPECT_MISMATCH,
	    "no match for /^HELLO/ in the first 16384 bytes");
	srv_stop(&s);
}
END_TEST

/* Catastrophic backtracking is an internal error, not a mismatch. */
START_TEST(test_tcp_regex_match_limit)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;
	static char		 banner[65];

	memset(banner, 'a', 63);
	banner[63] = 'b';		/* sent in one segment: one read */
	srv_start(&s, lp, AF_INET, SRV_BANNER, banner);
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^(a+)+$\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_INTERNAL, "matching the reply against "
	    "/^(a+)+$/: regex match limit hit");
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_no_reply_timeout)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	int			 lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);	/* never answers */
	ck = check_of("host = \"127.0.0.1\"; port = %d; timeout = \"1s\";\n"
	    "    send = \"PING\\r\\n\"; expect = { reply = \"^\\\\+PONG\"; };",
	    port);
	run_check(ck, &o);
	assert_result(&o, PROBE_TIMEOUT,
	    "no reply matching /^\\+PONG/ within 1s (got 0 bytes)");
	ck_assert_int_ge(o.elapsed_ms, 1000);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_PROCESSING], -1);
	close(lfd);
}
END_TEST

START_TEST(test_tcp_partial_reply_timeout)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_BANNER, "+PANG\r\n");
	ck = check_of("host = \"127.0.0.1\"; port = %d; timeout = \"250ms\";\n"
	    "    expect = { reply = \"^\\\\+PONG\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_TIMEOUT, "no reply matching /^\\+PONG/ within "
	    "250ms (got 7 bytes: \"+PANG\\r\\n\")");
	srv_stop(&s);
}
END_TEST

/* ---- names and families ------------------------------------------------- */

START_TEST(test_tcp_nxdomain)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;

	use_fake_dns(false);
	ck = check_of("host = \"nonexistent.example\"; port = 80;");
	ck_assert_str_eq(ck->target, "nonexistent.example:80");
	run_check(ck, &o);
	assert_result(&o, PROBE_RESOLVE_FAILED,
	    "resolve nonexistent.example: no such host");
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_RESOLVE], 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_CONNECT], -1);
	ck_assert_str_eq(o.result.tcp.address, "");
}
END_TEST

START_TEST(test_tcp_resolve_timeout)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;

	use_fake_dns(true);
	ck = check_of("host = \"slow.example\"; port = 80; "
	    "timeout = \"1500ms\";");
	run_check(ck, &o);
	assert_result(&o, PROBE_RESOLVE_FAILED,
	    "resolve slow.example: no answer within 1.5s");
	ck_assert_int_ge(o.elapsed_ms, 1500);
	ck_assert_int_lt(o.elapsed_ms, 2500);
}
END_TEST

START_TEST(test_tcp_localhost_v4)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[64];
	int			 lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	ck = check_of("host = \"localhost\"; port = %d; ip_version = \"4\";",
	    port);
	ck_assert_int_eq(ck->ip_family, AF_INET);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(o.result.tcp.address, want);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_RESOLVE], 0);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_CONNECT], 0);
	close(lfd);
}
END_TEST

static bool
have_ipv6_loopback(void)
{
	struct sockaddr_in6	sin6;
	int			fd, ok;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

START_TEST(test_tcp_ipv6_loopback)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;
	char			 want[64];

	if (!have_ipv6_loopback()) {
		fprintf(stderr, "check_tcp: no ::1 here, IPv6 test skipped\n");
		return;
	}
	srv_start(&s, lp, AF_INET6, SRV_BANNER, "SSH-2.0-v6\r\n");
	ck = check_of("host = \"[::1]\"; port = %d; ip_version = \"6\";\n"
	    "    expect = { reply = \"^SSH-2\\\\.0-\"; };", s.port);
	snprintf(want, sizeof(want), "[::1]:%d", s.port);
	ck_assert_str_eq(ck->target, want);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_str_eq(o.result.tcp.address, want);
	/* localhost asked for IPv6 is ::1 too */
	ck = check_of("host = \"localhost\"; port = %d; ip_version = \"6\";",
	    s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_str_eq(o.result.tcp.address, want);
	srv_stop(&s);
}
END_TEST

/* ---- close policy and abort ------------------------------------------- */

START_TEST(test_tcp_close_reset_by_default)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_WATCH_CLOSE, "hello\r\n");
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^hello\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert(testutil_run_until(lp, &s.done, 2000));
	ck_assert_int_eq(s.closed, SRV_RST);
	srv_stop(&s);
}
END_TEST

START_TEST(test_tcp_close_graceful)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct srv		 s;

	srv_start(&s, lp, AF_INET, SRV_WATCH_CLOSE, "hello\r\n");
	ck = check_of("host = \"127.0.0.1\"; port = %d; close = \"graceful\";\n"
	    "    expect = { reply = \"^hello\"; };", s.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert(testutil_run_until(lp, &s.done, 2000));
	ck_assert_int_eq(s.closed, SRV_FIN);
	srv_stop(&s);
}
END_TEST

static void
on_done_never(struct probe_run *run, void *arg)
{
	ck_abort_msg("done called after abort");
}

START_TEST(test_tcp_abort_releases_everything)
{
	const struct check_conf	*ck;
	struct probe_run	 run;
	int			 lfd, port, before;
	bool			 never = false;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	ck = check_of("host = \"127.0.0.1\"; port = %d;\n"
	    "    expect = { reply = \"^x\"; };", port);
	before = open_fds();
	probe_run_init(&run, lp, rs, ck);
	probe_run_start(&run, loop_now(lp) + 5000000, on_done_never, NULL);
	testutil_run_until(lp, &never, 100);	/* connected, reading */
	ck_assert_int_eq(open_fds(), before + 1);
	probe_run_abort(&run);
	ck_assert_ptr_null(run.priv);
	ck_assert_int_eq(open_fds(), before);
	testutil_run_until(lp, &never, 100);
	/* A name being resolved: the query is detached and freed. */
	use_fake_dns(true);
	ck = check_of("host = \"slow.example\"; port = 80;");
	probe_run_init(&run, lp, rs, ck);
	probe_run_start(&run, loop_now(lp) + 5000000, on_done_never, NULL);
	testutil_run_until(lp, &never, 100);
	probe_run_abort(&run);
	testutil_run_until(lp, &never, 100);
	close(lfd);
}
END_TEST

/* ---- config ------------------------------------------------------------- */

struct conf_case {
	const char	*keys;
	const char	*errors;
};

static const struct conf_case conf_cases[] = {
	{ "port = 22;",
	  "sonde.conf:2: check is missing required key 'host'" },
	{ "host = \"h\";",
	  "sonde.conf:2: check is missing required key 'port'" },
	{ "host = \"h\"; port = 70000;",
	  "sonde.conf:3: 'port' must be between 1 and 65535, got 70000" },
	{ "host = \"\"; port = 1;",
	  "sonde.conf:3: 'host' must not be empty" },
	{ "host = \"db:5432\"; port = 1;",
	  "sonde.conf:3: 'host' \"db:5432\" is not a host name or address "
	  "(the port goes in 'port')" },
	{ "host = \"[db]\"; port = 1;",
	  "sonde.conf:3: 'host' \"[db]\" is not a host name or address "
	  "(the port goes in 'port')" },
	{ "host = \"127.0.0.1\"; port = 1; ip_version = \"6\";",
	  "sonde.conf:3: 'host' 127.0.0.1 is an IPv4 address but ip_version "
	  "is \"6\"" },
	{ "host = \"h\"; port = 1; close = \"rst\";",
	  "sonde.conf:3: 'close' must be one of \"reset\" or \"graceful\", "
	  "got \"rst\"" },
	{ "host = \"h\"; port = 1;\n expect = { replly = \"x\"; };",
	  "sonde.conf:4: unknown key 'replly' in expect (did you mean "
	  "'reply'?)\n"
	  "sonde.conf:4: expect is missing required key 'reply'" },
	{ "host = \"h\"; port = 1; expect = { reply = \"(\"; };",
	  "sonde.conf:3: 'reply': bad regex: missing closing parenthesis at "
	  "offset 1" },
	{ "host = \"h\"; port = 1; expect = \"x\";",
	  "sonde.conf:3: 'expect' must be a group { ... }, got a string" },
	{ "host = \"h\"; port = 1; send = 5;",
	  "sonde.conf:3: 'send' must be a string, got an integer" },
	{ "host = \"h\"; port = 1; sned = \"x\";",
	  "sonde.conf:3: unknown key 'sned' in check (did you mean 'send'?)" },
};

START_TEST(test_tcp_conf_errors)
{
	const struct conf_case	*cc = &conf_cases[_i];
	char			*got;

	got = load("%s", cc->keys);
	ck_assert_msg(cfg == NULL, "%s: loaded", cc->keys);
	ck_assert_msg(strcmp(got, cc->errors) == 0, "%s:\n got: %s\nwant: %s",
	    cc->keys, got, cc->errors);
	free(got);
}
END_TEST

START_TEST(test_tcp_conf_targets)
{
	const struct check_conf	*ck;

	ck = check_of("host = \"db.internal\"; port = 5432;");
	ck_assert_str_eq(ck->target, "db.internal:5432");
	ck = check_of("host = \"2001:db8::1\"; port = 22;");
	ck_assert_str_eq(ck->target, "[2001:db8::1]:22");
	ck = check_of("host = \"[2001:db8::1]\"; port = 22;");
	ck_assert_str_eq(ck->target, "[2001:db8::1]:22");
	ck = check_of("host = \"10.0.0.5\"; port = 5432; close = \"reset\";"
	    " send = \"\";");
	ck_assert_str_eq(ck->target, "10.0.0.5:5432");
	ck_assert_ptr_eq(ck->ops, &tcp_probe_ops);
}
END_TEST

START_TEST(test_tcp_literal_family_mismatch_at_run)
{
	struct check_conf	 copy;
	struct testutil_outcome	 o;

	/* A check whose family changed after load (defaults are per load). */
	copy = *check_of("host = \"127.0.0.1\"; port = 1;");
	copy.ip_family = AF_INET6;
	run_check(&copy, &o);
	assert_result(&o, PROBE_RESOLVE_FAILED,
	    "resolve 127.0.0.1: IPv4 literal where IPv6 is required");
}
END_TEST

static Suite *
tcp_suite(void)
{
	Suite	*s = suite_create("tcp");
	TCase	*tc;

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tcp_open_port);
	tcase_add_test(tc, test_tcp_refused);
	tcase_add_test(tc, test_tcp_accept_queue_full);
	tcase_add_test(tc, test_tcp_emfile);
	suite_add_tcase(s, tc);

	tc = tcase_create("expect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tcp_banner_match);
	tcase_add_test(tc, test_tcp_banner_mismatch);
	tcase_add_test(tc, test_tcp_closed_without_reply);
	tcase_add_test(tc, test_tcp_send_expect_pong);
	tcase_add_test(tc, test_tcp_send_without_expect);
	tcase_add_test(tc, test_tcp_endless_reply_hits_cap);
	tcase_add_test(tc, test_tcp_regex_match_limit);
	tcase_add_test(tc, test_tcp_no_reply_timeout);
	tcase_add_test(tc, test_tcp_partial_reply_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tcp_nxdomain);
	tcase_add_test(tc, test_tcp_resolve_timeout);
	tcase_add_test(tc, test_tcp_localhost_v4);
	tcase_add_test(tc, test_tcp_ipv6_loopback);
	tcase_add_test(tc, test_tcp_literal_family_mismatch_at_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tcp_close_reset_by_default);
	tcase_add_test(tc, test_tcp_close_graceful);
	tcase_add_test(tc, test_tcp_abort_releases_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_tcp_conf_errors, 0,
	    sizeof(conf_cases) / sizeof(conf_cases[0]));
	tcase_add_test(tc, test_tcp_conf_targets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tcp_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
