/* SPDX-License-Identifier: ISC */
/*
 * incident: the append-only incident log and its per-check figures.
 *
 * This module owns the line format (one JSON object per line, jansson),
 * the append and the size rotation, the tolerant reader, and the merge of
 * firing intervals into outages.  It owns no policy on which transitions
 * are incidents (alert.c calls it at firing and resolved) and no
 * presentation (report.c).  Blocking I/O here is local disk only: one
 * open, write and close per transition, no fsync.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "incident.h"
#include "result.h"
#include "xmalloc.h"

struct incident_span {
	int64_t	 start;
	int64_t	 end;		/* INT64_MAX: still firing */
};

static void
incident_iso(int64_t us, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(us / 1000000);

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}

static char *
incident_line(const struct incident_event *ev)
{
	json_t	*o;
	char	 at[64], *txt;

	incident_iso(ev->at, at, sizeof(at));
	o = json_pack("{s:s, s:s, s:I}", "event", ev->resolved ? "resolved" :
	    "firing", "at", at, "at_us", (json_int_t)ev->at);
	if (o == NULL)
		return NULL;
	/* A probe's message may quote the network: made valid UTF-8. */
	if (result_json_set_string(o, "agent", ev->agent) == -1 ||
	    result_json_set_string(o, "rule", ev->rule) == -1 ||
	    result_json_set_string(o, "check", ev->check) == -1 ||
	    result_json_set_string(o, "severity", ev->severity) == -1 ||
	    result_json_set_string(o, "reason", ev->reason) == -1 ||
	    result_json_set_string(o, "message", ev->message) == -1) {
		json_decref(o);
		return NULL;
	}
	if (ev->resolved) {
		json_object_set_new(o, "fired_at_us", json_integer(ev->since));
		json_object_set_new(o, "duration_seconds",
		    json_real((double)(ev->at - ev->since) / 1e6));
	}
	txt = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return txt;
}

/* Moves the log to .1 when adding len bytes would pass max. */
static int
incident_rotate(const char *path, size_t len, long max, char *err,
    size_t errlen)
{
	struct stat	 sb;
	char		*old;
	int		 rc = 0;

	if (stat(path, &sb) == -1 || sb.st_size + (off_t)len <= (off_t)max)
		return 0;
	old = xasprintf("%s.1", path);
	if (rename(path, old) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", path, old,
		    strerror(errno));
		rc = -1;
	}
	free(old);
	return rc;
}

int
incident_append(const char *dir, const struct incident_event *ev,
    long rotate_bytes, char *err, size_t errlen)
{
	char	*line, *path = NULL, *buf = NULL;
	size_t	 len;
	int	 fd = -1, rc = -1;

	if ((line = incident_line(ev)) == NULL) {
		snprintf(err, errlen, "cannot encode the incident");
		return -1;
	}
	buf = xasprintf("%s\n", line);
	len = strlen(buf);
	path = xasprintf("%s/%s", dir, INCIDENT_FILE);
	if (access(dir, F_OK) == -1 && errno == ENOENT &&
	    mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (incident_rotate(path, len, rotate_bytes, err, errlen) == -1)
		goto out;
	/*
	 * One write(2) with O_APPEND: a line is never interleaved, and it
	 * survives a crash of sonde.  No fsync per line: a storm of 1,000
	 * transitions must not stall the loop for 1,000 disk flushes; the
	 * kernel writes it back within its usual delay.
	 */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || write(fd, buf, len) != (ssize_t)len) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(line);
	free(buf);
	free(path);
	return rc;
}

/*
 * 9999-12-31T23:59:59.999999Z: past it (or before 1970) a time in the
 * log is not one sonde wrote, and the stats would overflow on it.
 */
#define INCIDENT_AT_MAX	INT64_C(253402300799999999)

/* One line into ev; returns 0, or -1 when it is not an event. */
static int
incident_parse(const char *line, struct incident_event *ev)
{
	json_t		*o;
	const char	*event, *agent = "", *rule, *check, *sev = "";
	const char	*reason = "", *msg = "";
	json_int_t	 at, since = 0;
	int		 rc = -1;

	if ((o = json_loads(line, 0, NULL)) == NULL)
		return -1;
	if (json_unpack(o, "{s:s, s:I, s:s, s:s, s?s, s?s, s?s, s?s, s?I}",
	    "event", &event, "at_us", &at, "rule", &rule, "check", &check,
	    "agent", &agent, "severity", &sev, "reason", &reason,
	    "message", &msg, "fired_at_us", &since) == 0 &&
	    (strcmp(event, "firing") == 0 || strcmp(event, "resolved") == 0) &&
	    at >= 0 && at <= INCIDENT_AT_MAX && since >= 0 &&
	    since <= INCIDENT_AT_MAX) {
		memset(ev, 0, sizeof(*ev));
		ev->resolved = event[0] == 'r';
		snprintf(ev->agent, sizeof(ev->agent), "%s", agent);
		snprintf(ev->rule, sizeof(ev->rule), "%s", rule);
		snprintf(ev->check, sizeof(ev->check), "%s", check);
		snprintf(ev->severity, sizeof(ev->severity), "%s", sev);
		snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
		snprintf(ev->message, sizeof(ev->message), "%s", msg);
		ev->at = at;
		ev->since = since;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static int
incident_read(const char *path, struct incident_event **v, size_t *n,
    size_t *cap, size_t *skipped, char *err, size_t errlen)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 linecap = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &linecap, fp) != -1) {
		if (*n == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		if (incident_parse(line, &(*v)[*n]) == 0)
			(*n)++;
		else
			(*skipped)++;
	}
	free(line);
	fclose(fp);
	return 0;
}

int
incident_load(const char *dir, struct incident_event **v, size_t *n,
    size_t *skipped, char *err, size_t errlen)
{
	char	*path, *old;
	size_t	 cap = 0;
	int	 rc;

	*v = NULL;
	*n = *skipped = 0;
	path = xasprintf("%s/%s", dir, INCIDENT_FILE);
	old = xasprintf("%s.1", path);
	rc = incident_read(old, v, n, &cap, skipped, err, errlen);
	if (rc == 0)
		rc = incident_read(path, v, n, &cap, skipped, err, errlen);
	free(path);
	free(old);
	if (rc == -1) {
		free(*v);
		*v = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- figures ------------------------------------------------------------- */

struct incident_open {
	const char	*rule;
	int64_t		 start;
};

static int
incident_span_cmp(const void *a, const void *b)
{
	const struct incident_span	*x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void
incident_span_add(struct incident_span **s, size_t *n, int64_t start,
    int64_t end)
{
	/*
	 * The wall clock stepped back between the firing and the resolve:
	 * the length is unknown, and none is better than a negative one
	 * (a down time below zero, availability over 100%).
	 */
	if (end < start)
		end = start;
	*s = xreallocarray(*s, *n + 1, sizeof(**s));
	(*s)[*n].start = start;
	(*s)[(*n)++].end = end;
}

/* The firing intervals of check's alerts, one per (rule) episode. */
static struct incident_span *
incident_spans(const struct incident_event *v, size_t n, const char *check,
    size_t *ns)
{
	struct incident_open	*op = NULL;
	struct incident_span	*s = NULL;
	size_t			 i, j, nop = 0;

	*ns = 0;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].check, check) != 0)
			continue;
		for (j = 0; j < nop; j++)
			if (strcmp(op[j].rule, v[i].rule) == 0)
				break;
		if (!v[i].resolved && j == nop) {
			op = xreallocarray(op, nop + 1, sizeof(*op));
			op[nop].rule = v[i].rule;
			op[nop++].start = v[i].at;
		} else if (v[i].resolved && j < nop) {
			incident_span_add(&s, ns, op[j].start, v[i].at);
			op[j] = op[--nop];
		} else if (v[i].resolved && v[i].since > 0)
			/* Its firing line was rotated away. */
			incident_span_add(&s, ns, v[i].since, v[i].at);
	}
	for (j = 0; j < nop; j++)
		incident_span_add(&s, ns, op[j].start, INT64_MAX);
	free(op);
	if (*ns > 1)
		qsort(s, *ns, sizeof(*s), incident_span_cmp);
	return s;
}

void
incident_stats(const struct incident_event *v, size_t n, const char *check,
    int64_t from, int64_t to, struct incident_stats *st)
{
	struct incident_span	*s;
	size_t			 ns, i, nres = 0;
	int64_t			 a, b, end, sumres = 0;

	memset(st, 0, sizeof(*st));
	st->mttr_us = st->mtbf_us = -1;
	s = incident_spans(v, n, check, &ns);
	for (i = 0; i < ns; i++) {
		a = s[i].start;
		end = s[i].end;
		/* Merge what overlaps: one outage however many rules fire. */
		while (i + 1 < ns && s[i + 1].start <= end) {
			if (s[i + 1].end > end)
				end = s[i + 1].end;
			i++;
		}
		if (end <= from || a >= to)
			continue;
		st->incidents++;
		if (end == INT64_MAX || end > to)
			st->open += end == INT64_MAX;
		b = end > to ? to : end;
		st->down_us += b - (a < from ? from : a);
		if ((end > to ? to : end) - a > st->longest_us)
			st->longest_us = (end > to ? to : end) - a;
		if (end != INT64_MAX) {
			sumres += end - a;
			nres++;
		}
	}
	free(s);
	if (nres > 0)
		st->mttr_us = sumres / (int64_t)nres;
	if (st->incidents > 0)
		st->mtbf_us = (to - from - st->down_us) /
		    (int64_t)st->incidents;
}
