/*
 * channel: the interface of an alert channel (Slack, ...) and the
 * `channels` section of the config.
 *
 * A channel turns one notification (or a digest of several) into a
 * message and sends it without blocking; the answer comes back once,
 * from the loop, classified as one of three outcomes:
 *   delivered  the service confirmed (Slack "ok", Opsgenie 202)
 *   retry      it may work later: timeout, connection failure, 429, 5xx;
 *              retry_after (µs) is the service's Retry-After, or 0
 *   rejected   it will never work as it is (another 4xx); detail holds
 *              the service's own error text
 * Retrying, ordering and durability are the outbox's (src/outbox.c), not
 * the channel's.
 *
 * Config: channels = { NAME = { type = "slack"; ... }; ... }; the type
 * defaults to NAME, so `slack = { ... }` is a Slack channel named slack
 * and `slack_ops = { type = "slack"; ... }` a second one.  "log" is
 * built in and cannot be redefined.  Secrets come from *_file or *_env
 * keys only and are never logged.
 */
#ifndef SONDE_CHANNEL_H
#define SONDE_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct config_setting_t;
struct confread;
struct loop;
struct notify_item;

#define CHANNEL_DETAIL_MAX	256
#define CHANNEL_TIMEOUT_MS	10000	/* one send, connect to answer */
#define CHANNEL_FIELDS	"check, rule, agent, target, severity, state, kind, " \
	"reason, message, failures"
#define SECRET_HDR_MAX		4200	/* "Authorization: ..." + secret */

enum channel_outcome {
	CHANNEL_DELIVERED,
	CHANNEL_RETRY,
	CHANNEL_REJECTED,
	CHANNEL_OUTCOME_LAST
};

/* One configured channel; owned by its struct config. */
struct channel_conf {
	char				*name;
	const struct channel_ops	*ops;
	const char			*file;	/* borrowed */
	int				 line;
	void				*kind_conf;	/* ops->conf_free() */
	int64_t				 repost_ms;	/* 0: no re-post */
	char				*template;	/* NULL: the default */
};

/*
 * A send ended: outcome, the service's Retry-After in µs (0: none), and
 * a detail for a person ("HTTP 400: invalid_payload", "connect timeout
 * after 10.0s").  detail is borrowed for the call.
 */
typedef void (*channel_done_cb)(void *arg, enum channel_outcome outcome,
    int64_t retry_after, const char *detail);

/* What a send is told besides the items. */
struct channel_msg {
	const struct notify_item	*items;	/* n >= 1; n > 1: digest */
	size_t				 n;
	const char			*note;	/* "delayed 14m: ..." or "" */
	int				 test;	/* --test-channels message */
	const char			*template; /* channel's, or NULL */
};

struct channel_ops {
	const char		*type;
	const char *const	*conf_keys;	/* besides "type" */
	/* Reads g into c->kind_conf; errors through cr. */
	void	(*conf_parse)(struct confread *cr,
		    const struct config_setting_t *g, struct channel_conf *c);
	void	(*conf_free)(void *kind_conf);
	/*
	 * Starts sending msg (copied as needed; borrowed for the call).
	 * Returns a handle for cancel, or NULL with the reason in err (cb
	 * is then never called).  cb runs once, from the loop, never
	 * inside this call.
	 */
	void	*(*send)(struct loop *loop, const struct channel_conf *c,
		    const struct channel_msg *msg, channel_done_cb cb,
		    void *arg, char *err, size_t errlen);
	/* Stops a send; its cb will not run.  Not from inside cb. */
	void	(*cancel)(void *handle);
	int	per_alert;	/* one alert per send: digests are split */
};

/*
 * sonde --test-channels: sends a test notification to each of cfg's
 * channels at once and prints "NAME (TYPE): OUTCOME: DETAIL" per channel
 * to out.  Returns 0 when all were delivered, else 1.
 */
int	channel_test_all(const struct config *cfg, FILE *out);

/* Returns "delivered", "retry", "rejected". */
const char	*channel_outcome_str(enum channel_outcome o);
/* Returns the kind named type, or NULL. */
const struct channel_ops *channel_find_type(const char *type);
/* Returns cfg's channel named name (borrowed), or NULL (and for "log"). */
const struct channel_conf *channel_find(const struct config *cfg,
		    const char *name);

/*
 * Parses the `channels` group s into cfg->channels and fills
 * cfg->channel_names ("log" first); errors through cr.
 */
void	channel_conf_parse(struct confread *cr,
	    const struct config_setting_t *s, struct config *cfg);
/* Sets cfg->channel_names to just "log" (no channels section). */
void	channel_conf_default(struct config *cfg);
/* Frees cfg's channels and names. */
void	channel_conf_free(struct config *cfg);

/*
 * Reads a secret for key from `<key>_file` or `<key>_env` in g (exactly
 * one must be there); a trailing newline is not part of it.  Returns the
 * new string (caller frees), or NULL with the error recorded.  The value
 * is never put in a message.
 */
char	*channel_conf_secret(struct confread *cr,
	    const struct config_setting_t *g, const char *key);
/*
 * Writes tmpl into buf with each {{field}} replaced by its value in it
 * (plain substitution: no code, no escapes).  Returns 0, or -1 with the
 * unknown field's name in err.
 */
int	channel_render(const char *tmpl, const struct notify_item *it,
	    char *buf, size_t buflen, char *err, size_t errlen);
/* Warns once per process about a plain http:// URL for channel name. */
void	channel_warn_plain_http(const char *name, const char *url);

/*
 * A short summary of msg for text fallbacks and titles: the channel's
 * template when it has one (a single alert), else the fixed default
 * "[FIRING] down/api: connect refused (critical)".  Returns buf.
 */
const char	*channel_summary(const struct channel_msg *msg, char *buf,
		    size_t buflen);

extern const struct channel_ops channel_slack_ops;
extern const struct channel_ops channel_opsgenie_ops;
extern const struct channel_ops channel_syslog_ops;
extern const struct channel_ops channel_alertmanager_ops;

/*
 * The syslog text of msg: with rfc5424, a whole RFC 5424 message
 * (header, [sonde@32473 ...] structured data, text); else the text for
 * syslog(3).  facility is LOG_DAEMON etc.  Returns the length written.
 */
size_t	channel_syslog_format(const struct channel_msg *msg, int facility,
	    int rfc5424, char *buf, size_t buflen);

#endif /* SONDE_CHANNEL_H */
