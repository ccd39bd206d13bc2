/* SPDX-License-Identifier: ISC */
/*
 * http_minloop: the physical limit of an HTTP probe on this machine.
 *
 * One epoll loop that, at a given rate for a given time, does what an http
 * check must do and nothing more: socket(SOCK_NONBLOCK), connect, wait for
 * EPOLLOUT, send one fixed GET (the request line and headers sonde's
 * libcurl sends: no "Connection: close", so the server keeps its side
 * open as it does for sonde), read until the response is complete by its
 * own framing (the header block, then Content-Length bytes, or chunked
 * chunks to the last one and its trailer, or EOF when it has neither),
 * check the status line says 200, close with an RST (SO_LINGER {1, 0}) as
 * sonde does.  No URL parsing, no header table, no TLS, no results kept.
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
	int			 chunked; /* Transfer-Encoding: chunked */
	int			 cstate;	/* enum hm_chunk */
	long long		 crem;	/* chunk size, then bytes left */
	int			 cdigits, cext; /* size line: digits, ext */
	int			 cline;	/* trailer line length so far */
	char			 buf[HM_BUF];
};

enum hm_chunk { HM_CH_SIZE, HM_CH_DATA, HM_CH_CRLF, HM_CH_TRAILER };

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
	int		 fd, done;

	if ((fd = minloop_connect(m, &done)) == -1)
		return;
	s = minloop_watch(m, fd, EPOLLOUT, now);
	s->sent = 0;
	s->len = s->hdr_end = 0;
	s->clen = -1;
	s->chunked = 0;
	s->cstate = HM_CH_SIZE;
	s->crem = s->cdigits = s->cext = s->cline = 0;
}

/*
 * Finds the end of the header block, Content-Length and chunked once it
 * is in.  Header names are matched case-insensitively, as HTTP wants;
 * chunked wins over a Content-Length (RFC 9112 §6.3).
 */
static void
hm_headers(struct hm_slot *s)
{
	char	*end, *p, *eol;

	s->buf[s->len] = '\0';
	if ((end = strstr(s->buf, "\r\n\r\n")) == NULL)
		return;
	s->hdr_end = (size_t)(end - s->buf) + 4;
	for (p = strstr(s->buf, "\r\n"); p != NULL && p < end; p = eol) {
		eol = strstr(p + 2, "\r\n");
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			s->clen = strtoll(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0 &&
		    eol != NULL && memmem(p + 20, (size_t)(eol - p - 20),
		    "chunked", 7) != NULL)
			s->chunked = 1;
	}
	if (s->chunked)
		s->clen = -1;
}

/* One byte of a chunk-size line; -1 when it is not one. */
static int
hm_chunk_size_byte(struct hm_slot *s, char c)
{
	int	v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

	if (c == '\n') {
		if (s->cdigits == 0)
			return -1;
		s->cstate = s->crem > 0 ? HM_CH_DATA : HM_CH_TRAILER;
		s->cline = 0;
	} else if (v >= 0 && !s->cext) {
		if (++s->cdigits > 15)
			return -1;
		s->crem = s->crem * 16 + v;
	} else if (c == ';' || c == '\r' || c == ' ' || c == '\t')
		s->cext = 1;		/* extensions are not ours to read */
	else if (!s->cext)
		return -1;
	return 0;
}

/*
 * Feeds n body bytes of a chunked response: 1 when the last chunk and
 * the trailer section are in, 0 for more, -1 on a framing error.
 */
static int
hm_chunks(struct hm_slot *s, const char *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		switch (s->cstate) {
		case HM_CH_SIZE:
			if (hm_chunk_size_byte(s, *p) == -1)
				return -1;
			p++, n--;
			break;
		case HM_CH_DATA:
			k = n < (size_t)s->crem ? n : (size_t)s->crem;
			p += k, n -= k;
			if ((s->crem -= (long long)k) == 0)
				s->cstate = HM_CH_CRLF;
			break;
		case HM_CH_CRLF:
			if (*p == '\n') {
				s->cstate = HM_CH_SIZE;
				s->crem = s->cdigits = s->cext = 0;
			} else if (*p != '\r')
				return -1;
			p++, n--;
			break;
		default:		/* trailer lines, to an empty one */
			if (*p == '\n' && s->cline == 0)
				return 1;
			s->cline = *p == '\n' ? 0 : s->cline + (*p != '\r');
			p++, n--;
			break;
		}
	}
	return 0;
}

/* Body bytes in: 1 when the response is complete, -1 when broken. */
static int
hm_body(struct hm_slot *s, const char *p, size_t n)
{
	if (s->chunked)
		return hm_chunks(s, p, n);
	if (s->clen >= 0)
		return (s->clen -= (long long)n) <= 0 ? 1 : 0;
	return 0;			/* no framing: EOF ends it */
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
	char	*p = body;
	ssize_t	 n;
	int	 rc;

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
		if (n <= 0) {	/* EOF ends an unframed body only */
			minloop_close(m, fd, n == 0 && s->hdr_end > 0 &&
			    !s->chunked && s->clen < 0 && hm_status_ok(s));
			return;
		}
		p = body;
		if (s->hdr_end == 0) {
			s->len += (size_t)n;
			hm_headers(s);
			if (s->hdr_end == 0)
				continue;
			p = s->buf + s->hdr_end;
			n = (ssize_t)(s->len - s->hdr_end);
			if (s->clen == 0) {
				minloop_close(m, fd, hm_status_ok(s));
				return;
			}
		}
		if ((rc = hm_body(s, p, (size_t)n)) != 0) {
			minloop_close(m, fd, rc == 1 && hm_status_ok(s));
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

	/* What sonde's libcurl sends, byte for byte but the agent's name. */
	n = snprintf(h->req, sizeof(h->req), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\nUser-Agent: http_minloop\r\nAccept: */*\r\n"
	    "\r\n", path, m->host, m->port);
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
