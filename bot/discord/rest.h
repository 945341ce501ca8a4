/* Discord's REST API over libcurl's multi interface (loop_http_add), on the
 * loop thread. It never gets the bot banned: rate-limit buckets learnt from
 * X-RateLimit-* headers, routes keyed by method + path with major ids
 * literal, pre-emptive limits, 429 waits on loop timers, a global 50/s
 * budget, bounded retries for 5xx and network errors, a cap on consecutive
 * 4xx per route. Interaction callbacks are exempt from the global limit and
 * never queue behind each other. Every message body gets
 * allowed_mentions {parse: []} and is clamped to Discord's embed limits.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_REST_H
#define ENVBOT_REST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/loop.h"
#include "../core/rc.h"

struct rest;

struct rest_options {
	const char *api_base;       /* "https://discord.com/api/v10"; copied */
	const char *token;          /* bot token; copied */
	const char *application_id; /* for /webhooks/{app}/...; copied */
	const char *ca_file;        /* tests: extra CA file; NULL = system store */
	/* Tests only (0 = defaults): */
	unsigned max_retries; /* 5xx/network retries, default 4 */
	unsigned timeout_ms;  /* per attempt, default 15000 */
};

/* Returns a new client, or NULL on allocation failure or a disallowed
 * api_base (plain http only to loopback). */
struct rest *rest_create(struct loop *loop, const struct rest_options *opt);
/* Accepts NULL. Requests in flight or queued are dropped; their done
 * callbacks are called with BOT_ECANCELLED. */
void rest_destroy(struct rest *rest);

/* The outcome of one request, after retries. Borrowed until done returns. */
struct rest_response {
	enum bot_rc rc;    /* BOT_OK for 2xx */
	long status;       /* HTTP status, 0 if none */
	const cJSON *json; /* parsed body, NULL if none or not JSON */
	const char *body;  /* raw body, NUL-terminated ("" if none) */
	size_t body_len;
	uint64_t elapsed_ms; /* from rest_request() to completion */
};
typedef void (*rest_done_fn)(void *arg, const struct rest_response *res);

enum rest_flags {
	REST_NO_AUTH = 1u << 0,     /* no Authorization header (webhooks) */
	REST_INTERACTION = 1u << 1, /* interaction callback: exempt from the
				       global limit, own route per interaction */
	REST_NO_RETRY = 1u << 2,    /* no 5xx/network retries */
};

/* Queues a request. method "GET"/"POST"/"PUT"/"PATCH"/"DELETE"; path starts
 * with '/' and is appended to api_base. Takes ownership of body (may be
 * NULL). done (may be NULL) is called exactly once on the loop thread, even
 * for errors. Returns BOT_OK, or BOT_ENOMEM/BOT_EINVAL (done not called).
 * BOT_EAUTH after a 401: every later request fails at once with BOT_EAUTH
 * (rest_auth_failed() tells the daemon to exit 3). */
enum bot_rc rest_request(struct rest *rest, const char *method, const char *path, cJSON *body,
			 unsigned flags, rest_done_fn done, void *arg);

/* True once Discord answered 401: the token is wrong. */
bool rest_auth_failed(const struct rest *rest);

/* ---- messages (all take ownership of msg; allowed_mentions and embed
 * limits are applied before sending) ---- */

/* A new message body {content, flags}; content may be NULL. flags 64 =
 * ephemeral. Returns a new object the caller owns, NULL on ENOMEM. */
cJSON *rest_msg_new(const char *content, int flags);

/* Posts msg (taken) to a channel. The post is made idempotent with
 * Discord's nonce + enforce_nonce: a retry after a lost answer (timeout,
 * 5xx from the edge) returns the message the first try created instead of
 * posting it twice. msg's own "nonce" is kept (rest_nonce_for), else a
 * random one is set. */
enum bot_rc rest_create_message(struct rest *rest, const char *channel_id, cJSON *msg,
				rest_done_fn done, void *arg);
/* A nonce (at most 25 characters, Discord's limit) derived from key, for a
 * post that must stay one message across restarts: the same key gives the
 * same nonce. out must hold REST_NONCE_SIZE bytes. */
#define REST_NONCE_SIZE 26
void rest_nonce_for(const char *key, char out[REST_NONCE_SIZE]);
/* Edits a channel message: the way to update an interaction's message after
 * its 15-minute token has expired. */
enum bot_rc rest_edit_message(struct rest *rest, const char *channel_id, const char *message_id,
			      cJSON *msg, rest_done_fn done, void *arg);

/* ---- messages with files ----
 *
 * Sent as multipart/form-data the way Discord documents uploads: the
 * message JSON in a part "payload_json", with an "attachments" array
 * [{"id": i, "filename": name}] set by the call (replacing any msg has; on
 * an edit, this replaces the message's attachments), and file i in a part
 * "files[i]" with its filename and Content-Type. An embed can show an
 * attached picture with "url": "attachment://chart.png". The files are
 * copied before the call returns, and every retry sends the same bytes. */

/* One file to attach. name: 1..REST_FILE_NAME_MAX characters of letters,
 * digits, '.', '-' and '_' (the name embeds refer to, so nothing Discord
 * would rewrite). content_type: printable ASCII ("image/png",
 * "text/csv; charset=utf-8"); NULL is "application/octet-stream". data:
 * len bytes (NULL when len is 0). All borrowed for the call only. */
struct rest_file {
	const char *name;
	const char *content_type;
	const void *data;
	size_t len;
};
#define REST_FILE_NAME_MAX 100
#define REST_FILES_MAX     10          /* Discord's limit per message */
#define REST_FILES_BYTES   (10u << 20) /* Discord's upload limit for bots, all files */

/* rest_create_message() with files: the same nonce + enforce_nonce, so a
 * retry after a lost answer does not post twice. Also BOT_EINVAL (msg
 * freed, done not called) for a bad name or content type, more than
 * REST_FILES_MAX files or more than REST_FILES_BYTES in all. */
enum bot_rc rest_create_message_files(struct rest *rest, const char *channel_id, cJSON *msg,
				      const struct rest_file *files, size_t n_files,
				      rest_done_fn done, void *arg);

/* ---- interactions ---- */

#define REST_FLAG_EPHEMERAL 64

enum rest_callback_type {
	REST_CB_PONG = 1,
	REST_CB_MESSAGE = 4,          /* reply now */
	REST_CB_DEFERRED_MESSAGE = 5, /* "thinking...", edit later */
	REST_CB_DEFERRED_UPDATE = 6,  /* component: ack, edit later */
	REST_CB_UPDATE_MESSAGE = 7,   /* component: edit the message now */
	REST_CB_AUTOCOMPLETE = 8,
};

/* POST /interactions/{id}/{token}/callback with {type, data}. data may be
 * NULL (type 5/6 without flags); takes ownership of data. */
enum bot_rc rest_interaction_callback(struct rest *rest, const char *interaction_id,
				      const char *interaction_token, enum rest_callback_type type,
				      cJSON *data, rest_done_fn done, void *arg);
/* PATCH /webhooks/{app}/{token}/messages/@original (valid 15 minutes). */
enum bot_rc rest_edit_original(struct rest *rest, const char *interaction_token, cJSON *msg,
			       rest_done_fn done, void *arg);
/* POST /webhooks/{app}/{token} (a followup message; valid 15 minutes). */
enum bot_rc rest_followup(struct rest *rest, const char *interaction_token, cJSON *msg,
			  rest_done_fn done, void *arg);
/* rest_followup() and rest_edit_original() with files (see "messages with
 * files" above; the same BOT_EINVAL cases). */
enum bot_rc rest_followup_files(struct rest *rest, const char *interaction_token, cJSON *msg,
				const struct rest_file *files, size_t n_files, rest_done_fn done,
				void *arg);
enum bot_rc rest_edit_original_files(struct rest *rest, const char *interaction_token, cJSON *msg,
				     const struct rest_file *files, size_t n_files,
				     rest_done_fn done, void *arg);
/* Autocomplete answer (type 8): at most 25 choices are sent, names and
 * values truncated to 100 characters. Strings are copied. */
enum bot_rc rest_autocomplete(struct rest *rest, const char *interaction_id,
			      const char *interaction_token, const char *const *choices,
			      size_t n_choices, rest_done_fn done, void *arg);

/* ---- pure parts (exposed for tests and for other modules) ---- */

/* Discord's embed limits. */
#define REST_EMBED_TITLE        256
#define REST_EMBED_DESCRIPTION  4096
#define REST_EMBED_FIELDS       25
#define REST_EMBED_FIELD_NAME   256
#define REST_EMBED_FIELD_VALUE  1024
#define REST_EMBED_FOOTER       2048
#define REST_EMBED_AUTHOR       256
#define REST_EMBED_TOTAL        6000
#define REST_EMBEDS_PER_MESSAGE 10
#define REST_CONTENT_MAX        2000

/* Clamps a message body in place: content ≤ 2000, ≤ 10 embeds, each field
 * within its limit and the embeds' total ≤ 6000 characters (Unicode code
 * points, truncated with "…"), defuses mention syntax in shown text
 * ("@everyone", "<@id>": a zero-width space after the '@'), and sets
 * allowed_mentions {parse: []}.
 * Returns the number of values changed (0 when already within limits). */
int rest_message_clamp(cJSON *msg);

/* The rate-limit route key of a request: method + path with the major
 * parameters (channel, guild, webhook id + token, interaction id + token)
 * kept literal and every other snowflake replaced by ":id"; reaction emoji
 * collapsed. E.g. "POST /channels/123/messages",
 * "PATCH /channels/123/messages/:id". Query strings are dropped. Writes a
 * NUL-terminated key into out (truncated to size). */
void rest_route_key(const char *method, const char *path, char *out, size_t size);

/* One rate-limit bucket as learnt from headers; pure, for tests. Sending
 * is accounted locally (remaining is decremented at send), so requests in
 * flight count against the window before Discord answers. */
struct rest_bucket_state {
	int limit;          /* -1 unknown */
	int remaining;      /* -1 unknown */
	uint64_t reset_ms;  /* monotonic time the window resets, 0 unknown */
	uint64_t window_ms; /* pre-emptive windows (seeded limits), else 0 */
	int in_flight;      /* requests sent, not yet answered */
};
/* rest_bucket_wait_ms() result: wait for a response in flight first. */
#define REST_WAIT_RESPONSE UINT64_MAX
/* Milliseconds to wait before sending one more request on this bucket at
 * now_ms (0 = send now). Unknown limits allow one request in flight. */
uint64_t rest_bucket_wait_ms(const struct rest_bucket_state *b, uint64_t now_ms);
/* Accounts one request sent at now_ms (call when wait is 0). */
void rest_bucket_take(struct rest_bucket_state *b, uint64_t now_ms);
/* Accounts one response received at now_ms with its X-RateLimit-Limit/
 * -Remaining/-Reset-After values (NULL when absent). */
void rest_bucket_update(struct rest_bucket_state *b, const char *limit, const char *remaining,
			const char *reset_after, uint64_t now_ms);

/* ---- counters for metrics ---- */
struct rest_stats {
	uint64_t requests; /* attempts sent */
	uint64_t responses_2xx, responses_4xx, responses_5xx;
	uint64_t ratelimited;        /* 429s received */
	uint64_t ratelimited_global; /* of which global */
	uint64_t retries, network_errors;
	uint64_t queued; /* waiting now for a bucket/global slot */
	uint64_t in_flight;
};
void rest_get_stats(const struct rest *rest, struct rest_stats *out);

/* Every request, when its turn comes, first asks fence (bot/core/fence.h;
 * borrowed, NULL: none): closed, it ends with BOT_ECANCELLED unsent. */
struct fence;
void rest_set_fence(struct rest *rest, const struct fence *fence);
/* Calls fn once per known route key with its counts (requests, 429s). */
void rest_each_route(const struct rest *rest,
		     void (*fn)(void *arg, const char *route, uint64_t requests,
				uint64_t ratelimited),
		     void *arg);

#endif
