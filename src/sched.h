/*
 * sched: runs every check of the current config on its interval.
 *
 * - First runs are spread over each check's interval by a stable hash of
 *   its name, so a start or reload does not probe everything at once, and
 *   moved up to agent.schedule_grid; checks whose runs cost a TLS
 *   handshake (probe_check_handshakes()) to a finer grid when the whole
 *   grid would start too many handshakes at once (sched_handshake_grid).
 * - Runs are due on a fixed grid (due += interval): no drift.  A check
 *   never overlaps itself: a run still going when the next is due makes the
 *   scheduler skip that slot (counted).
 * - At most agent.max_in_flight probes run at once; runs beyond the cap wait
 *   in due order and start as slots free up.
 * - Each run gets one absolute deadline, start + timeout.
 * - Schedule lag (actual start minus due time) goes into a histogram.
 * - Reloading (sched_set_config over a periodic schedule) keeps each check
 *   whose name and fingerprint are unchanged exactly where it was: same
 *   grid slot, same run in flight (which keeps the old generation
 *   referenced until it ends), same place in the wait queue; so no probe
 *   is lost or doubled.  Changed checks start over from their first
 *   offset; removed ones have their run cancelled (never reported).
 * - sched_run_once() or stopping aborts every run of the generation
 *   installed before: their results are never reported.
 *
 * Results are handed to the result callback; the scheduler keeps none.
 */
#ifndef SONDE_SCHED_H
#define SONDE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

struct check_conf;
struct config;
struct loop;
struct probe_result;
struct resolver;
struct sched;

/* Both borrowed for the call. */
typedef void (*sched_result_cb)(const struct check_conf *check,
    const struct probe_result *result, void *arg);

struct sched_stats {
	uint64_t	started;
	uint64_t	completed;
	uint64_t	skipped;	/* slots not run: overlap or missed */
	uint64_t	waited;		/* runs delayed by the in-flight cap */
	uint64_t	aborted;	/* runs cancelled by stop or reload */
	size_t		in_flight;
	size_t		checks;
	struct hist	lag;		/* µs */
};

/* Returns a new scheduler; loop and resolver are borrowed. */
struct sched	*sched_new(struct loop *loop, struct resolver *resolver,
		    sched_result_cb cb, void *arg);
/* Aborts every run in flight and frees; NULL is a no-op. */
void		 sched_free(struct sched *s);
/*
 * Schedules every check of cfg (takes a reference), replacing any config
 * installed before as described above (reload).  A new check's first
 * run is sched_first_offset() after now; agent.max_in_flight < 1 means no
 * cap.  NULL is sched_stop().
 */
void		 sched_set_config(struct sched *s, struct config *cfg);
/*
 * Runs the given checks of cfg (takes a reference) once each, starting now,
 * concurrently up to the in-flight cap; no periodic schedule.  checks are
 * borrowed from cfg.  Like sched_set_config(), this replaces whatever was
 * installed.  Returns the number of runs queued.
 */
size_t		 sched_run_once(struct sched *s, struct config *cfg,
		    const struct check_conf *const *checks, size_t n);
/* Aborts every run in flight and stops scheduling (drops the config). */
void		 sched_stop(struct sched *s);
/* Copies the counters and the lag histogram. */
void		 sched_get_stats(const struct sched *s, struct sched_stats *st);

/* Returns a stable 64-bit hash of name (FNV-1a). */
uint64_t	 sched_hash(const char *name);
/*
 * Returns the offset in [0, interval) of name's first run: sched_hash(name)
 * mod interval (0 when interval <= 0).  sched passes the interval in µs.
 */
int64_t		 sched_first_offset(const char *name, int64_t interval);
/*
 * The first slot of a check installed at now (µs): now plus its offset,
 * moved up to the next multiple of grid (µs, on the loop's clock) when
 * interval is a whole number of grid steps, so that checks whose offsets
 * fall in one step start together, in one wakeup, and stay together.
 */
int64_t		 sched_first_due(int64_t now, const char *name, int64_t interval,
		    int64_t grid);
/*
 * The grid (µs) for checks whose runs are TLS handshakes, per_ks of them
 * every 1,000 s in all: the largest divisor of grid, in whole ms, whose
 * steps hold at most 5 handshakes on average (1 ms at the least); grid
 * itself when it is 0 or not whole ms.
 */
int64_t		 sched_handshake_grid(int64_t grid, int64_t per_ks);

#endif /* SONDE_SCHED_H */
