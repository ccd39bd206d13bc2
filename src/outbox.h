/*
 * outbox: notifications on disk until their channel confirms them.
 *
 * Every (notification, channel) pair is one record, a versioned JSON file
 * in state_dir/outbox/ (written to a temporary file, fsync'ed, renamed,
 * directory fsync'ed) BEFORE the first send, and removed only when the
 * channel answers `delivered`.  A record a channel `rejected` moves to
 * outbox/rejected/ for inspection and is not retried.  At startup every
 * record found is sent again, in order: a kill -9 at any point loses
 * nothing, but a send that was in flight when the process died is sent a
 * second time (Slack has no idempotency key; Opsgenie dedups by alias).
 *
 * Order: each channel sends its records strictly in the order they were
 * written (a sequence number in the name and in the record), one send in
 * flight per channel, so a resolve never overtakes its fire.  A failed
 * send is retried after an exponential backoff with jitter (1s, 2s, 4s ...
 * capped), or after the service's Retry-After when it is longer.  A
 * record older than OUTBOX_DELAY_NOTE_US when it is finally sent says so:
 * "delayed 14m: channel was unreachable".
 *
 * Bounded: when a new record would pass the record or byte cap, the oldest
 * records that only carry news (resolved, stable) are dropped first, then
 * the oldest of any kind; never the one in flight.  Each drop is logged and
 * counted.
 */
#ifndef SONDE_OUTBOX_H
#define SONDE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct diskq;
struct loop;
struct notify_item;

#define OUTBOX_VERSION		1
#define OUTBOX_DIR		"outbox"
#define OUTBOX_FIRING		"firing.json"	/* re-posts, in OUTBOX_DIR */
#define OUTBOX_MAX_RECORDS	10000
#define OUTBOX_MAX_BYTES	(16 * 1024 * 1024)
#define OUTBOX_BACKOFF_MIN_US	(1000000LL)
/*
 * 1 min, not more: when a channel comes back, what waited goes out within
 * a minute (a one-minute window of a flaky webhook is not missed), at the
 * cost of one request a minute per channel while it is down.
 */
#define OUTBOX_BACKOFF_MAX_US	(60 * 1000000LL)
#define OUTBOX_RETRY_AFTER_MAX_US (3600 * 1000000LL)
#define OUTBOX_DELAY_NOTE_US	(120 * 1000000LL)

struct outbox_limits {
	size_t		max_records;
	size_t		max_bytes;
	int64_t		backoff_min;	/* µs */
	int64_t		backoff_max;
	int64_t		delay_note;	/* µs; older records say so */
};

/* Counters for the metrics endpoint; a snapshot. */
struct outbox_stats {
	size_t		pending;	/* records waiting or in flight */
	size_t		bytes;
	uint64_t	written;
	uint64_t	delivered;
	uint64_t	retried;	/* sends answered `retry` */
	uint64_t	rejected;
	uint64_t	dropped;	/* by the cap */
	uint64_t	not_durable;	/* kept in memory only: disk failed */
};

/*
 * Returns a new outbox for state_dir/outbox on loop (both borrowed; the
 * directory is created), with every record already there loaded, in
 * order; limits NULL means the defaults.  Nothing is sent before
 * outbox_set_config().  Returns NULL with the reason in err.
 */
struct outbox	*outbox_new(struct loop *loop, const char *state_dir,
		    const struct outbox_limits *limits, char *err,
		    size_t errlen);
/* Cancels sends in flight (records stay on disk) and frees; NULL no-op. */
void		 outbox_free(struct outbox *ob);
/*
 * Uses cfg's channels from now on (a reference is held).  Records of a
 * channel that cfg does not have wait on disk, logged once.
 */
void		 outbox_set_config(struct outbox *ob, struct config *cfg);
/*
 * Writes a record of the n items for channel and queues it.  Returns 0;
 * -1 with the reason in err when it could not be written to disk (it is
 * then still queued, in memory).
 */
int		 outbox_put(struct outbox *ob, const char *channel,
		    const struct notify_item *items, size_t n, char *err,
		    size_t errlen);
/*
 * With on, records written from now on wait, unsent, until
 * outbox_release().  The agent holds them until the alert state that
 * says they were told is saved: delivered before that, a kill -9 would
 * leave a notification out in the world and a saved state that fires the
 * alert again after the restart.  Records found at startup never wait.
 */
void		 outbox_hold_new(struct outbox *ob, bool on);
/* Lets every held record go, and starts the channels that can send. */
void		 outbox_release(struct outbox *ob);
/* Lets the held records of sequence number <= seq go, the same way. */
void		 outbox_release_upto(struct outbox *ob, uint64_t seq);
/* True when a record waits for outbox_release(). */
bool		 outbox_holding(const struct outbox *ob);
/* Returns the sequence number of the newest record (0: none yet). */
uint64_t	 outbox_last_seq(const struct outbox *ob);
/*
 * Writes records, their removal and firing.json through dq (borrowed;
 * NULL: in place, blocking).  A record queued there is not sent before
 * its write is done; a failed write is logged then, and the record sent
 * from memory (counted in not_durable).  outbox_put() then returns 0.
 * outbox_free() flushes dq.
 */
void		 outbox_set_diskq(struct outbox *ob, struct diskq *dq);
/*
 * Calls cb(item, arg) for each item of the records found on disk when ob
 * was opened, oldest first: what the last run spooled and did not see
 * delivered.
 */
void		 outbox_each_restored(const struct outbox *ob,
		    void (*cb)(const struct notify_item *, void *), void *arg);
/* Fills *st. */
void		 outbox_get_stats(const struct outbox *ob,
		    struct outbox_stats *st);
/* Returns the number of records waiting for channel (NULL: all). */
size_t		 outbox_pending(const struct outbox *ob, const char *channel);

/*
 * The notify sink: "log" is written at once (notify_log); every other
 * channel goes through the outbox.  arg is the struct outbox.
 */
void		 outbox_sink_send(void *arg, const char *channel,
		    const struct notify_item *items, size_t n);

/* Record encoding, exposed for tests: returns a new JSON text. */
char		*outbox_encode(uint64_t seq, const char *channel,
		    int64_t created, const struct notify_item *items,
		    size_t n);
/*
 * Decodes txt into *items (new array of *n) and the header fields.
 * Returns 0, or -1 with what is wrong in err.
 */
int		 outbox_decode(const char *txt, uint64_t *seq, char *channel,
		    size_t channellen, int64_t *created,
		    struct notify_item **items, size_t *n, char *err,
		    size_t errlen);

#endif /* SONDE_OUTBOX_H */
