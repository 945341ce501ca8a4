/* Workflows: the start/stop procedures of an environment, each a table of
 * states (task, choice, wait, succeed, fail; retry and catch per state; a
 * 60-minute overall timeout) run by one small interpreter — the same shape as
 * the Step Functions definitions they replace, so reading a table
 * (each kind brings its own: bot/kinds/stack.c, ec2.c) is reading the
 * behaviour.
 *
 * A workflow reports through its observer: every state entered
 * (checkpoint: persist it), every visible change (changed: redraw the
 * embed), and the end (finished). Threading: loop thread only. */
#ifndef ENVBOT_WF_H
#define ENVBOT_WF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../aws/aws.h"
#include "../../config/config.h"
#include "../core/action.h"
#include "../core/loop.h"
#include "../state/state.h"

enum wf_status { WF_RUNNING = 0, WF_SUCCEEDED = 1, WF_FAILED = 2 };
enum wf_mark { WF_PENDING = 0, WF_ACTIVE, WF_DONE, WF_SKIPPED, WF_ERROR };

#define WF_MAX_STEPS  64 /* a group's members are its steps (CFG_MAX_MEMBERS 50) */
#define WF_TIMEOUT_MS (60u * 60u * 1000u)
#define WF_POLL_MS    5000u /* ≤ 1 DescribeStacks per 5 s; "done" seen within 10 s */

/* A step as the embed shows it: several states of the table may report
 * under one step ("Wait for CREATE_COMPLETE" covers Wait and Poll). */
struct wf_step {
	const char *label;
	bool msgid; /* label is a table's (N_): translated where shown; a
		       member's or region's name is not */
	enum wf_mark mark;
	uint64_t started_ms, ended_ms; /* loop_now_ms(); 0 = not yet */
	char detail[192];              /* "ap-northeast-2 stack CREATE_IN_PROGRESS" */
};

struct wf;

struct wf_observer {
	/* A state was entered (name from the table): persist it. May be NULL. */
	void (*checkpoint)(void *arg, struct wf *wf);
	/* Something visible changed: redraw. May be NULL. */
	void (*changed)(void *arg, struct wf *wf);
	/* The workflow ended (wf_status() tells how). The observer owns wf and
	 * destroys it, possibly later (the final embed edit may still need it). */
	void (*finished)(void *arg, struct wf *wf);
	/* Saved capacities (struct state_capacity), under the environment's
	 * root (a group member's are its group's). save returns once c is
	 * durable (on disk): the kind sends its scale-down only after BOT_OK.
	 * NULL save: nothing can be kept here, the kind refuses to scale down;
	 * NULL load: nothing saved. */
	enum bot_rc (*save_capacity)(void *arg, struct wf *wf, const struct state_capacity *c,
				     char *err, size_t errlen);
	bool (*load_capacity)(void *arg, struct wf *wf, const char *key,
			      struct state_capacity *out);
	void *arg;
};

struct wf_params {
	const struct cfg_env *env; /* borrowed; must outlive the workflow */
	enum action action;
	const char *trigger; /* "schedule", "catch-up", "/env start by alice"; copied */
	/* The language of what people read of it (its embed, its summary as
	 * shown): "ko", NULL or "en" for English; copied. The trigger, the
	 * summary and the log stay English for the audit and events out. */
	const char *locale;
	/* The trigger as its embed shows it, in locale; NULL: trigger. */
	const char *trigger_said;
	const char *id; /* workflow id, the idempotency token; NULL = new */
	/* Resume after a crash (all NULL for a fresh run): the state to restart
	 * in ("STATE", or "STATE:DATA" with the kind's own data after the
	 * colon, as wf_resume_point gave it), the stack id and the image tag
	 * already chosen. Every task is
	 * idempotent (reads, and writes with the same ClientRequestToken), so
	 * re-entering the persisted state is safe. */
	const char *resume_state;
	const char *resume_stack_id;
	const char *resume_image_tag;
	uint64_t poll_ms; /* 0 = WF_POLL_MS, or $ENVBOT_TEST_POLL_MS (a test knob) */
	/* The region to act in, of an environment of several (its fan-out
	 * sets it per region); NULL: the environment's own. */
	const char *region;
};

/* Returns a new workflow (not started), or NULL on allocation failure, an
 * unknown resume_state or an environment of no registered kind. aws, loop
 * and env are borrowed. The workflow's calls go through env's own client
 * (kind_aws: its region, its role); an environment of several regions runs
 * its kind's workflow in each at once. */
struct wf *wf_create(struct loop *loop, struct aws *aws, const struct wf_params *p,
		     const struct wf_observer *obs);
/* Accepts NULL. Cancels timers and AWS calls in flight; no observer call
 * follows. */
void wf_destroy(struct wf *wf);
/* Enters the first (or resumed) state. */
void wf_begin(struct wf *wf);

/* Read-only views (borrowed, valid until the next loop callback). */
const char *wf_id(const struct wf *wf);
const struct cfg_env *wf_env(const struct wf *wf);
enum action wf_action(const struct wf *wf);
enum wf_status wf_status(const struct wf *wf);
const char *wf_trigger(const struct wf *wf);
const char *wf_locale(const struct wf *wf);       /* "en", "ko" */
const char *wf_trigger_said(const struct wf *wf); /* in wf_locale */
const char *wf_state_name(const struct wf *wf);   /* current state of the table */
/* The state a resume would re-enter now: the current one, or for a wait the
 * poll it waits for. Persist this; it changes only at real progress, not at
 * every poll. */
const char *wf_resume_point(const struct wf *wf);
const char *wf_stack_id(const struct wf *wf); /* "" if none */
/* A group member's workflow is its group's child; NULL for a top one. */
const struct wf *wf_parent(const struct wf *wf);
const char *wf_stack_status(const struct wf *wf);
const char *wf_image_tag(const struct wf *wf);  /* "" if none */
const char *wf_image_rule(const struct wf *wf); /* why that tag */
/* The outcome in one line: "created in 4m12s", "already up", or the failure
 * reason ("ApiTask (AWS::ECS::Service): Resource handler returned ..."). */
const char *wf_summary(const struct wf *wf);
/* The same in wf_locale, as the embed shows it. */
const char *wf_summary_said(const struct wf *wf);
/* What was left alone on purpose, with why ("i-0abc (envbot:exclude=true)"),
 * "; "-separated; "" when nothing. */
const char *wf_skipped(const struct wf *wf);
/* Extra lines for the embed: stack outputs "Key: value", instance states. */
size_t wf_n_details(const struct wf *wf);
const char *wf_detail(const struct wf *wf, size_t i);
size_t wf_steps(const struct wf *wf, const struct wf_step **steps);
uint64_t wf_started_ms(const struct wf *wf);
uint64_t wf_elapsed_ms(const struct wf *wf);
/* The error that ended a failed workflow (BOT_EAUTH: credentials refused),
 * BOT_EFAILED for a failure AWS reported (rollback, DELETE_FAILED). */
enum bot_rc wf_error_rc(const struct wf *wf);
/* True when the selection (a tag, a name) matched nothing. */
bool wf_found_none(const struct wf *wf);
/* True when the workflow found nothing to do (already up / down). */
bool wf_was_noop(const struct wf *wf);

struct wf_table;
/* Validates a kind's table (state names resolve, steps exist, a Fail state).
 * For the unit test; returns 0 or -1 with the problem in err. */
int wf_check_table(const struct wf_table *t, char *err, size_t errlen);

#endif
