/*
 * resolver: asynchronous host-name lookups (A and AAAA) on c-ares, bound
 * to the loop.  Nothing in the daemon calls getaddrinfo(3).
 *
 * One c-ares channel serves every lookup; it honours /etc/hosts and
 * resolv.conf (read once, at resolver_new()).  IP literals, and
 * "localhost" (RFC 6761: the loopback address), are answered without the
 * hosts file or DNS.  Family policy, for a check's ip_version:
 *   AF_INET   A records only;
 *   AF_INET6  AAAA records only;
 *   AF_UNSPEC A records, and AAAA only when the name has no A record.
 * So a check always watches one address family, chosen the same way every
 * time, and a broken IPv6 path is never silently masked by a working IPv4
 * one (or the reverse): to watch both, define one check per family.
 *
 * c-ares cannot cancel one query on a shared channel, so a cancelled query
 * is only detached: its callback is never called and its memory is freed
 * when c-ares finishes with it.  Lookups are bounded by the caller's
 * deadline (the probe cancels), and by c-ares' own timeout and tries.
 */
#ifndef SONDE_RESOLVER_H
#define SONDE_RESOLVER_H

#include <stddef.h>
#include <sys/socket.h>

#define RESOLVER_MAX_ADDRS	8
#define RESOLVER_TIMEOUT_MS	2000	/* c-ares' first per-try timeout */
#define RESOLVER_TRIES		2	/* c-ares' passes over the servers */

struct loop;
struct resolver;
struct resolver_query;

enum resolver_status {
	RESOLVER_OK,
	RESOLVER_NOT_FOUND,	/* NXDOMAIN: no such name */
	RESOLVER_NO_ADDRESS,	/* the name exists, no address of the family */
	RESOLVER_FAILED		/* server failure, timeout, bad name, ... */
};

struct resolver_answer {
	enum resolver_status	 status;
	size_t			 naddrs;
	struct sockaddr_storage	 addrs[RESOLVER_MAX_ADDRS]; /* port 0 */
	char			 error[128];	/* "no such host", ... */
};

/* ans is borrowed for the duration of the call. */
typedef void (*resolver_cb)(const struct resolver_answer *ans, void *arg);

/*
 * The sockets a c-ares channel asks the loop to watch, kept by its
 * sock_state_cb: the resolver's channel and the dns kind's own ones.  The
 * owner sets loop, cb (a loop fd callback: c-ares' sockets are ready),
 * arg and token (the log subsystem); the rest starts zeroed.
 */
struct resolver_fds {
	struct loop	*loop;
	void		(*cb)(struct loop *, int, unsigned, void *);
	void		*arg;
	const char	*token;
	int		*fds;
	size_t		 nfds;
	size_t		 fdcap;
};

/*
 * Returns a new resolver on loop.  servers is NULL for the system
 * configuration, or "ip[:port],..." (tests, a check's server).  Returns
 * NULL with the reason in err.
 */
struct resolver	*resolver_new(struct loop *loop, const char *servers,
		    char *err, size_t errlen);
/*
 * As resolver_new(), with c-ares' first per-try timeout (ms; it doubles on
 * each pass over the servers) and number of tries instead of the defaults.
 */
struct resolver	*resolver_new_tuned(struct loop *loop, const char *servers,
		    int timeout_ms, int tries, char *err, size_t errlen);
/*
 * Cancels every pending lookup (no callbacks) and frees; NULL is a no-op.
 * Handles of pending lookups are invalid afterwards (abort their owners
 * first).  Call it before loop_free(); it may be called from a lookup's
 * callback.
 */
void		 resolver_free(struct resolver *r);
/*
 * Looks host up for family (AF_UNSPEC, AF_INET, AF_INET6).  cb(ans, arg)
 * runs exactly once from the loop, never inside this call, unless the
 * query is cancelled first.  The handle is valid until then.
 */
struct resolver_query *resolver_lookup(struct resolver *r, const char *host,
		    int family, resolver_cb cb, void *arg);
/* Detaches q: its callback will not run.  NULL is a no-op. */
void		 resolver_cancel(struct resolver_query *q);
/*
 * Follows c-ares' sock_state_cb for fd: (1,0) watch reads, (1,1) a TCP
 * connect or a queued write, (0,0) c-ares is closing it.  A socket the
 * loop refuses is logged; its queries then end in c-ares' timeout.
 */
void		 resolver_fds_update(struct resolver_fds *f, int fd,
		    int readable, int writable);
/* Stops watching every socket and frees the table; f can be reused. */
void		 resolver_fds_clear(struct resolver_fds *f);
/*
 * Calls cb(arg) first thing in resolver_free(), once: for state other
 * modules keep per resolver and loop (the dns check's c-ares channels).
 * Registering the same (cb, arg) again is a no-op.  Returns 0, or -1 when
 * every slot is taken.
 */
int		 resolver_on_free(struct resolver *r, void (*cb)(void *),
		    void *arg);

/*
 * Parses host as an address literal: "192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]", "fe80::1%eth0".  Fills *ss (port 0) and returns
 * AF_INET or AF_INET6, or returns AF_UNSPEC (ss zeroed) for a name.
 */
int		 resolver_literal(const char *host,
		    struct sockaddr_storage *ss);
/*
 * Writes ss as "192.0.2.1:80" or "[2001:db8::1]:80" into buf; returns buf.
 */
const char	*resolver_addr_str(const struct sockaddr_storage *ss,
		    char *buf, size_t buflen);

#endif /* SONDE_RESOLVER_H */
