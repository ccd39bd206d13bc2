/* SPDX-License-Identifier: ISC */
/*
 * history: the per-check memory of recent results.  This module owns the
 * entries and their index (open addressing on sched_hash() of the name,
 * over 2x the checks); it does not own the config it syncs to, nor decide
 * what a result means (the agent logs changes, rules decide alerts).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "history.h"
#include "pack.h"
#include "sched.h"
#include "xmalloc.h"

#define HISTORY_EMPTY	UINT32_MAX
#define HISTORY_PACK_MAX	PACK_MAX(sizeof(struct probe_result))

_Static_assert(sizeof(struct probe_result) % sizeof(uint64_t) == 0,
    "history packs a probe_result in whole words");
_Static_assert(HISTORY_PACK_MAX <= UINT16_MAX, "packed length in 16 bits");

struct history {
	struct history_entry	*entries;	/* dense, in config order */
	size_t			 n;
	uint32_t		*index;		/* HISTORY_EMPTY or entry */
	size_t			 mask;		/* index slots - 1 */
};

struct history *
history_new(void)
{
	return xcalloc(1, sizeof(struct history));
}

static void
history_clear(struct history *h)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		free(h->entries[i].name);
		free(h->entries[i].last);
	}
	free(h->entries);
	free(h->index);
	h->entries = NULL;
	h->index = NULL;
	h->n = 0;
	h->mask = 0;
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	history_clear(h);
	free(h);
}

/* Returns the index slot of name: its entry's, or the empty one. */
static size_t
history_slot(const struct history *h, const char *name)
{
	size_t	i;

	for (i = sched_hash(name) & h->mask; h->index[i] != HISTORY_EMPTY;
	    i = (i + 1) & h->mask)
		if (strcmp(h->entries[h->index[i]].name, name) == 0)
			break;
	return i;
}

const struct history_entry *
history_find(const struct history *h, const char *name)
{
	size_t	i;

	if (h->index == NULL)
		return NULL;
	i = history_slot(h, name);
	return h->index[i] == HISTORY_EMPTY ? NULL :
	    &h->entries[h->index[i]];
}

void
history_sync(struct history *h, const struct config *cfg)
{
	struct history			 nh;
	const struct history_entry	*old;
	struct history_entry		*e;
	size_t				 cap, i, slot;

	for (cap = 16; cap < 2 * cfg->nchecks + 1; cap *= 2)
		;
	nh.entries = xcalloc(cfg->nchecks + 1, sizeof(*nh.entries));
	nh.index = xreallocarray(NULL, cap, sizeof(*nh.index));
	memset(nh.index, 0xff, cap * sizeof(*nh.index));
	nh.mask = cap - 1;
	nh.n = 0;
	for (i = 0; i < cfg->nchecks; i++) {
		slot = history_slot(&nh, cfg->checks[i].name);
		if (nh.index[slot] != HISTORY_EMPTY)
			continue;	/* a duplicate; config.c rejects them */
		e = &nh.entries[nh.n];
		old = history_find(h, cfg->checks[i].name);
		if (old != NULL &&
		    old->fingerprint == cfg->checks[i].fingerprint) {
			*e = *old;
			e->name = xstrdup(old->name);
			e->last = NULL;
			e->last_cap = 0;
			if (old->last_len > 0) {
				e->last = xmalloc(old->last_len);
				memcpy(e->last, old->last, old->last_len);
				e->last_cap = old->last_len;
			}
		} else {
			e->name = xstrdup(cfg->checks[i].name);
			e->fingerprint = cfg->checks[i].fingerprint;
		}
		nh.index[slot] = (uint32_t)nh.n++;
	}
	history_clear(h);
	*h = nh;
}

/*
 * A result is memset to zero before a probe fills it (probe.c), so it
 * packs to its few non-zero runs (pack.h).
 */
void
history_last(const struct history_entry *e, struct probe_result *out)
{
	pack_decode(e->last, e->last_len, out, sizeof(*out));
}

/* Keeps res packed in e, reallocating only when it grew. */
static void
history_keep(struct history_entry *e, const struct probe_result *res)
{
	uint8_t	buf[HISTORY_PACK_MAX];
	size_t	len = pack_encode(res, sizeof(*res), buf);

	if (len > e->last_cap) {
		e->last_cap = (uint16_t)((len + 63) & ~(size_t)63);
		e->last = xreallocarray(e->last, e->last_cap, 1);
	}
	if (len > 0)
		memcpy(e->last, buf, len);
	e->last_len = (uint16_t)len;
}

const struct history_entry *
history_add(struct history *h, const char *name,
    const struct probe_result *res)
{
	struct history_entry	*e;
	bool			 failed = res->status != PROBE_OK;
	size_t			 i;

	if (h->index == NULL ||
	    h->index[i = history_slot(h, name)] == HISTORY_EMPTY)
		return NULL;
	e = &h->entries[h->index[i]];
	if (!e->seen || e->failing != failed)
		e->since = res->started_at;
	e->seen = true;
	e->failing = failed;
	e->probes++;
	e->failures += failed;
	history_keep(e, res);
	e->ring[e->ring_next] = res->duration < 0 ? 0 :
	    res->duration > UINT32_MAX ? UINT32_MAX : (uint32_t)res->duration;
	if (failed)
		e->ring_failed |= UINT32_C(1) << e->ring_next;
	else
		e->ring_failed &= ~(UINT32_C(1) << e->ring_next);
	e->ring_next = (uint8_t)((e->ring_next + 1) % HISTORY_RING);
	if (e->ring_len < HISTORY_RING)
		e->ring_len++;
	return e;
}

size_t
history_ring(const struct history_entry *e, uint32_t *us, bool *failed)
{
	size_t	i, at;

	at = (e->ring_next + HISTORY_RING - e->ring_len) % HISTORY_RING;
	for (i = 0; i < e->ring_len; i++, at = (at + 1) % HISTORY_RING) {
		us[i] = e->ring[at];
		failed[i] = (e->ring_failed >> at) & 1;
	}
	return e->ring_len;
}
