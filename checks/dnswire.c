/* SPDX-License-Identifier: ISC */
/*
 * dnswire: a bounds-checked reader of DNS messages and a printer of their
 * records in zone-file presentation form (RFC 1035 §5.1, RFC 3597 §5).
 *
 * This module owns no memory: it reads a message the caller holds and
 * writes text into buffers the caller gives.  It does not send, receive or
 * decide anything about a message; the dns check kind does that.  c-ares
 * 1.18 has parsers for some types, but they allocate, read only the answer
 * section, and drop what they do not understand; a probe must show every
 * record of every section exactly as the server sent it.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnswire.h"

/* An output buffer that records overflow instead of writing past cap. */
struct dnswire_out {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 full;
};

static const struct {
	uint16_t	 type;
	const char	*name;
} dnswire_types[] = {
	{ DNSWIRE_TYPE_A, "A" }, { DNSWIRE_TYPE_NS, "NS" },
	{ DNSWIRE_TYPE_CNAME, "CNAME" }, { DNSWIRE_TYPE_SOA, "SOA" },
	{ DNSWIRE_TYPE_PTR, "PTR" }, { 13, "HINFO" },
	{ DNSWIRE_TYPE_MX, "MX" }, { DNSWIRE_TYPE_TXT, "TXT" },
	{ DNSWIRE_TYPE_AAAA, "AAAA" }, { 35, "NAPTR" },
	{ DNSWIRE_TYPE_SRV, "SRV" }, { DNSWIRE_TYPE_DNAME, "DNAME" },
	{ DNSWIRE_TYPE_OPT, "OPT" }, { 43, "DS" }, { 44, "SSHFP" },
	{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 50, "NSEC3" },
	{ 51, "NSEC3PARAM" }, { 52, "TLSA" }, { 64, "SVCB" },
	{ 65, "HTTPS" }, { DNSWIRE_TYPE_SPF, "SPF" }, { 252, "AXFR" },
	{ 255, "ANY" }, { 256, "URI" }, { DNSWIRE_TYPE_CAA, "CAA" },
};

static const char *const dnswire_rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

static const char *const dnswire_sections[] = {
	[DNSWIRE_ANSWER] = "answer",
	[DNSWIRE_AUTHORITY] = "authority",
	[DNSWIRE_ADDITIONAL] = "additional",
};

static int
dnswire_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
dnswire_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint16_t
dnswire_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
dnswire_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* ---- output -------------------------------------------------------------- */

static void
dnswire_put(struct dnswire_out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->cap) {
		n = o->full || o->len + 1 >= o->cap ? 0 : o->cap - o->len - 1;
		o->full = 1;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
dnswire_putf(struct dnswire_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
dnswire_putf(struct dnswire_out *o, const char *fmt, ...)
{
	char	buf[64];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		dnswire_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/*
 * One byte of a label or character-string: printable ASCII as itself,
 * the specials escaped with a backslash, the rest as \DDD (RFC 1035
 * §5.1).  specials differ: a label escapes '.', a string does not.
 */
static void
dnswire_putc_escaped(struct dnswire_out *o, uint8_t c, const char *specials)
{
	char	buf[5];

	if (c < 0x21 || c > 0x7e) {
		if (c == ' ' && strchr(specials, ' ') == NULL) {
			dnswire_put(o, " ", 1);
			return;
		}
		snprintf(buf, sizeof(buf), "\\%03u", c);
		dnswire_put(o, buf, 4);
	} else if (strchr(specials, (char)c) != NULL) {
		buf[0] = '\\';
		buf[1] = (char)c;
		dnswire_put(o, buf, 2);
	} else
		dnswire_put(o, (const char *)&c, 1);
}

/* ---- names --------------------------------------------------------------- */

/*
 * Reads a name at *pos into o.  Pointers (RFC 1035 §4.1.4) are followed
 * at most DNSWIRE_MAX_JUMPS times, which ends any loop; the total wire
 * length is capped at 255 octets (RFC 1035 §3.1).
 */
static int
dnswire_name_out(const uint8_t *msg, size_t len, size_t *pos,
    struct dnswire_out *o, char *err, size_t errlen)
{
	size_t		p = *pos, end = 0, wire = 1, i;
	int		jumps = 0;
	uint8_t		l;

	for (;;) {
		if (p >= len)
			return dnswire_fail(err, errlen,
			    "name at offset %zu runs past the end", *pos);
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return dnswire_fail(err, errlen, "compression "
				    "pointer at offset %zu is cut off", p);
			if (++jumps > DNSWIRE_MAX_JUMPS)
				return dnswire_fail(err, errlen, "compression "
				    "loop in name at offset %zu", *pos);
			if (end == 0)
				end = p + 2;
			p = (size_t)(dnswire_u16(msg + p) & 0x3fff);
			continue;
		}
		if ((l & 0xc0) != 0)
			return dnswire_fail(err, errlen, "label type 0x%02x "
			    "at offset %zu is not supported", l & 0xc0, p);
		if (l == 0)
			break;
		if (p + 1 + l > len)
			return dnswire_fail(err, errlen,
			    "label at offset %zu runs past the end", p);
		if ((wire += 1 + (size_t)l) > 255)
			return dnswire_fail(err, errlen,
			    "name at offset %zu is longer than 255 octets",
			    *pos);
		for (i = 0; i < l; i++)
			dnswire_putc_escaped(o, msg[p + 1 + i], ".\\\"();@$ ");
		dnswire_put(o, ".", 1);
		p += 1 + (size_t)l;
	}
	if (wire == 1)
		dnswire_put(o, ".", 1);
	*pos = end != 0 ? end : p + 1;
	return 0;
}

int
dnswire_name(const uint8_t *msg, size_t len, size_t *pos, char *out,
    size_t outlen, char *err, size_t errlen)
{
	struct dnswire_out	o = { out, 0, outlen, 0 };

	out[0] = '\0';
	if (dnswire_name_out(msg, len, pos, &o, err, errlen) == -1)
		return -1;
	if (o.full)
		return dnswire_fail(err, errlen, "name too long to print");
	return 0;
}

/* ---- the message --------------------------------------------------------- */

int
dnswire_begin(struct dnswire_iter *it, const uint8_t *msg, size_t len,
    char *err, size_t errlen)
{
	char			 name[DNSWIRE_NAME_MAX];
	struct dnswire_header	*h = &it->hdr;
	unsigned		 i;

	memset(it, 0, sizeof(*it));
	it->msg = msg;
	it->len = len;
	if (len < DNSWIRE_HEADER_LEN)
		return dnswire_fail(err, errlen, "%zu-byte message is shorter "
		    "than a DNS header", len);
	h->id = dnswire_u16(msg);
	h->flags = dnswire_u16(msg + 2);
	h->opcode = (uint8_t)(h->flags >> 11 & 0xf);
	h->rcode = (uint8_t)(h->flags & 0xf);
	h->qdcount = dnswire_u16(msg + 4);
	for (i = 0; i < DNSWIRE_SECTION_LAST; i++)
		h->count[i] = it->left[i] = dnswire_u16(msg + 6 + 2 * i);
	it->pos = DNSWIRE_HEADER_LEN;
	for (i = 0; i < h->qdcount; i++) {
		if (dnswire_name(msg, len, &it->pos, name, sizeof(name), err,
		    errlen) == -1)
			return -1;
		if (it->pos + 4 > len)
			return dnswire_fail(err, errlen,
			    "question %u is cut off", i + 1);
		it->pos += 4;
	}
	return 0;
}

int
dnswire_next(struct dnswire_iter *it, struct dnswire_rr *rr, char *err,
    size_t errlen)
{
	char		name[DNSWIRE_NAME_MAX];
	const char	*sec;

	while (it->section < DNSWIRE_SECTION_LAST &&
	    it->left[it->section] == 0)
		it->section++;
	if (it->section == DNSWIRE_SECTION_LAST)
		return 0;
	sec = dnswire_sections[it->section];
	rr->name = it->pos;
	if (dnswire_name(it->msg, it->len, &it->pos, name, sizeof(name), err,
	    errlen) == -1)
		return -1;
	if (it->pos + 10 > it->len)
		return dnswire_fail(err, errlen, "%s record at offset %zu is "
		    "cut off", sec, rr->name);
	rr->type = dnswire_u16(it->msg + it->pos);
	rr->class = dnswire_u16(it->msg + it->pos + 2);
	rr->ttl = dnswire_u32(it->msg + it->pos + 4);
	rr->rdlen = dnswire_u16(it->msg + it->pos + 8);
	rr->rdata = it->pos + 10;
	if (rr->rdata + rr->rdlen > it->len)
		return dnswire_fail(err, errlen, "%s record at offset %zu: "
		    "%u bytes of RDATA, %zu left in the message", sec,
		    rr->name, rr->rdlen, it->len - rr->rdata);
	it->pos = rr->rdata + rr->rdlen;
	it->left[it->section]--;
	return 1;
}

/* ---- RDATA --------------------------------------------------------------- */

/* A <character-string> (RFC 1035 §3.3) quoted; advances *p. */
static int
dnswire_string(const uint8_t *msg, size_t *p, size_t end,
    struct dnswire_out *o)
{
	size_t	l, i;

	if (*p >= end || *p + 1 + msg[*p] > end)
		return -1;
	l = msg[*p];
	dnswire_put(o, "\"", 1);
	for (i = 0; i < l; i++)
		dnswire_putc_escaped(o, msg[*p + 1 + i], "\"\\");
	dnswire_put(o, "\"", 1);
	*p += 1 + l;
	return 0;
}

/* A name inside RDATA: it must start and (uncompressed) end inside. */
static int
dnswire_rname(const uint8_t *msg, size_t len, size_t *p, size_t end,
    struct dnswire_out *o, char *err, size_t errlen)
{
	if (*p >= end)
		return -1;
	if (dnswire_name_out(msg, len, p, o, err, errlen) == -1)
		return -2;
	return *p <= end ? 0 : -1;
}

/*
 * Fixed-size big-endian integers, space-separated, and followed by a
 * space when trail (a name comes next); advances *p.  Never a space to
 * take back: a text that just fits must not be reported as cut.
 */
static int
dnswire_ints(const uint8_t *msg, size_t *p, size_t end, const char *sizes,
    bool trail, struct dnswire_out *o)
{
	unsigned long	v;

	for (; *sizes != '\0'; sizes++) {
		if (*p + (*sizes == '2' ? 2 : 4) > end)
			return -1;
		v = *sizes == '2' ? dnswire_u16(msg + *p) :
		    (unsigned long)dnswire_u32(msg + *p);
		*p += *sizes == '2' ? 2 : 4;
		dnswire_putf(o, "%lu%s", v, sizes[1] != '\0' || trail ?
		    " " : "");
	}
	return 0;
}

/* SOA (RFC 1035 §3.3.13): mname rname serial refresh retry expire min. */
static int
dnswire_soa(const uint8_t *msg, size_t len, size_t *p, size_t end,
    struct dnswire_out *o, char *err, size_t errlen)
{
	int	rc;

	if ((rc = dnswire_rname(msg, len, p, end, o, err, errlen)) != 0)
		return rc;
	dnswire_put(o, " ", 1);
	if ((rc = dnswire_rname(msg, len, p, end, o, err, errlen)) != 0)
		return rc;
	dnswire_put(o, " ", 1);
	return dnswire_ints(msg, p, end, "44444", false, o);
}

/* CAA (RFC 8659 §4.1.1): flags tag "value". */
static int
dnswire_caa(const uint8_t *msg, size_t p, size_t end, struct dnswire_out *o)
{
	size_t	tl, i;

	if (p + 2 > end || (tl = msg[p + 1]) == 0 || p + 2 + tl > end)
		return -1;
	dnswire_putf(o, "%u ", msg[p]);
	for (i = 0; i < tl; i++) {
		if (!isalnum(msg[p + 2 + i]))
			return -1;
		dnswire_put(o, (const char *)msg + p + 2 + i, 1);
	}
	dnswire_put(o, " \"", 2);
	for (i = p + 2 + tl; i < end; i++)
		dnswire_putc_escaped(o, msg[i], "\"\\");
	dnswire_put(o, "\"", 1);
	return 0;
}

/*
 * Prints the RDATA of the types with a layout of their own.  Returns 0,
 * -1 when the RDATA does not fit the layout, -2 on a malformed compressed
 * name (err set), -3 for a type without a layout here (RFC 3597 then).
 */
static int
dnswire_rdata_typed(const uint8_t *msg, size_t len,
    const struct dnswire_rr *rr, struct dnswire_out *o, char *err,
    size_t errlen)
{
	char	ip[INET6_ADDRSTRLEN];
	size_t	p = rr->rdata, end = rr->rdata + rr->rdlen;
	int	rc = 0;

	switch (rr->type) {
	case DNSWIRE_TYPE_A:
	case DNSWIRE_TYPE_AAAA:
		if (rr->rdlen != (rr->type == DNSWIRE_TYPE_A ? 4 : 16))
			return -1;
		inet_ntop(rr->type == DNSWIRE_TYPE_A ? AF_INET : AF_INET6,
		    msg + p, ip, sizeof(ip));
		dnswire_put(o, ip, strlen(ip));
		return 0;
	case DNSWIRE_TYPE_NS:
	case DNSWIRE_TYPE_CNAME:
	case DNSWIRE_TYPE_PTR:
	case DNSWIRE_TYPE_DNAME:
		rc = dnswire_rname(msg, len, &p, end, o, err, errlen);
		break;
	case DNSWIRE_TYPE_MX:
		if ((rc = dnswire_ints(msg, &p, end, "2", true, o)) == 0)
			rc = dnswire_rname(msg, len, &p, end, o, err, errlen);
		break;
	case DNSWIRE_TYPE_SRV:
		if ((rc = dnswire_ints(msg, &p, end, "222", true, o)) == 0)
			rc = dnswire_rname(msg, len, &p, end, o, err, errlen);
		break;
	case DNSWIRE_TYPE_SOA:
		rc = dnswire_soa(msg, len, &p, end, o, err, errlen);
		break;
	case DNSWIRE_TYPE_TXT:
	case DNSWIRE_TYPE_SPF:
		if (rr->rdlen == 0)
			return -1;
		while (rc == 0 && p < end) {
			if (p > rr->rdata)
				dnswire_put(o, " ", 1);
			rc = dnswire_string(msg, &p, end, o);
		}
		break;
	case DNSWIRE_TYPE_CAA:
		return dnswire_caa(msg, p, end, o);
	default:
		return -3;
	}
	return rc != 0 ? rc : p == end ? 0 : -1;
}

/* RFC 3597 §5: \# <length> <hex>. */
static void
dnswire_rdata_generic(const uint8_t *msg, const struct dnswire_rr *rr,
    struct dnswire_out *o)
{
	size_t	i;

	dnswire_putf(o, "\\# %u", rr->rdlen);
	if (rr->rdlen > 0)
		dnswire_put(o, " ", 1);
	for (i = 0; i < rr->rdlen; i++)
		dnswire_putf(o, "%02x", msg[rr->rdata + i]);
}

static int
dnswire_rdata_out(const uint8_t *msg, size_t len, const struct dnswire_rr *rr,
    struct dnswire_out *o, char *err, size_t errlen)
{
	size_t	mark = o->len;
	int	rc;
	char	tb[16];

	rc = dnswire_rdata_typed(msg, len, rr, o, err, errlen);
	if (rc == -2)
		return -1;
	if (rc == -1)
		return dnswire_fail(err, errlen, "%s record at offset %zu: "
		    "%u bytes of RDATA do not fit its layout",
		    dnswire_type_str(rr->type, tb, sizeof(tb)), rr->name,
		    rr->rdlen);
	if (rc == -3) {
		o->len = mark;
		o->p[mark] = '\0';
		o->full = 0;
		dnswire_rdata_generic(msg, rr, o);
	}
	return 0;
}

int
dnswire_rdata_str(const uint8_t *msg, size_t len, const struct dnswire_rr *rr,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct dnswire_out	o = { out, 0, outlen, 0 };

	out[0] = '\0';
	if (dnswire_rdata_out(msg, len, rr, &o, err, errlen) == -1)
		return -1;
	return o.full ? 1 : 0;
}

int
dnswire_rr_str(const uint8_t *msg, size_t len, const struct dnswire_rr *rr,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct dnswire_out	 o = { out, 0, outlen, 0 };
	size_t			 p = rr->name;
	char			 tb[16];

	out[0] = '\0';
	if (dnswire_name_out(msg, len, &p, &o, err, errlen) == -1)
		return -1;
	dnswire_putf(&o, " %lu ", (unsigned long)rr->ttl);
	if (rr->class == DNSWIRE_CLASS_IN)
		dnswire_put(&o, "IN ", 3);
	else if (rr->class == 3)
		dnswire_put(&o, "CH ", 3);
	else
		dnswire_putf(&o, "CLASS%u ", rr->class);
	dnswire_type_str(rr->type, tb, sizeof(tb));
	dnswire_put(&o, tb, strlen(tb));
	dnswire_put(&o, " ", 1);
	if (dnswire_rdata_out(msg, len, rr, &o, err, errlen) == -1)
		return -1;
	return o.full ? 1 : 0;
}

/* ---- names of numbers ---------------------------------------------------- */

const char *
dnswire_type_str(uint16_t type, char *buf, size_t buflen)
{
	size_t	i;

	for (i = 0; i < sizeof(dnswire_types) / sizeof(dnswire_types[0]); i++)
		if (dnswire_types[i].type == type) {
			snprintf(buf, buflen, "%s", dnswire_types[i].name);
			return buf;
		}
	snprintf(buf, buflen, "TYPE%u", type);
	return buf;
}

/* "123" or "PREFIX123" with a value in [0, max]; -1 otherwise. */
static int
dnswire_number(const char *s, const char *prefix, long max)
{
	size_t	n = strlen(prefix);
	char	*end;
	long	v;

	if (strncasecmp(s, prefix, n) == 0)
		s += n;
	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > max)
		return -1;
	return (int)v;
}

int
dnswire_type_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(dnswire_types) / sizeof(dnswire_types[0]); i++)
		if (strcasecmp(dnswire_types[i].name, s) == 0)
			return dnswire_types[i].type;
	return dnswire_number(s, "TYPE", 65535);
}

const char *
dnswire_rcode_str(unsigned rcode, char *buf, size_t buflen)
{
	if (rcode < sizeof(dnswire_rcodes) / sizeof(dnswire_rcodes[0]))
		snprintf(buf, buflen, "%s", dnswire_rcodes[rcode]);
	else
		snprintf(buf, buflen, "RCODE%u", rcode);
	return buf;
}

int
dnswire_rcode_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(dnswire_rcodes) / sizeof(dnswire_rcodes[0]);
	    i++)
		if (strcasecmp(dnswire_rcodes[i], s) == 0)
			return (int)i;
	return dnswire_number(s, "RCODE", 4095);
}

const char *
dnswire_section_str(enum dnswire_section section)
{
	if ((unsigned)section >= DNSWIRE_SECTION_LAST)
		return "unknown";
	return dnswire_sections[section];
}
