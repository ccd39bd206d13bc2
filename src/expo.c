/* SPDX-License-Identifier: ISC */
/*
 * expo: rendering the agent's state for machines.  This module owns the
 * metric names, labels and help texts of /metrics (blackbox_exporter's
 * families, so existing dashboards and alert rules keep working, each
 * with a check label and the check's own labels; then sonde's), the /probe
 * answer and the /status.json shape.  It reads a view the agent fills and
 * keeps nothing: no state, no server, no clock.
 *
 * The text format (prometheus/docs exposition_formats.md): one HELP and
 * one TYPE line per family, then all of its samples contiguously; label
 * values escape backslash, double quote and newline; a final newline.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "expo.h"
#include "diskq.h"
#include "hist.h"
#include "history.h"
#include "outbox.h"
#include "slo.h"
#include "probe.h"
#include "result.h"
#include "sched.h"

/* What a sample callback needs: where to write, and the series' labels. */
struct expo_ctx {
	struct buf	*b;
	const char	*name;
	const char	*labels;	/* may be "" */
};

static void
expo_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The shortest of %.15g / %.17g that reads back as v exactly. */
static void
expo_value(struct buf *b, double v)
{
	char	s[32];

	if (isnan(v))
		buf_puts(b, "NaN");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else {
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
		buf_puts(b, s);
	}
}

/* Writes name{labels,extra} value. */
static void
expo_sample(void *arg, const char *extra, double v)
{
	struct expo_ctx	*c = arg;
	bool		 any = c->labels[0] != '\0' || extra != NULL;

	buf_puts(c->b, c->name);
	if (any) {
		buf_printf(c->b, "{%s%s%s}", c->labels,
		    c->labels[0] != '\0' && extra != NULL ? "," : "",
		    extra != NULL ? extra : "");
	}
	buf_puts(c->b, " ");
	expo_value(c->b, v);
	buf_puts(c->b, "\n");
}

/* Writes check="name",key="value"... for check into l (reset first). */
static void
expo_check_labels(struct buf *l, const struct check_conf *check)
{
	size_t	i;

	buf_reset(l);
	buf_puts(l, "check=\"");
	buf_prom_escape(l, check->name);
	buf_puts(l, "\"");
	for (i = 0; i < check->nlabels; i++) {
		buf_printf(l, ",%s=\"", check->labels[i].key);
		buf_prom_escape(l, check->labels[i].value);
		buf_puts(l, "\"");
	}
}

/* The generic per-check families, blackbox_exporter's names. */
enum expo_common {
	EXPO_SUCCESS,
	EXPO_DURATION,
	EXPO_DNS_LOOKUP,
	EXPO_COMMON_LAST
};

static const struct probe_family expo_common_families[] = {
	[EXPO_SUCCESS] = { "probe_success", "gauge",
	    "Displays whether or not the probe was a success" },
	[EXPO_DURATION] = { "probe_duration_seconds", "gauge",
	    "Returns how long the probe took to complete in seconds" },
	[EXPO_DNS_LOOKUP] = { "probe_dns_lookup_time_seconds", "gauge",
	    "Returns the time taken for probe dns lookup in seconds" },
};
_Static_assert(sizeof(expo_common_families) /
    sizeof(expo_common_families[0]) == EXPO_COMMON_LAST,
    "expo_common_families out of step with the enum");

static void
expo_common_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	switch (fam) {
	case EXPO_SUCCESS:
		emit(arg, NULL, res->status == PROBE_OK);
		break;
	case EXPO_DURATION:
		emit(arg, NULL, (double)res->duration / 1e6);
		break;
	case EXPO_DNS_LOOKUP:
		if (res->phase[PROBE_PHASE_RESOLVE] >= 0)
			emit(arg, NULL,
			    (double)res->phase[PROBE_PHASE_RESOLVE] / 1e6);
		break;
	default:
		break;
	}
}

/* Returns the index of family name in ops, or -1. */
static ptrdiff_t
expo_kind_family(const struct probe_ops *ops, const char *name)
{
	ptrdiff_t	i;

	if (ops->families == NULL || ops->metrics_write == NULL)
		return -1;
	for (i = 0; ops->families[i].name != NULL; i++)
		if (strcmp(ops->families[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Writes family f: HELP and TYPE, then the samples of every check that
 * has a result.  kind_fam < 0: a common family (index common).
 */
static void
expo_check_family(struct buf *b, struct buf *l, const struct expo_view *v,
    const struct probe_family *f, ptrdiff_t common)
{
	const struct history_entry	*e;
	const struct check_conf		*c;
	struct probe_result		 last;
	struct expo_ctx			 ctx;
	ptrdiff_t			 k;
	size_t				 i;

	expo_family(b, f->name, f->type, f->help);
	for (i = 0; i < v->cfg->nchecks; i++) {
		c = &v->cfg->checks[i];
		if ((e = history_find(v->history, c->name)) == NULL || !e->seen)
			continue;
		k = common >= 0 ? common : expo_kind_family(c->ops, f->name);
		if (k < 0)
			continue;
		expo_check_labels(l, c);
		ctx.b = b;
		ctx.name = f->name;
		ctx.labels = l->data;
		history_last(e, &last);
		if (common >= 0)
			expo_common_write(&last, (size_t)k, expo_sample, &ctx);
		else
			c->ops->metrics_write(&last, (size_t)k, expo_sample,
			    &ctx);
	}
}

/* True when an earlier kind of the registry already wrote family name. */
static bool
expo_family_seen(size_t upto_kind, size_t upto_fam, const char *name)
{
	const struct probe_ops	*ops;
	size_t			 k, f;

	for (k = 0; k <= upto_kind; k++) {
		ops = probe_registry[k];
		if (ops->families == NULL)
			continue;
		for (f = 0; ops->families[f].name != NULL; f++) {
			if (k == upto_kind && f == upto_fam)
				return false;
			if (strcmp(ops->families[f].name, name) == 0)
				return true;
		}
	}
	return false;
}

/* Every kind's own families, each once even if several kinds share it. */
static void
expo_kind_families(struct buf *b, struct buf *l, const struct expo_view *v)
{
	const struct probe_ops	*ops;
	size_t			 k, f;

	for (k = 0; probe_registry[k] != NULL; k++) {
		ops = probe_registry[k];
		if (ops->families == NULL || ops->metrics_write == NULL)
			continue;
		for (f = 0; ops->families[f].name != NULL; f++)
			if (!expo_family_seen(k, f, ops->families[f].name))
				expo_check_family(b, l, v, &ops->families[f],
				    -1);
	}
}

static void
expo_probes_total(struct buf *b, struct buf *l, const struct expo_view *v)
{
	const struct history_entry	*e;
	size_t				 i;

	expo_family(b, "sonde_probes_total", "counter",
	    "Probes completed per check, by result, since the check was "
	    "loaded unchanged");
	for (i = 0; i < v->cfg->nchecks; i++) {
		if ((e = history_find(v->history, v->cfg->checks[i].name)) ==
		    NULL)
			continue;
		expo_check_labels(l, &v->cfg->checks[i]);
		buf_printf(b, "sonde_probes_total{%s,result=\"success\"} %llu\n"
		    "sonde_probes_total{%s,result=\"failure\"} %llu\n", l->data,
		    (unsigned long long)(e->probes - e->failures), l->data,
		    (unsigned long long)e->failures);
	}
}

static void
expo_alert_sample(const struct expo_alert *a, void *arg)
{
	struct buf	*b = arg;

	buf_puts(b, "sonde_alert_state{rule=\"");
	buf_prom_escape(b, a->rule);
	buf_puts(b, "\",check=\"");
	buf_prom_escape(b, a->check);
	buf_puts(b, "\",state=\"");
	buf_prom_escape(b, a->state);
	buf_puts(b, "\"} 1\n");
}

static void
expo_lag(struct buf *b, const struct sched_stats *st)
{
	static const double	q[] = { 0.5, 0.9, 0.99 };
	size_t			i;

	expo_family(b, "sonde_probe_schedule_lag_seconds", "summary",
	    "Delay between when a probe was due and when it started");
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		buf_printf(b, "sonde_probe_schedule_lag_seconds{quantile=\"%g\"}"
		    " ", q[i]);
		expo_value(b, (double)hist_quantile(&st->lag, q[i]) / 1e6);
		buf_puts(b, "\n");
	}
	buf_puts(b, "sonde_probe_schedule_lag_seconds_sum ");
	expo_value(b, (double)st->lag.sum / 1e6);
	buf_printf(b, "\nsonde_probe_schedule_lag_seconds_count %llu\n",
	    (unsigned long long)st->lag.count);
}

/* sonde's own families: the agent, not the checks. */
/* The outbox: what waits per channel, and what became of the rest. */
static void
expo_outbox(struct buf *b, const struct expo_view *v)
{
	static const char *const names[] = {
		"sonde_outbox_delivered_total", "sonde_outbox_retries_total",
		"sonde_outbox_rejected_total", "sonde_outbox_dropped_total"
	};
	static const char *const help[] = {
		"Notifications the channels confirmed",
		"Sends answered with retry later (timeout, 429, 5xx)",
		"Notifications a channel refused (kept in outbox/rejected)",
		"Notifications dropped because the outbox was full"
	};
	struct outbox_stats	st;
	uint64_t		val[4];
	char *const		*ch;
	size_t			i;

	expo_family(b, "sonde_outbox_pending", "gauge", "Notifications "
	    "written to the outbox and not yet delivered, per channel");
	if (v->outbox == NULL)
		return;
	for (ch = v->cfg->channel_names; ch != NULL && *ch != NULL; ch++) {
		if (strcmp(*ch, "log") == 0)
			continue;	/* written at once, never queued */
		buf_puts(b, "sonde_outbox_pending{channel=\"");
		buf_prom_escape(b, *ch);
		buf_printf(b, "\"} %zu\n", outbox_pending(v->outbox, *ch));
	}
	outbox_get_stats(v->outbox, &st);
	val[0] = st.delivered;
	val[1] = st.retried;
	val[2] = st.rejected;
	val[3] = st.dropped;
	for (i = 0; i < 4; i++) {
		expo_family(b, names[i], "counter", help[i]);
		buf_printf(b, "%s %llu\n", names[i],
		    (unsigned long long)val[i]);
	}
}

/* The durable writes (diskq): how far the disk is behind the loop. */
static void
expo_diskq(struct buf *b, const struct expo_view *v)
{
	static const double	q[] = { 0.5, 0.99 };
	struct diskq_stats	st;
	size_t			i;

	if (v->diskq == NULL)
		return;
	diskq_get_stats(v->diskq, &st);
	expo_family(b, "sonde_disk_queue_jobs", "gauge", "State and outbox "
	    "file writes queued or being written by the writer thread");
	buf_printf(b, "sonde_disk_queue_jobs %zu\n", st.depth);
	expo_family(b, "sonde_disk_write_seconds", "summary", "Time from "
	    "queueing a state or outbox file to having it durable on disk");
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		buf_printf(b, "sonde_disk_write_seconds{quantile=\"%g\"} ",
		    q[i]);
		expo_value(b, (double)hist_quantile(&st.lat, q[i]) / 1e6);
		buf_puts(b, "\n");
	}
	buf_puts(b, "sonde_disk_write_seconds_sum ");
	expo_value(b, (double)st.lat.sum / 1e6);
	buf_printf(b, "\nsonde_disk_write_seconds_count %llu\n",
	    (unsigned long long)st.lat.count);
	expo_family(b, "sonde_disk_write_failures_total", "counter", "State "
	    "and outbox file writes that failed (each one is logged)");
	buf_printf(b, "sonde_disk_write_failures_total %llu\n",
	    (unsigned long long)st.failed);
}

static void
expo_agent(struct buf *b, const struct expo_view *v)
{
	const struct sched_stats	*st = v->stats;

	expo_family(b, "sonde_alert_state", "gauge", "Alerts held by the "
	    "agent: 1 per (rule, check), labelled with the current state");
	if (v->alerts != NULL)
		v->alerts(v->alerts_src, expo_alert_sample, b);
	expo_outbox(b, v);
	expo_diskq(b, v);
	expo_lag(b, st);
	expo_family(b, "sonde_probes_in_flight", "gauge",
	    "Probes running now");
	buf_printf(b, "sonde_probes_in_flight %zu\n", st->in_flight);
	expo_family(b, "sonde_probes_skipped_total", "counter", "Slots not "
	    "run because the check's previous run was still going");
	buf_printf(b, "sonde_probes_skipped_total %llu\n",
	    (unsigned long long)st->skipped);
	expo_family(b, "sonde_checks", "gauge", "Checks in the running "
	    "configuration");
	buf_printf(b, "sonde_checks %zu\n", v->cfg->nchecks);
	expo_family(b, "sonde_config_last_reload_successful", "gauge",
	    "Whether the last configuration reload attempt succeeded");
	buf_printf(b, "sonde_config_last_reload_successful %d\n",
	    v->reload_ok ? 1 : 0);
	expo_family(b, "sonde_config_last_reload_timestamp_seconds", "gauge",
	    "When the configuration was last loaded or a reload attempted");
	buf_printf(b, "sonde_config_last_reload_timestamp_seconds %.3f\n",
	    (double)v->reload_at / 1e6);
	expo_family(b, "sonde_config_reloads_failed_total", "counter",
	    "Reloads refused because the new configuration had errors");
	buf_printf(b, "sonde_config_reloads_failed_total %llu\n",
	    (unsigned long long)v->reloads_failed);
	expo_family(b, "sonde_start_time_seconds", "gauge",
	    "When the agent started, seconds since the epoch");
	buf_printf(b, "sonde_start_time_seconds %.3f\n",
	    (double)v->started_at / 1e6);
	expo_family(b, "sonde_build_info", "gauge", "Always 1, labelled "
	    "with the version");
	buf_printf(b, "sonde_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

/* One sample of an SLO family: name{check="c"[,window="w"]} value. */
static void
expo_slo_sample(struct buf *b, const char *name, const char *check,
    const char *window, double value)
{
	buf_printf(b, "%s{check=\"", name);
	buf_prom_escape(b, check);
	if (window != NULL)
		buf_printf(b, "\",window=\"%s", window);
	buf_puts(b, "\"} ");
	expo_value(b, value);
	buf_puts(b, "\n");
}

/*
 * The error budgets of the SLO checks (sonde.conf(5), SERVICE LEVEL
 * OBJECTIVES).  Families stay contiguous, so each is one pass over the
 * table; a window without results has no sample.
 */
static void
expo_slo(struct buf *b, const struct expo_view *v)
{
	static const char *const windows[SLO_NBURN] = {
		"5m", "30m", "1h", "6h"
	};
	struct slo_figures	f;
	size_t			i, n, w;
	int			fam;

	n = v->slo != NULL ? slo_table_count(v->slo) : 0;
	if (n == 0)
		return;
	for (fam = 0; fam < 4; fam++) {
		if (fam == 0)
			expo_family(b, "sonde_slo_availability", "gauge",
			    "Good probes over all probes in the SLO window");
		else if (fam == 1)
			expo_family(b, "sonde_slo_error_budget_remaining",
			    "gauge", "Fraction of the error budget left; "
			    "negative once overspent");
		else if (fam == 2)
			expo_family(b, "sonde_slo_burn_rate", "gauge",
			    "Error budget burn rate over a short window");
		else
			expo_family(b, "sonde_slo_unknown_seconds", "gauge",
			    "Time in the SLO window the agent was down");
		for (i = 0; i < n; i++) {
			slo_table_figures(v->slo, i, v->now, &f);
			if (fam == 0 && !isnan(f.availability))
				expo_slo_sample(b, "sonde_slo_availability",
				    f.check, NULL, f.availability);
			else if (fam == 1 && f.good + f.bad > 0)
				expo_slo_sample(b,
				    "sonde_slo_error_budget_remaining",
				    f.check, NULL, f.budget_left);
			else if (fam == 2)
				for (w = 0; w < SLO_NBURN; w++)
					if (!isnan(f.burn[w]))
						expo_slo_sample(b,
						    "sonde_slo_burn_rate",
						    f.check, windows[w],
						    f.burn[w]);
			if (fam == 3)
				expo_slo_sample(b, "sonde_slo_unknown_seconds",
				    f.check, NULL,
				    (double)f.unknown_us / 1e6);
		}
	}
}

void
expo_metrics(struct buf *b, const struct expo_view *v)
{
	struct buf	l = { NULL, 0, 0 };
	size_t		i;

	for (i = 0; i < EXPO_COMMON_LAST; i++)
		expo_check_family(b, &l, v, &expo_common_families[i],
		    (ptrdiff_t)i);
	expo_kind_families(b, &l, v);
	expo_probes_total(b, &l, v);
	expo_agent(b, v);
	expo_slo(b, v);
	buf_free(&l);
}

void
expo_probe(struct buf *b, const struct check_conf *check,
    const struct probe_result *res)
{
	const struct probe_ops	*ops = check->ops;
	struct expo_ctx		 ctx;
	size_t			 i;

	ctx.b = b;
	ctx.labels = "";
	for (i = 0; i < EXPO_COMMON_LAST; i++) {
		ctx.name = expo_common_families[i].name;
		expo_family(b, ctx.name, expo_common_families[i].type,
		    expo_common_families[i].help);
		expo_common_write(res, i, expo_sample, &ctx);
	}
	if (ops->families == NULL || ops->metrics_write == NULL)
		return;
	for (i = 0; ops->families[i].name != NULL; i++) {
		ctx.name = ops->families[i].name;
		expo_family(b, ctx.name, ops->families[i].type,
		    ops->families[i].help);
		ops->metrics_write(res, i, expo_sample, &ctx);
	}
}

/* ---- /status.json ------------------------------------------------------- */

static json_t *
expo_json_time(int64_t us)
{
	char	stamp[40];

	result_rfc3339(us, stamp, sizeof(stamp));
	return json_string(stamp);
}

/* "recent": [{"duration_seconds": x, "ok": true}, ...], oldest first. */
static json_t *
expo_json_recent(const struct history_entry *e)
{
	uint32_t	 us[HISTORY_RING];
	bool		 failed[HISTORY_RING];
	json_t		*a, *o;
	size_t		 i, n;

	a = json_array();
	n = history_ring(e, us, failed);
	for (i = 0; a != NULL && i < n; i++) {
		o = json_pack("{s:f,s:b}", "duration_seconds",
		    (double)us[i] / 1e6, "ok", !failed[i]);
		if (o == NULL || json_array_append_new(a, o) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/*
 * Appends the text of o (a new reference, released) without its closing
 * brace, so that members made as text can follow; -1 if o is NULL.
 */
static int
expo_json_open(struct buf *b, json_t *o)
{
	char	*text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t	 len;

	json_decref(o);
	if (text == NULL)
		return -1;
	len = strlen(text);
	buf_append(b, text, len > 0 ? len - 1 : 0);	/* no '}' */
	free(text);
	return 0;
}

/* Appends ,"key":value with value a new reference (released). */
static int
expo_json_member(struct buf *b, const char *key, json_t *value)
{
	char	*text = value != NULL ?
		    json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(value);
	if (text == NULL)
		return -1;
	buf_printf(b, ",\"%s\":%s", key, text);
	free(text);
	return 0;
}

/* The members of a check's object that need a result. */
static int
expo_json_seen(struct buf *b, const struct check_conf *c,
    const struct history_entry *e)
{
	struct probe_result	 res;
	char			*text;

	history_last(e, &res);
	if ((text = result_json(c, &res)) == NULL)
		return -1;
	buf_puts(b, ",\"last\":");
	buf_puts(b, text);
	free(text);
	if (expo_json_member(b, "since", expo_json_time(e->since)) == -1 ||
	    expo_json_member(b, "recent", expo_json_recent(e)) == -1)
		return -1;
	return 0;
}

static int
expo_json_check(struct buf *b, const struct check_conf *c,
    const struct history_entry *e)
{
	json_t	*o, *labels;
	size_t	 i;

	labels = json_object();
	for (i = 0; labels != NULL && i < c->nlabels; i++)
		result_json_set_string(labels, c->labels[i].key,
		    c->labels[i].value);
	o = json_pack("{s:s,s:s,s:s,s:o*,s:f,s:f,s:s,s:I,s:I}",
	    "check", c->name, "type", c->ops->kind,
	    "target", c->target != NULL ? c->target : "", "labels", labels,
	    "interval_seconds", (double)c->interval_ms / 1e3,
	    "timeout_seconds", (double)c->timeout_ms / 1e3,
	    "state", e == NULL || !e->seen ? "unknown" :
	    e->failing ? "failing" : "ok",
	    "probes", (json_int_t)(e != NULL ? e->probes : 0),
	    "failures", (json_int_t)(e != NULL ? e->failures : 0));
	if (expo_json_open(b, o) == -1 ||
	    (e != NULL && e->seen && expo_json_seen(b, c, e) == -1))
		return -1;
	buf_puts(b, "}");
	return 0;
}

struct expo_json_alerts {
	struct buf	*b;
	size_t		 n;
	bool		 failed;
};

static void
expo_json_alert(const struct expo_alert *a, void *arg)
{
	struct expo_json_alerts	*ja = arg;
	json_t			*o;
	char			*text;

	o = json_pack("{s:s,s:s,s:s,s:o}", "rule", a->rule, "check", a->check,
	    "state", a->state, "since", expo_json_time(a->since));
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		ja->failed = true;
		return;
	}
	buf_puts(ja->b, ja->n++ > 0 ? "," : "");
	buf_puts(ja->b, text);
	free(text);
}

static json_t *
expo_json_root(const struct expo_view *v)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:{s:s,s:b,s:o,s:I}}",
	    "agent", v->agent, "version", PACKAGE_VERSION,
	    "started_at", expo_json_time(v->started_at),
	    "now", expo_json_time(v->now),
	    "config", "path", v->cfg->path != NULL ? v->cfg->path : "",
	    "last_reload_ok", v->reload_ok,
	    "last_reload_at", expo_json_time(v->reload_at),
	    "reloads_failed", (json_int_t)v->reloads_failed);
}

/*
 * Written one check at a time, not as one jansson tree: at 10,000 checks
 * the tree took 40 MB for a 7 MB answer, and the heap kept it.  On an
 * error b may hold a partial answer; the caller resets it.
 */
int
expo_status_json(struct buf *b, const struct expo_view *v)
{
	struct expo_json_alerts	ja = { b, 0, false };
	size_t			i;

	if (expo_json_open(b, expo_json_root(v)) == -1)
		return -1;
	buf_puts(b, ",\"checks\":[");
	for (i = 0; i < v->cfg->nchecks; i++) {
		buf_puts(b, i > 0 ? "," : "");
		if (expo_json_check(b, &v->cfg->checks[i],
		    history_find(v->history, v->cfg->checks[i].name)) == -1)
			return -1;
	}
	buf_puts(b, "],\"alerts\":[");
	if (v->alerts != NULL)
		v->alerts(v->alerts_src, expo_json_alert, &ja);
	if (ja.failed)
		return -1;
	buf_puts(b, "]}\n");
	return 0;
}

