/* The EC2 workflows as state tables: find the instances by tag (every page;
 * Auto Scaling group members are left alone and listed as such), start or
 * stop those not already in the target state, in batches, and poll until
 * every one is running (or stopped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_internal.h"

#define RETRY                                       \
	{                                           \
		.attempts = 3, .interval_ms = 10000 \
	}
#define MAX_CHANGE_ROUNDS 3 /* an instance that falls back is retried, not forever */

enum { E_FIND, E_CHANGE, E_WAIT };
static const char *const start_steps[] = { "Find instances", "Start instances",
					   "Wait until running", NULL };
static const char *const stop_steps[] = { "Find instances", "Stop instances", "Wait until stopped",
					  NULL };

static const char *target_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "running" : "stopped";
}

/* The stable state an instance must be in for our call to apply to it. */
static const char *source_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "stopped" : "running";
}

static void on_described(void *arg, const struct aws_err *err, const struct ec2_instances *list)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DescribeInstances failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	if (list->n > WF_MAX_INSTANCES) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "%zu instances are tagged %s=%s; envbot acts on at most %d", list->n,
			 wf->env->tag_key, wf->env->tag_value, WF_MAX_INSTANCES);
		wf_error(wf, BOT_EINVAL, msg);
		return;
	}
	size_t n = list->n;
	struct wf_instance *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "%s", list->v[i].id);
		snprintf(v[i].state, sizeof(v[i].state), "%s", list->v[i].state);
		snprintf(v[i].name, sizeof(v[i].name), "%s", list->v[i].name);
		v[i].in_asg = list->v[i].in_asg;
	}
	free(wf->instances);
	wf->instances = v;
	wf->n_instances = n;
	wf->polls++;

	size_t ok = 0, managed = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].in_asg)
			continue;
		managed++;
		if (strcmp(v[i].state, target_state(wf)) == 0)
			ok++;
	}
	wf_detail_step(wf, "%zu/%zu %s (%zu in Auto Scaling groups, left alone)", ok, managed,
		       target_state(wf), list->n_asg);
	wf_next(wf, "*");
}

static void t_describe(struct wf *wf)
{
	enum bot_rc rc = ec2_describe_by_tag(wf->aws, wf->env->tag_key, wf->env->tag_value,
					     on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "DescribeInstances could not be sent");
}

/* Choice: what does the fleet need now? */
static void c_choose(struct wf *wf)
{
	size_t managed = 0, to_change = 0, settling = 0;
	for (size_t i = 0; i < wf->n_instances; i++) {
		const struct wf_instance *in = &wf->instances[i];
		if (in->in_asg)
			continue;
		managed++;
		if (strcmp(in->state, source_state(wf)) == 0)
			to_change++;
		else if (strcmp(in->state, target_state(wf)) != 0)
			settling++; /* pending, stopping: wait for it to settle */
	}
	if (managed == 0) {
		wf_set_summary(wf, "no instances tagged %s=%s outside Auto Scaling groups",
			       wf->env->tag_key, wf->env->tag_value);
		wf_next(wf, "none");
		return;
	}
	if (to_change > 0) {
		if (wf->change_rounds >= MAX_CHANGE_ROUNDS) {
			wf_set_summary(wf, "%zu instance(s) did not stay %s", to_change,
				       target_state(wf));
			wf_next(wf, "stuck");
			return;
		}
		wf_next(wf, "change");
		return;
	}
	if (settling > 0) {
		wf_next(wf, "wait");
		return;
	}
	/* Everything is in the target state. */
	bool changed = wf->steps[E_CHANGE].mark != WF_PENDING;
	wf->noop = !changed;
	for (size_t i = 0; i < wf->n_instances; i++)
		wf_add_detail(wf, "%s %s%s%s: %s%s", wf->instances[i].id,
			      wf->instances[i].name[0] ? "(" : "", wf->instances[i].name,
			      wf->instances[i].name[0] ? ")" : "", wf->instances[i].state,
			      wf->instances[i].in_asg ? " (Auto Scaling group, left alone)" : "");
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	if (changed)
		wf_set_summary(wf, "%zu instance(s) %s in %llum%02llus", managed, target_state(wf),
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else
		wf_set_summary(wf, "already %s: %zu instance(s)", target_state(wf), managed);
	wf_next(wf, "done");
}

static void on_changed(void *arg, const struct aws_err *err, const struct ec2_changes *ch)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "%s failed: %s%s%s",
			 wf->action == ACTION_START ? "StartInstances" : "StopInstances", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	wf_detail_step(wf, "%zu instance(s) %s", ch->n,
		       wf->action == ACTION_START ? "starting" : "stopping");
	wf_next(wf, "*");
}

static void t_change(struct wf *wf)
{
	const char **ids = calloc(wf->n_instances ? wf->n_instances : 1, sizeof(*ids));
	if (!ids) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	size_t n = 0;
	wf->change_rounds++;
	for (size_t i = 0; i < wf->n_instances; i++)
		if (!wf->instances[i].in_asg &&
		    strcmp(wf->instances[i].state, source_state(wf)) == 0)
			ids[n++] = wf->instances[i].id;
	enum bot_rc rc = wf->action == ACTION_START
				 ? ec2_start_instances(wf->aws, ids, n, on_changed, wf)
				 : ec2_stop_instances(wf->aws, ids, n, on_changed, wf);
	free(ids); /* the ids are copied by the call */
	if (rc != BOT_OK)
		wf_error(wf, rc, "the EC2 request could not be sent");
}

/* ---- the table: one for both directions; the tasks read wf->action ---- */

static const struct wf_state states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = E_FIND,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "*", "Choose" } } },
	{ .name = "Choose",
	  .type = WF_CHOICE,
	  .step = -1,
	  .run = c_choose,
	  .next = { { "none", "NoInstances" },
		    { "change", "Change" },
		    { "wait", "Wait" },
		    { "done", "Done" },
		    { "stuck", "Fail" } } },
	{ .name = "Change",
	  .type = WF_TASK,
	  .step = E_CHANGE,
	  .run = t_change,
	  .retry = RETRY,
	  .next = { { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = E_WAIT, .next = { { "*", "Poll" } } },
	{ .name = "Poll",
	  .type = WF_TASK,
	  .step = E_WAIT,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "*", "Choose" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = "done" },
	{ .name = "NoInstances", .type = WF_FAIL, .step = -1, .text = "no instances to act on" },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = "failed" },
	{ 0 },
};

const struct wf_table wf_ec2_start = { "ec2/start", start_steps, states };
const struct wf_table wf_ec2_stop = { "ec2/stop", stop_steps, states };
