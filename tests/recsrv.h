/*
 * recsrv: a recording HTTP server for channel tests.  A forked child on
 * 127.0.0.1 serves one connection at a time; every request is checked by
 * the test's validator and written to dir/req-N.txt as the verdict
 * ("valid" or what is wrong), a newline, the request head and the body;
 * it is answered from a script (the last entry repeats): a status with
 * extra headers and a body, or status 0 to hang (read, never answer).
 */
#ifndef SONDE_RECSRV_H
#define SONDE_RECSRV_H

#include <sys/types.h>

struct recsrv_answer {
	int		 status;	/* 0: hang */
	const char	*headers;	/* extra, each "\r\n"-terminated */
	const char	*body;
};

/*
 * Milliseconds between recording a request and answering it, for the
 * servers started after it is set (the child keeps the value it forked
 * with); 0 by default.
 */
extern int	recsrv_delay_ms;

/* Returns NULL when the request is valid, else what is wrong. */
typedef const char *(*recsrv_validate_cb)(const char *head,
    const char *body);

struct recsrv {
	pid_t		 pid;
	int		 port;
	char		 dir[512];
};

/* Starts the server (aborts the test on failure). */
void	 recsrv_start(struct recsrv *s, const struct recsrv_answer *script,
	    int n, recsrv_validate_cb validate);
/* Kills and reaps the child it started. */
void	 recsrv_stop(struct recsrv *s);
/* Request n as recorded (new string), or NULL when it never came. */
char	*recsrv_request(const struct recsrv *s, int n);

#endif /* SONDE_RECSRV_H */
