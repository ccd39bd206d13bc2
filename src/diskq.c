/* SPDX-License-Identifier: ISC */
/*
 * diskq: a FIFO of file-system jobs run by one writer thread, so the
 * event loop never waits for fsync (one took 322 ms on a busy disk; the
 * soak of issue #9 saw the loop stalled for seconds by a storm of
 * outbox records).
 *
 * The writer thread touches nothing but the file system and the jobs it
 * has taken off the queue: no log, no loop, no config.  Everything the
 * two threads share (the pending list, the done list, the stop flag,
 * the hook) sits under one mutex; the writer tells the loop through an
 * eventfd, and the loop runs the callbacks.  What callers do with a
 * completion (release held records, count a failure, log it) is theirs.
 */
#include "autoconf.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diskq.h"
#include "loop.h"
#include "state.h"
#include "xmalloc.h"

enum diskq_op {
	DISKQ_WRITE,
	DISKQ_UNLINK,
	DISKQ_BARRIER
};

struct diskq_job {
	enum diskq_op		 op;
	char			*dir;
	char			*name;
	char			*txt;		/* DISKQ_WRITE */
	diskq_done_cb		 cb;
	void			*arg;
	uint64_t		 tag;
	int64_t			 queued;	/* monotonic µs */
	int64_t			 us;		/* queued to done */
	int			 rc;
	char			 err[DISKQ_ERR_MAX];
	struct diskq_job	*next;
};

struct diskq_list {
	struct diskq_job	*head, *tail;
};

struct diskq {
	struct loop		*loop;
	int			 efd;
	pthread_t		 thread;
	bool			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;		/* pending or stop */
	pthread_cond_t		 idle;		/* a batch is done */
	/* ---- under mu ---- */
	struct diskq_list	 pending;
	struct diskq_list	 done;
	size_t			 busy;		/* jobs the writer holds */
	uint64_t		 syncs;		/* directory fsyncs */
	bool			 stop;
	diskq_hook_cb		 hook;
	void			*hook_arg;
	/* ---- loop thread only ---- */
	size_t			 depth;		/* queued, not reported */
	struct diskq_stats	 st;
};

static int64_t
diskq_clock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
diskq_append(struct diskq_list *l, struct diskq_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static void
diskq_job_free(struct diskq_job *j)
{
	free(j->dir);
	free(j->name);
	free(j->txt);
	free(j);
}

/* ---- the writer thread --------------------------------------------------- */

/*
 * Takes up to DISKQ_BATCH_MAX pending jobs spanning at most
 * DISKQ_DIRS_MAX directories, oldest first, into *b (mu held).
 */
static void
diskq_take(struct diskq *q, struct diskq_list *b)
{
	const char		*dirs[DISKQ_DIRS_MAX];
	struct diskq_job	*j;
	size_t			 n = 0, nd = 0, i;

	b->head = b->tail = NULL;
	while ((j = q->pending.head) != NULL && n < DISKQ_BATCH_MAX) {
		for (i = 0; j->dir != NULL && i < nd; i++)
			if (strcmp(dirs[i], j->dir) == 0)
				break;
		if (j->dir != NULL && i == nd) {
			if (nd == DISKQ_DIRS_MAX)
				break;
			dirs[nd++] = j->dir;
		}
		if ((q->pending.head = j->next) == NULL)
			q->pending.tail = NULL;
		diskq_append(b, j);
		n++;
	}
	q->busy = n;
}

/* One job's own work; a write's directory is synced later, per batch. */
static void
diskq_run_job(struct diskq_job *j)
{
	char	*path;

	if (j->op == DISKQ_WRITE)
		j->rc = state_write_file(j->dir, j->name, j->txt, j->err,
		    sizeof(j->err));
	else if (j->op == DISKQ_UNLINK) {
		path = xasprintf("%s/%s", j->dir, j->name);
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(j->err, sizeof(j->err), "remove %s: %s", path,
			    strerror(errno));
			j->rc = -1;
		}
		free(path);
	}
}

/*
 * The group commit: one fsync per directory that got a file in this
 * batch.  A write whose directory did not sync is not durable: it fails.
 */
static uint64_t
diskq_sync_dirs(struct diskq_list *b)
{
	struct diskq_job	*j, *k;
	char			 err[DISKQ_ERR_MAX];
	uint64_t		 n = 0;
	bool			 seen;

	for (j = b->head; j != NULL; j = j->next) {
		if (j->op != DISKQ_WRITE || j->rc != 0)
			continue;
		for (seen = false, k = b->head; k != j && !seen; k = k->next)
			seen = k->op == DISKQ_WRITE && k->rc == 0 &&
			    strcmp(k->dir, j->dir) == 0;
		if (seen)
			continue;
		n++;
		if (state_sync_dir(j->dir, err, sizeof(err)) == 0)
			continue;
		for (k = j; k != NULL; k = k->next)
			if (k->op == DISKQ_WRITE && k->rc == 0 &&
			    strcmp(k->dir, j->dir) == 0) {
				k->rc = -1;
				snprintf(k->err, sizeof(k->err), "%s", err);
			}
	}
	return n;
}

static void
diskq_run_batch(struct diskq *q, struct diskq_list *b, uint64_t *syncs)
{
	struct diskq_job	*j;
	diskq_hook_cb		 hook;
	void			*hook_arg;
	int64_t			 now;

	for (j = b->head; j != NULL; j = j->next) {
		pthread_mutex_lock(&q->mu);
		hook = q->hook;
		hook_arg = q->hook_arg;
		pthread_mutex_unlock(&q->mu);
		if (hook != NULL)
			hook(j->name, hook_arg);
		diskq_run_job(j);
	}
	*syncs = diskq_sync_dirs(b);
	now = diskq_clock();
	for (j = b->head; j != NULL; j = j->next)
		j->us = now - j->queued;
}

static void *
diskq_main(void *arg)
{
	struct diskq		*q = arg;
	struct diskq_list	 b;
	uint64_t		 one = 1, syncs;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->pending.head == NULL && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->pending.head == NULL)
			break;	/* stop, and nothing left: drained */
		diskq_take(q, &b);
		pthread_mutex_unlock(&q->mu);
		diskq_run_batch(q, &b, &syncs);
		pthread_mutex_lock(&q->mu);
		/* The done list keeps FIFO order: one writer appends. */
		if (q->done.tail != NULL)
			q->done.tail->next = b.head;
		else
			q->done.head = b.head;
		q->done.tail = b.tail;
		q->busy = 0;
		q->syncs += syncs;
		pthread_cond_broadcast(&q->idle);
		/* A full counter only means the loop is already woken. */
		if (write(q->efd, &one, sizeof(one)) == -1) {
			/* EAGAIN: it is */
		}
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- the loop side ------------------------------------------------------- */

/* Runs the callbacks of every finished job, in FIFO order. */
static void
diskq_report(struct diskq *q)
{
	struct diskq_job	*j, *next;
	struct diskq_done	 d;

	pthread_mutex_lock(&q->mu);
	j = q->done.head;
	q->done.head = q->done.tail = NULL;
	q->st.syncs = q->syncs;
	pthread_mutex_unlock(&q->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		q->depth--;
		q->st.jobs++;
		q->st.failed += j->rc != 0;
		hist_add(&q->st.lat, j->us);
		d.rc = j->rc;
		d.err = j->err;
		d.us = j->us;
		if (j->cb != NULL)
			j->cb(j->arg, j->tag, &d);
		diskq_job_free(j);
	}
}

static void
diskq_efd_cb(struct loop *loop, int fd, unsigned events, void *arg)
{
	uint64_t	n;

	(void)loop;
	(void)events;
	/* EAGAIN is fine: the done list, not the counter, says what is new. */
	if (read(fd, &n, sizeof(n)) == -1) {
		/* nothing to clear */
	}
	diskq_report(arg);
}

static struct diskq_job *
diskq_job_new(enum diskq_op op, const char *dir, const char *name,
    diskq_done_cb cb, void *arg, uint64_t tag)
{
	struct diskq_job	*j;

	j = xcalloc(1, sizeof(*j));
	j->op = op;
	j->dir = dir != NULL ? xstrdup(dir) : NULL;
	j->name = name != NULL ? xstrdup(name) : NULL;
	j->cb = cb;
	j->arg = arg;
	j->tag = tag;
	j->queued = diskq_clock();
	return j;
}

/* Appends j and wakes the writer. */
static void
diskq_push(struct diskq *q, struct diskq_job *j)
{
	pthread_mutex_lock(&q->mu);
	diskq_append(&q->pending, j);
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	if (++q->depth > q->st.depth_max)
		q->st.depth_max = q->depth;
}

/* Unlinks the pending write of dir/name (mu held); NULL when none. */
static struct diskq_job *
diskq_unqueue(struct diskq *q, const char *dir, const char *name)
{
	struct diskq_job	*j, *prev = NULL;

	for (j = q->pending.head; j != NULL; prev = j, j = j->next) {
		if (j->op != DISKQ_WRITE || strcmp(j->name, name) != 0 ||
		    strcmp(j->dir, dir) != 0)
			continue;
		if (prev != NULL)
			prev->next = j->next;
		else
			q->pending.head = j->next;
		if (q->pending.tail == j)
			q->pending.tail = prev;
		return j;
	}
	return NULL;
}

int
diskq_write(struct diskq *q, const char *dir, const char *name, char *txt,
    bool coalesce, diskq_done_cb cb, void *arg, uint64_t tag)
{
	struct diskq_job	*j, *old = NULL;

	j = diskq_job_new(DISKQ_WRITE, dir, name, cb, arg, tag);
	j->txt = txt;
	pthread_mutex_lock(&q->mu);
	/* The wait counted is the older one's: it was queued first. */
	if (coalesce && (old = diskq_unqueue(q, dir, name)) != NULL)
		j->queued = old->queued;
	diskq_append(&q->pending, j);
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	if (old != NULL) {
		diskq_job_free(old);
		q->st.coalesced++;
		return 1;
	}
	if (++q->depth > q->st.depth_max)
		q->st.depth_max = q->depth;
	return 0;
}

void
diskq_unlink(struct diskq *q, const char *dir, const char *name,
    diskq_done_cb cb, void *arg, uint64_t tag)
{
	diskq_push(q, diskq_job_new(DISKQ_UNLINK, dir, name, cb, arg, tag));
}

void
diskq_barrier(struct diskq *q, diskq_done_cb cb, void *arg, uint64_t tag)
{
	diskq_push(q, diskq_job_new(DISKQ_BARRIER, NULL, NULL, cb, arg, tag));
}

void
diskq_flush(struct diskq *q)
{
	int	round;

	/* Bounded: callbacks may queue jobs, but not forever. */
	for (round = 0; round < 1000 && q->depth > 0; round++) {
		pthread_mutex_lock(&q->mu);
		while (q->pending.head != NULL || q->busy > 0)
			pthread_cond_wait(&q->idle, &q->mu);
		pthread_mutex_unlock(&q->mu);
		diskq_report(q);
	}
}

size_t
diskq_depth(const struct diskq *q)
{
	return q->depth;
}

void
diskq_get_stats(const struct diskq *q, struct diskq_stats *st)
{
	*st = q->st;
	st->depth = q->depth;
}

void
diskq_set_hook(struct diskq *q, diskq_hook_cb hook, void *arg)
{
	pthread_mutex_lock(&q->mu);
	q->hook = hook;
	q->hook_arg = arg;
	pthread_mutex_unlock(&q->mu);
}

/* ---- life ---------------------------------------------------------------- */

struct diskq *
diskq_new(struct loop *loop, char *err, size_t errlen)
{
	struct diskq	*q;
	sigset_t	 all, old;
	int		 rc;

	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->idle, NULL);
	hist_reset(&q->st.lat);
	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_fd_add(loop, q->efd, LOOP_READ, diskq_efd_cb, q) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		diskq_free(q);
		return NULL;
	}
	/* Signals stay the loop's (signalfd): the writer blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, diskq_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the writer thread: %s",
		    strerror(rc));
		diskq_free(q);
		return NULL;
	}
	q->started = true;
	return q;
}

void
diskq_free(struct diskq *q)
{
	struct diskq_job	*j, *next;

	if (q == NULL)
		return;
	if (q->started) {
		diskq_flush(q);
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
	}
	/* Without a writer (a failed start) nothing was ever queued. */
	for (j = q->done.head; j != NULL; j = next) {
		next = j->next;
		diskq_job_free(j);
	}
	if (q->efd != -1) {
		loop_fd_del(q->loop, q->efd);
		close(q->efd);
	}
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
