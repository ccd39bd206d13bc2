/* SPDX-License-Identifier: ISC */
/*
 * fuzz_slo: the SLO state file (slo_file_load() in src/slo.c, what sonde
 * restores from state_dir/slo.json at startup and what sonde report
 * reads) with fuzzed file contents, then what is done with a store that
 * loaded: its figures at the time it was saved and now, the time since
 * the save counted as unknown (slo_table_restore()), a new result.
 *
 * Asserts: a failure has a reason; arithmetic on a loaded store is
 * defined (UBSan: no overflow, no shift or index out of range) and its
 * figures make sense: availability in [0, 1] or NaN, budget left <= 1,
 * unknown time >= 0, burn rates >= 0 or NaN.
 */
#include "autoconf.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "slo.h"

/* 2026-11-27T18:00:00Z in µs: "now" for a store read from the file. */
#define FUZZ_NOW	INT64_C(1795802400000000)

static void
fuzz_figures(const struct slo_saved *s, int64_t now)
{
	struct slo_figures	f;
	size_t			i;

	memset(&f, 0, sizeof(f));
	slo_store_figures(&s->store, &s->conf, now, &f);
	FUZZ_ASSERT(isnan(f.availability) || (f.availability >= 0 &&
	    f.availability <= 1), "availability %g", f.availability);
	FUZZ_ASSERT(isnan(f.budget_left) || f.budget_left <= 1,
	    "budget left %g", f.budget_left);
	FUZZ_ASSERT(f.unknown_us >= 0, "unknown %lld",
	    (long long)f.unknown_us);
	FUZZ_ASSERT(f.exhausted_in_us >= -1, "exhausted in %lld",
	    (long long)f.exhausted_in_us);
	for (i = 0; i < SLO_NBURN; i++)
		FUZZ_ASSERT(isnan(f.burn[i]) || f.burn[i] >= 0, "burn %g",
		    f.burn[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slo_saved	*v = NULL;
	char			 err[512];
	int64_t			 saved_at;
	size_t			 n, i;

	fuzz_write_file(SLO_FILE, data, size);
	err[0] = '\0';
	if (slo_file_load(fuzz_dir(), &v, &n, &saved_at, err,
	    sizeof(err)) == -1) {
		FUZZ_ASSERT(v == NULL && err[0] != '\0', "failed without a "
		    "reason");
		return 0;
	}
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(memchr(v[i].check, '\0', sizeof(v[i].check)) !=
		    NULL, "check name not terminated");
		if (saved_at >= 0)
			fuzz_figures(&v[i], saved_at);
		fuzz_figures(&v[i], FUZZ_NOW);
		if (FUZZ_NOW > saved_at)
			slo_store_unknown(&v[i].store, saved_at, FUZZ_NOW);
		slo_store_add(&v[i].store, FUZZ_NOW, false);
		fuzz_figures(&v[i], FUZZ_NOW);
	}
	free(v);
	return 0;
}
