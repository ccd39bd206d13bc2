/* SPDX-License-Identifier: ISC */
/*
 * state: saving and loading alert state (agent.state_dir/alerts.json).
 *
 * This module owns the file format (versioned JSON through jansson, every
 * field named, never a raw struct) and the atomic write: temp file in the
 * same directory, fsync, rename(2), fsync of the directory.  It owns no
 * policy: when to save and what a loaded alert means are alert.c's.
 * Blocking file I/O here is local disk only.  The daemon runs it on
 * diskq's writer thread (state_write_file(), state_sync_dir() are what
 * that thread calls: they touch only their arguments and the file
 * system); state_save() and state_write_atomic() are the synchronous
 * forms for tests, tools and fallbacks.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "state.h"
#include "xmalloc.h"

static json_t *
state_alert_json(const struct state_alert *a)
{
	const struct rule_state	*s = &a->st;

	/* 64-bit fields as JSON integers: jansson keeps json_int_t 64-bit. */
	return json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:b, s:i, s:i, s:b,"
	    " s:I, s:I, s:I, s:I, s:b}",
	    "rule", a->rule, "check", a->check,
	    "state", rules_state_str(s->state),
	    "window", (json_int_t)s->window, "nwindow", (int)s->nwindow,
	    "good_run", (int)s->good_run, "violating", (int)s->violating,
	    "flap_hist", (int)s->flap_hist, "nflap", (int)s->nflap,
	    "flapping", (int)s->flapping, "since", (json_int_t)s->since,
	    "good_since", (json_int_t)s->good_since,
	    "last_notify", (json_int_t)s->last_notify,
	    "results", (json_int_t)s->results, "told", (int)a->told);
}

/* Appends the JSON text of o (a new reference, released); -1 if none. */
static int
state_append_json(struct buf *b, json_t *o, size_t flags)
{
	char	*txt = o != NULL ? json_dumps(o, flags) : NULL;

	json_decref(o);
	if (txt == NULL)
		return -1;
	buf_puts(b, txt);
	free(txt);
	return 0;
}

/*
 * The file is written one alert at a time, not built as one jansson tree:
 * 10,000 failing checks made a 2 MB file out of an 18 MB tree, on every
 * save while they changed.
 */
static char *
state_dump(const char *agent, const struct state_alert *v, size_t n,
    int64_t now)
{
	struct buf	b = { NULL, 0, 0 };
	size_t		i;

	buf_printf(&b, "{\"version\":%d,\"agent\":", STATE_VERSION);
	if (state_append_json(&b, json_string(agent), JSON_ENCODE_ANY) == -1)
		goto fail;
	buf_printf(&b, ",\"saved_at\":%" PRId64 ",\"alerts\":[", now);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(&b, ",");
		if (state_append_json(&b, state_alert_json(&v[i]),
		    JSON_COMPACT) == -1)
			goto fail;
	}
	buf_puts(&b, "]}");
	return b.data;
fail:
	buf_free(&b);
	return NULL;
}

static int
state_write_all(int fd, const char *txt)
{
	size_t	len = strlen(txt), off = 0;
	ssize_t	w;

	while (off < len) {
		if ((w = write(fd, txt + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	return write(fd, "\n", 1) == 1 ? 0 : -1;
}

/* fsync of the directory makes the rename itself durable. */
int
state_sync_dir(const char *dir, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
state_write_file(const char *dir, const char *name, const char *txt,
    char *err, size_t errlen)
{
	char	*path = NULL, *tmp = NULL;
	int	 fd = -1, rc = -1;

	path = xasprintf("%s/%s", dir, name);
	tmp = xasprintf("%s/.%s.tmp", dir, name);
	/* The directory itself is created (one level, 0700) on first use. */
	if (access(dir, F_OK) == -1 && errno == ENOENT &&
	    mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	/* O_NOFOLLOW: a planted link is an error, never a file truncated. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || state_write_all(fd, txt) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1 || (fd = -1, rename(tmp, path) == -1)) {
		fd = -1;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	free(path);
	free(tmp);
	return rc;
}

int
state_write_atomic(const char *dir, const char *name, const char *txt,
    char *err, size_t errlen)
{
	if (state_write_file(dir, name, txt, err, errlen) == -1)
		return -1;
	return state_sync_dir(dir, err, errlen);
}

char *
state_encode(const char *agent, const struct state_alert *v, size_t n)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return state_dump(agent, v, n, (int64_t)ts.tv_sec * 1000000 +
	    ts.tv_nsec / 1000);
}

int
state_save(const char *dir, const char *agent, const struct state_alert *v,
    size_t n, char *err, size_t errlen)
{
	char	*txt;
	int	 rc;

	if ((txt = state_encode(agent, v, n)) == NULL) {
		snprintf(err, errlen, "cannot encode the alert state");
		return -1;
	}
	rc = state_write_atomic(dir, STATE_FILE, txt, err, errlen);
	free(txt);
	return rc;
}

static int
state_find(const char *name)
{
	int	i;

	for (i = 0; i < RULES_STATE_LAST; i++)
		if (strcmp(rules_state_str(i), name) == 0)
			return i;
	return -1;
}

/* One entry; returns 0, or -1 with err naming the field. */
static int
state_alert_parse(json_t *o, struct state_alert *a, char *err, size_t errlen)
{
	json_error_t	 je;
	json_int_t	 win, since, gsince, lnot, results;
	const char	*rule, *check, *state;
	int		 nwin, grun, viol, fh, nf, flap, told, st;

	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:i, "
	    "s:i, s:b, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:b}",
	    "rule", &rule, "check", &check, "state", &state, "window", &win,
	    "nwindow", &nwin, "good_run", &grun, "violating", &viol,
	    "flap_hist", &fh, "nflap", &nf, "flapping", &flap, "since", &since,
	    "good_since", &gsince, "last_notify", &lnot, "results", &results,
	    "told", &told) == -1) {
		snprintf(err, errlen, "%s", je.text);
		return -1;
	}
	/*
	 * rules_eval() keeps no bit beyond the results it counts; one
	 * there would be counted as a failure ("failed=7/5").
	 */
	if ((st = state_find(state)) < 0 || nwin < 0 || nwin > 64 ||
	    (nwin < 64 && (uint64_t)win >> nwin != 0) ||
	    nf < 0 || nf > RULES_FLAP_RESULTS || fh < 0 ||
	    (uint32_t)fh >> nf != 0 || grun < 0 ||
	    /* wall µs: the rules subtract them from now */
	    since < 0 || gsince < 0 || lnot < 0 ||
	    strlen(rule) >= sizeof(a->rule) ||
	    strlen(check) >= sizeof(a->check)) {
		snprintf(err, errlen, "alert %s/%s: a value is out of range",
		    rule, check);
		return -1;
	}
	memset(a, 0, sizeof(*a));
	snprintf(a->rule, sizeof(a->rule), "%s", rule);
	snprintf(a->check, sizeof(a->check), "%s", check);
	a->st.state = (enum rules_state)st;
	a->st.window = (uint64_t)win;
	a->st.nwindow = (uint32_t)nwin;
	a->st.good_run = (uint32_t)grun;
	a->st.violating = viol;
	a->st.flap_hist = (uint32_t)fh;
	a->st.nflap = (uint32_t)nf;
	a->st.flapping = flap;
	a->st.since = since;
	a->st.good_since = gsince;
	a->st.last_notify = lnot;
	a->st.results = (uint64_t)results;
	a->told = told;
	return 0;
}

static int
state_parse(json_t *root, struct state_alert **v, size_t *n, char *err,
    size_t errlen)
{
	json_t	*arr, *o;
	size_t	 i;
	char	 why[160];
	int	 version = 0;

	if (json_unpack(root, "{s:i, s:o}", "version", &version, "alerts",
	    &arr) == -1 || !json_is_array(arr)) {
		snprintf(err, errlen, "not a sonde state file (no version or "
		    "alerts)");
		return -1;
	}
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "version %d, this sonde reads %d",
		    version, STATE_VERSION);
		return -1;
	}
	*v = xcalloc(json_array_size(arr) + 1, sizeof(**v));
	json_array_foreach(arr, i, o) {
		if (state_alert_parse(o, &(*v)[i], why, sizeof(why)) == -1) {
			snprintf(err, errlen, "alerts[%zu]: %s", i, why);
			free(*v);
			*v = NULL;
			return -1;
		}
	}
	*n = json_array_size(arr);
	return 0;
}

int
state_load(const char *dir, struct state_alert **v, size_t *n, char *err,
    size_t errlen)
{
	json_error_t	 je;
	json_t		*root;
	char		*path, why[256];
	int		 rc;

	*v = NULL;
	*n = 0;
	path = xasprintf("%s/%s", dir, STATE_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		free(path);
		return 0;
	}
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		free(path);
		return -1;
	}
	if ((rc = state_parse(root, v, n, why, sizeof(why))) == -1)
		snprintf(err, errlen, "%s: %s", path, why);
	json_decref(root);
	free(path);
	return rc;
}

int
state_dir_check(const char *dir, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s is writable by other users (mode "
		    "%04o); give sonde a directory of its own (mode 0700)",
		    dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0 && geteuid() != 0) {
		snprintf(err, errlen, "%s belongs to uid %ld, not to the user "
		    "sonde runs as (uid %ld)", dir, (long)st.st_uid,
		    (long)geteuid());
		return -1;
	}
	return 0;
}
