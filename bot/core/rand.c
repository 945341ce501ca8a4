/* rand.h on getrandom(2). The fallback (no getrandom, e.g. a seccomp filter
 * returning ENOSYS) mixes the clock and the stack address through splitmix64:
 * distinct per call and per process, which is all jitter and nonces need. */
#include "rand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static void fallback_bytes(unsigned char *p, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t x = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
		     ((uint64_t)getpid() << 48) ^ (uint64_t)(uintptr_t)&ts;
	while (n) {
		x = splitmix64(x);
		size_t k = n < sizeof(x) ? n : sizeof(x);
		memcpy(p, &x, k);
		p += k;
		n -= k;
	}
}

void rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fallback_bytes(p, n);
			return;
		}
		p += got;
		n -= (size_t)got;
	}
}

uint64_t rand_u64(void)
{
	uint64_t x;
	rand_bytes(&x, sizeof(x));
	return x;
}

double rand_unit(void)
{
	return (double)(rand_u64() >> 11) / 9007199254740992.0; /* 2^53 */
}
