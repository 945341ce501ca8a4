/* The weekly report as RFC 4180 CSV (the layout is in report.h). Numbers
 * are written from integers, never through printf's %f, so the decimal
 * point is '.' whatever LC_NUMERIC the process runs under. */
#include "report.h"

#include <math.h>
#include <string.h>

#define CSV_HEADER                                                                            \
	"row_type,date,environment,hours_up,scheduled_hours,actual_hours,estimate,always_on," \
	"saved,actual_cost,currency\r\n"

/* Appends s[0..len) as one field: quoted, with quotes doubled, when it holds
 * a comma, a quote, CR or LF (RFC 4180, 2.6 and 2.7); as is otherwise. */
static void csv_field(struct buf *b, const char *s, size_t len)
{
	bool quote = false;
	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		buf_add(b, s, len);
		return;
	}
	buf_add(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			buf_add(b, "\"", 1);
		buf_add(b, &s[i], 1);
	}
	buf_add(b, "\"", 1);
}

/* Appends ",v" with exactly two decimals (half away from zero), or just ","
 * for a value that is not finite or too large for the cents to be exact. */
static void csv_number(struct buf *b, double v)
{
	buf_add(b, ",", 1);
	if (!isfinite(v) || fabs(v) >= 1e15)
		return;
	long long cents = llround(v * 100.0);
	unsigned long long a = cents < 0 ? (unsigned long long)-cents : (unsigned long long)cents;
	buf_addf(b, "%s%llu.%02llu", cents < 0 ? "-" : "", a / 100, a % 100);
}

/* ",name" of environment e, bounded by its array (no NUL needed). */
static void csv_env(struct buf *b, const struct report_env *e)
{
	buf_add(b, ",", 1);
	csv_field(b, e->name, strnlen(e->name, sizeof(e->name)));
}

static void day_rows(struct buf *b, const struct report *r, const struct report_env *e)
{
	char date[16];
	for (int d = 0; d < REPORT_DAYS; d++) {
		when_format_date(when_add_days(r->monday, d), date, sizeof(date));
		buf_addf(b, "day,%s", date);
		csv_env(b, e);
		csv_number(b, e->up_hours[d]);
		buf_adds(b, ",,,,,,,\r\n");
	}
}

static void summary_row(struct buf *b, const struct report *r, const struct report_env *e)
{
	char date[16];
	when_format_date(r->monday, date, sizeof(date));
	buf_addf(b, "summary,%s", date);
	csv_env(b, e);
	buf_add(b, ",", 1); /* hours_up */
	csv_number(b, e->scheduled_hours);
	csv_number(b, e->actual_hours);
	/* Without a cost estimate these would read as "free", not "unknown". */
	if (e->hourly_cost != 0) {
		csv_number(b, e->estimate);
		csv_number(b, e->always_on);
		csv_number(b, e->saved);
	} else {
		buf_adds(b, ",,,");
	}
	if (e->has_actual_cost)
		csv_number(b, e->actual_cost);
	else
		buf_add(b, ",", 1);
	buf_add(b, ",", 1);
	csv_field(b, r->currency, strnlen(r->currency, sizeof(r->currency)));
	buf_adds(b, "\r\n");
}

enum bot_rc report_csv(const struct report *r, struct buf *csv)
{
	if (!r || !csv || (r->n_envs && !r->envs) || !when_date_valid(r->monday))
		return BOT_EINVAL;
	buf_adds(csv, CSV_HEADER);
	for (size_t i = 0; i < r->n_envs; i++)
		day_rows(csv, r, &r->envs[i]);
	for (size_t i = 0; i < r->n_envs; i++)
		summary_row(csv, r, &r->envs[i]);
	return csv->oom || csv->full ? BOT_ENOMEM : BOT_OK;
}
