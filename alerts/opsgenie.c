/* SPDX-License-Identifier: ISC */
/*
 * opsgenie: the Opsgenie Alert API v2 channel.
 *
 * It owns the mapping of a notification onto the API: firing, repeat and
 * flapping create an alert (POST /v2/alerts) whose alias is the alert's
 * identity "agent/rule/check", so Opsgenie dedups repeats and re-sends
 * after a crash (the outbox is at least once); resolved, and stable back
 * to ok, close it by alias (POST /v2/alerts/{alias}/close?identifierType=
 * alias).  message is at most 130 characters (the API truncates longer
 * ones); priority comes from the severity (critical P1, warning P3, info
 * P5 unless configured); tags are severity, rule, check and "key:value"
 * per label of the check (at most 20 tags of at most 50 characters, the
 * API's limits: longer ones are cut on a UTF-8 boundary); details carry
 * reason, target, failures, agent and failing_phase ("connect, 3.00s"),
 * which the description repeats; entity is the target; source
 * the agent.  The API answers 202 Accepted (processed later): that is
 * `delivered`.  The key is sent as "Authorization: GenieKey ..." and read
 * from api_key_file or api_key_env.  region "us" (api.opsgenie.com) or
 * "eu" (api.eu.opsgenie.com), or api_url for any compatible endpoint.
 * Opsgenie takes one alert per request, so a digest is split by the
 * outbox (ops->per_alert).
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
#include "xmalloc.h"

#define OG_MESSAGE_MAX	130	/* characters, per the API */
#define OG_TAGS_MAX	20	/* per alert, per the API */
#define OG_TAG_MAX	50	/* characters; bytes here, never more */

struct opsgenie_conf {
	char	*key;		/* secret */
	char	*base;		/* "https://api.opsgenie.com" */
	char	 priority[3][3];	/* critical, warning, info */
	int64_t	 timeout_ms;
};

static const char *const og_keys[] = {
	"api_key_file", "api_key_env", "region", "api_url", "priority",
	"timeout", NULL
};
static const char *const og_regions[] = { "us", "eu", NULL };
static const char *const og_region_urls[] = {
	"https://api.opsgenie.com", "https://api.eu.opsgenie.com"
};
static const char *const og_sevs[] = { "critical", "warning", "info", NULL };
static const char *const og_prios[] = { "P1", "P2", "P3", "P4", "P5", NULL };

static void
og_priority(struct confread *cr, const config_setting_t *g,
    struct opsgenie_conf *oc)
{
	const config_setting_t	*p;
	int			 i, v;

	memcpy(oc->priority, (const char [3][3]){ "P1", "P3", "P5" },
	    sizeof(oc->priority));
	if ((p = config_setting_get_member(g, "priority")) == NULL)
		return;
	if (!config_setting_is_group(p)) {
		confread_error(cr, p, "'priority' must be a group such as "
		    "{ critical = \"P1\"; warning = \"P3\"; info = \"P5\"; }");
		return;
	}
	confread_check_keys(cr, p, og_sevs, "priority");
	for (i = 0; og_sevs[i] != NULL; i++)
		if (confread_enum(cr, p, og_sevs[i], false, og_prios, &v) == 1)
			memcpy(oc->priority[i], og_prios[v], 3);
}

static void
og_conf_parse(struct confread *cr, const config_setting_t *g,
    struct channel_conf *c)
{
	struct opsgenie_conf	*oc;
	char			*url = NULL;
	int			 region = 0;

	oc = xcalloc(1, sizeof(*oc));
	oc->timeout_ms = CHANNEL_TIMEOUT_MS;
	confread_duration(cr, g, "timeout", false, 100, 300000,
	    &oc->timeout_ms);
	confread_enum(cr, g, "region", false, og_regions, &region);
	if (confread_string(cr, g, "api_url", false, &url) == 1 &&
	    config_setting_get_member(g, "region") != NULL)
		confread_error(cr, g, "channel '%s': set region or api_url, "
		    "not both", c->name);
	if (url != NULL && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0)
		confread_error(cr, config_setting_get_member(g, "api_url"),
		    "channel '%s': api_url must start with https:// (or "
		    "http:// for a local relay)", c->name);
	if (url != NULL && url[0] != '\0' && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	oc->base = url != NULL ? url : xstrdup(og_region_urls[region]);
	og_priority(cr, g, oc);
	oc->key = channel_conf_secret(cr, g, "api_key");
	c->kind_conf = oc;
}

static void
og_conf_free(void *p)
{
	struct opsgenie_conf	*oc = p;

	if (oc == NULL)
		return;
	if (oc->key != NULL)
		explicit_bzero(oc->key, strlen(oc->key));
	free(oc->key);
	free(oc->base);
	free(oc);
}

static bool
og_is_close(const struct notify_item *it)
{
	return it->kind == NOTIFY_RESOLVED || (it->kind == NOTIFY_STABLE &&
	    strcmp(it->state, "ok") == 0);
}

/* RFC 3986 unreserved characters stay; everything else is %XX. */
static void
og_escape(const char *s, char *buf, size_t buflen)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			o = 0;

	for (; *s != '\0' && o + 4 < buflen; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL)
			buf[o++] = *s;
		else {
			buf[o++] = '%';
			buf[o++] = hex[(unsigned char)*s >> 4];
			buf[o++] = hex[(unsigned char)*s & 15];
		}
	}
	buf[o] = '\0';
}

/* At most 130 characters; cut on a UTF-8 boundary with an ellipsis. */
static void
og_message(const struct channel_msg *msg, char *buf, size_t buflen)
{
	size_t	cut;

	channel_summary(msg, buf, buflen);
	if (strlen(buf) <= OG_MESSAGE_MAX)
		return;
	cut = OG_MESSAGE_MAX - 3;
	while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(buf + cut, "...", 4);
}

/* "k:v" per label after the severity, rule and check tags. */
static json_t *
og_tags(const struct notify_item *it)
{
	char		 tag[OG_TAG_MAX + 1];
	char		 kv[sizeof(struct notify_label) + 2];
	json_t		*tags;
	unsigned int	 i;

	tags = json_array();
	json_array_append_new(tags, json_string(notify_copy(tag, sizeof(tag),
	    it->severity)));
	json_array_append_new(tags, json_string(notify_copy(tag, sizeof(tag),
	    it->rule)));
	json_array_append_new(tags, json_string(notify_copy(tag, sizeof(tag),
	    it->check)));
	for (i = 0; i < it->nlabels && json_array_size(tags) < OG_TAGS_MAX;
	    i++) {
		snprintf(kv, sizeof(kv), "%s:%s", it->labels[i].key,
		    it->labels[i].value);
		json_array_append_new(tags, json_string(notify_copy(tag,
		    sizeof(tag), kv)));
	}
	return tags;
}

static json_t *
og_create(const struct opsgenie_conf *oc, const struct channel_msg *msg,
    const char *alias)
{
	const struct notify_item	*it = &msg->items[0];
	char				 m[2 * NOTIFY_TEXT_MAX + 64];
	char				 desc[4 * NOTIFY_TEXT_MAX], fails[32];
	char				 ph[64], phl[80];
	int				 sev;

	og_message(msg, m, sizeof(m));
	notify_phase_text(it, ph, sizeof(ph));
	phl[0] = '\0';
	if (ph[0] != '\0')
		snprintf(phl, sizeof(phl), "\nfailing phase: %s", ph);
	snprintf(desc, sizeof(desc), "%s\n\ncheck %s (%s) failed %u of the "
	    "last %u results%s%s%s%s%s", it->message, it->check, it->target,
	    it->bad, it->of, phl, it->note[0] != '\0' ? "\n" : "", it->note,
	    msg->note[0] != '\0' ? "\n" : "", msg->note);
	snprintf(fails, sizeof(fails), "%u/%u", it->bad, it->of);
	sev = strcmp(it->severity, "critical") == 0 ? 0 :
	    strcmp(it->severity, "warning") == 0 ? 1 : 2;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, "
	    "s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "message", m, "alias", alias,
	    "description", desc, "priority", oc->priority[sev], "entity",
	    it->target, "source", it->agent, "tags", og_tags(it),
	    "details", "reason", it->reason, "target", it->target,
	    "failures", fails, "agent", it->agent, "state", it->state,
	    "failing_phase", ph);
}

static void *
og_send(struct loop *loop, const struct channel_conf *c,
    const struct channel_msg *msg, channel_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	const struct opsgenie_conf	*oc = c->kind_conf;
	const struct notify_item	*it = &msg->items[0];
	char				 alias[3 * NOTIFY_TEXT_MAX], esc[1024];
	char				 url[2048], auth[SECRET_HDR_MAX];
	const char			*hdrs[2] = { auth, NULL };
	json_t				*body;
	char				*txt;
	void				*h;

	snprintf(alias, sizeof(alias), "%s/%s/%s", it->agent, it->rule,
	    msg->test ? "sonde-test" : it->check);
	if (og_is_close(it) && !msg->test) {
		og_escape(alias, esc, sizeof(esc));
		snprintf(url, sizeof(url), "%s/v2/alerts/%s/close?"
		    "identifierType=alias", oc->base, esc);
		body = json_pack("{s:s, s:s}", "source", it->agent, "note",
		    "resolved: the check passes again");
	} else {
		snprintf(url, sizeof(url), "%s/v2/alerts", oc->base);
		body = og_create(oc, msg, alias);
	}
	txt = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (txt == NULL) {
		snprintf(err, errlen, "cannot encode the Opsgenie request");
		return NULL;
	}
	snprintf(auth, sizeof(auth), "Authorization: GenieKey %s", oc->key);
	channel_warn_plain_http(c->name, oc->base);
	h = channel_http_post(loop, url, hdrs, txt, oc->timeout_ms, cb, arg,
	    err, errlen);
	explicit_bzero(auth, sizeof(auth));
	free(txt);
	return h;
}

const struct channel_ops channel_opsgenie_ops = {
	.type = "opsgenie",
	.conf_keys = og_keys,
	.conf_parse = og_conf_parse,
	.conf_free = og_conf_free,
	.send = og_send,
	.cancel = channel_http_cancel,
	.per_alert = 1,
};
