/*
 * hist: a fixed-size log-linear histogram of non-negative int64 values
 * (µs), for schedule lag and probe durations.  Quantiles come back within
 * about 6% of the true value; memory is constant whatever the count.
 */
#ifndef SONDE_HIST_H
#define SONDE_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	4			/* 16 sub-buckets per power of 2 */
#define HIST_BUCKETS	(64 << HIST_SUB_BITS)

struct hist {
	uint64_t	count;
	int64_t		max;
	int64_t		sum;
	uint32_t	buckets[HIST_BUCKETS];
};

void	hist_reset(struct hist *h);
/* Adds v (negative values count as 0). */
void	hist_add(struct hist *h, int64_t v);
/* Returns the q-quantile (0 <= q <= 1), 0 for an empty histogram. */
int64_t	hist_quantile(const struct hist *h, double q);

#endif /* SONDE_HIST_H */
