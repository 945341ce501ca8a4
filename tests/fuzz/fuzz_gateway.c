/* Fuzzes the gateway's payload decoding: what on_message() (plain JSON
 * frames) and on_compressed() (zlib-stream frames) in bot/discord/gw.c do with a
 * frame the server sent, including the dispatch hand-off to the loop thread
 * and ix_parse() of INTERACTION_CREATE there, as bot/daemon/bot.c does.
 * Those functions are static and run on the gateway thread; rather than
 * widening gw.h for a test, this file includes gw.c so that it can call
 * them on a gateway that was created but never connected (no wsi: every
 * close/write request is a no-op; an lws context exists so that timers can
 * be scheduled, but it is never serviced).
 * Input: byte 0 picks the mode (0: plain frame, 1: the harness deflates the
 * rest as a zlib-stream message, 2: the rest is a raw compressed frame). */
#include "../../bot/discord/gw.c"

#include "../../bot/discord/interact.h"
#include "fuzz.h"

#define FRAME_MAX (1u << 20)

static struct loop *lp;
static struct gw *g;
static z_stream def;
static unsigned char *zbuf;

static void on_dispatch_cb(void *arg, const char *type, const cJSON *d)
{
	(void)arg;
	if (strcmp(type, "INTERACTION_CREATE") != 0 || !d)
		return;
	struct ix *ix = NULL;
	if (ix_parse(d, loop_now_ms(), &ix) == BOT_OK) {
		FUZZ_CHECK(ix != NULL && ix->token != NULL);
		for (size_t i = 0; i < ix->n_options; i++)
			FUZZ_CHECK(ix->options[i].value != NULL);
		(void)ix_focused(ix);
	}
	ix_free(ix);
}

static void on_fatal_cb(void *arg, int code, const char *why)
{
	(void)arg;
	(void)code;
	(void)why;
}

static void stop_loop(void *arg)
{
	loop_stop(arg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	lp = loop_create();
	struct gw_options opt = { .url = "ws://127.0.0.1:9/",
				  .token = "fuzz-bot-token-0123456789",
				  .max_frame_bytes = FRAME_MAX };
	struct gw_callbacks cb = { .on_dispatch = on_dispatch_cb, .on_fatal = on_fatal_cb };
	g = lp ? gw_create(lp, &opt, &cb) : NULL;
	if (!g)
		abort();
	lws_set_log_level(LLL_ERR, lws_log_emit);
	struct lws_context_creation_info info = { 0 };
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.user = g;
	info.fd_limit_per_thread = 4;
	g->ctx = lws_create_context(&info);
	if (!g->ctx || inflateInit(&g->z) != Z_OK || deflateInit(&def, 6) != Z_OK)
		abort();
	g->z_on = true;
	zbuf = malloc(2 * FRAME_MAX + 1024);
	if (!zbuf)
		abort();
	return 0;
}

/* Each input starts from a fresh connection: no session, no sequence. */
static void reset(void)
{
	forget_session(g);
	g->ready = false;
	g->hb_interval_ms = 0;
	g->ack_pending = false;
	g->last_identify_us = 0;
	g->identify_due = false;
	ctrl_clear(g);
	memset(g->seen, 0, sizeof(g->seen));
	g->seen_head = 0;
	inflateReset(&g->z);
	deflateReset(&def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FRAME_MAX)
		return 0;
	reset();
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	/* The transport hands on_message() a buffer it owns; copy to a heap
	 * block of exactly n bytes so ASan sees reads past the frame. */
	char *frame = malloc(n ? n : 1);
	if (!frame)
		abort();
	if (n)
		memcpy(frame, p, n);
	switch (data[0] % 3) {
	case 0: on_message(g, frame, n); break;
	case 1: {
		def.next_in = (Bytef *)frame;
		def.avail_in = (uInt)n;
		def.next_out = zbuf;
		def.avail_out = (uInt)(2 * FRAME_MAX + 1024);
		if (deflate(&def, Z_SYNC_FLUSH) == Z_OK)
			on_compressed(g, zbuf, (size_t)(2 * FRAME_MAX + 1024 - def.avail_out));
		break;
	}
	default: on_compressed(g, (const unsigned char *)frame, n); break;
	}
	free(frame);
	/* Deliver what was posted to the loop, as the loop thread would. */
	if (loop_post(lp, stop_loop, lp) == 0)
		loop_run(lp);
	return 0;
}
