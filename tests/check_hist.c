/* SPDX-License-Identifier: ISC */
/*
 * Tests for hist: quantiles within the promised relative error, edges.
 */
#include "autoconf.h"

#include <check.h>
#include <stdlib.h>

#include "hist.h"

static struct hist	h;

START_TEST(test_hist_empty_and_small_values_exact)
{
	int	i;

	hist_reset(&h);
	ck_assert_int_eq(hist_quantile(&h, 0.5), 0);
	for (i = 0; i < 10; i++)
		hist_add(&h, i);
	ck_assert_int_eq(hist_quantile(&h, 0.5), 4);
	ck_assert_int_eq(hist_quantile(&h, 1.0), 9);
	ck_assert_int_eq(h.count, 10);
	hist_add(&h, -5);			/* counts as 0 */
	ck_assert_int_eq(h.count, 11);
	ck_assert_int_eq(hist_quantile(&h, 0.0), 0);
}
END_TEST

START_TEST(test_hist_quantiles_within_relative_error)
{
	int64_t	v, q50, q99;
	int	i;

	hist_reset(&h);
	/* 1..100000: p50 = 50000, p99 = 99000. */
	for (i = 1; i <= 100000; i++)
		hist_add(&h, i);
	q50 = hist_quantile(&h, 0.5);
	q99 = hist_quantile(&h, 0.99);
	ck_assert_msg(labs(q50 - 50000) <= 50000 / 16, "p50 %lld",
	    (long long)q50);
	ck_assert_msg(labs(q99 - 99000) <= 99000 / 16, "p99 %lld",
	    (long long)q99);
	ck_assert_int_eq(hist_quantile(&h, 1.0), 100000);
	ck_assert_int_eq(h.max, 100000);
	/* Huge values do not overflow the bucket table. */
	v = INT64_MAX / 2;
	hist_add(&h, v);
	ck_assert_int_eq(hist_quantile(&h, 1.0), v);
}
END_TEST

START_TEST(test_hist_quantile_never_exceeds_max)
{
	hist_reset(&h);
	hist_add(&h, 1000);
	ck_assert_int_le(hist_quantile(&h, 0.5), 1000);
	ck_assert_int_ge(hist_quantile(&h, 0.5), 1000 - 1000 / 16);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("hist");
	TCase	*tc = tcase_create("quantiles");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_hist_empty_and_small_values_exact);
	tcase_add_test(tc, test_hist_quantiles_within_relative_error);
	tcase_add_test(tc, test_hist_quantile_never_exceeds_max);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
