/* The one writer of the state file in `envbot run`: saves now (what is
 * acknowledged to a user waits on it) or soon (coalesced to one save per
 * loop iteration however many ask: audit lines, workflow bookkeeping). The
 * daemon owns it and hands it to the workflow manager, the scheduler's save
 * callback and the commands, so a burst of 200 commands costs one fsync.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_SAVER_H
#define ENVBOT_SAVER_H

#include "../core/loop.h"
#include "../core/rc.h"
#include "state.h"

struct saver;

/* loop and state are borrowed and must outlive the saver; path is copied.
 * Returns NULL on allocation failure. */
struct saver *saver_create(struct loop *loop, struct state *state, const char *path);
/* The same saver writing to a DynamoDB table (ddb_store.h, borrowed) instead
 * of a file. A write refused because this replica is no longer the one that
 * may write (the lease is gone, or another replica wrote) calls lost (on the
 * loop thread, from inside the save) after the save reports BOT_EIO. */
struct ddb_store;
typedef void (*saver_lost_fn)(void *arg, const char *why);
struct saver *saver_create_ddb(struct loop *loop, struct state *state, struct ddb_store *store,
			       saver_lost_fn lost, void *arg);
/* Accepts NULL. A save still pending is dropped: call saver_save_now first
 * to keep it. */
void saver_destroy(struct saver *sv);

/* Writes the state to the path now (atomic), and cancels a pending save
 * (this one covers it). On failure logs the reason and returns BOT_EIO:
 * callers that acknowledge a change to a user must say it was not saved. */
enum bot_rc saver_save_now(struct saver *sv);
/* Saves at the next loop iteration; more asks before then cost nothing.
 * Saves at once if no timer can be had. Accepts NULL (nothing persisted). */
void saver_save_soon(struct saver *sv);
/* If a save is pending, does it now: for what must be on disk before the
 * current callback returns (an ACK leaves right after it). */
void saver_flush(struct saver *sv);
/* SIGHUP changed state_file: later saves go to path (copied). BOT_ENOMEM
 * keeps the old path. */
enum bot_rc saver_set_path(struct saver *sv, const char *path);
/* The path saves go to; borrowed until saver_set_path. */
const char *saver_path(const struct saver *sv);

#endif
