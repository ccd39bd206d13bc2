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
 *
 * Sockets curl closes cost no epoll_ctl: curl says CURL_POLL_REMOVE just
 * before it closes a socket, so the watch is only marked then, and
 * dropped when curl's call returns (curlmux_flush); if curl closed the
 * socket meanwhile (CURLOPT_CLOSESOCKETFUNCTION, set on every transfer),
 * the close took it out of the epoll set and the loop merely forgets it.
 * One probe on a fresh connection thus makes two epoll_ctl calls (add,
 * modify), not three.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	uint8_t			*fdstate;	/* by fd: enum curlmux_fd */
	size_t			 capstate;
	int			*dying;		/* removed, maybe not closed */
	size_t			 ndying, capdying;
	CURL			*pool[CURLMUX_POOL_MAX]; /* idle, reset */
	size_t			 npool;
	CURL			*kept[CURLMUX_POOL_MAX]; /* idle, as left */
	const void		*kepttag[CURLMUX_POOL_MAX];
	size_t			 nkept;
};

/* What curl asked of a socket. */
enum curlmux_fd {
	CURLMUX_FD_NONE,	/* not watched */
	CURLMUX_FD_WATCHED,
	CURLMUX_FD_DYING	/* REMOVE said: watched until the flush */
};

static bool		 curlmux_global_done;
static struct curlmux	*curlmux_the;	/* curlmux_shared() */

/* ---- the fds curl watches -------------------------------------------- */

static void	curlmux_fd_event(struct loop *, int, unsigned, void *);

static enum curlmux_fd
curlmux_fd_get(const struct curlmux *mux, int fd)
{
	if (fd < 0 || (size_t)fd >= mux->capstate)
		return CURLMUX_FD_NONE;
	return mux->fdstate[fd];
}

static void
curlmux_fd_set(struct curlmux *mux, int fd, enum curlmux_fd st)
{
	size_t	n;

	if ((size_t)fd >= mux->capstate) {
		n = mux->capstate == 0 ? 64 : mux->capstate;
		while (n <= (size_t)fd)
			n *= 2;
		mux->fdstate = xreallocarray(mux->fdstate, n, 1);
		memset(mux->fdstate + mux->capstate, 0, n - mux->capstate);
		mux->capstate = n;
	}
	mux->fdstate[fd] = (uint8_t)st;
}

/* REMOVE: keep the watch until curl's call returns (see the top). */
static void
curlmux_fd_dying(struct curlmux *mux, int fd)
{
	if (curlmux_fd_get(mux, fd) != CURLMUX_FD_WATCHED)
		return;
	if (mux->ndying == mux->capdying) {
		mux->capdying = mux->capdying == 0 ? 16 : mux->capdying * 2;
		mux->dying = xreallocarray(mux->dying, mux->capdying,
		    sizeof(*mux->dying));
	}
	mux->dying[mux->ndying++] = fd;
	curlmux_fd_set(mux, fd, CURLMUX_FD_DYING);
}

/* After every call into curl: the removed sockets it did not close. */
static void
curlmux_flush(struct curlmux *mux)
{
	int	fd;

	while (mux->ndying > 0) {
		fd = mux->dying[--mux->ndying];
		if (curlmux_fd_get(mux, fd) != CURLMUX_FD_DYING)
			continue;	/* closed, or watched again */
		loop_fd_del(mux->loop, fd);
		curlmux_fd_set(mux, fd, CURLMUX_FD_NONE);
	}
}

/*
 * CURLOPT_CLOSESOCKETFUNCTION: curl's sockets are its own (never dup'ed;
 * sonde does not fork), so close(2) takes a watched one out of the epoll
 * set and the loop needs no epoll_ctl to forget it.
 */
static int
curlmux_close_cb(void *clientp, curl_socket_t fd)
{
	struct curlmux	*mux = clientp;

	if (curlmux_fd_get(mux, fd) != CURLMUX_FD_NONE) {
		loop_fd_forget(mux->loop, fd);
		curlmux_fd_set(mux, fd, CURLMUX_FD_NONE);
	}
	return close(fd);
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
		curlmux_fd_dying(mux, fd);
		return 0;
	}
	ev = (what & CURL_POLL_IN ? LOOP_READ : 0) |
	    (what & CURL_POLL_OUT ? LOOP_WRITE : 0);
	if (curlmux_fd_get(mux, fd) != CURLMUX_FD_NONE &&
	    loop_fd_mod(mux->loop, fd, ev) == 0) {
		curlmux_fd_set(mux, fd, CURLMUX_FD_WATCHED);
		return 0;
	}
	if (loop_fd_add(mux->loop, fd, ev, curlmux_fd_event, mux) == -1) {
		log_warn("curlmux", "watch socket %d", fd);
		return -1;
	}
	curlmux_fd_set(mux, fd, CURLMUX_FD_WATCHED);
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
	curlmux_flush(mux);
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
	size_t			 i;

	if (mux == NULL)
		return;
	while ((x = mux->xfers) != NULL)
		curlmux_remove(mux, x->easy);
	curl_multi_cleanup(mux->multi);
	while (mux->npool > 0)
		curl_easy_cleanup(mux->pool[--mux->npool]);
	while (mux->nkept > 0)
		curl_easy_cleanup(mux->kept[--mux->nkept]);
	curlmux_flush(mux);
	/* Sockets curl still had open when it let go of them. */
	for (i = 0; i < mux->capstate; i++)
		if (mux->fdstate[i] != CURLMUX_FD_NONE)
			loop_fd_del(mux->loop, (int)i);
	loop_timer_cancel(mux->loop, &mux->timer);
	if (curlmux_the == mux)
		curlmux_the = NULL;
	free(mux->fdstate);
	free(mux->dying);
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
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, curlmux_close_cb);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, mux);
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
	curlmux_flush(mux);
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

CURL *
curlmux_easy_get_kept(struct curlmux *mux, const void *tag, bool *kept)
{
	CURL	*easy;
	size_t	 i;

	for (i = mux->nkept; i > 0; i--) {
		if (mux->kepttag[i - 1] != tag)
			continue;
		easy = mux->kept[i - 1];
		mux->nkept--;
		mux->kept[i - 1] = mux->kept[mux->nkept];
		mux->kepttag[i - 1] = mux->kepttag[mux->nkept];
		*kept = true;
		return easy;
	}
	*kept = false;
	return curlmux_easy_get(mux);
}

void
curlmux_easy_put_kept(struct curlmux *mux, CURL *easy, const void *tag)
{
	if (easy == NULL)
		return;
	if (mux->nkept == CURLMUX_POOL_MAX) {
		curlmux_easy_put(mux, easy);
		return;
	}
	mux->kept[mux->nkept] = easy;
	mux->kepttag[mux->nkept++] = tag;
}

size_t
curlmux_kept(const struct curlmux *mux)
{
	return mux->nkept;
}
