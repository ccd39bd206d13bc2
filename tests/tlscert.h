/*
 * tlscert: certificates made by the tests themselves with the OpenSSL API
 * (a private root, intermediates, leaves with chosen dates, SANs and key
 * types), and written as PEM files for servers and for ca_file.
 */
#ifndef SONDE_TLSCERT_H
#define SONDE_TLSCERT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum tlscert_keytype {
	TLSCERT_EC,		/* P-256 */
	TLSCERT_RSA		/* 2048 bits */
};

struct tlscert {
	EVP_PKEY	*key;
	X509		*cert;
};

/*
 * Makes a key and a certificate with subject CN=cn, signed by issuer
 * (NULL: self-signed), valid from now + nb to now + na seconds; ca makes
 * it a CA (basicConstraints CA:TRUE); sans is "DNS:a,IP:127.0.0.1" or
 * NULL.  Aborts the test on failure.
 */
void	tlscert_make(struct tlscert *out, enum tlscert_keytype type,
	    const char *cn, const struct tlscert *issuer, bool ca, int64_t nb,
	    int64_t na, const char *sans);
void	tlscert_free(struct tlscert *c);
/* Writes certs[0..n) as a PEM file dir/name; returns its path (free). */
char	*tlscert_write_chain(const char *dir, const char *name,
	    X509 *const *certs, int n);
/* Writes key as an unencrypted PEM file dir/name; returns its path. */
char	*tlscert_write_key(const char *dir, const char *name, EVP_PKEY *key);

#endif /* SONDE_TLSCERT_H */
