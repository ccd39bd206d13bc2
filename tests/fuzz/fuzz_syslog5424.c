/* SPDX-License-Identifier: ISC */
/*
 * fuzz_syslog5424: the syslog channel's message formatting
 * (channel_syslog_format() in alerts/syslog.c, with channel_summary() and
 * templates from alerts/channel.c) on notifications with fuzzed fields:
 * names, target, message, labels, note, times, counts, kind, facility,
 * digest size and template.  Those fields come from config, from the
 * network (through the probe's message) and from outbox records on disk.
 *
 * Asserts that every RFC 5424 message is valid by the RFC's ABNF
 * (section 6): PRI in range, VERSION 1, a TIMESTAMP that is a real date
 * (or the NILVALUE), HOSTNAME, APP-NAME, PROCID and MSGID of PRINTUSASCII
 * within their lengths, one well-formed SD-ELEMENT whose PARAM-VALUEs
 * are UTF-8 with '"', '\' and ']' escaped (6.3.3), then SP and MSG; and
 * that the length returned is the string's (the TCP frame's octet count
 * is built from it).  The local syslog(3) form only has to fit.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "channel.h"
#include "fuzz.h"
#include "notify.h"

#define FUZZ_SYSLOG_MAX	4096	/* what alerts/syslog.c fills */

static bool
fuzz_printus(const char **p, size_t max, const char *what)
{
	const char	*s = *p;
	size_t		 n = 0;

	while (*s != ' ' && *s != '\0') {
		FUZZ_ASSERT(*s >= 33 && *s <= 126, "%s has byte 0x%02x", what,
		    (unsigned)(unsigned char)*s);
		s++;
		n++;
	}
	FUZZ_ASSERT(n >= 1 && n <= max, "%s of %zu chars", what, n);
	FUZZ_ASSERT(*s == ' ', "%s not followed by SP", what);
	*p = s + 1;
	return true;
}

static int
fuzz_digits(const char **p, int n, int min, int max, const char *what)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		FUZZ_ASSERT((*p)[i] >= '0' && (*p)[i] <= '9', "%s: \"%.*s\"",
		    what, n, *p);
		v = v * 10 + (*p)[i] - '0';
	}
	FUZZ_ASSERT(v >= min && v <= max, "%s %d", what, v);
	*p += n;
	return v;
}

static void
fuzz_expect(const char **p, char c, const char *what)
{
	FUZZ_ASSERT(**p == c, "expected '%c' %s, got \"%.20s\"", c, what, *p);
	(*p)++;
}

/* RFC 5424 6.2.3: FULL-DATE "T" FULL-TIME, or "-". */
static void
fuzz_timestamp(const char **p)
{
	int	n = 0;

	if (**p == '-') {
		(*p)++;
		fuzz_expect(p, ' ', "after the NILVALUE");
		return;
	}
	fuzz_digits(p, 4, 0, 9999, "year");
	fuzz_expect(p, '-', "in the date");
	fuzz_digits(p, 2, 1, 12, "month");
	fuzz_expect(p, '-', "in the date");
	fuzz_digits(p, 2, 1, 31, "day");
	fuzz_expect(p, 'T', "in the timestamp");
	fuzz_digits(p, 2, 0, 23, "hour");
	fuzz_expect(p, ':', "in the time");
	fuzz_digits(p, 2, 0, 59, "minute");
	fuzz_expect(p, ':', "in the time");
	fuzz_digits(p, 2, 0, 59, "second");
	if (**p == '.') {
		for ((*p)++; **p >= '0' && **p <= '9'; (*p)++)
			n++;
		FUZZ_ASSERT(n >= 1 && n <= 6, "TIME-SECFRAC of %d digits", n);
	}
	fuzz_expect(p, 'Z', "as the time offset");
	fuzz_expect(p, ' ', "after the timestamp");
}

/* Length of the UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t
fuzz_utf8(const unsigned char *s)
{
	size_t		n, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
	    s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	if (n == 0 || s[0] > 0xf4)
		return 0;
	cp = s[0] & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* SD-PARAM: PARAM-NAME "=" %d34 PARAM-VALUE %d34 (6.3.3). */
static void
fuzz_sd_param(const char **p)
{
	const char	*s = *p;
	size_t		 n = 0, u;

	for (; *s != '=' && *s != '\0'; s++, n++)
		FUZZ_ASSERT(*s >= 33 && *s <= 126 && *s != ']' && *s != '"',
		    "PARAM-NAME byte 0x%02x", (unsigned)(unsigned char)*s);
	FUZZ_ASSERT(*s == '=' && n >= 1 && n <= 32, "PARAM-NAME of %zu "
	    "chars", n);
	s++;
	fuzz_expect(&s, '"', "opening a PARAM-VALUE");
	while (*s != '"') {
		FUZZ_ASSERT(*s != '\0', "PARAM-VALUE not closed");
		FUZZ_ASSERT(*s != ']', "']' not escaped in a PARAM-VALUE");
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\' ||
		    s[1] == ']')) {
			s += 2;
			continue;
		}
		u = fuzz_utf8((const unsigned char *)s);
		FUZZ_ASSERT(u > 0, "PARAM-VALUE is not UTF-8 at \"%.8s\"", s);
		s += u;
	}
	*p = s + 1;
}

static void
fuzz_rfc5424(const char *m)
{
	const char	*p = m;
	int		 n = 0;

	fuzz_expect(&p, '<', "opening PRI");
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	FUZZ_ASSERT(n >= 1 && n <= 3, "PRIVAL of %d digits", n);
	fuzz_digits(&p, n, 0, 191, "PRIVAL");
	fuzz_expect(&p, '>', "closing PRI");
	fuzz_expect(&p, '1', "as VERSION");
	fuzz_expect(&p, ' ', "after VERSION");
	fuzz_timestamp(&p);
	fuzz_printus(&p, 255, "HOSTNAME");
	fuzz_printus(&p, 48, "APP-NAME");
	fuzz_printus(&p, 128, "PROCID");
	fuzz_printus(&p, 32, "MSGID");
	fuzz_expect(&p, '[', "opening the SD-ELEMENT");
	for (n = 0; *p != ' ' && *p != ']'; p++, n++)
		FUZZ_ASSERT(*p >= 33 && *p <= 126 && *p != '=' && *p != '"',
		    "SD-ID byte 0x%02x", (unsigned)(unsigned char)*p);
	FUZZ_ASSERT(n >= 1 && n <= 32, "SD-ID of %d chars", n);
	while (*p == ' ') {
		p++;
		fuzz_sd_param(&p);
	}
	fuzz_expect(&p, ']', "closing the SD-ELEMENT");
	FUZZ_ASSERT(*p == '\0' || *p == ' ', "after the SD: \"%.20s\"", p);
}

static void
fuzz_item(struct fuzz_in *in, struct notify_item *it)
{
	unsigned	i;

	memset(it, 0, sizeof(*it));
	it->kind = (enum notify_kind)(fuzz_u8(in) % NOTIFY_KIND_LAST);
	fuzz_str(in, it->agent, sizeof(it->agent));
	fuzz_str(in, it->rule, sizeof(it->rule));
	fuzz_str(in, it->check, sizeof(it->check));
	fuzz_str(in, it->target, sizeof(it->target));
	fuzz_str(in, it->severity, sizeof(it->severity));
	fuzz_str(in, it->state, sizeof(it->state));
	fuzz_str(in, it->reason, sizeof(it->reason));
	fuzz_str(in, it->message, sizeof(it->message));
	fuzz_str(in, it->phase, sizeof(it->phase));
	it->at = (int64_t)fuzz_u64(in);
	it->since = (int64_t)fuzz_u64(in);
	it->phase_us = (int64_t)fuzz_u64(in);
	it->bad = fuzz_u8(in);
	it->of = fuzz_u8(in);
	it->nlabels = fuzz_u8(in) % (NOTIFY_LABELS_MAX + 1);
	for (i = 0; i < it->nlabels; i++) {
		fuzz_str(in, it->labels[i].key, sizeof(it->labels[i].key));
		fuzz_str(in, it->labels[i].value,
		    sizeof(it->labels[i].value));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct notify_item	 items[3];
	struct channel_msg	 msg;
	char			 note[NOTIFY_TEXT_MAX], tmpl[160];
	static char		 buf[FUZZ_SYSLOG_MAX];
	unsigned		 b = fuzz_u8(&in);
	size_t			 i, n;
	int			 facility = (int)(fuzz_u8(&in) % 24) << 3;

	memset(&msg, 0, sizeof(msg));
	msg.n = 1 + b % 3;
	msg.test = (b & 4) != 0;
	fuzz_str(&in, note, sizeof(note));
	msg.note = note;
	fuzz_str(&in, tmpl, sizeof(tmpl));
	msg.template = (b & 8) != 0 ? tmpl : NULL;
	for (i = 0; i < msg.n; i++)
		fuzz_item(&in, &items[i]);
	msg.items = items;

	n = channel_syslog_format(&msg, facility, 1, buf, sizeof(buf));
	FUZZ_ASSERT(n == strlen(buf), "returned %zu for %zu bytes", n,
	    strlen(buf));
	fuzz_rfc5424(buf);
	n = channel_syslog_format(&msg, facility, 0, buf, sizeof(buf));
	FUZZ_ASSERT(n == strlen(buf) && n < sizeof(buf), "local: %zu", n);
	return 0;
}
