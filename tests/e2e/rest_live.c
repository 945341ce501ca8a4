/* The REST client against the fake Discord (tests/fakes/fake_discord.py) on
 * loopback, for what the daemon cannot show yet: pre-emptive channel-message
 * and global limits (no 429 ever), the cap on consecutive 4xx per route,
 * 401 ending every later request, the 15-minute switch from @original to
 * the channel message, and counters that never hold a token.
 * usage: rest_live FAKE_DISCORD_PY */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "../../bot/core/loop.h"
#include "../../bot/discord/interact.h"
#include "../../bot/discord/rest.h"
#include "../unit/check.h"

#define TOKEN "rest-live-token-123456"
#define APP   "100000000000000001"

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

/* Blocking call to the fake's control API; returns parsed JSON (caller
 * deletes). */
static cJSON *ctl(const char *path, const char *body)
{
	char url[256];
	struct buf b = { 0 };
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_control/%s", port, path);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_perform(e);
	curl_easy_cleanup(e);
	cJSON *j = b.p ? cJSON_Parse(b.p) : NULL;
	free(b.p);
	return j;
}

static double counter(const char *name)
{
	cJSON *st = ctl("state", NULL);
	const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "counters"), name);
	double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
	cJSON_Delete(st);
	return v;
}

/* ---- running the loop until n requests are done ---- */

struct run {
	struct loop *loop;
	int want, done, ok;
	bool timed_out;
	enum bot_rc last_rc;
	char last_id[IX_ID_MAX];
	int rc_count[16]; /* by -rc for local errors, 8 + rc for remote */
};

static void count_rc(struct run *r, enum bot_rc rc)
{
	int i = rc < 0 ? -rc : 8 + rc;
	if (i >= 0 && i < 16)
		r->rc_count[i]++;
}

static void on_done(void *arg, const struct rest_response *res)
{
	struct run *r = arg;
	r->done++;
	if (res->rc == BOT_OK)
		r->ok++;
	r->last_rc = res->rc;
	count_rc(r, res->rc);
	const cJSON *id = cJSON_GetObjectItem(res->json, "id");
	if (cJSON_IsString(id))
		snprintf(r->last_id, sizeof(r->last_id), "%s", id->valuestring);
	if (r->done >= r->want)
		loop_stop(r->loop);
}

static void on_timeout(void *arg)
{
	struct run *r = arg;
	r->timed_out = true;
	loop_stop(r->loop);
}

static void run_until(struct run *r, int want, uint64_t timeout_ms)
{
	r->want = want;
	r->timed_out = false;
	struct loop_timer *t = loop_timer_add(r->loop, timeout_ms, on_timeout, r);
	/* A stop requested by a callback that ran outside loop_run() makes the
	 * next loop_run() return at once: go round until done or timed out. */
	while (r->done < want && !r->timed_out)
		loop_run(r->loop);
	if (r->done < want)
		fprintf(stderr, "timed out: %d of %d done\n", r->done, want);
	if (!r->timed_out)
		loop_timer_cancel(r->loop, t);
}

static struct rest *client(struct loop *loop, const char *token)
{
	char api[128];
	snprintf(api, sizeof(api), "http://127.0.0.1:%d/api/v10", port);
	struct rest_options o = { .api_base = api, .token = token, .application_id = APP };
	return rest_create(loop, &o);
}

static void test_channel_messages(struct loop *loop)
{
	/* The fake allows 5 per second here; the client learns the window
	 * from the headers and never goes over it. */
	cJSON_Delete(ctl("ratelimit",
			 "{\"path\":\"/channels/\\\\d+/messages$\",\"method\":\"POST\","
			 "\"limit\":5,\"window\":1.0}"));
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	double before = counter("rest_429");
	uint64_t t0 = loop_now_ms();
	for (int i = 0; i < 15; i++)
		rest_create_message(rest, "300000000000000003", rest_msg_new("hello", 0), on_done,
				    &r);
	run_until(&r, 15, 20000);
	uint64_t took = loop_now_ms() - t0;
	CHECK_INT(r.ok, 15);
	CHECK_INT(counter("rest_429") - before, 0);
	CHECK(took >= 1900); /* three windows of five */
	struct rest_stats st;
	rest_get_stats(rest, &st);
	CHECK_INT(st.ratelimited, 0);
	CHECK_INT(st.responses_2xx, 15);
	rest_destroy(rest);
	printf("channel messages: 15 in %llu ms, no 429\n", (unsigned long long)took);
}

static void test_global(struct loop *loop)
{
	/* 120 requests on 120 different routes: only the global 50/s holds
	 * them back, and the fake never has to say 429. The budget is per
	 * client: let the previous client's requests leave the window first. */
	usleep(1100 * 1000);
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	double before = counter("rest_429_global");
	uint64_t t0 = loop_now_ms();
	for (int i = 0; i < 120; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/channels/%d", 1000 + i);
		rest_request(rest, "GET", path, NULL, 0, on_done, &r);
	}
	run_until(&r, 120, 20000);
	uint64_t took = loop_now_ms() - t0;
	CHECK_INT(r.ok, 120);
	CHECK_INT(counter("rest_429_global") - before, 0);
	CHECK(took >= 1900);
	rest_destroy(rest);
	printf("global: 120 in %llu ms, no 429\n", (unsigned long long)took);
}

static void test_4xx_streak(struct loop *loop)
{
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	double before = counter("requests");
	for (int i = 0; i < 12; i++)
		rest_request(rest, "GET", "/channels/5/messages/999", NULL, 0, on_done, &r);
	run_until(&r, 12, 10000);
	CHECK_INT(r.ok, 0);
	/* five reach Discord, the rest are refused locally */
	CHECK_INT(counter("requests") - before, 5);
	CHECK_INT(r.rc_count[8 + BOT_ENOTFOUND], 5);
	CHECK_INT(r.rc_count[8 + BOT_EREMOTE], 7);
	rest_destroy(rest);
}

static void test_401(struct loop *loop)
{
	struct rest *rest = client(loop, "wrong-token-000000");
	struct run r = { .loop = loop };
	double before = counter("requests");
	rest_request(rest, "GET", "/users/@me", NULL, 0, on_done, &r);
	run_until(&r, 1, 5000);
	CHECK_INT(r.last_rc, BOT_EAUTH);
	CHECK(rest_auth_failed(rest));
	rest_request(rest, "GET", "/users/@me", NULL, 0, on_done, &r);
	rest_request(rest, "GET", "/channels/1", NULL, 0, on_done, &r);
	run_until(&r, 3, 5000);
	CHECK_INT(r.rc_count[8 + BOT_EAUTH], 3);
	CHECK_INT(counter("requests") - before, 1);
	rest_destroy(rest);
}

static void count_routes(void *arg, const char *route, uint64_t requests, uint64_t limited)
{
	int *leaks = arg;
	(void)requests;
	(void)limited;
	if (strstr(route, "aW50ZXJhY3Rpb246"))
		(*leaks)++;
}

/* An interaction as the gateway would deliver it, received_ms chosen by the
 * test. */
static struct ix *fake_ix(const char *id, const char *token, uint64_t received_ms)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"id\":\"%s\",\"type\":2,\"token\":\"%s\",\"channel_id\":"
		 "\"300000000000000003\",\"data\":{\"name\":\"env\"}}",
		 id, token);
	cJSON *d = cJSON_Parse(json);
	struct ix *ix = NULL;
	ix_parse(d, received_ms, &ix);
	cJSON_Delete(d);
	return ix;
}

static void test_edit_after_15_minutes(struct loop *loop)
{
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	/* A public message as @original would be. */
	rest_create_message(rest, "300000000000000003", rest_msg_new("progress", 0), on_done, &r);
	run_until(&r, 1, 5000);
	CHECK_INT(r.ok, 1);
	double webhooks = counter("edits"), edits = counter("message_edits");
	uint64_t sixteen_min_ago = loop_now_ms() - 16u * 60u * 1000u;
	struct ix *ix = fake_ix("42", "expiredtoken123", sixteen_min_ago);
	CHECK(ix != NULL);
	if (!ix) {
		rest_destroy(rest);
		return;
	}
	snprintf(ix->original_id, sizeof(ix->original_id), "%s", r.last_id);
	ix->acked = true;
	ix->ack_state = 2;
	CHECK_INT(ix_edit(rest, ix, rest_msg_new("done", 0), on_done, &r), BOT_OK);
	run_until(&r, 2, 5000);
	CHECK_INT(r.ok, 2);
	CHECK_INT(counter("message_edits") - edits, 1); /* the channel message */
	CHECK_INT(counter("edits") - webhooks, 0);      /* not the expired webhook */
	/* ephemeral replies cannot be reached once the token is gone */
	ix->ephemeral = true;
	CHECK_INT(ix_edit(rest, ix, rest_msg_new("late", 0), on_done, &r), BOT_ETIMEDOUT);
	ix_free(ix);
	/* an interaction route, to see that its token stays out of the counters */
	rest_interaction_callback(rest, "43", "aW50ZXJhY3Rpb246secret", REST_CB_DEFERRED_MESSAGE,
				  NULL, on_done, &r);
	run_until(&r, 3, 5000);
	int leaks = 0;
	rest_each_route(rest, count_routes, &leaks);
	CHECK_INT(leaks, 0);
	rest_destroy(rest);
}

/* Starts the fake with its stdout on a pipe; returns its pid, -1 on
 * failure. Reads the port from its first line. */
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
		execl("/usr/bin/python3", "python3", script, "--token", TOKEN, "--app-id", APP,
		      (char *)NULL);
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
	if (argc != 2) {
		fprintf(stderr, "usage: rest_live FAKE_DISCORD_PY\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_set_level(LL_ERROR);
	pid_t pid = start_fake(argv[1]);
	if (pid < 0) {
		fprintf(stderr, "fake did not start\n");
		return 1;
	}
	struct loop *loop = loop_create();
	test_channel_messages(loop);
	test_global(loop);
	test_4xx_streak(loop);
	test_401(loop);
	test_edit_after_15_minutes(loop);
	loop_destroy(loop);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	curl_global_cleanup();
	return check_done();
}
