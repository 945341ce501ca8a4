/* The daemon's scheduler: fires each environment's scheduled start and stop
 * at its cron instant in its zone (within a second of the minute), after the
 * overrides of state.h (freeze > pause > skip/holiday > extend); catches up
 * the most recent action missed while envbot was down; warns ahead of each
 * stop; re-applies the scheduled state every minute for `enforce = true`.
 * It decides and calls back; the daemon runs the workflows.
 *
 * Transitions, not enforcement: an action fires once, at its instant. A
 * manual start at 20:00 is not undone by the next tick (unless enforce).
 *
 * Time: one loop timer, re-armed on every tick for the next wall-clock minute
 * boundary (+ SCHED_SLACK_MS) or the next extended stop or its warning,
 * whichever comes first; the delay is recomputed from the wall clock each
 * time, so nothing drifts. A tick fires every instant in (last tick, now]
 * exactly once:
 * - the clock went back: nothing fires until it passes the last tick again
 *   (no action runs twice); a jump back of more than max(catch_up,
 *   SCHED_JUMP_MIN) restarts from now instead (a clock that was far ahead
 *   and got corrected must not stall the schedule for that long);
 * - the clock (or a suspended machine) jumped forward by more than
 *   max(catch_up, SCHED_JUMP_MIN): like a restart, only the most recent
 *   action of the last catch_up runs (SCHED_CATCH_UP); older ones are missed.
 *
 * Catch-up at start (the first tick): "missed" means scheduled after the last
 * tick the previous process recorded (state_last_tick; none: the whole
 * catch_up window) and within catch_up of now. Only the most recent missed
 * action that the overrides let run is fired, and not when the uptime record
 * (state_last_transitions) shows the environment already made that
 * transition at or after the action's instant (someone did it by hand).
 *
 * Persistence: the scheduler never writes files. It keeps the state's
 * last_tick current and calls deps->save after a tick that fired, held or
 * warned anything (so that a saved last_tick always covers every action that
 * ran), after the first tick, and otherwise every SCHED_SAVE_EVERY seconds
 * for last_tick alone (a crash then costs at most that much of a catch-up
 * window, never a repeated action). Enforce fires do not count as changes.
 *
 * Enforce (per environment): every tick, unless frozen, paused now, or a
 * workflow of it is in flight, fire(SCHED_ENFORCE) with the most recent
 * action that ran (after overrides). A pause that ran out by itself still
 * counts every action before its end as held (state_decide's rule), so
 * enforcement resumes at the next scheduled action, or at once after
 * /schedule resume (state_pause_clear) or state_expire.
 *
 * Watch (per environment whose kind says it wakes up, deps->wakes_up: an
 * RDS instance or cluster that AWS starts again after 7 days stopped): every
 * SCHED_WATCH_MINUTES, on the same conditions as enforce and when the most
 * recent action that ran was a stop, fire(SCHED_WATCH) with it: the stop
 * runs again and finds nothing to do, or undoes the restart. An environment
 * with enforce = true is enforced every minute instead.
 *
 * Extended stops: a stop that an extend postpones fires at the extended
 * instant (any second), once; if the extend is cleared meanwhile, at the next
 * tick. Its warning moves with it: warn_before ahead of the new stop (a
 * warning already given for the old stop is not taken back; an extend set
 * after its new warning instant gets no second warning).
 *
 * Leases (state_lease, set by /env start|stop): a manual action is an
 * override until its lease ends or the next scheduled transition after it was
 * set, whichever comes first. Meanwhile enforce leaves the environment alone.
 * A start's lease with an end fires a stop (SCHED_LEASE) at that instant,
 * warned warn_before ahead like a scheduled stop, and is dropped; a scheduled
 * action that fires (or is caught up) after the lease was set drops it too.
 * A lease end that comes while frozen or paused is held (and dropped). After
 * a restart a lease whose end passed while envbot was down ends at the first
 * tick.
 *
 * Threading: loop thread only. Callbacks run from inside sched_tick and must
 * not call sched_destroy or sched_set_config; they may change the state and
 * call the queries. */
#ifndef ENVBOT_SCHED_H
#define ENVBOT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../config/config.h"
#include "../core/loop.h"
#include "../core/rc.h"
#include "../state/state.h"
#include "../wf/wf.h"

#define SCHED_SLACK_MS   5   /* ticks land this long after the boundary */
#define SCHED_SAVE_EVERY 600 /* seconds: save for last_tick alone */
#define SCHED_JUMP_MIN   120 /* seconds: a longer gap between ticks is a jump */
#define SCHED_HORIZON    400 /* days sched_next looks ahead */
#define SCHED_MAX_DAYS   366 /* longest sched_upcoming window */
/* Minutes between two watches of an environment that wakes up (AWS restarts
 * a stopped database after 7 days: down again within this). */
#define SCHED_WATCH_MINUTES 15

enum sched_kind {
	SCHED_SCHEDULED = 0, /* at its instant (an extended stop at the new one) */
	SCHED_CATCH_UP,      /* missed while down (or across a clock jump) */
	SCHED_ENFORCE,       /* enforce = true: the desired state, every minute */
	SCHED_LEASE,         /* a manual start's lease ended: the stop */
	SCHED_WATCH,         /* the stop again, for what AWS restarts on its own */
};

/* Wall-clock time in milliseconds since the epoch. */
typedef int64_t (*sched_clock_fn)(void *arg);

/* One scheduled occurrence and what the overrides make of it. */
struct sched_action {
	enum action action;
	time_t scheduled_at; /* the cron instant (UTC) */
	time_t at;           /* when it runs: scheduled_at, or the extended stop */
	struct state_decision decision;
};

/* Everything is borrowed and must outlive the scheduler (cfg until replaced
 * with sched_set_config). Callback pointers (env, decision) are borrowed
 * until the callback returns. Any callback may be NULL. */
struct sched_deps {
	struct loop *loop; /* NULL: no timer; the caller drives sched_tick */
	const struct cfg *cfg;
	struct state *st;
	sched_clock_fn clock; /* NULL: CLOCK_REALTIME */
	void *clock_arg;

	/* Run action on env now. kind says why; for SCHED_ENFORCE scheduled_at
	 * is the action that set the desired state. */
	void (*fire)(void *arg, const struct cfg_env *env, enum action action, enum sched_kind kind,
		     time_t scheduled_at, const struct state_decision *d);
	/* warn_before ahead of a stop that will run at stop_at. */
	void (*warn)(void *arg, const struct cfg_env *env, time_t stop_at);
	/* A scheduled action came and did not run (frozen, paused, skipped,
	 * holiday): for the audit log. */
	void (*held)(void *arg, const struct cfg_env *env, enum action action, time_t scheduled_at,
		     const struct state_decision *d);
	/* Persist the state (see "Persistence" above). */
	void (*save)(void *arg);
	/* True when what env stops may start again on its own (see "Watch");
	 * NULL: nothing does. */
	bool (*wakes_up)(void *arg, const struct cfg_env *env);
	void *arg;
};

struct sched;

/* Returns a new scheduler (not started), or NULL on allocation failure or
 * when an environment's zone cannot be opened. deps is copied. */
struct sched *sched_create(const struct sched_deps *deps);
/* Accepts NULL. Cancels the timer. */
void sched_destroy(struct sched *s);

/* The first tick (catch-up), then the timer (when deps->loop is set). */
void sched_start(struct sched *s);
/* Runs a tick now, as if the timer fired (tests drive the fake clock with
 * this). The first tick of a scheduler is the catch-up. Re-arms the timer
 * after sched_start. */
void sched_tick(struct sched *s);

/* The wall-clock instant (ms since the epoch) the next tick is due, as the
 * timer is armed from now: the next minute boundary + SCHED_SLACK_MS, or an
 * extended stop or its warning if one comes first. Tests drive the fake
 * clock with it; /metrics may show it. */
int64_t sched_next_tick_ms(const struct sched *s);

/* SIGHUP: swaps in a new config (borrowed from now on). BOT_OK, or
 * BOT_ECONFIG/BOT_ENOMEM and the old config stays in use. */
enum bot_rc sched_set_config(struct sched *s, const struct cfg *cfg);

/* The next action of env after now that will actually run (an extended stop
 * at its new instant). Returns true and fills *out; false when nothing will
 * run within SCHED_HORIZON days: *out is then the next scheduled action with
 * the reason it is held (decision.run false), or scheduled_at 0 when env has
 * no schedule (or is unknown). */
bool sched_next(const struct sched *s, const char *env, time_t now, struct sched_action *out);

/* Calls cb for each scheduled action of env in [from, from + days * 86400)
 * (days 1..SCHED_MAX_DAYS), held, skipped and extended ones included, in
 * the order they take effect (by `at`; a start before a stop), plus a stop scheduled before
 * `from` that an extend moves into the window. cb returns non-zero to stop.
 * Returns the number of calls made (0 for an unknown env). */
typedef int (*sched_upcoming_fn)(void *arg, const struct sched_action *a);
size_t sched_upcoming(const struct sched *s, const char *env, time_t from, int days,
		      sched_upcoming_fn cb, void *arg);

/* The state env's schedule wants at now: the most recent scheduled action
 * that ran (after overrides). False when there is none (no schedule). A
 * manual start when it says ACTION_STOP is an off-hours start (it gets a
 * lease). */
bool sched_desired(const struct sched *s, const char *env, time_t now, enum action *out);

/* "scheduled", "catch-up", "enforce", "lease" */
const char *sched_kind_name(enum sched_kind k);

#endif
