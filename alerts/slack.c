/* SPDX-License-Identifier: ISC */
/*
 * slack: the Slack incoming-webhook channel.
 *
 * It owns the Slack message: a Block Kit body inside one attachment (so
 * the colour bar shows the severity) with a plain `text` fallback for
 * notifications and screen readers; fields check, target, reason, the
 * failing phase with its time, failures in the window, since, agent and
 * the check's labels (8 fields at most: Slack takes 10 per section); a
 * resolved message says how long
 * the outage lasted; a digest lists its alerts.  JSON is built with
 * jansson.  Slack answers 200 "ok", 429 with Retry-After, or 4xx with an
 * error string (invalid_payload, channel_not_found, no_service, ...),
 * which channel_http turns into `rejected` with that string.  The webhook
 * URL is the secret: read from webhook_url_file or webhook_url_env, never
 * logged.  Slack has no idempotency key: a send cut by a crash is sent
 * again after restart (at least once).
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
#include "notify.h"
#include "result.h"
#include "xmalloc.h"

#define SLACK_DIGEST_MAX	20	/* alerts listed in a digest */

struct slack_conf {
	char	*url;		/* secret */
	int64_t	 timeout_ms;
};

static const char *const slack_keys[] = {
	"webhook_url_file", "webhook_url_env", "timeout", NULL
};

static void
slack_conf_parse(struct confread *cr, const config_setting_t *g,
    struct channel_conf *c)
{
	struct slack_conf	*sc;

	sc = xcalloc(1, sizeof(*sc));
	sc->timeout_ms = CHANNEL_TIMEOUT_MS;
	confread_duration(cr, g, "timeout", false, 100, 300000,
	    &sc->timeout_ms);
	sc->url = channel_conf_secret(cr, g, "webhook_url");
	if (sc->url != NULL && strncmp(sc->url, "https://", 8) != 0 &&
	    strncmp(sc->url, "http://", 7) != 0)
		confread_error(cr, g, "channel '%s': the webhook URL must "
		    "start with https:// (or http:// for a local relay)",
		    c->name);
	c->kind_conf = sc;
}

static void
slack_conf_free(void *p)
{
	struct slack_conf	*sc = p;

	if (sc == NULL)
		return;
	if (sc->url != NULL)
		explicit_bzero(sc->url, strlen(sc->url));
	free(sc->url);
	free(sc);
}

/*
 * Slack's mrkdwn wants &, < and > escaped; nothing else.  Every control
 * sequence that pings or links (<!channel>, <@U123>, <url|text>) starts
 * with '<', so text escaped here cannot page anyone.  A cut falls on a
 * UTF-8 boundary: one bad byte would make jansson refuse the whole body.
 */
static char *
slack_escape(const char *s, char *buf, size_t buflen)
{
	size_t	o = 0;
	const char *rep;

	for (; *s != '\0' && o + 6 < buflen; s++) {
		rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" :
		    *s == '>' ? "&gt;" : NULL;
		if (rep != NULL) {
			memcpy(buf + o, rep, strlen(rep));
			o += strlen(rep);
		} else
			buf[o++] = *s;
	}
	if (*s != '\0' && ((unsigned char)*s & 0xc0) == 0x80) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && (unsigned char)buf[o - 1] >= 0xc0)
			o--;
	}
	buf[o] = '\0';
	return buf;
}

static json_t *
slack_mrkdwn(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", text);
}

static json_t *
slack_field(const char *name, const char *value)
{
	char	esc[2 * NOTIFY_TEXT_MAX], txt[2 * NOTIFY_TEXT_MAX + 64];

	snprintf(txt, sizeof(txt), "*%s*\n%s", name,
	    slack_escape(value[0] != '\0' ? value : "-", esc, sizeof(esc)));
	return slack_mrkdwn(txt);
}

static const char *
slack_color(const struct notify_item *it)
{
	if (it->kind == NOTIFY_RESOLVED ||
	    (it->kind == NOTIFY_STABLE && strcmp(it->state, "ok") == 0))
		return "#2eb886";
	if (strcmp(it->severity, "critical") == 0)
		return "#d40e0d";
	if (strcmp(it->severity, "warning") == 0)
		return "#e8a317";
	return "#439fe0";
}

static json_t *
slack_fields(const struct notify_item *it)
{
	char	 buf[64], since[32], lb[NOTIFY_TEXT_MAX];
	json_t	*f;

	f = json_array();
	json_array_append_new(f, slack_field("Check", it->check));
	json_array_append_new(f, slack_field("Target", it->target));
	json_array_append_new(f, slack_field("Reason", it->reason));
	if (it->phase[0] != '\0')
		json_array_append_new(f, slack_field("Failing phase",
		    notify_phase_text(it, buf, sizeof(buf))));
	snprintf(buf, sizeof(buf), "%u of the last %u", it->bad, it->of);
	json_array_append_new(f, slack_field("Failures", buf));
	result_format_us(it->at - it->since, since, sizeof(since));
	snprintf(buf, sizeof(buf), "%s %s", it->kind == NOTIFY_RESOLVED ?
	    "outage lasted" : "for", since);
	json_array_append_new(f, slack_field("Since", buf));
	json_array_append_new(f, slack_field("Agent", it->agent));
	if (it->nlabels > 0)
		json_array_append_new(f, slack_field("Labels",
		    notify_labels_join(it, lb, sizeof(lb))));
	return f;
}

/* The headline section: summary and, for one alert, its message. */
static json_t *
slack_head(const struct channel_msg *msg, const char *summary)
{
	const struct notify_item	*it = &msg->items[0];
	char				 esc[2 * NOTIFY_TEXT_MAX + 256];
	char				 txt[4 * NOTIFY_TEXT_MAX + 512], m[24];
	size_t				 i, o;

	o = (size_t)snprintf(txt, sizeof(txt), "*%s*", slack_escape(summary,
	    esc, sizeof(esc)));
	if (msg->n == 1 && !msg->test && it->message[0] != '\0')
		o += (size_t)snprintf(txt + o, sizeof(txt) - o, "\n%s",
		    slack_escape(it->message, esc, sizeof(esc)));
	for (i = 0; msg->n > 1 && i < msg->n && i < SLACK_DIGEST_MAX &&
	    o < sizeof(txt); i++)
		o += (size_t)snprintf(txt + o, sizeof(txt) - o,
		    "\n• %s/%s %s%s%s", slack_escape(msg->items[i].rule, esc,
		    sizeof(esc) / 2), slack_escape(msg->items[i].check,
		    esc + sizeof(esc) / 2, sizeof(esc) / 2),
		    notify_kind_str(msg->items[i].kind),
		    msg->items[i].reason[0] != '\0' ? ": " : "",
		    msg->items[i].reason);
	if (msg->n > SLACK_DIGEST_MAX && o < sizeof(txt)) {
		snprintf(m, sizeof(m), "%zu", msg->n - SLACK_DIGEST_MAX);
		snprintf(txt + o, sizeof(txt) - o, "\n… and %s more", m);
	}
	return json_pack("{s:s, s:o}", "type", "section", "text",
	    slack_mrkdwn(txt));
}

/* The whole webhook body; a new string. */
static char *
slack_body(const struct channel_msg *msg)
{
	const struct notify_item	*it = &msg->items[0];
	char				 summary[2 * NOTIFY_TEXT_MAX + 64];
	char				 text[3 * NOTIFY_TEXT_MAX + 128], *s;
	char				 ctx[4 * NOTIFY_TEXT_MAX];
	char				 esc[2 * NOTIFY_TEXT_MAX + 256];
	char				 esc2[2 * NOTIFY_TEXT_MAX + 64];
	char				 esc3[2 * NOTIFY_TEXT_MAX + 64];
	json_t				*blocks, *root;

	channel_summary(msg, summary, sizeof(summary));
	/*
	 * Slack parses the fallback text as mrkdwn too, and a probe's
	 * message carries a target's words (a reply, a certificate
	 * subject): "<!channel>" there must not page a whole channel.
	 */
	snprintf(text, sizeof(text), "%s%s%s", slack_escape(summary, esc,
	    sizeof(esc)), msg->note[0] != '\0' ? " — " : "",
	    slack_escape(msg->note, esc2, sizeof(esc2)));
	blocks = json_array();
	json_array_append_new(blocks, slack_head(msg, summary));
	if (msg->n == 1 && !msg->test)
		json_array_append_new(blocks, json_pack("{s:s, s:o}", "type",
		    "section", "fields", slack_fields(it)));
	snprintf(ctx, sizeof(ctx), "sonde on %s%s%s%s%s", slack_escape(
	    it->agent, esc, sizeof(esc)), it->note[0] != '\0' ? " · " : "",
	    slack_escape(it->note, esc3, sizeof(esc3)),
	    msg->note[0] != '\0' ? " · " : "", esc2);
	json_array_append_new(blocks, json_pack("{s:s, s:[o]}", "type",
	    "context", "elements", slack_mrkdwn(ctx)));
	root = json_pack("{s:s, s:[{s:s, s:o}]}", "text", text,
	    "attachments", "color", msg->test ? "#439fe0" : slack_color(it),
	    "blocks", blocks);
	s = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return s;
}

static void *
slack_send(struct loop *loop, const struct channel_conf *c,
    const struct channel_msg *msg, channel_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	const struct slack_conf	*sc = c->kind_conf;
	char			*body;
	void			*h;

	if ((body = slack_body(msg)) == NULL) {
		snprintf(err, errlen, "cannot encode the Slack message");
		return NULL;
	}
	channel_warn_plain_http(c->name, sc->url);
	h = channel_http_post(loop, sc->url, NULL, body, sc->timeout_ms, cb,
	    arg, err, errlen);
	free(body);
	return h;
}

const struct channel_ops channel_slack_ops = {
	.type = "slack",
	.conf_keys = slack_keys,
	.conf_parse = slack_conf_parse,
	.conf_free = slack_conf_free,
	.send = slack_send,
	.cancel = channel_http_cancel,
};
