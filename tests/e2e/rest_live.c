/* The REST client against the fake Discord (tests/fakes/fake_discord.py) on
 * loopback, for what the daemon cannot show yet: pre-emptive channel-message
 * and global limits (no 429 ever), the cap on consecutive 4xx per route,
 * 401 ending every later request, the 15-minute switch from @original to
 * the channel message, counters that never hold a token, and messages with
 * files (multipart uploads: payload_json, names, types, the exact bytes,
 * the same parts again on a retry).
 * usage: rest_live FAKE_DISCORD_PY */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../bot/core/log.h"
#include "../../bot/core/loop.h"
#include "../../bot/discord/interact.h"
#include "../../bot/discord/rest.h"
#include "../unit/check.h"

#define TOKEN "rest-live-token-123456"
#define ZWSP  "\xE2\x80\x8B" /* what a defused mention gets after its '@' */
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

/* ---- messages with files ---- */

#define CHANNEL "300000000000000003"

/* A picture's worth of bytes with everything a multipart body could trip
 * on: every byte value, NULs, CR LF and "--" as a boundary starts. */
static unsigned char png_bytes[1500];
static const char csv_text[] = "environment,hours\r\n\"a,\"\"b\"\"\",1.50\r\n";

static void fill_png(void)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	for (size_t i = 0; i < sizeof(png_bytes); i++)
		png_bytes[i] = (unsigned char)(i * 7 + 3);
	memcpy(png_bytes, sig, sizeof(sig));
	static const char trap[] = "\r\n--boundary\r\n\r\n";
	memcpy(png_bytes + 700, trap, sizeof(trap) - 1);
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* True when b64 is exactly data[0..len) in base64. */
static bool b64_equal(const char *b64, const void *data, size_t len)
{
	char *enc = malloc(4 * ((len + 2) / 3) + 1);
	if (!enc)
		return false;
	EVP_EncodeBlock((unsigned char *)enc, data, (int)len);
	bool eq = b64 && strcmp(enc, b64) == 0;
	free(enc);
	return eq;
}

/* The n-th from last request the fake recorded for method + path (0 = the
 * last), or NULL. Borrowed from st. */
static const cJSON *request_at(const cJSON *st, const char *method, const char *path, int n)
{
	const cJSON *reqs = cJSON_GetObjectItem(st, "requests");
	for (int i = cJSON_GetArraySize(reqs) - 1; i >= 0; i--) {
		const cJSON *q = cJSON_GetArrayItem(reqs, i);
		const char *m = str(q, "method"), *p = str(q, "path");
		if (m && p && strcmp(m, method) == 0 && strcmp(p, path) == 0 && n-- == 0)
			return q;
	}
	return NULL;
}

/* An attachment the fake made of an upload: its name, type and size, and
 * the bytes it received (st's "uploads"), compared with what was sent. */
static void check_attachment(const cJSON *st, const cJSON *att, const struct rest_file *f)
{
	CHECK_STR(str(att, "filename"), f->name);
	CHECK_STR(str(att, "content_type"), f->content_type);
	CHECK_INT(num(att, "size"), f->len);
	const char *id = str(att, "id");
	const cJSON *up = id ? cJSON_GetObjectItem(cJSON_GetObjectItem(st, "uploads"), id) : NULL;
	CHECK(b64_equal(str(up, "data_b64"), f->data, f->len));
}

/* The payload_json the fake parsed: attachments [{id: i, filename}]. */
static void check_payload_attachments(const cJSON *body, const struct rest_file *files, int n)
{
	const cJSON *atts = cJSON_GetObjectItem(body, "attachments");
	CHECK_INT(cJSON_GetArraySize(atts), n);
	for (int i = 0; i < n && i < cJSON_GetArraySize(atts); i++) {
		const cJSON *a = cJSON_GetArrayItem(atts, i);
		CHECK_INT(num(a, "id"), i);
		CHECK_STR(str(a, "filename"), files[i].name);
	}
}

static cJSON *report_msg(void)
{
	cJSON *msg = rest_msg_new("weekly report for @everyone", 0);
	cJSON *embed = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(msg, "embeds"), embed);
	cJSON_AddStringToObject(embed, "title", "Hours up, week of 2026-12-07");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(embed, "image"), "url",
				"attachment://chart.png");
	return msg;
}

static void test_files_channel(struct loop *loop)
{
	const struct rest_file files[2] = {
		{ "chart.png", "image/png", png_bytes, sizeof(png_bytes) },
		{ "report.csv", "text/csv; charset=utf-8", csv_text, strlen(csv_text) },
	};
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), files, 2, on_done, &r),
		  BOT_OK);
	run_until(&r, 1, 5000);
	CHECK_INT(r.ok, 1);
	cJSON *st = ctl("state", NULL);
	const cJSON *q = request_at(st, "POST", "/channels/" CHANNEL "/messages", 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(q, "multipart")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(q, "auth"))); /* a bot route */
	const cJSON *body = cJSON_GetObjectItem(q, "body");
	/* payload_json is the message as rest_create_message() sends it */
	CHECK_STR(str(body, "content"), "weekly report for @" ZWSP "everyone");
	CHECK(str(body, "nonce") != NULL);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(body, "enforce_nonce")));
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(body, "allowed_mentions"), "parse")),
		  0);
	const cJSON *embed = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "embeds"), 0);
	CHECK_STR(str(cJSON_GetObjectItem(embed, "image"), "url"), "attachment://chart.png");
	check_payload_attachments(body, files, 2);
	/* the parts as received: files[0], files[1], in order */
	const cJSON *parts = cJSON_GetObjectItem(q, "files");
	CHECK_INT(cJSON_GetArraySize(parts), 2);
	CHECK_STR(str(cJSON_GetArrayItem(parts, 0), "field"), "files[0]");
	CHECK_STR(str(cJSON_GetArrayItem(parts, 1), "field"), "files[1]");
	/* the message made of it, with both files byte for byte */
	const cJSON *m, *msg = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(st, "messages"))
	{
		if (str(m, "id") && strcmp(str(m, "id"), r.last_id) == 0)
			msg = m;
	}
	CHECK(msg != NULL);
	const cJSON *atts = cJSON_GetObjectItem(msg, "attachments");
	CHECK_INT(cJSON_GetArraySize(atts), 2);
	if (cJSON_GetArraySize(atts) == 2) {
		check_attachment(st, cJSON_GetArrayItem(atts, 0), &files[0]);
		check_attachment(st, cJSON_GetArrayItem(atts, 1), &files[1]);
	}
	cJSON_Delete(st);
	rest_destroy(rest);
	printf("files: a message with %zu + %zu bytes attached\n", files[0].len, files[1].len);
}

/* The answer to the first try is lost (502 after the fake made the
 * message): the retry sends the same parts and nonce, and Discord's nonce
 * check keeps it one message. */
static void test_files_retry(struct loop *loop)
{
	const struct rest_file file = { "chart.png", "image/png", png_bytes, sizeof(png_bytes) };
	cJSON_Delete(ctl("fail", "{\"method\":\"POST\",\"path\":\"^/channels/" CHANNEL
				 "/messages$\",\"status\":502,\"count\":1,\"after\":true}"));
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	double msgs = counter("messages"), replays = counter("nonce_replays");
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), &file, 1, on_done, &r),
		  BOT_OK);
	run_until(&r, 1, 15000);
	CHECK_INT(r.ok, 1);
	CHECK_INT(counter("messages") - msgs, 1);
	CHECK_INT(counter("nonce_replays") - replays, 1);
	cJSON *st = ctl("state", NULL);
	const cJSON *second = request_at(st, "POST", "/channels/" CHANNEL "/messages", 0);
	const cJSON *first = request_at(st, "POST", "/channels/" CHANNEL "/messages", 1);
	CHECK_INT(num(first, "status"), 502);
	CHECK_INT(num(second, "status"), 200);
	const cJSON *f1 = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "files"), 0);
	const cJSON *f2 = cJSON_GetArrayItem(cJSON_GetObjectItem(second, "files"), 0);
	CHECK_INT(num(f2, "size"), sizeof(png_bytes));
	CHECK(str(f1, "sha256") && str(f2, "sha256") &&
	      strcmp(str(f1, "sha256"), str(f2, "sha256")) == 0);
	const char *n1 = str(cJSON_GetObjectItem(first, "body"), "nonce");
	const char *n2 = str(cJSON_GetObjectItem(second, "body"), "nonce");
	CHECK(n1 && n2 && strcmp(n1, n2) == 0);
	cJSON_Delete(st);
	rest_destroy(rest);
}

/* A followup and an @original edit with files, on an interaction's
 * webhook routes (no bot token sent there). */
static void test_files_webhook(struct loop *loop)
{
	const struct rest_file files[2] = {
		{ "chart.png", "image/png", png_bytes, sizeof(png_bytes) },
		{ "report.csv", "text/csv", csv_text, strlen(csv_text) },
	};
	char id[32] = "", token[128] = "", path[256];
	cJSON *ix = ctl("interaction", "{\"command\":\"env\",\"subcommand\":\"report\","
				       "\"offline\":true}");
	if (str(ix, "id") && str(ix, "token")) {
		snprintf(id, sizeof(id), "%s", str(ix, "id"));
		snprintf(token, sizeof(token), "%s", str(ix, "token"));
	}
	cJSON_Delete(ix);
	CHECK(id[0] && token[0]);
	struct rest *rest = client(loop, TOKEN);
	struct run r = { .loop = loop };
	rest_interaction_callback(rest, id, token, REST_CB_DEFERRED_MESSAGE, NULL, on_done, &r);
	run_until(&r, 1, 5000);
	CHECK_INT(rest_followup_files(rest, token, rest_msg_new("the numbers", 0), &files[1], 1,
				      on_done, &r),
		  BOT_OK);
	run_until(&r, 2, 5000);
	CHECK_INT(rest_edit_original_files(rest, token, report_msg(), files, 2, on_done, &r),
		  BOT_OK);
	run_until(&r, 3, 5000);
	CHECK_INT(r.ok, 3);
	snprintf(path, sizeof(path), "interaction/%s", id);
	cJSON *rec = ctl(path, NULL), *st = ctl("state", NULL);
	const cJSON *fu = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "followups"), 0);
	CHECK_STR(str(cJSON_GetObjectItem(fu, "body"), "content"), "the numbers");
	check_payload_attachments(cJSON_GetObjectItem(fu, "body"), &files[1], 1);
	const cJSON *fatts = cJSON_GetObjectItem(fu, "attachments");
	CHECK_INT(cJSON_GetArraySize(fatts), 1);
	if (cJSON_GetArraySize(fatts) == 1)
		check_attachment(st, cJSON_GetArrayItem(fatts, 0), &files[1]);
	const cJSON *ed = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "edits"), 0);
	check_payload_attachments(cJSON_GetObjectItem(ed, "body"), files, 2);
	const cJSON *eatts = cJSON_GetObjectItem(ed, "attachments");
	CHECK_INT(cJSON_GetArraySize(eatts), 2);
	if (cJSON_GetArraySize(eatts) == 2) {
		check_attachment(st, cJSON_GetArrayItem(eatts, 0), &files[0]);
		check_attachment(st, cJSON_GetArrayItem(eatts, 1), &files[1]);
	}
	snprintf(path, sizeof(path), "/webhooks/%s/%s/messages/@original", APP, token);
	const cJSON *q = request_at(st, "PATCH", path, 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(q, "multipart")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(q, "auth")));
	cJSON_Delete(rec);
	cJSON_Delete(st);
	rest_destroy(rest);
}

/* Refused before anything is sent. */
static void test_files_invalid(struct loop *loop)
{
	struct rest_file f = { "chart.png", "image/png", png_bytes, sizeof(png_bytes) };
	struct rest_file many[REST_FILES_MAX + 1];
	struct rest *rest = client(loop, TOKEN);
	double before = counter("requests");
	for (size_t i = 0; i < REST_FILES_MAX + 1; i++)
		many[i] = f;
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), many, REST_FILES_MAX + 1,
					    NULL, NULL),
		  BOT_EINVAL);
	f.name = "../chart.png";
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), &f, 1, NULL, NULL),
		  BOT_EINVAL);
	f.name = "chart.png";
	f.content_type = "image/png\r\nX-Evil: 1";
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), &f, 1, NULL, NULL),
		  BOT_EINVAL);
	f.content_type = NULL; /* application/octet-stream */
	CHECK_INT(rest_create_message_files(rest, "12ab", report_msg(), &f, 1, NULL, NULL),
		  BOT_EINVAL);
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), NULL, 1, NULL, NULL),
		  BOT_EINVAL);
	CHECK_INT(rest_followup_files(rest, "bad token", report_msg(), &f, 1, NULL, NULL),
		  BOT_EINVAL);
	/* over the upload limit in all, each file under it */
	unsigned char *big = calloc(1, REST_FILES_BYTES / 2 + 1);
	struct rest_file two[2] = { { "a.bin", NULL, big, REST_FILES_BYTES / 2 + 1 },
				    { "b.bin", NULL, big, REST_FILES_BYTES / 2 + 1 } };
	CHECK(big != NULL);
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), two, 2, NULL, NULL),
		  BOT_EINVAL);
	free(big);
	CHECK_INT(counter("requests") - before, 0);
	/* ten is Discord's limit, not past it */
	struct run r = { .loop = loop };
	CHECK_INT(rest_create_message_files(rest, CHANNEL, report_msg(), many, REST_FILES_MAX,
					    on_done, &r),
		  BOT_OK);
	run_until(&r, 1, 5000);
	CHECK_INT(r.ok, 1);
	cJSON *st = ctl("state", NULL);
	const cJSON *q = request_at(st, "POST", "/channels/" CHANNEL "/messages", 0);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(q, "files")), REST_FILES_MAX);
	cJSON_Delete(st);
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
	fill_png();
	test_files_channel(loop);
	test_files_retry(loop);
	test_files_webhook(loop);
	test_files_invalid(loop);
	loop_destroy(loop);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	curl_global_cleanup();
	return check_done();
}
