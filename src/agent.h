/*
 * agent: the daemon and the one-shot modes, wired from the parts.
 *
 * main.c parses argv and calls one of these; each returns the process exit
 * status (DESIGN.md): 0 ok, 1 a check failed (--once), 2 a config error.
 */
#ifndef SONDE_AGENT_H
#define SONDE_AGENT_H

#include <stdbool.h>
#include <stddef.h>

struct agent_options {
	const char	 *config_path;
	bool		  foreground;
	bool		  json;
	bool		  debug;
	const char	 *signal;	/* -s: "reload" or "stop" */
	const char	**check_names;	/* --check, for --once */
	size_t		  ncheck_names;
};

/* sonde -t: validate, print every error on stderr; returns 0 or 2. */
int	agent_test_config(const struct agent_options *opt);
/*
 * sonde --test-channels: a test notification to every channel, the
 * outcome printed per channel; returns 0 all delivered, 1 not, 2 config.
 */
int	agent_test_channels(const struct agent_options *opt);
/* sonde --once: run the selected checks once; returns 0, 1 or 2. */
int	agent_once(const struct agent_options *opt);
/*
 * sonde -s reload|stop: signals the agent running on the config's
 * state_dir (found by its locked pid file); returns 0, 1 when none runs
 * or it did not stop in time, 2 on a config error.
 */
int	agent_control(const struct agent_options *opt);
/* sonde: run until SIGTERM/SIGINT; returns 0, or 2 on a config error. */
int	agent_run(const struct agent_options *opt);

#endif /* SONDE_AGENT_H */
