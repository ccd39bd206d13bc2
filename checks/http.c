/* SPDX-License-Identifier: ISC */
/*
 * http: the HTTP(S) check kind.  Resolve the URL's host with sonde's own
 * resolver, run one libcurl transfer per hop on curlmux (the loop's curl
 * multi), follow redirects hop by hop when asked, then hold the response
 * to the expectations: status, body, headers, HTTP version, https.
 *
 * This module owns the kind's config (struct http_conf, parsed and
 * validated once at load, secrets read then) and, per run, one struct in
 * run->priv: the easy handle, the pending resolver query, the body read so
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
#include <libconfig.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "config.h"
#include "confread.h"
#include "curlmux.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "pattern.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "sched.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define HTTP_MAX_BODY_DEFAULT	(1024 * 1024)
#define HTTP_MAX_REDIRECTS	10	/* default of max_redirects */
#define HTTP_REDIRECTS_LIMIT	30	/* the most max_redirects may be */
#define HTTP_FILE_MAX		(1024 * 1024)	/* body_file, secrets */
#define HTTP_HOST_MAX		256
#define HTTP_BODY_FIRST		4096	/* first buffer; doubled as needed */
#define HTTP_STATUS_WORDS	8	/* 64-bit words: codes 0..511 */
#define HTTP_STATUS_MAX		(HTTP_STATUS_WORDS * 64 - 1)

enum http_ver {
	HTTP_VER_ANY,
	HTTP_VER_1_0,
	HTTP_VER_1_1,
	HTTP_VER_2,
	HTTP_VER_3
};

struct http_hexpect {
	char		*name;
	struct pattern	*re;
};

/* Everything from the config; immutable while runs use it. */
struct http_conf {
	char			*url;
	char			 host[HTTP_HOST_MAX]; /* the URL's, no [] */
	int			 port;		/* the URL's, default filled */
	char			*method;	/* NULL: GET */
	struct curl_slist	*headers;
	char			*body;		/* NULL: none */
	size_t			 bodylen;
	char			*userpwd;	/* "user:password": secret */
	char			*bearer;	/* secret */
	bool			 follow;
	bool			 insecure;
	int			 max_redirects;
	int			 version;	/* HTTP_VER_1_1 or _2 */
	char			*proxy;		/* "http://host:port" */
	char			 proxy_host[HTTP_HOST_MAX];
	int			 proxy_port;
	char			*ca_file;
	char			*client_cert;
	char			*client_key;
	char			*server_name;	/* SNI and name checked */
	char			*ct_host;	/* connect_to; NULL: none */
	int			 ct_port;
	int64_t			 max_body;
	/* expect */
	uint64_t		 status_ok[HTTP_STATUS_WORDS];
	char			 status_text[64]; /* "200, 3xx" */
	struct pattern		*body_re;
	struct pattern		*body_not;
	struct http_hexpect	*hexpect;
	size_t			 nhexpect;
	int			 expect_version; /* HTTP_VER_ANY: any */
	int			 expect_ssl;	/* -1 any, 0 http, 1 https */
};

static const char *const http_conf_keys[] = {
	"url", "method", "headers", "body", "body_file", "basic_auth",
	"bearer_token", "follow_redirects", "max_redirects", "http_version",
	"proxy", "ca_file", "client_cert", "client_key", "server_name",
	"insecure", "connect_to", "max_body", "expect", NULL
};
static const char *const http_expect_keys[] = {
	"status", "body", "body_not", "headers", "http_version", "ssl", NULL
};
static const char *const http_basic_keys[] = {
	"username", "password_file", "password_env", NULL
};
static const char *const http_bearer_keys[] = { "file", "env", NULL };
static const char *const http_version_names[] = { "1.1", "2", NULL };
static const char *const http_expect_version_names[] = {
	"1.0", "1.1", "2", "3", NULL
};
static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL
};

/* ---- URLs ------------------------------------------------------------- */

/*
 * Splits url (absolute, http or https) into its host (no []) and port
 * (the scheme's default when absent).  Returns 0, or -1 with the reason.
 */
static int
http_url_split(const char *url, char *host, size_t hostlen, int *port,
    bool *https, char *err, size_t errlen)
{
	CURLU		*u = curl_url();
	CURLUcode	 rc;
	char		*scheme = NULL, *h = NULL, *p = NULL;
	int		 ret = -1;
	size_t		 len;

	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_HOST, &h, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "%s", curl_url_strerror(rc));
		goto done;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "scheme \"%s\" is not http or https",
		    scheme);
		goto done;
	}
	*https = strcmp(scheme, "https") == 0;
	len = strlen(h);
	if (h[0] == '[' && len >= 2) {	/* RFC 3986 §3.2.2 IP-literal */
		memmove(h, h + 1, len - 2);
		h[len - 2] = '\0';
	}
	if (strlen(h) >= hostlen || h[0] == '\0') {
		snprintf(err, errlen, "host name empty or too long");
		goto done;
	}
	memcpy(host, h, strlen(h) + 1);
	*port = atoi(p);
	ret = 0;
done:
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return ret;
}

/* "host:port" or "[v6]:port" or a bare host; port 0 when absent. */
static int
http_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char	*end, *colon;
	char		*ep;
	long		 n;
	size_t		 len;

	*port = 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		len = (size_t)(end - s - 1);
		s++;
		colon = end[1] == ':' ? end + 1 : end[1] == '\0' ? NULL : end;
		if (colon == end)
			return -1;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1;	/* a bare v6 address needs [] */
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (len == 0 || len >= hostlen)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (colon != NULL) {
		n = strtol(colon + 1, &ep, 10);
		if (*ep != '\0' || n < 1 || n > 65535)
			return -1;
		*port = (int)n;
	}
	return 0;
}

/* ---- config ----------------------------------------------------------- */

static void
http_conf_free(void *kind_conf)
{
	struct http_conf	*hc = kind_conf;
	size_t			 i;

	if (hc == NULL)
		return;
	free(hc->url);
	free(hc->method);
	curl_slist_free_all(hc->headers);
	free(hc->body);
	if (hc->userpwd != NULL)
		explicit_bzero(hc->userpwd, strlen(hc->userpwd));
	free(hc->userpwd);
	if (hc->bearer != NULL)
		explicit_bzero(hc->bearer, strlen(hc->bearer));
	free(hc->bearer);
	free(hc->proxy);
	free(hc->ca_file);
	free(hc->client_cert);
	free(hc->client_key);
	free(hc->server_name);
	free(hc->ct_host);
	pattern_free(hc->body_re);
	pattern_free(hc->body_not);
	for (i = 0; i < hc->nhexpect; i++) {
		free(hc->hexpect[i].name);
		pattern_free(hc->hexpect[i].re);
	}
	free(hc->hexpect);
	free(hc);
}

/*
 * Reads a whole file of at most HTTP_FILE_MAX bytes; *len its size.
 * Returns a new NUL-terminated buffer, or NULL with errno set.
 */
static char *
http_read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 saved;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	buf = xmalloc(HTTP_FILE_MAX + 1);
	n = fread(buf, 1, HTTP_FILE_MAX + 1, f);
	saved = ferror(f) ? EIO : 0;
	fclose(f);
	if (saved == 0 && n > HTTP_FILE_MAX)
		saved = EFBIG;
	if (saved != 0) {
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * A secret from a file (its one line; a trailing newline is not part of
 * it) or an environment variable.  Returns a new string or NULL (error
 * recorded at s).
 */
static char *
http_secret(struct confread *cr, const config_setting_t *s, const char *what,
    const char *file, const char *env)
{
	char	*v;
	size_t	 len = 0;

	if (file != NULL) {
		if ((v = http_read_file(file, &len)) == NULL) {
			confread_error(cr, s, "%s: cannot read %s: %s", what,
			    file, strerror(errno));
			return NULL;
		}
		if (len > 0 && v[len - 1] == '\n')
			v[--len] = '\0';
		if (len > 0 && v[len - 1] == '\r')
			v[--len] = '\0';
	} else {
		if ((v = getenv(env)) == NULL || v[0] == '\0') {
			confread_error(cr, s, "%s: environment variable %s is "
			    "not set or empty", what, env);
			return NULL;
		}
		v = xstrdup(v);
		len = strlen(v);
	}
	if (len == 0 || memchr(v, '\n', len) != NULL || strlen(v) != len) {
		confread_error(cr, s, "%s: the secret in %s is empty or not "
		    "one line", what, file != NULL ? file : env);
		explicit_bzero(v, len);
		free(v);
		return NULL;
	}
	return v;
}

/* One of key_file / key_env, exactly; returns the secret or NULL. */
static char *
http_secret_pair(struct confread *cr, const config_setting_t *g,
    const char *what, const char *kfile, const char *kenv)
{
	char	*file = NULL, *env = NULL, *v = NULL;

	confread_string(cr, g, kfile, false, &file);
	confread_string(cr, g, kenv, false, &env);
	if ((file == NULL) == (env == NULL))
		confread_error(cr, g, "%s needs exactly one of '%s' and '%s'",
		    what, kfile, kenv);
	else
		v = http_secret(cr, g, what, file, env);
	free(file);
	free(env);
	return v;
}

static void
http_conf_auth(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	const config_setting_t	*g;
	char			*user = NULL, *pw;

	if (confread_group(cr, group, "basic_auth", false, &g) == 1) {
		confread_check_keys(cr, g, http_basic_keys, "basic_auth");
		confread_string(cr, g, "username", true, &user);
		pw = http_secret_pair(cr, g, "basic_auth", "password_file",
		    "password_env");
		if (user != NULL && strchr(user, ':') != NULL)
			confread_error(cr, g, "basic_auth: 'username' must not "
			    "contain ':' (RFC 7617 §2)");
		else if (user != NULL && pw != NULL)
			hc->userpwd = xasprintf("%s:%s", user, pw);
		if (pw != NULL)
			explicit_bzero(pw, strlen(pw));
		free(pw);
		free(user);
	}
	if (confread_group(cr, group, "bearer_token", false, &g) == 1) {
		confread_check_keys(cr, g, http_bearer_keys, "bearer_token");
		hc->bearer = http_secret_pair(cr, g, "bearer_token", "file",
		    "env");
	}
	if (hc->userpwd != NULL && hc->bearer != NULL)
		confread_error(cr, group, "basic_auth and bearer_token "
		    "exclude each other");
}

/* headers = { "X-Name" = "value"; ... } */
static void
http_conf_headers(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	const config_setting_t	*g, *h;
	const char		*name, *value;
	char			*line;
	int			 i, n;

	if (confread_group(cr, group, "headers", false, &g) != 1)
		return;
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		h = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(h);
		if (config_setting_type(h) != CONFIG_TYPE_STRING) {
			confread_error(cr, h, "header '%s' must be a string, "
			    "got %s", name, confread_type_name(h));
			continue;
		}
		value = config_setting_get_string(h);
		if (strpbrk(value, "\r\n") != NULL) {
			confread_error(cr, h, "header '%s': value must not "
			    "contain CR or LF", name);
			continue;
		}
		/* "Name;" is how curl sends a header with an empty value. */
		line = value[0] == '\0' ? xasprintf("%s;", name) :
		    xasprintf("%s: %s", name, value);
		hc->headers = curl_slist_append(hc->headers, line);
		free(line);
	}
}

static void
http_conf_body(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	char	*file = NULL;
	size_t	 len = 0;

	if (confread_string(cr, group, "body", false, &hc->body) == 1)
		hc->bodylen = strlen(hc->body);
	if (confread_string(cr, group, "body_file", false, &file) != 1)
		return;
	if (hc->body != NULL)
		confread_error(cr, config_setting_get_member(group,
		    "body_file"), "'body' and 'body_file' exclude each other");
	else if ((hc->body = http_read_file(file, &len)) == NULL)
		confread_error(cr, config_setting_get_member(group,
		    "body_file"), "body_file: cannot read %s: %s", file,
		    errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
	else
		hc->bodylen = len;
	free(file);
}

static void
http_conf_method(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	const config_setting_t	*s;
	size_t			 i;

	if (confread_string(cr, group, "method", false, &hc->method) != 1)
		return;
	s = config_setting_get_member(group, "method");
	for (i = 0; http_methods[i] != NULL; i++)
		if (strcmp(http_methods[i], hc->method) == 0)
			break;
	if (http_methods[i] == NULL)
		confread_error(cr, s, "'method' \"%s\" is not one of GET, "
		    "HEAD, POST, PUT, PATCH, DELETE, OPTIONS", hc->method);
	else if (strcmp(hc->method, "GET") == 0) {
		free(hc->method);
		hc->method = NULL;
	}
}

/* Sets one status code or class ("2xx") in the bitmap; -1 if invalid. */
static int
http_status_add(struct http_conf *hc, const config_setting_t *s)
{
	const char	*v;
	int		 code, lo, hi;

	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		code = config_setting_get_int(s);
		if (code < 100 || code > 599)
			return -1;
		lo = hi = code;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = config_setting_get_string(s);
		if (strlen(v) != 3 || v[0] < '1' || v[0] > '5' ||
		    (v[1] != 'x' && v[1] != 'X') || (v[2] != 'x' &&
		    v[2] != 'X'))
			return -1;
		lo = (v[0] - '0') * 100;
		hi = lo + 99;
	} else
		return -1;
	for (code = lo; code <= hi; code++)
		hc->status_ok[code / 64] |= (uint64_t)1 << (code % 64);
	return 0;
}

static void
http_status_text(struct http_conf *hc, const config_setting_t *s)
{
	size_t	 len = strlen(hc->status_text);
	char	 one[16];

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		snprintf(one, sizeof(one), "%d", config_setting_get_int(s));
	else
		snprintf(one, sizeof(one), "%s", config_setting_get_string(s));
	snprintf(hc->status_text + len, sizeof(hc->status_text) - len, "%s%s",
	    len > 0 ? ", " : "", one);
}

/* status = 200, "2xx", or a list/array of those; default "2xx". */
static void
http_conf_status(struct confread *cr, const config_setting_t *expect,
    struct http_conf *hc)
{
	const config_setting_t	*s, *e;
	int			 i, n;

	s = expect != NULL ? config_setting_get_member(expect, "status") :
	    NULL;
	if (s == NULL) {
		for (i = 200; i <= 299; i++)
			hc->status_ok[i / 64] |= (uint64_t)1 << (i % 64);
		snprintf(hc->status_text, sizeof(hc->status_text), "2xx");
		return;
	}
	n = config_setting_is_aggregate(s) ? config_setting_length(s) : 1;
	if (n == 0)
		confread_error(cr, s, "'status' must not be empty");
	for (i = 0; i < n; i++) {
		e = config_setting_is_aggregate(s) ?
		    config_setting_get_elem(s, (unsigned)i) : s;
		if (http_status_add(hc, e) == -1)
			confread_error(cr, e, "'status' entries are codes "
			    "100-599 or classes \"1xx\"-\"5xx\"");
		else
			http_status_text(hc, e);
	}
}

static void
http_conf_expect_headers(struct confread *cr, const config_setting_t *expect,
    struct http_conf *hc)
{
	const config_setting_t	*g, *h;
	struct pattern		*re;
	char			 err[256];
	int			 i, n;

	if (confread_group(cr, expect, "headers", false, &g) != 1)
		return;
	n = config_setting_length(g);
	hc->hexpect = xcalloc((size_t)n + 1, sizeof(*hc->hexpect));
	for (i = 0; i < n; i++) {
		h = config_setting_get_elem(g, (unsigned)i);
		if (config_setting_type(h) != CONFIG_TYPE_STRING) {
			confread_error(cr, h, "expect.headers '%s' must be a "
			    "regex string, got %s", config_setting_name(h),
			    confread_type_name(h));
			continue;
		}
		err[0] = '\0';
		if ((re = pattern_new(config_setting_get_string(h), err,
		    sizeof(err))) == NULL) {
			confread_error(cr, h, "expect.headers '%s': bad regex: "
			    "%s", config_setting_name(h), err);
			continue;
		}
		hc->hexpect[hc->nhexpect].name =
		    xstrdup(config_setting_name(h));
		hc->hexpect[hc->nhexpect++].re = re;
	}
}

static void
http_conf_expect(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	const config_setting_t	*expect = NULL;
	bool			 ssl;
	int			 v;

	hc->expect_ssl = -1;
	if (confread_group(cr, group, "expect", false, &expect) == 1)
		confread_check_keys(cr, expect, http_expect_keys, "expect");
	http_conf_status(cr, expect, hc);
	if (expect == NULL)
		return;
	confread_pattern(cr, expect, "body", false, &hc->body_re);
	confread_pattern(cr, expect, "body_not", false, &hc->body_not);
	http_conf_expect_headers(cr, expect, hc);
	if (confread_enum(cr, expect, "http_version", false,
	    http_expect_version_names, &v) == 1)
		hc->expect_version = HTTP_VER_1_0 + v;
	if (confread_bool(cr, expect, "ssl", false, &ssl) == 1)
		hc->expect_ssl = ssl;
}

static void
http_conf_url(struct confread *cr, const config_setting_t *group,
    struct check_conf *check, struct http_conf *hc)
{
	const config_setting_t	*s = config_setting_get_member(group, "url");
	struct sockaddr_storage	 ss;
	char			 err[128];
	bool			 https;
	int			 family;

	if (confread_string(cr, group, "url", true, &hc->url) != 1)
		return;
	if (http_url_split(hc->url, hc->host, sizeof(hc->host), &hc->port,
	    &https, err, sizeof(err)) == -1) {
		confread_error(cr, s, "'url' \"%s\": %s", hc->url, err);
		return;
	}
	family = resolver_literal(hc->host, &ss);
	if (family != AF_UNSPEC && check->ip_family != AF_UNSPEC &&
	    family != check->ip_family)
		confread_error(cr, s, "'url' host %s is an IPv%d address but "
		    "ip_version is \"%d\"", hc->host, family == AF_INET ? 4 :
		    6, check->ip_family == AF_INET ? 4 : 6);
	check->target = xstrdup(hc->url);
}

/* connect_to = "host:port"; proxy = "http://host:port". */
static void
http_conf_route(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	char	*ct = NULL, err[128];
	bool	 https;

	if (confread_string(cr, group, "connect_to", false, &ct) == 1) {
		hc->ct_host = xmalloc(HTTP_HOST_MAX);
		if (http_hostport(ct, hc->ct_host, HTTP_HOST_MAX,
		    &hc->ct_port) == -1)
			confread_error(cr, config_setting_get_member(group,
			    "connect_to"), "'connect_to' \"%s\" is not "
			    "host:port (or [v6]:port, or host)", ct);
		free(ct);
	}
	if (confread_string(cr, group, "proxy", false, &hc->proxy) != 1)
		return;
	if (strncmp(hc->proxy, "http://", 7) != 0 || http_url_split(hc->proxy,
	    hc->proxy_host, sizeof(hc->proxy_host), &hc->proxy_port, &https,
	    err, sizeof(err)) == -1)
		confread_error(cr, config_setting_get_member(group, "proxy"),
		    "'proxy' \"%s\" is not an http://host:port URL", hc->proxy);
	else if (hc->ct_host != NULL)
		confread_error(cr, group, "'proxy' and 'connect_to' exclude "
		    "each other");
}

static void
http_conf_tls(struct confread *cr, const config_setting_t *group,
    struct http_conf *hc)
{
	confread_string(cr, group, "ca_file", false, &hc->ca_file);
	confread_string(cr, group, "client_cert", false, &hc->client_cert);
	confread_string(cr, group, "client_key", false, &hc->client_key);
	confread_string(cr, group, "server_name", false, &hc->server_name);
	confread_bool(cr, group, "insecure", false, &hc->insecure);
	if (hc->client_key != NULL && hc->client_cert == NULL)
		confread_error(cr, config_setting_get_member(group,
		    "client_key"), "'client_key' needs 'client_cert'");
	if (hc->server_name != NULL && hc->proxy != NULL)
		confread_error(cr, group, "'server_name' and 'proxy' exclude "
		    "each other");
}

static int
http_conf_parse(struct confread *cr, const config_setting_t *group,
    struct check_conf *check)
{
	struct http_conf	*hc = xcalloc(1, sizeof(*hc));
	int64_t			 n = HTTP_MAX_REDIRECTS;
	int			 nerrors = cr->nerrors, v = 0;

	http_conf_url(cr, group, check, hc);
	http_conf_method(cr, group, hc);
	http_conf_headers(cr, group, hc);
	http_conf_body(cr, group, hc);
	http_conf_auth(cr, group, hc);
	confread_bool(cr, group, "follow_redirects", false, &hc->follow);
	confread_int(cr, group, "max_redirects", false, 0,
	    HTTP_REDIRECTS_LIMIT, &n);
	hc->max_redirects = (int)n;
	confread_enum(cr, group, "http_version", false, http_version_names,
	    &v);
	hc->version = v == 0 ? HTTP_VER_1_1 : HTTP_VER_2;
	http_conf_route(cr, group, hc);
	http_conf_tls(cr, group, hc);
	hc->max_body = HTTP_MAX_BODY_DEFAULT;
	confread_int(cr, group, "max_body", false, 0, INT32_MAX,
	    &hc->max_body);
	http_conf_expect(cr, group, hc);
	if (cr->nerrors != nerrors) {
		http_conf_free(hc);
		return -1;
	}
	check->kind_conf = hc;
	return 0;
}

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
		curl_easy_cleanup(h->easy);
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
	long			 code = 0, ver = 0;

	res->http.redirects = (uint8_t)h->hops;
	res->http.ssl = h->https;
	res->http.insecure = h->https && h->conf->insecure;
	res->http.body_bytes = h->headers_done ? h->received : -1;
	snprintf(res->http.final_url, sizeof(res->http.final_url), "%s",
	    h->url);
	if (h->easy == NULL)
		return;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &ver);
	res->http.status = (int32_t)code;
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

/* Writes data's first bytes as a quoted printable string. */
static const char *
http_quote(const char *data, size_t len, char *buf, size_t buflen)
{
	size_t	i, o = 0;

	buf[o++] = '"';
	for (i = 0; i < len && o + 8 < buflen; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, buflen - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x",
			    c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	if (i < len)
		o += (size_t)snprintf(buf + o, buflen - o, "...");
	buf[o] = '\0';
	return buf;
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
http_expect_header(struct http_run *h, const struct http_hexpect *he)
{
	struct probe_result	*res = &h->run->result;
	struct curl_header	*hh = NULL;
	size_t			 i, amount = 1;
	char			 q[96];
	int			 rc;

	if (curl_easy_header(h->easy, he->name, 0, CURLH_HEADER, -1, &hh) !=
	    CURLHE_OK) {
		probe_result_set(res, PROBE_HTTP_HEADER_MISMATCH,
		    "header %s missing, expected /%s/", he->name,
		    pattern_source(he->re));
		return -1;
	}
	amount = hh->amount;
	for (i = 0; i < amount; i++) {
		if (i > 0 && curl_easy_header(h->easy, he->name, i,
		    CURLH_HEADER, -1, &hh) != CURLHE_OK)
			break;
		rc = pattern_match(he->re, hh->value, strlen(hh->value));
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
	    http_quote(hh->value, strlen(hh->value), q, sizeof(q)),
	    pattern_source(he->re));
	return -1;
}

static int
http_expect_body(struct http_run *h)
{
	const struct http_conf	*hc = h->conf;
	struct probe_result	*res = &h->run->result;
	char			 q[96];
	int			 rc;

	if (hc->body_not != NULL) {
		rc = pattern_match(hc->body_not, h->body, h->len);
		if (rc != 0) {
			probe_result_set(res, rc == 1 ?
			    PROBE_HTTP_BODY_MISMATCH : PROBE_INTERNAL,
			    "body (%zu bytes) %s body_not /%s/", h->len,
			    rc == 1 ? "matches" : "hit the regex match limit "
			    "of", pattern_source(hc->body_not));
			return -1;
		}
	}
	if (hc->body_re != NULL) {
		rc = pattern_match(hc->body_re, h->body, h->len);
		if (rc != 1) {
			probe_result_set(res, rc == 0 ?
			    PROBE_HTTP_BODY_MISMATCH : PROBE_INTERNAL,
			    "body (%zu bytes) %s /%s/: %s", h->len, rc == 0 ?
			    "does not match" : "hit the regex match limit of",
			    pattern_source(hc->body_re),
			    http_quote(h->body, h->len, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

/* The last response against expect; sets the result when it fails. */
static void
http_expect(struct http_run *h, long code, int64_t elapsed)
{
	const struct http_conf	*hc = h->conf;
	struct probe_result	*res = &h->run->result;
	char			 after[32];
	long			 ver = 0;
	size_t			 i;

	if (!http_status_ok(hc, code)) {
		probe_result_set(res, PROBE_HTTP_STATUS, "got %ld, expected "
		    "%s (response after %s from %s)", code, hc->status_text,
		    http_us(elapsed, after, sizeof(after)), h->url);
		return;
	}
	if (hc->expect_ssl != -1 && hc->expect_ssl != h->https) {
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR, "ended on "
		    "%s, expected %s (ssl = %s)", h->url, hc->expect_ssl ?
		    "https" : "plain http", hc->expect_ssl ? "true" : "false");
		return;
	}
	curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &ver);
	ver = ver == CURL_HTTP_VERSION_1_0 ? HTTP_VER_1_0 :
	    ver == CURL_HTTP_VERSION_1_1 ? HTTP_VER_1_1 :
	    ver == CURL_HTTP_VERSION_2_0 ? HTTP_VER_2 : HTTP_VER_3;
	if (hc->expect_version != HTTP_VER_ANY && hc->expect_version != ver) {
		probe_result_set(res, PROBE_HTTP_PROTOCOL_ERROR, "got "
		    "HTTP/%s, expected HTTP/%s", http_version_str((int)ver),
		    http_version_str(hc->expect_version));
		return;
	}
	for (i = 0; i < hc->nhexpect; i++)
		if (http_expect_header(h, &hc->hexpect[i]) == -1)
			return;
	(void)http_expect_body(h);
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

/* Options that stay the same on every hop. */
static CURL *
http_easy_new(struct http_run *h)
{
	const struct http_conf	*hc = h->conf;
	CURL			*e;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sonde/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)hc->max_body);
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
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_cb);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
	/* Never a proxy from the environment: only the configured one. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
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
	for (const struct curl_slist *l = hc->headers; l != NULL; l = l->next)
		h->headers = curl_slist_append(h->headers, l->data);
	if (origin && hc->server_name != NULL)
		http_easy_server_name(h);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
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
	    h->conf->ct_host != NULL && h->hops == 0 && h->conf->ct_port != 0 ?
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
	char			 err[128];

	if (http_url_split(h->url, h->host, sizeof(h->host), &h->port,
	    &h->https, err, sizeof(err)) == -1) {
		probe_result_set(&run->result, PROBE_HTTP_PROTOCOL_ERROR,
		    "redirect to unusable URL %s: %s", h->url, err);
		return -1;
	}
	if (hc->proxy != NULL)
		name = hc->proxy_host;
	else if (hc->ct_host != NULL && h->hops == 0)
		name = hc->ct_host;
	else
		name = h->host;
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
};
