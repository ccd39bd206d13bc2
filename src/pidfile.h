/*
 * pidfile: the running agent's pid in state_dir/sonde.pid, held with an
 * exclusive lock for the agent's life.
 *
 * The lock, not the file's existence, says whether an agent runs: a file
 * left by a crash is stale as soon as nobody holds its lock, and a second
 * agent on the same state_dir (which would fight over alert state, SLO
 * counts and the outbox) is refused.  `sonde -s reload|stop` finds the
 * agent through it.
 */
#ifndef SONDE_PIDFILE_H
#define SONDE_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

#define PIDFILE_NAME	"sonde.pid"

/*
 * Creates dir (0700) if needed, then creates and locks dir/sonde.pid and
 * writes our pid.  Returns the fd to keep open (the lock), or -1 with the
 * reason in err; *other is the pid holding it when another agent runs
 * (else 0).
 */
int	pidfile_acquire(const char *dir, pid_t *other, char *err,
	    size_t errlen);
/* Removes dir/sonde.pid and closes fd; fd -1 is a no-op. */
void	pidfile_release(const char *dir, int fd);
/*
 * Returns the pid of the agent running on dir (its lock is held), 0 when
 * none runs (no file, or a stale one), or -1 with the reason in err.
 */
pid_t	pidfile_running(const char *dir, char *err, size_t errlen);

#endif /* SONDE_PIDFILE_H */
