/* SPDX-License-Identifier: ISC */
/*
 * channel: the registry of channel kinds, the `channels` config section
 * and what every channel shares (secrets, the summary line).
 *
 * It owns the parsing of `channels = { NAME = { type = ...; }; }` into
 * struct channel_conf, the list of names a rule may notify ("log" first,
 * then the configured ones in file order) and reading secrets from files
 * or the environment.  Formatting and sending belong to each kind
 * (slack.c ...); retry and order to the outbox.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "channel.h"
#include "config.h"
#include "confread.h"
#include "log.h"
#include "notify.h"
#include "xmalloc.h"

#define SECRET_MAX	4096

static const struct channel_ops *const channel_kinds[] = {
	&channel_slack_ops,
	&channel_opsgenie_ops,
	&channel_syslog_ops,
	&channel_alertmanager_ops,
	NULL
};

static const char *const outcome_names[] = {
	[CHANNEL_DELIVERED] = "delivered",
	[CHANNEL_RETRY] = "retry",
	[CHANNEL_REJECTED] = "rejected",
};
_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) ==
    CHANNEL_OUTCOME_LAST, "outcome_names out of step with the enum");

const char *
channel_outcome_str(enum channel_outcome o)
{
	return o < CHANNEL_OUTCOME_LAST ? outcome_names[o] : "?";
}

const struct channel_ops *
channel_find_type(const char *type)
{
	size_t	i;

	for (i = 0; channel_kinds[i] != NULL; i++)
		if (strcmp(channel_kinds[i]->type, type) == 0)
			return channel_kinds[i];
	return NULL;
}

const struct channel_conf *
channel_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; cfg != NULL && i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].name, name) == 0)
			return &cfg->channels[i];
	return NULL;
}

/* "slack" when type is absent: the name is the type. */
static const struct channel_ops *
channel_kind(struct confread *cr, const config_setting_t *g,
    const char *name)
{
	const struct channel_ops	*ops;
	char				*type = NULL, known[128];
	size_t				 i, off = 0;

	if (confread_string(cr, g, "type", false, &type) == -1)
		return NULL;
	if ((ops = channel_find_type(type != NULL ? type : name)) != NULL) {
		free(type);
		return ops;
	}
	known[0] = '\0';
	for (i = 0; channel_kinds[i] != NULL && off < sizeof(known); i++)
		off += (size_t)snprintf(known + off, sizeof(known) - off,
		    "%s%s", i > 0 ? ", " : "", channel_kinds[i]->type);
	if (type != NULL)
		confread_error(cr, config_setting_get_member(g, "type"),
		    "channel '%s': unknown type '%s' (known types: %s)", name,
		    type, known);
	else
		confread_error(cr, g, "channel '%s': no type (add type = "
		    "\"...\"; known types: %s)", name, known);
	free(type);
	return NULL;
}

static void
channel_keys(struct confread *cr, const config_setting_t *g,
    const struct channel_ops *ops)
{
	const char	*keys[32];
	size_t		 i, n = 0;

	keys[n++] = "type";
	keys[n++] = "template";
	for (i = 0; ops->conf_keys[i] != NULL && n + 1 < 32; i++)
		keys[n++] = ops->conf_keys[i];
	keys[n] = NULL;
	confread_check_keys(cr, g, keys, "channel");
}

/* template: every {{field}} must be known now, not at 3 a.m. */
static void
channel_template(struct confread *cr, const config_setting_t *g,
    struct channel_conf *c)
{
	struct notify_item	it;
	char			buf[1024], err[128];

	if (confread_string(cr, g, "template", false, &c->template) != 1)
		return;
	memset(&it, 0, sizeof(it));
	if (channel_render(c->template, &it, buf, sizeof(buf), err,
	    sizeof(err)) == -1)
		confread_error(cr, config_setting_get_member(g, "template"),
		    "channel '%s': %s (fields: %s)", c->name, err,
		    CHANNEL_FIELDS);
}

static void
channel_one(struct confread *cr, const config_setting_t *g,
    struct config *cfg)
{
	const char			*name = config_setting_name(g);
	const struct channel_ops	*ops;
	struct channel_conf		*c;

	if (strcmp(name, "log") == 0) {
		confread_error(cr, g, "channel 'log' is built in (it writes "
		    "each notification to the log); pick another name");
		return;
	}
	if (!config_setting_is_group(g)) {
		confread_error(cr, g, "channel '%s' must be a group { type = "
		    "\"slack\"; ... }, got %s", name, confread_type_name(g));
		return;
	}
	if ((ops = channel_kind(cr, g, name)) == NULL)
		return;
	channel_keys(cr, g, ops);
	cfg->channels = xreallocarray(cfg->channels, cfg->nchannels + 1,
	    sizeof(*cfg->channels));
	c = &cfg->channels[cfg->nchannels++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->ops = ops;
	c->file = cr->file;
	c->line = (int)config_setting_source_line(g);
	ops->conf_parse(cr, g, c);
	channel_template(cr, g, c);
}

static void
channel_names_fill(struct config *cfg)
{
	size_t	i;

	cfg->channel_names = xcalloc(cfg->nchannels + 2,
	    sizeof(*cfg->channel_names));
	cfg->channel_names[0] = xstrdup("log");
	for (i = 0; i < cfg->nchannels; i++)
		cfg->channel_names[i + 1] = xstrdup(cfg->channels[i].name);
}

void
channel_conf_parse(struct confread *cr, const config_setting_t *s,
    struct config *cfg)
{
	const config_setting_t	*g;
	unsigned int		 i;

	channel_conf_free(cfg);
	if (!config_setting_is_group(s))
		confread_error(cr, s, "'channels' must be a group such as "
		    "{ slack = { webhook_url_file = \"/etc/sonde/slack.url\"; "
		    "}; }, got %s", confread_type_name(s));
	else
		for (i = 0; (g = config_setting_get_elem(s, i)) != NULL; i++)
			channel_one(cr, g, cfg);
	if (cfg->nchannels > 31)
		confread_error(cr, s, "%zu channels: at most 31", 
		    cfg->nchannels);
	channel_names_fill(cfg);
}

void
channel_conf_default(struct config *cfg)
{
	if (cfg->channel_names == NULL)
		channel_names_fill(cfg);
}

void
channel_conf_free(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nchannels; i++) {
		if (cfg->channels[i].kind_conf != NULL)
			cfg->channels[i].ops->conf_free(
			    cfg->channels[i].kind_conf);
		free(cfg->channels[i].name);
		free(cfg->channels[i].template);
	}
	free(cfg->channels);
	cfg->channels = NULL;
	cfg->nchannels = 0;
	for (i = 0; cfg->channel_names != NULL &&
	    cfg->channel_names[i] != NULL; i++)
		free(cfg->channel_names[i]);
	free(cfg->channel_names);
	cfg->channel_names = NULL;
}

/* Reads the first line of path into a new string; NULL with errno-ish why. */
static char *
secret_read_file(const char *path, char *why, size_t whylen)
{
	FILE	*f;
	char	 buf[SECRET_MAX], *v;
	size_t	 n;
	int	 mode;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if ((mode = confread_secret_mode(fileno(f), why, whylen)) == -1) {
		fclose(f);
		return NULL;
	}
	if (mode == 1)
		log_warnx("channel", "secret file %s: %s", path, why);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	v = buf[0] != '\0' ? xstrdup(buf) : NULL;
	explicit_bzero(buf, sizeof(buf));	/* no copy left on the stack */
	if (v == NULL)
		snprintf(why, whylen, "the file is empty");
	return v;
}

char *
channel_conf_secret(struct confread *cr, const config_setting_t *g,
    const char *key)
{
	char		 fkey[64], ekey[64], why[128];
	char		*path = NULL, *env = NULL, *v = NULL;
	const char	*e;

	snprintf(fkey, sizeof(fkey), "%s_file", key);
	snprintf(ekey, sizeof(ekey), "%s_env", key);
	confread_string(cr, g, fkey, false, &path);
	confread_string(cr, g, ekey, false, &env);
	if ((path == NULL) == (env == NULL))
		confread_error(cr, g, "channel '%s': set exactly one of %s "
		    "(a file holding the value) or %s (an environment "
		    "variable); secrets are never written inline",
		    config_setting_name(g), fkey, ekey);
	else if (path != NULL && (v = secret_read_file(path, why,
	    sizeof(why))) == NULL)
		confread_error(cr, config_setting_get_member(g, fkey),
		    "channel '%s': cannot read %s \"%s\": %s",
		    config_setting_name(g), fkey, path, why);
	else if (env != NULL && ((e = getenv(env)) == NULL || *e == '\0'))
		confread_error(cr, config_setting_get_member(g, ekey),
		    "channel '%s': environment variable %s is %s",
		    config_setting_name(g), env, e == NULL ? "not set" :
		    "empty");
	else if (env != NULL)
		v = xstrdup(e);
	free(path);
	free(env);
	return v;
}

void
channel_warn_plain_http(const char *name, const char *url)
{
	static char	warned[32][NOTIFY_NAME_MAX];
	static size_t	n;
	size_t		i;

	if (strncmp(url, "http://", 7) != 0)
		return;
	for (i = 0; i < n; i++)
		if (strcmp(warned[i], name) == 0)
			return;
	if (n < 32)
		snprintf(warned[n++], sizeof(warned[0]), "%s", name);
	log_warnx("channel", "channel \"%s\": its URL is plain http://; "
	    "notifications (and any secret in the URL) travel unencrypted",
	    name);
}

const char *
channel_summary(const struct channel_msg *msg, char *buf, size_t buflen)
{
	const struct notify_item	*it = &msg->items[0];
	char				 up[16];
	size_t				 i;

	if (msg->test) {
		snprintf(buf, buflen, "sonde test notification from %s",
		    it->agent);
		return buf;
	}
	if (msg->n > 1) {
		snprintf(buf, buflen, "%zu alert changes on %s", msg->n,
		    it->agent);
		return buf;
	}
	if (msg->template != NULL && channel_render(msg->template, it, buf,
	    buflen, up, sizeof(up)) == 0)
		return buf;
	snprintf(up, sizeof(up), "%s", notify_kind_str(it->kind));
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)(up[i] >= 'a' && up[i] <= 'z' ? up[i] - 32 :
		    up[i]);
	if (it->kind == NOTIFY_RESOLVED || it->message[0] == '\0')
		snprintf(buf, buflen, "[%s] %s/%s on %s (%s)", up, it->rule,
		    it->check, it->agent, it->severity);
	else
		snprintf(buf, buflen, "[%s] %s/%s: %s (%s)", up, it->rule,
		    it->check, it->message, it->severity);
	return buf;
}

/* The value of template field name in it; NULL when unknown. */
static const char *
channel_field(const struct notify_item *it, const char *name, char *tmp,
    size_t tmplen)
{
	if (strcmp(name, "check") == 0)
		return it->check;
	if (strcmp(name, "rule") == 0)
		return it->rule;
	if (strcmp(name, "agent") == 0)
		return it->agent;
	if (strcmp(name, "target") == 0)
		return it->target;
	if (strcmp(name, "severity") == 0)
		return it->severity;
	if (strcmp(name, "state") == 0)
		return it->state;
	if (strcmp(name, "kind") == 0)
		return notify_kind_str(it->kind);
	if (strcmp(name, "reason") == 0)
		return it->reason;
	if (strcmp(name, "message") == 0)
		return it->message;
	if (strcmp(name, "failures") == 0) {
		snprintf(tmp, tmplen, "%u/%u", it->bad, it->of);
		return tmp;
	}
	return NULL;
}

int
channel_render(const char *tmpl, const struct notify_item *it, char *buf,
    size_t buflen, char *err, size_t errlen)
{
	const char	*p = tmpl, *end, *v;
	char		 name[32], tmp[32];
	size_t		 o = 0, len;

	while (*p != '\0' && o + 1 < buflen) {
		if (strncmp(p, "{{", 2) != 0 || (end = strstr(p + 2, "}}")) ==
		    NULL) {
			buf[o++] = *p++;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
		if ((v = channel_field(it, name, tmp, sizeof(tmp))) == NULL) {
			snprintf(err, errlen, "unknown field {{%s}}", name);
			buf[0] = '\0';
			return -1;
		}
		len = strlen(v);
		if (len > buflen - 1 - o)
			len = buflen - 1 - o;
		memcpy(buf + o, v, len);
		o += len;
		p = end + 2;
	}
	buf[o] = '\0';
	return 0;
}
