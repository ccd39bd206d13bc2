/*
 * dns: the DNS check kind (one query of any type to chosen servers over
 * UDP or TCP, with rcode, flag, section and record expectations).
 */
#ifndef SONDE_DNS_H
#define SONDE_DNS_H

#include "probe.h"

extern const struct probe_ops dns_probe_ops;

#endif /* SONDE_DNS_H */
