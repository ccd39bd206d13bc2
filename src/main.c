/* SPDX-License-Identifier: ISC */
/*
 * main: the command line of sonde(8), and nothing else.
 *
 * It parses argv into a struct agent_options, answers --help and --version
 * itself, sets the process-wide signal disposition, and hands over to one
 * of the agent's modes, whose return value is the exit status.  Usage
 * errors exit 2, like a config error: in both cases nothing was run.
 *
 * sonde always runs in the foreground (systemd and other supervisors want
 * it so; there is no daemon(3) here); -f is accepted for compatibility.
 */
#include "autoconf.h"

#include <ares.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Only for LIBCONFIG_VER_*: libconfig has no run-time version call.  The
 * OpenSSL version is the headers' too: <openssl/crypto.h> pulls in
 * <pthread.h>, whose <sched.h> would find src/sched.h first.
 */
#include <libconfig.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include <microhttpd.h>

#include "agent.h"
#include "config.h"
#include "priv.h"
#include "report.h"
#include "xmalloc.h"

#define MAIN_CONFIG_DEFAULT	SYSCONFDIR "/sonde/sonde.conf"

enum main_mode {
	MAIN_RUN,
	MAIN_TEST,
	MAIN_ONCE,
	MAIN_SIGNAL,
	MAIN_TEST_CHANNELS
};

/* Long-only options. */
enum {
	MAIN_OPT_ONCE = 256,
	MAIN_OPT_CHECK,
	MAIN_OPT_JSON,
	MAIN_OPT_TEST_CHANNELS
};

static const struct option main_long_options[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "foreground",	no_argument,		NULL,	'f' },
	{ "test",	no_argument,		NULL,	't' },
	{ "once",	no_argument,		NULL,	MAIN_OPT_ONCE },
	{ "check",	required_argument,	NULL,	MAIN_OPT_CHECK },
	{ "json",	no_argument,		NULL,	MAIN_OPT_JSON },
	{ "test-channels", no_argument,		NULL,	MAIN_OPT_TEST_CHANNELS },
	{ "debug",	no_argument,		NULL,	'd' },
	{ "signal",	required_argument,	NULL,	's' },
	{ "version",	no_argument,		NULL,	'V' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

static void
main_help(void)
{
	printf("usage: sonde [-d] [-c FILE] [-f]\n"
	    "       sonde -t [-c FILE]\n"
	    "       sonde -s reload|stop [-c FILE]\n"
	    "       sonde --once [-c FILE] [--check NAME]... [--json]\n"
	    "       sonde --test-channels [-c FILE]\n"
	    "       sonde report [-c FILE | --state-dir DIR] [--since 7d]\n"
	    "                    [--check NAME]... [--json]\n"
	    "       sonde --version | --help\n"
	    "\n"
	    "Runs the checks of FILE on their intervals, in the foreground, "
	    "until SIGTERM\n"
	    "or SIGINT; SIGHUP reloads FILE.\n"
	    "\n"
	    "  -c, --config FILE  configuration file\n"
	    "                     (default: %s)\n"
	    "  -f, --foreground   run in the foreground (always; accepted "
	    "for compatibility)\n"
	    "  -t, --test         validate the configuration, print "
	    "FILE:LINE: per error\n"
	    "      --once         run each selected check once, print the "
	    "results\n"
	    "      --check NAME   with --once: run only check NAME "
	    "(repeatable)\n"
	    "      --json         with --once: one JSON object per line, "
	    "not a table\n"
	    "  -s, --signal SIG   reload or stop the agent running on FILE's "
	    "state_dir\n"
	    "      --test-channels\n"
	    "                     send a test notification to every channel, "
	    "print each\n"
	    "                     outcome (exit 0: all delivered)\n"
	    "  -d, --debug        log at debug level (every result)\n"

	    "  -V, --version      print the version and the libraries' "
	    "versions\n"
	    "  -h, --help         print this help\n"
	    "\n"
	    "Exit status: 0 ok; 1 a check failed (--once) or a runtime "
	    "error;\n"
	    "2 a usage or configuration error.\n"
	    "\n"
	    "sonde report prints availability, error budget, incidents, MTTR "
	    "and MTBF\n"
	    "per check from state_dir (the config's, or --state-dir DIR) "
	    "alone; --since\n"
	    "is the period (default 7d).\n", MAIN_CONFIG_DEFAULT);
}

static void
main_version(void)
{
	const curl_version_info_data	*curl;
	char				 pcre2[64];

	curl = curl_version_info(CURLVERSION_NOW);
	if (pcre2_config(PCRE2_CONFIG_VERSION, pcre2) < 0)
		snprintf(pcre2, sizeof(pcre2), "unknown");
	printf("sonde %s\n", PACKAGE_VERSION);
	printf("  libcurl    %s\n", curl->version);
	printf("  c-ares     %s\n", ares_version(NULL));
	printf("  OpenSSL    %s\n", OPENSSL_VERSION_STR);
	printf("  libconfig  %d.%d.%d\n", LIBCONFIG_VER_MAJOR,
	    LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
	printf("  PCRE2      %s\n", pcre2);
	printf("  jansson    %s\n", jansson_version_str());
	printf("  microhttpd %s\n", MHD_get_version());
}

/* Prints "sonde: <message>" and the usage hint; returns the status, 2. */
static int
main_usage_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("sonde: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sonde --help' for more information.\n", stderr);
	return 2;
}

/* getopt_long() returned '?' or ':' for argv[optind - 1]. */
static int
main_bad_option(int c, char *argv[])
{
	const char	*arg = argv[optind - 1];

	if (c == ':')
		return main_usage_error("option '%s' needs an argument", arg);
	if (optopt > 0 && optopt < 128 && strncmp(arg, "--", 2) != 0)
		return main_usage_error("unknown option '-%c'", optopt);
	return main_usage_error("unknown option '%s'", arg);
}

/* Checks what getopt cannot: combinations and leftovers. */
static int
main_validate(int argc, char *argv[], const struct agent_options *opt,
    enum main_mode mode, bool test, bool once)
{
	if (optind < argc)
		return main_usage_error("unexpected argument '%s'",
		    argv[optind]);
	if (test && once)
		return main_usage_error("-t and --once cannot be combined");
	if (opt->signal != NULL && (test || once))
		return main_usage_error("-s cannot be combined with -t or "
		    "--once");
	if (mode != MAIN_ONCE && (opt->json || opt->ncheck_names > 0))
		return main_usage_error("--check and --json need --once");
	return -1;
}

/*
 * Fills opt and mode from argv.  Returns -1 to go on, or the exit status
 * when the work is done (--help, --version) or argv is wrong.
 */
static int
main_parse(int argc, char *argv[], struct agent_options *opt,
    enum main_mode *mode)
{
	bool	test = false, once = false, tchan = false;
	int	c;

	opterr = 0;	/* main_bad_option() says it, with our prefix */
	while ((c = getopt_long(argc, argv, ":c:fts:dVh", main_long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->config_path = optarg;
			break;
		case 'f':
			opt->foreground = true;
			break;
		case 't':
			test = true;
			break;
		case 'd':
			opt->debug = true;
			break;
		case 's':
			if (strcmp(optarg, "reload") != 0 &&
			    strcmp(optarg, "stop") != 0)
				return main_usage_error("-s takes reload or "
				    "stop, not '%s'", optarg);
			opt->signal = optarg;
			break;
		case MAIN_OPT_ONCE:
			once = true;
			break;
		case MAIN_OPT_TEST_CHANNELS:
			tchan = true;
			break;
		case MAIN_OPT_CHECK:
			opt->check_names = xreallocarray(opt->check_names,
			    opt->ncheck_names + 1, sizeof(*opt->check_names));
			opt->check_names[opt->ncheck_names++] = optarg;
			break;
		case MAIN_OPT_JSON:
			opt->json = true;
			break;
		case 'V':
			main_version();
			return 0;
		case 'h':
			main_help();
			return 0;
		default:
			return main_bad_option(c, argv);
		}
	}
	*mode = test ? MAIN_TEST : once ? MAIN_ONCE : opt->signal != NULL ?
	    MAIN_SIGNAL : MAIN_RUN;
	if (tchan && (test || once || opt->signal != NULL))
		return main_usage_error("--test-channels cannot be combined "
		    "with -t, -s or --once");
	if (tchan)
		*mode = MAIN_TEST_CHANNELS;
	return main_validate(argc, argv, opt, *mode, test, once);
}

/* ---- sonde report ------------------------------------------------------- */

enum {
	MAIN_REPORT_SINCE = 256,
	MAIN_REPORT_CHECK,
	MAIN_REPORT_JSON,
	MAIN_REPORT_STATE_DIR
};

static const struct option main_report_options[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "since",	required_argument,	NULL,	MAIN_REPORT_SINCE },
	{ "check",	required_argument,	NULL,	MAIN_REPORT_CHECK },
	{ "json",	no_argument,		NULL,	MAIN_REPORT_JSON },
	{ "state-dir",	required_argument,	NULL,	MAIN_REPORT_STATE_DIR },
	{ NULL,		0,			NULL,	0 }
};

/* Fills ro (and *config) from report's argv; returns -1 or the status. */
static int
main_report_parse(int argc, char *argv[], struct report_options *ro,
    const char **config)
{
	char	err[128];
	int	c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:", main_report_options,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case MAIN_REPORT_SINCE:
			if (config_parse_duration(optarg, &ro->since_ms, err,
			    sizeof(err)) == -1 || ro->since_ms <= 0)
				return main_usage_error("--since '%s': %s",
				    optarg, ro->since_ms <= 0 ? "must be a "
				    "duration above 0 such as 7d" : err);
			break;
		case MAIN_REPORT_CHECK:
			ro->checks = xreallocarray(ro->checks, ro->nchecks + 1,
			    sizeof(*ro->checks));
			ro->checks[ro->nchecks++] = optarg;
			break;
		case MAIN_REPORT_JSON:
			ro->json = true;
			break;
		case MAIN_REPORT_STATE_DIR:
			ro->state_dir = optarg;
			break;
		default:
			return main_bad_option(c, argv);
		}
	}
	if (optind < argc)
		return main_usage_error("unexpected argument '%s'",
		    argv[optind]);
	return -1;
}

/* sonde report: figures from state_dir (the config's, or --state-dir). */
static int
main_report(int argc, char *argv[])
{
	struct report_options	 ro;
	struct config_errors	 errs;
	struct config		*cfg = NULL;
	struct timespec		 ts;
	const char		*config = MAIN_CONFIG_DEFAULT;
	size_t			 i;
	int			 rc;

	memset(&ro, 0, sizeof(ro));
	ro.since_ms = REPORT_DEFAULT_SINCE_MS;
	if ((rc = main_report_parse(argc, argv, &ro, &config)) != -1)
		goto out;
	if (ro.state_dir == NULL) {
		memset(&errs, 0, sizeof(errs));
		cfg = config_load(config, &errs);
		for (i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		config_errors_free(&errs);
		if (cfg == NULL) {
			fprintf(stderr, "sonde report: %s: cannot load the "
			    "configuration (or give --state-dir DIR)\n",
			    config);
			rc = 2;
			goto out;
		}
		ro.state_dir = cfg->agent.state_dir;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = report_run(&ro, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
	    stdout, stderr);
out:
	config_unref(cfg);
	free(ro.checks);
	return rc;
}

/*
 * A service manager or CI may start us with 0, 1 or 2 closed; the first
 * socket would then get that number, and log lines would go into a
 * probe's connection.  Point any closed one at /dev/null first.
 */
static void
main_sanitize_stdio(void)
{
	int	fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == -1)
			exit(2);
}

int
main(int argc, char *argv[])
{
	struct agent_options	opt;
	struct sigaction	sa;
	enum main_mode		mode = MAIN_RUN;
	char			err[128];
	int			rc;

	main_sanitize_stdio();
	/*
	 * A fixed mmap threshold: glibc's moves up to the size of the first
	 * large block freed (a /metrics page, an alerts.json text: MBs at
	 * 10,000 checks), and from then on such blocks come from the heap,
	 * which keeps their pages after the free.  Fixed, they are mapped
	 * and unmapped: 10,000 checks after a few scrapes of /metrics and
	 * /status.json, 36.8 MB resident against 30.5 MB.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* Secrets come next (config files, the environment we already have). */
	if (priv_nodump(err, sizeof(err)) == -1)
		fprintf(stderr, "sonde: %s\n", err);
	memset(&opt, 0, sizeof(opt));
	opt.config_path = MAIN_CONFIG_DEFAULT;
	opt.foreground = true;
	if (argc > 1 && strcmp(argv[1], "report") == 0) {
		rc = main_report(argc - 1, argv + 1);
		goto done;
	}
	if ((rc = main_parse(argc, argv, &opt, &mode)) != -1)
		goto done;

	/* A peer that closes early must be an EPIPE, not our death. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	switch (mode) {
	case MAIN_TEST:
		rc = agent_test_config(&opt);
		break;
	case MAIN_ONCE:
		rc = agent_once(&opt);
		break;
	case MAIN_SIGNAL:
		rc = agent_control(&opt);
		break;
	case MAIN_RUN:
		rc = agent_run(&opt);
		break;
	case MAIN_TEST_CHANNELS:
		rc = agent_test_channels(&opt);
		break;
	}
done:
	free(opt.check_names);
	if (fflush(stdout) == EOF && rc == 0)
		rc = 1;
	return rc;
}
