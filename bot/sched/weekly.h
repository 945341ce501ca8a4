/* The weekly report's figures (bot/report/report.h) for one week, from
 * envbot's own record of transitions (the state's uptime intervals, the
 * ones /cost reads) and the schedules: per environment the hours up on each
 * local day, the hours the schedule alone would have had it up, and money
 * at its hourly_cost. Days are local days of the top-level timezone. Pure:
 * the caller passes now. */
#ifndef ENVBOT_WEEKLY_H
#define ENVBOT_WEEKLY_H

#include <time.h>

#include "../../config/config.h"
#include "../report/report.h"
#include "../state/state.h"

/* The Monday of the week holding t (local, cfg's timezone), weeks_back
 * weeks earlier. */
ymd_t weekly_monday(const struct cfg *cfg, time_t t, int weeks_back);

/* Fills *out (weekly_free) for the week starting monday: every top-level
 * environment, in config order. A week not over yet counts up to now (the
 * schedule's hours and always-on too, so the comparison is fair). */
enum bot_rc weekly_build(const struct cfg *cfg, const struct state *st, ymd_t monday, time_t now,
			 struct report *out);
void weekly_free(struct report *r);

/* The instants the week's figures cover: [*from, *to), to clipped at now. */
void weekly_span(const struct cfg *cfg, ymd_t monday, time_t now, time_t *from, time_t *to);

#endif
