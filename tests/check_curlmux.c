/* SPDX-License-Identifier: ISC */
/*
 * Tests for curlmux: libcurl's multi_socket API on the loop, against
 * small servers of the test's own on 127.0.0.1 (one that answers at once,
 * one that never answers) and a closed port.  What is checked is the
 * contract of curlmux.h: done runs once, from the loop, never inside
 * curlmux_add(), with the handle already out of the multi (so it may be
 * added again); remove and free report nothing and leave no watcher.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curlmux.h"
#include "loop.h"
#include "testutil.h"

/* ---- a server on the test's loop --------------------------------------- */

struct srv {
	struct loop	*loop;
	int		 lfd;
	int		 port;
	bool		 answer;	/* false: accept and keep silent */
	bool		 keepalive;	/* no "Connection: close" */
	int		 conns[8];
	int		 nconns;
	int		 accepted;
};

static void
srv_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	static const char	 resp[] = "HTTP/1.1 200 OK\r\nContent-Length: "
	    "2\r\nConnection: close\r\n\r\nok";
	static const char	 kresp[] = "HTTP/1.1 200 OK\r\nContent-Length: "
	    "2\r\n\r\nok";
	struct srv		*s = arg;
	char			 buf[1024];
	ssize_t			 n;
	int			 i;

	(void)events;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0 && s->answer && memmem(buf, (size_t)n, "\r\n\r\n", 4) &&
	    s->keepalive)
		(void)send(fd, kresp, sizeof(kresp) - 1, MSG_NOSIGNAL);
	else if (n > 0 && s->answer && memmem(buf, (size_t)n, "\r\n\r\n",
	    4))
		(void)send(fd, resp, sizeof(resp) - 1, MSG_NOSIGNAL);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		loop_fd_del(loop, fd);
		close(fd);
		for (i = 0; i < s->nconns; i++)
			if (s->conns[i] == fd)
				s->conns[i] = -1;
	}
}

static void
srv_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct srv	*s = arg;
	int		 fd;

	(void)events;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	s->accepted++;
	if (s->nconns == 8) {
		close(fd);
		return;
	}
	s->conns[s->nconns++] = fd;
	ck_assert_int_eq(loop_fd_add(loop, fd, LOOP_READ, srv_io, s), 0);
}

static void
srv_start(struct srv *s, struct loop *loop, bool answer)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->answer = answer;
	s->lfd = testutil_listen_tcp(AF_INET, 16, &s->port);
	ck_assert_int_eq(loop_fd_add(loop, s->lfd, LOOP_READ, srv_accept, s),
	    0);
}

static void
srv_stop(struct srv *s)
{
	int	i;

	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i] != -1) {
			loop_fd_del(s->loop, s->conns[i]);
			close(s->conns[i]);
		}
	}
	loop_fd_del(s->loop, s->lfd);
	close(s->lfd);
}

/* ---- fixture ------------------------------------------------------------- */

static struct loop	*lp;
static struct curlmux	*mux;

static void
setup(void)
{
	char	err[128];

	lp = loop_new();
	mux = curlmux_new(lp, err, sizeof(err));
	ck_assert_msg(mux != NULL, "%s", err);
}

static void
teardown(void)
{
	curlmux_free(mux);
	loop_free(lp);
}

struct done {
	int		 calls;
	CURLcode	 result;
	bool		 in_add;	/* set around curlmux_add() */
	bool		 called_in_add;
	int		 again;		/* transfers to chain in the callback */
	bool		 finished;
};

static void
on_done(CURL *easy, CURLcode result, void *arg)
{
	struct done	*d = arg;
	char		 err[128];

	d->calls++;
	d->result = result;
	if (d->in_add)
		d->called_in_add = true;
	/* The handle is out of the multi: it can go again at once. */
	if (d->again > 0) {
		d->again--;
		ck_assert_int_eq(curlmux_add(mux, easy, on_done, d, err,
		    sizeof(err)), 0);
		return;
	}
	d->finished = true;
}

static size_t
sink(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

static CURL *
easy_for(int port)
{
	CURL	*e = curl_easy_init();
	char	 url[64];

	ck_assert_ptr_nonnull(e);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	return e;
}

static void
easy_free(CURL *e)
{
	char	*priv = NULL;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
	ck_assert_ptr_null(priv);	/* curlmux left no record behind */
	curl_easy_cleanup(e);
}

static int
add(CURL *e, struct done *d)
{
	char	err[128];
	int	rc;

	d->in_add = true;
	rc = curlmux_add(mux, e, on_done, d, err, sizeof(err));
	d->in_add = false;
	return rc;
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(test_curlmux_done_once_from_the_loop)
{
	struct srv	s;
	struct done	d = { 0 };
	CURL		*e;

	srv_start(&s, lp, true);
	e = easy_for(s.port);
	ck_assert_int_eq(add(e, &d), 0);
	ck_assert_int_eq(d.calls, 0);
	ck_assert_uint_eq(curlmux_count(mux), 1);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.calls, 1);
	ck_assert(!d.called_in_add);
	ck_assert_int_eq(d.result, CURLE_OK);
	ck_assert_uint_eq(curlmux_count(mux), 0);
	easy_free(e);
	srv_stop(&s);
}
END_TEST

START_TEST(test_curlmux_readd_in_callback)
{
	struct srv	s;
	struct done	d = { .again = 2 };
	CURL		*e;

	srv_start(&s, lp, true);
	e = easy_for(s.port);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	ck_assert_int_eq(add(e, &d), 0);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.calls, 3);
	ck_assert_int_eq(s.accepted, 3);
	ck_assert_int_eq(d.result, CURLE_OK);
	easy_free(e);
	srv_stop(&s);
}
END_TEST

START_TEST(test_curlmux_refused)
{
	struct done	d = { 0 };
	CURL		*e = easy_for(testutil_closed_port());

	ck_assert_int_eq(add(e, &d), 0);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.result, CURLE_COULDNT_CONNECT);
	easy_free(e);
}
END_TEST

/* Removed in flight: no callback, nothing left watched or armed. */
START_TEST(test_curlmux_remove_reports_nothing)
{
	struct srv	s;
	struct done	d = { 0 };
	CURL		*e;
	int		 i;

	srv_start(&s, lp, false);
	e = easy_for(s.port);
	ck_assert_int_eq(add(e, &d), 0);
	for (i = 0; i < 100 && s.accepted == 0; i++)
		loop_run_once(lp, 10000);
	ck_assert_int_eq(s.accepted, 1);
	curlmux_remove(mux, e);
	curlmux_remove(mux, e);		/* twice: ignored */
	ck_assert_uint_eq(curlmux_count(mux), 0);
	for (i = 0; i < 10; i++)
		loop_run_once(lp, 1000);
	ck_assert_int_eq(d.calls, 0);
	easy_free(e);
	srv_stop(&s);
	/* Only the loop's own timers may remain: none of curl's. */
	ck_assert_uint_eq(loop_timer_count(lp), 0);
}
END_TEST

/* Freed with transfers in flight: no callbacks; the handles are ours. */
START_TEST(test_curlmux_free_in_flight)
{
	struct srv	s;
	struct done	d1 = { 0 }, d2 = { 0 };
	CURL		*e1, *e2;
	int		 i;

	srv_start(&s, lp, false);
	e1 = easy_for(s.port);
	e2 = easy_for(s.port);
	ck_assert_int_eq(add(e1, &d1), 0);
	ck_assert_int_eq(add(e2, &d2), 0);
	for (i = 0; i < 100 && s.accepted < 2; i++)
		loop_run_once(lp, 10000);
	ck_assert_int_eq(s.accepted, 2);
	curlmux_free(mux);
	mux = NULL;
	for (i = 0; i < 10; i++)
		loop_run_once(lp, 1000);
	ck_assert_int_eq(d1.calls + d2.calls, 0);
	easy_free(e1);
	easy_free(e2);
	srv_stop(&s);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
}
END_TEST

START_TEST(test_curlmux_shared_is_per_loop)
{
	struct loop	*other = loop_new();
	struct curlmux	*a, *b;
	char		 err[128];

	a = curlmux_shared(lp, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(curlmux_shared(lp, err, sizeof(err)), a);
	b = curlmux_shared(other, err, sizeof(err));
	ck_assert_ptr_null(b);
	ck_assert_str_eq(err, "the shared curl multi belongs to another loop");
	curlmux_shared_free();
	b = curlmux_shared(other, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	curlmux_shared_free();
	loop_free(other);
}
END_TEST

/*
 * The pool hands back the same handle with every option reset (no URL:
 * a transfer fails as malformed, it does not go to the last user's
 * server), and keeps at most CURLMUX_POOL_MAX idle.
 */
START_TEST(test_curlmux_pool_reuses_reset_handles)
{
	struct srv	 s;
	struct done	 d = { 0 }, d2 = { 0 };
	CURL		*e, *again, *many[CURLMUX_POOL_MAX + 2];
	char		 url[64];
	size_t		 i;

	srv_start(&s, lp, true);
	e = curlmux_easy_get(mux);
	ck_assert_ptr_nonnull(e);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	ck_assert_int_eq(add(e, &d), 0);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.result, CURLE_OK);
	curlmux_easy_put(mux, e);
	ck_assert_uint_eq(curlmux_pooled(mux), 1);
	again = curlmux_easy_get(mux);
	ck_assert_ptr_eq(again, e);
	ck_assert_uint_eq(curlmux_pooled(mux), 0);
	ck_assert_int_eq(add(again, &d2), 0);
	ck_assert(testutil_run_until(lp, &d2.finished, 3000));
	ck_assert_int_eq(d2.result, CURLE_URL_MALFORMAT);
	ck_assert_int_eq(s.accepted, 1);
	curlmux_easy_put(mux, again);
	for (i = 0; i < CURLMUX_POOL_MAX + 2; i++)
		ck_assert_ptr_nonnull(many[i] = curlmux_easy_get(mux));
	for (i = 0; i < CURLMUX_POOL_MAX + 2; i++)
		curlmux_easy_put(mux, many[i]);
	ck_assert_uint_eq(curlmux_pooled(mux), CURLMUX_POOL_MAX);
	srv_stop(&s);
}
END_TEST

/* CURLOPT_SOCKOPTFUNCTION: which fd curl's connection got. */
static int
note_fd(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	if (purpose == CURLSOCKTYPE_IPCXN)
		*(int *)arg = fd;
	return CURL_SOCKOPT_OK;
}

/* Whether any epoll set of this process holds fd (its fdinfo "tfd:"). */
static bool
epoll_holds(int fd)
{
	DIR		*d = opendir("/proc/self/fdinfo");
	struct dirent	*de;
	char		 path[300], line[256];
	FILE		*f;
	int		 tfd;
	bool		 found = false;

	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s",
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "tfd: %d", &tfd) == 1 && tfd == fd)
				found = true;
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * A socket curl is done with is neither watched by the loop nor left in
 * the epoll set: closed (FORBID_REUSE), the close dropped it; kept open
 * for reuse (keep-alive), curlmux took it out after curl's call.
 */
START_TEST(test_curlmux_sockets_leave_no_watch)
{
	struct srv	s;
	struct done	d = { 0 }, d2 = { 0 };
	CURL		*e;
	int		 fd = -1, fd2 = -1;

	srv_start(&s, lp, true);
	e = easy_for(s.port);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, note_fd);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &fd);
	ck_assert_int_eq(add(e, &d), 0);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.result, CURLE_OK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);	/* closed */
	ck_assert(!epoll_holds(fd));
	ck_assert_int_eq(loop_fd_mod(lp, fd, LOOP_READ), -1);

	s.keepalive = true;
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 0L);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &fd2);
	ck_assert_int_eq(add(e, &d2), 0);
	ck_assert(testutil_run_until(lp, &d2.finished, 3000));
	ck_assert_int_eq(d2.result, CURLE_OK);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_ne(fcntl(fd2, F_GETFD), -1);	/* open, cached */
	ck_assert(!epoll_holds(fd2));
	ck_assert_int_eq(loop_fd_mod(lp, fd2, LOOP_READ), -1);
	easy_free(e);
	curlmux_free(mux);		/* closes the cached connection */
	mux = NULL;
	ck_assert_int_eq(fcntl(fd2, F_GETFD), -1);
	srv_stop(&s);
}
END_TEST

/*
 * Kept handles: back with their options under their tag only; another
 * tag gets a reset handle; past CURLMUX_POOL_MAX they go to the reset
 * pool.
 */
START_TEST(test_curlmux_kept_handles_keep_options)
{
	struct srv	 s;
	struct done	 d = { 0 };
	CURL		*e, *other, *many[CURLMUX_POOL_MAX + 1];
	static const int tag_a = 1, tag_b = 2;
	char		 url[64], *got = NULL;
	bool		 kept = true;
	size_t		 i;

	srv_start(&s, lp, true);
	e = curlmux_easy_get_kept(mux, &tag_a, &kept);
	ck_assert_ptr_nonnull(e);
	ck_assert(!kept);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curlmux_easy_put_kept(mux, e, &tag_a);
	ck_assert_uint_eq(curlmux_kept(mux), 1);
	other = curlmux_easy_get_kept(mux, &tag_b, &kept);
	ck_assert(!kept);
	ck_assert_ptr_ne(other, e);
	ck_assert_ptr_eq(curlmux_easy_get_kept(mux, &tag_a, &kept), e);
	ck_assert(kept);
	ck_assert_uint_eq(curlmux_kept(mux), 0);
	/* Its options are there: it goes where the last user said. */
	ck_assert_int_eq(add(e, &d), 0);
	ck_assert(testutil_run_until(lp, &d.finished, 3000));
	ck_assert_int_eq(d.result, CURLE_OK);
	ck_assert_int_eq(curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &got),
	    CURLE_OK);
	ck_assert_str_eq(got, url);
	curlmux_easy_put(mux, other);
	curlmux_easy_put_kept(mux, e, &tag_a);
	for (i = 0; i < CURLMUX_POOL_MAX + 1; i++)
		ck_assert_ptr_nonnull(many[i] = curl_easy_init());
	for (i = 0; i < CURLMUX_POOL_MAX + 1; i++)
		curlmux_easy_put_kept(mux, many[i], &tag_b);
	ck_assert_uint_eq(curlmux_kept(mux), CURLMUX_POOL_MAX);
	/* other, and the two that did not fit beside e and 15 of many. */
	ck_assert_uint_eq(curlmux_pooled(mux), 3);
	srv_stop(&s);
}
END_TEST

static Suite *
curlmux_suite(void)
{
	Suite	*s = suite_create("curlmux");
	TCase	*tc;

	tc = tcase_create("transfers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_curlmux_done_once_from_the_loop);
	tcase_add_test(tc, test_curlmux_readd_in_callback);
	tcase_add_test(tc, test_curlmux_refused);
	tcase_add_test(tc, test_curlmux_remove_reports_nothing);
	tcase_add_test(tc, test_curlmux_free_in_flight);
	tcase_add_test(tc, test_curlmux_shared_is_per_loop);
	tcase_add_test(tc, test_curlmux_pool_reuses_reset_handles);
	tcase_add_test(tc, test_curlmux_sockets_leave_no_watch);
	tcase_add_test(tc, test_curlmux_kept_handles_keep_options);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(curlmux_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
