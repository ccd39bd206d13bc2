/* SPDX-License-Identifier: ISC */
/*
 * Tests for the dns check kind, through the real paths: each check is
 * loaded with config_load() and run with probe_run_start() on a real loop.
 *
 * Servers: a real knotd (Debian's knot package) started once per TCase on
 * a free port of 127.0.0.1, with a zone this test writes (every record
 * type the kind prints, a delegated subzone with glue, NXDOMAIN names),
 * its own config, rundir and storage in a temporary directory, in the
 * foreground so the test owns its PID and stops only it; and a hostile
 * responder on the test's own loop (UDP and TCP on one port) that answers
 * SERVFAIL, REFUSED, a truncated UDP answer whose TCP answer is good, a
 * wrong transaction ID, a malformed record, a 5-byte runt, or nothing.
 * If knotd is missing the knot cases FAIL and say which package to
 * install.  No traffic leaves 127.0.0.1.
 */
#include "autoconf.h"

#include <sys/socket.h>
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

#include <jansson.h>

#include "config.h"
#include "dns.h"
#include "loop.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "testutil.h"
#include "xmalloc.h"

#define KNOTD	"/usr/sbin/knotd"

static const char zone_text[] =
    "$ORIGIN example.test.\n"
    "$TTL 300\n"
    "@	IN SOA ns1 hostmaster 2026112701 3600 600 86400 60\n"
    "	IN NS ns1\n"
    "	IN MX 10 mail\n"
    "	IN MX 20 mx2\n"
    "	IN TXT \"v=spf1 -all\"\n"
    "	IN CAA 0 issue \"letsencrypt.org\"\n"
    "ns1	IN A 127.0.0.1\n"
    "www	IN A 192.0.2.10\n"
    "www	IN A 192.0.2.11\n"
    "www	IN AAAA 2001:db8::10\n"
    "alias	IN CNAME www\n"
    "mail	IN A 192.0.2.25\n"
    "mx2	IN A 192.0.2.26\n"
    "txt2	IN TXT \"hello world\" \"say \\\"hi\\\"\"\n"
    "_sip._tcp IN SRV 10 60 5060 sip\n"
    "sip	IN A 192.0.2.30\n"
    "10	IN PTR host.example.test.\n"
    "odd	IN TYPE65280 \\# 3 abcdef\n"
    "sub	IN NS ns.sub\n"
    "ns.sub	IN A 192.0.2.53\n"
    "$INCLUDE many.zone\n";

/* ---- knotd, once per TCase ----------------------------------------------- */

static pid_t	 knot_pid = -1;
static int	 knot_port;
static char	*knot_dir;

/* A port free for both UDP and TCP on 127.0.0.1 (bound, then closed). */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	int			u, t, port, tries, rc;

	for (tries = 0; tries < 50; tries++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(sin);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		ck_assert_int_eq(bind(u, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		ck_assert_int_eq(getsockname(u, (struct sockaddr *)&sin, &len),
		    0);
		port = ntohs(sin.sin_port);
		t = socket(AF_INET, SOCK_STREAM, 0);
		rc = bind(t, (struct sockaddr *)&sin, sizeof(sin));
		close(t);
		close(u);
		if (rc == 0)
			return port;
	}
	ck_abort_msg("no port free for both UDP and TCP on 127.0.0.1");
	return -1;
}

/* True once knotd answers TCP connects on its port. */
static bool
knot_ready(void)
{
	struct sockaddr_in	sin;
	int			fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)knot_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == 0;
}

/* 40 A records for one name: more than the result's text can hold. */
static void
write_many(const char *d)
{
	char	text[2048], *path;
	size_t	len = 0;
	int	i;

	for (i = 1; i <= 40; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "many.example.test. 300 IN A 192.0.2.%d\n", i);
	path = testutil_write_file(d, "many.zone", text);
	free(path);
}

static void
knot_start(void)
{
	char	*conf, *zone, *log, *text;
	int	 i;

	ck_assert_msg(access(KNOTD, X_OK) == 0, KNOTD " not found: the DNS "
	    "integration tests need Debian's knot package (apt-get install "
	    "knot)");
	knot_dir = xstrdup(testutil_tmpdir());
	knot_port = free_port();
	zone = testutil_write_file(knot_dir, "example.test.zone", zone_text);
	write_many(knot_dir);
	text = xasprintf("server:\n  rundir: \"%s\"\n"
	    "  listen: 127.0.0.1@%d\n  udp-workers: 1\n  tcp-workers: 1\n"
	    "  background-workers: 1\n"
	    "log:\n  - target: stderr\n    any: warning\n"
	    "database:\n  storage: \"%s\"\n"
	    "template:\n  - id: default\n    storage: \"%s\"\n"
	    "    file: \"%%s.zone\"\n    journal-content: none\n"
	    "    zonefile-sync: -1\n"
	    "zone:\n  - domain: example.test\n",
	    knot_dir, knot_port, knot_dir, knot_dir);
	conf = testutil_write_file(knot_dir, "knot.conf", text);
	log = xasprintf("%s/knot.log", knot_dir);
	if ((knot_pid = fork()) == 0) {
		if (freopen(log, "w", stderr) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(KNOTD, "knotd", "-c", conf, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(knot_pid, 0);
	for (i = 0; i < 300 && !knot_ready(); i++)
		usleep(10000);
	ck_assert_msg(knot_ready(), "knotd did not start; see %s", log);
	usleep(50000);		/* zone loaded after the sockets */
	free(text);
	free(conf);
	free(zone);
	free(log);
}

static void
knot_stop(void)
{
	char	cmd[512];

	if (knot_pid > 0) {
		kill(knot_pid, SIGTERM);
		waitpid(knot_pid, NULL, 0);
		knot_pid = -1;
	}
	if (knot_dir != NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", knot_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", knot_dir);
		free(knot_dir);
		knot_dir = NULL;
	}
}

/* ---- a hostile responder on the test's loop ------------------------------ */

enum evil_mode {
	EVIL_SERVFAIL,
	EVIL_REFUSED,
	EVIL_TRUNCATE,		/* TC=1 over UDP, a good answer over TCP */
	EVIL_TRUNCATE_MUTE,	/* TC=1 over UDP, nothing over TCP */
	EVIL_WRONG_ID,
	EVIL_MALFORMED,
	EVIL_RUNT,
	EVIL_SILENT
};

struct evil {
	struct loop	*loop;
	enum evil_mode	 mode;
	int		 ufd;
	int		 lfd;
	int		 cfd;
	int		 port;
	int		 udp_queries;
	int		 tcp_queries;
	int		 rd;		/* RD bit of the last query */
};

/* Length of header + question of query q (the OPT record dropped). */
static size_t
evil_question_end(const uint8_t *q, size_t len)
{
	size_t	p = 12;

	while (p < len && q[p] != 0)
		p += 1 + q[p];
	return p + 5 <= len ? p + 5 : len;
}

/* Builds the reply to q of len bytes into out; returns its length. */
static size_t
evil_reply(const struct evil *e, bool tcp, const uint8_t *q, size_t len,
    uint8_t *out)
{
	static const uint8_t	good[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0,
				    60, 0, 4, 192, 0, 2, 1 };
	size_t			n = evil_question_end(q, len);

	memcpy(out, q, n);
	out[2] = 0x80 | 0x04 | (q[2] & 0x01);	/* QR, AA, RD as asked */
	out[3] = 0x80;
	memset(out + 6, 0, 6);
	if (e->mode == EVIL_SERVFAIL || e->mode == EVIL_REFUSED) {
		out[3] |= e->mode == EVIL_SERVFAIL ? 2 : 5;
		return n;
	}
	if ((e->mode == EVIL_TRUNCATE || e->mode == EVIL_TRUNCATE_MUTE) &&
	    !tcp) {
		out[2] |= 0x02;
		return n;
	}
	out[7] = 1;
	if (e->mode == EVIL_WRONG_ID)
		out[1] ^= 0x5a;
	if (e->mode == EVIL_MALFORMED) {
		memcpy(out + n, good, 12);	/* RDLENGTH 4, no RDATA */
		return n + 12;
	}
	memcpy(out + n, good, sizeof(good));
	return n + sizeof(good);
}

static void
evil_udp(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct evil		*e = arg;
	struct sockaddr_storage	 peer;
	socklen_t		 plen = sizeof(peer);
	uint8_t			 q[512], out[600];
	ssize_t			 n;
	size_t			 len;

	(void)loop;
	(void)events;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &plen);
	if (n < 12)
		return;
	e->udp_queries++;
	e->rd = q[2] & 0x01;
	if (e->mode == EVIL_SILENT)
		return;
	if (e->mode == EVIL_RUNT) {	/* the ID and a bit more */
		sendto(fd, q, 5, 0, (struct sockaddr *)&peer, plen);
		return;
	}
	len = evil_reply(e, false, q, (size_t)n, out);
	sendto(fd, out, len, 0, (struct sockaddr *)&peer, plen);
}

/* One TCP query per connection is all c-ares sends here. */
static void
evil_tcp_read(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct evil	*e = arg;
	uint8_t		 q[514], out[602];
	ssize_t		 n;
	size_t		 len;

	(void)events;
	n = recv(fd, q, sizeof(q), 0);
	if (n <= 2) {
		loop_fd_del(loop, fd);
		close(fd);
		e->cfd = -1;
		return;
	}
	e->tcp_queries++;
	if (e->mode == EVIL_TRUNCATE_MUTE)
		return;
	len = evil_reply(e, true, q + 2, (size_t)n - 2, out + 2);
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	ck_assert_int_eq(send(fd, out, len + 2, MSG_NOSIGNAL),
	    (ssize_t)len + 2);
}

static void
evil_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct evil	*e = arg;
	int		 fd;

	(void)events;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	if (e->cfd != -1) {
		loop_fd_del(loop, e->cfd);
		close(e->cfd);
	}
	e->cfd = fd;
	ck_assert_int_eq(loop_fd_add(loop, fd, LOOP_READ, evil_tcp_read, e),
	    0);
}

static void
evil_start(struct evil *e, struct loop *loop, enum evil_mode mode)
{
	struct sockaddr_in	sin;

	memset(e, 0, sizeof(*e));
	e->loop = loop;
	e->mode = mode;
	e->cfd = -1;
	e->port = free_port();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)e->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(e->ufd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(e->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(listen(e->lfd, 8), 0);
	ck_assert_int_eq(loop_fd_add(loop, e->ufd, LOOP_READ, evil_udp, e), 0);
	ck_assert_int_eq(loop_fd_add(loop, e->lfd, LOOP_READ, evil_accept, e),
	    0);
}

static void
evil_stop(struct evil *e)
{
	int	fds[3] = { e->ufd, e->lfd, e->cfd }, i;

	for (i = 0; i < 3; i++)
		if (fds[i] != -1) {
			loop_fd_del(e->loop, fds[i]);
			close(fds[i]);
		}
}

/* ---- fixture: a loop, a resolver, a temp dir, one config ----------------- */

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

	resolver_free(rs);
	config_unref(cfg);
	loop_free(lp);
	path = xasprintf("%s/sonde.conf", dir);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* Loads a config of one dns check with these keys; returns its errors. */
static char *
load(const char *fmt, ...)
{
	va_list	 ap;
	char	*keys, *text, *errs;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&keys, fmt, ap), -1);
	va_end(ap);
	text = xasprintf("checks = (\n  { name = \"t\"; type = \"dns\";\n"
	    "    interval = \"1m\"; timeout = \"1s\"; %s }\n);\n", keys);
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
	free(keys);
	free(errs);
	return &cfg->checks[0];
}

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

/* A check against knot: "server = 127.0.0.1:PORT;" plus keys. */
static const struct check_conf *
knot_check(const char *fmt, ...)
{
	va_list	 ap;
	char	*keys;
	const struct check_conf *ck;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&keys, fmt, ap), -1);
	va_end(ap);
	ck = check_of("server = \"127.0.0.1:%d\"; %s", knot_port, keys);
	free(keys);
	return ck;
}

/* ---- every type against knot --------------------------------------------- */

static const struct {
	const char	*query;
	const char	*record;
	const char	*text;
} type_cases[] = {
	{ "www.example.test", "A", "www.example.test. 300 IN A 192.0.2.10\n"
	    "www.example.test. 300 IN A 192.0.2.11\n" },
	{ "www.example.test", "AAAA",
	    "www.example.test. 300 IN AAAA 2001:db8::10\n" },
	{ "alias.example.test", "CNAME",
	    "alias.example.test. 300 IN CNAME www.example.test.\n" },
	{ "example.test", "MX", "example.test. 300 IN MX 10 mail.example.test."
	    "\nexample.test. 300 IN MX 20 mx2.example.test.\n" },
	{ "example.test", "NS", "example.test. 300 IN NS ns1.example.test.\n" },
	{ "txt2.example.test", "TXT", "txt2.example.test. 300 IN TXT "
	    "\"hello world\" \"say \\\"hi\\\"\"\n" },
	{ "example.test", "SOA", "example.test. 300 IN SOA ns1.example.test. "
	    "hostmaster.example.test. 2026112701 3600 600 86400 60\n" },
	{ "_sip._tcp.example.test", "SRV", "_sip._tcp.example.test. 300 IN "
	    "SRV 10 60 5060 sip.example.test.\n" },
	{ "10.example.test", "PTR",
	    "10.example.test. 300 IN PTR host.example.test.\n" },
	{ "example.test", "CAA",
	    "example.test. 300 IN CAA 0 issue \"letsencrypt.org\"\n" },
	{ "odd.example.test", "TYPE65280",
	    "odd.example.test. 300 IN TYPE65280 \\# 3 abcdef\n" },
	{ "odd.example.test", "65280",
	    "odd.example.test. 300 IN TYPE65280 \\# 3 abcdef\n" },
	/* A CNAME answers a question for another type too. */
	{ "alias.example.test", "A",
	    "alias.example.test. 300 IN CNAME www.example.test.\n"
	    "www.example.test. 300 IN A 192.0.2.10\n"
	    "www.example.test. 300 IN A 192.0.2.11\n" },
};

START_TEST(test_dns_knot_every_type)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;

	ck = knot_check("query = \"%s\"; record = \"%s\";",
	    type_cases[_i].query, type_cases[_i].record);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_str_eq(o.result.dns.text, type_cases[_i].text);
	ck_assert(o.result.dns.answered);
	ck_assert(o.result.dns.authoritative);
	ck_assert(!o.result.dns.truncated);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_REQUEST], 0);
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_RESOLVE], -1);
}
END_TEST

/* Same answers over TCP. */
START_TEST(test_dns_knot_tcp)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;

	ck = knot_check("query = \"example.test\"; record = \"MX\"; "
	    "transport = \"tcp\"; expect = { min_answers = 2; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_uint_eq(o.result.dns.answers, 2);
}
END_TEST

START_TEST(test_dns_knot_nxdomain)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[160];

	ck = knot_check("query = \"nope.example.test\";");
	run_check(ck, &o);
	snprintf(want, sizeof(want), "nope.example.test. A: NXDOMAIN from "
	    "127.0.0.1:%d, expected NOERROR", knot_port);
	assert_result(&o, PROBE_DNS_NXDOMAIN, want);
	ck_assert_uint_eq(o.result.dns.rcode, 3);
	/* A check may expect it; the zone's SOA is in the authority. */
	ck = knot_check("query = \"nope.example.test\"; expect = { rcode = "
	    "\"NXDOMAIN\"; authority = \"IN SOA ns1\\\\.example\\\\.test\\\\. "
	    "\"; max_answers = 0; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_uint_eq(o.result.dns.authority, 1);
}
END_TEST

/* The delegation: a referral with the child's NS and glue, no AA. */
START_TEST(test_dns_knot_delegation)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[200];

	ck = knot_check("query = \"www.sub.example.test\"; recursion = false; "
	    "expect = { authoritative = false; max_answers = 0; "
	    "authority = \"IN NS ns\\\\.sub\\\\.\"; "
	    "additional = \"^192\\\\.0\\\\.2\\\\.53$\"; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert(!o.result.dns.authoritative);
	ck_assert_uint_eq(o.result.dns.authority, 1);
	ck_assert_uint_eq(o.result.dns.additional, 1);
	ck = knot_check("query = \"www.sub.example.test\"; "
	    "expect = { authoritative = true; };");
	run_check(ck, &o);
	snprintf(want, sizeof(want), "www.sub.example.test. A: answer from "
	    "127.0.0.1:%d is not authoritative (AA=0), expected "
	    "authoritative", knot_port);
	assert_result(&o, PROBE_DNS_ANSWER_MISMATCH, want);
	ck = knot_check("query = \"www.sub.example.test\"; "
	    "expect = { additional = \"^10\\\\.\"; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_DNS_ANSWER_MISMATCH, "www.sub.example.test. "
	    "A: no additional record matches /^10\\./; got "
	    "\"ns.sub.example.test. 300 IN A 192.0.2.53\"");
}
END_TEST

/* Each expectation's miss, and the message quoting what came. */
static const struct {
	const char	*keys;
	const char	*want;
} mismatch_cases[] = {
	{ "query = \"example.test\"; record = \"MX\"; expect = { "
	    "answers_include = [\"10 mail.example.test.\", "
	    "\"30 mx3.example.test.\"]; };",
	    "example.test. MX: no \"30 mx3.example.test.\" in the answer; got "
	    "\"example.test. 300 IN MX 10 mail.example.test.\", "
	    "\"example.test. "
	    "300 IN MX 20 mx2.example.test.\"" },
	{ "query = \"www.example.test\"; expect = { answer = "
	    "\"^192\\\\.0\\\\.2\\\\.10$\"; answer_match = \"all\"; };",
	    "www.example.test. A: answer \"www.example.test. 300 IN A "
	    "192.0.2.11\" does not match /^192\\.0\\.2\\.10$/" },
	{ "query = \"www.example.test\"; expect = { answer = "
	    "\"\\\\.11$\"; answer_match = \"none\"; };",
	    "www.example.test. A: answer \"www.example.test. 300 IN A "
	    "192.0.2.11\" matches /\\.11$/" },
	{ "query = \"www.example.test\"; expect = { answer = [\"\\\\.10$\", "
	    "\"\\\\.12$\"]; };",
	    "www.example.test. A: no answer matches /\\.12$/; got "
	    "\"www.example.test. 300 IN A 192.0.2.10\", \"www.example.test. "
	    "300 IN A 192.0.2.11\"" },
	{ "query = \"www.example.test\"; expect = { min_answers = 3; };",
	    "www.example.test. A: 2 answer records, expected at least 3; got "
	    "\"www.example.test. 300 IN A 192.0.2.10\", \"www.example.test. "
	    "300 IN A 192.0.2.11\"" },
	{ "query = \"www.example.test\"; expect = { max_answers = 1; };",
	    "www.example.test. A: 2 answer records, expected at most 1; got "
	    "\"www.example.test. 300 IN A 192.0.2.10\", \"www.example.test. "
	    "300 IN A 192.0.2.11\"" },
	{ "query = \"example.test\"; record = \"SOA\"; expect = { "
	    "serial_min = 2026120100; };",
	    "example.test. SOA: SOA serial 2026112701 is below serial_min "
	    "2026120100" },
	{ "query = \"www.example.test\"; expect = { serial_min = 1; };",
	    "www.example.test. A: no SOA record in the answer to check "
	    "serial_min 1; got \"www.example.test. 300 IN A 192.0.2.10\", "
	    "\"www.example.test. 300 IN A 192.0.2.11\"" },
	{ "query = \"www.example.test\"; record = \"MX\"; expect = { "
	    "min_answers = 1; };",
	    "www.example.test. MX: 0 answer records, expected at least 1; "
	    "no answer records" },
	{ "query = \"www.example.test\"; expect = { rcode = \"NXDOMAIN\"; };",
	    "www.example.test. A: NOERROR from 127.0.0.1:PORT, expected "
	    "NXDOMAIN" },
};

START_TEST(test_dns_knot_mismatch)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[512], port[8];
	const char		*at;

	ck = knot_check("%s", mismatch_cases[_i].keys);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "%s", mismatch_cases[_i].want);
	if ((at = strstr(mismatch_cases[_i].want, "PORT")) != NULL) {
		snprintf(port, sizeof(port), "%d", knot_port);
		snprintf(want + (at - mismatch_cases[_i].want), sizeof(want) -
		    (size_t)(at - mismatch_cases[_i].want), "%s%s", port,
		    at + 4);
	}
	assert_result(&o, PROBE_DNS_ANSWER_MISMATCH, want);
}
END_TEST

/* Regexes match the RDATA or the whole line; passing forms. */
START_TEST(test_dns_knot_expect_pass)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	double			 v;

	ck = knot_check("query = \"example.test\"; record = \"MX\"; expect = {"
	    " answers_include = [\"20 MX2.example.test.\"]; answer = "
	    "[\"^10 mail\\\\.\", \"IN MX 20 \"]; authoritative = true; "
	    "min_answers = 2; max_answers = 2; additional = \"192\\\\.0\\\\.2"
	    "\\\\.26\"; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck = knot_check("query = \"example.test\"; record = \"SOA\"; expect = {"
	    " serial_min = 2026112701; answer = \"^ns1\\\\.\"; "
	    "answer_match = \"all\"; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_int_eq(probe_result_metric(ck, &o.result, "dns.serial", &v),
	    0);
	ck_assert(v == 2026112701.0);
}
END_TEST

/* The JSON record and the rule metrics. */
START_TEST(test_dns_knot_json_and_metrics)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	json_t			*root, *dns;
	json_error_t		 jerr;
	double			 v;
	char			*s;

	ck = knot_check("query = \"example.test\"; record = \"MX\";");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	s = result_json(ck, &o.result);
	ck_assert_ptr_nonnull(s);
	root = json_loads(s, 0, &jerr);
	ck_assert_ptr_nonnull(root);
	dns = json_object_get(root, "dns");
	ck_assert_ptr_nonnull(dns);
	ck_assert_str_eq(json_string_value(json_object_get(dns, "rcode")),
	    "NOERROR");
	ck_assert(json_is_true(json_object_get(dns, "authoritative")));
	ck_assert(json_is_false(json_object_get(dns, "truncated")));
	ck_assert_uint_eq(json_array_size(json_object_get(dns, "answers")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(dns,
	    "answers"), 1)), "example.test. 300 IN MX 20 mx2.example.test.");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(root, "phases"),
	    "request"));
	json_decref(root);
	free(s);
	ck_assert_int_eq(probe_result_metric(ck, &o.result, "dns.answers", &v),
	    0);
	ck_assert(v == 2.0);
	ck_assert_int_eq(probe_result_metric(ck, &o.result, "dns.rcode", &v),
	    0);
	ck_assert(v == 0.0);
	ck_assert(probe_metric_known(&dns_probe_ops, "dns.additional"));
	ck_assert_int_eq(probe_result_metric(ck, &o.result, "dns.serial", &v),
	    -1);
	ck_assert(!probe_metric_known(&dns_probe_ops, "dns.nope"));
}
END_TEST

/* 40 records: all counted and judged, the text cut and flagged. */
START_TEST(test_dns_knot_text_cut)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			*s;

	ck = knot_check("query = \"many.example.test\"; expect = { "
	    "min_answers = 40; answers_include = \"192.0.2.40\"; };");
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_uint_eq(o.result.dns.answers, 40);
	ck_assert(o.result.dns.text_cut);
	ck_assert_ptr_nonnull(strstr(o.result.dns.text,
	    "many.example.test. 300 IN A 192.0.2.1\n"));
	ck_assert_ptr_null(strstr(o.result.dns.text, "192.0.2.40"));
	s = result_json(ck, &o.result);
	ck_assert_ptr_nonnull(strstr(s, "\"answers_cut\":true"));
	free(s);
}
END_TEST

/* Many runs on one cached channel, then resolver_free() empties it. */
START_TEST(test_dns_knot_channel_reuse)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	int			 i;

	ck = knot_check("query = \"www.example.test\";");
	for (i = 0; i < 50; i++) {
		run_check(ck, &o);
		assert_result(&o, PROBE_OK, "");
	}
}
END_TEST

/* A dead first server: c-ares moves on to the next, and the probe passes. */
START_TEST(test_dns_knot_second_server)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;

	ck = check_of("server = [\"127.0.0.1:%d\", \"127.0.0.1:%d\"]; "
	    "query = \"www.example.test\";", free_port(), knot_port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_uint_eq(o.result.dns.answers, 2);
}
END_TEST

/* A server given by name: a resolve phase, then the query. */
START_TEST(test_dns_knot_server_by_name)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 spec[64];

	snprintf(spec, sizeof(spec), "localhost:%d", knot_port);
	ck = check_of("server = [\"%s\"]; query = \"www.example.test\";",
	    spec);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_RESOLVE], 0);
	ck_assert_int_ge(o.result.phase[PROBE_PHASE_REQUEST], 0);
}
END_TEST

/* ---- the hostile responder ----------------------------------------------- */

START_TEST(test_dns_servfail_refused)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 want[160];

	evil_start(&e, lp, EVIL_SERVFAIL);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "www.example.test. A: SERVFAIL from "
	    "127.0.0.1:%d, expected NOERROR", e.port);
	assert_result(&o, PROBE_DNS_SERVFAIL, want);
	ck_assert_int_eq(e.udp_queries, 1);	/* not retried */
	e.mode = EVIL_REFUSED;
	run_check(ck, &o);
	snprintf(want, sizeof(want), "www.example.test. A: REFUSED from "
	    "127.0.0.1:%d, expected NOERROR", e.port);
	assert_result(&o, PROBE_DNS_REFUSED, want);
	evil_stop(&e);
}
END_TEST

/* recursion = false clears RD (RFC 1035 §4.1.1); the default sets it. */
START_TEST(test_dns_recursion_flag)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;

	evil_start(&e, lp, EVIL_REFUSED);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\"; recursion = false;", e.port);
	run_check(ck, &o);
	ck_assert_int_eq(o.result.status, PROBE_DNS_REFUSED);
	ck_assert_int_eq(e.rd, 0);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	ck_assert_int_eq(e.rd, 1);
	evil_stop(&e);
}
END_TEST

START_TEST(test_dns_truncated_then_tcp)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;

	evil_start(&e, lp, EVIL_TRUNCATE);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	assert_result(&o, PROBE_OK, "");
	ck_assert(o.result.dns.truncated);
	ck_assert_str_eq(o.result.dns.text,
	    "www.example.test. 60 IN A 192.0.2.1\n");
	ck_assert_int_eq(e.udp_queries, 1);
	ck_assert_int_eq(e.tcp_queries, 1);
	evil_stop(&e);
}
END_TEST

/* Truncated over UDP, then silence over TCP: the timeout names TCP. */
START_TEST(test_dns_truncated_then_tcp_silent)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 want[160];

	evil_start(&e, lp, EVIL_TRUNCATE_MUTE);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "www.example.test. A: no answer from "
	    "127.0.0.1:%d over TCP in 2 tries (900ms)", e.port);
	assert_result(&o, PROBE_DNS_TIMEOUT, want);
	ck_assert(o.result.dns.truncated);
	ck_assert(!o.result.dns.answered);
	ck_assert_int_ge(e.tcp_queries, 1);
	evil_stop(&e);
}
END_TEST

/*
 * The server is a name, and the resolver's DNS never answers: the probe's
 * deadline ends the resolve phase (the resolver's own tries take longer).
 */
START_TEST(test_dns_server_name_unresolved)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 servers[32], err[128];

	evil_start(&e, lp, EVIL_SILENT);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", e.port);
	resolver_free(rs);
	rs = resolver_new(lp, servers, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
	ck = check_of("server = \"ns1.example.test\"; "
	    "query = \"www.example.test\";");
	run_check(ck, &o);
	assert_result(&o, PROBE_RESOLVE_FAILED, "resolve DNS server "
	    "ns1.example.test: no answer within 1s");
	ck_assert_int_eq(o.result.phase[PROBE_PHASE_REQUEST], -1);
	evil_stop(&e);
}
END_TEST

START_TEST(test_dns_wrong_id)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 want[80];

	evil_start(&e, lp, EVIL_WRONG_ID);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	ck_assert_msg(o.result.status == PROBE_DNS_BAD_RESPONSE, "%s: %s",
	    probe_status_str(o.result.status), o.result.message);
	snprintf(want, sizeof(want), "127.0.0.1:%d answered with transaction "
	    "ID ", e.port);
	ck_assert_msg(strncmp(o.result.message, want, strlen(want)) == 0,
	    "%s", o.result.message);
	ck_assert_msg(strstr(o.result.message, ", the query had ") != NULL &&
	    strstr(o.result.message, "(RFC 5452: answer dropped)") != NULL,
	    "%s", o.result.message);
	evil_stop(&e);
}
END_TEST

START_TEST(test_dns_malformed_and_runt)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 want[160];

	evil_start(&e, lp, EVIL_MALFORMED);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "malformed answer from 127.0.0.1:%d: "
	    "answer record at offset 34: 4 bytes of RDATA, 0 left in the "
	    "message", e.port);
	assert_result(&o, PROBE_DNS_BAD_RESPONSE, want);
	ck_assert(!o.result.dns.answered);
	e.mode = EVIL_RUNT;
	run_check(ck, &o);
	snprintf(want, sizeof(want), "127.0.0.1:%d sent a 5-byte reply, too "
	    "short for a DNS header", e.port);
	assert_result(&o, PROBE_DNS_BAD_RESPONSE, want);
	evil_stop(&e);
}
END_TEST

START_TEST(test_dns_silence)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	struct evil		 e;
	char			 want[160];

	evil_start(&e, lp, EVIL_SILENT);
	ck = check_of("server = \"127.0.0.1:%d\"; "
	    "query = \"www.example.test\";", e.port);
	run_check(ck, &o);
	/* 1s timeout, 2 tries: c-ares waits 300ms, then 600ms. */
	snprintf(want, sizeof(want), "www.example.test. A: no answer from "
	    "127.0.0.1:%d over UDP in 2 tries (900ms)", e.port);
	assert_result(&o, PROBE_DNS_TIMEOUT, want);
	ck_assert_int_eq(e.udp_queries, 2);
	ck_assert(o.result.duration >= 850000 && o.result.duration < 1000000);
	evil_stop(&e);
}
END_TEST

START_TEST(test_dns_refused_port)
{
	const struct check_conf	*ck;
	struct testutil_outcome	 o;
	char			 want[160];
	int			 port = free_port();

	ck = check_of("server = \"127.0.0.1:%d\"; query = \"www.example.test\";"
	    " transport = \"tcp\";", port);
	run_check(ck, &o);
	snprintf(want, sizeof(want), "www.example.test. A: 127.0.0.1:%d "
	    "refused the TCP query (nothing listening)", port);
	assert_result(&o, PROBE_CONNECT_REFUSED, want);
}
END_TEST

/* ---- config -------------------------------------------------------------- */

static const struct {
	const char	*keys;
	const char	*want;
} conf_cases[] = {
	{ "", "sonde.conf:2: check is missing required key 'query'" },
	{ "query = \"a.test\"; record = \"MXX\";", "sonde.conf:4: 'record' "
	    "\"MXX\" is not a record type (A, AAAA, MX, ..., TYPE<n> or a "
	    "number)" },
	{ "query = \"a.test\"; record = \"OPT\";", "sonde.conf:4: 'record' "
	    "\"OPT\" is not a record type (A, AAAA, MX, ..., TYPE<n> or a "
	    "number)" },
	{ "query = \"a.test\"; server = \"1.2.3.4:99999\";", "sonde.conf:4: "
	    "'server' \"1.2.3.4:99999\" is not host, host:port, ip, ip:port "
	    "or [ipv6]:port" },
	{ "query = \"a.test\"; server = [];", "sonde.conf:4: 'server' must "
	    "have 1 to 4 entries, got 0" },
	{ "query = \"a.test\"; server = 53;", "sonde.conf:4: 'server' must be "
	    "a string or a list of strings, got an integer" },
	{ "query = \"a.test\"; transport = \"quic\";", NULL },
	{ "query = \"a.test\"; tries = 9;", NULL },
	{ "query = \"a.test\"; expect = { rcode = \"OOPS\"; };",
	    "sonde.conf:4: 'rcode' \"OOPS\" is not an rcode (NOERROR, "
	    "NXDOMAIN, SERVFAIL, REFUSED, ... or RCODE<n>)" },
	{ "query = \"a.test\"; expect = { answer = \"(\"; };", NULL },
	{ "query = \"a.test\"; expect = { min_answers = 3; max_answers = 1; };",
	    "sonde.conf:4: 'min_answers' 3 is above 'max_answers' 1" },
	{ "query = \"a.test\"; expect = { answer_match = \"most\"; };", NULL },
	{ "query = \"a.test\"; expect = { answers = 1; };", NULL },
	{ "query = \"a.test\"; expect = { answers_include = [\"\"]; };",
	    "sonde.conf:4: 'answers_include' entries must not be empty" },
	{ "query = \"a..test\";", "sonde.conf:4: 'query' \"a..test\" is not a "
	    "domain name (Misformatted domain name)" },
};

START_TEST(test_dns_conf_errors)
{
	char	*errs;

	errs = load("\n    %s", conf_cases[_i].keys);
	ck_assert_ptr_null(cfg);
	if (conf_cases[_i].want != NULL)
		ck_assert_str_eq(errs, conf_cases[_i].want);
	else
		ck_assert_msg(strncmp(errs, "sonde.conf:4: ", 14) == 0, "%s",
		    errs);
	free(errs);
}
END_TEST

START_TEST(test_dns_conf_targets)
{
	const struct check_conf	*ck;

	ck = check_of("query = \"example.test\"; record = \"mx\";");
	ck_assert_str_eq(ck->target, "example.test. MX @system");
	ck = check_of("query = \"example.test.\"; record = \"257\"; server = "
	    "[\"192.0.2.53\", \"[2001:db8::53]:5353\", \"ns1.example\"];");
	ck_assert_str_eq(ck->target, "example.test. CAA @192.0.2.53,"
	    "[2001:db8::53]:5353,ns1.example");
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite	*s = suite_create("dns");
	TCase	*tc;

	tc = tcase_create("knot");
	tcase_add_unchecked_fixture(tc, knot_start, knot_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_dns_knot_every_type, 0,
	    sizeof(type_cases) / sizeof(type_cases[0]));
	tcase_add_test(tc, test_dns_knot_tcp);
	tcase_add_test(tc, test_dns_knot_nxdomain);
	tcase_add_test(tc, test_dns_knot_delegation);
	tcase_add_loop_test(tc, test_dns_knot_mismatch, 0,
	    sizeof(mismatch_cases) / sizeof(mismatch_cases[0]));
	tcase_add_test(tc, test_dns_knot_expect_pass);
	tcase_add_test(tc, test_dns_knot_json_and_metrics);
	tcase_add_test(tc, test_dns_knot_text_cut);
	tcase_add_test(tc, test_dns_knot_channel_reuse);
	tcase_add_test(tc, test_dns_knot_second_server);
	tcase_add_test(tc, test_dns_knot_server_by_name);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dns_servfail_refused);
	tcase_add_test(tc, test_dns_recursion_flag);
	tcase_add_test(tc, test_dns_truncated_then_tcp);
	tcase_add_test(tc, test_dns_truncated_then_tcp_silent);
	tcase_add_test(tc, test_dns_server_name_unresolved);
	tcase_add_test(tc, test_dns_wrong_id);
	tcase_add_test(tc, test_dns_malformed_and_runt);
	tcase_add_test(tc, test_dns_silence);
	tcase_add_test(tc, test_dns_refused_port);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_dns_conf_errors, 0,
	    sizeof(conf_cases) / sizeof(conf_cases[0]));
	tcase_add_test(tc, test_dns_conf_targets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dns_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
