/* Calendar dates, durations and the small time expressions users type:
 * "30m", "2h", "1h30m", "until 22:00", "today", "tomorrow", "friday",
 * "2026-12-24". Pure functions; no time zone lookups (callers pass the local
 * date/time they computed with tz.h). */
#ifndef ENVBOT_WHEN_H
#define ENVBOT_WHEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A calendar date as year*10000 + month*100 + day (20261225). */
typedef int32_t ymd_t;

/* Parses "YYYY-MM-DD" (a real date: month 1-12, day within the month, leap
 * years). Returns 0 or -1. */
int when_parse_date(const char *s, ymd_t *out);
/* Writes "YYYY-MM-DD" into buf (>= 11 bytes). */
void when_format_date(ymd_t d, char *buf, size_t len);
bool when_date_valid(ymd_t d);
/* Days since 1970-01-01 for a date, and back (proleptic Gregorian). */
int64_t when_days_from_civil(ymd_t d);
ymd_t when_civil_from_days(int64_t days);
ymd_t when_add_days(ymd_t d, int n);
/* 0 = Sunday .. 6 = Saturday. */
int when_weekday(ymd_t d);
int when_days_in_month(int year, int month);

/* Parses a duration: one or more <number><unit> with units d, h, m, s
 * ("30m", "2h", "1h30m", "90s"), or "0". Returns 0 and seconds in *out, or
 * -1 (empty, unknown unit, overflow, more than 366 days). */
int when_parse_duration(const char *s, int64_t *out);
/* "2h", "1h30m", "45m", "0" (buf >= 16 bytes). */
void when_format_duration(int64_t seconds, char *buf, size_t len);

/* Parses "HH:MM" (00:00-23:59). Returns 0 and minutes since midnight, or -1. */
int when_parse_hhmm(const char *s, int *minutes);

/* A day expression relative to today (local date in the schedule's zone):
 * "today", "tomorrow", a weekday name or 3-letter abbreviation (the next such
 * day, today excluded), or "YYYY-MM-DD". Case-insensitive. Returns 0 or -1. */
int when_parse_day(const char *s, ymd_t today, ymd_t *out);

#endif
