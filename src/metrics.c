/* SPDX-License-Identifier: ISC */
/*
 * metrics: the HTTP endpoint.  This module owns the libmicrohttpd daemon
 * and its place on the loop (MHD's epoll fd watched for reading, MHD's
 * timeout re-armed before each sleep, NOTES-integration.md section 7), the
 * routing and the response buffers.  What the pages say belongs to expo.c
 * and statuspage.c; the state they show belongs to the agent.
 *
 * GET /probe (blackbox_exporter's endpoint) instantiates a module of the
 * running config for the target (config_instantiate), starts one probe
 * run on the loop, and suspends the connection (MHD_suspend_connection);
 * the run's done callback resumes it and the next handler call answers
 * with that one result (expo_probe).  The request owns its run and its
 * one-check generation, freed when MHD reports the request completed;
 * metrics_free() aborts runs still going.  The probe's deadline is the
 * module's timeout, cut to Prometheus's X-Prometheus-Scrape-Timeout-Seconds
 * less half a second when that is shorter, as blackbox_exporter does.
 *
 * Limits: at most METRICS_CONN_MAX connections (METRICS_PER_IP_MAX per
 * address), each closed after METRICS_CONN_TIMEOUT_S idle seconds, so a
 * slow or stuck client cannot hold the agent's memory.  Requests are
 * answered on the first handler call; bodies of other methods are refused
 * with 405 before they are read.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "buf.h"
#include "config.h"
#include "expo.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "probe.h"
#include "statuspage.h"
#include "xmalloc.h"

#define METRICS_CONN_MAX	64
#define METRICS_PER_IP_MAX	16
#define METRICS_CONN_TIMEOUT_S	10

struct metrics_req;

struct metrics {
	struct loop		*loop;
	struct resolver		*resolver;
	struct metrics_req	*reqs;		/* /probe requests alive */
	struct MHD_Daemon	*d;
	int			 epfd;		/* MHD's, watched by the loop */
	int			 port;
	struct loop_timer	 timer;		/* MHD's own timeout */
	metrics_view_cb		 view;
	void			*arg;
	struct buf		 out;		/* reused by every request */
};

static void
metrics_run(struct metrics *m)
{
	if (MHD_run(m->d) == MHD_NO)
		log_warnx("metrics", "MHD_run failed");
}

static void
metrics_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	metrics_run(arg);
}

static void
metrics_timeout(struct loop *loop, struct loop_timer *t, void *arg)
{
	metrics_run(arg);
}

/* Before each sleep: MHD_YES from MHD_get_timeout means run within ms. */
static void
metrics_prepare(struct loop *loop, void *arg)
{
	struct metrics		*m = arg;
	MHD_UNSIGNED_LONG_LONG	 ms;

	if (MHD_get_timeout(m->d, &ms) == MHD_YES)
		loop_timer_after(loop, &m->timer, (int64_t)ms * 1000);
	else
		loop_timer_cancel(loop, &m->timer);
}

static void
metrics_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[256];
	size_t	n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warnx("metrics", "%s", msg);
}

/* Queues status with body (copied) and Content-Type type. */
static enum MHD_Result
metrics_reply(struct MHD_Connection *c, unsigned status, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
metrics_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return metrics_reply(c, status, "text/plain; charset=utf-8", text,
	    strlen(text));
}

/* One /probe request: its generation, its run, its suspended connection. */
struct metrics_req {
	struct metrics		*m;
	struct MHD_Connection	*conn;
	struct config		*cfg;		/* one check; a reference */
	struct probe_run	 run;
	bool			 suspended;
	bool			 done;
	struct metrics_req	*prev, *next;
};

static void
metrics_probe_done(struct probe_run *run, void *arg)
{
	struct metrics_req	*r = arg;

	r->done = true;
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
		/*
		 * Run MHD now (we are on the loop, never inside MHD_run):
		 * with 0.9.75 in external-epoll mode, the wake-up MHD posts
		 * for a resume did not get the connection served (seen: the
		 * request hung until the client gave up).
		 */
		metrics_run(r->m);
	}
}

/* The probe deadline: the timeout, cut to Prometheus's scrape timeout. */
static int64_t
metrics_probe_timeout(struct MHD_Connection *c, int64_t timeout_us)
{
	const char	*h;
	double		 s;

	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Prometheus-Scrape-Timeout-Seconds");
	if (h == NULL || (s = strtod(h, NULL)) <= 0.6)
		return timeout_us;
	if ((int64_t)((s - 0.5) * 1e6) < timeout_us)
		return (int64_t)((s - 0.5) * 1e6);
	return timeout_us;
}

/* First call of a /probe request: start it, or answer 400. */
static enum MHD_Result
metrics_probe_start(struct metrics *m, struct MHD_Connection *c,
    void **con_cls)
{
	struct expo_view	 v;
	struct metrics_req	*r;
	const char		*module, *target;
	char			 err[320], msg[400];

	module = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "module");
	target = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "target");
	if (target == NULL || target[0] == '\0' || module == NULL ||
	    module[0] == '\0')
		return metrics_text(c, MHD_HTTP_BAD_REQUEST, "/probe needs "
		    "?module=NAME&target=TARGET (a module of the modules "
		    "section)\n");
	memset(&v, 0, sizeof(v));
	m->view(m->arg, &v);
	r = xcalloc(1, sizeof(*r));
	if ((r->cfg = config_instantiate(v.cfg, module, target, err,
	    sizeof(err))) == NULL) {
		free(r);
		snprintf(msg, sizeof(msg), "%s\n", err);
		return metrics_text(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	r->m = m;
	r->conn = c;
	if ((r->next = m->reqs) != NULL)
		r->next->prev = r;
	m->reqs = r;
	*con_cls = r;
	probe_run_init(&r->run, m->loop, m->resolver, &r->cfg->checks[0]);
	probe_run_start(&r->run, loop_now(m->loop) + metrics_probe_timeout(c,
	    r->cfg->checks[0].timeout_ms * 1000), metrics_probe_done, r);
	r->suspended = true;	/* done is never called inside start */
	MHD_suspend_connection(c);
	return MHD_YES;
}

static enum MHD_Result
metrics_probe(struct metrics *m, struct MHD_Connection *c, void **con_cls)
{
	struct metrics_req	*r = *con_cls;

	if (r == NULL)
		return metrics_probe_start(m, c, con_cls);
	if (!r->done)		/* resumed without a result: not ours */
		return MHD_NO;
	buf_reset(&m->out);
	expo_probe(&m->out, &r->cfg->checks[0], &r->run.result);
	return metrics_reply(c, MHD_HTTP_OK, EXPO_PROM_TYPE, m->out.data,
	    m->out.len);
}

/* MHD is done with a request: free a /probe's run and generation. */
static void
metrics_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct metrics		*m = cls;
	struct metrics_req	*r = *con_cls;

	if (r == NULL)
		return;
	*con_cls = NULL;
	probe_run_abort(&r->run);	/* a no-op once done */
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		m->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	config_unref(r->cfg);
	free(r);
}

/* Renders one of the agent's pages into m->out; returns its type. */
static const char *
metrics_page(struct metrics *m, const char *url)
{
	struct expo_view	v;

	memset(&v, 0, sizeof(v));
	m->view(m->arg, &v);
	buf_reset(&m->out);
	if (strcmp(url, "/metrics") == 0) {
		expo_metrics(&m->out, &v);
		return EXPO_PROM_TYPE;
	}
	if (strcmp(url, "/status.json") == 0)
		return expo_status_json(&m->out, &v) == 0 ?
		    "application/json" : NULL;
	statuspage_html(&m->out, &v);
	return "text/html; charset=utf-8";
}

static enum MHD_Result
metrics_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct metrics	*m = cls;
	const char	*type;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "only GET and HEAD are served here\n");
	if (strcmp(url, "/healthz") == 0)
		return metrics_text(c, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/probe") == 0)
		return metrics_probe(m, c, con_cls);
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/status.json") != 0 &&
	    strcmp(url, "/") != 0)
		return metrics_text(c, MHD_HTTP_NOT_FOUND, "not found; try /, "
		    "/metrics, /status.json, /probe or /healthz\n");
	if ((type = metrics_page(m, url)) == NULL)
		return metrics_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "cannot encode the status\n");
	return metrics_reply(c, MHD_HTTP_OK, type, m->out.data, m->out.len);
}

/* Starts MHD on ss; returns 0 or -1 with err set. */
static int
metrics_start(struct metrics *m, const struct sockaddr_storage *ss,
    char *err, size_t errlen)
{
	const union MHD_DaemonInfo	*info;
	unsigned int			 flags = MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, metrics_handler, m,
	    MHD_OPTION_EXTERNAL_LOGGER, metrics_mhd_log, m,
	    MHD_OPTION_SOCK_ADDR, ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)METRICS_PER_IP_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)METRICS_CONN_TIMEOUT_S,
	    MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	    MHD_OPTION_NOTIFY_COMPLETED, metrics_completed, m,
	    MHD_OPTION_END);
	if (m->d == NULL) {
		snprintf(err, errlen, "cannot listen: %s", errno != 0 ?
		    strerror(errno) : "libmicrohttpd refused to start");
		return -1;
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	m->epfd = info != NULL ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info != NULL ? info->port : 0;
	if (m->epfd < 0 || loop_fd_add(m->loop, m->epfd, LOOP_READ,
	    metrics_readable, m) == -1) {
		snprintf(err, errlen, "cannot watch libmicrohttpd's epoll fd");
		return -1;
	}
	if (loop_prepare_add(m->loop, metrics_prepare, m) == -1) {
		loop_fd_del(m->loop, m->epfd);
		snprintf(err, errlen, "no pre-sleep hook slot left");
		return -1;
	}
	return 0;
}

/*
 * Beyond loopback, whoever can connect reads every check's name, target
 * and last message, and /probe makes sonde probe any target they name
 * (as blackbox_exporter does): say so once, at start.
 */
static void
metrics_warn_exposed(const struct sockaddr_storage *ss, const char *listen)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
		return;
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return;
	log_warnx("metrics", "agent.listen %s is reachable beyond this "
	    "host: anyone who can connect reads check names, targets and "
	    "messages, and has /probe probe targets of their choosing; "
	    "firewall it or listen on 127.0.0.1", listen);
}

struct metrics *
metrics_new(struct loop *loop, struct resolver *resolver, const char *listen,
    metrics_view_cb view, void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct metrics		*m;
	size_t			 sslen;
	char			 why[160];

	if (config_parse_listen(listen, &ss, &sslen, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "listen %s", why);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->resolver = resolver;
	m->view = view;
	m->arg = arg;
	m->epfd = -1;
	loop_timer_init(&m->timer, metrics_timeout, m);
	if (metrics_start(m, &ss, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", listen, why);
		if (m->d != NULL)
			MHD_stop_daemon(m->d);
		free(m);
		return NULL;
	}
	metrics_warn_exposed(&ss, listen);
	return m;
}

int
metrics_port(const struct metrics *m)
{
	return m->port;
}

void
metrics_free(struct metrics *m)
{
	struct metrics_req	*r;

	if (m == NULL)
		return;
	/* Suspended connections must be resumed before MHD stops. */
	for (r = m->reqs; r != NULL; r = r->next) {
		probe_run_abort(&r->run);
		if (r->suspended) {
			r->suspended = false;
			MHD_resume_connection(r->conn);
		}
	}
	loop_prepare_del(m->loop, metrics_prepare, m);
	loop_timer_cancel(m->loop, &m->timer);
	loop_fd_del(m->loop, m->epfd);
	MHD_stop_daemon(m->d);
	buf_free(&m->out);
	free(m);
}
