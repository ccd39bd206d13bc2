/* SPDX-License-Identifier: ISC */
/*
 * Tests for the Alertmanager channel against a real prometheus-
 * alertmanager (Debian package) started by the test on 127.0.0.1 with a
 * private config, storage directory and free port, clustering off.  The
 * test sends through the outbox and reads the alerts back through the
 * Alertmanager's own API (GET /api/v2/alerts): labels, annotations,
 * re-posting while firing, and the resolve.
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "curlmux.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
#include "testutil.h"
#include "xmalloc.h"

#define ALERTMANAGER	"/usr/bin/prometheus-alertmanager"

struct am {
	pid_t	pid;
	int	port;
	char	dir[512];
};

struct buf {
	char	*p;
	size_t	 len;
};

static size_t
buf_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	b->p = xreallocarray(b->p, b->len + size * n + 1, 1);
	memcpy(b->p + b->len, p, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

/* A blocking GET (test code, not the daemon); new string or NULL. */
static char *
am_get(const struct am *a, const char *path, long *status)
{
	struct buf	 b = { NULL, 0 };
	char		 url[256];
	CURL		*e = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", a->port, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
	*status = 0;
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(e);
	return b.p;
}

static void
am_start(struct am *a)
{
	char	*cfg, *flag[4];
	long	 st;
	int	 i;

	ck_assert_msg(access(ALERTMANAGER, X_OK) == 0, "%s not found: this "
	    "test needs a real Alertmanager (apt-get install "
	    "prometheus-alertmanager)", ALERTMANAGER);
	snprintf(a->dir, sizeof(a->dir), "%s", testutil_tmpdir());
	a->port = testutil_closed_port();
	cfg = testutil_write_file(a->dir, "am.yml", "route:\n  receiver: "
	    "\"null\"\nreceivers:\n  - name: \"null\"\n");
	flag[0] = xasprintf("--config.file=%s", cfg);
	flag[1] = xasprintf("--storage.path=%s/data", a->dir);
	flag[2] = xasprintf("--web.listen-address=127.0.0.1:%d", a->port);
	flag[3] = xasprintf("--cluster.listen-address=");
	if ((a->pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		execl(ALERTMANAGER, "alertmanager", flag[0], flag[1], flag[2],
		    flag[3], (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 4; i++)
		free(flag[i]);
	free(cfg);
	for (i = 0; i < 500; i++) {
		free(am_get(a, "/-/ready", &st));
		if (st == 200)
			break;
		usleep(10000);
	}
	ck_assert_msg(i < 500, "alertmanager did not become ready");
}

static void
am_stop(struct am *a)
{
	kill(a->pid, SIGTERM);
	waitpid(a->pid, NULL, 0);
}

static struct notify_item
item(enum notify_kind kind)
{
	struct notify_item	it;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	snprintf(it.agent, sizeof(it.agent), "edge-fra-1");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "api");
	snprintf(it.target, sizeof(it.target), "https://api.example.com/");
	snprintf(it.severity, sizeof(it.severity), "critical");
	snprintf(it.state, sizeof(it.state), kind == NOTIFY_RESOLVED ? "ok" :
	    "firing");
	snprintf(it.reason, sizeof(it.reason), "http_status");
	snprintf(it.message, sizeof(it.message), "got 503, expected 200");
	it.at = loop_wallclock();
	it.since = it.at - 60000000;
	it.bad = 3;
	it.of = 5;
	if (kind == NOTIFY_FIRING) {
		snprintf(it.phase, sizeof(it.phase), "connect");
		it.phase_us = 3000000;
	}
	/* a label named like one of sonde's must not replace it */
	it.nlabels = 3;
	snprintf(it.labels[0].key, sizeof(it.labels[0].key), "env");
	snprintf(it.labels[0].value, sizeof(it.labels[0].value), "prod");
	snprintf(it.labels[1].key, sizeof(it.labels[1].key), "severity");
	snprintf(it.labels[1].value, sizeof(it.labels[1].value), "lowly");
	snprintf(it.labels[2].key, sizeof(it.labels[2].key), "alertname");
	snprintf(it.labels[2].value, sizeof(it.labels[2].value), "hijack");
	return it;
}

static void
run_for(struct loop *loop, int ms)
{
	int	i;

	for (i = 0; i < ms / 10; i++)
		loop_run_once(loop, 10000);
}

START_TEST(test_alertmanager_fire_repost_resolve)
{
	struct config_errors	 errs;
	struct am		 a;
	struct loop		*loop;
	struct config		*cfg;
	struct outbox		*ob;
	struct outbox_stats	 st;
	struct notify_item	 it;
	char			 conf[512], *path, *got, err[256];
	long			 status;

	am_start(&a);
	memset(&errs, 0, sizeof(errs));
	snprintf(conf, sizeof(conf), "channels = { am = { type = "
	    "\"alertmanager\"; urls = [\"http://127.0.0.1:%d/\"]; "
	    "repost_interval = \"1s\"; }; };\n", a.port);
	path = testutil_write_file(a.dir, "sonde.conf", conf);
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "?");
	loop = loop_new();
	ob = outbox_new(loop, a.dir, NULL, err, sizeof(err));
	outbox_set_config(ob, cfg);
	it = item(NOTIFY_FIRING);
	ck_assert(outbox_put(ob, "am", &it, 1, err, sizeof(err)) == 0);
	run_for(loop, 2600);		/* the post and two re-posts */
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.written, 1);
	ck_assert_uint_ge(st.delivered, 3);
	got = am_get(&a, "/api/v2/alerts", &status);
	ck_assert_int_eq(status, 200);
	ck_assert_msg(strstr(got, "\"alertname\":\"down\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "\"check\":\"api\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "\"agent\":\"edge-fra-1\"") != NULL, "%s",
	    got);
	ck_assert_msg(strstr(got, "\"severity\":\"critical\"") != NULL, "%s",
	    got);
	ck_assert_msg(strstr(got, "\"state\":\"active\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "got 503, expected 200") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "\"env\":\"prod\"") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "lowly") == NULL && strstr(got, "hijack") ==
	    NULL, "a check label replaced sonde's: %s", got);
	ck_assert_msg(strstr(got, "\"failing_phase\":\"connect, 3.00s\"") !=
	    NULL, "%s", got);
	free(got);
	/* a restart goes on re-posting what fires (outbox/firing.json) */
	outbox_free(ob);
	ob = outbox_new(loop, a.dir, NULL, err, sizeof(err));
	outbox_set_config(ob, cfg);
	run_for(loop, 500);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.written, 0);
	ck_assert_uint_ge(st.delivered, 1);
	it = item(NOTIFY_RESOLVED);
	ck_assert(outbox_put(ob, "am", &it, 1, err, sizeof(err)) == 0);
	run_for(loop, 300);
	ck_assert_uint_eq(outbox_pending(ob, NULL), 0);
	got = am_get(&a, "/api/v2/alerts", &status);
	ck_assert_msg(strstr(got, "\"check\":\"api\"") == NULL, "still "
	    "active after the resolve: %s", got);
	free(got);
	outbox_get_stats(ob, &st);
	run_for(loop, 1500);		/* no re-post after the resolve */
	{
		struct outbox_stats	st2;

		outbox_get_stats(ob, &st2);
		ck_assert_uint_eq(st2.delivered, st.delivered);
	}
	/* and a restart after the resolve re-posts nothing */
	outbox_free(ob);
	ob = outbox_new(loop, a.dir, NULL, err, sizeof(err));
	outbox_set_config(ob, cfg);
	run_for(loop, 500);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.delivered, 0);
	free(path);
	outbox_free(ob);
	curlmux_shared_free();
	config_unref(cfg);
	loop_free(loop);
	am_stop(&a);
}
END_TEST

static Suite *
alertmanager_suite(void)
{
	Suite	*s = suite_create("alertmanager");
	TCase	*tc;

	tc = tcase_create("api");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_alertmanager_fire_repost_resolve);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(alertmanager_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
