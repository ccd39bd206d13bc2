/* SPDX-License-Identifier: ISC */
/*
 * result: the shapes a probe result takes on the way out of sonde: the
 * one-line JSON record of DESIGN.md for programs (--once --json), the
 * aligned table for people (--once), and short human durations for both
 * the table and the logs.
 *
 * The module owns formatting only: it never decides whether a result is a
 * failure worth telling anyone about.  The JSON is built with jansson,
 * never by hand; jansson refuses invalid UTF-8 (and would drop the whole
 * record), so every string from a config or from the network is repaired
 * to valid UTF-8 first, each bad byte becoming U+FFFD.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "probe.h"
#include "result.h"
#include "xmalloc.h"

/* %.9g keeps µs exact below 1000 s and prints no binary noise. */
#define RESULT_JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(9))
#define RESULT_TIME_WIDTH	7

/*
 * Returns the length of the valid UTF-8 sequence at p (RFC 3629 section 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0.  Stops
 * at the first bad byte, so it never reads past a NUL.
 */
static size_t
result_utf8_len(const unsigned char *p)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Returns a new copy of s (NULL as "") with each bad byte as U+FFFD. */
static char *
result_utf8_clean(const char *s)
{
	const unsigned char	*p;
	char			*out;
	size_t			 o = 0, n;

	if (s == NULL)
		s = "";
	out = xmalloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		if ((n = result_utf8_len(p)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
	}
	out[o] = '\0';
	return out;
}

/* Sets obj[key] to the string s, repaired; returns 0 or -1. */
int
result_json_set_string(struct json_t *obj, const char *key, const char *s)
{
	char	*clean;
	int	 rc;

	clean = result_utf8_clean(s);
	rc = json_object_set_new(obj, key, json_string(clean));
	free(clean);
	return rc;
}

/* Sets obj[key] to us in seconds; returns 0 or -1. */
static int
result_set_seconds(json_t *obj, const char *key, int64_t us)
{
	return json_object_set_new(obj, key, json_real((double)us / 1e6));
}

/* Writes us (wall clock) as RFC 3339 UTC with milliseconds. */
void
result_rfc3339(int64_t us, char *buf, size_t buflen)
{
	struct tm	tm;
	time_t		sec;
	char		date[32];

	if (us < 0)
		us = 0;
	sec = (time_t)(us / 1000000);
	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	snprintf(buf, buflen, "%s.%03dZ", date, (int)(us % 1000000 / 1000));
}

/* Adds "phases" with every phase that ran, unless none did. */
static int
result_json_phases(json_t *root, const struct probe_result *res)
{
	json_t	*phases;
	int	 i;

	if ((phases = json_object()) == NULL)
		return -1;
	for (i = 0; i < PROBE_PHASE_LAST; i++) {
		if (res->phase[i] < 0)
			continue;
		if (result_set_seconds(phases, probe_phase_str(i),
		    res->phase[i]) == -1) {
			json_decref(phases);
			return -1;
		}
	}
	if (json_object_size(phases) == 0) {
		json_decref(phases);
		return 0;
	}
	return json_object_set_new(root, "phases", phases);
}

/* Adds "labels" when the check has any. */
static int
result_json_labels(json_t *root, const struct check_conf *check)
{
	json_t	*labels;
	char	*key;
	size_t	 i;
	int	 rc;

	if (check->nlabels == 0)
		return 0;
	if ((labels = json_object()) == NULL)
		return -1;
	for (i = 0; i < check->nlabels; i++) {
		key = result_utf8_clean(check->labels[i].key);
		rc = result_json_set_string(labels, key, check->labels[i].value);
		free(key);
		if (rc == -1) {
			json_decref(labels);
			return -1;
		}
	}
	return json_object_set_new(root, "labels", labels);
}

/* The record's head: check, type, target, ok. */
static json_t *
result_json_head(const struct check_conf *check, const struct probe_result *res)
{
	json_t	*root;
	char	*name, *target;

	name = result_utf8_clean(check->name);
	target = result_utf8_clean(check->target);
	root = json_pack("{s:s, s:s, s:s, s:b}", "check", name,
	    "type", check->ops->kind, "target", target,
	    "ok", res->status == PROBE_OK);
	free(name);
	free(target);
	return root;
}

char *
result_json(const struct check_conf *check, const struct probe_result *res)
{
	json_t	*root;
	char	*out = NULL, stamp[40];

	if ((root = result_json_head(check, res)) == NULL)
		return NULL;
	if (res->status != PROBE_OK && result_json_set_string(root, "reason",
	    probe_status_str(res->status)) == -1)
		goto fail;
	if (res->message[0] != '\0' &&
	    result_json_set_string(root, "message", res->message) == -1)
		goto fail;
	if (result_set_seconds(root, "duration_seconds", res->duration) == -1 ||
	    result_json_phases(root, res) == -1 ||
	    (check->ops->result_json != NULL &&
	    check->ops->result_json(res, root) == -1))
		goto fail;
	result_rfc3339(res->started_at, stamp, sizeof(stamp));
	if (result_json_set_string(root, "started_at", stamp) == -1 ||
	    result_json_labels(root, check) == -1)
		goto fail;
	out = json_dumps(root, RESULT_JSON_FLAGS);
fail:
	json_decref(root);
	return out;
}

const char *
result_format_us(int64_t us, char *buf, size_t buflen)
{
	int64_t	s;

	if (us < 0)
		us = 0;
	s = (us + 500000) / 1000000;
	if (us < 999950)
		snprintf(buf, buflen, "%.1fms", (double)us / 1e3);
	else if (us < 59995000)
		snprintf(buf, buflen, "%.2fs", (double)us / 1e6);
	else if (s < 3600)
		snprintf(buf, buflen, "%dm%02ds", (int)(s / 60), (int)(s % 60));
	else if (s < 86400)
		snprintf(buf, buflen, "%dh%02dm", (int)(s / 3600),
		    (int)(s % 3600 / 60));
	else
		snprintf(buf, buflen, "%lldd%02dh", (long long)(s / 86400),
		    (int)(s % 86400 / 3600));
	return buf;
}

/* ---- the --once table ---------------------------------------------------- */

static int
result_width(const char *s)
{
	size_t	len = s != NULL ? strlen(s) : 0;

	return len > 1024 ? 1024 : (int)len;
}

void
result_table_init(struct result_table *t)
{
	t->check_w = result_width("CHECK");
	t->type_w = result_width("TYPE");
	t->target_w = result_width("TARGET");
	t->result_w = result_width("RESULT");
}

void
result_table_fit(struct result_table *t, const struct check_conf *check,
    const struct probe_result *res)
{
	int	w;

	if ((w = result_width(check->name)) > t->check_w)
		t->check_w = w;
	if ((w = result_width(check->ops->kind)) > t->type_w)
		t->type_w = w;
	if ((w = result_width(check->target)) > RESULT_TARGET_MAX_WIDTH)
		w = RESULT_TARGET_MAX_WIDTH;
	if (w > t->target_w)
		t->target_w = w;
	if ((w = result_width(probe_status_str(res->status))) > t->result_w)
		t->result_w = w;
}

/*
 * Writes s padded to width; when max is set, a longer s is cut (on a UTF-8
 * boundary) and ends in "...".  Control bytes become '?' so a reply from
 * the network cannot drive the terminal.
 */
static void
result_put(FILE *out, const char *s, int width, bool cut)
{
	size_t	len, n, i;

	if (s == NULL)
		s = "";
	len = n = strlen(s);
	if (cut && width > 3 && len > (size_t)width) {
		n = (size_t)width - 3;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		fputc((unsigned char)s[i] < ' ' || s[i] == 0x7f ? '?' : s[i],
		    out);
	if (n < len) {
		fputs("...", out);
		n += 3;
	}
	for (; n < (size_t)width; n++)
		fputc(' ', out);
}

void
result_table_header(FILE *out, const struct result_table *t)
{
	fprintf(out, "%-*s %-*s %-*s %-*s %*s  MESSAGE\n", t->check_w, "CHECK",
	    t->type_w, "TYPE", t->target_w, "TARGET", t->result_w, "RESULT",
	    RESULT_TIME_WIDTH, "TIME");
}

void
result_table_row(FILE *out, const struct result_table *t,
    const struct check_conf *check, const struct probe_result *res)
{
	char	dur[32];

	result_put(out, check->name, t->check_w, false);
	fputc(' ', out);
	result_put(out, check->ops->kind, t->type_w, false);
	fputc(' ', out);
	result_put(out, check->target, t->target_w, true);
	fputc(' ', out);
	result_put(out, probe_status_str(res->status), t->result_w, false);
	fprintf(out, " %*s", RESULT_TIME_WIDTH,
	    result_format_us(res->duration, dur, sizeof(dur)));
	if (res->message[0] != '\0') {
		fputs("  ", out);
		result_put(out, res->message, 0, false);
	}
	fputc('\n', out);
}
