/* SPDX-License-Identifier: ISC */
/*
 * notify: the notification record and the log channel.
 *
 * This module owns how a notification reads in the log: one logfmt line
 * naming the alert (agent, rule/check), what happened, the reason and
 * message of the result behind it, how many of the last results failed
 * and since when, the phase that failed and the check's labels; a digest
 * is one line listing every alert it folds.  It
 * owns no routing (alert.c decides who hears what) and no retry: writing
 * a log line cannot fail in a way sonde could act on.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "notify.h"
#include "result.h"

#define DIGEST_LIST_MAX	2048

static const char *const notify_kind_names[] = {
	[NOTIFY_FIRING] = "firing",
	[NOTIFY_RESOLVED] = "resolved",
	[NOTIFY_REPEAT] = "repeat",
	[NOTIFY_FLAPPING] = "flapping",
	[NOTIFY_STABLE] = "stable",
};
_Static_assert(sizeof(notify_kind_names) / sizeof(notify_kind_names[0]) ==
    NOTIFY_KIND_LAST, "notify_kind_names out of step with the enum");

const char *
notify_kind_str(enum notify_kind kind)
{
	return kind < NOTIFY_KIND_LAST ? notify_kind_names[kind] : "?";
}

char *
notify_copy(char *dst, size_t size, const char *src)
{
	size_t	n;

	if (size == 0)
		return dst;
	n = strlen(src);
	if (n >= size) {
		n = size - 1;
		/* Cut before a UTF-8 sequence that would not fit whole. */
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return dst;
}

const char *
notify_labels_join(const struct notify_item *it, char *buf, size_t len)
{
	char		 one[sizeof(struct notify_label) + 4];
	size_t		 off = 0;
	unsigned int	 i;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < it->nlabels && i < NOTIFY_LABELS_MAX; i++) {
		snprintf(one, sizeof(one), "%s%s=%s", i > 0 ? ", " : "",
		    it->labels[i].key, it->labels[i].value);
		notify_copy(buf + off, len - off, one);
		off += strlen(buf + off);
		if (off + 1 >= len)
			break;
	}
	return buf;
}

const char *
notify_phase_text(const struct notify_item *it, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (it->phase[0] != '\0')
		snprintf(buf, len, "%s, %.2fs", it->phase,
		    (double)it->phase_us / 1e6);
	return buf;
}

static void
notify_log_one(const struct notify_item *it)
{
	char	id[2 * NOTIFY_NAME_MAX + 8], agent[NOTIFY_TEXT_MAX + 8];
	char	target[NOTIFY_TEXT_MAX + 8], msg[2 * NOTIFY_TEXT_MAX + 3];
	char	note[2 * NOTIFY_TEXT_MAX + 3], deps[2 * NOTIFY_TEXT_MAX + 3];
	char	raw[2 * NOTIFY_NAME_MAX + 2], since[32], slo[128], ex[32];
	char	ph[64], lb[NOTIFY_TEXT_MAX], lbq[2 * NOTIFY_TEXT_MAX + 3];

	snprintf(raw, sizeof(raw), "%s/%s", it->rule, it->check);
	log_quote(raw, id, sizeof(id));
	log_quote(it->agent, agent, sizeof(agent));
	log_quote(it->target, target, sizeof(target));
	log_quote(it->message, msg, sizeof(msg));
	log_quote(it->note, note, sizeof(note));
	log_quote(it->dependents, deps, sizeof(deps));
	result_format_us(it->at - it->since, since, sizeof(since));
	slo[0] = '\0';
	if (it->has_slo)
		snprintf(slo, sizeof(slo), " budget_left=%.4f exhausted_in=%s "
		    "burn_long=%.2f burn_short=%.2f", it->budget_left,
		    it->exhausted_in < 0 ? "never" : result_format_us(
		    it->exhausted_in, ex, sizeof(ex)), it->burn_long,
		    it->burn_short);
	ph[0] = '\0';
	if (it->phase[0] != '\0')
		snprintf(ph, sizeof(ph), " phase=%s phase_seconds=%.3f",
		    it->phase, (double)it->phase_us / 1e6);
	notify_labels_join(it, lb, sizeof(lb));
	log_quote(lb, lbq, sizeof(lbq));
	log_event("notify", "channel=log notification=%s alert=%s state=%s "
	    "severity=%s agent=%s target=%s reason=%s message=%s "
	    "failed=%u/%u for=%s%s%s%s%s%s%s%s%s", notify_kind_str(it->kind),
	    id, it->state, it->severity, agent, target,
	    it->reason[0] != '\0' ? it->reason : "none", msg, it->bad, it->of,
	    since, ph, lb[0] != '\0' ? " labels=" : "",
	    lb[0] != '\0' ? lbq : "", it->note[0] != '\0' ? " note=" : "",
	    it->note[0] != '\0' ? note : "",
	    it->dependents[0] != '\0' ? " held=" : "",
	    it->dependents[0] != '\0' ? deps : "", slo);
}

void
notify_log(const struct notify_item *items, size_t n)
{
	char	list[DIGEST_LIST_MAX], q[DIGEST_LIST_MAX + 8];
	size_t	i, len = 0;
	int	w;

	if (n == 1) {
		notify_log_one(&items[0]);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++) {
		w = snprintf(list + len, sizeof(list) - len, "%s%s/%s %s",
		    i > 0 ? ", " : "", items[i].rule, items[i].check,
		    notify_kind_str(items[i].kind));
		if (w < 0)
			break;
		len += (size_t)w;
	}
	log_event("notify", "channel=log notification=digest count=%zu "
	    "agent=%s alerts=%s", n, log_quote(items[0].agent, q, 256),
	    log_quote(list, q + 256, sizeof(q) - 256));
}

static void
notify_log_send(void *arg, const char *channel,
    const struct notify_item *items, size_t n)
{
	(void)arg;
	(void)channel;
	notify_log(items, n);
}

const struct notify_sink notify_log_sink = { notify_log_send, NULL };
