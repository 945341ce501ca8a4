/* The slash commands of CONTRACT.md: one entry point for every interaction
 * (commands, autocomplete, buttons), who may do what, the confirm flow of
 * protected environments, the overrides and their replies, and the stop
 * warning with its snooze buttons. The pure parts (roles, option parsing,
 * extend computation, custom ids, reply notes) are exposed for the tests.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_COMMANDS_H
#define ENVBOT_COMMANDS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../bot/core/buf.h"
#include "../bot/core/rc.h"
#include "../bot/discord/interact.h"
#include "../bot/discord/rest.h"
#include "../bot/state/saver.h"
#include "../bot/state/state.h"
#include "../bot/time/cron.h"
#include "../bot/time/when.h"
#include "../config/config.h"

struct aws;
struct sched;
struct wfm;

/* The handles the commands work with, filled (and kept current across
 * SIGHUP) by the daemon; everything is borrowed. A handler uses them only
 * while it runs: what answers later (AWS lookups, workflows) copies the
 * handles it needs. */
struct events;
struct cmd_deps {
	struct rest *rest;
	const struct cfg *cfg; /* the current config */
	struct state *state;   /* NULL until loaded: commands are refused */
	struct saver *saver;   /* saves state (overrides before their reply) */
	struct wfm *wfm;       /* NULL: no workflows */
	struct sched *sched;   /* NULL: a stand-in answers "what next" */
	struct aws *aws;       /* NULL: no AWS lookups */
	struct events *events; /* NULL: no events out */
};

/* Handles one interaction of any type. deps is borrowed for the call; takes
 * ownership of ix (freed now, or later by a workflow or an AWS callback
 * that answers it). */
void cmd_dispatch(const struct cmd_deps *deps, struct ix *ix);

/* Posts the stop warning of env to cfg->channel_id: "dev stops at 18:00 KST"
 * with buttons [+1h] [+2h]; a click extends that stop for whoever clicks
 * (roles checked, max_extend applied). env and deps are borrowed. */
enum bot_rc cmd_post_stop_warning(const struct cmd_deps *deps, const struct cfg_env *env,
				  time_t stop_at);

/* The scheduled weekly report (report = { schedule }): last week's, posted
 * to cfg->channel_id; nothing when the state says that week's is posted. */
enum bot_rc cmd_post_weekly_report(const struct cmd_deps *deps, time_t now);

/* ---- pure parts (exposed for tests) ----
 *
 * What these say to people is in the language loc (a catalogue code, "ko";
 * NULL or "en": English), through tr() of bot/i18n. */

enum cmd_level { CMD_ANYONE = 0, CMD_OPERATOR = 1, CMD_ADMIN = 2 };

/* The highest level the member holds: admin roles, else operator roles
 * (an admin is an operator too), else anyone. */
enum cmd_level cmd_member_level(const struct cfg *cfg, const struct ix *ix);
/* "start" or "stop" (action_name) in the language loc. */
const char *cmd_verb(const char *loc, enum action a);
/* "anyone", "an operator", "an admin" (English msgids: tr() them to show) */
const char *cmd_level_name(enum cmd_level level);
/* NULL when the interaction comes from the configured guild; else why not
 * (an English msgid, static): DMs, another guild. */
const char *cmd_check_place(const struct cfg *cfg, const struct ix *ix);

/* Copies in into out (NUL-terminated, truncated with "…" to len) so that it
 * can be echoed in a message: markdown characters are backslash-escaped,
 * '@' cannot start a mention, control characters become spaces. */
void cmd_escape(const char *in, char *out, size_t len);

/* "/env extend" argument: a duration ("30m", "2h", "1h30m"), "until HH:MM",
 * or "@<unix seconds>": the absolute form a confirm button carries, so that
 * pressing it twice cannot extend twice. */
struct cmd_extend_arg {
	bool until;
	bool at;
	int64_t seconds; /* duration form */
	int minutes;     /* until form: local minutes since midnight */
	time_t stop_at;  /* absolute form */
};
/* Returns 0, or -1 with a user-facing reason in err. */
int cmd_extend_parse(const char *loc, const char *text, struct cmd_extend_arg *out, char *err,
		     size_t errlen);
/* The canonical text of a (parsed) argument: "1h30m", "until 22:00",
 * "@1795424400". */
void cmd_extend_format(const struct cmd_extend_arg *a, char *buf, size_t len);

/* Today's scheduled stop of env at now: the first stop on the local date of
 * now (tz) whose effective time (an extend of that date, else the scheduled
 * time) has not passed. Returns 0 with *scheduled, *effective and *date, or
 * -1 with the reason in err ("dev has no scheduled stop today"). st may be
 * NULL. */
int cmd_stop_today(const char *loc, const struct cfg_env *env, const struct tz *tz,
		   const struct state *st, time_t now, time_t *scheduled, time_t *effective,
		   ymd_t *date, char *err, size_t errlen);

/* The new stop instant for an extend: a duration moves the current
 * effective stop later by that much; "until" names a local time of `date`;
 * "@" names the instant.
 * The result must be after now and after the scheduled stop, and (unless
 * admin) at most max_extend after the scheduled stop. Returns 0 and
 * *new_stop, or -1 with the reason in err. */
int cmd_extend_compute(const char *loc, const struct cmd_extend_arg *a, const struct tz *tz,
		       ymd_t date, time_t now, time_t scheduled, time_t effective,
		       int64_t max_extend, bool admin, time_t *new_stop, char *err, size_t errlen);

/* "/env start ... for" (and `envbot start --for`): a duration ("2h", "90m",
 * "1h30m"), "until HH:MM" (today), "until tomorrow HH:MM", or "@<unix
 * seconds>" (the absolute form a confirm button carries). */
struct cmd_lease_arg {
	bool until;
	bool tomorrow; /* until form: the time of tomorrow, not today */
	bool at;
	int64_t seconds; /* duration form */
	int minutes;     /* until form: local minutes since midnight */
	time_t until_at; /* absolute form */
};
/* Returns 0, or -1 with a user-facing reason in err ("banana" is refused). */
int cmd_lease_parse(const char *loc, const char *text, struct cmd_lease_arg *out, char *err,
		    size_t errlen);
/* The lease's end: now + duration, the local time named (in tz), or the
 * instant. It must be after now ("until 07:00" at 20:00 is in the past:
 * refused, the reason suggests "until tomorrow 07:00") and, unless admin, at
 * most max_extend after now. Returns 0 and *until, or -1 with the reason. */
int cmd_lease_compute(const char *loc, const struct cmd_lease_arg *a, const struct tz *tz,
		      time_t now, int64_t max_extend, bool admin, time_t *until, char *err,
		      size_t errlen);
/* A longer lease (/env extend, a stop-warning snooze): a duration moves the
 * current end later; "until"/"@" name the new end. The new end must be after
 * the current one and (unless admin) at most max_extend after now. Returns 0
 * and *until, or -1 with the reason. */
int cmd_lease_extend(const char *loc, const struct cmd_lease_arg *a, const struct tz *tz,
		     time_t now, time_t current, int64_t max_extend, bool admin, time_t *until,
		     char *err, size_t errlen);

/* A day ("today", "tomorrow", weekday, YYYY-MM-DD) not before today.
 * Returns 0, or -1 with the reason in err. */
int cmd_parse_day(const char *loc, const char *text, ymd_t today, ymd_t *out, char *err,
		  size_t errlen);

/* "/schedule pause ... until": a day expression (no automatic action
 * before that date, exclusive) or a duration from now. Exactly one of
 * *until_date / *until_at is set. Returns 0, or -1 with the reason. */
int cmd_parse_until(const char *loc, const char *text, ymd_t today, time_t now, ymd_t *until_date,
		    time_t *until_at, char *err, size_t errlen);

/* A confirm button's custom_id: "cf|verb|env|arg|user|issued|nonce". */
#define CMD_CUSTOM_ID_MAX 101 /* Discord: 100 characters */
#define CMD_CONFIRM_TTL_S 60
struct cmd_confirm {
	char verb[16]; /* "start", "stop", "extend", "skip", "pause", "resume" */
	char env[STATE_NAME_MAX];
	char arg[40];         /* the canonical argument ("2h", "2026-12-24"), may be "" */
	char user[IX_ID_MAX]; /* who asked: only they may confirm */
	int64_t issued;       /* Unix seconds */
	uint32_t nonce;
};
/* Returns 0, or -1 when a field holds '|' or the id would be too long. */
int cmd_confirm_format(const struct cmd_confirm *c, char *buf, size_t len);
int cmd_confirm_parse(const char *custom_id, struct cmd_confirm *out);
/* NULL when clicker may confirm c at now; else why not (an English msgid,
 * static). */
const char *cmd_confirm_check(const struct cmd_confirm *c, const char *clicker, time_t now);

/* A stop-warning button: "sw|env|stop_at|hours". stop_at is the stop the
 * warning was about (the effective one, an extended stop included). */
int cmd_snooze_format(const char *env, time_t stop_at, int hours, char *buf, size_t len);
int cmd_snooze_parse(const char *custom_id, char *env, size_t envlen, time_t *stop_at, int *hours);

/* What a snooze button does: it means "keep env up until the warned stop +
 * hours", not "add hours to whatever the stop is now", so a double click,
 * or two people pressing the same +1h, extends once, and +2h after +1h
 * gives the warned stop + 2h. The new stop is max(current effective stop,
 * warned + hours), capped like /env extend: max_extend after the scheduled
 * (cron) stop unless admin. */
struct cmd_snooze_plan {
	ymd_t date;                     /* the local date whose stop moves (the extend's key) */
	time_t scheduled;               /* that date's scheduled stop the warning belongs to */
	time_t effective;               /* the stop as it stands: the extend, else scheduled */
	time_t target;                  /* warned + hours */
	time_t new_stop;                /* the stop after the click (== effective if !change) */
	bool change;                    /* false: already up until target or later */
	const struct state_extend *ext; /* the extend behind effective, or NULL;
					   borrowed from st until it changes */
};
/* Returns 0 with *out (out->change false when the click changes nothing),
 * or -1 with a user-facing reason in err (stop already happened, over
 * max_extend, no longer scheduled). st may be NULL. */
int cmd_snooze_compute(const char *loc, const struct cfg_env *env, const struct tz *tz,
		       const struct state *st, time_t warned, int hours, time_t now,
		       int64_t max_extend, bool admin, struct cmd_snooze_plan *out, char *err,
		       size_t errlen);

/* ---- replies of any length ---- */

/* Discord caps a message's content at 2000 characters. A longer reply
 * keeps its beginning as the content of the first message (cut at a line
 * end) and goes on in embeds (descriptions of up to CMD_PAGE_CHARS
 * characters, cut at line ends, CMD_PAGES_PER_MSG per message so that a
 * message stays under Discord's 6000 in total) over up to max_messages
 * messages; past that the last one says "... and N more lines not shown". */
#define CMD_PAGE_CHARS     2900
#define CMD_PAGES_PER_MSG  2
#define CMD_REPLY_MESSAGES 10 /* some 54,000 characters: more is no chat reply */

/* The message bodies of text, in order: {content} first, then
 * {embeds:[{description}...]} bodies when it does not fit; every body gets
 * "flags": flags when flags is non-zero. Trailing newlines are dropped.
 * Returns a new array the caller frees, NULL on ENOMEM. */
cJSON *cmd_reply_messages(const char *loc, const char *text, int flags, size_t max_messages);

/* Appends to the fixed buffer buf[len] at *o (advanced by what the text
 * needs, so *o >= len says it was cut): the notes added to a reply one
 * clause at a time. The caller ends a cut text with buf[len - 1] = '\0'. */
void cmd_appendf(char *buf, size_t len, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A growing text for replies built line by line. Stops growing (and sets
 * b.full) at CMD_TEXT_MAX bytes, or on ENOMEM (b.oom); what was added stays. */
#define CMD_TEXT_MAX (1024u * 1024u)
struct cmd_text {
	struct buf b; /* b.p owned; stops growing at CMD_TEXT_MAX (b.full) */
};
void cmd_text_add(struct cmd_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty); borrowed from t. */
const char *cmd_text_str(const struct cmd_text *t);
void cmd_text_free(struct cmd_text *t);

/* "Mon 2026-11-23 18:00 KST" (English). */
void cmd_fmt_local(const struct tz *tz, time_t t, char *buf, size_t len);
/* The same in the language loc ("2026-11-23 (월) 18:00 KST"). */
void cmd_fmt_local_in(const char *loc, const struct tz *tz, time_t t, char *buf, size_t len);
/* The short weekday (0 Sunday .. 6) in the language loc: "Mon", "월". */
const char *cmd_weekday(const char *loc, int wday);

/* ---- the scheduler's answer, in words ---- */

/* env's next action as the scheduler will run it (sched_next: overrides,
 * holidays and extends applied), in words: "stop Mon 2026-11-23 18:00 KST
 * (extended to ... by bob)", "nothing will run (next: start Mon ..., held:
 * frozen by alice since ...)", "none scheduled". */
void cmd_next_words(const char *loc, const struct sched *s, const struct state *st,
		    const struct cfg_env *env, const struct tz *tz, time_t now, char *buf,
		    size_t len);

/* Why the scheduler holds, moves or runs an action (d->reason, the state's
 * English words, which the audit records) in the language loc: rebuilt
 * from the override it names in st; English (loc NULL or "en"), or an
 * override no longer there: d->reason itself. date is the action's local
 * day. */
void cmd_reason_words(const char *loc, const struct state *st, const char *env,
		      const struct state_decision *d, ymd_t date, const struct tz *tz, char *buf,
		      size_t len);

/* What an override does not win against, said in its reply, from the
 * conflict rule of state.h (freeze > pause > skip/holiday > extend). Writes
 * "" or " Note: ..." into buf. kind is "extend", "skip", "pause" or
 * "holiday"; date is the date the override is about (0 if none). */
void cmd_conflict_note(const char *loc, const struct state *st, const char *env, const char *kind,
		       ymd_t date, const ymd_t *cfg_holidays, size_t n_cfg_holidays, char *buf,
		       size_t len);

/* Money in cents for hours at rate (rounded once). */
int64_t cmd_cents(double hours, double hourly_cost);

#endif
