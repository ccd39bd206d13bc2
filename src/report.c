/* SPDX-License-Identifier: ISC */
/*
 * report: sonde report, from the saved SLO counts and the incident log.
 *
 * This module owns which checks a report covers (those named in either
 * file, or --check), the figures per check over --since, and their two
 * presentations (the 80-column table, JSON lines).  It owns no file
 * format (slo.c, incident.c) and no command line (main.c).
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "incident.h"
#include "report.h"
#include "result.h"
#include "slo.h"
#include "xmalloc.h"

#define REPORT_CHECK_W_MAX	24
/*
 * The daemon saves its counts every minute: a file older than this was
 * left by a daemon that is not running (or copied), and the time since is
 * unknown, like a gap between two runs.
 */
#define REPORT_STALE_US		(3 * 60 * INT64_C(1000000))

/* One row: a check's figures. */
struct report_row {
	const char		*check;		/* borrowed */
	const struct slo_saved	*slo;		/* NULL: no SLO */
	struct slo_figures	 f;		/* over the SLO window */
	uint64_t		 good, bad;	/* over --since */
	int64_t			 unknown_us;	/* over --since */
	double			 availability;	/* over --since; NaN */
	struct incident_stats	 inc;
};

struct report {
	const struct report_options *opt;
	struct slo_saved	*slo;
	size_t			 nslo;
	int64_t			 saved_at;
	struct incident_event	*ev;
	size_t			 nev;
	size_t			 skipped;
	const char		**names;	/* borrowed */
	size_t			 nnames;
};

static bool
report_has(const struct report *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return true;
	return false;
}

static bool
report_wanted(const struct report_options *opt, const char *name)
{
	size_t	i;

	if (opt->nchecks == 0)
		return true;
	for (i = 0; i < opt->nchecks; i++)
		if (strcmp(opt->checks[i], name) == 0)
			return true;
	return false;
}

/* The checks of both files, in order of first mention. */
static void
report_names(struct report *r)
{
	size_t	i;

	r->names = xcalloc(r->nslo + r->nev + 1, sizeof(*r->names));
	for (i = 0; i < r->nslo; i++)
		if (report_wanted(r->opt, r->slo[i].check) &&
		    !report_has(r, r->slo[i].check))
			r->names[r->nnames++] = r->slo[i].check;
	for (i = 0; i < r->nev; i++)
		if (report_wanted(r->opt, r->ev[i].check) &&
		    !report_has(r, r->ev[i].check))
			r->names[r->nnames++] = r->ev[i].check;
}

static void
report_row(const struct report *r, const char *name, int64_t now,
    struct report_row *row)
{
	int64_t	since = r->opt->since_ms * 1000, from = now - since;
	size_t	i;

	memset(row, 0, sizeof(*row));
	row->check = name;
	row->availability = NAN;
	for (i = 0; i < r->nslo; i++)
		if (strcmp(r->slo[i].check, name) == 0)
			row->slo = &r->slo[i];
	if (row->slo != NULL) {
		slo_store_figures(&row->slo->store, &row->slo->conf, now,
		    &row->f);
		slo_store_sum(&row->slo->store, now, since, &row->good,
		    &row->bad);
		row->unknown_us = slo_store_unknown_us(&row->slo->store, now,
		    since);
		if (row->good + row->bad > 0)
			row->availability = (double)row->good /
			    (double)(row->good + row->bad);
		/* MTBF over the time there was something to watch. */
		if (row->slo->store.first > from)
			from = row->slo->store.first;
	}
	for (i = 0; row->slo == NULL && i < r->nev; i++)
		if (strcmp(r->ev[i].check, name) == 0 && r->ev[i].at < now) {
			if (r->ev[i].at > from)
				from = r->ev[i].at;
			break;
		}
	incident_stats(r->ev, r->nev, name, from, now, &row->inc);
}

/* ---- table --------------------------------------------------------------- */

static const char *
report_dur(int64_t us, char *buf, size_t len)
{
	if (us < 0)
		return "-";
	return result_format_us(us, buf, len);
}

static const char *
report_pct(double v, int prec, char *buf, size_t len)
{
	if (isnan(v))
		return "-";
	snprintf(buf, len, "%.*f%%", prec, 100.0 * v);
	return buf;
}

static void
report_table_row(FILE *out, int w, const struct report_row *row)
{
	char	slo[32], win[16], av[16], bl[16], m1[16], m2[16], m3[16];

	slo[0] = '-';
	slo[1] = '\0';
	if (row->slo != NULL)
		snprintf(slo, sizeof(slo), "%g%%/%s", row->slo->conf.objective,
		    config_format_duration(row->slo->conf.window_ms, win,
		    sizeof(win)));
	fprintf(out, "%-*.*s %-10s %8s %7s %4u%s %6s %6s %7s\n", w, w,
	    row->check, slo, report_pct(row->availability, 3, av, sizeof(av)),
	    row->slo != NULL ? report_pct(row->f.budget_left, 1, bl,
	    sizeof(bl)) : "-", row->inc.incidents,
	    row->inc.open > 0 ? "*" : " ",
	    report_dur(row->inc.mttr_us, m1, sizeof(m1)),
	    report_dur(row->inc.mtbf_us, m2, sizeof(m2)),
	    report_dur(row->inc.incidents > 0 ? row->inc.longest_us : -1, m3,
	    sizeof(m3)));
}

static void
report_table(FILE *out, const struct report *r, const struct report_row *rows)
{
	char	since[32], u[32];
	size_t	i;
	int	w = 5;
	bool	open = false;

	for (i = 0; i < r->nnames; i++)
		if ((int)strlen(rows[i].check) > w)
			w = (int)strlen(rows[i].check);
	if (w > REPORT_CHECK_W_MAX)
		w = REPORT_CHECK_W_MAX;
	fprintf(out, "%-*s %-10s %8s %7s %5s %6s %6s %7s\n", w, "CHECK", "SLO",
	    "AVAIL", "BUDGET", "INC", "MTTR", "MTBF", "LONGEST");
	for (i = 0; i < r->nnames; i++) {
		report_table_row(out, w, &rows[i]);
		open = open || rows[i].inc.open > 0;
	}
	config_format_duration(r->opt->since_ms, since, sizeof(since));
	fprintf(out, "\nAVAIL, INC, MTTR, MTBF, LONGEST: the last %s; BUDGET: "
	    "left of the SLO window's.\n", since);
	if (open)
		fprintf(out, "*: an incident is still open.\n");
	for (i = 0; i < r->nnames; i++)
		if (rows[i].unknown_us > 0)
			fprintf(out, "%s: %s of the last %s unknown (sonde was "
			    "not running).\n",
			    rows[i].check, result_format_us(rows[i].unknown_us,
			    u, sizeof(u)), since);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *
report_num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *
report_secs(int64_t us)
{
	return us < 0 ? json_null() : json_real((double)us / 1e6);
}

static void
report_json_slo(json_t *o, const struct report_row *row)
{
	const struct slo_conf	*c = &row->slo->conf;
	json_t			*burn;
	char			 name[16];
	size_t			 i;

	json_object_set_new(o, "objective", json_real(c->objective));
	json_object_set_new(o, "window_seconds",
	    json_integer(c->window_ms / 1000));
	if (c->latency_ms > 0)
		json_object_set_new(o, "latency_seconds",
		    json_real((double)c->latency_ms / 1e3));
	json_object_set_new(o, "good", json_integer((json_int_t)row->good));
	json_object_set_new(o, "bad", json_integer((json_int_t)row->bad));
	json_object_set_new(o, "unknown_seconds", report_secs(row->unknown_us));
	json_object_set_new(o, "availability", report_num(row->availability));
	json_object_set_new(o, "window_availability",
	    report_num(row->f.availability));
	json_object_set_new(o, "error_budget_seconds",
	    report_secs(row->f.budget_us));
	json_object_set_new(o, "error_budget_remaining",
	    report_num(row->f.budget_left));
	json_object_set_new(o, "budget_exhausted_in_seconds",
	    report_secs(row->f.exhausted_in_us));
	burn = json_object();
	for (i = 0; i < SLO_NBURN; i++) {
		config_format_duration(slo_burn_windows_ms[i], name,
		    sizeof(name));
		json_object_set_new(burn, name, report_num(row->f.burn[i]));
	}
	json_object_set_new(o, "burn_rate", burn);
}

static int
report_json(FILE *out, const struct report *r, const struct report_row *row)
{
	json_t	*o;
	char	*txt;

	o = json_object();
	result_json_set_string(o, "check", row->check);
	json_object_set_new(o, "since_seconds",
	    json_integer(r->opt->since_ms / 1000));
	if (row->slo != NULL)
		report_json_slo(o, row);
	json_object_set_new(o, "incidents", json_integer(row->inc.incidents));
	json_object_set_new(o, "open_incidents", json_integer(row->inc.open));
	json_object_set_new(o, "downtime_seconds",
	    report_secs(row->inc.down_us));
	json_object_set_new(o, "mttr_seconds", report_secs(row->inc.mttr_us));
	json_object_set_new(o, "mtbf_seconds", report_secs(row->inc.mtbf_us));
	json_object_set_new(o, "longest_outage_seconds",
	    report_secs(row->inc.incidents > 0 ? row->inc.longest_us : -1));
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (txt == NULL)
		return -1;
	fprintf(out, "%s\n", txt);
	free(txt);
	return 0;
}

/* ---- run ----------------------------------------------------------------- */

/* Loads both files; returns 0 or 2 after saying what is wrong. */
static int
report_load(struct report *r, int64_t now, FILE *err)
{
	char	buf[512], ago[32];
	size_t	i;

	if (slo_file_load(r->opt->state_dir, &r->slo, &r->nslo, &r->saved_at,
	    buf, sizeof(buf)) == -1) {
		fprintf(err, "sonde report: cannot use the SLO counts: %s\n",
		    buf);
		return 2;
	}
	if (r->nslo > 0 && now - r->saved_at > REPORT_STALE_US) {
		fprintf(err, "sonde report: the SLO counts were saved %s ago "
		    "(sonde is not running, or this is a copy); the time since "
		    "counts as unknown\n", result_format_us(now - r->saved_at,
		    ago, sizeof(ago)));
		for (i = 0; i < r->nslo; i++)
			slo_store_unknown(&r->slo[i].store, r->saved_at, now);
	}
	if (incident_load(r->opt->state_dir, &r->ev, &r->nev, &r->skipped, buf,
	    sizeof(buf)) == -1) {
		fprintf(err, "sonde report: cannot read the incident log: "
		    "%s\n", buf);
		return 2;
	}
	if (r->skipped > 0)
		fprintf(err, "sonde report: %zu line%s of the incident log "
		    "skipped (not incident events; a torn last line after a "
		    "crash is one)\n", r->skipped, r->skipped == 1 ? "" : "s");
	return 0;
}

/* Every --check must be in the state; returns 0 or 1. */
static int
report_check_names(const struct report *r, FILE *err)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < r->opt->nchecks; i++)
		if (!report_has(r, r->opt->checks[i])) {
			fprintf(err, "sonde report: no SLO counts or incidents "
			    "for check '%s' in %s\n", r->opt->checks[i],
			    r->opt->state_dir);
			rc = 1;
		}
	return rc;
}

int
report_run(const struct report_options *opt, int64_t now, FILE *out,
    FILE *err)
{
	struct report		 r;
	struct report_row	*rows = NULL;
	size_t			 i;
	int			 rc;

	memset(&r, 0, sizeof(r));
	r.opt = opt;
	if ((rc = report_load(&r, now, err)) != 0)
		goto out;
	report_names(&r);
	if ((rc = report_check_names(&r, err)) != 0)
		goto out;
	if (r.nnames == 0) {
		fprintf(err, "sonde report: nothing to report in %s: no check "
		    "has an slo block or an incident yet\n", opt->state_dir);
		rc = 1;
		goto out;
	}
	rows = xcalloc(r.nnames, sizeof(*rows));
	for (i = 0; i < r.nnames; i++)
		report_row(&r, r.names[i], now, &rows[i]);
	if (!opt->json)
		report_table(out, &r, rows);
	for (i = 0; opt->json && i < r.nnames; i++)
		if (report_json(out, &r, &rows[i]) == -1)
			rc = 1;
out:
	free(rows);
	free(r.names);
	free(r.slo);
	free(r.ev);
	return rc;
}
