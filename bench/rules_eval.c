/* SPDX-License-Identifier: ISC */
/*
 * rules_eval: the pure evaluator's cost per result, alone (not a test).
 * A 3-of-5 rule with flap detection is fed 20 million seeded results, 10%
 * of them failures; prints ns per result.  make bench/rules_eval
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rules.h"

#define N	20000000L

int
main(void)
{
	struct rule_conf	r;
	struct rule_state	st;
	struct rules_transition	tr;
	struct rules_input	in;
	struct timespec		a, b;
	uint32_t		x = 1;
	long			i, events = 0;

	memset(&r, 0, sizeof(r));
	r.when = RULES_WHEN_FAILED;
	r.fire_after = 3;
	r.of_last = 5;
	r.resolve_after = 2;
	r.send_resolved = true;
	r.flap_high = RULES_FLAP_HIGH;
	r.flap_low = RULES_FLAP_LOW;
	rules_state_init(&st, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		memset(&in, 0, sizeof(in));
		in.status = (x >> 16) % 10 == 0 ? 3 : 0;
		events += rules_eval(&r, &st, &in, i * 1000000LL, &tr);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("rules_eval: %.1f ns per result (%ld results, %ld with a "
	    "transition)\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / N, N, events);
	return 0;
}
