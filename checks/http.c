/* SPDX-License-Identifier: ISC */
/*
 * http: the HTTP(S) check kind.  Resolve the URL's host with sonde's own
 * resolver, run one libcurl transfer per hop on curlmux (the loop's curl
 * multi), follow redirects hop by hop when asked, then hold the response
 * to the expectations: status, body, headers, HTTP version, https.
 *
 * This module owns, per run, one struct in run->priv (the config is
 * checks/http_conf.c's, read once per load): the easy handle, the pending resolver query, the body read so
 * far (at most max_body bytes), the hop's URL and connect-to mapping, and
 * the TLS verify record.  One idempotent http_cleanup() releases all of it
 * whichever way the run ends.  It does not own the multi handle (curlmux),
 * the run's deadline (probe.c arms it and calls expire()), the resolver,
 * nor the TLS classification (tlsverify, shared with the tls check).
 *
 * Honest timings: every probe opens a fresh connection (FRESH_CONNECT,
 * FORBID_REUSE) and a full handshake (no session cache), and curl never
 * resolves: the host is looked up by sonde's c-ares resolver (the resolve
 * phase) and curl is handed the address through CURLOPT_CONNECT_TO, which
 * keeps the URL's host for Host, SNI and certificate checks.  (Debian's
 * libcurl resolves with a thread per lookup and getaddrinfo(3), which the
 * daemon never uses.)  libcurl 7.88 sums its phase times over the legs of
 * a redirect chain, so redirects are followed here, hop by hop, each hop
 * resolved and timed on its own; the phases reported are the sums over
 * the hops, so they add up to the probe's duration.
 *
 * Body cap: libcurl 7.88 checks CURLOPT_MAXFILESIZE only against a
 * Content-Length, so the write callback counts and stops at max_body
 * (a chunked or endless body ends as http_body_too_large, never as an
 * unbounded buffer).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "config.h"
#include "curlmux.h"
#include "http.h"
#include "http_conf.h"
#include "log.h"
#include "loop.h"
#include "pattern.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "sched.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define HTTP_BODY_FIRST		4096	/* first buffer; doubled as needed */

/* ---- a run ------------------------------------------------------------ */

enum http_state {
	HTTP_IDLE,
	HTTP_RESOLVING,
	HTTP_TRANSFER,
	HTTP_STATE_LAST
};

static const char *const http_state_names[] = {
	[HTTP_IDLE] = "idle",
	[HTTP_RESOLVING] = "resolving",
	[HTTP_TRANSFER] = "transfer",
};
_Static_assert(sizeof(http_state_names) / sizeof(http_state_names[0]) ==
    HTTP_STATE_LAST, "http_state_names out of step with enum http_state");

/* One run's state: run->priv. */
struct http_run {
	struct probe_run	*run;
	const struct http_conf	*conf;
	struct curlmux		*mux;
	CURL			*easy;
	struct resolver_query	*query;
	enum http_state		 state;
	char			*url;		/* this hop's */
	char			 host[HTTP_HOST_MAX]; /* this hop's, no [] */
	int			 port;
	bool			 https;
	bool			 get;		/* a 303 turned it into GET */
	bool			 too_large;
	char			 addr[PROBE_ADDRESS_MAX]; /* connecting to */
	struct curl_slist	*connect_to;
	struct curl_slist	*headers;	/* conf's + Host, server_name */
	char			*proxy;		/* with the resolved address */
	int64_t			 mark;		/* start of this hop, µs */
	int64_t			 tls_start;	/* 0, or when TCP was up */
	int			 hops;		/* redirects followed */
	uint64_t		 seen[HTTP_REDIRECTS_LIMIT + 1];
	char			*body;
	size_t			 len, cap;
	int64_t			 received;	/* body bytes of this hop */
	bool			 headers_done;
	bool			 plain;		/* easy from the kept pool */
	struct tlsverify_record	 verify;
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	http_hop_done(CURL *, CURLcode, void *);
static void	http_resolved(const struct resolver_answer *, void *);

static void
http_set_state(struct http_run *h, enum http_state state)
{
	log_debug("probe/http", "check \"%s\": %s -> %s", h->run->check->name,
	    http_state_names[h->state], http_state_names[state]);
	h->state = state;
}

/* Short durations for messages: "0.4ms", "12.3ms", "1.50s". */
static const char *
http_us(int64_t us, char *buf, size_t buflen)
{
	return result_format_us(us, buf, buflen);
}

static const char	http_kept_tag[] = "http";

/*
 * Back to the pool.  A plain check's handle keeps its options for the
 * next plain check, less what points into this run or its config.
 */
static void
http_easy_put(struct http_run *h)
{
	CURL	*e = h->easy;

	h->easy = NULL;
	if (!h->plain) {
		curlmux_easy_put(h->mux, e);
		return;
	}
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, NULL);
	curl_easy_setopt(e, CURLOPT_CONNECT_TO, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curlmux_easy_put_kept(h->mux, e, http_kept_tag);
}

/* Releases everything the run holds; idempotent. */
static void
http_cleanup(struct probe_run *run)
{
	struct http_run	*h = run->priv;

	if (h == NULL)
		return;
	run->priv = NULL;
	resolver_cancel(h->query);
	if (h->easy != NULL) {
		curlmux_remove(h->mux, h->easy);
		http_easy_put(h);
	}
	curl_slist_free_all(h->connect_to);
	curl_slist_free_all(h->headers);
	free(h->proxy);
	free(h->url);
	free(h->body);
	free(h);
}

/* What a person sees of the outcome, whatever it is. */
static void
http_result_fill(struct http_run *h)
{
	struct probe_result	*res = &h->run->result;
	long			 code = 0, ver = 0, port = 0;
	curl_off_t		 clen = -1;
	char			*ip = NULL;

	res->http.redirects = (uint8_t)h->hops;
	res->http.ssl = h->https;
	res->http.insecure = h->https && h->conf->insecure;
	res->http.body_bytes = h->headers_done ? h->received : -1;
	res->http.content_length = -1;
	snprintf(res->http.final_url, sizeof(res->http.final_url), "%s",
	    h->url);
	if (h->easy == NULL)
		return;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &ver);
	res->http.status = (int32_t)code;
	if (code != 0 && curl_easy_getinfo(h->easy,
	    CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen) == CURLE_OK)
		res->http.content_length = clen;
	/* The peer of the last hop, for probe_ip_protocol. */
	if (curl_easy_getinfo(h->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
	    ip != NULL && ip[0] != '\0' && curl_easy_getinfo(h->easy,
	    CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
		snprintf(res->tcp.address, sizeof(res->tcp.address),
		    strchr(ip, ':') != NULL ? "[%s]:%ld" : "%s:%ld", ip, port);
	res->http.version = code == 0 ? 0 : ver == CURL_HTTP_VERSION_1_0 ? 10 :
	    ver == CURL_HTTP_VERSION_1_1 ? 11 : ver == CURL_HTTP_VERSION_2_0 ?
	    20 : ver == CURL_HTTP_VERSION_3 ? 30 : 0;
}

/* Ends the run with run->result as set.  Nothing may touch h after. */
static void
http_finish(struct http_run *h)
{
	struct probe_run	*run = h->run;

	http_result_fill(h);
	http_cleanup(run);
	probe_run_done(run);
}

/* ---- curl callbacks (inside curl: never call back into the multi) ---- */

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_run	*h = arg;
	size_t		 n = size * nmemb;

	if (h->received + (int64_t)n > h->conf->max_body) {
		h->too_large = true;
		return CURL_WRITEFUNC_ERROR;
	}
	h->received += (int64_t)n;
	if (h->conf->body_re == NULL && h->conf->body_not == NULL)
		return n;	/* counted, not kept */
	if (h->len + n > h->cap) {
		while (h->len + n > h->cap)
			h->cap = h->cap == 0 ? HTTP_BODY_FIRST : h->cap * 2;
		h->body = xreallocarray(h->body, h->cap, 1);
	}
	memcpy(h->body + h->len, data, n);
	h->len += n;
	return n;
}

/*
 * Header lines arrive complete.  The end of the headers is where the
 * certificate is looked at: the connection (and its SSL) is still there.
 */
static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_run	*h = arg;
	size_t		 n = size * nmemb;
	SSL		*ssl;
	struct curl_tlssessioninfo *ti = NULL;

	if (n > 2 || (n >= 1 && data[0] != '\r' && data[0] != '\n'))
		return n;
	h->headers_done = true;
	if (!h->https || h->run->result.tls.not_after != 0)
		return n;
	if (curl_easy_getinfo(h->easy, CURLINFO_TLS_SSL_PTR, &ti) ==
	    CURLE_OK && ti != NULL && ti->backend == CURLSSLBACKEND_OPENSSL &&
	    (ssl = ti->internals) != NULL)
		tlsverify_info_fill(&h->run->result.tls, ssl, time(NULL));
	return n;
}

/*
 * CURLOPT_SOCKOPTFUNCTION: close with a reset (SO_LINGER {1, 0}), as the
 * tcp check does by default.  The probe closes first, after the whole
 * response (or on giving up), so a FIN would leave every probe's socket
 * in TIME_WAIT for 60 s on the agent's host: 12,000 sockets at 200
 * probes/s, and ephemeral ports towards one balancer run out near 470/s.
 * Nothing is lost: the request was sent and the response read.
 */
static int
http_sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct linger	lg = { 1, 0 };

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return CURL_SOCKOPT_OK;
}

/*
 * CURLOPT_SSL_CTX_FUNCTION: libcurl 7.88 builds a context per connection
 * and calls this before the handshake.  Record verify errors (tlsverify,
 * the tls check's words) and let OpenSSL check the host name too, so a
 * mismatch is a verify error with the certificate at hand, not only
 * curl's own check after the handshake.
 */
static CURLcode
http_ssl_ctx_cb(CURL *easy, void *sslctx, void *arg)
{
	struct http_run		*h = arg;
	SSL_CTX			*ctx = sslctx;
	X509_VERIFY_PARAM	*param;
	const char		*name;
	struct sockaddr_storage	 ss;

	(void)easy;
	h->tls_start = loop_time(h->run->loop);
	tlsverify_ctx_install(ctx);
	tlsverify_record_attach_ctx(ctx, &h->verify);
	if (h->conf->insecure)
		return CURLE_OK;
	param = SSL_CTX_get0_param(ctx);
	name = h->conf->server_name != NULL &&
	    strcmp(h->host, h->conf->host) == 0 ? h->conf->server_name :
	    h->host;
	if (resolver_literal(name, &ss) != AF_UNSPEC)
		X509_VERIFY_PARAM_set1_ip_asc(param, name);
	else
		X509_VERIFY_PARAM_set1_host(param, name, 0);
	return CURLE_OK;
}

/* ---- phases and words ------------------------------------------------- */

static void
http_phase_add(struct probe_result *res, enum probe_phase phase, int64_t us)
{
	if (us < 0)
		return;
	res->phase[phase] = (res->phase[phase] < 0 ? 0 : res->phase[phase]) +
	    us;
}

struct http_times {
	curl_off_t	nl, co, ap, pre, st, tot;
};

static void
http_times_get(CURL *easy, struct http_times *t)
{
	memset(t, 0, sizeof(*t));
	curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &t->nl);
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &t->co);
	curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &t->ap);
	curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &t->pre);
	curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &t->st);
	curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &t->tot);
}

/*
 * Adds this hop's phases (curl's times are cumulative from the hop's
 * start; the resolve phase is ours, curl only parses an address).
 */
static void
http_times_add(struct http_run *h, const struct http_times *t, int64_t end)
{
	struct probe_result	*res = &h->run->result;
	int64_t			 tcp;

	/*
	 * curl 7.88 records no connect time when the handshake fails; the
	 * SSL_CTX callback's own mark (TCP up, TLS about to start) does.
	 */
	if (t->co == 0 && h->tls_start > 0) {
		tcp = h->tls_start - h->mark;
		http_phase_add(res, PROBE_PHASE_CONNECT, tcp);
		http_phase_add(res, PROBE_PHASE_TLS, end - tcp);
		return;
	}
	if (t->co > 0)
		http_phase_add(res, PROBE_PHASE_CONNECT, t->co - t->nl);
	if (t->ap > 0 && t->co > 0)
		http_phase_add(res, PROBE_PHASE_TLS, t->ap - t->co);
	if (t->st > 0 && t->pre > 0)
		http_phase_add(res, PROBE_PHASE_PROCESSING, t->st - t->pre);
	if (t->st > 0)
		http_phase_add(res, PROBE_PHASE_TRANSFER, (t->tot > t->st ?
		    t->tot : end) - t->st);
}

/* " (redirect 2: http://...)" when past the first hop, else "". */
static const char *
http_hop_str(const struct http_run *h, char *buf, size_t buflen)
{
	if (h->hops == 0)
		buf[0] = '\0';
	else
		snprintf(buf, buflen, " (redirect %d: %s)", h->hops, h->url);
	return buf;
}

/* ---- outcomes --------------------------------------------------------- */

static void
http_fail_connect(struct http_run *h, const char *after)
{
	struct probe_result	*res = &h->run->result;
	long			 err = 0;

	curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &err);
	switch (err) {
	case ECONNREFUSED:
		probe_result_set(res, PROBE_CONNECT_REFUSED,
		    "connect to %s: refused (after %s)", h->addr, after);
		break;
	case ETIMEDOUT:
		probe_result_set(res, PROBE_CONNECT_TIMEOUT,
		    "connect to %s: no answer (after %s)", h->addr, after);
		break;
	case EADDRNOTAVAIL:	/* out of ephemeral ports */
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		probe_result_set(res, PROBE_INTERNAL, "connect to %s: %s",
		    h->addr, strerror((int)err));
		break;
	default:
		probe_result_set(res, PROBE_CONNECT_FAILED,
		    "connect to %s: %s (after %s)", h->addr, err != 0 ?
		    strerror((int)err) : h->errbuf, after);
		break;
	}
}

/* The host name the certificate is checked against on this hop. */
static const char *
http_tls_name(const struct http_run *h)
{
	if (h->conf->server_name != NULL && strcmp(h->host,
	    h->conf->host) == 0)
		return h->conf->server_name;
	return h->host;
}

/*
 * The handshake failed.  A recorded verify error is the reason (the tls
 * check's classification); else OpenSSL's error code, which curl prints
 * as "error:0A00042E:SSL routines::..." in its message.
 */
static void
http_fail_tls(struct http_run *h, const char *after)
{
	struct probe_result	*res = &h->run->result;
	enum probe_status	 st = PROBE_OK;
	char			 msg[PROBE_MESSAGE_MAX];
	const char		*p;
	unsigned long		 code = 0;

	if (h->verify.nerrors > 0)
		st = tlsverify_record_classify(&h->verify, 0, http_tls_name(h),
		    time(NULL), msg, sizeof(msg));
	if (st == PROBE_OK) {
		if ((p = strstr(h->errbuf, "error:")) != NULL)
			code = strtoul(p + 6, NULL, 16);
		st = tlsverify_handshake_error(code, 0, 0, 0, msg,
		    sizeof(msg));
		if (code == 0)
			snprintf(msg, sizeof(msg), "handshake failed: %.200s",
			    h->errbuf);
	}
	probe_result_set(res, st, "%s (tls with %s, after %s)", msg, h->addr,
	    after);
}

static void
http_fail_response(struct http_run *h, CURLcode rc, const char *after)
{
	struct probe_result	*res = &h->run->result;

	switch (rc) {
	case CURLE_GOT_NOTHING:
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR,
		    "%s closed the connection without a response (after %s)",
		    h->addr, after);
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR,
		    "connection to %s broke %s: %s (after %s)", h->addr,
		    h->headers_done ? "during the body" :
		    "before the response", h->errbuf, after);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:	/* "Received HTTP/0.9" */
	case CURLE_WEIRD_SERVER_REPLY:
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR,
		    "response from %s is not HTTP: %s (after %s)", h->addr,
		    h->errbuf, after);
		break;
	default:
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR,
		    "bad response from %s: %s (after %s)", h->addr, h->errbuf,
		    after);
		break;
	}
}

/* A transfer ended with a curl error: which phase, and why. */
static void
http_fail_curl(struct http_run *h, CURLcode rc, int64_t elapsed)
{
	struct probe_result	*res = &h->run->result;
	char			 after[32];

	if (h->errbuf[0] == '\0')
		snprintf(h->errbuf, sizeof(h->errbuf), "%s",
		    curl_easy_strerror(rc));
	http_us(elapsed, after, sizeof(after));
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		http_fail_connect(h, after);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
		http_fail_tls(h, after);
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED)
			probe_result_set(res, PROBE_HTTP_BODY_TOO_LARGE,
			    "body from %s larger than max_body (%lld bytes); "
			    "stopped reading after %s", h->addr,
			    (long long)h->conf->max_body, after);
		else
			probe_result_set(res, PROBE_INTERNAL, "%s", h->errbuf);
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		probe_result_set(res, PROBE_INTERNAL, "tls setup for %s: %s",
		    h->addr, h->errbuf);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		probe_result_set(res, PROBE_TIMEOUT, "%s: %s", h->addr,
		    h->errbuf);
		break;
	default:
		http_fail_response(h, rc, after);
		break;
	}
}

/* ---- expectations ----------------------------------------------------- */

static bool
http_status_ok(const struct http_conf *hc, long code)
{
	if (code < 0 || code > HTTP_STATUS_MAX)
		return false;
	return (hc->status_ok[code / 64] >> (code % 64)) & 1;
}

static const char *
http_version_str(int v)
{
	switch (v) {
	case 10:
	case HTTP_VER_1_0:
		return "1.0";
	case 11:
	case HTTP_VER_1_1:
		return "1.1";
	case 20:
	case HTTP_VER_2:
		return "2";
	case 30:
	case HTTP_VER_3:
		return "3";
	default:
		return "?";
	}
}

/* One expected header; returns 0 when it matches, else sets the result. */
static int
http_expect_header(const struct http_response *r,
    const struct http_hexpect *he, struct probe_result *res)
{
	const char	*v, *next;
	size_t		 i, amount = 0;
	char		 q[96];
	int		 rc;

	if ((v = r->header(r->arg, he->name, 0, &amount)) == NULL) {
		probe_result_set(res, PROBE_HTTP_HEADER_MISMATCH,
		    "header %s missing, expected /%s/", he->name,
		    pattern_source(he->re));
		return -1;
	}
	for (i = 0; i < amount; i++) {
		if (i > 0 && (next = r->header(r->arg, he->name, i,
		    &amount)) == NULL)
			break;
		if (i > 0)
			v = next;
		rc = pattern_match(he->re, v, strlen(v));
		if (rc == 1)
			return 0;
		if (rc == -1) {
			probe_result_set(res, PROBE_INTERNAL, "matching "
			    "header %s against /%s/: regex match limit hit",
			    he->name, pattern_source(he->re));
			return -1;
		}
	}
	probe_result_set(res, PROBE_HTTP_HEADER_MISMATCH,
	    "header %s: %s does not match /%s/", he->name,
	    probe_quote(v, strlen(v), SIZE_MAX, q, sizeof(q)),
	    pattern_source(he->re));
	return -1;
}

static int
http_expect_body(const struct http_conf *hc, const struct http_response *r,
    struct probe_result *res)
{
	char	 q[96];
	int	 rc;

	if (hc->body_not != NULL) {
		rc = pattern_match(hc->body_not, r->body, r->len);
		if (rc != 0) {
			probe_result_set(res, rc == 1 ?
			    PROBE_HTTP_BODY_MISMATCH : PROBE_INTERNAL,
			    "body (%zu bytes) %s body_not /%s/", r->len,
			    rc == 1 ? "matches" : "hit the regex match limit "
			    "of", pattern_source(hc->body_not));
			return -1;
		}
	}
	if (hc->body_re != NULL) {
		rc = pattern_match(hc->body_re, r->body, r->len);
		if (rc != 1) {
			probe_result_set(res, rc == 0 ?
			    PROBE_HTTP_BODY_MISMATCH : PROBE_INTERNAL,
			    "body (%zu bytes) %s /%s/: %s", r->len, rc == 0 ?
			    "does not match" : "hit the regex match limit of",
			    pattern_source(hc->body_re),
			    probe_quote(r->body, r->len, SIZE_MAX, q,
			    sizeof(q)));
			return -1;
		}
	}
	return 0;
}

void
http_match(const struct http_conf *hc, const struct http_response *r,
    int64_t elapsed, struct probe_result *res)
{
	char	 after[32];
	size_t	 i;

	if (!http_status_ok(hc, r->code)) {
		probe_result_set(res, PROBE_HTTP_STATUS, "got %ld, expected "
		    "%s (response after %s from %s)", r->code,
		    hc->status_text, http_us(elapsed, after, sizeof(after)),
		    r->url);
		return;
	}
	if (hc->expect_ssl != -1 && hc->expect_ssl != r->https) {
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR, "ended on "
		    "%s, expected %s (ssl = %s)", r->url, hc->expect_ssl ?
		    "https" : "plain http", hc->expect_ssl ? "true" : "false");
		return;
	}
	if (hc->expect_version != HTTP_VER_ANY &&
	    hc->expect_version != r->version) {
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR, "got "
		    "HTTP/%s, expected HTTP/%s", http_version_str(r->version),
		    http_version_str(hc->expect_version));
		return;
	}
	for (i = 0; i < hc->nhexpect; i++)
		if (http_expect_header(r, &hc->hexpect[i], res) == -1)
			return;
	(void)http_expect_body(hc, r, res);
}

/* http_response.header on the easy handle: curl parsed the headers. */
static const char *
http_easy_header(void *arg, const char *name, size_t idx, size_t *amount)
{
	struct curl_header	*hh = NULL;

	if (curl_easy_header(arg, name, idx, CURLH_HEADER, -1, &hh) !=
	    CURLHE_OK)
		return NULL;
	*amount = hh->amount;
	return hh->value;
}

/* The last response against expect; sets the result when it fails. */
static void
http_expect(struct http_run *h, long code, int64_t elapsed)
{
	struct http_response	 r;
	long			 ver = 0;

	curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &ver);
	memset(&r, 0, sizeof(r));
	r.code = code;
	r.https = h->https;
	r.version = ver == CURL_HTTP_VERSION_1_0 ? HTTP_VER_1_0 :
	    ver == CURL_HTTP_VERSION_1_1 ? HTTP_VER_1_1 :
	    ver == CURL_HTTP_VERSION_2_0 ? HTTP_VER_2 : HTTP_VER_3;
	r.url = h->url;
	r.body = h->body;
	r.len = h->len;
	r.header = http_easy_header;
	r.arg = h->easy;
	http_match(h->conf, &r, elapsed, &h->run->result);
}

/* ---- hops ------------------------------------------------------------- */

static int	http_hop_begin(struct http_run *h);

/* Follows a 3xx to next (curl resolved it against the hop's URL). */
static void
http_redirect(struct http_run *h, long code, const char *next)
{
	struct probe_result	*res = &h->run->result;
	uint64_t		 key = sched_hash(next);
	int			 i;

	h->seen[h->hops] = sched_hash(h->url);
	for (i = 0; i <= h->hops; i++) {
		if (h->seen[i] != key)
			continue;
		probe_result_set(res, PROBE_HTTP_TOO_MANY_REDIRECTS,
		    "redirect loop: %s redirects (%ld) back to %s after %d "
		    "redirect%s", h->url, code, next, h->hops + 1,
		    h->hops == 0 ? "" : "s");
		http_finish(h);
		return;
	}
	if (h->hops >= h->conf->max_redirects) {
		probe_result_set(res, PROBE_HTTP_TOO_MANY_REDIRECTS,
		    "more than max_redirects (%d): %s redirects (%ld) to %s",
		    h->conf->max_redirects, h->url, code, next);
		http_finish(h);
		return;
	}
	/* RFC 9110 §15.4.4: a 303 is followed with GET (or HEAD). */
	if (code == 303 || ((code == 301 || code == 302) &&
	    h->conf->body != NULL))
		h->get = true;
	h->hops++;
	free(h->url);
	h->url = xstrdup(next);
	h->len = 0;
	h->received = 0;
	h->headers_done = false;
	if (http_hop_begin(h) == -1)
		http_finish(h);
}

/* curlmux: a hop's transfer ended (outside curl; easy is ours again). */
static void
http_hop_done(CURL *easy, CURLcode rc, void *arg)
{
	struct http_run		*h = arg;
	struct http_times	 t;
	int64_t			 now = loop_time(h->run->loop);
	long			 code = 0;
	char			*next = NULL;

	http_times_get(easy, &t);
	http_times_add(h, &t, now - h->mark);
	if (rc != CURLE_OK) {
		http_fail_curl(h, rc, now - h->mark);
		http_finish(h);
		return;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &next);
	if (h->conf->follow && code >= 300 && code <= 399 && next != NULL) {
		http_redirect(h, code, next);
		return;
	}
	http_expect(h, code, t.st > 0 ? t.st : t.tot);
	http_finish(h);
}

/* TLS options of the easy handle. */
static void
http_easy_tls(struct http_run *h, CURL *e)
{
	const struct http_conf	*hc = h->conf;

	if (hc->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, hc->ca_file);
	if (hc->client_cert != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, hc->client_cert);
	if (hc->client_key != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, hc->client_key);
	if (hc->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/*
 * Whether every option of this check is one all such checks share, or
 * one set on every run or hop: a GET without a body, credentials, proxy
 * or TLS files.  Their handles keep the shared options between runs
 * (curlmux_easy_get_kept): 3,300 instructions of curl_easy_reset and
 * 1,500 of set-up saved per probe (callgrind), of about 116,000.
 */
static bool
http_plain(const struct http_conf *hc)
{
	return (hc->method == NULL || strcmp(hc->method, "GET") == 0) &&
	    hc->body == NULL && hc->userpwd == NULL && hc->bearer == NULL &&
	    hc->proxy == NULL && hc->ca_file == NULL &&
	    hc->client_cert == NULL && hc->client_key == NULL &&
	    !hc->insecure;
}

/* Options every http check sets alike. */
static void
http_easy_common(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, http_sockopt_cb);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sonde/" PACKAGE_VERSION);
	/*
	 * Debian's libcurl has a default CA path (/etc/ssl/certs) besides
	 * its bundle, and libcurl 7.88 caches the CA store (per multi, 24 h)
	 * only when it comes from a file alone: with the path set, every
	 * connection re-reads the bundle, about 20 ms of CPU for the
	 * system's.  The bundle holds the same certificates, so no path.
	 */
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_cb);
	/* Never a proxy from the environment: only the configured one. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
}

/* Options that stay the same on every hop. */
static CURL *
http_easy_new(struct http_run *h)
{
	const struct http_conf	*hc = h->conf;
	CURL			*e;
	bool			 kept = false;

	h->plain = http_plain(hc);
	e = h->plain ? curlmux_easy_get_kept(h->mux, http_kept_tag, &kept) :
	    curlmux_easy_get(h->mux);
	if (e == NULL)
		return NULL;
	if (!kept)
		http_easy_common(e);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)hc->max_body);
	if (h->plain)
		return e;
	if (hc->method != NULL && strcmp(hc->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (hc->method != NULL && strcmp(hc->method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, hc->method);
	if (hc->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, hc->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)hc->bodylen);
	} else if (hc->method != NULL && strcmp(hc->method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	http_easy_tls(h, e);
	return e;
}

/*
 * server_name: the TLS name (SNI, certificate check) differs from the
 * URL's host.  curl takes both from the URL, so the URL given to curl
 * carries server_name and the Host header keeps the URL's authority
 * (RFC 9110 §7.2), unless the config sets Host itself.
 */
static void
http_easy_server_name(struct http_run *h)
{
	const struct http_conf	*hc = h->conf;
	const struct curl_slist	*l;
	CURLU			*u = curl_url();
	char			*url = NULL, *line;
	bool			 v6 = strchr(hc->host, ':') != NULL;
	bool			 dflt = hc->port == (h->https ? 443 : 80);

	if (curl_url_set(u, CURLUPART_URL, h->url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, hc->server_name, 0) ==
	    CURLUE_OK && curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
		curl_easy_setopt(h->easy, CURLOPT_URL, url);
	curl_free(url);
	curl_url_cleanup(u);
	for (l = hc->headers; l != NULL; l = l->next)
		if (strncasecmp(l->data, "Host:", 5) == 0)
			return;
	if (dflt)
		line = xasprintf("Host: %s%s%s", v6 ? "[" : "", hc->host,
		    v6 ? "]" : "");
	else
		line = xasprintf("Host: %s%s%s:%d", v6 ? "[" : "", hc->host,
		    v6 ? "]" : "", hc->port);
	h->headers = curl_slist_append(h->headers, line);
	free(line);
}

/*
 * Per hop: the URL (its host replaced by server_name on the configured
 * host), where to connect, the Host header that goes with server_name,
 * credentials only for the configured host, and the HTTP version.
 */
static void
http_easy_hop(struct http_run *h, const struct sockaddr_storage *ss)
{
	const struct http_conf	*hc = h->conf;
	CURL			*e = h->easy;
	bool			 origin = strcmp(h->host, hc->host) == 0 &&
				    h->port == hc->port;
	char			*line, ip[PROBE_ADDRESS_MAX];
	long			 ver;

	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_slist_free_all(h->connect_to);
	h->connect_to = NULL;
	curl_slist_free_all(h->headers);
	h->headers = NULL;
	if (hc->proxy != NULL) {
		free(h->proxy);
		resolver_addr_str(ss, ip, sizeof(ip));
		h->proxy = xasprintf("http://%s", ip);
		curl_easy_setopt(e, CURLOPT_PROXY, h->proxy);
	} else {
		/* Empty HOST and PORT: whatever the URL says, go there. */
		line = xasprintf("::%s", h->addr);
		h->connect_to = curl_slist_append(NULL, line);
		free(line);
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->connect_to);
	}
	if (origin && hc->server_name != NULL) {
		/* The configured headers plus a Host: a list of the run's. */
		for (const struct curl_slist *l = hc->headers; l != NULL;
		    l = l->next)
			h->headers = curl_slist_append(h->headers, l->data);
		http_easy_server_name(h);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	} else
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hc->headers);
	if (origin && hc->userpwd != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERPWD, hc->userpwd);
	} else if (origin && hc->bearer != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, hc->bearer);
	} else {
		curl_easy_setopt(e, CURLOPT_USERPWD, NULL);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, NULL);
	}
	if (h->get && (hc->method == NULL || strcmp(hc->method, "HEAD") != 0)) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	}
	ver = hc->version == HTTP_VER_1_1 ? CURL_HTTP_VERSION_1_1 : h->https ?
	    CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, ver);
	/*
	 * Nagle holds a write back only while an earlier one is unacked.
	 * A plain HTTP/1.1 request without a body leaves in one write and
	 * nothing follows it, so TCP_NODELAY would change nothing there but
	 * cost a setsockopt per probe.  TLS, h2c and bodies (more writes)
	 * keep it.
	 */
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, h->https || hc->body != NULL ||
	    hc->version != HTTP_VER_1_1 ? 1L : 0L);
}

/*
 * connect_to stands for the configured URL's host, as curl --connect-to
 * HOST:PORT:... does: every hop to that host goes there, so a redirect
 * within the origin (a trailing slash, a login page) stays on the
 * balancer's backend under test.  With a port, only hops to the URL's
 * port; without one, hops to any port of that host, keeping the hop's
 * (http to https on the same name).  Other hosts go where they say.
 */
static bool
http_connect_to_applies(const struct http_run *h)
{
	const struct http_conf	*hc = h->conf;

	return hc->ct_host != NULL && strcasecmp(h->host, hc->host) == 0 &&
	    (hc->ct_port == 0 || h->port == hc->port);
}

/* The address is known: start this hop's transfer. */
static int
http_transfer(struct http_run *h, const struct sockaddr_storage *addr)
{
	struct probe_run	*run = h->run;
	struct sockaddr_storage	 ss = *addr;
	int			 port;
	char			 err[128];

	port = h->conf->proxy != NULL ? h->conf->proxy_port :
	    http_connect_to_applies(h) && h->conf->ct_port != 0 ?
	    h->conf->ct_port : h->port;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	resolver_addr_str(&ss, h->addr, sizeof(h->addr));
	if (h->easy == NULL && (h->easy = http_easy_new(h)) == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "curl_easy_init failed");
		return -1;
	}
	http_easy_hop(h, &ss);
	h->errbuf[0] = '\0';
	h->tls_start = 0;
	/* What the last hop's handshake showed, not an earlier one's. */
	memset(&h->verify, 0, sizeof(h->verify));
	memset(&run->result.tls, 0, sizeof(run->result.tls));
	h->mark = loop_time(run->loop);
	if (curlmux_add(h->mux, h->easy, http_hop_done, h, err,
	    sizeof(err)) == -1) {
		probe_result_set(&run->result, PROBE_INTERNAL, "%s", err);
		return -1;
	}
	http_set_state(h, HTTP_TRANSFER);
	return 0;
}

static void
http_resolved(const struct resolver_answer *ans, void *arg)
{
	struct http_run		*h = arg;
	struct probe_run	*run = h->run;
	int64_t			 now = loop_time(run->loop);
	char			 d[32];

	h->query = NULL;
	http_phase_add(&run->result, PROBE_PHASE_RESOLVE, now - h->mark);
	if (ans->status != RESOLVER_OK) {
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: %s (after %s)%s", h->conf->proxy != NULL ?
		    h->conf->proxy_host : h->host, ans->error,
		    http_us(now - h->mark, d, sizeof(d)), h->hops > 0 ?
		    " on a redirect" : "");
		http_finish(h);
		return;
	}
	if (http_transfer(h, &ans->addrs[0]) == -1)
		http_finish(h);
}

/* Starts a hop at h->url: split it, resolve what to connect to. */
static int
http_hop_begin(struct http_run *h)
{
	const struct http_conf	*hc = h->conf;
	struct probe_run	*run = h->run;
	const char		*name;
	struct sockaddr_storage	 ss;
	char			 err[128];
	int			 family;

	if (h->hops == 0) {	/* the configured URL, split at load */
		snprintf(h->host, sizeof(h->host), "%s", hc->host);
		h->port = hc->port;
		h->https = hc->https;
	} else if (http_conf_url_split(h->url, h->host, sizeof(h->host),
	    &h->port, &h->https, err, sizeof(err)) == -1) {
		probe_result_set(&run->result, PROBE_HTTP_PROTOCOL_ERROR,
		    "redirect to unusable URL %s: %s", h->url, err);
		return -1;
	}
	if (hc->proxy != NULL)
		name = hc->proxy_host;
	else if (http_connect_to_applies(h))
		name = hc->ct_host;
	else
		name = h->host;
	/* An address is used as is: no lookup, no resolve phase. */
	if ((family = resolver_literal(name, &ss)) != AF_UNSPEC) {
		if (run->check->ip_family == AF_UNSPEC ||
		    family == run->check->ip_family)
			return http_transfer(h, &ss);
		probe_result_set(&run->result, PROBE_RESOLVE_FAILED,
		    "resolve %s: an IPv%d address where ip_version is \"%d\"%s",
		    name, family == AF_INET ? 4 : 6,
		    run->check->ip_family == AF_INET ? 4 : 6, h->hops > 0 ?
		    " (on a redirect)" : "");
		return -1;
	}
	if (run->resolver == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL,
		    "resolve %s: no resolver", name);
		return -1;
	}
	h->mark = loop_time(run->loop);
	http_set_state(h, HTTP_RESOLVING);
	h->query = resolver_lookup(run->resolver, name, run->check->ip_family,
	    http_resolved, h);
	return 0;
}

/* ---- probe_ops -------------------------------------------------------- */

static int
http_start(struct probe_run *run)
{
	struct http_run	*h;
	char		 err[128];

	h = xcalloc(1, sizeof(*h));
	h->run = run;
	h->conf = run->check->kind_conf;
	h->url = xstrdup(h->conf->url);
	run->priv = h;
	if ((h->mux = curlmux_shared(run->loop, err, sizeof(err))) == NULL) {
		probe_result_set(&run->result, PROBE_INTERNAL, "%s", err);
		goto fail;
	}
	if (http_hop_begin(h) == -1)
		goto fail;
	return 0;
fail:
	http_result_fill(h);
	http_cleanup(run);
	return -1;
}

/* The deadline passed: say what the hop was waiting for, then release. */
static void
http_expire(struct probe_run *run)
{
	struct http_run		*h = run->priv;
	struct probe_result	*res = &run->result;
	struct http_times	 t;
	char			 d[32], a[32], hop[PROBE_URL_MAX + 32];
	int64_t			 now = loop_time(run->loop);

	if (h == NULL)
		return;
	http_us(run->check->timeout_ms * 1000, d, sizeof(d));
	http_hop_str(h, hop, sizeof(hop));
	if (h->state == HTTP_RESOLVING) {
		http_phase_add(res, PROBE_PHASE_RESOLVE, now - h->mark);
		probe_result_set(res, PROBE_RESOLVE_FAILED, "resolve %s: no "
		    "answer within %s%s", h->conf->proxy != NULL ?
		    h->conf->proxy_host : h->host, d, hop);
	} else if (h->state == HTTP_TRANSFER) {
		http_times_get(h->easy, &t);
		http_times_add(h, &t, now - h->mark);
		if (t.co == 0 && h->tls_start == 0)
			probe_result_set(res, PROBE_CONNECT_TIMEOUT, "connect to "
			    "%s: no answer within %s%s", h->addr, d, hop);
		else if (h->https && t.ap == 0)
			probe_result_set(res, PROBE_TIMEOUT, "tls handshake "
			    "with %s: not done within %s (connected after "
			    "%s)%s", h->addr, d, http_us(t.co > 0 ? t.co :
			    h->tls_start - h->mark, a, sizeof(a)), hop);
		else if (t.st == 0)
			probe_result_set(res, PROBE_TIMEOUT, "no response from "
			    "%s within %s (request sent after %s)%s", h->addr,
			    d, http_us(t.pre, a, sizeof(a)), hop);
		else if (!h->headers_done)
			probe_result_set(res, PROBE_TIMEOUT, "response headers "
			    "from %s not complete within %s (first byte after "
			    "%s)%s", h->addr, d, http_us(t.st, a, sizeof(a)),
			    hop);
		else
			probe_result_set(res, PROBE_TIMEOUT, "body from %s not "
			    "complete within %s: %lld bytes (first byte after "
			    "%s)%s", h->addr, d, (long long)h->received,
			    http_us(t.st, a, sizeof(a)), hop);
	}
	http_result_fill(h);
	http_cleanup(run);
}

/* "http": {...}, and "tls": {...} on https. */
static int
http_result_json(const struct probe_result *res, json_t *root)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return -1;
	if ((res->http.status != 0 && (json_object_set_new(o, "status",
	    json_integer(res->http.status)) == -1 || json_object_set_new(o,
	    "version", json_string(http_version_str(res->http.version))) ==
	    -1)) ||
	    json_object_set_new(o, "redirects",
	    json_integer(res->http.redirects)) == -1 ||
	    (res->http.body_bytes >= 0 && json_object_set_new(o, "body_bytes",
	    json_integer(res->http.body_bytes)) == -1) ||
	    json_object_set_new(o, "ssl", json_boolean(res->http.ssl)) == -1 ||
	    (res->http.insecure && json_object_set_new(o, "insecure",
	    json_true()) == -1) ||
	    (res->http.final_url[0] != '\0' && result_json_set_string(o,
	    "final_url", res->http.final_url) == -1)) {
		json_decref(o);
		return -1;
	}
	if (json_object_set_new(root, "http", o) == -1)
		return -1;
	return tlsverify_info_json(&res->tls, root);
}

static const char *const http_metrics[] = {
	"http.status", "http.redirects", "http.body_bytes",
	"tls.days_left", "tls.earliest_days_left", NULL
};

static int
http_metric(const struct probe_result *res, const char *name, double *value)
{
	if (strcmp(name, "http.status") == 0 && res->http.status != 0)
		*value = res->http.status;
	else if (strcmp(name, "http.redirects") == 0)
		*value = res->http.redirects;
	else if (strcmp(name, "http.body_bytes") == 0 &&
	    res->http.body_bytes >= 0)
		*value = (double)res->http.body_bytes;
	else
		return tlsverify_metric(&res->tls, name, value);
	return 0;
}

/* blackbox_exporter's http prober families, its names and help. */
enum http_family {
	HTTP_FAM_DURATION,
	HTTP_FAM_CONTENT_LENGTH,
	HTTP_FAM_BODY_LENGTH,
	HTTP_FAM_REDIRECTS,
	HTTP_FAM_SSL,
	HTTP_FAM_STATUS,
	HTTP_FAM_VERSION,
	HTTP_FAM_IP_PROTOCOL,
	HTTP_FAM_IP_HASH,
	HTTP_FAM_REGEX,
	HTTP_FAM_TLS		/* TLSVERIFY_NFAMILIES of them */
};

static const struct probe_family http_families[] = {
	[HTTP_FAM_DURATION] = { "probe_http_duration_seconds", "gauge",
	    "Duration of http request by phase, summed over all redirects" },
	[HTTP_FAM_CONTENT_LENGTH] = { "probe_http_content_length", "gauge",
	    "Length of http content response" },
	[HTTP_FAM_BODY_LENGTH] = { "probe_http_uncompressed_body_length",
	    "gauge", "Length of uncompressed response body" },
	[HTTP_FAM_REDIRECTS] = { "probe_http_redirects", "gauge",
	    "The number of redirects" },
	[HTTP_FAM_SSL] = { "probe_http_ssl", "gauge",
	    "Indicates if SSL was used for the final redirect" },
	[HTTP_FAM_STATUS] = { "probe_http_status_code", "gauge",
	    "Response HTTP status code" },
	[HTTP_FAM_VERSION] = { "probe_http_version", "gauge",
	    "Returns the version of HTTP of the probe response" },
	[HTTP_FAM_IP_PROTOCOL] = { "probe_ip_protocol", "gauge",
	    "Specifies whether probe ip protocol is IP4 or IP6" },
	[HTTP_FAM_IP_HASH] = { "probe_ip_addr_hash", "gauge",
	    "Specifies the hash of IP address" },
	[HTTP_FAM_REGEX] = { "probe_failed_due_to_regex", "gauge",
	    "Indicates if probe failed due to regex" },
	TLSVERIFY_FAMILIES,
	{ NULL, NULL, NULL }
};

/*
 * As blackbox_exporter: the phases are always all there, 0 when not
 * reached, and so are the response's gauges (0 without a response;
 * content length -1 when the response had none).  Phases are summed over
 * redirects (http_phase_add).
 */
static void
http_phases_write(const struct probe_result *res, probe_sample_cb emit,
    void *arg)
{
	char	label[32];
	int	p;

	for (p = PROBE_PHASE_RESOLVE; p <= PROBE_PHASE_TRANSFER; p++) {
		snprintf(label, sizeof(label), "phase=\"%s\"",
		    probe_phase_str((enum probe_phase)p));
		emit(arg, label, res->phase[p] < 0 ? 0 :
		    (double)res->phase[p] / 1e6);
	}
}

static void
http_metrics_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	double	hash;

	switch (fam) {
	case HTTP_FAM_DURATION:
		http_phases_write(res, emit, arg);
		break;
	case HTTP_FAM_CONTENT_LENGTH:
		emit(arg, NULL, res->http.status == 0 ? 0 :
		    (double)res->http.content_length);
		break;
	case HTTP_FAM_BODY_LENGTH:
		emit(arg, NULL, res->http.body_bytes < 0 ? 0 :
		    (double)res->http.body_bytes);
		break;
	case HTTP_FAM_REDIRECTS:
		emit(arg, NULL, res->http.redirects);
		break;
	case HTTP_FAM_SSL:
		emit(arg, NULL, res->http.status != 0 && res->http.ssl);
		break;
	case HTTP_FAM_STATUS:
		emit(arg, NULL, res->http.status);
		break;
	case HTTP_FAM_VERSION:
		emit(arg, NULL, res->http.version / 10.0);
		break;
	case HTTP_FAM_IP_PROTOCOL:
		if (res->tcp.address[0] != '\0')
			emit(arg, NULL, res->tcp.address[0] == '[' ? 6 : 4);
		break;
	case HTTP_FAM_IP_HASH:
		if (probe_address_hash(res->tcp.address, &hash) == 0)
			emit(arg, NULL, hash);
		break;
	case HTTP_FAM_REGEX:
		emit(arg, NULL, res->status == PROBE_HTTP_BODY_MISMATCH ||
		    res->status == PROBE_HTTP_HEADER_MISMATCH);
		break;
	default:
		if (res->http.ssl)
			tlsverify_metrics_write(&res->tls, fam - HTTP_FAM_TLS,
			    emit, arg);
		break;
	}
}

/*
 * An https URL is a full handshake each run (no session reuse): the
 * scheduler's handshake grid.  A plain URL redirected to https is not
 * foreseen.
 */
static bool
http_handshakes(const void *kind_conf)
{
	const struct http_conf	*hc = kind_conf;

	return hc != NULL && hc->https;
}

const struct probe_ops http_probe_ops = {
	.kind = "http",
	.conf_keys = http_conf_keys,
	.conf_parse = http_conf_parse,
	.conf_free = http_conf_free,
	.start = http_start,
	.expire = http_expire,
	.abort = http_cleanup,
	.result_json = http_result_json,
	.metrics = http_metrics,
	.metric = http_metric,
	.families = http_families,
	.metrics_write = http_metrics_write,
	.target_apply = http_conf_target_apply,
	.target_example = "127.0.0.1:1",
	.handshakes = http_handshakes,
};
