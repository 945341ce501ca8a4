/* Calendar arithmetic and the small time expressions people type in chat and
 * in the config file. Pure and allocation-free: the date algorithms are the
 * proleptic-Gregorian day counts (days_from_civil), so no time zone or libc
 * locale is involved; callers bring the local date they computed with tz. */
#include "when.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SECONDS_PER_DAY 86400
/* The longest duration anyone should type: a year (leap). Bounds the
 * arithmetic so no overflow is possible and typos like "9999999h" fail. */
#define WHEN_MAX_DURATION ((int64_t)366 * SECONDS_PER_DAY)

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int when_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

bool when_date_valid(ymd_t d)
{
	int y = d / 10000, m = d / 100 % 100, day = d % 100;
	if (d <= 0 || y < 1 || y > 9999)
		return false;
	return m >= 1 && m <= 12 && day >= 1 && day <= when_days_in_month(y, m);
}

/* Howard Hinnant's days_from_civil: eras of 400 years make the leap rule a
 * closed formula, exact for every proleptic Gregorian date. */
int64_t when_days_from_civil(ymd_t d)
{
	int64_t y = d / 10000, m = d / 100 % 100, day = d % 100;
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

ymd_t when_civil_from_days(int64_t days)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t day = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	return (ymd_t)(y * 10000 + m * 100 + day);
}

ymd_t when_add_days(ymd_t d, int n)
{
	return when_civil_from_days(when_days_from_civil(d) + n);
}

int when_weekday(ymd_t d)
{
	/* 1970-01-01 was a Thursday (4). */
	return (int)(((when_days_from_civil(d) + 4) % 7 + 7) % 7);
}

/* Reads exactly n decimal digits at s. Returns the value or -1. */
static int read_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int when_parse_date(const char *s, ymd_t *out)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	int y = read_digits(s, 4), m = read_digits(s + 5, 2), d = read_digits(s + 8, 2);
	if (y < 0 || m < 0 || d < 0)
		return -1;
	ymd_t v = y * 10000 + m * 100 + d;
	if (!when_date_valid(v))
		return -1;
	*out = v;
	return 0;
}

void when_format_date(ymd_t d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100),
		 (int)(d % 100));
}

static int64_t unit_seconds(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'd': return SECONDS_PER_DAY;
	case 'h': return 3600;
	case 'm': return 60;
	case 's': return 1;
	default: return 0;
	}
}

/* Components must come largest unit first and at most once each ("1h30m",
 * not "30m1h" or "1h1h"): anything else is more likely a typo than intent. */
int when_parse_duration(const char *s, int64_t *out)
{
	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '0' && s[1 + strspn(s + 1, " \t")] == '\0') {
		*out = 0;
		return 0;
	}
	int64_t total = 0, last_unit = INT64_MAX;
	int parts = 0;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > WHEN_MAX_DURATION)
				return -1;
		}
		int64_t unit = unit_seconds(*s);
		if (unit == 0 || unit >= last_unit)
			return -1;
		s++;
		last_unit = unit;
		total += n * unit; /* n <= 366 days worth, unit <= 1 day: no overflow */
		if (total > WHEN_MAX_DURATION)
			return -1;
		parts++;
		while (isspace((unsigned char)*s))
			s++;
	}
	if (parts == 0)
		return -1;
	*out = total;
	return 0;
}

void when_format_duration(int64_t seconds, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { SECONDS_PER_DAY, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	if (len == 0)
		return;
	buf[0] = '\0';
	if (seconds == 0) {
		snprintf(buf, len, "0");
		return;
	}
	size_t used = 0;
	/* Negative values only come from arithmetic bugs upstream; show them. */
	uint64_t rest = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
	if (seconds < 0)
		used += (size_t)snprintf(buf, len, "-");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < len; i++) {
		uint64_t n = rest / (uint64_t)units[i].secs;
		if (n == 0)
			continue;
		rest %= (uint64_t)units[i].secs;
		int w = snprintf(buf + used, len - used, "%llu%c", (unsigned long long)n,
				 units[i].unit);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

int when_parse_hhmm(const char *s, int *minutes)
{
	if (!s)
		return -1;
	size_t n = strlen(s);
	/* "9:30" and "09:30" both; the minutes always have two digits. */
	if ((n != 4 && n != 5) || s[n - 3] != ':')
		return -1;
	int h = read_digits(s, (int)n - 3), m = read_digits(s + n - 2, 2);
	if (h < 0 || m < 0 || h > 23 || m > 59)
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

int when_parse_day(const char *s, ymd_t today, ymd_t *out)
{
	static const char *const names[7] = { "sunday",   "monday", "tuesday", "wednesday",
					      "thursday", "friday", "saturday" };
	if (!s || !when_date_valid(today))
		return -1;
	if (strcasecmp(s, "today") == 0) {
		*out = today;
		return 0;
	}
	if (strcasecmp(s, "tomorrow") == 0) {
		*out = when_add_days(today, 1);
		return 0;
	}
	for (int w = 0; w < 7; w++) {
		if (strcasecmp(s, names[w]) != 0 &&
		    !(strlen(s) == 3 && strncasecmp(s, names[w], 3) == 0))
			continue;
		/* The next such day, today excluded: "friday" said on a Friday
		 * means a week later. */
		int ahead = (w - when_weekday(today) + 7) % 7;
		*out = when_add_days(today, ahead == 0 ? 7 : ahead);
		return 0;
	}
	return when_parse_date(s, out);
}
