/* Leadership between two replicas (#17): the lease item in the DynamoDB
 * table (ddb_store.h), taken by the standby when it has run out and renewed
 * by the holder every third of its length. The holder's fence is open until
 * a third of the lease before the lease itself can end, judged from when the
 * renewal was sent, so the holder has stopped acting before the standby may
 * take over (as long as the two clocks agree within that third: NTP).
 *
 * A replica that loses the lease (refused renewal, renewals that do not get
 * through in time, a state write refused by its condition) does not try to
 * carry on: it calls on_lost, and the daemon starts over as a standby.
 * Threading: loop thread only. */
#ifndef ENVBOT_REPLICA_H
#define ENVBOT_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fence.h"
#include "../core/loop.h"
#include "../state/ddb_store.h"

struct replica_cb {
	void (*on_active)(void *arg);                /* the lease is ours: act */
	void (*on_lost)(void *arg, const char *why); /* stop acting, at once */
	void *arg;
};

struct replica;

/* loop, store and fence are borrowed; the fence starts closed. NULL on
 * allocation failure. */
struct replica *replica_create(struct loop *loop, struct ddb_store *store, int lease_s,
			       struct fence *fence, const struct replica_cb *cb);
/* Accepts NULL. Cancels the lease calls; the lease is not released. */
void replica_destroy(struct replica *r);
/* Starts trying to take the lease: now, then every third of the lease. */
void replica_start(struct replica *r);
/* A clean stop: closes the fence and ends the lease at once (blocking), so
 * the standby takes over without waiting for it to run out. */
void replica_release(struct replica *r);
/* From outside (a state write refused): the lease is gone. Calls on_lost. */
void replica_lost(struct replica *r, const char *why);

bool replica_active(const struct replica *r);
/* Unix seconds since when this replica has been active or standby. */
int64_t replica_since(const struct replica *r);
/* Successive failures to reach DynamoDB (0 when the last call got an
 * answer): a standby that cannot see the lease is not healthy. */
unsigned replica_failures(const struct replica *r);
/* Who holds the lease as far as this replica knows ("" when unknown). */
const char *replica_owner(const struct replica *r);

#endif
