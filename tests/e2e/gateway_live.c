/* The gateway module alone against the fake Discord, for what the daemon
 * does not exercise yet: gw_send() and the outgoing budget (Discord closes
 * with 4008 beyond 120 payloads per 60 s; envbot keeps 10 of them for
 * heartbeats and never goes over), the payload size limit, the counters.
 * usage: gateway_live FAKE_DISCORD_PY */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "../../bot/core/loop.h"
#include "../../bot/discord/gw.h"
#include "../unit/check.h"

#define TOKEN "gateway-live-token-123456"

static int port;

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *d, size_t s, size_t n, void *u)
{
	struct buf *b = u;
	char *p = realloc(b->p, b->n + s * n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, d, s * n);
	b->n += s * n;
	p[b->n] = '\0';
	b->p = p;
	return s * n;
}

static double counter(const char *name)
{
	char url[256];
	struct buf b = { 0 };
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_control/state", port);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(e);
	curl_easy_cleanup(e);
	cJSON *st = b.p ? cJSON_Parse(b.p) : NULL;
	free(b.p);
	const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "counters"), name);
	double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
	cJSON_Delete(st);
	return v;
}

struct ctx {
	struct loop *loop;
	struct gw *gw;
	int ready, fatal;
	int sent, busy;
};

static void on_dispatch(void *arg, const char *type, const cJSON *d)
{
	struct ctx *c = arg;
	(void)d;
	if (strcmp(type, "READY") == 0) {
		c->ready++;
		loop_stop(c->loop);
	}
}

static void on_fatal(void *arg, int code, const char *why)
{
	struct ctx *c = arg;
	(void)code;
	(void)why;
	c->fatal++;
	loop_stop(c->loop);
}

static cJSON *presence(void)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *d = cJSON_AddObjectToObject(p, "d");
	cJSON_AddNumberToObject(p, "op", 3);
	cJSON_AddNullToObject(d, "since");
	cJSON_AddArrayToObject(d, "activities");
	cJSON_AddStringToObject(d, "status", "online");
	cJSON_AddFalseToObject(d, "afk");
	return p;
}

/* Feeds the queue while it has room, every 100 ms, for a while. */
static void feed(void *arg)
{
	struct ctx *c = arg;
	while (c->sent < 150) {
		enum bot_rc rc = gw_send(c->gw, presence());
		if (rc == BOT_EBUSY) {
			c->busy++;
			break;
		}
		CHECK_INT(rc, BOT_OK);
		c->sent++;
	}
}

static void stop_loop(void *arg)
{
	struct ctx *c = arg;
	loop_stop(c->loop);
}

static pid_t start_fake(const char *script)
{
	int fds[2];
	char line[256];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", script, "--token", TOKEN,
		      "--heartbeat-interval", "1000", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	if (pid < 0 || !f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "READY port=%d", &port) != 1) {
		if (pid > 0)
			kill(pid, SIGTERM);
		return -1;
	}
	fclose(f);
	return pid;
}

int main(int argc, char **argv)
{
	char url[128];
	if (argc != 2) {
		fprintf(stderr, "usage: gateway_live FAKE_DISCORD_PY\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_set_level(LL_WARN);
	pid_t pid = start_fake(argv[1]);
	if (pid < 0) {
		fprintf(stderr, "fake did not start\n");
		return 1;
	}
	struct ctx c = { .loop = loop_create() };
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/gateway", port);
	struct gw_options o = { .url = url, .token = TOKEN };
	struct gw_callbacks cb = { .on_dispatch = on_dispatch, .on_fatal = on_fatal, .arg = &c };
	c.gw = gw_create(c.loop, &o, &cb);
	CHECK(c.gw != NULL);
	CHECK_INT(gw_start(c.gw), BOT_OK);
	struct loop_timer *t = loop_timer_add(c.loop, 10000, stop_loop, &c);
	loop_run(c.loop);
	loop_timer_cancel(c.loop, t);
	CHECK_INT(c.ready, 1);

	/* too large: refused before it is queued */
	cJSON *big = presence();
	char *pad = calloc(5000, 1);
	memset(pad, 'x', 4999);
	cJSON_AddStringToObject(cJSON_GetObjectItem(big, "d"), "pad", pad);
	free(pad);
	CHECK_INT(gw_send(c.gw, big), BOT_EINVAL);

	/* 150 payloads offered as fast as the queue takes them, for 3 s */
	for (int i = 0; i < 30; i++)
		loop_timer_add(c.loop, (uint64_t)i * 100u, feed, &c);
	loop_timer_add(c.loop, 3000, stop_loop, &c);
	loop_run(c.loop);
	CHECK_INT(c.sent, 150);
	/* The queue is bounded: with the window's budget spent nothing drains,
	 * so it fills and refuses. (Whether the feed above already met a full
	 * queue depends on how fast the gateway thread drained it.) */
	int extra = 0;
	enum bot_rc r = BOT_OK;
	while (extra < 200 && (r = gw_send(c.gw, presence())) == BOT_OK)
		extra++;
	CHECK_INT(r, BOT_EBUSY);
	CHECK(extra <= 64);
	double sent = counter("op3");
	/* user payloads stop at 110 sends in the window, heartbeats included */
	CHECK(sent >= 100 && sent <= 110);
	CHECK_INT(counter("server_closes"), 0);
	CHECK_INT(c.fatal, 0);
	struct gw_stats st;
	gw_get_stats(c.gw, &st);
	CHECK(st.connected);
	CHECK(st.heartbeats_sent >= 2);
	CHECK(st.heartbeat_acks >= 1);
	CHECK(st.latency_ms >= 0);
	CHECK_INT(st.identifies, 1);
	CHECK_INT(st.connects, 1);
	CHECK_INT(st.sent_payloads >= 112, 1); /* IDENTIFY + heartbeats + 110 */
	printf("gateway: %d offered, %.0f sent in 3 s, %llu heartbeats\n", c.sent, sent,
	       (unsigned long long)st.heartbeats_sent);

	/* The budget spent, heartbeats still go out (the reserved 10) and no
	 * more user payloads do. */
	uint64_t beats = st.heartbeats_sent;
	loop_timer_add(c.loop, 2500, stop_loop, &c);
	loop_run(c.loop);
	gw_get_stats(c.gw, &st);
	CHECK(st.heartbeats_sent >= beats + 2);
	CHECK(st.connected);
	CHECK_INT(counter("op3"), sent);
	CHECK_INT(counter("server_closes"), 0);

	gw_destroy(c.gw);
	/* deliver (and free) the events the gateway posted before it stopped */
	loop_post(c.loop, stop_loop, &c);
	loop_run(c.loop);
	loop_destroy(c.loop);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	curl_global_cleanup();
	return check_done();
}
