/* SPDX-License-Identifier: ISC */
/*
 * rules_conf: the rules = ( ... ) and silences = ( ... ) lists of the main
 * config file, read into struct rule_conf and struct silence_conf of the
 * generation.
 *
 * This module owns their schema, defaults and validation: reason codes
 * against probe_status_str(), metric names against the kinds
 * (probe_metric_known()), channel names against the channels sonde has,
 * depends_on against the checks (after every include is read), and the
 * default rule when none is written.  Like config.c it reports every
 * error as "file:line: message" and goes on.  What the rules mean at run
 * time is rules.c.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "probe.h"
#include "rules.h"
#include "slo.h"
#include "xmalloc.h"

#define PERCENT_MAX	100
#define RESOLVE_MAX	1000
#define TIME_MAX_MS	(366 * 86400 * 1000LL)

/* Channels exist as the channels issue lands them; "log" always does. */

static const char *const rule_keys[] = {
	"name", "checks", "labels", "when", "reasons", "metric", "above",
	"below", "clear_below", "clear_above", "fire_after", "of_last",
	"resolve_after", "for", "keep_for", "repeat", "send_resolved",
	"severity", "notify", "depends_on", "flap_high", "flap_low",
	"burn_rate", "long_window", "short_window", NULL
};
static const char *const silence_keys[] = {
	"checks", "from", "until", "weekly", "comment", NULL
};
static const char *const when_names[] = { "failed", "slo_burn", NULL };
static const char *const severity_names[] = {
	"critical", "warning", "info", NULL
};
static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

/* ---- small readers ------------------------------------------------------- */

static void
strings_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * An array or list of non-empty strings: returns 1 with *out (owned, n
 * entries), 0 when absent, -1 when wrong (reported).
 */
static int
rc_strings(struct confread *cr, const config_setting_t *g, const char *key,
    char ***out, size_t *n)
{
	const config_setting_t	*s, *e;
	unsigned int		 i;

	if ((s = config_setting_get_member(g, key)) == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		confread_error(cr, s, "'%s' must be a list of strings such as "
		    "[\"a\", \"b\"], got %s", key, confread_type_name(s));
		return -1;
	}
	*out = xcalloc((size_t)config_setting_length(s) + 1, sizeof(**out));
	*n = 0;
	for (i = 0; (e = config_setting_get_elem(s, i)) != NULL; i++) {
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(e)[0] == '\0') {
			confread_error(cr, e, "'%s' entries must be non-empty "
			    "strings, got %s", key, confread_type_name(e));
			continue;
		}
		(*out)[(*n)++] = xstrdup(config_setting_get_string(e));
	}
	return 1;
}

/* checks: absent means every check, so an empty list would too: refused. */
static void
rc_checks(struct confread *cr, const config_setting_t *g, char ***out,
    size_t *n)
{
	if (rc_strings(cr, g, "checks", out, n) == 1 &&
	    config_setting_length(config_setting_get_member(g, "checks")) == 0)
		confread_error(cr, config_setting_get_member(g, "checks"),
		    "'checks' is empty; name checks or globs, or leave it out "
		    "for every check");
}

/* Returns the index of s in names, or -1. */
static int
rc_index(const char *const *names, const char *s)
{
	int	i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/*
 * A threshold: a number, or a duration string ("800ms") read as seconds,
 * since time metrics are in seconds.
 */
static int
rc_threshold(struct confread *cr, const config_setting_t *g, const char *key,
    double *out)
{
	const config_setting_t	*s;
	char			 err[128];
	int64_t			 ms;

	if ((s = config_setting_get_member(g, key)) == NULL)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		if (config_setting_type(s) != CONFIG_TYPE_FLOAT)
			*out = (double)config_setting_get_int64(s);
		return 1;
	case CONFIG_TYPE_STRING:
		if (config_parse_duration(config_setting_get_string(s), &ms,
		    err, sizeof(err)) == 0) {
			*out = (double)ms / 1000.0;
			return 1;
		}
		confread_error(cr, s, "'%s': %s", key, err);
		return -1;
	default:
		confread_error(cr, s, "'%s' must be a number or a duration "
		    "such as \"800ms\", got %s", key, confread_type_name(s));
		return -1;
	}
}

/* A percentage in [0, 100], integer or float. */
static int
rc_percent(struct confread *cr, const config_setting_t *g, const char *key,
    double *out)
{
	const config_setting_t	*s;
	double			 v;

	if ((s = config_setting_get_member(g, key)) == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else {
		confread_error(cr, s, "'%s' must be a percentage (a number), "
		    "got %s", key, confread_type_name(s));
		return -1;
	}
	if (v < 0 || v > PERCENT_MAX) {
		confread_error(cr, s, "'%s' must be between 0 and 100, got %g",
		    key, v);
		return -1;
	}
	*out = v;
	return 1;
}

/* "log, slack": the channel names, for messages. */
static const char *
rc_channel_list(const struct config *cfg)
{
	static char	buf[1024];
	size_t		i, off = 0;
	int		w;

	buf[0] = '\0';
	for (i = 0; cfg->channel_names[i] != NULL && off < sizeof(buf); i++) {
		w = snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i > 0 ? ", " : "", cfg->channel_names[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

/* ---- one rule ------------------------------------------------------------ */

static bool
rc_name_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]) == NULL)
			return false;
	return i > 0 && i <= RULES_NAME_MAX;
}

static void
rc_labels(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r)
{
	const config_setting_t	*labels, *l;
	unsigned int		 i, n;

	if (confread_group(cr, g, "labels", false, &labels) != 1)
		return;
	n = (unsigned int)config_setting_length(labels);
	r->labels = xcalloc(n + 1, sizeof(*r->labels));
	for (i = 0; i < n; i++) {
		l = config_setting_get_elem(labels, i);
		if (config_setting_type(l) != CONFIG_TYPE_STRING) {
			confread_error(cr, l, "label '%s' must be a string, "
			    "got %s", config_setting_name(l),
			    confread_type_name(l));
			continue;
		}
		r->labels[r->nlabels].key = xstrdup(config_setting_name(l));
		r->labels[r->nlabels++].value =
		    xstrdup(config_setting_get_string(l));
	}
}

static void
rc_reasons(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r)
{
	char	**v = NULL;
	size_t	  n = 0, i;
	int	  st;

	if (rc_strings(cr, g, "reasons", &v, &n) != 1)
		return;
	for (i = 0; i < n; i++) {
		for (st = 1; st < PROBE_STATUS_LAST; st++)
			if (strcmp(probe_status_str(st), v[i]) == 0)
				break;
		if (st == PROBE_STATUS_LAST)
			confread_error(cr, config_setting_get_member(g,
			    "reasons"), "unknown reason code '%s' (see "
			    "sonde.conf(5), REASON CODES)", v[i]);
		else
			r->reasons |= UINT64_C(1) << st;
	}
	strings_free(v, n);
}

/* Is name a metric some kind offers? */
static bool
rc_metric_exists(const char *name)
{
	size_t	i;

	for (i = 0; probe_registry[i] != NULL; i++)
		if (probe_metric_known(probe_registry[i], name))
			return true;
	return false;
}

/*
 * when = "slo_burn": the burn rate over long_window and over short_window
 * both above burn_rate (SRE workbook, multiwindow multi-burn-rate); the
 * band is [burn_rate, burn_rate] on the lower of the two.
 */
static void
rc_slo_burn(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r)
{
	const config_setting_t	*at;

	r->when = RULES_WHEN_SLO_BURN;
	r->burn_rate = RULES_SLO_PAGE_BURN;
	r->long_window_ms = RULES_SLO_PAGE_LONG_MS;
	r->short_window_ms = RULES_SLO_PAGE_SHORT_MS;
	if (config_setting_get_member(g, "metric") != NULL ||
	    config_setting_get_member(g, "reasons") != NULL)
		confread_error(cr, g, "rule '%s': when = \"slo_burn\" takes "
		    "burn_rate, long_window and short_window, not 'metric' or "
		    "'reasons'", r->name);
	if ((at = config_setting_get_member(g, "burn_rate")) != NULL) {
		if (config_setting_type(at) == CONFIG_TYPE_FLOAT)
			r->burn_rate = config_setting_get_float(at);
		else if (config_setting_type(at) == CONFIG_TYPE_INT ||
		    config_setting_type(at) == CONFIG_TYPE_INT64)
			r->burn_rate = (double)config_setting_get_int64(at);
		else
			r->burn_rate = -1;
		if (!(r->burn_rate > 0))
			confread_error(cr, at, "'burn_rate' must be a number "
			    "above 0 such as 14.4 (1 spends the budget exactly "
			    "over the SLO window)");
	}
	confread_duration(cr, g, "long_window", false, 60000,
	    SLO_WINDOW_MAX_MS, &r->long_window_ms);
	confread_duration(cr, g, "short_window", false, 60000,
	    SLO_WINDOW_MAX_MS, &r->short_window_ms);
	if (r->short_window_ms > r->long_window_ms)
		confread_error(cr, g, "rule '%s': 'short_window' must not be "
		    "longer than 'long_window'", r->name);
	r->above = true;
	r->enter = r->leave = r->burn_rate;
}

/* burn_rate and the windows belong to when = "slo_burn". */
static void
rc_slo_keys_unused(struct confread *cr, const config_setting_t *g)
{
	static const char *const keys[] = {
		"burn_rate", "long_window", "short_window", NULL
	};
	size_t	i;

	for (i = 0; keys[i] != NULL; i++)
		if (config_setting_get_member(g, keys[i]) != NULL)
			confread_error(cr, config_setting_get_member(g,
			    keys[i]), "'%s' needs when = \"slo_burn\"",
			    keys[i]);
}

/* when: "failed" (the default) or "slo_burn" with its keys. */
static enum rules_when
rc_when(struct confread *cr, const config_setting_t *g, struct rule_conf *r)
{
	int	i;

	r->when = RULES_WHEN_FAILED;
	if (confread_enum(cr, g, "when", false, when_names, &i) == 1 &&
	    i == 1)
		rc_slo_burn(cr, g, r);
	else
		rc_slo_keys_unused(cr, g);
	return r->when;
}

/* when/reasons or metric with its band. */
static void
rc_condition(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r)
{
	const config_setting_t	*at;
	int			 ha, hb, hca, hcb;
	double			 a = 0, b = 0, ca = 0, cb = 0;

	if (rc_when(cr, g, r) == RULES_WHEN_SLO_BURN)
		return;
	rc_reasons(cr, g, r);
	if (confread_string(cr, g, "metric", false, &r->metric) != 1)
		return;
	at = config_setting_get_member(g, "metric");
	r->when = RULES_WHEN_METRIC;
	if (config_setting_get_member(g, "when") != NULL)
		confread_error(cr, at, "rule '%s': 'metric' and 'when' "
		    "exclude each other", r->name);
	if (!rc_metric_exists(r->metric))
		confread_error(cr, at, "unknown metric '%s' (duration, "
		    "phase.<resolve|connect|tls|processing|transfer|request>, "
		    "or a kind's own such as tls.days_left)", r->metric);
	ha = rc_threshold(cr, g, "above", &a);
	hb = rc_threshold(cr, g, "below", &b);
	hcb = rc_threshold(cr, g, "clear_below", &cb);
	hca = rc_threshold(cr, g, "clear_above", &ca);
	if ((ha == 1) == (hb == 1) && ha >= 0 && hb >= 0) {
		confread_error(cr, at, "rule '%s': a metric needs exactly one "
		    "of 'above' or 'below'", r->name);
		return;
	}
	r->above = ha == 1;
	r->enter = r->leave = r->above ? a : b;
	if (hca == 1 && r->above)
		confread_error(cr, config_setting_get_member(g, "clear_above"),
		    "rule '%s': 'clear_above' goes with 'below'; with 'above' "
		    "use 'clear_below'", r->name);
	if (hcb == 1 && !r->above)
		confread_error(cr, config_setting_get_member(g, "clear_below"),
		    "rule '%s': 'clear_below' goes with 'above'; with 'below' "
		    "use 'clear_above'", r->name);
	if (hcb == 1 && r->above && cb > a)
		confread_error(cr, config_setting_get_member(g, "clear_below"),
		    "'clear_below' (%g) must not exceed 'above' (%g)", cb, a);
	else if (hcb == 1 && r->above)
		r->leave = cb;
	if (hca == 1 && !r->above && ca < b)
		confread_error(cr, config_setting_get_member(g, "clear_above"),
		    "'clear_above' (%g) must not be below 'below' (%g)", ca, b);
	else if (hca == 1 && !r->above)
		r->leave = ca;
}

static void
rc_debounce(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r)
{
	int64_t	n;

	r->fire_after = RULES_DEFAULT_FIRE_AFTER;
	/* slo_burn: the windows are the debounce (the workbook's). */
	if (r->when == RULES_WHEN_SLO_BURN)
		r->fire_after = 1;
	r->resolve_after = RULES_DEFAULT_RESOLVE_AFTER;
	if (confread_int(cr, g, "fire_after", false, 1, RULES_WINDOW_MAX,
	    &n) == 1)
		r->fire_after = (int)n;
	r->of_last = r->fire_after;
	if (confread_int(cr, g, "of_last", false, 1, RULES_WINDOW_MAX,
	    &n) == 1) {
		if (n < r->fire_after)
			confread_error(cr, config_setting_get_member(g,
			    "of_last"), "'of_last' (%lld) must be at least "
			    "'fire_after' (%d)", (long long)n, r->fire_after);
		else
			r->of_last = (int)n;
	}
	if (confread_int(cr, g, "resolve_after", false, 1, RESOLVE_MAX,
	    &n) == 1)
		r->resolve_after = (int)n;
	confread_duration(cr, g, "for", false, 0, TIME_MAX_MS, &r->for_ms);
	confread_duration(cr, g, "keep_for", false, 0, TIME_MAX_MS,
	    &r->keep_for_ms);
	confread_duration(cr, g, "repeat", false, 0, TIME_MAX_MS,
	    &r->repeat_ms);
}

static void
rc_routing(struct confread *cr, const config_setting_t *g,
    struct rule_conf *r, const struct config *cfg)
{
	size_t	i;
	int	sev;

	r->send_resolved = true;
	confread_bool(cr, g, "send_resolved", false, &r->send_resolved);
	if (confread_enum(cr, g, "severity", false, severity_names,
	    &sev) == 1)
		r->severity = (enum rules_severity)sev;
	if (rc_strings(cr, g, "notify", &r->notify, &r->nnotify) != 1) {
		r->notify = xcalloc(2, sizeof(*r->notify));
		r->notify[r->nnotify++] = xstrdup("log");
	}
	for (i = 0; i < r->nnotify; i++)
		if (rc_index((const char *const *)cfg->channel_names,
		    r->notify[i]) < 0)
			confread_error(cr, config_setting_get_member(g,
			    "notify"), "unknown channel '%s' (configured "
			    "channels: %s)", r->notify[i],
			    rc_channel_list(cfg));
	rc_strings(cr, g, "depends_on", &r->depends_on, &r->ndepends);
	r->flap_high = RULES_FLAP_HIGH;
	r->flap_low = RULES_FLAP_LOW;
	rc_percent(cr, g, "flap_high", &r->flap_high);
	if (rc_percent(cr, g, "flap_low", &r->flap_low) == 1 &&
	    r->flap_low > r->flap_high && r->flap_high > 0)
		confread_error(cr, config_setting_get_member(g, "flap_low"),
		    "'flap_low' (%g) must not exceed 'flap_high' (%g)",
		    r->flap_low, r->flap_high);
	if (config_setting_get_member(g, "flap_low") == NULL &&
	    r->flap_low > r->flap_high)
		r->flap_low = r->flap_high;
}

static void
rule_free(struct rule_conf *r)
{
	size_t	i;

	free(r->name);
	strings_free(r->checks, r->nchecks);
	for (i = 0; i < r->nlabels; i++) {
		free(r->labels[i].key);
		free(r->labels[i].value);
	}
	free(r->labels);
	free(r->metric);
	strings_free(r->notify, r->nnotify);
	strings_free(r->depends_on, r->ndepends);
}

static void
rule_parse(struct confread *cr, const config_setting_t *g,
    struct config *cfg)
{
	struct rule_conf	*r;
	size_t			 i;

	cfg->rules = xreallocarray(cfg->rules, cfg->nrules + 1,
	    sizeof(*cfg->rules));
	r = &cfg->rules[cfg->nrules++];
	memset(r, 0, sizeof(*r));
	r->file = (char *)cr->file;
	r->line = (int)config_setting_source_line(g);
	confread_check_keys(cr, g, rule_keys, "rule");
	if (confread_string(cr, g, "name", true, &r->name) == 1 &&
	    !rc_name_ok(r->name))
		confread_error(cr, config_setting_get_member(g, "name"),
		    "rule name '%s' must be 1 to %d of [A-Za-z0-9_.-]",
		    r->name, RULES_NAME_MAX);
	if (r->name == NULL)
		r->name = xstrdup("?");
	for (i = 0; i + 1 < cfg->nrules; i++)
		if (strcmp(cfg->rules[i].name, r->name) == 0)
			confread_error(cr, g, "duplicate rule name '%s' "
			    "(first defined at %s:%d)", r->name,
			    cfg->rules[i].file, cfg->rules[i].line);
	rc_checks(cr, g, &r->checks, &r->nchecks);
	rc_labels(cr, g, r);
	rc_condition(cr, g, r);
	rc_debounce(cr, g, r);
	rc_routing(cr, g, r, cfg);
}

void
rules_conf_parse(struct confread *cr, const config_setting_t *s,
    struct config *cfg)
{
	const config_setting_t	*g;
	unsigned int		 i;

	if (!config_setting_is_list(s)) {
		confread_error(cr, s, "'rules' must be a list of groups such "
		    "as ( { name = \"down\"; when = \"failed\"; } ), got %s",
		    confread_type_name(s));
		return;
	}
	for (i = 0; (g = config_setting_get_elem(s, i)) != NULL; i++) {
		if (!config_setting_is_group(g)) {
			confread_error(cr, g, "each rule must be a group "
			    "{ ... }, got %s", confread_type_name(g));
			continue;
		}
		rule_parse(cr, g, cfg);
	}
}

/* ---- silences ------------------------------------------------------------ */

/* "2026-11-28T02:00:00Z" or "2026-11-28T02:00Z" (UTC) into wall µs. */
static int
rc_timestamp(const char *s, int64_t *out)
{
	int		y, mo, d, h, mi, sec = 0, n = 0;
	int64_t		days;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi,
	    &sec, &n) != 6 || s[n] != '\0') {
		n = 0;
		sec = 0;
		if (sscanf(s, "%4d-%2d-%2dT%2d:%2dZ%n", &y, &mo, &d, &h, &mi,
		    &n) != 5 || s[n] != '\0')
			return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -1;
	/* Days from civil (H. Hinnant's algorithm), proleptic Gregorian. */
	y -= mo <= 2;
	days = (int64_t)(y / 400) * 146097 + (y % 400) * 365 + (y % 400) / 4 -
	    (y % 400) / 100 + (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d -
	    1 - 719468;
	*out = ((days * 86400) + h * 3600 + mi * 60 + sec) * 1000000LL;
	return 0;
}

static int
rc_clock(const char *s, int *min, bool end)
{
	int	h, m, n = 0;

	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || m < 0 ||
	    m > 59 || h < 0 || h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	*min = h * 60 + m;
	return 0;
}

/* "sat,sun 02:00-04:00", "mon-fri 22:00-06:00", "* 00:00-24:00". */
static int
rc_weekly(const char *s, struct silence_weekly *w)
{
	char	days[64], from[8], until[8], *tok, *save, *dash;
	int	a, b, i;

	if (sscanf(s, "%63s %5[0-9:]-%5[0-9:]", days, from, until) != 3 ||
	    rc_clock(from, &w->start, false) == -1 ||
	    rc_clock(until, &w->end, true) == -1 || w->start == w->end)
		return -1;
	w->days = 0;
	if (strcmp(days, "*") == 0) {
		w->days = 0x7f;
		return 0;
	}
	for (tok = strtok_r(days, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((dash = strchr(tok, '-')) != NULL)
			*dash++ = '\0';
		if ((a = rc_index(day_names, tok)) < 0)
			return -1;
		b = dash != NULL ? rc_index(day_names, dash) : a;
		if (b < 0)
			return -1;
		for (i = a;; i = (i + 1) % 7) {
			w->days |= (uint8_t)(1 << i);
			if (i == b)
				break;
		}
	}
	return w->days != 0 ? 0 : -1;
}

static void
silence_times(struct confread *cr, const config_setting_t *g,
    struct silence_conf *sc)
{
	const char	*keys[] = { "from", "until" };
	int64_t		*outs[] = { &sc->from, &sc->until };
	char		*s;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		s = NULL;
		if (confread_string(cr, g, keys[i], false, &s) == 1 &&
		    rc_timestamp(s, outs[i]) == -1)
			confread_error(cr, config_setting_get_member(g,
			    keys[i]), "'%s' must be a UTC time such as "
			    "\"2026-11-28T02:00:00Z\", got \"%s\"", keys[i],
			    s);
		free(s);
	}
	if (sc->from != 0 && sc->until != 0 && sc->until <= sc->from)
		confread_error(cr, config_setting_get_member(g, "until"),
		    "'until' must be after 'from'");
}

static void
silence_parse(struct confread *cr, const config_setting_t *g,
    struct config *cfg)
{
	struct silence_conf	*sc;
	char			**w = NULL, *comment = NULL;
	size_t			  nw = 0, i;

	cfg->silences = xreallocarray(cfg->silences, cfg->nsilences + 1,
	    sizeof(*cfg->silences));
	sc = &cfg->silences[cfg->nsilences++];
	memset(sc, 0, sizeof(*sc));
	sc->file = (char *)cr->file;
	sc->line = (int)config_setting_source_line(g);
	confread_check_keys(cr, g, silence_keys, "silence");
	confread_string(cr, g, "comment", false, &comment);
	free(comment);
	rc_checks(cr, g, &sc->checks, &sc->nchecks);
	silence_times(cr, g, sc);
	if (rc_strings(cr, g, "weekly", &w, &nw) == 1) {
		sc->weekly = xcalloc(nw + 1, sizeof(*sc->weekly));
		for (i = 0; i < nw; i++)
			if (rc_weekly(w[i], &sc->weekly[sc->nweekly]) == 0)
				sc->nweekly++;
			else
				confread_error(cr, config_setting_get_member(g,
				    "weekly"), "weekly window \"%s\" must look "
				    "like \"sat,sun 02:00-04:00\" or \"mon-fri "
				    "22:00-06:00\" (local time)", w[i]);
		strings_free(w, nw);
	}
	if (sc->from == 0 && sc->until == 0 && nw == 0)
		confread_error(cr, g, "a silence needs 'from'/'until' or "
		    "'weekly' windows");
}

void
rules_conf_silences(struct confread *cr, const config_setting_t *s,
    struct config *cfg)
{
	const config_setting_t	*g;
	unsigned int		 i;

	if (!config_setting_is_list(s)) {
		confread_error(cr, s, "'silences' must be a list of groups "
		    "such as ( { checks = [\"db\"]; weekly = [\"sun "
		    "02:00-04:00\"]; } ), got %s", confread_type_name(s));
		return;
	}
	for (i = 0; (g = config_setting_get_elem(s, i)) != NULL; i++) {
		if (!config_setting_is_group(g)) {
			confread_error(cr, g, "each silence must be a group "
			    "{ ... }, got %s", confread_type_name(g));
			continue;
		}
		silence_parse(cr, g, cfg);
	}
}

/* ---- after every file ---------------------------------------------------- */

static bool
rc_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* depends_on names real checks; named checks can have the metric. */
static void
rule_finish(struct confread *cr, const struct config *cfg,
    const struct rule_conf *r)
{
	const struct check_conf	*ck;
	size_t			 i;

	for (i = 0; i < r->ndepends; i++)
		if (config_find_check(cfg, r->depends_on[i]) == NULL)
			config_errors_add(cr->errs, "%s:%d: rule '%s': "
			    "depends_on names check '%s', which does not "
			    "exist", r->file, r->line, r->name,
			    r->depends_on[i]);
	for (i = 0; r->when == RULES_WHEN_SLO_BURN && i < r->nchecks; i++)
		if (!rc_is_glob(r->checks[i]) &&
		    (ck = config_find_check(cfg, r->checks[i])) != NULL &&
		    ck->slo == NULL)
			config_errors_add(cr->errs, "%s:%d: rule '%s': check "
			    "'%s' has no slo = { ... } block, so no burn rate",
			    r->file, r->line, r->name, ck->name);
	if (r->when != RULES_WHEN_METRIC || r->metric == NULL)
		return;
	for (i = 0; i < r->nchecks; i++) {
		if (rc_is_glob(r->checks[i]) ||
		    (ck = config_find_check(cfg, r->checks[i])) == NULL ||
		    ck->ops == NULL || probe_metric_known(ck->ops, r->metric))
			continue;
		config_errors_add(cr->errs, "%s:%d: rule '%s': check '%s' is "
		    "a %s check, which has no metric '%s'", r->file, r->line,
		    r->name, ck->name, ck->ops->kind, r->metric);
	}
}

/* The default: page once a check fails 3 times in a row. */
static void
rules_default_down(struct config *cfg)
{
	struct rule_conf	*r;

	cfg->rules = xcalloc(1, sizeof(*cfg->rules));
	cfg->nrules = 1;
	r = &cfg->rules[0];
	r->name = xstrdup(RULES_DEFAULT_NAME);
	r->file = cfg->path;
	r->when = RULES_WHEN_FAILED;
	r->fire_after = r->of_last = RULES_DEFAULT_FIRE_AFTER;
	r->resolve_after = RULES_DEFAULT_RESOLVE_AFTER;
	r->send_resolved = true;
	r->severity = RULES_SEV_CRITICAL;
	r->notify = xcalloc(2, sizeof(*r->notify));
	r->notify[r->nnotify++] = xstrdup("log");
	r->flap_high = RULES_FLAP_HIGH;
	r->flap_low = RULES_FLAP_LOW;
}

static void
rules_add_burn(struct config *cfg, const char *name, double rate,
    int64_t long_ms, int64_t short_ms, enum rules_severity sev)
{
	struct rule_conf	*r;

	cfg->rules = xreallocarray(cfg->rules, cfg->nrules + 1,
	    sizeof(*cfg->rules));
	r = &cfg->rules[cfg->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->file = cfg->path;
	r->when = RULES_WHEN_SLO_BURN;
	r->burn_rate = r->enter = r->leave = rate;
	r->above = true;
	r->long_window_ms = long_ms;
	r->short_window_ms = short_ms;
	r->fire_after = r->of_last = 1;
	r->resolve_after = RULES_DEFAULT_RESOLVE_AFTER;
	r->send_resolved = true;
	r->severity = sev;
	r->notify = xcalloc(2, sizeof(*r->notify));
	r->notify[r->nnotify++] = xstrdup("log");
	/* Burn rates move slowly; flapping means nothing here. */
	r->flap_high = r->flap_low = 0;
}

/* The workbook's page and ticket when SLO checks have no slo_burn rule. */
static void
rules_default_slo(struct config *cfg)
{
	size_t	i;
	bool	slo = false;

	for (i = 0; i < cfg->nchecks; i++)
		slo = slo || cfg->checks[i].slo != NULL;
	for (i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].when == RULES_WHEN_SLO_BURN)
			return;
	if (!slo)
		return;
	rules_add_burn(cfg, RULES_SLO_PAGE_NAME, RULES_SLO_PAGE_BURN,
	    RULES_SLO_PAGE_LONG_MS, RULES_SLO_PAGE_SHORT_MS,
	    RULES_SEV_CRITICAL);
	rules_add_burn(cfg, RULES_SLO_TICKET_NAME, RULES_SLO_TICKET_BURN,
	    RULES_SLO_TICKET_LONG_MS, RULES_SLO_TICKET_SHORT_MS,
	    RULES_SEV_WARNING);
}

void
rules_conf_finish(struct confread *cr, struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nrules; i++)
		rule_finish(cr, cfg, &cfg->rules[i]);
	if (cfg->nrules == 0)
		rules_default_down(cfg);
	rules_default_slo(cfg);
}

void
rules_conf_free(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nrules; i++)
		rule_free(&cfg->rules[i]);
	free(cfg->rules);
	for (i = 0; i < cfg->nsilences; i++) {
		strings_free(cfg->silences[i].checks,
		    cfg->silences[i].nchecks);
		free(cfg->silences[i].weekly);
	}
	free(cfg->silences);
	cfg->rules = NULL;
	cfg->silences = NULL;
	cfg->nrules = cfg->nsilences = 0;
}
