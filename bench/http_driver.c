/* SPDX-License-Identifier: ISC */
/*
 * http_driver: issues GET requests at a fixed rate, round-robin over n
 * URLs made from a template, for a bounded time; the load generator that
 * drives blackbox_exporter's /probe endpoint in bench/http.sh the way
 * sonde's scheduler drives its own probes (the same probes per second,
 * spread evenly).  One curl multi, keep-alive to the exporter, so the
 * driver itself costs little; its CPU is not what is measured.
 *
 *   http_driver TEMPLATE N RATE SECONDS [MATCH]
 *
 * TEMPLATE has one %d, replaced by 0..N-1.  With FRESH=1 in the
 * environment every request opens and closes its own connection (the
 * "minimal libcurl client" floor of bench/http.sh); CA=FILE trusts FILE,
 * and CAPATH=none drops libcurl's default CA path (which, on Debian,
 * disables libcurl's CA store cache: see checks/http.c).  A response counts as ok when
 * it is a 200 and, if MATCH is given, its body contains MATCH.  Prints
 * "sent=... done=... ok=... failed=..." on exit.  Bench code, not sonde.
 */
#include "autoconf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRIVER_MAX_INFLIGHT	512

struct req {
	CURL	*easy;
	char	 body[4096];
	size_t	 len;
	char	 url[1024];
	int	 busy;
};

static struct req	reqs[DRIVER_MAX_INFLIGHT];

static size_t
on_body(char *d, size_t sz, size_t n, void *arg)
{
	struct req	*r = arg;
	size_t		 k = sz * n, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, d, k < room ? k : room);
	r->len += k < room ? k : room;
	r->body[r->len] = '\0';
	return k;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	CURLM		*m;
	CURLMsg		*msg;
	struct req	*r;
	const char	*tmpl, *match, *mark;
	double		 rate, secs, start, next;
	long		 code;
	long		 sent = 0, done = 0, ok = 0, failed = 0;
	int		 n, i, running, left;

	if (argc < 5) {
		fprintf(stderr, "usage: http_driver TEMPLATE N RATE SECONDS "
		    "[MATCH]\n");
		return 2;
	}
	tmpl = argv[1];
	if ((mark = strstr(tmpl, "%d")) == NULL) {
		fprintf(stderr, "http_driver: TEMPLATE needs a %%d\n");
		return 2;
	}
	n = atoi(argv[2]);
	rate = atof(argv[3]);
	secs = atof(argv[4]);
	match = argc > 5 ? argv[5] : NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	start = next = now_s();
	for (;;) {
		double	t = now_s();

		while (t >= next && t - start < secs) {
			for (i = 0; i < DRIVER_MAX_INFLIGHT && reqs[i].busy;
			    i++)
				;
			next += 1.0 / rate;
			if (i == DRIVER_MAX_INFLIGHT) {
				failed++;	/* overloaded: count, skip */
				continue;
			}
			r = &reqs[i];
			if (r->easy == NULL) {
				r->easy = curl_easy_init();
				curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION,
				    on_body);
				curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
				curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
				curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
				curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, 30L);
				if (getenv("CA") != NULL)
					curl_easy_setopt(r->easy, CURLOPT_CAINFO,
					    getenv("CA"));
				if (getenv("CAPATH") != NULL)
					curl_easy_setopt(r->easy, CURLOPT_CAPATH,
					    NULL);
				if (getenv("FRESH") != NULL) {
					curl_easy_setopt(r->easy,
					    CURLOPT_FRESH_CONNECT, 1L);
					curl_easy_setopt(r->easy,
					    CURLOPT_FORBID_REUSE, 1L);
				}
			}
			snprintf(r->url, sizeof(r->url), "%.*s%d%s",
			    (int)(mark - tmpl), tmpl, (int)(sent % n),
			    mark + 2);
			curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
			r->len = 0;
			r->body[0] = '\0';
			r->busy = 1;
			curl_multi_add_handle(m, r->easy);
			sent++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&r);
			code = 0;
			curl_easy_getinfo(msg->easy_handle,
			    CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && code == 200 &&
			    (match == NULL || strstr(r->body, match) != NULL))
				ok++;
			else
				failed++;
			done++;
			curl_multi_remove_handle(m, msg->easy_handle);
			r->busy = 0;
		}
		if (now_s() - start >= secs && running == 0)
			break;
		curl_multi_poll(m, NULL, 0, 1, NULL);
	}
	printf("sent=%ld done=%ld ok=%ld failed=%ld\n", sent, done, ok, failed);
	for (i = 0; i < DRIVER_MAX_INFLIGHT; i++)
		if (reqs[i].easy != NULL)
			curl_easy_cleanup(reqs[i].easy);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return 0;
}
