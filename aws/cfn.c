/* CloudFormation calls on top of the core (aws.c): DescribeStacks,
 * CreateStack, DeleteStack, and DescribeStackEvents over pages to explain a
 * failed operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_core.h"

#define CFN_MAX_EVENT_PAGES 20
#define CFN_MAX_EVENTS      20000

struct cfn_op {
	struct aws_op op;
	struct arena a;
	struct vec events; /* cfn_first_failure */
	char *stack_id;
	int pages;
	union {
		cfn_stack_fn stack;
		cfn_id_fn id;
		cfn_done_fn done;
		cfn_failure_fn failure;
	} cb;
};

static void cfn_free(struct aws_op *op)
{
	struct cfn_op *c = (struct cfn_op *)op;
	aws_op_release(op);
	arena_free(&c->a);
	vec_free(&c->events);
	free(c->stack_id);
	free(c);
}

static struct cfn_op *cfn_new(struct aws *aws, void *arg, aws_op_resp_fn on_resp)
{
	struct cfn_op *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->events.size = sizeof(struct cfn_event);
	c->events.max = CFN_MAX_EVENTS;
	aws_op_init(&c->op, aws, AWS_CFN, arg, on_resp, cfn_free);
	return c;
}

/* Builds the query body from form and sends it; on failure aborts c. */
static enum bot_rc cfn_send(struct cfn_op *c, const char *action, struct buf *form)
{
	char *body = NULL;
	enum bot_rc rc = aws_op_query_body(form, AWS_CFN, action, form->p ? form->p : "", &body);
	buf_free(form);
	if (rc == BOT_OK)
		rc = aws_op_send(&c->op, body);
	return rc;
}

/* "Stack with id X does not exist" arrives as a ValidationError. */
static void map_not_found(struct aws_err *err)
{
	if (err->rc == BOT_EREMOTE && strcmp(err->code, "ValidationError") == 0 &&
	    strstr(err->message, "does not exist"))
		err->rc = BOT_ENOTFOUND;
}

/* Turns a decode failure into the call's error. */
static void decode_failed(struct aws_err *err, enum bot_rc rc, const char *why)
{
	int attempts = err->attempts, status = err->http_status;
	aws_err_set(err, rc, "", "%s", why);
	err->attempts = attempts;
	err->http_status = status;
}

static void describe_resp(struct aws_op *op, const struct aws_err *e, const char *body, size_t len)
{
	struct cfn_op *c = (struct cfn_op *)op;
	struct aws_err err = *e;
	struct cfn_stack stack = { 0 };
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc = cfn_decode_stack(body, len, &c->a, &stack, why, sizeof(why));
		if (rc != BOT_OK)
			decode_failed(&err, rc, why);
	}
	map_not_found(&err);
	aws_op_finish(op, &err);
	c->cb.stack(op->user_arg, &err, err.rc == BOT_OK ? &stack : NULL);
	cfn_free(op);
}

enum bot_rc cfn_describe_stack(struct aws *aws, const char *name_or_id, cfn_stack_fn cb, void *arg)
{
	if (!aws || !name_or_id || !*name_or_id || !cb)
		return BOT_EINVAL;
	struct cfn_op *c = cfn_new(aws, arg, describe_resp);
	if (!c)
		return BOT_ENOMEM;
	c->cb.stack = cb;
	struct buf form = { 0 };
	aws_form_add(&form, "StackName", name_or_id);
	enum bot_rc rc = cfn_send(c, "DescribeStacks", &form);
	if (rc != BOT_OK)
		aws_op_abort(&c->op);
	return rc;
}

static void create_resp(struct aws_op *op, const struct aws_err *e, const char *body, size_t len)
{
	struct cfn_op *c = (struct cfn_op *)op;
	struct aws_err err = *e;
	const char *id = NULL;
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc = cfn_decode_create(body, len, &c->a, &id, why, sizeof(why));
		if (rc != BOT_OK)
			decode_failed(&err, rc, why);
	}
	aws_op_finish(op, &err);
	c->cb.id(op->user_arg, &err, err.rc == BOT_OK ? id : NULL);
	cfn_free(op);
}

enum bot_rc cfn_create_stack(struct aws *aws, const struct cfn_create_req *req, cfn_id_fn cb,
			     void *arg)
{
	if (!aws || !req || !req->stack_name || !*req->stack_name || !req->template_url || !cb)
		return BOT_EINVAL;
	struct cfn_op *c = cfn_new(aws, arg, create_resp);
	if (!c)
		return BOT_ENOMEM;
	c->cb.id = cb;
	struct buf form = { 0 };
	cfn_encode_create(&form, req);
	enum bot_rc rc = cfn_send(c, "CreateStack", &form);
	if (rc != BOT_OK)
		aws_op_abort(&c->op);
	return rc;
}

static void delete_resp(struct aws_op *op, const struct aws_err *e, const char *body, size_t len)
{
	struct cfn_op *c = (struct cfn_op *)op;
	struct aws_err err = *e;
	(void)body;
	(void)len;
	map_not_found(&err);
	aws_op_finish(op, &err);
	c->cb.done(op->user_arg, &err);
	cfn_free(op);
}

enum bot_rc cfn_delete_stack(struct aws *aws, const char *name_or_id, const char *role_arn,
			     const char *client_token, cfn_done_fn cb, void *arg)
{
	if (!aws || !name_or_id || !*name_or_id || !cb)
		return BOT_EINVAL;
	struct cfn_op *c = cfn_new(aws, arg, delete_resp);
	if (!c)
		return BOT_ENOMEM;
	c->cb.done = cb;
	struct buf form = { 0 };
	aws_form_add(&form, "StackName", name_or_id);
	aws_form_add(&form, "RoleARN", role_arn);
	aws_form_add(&form, "ClientRequestToken", client_token);
	enum bot_rc rc = cfn_send(c, "DeleteStack", &form);
	if (rc != BOT_OK)
		aws_op_abort(&c->op);
	return rc;
}

static enum bot_rc events_page(struct cfn_op *c, const char *next)
{
	struct buf form = { 0 };
	aws_form_add(&form, "StackName", c->stack_id);
	aws_form_add(&form, "NextToken", next);
	return cfn_send(c, "DescribeStackEvents", &form);
}

static void events_resp(struct aws_op *op, const struct aws_err *e, const char *body, size_t len)
{
	struct cfn_op *c = (struct cfn_op *)op;
	struct aws_err err = *e;
	struct cfn_failure failure = { 0 };
	bool complete = false;
	const char *next = NULL;
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc =
			cfn_decode_events(body, len, &c->a, &c->events, &next, why, sizeof(why));
		if (rc != BOT_OK) {
			decode_failed(&err, rc, why);
		} else {
			c->pages++;
			cfn_analyze_failure(c->events.v, c->events.n, &c->a, &failure, &complete);
			if (!complete && next && c->pages < CFN_MAX_EVENT_PAGES) {
				rc = events_page(c, next);
				if (rc == BOT_OK)
					return;
				decode_failed(&err, rc, "cannot request the next page");
			}
		}
	}
	map_not_found(&err);
	aws_op_finish(op, &err);
	c->cb.failure(op->user_arg, &err, err.rc == BOT_OK ? &failure : NULL);
	cfn_free(op);
}

enum bot_rc cfn_first_failure(struct aws *aws, const char *stack_id, cfn_failure_fn cb, void *arg)
{
	if (!aws || !stack_id || !*stack_id || !cb)
		return BOT_EINVAL;
	struct cfn_op *c = cfn_new(aws, arg, events_resp);
	if (!c)
		return BOT_ENOMEM;
	c->cb.failure = cb;
	c->stack_id = strdup(stack_id);
	enum bot_rc rc = c->stack_id ? events_page(c, NULL) : BOT_ENOMEM;
	if (rc != BOT_OK)
		aws_op_abort(&c->op);
	return rc;
}
