/* SPDX-License-Identifier: ISC */
/*
 * pack: runs of non-zero 8-byte words, for structs of zero-filled fixed
 * buffers.  Owns nothing; pack_dup()'s buffer is the caller's.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "xmalloc.h"

#define PACK_RUN_MAX	65535		/* words a u16 counts */

static uint64_t
pack_word(const uint8_t *p, size_t i)
{
	uint64_t	w;

	memcpy(&w, p + i * sizeof(w), sizeof(w));
	return w;
}

static size_t
pack_put(uint8_t *out, size_t len, size_t skip, size_t n, const uint8_t *w)
{
	uint16_t	s16 = (uint16_t)skip, n16 = (uint16_t)n;

	memcpy(out + len, &s16, 2);
	memcpy(out + len + 2, &n16, 2);
	if (n > 0)
		memcpy(out + len + 4, w, n * 8);
	return len + 4 + n * 8;
}

size_t
pack_encode(const void *src, size_t size, uint8_t *out)
{
	const uint8_t	*p = src;
	size_t		 words = size / 8, i = 0, skip, start, len = 0;

	while (i < words) {
		for (skip = 0; i < words && pack_word(p, i) == 0; i++)
			if (++skip == PACK_RUN_MAX) {	/* a long gap */
				len = pack_put(out, len, skip, 0, NULL);
				skip = 0;
			}
		if (i == words)
			break;
		for (start = i; i < words && pack_word(p, i) != 0 &&
		    i - start < PACK_RUN_MAX; i++)
			;
		len = pack_put(out, len, skip, i - start, p + start * 8);
	}
	return len;
}

uint8_t *
pack_dup(const void *src, size_t size, size_t *len)
{
	uint8_t	*buf = xmalloc(PACK_MAX(size));

	if ((*len = pack_encode(src, size, buf)) == 0) {
		free(buf);
		return NULL;
	}
	return xreallocarray(buf, *len, 1);
}

void
pack_decode(const uint8_t *packed, size_t len, void *dst, size_t size)
{
	pack_decode_at(packed, len, 0, dst, size);
}

/* Copies the words [from, from + n) of the input that fall in the window. */
static void
pack_window(uint8_t *dst, size_t first, size_t words, size_t from,
    const uint8_t *w, size_t n)
{
	size_t	lo = from > first ? from : first;
	size_t	hi = from + n < first + words ? from + n : first + words;

	if (lo < hi)
		memcpy(dst + (lo - first) * 8, w + (lo - from) * 8,
		    (hi - lo) * 8);
}

void
pack_decode_at(const uint8_t *packed, size_t len, size_t offset, void *dst,
    size_t size)
{
	size_t		 at = 0, i = 0, first = offset / 8, words = size / 8;
	uint16_t	 skip, n;

	memset(dst, 0, size);
	while (at + 4 <= len && i < first + words) {
		memcpy(&skip, packed + at, 2);
		memcpy(&n, packed + at + 2, 2);
		if (at + 4 + (size_t)n * 8 > len)
			break;		/* not written by pack_encode() */
		i += skip;
		pack_window(dst, first, words, i, packed + at + 4, n);
		i += n;
		at += 4 + (size_t)n * 8;
	}
}
