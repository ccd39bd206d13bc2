/*
 * http_conf: the http check's configuration, parsed and validated once at
 * load (checks/http.c runs it).  Internal to the http kind.
 *
 * struct http_conf is immutable once parsed: every run of the check reads
 * it (curl borrows its strings and header list for the transfer) and the
 * config generation, refcounted, outlives the runs.  Secrets (basic_auth's
 * password, bearer_token) are read from their file or environment variable
 * at load and live only here, never in logs or results.
 */
#ifndef SONDE_HTTP_CONF_H
#define SONDE_HTTP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_setting_t;

struct check_conf;
struct confread;
struct config_setting_t;
struct curl_slist;
struct pattern;

#define HTTP_MAX_BODY_DEFAULT	(1024 * 1024)
#define HTTP_MAX_REDIRECTS	10	/* default of max_redirects */
#define HTTP_REDIRECTS_LIMIT	30	/* the most max_redirects may be */
#define HTTP_FILE_MAX		(1024 * 1024)	/* body_file, secrets */
#define HTTP_HOST_MAX		256
#define HTTP_STATUS_WORDS	10	/* 64-bit words: codes 0..639 */
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
	char			*host;		/* the URL's, no [] */
	int			 port;		/* the URL's, default filled */
	bool			 https;		/* the URL's scheme */
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
	char			*proxy_host;
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


/* The keys a check of type "http" accepts (for unknown-key errors). */
extern const char *const http_conf_keys[];

/* probe_ops.conf_parse and conf_free; see probe.h. */
int	http_conf_parse(struct confread *cr,
	    const struct config_setting_t *group, struct check_conf *check);
void	http_conf_free(void *kind_conf);
/*
 * Splits url (absolute, http or https) into its host (no []) and port
 * (the scheme's default when absent).  Returns 0, or -1 with the reason.
 */
int	http_conf_url_split(const char *url, char *host, size_t hostlen,
	    int *port, bool *https, char *err, size_t errlen);

/*
 * The /probe target of an http module: a URL ("https://host/path") taken
 * as is, or host[:port] (blackbox_exporter's form), then given the
 * module's scheme and path ("http" and "/" when the module has no url).
 * Sets "url" in the module's group; conf_parse checks it.  Returns 0, or
 * -1 with the reason in err.
 */
int	http_conf_target_apply(struct config_setting_t *group,
	    const char *target, char *err, size_t errlen);

#endif /* SONDE_HTTP_CONF_H */
