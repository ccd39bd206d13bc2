/* SPDX-License-Identifier: ISC */
/*
 * sdnotify: sd_notify(3) without libsystemd.  This module owns the wire
 * format (one datagram of "KEY=VALUE\n" lines to $NOTIFY_SOCKET) and the
 * reading of the watchdog variables; when to say what belongs to the
 * agent (READY=1 once checks are scheduled, RELOADING=1 around a reload,
 * STOPPING=1 on SIGTERM, WATCHDOG=1 from a loop timer, so a stuck loop
 * stops the pings and systemd restarts the daemon).
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

int
sdnotify_send(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 len;
	socklen_t		 salen;
	ssize_t			 n;
	int			 fd, saved;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/' ? 1 : 0));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, salen);
	saved = errno;
	close(fd);
	errno = saved;
	return n == -1 ? -1 : 1;
}

int64_t
sdnotify_watchdog_usec(void)
{
	const char	*s = getenv("WATCHDOG_USEC"), *pid;
	char		*end;
	long long	 us;

	if (s == NULL)
		return 0;
	if ((pid = getenv("WATCHDOG_PID")) != NULL &&
	    strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	errno = 0;
	us = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || us <= 0)
		return 0;
	return us;
}
