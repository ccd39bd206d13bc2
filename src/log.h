/*
 * log: the one place sonde writes diagnostics.
 *
 * Lines are logfmt on stderr (journald-friendly) or go to syslog(3).  Every
 * call names a subsystem token ("sched", "probe/tcp", "config") so debug
 * output can be filtered by token.  Two shapes of line:
 *
 *   log_info("sched", "started %d checks", n)
 *       time=... level=info sub=sched msg="started 12 checks"
 *   log_event("check", "check=%s state=%s reason=%s", ...)
 *       time=... level=info sub=check check=api state=failing reason=...
 *
 * log_event() is for state changes that people and scripts grep for; its
 * format must produce logfmt pairs (quote values with log_quote()).
 * Tests capture lines with log_set_handler().  Secrets are never passed here.
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_LAST
};

/*
 * A capture hook: gets every line that passes the level filter.  line is
 * the complete logfmt line without time= and without a newline; borrowed.
 */
typedef void (*log_handler_cb)(enum log_level level, const char *token,
    const char *line, void *arg);

/*
 * Sets the threshold; debug_tokens is NULL (all tokens) or a comma list of
 * token prefixes ("sched,probe") that debug output is limited to.  Copied.
 */
void	log_init(enum log_level min_level, const char *debug_tokens);
/* Sends lines to syslog(3) with this ident and facility instead of stderr. */
void	log_use_syslog(const char *ident, int facility);
/* Routes lines to handler (NULL restores the default output). */
void	log_set_handler(log_handler_cb handler, void *arg);
/* Returns the facility code for a name such as "daemon" or "local0", or -1. */
int	log_facility_from_name(const char *name);

/*
 * True when log_debug(token, ...) would write a line.  Cheap (a compare
 * when debug is off), so a caller whose arguments cost something to format
 * (a float, a quoted string) asks first and skips the work.
 */
bool	log_debug_enabled(const char *token);

void	log_debug(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_event(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends ": strerror(errno)". */
void	log_warn(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Log and exit(1); only at startup or on a broken invariant. */
void	fatal(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx(const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/*
 * Writes s into buf as a logfmt value: bare when it is a plain word,
 * otherwise double-quoted with \" \\ \n escaped; truncated to fit.
 * Returns buf.
 */
const char *log_quote(const char *s, char *buf, size_t buflen);

#endif /* SONDE_LOG_H */
