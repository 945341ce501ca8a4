/* Schedules: 5-field cron expressions evaluated in IANA time zones.
 *
 * Semantics (CONTRACT.md): minute hour day-of-month month day-of-week, with
 * names (JAN-DEC, SUN-SAT), lists, ranges and steps; when both day fields are
 * restricted a day matches if either matches (the standard OR rule). A local
 * time that does not exist (spring forward) fires at the first instant after
 * the gap; a local time that happens twice (fall back) fires once, at its
 * first occurrence. No fire is lost or doubled across a transition. */
#ifndef ENVBOT_CRON_H
#define ENVBOT_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tz.h"

struct cron {
	uint64_t minutes; /* bit m for minute 0-59 */
	uint32_t hours;   /* bit h for 0-23 */
	uint32_t mdays;   /* bit d for 1-31 */
	uint16_t months;  /* bit m for 1-12 */
	uint8_t wdays;    /* bit w for 0-6, Sunday = 0 (7 accepted as Sunday) */
	bool mday_star;   /* day-of-month field was "*" (or "*" with a step) */
	bool wday_star;
};

/* Parses expr. Returns 0, or -1 with a reason in err ("field 2 (hour): 25 is
 * out of range 0-23"). */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen);

/* Describes a parsed expression in words into buf ("at 09:00 on Mon-Fri"). */
void cron_describe(const char *expr, char *buf, size_t len);

/* The first fire time strictly after `after` (UTC). Returns 0, or -1 if the
 * expression never fires (e.g. "0 0 31 2 *") within the search horizon. */
int cron_next(const struct cron *c, const struct tz *tz, time_t after, time_t *out);
/* The last fire time at or before `at` (UTC): for catch-up. Returns 0 or -1. */
int cron_prev(const struct cron *c, const struct tz *tz, time_t at, time_t *out);

#endif
