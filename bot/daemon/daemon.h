/* The daemon proper of `envbot run`, plugged into struct bot: the state file,
 * the AWS client, the workflow manager (with resume of workflows in flight)
 * and the scheduler. bot.c stays the switchboard; this is what it switches
 * to. Threading: loop thread only. */
#ifndef ENVBOT_DAEMON_H
#define ENVBOT_DAEMON_H

#include "../wf/wf.h"
#include "bot.h"

/* Loads the state (refusing to start on a corrupt file without a good
 * backup), creates the AWS client and the workflow manager, resumes
 * workflows in flight, starts the scheduler (with catch-up). Returns BOT_OK
 * or an error already logged (the exit status follows bot_exit_status). */
enum bot_rc daemon_start(struct bot *bot);
/* Saves the state and frees what daemon_start made. Accepts a bot whose
 * daemon never started. Workflows still running stay in the state file and
 * resume at the next start. */
void daemon_stop(struct bot *bot);
/* SIGHUP: re-reads the config; on any error keeps the running config and
 * logs why. */
void daemon_reload(struct bot *bot);

/* The scheduler's part (daemon_sched.c): created with the current config,
 * started with catch-up; stopped before the config it borrows goes away. */
enum bot_rc daemon_sched_start(struct bot *bot);
void daemon_sched_stop(struct bot *bot);

/* The metrics registry and, when health.listen is set, the /healthz and
 * /metrics listener (daemon_health.c). */
enum bot_rc daemon_health_start(struct bot *bot);
void daemon_health_stop(struct bot *bot);
/* Counts a finished workflow by action and outcome. */
void daemon_count_workflow(struct bot *bot, const struct wf *wf);

#endif
