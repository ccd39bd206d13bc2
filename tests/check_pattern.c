/* SPDX-License-Identifier: ISC */
/*
 * Tests for pattern: compile errors with offsets, byte matching with NULs
 * and invalid UTF-8, and the match limit turning catastrophic
 * backtracking into an error rather than a stalled loop.
 */
#include "autoconf.h"

#include <check.h>
#include <string.h>

#include "pattern.h"

START_TEST(test_pattern_compile_error_has_offset)
{
	char	err[256];

	ck_assert_ptr_null(pattern_new("^SSH-(2\\.0", err, sizeof(err)));
	ck_assert_msg(strstr(err, "missing closing parenthesis") != NULL,
	    "%s", err);
	ck_assert_msg(strstr(err, "at offset 10") != NULL, "%s", err);
}
END_TEST

START_TEST(test_pattern_matches_bytes)
{
	struct pattern	*p;
	char		 err[256];
	static const char data[] = "+PONG\r\n\0\xff\xfe tail";

	p = pattern_new("^\\+PONG\\r\\n", err, sizeof(err));
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(pattern_source(p), "^\\+PONG\\r\\n");
	ck_assert_int_eq(pattern_match(p, data, sizeof(data) - 1), 1);
	ck_assert_int_eq(pattern_match(p, "-ERR", 4), 0);
	pattern_free(p);
	/* Past a NUL and invalid UTF-8: the length decides, not strlen. */
	p = pattern_new("tail$", err, sizeof(err));
	ck_assert_int_eq(pattern_match(p, data, sizeof(data) - 1), 1);
	ck_assert_int_eq(pattern_match(p, data, 7), 0);
	pattern_free(p);
	pattern_free(NULL);
}
END_TEST

START_TEST(test_pattern_match_limit_is_an_error)
{
	struct pattern	*p;
	char		 err[256], data[64];

	/* Exponential backtracking on a non-matching subject. */
	p = pattern_new("^(a+)+$", err, sizeof(err));
	ck_assert_ptr_nonnull(p);
	memset(data, 'a', sizeof(data));
	data[sizeof(data) - 1] = 'b';
	ck_assert_int_eq(pattern_match(p, data, sizeof(data)), -1);
	pattern_free(p);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pattern");
	TCase	*tc = tcase_create("pcre2");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_pattern_compile_error_has_offset);
	tcase_add_test(tc, test_pattern_matches_bytes);
	tcase_add_test(tc, test_pattern_match_limit_is_an_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
