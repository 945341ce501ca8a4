/* The weekly report's figures (weekly.h). */
#include "weekly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holidays.h"
#include "plan.h"

/* A start on a holiday calendar's day (the config's days are the plan's
 * own list): the report's "scheduled" hours follow the same days the
 * scheduler keeps the environment down. */
static const char *calendar_day(void *ud, const struct plan_event *ev)
{
	struct holiday h;
	const struct holidays_of *o = ud;
	return ev->action == ACTION_START && holidays_find(o->cfg, o->st, o->env, ev->date, &h)
		       ? "holiday"
		       : NULL;
}

ymd_t weekly_monday(const struct cfg *cfg, time_t t, int weeks_back)
{
	ymd_t today = plan_local_date(cfg->tz, t);
	int wd = when_weekday(today); /* 0 = Sunday */
	return when_add_days(today, -((wd + 6) % 7) - 7 * weeks_back);
}

void weekly_span(const struct cfg *cfg, ymd_t monday, time_t now, time_t *from, time_t *to)
{
	*from = plan_local_midnight(cfg->tz, monday);
	*to = plan_local_midnight(cfg->tz, when_add_days(monday, REPORT_DAYS));
	if (*to > now)
		*to = now > *from ? now : *from;
}

/* Rounded to cents once, so that the embed, the CSV and a reader's own sum
 * of the same intervals agree. */
static double money(double v)
{
	return round(v * 100.0) / 100.0;
}

enum bot_rc weekly_build(const struct cfg *cfg, const struct state *st, ymd_t monday, time_t now,
			 struct report *out)
{
	memset(out, 0, sizeof(*out));
	out->monday = monday;
	snprintf(out->currency, sizeof(out->currency), "USD");
	out->envs = calloc(cfg->n_envs ? cfg->n_envs : 1, sizeof(*out->envs));
	if (!out->envs)
		return BOT_ENOMEM;
	time_t from, to;
	weekly_span(cfg, monday, now, &from, &to);
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct cfg_env *e = &cfg->envs[i];
		struct report_env *r = &out->envs[out->n_envs++];
		snprintf(r->name, sizeof(r->name), "%s", e->name);
		for (int d = 0; d < REPORT_DAYS; d++) {
			time_t d0 = plan_local_midnight(cfg->tz, when_add_days(monday, d));
			time_t d1 = plan_local_midnight(cfg->tz, when_add_days(monday, d + 1));
			if (d1 > to)
				d1 = to;
			int64_t secs = d1 > d0 ? state_uptime_seconds(st, e->name, d0, d1, now) : 0;
			r->up_hours[d] = (double)secs / 3600.0;
			r->actual_hours += r->up_hours[d];
		}
		const struct cfg_schedule *sch = &e->schedule;
		struct plan_schedule ps = { .start = sch->start_expr ? &sch->start : NULL,
					    .stop = sch->stop_expr ? &sch->stop : NULL,
					    .tz = cfg_env_tz(cfg, e),
					    .holidays = cfg->holidays,
					    .n_holidays = cfg->n_holidays,
					    .filter = calendar_day };
		struct holidays_of ho = { .cfg = cfg, .st = st, .env = e };
		ps.filter_ud = &ho;
		r->scheduled_hours = (double)plan_seconds_up(&ps, from, to) / 3600.0;
		r->hourly_cost = e->hourly_cost;
		r->estimate = money(r->actual_hours * e->hourly_cost);
		r->always_on = money((double)(to - from) / 3600.0 * e->hourly_cost);
		r->saved = money(r->always_on - r->estimate);
	}
	return BOT_OK;
}

void weekly_free(struct report *r)
{
	free(r->envs);
	memset(r, 0, sizeof(*r));
}
