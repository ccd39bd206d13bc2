/* SPDX-License-Identifier: ISC */
/*
 * channel_http: the HTTP POST that Slack, Opsgenie and Alertmanager
 * channels share, on the loop through curlmux, and the classification of
 * the answer into delivered / retry / rejected.
 *
 * It owns one transfer at a time per handle, its deadline and the words
 * of the detail ("HTTP 400: invalid_payload", "connect to
 * hooks.slack.com failed: Connection refused").
 *
 * The deadline is a loop timer, not CURLOPT_TIMEOUT_MS: libcurl checks its
 * own timeout before it reads, so after a stall of the loop (an fsync
 * storm, bench/soak.sh) an answer that came in time was thrown away and
 * the notification sent again, a duplicate.  The loop takes ready fds
 * before overdue timers, so with our own timer the answer wins.  It knows no service's format.  URLs are never
 * put in a detail: a Slack webhook URL is its secret.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "channel_http.h"
#include "curlmux.h"
#include "loop.h"
#include "xmalloc.h"

#define ANSWER_MAX	1024	/* of the body kept for the detail */
/*
 * A Retry-After beyond a day is a hostile or broken endpoint; the outbox
 * caps it lower still.  Capping here, in seconds, keeps the conversion
 * to microseconds from overflowing: curl hands over any 63-bit number.
 */
#define RETRY_AFTER_MAX_S	86400

struct chttp {
	struct loop		*loop;
	struct curlmux		*mux;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	char			 answer[ANSWER_MAX];
	size_t			 answerlen;
	channel_done_cb		 cb;
	void			*arg;
	struct loop_timer	 deadline;
	int64_t			 timeout_ms;
};

static size_t
chttp_write(char *p, size_t size, size_t n, void *arg)
{
	struct chttp	*h = arg;
	size_t		 len = size * n, room;

	room = sizeof(h->answer) - 1 - h->answerlen;
	if (len < room)
		room = len;
	memcpy(h->answer + h->answerlen, p, room);
	h->answerlen += room;
	h->answer[h->answerlen] = '\0';
	return len;
}

static void
chttp_free(struct chttp *h)
{
	if (h == NULL)
		return;
	loop_timer_cancel(h->loop, &h->deadline);
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	free(h->body);
	free(h);
}

/* The answer's first line, printable, for a person. */
static const char *
chttp_answer_line(struct chttp *h)
{
	size_t	i;

	h->answer[strcspn(h->answer, "\r\n")] = '\0';
	for (i = 0; h->answer[i] != '\0'; i++)
		if ((unsigned char)h->answer[i] < 0x20)
			h->answer[i] = ' ';
	return h->answer[0] != '\0' ? h->answer : "(empty body)";
}

static void
chttp_done(CURL *easy, CURLcode rc, void *arg)
{
	struct chttp		*h = arg;
	char			 detail[CHANNEL_DETAIL_MAX];
	enum channel_outcome	 o;
	long			 status = 0;
	curl_off_t		 ra = 0;

	if (rc != CURLE_OK) {
		snprintf(detail, sizeof(detail), "no answer: %s",
		    curl_easy_strerror(rc));
		h->cb(h->arg, CHANNEL_RETRY, 0, detail);
		chttp_free(h);
		return;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra);
	if (ra > RETRY_AFTER_MAX_S)
		ra = RETRY_AFTER_MAX_S;
	if (status >= 200 && status < 300)
		o = CHANNEL_DELIVERED;
	else if (status == 429 || status == 408 || status >= 500)
		o = CHANNEL_RETRY;
	else
		o = CHANNEL_REJECTED;
	snprintf(detail, sizeof(detail), "HTTP %ld: %.200s", status,
	    chttp_answer_line(h));
	h->cb(h->arg, o, ra > 0 ? (int64_t)ra * 1000000 : 0, detail);
	chttp_free(h);
}

/* The deadline passed with no answer read: retry later. */
static void
chttp_expire(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct chttp	*h = arg;
	char		 detail[CHANNEL_DETAIL_MAX];

	(void)loop;
	(void)t;
	curlmux_remove(h->mux, h->easy);
	snprintf(detail, sizeof(detail), "no answer within %.2fs",
	    (double)h->timeout_ms / 1e3);
	h->cb(h->arg, CHANNEL_RETRY, 0, detail);
	chttp_free(h);
}

static int
chttp_setup(struct chttp *h, const char *url, const char *const *headers)
{
	size_t	i;
	int	bad = 0;

	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		h->headers = curl_slist_append(h->headers, headers[i]);
	bad |= curl_easy_setopt(h->easy, CURLOPT_URL, url);
	bad |= curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	bad |= curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->body);
	bad |= curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, chttp_write);
	bad |= curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	bad |= curl_easy_setopt(h->easy, CURLOPT_USERAGENT,
	    "sonde/" PACKAGE_VERSION);
	bad |= curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/*
	 * curl's defaults, stated: a webhook that redirects is refused
	 * (3xx is rejected), never followed with the alert to another
	 * host; the peer and its name are verified.
	 */
	bad |= curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
	bad |= curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	bad |= curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	return bad != 0 || h->headers == NULL ? -1 : 0;
}

void *
channel_http_post(struct loop *loop, const char *url,
    const char *const *headers, const char *body, int64_t timeout_ms,
    channel_done_cb cb, void *arg, char *err, size_t errlen)
{
	struct chttp	*h;

	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	loop_timer_init(&h->deadline, chttp_expire, h);
	h->cb = cb;
	h->arg = arg;
	h->body = xstrdup(body);
	if ((h->mux = curlmux_shared(loop, err, errlen)) == NULL)
		goto fail;
	if ((h->easy = curl_easy_init()) == NULL ||
	    chttp_setup(h, url, headers) == -1) {
		snprintf(err, errlen, "cannot set up the HTTP request");
		goto fail;
	}
	if (curlmux_add(h->mux, h->easy, chttp_done, h, err, errlen) == -1)
		goto fail;
	h->timeout_ms = timeout_ms;
	loop_timer_after(loop, &h->deadline, timeout_ms * 1000);
	return h;
fail:
	chttp_free(h);
	return NULL;
}

void
channel_http_cancel(void *handle)
{
	struct chttp	*h = handle;

	if (h == NULL)
		return;
	curlmux_remove(h->mux, h->easy);
	chttp_free(h);
}
