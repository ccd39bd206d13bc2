/* SPDX-License-Identifier: ISC */
/*
 * Tests for probe.c's words shared by the kinds: the duration people set,
 * as messages say it, and network bytes quoted for a message.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "probe.h"

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

static Suite *
probe_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc;

	tc = tcase_create("words");
	tcase_add_loop_test(tc, test_probe_format_duration, 0,
	    sizeof(duration_cases) / sizeof(duration_cases[0]));
	tcase_add_loop_test(tc, test_probe_quote, 0,
	    sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_test(tc, test_probe_quote_worst_case_fits);
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
