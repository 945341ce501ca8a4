/* The Discord gateway: one websocket (libwebsockets) on its own thread with
 * its own lws service loop, so heartbeats never wait on REST, AWS or
 * workflows. It identifies, heartbeats, resumes and reconnects by policy
 * (close-code classifier + backoff table), and hands decoded dispatch events
 * to the loop thread with loop_post(). Outgoing payloads are queued from the
 * loop thread and sent by the gateway thread (woken by lws_cancel_service()).
 *
 * Threading: gw_create/gw_start/gw_stop/gw_destroy/gw_send/gw_get_stats are
 * called on the loop thread; every callback in gw_callbacks runs on the loop
 * thread too. */
#ifndef ENVBOT_GW_H
#define ENVBOT_GW_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/loop.h"
#include "../core/rc.h"

struct gw;

/* Gateway opcodes (Discord's numbers, "op" of every payload). */
enum gw_op {
	GW_OP_DISPATCH = 0,        /* receive: an event (t, s, d) */
	GW_OP_HEARTBEAT = 1,       /* send; receive: the server asks for one now */
	GW_OP_IDENTIFY = 2,        /* send: start a new session */
	GW_OP_PRESENCE_UPDATE = 3, /* send */
	GW_OP_RESUME = 6,          /* send: resume a session */
	GW_OP_RECONNECT = 7,       /* receive: reconnect and resume */
	GW_OP_INVALID_SESSION = 9, /* receive: d true = resumable */
	GW_OP_HELLO = 10,          /* receive: heartbeat_interval */
	GW_OP_HEARTBEAT_ACK = 11,  /* receive */
};

/* Websocket close codes: RFC 6455's that we send or name, and Discord's
 * gateway codes (4000-4014). gw_classify_close() says what each means. */
enum gw_close_code {
	GW_CODE_NONE = 0, /* the TCP connection dropped without a close frame */
	GW_CODE_NORMAL = 1000,
	GW_CODE_GOING_AWAY = 1001,
	GW_CODE_UNKNOWN_ERROR = 4000, /* also what we close with to resume later */
	GW_CODE_UNKNOWN_OPCODE = 4001,
	GW_CODE_DECODE_ERROR = 4002,
	GW_CODE_NOT_AUTHENTICATED = 4003,
	GW_CODE_AUTHENTICATION_FAILED = 4004,
	GW_CODE_ALREADY_AUTHENTICATED = 4005,
	GW_CODE_INVALID_SEQ = 4007,
	GW_CODE_RATE_LIMITED = 4008,
	GW_CODE_SESSION_TIMED_OUT = 4009,
	GW_CODE_INVALID_SHARD = 4010,
	GW_CODE_SHARDING_REQUIRED = 4011,
	GW_CODE_INVALID_API_VERSION = 4012,
	GW_CODE_INVALID_INTENTS = 4013,
	GW_CODE_DISALLOWED_INTENTS = 4014,
};

/* What a close code means for the next connection (policy is data: one
 * classifier, unit-tested). */
enum gw_close_action {
	GW_CLOSE_RESUME = 0,      /* reconnect and RESUME the session */
	GW_CLOSE_NEW_SESSION = 1, /* reconnect and IDENTIFY anew */
	GW_CLOSE_FATAL = 2,       /* stop: configuration or token is wrong */
};

/* Pure. code is the websocket close code received (0 when the TCP connection
 * dropped without a close frame). *why (may be NULL) gets a static text for
 * logs. */
enum gw_close_action gw_classify_close(int code, const char **why);

/* Reconnect delay for the attempt-th consecutive failure (0-based), from the
 * backoff table, with up to 25% jitter from rnd in [0,1). Pure. */
uint32_t gw_backoff_ms(unsigned attempt, double rnd);

/* session_start_limit of GET /gateway/bot. */
struct gw_start_limit {
	int total;
	int remaining;
	int64_t reset_after_ms;
	int max_concurrency;
};

struct gw_callbacks {
	/* A dispatch (op 0) event: type is "INTERACTION_CREATE", "READY", ...
	 * d is borrowed until the callback returns (READY's without its guild
	 * list; may be NULL). Replayed
	 * INTERACTION_CREATE events (same interaction id seen recently) are
	 * never delivered twice. */
	void (*on_dispatch)(void *arg, const char *type, const cJSON *d);
	/* A fatal close (4004, 4010-4014) or an unusable gateway URL: the
	 * gateway has stopped and will not reconnect. why is static. (An
	 * exhausted session_start_limit is not fatal: IDENTIFY waits for its
	 * reset_after.) */
	void (*on_fatal)(void *arg, int close_code, const char *why);
	void *arg;
};

struct gw_options {
	const char *url;             /* "wss://gateway.discord.gg" from GET /gateway/bot */
	const char *token;           /* copied */
	int intents;                 /* 0: interactions need none */
	bool compress;               /* compress=zlib-stream */
	struct gw_start_limit limit; /* all zero: unknown, not enforced */
	/* Asked before every payload and every connect (bot/core/fence.h;
	 * borrowed, NULL: none): closed, nothing is written and the connection
	 * is dropped without a frame. */
	const struct fence *fence;
	/* Tests only (0 = Discord's values): */
	unsigned max_frame_bytes; /* reassembly cap, default 8 MiB */
};

/* Returns a new gateway (not yet connected), or NULL on allocation failure or
 * a URL that is neither wss:// nor ws:// to loopback (url.h: the host judged
 * is the one a client would connect to). opt's strings are copied. */
struct gw *gw_create(struct loop *loop, const struct gw_options *opt,
		     const struct gw_callbacks *cb);
/* Starts the gateway thread, which connects. The caller must have blocked
 * the signals it handles (SIGTERM, SIGINT, SIGHUP) before: the thread
 * inherits the mask. */
enum bot_rc gw_start(struct gw *gw);
/* Sends close 1000 (the session ends), stops and joins the thread. Safe to
 * call twice or on a gateway never started. */
void gw_stop(struct gw *gw);
/* Accepts NULL; stops first if needed. */
void gw_destroy(struct gw *gw);

/* Queues one payload (an op object, e.g. presence update) for the gateway
 * thread. The payload is serialised here; takes ownership of payload.
 * Returns BOT_EINVAL if it serialises to more than 4096 bytes, BOT_EBUSY if
 * the queue is full. Sent within the 120 per 60 s budget (heartbeats are
 * reserved a share). */
enum bot_rc gw_send(struct gw *gw, cJSON *payload);

struct gw_stats {
	bool connected; /* READY or RESUMED seen on the current connection */
	uint64_t connects, resumes, identifies, reconnects;
	uint64_t heartbeats_sent, heartbeat_acks, zombies;
	uint64_t dispatches, duplicates_dropped, frames_dropped;
	uint64_t last_close_code;
	int64_t latency_ms; /* last heartbeat round trip, -1 unknown */
	uint64_t sent_payloads;
};
/* Thread-safe snapshot. */
void gw_get_stats(struct gw *gw, struct gw_stats *out);

#endif
