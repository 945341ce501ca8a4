/* Holiday calendars: the whole days that the events of an iCalendar text
 * (RFC 5545, such as a public-holiday feed) cover within a date range, read
 * with libical. Pure: no I/O, no clock and no time zone of the caller; dates
 * are taken as the calendar writes them (see ical_days). */
#ifndef ENVBOT_ICAL_H
#define ENVBOT_ICAL_H

#include <stddef.h>

#include "../core/rc.h"
#include "when.h"

/* The longest range ical_days accepts: three years, one of them leap. There
 * is at most one entry per date, so this also bounds the result. */
#define ICAL_MAX_RANGE_DAYS 1096
/* Longer texts are refused: a holiday feed is some hundred kilobytes. */
#define ICAL_MAX_BYTES ((size_t)4 << 20)

struct ical_day {
	ymd_t date;
	/* SUMMARY of the event that covers the date: UTF-8 cut at a character
	 * boundary, control characters turned into spaces; "" when it has none. */
	char summary[128];
};

/* Lists every date in [from, to] that a VEVENT of text[0..len) covers,
 * sorted, one entry per date.
 *
 * - An all-day event (DTSTART;VALUE=DATE) covers DTSTART up to DTEND, which
 *   is exclusive; with DURATION instead, that many days; with neither, one.
 * - A timed event covers every date from its start up to the last second
 *   before its end: one that ends at midnight does not reach the next day,
 *   one without DTEND or DURATION covers its start date.
 * - Dates are read as written, on the event's own clock: a floating or TZID
 *   time gives the date of that wall clock, a UTC ("Z") time the UTC date;
 *   nothing is converted to the caller's zone. DTEND, RDATE and EXDATE in
 *   another known zone are first converted to DTSTART's. A TZID is known
 *   when it names a system IANA zone; the calendar's own VTIMEZONEs are
 *   not used, and an unknown TZID leaves the time floating.
 * - Occurrences: DTSTART, every RRULE (FREQ=DAILY, WEEKLY, MONTHLY, YEARLY;
 *   RSCALE calendars such as CHINESE as far as libical supports them) and
 *   RDATE (dates, date-times, periods), minus EXDATE (a DATE EXDATE removes
 *   its whole day). Rules finer than daily and EXRULE (dropped by RFC 5545)
 *   are refused.
 * - STATUS:CANCELLED events are left out.
 * - A date that several occurrences cover carries the summary of the one
 *   that starts first (starts compared as written; a tie goes to the event
 *   earlier in the text).
 *
 * Returns BOT_OK with *out a new array of *n_out entries (caller frees; NULL
 * when there are none). Otherwise *out is NULL, *n_out 0 and err holds one
 * line: BOT_EPARSE for a calendar that is broken or too costly to expand
 * ("line 7: Parse error in property name: DTSTRT", "no VCALENDAR", "no
 * events", "line 12: event \"Seollal\": DTEND before DTSTART"), BOT_EINVAL
 * for a bad range (from after to, longer than ICAL_MAX_RANGE_DAYS),
 * BOT_ENOMEM.
 *
 * libical's error switches are process-wide: this sets its errors non-fatal
 * and must not run on two threads at once. */
enum bot_rc ical_days(const char *text, size_t len, ymd_t from, ymd_t to, struct ical_day **out,
		      size_t *n_out, char *err, size_t errlen);

#endif
