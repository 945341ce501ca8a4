/* The schedule engine: 5-field cron expressions (parse, describe in words)
 * and their fire times in an IANA zone (tz.c). Fire times are found by
 * walking matching local wall-clock minutes and resolving each to an instant
 * with tz_resolve(), whose gap/repeat rules are cron's (see cron.h); since
 * that resolution is monotonic, the first matching wall time that resolves
 * past `after` is the next fire, and no fire is lost or doubled. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

/* Long enough for "0 12 29 2 *" across a century year without Feb 29
 * (2096 -> 2104); an expression that never fires ("0 0 31 2 *") costs a
 * few hundred steps to give up. */
#define CRON_HORIZON ((int64_t)9 * 366 * 86400)

struct cron_field {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] is value lo + i */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
					   "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const wday_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

static const struct cron_field fields[5] = {
	{ .name = "minute", .lo = 0, .hi = 59 },
	{ .name = "hour", .lo = 0, .hi = 23 },
	{ .name = "day-of-month", .lo = 1, .hi = 31 },
	{ .name = "month", .lo = 1, .hi = 12, .names = month_names },
	/* 7 is accepted as Sunday and folded to 0 below. */
	{ .name = "day-of-week", .lo = 0, .hi = 7, .names = wday_names },
};

static void set_err(char *err, size_t errlen, int field, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field >= 0)
		snprintf(err, errlen, "field %d (%s): %s", field + 1, fields[field].name, msg);
	else
		snprintf(err, errlen, "%s", msg);
}

/* One value: a number or (where the field has them) a 3-letter name. */
static int parse_value(const char **sp, int f, int *out, char *err, size_t errlen)
{
	const char *s = *sp;
	const struct cron_field *fd = &fields[f];
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < fd->lo || v > fd->hi) {
			set_err(err, errlen, f, "%ld is out of range %d-%d", v, fd->lo,
				f == 4 ? 6 : fd->hi);
			return -1;
		}
		*out = (int)v;
		*sp = s;
		return 0;
	}
	if (isalpha((unsigned char)*s) && fd->names) {
		char word[16];
		size_t n = 0;
		while (isalpha((unsigned char)*s) && n + 1 < sizeof(word))
			word[n++] = (char)toupper((unsigned char)*s++);
		word[n] = '\0';
		for (int i = 0; fd->names[i]; i++) {
			if (strcmp(word, fd->names[i]) == 0 && !isalpha((unsigned char)*s)) {
				*out = fd->lo + i;
				*sp = s;
				return 0;
			}
		}
		set_err(err, errlen, f, "unknown name \"%s\" (expected %s)", word,
			f == 3 ? "JAN-DEC" : "SUN-SAT");
		return -1;
	}
	if (*s == '\0' || *s == ',')
		set_err(err, errlen, f, "empty list item");
	else
		set_err(err, errlen, f, "unexpected \"%c\"", *s);
	return -1;
}

/* One comma-separated item: "*", "v", "a-b", each optionally "/step". */
static int parse_item(const char **sp, int f, uint64_t *bits, char *err, size_t errlen)
{
	const struct cron_field *fd = &fields[f];
	const char *s = *sp;
	int a, b, step = 1;
	bool star = false, range = false;
	if (*s == '*') {
		a = fd->lo;
		b = f == 4 ? 6 : fd->hi;
		star = true;
		s++;
	} else {
		if (parse_value(&s, f, &a, err, errlen) != 0)
			return -1;
		b = a;
		if (*s == '-') {
			s++;
			if (parse_value(&s, f, &b, err, errlen) != 0)
				return -1;
			range = true;
			if (b < a) {
				set_err(err, errlen, f, "range %d-%d goes backwards", a, b);
				return -1;
			}
		}
	}
	if (*s == '/') {
		long v = 0;
		s++;
		if (!isdigit((unsigned char)*s)) {
			set_err(err, errlen, f, "step needs a number after \"/\"");
			return -1;
		}
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < 1 || v > fd->hi) {
			set_err(err, errlen, f, "step %ld is out of range 1-%d", v, fd->hi);
			return -1;
		}
		step = (int)v;
		/* "5/15" means 5-max/15, as in Vixie cron. */
		if (!star && !range)
			b = f == 4 ? 6 : fd->hi;
	}
	if (*s != '\0' && *s != ',') {
		set_err(err, errlen, f, "unexpected \"%c\"", *s);
		return -1;
	}
	for (int v = a; v <= b; v += step)
		*bits |= (uint64_t)1 << (f == 4 && v == 7 ? 0 : v);
	*sp = s;
	return 0;
}

static int parse_field(const char *text, int f, uint64_t *bits, char *err, size_t errlen)
{
	const char *s = text;
	*bits = 0;
	for (;;) {
		if (parse_item(&s, f, bits, err, errlen) != 0)
			return -1;
		if (*s == '\0')
			return 0;
		s++; /* ',' */
	}
}

int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
	char buf[256];
	char *tok[6];
	int n = 0;
	uint64_t bits[5];

	if (!expr || strlen(expr) >= sizeof(buf)) {
		set_err(err, errlen, -1, "expression is missing or too long");
		return -1;
	}
	strcpy(buf, expr);
	for (char *p = buf; *p;) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (n == 6)
			break;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	if (n != 5) {
		set_err(err, errlen, -1,
			"expected 5 fields (minute hour day-of-month month day-of-week), got %s%d",
			n == 6 ? "more than " : "", n == 6 ? 5 : n);
		return -1;
	}
	for (int f = 0; f < 5; f++)
		if (parse_field(tok[f], f, &bits[f], err, errlen) != 0)
			return -1;
	memset(out, 0, sizeof(*out));
	out->minutes = bits[0];
	out->hours = (uint32_t)bits[1];
	out->mdays = (uint32_t)bits[2];
	out->months = (uint16_t)bits[3];
	out->wdays = (uint8_t)bits[4];
	/* Vixie cron's rule: a day field that starts with "*" does not take
	 * part in the OR, even with a step. */
	out->mday_star = tok[2][0] == '*';
	out->wday_star = tok[4][0] == '*';
	return 0;
}

/* ---- words ---- */

struct sbuf {
	char *p;
	size_t len, used;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->used >= b->len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used += (size_t)n;
	if (b->used >= b->len)
		b->used = b->len - 1;
}

static const char *const wday_words[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_words[] = { "",    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int popcount64(uint64_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

static int lowest(uint64_t v)
{
	int i = 0;
	while (!(v & 1)) {
		v >>= 1;
		i++;
	}
	return i;
}

/* "1-5", "0,30", "Sat,Sun": runs of 3 or more become ranges. order lists
 * the values in display order (weekdays start on Monday). */
static void sb_list(struct sbuf *b, uint64_t bits, const int *order, int n,
		    const char *const *words)
{
	bool first = true;
	for (int i = 0; i < n;) {
		if (!(bits >> order[i] & 1)) {
			i++;
			continue;
		}
		int j = i;
		while (j + 1 < n && (bits >> order[j + 1] & 1))
			j++;
		int run = j - i + 1;
		for (int k = i; k <= j; k++) {
			if (run >= 3 && k > i && k < j)
				continue;
			if (!first)
				sb_add(b, run >= 3 && k == j ? "-" : ",");
			first = false;
			if (words)
				sb_add(b, "%s", words[order[k]]);
			else
				sb_add(b, "%d", order[k]);
		}
		i = j + 1;
	}
}

static void describe_time(struct sbuf *b, const struct cron *c)
{
	int nm = popcount64(c->minutes), nh = popcount64(c->hours);
	int seq[60];
	for (int i = 0; i < 60; i++)
		seq[i] = i;
	if (nm == 1 && nh <= 6) {
		int m = lowest(c->minutes);
		sb_add(b, "at ");
		int k = 0;
		for (int h = 0; h < 24; h++) {
			if (!(c->hours >> h & 1))
				continue;
			k++;
			sb_add(b, "%s%02d:%02d", k == 1 ? "" : k == nh ? " and " : ", ", h, m);
		}
		return;
	}
	if (nm == 60 && nh == 24) {
		sb_add(b, "every minute");
		return;
	}
	int step = 0;
	if (nm > 1 && (c->minutes & 1)) {
		/* A regular step from :00 ("*\/15")? */
		int s = lowest(c->minutes >> 1) + 1;
		uint64_t want = 0;
		for (int m = 0; m < 60; m += s)
			want |= (uint64_t)1 << m;
		if (want == c->minutes && 60 % s == 0)
			step = s;
	}
	if (step)
		sb_add(b, "every %d minutes", step);
	else if (nm == 1)
		sb_add(b, "at minute %d", lowest(c->minutes));
	else {
		sb_add(b, "at minutes ");
		sb_list(b, c->minutes, seq, 60, NULL);
	}
	if (nh < 24) {
		sb_add(b, " of hour%s ", nh > 1 ? "s" : "");
		sb_list(b, c->hours, seq, 24, NULL);
	} else if (nm == 1 && !step) {
		sb_add(b, " of every hour");
	}
}

void cron_describe(const char *expr, char *buf, size_t len)
{
	struct cron c;
	char err[160];
	struct sbuf b = { .p = buf, .len = len, .used = 0 };
	static const int wd_order[] = { 1, 2, 3, 4, 5, 6, 0 };
	static const int md_order[] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (cron_parse(expr, &c, err, sizeof(err)) != 0) {
		sb_add(&b, "invalid: %s", err);
		return;
	}
	describe_time(&b, &c);
	bool all_md = c.mdays == 0xfffffffeu, all_wd = c.wdays == 0x7f;
	if (c.mday_star && c.wday_star && all_md && all_wd) {
		/* "every 15 minutes" needs no "every day"; "at 09:00" does. */
		if (c.months == 0x1ffe && popcount64(c.minutes) == 1 && popcount64(c.hours) <= 6)
			sb_add(&b, " every day");
	} else {
		bool md = !(c.mday_star && all_md), wd = !(c.wday_star && all_wd);
		/* With one day field "*", only the other restricts (AND). */
		if (md) {
			sb_add(&b, " on day ");
			sb_list(&b, c.mdays, md_order, 32, NULL);
			sb_add(&b, " of the month");
		}
		if (wd) {
			sb_add(&b,
			       md ? (c.mday_star || c.wday_star ? " if a " : " or on ") : " on ");
			sb_list(&b, c.wdays, wd_order, 7, wday_words);
		}
	}
	if (c.months != 0x1ffe) {
		static const int mo_order[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
		sb_add(&b, " in ");
		sb_list(&b, c.months, mo_order, 13, month_words);
	}
}

/* ---- fire times ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
	bool md = c->mdays >> tm->tm_mday & 1, wd = c->wdays >> tm->tm_wday & 1;
	if (c->mday_star || c->wday_star)
		return md && wd;
	return md || wd;
}

static int64_t wall_of(int y, int mon, int d, int h, int m)
{
	struct tm tm = { .tm_year = y, .tm_mon = mon, .tm_mday = d, .tm_hour = h, .tm_min = m };
	return (int64_t)timegm(&tm);
}

/* The first matching wall minute at or after `wall` (minute-aligned), or -1
 * past `limit`. Wall times are seconds since the epoch as if local were UTC,
 * so gmtime_r()/timegm() do the calendar without any zone. */
static int next_wall(const struct cron *c, int64_t wall, int64_t limit, int64_t *out)
{
	struct tm tm;
	while (wall <= limit) {
		time_t w = (time_t)wall;
		gmtime_r(&w, &tm);
		if (!(c->months >> (tm.tm_mon + 1) & 1)) {
			wall = wall_of(tm.tm_year, tm.tm_mon + 1, 1, 0, 0);
			continue;
		}
		if (!day_matches(c, &tm)) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday + 1, 0, 0);
			continue;
		}
		uint32_t hrs = c->hours >> tm.tm_hour;
		if (!hrs) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday + 1, 0, 0);
			continue;
		}
		if (!(hrs & 1)) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour + lowest(hrs),
				       0);
			continue;
		}
		uint64_t mins = c->minutes >> tm.tm_min;
		if (!mins) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour + 1, 0);
			continue;
		}
		*out = wall + (int64_t)lowest(mins) * 60;
		return 0;
	}
	return -1;
}

static int highest(uint64_t v)
{
	int i = 63;
	while (!(v >> i & 1))
		i--;
	return i;
}

/* The last matching wall minute at or before `wall`, or -1 before `limit`. */
static int prev_wall(const struct cron *c, int64_t wall, int64_t limit, int64_t *out)
{
	struct tm tm;
	while (wall >= limit) {
		time_t w = (time_t)wall;
		gmtime_r(&w, &tm);
		if (!(c->months >> (tm.tm_mon + 1) & 1)) {
			wall = wall_of(tm.tm_year, tm.tm_mon, 1, 0, 0) - 60;
			continue;
		}
		if (!day_matches(c, &tm)) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0) - 60;
			continue;
		}
		uint32_t hrs = c->hours & (uint32_t)((2ull << tm.tm_hour) - 1);
		if (!hrs) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0) - 60;
			continue;
		}
		if (highest(hrs) != tm.tm_hour) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, highest(hrs), 59);
			continue;
		}
		uint64_t mins = c->minutes & ((2ull << tm.tm_min) - 1);
		if (!mins) {
			wall = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, 0) - 60;
			continue;
		}
		*out = wall_of(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, highest(mins));
		return 0;
	}
	return -1;
}

int cron_next(const struct cron *c, const struct tz *tz, time_t after, time_t *out)
{
	/* Every wall time before after's own resolves at or before `after`
	 * (tz_resolve is monotonic), so the walk can start there. */
	int64_t w = floor_div((int64_t)after + tz_offset(tz, after), 60) * 60;
	int64_t limit = w + CRON_HORIZON, l;
	while (next_wall(c, w, limit, &l) == 0) {
		time_t t = tz_resolve(tz, l);
		if (t > after) {
			*out = t;
			return 0;
		}
		w = l + 60;
	}
	return -1;
}

int cron_prev(const struct cron *c, const struct tz *tz, time_t at, time_t *out)
{
	/* Wall times later than any the clock has shown by `at` resolve after
	 * it; just after a fall-back that is later than at's own wall time. */
	int64_t w = floor_div(tz_last_wall(tz, at), 60) * 60;
	int64_t limit = w - CRON_HORIZON, l;
	while (prev_wall(c, w, limit, &l) == 0) {
		time_t t = tz_resolve(tz, l);
		if (t <= at) {
			*out = t;
			return 0;
		}
		w = l - 60;
	}
	return -1;
}
