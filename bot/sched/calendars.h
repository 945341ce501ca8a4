/* The daemon's refresher of the holiday calendars (`holiday_calendars`):
 * every calendar fetched at start, then every CALENDARS_EVERY_S, and again
 * at each SIGHUP; each good copy replaces the one in the state
 * (state_calendar_set), so the scheduler, /cost and `envbot plan` read the
 * days from there (holidays.c). A refresh that fails (HTTP error, unreadable
 * file, a calendar libical or ical.c refuses) keeps the last good copy,
 * records when and why (state_calendar_failed), logs a warning and, once per
 * streak of failures, posts one message to the channel; the next round then
 * comes after CALENDARS_RETRY_S instead.
 *
 * Persistence: it writes nothing itself; it calls deps->save after every
 * change to the state. Two replicas: nothing is fetched while the fence is
 * closed (a standby leaves the calendars to the active one).
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_CALENDARS_H
#define ENVBOT_CALENDARS_H

#include "../../config/config.h"
#include "../core/fence.h"
#include "../core/loop.h"
#include "../core/rc.h"
#include "../state/state.h"

#define CALENDARS_EVERY_S 86400 /* a good round: the next one a day later */
#define CALENDARS_RETRY_S 3600  /* after a round in which a calendar failed */

/* Everything is borrowed and outlives the refresher. The callbacks may be
 * NULL; text is borrowed until post returns. */
struct calendars_deps {
	struct loop *loop;
	struct state *st;
	const struct fence *fence; /* NULL: always open */
	void (*save)(void *arg);
	/* One line for the channel: "⚠️ Holiday calendar **ko** could not be
	 * refreshed: ...". The daemon posts it; the refresher knows no
	 * Discord. */
	void (*post)(void *arg, const char *text);
	void *arg;
};

struct calendars;

/* A refresher for cfg's calendars (borrowed until replaced with
 * calendars_set_config), not started. deps is copied. NULL on allocation
 * failure. Reads $SSL_CERT_FILE once, as the REST client does, and the test
 * knob $ENVBOT_TEST_CALENDAR_REFRESH_S (1-86400: the seconds between rounds,
 * good or not; unset in production). */
struct calendars *calendars_create(const struct calendars_deps *deps, const struct cfg *cfg);
/* Accepts NULL. Cancels the timer and every fetch in flight. */
void calendars_destroy(struct calendars *c);

/* Drops the cached copies of calendars gone from the config, then starts
 * the first round. */
void calendars_start(struct calendars *c);

/* SIGHUP: cfg (borrowed from now on) replaces the config. Copies of
 * calendars gone from it are dropped; when the list of names and sources
 * changed, the fetches in flight are abandoned; then (after
 * calendars_start) a round starts now unless one on the same list is
 * still in flight, so that an edited file counts at once. */
void calendars_set_config(struct calendars *c, const struct cfg *cfg);

/* Starts a round now unless one is in flight. */
void calendars_refresh(struct calendars *c);

#endif
