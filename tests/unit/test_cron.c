/* Tests of the schedule engine (bot/time/cron.c, bot/time/tz.c): parsing and words,
 * hand-computed fire times around the 2026/2027 DST changes, month ends and
 * leap days, and a property test against a brute-force evaluator that walks
 * every minute of a year, converting with glibc's own tz code (TZ=...), so
 * the reference shares nothing with the engine but the parsed bit sets. */
#include <stdlib.h>
#include <time.h>

#include "../../bot/time/cron.h"
#include "check.h"

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
	};
	return timegm(&tm);
}

static void fmt_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* cron_next(expr in zone, after) must be `want` (-1: never). */
static void next_is(const char *expr, const char *zone, time_t after, time_t want, int line)
{
	struct cron c;
	char err[200], a[40], b[40];
	struct tz *tz = tz_open(zone);
	time_t got = -1;
	if (!tz || cron_parse(expr, &c, err, sizeof(err)) != 0) {
		check_failed++;
		fprintf(stderr, "line %d: cannot set up %s in %s\n", line, expr, zone);
		tz_destroy(tz);
		return;
	}
	if (cron_next(&c, tz, after, &got) != 0)
		got = -1;
	if (got == want) {
		check_passed++;
	} else {
		check_failed++;
		fmt_utc(got, a, sizeof(a));
		fmt_utc(want, b, sizeof(b));
		fprintf(stderr, "line %d: next(\"%s\" %s) = %s, expected %s\n", line, expr, zone, a,
			b);
	}
	tz_destroy(tz);
}

static void prev_is(const char *expr, const char *zone, time_t at, time_t want, int line)
{
	struct cron c;
	char err[200], a[40], b[40];
	struct tz *tz = tz_open(zone);
	time_t got = -1;
	if (!tz || cron_parse(expr, &c, err, sizeof(err)) != 0) {
		check_failed++;
		tz_destroy(tz);
		return;
	}
	if (cron_prev(&c, tz, at, &got) != 0)
		got = -1;
	if (got == want) {
		check_passed++;
	} else {
		check_failed++;
		fmt_utc(got, a, sizeof(a));
		fmt_utc(want, b, sizeof(b));
		fprintf(stderr, "line %d: prev(\"%s\" %s) = %s, expected %s\n", line, expr, zone, a,
			b);
	}
	tz_destroy(tz);
}

#define NEXT(e, z, after, want) next_is(e, z, after, want, __LINE__)
#define PREV(e, z, at, want)    prev_is(e, z, at, want, __LINE__)

static void test_parse(void)
{
	struct cron c, d;
	char err[200];

	CHECK_INT(cron_parse("*/15 * * * *", &c, err, sizeof(err)), 0);
	CHECK(c.minutes == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
	CHECK_INT(c.hours, 0xffffff);
	CHECK_INT(c.mdays, 0xfffffffeu);
	CHECK_INT(c.months, 0x1ffe);
	CHECK_INT(c.wdays, 0x7f);
	CHECK(c.mday_star && c.wday_star);

	CHECK_INT(cron_parse("10-50/10 9,12,18 1-7 jan,JUL Mon-Fri", &c, err, sizeof(err)), 0);
	CHECK(c.minutes ==
	      ((1ull << 10) | (1ull << 20) | (1ull << 30) | (1ull << 40) | (1ull << 50)));
	CHECK_INT(c.hours, (1u << 9) | (1u << 12) | (1u << 18));
	CHECK_INT(c.mdays, 0xfe);
	CHECK_INT(c.months, (1 << 1) | (1 << 7));
	CHECK_INT(c.wdays, 0x3e);
	CHECK(!c.mday_star && !c.wday_star);

	/* 7 is Sunday, in lists and ranges too. */
	CHECK_INT(cron_parse("0 0 * * 7", &c, err, sizeof(err)), 0);
	CHECK_INT(cron_parse("0 0 * * SUN", &d, err, sizeof(err)), 0);
	CHECK_INT(c.wdays, 1);
	CHECK_INT(d.wdays, 1);
	CHECK_INT(cron_parse("0 0 * * 5-7", &c, err, sizeof(err)), 0);
	CHECK_INT(c.wdays, (1 << 5) | (1 << 6) | 1);
	/* "a/n" means a-max/n; a step on "*" keeps the field "*" for the OR. */
	CHECK_INT(cron_parse("5/20 */6 */2 * 1", &c, err, sizeof(err)), 0);
	CHECK(c.minutes == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
	CHECK_INT(c.hours, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
	CHECK(c.mday_star && !c.wday_star);
	CHECK_INT(cron_parse("  0   9 * * MON-FRI  ", &c, err, sizeof(err)), 0);

	CHECK_INT(cron_parse("0 25 * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 2 (hour): 25 is out of range 0-23");
	CHECK_INT(cron_parse("60 * * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 1 (minute): 60 is out of range 0-59");
	CHECK_INT(cron_parse("0 0 0 * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 3 (day-of-month): 0 is out of range 1-31");
	CHECK_INT(cron_parse("0 0 * 13 *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 4 (month): 13 is out of range 1-12");
	CHECK_INT(cron_parse("0 0 * * 8", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 5 (day-of-week): 8 is out of range 0-6");
	CHECK_INT(cron_parse("0 0 * * MOX", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 5 (day-of-week): unknown name \"MOX\" (expected SUN-SAT)");
	CHECK_INT(cron_parse("0 0 * FOO *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 4 (month): unknown name \"FOO\" (expected JAN-DEC)");
	CHECK_INT(cron_parse("MON 0 * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 1 (minute): unexpected \"M\"");
	CHECK_INT(cron_parse("*/0 * * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 1 (minute): step 0 is out of range 1-59");
	CHECK_INT(cron_parse("0 18-9 * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 2 (hour): range 18-9 goes backwards");
	CHECK_INT(cron_parse("0,,5 * * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 1 (minute): empty list item");
	CHECK_INT(cron_parse("0 9 * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
	CHECK_INT(cron_parse("0 9 * * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "expected 5 fields (minute hour day-of-month month day-of-week), got "
		       "more than 5");
	CHECK_INT(cron_parse("", &c, err, sizeof(err)), -1);
	CHECK_INT(cron_parse("0 9 * * 1-", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 5 (day-of-week): empty list item");
	CHECK_INT(cron_parse("0 9/ * * *", &c, err, sizeof(err)), -1);
	CHECK_STR(err, "field 2 (hour): step needs a number after \"/\"");
}

static void test_describe(void)
{
	char buf[160];
	cron_describe("0 9 * * MON-FRI", buf, sizeof(buf));
	CHECK_STR(buf, "at 09:00 on Mon-Fri");
	cron_describe("30 8 * * 1-5", buf, sizeof(buf));
	CHECK_STR(buf, "at 08:30 on Mon-Fri");
	cron_describe("0 18 * * *", buf, sizeof(buf));
	CHECK_STR(buf, "at 18:00 every day");
	cron_describe("*/15 * * * *", buf, sizeof(buf));
	CHECK_STR(buf, "every 15 minutes");
	cron_describe("0 9,13 * * SAT,SUN", buf, sizeof(buf));
	CHECK_STR(buf, "at 09:00 and 13:00 on Sat,Sun");
	cron_describe("0 12 29 2 *", buf, sizeof(buf));
	CHECK_STR(buf, "at 12:00 on day 29 of the month in Feb");
	cron_describe("0 0 13 * FRI", buf, sizeof(buf));
	CHECK_STR(buf, "at 00:00 on day 13 of the month or on Fri");
	cron_describe("*/30 9-17 * * mon-fri", buf, sizeof(buf));
	CHECK_STR(buf, "every 30 minutes of hours 9-17 on Mon-Fri");
	cron_describe("15 * * * *", buf, sizeof(buf));
	CHECK_STR(buf, "at minute 15 of every hour");
	cron_describe("*/15 * * 3 *", buf, sizeof(buf));
	CHECK_STR(buf, "every 15 minutes in Mar");
	cron_describe("0 0 1,15 * *", buf, sizeof(buf));
	CHECK_STR(buf, "at 00:00 on day 1,15 of the month");
	cron_describe("0 0 */10 * MON", buf, sizeof(buf));
	CHECK_STR(buf, "at 00:00 on day 1,11,21,31 of the month if a Mon");
	cron_describe("0 9 * * 8", buf, sizeof(buf));
	CHECK_STR(buf, "invalid: field 5 (day-of-week): 8 is out of range 0-6");
	/* Truncation is safe. */
	cron_describe("0 9 * * MON-FRI", buf, 8);
	CHECK_STR(buf, "at 09:0");
}

static void test_tz(void)
{
	struct tm tm;
	struct tz *tz = tz_open("America/New_York");
	CHECK(tz != NULL);
	if (!tz)
		return;
	CHECK_STR(tz_name(tz), "America/New_York");
	tz_local(tz, utc(2026, 3, 8, 6, 59), &tm);
	CHECK_INT(tm.tm_hour, 1);
	CHECK_INT(tm.tm_min, 59);
	CHECK_STR(tm.tm_zone, "EST");
	CHECK_INT(tm.tm_gmtoff, -5 * 3600);
	tz_local(tz, utc(2026, 3, 8, 7, 0), &tm);
	CHECK_INT(tm.tm_hour, 3);
	CHECK_STR(tm.tm_zone, "EDT");
	CHECK_INT(tm.tm_isdst, 1);
	/* tz_resolve: 02:30 on spring-forward day is in the gap -> 03:00 EDT;
	 * 01:30 on fall-back day is repeated -> the first (EDT) one. */
	CHECK_INT(tz_resolve(tz, utc(2026, 3, 8, 2, 30)), utc(2026, 3, 8, 7, 0));
	CHECK_INT(tz_resolve(tz, utc(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));
	CHECK_INT(tz_resolve(tz, utc(2026, 11, 1, 2, 0)), utc(2026, 11, 1, 7, 0));
	CHECK_INT(tz_last_wall(tz, utc(2026, 11, 1, 6, 30)), utc(2026, 11, 1, 1, 59) + 59);
	tz_destroy(tz);

	CHECK(tz_open("Not/AZone") == NULL);
	CHECK(tz_open("../etc/passwd") == NULL);
	CHECK(tz_open("/etc/localtime") == NULL);
	CHECK(tz_open("") == NULL);
	CHECK(tz_open(NULL) == NULL);
	tz_destroy(NULL);

	tz = tz_open("UTC");
	CHECK(tz != NULL);
	if (tz) {
		tz_local(tz, utc(2027, 6, 1, 12, 0), &tm);
		CHECK_STR(tm.tm_zone, "UTC");
		CHECK_INT(tm.tm_hour, 12);
		tz_destroy(tz);
	}
}

/* Past 2037 the TZif table ends and the POSIX footer rule answers; compare
 * with glibc hour by hour through 2040-2041. */
static void test_footer(void)
{
	static const char *const zones[] = { "America/New_York", "Europe/Berlin",
					     "Australia/Sydney", "Asia/Seoul", "America/Santiago" };
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *tz = tz_open(zones[z]);
		int bad = 0;
		CHECK(tz != NULL);
		if (!tz)
			continue;
		setenv("TZ", zones[z], 1);
		tzset();
		for (time_t t = utc(2040, 1, 1, 0, 0); t < utc(2042, 1, 1, 0, 0); t += 1800) {
			struct tm a, b;
			tz_local(tz, t, &a);
			localtime_r(&t, &b);
			if (a.tm_gmtoff != b.tm_gmtoff || a.tm_hour != b.tm_hour ||
			    strcmp(a.tm_zone, b.tm_zone) != 0 || a.tm_isdst != b.tm_isdst) {
				if (bad++ < 3)
					fprintf(stderr, "%s at %lld: %s %ld vs glibc %s %ld\n",
						zones[z], (long long)t, a.tm_zone, a.tm_gmtoff,
						b.tm_zone, b.tm_gmtoff);
			}
		}
		CHECK_INT(bad, 0);
		tz_destroy(tz);
	}
	unsetenv("TZ");
	tzset();
}

static void test_dst_new_york(void)
{
	const char *ny = "America/New_York";
	/* 2026 spring forward (Sun Mar 8, 02:00 EST -> 03:00 EDT at 07:00Z). */
	NEXT("30 2 * * *", ny, utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 7, 0));
	NEXT("30 2 * * *", ny, utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30));
	NEXT("30 2 * * *", ny, utc(2026, 3, 6, 12, 0), utc(2026, 3, 7, 7, 30));
	NEXT("0 2 * * *", ny, utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 7, 0));
	NEXT("0 3 * * *", ny, utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 7, 0));
	/* Four nonexistent times fire once, at 03:00 EDT. */
	NEXT("*/15 2 * * *", ny, utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 7, 0));
	NEXT("*/15 2 * * *", ny, utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 0));
	/* 02:00 and 03:00 both map to 07:00Z: one fire, then 04:00 EDT. */
	NEXT("0 2,3,4 * * *", ny, utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 8, 0));
	NEXT("0 9 * * MON-FRI", ny, utc(2026, 3, 6, 14, 0), utc(2026, 3, 9, 13, 0));
	/* 2026 fall back (Sun Nov 1, 02:00 EDT -> 01:00 EST at 06:00Z). */
	NEXT("30 1 * * *", ny, utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 5, 30));
	NEXT("30 1 * * *", ny, utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30));
	NEXT("0 2 * * *", ny, utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 7, 0));
	NEXT("*/30 * * * *", ny, utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30));
	NEXT("*/30 * * * *", ny, utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 0));
	NEXT("*/30 * * * *", ny, utc(2026, 11, 1, 6, 15), utc(2026, 11, 1, 7, 0));
	NEXT("0 9 * * MON-FRI", ny, utc(2026, 10, 30, 14, 0), utc(2026, 11, 2, 14, 0));
	PREV("30 1 * * *", ny, utc(2026, 11, 1, 6, 45), utc(2026, 11, 1, 5, 30));
	PREV("30 1 * * *", ny, utc(2026, 11, 1, 5, 29), utc(2026, 10, 31, 5, 30));
	PREV("0 1 * * *", ny, utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 5, 0));
	PREV("30 2 * * *", ny, utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 0));
	PREV("30 2 * * *", ny, utc(2026, 3, 8, 6, 59), utc(2026, 3, 7, 7, 30));
	/* 2027: Mar 14 and Nov 7. */
	NEXT("30 2 * * *", ny, utc(2027, 3, 13, 12, 0), utc(2027, 3, 14, 7, 0));
	NEXT("0 12 * * *", ny, utc(2027, 3, 14, 7, 0), utc(2027, 3, 14, 16, 0));
	NEXT("30 1 * * *", ny, utc(2027, 11, 6, 12, 0), utc(2027, 11, 7, 5, 30));
	NEXT("30 1 * * *", ny, utc(2027, 11, 7, 5, 30), utc(2027, 11, 8, 6, 30));
	NEXT("0 12 * * *", ny, utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 17, 0));
}

static void test_dst_berlin(void)
{
	const char *be = "Europe/Berlin";
	/* 2026: Mar 29 (02:00 CET -> 03:00 CEST at 01:00Z), Oct 25 (03:00
	 * CEST -> 02:00 CET at 01:00Z). */
	NEXT("30 2 * * *", be, utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 1, 0));
	NEXT("30 2 * * *", be, utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30));
	NEXT("30 2 * * *", be, utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 0, 30));
	NEXT("30 2 * * *", be, utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30));
	NEXT("0 3 * * *", be, utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0));
	NEXT("0 9 * * MON-FRI", be, utc(2026, 3, 27, 12, 0), utc(2026, 3, 30, 7, 0));
	PREV("30 2 * * *", be, utc(2026, 10, 25, 1, 45), utc(2026, 10, 25, 0, 30));
	/* 2027: Mar 28, Oct 31. */
	NEXT("30 2 * * *", be, utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 1, 0));
	NEXT("59 1 * * *", be, utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 0, 59));
	NEXT("30 2 * * *", be, utc(2027, 10, 30, 12, 0), utc(2027, 10, 31, 0, 30));
	NEXT("30 2 * * *", be, utc(2027, 10, 31, 0, 30), utc(2027, 11, 1, 1, 30));
	/* Past the TZif table (2040: Mar 25, Oct 28), from the footer rule. */
	NEXT("30 2 * * *", be, utc(2040, 3, 24, 12, 0), utc(2040, 3, 25, 1, 0));
	NEXT("30 2 * * *", be, utc(2040, 10, 28, 0, 30), utc(2040, 10, 29, 1, 30));
}

static void test_seoul(void)
{
	const char *se = "Asia/Seoul";
	NEXT("0 9 * * MON-FRI", se, utc(2026, 12, 31, 0, 0), utc(2027, 1, 1, 0, 0));
	NEXT("0 9 * * MON-FRI", se, utc(2027, 1, 1, 0, 0), utc(2027, 1, 4, 0, 0));
	NEXT("0 18 * * MON-FRI", se, utc(2026, 12, 1, 0, 0), utc(2026, 12, 1, 9, 0));
	/* Month ends. */
	NEXT("0 0 31 * *", se, utc(2026, 4, 1, 0, 0), utc(2026, 5, 30, 15, 0));
	NEXT("0 0 30 * *", se, utc(2027, 1, 30, 0, 0), utc(2027, 3, 29, 15, 0));
	NEXT("59 23 28-31 * *", se, utc(2027, 2, 28, 14, 58), utc(2027, 2, 28, 14, 59));
	NEXT("0 0 1 * *", se, utc(2026, 12, 31, 14, 59), utc(2026, 12, 31, 15, 0));
	NEXT("0 0 31 2 *", se, utc(2026, 1, 1, 0, 0), (time_t)-1);
	/* Leap day 2028. */
	NEXT("0 12 29 2 *", se, utc(2026, 1, 1, 0, 0), utc(2028, 2, 29, 3, 0));
	NEXT("0 12 29 2 *", se, utc(2028, 2, 29, 3, 0), utc(2032, 2, 29, 3, 0));
	PREV("0 12 29 2 *", se, utc(2031, 6, 1, 0, 0), utc(2028, 2, 29, 3, 0));
	PREV("0 12 29 2 *", se, utc(2028, 2, 29, 3, 0), utc(2028, 2, 29, 3, 0));
	NEXT("0 12 29 2 *", "UTC", utc(2096, 3, 1, 0, 0), utc(2104, 2, 29, 12, 0));
	/* Every 15 minutes, lists, names. */
	NEXT("*/15 * * * *", se, utc(2026, 6, 1, 0, 7), utc(2026, 6, 1, 0, 15));
	NEXT("*/15 * * * *", se, utc(2026, 6, 1, 0, 45), utc(2026, 6, 1, 1, 0));
	NEXT("10-50/10 * * * *", se, utc(2026, 6, 1, 0, 50), utc(2026, 6, 1, 1, 10));
	NEXT("0 8,12,17 * * *", se, utc(2026, 6, 1, 3, 0), utc(2026, 6, 1, 8, 0));
	NEXT("0 9 * jan,Jul sun", se, utc(2026, 2, 1, 0, 0), utc(2026, 7, 5, 0, 0));
	NEXT("0 9 * * 7", se, utc(2026, 6, 1, 0, 0), utc(2026, 6, 7, 0, 0));
	/* The OR rule: day 13 or any Friday; with "*" in one field, AND. */
	NEXT("0 0 13 * FRI", "UTC", utc(2026, 1, 1, 0, 0), utc(2026, 1, 2, 0, 0));
	NEXT("0 0 13 * FRI", "UTC", utc(2026, 1, 9, 0, 0), utc(2026, 1, 13, 0, 0));
	NEXT("0 0 13 * *", "UTC", utc(2026, 1, 1, 0, 0), utc(2026, 1, 13, 0, 0));
	NEXT("0 0 */2 * FRI", "UTC", utc(2026, 1, 1, 0, 0), utc(2026, 1, 9, 0, 0));
	NEXT("0 0 * * FRI", "UTC", utc(2026, 2, 13, 0, 0), utc(2026, 2, 20, 0, 0));
	/* Seconds: "after" is strict, "at" inclusive. */
	NEXT("0 9 * * *", "UTC", utc(2026, 6, 1, 9, 0) - 1, utc(2026, 6, 1, 9, 0));
	NEXT("0 9 * * *", "UTC", utc(2026, 6, 1, 9, 0), utc(2026, 6, 2, 9, 0));
	PREV("0 9 * * *", "UTC", utc(2026, 6, 1, 9, 0) + 59, utc(2026, 6, 1, 9, 0));
	PREV("0 9 * * *", "UTC", utc(2026, 6, 1, 9, 0) - 1, utc(2026, 5, 31, 9, 0));
}

/* ---- the property test ---- */

/* An independent evaluator of the day rule (Vixie's OR). */
static bool ref_match(const struct cron *c, const struct tm *w)
{
	bool md = (c->mdays & (1u << w->tm_mday)) != 0;
	bool wd = (c->wdays & (1u << w->tm_wday)) != 0;
	bool day = (c->mday_star || c->wday_star) ? (md && wd) : (md || wd);
	return day && (c->minutes & (1ull << w->tm_min)) && (c->hours & (1u << w->tm_hour)) &&
	       (c->months & (1u << (w->tm_mon + 1)));
}

#define N_EXPR 9
static const char *const prop_exprs[N_EXPR] = {
	"30 2 * * *", "30 1 * * *", "*/15 * * * *",       "0 9 * * MON-FRI", "15 2,3 1,15 * SUN",
	"* * * * *",  "0 0 31 * *", "45 0-3 * 3,10,11 *", "0 18 * * 1-5"
};

/* Walks every UTC minute in [t0, t1) with glibc's localtime_r. The clock
 * shows wall minute W at instant t; every matching wall minute in
 * (highest shown so far, W] fires at t: that is W itself normally, every
 * skipped minute after a gap (first instant after it), and nothing while
 * the clock repeats minutes it already showed. Then checks that cron_next
 * and cron_prev reproduce exactly that list. */
static void property_zone(const char *zone, time_t t0, time_t t1)
{
	struct cron c[N_EXPR];
	char err[200];
	time_t *fires[N_EXPR];
	size_t n_fires[N_EXPR];
	size_t cap = (size_t)(t1 - t0) / 60 + 2;
	struct tz *tz = tz_open(zone);
	CHECK(tz != NULL);
	if (!tz)
		return;
	setenv("TZ", zone, 1);
	tzset();
	for (int e = 0; e < N_EXPR; e++) {
		CHECK_INT(cron_parse(prop_exprs[e], &c[e], err, sizeof(err)), 0);
		fires[e] = malloc(cap * sizeof(time_t));
		n_fires[e] = 0;
	}
	int64_t high = -1;
	for (time_t t = t0; t < t1; t += 60) {
		struct tm lt, w;
		localtime_r(&t, &lt);
		int64_t wall = (int64_t)t + lt.tm_gmtoff;
		if (high < 0)
			high = wall - 60;
		for (int e = 0; e < N_EXPR; e++) {
			bool fire = false;
			for (int64_t m = high + 60; m <= wall && !fire; m += 60) {
				time_t mt = (time_t)m;
				gmtime_r(&mt, &w);
				fire = ref_match(&c[e], &w);
			}
			if (fire)
				fires[e][n_fires[e]++] = t;
		}
		if (wall > high)
			high = wall;
	}
	for (int e = 0; e < N_EXPR; e++) {
		int bad = 0;
		time_t t = t0 - 1, got;
		size_t i = 0;
		for (;; i++) {
			if (cron_next(&c[e], tz, t, &got) != 0 || got >= t1)
				break;
			if (i >= n_fires[e] || got != fires[e][i]) {
				if (bad++ < 3)
					fprintf(stderr, "%s \"%s\": fire %zu at %lld, brute %lld\n",
						zone, prop_exprs[e], i, (long long)got,
						i < n_fires[e] ? (long long)fires[e][i] : -1LL);
				if (i >= n_fires[e])
					break;
			}
			/* prev: the fire itself, and the one before from just
			 * before it. */
			time_t p;
			if (cron_prev(&c[e], tz, got, &p) != 0 || p != got)
				bad++;
			if (i > 0 &&
			    (cron_prev(&c[e], tz, got - 1, &p) != 0 || p != fires[e][i - 1]))
				bad++;
			/* From the middle of the minute before, too. */
			if (cron_next(&c[e], tz, got - 31, &p) != 0 || p != got)
				bad++;
			t = got;
		}
		if (i != n_fires[e]) {
			fprintf(stderr, "%s \"%s\": engine %zu fires, brute force %zu\n", zone,
				prop_exprs[e], i, n_fires[e]);
			bad++;
		}
		CHECK_INT(bad, 0);
		free(fires[e]);
	}
	unsetenv("TZ");
	tzset();
	tz_destroy(tz);
}

static void test_property(void)
{
	/* A whole year (both DST changes) in each zone; from a day before
	 * New Year so that the start is not a special case. */
	time_t t0 = utc(2025, 12, 31, 0, 0), t1 = utc(2027, 1, 1, 0, 0);
	property_zone("America/New_York", t0, t1);
	property_zone("Europe/Berlin", t0, t1);
	property_zone("Asia/Seoul", t0, t1);
	/* A southern-hemisphere zone in the footer-rule era, a short span
	 * around its two changes. */
	property_zone("Australia/Sydney", utc(2045, 3, 25, 0, 0), utc(2045, 4, 5, 0, 0));
	property_zone("Australia/Sydney", utc(2045, 9, 25, 0, 0), utc(2045, 10, 5, 0, 0));
	property_zone("Australia/Lord_Howe", utc(2026, 3, 25, 0, 0), utc(2026, 4, 10, 0, 0));
}

int main(void)
{
	test_parse();
	test_describe();
	test_tz();
	test_footer();
	test_dst_new_york();
	test_dst_berlin();
	test_seoul();
	test_property();
	return check_done();
}
