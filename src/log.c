/* SPDX-License-Identifier: ISC */
/*
 * log: logfmt lines on stderr, or syslog(3), with a capture hook for tests.
 *
 * The module owns the output choice and the level/token filter; callers own
 * the words.  Lines are built in a fixed buffer (no allocation, so fatal()
 * works when memory is gone) and written with one write(2) so concurrent
 * writers of the same stderr do not interleave within a line.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static const char *const log_level_names[] = {
	"debug", "info", "warn", "fatal"
};
_Static_assert(sizeof(log_level_names) / sizeof(log_level_names[0]) ==
    LOG_LEVEL_LAST, "log_level_names out of step with enum log_level");

static enum log_level	 log_min_level = LOG_LEVEL_INFO;
static char		 log_debug_tokens[256];
static bool		 log_syslog;
static log_handler_cb	 log_handler;
static void		*log_handler_arg;

static const struct {
	const char	*name;
	int		 code;
} log_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void
log_init(enum log_level min_level, const char *debug_tokens)
{
	log_min_level = min_level;
	log_debug_tokens[0] = '\0';
	if (debug_tokens != NULL)
		snprintf(log_debug_tokens, sizeof(log_debug_tokens), "%s",
		    debug_tokens);
}

void
log_use_syslog(const char *ident, int facility)
{
	openlog(ident, LOG_PID | LOG_NDELAY, facility);
	log_syslog = true;
}

void
log_set_handler(log_handler_cb handler, void *arg)
{
	log_handler = handler;
	log_handler_arg = arg;
}

int
log_facility_from_name(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]);
	    i++)
		if (strcmp(log_facilities[i].name, name) == 0)
			return log_facilities[i].code;
	return -1;
}

/* Debug lines pass only for tokens with a listed prefix (or any, if none). */
static bool
log_wanted(enum log_level level, const char *token)
{
	const char	*p, *end;
	size_t		 len;

	if (level < log_min_level)
		return false;
	if (level != LOG_LEVEL_DEBUG || log_debug_tokens[0] == '\0')
		return true;
	for (p = log_debug_tokens; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchrnul(p, ',');
		len = (size_t)(end - p);
		if (len > 0 && strncmp(token, p, len) == 0)
			return true;
	}
	return false;
}

bool
log_debug_enabled(const char *token)
{
	return log_wanted(LOG_LEVEL_DEBUG, token);
}

const char *
log_quote(const char *s, char *buf, size_t buflen)
{
	const char	*p;
	size_t		 o = 0;
	bool		 bare = *s != '\0';

	for (p = s; *p != '\0' && bare; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    (unsigned char)*p == 0x7f)
			bare = false;
	if (buflen < 3) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	if (bare) {
		snprintf(buf, buflen, "%s", s);
		return buf;
	}
	buf[o++] = '"';
	for (p = s; *p != '\0' && o + 3 < buflen; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = *p;
		} else if (*p == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if ((unsigned char)*p < ' ' || *p == 0x7f)
			buf[o++] = '?';
		else
			buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void
log_emit(enum log_level level, const char *token, const char *body)
{
	static const int syslog_prio[] = {
		LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_CRIT
	};
	char		 line[LOG_LINE_MAX + 384];
	char		 ts[32];
	struct timespec	 tv;
	struct tm	 tm;
	int		 n;

	if (log_handler != NULL) {
		log_handler(level, token, body, log_handler_arg);
		return;
	}
	if (log_syslog) {
		syslog(syslog_prio[level], "%s", body);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &tv);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "time=%s.%03ldZ %s\n", ts,
	    tv.tv_nsec / 1000000, body);
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Builds "level=L sub=T " + either msg="..." or the raw logfmt pairs. */
static void
log_vlog(enum log_level level, const char *token, bool raw, int errnum,
    const char *fmt, va_list ap)
{
	/* body has room for the prefix plus a whole quoted message. */
	char	msg[LOG_LINE_MAX], quoted[LOG_LINE_MAX];
	char	body[LOG_LINE_MAX + 256];
	size_t	len;

	if (!log_wanted(level, token))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(errnum));
	}
	if (raw)
		snprintf(body, sizeof(body), "level=%s sub=%s %s",
		    log_level_names[level], token, msg);
	else
		snprintf(body, sizeof(body), "level=%s sub=%s msg=%s",
		    log_level_names[level], token,
		    log_quote(msg, quoted, sizeof(quoted)));
	log_emit(level, token, body);
}

#define LOG_DEFINE(fn, level, raw, with_errno)				\
void									\
fn(const char *token, const char *fmt, ...)				\
{									\
	va_list	ap;							\
	int	saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_vlog(level, token, raw, with_errno ? saved : 0, fmt, ap);	\
	va_end(ap);							\
	errno = saved;							\
}

LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG, false, false)
LOG_DEFINE(log_info, LOG_LEVEL_INFO, false, false)
LOG_DEFINE(log_event, LOG_LEVEL_INFO, true, false)
LOG_DEFINE(log_warn, LOG_LEVEL_WARN, false, true)
LOG_DEFINE(log_warnx, LOG_LEVEL_WARN, false, false)

void
fatal(const char *token, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_FATAL, token, false, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *token, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_FATAL, token, false, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
