/* The state's JSON document (cJSON): the encoder behind state_dump() and the
 * strict decoder behind state_parse(). The format is in state.h. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "state_internal.h"

/* ---------------------------------------------------------------- encoding */

static cJSON *add_date(cJSON *o, const char *key, ymd_t d)
{
	char buf[16];
	when_format_date(d, buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf);
}

/* Builds the document; NULL on allocation failure. Times are integer seconds
 * since the epoch (exact in a double up to 2^53), dates "YYYY-MM-DD". */
/* Appends a new string to arr; false (nothing leaks) on ENOMEM. */
static bool array_add_string(cJSON *arr, const char *v)
{
	cJSON *n = cJSON_CreateString(v);
	if (n && cJSON_AddItemToArray(arr, n))
		return true;
	cJSON_Delete(n);
	return false;
}

/* Events out and calendar copies: written only when there are some, so a
 * file from before them is unchanged by a load and a save. */
static bool encode_events(const struct state *st, cJSON *root)
{
	cJSON *es = st->n_events ? cJSON_AddArrayToObject(root, "events") : NULL;
	bool ok = es || !st->n_events;
	for (size_t i = 0; ok && i < st->n_events; i++) {
		const struct state_event *e = &st->events[i];
		cJSON *o = cJSON_CreateObject(), *ev = cJSON_Parse(e->json), *ps = NULL;
		ok = o && cJSON_AddItemToArray(es, o);
		if (!ok || !ev) {
			cJSON_Delete(ev);
			return false;
		}
		ok = cJSON_AddStringToObject(o, "id", e->id) &&
		     cJSON_AddNumberToObject(o, "created", (double)e->created) &&
		     cJSON_AddItemToObject(o, "event", ev) &&
		     (ps = cJSON_AddArrayToObject(o, "pending"));
		for (size_t k = 0; ok && k < e->n_pending; k++)
			ok = array_add_string(ps, e->pending[k]);
	}
	cJSON *cs = ok && st->n_cals ? cJSON_AddObjectToObject(root, "calendars") : NULL;
	ok = ok && (cs || !st->n_cals);
	for (size_t i = 0; ok && i < st->n_cals; i++) {
		const struct state_calendar *c = &st->cals[i];
		cJSON *o = cJSON_AddObjectToObject(cs, c->name), *ds = NULL;
		ok = o && cJSON_AddNumberToObject(o, "fetched", (double)c->fetched) &&
		     cJSON_AddNumberToObject(o, "failed_at", (double)c->failed_at) &&
		     cJSON_AddStringToObject(o, "error", c->error) &&
		     (ds = cJSON_AddArrayToObject(o, "days"));
		for (size_t k = 0; ok && k < c->n_days; k++) {
			char date[16];
			when_format_date(c->days[k].date, date, sizeof(date));
			cJSON *pair = cJSON_CreateArray();
			ok = pair && cJSON_AddItemToArray(ds, pair) &&
			     array_add_string(pair, date) &&
			     array_add_string(pair, c->days[k].summary);
		}
	}
	return ok;
}

static cJSON *encode(const struct state *st)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	bool ok = cJSON_AddNumberToObject(root, "version", STATE_VERSION) != NULL;

	/* Only once set, so that files from before the field are unchanged. */
	if (st->last_tick > 0)
		ok = ok && cJSON_AddNumberToObject(root, "last_tick", (double)st->last_tick);
	if (st->report_week)
		ok = ok && add_date(root, "report_week", st->report_week);

	if (st->frozen) {
		cJSON *f = cJSON_AddObjectToObject(root, "freeze");
		ok = ok && f && cJSON_AddStringToObject(f, "who", st->freeze.who) &&
		     cJSON_AddNumberToObject(f, "since", (double)st->freeze.since);
	}

	cJSON *envs = cJSON_AddObjectToObject(root, "environments");
	ok = ok && envs;
	for (size_t i = 0; ok && i < st->n_envs; i++) {
		const struct env_state *e = &st->envs[i];
		cJSON *eo = cJSON_AddObjectToObject(envs, e->name);
		cJSON *xs = eo ? cJSON_AddArrayToObject(eo, "extends") : NULL;
		ok = xs != NULL;
		for (size_t j = 0; ok && j < e->n_extends; j++) {
			cJSON *x = cJSON_CreateObject();
			ok = x && cJSON_AddItemToArray(xs, x) &&
			     add_date(x, "date", e->extends[j].date) &&
			     cJSON_AddNumberToObject(x, "stop_at", (double)e->extends[j].stop_at) &&
			     cJSON_AddNumberToObject(x, "set_at", (double)e->extends[j].set_at) &&
			     cJSON_AddStringToObject(x, "who", e->extends[j].who);
		}
		cJSON *ss = ok ? cJSON_AddArrayToObject(eo, "skips") : NULL;
		ok = ss != NULL;
		for (size_t j = 0; ok && j < e->n_skips; j++) {
			cJSON *s = cJSON_CreateObject();
			ok = s && cJSON_AddItemToArray(ss, s) &&
			     add_date(s, "date", e->skips[j].date) &&
			     cJSON_AddNumberToObject(s, "set_at", (double)e->skips[j].set_at) &&
			     cJSON_AddStringToObject(s, "who", e->skips[j].who);
		}
		if (ok && e->paused) {
			cJSON *p = cJSON_AddObjectToObject(eo, "pause");
			ok = p != NULL;
			if (ok && e->pause.until_date)
				ok = add_date(p, "until_date", e->pause.until_date) != NULL;
			if (ok && e->pause.until_at)
				ok = cJSON_AddNumberToObject(p, "until_at",
							     (double)e->pause.until_at) != NULL;
			ok = ok && cJSON_AddNumberToObject(p, "since", (double)e->pause.since) &&
			     cJSON_AddStringToObject(p, "who", e->pause.who);
		}
		if (ok && e->leased) {
			cJSON *l = cJSON_AddObjectToObject(eo, "lease");
			ok = l &&
			     cJSON_AddStringToObject(l, "action",
						     e->lease.action == ACTION_START ? "start"
										     : "stop") &&
			     cJSON_AddNumberToObject(l, "until", (double)e->lease.until) &&
			     cJSON_AddNumberToObject(l, "set_at", (double)e->lease.set_at) &&
			     cJSON_AddStringToObject(l, "who", e->lease.who);
		}
		if (ok && e->n_caps > 0) {
			cJSON *cs = cJSON_AddObjectToObject(eo, "capacities");
			ok = cs != NULL;
			for (size_t j = 0; ok && j < e->n_caps; j++) {
				const struct state_capacity *c = &e->caps[j];
				cJSON *co = cJSON_AddObjectToObject(cs, c->key);
				ok = co && cJSON_AddNumberToObject(co, "min", (double)c->min) &&
				     cJSON_AddNumberToObject(co, "desired", (double)c->desired) &&
				     cJSON_AddNumberToObject(co, "max", (double)c->max) &&
				     cJSON_AddNumberToObject(co, "saved_at", (double)c->saved_at);
			}
		}
		cJSON *up = ok ? cJSON_AddObjectToObject(eo, "uptime") : NULL;
		ok = up && cJSON_AddNumberToObject(up, "up_since", (double)e->up_since);
		cJSON *ivs = ok ? cJSON_AddArrayToObject(up, "intervals") : NULL;
		ok = ivs != NULL;
		for (size_t j = 0; ok && j < e->n_iv; j++) {
			double pair[2] = { (double)e->iv[j].from, (double)e->iv[j].to };
			cJSON *a = cJSON_CreateDoubleArray(pair, 2);
			ok = a && cJSON_AddItemToArray(ivs, a);
		}
	}

	cJSON *hs = ok ? cJSON_AddArrayToObject(root, "holidays") : NULL;
	ok = hs != NULL;
	for (size_t i = 0; ok && i < st->n_holidays; i++) {
		const struct state_holiday *h = &st->holidays[i];
		cJSON *o = cJSON_CreateObject();
		ok = o && cJSON_AddItemToArray(hs, o) && add_date(o, "date", h->date) &&
		     cJSON_AddStringToObject(o, "label", h->label) &&
		     cJSON_AddStringToObject(o, "who", h->who) &&
		     cJSON_AddNumberToObject(o, "added_at", (double)h->added_at);
	}

	cJSON *ws = ok ? cJSON_AddArrayToObject(root, "workflows") : NULL;
	ok = ws != NULL;
	for (size_t i = 0; ok && i < st->n_wfs; i++) {
		const struct state_wf *w = &st->wfs[i];
		cJSON *o = cJSON_CreateObject();
		ok = o && cJSON_AddItemToArray(ws, o) &&
		     cJSON_AddStringToObject(o, "env", w->env) &&
		     cJSON_AddStringToObject(o, "kind", action_name(w->kind)) &&
		     cJSON_AddStringToObject(o, "id", w->id) &&
		     cJSON_AddStringToObject(o, "trigger", w->trigger) &&
		     cJSON_AddNumberToObject(o, "started", (double)w->started) &&
		     cJSON_AddStringToObject(o, "stack_id", w->stack_id) &&
		     cJSON_AddStringToObject(o, "token", w->token) &&
		     cJSON_AddStringToObject(o, "channel_id", w->channel_id) &&
		     cJSON_AddStringToObject(o, "message_id", w->message_id) &&
		     cJSON_AddStringToObject(o, "step", w->step) &&
		     cJSON_AddStringToObject(o, "image_tag", w->image_tag);
		/* Written only when set: English and the trigger otherwise. */
		if (ok && w->locale[0])
			ok = cJSON_AddStringToObject(o, "locale", w->locale) != NULL;
		if (ok && w->trigger_said[0])
			ok = cJSON_AddStringToObject(o, "trigger_said", w->trigger_said) != NULL;
	}

	cJSON *as = ok ? cJSON_AddArrayToObject(root, "audit") : NULL;
	ok = as != NULL;
	for (size_t i = 0; ok && i < st->n_audit; i++) {
		const struct state_audit *a = state_audit_at(st, i);
		cJSON *o = cJSON_CreateObject();
		ok = o && cJSON_AddItemToArray(as, o) &&
		     cJSON_AddNumberToObject(o, "time", (double)a->time) &&
		     cJSON_AddStringToObject(o, "user_id", a->user_id) &&
		     cJSON_AddStringToObject(o, "user", a->user) &&
		     cJSON_AddStringToObject(o, "action", a->action) &&
		     cJSON_AddStringToObject(o, "env", a->env) &&
		     cJSON_AddStringToObject(o, "outcome", a->outcome);
	}

	/* Only when something waits, so that files from before the outbox are
	 * unchanged by a load and a save. */
	cJSON *fs = ok && st->n_finals ? cJSON_AddArrayToObject(root, "outbox") : NULL;
	ok = ok && (fs || !st->n_finals);
	for (size_t i = 0; ok && i < st->n_finals; i++) {
		const struct state_final *f = &st->finals[i];
		cJSON *o = cJSON_CreateObject();
		ok = o && cJSON_AddItemToArray(fs, o) &&
		     cJSON_AddStringToObject(o, "env", f->env) &&
		     cJSON_AddStringToObject(o, "id", f->id) &&
		     cJSON_AddNumberToObject(o, "finished", (double)f->finished) &&
		     cJSON_AddStringToObject(o, "channel_id", f->channel_id) &&
		     cJSON_AddStringToObject(o, "message_id", f->message_id) &&
		     cJSON_AddStringToObject(o, "message", f->message);
	}
	ok = ok && encode_events(st, root);

	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

char *state_dump(const struct state *st)
{
	cJSON *root = encode(st);
	if (!root)
		return NULL;
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	return s;
}

/* ---------------------------------------------------------------- decoding */

/* Decoding is strict: a field of the wrong type means the file is not what we
 * wrote, which is what "corrupt" means; the first error is kept. */
struct dec {
	char *err;
	size_t errlen;
	bool failed;
};

static int dec_fail(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int dec_fail(struct dec *d, const char *fmt, ...)
{
	if (!d->failed && d->err && d->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->err, d->errlen, fmt, ap);
		va_end(ap);
	}
	d->failed = true;
	return -1;
}

static int dec_time(struct dec *d, const cJSON *o, const char *where, const char *key, time_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	/* Integral, non-negative and below 2^53: what encode() writes. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0) ||
	    (double)(int64_t)v->valuedouble != v->valuedouble)
		return dec_fail(d, "%s: \"%s\" is not a time", where, key);
	*out = (time_t)v->valuedouble;
	return 0;
}

/* A capacity value: an integer from -1 (none) to 2^31. */
static int dec_count(struct dec *d, const cJSON *o, const char *where, const char *key,
		     long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1 && v->valuedouble <= 2147483648.0) ||
	    (double)(long long)v->valuedouble != v->valuedouble)
		return dec_fail(d, "%s: \"%s\" is not a count", where, key);
	*out = (long long)v->valuedouble;
	return 0;
}

static int dec_date(struct dec *d, const cJSON *o, const char *where, const char *key, ymd_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v) || when_parse_date(v->valuestring, out) < 0)
		return dec_fail(d, "%s: \"%s\" is not a date", where, key);
	return 0;
}

/* id: refuse what does not fit; otherwise truncate (human text). */
static int dec_str(struct dec *d, const cJSON *o, const char *where, const char *key, char *dst,
		   size_t size, bool id)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v))
		return dec_fail(d, "%s: \"%s\" is not a string", where, key);
	if (id) {
		if (state_copy_id(dst, size, v->valuestring) < 0)
			return dec_fail(d, "%s: \"%s\" is too long", where, key);
	} else {
		state_copy_text(dst, size, v->valuestring);
	}
	return 0;
}

/* dec_str of a key that may be absent (a file of an earlier writer):
 * "" then. */
static int dec_opt_str(struct dec *d, const cJSON *o, const char *where, const char *key, char *dst,
		       size_t size, bool id)
{
	dst[0] = '\0';
	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		return 0;
	return dec_str(d, o, where, key, dst, size, id);
}

static const cJSON *dec_array(struct dec *d, const cJSON *o, const char *where, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsArray(v)) {
		dec_fail(d, "%s: \"%s\" is not an array", where, key);
		return NULL;
	}
	return v;
}

static void dec_rc(struct dec *d, enum bot_rc rc, const char *where, const char *why)
{
	if (rc != BOT_OK)
		dec_fail(d, "%s: %s", where, why);
}

static void decode_env(struct dec *d, struct state *st, const cJSON *eo)
{
	char why[256] = "";
	char where[STATE_NAME_MAX + 32];
	const char *name = eo->string;
	snprintf(where, sizeof(where), "environments.%s", name ? name : "?");
	if (!cJSON_IsObject(eo) || !state_env_name_ok(name, why, sizeof(why))) {
		dec_fail(d, "%s: not a valid environment %s", where, why);
		return;
	}
	/* Created even when empty, so that a dump of the loaded state equals the
	 * file it came from. */
	if (!state_env_get(st, name, why, sizeof(why))) {
		dec_fail(d, "%s: %s", where, why);
		return;
	}

	const cJSON *xs = dec_array(d, eo, where, "extends"), *it;
	cJSON_ArrayForEach(it, xs)
	{
		struct state_extend x;
		memset(&x, 0, sizeof(x));
		if (dec_date(d, it, where, "date", &x.date) < 0 ||
		    dec_time(d, it, where, "stop_at", &x.stop_at) < 0 ||
		    dec_time(d, it, where, "set_at", &x.set_at) < 0 ||
		    dec_str(d, it, where, "who", x.who, sizeof(x.who), false) < 0)
			return;
		dec_rc(d, state_extend_put(st, name, &x, why, sizeof(why)), where, why);
	}
	const cJSON *ss = dec_array(d, eo, where, "skips");
	cJSON_ArrayForEach(it, ss)
	{
		struct state_skip s;
		memset(&s, 0, sizeof(s));
		if (dec_date(d, it, where, "date", &s.date) < 0 ||
		    dec_time(d, it, where, "set_at", &s.set_at) < 0 ||
		    dec_str(d, it, where, "who", s.who, sizeof(s.who), false) < 0)
			return;
		dec_rc(d, state_skip_put(st, name, &s, why, sizeof(why)), where, why);
	}
	const cJSON *po = cJSON_GetObjectItemCaseSensitive(eo, "pause");
	if (po) {
		struct state_pause p;
		memset(&p, 0, sizeof(p));
		if (cJSON_HasObjectItem(po, "until_date") &&
		    dec_date(d, po, where, "until_date", &p.until_date) < 0)
			return;
		if (cJSON_HasObjectItem(po, "until_at") &&
		    dec_time(d, po, where, "until_at", &p.until_at) < 0)
			return;
		if (dec_time(d, po, where, "since", &p.since) < 0 ||
		    dec_str(d, po, where, "who", p.who, sizeof(p.who), false) < 0)
			return;
		dec_rc(d, state_pause_put(st, name, &p, why, sizeof(why)), where, why);
	}
	const cJSON *lo = cJSON_GetObjectItemCaseSensitive(eo, "lease");
	if (lo) {
		struct state_lease l;
		char act[16];
		memset(&l, 0, sizeof(l));
		if (dec_str(d, lo, where, "action", act, sizeof(act), true) < 0 ||
		    dec_time(d, lo, where, "until", &l.until) < 0 ||
		    dec_time(d, lo, where, "set_at", &l.set_at) < 0 ||
		    dec_str(d, lo, where, "who", l.who, sizeof(l.who), false) < 0)
			return;
		if (strcmp(act, "start") != 0 && strcmp(act, "stop") != 0) {
			dec_fail(d, "%s: lease action \"%s\" is neither start nor stop", where,
				 act);
			return;
		}
		l.action = strcmp(act, "start") == 0 ? ACTION_START : ACTION_STOP;
		dec_rc(d, state_lease_put(st, name, &l, why, sizeof(why)), where, why);
	}
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(eo, "capacities");
	if (cs && !cJSON_IsObject(cs)) {
		dec_fail(d, "%s: \"capacities\" is not an object", where);
		return;
	}
	for (const cJSON *co = cs ? cs->child : NULL; co; co = co->next) {
		struct state_capacity c;
		memset(&c, 0, sizeof(c));
		if (state_copy_id(c.key, sizeof(c.key), co->string) < 0) {
			dec_fail(d, "%s: capacity key is too long", where);
			return;
		}
		if (dec_count(d, co, where, "min", &c.min) < 0 ||
		    dec_count(d, co, where, "desired", &c.desired) < 0 ||
		    dec_count(d, co, where, "max", &c.max) < 0 ||
		    dec_time(d, co, where, "saved_at", &c.saved_at) < 0)
			return;
		dec_rc(d, state_capacity_set(st, name, &c, why, sizeof(why)), where, why);
	}
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(eo, "uptime");
	if (!cJSON_IsObject(up)) {
		dec_fail(d, "%s: \"uptime\" is not an object", where);
		return;
	}
	struct env_state *e = (struct env_state *)state_env_find(st, name);
	if (dec_time(d, up, where, "up_since", &e->up_since) < 0)
		return;
	const cJSON *ivs = dec_array(d, up, where, "intervals");
	cJSON_ArrayForEach(it, ivs)
	{
		const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsNumber(a) ||
		    !cJSON_IsNumber(b) || !(a->valuedouble >= 0) ||
		    !(b->valuedouble >= a->valuedouble) || b->valuedouble >= 9007199254740992.0) {
			dec_fail(d, "%s: bad uptime interval", where);
			return;
		}
		dec_rc(d, state_interval_append(e, (time_t)a->valuedouble, (time_t)b->valuedouble),
		       where, "out of memory");
	}
}

static void decode_wf(struct dec *d, struct state *st, const cJSON *o)
{
	struct state_wf w;
	char why[256] = "";
	memset(&w, 0, sizeof(w));
	const char *where = "workflows";
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	if (!cJSON_IsString(kind) ||
	    (strcmp(kind->valuestring, "start") != 0 && strcmp(kind->valuestring, "stop") != 0)) {
		dec_fail(d, "workflows: \"kind\" is not start or stop");
		return;
	}
	w.kind = strcmp(kind->valuestring, "stop") == 0 ? ACTION_STOP : ACTION_START;
	if (dec_str(d, o, where, "env", w.env, sizeof(w.env), true) < 0 ||
	    dec_str(d, o, where, "id", w.id, sizeof(w.id), true) < 0 ||
	    dec_str(d, o, where, "trigger", w.trigger, sizeof(w.trigger), false) < 0 ||
	    dec_time(d, o, where, "started", &w.started) < 0 ||
	    dec_str(d, o, where, "stack_id", w.stack_id, sizeof(w.stack_id), true) < 0 ||
	    dec_str(d, o, where, "token", w.token, sizeof(w.token), true) < 0 ||
	    dec_str(d, o, where, "channel_id", w.channel_id, sizeof(w.channel_id), true) < 0 ||
	    dec_str(d, o, where, "message_id", w.message_id, sizeof(w.message_id), true) < 0 ||
	    dec_str(d, o, where, "step", w.step, sizeof(w.step), true) < 0 ||
	    dec_str(d, o, where, "image_tag", w.image_tag, sizeof(w.image_tag), true) < 0 ||
	    dec_opt_str(d, o, where, "locale", w.locale, sizeof(w.locale), true) < 0 ||
	    dec_opt_str(d, o, where, "trigger_said", w.trigger_said, sizeof(w.trigger_said),
			false) < 0)
		return;
	dec_rc(d, state_wf_put(st, &w, why, sizeof(why)), where, why);
}

static void decode_final(struct dec *d, struct state *st, const cJSON *o)
{
	char why[256] = "";
	const char *where = "outbox";
	/* 16 KiB: on the heap, not on the loop thread's stack. */
	struct state_final *f = calloc(1, sizeof(*f));
	if (!f) {
		dec_fail(d, "outbox: out of memory");
		return;
	}
	if (dec_str(d, o, where, "env", f->env, sizeof(f->env), true) < 0 ||
	    dec_str(d, o, where, "id", f->id, sizeof(f->id), true) < 0 ||
	    dec_time(d, o, where, "finished", &f->finished) < 0 ||
	    dec_str(d, o, where, "channel_id", f->channel_id, sizeof(f->channel_id), true) < 0 ||
	    dec_str(d, o, where, "message_id", f->message_id, sizeof(f->message_id), true) < 0 ||
	    dec_str(d, o, where, "message", f->message, sizeof(f->message), true) < 0)
		goto out;
	dec_rc(d, state_final_put(st, f, why, sizeof(why)), where, why);
out:
	free(f);
}

static void decode_event(struct dec *d, struct state *st, const cJSON *o)
{
	char why[256] = "";
	const char *where = "events";
	/* 5 KiB: on the heap, not on the loop thread's stack. */
	struct state_event *e = calloc(1, sizeof(*e));
	char *json = NULL;
	if (!e) {
		dec_fail(d, "events: out of memory");
		return;
	}
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event"), *ps, *it;
	if (dec_str(d, o, where, "id", e->id, sizeof(e->id), true) < 0 ||
	    dec_time(d, o, where, "created", &e->created) < 0 ||
	    !(ps = dec_array(d, o, where, "pending")))
		goto out;
	if (!cJSON_IsObject(ev) || !(json = cJSON_PrintUnformatted(ev)) ||
	    strlen(json) >= sizeof(e->json)) {
		dec_fail(d, "events: \"event\" of %s is not an object that fits", e->id);
		goto out;
	}
	memcpy(e->json, json, strlen(json) + 1);
	cJSON_ArrayForEach(it, ps)
	{
		if (!cJSON_IsString(it) || e->n_pending >= STATE_SINKS_MAX ||
		    strlen(it->valuestring) >= STATE_SINK_NAME_MAX) {
			dec_fail(d, "events: a pending sink of %s is not a sink name", e->id);
			goto out;
		}
		memcpy(e->pending[e->n_pending++], it->valuestring, strlen(it->valuestring) + 1);
	}
	dec_rc(d, state_event_put(st, e, NULL, why, sizeof(why)), where, why);
out:
	cJSON_free(json);
	free(e);
}

static void decode_calendar(struct dec *d, struct state *st, const cJSON *o)
{
	char why[256] = "", where[STATE_CAL_NAME_MAX + 16];
	snprintf(where, sizeof(where), "calendars.%s", o->string ? o->string : "?");
	time_t fetched = 0, failed_at = 0;
	char error[STATE_TEXT_MAX] = "";
	const cJSON *ds, *it;
	if (!cJSON_IsObject(o) || dec_time(d, o, where, "fetched", &fetched) < 0 ||
	    dec_time(d, o, where, "failed_at", &failed_at) < 0 ||
	    dec_str(d, o, where, "error", error, sizeof(error), false) < 0 ||
	    !(ds = dec_array(d, o, where, "days")))
		return;
	size_t n = (size_t)cJSON_GetArraySize(ds), k = 0;
	struct state_cal_day *days = calloc(n ? n : 1, sizeof(*days));
	if (!days) {
		dec_fail(d, "%s: out of memory", where);
		return;
	}
	cJSON_ArrayForEach(it, ds)
	{
		const cJSON *date = cJSON_GetArrayItem(it, 0), *sum = cJSON_GetArrayItem(it, 1);
		if (!cJSON_IsArray(it) || !cJSON_IsString(date) || !cJSON_IsString(sum) ||
		    when_parse_date(date->valuestring, &days[k].date) != 0) {
			dec_fail(d, "%s: a day is not [ \"YYYY-MM-DD\", \"summary\" ]", where);
			break;
		}
		state_copy_text(days[k].summary, sizeof(days[k].summary), sum->valuestring);
		k++;
	}
	if (!d->failed)
		dec_rc(d, state_calendar_set(st, o->string, fetched, days, k, why, sizeof(why)),
		       where, why);
	if (!d->failed && failed_at)
		state_calendar_failed(st, o->string, failed_at, error);
	free(days);
}

enum bot_rc state_parse(const char *json, struct state **out, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	struct dec d = { .err = err, .errlen = errlen };
	struct state *st = NULL;
	char why[256] = "";
	const cJSON *it;
	*out = NULL;

	/* The whole text must be the document: trailing bytes mean damage. */
	cJSON *root = cJSON_ParseWithOpts(json, NULL, true);
	if (!root) {
		state_set_err(err, errlen, "not JSON (truncated or damaged)");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		state_set_err(err, errlen, "not a JSON object");
		goto out;
	}
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(ver) || !(ver->valuedouble >= 1)) {
		state_set_err(err, errlen, "no valid \"version\"");
		goto out;
	}
	if (ver->valuedouble > STATE_VERSION) {
		/* Written by a newer envbot: refusing is the only safe answer; a
		 * guess could drop what that version stored. */
		state_set_err(
			err, errlen,
			"state format version %.0f is newer than this envbot understands (%d): "
			"upgrade envbot or move the file aside",
			ver->valuedouble, STATE_VERSION);
		rc = BOT_EINVAL;
		goto out;
	}
	if (ver->valuedouble != STATE_VERSION) {
		state_set_err(err, errlen, "no valid \"version\"");
		goto out;
	}

	rc = BOT_ENOMEM;
	st = state_create();
	if (!st)
		goto out;
	/* The file may hold more than the default: the caller applies the
	 * configured audit_max after loading. */
	st->audit_max = STATE_AUDIT_HARD_MAX;
	rc = BOT_EPARSE;

	/* Optional: absent in files written before the scheduler kept it. */
	if (cJSON_HasObjectItem(root, "report_week") &&
	    dec_date(&d, root, "state", "report_week", &st->report_week) < 0)
		goto out;
	if (cJSON_HasObjectItem(root, "last_tick") &&
	    dec_time(&d, root, "state", "last_tick", &st->last_tick) < 0)
		goto out;

	const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "freeze");
	if (f) {
		if (dec_time(&d, f, "freeze", "since", &st->freeze.since) < 0 ||
		    dec_str(&d, f, "freeze", "who", st->freeze.who, sizeof(st->freeze.who), false) <
			    0)
			goto out;
		st->frozen = true;
	}

	const cJSON *envs = cJSON_GetObjectItemCaseSensitive(root, "environments");
	if (!cJSON_IsObject(envs)) {
		dec_fail(&d, "\"environments\" is not an object");
		goto out;
	}
	cJSON_ArrayForEach(it, envs)
	{
		decode_env(&d, st, it);
		if (d.failed)
			goto out;
	}

	cJSON_ArrayForEach(it, dec_array(&d, root, "state", "holidays"))
	{
		struct state_holiday h;
		memset(&h, 0, sizeof(h));
		if (dec_date(&d, it, "holidays", "date", &h.date) < 0 ||
		    dec_str(&d, it, "holidays", "label", h.label, sizeof(h.label), false) < 0 ||
		    dec_str(&d, it, "holidays", "who", h.who, sizeof(h.who), false) < 0 ||
		    dec_time(&d, it, "holidays", "added_at", &h.added_at) < 0)
			goto out;
		dec_rc(&d, state_holiday_put(st, &h, why, sizeof(why)), "holidays", why);
		if (d.failed)
			goto out;
	}
	if (d.failed)
		goto out;

	cJSON_ArrayForEach(it, dec_array(&d, root, "state", "workflows"))
	{
		decode_wf(&d, st, it);
		if (d.failed)
			goto out;
	}
	if (d.failed)
		goto out;

	cJSON_ArrayForEach(it, dec_array(&d, root, "state", "audit"))
	{
		struct state_audit a;
		memset(&a, 0, sizeof(a));
		if (dec_time(&d, it, "audit", "time", &a.time) < 0 ||
		    dec_str(&d, it, "audit", "user_id", a.user_id, sizeof(a.user_id), false) < 0 ||
		    dec_str(&d, it, "audit", "user", a.user, sizeof(a.user), false) < 0 ||
		    dec_str(&d, it, "audit", "action", a.action, sizeof(a.action), false) < 0 ||
		    dec_str(&d, it, "audit", "env", a.env, sizeof(a.env), false) < 0 ||
		    dec_str(&d, it, "audit", "outcome", a.outcome, sizeof(a.outcome), false) < 0)
			goto out;
		if (state_audit_add(st, &a) != BOT_OK) {
			rc = BOT_ENOMEM;
			goto out;
		}
	}
	if (d.failed)
		goto out;

	/* Optional: absent in files written before the outbox, and whenever
	 * nothing waits. */
	if (cJSON_HasObjectItem(root, "outbox")) {
		cJSON_ArrayForEach(it, dec_array(&d, root, "state", "outbox"))
		{
			decode_final(&d, st, it);
			if (d.failed)
				goto out;
		}
		if (d.failed)
			goto out;
	}
	/* Optional, like the outbox. */
	if (cJSON_HasObjectItem(root, "events")) {
		cJSON_ArrayForEach(it, dec_array(&d, root, "state", "events"))
		{
			decode_event(&d, st, it);
			if (d.failed)
				goto out;
		}
		if (d.failed)
			goto out;
	}
	const cJSON *cals = cJSON_GetObjectItemCaseSensitive(root, "calendars");
	if (cals && !cJSON_IsObject(cals)) {
		dec_fail(&d, "state: \"calendars\" is not an object");
		goto out;
	}
	cJSON_ArrayForEach(it, cals)
	{
		decode_calendar(&d, st, it);
		if (d.failed)
			goto out;
	}
	/* Keep what the file held; the caller then applies the configured
	 * bound with state_set_audit_max(). */
	st->audit_max = st->n_audit > STATE_AUDIT_DEFAULT ? st->n_audit : STATE_AUDIT_DEFAULT;

	*out = st;
	st = NULL;
	rc = BOT_OK;
out:
	cJSON_Delete(root);
	state_destroy(st);
	return rc;
}
