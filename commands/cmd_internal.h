/* What the command families (env.c, schedule.c, holiday.c, misc.c) share
 * with the dispatcher: the descriptor of one command, the context a handler
 * runs in, and the reply/audit/save helpers that keep every handler honest
 * (refusals ephemeral and audited, overrides saved before they are
 * acknowledged). Private to commands/. */
#ifndef ENVBOT_CMD_INTERNAL_H
#define ENVBOT_CMD_INTERNAL_H

#include <cjson/cJSON.h>

#include "../bot/i18n/i18n.h"
#include "commands.h"

/* One handler invocation. The ix is owned: a handler that keeps it (a
 * workflow, an AWS call) sets c->ix to NULL; the dispatcher frees the rest. */
struct cmd_ctx {
	const struct cmd_deps *deps;
	struct ix *ix;
	const struct cfg_env *env;   /* the "name" option resolved; NULL if none */
	const char *loc;             /* the caller's language (tr()): "ko", "en" */
	enum cmd_level level;        /* the member's level */
	time_t now;                  /* wall clock at receipt */
	bool confirmed;              /* reached through a confirm button */
	char action[STATE_TEXT_MAX]; /* for the audit: "/env extend dev 2h" */
	struct sched *own_sched;     /* cmd_sched's stand-in; freed by the dispatcher */
};

/* Writes the canonical argument of the command (what a confirm button
 * carries, e.g. "2h", "2026-12-24") into arg, after validating everything
 * that can be validated now. Returns 0, or -1 with a user-facing reason in
 * the language loc. It only reads: when it refuses, the dispatcher asks it
 * again in English (loc NULL) for the audit. */
typedef int (*cmd_prepare_fn)(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			      size_t errlen);
/* Does the command with the canonical argument ("" when none). */
typedef void (*cmd_run_fn)(struct cmd_ctx *c, const char *arg);

struct cmd_desc {
	const char *command;    /* "env"; NULL ends a table */
	const char *sub;        /* "extend"; NULL for a command without one */
	enum cmd_level level;   /* the least level that may use it */
	bool env_option;        /* has a "name" option naming an environment */
	bool env_required;      /* ... that must be given */
	bool mutates;           /* changes an environment: protected ones need an
				   admin and a confirm button */
	cmd_prepare_fn prepare; /* may be NULL */
	cmd_run_fn run;
};

/* The families' tables, each ended by { .command = NULL }. */
extern const struct cmd_desc cmd_env_table[];
extern const struct cmd_desc cmd_schedule_table[];
extern const struct cmd_desc cmd_holiday_table[];
extern const struct cmd_desc cmd_misc_table[];
extern const struct cmd_desc cmd_report_table[]; /* report.c: /report */

/* ---- helpers (reply.c) ---- */

/* The override just made, as an event out (events.h), recorded in the state
 * with it: call before the save that covers the change. text says what
 * changed, in English like the audit (events go to operators' tools).
 * cmd_commit does it. */
void cmd_emit_override(struct cmd_ctx *c, const char *text);

/* ---- languages ----
 *
 * One rule: what a person reads is in their language, c->loc (the
 * interaction's Discord locale; a post nobody asked for is in the config's
 * locale); what operators read (the audit, events out, the log, the CLI)
 * stays English. So a refusal, a no-op or a change is told twice:
 * - a fixed reason is its English msgid: cmd_refuse(c, "...") shows its
 *   translation and audits the English;
 * - a reason whose arguments read alike in every language (names,
 *   numbers, ISO dates) is cmd_refusef(c, fmt, ...): the same arguments
 *   in the English and in the translated format;
 * - anything else (local times, words of the pure parts of commands.h) is
 *   built once per language, cmd_lang(c, CMD_SAID) and cmd_lang(c, CMD_EN),
 *   and handed over as both: cmd_refuse_said, cmd_noop_said, cmd_commit. */
enum { CMD_SAID = 0, CMD_EN = 1, CMD_LANGS = 2 };
static inline const char *cmd_lang(const struct cmd_ctx *c, int i)
{
	return i == CMD_SAID ? c->loc : NULL;
}

/* Ephemeral "✘ why" to the caller, audited as "refused: why" and saved.
 * Nothing else changes. why is English (a msgid): the caller reads its
 * translation. */
void cmd_refuse(struct cmd_ctx *c, const char *why);
/* The same with the reason formatted from fmt (an English msgid) with
 * arguments that read alike in every language. */
void cmd_refusef(struct cmd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with both texts given: why for the audit (English), said for the
 * caller (their language). */
void cmd_refuse_said(struct cmd_ctx *c, const char *why, const char *said);
/* The answer to the caller: a reply to a command, or the confirm prompt
 * replaced by the text when confirmed through a button. */
void cmd_answer(struct cmd_ctx *c, const char *text, bool public_reply);
/* Sends text, however long, as the answer to a command interaction that
 * has not been answered yet or was deferred (cmd_reply_messages: the first
 * message is the response or the deferred response's edit, the rest are
 * follow-ups, each sent once the one before it has landed, so that Discord
 * takes them and shows them in order). ix is borrowed (the replies in
 * flight hold it). */
void cmd_reply_long(struct rest *rest, struct ix *ix, const char *text, bool ephemeral);
/* An ephemeral "nothing to do" answer (the state already is what was
 * asked): audited as "no change: why" (English) like a refusal, said to the
 * caller in their language, and changes nothing. */
void cmd_noop_said(struct cmd_ctx *c, const char *why, const char *said);
/* Audit line for this action (English). */
void cmd_audit(struct cmd_ctx *c, const char *outcome);
/* After a change to the state: audits "ok", emits event (the change in
 * English, like the audit) as an override event, saves, and answers
 * publicly with said + note (the caller's language); if saving failed,
 * says so instead of claiming it is done. */
void cmd_commit(struct cmd_ctx *c, const char *event, const char *said, const char *note);
/* The member's display name, escaped for echoing. */
void cmd_who(const struct cmd_ctx *c, char *buf, size_t len);
/* The scheduler that answers "what happens next": the daemon's, or when it
 * has none (its creation failed) one made for this command from the same
 * config and state, without a timer. NULL only on ENOMEM. */
const struct sched *cmd_sched(struct cmd_ctx *c);
/* The next action of env after now as the scheduler will run it
 * (cmd_next_words): "stop Mon 18:00 KST (extended to ... )". */
void cmd_next_action(struct cmd_ctx *c, const struct cfg_env *env, const struct tz *tz, char *buf,
		     size_t len);

#endif
