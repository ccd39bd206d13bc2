/* SPDX-License-Identifier: ISC */
/*
 * check_result: the JSON record (keys present and omitted, units, UTF-8
 * repair, timestamps), the --once table and the human durations, on
 * hand-built results: no loop, no network.
 */
#include "autoconf.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "probe.h"
#include "result.h"
#include "tcp.h"

static char			db_name[] = "db", db_target[] = "db.internal:5432";
static char			long_name[] = "a-longer-name";
static char			long_target[] =
				    "a-very-long-host-name.example.internal:65535";
static char			team_key[] = "team", team_value[] = "core";
static struct config_label	labels[] = { { team_key, team_value } };

/* A tcp check "db" with one label, and an ok result of 1.5 ms. */
static void
result_fixture(struct check_conf *check, struct probe_result *res)
{
	memset(check, 0, sizeof(*check));
	check->name = db_name;
	check->ops = &tcp_probe_ops;
	check->target = db_target;
	check->labels = labels;
	check->nlabels = 1;
	probe_result_init(res);
	res->started_at = 1795802400123456LL;	/* 2026-11-27T18:00:00.123Z */
	res->duration = 1500;
	res->phase[PROBE_PHASE_RESOLVE] = 400;
	res->phase[PROBE_PHASE_CONNECT] = 1100;
	snprintf(res->tcp.address, sizeof(res->tcp.address), "10.0.0.5:5432");
}

static json_t *
result_parse(const struct check_conf *check, const struct probe_result *res)
{
	json_error_t	 jerr;
	json_t		*obj;
	char		*s;

	s = result_json(check, res);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strchr(s, '\n'));
	obj = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(obj != NULL, "%s: %s", jerr.text, s);
	free(s);
	return obj;
}

START_TEST(test_result_json_ok)
{
	struct check_conf	 check;
	struct probe_result	 res;
	json_t			*r, *phases;

	result_fixture(&check, &res);
	r = result_parse(&check, &res);
	ck_assert_str_eq(json_string_value(json_object_get(r, "check")), "db");
	ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(r, "target")),
	    "db.internal:5432");
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_ptr_null(json_object_get(r, "reason"));
	ck_assert_ptr_null(json_object_get(r, "message"));
	ck_assert_double_eq_tol(json_real_value(json_object_get(r,
	    "duration_seconds")), 0.0015, 1e-9);
	phases = json_object_get(r, "phases");
	ck_assert_int_eq(json_object_size(phases), 2);
	ck_assert_double_eq_tol(json_real_value(json_object_get(phases,
	    "resolve")), 0.0004, 1e-9);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
	    "tcp"), "address")), "10.0.0.5:5432");
	ck_assert_str_eq(json_string_value(json_object_get(r, "started_at")),
	    "2026-11-27T18:00:00.123Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
	    "labels"), "team")), "core");
	json_decref(r);
}
END_TEST

START_TEST(test_result_json_failed_minimal)
{
	struct check_conf	 check;
	struct probe_result	 res;
	json_t			*r;

	result_fixture(&check, &res);
	check.nlabels = 0;
	probe_result_init(&res);
	probe_result_set(&res, PROBE_TIMEOUT, "no reply within %d ms", 3000);
	r = result_parse(&check, &res);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
	    "timeout");
	ck_assert_str_eq(json_string_value(json_object_get(r, "message")),
	    "no reply within 3000 ms");
	/* Nothing ran, nothing connected, no labels: omitted, not empty. */
	ck_assert_ptr_null(json_object_get(r, "phases"));
	ck_assert_ptr_null(json_object_get(r, "tcp"));
	ck_assert_ptr_null(json_object_get(r, "labels"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "started_at")),
	    "1970-01-01T00:00:00.000Z");
	json_decref(r);
}
END_TEST

/* Every bad byte becomes U+FFFD; valid multi-byte text is kept. */
START_TEST(test_result_json_repairs_utf8)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "\xff", "\xef\xbf\xbd" },
		{ "a\xc3", "a\xef\xbf\xbd" },			/* cut short */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		    "\xef\xbf\xbdx" },				/* > U+10FFFF */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	};
	struct check_conf	 check;
	struct probe_result	 res;
	json_t			*r;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		result_fixture(&check, &res);
		probe_result_set(&res, PROBE_TCP_EXPECT_MISMATCH, "%s",
		    cases[i].in);
		r = result_parse(&check, &res);
		ck_assert_str_eq(json_string_value(json_object_get(r,
		    "message")), cases[i].out);
		json_decref(r);
	}
}
END_TEST

START_TEST(test_result_format_us)
{
	static const struct {
		int64_t		 us;
		const char	*text;
	} cases[] = {
		{ 0, "0.0ms" }, { 380, "0.4ms" }, { 12345, "12.3ms" },
		{ 999949, "999.9ms" }, { 999950, "1.00s" }, { 1500000, "1.50s" },
		{ 59994999, "59.99s" }, { 59995000, "1m00s" },
		{ 125000000, "2m05s" }, { 3600000000LL, "1h00m" },
		{ 3725000000LL, "1h02m" }, { 90000000000LL, "1d01h" },
		{ -5, "0.0ms" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(result_format_us(cases[i].us, buf,
		    sizeof(buf)), cases[i].text);
}
END_TEST

/* Rows line up under the heading; long targets are cut, messages not. */
START_TEST(test_result_table)
{
	struct check_conf	 check[2];
	struct probe_result	 res[2];
	struct result_table	 t;
	char			*text = NULL;
	size_t			 len = 0;
	FILE			*f;
	int			 i;

	result_fixture(&check[0], &res[0]);
	result_fixture(&check[1], &res[1]);
	check[1].name = long_name;
	check[1].target = long_target;
	probe_result_set(&res[1], PROBE_CONNECT_REFUSED, "connect to "
	    "10.0.0.5:5432: refused\x1b[2J");
	result_table_init(&t);
	for (i = 0; i < 2; i++)
		result_table_fit(&t, &check[i], &res[i]);
	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	result_table_header(f, &t);
	for (i = 0; i < 2; i++)
		result_table_row(f, &t, &check[i], &res[i]);
	fclose(f);
	ck_assert_str_eq(text,
	    "CHECK         TYPE TARGET                           "
	    "RESULT             TIME  MESSAGE\n"
	    "db            tcp  db.internal:5432                 "
	    "ok                1.5ms\n"
	    "a-longer-name tcp  a-very-long-host-name.example... "
	    "connect_refused   1.5ms  connect to 10.0.0.5:5432: refused?[2J\n");
	free(text);
}
END_TEST

static Suite *
result_suite(void)
{
	Suite	*s = suite_create("result");
	TCase	*tc;

	tc = tcase_create("json");
	tcase_add_test(tc, test_result_json_ok);
	tcase_add_test(tc, test_result_json_failed_minimal);
	tcase_add_test(tc, test_result_json_repairs_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_result_format_us);
	tcase_add_test(tc, test_result_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(result_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
