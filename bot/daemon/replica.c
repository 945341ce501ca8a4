/* The lease loop of replica.h. One timer: the next acquire attempt (standby)
 * or renewal (active). The fence is moved forward only by a renewal's
 * answer, from the instant the renewal was sent; nothing else opens it. */
#include "replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"

#define MOD      "replica"
#define RETRY_MS 1000u /* after a call that got no answer */

struct replica {
	struct loop *loop;
	struct ddb_store *store;
	struct fence *fence;
	struct replica_cb cb;
	int64_t lease_ms, every_ms;
	bool active, started, in_flight, lost;
	int64_t since;     /* Unix s */
	int64_t sent_mono; /* when the call in flight was sent */
	unsigned failures;
	struct loop_timer *timer;
	struct loop_timer *deadline; /* active: when the fence closes */
	char owner[DDB_OWNER_MAX];
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct replica *replica_create(struct loop *loop, struct ddb_store *store, int lease_s,
			       struct fence *fence, const struct replica_cb *cb)
{
	struct replica *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	r->store = store;
	r->fence = fence;
	r->cb = *cb;
	r->lease_ms = (int64_t)lease_s * 1000;
	r->every_ms = r->lease_ms / 3;
	r->since = (int64_t)time(NULL);
	fence_init(fence);
	return r;
}

void replica_destroy(struct replica *r)
{
	if (!r)
		return;
	loop_timer_cancel(r->loop, r->timer);
	loop_timer_cancel(r->loop, r->deadline);
	ddb_lease_cancel(r->store);
	free(r);
}

bool replica_active(const struct replica *r)
{
	return r->active;
}

int64_t replica_since(const struct replica *r)
{
	return r->since;
}

unsigned replica_failures(const struct replica *r)
{
	return r->failures;
}

const char *replica_owner(const struct replica *r)
{
	return r->owner;
}

static void tick(void *arg);

static void schedule(struct replica *r, uint64_t ms)
{
	loop_timer_cancel(r->loop, r->timer);
	r->timer = loop_timer_add(r->loop, ms, tick, r);
}

void replica_lost(struct replica *r, const char *why)
{
	if (r->lost)
		return;
	r->lost = true;
	fence_close(r->fence);
	loop_timer_cancel(r->loop, r->timer);
	r->timer = NULL;
	loop_timer_cancel(r->loop, r->deadline);
	r->deadline = NULL;
	log_error(MOD, "msg=\"leadership lost; no longer acting\" owner=%s token=%lld why=\"%s\"",
		  ddb_store_owner(r->store), (long long)ddb_store_token(r->store), why);
	r->active = false;
	r->cb.on_lost(r->cb.arg, why);
}

/* The fence closed by time: no renewal got through since. */
static void deadline_passed(void *arg)
{
	struct replica *r = arg;
	r->deadline = NULL;
	if (!fence_ok(r->fence))
		replica_lost(r, "the lease could not be renewed in time");
}

/* The lease is ours until sent_mono + lease: act until a third before. */
static void extend(struct replica *r)
{
	int64_t until = r->sent_mono + r->lease_ms - r->every_ms;
	fence_open_until(r->fence, until);
	loop_timer_cancel(r->loop, r->deadline);
	int64_t in = until - fence_now_ms();
	r->deadline = loop_timer_add(r->loop, in > 0 ? (uint64_t)in + 1 : 0, deadline_passed, r);
}

static void on_answer(void *arg, enum bot_rc rc, const char *why)
{
	struct replica *r = arg;
	r->in_flight = false;
	if (r->lost)
		return;
	if (rc == BOT_OK) {
		r->failures = 0;
		snprintf(r->owner, sizeof(r->owner), "%s", ddb_store_owner(r->store));
		if (r->active && fence_now_ms() >= r->sent_mono + r->lease_ms - r->every_ms) {
			/* answered, but too late to count: the fence closed meanwhile */
			replica_lost(r, "the lease's renewal came back too late");
			return;
		}
		extend(r);
		schedule(r, (uint64_t)r->every_ms);
		if (!r->active) {
			r->active = true;
			r->since = (int64_t)time(NULL);
			log_info(MOD, "msg=\"active: the lease is ours\" owner=%s token=%lld",
				 ddb_store_owner(r->store), (long long)ddb_store_token(r->store));
			r->cb.on_active(r->cb.arg);
		}
		return;
	}
	if (rc == BOT_EBUSY) {
		r->failures = 0;
		if (r->active) {
			replica_lost(r, why);
			return;
		}
		snprintf(r->owner, sizeof(r->owner), "another replica");
		schedule(r, (uint64_t)r->every_ms);
		return;
	}
	r->failures++;
	log_warn(MOD, "msg=\"lease call failed\" active=%s failures=%u why=\"%s\"",
		 r->active ? "true" : "false", r->failures, why);
	schedule(r, r->active ? RETRY_MS : (uint64_t)r->every_ms);
}

static void tick(void *arg)
{
	struct replica *r = arg;
	r->timer = NULL;
	if (r->lost || r->in_flight)
		return;
	if (r->active && !fence_ok(r->fence)) {
		replica_lost(r, "the lease could not be renewed in time");
		return;
	}
	r->sent_mono = fence_now_ms();
	enum bot_rc rc =
		r->active ? ddb_lease_renew(r->store, wall_ms(), r->lease_ms, on_answer, r)
			  : ddb_lease_acquire(r->store, wall_ms(), r->lease_ms, on_answer, r);
	if (rc == BOT_OK) {
		r->in_flight = true;
		return;
	}
	r->failures++;
	schedule(r, RETRY_MS);
}

void replica_start(struct replica *r)
{
	if (r->started)
		return;
	r->started = true;
	log_info(MOD, "msg=\"standby: watching the lease\" owner=%s table=%s lease_s=%lld",
		 ddb_store_owner(r->store), ddb_store_table(r->store),
		 (long long)(r->lease_ms / 1000));
	schedule(r, 0);
}

void replica_release(struct replica *r)
{
	if (!r || !r->active)
		return;
	char err[512];
	fence_close(r->fence);
	loop_timer_cancel(r->loop, r->timer);
	r->timer = NULL;
	loop_timer_cancel(r->loop, r->deadline);
	r->deadline = NULL;
	ddb_lease_cancel(r->store);
	r->active = false;
	if (ddb_lease_release(r->store, err, sizeof(err)) == BOT_OK)
		log_info(MOD, "msg=\"lease released\" owner=%s", ddb_store_owner(r->store));
	else
		log_warn(MOD,
			 "msg=\"lease not released; the standby waits for it to run out\" "
			 "why=\"%s\"",
			 err);
}
