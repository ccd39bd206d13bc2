/* SPDX-License-Identifier: ISC */
/*
 * resolver: A/AAAA lookups on one c-ares channel driven by the loop.
 *
 * This module owns the channel, the loop registrations of the sockets
 * c-ares opens (through its socket-state callback), one timer for c-ares'
 * retransmissions, one timer that delivers answers, and every query until
 * its callback has run or it was cancelled.  It does not own the loop, the
 * callers' arguments, or the policy of what to do with an address: it only
 * answers "which addresses, of which family, or why none".
 *
 * IP literals and "localhost" never reach c-ares: they are answered here,
 * through the same queue, so a check on 127.0.0.1 costs no DNS machinery.
 *
 * Why answers go through a queue: c-ares may call our callback inside
 * ares_getaddrinfo() (hosts file, IP literal, a send that fails at once)
 * or inside ares_process_fd(); running the caller's callback there would
 * re-enter the caller (resolver_lookup() must never call back) or c-ares
 * (the caller may start or cancel lookups).  So the c-ares callback only
 * records the answer and queues it, and a 0-delay loop timer delivers the
 * queue from the loop, outside any c-ares call.  The AAAA fallback of the
 * AF_UNSPEC policy is queued the same way, so c-ares is never re-entered
 * from its own callback.
 *
 * Family policy (resolver.h): AF_UNSPEC asks for A records first and asks
 * for AAAA only when the name exists without an A record (ARES_ENODATA, or
 * success with no address).  NXDOMAIN, a timeout or a server failure on
 * the A lookup is the answer: the name does not exist, or DNS is broken,
 * and asking for AAAA would only double the time to say so.
 *
 * Lookups use "fb" (hosts file, then DNS) and ARES_AI_NOSORT: the RFC 6724
 * sort connects a UDP socket per address, and a probe wants the server's
 * order anyway (the caller picks the first address).
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ares.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "loop.h"
#include "resolver.h"
#include "xmalloc.h"

#define RESOLVER_ON_FREE_MAX	4

enum resolver_qstate {
	RESOLVER_Q_ARES,	/* inside c-ares; its callback is pending */
	RESOLVER_Q_RETRY6,	/* no A record: the AAAA lookup is queued */
	RESOLVER_Q_READY,	/* answered; delivery is queued */
	RESOLVER_Q_DELIVERING	/* the caller's callback is running */
};

struct resolver_query {
	TAILQ_ENTRY(resolver_query) entry;	/* on r->ready when queued */
	struct resolver		*r;
	resolver_cb		 cb;
	void			*arg;
	enum resolver_qstate	 state;
	int			 family;	/* what the caller asked for */
	int			 asking;	/* the current c-ares lookup */
	bool			 cancelled;	/* detached while in c-ares */
	struct resolver_answer	 ans;
	char			 host[];
};

TAILQ_HEAD(resolver_queue, resolver_query);

struct resolver {
	struct loop		*loop;
	ares_channel		 channel;
	struct loop_timer	 ares_timer;	/* c-ares' next timeout */
	struct loop_timer	 deliver_timer;	/* 0-delay: r->ready */
	struct resolver_queue	 ready;
	size_t			 nready;
	size_t			 nares;		/* lookups inside c-ares */
	struct resolver_fds	 fds;		/* sockets watched for c-ares */
	struct {
		void	(*cb)(void *);
		void	*arg;
	}			 on_free[RESOLVER_ON_FREE_MAX];
	size_t			 non_free;
	bool			 delivering;	/* in resolver_deliver() */
	bool			 dying;		/* resolver_free() was called */
};

/* c-ares status -> our status and the words a person reads. */
static const struct {
	int			 ares;
	enum resolver_status	 status;
	const char		*text;
} resolver_errors[] = {
	{ ARES_ENOTFOUND, RESOLVER_NOT_FOUND, "no such host" },
	{ ARES_ETIMEOUT, RESOLVER_FAILED, "DNS server did not answer" },
	{ ARES_ECONNREFUSED, RESOLVER_FAILED,
	    "DNS server refused or failed the query" },
	{ ARES_ESERVFAIL, RESOLVER_FAILED, "DNS server failure (SERVFAIL)" },
	{ ARES_EREFUSED, RESOLVER_FAILED,
	    "DNS server refused the query (REFUSED)" },
	{ ARES_EFORMERR, RESOLVER_FAILED,
	    "DNS server rejected the query (FORMERR)" },
	{ ARES_ENOTIMP, RESOLVER_FAILED,
	    "DNS server does not support the query (NOTIMP)" },
	{ ARES_EBADRESP, RESOLVER_FAILED, "malformed answer from DNS server" },
	{ ARES_EBADNAME, RESOLVER_FAILED, "not a valid host name" },
	{ ARES_ENOMEM, RESOLVER_FAILED, "out of memory" },
};

static void	resolver_ask(struct resolver_query *, int);

static const char *
resolver_family_str(int family)
{
	switch (family) {
	case AF_INET:
		return "no IPv4 address (A)";
	case AF_INET6:
		return "no IPv6 address (AAAA)";
	default:
		return "no address (A or AAAA)";
	}
}

static void
resolver_set_error(struct resolver_query *q, int status)
{
	struct resolver_answer	*ans = &q->ans;
	size_t			 i;

	ans->naddrs = 0;
	if (status == ARES_ENODATA || status == ARES_SUCCESS) {
		ans->status = RESOLVER_NO_ADDRESS;
		snprintf(ans->error, sizeof(ans->error), "%s",
		    resolver_family_str(q->family));
		return;
	}
	for (i = 0; i < sizeof(resolver_errors) / sizeof(resolver_errors[0]);
	    i++) {
		if (resolver_errors[i].ares != status)
			continue;
		ans->status = resolver_errors[i].status;
		snprintf(ans->error, sizeof(ans->error), "%s",
		    resolver_errors[i].text);
		return;
	}
	ans->status = RESOLVER_FAILED;
	snprintf(ans->error, sizeof(ans->error), "DNS lookup failed: %s",
	    ares_strerror(status));
}

/* ---- address literals ------------------------------------------------ */

static int
resolver_literal6(char *buf, struct sockaddr_in6 *sin6)
{
	char		*scope;
	unsigned long	 idx = 0;

	if ((scope = strchr(buf, '%')) != NULL) {
		*scope++ = '\0';
		if ((idx = if_nametoindex(scope)) == 0) {
			char	*end;

			idx = strtoul(scope, &end, 10);
			if (*scope == '\0' || *end != '\0' || idx == 0 ||
			    idx > UINT32_MAX)
				return AF_UNSPEC;
		}
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return AF_UNSPEC;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_scope_id = (uint32_t)idx;
	return AF_INET6;
}

int
resolver_literal(const char *host, struct sockaddr_storage *ss)
{
	char		 buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	const char	*p = host;
	size_t		 len = strlen(host);
	int		 family;

	memset(ss, 0, sizeof(*ss));
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		p++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return AF_UNSPEC;
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (p == host && inet_pton(AF_INET, buf,
	    &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return AF_INET;
	}
	family = resolver_literal6(buf, (struct sockaddr_in6 *)ss);
	if (family == AF_UNSPEC)
		memset(ss, 0, sizeof(*ss));
	return family;
}

/* Appends v in decimal at p; returns the end. */
static char *
resolver_put_uint(char *p, unsigned v)
{
	char	d[8];
	int	n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

/*
 * "a.b.c.d:port" by hand: every tcp, http and tls probe formats its
 * address, and inet_ntop plus snprintf cost about 2,800 instructions
 * where this costs under 200 (callgrind, issue #9).  Cut like snprintf.
 */
static void
resolver_ipv4_str(const struct sockaddr_in *sin, char *buf, size_t buflen)
{
	const uint8_t	*a = (const uint8_t *)&sin->sin_addr;
	char		 tmp[sizeof("255.255.255.255:65535")], *p = tmp;
	size_t		 n;
	int		 i;

	for (i = 0; i < 4; i++) {
		p = resolver_put_uint(p, a[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	p = resolver_put_uint(p, ntohs(sin->sin_port));
	if (buflen == 0)
		return;
	n = (size_t)(p - tmp) < buflen ? (size_t)(p - tmp) : buflen - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

const char *
resolver_addr_str(const struct sockaddr_storage *ss, char *buf,
    size_t buflen)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 ip[INET6_ADDRSTRLEN];
	char				 scope[IF_NAMESIZE + 1] = "";

	if (ss->ss_family == AF_INET) {
		resolver_ipv4_str(sin, buf, buflen);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		if (sin6->sin6_scope_id != 0 &&
		    if_indextoname(sin6->sin6_scope_id, scope + 1) != NULL)
			scope[0] = '%';
		else if (sin6->sin6_scope_id != 0)
			snprintf(scope, sizeof(scope), "%%%u",
			    (unsigned)sin6->sin6_scope_id);
		snprintf(buf, buflen, "[%s%s]:%u", ip, scope,
		    ntohs(sin6->sin6_port));
	} else
		snprintf(buf, buflen, "(no address)");
	return buf;
}

/*
 * RFC 6761 §6.3: "localhost" is the loopback address, always, without the
 * hosts file or DNS.  (c-ares 1.18.1 does the same after a hosts-file
 * miss, but leaks the name on that path: AAAA for localhost on a host
 * whose /etc/hosts has no "::1 localhost" line.)
 */
static int
resolver_localhost(const char *host, int family,
    struct sockaddr_storage *ss)
{
	if (strcasecmp(host, "localhost") != 0 &&
	    strcasecmp(host, "localhost.") != 0)
		return AF_UNSPEC;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
		return AF_INET6;
	}
	ss->ss_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return AF_INET;
}

/* Answers q without DNS (a literal, localhost); -1 when DNS must. */
static int
resolver_answer_local(struct resolver_query *q)
{
	struct resolver_answer	*ans = &q->ans;
	int			 family;

	family = resolver_literal(q->host, &ans->addrs[0]);
	if (family == AF_UNSPEC)
		family = resolver_localhost(q->host, q->family,
		    &ans->addrs[0]);
	if (family == AF_UNSPEC)
		return -1;
	if (q->family != AF_UNSPEC && q->family != family) {
		memset(&ans->addrs[0], 0, sizeof(ans->addrs[0]));
		ans->status = RESOLVER_NO_ADDRESS;
		snprintf(ans->error, sizeof(ans->error),
		    "%s literal where IPv%d is required",
		    family == AF_INET ? "IPv4" : "IPv6",
		    q->family == AF_INET ? 4 : 6);
		return 0;
	}
	ans->status = RESOLVER_OK;
	ans->naddrs = 1;
	return 0;
}

/* ---- the delivery queue ---------------------------------------------- */

static void
resolver_enqueue(struct resolver *r, struct resolver_query *q)
{
	TAILQ_INSERT_TAIL(&r->ready, q, entry);
	r->nready++;
	if (!loop_timer_armed(&r->deliver_timer))
		loop_timer_after(r->loop, &r->deliver_timer, 0);
}

static void
resolver_dequeue(struct resolver *r, struct resolver_query *q)
{
	TAILQ_REMOVE(&r->ready, q, entry);
	r->nready--;
}

static void
resolver_destroy(struct resolver *r)
{
	resolver_fds_clear(&r->fds);
	free(r);
}

/*
 * Runs the callbacks queued when this pass began (later ones re-arm the
 * timer).  A callback may look up, cancel, or free the resolver.
 */
static void
resolver_deliver(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct resolver		*r = arg;
	struct resolver_query	*q;
	size_t			 n = r->nready;

	(void)loop;
	(void)timer;
	r->delivering = true;
	while (n-- > 0 && !r->dying && (q = TAILQ_FIRST(&r->ready)) != NULL) {
		resolver_dequeue(r, q);
		if (q->state == RESOLVER_Q_RETRY6) {
			resolver_ask(q, AF_INET6);
			continue;
		}
		q->state = RESOLVER_Q_DELIVERING;
		q->cb(&q->ans, q->arg);
		free(q);
	}
	r->delivering = false;
	if (r->dying)
		resolver_destroy(r);
}

/* ---- c-ares callbacks ------------------------------------------------ */

static bool
resolver_want_aaaa(const struct resolver_query *q, int status,
    const struct ares_addrinfo *ai)
{
	if (q->family != AF_UNSPEC || q->asking != AF_INET)
		return false;
	return status == ARES_ENODATA || (status == ARES_SUCCESS &&
	    (ai == NULL || ai->nodes == NULL));
}

static void
resolver_fill(struct resolver_query *q, int status,
    const struct ares_addrinfo *ai)
{
	struct resolver_answer		*ans = &q->ans;
	const struct ares_addrinfo_node	*n;
	struct sockaddr_storage		*ss;

	for (n = ai != NULL ? ai->nodes : NULL; n != NULL &&
	    ans->naddrs < RESOLVER_MAX_ADDRS; n = n->ai_next) {
		if (n->ai_family != q->asking || n->ai_addr == NULL ||
		    (size_t)n->ai_addrlen > sizeof(*ss))
			continue;
		ss = &ans->addrs[ans->naddrs++];
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, n->ai_addr, n->ai_addrlen);
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)ss)->sin6_port = 0;
	}
	if (status == ARES_SUCCESS && ans->naddrs > 0)
		ans->status = RESOLVER_OK;
	else
		resolver_set_error(q, status);
}

static void
resolver_ares_done(void *arg, int status, int timeouts,
    struct ares_addrinfo *ai)
{
	struct resolver_query	*q = arg;
	struct resolver		*r = q->r;

	(void)timeouts;
	r->nares--;
	if (q->cancelled || r->dying || status == ARES_EDESTRUCTION) {
		ares_freeaddrinfo(ai);
		free(q);
		return;
	}
	if (resolver_want_aaaa(q, status, ai))
		q->state = RESOLVER_Q_RETRY6;
	else {
		resolver_fill(q, status, ai);
		q->state = RESOLVER_Q_READY;
	}
	ares_freeaddrinfo(ai);
	resolver_enqueue(r, q);
}

/* May complete synchronously: resolver_ares_done() only queues. */
static void
resolver_ask(struct resolver_query *q, int family)
{
	struct ares_addrinfo_hints	hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_flags = ARES_AI_NOSORT;
	q->asking = family;
	q->state = RESOLVER_Q_ARES;
	q->r->nares++;
	ares_getaddrinfo(q->r->channel, q->host, NULL, &hints,
	    resolver_ares_done, q);
}

/* ---- c-ares on the loop ---------------------------------------------- */

static void
resolver_fd_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct resolver	*r = arg;
	ares_socket_t	 rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	(void)loop;
	/* An error or hangup is read by c-ares, which then sees why. */
	if (events & (LOOP_READ | LOOP_ERROR))
		rfd = fd;
	if (events & LOOP_WRITE)
		wfd = fd;
	ares_process_fd(r->channel, rfd, wfd);
}

void
resolver_fds_update(struct resolver_fds *f, int fd, int readable, int writable)
{
	unsigned	events = (readable ? LOOP_READ : 0) |
			    (writable ? LOOP_WRITE : 0);
	size_t		i;

	for (i = 0; i < f->nfds && f->fds[i] != fd; i++)
		continue;
	if (i < f->nfds) {
		if (events == 0) {
			loop_fd_del(f->loop, fd);
			f->fds[i] = f->fds[--f->nfds];
		} else if (loop_fd_mod(f->loop, fd, events) == -1)
			log_warn(f->token, "watch DNS socket %d", fd);
		return;
	}
	if (events == 0)
		return;
	if (loop_fd_add(f->loop, fd, events, f->cb, f->arg) == -1) {
		/* Its queries then end in a c-ares timeout. */
		log_warn(f->token, "watch DNS socket %d", fd);
		return;
	}
	if (f->nfds == f->fdcap) {
		f->fdcap = f->fdcap == 0 ? 4 : f->fdcap * 2;
		f->fds = xreallocarray(f->fds, f->fdcap, sizeof(*f->fds));
	}
	f->fds[f->nfds++] = fd;
}

void
resolver_fds_clear(struct resolver_fds *f)
{
	while (f->nfds > 0)
		loop_fd_del(f->loop, f->fds[--f->nfds]);
	free(f->fds);
	f->fds = NULL;
	f->fdcap = 0;
}

static void
resolver_sock_state(void *data, ares_socket_t fd, int readable,
    int writable)
{
	struct resolver	*r = data;

	resolver_fds_update(&r->fds, fd, readable, writable);
}

static void
resolver_ares_timeout(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct resolver	*r = arg;

	(void)loop;
	(void)timer;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/*
 * Before every sleep: arm the timer for c-ares' next retransmission or
 * timeout.  ares_timeout() rounds down to ms, so 1 ms is added rather
 * than waking early and spinning; a later timer is only moved earlier (an
 * early expiry is harmless: c-ares finds nothing due and we re-arm).
 */
static void
resolver_prepare(struct loop *loop, void *arg)
{
	struct resolver	*r = arg;
	struct timeval	 tv, *tvp;
	int64_t		 due;

	if (r->nares == 0) {
		loop_timer_cancel(loop, &r->ares_timer);
		return;
	}
	if ((tvp = ares_timeout(r->channel, NULL, &tv)) == NULL) {
		loop_timer_cancel(loop, &r->ares_timer);
		return;
	}
	due = loop_now(loop) + (int64_t)tvp->tv_sec * 1000000 +
	    tvp->tv_usec + 1000;
	if (!loop_timer_armed(&r->ares_timer) || due < r->ares_timer.due)
		loop_timer_at(loop, &r->ares_timer, due);
}

/* ---- public ---------------------------------------------------------- */

static int
resolver_channel(struct resolver *r, const char *servers, int timeout_ms,
    int tries, char *err, size_t errlen)
{
	static bool		 initialised;
	struct ares_options	 opts;
	char			 lookups[] = "fb";
	int			 rc;

	if (!initialised) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
			goto fail;
		initialised = true;
	}
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = resolver_sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = timeout_ms;
	opts.tries = tries;
	opts.lookups = lookups;
	rc = ares_init_options(&r->channel, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		r->channel = NULL;
		goto fail;
	}
	if (servers != NULL &&
	    (rc = ares_set_servers_ports_csv(r->channel, servers)) !=
	    ARES_SUCCESS) {
		snprintf(err, errlen, "DNS servers \"%s\": %s", servers,
		    ares_strerror(rc));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
	return -1;
}

struct resolver *
resolver_new_tuned(struct loop *loop, const char *servers, int timeout_ms,
    int tries, char *err, size_t errlen)
{
	struct resolver	*r;

	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->fds.loop = loop;
	r->fds.cb = resolver_fd_event;
	r->fds.arg = r;
	r->fds.token = "resolver";
	TAILQ_INIT(&r->ready);
	loop_timer_init(&r->ares_timer, resolver_ares_timeout, r);
	loop_timer_init(&r->deliver_timer, resolver_deliver, r);
	if (resolver_channel(r, servers, timeout_ms, tries, err, errlen) == -1)
		goto fail;
	if (loop_prepare_add(loop, resolver_prepare, r) == -1) {
		snprintf(err, errlen, "no pre-sleep hook left on the loop");
		goto fail;
	}
	return r;
fail:
	resolver_free(r);
	return NULL;
}

struct resolver *
resolver_new(struct loop *loop, const char *servers, char *err,
    size_t errlen)
{
	return resolver_new_tuned(loop, servers, RESOLVER_TIMEOUT_MS,
	    RESOLVER_TRIES, err, errlen);
}

void
resolver_free(struct resolver *r)
{
	struct resolver_query	*q;
	size_t			 i;

	if (r == NULL || r->dying)
		return;
	for (i = 0; i < r->non_free; i++)
		r->on_free[i].cb(r->on_free[i].arg);
	r->dying = true;
	/* Each pending callback runs with ARES_EDESTRUCTION and frees. */
	if (r->channel != NULL)
		ares_destroy(r->channel);
	r->channel = NULL;
	while ((q = TAILQ_FIRST(&r->ready)) != NULL) {
		resolver_dequeue(r, q);
		free(q);
	}
	resolver_fds_clear(&r->fds);
	loop_timer_cancel(r->loop, &r->ares_timer);
	loop_timer_cancel(r->loop, &r->deliver_timer);
	loop_prepare_del(r->loop, resolver_prepare, r);
	if (!r->delivering)
		resolver_destroy(r);
}

struct resolver_query *
resolver_lookup(struct resolver *r, const char *host, int family,
    resolver_cb cb, void *arg)
{
	struct resolver_query	*q;
	size_t			 len = strlen(host);

	q = xcalloc(1, sizeof(*q) + len + 1);
	memcpy(q->host, host, len + 1);
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->family = family;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
		q->ans.status = RESOLVER_FAILED;
		snprintf(q->ans.error, sizeof(q->ans.error),
		    "unsupported address family %d", family);
	} else if (resolver_answer_local(q) == -1) {
		resolver_ask(q, family == AF_INET6 ? AF_INET6 : AF_INET);
		return q;
	}
	q->state = RESOLVER_Q_READY;
	resolver_enqueue(r, q);
	return q;
}

void
resolver_cancel(struct resolver_query *q)
{
	if (q == NULL)
		return;
	switch (q->state) {
	case RESOLVER_Q_ARES:
		q->cancelled = true;	/* freed by resolver_ares_done() */
		break;
	case RESOLVER_Q_RETRY6:
	case RESOLVER_Q_READY:
		resolver_dequeue(q->r, q);
		free(q);
		break;
	case RESOLVER_Q_DELIVERING:
		break;			/* freed when its callback returns */
	}
}

int
resolver_on_free(struct resolver *r, void (*cb)(void *), void *arg)
{
	size_t	i;

	for (i = 0; i < r->non_free; i++)
		if (r->on_free[i].cb == cb && r->on_free[i].arg == arg)
			return 0;
	if (r->non_free == RESOLVER_ON_FREE_MAX)
		return -1;
	r->on_free[r->non_free].cb = cb;
	r->on_free[r->non_free++].arg = arg;
	return 0;
}
