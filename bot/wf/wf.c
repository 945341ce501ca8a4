/* The workflow interpreter: enters states of a table (wf_internal.h), runs
 * tasks, follows outcomes, retries transient errors, enforces the overall
 * timeout and keeps the step list the embed shows. The behaviour of each
 * workflow is in its table, not here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/rand.h"
#include "../i18n/i18n.h"
#include "kind.h"
#include "wf_internal.h"

/* The environment's kind supplies the tables: the interpreter knows no kind. */
static const struct wf_table *table_for(const struct cfg_env *env, enum action action)
{
	const struct kind *k = kind_of(env);
	if (!k)
		return NULL;
	return action == ACTION_START ? k->start : k->stop;
}

static const struct wf_state *find_state(const struct wf_table *t, const char *name)
{
	for (const struct wf_state *s = t->states; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* A fresh id: time + random, short enough for ClientRequestToken (≤128,
 * [a-zA-Z0-9-]) and readable in logs. */
static void new_id(char *buf, size_t len, const char *env, enum action a)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned r = (unsigned)rand_u64();
	char clean[40];
	size_t j = 0;
	for (size_t i = 0; env[i] && j < sizeof(clean) - 1; i++) {
		char c = env[i];
		clean[j++] =
			((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				? c
				: '-';
	}
	clean[j] = '\0';
	snprintf(buf, len, "envbot-%s-%s-%lld-%04x", clean, action_name(a), (long long)ts.tv_sec,
		 r & 0xffffu);
}

/* WF_POLL_MS, or the test knob ENVBOT_TEST_POLL_MS: fake stacks settle in
 * seconds, not minutes. Unset in production. */
static uint64_t poll_ms(void)
{
	const char *s = getenv("ENVBOT_TEST_POLL_MS");
	long v = s ? strtol(s, NULL, 10) : 0;
	return v > 0 && v < 60000 ? (uint64_t)v : WF_POLL_MS;
}

struct wf *wf_new(struct loop *loop, struct aws *aws, const struct wf_params *p,
		  const struct wf_observer *obs, const struct wf_table *fan_out)
{
	struct wf *wf = calloc(1, sizeof(*wf));
	if (!wf)
		return NULL;
	wf->loop = loop;
	wf->env = p->env;
	wf->action = p->action;
	wf->table = fan_out ? fan_out : table_for(p->env, p->action);
	if (!wf->table || !kind_of(p->env)) {
		free(wf);
		return NULL;
	}
	char err[256];
	wf->aws = kind_aws(aws, p->env, fan_out ? NULL : p->region, err, sizeof(err));
	if (aws && !wf->aws) {
		log_error("wf", "msg=\"no AWS client for the environment\" env=%s why=\"%s\"",
			  p->env->name, err);
		free(wf);
		return NULL;
	}
	if (obs)
		wf->obs = *obs;
	wf->poll_ms = p->poll_ms ? p->poll_ms : poll_ms();
	snprintf(wf->trigger, sizeof(wf->trigger), "%s", p->trigger ? p->trigger : "manual");
	snprintf(wf->trigger_said, sizeof(wf->trigger_said), "%s",
		 p->trigger_said ? p->trigger_said : wf->trigger);
	snprintf(wf->locale, sizeof(wf->locale), "%s", p->locale ? p->locale : "en");
	if (p->id && *p->id)
		snprintf(wf->id, sizeof(wf->id), "%s", p->id);
	else
		new_id(wf->id, sizeof(wf->id), p->env->name, p->action);

	for (size_t i = 0; i < WF_MAX_STEPS && wf->table->steps[i]; i++) {
		wf->steps[wf->n_steps].msgid = true;
		wf->steps[wf->n_steps++].label = wf->table->steps[i];
	}

	wf->state = wf->table->states;
	if (p->resume_state && *p->resume_state) {
		char name[STATE_STEP_MAX];
		snprintf(name, sizeof(name), "%s", p->resume_state);
		char *colon = strchr(name, ':');
		if (colon) {
			*colon = '\0';
			snprintf(wf->resume_arg, sizeof(wf->resume_arg), "%s", colon + 1);
		}
		const struct wf_state *s = find_state(wf->table, name);
		if (!s || s->type == WF_SUCCEED || s->type == WF_FAIL) {
			free(wf);
			return NULL;
		}
		/* A wait resumes at the poll it was waiting for. */
		if (s->type == WF_WAIT)
			s = find_state(wf->table, s->next[0].go);
		wf->state = s;
		/* Steps before the resumed one were done by the previous run. */
		for (int i = 0; i < s->step && i < (int)wf->n_steps; i++)
			wf->steps[i].mark = WF_DONE;
		if (p->resume_stack_id)
			snprintf(wf->stack_id, sizeof(wf->stack_id), "%s", p->resume_stack_id);
		if (p->resume_image_tag)
			snprintf(wf->image_tag, sizeof(wf->image_tag), "%s", p->resume_image_tag);
	}
	return wf;
}

void wf_destroy(struct wf *wf)
{
	if (!wf)
		return;
	loop_timer_cancel(wf->loop, wf->timer);
	loop_timer_cancel(wf->loop, wf->deadline);
	if (wf->aws)
		aws_cancel(wf->aws, wf);
	if (wf->kind_data_free)
		wf->kind_data_free(wf->kind_data);
	free(wf->instances);
	free(wf);
}

void wf_add_skipped(struct wf *wf, const char *fmt, ...)
{
	size_t used = strlen(wf->skipped);
	if (used + 3 >= sizeof(wf->skipped))
		return;
	if (used)
		used += (size_t)snprintf(wf->skipped + used, sizeof(wf->skipped) - used, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wf->skipped + used, sizeof(wf->skipped) - used, fmt, ap);
	va_end(ap);
}

void wf_found_nothing(struct wf *wf)
{
	wf->found_nothing = true;
	wf_next(wf, "none");
}

bool wf_found_none(const struct wf *wf)
{
	return wf->found_nothing;
}

const char *wf_skipped(const struct wf *wf)
{
	return wf->skipped;
}

void wf_changed(struct wf *wf)
{
	if (wf->obs.changed)
		wf->obs.changed(wf->obs.arg, wf);
}

static void finish(struct wf *wf, enum wf_status status)
{
	loop_timer_cancel(wf->loop, wf->timer);
	wf->timer = NULL;
	loop_timer_cancel(wf->loop, wf->deadline);
	wf->deadline = NULL;
	aws_cancel(wf->aws, wf);
	wf->status = status;
	wf->ended_ms = loop_now_ms();
	for (size_t i = 0; i < wf->n_steps; i++) {
		struct wf_step *s = &wf->steps[i];
		if (s->mark == WF_ACTIVE) {
			s->mark = status == WF_SUCCEEDED ? WF_DONE : WF_ERROR;
			s->ended_ms = wf->ended_ms;
		} else if (s->mark == WF_PENDING && status == WF_SUCCEEDED) {
			s->mark = WF_SKIPPED;
		}
	}
	if (!wf->summary[0] && wf->state->text)
		wf_set_summary_text(wf, wf->state->text, tr(wf->locale, wf->state->text));
	log_info("wf", "msg=\"workflow %s\" id=%s env=%s action=%s state=%s summary=\"%s\"",
		 status == WF_SUCCEEDED ? "succeeded" : "failed", wf->id, wf->env->name,
		 action_name(wf->action), wf->state->name, wf->summary);
	if (wf->obs.finished)
		wf->obs.finished(wf->obs.arg, wf);
}

static void enter(struct wf *wf, const struct wf_state *s);

static void on_wait_done(void *arg)
{
	struct wf *wf = arg;
	wf->timer = NULL;
	wf_next(wf, "*");
}

static void on_retry(void *arg)
{
	struct wf *wf = arg;
	wf->timer = NULL;
	wf->state->run(wf);
}

static void set_step(struct wf *wf, int step)
{
	if (step < 0 || (size_t)step >= wf->n_steps)
		return;
	uint64_t now = loop_now_ms();
	/* Every earlier step that was active is done now. */
	for (int i = 0; i < step; i++) {
		if (wf->steps[i].mark == WF_ACTIVE) {
			wf->steps[i].mark = WF_DONE;
			wf->steps[i].ended_ms = now;
		}
	}
	struct wf_step *cur = &wf->steps[step];
	if (cur->mark != WF_ACTIVE) {
		cur->mark = WF_ACTIVE;
		cur->started_ms = now;
	}
}

static void enter(struct wf *wf, const struct wf_state *s)
{
	wf->state = s;
	wf->attempt = 0;
	set_step(wf, s->step);
	log_debug("wf", "msg=\"enter\" id=%s env=%s state=%s", wf->id, wf->env->name, s->name);
	if (wf->obs.checkpoint)
		wf->obs.checkpoint(wf->obs.arg, wf);
	switch (s->type) {
	case WF_TASK:
		wf_changed(wf);
		s->run(wf);
		break;
	case WF_CHOICE: s->run(wf); break;
	case WF_WAIT:
		wf->timer = loop_timer_add(wf->loop, wf->poll_ms, on_wait_done, wf);
		if (!wf->timer)
			wf_error(wf, BOT_ENOMEM, "out of memory arming a timer");
		break;
	case WF_SUCCEED: finish(wf, WF_SUCCEEDED); break;
	case WF_FAIL: finish(wf, WF_FAILED); break;
	}
}

void wf_next(struct wf *wf, const char *outcome)
{
	const struct wf_state *s = wf->state;
	for (int i = 0; i < WF_MAX_NEXT && s->next[i].on; i++) {
		if (strcmp(s->next[i].on, outcome) == 0 || strcmp(s->next[i].on, "*") == 0) {
			enter(wf, find_state(wf->table, s->next[i].go));
			return;
		}
	}
	wf_set_summary(wf, "internal error: state %s has no transition for \"%s\"", s->name,
		       outcome);
	enter(wf, find_state(wf->table, "Fail"));
}

/* Tries of a state that met throttling, a 5xx or a network error: about
 * two minutes at the usual 10 s interval (each try is itself up to 3 HTTP
 * attempts with backoff in aws.c). Timeouts keep the state's own count: a
 * black-holed endpoint costs 90 s a try. */
#define WF_TRANSIENT_ATTEMPTS 12

static bool transient(enum bot_rc rc)
{
	return rc == BOT_ETHROTTLED || rc == BOT_ESERVER || rc == BOT_ENET || rc == BOT_ETIMEDOUT;
}

void wf_error(struct wf *wf, enum bot_rc rc, const char *msg)
{
	const struct wf_state *s = wf->state;
	wf->last_rc = rc;
	snprintf(wf->last_error, sizeof(wf->last_error), "%s", msg);
	/* Throttling means "slow down", and a 5xx or a refused connection
	 * "not now", not "broken": many workflows throttled together (200
	 * environments stopping at 18:00), or an AWS blip of a minute, get more
	 * attempts, and every retry is spread over 0.5-1.5 x the interval so
	 * they do not come back in one synchronised wave. */
	unsigned attempts = s->retry.attempts;
	bool blip = rc == BOT_ETHROTTLED || rc == BOT_ESERVER || rc == BOT_ENET;
	if (blip && attempts > 0 && attempts < WF_TRANSIENT_ATTEMPTS)
		attempts = WF_TRANSIENT_ATTEMPTS;
	if (transient(rc) && wf->attempt < attempts) {
		wf->attempt++;
		uint64_t delay = s->retry.interval_ms / 2 +
				 (uint64_t)((double)s->retry.interval_ms * rand_unit());
		log_warn("wf",
			 "msg=\"retrying state\" id=%s state=%s attempt=%u delay_ms=%llu "
			 "reason=\"%s\"",
			 wf->id, s->name, wf->attempt, (unsigned long long)delay, msg);
		wf->timer = loop_timer_add(wf->loop, delay, on_retry, wf);
		if (wf->timer)
			return;
	}
	wf_set_summary_text(wf, msg, msg); /* AWS's words */
	enter(wf, find_state(wf->table, s->catch_state ? s->catch_state : "Fail"));
}

/* WF_TIMEOUT_MS, or the test knob ENVBOT_TEST_WF_TIMEOUT_MS (shorter only):
 * the chaos suite's stack stuck IN_PROGRESS times out in seconds, with the
 * monotonic clock real. Unset in production. */
static uint32_t timeout_ms(void)
{
	const char *s = getenv("ENVBOT_TEST_WF_TIMEOUT_MS");
	long v = s ? strtol(s, NULL, 10) : 0;
	return v > 0 && v < (long)WF_TIMEOUT_MS ? (uint32_t)v : WF_TIMEOUT_MS;
}

static void on_deadline(void *arg)
{
	struct wf *wf = arg;
	wf->deadline = NULL;
	loop_timer_cancel(wf->loop, wf->timer);
	wf->timer = NULL;
	aws_cancel(wf->aws, wf);
	uint32_t t = timeout_ms();
	char took[32];
	if (t % 60000u == 0)
		snprintf(took, sizeof(took), "%u minutes", t / 60000u);
	else
		snprintf(took, sizeof(took), "%u s", (t + 999u) / 1000u);
	wf_set_summary(wf, "timed out after %s in %s%s%s%s%s", took, wf->state->name,
		       wf->stack_status[0] ? ", stack " : "", wf->stack_status,
		       wf->last_error[0] ? "; last error: " : "", wf->last_error);
	enter(wf, find_state(wf->table, "Fail"));
}

void wf_begin(struct wf *wf)
{
	wf->started_ms = loop_now_ms();
	if (!wf->table->no_deadline)
		wf->deadline = loop_timer_add(wf->loop, timeout_ms(), on_deadline, wf);
	log_info("wf", "msg=\"workflow started\" id=%s env=%s action=%s trigger=\"%s\" state=%s",
		 wf->id, wf->env->name, action_name(wf->action), wf->trigger, wf->state->name);
	enter(wf, wf->state);
}

void wf_detail_step(struct wf *wf, const char *fmt, ...)
{
	int step = wf->state->step;
	if (step < 0 || (size_t)step >= wf->n_steps)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wf->steps[step].detail, sizeof(wf->steps[step].detail), fmt, ap);
	va_end(ap);
	wf_changed(wf);
}

void wf_set_summary(struct wf *wf, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	vsnprintf(wf->summary, sizeof(wf->summary), fmt, ap);
	vsnprintf(wf->summary_said, sizeof(wf->summary_said), tr(wf->locale, fmt), ap2);
	va_end(ap2);
	va_end(ap);
}

void wf_set_summary_text(struct wf *wf, const char *text, const char *said)
{
	snprintf(wf->summary, sizeof(wf->summary), "%s", text ? text : "");
	snprintf(wf->summary_said, sizeof(wf->summary_said), "%s", said ? said : wf->summary);
}

void wf_add_detail(struct wf *wf, const char *fmt, ...)
{
	if (wf->n_details >= WF_MAX_DETAILS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wf->details[wf->n_details++], sizeof(wf->details[0]), fmt, ap);
	va_end(ap);
}

void wf_skip_step(struct wf *wf, int step)
{
	if (step >= 0 && (size_t)step < wf->n_steps && wf->steps[step].mark == WF_PENDING)
		wf->steps[step].mark = WF_SKIPPED;
}

const char *wf_id(const struct wf *wf)
{
	return wf->id;
}
const struct cfg_env *wf_env(const struct wf *wf)
{
	return wf->env;
}
enum action wf_action(const struct wf *wf)
{
	return wf->action;
}
enum wf_status wf_status(const struct wf *wf)
{
	return wf->status;
}
const char *wf_trigger(const struct wf *wf)
{
	return wf->trigger;
}
const char *wf_trigger_said(const struct wf *wf)
{
	return wf->trigger_said;
}
const char *wf_locale(const struct wf *wf)
{
	return wf->locale;
}
const char *wf_state_name(const struct wf *wf)
{
	return wf->state->name;
}
const char *wf_stack_id(const struct wf *wf)
{
	return wf->stack_id;
}

const struct wf *wf_parent(const struct wf *wf)
{
	return wf->parent;
}

void wf_active_detail(const struct wf *child, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < child->n_steps; i++) {
		const struct wf_step *s = &child->steps[i];
		if (s->mark != WF_ACTIVE)
			continue;
		snprintf(buf, len, "%s%s%s", s->label, s->detail[0] ? ": " : "", s->detail);
		return;
	}
}

void wf_set_parent(struct wf *child, const struct wf *parent)
{
	child->parent = parent;
}

int wf_add_step(struct wf *wf, const char *label)
{
	if (wf->n_steps >= WF_MAX_STEPS)
		return -1;
	struct wf_step *s = &wf->steps[wf->n_steps];
	memset(s, 0, sizeof(*s));
	s->label = label;
	return (int)wf->n_steps++;
}

void wf_mark_step(struct wf *wf, int i, enum wf_mark mark, const char *detail)
{
	if (i < 0 || (size_t)i >= wf->n_steps)
		return;
	struct wf_step *s = &wf->steps[i];
	uint64_t now = loop_now_ms();
	if (mark == WF_ACTIVE && s->mark != WF_ACTIVE)
		s->started_ms = now;
	if ((mark == WF_DONE || mark == WF_ERROR) && s->mark == WF_ACTIVE)
		s->ended_ms = now;
	s->mark = mark;
	if (detail)
		snprintf(s->detail, sizeof(s->detail), "%s", detail);
	wf_changed(wf);
}

const char *wf_resume_point(const struct wf *wf)
{
	if (wf->resume_point[0])
		return wf->resume_point;
	return wf->state->type == WF_WAIT ? wf->state->next[0].go : wf->state->name;
}
const char *wf_stack_status(const struct wf *wf)
{
	return wf->stack_status;
}
const char *wf_image_tag(const struct wf *wf)
{
	return wf->image_tag;
}
const char *wf_image_rule(const struct wf *wf)
{
	return wf->image_rule ? wf->image_rule : "";
}
const char *wf_summary(const struct wf *wf)
{
	return wf->summary;
}
const char *wf_summary_said(const struct wf *wf)
{
	return wf->summary_said[0] ? wf->summary_said : wf->summary;
}
size_t wf_n_details(const struct wf *wf)
{
	return wf->n_details;
}
const char *wf_detail(const struct wf *wf, size_t i)
{
	return i < wf->n_details ? wf->details[i] : "";
}
uint64_t wf_started_ms(const struct wf *wf)
{
	return wf->started_ms;
}
bool wf_was_noop(const struct wf *wf)
{
	return wf->noop;
}

enum bot_rc wf_error_rc(const struct wf *wf)
{
	if (wf->status != WF_FAILED)
		return BOT_OK;
	return wf->last_rc != BOT_OK ? wf->last_rc : BOT_EFAILED;
}

uint64_t wf_elapsed_ms(const struct wf *wf)
{
	uint64_t end = wf->ended_ms ? wf->ended_ms : loop_now_ms();
	return wf->started_ms && end > wf->started_ms ? end - wf->started_ms : 0;
}

size_t wf_steps(const struct wf *wf, const struct wf_step **steps)
{
	*steps = wf->steps;
	return wf->n_steps;
}

int wf_check_table(const struct wf_table *t, char *err, size_t errlen)
{
	size_t n_steps = 0;
	while (n_steps < WF_MAX_STEPS && t->steps[n_steps])
		n_steps++;
	if (!find_state(t, "Fail")) {
		snprintf(err, errlen, "%s: no Fail state", t->name);
		return -1;
	}
	for (const struct wf_state *s = t->states; s->name; s++) {
		if (s->step >= (int)n_steps) {
			snprintf(err, errlen, "%s: %s: step %d out of range", t->name, s->name,
				 s->step);
			return -1;
		}
		if ((s->type == WF_TASK || s->type == WF_CHOICE) && !s->run) {
			snprintf(err, errlen, "%s: %s: task without a function", t->name, s->name);
			return -1;
		}
		bool terminal = s->type == WF_SUCCEED || s->type == WF_FAIL;
		if (!terminal && !s->next[0].on) {
			snprintf(err, errlen, "%s: %s: no transition", t->name, s->name);
			return -1;
		}
		for (int i = 0; i < WF_MAX_NEXT && s->next[i].on; i++) {
			if (!s->next[i].go || !find_state(t, s->next[i].go)) {
				snprintf(err, errlen, "%s: %s: outcome %s goes to unknown state %s",
					 t->name, s->name, s->next[i].on,
					 s->next[i].go ? s->next[i].go : "(null)");
				return -1;
			}
		}
		if (s->catch_state && !find_state(t, s->catch_state)) {
			snprintf(err, errlen, "%s: %s: unknown catch state %s", t->name, s->name,
				 s->catch_state);
			return -1;
		}
	}
	return 0;
}

enum bot_rc wf_capacity_save(struct wf *wf, const struct state_capacity *c, char *err,
			     size_t errlen)
{
	if (!wf->obs.save_capacity) {
		snprintf(err, errlen,
			 "nothing persists here to keep %s's capacity: run it from the daemon "
			 "(envbot run) or with a state file",
			 c->key);
		return BOT_EINVAL;
	}
	return wf->obs.save_capacity(wf->obs.arg, wf, c, err, errlen);
}

bool wf_capacity_load(struct wf *wf, const char *key, struct state_capacity *out)
{
	return wf->obs.load_capacity && wf->obs.load_capacity(wf->obs.arg, wf, key, out);
}
