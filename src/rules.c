/* SPDX-License-Identifier: ISC */
/*
 * rules: the pure core of alerting: one result in, one alert's state
 * updated, what changed out.
 *
 * This module owns the meaning of fire_after/of_last/resolve_after, for,
 * keep_for, repeat, the hysteresis band and flap detection, and which
 * rule applies to which check.  It owns no table of alerts, no clock, no
 * output: the alert table (alert.c) calls rules_eval() with the time and
 * decides where notifications go.  Parsing the rules is rules_conf.c.
 */
#include "autoconf.h"

#include <fnmatch.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "probe.h"
#include "rules.h"

#define FLAP_MASK	((UINT32_C(1) << RULES_FLAP_RESULTS) - 1)

static const char *const rules_state_names[] = {
	[RULES_OK] = "ok",
	[RULES_PENDING] = "pending",
	[RULES_FIRING] = "firing",
};
_Static_assert(sizeof(rules_state_names) / sizeof(rules_state_names[0]) ==
    RULES_STATE_LAST, "rules_state_names out of step with the enum");

static const char *const rules_event_names[] = {
	[RULES_EV_NONE] = "none",
	[RULES_EV_PENDING] = "pending",
	[RULES_EV_CANCELLED] = "cancelled",
	[RULES_EV_FIRING] = "firing",
	[RULES_EV_RESOLVED] = "resolved",
	[RULES_EV_REPEAT] = "repeat",
};
_Static_assert(sizeof(rules_event_names) / sizeof(rules_event_names[0]) ==
    RULES_EV_LAST, "rules_event_names out of step with the enum");

static const char *const rules_severity_names[] = {
	[RULES_SEV_CRITICAL] = "critical",
	[RULES_SEV_WARNING] = "warning",
	[RULES_SEV_INFO] = "info",
};
_Static_assert(sizeof(rules_severity_names) /
    sizeof(rules_severity_names[0]) == RULES_SEV_LAST,
    "rules_severity_names out of step with the enum");

const char *
rules_state_str(enum rules_state state)
{
	return state < RULES_STATE_LAST ? rules_state_names[state] : "?";
}

const char *
rules_event_str(enum rules_event event)
{
	return event < RULES_EV_LAST ? rules_event_names[event] : "?";
}

const char *
rules_severity_str(enum rules_severity sev)
{
	return sev < RULES_SEV_LAST ? rules_severity_names[sev] : "?";
}

void
rules_state_init(struct rule_state *st, int64_t now)
{
	memset(st, 0, sizeof(*st));
	st->state = RULES_OK;
	st->since = now;
}

/*
 * Is this result a violation?  A metric the probe could not measure (it
 * failed before) says nothing about the band, so the answer stays.
 */
static bool
rules_violation(const struct rule_conf *rule, const struct rule_state *st,
    const struct rules_input *in)
{
	if (rule->when == RULES_WHEN_FAILED) {
		if (in->status == PROBE_OK)
			return false;
		return rule->reasons == 0 ||
		    (rule->reasons & (UINT64_C(1) << in->status)) != 0;
	}
	/* slo_burn: the value is the lower of the two burn rates. */
	if (!in->has_value)
		return st->violating;
	if (rule->above) {
		if (in->value > rule->enter)
			return true;
		if (in->value < rule->leave)
			return false;
	} else {
		if (in->value < rule->enter)
			return true;
		if (in->value > rule->leave)
			return false;
	}
	return st->violating;	/* inside the band: hysteresis */
}

double
rules_flap_percent(const struct rule_state *st)
{
	double		sum = 0;
	uint32_t	i, j, n = RULES_FLAP_RESULTS - 1;

	/* Bit i is i results ago; the change between i+1 and i is j-th. */
	for (i = 0; i + 1 < st->nflap; i++) {
		if (((st->flap_hist >> i) ^ (st->flap_hist >> (i + 1))) & 1) {
			j = n - 1 - i;	/* 0: oldest, n-1: newest */
			sum += 0.8 + 0.4 * (double)j / (double)(n - 1);
		}
	}
	return sum / (double)n * 100.0;
}

static unsigned int
rules_popcount(uint64_t x)
{
	unsigned int	n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n;
}

/* Violations among the last of_last results. */
static unsigned int
rules_window_bad(const struct rule_conf *rule, const struct rule_state *st)
{
	uint64_t	mask;

	mask = rule->of_last >= 64 ? UINT64_MAX :
	    (UINT64_C(1) << rule->of_last) - 1;
	return rules_popcount(st->window & mask);
}

/* Moves st to state, filling the transition's from/to and durations. */
static void
rules_set_state(struct rule_state *st, enum rules_state to,
    enum rules_event ev, int64_t now, struct rules_transition *tr)
{
	tr->event = ev;
	tr->from = st->state;
	tr->to = to;
	tr->was_for = now - st->since;
	st->state = to;
	st->since = now;
	if (to == RULES_FIRING || ev == RULES_EV_RESOLVED) {
		/* Each episode is counted afresh (Monit, STYLE.md 20). */
		st->window = 0;
		st->nwindow = 0;
	}
}

/* The lifecycle step: at most one state event per result. */
static void
rules_step(const struct rule_conf *rule, struct rule_state *st, bool bad,
    int64_t now, struct rules_transition *tr)
{
	unsigned int	nbad = rules_window_bad(rule, st);
	bool		enough = nbad >= (unsigned int)rule->fire_after;

	switch (st->state) {
	case RULES_OK:
		if (bad && enough && rule->for_ms == 0)
			rules_set_state(st, RULES_FIRING, RULES_EV_FIRING, now,
			    tr);
		else if (bad)
			rules_set_state(st, RULES_PENDING, RULES_EV_PENDING,
			    now, tr);
		break;
	case RULES_PENDING:
		if (enough && now - st->since >= rule->for_ms * 1000)
			rules_set_state(st, RULES_FIRING, RULES_EV_FIRING, now,
			    tr);
		else if (!bad && (rule->of_last == rule->fire_after ||
		    nbad == 0))
			rules_set_state(st, RULES_OK, RULES_EV_CANCELLED, now,
			    tr);
		break;
	case RULES_FIRING:
		if (st->good_run >= (uint32_t)rule->resolve_after &&
		    now - st->good_since >= rule->keep_for_ms * 1000)
			rules_set_state(st, RULES_OK, RULES_EV_RESOLVED, now,
			    tr);
		else if (rule->repeat_ms > 0 && !st->flapping &&
		    now - st->last_notify >= rule->repeat_ms * 1000)
			tr->event = RULES_EV_REPEAT;
		break;
	default:
		break;
	}
}

/* Flap detection after the result is in the history. */
static void
rules_flap(const struct rule_conf *rule, struct rule_state *st,
    struct rules_transition *tr)
{
	tr->flap_percent = rules_flap_percent(st);
	if (rule->flap_high <= 0)
		return;
	if (!st->flapping && tr->flap_percent >= rule->flap_high) {
		st->flapping = true;
		tr->flap = RULES_FLAP_START;
	} else if (st->flapping && tr->flap_percent < rule->flap_low) {
		st->flapping = false;
		tr->flap = RULES_FLAP_END;
	}
}

/* Whether the transition is worth telling people, before routing. */
static void
rules_notify(const struct rule_conf *rule, struct rule_state *st,
    struct rules_transition *tr, int64_t now)
{
	switch (tr->event) {
	case RULES_EV_FIRING:
	case RULES_EV_REPEAT:
		tr->notify = !st->flapping;
		break;
	case RULES_EV_RESOLVED:
		tr->notify = !st->flapping && rule->send_resolved;
		break;
	default:
		break;
	}
	/* Flap start and end are told once each; the end says where. */
	if (tr->flap != RULES_FLAP_NONE)
		tr->notify = true;
	if (tr->notify && st->state == RULES_FIRING)
		st->last_notify = now;
}

bool
rules_eval(const struct rule_conf *rule, struct rule_state *st,
    const struct rules_input *in, int64_t now, struct rules_transition *tr)
{
	bool	bad;

	memset(tr, 0, sizeof(*tr));
	tr->from = tr->to = st->state;
	tr->at = now;
	bad = rules_violation(rule, st, in);
	st->violating = bad;
	st->results++;
	st->window = (st->window << 1) | (bad ? 1 : 0);
	if (st->nwindow < RULES_WINDOW_MAX)
		st->nwindow++;
	st->flap_hist = ((st->flap_hist << 1) | (bad ? 1 : 0)) & FLAP_MASK;
	if (st->nflap < RULES_FLAP_RESULTS)
		st->nflap++;
	if (bad)
		st->good_run = 0;
	else if (st->good_run++ == 0)
		st->good_since = now;
	tr->bad = rules_window_bad(rule, st);
	tr->of = st->nwindow < (uint32_t)rule->of_last ? st->nwindow :
	    (unsigned int)rule->of_last;
	rules_step(rule, st, bad, now, tr);
	tr->good_run = st->good_run;
	tr->violating = bad;
	rules_flap(rule, st, tr);
	rules_notify(rule, st, tr, now);
	return tr->event != RULES_EV_NONE || tr->flap != RULES_FLAP_NONE;
}

/* ---- matching ------------------------------------------------------------ */

static bool
rules_globs(char *const *globs, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return true;
	return false;
}

bool
rules_match(const struct rule_conf *rule, const struct check_conf *check)
{
	size_t	i, j;

	if (rule->nchecks > 0 &&
	    !rules_globs(rule->checks, rule->nchecks, check->name))
		return false;
	for (i = 0; i < rule->nlabels; i++) {
		for (j = 0; j < check->nlabels; j++)
			if (strcmp(rule->labels[i].key,
			    check->labels[j].key) == 0 &&
			    fnmatch(rule->labels[i].value,
			    check->labels[j].value, 0) == 0)
				break;
		if (j == check->nlabels)
			return false;
	}
	/* An slo_burn rule applies only to checks with an SLO. */
	if (rule->when == RULES_WHEN_SLO_BURN)
		return check->slo != NULL;
	/* A metric rule applies only to kinds that measure the metric. */
	return rule->when != RULES_WHEN_METRIC ||
	    probe_metric_known(check->ops, rule->metric);
}

bool
rules_silence_matches(const struct silence_conf *s, const char *check_name)
{
	return s->nchecks == 0 ||
	    rules_globs(s->checks, s->nchecks, check_name);
}

/* Is local time tm inside the weekly window w? */
static bool
rules_weekly_in(const struct silence_weekly *w, const struct tm *tm)
{
	int	min = tm->tm_hour * 60 + tm->tm_min;
	int	yday = (tm->tm_wday + 6) % 7;

	if (w->end > w->start)
		return (w->days & (1 << tm->tm_wday)) != 0 &&
		    min >= w->start && min < w->end;
	/* Wraps midnight: the evening of a listed day or the next morning. */
	return ((w->days & (1 << tm->tm_wday)) != 0 && min >= w->start) ||
	    ((w->days & (1 << yday)) != 0 && min < w->end);
}

bool
rules_silence_active(const struct silence_conf *s, int64_t now)
{
	struct tm	tm;
	time_t		t = (time_t)(now / 1000000);
	size_t		i;

	if (s->from != 0 && now < s->from)
		return false;
	if (s->until != 0 && now >= s->until)
		return false;
	if (s->nweekly == 0)
		return true;
	if (localtime_r(&t, &tm) == NULL)
		return false;
	for (i = 0; i < s->nweekly; i++)
		if (rules_weekly_in(&s->weekly[i], &tm))
			return true;
	return false;
}
