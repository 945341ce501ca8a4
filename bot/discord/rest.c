/* Discord REST client: requests are queued per rate-limit bucket and sent
 * through the loop's curl multi handle as soon as the bucket, the global
 * budget (50/s) and any 429 wait allow. One pump walks the buckets that have
 * queued requests and arms a single timer for the earliest one that must
 * wait, so nothing ever sleeps on the loop. See rest.h for the contract.
 * A body is JSON, or multipart/form-data (curl's mime API) when files go
 * with it. Route keys and bucket arithmetic are in rest_route.c, message
 * bodies and the message endpoints in rest_msg.c. */
#include "rest_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/backoff.h"
#include "../core/buf.h"
#include "../core/fence.h"
#include "../core/log.h"
#include "../core/rand.h"
#include "../core/url.h"
#include "envbot_version.h"

#define MOD                   "rest"
#define REST_BODY_MAX         (8u << 20) /* responses larger than this are dropped */
#define REST_KEY_MAX          512
#define REST_TABLE_SIZE       256
#define REST_GLOBAL_PER_S     50
#define REST_GLOBAL_WINDOW_MS 1000u
#define REST_MAX_429_RETRIES  8
#define REST_4XX_STREAK_MAX   5 /* then the route cools off */
#define REST_4XX_COOLOFF_MS   60000u
#define REST_HASH_MAP_MAX     1024
#define REST_STATS_MAX        128
#define REST_SWEEP_EVERY_MS   10000u

struct rest_req;

struct bucket {
	char *key;
	struct rest_bucket_state st;
	struct rest_req *q_head, *q_tail; /* waiting to be sent */
	bool pending;                     /* on rest->pending */
	struct bucket *pending_next;
	int refs; /* requests that point here (queued, in flight, retrying) */
	int streak_4xx;
	uint64_t cool_until_ms;
	struct bucket *next; /* hash chain */
};

struct route_hash {
	char *route;
	char *hash;
	struct route_hash *next;
};

struct route_stat {
	char key[128];
	uint64_t requests, ratelimited;
};

/* A file of a multipart request: the request's own copy, from which every
 * attempt builds its parts. */
struct req_file {
	char *name, *type;
	void *data;
	size_t len;
};

struct rest_req {
	struct rest *rest;
	char method[8];
	char route[REST_KEY_MAX];
	char logroute[REST_KEY_MAX]; /* route with the interaction token hidden */
	char *url;
	char *body;     /* serialised JSON, or NULL */
	bool multipart; /* body as "payload_json" beside files[] */
	struct req_file *files;
	size_t n_files;
	unsigned flags;
	rest_done_fn done;
	void *arg;
	struct bucket *bucket;
	unsigned attempts, retries_429;
	uint64_t start_ms;
	CURL *easy;
	struct curl_slist *headers;
	curl_mime *mime; /* this attempt's multipart body, freed with easy */
	/* The response body of this attempt; full when it passed REST_BODY_MAX
	 * (the rest was read and dropped). */
	struct buf resp;
	char h_bucket[64], h_limit[16], h_remaining[16], h_reset_after[24];
	char h_retry_after[24], h_scope[16];
	bool h_global;
	bool global_slot; /* this attempt holds a global slot */
	struct loop_timer *retry_timer;
	struct rest_req *next; /* bucket queue, or the rest->all list */
	struct rest_req *all_prev, *all_next;
};

struct rest {
	struct loop *loop;
	char *api_base;
	char *token;
	char *app_id;
	char *ca_file;
	char *auth_header;
	char *ua_header;
	unsigned max_retries;
	unsigned timeout_ms;
	bool auth_failed;
	const struct fence *fence; /* borrowed; NULL: always open */

	struct bucket *buckets[REST_TABLE_SIZE];
	size_t n_buckets;
	struct route_hash *hashes[REST_TABLE_SIZE];
	size_t n_hashes;
	struct bucket *pending; /* buckets with queued requests, FIFO-ish */

	uint64_t global_block_until;
	/* The global limit as a sliding window counted conservatively: a
	 * request occupies a slot from the moment it is sent until a second
	 * after its answer came back (Discord counted it somewhere in between,
	 * however slow the loop or the network). Completion times of the last
	 * REST_GLOBAL_PER_S requests, oldest first from global_head - n. */
	uint64_t global_done[REST_GLOBAL_PER_S];
	unsigned global_head, global_n;
	int global_in_flight;

	struct loop_timer *pump_timer;
	uint64_t pump_due;
	bool pumping, pump_again; /* done callbacks may re-enter pump() */
	uint64_t last_sweep;
	struct rest_req *all; /* every live request, for destroy */

	struct rest_stats stats;
	struct route_stat route_stats[REST_STATS_MAX];
	size_t n_route_stats;
};

static void pump(struct rest *rest);

/* ---- tables ---- */

static struct bucket *bucket_find(struct rest *rest, const char *key)
{
	for (struct bucket *b = rest->buckets[rest_fnv1a(key) % REST_TABLE_SIZE]; b; b = b->next)
		if (strcmp(b->key, key) == 0)
			return b;
	return NULL;
}

static void bucket_link(struct rest *rest, struct bucket *b)
{
	uint32_t h = rest_fnv1a(b->key) % REST_TABLE_SIZE;
	b->next = rest->buckets[h];
	rest->buckets[h] = b;
}

static void bucket_unlink(struct rest *rest, struct bucket *b)
{
	for (struct bucket **pp = &rest->buckets[rest_fnv1a(b->key) % REST_TABLE_SIZE]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			return;
		}
	}
}

static const char *hash_find(struct rest *rest, const char *route)
{
	for (struct route_hash *h = rest->hashes[rest_fnv1a(route) % REST_TABLE_SIZE]; h;
	     h = h->next)
		if (strcmp(h->route, route) == 0)
			return h->hash;
	return NULL;
}

/* Pre-emptive limits for buckets Discord has not described yet. */
static void bucket_seed(struct bucket *b, const char *route)
{
	b->st = (struct rest_bucket_state){ .limit = -1, .remaining = -1 };
	const char *p = strchr(route, ' ');
	if (strncmp(route, "POST ", 5) == 0 && p && strncmp(p + 1, "/channels/", 10) == 0) {
		const char *tail = strchr(p + 11, '/');
		if (tail && strcmp(tail, "/messages") == 0) {
			/* Discord's channel message bucket: 5 per 5 s. */
			b->st.limit = 5;
			b->st.remaining = 5;
			b->st.window_ms = 5000;
		}
	}
}

/* The bucket for a route: a learnt X-RateLimit-Bucket shared with other
 * routes of the same major parameter, else the route's own. */
static struct bucket *bucket_get(struct rest *rest, const char *route)
{
	char key[REST_KEY_MAX + 80];
	const char *hash = hash_find(rest, route);
	if (hash) {
		char major[REST_KEY_MAX];
		rest_route_major(route, major, sizeof(major));
		snprintf(key, sizeof(key), "%s %s", hash, major);
	} else {
		snprintf(key, sizeof(key), "%s", route);
	}
	struct bucket *b = bucket_find(rest, key);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->key = strdup(key);
	if (!b->key) {
		free(b);
		return NULL;
	}
	bucket_seed(b, route);
	bucket_link(rest, b);
	rest->n_buckets++;
	return b;
}

static bool bucket_idle(const struct bucket *b, uint64_t now)
{
	return b->refs == 0 && !b->q_head && !b->pending && b->st.in_flight == 0 &&
	       (b->st.reset_ms == 0 || b->st.reset_ms <= now) && b->cool_until_ms <= now;
}

static void bucket_free_if_idle(struct rest *rest, struct bucket *b, uint64_t now)
{
	if (!bucket_idle(b, now))
		return;
	bucket_unlink(rest, b);
	rest->n_buckets--;
	free(b->key);
	free(b);
}

/* Remembers which Discord bucket a route belongs to; the current bucket is
 * renamed to the shared key when no other route claimed it yet. */
static void learn_hash(struct rest *rest, struct rest_req *req)
{
	if (!req->h_bucket[0] || (req->flags & REST_INTERACTION))
		return;
	const char *known = hash_find(rest, req->route);
	if (known || rest->n_hashes >= REST_HASH_MAP_MAX)
		return;
	struct route_hash *h = calloc(1, sizeof(*h));
	if (!h)
		return;
	h->route = strdup(req->route);
	h->hash = strdup(req->h_bucket);
	if (!h->route || !h->hash) {
		free(h->route);
		free(h->hash);
		free(h);
		return;
	}
	uint32_t i = rest_fnv1a(h->route) % REST_TABLE_SIZE;
	h->next = rest->hashes[i];
	rest->hashes[i] = h;
	rest->n_hashes++;

	char major[REST_KEY_MAX], key[REST_KEY_MAX + 80];
	rest_route_major(req->route, major, sizeof(major));
	snprintf(key, sizeof(key), "%s %s", h->hash, major);
	struct bucket *b = req->bucket;
	if (!bucket_find(rest, key)) {
		char *nk = strdup(key);
		if (!nk)
			return;
		bucket_unlink(rest, b);
		free(b->key);
		b->key = nk;
		bucket_link(rest, b);
	}
}

static struct route_stat *route_stat(struct rest *rest, const char *route)
{
	char key[128];
	rest_stats_key(route, key, sizeof(key));
	for (size_t i = 0; i < rest->n_route_stats; i++)
		if (strcmp(rest->route_stats[i].key, key) == 0)
			return &rest->route_stats[i];
	if (rest->n_route_stats >= REST_STATS_MAX) {
		/* The last slot collects everything beyond the table. */
		struct route_stat *s = &rest->route_stats[REST_STATS_MAX - 1];
		snprintf(s->key, sizeof(s->key), "other");
		return s;
	}
	struct route_stat *s = &rest->route_stats[rest->n_route_stats++];
	snprintf(s->key, sizeof(s->key), "%s", key);
	return s;
}

/* ---- requests ---- */

static void files_free(struct req_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++) {
		free(files[i].name);
		free(files[i].type);
		free(files[i].data);
	}
	free(files);
}

/* Copies files[0..n) into *out (a new array; NULL when n is 0). Returns
 * BOT_OK, BOT_EINVAL (a file without a name, or without data but a length)
 * or BOT_ENOMEM. */
static enum bot_rc files_copy(const struct rest_file *files, size_t n, struct req_file **out)
{
	*out = NULL;
	if (n == 0)
		return BOT_OK;
	if (!files)
		return BOT_EINVAL;
	struct req_file *copy = calloc(n, sizeof(*copy));
	if (!copy)
		return BOT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rest_file *f = &files[i];
		if (!f->name || (f->len && !f->data)) {
			files_free(copy, n);
			return BOT_EINVAL;
		}
		copy[i].name = strdup(f->name);
		copy[i].type =
			strdup(f->content_type ? f->content_type : "application/octet-stream");
		copy[i].data = malloc(f->len ? f->len : 1);
		if (!copy[i].name || !copy[i].type || !copy[i].data) {
			files_free(copy, n);
			return BOT_ENOMEM;
		}
		if (f->len)
			memcpy(copy[i].data, f->data, f->len);
		copy[i].len = f->len;
	}
	*out = copy;
	return BOT_OK;
}

/* This attempt's multipart body: "payload_json", then "files[i]". A curl
 * mime belongs to one easy handle, and each attempt has its own, so the
 * parts are built anew from the request's copy every time (curl_mime_data
 * copies again: the price is the files twice in memory while one is in
 * flight). Returns NULL on allocation failure. */
static curl_mime *mime_build(CURL *e, const struct rest_req *req)
{
	curl_mime *mime = curl_mime_init(e);
	curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
	if (!part || curl_mime_name(part, "payload_json") != CURLE_OK ||
	    curl_mime_data(part, req->body ? req->body : "{}", CURL_ZERO_TERMINATED) != CURLE_OK ||
	    curl_mime_type(part, "application/json") != CURLE_OK)
		goto fail;
	for (size_t i = 0; i < req->n_files; i++) {
		const struct req_file *f = &req->files[i];
		char name[32];
		snprintf(name, sizeof(name), "files[%zu]", i);
		part = curl_mime_addpart(mime);
		if (!part || curl_mime_name(part, name) != CURLE_OK ||
		    curl_mime_data(part, f->data, f->len) != CURLE_OK ||
		    curl_mime_filename(part, f->name) != CURLE_OK ||
		    curl_mime_type(part, f->type) != CURLE_OK)
			goto fail;
	}
	return mime;
fail:
	curl_mime_free(mime);
	return NULL;
}

static void req_free(struct rest_req *req)
{
	struct rest *rest = req->rest;
	if (req->all_prev)
		req->all_prev->all_next = req->all_next;
	else
		rest->all = req->all_next;
	if (req->all_next)
		req->all_next->all_prev = req->all_prev;
	if (req->retry_timer)
		loop_timer_cancel(rest->loop, req->retry_timer);
	if (req->easy) {
		loop_http_remove(rest->loop, req->easy);
		curl_easy_cleanup(req->easy);
	}
	curl_mime_free(req->mime);
	curl_slist_free_all(req->headers);
	free(req->url);
	free(req->body);
	files_free(req->files, req->n_files);
	buf_free(&req->resp);
	free(req);
}

/* Calls done once and frees req. */
static void req_finish(struct rest_req *req, enum bot_rc rc, long status)
{
	struct rest *rest = req->rest;
	cJSON *json = NULL;
	if (req->resp.len)
		json = cJSON_ParseWithLength(req->resp.p, req->resp.len);
	struct rest_response res = {
		.rc = rc,
		.status = status,
		.json = json,
		.body = req->resp.p ? req->resp.p : "",
		.body_len = req->resp.len,
		.elapsed_ms = loop_now_ms() - req->start_ms,
	};
	if (rc != BOT_OK)
		log_debug(MOD, "msg=\"request failed\" route=\"%s\" status=%ld rc=\"%s\"",
			  req->logroute, status, bot_strerror(rc));
	rest_done_fn done = req->done;
	void *arg = req->arg;
	/* Idle buckets are freed by pump() and sweep() only, never under a
	 * walk of the pending list. */
	if (req->bucket)
		req->bucket->refs--;
	req->bucket = NULL;
	if (done)
		done(arg, &res);
	cJSON_Delete(json);
	req_free(req);
	(void)rest;
}

static void bucket_push(struct rest *rest, struct bucket *b, struct rest_req *req, bool front)
{
	rest->stats.queued++;
	if (front) {
		req->next = b->q_head;
		b->q_head = req;
		if (!b->q_tail)
			b->q_tail = req;
	} else {
		req->next = NULL;
		if (b->q_tail)
			b->q_tail->next = req;
		else
			b->q_head = req;
		b->q_tail = req;
	}
}

static void mark_pending(struct rest *rest, struct bucket *b)
{
	if (b->pending)
		return;
	b->pending = true;
	b->pending_next = rest->pending;
	rest->pending = b;
}

/* Empties the response body for a new attempt (or a retry's wait). */
static void resp_reset(struct rest_req *req)
{
	buf_free(&req->resp);
	/* At most REST_BODY_MAX bytes of body (max counts the NUL too). */
	req->resp.max = (size_t)REST_BODY_MAX + 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct rest_req *req = userp;
	size_t n = size * nmemb;
	/* Past the cap the append is dropped and resp.full set: read on, keep
	 * nothing more (the request ends in BOT_EPARSE). */
	buf_add(&req->resp, data, n);
	if (req->resp.oom)
		return 0; /* curl fails the transfer: a network error */
	return n;
}

/* Copies header value if line is "name: value". */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	const char *v = line + nl + 1;
	const char *e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	size_t n = (size_t)(e - v);
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct rest_req *req = userp;
	size_t n = size * nmemb;
	char tmp[16];
	if (header_value(data, n, "x-ratelimit-bucket", req->h_bucket, sizeof(req->h_bucket)) ||
	    header_value(data, n, "x-ratelimit-limit", req->h_limit, sizeof(req->h_limit)) ||
	    header_value(data, n, "x-ratelimit-remaining", req->h_remaining,
			 sizeof(req->h_remaining)) ||
	    header_value(data, n, "x-ratelimit-reset-after", req->h_reset_after,
			 sizeof(req->h_reset_after)) ||
	    header_value(data, n, "retry-after", req->h_retry_after, sizeof(req->h_retry_after)) ||
	    header_value(data, n, "x-ratelimit-scope", req->h_scope, sizeof(req->h_scope)))
		return n;
	if (header_value(data, n, "x-ratelimit-global", tmp, sizeof(tmp)))
		req->h_global = strcasecmp(tmp, "true") == 0;
	return n;
}

static void on_done(void *arg, CURL *easy, CURLcode result);
static void global_release(struct rest *rest, struct rest_req *req, uint64_t now);

static void retry_fire(void *arg)
{
	struct rest_req *req = arg;
	req->retry_timer = NULL;
	bucket_push(req->rest, req->bucket, req, true);
	mark_pending(req->rest, req->bucket);
	pump(req->rest);
}

/* Bounded exponential backoff for 5xx and network errors: 0.5, 1, 2, 4 s
 * (+ up to 25% jitter), shorter for interactions whose deadline is 3 s. */
static const uint32_t retry_table_ms[] = { 500, 1000, 2000, 4000, 8000, 16000 };
static const uint32_t retry_interaction_table_ms[] = { 100, 200, 400, 800, 1600, 3200 };
static const struct backoff retry_backoff = {
	.table_ms = retry_table_ms,
	.count = BACKOFF_COUNT(retry_table_ms),
	.jitter_pct = 25,
};
static const struct backoff retry_interaction_backoff = {
	.table_ms = retry_interaction_table_ms,
	.count = BACKOFF_COUNT(retry_interaction_table_ms),
	.jitter_pct = 25,
};

static uint64_t retry_delay_ms(const struct rest_req *req)
{
	const struct backoff *bo =
		(req->flags & REST_INTERACTION) ? &retry_interaction_backoff : &retry_backoff;
	/* attempts counts the tries sent so far: the first retry follows 1. */
	return backoff_ms(bo, req->attempts ? req->attempts - 1 : 0, rand_unit());
}

static bool schedule_retry(struct rest_req *req)
{
	struct rest *rest = req->rest;
	if ((req->flags & REST_NO_RETRY) || req->attempts > rest->max_retries)
		return false;
	req->retry_timer = loop_timer_add(rest->loop, retry_delay_ms(req), retry_fire, req);
	if (!req->retry_timer)
		return false;
	rest->stats.retries++;
	return true;
}

static enum bot_rc status_rc(long status)
{
	if (status >= 200 && status < 300)
		return BOT_OK;
	if (status == 401)
		return BOT_EAUTH;
	if (status == 404)
		return BOT_ENOTFOUND;
	if (status == 429)
		return BOT_ETHROTTLED;
	if (status >= 500)
		return BOT_ESERVER;
	return BOT_EREMOTE;
}

static uint64_t retry_after_ms(struct rest_req *req)
{
	double s = -1;
	if (req->resp.len) {
		cJSON *j = cJSON_ParseWithLength(req->resp.p, req->resp.len);
		const cJSON *ra = cJSON_GetObjectItemCaseSensitive(j, "retry_after");
		if (cJSON_IsNumber(ra))
			s = ra->valuedouble;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "global")))
			req->h_global = true;
		cJSON_Delete(j);
	}
	if (s < 0 && req->h_retry_after[0])
		s = strtod(req->h_retry_after, NULL);
	if (!(s >= 0) || s > 3600)
		s = 1; /* unknown or absurd: wait a second and see */
	return (uint64_t)ceil(s * 1000.0);
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct rest_req *req = arg;
	struct rest *rest = req->rest;
	struct bucket *b = req->bucket;
	uint64_t now = loop_now_ms();
	long status = 0;
	(void)easy;
	rest->stats.in_flight--;
	global_release(rest, req, now);
	if (result == CURLE_OK)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(req->easy);
	req->easy = NULL;
	curl_mime_free(req->mime);
	req->mime = NULL;
	curl_slist_free_all(req->headers);
	req->headers = NULL;

	if (result != CURLE_OK) {
		rest_bucket_update(&b->st, NULL, NULL, NULL, now);
		rest->stats.network_errors++;
		log_warn(MOD, "msg=\"network error\" route=\"%s\" attempt=%u error=\"%s\"",
			 req->logroute, req->attempts, curl_easy_strerror(result));
		if (!schedule_retry(req))
			req_finish(req,
				   result == CURLE_OPERATION_TIMEDOUT ? BOT_ETIMEDOUT : BOT_ENET,
				   0);
		goto pump;
	}

	rest_bucket_update(&b->st, req->h_limit, req->h_remaining, req->h_reset_after, now);
	learn_hash(rest, req);

	if (status == 429) {
		uint64_t wait = retry_after_ms(req);
		bool global = req->h_global || strcmp(req->h_scope, "global") == 0;
		rest->stats.ratelimited++;
		route_stat(rest, req->route)->ratelimited++;
		if (global) {
			rest->stats.ratelimited_global++;
			rest->global_block_until = now + wait;
		}
		/* The request itself waits too, even on routes exempt from the
		 * global limit. */
		b->st.remaining = 0;
		b->st.reset_ms = now + wait;
		log_warn(MOD, "msg=\"rate limited\" route=\"%s\" global=%s retry_after_ms=%llu",
			 req->logroute, global ? "true" : "false", (unsigned long long)wait);
		if (++req->retries_429 > REST_MAX_429_RETRIES) {
			req_finish(req, BOT_ETHROTTLED, status);
		} else {
			resp_reset(req);
			bucket_push(rest, b, req, true);
			mark_pending(rest, b);
		}
		goto pump;
	}
	if (status >= 500) {
		rest->stats.responses_5xx++;
		log_warn(MOD, "msg=\"server error\" route=\"%s\" status=%ld attempt=%u",
			 req->logroute, status, req->attempts);
		resp_reset(req);
		if (!schedule_retry(req))
			req_finish(req, BOT_ESERVER, status);
		goto pump;
	}
	if (status >= 400) {
		rest->stats.responses_4xx++;
		if (status == 401) {
			if (!rest->auth_failed)
				log_error(MOD, "msg=\"Discord refused the bot token (401): check "
					       "DISCORD_TOKEN or discord.token_file\"");
			rest->auth_failed = true;
		}
		if (++b->streak_4xx >= REST_4XX_STREAK_MAX) {
			/* Discord bans IPs that send 10,000 invalid requests in 10
			 * minutes: a route that keeps failing rests a while. */
			b->cool_until_ms = now + REST_4XX_COOLOFF_MS;
			log_warn(MOD,
				 "msg=\"route keeps failing; pausing it\" route=\"%s\" "
				 "streak=%d",
				 req->logroute, b->streak_4xx);
		}
		log_warn(MOD, "msg=\"request refused\" route=\"%s\" status=%ld body=\"%.200s\"",
			 req->logroute, status, req->resp.p ? req->resp.p : "");
		req_finish(req, status_rc(status), status);
		goto pump;
	}
	rest->stats.responses_2xx++;
	b->streak_4xx = 0;
	req_finish(req, req->resp.full ? BOT_EPARSE : BOT_OK, status);
pump:
	pump(rest);
}

static enum bot_rc req_start(struct rest *rest, struct rest_req *req)
{
	CURL *e = curl_easy_init();
	if (!e)
		return BOT_ENOMEM;
	struct curl_slist *h = NULL, *t;
	curl_mime *mime = NULL;
	resp_reset(req);
	req->h_bucket[0] = req->h_limit[0] = req->h_remaining[0] = req->h_reset_after[0] = '\0';
	req->h_retry_after[0] = req->h_scope[0] = '\0';
	req->h_global = false;
	if (!(t = curl_slist_append(h, rest->ua_header)))
		goto fail;
	h = t;
	if (!(req->flags & (REST_NO_AUTH | REST_INTERACTION))) {
		if (!(t = curl_slist_append(h, rest->auth_header)))
			goto fail;
		h = t;
	}
	/* A multipart body gets its Content-Type, with the boundary, from curl. */
	if (req->body && !req->multipart) {
		if (!(t = curl_slist_append(h, "Content-Type: application/json")))
			goto fail;
		h = t;
	}
	if (!(t = curl_slist_append(h, "Expect:")))
		goto fail;
	h = t;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rest->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	/* HTTP/2 over TLS: many interaction callbacks share one connection. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a connection that may multiplex rather than open one per
	 * request of a burst (one TLS handshake, not hundreds). */
	if (strncmp(req->url, "https://", 8) == 0)
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (rest->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, rest->ca_file);
	if (req->multipart) {
		if (!(mime = mime_build(e, req)))
			goto fail;
		curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
	} else if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
	} else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
		   strcmp(req->method, "PATCH") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	}
	req->easy = e;
	req->headers = h;
	req->mime = mime;
	if (loop_http_add(rest->loop, e, on_done, req) != 0) {
		req->easy = NULL;
		req->headers = NULL;
		req->mime = NULL;
		goto fail;
	}
	req->attempts++;
	rest->stats.requests++;
	rest->stats.in_flight++;
	route_stat(rest, req->route)->requests++;
	return BOT_OK;
fail:
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	curl_mime_free(mime);
	return BOT_ENOMEM;
}

static void pump_fire(void *arg)
{
	struct rest *rest = arg;
	rest->pump_timer = NULL;
	rest->pump_due = 0;
	pump(rest);
}

static void sweep(struct rest *rest, uint64_t now)
{
	for (size_t i = 0; i < REST_TABLE_SIZE; i++) {
		struct bucket *b = rest->buckets[i];
		while (b) {
			struct bucket *next = b->next;
			bucket_free_if_idle(rest, b, now);
			b = next;
		}
	}
	rest->last_sweep = now;
}

static struct rest_req *bucket_pop(struct rest *rest, struct bucket *b)
{
	struct rest_req *req = b->q_head;
	b->q_head = req->next;
	if (!b->q_head)
		b->q_tail = NULL;
	req->next = NULL;
	rest->stats.queued--;
	return req;
}

/* Milliseconds until one more bot-authenticated request fits the global
 * limit, REST_WAIT_RESPONSE if only an answer can free a slot. */
static uint64_t global_wait_ms(const struct rest *rest, uint64_t now)
{
	unsigned used = (unsigned)rest->global_in_flight;
	uint64_t first_free = 0;
	for (unsigned i = 0; i < rest->global_n; i++) {
		unsigned at = (rest->global_head + REST_GLOBAL_PER_S - rest->global_n + i) %
			      REST_GLOBAL_PER_S;
		uint64_t until = rest->global_done[at] + REST_GLOBAL_WINDOW_MS;
		if (until > now) {
			used++;
			if (!first_free)
				first_free = until; /* oldest first */
		}
	}
	if (used < REST_GLOBAL_PER_S)
		return 0;
	return first_free ? first_free - now : REST_WAIT_RESPONSE;
}

static void global_take(struct rest *rest, struct rest_req *req)
{
	rest->global_in_flight++;
	req->global_slot = true;
}

static void global_release(struct rest *rest, struct rest_req *req, uint64_t now)
{
	if (!req->global_slot)
		return;
	req->global_slot = false;
	rest->global_in_flight--;
	rest->global_done[rest->global_head] = now;
	rest->global_head = (rest->global_head + 1) % REST_GLOBAL_PER_S;
	if (rest->global_n < REST_GLOBAL_PER_S)
		rest->global_n++;
}

/* One walk over the buckets with queued requests; returns the shortest
 * wait of those that must wait (UINT64_MAX if none). */
static uint64_t pump_walk(struct rest *rest, uint64_t now)
{
	uint64_t wait_min = UINT64_MAX;
	/* Detach the list: done callbacks called below may queue requests
	 * (re-entering pump(), which only flags another walk), and those land
	 * on the fresh list. */
	struct bucket *list = rest->pending;
	rest->pending = NULL;
	while (list) {
		struct bucket *b = list;
		while (b->q_head) {
			enum bot_rc fail = BOT_OK;
			if (rest->auth_failed)
				fail = BOT_EAUTH;
			else if (b->cool_until_ms > now)
				fail = BOT_EREMOTE;
			if (fail != BOT_OK) {
				req_finish(bucket_pop(rest, b), fail, 0);
				continue;
			}
			bool exempt = b->q_head->flags & REST_INTERACTION;
			uint64_t w = rest_bucket_wait_ms(&b->st, now);
			/* After a refusal, probe one request at a time so that a
			 * failing route costs a handful of 4xx, not a burst. */
			if (w == 0 && b->streak_4xx > 0 && b->st.in_flight > 0)
				w = REST_WAIT_RESPONSE;
			if (w == 0 && !exempt) {
				if (rest->global_block_until > now)
					w = rest->global_block_until - now;
				else
					w = global_wait_ms(rest, now);
			}
			if (w) {
				if (w != REST_WAIT_RESPONSE && w < wait_min)
					wait_min = w;
				break;
			}
			struct rest_req *req = bucket_pop(rest, b);
			rest_bucket_take(&b->st, now);
			if (!exempt)
				global_take(rest, req);
			enum bot_rc rc =
				fence_ok(rest->fence) ? req_start(rest, req) : BOT_ECANCELLED;
			if (rc != BOT_OK) {
				rest_bucket_update(&b->st, NULL, NULL, NULL, now);
				global_release(rest, req, now);
				if (rc == BOT_ECANCELLED)
					log_warn(MOD,
						 "msg=\"not sent: this replica is not the active "
						 "one\" route=\"%s\"",
						 req->logroute);
				req_finish(req, rc == BOT_ECANCELLED ? rc : BOT_ENOMEM, 0);
			}
		}
		list = b->pending_next;
		b->pending_next = NULL;
		b->pending = false;
		if (b->q_head)
			mark_pending(rest, b);
		else
			bucket_free_if_idle(rest, b, now);
	}
	return wait_min;
}

/* Starts every queued request that its bucket and the global budget allow;
 * arms one timer for the earliest that has to wait. */
static void pump(struct rest *rest)
{
	if (rest->pumping) {
		rest->pump_again = true;
		return;
	}
	rest->pumping = true;
	uint64_t now, wait_min;
	do {
		rest->pump_again = false;
		now = loop_now_ms();
		wait_min = pump_walk(rest, now);
	} while (rest->pump_again);
	if (wait_min != UINT64_MAX) {
		uint64_t due = now + wait_min;
		if (!rest->pump_timer || due < rest->pump_due) {
			loop_timer_cancel(rest->loop, rest->pump_timer);
			rest->pump_timer = loop_timer_add(rest->loop, wait_min, pump_fire, rest);
			rest->pump_due = due;
		}
	}
	if (now - rest->last_sweep >= REST_SWEEP_EVERY_MS)
		sweep(rest, now);
	rest->pumping = false;
}

/* rest_request() and rest_request_files(): takes body and files (a copy,
 * freed here when the request cannot be queued). */
static enum bot_rc request_queue(struct rest *rest, const char *method, const char *path,
				 cJSON *body, bool multipart, struct req_file *files,
				 size_t n_files, unsigned flags, rest_done_fn done, void *arg)
{
	enum bot_rc rc = BOT_EINVAL;
	struct rest_req *req = NULL;
	if (!rest || !method || !path || path[0] != '/' || strlen(method) >= 8)
		goto out;
	rc = BOT_ENOMEM;
	req = calloc(1, sizeof(*req));
	if (!req)
		goto out;
	req->rest = rest;
	snprintf(req->method, sizeof(req->method), "%s", method);
	rest_route_key(method, path, req->route, sizeof(req->route));
	rest_log_route(req->route, req->logroute, sizeof(req->logroute));
	size_t ulen = strlen(rest->api_base) + strlen(path) + 1;
	req->url = malloc(ulen);
	if (!req->url)
		goto out;
	snprintf(req->url, ulen, "%s%s", rest->api_base, path);
	if (body) {
		req->body = cJSON_PrintUnformatted(body);
		if (!req->body)
			goto out;
	}
	req->flags = flags;
	req->done = done;
	req->arg = arg;
	req->start_ms = loop_now_ms();
	req->bucket = bucket_get(rest, req->route);
	if (!req->bucket)
		goto out;
	req->multipart = multipart;
	req->files = files;
	req->n_files = n_files;
	files = NULL;
	req->bucket->refs++;
	req->all_next = rest->all;
	if (rest->all)
		rest->all->all_prev = req;
	rest->all = req;
	bucket_push(rest, req->bucket, req, false);
	mark_pending(rest, req->bucket);
	req = NULL;
	rc = BOT_OK;
	pump(rest);
out:
	if (req) {
		free(req->url);
		free(req->body);
		free(req);
	}
	files_free(files, n_files);
	cJSON_Delete(body);
	return rc;
}

enum bot_rc rest_request(struct rest *rest, const char *method, const char *path, cJSON *body,
			 unsigned flags, rest_done_fn done, void *arg)
{
	return request_queue(rest, method, path, body, false, NULL, 0, flags, done, arg);
}

enum bot_rc rest_request_files(struct rest *rest, const char *method, const char *path, cJSON *body,
			       const struct rest_file *files, size_t n_files, unsigned flags,
			       rest_done_fn done, void *arg)
{
	struct req_file *copy;
	enum bot_rc rc = files_copy(files, n_files, &copy);
	if (rc != BOT_OK) {
		cJSON_Delete(body);
		return rc;
	}
	return request_queue(rest, method, path, body, true, copy, n_files, flags, done, arg);
}

bool rest_auth_failed(const struct rest *rest)
{
	return rest && rest->auth_failed;
}

const char *rest_app_id(const struct rest *rest)
{
	return rest->app_id;
}

/* ---- lifecycle ---- */

struct rest *rest_create(struct loop *loop, const struct rest_options *opt)
{
	struct rest *rest = NULL;
	if (!opt || !opt->api_base || !opt->token)
		return NULL;
	if (!url_allowed(opt->api_base, URL_HTTP)) {
		log_error(MOD, "msg=\"api_base must be https:// (http:// only to loopback)\"");
		return NULL;
	}
	rest = calloc(1, sizeof(*rest));
	if (!rest)
		return NULL;
	rest->loop = loop;
	rest->api_base = strdup(opt->api_base);
	rest->token = strdup(opt->token);
	rest->app_id = strdup(opt->application_id ? opt->application_id : "");
	/* Without an explicit CA file, honour OpenSSL's own SSL_CERT_FILE as
	 * the gateway (lws over OpenSSL) does, so both trust the same roots. */
	const char *ca = opt->ca_file ? opt->ca_file : getenv("SSL_CERT_FILE");
	rest->ca_file = ca && *ca ? strdup(ca) : NULL;
	rest->max_retries = opt->max_retries ? opt->max_retries : 4;
	rest->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 15000;
	size_t alen = strlen(opt->token) + 32;
	rest->auth_header = malloc(alen);
	rest->ua_header = malloc(256);
	if (!rest->api_base || !rest->token || !rest->app_id || !rest->auth_header ||
	    !rest->ua_header || (ca && *ca && !rest->ca_file)) {
		rest_destroy(rest);
		return NULL;
	}
	/* No trailing slash: paths start with one. */
	size_t bl = strlen(rest->api_base);
	while (bl && rest->api_base[bl - 1] == '/')
		rest->api_base[--bl] = '\0';
	snprintf(rest->auth_header, alen, "Authorization: Bot %s", opt->token);
	snprintf(rest->ua_header, 256, "User-Agent: DiscordBot (%s, %s)", ENVBOT_URL,
		 ENVBOT_VERSION);
	rest->last_sweep = loop_now_ms();
	return rest;
}

void rest_destroy(struct rest *rest)
{
	if (!rest)
		return;
	/* Detach everything from buckets first: done callbacks may queue new
	 * requests, which are cancelled in turn. */
	while (rest->all) {
		struct rest_req *req = rest->all;
		if (req->easy) {
			loop_http_remove(rest->loop, req->easy);
			curl_easy_cleanup(req->easy);
			req->easy = NULL;
		}
		req->bucket = NULL;
		rest_done_fn done = req->done;
		void *arg = req->arg;
		req->done = NULL;
		req_free(req);
		if (done) {
			struct rest_response res = { .rc = BOT_ECANCELLED, .body = "" };
			done(arg, &res);
		}
	}
	loop_timer_cancel(rest->loop, rest->pump_timer);
	for (size_t i = 0; i < REST_TABLE_SIZE; i++) {
		while (rest->buckets[i]) {
			struct bucket *b = rest->buckets[i];
			rest->buckets[i] = b->next;
			free(b->key);
			free(b);
		}
		while (rest->hashes[i]) {
			struct route_hash *h = rest->hashes[i];
			rest->hashes[i] = h->next;
			free(h->route);
			free(h->hash);
			free(h);
		}
	}
	free(rest->api_base);
	free(rest->token);
	free(rest->app_id);
	free(rest->ca_file);
	free(rest->auth_header);
	free(rest->ua_header);
	free(rest);
}

/* ---- counters ---- */

void rest_set_fence(struct rest *rest, const struct fence *fence)
{
	rest->fence = fence;
}

void rest_get_stats(const struct rest *rest, struct rest_stats *out)
{
	*out = rest->stats;
}

void rest_each_route(const struct rest *rest,
		     void (*fn)(void *arg, const char *route, uint64_t requests,
				uint64_t ratelimited),
		     void *arg)
{
	for (size_t i = 0; i < rest->n_route_stats; i++)
		fn(arg, rest->route_stats[i].key, rest->route_stats[i].requests,
		   rest->route_stats[i].ratelimited);
}
