/* SPDX-License-Identifier: ISC */
/*
 * tcp: the TCP check kind.  Resolve the host, connect to one address,
 * optionally send a string, optionally read until the reply matches a
 * regex, and close.
 *
 * This module owns the kind's config (struct tcp_conf, parsed once at
 * load) and, for each run, one small struct in run->priv: the connection
 * (a struct netconn: the socket and the pending resolver query) and, only
 * when expect is set, the reply buffer.
 * Everything a run holds is released by one idempotent tcp_cleanup(),
 * whichever way the run ends (done, expire, abort).  It does not own the
 * run, its deadline (probe.c arms it and calls expire()), the resolver or
 * the loop.
 *
 * The connection itself (the host key, resolve-or-literal, the
 * non-blocking connect, its failures, the close) is netconn's, embedded in
 * the run: see netconn.c for the address policy (the first address the
 * resolver returns, and no other) and the close policy (RST by default, so
 * nothing is left in TIME_WAIT; close = "graceful" sends FIN).
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

#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "log.h"
#include "loop.h"
#include "netconn.h"
#include "pattern.h"
#include "probe.h"
#include "tcp.h"
#include "xmalloc.h"

#define TCP_REPLY_MAX		16384	/* bytes read while matching */
#define TCP_REPLY_FIRST		1024	/* first buffer; doubled as needed */
#define TCP_QUOTE_MAX		48	/* reply bytes quoted in a message */
#define TCP_QUOTE_BUF		PROBE_QUOTE_BUF(TCP_QUOTE_MAX)

/* Kept small: a config of 10,000 checks holds 10,000 of these. */
struct tcp_conf {
	struct pattern		*reply;		/* NULL: expect nothing */
	char			*send;		/* NULL: send nothing */
	uint32_t		 sendlen;
	struct netconn_conf	 net;		/* host, port, close */
};

/* TCP_CONNECTING: netconn resolves and connects. */
enum tcp_state {
	TCP_CONNECTING,
	TCP_SENDING,
	TCP_READING,
	TCP_STATE_LAST
};

static const char *const tcp_state_names[] = {
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
	struct netconn		 net;
	enum tcp_state		 state;
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

static void	tcp_connected(void *, int);
static void	tcp_io(void *, unsigned);

static const struct netconn_ops tcp_netconn_ops = {
	.token = "probe/tcp",
	.connected = tcp_connected,
	.io = tcp_io,
};

/* ---- config ----------------------------------------------------------- */

static void
tcp_conf_free(void *kind_conf)
{
	struct tcp_conf	*tc = kind_conf;

	if (tc == NULL)
		return;
	free(tc->send);
	pattern_free(tc->reply);
	netconn_conf_clear(&tc->net);
	free(tc);
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

static int
tcp_conf_parse(struct confread *cr, const struct config_setting_t *group,
    struct check_conf *check)
{
	struct tcp_conf		*tc;
	struct netconn_conf	 net;
	struct pattern		*reply = NULL;
	char			*send = NULL;
	int64_t			 port = 0;
	int			 nerrors = cr->nerrors;
	int			 close_policy = NETCONN_CLOSE_RESET;

	netconn_conf_host(cr, group, check, &net);
	confread_int(cr, group, "port", true, 1, 65535, &port);
	confread_string(cr, group, "send", false, &send);
	tcp_conf_expect(cr, group, &reply);
	confread_enum(cr, group, "close", false, tcp_close_names,
	    &close_policy);
	if (cr->nerrors != nerrors)
		goto fail;
	tc = xcalloc(1, sizeof(*tc));
	tc->net = net;
	tc->net.close = (uint8_t)close_policy;
	netconn_conf_port(&tc->net, (int)port, check);
	tc->reply = reply;
	if (send != NULL && send[0] != '\0') {
		tc->send = send;
		tc->sendlen = (uint32_t)strlen(send);
	} else
		free(send);
	check->kind_conf = tc;
	return 0;
fail:
	netconn_conf_clear(&net);
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

/* Releases everything the run holds; idempotent. */
static void
tcp_cleanup(struct probe_run *run)
{
	struct tcp_run	*t = run->priv;

	if (t == NULL)
		return;
	run->priv = NULL;
	netconn_close(&t->net);
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
		    t->len, probe_quote(t->buf, t->len, TCP_QUOTE_MAX, q,
		    sizeof(q)), re);
}

/* ---- a run: the states ------------------------------------------------ */

static void
tcp_read_start(struct tcp_run *t)
{
	if (netconn_watch(&t->net, LOOP_READ) == -1) {
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

	n = send(t->net.fd, tc->send + t->sent, tc->sendlen - t->sent,
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

/* netconn's report: connected, or failed with the result set. */
static void
tcp_connected(void *arg, int rc)
{
	struct tcp_run	*t = arg;

	if (rc == -1) {
		tcp_finish(t);
		return;
	}
	t->mark = t->net.mark;
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
	n = recv(t->net.fd, t->buf + t->len, t->cap - t->len, 0);
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

/* The socket after the connect: one handler per state. */
static void
tcp_io(void *arg, unsigned events)
{
	struct tcp_run	*t = arg;

	(void)events;
	switch (t->state) {
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
	struct tcp_run	*t;

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->conf = run->check->kind_conf;
	run->priv = t;
	netconn_init(&t->net, run, &t->conf->net, &tcp_netconn_ops, t);
	if (netconn_start(&t->net) == -1) {
		tcp_cleanup(run);
		return -1;
	}
	return 0;
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
	if (netconn_expire(&t->net)) {
		tcp_cleanup(run);
		return;
	}
	/* The deadline is start + timeout: say the timeout people set. */
	probe_format_duration(run->check->timeout_ms * 1000, d, sizeof(d));
	switch (t->state) {
	case TCP_SENDING:
		probe_result_set(res, PROBE_TIMEOUT,
		    "send to %s: %zu of %zu bytes sent within %s",
		    res->tcp.address, t->sent, (size_t)t->conf->sendlen, d);
		break;
	case TCP_READING:
		probe_result_set(res, PROBE_TIMEOUT,
		    "no reply matching /%s/ within %s (got %zu bytes%s%s)",
		    pattern_source(t->conf->reply), d, t->len,
		    t->len > 0 ? ": " : "", t->len > 0 ? probe_quote(t->buf,
		    t->len, TCP_QUOTE_MAX, q, sizeof(q)) : "");
		break;
	default:
		break;
	}
	tcp_cleanup(run);
}

static const struct probe_family tcp_families[] = {
	{ "probe_ip_protocol", "gauge",
	    "Specifies whether probe ip protocol is IP4 or IP6" },
	{ "probe_ip_addr_hash", "gauge",
	    "Specifies the hash of IP address" },
	{ NULL, NULL, NULL }
};

/*
 * probe_ip_protocol, as blackbox_exporter: 4 or 6, once connected; and
 * probe_ip_addr_hash of that address.
 */
static void
tcp_metrics_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	double	hash;

	if (res->tcp.address[0] == '\0')
		return;
	if (fam == 0)
		emit(arg, NULL, res->tcp.address[0] == '[' ? 6 : 4);
	else if (fam == 1 && probe_address_hash(res->tcp.address, &hash) == 0)
		emit(arg, NULL, hash);
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
int
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
	.result_json = netconn_result_json,
	.families = tcp_families,
	.metrics_write = tcp_metrics_write,
	.target_apply = tcp_target_apply,
	.target_example = "127.0.0.1:1",
};
