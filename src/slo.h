/*
 * slo: service level objectives and error budgets, per check.
 *
 * A check with slo = { objective = 99.9; window = "30d"; latency = "300ms"; }
 * counts each result as good (it succeeded and, with latency, took less
 * than that) or bad, in two rings of buckets (struct slo_store):
 *
 *   fine:   360 buckets of 1 minute (the last 6 h), uint16 good and bad,
 *           for the burn rates over short windows (5m, 30m, 1h, 6h);
 *   coarse: 720 buckets of window / 720 (1 h for 30 d), uint32 good and
 *           bad, for availability and the budget over the whole window,
 *           plus one uint8 per coarse bucket: minutes of it while the agent
 *           was down (unknown: neither good nor bad).
 *
 * That is 360 * 4 + 720 * 8 + 720 = 7,920 bytes of buckets and 48 bytes
 * of header: 7,968 bytes (sizeof(struct slo_store)) per SLO check.
 *
 * Figures follow the SRE workbook, "Alerting on SLOs": the error rate over
 * a window is bad / (good + bad); the burn rate is that over (1 -
 * objective), so 1 spends the budget exactly over the window; the budget
 * left is 1 - (error rate over the window) / (1 - objective); at burn
 * rate b, what is left runs out in left * window / b.  Windows without a
 * result have no figure (NaN), never 100%.
 *
 * The store is pure arithmetic on wall-clock µs passed in (tests use a
 * fake clock).  The table (struct slo_table) holds the stores of the
 * running config's SLO checks by name, so a reload keeps them, and saves
 * them to agent.state_dir/slo.json (write-temp, fsync, rename); a gap
 * between the saved time and the next start is counted as unknown.
 * sonde report reads that file alone (slo_file_load()).
 */
#ifndef SONDE_SLO_H
#define SONDE_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify.h"

struct check_conf;
struct config;
struct probe_result;

#define SLO_FINE_BUCKETS	360
#define SLO_FINE_US		(60 * INT64_C(1000000))	/* 1 minute */
#define SLO_COARSE_BUCKETS	720
#define SLO_WINDOW_MIN_MS	(86400 * INT64_C(1000))		/* 1 d */
#define SLO_WINDOW_MAX_MS	(90 * 86400 * INT64_C(1000))	/* 90 d */
#define SLO_DEFAULT_WINDOW_MS	(30 * 86400 * INT64_C(1000))
#define SLO_FILE		"slo.json"
#define SLO_VERSION		1

/* The burn-rate windows every SLO check reports (metrics, report). */
#define SLO_NBURN		4
extern const int64_t slo_burn_windows_ms[SLO_NBURN];	/* 5m 30m 1h 6h */

/* A check's slo = { ... } block, in canonical units. */
struct slo_conf {
	double		 objective;	/* percent, in (0, 100) */
	int64_t		 window_ms;	/* whole days, 1 d to 90 d */
	int64_t		 latency_ms;	/* 0: success alone is good */
};

struct slo_fine {
	uint16_t	 good;
	uint16_t	 bad;
};

struct slo_coarse {
	uint32_t	 good;
	uint32_t	 bad;
};

/* One check's buckets; see above for the size. */
struct slo_store {
	int64_t		 coarse_us;	/* width of a coarse bucket */
	int64_t		 fine_idx;	/* newest fine bucket (t / width) */
	int64_t		 coarse_idx;	/* newest coarse bucket; -1: none */
	int64_t		 first;		/* wall µs of the first count */
	int64_t		 last;		/* wall µs of the newest count */
	int64_t		 spare;		/* keeps the header at 48 bytes */
	struct slo_fine	 fine[SLO_FINE_BUCKETS];
	struct slo_coarse coarse[SLO_COARSE_BUCKETS];
	uint8_t		 unknown[SLO_COARSE_BUCKETS];	/* minutes */
};

/* The figures of one SLO check at one time. */
struct slo_figures {
	char		 check[NOTIFY_NAME_MAX];
	struct slo_conf	 conf;
	uint64_t	 good;		/* over the window */
	uint64_t	 bad;
	int64_t		 unknown_us;	/* agent down, within the window */
	int64_t		 covered_us;	/* window time since the first count */
	double		 availability;	/* good / (good + bad); NaN: none */
	double		 budget_left;	/* fraction, <= 1, may be < 0 */
	double		 burn[SLO_NBURN]; /* per slo_burn_windows_ms */
	int64_t		 budget_us;	/* (1 - objective) * window */
	int64_t		 exhausted_in_us; /* at the 1 h burn; -1: never */
};

/* A saved store with what it measures (slo_file_load()). */
struct slo_saved {
	char		 check[NOTIFY_NAME_MAX];
	struct slo_conf	 conf;
	struct slo_store store;
};

struct slo_table;

/* ---- the store: pure arithmetic ---- */

/* Empties st for an SLO window of window_ms. */
void	slo_store_init(struct slo_store *st, int64_t window_ms);
/* Counts one result at wall µs now. */
void	slo_store_add(struct slo_store *st, int64_t now, bool good);
/* Counts [from, to) as unknown (the agent was not running). */
void	slo_store_unknown(struct slo_store *st, int64_t from, int64_t to);
/*
 * Sums the last window_us before now into *good and *bad: fine buckets
 * for windows up to 6 h, coarse ones beyond.  Buckets are whole: a 5 m
 * window is the current minute and the 4 before it.
 */
void	slo_store_sum(const struct slo_store *st, int64_t now,
	    int64_t window_us, uint64_t *good, uint64_t *bad);
/* Unknown µs within the last window_us before now (coarse buckets). */
int64_t	slo_store_unknown_us(const struct slo_store *st, int64_t now,
	    int64_t window_us);
/* Burn rate over the last window_us: error rate / (1 - objective); NaN. */
double	slo_store_burn(const struct slo_store *st, const struct slo_conf *c,
	    int64_t now, int64_t window_us);
/* Fills f (but f->check) from st at now. */
void	slo_store_figures(const struct slo_store *st, const struct slo_conf *c,
	    int64_t now, struct slo_figures *f);

/* Is res good for c? */
bool	slo_good(const struct slo_conf *c, const struct probe_result *res);
/* The error budget of c as time: (1 - objective) * window, in µs. */
int64_t	slo_budget_us(const struct slo_conf *c);

/* ---- the table of the running config ---- */

/* Returns a new empty table. */
struct slo_table *slo_table_new(void);
/* Frees t; NULL is a no-op. */
void	slo_table_free(struct slo_table *t);
/*
 * Installs cfg's SLO checks (cfg borrowed for the call): stores of checks
 * that keep their name and window are kept; others start empty.
 */
void	slo_table_set_config(struct slo_table *t, const struct config *cfg);
/* Counts one result of check (ignored when it has no SLO); borrowed. */
void	slo_table_result(struct slo_table *t, const struct check_conf *check,
	    const struct probe_result *res, int64_t now);
/* Returns the store of the check named name (borrowed), or NULL. */
const struct slo_store *slo_table_store(const struct slo_table *t,
	    const char *name, const struct slo_conf **conf);
/* Number of SLO checks, and the figures of the i-th at now (metrics). */
size_t	slo_table_count(const struct slo_table *t);
void	slo_table_figures(const struct slo_table *t, size_t i, int64_t now,
	    struct slo_figures *f);
/* True when a count changed since the last save. */
bool	slo_table_dirty(const struct slo_table *t);
/* Writes dir/slo.json atomically.  Returns 0, or -1 with err. */
int	slo_table_save(struct slo_table *t, const char *dir, int64_t now,
	    char *err, size_t errlen);
/*
 * Returns the text slo_table_save() writes (new, caller frees; the table
 * is then no longer dirty), for a writer off the loop; NULL on failure.
 */
char	*slo_table_encode(struct slo_table *t, int64_t now);
/*
 * Reads dir/slo.json into the stores of the same name and window; the
 * time since it was saved is counted as unknown up to now (*gap, if not
 * NULL: that time, 0 without a file).  *restored (if not NULL) counts the
 * stores restored.  A missing file is 0.  Returns -1 with err when the
 * file cannot be used.
 */
int	slo_table_restore(struct slo_table *t, const char *dir, int64_t now,
	    int64_t *gap, size_t *restored, char *err, size_t errlen);

/* ---- the file ---- */

/*
 * Reads dir/slo.json into *v (a new array of *n, caller frees) and its
 * saved time.  A missing file is 0 with *n = 0.  Returns -1 with err.
 */
int	slo_file_load(const char *dir, struct slo_saved **v, size_t *n,
	    int64_t *saved_at, char *err, size_t errlen);

#endif /* SONDE_SLO_H */
