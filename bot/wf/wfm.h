/* The workflow manager of `envbot run`: at most one workflow per
 * environment, any number of environments in parallel; each workflow's
 * progress embed published to Discord (coalesced edits: at most one edit in
 * flight or queued per message, so 200 workflows never trip the channel
 * limit); workflows in flight persisted in the state file and resumed after a
 * restart with their embed finished in place; a finished workflow's last
 * picture kept in the state's outbox until Discord took it, and sent again
 * after a restart (never left "in progress" by a kill -9).
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_WFM_H
#define ENVBOT_WFM_H

#include <stdbool.h>
#include <time.h>

#include "../discord/interact.h"
#include "../discord/rest.h"
#include "../state/saver.h"
#include "../state/state.h"
#include "wf.h"

struct wfm;

struct wfm_deps {
	struct loop *loop;
	struct aws *aws;
	struct rest *rest;     /* NULL: no Discord (CLI) */
	struct state *state;   /* NULL: nothing persisted (CLI) */
	struct saver *saver;   /* saves state; NULL: nothing persisted (CLI) */
	const struct cfg *cfg; /* borrowed; channel_id, guild_id (wfm_set_config) */
	/* Where saved capacities go (struct state_capacity); NULL: state and
	 * saver above. The CLI gives only these: its workflows are not
	 * resumed, but what `envbot stop` scaled down must be restorable. */
	struct state *cap_state;
	struct saver *cap_saver;
	uint64_t poll_ms; /* 0 = WF_POLL_MS */
	/* Called when a new workflow begins (not when one is resumed), before
	 * its first record is written: what it records goes in the same
	 * write (events out). May be NULL. */
	void (*on_started)(void *arg, const struct wf *wf);
	/* Called when a workflow ends, before it is freed (uptime, audit).
	 * May be NULL. */
	void (*on_finished)(void *arg, const struct wf *wf);
	/* Called at every visible change (the CLI prints progress lines).
	 * May be NULL. */
	void (*on_changed)(void *arg, const struct wf *wf);
	void *arg;
};

/* Returns a new manager, NULL on allocation failure. */
struct wfm *wfm_create(const struct wfm_deps *deps);
/* Accepts NULL. Workflows still running are abandoned in memory but stay in
 * the state file, so the next start resumes them (SIGTERM hand-over); final
 * pictures not yet delivered stay in its outbox for the next start. Destroy
 * the rest client first: its pending callbacks (BOT_ECANCELLED) land here. */
void wfm_destroy(struct wfm *wfm);

struct wfm_request {
	const struct cfg_env *env;
	enum action action;
	const char *trigger; /* "schedule", "catch-up", "/env start by alice" */
	/* What people read of it (the embed, its note) is in locale ("ko";
	 * NULL: English), the trigger shown as trigger_said (NULL: trigger);
	 * both recorded with the workflow, so a resumed one keeps them. */
	const char *locale;
	const char *trigger_said;
	/* A slash command whose response was deferred: the embed is its
	 * original response. Ownership passes to the manager on BOT_OK. */
	struct ix *ix;
	/* Otherwise a new message is posted here (NULL = cfg channel_id). */
	const char *channel_id;
	const char *note; /* shown above the steps; may be NULL */
	/* Post nothing if the workflow finds nothing to do (catch-up,
	 * enforce): the environment is already in the wanted state. */
	bool quiet_if_noop;
};

/* SIGHUP: workflows started from now on default to cfg's channel, and
 * links use its guild. cfg is borrowed until the next call or wfm_destroy;
 * running workflows keep the environment of the config they started with,
 * so the caller keeps that config alive too. */
void wfm_set_config(struct wfm *wfm, const struct cfg *cfg);

/* Starts a workflow. BOT_OK; BOT_EBUSY when env already has one (*running,
 * if not NULL, gets it: the caller points the user to it); BOT_ENOMEM.
 * On any error the caller keeps req->ix. */
enum bot_rc wfm_start(struct wfm *wfm, const struct wfm_request *req, const struct wf **running);

/* Queues req, the opposite action of the workflow running for req->env, to
 * start once that one ends (success or failure), once. req->ix must be NULL:
 * the caller answers its interaction; the queued run posts its embed in
 * req->channel_id (NULL = cfg channel_id). The running embed shows it as the
 * next step. who is shown there. Not persisted: a restart forgets it.
 * BOT_OK: queued; BOT_EBUSY: the running workflow is the same action, or an
 * action is queued already (*running, if not NULL, gets the running one);
 * BOT_ENOTFOUND: nothing runs for env (call wfm_start); BOT_EINVAL: ix set. */
enum bot_rc wfm_enqueue(struct wfm *wfm, const struct wfm_request *req, const char *who,
			const struct wf **running);
/* True and *action when an action waits behind env's running workflow. */
bool wfm_queued(const struct wfm *wfm, const char *env, enum action *action);

/* The workflow running for env, or NULL. Borrowed until the next loop
 * callback. */
const struct wf *wfm_running(const struct wfm *wfm, const char *env);
/* A link to its progress message ("https://discord.com/channels/G/C/M"),
 * or "" if not posted yet. */
const char *wfm_link(const struct wfm *wfm, const char *env);
size_t wfm_count(const struct wfm *wfm);

/* Resumes every workflow the state file holds (after a crash or a
 * SIGTERM hand-over): each is re-entered at its persisted state and its
 * existing embed is edited to its end. The outbox's final pictures are not
 * re-run: each is sent (an edit of its message through the channel route,
 * or a new message when its id was never learnt) and its record dropped
 * once Discord took it or refused it for good (403/404/400); other failures
 * are retried on a backoff. Returns how many workflows resumed. */
size_t wfm_resume_all(struct wfm *wfm);

#endif
