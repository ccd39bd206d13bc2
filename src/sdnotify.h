/*
 * sdnotify: the systemd service notification protocol (sd_notify(3)),
 * spoken directly over $NOTIFY_SOCKET (a unix datagram socket; a leading
 * '@' is the abstract namespace) so sonde needs no libsystemd.  Without
 * NOTIFY_SOCKET every call is a no-op, so the same binary runs under any
 * supervisor or none.
 */
#ifndef SONDE_SDNOTIFY_H
#define SONDE_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends state ("READY=1", "STOPPING=1", ...; newline-separated pairs).
 * Returns 1 when sent, 0 when there is no NOTIFY_SOCKET, -1 on error
 * (errno set).  Never blocks: the datagram is sent MSG_DONTWAIT.
 */
int	sdnotify_send(const char *state);
/*
 * Returns the watchdog interval in µs from $WATCHDOG_USEC (when
 * $WATCHDOG_PID is unset or ours), or 0 when there is no watchdog.
 */
int64_t	sdnotify_watchdog_usec(void);

#endif /* SONDE_SDNOTIFY_H */
