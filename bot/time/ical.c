/* Holiday calendars on libical (ical.h says what a covered date is). The text
 * goes to libical's parser one unfolded content line at a time, so that a bad
 * line is reported by number and the structure (BEGIN/END nesting, VCALENDAR
 * at the top), which libical accepts however broken, is checked here. Events
 * are expanded with libical's recurrence iterator under a work budget,
 * because one call of that iterator can walk centuries. */
#include <libical/ical.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/array.h"
#include "ical.h"

#define DAY 86400
/* Deeper nesting is refused: libical frees a component tree recursively. */
#define MAX_DEPTH 16
#define NAME_LEN  48
/* Work units for one calendar: one per occurrence the iterator returns, one
 * per day marked, and, charged before a rule is expanded, one per FREQ period
 * the iterator may walk inside a single call when its BY parts rarely match.
 * Well under a second of libical; a real holiday feed needs a few hundred. */
#define MAX_STEPS 200000

/* What one day of the range holds so far. */
struct slot {
	bool set;
	int64_t start;       /* start of the covering occurrence, as written */
	const char *summary; /* borrowed from the component tree */
};

struct ctx {
	int64_t day0, day1; /* the range, in days since 1970-01-01 */
	struct slot *slots; /* day1 - day0 + 1 of them */
	int64_t steps;      /* left of MAX_STEPS */
	char *err;
	size_t errlen;
	/* the event being expanded, for messages */
	int ev_line;
	const char *ev_summary;
};

/* The parsed text: its top-level VCALENDARs (owned) and the line of the
 * BEGIN of each of their children, in the order libical keeps them. */
struct tree {
	icalcomponent **cals;
	size_t ncals, capcals;
	int *lines;
	size_t nlines, caplines;
};

struct keys {
	int64_t *v;
	size_t n, cap;
};

struct props {
	icalproperty **v;
	size_t n, cap;
};

/* One VEVENT, its properties gathered once: libical has one property cursor
 * per component, which every lookup moves, so nothing walks it afterwards. */
struct event {
	icalcomponent *comp;
	icalproperty *dtstart, *dtend, *duration, *status, *summary;
	int n_dtstart, n_dtend, n_duration, n_exrule;
	struct props rrules, rdates, exdates;
	struct icaltimetype start; /* DTSTART, with its zone when known */
	int64_t dur;               /* seconds, on the event's clock */
	struct keys ex_days;       /* EXDATEs that remove a whole day */
	struct keys ex_secs;       /* EXDATEs that remove one start time */
	const char *text;          /* SUMMARY or NULL */
};

/* Copies src into dst[size] (size > 0), cut before a UTF-8 sequence that
 * would not fit, control characters as spaces: summaries and reasons both
 * end up in one-line chat replies. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size) : 0;
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memmove(dst, src, n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

static void say(struct ctx *cx, const char *fmt, va_list ap)
{
	char msg[512];
	if (!cx->err || cx->errlen == 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	copy_text(cx->err, cx->errlen, msg);
}

__attribute__((format(printf, 2, 3))) static enum bot_rc fail(struct ctx *cx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(cx, fmt, ap);
	va_end(ap);
	return BOT_EPARSE;
}

/* fail() with the event named: "line 12: event \"Seollal\": ...". */
__attribute__((format(printf, 2, 3))) static enum bot_rc event_fail(struct ctx *cx, const char *fmt,
								    ...)
{
	char msg[256], where[24] = "", name[44] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cx->ev_line > 0)
		snprintf(where, sizeof(where), "line %d: ", cx->ev_line);
	if (cx->ev_summary)
		copy_text(name, sizeof(name), cx->ev_summary);
	return fail(cx, "%sevent%s%s%s: %s", where, *name ? " \"" : "", name, *name ? "\"" : "",
		    msg);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- times as written ---- */

/* A real date (and time of day), as libical accepts 2027-02-30 and 25:00. */
static bool time_ok(struct icaltimetype t)
{
	if (icaltime_is_null_time(t) || t.year < 1 || t.year > 9999 || t.month < 1 ||
	    t.month > 12 || t.day < 1 || t.day > 31)
		return false;
	if (!when_date_valid((ymd_t)(t.year * 10000 + t.month * 100 + t.day)))
		return false;
	return t.is_date || (t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 &&
			     t.second >= 0 && t.second <= 60);
}

/* Seconds from 1970-01-01T00:00 on t's own clock (a date is its midnight).
 * Only for times time_ok() accepts. */
static int64_t wall(struct icaltimetype t)
{
	int64_t s = when_days_from_civil((ymd_t)(t.year * 10000 + t.month * 100 + t.day)) * DAY;
	if (!t.is_date)
		s += t.hour * 3600 + t.minute * 60 + t.second;
	return s;
}

/* The time s seconds from 1970 on like's clock, with like's zone and type. */
static struct icaltimetype at_wall(int64_t s, struct icaltimetype like)
{
	int64_t days = floor_div(s, DAY), sec = s - days * DAY;
	ymd_t d = when_civil_from_days(days);
	like.year = d / 10000;
	like.month = d / 100 % 100;
	like.day = d % 100;
	if (!like.is_date) {
		like.hour = (int)(sec / 3600);
		like.minute = (int)(sec / 60 % 60);
		like.second = (int)(sec % 60);
	}
	return like;
}

/* A TZID worth handing to libical: it looks the name up in the system's
 * zoneinfo by opening <zoneinfo>/<name>, so only IANA-shaped names (no
 * "..", no leading "/") go there. libical's own prefix is dropped. */
static const char *zone_name(const char *tzid)
{
	static const char prefix[] = "/freeassociation.sourceforge.net/";
	if (strncmp(tzid, prefix, sizeof(prefix) - 1) == 0) {
		tzid += sizeof(prefix) - 1;
		if (strncmp(tzid, "Tzfile/", 7) == 0)
			tzid += 7;
	}
	size_t n =
		strspn(tzid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-");
	if (n == 0 || n > 64 || tzid[n] != '\0' || tzid[0] == '/')
		return NULL;
	return tzid;
}

/* t with the zone of p's TZID. Only the IANA zones libical loads from the
 * system are used, never a VTIMEZONE of the calendar: libical expands a
 * VTIMEZONE's rules without bound (FREQ=SECONDLY would never end), and dates
 * are read as written anyway. An unknown TZID leaves t floating. */
static struct icaltimetype zoned(struct icaltimetype t, icalproperty *p)
{
	icalparameter *tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	if (t.is_date || icaltime_is_utc(t) || !tp || !icalparameter_get_tzid(tp))
		return t;
	const char *name = zone_name(icalparameter_get_tzid(tp));
	icaltimezone *tz = name ? icaltimezone_get_builtin_timezone(name) : NULL;
	if (tz)
		t = icaltime_set_timezone(&t, tz);
	return t;
}

/* Whether p's value is of kind k. libical's typed getters read their union
 * member whatever the value holds (VALUE= may change it: RRULE;VALUE=TEXT
 * would be read as a rule), so every one is guarded by this. */
static bool value_is(icalproperty *p, icalvalue_kind k)
{
	icalvalue *v = icalproperty_get_value(p);
	return v && icalvalue_isa(v) == k;
}

/* The DATE or DATE-TIME value of p (null time for any other value). */
static struct icaltimetype prop_time(icalproperty *p)
{
	if (!value_is(p, ICAL_DATE_VALUE) && !value_is(p, ICAL_DATETIME_VALUE))
		return icaltime_null_time();
	return zoned(icalvalue_get_datetime(icalproperty_get_value(p)), p);
}

/* t on the clock of the event's DTSTART: converted when both zones are
 * known and differ, else as written. */
static struct icaltimetype in_frame(struct icaltimetype t, struct icaltimetype start)
{
	if (!t.is_date && !start.is_date && t.zone && start.zone && t.zone != start.zone)
		return icaltime_convert_to_zone(t, (icaltimezone *)start.zone);
	return t;
}

static int64_t duration_secs(struct icaldurationtype d)
{
	int64_t s = ((int64_t)d.weeks * 7 + d.days) * DAY + (int64_t)d.hours * 3600 +
		    (int64_t)d.minutes * 60 + d.seconds;
	return d.is_neg ? -s : s;
}

/* ---- the text, line by line ---- */

struct lines {
	const char *p, *end; /* what is left to read */
	int next;            /* the number of the physical line at p */
	char *buf;           /* the current content line, NUL-terminated */
	size_t cap;
};

/* Reads the next content line, unfolded (RFC 5545 3.1: a line break and one
 * space or tab continue the line), without its line break and trailing
 * white space, into ln->buf. Returns the number of its first physical line,
 * 0 at the end of the text, -1 when out of memory. */
static int next_line(struct lines *ln)
{
	if (ln->p >= ln->end)
		return 0;
	int first = ln->next;
	size_t len = 0;
	bool cont = false;
	do {
		const char *nl = memchr(ln->p, '\n', (size_t)(ln->end - ln->p));
		const char *stop = nl ? nl : ln->end, *s = cont ? ln->p + 1 : ln->p;
		size_t n = (size_t)(stop - s);
		if (n && s[n - 1] == '\r')
			n--;
		if (array_grow(&ln->buf, &ln->cap, len + n + 1, 1, 0) != 0)
			return -1;
		memcpy(ln->buf + len, s, n);
		len += n;
		ln->p = nl ? nl + 1 : ln->end;
		ln->next++;
		cont = true;
	} while (ln->p < ln->end && (*ln->p == ' ' || *ln->p == '\t'));
	while (len && strchr(" \t\r\n\v\f", ln->buf[len - 1]))
		len--;
	ln->buf[len] = '\0';
	return first;
}

enum line_kind { LINE_PROP, LINE_BEGIN, LINE_END };

/* Whether a content line opens or closes a component, decided like libical
 * does: on the name before the first ':' or ';' (not counting the first
 * column). *value is what follows the first ':' ("" if none). */
static enum line_kind kind_of(const char *s, const char **value)
{
	size_t n = *s ? 1 + strcspn(s + 1, ":;") : 0;
	const char *colon = *s ? strchr(s + 1, ':') : NULL;
	*value = colon ? colon + 1 : "";
	if (s[n] == '\0')
		return LINE_PROP;
	if (n == 5 && strncasecmp(s, "BEGIN", 5) == 0)
		return LINE_BEGIN;
	if (n == 3 && strncasecmp(s, "END", 3) == 0)
		return LINE_END;
	return LINE_PROP;
}

/* The text of the first X-LIC-ERROR property in c or below it. */
static const char *first_error(icalcomponent *c)
{
	icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	if (p)
		return value_is(p, ICAL_TEXT_VALUE) ? icalproperty_get_xlicerror(p) : "X-LIC-ERROR";
	for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
		const char *t = first_error(k);
		if (t)
			return t;
	}
	return NULL;
}

/* libical keeps the reason a line is bad as an X-LIC-ERROR inside the
 * component it is building, which its parser hands out only at the END:
 * parse the line alone inside an empty VEVENT to read it. Returns whether
 * libical found fault with the line; msg holds the reason either way. */
static bool line_message(char *line, char *msg, size_t size)
{
	char begin[] = "BEGIN:VEVENT", end[] = "END:VEVENT";
	icalparser *p = icalparser_new();
	const char *text = NULL;
	if (p) {
		icalparser_add_line(p, begin);
		icalparser_add_line(p, line);
		icalcomponent *c = icalparser_add_line(p, end);
		text = c ? first_error(c) : NULL;
		copy_text(msg, size, text ? text : "libical cannot parse this line");
		if (c)
			icalcomponent_free(c);
		icalparser_free(p);
	} else {
		copy_text(msg, size, "libical cannot parse this line");
	}
	return text != NULL;
}

/* The first property line of the text that libical finds fault with: for
 * the errors it records without saying so (a bad parameter name). Returns
 * its number, or 0. */
static int locate_error(const char *text, const char *end, char *msg, size_t size)
{
	struct lines ln = { .p = text, .end = end, .next = 1 };
	int no, found = 0;
	while (!found && (no = next_line(&ln)) > 0) {
		const char *value;
		if (*ln.buf && kind_of(ln.buf, &value) == LINE_PROP &&
		    line_message(ln.buf, msg, size))
			found = no;
	}
	free(ln.buf);
	return found;
}

/* Open components: their names (for the matching END) and the line of the
 * top-level one's BEGIN. */
struct nest {
	int depth, top_line;
	char names[MAX_DEPTH][NAME_LEN];
};

/* Tracks BEGIN and END before libical sees them: libical takes an END that
 * closes nothing or names another component without complaint. */
static enum bot_rc check_nesting(struct ctx *cx, struct nest *ns, struct tree *tr, const char *line,
				 int no)
{
	const char *value;
	char name[NAME_LEN];
	enum line_kind kind = kind_of(line, &value);
	copy_text(name, sizeof(name), value);
	if (ns->depth == 0 && kind != LINE_BEGIN)
		return fail(cx, "line %d: %s outside BEGIN:VCALENDAR ... END:VCALENDAR", no,
			    kind == LINE_END ? "END" : "content");
	if (kind == LINE_BEGIN) {
		if (ns->depth == MAX_DEPTH)
			return fail(cx, "line %d: components nested deeper than %d", no, MAX_DEPTH);
		if (ns->depth == 0)
			ns->top_line = no;
		if (ns->depth == 1) {
			if (array_grow(&tr->lines, &tr->caplines, tr->nlines + 1, sizeof(int), 0))
				return BOT_ENOMEM;
			tr->lines[tr->nlines++] = no;
		}
		memcpy(ns->names[ns->depth++], name, sizeof(name));
	} else if (kind == LINE_END) {
		if (strcasecmp(name, ns->names[ns->depth - 1]) != 0)
			return fail(cx, "line %d: END:%s does not close BEGIN:%s", no, name,
				    ns->names[ns->depth - 1]);
		ns->depth--;
	}
	return BOT_OK;
}

/* Keeps a finished top-level component, which must be a VCALENDAR. */
static enum bot_rc keep_top(struct ctx *cx, struct nest *ns, struct tree *tr, icalcomponent *c)
{
	if (icalcomponent_isa(c) != ICAL_VCALENDAR_COMPONENT) {
		icalcomponent_free(c);
		return fail(cx, "line %d: top-level component %s is not a VCALENDAR", ns->top_line,
			    ns->names[0]);
	}
	if (array_grow(&tr->cals, &tr->capcals, tr->ncals + 1, sizeof(*tr->cals), 0) != 0) {
		icalcomponent_free(c);
		return BOT_ENOMEM;
	}
	tr->cals[tr->ncals++] = c;
	return BOT_OK;
}

/* Feeds text[0..len) to libical one content line at a time and stops at the
 * first line it cannot parse. Fills tr; BOT_OK, BOT_EPARSE or BOT_ENOMEM. */
static enum bot_rc feed(struct ctx *cx, icalparser *parser, const char *text, size_t len,
			struct tree *tr)
{
	struct lines ln = { .p = text, .end = text + len, .next = 1 };
	struct nest ns = { 0 };
	enum bot_rc rc = BOT_OK;
	int no = 0;
	while (rc == BOT_OK && (no = next_line(&ln)) > 0) {
		if (*ln.buf == '\0')
			continue;
		rc = check_nesting(cx, &ns, tr, ln.buf, no);
		if (rc != BOT_OK)
			break;
		icalcomponent *c = icalparser_add_line(parser, ln.buf);
		if (icalparser_get_state(parser) == ICALPARSER_ERROR) {
			char msg[256];
			line_message(ln.buf, msg, sizeof(msg));
			rc = fail(cx, "line %d: %s", no, msg);
			if (c)
				icalcomponent_free(c);
		} else if (c) {
			rc = keep_top(cx, &ns, tr, c);
		}
	}
	if (rc == BOT_OK && no < 0)
		rc = BOT_ENOMEM;
	if (rc == BOT_OK && ns.depth > 0)
		rc = fail(cx, "line %d: the text ends inside BEGIN:%s (truncated?)", ln.next - 1,
			  ns.names[ns.depth - 1]);
	free(ln.buf);
	return rc;
}

static enum bot_rc parse_text(struct ctx *cx, const char *text, size_t len, struct tree *tr)
{
	const char *nul = len ? memchr(text, '\0', len) : NULL;
	if (nul) {
		int no = 1;
		for (const char *s = text; s < nul; s++)
			no += *s == '\n';
		return fail(cx, "line %d: NUL byte", no);
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	icalparser *parser = icalparser_new();
	if (!parser)
		return BOT_ENOMEM;
	enum bot_rc rc = feed(cx, parser, text, len, tr);
	icalparser_free(parser);
	if (rc == BOT_OK && tr->ncals == 0)
		rc = fail(cx, "no VCALENDAR");
	for (size_t i = 0; rc == BOT_OK && i < tr->ncals; i++) {
		const char *e = first_error(tr->cals[i]);
		char msg[256];
		if (!e)
			continue;
		int no = locate_error(text, text + len, msg, sizeof(msg));
		rc = no ? fail(cx, "line %d: %s", no, msg) : fail(cx, "%s", e);
	}
	return rc;
}

/* ---- events ---- */

static int push_prop(struct props *ps, icalproperty *p)
{
	if (array_grow(&ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v), 0) != 0)
		return -1;
	ps->v[ps->n++] = p;
	return 0;
}

static int push_key(struct keys *ks, int64_t k)
{
	if (array_grow(&ks->v, &ks->cap, ks->n + 1, sizeof(*ks->v), 0) != 0)
		return -1;
	ks->v[ks->n++] = k;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static bool has_key(const struct keys *ks, int64_t k)
{
	return ks->n && bsearch(&k, ks->v, ks->n, sizeof(*ks->v), cmp_key);
}

static void event_free(struct event *e)
{
	free(e->rrules.v);
	free(e->rdates.v);
	free(e->exdates.v);
	free(e->ex_days.v);
	free(e->ex_secs.v);
}

/* Gathers the properties of e->comp in one walk of its cursor. */
static int event_scan(struct event *e)
{
	for (icalproperty *p = icalcomponent_get_first_property(e->comp, ICAL_ANY_PROPERTY); p;
	     p = icalcomponent_get_next_property(e->comp, ICAL_ANY_PROPERTY)) {
		int rc = 0;
		switch (icalproperty_isa(p)) {
		case ICAL_DTSTART_PROPERTY: e->n_dtstart++, e->dtstart = p; break;
		case ICAL_DTEND_PROPERTY: e->n_dtend++, e->dtend = p; break;
		case ICAL_DURATION_PROPERTY: e->n_duration++, e->duration = p; break;
		case ICAL_STATUS_PROPERTY: e->status = p; break;
		case ICAL_SUMMARY_PROPERTY: e->summary = e->summary ? e->summary : p; break;
		case ICAL_EXRULE_PROPERTY: e->n_exrule++; break;
		case ICAL_RRULE_PROPERTY: rc = push_prop(&e->rrules, p); break;
		case ICAL_RDATE_PROPERTY: rc = push_prop(&e->rdates, p); break;
		case ICAL_EXDATE_PROPERTY: rc = push_prop(&e->exdates, p); break;
		default: break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* e->dur from DTEND (converted to DTSTART's zone when both are known),
 * else DURATION, else one day for a date and nothing for a date-time. */
static enum bot_rc event_duration(struct ctx *cx, struct event *e)
{
	if (e->n_dtend > 1 || e->n_duration > 1)
		return event_fail(cx, "more than one %s", e->n_dtend > 1 ? "DTEND" : "DURATION");
	if (e->dtend) {
		struct icaltimetype end = in_frame(prop_time(e->dtend), e->start);
		if (!time_ok(end))
			return event_fail(cx, "DTEND is not a valid date");
		e->dur = wall(end) - wall(e->start);
	} else if (e->duration) {
		if (!value_is(e->duration, ICAL_DURATION_VALUE))
			return event_fail(cx, "DURATION is not a duration");
		e->dur = duration_secs(icalproperty_get_duration(e->duration));
	} else {
		e->dur = e->start.is_date ? DAY : 0;
	}
	if (e->dur < 0)
		return event_fail(cx, "%s before DTSTART", e->dtend ? "DTEND" : "DURATION ends");
	return BOT_OK;
}

/* EXDATEs as sorted keys: a DATE (or any EXDATE of an all-day event)
 * removes its day, a DATE-TIME the occurrence that starts then. */
static enum bot_rc event_exdates(struct ctx *cx, struct event *e)
{
	for (size_t i = 0; i < e->exdates.n; i++) {
		struct icaltimetype t = in_frame(prop_time(e->exdates.v[i]), e->start);
		if (!time_ok(t))
			return event_fail(cx, "EXDATE is not a valid date");
		int64_t s = wall(t);
		bool whole_day = t.is_date || e->start.is_date;
		if (push_key(whole_day ? &e->ex_days : &e->ex_secs,
			     whole_day ? floor_div(s, DAY) : s))
			return BOT_ENOMEM;
	}
	if (e->ex_days.n > 1)
		qsort(e->ex_days.v, e->ex_days.n, sizeof(int64_t), cmp_key);
	if (e->ex_secs.n > 1)
		qsort(e->ex_secs.v, e->ex_secs.n, sizeof(int64_t), cmp_key);
	return BOT_OK;
}

static enum bot_rc spent(struct ctx *cx)
{
	return event_fail(cx, "the calendar takes more than %d steps to expand", MAX_STEPS);
}

/* Marks the days of [s, s + dur) in the range (s alone when dur is 0); a day
 * keeps the occurrence that starts first. */
static enum bot_rc mark(struct ctx *cx, int64_t s, int64_t dur, const char *summary)
{
	int64_t first = floor_div(s, DAY), last = dur > 0 ? floor_div(s + dur - 1, DAY) : first;
	if (first < cx->day0)
		first = cx->day0;
	if (last > cx->day1)
		last = cx->day1;
	for (int64_t d = first; d <= last; d++) {
		struct slot *sl = &cx->slots[d - cx->day0];
		if (--cx->steps < 0)
			return spent(cx);
		if (!sl->set || s < sl->start)
			*sl = (struct slot){ .set = true, .start = s, .summary = summary };
	}
	return BOT_OK;
}

/* One occurrence starting at s (as written) lasting dur, unless EXDATEd. */
static enum bot_rc occur(struct ctx *cx, const struct event *e, int64_t s, int64_t dur)
{
	if (has_key(&e->ex_days, floor_div(s, DAY)) ||
	    (!e->start.is_date && has_key(&e->ex_secs, s)))
		return BOT_OK;
	return mark(cx, s, dur, e->text);
}

/* Ends the rule with the range (an earlier UNTIL stays): when its BY parts do
 * not match, libical walks up to UNTIL inside one call. A DATE UNTIL on a
 * timed rule (against RFC 5545, but seen) counts as the end of that day. */
static enum bot_rc clamp_until(struct ctx *cx, const struct event *e, struct icalrecurrencetype *r)
{
	struct icaltimetype lim = at_wall(cx->day1 * DAY + DAY - 1, e->start);
	if (!icaltime_is_null_time(r->until)) {
		if (!time_ok(r->until))
			return event_fail(cx, "RRULE UNTIL is not a valid date");
		if (r->until.is_date && !e->start.is_date)
			r->until = at_wall(wall(r->until) + DAY - 1, e->start);
	}
	if (icaltime_is_null_time(r->until) || icaltime_compare(lim, r->until) < 0)
		r->until = lim;
	return BOT_OK;
}

/* Expands one RRULE into the range. */
static enum bot_rc expand_rule(struct ctx *cx, const struct event *e, struct icalrecurrencetype r)
{
	static const int64_t period[] = { [ICAL_DAILY_RECURRENCE] = 1,
					  [ICAL_WEEKLY_RECURRENCE] = 7,
					  [ICAL_MONTHLY_RECURRENCE] = 28,
					  [ICAL_YEARLY_RECURRENCE] = 365 };
	int64_t s0 = wall(e->start);
	if (r.freq < ICAL_DAILY_RECURRENCE)
		return event_fail(cx, "RRULE FREQ=%s is finer than daily (not supported)",
				  icalrecur_freq_to_string(r.freq));
	if (r.freq > ICAL_YEARLY_RECURRENCE)
		return event_fail(cx, "RRULE without FREQ");
	if (floor_div(s0, DAY) > cx->day1)
		return BOT_OK;
	enum bot_rc rc = clamp_until(cx, e, &r);
	if (rc != BOT_OK)
		return rc;
	/* A COUNT rule is counted from DTSTART; any other starts just early
	 * enough for an occurrence that reaches into the range. */
	int64_t begin = s0, early = cx->day0 * DAY - e->dur - DAY;
	if (r.count == 0 && early > s0)
		begin = early;
	int64_t walk = (cx->day1 - floor_div(begin, DAY)) / period[r.freq] /
		       (r.interval > 0 ? r.interval : 1);
	cx->steps -= walk + 1;
	if (cx->steps < 0)
		return spent(cx);
	icalrecur_iterator *it = icalrecur_iterator_new(r, e->start);
	if (!it)
		return event_fail(cx, "RRULE never occurs or cannot be expanded");
	icalerror_clear_errno();
	if (begin > s0 && !icalrecur_iterator_set_start(it, at_wall(begin, e->start))) {
		icalrecur_iterator_free(it);
		return event_fail(cx, "RRULE cannot be expanded from the range");
	}
	struct icaltimetype t = icalrecur_iterator_next(it);
	while (rc == BOT_OK && time_ok(t) && floor_div(wall(t), DAY) <= cx->day1) {
		rc = --cx->steps < 0 ? spent(cx) : occur(cx, e, wall(t), e->dur);
		t = icalrecur_iterator_next(it);
	}
	icalrecur_iterator_free(it);
	return rc;
}

/* One RDATE: a date, a date-time, or a period with its own length. */
static enum bot_rc add_rdate(struct ctx *cx, const struct event *e, icalproperty *p)
{
	if (!value_is(p, ICAL_DATE_VALUE) && !value_is(p, ICAL_DATETIME_VALUE) &&
	    !value_is(p, ICAL_PERIOD_VALUE))
		return event_fail(cx, "RDATE is not a date, date-time or period");
	struct icaldatetimeperiodtype v = icalproperty_get_rdate(p);
	bool is_period = icaltime_is_null_time(v.time);
	struct icaltimetype t = in_frame(zoned(is_period ? v.period.start : v.time, p), e->start);
	int64_t dur = e->dur;
	if (!time_ok(t))
		return event_fail(cx, "RDATE is not a valid date");
	if (is_period && !icaltime_is_null_time(v.period.end)) {
		struct icaltimetype end = in_frame(zoned(v.period.end, p), e->start);
		if (!time_ok(end))
			return event_fail(cx, "RDATE period end is not a valid date");
		dur = wall(end) - wall(t);
	} else if (is_period) {
		dur = duration_secs(v.period.duration);
	}
	if (dur < 0)
		return event_fail(cx, "RDATE period ends before it starts");
	return occur(cx, e, wall(t), dur);
}

/* Marks the days one event covers. */
static enum bot_rc add_event(struct ctx *cx, struct event *e)
{
	if (event_scan(e) != 0)
		return BOT_ENOMEM;
	if (e->status && value_is(e->status, ICAL_STATUS_VALUE) &&
	    icalproperty_get_status(e->status) == ICAL_STATUS_CANCELLED)
		return BOT_OK;
	if (e->summary && value_is(e->summary, ICAL_TEXT_VALUE))
		e->text = icalproperty_get_summary(e->summary);
	cx->ev_summary = e->text;
	if (e->n_dtstart != 1)
		return event_fail(cx, e->n_dtstart ? "more than one DTSTART" : "no DTSTART");
	if (e->n_exrule)
		return event_fail(cx,
				  "EXRULE (removed from iCalendar by RFC 5545) is not supported");
	e->start = prop_time(e->dtstart);
	if (!time_ok(e->start))
		return event_fail(cx, "DTSTART is not a valid date");
	enum bot_rc rc = event_duration(cx, e);
	if (rc == BOT_OK)
		rc = event_exdates(cx, e);
	/* DTSTART is the first occurrence whether or not a rule yields it
	 * (RFC 5545 3.8.5.3); days are marked once however often they come. */
	if (rc == BOT_OK)
		rc = occur(cx, e, wall(e->start), e->dur);
	for (size_t i = 0; rc == BOT_OK && i < e->rrules.n; i++)
		rc = value_is(e->rrules.v[i], ICAL_RECUR_VALUE)
			     ? expand_rule(cx, e, icalproperty_get_rrule(e->rrules.v[i]))
			     : event_fail(cx, "RRULE is not a rule");
	for (size_t i = 0; rc == BOT_OK && i < e->rdates.n; i++)
		rc = add_rdate(cx, e, e->rdates.v[i]);
	return rc;
}

static enum bot_rc expand_all(struct ctx *cx, const struct tree *tr)
{
	size_t child = 0, events = 0;
	for (size_t i = 0; i < tr->ncals; i++) {
		icalcomponent *cal = tr->cals[i];
		for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
		     c; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
			int line = child < tr->nlines ? tr->lines[child] : 0;
			child++;
			if (icalcomponent_isa(c) != ICAL_VEVENT_COMPONENT)
				continue;
			struct event e = { .comp = c };
			events++;
			cx->ev_line = line;
			cx->ev_summary = NULL;
			enum bot_rc rc = add_event(cx, &e);
			event_free(&e);
			if (rc != BOT_OK)
				return rc;
		}
	}
	return events ? BOT_OK : fail(cx, "no events");
}

static enum bot_rc collect(const struct ctx *cx, struct ical_day **out, size_t *n_out)
{
	size_t span = (size_t)(cx->day1 - cx->day0 + 1), n = 0;
	for (size_t i = 0; i < span; i++)
		n += cx->slots[i].set;
	if (n == 0)
		return BOT_OK;
	struct ical_day *v = malloc(n * sizeof(*v));
	if (!v)
		return BOT_ENOMEM;
	for (size_t i = 0, k = 0; i < span; i++) {
		if (!cx->slots[i].set)
			continue;
		v[k].date = when_civil_from_days(cx->day0 + (int64_t)i);
		copy_text(v[k].summary, sizeof(v[k].summary), cx->slots[i].summary);
		k++;
	}
	*out = v;
	*n_out = n;
	return BOT_OK;
}

__attribute__((format(printf, 2, 3))) static enum bot_rc invalid(struct ctx *cx, const char *fmt,
								 ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(cx, fmt, ap);
	va_end(ap);
	return BOT_EINVAL;
}

enum bot_rc ical_days(const char *text, size_t len, ymd_t from, ymd_t to, struct ical_day **out,
		      size_t *n_out, char *err, size_t errlen)
{
	struct ctx cx = { .steps = MAX_STEPS, .err = err, .errlen = errlen };
	struct tree tr = { 0 };
	enum bot_rc rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !n_out || (!text && len))
		return invalid(&cx, "no text or no place for the result");
	*out = NULL;
	*n_out = 0;
	if (!when_date_valid(from) || !when_date_valid(to) || from > to)
		return invalid(&cx, "range %d..%d is not two dates in order", (int)from, (int)to);
	cx.day0 = when_days_from_civil(from);
	cx.day1 = when_days_from_civil(to);
	if (cx.day1 - cx.day0 + 1 > ICAL_MAX_RANGE_DAYS)
		return invalid(&cx, "range longer than %d days", ICAL_MAX_RANGE_DAYS);
	if (len > ICAL_MAX_BYTES)
		return fail(&cx, "calendar larger than %zu bytes", ICAL_MAX_BYTES);

	/* A libical error (a bad argument deep inside) must not abort us. */
	icalerror_set_errors_are_fatal(0);
	rc = parse_text(&cx, text ? text : "", len, &tr);
	if (rc == BOT_OK) {
		cx.slots = calloc((size_t)(cx.day1 - cx.day0 + 1), sizeof(*cx.slots));
		rc = cx.slots ? expand_all(&cx, &tr) : BOT_ENOMEM;
	}
	if (rc == BOT_OK)
		rc = collect(&cx, out, n_out);
	if (rc == BOT_ENOMEM && err && errlen)
		copy_text(err, errlen, "out of memory");
	for (size_t i = 0; i < tr.ncals; i++)
		icalcomponent_free(tr.cals[i]);
	free(tr.cals);
	free(tr.lines);
	free(cx.slots);
	return rc;
}
