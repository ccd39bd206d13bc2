/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnswire: the DNS message reader and record printer
 * (checks/dnswire.c) on a fuzzed message, the way the dns check reads an
 * answer: dnswire_begin(), dnswire_next() over every section, each record
 * printed whole with dnswire_rr_str().
 *
 * Asserts: every record lies inside the message; presentation text is
 * printable ASCII (what the answer regex and the notifications see); a
 * record printed into a small buffer is a prefix of the same record
 * printed in full, returns 1 only when it was cut and is always
 * terminated; type and rcode names read back to their numbers.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "dnswire.h"
#include "fuzz.h"

/* The longest presentation: RFC 3597 hex of 65535 bytes plus the owner. */
#define FUZZ_DNS_TEXT	(2 * 65536 + 4096)

static char	fuzz_full[FUZZ_DNS_TEXT];
static char	fuzz_cut[256];

static void
fuzz_printable(const char *s, const char *what)
{
	for (; *s != '\0'; s++)
		FUZZ_ASSERT(*s >= 0x20 && *s <= 0x7e, "%s has byte 0x%02x",
		    what, (unsigned)(unsigned char)*s);
}

static void
fuzz_names(uint16_t type, unsigned rcode)
{
	char	buf[32];

	dnswire_type_str(type, buf, sizeof(buf));
	FUZZ_ASSERT(dnswire_type_parse(buf) == type, "type %u printed as %s",
	    type, buf);
	dnswire_rcode_str(rcode, buf, sizeof(buf));
	FUZZ_ASSERT(dnswire_rcode_parse(buf) == (int)rcode, "rcode %u "
	    "printed as %s", rcode, buf);
}

/* rr printed in full, then cut to cutlen: the cut one is a prefix. */
static void
fuzz_rr(const uint8_t *msg, size_t len, const struct dnswire_rr *rr,
    size_t cutlen)
{
	char	err[128];
	size_t	pos = rr->name;
	int	rc, rc2;

	FUZZ_ASSERT(rr->name < len && rr->rdata <= len &&
	    rr->rdlen <= len - rr->rdata, "record outside the message");
	rc = dnswire_rr_str(msg, len, rr, fuzz_full, sizeof(fuzz_full), err,
	    sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d with %zu bytes", rc,
	    sizeof(fuzz_full));
	FUZZ_ASSERT(strlen(fuzz_full) < sizeof(fuzz_full), "unterminated");
	if (rc == 0) {
		fuzz_printable(fuzz_full, "record text");
		rc2 = dnswire_rr_str(msg, len, rr, fuzz_cut, cutlen, err,
		    sizeof(err));
		FUZZ_ASSERT(strlen(fuzz_cut) < cutlen, "past a %zu buffer",
		    cutlen);
		FUZZ_ASSERT(rc2 == (strlen(fuzz_full) >= cutlen), "rc %d for "
		    "%zu chars in %zu", rc2, strlen(fuzz_full), cutlen);
		FUZZ_ASSERT(strncmp(fuzz_full, fuzz_cut, strlen(fuzz_cut)) ==
		    0, "cut \"%s\" is not a prefix of \"%s\"", fuzz_cut,
		    fuzz_full);
	}
	if (dnswire_name(msg, len, &pos, fuzz_full, sizeof(fuzz_full), err,
	    sizeof(err)) == 0) {
		fuzz_printable(fuzz_full, "owner name");
		FUZZ_ASSERT(pos > rr->name && pos <= len, "name end %zu", pos);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnswire_iter	it;
	struct dnswire_rr	rr;
	char			err[128];
	size_t			cutlen, nrr = 0;
	int			rc;

	if (size < 1)
		return 0;
	/* The first byte picks the small buffer's size; the rest is wire. */
	cutlen = 1 + data[0] % sizeof(fuzz_cut);
	data++;
	size--;
	if (dnswire_begin(&it, data, size, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0', "failed without a reason");
		return 0;
	}
	fuzz_names(it.hdr.qdcount, it.hdr.rcode);
	while ((rc = dnswire_next(&it, &rr, err, sizeof(err))) == 1) {
		FUZZ_ASSERT(++nrr <= 3 * 65535u, "more records than counted");
		FUZZ_ASSERT(it.section < DNSWIRE_SECTION_LAST, "section %d",
		    (int)it.section);
		fuzz_rr(data, size, &rr, cutlen);
		fuzz_names(rr.type, rr.ttl >> 28);
	}
	FUZZ_ASSERT(rc == 0 || err[0] != '\0', "failed without a reason");
	return 0;
}
