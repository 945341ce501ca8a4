/* Tests of bot/sched/plan.c: the hand-computed December 2026 figures (dev stack,
 * weekdays 09:00-18:00 Asia/Seoul, holiday on the 25th), a week's listing
 * with the holiday skip, totals that add up, months with DST, an environment
 * already up when the month begins, and the override hook. */
#include <math.h>
#include <time.h>

#include "../../bot/sched/plan.h"
#include "check.h"

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
	};
	return timegm(&tm);
}

struct sched {
	struct cron start, stop;
	struct tz *tz;
	struct plan_schedule s;
};

static void setup(struct sched *x, const char *start, const char *stop, const char *zone,
		  const ymd_t *hol, size_t n_hol)
{
	char err[160];
	x->tz = tz_open(zone);
	CHECK(x->tz != NULL);
	x->s = (struct plan_schedule){ .tz = x->tz, .holidays = hol, .n_holidays = n_hol };
	if (start) {
		CHECK_INT(cron_parse(start, &x->start, err, sizeof(err)), 0);
		x->s.start = &x->start;
	}
	if (stop) {
		CHECK_INT(cron_parse(stop, &x->stop, err, sizeof(err)), 0);
		x->s.stop = &x->stop;
	}
}

static const ymd_t holidays[] = { 20261225, 20270101 };

static void test_december_2026(void)
{
	struct sched dev, qa;
	struct plan_cost rows[2], total;
	setup(&dev, "0 9 * * MON-FRI", "0 18 * * MON-FRI", "Asia/Seoul", holidays, 2);
	setup(&qa, "30 8 * * MON-FRI", "0 20 * * MON-FRI", "Asia/Seoul", holidays, 2);

	/* 22 working days (23 weekdays less Christmas) x 9 h. */
	plan_month(&dev.s, 2026, 12, 0.241, &rows[0]);
	CHECK(fabs(rows[0].hours_up - 198.0) < 1e-9);
	CHECK(fabs(rows[0].hours_month - 744.0) < 1e-9);
	CHECK_INT(rows[0].scheduled_cents, 4772);
	CHECK_INT(rows[0].always_cents, 17930);
	CHECK_INT(rows[0].saved_cents, 13158);
	CHECK(fabs(rows[0].saved_pct - 73.38) < 0.01);

	/* 22 x 11.5 h = 253 h; 253 x 0.092 = 23.276; 744 x 0.092 = 68.448. */
	plan_month(&qa.s, 2026, 12, 0.092, &rows[1]);
	CHECK(fabs(rows[1].hours_up - 253.0) < 1e-9);
	CHECK_INT(rows[1].scheduled_cents, 2328);
	CHECK_INT(rows[1].always_cents, 6845);
	CHECK_INT(rows[1].saved_cents, 4517);

	/* The totals row adds up column by column, as printed. */
	plan_total(rows, 2, &total);
	CHECK(fabs(total.hours_up - 451.0) < 1e-9);
	CHECK(fabs(total.hours_month - 1488.0) < 1e-9);
	CHECK_INT(total.always_cents, rows[0].always_cents + rows[1].always_cents);
	CHECK_INT(total.scheduled_cents, rows[0].scheduled_cents + rows[1].scheduled_cents);
	CHECK_INT(total.saved_cents, rows[0].saved_cents + rows[1].saved_cents);
	CHECK_INT(total.saved_cents, total.always_cents - total.scheduled_cents);
	CHECK_INT(total.always_cents, 24775);
	CHECK_INT(total.saved_cents, 17675);
	CHECK(fabs(total.saved_pct - 100.0 * 17675 / 24775) < 1e-9);

	/* Without the holiday: 23 days. */
	dev.s.n_holidays = 0;
	plan_month(&dev.s, 2026, 12, 0.241, &rows[0]);
	CHECK(fabs(rows[0].hours_up - 207.0) < 1e-9);
	tz_destroy(dev.tz);
	tz_destroy(qa.tz);
}

static void test_week(void)
{
	struct sched dev;
	struct plan_event ev[32];
	setup(&dev, "0 9 * * MON-FRI", "0 18 * * MON-FRI", "Asia/Seoul", holidays, 2);
	time_t from = plan_local_midnight(dev.tz, 20261221);
	time_t to = plan_local_midnight(dev.tz, when_add_days(20261221, 7));
	CHECK_INT(from, utc(2026, 12, 20, 15, 0));
	CHECK_INT(to, utc(2026, 12, 27, 15, 0));
	size_t n = plan_events(&dev.s, from, to, ev, 32);
	CHECK_INT(n, 10); /* Mon 21 .. Fri 25, start and stop each */
	for (size_t i = 0; i < n && i < 10; i++) {
		int day = 21 + (int)i / 2;
		CHECK_INT(ev[i].action, i % 2 ? ACTION_STOP : ACTION_START);
		CHECK_INT(ev[i].at, utc(2026, 12, day, i % 2 ? 9 : 0, 0));
		CHECK_INT(ev[i].date, 20261200 + day);
		if (day == 25 && i % 2 == 0)
			CHECK_STR(ev[i].skipped, "holiday");
		else
			CHECK(ev[i].skipped == NULL);
	}
	/* Only the count when out is too small. */
	CHECK_INT(plan_events(&dev.s, from, to, ev, 3), 10);
	CHECK_INT(plan_events(&dev.s, from, from, ev, 3), 0);
	/* A span starting exactly on an action includes it. */
	CHECK_INT(plan_events(&dev.s, utc(2026, 12, 21, 0, 0), utc(2026, 12, 21, 0, 1), ev, 3), 1);
	tz_destroy(dev.tz);
}

static void test_up_at_month_start(void)
{
	/* Up from Monday 09:00 to Friday 18:00. January 2027 begins on a
	 * Friday with the environment up: 18 h, then four full weeks of
	 * 4 x 24 + 9 = 105 h. */
	struct sched w;
	struct plan_cost pc;
	setup(&w, "0 9 * * MON", "0 18 * * FRI", "UTC", holidays, 2);
	CHECK(plan_up_at(&w.s, utc(2027, 1, 1, 0, 0)));
	CHECK(!plan_up_at(&w.s, utc(2027, 1, 2, 0, 0)));
	CHECK(!plan_up_at(&w.s, utc(2027, 1, 4, 9, 0))); /* the start at t is not before t */
	CHECK(plan_up_at(&w.s, utc(2027, 1, 4, 9, 0) + 1));
	plan_month(&w.s, 2027, 1, 1.0, &pc);
	CHECK(fabs(pc.hours_up - 438.0) < 1e-9);
	CHECK_INT(pc.scheduled_cents, 43800);
	CHECK_INT(pc.always_cents, 74400);

	/* A holiday on Monday the 11th cancels that week's start. */
	static const ymd_t mon[] = { 20270111 };
	w.s.holidays = mon;
	w.s.n_holidays = 1;
	plan_month(&w.s, 2027, 1, 1.0, &pc);
	CHECK(fabs(pc.hours_up - 333.0) < 1e-9);
	/* A holiday on the Monday before the month: down at its start. */
	static const ymd_t dec[] = { 20261228 };
	w.s.holidays = dec;
	CHECK(!plan_up_at(&w.s, utc(2027, 1, 1, 0, 0)));
	plan_month(&w.s, 2027, 1, 1.0, &pc);
	CHECK(fabs(pc.hours_up - 420.0) < 1e-9);
	tz_destroy(w.tz);

	/* No schedule: always on, nothing saved. Start only: up from then. */
	struct sched none, only;
	setup(&none, NULL, NULL, "UTC", NULL, 0);
	plan_month(&none.s, 2026, 12, 0.5, &pc);
	CHECK(fabs(pc.hours_up - 744.0) < 1e-9);
	CHECK_INT(pc.saved_cents, 0);
	CHECK(pc.saved_pct == 0.0);
	tz_destroy(none.tz);
	setup(&only, "0 12 15 12 *", NULL, "UTC", NULL, 0);
	CHECK(plan_up_at(&only.s, utc(2026, 12, 1, 0, 0))); /* started Dec 15 2025 */
	tz_destroy(only.tz);
	setup(&only, NULL, "0 12 15 12 *", "UTC", NULL, 0);
	CHECK(!plan_up_at(&only.s, utc(2026, 12, 1, 0, 0)));
	tz_destroy(only.tz);
}

static void test_dst_months(void)
{
	struct sched ny;
	struct plan_cost pc;
	setup(&ny, "0 9 * * MON-FRI", "0 18 * * MON-FRI", "America/New_York", NULL, 0);
	/* March 2026 has 743 real hours in New York, November 721; every
	 * weekday is still 9 h up (22 weekdays in March, 21 in November). */
	plan_month(&ny.s, 2026, 3, 1.0, &pc);
	CHECK(fabs(pc.hours_month - 743.0) < 1e-9);
	CHECK(fabs(pc.hours_up - 22 * 9.0) < 1e-9);
	plan_month(&ny.s, 2026, 11, 1.0, &pc);
	CHECK(fabs(pc.hours_month - 721.0) < 1e-9);
	CHECK(fabs(pc.hours_up - 21 * 9.0) < 1e-9);
	tz_destroy(ny.tz);
	setup(&ny, NULL, NULL, "Europe/Berlin", NULL, 0);
	plan_month(&ny.s, 2026, 10, 1.0, &pc);
	CHECK(fabs(pc.hours_month - 745.0) < 1e-9);
	CHECK(fabs(pc.hours_up - 745.0) < 1e-9);
	tz_destroy(ny.tz);

	/* An overnight window across the spring-forward night loses the hour. */
	setup(&ny, "0 22 * * *", "0 6 * * *", "America/New_York", NULL, 0);
	plan_month(&ny.s, 2026, 3, 1.0, &pc);
	/* 31 nights of 8 h (Feb 28 22:00 -> Mar 1 06:00 counts 6 h in March,
	 * Mar 31 22:00 -> midnight 2 h), less the hour lost on Mar 8. */
	CHECK(fabs(pc.hours_up - (6 + 30 * 8 + 2 - 1)) < 1e-9);
	tz_destroy(ny.tz);

	/* Midnight inside a DST gap (Santiago, 2026-09-06 00:00 -04 does not
	 * exist): the day starts at 01:00 -03. */
	struct tz *scl = tz_open("America/Santiago");
	CHECK(scl != NULL);
	if (scl) {
		CHECK_INT(plan_local_midnight(scl, 20260906), utc(2026, 9, 6, 4, 0));
		CHECK_INT(plan_local_midnight(scl, 20260905), utc(2026, 9, 5, 4, 0));
		CHECK_INT(plan_local_date(scl, utc(2026, 9, 6, 3, 59)), 20260905);
		tz_destroy(scl);
	}
}

/* The override hook: "skip the stop on 2026-12-01" keeps dev up overnight. */
static const char *skip_stop_dec1(void *ud, const struct plan_event *ev)
{
	int *calls = ud;
	(*calls)++;
	return ev->action == ACTION_STOP && ev->date == 20261201 ? "extended" : NULL;
}

static void test_filter(void)
{
	struct sched dev;
	struct plan_cost pc;
	struct plan_event ev[8];
	int calls = 0;
	setup(&dev, "0 9 * * MON-FRI", "0 18 * * MON-FRI", "Asia/Seoul", holidays, 2);
	dev.s.filter = skip_stop_dec1;
	dev.s.filter_ud = &calls;
	plan_month(&dev.s, 2026, 12, 0.241, &pc);
	/* Tue 18:00 -> Wed 18:00 instead of 9 h: 15 h more. */
	CHECK(fabs(pc.hours_up - 213.0) < 1e-9);
	CHECK(calls > 0);
	size_t n = plan_events(&dev.s, plan_local_midnight(dev.tz, 20261201),
			       plan_local_midnight(dev.tz, 20261202), ev, 8);
	CHECK_INT(n, 2);
	CHECK(ev[0].skipped == NULL);
	CHECK_STR(ev[1].skipped, "extended");
	tz_destroy(dev.tz);
}

int main(void)
{
	test_december_2026();
	test_week();
	test_up_at_month_start();
	test_dst_months();
	test_filter();
	return check_done();
}
