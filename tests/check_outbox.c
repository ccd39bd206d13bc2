/* SPDX-License-Identifier: ISC */
/*
 * Tests for the outbox, with a fake channel whose answers the test
 * scripts (delivered / retry / rejected, answered from the loop as a
 * real channel would): the record format, order and exactly-once
 * delivery across an outage, retry timing with Retry-After, the cap and
 * its drop order, and kill -9 of a process between spool and send and
 * during a send, after which a new outbox on the same directory delivers
 * everything.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "diskq.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"
#include "testutil.h"
#include "xmalloc.h"

/* ---- the fake channel ---------------------------------------------------- */

#define SENT_MAX	64

static struct fake {
	struct loop		*loop;
	enum channel_outcome	 script[SENT_MAX];	/* per attempt */
	int			 nscript;	/* then: delivered */
	int64_t			 retry_after;
	int			 attempts;
	bool			 kill_in_send;	/* SIGKILL inside send */
	/* what was delivered, in order */
	char			 got[SENT_MAX][2 * NOTIFY_NAME_MAX + 16];
	int			 ngot;
	char			 notes[SENT_MAX][128];
	int64_t			 sent_at[SENT_MAX];
	bool			 pending;
	bool			 cancelled;
	channel_done_cb		 cb;
	void			*arg;
	enum channel_outcome	 outcome;
	char			 what[2 * NOTIFY_NAME_MAX + 16];
} fk;

static void
fake_answer(struct loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	if (!fk.pending || fk.cancelled)
		return;
	fk.pending = false;
	if (fk.outcome == CHANNEL_DELIVERED && fk.ngot < SENT_MAX)
		snprintf(fk.got[fk.ngot++], sizeof(fk.got[0]), "%s", fk.what);
	fk.cb(fk.arg, fk.outcome, fk.outcome == CHANNEL_RETRY ?
	    fk.retry_after : 0, fk.outcome == CHANNEL_REJECTED ?
	    "HTTP 400: invalid_payload" : "HTTP 503: down");
}

static void *
fake_send(struct loop *loop, const struct channel_conf *c,
    const struct channel_msg *msg, channel_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	if (fk.kill_in_send)
		kill(getpid(), SIGKILL);
	ck_assert(!fk.pending);		/* one in flight per channel */
	snprintf(fk.what, sizeof(fk.what), "%s %s/%s",
	    notify_kind_str(msg->items[0].kind), msg->items[0].rule,
	    msg->items[0].check);
	if (fk.attempts < SENT_MAX) {
		snprintf(fk.notes[fk.attempts], sizeof(fk.notes[0]), "%s",
		    msg->note);
		fk.sent_at[fk.attempts] = loop_now(loop);
	}
	fk.outcome = fk.attempts < fk.nscript ? fk.script[fk.attempts] :
	    CHANNEL_DELIVERED;
	fk.attempts++;
	fk.cb = cb;
	fk.arg = arg;
	fk.pending = true;
	fk.cancelled = false;
	loop_defer(loop, fake_answer, NULL);
	return &fk;
}

static void
fake_cancel(void *h)
{
	(void)h;
	fk.cancelled = true;
	fk.pending = false;
}

static const char *const fake_keys[] = { NULL };
static const struct channel_ops fake_ops = {
	"fake", fake_keys, NULL, NULL, fake_send, fake_cancel, 0
};

/* A config with one channel "fake"; freed by config_unref(). */
static struct config *
fake_config(void)
{
	struct config	*cfg;

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->refs = 1;
	cfg->path = xstrdup("test");
	cfg->channels = xcalloc(1, sizeof(*cfg->channels));
	cfg->channels[0].name = xstrdup("fake");
	cfg->channels[0].ops = &fake_ops;
	cfg->nchannels = 1;
	return cfg;
}

static struct notify_item
item(enum notify_kind kind, const char *check)
{
	struct notify_item	it;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	snprintf(it.agent, sizeof(it.agent), "edge-1");
	snprintf(it.rule, sizeof(it.rule), "down");
	snprintf(it.check, sizeof(it.check), "%s", check);
	snprintf(it.severity, sizeof(it.severity), "critical");
	snprintf(it.reason, sizeof(it.reason), "connect_refused");
	snprintf(it.message, sizeof(it.message), "connect refused: \"x\"");
	it.at = 1700000000000000LL;
	it.since = it.at - 90000000;
	it.bad = 3;
	it.of = 5;
	return it;
}

static const struct outbox_limits fast = {
	100, 1 << 20, 2000, 200000, 3600 * 1000000LL
};

static void
setup(void)
{
	memset(&fk, 0, sizeof(fk));
}

static void
put(struct outbox *ob, enum notify_kind kind, const char *check)
{
	struct notify_item	it = item(kind, check);
	char			err[256];

	ck_assert_msg(outbox_put(ob, "fake", &it, 1, err, sizeof(err)) == 0,
	    "%s", err);
}

static void
run_until_empty(struct loop *loop, struct outbox *ob, int ms)
{
	int	i;

	for (i = 0; i < ms / 5 && outbox_pending(ob, NULL) > 0; i++)
		loop_run_once(loop, 5000);
}

static size_t
count_files(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".json") != NULL && e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- record format ------------------------------------------------------- */

START_TEST(test_outbox_record_roundtrip)
{
	struct notify_item	 v[2], *back;
	char			*txt, ch[64], err[128];
	uint64_t		 seq;
	int64_t			 created;
	size_t			 n;

	v[0] = item(NOTIFY_FIRING, "api");
	v[1] = item(NOTIFY_RESOLVED, "db");
	v[1].has_slo = 1;
	v[1].budget_left = 0.25;
	v[1].exhausted_in = -1;
	snprintf(v[0].phase, sizeof(v[0].phase), "connect");
	v[0].phase_us = 3000123;
	v[0].nlabels = 2;
	snprintf(v[0].labels[0].key, sizeof(v[0].labels[0].key), "env");
	snprintf(v[0].labels[0].value, sizeof(v[0].labels[0].value), "prod");
	snprintf(v[0].labels[1].key, sizeof(v[0].labels[1].key), "site");
	snprintf(v[0].labels[1].value, sizeof(v[0].labels[1].value),
	    "M\xc3\xbcnchen \"2\"");
	txt = outbox_encode(42, "slack", 123, v, 2);
	ck_assert_ptr_nonnull(strstr(txt, "\"version\":1"));
	ck_assert_ptr_nonnull(strstr(txt, "\"phase\":{\"name\":\"connect\","
	    "\"us\":3000123}"));
	ck_assert_int_eq(outbox_decode(txt, &seq, ch, sizeof(ch), &created,
	    &back, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(seq, 42);
	ck_assert_int_eq(created, 123);
	ck_assert_str_eq(ch, "slack");
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(&back[0], &v[0], sizeof(v[0])) == 0);
	ck_assert(memcmp(&back[1], &v[1], sizeof(v[1])) == 0);
	free(back);
	free(txt);
}
END_TEST

/*
 * A record written before items had a failing phase and labels (the
 * version 1 format as first released) still loads: no phase, no labels.
 * A malformed phase or label is dropped, not the item.
 */
START_TEST(test_outbox_record_old_and_odd_fields)
{
	static const char old[] = "{\"version\":1,\"seq\":7,\"channel\":"
	    "\"slack\",\"created\":5,\"items\":[{\"kind\":\"firing\","
	    "\"agent\":\"edge-1\",\"rule\":\"down\",\"check\":\"api\","
	    "\"target\":\"\",\"severity\":\"critical\",\"state\":\"\","
	    "\"reason\":\"connect_refused\",\"message\":\"connect refused: "
	    "\\\"x\\\"\",\"note\":\"\",\"dependents\":\"\",\"at\":"
	    "1700000000000000,\"since\":1699999910000000,\"bad\":3,\"of\":5,"
	    "\"flap_percent\":0.0}]}";
	static const char odd[] = "{\"version\":1,\"seq\":8,\"channel\":"
	    "\"slack\",\"created\":5,\"items\":[{\"kind\":\"firing\","
	    "\"agent\":\"edge-1\",\"rule\":\"down\",\"check\":\"api\","
	    "\"at\":1,\"since\":1,\"bad\":1,\"of\":1,\"phase\":{\"us\":5},"
	    "\"labels\":[[\"env\"],\"x\",[\"ok\",\"1\"],[1,2]]}]}";
	struct notify_item	 want, *back;
	char			 ch[64], err[128];
	uint64_t		 seq;
	int64_t			 created;
	size_t			 n;

	want = item(NOTIFY_FIRING, "api");
	ck_assert_int_eq(outbox_decode(old, &seq, ch, sizeof(ch), &created,
	    &back, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(back[0].phase, "");
	ck_assert_uint_eq(back[0].nlabels, 0);
	ck_assert(memcmp(&back[0], &want, sizeof(want)) == 0);
	free(back);
	ck_assert_int_eq(outbox_decode(odd, &seq, ch, sizeof(ch), &created,
	    &back, &n, err, sizeof(err)), 0);
	ck_assert_str_eq(back[0].phase, "");
	ck_assert_uint_eq(back[0].nlabels, 1);
	ck_assert_str_eq(back[0].labels[0].key, "ok");
	ck_assert_str_eq(back[0].labels[0].value, "1");
	free(back);
}
END_TEST

START_TEST(test_outbox_record_rejects_garbage)
{
	static const char *const bad[] = {
		"", "{\"version\":2,\"seq\":1,\"channel\":\"s\",\"created\":1,"
		"\"items\":[{}]}", "{\"version\":1,\"seq\":1,\"channel\":\"s\","
		"\"created\":1,\"items\":[]}", "{\"version\":1,\"seq\":1,"
		"\"channel\":\"s\",\"created\":1,\"items\":[{\"kind\":\"x\"}]}",
		"[1,2", NULL
	};
	struct notify_item	*v;
	char			 ch[64], err[128];
	uint64_t		 seq;
	int64_t			 created;
	size_t			 n, i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_int_eq(outbox_decode(bad[i], &seq, ch, sizeof(ch),
		    &created, &v, &n, err, sizeof(err)), -1);
		ck_assert_ptr_null(v);
		ck_assert(err[0] != '\0');
	}
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
}
END_TEST

/*
 * Times before 1970 and failed counts sonde never writes are refused: a
 * channel subtracts the times and prints failed=bad/of.  Found by
 * fuzz_outbox.
 */
START_TEST(test_outbox_record_rejects_out_of_range)
{
	static const char *const fields[] = {
		"\"at\":-1,\"since\":1,\"bad\":1,\"of\":1",
		"\"at\":1,\"since\":-9223372036854775808,\"bad\":1,\"of\":1",
		"\"at\":1,\"since\":1,\"bad\":-1,\"of\":1",
		"\"at\":1,\"since\":1,\"bad\":6,\"of\":5",
		"\"at\":1,\"since\":1,\"bad\":1,\"of\":65",
		NULL
	};
	struct notify_item	*v;
	char			 ch[64], err[128], *txt;
	uint64_t		 seq;
	int64_t			 created;
	size_t			 n, i;

	for (i = 0; fields[i] != NULL; i++) {
		txt = xasprintf("{\"version\":1,\"seq\":1,\"channel\":\"s\","
		    "\"created\":5,\"items\":[{\"kind\":\"firing\",\"agent\":"
		    "\"a\",\"rule\":\"r\",\"check\":\"c\",%s}]}", fields[i]);
		ck_assert_int_eq(outbox_decode(txt, &seq, ch, sizeof(ch),
		    &created, &v, &n, err, sizeof(err)), -1);
		ck_assert_ptr_null(v);
		ck_assert_msg(strstr(err, "item 0 is incomplete or out of "
		    "range") != NULL, "%s: %s", fields[i], err);
		free(txt);
	}
	/* A record created before 1970 is not one of sonde's either. */
	ck_assert_int_eq(outbox_decode("{\"version\":1,\"seq\":1,\"channel\":"
	    "\"s\",\"created\":-1,\"items\":[{\"kind\":\"firing\",\"agent\":"
	    "\"a\",\"rule\":\"r\",\"check\":\"c\",\"at\":1,\"since\":1,"
	    "\"bad\":1,\"of\":1}]}", &seq, ch, sizeof(ch), &created, &v, &n,
	    err, sizeof(err)), -1);
	/* A clock stepped back (since after at) is still a notification. */
	ck_assert_int_eq(outbox_decode("{\"version\":1,\"seq\":1,\"channel\":"
	    "\"s\",\"created\":1,\"items\":[{\"kind\":\"firing\",\"agent\":"
	    "\"a\",\"rule\":\"r\",\"check\":\"c\",\"at\":1,\"since\":9,"
	    "\"bad\":0,\"of\":0}]}", &seq, ch, sizeof(ch), &created, &v, &n,
	    err, sizeof(err)), 0);
	free(v);
}
END_TEST

/* ---- delivery ------------------------------------------------------------ */

START_TEST(test_outbox_outage_exactly_once_in_order)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct outbox		*ob;
	struct outbox_stats	 st;
	const char		*dir = testutil_tmpdir();
	char			 err[256], sub[512];
	int			 i;

	for (i = 0; i < 6; i++)		/* down for six attempts */
		fk.script[fk.nscript++] = CHANNEL_RETRY;
	ob = outbox_new(loop, dir, &fast, err, sizeof(err));
	ck_assert_msg(ob != NULL, "%s", err);
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "api");
	put(ob, NOTIFY_FIRING, "db");
	put(ob, NOTIFY_RESOLVED, "api");
	put(ob, NOTIFY_RESOLVED, "db");
	snprintf(sub, sizeof(sub), "%s/outbox", dir);
	ck_assert_uint_eq(count_files(sub), 4);	/* on disk before a send */
	run_until_empty(loop, ob, 5000);
	ck_assert_int_eq(fk.ngot, 4);
	ck_assert_str_eq(fk.got[0], "firing down/api");
	ck_assert_str_eq(fk.got[1], "firing down/db");
	ck_assert_str_eq(fk.got[2], "resolved down/api");
	ck_assert_str_eq(fk.got[3], "resolved down/db");
	ck_assert_int_eq(fk.attempts, 10);
	/*
	 * Backoff doubles from 2 ms; equal jitter keeps at least half: the
	 * 1st retry waits >= 1 ms, the 6th >= 2 ms * 2^5 / 2 = 32 ms.
	 * (Lower bounds only: a loaded machine stretches any wait.)
	 */
	ck_assert_int_ge(fk.sent_at[1] - fk.sent_at[0], 1000);
	ck_assert_int_ge(fk.sent_at[6] - fk.sent_at[5], 32000);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.delivered, 4);
	ck_assert_uint_eq(st.retried, 6);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(count_files(sub), 0);
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_outbox_retry_after_honoured)
{
	struct loop	*loop = loop_new();
	struct config	*cfg = fake_config();
	struct outbox	*ob;
	char		 err[256];

	fk.script[fk.nscript++] = CHANNEL_RETRY;
	fk.retry_after = 300000;	/* 300 ms, well above the backoff */
	ob = outbox_new(loop, testutil_tmpdir(), &fast, err, sizeof(err));
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "api");
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 1);
	ck_assert_int_ge(fk.sent_at[1] - fk.sent_at[0], 300000);
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_outbox_rejected_kept_and_skipped)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct outbox		*ob;
	struct outbox_stats	 st;
	const char		*dir = testutil_tmpdir();
	char			 err[256], sub[512];

	fk.script[fk.nscript++] = CHANNEL_REJECTED;
	testutil_log_capture_start();
	ob = outbox_new(loop, dir, &fast, err, sizeof(err));
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "api");
	put(ob, NOTIFY_FIRING, "db");
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 1);
	ck_assert_str_eq(fk.got[0], "firing down/db");
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(),
	    "rejected the firing of down/api (HTTP 400: "
	    "invalid_payload)"));
	testutil_log_capture_stop();
	snprintf(sub, sizeof(sub), "%s/outbox/rejected", dir);
	ck_assert_uint_eq(count_files(sub), 1);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.rejected, 1);
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_outbox_delayed_note)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct outbox		*ob;
	struct outbox_limits	 lim = fast;
	char			 err[256];

	lim.delay_note = 0;	/* every record counts as late */
	fk.script[fk.nscript++] = CHANNEL_RETRY;
	ob = outbox_new(loop, testutil_tmpdir(), &lim, err, sizeof(err));
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "api");
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.attempts, 2);
	ck_assert_str_eq(fk.notes[0], "delayed 0s: channel was busy with "
	    "earlier alerts");
	ck_assert_str_eq(fk.notes[1], "delayed 0s: channel was unreachable");
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

/* A reload frees the old generation while a send is in flight. */
START_TEST(test_outbox_reload_during_send)
{
	struct loop	*loop = loop_new();
	struct config	*old = fake_config(), *cfg = fake_config();
	struct outbox	*ob;
	char		 err[256];

	ob = outbox_new(loop, testutil_tmpdir(), &fast, err, sizeof(err));
	outbox_set_config(ob, old);
	put(ob, NOTIFY_FIRING, "api");
	ck_assert(fk.pending);		/* in flight, answer deferred */
	outbox_set_config(ob, cfg);
	config_unref(old);		/* the last reference: freed */
	put(ob, NOTIFY_RESOLVED, "api");
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 2);
	ck_assert_str_eq(fk.got[1], "resolved down/api");
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

/* ---- the cap ------------------------------------------------------------- */

START_TEST(test_outbox_full_drops_info_first)
{
	struct loop		*loop = loop_new();
	struct outbox		*ob;
	struct outbox_stats	 st;
	struct outbox_limits	 lim = fast;
	struct config		*cfg = fake_config();
	char			 err[256];

	lim.max_records = 3;
	testutil_log_capture_start();
	ob = outbox_new(loop, testutil_tmpdir(), &lim, err, sizeof(err));
	/* no config yet: nothing is sent, everything waits */
	put(ob, NOTIFY_FIRING, "a");
	put(ob, NOTIFY_RESOLVED, "a");
	put(ob, NOTIFY_FIRING, "b");
	put(ob, NOTIFY_FIRING, "c");	/* drops "resolved a" */
	put(ob, NOTIFY_FIRING, "d");	/* no info left: drops "firing a" */
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.pending, 3);
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(),
	    "dropped the resolved of down/a"));
	testutil_log_capture_stop();
	outbox_set_config(ob, cfg);
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 3);
	ck_assert_str_eq(fk.got[0], "firing down/b");
	ck_assert_str_eq(fk.got[1], "firing down/c");
	ck_assert_str_eq(fk.got[2], "firing down/d");
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

START_TEST(test_outbox_byte_cap)
{
	struct loop		*loop = loop_new();
	struct outbox		*ob;
	struct outbox_stats	 st;
	struct outbox_limits	 lim = fast;
	char			 err[256];
	int			 i;

	lim.max_bytes = 2000;	/* a record is about 500 bytes */
	ob = outbox_new(loop, testutil_tmpdir(), &lim, err, sizeof(err));
	for (i = 0; i < 10; i++)
		put(ob, NOTIFY_FIRING, "a");
	outbox_get_stats(ob, &st);
	ck_assert_uint_le(st.bytes, 2000);
	ck_assert_uint_eq(st.dropped, 10 - st.pending);
	ck_assert_uint_ge(st.pending, 2);
	outbox_free(ob);
	loop_free(loop);
}
END_TEST

/* ---- crash safety -------------------------------------------------------- */

/*
 * The crashing child's loop and outbox: static, so that they are still
 * reachable when it dies (memcheck, make check-valgrind, checks the child
 * too and would call locals that the compiler dropped lost).
 */
static struct loop	*crash_loop;
static struct outbox	*crash_ob;

/* In a child: spools three records, then dies by SIGKILL. */
static void
crash_child(const char *dir, bool in_send)
{
	char		 err[256];
	pid_t		 pid;
	int		 status;

	if ((pid = fork()) == 0) {
		crash_loop = loop_new();
		crash_ob = outbox_new(crash_loop, dir, &fast, err,
		    sizeof(err));
		put(crash_ob, NOTIFY_FIRING, "a");
		put(crash_ob, NOTIFY_FIRING, "b");
		put(crash_ob, NOTIFY_RESOLVED, "a");
		fk.kill_in_send = in_send;
		if (in_send)	/* the first send kills the process */
			outbox_set_config(crash_ob, fake_config());
		kill(getpid(), SIGKILL);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void
restart_delivers(bool in_send)
{
	const char	*dir = testutil_tmpdir();
	struct loop	*loop;
	struct outbox	*ob;
	struct config	*cfg;
	char		 err[256];

	crash_child(dir, in_send);
	memset(&fk, 0, sizeof(fk));
	loop = loop_new();
	cfg = fake_config();
	testutil_log_capture_start();
	ob = outbox_new(loop, dir, &fast, err, sizeof(err));
	ck_assert_msg(ob != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(testutil_log_captured(),
	    "3 undelivered notifications found"));
	testutil_log_capture_stop();
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_RESOLVED, "b");	/* new work goes after the old */
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 4);
	ck_assert_str_eq(fk.got[0], "firing down/a");
	ck_assert_str_eq(fk.got[1], "firing down/b");
	ck_assert_str_eq(fk.got[2], "resolved down/a");
	ck_assert_str_eq(fk.got[3], "resolved down/b");
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}

START_TEST(test_outbox_kill9_between_spool_and_send)
{
	restart_delivers(false);
}
END_TEST

START_TEST(test_outbox_kill9_during_send)
{
	restart_delivers(true);
}
END_TEST

/* ---- through the diskq (the daemon's way) -------------------------------- */

/*
 * The writer stalls on the file named gate.name until the test lets it
 * go, through two pipes: every step ordered, nothing timed.
 */
static struct gate {
	pthread_mutex_t	 mu;
	const char	*name;
	int		 in[2], out[2];
} gt;

static void
gate_hook(const char *name, void *arg)
{
	const char	*stall;
	char		 c = 'x';

	(void)arg;
	pthread_mutex_lock(&gt.mu);
	stall = gt.name;
	pthread_mutex_unlock(&gt.mu);
	if (name == NULL || stall == NULL || strcmp(name, stall) != 0)
		return;
	if (write(gt.in[1], &c, 1) != 1 || read(gt.out[0], &c, 1) != 1)
		abort();
}

static void
gate_setup(void)
{
	setup();
	pthread_mutex_init(&gt.mu, NULL);
	gt.name = NULL;
	ck_assert_int_eq(pipe(gt.in), 0);
	ck_assert_int_eq(pipe(gt.out), 0);
}

static struct diskq *
gated_diskq(struct loop *loop, const char *name)
{
	struct diskq	*dq;
	char		 err[256];

	ck_assert_msg((dq = diskq_new(loop, err, sizeof(err))) != NULL, "%s",
	    err);
	gt.name = name;
	diskq_set_hook(dq, gate_hook, NULL);
	return dq;
}

static void
gate_wait(void)
{
	char	c;

	ck_assert_int_eq(read(gt.in[0], &c, 1), 1);
}

static void
gate_open(void)
{
	pthread_mutex_lock(&gt.mu);
	gt.name = NULL;
	pthread_mutex_unlock(&gt.mu);
	ck_assert_int_eq(write(gt.out[1], "g", 1), 1);
}

#define REC1	"00000000000000000001.json"

/* The writer is stuck on the record: the channel waits, then sends it. */
START_TEST(test_outbox_diskq_not_sent_before_durable)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct diskq		*dq = gated_diskq(loop, REC1);
	struct outbox		*ob;
	struct outbox_stats	 st;
	const char		*dir = testutil_tmpdir();
	char			 err[256], sub[512];
	int			 i;

	ob = outbox_new(loop, dir, &fast, err, sizeof(err));
	outbox_set_diskq(ob, dq);
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "api");
	put(ob, NOTIFY_RESOLVED, "api");
	gate_wait();
	for (i = 0; i < 50; i++)
		loop_run_once(loop, 1000);
	snprintf(sub, sizeof(sub), "%s/outbox", dir);
	ck_assert_int_eq(fk.attempts, 0);
	ck_assert_uint_eq(count_files(sub), 0);
	gate_open();
	run_until_empty(loop, ob, 5000);
	ck_assert_int_eq(fk.ngot, 2);
	ck_assert_str_eq(fk.got[0], "firing down/api");
	ck_assert_str_eq(fk.got[1], "resolved down/api");
	diskq_flush(dq);		/* the unlinks */
	ck_assert_uint_eq(count_files(sub), 0);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.written, 2);
	ck_assert_uint_eq(st.not_durable, 0);
	outbox_free(ob);
	diskq_free(dq);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

/* A write that fails is logged on the loop, counted, and sent anyway. */
START_TEST(test_outbox_diskq_failed_write_sent_from_memory)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct diskq		*dq = gated_diskq(loop, NULL);
	struct outbox		*ob;
	struct outbox_stats	 st;
	const char		*dir = testutil_tmpdir();
	char			 err[256], sub[512], away[512], *f;

	ob = outbox_new(loop, dir, &fast, err, sizeof(err));
	outbox_set_diskq(ob, dq);
	outbox_set_config(ob, cfg);
	/* outbox/ becomes a plain file: ENOTDIR even for root. */
	snprintf(sub, sizeof(sub), "%s/outbox", dir);
	snprintf(away, sizeof(away), "%s/away", dir);
	ck_assert_int_eq(rename(sub, away), 0);
	f = testutil_write_file(dir, "outbox", "not a directory\n");
	testutil_log_capture_start();
	put(ob, NOTIFY_FIRING, "api");
	run_until_empty(loop, ob, 5000);
	ck_assert_int_eq(fk.ngot, 1);
	ck_assert_msg(strstr(testutil_log_captured(), "the firing of down/api "
	    "for channel") != NULL && strstr(testutil_log_captured(),
	    "is kept in memory only") != NULL &&
	    strstr(testutil_log_captured(), "Not a directory") != NULL, "%s",
	    testutil_log_captured());
	testutil_log_capture_stop();
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.not_durable, 1);
	outbox_free(ob);
	diskq_free(dq);
	config_unref(cfg);
	loop_free(loop);
	free(f);
}
END_TEST

/* The cap drops a record whose write is still queued: no leak, no file. */
START_TEST(test_outbox_diskq_dropped_while_writing)
{
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct diskq		*dq = gated_diskq(loop, REC1);
	struct outbox		*ob;
	struct outbox_limits	 lim = fast;
	const char		*dir = testutil_tmpdir();
	char			 err[256], sub[512];

	lim.max_records = 1;
	ob = outbox_new(loop, dir, &lim, err, sizeof(err));
	outbox_set_diskq(ob, dq);
	outbox_set_config(ob, cfg);
	testutil_log_capture_start();
	put(ob, NOTIFY_RESOLVED, "a");
	gate_wait();
	put(ob, NOTIFY_FIRING, "b");	/* drops "resolved a", mid-write */
	gate_open();
	run_until_empty(loop, ob, 5000);
	testutil_log_capture_stop();
	ck_assert_int_eq(fk.ngot, 1);
	ck_assert_str_eq(fk.got[0], "firing down/b");
	diskq_flush(dq);
	snprintf(sub, sizeof(sub), "%s/outbox", dir);
	ck_assert_uint_eq(count_files(sub), 0);
	outbox_free(ob);
	diskq_free(dq);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

/* Held records go up to the sequence number the saved state covers. */
START_TEST(test_outbox_release_upto)
{
	struct loop	*loop = loop_new();
	struct config	*cfg = fake_config();
	struct outbox	*ob;
	char		 err[256];
	int		 i;

	ob = outbox_new(loop, testutil_tmpdir(), &fast, err, sizeof(err));
	outbox_hold_new(ob, true);
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "a");
	put(ob, NOTIFY_FIRING, "b");
	ck_assert_uint_eq(outbox_last_seq(ob), 2);
	put(ob, NOTIFY_FIRING, "c");
	ck_assert(outbox_holding(ob));
	outbox_release_upto(ob, 2);
	for (i = 0; i < 100 && fk.ngot < 3; i++)
		loop_run_once(loop, 1000);
	ck_assert_int_eq(fk.ngot, 2);
	ck_assert_str_eq(fk.got[1], "firing down/b");
	ck_assert(outbox_holding(ob));
	outbox_release(ob);
	run_until_empty(loop, ob, 3000);
	ck_assert_int_eq(fk.ngot, 3);
	ck_assert(!outbox_holding(ob));
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

/* Heap in use, or 0 where malloc is not glibc's (ASan, valgrind). */
static size_t
heap_used(void)
{
	return mallinfo2().uordblks;
}

/*
 * A channel down for minutes holds every alert of those minutes: each
 * record's items are kept packed, well under the 3 KB of a notify_item
 * (a test item packs to about 200 bytes), and come back whole.
 */
START_TEST(test_outbox_queue_memory_is_packed)
{
	static const struct outbox_limits lim = {
		2000, 16 << 20, 2000, 200000, 3600 * 1000000LL
	};
	struct loop		*loop = loop_new();
	struct config		*cfg = fake_config();
	struct outbox		*ob;
	struct outbox_stats	 st;
	char			 err[256], name[32];
	size_t			 before, grew;
	void			*probe;
	int			 i;

	ob = outbox_new(loop, testutil_tmpdir(), &lim, err, sizeof(err));
	ck_assert_ptr_nonnull(ob);
	outbox_hold_new(ob, true);
	outbox_set_config(ob, cfg);
	put(ob, NOTIFY_FIRING, "warm-up");	/* the list, the file names */
	before = heap_used();
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		put(ob, i % 2 ? NOTIFY_RESOLVED : NOTIFY_FIRING, name);
	}
	grew = heap_used() - before;
	probe = xmalloc(32 << 10);	/* under the mmap threshold */
	if (heap_used() >= before + grew + (32 << 10))	/* glibc: measure */
		ck_assert_msg(grew < 1000 * 600, "1,000 queued records "
		    "took %zu bytes of heap", grew);
	free(probe);
	outbox_release(ob);
	run_until_empty(loop, ob, 20000);
	outbox_get_stats(ob, &st);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.delivered, 1001);
	ck_assert_str_eq(fk.got[0], "firing down/warm-up");
	ck_assert_str_eq(fk.got[2], "resolved down/c1");
	outbox_free(ob);
	config_unref(cfg);
	loop_free(loop);
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite	*s = suite_create("outbox");
	TCase	*tc;

	tc = tcase_create("record");
	tcase_add_test(tc, test_outbox_record_roundtrip);
	tcase_add_test(tc, test_outbox_queue_memory_is_packed);
	tcase_add_test(tc, test_outbox_record_old_and_odd_fields);
	tcase_add_test(tc, test_outbox_record_rejects_garbage);
	tcase_add_test(tc, test_outbox_record_rejects_out_of_range);
	suite_add_tcase(s, tc);
	tc = tcase_create("delivery");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_outbox_outage_exactly_once_in_order);
	tcase_add_test(tc, test_outbox_retry_after_honoured);
	tcase_add_test(tc, test_outbox_rejected_kept_and_skipped);
	tcase_add_test(tc, test_outbox_delayed_note);
	tcase_add_test(tc, test_outbox_reload_during_send);
	suite_add_tcase(s, tc);
	tc = tcase_create("cap");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_outbox_full_drops_info_first);
	tcase_add_test(tc, test_outbox_byte_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("crash");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_outbox_kill9_between_spool_and_send);
	tcase_add_test(tc, test_outbox_kill9_during_send);
	suite_add_tcase(s, tc);
	tc = tcase_create("diskq");
	tcase_add_checked_fixture(tc, gate_setup, NULL);
	tcase_add_test(tc, test_outbox_diskq_not_sent_before_durable);
	tcase_add_test(tc, test_outbox_diskq_failed_write_sent_from_memory);
	tcase_add_test(tc, test_outbox_diskq_dropped_while_writing);
	tcase_add_test(tc, test_outbox_release_upto);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(outbox_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
