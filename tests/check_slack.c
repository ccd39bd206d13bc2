/* SPDX-License-Identifier: ISC */
/*
 * Tests for the Slack channel through the outbox, against a recording
 * HTTP server of the test's own (a forked child on 127.0.0.1, one
 * connection at a time) that checks every request against Slack's
 * documented incoming-webhook format (POST, application/json, a `text`
 * fallback, Block Kit blocks inside an attachment with a colour, Slack's
 * limits on text and fields) and answers from a script: 200 "ok", 429
 * with Retry-After, 500, 400 with Slack's error string, or silence.
 * The channel is configured through the real config loader.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel_http.h"
#include "config.h"
#include "curlmux.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
#include "recsrv.h"
#include "testutil.h"
#include "xmalloc.h"

/* ---- the recording server ------------------------------------------------ */

static const char *const block_types[] = {
	"section", "context", "header", "divider", NULL
};

/* Slack's documented shape; returns NULL or what is wrong. */
static const char *
slack_verdict(const char *body)
{
	json_t		*root, *att, *blocks, *b, *t, *f;
	const char	*why = NULL, *color;
	size_t		 i, j;

	if ((root = json_loads(body, 0, NULL)) == NULL)
		return "body is not JSON";
	if (!json_is_string(json_object_get(root, "text")) ||
	    json_string_length(json_object_get(root, "text")) == 0)
		why = "no text fallback";
	att = json_array_get(json_object_get(root, "attachments"), 0);
	color = json_string_value(json_object_get(att, "color"));
	blocks = json_object_get(att, "blocks");
	if (why == NULL && (color == NULL || strlen(color) != 7 ||
	    color[0] != '#'))
		why = "attachment colour is not #rrggbb";
	if (why == NULL && (!json_is_array(blocks) ||
	    json_array_size(blocks) == 0 || json_array_size(blocks) > 50))
		why = "attachment has no blocks (1 to 50)";
	json_array_foreach(blocks, i, b) {
		const char *type = json_string_value(json_object_get(b,
		    "type"));

		for (j = 0; type != NULL && block_types[j] != NULL; j++)
			if (strcmp(type, block_types[j]) == 0)
				break;
		if (type == NULL || block_types[j] == NULL)
			why = "unknown block type";
		t = json_object_get(json_object_get(b, "text"), "text");
		if (t != NULL && json_string_length(t) > 3000)
			why = "section text over 3000 characters";
		f = json_object_get(b, "fields");
		if (f != NULL && json_array_size(f) > 10)
			why = "more than 10 fields";
	}
	json_decref(root);
	return why;
}

/* The request line and header, then the body. */
static const char *
slack_check(const char *head, const char *body)
{
	if (strncmp(head, "POST /services/T0/B0/x HTTP/1.1\r\n", 33) != 0)
		return "not POST to the webhook path";
	if (strcasestr(head, "\r\nContent-Type: application/json") == NULL)
		return "Content-Type is not application/json";
	return slack_verdict(body);
}

/* ---- the agent side ------------------------------------------------------ */

struct rig {
	struct loop	*loop;
	struct config	*cfg;
	struct outbox	*ob;
	char		*state;
};

static void
rig_start(struct rig *r, const struct recsrv *s, const char *extra)
{
	static const struct outbox_limits lim = {
		100, 1 << 20, 20000, 200000, 3600 * 1000000LL
	};
	struct config_errors	 errs;
	char			 url[128], text[512], *path, err[256];

	memset(&errs, 0, sizeof(errs));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s->port);
	setenv("SONDE_TEST_SLACK_URL", url, 1);
	snprintf(text, sizeof(text), "channels = { slack = { "
	    "webhook_url_env = \"SONDE_TEST_SLACK_URL\"; %s }; };\n"
	    "checks = ( { name = \"api\"; type = \"tcp\"; host = \"h\"; "
	    "port = 1; } );\nrules = ( { name = \"down\"; when = \"failed\";"
	    " notify = [\"slack\", \"log\"]; } );\n", extra);
	r->state = xstrdup(testutil_tmpdir());
	path = testutil_write_file(r->state, "sonde.conf", text);
	r->cfg = config_load(path, &errs);
	ck_assert_msg(r->cfg != NULL, "%s", errs.count > 0 ? errs.lines[0] :
	    "?");
	free(path);
	r->loop = loop_new();
	r->ob = outbox_new(r->loop, r->state, &lim, err, sizeof(err));
	ck_assert_msg(r->ob != NULL, "%s", err);
	outbox_set_config(r->ob, r->cfg);
}

static void
rig_stop(struct rig *r)
{
	outbox_free(r->ob);
	curlmux_shared_free();
	config_unref(r->cfg);
	loop_free(r->loop);
	free(r->state);
}

static void
rig_put(struct rig *r, enum notify_kind kind, const char *check)
{
	struct notify_item	it;
	char			err[256];

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	snprintf(it.agent, sizeof(it.agent), "edge-fra-1");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "%s", check);
	snprintf(it.target, sizeof(it.target), "db.internal:5432");
	snprintf(it.severity, sizeof(it.severity), "critical");
	snprintf(it.state, sizeof(it.state), kind == NOTIFY_RESOLVED ? "ok" :
	    "firing");
	snprintf(it.reason, sizeof(it.reason), "connect_timeout");
	snprintf(it.message, sizeof(it.message), "connect timeout after 3.0s "
	    "<&>");
	it.at = 1700000000000000LL;
	it.since = it.at - 14 * 60000000LL;
	it.bad = 3;
	it.of = 5;
	if (kind != NOTIFY_RESOLVED) {
		snprintf(it.phase, sizeof(it.phase), "connect");
		it.phase_us = 3000000;
		it.nlabels = 2;
		snprintf(it.labels[0].key, sizeof(it.labels[0].key), "env");
		snprintf(it.labels[0].value, sizeof(it.labels[0].value),
		    "prod");
		snprintf(it.labels[1].key, sizeof(it.labels[1].key), "team");
		snprintf(it.labels[1].value, sizeof(it.labels[1].value),
		    "db<1>");
	}
	ck_assert(outbox_put(r->ob, "slack", &it, 1, err, sizeof(err)) == 0);
}

static void
rig_drain(struct rig *r, int ms)
{
	int	i;

	ms = testutil_scale_ms(ms);
	for (i = 0; i < ms / 10 && outbox_pending(r->ob, NULL) > 0; i++)
		loop_run_once(r->loop, 10000);
}

static void
assert_valid(const struct recsrv *s, int n, const char *has)
{
	char	*txt = recsrv_request(s, n);

	ck_assert_msg(txt != NULL, "request %d never came", n);
	ck_assert_msg(strncmp(txt, "valid\n", 6) == 0, "request %d: %s", n,
	    txt);
	if (has != NULL)
		ck_assert_msg(strstr(txt, has) != NULL, "request %d lacks %s: "
		    "%s", n, has, txt);
	free(txt);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_slack_message_format)
{
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	struct recsrv			s;
	struct rig			r;
	struct outbox_stats		st;
	char				*txt;

	recsrv_start(&s, ok, 1, slack_check);
	rig_start(&r, &s, "");
	rig_put(&r, NOTIFY_FIRING, "db");
	rig_put(&r, NOTIFY_RESOLVED, "db");
	rig_drain(&r, 5000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.delivered, 2);
	assert_valid(&s, 0, "\"text\":\"[FIRING] down/db: connect timeout "
	    "after 3.0s &lt;&amp;&gt; (critical)\"");
	assert_valid(&s, 0, "connect timeout after 3.0s &lt;&amp;&gt;");
	assert_valid(&s, 0, "3 of the last 5");
	assert_valid(&s, 0, "\"color\":\"#d40e0d\"");
	assert_valid(&s, 0, "db.internal:5432");
	assert_valid(&s, 0, "*Failing phase*\\nconnect, 3.00s\"");
	assert_valid(&s, 0, "*Labels*\\nenv=prod, team=db&lt;1&gt;\"");
	assert_valid(&s, 1, "[RESOLVED] down/db on edge-fra-1");
	/* a resolved result failed in no phase; these items have no labels */
	txt = recsrv_request(&s, 1);
	ck_assert_msg(strstr(txt, "Failing phase") == NULL, "%s", txt);
	ck_assert_msg(strstr(txt, "*Labels*") == NULL, "%s", txt);
	free(txt);
	assert_valid(&s, 1, "outage lasted 14m");
	assert_valid(&s, 1, "\"color\":\"#2eb886\"");
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

/*
 * A target's words reach the message (a TCP reply, a certificate
 * subject): Slack's mentions and links must arrive as text, in the
 * fallback text, the headline, the fields and the context alike.
 */
START_TEST(test_slack_mrkdwn_injection)
{
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	static const char *const		bad[] = {
		"<!channel>", "<!here", "<@U123>", "<https://evil.example",
		"<#C1>", NULL
	};
	struct recsrv				s;
	struct rig				r;
	struct notify_item			it;
	char					*txt, err[256];
	size_t					i;

	recsrv_start(&s, ok, 1, slack_check);
	rig_start(&r, &s, "");
	memset(&it, 0, sizeof(it));
	it.kind = NOTIFY_FIRING;
	snprintf(it.agent, sizeof(it.agent), "edge<@U123>");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "tls");
	snprintf(it.target, sizeof(it.target), "<https://evil.example|x>");
	snprintf(it.severity, sizeof(it.severity), "critical");
	snprintf(it.state, sizeof(it.state), "firing");
	snprintf(it.reason, sizeof(it.reason), "tls_expired");
	snprintf(it.message, sizeof(it.message), "certificate CN=<!channel> "
	    "<!here> <#C1> expired");
	snprintf(it.note, sizeof(it.note), "<!channel>");
	it.at = 1700000000000000LL;
	it.since = it.at;
	it.bad = 1;
	it.of = 1;
	ck_assert(outbox_put(r.ob, "slack", &it, 1, err, sizeof(err)) == 0);
	rig_drain(&r, 5000);
	assert_valid(&s, 0, "CN=&lt;!channel&gt; &lt;!here&gt;");
	txt = recsrv_request(&s, 0);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(strstr(txt, bad[i]) == NULL, "%s unescaped: %s",
		    bad[i], txt);
	free(txt);
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_slack_digest_and_flapping)
{
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	struct recsrv				s;
	struct rig				r;
	struct notify_item			v[25];
	size_t					i;

	recsrv_start(&s, ok, 1, slack_check);
	rig_start(&r, &s, "");
	for (i = 0; i < 25; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].kind = i % 2 ? NOTIFY_RESOLVED : NOTIFY_FIRING;
		snprintf(v[i].agent, sizeof(v[i].agent), "edge-fra-1");
		snprintf(v[i].rule, sizeof(v[i].rule), "down");
		snprintf(v[i].check, sizeof(v[i].check), "c%zu", i);
		snprintf(v[i].severity, sizeof(v[i].severity), "warning");
		snprintf(v[i].reason, sizeof(v[i].reason), "timeout");
	}
	outbox_sink_send(r.ob, "slack", v, 25);	/* one digest message */
	v[0].kind = NOTIFY_FLAPPING;
	snprintf(v[0].note, sizeof(v[0].note), "flapping: 42%% of changes");
	outbox_sink_send(r.ob, "slack", v, 1);
	rig_drain(&r, 5000);
	assert_valid(&s, 0, "\"text\":\"25 alert changes on edge-fra-1\"");
	assert_valid(&s, 0, "• down/c0 firing: timeout");
	assert_valid(&s, 0, "• down/c19 resolved: timeout");
	assert_valid(&s, 0, "… and 5 more");
	assert_valid(&s, 0, "\"color\":\"#e8a317\"");
	assert_valid(&s, 1, "[FLAPPING] down/c0");
	assert_valid(&s, 1, "flapping: 42% of changes");
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_slack_429_retry_after)
{
	static const struct recsrv_answer	script[] = {
		{ 429, "Retry-After: 1\r\n", "rate_limited" },
		{ 200, "", "ok" }
	};
	struct recsrv			s;
	struct rig			r;
	struct outbox_stats		st;
	int64_t				t0;

	recsrv_start(&s, script, 2, slack_check);
	rig_start(&r, &s, "");
	t0 = loop_time(r.loop);
	rig_put(&r, NOTIFY_FIRING, "db");
	rig_drain(&r, 5000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.delivered, 1);
	ck_assert_uint_eq(st.retried, 1);
	ck_assert_int_ge(loop_time(r.loop) - t0, 1000000);
	assert_valid(&s, 1, NULL);
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

/* What one channel_http_post() reported. */
struct posted {
	int			done;
	enum channel_outcome	outcome;
	int64_t			retry_after;
	char			detail[CHANNEL_DETAIL_MAX];
};

static void
posted_cb(void *arg, enum channel_outcome o, int64_t retry_after,
    const char *detail)
{
	struct posted	*p = arg;

	p->done++;
	p->outcome = o;
	p->retry_after = retry_after;
	snprintf(p->detail, sizeof(p->detail), "%s", detail);
}

/* One POST of "{}" to the server's webhook path; waits up to 5 s. */
static void
post_once(const struct recsrv *s, struct posted *p)
{
	struct loop	*loop = loop_new();
	char		 url[128], err[256];
	int		 i;

	memset(p, 0, sizeof(*p));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s->port);
	ck_assert_msg(channel_http_post(loop, url, NULL, "{}", 3000,
	    posted_cb, p, err, sizeof(err)) != NULL, "%s", err);
	for (i = 0; i < 500 && p->done == 0; i++)
		loop_run_once(loop, 10000);
	curlmux_shared_free();
	loop_free(loop);
	ck_assert_int_eq(p->done, 1);
}

/*
 * A hostile endpoint's Retry-After (curl passes any 63-bit number) is
 * capped before it becomes microseconds: no overflow (UBSan would stop
 * here), no wrap to a negative "retry now", no wait of centuries.
 */
START_TEST(test_slack_retry_after_hostile)
{
	static const struct recsrv_answer	huge[] = {
		{ 429, "Retry-After: 9223372036854775806\r\n", "slow down" }
	};
	struct recsrv				s;
	struct posted				p;

	recsrv_start(&s, huge, 1, slack_check);
	post_once(&s, &p);
	ck_assert_int_eq(p.outcome, CHANNEL_RETRY);
	ck_assert_int_eq(p.retry_after, 86400 * 1000000LL);
	recsrv_stop(&s);
}
END_TEST

/*
 * A webhook URL that redirects (a moved or hijacked endpoint) is not
 * followed: the alert goes to the configured host only, and the 3xx is a
 * rejection an operator sees.
 */
START_TEST(test_slack_redirect_not_followed)
{
	struct recsrv_answer	 moved[1] = { { 0, NULL, "" } };
	struct recsrv		 s, t;
	struct posted		 p;
	char			 loc[128], *req;

	recsrv_start(&t, moved, 1, slack_check);
	snprintf(loc, sizeof(loc), "Location: http://127.0.0.1:%d/steal\r\n",
	    t.port);
	moved[0].status = 307;
	moved[0].headers = loc;
	moved[0].body = "moved";
	recsrv_start(&s, moved, 1, slack_check);
	post_once(&s, &p);
	ck_assert_int_eq(p.outcome, CHANNEL_REJECTED);
	ck_assert_msg(strstr(p.detail, "HTTP 307") != NULL, "%s", p.detail);
	req = recsrv_request(&t, 0);
	ck_assert_msg(req == NULL, "the redirect was followed: %s", req);
	recsrv_stop(&s);
	recsrv_stop(&t);
}
END_TEST

START_TEST(test_slack_400_rejected_with_slack_error)
{
	static const struct recsrv_answer	script[] = {
		{ 400, "", "invalid_payload" }, { 200, "", "ok" }
	};
	struct recsrv			s;
	struct rig			r;
	struct outbox_stats		st;

	recsrv_start(&s, script, 2, slack_check);
	rig_start(&r, &s, "");
	testutil_log_capture_start();
	rig_put(&r, NOTIFY_FIRING, "db");
	rig_put(&r, NOTIFY_FIRING, "api");
	rig_drain(&r, 5000);
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(),
	    "rejected the firing of down/db (HTTP 400: "
	    "invalid_payload); kept in"));
	ck_assert_ptr_null(strstr(testutil_log_captured(), "services/T0"));
	testutil_log_capture_stop();
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.rejected, 1);
	ck_assert_uint_eq(st.delivered, 1);
	assert_valid(&s, 1, "down/api");
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_slack_down_then_up_exactly_once_in_order)
{
	static const struct recsrv_answer	script[] = {
		{ 500, "", "" }, { 503, "", "" }, { 0, "", "" },
		{ 502, "", "" }, { 200, "", "ok" }
	};
	struct recsrv			s;
	struct rig			r;
	struct outbox_stats		st;
	char				*txt, timeout[32];
	int				i, n200 = 0;
	static const char *const want[] = {
		"[FIRING] down/db", "[FIRING] down/api", "[RESOLVED] down/db",
		"[RESOLVED] down/api"
	};

	recsrv_start(&s, script, 5, slack_check);
	/* 300 ms: the 200s must come within it, under valgrind too. */
	snprintf(timeout, sizeof(timeout), "timeout = \"%dms\";",
	    testutil_scale_ms(300));
	rig_start(&r, &s, timeout);
	rig_put(&r, NOTIFY_FIRING, "db");
	rig_put(&r, NOTIFY_FIRING, "api");
	rig_put(&r, NOTIFY_RESOLVED, "db");
	rig_put(&r, NOTIFY_RESOLVED, "api");
	rig_drain(&r, 8000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.delivered, 4);
	ck_assert_uint_eq(st.retried, 4);	/* 500, 503, timeout, 502 */
	/* requests 4..7 were answered 200: each transition once, in order */
	for (i = 4; (txt = recsrv_request(&s, i)) != NULL; i++, n200++) {
		ck_assert_int_lt(n200, 4);
		ck_assert_msg(strstr(txt, want[n200]) != NULL, "%d: %s", i,
		    txt);
		free(txt);
	}
	ck_assert_int_eq(n200, 4);
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

/*
 * The loop stalls (in the soak, an fsync storm) while the webhook answers
 * 200 in time (200 ms, the timeout is 300 ms): when the loop runs again
 * the deadline is overdue, but the answer is in the socket.  It must count
 * as delivered, once; with libcurl's own timeout it was a retry, and Slack
 * showed the message twice.
 */
START_TEST(test_slack_answer_during_stall_delivered_once)
{
	static const struct recsrv_answer	script[] = {
		{ 200, "", "ok" }
	};
	struct recsrv			s;
	struct rig			r;
	struct outbox_stats		st;
	char				*txt = NULL;
	int				i;

	recsrv_delay_ms = 200;
	recsrv_start(&s, script, 1, slack_check);
	recsrv_delay_ms = 0;
	rig_start(&r, &s, "timeout = \"300ms\";");
	rig_put(&r, NOTIFY_FIRING, "db");
	for (i = 0; i < 500 && (txt = recsrv_request(&s, 0)) == NULL; i++)
		loop_run_once(r.loop, 10000);
	ck_assert_msg(txt != NULL, "the request never came");
	free(txt);
	/* The stall: the loop does not run, past the answer and the timeout. */
	usleep(700000);
	rig_drain(&r, 3000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.delivered, 1);
	ck_assert_uint_eq(st.retried, 0);
	txt = recsrv_request(&s, 1);
	ck_assert_msg(txt == NULL, "sent twice: %s", txt);
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_slack_config_errors)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			*path;
	const char		*dir = testutil_tmpdir();

	memset(&errs, 0, sizeof(errs));
	unsetenv("SONDE_NO_SUCH_VAR");
	path = testutil_write_file(dir, "bad.conf", "channels = {\n"
	    "slack = { webhook_url_env = \"SONDE_NO_SUCH_VAR\"; };\n"
	    "ops = { type = \"pager\"; };\n"
	    "log = { type = \"slack\"; };\n"
	    "s2 = { type = \"slack\"; webhook_url = \"https://x\"; };\n};\n"
	    "rules = ( { name = \"r\"; when = \"failed\";\n"
	    "notify = [\"slak\"]; } );\n");
	cfg = config_load(path, &errs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(errs.count, 6);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "bad.conf:2: channel "
	    "'slack': environment variable SONDE_NO_SUCH_VAR is not set"));
	ck_assert_ptr_nonnull(strstr(errs.lines[1], "bad.conf:3: channel "
	    "'ops': unknown type 'pager' (known types: slack, "
	    "opsgenie, syslog"));
	ck_assert_ptr_nonnull(strstr(errs.lines[2], "bad.conf:4: channel "
	    "'log' is built in"));
	ck_assert_ptr_nonnull(strstr(errs.lines[3], "bad.conf:5: unknown key "
	    "'webhook_url'"));
	ck_assert_ptr_nonnull(strstr(errs.lines[4], "bad.conf:5: channel "
	    "'s2': set exactly one of webhook_url_file"));
	ck_assert_ptr_nonnull(strstr(errs.lines[5], "bad.conf:8: unknown "
	    "channel 'slak' (configured channels: log, slack, s2)"));
	config_errors_free(&errs);
	free(path);
}
END_TEST

START_TEST(test_slack_test_channels_cli)
{
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	static const struct recsrv_answer	gone[] = {
		{ 404, "", "no_service" }
	};
	struct recsrv				s1, s2;
	const char				*bin = getenv("SONDE_BIN");
	char					 url[128], text[512];
	char					*path, *out = NULL, *err = NULL;
	char					*argv[5];
	int					 rc;

	recsrv_start(&s1, ok, 1, slack_check);
	recsrv_start(&s2, gone, 1, slack_check);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s1.port);
	setenv("SONDE_TEST_URL1", url, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s2.port);
	setenv("SONDE_TEST_URL2", url, 1);
	snprintf(text, sizeof(text), "agent = { name = \"edge-9\"; };\n"
	    "channels = { slack = { webhook_url_env = \"SONDE_TEST_URL1\"; "
	    "}; old = { type = \"slack\"; webhook_url_env = "
	    "\"SONDE_TEST_URL2\"; }; };\n");
	path = testutil_write_file(testutil_tmpdir(), "s.conf", text);
	argv[0] = (char *)(bin != NULL ? bin : "./sonde");
	argv[1] = (char *)"--test-channels";
	argv[2] = (char *)"-c";
	argv[3] = path;
	argv[4] = NULL;
	rc = testutil_run_cmd(argv, &out, &err, 10000);
	ck_assert_msg(rc == 1, "exit %d: %s %s", rc, out, err);
	ck_assert_msg(strstr(out, "slack (slack): delivered: HTTP 200: ok\n")
	    != NULL, "%s", out);
	ck_assert_msg(strstr(out, "old (slack): rejected: HTTP 404: "
	    "no_service\n") != NULL, "%s", out);
	assert_valid(&s1, 0, "sonde test notification from edge-9");
	free(out);
	free(err);
	free(path);
	recsrv_stop(&s1);
	recsrv_stop(&s2);
}
END_TEST

/* ---- the daemon, end to end --------------------------------------------- */

/* Starts ./sonde -c conf with stderr to dir/sonde.log; returns its pid. */
static pid_t
daemon_start(const char *conf, const char *dir)
{
	const char	*bin = getenv("SONDE_BIN");
	char		 log[600];
	pid_t		 pid;
	int		 fd;

	snprintf(log, sizeof(log), "%s/sonde.log", dir);
	if ((pid = fork()) == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		execl(bin != NULL ? bin : "./sonde", "sonde", "-c", conf,
		    (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

static bool
wait_request(const struct recsrv *s, int n, int ms)
{
	char	*txt;
	int	 i;

	ms = testutil_scale_ms(ms);
	for (i = 0; i < ms / 20; i++, usleep(20000))
		if ((txt = recsrv_request(s, n)) != NULL) {
			free(txt);
			return true;
		}
	return false;
}

/* The kill -9 test's config: one failing check at interval, to Slack. */
static const char *
slack_kill9_conf(char *text, size_t len, const char *dir,
    const char *interval)
{
	snprintf(text, len, "agent = { name = \"edge-9\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "channels = { slack = { webhook_url_file = \"%s/slack.url\"; "
	    "}; };\nchecks = ( { name = \"db\"; type = \"tcp\"; host = "
	    "\"127.0.0.1\"; port = %d; interval = \"%s\"; timeout = "
	    "\"200ms\"; labels = { env = \"prod\"; team = \"db\"; }; } );"
	    "\nrules = ( { name = \"down\"; when = "
	    "\"failed\"; fire_after = 1; notify = [\"slack\"]; } );\n",
	    dir, dir, testutil_closed_port(), interval);
	return text;
}

/*
 * A failing check fires; Slack answers 500 so the notification waits in
 * the outbox; the daemon is killed with SIGKILL; a new daemon, with Slack
 * back, sends it: the firing arrives once, before anything else, and the
 * new daemon does not fire it again (the state saved with the spool).
 */
START_TEST(test_slack_daemon_kill9_then_delivered)
{
	static const struct recsrv_answer	down[] = { { 500, "", "" } };
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	struct recsrv				s1, s2;
	char					 text[2048], url[128], *conf;
	char					*txt, dir[512];
	pid_t					 pid;
	int					 status;

	/* testutil_tmpdir() reuses its buffer: keep a copy */
	snprintf(dir, sizeof(dir), "%s", testutil_tmpdir());
	recsrv_start(&s1, down, 1, slack_check);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s1.port);
	free(testutil_write_file(dir, "slack.url", url));
	conf = testutil_write_file(dir, "sonde.conf", slack_kill9_conf(text,
	    sizeof(text), dir, "300ms"));
	pid = daemon_start(conf, dir);
	ck_assert_msg(wait_request(&s1, 0, 5000), "no send to slack");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	recsrv_stop(&s1);
	/* Slack is back, on another port: the URL file says where. */
	recsrv_start(&s2, ok, 1, slack_check);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T0/B0/x",
	    s2.port);
	free(testutil_write_file(dir, "slack.url", url));
	/*
	 * The check now first runs after the replay is delivered (its offset
	 * into 1 s), so an agent that forgot it had told (state saved only
	 * at the 1 s tick, after the kill) would fire again, and the outbox
	 * could not fold that firing into the pending replay.
	 */
	free(conf);
	conf = testutil_write_file(dir, "sonde.conf", slack_kill9_conf(text,
	    sizeof(text), dir, "1s"));
	pid = daemon_start(conf, dir);
	ck_assert_msg(wait_request(&s2, 0, 5000), "nothing after restart");
	(void)wait_request(&s2, 1, 2500);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	txt = recsrv_request(&s2, 0);
	ck_assert_msg(strncmp(txt, "valid\n", 6) == 0, "%s", txt);
	ck_assert_msg(strstr(txt, "[FIRING] down/db") != NULL, "%s", txt);
	/* the closed port refuses: the connect phase failed, quickly */
	ck_assert_msg(strstr(txt, "*Failing phase*\\nconnect, 0.") != NULL,
	    "%s", txt);
	ck_assert_msg(strstr(txt, "*Labels*\\nenv=prod, team=db\"") !=
	    NULL, "%s", txt);
	free(txt);
	/* the firing once: no second firing of down/db after it */
	if ((txt = recsrv_request(&s2, 1)) != NULL)
		ck_assert_msg(strstr(txt, "[FIRING] down/db") == NULL, "%s",
		    txt);
	free(txt);
	free(conf);
	recsrv_stop(&s2);
}
END_TEST

START_TEST(test_slack_template)
{
	static const struct recsrv_answer	ok[] = { { 200, "", "ok" } };
	struct config_errors			 errs;
	struct recsrv				 s;
	struct rig				 r;
	char					*path;

	recsrv_start(&s, ok, 1, slack_check);
	rig_start(&r, &s, "template = \"{{check}} on {{agent}} is {{state}} "
	    "({{failures}}, {{kind}}): {{message}}\";");
	rig_put(&r, NOTIFY_FIRING, "db");
	rig_drain(&r, 5000);
	assert_valid(&s, 0, "\"text\":\"db on edge-fra-1 is firing (3/5, "
	    "firing): connect timeout after 3.0s &lt;&amp;&gt;\"");
	rig_stop(&r);
	recsrv_stop(&s);
	memset(&errs, 0, sizeof(errs));
	setenv("SONDE_TEST_URL3", "https://hooks.example.com/x", 1);
	path = testutil_write_file(testutil_tmpdir(), "t.conf", "channels = "
	    "{ slack = { webhook_url_env = \"SONDE_TEST_URL3\";\n"
	    "template = \"{{check}} {{nope}}\"; }; };\n");
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_msg(strstr(errs.lines[0], "t.conf:2: channel 'slack': "
	    "unknown field {{nope}} (fields: check, rule, agent,") != NULL,
	    "%s", errs.lines[0]);
	config_errors_free(&errs);
	free(path);
}
END_TEST

/*
 * A secret file others may write is refused (they could put their own
 * webhook there and receive every alert); one every user may read loads,
 * with a warning; a directory is no secret file.  No error shows it.
 */
START_TEST(test_slack_secret_file_mode)
{
	static const struct {
		mode_t		 mode;
		const char	*error;		/* NULL: loads */
	} rows[] = {
		{ 0600, NULL }, { 0644, NULL },
		{ 0620, "writable by other users (mode 0620); chmod go-w" },
		{ 0602, "writable by other users (mode 0602)" },
	};
	struct config_errors	 errs;
	struct config		*cfg;
	char			*path, *secret, text[512];
	const char		*dir = testutil_tmpdir();
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&errs, 0, sizeof(errs));
		secret = testutil_write_file(dir, "slack.url",
		    "https://hooks.example/services/T0/B0/s3cret\n");
		ck_assert_int_eq(chmod(secret, rows[i].mode), 0);
		snprintf(text, sizeof(text), "channels = { slack = { "
		    "webhook_url_file = \"%s\"; }; };\n", secret);
		path = testutil_write_file(dir, "c.conf", text);
		cfg = config_load(path, &errs);
		if (rows[i].error == NULL)
			ck_assert_msg(cfg != NULL, "mode %o: %s", rows[i].mode,
			    errs.count > 0 ? errs.lines[0] : "?");
		else {
			ck_assert_msg(cfg == NULL, "mode %o loaded",
			    rows[i].mode);
			ck_assert_msg(strstr(errs.lines[0], rows[i].error) !=
			    NULL, "%s", errs.lines[0]);
			ck_assert_msg(strstr(errs.lines[0], "s3cret") == NULL,
			    "%s", errs.lines[0]);
		}
		config_unref(cfg);
		config_errors_free(&errs);
		free(path);
		free(secret);
	}
	memset(&errs, 0, sizeof(errs));
	path = testutil_write_file(dir, "c.conf", "channels = { slack = { "
	    "webhook_url_file = \"/\"; }; };\n");
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_msg(strstr(errs.lines[0], "not a regular file") != NULL,
	    "%s", errs.lines[0]);
	config_errors_free(&errs);
	free(path);
}
END_TEST

START_TEST(test_outbox_caps_config)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			*path;

	memset(&errs, 0, sizeof(errs));
	path = testutil_write_file(testutil_tmpdir(), "c.conf", "agent = { "
	    "outbox_max_records = 50; outbox_max_bytes = 100000; };\n");
	cfg = config_load(path, &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->agent.outbox_max_records, 50);
	ck_assert_int_eq(cfg->agent.outbox_max_bytes, 100000);
	config_unref(cfg);
	free(path);
	path = testutil_write_file(testutil_tmpdir(), "c.conf", "agent = { "
	    "outbox_max_records = 5; };\n");
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "c.conf:1: "
	    "'outbox_max_records' must be between 10 and 10000000, got 5"));
	config_errors_free(&errs);
	free(path);
}
END_TEST

static Suite *
slack_suite(void)
{
	Suite	*s = suite_create("slack");
	TCase	*tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_slack_message_format);
	tcase_add_test(tc, test_slack_config_errors);
	tcase_add_test(tc, test_slack_test_channels_cli);
	tcase_add_test(tc, test_slack_template);
	tcase_add_test(tc, test_slack_digest_and_flapping);
	tcase_add_test(tc, test_slack_mrkdwn_injection);
	tcase_add_test(tc, test_slack_secret_file_mode);
	tcase_add_test(tc, test_outbox_caps_config);
	suite_add_tcase(s, tc);
	tc = tcase_create("answers");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_slack_429_retry_after);
	tcase_add_test(tc, test_slack_retry_after_hostile);
	tcase_add_test(tc, test_slack_redirect_not_followed);
	tcase_add_test(tc, test_slack_400_rejected_with_slack_error);
	tcase_add_test(tc, test_slack_down_then_up_exactly_once_in_order);
	tcase_add_test(tc, test_slack_answer_during_stall_delivered_once);
	tcase_add_test(tc, test_slack_daemon_kill9_then_delivered);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(slack_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
