/* One fetch of one holiday calendar: its file read, or its URL fetched on
 * the event loop with libcurl, and the text read by ical_days (bot/time)
 * into the days of a state copy. The daemon's refresher (calendars.c) and
 * `envbot plan` / `envbot doctor` use it; it writes nothing anywhere.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_CALFETCH_H
#define ENVBOT_CALFETCH_H

#include <stddef.h>

#include "../../config/config.h"
#include "../core/loop.h"
#include "../core/rc.h"
#include "../state/state.h"
#include "../time/when.h"

/* The days a copy covers, around the day it is fetched: back far enough for
 * this month's /cost, forward past a year of `plan`. */
#define CALFETCH_DAYS_BEFORE 31
#define CALFETCH_DAYS_AFTER  400
#define CALFETCH_MAX_BYTES   ((size_t)4 << 20) /* a file or a response body */
#define CALFETCH_TIMEOUT_MS  30000L

/* Reads text[0..len) with ical_days over [today - CALFETCH_DAYS_BEFORE,
 * today + CALFETCH_DAYS_AFTER]. Returns BOT_OK with *days a new sorted array
 * of *n (caller frees; NULL when none), or BOT_EPARSE / BOT_ENOMEM with one
 * line in err ("line 7: Parse error in property name: DTSTRT"). Pure. */
enum bot_rc calfetch_parse(const char *text, size_t len, ymd_t today, struct state_cal_day **days,
			   size_t *n, char *err, size_t errlen);

/* Reads the file at path (a regular file of at most CALFETCH_MAX_BYTES) and
 * parses it as calfetch_parse does. BOT_EIO with err ("cannot open
 * /etc/envbot/company.ics: No such file or directory") when it cannot be
 * read. Blocking, on a local file. */
enum bot_rc calfetch_file(const char *path, ymd_t today, struct state_cal_day **days, size_t *n,
			  char *err, size_t errlen);

/* What a fetch found: rc BOT_OK with the days (borrowed until the callback
 * returns), else an error and one line saying why ("HTTP 404", "Couldn't
 * connect to server", "line 3: ..."). */
struct calfetch_result {
	enum bot_rc rc;
	const struct state_cal_day *days;
	size_t n_days;
	char error[STATE_TEXT_MAX];
};
typedef void (*calfetch_fn)(void *arg, const struct calfetch_result *r);

struct calfetch;

/* Starts fetching cal (borrowed for the call: its source is copied): a URL with GET over TLS with
 * verification (ca_file, may be NULL: the system roots; the caller passes $SSL_CERT_FILE), at most
 * CALFETCH_TIMEOUT_MS, CALFETCH_MAX_BYTES, plain http only when the URL is
 * loopback and redirects only to https; a file with calfetch_file. done
 * runs once on the loop, never from inside calfetch_start; the fetch frees
 * itself after it returns. NULL on allocation failure (done not called). */
struct calfetch *calfetch_start(struct loop *loop, const struct cfg_calendar *cal, ymd_t today,
				const char *ca_file, calfetch_fn done, void *arg);
/* Stops a fetch whose done has not run (it never will) and frees it.
 * Accepts NULL. */
void calfetch_cancel(struct calfetch *f);

#endif
