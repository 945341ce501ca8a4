/* Unit tests of the REST client's pure parts: rate-limit route keys, bucket
 * arithmetic, and the embed limits applied before sending. */
#include <stdlib.h>

#include "../../bot/discord/rest.h"
#include "check.h"

#define ZW "\xE2\x80\x8B" /* zero-width space */

static void key(const char *method, const char *path, const char *want)
{
	char out[256];
	rest_route_key(method, path, out, sizeof(out));
	CHECK_STR(out, want);
}

static void test_route_keys(void)
{
	key("POST", "/channels/123/messages", "POST /channels/123/messages");
	key("PATCH", "/channels/123/messages/456", "PATCH /channels/123/messages/:id");
	key("DELETE", "/channels/123/messages/456", "DELETE /channels/123/messages/:id");
	key("PUT", "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
	    "PUT /channels/1/messages/:id/reactions/*");
	key("GET", "/guilds/9/members/8?limit=5", "GET /guilds/9/members/:id");
	key("POST", "/interactions/11/tok-en_1/callback",
	    "POST /interactions/11/tok-en_1/callback");
	key("PATCH", "/webhooks/100/tok/messages/@original",
	    "PATCH /webhooks/100/tok/messages/@original");
	key("PATCH", "/webhooks/100/tok/messages/555", "PATCH /webhooks/100/tok/messages/:id");
	key("GET", "/gateway/bot", "GET /gateway/bot");
	key("PUT", "/applications/100/guilds/200/commands",
	    "PUT /applications/:id/guilds/:id/commands");
	key("GET", "/", "GET /");
	/* different channels are different buckets; different messages are not */
	char a[64], b[64];
	rest_route_key("PATCH", "/channels/1/messages/5", a, sizeof(a));
	rest_route_key("PATCH", "/channels/1/messages/6", b, sizeof(b));
	CHECK_STR(a, b);
	rest_route_key("POST", "/channels/1/messages", a, sizeof(a));
	rest_route_key("POST", "/channels/2/messages", b, sizeof(b));
	CHECK(strcmp(a, b) != 0);
	/* truncation stays NUL-terminated */
	char small[10];
	rest_route_key("POST", "/channels/123456789/messages", small, sizeof(small));
	CHECK_INT(strlen(small), 9);
}

static void test_buckets(void)
{
	struct rest_bucket_state b = { .limit = -1, .remaining = -1 };
	/* unknown limits: one request at a time */
	CHECK_INT(rest_bucket_wait_ms(&b, 1000), 0);
	rest_bucket_take(&b, 1000);
	CHECK(rest_bucket_wait_ms(&b, 1000) == REST_WAIT_RESPONSE);
	rest_bucket_update(&b, NULL, NULL, NULL, 1010);
	CHECK_INT(rest_bucket_wait_ms(&b, 1010), 0);

	/* learnt: 5 per second, 4 left after this response */
	rest_bucket_take(&b, 1020);
	rest_bucket_update(&b, "5", "4", "1.000", 1030);
	CHECK_INT(b.limit, 5);
	CHECK_INT(b.remaining, 4);
	CHECK_INT(b.reset_ms, 2030);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(rest_bucket_wait_ms(&b, 1040), 0);
		rest_bucket_take(&b, 1040);
	}
	CHECK_INT(b.in_flight, 4);
	/* exhausted: wait for the reset, not for a 429 */
	CHECK_INT(rest_bucket_wait_ms(&b, 1040), 990);
	/* responses for requests in flight count the others still in flight */
	rest_bucket_update(&b, "5", "3", "0.990", 1050);
	CHECK_INT(b.in_flight, 3);
	CHECK_INT(b.remaining, 0);
	/* after the reset the window refills */
	CHECK_INT(rest_bucket_wait_ms(&b, 2100), 0);
	rest_bucket_take(&b, 2100);
	CHECK_INT(b.remaining, 4);

	/* a seeded pre-emptive window (channel messages: 5 per 5 s) */
	struct rest_bucket_state m = { .limit = 5, .remaining = 5, .window_ms = 5000 };
	for (int i = 0; i < 5; i++) {
		CHECK_INT(rest_bucket_wait_ms(&m, 0 + (uint64_t)i), 0);
		rest_bucket_take(&m, 0 + (uint64_t)i);
		rest_bucket_update(&m, NULL, NULL, NULL, 1 + (uint64_t)i);
	}
	CHECK_INT(rest_bucket_wait_ms(&m, 10), 4990);
	CHECK_INT(rest_bucket_wait_ms(&m, 5000), 0);

	/* garbage headers are ignored */
	struct rest_bucket_state g = { .limit = -1, .remaining = -1 };
	rest_bucket_take(&g, 0);
	rest_bucket_update(&g, "-4", "x", "-1", 5);
	CHECK_INT(g.limit, -1);
	CHECK_INT(g.reset_ms, 0);
	CHECK_INT(rest_bucket_wait_ms(&g, 5), 0);
}

static size_t cps(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool ends_with_ellipsis(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && strcmp(s + n - 3, "\xE2\x80\xA6") == 0;
}

static void test_embeds(void)
{
	cJSON *msg = cJSON_CreateObject();
	char *t = repeat("\xC3\xA9", 300); /* é: 2 bytes, 1 character */
	char *d = repeat("d", 5000);
	char *v = repeat("v", 2000);
	char *f = repeat("f", 3000);
	char *c = repeat("c", 2500);
	cJSON_AddStringToObject(msg, "content", c);
	cJSON *am = cJSON_AddObjectToObject(msg, "allowed_mentions");
	cJSON *parse = cJSON_AddArrayToObject(am, "parse");
	cJSON_AddItemToArray(parse, cJSON_CreateString("everyone"));
	cJSON *embeds = cJSON_AddArrayToObject(msg, "embeds");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddItemToArray(embeds, e);
	cJSON_AddStringToObject(e, "title", t);
	cJSON_AddStringToObject(e, "description", d);
	cJSON *fields = cJSON_AddArrayToObject(e, "fields");
	for (int i = 0; i < 30; i++) {
		cJSON *fl = cJSON_CreateObject();
		cJSON_AddStringToObject(fl, "name", "n");
		cJSON_AddStringToObject(fl, "value", i == 0 ? v : "x");
		cJSON_AddItemToArray(fields, fl);
	}
	cJSON *footer = cJSON_AddObjectToObject(e, "footer");
	cJSON_AddStringToObject(footer, "text", f);
	for (int i = 0; i < 11; i++)
		cJSON_AddItemToArray(embeds, cJSON_CreateObject());

	CHECK(rest_message_clamp(msg) > 0);
	CHECK_INT(cps(str(msg, "content")), 2000);
	CHECK(ends_with_ellipsis(str(msg, "content")));
	CHECK_INT(cJSON_GetArraySize(embeds), 10);
	CHECK_INT(cps(str(e, "title")), 256);
	CHECK(ends_with_ellipsis(str(e, "title")));
	CHECK_INT(strlen(str(e, "title")), 255 * 2 + 3); /* never splits a character */
	CHECK_INT(cps(str(e, "description")), 4096);
	/* 256 + 4096 used; 1648 left for fields and footer */
	fields = cJSON_GetObjectItemCaseSensitive(e, "fields");
	CHECK_INT(cJSON_GetArraySize(fields) <= 25, 1);
	cJSON *f0 = cJSON_GetArrayItem(fields, 0);
	CHECK_INT(cps(str(f0, "value")), 1024);
	size_t total = cps(str(e, "title")) + cps(str(e, "description"));
	cJSON *fl;
	cJSON_ArrayForEach(fl, fields) total += cps(str(fl, "name")) + cps(str(fl, "value"));
	footer = cJSON_GetObjectItemCaseSensitive(e, "footer");
	if (footer)
		total += cps(str(footer, "text"));
	CHECK(total <= 6000);
	CHECK(total >= 5990); /* truncated, not dropped wholesale */
	/* mentions can never ping */
	am = cJSON_GetObjectItemCaseSensitive(msg, "allowed_mentions");
	parse = cJSON_GetObjectItemCaseSensitive(am, "parse");
	CHECK(cJSON_IsArray(parse) && cJSON_GetArraySize(parse) == 0);
	cJSON_Delete(msg);

	/* two embeds share the 6000 total */
	msg = cJSON_CreateObject();
	embeds = cJSON_AddArrayToObject(msg, "embeds");
	char *d4 = repeat("d", 4000);
	for (int i = 0; i < 2; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "description", d4);
		cJSON_AddItemToArray(embeds, x);
	}
	rest_message_clamp(msg);
	CHECK_INT(cps(str(cJSON_GetArrayItem(embeds, 0), "description")), 4000);
	CHECK_INT(cps(str(cJSON_GetArrayItem(embeds, 1), "description")), 2000);
	cJSON_Delete(msg);

	/* within limits: nothing changes but allowed_mentions */
	msg = rest_msg_new("hello, mail me at ops@example.com", 64);
	CHECK_INT(rest_message_clamp(msg), 0);
	CHECK_STR(str(msg, "content"), "hello, mail me at ops@example.com");
	CHECK(cJSON_GetObjectItemCaseSensitive(msg, "allowed_mentions") != NULL);
	cJSON_Delete(msg);

	/* mention syntax is defused in every shown string, URLs are left alone */
	msg = rest_msg_new("hello @everyone and @here, <@123> <@!45> <@&67>", 0);
	cJSON *em = cJSON_AddArrayToObject(msg, "embeds");
	cJSON *e0 = cJSON_CreateObject();
	cJSON_AddStringToObject(e0, "title", "by @everyone");
	cJSON_AddStringToObject(e0, "url", "https://x.test/@everyone");
	cJSON_AddItemToArray(em, e0);
	CHECK_INT(rest_message_clamp(msg), 2);
	CHECK_STR(str(msg, "content"), "hello @" ZW "everyone and @" ZW "here, "
				       "<@" ZW "123> <@" ZW "!45> <@" ZW "&67>");
	CHECK_STR(str(e0, "title"), "by @" ZW "everyone");
	CHECK_STR(str(e0, "url"), "https://x.test/@everyone");
	cJSON_Delete(msg);

	/* defusing never pushes a string past its limit: a full-length content
	 * and field value, each ending in mentions, stay within 2000 / 1024 */
	char *full = repeat("c", 1990);
	char text[2100];
	snprintf(text, sizeof(text), "%s @everyone", full);
	msg = rest_msg_new(text, 0);
	em = cJSON_AddArrayToObject(msg, "embeds");
	e0 = cJSON_CreateObject();
	cJSON_AddItemToArray(em, e0);
	cJSON *fs = cJSON_AddArrayToObject(e0, "fields");
	cJSON *f1 = cJSON_CreateObject();
	cJSON_AddStringToObject(f1, "name", "who");
	snprintf(text, sizeof(text), "%.1014s @here <@1>", full);
	cJSON_AddStringToObject(f1, "value", text); /* 1014 + 11 = 1025 after defusing */
	cJSON_AddItemToArray(fs, f1);
	CHECK(rest_message_clamp(msg) > 0);
	CHECK(cps(str(msg, "content")) <= 2000);
	CHECK(strstr(str(msg, "content"), "@everyone") == NULL);
	CHECK(cps(str(f1, "value")) <= 1024);
	CHECK(strstr(str(f1, "value"), "@here") == NULL);
	cJSON_Delete(msg);
	free(full);
	CHECK_INT(rest_message_clamp(NULL), 0);

	free(t);
	free(d);
	free(v);
	free(f);
	free(c);
	free(d4);
}

/* rest_create applies the URL policy to api_base: https anywhere, plain
 * http only to a loopback host, judged on the host curl connects to. */
static void test_api_base(void)
{
	static const char *const refused[] = {
		"http://127.0.0.1@evil.example/",
		"http://127.0.0.1@evil.example/api/v10",
		"http://localhost.evil.example/",
		"http://127.0.0.1.evil.example/",
		"http://[::1]@evil.example/",
		"http://discord.com/api/v10",
		"ws://127.0.0.1:1/",
		"ftp://127.0.0.1/",
		"discord.com/api",
		"",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct rest_options o = { .api_base = refused[i], .token = "t" };
		struct rest *r = rest_create(NULL, &o);
		CHECK(r == NULL);
		if (r)
			fprintf(stderr, "accepted: %s\n", refused[i]);
		rest_destroy(r);
	}
	static const char *const accepted[] = {
		"https://discord.com/api/v10",
		"http://127.0.0.1:5000/api/v10",
		"http://[::1]:5000/api",
		"http://localhost:5000",
	};
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct rest_options o = { .api_base = accepted[i], .token = "t" };
		struct rest *r = rest_create(NULL, &o);
		CHECK(r != NULL);
		rest_destroy(r);
	}
}

int main(void)
{
	test_api_base();
	test_route_keys();
	test_buckets();
	test_embeds();
	return check_done();
}
