/* SPDX-License-Identifier: ISC */
/*
 * confread: typed, validating reads of libconfig settings.
 *
 * This module owns the wording of every per-setting config error: a wrong
 * type, a value out of range, a missing required key, an unknown key with
 * its "did you mean" suggestion.  Each read reports on the setting's own
 * file and line and lets the caller go on, so one pass finds every error.
 * It does not own the schema: config.c and each kind's conf_parse hook say
 * which keys exist and what they mean.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "log.h"
#include "pattern.h"
#include "xmalloc.h"

#define DISTANCE_MAX	255

/* Puts what a group is called in messages into buf: "agent", "check". */
static const char *
group_what(const config_setting_t *group, char *buf, size_t buflen)
{
	const config_setting_t	*parent;
	const char		*name;
	size_t			 len;

	name = config_setting_name(group);
	if (name != NULL)
		return name;
	parent = config_setting_parent(group);
	if (parent == NULL || config_setting_name(parent) == NULL)
		return "group";
	/* An element of "checks" is a "check". */
	name = config_setting_name(parent);
	len = strlen(name);
	if (len > 1 && name[len - 1] == 's')
		len--;
	snprintf(buf, buflen, "%.*s", (int)len, name);
	return buf;
}

/* Returns the member key of group, recording an error if required. */
static const config_setting_t *
member(struct confread *cr, const config_setting_t *group, const char *key,
    bool required)
{
	const config_setting_t	*s;
	char			 buf[64];

	if (group == NULL || !config_setting_is_group(group))
		return NULL;
	s = config_setting_get_member(group, key);
	if (s == NULL && required)
		confread_error(cr, group, "%s is missing required key '%s'",
		    group_what(group, buf, sizeof(buf)), key);
	return s;
}

const char *
confread_type_name(const struct config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

void
confread_error(struct confread *cr, const struct config_setting_t *at,
    const char *fmt, ...)
{
	va_list		 ap;
	char		*msg;
	const char	*file = NULL;
	unsigned int	 line = 0;

	if (at != NULL) {
		file = config_setting_source_file(at);
		line = config_setting_source_line(at);
	}
	if (file == NULL)
		file = cr->file != NULL ? cr->file : "(config)";
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (line > 0)
		config_errors_add(cr->errs, "%s:%u: %s", file, line,
		    msg != NULL ? msg : fmt);
	else
		config_errors_add(cr->errs, "%s: %s", file,
		    msg != NULL ? msg : fmt);
	free(msg);
	cr->nerrors++;
}

/*
 * The edit distance between a and b, capped; with transpose, swapping two
 * adjacent characters is one edit (optimal string alignment), which is how
 * people mistype ("tpc", "chekcs").
 */
static int
edit_distance(const char *a, const char *b, bool transpose)
{
	size_t		 la, lb, i, j;
	unsigned int	 small[3][DISTANCE_MAX + 1], *buf = NULL;
	unsigned int	*prev2, *prev, *row, *tmp, d;

	la = strlen(a);
	lb = strlen(b);
	if ((la > lb ? la - lb : lb - la) >= DISTANCE_MAX)
		return DISTANCE_MAX;
	if (lb < DISTANCE_MAX) {
		prev2 = small[0];
		prev = small[1];
		row = small[2];
	} else {
		buf = xcalloc(3 * (lb + 1), sizeof(*buf));
		prev2 = buf;
		prev = buf + lb + 1;
		row = buf + 2 * (lb + 1);
	}
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			if (transpose && i > 1 && j > 1 &&
			    a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			row[j] = d;
		}
		tmp = prev2;
		prev2 = prev;
		prev = row;
		row = tmp;
	}
	d = prev[lb];
	free(buf);
	return d > DISTANCE_MAX ? DISTANCE_MAX : (int)d;
}

int
confread_distance(const char *a, const char *b)
{
	return edit_distance(a, b, false);
}

const char *
confread_suggest(const char *word, const char *const *names)
{
	const char	*best = NULL;
	int		 bestd = DISTANCE_MAX, d, len;
	size_t		 i;

	if (names == NULL)
		return NULL;
	len = (int)strnlen(word, DISTANCE_MAX);
	for (i = 0; names[i] != NULL; i++) {
		d = edit_distance(word, names[i], true);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	/*
	 * A typo, not another word: one slip per eight characters, plus one;
	 * "tpc" is "tcp", but "htpp" is not "tcp" and "a" is not "ip".
	 */
	if (best == NULL || bestd >= len || bestd > 1 + len / 8)
		return NULL;
	return best;
}

static bool
in_list(const char *name, const char *const *names)
{
	size_t	i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

int
confread_check_keys(struct confread *cr,
    const struct config_setting_t *group, const char *const *allowed,
    const char *what)
{
	const config_setting_t	*s;
	const char		*name, *hint;
	unsigned int		 i;
	int			 n = 0;

	if (group == NULL || !config_setting_is_group(group))
		return 0;
	for (i = 0; (s = config_setting_get_elem(group, i)) != NULL; i++) {
		name = config_setting_name(s);
		if (name == NULL || in_list(name, allowed))
			continue;
		hint = confread_suggest(name, allowed);
		confread_error(cr, s, "unknown key '%s'%s%s%s%s%s", name,
		    what != NULL ? " in " : "", what != NULL ? what : "",
		    hint != NULL ? " (did you mean '" : "",
		    hint != NULL ? hint : "", hint != NULL ? "'?)" : "");
		n++;
	}
	return n;
}

int
confread_string(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, char **out)
{
	const config_setting_t	*s;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		confread_error(cr, s, "'%s' must be a string, got %s", key,
		    confread_type_name(s));
		return -1;
	}
	*out = xstrdup(config_setting_get_string(s));
	return 1;
}

int
confread_int(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, int64_t min, int64_t max, int64_t *out)
{
	const config_setting_t	*s;
	long long		 v;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		confread_error(cr, s, "'%s' must be an integer, got %s", key,
		    confread_type_name(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		confread_error(cr, s, "'%s' must be between %lld and %lld, "
		    "got %lld", key, (long long)min, (long long)max, v);
		return -1;
	}
	*out = v;
	return 1;
}

int
confread_bool(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, bool *out)
{
	const config_setting_t	*s;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		confread_error(cr, s, "'%s' must be true or false, got %s", key,
		    confread_type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

int
confread_duration(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, int64_t min_ms, int64_t max_ms,
    int64_t *out)
{
	const config_setting_t	*s;
	char			 err[128], a[32], b[32], c[32];
	int64_t			 ms;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		confread_error(cr, s, "'%s' must be a duration string such as "
		    "\"30s\", got %s", key, confread_type_name(s));
		return -1;
	}
	if (config_parse_duration(config_setting_get_string(s), &ms, err,
	    sizeof(err)) == -1) {
		confread_error(cr, s, "'%s': %s", key, err);
		return -1;
	}
	if (ms < min_ms || ms > max_ms) {
		confread_error(cr, s, "'%s' must be between %s and %s, got %s",
		    key, config_format_duration(min_ms, a, sizeof(a)),
		    config_format_duration(max_ms, b, sizeof(b)),
		    config_format_duration(ms, c, sizeof(c)));
		return -1;
	}
	*out = ms;
	return 1;
}

/* Writes "\"a\", \"b\" or \"c\"" into buf. */
static const char *
enum_list(const char *const *names, char *buf, size_t buflen)
{
	size_t	i, n, len = 0;

	for (n = 0; names[n] != NULL; n++)
		;
	buf[0] = '\0';
	for (i = 0; i < n && len < buflen; i++) {
		len += snprintf(buf + len, buflen - len, "%s\"%s\"",
		    i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	}
	return buf;
}

int
confread_enum(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, const char *const *names, int *out)
{
	const config_setting_t	*s;
	const char		*v, *hint;
	char			 list[256];
	int			 i;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	enum_list(names, list, sizeof(list));
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		confread_error(cr, s, "'%s' must be one of %s, got %s", key,
		    list, confread_type_name(s));
		return -1;
	}
	v = config_setting_get_string(s);
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	hint = confread_suggest(v, names);
	confread_error(cr, s, "'%s' must be one of %s, got \"%s\"%s%s%s", key,
	    list, v, hint != NULL ? " (did you mean \"" : "",
	    hint != NULL ? hint : "", hint != NULL ? "\"?)" : "");
	return -1;
}

int
confread_group(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, const struct config_setting_t **out)
{
	const config_setting_t	*s;

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (!config_setting_is_group(s)) {
		confread_error(cr, s, "'%s' must be a group { ... }, got %s",
		    key, confread_type_name(s));
		return -1;
	}
	*out = s;
	return 1;
}

int
confread_pattern(struct confread *cr, const struct config_setting_t *group,
    const char *key, bool required, struct pattern **out)
{
	const config_setting_t	*s;
	struct pattern		*p;
	char			 err[256];

	if ((s = member(cr, group, key, required)) == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		confread_error(cr, s, "'%s' must be a regex string, got %s",
		    key, confread_type_name(s));
		return -1;
	}
	err[0] = '\0';
	p = pattern_new(config_setting_get_string(s), err, sizeof(err));
	if (p == NULL) {
		confread_error(cr, s, "'%s': bad regex: %s", key,
		    err[0] != '\0' ? err : "does not compile");
		return -1;
	}
	*out = p;
	return 1;
}

int
confread_secret_mode(int fd, char *why, size_t whylen)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "writable by other users (mode %04o); "
		    "chmod go-w", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		snprintf(why, whylen, "readable by every user (mode %04o); "
		    "chmod o-r, or use systemd's LoadCredential=",
		    (unsigned)(st.st_mode & 07777));
		return 1;
	}
	return 0;
}

int
confread_key_file(struct confread *cr, const config_setting_t *group)
{
	const config_setting_t	*s;
	const char		*path;
	char			 why[160];
	int			 fd, rc;

	if ((s = config_setting_get_member(group, "client_key")) == NULL)
		s = config_setting_get_member(group, "client_cert");
	if (s == NULL || (path = config_setting_get_string(s)) == NULL ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return 0;
	rc = confread_secret_mode(fd, why, sizeof(why));
	close(fd);
	if (rc == -1)
		confread_error(cr, s, "'%s' %s: %s", config_setting_name(s),
		    path, why);
	else if (rc == 1)
		log_warnx("config", "private key %s: %s", path, why);
	return rc == -1 ? -1 : 0;
}
