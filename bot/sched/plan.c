/* `envbot plan`'s computation: a schedule's actions merged in time order,
 * holidays and overrides applied, and the month's hours up walked from those
 * same actions, so the cost table and the listing can never disagree. */
#include <math.h>

#include "plan.h"

/* How far back plan_up_at looks past skipped actions (a start every minute
 * through a long holiday stretch is the worst case). */
#define PLAN_MAX_SKIPS 100000

ymd_t plan_local_date(const struct tz *tz, time_t t)
{
	struct tm tm;
	tz_local(tz, t, &tm);
	return (ymd_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

time_t plan_local_midnight(const struct tz *tz, ymd_t date)
{
	return tz_resolve(tz, when_days_from_civil(date) * 86400);
}

static bool is_holiday(const struct plan_schedule *s, ymd_t d)
{
	for (size_t i = 0; i < s->n_holidays; i++)
		if (s->holidays[i] == d)
			return true;
	return false;
}

/* Fills ev for an action at `at` and decides whether it happens. */
static void make_event(const struct plan_schedule *s, enum action a, time_t at,
		       struct plan_event *ev)
{
	ev->at = at;
	ev->action = a;
	ev->date = plan_local_date(s->tz, at);
	ev->skipped = NULL;
	/* Holidays cancel starts only: an environment someone started by
	 * hand on a holiday still goes down in the evening. */
	if (a == ACTION_START && is_holiday(s, ev->date))
		ev->skipped = "holiday";
	else if (s->filter)
		ev->skipped = s->filter(s->filter_ud, ev);
}

/* Merges the start and stop fire times in order. */
struct plan_iter {
	const struct plan_schedule *s;
	time_t next[2]; /* per plan_action */
	bool has[2];
};

static void iter_init(struct plan_iter *it, const struct plan_schedule *s, time_t after)
{
	const struct cron *c[2] = { s->start, s->stop };
	it->s = s;
	for (int i = 0; i < 2; i++)
		it->has[i] = c[i] && cron_next(c[i], s->tz, after, &it->next[i]) == 0;
}

/* The next action before `before`, or false. */
static bool iter_next(struct plan_iter *it, time_t before, struct plan_event *ev)
{
	const struct cron *c[2] = { it->s->start, it->s->stop };
	int k;
	if (it->has[ACTION_START] && (!it->has[ACTION_STOP] || it->next[0] <= it->next[1]))
		k = ACTION_START;
	else if (it->has[ACTION_STOP])
		k = ACTION_STOP;
	else
		return false;
	if (it->next[k] >= before)
		return false;
	make_event(it->s, (enum action)k, it->next[k], ev);
	it->has[k] = cron_next(c[k], it->s->tz, it->next[k], &it->next[k]) == 0;
	return true;
}

size_t plan_events(const struct plan_schedule *s, time_t from, time_t to, struct plan_event *out,
		   size_t max)
{
	struct plan_iter it;
	struct plan_event ev;
	size_t n = 0;
	iter_init(&it, s, from - 1);
	while (iter_next(&it, to, &ev)) {
		if (n < max)
			out[n] = ev;
		n++;
	}
	return n;
}

/* The last action of kind a before t that happened; false if none. */
static bool last_done(const struct plan_schedule *s, enum action a, time_t t, time_t *out)
{
	const struct cron *c = a == ACTION_START ? s->start : s->stop;
	struct plan_event ev;
	time_t at = t - 1;
	if (!c)
		return false;
	for (int i = 0; i < PLAN_MAX_SKIPS; i++) {
		if (cron_prev(c, s->tz, at, &at) != 0)
			return false;
		make_event(s, a, at, &ev);
		if (!ev.skipped) {
			*out = at;
			return true;
		}
		/* A whole holiday is skipped at once. */
		if (a == ACTION_START && is_holiday(s, ev.date))
			at = plan_local_midnight(s->tz, ev.date) - 1;
		else
			at--;
	}
	return false;
}

bool plan_up_at(const struct plan_schedule *s, time_t t)
{
	time_t start, stop;
	bool has_start = last_done(s, ACTION_START, t, &start);
	bool has_stop = last_done(s, ACTION_STOP, t, &stop);
	if (has_start && has_stop)
		return start > stop; /* equal: the stop came second */
	if (has_start)
		return true;
	if (has_stop)
		return false;
	return s->start == NULL;
}

static int64_t cents(double usd)
{
	return (int64_t)llround(usd * 100.0);
}

int64_t plan_seconds_up(const struct plan_schedule *s, time_t from, time_t to)
{
	struct plan_iter it;
	struct plan_event ev;
	bool up = plan_up_at(s, from);
	time_t since = from;
	int64_t secs_up = 0;

	iter_init(&it, s, from - 1);
	while (iter_next(&it, to, &ev)) {
		if (ev.skipped)
			continue;
		if (ev.action == ACTION_START && !up) {
			up = true;
			since = ev.at;
		} else if (ev.action == ACTION_STOP && up) {
			up = false;
			secs_up += ev.at - since;
		}
	}
	if (up)
		secs_up += to - since;
	return secs_up;
}

void plan_month(const struct plan_schedule *s, int year, int month, double hourly_cost,
		struct plan_cost *out)
{
	ymd_t first = (ymd_t)(year * 10000 + month * 100 + 1);
	ymd_t next = month == 12 ? (ymd_t)((year + 1) * 10000 + 101)
				 : (ymd_t)(year * 10000 + (month + 1) * 100 + 1);
	time_t m0 = plan_local_midnight(s->tz, first), m1 = plan_local_midnight(s->tz, next);
	out->hours_up = (double)plan_seconds_up(s, m0, m1) / 3600.0;
	out->hours_month = (double)(m1 - m0) / 3600.0;
	out->always_cents = cents(out->hours_month * hourly_cost);
	out->scheduled_cents = cents(out->hours_up * hourly_cost);
	out->saved_cents = out->always_cents - out->scheduled_cents;
	out->saved_pct = out->always_cents > 0
				 ? 100.0 * (double)out->saved_cents / (double)out->always_cents
				 : 0.0;
}

void plan_total(const struct plan_cost *rows, size_t n, struct plan_cost *total)
{
	*total = (struct plan_cost){ 0 };
	for (size_t i = 0; i < n; i++) {
		total->hours_up += rows[i].hours_up;
		total->hours_month += rows[i].hours_month;
		total->always_cents += rows[i].always_cents;
		total->scheduled_cents += rows[i].scheduled_cents;
	}
	total->saved_cents = total->always_cents - total->scheduled_cents;
	total->saved_pct = total->always_cents > 0 ? 100.0 * (double)total->saved_cents /
							     (double)total->always_cents
						   : 0.0;
}
