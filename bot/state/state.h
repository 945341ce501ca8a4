/* The daemon's persistent state (CONTRACT.md "What persists"): per-environment
 * overrides (extend, skip, pause), the global freeze, holidays added from chat,
 * the audit log, workflows in flight and uptime for /cost. It lives in one
 * versioned JSON file written atomically, and the conflict rule that the
 * scheduler, /schedule show and `envbot plan` all consult is here, pure.
 *
 * Threading: a struct state is owned by one thread (the loop thread); nothing
 * here locks. state_save() does blocking file I/O and fsync; it must never be
 * called from a signal handler (the handler sets a flag, the loop saves). */
#ifndef ENVBOT_STATE_H
#define ENVBOT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../core/action.h"
#include "../core/rc.h"
#include "../time/cron.h"
#include "../time/when.h"

/* The file format version this build writes and reads. A file with a higher
 * version is refused (never guessed at, never overwritten). Version 1:
 *   { "version": 1,
 *     "freeze": { "who", "since" },                       (absent: not frozen)
 *     "environments": { "<name>": {
 *         "extends": [ { "date": "YYYY-MM-DD", "stop_at", "set_at", "who" } ],
 *         "skips": [ { "date", "set_at", "who" } ],
 *         "pause": { "until_date" | "until_at", "since", "who" },  (optional)
 *         "lease": { "action": "start"|"stop", "until", "set_at", "who" },
 *                                                          (optional)
 *         "capacities": { "<key>": { "min", "desired", "max", "saved_at" } },
 *                                                          (optional)
 *         "uptime": { "up_since", "intervals": [ [from, to] ] } } },
 *     "holidays": [ { "date", "label", "who", "added_at" } ],
 *     "workflows": [ { "env", "kind": "start"|"stop", "id", "trigger",
 *         "started", "stack_id", "token", "channel_id", "message_id", "step",
 *         "image_tag", "locale", "trigger_said" } ],
 *                            ("locale", "trigger_said": optional)
 *     "audit": [ { "time", "user_id", "user", "action", "env", "outcome" } ],
 *     "outbox": [ { "env", "id", "finished", "channel_id", "message_id",
 *         "message" } ],                                  (optional)
 *     "events": [ { "id", "created", "event": { ... }, "pending": [ sink ] } ],
 *                                                          (optional)
 *     "calendars": { "<name>": { "fetched", "days": [ [ "YYYY-MM-DD", summary ] ],
 *         "failed_at", "error" } },                       (optional)
 *     "report_week": "YYYY-MM-DD" }                       (optional)
 * Times are integer seconds since the epoch (UTC). Unknown keys are ignored,
 * so a later version 1 writer may add optional fields: "last_tick",
 * "outbox" and "lease" are such fields, written only when set, and a file without them
 * loads as "never ticked" and "nothing to send"; a workflow's "locale" and
 * "trigger_said" too (without them: English, the trigger). */
#define STATE_VERSION 1

/* Field sizes, NUL included. Identifiers (env names, Discord ids, stack ids,
 * tokens) that do not fit are refused with BOT_EINVAL; human text (who,
 * labels, audit action/outcome, trigger) is truncated. */
#define STATE_NAME_MAX   64  /* environment name */
#define STATE_ID_MAX     32  /* a Discord snowflake (20 digits) */
#define STATE_WHO_MAX    80  /* a display name */
#define STATE_TEXT_MAX   256 /* audit action/outcome, holiday label, trigger */
#define STATE_LOCALE_MAX 16  /* a catalogue's code: "ko", "pt-BR" */
#define STATE_WFID_MAX   64  /* workflow id */
#define STATE_ARN_MAX    320 /* CloudFormation stack id (an ARN) */
#define STATE_TOKEN_MAX  130 /* ClientRequestToken: up to 128 characters */
#define STATE_STEP_MAX   64  /* name of the workflow's current state */
#define STATE_TAG_MAX    130 /* ECR image tag: up to 128 characters */
#define STATE_KEY_MAX    192 /* a saved capacity's key: "asg/NAME", "ecs/CLUSTER/SERVICE" */
/* A rendered progress message (JSON) kept in the outbox. Discord caps an
 * embed at 6000 characters; the renderer's pictures are a few kilobytes. */
#define STATE_MSG_MAX 16384

/* Bounds; the file is ours, but a bug must not be able to grow it forever. */
#define STATE_MAX_ENVS       1000
#define STATE_MAX_EXTENDS    16  /* per environment (one per date) */
#define STATE_MAX_SKIPS      400 /* per environment */
#define STATE_MAX_HOLIDAYS   1000
#define STATE_MAX_WORKFLOWS  1000
#define STATE_MAX_FINALS     1000 /* outbox: final pictures not yet sent */
#define STATE_MAX_INTERVALS  2048 /* per environment; the oldest go first */
#define STATE_MAX_CAPACITIES 512  /* per environment (one per scaled resource) */
#define STATE_AUDIT_DEFAULT  1000
#define STATE_AUDIT_HARD_MAX 100000

/* "/env extend": that date's scheduled stop happens at stop_at instead. */
struct state_extend {
	ymd_t date;     /* the local date (schedule's zone) whose stop moves */
	time_t stop_at; /* the new stop instant (UTC) */
	time_t set_at;
	char who[STATE_WHO_MAX];
};

/* "/env skip": that date's scheduled start does not happen. */
struct state_skip {
	ymd_t date;
	time_t set_at;
	char who[STATE_WHO_MAX];
};

/* "/schedule pause": no automatic action until the end. Exactly one of
 * until_date / until_at is set (the other is 0). until_date is exclusive:
 * "until 2026-12-01" holds actions dated up to 11-30; those of 12-01 run. */
struct state_pause {
	ymd_t until_date;
	time_t until_at;
	time_t since;
	char who[STATE_WHO_MAX];
};

/* A manual action (/env start|stop, `envbot start --for`) is an override: the
 * environment stays as asked until the lease ends (until; 0 = no end of its
 * own) or the next scheduled transition after set_at, whichever comes first.
 * enforce leaves it alone meanwhile; a start's lease ends with a stop at
 * `until`, warned like a scheduled stop. One per environment. */
struct state_lease {
	enum action action;
	time_t until; /* 0: until the next scheduled transition */
	time_t set_at;
	char who[STATE_WHO_MAX];
};

/* What a stop scaled to zero (an Auto Scaling group's min/desired/max, an
 * ECS service's desired count and its scalable target's min/max), saved
 * under the environment before the scale-down is sent, so that the start
 * restores exactly it. -1: the resource has no such value. Keyed by the
 * resource ("asg/NAME"); kept after the start (the next stop overwrites it
 * with what it finds, unless it finds zero already). */
struct state_capacity {
	char key[STATE_KEY_MAX];
	long long min, desired, max;
	time_t saved_at;
};

struct state_freeze {
	time_t since;
	char who[STATE_WHO_MAX];
};

struct state_holiday {
	ymd_t date;
	time_t added_at;
	char label[STATE_TEXT_MAX]; /* may be "" */
	char who[STATE_WHO_MAX];
};

/* One audit line. Scheduled actions use user_id "" and user "schedule". */
struct state_audit {
	time_t time;
	char user_id[STATE_ID_MAX];
	char user[STATE_WHO_MAX];
	char action[STATE_TEXT_MAX];  /* "/env extend dev 2h", "scheduled stop" */
	char env[STATE_NAME_MAX];     /* "" when none */
	char outcome[STATE_TEXT_MAX]; /* "ok", "refused: not an operator", ... */
};

/* A workflow in flight, enough to resume it after a crash: poll the stack by
 * id, finish the progress embed in place. At most one per environment. */
struct state_wf {
	char env[STATE_NAME_MAX];
	enum action kind;
	char id[STATE_WFID_MAX];
	char trigger[STATE_TEXT_MAX]; /* "schedule", "/env start by alice" */
	time_t started;
	char stack_id[STATE_ARN_MAX];  /* "" until CreateStack/DescribeStacks */
	char token[STATE_TOKEN_MAX];   /* idempotency token; "" if none */
	char channel_id[STATE_ID_MAX]; /* progress embed; "" if not posted yet */
	char message_id[STATE_ID_MAX];
	char step[STATE_STEP_MAX]; /* name of the current state in the table */
	char image_tag[STATE_TAG_MAX];
	/* What people read of it: its embed's language ("ko"; "" English)
	 * and its trigger as shown there ("" the trigger). */
	char locale[STATE_LOCALE_MAX];
	char trigger_said[STATE_TEXT_MAX];
};

/* The outbox: a finished workflow's final progress picture, kept until
 * Discord accepted the edit that shows it (or refused it for good). Its
 * running record turns into this one in a single mutation (state_wf_finish),
 * so a file saved at any moment holds the workflow either as in flight (the
 * next start resumes it) or as finished with its picture (the next start
 * sends it): a kill -9 between the end and the edit cannot leave the
 * message "in progress". Keyed by workflow id, so a new workflow of the same
 * environment may run while the last one's picture waits. */
struct state_final {
	char env[STATE_NAME_MAX];
	char id[STATE_WFID_MAX]; /* the workflow's id: the key */
	time_t finished;
	char channel_id[STATE_ID_MAX];
	char message_id[STATE_ID_MAX]; /* "": never learnt; a new message is posted */
	char message[STATE_MSG_MAX];   /* the message body, JSON {"embeds": [...]} */
};

/* Events out (bot/events): one event (its JSON, CONTRACT.md "Events out")
 * and the sinks that have not taken it yet. Put in the same mutation as what
 * it reports, so a saved state holds both or neither; dropped when the last
 * sink took it. Keyed by the event's id, which a sink sees, so a resend after
 * a restart carries the same id. */
#define STATE_EVENT_JSON_MAX 4096
#define STATE_SINKS_MAX      16
#define STATE_SINK_NAME_MAX  32
#define STATE_MAX_EVENTS     1000 /* more: the oldest is dropped (logged) */
struct state_event {
	char id[STATE_WFID_MAX];
	time_t created;
	char json[STATE_EVENT_JSON_MAX]; /* the event, compact JSON */
	size_t n_pending;
	char pending[STATE_SINKS_MAX][STATE_SINK_NAME_MAX]; /* in config order */
};

/* The last good copy of a holiday calendar (bot/sched/calendars.c): a
 * refresh that fails keeps it and records why. */
#define STATE_CAL_NAME_MAX 64
#define STATE_CAL_DAYS_MAX 2000
#define STATE_CAL_TEXT_MAX 128
struct state_cal_day {
	ymd_t date;
	char summary[STATE_CAL_TEXT_MAX];
};
struct state_calendar {
	char name[STATE_CAL_NAME_MAX];
	time_t fetched;   /* the last good copy's time; 0 = never fetched */
	time_t failed_at; /* the last refresh that failed, 0 = none since */
	char error[STATE_TEXT_MAX];
	struct state_cal_day *days; /* sorted, unique dates */
	size_t n_days;
};

/* What state_load() found. */
struct state_load_info {
	bool missing;           /* no file: the state starts empty (first run) */
	bool recovered;         /* the file was corrupt; it was moved aside and <path>.bak
				   was loaded: warn in the channel too */
	char corrupt_path[512]; /* where the bad file now is, when recovered */
	char reason[256];       /* why the file was refused, when recovered */
};

struct state;

/* Returns a new empty state (audit_max = STATE_AUDIT_DEFAULT), NULL on
 * allocation failure. Caller frees with state_destroy. */
struct state *state_create(void);
/* Accepts NULL. */
void state_destroy(struct state *st);

/* Loads path into a new state (*out, caller frees with state_destroy). The
 * audit log keeps every entry the file held (up to STATE_AUDIT_HARD_MAX): call
 * state_set_audit_max(st, cfg->audit_max) afterwards.
 * - missing file: BOT_OK, empty state, info->missing.
 * - corrupt or truncated file: it is renamed to <path>.corrupt-<UTC stamp>
 *   (never overwritten nor deleted), <path>.bak is loaded with a log_error,
 *   BOT_OK and info->recovered. If <path>.bak is missing or bad too, nothing
 *   is renamed and BOT_EPARSE is returned: the daemon must refuse to start
 *   rather than silently start empty.
 * - path missing but <path>.bak present (someone deleted the state): the
 *   .bak is loaded with a log_error and info->recovered.
 * - a version newer than STATE_VERSION: BOT_EINVAL, file left alone.
 * - unreadable: BOT_EIO.
 * err (may be NULL) receives the reason on failure. info may be NULL. */
enum bot_rc state_load(const char *path, struct state **out, struct state_load_info *info,
		       char *err, size_t errlen);

/* The same for commands that only read (`envbot plan`, `check-config`): a
 * corrupt file is not moved aside (info->corrupt_path stays ""), .bak is used
 * in memory; nothing on disk changes. Never save a state loaded this way over
 * a corrupt file: state_save would keep the corrupt file as .bak. */
enum bot_rc state_load_readonly(const char *path, struct state **out, struct state_load_info *info,
				char *err, size_t errlen);

/* Writes st to path atomically: <path>.tmp (mode 0600) is written and
 * fsynced, the current file is kept as <path>.bak (hard link, else a copy),
 * the tmp file is renamed over path and the directory fsynced. On any failure
 * (read-only directory, full disk, path is a directory) returns BOT_EIO with a
 * reason in err, removes the tmp file and leaves path as it was.
 * Blocking; never from a signal handler. */
enum bot_rc state_save(const struct state *st, const char *path, char *err, size_t errlen);

/* One writer per state file (state_lock.c): an advisory lock on
 * <path>.lock, held by the daemon while it runs and by a shell start/stop
 * while it runs, dropped by the kernel when the holder dies. Waits up to
 * wait_ms for a holder that is going away. BOT_OK: *out holds it;
 * BOT_EBUSY: another process holds it (err names its pid); BOT_EIO: no lock
 * file could be made there (err says why). */
struct state_lock;
enum bot_rc state_lock_take(const char *path, unsigned wait_ms, struct state_lock **out, char *err,
			    size_t errlen);
/* Accepts NULL. */
void state_lock_release(struct state_lock *l);

/* The JSON document state_save writes (a new string, caller frees with
 * free()); NULL on allocation failure. Stable for equal states: used by tests
 * and for debugging. */
char *state_dump(const struct state *st);
/* Parses a document made by state_dump into a new state. BOT_EPARSE (corrupt),
 * BOT_EINVAL (newer version), BOT_ENOMEM; reason in err. */
enum bot_rc state_parse(const char *json, struct state **out, char *err, size_t errlen);

/* --- Overrides. Mutators return BOT_OK, or BOT_EINVAL with a reason in err
 * (err may be NULL); env is an environment name (not checked against the
 * config: the caller does that). Queries return borrowed pointers valid
 * until the next mutation of st, or NULL. --- */

/* Sets (or replaces) the extend of env for date. */
enum bot_rc state_extend_set(struct state *st, const char *env, ymd_t date, time_t stop_at,
			     const char *who, time_t now, char *err, size_t errlen);
/* Returns true if there was one. */
bool state_extend_clear(struct state *st, const char *env, ymd_t date);
const struct state_extend *state_extend_for(const struct state *st, const char *env, ymd_t date);
/* Extends of env in date order, for /schedule show and /env status. */
size_t state_extend_count(const struct state *st, const char *env);
const struct state_extend *state_extend_at(const struct state *st, const char *env, size_t i);

enum bot_rc state_skip_add(struct state *st, const char *env, ymd_t date, const char *who,
			   time_t now, char *err, size_t errlen);
bool state_skip_remove(struct state *st, const char *env, ymd_t date);
const struct state_skip *state_skip_find(const struct state *st, const char *env, ymd_t date);
bool state_is_skipped(const struct state *st, const char *env, ymd_t date);
/* Skips of env in date order, for /schedule show and /env status. */
size_t state_skip_count(const struct state *st, const char *env);
const struct state_skip *state_skip_at(const struct state *st, const char *env, size_t i);

/* Exactly one of until_date / until_at must be non-zero. Replaces a pause. */
enum bot_rc state_pause_set(struct state *st, const char *env, ymd_t until_date, time_t until_at,
			    const char *who, time_t now, char *err, size_t errlen);
bool state_pause_clear(struct state *st, const char *env);
const struct state_pause *state_pause_until(const struct state *st, const char *env);

/* Sets (or replaces) the lease of env. BOT_EINVAL when until is before
 * now (0 is allowed: no end of its own). */
enum bot_rc state_lease_set(struct state *st, const char *env, enum action action, time_t until,
			    const char *who, time_t now, char *err, size_t errlen);
/* Returns true if there was one. */
bool state_lease_clear(struct state *st, const char *env);
/* NULL when env has none. */
const struct state_lease *state_lease_of(const struct state *st, const char *env);

/* Sets (or replaces) the capacity saved under env for c->key. BOT_EINVAL
 * for an empty or too long key, a value below -1, or too many keys. */
enum bot_rc state_capacity_set(struct state *st, const char *env, const struct state_capacity *c,
			       char *err, size_t errlen);
/* The capacity saved under env for key; NULL if none. Borrowed until the
 * next change of the state. */
const struct state_capacity *state_capacity_get(const struct state *st, const char *env,
						const char *key);
size_t state_capacity_count(const struct state *st, const char *env);
const struct state_capacity *state_capacity_at(const struct state *st, const char *env, size_t i);

/* A second freeze keeps the first one's who and since. */
void state_freeze(struct state *st, const char *who, time_t now);
bool state_unfreeze(struct state *st);
/* NULL when not frozen. */
const struct state_freeze *state_is_frozen(const struct state *st);

/* BOT_EINVAL when the date is invalid or already a chat holiday. */
enum bot_rc state_holiday_add(struct state *st, ymd_t date, const char *label, const char *who,
			      time_t now, char *err, size_t errlen);
bool state_holiday_remove(struct state *st, ymd_t date);
const struct state_holiday *state_holiday_find(const struct state *st, ymd_t date);
/* Chat holidays in date order. */
size_t state_holiday_count(const struct state *st);
const struct state_holiday *state_holiday_at(const struct state *st, size_t i);

/* --- Audit log: bounded, the oldest entries are dropped first. --- */

/* Keeps at most max entries (1..STATE_AUDIT_HARD_MAX; others are clamped),
 * dropping the oldest now if there are more. */
void state_set_audit_max(struct state *st, int max);
/* Copies e (strings are truncated to their fields). */
enum bot_rc state_audit_add(struct state *st, const struct state_audit *e);
/* Convenience: builds the entry from strings (any may be NULL = ""). */
enum bot_rc state_audit(struct state *st, time_t when, const char *user_id, const char *user,
			const char *action, const char *env, const char *outcome);
size_t state_audit_count(const struct state *st);
/* i = 0 is the oldest kept entry. */
const struct state_audit *state_audit_at(const struct state *st, size_t i);

/* --- Workflows in flight, keyed by environment. --- */

/* Inserts or replaces the workflow of wf->env (copied). BOT_EINVAL when an
 * identifier does not fit its field or env is empty. */
enum bot_rc state_wf_put(struct state *st, const struct state_wf *wf, char *err, size_t errlen);
const struct state_wf *state_wf_find(const struct state *st, const char *env);
bool state_wf_remove(struct state *st, const char *env);
size_t state_wf_count(const struct state *st);
const struct state_wf *state_wf_at(const struct state *st, size_t i);

/* --- The outbox of final pictures (struct state_final), keyed by id. --- */

/* Inserts or replaces the record of f->id (copied). BOT_EINVAL when id or env
 * is empty, an identifier does not fit, or message is empty or does not fit
 * (STATE_MSG_MAX, NUL included); BOT_EINVAL when STATE_MAX_FINALS are held. */
enum bot_rc state_final_put(struct state *st, const struct state_final *f, char *err,
			    size_t errlen);
/* Turns f->env's running record (if any) into the final record f: both or
 * neither. On error the running record is left as it was. */
enum bot_rc state_wf_finish(struct state *st, const struct state_final *f, char *err,
			    size_t errlen);
const struct state_final *state_final_find(const struct state *st, const char *id);
bool state_final_remove(struct state *st, const char *id);
size_t state_final_count(const struct state *st);
/* In insertion order (the oldest first). */
const struct state_final *state_final_at(const struct state *st, size_t i);

/* --- Events out (struct state_event), keyed by id, oldest first. --- */

/* Inserts e (copied). An event whose id is already held is left as it was
 * (BOT_OK: the same event recorded twice, e.g. a resumed workflow's start).
 * BOT_EINVAL for an empty id or json, a json that does not fit, or no
 * pending sink. When STATE_MAX_EVENTS are held the oldest is dropped first;
 * *dropped (may be NULL) is set then. */
enum bot_rc state_event_put(struct state *st, const struct state_event *e, bool *dropped, char *err,
			    size_t errlen);
const struct state_event *state_event_find(const struct state *st, const char *id);
/* sink took event id: it leaves the pending list, and the event goes with
 * the last one. False when nothing changed. */
bool state_event_delivered(struct state *st, const char *id, const char *sink);
size_t state_event_count(const struct state *st);
const struct state_event *state_event_at(const struct state *st, size_t i);

/* --- Holiday calendars' cached copies, keyed by name. --- */

/* Replaces name's days with a good copy fetched at t (days copied; at most
 * STATE_CAL_DAYS_MAX, sorted by the caller) and clears its error. */
enum bot_rc state_calendar_set(struct state *st, const char *name, time_t t,
			       const struct state_cal_day *days, size_t n, char *err,
			       size_t errlen);
/* A refresh of name failed at t: the days stay, the error is recorded. */
enum bot_rc state_calendar_failed(struct state *st, const char *name, time_t t, const char *why);
const struct state_calendar *state_calendar_find(const struct state *st, const char *name);
/* Drops the calendars not in names (gone from the config). Returns how many. */
size_t state_calendar_keep(struct state *st, char *const *names, size_t n);
size_t state_calendar_count(const struct state *st);
const struct state_calendar *state_calendar_at(const struct state *st, size_t i);

/* --- The week (its Monday) of the last scheduled weekly report posted,
 * 0 = none: a restart in the report's minute does not post it twice. --- */
ymd_t state_report_week(const struct state *st);
void state_set_report_week(struct state *st, ymd_t monday);

/* --- Uptime, measured from the actual starts and stops (for /cost). Kept
 * as closed intervals plus "up since"; no time zone here: the caller asks for
 * the seconds inside any [from, to) it computed (e.g. this month, local). --- */

/* Marks env up at t (no-op if already up). */
enum bot_rc state_up(struct state *st, const char *env, time_t t);
/* Marks env down at t, closing the open interval (no-op if not up). */
enum bot_rc state_down(struct state *st, const char *env, time_t t);
/* True and *since (may be NULL) when env is up. */
bool state_is_up(const struct state *st, const char *env, time_t *since);
/* Seconds env was up inside [from, to); an open interval counts until now. */
int64_t state_uptime_seconds(const struct state *st, const char *env, time_t from, time_t to,
			     time_t now);
/* Drops intervals that ended before `before` (call with the start of the
 * previous month), but for each environment's newest. Returns how many. */
size_t state_uptime_prune(struct state *st, time_t before);

/* The latest recorded start (up) and stop (down) of env from the uptime
 * record, 0 when none: catch-up uses them to see that someone already did by
 * hand what a missed scheduled action would have done. Either may be NULL. */
void state_last_transitions(const struct state *st, const char *env, time_t *last_up,
			    time_t *last_down);

/* --- The scheduler's last tick (seconds since the epoch, 0 = never): set by
 * the scheduler on every tick and saved with the rest, so that after a restart
 * "missed" means scheduled after the last tick the previous process made. --- */
time_t state_last_tick(const struct state *st);
void state_set_last_tick(struct state *st, time_t t);

/* --- Expiry. --- */

/* The local date of instant t in env's schedule zone (the caller owns the
 * zones; unknown environments may answer the default zone's date). A NULL
 * callback means UTC dates for every environment. */
typedef ymd_t (*state_today_fn)(void *ctx, const char *env, time_t t);

/* Drops every override that has passed, judged at now - grace so that a
 * catch-up after a restart (grace = cfg->catch_up) still sees what applied to
 * the actions it may replay:
 *   extend: its stop_at <= now - grace;
 *   skip:   its date is before the env's local date at now - grace;
 *   pause:  until_at <= now - grace, or until_date <= local date then;
 *   freeze: never (only /unfreeze ends it); chat holidays: kept.
 * Environments left with nothing are forgotten. Returns the number of
 * overrides dropped (non-zero: the caller saves). */
size_t state_expire(struct state *st, time_t now, int64_t grace, state_today_fn today, void *ctx);

/* --- The conflict rule. ---
 *
 * For a scheduled action of env at instant `at` (UTC) whose local date in the
 * schedule's zone is `date`, the first rule that matches decides:
 *   1. freeze           any action is held      "held: frozen by bob since ..."
 *   2. pause            any action is held      "held: paused by alice until ..."
 *   3. skip / holiday   a START does not happen "skipped: /env skip by alice",
 *                       "skipped: holiday 2026-12-25 (Christmas)"; stops run
 *                       (a holiday keeps the environment down, it never keeps
 *                       it up)
 *   4. extend           a STOP moves later      "extended to 22:00 KST by alice"
 *                       (an extend not later than `at` is ignored)
 *   otherwise           runs at `at`            "scheduled"
 * A pause holds actions at instants before until_at, or on dates before
 * until_date. Holidays are the config's (cfg_holidays) and the chat's. */
enum state_rule {
	STATE_RULE_NONE = 0,
	STATE_RULE_FREEZE,
	STATE_RULE_PAUSE,
	STATE_RULE_SKIP,
	STATE_RULE_HOLIDAY,
	STATE_RULE_EXTEND,
	STATE_RULE_LEASE, /* not state_decide's: the scheduler's stop at a lease's end */
};

struct state_decision {
	bool run;
	time_t at; /* effective instant: `at`, or the extended stop */
	enum state_rule rule;
	char reason[STATE_TEXT_MAX + STATE_WHO_MAX + 64];
};

/* The holidays a caller brings besides the chat's (the config's list, the
 * holiday calendars of bot/sched/holidays.c): true when date is one, with
 * what the reason says of it in label, "" for nothing. "Seollal, calendar
 * ko" makes "skipped: holiday 2027-02-08 (Seollal, calendar ko)". */
typedef bool (*state_holiday_fn)(void *ctx, ymd_t date, char *label, size_t len);

/* The conflict rule for one scheduled action of env at `at` (the local
 * date `date`). Pure: reads st only, and asks fn (NULL: no holidays but the
 * chat's) for the holidays the caller brings; they come before the chat's.
 * tz (may be NULL = UTC) is the schedule's zone, used to write times in the
 * reason. */
void state_decide(const struct state *st, const char *env, enum action action, time_t at,
		  ymd_t date, state_holiday_fn fn, void *ctx, const struct tz *tz,
		  struct state_decision *out);

#endif
