/* SPDX-License-Identifier: ISC */
/*
 * tlscert: test certificates through the OpenSSL API, so every date, name
 * and key type is exactly what a test asserts on (the openssl CLI cannot
 * set arbitrary past dates in 3.0 without a CA database).
 */
#include "autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tlscert.h"
#include "xmalloc.h"

static void
tlscert_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ck_assert_msg(ext != NULL, "extension %d=%s", nid, value);
	ck_assert_int_eq(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

static EVP_PKEY *
tlscert_key(enum tlscert_keytype type)
{
	EVP_PKEY	*key;

	if (type == TLSCERT_RSA)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(key);
	return key;
}

void
tlscert_make(struct tlscert *out, enum tlscert_keytype type, const char *cn,
    const struct tlscert *issuer, bool ca, int64_t nb, int64_t na,
    const char *sans)
{
	static long	 serial = 0x1000;
	X509		*x;
	X509		*signer_cert;
	EVP_PKEY	*signer_key;

	out->key = tlscert_key(type);
	x = out->cert = X509_new();
	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, (long)nb, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, (long)na, NULL);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
	    (const unsigned char *)"sonde tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	signer_cert = issuer != NULL ? issuer->cert : x;
	signer_key = issuer != NULL ? issuer->key : out->key;
	X509_set_issuer_name(x, X509_get_subject_name(signer_cert));
	X509_set_pubkey(x, out->key);
	tlscert_ext(x, signer_cert, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	tlscert_ext(x, signer_cert, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" :
	    "critical,digitalSignature,keyEncipherment");
	tlscert_ext(x, signer_cert, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		tlscert_ext(x, signer_cert, NID_authority_key_identifier,
		    "keyid:always");
	if (!ca)
		tlscert_ext(x, signer_cert, NID_ext_key_usage, "serverAuth");
	if (sans != NULL)
		tlscert_ext(x, signer_cert, NID_subject_alt_name, sans);
	ck_assert_int_gt(X509_sign(x, signer_key, EVP_sha256()), 0);
}

void
tlscert_free(struct tlscert *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	c->cert = NULL;
	c->key = NULL;
}

char *
tlscert_write_chain(const char *dir, const char *name, X509 *const *certs,
    int n)
{
	char	*path = xasprintf("%s/%s", dir, name);
	FILE	*f = fopen(path, "w");
	int	 i;

	ck_assert_msg(f != NULL, "open %s", path);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(PEM_write_X509(f, certs[i]), 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

char *
tlscert_write_key(const char *dir, const char *name, EVP_PKEY *key)
{
	char	*path = xasprintf("%s/%s", dir, name);
	FILE	*f = fopen(path, "w");

	ck_assert_msg(f != NULL, "open %s", path);
	ck_assert_int_eq(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}
