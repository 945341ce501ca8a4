/* The daemon's persistent state: the in-memory model of overrides, holidays,
 * audit, workflows in flight and uptime; its JSON encoding (cJSON); the
 * atomic save (tmp + fsync + .bak + rename + directory fsync) and the
 * recovering load; and the pure conflict rule. See state.h for the contract. */
#include "state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"

/* The state file is ours and small (the default audit of 1000 lines is a few
 * hundred KB); anything far larger is not a state file. */
#define STATE_FILE_MAX ((size_t)256 << 20)

struct interval {
	time_t from, to;
};

struct env_state {
	char name[STATE_NAME_MAX];
	struct state_extend extends[STATE_MAX_EXTENDS];
	size_t n_extends;
	struct state_skip *skips; /* sorted by date */
	size_t n_skips, cap_skips;
	bool paused;
	struct state_pause pause;
	time_t up_since; /* 0: down */
	struct interval *iv;
	size_t n_iv, cap_iv;
};

struct state {
	struct env_state *envs; /* sorted by name, so that dumps are stable */
	size_t n_envs, cap_envs;
	bool frozen;
	struct state_freeze freeze;
	struct state_holiday *holidays; /* sorted by date */
	size_t n_holidays, cap_holidays;
	/* Audit ring: while n_audit < audit_max the entries are in order from
	 * index 0; once full, audit_head is the oldest and is overwritten. */
	struct state_audit *audit;
	size_t n_audit, cap_audit, audit_head, audit_max;
	struct state_wf *wfs;
	size_t n_wfs, cap_wfs;
	struct state_final *finals; /* the outbox, oldest first */
	size_t n_finals, cap_finals;
	time_t last_tick; /* the scheduler's; 0 = never ticked */
};

/* ------------------------------------------------------------------ helpers */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
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
static void copy_text(char *dst, size_t size, const char *src)
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
static int copy_id(char *dst, size_t size, const char *src)
{
	if (!src)
		src = "";
	size_t n = strlen(src);
	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Grows *p (elements of elem bytes) so that it holds at least need. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static bool env_name_ok(const char *env, char *err, size_t errlen)
{
	if (!env || !*env) {
		set_err(err, errlen, "no environment name");
		return false;
	}
	if (strlen(env) >= STATE_NAME_MAX) {
		set_err(err, errlen, "environment name longer than %d bytes", STATE_NAME_MAX - 1);
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

static const struct env_state *env_find(const struct state *st, const char *name)
{
	if (!name)
		return NULL;
	size_t i = env_lower_bound(st, name);
	if (i < st->n_envs && strcmp(st->envs[i].name, name) == 0)
		return &st->envs[i];
	return NULL;
}

/* Returns the record of name, creating it; NULL with a reason on failure. The
 * pointer is valid until the next env_get (the array may move). */
static struct env_state *env_get(struct state *st, const char *name, char *err, size_t errlen)
{
	if (!env_name_ok(name, err, errlen))
		return NULL;
	size_t i = env_lower_bound(st, name);
	if (i < st->n_envs && strcmp(st->envs[i].name, name) == 0)
		return &st->envs[i];
	if (st->n_envs >= STATE_MAX_ENVS) {
		set_err(err, errlen, "too many environments in the state (%d)", STATE_MAX_ENVS);
		return NULL;
	}
	if (grow((void **)&st->envs, &st->cap_envs, st->n_envs + 1, sizeof(*st->envs)) < 0) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	memmove(&st->envs[i + 1], &st->envs[i], (st->n_envs - i) * sizeof(*st->envs));
	st->n_envs++;
	struct env_state *e = &st->envs[i];
	memset(e, 0, sizeof(*e));
	copy_text(e->name, sizeof(e->name), name);
	return e;
}

static bool env_empty(const struct env_state *e)
{
	return e->n_extends == 0 && e->n_skips == 0 && !e->paused && e->up_since == 0 &&
	       e->n_iv == 0;
}

/* ------------------------------------------------------------------ extend */

static enum bot_rc extend_put(struct state *st, const char *env, const struct state_extend *x,
			      char *err, size_t errlen)
{
	if (!when_date_valid(x->date)) {
		set_err(err, errlen, "invalid date %d", (int)x->date);
		return BOT_EINVAL;
	}
	if (x->stop_at <= 0) {
		set_err(err, errlen, "invalid stop time");
		return BOT_EINVAL;
	}
	struct env_state *e = env_get(st, env, err, errlen);
	if (!e)
		return BOT_EINVAL;
	size_t i;
	for (i = 0; i < e->n_extends; i++) {
		if (e->extends[i].date == x->date)
			break;
	}
	if (i == e->n_extends) {
		if (e->n_extends >= STATE_MAX_EXTENDS) {
			set_err(err, errlen, "%s already has %d pending extends", env,
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
	copy_text(x.who, sizeof(x.who), who);
	return extend_put(st, env, &x, err, errlen);
}

bool state_extend_clear(struct state *st, const char *env, ymd_t date)
{
	struct env_state *e = (struct env_state *)env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
	return e ? e->n_extends : 0;
}

const struct state_extend *state_extend_at(const struct state *st, const char *env, size_t i)
{
	const struct env_state *e = env_find(st, env);
	return e && i < e->n_extends ? &e->extends[i] : NULL;
}

/* -------------------------------------------------------------------- skip */

static enum bot_rc skip_put(struct state *st, const char *env, const struct state_skip *s,
			    char *err, size_t errlen)
{
	if (!when_date_valid(s->date)) {
		set_err(err, errlen, "invalid date %d", (int)s->date);
		return BOT_EINVAL;
	}
	struct env_state *e = env_get(st, env, err, errlen);
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
		set_err(err, errlen, "%s already has %d skipped dates", env, STATE_MAX_SKIPS);
		return BOT_EINVAL;
	}
	if (grow((void **)&e->skips, &e->cap_skips, e->n_skips + 1, sizeof(*e->skips)) < 0) {
		set_err(err, errlen, "out of memory");
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
	copy_text(s.who, sizeof(s.who), who);
	return skip_put(st, env, &s, err, errlen);
}

bool state_skip_remove(struct state *st, const char *env, ymd_t date)
{
	struct env_state *e = (struct env_state *)env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
	return e ? e->n_skips : 0;
}

const struct state_skip *state_skip_at(const struct state *st, const char *env, size_t i)
{
	const struct env_state *e = env_find(st, env);
	return e && i < e->n_skips ? &e->skips[i] : NULL;
}

/* ------------------------------------------------------------------- pause */

static enum bot_rc pause_put(struct state *st, const char *env, const struct state_pause *p,
			     char *err, size_t errlen)
{
	if ((p->until_date != 0) == (p->until_at != 0)) {
		set_err(err, errlen, "a pause needs exactly one end: a date or an instant");
		return BOT_EINVAL;
	}
	if (p->until_date != 0 && !when_date_valid(p->until_date)) {
		set_err(err, errlen, "invalid date %d", (int)p->until_date);
		return BOT_EINVAL;
	}
	if (p->until_at < 0) {
		set_err(err, errlen, "invalid end time");
		return BOT_EINVAL;
	}
	struct env_state *e = env_get(st, env, err, errlen);
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
	copy_text(p.who, sizeof(p.who), who);
	return pause_put(st, env, &p, err, errlen);
}

bool state_pause_clear(struct state *st, const char *env)
{
	struct env_state *e = (struct env_state *)env_find(st, env);
	if (!e || !e->paused)
		return false;
	e->paused = false;
	memset(&e->pause, 0, sizeof(e->pause));
	return true;
}

const struct state_pause *state_pause_until(const struct state *st, const char *env)
{
	const struct env_state *e = env_find(st, env);
	return e && e->paused ? &e->pause : NULL;
}

/* ------------------------------------------------------------------ freeze */

void state_freeze(struct state *st, const char *who, time_t now)
{
	if (st->frozen)
		return;
	st->frozen = true;
	st->freeze.since = now;
	copy_text(st->freeze.who, sizeof(st->freeze.who), who);
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

static enum bot_rc holiday_put(struct state *st, const struct state_holiday *h, char *err,
			       size_t errlen)
{
	if (!when_date_valid(h->date)) {
		set_err(err, errlen, "invalid date %d", (int)h->date);
		return BOT_EINVAL;
	}
	size_t i = 0;
	while (i < st->n_holidays && st->holidays[i].date < h->date)
		i++;
	if (i < st->n_holidays && st->holidays[i].date == h->date) {
		char d[16];
		when_format_date(h->date, d, sizeof(d));
		set_err(err, errlen, "%s is already a holiday (added by %s)", d,
			st->holidays[i].who);
		return BOT_EINVAL;
	}
	if (st->n_holidays >= STATE_MAX_HOLIDAYS) {
		set_err(err, errlen, "too many holidays (%d)", STATE_MAX_HOLIDAYS);
		return BOT_EINVAL;
	}
	if (grow((void **)&st->holidays, &st->cap_holidays, st->n_holidays + 1,
		 sizeof(*st->holidays)) < 0) {
		set_err(err, errlen, "out of memory");
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
	copy_text(h.label, sizeof(h.label), label);
	copy_text(h.who, sizeof(h.who), who);
	return holiday_put(st, &h, err, errlen);
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
	copy_text(slot->user_id, sizeof(slot->user_id), e->user_id);
	copy_text(slot->user, sizeof(slot->user), e->user);
	copy_text(slot->action, sizeof(slot->action), e->action);
	copy_text(slot->env, sizeof(slot->env), e->env);
	copy_text(slot->outcome, sizeof(slot->outcome), e->outcome);
	return BOT_OK;
}

enum bot_rc state_audit(struct state *st, time_t when, const char *user_id, const char *user,
			const char *action, const char *env, const char *outcome)
{
	struct state_audit e = { .time = when };
	copy_text(e.user_id, sizeof(e.user_id), user_id);
	copy_text(e.user, sizeof(e.user), user);
	copy_text(e.action, sizeof(e.action), action);
	copy_text(e.env, sizeof(e.env), env);
	copy_text(e.outcome, sizeof(e.outcome), outcome);
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
	if (!env_name_ok(wf->env, err, errlen))
		return BOT_EINVAL;
	if (wf->kind != ACTION_START && wf->kind != ACTION_STOP) {
		set_err(err, errlen, "invalid workflow kind");
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
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (strnlen(ids[i].src, ids[i].size) >= ids[i].size) {
			set_err(err, errlen, "workflow %s is too long", ids[i].name);
			return BOT_EINVAL;
		}
		memcpy(ids[i].dst, ids[i].src, strlen(ids[i].src) + 1);
	}
	w.kind = wf->kind;
	w.started = wf->started;
	size_t tl = strnlen(wf->trigger, sizeof(w.trigger) - 1);
	memcpy(w.trigger, wf->trigger, tl);
	w.trigger[tl] = '\0';

	for (size_t i = 0; i < st->n_wfs; i++) {
		if (strcmp(st->wfs[i].env, w.env) == 0) {
			st->wfs[i] = w;
			return BOT_OK;
		}
	}
	if (st->n_wfs >= STATE_MAX_WORKFLOWS) {
		set_err(err, errlen, "too many workflows in flight (%d)", STATE_MAX_WORKFLOWS);
		return BOT_EINVAL;
	}
	if (grow((void **)&st->wfs, &st->cap_wfs, st->n_wfs + 1, sizeof(*st->wfs)) < 0) {
		set_err(err, errlen, "out of memory");
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
	if (!env_name_ok(f->env, err, errlen))
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
			set_err(err, errlen, "final record %s is too long", ids[i].name);
			return BOT_EINVAL;
		}
		memcpy(ids[i].dst, ids[i].src, n + 1);
	}
	if (!out->id[0] || !out->message[0]) {
		set_err(err, errlen, "final record without %s", out->id[0] ? "message" : "id");
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
		set_err(err, errlen, "out of memory");
		goto out;
	}
	rc = final_check(f, w, err, errlen);
	if (rc != BOT_OK)
		goto out;
	slot = final_find(st, w->id);
	if (!slot) {
		rc = BOT_EINVAL;
		if (st->n_finals >= STATE_MAX_FINALS) {
			set_err(err, errlen, "too many final pictures waiting (%d)",
				STATE_MAX_FINALS);
			goto out;
		}
		rc = BOT_ENOMEM;
		if (grow((void **)&st->finals, &st->cap_finals, st->n_finals + 1,
			 sizeof(*st->finals)) < 0) {
			set_err(err, errlen, "out of memory");
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

static enum bot_rc interval_append(struct env_state *e, time_t from, time_t to)
{
	if (e->n_iv >= STATE_MAX_INTERVALS) {
		/* A bound, not a loss that matters: the oldest interval is months
		 * old by now (4 per day would take over a year to fill this). */
		memmove(&e->iv[0], &e->iv[1], (e->n_iv - 1) * sizeof(*e->iv));
		e->n_iv--;
	}
	if (grow((void **)&e->iv, &e->cap_iv, e->n_iv + 1, sizeof(*e->iv)) < 0)
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
	struct env_state *e = env_get(st, env, NULL, 0);
	if (!e)
		return BOT_EINVAL;
	if (e->up_since == 0)
		e->up_since = t;
	return BOT_OK;
}

enum bot_rc state_down(struct state *st, const char *env, time_t t)
{
	struct env_state *e = (struct env_state *)env_find(st, env);
	if (!e || e->up_since == 0)
		return BOT_OK;
	enum bot_rc rc = BOT_OK;
	if (t > e->up_since)
		rc = interval_append(e, e->up_since, t);
	if (rc == BOT_OK)
		e->up_since = 0;
	return rc;
}

bool state_is_up(const struct state *st, const char *env, time_t *since)
{
	const struct env_state *e = env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
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
	const struct env_state *e = env_find(st, env);
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

/* ------------------------------------------------------------ conflict rule */

/* "2026-11-23 18:00 KST" (with_date) or "18:00 KST", in tz or UTC. */
static void fmt_time(time_t t, const struct tz *tz, bool with_date, char *buf, size_t len)
{
	struct tm tm;
	const char *zone = "UTC";
	if (tz) {
		tz_local(tz, t, &tm);
		if (tm.tm_zone)
			zone = tm.tm_zone;
	} else {
		gmtime_r(&t, &tm);
	}
	char hm[24];
	strftime(hm, sizeof(hm), with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
	snprintf(buf, len, "%s %s", hm, zone);
}

static ymd_t local_date(time_t t, const struct tz *tz)
{
	struct tm tm;
	if (tz)
		tz_local(tz, t, &tm);
	else
		gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

void state_decide(const struct state *st, const char *env, enum action action, time_t at,
		  ymd_t date, const ymd_t *cfg_holidays, size_t n_cfg_holidays, const struct tz *tz,
		  struct state_decision *out)
{
	char t1[96], d1[16];
	out->run = true;
	out->at = at;
	out->rule = STATE_RULE_NONE;
	snprintf(out->reason, sizeof(out->reason), "scheduled");

	/* 1. freeze: everything automatic is held, starts and stops alike. */
	if (st->frozen) {
		fmt_time(st->freeze.since, tz, true, t1, sizeof(t1));
		out->run = false;
		out->rule = STATE_RULE_FREEZE;
		snprintf(out->reason, sizeof(out->reason), "held: frozen by %s since %s",
			 st->freeze.who, t1);
		return;
	}

	/* 2. pause of this environment. */
	const struct state_pause *p = state_pause_until(st, env);
	if (p && ((p->until_at != 0 && at < p->until_at) ||
		  (p->until_date != 0 && date < p->until_date))) {
		if (p->until_at != 0)
			fmt_time(p->until_at, tz, true, t1, sizeof(t1));
		else
			when_format_date(p->until_date, t1, sizeof(t1));
		out->run = false;
		out->rule = STATE_RULE_PAUSE;
		snprintf(out->reason, sizeof(out->reason), "held: paused by %s until %s", p->who,
			 t1);
		return;
	}

	/* 3. skip and holidays: only starts; the environment stays down. */
	if (action == ACTION_START) {
		const struct state_skip *s = state_skip_find(st, env, date);
		if (s) {
			out->run = false;
			out->rule = STATE_RULE_SKIP;
			snprintf(out->reason, sizeof(out->reason), "skipped: /env skip by %s",
				 s->who);
			return;
		}
		when_format_date(date, d1, sizeof(d1));
		for (size_t i = 0; i < n_cfg_holidays; i++) {
			if (cfg_holidays[i] == date) {
				out->run = false;
				out->rule = STATE_RULE_HOLIDAY;
				snprintf(out->reason, sizeof(out->reason), "skipped: holiday %s",
					 d1);
				return;
			}
		}
		const struct state_holiday *h = state_holiday_find(st, date);
		if (h) {
			out->run = false;
			out->rule = STATE_RULE_HOLIDAY;
			snprintf(out->reason, sizeof(out->reason),
				 "skipped: holiday %s (%s%sadded by %s)", d1, h->label,
				 h->label[0] ? ", " : "", h->who);
			return;
		}
	}

	/* 4. extend: a stop moves later, never earlier. */
	if (action == ACTION_STOP) {
		const struct state_extend *x = state_extend_for(st, env, date);
		if (x && x->stop_at > at) {
			fmt_time(x->stop_at, tz, local_date(x->stop_at, tz) != date, t1,
				 sizeof(t1));
			out->at = x->stop_at;
			out->rule = STATE_RULE_EXTEND;
			snprintf(out->reason, sizeof(out->reason), "extended to %s by %s", t1,
				 x->who);
		}
	}
}

/* ---------------------------------------------------------------- encoding */

static cJSON *add_date(cJSON *o, const char *key, ymd_t d)
{
	char buf[16];
	when_format_date(d, buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf);
}

/* Builds the document; NULL on allocation failure. Times are integer seconds
 * since the epoch (exact in a double up to 2^53), dates "YYYY-MM-DD". */
static cJSON *encode(const struct state *st)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	bool ok = cJSON_AddNumberToObject(root, "version", STATE_VERSION) != NULL;

	/* Only once set, so that files from before the field are unchanged. */
	if (st->last_tick > 0)
		ok = ok && cJSON_AddNumberToObject(root, "last_tick", (double)st->last_tick);

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
		if (copy_id(dst, size, v->valuestring) < 0)
			return dec_fail(d, "%s: \"%s\" is too long", where, key);
	} else {
		copy_text(dst, size, v->valuestring);
	}
	return 0;
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
	if (!cJSON_IsObject(eo) || !env_name_ok(name, why, sizeof(why))) {
		dec_fail(d, "%s: not a valid environment %s", where, why);
		return;
	}
	/* Created even when empty, so that a dump of the loaded state equals the
	 * file it came from. */
	if (!env_get(st, name, why, sizeof(why))) {
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
		dec_rc(d, extend_put(st, name, &x, why, sizeof(why)), where, why);
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
		dec_rc(d, skip_put(st, name, &s, why, sizeof(why)), where, why);
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
		dec_rc(d, pause_put(st, name, &p, why, sizeof(why)), where, why);
	}
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(eo, "uptime");
	if (!cJSON_IsObject(up)) {
		dec_fail(d, "%s: \"uptime\" is not an object", where);
		return;
	}
	struct env_state *e = (struct env_state *)env_find(st, name);
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
		dec_rc(d, interval_append(e, (time_t)a->valuedouble, (time_t)b->valuedouble), where,
		       "out of memory");
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
	    dec_str(d, o, where, "image_tag", w.image_tag, sizeof(w.image_tag), true) < 0)
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
		set_err(err, errlen, "not JSON (truncated or damaged)");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		set_err(err, errlen, "not a JSON object");
		goto out;
	}
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(ver) || !(ver->valuedouble >= 1)) {
		set_err(err, errlen, "no valid \"version\"");
		goto out;
	}
	if (ver->valuedouble > STATE_VERSION) {
		/* Written by a newer envbot: refusing is the only safe answer; a
		 * guess could drop what that version stored. */
		set_err(err, errlen,
			"state format version %.0f is newer than this envbot understands (%d): "
			"upgrade envbot or move the file aside",
			ver->valuedouble, STATE_VERSION);
		rc = BOT_EINVAL;
		goto out;
	}
	if (ver->valuedouble != STATE_VERSION) {
		set_err(err, errlen, "no valid \"version\"");
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
		dec_rc(&d, holiday_put(st, &h, why, sizeof(why)), "holidays", why);
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

/* ------------------------------------------------------------------- files */

/* Reads a whole file into a new NUL-terminated string (caller frees).
 * Returns 0, or -1 with errno set (EFBIG when over STATE_FILE_MAX). */
static int read_file(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = -1, saved = 0;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= STATE_FILE_MAX) {
				saved = EFBIG;
				goto out;
			}
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				saved = ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	if (rc < 0)
		errno = saved;
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies src to dst (created 0600, fsynced): the .bak fallback when the file
 * system refuses hard links. */
static int copy_file(const char *src, const char *dst)
{
	char *data = NULL;
	size_t len = 0;
	if (read_file(src, &data, &len) < 0)
		return -1;
	int rc = -1;
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		rc = write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) != 0)
			rc = -1;
	}
	free(data);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	copy_text(dir, sizeof(dir), path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

enum bot_rc state_save(const struct state *st, const char *path, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_ENOMEM;
	char tmp[PATH_MAX], bak[PATH_MAX], baktmp[PATH_MAX];
	int fd = -1;
	bool tmp_made = false;
	struct stat sb;
	char *json = state_dump(st);
	if (!json) {
		set_err(err, errlen, "out of memory encoding the state");
		goto out;
	}
	rc = BOT_EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (size_t)snprintf(bak, sizeof(bak), "%s.bak", path) >= sizeof(bak) ||
	    (size_t)snprintf(baktmp, sizeof(baktmp), "%s.bak.tmp", path) >= sizeof(baktmp)) {
		set_err(err, errlen, "state file path too long");
		goto out;
	}

	rc = BOT_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	tmp_made = true;
	/* A tmp left by a crash may have another mode; the state names users. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, json, strlen(json)) != 0 ||
	    write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	int cr = close(fd);
	fd = -1;
	if (cr != 0) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}

	/* The current file becomes .bak: a hard link costs nothing and is the
	 * exact bytes; it goes through .bak.tmp so that .bak is always whole. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode)) {
			set_err(err, errlen, "%s is not a regular file", path);
			goto out;
		}
		if (unlink(baktmp) != 0 && errno != ENOENT) {
			set_err(err, errlen, "cannot remove %s: %s", baktmp, strerror(errno));
			goto out;
		}
		if (link(path, baktmp) != 0 && copy_file(path, baktmp) != 0) {
			set_err(err, errlen, "cannot keep %s as %s: %s", path, bak,
				strerror(errno));
			unlink(baktmp);
			goto out;
		}
		if (rename(baktmp, bak) != 0) {
			set_err(err, errlen, "cannot keep %s as %s: %s", path, bak,
				strerror(errno));
			unlink(baktmp);
			goto out;
		}
	} else if (errno != ENOENT) {
		set_err(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}

	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	tmp_made = false;
	/* Without this the rename itself may not survive a power cut. */
	if (fsync_dir_of(path) != 0) {
		set_err(err, errlen, "cannot fsync the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	rc = BOT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	free(json);
	return rc;
}

/* Loads one file. BOT_ENOTFOUND when it does not exist (a local meaning
 * inside this file only; never returned by state_load). */
static enum bot_rc load_one(const char *path, struct state **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, &text, &len) < 0) {
		if (errno == ENOENT)
			return BOT_ENOTFOUND;
		set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return BOT_EIO;
	}
	if (len == 0 || strlen(text) != len) {
		free(text);
		set_err(err, errlen, len == 0 ? "empty file" : "NUL bytes in the file");
		return BOT_EPARSE;
	}
	enum bot_rc rc = state_parse(text, out, err, errlen);
	free(text);
	return rc;
}

/* <path>.corrupt-<UTC stamp>[-N], a name nothing exists at. */
static int corrupt_name(const char *path, char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 1; n < 1000; n++) {
		int w = n == 1 ? snprintf(buf, len, "%s.corrupt-%s", path, stamp)
			       : snprintf(buf, len, "%s.corrupt-%s-%d", path, stamp, n);
		if (w < 0 || (size_t)w >= len)
			return -1;
		struct stat sb;
		if (lstat(buf, &sb) != 0 && errno == ENOENT)
			return 0;
	}
	return -1;
}

static enum bot_rc load_impl(const char *path, bool readonly, struct state **out,
			     struct state_load_info *info, char *err, size_t errlen)
{
	struct state_load_info dummy;
	char why[256] = "", bakwhy[256] = "", bak[PATH_MAX], aside[512];
	struct state *st = NULL, *bst = NULL;
	enum bot_rc rc;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	if ((size_t)snprintf(bak, sizeof(bak), "%s.bak", path) >= sizeof(bak)) {
		set_err(err, errlen, "state file path too long");
		return BOT_EINVAL;
	}

	rc = load_one(path, &st, why, sizeof(why));
	if (rc == BOT_OK) {
		*out = st;
		return BOT_OK;
	}
	if (rc == BOT_EIO || rc == BOT_ENOMEM || rc == BOT_EINVAL) {
		set_err(err, errlen, "%s: %s", path, why);
		return rc;
	}

	enum bot_rc brc = load_one(bak, &bst, bakwhy, sizeof(bakwhy));
	if (rc == BOT_ENOTFOUND) {
		if (brc == BOT_ENOTFOUND) {
			*out = state_create();
			info->missing = true;
			return *out ? BOT_OK : BOT_ENOMEM;
		}
		if (brc != BOT_OK) {
			set_err(err, errlen, "%s is missing and %s is unusable (%s)", path, bak,
				bakwhy);
			return brc == BOT_ENOMEM ? BOT_ENOMEM : BOT_EPARSE;
		}
		/* Only our own save creates .bak, and it never removes path:
		 * something deleted the state. Do not quietly forget it. */
		log_error("state",
			  "msg=\"state file missing; loading the last good copy\" "
			  "path=\"%s\" bak=\"%s\"",
			  path, bak);
		info->recovered = true;
		snprintf(info->reason, sizeof(info->reason), "%s was missing", path);
		*out = bst;
		return BOT_OK;
	}

	/* path is corrupt. */
	if (brc != BOT_OK) {
		state_destroy(bst);
		set_err(err, errlen,
			"%s is corrupt (%s) and there is no usable last good copy %s (%s); "
			"nothing was changed: move the file aside to start with an empty state",
			path, why, bak, brc == BOT_ENOTFOUND ? "missing" : bakwhy);
		return brc == BOT_ENOMEM ? BOT_ENOMEM : BOT_EPARSE;
	}
	if (readonly) {
		log_error("state",
			  "msg=\"state file corrupt; using the last good copy (read-only: "
			  "nothing moved)\" path=\"%s\" reason=\"%s\" loaded=\"%s\"",
			  path, why, bak);
		info->recovered = true;
		copy_text(info->reason, sizeof(info->reason), why);
		*out = bst;
		return BOT_OK;
	}
	/* Keep the bad file for whoever investigates; the next save must not
	 * turn it into .bak (it would replace the good copy). */
	if (corrupt_name(path, aside, sizeof(aside)) < 0 || rename(path, aside) != 0) {
		state_destroy(bst);
		set_err(err, errlen, "%s is corrupt (%s) and could not be moved aside: %s", path,
			why, strerror(errno));
		return BOT_EIO;
	}
	log_error("state",
		  "msg=\"state file corrupt; moved aside and loaded the last good copy\" "
		  "path=\"%s\" reason=\"%s\" moved_to=\"%s\" loaded=\"%s\"",
		  path, why, aside, bak);
	info->recovered = true;
	copy_text(info->corrupt_path, sizeof(info->corrupt_path), aside);
	copy_text(info->reason, sizeof(info->reason), why);
	*out = bst;
	return BOT_OK;
}

enum bot_rc state_load(const char *path, struct state **out, struct state_load_info *info,
		       char *err, size_t errlen)
{
	return load_impl(path, false, out, info, err, errlen);
}

enum bot_rc state_load_readonly(const char *path, struct state **out, struct state_load_info *info,
				char *err, size_t errlen)
{
	return load_impl(path, true, out, info, err, errlen);
}
