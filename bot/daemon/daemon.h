/* The daemon proper of `envbot run`, behind bot.c's switchboard: the config
 * (and the ones SIGHUP retired), the state file and its saver, the AWS
 * client, the workflow manager (with resume of workflows in flight), the
 * scheduler, /healthz and /metrics, and the handles the commands get.
 * Private to bot/daemon. Threading: loop thread only. */
#ifndef ENVBOT_DAEMON_H
#define ENVBOT_DAEMON_H

#include "../../commands/commands.h"
#include "../../config/config.h"
#include "../core/loop.h"
#include "../core/rc.h"
#include "../discord/gw.h"
#include "../discord/interact.h"
#include "../discord/rest.h"
#include "../wf/wf.h"

struct daemon;

/* Takes ownership of cfg (also on failure); loop and rest are borrowed and
 * must outlive the daemon. Nothing runs yet. NULL on allocation failure. */
struct daemon *daemon_create(struct loop *loop, struct rest *rest, struct cfg *cfg);
/* With state.backend = "dynamodb", first waits as a standby (health
 * listener only) until the lease is ours, then reads the state from the
 * table; BOT_ECANCELLED when a signal ends the wait. Then: loads the state (refusing to start on a
 * corrupt file without a good backup), creates the AWS client and the workflow manager, resumes
 * workflows in flight, starts the scheduler (with catch-up). Returns BOT_OK
 * or an error already logged (the exit status follows bot_exit_status). */
enum bot_rc daemon_start(struct daemon *d);
/* Accepts NULL. Saves the state and frees everything, the configs too.
 * Workflows still running stay in the state file and resume at the next
 * start. Destroy the rest client first: its cancelled callbacks still find
 * the workflows and the state. */
void daemon_destroy(struct daemon *d);
/* SIGHUP: re-reads the config and applies it to every module; on any error
 * keeps the running config and logs why. */
void daemon_reload(struct daemon *d);
/* The fence the gateway must ask (replica.h); NULL with the state file. */
struct fence;
const struct fence *daemon_fence(const struct daemon *d);
/* Leadership lost: replaces the process with a fresh standby (reexec.c).
 * Never returns. */
void daemon_reexec(void) __attribute__((noreturn));
/* The current config; borrowed until the next daemon_reload. */
const struct cfg *daemon_cfg(const struct daemon *d);
/* Routes an interaction to the commands. Takes ownership of ix. */
void daemon_dispatch(struct daemon *d, struct ix *ix);
/* The gateway /healthz and /metrics report on (borrowed; NULL before it
 * exists and once it is destroyed). */
void daemon_set_gateway(struct daemon *d, struct gw *gw);

/* ---- the scheduler's part (daemon_sched.c) ---- */

/* Creates the scheduler on deps->cfg and starts it (catch-up first). deps
 * is borrowed for the scheduler's life: its callbacks read the current
 * handles through it (workflows, state, saver, the stop warning). NULL
 * (logged) on failure. */
struct sched *daemon_sched_start(struct loop *loop, const struct cmd_deps *deps);

/* ---- /healthz and /metrics (daemon_health.c) ---- */

struct daemon_health;
/* The metrics registry and, when deps->cfg->health_listen is set, the
 * listener. deps is borrowed for the result's life (figures are read from
 * the current handles at scrape time). BOT_OK with *out, or an error
 * already logged. */
enum bot_rc daemon_health_create(struct loop *loop, const struct cmd_deps *deps,
				 struct daemon_health **out);
/* Accepts NULL. */
void daemon_health_destroy(struct daemon_health *dh);
/* gw is borrowed; NULL: no gateway (yet, or any more). */
void daemon_health_set_gateway(struct daemon_health *dh, struct gw *gw);
/* r is borrowed; NULL: one replica (the state file). */
struct replica;
void daemon_health_set_replica(struct daemon_health *dh, const struct replica *r);
/* Counts a finished workflow by action and outcome. Accepts a NULL dh. */
void daemon_count_workflow(struct daemon_health *dh, const struct wf *wf);

#endif
