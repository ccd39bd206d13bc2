/*
 * state: alert state on disk, so a restart neither re-fires a firing
 * alert nor forgets it.
 *
 * One file, agent.state_dir/alerts.json: a versioned JSON object
 *   {"version":1,"agent":"edge-1","saved_at":<wall µs>,
 *    "alerts":[{"rule":"down","check":"api","state":"firing",...}]}
 * written to a temporary file, fsync'ed, renamed over the old one and the
 * directory fsync'ed, so a crash leaves either the old file or the new
 * one.  A file that is torn, corrupt or of another version is reported
 * and ignored: sonde starts clean rather than guess.
 */
#ifndef SONDE_STATE_H
#define SONDE_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "notify.h"
#include "rules.h"

#define STATE_VERSION	1
#define STATE_FILE	"alerts.json"

/* One alert as saved: its identity and its memory. */
struct state_alert {
	char			rule[NOTIFY_NAME_MAX];
	char			check[NOTIFY_NAME_MAX];
	struct rule_state	st;
	bool			told;	/* channels were told it fires */
};

/*
 * Writes the n alerts of v to dir/alerts.json atomically.  Returns 0, or
 * -1 with the reason in err.
 */
int	state_save(const char *dir, const char *agent,
	    const struct state_alert *v, size_t n, char *err, size_t errlen);
/*
 * Reads dir/alerts.json into *v (a new array of *n, caller frees).  A
 * missing file is 0 with *n = 0.  Returns -1 with the reason in err (what
 * is wrong and where) when the file cannot be used; *v is then NULL.
 */
int	state_load(const char *dir, struct state_alert **v, size_t *n,
	    char *err, size_t errlen);

/*
 * Vets dir, where sonde writes as root (the pid file) or as agent.user:
 * another user who can write there could plant a symlink or a hard link
 * where sonde is about to create a file.  Refused (-1, the reason in
 * err): a non-directory; a directory writable by group or others (mode
 * 1777 /tmp too); one owned by a user who is neither the caller nor root
 * (root may use the directory of the agent.user it becomes).  A dir that
 * does not exist yet is fine: sonde creates it 0700.  Returns 0.
 */
int	state_dir_check(const char *dir, char *err, size_t errlen);
/*
 * Writes txt and a newline to dir/name atomically (temporary file, fsync,
 * rename, fsync of dir; dir created if missing).  Returns 0, or -1 with
 * the reason in err.  Shared by every file in state_dir.
 */
int	state_write_atomic(const char *dir, const char *name, const char *txt,
	    char *err, size_t errlen);
/*
 * The two halves of state_write_atomic(), so a writer can sync a
 * directory once for several files (diskq's group commit).  Both are
 * safe on any thread: they touch their arguments and the file system
 * only.  state_write_file() writes txt and a newline to a temporary file,
 * fsyncs it and renames it to dir/name (dir created if missing);
 * state_sync_dir() fsyncs dir, which makes the rename durable.  Each
 * returns 0, or -1 with the reason in err.
 */
int	state_write_file(const char *dir, const char *name, const char *txt,
	    char *err, size_t errlen);
int	state_sync_dir(const char *dir, char *err, size_t errlen);
/* Returns the text state_save() writes (new, caller frees), or NULL. */
char	*state_encode(const char *agent, const struct state_alert *v,
	    size_t n);

#endif /* SONDE_STATE_H */
