/* CloudFormation calls (query protocol, XML responses): describe, create and
 * delete a stack, and find why an operation failed from its stack events.
 * Calling convention, ownership and errors: see aws.h. */
#ifndef ENVBOT_CFN_H
#define ENVBOT_CFN_H

#include "aws.h"

struct cfn_kv {
	const char *key;
	const char *value;
};

/* A stack as DescribeStacks reports it. Every string is non-NULL (empty when
 * absent). Times are ISO 8601 as sent by AWS. */
struct cfn_stack {
	const char *id; /* StackId (ARN) */
	const char *name;
	const char *status; /* e.g. "CREATE_COMPLETE", "ROLLBACK_COMPLETE" */
	const char *status_reason;
	const char *creation_time;
	const char *last_updated_time;
	const struct cfn_kv *outputs; /* OutputKey / OutputValue */
	size_t n_outputs;
	const struct cfn_kv *parameters; /* ParameterKey / ParameterValue */
	size_t n_parameters;
	const struct cfn_kv *tags;
	size_t n_tags;
};

/* stack is NULL unless err->rc == BOT_OK. A missing stack ("Stack with id X
 * does not exist") is err->rc == BOT_ENOTFOUND. */
typedef void (*cfn_stack_fn)(void *arg, const struct aws_err *err, const struct cfn_stack *stack);
enum bot_rc cfn_describe_stack(struct aws *aws, const char *name_or_id, cfn_stack_fn cb, void *arg);

/* CreateStack input; everything is copied by cfn_create_stack. NULL/0 for
 * what is not wanted. client_token makes retries idempotent: pass the same
 * token for the same logical creation (e.g. the workflow id). */
struct cfn_create_req {
	const char *stack_name;
	const char *template_url;
	const char *role_arn;
	const char *client_token;
	const char *on_failure; /* "ROLLBACK" (AWS default), "DELETE", "DO_NOTHING" */
	int timeout_minutes;    /* 0: none */
	const struct cfn_kv *parameters;
	size_t n_parameters;
	const char *const *capabilities;
	size_t n_capabilities;
	const struct cfn_kv *tags;
	size_t n_tags;
};
/* stack_id is the new stack's ARN (NULL on error). AlreadyExistsException
 * arrives as BOT_EREMOTE with that code. */
typedef void (*cfn_id_fn)(void *arg, const struct aws_err *err, const char *stack_id);
enum bot_rc cfn_create_stack(struct aws *aws, const struct cfn_create_req *req, cfn_id_fn cb,
			     void *arg);

typedef void (*cfn_done_fn)(void *arg, const struct aws_err *err);
/* role_arn and client_token may be NULL. */
enum bot_rc cfn_delete_stack(struct aws *aws, const char *name_or_id, const char *role_arn,
			     const char *client_token, cfn_done_fn cb, void *arg);

struct cfn_event {
	const char *event_id;
	const char *stack_name;
	const char *logical_id;
	const char *physical_id;
	const char *resource_type;
	const char *status; /* ResourceStatus */
	const char *reason; /* ResourceStatusReason ("" when absent) */
	const char *timestamp;
};

/* Why the stack's latest operation failed. Events are read newest first over
 * as many pages as needed, back to the start of that operation (the stack's
 * own "User Initiated" event), at most 20 pages. */
struct cfn_failure {
	/* the oldest resource event with a *_FAILED status in that operation,
	 * skipping "Resource creation cancelled" echoes; NULL if none */
	const struct cfn_event *first_failed;
	/* every resource (not the stack itself) whose latest status is
	 * DELETE_FAILED, newest first */
	const struct cfn_event *delete_failed;
	size_t n_delete_failed;
	/* one line for humans: "LogicalId (Type): reason", or "" */
	const char *summary;
	size_t n_events; /* events read */
};
typedef void (*cfn_failure_fn)(void *arg, const struct aws_err *err,
			       const struct cfn_failure *failure);
enum bot_rc cfn_first_failure(struct aws *aws, const char *stack_id, cfn_failure_fn cb, void *arg);

#endif
