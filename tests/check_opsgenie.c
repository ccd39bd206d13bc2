/* SPDX-License-Identifier: ISC */
/*
 * Tests for the Opsgenie channel through the outbox, against the
 * recording server (recsrv), which checks each request against the
 * documented Alert API v2: create is POST /v2/alerts with
 * "Authorization: GenieKey <key>", a message of at most 130 characters,
 * an alias, priority P1..P5, tags a list of strings, details an object
 * of strings; close is POST /v2/alerts/<alias>/close?identifierType=alias.
 * Opsgenie answers 202 Accepted.  The channel is configured through the
 * real config loader, with api_url pointing at the server.
 */
#include "autoconf.h"

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "curlmux.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
#include "recsrv.h"
#include "testutil.h"
#include "xmalloc.h"

#define KEY	"eb243592-faa2-4ba2-a551q-1afdf565c889"

static const char *
og_create_verdict(const char *body)
{
	json_t		*root, *v;
	const char	*why = NULL, *p;
	size_t		 i;

	if ((root = json_loads(body, 0, NULL)) == NULL)
		return "body is not JSON";
	v = json_object_get(root, "message");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 130)
		why = "message missing or over 130 characters";
	if (!json_is_string(json_object_get(root, "alias")))
		why = "no alias";
	p = json_string_value(json_object_get(root, "priority"));
	if (p == NULL || strlen(p) != 2 || p[0] != 'P' || p[1] < '1' ||
	    p[1] > '5')
		why = "priority is not P1..P5";
	json_array_foreach(json_object_get(root, "tags"), i, v)
		if (!json_is_string(v))
			why = "a tag is not a string";
		else if (json_string_length(v) > 50)
			why = "a tag is over 50 characters";
	if (json_array_size(json_object_get(root, "tags")) > 20)
		why = "over 20 tags";
	if (!json_is_object(json_object_get(root, "details")))
		why = "details is not an object";
	json_decref(root);
	return why;
}

static const char *
og_check(const char *head, const char *body)
{
	if (strcasestr(head, "\r\nAuthorization: GenieKey " KEY "\r\n") ==
	    NULL)
		return "no GenieKey authorization";
	if (strcasestr(head, "\r\nContent-Type: application/json") == NULL)
		return "Content-Type is not application/json";
	if (strncmp(head, "POST /v2/alerts HTTP/1.1\r\n", 26) == 0)
		return og_create_verdict(body);
	if (strncmp(head, "POST /v2/alerts/", 16) == 0 &&
	    strstr(head, "/close?identifierType=alias HTTP/1.1\r\n") != NULL)
		return NULL;
	return "neither create nor close-by-alias";
}

struct rig {
	struct loop	*loop;
	struct config	*cfg;
	struct outbox	*ob;
	char		*state;
};

static void
rig_start(struct rig *r, int port)
{
	struct config_errors	 errs;
	char			 text[1024], *path, *keyfile, err[256];

	memset(&errs, 0, sizeof(errs));
	r->state = xstrdup(testutil_tmpdir());
	keyfile = testutil_write_file(r->state, "og.key", KEY "\n");
	snprintf(text, sizeof(text), "channels = { pager = { type = "
	    "\"opsgenie\"; api_key_file = \"%s\"; api_url = "
	    "\"http://127.0.0.1:%d/\"; priority = { warning = \"P2\"; }; }; "
	    "};\n", keyfile, port);
	path = testutil_write_file(r->state, "sonde.conf", text);
	r->cfg = config_load(path, &errs);
	ck_assert_msg(r->cfg != NULL, "%s", errs.count > 0 ? errs.lines[0] :
	    "?");
	free(path);
	free(keyfile);
	r->loop = loop_new();
	r->ob = outbox_new(r->loop, r->state, NULL, err, sizeof(err));
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

static struct notify_item
item(enum notify_kind kind, const char *check, const char *sev)
{
	struct notify_item	it;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	snprintf(it.agent, sizeof(it.agent), "edge-fra-1");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "%s", check);
	snprintf(it.target, sizeof(it.target), "https://api.example.com/h");
	snprintf(it.severity, sizeof(it.severity), "%s", sev);
	snprintf(it.state, sizeof(it.state), kind == NOTIFY_RESOLVED ? "ok" :
	    "firing");
	snprintf(it.reason, sizeof(it.reason), "http_status");
	memset(it.message, 'x', 200);	/* forces the 130 cut */
	memcpy(it.message, "got 503, expected 200 ", 22);
	it.at = 1700000000000000LL;
	it.since = it.at - 60000000LL;
	it.bad = 3;
	it.of = 5;
	return it;
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
assert_req(const struct recsrv *s, int n, const char *has)
{
	char	*txt = recsrv_request(s, n);

	ck_assert_msg(txt != NULL, "request %d never came", n);
	ck_assert_msg(strncmp(txt, "valid\n", 6) == 0, "request %d: %s", n,
	    txt);
	ck_assert_msg(strstr(txt, has) != NULL, "request %d lacks %s: %s", n,
	    has, txt);
	free(txt);
}

START_TEST(test_opsgenie_create_and_close_by_alias)
{
	static const struct recsrv_answer	ok[] = { { 202, "",
	    "{\"result\":\"Request will be processed\",\"took\":0.3,"
	    "\"requestId\":\"43a29c5c\"}" } };
	struct recsrv				s;
	struct rig				r;
	struct outbox_stats			st;
	struct notify_item			v[3];
	char					err[256];

	recsrv_start(&s, ok, 1, og_check);
	rig_start(&r, s.port);
	v[0] = item(NOTIFY_FIRING, "api", "critical");
	v[1] = item(NOTIFY_FIRING, "web", "warning");
	v[2] = item(NOTIFY_RESOLVED, "api", "critical");
	ck_assert(outbox_put(r.ob, "pager", &v[0], 1, err, 256) == 0);
	/* a digest: Opsgenie takes one alert per request, so it is split */
	outbox_sink_send(r.ob, "pager", &v[1], 2);
	rig_drain(&r, 5000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.delivered, 3);
	assert_req(&s, 0, "\"alias\":\"edge-fra-1/down/api\"");
	assert_req(&s, 0, "\"priority\":\"P1\"");
	assert_req(&s, 0, "\"source\":\"edge-fra-1\"");
	assert_req(&s, 0, "\"entity\":\"https://api.example.com/h\"");
	assert_req(&s, 0, "\"tags\":[\"critical\",\"down\",\"api\"]");
	assert_req(&s, 0, "xx...\"");
	assert_req(&s, 1, "\"priority\":\"P2\"");	/* configured */
	assert_req(&s, 2, "POST /v2/alerts/edge-fra-1%2Fdown%2Fapi/close?"
	    "identifierType=alias");
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

/*
 * The failing phase reaches details and description; each label is a
 * "k:v" tag, a long one cut within 50 bytes on a UTF-8 boundary.
 */
START_TEST(test_opsgenie_phase_and_label_tags)
{
	static const struct recsrv_answer	ok[] = { { 202, "",
	    "{\"result\":\"Request will be processed\"}" } };
	struct recsrv				s;
	struct rig				r;
	struct notify_item			it;
	char					err[256], want[128];
	size_t					i;

	recsrv_start(&s, ok, 1, og_check);
	rig_start(&r, s.port);
	it = item(NOTIFY_FIRING, "api", "critical");
	snprintf(it.phase, sizeof(it.phase), "tls");
	it.phase_us = 1500000;
	it.nlabels = 3;
	snprintf(it.labels[0].key, sizeof(it.labels[0].key), "env");
	snprintf(it.labels[0].value, sizeof(it.labels[0].value), "prod");
	snprintf(it.labels[1].key, sizeof(it.labels[1].key), "team");
	snprintf(it.labels[1].value, sizeof(it.labels[1].value), "payments");
	snprintf(it.labels[2].key, sizeof(it.labels[2].key), "site");
	for (i = 0; i < 40; i++)	/* 80 bytes of "\xc3\xa9" (e acute) */
		memcpy(it.labels[2].value + 2 * i, "\xc3\xa9", 2);
	ck_assert(outbox_put(r.ob, "pager", &it, 1, err, 256) == 0);
	rig_drain(&r, 5000);
	assert_req(&s, 0, "\"tags\":[\"critical\",\"down\",\"api\","
	    "\"env:prod\",\"team:payments\",\"site:");
	/* "site:" and 22 whole characters: 49 bytes, the 23rd does not fit */
	snprintf(want, sizeof(want), "\"site:");
	for (i = 0; i < 22; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "\"]");
	assert_req(&s, 0, want);
	assert_req(&s, 0, "\"failing_phase\":\"tls, 1.50s\"");
	assert_req(&s, 0, "results\\nfailing phase: tls, 1.50s");
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_opsgenie_bad_key_rejected)
{
	static const struct recsrv_answer	no[] = { { 422, "",
	    "{\"message\":\"Key format is not valid!\",\"took\":0.0}" } };
	struct recsrv				s;
	struct rig				r;
	struct outbox_stats			st;
	struct notify_item			it;
	char					err[256];

	recsrv_start(&s, no, 1, og_check);
	rig_start(&r, s.port);
	it = item(NOTIFY_FIRING, "api", "critical");
	testutil_log_capture_start();
	ck_assert(outbox_put(r.ob, "pager", &it, 1, err, 256) == 0);
	rig_drain(&r, 5000);
	outbox_get_stats(r.ob, &st);
	ck_assert_uint_eq(st.rejected, 1);
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(), "HTTP 422: "));
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(),
	    "Key format is not valid!"));
	ck_assert_ptr_null(strstr(testutil_log_captured(), KEY));
	testutil_log_capture_stop();
	rig_stop(&r);
	recsrv_stop(&s);
}
END_TEST

START_TEST(test_opsgenie_config_errors)
{
	struct config_errors	 errs;
	const char		*dir = testutil_tmpdir();
	char			*path;

	memset(&errs, 0, sizeof(errs));
	setenv("SONDE_TEST_OG", KEY, 1);
	path = testutil_write_file(dir, "bad.conf", "channels = {\n"
	    "opsgenie = { api_key_env = \"SONDE_TEST_OG\"; region = \"ap\";"
	    " };\n"
	    "og2 = { type = \"opsgenie\"; api_key_env = \"SONDE_TEST_OG\";\n"
	    "priority = { critical = \"P0\"; }; };\n};\n");
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.count, 2);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "bad.conf:2: "));
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "got \"ap\""));
	ck_assert_ptr_nonnull(strstr(errs.lines[1], "bad.conf:4: "));
	ck_assert_ptr_nonnull(strstr(errs.lines[1], "got \"P0\""));
	config_errors_free(&errs);
	free(path);
}
END_TEST

static Suite *
opsgenie_suite(void)
{
	Suite	*s = suite_create("opsgenie");
	TCase	*tc;

	tc = tcase_create("api");
	tcase_add_test(tc, test_opsgenie_create_and_close_by_alias);
	tcase_add_test(tc, test_opsgenie_phase_and_label_tags);
	tcase_add_test(tc, test_opsgenie_bad_key_rejected);
	tcase_add_test(tc, test_opsgenie_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(opsgenie_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
