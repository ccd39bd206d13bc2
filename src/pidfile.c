/* SPDX-License-Identifier: ISC */
/*
 * pidfile: state_dir/sonde.pid with an open file description lock
 * (F_OFD_SETLK), held by the running agent until it exits.
 *
 * It owns only that file and its descriptor.  OFD locks (not flock, not
 * POSIX record locks) because they belong to the open file, so a lock
 * test from `sonde -s` in another process sees the agent's lock, and they
 * vanish with the process: a kill -9 leaves a file but no lock, which is
 * how a stale file is told from a live agent without trusting the pid
 * (pids are reused).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"
#include "state.h"

static void
pidfile_path(const char *dir, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s/%s", dir, PIDFILE_NAME);
}

/* Fills fl for a whole-file write lock. */
static void
pidfile_lock_spec(struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
}

/* The pid written in the file open on fd, or 0. */
static pid_t
pidfile_read(int fd)
{
	char	buf[32];
	ssize_t	n;
	long	pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? (pid_t)pid : 0;
}

/*
 * The file open on fd may be trusted: a regular file with one link that
 * only its owner may write, the owner being us (the agent, before it
 * writes) or, for `sonde -s`, us or root.  Else a pid in it could be any
 * process's, and truncating it could truncate another file.
 */
static int
pidfile_vet(int fd, const char *path, bool ours, char *err, size_t errlen)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (st.st_uid != geteuid() && (ours || st.st_uid != 0) &&
	    geteuid() != 0)) {
		snprintf(err, errlen, "%s is not a pid file sonde wrote (a "
		    "link, or writable or owned by another user); not "
		    "trusted", path);
		return -1;
	}
	return 0;
}

int
pidfile_acquire(const char *dir, pid_t *other, char *err, size_t errlen)
{
	struct flock	fl;
	char		path[4096], pid[32];
	int		fd, n;

	*other = 0;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	pidfile_path(dir, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (pidfile_vet(fd, path, true, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	pidfile_lock_spec(&fl);
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		*other = pidfile_read(fd);
		snprintf(err, errlen, "%s is locked by another sonde (pid %ld) "
		    "using the same state_dir", path, (long)*other);
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
pidfile_release(const char *dir, int fd)
{
	char	path[4096];

	if (fd == -1)
		return;
	pidfile_path(dir, path, sizeof(path));
	(void)unlink(path);
	close(fd);
}

pid_t
pidfile_running(const char *dir, char *err, size_t errlen)
{
	struct flock	fl;
	char		path[4096];
	pid_t		pid;
	int		fd;

	if (state_dir_check(dir, err, errlen) == -1)
		return -1;
	pidfile_path(dir, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (pidfile_vet(fd, path, false, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	pidfile_lock_spec(&fl);
	fl.l_type = F_RDLCK;
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	pid = fl.l_type == F_UNLCK ? 0 : pidfile_read(fd);
	close(fd);
	return pid;
}
