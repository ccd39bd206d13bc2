/* SPDX-License-Identifier: ISC */
/*
 * fuzz_incident: the incident log (incident_load() in src/incident.c,
 * what sonde report reads from state_dir/incidents.jsonl) with fuzzed
 * file contents, then incident_stats() for each check it names over the
 * last 30 days, as the report computes availability, MTTR and MTBF.
 *
 * Asserts: a failure has a reason; events have terminated names; the
 * arithmetic is defined (UBSan: no overflow on any time in the file) and
 * the figures make sense: 0 <= down time <= the span, open <= incidents,
 * MTTR and MTBF -1 or >= 0, incidents x the longest outage >= down time.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "incident.h"

/* 2026-11-27T18:00:00Z in µs: the report's "now". */
#define FUZZ_NOW	INT64_C(1795802400000000)
#define FUZZ_SPAN	(30 * 86400 * INT64_C(1000000))

static void
fuzz_stats(const struct incident_event *v, size_t n, const char *check)
{
	struct incident_stats	st;

	incident_stats(v, n, check, FUZZ_NOW - FUZZ_SPAN, FUZZ_NOW, &st);
	FUZZ_ASSERT(st.down_us >= 0 && st.down_us <= FUZZ_SPAN, "down %lld",
	    (long long)st.down_us);
	FUZZ_ASSERT(st.open <= st.incidents, "%u open of %u", st.open,
	    st.incidents);
	FUZZ_ASSERT(st.mttr_us >= -1 && st.mtbf_us >= -1, "mttr %lld mtbf "
	    "%lld", (long long)st.mttr_us, (long long)st.mtbf_us);
	/*
	 * The longest outage is its whole length (as MTTR's are), not
	 * clipped to the span: an outage open for 40 days is 40 days long.
	 * The clipped lengths add up to the down time.
	 */
	FUZZ_ASSERT(st.longest_us >= 0 && (double)st.longest_us *
	    st.incidents >= (double)st.down_us, "longest %lld, %u incidents, "
	    "down %lld", (long long)st.longest_us, st.incidents,
	    (long long)st.down_us);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct incident_event	*v = NULL;
	char			 err[512];
	size_t			 n, skipped, i;

	fuzz_write_file(INCIDENT_FILE, data, size);
	err[0] = '\0';
	if (incident_load(fuzz_dir(), &v, &n, &skipped, err,
	    sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0', "failed without a reason");
		free(v);
		return 0;
	}
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(memchr(v[i].check, '\0', sizeof(v[i].check)) !=
		    NULL && memchr(v[i].rule, '\0', sizeof(v[i].rule)) != NULL,
		    "names not terminated");
		/* Each check once is enough: the first few events'. */
		if (i < 8)
			fuzz_stats(v, n, v[i].check);
	}
	free(v);
	return 0;
}
