/*
 * tls: the TLS check kind (connect, optionally STARTTLS, handshake, and
 * judge the certificates, version and OCSP staple; see tls.c).
 */
#ifndef SONDE_TLS_H
#define SONDE_TLS_H

#include "probe.h"

extern const struct probe_ops tls_probe_ops;

#endif /* SONDE_TLS_H */
