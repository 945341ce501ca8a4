/* The active replica's permission to act (#17, two replicas): one switch
 * that every outgoing side effect consults before it leaves the process:
 * an AWS request attempt, a Discord REST request, a gateway payload, a
 * state write. It is open until a monotonic instant the leadership module
 * sets after each renewal of its lease; past that instant it is closed by
 * time alone, with no code having to run: a replica that was paused
 * (SIGSTOP, a VM freeze) longer than its lease finds it closed on the first
 * thing it tries after it resumes.
 *
 * A NULL fence is always open (one replica, the state file: nothing to
 * fence). Threading: any thread (the gateway's reads it too); the instant is
 * an atomic. */
#ifndef ENVBOT_FENCE_H
#define ENVBOT_FENCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct fence {
	_Atomic int64_t open_until_ms; /* CLOCK_MONOTONIC ms; 0: closed */
};

/* Closed. */
void fence_init(struct fence *f);
/* Open until the monotonic instant until_ms (fence_now_ms's clock). */
void fence_open_until(struct fence *f, int64_t until_ms);
/* Closed from now on (lost the lease, stepping down). */
void fence_close(struct fence *f);
/* True when f is NULL or open now. */
bool fence_ok(const struct fence *f);
/* Milliseconds of CLOCK_MONOTONIC, which keeps counting while the process is
 * stopped: the clock the fence is judged on. */
int64_t fence_now_ms(void);

#endif
