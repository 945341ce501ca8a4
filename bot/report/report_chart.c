/* The weekly chart of report.h drawn with cairo on an RGB image surface and
 * encoded as PNG into a buf. Every shape is a rectangle on whole pixels, so
 * nothing is antialiased and a test can read each bar's colour back exactly;
 * the text goes through its own cairo context, so a missing font or a bad
 * string can only lose labels, never bars. */
#include "report.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"

#define MOD "report"

#define TEXT_COLOUR   0x333333u
#define GRID_COLOUR   0xDDDDDDu
#define AXIS_COLOUR   0x333333u
#define LEGEND_ROW    18 /* pixels from one legend entry to the next */
#define LEGEND_SWATCH 12
#define LEGEND_CHARS  14 /* code points of a name shown in the legend */
#define LABEL_MAX     128

/* Whether the toy text API has been used (report_release). */
static bool drew_text;

/* Tableau 10 (see report.h). */
static const uint32_t palette[REPORT_PALETTE_LEN] = {
	0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F,
	0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC,
};

static const char *const weekday_abbr[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* Each channel darkened to 60%, or moved halfway to white when lighten. */
static uint32_t shade(uint32_t rgb, bool lighten)
{
	uint32_t out = 0;
	for (int shift = 16; shift >= 0; shift -= 8) {
		uint32_t c = (rgb >> shift) & 0xFF;
		c = lighten ? c + (255 - c) / 2 : c * 6 / 10;
		out |= c << shift;
	}
	return out;
}

uint32_t report_colour(size_t env)
{
	uint32_t base = palette[env % REPORT_PALETTE_LEN];
	switch (env / REPORT_PALETTE_LEN % 3) {
	case 1: return shade(base, false);
	case 2: return shade(base, true);
	default: return base;
	}
}

static double clamp_hours(double h)
{
	if (!(h > 0)) /* also NaN */
		return 0;
	return h > 24 ? 24 : h;
}

bool report_bar_rect(const struct report *r, size_t env, int day, double *x, double *y, double *w,
		     double *h)
{
	if (!r || !r->envs || env >= r->n_envs || day < 0 || day >= REPORT_DAYS)
		return false;
	double each = (REPORT_DAY_W - 2 * REPORT_GROUP_PAD) / (double)r->n_envs;
	double left = REPORT_PLOT_X + day * REPORT_DAY_W + REPORT_GROUP_PAD;
	double x0 = round(left + (double)env * each);
	double x1 = round(left + (double)(env + 1) * each);
	/* A gap between neighbours while bars are wide enough to spare it. */
	double width = x1 - x0 - (x1 - x0 >= 6 ? 2 : 0);
	double hours = clamp_hours(r->envs[env].up_hours[day]);
	double height = round(hours * REPORT_PLOT_H / 24.0);
	/* A few minutes up still shows: one pixel, not nothing. */
	if (hours > 0 && height < 1)
		height = 1;
	*x = x0;
	*y = REPORT_PLOT_Y + REPORT_PLOT_H - height;
	*w = width < 1 ? 1 : width;
	*h = height;
	return true;
}

static void set_rgb(cairo_t *cr, uint32_t rgb)
{
	cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
			     (rgb & 0xFF) / 255.0);
}

static void fill_rect(cairo_t *cr, uint32_t rgb, double x, double y, double w, double h)
{
	set_rgb(cr, rgb);
	cairo_rectangle(cr, x, y, w, h);
	cairo_fill(cr);
}

/* How many legend entries fit; one row is kept for "+N more" when not all
 * do. */
static size_t legend_rows(size_t n_envs)
{
	size_t fit = (size_t)(REPORT_CHART_H - REPORT_PLOT_Y - 10) / LEGEND_ROW;
	return n_envs <= fit ? n_envs : fit - 1;
}

static void draw_shapes(cairo_t *cr, const struct report *r)
{
	fill_rect(cr, REPORT_BG, 0, 0, REPORT_CHART_W, REPORT_CHART_H);
	for (int hour = 6; hour <= 24; hour += 6) {
		double y = REPORT_PLOT_Y + REPORT_PLOT_H - hour * REPORT_PLOT_H / 24;
		fill_rect(cr, GRID_COLOUR, REPORT_PLOT_X, y, REPORT_PLOT_W, 1);
	}
	for (size_t e = 0; e < r->n_envs; e++) {
		for (int d = 0; d < REPORT_DAYS; d++) {
			double x, y, w, h;
			if (report_bar_rect(r, e, d, &x, &y, &w, &h) && h > 0)
				fill_rect(cr, report_colour(e), x, y, w, h);
		}
	}
	/* The axes sit just outside the plot, so they never cover a bar. */
	fill_rect(cr, AXIS_COLOUR, REPORT_PLOT_X - 1, REPORT_PLOT_Y, 1, REPORT_PLOT_H + 1);
	fill_rect(cr, AXIS_COLOUR, REPORT_PLOT_X - 1, REPORT_PLOT_Y + REPORT_PLOT_H,
		  REPORT_PLOT_W + 1, 1);
	size_t rows = legend_rows(r->n_envs);
	for (size_t e = 0; e < rows; e++)
		fill_rect(cr, report_colour(e), REPORT_LEGEND_X,
			  REPORT_PLOT_Y + (double)(e * LEGEND_ROW), LEGEND_SWATCH, LEGEND_SWATCH);
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid (overlong
 * forms and surrogates included). s is NUL-terminated, so a sequence cut
 * short fails on the NUL. */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
	if (n == 0 || s[0] > 0xF4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* Copies at most max_cps code points of in[0..len) into out (LABEL_MAX
 * bytes), ending with "…" when cut. cairo refuses invalid UTF-8 (and the
 * context stays broken after), so invalid bytes and control characters
 * become '?'. */
static void label_copy(char *out, const char *in, size_t len, size_t max_cps)
{
	char tmp[LABEL_MAX];
	size_t o = 0, cps = 0;
	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	const unsigned char *s = (const unsigned char *)tmp;
	while (*s && o + 8 < LABEL_MAX) {
		if (cps == max_cps) {
			memcpy(out + o, "\xE2\x80\xA6", 3);
			o += 3;
			break;
		}
		size_t n = utf8_seq(s);
		if (n == 0 || *s < 0x20 || *s == 0x7F) {
			out[o++] = '?';
			n = n ? n : 1;
		} else {
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
		cps++;
	}
	out[o] = '\0';
}

/* Shows s with its anchor at x: align 0 left, 0.5 centred, 1 right. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double align)
{
	cairo_text_extents_t ext;
	cairo_text_extents(cr, s, &ext);
	cairo_move_to(cr, x - align * ext.x_advance, y);
	cairo_show_text(cr, s);
}

static void draw_labels(cairo_t *cr, const struct report *r)
{
	char s[LABEL_MAX], date[16];
	set_rgb(cr, TEXT_COLOUR);
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 16);
	when_format_date(r->monday, date, sizeof(date));
	snprintf(s, sizeof(s), "Hours up, week of %s", date);
	text_at(cr, s, REPORT_PLOT_X, REPORT_PLOT_Y - 15, 0);

	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 11);
	for (int hour = 0; hour <= 24; hour += 6) {
		snprintf(s, sizeof(s), "%d", hour);
		text_at(cr, s, REPORT_PLOT_X - 6,
			REPORT_PLOT_Y + REPORT_PLOT_H - hour * REPORT_PLOT_H / 24 + 4, 1);
	}
	cairo_set_font_size(cr, 12);
	for (int d = 0; d < REPORT_DAYS; d++) {
		ymd_t day = when_add_days(r->monday, d);
		snprintf(s, sizeof(s), "%s %02d-%02d", weekday_abbr[when_weekday(day)],
			 day / 100 % 100, day % 100);
		text_at(cr, s, REPORT_PLOT_X + (d + 0.5) * REPORT_DAY_W,
			REPORT_PLOT_Y + REPORT_PLOT_H + 20, 0.5);
	}
	size_t rows = legend_rows(r->n_envs);
	for (size_t e = 0; e < rows; e++) {
		const char *name = r->envs[e].name;
		label_copy(s, name, strnlen(name, sizeof(r->envs[e].name)), LEGEND_CHARS);
		text_at(cr, s, REPORT_LEGEND_X + LEGEND_SWATCH + 6,
			REPORT_PLOT_Y + (double)(e * LEGEND_ROW) + 11, 0);
	}
	if (rows < r->n_envs) {
		snprintf(s, sizeof(s), "+%zu more", r->n_envs - rows);
		text_at(cr, s, REPORT_LEGEND_X, REPORT_PLOT_Y + (double)(rows * LEGEND_ROW) + 11,
			0);
	}
}

/* cairo's PNG writer hands the encoded bytes here piece by piece. */
static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int length)
{
	struct buf *b = closure;
	buf_add(b, data, length);
	return b->oom || b->full ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static enum bot_rc cairo_rc(cairo_status_t st)
{
	if (st == CAIRO_STATUS_SUCCESS)
		return BOT_OK;
	return st == CAIRO_STATUS_NO_MEMORY ? BOT_ENOMEM : BOT_EIO;
}

enum bot_rc report_chart_png(const struct report *r, struct buf *png)
{
	enum bot_rc rc = BOT_EINVAL;
	cairo_surface_t *surface = NULL;
	cairo_t *cr = NULL, *text = NULL;
	if (!r || !png || (r->n_envs && !r->envs) || !when_date_valid(r->monday))
		return BOT_EINVAL;
	/* RGB24: an opaque picture, written as a PNG without alpha. */
	surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, REPORT_CHART_W, REPORT_CHART_H);
	rc = cairo_rc(cairo_surface_status(surface));
	if (rc != BOT_OK)
		goto out;
	cr = cairo_create(surface);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	draw_shapes(cr, r);
	rc = cairo_rc(cairo_status(cr));
	if (rc != BOT_OK)
		goto out;
	text = cairo_create(surface);
	drew_text = true;
	draw_labels(text, r);
	if (cairo_status(text) != CAIRO_STATUS_SUCCESS)
		log_debug(MOD, "msg=\"chart labels incomplete\" error=\"%s\"",
			  cairo_status_to_string(cairo_status(text)));
	cairo_surface_flush(surface);
	cairo_status_t st = cairo_surface_write_to_png_stream(surface, png_write, png);
	rc = png->oom ? BOT_ENOMEM : cairo_rc(st);
out:
	cairo_destroy(text);
	cairo_destroy(cr);
	cairo_surface_destroy(surface);
	return rc;
}

void report_release(void)
{
	if (!drew_text)
		return;
	cairo_debug_reset_static_data();
	FcFini();
	drew_text = false;
}
