/* The one backoff shape of envbot (the shape of lws_retry_bo_t): a table of
 * delays, the last one repeating, plus jitter. Every retry loop names its
 * policy as a const struct backoff; the delays are data, not code. */
#ifndef ENVBOT_BACKOFF_H
#define ENVBOT_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backoff {
	const uint32_t *table_ms; /* delay before retry i (0-based); the last repeats */
	size_t count;             /* entries in table_ms, at least 1 */
	/* Added jitter: up to jitter_pct percent of the delay on top of it
	 * (lws_retry_bo_t's jitter_percent). */
	unsigned jitter_pct;
	/* Full jitter (AWS): a uniform draw in [0, delay) instead; jitter_pct
	 * is then ignored. */
	bool full_jitter;
};

/* Number of entries of a table, for struct backoff's count. */
#define BACKOFF_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The delay in ms before retry attempt (0-based; past the table the last
 * entry repeats), with jitter drawn from rnd in [0, 1) (rand_unit()). An rnd
 * outside [0, 1) or NaN counts as 0: no jitter (added jitter) or no delay
 * (full jitter). Pure; bo is borrowed. */
uint64_t backoff_ms(const struct backoff *bo, unsigned attempt, double rnd);

#endif
