/* The workflow interpreter's insides, shared by the engine (wf.c) and the
 * kinds' tables with their tasks (bot/kinds/). Nothing else includes it. */
#ifndef ENVBOT_WF_INTERNAL_H
#define ENVBOT_WF_INTERNAL_H

#include "wf.h"

enum wf_type {
	WF_TASK,    /* starts async work; ends with wf_next() or wf_error() */
	WF_CHOICE,  /* looks at what is known and calls wf_next() at once */
	WF_WAIT,    /* waits poll_ms, then goes to next[0] */
	WF_SUCCEED, /* terminal: success */
	WF_FAIL,    /* terminal: failure */
};

#define WF_MAX_NEXT 6

/* Outcome → next state. The outcome "*" matches any outcome. */
struct wf_next {
	const char *on;
	const char *go;
};

/* Retry of a task on a transient error (throttled, 5xx, network), on top of
 * the AWS module's own three attempts: long outages get a second chance. */
struct wf_retry {
	unsigned attempts; /* 0 = no retry */
	unsigned interval_ms;
};

struct wf_state {
	const char *name;
	enum wf_type type;
	int step; /* index into the table's steps, -1 = not shown */
	void (*run)(struct wf *wf);
	struct wf_retry retry;
	struct wf_next next[WF_MAX_NEXT];
	const char *catch_state; /* after retries; NULL = "Fail" */
	const char *text;        /* SUCCEED/FAIL: the summary, if the task left none */
};

struct wf_table {
	const char *name;              /* "stack/start" */
	const char *const *steps;      /* NULL-ended; a group adds its own (wf_add_step) */
	const struct wf_state *states; /* the first is the start; {0} ends */
	/* No overall timeout of its own: a group's members each have theirs,
	 * and a group of slow members may rightly take longer than one. */
	bool no_deadline;
};

#define WF_MAX_DETAILS   24
#define WF_MAX_INSTANCES 10000 /* more is refused loudly, never truncated */

struct wf_instance {
	char id[24];
	char state[16];
	char name[64];
	bool in_asg;
	bool hibernation; /* EC2: configured for hibernation */
	char reason[160]; /* EC2: AWS's stateReason, "" if none */
	char exempt[160]; /* the exemption tag that keeps it untouched, "" if none */
};

struct wf {
	struct loop *loop;
	struct aws *aws;
	const struct cfg_env *env;
	const struct wf_table *table;
	enum action action;
	struct wf_observer obs;
	char id[80]; /* a group member's: its group's id + "-mN" */
	char trigger[160];
	char trigger_said[256]; /* as the embed shows it, in locale */
	char locale[16];        /* "en", "ko": what people read of it */
	uint64_t poll_ms;

	const struct wf_state *state;
	enum wf_status status;
	unsigned attempt; /* of the current state, for its retry */
	struct loop_timer *timer;
	struct loop_timer *deadline;
	uint64_t started_ms;
	uint64_t ended_ms;
	bool noop;
	enum bot_rc last_rc;  /* of the last wf_error */
	char last_error[512]; /* its message, for the timeout's summary */
	bool busy_aws;        /* an AWS call of ours is in flight */

	struct wf_step steps[WF_MAX_STEPS];
	size_t n_steps;

	/* what the tasks learnt */
	char stack_id[320];
	char stack_status[48];
	char image_tag[136];
	const char *image_rule;
	char summary[512];
	char summary_said[768]; /* the same in locale (wf_set_summary) */
	char skipped[400];      /* what was left alone on purpose and why (exemptions) */
	bool found_nothing;     /* the selection matched nothing (wf_found_nothing) */
	char details[WF_MAX_DETAILS][256];
	size_t n_details;
	struct wf_instance *instances;
	size_t n_instances;
	unsigned polls;
	unsigned change_rounds; /* EC2: start/stop requests sent */

	/* The kind's own, for what the fields above do not cover (a group's
	 * members): freed with the workflow. */
	void *kind_data;
	void (*kind_data_free)(void *data);
	/* Resume: the data after "STATE:" of wf_params.resume_state; the task
	 * reads it once. And what wf_resume_point gives when a task set it
	 * ("Members:2:Poll"), else the state's name. */
	char resume_arg[STATE_STEP_MAX];
	char resume_point[STATE_STEP_MAX];
	const struct wf *parent; /* a group member's: its group's workflow */
};

/* wf_create's work (regions.c decides between the kind's table and the
 * fan-out over regions, fan_out, which runs in env's home region). */
struct wf *wf_new(struct loop *loop, struct aws *aws, const struct wf_params *p,
		  const struct wf_observer *obs, const struct wf_table *fan_out);

/* Appends "what (why)" to the workflow's skipped list ("; "-separated,
 * cut when full). */
void wf_add_skipped(struct wf *wf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For tasks: the environment's selection matched nothing here; goes on
 * with outcome "none". (In one of several regions that is no failure: the
 * fan-out counts it so.) */
void wf_found_nothing(struct wf *wf);

/* For tasks: go to the state the current one maps outcome to. */
void wf_next(struct wf *wf, const char *outcome);
/* For tasks: the work failed. Transient errors (throttled, 5xx, network) are
 * retried per the state's retry; then the catch state is entered with msg as
 * the summary. */
void wf_error(struct wf *wf, enum bot_rc rc, const char *msg);
/* printf into the current step's detail line and notify the observer. */
void wf_detail_step(struct wf *wf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The summary, from fmt (an English msgid): in English (wf_summary: the
 * audit, events out) and in the workflow's language (wf_summary_said: the
 * embed), with the same arguments: names, numbers, AWS's words. */
void wf_set_summary(struct wf *wf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A summary given as it is (AWS's message, a child's summaries): the same
 * text in both. */
void wf_set_summary_text(struct wf *wf, const char *text, const char *said);
void wf_add_detail(struct wf *wf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks a step skipped (e.g. no leftover stack to remove). */
void wf_skip_step(struct wf *wf, int step);
void wf_changed(struct wf *wf);

/* For a group: appends a step shown as label (borrowed: it must outlive the
 * workflow); its index, or -1 when WF_MAX_STEPS are there already. */
int wf_add_step(struct wf *wf, const char *label);
/* Marks step i: active (started now), done or failed (ended now), with its
 * detail line (NULL: unchanged), then notifies the observer. */
void wf_mark_step(struct wf *wf, int i, enum wf_mark mark, const char *detail);
/* A child's line while it runs (a group member's, a region's): its active
 * step, "label: detail", into buf; "" when none is active. */
void wf_active_detail(const struct wf *child, char *buf, size_t len);
/* For a group: makes child a member of wf (summary lines and capacities
 * are the group's). */
void wf_set_parent(struct wf *child, const struct wf *parent);

/* For tasks that scale a resource to zero: saves c (through the observer)
 * and returns once it is on disk; send the scale-down only after BOT_OK. On
 * failure err says why ("nothing persists here: ..."). */
enum bot_rc wf_capacity_save(struct wf *wf, const struct state_capacity *c, char *err,
			     size_t errlen);
/* The capacity a stop saved for key; false when none. */
bool wf_capacity_load(struct wf *wf, const char *key, struct state_capacity *out);

#endif
