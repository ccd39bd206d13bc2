/*
 * curlmux: one libcurl multi handle driven by the loop through the
 * multi_socket API (CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION),
 * with finished transfers reaped and reported through a callback.
 *
 * It knows nothing about checks or alert channels: a caller builds an easy
 * handle with whatever options it wants, hands it to curlmux_add() and
 * gets its CURLcode back once, from the loop.  The easy handle stays the
 * caller's; curlmux only uses its CURLOPT_PRIVATE slot.
 *
 * curl is never re-entered from its own callbacks: the socket and timer
 * callbacks only (re)arm loop watchers and the one loop timer, and the
 * done callbacks run after curl_multi_socket_action() has returned, with
 * the handle already removed from the multi.
 *
 * One mux per loop is enough (one thread); curlmux_shared() hands out that
 * one, so check kinds and channels share it without plumbing.
 */
#ifndef SONDE_CURLMUX_H
#define SONDE_CURLMUX_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct loop;
struct curlmux;

/*
 * A transfer ended with result; easy is the caller's again (removed from
 * the multi).  The callback may add transfers (the same easy, too).
 */
typedef void (*curlmux_done_cb)(CURL *easy, CURLcode result, void *arg);

/*
 * Returns a new mux on loop (borrowed; the mux must be freed before it).
 * Calls curl_global_init() the first time.  Returns NULL with the reason
 * in err.
 */
struct curlmux	*curlmux_new(struct loop *loop, char *err, size_t errlen);
/*
 * Removes every transfer (their callbacks are not called; the easy handles
 * stay their owners') and frees.  NULL is a no-op.  Not from a callback.
 */
void		 curlmux_free(struct curlmux *mux);

/*
 * Returns the process's mux for loop, created on first use; NULL with the
 * reason in err.  Free it with curlmux_shared_free() before loop_free().
 */
struct curlmux	*curlmux_shared(struct loop *loop, char *err, size_t errlen);
/* Frees the shared mux, if any. */
void		 curlmux_shared_free(void);

/*
 * Starts easy (borrowed until done or curlmux_remove()); cb(easy, result,
 * arg) runs exactly once from the loop, never inside this call, unless the
 * transfer is removed first.  Returns 0, or -1 with the reason in err.
 * Not from inside a curl callback (write, header, ...).
 */
int		 curlmux_add(struct curlmux *mux, CURL *easy, curlmux_done_cb cb,
		    void *arg, char *err, size_t errlen);
/*
 * Stops a transfer started by curlmux_add(); its callback will not run.
 * Unknown or finished handles are ignored.  Not from inside a curl
 * callback (curl would refuse the recursive call).
 */
void		 curlmux_remove(struct curlmux *mux, CURL *easy);
/* Returns the number of transfers in flight. */
size_t		 curlmux_count(const struct curlmux *mux);

/*
 * Easy handles to reuse.  curl_easy_init() costs a few allocations (one
 * of 16 KiB) and a full option set-up; probes that run a transfer each
 * take a handle here instead and give it back when done.  A handle from
 * curlmux_easy_get() has every option at its default (curl_easy_reset);
 * it is the caller's until curlmux_easy_put(), which takes it back (not
 * in a transfer: remove it first) and keeps up to CURLMUX_POOL_MAX idle,
 * cleaning up the rest.  Returns NULL when out of memory.
 */
#define CURLMUX_POOL_MAX	16
CURL		*curlmux_easy_get(struct curlmux *mux);
void		 curlmux_easy_put(struct curlmux *mux, CURL *easy);
/* Returns the number of idle handles kept. */
size_t		 curlmux_pooled(const struct curlmux *mux);

/*
 * The same, for a user that sets the same options on every transfer: a
 * handle put back with tag keeps its options (no curl_easy_reset), and
 * curlmux_easy_get_kept() with that tag returns it as left, *kept true,
 * sparing the reset and the set-up it would undo; else a reset handle,
 * *kept false.  Before the put the user clears every option that points
 * into its own memory.  At most CURLMUX_POOL_MAX kept; the rest are
 * reset into the other pool.
 */
CURL		*curlmux_easy_get_kept(struct curlmux *mux, const void *tag,
		    bool *kept);
void		 curlmux_easy_put_kept(struct curlmux *mux, CURL *easy,
		    const void *tag);
/* Returns the number of idle handles kept with their options. */
size_t		 curlmux_kept(const struct curlmux *mux);

#endif /* SONDE_CURLMUX_H */
