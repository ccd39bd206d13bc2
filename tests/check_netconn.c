/* SPDX-License-Identifier: ISC */
/*
 * Tests for netconn, the connection under the tcp and tls kinds, driven
 * directly (no kind): a hand-made check and run on a real loop, against
 * listeners on 127.0.0.1 (an open port, a closed one, a full accept
 * queue) and a silent fake DNS server, all on the test's own loop.  The
 * 'host' key is read from libconfig text through confread.  Every test
 * checks that the sockets it made netconn open are closed at the end.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "loop.h"
#include "netconn.h"
#include "probe.h"
#include "resolver.h"
#include "testutil.h"
#include "xmalloc.h"

/* ---- fixture: a loop, a resolver, a check, a run ------------------------ */

static struct loop		*lp;
static struct resolver		*rs;
static struct check_conf	 ck;
static struct netconn_conf	 ncf;
static struct probe_run		 run;
static struct netconn		 nc;
static int			 dnsfd = -1;
static int			 fds_before;
static char			 name[] = "t";

/* What netconn told the "kind". */
static struct {
	bool		 called;
	int		 rc;
	int		 ncalls;
	bool		 io;
} seen;

static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
kind_connected(void *arg, int rc)
{
	ck_assert_ptr_eq(arg, &nc);
	seen.called = true;
	seen.rc = rc;
	seen.ncalls++;
}

static void
kind_io(void *arg, unsigned events)
{
	(void)arg;
	(void)events;
	seen.io = true;
}

static const struct netconn_ops kind_ops = {
	.token = "probe/test",
	.connected = kind_connected,
	.io = kind_io,
};

static void
setup(void)
{
	char	err[128];

	lp = loop_new();
	rs = resolver_new(lp, NULL, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
	memset(&ck, 0, sizeof(ck));
	memset(&ncf, 0, sizeof(ncf));
	memset(&seen, 0, sizeof(seen));
	ck.name = name;
	ck.timeout_ms = 300;
	ck.ip_family = AF_UNSPEC;
	dnsfd = -1;
	fds_before = count_fds();
}

static void
teardown(void)
{
	resolver_free(rs);
	if (dnsfd != -1) {
		loop_fd_del(lp, dnsfd);
		close(dnsfd);
	}
	loop_free(lp);
	netconn_conf_clear(&ncf);
	free(ck.target);
}

/* A conf as netconn_conf_host() + netconn_conf_port() would make it. */
static void
conf_of(const char *host, int port)
{
	struct sockaddr_storage	ss;

	ncf.host = xstrdup(host);
	ncf.family = (uint8_t)resolver_literal(host, &ss);
	memcpy(&ncf.addr, &ss, sizeof(ncf.addr));
	netconn_conf_port(&ncf, port, &ck);
}

static int
start(void)
{
	probe_run_init(&run, lp, rs, &ck);
	probe_result_init(&run.result);
	run.started = loop_time(lp);
	netconn_init(&nc, &run, &ncf, &kind_ops, &nc);
	return netconn_start(&nc);
}

/* Runs the loop until the kind is told, or timeout_ms of real time. */
static void
wait_connected(int timeout_ms)
{
	ck_assert_msg(testutil_run_until(lp, &seen.called, timeout_ms),
	    "netconn did not report within %d ms", timeout_ms);
	ck_assert_int_eq(seen.ncalls, 1);
}

static void
assert_released(void)
{
	ck_assert_int_eq(nc.fd, -1);
	ck_assert_ptr_null(nc.query);
	ck_assert_int_eq(count_fds(), fds_before);
}

/* ---- connect ------------------------------------------------------------ */

START_TEST(test_netconn_literal_connects_without_resolving)
{
	char	want[64];
	int	lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 8, &port);
	fds_before++;
	conf_of("127.0.0.1", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(ck.target, want);
	ck_assert_int_eq(start(), 0);
	ck_assert_int_eq(nc.state, NETCONN_CONNECTING);
	ck_assert(!seen.called);		/* never inside start */
	wait_connected(2000);
	ck_assert_int_eq(seen.rc, 0);
	ck_assert_int_eq(nc.state, NETCONN_CONNECTED);
	ck_assert_int_eq(run.result.status, PROBE_OK);
	ck_assert_int_eq(run.result.phase[PROBE_PHASE_RESOLVE], -1);
	ck_assert_int_ge(run.result.phase[PROBE_PHASE_CONNECT], 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(run.result.tcp.address, want);
	ck_assert_int_ge(nc.mark, run.started);
	/* Connected: the socket's readiness is the kind's now. */
	ck_assert_int_eq(netconn_watch(&nc, LOOP_WRITE), 0);
	loop_run_once(lp, 100000);
	ck_assert(seen.io);
	ck_assert(!netconn_expire(&nc));
	netconn_close(&nc);
	netconn_close(&nc);			/* idempotent */
	close(lfd);
	fds_before--;
	assert_released();
}
END_TEST

START_TEST(test_netconn_name_is_resolved_first)
{
	char	want[64];
	int	lfd, port;

	lfd = testutil_listen_tcp(AF_INET, 8, &port);
	fds_before++;
	/* "localhost" is answered by the resolver without DNS (RFC 6761). */
	conf_of("localhost", port);
	snprintf(want, sizeof(want), "localhost:%d", port);
	ck_assert_str_eq(ck.target, want);
	ck_assert_int_eq(ncf.family, AF_UNSPEC);
	ck_assert_int_eq(start(), 0);
	ck_assert_int_eq(nc.state, NETCONN_RESOLVING);
	ck_assert_ptr_nonnull(nc.query);
	wait_connected(2000);
	ck_assert_int_eq(seen.rc, 0);
	ck_assert_ptr_null(nc.query);
	ck_assert_int_ge(run.result.phase[PROBE_PHASE_RESOLVE], 0);
	ck_assert_int_ge(run.result.phase[PROBE_PHASE_CONNECT], 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(run.result.tcp.address, want);
	netconn_close(&nc);
	close(lfd);
	fds_before--;
	assert_released();
}
END_TEST

START_TEST(test_netconn_refused)
{
	char	want[80];
	int	port = testutil_closed_port();

	conf_of("127.0.0.1", port);
	/* Refused either at connect() (start fails) or by SO_ERROR. */
	if (start() == 0)
		wait_connected(2000);
	else
		seen.rc = -1;
	ck_assert_int_eq(seen.rc, -1);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: refused",
	    port);
	ck_assert_int_eq(run.result.status, PROBE_CONNECT_REFUSED);
	ck_assert_str_eq(run.result.message, want);
	ck_assert_int_ge(run.result.phase[PROBE_PHASE_CONNECT], 0);
	/* Failed: already closed before the kind was told. */
	assert_released();
	netconn_close(&nc);
	assert_released();
}
END_TEST

/* Fills a backlog-0 listener's accept queue: further SYNs are dropped. */
static int
listen_full(int fill[4], int *port)
{
	struct sockaddr_in	sin;
	int			lfd, i;

	lfd = testutil_listen_tcp(AF_INET, 0, port);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)*port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fill[i], 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100000);
	return lfd;
}

static void
unlisten(int lfd, int fill[4])
{
	int	i;

	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

START_TEST(test_netconn_timeout_full_accept_queue)
{
	char	want[80];
	int	lfd, port, fill[4];

	lfd = listen_full(fill, &port);
	fds_before = count_fds();
	conf_of("127.0.0.1", port);
	ck.timeout_ms = 1500;
	ck_assert_int_eq(start(), 0);
	/* Nothing answers: still connecting after a while. */
	ck_assert(!testutil_run_until(lp, &seen.called, 300));
	ck_assert_int_eq(nc.state, NETCONN_CONNECTING);
	ck_assert(netconn_expire(&nc));
	snprintf(want, sizeof(want),
	    "connect to 127.0.0.1:%d: no answer within 1.5s", port);
	ck_assert_int_eq(run.result.status, PROBE_CONNECT_TIMEOUT);
	ck_assert_str_eq(run.result.message, want);
	netconn_close(&nc);
	assert_released();
	ck_assert_int_eq(seen.ncalls, 0);
	unlisten(lfd, fill);
}
END_TEST

START_TEST(test_netconn_family_mismatch)
{
	conf_of("127.0.0.1", 1);
	ck.ip_family = AF_INET6;
	ck_assert_int_eq(start(), -1);
	ck_assert_int_eq(run.result.status, PROBE_RESOLVE_FAILED);
	ck_assert_str_eq(run.result.message,
	    "resolve 127.0.0.1: IPv4 literal where IPv6 is required");
	ck_assert_str_eq(run.result.tcp.address, "");
	ck_assert(!seen.called);
	assert_released();
}
END_TEST

START_TEST(test_netconn_no_resolver)
{
	conf_of("db.example", 5432);
	probe_run_init(&run, lp, NULL, &ck);
	probe_result_init(&run.result);
	netconn_init(&nc, &run, &ncf, &kind_ops, &nc);
	ck_assert_int_eq(netconn_start(&nc), -1);
	ck_assert_int_eq(run.result.status, PROBE_INTERNAL);
	ck_assert_str_eq(run.result.message,
	    "resolve db.example: no resolver");
	assert_released();
}
END_TEST

/* ---- resolve ------------------------------------------------------------ */

/* A UDP "DNS server" that never answers; the resolver asks only it. */
static void
use_silent_dns(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	char			servers[64], err[128];

	dnsfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(dnsfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(dnsfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(getsockname(dnsfd, (struct sockaddr *)&sin, &len),
	    0);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d",
	    ntohs(sin.sin_port));
	resolver_free(rs);
	rs = resolver_new(lp, servers, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
}

START_TEST(test_netconn_resolve_expire)
{
	use_silent_dns();
	conf_of("slow.example", 80);
	ck.timeout_ms = 250;
	ck_assert_int_eq(start(), 0);
	ck_assert(!testutil_run_until(lp, &seen.called, 100));
	ck_assert_int_eq(nc.state, NETCONN_RESOLVING);
	ck_assert(netconn_expire(&nc));
	ck_assert_int_eq(run.result.status, PROBE_RESOLVE_FAILED);
	ck_assert_str_eq(run.result.message,
	    "resolve slow.example: no answer within 250ms");
	netconn_close(&nc);
	ck_assert_ptr_null(nc.query);
	/* Cancelled: the callback never comes. */
	(void)testutil_run_until(lp, &seen.called, 50);
	ck_assert_int_eq(seen.ncalls, 0);
}
END_TEST

/* ---- abort in each phase ------------------------------------------------ */

/*
 * The kind's abort is netconn_close() in whatever state: nothing is
 * reported, and the socket and the query are gone (ASan sees the rest).
 */
START_TEST(test_netconn_abort_resolving)
{
	use_silent_dns();
	fds_before = count_fds();
	conf_of("slow.example", 80);
	ck_assert_int_eq(start(), 0);
	loop_run_once(lp, 10000);
	ck_assert_int_eq(nc.state, NETCONN_RESOLVING);
	netconn_close(&nc);
	(void)testutil_run_until(lp, &seen.called, 50);
	ck_assert_int_eq(seen.ncalls, 0);
	/* The detached query's socket is the resolver's, until it goes. */
	resolver_free(rs);
	rs = NULL;
	assert_released();
}
END_TEST

START_TEST(test_netconn_abort_connecting)
{
	int	lfd, port, fill[4];

	lfd = listen_full(fill, &port);
	fds_before = count_fds();
	conf_of("127.0.0.1", port);
	ck_assert_int_eq(start(), 0);
	loop_run_once(lp, 10000);
	ck_assert_int_eq(nc.state, NETCONN_CONNECTING);
	ck_assert_int_ne(nc.fd, -1);
	netconn_close(&nc);
	(void)testutil_run_until(lp, &seen.called, 50);
	ck_assert_int_eq(seen.ncalls, 0);
	assert_released();
	unlisten(lfd, fill);
}
END_TEST

/* After the connect, the close policy: RST by default, FIN if graceful. */
static int
close_seen_by_peer(enum netconn_close policy)
{
	char	buf[16];
	ssize_t	n;
	int	lfd, port, afd, err;

	lfd = testutil_listen_tcp(AF_INET, 8, &port);
	fds_before++;
	conf_of("127.0.0.1", port);
	ncf.close = (uint8_t)policy;
	ck_assert_int_eq(start(), 0);
	wait_connected(2000);
	ck_assert_int_eq(seen.rc, 0);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	netconn_close(&nc);
	n = recv(afd, buf, sizeof(buf), 0);
	err = n == -1 ? errno : 0;
	ck_assert_int_le(n, 0);
	close(afd);
	close(lfd);
	fds_before--;
	assert_released();
	return err;
}

START_TEST(test_netconn_abort_connected_resets)
{
	ck_assert_int_eq(close_seen_by_peer(NETCONN_CLOSE_RESET), ECONNRESET);
}
END_TEST

START_TEST(test_netconn_close_graceful_sends_fin)
{
	ck_assert_int_eq(close_seen_by_peer(NETCONN_CLOSE_GRACEFUL), 0);
}
END_TEST

/* ---- the result record -------------------------------------------------- */

START_TEST(test_netconn_result_json)
{
	struct probe_result	 res;
	json_t			*root = json_object();
	char			*text;

	probe_result_init(&res);
	ck_assert_int_eq(netconn_result_json(&res, root), 0);
	ck_assert_uint_eq(json_object_size(root), 0);	/* no connect tried */
	snprintf(res.tcp.address, sizeof(res.tcp.address), "[::1]:5432");
	ck_assert_int_eq(netconn_result_json(&res, root), 0);
	text = json_dumps(root, JSON_COMPACT);
	ck_assert_str_eq(text, "{\"tcp\":{\"address\":\"[::1]:5432\"}}");
	free(text);
	json_decref(root);
}
END_TEST

/* ---- the 'host' key ------------------------------------------------------ */

static const struct {
	const char	*text;
	int		 ip_family;
	const char	*error;		/* NULL: accepted */
	const char	*host;		/* as stored */
	int		 family;
	const char	*target;	/* with port 80 */
} host_cases[] = {
	{ "host = \"db.internal\";", AF_UNSPEC, NULL, "db.internal",
	    AF_UNSPEC, "db.internal:80" },
	{ "host = \"10.0.0.5\";", AF_INET, NULL, "10.0.0.5", AF_INET,
	    "10.0.0.5:80" },
	{ "host = \"[2001:db8::1]\";", AF_UNSPEC, NULL, "2001:db8::1",
	    AF_INET6, "[2001:db8::1]:80" },
	{ "host = \"2001:db8::1\";", AF_INET6, NULL, "2001:db8::1",
	    AF_INET6, "[2001:db8::1]:80" },
	{ "host = \"\";", AF_UNSPEC, "t.conf:1: 'host' must not be empty",
	    NULL, 0, NULL },
	{ "host = \"db:5432\";", AF_UNSPEC, "t.conf:1: 'host' \"db:5432\" is "
	    "not a host name or address (the port goes in 'port')",
	    NULL, 0, NULL },
	{ "host = \"[db]\";", AF_UNSPEC, "t.conf:1: 'host' \"[db]\" is not "
	    "a host name or address (the port goes in 'port')",
	    NULL, 0, NULL },
	{ "host = \"a/b\";", AF_UNSPEC, "t.conf:1: 'host' \"a/b\" is not a "
	    "host name or address (the port goes in 'port')",
	    NULL, 0, NULL },
	{ "host = \"::1\";", AF_INET, "t.conf:1: 'host' ::1 is an IPv6 "
	    "address but ip_version is \"4\"",
	    NULL, 0, NULL },
	{ "host = \"127.0.0.1\";", AF_INET6, "t.conf:1: 'host' 127.0.0.1 is "
	    "an IPv4 address but ip_version is \"6\"",
	    NULL, 0, NULL },
	{ "port = 1;", AF_UNSPEC, "t.conf: group is missing required key "
	    "'host'",
	    NULL, 0, NULL },
	{ "host = \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa" "\";", AF_UNSPEC,
	    "t.conf:1: 'host' is 254 characters long; a host name has at "
	    "most 253", NULL, 0, NULL },
	{ "host = 5;", AF_UNSPEC, "t.conf:1: 'host' must be a string, got "
	    "an integer",
	    NULL, 0, NULL },
};

START_TEST(test_netconn_conf_host)
{
	struct config_errors	 errs = { 0 };
	struct confread		 cr = { &errs, "t.conf", 0 };
	config_t		 c;
	int			 rc;

	config_init(&c);
	ck_assert_int_eq(config_read_string(&c, host_cases[_i].text),
	    CONFIG_TRUE);
	ck.ip_family = host_cases[_i].ip_family;
	rc = netconn_conf_host(&cr, config_root_setting(&c), &ck, &ncf);
	if (host_cases[_i].error != NULL) {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_null(ncf.host);
		ck_assert_uint_ge(errs.count, 1);
		ck_assert_uint_eq(errs.count, 1);
		ck_assert_str_eq(errs.lines[0], host_cases[_i].error);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(errs.count, 0);
		ck_assert_str_eq(ncf.host, host_cases[_i].host);
		ck_assert_int_eq(ncf.family, host_cases[_i].family);
		netconn_conf_port(&ncf, 80, &ck);
		ck_assert_str_eq(ck.target, host_cases[_i].target);
		if (ncf.family == AF_INET)
			ck_assert_int_eq(ntohs(ncf.addr.sin.sin_port), 80);
		else if (ncf.family == AF_INET6)
			ck_assert_int_eq(ntohs(ncf.addr.sin6.sin6_port), 80);
	}
	config_errors_free(&errs);
	config_destroy(&c);
}
END_TEST

static Suite *
netconn_suite(void)
{
	Suite	*s = suite_create("netconn");
	TCase	*tc;

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_netconn_literal_connects_without_resolving);
	tcase_add_test(tc, test_netconn_name_is_resolved_first);
	tcase_add_test(tc, test_netconn_refused);
	tcase_add_test(tc, test_netconn_timeout_full_accept_queue);
	tcase_add_test(tc, test_netconn_family_mismatch);
	tcase_add_test(tc, test_netconn_no_resolver);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_netconn_resolve_expire);
	suite_add_tcase(s, tc);

	tc = tcase_create("abort");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_netconn_abort_resolving);
	tcase_add_test(tc, test_netconn_abort_connecting);
	tcase_add_test(tc, test_netconn_abort_connected_resets);
	tcase_add_test(tc, test_netconn_close_graceful_sends_fin);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_netconn_conf_host, 0,
	    sizeof(host_cases) / sizeof(host_cases[0]));
	tcase_add_test(tc, test_netconn_result_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(netconn_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
