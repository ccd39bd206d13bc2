/* SPDX-License-Identifier: ISC */
/*
 * Tests for config and confread: a good main file with includes parsed
 * into canonical units with defaults applied; a table of bad configs, each
 * with the exact "file:line: message" lines it must produce; durations;
 * the typed reads and suggestions on their own; and the size of a large
 * config.  Files are written to a fresh temporary directory per test, and
 * the bad configs are loaded from inside it so that the expected lines
 * name files as a user types them ("sonde.conf:3: ...").
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "pattern.h"
#include "probe.h"
#include "testutil.h"
#include "xmalloc.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- fixture: a temporary directory, removed after each test ------------ */

static char	*tmp;
static char	 oldcwd[4096];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
tmp_setup(void)
{
	char	*d;

	ck_assert_ptr_nonnull(getcwd(oldcwd, sizeof(oldcwd)));
	tmp = xstrdup(testutil_tmpdir());
	d = xasprintf("%s/checks.d", tmp);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	free(d);
}

static void
tmp_teardown(void)
{
	ck_assert_int_eq(chdir(oldcwd), 0);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	tmp = NULL;
}

static void
put(const char *name, const char *text)
{
	free(testutil_write_file(tmp, name, text));
}

/* Returns every error line joined with "\n" (caller frees). */
static char *
joined(const struct config_errors *errs)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < errs->count; i++) {
		t = xasprintf("%s%s%s", s, i == 0 ? "" : "\n", errs->lines[i]);
		free(s);
		s = t;
	}
	return s;
}

/* ---- a good config ------------------------------------------------------ */

static const char good_main[] =
    "# the main file\n"
    "agent = {\n"
    "  name = \"edge-fra-1\";\n"
    "  state_dir = \"/var/lib/sonde-test\";\n"
    "  max_in_flight = 32;\n"
    "  include = [ \"checks.d/*.conf\", \"extra.conf\" ];\n"
    "  log = \"syslog\";\n"
    "  log_facility = \"local3\";\n"
    "  log_level = \"debug\";\n"
    "};\n"
    "checks = (\n"
    "  { name = \"db\"; type = \"tcp\"; host = \"db.internal\"; port = 5432;\n"
    "    labels = { team = \"core\"; tier = \"1\"; }; }\n"
    ");\n"
    "defaults = { interval = \"1m\"; timeout = \"2s\";\n"
    "  ip_version = \"4\"; };\n";

static const char good_a[] =
    "checks = (\n"
    "  { name = \"web\"; type = \"tcp\"; host = \"example.com\"; port = 443;\n"
    "    interval = \"15s\"; },\n"
    "  { name = \"ssh\"; type = \"tcp\"; host = \"10.0.0.1\"; port = 22;\n"
    "    timeout = \"1500ms\"; ip_version = \"any\"; }\n"
    ");\n";

static const char good_b[] =
    "checks = ( { name = \"v6\"; type = \"tcp\"; host = \"::1\"; port = 1;\n"
    "  ip_version = \"6\"; interval = \"1h30m\"; timeout = \"250ms\"; } );\n";

static void
write_good(void)
{
	put("sonde.conf", good_main);
	/* Written out of order: glob order decides, not creation order. */
	put("checks.d/20-b.conf", good_b);
	put("checks.d/10-a.conf", good_a);
	put("checks.d/README", "not a config: the glob does not match it\n");
	put("extra.conf", "checks = ();\n");
}

static void
assert_check(const struct check_conf *ck, const char *name, int64_t iv,
    int64_t to, int family, const char *file, int line)
{
	ck_assert_str_eq(ck->name, name);
	ck_assert_ptr_eq(ck->ops, probe_find("tcp"));
	ck_assert_int_eq(ck->interval_ms, iv);
	ck_assert_int_eq(ck->timeout_ms, to);
	ck_assert_int_eq(ck->ip_family, family);
	ck_assert_msg(strcmp(ck->file, file) == 0, "%s: file %s, not %s",
	    name, ck->file, file);
	ck_assert_int_eq(ck->line, line);
	ck_assert_ptr_nonnull(ck->kind_conf);
	ck_assert_ptr_nonnull(ck->target);
}

static void
assert_good_agent(const struct config *cfg)
{
	ck_assert_str_eq(cfg->agent.name, "edge-fra-1");
	ck_assert_str_eq(cfg->agent.state_dir, "/var/lib/sonde-test");
	ck_assert_int_eq(cfg->agent.max_in_flight, 32);
	ck_assert_int_eq(cfg->agent.log, CONFIG_LOG_SYSLOG);
	ck_assert_int_eq(cfg->agent.log_facility, LOG_LOCAL3);
	ck_assert_int_eq(cfg->agent.debug, 1);
	ck_assert_uint_eq(cfg->agent.ninclude, 2);
	ck_assert_str_eq(cfg->agent.include[0], "checks.d/*.conf");
	ck_assert_str_eq(cfg->agent.include[1], "extra.conf");
	ck_assert_int_eq(cfg->default_interval_ms, 60000);
	ck_assert_int_eq(cfg->default_timeout_ms, 2000);
	ck_assert_int_eq(cfg->default_ip_family, AF_INET);
}

START_TEST(test_config_load_good)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*main_path, *a, *b;

	write_good();
	main_path = xasprintf("%s/sonde.conf", tmp);
	a = xasprintf("%s/checks.d/10-a.conf", tmp);
	b = xasprintf("%s/checks.d/20-b.conf", tmp);
	/* Includes resolve against the main file's directory, not the cwd. */
	ck_assert_int_eq(chdir("/"), 0);
	cfg = config_load(main_path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_uint_eq(errs.count, 0);
	ck_assert_str_eq(cfg->path, main_path);
	assert_good_agent(cfg);
	/* Main file first, then the includes in glob order. */
	ck_assert_uint_eq(cfg->nchecks, 4);
	assert_check(&cfg->checks[0], "db", 60000, 2000, AF_INET, main_path,
	    12);
	assert_check(&cfg->checks[1], "web", 15000, 2000, AF_INET, a, 2);
	assert_check(&cfg->checks[2], "ssh", 60000, 1500, AF_UNSPEC, a, 4);
	assert_check(&cfg->checks[3], "v6", 5400000, 250, AF_INET6, b, 1);
	ck_assert_uint_eq(cfg->checks[0].nlabels, 2);
	ck_assert_str_eq(cfg->checks[0].labels[0].key, "team");
	ck_assert_str_eq(cfg->checks[0].labels[0].value, "core");
	ck_assert_str_eq(cfg->checks[0].labels[1].key, "tier");
	ck_assert_str_eq(cfg->checks[0].labels[1].value, "1");
	ck_assert_uint_eq(cfg->checks[1].nlabels, 0);
	/* Checks of one file share one file name. */
	ck_assert_ptr_eq(cfg->checks[1].file, cfg->checks[2].file);
	ck_assert_ptr_eq(config_find_check(cfg, "ssh"), &cfg->checks[2]);
	ck_assert_ptr_null(config_find_check(cfg, "nope"));
	ck_assert_int_eq(cfg->refs, 1);
	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_int_eq(cfg->refs, 2);
	config_unref(cfg);
	ck_assert_int_eq(cfg->refs, 1);
	config_unref(cfg);	/* frees; ASan and valgrind see the rest */
	config_unref(NULL);
	free(main_path);
	free(a);
	free(b);
}
END_TEST

/* Every check is found by name through the index, and no other name. */
START_TEST(test_config_find_check_indexed)
{
	struct config	*cfg;
	char		*text, *path, name[16];
	size_t		 i, len = 0, cap = 3000 * 80 + 32;

	text = xmalloc(cap);
	len += (size_t)snprintf(text, cap, "checks = (\n");
	for (i = 0; i < 3000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s{ name = "
		    "\"c%zu\"; type = \"tcp\"; host = \"h\"; port = 1; }\n",
		    i > 0 ? "," : "", i);
	snprintf(text + len, cap - len, ");\n");
	put("sonde.conf", text);
	path = xasprintf("%s/sonde.conf", tmp);
	cfg = config_load(path, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull(cfg->name_index);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		ck_assert_ptr_eq(config_find_check(cfg, name),
		    &cfg->checks[i]);
	}
	ck_assert_ptr_null(config_find_check(cfg, "c3000"));
	ck_assert_ptr_null(config_find_check(cfg, "c"));
	ck_assert_ptr_null(config_find_check(cfg, ""));
	config_unref(cfg);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_config_load_defaults)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			 host[256];

	put("sonde.conf", "checks = ( { name = \"a\"; type = \"tcp\"; "
	    "host = \"h\"; port = 1; } );\n");
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("sonde.conf", &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(cfg->agent.name, host);
	ck_assert_str_eq(cfg->agent.state_dir, LOCALSTATEDIR "/lib/sonde");
	ck_assert_int_eq(cfg->agent.max_in_flight,
	    CONFIG_DEFAULT_MAX_IN_FLIGHT);
	ck_assert_int_eq(cfg->agent.schedule_grid_ms, 50);
	ck_assert_int_eq(cfg->agent.log, CONFIG_LOG_STDERR);
	ck_assert_int_eq(cfg->agent.log_facility, LOG_DAEMON);
	ck_assert_int_eq(cfg->agent.debug, 0);
	ck_assert_uint_eq(cfg->agent.ninclude, 0);
	ck_assert_uint_eq(cfg->nchecks, 1);
	ck_assert_int_eq(cfg->checks[0].interval_ms,
	    CONFIG_DEFAULT_INTERVAL_MS);
	ck_assert_int_eq(cfg->checks[0].timeout_ms, CONFIG_DEFAULT_TIMEOUT_MS);
	ck_assert_int_eq(cfg->checks[0].ip_family, AF_UNSPEC);
	ck_assert_str_eq(cfg->checks[0].file, "sonde.conf");
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_short_interval_shortens_builtin_timeout)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;

	put("sonde.conf", "defaults = { interval = \"2s\"; };\n"
	    "checks = (\n"
	    "  { name = \"a\"; type = \"tcp\"; host = \"h\"; port = 1; },\n"
	    "  { name = \"b\"; type = \"tcp\"; host = \"h\"; port = 1;\n"
	    "    interval = \"500ms\"; }\n"
	    ");\n");
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("sonde.conf", &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_int_eq(cfg->default_timeout_ms, 2000);
	ck_assert_int_eq(cfg->checks[0].timeout_ms, 2000);
	ck_assert_int_eq(cfg->checks[1].timeout_ms, 500);
	config_unref(cfg);
}
END_TEST

/* A file two globs name, and the main file itself, are each read once. */
START_TEST(test_config_include_read_once)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;

	put("sonde.conf", "agent = { include = [ \"*.conf\", \"checks.d/*\", "
	    "\"checks.d/a.conf\", \"missing.d/*.conf\" ]; };\n"
	    "checks = ( { name = \"m\"; type = \"tcp\"; host = \"h\"; "
	    "port = 1; } );\n");
	put("other.conf", "checks = ( { name = \"o\"; type = \"tcp\"; "
	    "host = \"h\"; port = 1; } );\n");
	put("checks.d/a.conf", "checks = ( { name = \"a\"; type = \"tcp\"; "
	    "host = \"h\"; port = 1; } );\n");
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("./sonde.conf", &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_uint_eq(cfg->nchecks, 3);
	ck_assert_str_eq(cfg->checks[0].name, "m");
	ck_assert_str_eq(cfg->checks[1].name, "o");
	ck_assert_str_eq(cfg->checks[1].file, "./other.conf");
	ck_assert_str_eq(cfg->checks[2].name, "a");
	ck_assert_str_eq(cfg->checks[2].file, "./checks.d/a.conf");
	config_unref(cfg);
}
END_TEST

/*
 * A config file every user may write (the main one or an included one)
 * is refused: its writer would choose what sonde reads and sends.
 */
START_TEST(test_config_world_writable_refused)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*p;

	put("sonde.conf", "agent = { include = [ \"checks.d/*.conf\" ]; };\n");
	put("checks.d/a.conf", "checks = ( { name = \"a\"; type = \"tcp\"; "
	    "host = \"h\"; port = 1; } );\n");
	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(chmod("checks.d/a.conf", 0666), 0);
	ck_assert_ptr_null(config_load("sonde.conf", &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.lines[0], "checks.d/a.conf: writable by every "
	    "user (mode 0666); refused (chmod o-w)");
	config_errors_free(&errs);
	ck_assert_int_eq(chmod("checks.d/a.conf", 0664), 0);
	ck_assert_int_eq(chmod("sonde.conf", 0602), 0);
	ck_assert_ptr_null(config_load("sonde.conf", &errs));
	p = strstr(errs.lines[0], "sonde.conf: writable by every user (mode "
	    "0602)");
	ck_assert_msg(p != NULL, "%s", errs.lines[0]);
	config_errors_free(&errs);
	ck_assert_int_eq(chmod("sonde.conf", 0640), 0);
	cfg = config_load("sonde.conf", &errs);
	ck_assert_ptr_nonnull(cfg);
	config_unref(cfg);
}
END_TEST

/* An empty checks.d is normal; so is a config without checks. */
START_TEST(test_config_empty)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;

	put("sonde.conf", "agent = { include = [ \"checks.d/*.conf\" ]; };\n");
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("sonde.conf", &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nchecks, 0);
	config_unref(cfg);
	config_errors_free(&errs);
}
END_TEST

/* Checks above defaults still get them; errors still come in file order. */
START_TEST(test_config_defaults_after_checks)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;

	put("sonde.conf", "checks = ( { name = \"a\"; type = \"tcp\"; "
	    "host = \"h\"; port = 1; } );\n"
	    "defaults = { interval = \"10s\"; timeout = \"1s\"; };\n");
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("sonde.conf", &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->checks[0].interval_ms, 10000);
	ck_assert_int_eq(cfg->checks[0].timeout_ms, 1000);
	config_unref(cfg);
}
END_TEST

/* ---- bad configs -------------------------------------------------------- */

#define TCP	"type = \"tcp\"; host = \"h\"; port = 1;"

struct bad_case {
	const char	*what;
	const char	*main;		/* NULL: no main file */
	const char	*inc_name;	/* another file, or NULL */
	const char	*inc;
	const char	*expect;	/* every error line, "\n"-joined */
};

static const struct bad_case bad_cases[] = {
	/* One error, one line (found by fuzz_config). */
	{ "control bytes in a quoted value",
	  "checks = ( { name = \"a\"; type = \"tc\\np\\x1b\"; host = \"h\"; "
	  "port = 1; } );\n", NULL, NULL,
	  "sonde.conf:1: unknown check type 'tc\\np\\x1b' (known types: tcp, "
	  "tls, dns, http)" },
	{ "syntax error",
	  "agent = {\n  name = ;\n};\n", NULL, NULL,
	  "sonde.conf:2: syntax error" },
	{ "missing main file",
	  NULL, NULL, NULL,
	  "sonde.conf: cannot read: No such file or directory" },
	{ "main file is a directory",
	  NULL, "sonde.conf/x", "",
	  "sonde.conf: cannot read: Is a directory" },
	{ "libconfig duplicate setting",
	  "agent = { name = \"a\";\n name = \"b\"; };\n", NULL, NULL,
	  "sonde.conf:2: duplicate setting name" },
	{ "@include of a missing file",
	  "checks = ();\n@include \"nope.conf\"\n", NULL, NULL,
	  "sonde.conf:2: cannot open include file" },
	{ "unknown top-level key with a suggestion",
	  "agent = { };\nchekcs = ();\n", NULL, NULL,
	  "sonde.conf:2: unknown key 'chekcs' (did you mean 'checks'?)" },
	{ "unknown top-level key, nothing close",
	  "widgets = ();\n", NULL, NULL,
	  "sonde.conf:1: unknown key 'widgets'" },
	{ "unknown agent key",
	  "agent = {\n  nmae = \"x\";\n};\n", NULL, NULL,
	  "sonde.conf:2: unknown key 'nmae' in agent (did you mean 'name'?)" },
	{ "unknown defaults key",
	  "defaults = { intervall = \"5s\"; };\n", NULL, NULL,
	  "sonde.conf:1: unknown key 'intervall' in defaults "
	  "(did you mean 'interval'?)" },
	{ "unknown check key with a suggestion",
	  "checks = (\n  { name = \"a\"; " TCP "\n    timout = \"1s\"; }\n);\n",
	  NULL, NULL,
	  "sonde.conf:3: unknown key 'timout' in check "
	  "(did you mean 'timeout'?)" },
	{ "unknown check key, nothing close",
	  "checks = ( { name = \"a\"; " TCP " colour = \"red\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: unknown key 'colour' in check" },
	{ "unknown kind key with a suggestion",
	  "checks = (\n  { name = \"a\"; type = \"tcp\"; host = \"h\";\n"
	  "    prot = 22; }\n);\n", NULL, NULL,
	  "sonde.conf:3: unknown key 'prot' in check (did you mean 'port'?)\n"
	  "sonde.conf:2: check is missing required key 'port'" },
	{ "check without a name",
	  "checks = (\n  { " TCP " }\n);\n", NULL, NULL,
	  "sonde.conf:2: check is missing required key 'name'" },
	{ "check without a type",
	  "checks = (\n  { name = \"a\"; }\n);\n", NULL, NULL,
	  "sonde.conf:2: check is missing required key 'type'" },
	{ "unknown type with a suggestion",
	  "checks = ( { name = \"a\"; type = \"tpc\"; host = \"h\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: unknown check type 'tpc' (did you mean 'tcp'? "
	  "known types: tcp, tls, dns, http)" },
	{ "unknown type, nothing close",
	  "checks = ( { name = \"a\"; type = \"ping\"; } );\n", NULL, NULL,
	  "sonde.conf:1: unknown check type 'ping' (known types: tcp, tls, dns, http)" },
	{ "type is not a string",
	  "checks = ( { name = \"a\"; type = 4; } );\n", NULL, NULL,
	  "sonde.conf:1: 'type' must be a string, got an integer" },
	{ "bad check name",
	  "checks = ( { name = \"my check\"; " TCP " } );\n", NULL, NULL,
	  "sonde.conf:1: 'name' must be 1 to 64 characters of A-Z a-z 0-9 "
	  "_ . : - starting with a letter or digit, got \"my check\"" },
	{ "check name starting with a dash",
	  "checks = ( { name = \"-a\"; " TCP " } );\n", NULL, NULL,
	  "sonde.conf:1: 'name' must be 1 to 64 characters of A-Z a-z 0-9 "
	  "_ . : - starting with a letter or digit, got \"-a\"" },
	{ "integer for a duration",
	  "checks = ( { name = \"a\"; " TCP " interval = 30; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: 'interval' must be a duration string such as "
	  "\"30s\", got an integer" },
	{ "string for an integer",
	  "agent = { max_in_flight = \"10\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'max_in_flight' must be an integer, got a string" },
	{ "float for an integer",
	  "agent = { max_in_flight = 1.5; };\n", NULL, NULL,
	  "sonde.conf:1: 'max_in_flight' must be an integer, got a float" },
	{ "boolean for a string",
	  "agent = { name = true; };\n", NULL, NULL,
	  "sonde.conf:1: 'name' must be a string, got a boolean" },
	{ "list for a group",
	  "agent = ( \"x\" );\n", NULL, NULL,
	  "sonde.conf:1: 'agent' must be a group { ... }, got a list" },
	{ "checks is an array",
	  "checks = [ \"db\" ];\n", NULL, NULL,
	  "sonde.conf:1: 'checks' must be a list of groups such as "
	  "( { name = \"db\"; ... } ), got an array" },
	{ "checks is a group",
	  "checks = { name = \"db\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'checks' must be a list of groups such as "
	  "( { name = \"db\"; ... } ), got a group" },
	{ "a check is not a group",
	  "checks = (\n  \"db\",\n  { name = \"a\"; " TCP " }\n);\n",
	  NULL, NULL,
	  "sonde.conf:2: each check must be a group { ... }, got a string" },
	{ "duration without a unit",
	  "defaults = { interval = \"30\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'interval': missing unit in \"30\" "
	  "(use ms, s, m, h or d)" },
	{ "duration with an unknown unit",
	  "defaults = { timeout = \"5x\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'timeout': unknown unit \"x\" in \"5x\" "
	  "(use ms, s, m, h or d)" },
	{ "negative duration",
	  "checks = ( { name = \"a\"; " TCP " timeout = \"-5s\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: 'timeout': negative duration \"-5s\"" },
	{ "duration with a space",
	  "defaults = { interval = \"1h 30m\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'interval': unexpected ' ' in \"1h 30m\"" },
	{ "interval too short",
	  "checks = ( { name = \"a\"; " TCP " interval = \"50ms\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: 'interval' must be between 100ms and 1d, got 50ms" },
	{ "timeout longer than the interval",
	  "checks = ( { name = \"a\"; " TCP "\n"
	  "  interval = \"5s\";\n  timeout = \"10s\"; } );\n", NULL, NULL,
	  "sonde.conf:3: timeout 10s is longer than the interval 5s" },
	{ "timeout longer than the interval from defaults",
	  "defaults = { interval = \"5s\"; };\n"
	  "checks = ( { name = \"a\"; " TCP " timeout = \"10s\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:2: timeout 10s is longer than the interval 5s "
	  "(from defaults)" },
	{ "timeout longer than the built-in interval",
	  "checks = ( { name = \"a\"; " TCP " timeout = \"1m\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: timeout 1m is longer than the interval 30s "
	  "(the default)" },
	{ "timeout from defaults longer than the interval",
	  "defaults = { timeout = \"10s\"; };\n"
	  "checks = ( { name = \"a\"; " TCP "\n  interval = \"5s\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:3: timeout 10s (from defaults) is longer than the "
	  "interval 5s" },
	{ "defaults timeout longer than defaults interval, reported once",
	  "defaults = { interval = \"5s\";\n  timeout = \"10s\"; };\n"
	  "checks = ( { name = \"a\"; " TCP " },\n"
	  "  { name = \"b\"; " TCP " } );\n", NULL, NULL,
	  "sonde.conf:2: timeout 10s is longer than the interval 5s" },
	{ "max_in_flight out of range",
	  "agent = { max_in_flight = 0; };\n", NULL, NULL,
	  "sonde.conf:1: 'max_in_flight' must be between 1 and 100000, "
	  "got 0" },
	{ "schedule_grid out of range",
	  "agent = { schedule_grid = \"2s\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'schedule_grid' must be between 0s and 1s, "
	  "got 2s" },
	{ "relative state_dir",
	  "agent = { state_dir = \"var/lib/sonde\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'state_dir' must be an absolute path, "
	  "got \"var/lib/sonde\"" },
	{ "bad log target with a suggestion",
	  "agent = { log = \"sylog\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'log' must be one of \"stderr\" or \"syslog\", "
	  "got \"sylog\" (did you mean \"syslog\"?)" },
	{ "bad log level",
	  "agent = { log_level = \"trace\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'log_level' must be one of \"info\" or \"debug\", "
	  "got \"trace\"" },
	{ "bad log facility",
	  "agent = { log_facility = \"kern0\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'log_facility' must be a syslog facility such as "
	  "\"daemon\" or \"local0\", got \"kern0\"" },
	{ "include is a string",
	  "agent = { include = \"checks.d/*.conf\"; };\n", NULL, NULL,
	  "sonde.conf:1: 'include' must be an array of glob patterns such as "
	  "[\"checks.d/*.conf\"], got a string" },
	{ "include pattern is not a string",
	  "agent = { include = ( \"a\", 1 ); };\n", NULL, NULL,
	  "sonde.conf:1: 'include' patterns must be strings, got an integer" },
	{ "bad ip_version",
	  "checks = ( { name = \"a\"; " TCP " ip_version = \"5\"; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: 'ip_version' must be one of \"4\", \"6\" or \"any\", "
	  "got \"5\"" },
	{ "ip_version as an integer",
	  "defaults = { ip_version = 4; };\n", NULL, NULL,
	  "sonde.conf:1: 'ip_version' must be one of \"4\", \"6\" or \"any\", "
	  "got an integer" },
	{ "labels is not a group",
	  "checks = ( { name = \"a\"; " TCP " labels = ( \"x\" ); } );\n",
	  NULL, NULL,
	  "sonde.conf:1: 'labels' must be a group { ... }, got a list" },
	{ "bad label name",
	  "checks = ( { name = \"a\"; " TCP "\n"
	  "  labels = { team-a = \"x\"; }; } );\n", NULL, NULL,
	  "sonde.conf:2: label name 'team-a' must match "
	  "[a-zA-Z_][a-zA-Z0-9_]*" },
	{ "reserved label name",
	  "checks = ( { name = \"a\"; " TCP "\n"
	  "  labels = { job = \"x\"; }; } );\n",
	  NULL, NULL,
	  "sonde.conf:2: label name 'job' is reserved (check, type, instance "
	  "and job are set by sonde and Prometheus)" },
	{ "label value is not a string",
	  "checks = ( { name = \"a\"; " TCP " labels = { tier = 1; }; } );\n",
	  NULL, NULL,
	  "sonde.conf:1: label 'tier' must be a string, got an integer" },
	{ "duplicate names in one file",
	  "checks = (\n  { name = \"a\"; " TCP " },\n"
	  "  { name = \"b\"; " TCP " },\n  { name = \"a\"; " TCP " }\n);\n",
	  NULL, NULL,
	  "sonde.conf:4: duplicate check name 'a' (first defined at "
	  "sonde.conf:2)" },
	{ "the same name three times",
	  "checks = (\n  { name = \"a\"; " TCP " },\n"
	  "  { name = \"a\"; " TCP " },\n  { name = \"a\"; " TCP " }\n);\n",
	  NULL, NULL,
	  "sonde.conf:3: duplicate check name 'a' (first defined at "
	  "sonde.conf:2)\n"
	  "sonde.conf:4: duplicate check name 'a' (first defined at "
	  "sonde.conf:2)" },
	{ "duplicate names across files",
	  "agent = { include = [ \"checks.d/*.conf\" ]; };\n"
	  "checks = ( { name = \"api\"; " TCP " } );\n",
	  "checks.d/a.conf", "\n\nchecks = ( { name = \"api\"; " TCP " } );\n",
	  "checks.d/a.conf:3: duplicate check name 'api' (first defined at "
	  "sonde.conf:2)" },
	{ "agent in an included file",
	  "agent = { include = [ \"checks.d/*.conf\" ]; };\n",
	  "checks.d/a.conf", "checks = ();\nagent = { name = \"x\"; };\n",
	  "checks.d/a.conf:2: 'agent' is only allowed in the main config "
	  "file" },
	{ "unknown key in an included file",
	  "agent = { include = [ \"checks.d/*.conf\" ]; };\n",
	  "checks.d/a.conf", "chekcs = ();\n",
	  "checks.d/a.conf:1: unknown key 'chekcs' (did you mean 'checks'?)" },
	{ "syntax error in an included file",
	  "agent = { include = [ \"checks.d/*.conf\" ]; };\n",
	  "checks.d/a.conf", "checks = (\n  { name = }\n);\n",
	  "checks.d/a.conf:2: syntax error" },
	{ "missing kind key",
	  "checks = (\n  { name = \"a\"; type = \"tcp\"; port = 22; }\n);\n",
	  NULL, NULL,
	  "sonde.conf:2: check is missing required key 'host'" },
	{ "bad kind value",
	  "checks = (\n  { name = \"a\"; type = \"tcp\"; host = \"h\";\n"
	  "    port = 0; }\n);\n", NULL, NULL,
	  "sonde.conf:3: 'port' must be between 1 and 65535, got 0" },
	{ "every error of every file, in file order, then duplicates",
	  "checks = (\n"
	  "  { name = \"a\"; " TCP " interval = \"5\"; },\n"
	  "  { name = \"a\"; type = \"tcp\"; port = 1; }\n"
	  ");\n"
	  "agent = { max_in_flight = -1; include = [ \"checks.d/*\" ]; };\n"
	  "defaults = { timeout = 5; };\n"
	  "bogus = 1;\n",
	  "checks.d/a.conf",
	  "checks = ( { name = \"a\"; " TCP " labels = { instance = \"\"; }; "
	  "} );\n",
	  "sonde.conf:2: 'interval': missing unit in \"5\" "
	  "(use ms, s, m, h or d)\n"
	  "sonde.conf:3: check is missing required key 'host'\n"
	  "sonde.conf:5: 'max_in_flight' must be between 1 and 100000, "
	  "got -1\n"
	  "sonde.conf:6: 'timeout' must be a duration string such as \"30s\", "
	  "got an integer\n"
	  "sonde.conf:7: unknown key 'bogus'\n"
	  "checks.d/a.conf:1: label name 'instance' is reserved (check, type, "
	  "instance and job are set by sonde and Prometheus)\n"
	  "sonde.conf:3: duplicate check name 'a' (first defined at "
	  "sonde.conf:2)\n"
	  "checks.d/a.conf:1: duplicate check name 'a' (first defined at "
	  "sonde.conf:2)" },
};

START_TEST(test_config_bad)
{
	const struct bad_case	*bc = &bad_cases[_i];
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*got, *d;

	if (bc->main != NULL)
		put("sonde.conf", bc->main);
	if (bc->inc_name != NULL) {
		if (strncmp(bc->inc_name, "sonde.conf/", 11) == 0) {
			d = xasprintf("%s/sonde.conf", tmp);
			ck_assert_int_eq(mkdir(d, 0755), 0);
			free(d);
		}
		put(bc->inc_name, bc->inc);
	}
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = config_load("sonde.conf", &errs);
	got = joined(&errs);
	ck_assert_msg(cfg == NULL, "%s: loaded", bc->what);
	ck_assert_msg(strcmp(got, bc->expect) == 0,
	    "%s:\n got: %s\nwant: %s", bc->what, got, bc->expect);
	free(got);
	config_errors_free(&errs);
	config_errors_free(&errs);	/* idempotent */
}
END_TEST

/* Errors append to what the caller already has; NULL errs is allowed. */
START_TEST(test_config_errors_append)
{
	struct config_errors	 errs = { 0 };

	config_errors_add(&errs, "first %d", 1);
	ck_assert_ptr_null(config_load("/nonexistent/sonde.conf", &errs));
	ck_assert_uint_eq(errs.count, 2);
	ck_assert_str_eq(errs.lines[0], "first 1");
	ck_assert_str_eq(errs.lines[1], "/nonexistent/sonde.conf: cannot "
	    "read: No such file or directory");
	config_errors_free(&errs);
	ck_assert_ptr_null(config_load("/nonexistent/sonde.conf", NULL));
}
END_TEST

/* ---- durations ---------------------------------------------------------- */

struct duration_case {
	const char	*in;
	int64_t		 ms;		/* when err is NULL */
	const char	*err;
};

static const struct duration_case duration_cases[] = {
	{ "250ms", 250, NULL },
	{ "30s", 30000, NULL },
	{ "5m", 300000, NULL },
	{ "1h30m", 5400000, NULL },
	{ "2d", 172800000, NULL },
	{ "0s", 0, NULL },
	{ "1d2h3m4s5ms", 93784005, NULL },
	{ "1m30s", 90000, NULL },
	{ "007s", 7000, NULL },
	{ "106751991167d7h12m55s807ms", INT64_MAX, NULL },
	{ "", 0, "empty duration (use ms, s, m, h or d)" },
	{ "30", 0, "missing unit in \"30\" (use ms, s, m, h or d)" },
	{ "1h30", 0, "missing unit in \"1h30\" (use ms, s, m, h or d)" },
	{ "5x", 0, "unknown unit \"x\" in \"5x\" (use ms, s, m, h or d)" },
	{ "5S", 0, "unknown unit \"S\" in \"5S\" (use ms, s, m, h or d)" },
	{ "5sec", 0, "unknown unit \"sec\" in \"5sec\" "
	  "(use ms, s, m, h or d)" },
	{ "-5s", 0, "negative duration \"-5s\"" },
	{ "+5s", 0, "unexpected '+' in \"+5s\"" },
	{ "1h 30m", 0, "unexpected ' ' in \"1h 30m\"" },
	{ " 5s", 0, "unexpected ' ' in \" 5s\"" },
	{ "1.5s", 0, "unexpected '.' in \"1.5s\" (use whole units such as "
	  "\"1s500ms\")" },
	{ "s", 0, "missing number before 's' in \"s\"" },
	{ "5s\t", 0, "unexpected character 0x09 in \"5s\t\"" },
	{ "30m1h", 0, "units out of order in \"30m1h\" (largest first, each "
	  "at most once)" },
	{ "1s1s", 0, "units out of order in \"1s1s\" (largest first, each "
	  "at most once)" },
	{ "106751991167d7h12m55s808ms", 0,
	  "duration \"106751991167d7h12m55s808ms\" is too long" },
	{ "99999999999999999999s", 0,
	  "duration \"99999999999999999999s\" is too long" },
	{ "9999999999999999d", 0,
	  "duration \"9999999999999999d\" is too long" },
};

START_TEST(test_config_duration)
{
	const struct duration_case	*dc = &duration_cases[_i];
	char				 err[256] = "", buf[32];
	int64_t				 ms = -1;
	int				 r;

	r = config_parse_duration(dc->in, &ms, err, sizeof(err));
	if (dc->err == NULL) {
		ck_assert_msg(r == 0, "\"%s\": %s", dc->in, err);
		ck_assert_int_eq(ms, dc->ms);
		/* Formatting reads back to the same value. */
		config_format_duration(ms, buf, sizeof(buf));
		ck_assert_int_eq(config_parse_duration(buf, &ms, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(ms, dc->ms);
	} else {
		ck_assert_msg(r == -1, "\"%s\" parsed", dc->in);
		ck_assert_int_eq(ms, -1);
		ck_assert_str_eq(err, dc->err);
	}
}
END_TEST

START_TEST(test_config_format_duration)
{
	char	buf[32];

	ck_assert_str_eq(config_format_duration(0, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(config_format_duration(1500, buf, sizeof(buf)),
	    "1s500ms");
	ck_assert_str_eq(config_format_duration(86400000, buf, sizeof(buf)),
	    "1d");
	ck_assert_str_eq(config_format_duration(5400000, buf, sizeof(buf)),
	    "1h30m");
	ck_assert_str_eq(config_format_duration(INT64_MAX, buf, sizeof(buf)),
	    "106751991167d7h12m55s807ms");
	ck_assert_str_eq(config_format_duration(90061001, buf, 6), "1d1h");
}
END_TEST

/* ---- confread on its own ------------------------------------------------ */

static config_t		 lc;
static struct config_errors cr_errs;
static struct confread	 cr;

static const config_setting_t *
cr_load(const char *text)
{
	config_init(&lc);
	ck_assert_msg(config_read_string(&lc, text) == CONFIG_TRUE, "%s",
	    config_error_text(&lc));
	memset(&cr_errs, 0, sizeof(cr_errs));
	cr.errs = &cr_errs;
	cr.file = "test.conf";
	cr.nerrors = 0;
	return config_root_setting(&lc);
}

static void
cr_done(void)
{
	config_destroy(&lc);
	config_errors_free(&cr_errs);
}

START_TEST(test_confread_reads)
{
	const config_setting_t	*root, *g;
	char			*s = NULL;
	int64_t			 n = 0;
	bool			 b = false;
	int			 e = -1;
	static const char *const names[] = { "a", "b", NULL };

	root = cr_load("s = \"x\"; i = 5000000000L; t = true; d = \"2s\";\n"
	    "e = \"b\"; g = { k = 1; };\n");
	ck_assert_int_eq(confread_string(&cr, root, "s", true, &s), 1);
	ck_assert_str_eq(s, "x");
	free(s);
	ck_assert_int_eq(confread_int(&cr, root, "i", true, 0, INT64_MAX, &n),
	    1);
	ck_assert_int_eq(n, 5000000000LL);
	ck_assert_int_eq(confread_bool(&cr, root, "t", true, &b), 1);
	ck_assert(b);
	ck_assert_int_eq(confread_duration(&cr, root, "d", true, 0, 10000,
	    &n), 1);
	ck_assert_int_eq(n, 2000);
	ck_assert_int_eq(confread_enum(&cr, root, "e", true, names, &e), 1);
	ck_assert_int_eq(e, 1);
	ck_assert_int_eq(confread_group(&cr, root, "g", true, &g), 1);
	ck_assert_str_eq(config_setting_name(g), "g");
	/* Absent and optional: 0, nothing recorded, *out untouched. */
	s = NULL;
	ck_assert_int_eq(confread_string(&cr, root, "nope", false, &s), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(confread_string(&cr, NULL, "s", true, &s), 0);
	ck_assert_int_eq(cr.nerrors, 0);
	ck_assert_uint_eq(cr_errs.count, 0);
	cr_done();
}
END_TEST

START_TEST(test_confread_errors)
{
	const config_setting_t	*root;
	struct pattern		*p = NULL;
	char			*str = NULL;
	bool			 b;
	static const char *const allowed[] = { "reply", "send", NULL };

	root = cr_load("reply = \"^(OK\";\nsend = 1;\nrepyl = \"x\";\n"
	    "b = \"yes\";\n");
	ck_assert_int_eq(confread_pattern(&cr, root, "reply", true, &p), -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(confread_pattern(&cr, root, "send", true, &p), -1);
	ck_assert_int_eq(confread_bool(&cr, root, "b", true, &b), -1);
	ck_assert_int_eq(confread_check_keys(&cr, root, allowed, "expect"), 2);
	ck_assert_int_eq(confread_string(&cr, root, "host", true, &str), 0);
	ck_assert_int_eq(cr.nerrors, 6);
	ck_assert_uint_eq(cr_errs.count, 6);
	/* config_read_string() gives no file name: cr.file stands in. */
	ck_assert_str_eq(cr_errs.lines[0], "test.conf:1: 'reply': bad regex: "
	    "missing closing parenthesis at offset 4");
	ck_assert_str_eq(cr_errs.lines[1], "test.conf:2: 'send' must be a "
	    "regex string, got an integer");
	ck_assert_str_eq(cr_errs.lines[2], "test.conf:4: 'b' must be true or "
	    "false, got a string");
	ck_assert_str_eq(cr_errs.lines[3], "test.conf:3: unknown key 'repyl' "
	    "in expect (did you mean 'reply'?)");
	ck_assert_str_eq(cr_errs.lines[4], "test.conf:4: unknown key 'b' "
	    "in expect");
	/* The root has no line: the message still names the file. */
	ck_assert_str_eq(cr_errs.lines[5], "test.conf: group is missing "
	    "required key 'host'");
	ck_assert_int_eq(confread_pattern(&cr, root, "nope", false, &p), 0);
	cr_done();
}
END_TEST

START_TEST(test_confread_pattern_ok)
{
	const config_setting_t	*root;
	struct pattern		*p = NULL;
	char			*str = NULL;

	root = cr_load("expect = { reply = \"^SSH-2\\\\.0\"; };\n");
	root = config_setting_get_member(root, "expect");
	ck_assert_int_eq(confread_pattern(&cr, root, "reply", true, &p), 1);
	ck_assert_int_eq(pattern_match(p, "SSH-2.0-x", 9), 1);
	ck_assert_int_eq(pattern_match(p, "SSH-2x0-x", 9), 0);
	pattern_free(p);
	/* A missing key in a named group names the group. */
	ck_assert_int_eq(confread_string(&cr, root, "send", true, &str), 0);
	ck_assert_ptr_null(str);
	ck_assert_str_eq(cr_errs.lines[0], "test.conf:1: expect is missing "
	    "required key 'send'");
	cr_done();
}
END_TEST

struct suggest_case {
	const char	*word;
	const char	*want;		/* NULL: no suggestion */
};

static const struct suggest_case suggest_cases[] = {
	{ "chekcs", "checks" },
	{ "intreval", "interval" },
	{ "timout", "timeout" },
	{ "tpc", "tcp" },
	{ "nmae", "name" },
	{ "ip_verison", "ip_version" },
	{ "labels_", "labels" },
	{ "a", NULL },
	{ "ab", NULL },
	{ "colour", NULL },
	{ "rules", NULL },
	{ "", NULL },
};

START_TEST(test_confread_suggest)
{
	static const char *const names[] = { "checks", "interval", "timeout",
	    "tcp", "name", "ip_version", "labels", "type", NULL };
	const struct suggest_case	*sc = &suggest_cases[_i];
	const char			*got;

	got = confread_suggest(sc->word, names);
	if (sc->want == NULL)
		ck_assert_msg(got == NULL, "%s: suggested %s", sc->word, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, sc->want) == 0,
		    "%s: suggested %s", sc->word, got ? got : "nothing");
}
END_TEST

START_TEST(test_confread_distance)
{
	char	*long_a, *long_b;

	ck_assert_int_eq(confread_distance("", ""), 0);
	ck_assert_int_eq(confread_distance("abc", ""), 3);
	ck_assert_int_eq(confread_distance("kitten", "sitting"), 3);
	ck_assert_int_eq(confread_distance("chekcs", "checks"), 2);
	ck_assert_int_eq(confread_distance("port", "port"), 0);
	long_a = xcalloc(1, 401);
	long_b = xcalloc(1, 401);
	memset(long_a, 'a', 400);
	memset(long_b, 'b', 300);
	ck_assert_int_eq(confread_distance(long_a, long_b), 255);
	memset(long_b, 'a', 390);
	ck_assert_int_eq(confread_distance(long_a, long_b), 10);
	free(long_a);
	free(long_b);
}
END_TEST

/* ---- scale -------------------------------------------------------------- */

#define MANY	10000

/*
 * 10,000 checks load quickly and keep a small heap: the libconfig trees
 * are gone, file names are shared, and the checks array is trimmed.
 */
START_TEST(test_config_many_checks)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	FILE			*f;
	char			*path;
	size_t			 before, after;
	int			 i;

	path = xasprintf("%s/sonde.conf", tmp);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("checks = (\n", f);
	for (i = 0; i < MANY; i++)
		fprintf(f, "  { name = \"check-%05d\"; type = \"tcp\"; "
		    "host = \"host-%05d.example.com\"; port = %d;\n"
		    "    labels = { team = \"t%d\"; }; }%s\n", i, i,
		    1 + i % 60000, i % 10, i == MANY - 1 ? "" : ",");
	fputs(");\n", f);
	ck_assert_int_eq(fclose(f), 0);
	before = mallinfo2().uordblks;
	cfg = config_load(path, &errs);
	after = mallinfo2().uordblks;
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_uint_eq(cfg->nchecks, MANY);
	ck_assert_ptr_eq(cfg->checks[0].file, cfg->checks[MANY - 1].file);
	/* ASan's allocator does not report through mallinfo2(): all 0. */
	if (after != 0)
		ck_assert_msg(after - before < MANY * 512,
		    "%zu bytes per check", (after - before) / MANY);
	config_unref(cfg);
	free(path);
}
END_TEST

/*
 * A list is read in batches from its end (config.c frees libconfig's tree
 * batch by batch); checks and error lines still come out in file order,
 * across batch boundaries, a non-group element and an included file.
 */
START_TEST(test_config_big_list_keeps_file_order)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	FILE			*f;
	char			*path, *inc, want[64];
	int			 i, bad[] = { 3, 255, 256, 257, 599 };
	size_t			 j, k;

	inc = xasprintf("%s/inc.conf", tmp);
	ck_assert_ptr_nonnull(f = fopen(inc, "w"));
	fputs("checks = ( { name = \"inc\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = 0; } );\n", f);
	ck_assert_int_eq(fclose(f), 0);
	path = xasprintf("%s/sonde.conf", tmp);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("agent = { include = [\"inc.conf\"]; };\nchecks = (\n", f);
	/* Check i is on line i + 3; "bad" ones have port 0. */
	for (i = 0, j = 0; i < 600; i++) {
		k = j < nitems(bad) && bad[j] == i;
		j += k;
		if (i == 400)
			fprintf(f, "  42,\n");
		else
			fprintf(f, "  { name = \"c%03d\"; type = \"tcp\"; "
			    "host = \"127.0.0.1\"; port = %d; },\n", i,
			    k ? 0 : 1);
	}
	fputs("  { name = \"last\"; type = \"tcp\"; host = \"127.0.0.1\"; "
	    "port = 1; }\n);\n", f);
	ck_assert_int_eq(fclose(f), 0);
	cfg = config_load(path, &errs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(errs.count, nitems(bad) + 2);
	for (j = 0; j < errs.count; j++) {
		if (j < 4)
			snprintf(want, sizeof(want), "%s:%d: ", path,
			    bad[j] + 3);
		else if (j == 4)
			snprintf(want, sizeof(want), "%s:403: ", path);
		else if (j < 6)
			snprintf(want, sizeof(want), "%s:%d: ", path,
			    bad[j - 1] + 3);
		else
			snprintf(want, sizeof(want), "%s:1: ", inc);
		ck_assert_msg(strncmp(errs.lines[j], want, strlen(want)) == 0,
		    "error %zu is \"%s\", want it at %s", j, errs.lines[j],
		    want);
	}
	config_errors_free(&errs);
	/* Without the errors: the checks in file order, then the include. */
	ck_assert_ptr_nonnull(f = fopen(inc, "w"));
	fputs("checks = ( { name = \"inc\"; type = \"tcp\"; "
	    "host = \"127.0.0.1\"; port = 1; } );\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("agent = { include = [\"inc.conf\"]; };\nchecks = (\n", f);
	for (i = 0; i < 600; i++)
		fprintf(f, "  { name = \"c%03d\"; type = \"tcp\"; "
		    "host = \"127.0.0.1\"; port = 1; }%s\n", i,
		    i < 599 ? "," : "");
	fputs(");\n", f);
	ck_assert_int_eq(fclose(f), 0);
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	ck_assert_uint_eq(cfg->nchecks, 601);
	for (i = 0; i < 600; i++) {
		snprintf(want, sizeof(want), "c%03d", i);
		ck_assert_str_eq(cfg->checks[i].name, want);
		ck_assert_int_eq(cfg->checks[i].line, i + 3);
	}
	ck_assert_str_eq(cfg->checks[600].name, "inc");
	config_unref(cfg);
	free(path);
	free(inc);
}
END_TEST

/* RssAnon of this process in bytes (the pages it has, not the libraries). */
static size_t
rss_anon(void)
{
	FILE	*f;
	char	 line[256];
	size_t	 kb = 0;

	ck_assert_ptr_nonnull(f = fopen("/proc/self/status", "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %zu kB", &kb) == 1)
			break;
	fclose(f);
	ck_assert_uint_gt(kb, 0);
	return kb * 1024;
}

/* Bytes malloc has handed out and not had back (heap and mmapped). */
static size_t
heap_in_use(void)
{
	struct mallinfo2	mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * One big file: once loaded, libconfig's tree (about 8 MB here) must not
 * stay resident behind the checks.  What the load leaves resident is at
 * most what the generation uses plus 2 MB; when the checks' objects were
 * allocated among the tree's nodes, 6 MB of freed tree stayed.
 */
START_TEST(test_config_many_checks_tree_returned)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	FILE			*f;
	char			*path;
	size_t			 rss0, use0, rss1, use1;
	int			 i;

	path = xasprintf("%s/sonde.conf", tmp);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("checks = (\n", f);
	for (i = 0; i < MANY; i++)
		fprintf(f, "  { name = \"t%05d\"; type = \"tcp\"; "
		    "host = \"127.0.0.1\"; port = %d; }%s\n", i,
		    1 + i % 60000, i == MANY - 1 ? "" : ",");
	fputs(");\n", f);
	ck_assert_int_eq(fclose(f), 0);
	rss0 = rss_anon();
	use0 = heap_in_use();
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.count ? errs.lines[0] : "");
	rss1 = rss_anon();
	use1 = heap_in_use();
	ck_assert_uint_eq(cfg->nchecks, MANY);
	/* ASan's allocator does not report through mallinfo2(): all 0. */
	if (use1 != 0)
		ck_assert_msg(rss1 - rss0 < use1 - use0 + 2 * 1024 * 1024,
		    "the load left %zu kB resident for %zu kB in use",
		    (rss1 - rss0) / 1024, (use1 - use0) / 1024);
	config_unref(cfg);
	free(path);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_config_load_good);
	tcase_add_test(tc, test_config_find_check_indexed);
	tcase_add_test(tc, test_config_load_defaults);
	tcase_add_test(tc, test_config_short_interval_shortens_builtin_timeout);
	tcase_add_test(tc, test_config_include_read_once);
	tcase_add_test(tc, test_config_world_writable_refused);
	tcase_add_test(tc, test_config_empty);
	tcase_add_test(tc, test_config_defaults_after_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_config_bad, 0, nitems(bad_cases));
	tcase_add_test(tc, test_config_errors_append);
	suite_add_tcase(s, tc);

	tc = tcase_create("durations");
	tcase_add_loop_test(tc, test_config_duration, 0,
	    nitems(duration_cases));
	tcase_add_test(tc, test_config_format_duration);
	suite_add_tcase(s, tc);

	tc = tcase_create("confread");
	tcase_add_test(tc, test_confread_reads);
	tcase_add_test(tc, test_confread_errors);
	tcase_add_test(tc, test_confread_pattern_ok);
	tcase_add_loop_test(tc, test_confread_suggest, 0,
	    nitems(suggest_cases));
	tcase_add_test(tc, test_confread_distance);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_config_many_checks);
	tcase_add_test(tc, test_config_many_checks_tree_returned);
	tcase_add_test(tc, test_config_big_list_keeps_file_order);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
