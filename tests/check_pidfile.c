/* SPDX-License-Identifier: ISC */
/*
 * Tests for the pid file and the state_dir check that guards it
 * (pidfile.c, state_dir_check in state.c): the lock tells a live agent
 * from a stale file, and a local user who could write where sonde writes
 * can neither make sonde truncate another file (symlink, hard link) nor
 * make `sonde -s` signal a process of their choosing.  Everything runs in
 * the test's own temporary directories; the cases that need another user
 * switch to nobody in the forked test process when the suite runs as
 * root, and say so when it does not.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"
#include "state.h"
#include "testutil.h"
#include "xmalloc.h"

#define NOBODY	65534

/* A fresh directory of mode mode in a new temporary dir (or in base). */
static char *
mkdir_mode(const char *base, const char *name, mode_t mode)
{
	char	*d = xasprintf("%s/%s", base != NULL ? base :
	    testutil_tmpdir(), name);

	ck_assert_msg(mkdir(d, 0700) == 0, "mkdir %s: %s", d,
	    strerror(errno));
	ck_assert_int_eq(chmod(d, mode), 0);
	return d;
}

static off_t
size_of(const char *path)
{
	struct stat	st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(test_pidfile_lock_and_stale)
{
	char	*d = mkdir_mode(NULL, "state", 0700), err[512];
	pid_t	 other;
	int	 fd;

	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), 0);
	fd = pidfile_acquire(d, &other, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), getpid());
	ck_assert_int_eq(pidfile_acquire(d, &other, err, sizeof(err)), -1);
	ck_assert_int_eq(other, getpid());
	close(fd);		/* as after kill -9: a file, no lock */
	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), 0);
	fd = pidfile_acquire(d, &other, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	pidfile_release(d, fd);
	free(d);
}
END_TEST

START_TEST(test_state_dir_check_modes)
{
	static const struct {
		mode_t		 mode;
		const char	*error;
	} rows[] = {
		{ 0700, NULL }, { 0755, NULL },
		{ 0770, "is writable by other users (mode 0770)" },
		{ 01777, "is writable by other users (mode 1777); give sonde "
		  "a directory of its own (mode 0700)" },
	};
	char	*d, name[32], err[512], *f;
	size_t	 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "d%zu", i);
		d = mkdir_mode(NULL, name, rows[i].mode);
		err[0] = '\0';
		ck_assert_int_eq(state_dir_check(d, err, sizeof(err)),
		    rows[i].error == NULL ? 0 : -1);
		if (rows[i].error != NULL)
			ck_assert_msg(strstr(err, rows[i].error) != NULL, "%s",
			    err);
		/* sonde -s refuses the same directories */
		if (rows[i].error != NULL)
			ck_assert_int_eq(pidfile_running(d, err, sizeof(err)),
			    -1);
		free(d);
	}
	d = xasprintf("%s/absent", testutil_tmpdir());
	ck_assert_int_eq(state_dir_check(d, err, sizeof(err)), 0);
	free(d);
	f = testutil_write_file(testutil_tmpdir(), "plain", "x");
	ck_assert_int_eq(state_dir_check(f, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a directory") != NULL, "%s", err);
	free(f);
}
END_TEST

/*
 * A sonde.pid planted as a symlink or a hard link to another file: the
 * agent refuses it and the other file keeps its bytes.
 */
START_TEST(test_pidfile_refuses_links)
{
	char	*d = mkdir_mode(NULL, "state", 0700), *victim, *pid, err[512];
	pid_t	 other;

	victim = testutil_write_file(testutil_tmpdir(), "victim",
	    "precious\n");
	pid = xasprintf("%s/%s", d, PIDFILE_NAME);
	ck_assert_int_eq(symlink(victim, pid), 0);
	ck_assert_int_eq(pidfile_acquire(d, &other, err, sizeof(err)), -1);
	ck_assert_int_eq(other, 0);
	ck_assert_int_eq(size_of(victim), 9);
	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), -1);
	ck_assert_int_eq(unlink(pid), 0);
	ck_assert_int_eq(link(victim, pid), 0);
	ck_assert_int_eq(pidfile_acquire(d, &other, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not trusted") != NULL, "%s", err);
	ck_assert_int_eq(size_of(victim), 9);
	free(victim);
	free(pid);
	free(d);
}
END_TEST

/*
 * sonde -s reads a pid only from a file nobody else may write: a
 * group-writable pid file naming pid 1 (held locked, as a live agent's
 * would be) is refused, not signalled.
 */
START_TEST(test_pidfile_running_refuses_writable_file)
{
	char	*d = mkdir_mode(NULL, "state", 0700), *pid, err[512];
	int	 fd;
	pid_t	 other;

	fd = pidfile_acquire(d, &other, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(pwrite(fd, "1\n", 2, 0), 2);
	ck_assert_int_eq(ftruncate(fd, 2), 0);
	pid = xasprintf("%s/%s", d, PIDFILE_NAME);
	ck_assert_int_eq(chmod(pid, 0664), 0);
	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not trusted") != NULL, "%s", err);
	ck_assert_int_eq(chmod(pid, 0644), 0);
	ck_assert_int_eq(pidfile_running(d, err, sizeof(err)), 1);
	close(fd);
	free(pid);
	free(d);
}
END_TEST

/*
 * As a user other than root: a state_dir, or a pid file, of a third
 * user is refused.  Needs root to create them and become nobody.
 */
START_TEST(test_state_dir_other_owner)
{
	char	*base, *d, *e, err[512];

	if (geteuid() != 0) {
		fprintf(stderr, "check_pidfile: not root; the other-owner "
		    "case only runs as root\n");
		return;
	}
	base = xstrdup(testutil_tmpdir());
	ck_assert_int_eq(chmod(base, 0755), 0);
	d = mkdir_mode(base, "theirs", 0755);
	ck_assert_int_eq(chown(d, NOBODY - 1, NOBODY - 1), 0);
	e = mkdir_mode(base, "roots", 0755);
	ck_assert_int_eq(setgid(NOBODY), 0);
	ck_assert_int_eq(setuid(NOBODY), 0);
	ck_assert_int_eq(state_dir_check(d, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "belongs to uid 65533, not to the user "
	    "sonde runs as (uid 65534)") != NULL, "%s", err);
	ck_assert_int_eq(state_dir_check(e, err, sizeof(err)), 0);
	free(d);
	free(e);
	free(base);
}
END_TEST

static Suite *
pidfile_suite(void)
{
	Suite	*s = suite_create("pidfile");
	TCase	*tc;

	tc = tcase_create("pidfile");
	tcase_add_test(tc, test_pidfile_lock_and_stale);
	tcase_add_test(tc, test_state_dir_check_modes);
	tcase_add_test(tc, test_pidfile_refuses_links);
	tcase_add_test(tc, test_pidfile_running_refuses_writable_file);
	tcase_add_test(tc, test_state_dir_other_owner);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(pidfile_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
