/*
 * dnswire: reading DNS messages (RFC 1035 §4) off the wire and writing
 * their records in zone-file presentation form.
 *
 * Everything here parses hostile input: every read is bounds-checked
 * against the message length, compression pointers are followed at most
 * DNSWIRE_MAX_JUMPS times and a name may not exceed 255 octets, and an
 * RDATA must be consumed exactly by its type's layout.  Functions never
 * allocate; they borrow the message and write into the caller's buffers,
 * and report a malformed message by returning -1 with a reason in err.
 *
 * Types printed by their own layout: A, NS, CNAME, SOA, PTR, MX, TXT,
 * AAAA, SRV, DNAME, SPF and CAA; every other type (and a known type whose
 * RDATA does not fit its layout) in the generic form of RFC 3597 §5,
 * "\# <length> <hex>", so nothing a server sends is ever hidden.
 */
#ifndef SONDE_DNSWIRE_H
#define SONDE_DNSWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSWIRE_HEADER_LEN	12
#define DNSWIRE_NAME_MAX	1024	/* presentation, escapes included */
#define DNSWIRE_MAX_JUMPS	64	/* compression pointers per name */

/* Header bits (RFC 1035 §4.1.1); flags is bytes 2-3 as one number. */
#define DNSWIRE_QR		0x8000
#define DNSWIRE_AA		0x0400
#define DNSWIRE_TC		0x0200
#define DNSWIRE_RD		0x0100
#define DNSWIRE_RA		0x0080

#define DNSWIRE_CLASS_IN	1
#define DNSWIRE_TYPE_A		1
#define DNSWIRE_TYPE_NS		2
#define DNSWIRE_TYPE_CNAME	5
#define DNSWIRE_TYPE_SOA	6
#define DNSWIRE_TYPE_PTR	12
#define DNSWIRE_TYPE_MX		15
#define DNSWIRE_TYPE_TXT	16
#define DNSWIRE_TYPE_AAAA	28
#define DNSWIRE_TYPE_SRV	33
#define DNSWIRE_TYPE_DNAME	39
#define DNSWIRE_TYPE_OPT	41
#define DNSWIRE_TYPE_SPF	99
#define DNSWIRE_TYPE_CAA	257

enum dnswire_section {
	DNSWIRE_ANSWER,
	DNSWIRE_AUTHORITY,
	DNSWIRE_ADDITIONAL,
	DNSWIRE_SECTION_LAST
};

struct dnswire_header {
	uint16_t	id;
	uint16_t	flags;		/* DNSWIRE_QR, _AA, _TC, ... */
	uint8_t		opcode;
	uint8_t		rcode;		/* the header's 4 bits */
	uint16_t	qdcount;
	uint16_t	count[DNSWIRE_SECTION_LAST];
};

/* One resource record; offsets into the message it was read from. */
struct dnswire_rr {
	size_t		name;		/* offset of the owner name */
	uint16_t	type;
	uint16_t	class;
	uint32_t	ttl;
	size_t		rdata;		/* offset of the RDATA */
	uint16_t	rdlen;
};

/*
 * Walks a message: the header, the question (skipped) and then every
 * record of the three sections in order.  Borrows msg.
 */
struct dnswire_iter {
	const uint8_t		*msg;
	size_t			 len;
	size_t			 pos;
	struct dnswire_header	 hdr;
	enum dnswire_section	 section;	/* of the record last read */
	unsigned		 left[DNSWIRE_SECTION_LAST];
};

/*
 * Reads the header and steps over the question section.  Returns 0, or
 * -1 with the reason in err.
 */
int	dnswire_begin(struct dnswire_iter *it, const uint8_t *msg, size_t len,
	    char *err, size_t errlen);
/*
 * Reads the next record into *rr (it->section tells which section).
 * Returns 1, 0 at the end of the message, or -1 with the reason in err.
 */
int	dnswire_next(struct dnswire_iter *it, struct dnswire_rr *rr,
	    char *err, size_t errlen);

/*
 * Expands the name at *pos (following compression pointers) into out as
 * "www.example.com." (special bytes escaped, RFC 4343 §2.1); advances *pos
 * past the name as it sits at *pos.  Returns 0, or -1 with the reason in
 * err.
 */
int	dnswire_name(const uint8_t *msg, size_t len, size_t *pos, char *out,
	    size_t outlen, char *err, size_t errlen);

/*
 * Writes rr's RDATA in presentation form ("10 mail.example.com.").
 * Returns 0; 1 when out was too small (truncated, still NUL-terminated);
 * -1 with the reason in err when the RDATA is malformed.
 */
int	dnswire_rdata_str(const uint8_t *msg, size_t len,
	    const struct dnswire_rr *rr, char *out, size_t outlen, char *err,
	    size_t errlen);
/*
 * Writes the whole record: "mx.example.com. 300 IN MX 10 mail.example.com.".
 * Returns as dnswire_rdata_str().
 */
int	dnswire_rr_str(const uint8_t *msg, size_t len,
	    const struct dnswire_rr *rr, char *out, size_t outlen, char *err,
	    size_t errlen);

/* Writes "A", "CAA" or "TYPE65280" into buf; returns buf. */
const char	*dnswire_type_str(uint16_t type, char *buf, size_t buflen);
/*
 * Parses a type as written in config: a mnemonic ("MX", any case),
 * "TYPE<n>" (RFC 3597 §5) or a number.  Returns the type or -1.
 */
int		 dnswire_type_parse(const char *s);
/* Writes "NOERROR", "NXDOMAIN" or "RCODE12" into buf; returns buf. */
const char	*dnswire_rcode_str(unsigned rcode, char *buf, size_t buflen);
/* Parses "NXDOMAIN" (any case), "RCODE<n>" or a number; returns it or -1. */
int		 dnswire_rcode_parse(const char *s);
/* Returns "answer", "authority" or "additional". */
const char	*dnswire_section_str(enum dnswire_section section);

#endif /* SONDE_DNSWIRE_H */
