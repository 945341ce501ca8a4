/* The weekly report's two attachments, rendered from numbers a module above
 * has already gathered: a PNG bar chart of the hours each environment was up
 * per day, and the same figures as a CSV for spreadsheets. Pure rendering:
 * no I/O, no clock, no config; the same report gives the same bytes. */
#ifndef ENVBOT_REPORT_H
#define ENVBOT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/rc.h"
#include "../time/when.h"

#define REPORT_DAYS 7

/* One environment's week. up_hours is measured: the hours it was up on each
 * local day, day 0 being the week's Monday. Money is in the report's
 * currency. */
struct report_env {
	char name[64];
	double up_hours[REPORT_DAYS];
	double scheduled_hours; /* the week's hours up by the schedule alone */
	double actual_hours;    /* sum of up_hours */
	double hourly_cost;     /* config estimate, currency units per hour, 0 = unknown */
	double estimate;        /* actual_hours * hourly_cost */
	double always_on;       /* 168 * hourly_cost */
	double saved;           /* always_on - estimate */
	bool has_actual_cost;   /* Cost Explorer answered for this environment */
	double actual_cost;     /* Cost Explorer's UnblendedCost for the week */
};

struct report {
	ymd_t monday;     /* the week's first day (bot/time/when.h) */
	char currency[8]; /* "USD" */
	struct report_env *envs;
	size_t n_envs;
};

/* ---- the chart ----
 *
 * A white REPORT_CHART_W x REPORT_CHART_H picture. The plot area's top-left
 * corner is (REPORT_PLOT_X, REPORT_PLOT_Y), REPORT_PLOT_W x REPORT_PLOT_H
 * pixels, its bottom edge the x axis; 0..24 hours up the y axis (gridlines
 * at 6, 12, 18 and 24), so an hour is REPORT_PLOT_H / 24 pixels. Each day
 * has a slot REPORT_DAY_W wide; inside it, after REPORT_GROUP_PAD pixels on
 * each side, the environments' bars stand side by side in report order, each
 * (REPORT_DAY_W - 2 * REPORT_GROUP_PAD) / n_envs wide less a small gap.
 * Bar edges are rounded to whole pixels, so every bar pixel has exactly its
 * colour: report_bar_rect() gives the rectangle the drawing fills. The
 * title ("Hours up, week of YYYY-MM-DD") is above the plot, the day labels
 * ("Mon 12-07") below it, the legend (a swatch and a name per environment)
 * to its right, from REPORT_LEGEND_X. */
#define REPORT_CHART_W   900
#define REPORT_CHART_H   400
#define REPORT_PLOT_X    50
#define REPORT_PLOT_Y    40
#define REPORT_PLOT_W    (REPORT_DAYS * REPORT_DAY_W)
#define REPORT_PLOT_H    300
#define REPORT_DAY_W     100
#define REPORT_GROUP_PAD 10
#define REPORT_LEGEND_X  (REPORT_PLOT_X + REPORT_PLOT_W + 20)

/* The colours, 0xRRGGBB. The background and the bars' palette: Tableau 10,
 * ten hues chosen to stay distinct from each other (also for the most
 * common colour-vision deficiencies) and readable on white. Environment i
 * gets palette[i % 10]; the second ten get the same hues darkened to 60%,
 * the third ten lightened halfway to white, and from the thirty-first on
 * the colours repeat (the legend still tells them apart by name). */
#define REPORT_BG          0xFFFFFFu
#define REPORT_PALETTE_LEN 10
/* Environment env's bar colour as 0xRRGGBB. */
uint32_t report_colour(size_t env);

/* The rectangle of environment env's bar on day (0 = Monday), in pixels
 * from the picture's top-left corner: x, y its top-left corner, w x h its
 * size. Hours are clamped to 0..24, so h is 0 for a day not up at all (y is
 * then the axis). Returns false (nothing written) when env or day is out of
 * range. */
bool report_bar_rect(const struct report *r, size_t env, int day, double *x, double *y, double *w,
		     double *h);

/* Renders the chart as PNG and appends it to png (see buf.h; the caller
 * frees it, also after a failure, when it may hold part of an image).
 * Labels are decoration: drawn with cairo's toy text API ("sans-serif"),
 * they may come out in cairo's built-in font, or not at all, on a machine
 * without fonts; the bars and the legend's swatches are always drawn.
 * Returns BOT_OK, BOT_EINVAL (r NULL, envs NULL with n_envs > 0, monday not
 * a date), BOT_ENOMEM, or BOT_EIO (cairo could not encode the picture). */
enum bot_rc report_chart_png(const struct report *r, struct buf *png);

/* At process exit: lets go of what the text of the charts drawn so far
 * left in cairo's and fontconfig's process-wide caches (fontconfig keeps
 * its configuration until told), so a leak checker sees a clean exit.
 * Nothing when no chart was drawn. Not thread-safe; no chart after it. */
void report_release(void);

/* ---- the spreadsheet ----
 *
 * RFC 4180 CSV: CRLF line ends, a header row, fields quoted when they hold
 * a comma, a quote, CR or LF (quotes doubled). One table of 11 columns:
 *
 *   row_type,date,environment,hours_up,scheduled_hours,actual_hours,
 *   estimate,always_on,saved,actual_cost,currency
 *
 * First one "day" row per environment per day (environments in report
 * order, each Monday to Sunday): row_type "day", date the day
 * (YYYY-MM-DD), environment, hours_up; the other columns empty. Then one
 * "summary" row per environment: row_type "summary", date the week's
 * Monday, environment, hours_up empty, then scheduled_hours, actual_hours,
 * estimate, always_on, saved (these three empty when hourly_cost is 0,
 * i.e. unknown), actual_cost (empty unless has_actual_cost) and currency.
 * Numbers have exactly two decimals and a '.' whatever the locale; a value
 * that is not finite is written as an empty field.
 * Appends to csv (the caller frees it, also after a failure). Returns
 * BOT_OK, BOT_EINVAL (as report_chart_png) or BOT_ENOMEM. */
enum bot_rc report_csv(const struct report *r, struct buf *csv);

#endif
