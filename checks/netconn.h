/*
 * netconn: the TCP connection a check kind stands on (tcp, tls): the
 * 'host' key with its address literal, resolve-or-literal, the
 * non-blocking connect, its timing and failures, and the close policy.
 *
 * A kind embeds one struct netconn_conf in its config and one struct
 * netconn in its run state (no allocation of its own).  netconn_start()
 * resolves the host (or uses the literal parsed at config load), connects
 * to the FIRST address the resolver returns (see resolver.h for the family
 * policy) and to no other, records the resolve and connect phases and
 * result.tcp.address, and then calls the kind's connected(arg, 0).  When
 * it fails it fills the run's result itself (resolve_failed,
 * connect_refused, connect_timeout, connect_failed, internal) and calls
 * connected(arg, -1): the kind then releases its state and completes the
 * run.  After connected(arg, 0) the socket's readiness goes to the kind's
 * io(arg, events).
 *
 * Close policy (netconn_conf.close): RST by default (SO_LINGER {1, 0}),
 * so probes leave nothing in TIME_WAIT on the agent's host; graceful sends
 * FIN (shutdown(SHUT_WR), then close).  See netconn.c for why.
 */
#ifndef SONDE_NETCONN_H
#define SONDE_NETCONN_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>

struct check_conf;
struct config_setting_t;
struct confread;
struct json_t;
struct probe_result;
struct probe_run;
struct resolver_query;

enum netconn_close {
	NETCONN_CLOSE_RESET,
	NETCONN_CLOSE_GRACEFUL
};

enum netconn_state {
	NETCONN_IDLE,
	NETCONN_RESOLVING,
	NETCONN_CONNECTING,
	NETCONN_CONNECTED,
	NETCONN_STATE_LAST
};

/* Part of a kind's config; parsed once at load. */
struct netconn_conf {
	char			*host;		/* owned; without [] */
	union {
		struct sockaddr_in	 sin;
		struct sockaddr_in6	 sin6;
	}			 addr;		/* the literal, with the port */
	uint16_t		 port;
	uint8_t			 family;	/* a literal's, or AF_UNSPEC */
	uint8_t			 close;		/* enum netconn_close */
};

/* What the kind is told; arg is the kind's, from netconn_init(). */
struct netconn_ops {
	const char	*token;		/* the kind's log token, "probe/tcp" */
	/*
	 * The connect finished: rc 0, connected (io() follows); rc -1,
	 * failed with run->result set, the socket already closed.  The kind
	 * may finish the run (and free the netconn) inside the call.
	 */
	void	(*connected)(void *arg, int rc);
	/* The socket is ready for what the kind watches (netconn_watch()). */
	void	(*io)(void *arg, unsigned events);
};

/* One connection of one run; embedded in the kind's run state. */
struct netconn {
	struct probe_run		*run;		/* borrowed */
	const struct netconn_conf	*conf;		/* borrowed */
	const struct netconn_ops	*ops;
	void				*arg;
	struct resolver_query		*query;
	int64_t				 mark;	/* connect start, then end */
	int				 fd;		/* -1: none */
	unsigned			 watching;	/* LOOP_READ/WRITE */
	enum netconn_state		 state;
};

/*
 * Reads the required 'host' key of group: strips [] from an IPv6 literal,
 * parses a literal (checked against check->ip_family), rejects
 * "host:port".  Errors go to cr.  Returns 0 with nc->host set (owned), or
 * -1.  nc is zeroed first.
 */
int	netconn_conf_host(struct confread *cr,
	    const struct config_setting_t *group,
	    const struct check_conf *check, struct netconn_conf *nc);
/*
 * Sets the port (also in the literal's address) and check->target, what
 * people read: "host:port", "[v6]:port" (new, owned by check).
 */
void	netconn_conf_port(struct netconn_conf *nc, int port,
	    struct check_conf *check);
/* Frees what nc holds (not nc); idempotent. */
void	netconn_conf_clear(struct netconn_conf *nc);

/* Prepares nc for run; everything borrowed for the run. */
void	netconn_init(struct netconn *nc, struct probe_run *run,
	    const struct netconn_conf *conf, const struct netconn_ops *ops,
	    void *arg);
/*
 * Resolves or connects.  Returns 0 when under way (ops->connected() will
 * be called from the loop, never inside this call), or -1 with
 * run->result set and nothing held.
 */
int	netconn_start(struct netconn *nc);
/*
 * Changes what the socket is watched for (LOOP_READ, LOOP_WRITE); a no-op
 * when unchanged.  Returns 0, or -1 with run->result set (internal).
 */
int	netconn_watch(struct netconn *nc, unsigned events);
/*
 * The run's deadline passed.  When nc was still resolving or connecting,
 * sets run->result to what it waited for and returns true; otherwise
 * returns false (the kind says what it waited for).  Holds on either way;
 * call netconn_close() after.
 */
bool	netconn_expire(struct netconn *nc);
/*
 * Cancels the lookup, unwatches and closes the socket with the close
 * policy (a socket that never connected is simply closed).  Idempotent.
 */
void	netconn_close(struct netconn *nc);
/*
 * probe_ops.result_json for the connection: "tcp": {"address":
 * "127.0.0.1:5432"} when a connect was attempted, nothing otherwise.
 * root is a jansson object.  Returns 0 or -1.
 */
int	netconn_result_json(const struct probe_result *res,
	    struct json_t *root);
/* Returns nc's state's name ("connecting"), for the kind's log lines. */
const char *netconn_state_str(enum netconn_state state);

#endif /* SONDE_NETCONN_H */
