/* SPDX-License-Identifier: ISC */
/*
 * Tests for priv.c: a process that holds secrets cannot be dumped or
 * traced by its own user, and dropping root leaves no way back.  Each
 * test runs in Check's forked process, so the change of identity ends
 * with it; the drop tests need root and say so when they cannot run.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <check.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

START_TEST(test_priv_nodump)
{
	char	err[128];

	ck_assert_int_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	ck_assert_int_eq(priv_nodump(err, sizeof(err)), 0);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_priv_drop_to_nobody)
{
	struct passwd	*pw = getpwnam("nobody");
	gid_t		 groups[8];
	char		 err[128];

	if (geteuid() != 0 || pw == NULL) {
		fprintf(stderr, "check_priv: needs root and user nobody\n");
		return;
	}
	ck_assert_int_eq(priv_drop("nobody", err, sizeof(err)), 0);
	ck_assert_int_eq(getuid(), pw->pw_uid);
	ck_assert_int_eq(geteuid(), pw->pw_uid);
	ck_assert_int_eq(getegid(), pw->pw_gid);
	ck_assert_int_eq(getgroups(8, groups), 1);
	ck_assert_int_eq(groups[0], pw->pw_gid);
	ck_assert_int_eq(setuid(0), -1);
	ck_assert_int_eq(seteuid(0), -1);
}
END_TEST

START_TEST(test_priv_drop_errors)
{
	char	err[128];

	ck_assert_int_eq(priv_drop("sonde-no-such-user", err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "user \"sonde-no-such-user\": no such "
	    "user") != NULL, "%s", err);
}
END_TEST

/*
 * Root creates a missing state_dir for agent.user (0700, theirs), so the
 * state is still writable after the drop; an existing one is left alone.
 */
START_TEST(test_priv_mkdir_for)
{
	struct passwd	*pw = getpwnam("nobody");
	struct stat	 st;
	char		 dir[64], err[128];

	if (geteuid() != 0 || pw == NULL) {
		fprintf(stderr, "check_priv: needs root and user nobody\n");
		return;
	}
	snprintf(dir, sizeof(dir), "/tmp/sonde-priv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(priv_mkdir_for(dir, "nobody", err, sizeof(err)), 0);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);		/* existing: untouched */
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(priv_mkdir_for(dir, "nobody", err, sizeof(err)), 0);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_uid, pw->pw_uid);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(priv_mkdir_for(dir, "sonde-no-such-user", err,
	    sizeof(err)), -1);
}
END_TEST

static Suite *
priv_suite(void)
{
	Suite	*s = suite_create("priv");
	TCase	*tc;

	tc = tcase_create("priv");
	tcase_add_test(tc, test_priv_nodump);
	tcase_add_test(tc, test_priv_drop_to_nobody);
	tcase_add_test(tc, test_priv_drop_errors);
	tcase_add_test(tc, test_priv_mkdir_for);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(priv_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
