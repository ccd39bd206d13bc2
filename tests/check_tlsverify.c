/* SPDX-License-Identifier: ISC */
/*
 * Tests for tlsverify: real handshakes between an OpenSSL client (context
 * from tlsverify_ctx_get(), recording callback attached) and an OpenSSL
 * server in the same process over a socketpair, with certificates made by
 * the test (tlscert.c): a private root, an intermediate, and leaves that
 * are valid, expired, not yet valid, self-signed, for another host, sent
 * without their intermediate, or from an unknown CA.  Every case asserts
 * the reason code and the exact message.  No network.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "probe.h"
#include "testutil.h"
#include "tlscert.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define DAY	86400

/* One private PKI per test: root -> intermediate -> leaves. */
static struct tlscert	root, inter;
static const char	*dir;
static char		*root_path;
static time_t		 now;

static void
pki_setup(void)
{
	dir = testutil_tmpdir();
	now = time(NULL);
	tlscert_make(&root, TLSCERT_EC, "Test Root", NULL, true, -DAY,
	    3650 * DAY, NULL);
	tlscert_make(&inter, TLSCERT_EC, "Test Intermediate", &root, true,
	    -DAY, 10 * DAY + 3600, NULL);
	root_path = tlscert_write_chain(dir, "root.pem", &root.cert, 1);
}

static void
pki_teardown(void)
{
	tlscert_free(&root);
	tlscert_free(&inter);
	free(root_path);
}

/* "2026-11-20" for now + off, as messages print dates. */
static const char *
date_at(int64_t off, char *buf, size_t len)
{
	time_t		t = now + (time_t)off;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

static SSL_CTX *
server_ctx(const struct tlscert *leaf, X509 *const *extra, int nextra,
    int max_version)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_server_method());
	int	 i;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, leaf->cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, leaf->key), 1);
	for (i = 0; i < nextra; i++) {
		X509_up_ref(extra[i]);
		ck_assert_int_eq(SSL_CTX_add_extra_chain_cert(ctx, extra[i]),
		    1);
	}
	if (max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	return ctx;
}

/* The client side of one handshake, kept for the assertions. */
struct hs {
	SSL			*ssl;
	struct tlsverify_record	 rec;
	bool			 done;
	unsigned long		 err;
	int			 fds[2];
	SSL			*srv;
};

/* Drives both ends until the client finishes or fails (bounded). */
static void
hs_run(struct hs *h, SSL_CTX *cctx, SSL_CTX *sctx, const char *host)
{
	int	i, r, e;
	bool	sdone = false;

	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    h->fds), 0);
	h->ssl = SSL_new(cctx);
	h->srv = SSL_new(sctx);
	SSL_set_fd(h->ssl, h->fds[0]);
	SSL_set_fd(h->srv, h->fds[1]);
	SSL_set_connect_state(h->ssl);
	SSL_set_accept_state(h->srv);
	SSL_set_tlsext_host_name(h->ssl, host);
	SSL_set1_host(h->ssl, host);
	tlsverify_record_attach(h->ssl, &h->rec);
	for (i = 0; i < 50 && !h->done && h->err == 0; i++) {
		ERR_clear_error();
		if ((r = SSL_do_handshake(h->ssl)) == 1)
			h->done = true;
		else if ((e = SSL_get_error(h->ssl, r)) != SSL_ERROR_WANT_READ &&
		    e != SSL_ERROR_WANT_WRITE)
			h->err = ERR_peek_error() != 0 ? ERR_peek_error() : 1;
		if (!sdone)
			sdone = SSL_do_handshake(h->srv) == 1;
	}
	ERR_clear_error();
}

static void
hs_free(struct hs *h)
{
	SSL_free(h->ssl);
	SSL_free(h->srv);
	close(h->fds[0]);
	close(h->fds[1]);
}

static SSL_CTX *
client_ctx(const char *ca_file, int min_version, int max_version)
{
	struct tlsverify_ctx_conf	c = { ca_file, NULL, NULL, min_version,
					    max_version };
	char				err[256] = "";
	SSL_CTX				*ctx;

	ctx = tlsverify_ctx_get(&c, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "tlsverify_ctx_get: %s", err);
	return ctx;
}

/*
 * Serves leaf (+ extra) and classifies what the client recorded for host;
 * checks the reason and the message.
 */
static void
expect_verify(const struct tlscert *leaf, X509 *const *extra, int nextra,
    const char *ca_file, const char *host, unsigned flags,
    enum probe_status want, const char *want_msg)
{
	SSL_CTX			*cctx = client_ctx(ca_file, 0, 0);
	SSL_CTX			*sctx = server_ctx(leaf, extra, nextra, 0);
	struct hs		 h;
	enum probe_status	 st;
	char			 msg[PROBE_MESSAGE_MAX];

	hs_run(&h, cctx, sctx, host);
	ck_assert_msg(h.done, "handshake did not complete (%s)",
	    ERR_reason_error_string(h.err));
	st = tlsverify_record_classify(&h.rec, flags, host, now, msg,
	    sizeof(msg));
	ck_assert_str_eq(msg, want_msg);
	ck_assert_str_eq(probe_status_str(st), probe_status_str(want));
	hs_free(&h);
	SSL_CTX_free(sctx);
	tlsverify_ctx_put(cctx);
}

/* ---- classification through real handshakes ---------------------------- */

START_TEST(test_tlsverify_valid_chain)
{
	struct tlscert	leaf;

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -DAY, 30 * DAY + 3600, "DNS:api.example.com");
	expect_verify(&leaf, &inter.cert, 1, root_path, "api.example.com", 0,
	    PROBE_OK, "");
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_expired)
{
	struct tlscert	leaf;
	char		want[256], d[32];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -30 * DAY, -7 * DAY - 3600, "DNS:api.example.com");
	snprintf(want, sizeof(want), "certificate CN=api.example.com expired "
	    "%s (7 days ago)", date_at(-7 * DAY - 3600, d, sizeof(d)));
	expect_verify(&leaf, &inter.cert, 1, root_path, "api.example.com", 0,
	    PROBE_TLS_EXPIRED, want);
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_not_yet_valid)
{
	struct tlscert	leaf;
	char		want[256], d[32];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    4 * DAY + 3600, 90 * DAY, "DNS:api.example.com");
	snprintf(want, sizeof(want), "certificate CN=api.example.com is not "
	    "valid until %s (in 4 days)", date_at(4 * DAY + 3600, d,
	    sizeof(d)));
	expect_verify(&leaf, &inter.cert, 1, root_path, "api.example.com", 0,
	    PROBE_TLS_NOT_YET_VALID, want);
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_intermediate_expired)
{
	struct tlscert	old, leaf;
	char		want[256], d[32];

	tlscert_make(&old, TLSCERT_EC, "Old Intermediate", &root, true,
	    -400 * DAY, -2 * DAY - 3600, NULL);
	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &old, false,
	    -DAY, 30 * DAY, "DNS:api.example.com");
	snprintf(want, sizeof(want), "intermediate certificate "
	    "CN=Old Intermediate expired %s (2 days ago)",
	    date_at(-2 * DAY - 3600, d, sizeof(d)));
	expect_verify(&leaf, &old.cert, 1, root_path, "api.example.com", 0,
	    PROBE_TLS_EXPIRED, want);
	tlscert_free(&leaf);
	tlscert_free(&old);
}
END_TEST

START_TEST(test_tlsverify_self_signed)
{
	struct tlscert	leaf;

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", NULL, false,
	    -DAY, 30 * DAY, "DNS:api.example.com");
	expect_verify(&leaf, NULL, 0, root_path, "api.example.com", 0,
	    PROBE_TLS_UNTRUSTED, "self-signed: certificate CN=api.example.com "
	    "is not issued by a trusted CA");
	/* verify = false: the chain's faults are not failures. */
	expect_verify(&leaf, NULL, 0, root_path, "api.example.com",
	    TLSVERIFY_NO_CHAIN, PROBE_OK, "");
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_expired_self_signed)
{
	struct tlscert	leaf;
	char		want[256], d[32];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", NULL, false,
	    -30 * DAY, -3 * DAY - 60, "DNS:api.example.com");
	snprintf(want, sizeof(want), "certificate CN=api.example.com expired "
	    "%s (3 days ago); also self-signed", date_at(-3 * DAY - 60, d,
	    sizeof(d)));
	expect_verify(&leaf, NULL, 0, root_path, "api.example.com", 0,
	    PROBE_TLS_EXPIRED, want);
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_incomplete_chain)
{
	struct tlscert	leaf;

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -DAY, 30 * DAY, "DNS:api.example.com");
	expect_verify(&leaf, NULL, 0, root_path, "api.example.com", 0,
	    PROBE_TLS_UNTRUSTED, "incomplete chain: the server sent "
	    "certificate CN=api.example.com without its issuer "
	    "CN=Test Intermediate (1 certificate sent; the issuer is not in "
	    "the trusted CA store either)");
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_unknown_ca)
{
	struct tlscert	leaf, other;
	char		*other_path;
	X509		*chain[2];

	tlscert_make(&other, TLSCERT_EC, "Other Root", NULL, true, -DAY,
	    365 * DAY, NULL);
	other_path = tlscert_write_chain(dir, "other.pem", &other.cert, 1);
	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -DAY, 30 * DAY, "DNS:api.example.com");
	expect_verify(&leaf, &inter.cert, 1, other_path, "api.example.com", 0,
	    PROBE_TLS_UNTRUSTED, "unknown CA: CN=Test Root, the issuer of "
	    "intermediate certificate CN=Test Intermediate, is not in the "
	    "trusted CA store");
	chain[0] = inter.cert;
	chain[1] = root.cert;
	expect_verify(&leaf, chain, 2, other_path, "api.example.com", 0,
	    PROBE_TLS_UNTRUSTED, "unknown CA: the chain ends in root "
	    "CN=Test Root, which is not in the trusted CA store");
	tlscert_free(&leaf);
	tlscert_free(&other);
	free(other_path);
}
END_TEST

START_TEST(test_tlsverify_hostname_mismatch)
{
	struct tlscert	leaf;

	tlscert_make(&leaf, TLSCERT_EC, "www.example.com", &inter, false,
	    -DAY, 30 * DAY, "DNS:www.example.com,DNS:example.com");
	expect_verify(&leaf, &inter.cert, 1, root_path, "api.example.com", 0,
	    PROBE_TLS_HOSTNAME_MISMATCH, "certificate for www.example.com "
	    "does not match host api.example.com (SANs: DNS:www.example.com, "
	    "DNS:example.com)");
	expect_verify(&leaf, &inter.cert, 1, root_path, "api.example.com",
	    TLSVERIFY_NO_HOSTNAME, PROBE_OK, "");
	/* An IP literal is checked against IP SANs (RFC 6125 section 1.7.2). */
	expect_verify(&leaf, &inter.cert, 1, root_path, "127.0.0.1", 0,
	    PROBE_TLS_HOSTNAME_MISMATCH, "certificate for www.example.com "
	    "does not match host 127.0.0.1 (SANs: DNS:www.example.com, "
	    "DNS:example.com)");
	tlscert_free(&leaf);
}
END_TEST

/* ---- classification without a callback ---------------------------------- */

START_TEST(test_tlsverify_classify_from_chain)
{
	struct tlscert	 leaf;
	STACK_OF(X509)	*chain = sk_X509_new_null();
	char		 msg[256], want[256], d[32];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -30 * DAY, -DAY - 3600, "DNS:api.example.com");
	sk_X509_push(chain, leaf.cert);
	sk_X509_push(chain, inter.cert);
	snprintf(want, sizeof(want), "certificate CN=api.example.com expired "
	    "%s (1 day ago)", date_at(-DAY - 3600, d, sizeof(d)));
	ck_assert_int_eq(tlsverify_classify(X509_V_ERR_CERT_HAS_EXPIRED, NULL,
	    0, chain, "api.example.com", now, msg, sizeof(msg)),
	    PROBE_TLS_EXPIRED);
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(tlsverify_classify(X509_V_OK, NULL, 0, chain,
	    "api.example.com", now, msg, sizeof(msg)), PROBE_OK);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(tlsverify_classify(X509_V_ERR_CERT_REVOKED,
	    leaf.cert, 0, chain, "api.example.com", now, msg, sizeof(msg)),
	    PROBE_TLS_UNTRUSTED);
	ck_assert_str_eq(msg, "certificate CN=api.example.com: "
	    "certificate revoked");
	sk_X509_free(chain);
	tlscert_free(&leaf);
}
END_TEST

static const struct {
	long			code;
	enum probe_status	status;
} code_table[] = {
	{ X509_V_OK, PROBE_OK },
	{ X509_V_ERR_CERT_HAS_EXPIRED, PROBE_TLS_EXPIRED },
	{ X509_V_ERR_CERT_NOT_YET_VALID, PROBE_TLS_NOT_YET_VALID },
	{ X509_V_ERR_HOSTNAME_MISMATCH, PROBE_TLS_HOSTNAME_MISMATCH },
	{ X509_V_ERR_IP_ADDRESS_MISMATCH, PROBE_TLS_HOSTNAME_MISMATCH },
	{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, PROBE_TLS_UNTRUSTED },
	{ X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, PROBE_TLS_UNTRUSTED },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, PROBE_TLS_UNTRUSTED },
	{ X509_V_ERR_CERT_REVOKED, PROBE_TLS_UNTRUSTED },
	{ X509_V_ERR_CERT_SIGNATURE_FAILURE, PROBE_TLS_UNTRUSTED },
};

START_TEST(test_tlsverify_code_status)
{
	ck_assert_str_eq(probe_status_str(tlsverify_code_status(
	    code_table[_i].code)), probe_status_str(code_table[_i].status));
}
END_TEST

/* ---- handshake failures ----------------------------------------------- */

START_TEST(test_tlsverify_version_refused)
{
	struct tlscert	 leaf;
	SSL_CTX		*cctx = client_ctx(root_path, TLS1_3_VERSION, 0);
	SSL_CTX		*sctx;
	struct hs	 h;
	char		 msg[256];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -DAY, 30 * DAY, "DNS:api.example.com");
	sctx = server_ctx(&leaf, &inter.cert, 1, TLS1_2_VERSION);
	hs_run(&h, cctx, sctx, "api.example.com");
	ck_assert(!h.done);
	ck_assert_int_eq(tlsverify_handshake_error(h.err, 0, TLS1_3_VERSION,
	    0, msg, sizeof(msg)), PROBE_TLS_VERSION);
	ck_assert_str_eq(msg, "handshake failed: no TLS version both sides "
	    "accept (sonde allows TLSv1.3 to any; tlsv1 alert protocol "
	    "version)");
	hs_free(&h);
	SSL_CTX_free(sctx);
	tlsverify_ctx_put(cctx);
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_handshake_words)
{
	char	msg[256];

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
	ck_assert_int_eq(tlsverify_handshake_error(0, ECONNRESET, 0, 0, msg,
	    sizeof(msg)), PROBE_TLS_HANDSHAKE_FAILED);
	ck_assert_str_eq(msg, "handshake failed: Connection reset by peer");
	ck_assert_int_eq(tlsverify_handshake_error(0, 0, 0, 0, msg,
	    sizeof(msg)), PROBE_TLS_HANDSHAKE_FAILED);
	ck_assert_str_eq(msg, "handshake failed: connection closed by the "
	    "server");
	ck_assert_int_eq(tlsverify_handshake_error(ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_WRONG_VERSION_NUMBER), 0, 0, 0, msg, sizeof(msg)),
	    PROBE_TLS_HANDSHAKE_FAILED);
	ck_assert_str_eq(msg, "handshake failed: wrong version number (does "
	    "the port speak TLS?)");
}
END_TEST

/* ---- inspection ------------------------------------------------------- */

START_TEST(test_tlsverify_info)
{
	struct tlscert	 leaf;
	SSL_CTX		*cctx = client_ctx(root_path, 0, 0), *sctx;
	struct probe_tls info;
	struct hs	 h;
	json_t		*root_json = json_object(), *t;
	char		 msg[256], want[256], d[32];

	tlscert_make(&leaf, TLSCERT_RSA, "api.example.com", &inter, false,
	    -DAY, 30 * DAY + 3600, "DNS:api.example.com,IP:127.0.0.1");
	sctx = server_ctx(&leaf, &inter.cert, 1, 0);
	hs_run(&h, cctx, sctx, "api.example.com");
	ck_assert(h.done);
	memset(&info, 0, sizeof(info));
	tlsverify_info_fill(&info, h.ssl, now);
	ck_assert_str_eq(info.version, "TLSv1.3");
	ck_assert_str_eq(info.cipher, "TLS_AES_256_GCM_SHA384");
	ck_assert_str_eq(info.verify, "ok");
	ck_assert_str_eq(info.subject, "CN=api.example.com,O=sonde tests");
	ck_assert_str_eq(info.issuer, "CN=Test Intermediate,O=sonde tests");
	ck_assert_str_eq(info.sans, "DNS:api.example.com, IP:127.0.0.1");
	ck_assert_str_eq(info.key_type, "RSA");
	ck_assert_int_eq(info.key_bits, 2048);
	ck_assert_int_eq(info.days_left, 30);
	ck_assert_int_eq(info.earliest_days_left, 10);
	ck_assert_int_eq(info.earliest_depth, 1);
	ck_assert_str_eq(info.earliest_subject, "CN=Test Intermediate");
	ck_assert_str_eq(info.ocsp, "");
	ck_assert_int_eq(tlsverify_expiring(&info, 7, now, msg, sizeof(msg)),
	    PROBE_OK);
	snprintf(want, sizeof(want), "chain certificate CN=Test Intermediate "
	    "(depth 1) expires %s (in 10 days), before the leaf; "
	    "min_days_left is 14", date_at(10 * DAY + 3600, d, sizeof(d)));
	ck_assert_int_eq(tlsverify_expiring(&info, 14, now, msg, sizeof(msg)),
	    PROBE_TLS_EXPIRING_SOON);
	ck_assert_str_eq(msg, want);
	snprintf(want, sizeof(want), "certificate CN=api.example.com expires "
	    "%s (in 30 days; min_days_left is 45)", date_at(30 * DAY + 3600,
	    d, sizeof(d)));
	ck_assert_int_eq(tlsverify_expiring(&info, 45, now, msg, sizeof(msg)),
	    PROBE_TLS_EXPIRING_SOON);
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(tlsverify_info_json(&info, root_json), 0);
	t = json_object_get(root_json, "tls");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(json_string_value(json_object_get(t, "version")),
	    "TLSv1.3");
	ck_assert_int_eq(json_integer_value(json_object_get(t, "days_left")),
	    30);
	ck_assert_ptr_nonnull(json_object_get(t, "not_after"));
	json_decref(root_json);
	hs_free(&h);
	SSL_CTX_free(sctx);
	tlsverify_ctx_put(cctx);
	tlscert_free(&leaf);
}
END_TEST

START_TEST(test_tlsverify_metric)
{
	struct probe_tls	info;
	double			v = 0;

	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(tlsverify_metric(&info, "tls.days_left", &v), -1);
	info.not_after = 1;
	info.days_left = 12;
	info.earliest_days_left = 3;
	ck_assert_int_eq(tlsverify_metric(&info, "tls.days_left", &v), 0);
	ck_assert_double_eq(v, 12);
	ck_assert_int_eq(tlsverify_metric(&info, "tls.earliest_days_left",
	    &v), 0);
	ck_assert_double_eq(v, 3);
	ck_assert_int_eq(tlsverify_metric(&info, "tls.nope", &v), -1);
}
END_TEST

static const struct {
	int64_t	off;
	int	days;
} days_table[] = {
	{ 5 * DAY + 10, 5 }, { 5 * DAY, 5 }, { 5 * DAY - 1, 4 },
	{ DAY - 1, 0 }, { 0, 0 }, { -1, -1 }, { -DAY, -1 },
	{ -DAY - 1, -2 },
};

START_TEST(test_tlsverify_days_left)
{
	ck_assert_int_eq(tlsverify_days_left((int64_t)1800000000 +
	    days_table[_i].off, (time_t)1800000000), days_table[_i].days);
}
END_TEST

START_TEST(test_tlsverify_cert_name)
{
	X509	*x = X509_new();
	char	 buf[128];

	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O",
	    MBSTRING_ASC, (const unsigned char *)"No CN Inc", -1, -1, 0);
	tlsverify_cert_name(x, buf, sizeof(buf));
	ck_assert_str_eq(buf, "O=No CN Inc");
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"a\nb", -1, -1, 0);
	tlsverify_cert_name(x, buf, sizeof(buf));
	ck_assert_str_eq(buf, "CN=a?b");
	X509_free(x);
}
END_TEST

static const struct {
	const char	*s;
	int		 v;
} version_table[] = {
	{ "1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
	{ "1.0", TLS1_VERSION }, { "1.1", TLS1_1_VERSION }, { "1.4", -1 },
	{ "tls1.2", -1 }, { "", -1 },
};

START_TEST(test_tlsverify_version_parse)
{
	ck_assert_int_eq(tlsverify_version_parse(version_table[_i].s),
	    version_table[_i].v);
}
END_TEST

/* ---- the context cache ------------------------------------------------ */

START_TEST(test_tlsverify_ctx_cache)
{
	struct tlsverify_ctx_conf	 a = { NULL, NULL, NULL, 0, 0 };
	struct tlsverify_ctx_conf	 b = { NULL, NULL, NULL, 0, 0 };
	SSL_CTX				*c1, *c2, *c3, *c4;
	X509				*chain[2];
	char				 err[256] = "";

	a.ca_file = root_path;
	b.ca_file = root_path;
	c1 = tlsverify_ctx_get(&a, err, sizeof(err));
	c2 = tlsverify_ctx_get(&b, err, sizeof(err));
	ck_assert_ptr_nonnull(c1);
	ck_assert_ptr_eq(c1, c2);
	ck_assert_uint_eq(tlsverify_ctx_count(), 1);
	/*
	 * What every probe's handshake costs: full (no session cache, no
	 * ticket asked for), and no record buffers held while it waits.
	 */
	ck_assert_int_eq(SSL_CTX_get_session_cache_mode(c1),
	    SSL_SESS_CACHE_OFF);
	ck_assert(SSL_CTX_get_options(c1) & SSL_OP_NO_TICKET);
	ck_assert(SSL_CTX_get_mode(c1) & SSL_MODE_RELEASE_BUFFERS);
	b.min_version = TLS1_3_VERSION;
	c3 = tlsverify_ctx_get(&b, err, sizeof(err));
	ck_assert_ptr_ne(c1, c3);
	ck_assert_uint_eq(tlsverify_ctx_count(), 2);
	/* An edited CA file is read again, never a stale store. */
	chain[0] = inter.cert;
	chain[1] = root.cert;
	free(tlscert_write_chain(dir, "root.pem", chain, 2));
	c4 = tlsverify_ctx_get(&a, err, sizeof(err));
	ck_assert_ptr_nonnull(c4);
	ck_assert_ptr_ne(c1, c4);
	ck_assert_uint_eq(tlsverify_ctx_count(), 3);
	tlsverify_ctx_put(c1);
	tlsverify_ctx_put(c2);
	tlsverify_ctx_put(c3);
	ck_assert_uint_eq(tlsverify_ctx_count(), 1);
	tlsverify_ctx_put(c4);
	ck_assert_uint_eq(tlsverify_ctx_count(), 0);
	tlsverify_ctx_put(NULL);
}
END_TEST

START_TEST(test_tlsverify_ctx_errors)
{
	struct tlsverify_ctx_conf	 c = { NULL, NULL, NULL, 0, 0 };
	struct tlscert			 other;
	char				 err[256] = "", *cert, *key, want[512];

	c.ca_file = "/nonexistent/ca.pem";
	ck_assert_ptr_null(tlsverify_ctx_get(&c, err, sizeof(err)));
	ck_assert_str_eq(err, "ca_file /nonexistent/ca.pem: No such file or "
	    "directory");
	c.ca_file = testutil_write_file(dir, "junk.pem", "not a PEM file\n");
	ck_assert_ptr_null(tlsverify_ctx_get(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "junk.pem: ") != NULL, "%s", err);
	free((char *)c.ca_file);
	c.ca_file = root_path;
	tlscert_make(&other, TLSCERT_EC, "client", &root, false, -DAY,
	    DAY, NULL);
	cert = tlscert_write_chain(dir, "client.pem", &other.cert, 1);
	key = tlscert_write_key(dir, "wrong.key", inter.key);
	c.cert_file = cert;
	c.key_file = key;
	ck_assert_ptr_null(tlsverify_ctx_get(&c, err, sizeof(err)));
	snprintf(want, sizeof(want), "client_key %s does not match "
	    "client_cert %s", key, cert);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(tlsverify_ctx_count(), 0);
	free(key);
	key = tlscert_write_key(dir, "client.key", other.key);
	c.key_file = key;
	ck_assert_ptr_nonnull(tlsverify_ctx_get(&c, err, sizeof(err)));
	ck_assert_uint_eq(tlsverify_ctx_count(), 1);
	free(cert);
	free(key);
	tlscert_free(&other);
}
END_TEST

static Suite *
tlsverify_suite(void)
{
	Suite	*s = suite_create("tlsverify");
	TCase	*tc;

	tc = tcase_create("handshake");
	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tlsverify_valid_chain);
	tcase_add_test(tc, test_tlsverify_expired);
	tcase_add_test(tc, test_tlsverify_not_yet_valid);
	tcase_add_test(tc, test_tlsverify_intermediate_expired);
	tcase_add_test(tc, test_tlsverify_self_signed);
	tcase_add_test(tc, test_tlsverify_expired_self_signed);
	tcase_add_test(tc, test_tlsverify_incomplete_chain);
	tcase_add_test(tc, test_tlsverify_unknown_ca);
	tcase_add_test(tc, test_tlsverify_hostname_mismatch);
	tcase_add_test(tc, test_tlsverify_version_refused);
	tcase_add_test(tc, test_tlsverify_info);
	suite_add_tcase(s, tc);

	tc = tcase_create("classify");
	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_test(tc, test_tlsverify_classify_from_chain);
	tcase_add_loop_test(tc, test_tlsverify_code_status, 0,
	    sizeof(code_table) / sizeof(code_table[0]));
	tcase_add_test(tc, test_tlsverify_handshake_words);
	suite_add_tcase(s, tc);

	tc = tcase_create("words");
	tcase_add_test(tc, test_tlsverify_metric);
	tcase_add_loop_test(tc, test_tlsverify_days_left, 0,
	    sizeof(days_table) / sizeof(days_table[0]));
	tcase_add_test(tc, test_tlsverify_cert_name);
	tcase_add_loop_test(tc, test_tlsverify_version_parse, 0,
	    sizeof(version_table) / sizeof(version_table[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("contexts");
	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_test(tc, test_tlsverify_ctx_cache);
	tcase_add_test(tc, test_tlsverify_ctx_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tlsverify_suite());
	int	 failed;

	/* As the daemon does: OpenSSL writes with write(2) (see main.c). */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
