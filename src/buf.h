/*
 * buf: a growable byte buffer for text built piece by piece (the /metrics
 * exposition, the status page).  It only grows: reset it and reuse it, so
 * a scrape allocates nothing once the buffer has reached its working size.
 * The content is always NUL-terminated.
 */
#ifndef SONDE_BUF_H
#define SONDE_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* owned; NULL until the first append */
	size_t	 len;
	size_t	 cap;
};

/* Empties b, keeping its memory. */
void	buf_reset(struct buf *b);
/* Frees b's memory; b is then empty and reusable. */
void	buf_free(struct buf *b);
void	buf_append(struct buf *b, const char *s, size_t len);
void	buf_puts(struct buf *b, const char *s);
void	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Appends s with the escapes of a Prometheus label value: backslash,
 * double quote and newline.
 */
void	buf_prom_escape(struct buf *b, const char *s);
/* Appends s escaped for HTML text and attribute values. */
void	buf_html_escape(struct buf *b, const char *s);

#endif /* SONDE_BUF_H */
