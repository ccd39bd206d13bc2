/* SPDX-License-Identifier: ISC */
/*
 * tlsverify: the words sonde uses about certificates, and the OpenSSL
 * contexts its TLS probes share.
 *
 * This module owns: the mapping from OpenSSL verify results to reason
 * codes and messages (one place, so the tls and http checks say the same
 * thing about the same certificate); reading a handshake's facts into a
 * struct probe_tls, with its JSON object and rule metrics; the recording
 * verify callback; and the cache of SSL_CTX objects, one per distinct
 * (ca_file, client certificate/key, versions), refcounted by the configs
 * that use them.  Building a context loads its CA store, which costs far
 * more than a handshake, so it must never happen per probe.
 *
 * It does not own sockets, handshakes or SSL objects (the checks do), nor
 * decide what a user wants to fail on (the checks pass flags).
 *
 * Which certificate a message names: a verify error concerns one
 * certificate (OpenSSL's "current certificate" at its error depth).  The
 * leaf is "certificate", a self-signed one further up is "root
 * certificate", the rest "intermediate certificate", each named by its
 * subject CN (RFC 5280 section 4.1.2.6).  "incomplete chain" versus
 * "unknown CA" is a judgement: when the leaf's own issuer is missing the
 * server most likely forgot to send its intermediate (RFC 8446 section
 * 4.4.2 asks it to send the chain); when an issuer further up is missing,
 * the chain leads to a CA this host does not trust.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "probe.h"
#include "result.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define TLSVERIFY_DAY	86400

/* A file's identity, so an edited CA file builds a new context. */
struct tlsverify_stamp {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	int64_t		 mtime_ns;
};

struct tlsverify_ctx_entry {
	struct tlsverify_ctx_entry	*next;
	SSL_CTX				*ctx;
	int				 refs;
	char				*ca_file;
	char				*cert_file;
	char				*key_file;
	int				 min_version;
	int				 max_version;
	struct tlsverify_stamp		 stamps[3]; /* ca, cert, key */
};

static struct tlsverify_ctx_entry	*tlsverify_ctxs;
static int				 tlsverify_ex_ssl = -1;
static int				 tlsverify_ex_ctx = -1;

/* ---- words ------------------------------------------------------------ */

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
tlsverify_tm_epoch(const struct tm *tm)
{
	int64_t	y = (int64_t)tm->tm_year + 1900, m = tm->tm_mon + 1;
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm->tm_mday - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * TLSVERIFY_DAY +
	    tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* "2026-11-20" */
static const char *
tlsverify_date(int64_t t, char *buf, size_t buflen)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, buflen, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, buflen, "@%lld", (long long)t);
	return buf;
}

/* "7 days ago", "in 5 days", "in 3 hours": t relative to now. */
static const char *
tlsverify_when(int64_t t, time_t now, char *buf, size_t buflen)
{
	int64_t	d = t - (int64_t)now, a = d < 0 ? -d : d;
	char	n[40];

	if (a >= 2 * TLSVERIFY_DAY)
		snprintf(n, sizeof(n), "%lld days", (long long)(a /
		    TLSVERIFY_DAY));
	else if (a >= TLSVERIFY_DAY)
		snprintf(n, sizeof(n), "1 day");
	else if (a >= 7200)
		snprintf(n, sizeof(n), "%lld hours", (long long)(a / 3600));
	else if (a >= 120)
		snprintf(n, sizeof(n), "%lld minutes", (long long)(a / 60));
	else
		snprintf(n, sizeof(n), "%lld seconds", (long long)a);
	if (d < 0)
		snprintf(buf, buflen, "%s ago", n);
	else
		snprintf(buf, buflen, "in %s", n);
	return buf;
}

/* Copies s into buf, control bytes as '?': names come from the network. */
static void
tlsverify_copy(char *buf, size_t buflen, const char *s, size_t len)
{
	size_t	i;

	if (buflen == 0)
		return;
	for (i = 0; i < len && i + 1 < buflen; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	buf[i] = '\0';
}

/* The whole name in RFC 2253 form ("CN=a,O=b"), truncated to fit. */
static void
tlsverify_name_str(X509_NAME *name, char *buf, size_t buflen)
{
	BIO	*bio;
	char	*p;
	long	 len;

	buf[0] = '\0';
	if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0 && (len = BIO_get_mem_data(bio,
	    &p)) > 0)
		tlsverify_copy(buf, buflen, p, (size_t)len);
	BIO_free(bio);
}

/* "CN=<common name>" of name, else the whole name. */
static void
tlsverify_name_short(X509_NAME *name, char *buf, size_t buflen)
{
	X509_NAME_ENTRY	*e;
	unsigned char	*utf = NULL;
	int		 i, len;

	i = name == NULL ? -1 : X509_NAME_get_index_by_NID(name,
	    NID_commonName, -1);
	if (i < 0 || (e = X509_NAME_get_entry(name, i)) == NULL ||
	    (len = ASN1_STRING_to_UTF8(&utf, X509_NAME_ENTRY_get_data(e))) <
	    0) {
		tlsverify_name_str(name, buf, buflen);
		return;
	}
	if (buflen > 3) {
		memcpy(buf, "CN=", 3);
		tlsverify_copy(buf + 3, buflen - 3, (char *)utf, (size_t)len);
	}
	OPENSSL_free(utf);
}

void
tlsverify_cert_name(X509 *cert, char *buf, size_t buflen)
{
	tlsverify_name_short(cert == NULL ? NULL :
	    X509_get_subject_name(cert), buf, buflen);
}

/*
 * The CN part of an RFC 2253 subject as stored in struct probe_tls
 * ("CN=a,O=b" gives "CN=a"), else all of it.
 */
static void
tlsverify_dn_short(const char *dn, char *buf, size_t buflen)
{
	const char	*p = dn, *e;

	while (p != NULL && strncmp(p, "CN=", 3) != 0) {
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	if (p == NULL)
		p = dn;
	for (e = p; *e != '\0' && *e != ','; e++)
		if (*e == '\\' && e[1] != '\0')
			e++;
	if (p == dn && *e == ',' && strncmp(dn, "CN=", 3) != 0)
		e = dn + strlen(dn);
	tlsverify_copy(buf, buflen, p, (size_t)(e - p));
}

int
tlsverify_days_left(int64_t t, time_t now)
{
	int64_t	d = t - (int64_t)now;

	/* Rounded down, also below zero: 1 s past expiry is day -1. */
	if (d < 0)
		return (int)-((-d + TLSVERIFY_DAY - 1) / TLSVERIFY_DAY);
	return (int)(d / TLSVERIFY_DAY);
}

int
tlsverify_cert_times(X509 *cert, int64_t *not_before, int64_t *not_after)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (cert == NULL || ASN1_TIME_to_tm(X509_get0_notBefore(cert),
	    &tm) != 1)
		return -1;
	*not_before = tlsverify_tm_epoch(&tm);
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return -1;
	*not_after = tlsverify_tm_epoch(&tm);
	return 0;
}

X509 *
tlsverify_earliest(STACK_OF(X509) *chain, int *depth, int64_t *not_after)
{
	X509	*best = NULL, *c;
	int64_t	 nb, na;
	int	 i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		c = sk_X509_value(chain, i);
		if (tlsverify_cert_times(c, &nb, &na) == -1)
			continue;
		if (best == NULL || na < *not_after) {
			best = c;
			*depth = i;
			*not_after = na;
		}
	}
	return best;
}

/* "DNS:a, DNS:b, IP:192.0.2.1" */
static void
tlsverify_sans(X509 *cert, char *buf, size_t buflen)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	const unsigned char	*d;
	char			 one[PROBE_TLS_NAME_MAX];
	char			 ip[INET6_ADDRSTRLEN];
	size_t			 o = 0;
	int			 i, len;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		one[0] = '\0';
		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			memcpy(one, "DNS:", 4);
			tlsverify_copy(one + 4, sizeof(one) - 4,
			    (const char *)d, (size_t)len);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if ((len == 4 || len == 16) && inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, d, ip, sizeof(ip)) != NULL)
				snprintf(one, sizeof(one), "IP:%s", ip);
		}
		if (one[0] != '\0' && o < buflen)
			o += (size_t)snprintf(buf + o, buflen - o, "%s%s",
			    o > 0 ? ", " : "", one);
	}
	GENERAL_NAMES_free(gens);
}

/* ---- classification --------------------------------------------------- */

enum probe_status
tlsverify_code_status(long code)
{
	switch (code) {
	case X509_V_OK:
		return PROBE_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return PROBE_TLS_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return PROBE_TLS_NOT_YET_VALID;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return PROBE_TLS_HOSTNAME_MISMATCH;
	default:
		return PROBE_TLS_UNTRUSTED;
	}
}

static const char *
tlsverify_role(const struct tlsverify_error *e)
{
	if (e->depth == 0)
		return "certificate";
	return e->self_signed ? "root certificate" :
	    "intermediate certificate";
}

/* The leaf's own issuer is missing: see the top of the file. */
static bool
tlsverify_incomplete(const struct tlsverify_error *e)
{
	switch (e->code) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return e->depth == 0 && !e->self_signed;
	default:
		return false;
	}
}

/* A few words for "; also ...". */
static const char *
tlsverify_short(const struct tlsverify_error *e)
{
	switch (e->code) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "hostname mismatch";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "self-signed";
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return "unknown CA";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return tlsverify_incomplete(e) ? "incomplete chain" :
		    "unknown CA";
	default:
		return X509_verify_cert_error_string(e->code);
	}
}

static void
tlsverify_untrusted_msg(const struct tlsverify_error *e, char *msg,
    size_t msglen)
{
	switch (e->code) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(msg, msglen, "self-signed: certificate %s is not "
		    "issued by a trusted CA", e->name);
		return;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(msg, msglen, "unknown CA: the chain ends in root "
		    "%s, which is not in the trusted CA store", e->name);
		return;
	default:
		break;
	}
	if (tlsverify_incomplete(e))
		snprintf(msg, msglen, "incomplete chain: the server sent "
		    "certificate %s without its issuer %s (%d certificate%s "
		    "sent; the issuer is not in the trusted CA store either)",
		    e->name, e->issuer, e->sent, e->sent == 1 ? "" : "s");
	else if (e->code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    e->code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    e->code == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)
		snprintf(msg, msglen, "unknown CA: %s, the issuer of %s %s, "
		    "is not in the trusted CA store", e->issuer,
		    tlsverify_role(e), e->name);
	else
		snprintf(msg, msglen, "%s %s: %s", tlsverify_role(e),
		    e->name, X509_verify_cert_error_string(e->code));
}

/* "certificate for www.example.com does not match host api.example.com" */
static void
tlsverify_mismatch_msg(const struct tlsverify_error *e, const char *host,
    char *msg, size_t msglen)
{
	char		 first[PROBE_TLS_NAME_MAX];
	const char	*p;
	size_t		 n;

	if (strncmp(e->name, "CN=", 3) == 0)
		snprintf(first, sizeof(first), "%s", e->name + 3);
	else if (strncmp(e->sans, "DNS:", 4) == 0 ||
	    strncmp(e->sans, "IP:", 3) == 0) {
		p = strchr(e->sans, ':') + 1;
		n = strcspn(p, ",");
		tlsverify_copy(first, sizeof(first), p, n);
	} else
		snprintf(first, sizeof(first), "%s", e->name);
	snprintf(msg, msglen, "certificate for %s does not match host %s "
	    "(%s%s)", first, host != NULL ? host : "?",
	    e->sans[0] != '\0' ? "SANs: " : "no SANs",
	    e->sans);
}

static enum probe_status
tlsverify_error_msg(const struct tlsverify_error *e, const char *host,
    time_t now, char *msg, size_t msglen)
{
	enum probe_status	st = tlsverify_code_status(e->code);
	char			date[32], when[48];

	switch (st) {
	case PROBE_OK:
		msg[0] = '\0';
		break;
	case PROBE_TLS_EXPIRED:
		snprintf(msg, msglen, "%s %s expired %s (%s)",
		    tlsverify_role(e), e->name, tlsverify_date(e->not_after,
		    date, sizeof(date)), tlsverify_when(e->not_after, now,
		    when, sizeof(when)));
		break;
	case PROBE_TLS_NOT_YET_VALID:
		snprintf(msg, msglen, "%s %s is not valid until %s (%s)",
		    tlsverify_role(e), e->name, tlsverify_date(e->not_before,
		    date, sizeof(date)), tlsverify_when(e->not_before, now,
		    when, sizeof(when)));
		break;
	case PROBE_TLS_HOSTNAME_MISMATCH:
		tlsverify_mismatch_msg(e, host, msg, msglen);
		break;
	default:
		tlsverify_untrusted_msg(e, msg, msglen);
		break;
	}
	return st;
}

/* Copies what a message needs about cert into e. */
static void
tlsverify_error_set(struct tlsverify_error *e, long code, X509 *cert,
    int depth, int sent)
{
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->depth = depth;
	e->sent = sent;
	if (cert == NULL) {
		snprintf(e->name, sizeof(e->name), "at depth %d", depth);
		return;
	}
	e->self_signed = X509_self_signed(cert, 0) == 1;
	(void)tlsverify_cert_times(cert, &e->not_before, &e->not_after);
	tlsverify_cert_name(cert, e->name, sizeof(e->name));
	tlsverify_name_short(X509_get_issuer_name(cert), e->issuer,
	    sizeof(e->issuer));
	if (depth == 0)
		tlsverify_sans(cert, e->sans, sizeof(e->sans));
}

/* Which certificate of chain a code concerns when the caller has none. */
static int
tlsverify_pick(long code, STACK_OF(X509) *chain, time_t now)
{
	int64_t	nb, na;
	int	i, n = chain == NULL ? 0 : sk_X509_num(chain);

	for (i = 0; i < n; i++) {
		if (tlsverify_cert_times(sk_X509_value(chain, i), &nb,
		    &na) == -1)
			continue;
		if ((code == X509_V_ERR_CERT_HAS_EXPIRED && na < now) ||
		    (code == X509_V_ERR_CERT_NOT_YET_VALID && nb > now))
			return i;
	}
	switch (code) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return n > 0 ? n - 1 : 0;	/* where the chain stops */
	default:
		return 0;
	}
}

enum probe_status
tlsverify_classify(long code, X509 *cert, int depth, STACK_OF(X509) *chain,
    const char *host, time_t now, char *msg, size_t msglen)
{
	struct tlsverify_error	e;
	int			sent;

	sent = chain == NULL ? 1 : sk_X509_num(chain);
	if (cert == NULL && chain != NULL && sk_X509_num(chain) > 0) {
		depth = tlsverify_pick(code, chain, now);
		cert = sk_X509_value(chain, depth);
	}
	tlsverify_error_set(&e, code, cert, depth, sent);
	return tlsverify_error_msg(&e, host, now, msg, msglen);
}

static int
tlsverify_rank(enum probe_status st)
{
	switch (st) {
	case PROBE_TLS_EXPIRED:
		return 0;
	case PROBE_TLS_NOT_YET_VALID:
		return 1;
	case PROBE_TLS_UNTRUSTED:
		return 2;
	case PROBE_TLS_HOSTNAME_MISMATCH:
		return 3;
	default:
		return 4;
	}
}

static bool
tlsverify_wanted(const struct tlsverify_error *e, unsigned flags)
{
	enum probe_status	st = tlsverify_code_status(e->code);

	if (st == PROBE_OK)
		return false;
	if (st == PROBE_TLS_HOSTNAME_MISMATCH)
		return (flags & TLSVERIFY_NO_HOSTNAME) == 0;
	return (flags & TLSVERIFY_NO_CHAIN) == 0;
}

/* True when error i says nothing new (same words, same certificate). */
static bool
tlsverify_said(const struct tlsverify_record *rec, int i,
    const struct tlsverify_error *best, unsigned flags)
{
	const struct tlsverify_error	*e = &rec->errors[i], *p;
	int				 j;

	if (e->depth == best->depth &&
	    strcmp(tlsverify_short(e), tlsverify_short(best)) == 0)
		return true;
	for (j = 0; j < i; j++) {
		p = &rec->errors[j];
		if (p != best && tlsverify_wanted(p, flags) &&
		    p->depth == e->depth &&
		    strcmp(tlsverify_short(p), tlsverify_short(e)) == 0)
			return true;
	}
	return false;
}

enum probe_status
tlsverify_record_classify(const struct tlsverify_record *rec, unsigned flags,
    const char *host, time_t now, char *msg, size_t msglen)
{
	const struct tlsverify_error	*e, *best = NULL;
	enum probe_status		 st;
	size_t				 o;
	int				 i;

	msg[0] = '\0';
	for (i = 0; i < rec->nerrors; i++) {
		e = &rec->errors[i];
		if (tlsverify_wanted(e, flags) && (best == NULL ||
		    tlsverify_rank(tlsverify_code_status(e->code)) <
		    tlsverify_rank(tlsverify_code_status(best->code))))
			best = e;
	}
	if (best == NULL)
		return PROBE_OK;
	st = tlsverify_error_msg(best, host, now, msg, msglen);
	for (i = 0; i < rec->nerrors; i++) {
		e = &rec->errors[i];
		if (e == best || !tlsverify_wanted(e, flags) ||
		    tlsverify_said(rec, i, best, flags) ||
		    (o = strlen(msg)) + 1 >= msglen)
			continue;
		if (e->depth == best->depth)
			snprintf(msg + o, msglen - o, "; also %s",
			    tlsverify_short(e));
		else
			snprintf(msg + o, msglen - o, "; also %s (%s)",
			    tlsverify_short(e), e->name);
	}
	return st;
}

/* ---- handshake failures ------------------------------------------------ */

static bool
tlsverify_version_reason(unsigned long err)
{
	if (ERR_GET_LIB(err) != ERR_LIB_SSL)
		return false;
	switch (ERR_GET_REASON(err)) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
		return true;
	default:
		return false;
	}
}

enum probe_status
tlsverify_handshake_error(unsigned long err, int sys_errno, int min_version,
    int max_version, char *msg, size_t msglen)
{
	const char	*why = err != 0 ? ERR_reason_error_string(err) : NULL;
	char		 code[64];

	if (err != 0 && why == NULL) {
		ERR_error_string_n(err, code, sizeof(code));
		why = code;
	}

	if (err != 0 && tlsverify_version_reason(err)) {
		snprintf(msg, msglen, "handshake failed: no TLS version both "
		    "sides accept (sonde allows %s to %s; %s)",
		    min_version == 0 ? "any" :
		    tlsverify_version_str(min_version), max_version == 0 ?
		    "any" : tlsverify_version_str(max_version), why);
		return PROBE_TLS_VERSION;
	}
	if (why != NULL && ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_WRONG_VERSION_NUMBER)
		snprintf(msg, msglen, "handshake failed: %s (does the port "
		    "speak TLS?)", why);
	else if (why != NULL)
		snprintf(msg, msglen, "handshake failed: %s", why);
	else if (sys_errno != 0)
		snprintf(msg, msglen, "handshake failed: %s",
		    strerror(sys_errno));
	else
		snprintf(msg, msglen, "handshake failed: connection closed "
		    "by the server");
	return PROBE_TLS_HANDSHAKE_FAILED;
}

const char *
tlsverify_version_str(int version)
{
	switch (version) {
	case 0:
		return "any";
	case TLS1_VERSION:
		return "TLSv1";
	case TLS1_1_VERSION:
		return "TLSv1.1";
	case TLS1_2_VERSION:
		return "TLSv1.2";
	case TLS1_3_VERSION:
		return "TLSv1.3";
	default:
		return "unknown";
	}
}

int
tlsverify_version_parse(const char *s)
{
	static const struct {
		const char	*name;
		int		 version;
	} v[] = {
		{ "1.0", TLS1_VERSION }, { "1.1", TLS1_1_VERSION },
		{ "1.2", TLS1_2_VERSION }, { "1.3", TLS1_3_VERSION },
	};
	size_t	i;

	if (strncmp(s, "TLSv", 4) == 0)
		s += 4;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(s, v[i].name) == 0 || (strcmp(s, "1") == 0 &&
		    v[i].version == TLS1_VERSION))
			return v[i].version;
	return -1;
}

/* ---- inspection -------------------------------------------------------- */

static void
tlsverify_key(struct probe_tls *info, X509 *leaf)
{
	EVP_PKEY	*pk = X509_get0_pubkey(leaf);
	const char	*t;

	if (pk == NULL)
		return;
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		t = "RSA";
		break;
	case EVP_PKEY_RSA_PSS:
		t = "RSA-PSS";
		break;
	case EVP_PKEY_EC:
		t = "EC";
		break;
	case EVP_PKEY_ED25519:
		t = "ED25519";
		break;
	case EVP_PKEY_ED448:
		t = "ED448";
		break;
	case EVP_PKEY_DSA:
		t = "DSA";
		break;
	default:
		t = "other";
		break;
	}
	snprintf(info->key_type, sizeof(info->key_type), "%s", t);
	info->key_bits = EVP_PKEY_get_bits(pk);
}

static void
tlsverify_leaf(struct probe_tls *info, X509 *leaf, time_t now)
{
	BIGNUM	*bn;
	char	*hex;

	tlsverify_name_str(X509_get_subject_name(leaf), info->subject,
	    sizeof(info->subject));
	tlsverify_name_str(X509_get_issuer_name(leaf), info->issuer,
	    sizeof(info->issuer));
	tlsverify_sans(leaf, info->sans, sizeof(info->sans));
	tlsverify_key(info, leaf);
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf),
	    NULL)) != NULL && (hex = BN_bn2hex(bn)) != NULL) {
		snprintf(info->serial, sizeof(info->serial), "%s", hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	if (tlsverify_cert_times(leaf, &info->not_before,
	    &info->not_after) == 0)
		info->days_left = tlsverify_days_left(info->not_after, now);
}

/* The issuer of leaf among chain, or NULL. */
static X509 *
tlsverify_issuer(X509 *leaf, STACK_OF(X509) *chain)
{
	X509	*c;
	int	 i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		c = sk_X509_value(chain, i);
		if (c != leaf && X509_check_issued(c, leaf) == X509_V_OK)
			return c;
	}
	return NULL;
}

/* The stapled OCSP response (RFC 6960, RFC 6066 section 8), if any. */
static void
tlsverify_ocsp(struct probe_tls *info, SSL *ssl, X509 *leaf,
    STACK_OF(X509) *chain)
{
	const unsigned char	*p = NULL;
	OCSP_RESPONSE		*resp = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_CERTID		*id = NULL;
	ASN1_GENERALIZEDTIME	*rev, *thisupd, *nextupd;
	X509			*issuer;
	long			 len;
	int			 status, reason;

	len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
	if (len <= 0 || p == NULL)
		return;
	snprintf(info->ocsp, sizeof(info->ocsp), "invalid");
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, len)) == NULL ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL ||
	    OCSP_basic_verify(bs, chain, SSL_CTX_get_cert_store(
	    SSL_get_SSL_CTX(ssl)), 0) <= 0 ||
	    (issuer = tlsverify_issuer(leaf, chain)) == NULL ||
	    (id = OCSP_cert_to_id(NULL, leaf, issuer)) == NULL ||
	    OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
	    &nextupd) != 1)
		goto out;
	if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1)
		snprintf(info->ocsp, sizeof(info->ocsp), "stale");
	else
		snprintf(info->ocsp, sizeof(info->ocsp), "%s",
		    OCSP_cert_status_str(status));
out:
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}

void
tlsverify_info_fill(struct probe_tls *info, SSL *ssl, time_t now)
{
	X509			*leaf = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509)		*chain = SSL_get_peer_cert_chain(ssl);
	const SSL_CIPHER	*c = SSL_get_current_cipher(ssl);
	const char		*cn = NULL;
	X509			*early;
	long			 vr = SSL_get_verify_result(ssl);

	snprintf(info->version, sizeof(info->version), "%s",
	    SSL_get_version(ssl));
	if (c != NULL && (cn = SSL_CIPHER_standard_name(c)) == NULL)
		cn = SSL_CIPHER_get_name(c);
	snprintf(info->cipher, sizeof(info->cipher), "%s", cn != NULL ? cn :
	    "");
	snprintf(info->verify, sizeof(info->verify), "%s", vr == X509_V_OK ?
	    "ok" : X509_verify_cert_error_string(vr));
	if (leaf == NULL)
		return;
	tlsverify_leaf(info, leaf, now);
	info->earliest_not_after = info->not_after;
	info->earliest_days_left = info->days_left;
	tlsverify_cert_name(leaf, info->earliest_subject,
	    sizeof(info->earliest_subject));
	early = tlsverify_earliest(chain, &info->earliest_depth,
	    &info->earliest_not_after);
	if (early != NULL) {
		info->earliest_days_left = tlsverify_days_left(
		    info->earliest_not_after, now);
		tlsverify_cert_name(early, info->earliest_subject,
		    sizeof(info->earliest_subject));
	}
	tlsverify_ocsp(info, ssl, leaf, chain);
}

enum probe_status
tlsverify_expiring(const struct probe_tls *info, int min_days, time_t now,
    char *msg, size_t msglen)
{
	char	name[PROBE_TLS_NAME_MAX], date[32], when[48];
	bool	leaf;

	if (info->not_after == 0 || min_days <= 0)
		return PROBE_OK;
	leaf = info->days_left < min_days;
	if (!leaf && info->earliest_days_left >= min_days)
		return PROBE_OK;
	if (leaf) {
		tlsverify_dn_short(info->subject, name, sizeof(name));
		snprintf(msg, msglen, "certificate %s expire%s %s (%s; "
		    "min_days_left is %d)", name, info->not_after < now ?
		    "d" : "s", tlsverify_date(info->not_after, date,
		    sizeof(date)), tlsverify_when(info->not_after, now, when,
		    sizeof(when)), min_days);
	} else
		snprintf(msg, msglen, "chain certificate %s (depth %d) "
		    "expire%s %s (%s), before the leaf; min_days_left is %d",
		    info->earliest_subject, (int)info->earliest_depth,
		    info->earliest_not_after < now ? "d" : "s",
		    tlsverify_date(info->earliest_not_after, date,
		    sizeof(date)), tlsverify_when(info->earliest_not_after,
		    now, when, sizeof(when)), min_days);
	return PROBE_TLS_EXPIRING_SOON;
}

static int
tlsverify_json_time(json_t *obj, const char *key, int64_t t)
{
	time_t		tt = (time_t)t;
	struct tm	tm;
	char		buf[32];

	if (gmtime_r(&tt, &tm) == NULL)
		return -1;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_set_new(obj, key, json_string(buf));
}

/* The certificate's fields; only when one was seen. */
static int
tlsverify_json_cert(const struct probe_tls *info, json_t *o)
{
	if (json_object_set_new(o, "days_left",
	    json_integer(info->days_left)) == -1 ||
	    tlsverify_json_time(o, "not_before", info->not_before) == -1 ||
	    tlsverify_json_time(o, "not_after", info->not_after) == -1 ||
	    result_json_set_string(o, "subject", info->subject) == -1 ||
	    result_json_set_string(o, "issuer", info->issuer) == -1 ||
	    result_json_set_string(o, "serial", info->serial) == -1 ||
	    result_json_set_string(o, "sans", info->sans) == -1 ||
	    result_json_set_string(o, "key_type", info->key_type) == -1 ||
	    json_object_set_new(o, "key_bits",
	    json_integer(info->key_bits)) == -1 ||
	    json_object_set_new(o, "earliest_days_left",
	    json_integer(info->earliest_days_left)) == -1 ||
	    tlsverify_json_time(o, "earliest_not_after",
	    info->earliest_not_after) == -1 ||
	    result_json_set_string(o, "earliest_subject",
	    info->earliest_subject) == -1)
		return -1;
	if (info->ocsp[0] != '\0' &&
	    result_json_set_string(o, "ocsp", info->ocsp) == -1)
		return -1;
	return 0;
}

int
tlsverify_info_json(const struct probe_tls *info, json_t *root)
{
	json_t	*o;

	if (info->version[0] == '\0')
		return 0;
	if ((o = json_object()) == NULL)
		return -1;
	if (result_json_set_string(o, "version", info->version) == -1 ||
	    result_json_set_string(o, "cipher", info->cipher) == -1 ||
	    result_json_set_string(o, "verify", info->verify) == -1 ||
	    (info->not_after != 0 && tlsverify_json_cert(info, o) == -1)) {
		json_decref(o);
		return -1;
	}
	return json_object_set_new(root, "tls", o);
}

int
tlsverify_metric(const struct probe_tls *info, const char *name,
    double *value)
{
	if (info->not_after == 0)
		return -1;
	if (strcmp(name, "tls.days_left") == 0)
		*value = info->days_left;
	else if (strcmp(name, "tls.earliest_days_left") == 0)
		*value = info->earliest_days_left;
	else
		return -1;
	return 0;
}

/*
 * Blackbox's values: the earliest notAfter of the certificates the peer
 * sent; the same only when that chain verified (blackbox takes the
 * verified chains, which it only has then; the root, not sent, is left
 * out here); the version as Go names it, "TLS 1.3".
 */
void
tlsverify_metrics_write(const struct probe_tls *info, size_t fam,
    probe_sample_cb emit, void *arg)
{
	char	label[40];

	if (info->not_after == 0)
		return;
	switch (fam) {
	case 0:
		emit(arg, NULL, (double)info->earliest_not_after);
		break;
	case 1:
		if (strcmp(info->verify, "ok") == 0)
			emit(arg, NULL, (double)info->earliest_not_after);
		break;
	case 2:
		if (strncmp(info->version, "TLSv", 4) != 0)
			break;
		snprintf(label, sizeof(label), "version=\"TLS %s\"",
		    info->version + 4);
		emit(arg, label, 1);
		break;
	default:
		break;
	}
}

/* ---- verify callback ---------------------------------------------------- */

static void
tlsverify_indexes(void)
{
	if (tlsverify_ex_ssl == -1)
		tlsverify_ex_ssl = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    NULL);
	if (tlsverify_ex_ctx == -1)
		tlsverify_ex_ctx = SSL_CTX_get_ex_new_index(0, NULL, NULL,
		    NULL, NULL);
}

static void
tlsverify_record_add(struct tlsverify_record *rec, X509_STORE_CTX *sctx)
{
	STACK_OF(X509)	*sent = X509_STORE_CTX_get0_untrusted(sctx);
	long		 code = X509_STORE_CTX_get_error(sctx);
	int		 depth = X509_STORE_CTX_get_error_depth(sctx), i;

	for (i = 0; i < rec->nerrors; i++)
		if (rec->errors[i].code == code &&
		    rec->errors[i].depth == depth)
			return;
	if (rec->nerrors == TLSVERIFY_ERRORS_MAX)
		return;
	tlsverify_error_set(&rec->errors[rec->nerrors++], code,
	    X509_STORE_CTX_get_current_cert(sctx), depth,
	    sent != NULL ? sk_X509_num(sent) : 1);
}

static int
tlsverify_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL				*ssl;
	struct tlsverify_record		*rec = NULL;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return 0;
	if (tlsverify_ex_ssl != -1)
		rec = SSL_get_ex_data(ssl, tlsverify_ex_ssl);
	if (rec == NULL && tlsverify_ex_ctx != -1)
		rec = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
		    tlsverify_ex_ctx);
	if (rec != NULL)
		tlsverify_record_add(rec, sctx);
	/* Go on to find every error, unless the caller wants a stop. */
	return (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) ? 0 : 1;
}

void
tlsverify_ctx_install(SSL_CTX *ctx)
{
	tlsverify_indexes();
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx),
	    tlsverify_verify_cb);
}

void
tlsverify_record_attach(SSL *ssl, struct tlsverify_record *rec)
{
	tlsverify_indexes();
	memset(rec, 0, sizeof(*rec));
	SSL_set_ex_data(ssl, tlsverify_ex_ssl, rec);
}

void
tlsverify_record_attach_ctx(SSL_CTX *ctx, struct tlsverify_record *rec)
{
	tlsverify_indexes();
	memset(rec, 0, sizeof(*rec));
	SSL_CTX_set_ex_data(ctx, tlsverify_ex_ctx, rec);
}

/* ---- the context cache -------------------------------------------------- */

static int
tlsverify_stamp(const char *what, const char *path,
    struct tlsverify_stamp *st, char *err, size_t errlen)
{
	struct stat	sb;

	memset(st, 0, sizeof(*st));
	if (path == NULL)
		return 0;
	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
	    sb.st_mtim.tv_nsec;
	return 0;
}

static bool
tlsverify_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static struct tlsverify_ctx_entry *
tlsverify_ctx_find(const struct tlsverify_ctx_conf *c,
    const struct tlsverify_stamp *stamps)
{
	struct tlsverify_ctx_entry	*e;

	for (e = tlsverify_ctxs; e != NULL; e = e->next)
		if (tlsverify_streq(e->ca_file, c->ca_file) &&
		    tlsverify_streq(e->cert_file, c->cert_file) &&
		    tlsverify_streq(e->key_file, c->key_file) &&
		    e->min_version == c->min_version &&
		    e->max_version == c->max_version &&
		    memcmp(e->stamps, stamps, sizeof(e->stamps)) == 0)
			return e;
	return NULL;
}

/* "ca_file /x: <OpenSSL's reason>" */
static void
tlsverify_ssl_err(const char *what, const char *path, char *err,
    size_t errlen)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*why = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s %s: %s", what, path, why != NULL ? why :
	    "cannot be loaded");
	ERR_clear_error();
}

static int
tlsverify_ctx_files(SSL_CTX *ctx, const struct tlsverify_ctx_conf *c,
    char *err, size_t errlen)
{
	const char	*key = c->key_file != NULL ? c->key_file :
	    c->cert_file;

	if (c->ca_file != NULL && SSL_CTX_load_verify_locations(ctx,
	    c->ca_file, NULL) != 1) {
		tlsverify_ssl_err("ca_file", c->ca_file, err, errlen);
		return -1;
	}
	if (c->ca_file == NULL && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tlsverify_ssl_err("the system CA store", "", err, errlen);
		return -1;
	}
	if (c->cert_file == NULL)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1) {
		tlsverify_ssl_err("client_cert", c->cert_file, err, errlen);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) !=
	    X509_R_KEY_VALUES_MISMATCH) {
		tlsverify_ssl_err("client_key", key, err, errlen);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "client_key %s does not match "
		    "client_cert %s", key, c->cert_file);
		return -1;
	}
	return 0;
}

static SSL_CTX *
tlsverify_ctx_build(const struct tlsverify_ctx_conf *c, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tlsverify_ssl_err("SSL_CTX_new", "", err, errlen);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	tlsverify_ctx_install(ctx);
	/* Every probe is a full handshake: no resumption (honest timing). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/*
	 * A handshake waits for the server most of its life, holding a
	 * ~17 kB read and a ~17 kB write buffer it does not need while
	 * waiting; released, 100 handshakes in flight hold 3 MB less.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_min_proto_version(ctx, c->min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, c->max_version) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "versions %s to %s are not supported",
		    tlsverify_version_str(c->min_version),
		    tlsverify_version_str(c->max_version));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tlsverify_ctx_files(ctx, c, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *
tlsverify_ctx_get(const struct tlsverify_ctx_conf *c, char *err,
    size_t errlen)
{
	struct tlsverify_ctx_entry	*e;
	struct tlsverify_stamp		 stamps[3];
	SSL_CTX				*ctx;

	if (tlsverify_stamp("ca_file", c->ca_file, &stamps[0], err,
	    errlen) == -1 || tlsverify_stamp("client_cert", c->cert_file,
	    &stamps[1], err, errlen) == -1 || tlsverify_stamp("client_key",
	    c->key_file, &stamps[2], err, errlen) == -1)
		return NULL;
	if ((e = tlsverify_ctx_find(c, stamps)) != NULL) {
		e->refs++;
		return e->ctx;
	}
	if ((ctx = tlsverify_ctx_build(c, err, errlen)) == NULL)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	e->ctx = ctx;
	e->refs = 1;
	e->ca_file = c->ca_file != NULL ? xstrdup(c->ca_file) : NULL;
	e->cert_file = c->cert_file != NULL ? xstrdup(c->cert_file) : NULL;
	e->key_file = c->key_file != NULL ? xstrdup(c->key_file) : NULL;
	e->min_version = c->min_version;
	e->max_version = c->max_version;
	memcpy(e->stamps, stamps, sizeof(e->stamps));
	e->next = tlsverify_ctxs;
	tlsverify_ctxs = e;
	return ctx;
}

void
tlsverify_ctx_put(SSL_CTX *ctx)
{
	struct tlsverify_ctx_entry	**ep, *e;

	if (ctx == NULL)
		return;
	for (ep = &tlsverify_ctxs; (e = *ep) != NULL; ep = &e->next) {
		if (e->ctx != ctx)
			continue;
		if (--e->refs > 0)
			return;
		*ep = e->next;
		SSL_CTX_free(e->ctx);
		free(e->ca_file);
		free(e->cert_file);
		free(e->key_file);
		free(e);
		return;
	}
}

size_t
tlsverify_ctx_count(void)
{
	struct tlsverify_ctx_entry	*e;
	size_t				 n = 0;

	for (e = tlsverify_ctxs; e != NULL; e = e->next)
		n++;
	return n;
}
