/* SPDX-License-Identifier: ISC */
/*
 * Tests for the syslog channel: the RFC 5424 text (header, structured
 * data escaped per section 6.3.3, priority from facility and severity),
 * and delivery through the outbox to a real rsyslogd (Debian package
 * rsyslog) started by the test on 127.0.0.1 with a private config:
 * imudp and imtcp on free ports (imtcp reads RFC 6587 octet-counted
 * frames) and an omfile output in a temporary directory, which the test
 * reads back.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
#include "testutil.h"
#include "xmalloc.h"

#define RSYSLOGD	"/usr/sbin/rsyslogd"

static struct notify_item
item(enum notify_kind kind, const char *sev)
{
	struct notify_item	it;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	snprintf(it.agent, sizeof(it.agent), "edge-fra-1");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "api");
	snprintf(it.target, sizeof(it.target), "say \"hi\" [x] c:\\");
	snprintf(it.severity, sizeof(it.severity), "%s", sev);
	snprintf(it.state, sizeof(it.state), kind == NOTIFY_RESOLVED ? "ok" :
	    "firing");
	snprintf(it.reason, sizeof(it.reason), "connect_refused");
	snprintf(it.message, sizeof(it.message), "connect refused");
	it.at = 1764266400123456LL;	/* 2025-11-27T18:00:00.123456Z */
	it.since = it.at - 60000000;
	it.bad = 3;
	it.of = 5;
	if (kind == NOTIFY_FIRING) {
		snprintf(it.phase, sizeof(it.phase), "connect");
		it.phase_us = 1250;
		it.nlabels = 2;
		snprintf(it.labels[0].key, sizeof(it.labels[0].key), "env");
		snprintf(it.labels[0].value, sizeof(it.labels[0].value),
		    "prod");
		snprintf(it.labels[1].key, sizeof(it.labels[1].key), "rack");
		snprintf(it.labels[1].value, sizeof(it.labels[1].value),
		    "a]1");
	}
	return it;
}

START_TEST(test_syslog_rfc5424_text)
{
	struct notify_item	it = item(NOTIFY_FIRING, "critical");
	struct channel_msg	msg = { &it, 1, "", 0, NULL };
	char			buf[2048], want[256];

	channel_syslog_format(&msg, LOG_LOCAL3, 1, buf, sizeof(buf));
	/* local3 (19) * 8 + crit (2) = 154 */
	ck_assert_msg(strncmp(buf, "<154>1 2025-11-27T18:00:00.123456Z ",
	    35) == 0, "%s", buf);
	snprintf(want, sizeof(want), " sonde %ld firing [sonde@32473 "
	    "alert=\"down/api\" state=\"firing\"", (long)getpid());
	ck_assert_msg(strstr(buf, want) != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, " target=\"say \\\"hi\\\" [x\\] c:\\\\\" ")
	    != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "agent=\"edge-fra-1\" phase=\"connect\" "
	    "phase_seconds=\"0.001\" labels=\"env=prod, rack=a\\]1\"] "
	    "[FIRING] down/api: connect refused (critical)") != NULL, "%s",
	    buf);
	it = item(NOTIFY_RESOLVED, "critical");
	channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "<29>1 ", 6) == 0, "%s", buf); /* notice */
	/* resolved: no failing phase, and these items carry no labels */
	ck_assert_msg(strstr(buf, "phase") == NULL && strstr(buf, "labels") ==
	    NULL, "%s", buf);
	channel_syslog_format(&msg, LOG_DAEMON, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[RESOLVED] down/api on edge-fra-1 (critical)");
}
END_TEST

/* A target's newline cannot start a forged syslog entry. */
START_TEST(test_syslog_one_line)
{
	struct notify_item	it = item(NOTIFY_FIRING, "critical");
	struct channel_msg	msg = { &it, 1, "", 0, NULL };
	char			buf[2048];
	int			rfc;

	snprintf(it.message, sizeof(it.message), "bad\n<13>1 forged\r\x1b[2J");
	snprintf(it.target, sizeof(it.target), "t\nx");
	for (rfc = 0; rfc <= 1; rfc++) {
		channel_syslog_format(&msg, LOG_DAEMON, rfc, buf, sizeof(buf));
		ck_assert_msg(strpbrk(buf, "\r\n\x1b") == NULL, "%s", buf);
		ck_assert_msg(strstr(buf, "bad <13>1 forged  [2J") != NULL,
		    "%s", buf);
	}
}
END_TEST

/*
 * Bytes that are not UTF-8 (a config string, a name cut by a byte count)
 * become U+FFFD: RFC 5424 section 6.3.3 wants UTF-8 in PARAM-VALUE.
 * Found by fuzz_syslog5424.
 */
START_TEST(test_syslog_param_not_utf8)
{
	struct notify_item	it = item(NOTIFY_FIRING, "critical");
	struct channel_msg	msg = { &it, 1, "", 0, NULL };
	char			buf[2048];

	snprintf(it.agent, sizeof(it.agent), "edge-z\xc3");	/* cut é */
	snprintf(it.target, sizeof(it.target), "a\xff\xc0\xaf"
	    "b caf\xc3\xa9");
	channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, " agent=\"edge-z\xef\xbf\xbd\" ") != NULL,
	    "%s", buf);
	ck_assert_msg(strstr(buf, " target=\"a\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd" "b caf\xc3\xa9\" ") != NULL, "%s", buf);
}
END_TEST

/*
 * A message too long for the buffer is cut inside a PARAM-VALUE, never
 * through an escape or a character, and keeps its closing '"' and ']'.
 */
START_TEST(test_syslog_cut_stays_valid)
{
	struct notify_item	it = item(NOTIFY_FIRING, "critical");
	struct channel_msg	msg = { &it, 1, "", 0, NULL };
	char			buf[300];
	const char		*sd, *end;
	size_t			n;

	memset(it.target, '"', sizeof(it.target) - 1);
	it.target[sizeof(it.target) - 1] = '\0';
	n = channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_uint_lt(n, sizeof(buf));
	sd = strstr(buf, " target=\"");
	ck_assert_ptr_nonnull(sd);
	/* The value ends on a whole \" then '"', ']' and SP; the params
	 * with no room left (failed, agent ...) are left out. */
	end = strstr(sd, "\\\"\"]");
	ck_assert_msg(end != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "failed=") == NULL, "%s", buf);
	for (sd += strlen(" target=\""), end++; sd < end; sd += 2)
		ck_assert_msg(sd[0] == '\\' && sd[1] == '"', "%s", buf);
}
END_TEST

/* A time with no RFC 5424 form is the NILVALUE.  Found by fuzz_syslog5424. */
START_TEST(test_syslog_time_nilvalue)
{
	struct notify_item	it = item(NOTIFY_FIRING, "critical");
	struct channel_msg	msg = { &it, 1, "", 0, NULL };
	char			buf[2048];

	it.at = -1000001;
	channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "<26>1 - ", 8) == 0, "%s", buf);
	it.at = INT64_MAX;		/* year 292277 */
	channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "<26>1 - ", 8) == 0, "%s", buf);
	it.at = 253402300799999999LL;	/* 9999-12-31T23:59:59.999999Z */
	channel_syslog_format(&msg, LOG_DAEMON, 1, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "<26>1 9999-12-31T23:59:59.999999Z ",
	    34) == 0, "%s", buf);
}
END_TEST

/* ---- a real rsyslogd ----------------------------------------------------- */

struct rsys {
	pid_t	 pid;
	char	 dir[512];
	int	 udp, tcp;
};

static bool
tcp_listening(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static void
rsys_start(struct rsys *r)
{
	char	 conf[2048], *path, *out;
	int	 ports[2], i;

	ck_assert_msg(access(RSYSLOGD, X_OK) == 0, "%s not found: this test "
	    "needs a real rsyslog (apt-get install rsyslog)", RSYSLOGD);
	snprintf(r->dir, sizeof(r->dir), "%s", testutil_tmpdir());
	testutil_free_ports(ports, 2);
	r->udp = ports[0];
	r->tcp = ports[1];
	snprintf(conf, sizeof(conf), "global(workDirectory=\"%s\")\n"
	    "module(load=\"imudp\")\nmodule(load=\"imtcp\")\n"
	    "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\")\n"
	    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n"
	    "template(name=\"t\" type=\"string\" string=\"%%inputname%%|"
	    "%%pri%%|%%app-name%%|%%msgid%%|%%structured-data%%|%%msg%%\\n\")\n"
	    "*.* action(type=\"omfile\" file=\"%s/out.log\" template=\"t\")\n",
	    r->dir, r->udp, r->tcp, r->dir);
	path = testutil_write_file(r->dir, "rsyslog.conf", conf);
	out = xasprintf("%s/rsyslog.pid", r->dir);
	if ((r->pid = fork()) == 0) {
		execl(RSYSLOGD, "rsyslogd", "-n", "-f", path, "-i", out,
		    (char *)NULL);
		_exit(127);
	}
	free(path);
	free(out);
	for (i = 0; i < 500 && !tcp_listening(r->tcp); i++)
		usleep(10000);
	ck_assert_msg(i < 500, "rsyslogd did not listen on %d", r->tcp);
}

static void
rsys_stop(struct rsys *r)
{
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
}

/* The output file once it has n lines (new string), or what it has. */
static char *
rsys_read(const struct rsys *r, int n)
{
	char	path[600], *txt = NULL;
	FILE	*f;
	long	len;
	int	i, lines = 0;
	size_t	k;

	snprintf(path, sizeof(path), "%s/out.log", r->dir);
	for (i = 0; i < 300 && lines < n; i++, usleep(10000)) {
		free(txt);
		txt = xstrdup("");
		if ((f = fopen(path, "r")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		free(txt);
		txt = xcalloc(1, (size_t)len + 1);
		len = (long)fread(txt, 1, (size_t)len, f);
		fclose(f);
		for (lines = 0, k = 0; txt[k] != '\0'; k++)
			lines += txt[k] == '\n';
	}
	return txt;
}

START_TEST(test_syslog_rsyslog_udp_and_tcp)
{
	struct config_errors	 errs;
	struct rsys		 r;
	struct loop		*loop;
	struct config		*cfg;
	struct outbox		*ob;
	struct notify_item	 it;
	char			 conf[512], *path, *got, err[256];
	int			 i;

	rsys_start(&r);
	memset(&errs, 0, sizeof(errs));
	snprintf(conf, sizeof(conf), "channels = {\n"
	    "sys_udp = { type = \"syslog\"; remote = \"127.0.0.1:%d\"; "
	    "facility = \"local3\"; };\n"
	    "sys_tcp = { type = \"syslog\"; remote = \"127.0.0.1:%d\"; "
	    "transport = \"tcp\"; };\n};\n", r.udp, r.tcp);
	path = testutil_write_file(r.dir, "sonde.conf", conf);
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "?");
	loop = loop_new();
	ob = outbox_new(loop, r.dir, NULL, err, sizeof(err));
	outbox_set_config(ob, cfg);
	it = item(NOTIFY_FIRING, "critical");
	outbox_put(ob, "sys_udp", &it, 1, err, sizeof(err));
	outbox_put(ob, "sys_tcp", &it, 1, err, sizeof(err));
	it = item(NOTIFY_RESOLVED, "critical");
	outbox_put(ob, "sys_tcp", &it, 1, err, sizeof(err));
	for (i = 0; i < 300 && outbox_pending(ob, NULL) > 0; i++)
		loop_run_once(loop, 10000);
	ck_assert_uint_eq(outbox_pending(ob, NULL), 0);
	got = rsys_read(&r, 3);
	ck_assert_msg(strstr(got, "imudp|154|sonde|firing|[sonde@32473 "
	    "alert=\"down/api\" state=\"firing\" severity=\"critical\" "
	    "reason=\"connect_refused\" target=\"say \\\"hi\\\" [x\\] "
	    "c:\\\\\" failed=\"3/5\" agent=\"edge-fra-1\" phase=\"connect\" "
	    "phase_seconds=\"0.001\" labels=\"env=prod, rack=a\\]1\"]|") !=
	    NULL, "%s", got);
	ck_assert_msg(strstr(got, "imtcp|26|sonde|firing|[sonde@32473 "
	    "alert=\"down/api\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "imtcp|29|sonde|resolved|[sonde@32473 "
	    "alert=\"down/api\" state=\"ok\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "[FIRING] down/api: connect refused "
	    "(critical)") != NULL, "%s", got);
	free(got);
	free(path);
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
	rsys_stop(&r);
}
END_TEST

static Suite *
syslog_suite(void)
{
	Suite	*s = suite_create("syslog");
	TCase	*tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_syslog_rfc5424_text);
	tcase_add_test(tc, test_syslog_one_line);
	tcase_add_test(tc, test_syslog_param_not_utf8);
	tcase_add_test(tc, test_syslog_cut_stays_valid);
	tcase_add_test(tc, test_syslog_time_nilvalue);
	suite_add_tcase(s, tc);
	tc = tcase_create("rsyslog");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_syslog_rsyslog_udp_and_tcp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(syslog_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
