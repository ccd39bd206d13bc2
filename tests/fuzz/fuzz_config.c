/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config: the config loader (src/config.c and every conf_parse hook
 * it calls: checks, rules, silences, channels, SLOs, modules) on a config
 * file of fuzzed bytes, through config_load() exactly as sonde -t runs it.
 *
 * Asserts: a load returns a config exactly when it recorded no error;
 * every error is one non-empty line (sonde -t prints one per line); a
 * config returned is sane (named checks with a kind, 0 < timeout <=
 * interval) and every module instantiates or says why, without crashing.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

/*
 * libconfig 1.5 leaks a string's buffer when the file ends inside it (a
 * parse error; fixed in later libconfig).  Not sonde's: LeakSanitizer
 * is told so here, for libFuzzer and for the replay under ASan.
 */
const char	*__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

/*
 * A generation kept for the whole run with tls checks, so tlsverify's
 * cache keeps the common SSL_CTXs (any version, 1.2, 1.3): without it
 * every input with a tls check loads the system CA store again (~0.4 s
 * under ASan), as the daemon never does.
 */
static struct config	*fuzz_keep;

static void
fuzz_keep_ctx(void)
{
	static const char	text[] = "checks = (\n"
	    "{ name = \"k\"; type = \"tls\"; host = \"127.0.0.1\"; },\n"
	    "{ name = \"k2\"; type = \"tls\"; host = \"127.0.0.1\"; "
	    "min_version = \"1.2\"; },\n"
	    "{ name = \"k3\"; type = \"tls\"; host = \"127.0.0.1\"; "
	    "min_version = \"1.3\"; } );\n";
	char			path[128];

	if (fuzz_keep != NULL)
		return;
	fuzz_write_file("keep.conf", (const uint8_t *)text, strlen(text));
	snprintf(path, sizeof(path), "%s/keep.conf", fuzz_dir());
	FUZZ_ASSERT((fuzz_keep = config_load(path, NULL)) != NULL,
	    "the kept config does not load");
}

static void
fuzz_log_drop(enum log_level level, const char *token, const char *line,
    void *arg)
{
	(void)level;
	(void)token;
	(void)line;
	(void)arg;
}

static void
fuzz_config_sane(const struct config *cfg)
{
	const struct check_conf	*c;
	struct config		*one;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < cfg->nchecks; i++) {
		c = &cfg->checks[i];
		FUZZ_ASSERT(c->name != NULL && c->name[0] != '\0', "check %zu",
		    i);
		FUZZ_ASSERT(c->ops != NULL, "check %s has no kind", c->name);
		FUZZ_ASSERT(c->timeout_ms > 0 && c->timeout_ms <=
		    c->interval_ms, "check %s: timeout %lld interval %lld",
		    c->name, (long long)c->timeout_ms,
		    (long long)c->interval_ms);
		FUZZ_ASSERT(config_find_check(cfg, c->name) != NULL, "%s",
		    c->name);
	}
	FUZZ_ASSERT(cfg->nrules > 0, "a config without rules");
	for (i = 0; i < cfg->nmodules; i++) {
		err[0] = '\0';
		one = config_instantiate(cfg, cfg->modules[i].name,
		    "127.0.0.1:80", err, sizeof(err));
		FUZZ_ASSERT(one != NULL || err[0] != '\0', "module %s failed "
		    "without a reason", cfg->modules[i].name);
		config_unref(one);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			 path[128];
	size_t			 i;

	log_set_handler(fuzz_log_drop, NULL);
	fuzz_keep_ctx();
	fuzz_write_file("sonde.conf", data, size);
	snprintf(path, sizeof(path), "%s/sonde.conf", fuzz_dir());
	memset(&errs, 0, sizeof(errs));
	cfg = config_load(path, &errs);
	FUZZ_ASSERT((cfg == NULL) == (errs.count > 0), "config %p with %zu "
	    "errors", (void *)cfg, errs.count);
	for (i = 0; i < errs.count; i++)
		FUZZ_ASSERT(errs.lines[i][0] != '\0' &&
		    strchr(errs.lines[i], '\n') == NULL,
		    "error line %zu: \"%s\"", i, errs.lines[i]);
	if (cfg != NULL)
		fuzz_config_sane(cfg);
	config_unref(cfg);
	config_errors_free(&errs);
	return 0;
}
