/* SPDX-License-Identifier: ISC */
/*
 * curlmux: libcurl's multi_socket API bound to the loop.
 *
 * This module owns one CURLM, the loop watchers of the sockets curl asks
 * it to watch, one loop timer for curl's single timeout, and a small
 * record per transfer (the done callback), kept in the easy handle's
 * CURLOPT_PRIVATE.  It does not own the easy handles, nor anything they
 * point to (headers, bodies): those belong to whoever added them, before
 * and after the transfer.
 *
 * Flow (curl's docs/examples/ephiperfifo.c, on sonde's loop instead of
 * libevent): curl tells us which sockets to watch (socket callback) and
 * when to call it back (timer callback); the loop calls
 * curl_multi_socket_action() on readiness or expiry; after every such
 * call, curl_multi_info_read() is drained and each finished transfer is
 * removed from the multi, then reported.  The socket and timer callbacks
 * never call into curl: a timeout of 0 ("now") is a loop timer due now,
 * which runs on the loop's next pass.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curlmux.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

struct curlmux_xfer {
	struct curlmux		*mux;
	CURL			*easy;
	curlmux_done_cb		 cb;
	void			*arg;
	struct curlmux_xfer	*prev, *next;
};

struct curlmux {
	struct loop		*loop;
	CURLM			*multi;
	struct loop_timer	 timer;
	struct curlmux_xfer	*xfers;		/* in flight */
	size_t			 count;
	int			*fds;		/* watched for curl */
	size_t			 nfds, capfds;
	CURL			*pool[CURLMUX_POOL_MAX]; /* idle, reset */
	size_t			 npool;
};

static bool		 curlmux_global_done;
static struct curlmux	*curlmux_the;	/* curlmux_shared() */

/* ---- the fds curl watches -------------------------------------------- */

static void	curlmux_fd_event(struct loop *, int, unsigned, void *);

static void
curlmux_fd_forget(struct curlmux *mux, int fd)
{
	size_t	i;

	for (i = 0; i < mux->nfds; i++) {
		if (mux->fds[i] == fd) {
			mux->fds[i] = mux->fds[--mux->nfds];
			return;
		}
	}
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget one socket. */
static int
curlmux_socket_cb(CURL *easy, curl_socket_t fd, int what, void *clientp,
    void *socketp)
{
	struct curlmux	*mux = clientp;
	unsigned	 ev;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_fd_del(mux->loop, fd);
		curlmux_fd_forget(mux, fd);
		return 0;
	}
	ev = (what & CURL_POLL_IN ? LOOP_READ : 0) |
	    (what & CURL_POLL_OUT ? LOOP_WRITE : 0);
	if (loop_fd_mod(mux->loop, fd, ev) == 0)
		return 0;
	if (loop_fd_add(mux->loop, fd, ev, curlmux_fd_event, mux) == -1) {
		log_warn("curlmux", "watch socket %d", fd);
		return -1;
	}
	if (mux->nfds == mux->capfds) {
		mux->capfds = mux->capfds == 0 ? 16 : mux->capfds * 2;
		mux->fds = xreallocarray(mux->fds, mux->capfds,
		    sizeof(*mux->fds));
	}
	mux->fds[mux->nfds++] = fd;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl keeps one timeout; so do we. */
static int
curlmux_timer_cb(CURLM *multi, long ms, void *clientp)
{
	struct curlmux	*mux = clientp;

	(void)multi;
	if (ms < 0)
		loop_timer_cancel(mux->loop, &mux->timer);
	else
		loop_timer_at(mux->loop, &mux->timer,
		    loop_time(mux->loop) + (int64_t)ms * 1000);
	return 0;
}

/* ---- driving curl ----------------------------------------------------- */

static void
curlmux_xfer_unlink(struct curlmux *mux, struct curlmux_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		mux->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	mux->count--;
}

/* Reports every finished transfer; the handle leaves the multi first. */
static void
curlmux_reap(struct curlmux *mux)
{
	struct curlmux_xfer	*x;
	CURLMsg			*msg;
	CURLcode		 result;
	CURL			*easy;
	char			*priv;
	int			 left;

	while ((msg = curl_multi_info_read(mux->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;	/* invalid after the remove */
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		curl_multi_remove_handle(mux->multi, easy);
		if ((x = (struct curlmux_xfer *)(void *)priv) == NULL)
			continue;
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		curlmux_xfer_unlink(mux, x);
		x->cb(easy, result, x->arg);
		free(x);
	}
}

static void
curlmux_action(struct curlmux *mux, curl_socket_t fd, int mask)
{
	CURLMcode	rc;
	int		running;

	rc = curl_multi_socket_action(mux->multi, fd, mask, &running);
	if (rc != CURLM_OK)
		log_warnx("curlmux", "curl_multi_socket_action: %s",
		    curl_multi_strerror(rc));
	curlmux_reap(mux);
}

static void
curlmux_fd_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	int	mask = 0;

	(void)loop;
	if (events & LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curlmux_action(arg, fd, mask);
}

static void
curlmux_timer_fire(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	curlmux_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- public ----------------------------------------------------------- */

struct curlmux *
curlmux_new(struct loop *loop, char *err, size_t errlen)
{
	struct curlmux	*mux;
	CURLcode	 rc;

	if (!curlmux_global_done) {
		if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
			snprintf(err, errlen, "curl_global_init: %s",
			    curl_easy_strerror(rc));
			return NULL;
		}
		curlmux_global_done = true;
	}
	mux = xcalloc(1, sizeof(*mux));
	mux->loop = loop;
	if ((mux->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		free(mux);
		return NULL;
	}
	loop_timer_init(&mux->timer, curlmux_timer_fire, mux);
	curl_multi_setopt(mux->multi, CURLMOPT_SOCKETFUNCTION,
	    curlmux_socket_cb);
	curl_multi_setopt(mux->multi, CURLMOPT_SOCKETDATA, mux);
	curl_multi_setopt(mux->multi, CURLMOPT_TIMERFUNCTION, curlmux_timer_cb);
	curl_multi_setopt(mux->multi, CURLMOPT_TIMERDATA, mux);
	return mux;
}

void
curlmux_free(struct curlmux *mux)
{
	struct curlmux_xfer	*x;

	if (mux == NULL)
		return;
	while ((x = mux->xfers) != NULL)
		curlmux_remove(mux, x->easy);
	curl_multi_cleanup(mux->multi);
	while (mux->npool > 0)
		curl_easy_cleanup(mux->pool[--mux->npool]);
	/* Sockets of cached connections curl closed without a REMOVE. */
	while (mux->nfds > 0)
		loop_fd_del(mux->loop, mux->fds[--mux->nfds]);
	loop_timer_cancel(mux->loop, &mux->timer);
	if (curlmux_the == mux)
		curlmux_the = NULL;
	free(mux->fds);
	free(mux);
}

struct curlmux *
curlmux_shared(struct loop *loop, char *err, size_t errlen)
{
	if (curlmux_the != NULL && curlmux_the->loop != loop) {
		snprintf(err, errlen, "the shared curl multi belongs to "
		    "another loop");
		return NULL;
	}
	if (curlmux_the == NULL)
		curlmux_the = curlmux_new(loop, err, errlen);
	return curlmux_the;
}

void
curlmux_shared_free(void)
{
	curlmux_free(curlmux_the);
}

int
curlmux_add(struct curlmux *mux, CURL *easy, curlmux_done_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct curlmux_xfer	*x;
	CURLMcode		 rc;

	x = xcalloc(1, sizeof(*x));
	x->mux = mux;
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
	/* This arms the timer (due now): the transfer starts on the loop. */
	if ((rc = curl_multi_add_handle(mux->multi, easy)) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_add_handle: %s",
		    curl_multi_strerror(rc));
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	x->next = mux->xfers;
	if (mux->xfers != NULL)
		mux->xfers->prev = x;
	mux->xfers = x;
	mux->count++;
	return 0;
}

void
curlmux_remove(struct curlmux *mux, CURL *easy)
{
	struct curlmux_xfer	*x;
	char			*priv = NULL;

	if (mux == NULL || easy == NULL)
		return;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((x = (struct curlmux_xfer *)(void *)priv) == NULL ||
	    x->mux != mux)
		return;
	curl_multi_remove_handle(mux->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	curlmux_xfer_unlink(mux, x);
	free(x);
}

size_t
curlmux_count(const struct curlmux *mux)
{
	return mux->count;
}

CURL *
curlmux_easy_get(struct curlmux *mux)
{
	if (mux->npool > 0)
		return mux->pool[--mux->npool];
	return curl_easy_init();
}

void
curlmux_easy_put(struct curlmux *mux, CURL *easy)
{
	if (easy == NULL)
		return;
	if (mux->npool == CURLMUX_POOL_MAX) {
		curl_easy_cleanup(easy);
		return;
	}
	/*
	 * Reset now, not at the next get: the options' strings and lists
	 * (URL, headers, credentials) are freed at once, and no option of
	 * one user leaks into the next.
	 */
	curl_easy_reset(easy);
	mux->pool[mux->npool++] = easy;
}

size_t
curlmux_pooled(const struct curlmux *mux)
{
	return mux->npool;
}
