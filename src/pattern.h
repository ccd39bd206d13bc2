/*
 * pattern: compiled PCRE2 regular expressions, the one regex dialect of
 * every sonde config key that takes one.
 *
 * Patterns are compiled (and JIT-compiled when possible) at config load,
 * matched as bytes with an explicit length (NULs allowed), under a match
 * limit so a hostile input cannot stall the loop.
 */
#ifndef SONDE_PATTERN_H
#define SONDE_PATTERN_H

#include <stddef.h>

struct pattern;

/* Returns a new compiled pattern, or NULL with PCRE2's reason in err. */
struct pattern	*pattern_new(const char *regex, char *err, size_t errlen);
/* NULL is a no-op. */
void		 pattern_free(struct pattern *p);
/* Returns 1 on a match, 0 on none, -1 when a match limit was hit. */
int		 pattern_match(const struct pattern *p, const char *data,
		    size_t len);
/* Returns the source text (borrowed from p). */
const char	*pattern_source(const struct pattern *p);

#endif /* SONDE_PATTERN_H */
