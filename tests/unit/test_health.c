/* The health listener, over real sockets on 127.0.0.1 with a free port: the
 * client is libcurl running on the same event loop as the server. Covers
 * /healthz (healthy, gateway down, stale heartbeat), /metrics, 404, 405,
 * HEAD, an oversized request, concurrent requests, the idle timeout, the
 * connection cap, and the refusal of non-loopback listen addresses. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../bot/core/loop.h"
#include "../../bot/health/health.h"
#include "../../bot/health/metrics.h"
#include "check.h"

static struct loop *L;
static struct health_status current; /* what the fake daemon reports */
static int provider_calls;

static void provide(void *arg, struct health_status *st)
{
	CHECK(arg == &current);
	/* The listener zeroes the struct and marks "no ACK yet" first. */
	CHECK(st->heartbeat_ack_age_ms == -1 && !st->gateway_connected);
	*st = current;
	provider_calls++;
}

/* One HTTP exchange driven by the loop. */
struct fetch {
	const char *path;
	const char *method; /* NULL: GET */
	size_t pad;         /* bytes of an extra header, to overflow the server */
	CURLcode result;
	long code;
	char ctype[128];
	char body[16384];
	size_t body_len;
	int done;
};

static int pending;
static struct loop_timer *deadline;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	if (f->body_len + len >= sizeof(f->body))
		return 0;
	memcpy(f->body + f->body_len, p, len);
	f->body_len += len;
	f->body[f->body_len] = '\0';
	return len;
}

static void on_fetched(void *arg, CURL *easy, CURLcode result)
{
	struct fetch *f = arg;
	f->result = result;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &f->code);
	char *ct = NULL;
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(f->ctype, sizeof(f->ctype), "%s", ct ? ct : "");
	curl_easy_cleanup(easy);
	f->done = 1;
	if (--pending == 0)
		loop_stop(L);
}

static void on_deadline(void *arg)
{
	(void)arg;
	deadline = NULL;
	fprintf(stderr, "test deadline passed\n");
	check_failed++;
	loop_stop(L);
}

static void run_loop(uint64_t max_ms)
{
	deadline = loop_timer_add(L, max_ms, on_deadline, NULL);
	CHECK_INT(loop_run(L), 0);
	loop_timer_cancel(L, deadline);
	deadline = NULL;
}

static struct curl_slist *pad_headers[8];
static int n_pad_headers;

static void fetch_start(struct fetch *f, int port)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, f->path);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
	if (f->method && strcmp(f->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (f->method)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, f->method);
	if (f->pad) {
		char *h = malloc(f->pad + 16);
		memcpy(h, "X-Pad: ", 7);
		memset(h + 7, 'p', f->pad);
		h[7 + f->pad] = '\0';
		struct curl_slist *l = curl_slist_append(NULL, h);
		free(h);
		pad_headers[n_pad_headers++] = l;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
	}
	CHECK_INT(loop_http_add(L, e, on_fetched, f), 0);
	pending++;
}

/* Fetches one path and returns when the exchange has finished. */
static void fetch_one(struct fetch *f, int port)
{
	fetch_start(f, port);
	run_loop(5000);
	CHECK(f->done);
}

static void test_listen_refused(void)
{
	static const char *bad[] = { "0.0.0.0:9464",
				     "10.1.2.3:9464",
				     "[::]:9464",
				     "192.168.0.1:80",
				     "[::ffff:10.0.0.1]:80",
				     "example.com:9464",
				     "127.0.0.1",
				     "127.0.0.1:",
				     "127.0.0.1:99999",
				     "127.0.0.1:94x",
				     "::1:9464",
				     "[::1]9464",
				     "",
				     NULL };
	char err[512];
	struct health_opts o = { 0 };
	for (int i = 0; bad[i]; i++) {
		struct health *h = (struct health *)1;
		o.listen = bad[i];
		err[0] = '\0';
		CHECK_INT(health_create(L, &o, &h, err, sizeof(err)), BOT_ECONFIG);
		CHECK(h == NULL);
		CHECK(strstr(err, "health.listen") != NULL);
		if (!strstr(err, "health.listen"))
			fprintf(stderr, "  for \"%s\": %s\n", bad[i], err);
	}
	/* The non-loopback ones say so, and why. */
	o.listen = "0.0.0.0:9464";
	health_create(L, &o, &(struct health *){ NULL }, err, sizeof(err));
	CHECK(strstr(err, "not a loopback address") != NULL);
	CHECK(strstr(err, "0.0.0.0:9464") != NULL);

	struct sockaddr_storage ss;
	socklen_t len;
	CHECK_INT(health_parse_listen("[::1]:9464", &ss, &len, err, sizeof(err)), BOT_OK);
	CHECK_INT(ss.ss_family, AF_INET6);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9464);
	CHECK_INT(health_parse_listen("localhost:80", &ss, &len, err, sizeof(err)), BOT_OK);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_INT(health_parse_listen("127.8.9.10:0", &ss, &len, err, sizeof(err)), BOT_OK);
	CHECK_INT(len, sizeof(struct sockaddr_in));
}

static void test_healthz(int port)
{
	current = (struct health_status){ .gateway_connected = true,
					  .heartbeat_ack_age_ms = 1500,
					  .heartbeat_interval_ms = 41250,
					  .scheduler_alive = true };
	struct fetch f = { .path = "/healthz" };
	fetch_one(&f, port);
	CHECK_INT(f.result, CURLE_OK);
	CHECK_INT(f.code, 200);
	CHECK_STR(f.ctype, "application/json");
	cJSON *j = cJSON_Parse(f.body);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "ok");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "gateway_connected")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "scheduler_alive")));
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "heartbeat_ack_age_seconds")) == 1.5);
	cJSON_Delete(j);

	/* Gateway down: 503 and the booleans say which part. */
	current.gateway_connected = false;
	current.heartbeat_ack_age_ms = -1;
	struct fetch g = { .path = "/healthz?verbose=1" };
	fetch_one(&g, port);
	CHECK_INT(g.code, 503);
	j = cJSON_Parse(g.body);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "unhealthy");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "gateway_connected")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "heartbeat_ack_age_seconds")));
	cJSON_Delete(j);

	/* Connected but the last ACK is older than two heartbeat intervals:
	 * a zombie connection is unhealthy. */
	current = (struct health_status){ .gateway_connected = true,
					  .heartbeat_ack_age_ms = 90000,
					  .heartbeat_interval_ms = 41250,
					  .scheduler_alive = true };
	struct fetch s = { .path = "/healthz" };
	fetch_one(&s, port);
	CHECK_INT(s.code, 503);

	/* Scheduler stuck. */
	current.heartbeat_ack_age_ms = 100;
	current.scheduler_alive = false;
	struct fetch t = { .path = "/healthz" };
	fetch_one(&t, port);
	CHECK_INT(t.code, 503);
	CHECK(strstr(t.body, "\"scheduler_alive\":false") != NULL);
}

static void test_metrics(int port, struct metrics *m)
{
	current = (struct health_status){ .gateway_connected = true,
					  .heartbeat_ack_age_ms = 2500,
					  .scheduler_alive = true };
	metrics_inc(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL);
	metrics_inc(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL);
	metrics_inc(m, METRIC_WORKFLOWS, "stop", "success");
	struct fetch f = { .path = "/metrics" };
	fetch_one(&f, port);
	CHECK_INT(f.result, CURLE_OK);
	CHECK_INT(f.code, 200);
	CHECK_STR(f.ctype, "text/plain; version=0.0.4; charset=utf-8");
	CHECK(strstr(f.body, "\nenvbot_gateway_reconnects_total 2\n") != NULL);
	CHECK(strstr(f.body, "\nenvbot_workflows_total{kind=\"stop\",outcome=\"success\"} 1\n") !=
	      NULL);
	/* Refreshed from the provider at scrape time. */
	CHECK(strstr(f.body, "\nenvbot_gateway_connected 1\n") != NULL);
	CHECK(strstr(f.body, "\nenvbot_scheduler_alive 1\n") != NULL);
	CHECK(strstr(f.body, "\nenvbot_gateway_heartbeat_ack_age_seconds 2.5\n") != NULL);
	/* The body is exactly the registry's rendering. */
	char *text = NULL;
	size_t len = 0;
	metrics_render(m, &text, &len);
	CHECK_INT(f.body_len, len);
	CHECK(text && strcmp(text, f.body) == 0);
	free(text);
}

static void test_errors(int port)
{
	struct fetch nf = { .path = "/nope" };
	struct fetch root = { .path = "/" };
	struct fetch post = { .path = "/metrics", .method = "POST" };
	struct fetch head = { .path = "/healthz", .method = "HEAD" };
	/* All four at once: the listener serves concurrent connections. */
	fetch_start(&nf, port);
	fetch_start(&root, port);
	fetch_start(&post, port);
	fetch_start(&head, port);
	run_loop(5000);
	CHECK_INT(nf.result, CURLE_OK);
	CHECK_INT(nf.code, 404);
	CHECK(strstr(nf.body, "not found") != NULL);
	CHECK_INT(root.code, 404);
	CHECK_INT(post.code, 405);
	CHECK_INT(head.result, CURLE_OK);
	CHECK_INT(head.code, 200);
	CHECK_INT(head.body_len, 0);

	/* A request whose headers do not fit 4 KiB gets no answer at all. */
	struct fetch big = { .path = "/healthz", .pad = 8000 };
	fetch_one(&big, port);
	CHECK(big.result != CURLE_OK);
	CHECK_INT(big.code, 0);
	CHECK_INT(big.body_len, 0);
	/* And the listener still serves the next one. */
	struct fetch after = { .path = "/healthz" };
	fetch_one(&after, port);
	CHECK_INT(after.result, CURLE_OK);
	CHECK_INT(after.code, 200);
}

/* Raw client sockets that send nothing: the server must close them. */
struct idle {
	int fd;
	uint64_t opened_ms, closed_ms;
};

static void on_idle_readable(void *arg, int fd, short revents)
{
	struct idle *c = arg;
	char b[64];
	(void)revents;
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (n > 0)
		return; /* the server never sends to an idle client */
	c->closed_ms = loop_now_ms();
	loop_fd_remove(L, fd);
	if (--pending == 0)
		loop_stop(L);
}

static int connect_raw(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_idle_and_cap(int port, uint64_t idle_ms)
{
	/* Five silent clients against a cap of four: one is closed at once,
	 * the other four when the idle timeout passes. */
	struct idle c[5];
	uint64_t t0 = loop_now_ms();
	for (int i = 0; i < 5; i++) {
		c[i] = (struct idle){ .fd = connect_raw(port), .opened_ms = t0 };
		CHECK(c[i].fd >= 0);
		loop_fd_add(L, c[i].fd, POLLIN, on_idle_readable, &c[i]);
		pending++;
	}
	run_loop(5000);
	int early = 0, on_time = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t after = c[i].closed_ms - c[i].opened_ms;
		if (after < idle_ms / 2)
			early++;
		else if (after >= idle_ms && after < idle_ms + 2000)
			on_time++;
		close(c[i].fd);
	}
	CHECK_INT(early, 1);
	CHECK_INT(on_time, 4);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	L = loop_create();
	struct metrics *m = metrics_create();
	char err[512] = "";

	test_listen_refused();

	const uint64_t idle_ms = 400;
	struct health_opts o = { .listen = "127.0.0.1:0",
				 .provider = { .status = provide, .arg = &current },
				 .metrics = m,
				 .idle_timeout_ms = idle_ms };
	struct health *h = NULL;
	CHECK_INT(health_create(L, &o, &h, err, sizeof(err)), BOT_OK);
	if (!h) {
		fprintf(stderr, "health_create: %s\n", err);
		return check_done() || 1;
	}
	int port = health_port(h);
	CHECK(port > 0);

	/* The same port cannot be taken twice; the message says so. */
	char busy[64];
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", port);
	struct health_opts o2 = o;
	o2.listen = busy;
	struct health *h2 = NULL;
	CHECK_INT(health_create(L, &o2, &h2, err, sizeof(err)), BOT_EIO);
	CHECK(strstr(err, "cannot listen") != NULL);

	test_healthz(port);
	test_metrics(port, m);
	test_errors(port);
	test_idle_and_cap(port, idle_ms);
	CHECK(provider_calls >= 6);

	/* Destroying with a connection open closes it (ASan checks the rest). */
	int fd = connect_raw(port);
	struct fetch last = { .path = "/healthz" };
	fetch_one(&last, port);
	health_destroy(h);
	health_destroy(NULL);
	close(fd);

	for (int i = 0; i < n_pad_headers; i++)
		curl_slist_free_all(pad_headers[i]);
	metrics_destroy(m);
	loop_destroy(L);
	curl_global_cleanup();
	return check_done();
}
