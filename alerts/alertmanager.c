/* SPDX-License-Identifier: ISC */
/*
 * alertmanager: the Prometheus Alertmanager channel, the fleet path.
 *
 * It owns the mapping of a notification onto POST /api/v2/alerts (a list
 * of postableAlert objects): labels alertname (the rule), check, agent,
 * severity, then the check's own labels (one named like those four is
 * left out: it must not change the alert's identity or routing; changing
 * a check's labels makes it another alert to Alertmanager); annotations
 * summary, description, reason, target, failures, failing_phase
 * ("connect, 3.00s", when the result has one);
 * startsAt the episode's start; endsAt the resolve time, or, while firing,
 * now + 4 re-post intervals, so Alertmanager resolves an alert whose agent
 * went silent, but not one whose re-post was merely late.  Re-posting
 * while firing is the outbox's (channel_conf.repost_ms).  Every send goes
 * to all configured Alertmanagers at once: `delivered` when all accepted,
 * `retry` when any should be tried again (a re-post is harmless:
 * Alertmanager dedups by labels), else `rejected`.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libconfig.h>

#include "channel.h"
#include "channel_http.h"
#include "confread.h"
#include "loop.h"
#include "notify.h"
#include "result.h"
#include "xmalloc.h"

#define AM_MAX	8	/* Alertmanagers per channel */

struct am_conf {
	char	*urls[AM_MAX];
	size_t	 nurls;
	int64_t	 repost_ms;
	int64_t	 timeout_ms;
};

struct am_send;

struct am_leg {
	struct am_send	*s;
	size_t		 i;
};

/* One send to every Alertmanager. */
struct am_send {
	void			*h[AM_MAX];
	struct am_leg		 legs[AM_MAX];
	size_t			 n, left;
	enum channel_outcome	 worst;
	int64_t			 retry_after;
	char			 detail[CHANNEL_DETAIL_MAX];
	channel_done_cb		 cb;
	void			*arg;
};

static const char *const am_keys[] = {
	"urls", "repost_interval", "timeout", NULL
};

static void
am_conf_parse(struct confread *cr, const config_setting_t *g,
    struct channel_conf *c)
{
	struct am_conf		*ac;
	const config_setting_t	*l, *e;
	const char		*u;
	unsigned int		 i;

	ac = xcalloc(1, sizeof(*ac));
	ac->repost_ms = 60000;
	ac->timeout_ms = CHANNEL_TIMEOUT_MS;
	confread_duration(cr, g, "repost_interval", false, 1000, 86400000,
	    &ac->repost_ms);
	confread_duration(cr, g, "timeout", false, 100, 300000,
	    &ac->timeout_ms);
	if ((l = config_setting_get_member(g, "urls")) == NULL ||
	    !config_setting_is_array(l) || config_setting_length(l) == 0 ||
	    config_setting_length(l) > AM_MAX)
		confread_error(cr, l != NULL ? l : g, "channel '%s': 'urls' "
		    "must list 1 to %d Alertmanager base URLs, e.g. urls = "
		    "[\"http://127.0.0.1:9093\"]", c->name, AM_MAX);
	for (i = 0; l != NULL && (e = config_setting_get_elem(l, i)) !=
	    NULL && i < AM_MAX; i++) {
		if ((u = config_setting_get_string(e)) == NULL ||
		    (strncmp(u, "http://", 7) != 0 &&
		    strncmp(u, "https://", 8) != 0)) {
			confread_error(cr, e, "channel '%s': each URL must "
			    "start with http:// or https://", c->name);
			continue;
		}
		ac->urls[ac->nurls] = xstrdup(u);
		if (ac->urls[ac->nurls][strlen(u) - 1] == '/')
			ac->urls[ac->nurls][strlen(u) - 1] = '\0';
		ac->nurls++;
	}
	c->repost_ms = ac->repost_ms;
	c->kind_conf = ac;
}

static void
am_conf_free(void *p)
{
	struct am_conf	*ac = p;
	size_t		 i;

	if (ac == NULL)
		return;
	for (i = 0; i < ac->nurls; i++)
		free(ac->urls[i]);
	free(ac);
}

static json_t *
am_alert(const struct am_conf *ac, const struct channel_msg *msg,
    const struct notify_item *it)
{
	struct channel_msg	one = { it, 1, msg->note, msg->test,
	    msg->template };
	char			summary[2 * NOTIFY_TEXT_MAX + 64], f[32];
	char			starts[40], ends[40];
	char			ph[64];
	json_t			*a, *lb;
	unsigned int		i;
	bool			closed;

	closed = it->kind == NOTIFY_RESOLVED || (it->kind == NOTIFY_STABLE &&
	    strcmp(it->state, "ok") == 0);
	channel_summary(&one, summary, sizeof(summary));
	snprintf(f, sizeof(f), "%u/%u", it->bad, it->of);
	result_rfc3339(it->since > 0 ? it->since : it->at, starts, sizeof(starts));
	result_rfc3339(closed ? it->at : loop_wallclock() + 4 * ac->repost_ms * 1000,
	    ends, sizeof(ends));
	a = json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, "
	    "s:s, s:s}, s:s, s:s}", "labels", "alertname", msg->test ?
	    "sonde_test" : it->rule, "check", it->check, "agent", it->agent,
	    "severity", it->severity, "annotations", "summary", summary,
	    "description", it->message, "reason", it->reason, "target",
	    it->target, "failures", f, "delay", msg->note, "startsAt", starts,
	    "endsAt", ends);
	if (a == NULL)
		return NULL;
	/*
	 * sonde's labels first: a user's of the same name is dropped.  An
	 * empty value is no label to Prometheus: left out.
	 */
	lb = json_object_get(a, "labels");
	for (i = 0; i < it->nlabels && i < NOTIFY_LABELS_MAX; i++)
		if (it->labels[i].value[0] != '\0' &&
		    json_object_get(lb, it->labels[i].key) == NULL)
			json_object_set_new(lb, it->labels[i].key,
			    json_string(it->labels[i].value));
	if (notify_phase_text(it, ph, sizeof(ph))[0] != '\0')
		json_object_set_new(json_object_get(a, "annotations"),
		    "failing_phase", json_string(ph));
	return a;
}

static void
am_leg_done(void *arg, enum channel_outcome o, int64_t retry_after,
    const char *detail)
{
	struct am_leg	*leg = arg;
	struct am_send	*s = leg->s;

	s->h[leg->i] = NULL;
	if (o == CHANNEL_RETRY || (o == CHANNEL_REJECTED &&
	    s->worst == CHANNEL_DELIVERED)) {
		if (s->worst != CHANNEL_RETRY)
			snprintf(s->detail, sizeof(s->detail), "%s", detail);
		s->worst = o;
	}
	if (retry_after > s->retry_after)
		s->retry_after = retry_after;
	if (--s->left > 0)
		return;
	s->cb(s->arg, s->worst, s->retry_after, s->detail);
	free(s);
}

/* The body: one postableAlert per item. */
static char *
am_body(const struct am_conf *ac, const struct channel_msg *msg)
{
	json_t	*arr;
	char	*txt;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < msg->n; i++)
		json_array_append_new(arr, am_alert(ac, msg, &msg->items[i]));
	txt = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return txt;
}

static void *
am_send(struct loop *loop, const struct channel_conf *c,
    const struct channel_msg *msg, channel_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	const struct am_conf	*ac = c->kind_conf;
	struct am_send		*s;
	char			*body, url[1024];
	size_t			 i;

	if ((body = am_body(ac, msg)) == NULL) {
		snprintf(err, errlen, "cannot encode the Alertmanager alerts");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	s->worst = CHANNEL_DELIVERED;
	snprintf(s->detail, sizeof(s->detail), "accepted by %zu",
	    ac->nurls);
	for (i = 0; i < ac->nurls; i++) {
		s->legs[i].s = s;
		s->legs[i].i = i;
		snprintf(url, sizeof(url), "%s/api/v2/alerts", ac->urls[i]);
		channel_warn_plain_http(c->name, ac->urls[i]);
		s->h[i] = channel_http_post(loop, url, NULL, body,
		    ac->timeout_ms, am_leg_done, &s->legs[i], err, errlen);
		if (s->h[i] == NULL)
			break;
		s->left++;
	}
	free(body);
	if (i < ac->nurls) {
		while (i-- > 0)
			channel_http_cancel(s->h[i]);
		free(s);
		return NULL;
	}
	return s;
}

static void
am_cancel(void *h)
{
	struct am_send	*s = h;
	size_t		 i;

	if (s == NULL)
		return;
	for (i = 0; i < AM_MAX; i++)
		if (s->h[i] != NULL)
			channel_http_cancel(s->h[i]);
	free(s);
}

const struct channel_ops channel_alertmanager_ops = {
	.type = "alertmanager",
	.conf_keys = am_keys,
	.conf_parse = am_conf_parse,
	.conf_free = am_conf_free,
	.send = am_send,
	.cancel = am_cancel,
	.per_alert = 0,
};
