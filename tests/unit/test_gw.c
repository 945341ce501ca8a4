/* Unit tests of the gateway's pure policy: the close-code classifier and the
 * reconnect backoff table. */
#include "../../bot/discord/gw.h"
#include "check.h"

#include <stdlib.h>

static void test_classifier(void)
{
	const char *why = NULL;
	/* fatal: the configuration or the token is wrong */
	static const int fatal[] = { 4004, 4010, 4011, 4012, 4013, 4014 };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		CHECK_INT(gw_classify_close(fatal[i], &why), GW_CLOSE_FATAL);
		CHECK(why && *why);
	}
	/* a new session */
	CHECK_INT(gw_classify_close(4007, NULL), GW_CLOSE_NEW_SESSION);
	CHECK_INT(gw_classify_close(4009, NULL), GW_CLOSE_NEW_SESSION);
	/* resumable */
	static const int resume[] = { 0,    1000, 1001, 1006, 1011, 4000, 4001, 4002,
				      4003, 4005, 4008, 4006, 4015, 4999, 3000, 1002 };
	for (size_t i = 0; i < sizeof(resume) / sizeof(resume[0]); i++)
		CHECK_INT(gw_classify_close(resume[i], NULL), GW_CLOSE_RESUME);
	gw_classify_close(4004, &why);
	CHECK(strstr(why, "token") != NULL);
	gw_classify_close(0, &why);
	CHECK(strstr(why, "dropped") != NULL);
}

static void test_codes(void)
{
	/* Discord's numbers: the enums are the protocol, not ours to renumber. */
	CHECK_INT(GW_OP_DISPATCH, 0);
	CHECK_INT(GW_OP_HEARTBEAT, 1);
	CHECK_INT(GW_OP_IDENTIFY, 2);
	CHECK_INT(GW_OP_PRESENCE_UPDATE, 3);
	CHECK_INT(GW_OP_RESUME, 6);
	CHECK_INT(GW_OP_RECONNECT, 7);
	CHECK_INT(GW_OP_INVALID_SESSION, 9);
	CHECK_INT(GW_OP_HELLO, 10);
	CHECK_INT(GW_OP_HEARTBEAT_ACK, 11);
	CHECK_INT(GW_CODE_NORMAL, 1000);
	CHECK_INT(GW_CODE_UNKNOWN_ERROR, 4000);
	CHECK_INT(GW_CODE_AUTHENTICATION_FAILED, 4004);
	CHECK_INT(GW_CODE_INVALID_SEQ, 4007);
	CHECK_INT(GW_CODE_SESSION_TIMED_OUT, 4009);
	CHECK_INT(GW_CODE_INVALID_SHARD, 4010);
	CHECK_INT(GW_CODE_INVALID_INTENTS, 4013);
	CHECK_INT(GW_CODE_DISALLOWED_INTENTS, 4014);
	CHECK_INT(gw_classify_close(GW_CODE_INVALID_INTENTS, NULL), GW_CLOSE_FATAL);
	CHECK_INT(gw_classify_close(GW_CODE_DISALLOWED_INTENTS, NULL), GW_CLOSE_FATAL);
}

static void test_backoff(void)
{
	/* Grows, never below the table, never a tight loop, capped. */
	uint32_t prev = 0;
	for (unsigned a = 0; a < 7; a++) {
		uint32_t b = gw_backoff_ms(a, 0.0);
		CHECK(b >= 250);
		CHECK(b > prev);
		prev = b;
	}
	CHECK_INT(gw_backoff_ms(6, 0.0), 60000);
	CHECK_INT(gw_backoff_ms(100, 0.0), 60000);
	/* jitter: up to 25% on top */
	CHECK_INT(gw_backoff_ms(1, 0.999999) <= 1250, 1);
	CHECK_INT(gw_backoff_ms(1, 0.5), 1125);
	CHECK_INT(gw_backoff_ms(1, -1.0), 1000); /* bad random input: no jitter */
	CHECK_INT(gw_backoff_ms(1, 7.0), 1000);
}

static void test_create_rejects_plain_ws(void)
{
	struct gw_options o = { .url = "ws://gateway.discord.gg", .token = "x" };
	CHECK(gw_create(NULL, &o, NULL) == NULL);
	o.url = "http://127.0.0.1:1";
	CHECK(gw_create(NULL, &o, NULL) == NULL);
	/* Loopback named only in the user-info, or a look-alike host: the host
	 * is evil.example (the URL arrives over the network, from GET
	 * /gateway/bot, and this check is its only guard). */
	static const char *const evil[] = {
		"ws://127.0.0.1@evil.example/",  "ws://localhost.evil.example/",
		"ws://127.0.0.1.evil.example/",  "ws://[::1]@evil.example/",
		"ws://localhost:1@evil.example", "ws://evil.example/#@127.0.0.1",
		"wss//gateway.discord.gg",       "",
	};
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		o.url = evil[i];
		struct gw *bad = gw_create(NULL, &o, NULL);
		CHECK(bad == NULL);
		if (bad)
			fprintf(stderr, "accepted: %s\n", evil[i]);
		gw_destroy(bad);
	}
	static const char *const loopback[] = {
		"ws://127.0.0.1:1/gateway",
		"ws://[::1]:1/",
		"ws://localhost:1",
	};
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		o.url = loopback[i];
		struct gw *good = gw_create(NULL, &o, NULL);
		CHECK(good != NULL);
		gw_destroy(good);
	}
	o.url = "ws://127.0.0.1:1/gateway";
	struct gw *gw = gw_create(NULL, &o, NULL);
	CHECK(gw != NULL);
	gw_destroy(gw);
	o.url = "wss://gateway.discord.gg";
	gw = gw_create(NULL, &o, NULL);
	CHECK(gw != NULL);
	struct gw_stats st;
	gw_get_stats(gw, &st);
	CHECK(!st.connected);
	CHECK_INT(st.latency_ms, -1);
	/* over 4096 bytes: refused whatever the state */
	cJSON *big = cJSON_CreateObject();
	char *pad = calloc(5000, 1);
	memset(pad, 'x', 4999);
	cJSON_AddStringToObject(big, "d", pad);
	free(pad);
	CHECK_INT(gw_send(gw, big), BOT_EINVAL);
	/* not started: nothing to send to */
	CHECK_INT(gw_send(gw, cJSON_CreateObject()), BOT_EBUSY);
	gw_destroy(gw);
	gw_destroy(NULL);
}

int main(void)
{
	test_classifier();
	test_codes();
	test_backoff();
	test_create_rejects_plain_ws();
	return check_done();
}
