/*
 * report: sonde report, the SLO and incident figures of a state dir.
 *
 * It reads agent.state_dir/slo.json and the incident log and nothing
 * else: it works while the daemon runs (both files are replaced or
 * appended atomically) and on a copy of a state dir from another host.
 * Per check: availability over --since, error budget left over the SLO
 * window, incidents, MTTR, MTBF and the longest outage over --since, as
 * an 80-column table or one JSON object per line.
 */
#ifndef SONDE_REPORT_H
#define SONDE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_DEFAULT_SINCE_MS	(7 * 86400 * INT64_C(1000))

struct report_options {
	const char	 *state_dir;	/* read from here */
	int64_t		  since_ms;
	const char	**checks;	/* --check; none: every check */
	size_t		  nchecks;
	bool		  json;
};

/*
 * Writes the report of opt at wall µs now to out; problems go to err.
 * Returns the exit status: 0, 1 (nothing to report on: no such check,
 * no state), 2 (a state file cannot be used).
 */
int	report_run(const struct report_options *opt, int64_t now, FILE *out,
	    FILE *err);

#endif /* SONDE_REPORT_H */
