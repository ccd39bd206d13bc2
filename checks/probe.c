/* SPDX-License-Identifier: ISC */
/*
 * probe: the registry of check kinds, the reason-code table, and the run
 * lifecycle every kind shares.
 *
 * This module owns a run's deadline and its completion: done fires exactly
 * once, from the loop (never inside probe_run_start()), unless the run is
 * aborted.  It owns no kind state: that lives in run->priv and is released
 * by the kind's expire() or abort(), or by the kind before it reports.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "probe.h"
#include "tcp.h"
#include "tls.h"
#include "dns.h"
#include "http.h"

/* Adding a kind: one file in checks/ and one line here. */
const struct probe_ops *const probe_registry[] = {
	&tcp_probe_ops,
	&tls_probe_ops,
	&dns_probe_ops,
	&http_probe_ops,
	NULL
};

static const char *const probe_status_names[] = {
	[PROBE_OK] = "ok",
	[PROBE_CONNECT_REFUSED] = "connect_refused",
	[PROBE_CONNECT_TIMEOUT] = "connect_timeout",
	[PROBE_CONNECT_FAILED] = "connect_failed",
	[PROBE_TIMEOUT] = "timeout",
	[PROBE_DNS_NXDOMAIN] = "dns_nxdomain",
	[PROBE_DNS_SERVFAIL] = "dns_servfail",
	[PROBE_DNS_REFUSED] = "dns_refused",
	[PROBE_DNS_TIMEOUT] = "dns_timeout",
	[PROBE_DNS_BAD_RESPONSE] = "dns_bad_response",
	[PROBE_DNS_ANSWER_MISMATCH] = "dns_answer_mismatch",
	[PROBE_RESOLVE_FAILED] = "resolve_failed",
	[PROBE_HTTP_STATUS] = "http_status",
	[PROBE_HTTP_BODY_MISMATCH] = "http_body_mismatch",
	[PROBE_HTTP_HEADER_MISMATCH] = "http_header_mismatch",
	[PROBE_HTTP_TOO_MANY_REDIRECTS] = "http_too_many_redirects",
	[PROBE_HTTP_PROTOCOL_ERROR] = "http_protocol_error",
	[PROBE_HTTP_BODY_TOO_LARGE] = "http_body_too_large",
	[PROBE_TLS_EXPIRED] = "tls_expired",
	[PROBE_TLS_NOT_YET_VALID] = "tls_not_yet_valid",
	[PROBE_TLS_UNTRUSTED] = "tls_untrusted",
	[PROBE_TLS_HOSTNAME_MISMATCH] = "tls_hostname_mismatch",
	[PROBE_TLS_EXPIRING_SOON] = "tls_expiring_soon",
	[PROBE_TLS_HANDSHAKE_FAILED] = "tls_handshake_failed",
	[PROBE_TLS_VERSION] = "tls_version",
	[PROBE_TCP_EXPECT_MISMATCH] = "tcp_expect_mismatch",
	[PROBE_INTERNAL] = "internal",
};
_Static_assert(sizeof(probe_status_names) / sizeof(probe_status_names[0]) ==
    PROBE_STATUS_LAST, "probe_status_names out of step with the enum");

static const char *const probe_phase_names[] = {
	[PROBE_PHASE_RESOLVE] = "resolve",
	[PROBE_PHASE_CONNECT] = "connect",
	[PROBE_PHASE_TLS] = "tls",
	[PROBE_PHASE_PROCESSING] = "processing",
	[PROBE_PHASE_TRANSFER] = "transfer",
	[PROBE_PHASE_REQUEST] = "request",
};
_Static_assert(sizeof(probe_phase_names) / sizeof(probe_phase_names[0]) ==
    PROBE_PHASE_LAST, "probe_phase_names out of step with the enum");

enum probe_run_state {
	PROBE_RUN_IDLE,
	PROBE_RUN_STARTING,	/* inside ops->start() */
	PROBE_RUN_RUNNING,	/* timer armed at the deadline */
	PROBE_RUN_FINISHING,	/* result ready; timer armed for delivery */
};

const struct probe_ops *
probe_find(const char *kind)
{
	size_t	i;

	for (i = 0; probe_registry[i] != NULL; i++)
		if (strcmp(probe_registry[i]->kind, kind) == 0)
			return probe_registry[i];
	return NULL;
}

const char *
probe_status_str(enum probe_status status)
{
	if ((unsigned)status >= PROBE_STATUS_LAST)
		return "internal";
	return probe_status_names[status];
}

const char *
probe_phase_str(enum probe_phase phase)
{
	if ((unsigned)phase >= PROBE_PHASE_LAST)
		return "unknown";
	return probe_phase_names[phase];
}

/* Returns the phase called name, or PROBE_PHASE_LAST. */
/* The phase a reason code belongs to; PROBE_PHASE_LAST: none fixed. */
static enum probe_phase
probe_status_phase(enum probe_status status)
{
	switch (status) {
	case PROBE_RESOLVE_FAILED:
		return PROBE_PHASE_RESOLVE;
	case PROBE_CONNECT_REFUSED:
	case PROBE_CONNECT_TIMEOUT:
	case PROBE_CONNECT_FAILED:
		return PROBE_PHASE_CONNECT;
	case PROBE_TLS_EXPIRED:
	case PROBE_TLS_NOT_YET_VALID:
	case PROBE_TLS_UNTRUSTED:
	case PROBE_TLS_HOSTNAME_MISMATCH:
	case PROBE_TLS_EXPIRING_SOON:
	case PROBE_TLS_HANDSHAKE_FAILED:
	case PROBE_TLS_VERSION:
		return PROBE_PHASE_TLS;
	case PROBE_DNS_NXDOMAIN:
	case PROBE_DNS_SERVFAIL:
	case PROBE_DNS_REFUSED:
	case PROBE_DNS_TIMEOUT:
	case PROBE_DNS_BAD_RESPONSE:
	case PROBE_DNS_ANSWER_MISMATCH:
		return PROBE_PHASE_REQUEST;
	case PROBE_HTTP_STATUS:
	case PROBE_HTTP_BODY_MISMATCH:
	case PROBE_HTTP_HEADER_MISMATCH:
	case PROBE_HTTP_TOO_MANY_REDIRECTS:
	case PROBE_HTTP_PROTOCOL_ERROR:
	case PROBE_TCP_EXPECT_MISMATCH:
		return PROBE_PHASE_PROCESSING;
	case PROBE_HTTP_BODY_TOO_LARGE:
		return PROBE_PHASE_TRANSFER;
	default:
		return PROBE_PHASE_LAST;	/* ok, timeout, internal */
	}
}

enum probe_phase
probe_failing_phase(const struct probe_result *res, int64_t *us)
{
	enum probe_phase	 p = PROBE_PHASE_LAST;
	int64_t			 t;
	int			 i;

	if (res->status == PROBE_TIMEOUT) {
		/* The last phase that started: the last with a time. */
		for (i = PROBE_PHASE_LAST - 1; i >= 0; i--)
			if (res->phase[i] >= 0) {
				p = (enum probe_phase)i;
				break;
			}
	} else if (res->status != PROBE_OK)
		p = probe_status_phase(res->status);
	if (p == PROBE_PHASE_LAST || us == NULL)
		return p;
	if (res->phase[p] >= 0) {
		*us = res->phase[p];
		return p;
	}
	/* Kinds time a phase when it ends; a failed one has the rest. */
	t = res->duration;
	for (i = 0; i < PROBE_PHASE_LAST; i++)
		if (res->phase[i] > 0)
			t -= res->phase[i];
	*us = t > 0 ? t : 0;
	return p;
}

static enum probe_phase
probe_phase_find(const char *name)
{
	int	i;

	for (i = 0; i < PROBE_PHASE_LAST; i++)
		if (strcmp(probe_phase_names[i], name) == 0)
			return (enum probe_phase)i;
	return PROBE_PHASE_LAST;
}

bool
probe_check_handshakes(const struct check_conf *check)
{
	return check->ops != NULL && check->ops->handshakes != NULL &&
	    check->ops->handshakes(check->kind_conf);
}

bool
probe_metric_known(const struct probe_ops *ops, const char *name)
{
	size_t	i;

	if (strcmp(name, "duration") == 0)
		return true;
	if (strncmp(name, "phase.", 6) == 0)
		return probe_phase_find(name + 6) != PROBE_PHASE_LAST;
	for (i = 0; ops->metrics != NULL && ops->metrics[i] != NULL; i++)
		if (strcmp(ops->metrics[i], name) == 0)
			return true;
	return false;
}

int
probe_result_metric(const struct check_conf *check,
    const struct probe_result *res, const char *name, double *value)
{
	enum probe_phase	phase;

	if (strcmp(name, "duration") == 0) {
		*value = (double)res->duration / 1e6;
		return 0;
	}
	if (strncmp(name, "phase.", 6) == 0) {
		phase = probe_phase_find(name + 6);
		if (phase == PROBE_PHASE_LAST || res->phase[phase] < 0)
			return -1;
		*value = (double)res->phase[phase] / 1e6;
		return 0;
	}
	if (check->ops->metric == NULL)
		return -1;
	return check->ops->metric(res, name, value);
}

void
probe_result_init(struct probe_result *result)
{
	size_t	i;

	memset(result, 0, sizeof(*result));
	result->status = PROBE_OK;
	for (i = 0; i < PROBE_PHASE_LAST; i++)
		result->phase[i] = -1;
}

void
probe_result_set(struct probe_result *result, enum probe_status status,
    const char *fmt, ...)
{
	va_list	ap;

	char	*p;

	result->status = status;
	va_start(ap, fmt);
	vsnprintf(result->message, sizeof(result->message), fmt, ap);
	va_end(ap);
	/*
	 * A message is one line and may carry a target's words (a
	 * redirect URL, a name from an answer): no control character
	 * reaches a log line, a syslog message or a chat notification.
	 */
	for (p = result->message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\t' || *p == '\n' || *p == '\r' ? ' ' : '?';
}

const char *
probe_format_duration(int64_t us, char *buf, size_t buflen)
{
	long long	ms = (long long)((us + 500) / 1000);

	if (ms < 1000)
		snprintf(buf, buflen, "%lldms", ms);
	else if (ms % 1000 == 0)
		snprintf(buf, buflen, "%llds", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(buf, buflen, "%lld.%llds", ms / 1000, ms % 1000 / 100);
	else if (ms % 10 == 0)
		snprintf(buf, buflen, "%lld.%02llds", ms / 1000,
		    ms % 1000 / 10);
	else
		snprintf(buf, buflen, "%lld.%03llds", ms / 1000, ms % 1000);
	return buf;
}

const char *
probe_quote(const char *data, size_t len, size_t max, char *buf,
    size_t buflen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;
	size_t			 i, o = 0;
	char			 esc;

	buf[o++] = '"';
	/* Room for one escaped byte, the closing quote, "..." and NUL. */
	for (i = 0; i < len && i < max && o + 9 <= buflen; i++) {
		c = (unsigned char)data[i];
		esc = c == '\r' ? 'r' : c == '\n' ? 'n' : c == '\t' ? 't' :
		    c == '\\' ? '\\' : c == '"' ? '"' : 0;
		if (esc != 0) {
			buf[o++] = '\\';
			buf[o++] = esc;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	if (i < len)
		o += (size_t)snprintf(buf + o, buflen - o, "...");
	buf[o] = '\0';
	return buf;
}

static void probe_run_timer(struct loop *, struct loop_timer *, void *);

void
probe_run_init(struct probe_run *run, struct loop *loop,
    struct resolver *resolver, const struct check_conf *check)
{
	memset(run, 0, sizeof(*run));
	run->loop = loop;
	run->resolver = resolver;
	run->check = check;
	run->state = PROBE_RUN_IDLE;
	loop_timer_init(&run->timer, probe_run_timer, run);
	probe_result_init(&run->result);
}

static void
probe_run_finish(struct probe_run *run)
{
	run->state = PROBE_RUN_IDLE;
	loop_timer_cancel(run->loop, &run->timer);
	run->done(run, run->done_arg);
}

static void
probe_run_timer(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct probe_run	*run = arg;

	(void)timer;
	if (run->state == PROBE_RUN_RUNNING) {
		run->check->ops->expire(run);
		if (run->result.status == PROBE_OK)
			probe_result_set(&run->result, PROBE_TIMEOUT,
			    "no result within %lld ms", (long long)
			    ((run->deadline - run->started) / 1000));
		run->result.duration = loop_time(loop) - run->started;
	}
	probe_run_finish(run);
}

void
probe_run_start(struct probe_run *run, int64_t deadline, probe_done_cb done,
    void *arg)
{
	probe_result_init(&run->result);
	run->started = loop_time(run->loop);
	run->result.started_at = loop_wallclock();
	run->deadline = deadline;
	run->done = done;
	run->done_arg = arg;
	run->state = PROBE_RUN_STARTING;
	if (run->check->ops->start(run) == -1) {
		if (run->result.status == PROBE_OK)
			probe_result_set(&run->result, PROBE_INTERNAL,
			    "probe could not start");
		run->result.duration = loop_time(run->loop) - run->started;
		run->state = PROBE_RUN_FINISHING;
	}
	if (run->state == PROBE_RUN_FINISHING)
		loop_timer_at(run->loop, &run->timer, loop_now(run->loop));
	else {
		run->state = PROBE_RUN_RUNNING;
		loop_timer_at(run->loop, &run->timer, deadline);
	}
}

void
probe_run_done(struct probe_run *run)
{
	if (run->state != PROBE_RUN_STARTING &&
	    run->state != PROBE_RUN_RUNNING)
		return;		/* a second report is a kind bug; drop it */
	run->result.duration = loop_time(run->loop) - run->started;
	if (run->state == PROBE_RUN_STARTING) {
		run->state = PROBE_RUN_FINISHING;
		return;
	}
	probe_run_finish(run);
}

void
probe_run_abort(struct probe_run *run)
{
	if (run->state == PROBE_RUN_RUNNING ||
	    run->state == PROBE_RUN_STARTING)
		run->check->ops->abort(run);
	run->state = PROBE_RUN_IDLE;
	loop_timer_cancel(run->loop, &run->timer);
}

bool
probe_run_active(const struct probe_run *run)
{
	return run->state != PROBE_RUN_IDLE;
}

int
probe_address_hash(const char *address, double *hash)
{
	unsigned char	 ip[16];
	char		 host[PROBE_ADDRESS_MAX];
	const char	*end;
	uint32_t	 h = 0x811c9dc5;	/* FNV-1a offset basis */
	size_t		 i, n;
	int		 af = address[0] == '[' ? AF_INET6 : AF_INET;

	if (af == AF_INET6)
		end = strpbrk(address, "%]");
	else
		end = strrchr(address, ':');
	if (end == NULL)
		return -1;
	n = (size_t)(end - address) - (af == AF_INET6);
	if (n >= sizeof(host))
		return -1;
	memcpy(host, address + (af == AF_INET6), n);
	host[n] = '\0';
	if (inet_pton(af, host, ip) != 1)
		return -1;
	/* Go's To4(): a v4-mapped address hashes as its IPv4 address. */
	if (af == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)ip)) {
		memmove(ip, ip + 12, 4);
		af = AF_INET;
	}
	for (i = 0; i < (af == AF_INET6 ? 16u : 4u); i++)
		h = (h ^ ip[i]) * 0x01000193;	/* FNV prime */
	*hash = h;
	return 0;
}
