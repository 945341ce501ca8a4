/* The daemon's event loop: one thread that owns a curl multi handle, one-shot
 * timers on the monotonic clock, watched file descriptors, and a queue of
 * callbacks posted from other threads (the gateway thread hands events over
 * this way). Nothing that runs on it may block: REST calls, AWS calls,
 * workflow polls and schedule ticks are all timers or transfers here.
 *
 * Threading: only loop_post() and loop_stop() may be called from another
 * thread. Everything else, and every callback, runs on the loop thread. */
#ifndef ENVBOT_LOOP_H
#define ENVBOT_LOOP_H

#include <curl/curl.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fn)(void *arg);
/* A finished transfer: the easy handle has already been removed from the multi
 * handle; the callee owns it again (and usually cleans it up). */
typedef void (*loop_http_fn)(void *arg, CURL *easy, CURLcode result);
typedef void (*loop_fd_fn)(void *arg, int fd, short revents);

/* Returns a new loop, or NULL on allocation failure. curl_global_init() must
 * have been called. */
struct loop *loop_create(void);
/* Accepts NULL. Pending timers and posts are dropped; transfers still in the
 * multi handle are removed and their done callbacks are NOT called. */
void loop_destroy(struct loop *loop);

/* Milliseconds on the monotonic clock (never jumps with the wall clock). */
uint64_t loop_now_ms(void);

/* One-shot timer after delay_ms. The returned handle is valid until fn has
 * been called or the timer cancelled; NULL on allocation failure. */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_fn fn, void *arg);
/* Accepts NULL. Must not be called on a timer that already fired. */
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer);

/* Starts a transfer. The loop uses CURLOPT_PRIVATE of easy; callers must not.
 * done is called once on the loop thread when the transfer ends.
 * Returns 0, or -1 if the handle could not be added (done is not called). */
int loop_http_add(struct loop *loop, CURL *easy, loop_http_fn done, void *arg);
/* Aborts a transfer started with loop_http_add without calling done; the
 * caller owns easy again. No-op if easy is not in flight. */
void loop_http_remove(struct loop *loop, CURL *easy);
/* Number of transfers in flight (for metrics and benchmarks). */
int loop_http_count(const struct loop *loop);

/* Watches fd for poll() events (POLLIN/POLLOUT); cb runs on the loop thread.
 * Returns 0 or -1 (too many fds). */
int loop_fd_add(struct loop *loop, int fd, short events, loop_fd_fn cb, void *arg);
void loop_fd_remove(struct loop *loop, int fd);

/* Thread-safe: runs fn(arg) on the loop thread soon, in posting order.
 * Returns 0, or -1 on allocation failure (fn is not called). */
int loop_post(struct loop *loop, loop_fn fn, void *arg);

/* Runs until loop_stop(). Returns 0, or -1 if curl's multi handle failed. */
int loop_run(struct loop *loop);
/* Thread-safe: makes loop_run() return after the current iteration. */
void loop_stop(struct loop *loop);

#endif
