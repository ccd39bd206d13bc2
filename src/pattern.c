/* SPDX-License-Identifier: ISC */
/*
 * pattern: PCRE2 (8-bit) compiled once, matched many times.
 *
 * Owns the compiled code, its match data and a match context with limits.
 * Data is matched as bytes: a server's reply is not promised to be UTF-8,
 * and PCRE2_NO_UTF_CHECK on network data would be undefined behaviour.
 */
#include "autoconf.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "pattern.h"
#include "xmalloc.h"

/* Enough for any sane banner or body regex, small enough to stay fast. */
#define PATTERN_MATCH_LIMIT	1000000
#define PATTERN_DEPTH_LIMIT	10000

struct pattern {
	pcre2_code		*code;
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	char			*source;
};

struct pattern *
pattern_new(const char *regex, char *err, size_t errlen)
{
	struct pattern	*p;
	PCRE2_UCHAR	 msg[256];
	PCRE2_SIZE	 off;
	int		 ec;

	p = xcalloc(1, sizeof(*p));
	p->code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0,
	    &ec, &off, NULL);
	if (p->code == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "%s at offset %zu", (char *)msg,
		    (size_t)off);
		free(p);
		return NULL;
	}
	/* Without JIT (some hardened kernels) the interpreter still works. */
	(void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
	p->md = pcre2_match_data_create_from_pattern(p->code, NULL);
	p->mctx = pcre2_match_context_create(NULL);
	if (p->md == NULL || p->mctx == NULL) {
		snprintf(err, errlen, "out of memory");
		pattern_free(p);
		return NULL;
	}
	pcre2_set_match_limit(p->mctx, PATTERN_MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, PATTERN_DEPTH_LIMIT);
	p->source = xstrdup(regex);
	return p;
}

void
pattern_free(struct pattern *p)
{
	if (p == NULL)
		return;
	pcre2_match_context_free(p->mctx);
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->code);
	free(p->source);
	free(p);
}

int
pattern_match(const struct pattern *p, const char *data, size_t len)
{
	int	rc;

	rc = pcre2_match(p->code, (PCRE2_SPTR)data, len, 0, 0, p->md,
	    p->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

const char *
pattern_source(const struct pattern *p)
{
	return p->source;
}
