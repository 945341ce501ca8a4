/* Time zones by name from the system tz database (/usr/share/zoneinfo),
 * read without touching the process's TZ: conversions between UTC instants
 * and local wall-clock time with cron's rules for gaps and repeats.
 * Implemented in tz.c; cron.h includes this header for its users. */
#ifndef ENVBOT_TZ_H
#define ENVBOT_TZ_H

#include <stdint.h>
#include <time.h>

/* A parsed zone, immutable after tz_open(). */
struct tz;
/* Returns a new zone, or NULL if name is not a zone on this system. Caller
 * frees with tz_destroy. Thread-safe. */
struct tz *tz_open(const char *name);
void tz_destroy(struct tz *tz);
const char *tz_name(const struct tz *tz);
/* Local broken-down time of t in tz (tm_gmtoff and tm_zone filled; tm_zone
 * points into tz and lives as long as it). */
void tz_local(const struct tz *tz, time_t t, struct tm *out);

/* Seconds east of UTC in effect at t. */
int32_t tz_offset(const struct tz *tz, time_t t);
/* The instant at which the local wall-clock time `wall` (seconds since
 * 1970-01-01 00:00 as if local time were UTC) happens, with cron's rules: a
 * repeated time resolves to its first occurrence, a time inside a gap to the
 * first instant after the gap. Monotonic (non-decreasing) in wall. */
time_t tz_resolve(const struct tz *tz, int64_t wall);
/* The latest wall-clock time the zone's clock has shown at or before `at`
 * (later than `at`'s own wall time just after a fall-back). */
int64_t tz_last_wall(const struct tz *tz, time_t at);

#endif
