/* The CloudFormation workflows as state tables. Start: check the stack,
 * remove a failed leftover (ROLLBACK_COMPLETE blocks re-creation), resolve
 * the newest ECR tag, create the stack with it, poll to the end. Stop: check,
 * delete, poll by stack id (a deleted stack is only visible by id). */
#include <stdio.h>
#include <string.h>

#include "wf_internal.h"

/* clang-format off */
#define RETRY      { .attempts = 3, .interval_ms = 10000 }
/* A poll keeps trying through an outage: the stack goes on changing in AWS
 * whatever happens to our calls, and the 60-minute deadline bounds it. */
#define POLL_RETRY { .attempts = 360, .interval_ms = 10000 }
/* clang-format on */

enum { S_CHECK, S_LEFTOVER, S_IMAGE, S_CREATE, S_WAIT_CREATE };
static const char *const start_steps[] = {
	"Check stack",  "Remove failed leftover",   "Resolve image tag",
	"Create stack", "Wait for CREATE_COMPLETE", NULL
};
enum { T_CHECK, T_DELETE, T_WAIT_DELETE };
static const char *const stop_steps[] = { "Check stack", "Delete stack", "Wait for DELETE_COMPLETE",
					  NULL };

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The one place a stack status is interpreted. */
static const char *classify(const char *status)
{
	if (strcmp(status, "DELETE_COMPLETE") == 0)
		return "missing";
	if (ends_with(status, "_IN_PROGRESS"))
		return "busy";
	if (strcmp(status, "ROLLBACK_COMPLETE") == 0 || strcmp(status, "CREATE_FAILED") == 0)
		return "leftover";
	if (ends_with(status, "_COMPLETE"))
		return "up";
	return "broken";
}

static void remember(struct wf *wf, const struct cfn_stack *st)
{
	if (st->id[0])
		snprintf(wf->stack_id, sizeof(wf->stack_id), "%s", st->id);
	snprintf(wf->stack_status, sizeof(wf->stack_status), "%s", st->status);
}

/* ---- Describe: where is the stack now? ---- */

static void on_described(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct wf *wf = arg;
	if (err->rc == BOT_ENOTFOUND) {
		snprintf(wf->stack_status, sizeof(wf->stack_status), "absent");
		if (wf->action == ACTION_START)
			wf_skip_step(wf, S_LEFTOVER); /* nothing to remove */
		wf_detail_step(wf, "%s: not present", wf->env->stack_name);
		wf_next(wf, "missing");
		return;
	}
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DescribeStacks failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	remember(wf, st);
	const char *cls = classify(st->status);
	if (wf->action == ACTION_START && strcmp(cls, "leftover") != 0)
		wf_skip_step(wf, S_LEFTOVER);
	wf_detail_step(wf, "%s: %s", st->name, st->status);
	if (strcmp(cls, "up") == 0) {
		wf->noop = wf->action == ACTION_START;
		/* Outputs of a stack about to be deleted would only mislead. */
		if (wf->action == ACTION_START) {
			for (size_t i = 0; i < st->n_outputs; i++)
				wf_add_detail(wf, "%s: %s", st->outputs[i].key,
					      st->outputs[i].value);
			wf_set_summary(wf, "already up (%s)", st->status);
		}
	} else if (strcmp(cls, "missing") == 0) {
		wf->noop = wf->action == ACTION_STOP;
	} else if (strcmp(cls, "busy") == 0) {
		wf_set_summary(wf, "another operation is in progress: stack %s is %s", st->name,
			       st->status);
	} else if (strcmp(cls, "broken") == 0) {
		wf_set_summary(wf, "stack %s is %s%s%s; it needs a hand before envbot can %s it",
			       st->name, st->status, st->status_reason[0] ? ": " : "",
			       st->status_reason, action_name(wf->action));
	}
	wf_next(wf, cls);
}

static void t_describe(struct wf *wf)
{
	enum bot_rc rc = cfn_describe_stack(wf->aws, wf->env->stack_name, on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "DescribeStacks could not be sent");
}

/* ---- Delete (leftover at start, the stack at stop) ---- */

static void on_deleted(void *arg, const struct aws_err *err)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK && err->rc != BOT_ENOTFOUND) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DeleteStack failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	wf_detail_step(wf, "DeleteStack accepted");
	wf_next(wf, "*");
}

static void t_delete(struct wf *wf)
{
	char token[80];
	/* Distinct from the create token: one token names one operation. */
	snprintf(token, sizeof(token), "%.60s-d", wf->id);
	const char *target = wf->stack_id[0] ? wf->stack_id : wf->env->stack_name;
	enum bot_rc rc =
		cfn_delete_stack(wf->aws, target, wf->env->role_arn, token, on_deleted, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "DeleteStack could not be sent");
}

/* ---- Poll: follow the operation to its end ---- */

static void on_polled(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct wf *wf = arg;
	wf->polls++;
	if (err->rc == BOT_ENOTFOUND) {
		snprintf(wf->stack_status, sizeof(wf->stack_status), "DELETE_COMPLETE");
		wf_detail_step(wf, "stack gone");
		wf_next(wf, "gone");
		return;
	}
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DescribeStacks failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	remember(wf, st);
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	/* The status alone: the detail changes (and the CLI prints a line)
	 * only when the stack does; the embed shows each step's elapsed time. */
	wf_detail_step(wf, "%s", st->status);
	if (strcmp(st->status, "DELETE_COMPLETE") == 0) {
		wf_next(wf, "gone");
	} else if (ends_with(st->status, "_IN_PROGRESS")) {
		wf_next(wf, "in_progress");
	} else if (strcmp(st->status, "CREATE_COMPLETE") == 0 ||
		   strcmp(st->status, "UPDATE_COMPLETE") == 0) {
		if (wf->action == ACTION_START) {
			for (size_t i = 0; i < st->n_outputs; i++)
				wf_add_detail(wf, "%s: %s", st->outputs[i].key,
					      st->outputs[i].value);
			wf_set_summary(wf, "up in %llum%02llus%s%s",
				       (unsigned long long)(secs / 60),
				       (unsigned long long)(secs % 60),
				       wf->image_tag[0] ? " with image " : "", wf->image_tag);
		}
		wf_next(wf, "complete");
	} else {
		wf_set_summary(wf, "stack %s ended in %s%s%s", st->name, st->status,
			       st->status_reason[0] ? ": " : "", st->status_reason);
		wf_next(wf, "failed");
	}
}

static void t_poll(struct wf *wf)
{
	const char *target = wf->stack_id[0] ? wf->stack_id : wf->env->stack_name;
	enum bot_rc rc = cfn_describe_stack(wf->aws, target, on_polled, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "DescribeStacks could not be sent");
}

/* ---- ResolveImage: newest tag in ECR, over every page ---- */

static void on_newest(void *arg, const struct aws_err *err, const struct ecr_newest *newest)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "ECR DescribeImages on %s failed: %s%s%s",
			 wf->env->image_repository, err->code, err->code[0] ? ": " : "",
			 err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	if (!newest->image || !newest->image->tag) {
		wf_error(wf, BOT_ENOTFOUND, "the ECR repository has no tagged image");
		return;
	}
	snprintf(wf->image_tag, sizeof(wf->image_tag), "%s", newest->image->tag);
	wf->image_rule = newest->image->rule;
	wf_detail_step(wf, "%s:%s (%s; newest of %zu images)", wf->env->image_repository,
		       wf->image_tag, newest->image->rule, newest->n_images);
	wf_next(wf, "*");
}

static void t_resolve_image(struct wf *wf)
{
	if (!wf->env->image_repository || wf->image_tag[0]) {
		if (!wf->env->image_repository)
			wf_skip_step(wf, S_IMAGE);
		else
			wf_detail_step(wf, "%s:%s (chosen before the restart)",
				       wf->env->image_repository, wf->image_tag);
		wf_next(wf, "*");
		return;
	}
	enum bot_rc rc = ecr_newest_tag(wf->aws, wf->env->image_repository, on_newest, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "ECR DescribeImages could not be sent");
}

/* ---- CreateStack ---- */

static void on_existing(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		wf_error(wf, err->rc, "CreateStack: the stack already exists and cannot be read");
		return;
	}
	remember(wf, st);
	wf_detail_step(wf, "already created (resumed): %s", st->status);
	wf_next(wf, "*");
}

static void on_created(void *arg, const struct aws_err *err, const char *stack_id)
{
	struct wf *wf = arg;
	if (err->rc == BOT_EREMOTE && strcmp(err->code, "AlreadyExistsException") == 0) {
		/* Our own creation seen again after a restart or a lost response
		 * (services that ignore ClientRequestToken answer this way). */
		enum bot_rc rc = cfn_describe_stack(wf->aws, wf->env->stack_name, on_existing, wf);
		if (rc != BOT_OK)
			wf_error(wf, rc, "DescribeStacks could not be sent");
		return;
	}
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "CreateStack failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	snprintf(wf->stack_id, sizeof(wf->stack_id), "%s", stack_id);
	snprintf(wf->stack_status, sizeof(wf->stack_status), "CREATE_IN_PROGRESS");
	wf_detail_step(wf, "CreateStack accepted");
	wf_next(wf, "*");
}

static void t_create(struct wf *wf)
{
	const struct cfg_env *e = wf->env;
	struct cfn_kv params[64];
	size_t n = 0;
	for (size_t i = 0; i < e->n_parameters && n < 64; i++)
		params[n++] = (struct cfn_kv){ e->parameters[i].key, e->parameters[i].value };
	if (wf->image_tag[0])
		for (size_t i = 0; i < e->n_image_parameters && n < 64; i++)
			params[n++] = (struct cfn_kv){ e->image_parameters[i], wf->image_tag };
	const struct cfn_kv tags[] = { { "envbot:environment", e->name },
				       { "envbot:workflow", wf->id } };
	struct cfn_create_req req = {
		.stack_name = e->stack_name,
		.template_url = e->template_url,
		.role_arn = e->role_arn,
		.client_token = wf->id,
		.parameters = params,
		.n_parameters = n,
		.capabilities = (const char *const *)e->capabilities,
		.n_capabilities = e->n_capabilities,
		.tags = tags,
		.n_tags = 2,
	};
	enum bot_rc rc = cfn_create_stack(wf->aws, &req, on_created, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "CreateStack could not be sent");
}

/* ---- FindFailure: the real reason, from the stack events ---- */

static void on_failure(void *arg, const struct aws_err *err, const struct cfn_failure *f)
{
	struct wf *wf = arg;
	if (err->rc == BOT_OK && f) {
		if (f->summary[0])
			wf_set_summary(wf, "%s", f->summary);
		for (size_t i = 0; i < f->n_delete_failed; i++)
			wf_add_detail(
				wf, "DELETE_FAILED %s (%s): %s", f->delete_failed[i].logical_id,
				f->delete_failed[i].resource_type, f->delete_failed[i].reason);
	}
	/* Without events the summary of the poll (status + reason) stands. */
	wf_next(wf, "*");
}

static void t_find_failure(struct wf *wf)
{
	if (!wf->stack_id[0]) {
		wf_next(wf, "*");
		return;
	}
	if (cfn_first_failure(wf->aws, wf->stack_id, on_failure, wf) != BOT_OK)
		wf_next(wf, "*");
}

/* ---- the tables ---- */

static const struct wf_state start_states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = S_CHECK,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "missing", "ResolveImage" },
		    { "up", "AlreadyUp" },
		    { "busy", "Busy" },
		    { "leftover", "DeleteLeftover" },
		    { "broken", "Broken" } } },
	{ .name = "DeleteLeftover",
	  .type = WF_TASK,
	  .step = S_LEFTOVER,
	  .run = t_delete,
	  .retry = RETRY,
	  .next = { { "*", "WaitLeftover" } } },
	{ .name = "WaitLeftover",
	  .type = WF_WAIT,
	  .step = S_LEFTOVER,
	  .next = { { "*", "PollLeftover" } } },
	{ .name = "PollLeftover",
	  .type = WF_TASK,
	  .step = S_LEFTOVER,
	  .run = t_poll,
	  .retry = POLL_RETRY,
	  .next = { { "gone", "ResolveImage" },
		    { "in_progress", "WaitLeftover" },
		    { "complete", "WaitLeftover" },
		    { "failed", "FindFailure" } } },
	{ .name = "ResolveImage",
	  .type = WF_TASK,
	  .step = S_IMAGE,
	  .run = t_resolve_image,
	  .retry = RETRY,
	  .next = { { "*", "CreateStack" } } },
	{ .name = "CreateStack",
	  .type = WF_TASK,
	  .step = S_CREATE,
	  .run = t_create,
	  .retry = RETRY,
	  .next = { { "*", "WaitCreate" } } },
	{ .name = "WaitCreate",
	  .type = WF_WAIT,
	  .step = S_WAIT_CREATE,
	  .next = { { "*", "PollCreate" } } },
	{ .name = "PollCreate",
	  .type = WF_TASK,
	  .step = S_WAIT_CREATE,
	  .run = t_poll,
	  .retry = POLL_RETRY,
	  .next = { { "complete", "Created" },
		    { "in_progress", "WaitCreate" },
		    { "failed", "FindFailure" },
		    { "gone", "FindFailure" } } },
	{ .name = "FindFailure",
	  .type = WF_TASK,
	  .step = -1,
	  .run = t_find_failure,
	  .next = { { "*", "Fail" } } },
	{ .name = "Created", .type = WF_SUCCEED, .step = -1, .text = "up" },
	{ .name = "AlreadyUp", .type = WF_SUCCEED, .step = -1, .text = "already up" },
	{ .name = "Busy", .type = WF_FAIL, .step = -1, .text = "another operation is in progress" },
	{ .name = "Broken", .type = WF_FAIL, .step = -1, .text = "the stack needs a hand" },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = "failed" },
	{ 0 },
};

static const struct wf_state stop_states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = T_CHECK,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "missing", "AlreadyDown" }, { "busy", "Busy" }, { "*", "DeleteStack" } } },
	{ .name = "DeleteStack",
	  .type = WF_TASK,
	  .step = T_DELETE,
	  .run = t_delete,
	  .retry = RETRY,
	  .next = { { "*", "WaitDelete" } } },
	{ .name = "WaitDelete",
	  .type = WF_WAIT,
	  .step = T_WAIT_DELETE,
	  .next = { { "*", "PollDelete" } } },
	{ .name = "PollDelete",
	  .type = WF_TASK,
	  .step = T_WAIT_DELETE,
	  .run = t_poll,
	  .retry = POLL_RETRY,
	  .next = { { "gone", "Deleted" },
		    { "in_progress", "WaitDelete" },
		    { "complete", "WaitDelete" },
		    { "failed", "FindFailure" } } },
	{ .name = "FindFailure",
	  .type = WF_TASK,
	  .step = -1,
	  .run = t_find_failure,
	  .next = { { "*", "Fail" } } },
	{ .name = "Deleted", .type = WF_SUCCEED, .step = -1, .text = "down: stack deleted" },
	{ .name = "AlreadyDown", .type = WF_SUCCEED, .step = -1, .text = "already down: no stack" },
	{ .name = "Busy", .type = WF_FAIL, .step = -1, .text = "another operation is in progress" },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = "failed" },
	{ 0 },
};

const struct wf_table wf_stack_start = { "stack/start", start_steps, start_states };
const struct wf_table wf_stack_stop = { "stack/stop", stop_steps, stop_states };
