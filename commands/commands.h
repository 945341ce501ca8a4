/* The slash commands of CONTRACT.md: one entry point for every interaction
 * (commands, autocomplete, buttons), who may do what, the confirm flow of
 * protected environments, the overrides and their replies, and the stop
 * warning with its snooze buttons. The pure parts (roles, option parsing,
 * extend computation, custom ids, reply notes) are exposed for the tests.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_COMMANDS_H
#define ENVBOT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../bot/cron.h"
#include "../bot/interact.h"
#include "../bot/rc.h"
#include "../bot/state.h"
#include "../bot/when.h"
#include "../config/config.h"

struct bot;

/* Handles one interaction of any type. Takes ownership of ix (freed now, or
 * later by a workflow or an AWS callback that answers it). */
void cmd_dispatch(struct bot *bot, struct ix *ix);

/* Posts the stop warning of env to cfg->channel_id: "dev stops at 18:00 KST"
 * with buttons [+1h] [+2h]; a click extends that stop for whoever clicks
 * (roles checked, max_extend applied). env and bot are borrowed. */
enum bot_rc cmd_post_stop_warning(struct bot *bot, const struct cfg_env *env, time_t stop_at);

/* ---- pure parts (exposed for tests) ---- */

enum cmd_level { CMD_ANYONE = 0, CMD_OPERATOR = 1, CMD_ADMIN = 2 };

/* The highest level the member holds: admin roles, else operator roles
 * (an admin is an operator too), else anyone. */
enum cmd_level cmd_member_level(const struct cfg *cfg, const struct ix *ix);
const char *cmd_level_name(enum cmd_level level); /* "anyone", "an operator", "an admin" */
/* NULL when the interaction comes from the configured guild; else why not
 * (static string): DMs, another guild. */
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
int cmd_extend_parse(const char *text, struct cmd_extend_arg *out, char *err, size_t errlen);
/* The canonical text of a (parsed) argument: "1h30m", "until 22:00",
 * "@1795424400". */
void cmd_extend_format(const struct cmd_extend_arg *a, char *buf, size_t len);

/* Today's scheduled stop of env at now: the first stop on the local date of
 * now (tz) whose effective time (an extend of that date, else the scheduled
 * time) has not passed. Returns 0 with *scheduled, *effective and *date, or
 * -1 with the reason in err ("dev has no scheduled stop today"). st may be
 * NULL. */
int cmd_stop_today(const struct cfg_env *env, const struct tz *tz, const struct state *st,
		   time_t now, time_t *scheduled, time_t *effective, ymd_t *date, char *err,
		   size_t errlen);

/* The new stop instant for an extend: a duration moves the current
 * effective stop later by that much; "until" names a local time of `date`;
 * "@" names the instant.
 * The result must be after now and after the scheduled stop, and (unless
 * admin) at most max_extend after the scheduled stop. Returns 0 and
 * *new_stop, or -1 with the reason in err. */
int cmd_extend_compute(const struct cmd_extend_arg *a, const struct tz *tz, ymd_t date, time_t now,
		       time_t scheduled, time_t effective, int64_t max_extend, bool admin,
		       time_t *new_stop, char *err, size_t errlen);

/* A day ("today", "tomorrow", weekday, YYYY-MM-DD) not before today.
 * Returns 0, or -1 with the reason in err. */
int cmd_parse_day(const char *text, ymd_t today, ymd_t *out, char *err, size_t errlen);

/* "/schedule pause ... until": a day expression (no automatic action
 * before that date, exclusive) or a duration from now. Exactly one of
 * *until_date / *until_at is set. Returns 0, or -1 with the reason. */
int cmd_parse_until(const char *text, ymd_t today, time_t now, ymd_t *until_date, time_t *until_at,
		    char *err, size_t errlen);

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
/* NULL when clicker may confirm c at now; else why not (static string). */
const char *cmd_confirm_check(const struct cmd_confirm *c, const char *clicker, time_t now);

/* A stop-warning button: "sw|env|stop_at|hours". */
int cmd_snooze_format(const char *env, time_t stop_at, int hours, char *buf, size_t len);
int cmd_snooze_parse(const char *custom_id, char *env, size_t envlen, time_t *stop_at, int *hours);

/* What an override does not win against, said in its reply, from the
 * conflict rule of state.h (freeze > pause > skip/holiday > extend). Writes
 * "" or " Note: ..." into buf. kind is "extend", "skip", "pause" or
 * "holiday"; date is the date the override is about (0 if none). */
void cmd_conflict_note(const struct state *st, const char *env, const char *kind, ymd_t date,
		       const ymd_t *cfg_holidays, size_t n_cfg_holidays, char *buf, size_t len);

/* Money in cents for hours at rate (rounded once). */
int64_t cmd_cents(double hours, double hourly_cost);

#endif
