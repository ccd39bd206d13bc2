/*
 * http: the HTTP(S) check kind, on libcurl through curlmux, and its
 * matching of a response against expect (http_match(), apart from curl so
 * it can be tested and fuzzed on its own).
 */
#ifndef SONDE_HTTP_H
#define SONDE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

struct http_conf;
struct probe_result;

/*
 * Returns the value of the idx-th header named name (case-insensitive,
 * of the last response, trimmed as curl_easy_header(3) gives it) and sets
 * *amount to how many there are; NULL when there is none.
 */
typedef const char *(*http_header_get_cb)(void *arg, const char *name,
    size_t idx, size_t *amount);

/* One response as the check holds it to expect; all borrowed. */
struct http_response {
	long			 code;
	bool			 https;
	int			 version;	/* HTTP_VER_1_0 ... */
	const char		*url;
	const char		*body;	/* kept only with a body regex */
	size_t			 len;
	http_header_get_cb	 header;
	void			*arg;
};

extern const struct probe_ops http_probe_ops;

/*
 * Holds r to hc's expect (status, ssl, version, headers, body) and sets
 * res's status and message on the first that fails; res is left alone
 * when all hold.  elapsed (µs) is for the message.
 */
void	http_match(const struct http_conf *hc,
	    const struct http_response *r, int64_t elapsed,
	    struct probe_result *res);

#endif /* SONDE_HTTP_H */
