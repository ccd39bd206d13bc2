/* SPDX-License-Identifier: ISC */
/*
 * slo: bucketed good/bad counts per SLO check, the figures derived from
 * them (availability, error budget, burn rates), and their file.
 *
 * This module owns the bucket arithmetic, the table of the running
 * config's SLO checks and the format of agent.state_dir/slo.json.  It owns
 * no alerting (burn-rate rules are rules with when = "slo_burn", evaluated
 * by alert.c with the figures from here), no parsing of the slo block
 * (config.c) and no presentation (report.c, the metrics code).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "probe.h"
#include "sched.h"
#include "slo.h"
#include "state.h"
#include "xmalloc.h"

_Static_assert(sizeof(struct slo_store) <= 8192,
    "an SLO check's store must stay within 8 KB (sonde.conf(5))");

const int64_t slo_burn_windows_ms[SLO_NBURN] = {
	5 * 60000, 30 * 60000, 60 * 60000, 6 * 60 * 60000
};

struct slo_entry {
	char			*name;
	struct slo_conf		 conf;
	struct slo_store	*store;		/* owned */
};

/* Entries in config order, found by name through an open-addressed index. */
struct slo_table {
	struct slo_entry	*v;
	size_t			 n;
	size_t			*index;		/* entry + 1; 0: empty */
	size_t			 cap;		/* a power of 2, > 2n */
	bool			 dirty;
};

/* ---- the store ----------------------------------------------------------- */

void
slo_store_init(struct slo_store *st, int64_t window_ms)
{
	memset(st, 0, sizeof(*st));
	st->coarse_us = window_ms * 1000 / SLO_COARSE_BUCKETS;
	if (st->coarse_us < SLO_FINE_US)
		st->coarse_us = SLO_FINE_US;
	st->fine_idx = -1;
	st->coarse_idx = -1;
}

static int64_t
slo_floordiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Moves the fine ring to bucket idx, emptying the buckets skipped. */
static void
slo_fine_advance(struct slo_store *st, int64_t idx)
{
	int64_t	i;

	if (st->fine_idx >= 0 && idx <= st->fine_idx)
		return;
	if (st->fine_idx < 0 || idx - st->fine_idx >= SLO_FINE_BUCKETS)
		memset(st->fine, 0, sizeof(st->fine));
	else
		for (i = st->fine_idx + 1; i <= idx; i++)
			memset(&st->fine[i % SLO_FINE_BUCKETS], 0,
			    sizeof(st->fine[0]));
	st->fine_idx = idx;
}

static void
slo_coarse_advance(struct slo_store *st, int64_t idx)
{
	int64_t	i;
	size_t	s;

	if (st->coarse_idx >= 0 && idx <= st->coarse_idx)
		return;
	if (st->coarse_idx < 0 || idx - st->coarse_idx >= SLO_COARSE_BUCKETS) {
		memset(st->coarse, 0, sizeof(st->coarse));
		memset(st->unknown, 0, sizeof(st->unknown));
	} else
		for (i = st->coarse_idx + 1; i <= idx; i++) {
			s = (size_t)(i % SLO_COARSE_BUCKETS);
			memset(&st->coarse[s], 0, sizeof(st->coarse[0]));
			st->unknown[s] = 0;
		}
	st->coarse_idx = idx;
}

void
slo_store_add(struct slo_store *st, int64_t now, bool good)
{
	int64_t		 fi = slo_floordiv(now, SLO_FINE_US);
	int64_t		 ci = slo_floordiv(now, st->coarse_us);
	struct slo_fine	*f;
	struct slo_coarse *c;

	if (fi < 0)
		return;
	slo_fine_advance(st, fi);
	slo_coarse_advance(st, ci);
	/* A clock stepped back counts in the newest bucket. */
	f = &st->fine[st->fine_idx % SLO_FINE_BUCKETS];
	c = &st->coarse[st->coarse_idx % SLO_COARSE_BUCKETS];
	if (good) {
		if (f->good < UINT16_MAX)
			f->good++;
		if (c->good < UINT32_MAX)
			c->good++;
	} else {
		if (f->bad < UINT16_MAX)
			f->bad++;
		if (c->bad < UINT32_MAX)
			c->bad++;
	}
	if (st->first == 0)
		st->first = now;
	if (now > st->last)
		st->last = now;
}

void
slo_store_unknown(struct slo_store *st, int64_t from, int64_t to)
{
	int64_t	i, lo, hi, a, b, min, cap;
	size_t	s;

	if (to <= from || to < 0)
		return;
	if (from < 0)
		from = 0;
	hi = slo_floordiv(to - 1, st->coarse_us);
	slo_coarse_advance(st, hi);
	lo = slo_floordiv(from, st->coarse_us);
	if (lo <= st->coarse_idx - SLO_COARSE_BUCKETS)
		lo = st->coarse_idx - SLO_COARSE_BUCKETS + 1;
	cap = st->coarse_us / SLO_FINE_US;
	if (cap > UINT8_MAX)
		cap = UINT8_MAX;
	for (i = lo; i <= hi; i++) {
		a = i * st->coarse_us > from ? i * st->coarse_us : from;
		b = (i + 1) * st->coarse_us < to ? (i + 1) * st->coarse_us : to;
		s = (size_t)(i % SLO_COARSE_BUCKETS);
		/* Rounded to the nearest minute, one bucket at a time. */
		min = st->unknown[s] + (b - a + SLO_FINE_US / 2) / SLO_FINE_US;
		st->unknown[s] = (uint8_t)(min > cap ? cap : min);
	}
}

/* The newest bucket of a ring at now and how many to sum. */
static void
slo_span(int64_t now, int64_t width, int64_t window_us, int64_t *idx,
    int64_t *n)
{
	*idx = slo_floordiv(now, width);
	*n = (window_us + width - 1) / width;
}

void
slo_store_sum(const struct slo_store *st, int64_t now, int64_t window_us,
    uint64_t *good, uint64_t *bad)
{
	int64_t	idx, n, i, lo;
	bool	fine = window_us <= SLO_FINE_BUCKETS * SLO_FINE_US;

	*good = *bad = 0;
	slo_span(now, fine ? SLO_FINE_US : st->coarse_us, window_us, &idx, &n);
	if (fine) {
		lo = st->fine_idx - SLO_FINE_BUCKETS;
		for (i = idx; i > idx - n && i > lo && i >= 0; i--) {
			if (i > st->fine_idx)
				continue;
			*good += st->fine[i % SLO_FINE_BUCKETS].good;
			*bad += st->fine[i % SLO_FINE_BUCKETS].bad;
		}
		return;
	}
	if (n > SLO_COARSE_BUCKETS)
		n = SLO_COARSE_BUCKETS;
	lo = st->coarse_idx - SLO_COARSE_BUCKETS;
	for (i = idx; i > idx - n && i > lo && i >= 0; i--) {
		if (i > st->coarse_idx)
			continue;
		*good += st->coarse[i % SLO_COARSE_BUCKETS].good;
		*bad += st->coarse[i % SLO_COARSE_BUCKETS].bad;
	}
}

int64_t
slo_store_unknown_us(const struct slo_store *st, int64_t now,
    int64_t window_us)
{
	int64_t	idx, n, i, lo, sum = 0;

	slo_span(now, st->coarse_us, window_us, &idx, &n);
	if (n > SLO_COARSE_BUCKETS)
		n = SLO_COARSE_BUCKETS;
	lo = st->coarse_idx - SLO_COARSE_BUCKETS;
	for (i = idx; i > idx - n && i > lo && i >= 0; i--)
		if (i <= st->coarse_idx)
			sum += st->unknown[i % SLO_COARSE_BUCKETS];
	return sum * SLO_FINE_US;
}

double
slo_store_burn(const struct slo_store *st, const struct slo_conf *c,
    int64_t now, int64_t window_us)
{
	uint64_t	good, bad;

	slo_store_sum(st, now, window_us, &good, &bad);
	if (good + bad == 0)
		return NAN;
	return ((double)bad / (double)(good + bad)) /
	    (1.0 - c->objective / 100.0);
}

int64_t
slo_budget_us(const struct slo_conf *c)
{
	/* Rounded to the µs (no libm: floor of x + 0.5, x >= 0). */
	return (int64_t)((double)c->window_ms * 1000.0 *
	    (1.0 - c->objective / 100.0) + 0.5);
}

void
slo_store_figures(const struct slo_store *st, const struct slo_conf *c,
    int64_t now, struct slo_figures *f)
{
	int64_t	win = c->window_ms * 1000;
	double	err, b1h;
	size_t	i;

	f->conf = *c;
	slo_store_sum(st, now, win, &f->good, &f->bad);
	f->unknown_us = slo_store_unknown_us(st, now, win);
	f->covered_us = st->first == 0 ? 0 : now - st->first;
	if (f->covered_us > win)
		f->covered_us = win;
	f->budget_us = slo_budget_us(c);
	f->availability = f->budget_left = NAN;
	if (f->good + f->bad > 0) {
		err = (double)f->bad / (double)(f->good + f->bad);
		f->availability = 1.0 - err;
		f->budget_left = 1.0 - err / (1.0 - c->objective / 100.0);
	}
	for (i = 0; i < SLO_NBURN; i++)
		f->burn[i] = slo_store_burn(st, c, now,
		    slo_burn_windows_ms[i] * 1000);
	/* At the last hour's rate, the rest of the budget lasts left/b. */
	b1h = f->burn[2];
	f->exhausted_in_us = -1;
	if (!isnan(f->budget_left) && f->budget_left <= 0)
		f->exhausted_in_us = 0;
	else if (!isnan(f->budget_left) && !isnan(b1h) && b1h > 0)
		f->exhausted_in_us = (int64_t)(f->budget_left * (double)win /
		    b1h);
}

bool
slo_good(const struct slo_conf *c, const struct probe_result *res)
{
	if (res->status != PROBE_OK)
		return false;
	return c->latency_ms == 0 || res->duration < c->latency_ms * 1000;
}

/* ---- the table ----------------------------------------------------------- */

struct slo_table *
slo_table_new(void)
{
	return xcalloc(1, sizeof(struct slo_table));
}

static void
slo_entries_free(struct slo_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].store);
	}
	free(v);
}

void
slo_table_free(struct slo_table *t)
{
	if (t == NULL)
		return;
	slo_entries_free(t->v, t->n);
	free(t->index);
	free(t);
}

/* A result looks its check up by name: O(1), not a scan of every SLO. */
static struct slo_entry *
slo_table_find(const struct slo_table *t, const char *name)
{
	size_t	i, mask = t->cap - 1;

	if (t->cap == 0)
		return NULL;
	for (i = sched_hash(name) & mask; t->index[i] != 0; i = (i + 1) & mask)
		if (strcmp(t->v[t->index[i] - 1].name, name) == 0)
			return &t->v[t->index[i] - 1];
	return NULL;
}

static void
slo_table_index(struct slo_table *t)
{
	size_t	i, j, mask;

	free(t->index);
	for (t->cap = 16; t->cap < 2 * t->n + 1; t->cap *= 2)
		;
	t->index = xcalloc(t->cap, sizeof(*t->index));
	mask = t->cap - 1;
	for (i = 0; i < t->n; i++) {
		for (j = sched_hash(t->v[i].name) & mask; t->index[j] != 0;
		    j = (j + 1) & mask)
			;
		t->index[j] = i + 1;
	}
}

void
slo_table_set_config(struct slo_table *t, const struct config *cfg)
{
	struct slo_entry	*nv, *o;
	size_t			 i, n = 0;

	nv = xcalloc(cfg->nchecks + 1, sizeof(*nv));
	for (i = 0; i < cfg->nchecks; i++) {
		if (cfg->checks[i].slo == NULL)
			continue;
		nv[n].name = xstrdup(cfg->checks[i].name);
		nv[n].conf = *cfg->checks[i].slo;
		/* Counts do not depend on the objective; the window's do. */
		o = slo_table_find(t, nv[n].name);
		if (o != NULL && o->conf.window_ms == nv[n].conf.window_ms) {
			nv[n].store = o->store;
			o->store = NULL;
		} else {
			nv[n].store = xmalloc(sizeof(*nv[n].store));
			slo_store_init(nv[n].store, nv[n].conf.window_ms);
		}
		n++;
	}
	slo_entries_free(t->v, t->n);
	t->v = nv;
	t->n = n;
	slo_table_index(t);
}

void
slo_table_result(struct slo_table *t, const struct check_conf *check,
    const struct probe_result *res, int64_t now)
{
	struct slo_entry	*e;

	if (check->slo == NULL || (e = slo_table_find(t, check->name)) == NULL)
		return;
	slo_store_add(e->store, now, slo_good(&e->conf, res));
	t->dirty = true;
}

const struct slo_store *
slo_table_store(const struct slo_table *t, const char *name,
    const struct slo_conf **conf)
{
	struct slo_entry	*e;

	if ((e = slo_table_find(t, name)) == NULL)
		return NULL;
	if (conf != NULL)
		*conf = &e->conf;
	return e->store;
}

size_t
slo_table_count(const struct slo_table *t)
{
	return t->n;
}

void
slo_table_figures(const struct slo_table *t, size_t i, int64_t now,
    struct slo_figures *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->check, sizeof(f->check), "%s", t->v[i].name);
	slo_store_figures(t->v[i].store, &t->v[i].conf, now, f);
}

bool
slo_table_dirty(const struct slo_table *t)
{
	return t->dirty;
}

/* ---- the file ------------------------------------------------------------ */

/*
 * Bucket arrays are written as one string of comma-separated counts
 * ("60,0,58,2,..."), not as JSON arrays: 2,880 json_t per check made the
 * minute's save of 1,000 SLO checks take 450 ms of the loop; a string per
 * array costs one copy.  Unknown minutes are sparse: "slot:minutes,...".
 */
struct slo_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
slo_buf_u32(struct slo_buf *b, uint32_t v, char sep)
{
	char	tmp[12];
	size_t	n = 0;

	if (b->len + sizeof(tmp) + 2 > b->cap) {
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		b->p[b->len++] = tmp[--n];
	if (sep != '\0')
		b->p[b->len++] = sep;
	b->p[b->len] = '\0';
}

/* Sets o[key] to the buffer's text (without a trailing comma). */
static void
slo_buf_set(json_t *o, const char *key, struct slo_buf *b)
{
	if (b->len > 0 && b->p[b->len - 1] == ',')
		b->p[--b->len] = '\0';
	json_object_set_new(o, key, json_stringn(b->p != NULL ? b->p : "",
	    b->len));
	b->len = 0;
}

static json_t *
slo_entry_json(const char *name, const struct slo_conf *c,
    const struct slo_store *st, struct slo_buf *b)
{
	json_t	*o;
	size_t	 i;

	o = json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "check", name, "objective", c->objective,
	    "window_ms", (json_int_t)c->window_ms,
	    "latency_ms", (json_int_t)c->latency_ms,
	    "coarse_us", (json_int_t)st->coarse_us,
	    "fine_idx", (json_int_t)st->fine_idx,
	    "coarse_idx", (json_int_t)st->coarse_idx,
	    "first", (json_int_t)st->first, "last", (json_int_t)st->last);
	if (o == NULL)
		return NULL;
	for (i = 0; i < SLO_FINE_BUCKETS; i++) {
		slo_buf_u32(b, st->fine[i].good, ',');
		slo_buf_u32(b, st->fine[i].bad, ',');
	}
	slo_buf_set(o, "fine", b);
	for (i = 0; i < SLO_COARSE_BUCKETS; i++) {
		slo_buf_u32(b, st->coarse[i].good, ',');
		slo_buf_u32(b, st->coarse[i].bad, ',');
	}
	slo_buf_set(o, "coarse", b);
	for (i = 0; i < SLO_COARSE_BUCKETS; i++) {
		if (st->unknown[i] == 0)
			continue;
		slo_buf_u32(b, (uint32_t)i, ':');
		slo_buf_u32(b, st->unknown[i], ',');
	}
	slo_buf_set(o, "unknown", b);
	return o;
}

char *
slo_table_encode(struct slo_table *t, int64_t now)
{
	struct slo_buf	 b = { NULL, 0, 0 };
	json_t		*arr, *root;
	char		*txt;
	size_t		 i;

	arr = json_array();
	for (i = 0; i < t->n; i++)
		json_array_append_new(arr, slo_entry_json(t->v[i].name,
		    &t->v[i].conf, t->v[i].store, &b));
	free(b.p);
	root = json_pack("{s:i, s:I, s:o}", "version", SLO_VERSION,
	    "saved_at", (json_int_t)now, "checks", arr);
	txt = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (txt != NULL)
		t->dirty = false;
	return txt;
}

int
slo_table_save(struct slo_table *t, const char *dir, int64_t now, char *err,
    size_t errlen)
{
	char	*txt;
	int	 rc;

	if ((txt = slo_table_encode(t, now)) == NULL) {
		snprintf(err, errlen, "cannot encode the SLO counts");
		return -1;
	}
	if ((rc = state_write_atomic(dir, SLO_FILE, txt, err, errlen)) == -1)
		t->dirty = true;
	free(txt);
	return rc;
}

/*
 * Reads the comma-separated counts of o[key]: exactly n values, each in
 * [0, max].  Returns 0 or -1.
 */
static int
slo_read_counts(json_t *o, const char *key, size_t n, unsigned long max,
    uint32_t *out)
{
	const char	*p = json_string_value(json_object_get(o, key));
	char		*end;
	unsigned long	 v;
	size_t		 i;

	if (p == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || v > max || (*end != ',' && *end != '\0') ||
		    (*end == '\0' && i + 1 < n))
			return -1;
		out[i] = (uint32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	return *p == '\0' ? 0 : -1;
}

/* "slot:minutes,..." into st->unknown. */
static int
slo_read_unknown(json_t *o, struct slo_store *st)
{
	const char	*p = json_string_value(json_object_get(o, "unknown"));
	char		*end;
	unsigned long	 slot, min;

	if (p == NULL)
		return -1;
	while (*p != '\0') {
		slot = strtoul(p, &end, 10);
		if (end == p || *end != ':' || slot >= SLO_COARSE_BUCKETS)
			return -1;
		p = end + 1;
		min = strtoul(p, &end, 10);
		if (end == p || min > UINT8_MAX || (*end != ',' &&
		    *end != '\0'))
			return -1;
		st->unknown[slot] = (uint8_t)min;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int
slo_buckets_parse(json_t *o, struct slo_store *st)
{
	uint32_t	*v;
	size_t		 i;
	int		 rc = -1;

	v = xcalloc(2 * SLO_COARSE_BUCKETS, sizeof(*v));
	if (slo_read_counts(o, "fine", 2 * SLO_FINE_BUCKETS, UINT16_MAX,
	    v) == -1)
		goto out;
	for (i = 0; i < SLO_FINE_BUCKETS; i++) {
		st->fine[i].good = (uint16_t)v[2 * i];
		st->fine[i].bad = (uint16_t)v[2 * i + 1];
	}
	if (slo_read_counts(o, "coarse", 2 * SLO_COARSE_BUCKETS, UINT32_MAX,
	    v) == -1)
		goto out;
	for (i = 0; i < SLO_COARSE_BUCKETS; i++) {
		st->coarse[i].good = v[2 * i];
		st->coarse[i].bad = v[2 * i + 1];
	}
	rc = slo_read_unknown(o, st);
out:
	free(v);
	return rc;
}

/* One entry; returns 0, or -1 with err. */
static int
slo_entry_parse(json_t *o, struct slo_saved *s, char *err, size_t errlen)
{
	json_error_t	 je;
	const char	*name;
	json_int_t	 win, lat, cus, fi, ci, first, last;
	double		 obj;

	if (json_unpack_ex(o, &je, 0, "{s:s, s:F, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}", "check", &name, "objective", &obj, "window_ms", &win,
	    "latency_ms", &lat, "coarse_us", &cus, "fine_idx", &fi,
	    "coarse_idx", &ci, "first", &first, "last", &last) == -1) {
		snprintf(err, errlen, "%s", je.text);
		return -1;
	}
	if (obj <= 0 || obj >= 100 || win < SLO_WINDOW_MIN_MS ||
	    win > SLO_WINDOW_MAX_MS || lat < 0 || lat > win ||
	    cus != win * 1000 / SLO_COARSE_BUCKETS) {
		snprintf(err, errlen, "check '%s': objective, window or bucket "
		    "width out of range", name);
		return -1;
	}
	/*
	 * -1 is an empty ring; the store's arithmetic subtracts ring sizes
	 * from the indices and times from now, so anything more negative
	 * (a corrupt file) would overflow.
	 */
	if (fi < -1 || ci < -1 || first < 0 || last < 0) {
		snprintf(err, errlen, "check '%s': bucket index or time out of "
		    "range", name);
		return -1;
	}
	snprintf(s->check, sizeof(s->check), "%s", name);
	s->conf.objective = obj;
	s->conf.window_ms = win;
	s->conf.latency_ms = lat;
	slo_store_init(&s->store, win);
	s->store.fine_idx = fi;
	s->store.coarse_idx = ci;
	s->store.first = first;
	s->store.last = last;
	if (slo_buckets_parse(o, &s->store) == -1) {
		snprintf(err, errlen, "check '%s': bad bucket arrays", name);
		return -1;
	}
	return 0;
}

/* Reads the whole file into *root; 1: missing, 0: read, -1: err. */
static int
slo_file_read(const char *dir, json_t **root, char *err, size_t errlen)
{
	json_error_t	 je;
	char		*path;

	path = xasprintf("%s/%s", dir, SLO_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		free(path);
		return 1;
	}
	if ((*root = json_load_file(path, 0, &je)) == NULL)
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
	free(path);
	return *root == NULL ? -1 : 0;
}

int
slo_file_load(const char *dir, struct slo_saved **v, size_t *n,
    int64_t *saved_at, char *err, size_t errlen)
{
	json_t		*root = NULL, *arr, *o;
	json_int_t	 ver = 0, at = 0;
	size_t		 i;
	int		 rc;

	*v = NULL;
	*n = 0;
	*saved_at = 0;
	if ((rc = slo_file_read(dir, &root, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	arr = json_object_get(root, "checks");
	if (json_unpack(root, "{s:I, s:I}", "version", &ver, "saved_at",
	    &at) == -1 || ver != SLO_VERSION || !json_is_array(arr)) {
		snprintf(err, errlen, "%s/%s: not a version %d SLO file", dir,
		    SLO_FILE, SLO_VERSION);
		json_decref(root);
		return -1;
	}
	*v = xcalloc(json_array_size(arr) + 1, sizeof(**v));
	json_array_foreach(arr, i, o) {
		if (slo_entry_parse(o, &(*v)[i], err, errlen) == -1) {
			free(*v);
			*v = NULL;
			json_decref(root);
			return -1;
		}
	}
	*n = json_array_size(arr);
	*saved_at = at;
	json_decref(root);
	return 0;
}

int
slo_table_restore(struct slo_table *t, const char *dir, int64_t now,
    int64_t *gap, size_t *restored, char *err, size_t errlen)
{
	struct slo_saved	*v;
	struct slo_entry	*e;
	int64_t			 saved_at;
	size_t			 i, n, kept = 0;

	if (slo_file_load(dir, &v, &n, &saved_at, err, errlen) == -1)
		return -1;
	if (gap != NULL)
		*gap = n > 0 && now > saved_at ? now - saved_at : 0;
	for (i = 0; i < n; i++) {
		e = slo_table_find(t, v[i].check);
		if (e == NULL || e->conf.window_ms != v[i].conf.window_ms)
			continue;
		*e->store = v[i].store;
		kept++;
		/* Down since the save: neither good nor bad. */
		if (now > saved_at)
			slo_store_unknown(e->store, saved_at, now);
	}
	if (restored != NULL)
		*restored = kept;
	free(v);
	return 0;
}
