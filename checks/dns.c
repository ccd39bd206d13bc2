/* SPDX-License-Identifier: ISC */
/*
 * dns: the DNS check kind.  Send one query (any type) to the check's
 * servers, or the system's, over UDP (retried over TCP when the answer is
 * truncated) or TCP; read the raw answer's header and all three sections;
 * judge the rcode, the AA flag, the records and their counts against the
 * check's expectations.
 *
 * This module owns the kind's config (struct dns_conf, with the query
 * already encoded at load), one struct dns_run per run (run->priv), and a
 * cache of c-ares channels bound to the loop.  It does not own the run,
 * its deadline (probe.c arms it and calls expire()), or the resolver (used
 * only to look up servers given by name, and as the owner of the channel
 * cache's lifetime: the cache is emptied when the resolver is freed).
 *
 * Channels.  A c-ares channel costs an ares_init_options() (which reads
 * resolv.conf and /dev/urandom), a socket and its epoll registration; per
 * probe that would cost more than the query itself.  So channels are
 * cached by what they are: (servers, UDP or TCP, per-try timeout, tries),
 * and every check with the same tuple shares one, with its UDP socket.
 * c-ares cancels per channel, not per query, so a run that ends before its
 * answer (deadline, abort) only detaches: the c-ares callback frees it
 * later.  A channel idle for DNS_CHAN_IDLE is destroyed at the next probe
 * start (not from a c-ares callback).  A channel for given servers never
 * reads resolv.conf: every option resolv.conf could set is passed.
 *
 * Flags: ARES_FLAG_NOCHECKRESP, so SERVFAIL and REFUSED reach us instead
 * of being discarded; ARES_FLAG_IGNTC, so a truncated UDP answer reaches
 * us too: the probe then records the truncation (result.dns.truncated)
 * and repeats the query over TCP itself (RFC 7766 §5), on the TCP channel
 * of the same servers.  c-ares' own TCP retry would hide that the answer
 * did not fit.  ARES_FLAG_USEVC for transport = "tcp".
 *
 * EDNS: queries carry an OPT record (RFC 6891) offering 1232-byte UDP
 * answers (the 2020 DNS flag day's value), and the channel has
 * ARES_FLAG_EDNS with that size: without it c-ares 1.18 reads UDP answers
 * into 512 bytes and the kernel cuts a larger datagram silently (found by
 * the 40-record test).  A side effect: a server that answers FORMERR
 * without an OPT record gets that query again without EDNS, once per
 * channel (c-ares then clears the flag, and later probes on the channel
 * report the FORMERR).  Servers that reject EDNS are rare enough for that.
 *
 * ARES_FLAG_STAYOPEN for UDP: without it c-ares closes the channel's
 * socket whenever no query is pending, and nearly every probe pays
 * socket(), connect(), two epoll_ctl() and close().  (The source port then
 * stays the same, so the random 16-bit ID is the only defence against
 * spoofed answers: acceptable for a prober that caches nothing.)  TCP
 * channels still close when idle, so each TCP probe times a fresh
 * connection.
 *
 * What c-ares drops silently (a reply too short for a header, one with a
 * transaction ID or question that matches no query) would look like a
 * timeout.  Our socket functions keep the first bytes of the last few
 * datagrams each channel received, and a run that times out looks there
 * for a reply to its own question: a wrong ID or a runt is then reported
 * as dns_bad_response, naming what arrived.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ares.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>

#include "config.h"
#include "dns.h"
#include "dns_conf.h"
#include "dnswire.h"
#include "log.h"
#include "loop.h"
#include "pattern.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "xmalloc.h"

#define DNS_CHAN_IDLE		(300 * 1000000LL)	/* µs */
#define DNS_RING		4	/* datagrams kept per channel */
#define DNS_RING_BYTES		300
#define DNS_LINE_MAX		512	/* one record, presentation form */


/* The first bytes of a datagram a channel received. */
struct dns_datagram {
	int64_t		at;		/* loop clock */
	size_t		len;
	uint8_t		bytes[DNS_RING_BYTES];
};

struct dns_chan {
	LIST_ENTRY(dns_chan)	 entry;
	struct loop		*loop;
	struct resolver		*owner;
	ares_channel		 channel;
	char			*servers;	/* the key: csv, "" = system */
	bool			 tcp;
	int			 timeout_ms;
	int			 tries;
	int			 pending;	/* queries inside c-ares */
	int64_t			 last_used;
	bool			 busy;		/* inside ares_process_fd */
	struct loop_timer	 timer;
	struct resolver_fds	 fds;		/* sockets watched for c-ares */
	struct dns_run		*sending;	/* inside ares_send() */
	struct dns_datagram	 ring[DNS_RING];
	unsigned		 ringpos;
};

LIST_HEAD(dns_chans, dns_chan);

enum dns_state {
	DNS_IDLE,
	DNS_RESOLVING,
	DNS_QUERYING,
	DNS_STATE_LAST
};

struct dns_run {
	struct probe_run	*run;		/* NULL once detached */
	const struct dns_conf	*conf;
	enum dns_state		 state;
	struct resolver_query	*lookup[DNS_MAX_SERVERS];
	struct dns_lookup {
		struct dns_run	*t;
		int		 i;
	}			 lk[DNS_MAX_SERVERS];
	char			 resolved[DNS_MAX_SERVERS][PROBE_ADDRESS_MAX];
	int			 nlookups;
	char			 servers[DNS_MAX_SERVERS * PROBE_ADDRESS_MAX];
	struct dns_chan		*chan;
	bool			 in_ares;	/* a c-ares callback is owed */
	bool			 over_tcp;
	int			 id;		/* query ID; -1: unknown */
	int64_t			 sent;		/* loop clock, this send */
	int64_t			 asked;		/* loop clock, first send */
	int			 sync_status;	/* failed inside ares_send() */
};

static struct dns_chans	 dns_chans = LIST_HEAD_INITIALIZER(dns_chans);

static const char *const dns_metrics[] = {
	"dns.answers", "dns.authority", "dns.additional", "dns.rcode",
	"dns.serial", NULL
};

static const char *const dns_state_names[] = {
	[DNS_IDLE] = "idle",
	[DNS_RESOLVING] = "resolving",
	[DNS_QUERYING] = "querying",
};
_Static_assert(sizeof(dns_state_names) / sizeof(dns_state_names[0]) ==
    DNS_STATE_LAST, "dns_state_names out of step with enum dns_state");

static int	dns_send(struct dns_run *, bool);
static void	dns_chan_arm(struct dns_chan *);

/* ---- channels on the loop ------------------------------------------------ */

static void
dns_chan_fd_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct dns_chan	*ch = arg;
	ares_socket_t	 rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	(void)loop;
	if (events & (LOOP_READ | LOOP_ERROR))
		rfd = fd;
	if (events & LOOP_WRITE)
		wfd = fd;
	ch->busy = true;
	ares_process_fd(ch->channel, rfd, wfd);
	ch->busy = false;
	dns_chan_arm(ch);
}

static void
dns_chan_timeout(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct dns_chan	*ch = arg;

	(void)loop;
	(void)timer;
	ch->busy = true;
	ares_process_fd(ch->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ch->busy = false;
	dns_chan_arm(ch);
}

static void
dns_chan_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_chan	*ch = data;

	resolver_fds_update(&ch->fds, fd, readable, writable);
}

/* Re-arms the c-ares timer; after every call into c-ares. */
static void
dns_chan_arm(struct dns_chan *ch)
{
	struct timeval	tv, *tvp;

	if (ch->pending == 0 ||
	    (tvp = ares_timeout(ch->channel, NULL, &tv)) == NULL) {
		loop_timer_cancel(ch->loop, &ch->timer);
		return;
	}
	/* ares_timeout() rounds down to ms: +1 ms rather than spin. */
	loop_timer_after(ch->loop, &ch->timer, (int64_t)tvp->tv_sec * 1000000 +
	    tvp->tv_usec + 1000);
}

static ares_socket_t
dns_sock_open(int domain, int type, int protocol, void *arg)
{
	(void)arg;
	return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

static int
dns_sock_close(ares_socket_t fd, void *arg)
{
	(void)arg;
	return close(fd);
}

static int
dns_sock_connect(ares_socket_t fd, const struct sockaddr *sa,
    ares_socklen_t len, void *arg)
{
	(void)arg;
	return connect(fd, sa, len);
}

/* Keeps the first bytes of each datagram: see the top of the file. */
static ares_ssize_t
dns_sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
    struct sockaddr *from, ares_socklen_t *fromlen, void *arg)
{
	struct dns_chan		*ch = arg;
	struct dns_datagram	*d;
	ssize_t			 n;

	n = recvfrom(fd, buf, len, flags, from, fromlen);
	if (n >= 0 && from != NULL) {
		d = &ch->ring[ch->ringpos++ % DNS_RING];
		d->at = loop_now(ch->loop);
		d->len = (size_t)n;
		memcpy(d->bytes, buf, (size_t)n < DNS_RING_BYTES ? (size_t)n :
		    DNS_RING_BYTES);
	}
	return n;
}

/* Learns the ID ares_send() gave the query (UDP: written at once). */
static ares_ssize_t
dns_sock_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt,
    void *arg)
{
	struct dns_chan	*ch = arg;
	const uint8_t	*p = iov[0].iov_base;

	if (ch->sending != NULL && !ch->tcp && iovcnt > 0 &&
	    iov[0].iov_len >= 2)
		ch->sending->id = p[0] << 8 | p[1];
	return writev(fd, iov, iovcnt);
}

static const struct ares_socket_functions dns_sock_funcs = {
	dns_sock_open, dns_sock_close, dns_sock_connect, dns_sock_recvfrom,
	dns_sock_sendv
};

static void
dns_chan_free(struct dns_chan *ch)
{
	LIST_REMOVE(ch, entry);
	/* Pending callbacks run now with ARES_EDESTRUCTION: detached runs. */
	if (ch->channel != NULL)
		ares_destroy(ch->channel);
	resolver_fds_clear(&ch->fds);
	loop_timer_cancel(ch->loop, &ch->timer);
	free(ch->servers);
	free(ch);
}

/* resolver_free() empties the cache of that resolver's loop. */
static void
dns_chans_free(void *arg)
{
	struct dns_chan	*ch, *next;

	for (ch = LIST_FIRST(&dns_chans); ch != NULL; ch = next) {
		next = LIST_NEXT(ch, entry);
		if (ch->owner == arg)
			dns_chan_free(ch);
	}
}

/*
 * Opens a channel.  With servers given, every option resolv.conf could
 * set is passed, so c-ares 1.18 reads no file (ares_init.c,
 * init_by_resolv_conf() returns early when all are set).
 */
static int
dns_chan_init(struct dns_chan *ch, char *err, size_t errlen)
{
	struct ares_options	 o;
	char			 lookups[] = "b";
	int			 mask, rc;

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC |
	    ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
	    (ch->tcp ? ARES_FLAG_USEVC : ARES_FLAG_STAYOPEN);
	o.ednspsz = DNS_EDNS_PAYLOAD;
	o.sock_state_cb = dns_chan_sock_state;
	o.sock_state_cb_data = ch;
	o.timeout = ch->timeout_ms;
	o.tries = ch->tries;
	o.lookups = lookups;
	o.ndots = 1;
	mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_NDOTS |
	    ARES_OPT_EDNSPSZ;
	if (ch->servers[0] != '\0')
		mask |= ARES_OPT_SERVERS | ARES_OPT_DOMAINS |
		    ARES_OPT_SORTLIST | ARES_OPT_NOROTATE;
	if ((rc = ares_init_options(&ch->channel, &o, mask)) != ARES_SUCCESS) {
		ch->channel = NULL;
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return -1;
	}
	ares_set_socket_functions(ch->channel, &dns_sock_funcs, ch);
	if (ch->servers[0] != '\0' && (rc = ares_set_servers_ports_csv(
	    ch->channel, ch->servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS servers \"%s\": %s", ch->servers,
		    ares_strerror(rc));
		return -1;
	}
	return 0;
}

/* Drops channels idle for DNS_CHAN_IDLE (never one inside a callback). */
static void
dns_chans_sweep(int64_t now)
{
	struct dns_chan	*ch, *next;

	for (ch = LIST_FIRST(&dns_chans); ch != NULL; ch = next) {
		next = LIST_NEXT(ch, entry);
		if (ch->pending == 0 && !ch->busy &&
		    now - ch->last_used > DNS_CHAN_IDLE)
			dns_chan_free(ch);
	}
}

/* Returns the channel for this tuple, opening it if needed, or NULL. */
static struct dns_chan *
dns_chan_get(struct probe_run *run, const char *servers, bool tcp,
    char *err, size_t errlen)
{
	const struct dns_conf	*dc = run->check->kind_conf;
	struct dns_chan		*ch;
	int			 n = dc->nservers > 0 ? dc->nservers : 1;
	int			 timeout_ms;

	/*
	 * c-ares waits timeout << pass on each server, pass by pass: fit all
	 * tries in 90% of the check's timeout, so its own verdict (and not
	 * our deadline) says how many tries went unanswered.
	 */
	timeout_ms = (int)(run->check->timeout_ms * 9 / 10 /
	    (n * ((1 << dc->tries) - 1)));
	if (timeout_ms < 1)
		timeout_ms = 1;
	dns_chans_sweep(loop_now(run->loop));
	LIST_FOREACH(ch, &dns_chans, entry)
		if (ch->owner == run->resolver && ch->tcp == tcp &&
		    ch->timeout_ms == timeout_ms && ch->tries == dc->tries &&
		    strcmp(ch->servers, servers) == 0)
			return ch;
	ch = xcalloc(1, sizeof(*ch));
	ch->loop = run->loop;
	ch->fds.loop = run->loop;
	ch->fds.cb = dns_chan_fd_event;
	ch->fds.arg = ch;
	ch->fds.token = "probe/dns";
	ch->owner = run->resolver;
	ch->servers = xstrdup(servers);
	ch->tcp = tcp;
	ch->timeout_ms = timeout_ms;
	ch->tries = dc->tries;
	loop_timer_init(&ch->timer, dns_chan_timeout, ch);
	LIST_INSERT_HEAD(&dns_chans, ch, entry);
	if (dns_chan_init(ch, err, errlen) == -1) {
		dns_chan_free(ch);
		return NULL;
	}
	if (resolver_on_free(run->resolver, dns_chans_free, run->resolver) ==
	    -1) {
		snprintf(err, errlen, "no free-hook slot on the resolver");
		dns_chan_free(ch);
		return NULL;
	}
	return ch;
}

/* ---- a run: cleanup and outcomes ----------------------------------------- */

static void
dns_set_state(struct dns_run *t, enum dns_state state)
{
	log_debug("probe/dns", "check \"%s\": %s -> %s", t->run->check->name,
	    dns_state_names[t->state], dns_state_names[state]);
	t->state = state;
}

/*
 * Releases everything the run holds; idempotent.  A query inside c-ares
 * cannot be cancelled alone: the run is detached, and the c-ares callback
 * frees it.
 */
static void
dns_cleanup(struct probe_run *run)
{
	struct dns_run	*t = run->priv;
	int		 i;

	if (t == NULL)
		return;
	run->priv = NULL;
	for (i = 0; i < DNS_MAX_SERVERS; i++)
		resolver_cancel(t->lookup[i]);
	t->nlookups = 0;
	t->run = NULL;
	if (!t->in_ares)
		free(t);
}

static void
dns_finish(struct dns_run *t)
{
	struct probe_run	*run = t->run;

	dns_cleanup(run);
	probe_run_done(run);
}

/* Where the query went: "127.0.0.1:5353" or "the system's resolvers". */
static const char *
dns_where(const struct dns_run *t)
{
	return t->servers[0] != '\0' ? t->servers : "the system's resolvers";
}

/* The question, for messages: "www.example.com. MX". */
static const char *
dns_question(const struct dns_conf *dc, char *buf, size_t buflen)
{
	char	tb[16];

	snprintf(buf, buflen, "%s %s", dc->qname,
	    dnswire_type_str(dc->qtype, tb, sizeof(tb)));
	return buf;
}

/*
 * The run saw no valid answer: did c-ares drop a reply to our question?
 * Sets a dns_bad_response naming it and returns true, else false.
 */
static bool
dns_stray(struct dns_run *t)
{
	struct probe_result	*res = &t->run->result;
	const struct dns_conf	*dc = t->conf;
	const struct dns_datagram *d;
	size_t			 len;
	unsigned		 i;

	for (i = 0; t->chan != NULL && i < DNS_RING; i++) {
		d = &t->chan->ring[i];
		if (d->len == 0 || d->at < t->sent)
			continue;
		if (d->len < DNSWIRE_HEADER_LEN) {
			probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "%s sent "
			    "a %zu-byte reply, too short for a DNS header",
			    dns_where(t), d->len);
			return true;
		}
		/* Same question (after the header) but another ID? */
		len = (size_t)dc->qlen - DNSWIRE_HEADER_LEN - 11;
		if (d->len >= (size_t)dc->qlen - 11 && len < DNS_RING_BYTES -
		    DNSWIRE_HEADER_LEN && memcmp(d->bytes + DNSWIRE_HEADER_LEN,
		    dc->qbuf + DNSWIRE_HEADER_LEN, len) == 0 &&
		    t->id != -1 && (d->bytes[0] << 8 | d->bytes[1]) != t->id) {
			probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "%s "
			    "answered with transaction ID %u, the query had "
			    "%u (RFC 5452: answer dropped)", dns_where(t),
			    d->bytes[0] << 8 | d->bytes[1], t->id);
			return true;
		}
	}
	return false;
}

/* c-ares gave no answer: why. */
static void
dns_failed(struct dns_run *t, int status)
{
	struct probe_result	*res = &t->run->result;
	char			 q[DNSWIRE_NAME_MAX + 16], d[32];
	int64_t			 budget;
	int			 n;

	dns_question(t->conf, q, sizeof(q));
	if ((status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED) &&
	    dns_stray(t))
		return;
	switch (status) {
	case ARES_ETIMEOUT:
		/*
		 * c-ares says ETIMEOUT once every try to every server went
		 * unanswered (its count of timeouts can be lower when a TCP
		 * connection was lost instead); say what it was given.
		 */
		n = t->conf->tries * (t->conf->nservers > 0 ?
		    t->conf->nservers : 1);
		budget = (int64_t)t->chan->timeout_ms * ((1 << t->conf->tries) -
		    1) * (t->conf->nservers > 0 ? t->conf->nservers : 1);
		probe_result_set(res, PROBE_DNS_TIMEOUT, "%s: no answer from "
		    "%s over %s in %d %s (%s)", q, dns_where(t),
		    t->over_tcp ? "TCP" : "UDP", n, n == 1 ? "try" : "tries",
		    probe_format_duration(budget * 1000, d, sizeof(d)));
		break;
	case ARES_ECONNREFUSED:
		probe_result_set(res, PROBE_CONNECT_REFUSED, "%s: %s refused "
		    "the %s query (nothing listening)", q, dns_where(t),
		    t->over_tcp ? "TCP" : "UDP");
		break;
	case ARES_EBADRESP:
		probe_result_set(res, PROBE_DNS_BAD_RESPONSE,
		    "%s: malformed answer from %s", q, dns_where(t));
		break;
	default:
		probe_result_set(res, PROBE_INTERNAL, "%s to %s: %s", q,
		    dns_where(t), ares_strerror(status));
		break;
	}
}

/* ---- judging an answer --------------------------------------------------- */

/* What the records of one answer showed, for the expectations. */
struct dns_verdict {
	uint32_t	ans_hit;	/* answer patterns that matched one */
	uint32_t	sec_hit[DNSWIRE_SECTION_LAST];	/* auth/add too */
	uint32_t	inc_hit;	/* answers_include entries found */
	int		all_miss;	/* all-mode pattern missed; -1 none */
	int		none_hit;	/* none-mode pattern matched; -1 */
	char		rec[DNS_LINE_MAX];	/* the record that did it */
	char		first[DNSWIRE_SECTION_LAST][DNS_LINE_MAX];
	unsigned	rcode;
	unsigned	nrec[DNSWIRE_SECTION_LAST];	/* OPT excluded */
	bool		soa;
	uint32_t	serial;
};

/* A regex matches a record when it matches its RDATA or its whole line. */
static bool
dns_match(const struct pattern *p, const char *line, size_t rdata)
{
	return pattern_match(p, line + rdata, strlen(line + rdata)) == 1 ||
	    pattern_match(p, line, strlen(line)) == 1;
}

static void
dns_judge_answer(const struct dns_conf *dc, struct dns_verdict *v,
    const char *line, size_t rdata)
{
	int	i;

	for (i = 0; i < dc->answer.n; i++) {
		if (!dns_match(dc->answer.p[i], line, rdata)) {
			if (dc->mode == DNS_MATCH_ALL && v->all_miss == -1) {
				v->all_miss = i;
				snprintf(v->rec, sizeof(v->rec), "%s", line);
			}
			continue;
		}
		v->ans_hit |= 1u << i;
		if (dc->mode == DNS_MATCH_NONE && v->none_hit == -1) {
			v->none_hit = i;
			snprintf(v->rec, sizeof(v->rec), "%s", line);
		}
	}
	for (i = 0; i < dc->ninclude; i++)
		if (strcasecmp(dc->include[i], line + rdata) == 0)
			v->inc_hit |= 1u << i;
}

/* Appends an answer line to the result's fixed buffer, or flags it. */
static void
dns_keep(struct probe_result *res, const char *line)
{
	size_t	len = strlen(res->dns.text), n = strlen(line);

	if (res->dns.text_cut || len + n + 2 > sizeof(res->dns.text)) {
		res->dns.text_cut = true;
		return;
	}
	memcpy(res->dns.text + len, line, n);
	res->dns.text[len + n] = '\n';
	res->dns.text[len + n + 1] = '\0';
}

/* The SOA serial (RFC 1035 §3.3.13): after two names. */
static void
dns_soa(const uint8_t *msg, size_t len, const struct dnswire_rr *rr,
    struct dns_verdict *v)
{
	char	name[DNSWIRE_NAME_MAX], err[8];
	size_t	p = rr->rdata;

	if (dnswire_name(msg, len, &p, name, sizeof(name), err,
	    sizeof(err)) == -1 || dnswire_name(msg, len, &p, name,
	    sizeof(name), err, sizeof(err)) == -1 || p + 4 > len)
		return;
	v->soa = true;
	v->serial = (uint32_t)msg[p] << 24 | (uint32_t)msg[p + 1] << 16 |
	    (uint32_t)msg[p + 2] << 8 | msg[p + 3];
}

/* One record of any section. */
static void
dns_judge_rr(const struct dns_conf *dc, struct dns_verdict *v,
    struct probe_result *res, enum dnswire_section sec, const char *line,
    size_t rdata)
{
	const struct dns_patterns	*ps;
	int				 i;

	if (v->nrec[sec]++ == 0)
		snprintf(v->first[sec], sizeof(v->first[sec]), "%s", line);
	if (sec == DNSWIRE_ANSWER) {
		dns_keep(res, line);
		dns_judge_answer(dc, v, line, rdata);
		return;
	}
	ps = sec == DNSWIRE_AUTHORITY ? &dc->authority : &dc->additional;
	for (i = 0; i < ps->n; i++)
		if (dns_match(ps->p[i], line, rdata))
			v->sec_hit[sec] |= 1u << i;
}

/*
 * Reads every record; returns 0, or -1 with a dns_bad_response set.
 * Extended RCODE: RFC 6891 §6.1.3.
 */
static int
dns_read(struct dns_run *t, const uint8_t *msg, size_t len,
    struct dnswire_iter *it, struct dns_verdict *v)
{
	struct probe_result	*res = &t->run->result;
	struct dnswire_rr	 rr;
	char			 line[DNS_LINE_MAX], err[160];
	const char		*sp;
	int			 rc;

	v->rcode = it->hdr.rcode;
	while ((rc = dnswire_next(it, &rr, err, sizeof(err))) == 1) {
		if (rr.type == DNSWIRE_TYPE_OPT &&
		    it->section == DNSWIRE_ADDITIONAL) {
			v->rcode |= (rr.ttl >> 24) << 4;
			continue;
		}
		if (dnswire_rr_str(msg, len, &rr, line, sizeof(line), err,
		    sizeof(err)) == -1)
			break;
		if (rr.type == DNSWIRE_TYPE_SOA && it->section ==
		    DNSWIRE_ANSWER && !v->soa)
			dns_soa(msg, len, &rr, v);
		/* The RDATA starts after "owner ttl class type ". */
		sp = line;
		for (rc = 0; rc < 4 && (sp = strchr(sp, ' ')) != NULL; rc++)
			sp++;
		dns_judge_rr(t->conf, v, res, it->section, line,
		    sp != NULL ? (size_t)(sp - line) : strlen(line));
		rc = 1;
	}
	if (rc == 0)
		return 0;
	probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "malformed answer from "
	    "%s: %s", dns_where(t), err);
	return -1;
}

/* '"a", "b", ...' from the answer records, for messages. */
static const char *
dns_got(const struct probe_result *res, char *buf, size_t buflen)
{
	const char	*p = res->dns.text, *nl;
	size_t		 o = 0;

	if (*p == '\0')
		return "no answer records";
	o += (size_t)snprintf(buf, buflen, "got ");
	while ((nl = strchr(p, '\n')) != NULL && o + 8 < buflen) {
		o += (size_t)snprintf(buf + o, buflen - o, "%s\"%.*s\"",
		    p == res->dns.text ? "" : ", ", (int)(nl - p), p);
		p = nl + 1;
	}
	if (o >= buflen - 1)
		memcpy(buf + buflen - 4, "...", 4);
	return buf;
}

static const char *
dns_rcode_of(unsigned rcode, char *buf, size_t buflen)
{
	return dnswire_rcode_str(rcode, buf, buflen);
}

/* rcode and AA; returns -1 with the result set on a miss. */
static int
dns_expect_header(struct dns_run *t, const struct dnswire_header *h,
    const struct dns_verdict *v, const char *q)
{
	struct probe_result	*res = &t->run->result;
	const struct dns_conf	*dc = t->conf;
	enum probe_status	 st = PROBE_DNS_ANSWER_MISMATCH;
	char			 got[16], want[16];

	if ((int)v->rcode != dc->rcode) {
		if (v->rcode == 3)
			st = PROBE_DNS_NXDOMAIN;
		else if (v->rcode == 2)
			st = PROBE_DNS_SERVFAIL;
		else if (v->rcode == 5)
			st = PROBE_DNS_REFUSED;
		probe_result_set(res, st, "%s: %s from %s, expected %s", q,
		    dns_rcode_of(v->rcode, got, sizeof(got)), dns_where(t),
		    dns_rcode_of((unsigned)dc->rcode, want, sizeof(want)));
		return -1;
	}
	if (dc->aa != -1 && (h->flags & DNSWIRE_AA ? 1 : 0) != dc->aa) {
		probe_result_set(res, st, "%s: answer from %s is %s (AA=%d), "
		    "expected %s", q, dns_where(t), dc->aa ? "not "
		    "authoritative" : "authoritative", dc->aa ? 0 : 1,
		    dc->aa ? "authoritative" : "not authoritative");
		return -1;
	}
	return 0;
}

/* Counts, answers_include, serial_min. */
static int
dns_expect_counts(struct dns_run *t, const struct dns_verdict *v,
    const char *q)
{
	struct probe_result	*res = &t->run->result;
	const struct dns_conf	*dc = t->conf;
	unsigned		 n = v->nrec[DNSWIRE_ANSWER];
	char			 got[160];
	int			 i;

	if ((dc->min_answers != -1 && n < dc->min_answers) ||
	    (dc->max_answers != -1 && n > dc->max_answers)) {
		probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH, "%s: %u "
		    "answer record%s, expected %s %lld; %s", q, n,
		    n == 1 ? "" : "s", n < dc->min_answers ? "at least" :
		    "at most", (long long)(n < dc->min_answers ?
		    dc->min_answers : dc->max_answers),
		    dns_got(res, got, sizeof(got)));
		return -1;
	}
	for (i = 0; i < dc->ninclude; i++)
		if (!(v->inc_hit & 1u << i)) {
			probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH,
			    "%s: no \"%s\" in the answer; %s", q,
			    dc->include[i], dns_got(res, got, sizeof(got)));
			return -1;
		}
	if (dc->serial_min != -1 && !v->soa) {
		probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH, "%s: no SOA "
		    "record in the answer to check serial_min %lld; %s", q,
		    (long long)dc->serial_min, dns_got(res, got, sizeof(got)));
		return -1;
	}
	if (dc->serial_min != -1 && v->serial < dc->serial_min) {
		probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH, "%s: SOA "
		    "serial %lu is below serial_min %lld", q,
		    (unsigned long)v->serial, (long long)dc->serial_min);
		return -1;
	}
	return 0;
}

/* The answer, authority and additional regexes. */
static int
dns_expect_patterns(struct dns_run *t, const struct dns_verdict *v,
    const char *q)
{
	struct probe_result		*res = &t->run->result;
	const struct dns_conf		*dc = t->conf;
	const struct dns_patterns	*ps;
	char				 got[160];
	int				 i, s;

	if (v->all_miss != -1 || v->none_hit != -1) {
		i = v->all_miss != -1 ? v->all_miss : v->none_hit;
		probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH, "%s: answer "
		    "\"%s\" %s /%s/", q, v->rec, v->all_miss != -1 ?
		    "does not match" : "matches", pattern_source(
		    dc->answer.p[i]));
		return -1;
	}
	for (i = 0; dc->mode != DNS_MATCH_NONE && i < dc->answer.n; i++)
		if (!(v->ans_hit & 1u << i)) {
			probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH,
			    "%s: no answer matches /%s/; %s", q,
			    pattern_source(dc->answer.p[i]),
			    dns_got(res, got, sizeof(got)));
			return -1;
		}
	for (s = DNSWIRE_AUTHORITY; s < DNSWIRE_SECTION_LAST; s++) {
		ps = s == DNSWIRE_AUTHORITY ? &dc->authority :
		    &dc->additional;
		for (i = 0; i < ps->n; i++)
			if (!(v->sec_hit[s] & 1u << i)) {
				probe_result_set(res, PROBE_DNS_ANSWER_MISMATCH,
				    "%s: no %s record matches /%s/; got %s%s%s",
				    q, dnswire_section_str(s),
				    pattern_source(ps->p[i]),
				    v->nrec[s] > 0 ? "\"" : "none",
				    v->first[s], v->nrec[s] > 1 ?
				    "\", ..." : v->nrec[s] > 0 ? "\"" : "");
				return -1;
			}
	}
	return 0;
}

/* A whole answer arrived: read it, then judge it (or retry over TCP). */
static void
dns_judge(struct dns_run *t, const uint8_t *msg, size_t len)
{
	struct probe_result	*res = &t->run->result;
	struct dnswire_iter	 it;
	struct dns_verdict	 v;
	char			 q[DNSWIRE_NAME_MAX + 16], err[160];

	dns_question(t->conf, q, sizeof(q));
	if (dnswire_begin(&it, msg, len, err, sizeof(err)) == -1) {
		probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "malformed "
		    "answer from %s: %s", dns_where(t), err);
		return;
	}
	if (!(it.hdr.flags & DNSWIRE_QR) || it.hdr.opcode != 0) {
		probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "malformed "
		    "answer from %s: %s", dns_where(t), it.hdr.opcode != 0 ?
		    "opcode is not QUERY" : "QR bit not set");
		return;
	}
	if (it.hdr.flags & DNSWIRE_TC) {
		res->dns.truncated = true;
		if (!t->over_tcp) {
			(void)dns_send(t, true);	/* RFC 7766 §5 */
			return;
		}
		probe_result_set(res, PROBE_DNS_BAD_RESPONSE, "%s: answer "
		    "from %s is truncated (TC=1) even over TCP", q,
		    dns_where(t));
		return;
	}
	memset(&v, 0, sizeof(v));
	v.all_miss = v.none_hit = -1;
	res->dns.text[0] = '\0';
	if (dns_read(t, msg, len, &it, &v) == -1)
		return;
	res->dns.answered = true;
	res->dns.rcode = (uint16_t)v.rcode;
	res->dns.authoritative = (it.hdr.flags & DNSWIRE_AA) != 0;
	res->dns.answers = (uint16_t)v.nrec[DNSWIRE_ANSWER];
	res->dns.authority = (uint16_t)v.nrec[DNSWIRE_AUTHORITY];
	res->dns.additional = (uint16_t)v.nrec[DNSWIRE_ADDITIONAL];
	res->dns.has_serial = v.soa;
	res->dns.serial = v.serial;
	if (dns_expect_header(t, &it.hdr, &v, q) == 0 &&
	    dns_expect_counts(t, &v, q) == 0)
		(void)dns_expect_patterns(t, &v, q);
}

/* The one c-ares callback; runs once per ares_send(). */
static void
dns_answered(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_run		*t = arg;
	struct probe_run	*run = t->run;

	(void)timeouts;		/* see dns_failed() */
	t->in_ares = false;
	t->chan->pending--;
	if (run == NULL) {		/* detached: the run is over */
		free(t);
		return;
	}
	if (t->chan->sending == t) {	/* inside ares_send(): see there */
		t->sync_status = status;
		return;
	}
	run->result.phase[PROBE_PHASE_REQUEST] = loop_time(run->loop) -
	    t->asked;
	if (status == ARES_EDESTRUCTION)
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "DNS channel closed while the query was pending");
	else if (abuf == NULL || alen < 0)
		dns_failed(t, status);
	else {
		dns_judge(t, abuf, (size_t)alen);
		if (t->in_ares)		/* retrying over TCP */
			return;
	}
	dns_finish(t);
}

/*
 * Sends the encoded query on the UDP or TCP channel of the servers.
 * Returns 0 when it is in flight, or -1 with run->result set when it
 * failed at once (the caller finishes the run).
 */
static int
dns_send(struct dns_run *t, bool tcp)
{
	struct probe_run	*run = t->run;
	const struct dns_conf	*dc = t->conf;
	struct dns_chan		*ch;
	char			 err[256];

	ch = dns_chan_get(run, dc->nservers > 0 ? t->servers : "", tcp,
	    err, sizeof(err));
	if (ch == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL, "%s", err);
		return -1;
	}
	t->chan = ch;
	t->over_tcp = tcp;
	t->id = -1;
	t->sent = loop_time(run->loop);
	if (t->state != DNS_QUERYING) {
		t->asked = t->sent;
		dns_set_state(t, DNS_QUERYING);
	}
	ch->last_used = t->sent;
	ch->pending++;
	t->in_ares = true;
	ch->sending = t;
	/* A send that fails at once calls dns_answered() in here. */
	ares_send(ch->channel, dc->qbuf, dc->qlen, dns_answered, t);
	ch->sending = NULL;
	dns_chan_arm(ch);
	if (t->in_ares)
		return 0;
	dns_failed(t, t->sync_status);
	return -1;
}

/* ---- resolving servers given by name ------------------------------------- */

static void
dns_resolved(const struct resolver_answer *ans, void *arg)
{
	struct dns_lookup	*lk = arg;
	struct dns_run		*t = lk->t;
	struct probe_run	*run = t->run;
	const struct dns_conf	*dc = t->conf;
	struct sockaddr_storage	 ss;
	char			 addr[PROBE_ADDRESS_MAX];
	size_t			 len;
	int			 i = lk->i;

	t->lookup[i] = NULL;
	if (ans->status != RESOLVER_OK) {
		run->result.phase[PROBE_PHASE_RESOLVE] = loop_time(run->loop) -
		    run->started;
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve DNS server %s: %s", dc->server[i].host,
		    ans->error);
		dns_finish(t);
		return;
	}
	ss = ans->addrs[0];
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port =
		    htons(dc->server[i].port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons(dc->server[i].port);
	resolver_addr_str(&ss, addr, sizeof(addr));
	snprintf(t->resolved[i], sizeof(t->resolved[i]), "%s", addr);
	if (--t->nlookups > 0)
		return;
	run->result.phase[PROBE_PHASE_RESOLVE] = loop_time(run->loop) -
	    run->started;
	for (i = 0, len = 0; i < dc->nservers; i++)
		len += (size_t)snprintf(t->servers + len, sizeof(t->servers) -
		    len, "%s%s", i > 0 ? "," : "", dc->server[i].host != NULL ?
		    t->resolved[i] : dc->server[i].addr);
	if (dns_send(t, dc->tcp) == -1)
		dns_finish(t);
}

/* ---- probe_ops ----------------------------------------------------------- */

static int
dns_start(struct probe_run *run)
{
	const struct dns_conf	*dc = run->check->kind_conf;
	struct dns_run		*t;
	int			 i;

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->conf = dc;
	t->id = -1;
	run->priv = t;
	if (run->resolver == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "no resolver for DNS checks");
		goto fail;
	}
	if (!dc->names) {
		if (dc->servers != NULL)
			snprintf(t->servers, sizeof(t->servers), "%s",
			    dc->servers);
		if (dns_send(t, dc->tcp) == -1)
			goto fail;
		return 0;
	}
	dns_set_state(t, DNS_RESOLVING);
	for (i = 0; i < dc->nservers; i++)
		if (dc->server[i].host != NULL)
			t->nlookups++;
	for (i = 0; i < dc->nservers; i++)
		if (dc->server[i].host != NULL) {
			t->lk[i].t = t;
			t->lk[i].i = i;
			t->lookup[i] = resolver_lookup(run->resolver,
			    dc->server[i].host, run->check->ip_family,
			    dns_resolved, &t->lk[i]);
		}
	return 0;
fail:
	dns_cleanup(run);
	return -1;
}

/* The deadline passed: say what we were waiting for, then release. */
static void
dns_expire(struct probe_run *run)
{
	struct dns_run		*t = run->priv;
	struct probe_result	*res = &run->result;
	char			 d[32], q[DNSWIRE_NAME_MAX + 16];
	int			 i;

	if (t == NULL)
		return;
	probe_format_duration(run->check->timeout_ms * 1000, d, sizeof(d));
	dns_question(t->conf, q, sizeof(q));
	if (t->state == DNS_RESOLVING) {
		for (i = 0; i < t->conf->nservers && t->lookup[i] == NULL; i++)
			continue;
		probe_result_set(res, PROBE_RESOLVE_FAILED, "resolve DNS "
		    "server %s: no answer within %s", i < t->conf->nservers ?
		    t->conf->server[i].host : "?", d);
	} else if (t->state == DNS_QUERYING && !dns_stray(t)) {
		res->phase[PROBE_PHASE_REQUEST] = loop_time(run->loop) -
		    t->asked;
		probe_result_set(res, PROBE_DNS_TIMEOUT, "%s: no answer from "
		    "%s over %s within %s", q, dns_where(t), t->over_tcp ?
		    "TCP" : "UDP", d);
	}
	dns_cleanup(run);
}

/* "dns": {"rcode": "NOERROR", "answers": [...], ...}, once answered. */
static int
dns_result_json(const struct probe_result *res, json_t *root)
{
	json_t		*dns, *answers;
	const char	*p, *nl;
	char		 line[DNS_LINE_MAX], rc[16];

	if (!res->dns.answered && !res->dns.truncated)
		return 0;
	if ((dns = json_object()) == NULL)
		return -1;
	if ((answers = json_array()) == NULL ||
	    json_object_set_new(dns, "answers", answers) == -1)
		goto fail;
	for (p = res->dns.text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (json_array_append_new(answers, json_string(line)) == -1)
			goto fail;
	}
	if ((res->dns.answered && result_json_set_string(dns, "rcode",
	    dnswire_rcode_str(res->dns.rcode, rc, sizeof(rc))) == -1) ||
	    json_object_set_new(dns, "authoritative",
	    json_boolean(res->dns.authoritative)) == -1 ||
	    json_object_set_new(dns, "truncated",
	    json_boolean(res->dns.truncated)) == -1 ||
	    (res->dns.text_cut && json_object_set_new(dns, "answers_cut",
	    json_true()) == -1))
		goto fail;
	return json_object_set_new(root, "dns", dns);
fail:
	json_decref(dns);
	return -1;
}

static int
dns_metric(const struct probe_result *res, const char *name, double *value)
{
	if (!res->dns.answered)
		return -1;
	if (strcmp(name, "dns.answers") == 0)
		*value = res->dns.answers;
	else if (strcmp(name, "dns.authority") == 0)
		*value = res->dns.authority;
	else if (strcmp(name, "dns.additional") == 0)
		*value = res->dns.additional;
	else if (strcmp(name, "dns.rcode") == 0)
		*value = res->dns.rcode;
	else if (strcmp(name, "dns.serial") == 0 && res->dns.has_serial)
		*value = res->dns.serial;
	else
		return -1;
	return 0;
}

/* blackbox_exporter's dns prober families, its names and help. */
static const struct probe_family dns_families[] = {
	{ "probe_dns_duration_seconds", "gauge",
	    "Duration of DNS request by phase" },
	{ "probe_dns_answer_rrs", "gauge",
	    "Returns number of entries in the answer resource record list" },
	{ "probe_dns_authority_rrs", "gauge",
	    "Returns number of entries in the authority resource record list" },
	{ "probe_dns_additional_rrs", "gauge",
	    "Returns number of entries in the additional resource record "
	    "list" },
	{ "probe_dns_query_succeeded", "gauge",
	    "Displays whether or not the query was executed successfully" },
	{ "probe_dns_serial", "gauge",
	    "Returns the serial number of the zone" },
	{ NULL, NULL, NULL }
};

/*
 * As blackbox_exporter: phases resolve (the server's name), connect and
 * request always, 0 when not run (connect always: c-ares connects inside
 * the request and does not time it apart); record counts 0 without an
 * answer; the serial only when the answer has a SOA.
 */
static void
dns_metrics_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	static const struct {
		const char		*label;
		enum probe_phase	 phase;
	} ph[] = {
		{ "phase=\"resolve\"", PROBE_PHASE_RESOLVE },
		{ "phase=\"connect\"", PROBE_PHASE_CONNECT },
		{ "phase=\"request\"", PROBE_PHASE_REQUEST },
	};
	size_t	i;

	switch (fam) {
	case 0:
		for (i = 0; i < sizeof(ph) / sizeof(ph[0]); i++)
			emit(arg, ph[i].label, res->phase[ph[i].phase] < 0 ?
			    0 : (double)res->phase[ph[i].phase] / 1e6);
		break;
	case 1:
		emit(arg, NULL, res->dns.answered ? res->dns.answers : 0);
		break;
	case 2:
		emit(arg, NULL, res->dns.answered ? res->dns.authority : 0);
		break;
	case 3:
		emit(arg, NULL, res->dns.answered ? res->dns.additional : 0);
		break;
	case 4:
		emit(arg, NULL, res->dns.answered);
		break;
	case 5:
		if (res->dns.answered && res->dns.has_serial)
			emit(arg, NULL, res->dns.serial);
		break;
	default:
		break;
	}
}

/*
 * blackbox's dns target is the server ("192.0.2.53", "[2001:db8::53]:5353",
 * "ns1.example"); the query comes from the module.  conf_parse checks it.
 */
static int
dns_target_apply(config_setting_t *g, const char *target, char *err,
    size_t errlen)
{
	config_setting_t	*s;

	if (target[0] == '\0' || strpbrk(target, " \t\r\n,") != NULL) {
		snprintf(err, errlen, "target \"%s\": not one server address "
		    "or name", target);
		return -1;
	}
	if (config_setting_get_member(g, "server") != NULL)
		config_setting_remove(g, "server");
	s = config_setting_add(g, "server", CONFIG_TYPE_STRING);
	config_setting_set_string(s, target);
	return 0;
}

const struct probe_ops dns_probe_ops = {
	.kind = "dns",
	.conf_keys = dns_conf_keys,
	.conf_parse = dns_conf_parse,
	.conf_free = dns_conf_free,
	.start = dns_start,
	.expire = dns_expire,
	.abort = dns_cleanup,
	.result_json = dns_result_json,
	.metrics = dns_metrics,
	.metric = dns_metric,
	.families = dns_families,
	.metrics_write = dns_metrics_write,
	.target_apply = dns_target_apply,
	.target_example = "127.0.0.1:53",
};
