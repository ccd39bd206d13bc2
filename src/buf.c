/* SPDX-License-Identifier: ISC */
/*
 * buf: growable text buffers.  This module owns the memory of a struct buf
 * and the escaping rules of the formats sonde writes into one (Prometheus
 * label values, HTML); what goes into the text belongs to the callers.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* Makes room for n more bytes plus the NUL. */
static void
buf_grow(struct buf *b, size_t n)
{
	size_t	cap = b->cap == 0 ? 256 : b->cap;

	if (b->len + n + 1 <= b->cap)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_append(struct buf *b, const char *s, size_t len)
{
	buf_grow(b, len);
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* One formatting pass when it fits (the usual case), two when it grows. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_prom_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_append(b, "\\\\", 2);
		else if (*s == '"')
			buf_append(b, "\\\"", 2);
		else if (*s == '\n')
			buf_append(b, "\\n", 2);
		else
			buf_append(b, s, 1);
	}
}

void
buf_html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_append(b, s, 1);
		}
	}
}
