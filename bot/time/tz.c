/* Time zones by name from the system tz database, without touching the
 * process's TZ: we read the zone's TZif file (RFC 8536) and its POSIX TZ
 * footer (for instants past the table) into an immutable struct tz.
 *
 * Why a TZif reader instead of setenv("TZ") + tzset() + localtime_r() under a
 * mutex: setenv() races with getenv() in every other thread (libcurl's
 * resolver threads and glibc's own resolver read the environment), which
 * POSIX leaves undefined and glibc can crash on; and no Debian C library
 * offers zone-by-name conversion without the process TZ. A parsed zone is
 * read-only after tz_open(), so any thread may use it without locking. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

/* Bounds against corrupt or hostile files; real zones are far below these. */
#define TZ_MAX_FILE  (256 * 1024)
#define TZ_MAX_TIMES 4096
#define TZ_MAX_TYPES 256
#define TZ_MAX_CHARS 512
#define TZ_ABBR_MAX  16

struct tz_type {
	int32_t off; /* seconds east of UTC */
	bool isdst;
	const char *abbr; /* points into tz->chars or tz->rule's names */
};

/* A POSIX TZ rule date: Jn (julian, no Feb 29), n (zero-based, with Feb 29)
 * or Mm.w.d (day d of week w of month m; w = 5 is the last). */
struct tz_rdate {
	char kind; /* 'J', 'D' or 'M' */
	int a, b, c;
	int32_t secs; /* local time of day of the change, may be < 0 or > 24h */
};

struct tz_rule {
	bool present;
	bool has_dst;
	struct tz_type std, dst;
	struct tz_rdate start, end; /* start of DST (in std time), end (in dst time) */
	char std_name[TZ_ABBR_MAX], dst_name[TZ_ABBR_MAX];
};

struct tz {
	char *name;
	int64_t *times; /* transition instants, ascending */
	uint8_t *idx;   /* type index after each transition */
	size_t n_times;
	struct tz_type *types;
	size_t n_types;
	char *chars;
	struct tz_rule rule;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---- POSIX TZ strings (the TZif footer) ---- */

static const char *parse_name(const char *s, char *out)
{
	size_t n = 0;
	if (*s == '<') {
		s++;
		while (*s && *s != '>') {
			if (n + 1 >= TZ_ABBR_MAX)
				return NULL;
			out[n++] = *s++;
		}
		if (*s != '>')
			return NULL;
		s++;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
			if (n + 1 >= TZ_ABBR_MAX)
				return NULL;
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 extension). */
static const char *parse_hms(const char *s, int32_t *out)
{
	int sign = 1, part[3] = { 0, 0, 0 };
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*s != ':')
				break;
			s++;
		}
		if (*s < '0' || *s > '9')
			return NULL;
		int v = 0;
		while (*s >= '0' && *s <= '9' && v < 1000)
			v = v * 10 + (*s++ - '0');
		part[i] = v;
	}
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *parse_num(const char *s, int *out, int lo, int hi)
{
	int v = 0;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9' && v <= hi)
		v = v * 10 + (*s++ - '0');
	if (v < lo || v > hi)
		return NULL;
	*out = v;
	return s;
}

static const char *parse_rdate(const char *s, struct tz_rdate *d)
{
	if (*s == 'J') {
		d->kind = 'J';
		s = parse_num(s + 1, &d->a, 1, 365);
	} else if (*s == 'M') {
		d->kind = 'M';
		if (!(s = parse_num(s + 1, &d->a, 1, 12)) || *s++ != '.')
			return NULL;
		if (!(s = parse_num(s, &d->b, 1, 5)) || *s++ != '.')
			return NULL;
		s = parse_num(s, &d->c, 0, 6);
	} else {
		d->kind = 'D';
		s = parse_num(s, &d->a, 0, 365);
	}
	if (!s)
		return NULL;
	d->secs = 2 * 3600;
	if (*s == '/')
		s = parse_hms(s + 1, &d->secs);
	return s;
}

/* Parses a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0" or "<+09>-9".
 * Note POSIX offsets are west-positive; ours are east-positive. */
static int parse_rule(const char *s, struct tz_rule *r)
{
	int32_t off;
	memset(r, 0, sizeof(*r));
	if (!(s = parse_name(s, r->std_name)) || !(s = parse_hms(s, &off)))
		return -1;
	r->std = (struct tz_type){ .off = -off, .isdst = false, .abbr = r->std_name };
	if (*s == '\0')
		goto done;
	if (!(s = parse_name(s, r->dst_name)))
		return -1;
	r->has_dst = true;
	off = -r->std.off - 3600;
	if (*s && *s != ',' && !(s = parse_hms(s, &off)))
		return -1;
	r->dst = (struct tz_type){ .off = -off, .isdst = true, .abbr = r->dst_name };
	if (*s == '\0') {
		/* POSIX leaves the default rules to the implementation; glibc
		 * uses the US rules, and so do we. */
		parse_rdate("M3.2.0", &r->start);
		parse_rdate("M11.1.0", &r->end);
		goto done;
	}
	if (*s++ != ',' || !(s = parse_rdate(s, &r->start)) || *s++ != ',' ||
	    !(s = parse_rdate(s, &r->end)) || *s != '\0')
		return -1;
done:
	r->present = true;
	return 0;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d; timegm() is thread-safe and TZ-free. */
static int64_t day_number(int64_t y, int m, int d)
{
	struct tm tm = { .tm_year = (int)(y - 1900), .tm_mon = m - 1, .tm_mday = d };
	return (int64_t)timegm(&tm) / 86400;
}

/* The local (wall-clock) instant, in seconds since the epoch as if local time
 * were UTC, at which rule date d happens in year y. */
static int64_t rdate_wall(const struct tz_rdate *d, int64_t y)
{
	int64_t day;
	if (d->kind == 'J') {
		day = day_number(y, 1, 1) + d->a - 1;
		if (leap(y) && d->a >= 60)
			day++;
	} else if (d->kind == 'D') {
		day = day_number(y, 1, 1) + d->a;
	} else {
		int64_t first = day_number(y, d->a, 1);
		int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		int64_t dd = first + (d->c - wd + 7) % 7 + (d->b - 1) * 7;
		static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		int len = mdays[d->a - 1] + (d->a == 2 && leap(y));
		while (dd >= first + len)
			dd -= 7;
		day = dd;
	}
	return day * 86400 + d->secs;
}

/* The two rule transitions of year y as UTC instants. */
static void rule_year(const struct tz_rule *r, int64_t y, int64_t *start, int64_t *end)
{
	*start = rdate_wall(&r->start, y) - r->std.off;
	*end = rdate_wall(&r->end, y) - r->dst.off;
}

static int64_t year_of(int64_t t)
{
	/* Civil year of a day number (Howard Hinnant's days_from_civil inverse,
	 * year only); avoids gmtime_r's int-year limits on odd inputs. */
	int64_t z = (t >= 0 ? t / 86400 : (t - 86399) / 86400) + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static const struct tz_type *rule_type(const struct tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return &r->std;
	int64_t s, e;
	rule_year(r, year_of(t + r->std.off), &s, &e);
	bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
	return dst ? &r->dst : &r->std;
}

/* ---- TZif ---- */

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = -1;
	if (!f)
		return -1;
	buf = malloc(TZ_MAX_FILE);
	if (!buf)
		goto out;
	n = fread(buf, 1, TZ_MAX_FILE, f);
	if (ferror(f) || n == TZ_MAX_FILE)
		goto out;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chr;
};

static int read_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chr = be32(p + 40);
	if (c->time > TZ_MAX_TIMES || c->type == 0 || c->type > TZ_MAX_TYPES ||
	    c->chr > TZ_MAX_CHARS || c->leap > 1000 || c->isut > c->type || c->isstd > c->type)
		return -1;
	return 0;
}

static size_t block_len(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chr + c->leap * (tsize + 4) + c->isstd +
	       c->isut;
}

/* Fills tz from the file's contents. Leap-second records ("right/" zones) are
 * skipped: envbot's clock is POSIX time. */
static int parse_tzif(struct tz *tz, const unsigned char *p, size_t len)
{
	struct tzif_counts c;
	size_t tsize = 4;
	if (read_header(p, len, &c) != 0)
		return -1;
	if (p[4] >= '2') {
		size_t skip = 44 + block_len(&c, 4);
		if (skip > len)
			return -1;
		p += skip;
		len -= skip;
		if (read_header(p, len, &c) != 0)
			return -1;
		tsize = 8;
	}
	size_t need = 44 + block_len(&c, tsize);
	if (need > len)
		return -1;
	const unsigned char *q = p + 44;
	tz->n_times = c.time;
	tz->n_types = c.type;
	tz->times = calloc(c.time + 1, sizeof(*tz->times));
	tz->idx = calloc(c.time + 1, 1);
	tz->types = calloc(c.type, sizeof(*tz->types));
	tz->chars = calloc(c.chr + 1, 1);
	if (!tz->times || !tz->idx || !tz->types || !tz->chars)
		return -1;
	for (size_t i = 0; i < c.time; i++, q += tsize) {
		tz->times[i] = tsize == 8 ? be64(q) : (int32_t)be32(q);
		if (i > 0 && tz->times[i] <= tz->times[i - 1])
			return -1;
	}
	for (size_t i = 0; i < c.time; i++, q++) {
		if (*q >= c.type)
			return -1;
		tz->idx[i] = *q;
	}
	const unsigned char *types = q;
	q += c.type * 6;
	memcpy(tz->chars, q, c.chr);
	for (size_t i = 0; i < c.type; i++) {
		const unsigned char *t = types + i * 6;
		int32_t off = (int32_t)be32(t);
		if (off < -25 * 3600 || off > 26 * 3600 || t[5] >= c.chr)
			return -1;
		tz->types[i] = (struct tz_type){ .off = off,
						 .isdst = t[4] != 0,
						 .abbr = tz->chars + t[5] };
	}
	if (tsize == 8 && len > need && p[need] == '\n') {
		const char *f = (const char *)p + need + 1;
		const char *nl = memchr(f, '\n', len - need - 1);
		char buf[128];
		size_t n = nl ? (size_t)(nl - f) : 0;
		if (nl && n > 0 && n < sizeof(buf)) {
			memcpy(buf, f, n);
			buf[n] = '\0';
			/* An unparsable footer is ignored: the table still
			 * answers for the instants it covers. */
			if (parse_rule(buf, &tz->rule) != 0)
				memset(&tz->rule, 0, sizeof(tz->rule));
		}
	}
	return 0;
}

static bool name_ok(const char *name)
{
	if (!name || !*name || name[0] == '/' || strlen(name) > 200)
		return false;
	for (const char *p = name; *p; p++) {
		bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' || *p == '-' ||
			  *p == '+' || *p == '.';
		if (!ok)
			return false;
	}
	return strstr(name, "..") == NULL;
}

struct tz *tz_open(const char *name)
{
	struct tz *tz = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	char path[512];
	const char *dir = getenv("TZDIR");

	if (!name_ok(name))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	if (read_file(path, &data, &len) != 0)
		goto fail;
	tz = calloc(1, sizeof(*tz));
	if (!tz || !(tz->name = strdup(name)))
		goto fail;
	if (parse_tzif(tz, data, len) != 0)
		goto fail;
	free(data);
	return tz;
fail:
	free(data);
	tz_destroy(tz);
	return NULL;
}

void tz_destroy(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->times);
	free(tz->idx);
	free(tz->types);
	free(tz->chars);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz->name;
}

static const struct tz_type *type_at(const struct tz *tz, int64_t t)
{
	if (tz->n_times == 0 || t < tz->times[0]) {
		if (tz->n_times == 0 && tz->rule.present)
			return rule_type(&tz->rule, t);
		return &tz->types[0];
	}
	if (t >= tz->times[tz->n_times - 1] && tz->rule.present)
		return rule_type(&tz->rule, t);
	size_t lo = 0, hi = tz->n_times; /* times[lo] <= t < times[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &tz->types[tz->idx[lo]];
}

/* The first transition strictly after t, with the type in effect from it.
 * Returns false when there is none. */
static bool next_change(const struct tz *tz, int64_t t, int64_t *at, const struct tz_type **ty)
{
	size_t lo = 0, hi = tz->n_times; /* first index with times[i] > t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->times[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tz->n_times) {
		*at = tz->times[lo];
		*ty = &tz->types[tz->idx[lo]];
		return true;
	}
	if (!tz->rule.present || !tz->rule.has_dst)
		return false;
	int64_t floor_t = tz->n_times ? tz->times[tz->n_times - 1] : INT64_MIN;
	if (t < floor_t)
		t = floor_t;
	int64_t best = INT64_MAX;
	for (int64_t y = year_of(t) - 1; y <= year_of(t) + 1; y++) {
		int64_t s, e;
		rule_year(&tz->rule, y, &s, &e);
		if (s > t && s < best) {
			best = s;
			*ty = &tz->rule.dst;
		}
		if (e > t && e < best) {
			best = e;
			*ty = &tz->rule.std;
		}
	}
	*at = best;
	return best != INT64_MAX;
}

void tz_local(const struct tz *tz, time_t t, struct tm *out)
{
	const struct tz_type *ty = type_at(tz, t);
	time_t wall = t + ty->off;
	gmtime_r(&wall, out);
	out->tm_isdst = ty->isdst;
	out->tm_gmtoff = ty->off;
	out->tm_zone = ty->abbr;
}

int32_t tz_offset(const struct tz *tz, time_t t)
{
	return type_at(tz, t)->off;
}

/* The zone's offsets in effect around `wall`: UTC offsets are within
 * -25h..+26h, so every instant showing that wall time lies in this window. */
#define TZ_WINDOW   (27 * 3600)
#define TZ_MAX_SEGS 8

struct seg {
	int64_t start; /* first instant of the segment (window start for seg 0) */
	int32_t off;
};

static size_t segments(const struct tz *tz, int64_t a, int64_t b, struct seg *out)
{
	size_t n = 0;
	out[n++] = (struct seg){ .start = a, .off = type_at(tz, a)->off };
	int64_t t = a, at;
	const struct tz_type *ty;
	while (n < TZ_MAX_SEGS && next_change(tz, t, &at, &ty) && at <= b) {
		out[n++] = (struct seg){ .start = at, .off = ty->off };
		t = at;
	}
	return n;
}

time_t tz_resolve(const struct tz *tz, int64_t wall)
{
	struct seg s[TZ_MAX_SEGS];
	size_t n = segments(tz, wall - TZ_WINDOW, wall + TZ_WINDOW, s);
	/* The first segment whose own clock shows `wall` gives the first
	 * occurrence; segments are in time order. */
	for (size_t i = 0; i < n; i++) {
		int64_t t = wall - s[i].off;
		int64_t end = i + 1 < n ? s[i + 1].start : INT64_MAX;
		if (t >= s[i].start && t < end)
			return (time_t)t;
	}
	/* A gap: the first instant whose clock shows a later time. */
	for (size_t i = 1; i < n; i++)
		if (s[i].start + s[i].off > wall)
			return (time_t)s[i].start;
	return (time_t)(wall - s[n - 1].off); /* not reached with sane data */
}

int64_t tz_last_wall(const struct tz *tz, time_t at)
{
	struct seg s[TZ_MAX_SEGS];
	size_t n = segments(tz, (int64_t)at - TZ_WINDOW, at, s);
	int64_t best = (int64_t)at + s[n - 1].off;
	/* After a fall-back, the clock showed later times before the change. */
	for (size_t i = 1; i < n; i++) {
		int64_t before = s[i].start - 1 + s[i - 1].off;
		if (before > best)
			best = before;
	}
	return best;
}
