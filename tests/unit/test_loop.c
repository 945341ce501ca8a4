/* The event loop: timer order and cancellation, cross-thread posts, and a
 * transfer completing by callback (file:// keeps it off the network). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../bot/core/loop.h"
#include "check.h"

static struct loop *L;
static char order[16];
static int n_order;

static void mark(void *arg)
{
	order[n_order++] = *(const char *)arg;
	if (n_order == 3)
		loop_stop(L);
}

static void test_timers(void)
{
	static const char a = 'a', b = 'b', c = 'c', x = 'x';
	n_order = 0;
	/* Read before arming: a timer must never fire before its delay. */
	uint64_t t0 = loop_now_ms();
	loop_timer_add(L, 30, mark, (void *)&c);
	loop_timer_add(L, 10, mark, (void *)&a);
	struct loop_timer *t = loop_timer_add(L, 15, mark, (void *)&x);
	loop_timer_add(L, 20, mark, (void *)&b);
	loop_timer_cancel(L, t);
	CHECK_INT(loop_run(L), 0);
	CHECK(loop_now_ms() - t0 >= 30);
	CHECK_INT(n_order, 3);
	CHECK(order[0] == 'a' && order[1] == 'b' && order[2] == 'c');
}

static int posted;
static void on_post(void *arg)
{
	(void)arg;
	if (++posted == 100)
		loop_stop(L);
}

static void *poster(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		loop_post(L, on_post, NULL);
	return NULL;
}

static void test_posts(void)
{
	pthread_t th;
	pthread_create(&th, NULL, poster, NULL);
	CHECK_INT(loop_run(L), 0);
	pthread_join(th, NULL);
	CHECK_INT(posted, 100);
}

static CURLcode http_result = CURLE_FAILED_INIT;
static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	*(size_t *)u += s * n;
	return s * n;
}
static void on_done(void *arg, CURL *easy, CURLcode result)
{
	(void)arg;
	http_result = result;
	curl_easy_cleanup(easy);
	loop_stop(L);
}

static void test_transfer(void)
{
	size_t got = 0;
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, "file:///etc/hostname");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
	CHECK_INT(loop_http_add(L, e, on_done, NULL), 0);
	CHECK_INT(loop_http_count(L), 1);
	CHECK_INT(loop_run(L), 0);
	CHECK_INT(http_result, CURLE_OK);
	CHECK(got > 0);
	CHECK_INT(loop_http_count(L), 0);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	L = loop_create();
	CHECK(L != NULL);
	test_timers();
	test_posts();
	test_transfer();
	loop_destroy(L);
	curl_global_cleanup();
	return check_done();
}
