/* SPDX-License-Identifier: ISC */
/*
 * Tests for probe.c's words shared by the kinds: the duration people set,
 * as messages say it, and network bytes quoted for a message; the phase
 * a failed result is reported in by notifications; which checks cost a
 * TLS handshake each run (the scheduler keeps them off its grid).
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "probe.h"
#include "testutil.h"
#include "xmalloc.h"

static const struct {
	int64_t		 us;
	const char	*want;
} duration_cases[] = {
	{ 0, "0ms" },
	{ 499, "0ms" },
	{ 500, "1ms" },
	{ 250000, "250ms" },
	{ 999499, "999ms" },
	{ 1000000, "1s" },
	{ 1500000, "1.5s" },
	{ 2250000, "2.25s" },
	{ 2001000, "2.001s" },
	{ 300000000, "300s" },
};

START_TEST(test_probe_format_duration)
{
	char	buf[32];

	ck_assert_str_eq(probe_format_duration(duration_cases[_i].us, buf,
	    sizeof(buf)), duration_cases[_i].want);
}
END_TEST

static const struct {
	const char	*data;
	size_t		 len;
	size_t		 max;
	const char	*want;
} quote_cases[] = {
	{ "", 0, 48, "\"\"" },
	{ "+PONG\r\n", 7, 48, "\"+PONG\\r\\n\"" },
	{ "a\"b\\c\td", 7, 48, "\"a\\\"b\\\\c\\td\"" },
	{ "\x00\x7f\xff", 3, 48, "\"\\x00\\x7f\\xff\"" },
	{ "abcdef", 6, 4, "\"abcd\"..." },
	{ "250 8BITMIME", 12, 64, "\"250 8BITMIME\"" },
};

/* A message stays one printable line, whatever a target sent. */
START_TEST(test_probe_result_set_one_line)
{
	struct probe_result	r;

	probe_result_init(&r);
	probe_result_set(&r, PROBE_HTTP_PROTOCOL_ERROR, "redirect to %s",
	    "http://x/\r\nlevel=fatal msg=\"forged\"\x1b[31m\x7f\t");
	ck_assert_str_eq(r.message, "redirect to http://x/  level=fatal "
	    "msg=\"forged\"?[31m? ");
}
END_TEST

START_TEST(test_probe_quote)
{
	char	buf[PROBE_QUOTE_BUF(64)];

	ck_assert_str_eq(probe_quote(quote_cases[_i].data,
	    quote_cases[_i].len, quote_cases[_i].max, buf, sizeof(buf)),
	    quote_cases[_i].want);
}
END_TEST

/* The worst case, every byte escaped and cut, fits PROBE_QUOTE_BUF. */
START_TEST(test_probe_quote_worst_case_fits)
{
	char	data[100], buf[PROBE_QUOTE_BUF(48)];

	memset(data, 0x01, sizeof(data));
	probe_quote(data, sizeof(data), 48, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), 1 + 48 * 4 + 1 + 3);
	ck_assert_str_eq(buf + strlen(buf) - 4, "\"...");
	/* A short buffer cuts early but stays terminated and quoted. */
	probe_quote(data, sizeof(data), 48, buf, 20);
	ck_assert_uint_lt(strlen(buf), 20);
	ck_assert_int_eq(buf[0], '"');
}
END_TEST

/*
 * Phase times of a result, µs, in enum order (resolve, connect, tls,
 * processing, transfer, request); -1: not run.
 */
#define PH(a, b, c, d, e, f)	{ a, b, c, d, e, f }
#define NOPH			PH(-1, -1, -1, -1, -1, -1)

static const struct {
	enum probe_status	 status;
	int64_t			 phase[PROBE_PHASE_LAST];
	int64_t			 duration;
	enum probe_phase	 want;		/* PHASE_LAST: none */
	int64_t			 want_us;
} failing_cases[] = {
	/* ok and internal name no phase, whatever was timed */
	{ PROBE_OK, PH(10, 20, -1, 30, -1, -1), 60, PROBE_PHASE_LAST, 0 },
	{ PROBE_INTERNAL, NOPH, 5, PROBE_PHASE_LAST, 0 },
	/* the failed phase was not timed: it had the rest of the probe */
	{ PROBE_RESOLVE_FAILED, NOPH, 1200, PROBE_PHASE_RESOLVE, 1200 },
	{ PROBE_CONNECT_REFUSED, PH(300, -1, -1, -1, -1, -1), 1000,
	    PROBE_PHASE_CONNECT, 700 },
	{ PROBE_CONNECT_TIMEOUT, PH(500, -1, -1, -1, -1, -1), 3000500,
	    PROBE_PHASE_CONNECT, 3000000 },
	{ PROBE_CONNECT_FAILED, PH(0, -1, -1, -1, -1, -1), 40,
	    PROBE_PHASE_CONNECT, 40 },
	{ PROBE_TLS_HANDSHAKE_FAILED, PH(100, 200, -1, -1, -1, -1), 900,
	    PROBE_PHASE_TLS, 600 },
	/* a timed phase says its own time */
	{ PROBE_TLS_EXPIRED, PH(100, 200, 400, -1, -1, -1), 900,
	    PROBE_PHASE_TLS, 400 },
	{ PROBE_TLS_EXPIRING_SOON, PH(1, 2, 3, -1, -1, -1), 9,
	    PROBE_PHASE_TLS, 3 },
	{ PROBE_TLS_UNTRUSTED, NOPH, 9, PROBE_PHASE_TLS, 9 },
	{ PROBE_TLS_HOSTNAME_MISMATCH, NOPH, 9, PROBE_PHASE_TLS, 9 },
	{ PROBE_TLS_NOT_YET_VALID, NOPH, 9, PROBE_PHASE_TLS, 9 },
	{ PROBE_TLS_VERSION, NOPH, 9, PROBE_PHASE_TLS, 9 },
	{ PROBE_DNS_NXDOMAIN, PH(-1, -1, -1, -1, -1, 2500), 2600,
	    PROBE_PHASE_REQUEST, 2500 },
	{ PROBE_DNS_SERVFAIL, NOPH, 70, PROBE_PHASE_REQUEST, 70 },
	{ PROBE_DNS_REFUSED, NOPH, 70, PROBE_PHASE_REQUEST, 70 },
	{ PROBE_DNS_TIMEOUT, PH(100, -1, -1, -1, -1, -1), 2000100,
	    PROBE_PHASE_REQUEST, 2000000 },
	{ PROBE_DNS_BAD_RESPONSE, NOPH, 70, PROBE_PHASE_REQUEST, 70 },
	{ PROBE_DNS_ANSWER_MISMATCH, NOPH, 70, PROBE_PHASE_REQUEST, 70 },
	{ PROBE_HTTP_STATUS, PH(10, 20, 30, 40, 50, -1), 150,
	    PROBE_PHASE_PROCESSING, 40 },
	{ PROBE_HTTP_BODY_MISMATCH, PH(10, 20, 30, 40, 50, -1), 150,
	    PROBE_PHASE_PROCESSING, 40 },
	{ PROBE_HTTP_HEADER_MISMATCH, PH(10, 20, -1, 40, -1, -1), 70,
	    PROBE_PHASE_PROCESSING, 40 },
	{ PROBE_HTTP_TOO_MANY_REDIRECTS, NOPH, 80, PROBE_PHASE_PROCESSING,
	    80 },
	{ PROBE_HTTP_PROTOCOL_ERROR, NOPH, 80, PROBE_PHASE_PROCESSING, 80 },
	{ PROBE_TCP_EXPECT_MISMATCH, PH(10, 20, -1, -1, -1, -1), 100,
	    PROBE_PHASE_PROCESSING, 70 },
	{ PROBE_HTTP_BODY_TOO_LARGE, PH(10, 20, 30, 40, -1, -1), 1100,
	    PROBE_PHASE_TRANSFER, 1000 },
	/* timeout: the last phase that started, i.e. the last timed */
	{ PROBE_TIMEOUT, PH(10, 20, -1, 5000, -1, -1), 9000,
	    PROBE_PHASE_PROCESSING, 5000 },
	{ PROBE_TIMEOUT, PH(10, -1, -1, -1, -1, -1), 9000,
	    PROBE_PHASE_RESOLVE, 10 },
	{ PROBE_TIMEOUT, PH(10, 20, 30, 40, 50, -1), 9000,
	    PROBE_PHASE_TRANSFER, 50 },
	{ PROBE_TIMEOUT, PH(0, -1, -1, -1, -1, -1), 9000,
	    PROBE_PHASE_RESOLVE, 0 },
	{ PROBE_TIMEOUT, NOPH, 9000, PROBE_PHASE_LAST, 0 },
	/* never a negative time, even from odd figures */
	{ PROBE_CONNECT_REFUSED, PH(5000, -1, -1, -1, -1, -1), 100,
	    PROBE_PHASE_CONNECT, 0 },
};

START_TEST(test_probe_failing_phase)
{
	struct probe_result	 res;
	enum probe_phase	 p;
	int64_t			 us = -7;

	probe_result_init(&res);
	res.status = failing_cases[_i].status;
	memcpy(res.phase, failing_cases[_i].phase, sizeof(res.phase));
	res.duration = failing_cases[_i].duration;
	p = probe_failing_phase(&res, &us);
	ck_assert_msg(p == failing_cases[_i].want, "%s: phase %d, want %d",
	    probe_status_str(res.status), (int)p, (int)failing_cases[_i].want);
	if (p != PROBE_PHASE_LAST)
		ck_assert_int_eq(us, failing_cases[_i].want_us);
	else
		ck_assert_int_eq(us, -7);	/* untouched */
	ck_assert_int_eq(probe_failing_phase(&res, NULL), p);
}
END_TEST

/* Every reason code but timeout and internal names its phase. */
START_TEST(test_probe_failing_phase_every_code)
{
	struct probe_result	 res;
	int			 st;

	probe_result_init(&res);
	for (st = PROBE_OK + 1; st < PROBE_STATUS_LAST; st++) {
		res.status = (enum probe_status)st;
		if (st == PROBE_TIMEOUT || st == PROBE_INTERNAL)
			ck_assert(probe_failing_phase(&res, NULL) ==
			    PROBE_PHASE_LAST);
		else
			ck_assert_msg(probe_failing_phase(&res, NULL) !=
			    PROBE_PHASE_LAST, "%s has no phase",
			    probe_status_str(res.status));
	}
}
END_TEST

/*
 * tls checks and https URLs cost a handshake per run; plain http, tcp and
 * dns do not, whatever their names say.
 */
START_TEST(test_probe_check_handshakes)
{
	static const char *const names[] = { "tcp", "http", "https", "tls",
	    "dns", "http-https-name" };
	static const bool want[] = { false, false, true, true, false, false };
	const char	*dir = testutil_tmpdir();
	struct config	*cfg;
	char		*errs, *path;
	size_t		 i;

	cfg = testutil_config_text(dir, "checks = (\n"
	    "  { name = \"tcp\"; type = \"tcp\"; host = \"127.0.0.1\";\n"
	    "    port = 1; },\n"
	    "  { name = \"http\"; type = \"http\";\n"
	    "    url = \"http://127.0.0.1:1/\"; },\n"
	    "  { name = \"https\"; type = \"http\";\n"
	    "    url = \"https://127.0.0.1:1/\"; },\n"
	    "  { name = \"tls\"; type = \"tls\"; host = \"127.0.0.1\";\n"
	    "    port = 1; },\n"
	    "  { name = \"dns\"; type = \"dns\"; server = \"127.0.0.1:1\";\n"
	    "    query = \"example.com\"; },\n"
	    "  { name = \"http-https-name\"; type = \"http\";\n"
	    "    url = \"http://127.0.0.1:1/https\"; }\n"
	    ");\n", &errs);
	ck_assert_msg(cfg != NULL, "config: %s", errs);
	ck_assert_uint_eq(cfg->nchecks, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_str_eq(cfg->checks[i].name, names[i]);
		ck_assert_msg(probe_check_handshakes(&cfg->checks[i]) ==
		    want[i], "check %s", names[i]);
	}
	config_unref(cfg);
	free(errs);
	path = xasprintf("%s/sonde.conf", dir);
	unlink(path);
	free(path);
	rmdir(dir);
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc;

	tc = tcase_create("words");
	tcase_add_loop_test(tc, test_probe_format_duration, 0,
	    sizeof(duration_cases) / sizeof(duration_cases[0]));
	tcase_add_test(tc, test_probe_result_set_one_line);
	tcase_add_loop_test(tc, test_probe_quote, 0,
	    sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_test(tc, test_probe_quote_worst_case_fits);
	suite_add_tcase(s, tc);
	tc = tcase_create("failing_phase");
	tcase_add_loop_test(tc, test_probe_failing_phase, 0,
	    sizeof(failing_cases) / sizeof(failing_cases[0]));
	tcase_add_test(tc, test_probe_failing_phase_every_code);
	suite_add_tcase(s, tc);
	tc = tcase_create("handshakes");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_probe_check_handshakes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(probe_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
