/* SPDX-License-Identifier: ISC */
/*
 * tcp: the TCP check kind.  Resolve the host, connect to one address,
 * optionally send a string, optionally read until the reply matches a
 * regex, and close.
 *
 * This module owns the kind's config (struct tcp_conf, parsed once at
 * load) and, for each run, one small struct in run->priv: the socket, the
 * pending resolver query and, only when expect is set, the reply buffer.
 * Everything a run holds is released by one idempotent tcp_cleanup(),
 * whichever way the run ends (done, expire, abort).  It does not own the
 * run, its deadline (probe.c arms it and calls expire()), the resolver or
 * the loop.
 *
 * Address policy: the check connects to the FIRST address the resolver
 * returns (in the DNS answer's order; the family follows ip_version, see
 * resolver.h) and to no other.  One probe, one address: a failure names
 * the address that failed (result.tcp.address), and a dead backend is not
 * hidden by a live one.  To watch every backend, define one check each.
 * An address literal is parsed at config load and never goes through the
 * resolver (no allocation, no timer, no resolve phase).
 *
 * Close policy: by default the socket is closed with SO_LINGER {1, 0},
 * which sends RST and leaves nothing in TIME_WAIT.  sonde is the side that
 * closes first, so a normal close (FIN) would park every probe's socket in
 * TIME_WAIT on the agent's host for 60 s (Linux's fixed TIME_WAIT; 2 MSL
 * in RFC 9293 §3.6): at 1,000 probes/s that is 60,000 sockets, more than
 * the default ephemeral port range (28,232 ports) towards one target, and
 * connects start to fail with EADDRNOTAVAIL.  close = "graceful" sends FIN
 * instead (shutdown(SHUT_WR), then close) for servers that log resets as
 * errors; it is fine at ordinary rates.  Even then the kernel resets a
 * connection closed with unread data (RFC 1122 §4.2.2.13), e.g. a server
 * that keeps talking after the reply matched.  A socket that never
 * connected is simply closed.
 *
 * Cost: the hot path (literal address, no send, no expect) is socket(),
 * connect(), one epoll_ctl ADD, the wakeup, getsockopt(SO_ERROR), one
 * epoll_ctl DEL, setsockopt(SO_LINGER), close(): the bare minimum of a
 * non-blocking connect plus the RST policy, and one malloc per run (and
 * the reply buffer, only when expect is set).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "log.h"
#include "loop.h"
#include "pattern.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "tcp.h"
#include "xmalloc.h"

#define TCP_REPLY_MAX		16384	/* bytes read while matching */
#define TCP_REPLY_FIRST		1024	/* first buffer; doubled as needed */
#define TCP_QUOTE_MAX		48	/* reply bytes quoted in a message */
#define TCP_QUOTE_BUF		(TCP_QUOTE_MAX * 4 + 16)

enum tcp_close {
	TCP_CLOSE_RESET,
	TCP_CLOSE_GRACEFUL
};

/*
 * Kept small: a config of 10,000 checks holds 10,000 of these.  The host
 * (without []) is stored inline.
 */
struct tcp_conf {
	struct pattern		*reply;		/* NULL: expect nothing */
	char			*send;		/* NULL: send nothing */
	uint32_t		 sendlen;
	uint16_t		 port;
	uint8_t			 close;		/* enum tcp_close */
	uint8_t			 family;	/* a literal's, or AF_UNSPEC */
	union {
		struct sockaddr_in	 sin;
		struct sockaddr_in6	 sin6;
	}			 addr;		/* the literal, with the port */
	char			 host[];
};

enum tcp_state {
	TCP_IDLE,
	TCP_RESOLVING,
	TCP_CONNECTING,
	TCP_SENDING,
	TCP_READING,
	TCP_STATE_LAST
};

static const char *const tcp_state_names[] = {
	[TCP_IDLE] = "idle",
	[TCP_RESOLVING] = "resolving",
	[TCP_CONNECTING] = "connecting",
	[TCP_SENDING] = "sending",
	[TCP_READING] = "reading",
};
_Static_assert(sizeof(tcp_state_names) / sizeof(tcp_state_names[0]) ==
    TCP_STATE_LAST, "tcp_state_names out of step with enum tcp_state");

/* One run's state: run->priv. */
struct tcp_run {
	struct probe_run	*run;
	const struct tcp_conf	*conf;
	struct resolver_query	*query;
	enum tcp_state		 state;
	int			 fd;
	bool			 connected;
	int64_t			 mark;		/* start of this phase, µs */
	size_t			 sent;
	char			*buf;		/* the reply so far */
	size_t			 len;
	size_t			 cap;
};

static const char *const tcp_conf_keys[] = {
	"host", "port", "send", "expect", "close", NULL
};
static const char *const tcp_expect_keys[] = { "reply", NULL };
static const char *const tcp_close_names[] = { "reset", "graceful", NULL };

static void	tcp_event(struct loop *, int, unsigned, void *);

/* ---- words ------------------------------------------------------------ */

/* "250ms", "3s", "1.5s", "2.25s": short, for messages. */
static const char *
tcp_duration_str(int64_t us, char *buf, size_t buflen)
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

/*
 * Writes the first bytes of data as a double-quoted, printable string
 * (\r \n \t \\ \" and \xNN escapes), followed by "..." when cut.
 */
static const char *
tcp_quote(const char *data, size_t len, char *buf, size_t buflen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;
	size_t			 i, o = 0;
	char			 esc;

	buf[o++] = '"';
	/* Room for one escaped byte, the closing quote, "..." and NUL. */
	for (i = 0; i < len && i < TCP_QUOTE_MAX && o + 9 <= buflen; i++) {
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

/* ---- config ----------------------------------------------------------- */

static void
tcp_conf_free(void *kind_conf)
{
	struct tcp_conf	*tc = kind_conf;

	if (tc == NULL)
		return;
	free(tc->send);
	pattern_free(tc->reply);
	free(tc);
}

/*
 * Strips [] from a v6 literal in place, recognises literals (filling *ss)
 * and rejects "host:port".  Returns the literal's family or AF_UNSPEC.
 */
static int
tcp_conf_host(struct confread *cr, const struct config_setting_t *group,
    char *host, const struct check_conf *check, struct sockaddr_storage *ss)
{
	const config_setting_t	*s = config_setting_get_member(group, "host");
	size_t			 len = strlen(host);
	int			 family;

	family = resolver_literal(host, ss);
	if (family == AF_INET6 && host[0] == '[') {
		memmove(host, host + 1, len - 2);
		host[len - 2] = '\0';
	}
	if (len == 0)
		confread_error(cr, s, "'host' must not be empty");
	else if (family == AF_UNSPEC && strpbrk(host, ":[]") != NULL)
		confread_error(cr, s, "'host' \"%s\" is not a host name or "
		    "address (the port goes in 'port')", host);
	else if (family != AF_UNSPEC && check->ip_family != AF_UNSPEC &&
	    family != check->ip_family)
		confread_error(cr, s, "'host' %s is an IPv%d address but "
		    "ip_version is \"%d\"", host, family == AF_INET ? 4 : 6,
		    check->ip_family == AF_INET ? 4 : 6);
	return family;
}

static void
tcp_conf_expect(struct confread *cr, const struct config_setting_t *group,
    struct pattern **reply)
{
	const struct config_setting_t	*expect;

	if (confread_group(cr, group, "expect", false, &expect) != 1)
		return;
	confread_check_keys(cr, expect, tcp_expect_keys, "expect");
	confread_pattern(cr, expect, "reply", true, reply);
}

/* Builds the conf from what was read; sets the target people read. */
static struct tcp_conf *
tcp_conf_new(const char *host, int port, int family,
    const struct sockaddr_storage *ss, struct check_conf *check)
{
	struct tcp_conf	*tc;
	size_t		 len = strlen(host);

	tc = xcalloc(1, sizeof(*tc) + len + 1);
	memcpy(tc->host, host, len + 1);
	tc->port = (uint16_t)port;
	tc->family = (uint8_t)family;
	if (family == AF_INET) {
		memcpy(&tc->addr.sin, ss, sizeof(tc->addr.sin));
		tc->addr.sin.sin_port = htons(tc->port);
	} else if (family == AF_INET6) {
		memcpy(&tc->addr.sin6, ss, sizeof(tc->addr.sin6));
		tc->addr.sin6.sin6_port = htons(tc->port);
	}
	if (family == AF_INET6)
		check->target = xasprintf("[%s]:%d", host, port);
	else
		check->target = xasprintf("%s:%d", host, port);
	return tc;
}

static int
tcp_conf_parse(struct confread *cr, const struct config_setting_t *group,
    struct check_conf *check)
{
	struct tcp_conf		*tc;
	struct sockaddr_storage	 ss;
	struct pattern		*reply = NULL;
	char			*host = NULL, *send = NULL;
	int64_t			 port = 0;
	int			 nerrors = cr->nerrors, family = AF_UNSPEC;
	int			 close_policy = TCP_CLOSE_RESET;

	if (confread_string(cr, group, "host", true, &host) == 1)
		family = tcp_conf_host(cr, group, host, check, &ss);
	confread_int(cr, group, "port", true, 1, 65535, &port);
	confread_string(cr, group, "send", false, &send);
	tcp_conf_expect(cr, group, &reply);
	confread_enum(cr, group, "close", false, tcp_close_names,
	    &close_policy);
	if (cr->nerrors != nerrors)
		goto fail;
	tc = tcp_conf_new(host, (int)port, family, &ss, check);
	tc->reply = reply;
	tc->close = (uint8_t)close_policy;
	if (send != NULL && send[0] != '\0') {
		tc->send = send;
		tc->sendlen = (uint32_t)strlen(send);
	} else
		free(send);
	free(host);
	check->kind_conf = tc;
	return 0;
fail:
	free(host);
	free(send);
	pattern_free(reply);
	return -1;
}

/* ---- a run: cleanup and outcomes -------------------------------------- */

static void
tcp_set_state(struct tcp_run *t, enum tcp_state state)
{
	log_debug("probe/tcp", "check \"%s\": %s -> %s", t->run->check->name,
	    tcp_state_names[t->state], tcp_state_names[state]);
	t->state = state;
}

/* Closes per the close policy; see the top of the file. */
static void
tcp_close(struct tcp_run *t)
{
	struct linger	lg = { 1, 0 };

	if (t->connected) {
		if (t->conf->close == TCP_CLOSE_RESET)
			(void)setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		else
			(void)shutdown(t->fd, SHUT_WR);
	}
	close(t->fd);
	t->fd = -1;
}

/* Releases everything the run holds; idempotent. */
static void
tcp_cleanup(struct probe_run *run)
{
	struct tcp_run	*t = run->priv;

	if (t == NULL)
		return;
	run->priv = NULL;
	resolver_cancel(t->query);
	if (t->fd != -1) {
		loop_fd_del(run->loop, t->fd);
		tcp_close(t);
	}
	free(t->buf);
	free(t);
}

/* Ends the run with run->result as set.  Nothing may touch t after. */
static void
tcp_finish(struct tcp_run *t)
{
	struct probe_run	*run = t->run;

	tcp_cleanup(run);
	probe_run_done(run);
}

static void
tcp_connect_error(struct tcp_run *t, int err)
{
	struct probe_result	*res = &t->run->result;

	switch (err) {
	case ECONNREFUSED:
		probe_result_set(res, PROBE_CONNECT_REFUSED,
		    "connect to %s: refused", res->tcp.address);
		break;
	case ETIMEDOUT:
		probe_result_set(res, PROBE_CONNECT_TIMEOUT,
		    "connect to %s: no answer (%s)", res->tcp.address,
		    strerror(err));
		break;
	case EADDRNOTAVAIL:	/* out of ephemeral ports */
	case EAGAIN:
	case ENOBUFS:
	case ENOMEM:
		probe_result_set(res, PROBE_INTERNAL, "connect to %s: %s",
		    res->tcp.address, strerror(err));
		break;
	default:
		probe_result_set(res, PROBE_CONNECT_FAILED,
		    "connect to %s: %s", res->tcp.address, strerror(err));
		break;
	}
}

/* The reply ended (EOF or error) without a match. */
static void
tcp_reply_ended(struct tcp_run *t, int err)
{
	struct probe_result	*res = &t->run->result;
	const char		*re = pattern_source(t->conf->reply);
	char			 how[64], q[TCP_QUOTE_BUF];

	if (err == 0)
		snprintf(how, sizeof(how), "connection closed");
	else if (err == ECONNRESET)
		snprintf(how, sizeof(how), "connection reset");
	else
		snprintf(how, sizeof(how), "read failed (%s)", strerror(err));
	if (t->len == 0)
		probe_result_set(res, PROBE_TCP_EXPECT_MISMATCH,
		    "%s without a reply; expected /%s/", how, re);
	else
		probe_result_set(res, PROBE_TCP_EXPECT_MISMATCH,
		    "%s after %zu bytes; reply %s does not match /%s/", how,
		    t->len, tcp_quote(t->buf, t->len, q, sizeof(q)), re);
}

/* ---- a run: the states ------------------------------------------------ */

/* Opens the socket and starts connecting; -1 with run->result set. */
static int
tcp_connect(struct tcp_run *t, const struct sockaddr_storage *addr,
    int64_t now)
{
	struct probe_run	*run = t->run;
	struct sockaddr_storage	 ss = *addr;
	socklen_t		 len;

	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port =
		    htons((uint16_t)t->conf->port);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)t->conf->port);
		len = sizeof(struct sockaddr_in6);
	}
	resolver_addr_str(&ss, run->result.tcp.address,
	    sizeof(run->result.tcp.address));
	t->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (t->fd == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL, "socket: %s",
		    strerror(errno));
		return -1;
	}
	t->mark = now;
	if (connect(t->fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		run->result.phase[PROBE_PHASE_CONNECT] = loop_time(run->loop) -
		    now;
		tcp_connect_error(t, errno);
		return -1;
	}
	if (loop_fd_add(run->loop, t->fd, LOOP_WRITE, tcp_event, t) == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "watch socket: %s", strerror(errno));
		return -1;
	}
	tcp_set_state(t, TCP_CONNECTING);
	return 0;
}

static void
tcp_resolved(const struct resolver_answer *ans, void *arg)
{
	struct tcp_run		*t = arg;
	struct probe_run	*run = t->run;
	int64_t			 now = loop_time(run->loop);

	t->query = NULL;
	run->result.phase[PROBE_PHASE_RESOLVE] = now - run->started;
	if (ans->status != RESOLVER_OK) {
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: %s", t->conf->host, ans->error);
		tcp_finish(t);
		return;
	}
	if (tcp_connect(t, &ans->addrs[0], now) == -1)
		tcp_finish(t);
}

static void
tcp_read_start(struct tcp_run *t)
{
	struct probe_run	*run = t->run;

	if (loop_fd_mod(run->loop, t->fd, LOOP_READ) == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "watch socket: %s", strerror(errno));
		tcp_finish(t);
		return;
	}
	t->cap = TCP_REPLY_FIRST;
	t->buf = xmalloc(t->cap);
	tcp_set_state(t, TCP_READING);
}

/* Writes what is left of send; the fd stays watched for LOOP_WRITE. */
static void
tcp_on_send(struct tcp_run *t)
{
	const struct tcp_conf	*tc = t->conf;
	struct probe_result	*res = &t->run->result;
	ssize_t			 n;

	n = send(t->fd, tc->send + t->sent, tc->sendlen - t->sent,
	    MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		probe_result_set(res, PROBE_CONNECT_FAILED, "send to %s: %s",
		    res->tcp.address, strerror(errno));
		tcp_finish(t);
		return;
	}
	t->sent += (size_t)n;
	if (t->sent < tc->sendlen)
		return;
	if (tc->reply == NULL)
		tcp_finish(t);
	else
		tcp_read_start(t);
}

static void
tcp_on_connect(struct tcp_run *t)
{
	struct probe_run	*run = t->run;
	int64_t			 now = loop_time(run->loop);
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	run->result.phase[PROBE_PHASE_CONNECT] = now - t->mark;
	if (err != 0) {
		tcp_connect_error(t, err);
		tcp_finish(t);
		return;
	}
	t->connected = true;
	t->mark = now;
	if (t->conf->sendlen > 0) {
		tcp_set_state(t, TCP_SENDING);
		tcp_on_send(t);
	} else if (t->conf->reply != NULL)
		tcp_read_start(t);
	else
		tcp_finish(t);
}

/* Reads once per wakeup and matches everything received so far. */
static void
tcp_on_read(struct tcp_run *t)
{
	struct probe_run	*run = t->run;
	const char		*re = pattern_source(t->conf->reply);
	ssize_t			 n;
	int			 rc;

	if (t->len == t->cap) {
		t->cap = t->cap * 2 < TCP_REPLY_MAX ? t->cap * 2 :
		    TCP_REPLY_MAX;
		t->buf = xreallocarray(t->buf, t->cap, 1);
	}
	n = recv(t->fd, t->buf + t->len, t->cap - t->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		tcp_reply_ended(t, n == 0 ? 0 : errno);
		tcp_finish(t);
		return;
	}
	t->len += (size_t)n;
	rc = pattern_match(t->conf->reply, t->buf, t->len);
	if (rc == 1)
		run->result.phase[PROBE_PHASE_PROCESSING] =
		    loop_time(run->loop) - t->mark;
	else if (rc == -1)
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "matching the reply against /%s/: regex match limit hit",
		    re);
	else if (t->len == TCP_REPLY_MAX)
		probe_result_set(&run->result, PROBE_TCP_EXPECT_MISMATCH,
		    "no match for /%s/ in the first %d bytes", re,
		    TCP_REPLY_MAX);
	else
		return;
	tcp_finish(t);
}

/* The one fd callback: one handler per state. */
static void
tcp_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct tcp_run	*t = arg;

	(void)loop;
	(void)fd;
	(void)events;
	switch (t->state) {
	case TCP_CONNECTING:
		tcp_on_connect(t);
		break;
	case TCP_SENDING:
		tcp_on_send(t);
		break;
	case TCP_READING:
		tcp_on_read(t);
		break;
	default:
		break;
	}
}

/* ---- probe_ops -------------------------------------------------------- */

static int
tcp_start(struct probe_run *run)
{
	const struct tcp_conf	*tc = run->check->kind_conf;
	struct tcp_run		*t;
	struct sockaddr_storage	 ss;

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->conf = tc;
	t->fd = -1;
	run->priv = t;
	if (tc->family != AF_UNSPEC && run->check->ip_family != AF_UNSPEC &&
	    tc->family != run->check->ip_family) {
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: IPv%d literal where IPv%d is required",
		    tc->host, tc->family == AF_INET ? 4 : 6,
		    run->check->ip_family == AF_INET ? 4 : 6);
		goto fail;
	}
	if (tc->family != AF_UNSPEC) {
		memcpy(&ss, &tc->addr, sizeof(tc->addr));
		if (tcp_connect(t, &ss, run->started) == -1)
			goto fail;
		return 0;
	}
	if (run->resolver == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "resolve %s: no resolver", tc->host);
		goto fail;
	}
	tcp_set_state(t, TCP_RESOLVING);
	t->query = resolver_lookup(run->resolver, tc->host,
	    run->check->ip_family, tcp_resolved, t);
	return 0;
fail:
	tcp_cleanup(run);
	return -1;
}

/* The deadline passed: say what we were waiting for, then release. */
static void
tcp_expire(struct probe_run *run)
{
	struct tcp_run		*t = run->priv;
	struct probe_result	*res = &run->result;
	char			 d[32], q[TCP_QUOTE_BUF];

	if (t == NULL)
		return;
	/* The deadline is start + timeout: say the timeout people set. */
	tcp_duration_str(run->check->timeout_ms * 1000, d, sizeof(d));
	switch (t->state) {
	case TCP_RESOLVING:
		probe_result_set(res, PROBE_RESOLVE_FAILED,
		    "resolve %s: no answer within %s", t->conf->host, d);
		break;
	case TCP_CONNECTING:
		probe_result_set(res, PROBE_CONNECT_TIMEOUT,
		    "connect to %s: no answer within %s", res->tcp.address, d);
		break;
	case TCP_SENDING:
		probe_result_set(res, PROBE_TIMEOUT,
		    "send to %s: %zu of %zu bytes sent within %s",
		    res->tcp.address, t->sent, (size_t)t->conf->sendlen, d);
		break;
	case TCP_READING:
		probe_result_set(res, PROBE_TIMEOUT,
		    "no reply matching /%s/ within %s (got %zu bytes%s%s)",
		    pattern_source(t->conf->reply), d, t->len,
		    t->len > 0 ? ": " : "", t->len > 0 ?
		    tcp_quote(t->buf, t->len, q, sizeof(q)) : "");
		break;
	default:
		break;
	}
	tcp_cleanup(run);
}

/* "tcp": {"address": "127.0.0.1:5432"}, when a connect was attempted. */
static int
tcp_result_json(const struct probe_result *res, json_t *root)
{
	json_t	*tcp;

	if (res->tcp.address[0] == '\0')
		return 0;
	if ((tcp = json_object()) == NULL)
		return -1;
	if (result_json_set_string(tcp, "address", res->tcp.address) == -1) {
		json_decref(tcp);
		return -1;
	}
	return json_object_set_new(root, "tcp", tcp);
}

static const struct probe_family tcp_families[] = {
	{ "probe_ip_protocol", "gauge",
	    "Specifies whether probe ip protocol is IP4 or IP6" },
	{ NULL, NULL, NULL }
};

/* probe_ip_protocol, as blackbox_exporter: 4 or 6, once connected. */
static void
tcp_metrics_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	if (fam != 0 || res->tcp.address[0] == '\0')
		return;
	emit(arg, NULL, res->tcp.address[0] == '[' ? 6 : 4);
}

/* Replaces key in g with a new setting of type; returns it or NULL. */
static config_setting_t *
tcp_replace(config_setting_t *g, const char *key, int type)
{
	if (config_setting_get_member(g, key) != NULL)
		config_setting_remove(g, key);
	return config_setting_add(g, key, type);
}

/*
 * A blackbox tcp target: "host:port", "[v6]:port", or a bare host or
 * IPv6 literal, the port then coming from the module.
 */
static int
tcp_target_apply(config_setting_t *g, const char *target, char *err,
    size_t errlen)
{
	const char		*colon = strrchr(target, ':');
	char			*host, *end;
	long			 port = -1;
	config_setting_t	*s;

	if (target[0] == '[' && colon != NULL && colon > target &&
	    colon[-1] == ']')
		host = xstrndup(target + 1, (size_t)(colon - target - 2));
	else if (colon != NULL && strchr(target, ':') == colon)
		host = xstrndup(target, (size_t)(colon - target));
	else {
		host = xstrdup(target);
		colon = NULL;
	}
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || errno != 0 ||
		    port < 1 || port > 65535) {
			snprintf(err, errlen, "target \"%s\": the port must be "
			    "1 to 65535", target);
			free(host);
			return -1;
		}
	}
	s = tcp_replace(g, "host", CONFIG_TYPE_STRING);
	config_setting_set_string(s, host);
	free(host);
	if (port != -1) {
		s = tcp_replace(g, "port", CONFIG_TYPE_INT);
		config_setting_set_int(s, (int)port);
	}
	return 0;
}

const struct probe_ops tcp_probe_ops = {
	.kind = "tcp",
	.conf_keys = tcp_conf_keys,
	.conf_parse = tcp_conf_parse,
	.conf_free = tcp_conf_free,
	.start = tcp_start,
	.expire = tcp_expire,
	.abort = tcp_cleanup,
	.result_json = tcp_result_json,
	.families = tcp_families,
	.metrics_write = tcp_metrics_write,
	.target_apply = tcp_target_apply,
	.target_example = "127.0.0.1:1",
};
