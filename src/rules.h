/*
 * rules: when a check's results make an alert, as pure logic.
 *
 * A rule (struct rule_conf, from the config's rules = ( ... ) list) applies
 * to the checks its globs and labels match; each (rule, check) pair is one
 * alert whose memory is a struct rule_state.  rules_eval() folds one result
 * into that state and says what changed: no clock, no I/O, no allocation,
 * so every behaviour is tested as tables of results.
 *
 * Per result the rule first decides "violation or not": a failed probe
 * (optionally only some reason codes), or a metric crossing a hysteresis
 * band (enter above X, leave below Y <= X; a value inside the band keeps
 * the previous answer).  Violations go into a 64-bit shift register; the
 * alert fires after fire_after violations in the last of_last results
 * (and, with for, once it has been pending that long) and resolves after
 * resolve_after consecutive clean results (and, with keep_for, once the
 * clean run has lasted that long).  The register is cleared on firing and
 * on resolving, so each episode is counted afresh.
 *
 * Flapping follows Nagios/Icinga: the violation bit of the last 21
 * results gives up to 20 changes, weighted linearly from 0.8 (oldest) to
 * 1.2 (newest); their sum over 20 is the flap percentage.  Above
 * flap_high the alert is flapping (one notification), below flap_low it
 * is stable again (one notification saying where it settled); in between
 * the state keeps moving but says nothing.
 *
 * The rule's configuration (parsing, validation against checks, kinds,
 * reasons and channels) is in rules_conf.c; matching is here.
 */
#ifndef SONDE_RULES_H
#define SONDE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct check_conf;
struct config;
struct config_label;
struct config_setting_t;
struct confread;

#define RULES_WINDOW_MAX	64	/* of_last: bits in a uint64_t */
#define RULES_FLAP_RESULTS	21	/* Icinga: 21 results, 20 changes */
#define RULES_FLAP_HIGH		30.0	/* Icinga 2's defaults, percent */
#define RULES_FLAP_LOW		25.0
#define RULES_NAME_MAX		64

enum rules_when {
	RULES_WHEN_FAILED,	/* the probe failed (reasons, if set) */
	RULES_WHEN_METRIC,	/* a metric crossed its band */
	RULES_WHEN_SLO_BURN	/* the SLO's burn rate over both windows */
};

enum rules_severity {
	RULES_SEV_CRITICAL,
	RULES_SEV_WARNING,
	RULES_SEV_INFO,
	RULES_SEV_LAST
};

/* An alert's lifecycle; RESOLVED is the ok that follows a firing. */
enum rules_state {
	RULES_OK,
	RULES_PENDING,
	RULES_FIRING,
	RULES_STATE_LAST
};

/* What rules_eval() saw happen. */
enum rules_event {
	RULES_EV_NONE,
	RULES_EV_PENDING,	/* ok -> pending */
	RULES_EV_CANCELLED,	/* pending -> ok, never fired */
	RULES_EV_FIRING,	/* ok/pending -> firing */
	RULES_EV_RESOLVED,	/* firing -> ok */
	RULES_EV_REPEAT,	/* still firing, repeat elapsed */
	RULES_EV_LAST
};

enum rules_flap {
	RULES_FLAP_NONE,
	RULES_FLAP_START,	/* became flapping */
	RULES_FLAP_END		/* stable again */
};

struct rule_conf {
	char			*name;
	char			*file;		/* borrowed from cfg->files */
	int			 line;
	char			**checks;	/* globs; none: every check */
	size_t			 nchecks;
	struct config_label	*labels;	/* all must match; one block */
	size_t			 nlabels;
	enum rules_when		 when;
	uint64_t		 reasons;	/* bit per probe_status; 0: any */
	char			*metric;	/* RULES_WHEN_METRIC */
	bool			 above;		/* enter when value > enter */
	double			 enter;		/* above/below */
	double			 leave;		/* clear_below/clear_above */
	int			 fire_after;
	int			 of_last;	/* >= fire_after, <= 64 */
	int			 resolve_after;
	int64_t			 for_ms;
	int64_t			 keep_for_ms;
	int64_t			 repeat_ms;	/* 0: never */
	bool			 send_resolved;
	enum rules_severity	 severity;
	char			**notify;	/* channel names */
	size_t			 nnotify;
	char			**depends_on;	/* check names */
	size_t			 ndepends;
	double			 flap_high;	/* 0: flap detection off */
	double			 flap_low;
	/* RULES_WHEN_SLO_BURN: fires when both burn rates exceed burn_rate */
	double			 burn_rate;
	int64_t			 long_window_ms;
	int64_t			 short_window_ms;
};

/* A silence: notifications for matching checks are held while active. */
struct silence_conf {
	char			*file;		/* borrowed */
	int			 line;
	char			**checks;	/* globs */
	size_t			 nchecks;
	int64_t			 from;		/* wall µs; 0: open */
	int64_t			 until;		/* wall µs; 0: open */
	struct silence_weekly {
		uint8_t		 days;		/* bit 0 = Sunday */
		int		 start;		/* minutes into the day */
		int		 end;		/* may be <= start: wraps */
	}			*weekly;	/* none: from/until only */
	size_t			 nweekly;
};

/* What the core needs of one result. */
struct rules_input {
	int		 status;	/* enum probe_status; 0 is ok */
	bool		 has_value;	/* the metric was measured */
	double		 value;
};

/*
 * One alert's memory.  Times are wall-clock µs (they survive restarts in
 * the state file).
 */
struct rule_state {
	enum rules_state state;
	uint64_t	 window;	/* bit 0: latest; 1: violation */
	uint32_t	 nwindow;	/* results in window, <= 64 */
	uint32_t	 good_run;	/* consecutive clean results */
	bool		 violating;	/* the band's current answer */
	uint32_t	 flap_hist;	/* violation bits, last 21 */
	uint32_t	 nflap;		/* results in flap_hist, <= 21 */
	bool		 flapping;
	int64_t		 since;		/* state entered */
	int64_t		 good_since;	/* first result of good_run */
	int64_t		 last_notify;	/* firing or repeat told */
	uint64_t	 results;
};

/* The outcome of one rules_eval(). */
struct rules_transition {
	enum rules_event event;
	enum rules_flap	 flap;
	bool		 notify;	/* worth telling people (pre-routing) */
	enum rules_state from;
	enum rules_state to;
	int64_t		 at;
	int64_t		 was_for;	/* µs spent in from */
	unsigned int	 bad;		/* violations in the window */
	unsigned int	 of;		/* results in the window */
	unsigned int	 good_run;
	double		 flap_percent;
	bool		 violating;	/* this result */
};

/* Resets st to ok at time now. */
void	rules_state_init(struct rule_state *st, int64_t now);
/*
 * Folds one result in at wall time now; fills tr (always).  Returns true
 * when anything happened (tr->event or tr->flap set).
 */
bool	rules_eval(const struct rule_conf *rule, struct rule_state *st,
	    const struct rules_input *in, int64_t now,
	    struct rules_transition *tr);
/* Returns the flap percentage of st's history (0 to 100). */
double	rules_flap_percent(const struct rule_state *st);
/* Returns true when rule applies to check (globs and labels). */
bool	rules_match(const struct rule_conf *rule,
	    const struct check_conf *check);
/* Returns true when a silence's globs match check_name. */
bool	rules_silence_matches(const struct silence_conf *s,
	    const char *check_name);
/* Returns true when s is active at wall time now (local time of day). */
bool	rules_silence_active(const struct silence_conf *s, int64_t now);

const char *rules_state_str(enum rules_state state);
const char *rules_event_str(enum rules_event event);
const char *rules_severity_str(enum rules_severity sev);

/* ---- configuration (rules_conf.c) ---- */

/* The default rule when the config has none (sonde.conf(5)). */
#define RULES_DEFAULT_NAME		"down"
#define RULES_DEFAULT_FIRE_AFTER	3
#define RULES_DEFAULT_RESOLVE_AFTER	2
#define RULES_DEFAULT_DIGEST_THRESHOLD	5
#define RULES_DEFAULT_DIGEST_WINDOW_MS	60000
/*
 * The SRE workbook's multiwindow, multi-burn-rate alerts, added for SLO
 * checks when no rule has when = "slo_burn": page at 14.4x over 1 h and
 * 5 m (2% of a 30 d budget in an hour), ticket at 6x over 6 h and 30 m.
 */
#define RULES_SLO_PAGE_NAME		"slo_page"
#define RULES_SLO_PAGE_BURN		14.4
#define RULES_SLO_PAGE_LONG_MS		(60 * 60000)
#define RULES_SLO_PAGE_SHORT_MS		(5 * 60000)
#define RULES_SLO_TICKET_NAME		"slo_ticket"
#define RULES_SLO_TICKET_BURN		6.0
#define RULES_SLO_TICKET_LONG_MS	(6 * 60 * 60000)
#define RULES_SLO_TICKET_SHORT_MS	(30 * 60000)


/*
 * Reads the rules list s into cfg (errors through cr); cross-checks wait
 * for rules_conf_finish().
 */
void	rules_conf_parse(struct confread *cr,
	    const struct config_setting_t *s, struct config *cfg);
/* Reads the silences list s into cfg. */
void	rules_conf_silences(struct confread *cr,
	    const struct config_setting_t *s, struct config *cfg);
/*
 * After every file: checks depends_on names and metrics against cfg's
 * checks (errors appended to cr), and adds the default rule when there is
 * none.
 */
void	rules_conf_finish(struct confread *cr, struct config *cfg);
/* Frees cfg's rules and silences. */
void	rules_conf_free(struct config *cfg);

#endif /* SONDE_RULES_H */
