/*
 * tlsverify: what is wrong with a peer's certificates, in the same words
 * for every check that speaks TLS (the tls check, https in the http check).
 *
 * Three parts:
 *
 *  - Classification.  An OpenSSL verify result (X509_V_ERR_*) and the
 *    certificate it concerns become a reason code (tls_expired,
 *    tls_not_yet_valid, tls_untrusted, tls_hostname_mismatch) and a
 *    message that names the certificate and its date: "certificate
 *    CN=api.example.com expired 2026-11-20 (7 days ago)".  A verify
 *    callback (tlsverify_ctx_install) records every error of a chain, with
 *    the certificate each concerns, into a fixed-size struct
 *    tlsverify_record, so one probe can report the worst and mention the
 *    rest ("...; also self-signed").
 *
 *  - Inspection.  Days left of the leaf and the earliest expiry over the
 *    presented chain (naming which certificate), subject, issuer, SANs,
 *    key, OCSP staple: tlsverify_info_fill() into a struct probe_tls, and
 *    its JSON object and rule metrics, so both kinds show them alike.
 *
 *  - Contexts.  An SSL_CTX (with its CA store) per distinct (ca_file,
 *    client certificate and key, min/max version), built once and shared
 *    by every check with that configuration, never per probe.
 *
 * Time is passed in ("now", seconds since the epoch) so tests need no
 * clock.  Days are whole days left, rounded down: a certificate with 4.9
 * days left has 4, and is "expired" below 0.
 */
#ifndef SONDE_TLSVERIFY_H
#define SONDE_TLSVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "probe.h"

/* OpenSSL's types, without its headers. */
struct ssl_st;
struct ssl_ctx_st;
struct x509_st;
struct stack_st_X509;
struct json_t;

#define TLSVERIFY_ERRORS_MAX	4

/* Flags for tlsverify_record_classify(). */
#define TLSVERIFY_NO_CHAIN	0x1	/* expect.verify = false */
#define TLSVERIFY_NO_HOSTNAME	0x2	/* expect.hostname = false */

/* One verify error and the certificate it concerns (copied, no refs). */
struct tlsverify_error {
	long		 code;		/* X509_V_ERR_* */
	int		 depth;		/* 0: the leaf */
	int		 sent;		/* certificates sent */
	bool		 self_signed;
	int64_t		 not_before;	/* seconds since the epoch */
	int64_t		 not_after;
	char		 name[PROBE_TLS_NAME_MAX];	/* "CN=..." */
	char		 issuer[PROBE_TLS_NAME_MAX];	/* "CN=..." */
	char		 sans[192];	/* the leaf's, for mismatches */
};

/*
 * The errors of one handshake's verification, first ones first (at most
 * TLSVERIFY_ERRORS_MAX distinct codes).  Fixed size: embed it in a run.
 */
struct tlsverify_record {
	int			 nerrors;
	struct tlsverify_error	 errors[TLSVERIFY_ERRORS_MAX];
};

/* What a context is built from; strings borrowed for the call. */
struct tlsverify_ctx_conf {
	const char	*ca_file;	/* NULL: the system store */
	const char	*cert_file;	/* NULL: no client certificate */
	const char	*key_file;	/* NULL: the key is in cert_file */
	int		 min_version;	/* TLS1_2_VERSION...; 0: any */
	int		 max_version;	/* 0: any */
};

/* ---- classification --------------------------------------------------- */

/*
 * Classifies one verify result: code (X509_V_ERR_*) concerns cert at
 * depth in chain (what the peer sent, leaf first; may be NULL); cert NULL
 * picks the one concerned from chain.  host is the name checked (for
 * mismatches; may be NULL).  Writes the message into msg and returns
 * PROBE_OK (code X509_V_OK, msg ""), PROBE_TLS_EXPIRED,
 * PROBE_TLS_NOT_YET_VALID, PROBE_TLS_HOSTNAME_MISMATCH or
 * PROBE_TLS_UNTRUSTED.  All arguments borrowed.
 */
enum probe_status tlsverify_classify(long code, struct x509_st *cert,
	    int depth, struct stack_st_X509 *chain, const char *host,
	    time_t now, char *msg, size_t msglen);

/*
 * Classifies a whole record: the worst error (expired, not yet valid,
 * untrusted, hostname mismatch, in that order) makes the reason and the
 * message, the others are appended ("; also self-signed").  flags drop
 * classes the user turned off.  Returns PROBE_OK with msg "" when nothing
 * is left.
 */
enum probe_status tlsverify_record_classify(
	    const struct tlsverify_record *rec, unsigned flags,
	    const char *host, time_t now, char *msg, size_t msglen);

/* Returns the status one verify code maps to (PROBE_TLS_UNTRUSTED...). */
enum probe_status tlsverify_code_status(long code);

/*
 * Classifies a failed handshake from OpenSSL's error (ERR_get_error(),
 * 0 when none) and the errno of an SSL_ERROR_SYSCALL (0 when none):
 * PROBE_TLS_VERSION when no protocol version was acceptable to both
 * sides (naming min_version and max_version; 0 when unset), else
 * PROBE_TLS_HANDSHAKE_FAILED, with "handshake failed: <reason>".
 */
enum probe_status tlsverify_handshake_error(unsigned long err, int sys_errno,
	    int min_version, int max_version, char *msg, size_t msglen);

/* ---- inspection -------------------------------------------------------- */

/*
 * Writes what people call cert: "CN=<common name>", else its subject in
 * RFC 2253 form, truncated to fit.
 */
void	tlsverify_cert_name(struct x509_st *cert, char *buf, size_t buflen);
/* Returns whole days from now to t, rounded down (negative in the past). */
int	tlsverify_days_left(int64_t t, time_t now);
/* Sets *not_before and *not_after (seconds since the epoch); 0 or -1. */
int	tlsverify_cert_times(struct x509_st *cert, int64_t *not_before,
	    int64_t *not_after);
/*
 * Finds the certificate of chain that expires first; sets *depth (0: the
 * leaf) and *not_after.  Returns it (borrowed), or NULL for an empty chain.
 */
struct x509_st *tlsverify_earliest(struct stack_st_X509 *chain, int *depth,
	    int64_t *not_after);
/*
 * Fills info from a connection whose handshake completed: version,
 * cipher, the leaf's names, serial, SANs, key, dates and days left, the
 * earliest expiry over the chain the peer sent, the verify result and
 * the stapled OCSP status (when one was requested and sent).
 */
void	tlsverify_info_fill(struct probe_tls *info, struct ssl_st *ssl,
	    time_t now);
/*
 * min_days_left: returns PROBE_TLS_EXPIRING_SOON with a message naming
 * the certificate (the leaf, or the chain's earliest) and its date when
 * fewer than min_days whole days are left, else PROBE_OK.
 */
enum probe_status tlsverify_expiring(const struct probe_tls *info,
	    int min_days, time_t now, char *msg, size_t msglen);
/* Adds "tls": {...} to a JSON record when info has a certificate; 0/-1. */
int	tlsverify_info_json(const struct probe_tls *info,
	    struct json_t *root);
/*
 * Rule metrics "tls.days_left" and "tls.earliest_days_left": 0 with
 * *value set, or -1 when the metric is not one of these or there was no
 * certificate.
 */
int	tlsverify_metric(const struct probe_tls *info, const char *name,
	    double *value);

/*
 * The TLS families of /metrics, blackbox_exporter's, shared by every kind
 * whose result has a handshake (tls, https): put TLSVERIFY_FAMILIES in the
 * kind's family table and hand its indexes, less the first, to
 * tlsverify_metrics_write().  Nothing is written when no certificate was
 * seen.
 */
#define TLSVERIFY_FAMILIES						\
	{ "probe_ssl_earliest_cert_expiry", "gauge",			\
	    "Returns last SSL chain expiry in unixtime" },		\
	{ "probe_ssl_last_chain_expiry_timestamp_seconds", "gauge",	\
	    "Returns last SSL chain expiry in timestamp" },		\
	{ "probe_tls_version_info", "gauge",				\
	    "Returns the TLS version used or NaN when unknown" }
#define TLSVERIFY_NFAMILIES	3
void	tlsverify_metrics_write(const struct probe_tls *info, size_t fam,
	    probe_sample_cb emit, void *arg);

/* ---- verify callback and contexts -------------------------------------- */

/*
 * Installs the recording verify callback on ctx, keeping its verify mode.
 * With SSL_VERIFY_NONE every error of the chain is recorded and the
 * handshake completes; with SSL_VERIFY_PEER the first error is recorded
 * and stops it, as OpenSSL would.
 */
void	tlsverify_ctx_install(struct ssl_ctx_st *ctx);
/* Records ssl's verify errors into rec (borrowed until SSL_free). */
void	tlsverify_record_attach(struct ssl_st *ssl,
	    struct tlsverify_record *rec);
/*
 * The same for a context of one's own (e.g. libcurl's, from
 * CURLOPT_SSL_CTX_FUNCTION); an SSL's own record takes precedence.
 */
void	tlsverify_record_attach_ctx(struct ssl_ctx_st *ctx,
	    struct tlsverify_record *rec);

/*
 * Returns a context for conf, from the cache or built (client method,
 * SSL_VERIFY_NONE, recording callback, the CA store, client certificate,
 * versions); the caller holds one reference, released with
 * tlsverify_ctx_put().  A changed file (inode, size, mtime) builds a new
 * one.  NULL with err set ("ca_file /x: No such file or directory").
 */
struct ssl_ctx_st *tlsverify_ctx_get(const struct tlsverify_ctx_conf *conf,
	    char *err, size_t errlen);
/* Releases a reference from tlsverify_ctx_get(); NULL is a no-op. */
void	tlsverify_ctx_put(struct ssl_ctx_st *ctx);
/* Returns the number of contexts in the cache (for tests). */
size_t	tlsverify_ctx_count(void);

/* Returns "TLSv1.2" for TLS1_2_VERSION..., "any" for 0. */
const char *tlsverify_version_str(int version);
/* Returns TLS1_2_VERSION for "1.2" (also "TLSv1.2"), or -1. */
int	tlsverify_version_parse(const char *s);

#endif /* SONDE_TLSVERIFY_H */
