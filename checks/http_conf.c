/* SPDX-License-Identifier: ISC */
/*
 * http_conf: reads and validates an http check's config block into a
 * struct http_conf, reporting every error as file:line through confread.
 *
 * This module owns the parsed config and the secrets read for it (freed,
 * and wiped, by http_conf_free()).  It does not run anything: checks/http.c
 * does.  Only this file of the http kind includes <libconfig.h>.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "http_conf.h"
#include "log.h"
#include "pattern.h"
#include "resolver.h"
#include "xmalloc.h"

const char *const http_conf_keys[] = {
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
int
http_conf_url_split(const char *url, char *host, size_t hostlen, int *port,
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

/*
 * Whether url carries user:password@.  The URL is the check's target in
 * logs, metrics, /status.json and notifications; a password there is
 * published everywhere, so credentials live in basic_auth (file or env).
 */
static bool
http_conf_url_has_userinfo(const char *url)
{
	CURLU	*u = curl_url();
	char	*user = NULL, *pw = NULL;
	bool	 has;

	(void)curl_url_set(u, CURLUPART_URL, url, 0);
	has = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK;
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return has;
}

/*
 * Headers that carry a credential: inline they would sit in a file that
 * also holds checks, and go to every host a redirect names (basic_auth
 * and bearer_token go to the configured origin only).
 */
static bool
http_conf_header_is_secret(const char *name)
{
	return strcasecmp(name, "Authorization") == 0 ||
	    strcasecmp(name, "Proxy-Authorization") == 0 ||
	    strcasecmp(name, "Cookie") == 0;
}

/* "host:port" or "[v6]:port" or a bare host; port 0 when absent. */
static int
http_conf_hostport(const char *s, char *host, size_t hostlen, int *port)
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

void
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
	free(hc->host);
	free(hc->proxy_host);
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
 * Reads a whole file of at most HTTP_FILE_MAX bytes; *len its size.  A
 * secret's file is vetted first (confread_secret_mode; EPERM when
 * refused, why filled).  Returns a new NUL-terminated buffer, or NULL
 * with errno set.
 */
static char *
http_conf_read_file(const char *path, size_t *len, bool secret, char *why,
    size_t whylen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 saved;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if (secret && (saved = confread_secret_mode(fileno(f), why,
	    whylen)) != 0) {
		if (saved == 1)
			log_warnx("config", "secret file %s: %s", path, why);
		else {
			fclose(f);
			errno = EPERM;
			return NULL;
		}
	}
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
http_conf_secret(struct confread *cr, const config_setting_t *s, const char *what,
    const char *file, const char *env)
{
	char	*v, why[160];
	size_t	 len = 0;

	if (file != NULL) {
		if ((v = http_conf_read_file(file, &len, true, why,
		    sizeof(why))) == NULL) {
			confread_error(cr, s, "%s: cannot read %s: %s", what,
			    file, errno == EPERM ? why : strerror(errno));
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
http_conf_secret_pair(struct confread *cr, const config_setting_t *g,
    const char *what, const char *kfile, const char *kenv)
{
	char	*file = NULL, *env = NULL, *v = NULL;

	confread_string(cr, g, kfile, false, &file);
	confread_string(cr, g, kenv, false, &env);
	if ((file == NULL) == (env == NULL))
		confread_error(cr, g, "%s needs exactly one of '%s' and '%s'",
		    what, kfile, kenv);
	else
		v = http_conf_secret(cr, g, what, file, env);
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
		pw = http_conf_secret_pair(cr, g, "basic_auth", "password_file",
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
		hc->bearer = http_conf_secret_pair(cr, g, "bearer_token", "file",
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
		if (http_conf_header_is_secret(name)) {
			confread_error(cr, h, "header '%s' holds a credential; "
			    "use basic_auth or bearer_token, which read it "
			    "from a file or the environment", name);
			continue;
		}
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
	else if ((hc->body = http_conf_read_file(file, &len, false, NULL,
	    0)) == NULL)
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
http_conf_status_add(struct http_conf *hc, const config_setting_t *s)
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
http_conf_status_text(struct http_conf *hc, const config_setting_t *s)
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
		if (http_conf_status_add(hc, e) == -1)
			confread_error(cr, e, "'status' entries are codes "
			    "100-599 or classes \"1xx\"-\"5xx\"");
		else
			http_conf_status_text(hc, e);
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
	char			 err[128], host[HTTP_HOST_MAX];
	int			 family;

	if (confread_string(cr, group, "url", true, &hc->url) != 1)
		return;
	if (http_conf_url_has_userinfo(hc->url)) {
		confread_error(cr, s, "'url' holds credentials (user:password@"
		    "); use basic_auth with password_file or password_env");
		return;
	}
	if (http_conf_url_split(hc->url, host, sizeof(host), &hc->port,
	    &hc->https, err, sizeof(err)) == -1) {
		confread_error(cr, s, "'url' \"%s\": %s", hc->url, err);
		return;
	}
	/* Exact sizes, not HTTP_HOST_MAX: 10,000 checks are kept at once. */
	hc->host = xstrdup(host);
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
	char	*ct = NULL, err[128], host[HTTP_HOST_MAX];
	bool	 https;

	if (confread_string(cr, group, "connect_to", false, &ct) == 1) {
		if (http_conf_hostport(ct, host, sizeof(host),
		    &hc->ct_port) == -1)
			confread_error(cr, config_setting_get_member(group,
			    "connect_to"), "'connect_to' \"%s\" is not "
			    "host:port (or [v6]:port, or host)", ct);
		else
			hc->ct_host = xstrdup(host);
		free(ct);
	}
	if (confread_string(cr, group, "proxy", false, &hc->proxy) != 1)
		return;
	if (http_conf_url_has_userinfo(hc->proxy)) {
		confread_error(cr, config_setting_get_member(group, "proxy"),
		    "'proxy' holds credentials (user:password@); sonde has no "
		    "proxy authentication");
		return;
	}
	if (strncmp(hc->proxy, "http://", 7) != 0 || http_conf_url_split(hc->proxy,
	    host, sizeof(host), &hc->proxy_port, &https,
	    err, sizeof(err)) == -1) {
		confread_error(cr, config_setting_get_member(group, "proxy"),
		    "'proxy' \"%s\" is not an http://host:port URL", hc->proxy);
		return;
	}
	hc->proxy_host = xstrdup(host);
	if (hc->ct_host != NULL)
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
	(void)confread_key_file(cr, group);	/* curl reads it, per run */
	if (hc->server_name != NULL && hc->proxy != NULL)
		confread_error(cr, group, "'server_name' and 'proxy' exclude "
		    "each other");
}

int
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

int
http_conf_target_apply(config_setting_t *g, const char *target, char *err,
    size_t errlen)
{
	config_setting_t	*s = config_setting_get_member(g, "url");
	const char		*mod = NULL, *rest, *scheme = "http", *path = "/";
	char			*url;
	int			 slen = 4;

	if (target[0] == '\0' || strpbrk(target, " \t\r\n") != NULL) {
		snprintf(err, errlen, "target \"%s\": not a URL or host[:port]",
		    target);
		return -1;
	}
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING)
		mod = config_setting_get_string(s);
	/* The module's scheme and path, if it has a url. */
	if (mod != NULL && (rest = strstr(mod, "://")) != NULL) {
		scheme = mod;
		slen = (int)(rest - mod);
		if ((path = strchr(rest + 3, '/')) == NULL)
			path = "/";
	}
	if (strstr(target, "://") != NULL)
		url = xstrdup(target);
	else
		url = xasprintf("%.*s://%s%s", slen, scheme, target,
		    strchr(target, '/') != NULL ? "" : path);
	if (s != NULL)
		config_setting_remove(g, "url");
	s = config_setting_add(g, "url", CONFIG_TYPE_STRING);
	config_setting_set_string(s, url);
	free(url);
	return 0;
}
