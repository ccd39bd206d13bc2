/* SPDX-License-Identifier: ISC */
/*
 * Tests for state: the alert state file round trip, the atomic write (no
 * temporary file left, mode 0600), and every way a file can be unusable
 * (torn, not JSON, another version, a bad field) giving a clear error and
 * never a crash.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "state.h"
#include "testutil.h"
#include "xmalloc.h"

static void
sample(struct state_alert *v)
{
	memset(v, 0, 2 * sizeof(*v));
	snprintf(v[0].rule, sizeof(v[0].rule), "down");
	snprintf(v[0].check, sizeof(v[0].check), "api");
	v[0].st.state = RULES_FIRING;
	v[0].st.window = UINT64_C(0xfedcba9876543210);
	v[0].st.nwindow = 64;
	v[0].st.good_run = 1;
	v[0].st.violating = true;
	v[0].st.flap_hist = 0x1fffff;
	v[0].st.nflap = 21;
	v[0].st.flapping = true;
	v[0].st.since = 1795824000123456LL;
	v[0].st.good_since = 1795824001000000LL;
	v[0].st.last_notify = 1795824002000000LL;
	v[0].st.results = 123456789012ULL;
	v[0].told = true;
	snprintf(v[1].rule, sizeof(v[1].rule), "slow");
	snprintf(v[1].check, sizeof(v[1].check), "db \"main\"");
	v[1].st.state = RULES_PENDING;
}

START_TEST(test_state_round_trip)
{
	const char		*dir = testutil_tmpdir();
	struct state_alert	 v[2], *got;
	struct stat		 sb;
	char			 err[256], *path;
	size_t			 n;

	sample(v);
	ck_assert_int_eq(state_save(dir, "edge-1", v, 2, err, sizeof(err)), 0);
	path = xasprintf("%s/%s", dir, STATE_FILE);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	free(path);
	path = xasprintf("%s/.%s.tmp", dir, STATE_FILE);
	ck_assert_int_eq(access(path, F_OK), -1);
	free(path);
	ck_assert_int_eq(state_load(dir, &got, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(got[0].rule, "down");
	ck_assert_str_eq(got[1].check, "db \"main\"");
	ck_assert(memcmp(&got[0].st, &v[0].st, sizeof(v[0].st)) == 0);
	ck_assert(got[0].told);
	ck_assert_int_eq(got[1].st.state, RULES_PENDING);
	free(got);
	/* Saving again replaces the file. */
	ck_assert_int_eq(state_save(dir, "edge-1", v, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(state_load(dir, &got, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	free(got);
}
END_TEST

START_TEST(test_state_creates_its_directory)
{
	struct state_alert	 v[2], *got;
	char			 err[256], *dir;
	size_t			 n;

	sample(v);
	dir = xasprintf("%s/state", testutil_tmpdir());
	ck_assert_int_eq(state_save(dir, "a", v, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(state_load(dir, &got, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	free(got);
	free(dir);
}
END_TEST

START_TEST(test_state_missing_is_empty)
{
	struct state_alert	*got = (void *)1;
	char			 err[256];
	size_t			 n = 7;

	ck_assert_int_eq(state_load(testutil_tmpdir(), &got, &n, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(got);
}
END_TEST

START_TEST(test_state_unwritable_dir)
{
	struct state_alert	v[2];
	char			err[256];

	sample(v);
	ck_assert_int_eq(state_save("/nonexistent/sonde", "a", v, 2, err,
	    sizeof(err)), -1);
	ck_assert_msg(strcmp(err, "cannot create /nonexistent/sonde: No "
	    "such file or directory") == 0, "%s", err);
}
END_TEST

static const struct {
	const char	*name;
	const char	*text;
	const char	*want;		/* in the error, after the path */
} bad_files[] = {
	{ "torn", "{\"version\":1,\"agent\":\"a\",\"alerts\":[{\"rule\":\"d",
	  "alerts.json:1: " },
	{ "empty", "", "alerts.json:" },
	{ "not json", "hello\n", "alerts.json:1: " },
	{ "no version", "{\"alerts\":[]}\n",
	  "not a sonde state file (no version or alerts)" },
	{ "another version", "{\"version\":9,\"alerts\":[]}\n",
	  "version 9, this sonde reads 1" },
	{ "missing field", "{\"version\":1,\"alerts\":[{\"rule\":\"d\"}]}\n",
	  "alerts[0]: " },
	{ "bad state", "{\"version\":1,\"alerts\":[{\"rule\":\"d\","
	  "\"check\":\"c\",\"state\":\"burning\",\"window\":0,\"nwindow\":0,"
	  "\"good_run\":0,\"violating\":false,\"flap_hist\":0,\"nflap\":0,"
	  "\"flapping\":false,\"since\":0,\"good_since\":0,"
	  "\"last_notify\":0,\"results\":0,\"told\":false}]}\n",
	  "alerts[0]: alert d/c: a value is out of range" },
	{ "window too long", "{\"version\":1,\"alerts\":[{\"rule\":\"d\","
	  "\"check\":\"c\",\"state\":\"ok\",\"window\":0,\"nwindow\":65,"
	  "\"good_run\":0,\"violating\":false,\"flap_hist\":0,\"nflap\":0,"
	  "\"flapping\":false,\"since\":0,\"good_since\":0,"
	  "\"last_notify\":0,\"results\":0,\"told\":false}]}\n",
	  "a value is out of range" },
	/* Found by fuzz_state: bits beyond the results counted. */
	{ "window bits beyond nwindow", "{\"version\":1,\"alerts\":[{"
	  "\"rule\":\"d\",\"check\":\"c\",\"state\":\"ok\",\"window\":255,"
	  "\"nwindow\":5,\"good_run\":0,\"violating\":false,\"flap_hist\":0,"
	  "\"nflap\":0,\"flapping\":false,\"since\":0,\"good_since\":0,"
	  "\"last_notify\":0,\"results\":0,\"told\":false}]}\n",
	  "alerts[0]: alert d/c: a value is out of range" },
	{ "flap bits beyond nflap", "{\"version\":1,\"alerts\":[{"
	  "\"rule\":\"d\",\"check\":\"c\",\"state\":\"ok\",\"window\":0,"
	  "\"nwindow\":0,\"good_run\":0,\"violating\":false,"
	  "\"flap_hist\":232967,\"nflap\":17,\"flapping\":false,\"since\":0,"
	  "\"good_since\":0,\"last_notify\":0,\"results\":0,\"told\":false}]}"
	  "\n", "alerts[0]: alert d/c: a value is out of range" },
	/* Found with fuzz_state: now - since overflowed in rules_eval(). */
	{ "since before 1970", "{\"version\":1,\"alerts\":[{"
	  "\"rule\":\"d\",\"check\":\"c\",\"state\":\"firing\",\"window\":0,"
	  "\"nwindow\":0,\"good_run\":0,\"violating\":false,\"flap_hist\":0,"
	  "\"nflap\":0,\"flapping\":false,"
	  "\"since\":-9223372036854775808,\"good_since\":0,"
	  "\"last_notify\":0,\"results\":0,\"told\":false}]}\n",
	  "alerts[0]: alert d/c: a value is out of range" },
	{ "last_notify before 1970", "{\"version\":1,\"alerts\":[{"
	  "\"rule\":\"d\",\"check\":\"c\",\"state\":\"firing\",\"window\":0,"
	  "\"nwindow\":0,\"good_run\":0,\"violating\":false,\"flap_hist\":0,"
	  "\"nflap\":0,\"flapping\":false,\"since\":0,\"good_since\":0,"
	  "\"last_notify\":-1,\"results\":0,\"told\":false}]}\n",
	  "alerts[0]: alert d/c: a value is out of range" },
	{ "unknown field", "{\"version\":1,\"alerts\":[{\"rule\":\"d\","
	  "\"check\":\"c\",\"state\":\"ok\",\"window\":0,\"nwindow\":6,"
	  "\"good_run\":0,\"violating\":false,\"flap_hist\":0,\"nflap\":0,"
	  "\"flapping\":false,\"since\":0,\"good_since\":0,"
	  "\"last_notify\":0,\"results\":0,\"told\":false,\"x\":1}]}\n",
	  "alerts[0]: " },
};

/* A link planted where the temporary file goes is refused, not followed. */
START_TEST(test_state_write_refuses_link)
{
	const char	*dir = testutil_tmpdir();
	char		*victim, *tmp, err[256];
	struct stat	 st;

	victim = testutil_write_file(dir, "victim", "precious\n");
	tmp = xasprintf("%s/.x.json.tmp", dir);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_int_eq(state_write_atomic(dir, "x.json", "{}", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_int_eq(st.st_size, 9);
	free(victim);
	free(tmp);
}
END_TEST

START_TEST(test_state_bad_file)
{
	const char		*dir = testutil_tmpdir();
	struct state_alert	*got = (void *)1;
	char			 err[512], *path;
	size_t			 n = 3;

	path = testutil_write_file(dir, STATE_FILE, bad_files[_i].text);
	ck_assert_int_eq(state_load(dir, &got, &n, err, sizeof(err)), -1);
	ck_assert_ptr_null(got);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s: %s",
	    bad_files[_i].name, err);
	ck_assert_msg(strstr(err, bad_files[_i].want) != NULL,
	    "%s: want '%s' in '%s'", bad_files[_i].name, bad_files[_i].want,
	    err);
	free(path);
}
END_TEST

static Suite *
state_suite(void)
{
	Suite	*s = suite_create("state");
	TCase	*tc;

	tc = tcase_create("file");
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_missing_is_empty);
	tcase_add_test(tc, test_state_creates_its_directory);
	tcase_add_test(tc, test_state_unwritable_dir);
	tcase_add_test(tc, test_state_write_refuses_link);
	tcase_add_loop_test(tc, test_state_bad_file, 0,
	    sizeof(bad_files) / sizeof(bad_files[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(state_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
