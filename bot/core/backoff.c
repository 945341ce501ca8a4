/* backoff.h: one pure function, so every retry policy is unit-testable with a
 * chosen rnd and the callers only pick a table and draw rand_unit(). */
#include "backoff.h"

uint64_t backoff_ms(const struct backoff *bo, unsigned attempt, double rnd)
{
	if (!bo || !bo->table_ms || bo->count == 0)
		return 0;
	uint32_t base = bo->table_ms[attempt < bo->count ? attempt : bo->count - 1];
	if (!(rnd >= 0.0) || rnd >= 1.0)
		rnd = 0.0;
	if (bo->full_jitter)
		return (uint64_t)(rnd * (double)base);
	return base + (uint64_t)((double)base * ((double)bo->jitter_pct / 100.0) * rnd);
}
