/*
 * http: the HTTP(S) check kind, on libcurl through curlmux.
 */
#ifndef SONDE_HTTP_H
#define SONDE_HTTP_H

#include "probe.h"

extern const struct probe_ops http_probe_ops;

#endif /* SONDE_HTTP_H */
