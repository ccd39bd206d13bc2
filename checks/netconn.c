/* SPDX-License-Identifier: ISC */
/*
 * netconn: the TCP connection under the tcp and tls check kinds, from the
 * 'host' key to the close.
 *
 * This module owns the 'host' key's parsing (struct netconn_conf, inside
 * the kind's config) and, for a run, the resolver query, the socket and
 * their phases: resolve, connect, the failures of both (with their reason
 * codes and messages) and the expire text for them, and the close.  It
 * lives inside the kind's run state (struct netconn is embedded: no
 * allocation here).  It does not own the run, its deadline or its
 * completion (the kind calls probe_run_done()), nor anything after the
 * connect: the kind is called back for the socket's readiness.
 *
 * Address policy: connect to the FIRST address the resolver returns (in
 * the DNS answer's order; the family follows ip_version, see resolver.h)
 * and to no other.  One probe, one address: a failure names the address
 * that failed (result.tcp.address), and a dead backend is not hidden by a
 * live one.  To watch every backend, define one check each.  An address
 * literal is parsed at config load and never goes through the resolver
 * (no allocation, no timer, no resolve phase).
 *
 * Close policy: by default the socket is closed with SO_LINGER {1, 0},
 * which sends RST and leaves nothing in TIME_WAIT.  sonde is the side that
 * closes first, so a normal close (FIN) would park every probe's socket in
 * TIME_WAIT on the agent's host for 60 s (Linux's fixed TIME_WAIT; 2 MSL
 * in RFC 9293 section 3.6): at 1,000 probes/s that is 60,000 sockets, more
 * than the default ephemeral port range (28,232 ports) towards one
 * target, and connects start to fail with EADDRNOTAVAIL.  The graceful
 * policy sends FIN instead (shutdown(SHUT_WR), then close) for servers
 * that log resets as errors; it is fine at ordinary rates.  Even then the
 * kernel resets a connection closed with unread data (RFC 1122 section
 * 4.2.2.13).  A socket that never connected is simply closed.
 *
 * Cost: with a literal, socket(), connect(), one epoll_ctl ADD, the
 * wakeup, getsockopt(SO_ERROR), then the kind's I/O, one epoll_ctl DEL,
 * setsockopt(SO_LINGER), close(): the minimum of a non-blocking connect
 * plus the RST policy.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "log.h"
#include "loop.h"
#include "netconn.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "xmalloc.h"

static const char *const netconn_state_names[] = {
	[NETCONN_IDLE] = "idle",
	[NETCONN_RESOLVING] = "resolving",
	[NETCONN_CONNECTING] = "connecting",
	[NETCONN_CONNECTED] = "connected",
};
_Static_assert(sizeof(netconn_state_names) / sizeof(netconn_state_names[0])
    == NETCONN_STATE_LAST, "netconn_state_names out of step with the enum");

static void	netconn_event(struct loop *, int, unsigned, void *);

/* ---- config ----------------------------------------------------------- */

int
netconn_conf_host(struct confread *cr, const struct config_setting_t *group,
    const struct check_conf *check, struct netconn_conf *nc)
{
	const config_setting_t	*s = config_setting_get_member(group, "host");
	struct sockaddr_storage	 ss;
	char			*host = NULL;
	size_t			 len;
	int			 family, n = cr->nerrors;

	memset(nc, 0, sizeof(*nc));
	if (confread_string(cr, group, "host", true, &host) != 1)
		return -1;
	len = strlen(host);
	family = resolver_literal(host, &ss);
	if (family == AF_INET6 && host[0] == '[') {
		memmove(host, host + 1, len - 2);
		host[len - 2] = '\0';
	}
	if (len == 0)
		confread_error(cr, s, "'host' must not be empty");
	else if (family == AF_UNSPEC && strpbrk(host, ":[]/") != NULL)
		confread_error(cr, s, "'host' \"%s\" is not a host name or "
		    "address (the port goes in 'port')", host);
	else if (family == AF_UNSPEC && len > 253)	/* RFC 1035 2.3.4 */
		confread_error(cr, s, "'host' is %zu characters long; a host "
		    "name has at most 253", len);
	else if (family != AF_UNSPEC && check->ip_family != AF_UNSPEC &&
	    family != check->ip_family)
		confread_error(cr, s, "'host' %s is an IPv%d address but "
		    "ip_version is \"%d\"", host, family == AF_INET ? 4 : 6,
		    check->ip_family == AF_INET ? 4 : 6);
	if (cr->nerrors != n) {
		free(host);
		return -1;
	}
	nc->host = host;
	nc->family = (uint8_t)family;
	if (family == AF_INET)
		memcpy(&nc->addr.sin, &ss, sizeof(nc->addr.sin));
	else if (family == AF_INET6)
		memcpy(&nc->addr.sin6, &ss, sizeof(nc->addr.sin6));
	return 0;
}

void
netconn_conf_port(struct netconn_conf *nc, int port, struct check_conf *check)
{
	nc->port = (uint16_t)port;
	if (nc->family == AF_INET)
		nc->addr.sin.sin_port = htons(nc->port);
	else if (nc->family == AF_INET6)
		nc->addr.sin6.sin6_port = htons(nc->port);
	if (nc->family == AF_INET6)
		check->target = xasprintf("[%s]:%d", nc->host, port);
	else
		check->target = xasprintf("%s:%d", nc->host, port);
}

void
netconn_conf_clear(struct netconn_conf *nc)
{
	free(nc->host);
	nc->host = NULL;
}

/* ---- a run ------------------------------------------------------------ */

const char *
netconn_state_str(enum netconn_state state)
{
	return netconn_state_names[state];
}

static void
netconn_set_state(struct netconn *nc, enum netconn_state state)
{
	log_debug(nc->ops->token, "check \"%s\": %s -> %s",
	    nc->run->check->name, netconn_state_names[nc->state],
	    netconn_state_names[state]);
	nc->state = state;
}

void
netconn_init(struct netconn *nc, struct probe_run *run,
    const struct netconn_conf *conf, const struct netconn_ops *ops, void *arg)
{
	memset(nc, 0, sizeof(*nc));
	nc->run = run;
	nc->conf = conf;
	nc->ops = ops;
	nc->arg = arg;
	nc->fd = -1;
	nc->state = NETCONN_IDLE;
}

void
netconn_close(struct netconn *nc)
{
	struct linger	lg = { 1, 0 };

	resolver_cancel(nc->query);
	nc->query = NULL;
	if (nc->fd == -1)
		return;
	loop_fd_del(nc->run->loop, nc->fd);
	if (nc->state == NETCONN_CONNECTED) {
		if (nc->conf->close == NETCONN_CLOSE_RESET)
			(void)setsockopt(nc->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		else
			(void)shutdown(nc->fd, SHUT_WR);
	}
	close(nc->fd);
	nc->fd = -1;
}

/* Maps a connect errno to a reason code and message. */
static void
netconn_connect_error(struct netconn *nc, int err)
{
	struct probe_result	*res = &nc->run->result;

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

/* Tells the kind the connect failed; nc may be gone after. */
static void
netconn_fail(struct netconn *nc)
{
	netconn_close(nc);
	nc->ops->connected(nc->arg, -1);
}

/* Opens the socket and starts connecting; -1 with run->result set. */
static int
netconn_connect(struct netconn *nc, const struct sockaddr_storage *addr,
    int64_t now)
{
	struct probe_run	*run = nc->run;
	struct sockaddr_storage	 ss = *addr;
	socklen_t		 len;

	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(nc->conf->port);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(nc->conf->port);
		len = sizeof(struct sockaddr_in6);
	}
	resolver_addr_str(&ss, run->result.tcp.address,
	    sizeof(run->result.tcp.address));
	nc->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (nc->fd == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL, "socket: %s",
		    strerror(errno));
		return -1;
	}
	nc->mark = now;
	if (connect(nc->fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		run->result.phase[PROBE_PHASE_CONNECT] = loop_time(run->loop) -
		    now;
		netconn_connect_error(nc, errno);
		return -1;
	}
	if (loop_fd_add(run->loop, nc->fd, LOOP_WRITE, netconn_event,
	    nc) == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "watch socket: %s", strerror(errno));
		return -1;
	}
	nc->watching = LOOP_WRITE;
	netconn_set_state(nc, NETCONN_CONNECTING);
	return 0;
}

static void
netconn_resolved(const struct resolver_answer *ans, void *arg)
{
	struct netconn		*nc = arg;
	struct probe_run	*run = nc->run;
	int64_t			 now = loop_time(run->loop);

	nc->query = NULL;
	run->result.phase[PROBE_PHASE_RESOLVE] = now - run->started;
	if (ans->status != RESOLVER_OK) {
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: %s", nc->conf->host, ans->error);
		netconn_fail(nc);
		return;
	}
	if (netconn_connect(nc, &ans->addrs[0], now) == -1)
		netconn_fail(nc);
}

static void
netconn_on_connect(struct netconn *nc)
{
	struct probe_run	*run = nc->run;
	int64_t			 now = loop_time(run->loop);
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (getsockopt(nc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	run->result.phase[PROBE_PHASE_CONNECT] = now - nc->mark;
	if (err != 0) {
		netconn_connect_error(nc, err);
		netconn_fail(nc);
		return;
	}
	nc->mark = now;
	netconn_set_state(nc, NETCONN_CONNECTED);
	nc->ops->connected(nc->arg, 0);
}

/* The one fd callback: the connect, then the kind's I/O. */
static void
netconn_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct netconn	*nc = arg;

	(void)loop;
	(void)fd;
	if (nc->state == NETCONN_CONNECTING)
		netconn_on_connect(nc);
	else if (nc->state == NETCONN_CONNECTED)
		nc->ops->io(nc->arg, events);
}

int
netconn_start(struct netconn *nc)
{
	const struct netconn_conf	*conf = nc->conf;
	struct probe_run		*run = nc->run;
	struct sockaddr_storage		 ss;
	int				 want = run->check->ip_family;

	if (conf->family != AF_UNSPEC && want != AF_UNSPEC &&
	    conf->family != want) {
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: IPv%d literal where IPv%d is required",
		    conf->host, conf->family == AF_INET ? 4 : 6,
		    want == AF_INET ? 4 : 6);
		return -1;
	}
	if (conf->family != AF_UNSPEC) {
		memcpy(&ss, &conf->addr, sizeof(conf->addr));
		if (netconn_connect(nc, &ss, run->started) == -1)
			goto fail;
		return 0;
	}
	if (run->resolver == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "resolve %s: no resolver", conf->host);
		return -1;
	}
	netconn_set_state(nc, NETCONN_RESOLVING);
	nc->query = resolver_lookup(run->resolver, conf->host, want,
	    netconn_resolved, nc);
	return 0;
fail:
	netconn_close(nc);
	return -1;
}

int
netconn_watch(struct netconn *nc, unsigned events)
{
	if (nc->watching == events)
		return 0;
	if (loop_fd_mod(nc->run->loop, nc->fd, events) == -1) {
		probe_result_set(&nc->run->result, PROBE_INTERNAL,
		    "watch socket: %s", strerror(errno));
		return -1;
	}
	nc->watching = events;
	return 0;
}

bool
netconn_expire(struct netconn *nc)
{
	struct probe_run	*run = nc->run;
	struct probe_result	*res = &run->result;
	char			 d[32];

	if (nc->state != NETCONN_RESOLVING && nc->state != NETCONN_CONNECTING)
		return false;
	/* The deadline is start + timeout: say the timeout people set. */
	probe_format_duration(run->check->timeout_ms * 1000, d, sizeof(d));
	if (nc->state == NETCONN_RESOLVING)
		probe_result_set(res, PROBE_RESOLVE_FAILED,
		    "resolve %s: no answer within %s", nc->conf->host, d);
	else
		probe_result_set(res, PROBE_CONNECT_TIMEOUT,
		    "connect to %s: no answer within %s", res->tcp.address, d);
	return true;
}

int
netconn_result_json(const struct probe_result *res, json_t *root)
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
