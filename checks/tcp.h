/*
 * tcp: the TCP check kind (connect, optionally send and match a reply).
 */
#ifndef SONDE_TCP_H
#define SONDE_TCP_H

#include "probe.h"

extern const struct probe_ops tcp_probe_ops;

/*
 * The /probe target of kinds that dial host and port (tcp, tls): sets
 * "host", and "port" when target has one ("host:port", "[v6]:port", a
 * bare host or IPv6 literal), in a module's group.  Returns 0, or -1 with
 * the reason in err.
 */
int	tcp_target_apply(struct config_setting_t *group, const char *target,
	    char *err, size_t errlen);

#endif /* SONDE_TCP_H */
