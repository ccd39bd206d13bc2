/*
 * incident: the incident log, every alert's firing and resolution as one
 * JSON line in agent.state_dir/incidents.jsonl, and what it says per
 * check (incidents, MTTR, MTBF, longest outage).
 *
 * A line is appended (one O_APPEND write, no fsync) at each firing and resolved
 * transition, whether or not a channel heard of it (silences hold
 * notifications, not incidents).  When the file would pass
 * INCIDENT_ROTATE_BYTES it is renamed to incidents.jsonl.1 (replacing the
 * previous one) and a new file begun; readers read .1 then the current
 * file.  A torn or foreign line is skipped and counted, never fatal.
 *
 * Per check, the firing intervals of all its alerts are merged: two
 * rules firing together on one check are one outage.
 */
#ifndef SONDE_INCIDENT_H
#define SONDE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify.h"

#define INCIDENT_FILE		"incidents.jsonl"
#define INCIDENT_ROTATE_BYTES	(1024 * 1024)

/* One line of the log. */
struct incident_event {
	bool		 resolved;	/* else firing */
	char		 agent[NOTIFY_TEXT_MAX];
	char		 rule[NOTIFY_NAME_MAX];
	char		 check[NOTIFY_NAME_MAX];
	char		 severity[16];
	char		 reason[32];
	char		 message[NOTIFY_TEXT_MAX];
	int64_t		 at;		/* wall µs */
	int64_t		 since;		/* resolved: when it fired; else 0 */
};

/* What the log says of one check over [from, to). */
struct incident_stats {
	unsigned int	 incidents;	/* merged outages overlapping */
	unsigned int	 open;		/* of which still firing at to */
	int64_t		 down_us;	/* outage time within [from, to) */
	int64_t		 mttr_us;	/* mean of resolved outages; -1 */
	int64_t		 mtbf_us;	/* (span - down) / incidents; -1 */
	int64_t		 longest_us;	/* 0: none */
};

/*
 * Appends ev to dir/incidents.jsonl, rotating first when the file would
 * pass rotate_bytes.  Returns 0, or -1 with the reason in err.
 */
int	incident_append(const char *dir, const struct incident_event *ev,
	    long rotate_bytes, char *err, size_t errlen);
/*
 * Reads dir/incidents.jsonl.1 and dir/incidents.jsonl into *v (a new
 * array of *n, in file order; caller frees); *skipped counts lines that
 * were not incident events.  Missing files are empty.  Returns 0, or -1
 * with err when a file exists but cannot be read.
 */
int	incident_load(const char *dir, struct incident_event **v, size_t *n,
	    size_t *skipped, char *err, size_t errlen);
/* Fills st for check from the n events of v over [from, to). */
void	incident_stats(const struct incident_event *v, size_t n,
	    const char *check, int64_t from, int64_t to,
	    struct incident_stats *st);

#endif /* SONDE_INCIDENT_H */
