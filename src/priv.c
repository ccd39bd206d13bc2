/* SPDX-License-Identifier: ISC */
/*
 * priv: giving up root.  This module owns the order of the calls (groups,
 * gid, then uid, then a check that root cannot be regained); binding
 * first and opening files first is the caller's business.  getpwnam()
 * reads the user database once, at startup, before the loop runs.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

int
priv_drop(const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\": %s", user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		snprintf(err, errlen, "cannot switch to user \"%s\": not "
		    "running as root", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot switch to user \"%s\": %s", user,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) != -1) {
		snprintf(err, errlen, "still able to regain root after "
		    "switching to \"%s\"", user);
		return -1;
	}
	return 0;
}

int
priv_nodump(char *err, size_t errlen)
{
	/*
	 * Before any secret is read; setuid() in priv_drop() would reset it
	 * only to fs.suid_dumpable, which an administrator may have set to 1.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
priv_mkdir_for(const char *dir, const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\": %s", user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (mkdir(dir, 0700) == -1) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	/* Just created by us: no one else can have swapped it yet. */
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		snprintf(err, errlen, "cannot give %s to \"%s\": %s", dir,
		    user, strerror(errno));
		return -1;
	}
	return 0;
}
