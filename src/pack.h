/*
 * pack: a lossless packing for structs that are mostly the zero-filled
 * tails of fixed buffers (a probe result, a notification item): a
 * struct probe_result is 2.5 KB and a struct notify_item 3 KB, of which a
 * typical one fills a few hundred bytes.  Kept per check (history) or per
 * queued notification (outbox), they are kept packed.
 *
 * Format: runs of [zero words to skip: u16][words that follow: u16][the
 * words], in 8-byte words, host byte order (never written to disk).  Any
 * bytes pack: non-zero padding only packs less well.
 */
#ifndef SONDE_PACK_H
#define SONDE_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes pack_encode() may write for size bytes (size a multiple of 8). */
#define PACK_MAX(size) \
	((size) + 4 * ((size) / 16 + (size) / (4 * 65535) + 2))

/*
 * Packs size bytes of src (size a multiple of 8) into out, which holds
 * PACK_MAX(size) bytes; returns the packed length (0: all zero).
 */
size_t	 pack_encode(const void *src, size_t size, uint8_t *out);
/* As pack_encode(), into a new buffer of the exact length (NULL if 0). */
uint8_t	*pack_dup(const void *src, size_t size, size_t *len);
/*
 * Unpacks into dst: zero-fills its size bytes, then writes the packed
 * words that fall within them (a prefix of what was packed, when size is
 * smaller).  A malformed input stops the decoding; it never writes
 * outside dst.
 */
void	 pack_decode(const uint8_t *packed, size_t len, void *dst,
	    size_t size);
/* As pack_decode(), for the size bytes packed at offset (a multiple of 8). */
void	 pack_decode_at(const uint8_t *packed, size_t len, size_t offset,
	    void *dst, size_t size);

#endif /* SONDE_PACK_H */
