/* What every handler answers and records through: refusals and no-op
 * answers (ephemeral, audited), replies of any length, the commit of an
 * override (saved before it is acknowledged), and the zone and scheduler a
 * reply reads. The dispatcher and the families (env.c, schedule.c, ...) call
 * these; they call neither. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/core/log.h"
#include "../bot/events/events.h"
#include "../bot/sched/plan.h"
#include "../bot/sched/sched.h"
#include "cmd_internal.h"

#define MOD "cmd"

void cmd_who(const struct cmd_ctx *c, char *buf, size_t len)
{
	cmd_escape(c->ix->user_name[0] ? c->ix->user_name : c->ix->user_id, buf, len);
}

void cmd_audit(struct cmd_ctx *c, const char *outcome)
{
	if (!c->deps->state)
		return;
	state_audit(c->deps->state, c->now, c->ix->user_id, c->ix->user_name, c->action,
		    c->env ? c->env->name : "", outcome);
}

static cJSON *message(const char *text, bool ephemeral)
{
	return rest_msg_new(text, ephemeral ? REST_FLAG_EPHEMERAL : 0);
}

/* A copy of user-influenced text that cannot break a key="value" log line:
 * quotes become apostrophes, control characters spaces. */
static void log_safe(const char *in, char *out, size_t len)
{
	snprintf(out, len, "%s", in);
	for (char *p = out; *p; p++)
		if (*p == '"' || *p == '\\')
			*p = '\'';
		else if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = ' ';
}

/* An ephemeral answer that changes nothing but the audit: a refusal or a
 * no-op. An audit line needs no acknowledgement: saved with the next batch.
 * said is what the caller reads (their language), why what the audit and
 * the log keep (English). */
static void answer_aside(struct cmd_ctx *c, const char *kind, const char *icon, const char *why,
			 const char *said)
{
	char text[REST_CONTENT_MAX], outcome[STATE_TEXT_MAX], la[STATE_TEXT_MAX], lw[512];
	snprintf(outcome, sizeof(outcome), "%s: %s", kind, why);
	cmd_audit(c, outcome);
	saver_save_soon(c->deps->saver);
	log_safe(c->action, la, sizeof(la));
	log_safe(why, lw, sizeof(lw));
	log_info(MOD, "msg=\"%s\" user=%s action=\"%s\" why=\"%s\"", kind, c->ix->user_id, la, lw);
	snprintf(text, sizeof(text), "%s %s", icon, said);
	if (c->ix->type == IX_COMMAND && c->ix->acked)
		ix_edit(c->deps->rest, c->ix, message(text, true), NULL, NULL);
	else
		ix_reply(c->deps->rest, c->ix, message(text, true));
}

#define REFUSED "✘"
#define NOOP    "ℹ️"

void cmd_refuse(struct cmd_ctx *c, const char *why)
{
	answer_aside(c, "refused", REFUSED, why, tr(c->loc, why));
}

void cmd_refuse_said(struct cmd_ctx *c, const char *why, const char *said)
{
	answer_aside(c, "refused", REFUSED, why, said);
}

/* fmt once as it is (the audit) and once translated (the caller); ap is
 * read twice. */
static void aside_v(struct cmd_ctx *c, const char *kind, const char *icon, const char *fmt,
		    va_list ap)
{
	char why[512], said[1024];
	va_list ap2;
	va_copy(ap2, ap);
	vsnprintf(why, sizeof(why), fmt, ap);
	vsnprintf(said, sizeof(said), tr(c->loc, fmt), ap2);
	va_end(ap2);
	answer_aside(c, kind, icon, why, said);
}

void cmd_refusef(struct cmd_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	aside_v(c, "refused", REFUSED, fmt, ap);
	va_end(ap);
}

/* A reply of several messages on its way: the rest go out as follow-ups,
 * each once the one before it has landed. */
struct long_reply {
	struct rest *rest;
	struct ix *ix; /* kept alive by the reply in flight */
	cJSON *rest_msgs;
};

static void long_reply_next(void *arg, const struct rest_response *res)
{
	struct long_reply *lr = arg;
	cJSON *next = NULL;
	if (res->rc == BOT_OK)
		next = cJSON_DetachItemFromArray(lr->rest_msgs, 0);
	else if (cJSON_GetArraySize(lr->rest_msgs) > 0)
		log_warn(MOD, "msg=\"long reply cut short\" id=%s rc=\"%s\" left=%d", lr->ix->id,
			 bot_strerror(res->rc), cJSON_GetArraySize(lr->rest_msgs));
	/* ix_followup takes next whatever it returns, and calls this again
	 * only when it returned BOT_OK. */
	if (next && ix_followup(lr->rest, lr->ix, next, long_reply_next, lr) == BOT_OK)
		return;
	cJSON_Delete(lr->rest_msgs);
	free(lr);
}

void cmd_reply_long(struct rest *rest, struct ix *ix, const char *text, bool ephemeral)
{
	int flags = ephemeral ? REST_FLAG_EPHEMERAL : 0;
	cJSON *msgs =
		cmd_reply_messages(i18n_locale_of(ix->locale), text, flags, CMD_REPLY_MESSAGES);
	cJSON *first = msgs ? cJSON_DetachItemFromArray(msgs, 0) : NULL;
	struct long_reply *lr = NULL;
	enum bot_rc rc;
	if (!first) {
		/* Out of memory: one clamped message is better than none. */
		cJSON_Delete(msgs);
		first = rest_msg_new(text, flags);
		msgs = NULL;
	}
	if (msgs && cJSON_GetArraySize(msgs) > 0 && (lr = calloc(1, sizeof(*lr))))
		*lr = (struct long_reply){ .rest = rest, .ix = ix, .rest_msgs = msgs };
	else
		cJSON_Delete(msgs);
	/* The first message answers (or edits the deferred answer); the
	 * follow-ups start once it has landed. */
	if (ix->acked)
		rc = ix_edit(rest, ix, first, lr ? long_reply_next : NULL, lr);
	else
		rc = ix_reply_then(rest, ix, first, lr ? long_reply_next : NULL, lr);
	if (rc != BOT_OK && lr) {
		cJSON_Delete(lr->rest_msgs);
		free(lr);
	}
}

void cmd_noop_said(struct cmd_ctx *c, const char *why, const char *said)
{
	answer_aside(c, "no change", NOOP, why, said);
}

void cmd_answer(struct cmd_ctx *c, const char *text, bool public_reply)
{
	if (c->ix->type == IX_COMPONENT) {
		/* The (ephemeral) confirm prompt becomes the answer, its buttons
		 * gone so that it cannot be pressed twice. */
		cJSON *msg = rest_msg_new(text, 0);
		if (msg)
			cJSON_AddItemToObject(msg, "components", cJSON_CreateArray());
		ix_component_update(c->deps->rest, c->ix, msg);
		return;
	}
	cmd_reply_long(c->deps->rest, c->ix, text, !public_reply);
}

void cmd_emit_override(struct cmd_ctx *c, const char *text)
{
	char name[3 * IX_NAME_MAX + 2];
	const struct ix *ix = c->ix;
	snprintf(name, sizeof(name), "%s%s%s%s%s", ix->command, ix->group[0] ? " " : "", ix->group,
		 ix->subcommand[0] ? " " : "", ix->subcommand);
	struct event_in in = { .type = EVENT_OVERRIDE,
			       .time = c->now,
			       .env = c->env ? c->env->name : NULL,
			       .who = ix->user_name[0] ? ix->user_name : ix->user_id,
			       .user_id = ix->user_id,
			       .summary = text,
			       .command = c->action,
			       .override = name };
	events_emit(c->deps->events, &in);
}

void cmd_commit(struct cmd_ctx *c, const char *event, const char *said, const char *note)
{
	char out[REST_CONTENT_MAX];
	cmd_audit(c, "ok");
	cmd_emit_override(c, event);
	if (saver_save_now(c->deps->saver) != BOT_OK) {
		snprintf(out, sizeof(out), "⚠ %s %s", said,
			 tr(c->loc, "But it could NOT be saved to the state file: it holds only "
				    "until envbot restarts. Check the disk and the log."));
		cmd_answer(c, out, true);
		return;
	}
	snprintf(out, sizeof(out), "%s%s", said, note ? note : "");
	cmd_answer(c, out, true);
}

const struct sched *cmd_sched(struct cmd_ctx *c)
{
	if (c->deps->sched)
		return c->deps->sched;
	if (!c->own_sched) {
		struct sched_deps d = { .cfg = c->deps->cfg, .st = c->deps->state };
		c->own_sched = sched_create(&d);
	}
	return c->own_sched;
}

void cmd_next_action(struct cmd_ctx *c, const struct cfg_env *env, const struct tz *tz, char *buf,
		     size_t len)
{
	cmd_next_words(c->loc, cmd_sched(c), c->deps->state, env, tz, c->now, buf, len);
}

/* The next action in words comes from sched_next, the same call that
 * decides what the scheduler fires, so a reply can never disagree with
 * what will happen. */
void cmd_next_words(const char *loc, const struct sched *s, const struct state *st,
		    const struct cfg_env *env, const struct tz *tz, time_t now, char *buf,
		    size_t len)
{
	struct sched_action a;
	char when[64], why[STATE_TEXT_MAX * 2];
	bool runs = s && sched_next(s, env->name, now, &a);
	if (!s || (!runs && a.scheduled_at == 0)) {
		snprintf(buf, len, "%s", tr(loc, "none scheduled"));
		return;
	}
	const char *verb = cmd_verb(loc, a.action);
	cmd_reason_words(loc, st, env->name, &a.decision, plan_local_date(tz, a.scheduled_at), tz,
			 why, sizeof(why));
	if (runs) {
		cmd_fmt_local_in(loc, tz, a.at, when, sizeof(when));
		if (a.decision.rule != STATE_RULE_NONE)
			snprintf(buf, len, "%s %s (%s)", verb, when, why);
		else
			snprintf(buf, len, "%s %s", verb, when);
		return;
	}
	cmd_fmt_local_in(loc, tz, a.scheduled_at, when, sizeof(when));
	snprintf(buf, len, tr(loc, "nothing will run (next: %s %s, %s)"), verb, when, why);
}
