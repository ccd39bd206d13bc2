/* SPDX-License-Identifier: ISC */
/*
 * outbox: the durable queue between the alert table and the channels.
 *
 * It owns the records on disk (state_dir/outbox/<seq>.json, one per
 * notification and channel, a versioned JSON object written atomically
 * through state_write_atomic() before any send), their order (one list by
 * sequence number; each channel sends its own records oldest first, one
 * at a time), retry timing (exponential backoff with jitter, Retry-After)
 * and the cap with its drop order.  What a message looks like and how it
 * travels belong to the channels (alerts/); what is worth telling belongs
 * to alert.c.
 *
 * Delivery is at least once: a record is removed only after `delivered`,
 * so a crash between the answer and the unlink sends it again.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "channel.h"
#include "config.h"
#include "diskq.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "pack.h"
#include "sched.h"
#include "outbox.h"
#include "result.h"
#include "state.h"
#include "xmalloc.h"

struct obrec {
	struct outbox		*ob;
	uint64_t		 seq;
	char			 channel[NOTIFY_NAME_MAX];
	int64_t			 created;	/* wall µs */
	uint8_t			*packed;	/* the n items: ob_item() */
	size_t			 packed_len;
	uint64_t		*keys;		/* per item: ob_key() */
	size_t			 n;
	bool			 info;		/* all resolved or stable */
	size_t			 bytes;		/* on disk */
	bool			 on_disk;
	bool			 restored;	/* found at startup */
	bool			 held;		/* until outbox_release() */
	bool			 writing;	/* queued on the diskq */
	bool			 dead;		/* removed while writing */
	struct obrec		*prev, *next;
};

struct obchan {
	struct outbox		*ob;
	char			 name[NOTIFY_NAME_MAX];
	struct obrec		*inflight;
	void			*handle;	/* of the channel's send */
	/*
	 * Of the send in flight, copied: a reload may free the config
	 * generation before the answer comes.
	 */
	const struct channel_ops *ops;
	int64_t			 repost_ms;
	struct loop_timer	 retry;
	int			 attempts;	/* failed, of the head */
	bool			 limited;	/* last failure was a 429 */
	bool			 warned;	/* unknown channel logged */
};

/* A firing alert a re-posting channel (Alertmanager) is kept told of. */
struct obfiring {
	char			 channel[NOTIFY_NAME_MAX];
	struct notify_item	 item;
	int64_t			 due;		/* loop clock */
};

struct outbox {
	struct loop		*loop;
	struct obfiring		*firing;
	size_t			 nfiring;
	struct loop_timer	 repost;
	char			*dir;
	struct outbox_limits	 lim;
	struct config		*cfg;		/* a reference */
	struct obrec		*head, *tail;
	struct obchan		*chans;
	size_t			 nchans;
	uint64_t		 next_seq;
	struct outbox_stats	 st;
	bool			 hold_new;	/* outbox_hold_new() */
	struct diskq		*dq;		/* NULL: write in place */
	bool			 closing;	/* outbox_free(): no sends */
};

#define OUTBOX_CHANS	64	/* 31 configured + names found on disk */

static void	ob_kick(struct obchan *c);
static void	ob_retry_cb(struct loop *, struct loop_timer *, void *);
static void	ob_repost_cb(struct loop *, struct loop_timer *, void *);
struct obrec;
static void	ob_track(struct outbox *, const struct obchan *,
		    const struct obrec *);

/* ---- records as JSON ----------------------------------------------------- */

/*
 * The failing phase and the labels, present only when the item has them:
 * "phase": {"name": "connect", "us": 3000000}, "labels": [["k", "v"]...]
 * (an array, so the config's order survives).
 */
static void
ob_item_facts_json(const struct notify_item *it, json_t *o)
{
	json_t		*arr;
	unsigned int	 i;

	if (it->phase[0] != '\0')
		json_object_set_new(o, "phase", json_pack("{s:s, s:I}", "name",
		    it->phase, "us", (json_int_t)it->phase_us));
	if (it->nlabels == 0)
		return;
	arr = json_array();
	for (i = 0; i < it->nlabels && i < NOTIFY_LABELS_MAX; i++)
		json_array_append_new(arr, json_pack("[s, s]",
		    it->labels[i].key, it->labels[i].value));
	json_object_set_new(o, "labels", arr);
}

static json_t *
ob_item_json(const struct notify_item *it)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:I, s:I, s:i, s:i, s:f}", "kind", notify_kind_str(it->kind),
	    "agent", it->agent, "rule", it->rule, "check", it->check,
	    "target", it->target, "severity", it->severity, "state",
	    it->state, "reason", it->reason, "message", it->message, "note",
	    it->note, "dependents", it->dependents, "at", (json_int_t)it->at,
	    "since", (json_int_t)it->since, "bad", (int)it->bad, "of",
	    (int)it->of, "flap_percent", it->flap_percent);
	if (o != NULL && it->has_slo)
		json_object_set_new(o, "slo", json_pack("{s:f, s:I, s:f, s:f}",
		    "budget_left", it->budget_left, "exhausted_in",
		    (json_int_t)it->exhausted_in, "burn_long", it->burn_long,
		    "burn_short", it->burn_short));
	if (o != NULL)
		ob_item_facts_json(it, o);
	return o;
}

char *
outbox_encode(uint64_t seq, const char *channel, int64_t created,
    const struct notify_item *items, size_t n)
{
	json_t	*root, *arr;
	char	*s;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, ob_item_json(&items[i]));
	root = json_pack("{s:i, s:I, s:s, s:I, s:o}", "version",
	    OUTBOX_VERSION, "seq", (json_int_t)seq, "channel", channel,
	    "created", (json_int_t)created, "items", arr);
	s = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return s;
}

/* Copies string member key of o into dst; false when absent or wrong. */
static bool
ob_str(json_t *o, const char *key, char *dst, size_t dstlen)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v))
		return false;
	snprintf(dst, dstlen, "%s", json_string_value(v));
	return true;
}

/*
 * Reads what ob_item_facts_json() wrote.  Both are optional: records of
 * a sonde before them have neither; a malformed one is dropped, not the
 * item.
 */
static void
ob_item_facts_parse(json_t *o, struct notify_item *it)
{
	json_t		*ph, *arr, *pair;
	const char	*name, *k, *v;
	json_int_t	 us = 0;
	size_t		 i;

	ph = json_object_get(o, "phase");
	if (ph != NULL && json_unpack(ph, "{s:s, s?I}", "name", &name, "us",
	    &us) == 0 && us >= 0) {
		notify_copy(it->phase, sizeof(it->phase), name);
		it->phase_us = us;
	}
	arr = json_object_get(o, "labels");
	json_array_foreach(arr, i, pair) {
		if (it->nlabels >= NOTIFY_LABELS_MAX)
			break;
		if (json_unpack(pair, "[s, s]", &k, &v) != 0)
			continue;
		notify_copy(it->labels[it->nlabels].key,
		    sizeof(it->labels[0].key), k);
		notify_copy(it->labels[it->nlabels].value,
		    sizeof(it->labels[0].value), v);
		it->nlabels++;
	}
}

static int
ob_item_parse(json_t *o, struct notify_item *it)
{
	char		 kind[16];
	json_int_t	 at, since, bad, of;
	json_t		*slo;
	int		 k;

	memset(it, 0, sizeof(*it));
	if (!ob_str(o, "kind", kind, sizeof(kind)) ||
	    !ob_str(o, "agent", it->agent, sizeof(it->agent)) ||
	    !ob_str(o, "rule", it->rule, sizeof(it->rule)) ||
	    !ob_str(o, "check", it->check, sizeof(it->check)) ||
	    json_unpack(o, "{s:I, s:I, s:I, s:I}", "at", &at, "since", &since,
	    "bad", &bad, "of", &of) != 0)
		return -1;
	/*
	 * What sonde writes: wall µs since 1970 and bad <= of <= 64 (a
	 * rule's window).  Channels subtract the times (Slack's "for 5m",
	 * the delay note) and print failed=bad/of.
	 */
	if (at < 0 || since < 0 || bad < 0 || of < 0 || bad > of || of > 64)
		return -1;
	for (k = 0; k < NOTIFY_KIND_LAST; k++)
		if (strcmp(kind, notify_kind_str((enum notify_kind)k)) == 0)
			break;
	if (k == NOTIFY_KIND_LAST)
		return -1;
	it->kind = (enum notify_kind)k;
	ob_str(o, "target", it->target, sizeof(it->target));
	ob_str(o, "severity", it->severity, sizeof(it->severity));
	ob_str(o, "state", it->state, sizeof(it->state));
	ob_str(o, "reason", it->reason, sizeof(it->reason));
	ob_str(o, "message", it->message, sizeof(it->message));
	ob_str(o, "note", it->note, sizeof(it->note));
	ob_str(o, "dependents", it->dependents, sizeof(it->dependents));
	it->at = at;
	it->since = since;
	it->bad = (unsigned int)bad;
	it->of = (unsigned int)of;
	it->flap_percent = json_number_value(json_object_get(o,
	    "flap_percent"));
	if ((slo = json_object_get(o, "slo")) != NULL) {
		json_int_t ex = -1;

		it->has_slo = 1;
		json_unpack(slo, "{s?F, s?I, s?F, s?F}", "budget_left",
		    &it->budget_left, "exhausted_in", &ex, "burn_long",
		    &it->burn_long, "burn_short", &it->burn_short);
		it->exhausted_in = ex;
	}
	ob_item_facts_parse(o, it);
	return 0;
}

int
outbox_decode(const char *txt, uint64_t *seq, char *channel,
    size_t channellen, int64_t *created, struct notify_item **items,
    size_t *n, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*root, *arr;
	json_int_t	 s = 0, c = 0;
	int		 version = 0;
	size_t		 i;

	*items = NULL;
	*n = 0;
	if ((root = json_loads(txt, 0, &je)) == NULL) {
		snprintf(err, errlen, "not JSON (%s, line %d)", je.text,
		    je.line);
		return -1;
	}
	if (json_unpack(root, "{s:i, s:I, s:I, s:o}", "version", &version,
	    "seq", &s, "created", &c, "items", &arr) != 0 ||
	    version != OUTBOX_VERSION || c < 0 || !json_is_array(arr) ||
	    json_array_size(arr) == 0 ||
	    !ob_str(root, "channel", channel, channellen)) {
		snprintf(err, errlen, version != OUTBOX_VERSION && version ?
		    "record version %d, this sonde reads %d" : "not an outbox "
		    "record (version, seq, channel, created, items)", version,
		    OUTBOX_VERSION);
		json_decref(root);
		return -1;
	}
	*items = xcalloc(json_array_size(arr), sizeof(**items));
	for (i = 0; i < json_array_size(arr); i++)
		if (ob_item_parse(json_array_get(arr, i), &(*items)[i]) == -1) {
			snprintf(err, errlen, "item %zu is incomplete or out "
			    "of range", i);
			free(*items);
			*items = NULL;
			json_decref(root);
			return -1;
		}
	*n = json_array_size(arr);
	*seq = (uint64_t)s;
	*created = c;
	json_decref(root);
	return 0;
}

/* ---- the list ------------------------------------------------------------ */

static void
ob_name(const struct obrec *r, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%020" PRIu64 ".json", r->seq);
}

static void
ob_link(struct outbox *ob, struct obrec *r)
{
	struct obrec	*at = ob->tail;

	while (at != NULL && at->seq > r->seq)
		at = at->prev;
	r->prev = at;
	r->next = at != NULL ? at->next : ob->head;
	if (r->next != NULL)
		r->next->prev = r;
	else
		ob->tail = r;
	if (at != NULL)
		at->next = r;
	else
		ob->head = r;
	ob->st.pending++;
	ob->st.bytes += r->bytes;
}

/*
 * A record's items are kept packed (pack.h): a notify_item is 3 KB of
 * fixed buffers, mostly empty, and a channel that is down for minutes
 * holds every alert of those minutes.  Unpacked where they are read.
 */
static uint64_t
ob_key(const struct notify_item *it)
{
	uint64_t	h = sched_hash(it->rule);

	return h ^ (sched_hash(it->check) * 0x100000001b3ULL);
}

static void
ob_set_items(struct obrec *r, const struct notify_item *items, size_t n)
{
	size_t	i;

	r->packed = pack_dup(items, n * sizeof(*items), &r->packed_len);
	r->keys = xcalloc(n, sizeof(*r->keys));
	r->n = n;
	r->info = true;
	for (i = 0; i < n; i++) {
		r->keys[i] = ob_key(&items[i]);
		if (items[i].kind != NOTIFY_RESOLVED &&
		    items[i].kind != NOTIFY_STABLE)
			r->info = false;
	}
}

/* Item i of r, unpacked into it. */
static void
ob_item(const struct obrec *r, size_t i, struct notify_item *it)
{
	pack_decode_at(r->packed, r->packed_len, i * sizeof(*it), it,
	    sizeof(*it));
}

/* All of r's items, unpacked into a new array (the caller frees it). */
static struct notify_item *
ob_items(const struct obrec *r)
{
	struct notify_item	*v = xreallocarray(NULL, r->n, sizeof(*v));

	pack_decode(r->packed, r->packed_len, v, r->n * sizeof(*v));
	return v;
}

static void
ob_rec_free(struct obrec *r)
{
	free(r->packed);
	free(r->keys);
	free(r);
}

/* Unlinks r, removes its file (or moves it to rejected/), frees it. */
static void
ob_remove(struct outbox *ob, struct obrec *r, bool keep)
{
	char	name[64], *path, *to;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		ob->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		ob->tail = r->prev;
	ob->st.pending--;
	ob->st.bytes -= r->bytes;
	ob_name(r, name, sizeof(name));
	if (ob->dq != NULL && (r->on_disk || r->writing) && !keep) {
		/* After its own write, by FIFO order; no fsync needed. */
		diskq_unlink(ob->dq, ob->dir, name, NULL, NULL, 0);
		r->on_disk = false;
	}
	if (r->writing) {
		r->dead = true;		/* ob_written() frees it */
		return;
	}
	path = xasprintf("%s/%s", ob->dir, name);
	if (r->on_disk && keep) {
		to = xasprintf("%s/rejected", ob->dir);
		(void)mkdir(to, 0700);
		free(to);
		to = xasprintf("%s/rejected/%s", ob->dir, name);
		if (rename(path, to) == -1)
			log_warn("outbox", "keep rejected record %s", path);
		free(to);
	} else if (r->on_disk && unlink(path) == -1 && errno != ENOENT)
		log_warn("outbox", "remove %s", path);
	free(path);
	ob_rec_free(r);
}

static struct obchan *
ob_chan(struct outbox *ob, const char *name)
{
	struct obchan	*c;
	size_t		 i;

	for (i = 0; i < ob->nchans; i++)
		if (strcmp(ob->chans[i].name, name) == 0)
			return &ob->chans[i];
	/* Stable addresses (timers point into the array): a fixed size. */
	if (ob->nchans == OUTBOX_CHANS)
		return NULL;
	c = &ob->chans[ob->nchans++];
	memset(c, 0, sizeof(*c));
	c->ob = ob;
	loop_timer_init(&c->retry, ob_retry_cb, c);
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

/* ---- sending ------------------------------------------------------------- */

/* The first record of channel c, oldest first. */
static struct obrec *
ob_first(struct outbox *ob, const char *name)
{
	struct obrec	*r;

	for (r = ob->head; r != NULL; r = r->next)
		if (strcmp(r->channel, name) == 0)
			return r;
	return NULL;
}

/* "delayed 14m: channel was unreachable" for an old record, else "". */
static void
ob_note(struct obchan *c, struct obrec *r, char *buf, size_t buflen)
{
	char	d[32];
	int64_t	age = loop_wallclock() - r->created;

	buf[0] = '\0';
	if (age < c->ob->lim.delay_note)
		return;
	/* Minutes are what a person reads; seconds below two minutes. */
	config_format_duration(age >= 120000000 ? age / 60000000 * 60000 :
	    age / 1000000 * 1000, d, sizeof(d));
	snprintf(buf, buflen, "delayed %s: %s", d, c->attempts > 0 ?
	    (c->limited ? "channel was rate limiting" :
	    "channel was unreachable") : r->restored ? "sonde was restarted "
	    "with it undelivered" : "channel was busy with earlier alerts");
}

static void
ob_retry_in(struct obchan *c, int64_t retry_after)
{
	struct outbox	*ob = c->ob;
	int64_t		 b = ob->lim.backoff_min, delay;
	int		 i;

	for (i = 1; i < c->attempts && b < ob->lim.backoff_max; i++)
		b *= 2;
	if (b > ob->lim.backoff_max)
		b = ob->lim.backoff_max;
	/* Equal jitter: half fixed, half random, so agents spread out. */
	delay = b / 2 + (int64_t)(random() % (long)(b / 2 + 1));
	if (retry_after > OUTBOX_RETRY_AFTER_MAX_US)
		retry_after = OUTBOX_RETRY_AFTER_MAX_US;
	if (retry_after > delay)
		delay = retry_after;
	loop_timer_after(ob->loop, &c->retry, delay);
}

static void
ob_done(void *arg, enum channel_outcome o, int64_t retry_after,
    const char *detail)
{
	struct obchan		*c = arg;
	struct outbox		*ob = c->ob;
	struct obrec		*r = c->inflight;
	struct notify_item	 it;
	char			 d[32];

	c->inflight = NULL;
	c->handle = NULL;
	if (o == CHANNEL_DELIVERED) {
		ob->st.delivered++;
		if (c->repost_ms > 0)
			ob_track(ob, c, r);
		c->attempts = 0;
		c->limited = false;
		ob_remove(ob, r, false);
	} else if (o == CHANNEL_REJECTED) {
		ob->st.rejected++;
		ob_item(r, 0, &it);
		log_warnx("outbox", "channel \"%s\" rejected the %s of %s/%s "
		    "(%s); kept in %s/rejected, not retried", c->name,
		    notify_kind_str(it.kind), it.rule, it.check, detail,
		    ob->dir);
		c->attempts = 0;
		ob_remove(ob, r, true);
	} else {
		ob->st.retried++;
		c->attempts++;
		c->limited = strncmp(detail, "HTTP 429", 8) == 0;
		ob_retry_in(c, retry_after);
		ob_item(r, 0, &it);
		log_warnx("outbox", "channel \"%s\": send %d of the %s of "
		    "%s/%s failed (%s); next try in %s, %zu waiting", c->name,
		    c->attempts, notify_kind_str(it.kind), it.rule, it.check,
		    detail, result_format_us(c->retry.due -
		    loop_now(ob->loop), d, sizeof(d)),
		    outbox_pending(ob, c->name));
		return;
	}
	ob_kick(c);
}

static void
ob_retry_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	ob_kick(arg);
}

/* Starts the next send of c unless one is in flight or waiting. */
static void
ob_kick(struct obchan *c)
{
	struct outbox			*ob = c->ob;
	const struct channel_conf	*conf;
	struct channel_msg		 msg;
	struct obrec			*r;
	struct notify_item		*items;
	char				 note[128], err[256];

	/* A record is sent only once durable (or known not to be). */
	if (c->inflight != NULL || loop_timer_armed(&c->retry) ||
	    (r = ob_first(ob, c->name)) == NULL || r->held || r->writing ||
	    ob->cfg == NULL || ob->closing)
		return;
	if ((conf = channel_find(ob->cfg, c->name)) == NULL) {
		if (!c->warned)
			log_warnx("outbox", "%zu notification%s for channel "
			    "\"%s\" wait in %s: the config has no such channel",
			    outbox_pending(ob, c->name), outbox_pending(ob,
			    c->name) == 1 ? "" : "s", c->name, ob->dir);
		c->warned = true;
		return;
	}
	ob_note(c, r, note, sizeof(note));
	msg.items = items = ob_items(r);	/* the send copies what it keeps */
	msg.n = r->n;
	msg.note = note;
	msg.test = 0;
	msg.template = conf->template;
	c->inflight = r;
	c->ops = conf->ops;
	c->repost_ms = conf->repost_ms;
	c->handle = conf->ops->send(ob->loop, conf, &msg, ob_done, c, err,
	    sizeof(err));
	free(items);
	if (c->handle == NULL) {
		c->inflight = NULL;
		c->attempts++;
		ob->st.retried++;
		log_warnx("outbox", "channel \"%s\": cannot send: %s", c->name,
		    err);
		ob_retry_in(c, 0);
	}
}

/* ---- the cap ------------------------------------------------------------- */

static bool
ob_is_inflight(const struct outbox *ob, const struct obrec *r)
{
	size_t	i;

	for (i = 0; i < ob->nchans; i++)
		if (ob->chans[i].inflight == r)
			return true;
	return false;
}

/* The record to drop: oldest info first, then oldest; never in flight. */
static struct obrec *
ob_victim(struct outbox *ob)
{
	struct obrec	*r, *any = NULL;

	for (r = ob->head; r != NULL; r = r->next) {
		if (ob_is_inflight(ob, r))
			continue;
		if (r->info)
			return r;
		if (any == NULL)
			any = r;
	}
	return any;
}

static void
ob_make_room(struct outbox *ob, size_t bytes)
{
	struct obrec		*v;
	struct notify_item	 it;

	while ((ob->st.pending + 1 > ob->lim.max_records ||
	    ob->st.bytes + bytes > ob->lim.max_bytes) &&
	    (v = ob_victim(ob)) != NULL) {
		ob->st.dropped++;
		ob_item(v, 0, &it);
		log_warnx("outbox", "outbox full (%zu records, %zu bytes; cap "
		    "%zu, %zu): dropped the %s of %s/%s for channel \"%s\" "
		    "(%" PRIu64 " dropped so far)", ob->st.pending,
		    ob->st.bytes, ob->lim.max_records, ob->lim.max_bytes,
		    notify_kind_str(it.kind), it.rule, it.check, v->channel,
		    ob->st.dropped);
		ob_remove(ob, v, false);
	}
}

/* ---- put, load ----------------------------------------------------------- */

/* The kept-in-memory warning, from here or from outbox_sink_send(). */
static void
ob_warn_not_durable(const struct notify_item *it, const char *channel,
    const char *err)
{
	log_warnx("outbox", "the %s of %s/%s for channel \"%s\" is kept in "
	    "memory only: %s (a restart now would lose it)",
	    notify_kind_str(it->kind), it->rule, it->check, channel, err);
}

/*
 * A record's write is done (diskq, on the loop): it may now be sent.  A
 * failed one is sent anyway, from memory, and counted as not durable.
 */
static void
ob_written(void *arg, uint64_t tag, const struct diskq_done *d)
{
	struct obrec		*r = arg;
	struct outbox		*ob = r->ob;
	struct obchan		*c;
	struct notify_item	 it;

	(void)tag;
	r->writing = false;
	if (r->dead) {
		ob_rec_free(r);
		return;
	}
	if (d->rc != 0) {
		ob->st.not_durable++;
		ob_item(r, 0, &it);
		ob_warn_not_durable(&it, r->channel, d->err);
	} else
		r->on_disk = true;
	if ((c = ob_chan(ob, r->channel)) != NULL)
		ob_kick(c);
}

static int
ob_enqueue(struct outbox *ob, const char *channel,
    const struct notify_item *items, size_t n, bool durable, char *err,
    size_t errlen)
{
	struct obrec	*r;
	struct obchan	*c;
	char		*txt, name[64];
	int		 rc = 0;

	r = xcalloc(1, sizeof(*r));
	r->ob = ob;
	r->seq = ob->next_seq++;
	snprintf(r->channel, sizeof(r->channel), "%s", channel);
	r->created = loop_wallclock();
	ob_set_items(r, items, n);
	txt = outbox_encode(r->seq, channel, r->created, items, n);
	r->bytes = txt != NULL ? strlen(txt) + 1 : sizeof(*items) * n;
	ob_make_room(ob, r->bytes);
	ob_name(r, name, sizeof(name));
	if (txt == NULL)
		snprintf(err, errlen, "cannot encode the record");
	if (!durable)
		;	/* a re-post: the next one replaces it anyway */
	else if (txt != NULL && ob->dq != NULL) {
		/* ob_written() says how it went; the text is the queue's. */
		r->writing = true;
		diskq_write(ob->dq, ob->dir, name, txt, false, ob_written, r,
		    r->seq);
		txt = NULL;
	} else if (txt == NULL || state_write_atomic(ob->dir, name, txt, err,
	    errlen) == -1) {
		ob->st.not_durable++;
		rc = -1;
	} else
		r->on_disk = true;
	free(txt);
	ob->st.written += durable;
	r->held = ob->hold_new;
	ob_link(ob, r);
	if ((c = ob_chan(ob, channel)) != NULL)
		ob_kick(c);
	return rc;
}

void
outbox_hold_new(struct outbox *ob, bool on)
{
	ob->hold_new = on;
}

/*
 * Held records are the newest (written after outbox_hold_new(), appended
 * in seq order), so they are the tail of the list: a tick with nothing
 * held costs one test.
 */
void
outbox_release(struct outbox *ob)
{
	outbox_release_upto(ob, UINT64_MAX);
}

void
outbox_release_upto(struct outbox *ob, uint64_t seq)
{
	struct obrec	*r;
	size_t		 i;

	if (ob->tail == NULL || !ob->tail->held)
		return;
	for (r = ob->tail; r != NULL && r->held; r = r->prev)
		if (r->seq <= seq)
			r->held = false;
	for (i = 0; i < ob->nchans; i++)
		ob_kick(&ob->chans[i]);
}

bool
outbox_holding(const struct outbox *ob)
{
	return ob->tail != NULL && ob->tail->held;
}

uint64_t
outbox_last_seq(const struct outbox *ob)
{
	return ob->next_seq - 1;
}

void
outbox_set_diskq(struct outbox *ob, struct diskq *dq)
{
	ob->dq = dq;
}

void
outbox_each_restored(const struct outbox *ob,
    void (*cb)(const struct notify_item *, void *), void *arg)
{
	const struct obrec	*r;
	struct notify_item	 it;
	size_t			 i;

	for (r = ob->head; r != NULL; r = r->next)
		if (r->restored)
			for (i = 0; i < r->n; i++) {
				ob_item(r, i, &it);
				cb(&it, arg);
			}
}

int
outbox_put(struct outbox *ob, const char *channel,
    const struct notify_item *items, size_t n, char *err, size_t errlen)
{
	return ob_enqueue(ob, channel, items, n, true, err, errlen);
}

/* ---- re-posting while firing --------------------------------------------- */

static void
ob_repost_arm(struct outbox *ob)
{
	int64_t	due = INT64_MAX;
	size_t	i;

	for (i = 0; i < ob->nfiring; i++)
		if (ob->firing[i].due < due)
			due = ob->firing[i].due;
	if (due == INT64_MAX)
		loop_timer_cancel(ob->loop, &ob->repost);
	else
		loop_timer_at(ob->loop, &ob->repost, due);
}

static void
ob_firing_warn(const char *err)
{
	log_warnx("outbox", "cannot save the re-post table: %s (a restart "
	    "would stop re-posting firing alerts)", err);
}

static void
ob_firing_saved(void *arg, uint64_t tag, const struct diskq_done *d)
{
	(void)arg;
	(void)tag;
	if (d->rc != 0)
		ob_firing_warn(d->err);
}

/*
 * The firing table on disk (outbox/firing.json), written when its set of
 * alerts changes, so a restart goes on re-posting what fires: without it
 * an Alertmanager would resolve, after endsAt, an alert sonde still
 * considers firing and will not notify again.
 */
static void
ob_firing_save(struct outbox *ob)
{
	json_t	*arr, *root;
	char	*txt, err[256];
	size_t	 i;

	arr = json_array();
	for (i = 0; i < ob->nfiring; i++)
		json_array_append_new(arr, json_pack("{s:s, s:o}", "channel",
		    ob->firing[i].channel, "item",
		    ob_item_json(&ob->firing[i].item)));
	root = json_pack("{s:i, s:o}", "version", OUTBOX_VERSION, "firing",
	    arr);
	txt = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (txt != NULL && ob->dq != NULL) {
		diskq_write(ob->dq, ob->dir, OUTBOX_FIRING, txt, true,
		    ob_firing_saved, ob, 0);
		return;
	}
	if (txt == NULL || state_write_atomic(ob->dir, OUTBOX_FIRING, txt,
	    err, sizeof(err)) == -1)
		ob_firing_warn(txt == NULL ? "cannot encode" : err);
	free(txt);
}

static void
ob_firing_load(struct outbox *ob)
{
	json_t		*root, *arr, *e;
	char		*path;
	size_t		 i;
	int		 version = 0;

	path = xasprintf("%s/%s", ob->dir, OUTBOX_FIRING);
	root = json_load_file(path, 0, NULL);
	free(path);
	if (root == NULL)
		return;
	if (json_unpack(root, "{s:i, s:o}", "version", &version, "firing",
	    &arr) != 0 || version != OUTBOX_VERSION || !json_is_array(arr)) {
		log_warnx("outbox", "%s/%s is not a re-post table; ignored",
		    ob->dir, OUTBOX_FIRING);
		json_decref(root);
		return;
	}
	ob->firing = xcalloc(json_array_size(arr) + 1, sizeof(*ob->firing));
	json_array_foreach(arr, i, e) {
		struct obfiring	*f = &ob->firing[ob->nfiring];

		if (!ob_str(e, "channel", f->channel, sizeof(f->channel)) ||
		    ob_item_parse(json_object_get(e, "item"), &f->item) == -1)
			continue;
		f->due = loop_now(ob->loop);	/* re-post soon */
		ob->nfiring++;
	}
	json_decref(root);
}

/* Forgets re-posts for channels that are gone or no longer re-post. */
static void
ob_firing_prune(struct outbox *ob)
{
	const struct channel_conf	*c;
	size_t				 i = 0, before = ob->nfiring;

	while (i < ob->nfiring) {
		c = channel_find(ob->cfg, ob->firing[i].channel);
		if (c == NULL || c->repost_ms == 0)
			ob->firing[i] = ob->firing[--ob->nfiring];
		else
			i++;
	}
	if (ob->nfiring != before)
		ob_firing_save(ob);
	ob_repost_arm(ob);
}

static bool
ob_same_alert(const struct notify_item *a, const struct notify_item *b)
{
	return strcmp(a->rule, b->rule) == 0 && strcmp(a->check, b->check) ==
	    0;
}

/* A record was delivered to c: firing alerts are re-posted, others not. */
static void
ob_track(struct outbox *ob, const struct obchan *c, const struct obrec *r)
{
	struct notify_item		*items = ob_items(r);
	const struct notify_item	*it;
	size_t				 i, j;
	bool				 on, changed = false;

	for (i = 0; i < r->n; i++) {
		it = &items[i];
		on = !(it->kind == NOTIFY_RESOLVED || (it->kind ==
		    NOTIFY_STABLE && strcmp(it->state, "ok") == 0));
		for (j = 0; j < ob->nfiring; j++)
			if (strcmp(ob->firing[j].channel, c->name) == 0 &&
			    ob_same_alert(&ob->firing[j].item, it))
				break;
		if (!on) {
			if (j < ob->nfiring) {
				ob->firing[j] = ob->firing[--ob->nfiring];
				changed = true;
			}
			continue;
		}
		if (j == ob->nfiring) {
			changed = true;
			ob->firing = xreallocarray(ob->firing, ob->nfiring + 1,
			    sizeof(*ob->firing));
			ob->nfiring++;
			snprintf(ob->firing[j].channel,
			    sizeof(ob->firing[j].channel), "%s", c->name);
		}
		ob->firing[j].item = *it;
		ob->firing[j].due = loop_now(ob->loop) + c->repost_ms *
		    1000;
	}
	free(items);
	if (changed)
		ob_firing_save(ob);
	ob_repost_arm(ob);
}

static bool
ob_has_pending(struct outbox *ob, const char *channel,
    const struct notify_item *it)
{
	const struct obrec	*r;
	struct notify_item	 tmp;
	uint64_t		 key = ob_key(it);
	size_t			 i;

	for (r = ob->head; r != NULL; r = r->next) {
		if (strcmp(r->channel, channel) != 0)
			continue;
		for (i = 0; i < r->n; i++) {
			if (r->keys[i] != key)
				continue;
			ob_item(r, i, &tmp);
			if (ob_same_alert(&tmp, it))
				return true;
		}
	}
	return false;
}

static void
ob_repost_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct outbox		*ob = arg;
	struct notify_item	 it;
	char			 err[64];
	size_t			 i;

	(void)t;
	for (i = 0; i < ob->nfiring; i++) {
		if (ob->firing[i].due > loop_now(loop))
			continue;
		/* until delivered; then ob_track() sets the next due */
		ob->firing[i].due = loop_now(loop) + 3600 * 1000000LL;
		if (ob_has_pending(ob, ob->firing[i].channel,
		    &ob->firing[i].item))
			continue;
		it = ob->firing[i].item;
		it.kind = NOTIFY_REPEAT;
		it.at = loop_wallclock();
		ob_enqueue(ob, ob->firing[i].channel, &it, 1, false, err,
		    sizeof(err));
	}
	ob_repost_arm(ob);
}

static int
ob_load_one(struct outbox *ob, const char *name)
{
	struct obrec		*r;
	struct notify_item	*items = NULL;
	char			*path, *txt = NULL, err[256];
	long			 len;
	size_t			 n = 0;
	FILE			*f;

	path = xasprintf("%s/%s", ob->dir, name);
	if ((f = fopen(path, "re")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
		    fseek(f, 0, SEEK_SET) == 0) {
			txt = xcalloc(1, (size_t)len + 1);
			if (fread(txt, 1, (size_t)len, f) != (size_t)len)
				txt[0] = '\0';
		}
		fclose(f);
	}
	r = xcalloc(1, sizeof(*r));
	if (txt == NULL || outbox_decode(txt, &r->seq, r->channel,
	    sizeof(r->channel), &r->created, &items, &n, err,
	    sizeof(err)) == -1) {
		log_warnx("outbox", "%s: %s; left in place, not sent", path,
		    txt == NULL ? strerror(errno) : err);
		free(r);
		free(txt);
		free(path);
		return -1;
	}
	ob_set_items(r, items, n);
	free(items);
	r->bytes = strlen(txt) + 1;
	r->on_disk = r->restored = true;
	ob_link(ob, r);
	if (r->seq >= ob->next_seq)
		ob->next_seq = r->seq + 1;
	free(txt);
	free(path);
	return 0;
}

/* Loads every NNN.json of the directory; others are not ours. */
static int
ob_load(struct outbox *ob, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 len;

	if (mkdir(ob->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", ob->dir,
		    strerror(errno));
		return -1;
	}
	if ((d = opendir(ob->dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", ob->dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len != 25 ||
		    strcmp(e->d_name + 20, ".json") != 0)
			continue;
		ob_load_one(ob, e->d_name);
	}
	closedir(d);
	return 0;
}

/* ---- life ---------------------------------------------------------------- */

struct outbox *
outbox_new(struct loop *loop, const char *state_dir,
    const struct outbox_limits *limits, char *err, size_t errlen)
{
	static const struct outbox_limits defaults = {
		OUTBOX_MAX_RECORDS, OUTBOX_MAX_BYTES, OUTBOX_BACKOFF_MIN_US,
		OUTBOX_BACKOFF_MAX_US, OUTBOX_DELAY_NOTE_US
	};
	struct outbox	*ob;

	ob = xcalloc(1, sizeof(*ob));
	ob->loop = loop;
	ob->lim = limits != NULL ? *limits : defaults;
	ob->chans = xcalloc(OUTBOX_CHANS, sizeof(*ob->chans));
	loop_timer_init(&ob->repost, ob_repost_cb, ob);
	ob->next_seq = 1;
	(void)mkdir(state_dir, 0700);
	ob->dir = xasprintf("%s/%s", state_dir, OUTBOX_DIR);
	if (ob_load(ob, err, errlen) == -1) {
		outbox_free(ob);
		return NULL;
	}
	ob_firing_load(ob);
	if (ob->st.pending > 0)
		log_info("outbox", "%zu undelivered notification%s found in "
		    "%s; sending them first", ob->st.pending,
		    ob->st.pending == 1 ? "" : "s", ob->dir);
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	struct obrec	*r, *next;
	size_t		 i;

	if (ob == NULL)
		return;
	/* Writes in flight point at records: let them land first. */
	ob->closing = true;
	if (ob->dq != NULL)
		diskq_flush(ob->dq);
	for (i = 0; i < ob->nchans; i++) {
		if (ob->chans[i].handle != NULL)
			ob->chans[i].ops->cancel(ob->chans[i].handle);
		loop_timer_cancel(ob->loop, &ob->chans[i].retry);
	}
	loop_timer_cancel(ob->loop, &ob->repost);
	free(ob->firing);
	for (r = ob->head; r != NULL; r = next) {
		next = r->next;
		ob_rec_free(r);
	}
	config_unref(ob->cfg);
	free(ob->chans);
	free(ob->dir);
	free(ob);
}

void
outbox_set_config(struct outbox *ob, struct config *cfg)
{
	struct obrec	*r;
	struct obchan	*c;
	size_t		 i;

	config_ref(cfg);
	config_unref(ob->cfg);
	ob->cfg = cfg;
	ob_firing_prune(ob);
	for (r = ob->head; r != NULL; r = r->next)
		(void)ob_chan(ob, r->channel);
	for (i = 0; i < ob->nchans; i++) {
		c = &ob->chans[i];
		c->warned = false;
		ob_kick(c);
	}
}

void
outbox_get_stats(const struct outbox *ob, struct outbox_stats *st)
{
	*st = ob->st;
}

size_t
outbox_pending(const struct outbox *ob, const char *channel)
{
	const struct obrec	*r;
	size_t			 n = 0;

	if (channel == NULL)
		return ob->st.pending;
	for (r = ob->head; r != NULL; r = r->next)
		if (strcmp(r->channel, channel) == 0)
			n++;
	return n;
}

void
outbox_sink_send(void *arg, const char *channel,
    const struct notify_item *items, size_t n)
{
	struct outbox			*ob = arg;
	const struct channel_conf	*c;
	char				 err[256];
	size_t				 i;

	if (strcmp(channel, "log") == 0) {
		notify_log(items, n);
		return;
	}
	c = channel_find(ob->cfg, channel);
	if (n > 1 && c != NULL && c->ops->per_alert) {
		for (i = 0; i < n; i++)
			outbox_sink_send(arg, channel, &items[i], 1);
		return;
	}
	if (outbox_put(ob, channel, items, n, err, sizeof(err)) == -1)
		ob_warn_not_durable(&items[0], channel, err);
}
