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
 * what loads, saved with state_save() and loaded again, is the same;
 * and the rules run on it as after a restart (results at a fixed "now"
 * through rules_eval() with for, keep_for and repeat) with defined
 * arithmetic (UBSan) and sane transitions (bad <= of, flap in 0..100).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
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

/* 2026-11-27T18:00:00Z in µs: when the restored alerts see results. */
#define FUZZ_NOW	INT64_C(1795802400000000)

/* The rule the restored alerts run under, loaded once. */
static const struct rule_conf *
fuzz_rule(void)
{
	static const char	 text[] = "checks = ( { name = \"c\"; "
	    "type = \"tcp\"; host = \"127.0.0.1\"; port = 1; } );\n"
	    "rules = ( { name = \"r\"; when = \"failed\"; fire_after = 2; "
	    "of_last = 5; resolve_after = 2; for = \"1m\"; keep_for = "
	    "\"1m\"; repeat = \"1h\"; } );\n";
	static struct config	*cfg;
	char			 path[128];

	if (cfg == NULL) {
		fuzz_write_file("rules.conf", (const uint8_t *)text,
		    strlen(text));
		snprintf(path, sizeof(path), "%s/rules.conf", fuzz_dir());
		FUZZ_ASSERT((cfg = config_load(path, NULL)) != NULL &&
		    cfg->nrules == 1, "the rule does not load");
	}
	return &cfg->rules[0];
}

/* A few results on a restored alert, as the agent would feed them. */
static void
fuzz_alert_run(struct state_alert *a)
{
	static const int	 status[] = { 1, 1, 0, 1, 0, 0, 0 };
	struct rules_input	 in;
	struct rules_transition	 tr;
	size_t			 i;
	double			 fp;

	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.status = status[i];
		rules_eval(fuzz_rule(), &a->st, &in, FUZZ_NOW +
		    (int64_t)i * 40000000, &tr);
		FUZZ_ASSERT(tr.bad <= tr.of, "failed=%u/%u", tr.bad, tr.of);
		fp = rules_flap_percent(&a->st);
		FUZZ_ASSERT(fp >= 0 && fp <= 100, "flap %g%%", fp);
		FUZZ_ASSERT(a->st.state >= 0 && a->st.state < RULES_STATE_LAST,
		    "state %d", (int)a->st.state);
	}
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
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(memcmp(&v[i], &w[i], sizeof(v[i])) == 0,
		    "alert %zu (%s/%s) read back differs", i, v[i].rule,
		    v[i].check);
		fuzz_alert_run(&v[i]);
	}
	free(v);
	free(w);
	return 0;
}
