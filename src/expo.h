/*
 * expo: what the agent shows of itself over HTTP, as text: the Prometheus
 * exposition of /metrics (blackbox_exporter's names and labels plus a
 * check label, and sonde's own families), the blackbox-format answer of
 * /probe, and the /status.json document.  Pure functions of a view the
 * agent fills per request, so they are tested without a server.
 *
 * Alerts are read through a callback the agent provides (expo_alerts_fn);
 * until the rules engine is wired in, the agent reports none.
 */
#ifndef SONDE_EXPO_H
#define SONDE_EXPO_H

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct check_conf;
struct config;
struct history;
struct probe_result;
struct sched_stats;

/* One alert as the status outputs show it; all borrowed for the call. */
struct expo_alert {
	const char	*rule;
	const char	*check;
	const char	*state;		/* "pending", "firing", "resolved" */
	int64_t		 since;		/* wall clock, µs since the epoch */
};

typedef void (*expo_alert_cb)(const struct expo_alert *alert, void *arg);
/* Calls cb(alert, arg) for every alert the agent holds. */
typedef void (*expo_alerts_fn)(void *src, expo_alert_cb cb, void *arg);

struct outbox;
struct diskq;
struct slo_table;

/* A read-only snapshot of the agent; every pointer borrowed for the call. */
struct expo_view {
	const struct config		*cfg;
	const struct history		*history;
	const struct sched_stats	*stats;
	const char			*agent;		/* agent.name */
	int64_t				 started_at;	/* wall µs */
	int64_t				 now;		/* wall µs */
	bool				 reload_ok;	/* the last one */
	int64_t				 reload_at;	/* wall µs; start */
	uint64_t			 reloads_failed;
	expo_alerts_fn			 alerts;	/* NULL: none */
	void				*alerts_src;
	const struct slo_table		*slo;		/* NULL: none */
	const struct outbox		*outbox;	/* NULL: log only */
	const struct diskq		*diskq;		/* NULL: none */
};

/* The text format: Content-Type of expo_metrics() and expo_probe(). */
#define EXPO_PROM_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Appends the whole /metrics exposition of v to b. */
void	expo_metrics(struct buf *b, const struct expo_view *v);
/*
 * Appends blackbox_exporter's answer to /probe for one result of check
 * (its families without a check label), as blackbox does.
 */
void	expo_probe(struct buf *b, const struct check_conf *check,
	    const struct probe_result *res);
/* Appends the /status.json document; returns 0, or -1 if JSON failed. */
int	expo_status_json(struct buf *b, const struct expo_view *v);

#endif /* SONDE_EXPO_H */
