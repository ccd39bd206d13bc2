/*
 * config: the loaded, validated, immutable configuration.
 *
 * config_load() reads the main file with libconfig, then every file that
 * agent.include's globs name (relative to the main file's directory), and
 * validates all of it in one pass: every error of every file is reported as
 * "file:line: message", and a config with any error is not returned.  Values
 * are in canonical units (durations in ms as int64_t) with defaults applied,
 * so the rest of sonde never sees libconfig.
 *
 * A struct config is a refcounted generation: whoever keeps using it (the
 * scheduler, a probe in flight) holds a reference, so a reload can swap in
 * a new generation while old runs finish against the old one.
 */
#ifndef SONDE_CONFIG_H
#define SONDE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_INTERVAL_MS	30000
#define CONFIG_DEFAULT_TIMEOUT_MS	5000
#define CONFIG_DEFAULT_MAX_IN_FLIGHT	256
#define CONFIG_DEFAULT_SCHEDULE_GRID_MS	50

struct channel_conf;
struct probe_ops;
struct rule_conf;
struct silence_conf;
struct slo_conf;
struct sockaddr_storage;

enum config_log_target {
	CONFIG_LOG_STDERR,
	CONFIG_LOG_SYSLOG
};

struct config_label {
	char	*key;
	char	*value;
};

struct check_conf {
	char			*name;
	const struct probe_ops	*ops;		/* the kind */
	char			*file;		/* borrowed from cfg->files */
	int			 line;
	int64_t			 interval_ms;
	int64_t			 timeout_ms;	/* <= interval_ms */
	int			 ip_family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	struct config_label	*labels;	/* one block with its strings */
	size_t			 nlabels;
	char			*target;	/* set by the kind */
	void			*kind_conf;	/* owned, ops->conf_free() */
	struct slo_conf		*slo;		/* owned; NULL: no SLO */
	/*
	 * A hash of everything that makes the check what it is: its group as
	 * written plus the effective interval, timeout and IP family.  Equal
	 * fingerprints under one name mean a reload leaves the check alone.
	 */
	uint64_t		 fingerprint;
};

/*
 * A named check template for GET /probe?module=&target= (the main file's
 * modules group): a check without its target.
 */
struct config_module {
	char			*name;
	const struct probe_ops	*ops;
	char			*file;		/* borrowed from cfg->files */
	int			 line;
	char			*text;		/* its keys, libconfig syntax */
};

struct agent_conf {
	char			*name;		/* default: the host name */
	char			*state_dir;
	int			 max_in_flight;
	enum config_log_target	 log;
	int			 log_facility;	/* LOG_DAEMON etc. */
	int			 debug;		/* log_level = "debug" */
	char			**include;	/* glob patterns as written */
	size_t			 ninclude;
	int			 digest_threshold; /* alerts; see rules.h */
	int64_t			 digest_window_ms; /* 0: no digest */
	char			*listen;	/* "addr:port"; NULL or "": off */
	char			*user;		/* drop to it; NULL: stay */
	int64_t			 outbox_max_records; /* 0: OUTBOX_MAX_RECORDS */
	int64_t			 outbox_max_bytes;   /* 0: OUTBOX_MAX_BYTES */
	int64_t			 schedule_grid_ms; /* 0: first runs to the µs */
};

struct config {
	int			 refs;
	char			*path;		/* the main file */
	struct agent_conf	 agent;
	int64_t			 default_interval_ms;
	int64_t			 default_timeout_ms;
	int			 default_ip_family;
	struct check_conf	*checks;	/* in file order */
	size_t			 nchecks;
	char			**files;	/* each file read; check->file */
	size_t			 nfiles;
	struct rule_conf	*rules;		/* rules.h; never empty */
	size_t			 nrules;
	struct silence_conf	*silences;	/* rules.h */
	size_t			 nsilences;
	struct config_module	*modules;	/* in file order */
	size_t			 nmodules;
	struct channel_conf	*channels;	/* alerts/channel.h */
	size_t			 nchannels;
	char			**channel_names; /* "log" first; NULL-ended */
	/*
	 * Check names -> index in checks (open addressing, SIZE_MAX empty,
	 * mask + 1 slots), built once the checks are loaded; NULL in a config
	 * not made by config_load(): config_find_check() then searches.
	 */
	size_t			*name_index;
	size_t			 name_mask;
};

/* Error lines collected during a load; each "file:line: message". */
struct config_errors {
	char	**lines;
	size_t	  count;
	size_t	  cap;
};

/*
 * Loads and validates path.  Returns a new config with one reference, or
 * NULL with every problem appended to errs (which the caller frees).
 */
struct config	*config_load(const char *path, struct config_errors *errs);
/* Adds a reference; returns cfg. */
struct config	*config_ref(struct config *cfg);
/* Drops a reference, freeing the generation with the last; NULL is a no-op. */
void		 config_unref(struct config *cfg);
/* Returns the check named name (borrowed from cfg), or NULL. */
const struct check_conf *config_find_check(const struct config *cfg,
		    const char *name);

/*
 * Builds a one-check generation from cfg's module named module (borrowed)
 * aimed at target, with cfg's defaults.  Returns it with one reference,
 * or NULL with a message in err ("no module named ...", or what is wrong
 * with the target).
 */
struct config	*config_instantiate(const struct config *cfg,
		    const char *module, const char *target, char *err,
		    size_t errlen);

/* Appends a printf-formatted line to errs. */
void	config_errors_add(struct config_errors *errs, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	config_errors_free(struct config_errors *errs);

/*
 * Parses a duration such as "250ms", "30s", "5m", "1h30m", "2d" into ms.
 * Returns 0, or -1 with a reason in err.
 */
int	config_parse_duration(const char *s, int64_t *ms, char *err,
	    size_t errlen);
/*
 * Writes ms into buf the way config_parse_duration() reads it ("1m30s",
 * "250ms", "0s"; 32 bytes always suffice).  Returns buf.
 */
const char *config_format_duration(int64_t ms, char *buf, size_t buflen);

/*
 * Parses agent.listen: "127.0.0.1:9116" or "[::1]:9116" (numeric only).
 * Returns 0 with ss and *sslen set, or -1 with a reason in err.
 */
int	config_parse_listen(const char *s, struct sockaddr_storage *ss,
	    size_t *sslen, char *err, size_t errlen);

#endif /* SONDE_CONFIG_H */
