/* SPDX-License-Identifier: ISC */
/*
 * fuzz_state: the alert state file (state_load() in src/state.c, what
 * sonde reads from state_dir/alerts.json at startup) with fuzzed file
 * contents.
 *
 * Asserts: a file that loads gives alerts the rules can run on (a known
 * state; nwindow <= 64 results and no window bit beyond them, nflap <=
 * RULES_FLAP_RESULTS and no flap bit beyond them, so "failed=3/5" can
 * never read "failed=7/5"; names terminated); a failure has a reason;
 * and what loads, saved with state_save() and loaded again, is the same.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "rules.h"
#include "state.h"

static void
fuzz_alert_sane(const struct state_alert *a)
{
	const struct rule_state	*st = &a->st;

	FUZZ_ASSERT(memchr(a->rule, '\0', sizeof(a->rule)) != NULL &&
	    memchr(a->check, '\0', sizeof(a->check)) != NULL, "names");
	FUZZ_ASSERT(st->state >= 0 && st->state < RULES_STATE_LAST,
	    "state %d", (int)st->state);
	FUZZ_ASSERT(st->nwindow <= 64, "nwindow %u", st->nwindow);
	FUZZ_ASSERT(st->nwindow == 64 || st->window >> st->nwindow == 0,
	    "window 0x%llx holds more than its %u results",
	    (unsigned long long)st->window, st->nwindow);
	FUZZ_ASSERT(st->nflap <= RULES_FLAP_RESULTS, "nflap %u", st->nflap);
	FUZZ_ASSERT(st->flap_hist >> st->nflap == 0, "flap_hist 0x%x holds "
	    "more than its %u results", st->flap_hist, st->nflap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_alert	*v = NULL, *w = NULL;
	char			 err[512], dir2[128];
	size_t			 n, m, i;

	fuzz_write_file(STATE_FILE, data, size);
	err[0] = '\0';
	if (state_load(fuzz_dir(), &v, &n, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(v == NULL && err[0] != '\0', "failed without a "
		    "reason");
		return 0;
	}
	for (i = 0; i < n; i++)
		fuzz_alert_sane(&v[i]);
	snprintf(dir2, sizeof(dir2), "%s/again", fuzz_dir());
	FUZZ_ASSERT(state_save(dir2, "fuzz", v, n, err, sizeof(err)) == 0,
	    "cannot save what loaded: %s", err);
	FUZZ_ASSERT(state_load(dir2, &w, &m, err, sizeof(err)) == 0,
	    "what was saved does not load: %s", err);
	FUZZ_ASSERT(m == n, "%zu alerts, %zu read back", n, m);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(memcmp(&v[i], &w[i], sizeof(v[i])) == 0,
		    "alert %zu (%s/%s) read back differs", i, v[i].rule,
		    v[i].check);
	free(v);
	free(w);
	return 0;
}
