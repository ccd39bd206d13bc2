/*
 * history: what the agent remembers of each check's recent results, for
 * /metrics, /status.json and the status page.
 *
 * Per check: the last result (packed: history_last() gives it back whole,
 * so a kind's metrics can be read from it), counters, and a ring of the
 * last HISTORY_RING durations with a failure bit each (the sparkline).
 * Entries are keyed by check name and carry the check's fingerprint:
 * history_sync() after a reload keeps the entries of unchanged checks and
 * starts changed ones afresh.
 *
 * Memory: sizeof(struct history_entry) (200 bytes on LP64) per check, in
 * one array, 8 bytes of index per slot (2x checks), and the packed last
 * result: a struct probe_result is 2.5 KB, mostly the zero tails of fixed
 * string buffers, and packs to 100-400 bytes.  10,000 checks cost about
 * 5 MB; a result allocates only when its packed form outgrows the last.
 */
#ifndef SONDE_HISTORY_H
#define SONDE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

#define HISTORY_RING	32

struct config;
struct history;

struct history_entry {
	char			*name;		/* owned */
	uint64_t		 fingerprint;
	bool			 seen;		/* a result arrived */
	bool			 failing;	/* the last result failed */
	int64_t			 since;		/* wall µs: state began */
	uint64_t		 probes;
	uint64_t		 failures;
	uint8_t			*last;		/* owned: history_last() */
	uint16_t		 last_len;
	uint16_t		 last_cap;
	uint32_t		 ring[HISTORY_RING]; /* µs, saturated */
	uint32_t		 ring_failed;	/* bit i: ring[i] failed */
	uint8_t			 ring_next;	/* where the next goes */
	uint8_t			 ring_len;
};

/* Returns a new, empty history. */
struct history	*history_new(void);
/* Frees h and its entries; NULL is a no-op. */
void		 history_free(struct history *h);
/*
 * Makes h hold exactly cfg's checks (borrowed for the call): a check whose
 * name and fingerprint are unchanged keeps its entry, others start empty.
 */
void		 history_sync(struct history *h, const struct config *cfg);
/*
 * Records res (borrowed) for the check named name.  Returns the entry, or
 * NULL when h has no such check (a late result after a reload).
 */
const struct history_entry *history_add(struct history *h, const char *name,
		    const struct probe_result *res);
/* Returns name's entry (borrowed until the next sync), or NULL. */
const struct history_entry *history_find(const struct history *h,
		    const char *name);
/* Unpacks e's last result into out (e->seen must be true). */
void		 history_last(const struct history_entry *e,
		    struct probe_result *out);
/*
 * Copies the ring of e oldest first into us[] and failed[] (each at least
 * HISTORY_RING long); returns how many.
 */
size_t		 history_ring(const struct history_entry *e, uint32_t *us,
		    bool *failed);

#endif /* SONDE_HISTORY_H */
