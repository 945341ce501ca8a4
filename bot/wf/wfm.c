/* The workflow manager: one item per running workflow (at most one per
 * environment), its progress message, and its record in the state file.
 *
 * Publishing coalesces: an item has at most one message request in flight;
 * changes made meanwhile only mark it dirty, and the latest picture goes out
 * when the request returns. So a fast workflow costs a couple of edits, and
 * 200 workflows in one channel stay within the channel's rate limit (rest.c
 * queues them by bucket).
 *
 * The outbox: when a workflow ends, its running record turns into a final
 * record holding the rendered last picture (state_wf_finish), dropped only
 * once Discord took the edit or refused it for good. A final edit that failed
 * for a reason that may pass is retried from that record on a backoff, and a
 * restart sends every record left: a kill -9 between the end and the edit
 * cannot leave a message "in progress". */
#include "wfm.h"
#include "../core/backoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../i18n/i18n.h"
#include "embed.h"

#define MOD "wfm"

struct wfm_item {
	struct wfm *wfm;
	struct wf *wf;
	const struct cfg_env *env;
	struct ix *ix; /* owned; NULL for scheduled and resumed runs */
	char channel_id[32];
	char message_id[32];
	char note[512];
	char saved_point[64]; /* resume point last written to the state */
	char saved_stack[320];
	char saved_message[32];
	bool quiet_if_noop;
	bool sending;    /* a create/edit is in flight */
	bool dirty;      /* changed since the request in flight was built */
	bool done;       /* the workflow ended; freed after the last edit */
	bool sent_final; /* the request in flight carries the final picture */
	bool final_kept; /* its final record waits in the state's outbox */
	/* The opposite action asked for while this one runs (wfm_enqueue):
	 * started once this one ends. */
	bool queued;
	enum action q_action;
	char q_trigger[STATE_TEXT_MAX];
	char q_trigger_said[STATE_TEXT_MAX];
	char q_locale[STATE_LOCALE_MAX];
	char q_channel[32];
	char q_who[STATE_WHO_MAX];
	struct wfm_item *next;
};

/* A final picture being sent from the outbox (struct state_final): after a
 * restart, or again after a live final edit failed for a reason that may
 * pass. The picture is read from the state record at each try, so the
 * record stays the one truth; this only schedules the tries. */
struct wfm_out {
	struct wfm *wfm;
	char id[STATE_WFID_MAX]; /* the record's key */
	char env[STATE_NAME_MAX];
	struct loop_timer *timer;
	unsigned tries;
	bool sending;
	bool posting; /* the try in flight posts a new message (no id known) */
	struct wfm_out *next;
};

struct wfm {
	struct wfm_deps d;
	struct wfm_item *items;
	struct wfm_out *outbox;
	char link[160];
};

struct wfm *wfm_create(const struct wfm_deps *deps)
{
	struct wfm *wfm = calloc(1, sizeof(*wfm));
	if (!wfm)
		return NULL;
	wfm->d = *deps;
	return wfm;
}

static void item_free(struct wfm_item *it)
{
	wf_destroy(it->wf);
	ix_free(it->ix);
	free(it);
}

void wfm_destroy(struct wfm *wfm)
{
	if (!wfm)
		return;
	while (wfm->outbox) {
		struct wfm_out *o = wfm->outbox;
		wfm->outbox = o->next;
		loop_timer_cancel(wfm->d.loop, o->timer);
		free(o);
	}
	while (wfm->items) {
		struct wfm_item *it = wfm->items;
		wfm->items = it->next;
		item_free(it);
	}
	free(wfm);
}

static void unlink_item(struct wfm *wfm, struct wfm_item *it)
{
	for (struct wfm_item **pp = &wfm->items; *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			return;
		}
	}
}

static struct wfm_item *find_running(const struct wfm *wfm, const char *env)
{
	for (struct wfm_item *it = wfm->items; it; it = it->next)
		if (!it->done && strcmp(it->env->name, env) == 0)
			return it;
	return NULL;
}

/* ---- persistence: the daemon's saver, one save per loop iteration ---- */

static void save_soon(struct wfm *wfm)
{
	if (wfm->d.state)
		saver_save_soon(wfm->d.saver);
}

/* The item's picture: its note, and the queued action as the next step.
 * Caller frees the result (cJSON_Delete); NULL on ENOMEM. */
static cJSON *render(const struct wfm_item *it)
{
	char note[1024];
	const char *loc = wf_locale(it->wf);
	if (!it->queued)
		return embed_workflow(it->wf, it->note[0] ? it->note : NULL);
	const char *what = it->q_action == ACTION_START ? tr(loc, "start") : tr(loc, "stop");
	const char *who = it->q_who[0] ? it->q_who : tr(loc, "someone");
	if (it->done)
		snprintf(note, sizeof(note),
			 tr(loc, "%s%s⏭ Then: %s, queued by %s (started in its own "
				 "message)"),
			 it->note, it->note[0] ? "\n" : "", what, who);
	else
		snprintf(note, sizeof(note),
			 tr(loc, "%s%s⏭ Next: %s, queued by %s: it runs when this one "
				 "ends"),
			 it->note, it->note[0] ? "\n" : "", what, who);
	return embed_workflow(it->wf, note);
}

/* Writes the item's resume record when it changed at a real step. */
static void record(struct wfm_item *it)
{
	struct wfm *wfm = it->wfm;
	if (!wfm->d.state)
		return;
	const char *point = wf_resume_point(it->wf);
	if (strcmp(point, it->saved_point) == 0 &&
	    strcmp(wf_stack_id(it->wf), it->saved_stack) == 0 &&
	    strcmp(it->message_id, it->saved_message) == 0)
		return;
	struct state_wf rec = { .kind = wf_action(it->wf) == ACTION_START ? ACTION_START
									  : ACTION_STOP,
				.started = time(NULL) };
	const struct state_wf *old = state_wf_find(wfm->d.state, it->env->name);
	if (old && strcmp(old->id, wf_id(it->wf)) == 0)
		rec.started = old->started;
	snprintf(rec.env, sizeof(rec.env), "%s", it->env->name);
	snprintf(rec.id, sizeof(rec.id), "%s", wf_id(it->wf));
	snprintf(rec.trigger, sizeof(rec.trigger), "%s", wf_trigger(it->wf));
	snprintf(rec.stack_id, sizeof(rec.stack_id), "%s", wf_stack_id(it->wf));
	snprintf(rec.token, sizeof(rec.token), "%s", wf_id(it->wf));
	snprintf(rec.channel_id, sizeof(rec.channel_id), "%s", it->channel_id);
	snprintf(rec.message_id, sizeof(rec.message_id), "%s", it->message_id);
	snprintf(rec.step, sizeof(rec.step), "%s", point);
	snprintf(rec.image_tag, sizeof(rec.image_tag), "%s", wf_image_tag(it->wf));
	/* English and a shown trigger equal to the trigger are not written:
	 * the record of an earlier version reads the same. */
	if (strcmp(wf_locale(it->wf), "en") != 0)
		snprintf(rec.locale, sizeof(rec.locale), "%s", wf_locale(it->wf));
	if (strcmp(wf_trigger_said(it->wf), wf_trigger(it->wf)) != 0)
		snprintf(rec.trigger_said, sizeof(rec.trigger_said), "%s", wf_trigger_said(it->wf));
	char err[256];
	if (state_wf_put(wfm->d.state, &rec, err, sizeof(err)) != BOT_OK) {
		log_error(MOD, "msg=\"workflow not recorded\" env=%s reason=\"%s\"", it->env->name,
			  err);
		return;
	}
	snprintf(it->saved_point, sizeof(it->saved_point), "%s", point);
	snprintf(it->saved_stack, sizeof(it->saved_stack), "%s", wf_stack_id(it->wf));
	snprintf(it->saved_message, sizeof(it->saved_message), "%s", it->message_id);
	save_soon(wfm);
}

/* ---- the outbox ---- */

/* The wait before another try of a final picture Discord did not take
 * (rest.c has already retried 5xx and network errors a few times); the last
 * step repeats until it goes through or the process ends. */
static const uint32_t out_delays_ms[] = { 2000, 10000, 60000, 300000 };
static const struct backoff out_backoff = { .table_ms = out_delays_ms,
					    .count = BACKOFF_COUNT(out_delays_ms) };

enum final_fate {
	FINAL_DONE,  /* accepted, or refused for good: drop the record */
	FINAL_KEEP,  /* shutting down, or the token refused: the next start */
	FINAL_RETRY, /* may pass: try again later */
};

/* Refused for good: the message or channel is gone (404), no access (403),
 * a body Discord will never take (400). 401 means the token is wrong and
 * the daemon exits; 429 and 5xx (after rest.c's retries) and network
 * errors may pass. */
static enum final_fate final_fate(const struct rest_response *res)
{
	if (res->rc == BOT_OK)
		return FINAL_DONE;
	if (res->rc == BOT_ECANCELLED || res->rc == BOT_EAUTH)
		return FINAL_KEEP;
	if (res->status >= 400 && res->status < 500 && res->status != 408 && res->status != 429)
		return FINAL_DONE;
	return FINAL_RETRY;
}

static void final_drop(struct wfm *wfm, const char *id)
{
	if (wfm->d.state && state_final_remove(wfm->d.state, id))
		save_soon(wfm);
}

static void out_free(struct wfm_out *o)
{
	struct wfm *wfm = o->wfm;
	for (struct wfm_out **pp = &wfm->outbox; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	loop_timer_cancel(wfm->d.loop, o->timer);
	free(o);
}

static void out_send(struct wfm_out *o);

static void out_fire(void *arg)
{
	struct wfm_out *o = arg;
	o->timer = NULL;
	out_send(o);
}

static void out_later(struct wfm_out *o)
{
	uint64_t ms = backoff_ms(&out_backoff, o->tries, 0);
	o->timer = loop_timer_add(o->wfm->d.loop, ms, out_fire, o);
	if (!o->timer) {
		log_error(MOD,
			  "msg=\"final progress picture not retried: sent at the next start\" "
			  "env=%s id=%s",
			  o->env, o->id);
		out_free(o);
	}
}

static void out_sent(void *arg, const struct rest_response *res)
{
	struct wfm_out *o = arg;
	o->sending = false;
	switch (final_fate(res)) {
	case FINAL_DONE:
		if (res->rc == BOT_OK)
			log_info(MOD, "msg=\"final progress picture %s\" env=%s id=%s tries=%u",
				 o->posting ? "posted as a new message" : "delivered", o->env,
				 o->id, o->tries);
		else
			log_warn(MOD,
				 "msg=\"final progress picture refused for good; dropped\" env=%s "
				 "id=%s status=%ld rc=\"%s\"",
				 o->env, o->id, res->status, bot_strerror(res->rc));
		final_drop(o->wfm, o->id);
		out_free(o);
		return;
	case FINAL_KEEP: out_free(o); return;
	case FINAL_RETRY:
		log_warn(MOD,
			 "msg=\"final progress picture not delivered; will retry\" env=%s id=%s "
			 "status=%ld rc=\"%s\" tries=%u",
			 o->env, o->id, res->status, bot_strerror(res->rc), o->tries);
		out_later(o);
		return;
	}
}

static void out_send(struct wfm_out *o)
{
	struct wfm *wfm = o->wfm;
	const struct state_final *f = state_final_find(wfm->d.state, o->id);
	if (!f) { /* settled meanwhile */
		out_free(o);
		return;
	}
	cJSON *msg = cJSON_Parse(f->message);
	if (!msg) {
		/* Ours, so a bug or a damaged file: retrying cannot help. */
		log_error(MOD, "msg=\"final progress picture unreadable; dropped\" env=%s id=%s",
			  o->env, o->id);
		final_drop(wfm, o->id);
		out_free(o);
		return;
	}
	const char *ch = f->channel_id[0]                       ? f->channel_id
			 : wfm->d.cfg && wfm->d.cfg->channel_id ? wfm->d.cfg->channel_id
								: "";
	/* The interaction token is long gone after a restart (15 minutes at
	 * most): the channel route edits the message; with no id learnt (the
	 * create never answered) the picture is posted afresh. */
	o->posting = !f->message_id[0];
	if (o->posting) {
		/* the same nonce at every start: a post that reached Discord
		 * before a crash is not posted twice */
		char nonce[REST_NONCE_SIZE];
		rest_nonce_for(o->id, nonce);
		cJSON_DeleteItemFromObjectCaseSensitive(msg, "nonce");
		cJSON_AddStringToObject(msg, "nonce", nonce);
	}
	enum bot_rc rc =
		o->posting ? rest_create_message(wfm->d.rest, ch, msg, out_sent, o)
			   : rest_edit_message(wfm->d.rest, ch, f->message_id, msg, out_sent, o);
	o->tries++;
	if (rc == BOT_OK) {
		o->sending = true;
		return;
	}
	log_warn(MOD, "msg=\"final progress picture not sent; will retry\" env=%s id=%s rc=\"%s\"",
		 o->env, o->id, bot_strerror(rc));
	out_later(o);
}

/* Queues a try of the final record id in delay_ms (0: at the next loop
 * iteration), unless one is already on its way. */
static void out_schedule(struct wfm *wfm, const char *id, const char *env, uint64_t delay_ms)
{
	if (!wfm->d.rest || !wfm->d.state)
		return;
	for (struct wfm_out *o = wfm->outbox; o; o = o->next)
		if (strcmp(o->id, id) == 0)
			return;
	struct wfm_out *o = calloc(1, sizeof(*o));
	if (o) {
		o->wfm = wfm;
		snprintf(o->id, sizeof(o->id), "%s", id);
		snprintf(o->env, sizeof(o->env), "%s", env);
		o->timer = loop_timer_add(wfm->d.loop, delay_ms, out_fire, o);
	}
	if (!o || !o->timer) {
		free(o);
		log_error(MOD,
			  "msg=\"final progress picture not scheduled: sent at the next start\" "
			  "env=%s id=%s",
			  env, id);
		return;
	}
	o->next = wfm->outbox;
	wfm->outbox = o;
}

/* ---- publishing ---- */

static void publish(struct wfm_item *it);
static bool hidden(const struct wfm_item *it);

/* Discord answered the live final edit of it. */
static void final_settle(struct wfm_item *it, const struct rest_response *res)
{
	if (!it->final_kept)
		return;
	it->final_kept = false;
	const char *id = wf_id(it->wf);
	switch (final_fate(res)) {
	case FINAL_DONE:
		if (res->rc != BOT_OK)
			log_warn(MOD,
				 "msg=\"final progress picture refused for good; dropped\" env=%s "
				 "id=%s status=%ld rc=\"%s\"",
				 it->env->name, id, res->status, bot_strerror(res->rc));
		final_drop(it->wfm, id);
		break;
	case FINAL_KEEP: break;
	case FINAL_RETRY:
		out_schedule(it->wfm, id, it->env->name, backoff_ms(&out_backoff, 0, 0));
		break;
	}
}

/* The message id learnt after the workflow ended goes into its final
 * record, so that a restart edits that message rather than posting one. */
static void final_learn_message(struct wfm_item *it)
{
	struct state *st = it->wfm->d.state;
	const struct state_final *f = st ? state_final_find(st, wf_id(it->wf)) : NULL;
	if (!it->final_kept || !f || f->message_id[0])
		return;
	struct state_final *nf = malloc(sizeof(*nf));
	char err[256];
	if (!nf)
		return;
	*nf = *f;
	snprintf(nf->message_id, sizeof(nf->message_id), "%s", it->message_id);
	if (state_final_put(st, nf, err, sizeof(err)) == BOT_OK)
		save_soon(it->wfm);
	free(nf);
}

/* Turns the ended workflow's running record into its final record, holding
 * the picture publish() is about to send. Nothing is kept when nothing will
 * be shown (no Discord, a quiet no-op) or the picture cannot be kept; the
 * running record goes either way. */
static void keep_final(struct wfm_item *it)
{
	struct wfm *wfm = it->wfm;
	struct state_final *f = NULL;
	char *json = NULL;
	char err[256] = "out of memory";
	cJSON *msg = NULL;
	if (!wfm->d.rest || hidden(it))
		goto drop;
	f = calloc(1, sizeof(*f));
	msg = render(it);
	if (!f || !msg)
		goto fail;
	rest_message_clamp(msg); /* what rest.c sends: within Discord's limits */
	json = cJSON_PrintUnformatted(msg);
	if (!json)
		goto fail;
	if (strlen(json) >= sizeof(f->message)) {
		snprintf(err, sizeof(err), "picture of %zu bytes", strlen(json));
		goto fail;
	}
	memcpy(f->message, json, strlen(json) + 1);
	snprintf(f->env, sizeof(f->env), "%s", it->env->name);
	snprintf(f->id, sizeof(f->id), "%s", wf_id(it->wf));
	f->finished = time(NULL);
	snprintf(f->channel_id, sizeof(f->channel_id), "%s", it->channel_id);
	snprintf(f->message_id, sizeof(f->message_id), "%s",
		 it->message_id[0] ? it->message_id : (it->ix ? it->ix->original_id : ""));
	if (state_wf_finish(wfm->d.state, f, err, sizeof(err)) != BOT_OK)
		goto fail;
	it->final_kept = true;
	goto out;
fail:
	log_error(MOD,
		  "msg=\"final progress picture not kept: a kill before the edit lands "
		  "leaves the message in progress\" env=%s reason=\"%s\"",
		  it->env->name, err);
drop:
	state_wf_remove(wfm->d.state, it->env->name);
out:
	cJSON_Delete(msg);
	free(json);
	free(f);
}

static void finish_item_if_idle(struct wfm_item *it)
{
	if (it->done && !it->sending && !it->dirty) {
		unlink_item(it->wfm, it);
		item_free(it);
	}
}

static void on_sent(void *arg, const struct rest_response *res)
{
	struct wfm_item *it = arg;
	bool was_final = it->sent_final;
	it->sending = false;
	it->sent_final = false;
	if (res->rc == BOT_OK && !it->message_id[0]) {
		const cJSON *id =
			res->json ? cJSON_GetObjectItemCaseSensitive(res->json, "id") : NULL;
		if (cJSON_IsString(id))
			snprintf(it->message_id, sizeof(it->message_id), "%s", id->valuestring);
		else if (it->ix && it->ix->original_id[0])
			snprintf(it->message_id, sizeof(it->message_id), "%s", it->ix->original_id);
		if (it->message_id[0] && !it->done)
			record(it);
		else if (it->message_id[0])
			final_learn_message(it);
	}
	if (res->rc != BOT_OK && res->rc != BOT_ECANCELLED)
		log_warn(MOD, "msg=\"progress message not updated\" env=%s status=%ld rc=\"%s\"",
			 it->env->name, res->status, bot_strerror(res->rc));
	if (it->dirty && res->rc != BOT_ECANCELLED) {
		publish(it);
	} else {
		it->dirty = false;
		if (was_final)
			final_settle(it, res);
	}
	finish_item_if_idle(it);
}

static bool hidden(const struct wfm_item *it)
{
	/* Catch-up and enforcement runs say nothing until they know there is
	 * something to do: the first step (the check) must be done. */
	if (!it->quiet_if_noop)
		return false;
	if (it->done)
		return wf_was_noop(it->wf);
	const struct wf_step *steps;
	return wf_steps(it->wf, &steps) == 0 || steps[0].mark == WF_PENDING ||
	       steps[0].mark == WF_ACTIVE;
}

static void publish(struct wfm_item *it)
{
	struct rest *rest = it->wfm->d.rest;
	if (!rest || hidden(it)) {
		it->dirty = false;
		return;
	}
	if (it->sending) {
		it->dirty = true;
		return;
	}
	it->dirty = false;
	cJSON *msg = render(it);
	if (!msg)
		return;
	enum bot_rc rc;
	if (it->ix)
		rc = ix_edit(rest, it->ix, msg, on_sent, it);
	else if (it->message_id[0])
		rc = rest_edit_message(rest, it->channel_id, it->message_id, msg, on_sent, it);
	else
		rc = rest_create_message(rest, it->channel_id, msg, on_sent, it);
	if (rc == BOT_ETIMEDOUT && it->ix && it->message_id[0]) {
		/* The token expired and ix cannot edit: the channel message can. */
		msg = render(it);
		rc = msg ? rest_edit_message(rest, it->channel_id, it->message_id, msg, on_sent, it)
			 : BOT_ENOMEM;
	}
	if (rc == BOT_OK) {
		it->sending = true;
		it->sent_final = it->done;
		return;
	}
	log_warn(MOD, "msg=\"progress message not sent\" env=%s rc=\"%s\"", it->env->name,
		 bot_strerror(rc));
	if (it->done && it->final_kept) {
		/* EREMOTE: the interaction's ACK was refused, so there is no
		 * message to finish (the user saw the failure): done with it.
		 * Anything else may pass: the outbox tries again. */
		it->final_kept = false;
		if (rc == BOT_EREMOTE)
			final_drop(it->wfm, wf_id(it->wf));
		else
			out_schedule(it->wfm, wf_id(it->wf), it->env->name,
				     backoff_ms(&out_backoff, 0, 0));
	}
}

/* ---- workflow observer ---- */

static void obs_checkpoint(void *arg, struct wf *wf)
{
	(void)wf;
	record(arg);
}

static void obs_changed(void *arg, struct wf *wf)
{
	struct wfm_item *it = arg;
	if (it->wfm->d.on_changed)
		it->wfm->d.on_changed(it->wfm->d.arg, wf);
	publish(it);
}

static void start_queued(struct wfm_item *it);

static struct state *cap_state(const struct wfm *wfm)
{
	return wfm->d.cap_state ? wfm->d.cap_state : wfm->d.state;
}

/* Written to disk before the kind scales down: a kill -9 right after the
 * scale-down still finds what to restore. */
static enum bot_rc obs_save_capacity(void *arg, struct wf *wf, const struct state_capacity *c,
				     char *err, size_t errlen)
{
	struct wfm_item *it = arg;
	struct wfm *wfm = it->wfm;
	struct state *st = cap_state(wfm);
	struct saver *sv = wfm->d.cap_saver ? wfm->d.cap_saver : wfm->d.saver;
	if (!st || !sv) {
		snprintf(err, errlen, "no state file to keep %s's capacity in", c->key);
		return BOT_EINVAL;
	}
	const char *owner = cfg_env_root(wf_env(wf))->name;
	enum bot_rc rc = state_capacity_set(st, owner, c, err, errlen);
	if (rc != BOT_OK)
		return rc;
	rc = saver_save_now(sv);
	if (rc != BOT_OK)
		snprintf(err, errlen,
			 "the state file could not be written (%s): %s not scaled down",
			 bot_strerror(rc), c->key);
	else
		log_info(MOD, "msg=\"capacity saved\" env=%s key=%s min=%lld desired=%lld max=%lld",
			 owner, c->key, c->min, c->desired, c->max);
	return rc;
}

static bool obs_load_capacity(void *arg, struct wf *wf, const char *key, struct state_capacity *out)
{
	struct wfm_item *it = arg;
	const struct state *st = cap_state(it->wfm);
	const struct state_capacity *c =
		st ? state_capacity_get(st, cfg_env_root(wf_env(wf))->name, key) : NULL;
	if (c)
		*out = *c;
	return c != NULL;
}

static void obs_finished(void *arg, struct wf *wf)
{
	struct wfm_item *it = arg;
	struct wfm *wfm = it->wfm;
	it->done = true;
	if (wfm->d.on_changed)
		wfm->d.on_changed(wfm->d.arg, wf);
	if (wfm->d.on_finished)
		wfm->d.on_finished(wfm->d.arg, wf);
	if (wfm->d.state) {
		keep_final(it);
		save_soon(wfm);
	}
	publish(it);
	/* After the final record: the state keys workflows by environment. */
	if (it->queued)
		start_queued(it);
	finish_item_if_idle(it);
}

static struct wfm_item *item_new(struct wfm *wfm, const struct wf_params *p, const char *channel_id,
				 const char *note)
{
	struct wfm_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->wfm = wfm;
	it->env = p->env;
	const struct wf_observer obs = { .checkpoint = obs_checkpoint,
					 .changed = obs_changed,
					 .finished = obs_finished,
					 .save_capacity = obs_save_capacity,
					 .load_capacity = obs_load_capacity,
					 .arg = it };
	it->wf = wf_create(wfm->d.loop, wfm->d.aws, p, &obs);
	if (!it->wf) {
		free(it);
		return NULL;
	}
	const char *ch =
		channel_id && *channel_id ? channel_id : (wfm->d.cfg ? wfm->d.cfg->channel_id : "");
	snprintf(it->channel_id, sizeof(it->channel_id), "%s", ch ? ch : "");
	snprintf(it->note, sizeof(it->note), "%s", note ? note : "");
	return it;
}

enum bot_rc wfm_start(struct wfm *wfm, const struct wfm_request *req, const struct wf **running)
{
	struct wfm_item *busy = find_running(wfm, req->env->name);
	if (busy) {
		if (running)
			*running = busy->wf;
		return BOT_EBUSY;
	}
	struct wf_params p = { .env = req->env,
			       .action = req->action,
			       .trigger = req->trigger,
			       .trigger_said = req->trigger_said,
			       .locale = req->locale,
			       .poll_ms = wfm->d.poll_ms };
	struct wfm_item *it =
		item_new(wfm, &p, req->ix ? req->ix->channel_id : req->channel_id, req->note);
	if (!it)
		return BOT_ENOMEM;
	it->ix = req->ix;
	it->quiet_if_noop = req->quiet_if_noop;
	it->next = wfm->items;
	wfm->items = it;
	if (wfm->d.on_started)
		wfm->d.on_started(wfm->d.arg, it->wf);
	wf_begin(it->wf);
	/* The first record reaches the disk before the caller's handler
	 * returns: the interaction's ACK leaves right after it (run_posts in
	 * loop.c), and an acknowledged workflow must survive a kill -9 there
	 * (found by tests/chaos kill9). */
	if (wfm->d.state)
		saver_flush(wfm->d.saver);
	return BOT_OK;
}

/* The queued action of it (which just ended), on the config it ran with
 * (kept alive by the caller like any running workflow's). */
static void start_queued(struct wfm_item *it)
{
	struct wfm_request req = { .env = it->env,
				   .action = it->q_action,
				   .trigger = it->q_trigger,
				   .trigger_said =
					   it->q_trigger_said[0] ? it->q_trigger_said : NULL,
				   .locale = it->q_locale[0] ? it->q_locale : NULL,
				   .channel_id = it->q_channel };
	log_info(MOD, "msg=\"queued action starts\" env=%s action=%s", it->env->name,
		 action_name(it->q_action));
	enum bot_rc rc = wfm_start(it->wfm, &req, NULL);
	if (rc != BOT_OK)
		log_error(MOD, "msg=\"queued action not started\" env=%s rc=\"%s\"", it->env->name,
			  bot_strerror(rc));
}

enum bot_rc wfm_enqueue(struct wfm *wfm, const struct wfm_request *req, const char *who,
			const struct wf **running)
{
	struct wfm_item *busy = find_running(wfm, req->env->name);
	if (req->ix)
		return BOT_EINVAL;
	if (!busy)
		return BOT_ENOTFOUND;
	if (running)
		*running = busy->wf;
	if (busy->queued || wf_action(busy->wf) == req->action)
		return BOT_EBUSY;
	busy->queued = true;
	busy->q_action = req->action;
	snprintf(busy->q_trigger, sizeof(busy->q_trigger), "%s", req->trigger ? req->trigger : "");
	snprintf(busy->q_trigger_said, sizeof(busy->q_trigger_said), "%s",
		 req->trigger_said ? req->trigger_said : "");
	snprintf(busy->q_locale, sizeof(busy->q_locale), "%s", req->locale ? req->locale : "");
	snprintf(busy->q_channel, sizeof(busy->q_channel), "%s",
		 req->channel_id ? req->channel_id : "");
	snprintf(busy->q_who, sizeof(busy->q_who), "%s", who ? who : "");
	publish(busy); /* the embed shows it as the next step */
	return BOT_OK;
}

bool wfm_queued(const struct wfm *wfm, const char *env, enum action *action)
{
	struct wfm_item *it = find_running(wfm, env);
	if (!it || !it->queued)
		return false;
	if (action)
		*action = it->q_action;
	return true;
}

void wfm_set_config(struct wfm *wfm, const struct cfg *cfg)
{
	wfm->d.cfg = cfg;
}

const struct wf *wfm_running(const struct wfm *wfm, const char *env)
{
	struct wfm_item *it = find_running(wfm, env);
	return it ? it->wf : NULL;
}

const char *wfm_link(const struct wfm *wfm, const char *env)
{
	struct wfm *w = (struct wfm *)wfm; /* the link buffer is scratch space */
	struct wfm_item *it = find_running(wfm, env);
	const char *msg =
		it ? (it->message_id[0] ? it->message_id : (it->ix ? it->ix->original_id : ""))
		   : "";
	if (!it || !msg[0] || !wfm->d.cfg || !wfm->d.cfg->guild_id) {
		w->link[0] = '\0';
		return w->link;
	}
	snprintf(w->link, sizeof(w->link), "https://discord.com/channels/%s/%s/%s",
		 wfm->d.cfg->guild_id, it->channel_id, msg);
	return w->link;
}

size_t wfm_count(const struct wfm *wfm)
{
	size_t n = 0;
	for (struct wfm_item *it = wfm->items; it; it = it->next)
		n += !it->done;
	return n;
}

size_t wfm_resume_all(struct wfm *wfm)
{
	if (!wfm->d.state)
		return 0;
	size_t resumed = 0;
	/* Final pictures the last run did not get through: sent, not re-run. */
	size_t nf = state_final_count(wfm->d.state);
	for (size_t i = 0; wfm->d.rest && i < nf; i++) {
		const struct state_final *f = state_final_at(wfm->d.state, i);
		out_schedule(wfm, f->id, f->env, 0);
	}
	if (nf)
		log_info(MOD,
			 "msg=\"sending final progress pictures left by the last run\" count=%zu",
			 nf);
	/* Collect first: starting a workflow rewrites the state's list. */
	size_t n = state_wf_count(wfm->d.state);
	struct state_wf *recs = calloc(n ? n : 1, sizeof(*recs));
	if (!recs)
		return 0;
	for (size_t i = 0; i < n; i++)
		recs[i] = *state_wf_at(wfm->d.state, i);
	for (size_t i = 0; i < n; i++) {
		const struct state_wf *r = &recs[i];
		const struct cfg_env *env = wfm->d.cfg ? cfg_find_env(wfm->d.cfg, r->env) : NULL;
		if (!env || find_running(wfm, r->env)) {
			log_error(MOD, "msg=\"workflow in flight not resumed: %s\" env=%s id=%s",
				  env ? "another one already runs"
				      : "environment no longer configured",
				  r->env, r->id);
			state_wf_remove(wfm->d.state, r->env);
			save_soon(wfm);
			continue;
		}
		char trigger[STATE_TEXT_MAX + 32];
		snprintf(trigger, sizeof(trigger), "%s", r->trigger);
		struct wf_params p = { .env = env,
				       .action =
					       r->kind == ACTION_START ? ACTION_START : ACTION_STOP,
				       .trigger = trigger,
				       .trigger_said = r->trigger_said[0] ? r->trigger_said : NULL,
				       .locale = r->locale[0] ? r->locale : NULL,
				       .id = r->id,
				       .resume_state = r->step,
				       .resume_stack_id = r->stack_id,
				       .resume_image_tag = r->image_tag,
				       .poll_ms = wfm->d.poll_ms };
		struct wfm_item *it =
			item_new(wfm, &p, r->channel_id,
				 tr(r->locale[0] ? r->locale : NULL, "resumed after a restart"));
		if (!it) {
			log_error(MOD,
				  "msg=\"workflow in flight not resumed\" env=%s id=%s step=%s",
				  r->env, r->id, r->step);
			continue;
		}
		snprintf(it->message_id, sizeof(it->message_id), "%s", r->message_id);
		snprintf(it->saved_message, sizeof(it->saved_message), "%s", r->message_id);
		it->next = wfm->items;
		wfm->items = it;
		log_info(MOD, "msg=\"resuming workflow\" env=%s id=%s step=%s stack=%s", r->env,
			 r->id, r->step, r->stack_id);
		wf_begin(it->wf);
		resumed++;
	}
	free(recs);
	return resumed;
}
