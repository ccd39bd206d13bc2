/* SPDX-License-Identifier: ISC */
/*
 * sched: runs the checks of one config generation on their intervals.
 *
 * The scheduler owns one entry per check, all in one array (72 bytes each
 * on LP64, so 10,000 checks cost 720 kB), each with a loop timer embedded
 * for its next slot; the struct probe_run of a run, allocated only while it
 * is in flight; the FIFO of entries held back by the in-flight cap; and the
 * counters.  It holds one reference on the config it runs.  It does not own
 * the checks or their kind state (the config does), a probe's sockets and
 * buffers (the kind does), or results (the result callback gets them).
 *
 * Slots sit on a fixed grid anchored at the first run (due += interval), so
 * a late loop never makes a check drift.  Each slot costs one pop and one
 * push on the loop's timer heap: nothing here ever scans all checks, except
 * installing and dropping a config.  While an entry waits for the cap its
 * timer is not armed: the next slot is computed when the run really starts,
 * and slots that passed meanwhile are skipped (and counted), never run in
 * a burst.
 *
 * Reentrancy: the result callback may stop, reload or free the scheduler,
 * so it is the last thing run_done() does, and a finished run is freed by
 * loop_defer(), never inside the callback chain that reported it.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hist.h"
#include "log.h"
#include "loop.h"
#include "probe.h"
#include "sched.h"
#include "xmalloc.h"

/*
 * At most this many TLS handshakes due in one step of their grid, on
 * average: ~3.5 ms of CPU in one burst at ~0.7 ms each.
 */
#define SCHED_HANDSHAKES_PER_STEP	5

/* FNV-1a, 64 bit (draft-eastlake-fnv); changing it moves every schedule. */
#define SCHED_FNV_OFFSET	0xcbf29ce484222325ULL
#define SCHED_FNV_PRIME		0x100000001b3ULL

enum sched_state {
	SCHED_IDLE,		/* before its next slot (or done, run_once) */
	SCHED_WAITING,		/* due, held back by the in-flight cap */
	SCHED_RUNNING,		/* its probe is in flight */
	SCHED_STATE_LAST
};

static const char *const sched_state_names[] = {
	[SCHED_IDLE] = "idle",
	[SCHED_WAITING] = "waiting",
	[SCHED_RUNNING] = "running",
};
_Static_assert(sizeof(sched_state_names) / sizeof(sched_state_names[0]) ==
    SCHED_STATE_LAST, "sched_state_names out of step with the enum");

struct sched_run;

/*
 * due is the slot the entry is waiting for: the next one while idle or
 * running (the timer is armed at it), the one held back while waiting.
 */
struct sched_entry {
	const struct check_conf	*check;		/* borrowed from the config */
	struct loop_timer	 timer;
	int64_t			 due;		/* loop clock, µs */
	struct sched_run	*run;		/* while running */
	struct sched_entry	*wait_next;	/* while waiting */
	enum sched_state	 state;
	bool			 late;		/* slot held for a finishing run */
};
_Static_assert(sizeof(struct sched_entry) <= 80,
    "10,000 checks must fit the agent's memory budget");

/*
 * One run in flight; owned by the scheduler, freed with loop_defer().  It
 * holds a reference on the generation its check belongs to: a reload that
 * keeps the check lets the run finish against the old generation.
 */
struct sched_run {
	struct probe_run	 probe;
	struct sched_entry	*entry;
	struct config		*cfg;		/* a reference */
};

struct sched {
	struct loop		*loop;
	struct resolver		*resolver;
	sched_result_cb		 cb;
	void			*arg;

	struct config		*cfg;		/* a reference; NULL: stopped */
	struct sched_entry	*entries;
	size_t			 nentries;
	bool			 periodic;	/* false for sched_run_once() */
	size_t			 max_in_flight;	/* 0: no cap */
	int64_t			 grid;		/* µs, agent.schedule_grid */
	int64_t			 handshake_grid; /* µs, for handshakes */

	struct sched_entry	*wait_head;	/* FIFO, in due order */
	struct sched_entry	*wait_tail;

	struct sched_stats	 stats;
};

static void	sched_run_done(struct probe_run *, void *);

uint64_t
sched_hash(const char *name)
{
	const unsigned char	*p;
	uint64_t		 h = SCHED_FNV_OFFSET;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= *p;
		h *= SCHED_FNV_PRIME;
	}
	return h;
}

int64_t
sched_first_offset(const char *name, int64_t interval)
{
	if (interval <= 0)
		return 0;
	return (int64_t)(sched_hash(name) % (uint64_t)interval);
}

/*
 * Why a grid: at 100 probes/s spread to the µs, nearly every probe costs
 * a wakeup of its own to start and another for its answer, and on a VM
 * a wakeup costs more than the probe's own work.  On a 50 ms grid, 500
 * http checks every 5 s took half the CPU (110 against 230 µs a probe,
 * bench/http.sh's load).  The phase of a check moves by less than one
 * step; its period, and the lag counted from its due time, do not change.
 */
int64_t
sched_first_due(int64_t now, const char *name, int64_t interval,
    int64_t grid)
{
	int64_t	due = now + sched_first_offset(name, interval);

	if (grid <= 0 || interval % grid != 0 || due < 0)
		return due;
	return (due + grid - 1) / grid * grid;
}

/*
 * Why handshakes get a grid of their own: a TLS handshake is ~0.7 ms of
 * CPU, so at 10,000 tls checks every 10 s a 50 ms step held 50 of them,
 * one 35 ms burst that every timer behind it waited for (lag p99 16 ms).
 * Spread to the µs instead, 500 tls checks every 5 s cost 30 % more CPU
 * a probe (each handshake's round trips woke the loop on their own:
 * 1,220-1,300 against 950-1,020 µs, same host load).  So the step is cut
 * to a divisor of the grid small enough that it holds
 * SCHED_HANDSHAKES_PER_STEP on average: the whole grid at 100
 * handshakes/s, 5 ms at 1,000/s.
 */
int64_t
sched_handshake_grid(int64_t grid, int64_t per_ks)
{
	int64_t	ms = grid / 1000, d;

	if (grid <= 0 || grid % 1000 != 0)
		return grid;
	/* per_ks / 1e6 handshakes a ms, times d ms, at most the cap. */
	for (d = ms; d > 1; d--)
		if (ms % d == 0 &&
		    per_ks * d <= SCHED_HANDSHAKES_PER_STEP * INT64_C(1000000))
			break;
	return d * 1000;
}

static int64_t
sched_interval(const struct check_conf *check)
{
	/* config.c guarantees >= 1 ms; never let a 0 spin the loop. */
	return (check->interval_ms > 0 ? check->interval_ms : 1) * 1000;
}

/*
 * Sets the grids for cfg: its handshakes per 1,000 s decide theirs (an
 * integer, exact to < 1 per check for intervals in whole ms: 500 checks
 * at 5 s must give 100 a second, not 100.00000000000001).
 */
static void
sched_set_grids(struct sched *s, const struct config *cfg)
{
	int64_t	per_ks = 0;
	size_t	i;

	for (i = 0; i < cfg->nchecks; i++)
		if (probe_check_handshakes(&cfg->checks[i]))
			per_ks += INT64_C(1000000000) /
			    sched_interval(&cfg->checks[i]);
	s->grid = cfg->agent.schedule_grid_ms * 1000;
	s->handshake_grid = sched_handshake_grid(s->grid, per_ks);
	if (s->handshake_grid != s->grid)
		log_info("sched", "%lld TLS handshakes a second: their grid "
		    "is %lld ms", (long long)(per_ks / 1000),
		    (long long)(s->handshake_grid / 1000));
}

static void
sched_set_state(struct sched_entry *e, enum sched_state state)
{
	log_debug("sched", "check \"%s\": %s -> %s", e->check->name,
	    sched_state_names[e->state], sched_state_names[state]);
	e->state = state;
}

/*
 * Moves e->due to the next slot on the grid after the one just taken and
 * arms the timer.  A slot at or before now is already missed (the loop
 * stalled, or the entry waited for the cap): skip whole slots, counted,
 * instead of running a burst to catch up.
 */
static void
sched_advance(struct sched *s, struct sched_entry *e)
{
	int64_t	now = loop_now(s->loop);
	int64_t	interval = sched_interval(e->check);
	int64_t	next = e->due + interval, missed;

	if (!s->periodic)
		return;
	if (next <= now) {
		missed = (now - next) / interval + 1;
		next += missed * interval;
		s->stats.skipped += (uint64_t)missed;
		log_debug("sched", "check \"%s\": %lld slots missed",
		    e->check->name, (long long)missed);
	}
	e->due = next;
	loop_timer_at(s->loop, &e->timer, next);
}

static bool
sched_has_room(const struct sched *s)
{
	return s->max_in_flight == 0 || s->stats.in_flight < s->max_in_flight;
}

static void
sched_start(struct sched *s, struct sched_entry *e)
{
	struct sched_run	*r;
	int64_t			 now = loop_now(s->loop);

	hist_add(&s->stats.lag, now - e->due);
	s->stats.started++;
	s->stats.in_flight++;
	sched_set_state(e, SCHED_RUNNING);
	sched_advance(s, e);

	r = xcalloc(1, sizeof(*r));
	r->entry = e;
	r->cfg = config_ref(s->cfg);
	e->run = r;
	probe_run_init(&r->probe, s->loop, s->resolver, e->check);
	probe_run_start(&r->probe, now + e->check->timeout_ms * 1000,
	    sched_run_done, s);
}

/*
 * A slot of e comes due now: start it, queue it, or skip it.  A run whose
 * deadline falls within the first quarter of the interval after this slot
 * is about to end, by answer or timeout, so the slot is held for it rather
 * than skipped.  Without this, timeout == interval against a blackholed
 * target (each run ends a few µs after the next slot) probed only every
 * other interval, and rules would see failures at half speed.
 */
static void
sched_slot(struct sched *s, struct sched_entry *e)
{
	if (e->state == SCHED_RUNNING && e->run != NULL &&
	    e->run->probe.deadline <= e->due + sched_interval(e->check) / 4) {
		e->late = true;
		log_debug("sched", "check \"%s\": slot held for the run "
		    "still in flight", e->check->name);
		return;
	}
	if (e->state != SCHED_IDLE) {
		s->stats.skipped++;
		log_debug("sched", "check \"%s\": slot skipped, previous run "
		    "still %s", e->check->name, sched_state_names[e->state]);
		sched_advance(s, e);
		return;
	}
	if (sched_has_room(s)) {
		sched_start(s, e);
		return;
	}
	s->stats.waited++;
	e->wait_next = NULL;
	if (s->wait_tail != NULL)
		s->wait_tail->wait_next = e;
	else
		s->wait_head = e;
	s->wait_tail = e;
	sched_set_state(e, SCHED_WAITING);
}

static void
sched_timer_fired(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct sched		*s = arg;
	struct sched_entry	*e;

	(void)loop;
	e = (struct sched_entry *)(void *)
	    ((char *)timer - offsetof(struct sched_entry, timer));
	sched_slot(s, e);
}

static void
sched_start_waiting(struct sched *s)
{
	struct sched_entry	*e;

	while (s->wait_head != NULL && sched_has_room(s)) {
		e = s->wait_head;
		s->wait_head = e->wait_next;
		if (s->wait_head == NULL)
			s->wait_tail = NULL;
		e->wait_next = NULL;
		sched_start(s, e);
	}
}

static void
sched_run_free(struct loop *loop, void *arg)
{
	struct sched_run	*r = arg;

	(void)loop;
	config_unref(r->cfg);
	free(r);
}

/* Cancels e's run in flight, if any (never from inside its callbacks). */
static void
sched_abort_run(struct sched *s, struct sched_entry *e)
{
	if (e->run == NULL)
		return;
	/* Not inside this run's callbacks: done detached it first. */
	probe_run_abort(&e->run->probe);
	sched_run_free(s->loop, e->run);
	e->run = NULL;
	s->stats.in_flight--;
	s->stats.aborted++;
}

static void
sched_run_done(struct probe_run *probe, void *arg)
{
	struct sched		*s = arg;
	struct sched_run	*r;
	struct sched_entry	*e;

	r = (struct sched_run *)(void *)
	    ((char *)probe - offsetof(struct sched_run, probe));
	e = r->entry;
	e->run = NULL;
	sched_set_state(e, SCHED_IDLE);
	s->stats.in_flight--;
	s->stats.completed++;
	/* probe.c may still touch the run after this returns. */
	loop_defer(s->loop, sched_run_free, r);
	sched_start_waiting(s);
	if (e->late) {
		e->late = false;
		sched_slot(s, e);
	}
	/* Last: the callback may stop, reload or free the scheduler. */
	if (s->cb != NULL)
		s->cb(e->check, &probe->result, s->arg);
}

/* Aborts every run, forgets every entry and drops the config. */
static void
sched_drop(struct sched *s)
{
	struct sched_entry	*e;
	size_t			 i;

	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		loop_timer_cancel(s->loop, &e->timer);
		sched_abort_run(s, e);
	}
	free(s->entries);
	s->entries = NULL;
	s->nentries = 0;
	s->wait_head = s->wait_tail = NULL;
	config_unref(s->cfg);
	s->cfg = NULL;
}

/*
 * Replaces the installed generation with n idle entries for cfg.  The
 * reference is taken before the old one is dropped, so cfg may be the
 * generation already installed.
 */
static void
sched_install(struct sched *s, struct config *cfg, size_t n, bool periodic)
{
	size_t	i;

	config_ref(cfg);
	sched_drop(s);
	s->cfg = cfg;
	s->entries = xcalloc(n, sizeof(*s->entries));
	s->nentries = n;
	s->periodic = periodic;
	s->max_in_flight = cfg->agent.max_in_flight > 0 ?
	    (size_t)cfg->agent.max_in_flight : 0;
	for (i = 0; i < n; i++) {
		loop_timer_init(&s->entries[i].timer, sched_timer_fired, s);
		s->entries[i].state = SCHED_IDLE;
	}
}

struct sched *
sched_new(struct loop *loop, struct resolver *resolver, sched_result_cb cb,
    void *arg)
{
	struct sched	*s;

	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->resolver = resolver;
	s->cb = cb;
	s->arg = arg;
	hist_reset(&s->stats.lag);
	return s;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	sched_drop(s);
	free(s);
}

/*
 * Arms e's first slot: its offset into the interval, counted from now, on
 * the grid, or on the handshakes' grid when a run is a TLS handshake.
 */
static void
sched_first_slot(struct sched *s, struct sched_entry *e, int64_t now)
{
	e->due = sched_first_due(now, e->check->name, sched_interval(e->check),
	    probe_check_handshakes(e->check) ? s->handshake_grid : s->grid);
	loop_timer_at(s->loop, &e->timer, e->due);
}

/*
 * Returns the index of the entry for name in an open-addressed table of
 * old entry indexes (SIZE_MAX: empty), or SIZE_MAX.
 */
static size_t
sched_index_find(const size_t *tab, size_t mask, const struct sched_entry *old,
    const char *name)
{
	size_t	i;

	for (i = sched_hash(name) & mask; tab[i] != SIZE_MAX; i = (i + 1) & mask)
		if (strcmp(old[tab[i]].check->name, name) == 0)
			return tab[i];
	return SIZE_MAX;
}

/* Builds the name -> old entry table; returns it and sets *mask. */
static size_t *
sched_index_build(const struct sched *s, size_t *mask)
{
	size_t	*tab, cap, i, j;

	for (cap = 16; cap < 2 * s->nentries + 1; cap *= 2)
		;
	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < cap; i++)
		tab[i] = SIZE_MAX;
	for (i = 0; i < s->nentries; i++) {
		for (j = sched_hash(s->entries[i].check->name) & (cap - 1);
		    tab[j] != SIZE_MAX; j = (j + 1) & (cap - 1))
			;
		tab[j] = i;
	}
	*mask = cap - 1;
	return tab;
}

/*
 * Moves old's schedule to ne, which keeps the check: same slot on the
 * grid, same run in flight, same place in the wait queue (rebuilt by the
 * caller).  The timer moves because it is embedded in the entry.
 */
static void
sched_carry(struct sched *s, struct sched_entry *old, struct sched_entry *ne)
{
	ne->due = old->due;
	ne->state = old->state;
	ne->late = old->late;
	ne->run = old->run;
	if (ne->run != NULL)
		ne->run->entry = ne;
	old->run = NULL;
	if (loop_timer_armed(&old->timer)) {
		loop_timer_at(s->loop, &ne->timer, old->timer.due);
		loop_timer_cancel(s->loop, &old->timer);
	}
}

/* Rebuilds the wait FIFO in the old order, through map (old -> new). */
static void
sched_rewait(struct sched *s, struct sched_entry *old, const size_t *map)
{
	struct sched_entry	*e, *ne;

	e = s->wait_head;
	s->wait_head = s->wait_tail = NULL;
	for (; e != NULL; e = e->wait_next) {
		if (map[e - old] == SIZE_MAX)
			continue;
		ne = &s->entries[map[e - old]];
		ne->wait_next = NULL;
		if (s->wait_tail != NULL)
			s->wait_tail->wait_next = ne;
		else
			s->wait_head = ne;
		s->wait_tail = ne;
	}
}

/*
 * Swaps in cfg while periodic: a check with the same name and fingerprint
 * keeps its schedule (no slot lost or doubled), a changed one starts over
 * from its first offset, a removed one has its run cancelled.
 */
static void
sched_reload(struct sched *s, struct config *cfg, int64_t now)
{
	struct sched_entry	*old = s->entries, *ne;
	size_t			*tab, *map, mask, nold = s->nentries, i, j;
	size_t			 kept = 0;

	tab = sched_index_build(s, &mask);
	map = xcalloc(nold + 1, sizeof(*map));
	for (i = 0; i < nold; i++)
		map[i] = SIZE_MAX;
	s->entries = xcalloc(cfg->nchecks + 1, sizeof(*s->entries));
	s->nentries = cfg->nchecks;
	for (i = 0; i < cfg->nchecks; i++) {
		ne = &s->entries[i];
		ne->check = &cfg->checks[i];
		loop_timer_init(&ne->timer, sched_timer_fired, s);
		j = sched_index_find(tab, mask, old, ne->check->name);
		if (j != SIZE_MAX && old[j].check->fingerprint ==
		    ne->check->fingerprint && old[j].check->ops ==
		    ne->check->ops && map[j] == SIZE_MAX) {
			sched_carry(s, &old[j], ne);
			map[j] = i;
			kept++;
		} else
			sched_first_slot(s, ne, now);
	}
	sched_rewait(s, old, map);
	for (i = 0; i < nold; i++) {
		loop_timer_cancel(s->loop, &old[i].timer);
		sched_abort_run(s, &old[i]);
	}
	log_info("sched", "reload: %zu checks kept their schedule, %zu new or "
	    "changed, %zu removed or changed", kept, cfg->nchecks - kept,
	    nold - kept);
	free(map);
	free(tab);
	free(old);
	config_ref(cfg);
	config_unref(s->cfg);
	s->cfg = cfg;
}

void
sched_set_config(struct sched *s, struct config *cfg)
{
	int64_t	now;
	size_t	i;

	if (cfg == NULL) {
		sched_stop(s);
		return;
	}
	/* Fresh, not the cached now: loading a config takes a while. */
	now = loop_time(s->loop);
	sched_set_grids(s, cfg);
	if (s->cfg != NULL && s->periodic) {
		sched_reload(s, cfg, now);
		s->max_in_flight = cfg->agent.max_in_flight > 0 ?
		    (size_t)cfg->agent.max_in_flight : 0;
		sched_start_waiting(s);
		return;
	}
	sched_install(s, cfg, cfg->nchecks, true);
	for (i = 0; i < s->nentries; i++) {
		s->entries[i].check = &cfg->checks[i];
		sched_first_slot(s, &s->entries[i], now);
	}
	if (s->max_in_flight > 0)
		log_info("sched", "scheduling %zu checks, at most %zu in "
		    "flight", s->nentries, s->max_in_flight);
	else
		log_info("sched", "scheduling %zu checks, no in-flight cap",
		    s->nentries);
}

size_t
sched_run_once(struct sched *s, struct config *cfg,
    const struct check_conf *const *checks, size_t n)
{
	int64_t	now;
	size_t	i;

	sched_install(s, cfg, n, false);
	now = loop_time(s->loop);
	for (i = 0; i < n; i++) {
		s->entries[i].check = checks[i];
		s->entries[i].due = now;
		sched_slot(s, &s->entries[i]);
	}
	log_debug("sched", "running %zu checks once", n);
	return n;
}

void
sched_stop(struct sched *s)
{
	if (s->cfg == NULL)
		return;
	sched_drop(s);
	log_info("sched", "stopped");
}

void
sched_get_stats(const struct sched *s, struct sched_stats *st)
{
	*st = s->stats;
	st->checks = s->nentries;
}
