/*
 * xmalloc: allocation that never returns NULL.
 *
 * sonde treats running out of memory as fatal: the daemon logs and exits,
 * and its supervisor restarts it.  Callers therefore never test these for
 * NULL.  Everything returned is owned by the caller and released with free().
 */
#ifndef SONDE_XMALLOC_H
#define SONDE_XMALLOC_H

#include <stddef.h>

/* Returns new memory of n bytes (n == 0 gives a valid 1-byte block). */
void	*xmalloc(size_t n);
/* Returns new zeroed memory for nmemb * size bytes, overflow-checked. */
void	*xcalloc(size_t nmemb, size_t size);
/* Resizes p to nmemb * size bytes, overflow-checked; p may be NULL. */
void	*xreallocarray(void *p, size_t nmemb, size_t size);
/* Returns a new copy of s. */
char	*xstrdup(const char *s);
/* Returns a new copy of at most n bytes of s, always NUL-terminated. */
char	*xstrndup(const char *s, size_t n);
/* Returns a new printf-formatted string. */
char	*xasprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* SONDE_XMALLOC_H */
