/* The switch of fence.h: an atomic deadline on the monotonic clock. */
#include "fence.h"

#include <time.h>

void fence_init(struct fence *f)
{
	atomic_store(&f->open_until_ms, 0);
}

void fence_open_until(struct fence *f, int64_t until_ms)
{
	atomic_store(&f->open_until_ms, until_ms);
}

void fence_close(struct fence *f)
{
	atomic_store(&f->open_until_ms, 0);
}

int64_t fence_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool fence_ok(const struct fence *f)
{
	return !f || fence_now_ms() < atomic_load(&f->open_until_ms);
}
