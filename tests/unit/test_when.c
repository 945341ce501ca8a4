/* Unit tests of bot/time/when.c: dates (leap years, month ends, the day count
 * against libc's timegm over centuries), durations, HH:MM and the day
 * expressions of /env skip. */
#include <stdlib.h>
#include <time.h>

#include "../../bot/time/when.h"
#include "check.h"

static void test_dates(void)
{
	ymd_t d = 0;
	CHECK_INT(when_parse_date("2026-12-25", &d), 0);
	CHECK_INT(d, 20261225);
	CHECK_INT(when_parse_date("2028-02-29", &d), 0);
	CHECK_INT(d, 20280229);
	CHECK_INT(when_parse_date("2000-02-29", &d), 0);
	CHECK_INT(when_parse_date("1900-02-29", &d), -1);
	CHECK_INT(when_parse_date("2027-02-29", &d), -1);
	CHECK_INT(when_parse_date("2026-13-01", &d), -1);
	CHECK_INT(when_parse_date("2026-00-10", &d), -1);
	CHECK_INT(when_parse_date("2026-04-31", &d), -1);
	CHECK_INT(when_parse_date("2026-04-00", &d), -1);
	CHECK_INT(when_parse_date("2026-4-01", &d), -1);
	CHECK_INT(when_parse_date("2026-04-011", &d), -1);
	CHECK_INT(when_parse_date("2026/04/01", &d), -1);
	CHECK_INT(when_parse_date("2026-0a-01", &d), -1);
	CHECK_INT(when_parse_date("", &d), -1);
	CHECK_INT(when_parse_date(NULL, &d), -1);
	CHECK_INT(when_parse_date("+026-04-01", &d), -1);

	char buf[16];
	when_format_date(20270101, buf, sizeof(buf));
	CHECK_STR(buf, "2027-01-01");
	when_format_date(20260305, buf, sizeof(buf));
	CHECK_STR(buf, "2026-03-05");

	CHECK(when_date_valid(20261231));
	CHECK(!when_date_valid(20261232));
	CHECK(!when_date_valid(0));
	CHECK(!when_date_valid(-20260101));

	CHECK_INT(when_days_in_month(2028, 2), 29);
	CHECK_INT(when_days_in_month(2026, 2), 28);
	CHECK_INT(when_days_in_month(2100, 2), 28);
	CHECK_INT(when_days_in_month(2400, 2), 29);
	CHECK_INT(when_days_in_month(2026, 12), 31);
	CHECK_INT(when_days_in_month(2026, 11), 30);
	CHECK_INT(when_days_in_month(2026, 13), 0);

	CHECK_INT(when_days_from_civil(19700101), 0);
	CHECK_INT(when_days_from_civil(19691231), -1);
	CHECK_INT(when_days_from_civil(20000301), 11017);
	CHECK_INT(when_civil_from_days(0), 19700101);
	CHECK_INT(when_civil_from_days(-1), 19691231);

	CHECK_INT(when_add_days(20261231, 1), 20270101);
	CHECK_INT(when_add_days(20280228, 1), 20280229);
	CHECK_INT(when_add_days(20280229, 1), 20280301);
	CHECK_INT(when_add_days(20270228, 1), 20270301);
	CHECK_INT(when_add_days(20260301, -1), 20260228);
	CHECK_INT(when_add_days(20260115, 365), 20270115);
	CHECK_INT(when_add_days(20260115, 0), 20260115);

	CHECK_INT(when_weekday(19700101), 4); /* Thursday */
	CHECK_INT(when_weekday(20261225), 5); /* Friday */
	CHECK_INT(when_weekday(20261123), 1); /* Monday */
	CHECK_INT(when_weekday(20280229), 2); /* Tuesday */
	CHECK_INT(when_weekday(19691228), 0); /* Sunday, before the epoch */
	CHECK_INT(when_weekday(16000101), 6); /* Saturday */

	/* Every day from 1900 to 2200 against libc's timegm/gmtime. */
	int mismatches = 0;
	for (int64_t days = -25567; days < 84000; days++) {
		time_t t = (time_t)(days * 86400);
		struct tm tm;
		gmtime_r(&t, &tm);
		ymd_t want = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
		if (when_civil_from_days(days) != want || when_days_from_civil(want) != days ||
		    when_weekday(want) != tm.tm_wday || !when_date_valid(want))
			mismatches++;
	}
	CHECK_INT(mismatches, 0);
}

static void test_durations(void)
{
	int64_t s = -1;
	CHECK_INT(when_parse_duration("30m", &s), 0);
	CHECK_INT(s, 1800);
	CHECK_INT(when_parse_duration("2h", &s), 0);
	CHECK_INT(s, 7200);
	CHECK_INT(when_parse_duration("1h30m", &s), 0);
	CHECK_INT(s, 5400);
	CHECK_INT(when_parse_duration("90s", &s), 0);
	CHECK_INT(s, 90);
	CHECK_INT(when_parse_duration("1d", &s), 0);
	CHECK_INT(s, 86400);
	CHECK_INT(when_parse_duration("1d2h3m4s", &s), 0);
	CHECK_INT(s, 86400 + 7200 + 180 + 4);
	CHECK_INT(when_parse_duration("0", &s), 0);
	CHECK_INT(s, 0);
	CHECK_INT(when_parse_duration("0m", &s), 0);
	CHECK_INT(s, 0);
	CHECK_INT(when_parse_duration("2H", &s), 0);
	CHECK_INT(s, 7200);
	CHECK_INT(when_parse_duration(" 1h 30m ", &s), 0);
	CHECK_INT(s, 5400);
	CHECK_INT(when_parse_duration("366d", &s), 0);
	CHECK_INT(s, 366 * 86400);

	s = 42;
	CHECK_INT(when_parse_duration("", &s), -1);
	CHECK_INT(when_parse_duration("   ", &s), -1);
	CHECK_INT(when_parse_duration(NULL, &s), -1);
	CHECK_INT(when_parse_duration("30", &s), -1);
	CHECK_INT(when_parse_duration("h", &s), -1);
	CHECK_INT(when_parse_duration("2x", &s), -1);
	CHECK_INT(when_parse_duration("2 h", &s), -1);
	CHECK_INT(when_parse_duration("-2h", &s), -1);
	CHECK_INT(when_parse_duration("30m1h", &s), -1);
	CHECK_INT(when_parse_duration("1h1h", &s), -1);
	CHECK_INT(when_parse_duration("1.5h", &s), -1);
	CHECK_INT(when_parse_duration("367d", &s), -1);
	CHECK_INT(when_parse_duration("366d1s", &s), -1);
	CHECK_INT(when_parse_duration("99999999999999999999h", &s), -1);
	CHECK_INT(when_parse_duration("until 22:00", &s), -1);
	CHECK_INT(s, 42); /* untouched on failure */

	char buf[32];
	when_format_duration(7200, buf, sizeof(buf));
	CHECK_STR(buf, "2h");
	when_format_duration(5400, buf, sizeof(buf));
	CHECK_STR(buf, "1h30m");
	when_format_duration(2700, buf, sizeof(buf));
	CHECK_STR(buf, "45m");
	when_format_duration(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	when_format_duration(90, buf, sizeof(buf));
	CHECK_STR(buf, "1m30s");
	when_format_duration(86400 + 3600, buf, sizeof(buf));
	CHECK_STR(buf, "1d1h");
	when_format_duration(-60, buf, sizeof(buf));
	CHECK_STR(buf, "-1m");
	char tiny[4];
	when_format_duration(86400 + 3600 + 60, tiny, sizeof(tiny));
	CHECK_INT((long long)strlen(tiny), 3); /* truncated, still terminated */

	/* Round trip: format then parse gives the same number of seconds. */
	int bad = 0;
	for (int64_t v = 0; v <= 3 * 86400; v += 37) {
		int64_t back = -1;
		when_format_duration(v, buf, sizeof(buf));
		if (when_parse_duration(buf, &back) != 0 || back != v)
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void test_hhmm(void)
{
	int m = -1;
	CHECK_INT(when_parse_hhmm("22:00", &m), 0);
	CHECK_INT(m, 22 * 60);
	CHECK_INT(when_parse_hhmm("00:00", &m), 0);
	CHECK_INT(m, 0);
	CHECK_INT(when_parse_hhmm("23:59", &m), 0);
	CHECK_INT(m, 23 * 60 + 59);
	CHECK_INT(when_parse_hhmm("9:05", &m), 0);
	CHECK_INT(m, 9 * 60 + 5);
	CHECK_INT(when_parse_hhmm("24:00", &m), -1);
	CHECK_INT(when_parse_hhmm("12:60", &m), -1);
	CHECK_INT(when_parse_hhmm("12:5", &m), -1);
	CHECK_INT(when_parse_hhmm("1200", &m), -1);
	CHECK_INT(when_parse_hhmm("12:00:00", &m), -1);
	CHECK_INT(when_parse_hhmm("ab:cd", &m), -1);
	CHECK_INT(when_parse_hhmm("", &m), -1);
	CHECK_INT(when_parse_hhmm(NULL, &m), -1);
}

static void test_days(void)
{
	const ymd_t mon = 20261123; /* a Monday */
	ymd_t d = 0;
	CHECK_INT(when_parse_day("today", mon, &d), 0);
	CHECK_INT(d, mon);
	CHECK_INT(when_parse_day("Tomorrow", mon, &d), 0);
	CHECK_INT(d, 20261124);
	CHECK_INT(when_parse_day("friday", mon, &d), 0);
	CHECK_INT(d, 20261127);
	CHECK_INT(when_parse_day("FRI", mon, &d), 0);
	CHECK_INT(d, 20261127);
	CHECK_INT(when_parse_day("monday", mon, &d), 0);
	CHECK_INT(d, 20261130); /* today excluded: next week */
	CHECK_INT(when_parse_day("sun", mon, &d), 0);
	CHECK_INT(d, 20261129);
	CHECK_INT(when_parse_day("tue", 20261231, &d), 0);
	CHECK_INT(d, 20270105); /* across the year end (2026-12-31 is a Thursday) */
	CHECK_INT(when_parse_day("tomorrow", 20280228, &d), 0);
	CHECK_INT(d, 20280229);
	CHECK_INT(when_parse_day("2026-12-24", mon, &d), 0);
	CHECK_INT(d, 20261224);
	CHECK_INT(when_parse_day("fr", mon, &d), -1);
	CHECK_INT(when_parse_day("fridays", mon, &d), -1);
	CHECK_INT(when_parse_day("yesterday", mon, &d), -1);
	CHECK_INT(when_parse_day("2026-02-30", mon, &d), -1);
	CHECK_INT(when_parse_day("", mon, &d), -1);
	CHECK_INT(when_parse_day("today", 20261332, &d), -1);
}

int main(void)
{
	test_dates();
	test_durations();
	test_hhmm();
	test_days();
	return check_done();
}
