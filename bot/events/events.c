/* The sender of events out (events.h): one runner per configured sink, each
 * taking the oldest event still pending for it from the state. */
#include "events.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aws/notify.h"
#include "../core/backoff.h"
#include "../core/buf.h"
#include "../core/log.h"
#include "../core/rand.h"
#include "../core/url.h"
#include "envbot_version.h"

#define MOD             "events"
#define WEBHOOK_TIMEOUT 10000L /* ms: a receiver slower than this is retried */
#define SECRET_MAX      1024

/* The wait before a sink's next try after a failure; the last repeats. */
static const uint32_t retry_ms[] = { 2000, 10000, 60000, 300000 };
static const struct backoff retry_backoff = { .table_ms = retry_ms,
					      .count = BACKOFF_COUNT(retry_ms),
					      .jitter_pct = 20 };

/* The delivery of one event to one sink. */
enum fate {
	FATE_TAKEN,   /* the sink took it */
	FATE_RETRY,   /* may pass: try again later */
	FATE_REFUSED, /* refused for good: drop it for this sink */
	FATE_HOLD,    /* the fence closed: nothing more leaves this process */
};

struct runner {
	struct events *ev;
	char name[STATE_SINK_NAME_MAX];
	const struct cfg_sink *sink; /* NULL: gone from the config (freed when idle) */
	bool busy;                   /* a delivery is in flight */
	unsigned tries;              /* failed attempts of the current event */
	char id[STATE_WFID_MAX];     /* the event in flight or waiting to retry */
	struct loop_timer *timer;
	/* webhook */
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
	struct aws *aws; /* the client of the AWS call in flight */
	bool no_aws_logged;
};

struct events {
	struct events_deps d;
	const struct cfg *cfg;
	struct runner *runners[CFG_MAX_SINKS];
	size_t n_runners;
	struct events_metrics m;
	char *ca_file;
};

static void runner_next(struct runner *r);

/* ---- lifetime ---- */

static struct runner *runner_new(struct events *ev, const struct cfg_sink *s)
{
	struct runner *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ev = ev;
	r->sink = s;
	snprintf(r->name, sizeof(r->name), "%s", s->name);
	/* A Slack webhook's URL is its credential. */
	if (s->kind == CFG_SINK_WEBHOOK)
		log_add_secret(s->url);
	return r;
}

static void webhook_release(struct runner *r)
{
	if (r->easy) {
		loop_http_remove(r->ev->d.loop, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	free(r->body);
	r->body = NULL;
	buf_free(&r->resp);
}

static void runner_free(struct runner *r)
{
	loop_timer_cancel(r->ev->d.loop, r->timer);
	webhook_release(r);
	if (r->aws)
		aws_cancel(r->aws, r);
	free(r);
}

struct events *events_create(const struct events_deps *deps, const struct cfg *cfg)
{
	struct events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->d = *deps;
	const char *ca = getenv("SSL_CERT_FILE");
	ev->ca_file = ca && *ca ? strdup(ca) : NULL;
	events_set_config(ev, cfg);
	return ev;
}

void events_destroy(struct events *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->n_runners; i++)
		runner_free(ev->runners[i]);
	free(ev->ca_file);
	free(ev);
}

static struct runner *runner_named(const struct events *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_runners; i++)
		if (strcmp(ev->runners[i]->name, name) == 0)
			return ev->runners[i];
	return NULL;
}

/* Strikes every pending delivery to a sink the config no longer has: what
 * nobody will send must not wait in the state forever. */
static void drop_unknown_sinks(struct events *ev)
{
	struct state *st = ev->d.state;
	bool changed = false;
	for (size_t i = 0; st && i < state_event_count(st);) {
		const struct state_event *e = state_event_at(st, i);
		char id[STATE_WFID_MAX], gone[STATE_SINK_NAME_MAX] = "";
		snprintf(id, sizeof(id), "%s", e->id);
		for (size_t k = 0; k < e->n_pending && !gone[0]; k++)
			if (!runner_named(ev, e->pending[k]))
				snprintf(gone, sizeof(gone), "%s", e->pending[k]);
		if (!gone[0]) {
			i++;
			continue;
		}
		log_warn(MOD,
			 "msg=\"sink no longer configured: event dropped for it\" sink=%s id=%s",
			 gone, id);
		state_event_delivered(st, id, gone);
		ev->m.dropped++;
		changed = true;
		/* the same index again: the event may have gone, or have more */
	}
	if (changed)
		saver_save_soon(ev->d.saver);
}

void events_set_config(struct events *ev, const struct cfg *cfg)
{
	struct runner *keep[CFG_MAX_SINKS];
	size_t n = 0;
	ev->cfg = cfg;
	for (size_t i = 0; cfg && i < cfg->n_sinks && n < CFG_MAX_SINKS; i++) {
		struct runner *r = runner_named(ev, cfg->sinks[i].name);
		if (r && r->sink && r->sink->kind == CFG_SINK_WEBHOOK)
			log_remove_secret(r->sink->url);
		if (r) {
			r->sink = &cfg->sinks[i];
			if (r->sink->kind == CFG_SINK_WEBHOOK)
				log_add_secret(r->sink->url);
		} else if (!(r = runner_new(ev, &cfg->sinks[i]))) {
			log_error(MOD, "msg=\"out of memory: sink not started\" sink=%s",
				  cfg->sinks[i].name);
			continue;
		}
		keep[n++] = r;
	}
	for (size_t i = 0; i < ev->n_runners; i++) {
		bool kept = false;
		for (size_t k = 0; k < n; k++)
			kept = kept || keep[k] == ev->runners[i];
		if (!kept)
			runner_free(ev->runners[i]);
	}
	memcpy(ev->runners, keep, n * sizeof(keep[0]));
	ev->n_runners = n;
	drop_unknown_sinks(ev);
}

/* ---- the state's side ---- */

/* The oldest event still pending for sink name, NULL if none. */
static const struct state_event *next_for(const struct state *st, const char *name)
{
	for (size_t i = 0; st && i < state_event_count(st); i++) {
		const struct state_event *e = state_event_at(st, i);
		for (size_t k = 0; k < e->n_pending; k++)
			if (strcmp(e->pending[k], name) == 0)
				return e;
	}
	return NULL;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* ---- outcome ---- */

static void retry_fire(void *arg)
{
	struct runner *r = arg;
	r->timer = NULL;
	runner_next(r);
}

static void settle(struct runner *r, enum fate fate, const char *why)
{
	struct events *ev = r->ev;
	r->busy = false;
	webhook_release(r);
	switch (fate) {
	case FATE_TAKEN:
	case FATE_REFUSED:
		if (fate == FATE_TAKEN) {
			ev->m.delivered++;
			log_info(MOD, "msg=\"event delivered\" sink=%s id=%s tries=%u", r->name,
				 r->id, r->tries + 1);
		} else {
			ev->m.dropped++;
			log_error(MOD,
				  "msg=\"event refused for good by the sink; dropped for it\" "
				  "sink=%s id=%s why=\"%s\"",
				  r->name, r->id, why);
		}
		if (state_event_delivered(ev->d.state, r->id, r->name))
			saver_save_soon(ev->d.saver);
		r->tries = 0;
		r->id[0] = '\0';
		r->timer = loop_timer_add(ev->d.loop, 0, retry_fire, r);
		return;
	case FATE_RETRY: {
		ev->m.failures++;
		uint64_t ms = backoff_ms(&retry_backoff, r->tries, rand_unit());
		log_warn(MOD,
			 "msg=\"event not delivered; will retry\" sink=%s id=%s tries=%u "
			 "retry_in_ms=%llu why=\"%s\"",
			 r->name, r->id, r->tries + 1, (unsigned long long)ms, why);
		r->tries++;
		r->timer = loop_timer_add(ev->d.loop, ms, retry_fire, r);
		return;
	}
	case FATE_HOLD:
		log_info(MOD, "msg=\"events held: this replica is not active\" sink=%s", r->name);
		return;
	}
}

/* ---- AWS sinks ---- */

static void aws_done(void *arg, const struct aws_err *err)
{
	struct runner *r = arg;
	char why[700];
	r->aws = NULL;
	if (err->rc == BOT_OK) {
		settle(r, FATE_TAKEN, "");
		return;
	}
	aws_err_str(err, why, sizeof(why));
	if (err->rc == BOT_ECANCELLED)
		settle(r, FATE_HOLD, why);
	else if (err->rc == BOT_ENOTFOUND || err->rc == BOT_EREMOTE || err->rc == BOT_EPARSE)
		settle(r, FATE_REFUSED, why);
	else
		settle(r, FATE_RETRY, why); /* throttled, 5xx, network, credentials */
}

static enum bot_rc send_aws(struct runner *r, const struct state_event *e, const cJSON *doc)
{
	struct events *ev = r->ev;
	const struct cfg_sink *s = r->sink;
	if (!ev->d.aws) {
		if (!r->no_aws_logged)
			log_error(MOD, "msg=\"no AWS client: the sink waits\" sink=%s", r->name);
		r->no_aws_logged = true;
		return BOT_EINVAL;
	}
	char err[256] = "";
	struct aws_target t = { .region = s->region };
	struct aws *aws = aws_for(ev->d.aws, &t, err, sizeof(err));
	if (!aws) {
		log_error(MOD, "msg=\"no AWS client for the sink\" sink=%s reason=\"%s\"", r->name,
			  err);
		return BOT_EINVAL;
	}
	const char *type = json_str(doc, "type"), *env = json_str(doc, "environment");
	r->aws = aws;
	if (s->kind == CFG_SINK_SNS) {
		char subject[128];
		snprintf(subject, sizeof(subject), "envbot %s%s%s", type, env[0] ? " " : "", env);
		return sns_publish(aws, s->topic_arn, subject, e->json, env[0] ? env : "envbot",
				   e->id, aws_done, r);
	}
	char detail_type[96];
	snprintf(detail_type, sizeof(detail_type), "envbot %s", type);
	return eb_put_event(aws, s->bus, "envbot", detail_type, e->json, aws_done, r);
}

/* ---- webhooks ---- */

void events_signature(const char *key, size_t key_len, long long t, const char *body, char *out,
		      size_t len)
{
	struct buf msg = { 0 };
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	buf_addf(&msg, "%lld.%s", t, body);
	if (msg.oom || !msg.p ||
	    !HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg.p, msg.len, mac,
		  &n)) {
		snprintf(out, len, "%s", "");
		buf_free(&msg);
		return;
	}
	buf_free(&msg);
	size_t used = (size_t)snprintf(out, len, "sha256=");
	for (unsigned i = 0; i < n && used + 2 < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%02x", mac[i]);
}

/* The key in secret_file (trailing newline dropped); false when unreadable. */
static bool read_secret(const char *path, char *key, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, key, SECRET_MAX);
	close(fd);
	if (n <= 0)
		return false;
	while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	*len = (size_t)n;
	return n > 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct runner *r = arg;
	if (r->resp.len < 4096) /* only for the log */
		buf_add(&r->resp, p, size * n);
	return size * n;
}

static void webhook_done(void *arg, CURL *easy, CURLcode result)
{
	struct runner *r = arg;
	long status = 0;
	char why[CURL_ERROR_SIZE + 64];
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK) {
		snprintf(why, sizeof(why), "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(result));
		settle(r, FATE_RETRY, why);
		return;
	}
	snprintf(why, sizeof(why), "HTTP %ld", status);
	if (status >= 200 && status < 300)
		settle(r, FATE_TAKEN, why);
	else if (status >= 400 && status < 500 && status != 408 && status != 429)
		settle(r, FATE_REFUSED, why);
	else
		settle(r, FATE_RETRY, why);
}

static bool add_header(struct runner *r, const char *fmt, const char *v)
{
	char line[512];
	snprintf(line, sizeof(line), fmt, v);
	struct curl_slist *t = curl_slist_append(r->hdrs, line);
	if (t)
		r->hdrs = t;
	return t != NULL;
}

static enum bot_rc send_webhook(struct runner *r, const struct state_event *e, const cJSON *doc)
{
	struct events *ev = r->ev;
	const struct cfg_sink *s = r->sink;
	r->body = s->slack ? event_slack_body(e->json) : strdup(e->json);
	if (!r->body)
		return BOT_ENOMEM;
	char key[SECRET_MAX], sig[80] = "", ts[24];
	size_t key_len = 0;
	long long now = (long long)time(NULL);
	snprintf(ts, sizeof(ts), "%lld", now);
	if (s->secret_file) {
		if (!read_secret(s->secret_file, key, &key_len)) {
			log_error(MOD,
				  "msg=\"webhook secret unreadable: the sink waits\" sink=%s "
				  "file=%s errno=\"%s\"",
				  r->name, s->secret_file, strerror(errno));
			return BOT_EIO;
		}
		events_signature(key, key_len, now, r->body, sig, sizeof(sig));
		memset(key, 0, sizeof(key));
	}
	bool ok = add_header(r, "%s", "Content-Type: application/json") &&
		  add_header(r, "User-Agent: envbot/%s", ENVBOT_VERSION) &&
		  add_header(r, "X-Envbot-Event-Id: %s", e->id) &&
		  add_header(r, "X-Envbot-Event-Type: %s", json_str(doc, "type")) &&
		  add_header(r, "%s", "Expect:") &&
		  (!sig[0] || (add_header(r, "X-Envbot-Timestamp: %s", ts) &&
			       add_header(r, "X-Envbot-Signature: %s", sig)));
	if (!ok || !(r->easy = curl_easy_init()))
		return BOT_ENOMEM;
	CURL *c = r->easy;
	r->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, WEBHOOK_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A redirect could take the event (and its signature) elsewhere. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	if (ev->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ev->ca_file);
	if (loop_http_add(ev->d.loop, c, webhook_done, r) != 0)
		return BOT_ENOMEM;
	return BOT_OK;
}

/* ---- the runner ---- */

static void runner_next(struct runner *r)
{
	struct events *ev = r->ev;
	if (r->busy || r->timer || !r->sink)
		return;
	const struct state_event *e = next_for(ev->d.state, r->name);
	if (!e)
		return;
	if (ev->d.fence && !fence_ok(ev->d.fence)) {
		settle(r, FATE_HOLD, "not active");
		return;
	}
	/* Durable first: the state holding this event must be written before
	 * any sink sees it. */
	saver_flush(ev->d.saver);
	if (strcmp(r->id, e->id) != 0) {
		snprintf(r->id, sizeof(r->id), "%s", e->id);
		r->tries = 0;
	}
	cJSON *doc = cJSON_Parse(e->json);
	enum bot_rc rc = !doc                                ? BOT_EPARSE
			 : r->sink->kind == CFG_SINK_WEBHOOK ? send_webhook(r, e, doc)
							     : send_aws(r, e, doc);
	cJSON_Delete(doc);
	if (rc == BOT_OK) {
		r->busy = true;
		return;
	}
	if (rc == BOT_EPARSE) {
		/* Ours, so a bug or a damaged file: retrying cannot help. */
		settle(r, FATE_REFUSED, "the recorded event is not JSON");
		return;
	}
	webhook_release(r);
	r->aws = NULL;
	settle(r, FATE_RETRY, bot_strerror(rc));
}

void events_kick(struct events *ev)
{
	for (size_t i = 0; ev && i < ev->n_runners; i++)
		runner_next(ev->runners[i]);
}

enum bot_rc events_emit(struct events *ev, const struct event_in *in)
{
	if (!ev)
		return BOT_OK;
	char id[STATE_WFID_MAX];
	enum bot_rc rc = event_record(ev->d.state, ev->cfg, in, id, sizeof(id));
	if (rc != BOT_OK || !id[0])
		return rc;
	saver_save_soon(ev->d.saver);
	/* From a timer: the save the caller is part of lands first. */
	for (size_t i = 0; i < ev->n_runners; i++) {
		struct runner *r = ev->runners[i];
		if (!r->busy && !r->timer)
			r->timer = loop_timer_add(ev->d.loop, 0, retry_fire, r);
	}
	return BOT_OK;
}

void events_get_metrics(const struct events *ev, struct events_metrics *out)
{
	memset(out, 0, sizeof(*out));
	if (!ev)
		return;
	*out = ev->m;
	out->pending = 0;
	for (size_t i = 0; i < state_event_count(ev->d.state); i++)
		out->pending += state_event_at(ev->d.state, i)->n_pending;
}
