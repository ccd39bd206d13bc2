/*
 * probe: the check-kind interface, the result record and the run lifecycle.
 *
 * A check kind (tcp, http, dns, tls) is one file exporting one const
 * struct probe_ops, listed once in the registry in probe.c.  The kind
 * parses its own config keys (conf_parse), starts non-blocking work on the
 * loop (start), and reports exactly once through probe_run_done().  It never
 * touches rules, alerts or metrics: its only output is the struct
 * probe_result in the run.
 *
 * The run (struct probe_run) is owned by whoever started it (the
 * scheduler).  probe.c enforces the run's one absolute deadline: when it
 * passes, the kind's expire() describes what it was waiting for, releases
 * its resources, and probe.c completes the run.  So a kind need not arm a
 * deadline timer of its own; it may arm earlier ones (per-phase timeouts).
 *
 * A failed probe is data, not an error: its status is one of the stable
 * reason codes below, its message says what happened in words
 * ("connect to 10.0.0.5:5432: refused").
 */
#ifndef SONDE_PROBE_H
#define SONDE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct check_conf;
struct confread;
struct json_t;
struct config_setting_t;
struct resolver;
struct probe_run;

/* The stable reason codes (DESIGN.md, sonde.conf(5)); PROBE_OK has none. */
enum probe_status {
	PROBE_OK,
	PROBE_CONNECT_REFUSED,
	PROBE_CONNECT_TIMEOUT,
	PROBE_CONNECT_FAILED,
	PROBE_TIMEOUT,
	PROBE_DNS_NXDOMAIN,
	PROBE_DNS_SERVFAIL,
	PROBE_DNS_REFUSED,
	PROBE_DNS_TIMEOUT,
	PROBE_DNS_BAD_RESPONSE,
	PROBE_DNS_ANSWER_MISMATCH,
	PROBE_RESOLVE_FAILED,
	PROBE_HTTP_STATUS,
	PROBE_HTTP_BODY_MISMATCH,
	PROBE_HTTP_HEADER_MISMATCH,
	PROBE_HTTP_TOO_MANY_REDIRECTS,
	PROBE_HTTP_PROTOCOL_ERROR,
	PROBE_HTTP_BODY_TOO_LARGE,
	PROBE_TLS_EXPIRED,
	PROBE_TLS_NOT_YET_VALID,
	PROBE_TLS_UNTRUSTED,
	PROBE_TLS_HOSTNAME_MISMATCH,
	PROBE_TLS_EXPIRING_SOON,
	PROBE_TLS_HANDSHAKE_FAILED,
	PROBE_TLS_VERSION,
	PROBE_TCP_EXPECT_MISMATCH,
	PROBE_INTERNAL,
	PROBE_STATUS_LAST
};

/* Phases a probe may time; PHASE_REQUEST is the DNS check's query. */
enum probe_phase {
	PROBE_PHASE_RESOLVE,
	PROBE_PHASE_CONNECT,
	PROBE_PHASE_TLS,
	PROBE_PHASE_PROCESSING,
	PROBE_PHASE_TRANSFER,
	PROBE_PHASE_REQUEST,
	PROBE_PHASE_LAST
};

#define PROBE_MESSAGE_MAX	256
#define PROBE_ADDRESS_MAX	64	/* "[v6 address%scope]:port" */
#define PROBE_URL_MAX		256	/* http's final URL, cut to fit */
#define PROBE_TLS_NAME_MAX	128	/* a certificate's subject or issuer */
#define PROBE_QUOTE_BUF(max)	((max) * 4 + 16)	/* probe_quote() */

/*
 * What a TLS handshake showed (the tls check, and https in the http
 * check); filled by tlsverify_info_fill().  Times are seconds since the
 * epoch; days are whole days left, rounded down (negative once expired).
 * not_after == 0: no certificate was seen.
 */
struct probe_tls {
	int64_t			 not_before;	/* the leaf's */
	int64_t			 not_after;
	int64_t			 earliest_not_after; /* over the sent chain */
	int32_t			 days_left;
	int32_t			 earliest_days_left;
	int32_t			 key_bits;
	int32_t			 earliest_depth; /* 0: the leaf */
	char			 version[12];	/* "TLSv1.3" */
	char			 cipher[48];	/* IANA name */
	char			 key_type[12];	/* "RSA", "EC", "ED25519" */
	char			 ocsp[12];	/* "", good, revoked, unknown */
	char			 serial[44];	/* hex */
	char			 subject[PROBE_TLS_NAME_MAX];
	char			 issuer[PROBE_TLS_NAME_MAX];
	char			 earliest_subject[PROBE_TLS_NAME_MAX];
	char			 sans[192];	/* "DNS:a, DNS:b, IP:..." */
	char			 verify[96];	/* "ok" or OpenSSL's words */
};
#define PROBE_DNS_TEXT_MAX	1024	/* answer records, presentation form */

struct probe_result {
	enum probe_status	 status;
	char			 message[PROBE_MESSAGE_MAX];
	int64_t			 started_at;	/* wall clock, µs since epoch */
	int64_t			 duration;	/* µs */
	int64_t			 phase[PROBE_PHASE_LAST]; /* µs; -1: not run */
	struct {
		char		 address[PROBE_ADDRESS_MAX]; /* "" if none */
	}			 tcp;
	struct probe_tls	 tls;
	struct {
		bool		 answered;	/* an answer was read */
		bool		 authoritative;	/* AA */
		bool		 truncated;	/* TC seen (then TCP) */
		bool		 text_cut;	/* text could not hold all */
		bool		 has_serial;	/* a SOA in the answer */
		uint32_t	 serial;		/* its serial */
		uint16_t	 rcode;		/* extended (RFC 6891) */
		uint16_t	 answers;	/* records per section */
		uint16_t	 authority;
		uint16_t	 additional;
		char		 text[PROBE_DNS_TEXT_MAX]; /* lines */
	}			 dns;
	struct {
		int64_t		 body_bytes;	/* of the last response */
		int64_t		 content_length; /* its header; -1: none */
		int32_t		 status;	/* 0: no response */
		uint8_t		 version;	/* 10, 11, 20, 30; 0: none */
		uint8_t		 redirects;	/* followed */
		bool		 ssl;		/* the last hop was https */
		bool		 insecure;	/* verification was off */
		char		 final_url[PROBE_URL_MAX]; /* "" if none */
	}			 http;
};

typedef void (*probe_done_cb)(struct probe_run *run, void *arg);
/*
 * Writes one sample of the family being rendered: extra is NULL or
 * constant label pairs such as "phase=\"connect\"" (no escaping is done).
 */
typedef void (*probe_sample_cb)(void *arg, const char *extra, double value);

/* A Prometheus family a kind adds to /metrics (blackbox_exporter's names). */
struct probe_family {
	const char	*name;		/* "probe_http_status_code" */
	const char	*type;		/* "gauge", "counter" */
	const char	*help;
};

/*
 * A kind.  conf_keys lists the keys the kind accepts in a check block
 * (besides the common ones), NULL-terminated, for unknown-key errors.
 */
struct probe_ops {
	const char		 *kind;
	const char *const	 *conf_keys;
	/*
	 * Reads the kind's keys from the check's group, reporting every error
	 * through confread; on success sets check->kind_conf (owned by the
	 * check, freed by conf_free) and check->target (owned, xmalloc'd, what
	 * a person calls the target: "db.internal:5432").  Returns 0 or -1.
	 */
	int	(*conf_parse)(struct confread *cr,
		    const struct config_setting_t *group,
		    struct check_conf *check);
	void	(*conf_free)(void *kind_conf);
	/*
	 * Begins the probe; run->priv is the kind's.  Returns 0 when running
	 * (the kind then calls probe_run_done() exactly once, or expire() or
	 * abort() is called), or -1 with run->result set when it could not
	 * start (all resources released; probe.c completes the run).
	 */
	int	(*start)(struct probe_run *run);
	/*
	 * The deadline passed: set run->result to what the probe was waiting
	 * for (connect_timeout, timeout, ...) and release all resources.  Do
	 * not call probe_run_done().
	 */
	void	(*expire)(struct probe_run *run);
	/* Cancelled (stop, reload): release all resources, report nothing. */
	void	(*abort)(struct probe_run *run);
	/*
	 * Optional.  Adds the kind's own object to a result's JSON record
	 * (root is a jansson object), e.g. "tcp": {"address": "..."}; use
	 * result_json_set_string() for text from the network.  Returns 0 or -1.
	 */
	int	(*result_json)(const struct probe_result *res,
		    struct json_t *root);
	/*
	 * Optional.  Metric names the kind offers to rules ("http.status"),
	 * NULL-terminated, and how to read one from a result: returns 0 with
	 * *value set, or -1 when res has no such value (the probe failed
	 * before it could be measured).
	 */
	const char *const	 *metrics;
	int	(*metric)(const struct probe_result *res, const char *name,
		    double *value);
	/*
	 * Optional.  The kind's own /metrics families (terminated by a NULL
	 * name), and how to write the samples of families[fam] for a result:
	 * emit(arg, extra, value) per sample, none when res has no value.
	 */
	const struct probe_family *families;
	void	(*metrics_write)(const struct probe_result *res, size_t fam,
		    probe_sample_cb emit, void *arg);
	/*
	 * Optional, for GET /probe?module=&target= (blackbox_exporter's
	 * endpoint): sets in a module's group the keys that target stands
	 * for (tcp: host, and port when the target has one), replacing what
	 * the module set.  Returns 0, or -1 with a reason in err.
	 * target_example always applies; modules are validated with it at
	 * load.  A kind without target_apply cannot be a module.
	 */
	int	(*target_apply)(struct config_setting_t *group,
		    const char *target, char *err, size_t errlen);
	const char		 *target_example;
	/*
	 * Optional.  True when a run of the check (kind_conf is its own)
	 * costs a TLS handshake, ~0.7 ms of CPU against ~0.02 ms for a
	 * plain connect: the scheduler puts such checks on a grid finer
	 * than agent.schedule_grid when a step would hold more than a few
	 * (sched_handshake_grid), since 50 handshakes in one step are one
	 * burst of ~35 ms that delays every timer behind it.
	 */
	bool	(*handshakes)(const void *kind_conf);
};

/* One run of one check; embedded in or allocated by its owner. */
struct probe_run {
	struct loop		*loop;
	struct resolver		*resolver;
	const struct check_conf	*check;		/* borrowed for the run */
	int64_t			 started;	/* loop clock, µs */
	int64_t			 deadline;	/* loop clock, µs, absolute */
	void			*priv;		/* the kind's state */
	struct probe_result	 result;
	/* private to probe.c */
	struct loop_timer	 timer;
	probe_done_cb		 done;
	void			*done_arg;
	int			 state;
};

extern const struct probe_ops *const probe_registry[];

/* Returns the kind named kind, or NULL. */
const struct probe_ops	*probe_find(const char *kind);
/* Returns the reason code of status ("connect_refused"); "ok" for OK. */
const char		*probe_status_str(enum probe_status status);
/* Returns the name of phase ("resolve"). */
const char		*probe_phase_str(enum probe_phase phase);
/*
 * The phase a failed result failed in, for notifications: the phase its
 * reason code belongs to (resolve_failed: resolve, connect_*: connect,
 * tls_*: tls, dns_*: request, http_status and the mismatches: processing,
 * http_body_too_large: transfer); for timeout the last phase with a
 * recorded time.  *us (may be NULL) gets the time spent in it: its
 * recorded time, or else the probe's time not accounted to other phases.
 * Returns the phase, or PROBE_PHASE_LAST when none applies (ok, internal,
 * a timeout before any phase was timed).
 */
enum probe_phase	 probe_failing_phase(const struct probe_result *res,
			    int64_t *us);

/*
 * Reads a metric of a result for rules: "duration" and "phase.<name>" (in
 * seconds) for every kind, then the kind's own.  Returns 0 with *value
 * set, or -1 when the result has none.
 */
int	probe_result_metric(const struct check_conf *check,
	    const struct probe_result *res, const char *name, double *value);
/* Returns true when a run of check costs a TLS handshake (see ops). */
bool	probe_check_handshakes(const struct check_conf *check);
/* Returns true when checks of kind ops can have the metric name. */
bool	probe_metric_known(const struct probe_ops *ops, const char *name);

/* Resets result: PROBE_OK, empty message, phases -1. */
void	probe_result_init(struct probe_result *result);
/*
 * Sets status and a printf-formatted message (truncated to fit; control
 * characters become ' ' (tab, CR, LF) or '?').
 */
void	probe_result_set(struct probe_result *result, enum probe_status status,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Writes a duration for messages: "250ms", "3s", "1.5s", "2.25s" (ms
 * precision, trailing zeros dropped).  Returns buf (32 bytes suffice).
 */
const char *probe_format_duration(int64_t us, char *buf, size_t buflen);
/*
 * Writes at most the first max bytes of data (from the network) as a
 * double-quoted printable string: \r \n \t \\ \" and \xNN escapes, then
 * "..." when cut.  buflen >= 16; PROBE_QUOTE_BUF(max) holds it all.
 * Returns buf.
 */
const char *probe_quote(const char *data, size_t len, size_t max, char *buf,
	    size_t buflen);

/*
 * blackbox_exporter's probe_ip_addr_hash of an address as in
 * result.tcp.address ("192.0.2.1:80", "[2001:db8::1%eth0]:80"): FNV-1a
 * (32 bits) of the IP's 4 or 16 bytes.  Returns 0 with *hash set, or -1
 * when address holds no IP.
 */
int	probe_address_hash(const char *address, double *hash);

/*
 * Prepares run for check; all arguments borrowed for the run's lifetime.
 */
void	probe_run_init(struct probe_run *run, struct loop *loop,
	    struct resolver *resolver, const struct check_conf *check);
/*
 * Starts the run with an absolute deadline on the loop clock.  done(run,
 * arg) is called exactly once, always from the loop and never inside this
 * call, unless the run is aborted first.
 */
void	probe_run_start(struct probe_run *run, int64_t deadline,
	    probe_done_cb done, void *arg);
/* For kinds: the probe finished with run->result set. */
void	probe_run_done(struct probe_run *run);
/* Cancels a started run; done is not called.  A no-op when idle. */
void	probe_run_abort(struct probe_run *run);
/* Returns true between probe_run_start() and done/abort. */
bool	probe_run_active(const struct probe_run *run);

#endif /* SONDE_PROBE_H */
