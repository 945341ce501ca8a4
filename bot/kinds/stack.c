/* kind = "stack": a CloudFormation stack, in one file. Its settings; its
 * workflows as state tables (start: check the stack, remove a failed leftover
 * (ROLLBACK_COMPLETE blocks re-creation), resolve the newest ECR tag, create
 * the stack with it, poll to the end; stop: check, delete, poll by stack id,
 * a deleted stack being visible only by id); its live status, embed fields
 * and doctor checks. */
#include "stack.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

static const struct stack_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

/* clang-format off */
#define RETRY      { .attempts = 3, .interval_ms = 10000 }
/* A poll keeps trying through an outage: the stack goes on changing in AWS
 * whatever happens to our calls, and the 60-minute deadline bounds it. */
#define POLL_RETRY { .attempts = 360, .interval_ms = 10000 }
/* clang-format on */

enum { S_CHECK, S_LEFTOVER, S_IMAGE, S_CREATE, S_WAIT_CREATE };
static const char *const start_steps[] = {
	N_("Check stack"),  N_("Remove failed leftover"),   N_("Resolve image tag"),
	N_("Create stack"), N_("Wait for CREATE_COMPLETE"), NULL
};
enum { T_CHECK, T_DELETE, T_WAIT_DELETE };
static const char *const stop_steps[] = { N_("Check stack"), N_("Delete stack"),
					  N_("Wait for DELETE_COMPLETE"), NULL };

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
		wf_detail_step(wf, "%s: not present", spec_of(wf->env)->stack_name);
		/* A stop finding no stack has nothing to do: quiet where quiet is
		 * asked (enforce, the database watch of a group). */
		wf->noop = wf->action == ACTION_STOP;
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
		if (wf->action == ACTION_START)
			wf_set_summary(
				wf,
				"stack %s is %s%s%s; it needs a hand before envbot can start "
				"it",
				st->name, st->status, st->status_reason[0] ? ": " : "",
				st->status_reason);
		else
			wf_set_summary(
				wf, "stack %s is %s%s%s; it needs a hand before envbot can stop it",
				st->name, st->status, st->status_reason[0] ? ": " : "",
				st->status_reason);
	}
	wf_next(wf, cls);
}

static void t_describe(struct wf *wf)
{
	enum bot_rc rc =
		cfn_describe_stack(wf->aws, spec_of(wf->env)->stack_name, on_described, wf);
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
	const char *target = wf->stack_id[0] ? wf->stack_id : spec_of(wf->env)->stack_name;
	enum bot_rc rc = cfn_delete_stack(wf->aws, target, spec_of(wf->env)->role_arn, token,
					  on_deleted, wf);
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
			if (wf->image_tag[0])
				wf_set_summary(wf, "up in %llum%02llus with image %s",
					       (unsigned long long)(secs / 60),
					       (unsigned long long)(secs % 60), wf->image_tag);
			else
				wf_set_summary(wf, "up in %llum%02llus",
					       (unsigned long long)(secs / 60),
					       (unsigned long long)(secs % 60));
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
	const char *target = wf->stack_id[0] ? wf->stack_id : spec_of(wf->env)->stack_name;
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
			 spec_of(wf->env)->image_repository, err->code, err->code[0] ? ": " : "",
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
	wf_detail_step(wf, "%s:%s (%s; newest of %zu images)", spec_of(wf->env)->image_repository,
		       wf->image_tag, newest->image->rule, newest->n_images);
	wf_next(wf, "*");
}

static void t_resolve_image(struct wf *wf)
{
	if (!spec_of(wf->env)->image_repository || wf->image_tag[0]) {
		if (!spec_of(wf->env)->image_repository)
			wf_skip_step(wf, S_IMAGE);
		else
			wf_detail_step(wf, "%s:%s (chosen before the restart)",
				       spec_of(wf->env)->image_repository, wf->image_tag);
		wf_next(wf, "*");
		return;
	}
	enum bot_rc rc = ecr_newest_tag(wf->aws, spec_of(wf->env)->image_repository, on_newest, wf);
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
		enum bot_rc rc =
			cfn_describe_stack(wf->aws, spec_of(wf->env)->stack_name, on_existing, wf);
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
	const struct stack_spec *e = spec_of(wf->env);
	struct cfn_kv params[64];
	size_t n = 0;
	for (size_t i = 0; i < e->n_parameters && n < 64; i++)
		params[n++] = (struct cfn_kv){ e->parameters[i].key, e->parameters[i].value };
	if (wf->image_tag[0])
		for (size_t i = 0; i < e->n_image_parameters && n < 64; i++)
			params[n++] = (struct cfn_kv){ e->image_parameters[i], wf->image_tag };
	const struct cfn_kv tags[] = { { "envbot:environment", wf->env->name },
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
			wf_set_summary_text(wf, f->summary, f->summary); /* AWS's words */
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
	{ .name = "Created", .type = WF_SUCCEED, .step = -1, .text = N_("up") },
	{ .name = "AlreadyUp", .type = WF_SUCCEED, .step = -1, .text = N_("already up") },
	{ .name = "Busy",
	  .type = WF_FAIL,
	  .step = -1,
	  .text = N_("another operation is in progress") },
	{ .name = "Broken", .type = WF_FAIL, .step = -1, .text = N_("the stack needs a hand") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
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
	{ .name = "Deleted", .type = WF_SUCCEED, .step = -1, .text = N_("down: stack deleted") },
	{ .name = "AlreadyDown",
	  .type = WF_SUCCEED,
	  .step = -1,
	  .text = N_("already down: no stack") },
	{ .name = "Busy",
	  .type = WF_FAIL,
	  .step = -1,
	  .text = N_("another operation is in progress") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
	{ 0 },
};

static const struct wf_table start_table = { .name = "stack/start",
					     .steps = start_steps,
					     .states = start_states };
static const struct wf_table stop_table = { .name = "stack/stop",
					    .steps = stop_steps,
					    .states = stop_states };

/* ---- settings ---- */

static const char *const settings[] = { "stack_name", "template_url", "role_arn", "capabilities",
					"image",      "parameters",   NULL };
#define PARAM_HINT "key = \"...\"; value = \"...\";"

/* CloudFormation: a letter, then letters, digits and hyphens, 128 at most. */
static bool valid_stack_name(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 128 && isalpha((unsigned char)v[0]) &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static void free_spec(void *p)
{
	struct stack_spec *s = p;
	if (!s)
		return;
	free(s->stack_name);
	free(s->template_url);
	free(s->role_arn);
	cfg_free_strv(s->capabilities, s->n_capabilities);
	free(s->image_repository);
	cfg_free_strv(s->image_parameters, s->n_image_parameters);
	for (size_t k = 0; k < s->n_parameters; k++) {
		free(s->parameters[k].key);
		free(s->parameters[k].value);
	}
	free(s->parameters);
	free(s);
}

/* parameters = ( { key = "..."; value = "..."; }, ... ): an empty value is a
 * legitimate CloudFormation parameter value. */
static void parse_parameters(struct cfg_reader *r, struct stack_spec *s)
{
	static const char *const param_known[] = { "key", "value", NULL };
	size_t n = 0;
	struct cfg_reader *list = cfg_read_list(r, "parameters", PARAM_HINT, &n);
	if (!list)
		return;
	s->parameters = calloc(n ? n : 1, sizeof(*s->parameters));
	if (!s->parameters) {
		cfg_read_oom(r);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct cfg_reader *e = cfg_read_elem(list, i, PARAM_HINT);
		if (!e)
			continue;
		cfg_read_known(e, param_known);
		struct stack_param *prm = &s->parameters[s->n_parameters];
		bool ok = cfg_read_string(e, "key", CFG_REQUIRED, &prm->key);
		if (!cfg_read_string(e, "value", CFG_REQUIRED | CFG_EMPTY_OK, &prm->value))
			ok = false;
		if (!ok) {
			free(prm->key);
			free(prm->value);
			*prm = (struct stack_param){ 0 };
			continue;
		}
		for (size_t k = 0; k < s->n_parameters; k++)
			if (strcmp(s->parameters[k].key, prm->key) == 0)
				cfg_read_error(e, "key", "parameter \"%s\" is set twice", prm->key);
		for (size_t k = 0; k < s->n_image_parameters; k++)
			if (strcmp(s->image_parameters[k], prm->key) == 0)
				cfg_read_error(e, "key",
					       "parameter \"%s\" is also set from image.parameters",
					       prm->key);
		s->n_parameters++;
	}
}

/* Returns the new spec (freed with free_spec), NULL on ENOMEM (reported). */
static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	static const char *const image_known[] = { "repository", "parameters", NULL };
	static const char *const caps[] = { "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
					    "CAPABILITY_AUTO_EXPAND", NULL };
	(void)env;
	struct stack_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	if (cfg_read_string(r, "stack_name", CFG_REQUIRED, &s->stack_name) &&
	    !valid_stack_name(s->stack_name))
		cfg_read_error(r, "stack_name",
			       "\"%s\" is not a CloudFormation stack name (a letter, then letters, "
			       "digits and hyphens)",
			       s->stack_name);
	cfg_read_url(r, "template_url", CFG_REQUIRED, &s->template_url);
	if (cfg_read_string(r, "role_arn", CFG_OPTIONAL, &s->role_arn) &&
	    strncmp(s->role_arn, "arn:", 4) != 0)
		cfg_read_error(r, "role_arn", "\"%s\" is not an ARN (arn:aws:iam::...)",
			       s->role_arn);
	if (cfg_read_strings(r, "capabilities", &s->capabilities, &s->n_capabilities)) {
		for (size_t i = 0; i < s->n_capabilities; i++) {
			const char *const *c = caps;
			while (*c && strcmp(*c, s->capabilities[i]) != 0)
				c++;
			if (!*c)
				cfg_read_elem_error(r, "capabilities", i,
						    "unknown capability \"%s\" (CAPABILITY_IAM, "
						    "CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND)",
						    s->capabilities[i]);
		}
	}
	struct cfg_reader *img = cfg_read_group(r, "image", false);
	if (img) {
		cfg_read_known(img, image_known);
		cfg_read_string(img, "repository", CFG_REQUIRED, &s->image_repository);
		cfg_read_strings(img, "parameters", &s->image_parameters, &s->n_image_parameters);
	}
	parse_parameters(r, s);
	return s;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	fprintf(out, "%s", kind_str(spec_of(env)->stack_name));
}

static void print_details(const struct cfg_env *env, FILE *out)
{
	const struct stack_spec *s = spec_of(env);
	if (!s->image_repository)
		return;
	fprintf(out, "      image  %s -> ", s->image_repository);
	if (s->n_image_parameters == 0)
		fputs("(no parameter)", out);
	for (size_t i = 0; i < s->n_image_parameters; i++)
		fprintf(out, "%s%s", i ? ", " : "", s->image_parameters[i]);
	fputc('\n', out);
}

static const char *image_repository(const struct cfg_env *env)
{
	return spec_of(env)->image_repository;
}

/* ---- live status: the stack, and the newest image against the one running ---- */

/* Everything is copied: a config reload meanwhile cannot pull anything from
 * under the lookups. */
struct live {
	struct kind_live out;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	int pending;
	char name[64], stack_name[160], repo[256];
	char (*params)[128]; /* the image parameters */
	size_t n_params;

	struct aws_err stack_err, image_err;
	bool stack_found, has_image;
	char stack_status[64], stack_reason[256], stack_time[40];
	char running[256];   /* distinct values of the image parameters */
	char first_tag[128]; /* the value of the first one (/env status) */
	char newest_tag[128], newest_rule[40];
	int64_t newest_pushed;
	size_t n_images;
};

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* `envbot status`: the stack line, then the image line. */
static void render_report(struct live *l)
{
	struct kind_live *o = &l->out;
	if (l->stack_err.rc == BOT_ENOTFOUND) {
		buf_addf(&o->report, "%-6s stack %s: not created (down)\n", l->name, l->stack_name);
	} else if (l->stack_err.rc != BOT_OK) {
		buf_addf(&o->report, "%-6s stack %s: unknown\n", l->name, l->stack_name);
		kind_live_report_error(o, "DescribeStacks", &l->stack_err);
	} else {
		buf_addf(&o->report, "%-6s stack %s: %s (since %s)\n", l->name, l->stack_name,
			 l->stack_status, l->stack_time);
		if (l->stack_reason[0])
			buf_addf(&o->report, "       reason: %s\n", l->stack_reason);
	}
	if (!l->repo[0])
		return;
	char when[40] = "";
	const char *running = l->stack_found && l->running[0] ? l->running : "-";
	if (l->image_err.rc != BOT_OK) {
		buf_addf(&o->report, "       image %s: running %s, newest unknown\n", l->repo,
			 running);
		kind_live_report_error(o, "DescribeImages", &l->image_err);
	} else if (!l->has_image) {
		buf_addf(&o->report,
			 "       image %s: running %s, no tagged image in the repository\n",
			 l->repo, running);
	} else {
		fmt_time(l->newest_pushed, when, sizeof(when));
		bool current = l->stack_found && strcmp(l->running, l->newest_tag) == 0;
		buf_addf(&o->report,
			 "       image %s: running %s, newest %s (pushed %s, %s; %zu tagged "
			 "images)%s\n",
			 l->repo, running, l->newest_tag, when, l->newest_rule, l->n_images,
			 !l->stack_found ? ""
			 : current       ? " — up to date"
					 : " — differs");
	}
}

/* /env status: "stack CREATE_COMPLETE, image tag running: v1; newest image: v2". */
static void render_line(struct live *l)
{
	struct kind_live *o = &l->out;
	char status[128], tag[300];
	if (l->stack_err.rc == BOT_ENOTFOUND) {
		snprintf(o->line, sizeof(o->line), "no stack (down)");
	} else if (l->stack_err.rc != BOT_OK) {
		kind_live_line_error(o, &l->stack_err, l->escape);
		return;
	} else {
		kind_escape(l->escape, l->stack_status, status, sizeof(status));
		tag[0] = '\0';
		if (l->first_tag[0])
			kind_escape(l->escape, l->first_tag, tag, sizeof(tag));
		snprintf(o->line, sizeof(o->line), "stack %s%s%s", status,
			 tag[0] ? ", image tag running: " : "", tag);
	}
	if (!l->repo[0])
		return;
	size_t n = strlen(o->line);
	if (l->image_err.rc != BOT_OK) {
		snprintf(o->line + n, sizeof(o->line) - n, "; newest image: unknown (%s)",
			 bot_strerror(l->image_err.rc));
	} else if (l->has_image) {
		kind_escape(l->escape, l->newest_tag, tag, sizeof(tag));
		snprintf(o->line + n, sizeof(o->line) - n, "; newest image: %s", tag);
	} else {
		snprintf(o->line + n, sizeof(o->line) - n, "; no tagged image in the repository");
	}
}

static void live_free(struct live *l)
{
	buf_free(&l->out.report);
	free(l->params);
	free(l);
}

static void live_one_done(struct live *l)
{
	if (--l->pending > 0)
		return;
	render_report(l);
	render_line(l);
	l->done(l->arg, &l->out);
	live_free(l);
}

static void on_live_stack(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct live *l = arg;
	l->stack_err = *err;
	if (st && err->rc == BOT_OK) {
		l->stack_found = true;
		snprintf(l->stack_status, sizeof(l->stack_status), "%s", st->status);
		snprintf(l->stack_reason, sizeof(l->stack_reason), "%s", st->status_reason);
		snprintf(l->stack_time, sizeof(l->stack_time), "%s",
			 *st->last_updated_time ? st->last_updated_time : st->creation_time);
		/* the tag running: the values of the image parameters */
		for (size_t i = 0; i < l->n_params; i++) {
			for (size_t j = 0; j < st->n_parameters; j++) {
				if (strcmp(st->parameters[j].key, l->params[i]) != 0)
					continue;
				const char *v = st->parameters[j].value;
				if (i == 0)
					snprintf(l->first_tag, sizeof(l->first_tag), "%s", v);
				if (strstr(l->running, v) && *v)
					continue; /* already listed (usually all equal) */
				size_t n = strlen(l->running);
				snprintf(l->running + n, sizeof(l->running) - n, "%s%s",
					 n ? ", " : "", v);
			}
		}
	}
	live_one_done(l);
}

static void on_live_newest(void *arg, const struct aws_err *err, const struct ecr_newest *nw)
{
	struct live *l = arg;
	l->image_err = *err;
	if (nw && err->rc == BOT_OK) {
		l->n_images = nw->n_images;
		if (nw->image && nw->image->tag) {
			l->has_image = true;
			snprintf(l->newest_tag, sizeof(l->newest_tag), "%s", nw->image->tag);
			snprintf(l->newest_rule, sizeof(l->newest_rule), "%s", nw->image->rule);
			l->newest_pushed = nw->image->pushed_at;
		}
	}
	live_one_done(l);
}

/* The stack and the newest image are asked at once. done and arg are kept
 * until done runs; env is copied. */
static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	const struct stack_spec *s = spec_of(env);
	struct live *l = calloc(1, sizeof(*l));
	if (!l)
		return BOT_ENOMEM;
	l->escape = escape;
	l->done = done;
	l->arg = arg;
	snprintf(l->name, sizeof(l->name), "%s", env->name);
	snprintf(l->stack_name, sizeof(l->stack_name), "%s", s->stack_name);
	if (s->image_repository)
		snprintf(l->repo, sizeof(l->repo), "%s", s->image_repository);
	l->params = calloc(s->n_image_parameters ? s->n_image_parameters : 1, sizeof(*l->params));
	if (!l->params) {
		live_free(l);
		return BOT_ENOMEM;
	}
	for (size_t i = 0; i < s->n_image_parameters; i++)
		snprintf(l->params[l->n_params++], sizeof(l->params[0]), "%s",
			 s->image_parameters[i]);
	/* one more than the calls, dropped at the end: an answer cannot come
	 * before both are sent, but the count stays right if it did */
	l->pending = 1;
	enum bot_rc rc = cfn_describe_stack(aws, l->stack_name, on_live_stack, l);
	if (rc == BOT_OK) {
		l->pending++;
		if (l->repo[0]) {
			rc = ecr_newest_tag(aws, l->repo, on_live_newest, l);
			if (rc == BOT_OK)
				l->pending++;
		}
	}
	if (rc != BOT_OK) {
		aws_cancel(aws, l);
		live_free(l);
		return rc;
	}
	live_one_done(l);
	return BOT_OK;
}

/* ---- the progress embed ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	add(arg, N_("Stack"), spec_of(wf_env(wf))->stack_name, true);
	add(arg, N_("Stack status"), wf_stack_status(wf), true);
}

/* ---- envbot doctor ---- */

static const char *target_stack(const struct cfg_env *env, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return spec_of(env)->stack_name;
}

static const char *target_repository(const struct cfg_env *env, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return spec_of(env)->image_repository;
}

static const char *target_role(const struct cfg_env *env, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return spec_of(env)->role_arn;
}

static void answer(struct kind_probe *p, enum kind_verdict v, const struct aws_err *err,
		   const char *detail, const char *fix)
{
	const struct kind_answer a = { .verdict = v, .err = err, .detail = detail, .fix = fix };
	p->answer(p, &a);
}

static void on_probe_stack(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct kind_probe *p = arg;
	char detail[128];
	if (err->rc == BOT_ENOTFOUND) {
		answer(p, KIND_PASS, NULL, "allowed (the stack does not exist now)", NULL);
		return;
	}
	if (err->rc != BOT_OK || !st) {
		answer(p, KIND_AWS_ERROR, err, NULL, NULL);
		return;
	}
	snprintf(detail, sizeof(detail), "allowed (%s)", st->status);
	answer(p, KIND_PASS, NULL, detail, NULL);
}

static enum bot_rc probe_stack(struct kind_probe *p)
{
	return cfn_describe_stack(p->aws, p->target, on_probe_stack, p);
}

static void on_probe_events(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct kind_probe *p = arg;
	(void)body;
	(void)len;
	/* A stack that does not exist is a ValidationError after the
	 * permission check passed. */
	if (err->rc == BOT_ENOTFOUND ||
	    (err->rc == BOT_EREMOTE && strstr(err->message, "does not exist")))
		answer(p, KIND_PASS, NULL, "allowed (the stack does not exist now)", NULL);
	else if (err->rc != BOT_OK)
		answer(p, KIND_AWS_ERROR, err, NULL, NULL);
	else
		answer(p, KIND_PASS, NULL, "allowed", NULL);
}

static enum bot_rc probe_events(struct kind_probe *p)
{
	char *name = curl_easy_escape(NULL, p->target, 0);
	char form[400];
	enum bot_rc rc = BOT_ENOMEM;
	if (name) {
		snprintf(form, sizeof(form), "StackName=%s", name);
		rc = aws_call_query(p->aws, AWS_CFN, "DescribeStackEvents", form, on_probe_events,
				    p);
	}
	curl_free(name);
	return rc;
}

static void on_probe_images(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct kind_probe *p = arg;
	(void)body;
	(void)len;
	if (err->rc == BOT_ENOTFOUND || strcmp(err->code, "RepositoryNotFoundException") == 0) {
		char why[600], fix[768];
		aws_err_str(err, why, sizeof(why));
		log_redact(why, sizeof(why));
		snprintf(
			fix, sizeof(fix),
			"no repository %s in %s (account %s): create it (aws ecr "
			"create-repository --repository-name %s) or correct image.repository of %s",
			p->target, aws_region(p->aws), p->account[0] ? p->account : "?", p->target,
			p->envs);
		answer(p, KIND_FAIL, NULL, why, fix);
		return;
	}
	if (err->rc != BOT_OK)
		answer(p, KIND_AWS_ERROR, err, NULL, NULL);
	else
		answer(p, KIND_PASS, NULL, "allowed", NULL);
}

static enum bot_rc probe_images(struct kind_probe *p)
{
	enum bot_rc rc = BOT_ENOMEM;
	char *json = NULL;
	cJSON *req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "repositoryName", p->target) ||
	    !cJSON_AddNumberToObject(req, "maxResults", 1))
		goto out;
	json = cJSON_PrintUnformatted(req);
	if (json)
		rc = aws_call_json(p->aws, AWS_ECR, "DescribeImages", json, on_probe_images, p);
out:
	free(json);
	cJSON_Delete(req);
	return rc;
}

static const struct kind_check check_describe = {
	.name = "cloudformation:DescribeStacks",
	.label = "",
	.target = target_stack,
	.fix_denied = "allow cloudformation:DescribeStacks on "
		      "arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/* "
		      "(deploy/cloudformation/envbot.yaml, parameter StackNames)",
	.probe = probe_stack,
};
static const struct kind_check check_events = {
	.name = "cloudformation:DescribeStackEvents",
	.label = "",
	.target = target_stack,
	.fix_denied = "allow cloudformation:DescribeStackEvents on "
		      "arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/* "
		      "(deploy/cloudformation/envbot.yaml, parameter StackNames)",
	.probe = probe_events,
};
static const struct kind_check check_images = {
	.name = "ecr:DescribeImages",
	.label = "",
	.target = target_repository,
	.fix_denied = "allow ecr:DescribeImages on "
		      "arn:aws:ecr:REGION:ACCOUNT:repository/%s "
		      "(deploy/cloudformation/envbot.yaml, parameter EcrRepositoryNames)",
	.probe = probe_images,
};
static const struct kind_check check_create_delete = {
	.name = "cloudformation:CreateStack/DeleteStack",
	.label = "",
	.target = target_stack,
	.fix_denied = "cannot be probed without creating or deleting %s: the policy must "
		      "allow both on arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/*, "
		      "and s3:GetObject on the template_url object when its bucket is "
		      "private",
};
static const struct kind_check check_pass_role = {
	.name = "iam:PassRole",
	.label = "",
	.target = target_role,
	.fix_denied = "cannot be probed safely (only CreateStack uses it): the policy "
		      "must allow iam:PassRole on %s with condition iam:PassedToService = "
		      "cloudformation.amazonaws.com",
};
static const struct kind_check *const checks[] = {
	&check_describe, &check_events, &check_images, &check_create_delete, &check_pass_role, NULL,
};

/* ---- the descriptor ---- */

const struct kind kind_stack = {
	.cfg = {
		.name = "stack",
		.settings = settings,
		.parse = parse,
		.free_spec = free_spec,
		.print_target = print_target,
		.print_details = print_details,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.embed_fields = embed_fields,
	.details_title = N_("Outputs"),
	.checks = checks,
	.image_repository = image_repository,
};
