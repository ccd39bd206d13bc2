/*
 * testutil: shared fixtures for the Check suites: a fake clock for the loop,
 * loopback listeners on free ports, temporary directories and files, log
 * capture, and driving a loop until a condition holds (with a real-time
 * bound so a hung test says what it waited for).
 */
#ifndef SONDE_TESTUTIL_H
#define SONDE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

struct config;
struct loop;
struct resolver;

/* A fake monotonic clock; install with testutil_fake_clock_install(). */
struct testutil_clock {
	int64_t	now;	/* µs */
};
void	testutil_fake_clock_install(struct loop *loop,
	    struct testutil_clock *clock);

/*
 * Opens a TCP listener on 127.0.0.1 (family AF_INET) or ::1 (AF_INET6) on a
 * free port with the given backlog; returns the fd and sets *port.
 * Aborts the test on failure.
 */
int	testutil_listen_tcp(int family, int backlog, int *port);
/* Returns a port on 127.0.0.1 with nothing listening (bound, then closed). */
int	testutil_closed_port(void);
/*
 * Fills ports with n distinct free ports on 127.0.0.1 (all bound at once,
 * then closed: calling testutil_closed_port() n times may repeat one).
 */
void	testutil_free_ports(int *ports, int n);

/* Creates a fresh temporary directory; returns its path (static buffer). */
const char *testutil_tmpdir(void);
/* Writes text to dir/name; returns the new path (caller frees). */
char	*testutil_write_file(const char *dir, const char *name,
	    const char *text);

/* Log capture: every line logged goes into one buffer. */
void	 testutil_log_capture_start(void);
/* Returns everything captured so far (borrowed, NUL-terminated). */
const char *testutil_log_captured(void);
void	 testutil_log_capture_stop(void);

/*
 * The factor on the tests' real-time bounds: $SONDE_TEST_TIMESCALE (1 to
 * 1000; 1 when unset).  make check-valgrind sets it, since everything runs
 * 10-50x slower under memcheck; what a test checks stays the same.
 */
int	testutil_timescale(void);
/* Returns ms times testutil_timescale(). */
int	testutil_scale_ms(int ms);

/*
 * Runs loop iterations until *flag becomes true or timeout_ms (scaled by
 * testutil_timescale()) of real time pass; returns *flag.
 */
bool	testutil_run_until(struct loop *loop, const bool *flag, int timeout_ms);

/*
 * Runs argv (argv[0] a path) with stdin from /dev/null, capturing stdout
 * and stderr into new strings (caller frees), waiting at most timeout_ms
 * (scaled by testutil_timescale()).
 * Returns the exit status, or -1 when it did not exit in time (killed),
 * or 128+signal when killed by a signal.
 */
int	testutil_run_cmd(char *const argv[], char **out, char **err,
	    int timeout_ms);

/* One probe run's outcome, for the check kinds' suites. */
struct testutil_outcome {
	bool			 done;
	struct probe_result	 result;
	int64_t			 elapsed_ms;	/* real time, start to done */
};

/*
 * Writes text to dir/sonde.conf and loads it.  Returns the config (NULL
 * when it has errors) and sets *errors to a new string: the error lines
 * joined by newlines, each from its "sonde.conf:" on ("" when none).
 */
struct config *testutil_config_text(const char *dir, const char *text,
	    char **errors);
/*
 * Runs check once on loop with resolver, its deadline its timeout, to
 * completion; asserts that it finished within timeout + 3 s of real time
 * and released its state.
 */
void	testutil_run_probe(struct loop *loop, struct resolver *resolver,
	    const struct check_conf *check, struct testutil_outcome *o);
/*
 * A probe_done_cb filling the struct testutil_outcome at arg (whose
 * elapsed_ms held the start, in testutil's monotonic ms).
 */
void	testutil_outcome_done(struct probe_run *run, void *arg);
/* Asserts res has status st and exactly the message msg. */
void	testutil_assert_result(const struct probe_result *res,
	    enum probe_status st, const char *msg);

#endif /* SONDE_TESTUTIL_H */
