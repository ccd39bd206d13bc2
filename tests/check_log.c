/* SPDX-License-Identifier: ISC */
/*
 * Tests for log.c's quoting, the guard against log injection: whatever a
 * target or a config puts in a value (quotes, backslashes, '=', CR, LF,
 * escape sequences, DEL), the logfmt line stays one line whose pairs a
 * parser splits as sonde meant, and a long value is cut without
 * overflowing or losing its closing quote.
 */
#include "autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct {
	const char	*in;
	const char	*out;
} quote_rows[] = {
	{ "api", "api" },
	{ "", "\"\"" },
	{ "a b", "\"a b\"" },
	{ "k=v", "\"k=v\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "c:\\x", "\"c:\\\\x\"" },
	{ "x\nlevel=fatal msg=forged", "\"x\\nlevel=fatal msg=forged\"" },
	{ "x\r\x1b[2J\x7f", "\"x??[2J?\"" },
	{ "t\tab", "\"t?ab\"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
};

START_TEST(test_log_quote_hostile)
{
	char	buf[128];

	ck_assert_str_eq(log_quote(quote_rows[_i].in, buf, sizeof(buf)),
	    quote_rows[_i].out);
}
END_TEST

/* Every size: NUL-terminated inside buf, closing quote kept, one line. */
START_TEST(test_log_quote_truncates_safely)
{
	const char	*in = "\"\\\n\"\\\n\"\\\n\"\\\n "
	    "abcdefghijklmnopqrstuvwxyz";
	char		 buf[64];
	size_t		 len, n;

	for (len = 1; len <= sizeof(buf); len++) {
		memset(buf, 'Z', sizeof(buf));
		log_quote(in, buf, len);
		n = strnlen(buf, sizeof(buf));
		ck_assert_msg(n < len, "size %zu: no NUL inside", len);
		ck_assert_msg(strchr(buf, '\n') == NULL, "size %zu: %s", len,
		    buf);
		if (len >= 3)
			ck_assert_msg(n >= 2 && buf[0] == '"' &&
			    buf[n - 1] == '"', "size %zu: %s", len, buf);
	}
}
END_TEST

struct captured {
	char	line[4096];
	int	n;
};

static void
capture(enum log_level level, const char *token, const char *line,
    void *arg)
{
	struct captured	*c = arg;

	(void)level;
	(void)token;
	snprintf(c->line, sizeof(c->line), "%s", line);
	c->n++;
}

/* A plain message (msg=) is quoted as a whole: one line, no new pairs. */
START_TEST(test_log_message_one_line)
{
	struct captured	c = { "", 0 };

	log_init(LOG_LEVEL_INFO, NULL);
	log_set_handler(capture, &c);
	log_warnx("probe", "reply %s", "ok\nlevel=info sub=alert state=ok");
	log_set_handler(NULL, NULL);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.line, "level=warn sub=probe msg=\"reply ok\\n"
	    "level=info sub=alert state=ok\"");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc;

	tc = tcase_create("quote");
	tcase_add_loop_test(tc, test_log_quote_hostile, 0,
	    sizeof(quote_rows) / sizeof(quote_rows[0]));
	tcase_add_test(tc, test_log_quote_truncates_safely);
	tcase_add_test(tc, test_log_message_one_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
