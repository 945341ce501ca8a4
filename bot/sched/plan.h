/* The pure computation behind `envbot plan` (and later /schedule show and
 * /cost): the scheduled actions of one environment in a span of time, with
 * holidays and overrides applied, and its hours up and cost for a calendar
 * month compared with always-on. No I/O, no clock: callers pass the instants. */
#ifndef ENVBOT_PLAN_H
#define ENVBOT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/action.h"
#include "../time/cron.h"
#include "../time/when.h"

struct plan_event {
	time_t at; /* UTC */
	enum action action;
	ymd_t date; /* local date of `at` in the schedule's zone */
	/* NULL when the action happens; else why it does not ("holiday", or
	 * the filter's reason). Static or owned by the filter's user. */
	const char *skipped;
};

/* The hook for overrides (skips, pauses, freeze from the state file): called
 * for each action that would otherwise happen; returns NULL to keep it, or a
 * reason that outlives the plan call to drop it. */
typedef const char *(*plan_filter_fn)(void *ud, const struct plan_event *ev);

/* One environment's schedule. Everything is borrowed for the duration of
 * each plan_* call. */
struct plan_schedule {
	const struct cron *start; /* NULL: no scheduled start */
	const struct cron *stop;  /* NULL: no scheduled stop */
	const struct tz *tz;
	const ymd_t *holidays; /* scheduled starts on these local dates are skipped */
	size_t n_holidays;
	plan_filter_fn filter; /* optional */
	void *filter_ud;
};

/* The instant of local midnight starting `date` in tz (the first instant of
 * the day if midnight falls in a DST gap). */
time_t plan_local_midnight(const struct tz *tz, ymd_t date);

/* The local date of t in tz. */
ymd_t plan_local_date(const struct tz *tz, time_t t);

/* The actions in [from, to), in time order (a start and a stop at the same
 * instant: the start first), skipped ones included with their reason. Writes
 * up to max into out and returns how many there are in total. */
size_t plan_events(const struct plan_schedule *s, time_t from, time_t to, struct plan_event *out,
		   size_t max);

/* Whether the schedule has the environment up at instant t: the last action
 * that happened before t was a start. With none in the search horizon it is
 * up only if there is no scheduled start (an unscheduled environment is run
 * by hand and counts as always on). */
bool plan_up_at(const struct plan_schedule *s, time_t t);

/* Seconds the schedule has the environment up in [from, to) (skipped
 * actions do not count). */
int64_t plan_seconds_up(const struct plan_schedule *s, time_t from, time_t to);

/* Money is kept in integer cents so that rows and totals add up exactly as
 * printed: each amount is rounded once, and saved = always_on - scheduled. */
struct plan_cost {
	double hours_up;    /* hours up in the month per the schedule */
	double hours_month; /* the month's real hours in the zone (743 or 745 with DST) */
	int64_t always_cents;
	int64_t scheduled_cents;
	int64_t saved_cents;
	double saved_pct; /* 0 when always-on costs nothing */
};

/* Hours up and cost for the calendar month year-month in the schedule's zone
 * (local midnight of the 1st to local midnight of the next 1st). An
 * environment up at the month's start (per its schedule) counts from then. */
void plan_month(const struct plan_schedule *s, int year, int month, double hourly_cost,
		struct plan_cost *out);

/* Sums rows into *total (percentage recomputed from the sums). */
void plan_total(const struct plan_cost *rows, size_t n, struct plan_cost *total);

#endif
