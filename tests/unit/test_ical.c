/* Tests of the holiday-calendar parser (bot/time/ical.c): the exact dates the
 * fixtures of tests/data/ical cover (all-day spans with exclusive DTEND,
 * yearly and weekly rules, EXDATE, cancelled events, timed events across
 * midnight and zones, DURATION, RDATE, lunar rules), the range clipping, the
 * summary that wins a shared date, and broken or costly calendars: each must
 * come back as BOT_EPARSE with its reason, and promptly. */
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "../../bot/time/ical.h"
#include "check.h"

static const char *datadir;

static char *read_fixture(const char *name, size_t *len)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	FILE *f = fopen(path, "rb");
	char *text = malloc(1 << 16);
	if (!f || !text) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	*len = fread(text, 1, (1 << 16) - 1, f);
	text[*len] = '\0';
	fclose(f);
	return text;
}

struct result {
	enum bot_rc rc;
	struct ical_day *days;
	size_t n;
	char err[256];
};

static struct result run(const char *text, size_t len, ymd_t from, ymd_t to)
{
	struct result r;
	r.rc = ical_days(text, len, from, to, &r.days, &r.n, r.err, sizeof(r.err));
	return r;
}

static struct result run_str(const char *text, ymd_t from, ymd_t to)
{
	return run(text, strlen(text), from, to);
}

static struct result run_file(const char *name, ymd_t from, ymd_t to)
{
	size_t len;
	char *text = read_fixture(name, &len);
	struct result r = run(text, len, from, to);
	free(text);
	return r;
}

/* The result must be BOT_OK with exactly the dates given (0-terminated). */
static void dates_are(const struct result *r, int line, ...)
{
	va_list ap;
	size_t i = 0;
	bool same = r->rc == BOT_OK;
	va_start(ap, line);
	for (ymd_t want = va_arg(ap, ymd_t); want; want = va_arg(ap, ymd_t), i++)
		same = same && i < r->n && r->days[i].date == want;
	va_end(ap);
	same = same && i == r->n;
	if (same) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "line %d: rc %d (%s), %zu dates:", line, r->rc, r->err, r->n);
	for (size_t k = 0; k < r->n; k++)
		fprintf(stderr, " %d", (int)r->days[k].date);
	fprintf(stderr, "\n");
}

static const char *summary_on(const struct result *r, ymd_t d)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->days[i].date == d)
			return r->days[i].summary;
	return "(date not listed)";
}

/* The result must be BOT_EPARSE with err equal to want. */
static void fails_with(const struct result *r, const char *want, int line)
{
	if (r->rc == BOT_EPARSE && r->days == NULL && r->n == 0 && strcmp(r->err, want) == 0) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "line %d: rc %d, err \"%s\", expected BOT_EPARSE \"%s\"\n", line, r->rc,
		r->err, want);
}

#define CAL(body) \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" body "END:VCALENDAR\r\n"
#define EVENT(body) "BEGIN:VEVENT\r\nUID:x@t\r\n" body "END:VEVENT\r\n"

static void test_seollal(void)
{
	struct result r = run_file("seollal.ics", 20270101, 20271231);
	/* Winter Fridays: COUNT=5 from Jan 1 minus the EXDATE of Jan 15;
	 * Seollal Feb 6-8 (DTEND Feb 9 exclusive); Chuseok Sep 14-16;
	 * Christmas from the 2020 rule; the cancelled picnic (May 20) absent. */
	dates_are(&r, __LINE__, 20270101, 20270108, 20270122, 20270129, 20270206, 20270207,
		  20270208, 20270914, 20270915, 20270916, 20271225, 0);
	CHECK_STR(summary_on(&r, 20270207), "설날 Seollal");
	CHECK_STR(summary_on(&r, 20270915), "Chuseok"); /* a folded SUMMARY line */
	CHECK_STR(summary_on(&r, 20271225), "Christmas Day");
	CHECK_STR(summary_on(&r, 20270101), "Winter Friday off");
	free(r.days);

	/* The yearly rule in both years of a range over a year end. */
	r = run_file("seollal.ics", 20261201, 20280101);
	CHECK_STR(summary_on(&r, 20261225), "Christmas Day");
	CHECK_STR(summary_on(&r, 20271225), "Christmas Day");
	CHECK_INT(r.n, 12);
	free(r.days);

	/* The range clips a span on both sides. */
	r = run_file("seollal.ics", 20270207, 20270207);
	dates_are(&r, __LINE__, 20270207, 0);
	free(r.days);
	r = run_file("seollal.ics", 20270208, 20270213);
	dates_are(&r, __LINE__, 20270208, 0);
	free(r.days);
	r = run_file("seollal.ics", 20270520, 20270521);
	dates_are(&r, __LINE__, 0);
	CHECK(r.days == NULL);
	/* The yearly rule long before its start: nothing. */
	r = run_file("seollal.ics", 20191201, 20191231);
	dates_are(&r, __LINE__, 0);
}

static void test_timed(void)
{
	struct result r = run_file("timed.ics", 20270301, 20270731);
	dates_are(&r, __LINE__,
		  /* 22:00-02:00 Seoul: both dates */
		  20270312, 20270313,
		  /* 20:00 to midnight: not the next day */
		  20270320,
		  /* DURATION:P3D on a date */
		  20270401, 20270402, 20270403,
		  /* UTC times: the UTC dates */
		  20270410, 20270411,
		  /* floating, no DTEND: its start date */
		  20270415,
		  /* DTEND in UTC is 08:00 on May 2 in Seoul, DTSTART's zone */
		  20270501, 20270502,
		  /* DTSTART, two RDATE dates, a 2-day RDATE period */
		  20270530, 20270601, 20270603, 20270610, 20270611, 20270612,
		  /* daily from Jul 1 09:00 Seoul until 00:00Z Jul 5 (= 09:00
		   * Seoul, included), the EXDATE of Jul 2 09:00 Seoul removed */
		  20270701, 20270703, 20270704, 20270705, 0);
	CHECK_STR(summary_on(&r, 20270313), "Release night");
	free(r.days);
}

static void test_lunar(void)
{
	/* RSCALE=CHINESE (libical with ICU): 1/1 and 8/15 of the lunar year. */
	struct result r = run_file("lunar.ics", 20270101, 20281231);
	dates_are(&r, __LINE__, 20270207, 20270915, 20280126, 20281003, 0);
	free(r.days);
}

static void test_rules(void)
{
	/* INTERVAL=3 from 2020-01-01: 2027-01-01 is day 2557, so the days
	 * divisible by 3 are Jan 3, 6 and 9 (the iterator is started near
	 * the range, which must keep the interval's phase). */
	struct result r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20200101\r\n"
					    "RRULE:FREQ=DAILY;INTERVAL=3\r\nSUMMARY:d3\r\n")),
				  20270101, 20270110);
	dates_are(&r, __LINE__, 20270103, 20270106, 20270109, 0);
	free(r.days);

	/* A multi-day occurrence that starts before the range still counts. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20201230\r\nDTEND;VALUE=DATE:20210103\r\n"
			      "RRULE:FREQ=YEARLY\r\n")),
		    20270101, 20270105);
	dates_are(&r, __LINE__, 20270101, 20270102, 0);
	free(r.days);

	/* A DATE UNTIL on a timed rule includes that day. */
	r = run_str(CAL(EVENT("DTSTART:20270301T100000\r\n"
			      "RRULE:FREQ=DAILY;UNTIL=20270303\r\n")),
		    20270101, 20271231);
	dates_are(&r, __LINE__, 20270301, 20270302, 20270303, 0);
	free(r.days);

	/* Monthly on the last Friday, COUNT counted from DTSTART. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20261030\r\n"
			      "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=4\r\n")),
		    20270101, 20271231);
	dates_are(&r, __LINE__, 20270129, 0);
	free(r.days);

	/* An EXDATE can remove DTSTART itself; a DATE EXDATE a timed day. */
	r = run_str(CAL(EVENT("DTSTART:20270301T100000\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
			      "EXDATE:20270301T100000\r\nEXDATE;VALUE=DATE:20270303\r\n")),
		    20270101, 20271231);
	dates_are(&r, __LINE__, 20270302, 0);
	free(r.days);
}

static void test_summaries(void)
{
	/* The occurrence that starts first names a shared date, wherever
	 * its event is in the text; a tie goes to the earlier event. */
	struct result r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270915\r\nSUMMARY:Chuseok\r\n")
					      EVENT("DTSTART;VALUE=DATE:20270914\r\n"
						    "DTEND;VALUE=DATE:20270917\r\n"
						    "SUMMARY:Chuseok holidays\r\n")
						      EVENT("DTSTART;VALUE=DATE:20270914\r\n"
							    "SUMMARY:Also on the 14th\r\n")),
				  20270901, 20270930);
	dates_are(&r, __LINE__, 20270914, 20270915, 20270916, 0);
	CHECK_STR(summary_on(&r, 20270914), "Chuseok holidays");
	CHECK_STR(summary_on(&r, 20270915), "Chuseok holidays");
	free(r.days);

	/* 50 three-byte characters: cut at 42 of them (126 bytes), not
	 * inside one; an escaped newline becomes a space; none is "". */
	char text[1024] = CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nSUMMARY:a\\nb\r\n")
				      EVENT("DTSTART;VALUE=DATE:20270103\r\n"));
	char *tail = strstr(text, "END:VCALENDAR");
	strcpy(tail, "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270102\r\nSUMMARY:");
	for (int i = 0; i < 50; i++)
		strcat(tail, "설");
	strcat(tail, "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	r = run_str(text, 20270101, 20270131);
	dates_are(&r, __LINE__, 20270101, 20270102, 20270103, 0);
	CHECK_STR(summary_on(&r, 20270101), "a b");
	CHECK_INT(strlen(summary_on(&r, 20270102)), 126);
	CHECK_STR(summary_on(&r, 20270103), "");
	free(r.days);
}

static void test_broken(void)
{
	struct result r = run_file("broken.ics", 20270101, 20271231);
	fails_with(&r,
		   "line 11: Can't parse as DATE value in DTSTART property. Removing entire "
		   "property: 2027O5O5",
		   __LINE__);

	r = run_str("", 20270101, 20271231);
	fails_with(&r, "no VCALENDAR", __LINE__);
	r = run_str("<html><body>502 Bad Gateway</body></html>\n", 20270101, 20271231);
	fails_with(&r, "line 1: content outside BEGIN:VCALENDAR ... END:VCALENDAR", __LINE__);
	r = run_str(CAL(""), 20270101, 20271231);
	fails_with(&r, "no events", __LINE__);
	r = run_str(CAL("BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Nothing\r\nEND:VEVENT\r\n"), 20270101,
		    20271231);
	fails_with(&r, "line 4: event \"Nothing\": no DTSTART", __LINE__);
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270206\r\nDTEND;VALUE=DATE:20270205\r\n"
			      "SUMMARY:Seollal\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 4: event \"Seollal\": DTEND before DTSTART", __LINE__);
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270230\r\n")), 20270101, 20271231);
	fails_with(&r, "line 4: event: DTSTART is not a valid date", __LINE__);
	r = run_str(CAL(EVENT("DTSTART:20270101T250000\r\n")), 20270101, 20271231);
	fails_with(&r, "line 4: event: DTSTART is not a valid date", __LINE__);
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nDTSTART;VALUE=DATE:20270102\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 4: event: more than one DTSTART", __LINE__);
	r = run_str(CAL(EVENT("DTSTRT;VALUE=DATE:20270101\r\n")), 20270101, 20271231);
	fails_with(&r, "line 6: Parse error in property name: DTSTRT", __LINE__);
	/* libical records a bad parameter name without flagging the line. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nSUMMARY;=x:y\r\n")), 20270101,
		    20271231);
	fails_with(&r, "line 7: Can't parse parameter name: =x", __LINE__);
	/* A VALUE= the property cannot have; an X-LIC-ERROR written into the
	 * file (rejected, whatever its value). */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nRRULE;VALUE=TEXT:FREQ=DAILY\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 7: Invalid VALUE type for property RRULE: VALUE=TEXT", __LINE__);
	r = run_str(CAL("X-LIC-ERROR;VALUE=INTEGER:5\r\n" EVENT("DTSTART:20270101T100000\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 4: 5", __LINE__);

	/* Structure that libical itself lets pass. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\n")) "END:VEVENT\r\n", 20270101,
		    20271231);
	fails_with(&r, "line 9: END outside BEGIN:VCALENDAR ... END:VCALENDAR", __LINE__);
	r = run_str("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\n"
		    "END:VCALENDAR\r\nEND:VEVENT\r\n",
		    20270101, 20271231);
	fails_with(&r, "line 4: END:VCALENDAR does not close BEGIN:VEVENT", __LINE__);
	r = run_str("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\n", 20270101,
		    20271231);
	fails_with(&r, "line 3: the text ends inside BEGIN:VEVENT (truncated?)", __LINE__);
	r = run_str(EVENT("DTSTART;VALUE=DATE:20270101\r\n"), 20270101, 20271231);
	fails_with(&r, "line 1: top-level component VEVENT is not a VCALENDAR", __LINE__);
	static const char with_nul[] = "BEGIN:VCALENDAR\r\nX-A:b\0c\r\n";
	r = run(with_nul, sizeof(with_nul) - 1, 20270101, 20271231);
	fails_with(&r, "line 2: NUL byte", __LINE__);
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nEXRULE:FREQ=WEEKLY\r\n")), 20270101,
		    20271231);
	fails_with(&r,
		   "line 4: event: EXRULE (removed from iCalendar by RFC 5545) is not supported",
		   __LINE__);
	char deep[2048] = "BEGIN:VCALENDAR\r\n";
	for (int i = 0; i < 20; i++)
		strcat(deep, "BEGIN:X-NEST\r\n");
	r = run_str(deep, 20270101, 20271231);
	fails_with(&r, "line 17: components nested deeper than 16", __LINE__);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_bounded(void)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* libical would walk this second by second inside one call. */
	struct result r = run_str(CAL(EVENT("DTSTART:20200101T000000\r\nSUMMARY:tick\r\n"
					    "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n")),
				  20270101, 20271231);
	fails_with(
		&r,
		"line 4: event \"tick\": RRULE FREQ=SECONDLY is finer than daily (not supported)",
		__LINE__);
	r = run_str(CAL(EVENT("DTSTART:20200101T000000\r\nRRULE:FREQ=SECONDLY\r\n")), 20270101,
		    20271231);
	CHECK_INT(r.rc, BOT_EPARSE);
	/* A rule that never matches: libical gives up at the year 20000. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20200101\r\n"
			      "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 4: event: RRULE never occurs or cannot be expanded", __LINE__);
	/* A daily COUNT rule that never matches walks from 1900 to the
	 * range's end (46 000 days): allowed, and nothing but DTSTART. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:19000101\r\n"
			      "RRULE:FREQ=DAILY;COUNT=10;BYMONTH=2;BYMONTHDAY=30\r\n")),
		    20270101, 20271231);
	dates_are(&r, __LINE__, 0);
	/* From the year 1000 it would be 375 000 days: over the budget. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:10000101\r\nSUMMARY:old\r\n"
			      "RRULE:FREQ=DAILY;COUNT=100000000\r\n")),
		    20270101, 20271231);
	fails_with(&r, "line 4: event \"old\": the calendar takes more than 200000 steps to expand",
		   __LINE__);
	/* A long span times many occurrences: each day marked costs a step. */
	r = run_str(CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\nDURATION:P1000W\r\n"
			      "RRULE:FREQ=DAILY\r\n")),
		    20260101, 20281231);
	fails_with(&r, "line 4: event: the calendar takes more than 200000 steps to expand",
		   __LINE__);
	double took = seconds_since(&t0);
	CHECK(took < 3.0);
	if (took >= 3.0)
		fprintf(stderr, "the costly calendars took %.2f s\n", took);
}

static void test_range(void)
{
	const char *text = CAL(EVENT("DTSTART;VALUE=DATE:20270101\r\n"));
	static struct ical_day dummy;
	struct ical_day *days = &dummy;
	size_t n = 7;
	char err[128];
	CHECK_INT(ical_days(text, strlen(text), 20270102, 20270101, &days, &n, err, sizeof(err)),
		  BOT_EINVAL);
	CHECK(days == NULL && n == 0);
	CHECK_STR(err, "range 20270102..20270101 is not two dates in order");
	CHECK_INT(ical_days(text, strlen(text), 20270101, 20300101, &days, &n, err, sizeof(err)),
		  BOT_EINVAL);
	CHECK_STR(err, "range longer than 1096 days");
	CHECK_INT(ical_days(text, strlen(text), 20270230, 20270301, &days, &n, err, sizeof(err)),
		  BOT_EINVAL);
	/* Three years with a leap day is the longest range. */
	CHECK_INT(ical_days(text, strlen(text), 20260101, 20281231, &days, &n, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(n, 1);
	free(days);
	CHECK_INT(ical_days(text, ICAL_MAX_BYTES + 1, 20270101, 20270101, &days, &n, err,
			    sizeof(err)),
		  BOT_EPARSE);
	/* A short err buffer is cut, never overrun; none at all is fine. */
	char tiny[8];
	CHECK_INT(ical_days("x", 1, 20270101, 20270101, &days, &n, tiny, sizeof(tiny)), BOT_EPARSE);
	CHECK_STR(tiny, "line 1:");
	CHECK_INT(ical_days("x", 1, 20270101, 20270101, &days, &n, NULL, 0), BOT_EPARSE);
}

int main(int argc, char **argv)
{
	static const char *const needed[] = { "seollal.ics", "timed.ics", "lunar.ics", "broken.ics",
					      NULL };
	datadir = argc > 1 ? argv[1] : NULL;
	check_testdata(datadir, needed);
	test_seollal();
	test_timed();
	test_lunar();
	test_rules();
	test_summaries();
	test_broken();
	test_bounded();
	test_range();
	return check_done();
}
