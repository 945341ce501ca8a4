/* The state in a DynamoDB table, for two replicas (#17): the same document
 * the state file holds (state_dump), compressed, and the leader lease.
 *
 * Table: one string hash key "pk" (deploy/cloudformation/envbot.yaml makes
 * it, on-demand, point-in-time recovery on). Items:
 *   "leader"   owner, token (the fencing counter, grows by one with every
 *              new holder), expires_ms and since_ms (Unix ms, the holder's
 *              clock).
 *   "state"    ver (grows by one with every write), token (of the writer),
 *              owner, parts, bytes (uncompressed), saved_ms, d (the first
 *              part of the zlib-compressed document, binary).
 *   "state#K"  ver, d: the document's further parts (K = 1..parts-1), for
 *              documents over one item's size (400 KB); at most
 *              DDB_MAX_PARTS, one transaction's worth.
 * Every state write is one TransactWriteItems: a ConditionCheck that the
 * lease is still ours with our token (a paused, superseded leader cannot
 * write), the header Put conditional on the version we read (a stale writer
 * fails instead of overwriting) and the parts. A failed condition is
 * BOT_EBUSY: this replica is no longer the one that may write.
 *
 * The lease calls run on the loop (aws_call_json); the state's reads and
 * writes block (aws_call_json_sync), as the state file's do.
 * Threading: loop thread only. */
#ifndef ENVBOT_DDB_STORE_H
#define ENVBOT_DDB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../aws/aws.h"
#include "../core/fence.h"
#include "../core/rc.h"
#include "state.h"

#define DDB_OWNER_MAX  160
#define DDB_PART_BYTES 300000 /* compressed bytes per item: under 400 KB */
#define DDB_MAX_PARTS  12     /* a transaction carries at most 4 MB */

struct ddb_store;

/* aws (a client of the table's region, not fenced: the lease calls must get
 * through when the fence is closed), table and owner (this process's unique
 * name, "replica#pid-nonce") are borrowed/copied as said; fence (may be
 * NULL) is asked before every state write. NULL on allocation failure. */
struct ddb_store *ddb_store_create(struct aws *aws, const char *table, const char *owner,
				   const struct fence *fence);
void ddb_store_destroy(struct ddb_store *s);
const char *ddb_store_owner(const struct ddb_store *s);
const char *ddb_store_table(const struct ddb_store *s);
/* The fencing token held (0: none) and the state version last read or
 * written (0: no state item seen). */
int64_t ddb_store_token(const struct ddb_store *s);
int64_t ddb_store_version(const struct ddb_store *s);

/* --- The lease. --- */

struct ddb_lease_info {
	bool found;
	char owner[DDB_OWNER_MAX];
	int64_t token, expires_ms, since_ms;
};

/* rc BOT_OK: the lease is ours (token in ddb_store_token); BOT_EBUSY:
 * another owner holds it and it has not expired (acquire), or it is no
 * longer ours (renew); other: DynamoDB did not answer (why says). */
typedef void (*ddb_lease_fn)(void *arg, enum bot_rc rc, const char *why);
/* Takes the lease when it is free or expired at now_ms (Unix ms): owner
 * becomes ours, expires_ms = now_ms + lease_ms, token + 1. */
enum bot_rc ddb_lease_acquire(struct ddb_store *s, int64_t now_ms, int64_t lease_ms,
			      ddb_lease_fn cb, void *arg);
/* Pushes our lease's expiry to now_ms + lease_ms, if owner and token are
 * still ours. */
enum bot_rc ddb_lease_renew(struct ddb_store *s, int64_t now_ms, int64_t lease_ms, ddb_lease_fn cb,
			    void *arg);
/* The same two, blocking (`envbot migrate-state`). */
enum bot_rc ddb_lease_acquire_sync(struct ddb_store *s, int64_t now_ms, int64_t lease_ms, char *err,
				   size_t errlen);
/* Ends our lease at once (expires_ms = 0) so the standby need not wait for
 * it to run out: at a clean stop. Blocking. */
enum bot_rc ddb_lease_release(struct ddb_store *s, char *err, size_t errlen);
/* Reads the lease item (doctor, migrate-state, tests). Blocking. */
enum bot_rc ddb_lease_read(struct ddb_store *s, struct ddb_lease_info *out, char *err,
			   size_t errlen);
/* Cancels the lease calls in flight; their callbacks will not run. */
void ddb_lease_cancel(struct ddb_store *s);

/* --- The state. Blocking. --- */

/* Reads the state: BOT_OK with *out (caller destroys) and *missing = false,
 * or BOT_OK with *out = an empty state and *missing = true when the table
 * holds none yet; BOT_EPARSE for a document that does not decode (err says
 * why: the daemon refuses to start rather than start empty). Remembers the
 * version for the next write. */
enum bot_rc ddb_state_read(struct ddb_store *s, struct state **out, bool *missing, char *err,
			   size_t errlen);
/* Writes st as the next version (conditional, fenced: see above). */
enum bot_rc ddb_state_write(struct ddb_store *s, const struct state *st, char *err, size_t errlen);

#endif
