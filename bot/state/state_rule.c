/* The conflict rule: what the scheduler, /schedule show and `envbot plan`
 * do with a planned start or stop given the overrides held in the state.
 * Pure: it reads the state and the clock it is given, nothing else. */
#include <stdio.h>
#include <time.h>

#include "state.h"
#include "state_internal.h"

/* ------------------------------------------------------------ conflict rule */

/* "2026-11-23 18:00 KST" (with_date) or "18:00 KST", in tz or UTC. */
static void fmt_time(time_t t, const struct tz *tz, bool with_date, char *buf, size_t len)
{
	struct tm tm;
	const char *zone = "UTC";
	if (tz) {
		tz_local(tz, t, &tm);
		if (tm.tm_zone)
			zone = tm.tm_zone;
	} else {
		gmtime_r(&t, &tm);
	}
	char hm[24];
	strftime(hm, sizeof(hm), with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
	snprintf(buf, len, "%s %s", hm, zone);
}

static ymd_t local_date(time_t t, const struct tz *tz)
{
	struct tm tm;
	if (tz)
		tz_local(tz, t, &tm);
	else
		gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

void state_decide(const struct state *st, const char *env, enum action action, time_t at,
		  ymd_t date, state_holiday_fn fn, void *ctx, const struct tz *tz,
		  struct state_decision *out)
{
	char t1[96], d1[16], label[STATE_TEXT_MAX + STATE_CAL_NAME_MAX + 16];
	out->run = true;
	out->at = at;
	out->rule = STATE_RULE_NONE;
	snprintf(out->reason, sizeof(out->reason), "scheduled");

	/* 1. freeze: everything automatic is held, starts and stops alike. */
	if (st->frozen) {
		fmt_time(st->freeze.since, tz, true, t1, sizeof(t1));
		out->run = false;
		out->rule = STATE_RULE_FREEZE;
		snprintf(out->reason, sizeof(out->reason), "held: frozen by %s since %s",
			 st->freeze.who, t1);
		return;
	}

	/* 2. pause of this environment. */
	const struct state_pause *p = state_pause_until(st, env);
	if (p && ((p->until_at != 0 && at < p->until_at) ||
		  (p->until_date != 0 && date < p->until_date))) {
		if (p->until_at != 0)
			fmt_time(p->until_at, tz, true, t1, sizeof(t1));
		else
			when_format_date(p->until_date, t1, sizeof(t1));
		out->run = false;
		out->rule = STATE_RULE_PAUSE;
		snprintf(out->reason, sizeof(out->reason), "held: paused by %s until %s", p->who,
			 t1);
		return;
	}

	/* 3. skip and holidays: only starts; the environment stays down. */
	if (action == ACTION_START) {
		const struct state_skip *s = state_skip_find(st, env, date);
		if (s) {
			out->run = false;
			out->rule = STATE_RULE_SKIP;
			snprintf(out->reason, sizeof(out->reason), "skipped: /env skip by %s",
				 s->who);
			return;
		}
		when_format_date(date, d1, sizeof(d1));
		label[0] = '\0';
		if (fn && fn(ctx, date, label, sizeof(label))) {
			out->run = false;
			out->rule = STATE_RULE_HOLIDAY;
			snprintf(out->reason, sizeof(out->reason), "skipped: holiday %s%s%s%s", d1,
				 label[0] ? " (" : "", label, label[0] ? ")" : "");
			return;
		}
		const struct state_holiday *h = state_holiday_find(st, date);
		if (h) {
			out->run = false;
			out->rule = STATE_RULE_HOLIDAY;
			snprintf(out->reason, sizeof(out->reason),
				 "skipped: holiday %s (%s%sadded by %s)", d1, h->label,
				 h->label[0] ? ", " : "", h->who);
			return;
		}
	}

	/* 4. extend: a stop moves later, never earlier. */
	if (action == ACTION_STOP) {
		const struct state_extend *x = state_extend_for(st, env, date);
		if (x && x->stop_at > at) {
			fmt_time(x->stop_at, tz, local_date(x->stop_at, tz) != date, t1,
				 sizeof(t1));
			out->at = x->stop_at;
			out->rule = STATE_RULE_EXTEND;
			snprintf(out->reason, sizeof(out->reason), "extended to %s by %s", t1,
				 x->who);
		}
	}
}
