/* Unit tests of the weekly report's renderers (bot/report): the chart is
 * decoded back with cairo and each bar found by its pixels (colour, and a
 * height counted pixel by pixel against the hours), the CSV is parsed back
 * with a small RFC 4180 reader and compared field by field, and one small
 * case byte for byte.
 * usage: test_report            run the checks
 *        test_report --write DIR  write DIR/out.png and DIR/out.csv of the
 *                                 same known report (tests/report_png_csv.py) */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bot/report/report.h"
#include "check.h"

#define N_ENVS 3

/* The known week: three environments, names that need CSV quoting, hours
 * with zero days, a full day, a few minutes and one over 24 (clamped). */
static struct report_env envs[N_ENVS] = {
	{ .name = "dev",
	  .up_hours = { 8.5, 10, 0, 12.25, 9, 0, 0 },
	  .scheduled_hours = 40,
	  .actual_hours = 39.75,
	  .hourly_cost = 0.5,
	  .estimate = 19.875,
	  .always_on = 84,
	  .saved = 64.125,
	  .has_actual_cost = true,
	  .actual_cost = 21.3 },
	{ .name = "qa, \"east\"",
	  .up_hours = { 24, 0, 3.2, 6, 0.01, 18, 1 },
	  .scheduled_hours = 50,
	  .actual_hours = 52.21,
	  .hourly_cost = 1.25,
	  .estimate = 65.2625,
	  .always_on = 210,
	  .saved = 144.7375 },
	{ .name = "prod\nline",
	  .up_hours = { 0, 0, 0, 0, 0, 0, 30 },
	  .scheduled_hours = 0,
	  .actual_hours = 30 },
};

static struct report known(void)
{
	struct report r = { .monday = 20261207, .currency = "USD", .envs = envs, .n_envs = N_ENVS };
	return r;
}

/* ---- reading the PNG back ---- */

struct reader {
	const unsigned char *p;
	size_t len, at;
};

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int length)
{
	struct reader *rd = closure;
	if (rd->len - rd->at < length)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, rd->p + rd->at, length);
	rd->at += length;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *decode(const struct buf *png)
{
	struct reader rd = { (const unsigned char *)png->p, png->len, 0 };
	return cairo_image_surface_create_from_png_stream(read_png, &rd);
}

/* The colour at (x, y) as 0xRRGGBB (opaque picture: no premultiplying). */
static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
	const unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	uint32_t v;
	memcpy(&v, data + (size_t)y * (size_t)stride + (size_t)x * 4, 4);
	return v & 0xFFFFFF;
}

/* Rows of colour c counted up from the row above the x axis at column x. */
static int column_height(cairo_surface_t *s, int x, uint32_t c)
{
	int n = 0;
	for (int y = REPORT_PLOT_Y + REPORT_PLOT_H - 1; y >= 0 && pixel(s, x, y) == c; y--)
		n++;
	return n;
}

static void test_palette(void)
{
	CHECK_INT(report_colour(0), 0x4E79A7);
	CHECK_INT(report_colour(1), 0xF28E2B);
	CHECK_INT(report_colour(9), 0xBAB0AC);
	/* the second ten darker (60%), the third lighter (halfway to white) */
	CHECK_INT(report_colour(10), (0x4E * 6 / 10) << 16 | (0x79 * 6 / 10) << 8 | 0xA7 * 6 / 10);
	CHECK_INT(report_colour(20), (0x4E + (255 - 0x4E) / 2) << 16 |
					     (0x79 + (255 - 0x79) / 2) << 8 |
					     (0xA7 + (255 - 0xA7) / 2));
	CHECK_INT(report_colour(30), report_colour(0));
	for (size_t i = 0; i < 30; i++)
		for (size_t j = i + 1; j < 30; j++)
			CHECK(report_colour(i) != report_colour(j));
}

static void test_geometry(void)
{
	struct report r = known();
	double x, y, w, h;
	/* dev on Monday: first bar of the first slot, 8.5 h of 24 on 300 px */
	CHECK(report_bar_rect(&r, 0, 0, &x, &y, &w, &h));
	CHECK_INT(x, REPORT_PLOT_X + REPORT_GROUP_PAD);
	CHECK_INT(h, 106); /* round(8.5 * 12.5) */
	CHECK_INT(y, REPORT_PLOT_Y + REPORT_PLOT_H - 106);
	CHECK_INT(w, 25); /* 80 / 3 = 26.67 -> 27 px, less a 2 px gap */
	/* qa on Tuesday starts a day slot plus a third of the group later */
	CHECK(report_bar_rect(&r, 1, 1, &x, &y, &w, &h));
	CHECK_INT(x, REPORT_PLOT_X + REPORT_DAY_W + REPORT_GROUP_PAD + 27);
	CHECK_INT(h, 0);
	CHECK_INT(y, REPORT_PLOT_Y + REPORT_PLOT_H);
	CHECK(report_bar_rect(&r, 1, 0, &x, &y, &w, &h));
	CHECK_INT(h, REPORT_PLOT_H); /* 24 h: the full height */
	CHECK(report_bar_rect(&r, 1, 4, &x, &y, &w, &h));
	CHECK_INT(h, 1); /* 36 seconds still show */
	CHECK(report_bar_rect(&r, 2, 6, &x, &y, &w, &h));
	CHECK_INT(h, REPORT_PLOT_H); /* 30 h clamped to 24 */
	CHECK(!report_bar_rect(&r, 3, 0, &x, &y, &w, &h));
	CHECK(!report_bar_rect(&r, 0, 7, &x, &y, &w, &h));
	CHECK(!report_bar_rect(&r, 0, -1, &x, &y, &w, &h));
}

static void test_chart(void)
{
	struct report r = known();
	struct buf png = { 0 };
	CHECK_INT(report_chart_png(&r, &png), BOT_OK);
	CHECK(png.len > 8 && memcmp(png.p, "\x89PNG\r\n\x1a\n", 8) == 0);
	cairo_surface_t *s = decode(&png);
	CHECK_INT(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		buf_free(&png);
		return;
	}
	cairo_surface_flush(s);
	CHECK_INT(cairo_image_surface_get_width(s), 900);
	CHECK_INT(cairo_image_surface_get_height(s), 400);
	CHECK_INT(pixel(s, 2, 2), REPORT_BG);
	int bars = 0;
	for (size_t e = 0; e < N_ENVS; e++) {
		for (int d = 0; d < REPORT_DAYS; d++) {
			double x, y, w, h;
			CHECK(report_bar_rect(&r, e, d, &x, &y, &w, &h));
			int cx = (int)(x + w / 2), top = (int)y;
			double hours = fmin(envs[e].up_hours[d], 24);
			if (hours == 0) {
				/* nothing above the axis but the background */
				CHECK_INT(pixel(s, cx, REPORT_PLOT_Y + REPORT_PLOT_H - 3),
					  REPORT_BG);
				CHECK_INT(column_height(s, cx, report_colour(e)), 0);
				continue;
			}
			bars++;
			CHECK_INT(pixel(s, cx, (int)(y + h / 2)), report_colour(e));
			/* the top row is the bar's, the one above it is not */
			CHECK_INT(pixel(s, cx, top), report_colour(e));
			if (h < REPORT_PLOT_H)
				CHECK_INT(pixel(s, cx, top - 1), REPORT_BG);
			/* the height counted in pixels is the hours at 12.5 px/h */
			int want = (int)fmax(1, round(hours * REPORT_PLOT_H / 24.0));
			CHECK_INT(column_height(s, cx, report_colour(e)), want);
			/* the bar's own edges: inside is its colour, outside not */
			CHECK_INT(pixel(s, (int)x, top), report_colour(e));
			CHECK(pixel(s, (int)x - 1, top) != report_colour(e));
			CHECK(pixel(s, (int)(x + w), top) != report_colour(e));
		}
	}
	CHECK_INT(bars, 11);
	/* the legend's swatches, one per environment in order */
	for (size_t e = 0; e < N_ENVS; e++)
		CHECK_INT(pixel(s, REPORT_LEGEND_X + 6, REPORT_PLOT_Y + (int)e * 18 + 6),
			  report_colour(e));
	/* a gridline (12 h) where no bar stands: between two day slots */
	CHECK_INT(pixel(s, REPORT_PLOT_X + REPORT_DAY_W, REPORT_PLOT_Y + REPORT_PLOT_H / 2),
		  0xDDDDDD);
	cairo_surface_destroy(s);
	buf_free(&png);
}

/* 25 environments: the bars get narrow, colours cycle into the darker ten,
 * the legend ends in "+N more"; still every bar has its colour. */
static void test_many(void)
{
	static struct report_env many[25];
	for (int i = 0; i < 25; i++) {
		snprintf(many[i].name, sizeof(many[i].name), "environment-with-a-long-name-%d", i);
		for (int d = 0; d < REPORT_DAYS; d++)
			many[i].up_hours[d] = 1 + i % 20;
	}
	struct report r = { .monday = 20261207, .currency = "EUR", .envs = many, .n_envs = 25 };
	struct buf png = { 0 };
	CHECK_INT(report_chart_png(&r, &png), BOT_OK);
	cairo_surface_t *s = decode(&png);
	CHECK_INT(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	for (size_t e = 0; e < 25 && cairo_surface_status(s) == CAIRO_STATUS_SUCCESS; e++) {
		double x, y, w, h;
		CHECK(report_bar_rect(&r, e, 3, &x, &y, &w, &h));
		CHECK(w >= 1);
		CHECK_INT(pixel(s, (int)x, (int)(y + h / 2)), report_colour(e));
	}
	cairo_surface_destroy(s);
	buf_free(&png);
}

static void test_invalid(void)
{
	struct report r = known();
	struct buf b = { 0 };
	CHECK_INT(report_chart_png(NULL, &b), BOT_EINVAL);
	CHECK_INT(report_csv(NULL, &b), BOT_EINVAL);
	r.monday = 20261332;
	CHECK_INT(report_chart_png(&r, &b), BOT_EINVAL);
	CHECK_INT(report_csv(&r, &b), BOT_EINVAL);
	r = known();
	r.envs = NULL;
	CHECK_INT(report_csv(&r, &b), BOT_EINVAL);
	CHECK_INT(b.len, 0);
	/* no environments: an empty chart, a header-only CSV */
	r.n_envs = 0;
	CHECK_INT(report_chart_png(&r, &b), BOT_OK);
	buf_free(&b);
	CHECK_INT(report_csv(&r, &b), BOT_OK);
	CHECK_STR(b.p, "row_type,date,environment,hours_up,scheduled_hours,actual_hours,"
		       "estimate,always_on,saved,actual_cost,currency\r\n");
	buf_free(&b);
}

/* ---- reading the CSV back ---- */

#define MAX_ROWS 32
#define MAX_COLS 12

struct table {
	char *cell[MAX_ROWS][MAX_COLS];
	int cols[MAX_ROWS];
	int rows;
	bool bad;
};

/* RFC 4180 strictly: CRLF after every record, quotes only around a whole
 * field, "" inside quotes for one quote; anything else marks the table
 * bad. */
static void csv_parse(const char *s, struct table *t)
{
	memset(t, 0, sizeof(*t));
	struct buf f = { 0 };
	int col = 0;
	while (*s && t->rows < MAX_ROWS) {
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s) {
					t->bad = true;
					return;
				}
				if (*s == '"' && s[1] == '"')
					buf_add(&f, s++, 1);
				else if (*s == '"')
					break;
				else
					buf_add(&f, s, 1);
			}
			s++;
		} else {
			while (*s && *s != ',' && *s != '\r' && *s != '\n' && *s != '"')
				buf_add(&f, s++, 1);
		}
		if (col >= MAX_COLS) {
			t->bad = true;
			return;
		}
		t->cell[t->rows][col++] = buf_take(&f);
		if (*s == ',') {
			s++;
		} else if (s[0] == '\r' && s[1] == '\n') {
			t->cols[t->rows++] = col;
			col = 0;
			s += 2;
		} else {
			t->bad = true;
			return;
		}
	}
}

static void table_free(struct table *t)
{
	for (int r = 0; r < MAX_ROWS; r++)
		for (int c = 0; c < MAX_COLS; c++)
			free(t->cell[r][c]);
}

static const char *cell(const struct table *t, int row, int col)
{
	return row < t->rows && col < t->cols[row] ? t->cell[row][col] : NULL;
}

static void test_csv_table(void)
{
	static const char *const header[11] = {
		"row_type",        "date",         "environment", "hours_up",
		"scheduled_hours", "actual_hours", "estimate",    "always_on",
		"saved",           "actual_cost",  "currency",
	};
	static const char *const hours[N_ENVS][7] = {
		{ "8.50", "10.00", "0.00", "12.25", "9.00", "0.00", "0.00" },
		{ "24.00", "0.00", "3.20", "6.00", "0.01", "18.00", "1.00" },
		{ "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "30.00" },
	};
	static const char *const dates[7] = { "2026-12-07", "2026-12-08", "2026-12-09",
					      "2026-12-10", "2026-12-11", "2026-12-12",
					      "2026-12-13" };
	/* scheduled, actual, estimate, always_on, saved, actual_cost, currency */
	static const char *const summary[N_ENVS][7] = {
		{ "40.00", "39.75", "19.88", "84.00", "64.13", "21.30", "USD" },
		{ "50.00", "52.21", "65.26", "210.00", "144.74", "", "USD" },
		{ "0.00", "30.00", "", "", "", "", "USD" },
	};
	struct report r = known();
	struct buf csv = { 0 };
	struct table t;
	CHECK_INT(report_csv(&r, &csv), BOT_OK);
	csv_parse(csv.p, &t);
	CHECK(!t.bad);
	CHECK_INT(t.rows, 1 + N_ENVS * 7 + N_ENVS);
	for (int c = 0; c < 11; c++)
		CHECK_STR(cell(&t, 0, c), header[c]);
	for (int row = 0; row < t.rows; row++)
		CHECK_INT(t.cols[row], 11);
	for (int e = 0; e < N_ENVS; e++) {
		for (int d = 0; d < 7; d++) {
			int row = 1 + e * 7 + d;
			CHECK_STR(cell(&t, row, 0), "day");
			CHECK_STR(cell(&t, row, 1), dates[d]);
			CHECK_STR(cell(&t, row, 2), envs[e].name);
			CHECK_STR(cell(&t, row, 3), hours[e][d]);
			for (int c = 4; c < 11; c++)
				CHECK_STR(cell(&t, row, c), "");
		}
		int row = 1 + N_ENVS * 7 + e;
		CHECK_STR(cell(&t, row, 0), "summary");
		CHECK_STR(cell(&t, row, 1), "2026-12-07");
		CHECK_STR(cell(&t, row, 2), envs[e].name);
		CHECK_STR(cell(&t, row, 3), "");
		for (int c = 0; c < 7; c++)
			CHECK_STR(cell(&t, row, 4 + c), summary[e][c]);
	}
	table_free(&t);
	buf_free(&csv);
}

/* One environment, byte for byte: the quoting of a name holding a comma
 * and quotes, negative and rounded numbers. */
static void test_csv_bytes(void)
{
	struct report_env e = { .name = "a,\"b\"",
				.up_hours = { 1.005, 0, 0, 0, 0, 0, 23.999 },
				.scheduled_hours = 2,
				.actual_hours = 25.004,
				.hourly_cost = 2,
				.estimate = 50.008,
				.always_on = 336,
				.saved = -1.5,
				.has_actual_cost = true,
				.actual_cost = 0 };
	struct report r = { .monday = 20240226, .currency = "EUR", .envs = &e, .n_envs = 1 };
	struct buf csv = { 0 };
	CHECK_INT(report_csv(&r, &csv), BOT_OK);
	CHECK_STR(csv.p, "row_type,date,environment,hours_up,scheduled_hours,actual_hours,"
			 "estimate,always_on,saved,actual_cost,currency\r\n"
			 "day,2024-02-26,\"a,\"\"b\"\"\",1.00,,,,,,,\r\n" /* 1.005 is 1.00499.. */
			 "day,2024-02-27,\"a,\"\"b\"\"\",0.00,,,,,,,\r\n"
			 "day,2024-02-28,\"a,\"\"b\"\"\",0.00,,,,,,,\r\n"
			 "day,2024-02-29,\"a,\"\"b\"\"\",0.00,,,,,,,\r\n"
			 "day,2024-03-01,\"a,\"\"b\"\"\",0.00,,,,,,,\r\n"
			 "day,2024-03-02,\"a,\"\"b\"\"\",0.00,,,,,,,\r\n"
			 "day,2024-03-03,\"a,\"\"b\"\"\",24.00,,,,,,,\r\n"
			 "summary,2024-02-26,\"a,\"\"b\"\"\",,2.00,25.00,50.01,336.00,-1.50,0.00,"
			 "EUR\r\n");
	buf_free(&csv);
	/* a value that is not a number is an empty field, not "nan" */
	e.scheduled_hours = NAN;
	e.has_actual_cost = false;
	CHECK_INT(report_csv(&r, &csv), BOT_OK);
	CHECK(strstr(csv.p, "\r\nsummary,2024-02-26,\"a,\"\"b\"\"\",,,25.00,50.01,336.00,-1.50,,"
			    "EUR\r\n") != NULL);
	buf_free(&csv);
}

/* A locale with a decimal comma changes nothing (when the machine has one). */
static void test_csv_locale(void)
{
	const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!setlocale(LC_NUMERIC, names[i]))
			continue;
		struct report r = known();
		struct buf csv = { 0 };
		CHECK_INT(report_csv(&r, &csv), BOT_OK);
		CHECK(strstr(csv.p, ",8.50,") != NULL);
		buf_free(&csv);
		setlocale(LC_NUMERIC, "C");
		printf("csv under %s: '.' kept\n", names[i]);
		return;
	}
	printf("no decimal-comma locale on this machine: locale case not run\n");
}

static int write_file(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* cairo and fontconfig keep their font caches for the life of the process
 * (the daemon wants that); a test hands them back at exit so that the
 * sanitizer build's leak check reports only our code. */
static void release_font_caches(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}

/* --write DIR: the known report's two files, for the Python check. */
static int write_out(const char *dir)
{
	struct report r = known();
	struct buf png = { 0 }, csv = { 0 };
	int rc = 1;
	if (report_chart_png(&r, &png) == BOT_OK && report_csv(&r, &csv) == BOT_OK &&
	    write_file(dir, "out.png", &png) == 0 && write_file(dir, "out.csv", &csv) == 0)
		rc = 0;
	else
		fprintf(stderr, "test_report: could not write %s/out.png and out.csv\n", dir);
	buf_free(&png);
	buf_free(&csv);
	release_font_caches();
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_out(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_report [--write DIR]\n");
		return 2;
	}
	test_palette();
	test_geometry();
	test_chart();
	test_many();
	test_invalid();
	test_csv_table();
	test_csv_bytes();
	test_csv_locale();
	release_font_caches();
	return check_done();
}
