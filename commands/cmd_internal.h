/* What the command families (env.c, schedule.c, holiday.c, misc.c) share
 * with the dispatcher: the descriptor of one command, the context a handler
 * runs in, and the reply/audit/save helpers that keep every handler honest
 * (refusals ephemeral and audited, overrides saved before they are
 * acknowledged). Private to commands/. */
#ifndef ENVBOT_CMD_INTERNAL_H
#define ENVBOT_CMD_INTERNAL_H

#include <cjson/cJSON.h>

#include "commands.h"

/* One handler invocation. The ix is owned: a handler that keeps it (a
 * workflow, an AWS call) sets c->ix to NULL; the dispatcher frees the rest. */
struct cmd_ctx {
	const struct cmd_deps *deps;
	struct ix *ix;
	const struct cfg_env *env;   /* the "name" option resolved; NULL if none */
	enum cmd_level level;        /* the member's level */
	time_t now;                  /* wall clock at receipt */
	bool confirmed;              /* reached through a confirm button */
	char action[STATE_TEXT_MAX]; /* for the audit: "/env extend dev 2h" */
	struct sched *own_sched;     /* cmd_sched's stand-in; freed by the dispatcher */
};

/* Writes the canonical argument of the command (what a confirm button
 * carries, e.g. "2h", "2026-12-24") into arg, after validating everything
 * that can be validated now. Returns 0, or -1 with a user-facing reason. */
typedef int (*cmd_prepare_fn)(struct cmd_ctx *c, char *arg, size_t len, char *err, size_t errlen);
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
 * changed, for humans. cmd_commit does it. */
void cmd_emit_override(struct cmd_ctx *c, const char *text);

/* Ephemeral "✘ why" to the caller, audited as "refused: why" and saved.
 * Nothing else changes. */
void cmd_refuse(struct cmd_ctx *c, const char *why);
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
 * asked): audited as "no change: why" like a refusal, and changes nothing. */
void cmd_noop(struct cmd_ctx *c, const char *why);
/* Audit line for this action. */
void cmd_audit(struct cmd_ctx *c, const char *outcome);
/* After a change to the state: audits "ok", saves, and answers publicly with
 * text + note; if saving failed, says so instead of claiming it is done. */
void cmd_commit(struct cmd_ctx *c, const char *text, const char *note);
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
