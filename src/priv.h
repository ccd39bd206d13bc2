/*
 * priv: dropping root after the listening socket is bound (agent.user).
 */
#ifndef SONDE_PRIV_H
#define SONDE_PRIV_H

#include <stddef.h>

/*
 * Switches to user's uid, gid and groups when running as root; as any
 * other user, succeeds only if already running as user (no privilege to
 * drop).  Returns 0, or -1 with a reason in err.
 */
int	priv_drop(const char *user, char *err, size_t errlen);

#endif /* SONDE_PRIV_H */
