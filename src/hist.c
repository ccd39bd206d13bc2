/* SPDX-License-Identifier: ISC */
/*
 * hist: log-linear histogram (HdrHistogram's idea at its smallest).
 *
 * Values below 16 get a bucket each; above, every power of two is cut into
 * 16 equal sub-buckets, so a bucket's width is at most 1/16 of its value.
 * 1,024 counters cover all of int64_t; there is no allocation.
 */
#include "autoconf.h"

#include <string.h>

#include "hist.h"

#define HIST_SUB	(1 << HIST_SUB_BITS)

static unsigned
hist_index(uint64_t v)
{
	unsigned	msb, e;

	if (v < HIST_SUB)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	e = msb - HIST_SUB_BITS + 1;
	return e * HIST_SUB + (unsigned)((v >> (e - 1)) & (HIST_SUB - 1));
}

/* The middle of bucket idx. */
static int64_t
hist_value(unsigned idx)
{
	unsigned	e = idx / HIST_SUB, sub = idx % HIST_SUB;
	uint64_t	low, width;

	if (e == 0)
		return (int64_t)idx;
	low = (uint64_t)(HIST_SUB + sub) << (e - 1);
	width = (uint64_t)1 << (e - 1);
	return (int64_t)(low + width / 2);
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
hist_add(struct hist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	h->buckets[hist_index((uint64_t)v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

int64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	rank, seen = 0;
	unsigned	i;
	int64_t		v;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		q = 0;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
