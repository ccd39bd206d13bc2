/* SPDX-License-Identifier: ISC */
/*
 * recsrv: the recording HTTP server of the channel tests (see recsrv.h).
 * Blocking I/O is fine here: it runs in its own process, never on the
 * agent's loop.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recsrv.h"
#include "testutil.h"
#include "xmalloc.h"

static void
recsrv_record(const char *dir, int n, const char *head, const char *body,
    recsrv_validate_cb validate)
{
	char		 path[600];
	const char	*why;
	FILE		*f;

	why = validate(head, body);
	snprintf(path, sizeof(path), "%s/req-%d.txt", dir, n);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%s\n%s\r\n%s", why != NULL ? why : "valid", head,
		    body);
		fclose(f);
	}
}

/* Reads one request into buf; returns its body, the head NUL-ended. */
static char *
recsrv_read(int fd, char *buf, size_t buflen)
{
	size_t	 len = 0, want;
	ssize_t	 n;
	char	*end, *cl;

	for (;;) {
		if ((n = recv(fd, buf + len, buflen - 1 - len, 0)) <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		want = (size_t)(end + 4 - buf) + (cl != NULL ?
		    strtoul(cl + 17, NULL, 10) : 0);
		if (len >= want) {
			end[2] = '\0';
			return end + 4;
		}
	}
}

int	recsrv_delay_ms;

static void
recsrv_child(int lfd, const char *dir, const struct recsrv_answer *script,
    int n, recsrv_validate_cb validate)
{
	static char			 buf[65536];
	const struct recsrv_answer	*a;
	char				 resp[1024], *body;
	int				 fd, i;

	for (i = 0;; i++) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		if ((body = recsrv_read(fd, buf, sizeof(buf))) == NULL) {
			close(fd);
			i--;
			continue;
		}
		recsrv_record(dir, i, buf, body, validate);
		a = &script[i < n ? i : n - 1];
		if (a->status == 0)
			continue;	/* hang: fd left open, never answered */
		if (recsrv_delay_ms > 0)
			usleep((useconds_t)recsrv_delay_ms * 1000);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\nConnection: close"
		    "\r\n%s\r\n%s", a->status, strlen(a->body), a->headers,
		    a->body);
		(void)send(fd, resp, strlen(resp), MSG_NOSIGNAL);
		close(fd);
	}
}

void
recsrv_start(struct recsrv *s, const struct recsrv_answer *script, int n,
    recsrv_validate_cb validate)
{
	int	lfd;

	snprintf(s->dir, sizeof(s->dir), "%s", testutil_tmpdir());
	lfd = testutil_listen_tcp(AF_INET, 16, &s->port);
	if ((s->pid = fork()) == 0)
		recsrv_child(lfd, s->dir, script, n, validate);
	ck_assert_int_gt(s->pid, 0);
	close(lfd);
}

void
recsrv_stop(struct recsrv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

char *
recsrv_request(const struct recsrv *s, int n)
{
	char	path[600], *txt;
	FILE	*f;
	long	len;

	snprintf(path, sizeof(path), "%s/req-%d.txt", s->dir, n);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	txt = xcalloc(1, (size_t)len + 1);
	ck_assert_int_eq(fread(txt, 1, (size_t)len, f), len);
	fclose(f);
	return txt;
}
