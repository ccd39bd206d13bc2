/*
 * metrics: sonde's HTTP endpoint on agent.listen (libmicrohttpd, driven by
 * the loop through MHD's epoll fd: no thread).  It serves
 *   GET /metrics       Prometheus text (expo_metrics)
 *   GET /healthz       200 "ok" while the loop runs
 *   GET /status.json   checks, last results, alert states
 *   GET /              the status page (statuspage_html)
 *   GET /probe?module=M&target=T
 *                      blackbox_exporter's endpoint: one probe of the
 *                      config's module M aimed at T, answered when it ends
 * and answers 405 to other methods, 404 to other paths.  Each request asks
 * the agent for a fresh read-only view through the view callback.  A
 * /probe request holds its connection suspended while the probe runs on
 * the loop, so it never blocks anything else.
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include <stddef.h>

struct expo_view;
struct loop;
struct metrics;
struct resolver;

/* Fills v (zeroed first) with the agent's state, valid until return. */
typedef void (*metrics_view_cb)(void *arg, struct expo_view *v);

/*
 * Listens on listen ("127.0.0.1:9116", "[::1]:0"; port 0 picks one) on
 * loop; loop, resolver (for /probe), view and arg are borrowed until
 * metrics_free().  Returns the server, or NULL with a reason in err.
 */
struct metrics	*metrics_new(struct loop *loop, struct resolver *resolver,
		    const char *listen, metrics_view_cb view, void *arg,
		    char *err, size_t errlen);
/* Returns the port bound. */
int		 metrics_port(const struct metrics *m);
/*
 * Cancels /probe runs, closes every connection and the listener; NULL is
 * a no-op.
 */
void		 metrics_free(struct metrics *m);

#endif /* SONDE_METRICS_H */
