/* SPDX-License-Identifier: ISC */
/*
 * check_metrics: the operator's view of sonde.
 *
 * render:  history (ring, sync across reloads), the /metrics exposition
 *          (exact samples, label escaping, validated by promtool), the
 *          /status.json document, the status page (escaping, data-
 *          attributes, sparkline), agent.listen parsing.  No network.
 * server:  the real sonde binary with agent.listen on a free port: scraped
 *          and checked by promtool; /healthz, 404, 405, HEAD; reloads
 *          (valid with a rename and a removal, invalid) seen in /metrics;
 *          SIGTERM with probes in flight exits 0 within 2 s; a real
 *          Prometheus scrapes it and answers probe_success through its
 *          API; headless Chromium loads the status page, the test reads
 *          the DOM and keeps a screenshot.
 * systemd: contrib/sonde.service passes systemd-analyze verify.
 *
 * Tools come from Debian packages (prometheus: promtool and prometheus;
 * chromium; systemd); a missing one fails its test naming the package.
 * Every process a test starts dies with it (PR_SET_PDEATHSIG) and is
 * stopped by PID.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "expo.h"
#include "history.h"
#include "loop.h"
#include "metrics.h"
#include "probe.h"
#include "sched.h"
#include "statuspage.h"
#include "testutil.h"
#include "xmalloc.h"

#define WAIT_MS		8000

/* ---- helpers ------------------------------------------------------------ */

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the path of tool in PATH (static), or fails naming package. */
static const char *
need_tool(const char *tool, const char *package)
{
	static char	 path[512];
	const char	*dirs[] = { "/usr/bin", "/usr/sbin", "/bin",
	    "/usr/local/bin" };
	size_t		 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], tool);
		if (access(path, X_OK) == 0)
			return path;
	}
	ck_abort_msg("%s is not installed: apt-get install %s", tool,
	    package);
	return NULL;
}

/* Loads text as a config in a fresh directory; fails on errors. */
static struct config *
load(const char *text)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			*path;

	path = testutil_write_file(testutil_tmpdir(), "sonde.conf", text);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "config: %s",
	    errs.count > 0 ? errs.lines[0] : "?");
	config_errors_free(&errs);
	free(path);
	return cfg;
}

static struct probe_result
result(enum probe_status st, int64_t us, const char *msg)
{
	struct probe_result	r;

	probe_result_init(&r);
	r.status = st;
	r.duration = us;
	r.started_at = INT64_C(1795800000000000);
	r.phase[PROBE_PHASE_CONNECT] = us / 2;
	snprintf(r.message, sizeof(r.message), "%s", msg);
	if (st != PROBE_CONNECT_REFUSED)
		snprintf(r.tcp.address, sizeof(r.tcp.address), "[::1]:5432");
	return r;
}

static int	nalerts_cb;

static void
two_alerts(void *src, expo_alert_cb cb, void *arg)
{
	struct expo_alert	a = { "down", "db", "firing",
	    INT64_C(1795800000000000) };

	nalerts_cb++;
	cb(&a, arg);
	a.rule = "slow\"<b>";
	a.state = "pending";
	cb(&a, arg);
}

static const char render_conf[] =
    "checks = (\n"
    "  { name = \"db\"; type = \"tcp\"; host = \"::1\"; port = 5432;\n"
    "    labels = { team = \"a \\\"b\\\" \\\\ c\"; }; },\n"
    "  { name = \"web\"; type = \"tcp\"; host = \"127.0.0.1\"; port = 80; },\n"
    "  { name = \"new\"; type = \"tcp\"; host = \"127.0.0.1\"; port = 81; }\n"
    ");\n";

/* A view of cfg with db ok then failed, web ok; "new" has no result. */
static void
render_view(struct expo_view *v, struct config *cfg, struct history *h,
    struct sched_stats *st)
{
	struct probe_result	r;

	history_sync(h, cfg);
	r = result(PROBE_OK, 1500, "");
	history_add(h, "db", &r);
	r = result(PROBE_CONNECT_REFUSED, 250, "connect to [::1]:5432: "
	    "refused <script>");
	history_add(h, "db", &r);
	r = result(PROBE_OK, 2000000, "");
	history_add(h, "web", &r);
	memset(st, 0, sizeof(*st));
	hist_reset(&st->lag);
	hist_add(&st->lag, 1000);
	st->in_flight = 2;
	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->history = h;
	v->stats = st;
	v->agent = "edge<1>";
	v->started_at = INT64_C(1795800000000000);
	v->now = v->started_at + 90 * INT64_C(1000000);
	v->reload_ok = false;
	v->reload_at = v->started_at;
	v->reloads_failed = 3;
	v->alerts = two_alerts;
}

/* Runs "promtool check metrics" on text; fails the test with its words. */
static void
promtool_check(const char *text)
{
	const char	*promtool = need_tool("promtool", "prometheus");
	char		*path, *cmd, *out = NULL, *err = NULL;
	char		*argv[] = { (char *)"/bin/sh", (char *)"-c", NULL,
	    NULL };
	int		 rc;

	path = testutil_write_file(testutil_tmpdir(), "metrics.txt", text);
	cmd = xasprintf("%s check metrics < %s", promtool, path);
	argv[2] = cmd;
	rc = testutil_run_cmd(argv, &out, &err, 20000);
	ck_assert_msg(rc == 0, "promtool check metrics: %d\n%s%s\n--- on:\n%s",
	    rc, out, err, text);
	free(out);
	free(err);
	free(cmd);
	free(path);
}

/* ---- render ------------------------------------------------------------- */

/* Growth across the capacity edge, both escapes, reset keeps memory. */
START_TEST(test_metrics_buf)
{
	struct buf	b = { NULL, 0, 0 };
	char		big[1000];
	size_t		i, cap;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 50; i++)
		buf_printf(&b, "%zu:%s;", i, big + i * 7);
	ck_assert_uint_eq(strlen(b.data), b.len);
	ck_assert_ptr_nonnull(strstr(b.data, "49:"));
	ck_assert_int_eq(b.data[b.len - 1], ';');
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_uint_eq(b.cap, cap);
	buf_prom_escape(&b, "a\\b\"c\nd");
	ck_assert_str_eq(b.data, "a\\\\b\\\"c\\nd");
	buf_reset(&b);
	buf_html_escape(&b, "<a href='x'>&\"</a>");
	ck_assert_str_eq(b.data,
	    "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_metrics_history_ring_and_sync)
{
	struct config			*a, *b;
	struct history			*h = history_new();
	const struct history_entry	*e;
	struct probe_result		 r;
	uint32_t			 us[HISTORY_RING];
	bool				 failed[HISTORY_RING];
	size_t				 i, n;

	a = load(render_conf);
	history_sync(h, a);
	for (i = 0; i < HISTORY_RING + 5; i++) {
		r = result(i % 3 == 0 ? PROBE_CONNECT_REFUSED : PROBE_OK,
		    (int64_t)i + 1, "x");
		ck_assert_ptr_nonnull(history_add(h, "db", &r));
	}
	ck_assert_ptr_null(history_add(h, "gone", &r));
	e = history_find(h, "db");
	ck_assert_uint_eq(e->probes, HISTORY_RING + 5);
	ck_assert_uint_eq(e->failures, (HISTORY_RING + 5 + 2) / 3);
	n = history_ring(e, us, failed);
	ck_assert_uint_eq(n, HISTORY_RING);
	for (i = 0; i < n; i++) {	/* oldest first: 6, 7, ... */
		ck_assert_uint_eq(us[i], i + 6);
		ck_assert_int_eq(failed[i], (i + 5) % 3 == 0);
	}
	ck_assert(!history_find(h, "web")->seen);

	/* Reload: db unchanged keeps all; web changed starts over. */
	r = result(PROBE_OK, 9, "");
	history_add(h, "web", &r);
	b = load("checks = (\n"
	    "  { name = \"web\"; type = \"tcp\"; host = \"127.0.0.1\"; "
	    "port = 8080; },\n"
	    "  { name = \"db\"; type = \"tcp\"; host = \"::1\"; port = 5432;\n"
	    "    labels = { team = \"a \\\"b\\\" \\\\ c\"; }; }\n);\n");
	ck_assert_uint_eq(a->checks[0].fingerprint, b->checks[1].fingerprint);
	ck_assert_uint_ne(a->checks[1].fingerprint, b->checks[0].fingerprint);
	history_sync(h, b);
	ck_assert_uint_eq(history_find(h, "db")->probes, HISTORY_RING + 5);
	ck_assert(!history_find(h, "web")->seen);
	ck_assert_ptr_null(history_find(h, "new"));
	history_free(h);
	history_free(NULL);
	config_unref(a);
	config_unref(b);
}
END_TEST

/*
 * The last result is packed (runs of non-zero words): it must come back
 * byte for byte, whatever its bytes, and a TCP result must stay small.
 */
START_TEST(test_metrics_history_packs_last_result)
{
	struct config			*cfg = load(render_conf);
	struct history			*h = history_new();
	const struct history_entry	*e;
	struct probe_result		 r, back;
	size_t				 i;

	history_sync(h, cfg);
	r = result(PROBE_CONNECT_REFUSED, 1234, "connect to 127.0.0.1:1: "
	    "refused");
	snprintf(r.tcp.address, sizeof(r.tcp.address), "127.0.0.1:1");
	snprintf(r.dns.text + 1000, 24, "tail of the text");
	r.http.status = 503;
	e = history_add(h, "db", &r);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_lt(e->last_len, 300);
	history_last(e, &back);
	ck_assert_mem_eq(&back, &r, sizeof(r));

	/* No zero word at all, then all zero: worst and best case. */
	memset(&r, 0xa5, sizeof(r));
	for (i = 0; i < sizeof(r); i += 16)
		((unsigned char *)&r)[i] = 0;	/* zero bytes, no zero word */
	history_add(h, "db", &r);
	ck_assert_uint_gt(e->last_len, sizeof(r));
	history_last(e, &back);
	ck_assert_mem_eq(&back, &r, sizeof(r));
	memset(&r, 0, sizeof(r));
	history_add(h, "db", &r);
	ck_assert_uint_eq(e->last_len, 0);
	memset(&back, 0xff, sizeof(back));
	history_last(e, &back);
	ck_assert_mem_eq(&back, &r, sizeof(r));

	/* A reload that keeps the check keeps its result (a copy). */
	r = result(PROBE_OK, 77, "");
	history_add(h, "db", &r);
	history_sync(h, cfg);
	history_last(history_find(h, "db"), &back);
	ck_assert_mem_eq(&back, &r, sizeof(r));
	history_free(h);
	config_unref(cfg);
}
END_TEST

START_TEST(test_metrics_exposition)
{
	struct config		*cfg = load(render_conf);
	struct history		*h = history_new();
	struct sched_stats	 st;
	struct probe_result	 last;
	struct expo_view	 v;
	struct buf		 b = { NULL, 0, 0 };
	static const char *const want[] = {
		"# TYPE probe_success gauge\n",
		"\nprobe_success{check=\"db\",team=\"a \\\"b\\\" \\\\ c\"} 0\n",
		"\nprobe_success{check=\"web\"} 1\n",
		"\nprobe_duration_seconds{check=\"db\",team=\"a \\\"b\\\" \\\\ "
		    "c\"} 0.00025\n",
		"\nprobe_duration_seconds{check=\"web\"} 2\n",
		"\nprobe_ip_protocol{check=\"web\"} 6\n",
		"\nsonde_probes_total{check=\"db\",team=\"a \\\"b\\\" \\\\ c\","
		    "result=\"failure\"} 1\n",
		"\nsonde_probes_total{check=\"web\",result=\"success\"} 1\n",
		"\nsonde_alert_state{rule=\"down\",check=\"db\","
		    "state=\"firing\"} 1\n",
		"\nsonde_alert_state{rule=\"slow\\\"<b>\",check=\"db\","
		    "state=\"pending\"} 1\n",
		"\n# TYPE sonde_outbox_pending gauge\n# HELP",
		"\nsonde_probe_schedule_lag_seconds_count 1\n",
		"\nsonde_probes_in_flight 2\n",
		"\nsonde_config_last_reload_successful 0\n",
		"\nsonde_config_reloads_failed_total 3\n",
		"\nsonde_checks 3\n",
	};
	size_t			 i;

	render_view(&v, cfg, h, &st);
	expo_metrics(&b, &v);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(b.data, want[i]) != NULL,
		    "missing %s in:\n%s", want[i], b.data);
	/* "new" has no result: no sample, but it is counted as a check. */
	ck_assert_ptr_null(strstr(b.data, "check=\"new\"} "));
	ck_assert_ptr_null(strstr(b.data, "probe_ip_protocol{check=\"db\""));
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	promtool_check(b.data);

	/* /probe: blackbox's own answer, no check label. */
	buf_reset(&b);
	history_last(history_find(h, "web"), &last);
	expo_probe(&b, &cfg->checks[0], &last);
	ck_assert_ptr_nonnull(strstr(b.data, "\nprobe_success 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nprobe_duration_seconds 2\n"));
	promtool_check(b.data);
	buf_free(&b);
	history_free(h);
	config_unref(cfg);
}
END_TEST

START_TEST(test_metrics_status_json)
{
	struct config		*cfg = load(render_conf);
	struct history		*h = history_new();
	struct sched_stats	 st;
	struct expo_view	 v;
	struct buf		 b = { NULL, 0, 0 };
	json_t			*root, *db, *rec;
	json_error_t		 jerr;

	render_view(&v, cfg, h, &st);
	ck_assert_int_eq(expo_status_json(&b, &v), 0);
	root = json_loads(b.data, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", jerr.text, b.data);
	ck_assert_str_eq(json_string_value(json_object_get(root, "agent")),
	    "edge<1>");
	ck_assert(json_is_false(json_object_get(json_object_get(root,
	    "config"), "last_reload_ok")));
	ck_assert_uint_eq(json_array_size(json_object_get(root, "checks")), 3);
	ck_assert_uint_eq(json_array_size(json_object_get(root, "alerts")), 2);
	db = json_array_get(json_object_get(root, "checks"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(db, "state")),
	    "failing");
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_object_get(db, "last"), "reason")), "connect_refused");
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_object_get(db, "labels"), "team")), "a \"b\" \\ c");
	rec = json_object_get(db, "recent");
	ck_assert_uint_eq(json_array_size(rec), 2);
	ck_assert(json_is_true(json_object_get(json_array_get(rec, 0), "ok")));
	ck_assert(json_is_false(json_object_get(json_array_get(rec, 1),
	    "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(root, "checks"), 2), "state")), "unknown");
	json_decref(root);
	buf_free(&b);
	history_free(h);
	config_unref(cfg);
}
END_TEST

START_TEST(test_metrics_statuspage)
{
	struct config		*cfg = load(render_conf);
	struct history		*h = history_new();
	struct sched_stats	 st;
	struct expo_view	 v;
	struct buf		 b = { NULL, 0, 0 };

	render_view(&v, cfg, h, &st);
	statuspage_html(&b, &v);
	ck_assert_ptr_nonnull(strstr(b.data, "<!DOCTYPE html>"));
	ck_assert_ptr_null(strstr(b.data, "<script"));
	ck_assert_ptr_null(strstr(b.data, "src=\""));
	ck_assert_ptr_null(strstr(b.data, "href=\""));
	ck_assert_ptr_nonnull(strstr(b.data, "refused &lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "sonde edge&lt;1&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "data-state=\"failing\" "
	    "data-check=\"db\""));
	ck_assert_ptr_nonnull(strstr(b.data, "data-state=\"unknown\" "
	    "data-check=\"new\""));
	ck_assert_ptr_nonnull(strstr(b.data, "data-points=\"2\" "
	    "data-failures=\"1\""));
	ck_assert_ptr_nonnull(strstr(b.data, "<circle class=\"fail\""));
	ck_assert_ptr_nonnull(strstr(b.data, "slow&quot;&lt;b&gt;"));
	ck_assert_ptr_nonnull(strstr(b.data, "<title>(1 failing) sonde"));
	ck_assert_ptr_nonnull(strstr(b.data, "last reload failed"));
	ck_assert_ptr_nonnull(strstr(b.data, "http-equiv=\"refresh\""));
	buf_free(&b);
	history_free(h);
	config_unref(cfg);
}
END_TEST

static const char kinds_conf[] =
    "checks = (\n"
    "  { name = \"web\"; type = \"http\"; url = \"https://[::1]/\"; },\n"
    "  { name = \"cert\"; type = \"tls\"; host = \"127.0.0.1\"; },\n"
    "  { name = \"ns\"; type = \"dns\"; query = \"example.com\";\n"
    "    record = \"SOA\"; server = \"127.0.0.1\"; },\n"
    "  { name = \"db\"; type = \"tcp\"; host = \"::1\"; port = 5432; }\n"
    ");\n";

/* An https result after one redirect, over HTTP/2, chain verified. */
static struct probe_result
kinds_http(void)
{
	struct probe_result	r = result(PROBE_OK, 15000, "");
	int			p;

	for (p = PROBE_PHASE_RESOLVE; p <= PROBE_PHASE_TRANSFER; p++)
		r.phase[p] = (p + 1) * 1000;
	r.http.status = 200;
	r.http.version = 20;
	r.http.redirects = 1;
	r.http.ssl = true;
	r.http.body_bytes = 1234;
	r.http.content_length = -1;
	r.tls.not_after = 1800000000;
	r.tls.earliest_not_after = 1790000000;
	snprintf(r.tls.verify, sizeof(r.tls.verify), "ok");
	snprintf(r.tls.version, sizeof(r.tls.version), "TLSv1.3");
	return r;
}

static const char kinds_http_want[] =
    "# HELP probe_http_duration_seconds Duration of http request by "
    "phase, summed over all redirects\n"
    "# TYPE probe_http_duration_seconds gauge\n"
    "probe_http_duration_seconds{phase=\"resolve\"} 0.001\n"
    "probe_http_duration_seconds{phase=\"connect\"} 0.002\n"
    "probe_http_duration_seconds{phase=\"tls\"} 0.003\n"
    "probe_http_duration_seconds{phase=\"processing\"} 0.004\n"
    "probe_http_duration_seconds{phase=\"transfer\"} 0.005\n"
    "# HELP probe_http_content_length Length of http content response\n"
    "# TYPE probe_http_content_length gauge\n"
    "probe_http_content_length -1\n"
    "# HELP probe_http_uncompressed_body_length Length of uncompressed "
    "response body\n"
    "# TYPE probe_http_uncompressed_body_length gauge\n"
    "probe_http_uncompressed_body_length 1234\n"
    "# HELP probe_http_redirects The number of redirects\n"
    "# TYPE probe_http_redirects gauge\n"
    "probe_http_redirects 1\n"
    "# HELP probe_http_ssl Indicates if SSL was used for the final "
    "redirect\n"
    "# TYPE probe_http_ssl gauge\n"
    "probe_http_ssl 1\n"
    "# HELP probe_http_status_code Response HTTP status code\n"
    "# TYPE probe_http_status_code gauge\n"
    "probe_http_status_code 200\n"
    "# HELP probe_http_version Returns the version of HTTP of the probe "
    "response\n"
    "# TYPE probe_http_version gauge\n"
    "probe_http_version 2\n"
    "# HELP probe_ip_protocol Specifies whether probe ip protocol is IP4 "
    "or IP6\n"
    "# TYPE probe_ip_protocol gauge\n"
    "probe_ip_protocol 6\n"
    "# HELP probe_ip_addr_hash Specifies the hash of IP address\n"
    "# TYPE probe_ip_addr_hash gauge\n"
    "probe_ip_addr_hash 1751717746\n"
    "# HELP probe_failed_due_to_regex Indicates if probe failed due to "
    "regex\n"
    "# TYPE probe_failed_due_to_regex gauge\n"
    "probe_failed_due_to_regex 0\n"
    "# HELP probe_ssl_earliest_cert_expiry Returns last SSL chain expiry "
    "in unixtime\n"
    "# TYPE probe_ssl_earliest_cert_expiry gauge\n"
    "probe_ssl_earliest_cert_expiry 1790000000\n"
    "# HELP probe_ssl_last_chain_expiry_timestamp_seconds Returns last "
    "SSL chain expiry in timestamp\n"
    "# TYPE probe_ssl_last_chain_expiry_timestamp_seconds gauge\n"
    "probe_ssl_last_chain_expiry_timestamp_seconds 1790000000\n"
    "# HELP probe_tls_version_info Returns the TLS version used or NaN "
    "when unknown\n"
    "# TYPE probe_tls_version_info gauge\n"
    "probe_tls_version_info{version=\"TLS 1.3\"} 1\n";

/* A tls result whose chain did not verify: no last-chain sample. */
static struct probe_result
kinds_tls(void)
{
	struct probe_result	r = result(PROBE_TLS_UNTRUSTED, 3000, "x");

	snprintf(r.tcp.address, sizeof(r.tcp.address), "127.0.0.1:443");
	r.tls.not_after = 1800000000;
	r.tls.earliest_not_after = 1800000000;
	snprintf(r.tls.verify, sizeof(r.tls.verify),
	    "self-signed certificate");
	snprintf(r.tls.version, sizeof(r.tls.version), "TLSv1.2");
	return r;
}

static const char kinds_tls_want[] =
    "# TYPE probe_ssl_earliest_cert_expiry gauge\n"
    "probe_ssl_earliest_cert_expiry 1800000000\n"
    "# HELP probe_ssl_last_chain_expiry_timestamp_seconds Returns last "
    "SSL chain expiry in timestamp\n"
    "# TYPE probe_ssl_last_chain_expiry_timestamp_seconds gauge\n"
    "# HELP probe_tls_version_info Returns the TLS version used or NaN "
    "when unknown\n"
    "# TYPE probe_tls_version_info gauge\n"
    "probe_tls_version_info{version=\"TLS 1.2\"} 1\n"
    "# HELP probe_ip_protocol Specifies whether probe ip protocol is IP4 "
    "or IP6\n"
    "# TYPE probe_ip_protocol gauge\n"
    "probe_ip_protocol 4\n"
    "# HELP probe_ip_addr_hash Specifies the hash of IP address\n"
    "# TYPE probe_ip_addr_hash gauge\n"
    "probe_ip_addr_hash 3668918509\n";

/* A dns answer with a SOA, over UDP: no connect phase, no lookup. */
static struct probe_result
kinds_dns(void)
{
	struct probe_result	r = result(PROBE_OK, 1500, "");

	r.tcp.address[0] = '\0';
	r.phase[PROBE_PHASE_CONNECT] = -1;
	r.phase[PROBE_PHASE_REQUEST] = 1250;
	r.dns.answered = true;
	r.dns.has_serial = true;
	r.dns.serial = 2024010101;
	r.dns.answers = 1;
	r.dns.authority = 2;
	r.dns.additional = 3;
	return r;
}

static const char kinds_dns_want[] =
    "# TYPE probe_dns_lookup_time_seconds gauge\n"
    "# HELP probe_dns_duration_seconds Duration of DNS request by phase\n"
    "# TYPE probe_dns_duration_seconds gauge\n"
    "probe_dns_duration_seconds{phase=\"resolve\"} 0\n"
    "probe_dns_duration_seconds{phase=\"connect\"} 0\n"
    "probe_dns_duration_seconds{phase=\"request\"} 0.00125\n"
    "# HELP probe_dns_answer_rrs Returns number of entries in the answer "
    "resource record list\n"
    "# TYPE probe_dns_answer_rrs gauge\n"
    "probe_dns_answer_rrs 1\n"
    "# HELP probe_dns_authority_rrs Returns number of entries in the "
    "authority resource record list\n"
    "# TYPE probe_dns_authority_rrs gauge\n"
    "probe_dns_authority_rrs 2\n"
    "# HELP probe_dns_additional_rrs Returns number of entries in the "
    "additional resource record list\n"
    "# TYPE probe_dns_additional_rrs gauge\n"
    "probe_dns_additional_rrs 3\n"
    "# HELP probe_dns_query_succeeded Displays whether or not the query "
    "was executed successfully\n"
    "# TYPE probe_dns_query_succeeded gauge\n"
    "probe_dns_query_succeeded 1\n"
    "# HELP probe_dns_serial Returns the serial number of the zone\n"
    "# TYPE probe_dns_serial gauge\n"
    "probe_dns_serial 2024010101\n";

/* FNV-1a of the IP's bytes, as blackbox_exporter's ipHash(). */
static const struct {
	const char	*address;
	int		 rc;
	double		 hash;
} hashes[] = {
	{ "127.0.0.1:80", 0, 3668918509.0 },
	{ "[::1]:443", 0, 1751717746.0 },
	{ "[::1%lo]:443", 0, 1751717746.0 },
	{ "[::ffff:127.0.0.1]:1", 0, 3668918509.0 },	/* as Go's To4() */
	{ "[::2]:1", 0, 0 },
	{ "", -1, 0 },
	{ "[::1:80", -1, 0 },
	{ "host.example:80", -1, 0 },
};

START_TEST(test_metrics_address_hash)
{
	double	h = -1;

	ck_assert_int_eq(probe_address_hash(hashes[_i].address, &h),
	    hashes[_i].rc);
	if (hashes[_i].rc == 0 && hashes[_i].hash != 0)
		ck_assert_double_eq(h, hashes[_i].hash);
	else if (hashes[_i].rc == 0)
		ck_assert_double_ne(h, 1751717746.0);
}
END_TEST

/*
 * Each kind's families exactly as blackbox_exporter 0.24 writes them for
 * a canned result (/probe, no check label); on /metrics a family two kinds
 * share is written once, each check's samples under it; promtool agrees.
 */
START_TEST(test_metrics_kind_families)
{
	struct config		*cfg = load(kinds_conf);
	struct history		*h = history_new();
	struct sched_stats	 st;
	struct expo_view	 v;
	struct buf		 b = { NULL, 0, 0 };
	struct probe_result	 r;
	const char		*p;

	r = kinds_http();
	expo_probe(&b, &cfg->checks[0], &r);
	ck_assert_msg(strstr(b.data, kinds_http_want) != NULL, "got:\n%s",
	    b.data);
	promtool_check(b.data);
	/* No response: the gauges at 0, no TLS, no address. */
	buf_reset(&b);
	r = result(PROBE_CONNECT_REFUSED, 100, "x");
	r.http.body_bytes = -1;
	r.http.content_length = -1;
	expo_probe(&b, &cfg->checks[0], &r);
	ck_assert_ptr_nonnull(strstr(b.data, "\nprobe_http_status_code 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nprobe_http_content_length 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nprobe_http_duration_seconds{phase=\"tls\"} 0\n"));
	ck_assert_ptr_null(strstr(b.data, "\nprobe_ssl_earliest_cert_expiry "));
	ck_assert_ptr_null(strstr(b.data, "\nprobe_ip_protocol "));
	buf_reset(&b);
	r.status = PROBE_HTTP_BODY_MISMATCH;
	expo_probe(&b, &cfg->checks[0], &r);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nprobe_failed_due_to_regex 1\n"));

	buf_reset(&b);
	r = kinds_tls();
	expo_probe(&b, &cfg->checks[1], &r);
	ck_assert_msg(strstr(b.data, kinds_tls_want) != NULL, "got:\n%s",
	    b.data);
	promtool_check(b.data);

	buf_reset(&b);
	r = kinds_dns();
	expo_probe(&b, &cfg->checks[2], &r);
	ck_assert_msg(strstr(b.data, kinds_dns_want) != NULL, "got:\n%s",
	    b.data);
	promtool_check(b.data);

	/* /metrics with all four kinds. */
	render_view(&v, cfg, h, &st);
	r = kinds_http();
	history_add(h, "web", &r);
	r = kinds_tls();
	history_add(h, "cert", &r);
	r = kinds_dns();
	history_add(h, "ns", &r);
	r = result(PROBE_OK, 1000, "");
	history_add(h, "db", &r);
	buf_reset(&b);
	expo_metrics(&b, &v);
	p = strstr(b.data, "# TYPE probe_ip_protocol gauge\n"
	    "probe_ip_protocol{check=\"web\"} 6\n"
	    "probe_ip_protocol{check=\"cert\"} 4\n"
	    "probe_ip_protocol{check=\"db\"} 6\n");
	ck_assert_msg(p != NULL, "%s", b.data);
	ck_assert_ptr_null(strstr(p + 1, "# TYPE probe_ip_protocol "));
	ck_assert_ptr_nonnull(strstr(b.data, "# TYPE "
	    "probe_ssl_earliest_cert_expiry gauge\n"
	    "probe_ssl_earliest_cert_expiry{check=\"web\"} 1790000000\n"
	    "probe_ssl_earliest_cert_expiry{check=\"cert\"} 1800000000\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "probe_dns_serial{check=\"ns\"} 2024010101\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "probe_http_duration_seconds{check=\"web\",phase=\"tls\"} "
	    "0.003\n"));
	promtool_check(b.data);
	buf_free(&b);
	history_free(h);
	config_unref(cfg);
}
END_TEST

static const char module_conf[] =
    "defaults: { timeout = \"4s\"; };\n"
    "modules = {\n"
    "  tcp_connect = { type = \"tcp\"; };\n"
    "  ssh = { type = \"tcp\"; port = 22; timeout = \"2s\";\n"
    "    expect = { reply = \"^SSH-2\\\\.0-\"; }; };\n"
    "  http_2xx = { type = \"http\"; };\n"
    "  https_health = { type = \"http\"; url = \"https://x/healthz\"; };\n"
    "  tls_connect = { type = \"tls\"; };\n"
    "  dns_soa = { type = \"dns\"; query = \"example.com\";\n"
    "    record = \"SOA\"; };\n"
    "};\n";

static const struct {
	const char	*module;
	const char	*target;
	const char	*want;		/* the target, or the error */
	int64_t		 timeout_ms;
} instances[] = {
	{ "tcp_connect", "db.internal:5432", "db.internal:5432", 4000 },
	{ "tcp_connect", "[::1]:5432", "[::1]:5432", 4000 },
	{ "ssh", "10.0.0.7", "10.0.0.7:22", 2000 },
	{ "ssh", "10.0.0.7:2222", "10.0.0.7:2222", 2000 },
	{ "tcp_connect", "db.internal", "target is missing required key "
	    "'port'", 0 },
	{ "tcp_connect", "db:0", "the port must be 1 to 65535", 0 },
	{ "nope", "db:1", "no module named \"nope\"", 0 },
	/* http: a URL as is, or host[:port] with the module's scheme, path */
	{ "http_2xx", "example.com", "http://example.com/", 4000 },
	{ "http_2xx", "127.0.0.1:8080", "http://127.0.0.1:8080/", 4000 },
	{ "http_2xx", "https://a.example/x?y=1", "https://a.example/x?y=1",
	    4000 },
	{ "https_health", "[::1]:8443", "https://[::1]:8443/healthz", 4000 },
	{ "https_health", "b.example/ready", "https://b.example/ready", 4000 },
	{ "http_2xx", "a b", "not a URL or host[:port]", 0 },
	{ "http_2xx", "ftp://x/", "'url'", 0 },
	/* tls: host[:port], 443 by default */
	{ "tls_connect", "mail.example:465", "mail.example:465", 4000 },
	{ "tls_connect", "db:99999", "the port must be 1 to 65535", 0 },
	/* dns: the server, the query from the module */
	{ "dns_soa", "127.0.0.1:5353", "example.com. SOA @127.0.0.1:5353",
	    4000 },
	{ "dns_soa", "[::1]", "@[::1]", 4000 },
	{ "dns_soa", "a,b", "not one server address or name", 0 },
};

/* A module aimed at a target is a check like any other, or says why not. */
START_TEST(test_metrics_module_instantiate)
{
	struct config	*cfg = load(module_conf), *one;
	char		 err[256] = "";

	ck_assert_uint_eq(cfg->nmodules, 6);
	one = config_instantiate(cfg, instances[_i].module,
	    instances[_i].target, err, sizeof(err));
	if (instances[_i].timeout_ms == 0) {
		ck_assert_ptr_null(one);
		ck_assert_msg(strstr(err, instances[_i].want) != NULL,
		    "%s: %s", instances[_i].target, err);
	} else {
		ck_assert_msg(one != NULL, "%s: %s", instances[_i].target,
		    err);
		ck_assert_uint_eq(one->nchecks, 1);
		ck_assert_msg(strstr(one->checks[0].target,
		    instances[_i].want) != NULL, "%s: %s",
		    instances[_i].target, one->checks[0].target);
		ck_assert_int_eq(one->checks[0].timeout_ms,
		    instances[_i].timeout_ms);
		config_unref(one);
	}
	config_unref(cfg);
}
END_TEST

/* A broken module is a load error at its file:line, as a check would be. */
START_TEST(test_metrics_module_errors)
{
	struct config_errors	 errs;
	char			*path;

	path = testutil_write_file(testutil_tmpdir(), "sonde.conf",
	    "modules = {\n"
	    "  a = { type = \"tcp\"; prot = 22; };\n"
	    "  b = { type = \"tcpp\"; };\n"
	    "  c = { type = \"tcp\"; name = \"x\"; };\n"
	    "};\n");
	memset(&errs, 0, sizeof(errs));
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.count, 3);
	ck_assert_msg(strstr(errs.lines[0], ":2: module 'a': unknown key "
	    "'prot'") != NULL && strstr(errs.lines[0], "'port'") != NULL,
	    "%s", errs.lines[0]);
	ck_assert_msg(strstr(errs.lines[1], ":3: ") != NULL &&
	    strstr(errs.lines[1], "tcpp") != NULL, "%s", errs.lines[1]);
	ck_assert_msg(strstr(errs.lines[2], ":4: a module has no 'name'") !=
	    NULL, "%s", errs.lines[2]);
	config_errors_free(&errs);
	free(path);

	/* agent.listen is checked at load, at its line. */
	path = testutil_write_file(testutil_tmpdir(), "sonde.conf",
	    "agent: {\n  listen = \"localhost:9116\";\n};\n");
	memset(&errs, 0, sizeof(errs));
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_msg(strstr(errs.lines[0], ":2: 'listen' address must be "
	    "an IPv4 address") != NULL, "%s", errs.lines[0]);
	config_errors_free(&errs);
	free(path);
}
END_TEST

/* What a check inherits is part of its identity: a defaults change too. */
START_TEST(test_metrics_fingerprint_defaults)
{
	struct config	*a, *b, *c;

	a = load("defaults: { interval = \"30s\"; };\nchecks = ( { name = "
	    "\"db\"; type = \"tcp\"; host = \"::1\"; port = 1; } );\n");
	b = load("defaults: { interval = \"10s\"; };\nchecks = ( { name = "
	    "\"db\"; type = \"tcp\"; host = \"::1\"; port = 1; } );\n");
	c = load("checks = ( { name = \"db\"; type = \"tcp\"; host = "
	    "\"::1\"; port = 1; interval = \"30s\"; } );\n");
	ck_assert_uint_ne(a->checks[0].fingerprint, b->checks[0].fingerprint);
	/*
	 * The same effective check written differently counts as changed:
	 * conservative, it restarts once; a real change is never kept.
	 */
	ck_assert_uint_ne(a->checks[0].fingerprint, c->checks[0].fingerprint);
	config_unref(a);
	config_unref(b);
	config_unref(c);
}
END_TEST

static const struct {
	const char	*in;
	int		 ok;
	const char	*err;
} listens[] = {
	{ "127.0.0.1:9116", 1, NULL },
	{ "[::1]:9116", 1, NULL },
	{ "0.0.0.0:0", 1, NULL },
	{ "localhost:9116", 0, "no host names" },
	{ "127.0.0.1", 0, "ADDRESS:PORT" },
	{ "127.0.0.1:70000", 0, "0 to 65535" },
	{ "::1:9116", 0, "IPv6 one in brackets" },
	{ ":9116", 0, "ADDRESS:PORT" },
};

START_TEST(test_metrics_listen_parse)
{
	struct sockaddr_storage	ss;
	size_t			len;
	char			err[256] = "";
	int			rc;

	rc = config_parse_listen(listens[_i].in, &ss, &len, err, sizeof(err));
	ck_assert_int_eq(rc, listens[_i].ok ? 0 : -1);
	if (!listens[_i].ok)
		ck_assert_msg(strstr(err, listens[_i].err) != NULL,
		    "%s: %s", listens[_i].in, err);
}
END_TEST

/* A view for a metrics server nobody asks. */
static void
empty_view(void *arg, struct expo_view *v)
{
	(void)arg;
	memset(v, 0, sizeof(*v));
}

/* Listening beyond loopback is said once; on loopback, nothing is. */
START_TEST(test_metrics_listen_exposed_warns)
{
	static const struct {
		const char	*listen;
		bool		 warns;
	} rows[] = {
		{ "127.0.0.1:0", false }, { "127.0.0.2:0", false },
		{ "[::1]:0", false }, { "0.0.0.0:0", true }, { "[::]:0", true },
	};
	struct loop	*loop = loop_new();
	struct metrics	*m;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		testutil_log_capture_start();
		m = metrics_new(loop, NULL, rows[i].listen, empty_view, NULL,
		    err, sizeof(err));
		if (m == NULL && strchr(rows[i].listen, '[') != NULL) {
			testutil_log_capture_stop();
			continue;	/* no IPv6 on this host */
		}
		ck_assert_msg(m != NULL, "%s: %s", rows[i].listen, err);
		ck_assert_msg((strstr(testutil_log_captured(), "is reachable "
		    "beyond this host") != NULL) == rows[i].warns, "%s: %s",
		    rows[i].listen, testutil_log_captured());
		testutil_log_capture_stop();
		metrics_free(m);
	}
	loop_free(loop);
}
END_TEST

/* ---- server: a real sonde ---------------------------------------------- */

struct daemon {
	pid_t	 pid;
	int	 errfd;
	char	*err;
	size_t	 len;
};

static pid_t
spawn(char *const argv[], int errfd)
{
	pid_t		pid, parent = getpid();
	sigset_t	none;
	int		null;

	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		dup2(errfd >= 0 ? errfd : null, STDOUT_FILENO);
		dup2(errfd >= 0 ? errfd : null, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void	daemon_wait(struct daemon *, const char *);

static void
daemon_start(struct daemon *d, const char *conf)
{
	const char	*bin = getenv("SONDE_BIN");
	char		*argv[] = { (char *)(bin != NULL ? bin : "./sonde"),
	    (char *)"-c", (char *)conf, NULL };
	int		 p[2];

	ck_assert(pipe2(p, O_CLOEXEC) == 0);
	d->pid = spawn(argv, p[1]);
	close(p[1]);
	d->errfd = p[0];
	d->err = xstrdup("");
	d->len = 0;
	daemon_wait(d, "serving /metrics");
}

static bool
daemon_read(struct daemon *d, int ms)
{
	struct pollfd	pfd = { .fd = d->errfd, .events = POLLIN };
	char		buf[4096];
	ssize_t		n;

	if (poll(&pfd, 1, ms) <= 0)
		return true;
	if ((n = read(d->errfd, buf, sizeof(buf))) <= 0)
		return false;
	d->err = xreallocarray(d->err, d->len + (size_t)n + 1, 1);
	memcpy(d->err + d->len, buf, (size_t)n);
	d->len += (size_t)n;
	d->err[d->len] = '\0';
	return true;
}

static void
daemon_wait(struct daemon *d, const char *needle)
{
	int64_t	end = now_ms() + testutil_scale_ms(WAIT_MS);

	while (strstr(d->err, needle) == NULL && now_ms() < end)
		if (!daemon_read(d, (int)(end - now_ms())))
			break;
	ck_assert_msg(strstr(d->err, needle) != NULL,
	    "waited for '%s'; sonde logged:\n%s", needle, d->err);
}

/* Signals, reads to EOF, reaps; returns the exit status and sets *ms. */
static int
daemon_stop(struct daemon *d, int signo, int64_t *ms)
{
	int64_t	start = now_ms(), end = start + testutil_scale_ms(10000);
	int	status;

	ck_assert(kill(d->pid, signo) == 0);
	while (now_ms() < end && daemon_read(d, (int)(end - now_ms())))
		;
	if (now_ms() >= end)
		kill(d->pid, SIGKILL);
	ck_assert(waitpid(d->pid, &status, 0) == d->pid);
	if (ms != NULL)
		*ms = now_ms() - start;
	close(d->errfd);
	ck_assert_msg(WIFEXITED(status), "sonde died of signal %d:\n%s",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0, d->err);
	return WEXITSTATUS(status);
}

static size_t
http_body(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* GETs url (or another method); returns the status, body into b. */
static long
http(const char *method, const char *url, struct buf *b, char *ctype,
    size_t ctypelen)
{
	CURL		*c = curl_easy_init();
	long		 code = 0;
	char		*ct = NULL;
	CURLcode	 rc;

	buf_reset(b);
	buf_puts(b, "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ?
	    1L : 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, url,
	    curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ctype != NULL)
		snprintf(ctype, ctypelen, "%s", ct != NULL ? ct : "");
	curl_easy_cleanup(c);
	return code;
}

/* GETs url into b; returns false when nothing answered 200 (yet). */
static bool
http_try(const char *url, struct buf *b)
{
	CURL	*c = curl_easy_init();
	long	 code = 0;
	bool	 ok;

	buf_reset(b);
	buf_puts(b, "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	ok = curl_easy_perform(c) == CURLE_OK;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return ok && code == 200;
}

/* GETs /metrics until it contains needle; returns the text in b. */
static void
scrape_until(int port, const char *needle, struct buf *b)
{
	char	url[64];
	int64_t	end = now_ms() + testutil_scale_ms(WAIT_MS);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	do {
		ck_assert_int_eq(http("GET", url, b, NULL, 0), 200);
		if (strstr(b->data, needle) != NULL)
			return;
		usleep(50000);
	} while (now_ms() < end);
	ck_abort_msg("no '%s' in /metrics:\n%s", needle, b->data);
}

/* Writes dir/sonde.conf listening on port with the given checks. */
static char *
server_conf(const char *dir, int port, const char *checks)
{
	char	*text, *path;

	text = xasprintf("agent: { name = \"t\"; listen = \"127.0.0.1:%d\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "defaults: { interval = \"200ms\"; timeout = \"150ms\"; };\n"
	    "modules = { tcp_connect = { type = \"tcp\"; timeout = \"1s\"; "
	    "}; };\nchecks = (\n%s\n);\n", port, dir, checks);
	path = testutil_write_file(dir, "sonde.conf", text);
	free(text);
	return path;
}

static char *
tcp_check(const char *name, int port)
{
	return xasprintf("{ name = \"%s\"; type = \"tcp\"; host = "
	    "\"127.0.0.1\"; port = %d; }", name, port);
}

/*
 * A channel that is down: the firing notification waits in the outbox,
 * and /metrics says how many wait for which channel.
 */
START_TEST(test_metrics_outbox_pending)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *text, *url, *want;
	int		 port = testutil_closed_port();

	url = xasprintf("http://127.0.0.1:%d/hook\n", testutil_closed_port());
	free(testutil_write_file(dir, "slack.url", url));
	text = xasprintf("agent: { name = \"t\"; listen = \"127.0.0.1:%d\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "defaults: { interval = \"200ms\"; timeout = \"150ms\"; };\n"
	    "channels = { slack = { webhook_url_file = \"%s/slack.url\"; }; };\n"
	    "checks = ( { name = \"db\"; type = \"tcp\"; host = \"127.0.0.1\";"
	    " port = %d; } );\n"
	    "rules = ( { name = \"down\"; checks = [\"*\"]; when = \"failed\";"
	    " fire_after = 2; notify = [\"slack\"]; } );\n", port, dir, dir,
	    testutil_closed_port());
	conf = testutil_write_file(dir, "sonde.conf", text);
	daemon_start(&d, conf);
	want = xasprintf("sonde_outbox_pending{channel=\"slack\"} 1\n");
	scrape_until(port, want, &b);
	ck_assert_ptr_nonnull(strstr(b.data, "\nsonde_outbox_retries_total "));
	ck_assert_ptr_nonnull(strstr(b.data, "\nsonde_outbox_delivered_total "
	    "0\n"));
	/* The record and alerts.json went through the writer thread. */
	ck_assert_ptr_nonnull(strstr(b.data, "# TYPE sonde_disk_queue_jobs "
	    "gauge\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nsonde_disk_write_seconds_"
	    "count "));
	ck_assert_ptr_nonnull(strstr(b.data, "\nsonde_disk_write_failures_"
	    "total 0\n"));
	promtool_check(b.data);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	buf_free(&b);
	free(d.err);
	free(want);
	free(conf);
	free(text);
	free(url);
}
END_TEST

static pid_t	http_responder(int, int);

/* Fails the test when any of the secrets occurs in text. */
static void
assert_no_secret(const char *what, const char *text,
    const char *const *secrets)
{
	const char	*at;
	size_t		 i;

	for (i = 0; secrets[i] != NULL; i++) {
		at = strstr(text, secrets[i]);
		ck_assert_msg(at == NULL, "%s shows the secret %s: ...%.300s",
		    what, secrets[i], at - text > 200 ? at - 200 : text);
	}
}

/*
 * Every secret (a basic_auth password file, a bearer token from the
 * environment, a Slack webhook URL and an Opsgenie key) stays out of
 * everything sonde shows: its debug log, /metrics, /status.json, the
 * status page, /probe, and `--once --json`, for a probe that succeeds,
 * one that fails and channels that fail.
 */
START_TEST(test_metrics_secrets_never_shown)
{
	static const char *const secrets[] = {
		"pw5ecret", "tok5ecret", "hook5ecret", "genie5ecret", NULL
	};
	static const char *const paths[] = {
		"/metrics", "/status.json", "/", "/probe?module=tcp_connect&"
		"target=127.0.0.1:1", NULL
	};
	const char	*dir = testutil_tmpdir();
	const char	*bin = getenv("SONDE_BIN");
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *text, *hook, url[128], *out = NULL, *err = NULL;
	int		 port = testutil_closed_port(), lport, lfd, dead;
	pid_t		 web;
	size_t		 i;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	web = http_responder(lfd, 1000);
	dead = testutil_closed_port();
	free(testutil_write_file(dir, "pw", "pw5ecret\n"));
	free(testutil_write_file(dir, "genie.key", "genie5ecret\n"));
	setenv("SONDE_TEST_BEARER", "tok5ecret", 1);
	hook = xasprintf("http://127.0.0.1:%d/services/T0/B0/hook5ecret",
	    dead);
	setenv("SONDE_TEST_HOOK", hook, 1);
	text = xasprintf("agent: { name = \"t\"; listen = \"127.0.0.1:%d\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "defaults: { interval = \"200ms\"; timeout = \"150ms\"; };\n"
	    "modules = { tcp_connect = { type = \"tcp\"; }; };\n"
	    "channels = { slack = { webhook_url_env = \"SONDE_TEST_HOOK\"; };"
	    " opsgenie = { api_key_file = \"%s/genie.key\"; api_url = "
	    "\"http://127.0.0.1:%d\"; }; };\n"
	    "checks = (\n"
	    "{ name = \"up\"; type = \"http\"; url = \"http://127.0.0.1:%d/\";"
	    " bearer_token = { env = \"SONDE_TEST_BEARER\"; }; },\n"
	    "{ name = \"down\"; type = \"http\"; url = \"http://127.0.0.1:%d/"
	    "\"; basic_auth = { username = \"u\"; password_file = \"%s/pw\";"
	    " }; } );\n"
	    "rules = ( { name = \"r\"; checks = [\"*\"]; when = \"failed\";"
	    " fire_after = 1; notify = [\"slack\", \"opsgenie\"]; } );\n",
	    port, dir, dir, dead, lport, dead, dir);
	conf = testutil_write_file(dir, "sonde.conf", text);
	{
		char	*argv[] = { (char *)(bin != NULL ? bin : "./sonde"),
		    (char *)"-d", (char *)"-c", conf, NULL };
		int	 p[2];

		ck_assert(pipe2(p, O_CLOEXEC) == 0);
		d.pid = spawn(argv, p[1]);
		close(p[1]);
		d.errfd = p[0];
		d.err = xstrdup("");
		d.len = 0;
		daemon_wait(&d, "serving /metrics");
	}
	scrape_until(port, "probe_success{check=\"up\"} 1\n", &b);
	scrape_until(port, "probe_success{check=\"down\"} 0\n", &b);
	scrape_until(port, "sonde_outbox_pending{channel=\"opsgenie\"} 1\n",
	    &b);
	scrape_until(port, "sonde_outbox_pending{channel=\"slack\"} 1\n", &b);
	daemon_wait(&d, "send 1 of the firing of r/down failed");
	for (i = 0; paths[i] != NULL; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port,
		    paths[i]);
		ck_assert_int_eq(http("GET", url, &b, NULL, 0), 200);
		assert_no_secret(paths[i], b.data, secrets);
	}
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	assert_no_secret("the log", d.err, secrets);
	{
		char	*argv[] = { (char *)(bin != NULL ? bin : "./sonde"),
		    (char *)"--once", (char *)"--json", (char *)"-c", conf,
		    NULL };

		ck_assert_int_eq(testutil_run_cmd(argv, &out, &err, 10000), 1);
	}
	ck_assert_msg(strstr(out, "\"check\":\"up\",") != NULL, "%s", out);
	assert_no_secret("--once --json", out, secrets);
	assert_no_secret("--once --json stderr", err, secrets);
	kill(web, SIGKILL);
	waitpid(web, NULL, 0);
	close(lfd);
	buf_free(&b);
	free(d.err);
	free(out);
	free(err);
	free(conf);
	free(text);
	free(hook);
}
END_TEST

START_TEST(test_metrics_scrape_promtool)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *up, *down, *checks, url[96], ct[128];
	int		 lport, port = testutil_closed_port(), lfd;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	up = tcp_check("up", lport);
	down = tcp_check("down", testutil_closed_port());
	checks = xasprintf("%s,\n%s,\n{ name = \"slo\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = %d; slo = { objective = 99.0; }; }",
	    up, down, lport);
	conf = server_conf(dir, port, checks);
	daemon_start(&d, conf);
	scrape_until(port, "probe_success{check=\"down\"} 0\n", &b);
	/* The SLO check's budget, from the SLO table. */
	scrape_until(port, "sonde_slo_availability{check=\"slo\"} 1\n", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "sonde_slo_burn_rate{check="
	    "\"slo\",window=\"5m\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "sonde_slo_error_budget_remaining{check=\"slo\"} 1\n"));
	scrape_until(port, "probe_success{check=\"up\"} 1\n", &b);
	/* The default rule: 3 failures in a row fire, from the alert table. */
	scrape_until(port, "sonde_alert_state{rule=\"down\",check=\"down\","
	    "state=\"firing\"} 1\n", &b);
	ck_assert_ptr_nonnull(strstr(b.data, "sonde_alert_state{rule=\"down\","
	    "check=\"up\",state=\"ok\"} 1\n"));
	/* The outbox is there (state_dir is writable), with its counters. */
	ck_assert_ptr_nonnull(strstr(b.data, "# TYPE sonde_outbox_pending "
	    "gauge\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nsonde_outbox_delivered_total "
	    "0\n"));
	promtool_check(b.data);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	ck_assert_int_eq(http("GET", url, &b, ct, sizeof(ct)), 200);
	ck_assert_str_eq(ct, EXPO_PROM_TYPE);
	ck_assert_int_eq(http("HEAD", url, &b, NULL, 0), 200);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(http("POST", url, &b, NULL, 0), 405);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	ck_assert_int_eq(http("GET", url, &b, NULL, 0), 200);
	ck_assert_str_eq(b.data, "ok\n");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", port);
	ck_assert_int_eq(http("GET", url, &b, NULL, 0), 404);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/status.json", port);
	ck_assert_int_eq(http("GET", url, &b, ct, sizeof(ct)), 200);
	ck_assert_str_eq(ct, "application/json");
	ck_assert_ptr_nonnull(strstr(b.data, "\"reason\":\"connect_refused\""));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	ck_assert_int_eq(http("GET", url, &b, ct, sizeof(ct)), 200);
	ck_assert_str_eq(ct, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(b.data, "data-check=\"down\""));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "<tr class=\"budget\" data-check=\"slo\">"));
	ck_assert_ptr_nonnull(strstr(b.data, "<meter "));
	/* Alerts that fire are listed; quiet ones are not. */
	ck_assert_ptr_nonnull(strstr(b.data, "<td>down</td><td>down</td>"));
	ck_assert_ptr_null(strstr(b.data, "<td>down</td><td>up</td>"));
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	close(lfd);
	buf_free(&b);
	free(d.err);
	free(conf);
	free(checks);
	free(up);
	free(down);
}
END_TEST

/*
 * blackbox_exporter's /probe: a module aimed at a target, answered when
 * the probe ends, without a check label; several at once; bad requests
 * answered 400 with the reason.
 */
START_TEST(test_metrics_probe_endpoint)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, url[160];
	int		 port = testutil_closed_port(), lport, lfd, i;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	conf = server_conf(dir, port, "");
	daemon_start(&d, conf);
	for (i = 0; i < 3; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module="
		    "tcp_connect&target=127.0.0.1:%d", port, lport);
		ck_assert_int_eq(http("GET", url, &b, NULL, 0), 200);
		ck_assert_msg(strstr(b.data, "\nprobe_success 1\n") != NULL,
		    "%s", b.data);
		ck_assert_ptr_nonnull(strstr(b.data, "\nprobe_ip_protocol 4\n"));
		ck_assert_ptr_null(strstr(b.data, "check="));
		promtool_check(b.data);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module="
		    "tcp_connect&target=127.0.0.1:%d", port,
		    testutil_closed_port());
		ck_assert_int_eq(http("GET", url, &b, NULL, 0), 200);
		ck_assert_msg(strstr(b.data, "\nprobe_success 0\n") != NULL,
		    "%s", b.data);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module=nope&"
	    "target=x:1", port);
	ck_assert_int_eq(http("GET", url, &b, NULL, 0), 400);
	ck_assert_ptr_nonnull(strstr(b.data, "no module named \"nope\""));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module="
	    "tcp_connect", port);
	ck_assert_int_eq(http("GET", url, &b, NULL, 0), 400);
	ck_assert_ptr_nonnull(strstr(b.data, "target="));
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	close(lfd);
	buf_free(&b);
	free(d.err);
	free(conf);
}
END_TEST

/*
 * A child serving n HTTP/1.1 requests on lfd, one per connection: 200,
 * "hello" with its Content-Length.  Returns its pid; stop it by that pid.
 */
static pid_t
http_responder(int lfd, int n)
{
	static const char	 reply[] = "HTTP/1.1 200 OK\r\nContent-Length: "
	    "5\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello";
	char			 req[4096];
	size_t			 len;
	ssize_t			 r;
	pid_t			 pid;
	int			 fd;

	if ((pid = fork()) != 0) {
		ck_assert_int_gt(pid, 0);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (n-- > 0 && (fd = accept(lfd, NULL, NULL)) >= 0) {
		len = 0;
		while (len < sizeof(req) - 1 && (r = read(fd, req + len,
		    sizeof(req) - 1 - len)) > 0) {
			len += (size_t)r;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		if (write(fd, reply, sizeof(reply) - 1) < 0)
			_exit(1);
		close(fd);
	}
	_exit(0);
}

/*
 * A child answering n DNS queries on the UDP socket ufd (RFC 1035 4.1):
 * the question echoed, AA, one SOA record (serial 2024010101) in the
 * answer and nothing else.
 */
static pid_t
dns_responder(int ufd, int n)
{
	static const unsigned char soa[] = {
		0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01,	/* name, SOA, IN */
		0x00, 0x00, 0x0e, 0x10, 0x00, 0x16,	/* TTL 3600, 22 */
		0x00, 0x00,				/* mname ., rname . */
		0x78, 0xa3, 0xf1, 0x75,			/* serial */
		0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10,
		0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x0e, 0x10,
	};
	unsigned char		 m[512];
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	ssize_t			 r;
	pid_t			 pid;

	if ((pid = fork()) != 0) {
		ck_assert_int_gt(pid, 0);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (n-- > 0) {
		fl = sizeof(from);
		r = recvfrom(ufd, m, sizeof(m) - sizeof(soa), 0,
		    (struct sockaddr *)&from, &fl);
		if (r < 12)
			_exit(1);
		/* Only the question is kept (no EDNS OPT echoed). */
		m[2] = 0x85;	/* QR, AA, RD */
		m[3] = 0x80;	/* RA, NOERROR */
		m[6] = 0; m[7] = 1;
		m[8] = m[9] = m[10] = m[11] = 0;
		r = 12;
		while (m[r] != 0)
			r += m[r] + 1;
		r += 5;
		memcpy(m + r, soa, sizeof(soa));
		r += (ssize_t)sizeof(soa);
		if (sendto(ufd, m, (size_t)r, 0, (struct sockaddr *)&from,
		    fl) < 0)
			_exit(1);
	}
	_exit(0);
}

/* A UDP socket on 127.0.0.1, a free port; returns it, port in *port. */
static int
udp_bound(int *port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		sl = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* GETs /probe?module=&target= and checks it, answer in b. */
static void
probe_get(int port, const char *module, const char *target, struct buf *b)
{
	char	url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module=%s&"
	    "target=%s", port, module, target);
	ck_assert_int_eq(http("GET", url, b, NULL, 0), 200);
	ck_assert_ptr_null(strstr(b->data, "check="));
	promtool_check(b->data);
}

/*
 * /probe with an http module against a local responder (the target as
 * host:port and as a URL) and a dns module against a local responder,
 * then a silent server: blackbox_exporter's families, no check label.
 */
START_TEST(test_metrics_probe_kinds)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *text, target[96];
	int		 port = testutil_closed_port(), hport, hfd, uport, ufd;
	pid_t		 hpid, upid;
	int		 status;
	static const char *const http_want[] = {
		"\nprobe_success 1\n", "\nprobe_http_status_code 200\n",
		"\nprobe_http_content_length 5\n",
		"\nprobe_http_uncompressed_body_length 5\n",
		"\nprobe_http_version 1.1\n", "\nprobe_http_ssl 0\n",
		"\nprobe_http_redirects 0\n", "\nprobe_ip_protocol 4\n",
		"\nprobe_ip_addr_hash 3668918509\n",
		"\nprobe_http_duration_seconds{phase=\"tls\"} 0\n",
		"\nprobe_http_duration_seconds{phase=\"resolve\"} 0\n",
	};
	static const char *const dns_want[] = {
		"\nprobe_success 1\n", "\nprobe_dns_answer_rrs 1\n",
		"\nprobe_dns_authority_rrs 0\n",
		"\nprobe_dns_additional_rrs 0\n",
		"\nprobe_dns_query_succeeded 1\n",
		"\nprobe_dns_serial 2024010101\n",
		"\nprobe_dns_duration_seconds{phase=\"request\"} ",
	};
	size_t		 i;

	hfd = testutil_listen_tcp(AF_INET, 16, &hport);
	ufd = udp_bound(&uport);
	hpid = http_responder(hfd, 2);
	upid = dns_responder(ufd, 1);
	text = xasprintf("agent: { name = \"t\"; listen = \"127.0.0.1:%d\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "modules = {\n"
	    "  http_2xx = { type = \"http\"; timeout = \"2s\"; };\n"
	    "  dns_soa = { type = \"dns\"; query = \"example.com\"; "
	    "record = \"SOA\"; tries = 1; timeout = \"1s\"; };\n"
	    "};\n", port, dir);
	conf = testutil_write_file(dir, "sonde.conf", text);
	daemon_start(&d, conf);

	snprintf(target, sizeof(target), "127.0.0.1:%d", hport);
	probe_get(port, "http_2xx", target, &b);
	for (i = 0; i < sizeof(http_want) / sizeof(http_want[0]); i++)
		ck_assert_msg(strstr(b.data, http_want[i]) != NULL,
		    "missing %s in:\n%s", http_want[i], b.data);
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/x", hport);
	probe_get(port, "http_2xx", target, &b);
	ck_assert_msg(strstr(b.data, "\nprobe_http_status_code 200\n") !=
	    NULL, "%s", b.data);

	snprintf(target, sizeof(target), "127.0.0.1:%d", uport);
	probe_get(port, "dns_soa", target, &b);
	for (i = 0; i < sizeof(dns_want) / sizeof(dns_want[0]); i++)
		ck_assert_msg(strstr(b.data, dns_want[i]) != NULL,
		    "missing %s in:\n%s", dns_want[i], b.data);
	/* The responder is gone: the query did not succeed. */
	ck_assert(waitpid(upid, &status, 0) == upid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	probe_get(port, "dns_soa", target, &b);
	ck_assert_msg(strstr(b.data, "\nprobe_success 0\n") != NULL &&
	    strstr(b.data, "\nprobe_dns_query_succeeded 0\n") != NULL &&
	    strstr(b.data, "\nprobe_dns_answer_rrs 0\n") != NULL &&
	    strstr(b.data, "\nprobe_dns_serial ") == NULL, "%s", b.data);

	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	ck_assert(waitpid(hpid, &status, 0) == hpid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(hfd);
	close(ufd);
	buf_free(&b);
	free(d.err);
	free(conf);
	free(text);
}
END_TEST

/*
 * SIGTERM while a /probe request waits on a probe that cannot end soon:
 * the run is cancelled, the connection closed, exit 0 within 2 s.
 */
START_TEST(test_metrics_probe_sigterm)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, url[160];
	int		 port = testutil_closed_port(), lport, lfd;
	int64_t		 ms;
	pid_t		 client;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	conf = testutil_write_file(dir, "sonde.conf", "");
	free(conf);
	conf = xasprintf("agent: { listen = \"127.0.0.1:%d\"; "
	    "state_dir = \"%s/state\"; };\n"
	    "modules = { hang = { type = \"tcp\"; timeout = \"20s\"; "
	    "expect = { reply = \"never\"; }; }; };\n", port, dir);
	free(testutil_write_file(dir, "sonde.conf", conf));
	free(conf);
	conf = xasprintf("%s/sonde.conf", dir);
	daemon_start(&d, conf);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?module=hang&"
	    "target=127.0.0.1:%d", port, lport);
	if ((client = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		http_try(url, &b);
		/* What it inherited, for memcheck's count at _exit. */
		buf_free(&b);
		free(conf);
		close(lfd);
		_exit(0);
	}
	usleep(300000);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, &ms), 0);
	ck_assert_msg(ms < 2000, "SIGTERM took %lld ms", (long long)ms);
	kill(client, SIGKILL);
	waitpid(client, NULL, 0);
	close(lfd);
	buf_free(&b);
	free(d.err);
	free(conf);
}
END_TEST

/* Returns the value of sample line "name value" in text, or -1. */
static double
sample(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

/*
 * Valid reload with a rename and a removal, then an invalid one: the
 * metrics follow the running config, the kept check's counters go on,
 * the failed reload shows in sonde_config_last_reload_successful.
 */
START_TEST(test_metrics_reload)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *keep, *a, *renamed, *checks, *want;
	int		 port = testutil_closed_port(), closed;
	double		 before;

	closed = testutil_closed_port();
	keep = tcp_check("keep", closed);
	a = tcp_check("old", closed);
	renamed = tcp_check("renamed", closed);
	checks = xasprintf("%s,\n%s", keep, a);
	conf = server_conf(dir, port, checks);
	daemon_start(&d, conf);
	scrape_until(port, "probe_success{check=\"old\"} 0\n", &b);
	scrape_until(port, "sonde_probes_total{check=\"keep\",result="
	    "\"failure\"} 3\n", &b);
	before = sample(b.data, "sonde_probes_total{check=\"keep\","
	    "result=\"failure\"}");

	free(checks);
	checks = xasprintf("%s,\n%s", renamed, keep);
	free(server_conf(dir, port, checks));
	ck_assert(kill(d.pid, SIGHUP) == 0);
	scrape_until(port, "probe_success{check=\"renamed\"} 0\n", &b);
	ck_assert_ptr_null(strstr(b.data, "check=\"old\""));
	ck_assert_msg(sample(b.data, "sonde_probes_total{check=\"keep\","
	    "result=\"failure\"}") >= before, "history of 'keep' lost:\n%s",
	    b.data);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "sonde_config_last_reload_successful 1\n"));

	free(server_conf(dir, port, "{ name = \"x\"; type = \"tcp\"; }"));
	ck_assert(kill(d.pid, SIGHUP) == 0);
	want = xasprintf("%s:5: ", conf);
	daemon_wait(&d, want);
	scrape_until(port, "sonde_config_last_reload_successful 0\n", &b);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "sonde_config_reloads_failed_total 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "check=\"renamed\""));
	promtool_check(b.data);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	buf_free(&b);
	free(want);
	free(d.err);
	free(conf);
	free(checks);
	free(keep);
	free(a);
	free(renamed);
}
END_TEST

/*
 * SIGTERM with probes in flight (a listener that never answers the
 * expected reply): sonde cancels them and exits 0 well within 2 s.
 */
START_TEST(test_metrics_sigterm_fast)
{
	const char	*dir = testutil_tmpdir();
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *checks;
	int		 port = testutil_closed_port(), lport, lfd;
	int64_t		 ms;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	checks = xasprintf("{ name = \"slow\"; type = \"tcp\"; host = "
	    "\"127.0.0.1\"; port = %d; expect = { reply = \"never\"; }; "
	    "interval = \"10s\";"
	    " timeout = \"9s\"; }", lport);
	conf = server_conf(dir, port, checks);
	daemon_start(&d, conf);
	scrape_until(port, "sonde_probes_in_flight 1\n", &b);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, &ms), 0);
	ck_assert_msg(ms < 2000, "SIGTERM took %lld ms", (long long)ms);
	ck_assert_ptr_nonnull(strstr(d.err, "event=stopped "));
	close(lfd);
	buf_free(&b);
	free(d.err);
	free(conf);
	free(checks);
}
END_TEST

/* A real Prometheus scrapes sonde; its API answers probe_success. */
START_TEST(test_metrics_prometheus_scrapes)
{
	const char	*dir = testutil_tmpdir();
	const char	*prom = need_tool("prometheus", "prometheus");
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *up, *pconf, *ptext, *data, *listen, url[256];
	char		*argv[6];
	int		 port = testutil_closed_port(), pport, lport, lfd;
	int64_t		 end;
	pid_t		 ppid;
	int		 status;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	up = tcp_check("up", lport);
	conf = server_conf(dir, port, up);
	daemon_start(&d, conf);
	scrape_until(port, "probe_success{check=\"up\"} 1\n", &b);

	pport = testutil_closed_port();
	ptext = xasprintf("global:\n  scrape_interval: 1s\n"
	    "scrape_configs:\n  - job_name: sonde\n    static_configs:\n"
	    "      - targets: ['127.0.0.1:%d']\n", port);
	pconf = testutil_write_file(dir, "prometheus.yml", ptext);
	data = xasprintf("--storage.tsdb.path=%s/data", dir);
	listen = xasprintf("--web.listen-address=127.0.0.1:%d", pport);
	argv[0] = (char *)prom;
	argv[1] = xasprintf("--config.file=%s", pconf);
	argv[2] = data;
	argv[3] = listen;
	argv[4] = NULL;
	ppid = spawn(argv, -1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query="
	    "probe_success%%7Bcheck%%3D%%22up%%22%%7D", pport);
	for (end = now_ms() + 20000; now_ms() < end; usleep(250000)) {
		if (waitpid(ppid, &status, WNOHANG) == ppid)
			ck_abort_msg("prometheus exited early");
		if (http_try(url, &b) && strstr(b.data, "\"1\"]") != NULL &&
		    strstr(b.data, "\"job\":\"sonde\"") != NULL)
			break;
	}
	kill(ppid, SIGTERM);
	waitpid(ppid, &status, 0);
	ck_assert_msg(strstr(b.data, "\"check\":\"up\"") != NULL &&
	    strstr(b.data, "\"1\"]") != NULL,
	    "Prometheus did not see probe_success{check=\"up\"} 1: %s",
	    b.data != NULL ? b.data : "(no answer)");
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	close(lfd);
	buf_free(&b);
	free(argv[1]);
	free(d.err);
	free(conf);
	free(up);
	free(pconf);
	free(ptext);
	free(data);
	free(listen);
}
END_TEST

/*
 * Headless Chromium loads the status page from a running sonde: the DOM
 * it built lists both checks with their states and sparklines, and a
 * screenshot is kept (SONDE_SCREENSHOT_DIR, default the test's tmpdir).
 */
START_TEST(test_metrics_statuspage_chromium)
{
	const char	*dir = testutil_tmpdir();
	const char	*chromium = need_tool("chromium", "chromium");
	const char	*shots = getenv("SONDE_SCREENSHOT_DIR");
	struct daemon	 d;
	struct buf	 b = { NULL, 0, 0 };
	char		*conf, *up, *down, *checks, *out = NULL, *err = NULL;
	char		*profile, *shot, *url, *size;
	char		*argv[16];
	struct stat	 st;
	int		 port = testutil_closed_port(), lport, lfd, n, rc;

	lfd = testutil_listen_tcp(AF_INET, 64, &lport);
	up = tcp_check("up", lport);
	down = tcp_check("down", testutil_closed_port());
	checks = xasprintf("%s,\n%s", up, down);
	conf = server_conf(dir, port, checks);
	daemon_start(&d, conf);
	scrape_until(port, "sonde_probes_total{check=\"down\",result="
	    "\"failure\"} 4\n", &b);
	scrape_until(port, "sonde_probes_total{check=\"up\",result="
	    "\"success\"} 4\n", &b);

	profile = xasprintf("--user-data-dir=%s/chromium", dir);
	url = xasprintf("http://127.0.0.1:%d/", port);
	shot = xasprintf("--screenshot=%s/statuspage.png",
	    shots != NULL ? shots : dir);
	size = xstrdup("--window-size=412,915");	/* a phone */
	n = 0;
	argv[n++] = (char *)chromium;
	argv[n++] = (char *)"--headless";
	argv[n++] = (char *)"--no-sandbox";
	argv[n++] = (char *)"--disable-gpu";
	argv[n++] = (char *)"--disable-quic";
	argv[n++] = (char *)"--no-first-run";
	argv[n++] = (char *)"--disable-background-networking";
	argv[n++] = (char *)"--disable-component-update";
	argv[n++] = (char *)"--disable-sync";
	argv[n++] = (char *)"--disable-dev-shm-usage";
	argv[n++] = profile;
	argv[n++] = (char *)"--dump-dom";
	argv[n++] = url;
	argv[n] = NULL;
	rc = testutil_run_cmd(argv, &out, &err, 40000);
	ck_assert_msg(rc == 0, "chromium --dump-dom: %d\n%s", rc, err);
	ck_assert_msg(strstr(out, "data-state=\"ok\" data-check=\"up\"") !=
	    NULL && strstr(out, "data-state=\"failing\" data-check=\"down\"")
	    != NULL, "DOM:\n%s", out);
	ck_assert_ptr_nonnull(strstr(out, "<circle class=\"fail\""));
	ck_assert_ptr_nonnull(strstr(out, "connect_refused"));
	ck_assert_ptr_nonnull(strstr(out, "<title>(1 failing) sonde t"));
	free(out);
	free(err);
	argv[n - 2] = shot;
	argv[n - 1] = size;
	argv[n++] = url;
	argv[n] = NULL;
	rc = testutil_run_cmd(argv, &out, &err, 40000);
	ck_assert_msg(rc == 0, "chromium --screenshot: %d\n%s", rc, err);
	ck_assert(stat(strchr(shot, '=') + 1, &st) == 0 && st.st_size > 1000);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	close(lfd);
	buf_free(&b);
	free(out);
	free(err);
	free(profile);
	free(url);
	free(shot);
	free(size);
	free(d.err);
	free(conf);
	free(checks);
	free(up);
	free(down);
}
END_TEST

/* ---- systemd ------------------------------------------------------------ */

/* Reads notification datagrams from fd for up to ms into b (appended). */
static void
notify_read(int fd, struct buf *b, const char *until, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		msg[512];
	ssize_t		n;
	int64_t		end = now_ms() + ms;

	while (strstr(b->data != NULL ? b->data : "", until) == NULL &&
	    now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			continue;
		if ((n = recv(fd, msg, sizeof(msg) - 1, 0)) <= 0)
			continue;
		msg[n] = '\0';
		buf_printf(b, "%s|", msg);
	}
}

/*
 * sd_notify as systemd sees it: READY=1 once running, WATCHDOG=1 pings at
 * half WATCHDOG_USEC, RELOADING=1 (with MONOTONIC_USEC) then READY=1 on
 * SIGHUP, STOPPING=1 on SIGTERM.
 */
START_TEST(test_metrics_sd_notify)
{
	const char		*dir = testutil_tmpdir();
	struct sockaddr_un	 sun;
	struct daemon		 d;
	struct buf		 b = { NULL, 0, 0 };
	char			*conf, *checks, *sock;
	int			 fd, port = testutil_closed_port();

	sock = xasprintf("%s/notify", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	ck_assert(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	checks = tcp_check("a", testutil_closed_port());
	conf = server_conf(dir, port, checks);
	daemon_start(&d, conf);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	notify_read(fd, &b, "READY=1|", 3000);
	ck_assert_msg(strncmp(b.data, "READY=1|", 8) == 0, "%s", b.data);
	buf_reset(&b);
	notify_read(fd, &b, "WATCHDOG=1|WATCHDOG=1|", 1000);
	ck_assert_msg(strstr(b.data, "WATCHDOG=1|WATCHDOG=1|") != NULL,
	    "two watchdog pings within 1 s: %s", b.data);
	buf_reset(&b);
	ck_assert(kill(d.pid, SIGHUP) == 0);
	notify_read(fd, &b, "READY=1|", 3000);
	ck_assert_msg(strstr(b.data, "RELOADING=1\nMONOTONIC_USEC=") != NULL &&
	    strstr(b.data, "READY=1|") > strstr(b.data, "RELOADING=1"),
	    "%s", b.data);
	buf_reset(&b);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM, NULL), 0);
	notify_read(fd, &b, "STOPPING=1|", 1000);
	ck_assert_msg(strstr(b.data, "STOPPING=1|") != NULL, "%s", b.data);
	close(fd);
	buf_free(&b);
	free(d.err);
	free(conf);
	free(checks);
	free(sock);
}
END_TEST

START_TEST(test_metrics_unit_verifies)
{
	const char	*sa = need_tool("systemd-analyze", "systemd");
	const char	*src = getenv("SONDE_SRCDIR");
	const char	*bin = getenv("SONDE_BIN");
	const char	*dir = testutil_tmpdir();
	char		*unit, *text, *path, *out = NULL, *err = NULL, *p;
	char		*argv[] = { (char *)sa, (char *)"verify",
	    (char *)"--man=no", NULL, NULL };
	FILE		*f;
	long		 len;
	int		 rc;

	/* The unit as installed, with its ExecStart pointing at our build. */
	unit = xasprintf("%s/contrib/sonde.service.in", src != NULL ? src :
	    "..");
	ck_assert_msg((f = fopen(unit, "r")) != NULL, "%s: %s", unit,
	    strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = xmalloc((size_t)len + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	while ((p = strstr(text, "@SBINDIR@/sonde")) != NULL ||
	    (p = strstr(text, "@BINDIR@/sonde")) != NULL) {
		char *t = xasprintf("%.*s%s%s", (int)(p - text), text,
		    bin != NULL ? bin : "/usr/bin/sonde", strstr(p, "/sonde") + 6);
		free(text);
		text = t;
	}
	while ((p = strstr(text, "@SYSCONFDIR@")) != NULL) {
		char *t = xasprintf("%.*s/etc%s", (int)(p - text), text, p + 12);
		free(text);
		text = t;
	}
	/* --man=no: the man pages it names are not installed yet. */
	path = testutil_write_file(dir, "sonde.service", text);
	argv[3] = path;
	rc = testutil_run_cmd(argv, &out, &err, 30000);
	ck_assert_msg(rc == 0 && strstr(err, "sonde.service") == NULL,
	    "systemd-analyze verify: %d\n%s%s\n--- unit:\n%s", rc, out, err,
	    text);
	free(out);
	free(err);
	free(path);
	free(text);
	free(unit);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("render");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_metrics_buf);
	tcase_add_test(tc, test_metrics_history_ring_and_sync);
	tcase_add_test(tc, test_metrics_history_packs_last_result);
	tcase_add_test(tc, test_metrics_exposition);
	tcase_add_test(tc, test_metrics_status_json);
	tcase_add_test(tc, test_metrics_statuspage);
	tcase_add_test(tc, test_metrics_listen_exposed_warns);
	tcase_add_loop_test(tc, test_metrics_listen_parse, 0,
	    (int)(sizeof(listens) / sizeof(listens[0])));
	tcase_add_loop_test(tc, test_metrics_module_instantiate, 0,
	    (int)(sizeof(instances) / sizeof(instances[0])));
	tcase_add_test(tc, test_metrics_module_errors);
	tcase_add_test(tc, test_metrics_fingerprint_defaults);
	tcase_add_test(tc, test_metrics_kind_families);
	tcase_add_loop_test(tc, test_metrics_address_hash, 0,
	    (int)(sizeof(hashes) / sizeof(hashes[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_metrics_scrape_promtool);
	tcase_add_test(tc, test_metrics_outbox_pending);
	tcase_add_test(tc, test_metrics_secrets_never_shown);
	tcase_add_test(tc, test_metrics_probe_endpoint);
	tcase_add_test(tc, test_metrics_probe_kinds);
	tcase_add_test(tc, test_metrics_probe_sigterm);
	tcase_add_test(tc, test_metrics_reload);
	tcase_add_test(tc, test_metrics_sigterm_fast);
	tcase_add_test(tc, test_metrics_prometheus_scrapes);
	tcase_add_test(tc, test_metrics_statuspage_chromium);
	suite_add_tcase(s, tc);

	tc = tcase_create("systemd");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_metrics_unit_verifies);
	tcase_add_test(tc, test_metrics_sd_notify);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	sr = srunner_create(metrics_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
