/* struct bot: the one context of `envbot run` (opaque). It owns the event
 * loop, the REST client, the gateway and the daemon (daemon.h: config,
 * state, AWS, workflows, scheduler), routes signals and gateway events, and
 * hands interactions to the daemon's commands.
 *
 * Threading: loop thread only (the gateway thread talks to it via posts). */
#ifndef ENVBOT_BOT_H
#define ENVBOT_BOT_H

#include <stdbool.h>

#include "../../config/config.h"
#include "../core/rc.h"
#include "../discord/rest.h"

struct bot;

/* Builds the context: takes ownership of cfg and token (also on failure).
 * Returns NULL on allocation failure. */
struct bot *bot_create(struct cfg *cfg, char *token);
/* Accepts NULL. Stops the gateway first. */
void bot_destroy(struct bot *bot);

/* Registers the slash commands if they changed, fetches the gateway URL,
 * starts the gateway, and runs the loop until a signal or a fatal error.
 * Returns the process exit status (0, 1, 2 or 3). */
int bot_run(struct bot *bot);

/* Result of bot_sync_commands: rc BOT_OK (changed tells whether a PUT was
 * needed), BOT_EAUTH (token refused), or another failure. */
typedef void (*bot_sync_fn)(void *arg, enum bot_rc rc, bool changed, int n_commands);
/* Compares the registered slash commands with commands/definitions.c (GET)
 * and bulk-overwrites them (PUT) when they differ: guild commands when
 * cfg->guild_id is set, else global. Runs on the loop; done is called once.
 * cfg is borrowed until done. */
void bot_sync_commands(struct rest *rest, const struct cfg *cfg, bot_sync_fn done, void *arg);

#endif
