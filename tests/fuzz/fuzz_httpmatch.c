/* SPDX-License-Identifier: ISC */
/*
 * fuzz_httpmatch: the http check's matching of a response against expect
 * (http_match() in checks/http.c, the code the check runs on every
 * response), with a fuzzed expect (status codes, ssl, version, header
 * regexes, body and body_not regexes, compiled by src/pattern.c as at
 * config load) and a fuzzed response (code, version, raw header block,
 * body).  Headers are looked up the way curl_easy_header(3) gives them to
 * the check: by name, case-insensitively, each value trimmed.
 *
 * Asserts the verdict against the expectations, recomputed here: a
 * status outside expect is http_status and only that; a result left ok
 * had every expected header and body_re match and body_not not; a header
 * mismatch names a header that really has no matching value; the message
 * is printable (network bytes are quoted) and fits.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"
#include "http_conf.h"
#include "pattern.h"
#include "probe.h"

#define FUZZ_HEADERS	32

/* The response's headers, split as curl would keep them. */
struct fuzz_headers {
	char	*name[FUZZ_HEADERS];
	char	*value[FUZZ_HEADERS];
	size_t	 n;
	char	 block[4096];
};

static bool
fuzz_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits block in place into "Name: value" lines; others are skipped. */
static void
fuzz_headers_split(struct fuzz_headers *hs)
{
	char	*line = hs->block, *next, *colon, *v, *e;

	for (; line != NULL && hs->n < FUZZ_HEADERS; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL || colon == line)
			continue;
		*colon = '\0';
		for (v = colon + 1; fuzz_space(*v); v++)
			;
		e = v + strlen(v);
		while (e > v && (fuzz_space(e[-1]) || e[-1] == '\r'))
			*--e = '\0';
		hs->name[hs->n] = line;
		hs->value[hs->n++] = v;
	}
}

/* http_header_get_cb over a struct fuzz_headers. */
static const char *
fuzz_header_get(void *arg, const char *name, size_t idx, size_t *amount)
{
	struct fuzz_headers	*hs = arg;
	const char		*found = NULL;
	size_t			 i, k = 0;

	for (i = 0; i < hs->n; i++) {
		if (strcasecmp(hs->name[i], name) != 0)
			continue;
		if (k++ == idx)
			found = hs->value[i];
	}
	*amount = k;
	return found;
}

/* A regex or name from config: printable, as a config string would be. */
static const char *
fuzz_printable_str(struct fuzz_in *in, char *dst, size_t dstlen)
{
	char	*s;

	fuzz_str(in, dst, dstlen);
	for (s = dst; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '.';
	return dst;
}

static struct pattern *
fuzz_pattern(struct fuzz_in *in)
{
	char	re[64], err[128];

	fuzz_printable_str(in, re, sizeof(re));
	return re[0] == '\0' ? NULL : pattern_new(re, err, sizeof(err));
}

static void
fuzz_conf(struct fuzz_in *in, struct http_conf *hc)
{
	unsigned	i, n, code;
	char		name[32];
	struct pattern	*re;

	n = fuzz_u8(in) % 5;
	for (i = 0; i < n; i++) {
		code = (fuzz_u8(in) << 8 | fuzz_u8(in)) % (HTTP_STATUS_MAX + 1);
		hc->status_ok[code / 64] |= 1ULL << (code % 64);
	}
	fuzz_printable_str(in, hc->status_text, sizeof(hc->status_text));
	i = fuzz_u8(in);
	hc->expect_ssl = (int)(i % 3) - 1;
	hc->expect_version = (int)(i / 3 % 5);
	hc->body_re = fuzz_pattern(in);
	hc->body_not = fuzz_pattern(in);
	n = fuzz_u8(in) % 4;
	hc->hexpect = calloc(n + 1, sizeof(*hc->hexpect));
	for (i = 0; i < n; i++) {
		fuzz_printable_str(in, name, sizeof(name));
		name[strcspn(name, ":")] = '\0';
		if (name[0] == '\0' || (re = fuzz_pattern(in)) == NULL)
			continue;
		hc->hexpect[hc->nhexpect].name = strdup(name);
		hc->hexpect[hc->nhexpect++].re = re;
	}
}

/* Does any value of header he match? */
static bool
fuzz_header_ok(struct fuzz_headers *hs, const struct http_hexpect *he)
{
	size_t	i;

	for (i = 0; i < hs->n; i++)
		if (strcasecmp(hs->name[i], he->name) == 0 &&
		    pattern_match(he->re, hs->value[i],
		    strlen(hs->value[i])) == 1)
			return true;
	return false;
}

static void
fuzz_verdict(const struct http_conf *hc, const struct http_response *r,
    struct fuzz_headers *hs, const struct probe_result *res)
{
	bool		 code_ok;
	size_t		 i, nbad = 0;
	const char	*m;

	code_ok = (hc->status_ok[r->code / 64] >> (r->code % 64)) & 1;
	for (m = res->message; *m != '\0'; m++)
		FUZZ_ASSERT(*m >= 0x20 && *m <= 0x7e, "message byte 0x%02x: "
		    "%s", (unsigned)(unsigned char)*m, res->message);
	FUZZ_ASSERT(strlen(res->message) < sizeof(res->message), "length");
	FUZZ_ASSERT((res->status == PROBE_HTTP_STATUS) == !code_ok,
	    "code %ld gave %d", r->code, (int)res->status);
	for (i = 0; i < hc->nhexpect; i++)
		nbad += !fuzz_header_ok(hs, &hc->hexpect[i]);
	if (res->status == PROBE_HTTP_HEADER_MISMATCH)
		FUZZ_ASSERT(nbad > 0, "header mismatch, yet all match: %s",
		    res->message);
	if (res->status != PROBE_OK)
		return;
	FUZZ_ASSERT(hc->expect_ssl == -1 || hc->expect_ssl == r->https,
	    "ok over the wrong scheme");
	FUZZ_ASSERT(hc->expect_version == HTTP_VER_ANY ||
	    hc->expect_version == r->version, "ok with the wrong version");
	FUZZ_ASSERT(nbad == 0, "ok with %zu headers not matching", nbad);
	FUZZ_ASSERT(hc->body_re == NULL ||
	    pattern_match(hc->body_re, r->body, r->len) == 1, "ok, body_re");
	FUZZ_ASSERT(hc->body_not == NULL ||
	    pattern_match(hc->body_not, r->body, r->len) == 0, "ok, body_not");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct http_conf	 hc;
	struct http_response	 r;
	struct fuzz_headers	 hs;
	struct probe_result	 res;
	size_t			 i, hlen;
	unsigned		 b;

	memset(&hc, 0, sizeof(hc));
	fuzz_conf(&in, &hc);
	memset(&r, 0, sizeof(r));
	b = fuzz_u8(&in);
	r.code = (long)((b << 8 | fuzz_u8(&in)) % (HTTP_STATUS_MAX + 1));
	r.https = b & 0x80;
	r.version = HTTP_VER_1_0 + (int)(b >> 4 & 3);
	r.url = r.https ? "https://example.test/" : "http://example.test/";
	memset(&hs, 0, sizeof(hs));
	hlen = (size_t)(fuzz_u8(&in) << 8 | fuzz_u8(&in));
	hlen = hlen < in.len ? hlen : in.len;
	hlen = hlen < sizeof(hs.block) - 1 ? hlen : sizeof(hs.block) - 1;
	memcpy(hs.block, in.p, hlen);
	fuzz_headers_split(&hs);
	r.body = (const char *)in.p + hlen;
	r.len = in.len - hlen;
	r.header = fuzz_header_get;
	r.arg = &hs;
	probe_result_init(&res);
	http_match(&hc, &r, 123456, &res);
	fuzz_verdict(&hc, &r, &hs, &res);
	pattern_free(hc.body_re);
	pattern_free(hc.body_not);
	for (i = 0; i < hc.nhexpect; i++) {
		free(hc.hexpect[i].name);
		pattern_free(hc.hexpect[i].re);
	}
	free(hc.hexpect);
	return 0;
}
