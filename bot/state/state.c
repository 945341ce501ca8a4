/* The daemon's persistent state, in memory: overrides, holidays, audit,
 * workflows in flight, the outbox and uptime, each kept sorted or bounded as
 * state.h describes. The rule, the JSON encoding and the file live in
 * state_rule.c, state_json.c and state_file.c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/array.h"
#include "../core/log.h"
#include "state.h"
#include "state_internal.h"

/* ------------------------------------------------------------------ helpers */

void state_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copies src into dst (size bytes), truncating at a UTF-8 character boundary
 * so that a long display name never ends in half a character. NULL = "". */
void state_copy_text(char *dst, size_t size, const char *src)
{
	if (!src)
		src = "";
	size_t n = strlen(src);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Identifiers are never truncated: a cut stack id would point elsewhere. */
int state_copy_id(char *dst, size_t size, const char *src)
{
	if (!src)
		src = "";
	size_t n = strlen(src);
	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

bool state_env_name_ok(const char *env, char *err, size_t errlen)
{
	if (!env || !*env) {
		state_set_err(err, errlen, "no environment name");
		return false;
	}
	if (strlen(env) >= STATE_NAME_MAX) {
		state_set_err(err, errlen, "environment name longer than %d bytes",
			      STATE_NAME_MAX - 1);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ create/destroy */

struct state *state_create(void)
{
	struct state *st = calloc(1, sizeof(*st));
	if (st)
		st->audit_max = STATE_AUDIT_DEFAULT;
	return st;
}

static void env_free(struct env_state *e)
{
	free(e->skips);
	free(e->caps);
	free(e->iv);
}

void state_destroy(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_envs; i++)
		env_free(&st->envs[i]);
	free(st->envs);
	free(st->holidays);
	free(st->audit);
	free(st->wfs);
	free(st->finals);
	free(st->events);
	for (size_t i = 0; i < st->n_cals; i++)
		free(st->cals[i].days);
	free(st->cals);
	free(st);
}

/* ---------------------------------------------------------- per-environment */

static size_t env_lower_bound(const struct state *st, const char *name)
{
	size_t lo = 0, hi = st->n_envs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(st->envs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct env_state *state_env_find(const struct state *st, const char *name)
{
	if (!name)
		return NULL;
	size_t i = env_lower_bound(st, name);
	if (i < st->n_envs && strcmp(st->envs[i].name, name) == 0)
		return &st->envs[i];
	return NULL;
}

/* Returns the record of name, creating it; NULL with a reason on failure. The
 * pointer is valid until the next state_env_get (the array may move). */
struct env_state *state_env_get(struct state *st, const char *name, char *err, size_t errlen)
{
	if (!state_env_name_ok(name, err, errlen))
		return NULL;
	size_t i = env_lower_bound(st, name);
	if (i < st->n_envs && strcmp(st->envs[i].name, name) == 0)
		return &st->envs[i];
	if (st->n_envs >= STATE_MAX_ENVS) {
		state_set_err(err, errlen, "too many environments in the state (%d)",
			      STATE_MAX_ENVS);
		return NULL;
	}
	if (array_grow(&st->envs, &st->cap_envs, st->n_envs + 1, sizeof(*st->envs), 0) < 0) {
		state_set_err(err, errlen, "out of memory");
		return NULL;
	}
	memmove(&st->envs[i + 1], &st->envs[i], (st->n_envs - i) * sizeof(*st->envs));
	st->n_envs++;
	struct env_state *e = &st->envs[i];
	memset(e, 0, sizeof(*e));
	state_copy_text(e->name, sizeof(e->name), name);
	return e;
}

static bool env_empty(const struct env_state *e)
{
	return e->n_extends == 0 && e->n_skips == 0 && !e->paused && !e->leased && e->n_caps == 0 &&
	       e->up_since == 0 && e->n_iv == 0;
}

/* ------------------------------------------------------------------ extend */

enum bot_rc state_extend_put(struct state *st, const char *env, const struct state_extend *x,
			     char *err, size_t errlen)
{
	if (!when_date_valid(x->date)) {
		state_set_err(err, errlen, "invalid date %d", (int)x->date);
		return BOT_EINVAL;
	}
	if (x->stop_at <= 0) {
		state_set_err(err, errlen, "invalid stop time");
		return BOT_EINVAL;
	}
	struct env_state *e = state_env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	size_t i;
	for (i = 0; i < e->n_extends; i++) {
		if (e->extends[i].date == x->date)
			break;
	}
	if (i == e->n_extends) {
		if (e->n_extends >= STATE_MAX_EXTENDS) {
			state_set_err(err, errlen, "%s already has %d pending extends", env,
				      STATE_MAX_EXTENDS);
			return BOT_EINVAL;
		}
		/* Keep them in date order: the file and /env status read better. */
		while (i > 0 && e->extends[i - 1].date > x->date) {
			e->extends[i] = e->extends[i - 1];
			i--;
		}
		e->n_extends++;
	}
	e->extends[i] = *x;
	return BOT_OK;
}

enum bot_rc state_extend_set(struct state *st, const char *env, ymd_t date, time_t stop_at,
			     const char *who, time_t now, char *err, size_t errlen)
{
	struct state_extend x = { .date = date, .stop_at = stop_at, .set_at = now };
	state_copy_text(x.who, sizeof(x.who), who);
	return state_extend_put(st, env, &x, err, errlen);
}

bool state_extend_clear(struct state *st, const char *env, ymd_t date)
{
	struct env_state *e = (struct env_state *)state_env_find(st, env);
	if (!e)
		return false;
	for (size_t i = 0; i < e->n_extends; i++) {
		if (e->extends[i].date == date) {
			memmove(&e->extends[i], &e->extends[i + 1],
				(e->n_extends - i - 1) * sizeof(e->extends[0]));
			e->n_extends--;
			return true;
		}
	}
	return false;
}

const struct state_extend *state_extend_for(const struct state *st, const char *env, ymd_t date)
{
	const struct env_state *e = state_env_find(st, env);
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_extends; i++) {
		if (e->extends[i].date == date)
			return &e->extends[i];
	}
	return NULL;
}

size_t state_extend_count(const struct state *st, const char *env)
{
	const struct env_state *e = state_env_find(st, env);
	return e ? e->n_extends : 0;
}

const struct state_extend *state_extend_at(const struct state *st, const char *env, size_t i)
{
	const struct env_state *e = state_env_find(st, env);
	return e && i < e->n_extends ? &e->extends[i] : NULL;
}

/* -------------------------------------------------------------------- skip */

enum bot_rc state_skip_put(struct state *st, const char *env, const struct state_skip *s, char *err,
			   size_t errlen)
{
	if (!when_date_valid(s->date)) {
		state_set_err(err, errlen, "invalid date %d", (int)s->date);
		return BOT_EINVAL;
	}
	struct env_state *e = state_env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	size_t i = 0;
	while (i < e->n_skips && e->skips[i].date < s->date)
		i++;
	if (i < e->n_skips && e->skips[i].date == s->date) {
		e->skips[i] = *s; /* the latest who wins: it is who the reply names */
		return BOT_OK;
	}
	if (e->n_skips >= STATE_MAX_SKIPS) {
		state_set_err(err, errlen, "%s already has %d skipped dates", env, STATE_MAX_SKIPS);
		return BOT_EINVAL;
	}
	if (array_grow(&e->skips, &e->cap_skips, e->n_skips + 1, sizeof(*e->skips), 0) < 0) {
		state_set_err(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	memmove(&e->skips[i + 1], &e->skips[i], (e->n_skips - i) * sizeof(*e->skips));
	e->skips[i] = *s;
	e->n_skips++;
	return BOT_OK;
}

enum bot_rc state_skip_add(struct state *st, const char *env, ymd_t date, const char *who,
			   time_t now, char *err, size_t errlen)
{
	struct state_skip s = { .date = date, .set_at = now };
	state_copy_text(s.who, sizeof(s.who), who);
	return state_skip_put(st, env, &s, err, errlen);
}

bool state_skip_remove(struct state *st, const char *env, ymd_t date)
{
	struct env_state *e = (struct env_state *)state_env_find(st, env);
	if (!e)
		return false;
	for (size_t i = 0; i < e->n_skips; i++) {
		if (e->skips[i].date == date) {
			memmove(&e->skips[i], &e->skips[i + 1],
				(e->n_skips - i - 1) * sizeof(*e->skips));
			e->n_skips--;
			return true;
		}
	}
	return false;
}

const struct state_skip *state_skip_find(const struct state *st, const char *env, ymd_t date)
{
	const struct env_state *e = state_env_find(st, env);
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_skips; i++) {
		if (e->skips[i].date == date)
			return &e->skips[i];
	}
	return NULL;
}

bool state_is_skipped(const struct state *st, const char *env, ymd_t date)
{
	return state_skip_find(st, env, date) != NULL;
}

size_t state_skip_count(const struct state *st, const char *env)
{
	const struct env_state *e = state_env_find(st, env);
	return e ? e->n_skips : 0;
}

const struct state_skip *state_skip_at(const struct state *st, const char *env, size_t i)
{
	const struct env_state *e = state_env_find(st, env);
	return e && i < e->n_skips ? &e->skips[i] : NULL;
}

/* ------------------------------------------------------------------- pause */

enum bot_rc state_pause_put(struct state *st, const char *env, const struct state_pause *p,
			    char *err, size_t errlen)
{
	if ((p->until_date != 0) == (p->until_at != 0)) {
		state_set_err(err, errlen, "a pause needs exactly one end: a date or an instant");
		return BOT_EINVAL;
	}
	if (p->until_date != 0 && !when_date_valid(p->until_date)) {
		state_set_err(err, errlen, "invalid date %d", (int)p->until_date);
		return BOT_EINVAL;
	}
	if (p->until_at < 0) {
		state_set_err(err, errlen, "invalid end time");
		return BOT_EINVAL;
	}
	struct env_state *e = state_env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	e->pause = *p;
	e->paused = true;
	return BOT_OK;
}

enum bot_rc state_pause_set(struct state *st, const char *env, ymd_t until_date, time_t until_at,
			    const char *who, time_t now, char *err, size_t errlen)
{
	struct state_pause p = { .until_date = until_date, .until_at = until_at, .since = now };
	state_copy_text(p.who, sizeof(p.who), who);
	return state_pause_put(st, env, &p, err, errlen);
}

bool state_pause_clear(struct state *st, const char *env)
{
	struct env_state *e = (struct env_state *)state_env_find(st, env);
	if (!e || !e->paused)
		return false;
	e->paused = false;
	memset(&e->pause, 0, sizeof(e->pause));
	return true;
}

const struct state_pause *state_pause_until(const struct state *st, const char *env)
{
	const struct env_state *e = state_env_find(st, env);
	return e && e->paused ? &e->pause : NULL;
}

/* ------------------------------------------------------------------- lease */

enum bot_rc state_lease_put(struct state *st, const char *env, const struct state_lease *l,
			    char *err, size_t errlen)
{
	if (l->action != ACTION_START && l->action != ACTION_STOP) {
		state_set_err(err, errlen, "a lease is of a start or a stop");
		return BOT_EINVAL;
	}
	if (l->until < 0 || l->set_at < 0) {
		state_set_err(err, errlen, "invalid lease time");
		return BOT_EINVAL;
	}
	struct env_state *e = state_env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	e->lease = *l;
	e->leased = true;
	return BOT_OK;
}

enum bot_rc state_lease_set(struct state *st, const char *env, enum action action, time_t until,
			    const char *who, time_t now, char *err, size_t errlen)
{
	if (until != 0 && until <= now) {
		state_set_err(err, errlen, "the lease would end in the past");
		return BOT_EINVAL;
	}
	struct state_lease l = { .action = action, .until = until, .set_at = now };
	state_copy_text(l.who, sizeof(l.who), who);
	return state_lease_put(st, env, &l, err, errlen);
}

bool state_lease_clear(struct state *st, const char *env)
{
	struct env_state *e = (struct env_state *)state_env_find(st, env);
	if (!e || !e->leased)
		return false;
	e->leased = false;
	memset(&e->lease, 0, sizeof(e->lease));
	return true;
}

const struct state_lease *state_lease_of(const struct state *st, const char *env)
{
	const struct env_state *e = state_env_find(st, env);
	return e && e->leased ? &e->lease : NULL;
}

/* -------------------------------------------------------------- capacities */

enum bot_rc state_capacity_set(struct state *st, const char *env, const struct state_capacity *c,
			       char *err, size_t errlen)
{
	size_t klen = strnlen(c->key, sizeof(c->key));
	if (klen == 0 || klen >= sizeof(c->key)) {
		state_set_err(err, errlen, "a saved capacity needs a key of 1 to %d bytes",
			      STATE_KEY_MAX - 1);
		return BOT_EINVAL;
	}
	if (c->min < -1 || c->desired < -1 || c->max < -1 || c->saved_at < 0) {
		state_set_err(err, errlen, "capacity %s: values are counts, or -1 for none",
			      c->key);
		return BOT_EINVAL;
	}
	struct env_state *e = state_env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	for (size_t i = 0; i < e->n_caps; i++) {
		if (strcmp(e->caps[i].key, c->key) == 0) {
			e->caps[i] = *c;
			return BOT_OK;
		}
	}
	if (e->n_caps >= STATE_MAX_CAPACITIES) {
		state_set_err(err, errlen, "too many saved capacities for %s (%d)", env,
			      STATE_MAX_CAPACITIES);
		return BOT_EINVAL;
	}
	if (array_grow(&e->caps, &e->cap_caps, e->n_caps + 1, sizeof(*e->caps), 0) < 0) {
		state_set_err(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	e->caps[e->n_caps++] = *c;
	return BOT_OK;
}

const struct state_capacity *state_capacity_get(const struct state *st, const char *env,
						const char *key)
{
	const struct env_state *e = state_env_find(st, env);
	for (size_t i = 0; e && key && i < e->n_caps; i++)
		if (strcmp(e->caps[i].key, key) == 0)
			return &e->caps[i];
	return NULL;
}

size_t state_capacity_count(const struct state *st, const char *env)
{
	const struct env_state *e = state_env_find(st, env);
	return e ? e->n_caps : 0;
}

const struct state_capacity *state_capacity_at(const struct state *st, const char *env, size_t i)
{
	const struct env_state *e = state_env_find(st, env);
	return e && i < e->n_caps ? &e->caps[i] : NULL;
}

/* ------------------------------------------------------------------ freeze */

void state_freeze(struct state *st, const char *who, time_t now)
{
	if (st->frozen)
		return;
	st->frozen = true;
	st->freeze.since = now;
	state_copy_text(st->freeze.who, sizeof(st->freeze.who), who);
}

bool state_unfreeze(struct state *st)
{
	bool was = st->frozen;
	st->frozen = false;
	memset(&st->freeze, 0, sizeof(st->freeze));
	return was;
}

const struct state_freeze *state_is_frozen(const struct state *st)
{
	return st->frozen ? &st->freeze : NULL;
}

/* ---------------------------------------------------------------- holidays */

enum bot_rc state_holiday_put(struct state *st, const struct state_holiday *h, char *err,
			      size_t errlen)
{
	if (!when_date_valid(h->date)) {
		state_set_err(err, errlen, "invalid date %d", (int)h->date);
		return BOT_EINVAL;
	}
	size_t i = 0;
	while (i < st->n_holidays && st->holidays[i].date < h->date)
		i++;
	if (i < st->n_holidays && st->holidays[i].date == h->date) {
		char d[16];
		when_format_date(h->date, d, sizeof(d));
		state_set_err(err, errlen, "%s is already a holiday (added by %s)", d,
			      st->holidays[i].who);
		return BOT_EINVAL;
	}
	if (st->n_holidays >= STATE_MAX_HOLIDAYS) {
		state_set_err(err, errlen, "too many holidays (%d)", STATE_MAX_HOLIDAYS);
		return BOT_EINVAL;
	}
	if (array_grow(&st->holidays, &st->cap_holidays, st->n_holidays + 1, sizeof(*st->holidays),
		       0) < 0) {
		state_set_err(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	memmove(&st->holidays[i + 1], &st->holidays[i],
		(st->n_holidays - i) * sizeof(*st->holidays));
	st->holidays[i] = *h;
	st->n_holidays++;
	return BOT_OK;
}

enum bot_rc state_holiday_add(struct state *st, ymd_t date, const char *label, const char *who,
			      time_t now, char *err, size_t errlen)
{
	struct state_holiday h = { .date = date, .added_at = now };
	state_copy_text(h.label, sizeof(h.label), label);
	state_copy_text(h.who, sizeof(h.who), who);
	return state_holiday_put(st, &h, err, errlen);
}

bool state_holiday_remove(struct state *st, ymd_t date)
{
	for (size_t i = 0; i < st->n_holidays; i++) {
		if (st->holidays[i].date == date) {
			memmove(&st->holidays[i], &st->holidays[i + 1],
				(st->n_holidays - i - 1) * sizeof(*st->holidays));
			st->n_holidays--;
			return true;
		}
	}
	return false;
}

const struct state_holiday *state_holiday_find(const struct state *st, ymd_t date)
{
	for (size_t i = 0; i < st->n_holidays; i++) {
		if (st->holidays[i].date == date)
			return &st->holidays[i];
	}
	return NULL;
}

size_t state_holiday_count(const struct state *st)
{
	return st->n_holidays;
}

const struct state_holiday *state_holiday_at(const struct state *st, size_t i)
{
	return i < st->n_holidays ? &st->holidays[i] : NULL;
}

/* ------------------------------------------------------------------- audit */

/* Rewrites the ring into order (oldest first) in a new array of exactly cap
 * entries (>= n kept), keeping the newest `keep` entries. */
static int audit_relinearize(struct state *st, size_t cap, size_t keep)
{
	struct state_audit *na = malloc(cap * sizeof(*na));
	if (!na)
		return -1;
	size_t skip = st->n_audit - keep;
	for (size_t i = 0; i < keep; i++)
		na[i] = *state_audit_at(st, skip + i);
	free(st->audit);
	st->audit = na;
	st->cap_audit = cap;
	st->n_audit = keep;
	st->audit_head = 0;
	return 0;
}

void state_set_audit_max(struct state *st, int max)
{
	size_t m = max < 1 ? 1 : max > STATE_AUDIT_HARD_MAX ? STATE_AUDIT_HARD_MAX : (size_t)max;
	size_t keep = st->n_audit < m ? st->n_audit : m;
	/* Always relinearize when the ring wrapped: growth assumes order. */
	if (st->n_audit > 0 && audit_relinearize(st, keep, keep) < 0) {
		/* Out of memory: keep the old max rather than lose entries. */
		log_error("state", "msg=\"cannot resize the audit log\" max=%d", max);
		return;
	}
	st->audit_max = m;
}

enum bot_rc state_audit_add(struct state *st, const struct state_audit *e)
{
	struct state_audit *slot;
	if (st->n_audit < st->audit_max) {
		if (st->n_audit == st->cap_audit) {
			size_t ncap = st->cap_audit ? st->cap_audit * 2 : 16;
			if (ncap > st->audit_max)
				ncap = st->audit_max;
			struct state_audit *na = realloc(st->audit, ncap * sizeof(*na));
			if (!na)
				return BOT_ENOMEM;
			st->audit = na;
			st->cap_audit = ncap;
		}
		slot = &st->audit[st->n_audit++];
	} else {
		/* Full: the oldest is overwritten and the next one becomes oldest. */
		slot = &st->audit[st->audit_head];
		st->audit_head = (st->audit_head + 1) % st->n_audit;
	}
	slot->time = e->time;
	state_copy_text(slot->user_id, sizeof(slot->user_id), e->user_id);
	state_copy_text(slot->user, sizeof(slot->user), e->user);
	state_copy_text(slot->action, sizeof(slot->action), e->action);
	state_copy_text(slot->env, sizeof(slot->env), e->env);
	state_copy_text(slot->outcome, sizeof(slot->outcome), e->outcome);
	return BOT_OK;
}

enum bot_rc state_audit(struct state *st, time_t when, const char *user_id, const char *user,
			const char *action, const char *env, const char *outcome)
{
	struct state_audit e = { .time = when };
	state_copy_text(e.user_id, sizeof(e.user_id), user_id);
	state_copy_text(e.user, sizeof(e.user), user);
	state_copy_text(e.action, sizeof(e.action), action);
	state_copy_text(e.env, sizeof(e.env), env);
	state_copy_text(e.outcome, sizeof(e.outcome), outcome);
	return state_audit_add(st, &e);
}

size_t state_audit_count(const struct state *st)
{
	return st->n_audit;
}

const struct state_audit *state_audit_at(const struct state *st, size_t i)
{
	if (i >= st->n_audit)
		return NULL;
	return &st->audit[(st->audit_head + i) % st->n_audit];
}

/* --------------------------------------------------------------- workflows */

enum bot_rc state_wf_put(struct state *st, const struct state_wf *wf, char *err, size_t errlen)
{
	struct state_wf w;
	memset(&w, 0, sizeof(w));
	if (!state_env_name_ok(wf->env, err, errlen))
		return BOT_EINVAL;
	if (wf->kind != ACTION_START && wf->kind != ACTION_STOP) {
		state_set_err(err, errlen, "invalid workflow kind");
		return BOT_EINVAL;
	}
	/* The caller's struct has the same field sizes, but its strings may be
	 * unterminated: strnlen bounds every read. */
	const struct {
		const char *name;
		const char *src;
		char *dst;
		size_t size;
	} ids[] = {
		{ "env", wf->env, w.env, sizeof(w.env) },
		{ "id", wf->id, w.id, sizeof(w.id) },
		{ "stack_id", wf->stack_id, w.stack_id, sizeof(w.stack_id) },
		{ "token", wf->token, w.token, sizeof(w.token) },
		{ "channel_id", wf->channel_id, w.channel_id, sizeof(w.channel_id) },
		{ "message_id", wf->message_id, w.message_id, sizeof(w.message_id) },
		{ "step", wf->step, w.step, sizeof(w.step) },
		{ "image_tag", wf->image_tag, w.image_tag, sizeof(w.image_tag) },
		{ "locale", wf->locale, w.locale, sizeof(w.locale) },
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (strnlen(ids[i].src, ids[i].size) >= ids[i].size) {
			state_set_err(err, errlen, "workflow %s is too long", ids[i].name);
			return BOT_EINVAL;
		}
		memcpy(ids[i].dst, ids[i].src, strlen(ids[i].src) + 1);
	}
	w.kind = wf->kind;
	w.started = wf->started;
	size_t tl = strnlen(wf->trigger, sizeof(w.trigger) - 1);
	memcpy(w.trigger, wf->trigger, tl);
	w.trigger[tl] = '\0';
	/* Shown text: cut at a character, never in the middle of one. */
	char said[STATE_TEXT_MAX];
	size_t sl = strnlen(wf->trigger_said, sizeof(said) - 1);
	memcpy(said, wf->trigger_said, sl);
	said[sl] = '\0';
	state_copy_text(w.trigger_said, sizeof(w.trigger_said), said);

	for (size_t i = 0; i < st->n_wfs; i++) {
		if (strcmp(st->wfs[i].env, w.env) == 0) {
			st->wfs[i] = w;
			return BOT_OK;
		}
	}
	if (st->n_wfs >= STATE_MAX_WORKFLOWS) {
		state_set_err(err, errlen, "too many workflows in flight (%d)",
			      STATE_MAX_WORKFLOWS);
		return BOT_EINVAL;
	}
	if (array_grow(&st->wfs, &st->cap_wfs, st->n_wfs + 1, sizeof(*st->wfs), 0) < 0) {
		state_set_err(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	st->wfs[st->n_wfs++] = w;
	return BOT_OK;
}

const struct state_wf *state_wf_find(const struct state *st, const char *env)
{
	for (size_t i = 0; env && i < st->n_wfs; i++) {
		if (strcmp(st->wfs[i].env, env) == 0)
			return &st->wfs[i];
	}
	return NULL;
}

bool state_wf_remove(struct state *st, const char *env)
{
	for (size_t i = 0; env && i < st->n_wfs; i++) {
		if (strcmp(st->wfs[i].env, env) == 0) {
			memmove(&st->wfs[i], &st->wfs[i + 1],
				(st->n_wfs - i - 1) * sizeof(*st->wfs));
			st->n_wfs--;
			return true;
		}
	}
	return false;
}

size_t state_wf_count(const struct state *st)
{
	return st->n_wfs;
}

const struct state_wf *state_wf_at(const struct state *st, size_t i)
{
	return i < st->n_wfs ? &st->wfs[i] : NULL;
}

/* ------------------------------------------------------------------ outbox */

/* Validates f into *out (zeroed first, every string NUL-terminated). */
static enum bot_rc final_check(const struct state_final *f, struct state_final *out, char *err,
			       size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!state_env_name_ok(f->env, err, errlen))
		return BOT_EINVAL;
	/* As in state_wf_put: the caller's strings may be unterminated. */
	const struct {
		const char *name;
		const char *src;
		char *dst;
		size_t size;
	} ids[] = {
		{ "env", f->env, out->env, sizeof(out->env) },
		{ "id", f->id, out->id, sizeof(out->id) },
		{ "channel_id", f->channel_id, out->channel_id, sizeof(out->channel_id) },
		{ "message_id", f->message_id, out->message_id, sizeof(out->message_id) },
		{ "message", f->message, out->message, sizeof(out->message) },
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		size_t n = strnlen(ids[i].src, ids[i].size);
		if (n >= ids[i].size) {
			state_set_err(err, errlen, "final record %s is too long", ids[i].name);
			return BOT_EINVAL;
		}
		memcpy(ids[i].dst, ids[i].src, n + 1);
	}
	if (!out->id[0] || !out->message[0]) {
		state_set_err(err, errlen, "final record without %s",
			      out->id[0] ? "message" : "id");
		return BOT_EINVAL;
	}
	out->finished = f->finished;
	return BOT_OK;
}

static struct state_final *final_find(const struct state *st, const char *id)
{
	for (size_t i = 0; id && i < st->n_finals; i++)
		if (strcmp(st->finals[i].id, id) == 0)
			return &st->finals[i];
	return NULL;
}

enum bot_rc state_final_put(struct state *st, const struct state_final *f, char *err, size_t errlen)
{
	/* 16 KiB: validated on the heap, not on the loop thread's stack. */
	struct state_final *w = malloc(sizeof(*w)), *slot;
	enum bot_rc rc = BOT_ENOMEM;
	if (!w) {
		state_set_err(err, errlen, "out of memory");
		goto out;
	}
	rc = final_check(f, w, err, errlen);
	if (rc != BOT_OK)
		goto out;
	slot = final_find(st, w->id);
	if (!slot) {
		rc = BOT_EINVAL;
		if (st->n_finals >= STATE_MAX_FINALS) {
			state_set_err(err, errlen, "too many final pictures waiting (%d)",
				      STATE_MAX_FINALS);
			goto out;
		}
		rc = BOT_ENOMEM;
		if (array_grow(&st->finals, &st->cap_finals, st->n_finals + 1, sizeof(*st->finals),
			       0) < 0) {
			state_set_err(err, errlen, "out of memory");
			goto out;
		}
		slot = &st->finals[st->n_finals++];
	}
	*slot = *w;
	rc = BOT_OK;
out:
	free(w);
	return rc;
}

enum bot_rc state_wf_finish(struct state *st, const struct state_final *f, char *err, size_t errlen)
{
	/* The put comes first: if it fails the running record stays, and a
	 * restart resumes the workflow rather than forgetting its picture. */
	enum bot_rc rc = state_final_put(st, f, err, errlen);
	if (rc == BOT_OK)
		state_wf_remove(st, f->env);
	return rc;
}

const struct state_final *state_final_find(const struct state *st, const char *id)
{
	return final_find(st, id);
}

bool state_final_remove(struct state *st, const char *id)
{
	struct state_final *f = final_find(st, id);
	if (!f)
		return false;
	size_t i = (size_t)(f - st->finals);
	memmove(&st->finals[i], &st->finals[i + 1], (st->n_finals - i - 1) * sizeof(*st->finals));
	st->n_finals--;
	return true;
}

size_t state_final_count(const struct state *st)
{
	return st->n_finals;
}

const struct state_final *state_final_at(const struct state *st, size_t i)
{
	return i < st->n_finals ? &st->finals[i] : NULL;
}

/* ------------------------------------------------------------------ uptime */

enum bot_rc state_interval_append(struct env_state *e, time_t from, time_t to)
{
	if (e->n_iv >= STATE_MAX_INTERVALS) {
		/* A bound, not a loss that matters: the oldest interval is months
		 * old by now (4 per day would take over a year to fill this). */
		memmove(&e->iv[0], &e->iv[1], (e->n_iv - 1) * sizeof(*e->iv));
		e->n_iv--;
	}
	if (array_grow(&e->iv, &e->cap_iv, e->n_iv + 1, sizeof(*e->iv), 0) < 0)
		return BOT_ENOMEM;
	e->iv[e->n_iv].from = from;
	e->iv[e->n_iv].to = to;
	e->n_iv++;
	return BOT_OK;
}

enum bot_rc state_up(struct state *st, const char *env, time_t t)
{
	if (t <= 0)
		return BOT_EINVAL;
	struct env_state *e = state_env_get(st, env, NULL, 0);
	if (!e)
		return BOT_EINVAL;
	if (e->up_since == 0)
		e->up_since = t;
	return BOT_OK;
}

enum bot_rc state_down(struct state *st, const char *env, time_t t)
{
	struct env_state *e = (struct env_state *)state_env_find(st, env);
	if (!e || e->up_since == 0)
		return BOT_OK;
	enum bot_rc rc = BOT_OK;
	if (t > e->up_since)
		rc = state_interval_append(e, e->up_since, t);
	if (rc == BOT_OK)
		e->up_since = 0;
	return rc;
}

bool state_is_up(const struct state *st, const char *env, time_t *since)
{
	const struct env_state *e = state_env_find(st, env);
	if (!e || e->up_since == 0)
		return false;
	if (since)
		*since = e->up_since;
	return true;
}

static int64_t overlap(time_t a, time_t b, time_t from, time_t to)
{
	time_t lo = a > from ? a : from;
	time_t hi = b < to ? b : to;
	return hi > lo ? (int64_t)(hi - lo) : 0;
}

int64_t state_uptime_seconds(const struct state *st, const char *env, time_t from, time_t to,
			     time_t now)
{
	const struct env_state *e = state_env_find(st, env);
	if (!e)
		return 0;
	int64_t sum = 0;
	for (size_t i = 0; i < e->n_iv; i++)
		sum += overlap(e->iv[i].from, e->iv[i].to, from, to);
	if (e->up_since != 0)
		sum += overlap(e->up_since, now, from, to);
	return sum;
}

size_t state_uptime_prune(struct state *st, time_t before)
{
	size_t dropped = 0;
	for (size_t i = 0; i < st->n_envs; i++) {
		struct env_state *e = &st->envs[i];
		size_t k = 0;
		for (size_t j = 0; j < e->n_iv; j++) {
			/* the newest is kept: it is the last transition on record */
			if (e->iv[j].to >= before || j + 1 == e->n_iv)
				e->iv[k++] = e->iv[j];
		}
		dropped += e->n_iv - k;
		e->n_iv = k;
	}
	return dropped;
}

void state_last_transitions(const struct state *st, const char *env, time_t *last_up,
			    time_t *last_down)
{
	const struct env_state *e = state_env_find(st, env);
	time_t up = 0, down = 0;
	for (size_t i = 0; e && i < e->n_iv; i++) {
		if (e->iv[i].from > up)
			up = e->iv[i].from;
		if (e->iv[i].to > down)
			down = e->iv[i].to;
	}
	if (e && e->up_since > up)
		up = e->up_since;
	if (last_up)
		*last_up = up;
	if (last_down)
		*last_down = down;
}

/* --------------------------------------------------------------- last tick */

time_t state_last_tick(const struct state *st)
{
	return st->last_tick;
}

void state_set_last_tick(struct state *st, time_t t)
{
	st->last_tick = t > 0 ? t : 0;
}

/* ------------------------------------------------------------------ expiry */

static ymd_t utc_date(time_t t)
{
	return when_civil_from_days((int64_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400));
}

size_t state_expire(struct state *st, time_t now, int64_t grace, state_today_fn today, void *ctx)
{
	size_t dropped = 0;
	time_t cut = now - (time_t)grace;
	for (size_t i = 0; i < st->n_envs; i++) {
		struct env_state *e = &st->envs[i];
		ymd_t local = today ? today(ctx, e->name, cut) : utc_date(cut);

		size_t k = 0;
		for (size_t j = 0; j < e->n_extends; j++) {
			if (e->extends[j].stop_at > cut)
				e->extends[k++] = e->extends[j];
		}
		dropped += e->n_extends - k;
		e->n_extends = k;

		k = 0;
		for (size_t j = 0; j < e->n_skips; j++) {
			if (e->skips[j].date >= local)
				e->skips[k++] = e->skips[j];
		}
		dropped += e->n_skips - k;
		e->n_skips = k;

		if (e->paused && ((e->pause.until_at != 0 && e->pause.until_at <= cut) ||
				  (e->pause.until_date != 0 && e->pause.until_date <= local))) {
			e->paused = false;
			memset(&e->pause, 0, sizeof(e->pause));
			dropped++;
		}
	}
	/* Forget environments with nothing left, keeping the array sorted. */
	size_t k = 0;
	for (size_t i = 0; i < st->n_envs; i++) {
		if (env_empty(&st->envs[i]))
			env_free(&st->envs[i]);
		else
			st->envs[k++] = st->envs[i];
	}
	st->n_envs = k;
	return dropped;
}
