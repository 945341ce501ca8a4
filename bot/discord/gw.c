/* Discord gateway client on its own thread. The thread owns the lws context,
 * the connection and every gateway timer (lws_sul): heartbeats, HELLO
 * timeout, reconnect backoff, delayed IDENTIFY. The loop thread only queues
 * payloads (gw_send, under a mutex, then lws_cancel_service()) and receives
 * dispatch events through loop_post(). Policy is data: close codes go through
 * gw_classify_close(), reconnect delays through gw_backoff_ms(). */
#include "gw.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/backoff.h"
#include "../core/buf.h"
#include "../core/fence.h"
#include "../core/log.h"
#include "../core/rand.h"
#include "../core/url.h"
#include "envbot_version.h"

#define MOD                    "gw"
#define GW_PAYLOAD_MAX         4096
#define GW_SEND_BUDGET         120 /* payloads per window */
#define GW_SEND_USER_BUDGET    110 /* the rest is kept for heartbeats, IDENTIFY, RESUME */
#define GW_SEND_WINDOW_US      (60 * LWS_US_PER_SEC)
#define GW_USER_QUEUE_MAX      64
#define GW_CTRL_QUEUE_MAX      8
#define GW_DEFAULT_FRAME_MAX   (8u << 20)
#define GW_SEEN_IDS            4096 /* interaction ids remembered against replays */
#define GW_HELLO_TIMEOUT_US    (15 * LWS_US_PER_SEC)
#define GW_CLOSE_TIMEOUT_US    (2 * LWS_US_PER_SEC)
#define GW_IDENTIFY_SPACING_US (5 * LWS_US_PER_SEC) /* 1 IDENTIFY per 5 s */

/* ---- policy ---- */

enum gw_close_action gw_classify_close(int code, const char **why)
{
	const char *w = "connection lost";
	enum gw_close_action a = GW_CLOSE_RESUME;
	switch (code) {
	case GW_CODE_NONE: w = "connection dropped without a close frame"; break;
	case GW_CODE_NORMAL: w = "normal closure"; break;
	case GW_CODE_GOING_AWAY: w = "going away"; break;
	case GW_CODE_UNKNOWN_ERROR: w = "unknown error"; break;
	case GW_CODE_UNKNOWN_OPCODE: w = "unknown opcode sent"; break;
	case GW_CODE_DECODE_ERROR: w = "decode error"; break;
	case GW_CODE_NOT_AUTHENTICATED: w = "not authenticated"; break;
	case GW_CODE_ALREADY_AUTHENTICATED: w = "already authenticated"; break;
	case GW_CODE_RATE_LIMITED: w = "rate limited"; break;
	case GW_CODE_INVALID_SEQ:
		w = "invalid sequence number on resume";
		a = GW_CLOSE_NEW_SESSION;
		break;
	case GW_CODE_SESSION_TIMED_OUT:
		w = "session timed out";
		a = GW_CLOSE_NEW_SESSION;
		break;
	case GW_CODE_AUTHENTICATION_FAILED:
		w = "authentication failed: the bot token is wrong";
		a = GW_CLOSE_FATAL;
		break;
	case GW_CODE_INVALID_SHARD:
		w = "invalid shard";
		a = GW_CLOSE_FATAL;
		break;
	case GW_CODE_SHARDING_REQUIRED:
		w = "sharding required";
		a = GW_CLOSE_FATAL;
		break;
	case GW_CODE_INVALID_API_VERSION:
		w = "invalid API version";
		a = GW_CLOSE_FATAL;
		break;
	case GW_CODE_INVALID_INTENTS:
		w = "invalid intents";
		a = GW_CLOSE_FATAL;
		break;
	case GW_CODE_DISALLOWED_INTENTS:
		w = "disallowed intents: enable them in the developer portal";
		a = GW_CLOSE_FATAL;
		break;
	default:
		w = code >= 4000 && code < 5000 ? "unknown gateway close code"
						: "connection closed";
		break;
	}
	if (why)
		*why = w;
	return a;
}

/* Reconnect delays: quick for the first failure (a resume is cheap), then
 * growing to a minute, up to 25% on top; never a tight loop. */
static const uint32_t backoff_table_ms[] = { 250, 1000, 2000, 5000, 10000, 30000, 60000 };
static const struct backoff reconnect_backoff = {
	.table_ms = backoff_table_ms,
	.count = BACKOFF_COUNT(backoff_table_ms),
	.jitter_pct = 25,
};

uint32_t gw_backoff_ms(unsigned attempt, double rnd)
{
	/* At most 75 s: fits. */
	return (uint32_t)backoff_ms(&reconnect_backoff, attempt, rnd);
}

/* ---- state ---- */

struct gw_msg {
	char *text;
	size_t len;
};

struct gw {
	struct loop *loop;
	const struct fence *fence; /* borrowed; NULL: always open */
	struct gw_callbacks cb;
	char *url; /* from /gateway/bot */
	char *token;
	int intents;
	bool compress;
	unsigned frame_max;
	struct gw_start_limit limit;
	uint64_t limit_reset_at_us; /* lws time when limit.remaining refills */

	pthread_t thread;
	bool started, joined;
	struct lws_context *ctx;
	struct lws *wsi;
	const lws_retry_bo_t *policy;

	/* shared with the loop thread, under lock */
	pthread_mutex_t lock;
	bool quit;
	struct gw_msg user_q[GW_USER_QUEUE_MAX];
	size_t user_head, user_len;
	struct gw_stats stats;

	/* gateway thread only */
	bool done;           /* leave the service loop */
	bool conn_live;      /* a connection attempt owns wsi */
	bool established;    /* upgraded */
	bool ready;          /* READY or RESUMED on this connection */
	bool closing;        /* our close is pending */
	int close_code;      /* code we close with */
	int peer_close_code; /* code the server closed with, 0 if none */
	enum gw_close_action local_action;
	bool have_local_action;
	unsigned attempt; /* consecutive failed connections */
	int hb_interval_ms;
	bool ack_pending;
	lws_usec_t hb_sent_us;
	int64_t seq; /* -1: none */
	char session_id[128];
	char resume_url[512];
	bool identify_due;
	lws_usec_t last_identify_us;
	lws_sorted_usec_list_t sul_hb, sul_reconnect, sul_identify, sul_hello, sul_close,
		sul_budget;
	struct gw_msg ctrl_q[GW_CTRL_QUEUE_MAX];
	size_t ctrl_len;
	lws_usec_t sent_at[GW_SEND_BUDGET]; /* ring of send times */
	size_t sent_head, sent_n;
	struct buf rx; /* the frame being reassembled, at most frame_max bytes */
	bool rx_discard;
	z_stream z;
	bool z_on;
	uint64_t seen[GW_SEEN_IDS];
	size_t seen_head;
};

#define STATS(gw, stmt)                            \
	do {                                       \
		pthread_mutex_lock(&(gw)->lock);   \
		stmt;                              \
		pthread_mutex_unlock(&(gw)->lock); \
	} while (0)

/* ---- hand-off to the loop thread ---- */

struct gw_event {
	struct gw_callbacks cb;
	char type[64];
	cJSON *d;
	int close_code;
	const char *why;
};

static void deliver_dispatch(void *arg)
{
	struct gw_event *ev = arg;
	if (ev->cb.on_dispatch)
		ev->cb.on_dispatch(ev->cb.arg, ev->type, ev->d);
	cJSON_Delete(ev->d);
	free(ev);
}

static void deliver_fatal(void *arg)
{
	struct gw_event *ev = arg;
	if (ev->cb.on_fatal)
		ev->cb.on_fatal(ev->cb.arg, ev->close_code, ev->why);
	free(ev);
}

/* Takes ownership of d. */
static void post_dispatch(struct gw *gw, const char *type, cJSON *d)
{
	struct gw_event *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		cJSON_Delete(d);
		return;
	}
	ev->cb = gw->cb;
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	ev->d = d;
	if (loop_post(gw->loop, deliver_dispatch, ev) != 0) {
		log_error(MOD, "msg=\"event dropped: out of memory\" type=%s", ev->type);
		cJSON_Delete(d);
		free(ev);
	}
}

static void post_fatal(struct gw *gw, int code, const char *why)
{
	struct gw_event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return;
	ev->cb = gw->cb;
	ev->close_code = code;
	ev->why = why;
	if (loop_post(gw->loop, deliver_fatal, ev) != 0)
		free(ev);
}

/* ---- sending (gateway thread) ---- */

static int send_budget_used(struct gw *gw, lws_usec_t now)
{
	while (gw->sent_n) {
		size_t oldest = (gw->sent_head + GW_SEND_BUDGET - gw->sent_n) % GW_SEND_BUDGET;
		if (now - gw->sent_at[oldest] < GW_SEND_WINDOW_US)
			break;
		gw->sent_n--;
	}
	return (int)gw->sent_n;
}

static bool user_pending(struct gw *gw)
{
	pthread_mutex_lock(&gw->lock);
	bool pending = gw->user_len > 0;
	pthread_mutex_unlock(&gw->lock);
	return pending;
}

static bool quitting(struct gw *gw)
{
	pthread_mutex_lock(&gw->lock);
	bool quit = gw->quit;
	pthread_mutex_unlock(&gw->lock);
	return quit;
}

static void request_write(struct gw *gw)
{
	if (gw->wsi && gw->established)
		lws_callback_on_writable(gw->wsi);
}

/* Takes ownership of text (built with cJSON_PrintUnformatted). */
static void ctrl_push(struct gw *gw, char *text)
{
	if (!text)
		return;
	if (gw->ctrl_len >= GW_CTRL_QUEUE_MAX) {
		log_warn(MOD, "msg=\"control queue full; payload dropped\"");
		free(text);
		return;
	}
	gw->ctrl_q[gw->ctrl_len++] = (struct gw_msg){ text, strlen(text) };
	request_write(gw);
}

static void ctrl_clear(struct gw *gw)
{
	for (size_t i = 0; i < gw->ctrl_len; i++)
		free(gw->ctrl_q[i].text);
	gw->ctrl_len = 0;
}

static void budget_fire(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_budget);
	request_write(gw);
}

/* One lws_write per WRITEABLE callback: control first, then user payloads
 * once READY and within the budget. Returns -1 to close. */
static int on_writeable(struct gw *gw, struct lws *wsi)
{
	if (!fence_ok(gw->fence)) {
		log_warn(MOD, "msg=\"not sent: this replica is not the active one; dropping the "
			      "connection\"");
		return -1;
	}
	if (gw->closing) {
		const char *reason = "envbot";
		lws_close_reason(wsi, (enum lws_close_status)gw->close_code,
				 (unsigned char *)(uintptr_t)reason, strlen(reason));
		return -1;
	}
	lws_usec_t now = lws_now_usecs();
	struct gw_msg m = { 0 };
	int used = send_budget_used(gw, now);
	if (gw->ctrl_len && used < GW_SEND_BUDGET) {
		m = gw->ctrl_q[0];
		memmove(gw->ctrl_q, gw->ctrl_q + 1, (gw->ctrl_len - 1) * sizeof(gw->ctrl_q[0]));
		gw->ctrl_len--;
	} else if (gw->ready && used < GW_SEND_USER_BUDGET) {
		pthread_mutex_lock(&gw->lock);
		if (gw->user_len) {
			m = gw->user_q[gw->user_head];
			gw->user_head = (gw->user_head + 1) % GW_USER_QUEUE_MAX;
			gw->user_len--;
		}
		pthread_mutex_unlock(&gw->lock);
	}
	if (!m.text) {
		bool waiting = gw->ctrl_len || (gw->ready && user_pending(gw));
		if (waiting && gw->sent_n) {
			/* Over budget: try again when the oldest send leaves the
			 * window. */
			size_t oldest =
				(gw->sent_head + GW_SEND_BUDGET - gw->sent_n) % GW_SEND_BUDGET;
			lws_usec_t at = gw->sent_at[oldest] + GW_SEND_WINDOW_US - now;
			lws_sul_schedule(gw->ctx, 0, &gw->sul_budget, budget_fire, at > 0 ? at : 1);
		}
		return 0;
	}
	unsigned char *buf = malloc(LWS_PRE + m.len);
	int rc = 0;
	if (!buf) {
		free(m.text);
		return 0;
	}
	memcpy(buf + LWS_PRE, m.text, m.len);
	if (lws_write(wsi, buf + LWS_PRE, m.len, LWS_WRITE_TEXT) < (int)m.len) {
		log_warn(MOD, "msg=\"write failed; reconnecting\"");
		rc = -1;
	} else {
		gw->sent_at[gw->sent_head] = now;
		gw->sent_head = (gw->sent_head + 1) % GW_SEND_BUDGET;
		if (gw->sent_n < GW_SEND_BUDGET)
			gw->sent_n++;
		STATS(gw, gw->stats.sent_payloads++);
	}
	free(buf);
	free(m.text);
	if (gw->ctrl_len || (gw->ready && user_pending(gw)))
		lws_callback_on_writable(wsi);
	return rc;
}

/* Starts our own close with code (non-1000 keeps the session resumable),
 * then reconnect with action. */
static void close_with(struct gw *gw, enum gw_close_code code, enum gw_close_action action)
{
	if (!gw->wsi || gw->closing)
		return;
	gw->closing = true;
	gw->close_code = (int)code;
	gw->local_action = action;
	gw->have_local_action = true;
	if (gw->established) {
		lws_callback_on_writable(gw->wsi);
		/* A dead peer may never make us writeable: hang up anyway. */
		lws_set_timeout(gw->wsi, PENDING_TIMEOUT_USER_OK, 3);
	} else {
		lws_set_timeout(gw->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
}

/* ---- payloads ---- */

static char *payload(enum gw_op op, cJSON *d)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	if (!o || !cJSON_AddNumberToObject(o, "op", op)) {
		cJSON_Delete(d);
		goto out;
	}
	if (d)
		cJSON_AddItemToObject(o, "d", d);
	else
		cJSON_AddNullToObject(o, "d");
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}

static void send_heartbeat(struct gw *gw)
{
	cJSON *d = gw->seq >= 0 ? cJSON_CreateNumber((double)gw->seq) : NULL;
	ctrl_push(gw, payload(GW_OP_HEARTBEAT, d));
	gw->hb_sent_us = lws_now_usecs();
	STATS(gw, gw->stats.heartbeats_sent++);
}

static void hb_fire(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_hb);
	if (!gw->established || gw->closing)
		return;
	if (gw->ack_pending) {
		/* No op 11 since the last heartbeat: the connection is a zombie.
		 * Close with a non-1000 code so the session can be resumed. */
		log_warn(MOD, "msg=\"heartbeat not acknowledged; reconnecting\"");
		STATS(gw, gw->stats.zombies++);
		close_with(gw, GW_CODE_UNKNOWN_ERROR, GW_CLOSE_RESUME);
		return;
	}
	gw->ack_pending = true;
	send_heartbeat(gw);
	lws_sul_schedule(gw->ctx, 0, &gw->sul_hb, hb_fire,
			 (lws_usec_t)gw->hb_interval_ms * LWS_US_PER_MS);
}

static void send_identify(struct gw *gw)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *props = d ? cJSON_AddObjectToObject(d, "properties") : NULL;
	if (!props || !cJSON_AddStringToObject(d, "token", gw->token) ||
	    !cJSON_AddNumberToObject(d, "intents", gw->intents) ||
	    !cJSON_AddStringToObject(props, "os", "linux") ||
	    !cJSON_AddStringToObject(props, "browser", "envbot") ||
	    !cJSON_AddStringToObject(props, "device", "envbot")) {
		cJSON_Delete(d);
		return;
	}
	gw->last_identify_us = lws_now_usecs();
	if (gw->limit.remaining > 0)
		gw->limit.remaining--;
	ctrl_push(gw, payload(GW_OP_IDENTIFY, d));
	STATS(gw, gw->stats.identifies++);
	log_info(MOD, "msg=\"identifying\"");
}

static void identify_fire(lws_sorted_usec_list_t *sul);

/* IDENTIFY now, or later if the session start limit or the 5 s spacing
 * says so. */
static void identify_when_allowed(struct gw *gw)
{
	lws_usec_t now = lws_now_usecs();
	lws_usec_t wait = 0;
	if (gw->limit.total > 0 && gw->limit.remaining <= 0) {
		if (now < (lws_usec_t)gw->limit_reset_at_us) {
			wait = (lws_usec_t)gw->limit_reset_at_us - now;
			log_warn(MOD, "msg=\"session start limit reached; waiting\" wait_s=%lld",
				 (long long)(wait / LWS_US_PER_SEC));
		} else {
			gw->limit.remaining = gw->limit.total;
		}
	}
	if (gw->last_identify_us && now - gw->last_identify_us < GW_IDENTIFY_SPACING_US) {
		lws_usec_t w = GW_IDENTIFY_SPACING_US - (now - gw->last_identify_us);
		if (w > wait)
			wait = w;
	}
	if (wait > 0) {
		gw->identify_due = true;
		lws_sul_schedule(gw->ctx, 0, &gw->sul_identify, identify_fire, wait);
		return;
	}
	gw->identify_due = false;
	send_identify(gw);
}

static void identify_fire(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_identify);
	if (gw->established && !gw->closing && gw->hb_interval_ms)
		identify_when_allowed(gw);
}

static void send_resume(struct gw *gw)
{
	cJSON *d = cJSON_CreateObject();
	if (!d || !cJSON_AddStringToObject(d, "token", gw->token) ||
	    !cJSON_AddStringToObject(d, "session_id", gw->session_id) ||
	    !cJSON_AddNumberToObject(d, "seq", (double)gw->seq)) {
		cJSON_Delete(d);
		return;
	}
	ctrl_push(gw, payload(GW_OP_RESUME, d));
	STATS(gw, gw->stats.resumes++);
	log_info(MOD, "msg=\"resuming\" seq=%lld", (long long)gw->seq);
}

static void forget_session(struct gw *gw)
{
	gw->session_id[0] = '\0';
	gw->resume_url[0] = '\0';
	gw->seq = -1;
}

static bool seen_before(struct gw *gw, uint64_t id)
{
	for (size_t i = 0; i < GW_SEEN_IDS; i++)
		if (gw->seen[i] == id)
			return true;
	gw->seen[gw->seen_head] = id;
	gw->seen_head = (gw->seen_head + 1) % GW_SEEN_IDS;
	return false;
}

static void on_dispatch(struct gw *gw, cJSON *msg)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "t");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(msg, "s");
	cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "d");
	if (cJSON_IsNumber(s) && s->valuedouble > (double)gw->seq && s->valuedouble < 9e15)
		gw->seq = (int64_t)s->valuedouble;
	if (!cJSON_IsString(t) || !t->valuestring)
		return;
	const char *type = t->valuestring;
	if (strcmp(type, "READY") == 0) {
		const cJSON *sid = cJSON_GetObjectItemCaseSensitive(d, "session_id");
		const cJSON *rurl = cJSON_GetObjectItemCaseSensitive(d, "resume_gateway_url");
		if (cJSON_IsString(sid) && strlen(sid->valuestring) < sizeof(gw->session_id))
			snprintf(gw->session_id, sizeof(gw->session_id), "%s", sid->valuestring);
		gw->resume_url[0] = '\0';
		/* The resume URL comes over the network: the same policy as the
		 * gateway URL, and plain ws:// only when we were given one. */
		if (cJSON_IsString(rurl) && strlen(rurl->valuestring) < sizeof(gw->resume_url) &&
		    url_allowed(rurl->valuestring, URL_WS) &&
		    (strncmp(rurl->valuestring, "wss://", 6) == 0 ||
		     (strncmp(rurl->valuestring, "ws://", 5) == 0 &&
		      strncmp(gw->url, "ws://", 5) == 0)))
			snprintf(gw->resume_url, sizeof(gw->resume_url), "%s", rurl->valuestring);
		gw->ready = true;
		gw->attempt = 0;
		STATS(gw, gw->stats.connected = true);
		log_info(MOD, "msg=\"ready\"");
	} else if (strcmp(type, "RESUMED") == 0) {
		gw->ready = true;
		gw->attempt = 0;
		STATS(gw, gw->stats.connected = true);
		log_info(MOD, "msg=\"resumed\" seq=%lld", (long long)gw->seq);
	} else if (strcmp(type, "INTERACTION_CREATE") == 0) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
		uint64_t v = cJSON_IsString(id) ? strtoull(id->valuestring, NULL, 10) : 0;
		if (v && seen_before(gw, v)) {
			log_info(MOD, "msg=\"replayed interaction ignored\" id=%llu",
				 (unsigned long long)v);
			STATS(gw, gw->stats.duplicates_dropped++);
			return;
		}
	}
	if (gw->ready)
		request_write(gw); /* user payloads may wait for READY */
	STATS(gw, gw->stats.dispatches++);
	cJSON *mine = d ? cJSON_DetachItemViaPointer(msg, d) : NULL;
	if (strcmp(type, "READY") == 0) {
		/* READY can be large (guild lists): hand over the bot's own
		 * identity and session only. */
		cJSON_DeleteItemFromObjectCaseSensitive(mine, "guilds");
		cJSON_DeleteItemFromObjectCaseSensitive(mine, "private_channels");
		cJSON_DeleteItemFromObjectCaseSensitive(mine, "presences");
	}
	post_dispatch(gw, type, mine);
}

static void hello_timeout(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_hello);
	log_warn(MOD, "msg=\"no HELLO from the gateway; reconnecting\"");
	close_with(gw, GW_CODE_UNKNOWN_ERROR, GW_CLOSE_RESUME);
}

static void on_message(struct gw *gw, const char *text, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(text, len);
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(msg, "op");
	if (!cJSON_IsNumber(op)) {
		log_warn(MOD, "msg=\"malformed gateway payload dropped\" bytes=%zu", len);
		STATS(gw, gw->stats.frames_dropped++);
		goto out;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "d");
	switch (op->valueint) {
	case GW_OP_DISPATCH: on_dispatch(gw, msg); break;
	case GW_OP_HEARTBEAT: /* the server asks for one now */ send_heartbeat(gw); break;
	case GW_OP_RECONNECT:
		log_info(MOD, "msg=\"gateway asked to reconnect (op 7)\"");
		close_with(gw, GW_CODE_UNKNOWN_ERROR, GW_CLOSE_RESUME);
		break;
	case GW_OP_INVALID_SESSION:
		if (cJSON_IsTrue(d) && gw->session_id[0]) {
			log_info(MOD, "msg=\"invalid session (resumable)\"");
			close_with(gw, GW_CODE_UNKNOWN_ERROR, GW_CLOSE_RESUME);
		} else {
			/* Discord asks for 1-5 s before a fresh IDENTIFY. */
			log_info(MOD, "msg=\"invalid session; identifying anew\"");
			forget_session(gw);
			gw->ready = false;
			lws_usec_t wait = (lws_usec_t)((1.0 + 4.0 * rand_unit()) * LWS_US_PER_SEC);
			if (gw->last_identify_us &&
			    lws_now_usecs() + wait - gw->last_identify_us < GW_IDENTIFY_SPACING_US)
				wait = GW_IDENTIFY_SPACING_US -
				       (lws_now_usecs() - gw->last_identify_us);
			gw->identify_due = true;
			lws_sul_schedule(gw->ctx, 0, &gw->sul_identify, identify_fire, wait);
		}
		break;
	case GW_OP_HELLO: {
		const cJSON *hi = cJSON_GetObjectItemCaseSensitive(d, "heartbeat_interval");
		if (!cJSON_IsNumber(hi) || hi->valuedouble < 100 || hi->valuedouble > 600000) {
			log_warn(MOD, "msg=\"HELLO without a usable heartbeat_interval\"");
			STATS(gw, gw->stats.frames_dropped++);
			break;
		}
		lws_sul_cancel(&gw->sul_hello);
		gw->hb_interval_ms = (int)hi->valuedouble;
		gw->ack_pending = false;
		/* First heartbeat after interval * jitter, so that a fleet of
		 * reconnecting clients does not beat in step. */
		lws_usec_t first =
			(lws_usec_t)((double)gw->hb_interval_ms * rand_unit() * LWS_US_PER_MS);
		lws_sul_schedule(gw->ctx, 0, &gw->sul_hb, hb_fire, first > 0 ? first : 1);
		if (gw->session_id[0] && gw->seq >= 0)
			send_resume(gw);
		else
			identify_when_allowed(gw);
		break;
	}
	case GW_OP_HEARTBEAT_ACK: {
		gw->ack_pending = false;
		int64_t rtt = (int64_t)((lws_now_usecs() - gw->hb_sent_us) / LWS_US_PER_MS);
		STATS(gw, gw->stats.heartbeat_acks++; gw->stats.latency_ms = rtt);
		break;
	}
	default: log_debug(MOD, "msg=\"unhandled opcode\" op=%d", op->valueint); break;
	}
out:
	cJSON_Delete(msg);
}

/* zlib-stream: one inflate context per connection; a message is complete
 * when the buffer ends with the Z_SYNC_FLUSH marker 00 00 ff ff. */
static void on_compressed(struct gw *gw, const unsigned char *in, size_t len)
{
	if (len < 4 || memcmp(in + len - 4, "\x00\x00\xff\xff", 4) != 0) {
		log_warn(MOD, "msg=\"compressed frame without flush marker dropped\"");
		STATS(gw, gw->stats.frames_dropped++);
		return;
	}
	/* The whole message: content + NUL below frame_max, or it is dropped
	 * (the buffer's max). */
	struct buf out = { .max = gw->frame_max };
	unsigned char chunk[16384];
	bool discard = false;
	gw->z.next_in = (Bytef *)(uintptr_t)in;
	gw->z.avail_in = (uInt)len;
	for (;;) {
		/* Once the message is too big to keep, the rest is still
		 * inflated (into chunk) and thrown away: the shared stream stays
		 * in step, so there is no reconnect, and no resume that would
		 * replay the same message forever. */
		gw->z.next_out = chunk;
		gw->z.avail_out = (uInt)sizeof(chunk);
		int zr = inflate(&gw->z, Z_SYNC_FLUSH);
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			log_warn(MOD, "msg=\"inflate failed; reconnecting\" zerr=%d", zr);
			STATS(gw, gw->stats.frames_dropped++);
			close_with(gw, GW_CODE_UNKNOWN_ERROR, GW_CLOSE_RESUME);
			goto out;
		}
		if (!discard) {
			buf_add(&out, chunk, sizeof(chunk) - gw->z.avail_out);
			if (out.oom)
				goto out;
			discard = out.full;
		}
		if (gw->z.avail_in == 0 && gw->z.avail_out > 0)
			break;
	}
	if (discard) {
		log_warn(MOD, "msg=\"inflated payload too large; dropped\" limit=%u",
			 gw->frame_max);
		STATS(gw, gw->stats.frames_dropped++);
		goto out;
	}
	on_message(gw, out.p ? out.p : "", out.len);
out:
	buf_free(&out);
}

static void on_receive(struct gw *gw, struct lws *wsi, const void *in, size_t len)
{
	if (!gw->rx_discard) {
		/* Checked here rather than with rx.max: the log line and the
		 * counter belong to the limit, not to an allocation failure. */
		if (gw->rx.len + len > gw->frame_max) {
			log_warn(MOD, "msg=\"oversized gateway message dropped\" limit=%u",
				 gw->frame_max);
			STATS(gw, gw->stats.frames_dropped++);
			gw->rx_discard = true;
		} else {
			buf_add(&gw->rx, in, len);
			if (gw->rx.oom)
				gw->rx_discard = true;
		}
	}
	if (!lws_is_final_fragment(wsi))
		return;
	if (!gw->rx_discard && gw->rx.len) {
		if (gw->compress)
			on_compressed(gw, (const unsigned char *)gw->rx.p, gw->rx.len);
		else
			on_message(gw, gw->rx.p, gw->rx.len);
	}
	/* Freed after every message: no READY-sized buffer kept while idle. */
	buf_free(&gw->rx);
	gw->rx_discard = false;
}

/* ---- connection lifecycle (gateway thread) ---- */

static void connect_fire(lws_sorted_usec_list_t *sul);

static void schedule_reconnect(struct gw *gw, uint32_t delay_ms)
{
	lws_sul_schedule(gw->ctx, 0, &gw->sul_reconnect, connect_fire,
			 (lws_usec_t)delay_ms * LWS_US_PER_MS);
}

/* The one place a connection ends: classify, then resume, start anew or
 * stop. Called once per attempt, from whichever failure callback came. */
static void on_disconnect(struct gw *gw, const char *what)
{
	if (!gw->conn_live)
		return;
	gw->conn_live = false;
	gw->wsi = NULL;
	bool was_ready = gw->ready;
	gw->established = gw->ready = gw->closing = false;
	lws_sul_cancel(&gw->sul_hb);
	lws_sul_cancel(&gw->sul_hello);
	lws_sul_cancel(&gw->sul_identify);
	lws_sul_cancel(&gw->sul_budget);
	ctrl_clear(gw);
	if (gw->z_on) {
		inflateEnd(&gw->z);
		gw->z_on = false;
	}
	buf_free(&gw->rx);
	gw->rx_discard = false;
	int code = gw->peer_close_code;
	gw->peer_close_code = 0;
	STATS(gw, gw->stats.connected = false; gw->stats.last_close_code = (uint64_t)code);
	if (quitting(gw) || gw->done) {
		gw->done = true;
		return;
	}
	const char *why;
	enum gw_close_action action = gw_classify_close(code, &why);
	if (gw->have_local_action) {
		action = gw->local_action;
		why = "closed by us";
		gw->have_local_action = false;
	}
	if (action == GW_CLOSE_FATAL) {
		log_error(MOD, "msg=\"gateway closed for good\" code=%d why=\"%s\"", code, why);
		post_fatal(gw, code, why);
		gw->done = true;
		return;
	}
	if (action == GW_CLOSE_NEW_SESSION)
		forget_session(gw);
	uint32_t delay = gw_backoff_ms(gw->attempt, rand_unit());
	if (gw->attempt < 64)
		gw->attempt++;
	log_warn(MOD,
		 "msg=\"gateway disconnected\" what=\"%s\" code=%d why=\"%s\" was_ready=%s "
		 "resume=%s retry_ms=%u",
		 what, code, why, was_ready ? "true" : "false",
		 gw->session_id[0] ? "true" : "false", delay);
	STATS(gw, gw->stats.reconnects++);
	schedule_reconnect(gw, delay);
}

static const lws_retry_bo_t no_lws_pings = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

static void do_connect(struct gw *gw)
{
	char url[700], path[800];
	const char *base = gw->session_id[0] && gw->resume_url[0] ? gw->resume_url : gw->url;
	/* lws_parse_uri() takes a query after a bare host for part of the
	 * host: give a bare host ("wss://gateway.discord.gg") the path "/". */
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	const char *scheme_end = strstr(base, "://");
	bool has_path =
		scheme_end && memchr(scheme_end + 3, '/', bl - (size_t)(scheme_end + 3 - base));
	snprintf(url, sizeof(url), "%.*s%s?v=10&encoding=json%s", (int)bl, base,
		 has_path ? "" : "/", gw->compress ? "&compress=zlib-stream" : "");
	const char *prot = NULL, *addr = NULL, *p = NULL;
	int port = 0;
	if (lws_parse_uri(url, &prot, &addr, &port, &p)) {
		log_error(MOD, "msg=\"bad gateway URL\"");
		post_fatal(gw, GW_CODE_NONE, "bad gateway URL");
		gw->done = true;
		return;
	}
	bool tls = strcmp(prot, "wss") == 0;
	if (!tls && strcmp(prot, "ws") != 0) {
		post_fatal(gw, GW_CODE_NONE, "gateway URL is not ws:// or wss://");
		gw->done = true;
		return;
	}
	/* lws_parse_uri splits the URL its own way: judge again the host it
	 * will really connect to, so no parser difference lets plain text out. */
	if (!tls && !url_host_is_loopback(addr)) {
		post_fatal(gw, GW_CODE_NONE, "plain ws:// gateway URL to a non-loopback host");
		gw->done = true;
		return;
	}
	if (tls && port == 80)
		port = 443;
	snprintf(path, sizeof(path), "/%s", p);

	if (!fence_ok(gw->fence)) {
		on_disconnect(gw, "not the active replica");
		return;
	}
	struct lws_client_connect_info i = { 0 };
	i.context = gw->ctx;
	i.address = addr;
	i.host = addr;
	i.port = port;
	i.path = path;
	i.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
	i.local_protocol_name = "discord-gateway";
	i.pwsi = &gw->wsi;
	i.retry_and_idle_policy = &no_lws_pings;
	i.opaque_user_data = gw;
	gw->conn_live = true;
	gw->established = gw->ready = gw->closing = false;
	gw->peer_close_code = 0;
	gw->have_local_action = false;
	STATS(gw, gw->stats.connects++);
	log_info(MOD, "msg=\"connecting\" host=%s resume=%s", addr,
		 gw->session_id[0] ? "true" : "false");
	if (!lws_client_connect_via_info(&i)) {
		/* lws calls nothing else in this case: retry ourselves. */
		gw->wsi = NULL;
		on_disconnect(gw, "connect failed");
	}
}

static void connect_fire(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_reconnect);
	if (!quitting(gw) && !gw->done)
		do_connect(gw);
}

static void close_timeout(lws_sorted_usec_list_t *sul)
{
	struct gw *gw = lws_container_of(sul, struct gw, sul_close);
	gw->done = true;
}

/* The loop thread asked us to quit: close 1000 if connected, else leave. */
static void begin_quit(struct gw *gw)
{
	if (gw->wsi && gw->established && !gw->closing) {
		gw->closing = true;
		gw->close_code = GW_CODE_NORMAL;
		lws_callback_on_writable(gw->wsi);
		lws_sul_schedule(gw->ctx, 0, &gw->sul_close, close_timeout, GW_CLOSE_TIMEOUT_US);
	} else if (!gw->closing) {
		gw->done = true;
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct gw *gw = lws_context_user(lws_get_context(wsi));
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		/* Sent to every protocol, merged and sometimes spurious: just
		 * look at the shared state. Always return 0. */
		pthread_mutex_lock(&gw->lock);
		bool quit = gw->quit;
		bool pending = gw->user_len > 0;
		pthread_mutex_unlock(&gw->lock);
		if (quit)
			begin_quit(gw);
		else if (pending && gw->ready)
			request_write(gw);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		char ua[160];
		snprintf(ua, sizeof(ua), "DiscordBot (%s, %s)", ENVBOT_URL, ENVBOT_VERSION);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
						 (unsigned char *)ua, (int)strlen(ua), p, end))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		/* One connection at a time: events while conn_live are ours. */
		if (!gw->conn_live)
			return -1;
		gw->wsi = wsi;
		gw->established = true;
		gw->hb_interval_ms = 0;
		if (gw->compress) {
			memset(&gw->z, 0, sizeof(gw->z));
			gw->z_on = inflateInit(&gw->z) == Z_OK;
		}
		lws_sul_schedule(gw->ctx, 0, &gw->sul_hello, hello_timeout, GW_HELLO_TIMEOUT_US);
		if (quitting(gw))
			begin_quit(gw);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (gw->conn_live)
			on_receive(gw, wsi, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!gw->conn_live)
			return -1;
		return on_writeable(gw, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (gw->conn_live && len >= 2) {
			const unsigned char *b = in;
			gw->peer_close_code = (b[0] << 8) | b[1];
			log_info(MOD, "msg=\"gateway sent close\" code=%d reason=\"%.*s\"",
				 gw->peer_close_code, (int)(len > 120 ? 118 : len - 2),
				 (const char *)in + 2);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_warn(MOD, "msg=\"gateway connection failed\" error=\"%.*s\"",
			 in ? (int)(len < 200 ? len : 200) : 0, in ? (const char *)in : "");
		on_disconnect(gw, "connection error");
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP: on_disconnect(gw, "closed"); return 0;
	default: break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "discord-gateway", callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *thread_main(void *arg)
{
	struct gw *gw = arg;
	do_connect(gw);
	while (!gw->done) {
		if (lws_service(gw->ctx, 0) < 0)
			break;
	}
	return NULL;
}

/* ---- public API (loop thread) ---- */

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("lws", "msg=\"%.*s\"", (int)n, line);
	else
		log_debug("lws", "msg=\"%.*s\"", (int)n, line);
}

struct gw *gw_create(struct loop *loop, const struct gw_options *opt, const struct gw_callbacks *cb)
{
	if (!opt || !opt->url || !opt->token || !url_allowed(opt->url, URL_WS)) {
		log_error(MOD, "msg=\"gateway URL must be wss:// (ws:// only to loopback)\"");
		return NULL;
	}
	struct gw *gw = calloc(1, sizeof(*gw));
	if (!gw)
		return NULL;
	gw->loop = loop;
	if (cb)
		gw->cb = *cb;
	gw->url = strdup(opt->url);
	gw->token = strdup(opt->token);
	if (!gw->url || !gw->token) {
		free(gw->url);
		free(gw->token);
		free(gw);
		return NULL;
	}
	gw->intents = opt->intents;
	gw->compress = opt->compress;
	gw->frame_max = opt->max_frame_bytes ? opt->max_frame_bytes : GW_DEFAULT_FRAME_MAX;
	gw->limit = opt->limit;
	gw->fence = opt->fence;
	gw->seq = -1;
	gw->stats.latency_ms = -1;
	pthread_mutex_init(&gw->lock, NULL);
	return gw;
}

enum bot_rc gw_start(struct gw *gw)
{
	if (!gw || gw->started)
		return BOT_EINVAL;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	struct lws_context_creation_info info = { 0 };
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.gid = -1;
	info.uid = -1;
	info.user = gw;
	info.fd_limit_per_thread = 16; /* one connection: keep the tables small */
	info.max_http_header_data = 8192;
	info.timeout_secs = 15;
	info.connect_timeout_secs = 10;
	info.retry_and_idle_policy = &no_lws_pings;
	gw->ctx = lws_create_context(&info);
	if (!gw->ctx) {
		log_error(MOD, "msg=\"libwebsockets context creation failed\"");
		return BOT_ENOMEM;
	}
	if (gw->limit.total > 0)
		gw->limit_reset_at_us =
			(uint64_t)lws_now_usecs() + (uint64_t)gw->limit.reset_after_ms * 1000u;
	if (pthread_create(&gw->thread, NULL, thread_main, gw) != 0) {
		lws_context_destroy(gw->ctx);
		gw->ctx = NULL;
		return BOT_ENOMEM;
	}
	gw->started = true;
	return BOT_OK;
}

void gw_stop(struct gw *gw)
{
	if (!gw || !gw->started || gw->joined)
		return;
	pthread_mutex_lock(&gw->lock);
	gw->quit = true;
	pthread_mutex_unlock(&gw->lock);
	lws_cancel_service(gw->ctx);
	pthread_join(gw->thread, NULL);
	gw->joined = true;
	/* No other thread can call lws_cancel_service() now. */
	lws_context_destroy(gw->ctx);
	gw->ctx = NULL;
}

void gw_destroy(struct gw *gw)
{
	if (!gw)
		return;
	gw_stop(gw);
	if (gw->ctx)
		lws_context_destroy(gw->ctx);
	ctrl_clear(gw);
	for (size_t i = 0; i < gw->user_len; i++)
		free(gw->user_q[(gw->user_head + i) % GW_USER_QUEUE_MAX].text);
	if (gw->z_on)
		inflateEnd(&gw->z);
	buf_free(&gw->rx);
	free(gw->url);
	free(gw->token);
	pthread_mutex_destroy(&gw->lock);
	free(gw);
}

enum bot_rc gw_send(struct gw *gw, cJSON *p)
{
	enum bot_rc rc = BOT_EINVAL;
	char *text = NULL;
	if (!gw || !p)
		goto out;
	rc = BOT_ENOMEM;
	text = cJSON_PrintUnformatted(p);
	if (!text)
		goto out;
	rc = BOT_EINVAL;
	if (strlen(text) > GW_PAYLOAD_MAX)
		goto out;
	rc = BOT_EBUSY;
	pthread_mutex_lock(&gw->lock);
	bool alive = gw->started && !gw->joined && !gw->quit;
	if (alive && gw->user_len < GW_USER_QUEUE_MAX) {
		size_t at = (gw->user_head + gw->user_len) % GW_USER_QUEUE_MAX;
		gw->user_q[at] = (struct gw_msg){ text, strlen(text) };
		gw->user_len++;
		text = NULL;
		rc = BOT_OK;
	}
	pthread_mutex_unlock(&gw->lock);
	if (rc == BOT_OK)
		lws_cancel_service(gw->ctx);
out:
	free(text);
	cJSON_Delete(p);
	return rc;
}

void gw_get_stats(struct gw *gw, struct gw_stats *out)
{
	pthread_mutex_lock(&gw->lock);
	*out = gw->stats;
	pthread_mutex_unlock(&gw->lock);
}
