/* SPDX-License-Identifier: ISC */
/*
 * http_minloop: the physical limit of an HTTP probe on this machine.
 *
 * One epoll loop that, at a given rate for a given time, does what an http
 * check must do and nothing more: socket(SOCK_NONBLOCK), connect, wait for
 * EPOLLOUT, send one fixed GET, read until the response is complete (the
 * header block and Content-Length bytes of body, or EOF), check the status
 * line says 200, close with an RST (SO_LINGER {1, 0}) as sonde does.
 * No URL parsing, no header table, no TLS, no results kept.
 *
 * The due times are tcp_minloop's: with --checks N --interval MS those of
 * sonde's scheduler (check i named --prefix and i zero-padded to --width
 * digits, first run at FNV-1a-64(name) mod interval, then a fixed grid);
 * with --rate evenly spaced.  It sleeps in epoll_pwait2 to the microsecond,
 * as src/loop.c does, so the wakeups are part of the limit too.
 *
 * It reports its own CPU (getrusage, user + sys) per completed probe over
 * the window after --warmup: bench/run divides sonde's CPU per probe by
 * it.  The loop, schedule, deadlines and report are bench/minloop.c's,
 * shared with tcp_minloop.  Plain C, no project code: it must not share
 * code with what it measures.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "minloop.h"

#define HM_BUF		2048		/* a response header block fits */

struct hm_slot {			/* indexed by fd */
	struct minloop_slot	 ml;	/* first: the loop's part */
	int			 sent;	/* the GET is out: reading */
	size_t			 len;	/* bytes in buf */
	size_t			 hdr_end; /* 0 until the blank line is seen */
	long long		 clen;	/* Content-Length, -1 unknown */
	char			 buf[HM_BUF];
};

struct hm {
	char			 req[512];
	size_t			 reqlen;
};

static const char http_minloop_usage[] =
    "http_minloop --port N [--host A.B.C.D] [--path /ok] --duration S\n"
    "         (--rate PROBES_PER_S | --checks N --interval MS "
    "[--prefix t --width 5 --grid MS])\n"
    "         [--warmup S] [--max-in-flight N] [--timeout MS]\n";

static void
hm_start(struct minloop *m, int64_t now)
{
	struct hm_slot	*s;
	int		 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		m->errors++;
		m->done++;
		return;
	}
	if (connect(fd, (struct sockaddr *)&m->dst, sizeof(m->dst)) == -1 &&
	    errno != EINPROGRESS) {
		minloop_close(m, fd, 0);
		return;
	}
	s = minloop_watch(m, fd, EPOLLOUT, now);
	s->sent = 0;
	s->len = s->hdr_end = 0;
	s->clen = -1;
}

/*
 * Finds the end of the header block and Content-Length once it is in.
 * Header names are matched case-insensitively, as HTTP wants.
 */
static void
hm_headers(struct hm_slot *s)
{
	char	*end, *p;

	s->buf[s->len] = '\0';
	if ((end = strstr(s->buf, "\r\n\r\n")) == NULL)
		return;
	s->hdr_end = (size_t)(end - s->buf) + 4;
	for (p = strstr(s->buf, "\r\n"); p != NULL && p < end;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
			s->clen = strtoll(p + 17, NULL, 10);
			break;
		}
	}
}

/* Whether the status line is a 200 (HTTP/1.0 or 1.1). */
static int
hm_status_ok(const struct hm_slot *s)
{
	return s->len >= 12 && strncmp(s->buf, "HTTP/1.", 7) == 0 &&
	    strncmp(s->buf + 8, " 200", 4) == 0;
}

/* Reads what is there; finishes the probe when the response is complete. */
static void
hm_read(struct minloop *m, int fd, struct hm_slot *s)
{
	char	 body[4096];
	ssize_t	 n;

	for (;;) {
		if (s->hdr_end == 0) {
			if (s->len >= HM_BUF - 1) {	/* headers too long */
				minloop_close(m, fd, 0);
				return;
			}
			n = read(fd, s->buf + s->len, HM_BUF - 1 - s->len);
		} else
			n = read(fd, body, sizeof(body));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {			/* EOF ends the body too */
			minloop_close(m, fd, n == 0 && s->hdr_end > 0 &&
			    hm_status_ok(s));
			return;
		}
		if (s->hdr_end == 0) {
			s->len += (size_t)n;
			hm_headers(s);
			n = s->hdr_end ? (ssize_t)(s->len - s->hdr_end) : 0;
		}
		if (s->hdr_end > 0 && s->clen >= 0 &&
		    (s->clen -= n) <= 0) {
			minloop_close(m, fd, hm_status_ok(s));
			return;
		}
	}
}

/* Sends the GET once the connect is done, then reads the response. */
static void
hm_ready(struct minloop *m, int fd, void *slot)
{
	struct hm	*h = m->arg;
	struct hm_slot	*s = slot;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (s->sent) {
		hm_read(m, fd, s);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0 || write(fd, h->req, h->reqlen) != (ssize_t)h->reqlen) {
		minloop_close(m, fd, 0);
		return;
	}
	s->sent = 1;
	minloop_rewatch(m, fd, EPOLLIN);
}

static void
hm_request(struct minloop *m, struct hm *h, const char *path)
{
	int	n;

	n = snprintf(h->req, sizeof(h->req), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\nUser-Agent: http_minloop\r\nAccept: */*\r\n"
	    "Connection: close\r\n\r\n", path, m->host, m->port);
	if (n < 0 || (size_t)n >= sizeof(h->req))
		minloop_usage(m);
	h->reqlen = (size_t)n;
}

int
main(int argc, char **argv)
{
	static const struct minloop_ops	ops = { hm_start, hm_ready };
	struct minloop			m;
	struct hm			h;
	struct rusage			ru;
	const char			*path = "/ok";
	char				tail[64];
	int				i;

	memset(&h, 0, sizeof(h));
	minloop_init(&m, "http_minloop", http_minloop_usage, &ops, &h,
	    sizeof(struct hm_slot));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (!minloop_opt(&m, argc, argv, &i))
			minloop_usage(&m);
	}
	minloop_opts_done(&m);
	hm_request(&m, &h, path);
	minloop_run(&m);
	(void)getrusage(RUSAGE_SELF, &ru);
	snprintf(tail, sizeof(tail), " maxrss_kb=%ld", ru.ru_maxrss);
	minloop_report(&m, "http_minloop", "", tail);
	minloop_free(&m);
	return m.errors > 0 ? 1 : 0;
}
