/* Event loop around curl_multi_poll(): curl's sockets, extra fds, timers and a
 * cross-thread post queue woken by curl_multi_wakeup(). A sorted list of
 * timers is enough: the daemon has at most a few hundred at once. */
#include "loop.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define LOOP_MAX_FDS 16

struct loop_timer {
	uint64_t due_ms;
	uint64_t seq; /* ties fire in creation order */
	loop_fn fn;
	void *arg;
	struct loop_timer *next;
};

struct loop_post_item {
	loop_fn fn;
	void *arg;
	struct loop_post_item *next;
};

struct loop_xfer {
	CURL *easy;
	loop_http_fn done;
	void *arg;
	struct loop_xfer *prev, *next; /* curl 7.88 cannot list a multi's handles */
};

struct loop_fd {
	int fd;
	short events;
	loop_fd_fn cb;
	void *arg;
};

struct loop {
	CURLM *multi;
	struct loop_timer *timers; /* sorted by due_ms, then seq */
	uint64_t timer_seq;
	struct loop_xfer *xfers;
	int n_xfers;
	struct loop_fd fds[LOOP_MAX_FDS];
	int n_fds;

	pthread_mutex_t lock; /* guards posts and stop only */
	struct loop_post_item *posts, *posts_tail;
	bool stop;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_create(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->multi = curl_multi_init();
	if (!loop->multi) {
		free(loop);
		return NULL;
	}
	pthread_mutex_init(&loop->lock, NULL);
	return loop;
}

void loop_destroy(struct loop *loop)
{
	if (!loop)
		return;
	while (loop->timers) {
		struct loop_timer *t = loop->timers;
		loop->timers = t->next;
		free(t);
	}
	while (loop->posts) {
		struct loop_post_item *p = loop->posts;
		loop->posts = p->next;
		free(p);
	}
	while (loop->xfers)
		loop_http_remove(loop, loop->xfers->easy);
	curl_multi_cleanup(loop->multi);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

struct loop_timer *loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_fn fn, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->due_ms = loop_now_ms() + delay_ms;
	t->seq = loop->timer_seq++;
	t->fn = fn;
	t->arg = arg;
	struct loop_timer **pp = &loop->timers;
	while (*pp && (*pp)->due_ms <= t->due_ms)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	if (!timer)
		return;
	for (struct loop_timer **pp = &loop->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = timer->next;
			free(timer);
			return;
		}
	}
}

int loop_http_add(struct loop *loop, CURL *easy, loop_http_fn done, void *arg)
{
	struct loop_xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(loop->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	x->next = loop->xfers;
	if (loop->xfers)
		loop->xfers->prev = x;
	loop->xfers = x;
	loop->n_xfers++;
	return 0;
}

/* Takes x out of the in-flight list and the multi handle; frees x. */
static void xfer_unlink(struct loop *loop, struct loop_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		loop->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	curl_multi_remove_handle(loop->multi, x->easy);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
	loop->n_xfers--;
	free(x);
}

void loop_http_remove(struct loop *loop, CURL *easy)
{
	struct loop_xfer *x = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x)
		xfer_unlink(loop, x);
}

int loop_http_count(const struct loop *loop)
{
	return loop->n_xfers;
}

int loop_fd_add(struct loop *loop, int fd, short events, loop_fd_fn cb, void *arg)
{
	if (loop->n_fds >= LOOP_MAX_FDS)
		return -1;
	loop->fds[loop->n_fds++] = (struct loop_fd){ fd, events, cb, arg };
	return 0;
}

void loop_fd_remove(struct loop *loop, int fd)
{
	for (int i = 0; i < loop->n_fds; i++) {
		if (loop->fds[i].fd == fd) {
			loop->fds[i] = loop->fds[--loop->n_fds];
			return;
		}
	}
}

int loop_post(struct loop *loop, loop_fn fn, void *arg)
{
	struct loop_post_item *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&loop->lock);
	if (loop->posts_tail)
		loop->posts_tail->next = p;
	else
		loop->posts = p;
	loop->posts_tail = p;
	pthread_mutex_unlock(&loop->lock);
	curl_multi_wakeup(loop->multi);
	return 0;
}

void loop_stop(struct loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->stop = true;
	pthread_mutex_unlock(&loop->lock);
	curl_multi_wakeup(loop->multi);
}

static void run_posts(struct loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	struct loop_post_item *p = loop->posts;
	loop->posts = loop->posts_tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (p) {
		struct loop_post_item *next = p->next;
		int before = loop->n_xfers;
		p->fn(p->arg);
		/* A handler that started a transfer (an interaction ACK) gets it
		 * on the wire now, not after every other queued handler ran:
		 * perform only sends what is ready and never blocks; completions
		 * are collected by run_transfers as usual. */
		if (loop->n_xfers > before) {
			int running = 0;
			curl_multi_perform(loop->multi, &running);
		}
		free(p);
		p = next;
	}
}

static void run_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms();
	/* Timers added by a callback for "now" run on the next iteration, so a
	 * callback that re-arms itself with delay 0 cannot starve the loop. */
	uint64_t last_seq = loop->timer_seq;
	while (loop->timers && loop->timers->due_ms <= now && loop->timers->seq < last_seq) {
		struct loop_timer *t = loop->timers;
		loop->timers = t->next;
		loop_fn fn = t->fn;
		void *arg = t->arg;
		free(t);
		fn(arg);
	}
}

static void run_transfers(struct loop *loop)
{
	int running = 0;
	curl_multi_perform(loop->multi, &running);
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(loop->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		struct loop_xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		loop_http_fn done = x->done;
		void *arg = x->arg;
		xfer_unlink(loop, x);
		done(arg, easy, result);
	}
}

static int next_timeout_ms(struct loop *loop)
{
	int timeout = 1000;
	if (loop->timers) {
		uint64_t now = loop_now_ms();
		uint64_t due = loop->timers->due_ms;
		timeout = due <= now ? 0 : (due - now < 1000 ? (int)(due - now) : 1000);
	}
	long curl_timeout = -1;
	curl_multi_timeout(loop->multi, &curl_timeout);
	if (curl_timeout >= 0 && curl_timeout < timeout)
		timeout = (int)curl_timeout;
	return timeout;
}

int loop_run(struct loop *loop)
{
	for (;;) {
		pthread_mutex_lock(&loop->lock);
		bool stop = loop->stop;
		pthread_mutex_unlock(&loop->lock);
		if (stop)
			break;

		struct curl_waitfd extra[LOOP_MAX_FDS];
		int n = loop->n_fds;
		for (int i = 0; i < n; i++)
			extra[i] = (struct curl_waitfd){ .fd = loop->fds[i].fd,
							 .events = loop->fds[i].events,
							 .revents = 0 };
		int numfds = 0;
		if (curl_multi_poll(loop->multi, extra, (unsigned)n, next_timeout_ms(loop),
				    &numfds) != CURLM_OK)
			return -1;

		run_transfers(loop);
		/* fds: callbacks may remove entries, so match by fd, not index. */
		for (int i = 0; i < n; i++) {
			if (!extra[i].revents)
				continue;
			for (int j = 0; j < loop->n_fds; j++) {
				if (loop->fds[j].fd == extra[i].fd) {
					loop->fds[j].cb(loop->fds[j].arg, extra[i].fd,
							extra[i].revents);
					break;
				}
			}
		}
		run_posts(loop);
		run_timers(loop);
	}
	pthread_mutex_lock(&loop->lock);
	loop->stop = false;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}
