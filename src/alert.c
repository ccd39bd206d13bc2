/* SPDX-License-Identifier: ISC */
/*
 * alert: the alerts of the running config, their lifecycle lines, and the
 * routing of notifications (silences, dependencies, digest).
 *
 * This module owns the table of (rule, check) pairs, what each pair's
 * channels were last told (so a held notification is reconciled later and
 * never sent twice), the lifecycle log lines, the digest window and the
 * mapping to the saved state.  It owns no rule logic (rules.c), no file
 * format (state.c) and no delivery (the notify sink).  Alerts are stored
 * check-major: the alerts of check i are first[i] .. first[i + 1].
 *
 * Footprint: the default rule matches every check, so 10,000 checks are
 * 10,000 alerts, nearly all of them ok.  An alert therefore holds its
 * latest message only while it is not ok (or its channels were told it
 * fired): the text is allocated when it is needed and freed when the alert
 * is ok again, and a healthy alert is about 120 bytes, not 370.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "incident.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "result.h"
#include "rules.h"
#include "slo.h"
#include "state.h"
#include "xmalloc.h"

/* The figures of a slo_burn alert's latest result. */
struct alert_slo {
	double			 budget_left;	/* fraction; < 0: overspent */
	int64_t			 exhausted_in;	/* µs; -1: not being spent */
	double			 burn_long;
	double			 burn_short;
};

struct alert {
	const struct rule_conf	*rule;		/* borrowed from cfg */
	const struct check_conf	*check;		/* borrowed from cfg */
	struct rule_state	 st;
	char			*message;	/* owned; NULL while ok */
	int64_t			 started;	/* the episode's first */
	int			 status;	/* of the latest result */
	int			 phase;		/* failed in; LAST: none */
	int64_t			 phase_us;	/* spent in phase */
	unsigned int		 bad;		/* of the last transition */
	unsigned int		 of;
	bool			 told;		/* channels know it fires */
	struct alert_slo	*slo;		/* owned; slo_burn rules only */
};

struct alerts {
	const struct notify_sink *sink;
	const struct config	*cfg;
	struct alert		*v;
	size_t			 n;
	size_t			*first;		/* nchecks + 1 */
	bool			*silenced;	/* per silence, last tick */
	/*
	 * Per check: some rule names it in depends_on.  Only such a check
	 * can hold others, so only its changes need the O(alerts) walks
	 * (dependents, reconciling): a storm of 10,000 firings without
	 * dependencies did 10^8 reconciles and held the loop for 0.8 s.
	 */
	bool			*parent;
	bool			 dirty;
	/* digest */
	int64_t			 win_start;	/* 0: no window open */
	int			 win_count;
	/*
	 * The digest's items, and beside them the channels each goes to (a
	 * bit per cfg->channel_names[]): items stay contiguous so a channel
	 * that gets them all is handed the queue itself, not a copy (a storm
	 * of 10,000 changes is 30 MB of items).
	 */
	struct notify_item	*queue;
	uint32_t		*queue_channels;
	size_t			 nqueue, capqueue;
	/* SLOs and the incident log (alerts_set_slo, alerts_set_incidents) */
	const struct slo_table	*slo;
	bool			 incidents;
	char			 incident_err[256]; /* last one logged */
};

struct alerts *
alerts_new(const struct notify_sink *sink)
{
	struct alerts	*a;

	a = xcalloc(1, sizeof(*a));
	a->sink = sink;
	return a;
}

/* Frees what v[0 .. n - 1] own: messages and SLO figures. */
static void
alerts_free_messages(struct alert *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].message);
		v[i].message = NULL;
		free(v[i].slo);
		v[i].slo = NULL;
	}
}

void
alerts_free(struct alerts *a)
{
	if (a == NULL)
		return;
	alerts_free_messages(a->v, a->n);
	free(a->v);
	free(a->first);
	free(a->silenced);
	free(a->parent);
	free(a->queue);
	free(a->queue_channels);
	free(a);
}

void
alerts_set_slo(struct alerts *a, const struct slo_table *slo)
{
	a->slo = slo;
}

void
alerts_set_incidents(struct alerts *a, bool on)
{
	a->incidents = on;
}

size_t
alerts_count(const struct alerts *a)
{
	return a->n;
}

bool
alerts_dirty(const struct alerts *a)
{
	return a->dirty;
}

/* ---- lookup -------------------------------------------------------------- */

/* Returns the index of check in the installed config, or -1. */
static ptrdiff_t
alerts_check_index(const struct alerts *a, const struct check_conf *check)
{
	uintptr_t	p = (uintptr_t)check, base;

	if (a->cfg == NULL || a->cfg->nchecks == 0)
		return -1;
	base = (uintptr_t)a->cfg->checks;
	if (p >= base && p < base + a->cfg->nchecks * sizeof(*check))
		return (ptrdiff_t)((p - base) / sizeof(*check));
	if ((check = config_find_check(a->cfg, check->name)) == NULL)
		return -1;
	return check - a->cfg->checks;
}

static struct alert *
alerts_find(const struct alerts *a, const char *rule, const char *check)
{
	const struct check_conf	*ck;
	size_t			 i, ci;

	if (a->cfg == NULL || (ck = config_find_check(a->cfg, check)) == NULL)
		return NULL;
	ci = (size_t)(ck - a->cfg->checks);
	for (i = a->first[ci]; i < a->first[ci + 1]; i++)
		if (strcmp(a->v[i].rule->name, rule) == 0)
			return &a->v[i];
	return NULL;
}

void
alerts_each(const struct alerts *a, alerts_each_cb cb, void *arg)
{
	const struct alert	*al;
	size_t			 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		al = &a->v[i];
		cb(al->rule->name, al->check->name, al->st.flapping ?
		    "flapping" : rules_state_str(al->st.state), al->st.since,
		    arg);
	}
}

const struct rule_state *
alerts_state(const struct alerts *a, const char *rule, const char *check,
    bool *told)
{
	struct alert	*al = alerts_find(a, rule, check);

	if (al == NULL)
		return NULL;
	if (told != NULL)
		*told = al->told;
	return &al->st;
}

const char *
alerts_message(const struct alerts *a, const char *rule, const char *check)
{
	struct alert	*al = alerts_find(a, rule, check);

	return al != NULL ? al->message : NULL;
}

/* Is any alert of the check named name firing? */
static bool
alerts_check_firing(const struct alerts *a, const char *name)
{
	const struct check_conf	*ck;
	size_t			 i, ci;

	if ((ck = config_find_check(a->cfg, name)) == NULL)
		return false;
	ci = (size_t)(ck - a->cfg->checks);
	for (i = a->first[ci]; i < a->first[ci + 1]; i++)
		if (a->v[i].st.state == RULES_FIRING)
			return true;
	return false;
}

static bool
alerts_depends(const struct rule_conf *rule, const char *name)
{
	size_t	i;

	for (i = 0; i < rule->ndepends; i++)
		if (strcmp(rule->depends_on[i], name) == 0)
			return true;
	return false;
}

/*
 * Why al's notifications must wait, into why; returns false when they
 * need not.  A check is never held behind itself.
 */
static bool
alerts_held(const struct alerts *a, const struct alert *al, int64_t now,
    char *why, size_t whylen)
{
	const struct silence_conf	*s;
	size_t				 i;

	for (i = 0; i < a->cfg->nsilences; i++) {
		s = &a->cfg->silences[i];
		if (rules_silence_matches(s, al->check->name) &&
		    rules_silence_active(s, now)) {
			snprintf(why, whylen, "silence %s:%d", s->file,
			    s->line);
			return true;
		}
	}
	for (i = 0; i < al->rule->ndepends; i++) {
		if (strcmp(al->rule->depends_on[i], al->check->name) != 0 &&
		    alerts_check_firing(a, al->rule->depends_on[i])) {
			snprintf(why, whylen, "depends_on %s",
			    al->rule->depends_on[i]);
			return true;
		}
	}
	return false;
}

/* ---- notifications ------------------------------------------------------- */

static uint32_t
alerts_channel_mask(const struct alerts *a, const struct rule_conf *rule)
{
	char *const	*rules_channels = a->cfg->channel_names;
	uint32_t	mask = 0;
	size_t		i, j;

	for (i = 0; i < rule->nnotify; i++)
		for (j = 0; rules_channels[j] != NULL; j++)
			if (strcmp(rules_channels[j], rule->notify[i]) == 0)
				mask |= UINT32_C(1) << j;
	return mask;
}

/* "down/db, down/cache": dependents pending or firing behind check. */
static void
alerts_dependents(const struct alerts *a, const struct alert *parent,
    char *buf, size_t len)
{
	const struct alert	*al;
	ptrdiff_t		 ci;
	size_t			 i, off = 0;
	int			 w;

	buf[0] = '\0';
	/* A check gone with a reload is looked up by name, if still there. */
	if ((ci = alerts_check_index(a, parent->check)) >= 0 &&
	    !a->parent[ci])
		return;
	for (i = 0; i < a->n && off < len; i++) {
		al = &a->v[i];
		if (al->st.state == RULES_OK || al->check == parent->check ||
		    !alerts_depends(al->rule, parent->check->name))
			continue;
		w = snprintf(buf + off, len - off, "%s%s/%s", off > 0 ? ", " :
		    "", al->rule->name, al->check->name);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* The failing phase and the check's labels, into it. */
static void
alerts_item_facts(const struct alert *al, struct notify_item *it)
{
	const struct check_conf	*ck = al->check;
	size_t			 i;

	/* calloc'd alerts have phase 0: only a failed result's counts */
	if (al->status != PROBE_OK && al->phase >= 0 &&
	    al->phase < PROBE_PHASE_LAST) {
		notify_copy(it->phase, sizeof(it->phase),
		    probe_phase_str((enum probe_phase)al->phase));
		it->phase_us = al->phase_us;
	}
	for (i = 0; i < ck->nlabels && i < NOTIFY_LABELS_MAX; i++) {
		notify_copy(it->labels[i].key, sizeof(it->labels[i].key),
		    ck->labels[i].key);
		notify_copy(it->labels[i].value, sizeof(it->labels[i].value),
		    ck->labels[i].value);
	}
	it->nlabels = (unsigned int)i;
}

static void
alerts_item(const struct alerts *a, const struct alert *al,
    enum notify_kind kind, int64_t now, const char *note,
    struct notify_item *it)
{
	const struct rule_state	*st = &al->st;

	memset(it, 0, sizeof(*it));
	it->kind = kind;
	snprintf(it->agent, sizeof(it->agent), "%s", a->cfg->agent.name);
	snprintf(it->rule, sizeof(it->rule), "%s", al->rule->name);
	snprintf(it->check, sizeof(it->check), "%s", al->check->name);
	snprintf(it->target, sizeof(it->target), "%s",
	    al->check->target != NULL ? al->check->target : "");
	snprintf(it->severity, sizeof(it->severity), "%s",
	    rules_severity_str(al->rule->severity));
	snprintf(it->state, sizeof(it->state), "%s",
	    rules_state_str(st->state));
	snprintf(it->reason, sizeof(it->reason), "%s",
	    al->status != PROBE_OK ? probe_status_str(al->status) : "");
	snprintf(it->message, sizeof(it->message), "%s",
	    al->message != NULL ? al->message : "");
	snprintf(it->note, sizeof(it->note), "%s", note != NULL ? note : "");
	alerts_item_facts(al, it);
	it->at = now;
	/* Since when: the episode's start, not the last state change. */
	it->since = al->started != 0 ? al->started : st->since;
	it->bad = al->bad;
	it->of = al->of;
	it->flap_percent = rules_flap_percent(st);
	if (al->slo != NULL) {
		it->has_slo = 1;
		it->budget_left = al->slo->budget_left;
		it->exhausted_in = al->slo->exhausted_in;
		it->burn_long = al->slo->burn_long;
		it->burn_short = al->slo->burn_short;
	}
	if (kind == NOTIFY_FIRING || kind == NOTIFY_RESOLVED ||
	    kind == NOTIFY_REPEAT)
		alerts_dependents(a, al, it->dependents,
		    sizeof(it->dependents));
}

/* Sends the queued digest, one message per channel. */
static void
alerts_flush(struct alerts *a)
{
	char *const		*rules_channels = a->cfg->channel_names;
	struct notify_item	*items = NULL;
	uint32_t		 bit;
	size_t			 i, j, n;

	for (j = 0; rules_channels[j] != NULL; j++) {
		bit = UINT32_C(1) << j;
		for (n = 0, i = 0; i < a->nqueue; i++)
			n += (a->queue_channels[i] & bit) != 0;
		if (n == a->nqueue && n > 0) {
			a->sink->send(a->sink->arg, rules_channels[j],
			    a->queue, n);
			continue;
		}
		if (n == 0)
			continue;
		if (items == NULL)
			items = xcalloc(a->nqueue, sizeof(*items));
		for (n = 0, i = 0; i < a->nqueue; i++)
			if (a->queue_channels[i] & bit)
				items[n++] = a->queue[i];
		a->sink->send(a->sink->arg, rules_channels[j], items, n);
	}
	free(items);
	free(a->queue);
	free(a->queue_channels);
	a->queue = NULL;
	a->queue_channels = NULL;
	a->nqueue = a->capqueue = 0;
	a->win_start = 0;
	a->win_count = 0;
}

/* Appends it to the digest, growing the queue by half again when full. */
static void
alerts_queue(struct alerts *a, const struct notify_item *it, uint32_t mask)
{
	if (a->nqueue == a->capqueue) {
		a->capqueue = a->capqueue < 16 ? 16 : a->capqueue * 3 / 2;
		a->queue = xreallocarray(a->queue, a->capqueue,
		    sizeof(*a->queue));
		a->queue_channels = xreallocarray(a->queue_channels,
		    a->capqueue, sizeof(*a->queue_channels));
	}
	a->queue[a->nqueue] = *it;
	a->queue_channels[a->nqueue++] = mask;
}

/* Hands one item to its channels now, or to the digest. */
static void
alerts_emit(struct alerts *a, const struct notify_item *it, uint32_t mask,
    int64_t now)
{
	const struct agent_conf	*ac = &a->cfg->agent;
	char *const		*rules_channels = a->cfg->channel_names;
	size_t			 j;

	if (ac->digest_window_ms > 0) {
		if (a->win_start != 0 &&
		    now >= a->win_start + ac->digest_window_ms * 1000)
			alerts_flush(a);
		if (a->win_start == 0)
			a->win_start = now;
		if (++a->win_count > ac->digest_threshold) {
			alerts_queue(a, it, mask);
			return;
		}
	}
	for (j = 0; rules_channels[j] != NULL; j++)
		if (mask & (UINT32_C(1) << j))
			a->sink->send(a->sink->arg, rules_channels[j], it, 1);
}

/* Sends kind for al unless held; returns true when sent. */
static bool
alerts_send(struct alerts *a, struct alert *al, enum notify_kind kind,
    int64_t now, const char *note)
{
	struct notify_item	it;
	char			why[128], id[2 * NOTIFY_NAME_MAX + 2];

	if (alerts_held(a, al, now, why, sizeof(why))) {
		snprintf(id, sizeof(id), "%s/%s", al->rule->name,
		    al->check->name);
		log_info("alert", "alert %s: %s notification held by %s", id,
		    notify_kind_str(kind), why);
		return false;
	}
	alerts_item(a, al, kind, now, note, &it);
	alerts_emit(a, &it, alerts_channel_mask(a, al->rule), now);
	return true;
}

/*
 * Tells al's channels what its state is now when they were told
 * something else (after a silence, a parent, or flapping).
 */
static void
alerts_reconcile(struct alerts *a, struct alert *al, int64_t now,
    const char *note)
{
	if (al->st.flapping)
		return;
	if (al->st.state == RULES_FIRING && !al->told) {
		if (alerts_send(a, al, NOTIFY_FIRING, now, note)) {
			al->told = true;
			al->st.last_notify = now;
			a->dirty = true;
		}
	} else if (al->st.state != RULES_FIRING && al->told) {
		if (!al->rule->send_resolved ||
		    alerts_send(a, al, NOTIFY_RESOLVED, now, note)) {
			al->told = false;
			a->dirty = true;
		}
	}
}

static void
alerts_reconcile_all(struct alerts *a, int64_t now, const char *note)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		alerts_reconcile(a, &a->v[i], now, note);
}

/* ---- the incident log ---------------------------------------------------- */

/* Appends al's firing or resolution; a failure is logged once per cause. */
static void
alerts_incident(struct alerts *a, const struct alert *al, bool resolved,
    int64_t now, int64_t fired_at)
{
	struct incident_event	ev;
	char			err[256];

	if (!a->incidents)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.resolved = resolved;
	snprintf(ev.agent, sizeof(ev.agent), "%s", a->cfg->agent.name);
	snprintf(ev.rule, sizeof(ev.rule), "%s", al->rule->name);
	snprintf(ev.check, sizeof(ev.check), "%s", al->check->name);
	snprintf(ev.severity, sizeof(ev.severity), "%s",
	    rules_severity_str(al->rule->severity));
	snprintf(ev.reason, sizeof(ev.reason), "%s",
	    al->status != PROBE_OK ? probe_status_str(al->status) : "");
	snprintf(ev.message, sizeof(ev.message), "%s", al->message);
	ev.at = now;
	ev.since = resolved ? fired_at : 0;
	if (incident_append(a->cfg->agent.state_dir, &ev,
	    INCIDENT_ROTATE_BYTES, err, sizeof(err)) == 0) {
		a->incident_err[0] = '\0';
		return;
	}
	if (strcmp(err, a->incident_err) != 0)
		log_warnx("alert", "cannot append to the incident log: %s "
		    "(alerts still work; sonde report will miss this "
		    "incident)", err);
	snprintf(a->incident_err, sizeof(a->incident_err), "%s", err);
}

/* ---- results ------------------------------------------------------------- */

/* The lifecycle line, e.g. alert=down/db state=firing from=pending ... */
static void
alerts_log(const struct alerts *a, const struct alert *al,
    const struct rules_transition *tr)
{
	char		 id[2 * NOTIFY_NAME_MAX + 8], raw[2 * NOTIFY_NAME_MAX];
	char		 msg[2 * PROBE_MESSAGE_MAX + 3], after[32], extra[64];
	const char	*state;

	(void)a;
	snprintf(raw, sizeof(raw), "%s/%s", al->rule->name, al->check->name);
	log_quote(raw, id, sizeof(id));
	extra[0] = '\0';
	if (tr->flap == RULES_FLAP_START) {
		state = "flapping";
	} else if (tr->flap == RULES_FLAP_END) {
		state = "stable";
		snprintf(extra, sizeof(extra), " now=%s",
		    rules_state_str(al->st.state));
	} else if (tr->event == RULES_EV_RESOLVED)
		state = "resolved";
	else if (tr->event == RULES_EV_REPEAT) {
		state = "firing";
		snprintf(extra, sizeof(extra), " repeat=yes");
	} else
		state = rules_state_str(tr->to);
	log_event("alert", "alert=%s state=%s%s from=%s severity=%s check=%s "
	    "reason=%s message=%s failed=%u/%u after=%s flap=%.1f", id, state,
	    extra, rules_state_str(tr->from),
	    rules_severity_str(al->rule->severity),
	    log_quote(al->check->name, raw, sizeof(raw)),
	    al->status != PROBE_OK ? probe_status_str(al->status) : "none",
	    log_quote(al->message != NULL ? al->message : "", msg,
	    sizeof(msg)), tr->bad, tr->of,
	    result_format_us(tr->was_for, after, sizeof(after)),
	    tr->flap_percent);
}

/* Routes one transition of al to its channels. */
static void
alerts_route(struct alerts *a, struct alert *al,
    const struct rules_transition *tr, int64_t now)
{
	if (tr->flap == RULES_FLAP_START) {
		alerts_send(a, al, NOTIFY_FLAPPING, now, NULL);
		return;
	}
	if (tr->flap == RULES_FLAP_END) {
		if (alerts_send(a, al, NOTIFY_STABLE, now, NULL))
			al->told = al->st.state == RULES_FIRING;
		return;
	}
	if (!tr->notify) {
		if (tr->event == RULES_EV_RESOLVED && !al->rule->send_resolved)
			al->told = false;
		return;
	}
	if (tr->event == RULES_EV_FIRING && !al->told)
		al->told = alerts_send(a, al, NOTIFY_FIRING, now, NULL);
	else if (tr->event == RULES_EV_RESOLVED && al->told)
		al->told = !alerts_send(a, al, NOTIFY_RESOLVED, now, NULL);
	else if (tr->event == RULES_EV_REPEAT && al->told)
		alerts_send(a, al, NOTIFY_REPEAT, now, NULL);
}

/*
 * "burn rate 20.0x over 1h and 25.0x over 5m (fires above 14.4x); 71.2%
 * of the 30d error budget left (43m12s), exhausted in 14h54m at this rate"
 */
static void
alerts_describe_slo(const struct alert *al, char *buf, size_t len)
{
	const struct rule_conf	*r = al->rule;
	const struct slo_conf	*c = al->check->slo;
	const struct alert_slo	*f = al->slo;
	char			 lw[32], sw[32], win[32], ex[48], bud[32];

	config_format_duration(r->long_window_ms, lw, sizeof(lw));
	config_format_duration(r->short_window_ms, sw, sizeof(sw));
	config_format_duration(c->window_ms, win, sizeof(win));
	result_format_us(slo_budget_us(c), bud, sizeof(bud));
	if (f == NULL) {
		snprintf(buf, len, "no burn rate yet (the SLO counts for %s "
		    "before it can page)", sw);
		return;
	}
	if (f->budget_left <= 0) {
		snprintf(buf, len, "burn rate %.1fx "
		    "over %s and %.1fx over %s (fires above %gx); the %s error "
		    "budget (%s) is spent (%.1f%% left)", f->burn_long, lw,
		    f->burn_short, sw, r->burn_rate, win, bud,
		    100.0 * f->budget_left);
		return;
	}
	if (f->exhausted_in < 0)
		snprintf(ex, sizeof(ex), "not being spent");
	else {
		snprintf(ex, sizeof(ex), "exhausted in ");
		result_format_us(f->exhausted_in, ex + strlen(ex),
		    sizeof(ex) - strlen(ex));
		strncat(ex, " at this rate", sizeof(ex) - strlen(ex) - 1);
	}
	snprintf(buf, len, "burn rate %.1fx over %s "
	    "and %.1fx over %s (fires above %gx); %.1f%% of the %s error "
	    "budget (%s) left, %s", f->burn_long, lw, f->burn_short, sw,
	    r->burn_rate, 100.0 * f->budget_left, win, bud, ex);
}

/*
 * The lower of the two burn rates, and the budget, into al and in.  No
 * result in a window is no burn: 0.
 */
static void
alerts_slo_input(const struct alerts *a, struct alert *al, int64_t now,
    struct rules_input *in)
{
	const struct slo_store	*st;
	const struct slo_conf	*c;
	struct alert_slo	*f;
	uint64_t		 good, bad;
	double			 bl, bs;
	int64_t			 win;

	if (a->slo == NULL ||
	    (st = slo_table_store(a->slo, al->check->name, &c)) == NULL)
		return;
	/*
	 * A fresh SLO waits for short_window of counts: one failed first
	 * probe is a 100% error rate, not a fast burn worth a page.
	 */
	if (st->first == 0 || now - st->first < al->rule->short_window_ms *
	    1000)
		return;
	if (al->slo == NULL)
		al->slo = xcalloc(1, sizeof(*al->slo));
	f = al->slo;
	bl = slo_store_burn(st, c, now, al->rule->long_window_ms * 1000);
	bs = slo_store_burn(st, c, now, al->rule->short_window_ms * 1000);
	f->burn_long = isnan(bl) ? 0 : bl;
	f->burn_short = isnan(bs) ? 0 : bs;
	/* The window's budget: one pass over the coarse ring. */
	win = c->window_ms * 1000;
	slo_store_sum(st, now, win, &good, &bad);
	f->budget_left = good + bad == 0 ? 1.0 : 1.0 - ((double)bad /
	    (double)(good + bad)) / (1.0 - c->objective / 100.0);
	/* At the long window's rate, the rest lasts left * window / rate. */
	if (f->budget_left <= 0)
		f->exhausted_in = 0;
	else if (f->burn_long > 0)
		f->exhausted_in = (int64_t)(f->budget_left * (double)win /
		    f->burn_long);
	else
		f->exhausted_in = -1;
	/*
	 * The workbook's reset: it fires when both windows burn too fast,
	 * and stops once the short window no longer does.
	 */
	in->has_value = true;
	if (al->st.violating)
		in->value = f->burn_short;
	else
		in->value = f->burn_long < f->burn_short ? f->burn_long :
		    f->burn_short;
}

/*
 * The alert's words for res, into buf.  For metric rules the message says
 * the value and the band.  Formatting costs (%g), so callers only ask when
 * the alert keeps or logs the text.
 */
static void
alerts_describe(const struct alert *al, const struct probe_result *res,
    const struct rules_input *in, char *buf, size_t len)
{
	const struct rule_conf	*r = al->rule;

	if (r->when == RULES_WHEN_SLO_BURN) {
		alerts_describe_slo(al, buf, len);
		return;
	}
	if (r->when == RULES_WHEN_FAILED || !in->has_value) {
		snprintf(buf, len, "%s", res->message);
		return;
	}
	/* A long probe message is cut; the value and band come first. */
	if (snprintf(buf, len, "%s = %g (fires %s %g, clears %s %g)%s%s",
	    r->metric, in->value, r->above ? "above" : "below", r->enter,
	    r->above ? "below" : "above", r->leave,
	    res->message[0] != '\0' ? "; " : "", res->message) < 0)
		buf[0] = '\0';
}

/*
 * Is al more than a quiet ok alert, so that it remembers its latest
 * message and is worth saving?
 */
static bool
alerts_keeps_message(const struct alert *al)
{
	return al->st.state != RULES_OK || al->told || al->st.flapping;
}

/* Frees al's message unless al needs it. */
static void
alerts_drop_message(struct alert *al)
{
	if (alerts_keeps_message(al))
		return;
	free(al->message);
	al->message = NULL;
}

/*
 * Stores res's words in al.  The text of a failing check rarely changes
 * between results, so it is compared before it is copied.
 */
static void
alerts_store_message(struct alert *al, const struct probe_result *res,
    const struct rules_input *in)
{
	char	buf[PROBE_MESSAGE_MAX];

	alerts_describe(al, res, in, buf, sizeof(buf));
	if (al->message != NULL && strcmp(al->message, buf) == 0)
		return;
	free(al->message);
	al->message = xstrdup(buf);
}

void
alerts_result(struct alerts *a, const struct check_conf *check,
    const struct probe_result *res, int64_t now)
{
	struct rules_transition	 tr;
	struct rules_input	 in;
	struct alert		*al;
	ptrdiff_t		 ci;
	size_t			 i;
	bool			 parent_changed = false;

	if ((ci = alerts_check_index(a, check)) < 0)
		return;		/* not in the installed config */
	for (i = a->first[ci]; i < a->first[ci + 1]; i++) {
		al = &a->v[i];
		memset(&in, 0, sizeof(in));
		in.status = res->status;
		if (al->rule->when == RULES_WHEN_METRIC)
			in.has_value = probe_result_metric(al->check, res,
			    al->rule->metric, &in.value) == 0 &&
			    isfinite(in.value);
		else if (al->rule->when == RULES_WHEN_SLO_BURN)
			alerts_slo_input(a, al, now, &in);
		al->status = res->status;
		al->phase = (int)probe_failing_phase(res, &al->phase_us);
		if (!rules_eval(al->rule, &al->st, &in, now, &tr)) {
			/* The common case, a healthy alert, costs nothing. */
			if (alerts_keeps_message(al))
				alerts_store_message(al, res, &in);
			else if (al->message != NULL)
				alerts_drop_message(al);
			continue;
		}
		/* The line and the notification say it, even when ok. */
		alerts_store_message(al, res, &in);
		alerts_log(a, al, &tr);
		al->bad = tr.bad;
		al->of = tr.of;
		if (tr.from == RULES_OK && tr.to != RULES_OK)
			al->started = now;
		if (tr.event == RULES_EV_FIRING ||
		    tr.event == RULES_EV_RESOLVED)
			alerts_incident(a, al, tr.event == RULES_EV_RESOLVED,
			    now, now - tr.was_for);
		if (tr.event != RULES_EV_REPEAT)
			a->dirty = true;
		alerts_route(a, al, &tr, now);
		alerts_drop_message(al);
		if ((tr.from == RULES_FIRING || tr.to == RULES_FIRING) &&
		    a->parent[ci])
			parent_changed = true;
	}
	/* A parent that stopped firing releases what it held. */
	if (parent_changed)
		alerts_reconcile_all(a, now, "no longer held by a dependency");
}

void
alerts_tick(struct alerts *a, int64_t now)
{
	size_t	i;
	bool	ended = false, on;

	if (a->cfg == NULL)
		return;
	for (i = 0; i < a->cfg->nsilences; i++) {
		on = rules_silence_active(&a->cfg->silences[i], now);
		if (a->silenced[i] && !on)
			ended = true;
		a->silenced[i] = on;
	}
	if (ended)
		alerts_reconcile_all(a, now, "silence ended");
	if (a->win_start != 0 && now >= a->win_start +
	    a->cfg->agent.digest_window_ms * 1000) {
		if (a->nqueue > 0)
			alerts_flush(a);
		a->win_start = 0;
		a->win_count = 0;
	}
}

/* ---- configuration and saved state --------------------------------------- */

/* Does a window counted under old mean the same under new? */
static bool
alerts_same_condition(const struct rule_conf *o, const struct rule_conf *n)
{
	if (o->when != n->when || o->reasons != n->reasons ||
	    o->of_last != n->of_last)
		return false;
	if (o->when == RULES_WHEN_FAILED)
		return true;
	if (o->when == RULES_WHEN_SLO_BURN)
		return o->burn_rate == n->burn_rate &&
		    o->long_window_ms == n->long_window_ms &&
		    o->short_window_ms == n->short_window_ms;
	return strcmp(o->metric, n->metric) == 0 && o->above == n->above &&
	    o->enter == n->enter && o->leave == n->leave;
}

static bool
alerts_same(const struct alert *o, const struct alert *al)
{
	return o->rule != NULL && strcmp(o->rule->name, al->rule->name) == 0 &&
	    strcmp(o->check->name, al->check->name) == 0;
}

/* The table a reload replaces: its config is still alive. */
struct alerts_prev {
	const struct config	*cfg;
	struct alert		*v;
	size_t			 n;
	size_t			*first;		/* cfg->nchecks + 1 */
};

/*
 * The old alert of the same identity, or NULL.  A reload mostly keeps the
 * order of checks and rules, so the one after the previous match (*hint)
 * is tried first; else the check's name is looked up in the old config
 * (its name index) and only that check's old alerts are compared: a
 * renamed check used to cost a pass over all old alerts, 5 * 10^7 string
 * compares when 5,000 of 10,000 checks were renamed.
 */
static struct alert *
alerts_old(const struct alerts_prev *p, const struct alert *al, size_t *hint)
{
	const struct check_conf	*ck;
	size_t			 i, k;

	if (*hint < p->n && alerts_same(&p->v[*hint], al))
		return &p->v[(*hint)++];
	if (p->cfg == NULL || p->first == NULL ||
	    (ck = config_find_check(p->cfg, al->check->name)) == NULL)
		return NULL;
	k = (size_t)(ck - p->cfg->checks);
	for (i = p->first[k]; i < p->first[k + 1]; i++)
		if (alerts_same(&p->v[i], al)) {
			*hint = i + 1;
			return &p->v[i];
		}
	return NULL;
}

/* A pair the new config no longer has. */
static void
alerts_removed(struct alerts *a, struct alert *al, int64_t now)
{
	char	id[2 * NOTIFY_NAME_MAX + 8], raw[2 * NOTIFY_NAME_MAX];

	if (al->st.state != RULES_FIRING && !al->told)
		return;
	snprintf(raw, sizeof(raw), "%s/%s", al->rule->name, al->check->name);
	log_event("alert", "alert=%s state=resolved from=%s cause=removed",
	    log_quote(raw, id, sizeof(id)), rules_state_str(al->st.state));
	if (al->st.state == RULES_FIRING)
		alerts_incident(a, al, true, now, al->st.since);
	al->st.state = RULES_OK;
	if (al->told && al->rule->send_resolved)
		alerts_send(a, al, NOTIFY_RESOLVED, now,
		    "removed from the configuration");
	a->dirty = true;
}

/* Marks the check called name, if any, as one that others depend on. */
static void
alerts_mark_parent(struct alerts *a, const struct config *cfg,
    const char *name)
{
	const struct check_conf	*ck = config_find_check(cfg, name);

	if (ck != NULL)
		a->parent[ck - cfg->checks] = true;
}

/* Builds the check-major table of cfg. */
static void
alerts_build(struct alerts *a, const struct config *cfg, int64_t now)
{
	size_t	i, j, n = 0;

	a->first = xcalloc(cfg->nchecks + 1, sizeof(*a->first));
	a->v = xcalloc(cfg->nchecks * cfg->nrules + 1, sizeof(*a->v));
	for (i = 0; i < cfg->nchecks; i++) {
		a->first[i] = n;
		for (j = 0; j < cfg->nrules; j++) {
			if (!rules_match(&cfg->rules[j], &cfg->checks[i]))
				continue;
			a->v[n].rule = &cfg->rules[j];
			a->v[n].check = &cfg->checks[i];
			rules_state_init(&a->v[n].st, now);
			n++;
		}
	}
	a->first[cfg->nchecks] = n;
	a->n = n;
	a->parent = xcalloc(cfg->nchecks + 1, sizeof(*a->parent));
	for (j = 0; j < cfg->nrules; j++)
		for (i = 0; i < cfg->rules[j].ndepends; i++)
			alerts_mark_parent(a, cfg, cfg->rules[j].depends_on[i]);
}

void
alerts_set_config(struct alerts *a, const struct config *cfg, int64_t now)
{
	struct alerts_prev	 prev = { a->cfg, a->v, a->n, a->first };
	struct alert		*old = a->v, *o;
	size_t			 nold = a->n, i, hint = 0;

	free(a->silenced);
	free(a->parent);
	a->cfg = cfg;
	alerts_build(a, cfg, now);
	a->silenced = xcalloc(cfg->nsilences + 1, sizeof(*a->silenced));
	for (i = 0; i < cfg->nsilences; i++)
		a->silenced[i] = rules_silence_active(&cfg->silences[i], now);
	for (i = 0; i < a->n; i++) {
		if ((o = alerts_old(&prev, &a->v[i], &hint)) == NULL)
			continue;
		a->v[i].st = o->st;
		a->v[i].told = o->told;
		a->v[i].status = o->status;
		a->v[i].phase = o->phase;
		a->v[i].phase_us = o->phase_us;
		a->v[i].message = o->message;	/* moved */
		o->message = NULL;
		a->v[i].slo = o->slo;
		o->slo = NULL;
		if (!alerts_same_condition(o->rule, a->v[i].rule)) {
			a->v[i].st.window = 0;
			a->v[i].st.nwindow = 0;
			a->v[i].st.violating = false;
		}
		o->rule = NULL;		/* kept */
	}
	/* Removed pairs still point into the old config (not yet freed). */
	for (i = 0; i < nold; i++)
		if (old[i].rule != NULL)
			alerts_removed(a, &old[i], now);
	alerts_free_messages(old, nold);
	free(old);
	free(prev.first);
}

char *
alerts_encode(struct alerts *a)
{
	struct state_alert	*v;
	size_t			 i, n, want;
	char			*txt;

	/*
	 * Only alerts with something to remember: an ok alert that nobody was
	 * told about restarts as well from scratch (its window aside), and
	 * 10,000 quiet alerts should not cost a 10,000-entry file, nor a
	 * 10,000-entry buffer: they are counted first.
	 */
	for (want = 0, i = 0; i < a->n; i++)
		if (alerts_keeps_message(&a->v[i]))
			want++;
	v = xcalloc(want + 1, sizeof(*v));
	for (n = 0, i = 0; i < a->n && n < want; i++) {
		if (!alerts_keeps_message(&a->v[i]))
			continue;
		snprintf(v[n].rule, sizeof(v[n].rule), "%s",
		    a->v[i].rule->name);
		snprintf(v[n].check, sizeof(v[n].check), "%s",
		    a->v[i].check->name);
		v[n].st = a->v[i].st;
		v[n++].told = a->v[i].told;
	}
	txt = state_encode(a->cfg->agent.name, v, n);
	free(v);
	if (txt != NULL)
		a->dirty = false;
	return txt;
}

int
alerts_save(struct alerts *a, char *err, size_t errlen)
{
	char	*txt;
	int	 rc;

	if (a->cfg == NULL)
		return 0;
	if ((txt = alerts_encode(a)) == NULL) {
		snprintf(err, errlen, "cannot encode the alert state");
		return -1;
	}
	if ((rc = state_write_atomic(a->cfg->agent.state_dir, STATE_FILE, txt,
	    err, errlen)) == -1)
		a->dirty = true;
	free(txt);
	return rc;
}

void
alerts_restore(struct alerts *a, const struct state_alert *v, size_t n)
{
	struct alert	*al;
	size_t		 i, kept = 0;

	for (i = 0; i < n; i++) {
		if ((al = alerts_find(a, v[i].rule, v[i].check)) == NULL) {
			log_info("alert", "saved state of alert %s/%s dropped: "
			    "no such rule and check in the configuration",
			    v[i].rule, v[i].check);
			continue;
		}
		al->st = v[i].st;
		al->told = v[i].told;
		kept++;
		if (al->st.state == RULES_FIRING)
			log_info("alert", "alert %s/%s restored as firing; "
			    "it is not notified again until it resolves",
			    v[i].rule, v[i].check);
	}
	log_info("alert", "restored the state of %zu of %zu saved alert%s",
	    kept, n, n == 1 ? "" : "s");
}

void
alerts_restore_spooled(const struct notify_item *it, void *arg)
{
	struct alerts	*a = arg;
	struct alert	*al;

	if ((al = alerts_find(a, it->rule, it->check)) == NULL)
		return;
	if (it->kind == NOTIFY_FIRING && al->st.state != RULES_FIRING) {
		al->st.state = RULES_FIRING;
		al->st.since = it->since;
		al->st.last_notify = it->at;
		al->started = it->since;
		al->told = true;
	} else if (it->kind == NOTIFY_RESOLVED && al->st.state != RULES_OK) {
		al->st.state = RULES_OK;
		al->st.since = it->at;
		al->started = 0;
		al->told = false;
	} else
		return;
	a->dirty = true;
	log_info("alert", "alert %s/%s restored as %s from the outbox: its "
	    "notification was spooled after the state was last saved",
	    it->rule, it->check, rules_state_str(al->st.state));
}
