/* SPDX-License-Identifier: ISC */
/*
 * config: loading sonde's configuration into an immutable, refcounted
 * generation.
 *
 * This module owns the schema of the main file (agent, defaults, checks),
 * agent.include (globs relative to the main file, every file read once, in
 * glob order), the common keys of a check, the cross-file checks (duplicate
 * names) and the lifetime of a generation.  A check's own keys belong to
 * its kind: config.c hands the group to the kind's conf_parse hook and owns
 * only the release of what it builds; likewise the rules and silences
 * lists are rules_conf.c's.  Every libconfig tree is freed before
 * config_load() returns; the rest of sonde sees only struct config.
 *
 * Errors are collected, never printed: every problem of every file, in file
 * order, then the cross-file ones.  The main file's defaults group is read
 * once quietly before the walk, so that checks placed above it still get
 * its values while its own errors are reported at their place in the file.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <glob.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "buf.h"
#include "config.h"
#include "confread.h"
#include "log.h"
#include "probe.h"
#include "rules.h"
#include "channel.h"
#include "slo.h"
#include "xmalloc.h"

#define CHECK_NAME_MAX		64
#define INTERVAL_MIN_MS		100
#define INTERVAL_MAX_MS		(24 * 3600 * 1000LL)
#define TIMEOUT_MIN_MS		10
#define MAX_IN_FLIGHT_MAX	100000
#define HOST_NAME_BUF		256
#define UNIT_HINT		"(use ms, s, m, h or d)"
#define FNV_OFFSET		0xcbf29ce484222325ULL	/* FNV-1a, 64 bit */
#define FNV_PRIME		0x100000001b3ULL

/* Where an interval or timeout came from, for the messages. */
enum origin {
	ORIGIN_BUILTIN,
	ORIGIN_DEFAULTS,
	ORIGIN_CHECK
};

struct file_id {
	dev_t	dev;
	ino_t	ino;
};

/* The state of one config_load(). */
struct loader {
	struct config		*cfg;
	struct confread		 cr;		/* cr.file: being read */
	char			*maindir;	/* glob-escaped; "" for "/" */
	size_t			 checkscap;
	enum origin		 interval_from;	/* of the default interval */
	enum origin		 timeout_from;
	struct file_id		*seen;		/* files read so far */
	size_t			 nseen;
	const char		*lastname;	/* intern_file() cache */
	char			*lastfile;
};

static const char *const top_keys[] = {
	"agent", "defaults", "checks", "rules", "silences", "modules",
	"channels", NULL
};
static const char *const include_top_keys[] = { "checks", NULL };
static const char *const agent_keys[] = {
	"name", "state_dir", "max_in_flight", "include", "log",
	"log_facility", "log_level", "digest_threshold", "digest_window",
	"listen", "user", "outbox_max_records", "outbox_max_bytes",
	"schedule_grid", NULL
};
static const char *const defaults_keys[] = {
	"interval", "timeout", "ip_version", NULL
};
static const char *const check_keys[] = {
	"name", "type", "interval", "timeout", "ip_version", "labels", "slo",
	NULL
};
static const char *const slo_keys[] = {
	"objective", "window", "latency", NULL
};
static const char *const ip_names[] = { "4", "6", "any", NULL };
static const int ip_families[] = { AF_INET, AF_INET6, AF_UNSPEC };
static const char *const log_names[] = { "stderr", "syslog", NULL };
static const char *const level_names[] = { "info", "debug", NULL };
static const char *const reserved_labels[] = {
	"check", "type", "instance", "job", "phase", NULL
};

static const struct {
	const char	*name;
	int64_t		 ms;
} duration_units[] = {
	{ "d", 86400000 },
	{ "h", 3600000 },
	{ "m", 60000 },
	{ "s", 1000 },
	{ "ms", 1 },
};
#define NUNITS	(sizeof(duration_units) / sizeof(duration_units[0]))

/* glob(3) reports directory errors through a callback without an argument. */
static int	 glob_errno;
static char	 glob_errpath[256];

/* ---- error lists -------------------------------------------------------- */

/*
 * An error is one line (sonde -t prints one per line): a control byte
 * that a quoted config string carried into the message (a newline, a
 * tab, ESC) is written as \n, \t or \xNN.  Takes line; returns the
 * line to keep.
 */
static char *
config_errors_escape(char *line)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	char			*out, *o;

	for (p = (const unsigned char *)line; *p >= 0x20 && *p != 0x7f; p++)
		;
	if (*p == '\0')
		return line;
	o = out = xmalloc(4 * strlen(line) + 1);
	for (p = (const unsigned char *)line; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '\\';
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*o++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
		else {
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		}
	}
	*o = '\0';
	free(line);
	return out;
}

void
config_errors_add(struct config_errors *errs, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		fatal("config", "vasprintf");
	va_end(ap);
	line = config_errors_escape(line);
	if (errs->count == errs->cap) {
		errs->cap = errs->cap == 0 ? 8 : errs->cap * 2;
		errs->lines = xreallocarray(errs->lines, errs->cap,
		    sizeof(*errs->lines));
	}
	errs->lines[errs->count++] = line;
}

void
config_errors_free(struct config_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->count = errs->cap = 0;
}

/* ---- durations ---------------------------------------------------------- */

const char *
config_format_duration(int64_t ms, char *buf, size_t buflen)
{
	size_t	i, len = 0;
	int	n;

	if (buflen == 0)
		return buf;
	if (ms <= 0) {
		snprintf(buf, buflen, ms == 0 ? "0s" : "%lldms", (long long)ms);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < NUNITS && len < buflen; i++) {
		if (ms / duration_units[i].ms == 0)
			continue;
		n = snprintf(buf + len, buflen - len, "%lld%s",
		    (long long)(ms / duration_units[i].ms),
		    duration_units[i].name);
		if (n < 0 || (size_t)n >= buflen - len) {
			buf[len] = '\0';	/* whole units only */
			break;
		}
		len += (size_t)n;
		ms %= duration_units[i].ms;
	}
	return buf;
}

/* Explains the character at p, which cannot start a number. */
static int
duration_bad_char(const char *s, const char *p, char *err, size_t errlen)
{
	unsigned char	c = (unsigned char)*p;

	if (p == s && c == '-')
		snprintf(err, errlen, "negative duration \"%s\"", s);
	else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		snprintf(err, errlen, "missing number before '%c' in \"%s\"",
		    c, s);
	else if (c == '.')
		snprintf(err, errlen, "unexpected '.' in \"%s\" (use whole "
		    "units such as \"1s500ms\")", s);
	else if (c >= ' ' && c < 0x7f)
		snprintf(err, errlen, "unexpected '%c' in \"%s\"", c, s);
	else
		snprintf(err, errlen, "unexpected character 0x%02x in \"%s\"",
		    c, s);
	return -1;
}

static int
duration_unit(const char *unit, size_t len)
{
	size_t	i;

	for (i = 0; i < NUNITS; i++)
		if (strlen(duration_units[i].name) == len &&
		    strncmp(duration_units[i].name, unit, len) == 0)
			return (int)i;
	return -1;
}

/* Parses one "<number><unit>" at *pp into *total. */
static int
duration_part(const char *s, const char **pp, int *last, int64_t *total,
    char *err, size_t errlen)
{
	const char	*p = *pp, *unit;
	int64_t		 n = 0;
	int		 u;

	if (*p < '0' || *p > '9')
		return duration_bad_char(s, p, err, errlen);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			goto toolong;
		n = n * 10 + (*p - '0');
	}
	for (unit = p; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');)
		p++;
	if (p == unit && *p != '\0')
		return duration_bad_char(s, p, err, errlen);
	if (p == unit) {
		snprintf(err, errlen, "missing unit in \"%s\" " UNIT_HINT, s);
		return -1;
	}
	if ((u = duration_unit(unit, (size_t)(p - unit))) == -1) {
		snprintf(err, errlen, "unknown unit \"%.*s\" in \"%s\" "
		    UNIT_HINT, (int)(p - unit), unit, s);
		return -1;
	}
	if (u <= *last) {
		snprintf(err, errlen, "units out of order in \"%s\" (largest "
		    "first, each at most once)", s);
		return -1;
	}
	if (n > (INT64_MAX - *total) / duration_units[u].ms)
		goto toolong;
	*total += n * duration_units[u].ms;
	*last = u;
	*pp = p;
	return 0;
toolong:
	snprintf(err, errlen, "duration \"%s\" is too long", s);
	return -1;
}

int
config_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
	const char	*p = s;
	int64_t		 total = 0;
	int		 last = -1;

	if (*s == '\0') {
		snprintf(err, errlen, "empty duration " UNIT_HINT);
		return -1;
	}
	while (*p != '\0')
		if (duration_part(s, &p, &last, &total, err, errlen) == -1)
			return -1;
	*ms = total;
	return 0;
}

int
config_parse_listen(const char *s, struct sockaddr_storage *ss,
    size_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon, *h = host;
	char			*end;
	long			 port;
	size_t			 hl;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(s, ':')) == NULL || colon == s ||
	    (hl = (size_t)(colon - s)) >= sizeof(host)) {
		snprintf(err, errlen, "must be ADDRESS:PORT such as "
		    "\"127.0.0.1:9116\" or \"[::1]:9116\", got \"%s\"", s);
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 ||
	    port > 65535) {
		snprintf(err, errlen, "port must be 0 to 65535 (0: any free "
		    "port), got \"%s\"", colon + 1);
		return -1;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		h = host + 1;
		if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)port);
			*sslen = sizeof(*sin6);
			return 0;
		}
	} else if (inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	snprintf(err, errlen, "address must be an IPv4 address or an IPv6 "
	    "one in brackets (no host names: nothing blocks on DNS at "
	    "startup), got \"%s\"", h);
	return -1;
}

/* ---- generations -------------------------------------------------------- */

static struct config *
config_new(const char *path)
{
	struct config	*cfg;
	char		 host[HOST_NAME_BUF];

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->refs = 1;
	cfg->path = xstrdup(path);
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->agent.name = xstrdup(host);
	cfg->agent.state_dir = xstrdup(LOCALSTATEDIR "/lib/sonde");
	cfg->agent.max_in_flight = CONFIG_DEFAULT_MAX_IN_FLIGHT;
	cfg->agent.log = CONFIG_LOG_STDERR;
	cfg->agent.log_facility = LOG_DAEMON;
	cfg->default_interval_ms = CONFIG_DEFAULT_INTERVAL_MS;
	cfg->default_timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
	cfg->default_ip_family = AF_UNSPEC;
	cfg->agent.digest_threshold = RULES_DEFAULT_DIGEST_THRESHOLD;
	cfg->agent.digest_window_ms = RULES_DEFAULT_DIGEST_WINDOW_MS;
	cfg->agent.schedule_grid_ms = CONFIG_DEFAULT_SCHEDULE_GRID_MS;
	channel_conf_default(cfg);
	return cfg;
}

static void
check_free(struct check_conf *ck)
{
	free(ck->name);
	free(ck->labels);	/* with its strings */
	free(ck->target);
	free(ck->slo);
	if (ck->kind_conf != NULL && ck->ops != NULL)
		ck->ops->conf_free(ck->kind_conf);
}

static void
config_free(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nchecks; i++)
		check_free(&cfg->checks[i]);
	free(cfg->checks);
	for (i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	for (i = 0; i < cfg->nmodules; i++) {
		free(cfg->modules[i].name);
		free(cfg->modules[i].text);
	}
	free(cfg->modules);
	for (i = 0; i < cfg->agent.ninclude; i++)
		free(cfg->agent.include[i]);
	free(cfg->agent.include);
	free(cfg->agent.name);
	free(cfg->agent.state_dir);
	rules_conf_free(cfg);
	free(cfg->agent.listen);
	free(cfg->agent.user);
	channel_conf_free(cfg);
	free(cfg->name_index);
	free(cfg->path);
	free(cfg);
}

struct config *
config_ref(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg == NULL || --cfg->refs > 0)
		return;
	config_free(cfg);
}

/* FNV-1a, 64 bits: the name index's hash. */
static uint64_t
config_name_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Indexes the checks by name.  Reloads and late results look checks up by
 * name; searching the array made a reload that renamed 5,000 of 10,000
 * checks cost about 10^8 string compares (2 s with the loop held).  Equal
 * names (a config about to be rejected) find the first one, as a search
 * in file order would.
 */
static void
config_index_build(struct config *cfg)
{
	size_t	cap, i, j;

	for (cap = 16; cap < 2 * cfg->nchecks + 1; cap *= 2)
		continue;
	cfg->name_index = xreallocarray(NULL, cap, sizeof(*cfg->name_index));
	for (i = 0; i < cap; i++)
		cfg->name_index[i] = SIZE_MAX;
	cfg->name_mask = cap - 1;
	for (i = 0; i < cfg->nchecks; i++) {
		if (cfg->checks[i].name == NULL)
			continue;
		j = config_name_hash(cfg->checks[i].name) & cfg->name_mask;
		while (cfg->name_index[j] != SIZE_MAX)
			j = (j + 1) & cfg->name_mask;
		cfg->name_index[j] = i;
	}
}

const struct check_conf *
config_find_check(const struct config *cfg, const char *name)
{
	size_t	i;

	if (cfg->name_index != NULL) {
		for (i = config_name_hash(name) & cfg->name_mask;
		    cfg->name_index[i] != SIZE_MAX;
		    i = (i + 1) & cfg->name_mask)
			if (strcmp(cfg->checks[cfg->name_index[i]].name,
			    name) == 0)
				return &cfg->checks[cfg->name_index[i]];
		return NULL;
	}
	for (i = 0; i < cfg->nchecks; i++)
		if (cfg->checks[i].name != NULL &&
		    strcmp(cfg->checks[i].name, name) == 0)
			return &cfg->checks[i];
	return NULL;
}

/* ---- loading helpers ---------------------------------------------------- */

/* Checks read between two releases of libconfig's memory (checks_parse). */
#define CHECKS_BATCH	256

/*
 * Gives the pages of libconfig's freed tree back to the kernel.
 *
 * libconfig builds the whole tree of a file before sonde reads a value:
 * for 10,000 checks in one file that is about 8 MB of small nodes.  The
 * checks' own objects (names, the kind's conf and target) are allocated
 * while the tree exists.  They must not be scattered through holes of
 * the tree, or every page of it stays resident for the life of the
 * generation (6 MB that never came back when each check's members were
 * freed as soon as it was read: the next check's objects filled those
 * holes, one every few hundred bytes).  So the tree is freed in whole
 * batches of checks (checks_parse()), each batch is consolidated and its
 * free pages returned here (malloc_trim(3): glibc also returns whole free
 * pages inside the heap, not only its top), and the next batch's objects
 * are carved densely from that free range.  Measured for 10,000 TCP
 * checks in one file: peak RSS 21.6 -> 15.5 MB, steady 21.6 -> 12.7 MB.
 */
static void
tree_release(void)
{
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

/*
 * Returns the generation's copy of a file name, so 10,000 checks from one
 * file share one string.  NULL means the file being read.
 */
static char *
intern_file(struct loader *ld, const char *name)
{
	struct config	*cfg = ld->cfg;
	size_t		 i;

	if (name == NULL)
		name = ld->cr.file;
	if (ld->lastname != NULL && name == ld->lastname)
		return ld->lastfile;
	for (i = cfg->nfiles; i-- > 0;)
		if (strcmp(cfg->files[i], name) == 0)
			break;
	if (i == (size_t)-1) {
		cfg->files = xreallocarray(cfg->files, cfg->nfiles + 1,
		    sizeof(*cfg->files));
		i = cfg->nfiles++;
		cfg->files[i] = xstrdup(name);
	}
	ld->lastname = name;
	ld->lastfile = cfg->files[i];
	return cfg->files[i];
}

static bool
seen_file(const struct loader *ld, const struct stat *st)
{
	size_t	i;

	for (i = 0; i < ld->nseen; i++)
		if (ld->seen[i].dev == st->st_dev &&
		    ld->seen[i].ino == st->st_ino)
			return true;
	return false;
}

static void
seen_add(struct loader *ld, const struct stat *st)
{
	ld->seen = xreallocarray(ld->seen, ld->nseen + 1, sizeof(*ld->seen));
	ld->seen[ld->nseen].dev = st->st_dev;
	ld->seen[ld->nseen].ino = st->st_ino;
	ld->nseen++;
}

/* Reads path into c; records "path: cannot read: ..." or a parse error. */
static int
read_file(struct loader *ld, config_t *c, const char *path, struct stat *st)
{
	struct config_errors	*errs = ld->cr.errs;
	const char		*file;
	int			 saved;

	if (stat(path, st) == -1) {
		saved = errno;
		goto ioerr;
	}
	if (S_ISDIR(st->st_mode)) {
		saved = EISDIR;
		goto ioerr;
	}
	/*
	 * Whoever can write a config file decides what sonde probes, which
	 * files it reads at load (secrets, body_file, keys) and where it
	 * sends them: one that every user may write is nobody's config.
	 */
	if (st->st_mode & S_IWOTH) {
		config_errors_add(errs, "%s: writable by every user (mode "
		    "%04o); refused (chmod o-w)", path,
		    (unsigned)(st->st_mode & 07777));
		ld->cr.nerrors++;
		return -1;
	}
	errno = 0;
	if (config_read_file(c, path) == CONFIG_TRUE)
		return 0;
	saved = errno != 0 ? errno : EIO;
	if (config_error_type(c) == CONFIG_ERR_FILE_IO &&
	    config_error_file(c) == NULL)
		goto ioerr;
	file = config_error_file(c) != NULL ? config_error_file(c) : path;
	config_errors_add(errs, "%s:%d: %s", file, config_error_line(c),
	    config_error_text(c));
	ld->cr.nerrors++;
	return -1;
ioerr:
	config_errors_add(errs, "%s: cannot read: %s", path, strerror(saved));
	ld->cr.nerrors++;
	return -1;
}

static void
unknown_key(struct loader *ld, const config_setting_t *s,
    const char *const *allowed)
{
	const char	*name = config_setting_name(s);
	const char	*hint = confread_suggest(name, allowed);

	if (hint != NULL)
		confread_error(&ld->cr, s, "unknown key '%s' (did you mean "
		    "'%s'?)", name, hint);
	else
		confread_error(&ld->cr, s, "unknown key '%s'", name);
}

static bool
is_group(struct loader *ld, const config_setting_t *s)
{
	if (config_setting_is_group(s))
		return true;
	confread_error(&ld->cr, s, "'%s' must be a group { ... }, got %s",
	    config_setting_name(s), confread_type_name(s));
	return false;
}

static const char *
origin_note(enum origin from)
{
	switch (from) {
	case ORIGIN_BUILTIN:
		return " (the default)";
	case ORIGIN_DEFAULTS:
		return " (from defaults)";
	default:
		return "";
	}
}

/* ---- agent and defaults ------------------------------------------------- */

static void
agent_include(struct loader *ld, const config_setting_t *g)
{
	struct agent_conf	*a = &ld->cfg->agent;
	const config_setting_t	*s, *e;
	unsigned int		 i, n;

	if ((s = config_setting_get_member(g, "include")) == NULL)
		return;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		confread_error(&ld->cr, s, "'include' must be an array of glob "
		    "patterns such as [\"checks.d/*.conf\"], got %s",
		    confread_type_name(s));
		return;
	}
	n = (unsigned int)config_setting_length(s);
	a->include = xcalloc(n == 0 ? 1 : n, sizeof(*a->include));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			confread_error(&ld->cr, e, "'include' patterns must be "
			    "strings, got %s", confread_type_name(e));
		else if (config_setting_get_string(e)[0] == '\0')
			confread_error(&ld->cr, e, "'include' patterns must "
			    "not be empty");
		else
			a->include[a->ninclude++] =
			    xstrdup(config_setting_get_string(e));
	}
}

/* agent.listen: "" turns the HTTP endpoint off. */
static void
agent_listen(struct loader *ld, const config_setting_t *g)
{
	struct sockaddr_storage	 ss;
	size_t			 sslen;
	char			*s = NULL, err[128];

	if (confread_string(&ld->cr, g, "listen", false, &s) != 1)
		return;
	if (s[0] != '\0' && config_parse_listen(s, &ss, &sslen, err,
	    sizeof(err)) == -1) {
		confread_error(&ld->cr, config_setting_get_member(g, "listen"),
		    "'listen' %s", err);
		free(s);
		return;
	}
	free(ld->cfg->agent.listen);
	ld->cfg->agent.listen = s;
}

static void
agent_strings(struct loader *ld, const config_setting_t *g)
{
	struct agent_conf	*a = &ld->cfg->agent;
	char			*s = NULL;
	int			 facility;

	if (confread_string(&ld->cr, g, "name", false, &s) == 1) {
		if (s[0] == '\0') {
			confread_error(&ld->cr, config_setting_get_member(g,
			    "name"), "'name' must not be empty");
			free(s);
		} else {
			free(a->name);
			a->name = s;
		}
	}
	if (confread_string(&ld->cr, g, "state_dir", false, &s) == 1) {
		if (s[0] != '/') {
			confread_error(&ld->cr, config_setting_get_member(g,
			    "state_dir"), "'state_dir' must be an absolute "
			    "path, got \"%s\"", s);
			free(s);
		} else {
			free(a->state_dir);
			a->state_dir = s;
		}
	}
	agent_listen(ld, g);
	if (confread_string(&ld->cr, g, "user", false, &s) == 1) {
		free(a->user);
		a->user = s;
	}
	s = NULL;
	if (confread_string(&ld->cr, g, "log_facility", false, &s) != 1)
		return;
	if ((facility = log_facility_from_name(s)) == -1)
		confread_error(&ld->cr, config_setting_get_member(g,
		    "log_facility"), "'log_facility' must be a syslog facility "
		    "such as \"daemon\" or \"local0\", got \"%s\"", s);
	else
		a->log_facility = facility;
	free(s);
}

static void
agent_parse(struct loader *ld, const config_setting_t *g)
{
	struct agent_conf	*a = &ld->cfg->agent;
	int64_t			 n;
	int			 i;

	confread_check_keys(&ld->cr, g, agent_keys, "agent");
	agent_strings(ld, g);
	if (confread_int(&ld->cr, g, "max_in_flight", false, 1,
	    MAX_IN_FLIGHT_MAX, &n) == 1)
		a->max_in_flight = (int)n;
	if (confread_enum(&ld->cr, g, "log", false, log_names, &i) == 1)
		a->log = i == 0 ? CONFIG_LOG_STDERR : CONFIG_LOG_SYSLOG;
	if (confread_enum(&ld->cr, g, "log_level", false, level_names,
	    &i) == 1)
		a->debug = i == 1;
	if (confread_int(&ld->cr, g, "digest_threshold", false, 1, 100000,
	    &n) == 1)
		a->digest_threshold = (int)n;
	confread_duration(&ld->cr, g, "digest_window", false, 0, 3600000,
	    &a->digest_window_ms);
	confread_duration(&ld->cr, g, "schedule_grid", false, 0, 1000,
	    &a->schedule_grid_ms);
	/* The outbox's caps (outbox.h); 0 keeps its default. */
	confread_int(&ld->cr, g, "outbox_max_records", false, 10, 10000000,
	    &a->outbox_max_records);
	confread_int(&ld->cr, g, "outbox_max_bytes", false, 65536,
	    INT64_C(1) << 40, &a->outbox_max_bytes);
	agent_include(ld, g);
}

static void
defaults_parse(struct loader *ld, struct confread *cr,
    const config_setting_t *g)
{
	struct config		*cfg = ld->cfg;
	const config_setting_t	*at;
	char			 a[32], b[32];
	int			 i;

	confread_check_keys(cr, g, defaults_keys, "defaults");
	if (confread_duration(cr, g, "interval", false, INTERVAL_MIN_MS,
	    INTERVAL_MAX_MS, &cfg->default_interval_ms) == 1)
		ld->interval_from = ORIGIN_DEFAULTS;
	if (confread_duration(cr, g, "timeout", false, TIMEOUT_MIN_MS,
	    INTERVAL_MAX_MS, &cfg->default_timeout_ms) == 1)
		ld->timeout_from = ORIGIN_DEFAULTS;
	if (confread_enum(cr, g, "ip_version", false, ip_names, &i) == 1)
		cfg->default_ip_family = ip_families[i];
	if (cfg->default_timeout_ms <= cfg->default_interval_ms)
		return;
	if (ld->timeout_from == ORIGIN_BUILTIN) {
		/* A short interval shortens the built-in timeout. */
		cfg->default_timeout_ms = cfg->default_interval_ms;
		return;
	}
	at = config_setting_get_member(g, "timeout");
	confread_error(cr, at, "timeout %s is longer than the interval %s%s",
	    config_format_duration(cfg->default_timeout_ms, a, sizeof(a)),
	    config_format_duration(cfg->default_interval_ms, b, sizeof(b)),
	    ld->interval_from == ORIGIN_DEFAULTS ? "" : " (the default)");
}

/* Reads the main file's defaults before the walk; its errors come later. */
static void
defaults_preread(struct loader *ld, const config_setting_t *root)
{
	struct config_errors	 scratch;
	struct confread		 cr;
	const config_setting_t	*g;

	g = config_setting_get_member(root, "defaults");
	if (g == NULL || !config_setting_is_group(g))
		return;
	memset(&scratch, 0, sizeof(scratch));
	cr.errs = &scratch;
	cr.file = ld->cr.file;
	cr.nerrors = 0;
	defaults_parse(ld, &cr, g);
	config_errors_free(&scratch);
}

/* ---- checks ------------------------------------------------------------- */

static size_t
copy_keys(const char **dst, size_t at, const char *const *src)
{
	size_t	i;

	for (i = 0; src != NULL && src[i] != NULL; i++)
		if (dst != NULL)
			dst[at + i] = src[i];
	return at + i;
}

/* The keys a check of kind ops may have; every kind's when ops is NULL. */
static const char **
allowed_keys(const struct probe_ops *ops)
{
	const char	**keys = NULL;
	size_t		  i, n = 0;
	int		  pass;

	for (pass = 0; pass < 2; pass++) {
		n = copy_keys(keys, 0, check_keys);
		if (ops != NULL)
			n = copy_keys(keys, n, ops->conf_keys);
		for (i = 0; ops == NULL && probe_registry[i] != NULL; i++)
			n = copy_keys(keys, n, probe_registry[i]->conf_keys);
		if (pass == 0)
			keys = xcalloc(n + 1, sizeof(*keys));
	}
	return keys;
}

static struct check_conf *
check_append(struct loader *ld)
{
	struct config		*cfg = ld->cfg;
	struct check_conf	*ck;

	if (cfg->nchecks == ld->checkscap) {
		ld->checkscap = ld->checkscap == 0 ? 16 : ld->checkscap * 2;
		cfg->checks = xreallocarray(cfg->checks, ld->checkscap,
		    sizeof(*cfg->checks));
	}
	ck = &cfg->checks[cfg->nchecks++];
	memset(ck, 0, sizeof(*ck));
	return ck;
}

static bool
check_name_ok(const char *s)
{
	size_t	i;
	char	c;

	for (i = 0; (c = s[i]) != '\0'; i++) {
		if (i >= CHECK_NAME_MAX)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i == 0 || strchr("_.:-", c) == NULL)
			return false;
	}
	return i > 0;
}

static void
check_name(struct loader *ld, const config_setting_t *g,
    struct check_conf *ck)
{
	char	*name;

	if (confread_string(&ld->cr, g, "name", true, &name) != 1)
		return;
	if (!check_name_ok(name)) {
		confread_error(&ld->cr, config_setting_get_member(g, "name"),
		    "'name' must be 1 to 64 characters of A-Z a-z 0-9 _ . : - "
		    "starting with a letter or digit, got \"%s\"", name);
		free(name);
		return;
	}
	ck->name = name;
}

static void
unknown_type(struct loader *ld, const config_setting_t *at, const char *type)
{
	const char	**names;
	const char	 *hint;
	char		  known[256];
	size_t		  i, n, len = 0;

	for (n = 0; probe_registry[n] != NULL; n++)
		;
	names = xcalloc(n + 1, sizeof(*names));
	known[0] = '\0';
	for (i = 0; i < n; i++) {
		names[i] = probe_registry[i]->kind;
		if (len < sizeof(known))
			len += snprintf(known + len, sizeof(known) - len,
			    "%s%s", i == 0 ? "" : ", ", names[i]);
	}
	hint = confread_suggest(type, names);
	if (n == 0)
		confread_error(&ld->cr, at, "unknown check type '%s' (no check "
		    "types are built in)", type);
	else
		confread_error(&ld->cr, at, "unknown check type '%s' (%s%s%s"
		    "known types: %s)", type, hint != NULL ? "did you mean '" :
		    "", hint != NULL ? hint : "", hint != NULL ? "'? " : "",
		    known);
	free(names);
}

static const struct probe_ops *
check_type(struct loader *ld, const config_setting_t *g)
{
	const struct probe_ops	*ops;
	char			*type;

	if (confread_string(&ld->cr, g, "type", true, &type) != 1)
		return NULL;
	if ((ops = probe_find(type)) == NULL)
		unknown_type(ld, config_setting_get_member(g, "type"), type);
	free(type);
	return ops;
}

static void
check_times(struct loader *ld, const config_setting_t *g,
    struct check_conf *ck)
{
	enum origin	 ifrom = ld->interval_from, tfrom = ld->timeout_from;
	char		 a[32], b[32];
	int		 ri, rt;

	ck->interval_ms = ld->cfg->default_interval_ms;
	ck->timeout_ms = ld->cfg->default_timeout_ms;
	ri = confread_duration(&ld->cr, g, "interval", false, INTERVAL_MIN_MS,
	    INTERVAL_MAX_MS, &ck->interval_ms);
	rt = confread_duration(&ld->cr, g, "timeout", false, TIMEOUT_MIN_MS,
	    INTERVAL_MAX_MS, &ck->timeout_ms);
	if (ri == -1 || rt == -1 || ck->timeout_ms <= ck->interval_ms)
		return;
	ifrom = ri == 1 ? ORIGIN_CHECK : ifrom;
	tfrom = rt == 1 ? ORIGIN_CHECK : tfrom;
	if (tfrom == ORIGIN_BUILTIN) {
		ck->timeout_ms = ck->interval_ms;
		return;
	}
	if (ifrom != ORIGIN_CHECK && tfrom != ORIGIN_CHECK)
		return;		/* reported once, in defaults */
	confread_error(&ld->cr, config_setting_get_member(g,
	    tfrom == ORIGIN_CHECK ? "timeout" : "interval"),
	    "timeout %s%s is longer than the interval %s%s",
	    config_format_duration(ck->timeout_ms, a, sizeof(a)),
	    origin_note(tfrom),
	    config_format_duration(ck->interval_ms, b, sizeof(b)),
	    origin_note(ifrom));
}

static bool
label_name_ok(const char *s)
{
	size_t	i;
	char	c;

	for (i = 0; (c = s[i]) != '\0'; i++)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9')))
			return false;
	return i > 0;
}

enum label_problem {
	LABEL_OK,
	LABEL_BAD_NAME,
	LABEL_DUNDER,
	LABEL_RESERVED,
	LABEL_NOT_STRING
};

static enum label_problem
label_check(const config_setting_t *l)
{
	const char	*name = config_setting_name(l);
	size_t		 i;

	if (!label_name_ok(name))
		return LABEL_BAD_NAME;
	if (strncmp(name, "__", 2) == 0)
		return LABEL_DUNDER;
	for (i = 0; reserved_labels[i] != NULL; i++)
		if (strcmp(name, reserved_labels[i]) == 0)
			return LABEL_RESERVED;
	if (config_setting_type(l) != CONFIG_TYPE_STRING)
		return LABEL_NOT_STRING;
	return LABEL_OK;
}

static bool
label_ok(struct loader *ld, const config_setting_t *l)
{
	const char	*name = config_setting_name(l);

	switch (label_check(l)) {
	case LABEL_OK:
		return true;
	case LABEL_BAD_NAME:
		confread_error(&ld->cr, l, "label name '%s' must match "
		    "[a-zA-Z_][a-zA-Z0-9_]*", name);
		break;
	case LABEL_DUNDER:
		confread_error(&ld->cr, l, "label name '%s' must not start "
		    "with __ (reserved by Prometheus)", name);
		break;
	case LABEL_RESERVED:
		confread_error(&ld->cr, l, "label name '%s' is reserved "
		    "(check, type, instance and job are set by sonde and "
		    "Prometheus)", name);
		break;
	case LABEL_NOT_STRING:
		confread_error(&ld->cr, l, "label '%s' must be a string, "
		    "got %s", name, confread_type_name(l));
		break;
	}
	return false;
}

/*
 * Labels are one allocation: the array, then its keys and values, so a
 * check with labels costs one malloc, not 2n + 1.
 */
static void
check_labels(struct loader *ld, const config_setting_t *g,
    struct check_conf *ck)
{
	const config_setting_t	*labels, *l;
	struct config_label	*lb;
	char			*p;
	size_t			 size, len;
	unsigned int		 i, n;

	if (confread_group(&ld->cr, g, "labels", false, &labels) != 1)
		return;
	n = (unsigned int)config_setting_length(labels);
	size = n * sizeof(*ck->labels);
	for (i = 0; i < n; i++) {
		l = config_setting_get_elem(labels, i);
		if (label_ok(ld, l))
			size += strlen(config_setting_name(l)) +
			    strlen(config_setting_get_string(l)) + 2;
	}
	if (size == n * sizeof(*ck->labels))
		return;
	ck->labels = xmalloc(size);
	p = (char *)(ck->labels + n);
	for (i = 0; i < n; i++) {
		l = config_setting_get_elem(labels, i);
		if (label_check(l) != LABEL_OK)
			continue;	/* reported above */
		lb = &ck->labels[ck->nlabels++];
		len = strlen(config_setting_name(l)) + 1;
		lb->key = memcpy(p, config_setting_name(l), len);
		p += len;
		len = strlen(config_setting_get_string(l)) + 1;
		lb->value = memcpy(p, config_setting_get_string(l), len);
		p += len;
	}
}

/* Hands the group to the kind; on failure releases what it built. */
static void
check_kind(struct loader *ld, const config_setting_t *g,
    struct check_conf *ck)
{
	int	before = ld->cr.nerrors;

	if (ck->ops->conf_parse(&ld->cr, g, ck) == 0 &&
	    ld->cr.nerrors == before)
		return;
	if (ld->cr.nerrors == before)
		confread_error(&ld->cr, g, "check type '%s' rejected the check",
		    ck->ops->kind);
	if (ck->kind_conf != NULL)
		ck->ops->conf_free(ck->kind_conf);
	ck->kind_conf = NULL;
	free(ck->target);
	ck->target = NULL;
}

/* The objective as a percentage strictly between 0 and 100. */
static int
check_slo_objective(struct loader *ld, const config_setting_t *o,
    double *out)
{
	if (config_setting_type(o) == CONFIG_TYPE_FLOAT)
		*out = config_setting_get_float(o);
	else if (config_setting_type(o) == CONFIG_TYPE_INT ||
	    config_setting_type(o) == CONFIG_TYPE_INT64)
		*out = (double)config_setting_get_int64(o);
	else {
		confread_error(&ld->cr, o, "slo: 'objective' must be a "
		    "percentage such as 99.9, got %s", confread_type_name(o));
		return -1;
	}
	if (*out <= 0 || *out >= 100) {
		confread_error(&ld->cr, o, "slo: 'objective' must be above 0 "
		    "and below 100 (a percentage such as 99.9), got %g", *out);
		return -1;
	}
	return 0;
}

/* slo = { objective = 99.9; window = "30d"; latency = "300ms"; } */
static void
check_slo(struct loader *ld, const config_setting_t *g,
    struct check_conf *ck)
{
	const config_setting_t	*b, *o;
	struct slo_conf		 c;

	if (confread_group(&ld->cr, g, "slo", false, &b) != 1)
		return;
	confread_check_keys(&ld->cr, b, slo_keys, "slo");
	memset(&c, 0, sizeof(c));
	c.window_ms = SLO_DEFAULT_WINDOW_MS;
	if ((o = config_setting_get_member(b, "objective")) == NULL) {
		confread_error(&ld->cr, b, "slo: 'objective' is required (a "
		    "percentage such as 99.9)");
		return;
	}
	if (check_slo_objective(ld, o, &c.objective) == -1)
		return;
	if (confread_duration(&ld->cr, b, "window", false, SLO_WINDOW_MIN_MS,
	    SLO_WINDOW_MAX_MS, &c.window_ms) == -1)
		return;
	if (c.window_ms % SLO_WINDOW_MIN_MS != 0) {
		confread_error(&ld->cr, config_setting_get_member(b, "window"),
		    "slo: 'window' must be whole days such as \"30d\"");
		return;
	}
	if (confread_duration(&ld->cr, b, "latency", false, 1,
	    SLO_WINDOW_MIN_MS, &c.latency_ms) == -1)
		return;
	ck->slo = xmalloc(sizeof(*ck->slo));
	*ck->slo = c;
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t
fnv_add(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Hashes a setting and everything below it: names, types, values. */
static uint64_t
fnv_setting(uint64_t h, const config_setting_t *s)
{
	const config_setting_t	*e;
	const char		*str;
	int64_t			 n;
	double			 d;
	int			 type = config_setting_type(s), i;

	h = fnv_add(h, &type, sizeof(type));
	if ((str = config_setting_name(s)) != NULL)
		h = fnv_add(h, str, strlen(str) + 1);
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_BOOL:
		n = config_setting_get_int64(s);
		if (type == CONFIG_TYPE_BOOL)
			n = config_setting_get_bool(s);
		return fnv_add(h, &n, sizeof(n));
	case CONFIG_TYPE_FLOAT:
		d = config_setting_get_float(s);
		return fnv_add(h, &d, sizeof(d));
	case CONFIG_TYPE_STRING:
		str = config_setting_get_string(s);
		return fnv_add(h, str, strlen(str) + 1);
	default:
		for (i = 0; (e = config_setting_get_elem(s, (unsigned int)i)) !=
		    NULL; i++)
			h = fnv_setting(h, e);
		return fnv_add(h, &i, sizeof(i));
	}
}

/*
 * The check's identity for reloads: its group as written, plus the values
 * it inherits (defaults may change while the group does not).
 */
static uint64_t
check_fingerprint(const config_setting_t *g, const struct check_conf *ck)
{
	uint64_t	h = FNV_OFFSET;

	h = fnv_setting(h, g);
	h = fnv_add(h, &ck->interval_ms, sizeof(ck->interval_ms));
	h = fnv_add(h, &ck->timeout_ms, sizeof(ck->timeout_ms));
	return fnv_add(h, &ck->ip_family, sizeof(ck->ip_family));
}

static void
check_parse(struct loader *ld, const config_setting_t *g)
{
	struct check_conf	 *ck;
	const char		**keys;
	int			  i;

	ck = check_append(ld);
	ck->file = intern_file(ld, config_setting_source_file(g));
	ck->line = config_setting_source_line(g);
	ck->ip_family = ld->cfg->default_ip_family;
	check_name(ld, g, ck);
	ck->ops = check_type(ld, g);
	keys = allowed_keys(ck->ops);
	confread_check_keys(&ld->cr, g, keys, "check");
	free(keys);
	check_times(ld, g, ck);
	if (confread_enum(&ld->cr, g, "ip_version", false, ip_names, &i) == 1)
		ck->ip_family = ip_families[i];
	check_labels(ld, g, ck);
	check_slo(ld, g, ck);
	if (ck->ops != NULL)
		check_kind(ld, g, ck);
	ck->fingerprint = check_fingerprint(g, ck);
}

/* Reads the elements [from, to) of the list s, in file order. */
static void
checks_parse_range(struct loader *ld, const config_setting_t *s,
    unsigned int from, unsigned int to)
{
	const config_setting_t	*g;
	unsigned int		 i;

	for (i = from; i < to; i++) {
		g = config_setting_get_elem(s, i);
		if (!config_setting_is_group(g)) {
			confread_error(&ld->cr, g, "each check must be a group "
			    "{ ... }, got %s", confread_type_name(g));
			continue;
		}
		check_parse(ld, g);
	}
}

/* Reverses the elements [lo, hi) of an array of size-byte elements. */
static void
reverse_range(void *base, size_t size, size_t lo, size_t hi)
{
	unsigned char	 tmp[sizeof(struct check_conf)];
	unsigned char	*a, *b;

	if (size > sizeof(tmp))
		fatalx("config", "reverse_range: element of %zu bytes", size);
	for (; hi > lo + 1; lo++, hi--) {
		a = (unsigned char *)base + lo * size;
		b = (unsigned char *)base + (hi - 1) * size;
		memcpy(tmp, a, size);
		memcpy(a, b, size);
		memcpy(b, tmp, size);
	}
}

/*
 * [start, start + sum(len)) holds blocks appended in the reverse of the
 * wanted order, len[0] first; puts them in order, each block unchanged.
 */
static void
reverse_blocks(void *base, size_t size, size_t start, const size_t *len,
    size_t nblocks)
{
	size_t	i, end = start;

	for (i = 0; i < nblocks; i++)
		end += len[i];
	reverse_range(base, size, start, end);
	for (i = nblocks; i-- > 0; start += len[i])
		reverse_range(base, size, start, start + len[i]);
}

/*
 * Reads a checks list in batches from its end, freeing each batch's part
 * of libconfig's tree before the next, so a big file's tree shrinks as the
 * checks grow (see tree_release()): the load peaks at about the tree, not
 * the tree plus the checks.  Batches are taken last first because removing
 * a list's last element is O(1) (the first costs a memmove of the rest);
 * within a batch, checks are read in file order, and at the end the
 * batches of checks and of error lines are put back in file order.
 */
static void
checks_parse(struct loader *ld, const config_setting_t *s)
{
	config_setting_t	*list = (config_setting_t *)(uintptr_t)s;
	struct config_errors	*errs = ld->cr.errs;
	size_t			*nck, *ner, nb, b = 0;
	size_t			 ck0 = ld->cfg->nchecks, er0 = errs->count;
	unsigned int		 len, from, i;

	if (!config_setting_is_list(s)) {
		confread_error(&ld->cr, s, "'checks' must be a list of groups "
		    "such as ( { name = \"db\"; ... } ), got %s",
		    confread_type_name(s));
		return;
	}
	len = (unsigned int)config_setting_length(s);
	nb = (len + CHECKS_BATCH - 1) / CHECKS_BATCH;
	nck = xcalloc(nb + 1, sizeof(*nck));
	ner = xcalloc(nb + 1, sizeof(*ner));
	for (; len > 0; len = from, b++) {
		from = len > CHECKS_BATCH ? len - CHECKS_BATCH : 0;
		nck[b] = ld->cfg->nchecks;
		ner[b] = errs->count;
		checks_parse_range(ld, s, from, len);
		nck[b] = ld->cfg->nchecks - nck[b];
		ner[b] = errs->count - ner[b];
		for (i = len; i > from; i--)
			config_setting_remove_elem(list, i - 1);
		if (nb > 1)
			tree_release();
	}
	reverse_blocks(ld->cfg->checks, sizeof(*ld->cfg->checks), ck0, nck, b);
	reverse_blocks(errs->lines, sizeof(*errs->lines), er0, ner, b);
	free(nck);
	free(ner);
}

/* ---- modules (/probe) --------------------------------------------------- */

/* Writes s in libconfig syntax (strings re-escaped); s's name if named. */
static void
setting_text(struct buf *b, const config_setting_t *s)
{
	const config_setting_t	*e;
	const char		*p;
	unsigned int		 i;
	int			 type = config_setting_type(s);

	if (config_setting_name(s) != NULL)
		buf_printf(b, "%s = ", config_setting_name(s));
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		buf_printf(b, "%lld%s", (long long)config_setting_get_int64(s),
		    type == CONFIG_TYPE_INT64 ? "L" : "");
		break;
	case CONFIG_TYPE_FLOAT:
		buf_printf(b, "%.17e", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		buf_puts(b, config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		buf_puts(b, "\"");
		for (p = config_setting_get_string(s); *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_printf(b, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				buf_printf(b, "\\x%02x", (unsigned char)*p);
			else
				buf_append(b, p, 1);
		}
		buf_puts(b, "\"");
		break;
	default:
		buf_puts(b, type == CONFIG_TYPE_GROUP ? "{ " :
		    type == CONFIG_TYPE_ARRAY ? "[ " : "( ");
		for (i = 0; (e = config_setting_get_elem(s, i)) != NULL; i++) {
			if (i > 0 && type != CONFIG_TYPE_GROUP)
				buf_puts(b, ", ");
			setting_text(b, e);
			if (type == CONFIG_TYPE_GROUP)
				buf_puts(b, "; ");
		}
		buf_puts(b, type == CONFIG_TYPE_GROUP ? "}" :
		    type == CONFIG_TYPE_ARRAY ? "]" : ")");
	}
}

/* "file:N: message" -> "message" for a line about file. */
static const char *
error_message(const char *line, const char *file)
{
	const char	*p = line;

	if (strncmp(p, file, strlen(file)) == 0 && p[strlen(file)] == ':') {
		p += strlen(file) + 1;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p[0] == ':' && p[1] == ' ')
			return p + 2;
	}
	return line;
}

/* Parses m's text aimed at target into ld's config; returns 0 or -1. */
static int
module_parse(struct loader *ld, const struct config_module *m,
    const char *target, char *err, size_t errlen)
{
	config_t		 c;
	config_setting_t	*g;
	char			*text;
	int			 rc = -1;

	/* Named "target" so that "target is missing 'port'" reads right. */
	text = xasprintf("target = { name = \"%s\"; %s };", m->name,
	    m->text);
	config_init(&c);
	if (config_read_string(&c, text) == CONFIG_FALSE)
		snprintf(err, errlen, "%s", config_error_text(&c));
	else if ((g = config_lookup(&c, "target")) != NULL &&
	    m->ops->target_apply(g, target, err, errlen) == 0) {
		check_parse(ld, g);
		if (ld->cr.errs->count > 0)
			snprintf(err, errlen, "%s", error_message(
			    ld->cr.errs->lines[0], ld->cr.file));
		else
			rc = 0;
	}
	config_destroy(&c);
	free(text);
	return rc;
}

/* Instantiates m for target with the defaults of from. */
static struct config *
module_build(const struct config *from, const struct config_module *m,
    const char *target, char *err, size_t errlen)
{
	struct config_errors	errs;
	struct loader		ld;
	int			rc;

	memset(&errs, 0, sizeof(errs));
	memset(&ld, 0, sizeof(ld));
	ld.cr.errs = &errs;
	ld.cfg = config_new(from->path);
	/* No schedule: only the timeout matters, the interval never binds. */
	ld.cfg->default_interval_ms = INTERVAL_MAX_MS;
	ld.cfg->default_timeout_ms = from->default_timeout_ms;
	ld.cfg->default_ip_family = from->default_ip_family;
	ld.timeout_from = ORIGIN_DEFAULTS;
	ld.cr.file = intern_file(&ld, m->file);
	rc = module_parse(&ld, m, target, err, errlen);
	config_errors_free(&errs);
	if (rc == 0)
		return ld.cfg;
	config_free(ld.cfg);
	return NULL;
}

struct config *
config_instantiate(const struct config *cfg, const char *module,
    const char *target, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < cfg->nmodules; i++)
		if (strcmp(cfg->modules[i].name, module) == 0)
			break;
	if (i == cfg->nmodules) {
		snprintf(err, errlen, "no module named \"%s\" in %s", module,
		    cfg->path);
		return NULL;
	}
	return module_build(cfg, &cfg->modules[i], target, err, errlen);
}

/* One module: a check group without name and target, checked at load. */
static void
module_add(struct loader *ld, const config_setting_t *g)
{
	struct config_module	*m;
	struct config		*probe;
	struct buf		 b = { NULL, 0, 0 };
	const config_setting_t	*e;
	const struct probe_ops	*ops;
	char			 err[256];
	unsigned int		 i;

	if (!check_name_ok(config_setting_name(g)))
		confread_error(&ld->cr, g, "module name '%s' must be at most "
		    "%d letters, digits, '_', '.', ':' or '-', starting with a "
		    "letter or digit", config_setting_name(g), CHECK_NAME_MAX);
	if (config_setting_get_member(g, "name") != NULL) {
		confread_error(&ld->cr, config_setting_get_member(g, "name"),
		    "a module has no 'name': its name is its key");
		return;
	}
	if ((ops = check_type(ld, g)) == NULL)
		return;
	if (ops->target_apply == NULL) {
		confread_error(&ld->cr, g, "checks of type '%s' cannot be "
		    "modules yet", ops->kind);
		return;
	}
	for (i = 0; (e = config_setting_get_elem(g, i)) != NULL; i++) {
		setting_text(&b, e);
		buf_puts(&b, "; ");
	}
	ld->cfg->modules = xreallocarray(ld->cfg->modules,
	    ld->cfg->nmodules + 1, sizeof(*ld->cfg->modules));
	m = &ld->cfg->modules[ld->cfg->nmodules++];
	m->name = xstrdup(config_setting_name(g));
	m->ops = ops;
	m->file = intern_file(ld, config_setting_source_file(g));
	m->line = config_setting_source_line(g);
	m->text = b.data != NULL ? b.data : xstrdup("");
	if ((probe = module_build(ld->cfg, m, ops->target_example, err,
	    sizeof(err))) == NULL)
		confread_error(&ld->cr, g, "module '%s': %s", m->name, err);
	config_unref(probe);
}

static void
modules_parse(struct loader *ld, const config_setting_t *s)
{
	const config_setting_t	*g;
	unsigned int		 i;

	for (i = 0; (g = config_setting_get_elem(s, i)) != NULL; i++) {
		if (!config_setting_is_group(g)) {
			confread_error(&ld->cr, g, "each module must be a "
			    "group { type = ...; ... }, got %s",
			    confread_type_name(g));
			continue;
		}
		module_add(ld, g);
	}
}

/* ---- files -------------------------------------------------------------- */

static int
glob_error(const char *path, int error)
{
	if (error == ENOENT || error == ENOTDIR)
		return 0;
	glob_errno = error;
	snprintf(glob_errpath, sizeof(glob_errpath), "%s", path);
	return 1;
}

static void
include_key(struct loader *ld, const config_setting_t *s)
{
	const char	*name = config_setting_name(s);

	if (strcmp(name, "checks") == 0)
		checks_parse(ld, s);
	else if (strcmp(name, "agent") == 0 || strcmp(name, "defaults") == 0 ||
	    strcmp(name, "rules") == 0 || strcmp(name, "silences") == 0)
		confread_error(&ld->cr, s, "'%s' is only allowed in the main "
		    "config file", name);
	else
		unknown_key(ld, s, include_top_keys);
}

static void
include_file(struct loader *ld, const char *path)
{
	config_t		 c;
	struct stat		 st;
	const config_setting_t	*root, *s;
	unsigned int		 i;

	if (stat(path, &st) == 0 && seen_file(ld, &st))
		return;
	ld->lastname = NULL;
	ld->cr.file = intern_file(ld, path);
	config_init(&c);
	if (read_file(ld, &c, path, &st) == 0) {
		seen_add(ld, &st);
		root = config_root_setting(&c);
		for (i = 0; (s = config_setting_get_elem(root, i)) != NULL; i++)
			include_key(ld, s);
	}
	config_destroy(&c);
	ld->lastname = NULL;
}

/* Reads every file pattern (a string of the main file's include) names. */
static void
include_glob(struct loader *ld, const config_setting_t *at)
{
	const char	*pattern = config_setting_get_string(at);
	char		*full;
	glob_t		 gl;
	size_t		 i;
	int		 r;

	if (pattern[0] == '/' || ld->maindir == NULL)
		full = xstrdup(pattern);
	else
		full = xasprintf("%s/%s", ld->maindir, pattern);
	memset(&gl, 0, sizeof(gl));
	glob_errno = 0;
	r = glob(full, 0, glob_error, &gl);
	if (r == GLOB_ABORTED)
		confread_error(&ld->cr, at, "'include' pattern \"%s\": cannot "
		    "read %s: %s", pattern, glob_errpath, strerror(glob_errno));
	else if (r == GLOB_NOSPACE)
		confread_error(&ld->cr, at, "'include' pattern \"%s\": out of "
		    "memory", pattern);
	for (i = 0; r == 0 && i < gl.gl_pathc; i++)
		include_file(ld, gl.gl_pathv[i]);
	globfree(&gl);
	free(full);
}

static void
includes_load(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t	*agent, *inc, *e;
	unsigned int		 i;

	agent = config_setting_get_member(root, "agent");
	if (agent == NULL || !config_setting_is_group(agent))
		return;
	inc = config_setting_get_member(agent, "include");
	if (inc == NULL ||
	    (!config_setting_is_array(inc) && !config_setting_is_list(inc)))
		return;
	for (i = 0; (e = config_setting_get_elem(inc, i)) != NULL; i++)
		if (config_setting_type(e) == CONFIG_TYPE_STRING &&
		    config_setting_get_string(e)[0] != '\0')
			include_glob(ld, e);
}

static void
main_key(struct loader *ld, const config_setting_t *s)
{
	const char	*name = config_setting_name(s);

	if (strcmp(name, "agent") == 0) {
		if (is_group(ld, s))
			agent_parse(ld, s);
	} else if (strcmp(name, "defaults") == 0) {
		if (is_group(ld, s))
			defaults_parse(ld, &ld->cr, s);
	} else if (strcmp(name, "checks") == 0)
		checks_parse(ld, s);
	else if (strcmp(name, "rules") == 0)
		rules_conf_parse(&ld->cr, s, ld->cfg);
	else if (strcmp(name, "silences") == 0)
		rules_conf_silences(&ld->cr, s, ld->cfg);
	else if (strcmp(name, "modules") == 0) {
		if (is_group(ld, s))
			modules_parse(ld, s);
	} else if (strcmp(name, "channels") == 0)
		;	/* read first, by load_main(): rules name them */
	else
		unknown_key(ld, s, top_keys);
}

static void
load_main(struct loader *ld, const char *path)
{
	config_t		 c;
	struct stat		 st;
	const config_setting_t	*root, *s;
	unsigned int		 i;

	ld->cr.file = intern_file(ld, path);
	config_init(&c);
	if (read_file(ld, &c, path, &st) == 0) {
		seen_add(ld, &st);
		root = config_root_setting(&c);
		defaults_preread(ld, root);
		if ((s = config_setting_get_member(root, "channels")) != NULL)
			channel_conf_parse(&ld->cr, s, ld->cfg);
		for (i = 0; (s = config_setting_get_elem(root, i)) != NULL; i++)
			main_key(ld, s);
		includes_load(ld, root);
	}
	config_destroy(&c);
	tree_release();
	ld->lastname = NULL;
}

/* The main file's directory, glob-escaped, or NULL for the cwd. */
static char *
main_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	const char	*p;
	char		*dir, *q;

	if (slash == NULL)
		return NULL;
	dir = q = xmalloc(2 * (size_t)(slash - path) + 1);
	for (p = path; p < slash; p++) {
		if (strchr("*?[\\", *p) != NULL)
			*q++ = '\\';
		*q++ = *p;
	}
	*q = '\0';
	return dir;
}

/* ---- cross-file checks -------------------------------------------------- */

static int
by_name(const void *a, const void *b)
{
	const struct check_conf	*x = *(const struct check_conf *const *)a;
	const struct check_conf	*y = *(const struct check_conf *const *)b;
	int			 r;

	if ((r = strcmp(x->name, y->name)) != 0)
		return r;
	return x < y ? -1 : x > y;	/* file order among equals */
}

/* A later check with the name of an earlier one. */
struct dup {
	const struct check_conf	*check;
	const struct check_conf	*first;
};

static int
by_place(const void *a, const void *b)
{
	const struct check_conf	*x = ((const struct dup *)a)->check;
	const struct check_conf	*y = ((const struct dup *)b)->check;

	return x < y ? -1 : x > y;
}

/* Sorting finds duplicates in n log n; each is reported in file order. */
static void
check_duplicates(struct loader *ld)
{
	struct config		 *cfg = ld->cfg;
	const struct check_conf	**sorted;
	struct dup		 *dups;
	size_t			  i, run = 0, n = 0, ndups = 0;

	sorted = xcalloc(cfg->nchecks + 1, sizeof(*sorted));
	dups = xcalloc(cfg->nchecks + 1, sizeof(*dups));
	for (i = 0; i < cfg->nchecks; i++)
		if (cfg->checks[i].name != NULL)
			sorted[n++] = &cfg->checks[i];
	qsort(sorted, n, sizeof(*sorted), by_name);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i]->name, sorted[run]->name) != 0) {
			run = i;
			continue;
		}
		/* Equal names sort in file order: the run's head came first. */
		dups[ndups].check = sorted[i];
		dups[ndups++].first = sorted[run];
	}
	qsort(dups, ndups, sizeof(*dups), by_place);
	for (i = 0; i < ndups; i++)
		config_errors_add(ld->cr.errs, "%s:%d: duplicate check name "
		    "'%s' (first defined at %s:%d)", dups[i].check->file,
		    dups[i].check->line, dups[i].check->name,
		    dups[i].first->file, dups[i].first->line);
	free(dups);
	free(sorted);
}

/* ---- entry point -------------------------------------------------------- */

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct config_errors	 local;
	struct loader		 ld;
	size_t			 before;

	memset(&local, 0, sizeof(local));
	if (errs == NULL)
		errs = &local;
	before = errs->count;
	memset(&ld, 0, sizeof(ld));
	ld.cr.errs = errs;
	ld.cfg = config_new(path);
	ld.maindir = main_dir(path);
	load_main(&ld, path);
	check_duplicates(&ld);
	config_index_build(ld.cfg);
	rules_conf_finish(&ld.cr, ld.cfg);
	free(ld.maindir);
	free(ld.seen);
	if (errs->count > before) {
		config_errors_free(&local);
		config_free(ld.cfg);
		return NULL;
	}
	if (ld.cfg->nchecks > 0 && ld.cfg->nchecks < ld.checkscap)
		ld.cfg->checks = xreallocarray(ld.cfg->checks,
		    ld.cfg->nchecks, sizeof(*ld.cfg->checks));
	return ld.cfg;
}
