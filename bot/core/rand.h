/* The one random source of envbot: the kernel's (getrandom), with no state
 * of our own, so threads share nothing and nothing needs seeding. For
 * jitter and nonces (spread and uniqueness), never for keys: if the kernel
 * refuses, a clock-based fallback keeps the caller going. */
#ifndef ENVBOT_RAND_H
#define ENVBOT_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf (n bytes, caller-owned) with random bytes. Never fails. */
void rand_bytes(void *buf, size_t n);

/* A uniform 64-bit value. */
uint64_t rand_u64(void);

/* A uniform double in [0, 1) (53 random bits). */
double rand_unit(void);

#endif
