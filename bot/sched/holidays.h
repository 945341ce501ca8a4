/* Which days are holidays for an environment, and where each comes from: the
 * config's `holidays`, the holiday calendars it takes (`holidays_from`; all
 * of them when unset) as the state's cached copies hold them, and the chat's
 * (/holiday add). Pure: reads the config and the state it is given, so the
 * scheduler, `envbot plan`, /cost and /holiday list all see the same days.
 * The fetching of the calendars is calendars.c's. */
#ifndef ENVBOT_HOLIDAYS_H
#define ENVBOT_HOLIDAYS_H

#include <stdbool.h>
#include <stddef.h>

#include "../../config/config.h"
#include "../core/rc.h"
#include "../state/state.h"
#include "../time/when.h"

enum holiday_source {
	HOLIDAY_CONFIG = 0, /* the config's `holidays` */
	HOLIDAY_CALENDAR,   /* a holiday calendar's cached copy */
	HOLIDAY_CHAT,       /* /holiday add */
};

/* One holiday. The strings are borrowed from the config (calendar) and the
 * state (label, who): valid until either changes. */
struct holiday {
	ymd_t date;
	enum holiday_source source;
	const char *calendar; /* HOLIDAY_CALENDAR: its name; else NULL */
	const char *label;    /* the calendar's SUMMARY or the chat's label; "" none */
	const char *who;      /* HOLIDAY_CHAT: who added it; else "" */
};

/* Whether the calendar named name keeps env down: env's holidays_from lists
 * it, or env sets none (every calendar). env NULL: every calendar. */
bool holidays_applies(const struct cfg_env *env, const char *name);

/* The holiday env has on date from the config or a calendar (not the
 * chat's: state_decide looks at those itself), first the config's, then the
 * calendars in config order. A calendar that has no copy in st (never
 * fetched) has no days. st may be NULL (no calendar days). No allocation:
 * the scheduler asks it for every decision. */
bool holidays_find(const struct cfg *cfg, const struct state *st, const struct cfg_env *env,
		   ymd_t date, struct holiday *out);

/* Every holiday of env (NULL: of every calendar), chat ones included,
 * sorted by date; a date that several sources name is listed once per
 * source, in the order the conflict rule takes them: config, calendars in
 * config order, chat. Returns BOT_OK with *out a new array of *n entries
 * (caller frees; NULL when none), or BOT_ENOMEM. */
enum bot_rc holidays_list(const struct cfg *cfg, const struct state *st, const struct cfg_env *env,
			  struct holiday **out, size_t *n);

/* What a decision's reason says of h: "" (config), "Seollal, calendar ko" or
 * "calendar ko" (a calendar), "offsite, added by bob" (chat). */
void holidays_label(const struct holiday *h, char *buf, size_t len);

/* A calendar's source as chat may see it: a file's path whole, a URL as
 * its scheme and host only ("https://example.com/…", as check-config
 * prints it), since a private calendar's address carries its key. */
void holidays_source_shown(const struct cfg_calendar *cal, char *buf, size_t len);

/* The conflict rule's question (state_decide's state_holiday_fn): ctx is
 * a struct holidays_of, the label holidays_label's. */
struct holidays_of {
	const struct cfg *cfg;
	const struct state *st;
	const struct cfg_env *env;
};
bool holidays_decide_fn(void *ctx, ymd_t date, char *label, size_t len);

#endif
