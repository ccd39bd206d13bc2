/*
 * tcp: the TCP check kind (connect, optionally send and match a reply).
 */
#ifndef SONDE_TCP_H
#define SONDE_TCP_H

#include "probe.h"

extern const struct probe_ops tcp_probe_ops;

#endif /* SONDE_TCP_H */
