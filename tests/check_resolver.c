/* SPDX-License-Identifier: ISC */
/*
 * Tests for resolver: address literals (answered without DNS, but never
 * inside resolver_lookup()), the family policy, /etc/hosts, and DNS
 * outcomes against a fake DNS server on 127.0.0.1 run by the test's own
 * loop (NXDOMAIN, NODATA, AAAA-only, SERVFAIL, silence); cancel and free
 * with lookups pending run no callback and leak nothing (ASan).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "loop.h"
#include "resolver.h"
#include "testutil.h"

/* ---- a fake DNS server on the test's loop ----------------------------- */

enum fakedns_mode {
	FAKEDNS_NXDOMAIN,	/* RCODE 3 */
	FAKEDNS_NODATA,		/* NOERROR, no answer */
	FAKEDNS_AAAA_ONLY,	/* A: NODATA; AAAA: 2001:db8::7 */
	FAKEDNS_SERVFAIL,	/* RCODE 2 */
	FAKEDNS_SILENT		/* never answers */
};

struct fakedns {
	int			 fd;
	int			 port;
	enum fakedns_mode	 mode;
	int			 queries;
	int			 qtypes[16];
};

/* Returns the offset just past the question, or 0 if malformed. */
static size_t
fakedns_question_end(const unsigned char *q, size_t len)
{
	size_t	o = 12;

	while (o < len && q[o] != 0)
		o += (size_t)q[o] + 1;
	o += 1 + 4;
	return o <= len ? o : 0;
}

static size_t
fakedns_answer(struct fakedns *d, unsigned char *buf, size_t qend, int qtype)
{
	static const unsigned char	aaaa[] = {
		0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c,
		0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0x07
	};
	int				rcode = 0;

	if (d->mode == FAKEDNS_NXDOMAIN)
		rcode = 3;
	else if (d->mode == FAKEDNS_SERVFAIL)
		rcode = 2;
	buf[2] = 0x80 | 0x04 | (buf[2] & 0x01);	/* QR, AA, RD as asked */
	buf[3] = 0x80 | rcode;			/* RA */
	memset(buf + 6, 0, 6);			/* AN, NS, AR counts */
	if (d->mode == FAKEDNS_AAAA_ONLY && qtype == 28) {
		buf[7] = 1;
		memcpy(buf + qend, aaaa, sizeof(aaaa));
		return qend + sizeof(aaaa);
	}
	return qend;
}

static void
fakedns_read(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fakedns		*d = arg;
	struct sockaddr_storage	 peer;
	socklen_t		 plen = sizeof(peer);
	unsigned char		 buf[1024];
	ssize_t			 n;
	size_t			 qend, len;
	int			 qtype;

	n = recvfrom(fd, buf, 512, 0, (struct sockaddr *)&peer, &plen);
	if (n < 12 || (qend = fakedns_question_end(buf, (size_t)n)) == 0)
		return;
	qtype = buf[qend - 4] << 8 | buf[qend - 3];
	if (d->queries < 16)
		d->qtypes[d->queries] = qtype;
	d->queries++;
	if (d->mode == FAKEDNS_SILENT)
		return;
	len = fakedns_answer(d, buf, qend, qtype);
	sendto(fd, buf, len, 0, (struct sockaddr *)&peer, plen);
}

static void
fakedns_start(struct loop *loop, struct fakedns *d, enum fakedns_mode mode)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(d, 0, sizeof(*d));
	d->mode = mode;
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

static void
fakedns_stop(struct loop *loop, struct fakedns *d)
{
	loop_fd_del(loop, d->fd);
	close(d->fd);
}

/* ---- fixture ---------------------------------------------------------- */

struct answer {
	bool			 called;
	int			 calls;
	bool			 in_lookup;	/* called inside lookup() */
	struct resolver_answer	 ans;
};

static struct loop	*lp;
static struct resolver	*rs;
static struct fakedns	 dns;
static bool		 looking_up;

static void
setup(void)
{
	lp = loop_new();
	rs = NULL;
	looking_up = false;
}

static void
teardown(void)
{
	resolver_free(rs);
	loop_free(lp);
}

static void
on_answer(const struct resolver_answer *ans, void *arg)
{
	struct answer	*a = arg;

	a->called = true;
	a->calls++;
	a->in_lookup = looking_up;
	a->ans = *ans;
}

static struct resolver_query *
lookup(const char *host, int family, struct answer *a)
{
	struct resolver_query	*q;

	memset(a, 0, sizeof(*a));
	looking_up = true;
	q = resolver_lookup(rs, host, family, on_answer, a);
	looking_up = false;
	ck_assert_ptr_nonnull(q);
	ck_assert(!a->called);
	return q;
}

/* A resolver whose only DNS server is the fake one. */
static void
use_fake_dns(enum fakedns_mode mode, int timeout_ms)
{
	char	servers[64], err[128];

	fakedns_start(lp, &dns, mode);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", dns.port);
	rs = resolver_new_tuned(lp, servers, timeout_ms, 1, err, sizeof(err));
	ck_assert_msg(rs != NULL, "resolver_new: %s", err);
}

static void
use_system(void)
{
	char	err[128];

	rs = resolver_new(lp, NULL, err, sizeof(err));
	ck_assert_msg(rs != NULL, "resolver_new: %s", err);
}

static void
assert_addr(const struct sockaddr_storage *ss, const char *want)
{
	char	buf[128];

	ck_assert_str_eq(resolver_addr_str(ss, buf, sizeof(buf)), want);
}

/* ---- literals and helpers --------------------------------------------- */

static void
assert_v4(const char *ip, unsigned port, size_t buflen, const char *want)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	char			 buf[64];

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(resolver_addr_str(&ss, buf, buflen), want);
}

/* IPv4 is formatted by hand: every digit count, the port, snprintf's cut. */
START_TEST(test_resolver_addr_str_ipv4)
{
	assert_v4("0.0.0.0", 0, 64, "0.0.0.0:0");
	assert_v4("255.255.255.255", 65535, 64, "255.255.255.255:65535");
	assert_v4("10.0.100.9", 8080, 64, "10.0.100.9:8080");
	assert_v4("127.0.0.1", 80, 64, "127.0.0.1:80");
	assert_v4("192.168.1.20", 443, 64, "192.168.1.20:443");
	assert_v4("10.0.100.9", 8080, 8, "10.0.10");
	assert_v4("10.0.100.9", 8080, 1, "");
	assert_v4("255.255.255.255", 65535, 22, "255.255.255.255:65535");
	assert_v4("255.255.255.255", 65535, 21, "255.255.255.255:6553");
}
END_TEST

START_TEST(test_resolver_literal_parse)
{
	struct sockaddr_storage	ss;

	ck_assert_int_eq(resolver_literal("192.0.2.1", &ss), AF_INET);
	assert_addr(&ss, "192.0.2.1:0");
	ck_assert_int_eq(resolver_literal("2001:db8::1", &ss), AF_INET6);
	assert_addr(&ss, "[2001:db8::1]:0");
	ck_assert_int_eq(resolver_literal("[::1]", &ss), AF_INET6);
	assert_addr(&ss, "[::1]:0");
	ck_assert_int_eq(resolver_literal("fe80::1%7", &ss), AF_INET6);
	ck_assert_uint_eq(((struct sockaddr_in6 *)&ss)->sin6_scope_id, 7);
	ck_assert_int_eq(resolver_literal("db.internal", &ss), AF_UNSPEC);
	ck_assert_int_eq(resolver_literal("db:5432", &ss), AF_UNSPEC);
	ck_assert_int_eq(resolver_literal("[192.0.2.1]", &ss), AF_UNSPEC);
	ck_assert_int_eq(resolver_literal("10.1", &ss), AF_UNSPEC);
	ck_assert_int_eq(resolver_literal("", &ss), AF_UNSPEC);
	ck_assert_int_eq(resolver_literal("[]", &ss), AF_UNSPEC);
	ck_assert_int_eq(ss.ss_family, AF_UNSPEC);
}
END_TEST

START_TEST(test_resolver_literal_v4_async)
{
	struct answer	a;

	use_system();
	lookup("192.0.2.1", AF_UNSPEC, &a);
	ck_assert(testutil_run_until(lp, &a.called, 2000));
	ck_assert(!a.in_lookup);
	ck_assert_int_eq(a.ans.status, RESOLVER_OK);
	ck_assert_uint_eq(a.ans.naddrs, 1);
	assert_addr(&a.ans.addrs[0], "192.0.2.1:0");
}
END_TEST

START_TEST(test_resolver_literal_v6)
{
	struct answer	a, b;

	use_system();
	lookup("2001:db8::1", AF_INET6, &a);
	lookup("[2001:db8::2]", AF_UNSPEC, &b);
	ck_assert(testutil_run_until(lp, &b.called, 2000));
	ck_assert(a.called);
	ck_assert_int_eq(a.ans.status, RESOLVER_OK);
	assert_addr(&a.ans.addrs[0], "[2001:db8::1]:0");
	ck_assert_int_eq(b.ans.status, RESOLVER_OK);
	assert_addr(&b.ans.addrs[0], "[2001:db8::2]:0");
}
END_TEST

START_TEST(test_resolver_literal_family_mismatch)
{
	struct answer	a, b;

	use_system();
	lookup("127.0.0.1", AF_INET6, &a);
	lookup("::1", AF_INET, &b);
	ck_assert(testutil_run_until(lp, &b.called, 2000));
	ck_assert_int_eq(a.ans.status, RESOLVER_NO_ADDRESS);
	ck_assert_uint_eq(a.ans.naddrs, 0);
	ck_assert_str_eq(a.ans.error, "IPv4 literal where IPv6 is required");
	ck_assert_int_eq(b.ans.status, RESOLVER_NO_ADDRESS);
	ck_assert_str_eq(b.ans.error, "IPv6 literal where IPv4 is required");
}
END_TEST

START_TEST(test_resolver_bad_family)
{
	struct answer	a;

	use_system();
	lookup("localhost", AF_UNIX, &a);
	ck_assert(testutil_run_until(lp, &a.called, 2000));
	ck_assert_int_eq(a.ans.status, RESOLVER_FAILED);
}
END_TEST

/* ---- hosts file and DNS ----------------------------------------------- */

START_TEST(test_resolver_localhost)
{
	struct answer	a, b, c;

	use_system();
	lookup("localhost", AF_INET, &a);
	lookup("localhost", AF_UNSPEC, &b);	/* A first: IPv4 */
	lookup("LocalHost.", AF_INET6, &c);
	ck_assert(testutil_run_until(lp, &c.called, 2000));
	ck_assert(a.called && b.called);
	ck_assert(!a.in_lookup && !b.in_lookup && !c.in_lookup);
	ck_assert_int_eq(a.ans.status, RESOLVER_OK);
	assert_addr(&a.ans.addrs[0], "127.0.0.1:0");
	ck_assert_int_eq(b.ans.status, RESOLVER_OK);
	assert_addr(&b.ans.addrs[0], "127.0.0.1:0");
	ck_assert_int_eq(c.ans.status, RESOLVER_OK);
	assert_addr(&c.ans.addrs[0], "[::1]:0");
}
END_TEST

/* Finds an IPv4 line of /etc/hosts other than localhost: "addr name". */
static bool
hosts_entry(char *addr, size_t addrlen, char *name, size_t namelen)
{
	struct sockaddr_storage	 ss;
	char			 line[512], a[64], n[256];
	FILE			*f;
	bool			 found = false;

	if ((f = fopen("/etc/hosts", "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %255s", a, n) != 2 || a[0] == '#' ||
		    strchr(n, '#') != NULL || strcasecmp(n, "localhost") == 0)
			continue;
		if (resolver_literal(a, &ss) != AF_INET ||
		    resolver_literal(n, &ss) != AF_UNSPEC)
			continue;
		snprintf(addr, addrlen, "%s:0", a);
		snprintf(name, namelen, "%s", n);
		found = true;
	}
	fclose(f);
	return found;
}

START_TEST(test_resolver_hosts_file_before_dns)
{
	struct answer	a;
	char		addr[80], name[256];

	if (!hosts_entry(addr, sizeof(addr), name, sizeof(name)))
		return;		/* nothing to look up on this host */
	use_fake_dns(FAKEDNS_NXDOMAIN, 1000);
	lookup(name, AF_INET, &a);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert(!a.in_lookup);
	ck_assert_int_eq(a.ans.status, RESOLVER_OK);
	assert_addr(&a.ans.addrs[0], addr);
	ck_assert_int_eq(dns.queries, 0);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_nxdomain)
{
	struct answer	a;

	use_fake_dns(FAKEDNS_NXDOMAIN, 1000);
	lookup("nonexistent.example", AF_UNSPEC, &a);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert_int_eq(a.ans.status, RESOLVER_NOT_FOUND);
	ck_assert_str_eq(a.ans.error, "no such host");
	/* The name does not exist: no AAAA question after the A one. */
	ck_assert_int_ge(dns.queries, 1);
	ck_assert_int_eq(dns.qtypes[0], 1);
	ck_assert_int_eq(dns.qtypes[dns.queries - 1], 1);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_nodata_per_family)
{
	struct answer	a, b, c;

	use_fake_dns(FAKEDNS_NODATA, 1000);
	lookup("empty.example", AF_INET, &a);
	lookup("empty.example", AF_INET6, &b);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert(testutil_run_until(lp, &b.called, 3000));
	ck_assert_int_eq(a.ans.status, RESOLVER_NO_ADDRESS);
	ck_assert_str_eq(a.ans.error, "no IPv4 address (A)");
	ck_assert_int_eq(b.ans.status, RESOLVER_NO_ADDRESS);
	ck_assert_str_eq(b.ans.error, "no IPv6 address (AAAA)");
	dns.queries = 0;
	lookup("empty.example", AF_UNSPEC, &c);
	ck_assert(testutil_run_until(lp, &c.called, 3000));
	ck_assert_int_eq(c.ans.status, RESOLVER_NO_ADDRESS);
	ck_assert_str_eq(c.ans.error, "no address (A or AAAA)");
	ck_assert_int_eq(dns.queries, 2);	/* A, then AAAA */
	ck_assert_int_eq(dns.qtypes[0], 1);
	ck_assert_int_eq(dns.qtypes[1], 28);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_unspec_falls_back_to_aaaa)
{
	struct answer	a, b;

	use_fake_dns(FAKEDNS_AAAA_ONLY, 1000);
	lookup("v6only.example", AF_UNSPEC, &a);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert(!a.in_lookup);
	ck_assert_int_eq(a.ans.status, RESOLVER_OK);
	ck_assert_uint_eq(a.ans.naddrs, 1);
	assert_addr(&a.ans.addrs[0], "[2001:db8::7]:0");
	ck_assert_int_eq(dns.qtypes[0], 1);
	ck_assert_int_eq(dns.qtypes[1], 28);
	/* Asked for IPv4 only, the AAAA record is not an answer. */
	lookup("v6only.example", AF_INET, &b);
	ck_assert(testutil_run_until(lp, &b.called, 3000));
	ck_assert_int_eq(b.ans.status, RESOLVER_NO_ADDRESS);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_servfail)
{
	struct answer	a;

	use_fake_dns(FAKEDNS_SERVFAIL, 1000);
	lookup("broken.example", AF_INET, &a);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert_int_eq(a.ans.status, RESOLVER_FAILED);
	ck_assert_str_eq(a.ans.error, "DNS server refused or failed the query");
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_timeout)
{
	struct answer	a;

	use_fake_dns(FAKEDNS_SILENT, 200);
	lookup("slow.example", AF_INET, &a);
	ck_assert(testutil_run_until(lp, &a.called, 3000));
	ck_assert_int_eq(a.ans.status, RESOLVER_FAILED);
	ck_assert_str_eq(a.ans.error, "DNS server did not answer");
	ck_assert_int_ge(dns.queries, 1);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_bad_servers)
{
	char	err[128];

	rs = resolver_new(lp, "not an address", err, sizeof(err));
	ck_assert_ptr_null(rs);
	ck_assert_msg(strstr(err, "not an address") != NULL, "%s", err);
}
END_TEST

/* ---- cancel and free -------------------------------------------------- */

START_TEST(test_resolver_cancel_no_callback)
{
	struct resolver_query	*q1, *q2;
	struct answer		 a, b, c;
	bool			 never = false;

	use_fake_dns(FAKEDNS_SILENT, 200);
	q1 = lookup("slow.example", AF_INET, &a);	/* inside c-ares */
	q2 = lookup("192.0.2.1", AF_INET, &b);		/* queued */
	lookup("192.0.2.2", AF_INET, &c);
	resolver_cancel(q1);
	resolver_cancel(q2);
	resolver_cancel(NULL);
	ck_assert(testutil_run_until(lp, &c.called, 2000));
	/* Past c-ares' own timeout: the detached query ends unseen. */
	testutil_run_until(lp, &never, 500);
	ck_assert(!a.called);
	ck_assert(!b.called);
	ck_assert_int_ge(dns.queries, 1);
	fakedns_stop(lp, &dns);
}
END_TEST

START_TEST(test_resolver_free_pending_no_callback)
{
	struct answer	a, b;
	bool		never = false;

	use_fake_dns(FAKEDNS_SILENT, 5000);
	lookup("slow.example", AF_UNSPEC, &a);
	lookup("192.0.2.1", AF_INET, &b);
	testutil_run_until(lp, &never, 50);	/* the query is sent */
	ck_assert(b.called);
	lookup("192.0.2.1", AF_INET, &b);
	resolver_free(rs);
	rs = NULL;
	testutil_run_until(lp, &never, 100);
	ck_assert(!a.called);
	ck_assert(!b.called);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
	fakedns_stop(lp, &dns);
}
END_TEST

static struct answer	freeing_b;

static void
on_answer_free(const struct resolver_answer *ans, void *arg)
{
	on_answer(ans, arg);
	resolver_free(rs);
	rs = NULL;
}

START_TEST(test_resolver_free_inside_callback)
{
	struct answer	a;
	bool		never = false;

	use_system();
	memset(&a, 0, sizeof(a));
	ck_assert_ptr_nonnull(resolver_lookup(rs, "192.0.2.1", AF_INET,
	    on_answer_free, &a));
	lookup("192.0.2.2", AF_INET, &freeing_b);
	ck_assert(testutil_run_until(lp, &a.called, 2000));
	testutil_run_until(lp, &never, 50);
	ck_assert_int_eq(a.calls, 1);
	ck_assert(!freeing_b.called);
	ck_assert_ptr_null(rs);
}
END_TEST

static struct answer	chained;

static void
on_answer_chain(const struct resolver_answer *ans, void *arg)
{
	on_answer(ans, arg);
	memset(&chained, 0, sizeof(chained));
	looking_up = true;
	resolver_lookup(rs, "192.0.2.9", AF_INET, on_answer, &chained);
	looking_up = false;
}

START_TEST(test_resolver_lookup_inside_callback)
{
	struct answer	a;

	use_system();
	memset(&a, 0, sizeof(a));
	resolver_lookup(rs, "192.0.2.1", AF_INET, on_answer_chain, &a);
	ck_assert(testutil_run_until(lp, &a.called, 2000));
	ck_assert(testutil_run_until(lp, &chained.called, 2000));
	ck_assert(!chained.in_lookup);
	assert_addr(&chained.ans.addrs[0], "192.0.2.9:0");
}
END_TEST

static Suite *
resolver_suite(void)
{
	Suite	*s = suite_create("resolver");
	TCase	*tc;

	tc = tcase_create("literals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_resolver_literal_parse);
	tcase_add_test(tc, test_resolver_addr_str_ipv4);
	tcase_add_test(tc, test_resolver_literal_v4_async);
	tcase_add_test(tc, test_resolver_literal_v6);
	tcase_add_test(tc, test_resolver_literal_family_mismatch);
	tcase_add_test(tc, test_resolver_bad_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_resolver_localhost);
	tcase_add_test(tc, test_resolver_hosts_file_before_dns);
	tcase_add_test(tc, test_resolver_nxdomain);
	tcase_add_test(tc, test_resolver_nodata_per_family);
	tcase_add_test(tc, test_resolver_unspec_falls_back_to_aaaa);
	tcase_add_test(tc, test_resolver_servfail);
	tcase_add_test(tc, test_resolver_timeout);
	tcase_add_test(tc, test_resolver_bad_servers);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_resolver_cancel_no_callback);
	tcase_add_test(tc, test_resolver_free_pending_no_callback);
	tcase_add_test(tc, test_resolver_free_inside_callback);
	tcase_add_test(tc, test_resolver_lookup_inside_callback);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(resolver_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
