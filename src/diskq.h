/*
 * diskq: the durable writes of state_dir, off the event loop.
 *
 * One writer thread (the only other thread in sonde) takes jobs from a
 * FIFO and does the blocking file-system work: write a file atomically
 * (temporary file, fsync, rename, fsync of the directory) or unlink one.
 * The loop hands it owned text and learns of each completion through an
 * eventfd it watches: callbacks run on the loop thread, never on the
 * writer.  FIFO order is the durability order: a job is reported done
 * only when it and every job queued before it are on disk.
 *
 * Group commit: the writer takes every pending job at once (at most
 * DISKQ_BATCH_MAX), writes and fsyncs each file, then fsyncs each
 * directory once; a write is reported durable only after both its data
 * and its directory entry are synced.
 *
 * Coalescing: a write of a state file (alerts.json, slo.json, firing.json)
 * queued while an older write of the same file has not started replaces
 * it; the older text is dropped, the newer job moves to the tail (it must
 * stay after every record its text speaks of), and the older callback is
 * not called: the newer one stands for both.  A slow disk therefore holds
 * at most one pending write of each state file.
 */
#ifndef SONDE_DISKQ_H
#define SONDE_DISKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

struct loop;
struct diskq;

#define DISKQ_BATCH_MAX	256	/* jobs per group commit */
#define DISKQ_DIRS_MAX	4	/* distinct directories per group commit */
#define DISKQ_ERR_MAX	256

/* What a job came to; borrowed for the duration of the callback. */
struct diskq_done {
	int		 rc;		/* 0, or -1: err says why */
	const char	*err;		/* "" when rc is 0 */
	int64_t		 us;		/* queued to durable, µs */
};

/* Runs on the loop thread when a job is done; tag is the caller's. */
typedef void (*diskq_done_cb)(void *arg, uint64_t tag,
    const struct diskq_done *done);
/*
 * Tests only: runs on the WRITER thread before each job with the file
 * name (NULL for a barrier), to stall the writer on cue.
 */
typedef void (*diskq_hook_cb)(const char *name, void *arg);

struct diskq_stats {
	size_t		 depth;		/* queued or being written */
	size_t		 depth_max;
	uint64_t	 jobs;		/* completed */
	uint64_t	 failed;
	uint64_t	 coalesced;	/* writes replaced by newer ones */
	uint64_t	 syncs;		/* directory fsyncs */
	struct hist	 lat;		/* queued to durable, µs */
};

/*
 * Returns a new queue on loop (borrowed) with its writer thread started
 * (every signal blocked in it), or NULL with the reason in err.
 */
struct diskq	*diskq_new(struct loop *loop, char *err, size_t errlen);
/* Flushes (diskq_flush()), stops the writer and frees; NULL is a no-op. */
void		 diskq_free(struct diskq *q);
/*
 * Queues dir/name to be written atomically with txt and a newline; txt
 * becomes the queue's (freed by it).  With coalesce, a pending write of
 * the same dir/name is replaced (see above).  cb may be NULL.  Returns 1
 * when a pending write was replaced, else 0.
 */
int		 diskq_write(struct diskq *q, const char *dir, const char *name,
		    char *txt, bool coalesce, diskq_done_cb cb, void *arg,
		    uint64_t tag);
/* Queues the removal of dir/name (a missing file is no error). */
void		 diskq_unlink(struct diskq *q, const char *dir,
		    const char *name, diskq_done_cb cb, void *arg,
		    uint64_t tag);
/* cb runs once every job queued before this call is done. */
void		 diskq_barrier(struct diskq *q, diskq_done_cb cb, void *arg,
		    uint64_t tag);
/*
 * Blocks until every job is done and its callback has run (callbacks
 * queued by callbacks included).  For the stop, --once and tests: never
 * call it from a live loop.
 */
void		 diskq_flush(struct diskq *q);
/* Returns the number of jobs queued or being written. */
size_t		 diskq_depth(const struct diskq *q);
/* Fills *st (a snapshot, loop thread). */
void		 diskq_get_stats(const struct diskq *q, struct diskq_stats *st);
/* Tests: installs hook (see diskq_hook_cb); NULL removes it. */
void		 diskq_set_hook(struct diskq *q, diskq_hook_cb hook,
		    void *arg);

#endif /* SONDE_DISKQ_H */
