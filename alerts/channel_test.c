/* SPDX-License-Identifier: ISC */
/*
 * channel_test: `sonde --test-channels`, one test notification to every
 * configured channel, sent directly (not through the outbox: a test that
 * fails must say so now, not retry for an hour) and all at once, with the
 * outcome printed per channel.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "config.h"
#include "curlmux.h"
#include "loop.h"
#include "notify.h"

struct ctest {
	const struct channel_conf	*conf;
	FILE				*out;
	enum channel_outcome		 outcome;
	int				 done;
	size_t				*left;
};

static void
ctest_done(void *arg, enum channel_outcome o, int64_t retry_after,
    const char *detail)
{
	struct ctest	*t = arg;

	(void)retry_after;
	t->outcome = o;
	t->done = 1;
	(*t->left)--;
	fprintf(t->out, "%s (%s): %s: %s\n", t->conf->name,
	    t->conf->ops->type, channel_outcome_str(o), detail);
}

static void
ctest_item(const struct config *cfg, struct notify_item *it)
{
	memset(it, 0, sizeof(*it));
	it->kind = NOTIFY_FIRING;
	snprintf(it->agent, sizeof(it->agent), "%s", cfg->agent.name);
	snprintf(it->rule, sizeof(it->rule), "sonde-test");
	snprintf(it->check, sizeof(it->check), "sonde-test");
	snprintf(it->severity, sizeof(it->severity), "info");
	snprintf(it->state, sizeof(it->state), "firing");
	snprintf(it->message, sizeof(it->message), "test notification from "
	    "sonde --test-channels on %s; no action needed", cfg->agent.name);
	it->at = it->since = loop_wallclock();
}

int
channel_test_all(const struct config *cfg, FILE *out)
{
	struct ctest		 t[64];
	struct notify_item	 it;
	struct channel_msg	 msg;
	struct loop		*loop;
	char			 err[256];
	size_t			 i, left = 0, n = cfg->nchannels;
	int64_t			 start;
	int			 rc = 0;

	if (n == 0) {
		fprintf(out, "no channels configured (only the built-in log "
		    "channel)\n");
		return 0;
	}
	loop = loop_new();
	ctest_item(cfg, &it);
	msg.items = &it;
	msg.n = 1;
	msg.note = "";
	msg.test = 1;
	msg.template = NULL;
	for (i = 0; i < n && i < 64; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].conf = &cfg->channels[i];
		t[i].out = out;
		t[i].left = &left;
		left++;
		if (t[i].conf->ops->send(loop, t[i].conf, &msg, ctest_done,
		    &t[i], err, sizeof(err)) == NULL) {
			left--;
			t[i].done = 1;
			t[i].outcome = CHANNEL_RETRY;
			fprintf(out, "%s (%s): not sent: %s\n", t[i].conf->name,
			    t[i].conf->ops->type, err);
		}
	}
	/* Each send has its own timeout (<= 5m); this bound only guards. */
	start = loop_time(loop);
	while (left > 0 && loop_time(loop) - start < 310 * 1000000LL)
		loop_run_once(loop, 100000);
	for (i = 0; i < n && i < 64; i++)
		if (!t[i].done || t[i].outcome != CHANNEL_DELIVERED)
			rc = 1;
	curlmux_shared_free();
	loop_free(loop);
	return rc;
}
