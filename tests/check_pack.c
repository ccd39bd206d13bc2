/* SPDX-License-Identifier: ISC */
/*
 * Tests for pack: every input comes back byte for byte (sparse, dense,
 * all zero, gaps and runs longer than a u16 counts), a window at an
 * offset is exactly those bytes, the packed size stays within PACK_MAX,
 * and a truncated or garbled input never writes outside the destination.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "xmalloc.h"

/* Packs buf, checks the bound and the round trip; returns the length. */
static size_t
round_trip(const uint8_t *buf, size_t size)
{
	uint8_t	*out = xmalloc(PACK_MAX(size)), *back = xmalloc(size);
	size_t	 len;

	len = pack_encode(buf, size, out);
	ck_assert_uint_le(len, PACK_MAX(size));
	memset(back, 0xee, size);
	pack_decode(out, len, back, size);
	ck_assert_mem_eq(back, buf, size);
	free(out);
	free(back);
	return len;
}

START_TEST(test_pack_round_trips)
{
	size_t	 size = 3000 * 8, i;
	uint8_t	*buf = xcalloc(1, size);

	ck_assert_uint_eq(round_trip(buf, size), 0);	/* all zero */
	memcpy(buf + 8, "message", 7);
	buf[size - 1] = 1;
	ck_assert_uint_eq(round_trip(buf, size), 2 * (4 + 8));
	for (i = 0; i < size; i += 16)		/* every other word */
		buf[i] = (uint8_t)(i / 16 + 1);
	round_trip(buf, size);
	memset(buf, 0x5a, size);		/* dense: no zero word */
	for (i = 3; i < size; i += 8)
		buf[i] = 0;			/* zero bytes are not words */
	ck_assert_uint_eq(round_trip(buf, size), size + 4);
	free(buf);
}
END_TEST

/* Gaps and runs of more than 65,535 words are split, not wrapped. */
START_TEST(test_pack_long_runs)
{
	size_t	 size = 140000 * 8;
	uint8_t	*buf = xcalloc(1, size);

	buf[size - 8] = 7;			/* a gap of 139,999 words */
	round_trip(buf, size);
	memset(buf, 0x11, 70000 * 8);		/* a run of 70,000 words */
	round_trip(buf, size);
	free(buf);
}
END_TEST

/* What pack_decode_at() gives is the bytes at that offset, nothing else. */
START_TEST(test_pack_window)
{
	uint8_t	 buf[64 * 8], out[PACK_MAX(sizeof(buf))], win[3 * 8];
	size_t	 len, off, i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < sizeof(buf); i += 24)
		memset(buf + i, (int)(i % 251) + 1, 8);
	len = pack_encode(buf, sizeof(buf), out);
	for (off = 0; off + sizeof(win) <= sizeof(buf); off += 8) {
		memset(win, 0xee, sizeof(win));
		pack_decode_at(out, len, off, win, sizeof(win));
		ck_assert_mem_eq(win, buf + off, sizeof(win));
	}
}
END_TEST

/* Cut or garbled input: a partial answer, never a write past dst. */
START_TEST(test_pack_bad_input)
{
	uint8_t		 buf[32 * 8], out[PACK_MAX(sizeof(buf))];
	uint8_t		 back[sizeof(buf) + 8];
	uint16_t	 big = 60000;
	size_t		 len, cut;

	memset(buf, 0x33, sizeof(buf));
	len = pack_encode(buf, sizeof(buf), out);
	for (cut = 0; cut < len; cut++) {
		memset(back, 0xee, sizeof(back));
		pack_decode(out, cut, back, sizeof(buf));
		ck_assert_uint_eq(back[sizeof(buf)], 0xee);
	}
	memcpy(out, &big, 2);			/* a skip past the end */
	memset(back, 0xee, sizeof(back));
	pack_decode(out, len, back, sizeof(buf));
	ck_assert_uint_eq(back[0], 0);
	ck_assert_uint_eq(back[sizeof(buf)], 0xee);
}
END_TEST

START_TEST(test_pack_dup)
{
	uint64_t	 v[40] = { 0 };
	uint8_t		*p;
	size_t		 len;

	ck_assert_ptr_null(pack_dup(v, sizeof(v), &len));
	ck_assert_uint_eq(len, 0);
	v[39] = 42;
	ck_assert_ptr_nonnull(p = pack_dup(v, sizeof(v), &len));
	ck_assert_uint_eq(len, 4 + 8);
	free(p);
}
END_TEST

static Suite *
pack_suite(void)
{
	Suite	*s = suite_create("pack");
	TCase	*tc = tcase_create("pack");

	tcase_add_test(tc, test_pack_round_trips);
	tcase_add_test(tc, test_pack_long_runs);
	tcase_add_test(tc, test_pack_window);
	tcase_add_test(tc, test_pack_bad_input);
	tcase_add_test(tc, test_pack_dup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(pack_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
