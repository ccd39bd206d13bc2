/* SPDX-License-Identifier: ISC */
/*
 * Tests for dnswire: the presentation form of every record type it knows
 * (and RFC 3597 for the rest), whole records with compressed names, the
 * walk over all three sections, and hostile messages (cut off, pointer
 * loops, pointers past the end, RDATA that does not fit its type): each
 * must fail with a reason, never crash or read out of bounds (run under
 * ASan).  Messages are built by hand, byte by byte.  No network.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnswire.h"

/* ---- building messages --------------------------------------------------- */

struct pkt {
	uint8_t	b[1024];
	size_t	len;
};

static void
put(struct pkt *p, const void *data, size_t n)
{
	ck_assert_uint_le(p->len + n, sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void
put16(struct pkt *p, unsigned v)
{
	uint8_t	b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(p, b, 2);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* Header with these counts; question "example.test. A" when qd is 1. */
static void
header(struct pkt *p, unsigned flags, unsigned qd, unsigned an, unsigned ns,
    unsigned ar)
{
	p->len = 0;
	put16(p, 0x1234);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
	if (qd == 1) {
		put(p, "\x07" "example" "\x04" "test", 13);
		put(p, "\0", 1);
		put16(p, DNSWIRE_TYPE_A);
		put16(p, DNSWIRE_CLASS_IN);
	}
}

/* A record owned by the question's name (pointer to offset 12). */
static void
record(struct pkt *p, unsigned type, uint32_t ttl, const void *rdata,
    size_t rdlen)
{
	put16(p, 0xc00c);
	put16(p, type);
	put16(p, DNSWIRE_CLASS_IN);
	put32(p, ttl);
	put16(p, (unsigned)rdlen);
	put(p, rdata, rdlen);
}

/* ---- presentation form, type by type ------------------------------------- */

#define R(s)	s, sizeof(s) - 1

static const struct {
	unsigned	 type;
	const char	*rdata;
	size_t		 rdlen;
	const char	*want;
} rdata_cases[] = {
	{ DNSWIRE_TYPE_A, R("\xc0\x00\x02\x0a"), "192.0.2.10" },
	{ DNSWIRE_TYPE_AAAA, R("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10"),
	    "2001:db8::10" },
	{ DNSWIRE_TYPE_NS, R("\x03ns1\x07" "example\x04test\0"),
	    "ns1.example.test." },
	{ DNSWIRE_TYPE_CNAME, R("\x03www\xc0\x0c"), "www.example.test." },
	{ DNSWIRE_TYPE_PTR, R("\x04host\x07" "example\x04test\0"),
	    "host.example.test." },
	{ DNSWIRE_TYPE_DNAME, R("\x03sub\xc0\x0c"), "sub.example.test." },
	{ DNSWIRE_TYPE_NS, R("\0"), "." },
	{ DNSWIRE_TYPE_MX, R("\x00\x0a\x04mail\xc0\x0c"),
	    "10 mail.example.test." },
	{ DNSWIRE_TYPE_SOA, R("\x03ns1\xc0\x0c\x0ahostmaster\xc0\x0c"
	    "\x78\xc1\x1b\xed\x00\x00\x0e\x10\x00\x00\x02\x58"
	    "\x00\x01\x51\x80\x00\x00\x00\x3c"),
	    "ns1.example.test. hostmaster.example.test. 2025921517 3600 600 "
	    "86400 60" },
	{ DNSWIRE_TYPE_TXT, R("\x0bhello world\x0fsecond \"quoted\""),
	    "\"hello world\" \"second \\\"quoted\\\"\"" },
	{ DNSWIRE_TYPE_TXT, R("\x04" "a\\\x01\xff"), "\"a\\\\\\001\\255\"" },
	{ DNSWIRE_TYPE_TXT, R("\0"), "\"\"" },
	{ DNSWIRE_TYPE_SPF, R("\x0bv=spf1 -all"), "\"v=spf1 -all\"" },
	{ DNSWIRE_TYPE_SRV, R("\x00\x0a\x00\x3c\x13\xc4\x03sip\xc0\x0c"),
	    "10 60 5060 sip.example.test." },
	{ DNSWIRE_TYPE_CAA, R("\x00\x05issueletsencrypt.org"),
	    "0 issue \"letsencrypt.org\"" },
	{ DNSWIRE_TYPE_CAA, R("\x80\x05iodefmailto:a\"b"),
	    "128 iodef \"mailto:a\\\"b\"" },
	{ 65280, R("\xab\xcd\xef"), "\\# 3 abcdef" },
	{ 65280, R(""), "\\# 0" },
	{ 43, R("\x01\x02\x03"), "\\# 3 010203" },	/* DS: generic */
	{ DNSWIRE_TYPE_NS, R("\x03" "a.b\x02" "c \0"), "a\\.b.c\\032." },
};

START_TEST(test_dnswire_rdata_presentation)
{
	struct dnswire_rr	rr;
	struct pkt		p;
	char			out[512], err[128] = "";

	header(&p, DNSWIRE_QR, 1, 1, 0, 0);
	record(&p, rdata_cases[_i].type, 300, rdata_cases[_i].rdata,
	    rdata_cases[_i].rdlen);
	memset(&rr, 0, sizeof(rr));
	rr.name = 12;
	rr.type = (uint16_t)rdata_cases[_i].type;
	rr.class = DNSWIRE_CLASS_IN;
	rr.rdata = p.len - rdata_cases[_i].rdlen;
	rr.rdlen = (uint16_t)rdata_cases[_i].rdlen;
	ck_assert_msg(dnswire_rdata_str(p.b, p.len, &rr, out, sizeof(out),
	    err, sizeof(err)) == 0, "case %d: %s", _i, err);
	ck_assert_str_eq(out, rdata_cases[_i].want);
}
END_TEST

/* The whole line, through the iterator, in every section. */
START_TEST(test_dnswire_records_all_sections)
{
	static const char *const want[] = {
		"example.test. 300 IN MX 10 mail.example.test.",
		"example.test. 3600 IN NS ns1.example.test.",
		"mail.example.test. 60 IN A 192.0.2.25",
	};
	struct dnswire_iter	 it;
	struct dnswire_rr	 rr;
	struct pkt		 p;
	char			 out[512], err[128];
	int			 n = 0;

	header(&p, DNSWIRE_QR | DNSWIRE_AA | DNSWIRE_RD | 3, 1, 1, 1, 1);
	record(&p, DNSWIRE_TYPE_MX, 300, R("\x00\x0a\x04mail\xc0\x0c"));
	record(&p, DNSWIRE_TYPE_NS, 3600, R("\x03ns1\xc0\x0c"));
	put(&p, "\x04mail\xc0\x0c", 7);
	put16(&p, DNSWIRE_TYPE_A);
	put16(&p, DNSWIRE_CLASS_IN);
	put32(&p, 60);
	put16(&p, 4);
	put(&p, "\xc0\x00\x02\x19", 4);
	ck_assert_int_eq(dnswire_begin(&it, p.b, p.len, err, sizeof(err)), 0);
	ck_assert_uint_eq(it.hdr.id, 0x1234);
	ck_assert_uint_eq(it.hdr.rcode, 3);
	ck_assert(it.hdr.flags & DNSWIRE_AA);
	ck_assert(!(it.hdr.flags & DNSWIRE_TC));
	while (dnswire_next(&it, &rr, err, sizeof(err)) == 1) {
		ck_assert_int_lt(n, 3);
		ck_assert_int_eq(it.section, n);
		ck_assert_int_eq(dnswire_rr_str(p.b, p.len, &rr, out,
		    sizeof(out), err, sizeof(err)), 0);
		ck_assert_str_eq(out, want[n]);
		n++;
	}
	ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_dnswire_output_truncated)
{
	struct dnswire_rr	rr = { 12, DNSWIRE_TYPE_TXT, 1, 300, 0, 0 };
	struct pkt		p;
	char			out[8], err[128];

	header(&p, DNSWIRE_QR, 1, 1, 0, 0);
	record(&p, DNSWIRE_TYPE_TXT, 300, R("\x0bhello world"));
	rr.rdata = p.len - 12;
	rr.rdlen = 12;
	ck_assert_int_eq(dnswire_rdata_str(p.b, p.len, &rr, out, sizeof(out),
	    err, sizeof(err)), 1);
	ck_assert_str_eq(out, "\"hello ");
}
END_TEST

/*
 * A text that fits its buffer exactly is not cut: the SOA's last number
 * used to be printed with a space taken back afterwards, which did not
 * fit, so 1 came back for a complete text.  Found by fuzz_dnswire.
 */
START_TEST(test_dnswire_output_exact_fit)
{
	static const char	 soa[] = "\x03ns1\xc0\x0c\x0ahostmaster"
	    "\xc0\x0c\x78\xc1\x1b\xed\x00\x00\x0e\x10\x00\x00\x02\x58"
	    "\x00\x01\x51\x80\x00\x00\x00\x3c";
	static const char	 want[] = "ns1.example.test. "
	    "hostmaster.example.test. 2025921517 3600 600 86400 60";
	struct dnswire_rr	 rr = { 12, DNSWIRE_TYPE_SOA, 1, 300, 0, 0 };
	struct pkt		 p;
	char			 out[sizeof(want)], err[128];

	header(&p, DNSWIRE_QR, 1, 1, 0, 0);
	record(&p, DNSWIRE_TYPE_SOA, 300, R(soa));
	rr.rdata = p.len - (sizeof(soa) - 1);
	rr.rdlen = (uint16_t)(sizeof(soa) - 1);
	ck_assert_int_eq(dnswire_rdata_str(p.b, p.len, &rr, out, sizeof(out),
	    err, sizeof(err)), 0);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(dnswire_rdata_str(p.b, p.len, &rr, out,
	    sizeof(out) - 1, err, sizeof(err)), 1);
}
END_TEST

/* ---- hostile messages ---------------------------------------------------- */

struct bad_case {
	const char	*what;
	const char	*bytes;
	size_t		 len;
	const char	*want;		/* in the error */
};

#define HDR(an)	"\x12\x34\x81\x80\x00\x01\x00" an "\x00\x00\x00\x00"
#define Q	"\x07" "example\x04test\x00\x00\x01\x00\x01"
#define RRH(type, len)	"\xc0\x0c\x00" type "\x00\x01\x00\x00\x01\x2c\x00" len
#define RRH2(type, len)	"\xc0\x0c" type "\x00\x01\x00\x00\x01\x2c\x00" len

static const struct bad_case bad_cases[] = {
	{ "shorter than a header", R("\x12\x34\x81\x80\x00"),
	    "5-byte message is shorter than a DNS header" },
	{ "question cut off", R(HDR("\x00") "\x07" "exam"),
	    "label at offset 12 runs past the end" },
	{ "question type cut off", R(HDR("\x00") "\x07" "example\x04test\x00"
	    "\x00"), "question 1 is cut off" },
	{ "compression loop", R(HDR("\x01") Q "\xc0\x1e"),
	    "compression loop in name at offset 30" },
	{ "pointer past the end", R(HDR("\x01") Q "\xc3\xff"),
	    "name at offset 30 runs past the end" },
	{ "pointer cut off", R(HDR("\x01") Q "\xc0"),
	    "compression pointer at offset 30 is cut off" },
	{ "label type 01", R(HDR("\x01") Q "\x41x"),
	    "label type 0x40 at offset 30 is not supported" },
	{ "record header cut off", R(HDR("\x01") Q "\xc0\x0c\x00\x01\x00"),
	    "answer record at offset 30 is cut off" },
	{ "rdata past the end", R(HDR("\x01") Q RRH("\x01", "\x08")
	    "\x01\x02\x03\x04"),
	    "answer record at offset 30: 8 bytes of RDATA, 4 left" },
	{ "fewer records than counted", R(HDR("\x02") Q RRH("\x01", "\x04")
	    "\x01\x02\x03\x04"), "name at offset 46 runs past the end" },
	{ "A of 3 bytes", R(HDR("\x01") Q RRH("\x01", "\x03") "\x01\x02\x03"),
	    "A record at offset 30: 3 bytes of RDATA do not fit its layout" },
	{ "MX name past its rdata", R(HDR("\x01") Q RRH("\x0f", "\x04")
	    "\x00\x0a\x04mail\xc0\x0c"),
	    "MX record at offset 30: 4 bytes of RDATA do not fit" },
	{ "MX with trailing bytes", R(HDR("\x01") Q RRH("\x0f", "\x06")
	    "\x00\x0a\xc0\x0c\xff\xff"),
	    "MX record at offset 30: 6 bytes of RDATA do not fit" },
	{ "TXT string past its rdata", R(HDR("\x01") Q RRH("\x10", "\x03")
	    "\x05" "ab"), "TXT record at offset 30: 3 bytes" },
	{ "empty TXT", R(HDR("\x01") Q RRH("\x10", "\x00")),
	    "TXT record at offset 30: 0 bytes" },
	{ "CAA without a tag", R(HDR("\x01") Q RRH2("\x01\x01", "\x02")
	    "\x00\x00"), "CAA record at offset 30: 2 bytes" },
	{ "SOA cut short", R(HDR("\x01") Q RRH("\x06", "\x08")
	    "\xc0\x0c\xc0\x0c\x00\x00\x00\x01"),
	    "SOA record at offset 30: 8 bytes" },
	{ "CNAME pointer loop in rdata", R(HDR("\x01") Q RRH("\x05", "\x02")
	    "\xc0\x2a"), "compression loop in name at offset 42" },
};

START_TEST(test_dnswire_hostile)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct dnswire_iter	 it;
	struct dnswire_rr	 rr;
	char			 out[512], err[160] = "";
	uint8_t			*copy;
	int			 rc;

	/* An exact-size copy, so ASan sees any read past the end. */
	copy = malloc(c->len);
	memcpy(copy, c->bytes, c->len);
	rc = dnswire_begin(&it, copy, c->len, err, sizeof(err));
	while (rc == 0 && (rc = dnswire_next(&it, &rr, err,
	    sizeof(err))) == 1)
		rc = dnswire_rr_str(copy, c->len, &rr, out, sizeof(out), err,
		    sizeof(err)) == -1 ? -1 : 0;
	free(copy);
	ck_assert_msg(rc == -1, "%s: accepted", c->what);
	ck_assert_msg(strstr(err, c->want) != NULL, "%s: error \"%s\", want "
	    "\"%s\"", c->what, err, c->want);
}
END_TEST

/* A name of 128 one-byte labels is 257 octets: over the limit. */
START_TEST(test_dnswire_name_too_long)
{
	struct pkt	p;
	char		out[DNSWIRE_NAME_MAX], err[128];
	size_t		pos = 0;
	int		i;

	p.len = 0;
	for (i = 0; i < 128; i++)
		put(&p, "\x01x", 2);
	put(&p, "\0", 1);
	ck_assert_int_eq(dnswire_name(p.b, p.len, &pos, out, sizeof(out), err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "name at offset 0 is longer than 255 octets");
}
END_TEST

/* Random damage to a good answer: errors or text, never a crash. */
START_TEST(test_dnswire_mutations_never_crash)
{
	struct dnswire_iter	 it;
	struct dnswire_rr	 rr;
	struct pkt		 p;
	uint8_t			*copy;
	char			 out[512], err[160];
	unsigned		 seed = 12345;
	int			 n, k, rc;

	header(&p, DNSWIRE_QR, 1, 3, 0, 0);
	record(&p, DNSWIRE_TYPE_MX, 300, R("\x00\x0a\x04mail\xc0\x0c"));
	record(&p, DNSWIRE_TYPE_SOA, 300, R("\x03ns1\xc0\x0c\x01h\xc0\x0c"
	    "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5"));
	record(&p, DNSWIRE_TYPE_TXT, 300, R("\x03" "abc"));
	for (n = 0; n < 20000; n++) {
		size_t	len = p.len - (size_t)(rand_r(&seed) % 8);

		copy = malloc(len);
		memcpy(copy, p.b, len);
		for (k = 0; k < 3; k++)
			copy[(size_t)rand_r(&seed) % len] =
			    (uint8_t)rand_r(&seed);
		rc = dnswire_begin(&it, copy, len, err, sizeof(err));
		while (rc == 0 && dnswire_next(&it, &rr, err,
		    sizeof(err)) == 1)
			(void)dnswire_rr_str(copy, len, &rr, out, sizeof(out),
			    err, sizeof(err));
		free(copy);
	}
}
END_TEST

/* ---- names of numbers ---------------------------------------------------- */

static const struct {
	const char	*s;
	int		 want;
} type_cases[] = {
	{ "A", 1 }, { "aaaa", 28 }, { "Mx", 15 }, { "CAA", 257 },
	{ "SRV", 33 }, { "PTR", 12 }, { "TYPE65280", 65280 },
	{ "type99", 99 }, { "65535", 65535 }, { "65536", -1 },
	{ "TYPE", -1 }, { "AX", -1 }, { "", -1 }, { "-1", -1 },
	{ "12x", -1 },
};

START_TEST(test_dnswire_type_parse)
{
	ck_assert_int_eq(dnswire_type_parse(type_cases[_i].s),
	    type_cases[_i].want);
}
END_TEST

START_TEST(test_dnswire_names_of_numbers)
{
	char	b[16];

	ck_assert_str_eq(dnswire_type_str(257, b, sizeof(b)), "CAA");
	ck_assert_str_eq(dnswire_type_str(65280, b, sizeof(b)), "TYPE65280");
	ck_assert_str_eq(dnswire_rcode_str(3, b, sizeof(b)), "NXDOMAIN");
	ck_assert_str_eq(dnswire_rcode_str(23, b, sizeof(b)), "RCODE23");
	ck_assert_int_eq(dnswire_rcode_parse("nxdomain"), 3);
	ck_assert_int_eq(dnswire_rcode_parse("REFUSED"), 5);
	ck_assert_int_eq(dnswire_rcode_parse("RCODE16"), 16);
	ck_assert_int_eq(dnswire_rcode_parse("OOPS"), -1);
}
END_TEST

static Suite *
dnswire_suite(void)
{
	Suite	*s = suite_create("dnswire");
	TCase	*tc;

	tc = tcase_create("presentation");
	tcase_add_loop_test(tc, test_dnswire_rdata_presentation, 0,
	    sizeof(rdata_cases) / sizeof(rdata_cases[0]));
	tcase_add_test(tc, test_dnswire_records_all_sections);
	tcase_add_test(tc, test_dnswire_output_truncated);
	tcase_add_test(tc, test_dnswire_output_exact_fit);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_loop_test(tc, test_dnswire_hostile, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_dnswire_name_too_long);
	tcase_add_test(tc, test_dnswire_mutations_never_crash);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, test_dnswire_type_parse, 0,
	    sizeof(type_cases) / sizeof(type_cases[0]));
	tcase_add_test(tc, test_dnswire_names_of_numbers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dnswire_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
