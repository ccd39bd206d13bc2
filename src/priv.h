/*
 * priv: dropping root after the listening socket is bound (agent.user),
 * and keeping the secrets in memory out of core dumps and other eyes.
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
/*
 * Creates dir (mode 0700) for user when running as root, and gives it to
 * user, so that sonde can still write its state after priv_drop(); a
 * directory that exists already is left as it is.  As any other user,
 * does nothing.  Returns 0, or -1 with a reason in err.
 */
int	priv_mkdir_for(const char *dir, const char *user, char *err,
	    size_t errlen);
/*
 * Makes the process non-dumpable: no core file (it would hold webhook
 * URLs, keys and passwords read from their files), no ptrace and no
 * /proc/PID/environ or /proc/PID/mem for other processes of the same
 * user (root keeps them).  Returns 0, or -1 with a reason in err.
 */
int	priv_nodump(char *err, size_t errlen);

#endif /* SONDE_PRIV_H */
