/* struct bot: the one context of `envbot run`. It owns the event loop, the
 * REST client, the gateway and the config, and routes interactions to their
 * handlers (a table in bot.c). Later issues add the scheduler, workflows and
 * state here; every module gets only the handles it needs from it.
 *
 * Threading: loop thread only (the gateway thread talks to it via posts). */
#ifndef ENVBOT_BOT_H
#define ENVBOT_BOT_H

#include "../../config/config.h"
#include "../core/loop.h"
#include "../core/rc.h"
#include "../discord/gw.h"
#include "../discord/interact.h"
#include "../discord/rest.h"

struct bot {
	struct cfg *cfg; /* owned */
	char *token;     /* owned; registered as a log secret */
	struct loop *loop;
	struct rest *rest;
	struct gw *gw;
	int signal_fd;   /* -1 if none */
	int exit_status; /* what `run` returns once the loop stops */
	bool stopping;
	bool ready;                /* READY seen at least once */
	unsigned gateway_attempts; /* GET /gateway/bot failures in a row */
	struct loop_timer *retry_timer;
	char gateway_url[512];
	struct gw_start_limit start_limit;

	/* The daemon proper (workflows issue): owned, created by bot_run. */
	struct aws *aws;
	struct state *state; /* persisted to cfg->state_file by bot_save_state */
	struct wfm *wfm;
	struct sched *sched;
	struct metrics *metrics;       /* /metrics registry */
	struct health *health;         /* health.listen; NULL if not configured */
	struct daemon_health *dhealth; /* what /metrics mirrored already */
	struct loop_timer *expire_timer;
	struct loop_timer *save_timer;
	/* bot_save_state_soon */ /* overrides expiry, every 10 minutes */
	/* Configs replaced by SIGHUP: running workflows and the AWS client
	 * borrow from them, so they live until exit. */
	struct cfg **retired;
	size_t n_retired;
};

/* An interaction handler: owns ix (frees it with ix_free when done, possibly
 * much later, e.g. when a workflow finishes). */
typedef void (*bot_ix_fn)(struct bot *bot, struct ix *ix);

/* Builds the context: takes ownership of cfg and token (also on failure).
 * Returns NULL on allocation failure. */
struct bot *bot_create(struct cfg *cfg, char *token);
/* Accepts NULL. Stops the gateway first. */
void bot_destroy(struct bot *bot);

/* Registers the slash commands if they changed, fetches the gateway URL,
 * starts the gateway, and runs the loop until a signal or a fatal error.
 * Returns the process exit status (0, 1, 2 or 3). */
int bot_run(struct bot *bot);

/* Writes bot->state to cfg->state_file now (atomic). On failure logs the
 * reason and returns BOT_EIO: callers that acknowledge a change to a user
 * must say it was not saved. */
enum bot_rc bot_save_state(struct bot *bot);
/* Saves soon, once per loop iteration however many ask: for what needs no
 * acknowledgement to wait on it (audit lines, workflow bookkeeping), so a
 * burst of 200 commands costs one fsync, not 200, before their ACKs leave. */
void bot_save_state_soon(struct bot *bot);

/* Asks the loop to stop with this exit status (first call wins). */
void bot_stop(struct bot *bot, int exit_status);

/* Result of bot_sync_commands: rc BOT_OK (changed tells whether a PUT was
 * needed), BOT_EAUTH (token refused), or another failure. */
typedef void (*bot_sync_fn)(void *arg, enum bot_rc rc, bool changed, int n_commands);
/* Compares the registered slash commands with commands/definitions.c (GET)
 * and bulk-overwrites them (PUT) when they differ: guild commands when
 * cfg->guild_id is set, else global. Runs on the loop; done is called once.
 * cfg is borrowed until done. */
void bot_sync_commands(struct rest *rest, const struct cfg *cfg, bot_sync_fn done, void *arg);

#endif
