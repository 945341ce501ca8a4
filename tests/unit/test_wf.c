/* Unit tests of the workflow interpreter (bot/wf/wf.c) and the kinds' tables
 * (bot/kinds/, plus the toy kind of tests/kinds/): every table is checked,
 * then stack, ec2 and toy start and stop run on a real event loop against an
 * in-process stub of the AWS calls they make (this file defines them, so
 * envbot_aws is not linked in): to success, to a no-op and to failures. The
 * stub answers on the loop, like the real client, and keeps a log of the
 * calls so the order the tables prescribe is checked too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/asg.h"
#include "../../aws/cfn.h"
#include "../../aws/ec2.h"
#include "../../aws/ecr.h"
#include "../../aws/ecs.h"
#include "../../aws/rds.h"
#include "../../aws/sts.h"
#include "../../bot/core/log.h"
#include "../../bot/kinds/ec2.h"
#include "../../bot/kinds/kinds.h"
#include "../../bot/wf/embed.h"
#include "../../bot/wf/kind.h"
#include "../../bot/wf/wf.h"
#include "check.h"

/* ---- the stub AWS ---------------------------------------------------------- */

enum stack_state { ST_ABSENT, ST_CREATING, ST_UP, ST_DELETING, ST_ROLLING_BACK, ST_ROLLED_BACK };

#define MAX_INSTANCES 4
#define MAX_CALLS     64

struct aws {
	struct loop *loop;
	/* the world */
	enum stack_state stack;
	int settle;                /* describes left before a change completes */
	bool refuse_hibernation;   /* EC2 says UnsupportedHibernationConfiguration */
	bool fail_create_resource; /* the creation rolls back */
	struct {
		char id[24];
		char state[16];
		bool in_asg;
		bool hibernation;
		const char *fall_back; /* a start ends stopped with this stateReason */
		struct aws_tag tag;    /* one tag besides the selection's, key NULL: none */
	} inst[MAX_INSTANCES];
	size_t n_inst;
	struct {
		char id[24];
		char status[48];
		int settle;        /* describes left in a settling state */
		const char *after; /* the state it settles into */
	} db[MAX_INSTANCES];
	size_t n_db;
	struct {
		long long min, desired, max;
		size_t n_instances, n_suspended;
		bool exists;
	} asg;
	struct {
		long long desired, running, tmin, tmax;
		bool has_target;
	} ecs;
	/* a tag on every group, service and database (key NULL: none) */
	struct aws_tag tag;
	/* faults: the operation that answers err (fail_times > 0: that often) */
	const char *fail_op;
	int fail_times;
	struct aws_err fail_err;
	/* what was asked */
	char log[1024];
	char create_params[512];
	int calls;
	int cancelled;
};

/* The caller's callback, whichever call it was. */
union cb {
	cfn_stack_fn stack;
	cfn_id_fn id;
	cfn_done_fn done;
	cfn_failure_fn failure;
	ecr_newest_fn newest;
	ec2_instances_fn instances;
	ec2_changes_fn changes;
	sts_identity_fn identity;
	rds_dbs_fn dbs;
	rds_done_fn done_rds;
	asg_groups_fn groups;
	asg_done_fn done_asg;
	ecs_services_fn services;
	appas_target_fn target;
	ec2_regions_fn regions;
};

/* One answer waiting for the loop. */
struct call {
	struct aws *aws;
	const char *op;
	void (*fire)(struct call *c, const struct aws_err *err);
	union cb cb;
	void *arg;
	bool cancelled;
};

static struct call *calls[MAX_CALLS];
static size_t n_calls;

static void logop(struct aws *aws, const char *op)
{
	size_t n = strlen(aws->log);
	snprintf(aws->log + n, sizeof(aws->log) - n, "%s%s", n ? "," : "", op);
	aws->calls++;
}

static void on_post(void *arg)
{
	struct call *c = arg;
	for (size_t i = 0; i < n_calls; i++)
		if (calls[i] == c)
			calls[i] = calls[--n_calls];
	if (!c->cancelled) {
		struct aws_err err = { .rc = BOT_OK };
		if (c->aws->fail_op && strcmp(c->aws->fail_op, c->op) == 0) {
			err = c->aws->fail_err;
			if (c->aws->fail_times && --c->aws->fail_times == 0)
				c->aws->fail_op = NULL;
		}
		c->fire(c, &err);
	}
	free(c);
}

/* Queues the answer of op; the callback runs from the loop, never inside
 * the call. */
static enum bot_rc post(struct aws *aws, const char *op,
			void (*fire)(struct call *c, const struct aws_err *err), union cb cb,
			void *arg)
{
	struct call *c = calloc(1, sizeof(*c));
	if (!c || n_calls == MAX_CALLS) {
		free(c);
		return BOT_ENOMEM;
	}
	*c = (struct call){ .aws = aws, .op = op, .fire = fire, .cb = cb, .arg = arg };
	logop(aws, op);
	calls[n_calls++] = c;
	if (loop_post(aws->loop, on_post, c) != 0) {
		n_calls--;
		free(c);
		return BOT_ENOMEM;
	}
	return BOT_OK;
}

void aws_cancel(struct aws *aws, void *arg)
{
	for (size_t i = 0; i < n_calls; i++)
		if (calls[i]->arg == arg && !calls[i]->cancelled) {
			calls[i]->cancelled = true;
			aws->cancelled++;
		}
}

const char *aws_err_str(const struct aws_err *err, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s): %s", bot_strerror(err->rc), err->code, err->message);
	return buf;
}

/* One client stands for every target here: the fan-out over regions is
 * under test, not the clients (test_aws_roles covers those). */
struct aws *aws_for(struct aws *aws, const struct aws_target *t, char *err, size_t errlen)
{
	(void)t, (void)err, (void)errlen;
	return aws;
}

const char *aws_region(const struct aws *aws)
{
	(void)aws;
	return "ap-northeast-2";
}

enum bot_rc aws_call_query(struct aws *aws, enum aws_service svc, const char *action,
			   const char *form, aws_raw_fn cb, void *arg)
{
	(void)aws, (void)svc, (void)action, (void)form, (void)cb, (void)arg;
	return BOT_EINVAL; /* the doctor's probes are not under test here */
}

enum bot_rc aws_call_json(struct aws *aws, enum aws_service svc, const char *operation,
			  const char *json, aws_raw_fn cb, void *arg)
{
	(void)aws, (void)svc, (void)operation, (void)json, (void)cb, (void)arg;
	return BOT_EINVAL;
}

/* CloudFormation: a stack that settles after two describes. */

static const char *stack_status(const struct aws *aws)
{
	switch (aws->stack) {
	case ST_CREATING: return "CREATE_IN_PROGRESS";
	case ST_UP: return "CREATE_COMPLETE";
	case ST_DELETING: return "DELETE_IN_PROGRESS";
	case ST_ROLLING_BACK: return "ROLLBACK_IN_PROGRESS";
	case ST_ROLLED_BACK: return "ROLLBACK_COMPLETE";
	case ST_ABSENT: break;
	}
	return "";
}

static void settle(struct aws *aws)
{
	if (aws->settle > 0 && --aws->settle > 0)
		return;
	if (aws->stack == ST_CREATING)
		aws->stack = aws->fail_create_resource ? ST_ROLLING_BACK : ST_UP;
	else if (aws->stack == ST_ROLLING_BACK)
		aws->stack = ST_ROLLED_BACK;
	else if (aws->stack == ST_DELETING)
		aws->stack = ST_ABSENT;
	if (aws->stack == ST_ROLLING_BACK)
		aws->settle = 1;
}

static void fire_describe(struct call *c, const struct aws_err *err)
{
	cfn_stack_fn cb = c->cb.stack;
	struct aws *aws = c->aws;
	if (err->rc != BOT_OK) {
		cb(c->arg, err, NULL);
		return;
	}
	settle(aws);
	if (aws->stack == ST_ABSENT) {
		struct aws_err nf = { .rc = BOT_ENOTFOUND, .code = "ValidationError" };
		cb(c->arg, &nf, NULL);
		return;
	}
	static const struct cfn_kv outputs[] = { { "Url", "https://dev.example" } };
	static const struct cfn_kv params[] = { { "ImageTag", "v42" } };
	struct cfn_stack st = {
		.id = "arn:aws:cloudformation:ap-northeast-2:1:stack/app/1",
		.name = "app",
		.status = stack_status(aws),
		.status_reason = "",
		.creation_time = "2026-01-05T00:00:00Z",
		.last_updated_time = "",
		.outputs = outputs,
		.n_outputs = aws->stack == ST_UP ? 1 : 0,
		.parameters = params,
		.n_parameters = 1,
	};
	cb(c->arg, err, &st);
}

enum bot_rc cfn_describe_stack(struct aws *aws, const char *name_or_id, cfn_stack_fn cb, void *arg)
{
	(void)name_or_id;
	return post(aws, "DescribeStacks", fire_describe, (union cb){ .stack = cb }, arg);
}

static void fire_create(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK) {
		c->aws->stack = ST_CREATING;
		c->aws->settle = 2;
	}
	c->cb.id(c->arg, err,
		 err->rc == BOT_OK ? "arn:aws:cloudformation:ap-northeast-2:1:stack/app/1" : NULL);
}

enum bot_rc cfn_create_stack(struct aws *aws, const struct cfn_create_req *req, cfn_id_fn cb,
			     void *arg)
{
	aws->create_params[0] = '\0';
	for (size_t i = 0; i < req->n_parameters; i++) {
		size_t n = strlen(aws->create_params);
		snprintf(aws->create_params + n, sizeof(aws->create_params) - n, "%s%s=%s",
			 n ? "," : "", req->parameters[i].key, req->parameters[i].value);
	}
	return post(aws, "CreateStack", fire_create, (union cb){ .id = cb }, arg);
}

static void fire_delete(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK && c->aws->stack != ST_ABSENT) {
		c->aws->stack = ST_DELETING;
		c->aws->settle = 2;
	}
	c->cb.done(c->arg, err);
}

enum bot_rc cfn_delete_stack(struct aws *aws, const char *name_or_id, const char *role_arn,
			     const char *client_token, cfn_done_fn cb, void *arg)
{
	(void)name_or_id, (void)role_arn, (void)client_token;
	return post(aws, "DeleteStack", fire_delete, (union cb){ .done = cb }, arg);
}

static void fire_failure(struct call *c, const struct aws_err *err)
{
	struct cfn_failure f = { .summary = "ApiTask (AWS::ECS::Service): image not found" };
	c->cb.failure(c->arg, err, err->rc == BOT_OK ? &f : NULL);
}

enum bot_rc cfn_first_failure(struct aws *aws, const char *stack_id, cfn_failure_fn cb, void *arg)
{
	(void)stack_id;
	return post(aws, "DescribeStackEvents", fire_failure, (union cb){ .failure = cb }, arg);
}

/* ECR: one tagged image. */

static void fire_newest(struct call *c, const struct aws_err *err)
{
	static const char *const tags[] = { "v42" };
	struct ecr_image img = { .tags = tags, .n_tags = 1, .tag = "v42", .rule = "newest push" };
	struct ecr_newest nw = { .image = &img, .n_images = 3, .n_pages = 1 };
	c->cb.newest(c->arg, err, err->rc == BOT_OK ? &nw : NULL);
}

enum bot_rc ecr_newest_tag(struct aws *aws, const char *repository, ecr_newest_fn cb, void *arg)
{
	(void)repository;
	return post(aws, "DescribeImages", fire_newest, (union cb){ .newest = cb }, arg);
}

/* EC2: instances that settle one describe after a start or stop. */

static void fire_instances(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	struct ec2_instance v[MAX_INSTANCES];
	struct ec2_instances list = { .v = v, .n = aws->n_inst, .n_pages = 1 };
	if (err->rc != BOT_OK) {
		c->cb.instances(c->arg, err, NULL);
		return;
	}
	for (size_t i = 0; i < aws->n_inst; i++) {
		v[i] = (struct ec2_instance){
			.id = aws->inst[i].id,
			.state = aws->inst[i].state,
			.type = "t3.small",
			.name = "",
			.asg_name = aws->inst[i].in_asg ? "asg" : "",
			.in_asg = aws->inst[i].in_asg,
			.launch_time = "",
			.reason = aws->inst[i].fall_back ? aws->inst[i].fall_back : "",
			.reason_code = "",
			.hibernation = aws->inst[i].hibernation,
			.tags = aws->inst[i].tag.key ? &aws->inst[i].tag : NULL,
			.n_tags = aws->inst[i].tag.key ? 1 : 0
		};
		list.n_asg += aws->inst[i].in_asg;
	}
	c->cb.instances(c->arg, err, &list);
	/* what was asked to change has changed by the next look */
	for (size_t i = 0; i < aws->n_inst; i++) {
		if (strcmp(aws->inst[i].state, "pending") == 0)
			snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "%s",
				 aws->inst[i].fall_back ? "stopped" : "running");
		else if (strcmp(aws->inst[i].state, "stopping") == 0)
			snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "stopped");
	}
}

enum bot_rc ec2_describe_by_tag(struct aws *aws, const char *key, const char *value,
				ec2_instances_fn cb, void *arg)
{
	(void)key, (void)value;
	return post(aws, "DescribeInstances", fire_instances, (union cb){ .instances = cb }, arg);
}

static void fire_regions(struct call *c, const struct aws_err *err)
{
	static const char *const names[] = { "ap-northeast-2", "us-east-1", "us-west-2" };
	struct ec2_regions r = { .v = names, .n = 3 };
	c->cb.regions(c->arg, err, err->rc == BOT_OK ? &r : NULL);
}

enum bot_rc ec2_describe_regions(struct aws *aws, ec2_regions_fn cb, void *arg)
{
	return post(aws, "DescribeRegions", fire_regions, (union cb){ .regions = cb }, arg);
}

struct change_call {
	const char *to;
	char ids[MAX_INSTANCES][24];
	size_t n;
};
static struct change_call pending_change;

static void fire_change(struct call *c, const struct aws_err *err)
{
	struct ec2_state_change ch[MAX_INSTANCES];
	struct ec2_changes changes = { .v = ch, .n = pending_change.n };
	if (err->rc == BOT_OK) {
		for (size_t k = 0; k < pending_change.n; k++) {
			for (size_t i = 0; i < c->aws->n_inst; i++)
				if (strcmp(c->aws->inst[i].id, pending_change.ids[k]) == 0)
					snprintf(c->aws->inst[i].state,
						 sizeof(c->aws->inst[i].state), "%s",
						 pending_change.to);
			ch[k] = (struct ec2_state_change){ pending_change.ids[k], "",
							   pending_change.to };
		}
	}
	c->cb.changes(c->arg, err, err->rc == BOT_OK ? &changes : NULL);
}

static enum bot_rc change(struct aws *aws, const char *op, const char *to, const char *const *ids,
			  size_t n, ec2_changes_fn cb, void *arg)
{
	pending_change = (struct change_call){ .to = to };
	for (size_t i = 0; i < n && i < MAX_INSTANCES; i++)
		snprintf(pending_change.ids[pending_change.n++], sizeof(pending_change.ids[0]),
			 "%s", ids[i]);
	return post(aws, op, fire_change, (union cb){ .changes = cb }, arg);
}

enum bot_rc ec2_start_instances(struct aws *aws, const char *const *ids, size_t n,
				ec2_changes_fn cb, void *arg)
{
	return change(aws, "StartInstances", "pending", ids, n, cb, arg);
}

enum bot_rc ec2_stop_instances(struct aws *aws, const char *const *ids, size_t n, ec2_changes_fn cb,
			       void *arg)
{
	return change(aws, "StopInstances", "stopping", ids, n, cb, arg);
}

/* EC2 refuses the whole call when one of them is not configured. */
enum bot_rc ec2_hibernate_instances(struct aws *aws, const char *const *ids, size_t n,
				    ec2_changes_fn cb, void *arg)
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < aws->n_inst; i++)
			if (strcmp(aws->inst[i].id, ids[k]) == 0 &&
			    (!aws->inst[i].hibernation || aws->refuse_hibernation)) {
				aws->fail_op = "Hibernate";
				aws->fail_err = (struct aws_err){
					.rc = BOT_EREMOTE,
					.code = "UnsupportedHibernationConfiguration",
					.message = "not configured"
				};
			}
	return change(aws, "Hibernate", "stopping", ids, n, cb, arg);
}

/* RDS: databases whose start or stop settles after one describe (or after
 * db[i].settle describes of a state set by the test). */

static void fire_dbs(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	if (err->rc != BOT_OK) {
		c->cb.dbs(c->arg, err, NULL);
		return;
	}
	struct rds_db v[MAX_INSTANCES];
	for (size_t i = 0; i < aws->n_db; i++)
		v[i] = (struct rds_db){ .id = aws->db[i].id,
					.status = aws->db[i].status,
					.engine = "docdb",
					.cluster = "",
					.n_members = 2,
					.tags = aws->tag.key ? &aws->tag : NULL,
					.n_tags = aws->tag.key ? 1 : 0 };
	struct rds_dbs list = { .v = v, .n = aws->n_db };
	c->cb.dbs(c->arg, err, &list);
	for (size_t i = 0; i < aws->n_db; i++)
		if (aws->db[i].after && --aws->db[i].settle <= 0) {
			snprintf(aws->db[i].status, sizeof(aws->db[i].status), "%s",
				 aws->db[i].after);
			aws->db[i].after = NULL;
		}
}

enum bot_rc rds_describe(struct aws *aws, enum rds_what what, const char *id, const char *key,
			 const char *value, rds_dbs_fn cb, void *arg)
{
	(void)id, (void)key, (void)value;
	return post(aws, what == RDS_INSTANCE ? "DescribeDBInstances" : "DescribeDBClusters",
		    fire_dbs, (union cb){ .dbs = cb }, arg);
}

static void fire_rds_change(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	bool start = strncmp(c->op, "Start", 5) == 0;
	if (err->rc == BOT_OK)
		for (size_t i = 0; i < aws->n_db; i++)
			if (strcmp(aws->db[i].status, start ? "stopped" : "available") == 0) {
				snprintf(aws->db[i].status, sizeof(aws->db[i].status), "%s",
					 start ? "starting" : "stopping");
				aws->db[i].after = start ? "available" : "stopped";
				aws->db[i].settle = 1;
			}
	c->cb.done_rds(c->arg, err);
}

enum bot_rc rds_start(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb,
		      void *arg)
{
	(void)id;
	return post(aws, what == RDS_INSTANCE ? "StartDBInstance" : "StartDBCluster",
		    fire_rds_change, (union cb){ .done_rds = cb }, arg);
}

enum bot_rc rds_stop(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb, void *arg)
{
	(void)id;
	return post(aws, what == RDS_INSTANCE ? "StopDBInstance" : "StopDBCluster", fire_rds_change,
		    (union cb){ .done_rds = cb }, arg);
}

/* Auto Scaling: one group whose instances follow its desired count one
 * describe after a change. */

static void fire_groups(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	if (err->rc != BOT_OK) {
		c->cb.groups(c->arg, err, NULL);
		return;
	}
	struct asg_group g = { .name = "web-asg",
			       .min = aws->asg.min,
			       .desired = aws->asg.desired,
			       .max = aws->asg.max,
			       .n_instances = aws->asg.n_instances,
			       .n_ready = aws->asg.n_instances,
			       .n_suspended = aws->asg.n_suspended,
			       .tags = aws->tag.key ? &aws->tag : NULL,
			       .n_tags = aws->tag.key ? 1 : 0 };
	struct asg_groups list = { .v = &g, .n = aws->asg.exists ? 1 : 0 };
	c->cb.groups(c->arg, err, &list);
	aws->asg.n_instances = (size_t)aws->asg.desired;
}

enum bot_rc asg_describe(struct aws *aws, const char *name, const char *key, const char *value,
			 asg_groups_fn cb, void *arg)
{
	(void)name, (void)key, (void)value;
	return post(aws, "DescribeAutoScalingGroups", fire_groups, (union cb){ .groups = cb }, arg);
}

static long long asg_ask[3];

static void fire_asg_update(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK) {
		c->aws->asg.min = asg_ask[0];
		c->aws->asg.desired = asg_ask[1];
		c->aws->asg.max = asg_ask[2];
	}
	c->cb.done_asg(c->arg, err);
}

enum bot_rc asg_update(struct aws *aws, const char *name, long long min, long long desired,
		       long long max, asg_done_fn cb, void *arg)
{
	(void)name;
	asg_ask[0] = min, asg_ask[1] = desired, asg_ask[2] = max;
	return post(aws, "UpdateAutoScalingGroup", fire_asg_update, (union cb){ .done_asg = cb },
		    arg);
}

static void fire_processes(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK)
		c->aws->asg.n_suspended =
			strcmp(c->op, "SuspendProcesses") == 0 ? ASG_N_PROCESSES : 0;
	c->cb.done_asg(c->arg, err);
}

enum bot_rc asg_processes(struct aws *aws, const char *name, bool suspend, asg_done_fn cb,
			  void *arg)
{
	(void)name;
	return post(aws, suspend ? "SuspendProcesses" : "ResumeProcesses", fire_processes,
		    (union cb){ .done_asg = cb }, arg);
}

/* ECS: one service whose tasks follow its desired count one describe after
 * a change, with or without a scalable target. */

static void fire_services(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	struct ecs_service v = { .name = "chat-http",
				 .status = "ACTIVE",
				 .desired = aws->ecs.desired,
				 .running = aws->ecs.running,
				 .n_deployments = 1,
				 .tags = aws->tag.key ? &aws->tag : NULL,
				 .n_tags = aws->tag.key ? 1 : 0 };
	struct ecs_services list = { .v = &v, .n = 1 };
	c->cb.services(c->arg, err, err->rc == BOT_OK ? &list : NULL);
	aws->ecs.running = aws->ecs.desired;
}

enum bot_rc ecs_describe(struct aws *aws, const char *cluster, const char *service, const char *key,
			 const char *value, ecs_services_fn cb, void *arg)
{
	(void)cluster, (void)service, (void)key, (void)value;
	return post(aws, "DescribeServices", fire_services, (union cb){ .services = cb }, arg);
}

static long long ecs_ask[2];

static void fire_ecs_update(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK)
		c->aws->ecs.desired = ecs_ask[0];
	c->cb.done_asg(c->arg, err);
}

enum bot_rc ecs_update(struct aws *aws, const char *cluster, const char *service, long long desired,
		       ecs_done_fn cb, void *arg)
{
	(void)cluster, (void)service;
	ecs_ask[0] = desired;
	return post(aws, "UpdateService", fire_ecs_update, (union cb){ .done_asg = cb }, arg);
}

static void fire_target(struct call *c, const struct aws_err *err)
{
	struct aws *aws = c->aws;
	c->cb.target(c->arg, err, aws->ecs.has_target, aws->ecs.tmin, aws->ecs.tmax);
}

enum bot_rc appas_target(struct aws *aws, const char *cluster, const char *service,
			 appas_target_fn cb, void *arg)
{
	(void)cluster, (void)service;
	return post(aws, "DescribeScalableTargets", fire_target, (union cb){ .target = cb }, arg);
}

static void fire_register(struct call *c, const struct aws_err *err)
{
	if (err->rc == BOT_OK) {
		c->aws->ecs.tmin = ecs_ask[0];
		c->aws->ecs.tmax = ecs_ask[1];
	}
	c->cb.done_asg(c->arg, err);
}

enum bot_rc appas_register(struct aws *aws, const char *cluster, const char *service, long long min,
			   long long max, ecs_done_fn cb, void *arg)
{
	(void)cluster, (void)service;
	ecs_ask[0] = min, ecs_ask[1] = max;
	return post(aws, "RegisterScalableTarget", fire_register, (union cb){ .done_asg = cb },
		    arg);
}

/* STS (the toy kind knocks with it). */

static void fire_identity(struct call *c, const struct aws_err *err)
{
	struct sts_identity id = { .account = "123456789012",
				   .arn = "arn:aws:iam::123456789012:user/t",
				   .user_id = "AID" };
	c->cb.identity(c->arg, err, err->rc == BOT_OK ? &id : NULL);
}

enum bot_rc sts_get_caller_identity(struct aws *aws, sts_identity_fn cb, void *arg)
{
	return post(aws, "GetCallerIdentity", fire_identity, (union cb){ .identity = cb }, arg);
}

/* ---- running a workflow ------------------------------------------------------ */

static const char cfg_text[] =
	"discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
	"aws: { region = \"ap-northeast-2\"; };\n"
	"environments = (\n"
	"  { name = \"dev\"; kind = \"stack\"; stack_name = \"app\";\n"
	"    template_url = \"https://example.com/t.yaml\";\n"
	"    image = { repository = \"app\"; parameters = [ \"ImageTag\" ]; };\n"
	"    parameters = ( { key = \"Env\"; value = \"dev\"; } ); },\n"
	"  { name = \"qa\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; }; },\n"
	"  { name = \"qa3\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
	"    regions = [ \"ap-northeast-2\", \"us-east-1\", \"eu-west-1\" ]; },\n"
	"  { name = \"qall\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
	"    regions = \"all\"; },\n"
	"  { name = \"qah\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
	"    hibernate = true; },\n"
	"  { name = \"toy\"; kind = \"toy\"; word = \"hello\"; },\n"
	"  { name = \"docdb\"; kind = \"rds-cluster\"; cluster = \"chat-docdb\"; },\n"
	"  { name = \"web\"; kind = \"asg\"; group_name = \"web-asg\"; },\n"
	"  { name = \"http\"; kind = \"ecs-service\"; cluster = \"chat\"; service = "
	"\"chat-http\";\n"
	"    restore = { desired = 1; }; },\n"
	"  { name = \"web2\"; kind = \"asg\"; group_name = \"web-asg\";\n"
	"    restore = { min = 1; desired = 1; max = 1; }; },\n"
	"  { name = \"grp\"; kind = \"group\"; members = (\n"
	"    { kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; }; },\n"
	"    { kind = \"stack\"; stack_name = \"app\"; template_url = "
	"\"https://example.com/t.yaml\";\n"
	"      image = { repository = \"app\"; parameters = [ \"ImageTag\" ]; }; } ); }\n"
	");\n";

/* The capacities the observer keeps (the daemon's state file, here in
 * memory); n_caps = -1: nothing persists (a save fails). */
static struct state_capacity caps[4];
static int n_caps;
static int cap_saves;

static enum bot_rc obs_save_capacity(void *arg, struct wf *wf, const struct state_capacity *c,
				     char *err, size_t errlen)
{
	(void)arg, (void)wf;
	if (n_caps < 0) {
		snprintf(err, errlen, "the disk is full");
		return BOT_EIO;
	}
	cap_saves++;
	for (int i = 0; i < n_caps; i++)
		if (strcmp(caps[i].key, c->key) == 0) {
			caps[i] = *c;
			return BOT_OK;
		}
	if (n_caps < 4)
		caps[n_caps++] = *c;
	return BOT_OK;
}

static bool obs_load_capacity(void *arg, struct wf *wf, const char *key, struct state_capacity *out)
{
	(void)arg, (void)wf;
	for (int i = 0; i < n_caps; i++)
		if (strcmp(caps[i].key, key) == 0) {
			*out = caps[i];
			return true;
		}
	return false;
}

struct run {
	struct loop *loop;
	int checkpoints, changes, finished;
	char states[512]; /* the states entered, in order */
};

static void obs_checkpoint(void *arg, struct wf *wf)
{
	struct run *r = arg;
	size_t n = strlen(r->states);
	snprintf(r->states + n, sizeof(r->states) - n, "%s%s", n ? ">" : "", wf_state_name(wf));
	r->checkpoints++;
}

static void obs_changed(void *arg, struct wf *wf)
{
	struct run *r = arg;
	(void)wf;
	r->changes++;
}

static void obs_finished(void *arg, struct wf *wf)
{
	struct run *r = arg;
	(void)wf;
	r->finished++;
	loop_stop(r->loop);
}

/* Runs env's action to its end against aws; returns the workflow (caller
 * destroys) and the states it went through in r. */
static struct wf *run(struct aws *aws, const struct cfg_env *env, enum action action, struct run *r)
{
	*r = (struct run){ .loop = aws->loop };
	struct wf_params p = { .env = env, .action = action, .trigger = "test", .poll_ms = 1 };
	struct wf_observer obs = { .checkpoint = obs_checkpoint,
				   .changed = obs_changed,
				   .finished = obs_finished,
				   .save_capacity = obs_save_capacity,
				   .load_capacity = obs_load_capacity,
				   .arg = r };
	struct wf *wf = wf_create(aws->loop, aws, &p, &obs);
	CHECK(wf != NULL);
	if (!wf)
		return NULL;
	wf_begin(wf);
	if (!r->finished)
		loop_run(aws->loop);
	CHECK_INT(r->finished, 1);
	return wf;
}

static void reset(struct aws *aws)
{
	struct loop *loop = aws->loop;
	*aws = (struct aws){ .loop = loop };
}

static const char *step_marks(const struct wf *wf, char *buf, size_t len)
{
	static const char mark[] = { 'p', 'a', 'd', 's', 'e' }; /* enum wf_mark */
	const struct wf_step *steps;
	size_t n = wf_steps(wf, &steps);
	size_t i = 0;
	for (; i < n && i + 1 < len; i++)
		buf[i] = mark[steps[i].mark];
	buf[i] = '\0';
	return buf;
}

/* The value of the embed field named name, "" if none. */
static const char *field(const cJSON *msg, const char *name)
{
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "embeds"), 0);
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "fields"))
	{
		const cJSON *n = cJSON_GetObjectItem(f, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return cJSON_GetObjectItem(f, "value")->valuestring;
	}
	return "";
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_tables(void)
{
	char err[256] = "";
	size_t n = 0;
	for (const struct cfg_kind *const *k = envbot_kinds; *k; k++, n++) {
		const struct kind *kind = kind_from_cfg(*k);
		CHECK(kind->start && kind->stop);
		CHECK_INT(wf_check_table(kind->start, err, sizeof(err)), 0);
		CHECK_INT(wf_check_table(kind->stop, err, sizeof(err)), 0);
		if (err[0])
			fprintf(stderr, "%s: %s\n", (*k)->name, err);
	}
	CHECK_INT(n, 8); /* stack, ec2, asg, ecs-service, rds, rds-cluster, group and the toy */
}

/* The config's kind messages come from the registry it is given: the toy
 * is named like the built-in kinds, and its setting is its own. */
static void test_registry_messages(void)
{
	static const char bad[] =
		"discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
		"aws: { region = \"ap-northeast-2\"; };\n"
		"environments = (\n"
		"  { name = \"a\"; kind = \"nope\"; },\n"
		"  { name = \"b\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
		"    word = \"hi\"; },\n"
		"  { name = \"c\"; kind = \"toy\"; word = \"two words\"; stack_name = \"s\"; },\n"
		"  { name = \"d\"; kind = \"toy\"; wrod = \"x\"; }\n"
		");\n";
	struct cfg *cfg = NULL;
	char err[4096] = "";
	CHECK_INT(cfg_load_string(bad, "bad.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_ECONFIG);
	CHECK(cfg == NULL);
	CHECK_STR(err, "bad.cfg:4: environments.[0].kind: unknown kind \"nope\" (expected "
		       "\"stack\", \"ec2\", \"asg\", \"ecs-service\", \"rds\", \"rds-cluster\", "
		       "\"group\" or \"toy\")\n"
		       "bad.cfg:6: environments.[1].word: only valid for kind = \"toy\"\n"
		       "bad.cfg:7: environments.[2].word: \"two words\" must be one word\n"
		       "bad.cfg:7: environments.[2].stack_name: only valid for kind = \"stack\"\n"
		       "bad.cfg:8: environments.[3].wrod: unknown setting (did you mean "
		       "\"word\"?)\n"
		       "bad.cfg:8: environments.[3].word: required setting is missing\n");
}

static void test_stack(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *dev = cfg_find_env(cfg, "dev");
	struct run r;
	char marks[16];

	/* start from nothing: image, create, poll to CREATE_COMPLETE */
	reset(aws);
	struct wf *wf = run(aws, dev, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(!wf_was_noop(wf));
	CHECK_STR(aws->log, "DescribeStacks,DescribeImages,CreateStack,DescribeStacks,"
			    "DescribeStacks");
	CHECK_STR(r.states, "Describe>ResolveImage>CreateStack>WaitCreate>PollCreate>WaitCreate>"
			    "PollCreate>Created");
	CHECK_STR(aws->create_params, "Env=dev,ImageTag=v42");
	CHECK_STR(wf_image_tag(wf), "v42");
	CHECK(strncmp(wf_summary(wf), "up in 0m00s with image v42", 26) == 0);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "dsddd");
	CHECK_STR(wf_stack_status(wf), "CREATE_COMPLETE");
	CHECK_INT(wf_n_details(wf), 1);
	CHECK_STR(wf_detail(wf, 0), "Url: https://dev.example");
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "Stack"), "app");
	CHECK_STR(field(msg, "Stack status"), "CREATE_COMPLETE");
	CHECK_STR(field(msg, "Outputs"), "Url: https://dev.example\n");
	CHECK_STR(field(msg, "Instances tagged"), "");
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* start again: already up, nothing created */
	wf = run(aws, dev, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(wf_was_noop(wf));
	CHECK_STR(wf_summary(wf), "already up (CREATE_COMPLETE)");
	wf_destroy(wf);

	/* stop: delete, poll until gone */
	aws->log[0] = '\0';
	wf = run(aws, dev, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeStacks,DeleteStack,DescribeStacks,DescribeStacks");
	CHECK_STR(wf_summary(wf), "down: stack deleted");
	CHECK_INT(aws->stack, ST_ABSENT);
	wf_destroy(wf);

	/* stop again: already down (not marked a no-op: an absent stack
	 * answers ENOTFOUND, which does not set it; only DELETE_COMPLETE does) */
	wf = run(aws, dev, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeStacks,DeleteStack,DescribeStacks,DescribeStacks,"
			    "DescribeStacks");
	CHECK_STR(wf_summary(wf), "already down: no stack");
	wf_destroy(wf);

	/* CreateStack refused: fails at once (no retry of a refusal) */
	reset(aws);
	aws->fail_op = "CreateStack";
	aws->fail_err = (struct aws_err){ .rc = BOT_EAUTH,
					  .code = "AccessDenied",
					  .message = "not allowed" };
	wf = run(aws, dev, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_INT(wf_error_rc(wf), BOT_EAUTH);
	CHECK_STR(wf_summary(wf), "CreateStack failed: AccessDenied: not allowed");
	CHECK_STR(aws->log, "DescribeStacks,DescribeImages,CreateStack");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "dsdep");
	msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "Reason"), "CreateStack failed: AccessDenied: not allowed");
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* the stack rolls back: the reason comes from the stack events */
	reset(aws);
	aws->fail_create_resource = true;
	wf = run(aws, dev, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_INT(wf_error_rc(wf), BOT_EFAILED);
	CHECK_STR(wf_summary(wf), "ApiTask (AWS::ECS::Service): image not found");
	CHECK(strstr(r.states, ">FindFailure>Fail") != NULL);
	wf_destroy(wf);

	/* a leftover ROLLBACK_COMPLETE is removed before the creation */
	reset(aws);
	aws->stack = ST_ROLLED_BACK;
	wf = run(aws, dev, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(strncmp(r.states, "Describe>DeleteLeftover>WaitLeftover>PollLeftover", 49) == 0);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ddddd");
	wf_destroy(wf);
}

static void test_ec2(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *qa = cfg_find_env(cfg, "qa");
	struct run r;
	char marks[16];

	reset(aws);
	aws->n_inst = 3;
	snprintf(aws->inst[0].id, sizeof(aws->inst[0].id), "i-0a");
	snprintf(aws->inst[1].id, sizeof(aws->inst[1].id), "i-0b");
	snprintf(aws->inst[2].id, sizeof(aws->inst[2].id), "i-0c");
	for (size_t i = 0; i < 3; i++)
		snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "stopped");
	aws->inst[2].in_asg = true; /* left to its group */

	struct wf *wf = run(aws, qa, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	/* pending at the first poll, running at the second */
	CHECK_STR(aws->log, "DescribeInstances,StartInstances,DescribeInstances,DescribeInstances");
	CHECK_STR(r.states, "Describe>Choose>Change>Wait>Poll>Choose>Wait>Poll>Choose>Done");
	CHECK(strncmp(wf_summary(wf), "2 instance(s) running in ", 25) == 0);
	CHECK_STR(aws->inst[2].state, "stopped");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ddd");
	CHECK_INT(wf_n_details(wf), 3);
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "Instances tagged"), "k=v");
	CHECK(strstr(field(msg, "Instances"), "i-0c : stopped (Auto Scaling group") != NULL);
	CHECK_STR(field(msg, "Stack"), "");
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* started again: a no-op */
	aws->log[0] = '\0';
	wf = run(aws, qa, ACTION_START, &r);
	CHECK(wf_was_noop(wf));
	CHECK_STR(wf_summary(wf), "already running: 2 instance(s)");
	CHECK_STR(aws->log, "DescribeInstances");
	wf_destroy(wf);

	/* StopInstances refused */
	aws->fail_op = "StopInstances";
	aws->fail_err = (struct aws_err){ .rc = BOT_EREMOTE,
					  .code = "UnauthorizedOperation",
					  .message = "no" };
	wf = run(aws, qa, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_INT(wf_error_rc(wf), BOT_EREMOTE);
	CHECK_STR(wf_summary(wf), "StopInstances failed: UnauthorizedOperation: no");
	CHECK_STR(aws->inst[0].state, "running");
	wf_destroy(wf);

	/* and allowed */
	aws->fail_op = NULL;
	wf = run(aws, qa, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->inst[0].state, "stopped");
	CHECK_STR(aws->inst[1].state, "stopped");
	wf_destroy(wf);

	/* nothing tagged outside Auto Scaling groups: a failure */
	aws->n_inst = 1;
	snprintf(aws->inst[0].state, sizeof(aws->inst[0].state), "stopped");
	aws->inst[0].in_asg = true;
	wf = run(aws, qa, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "no instances tagged k=v outside Auto Scaling groups");
	wf_destroy(wf);

	/* a start that falls back to stopped: retried, then failed with AWS's reason */
	reset(aws);
	aws->n_inst = 2;
	snprintf(aws->inst[0].id, sizeof(aws->inst[0].id), "i-0a");
	snprintf(aws->inst[1].id, sizeof(aws->inst[1].id), "i-0b");
	for (size_t i = 0; i < 2; i++)
		snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "stopped");
	aws->inst[1].fall_back = "Client.InternalError: Client error on launch";
	wf = run(aws, qa, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "1 instance(s) did not stay running; i-0b fell back to stopped: "
				  "Client.InternalError: Client error on launch");
	msg = embed_workflow(wf, NULL);
	CHECK(strstr(field(msg, "Reason"), "Client.InternalError: Client error on launch") != NULL);
	cJSON_Delete(msg);
	CHECK_STR(aws->inst[0].state, "running");
	wf_destroy(wf);

	/* hibernate = true: i-0a hibernates, i-0b (not configured) stops */
	const struct cfg_env *qah = cfg_find_env(cfg, "qah");
	CHECK(qah && ((const struct ec2_spec *)qah->spec)->hibernate);
	CHECK(!((const struct ec2_spec *)qa->spec)->hibernate);
	reset(aws);
	aws->n_inst = 2;
	snprintf(aws->inst[0].id, sizeof(aws->inst[0].id), "i-0a");
	snprintf(aws->inst[1].id, sizeof(aws->inst[1].id), "i-0b");
	for (size_t i = 0; i < 2; i++)
		snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "running");
	aws->inst[0].hibernation = true;
	wf = run(aws, qah, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeInstances,Hibernate,StopInstances,DescribeInstances,"
			    "DescribeInstances");
	CHECK_STR(wf_detail(wf, 0), "i-0b cannot hibernate (not configured): stopped instead");
	CHECK_STR(aws->inst[1].state, "stopped");
	wf_destroy(wf);

	/* EC2 refuses the hibernation (configured said otherwise): all stop plainly */
	reset(aws);
	aws->n_inst = 1;
	snprintf(aws->inst[0].id, sizeof(aws->inst[0].id), "i-0a");
	snprintf(aws->inst[0].state, sizeof(aws->inst[0].state), "running");
	aws->inst[0].hibernation = true;
	aws->refuse_hibernation = true;
	wf = run(aws, qah, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeInstances,Hibernate,StopInstances,DescribeInstances,"
			    "DescribeInstances");
	CHECK_STR(wf_detail(wf, 0), "i-0a cannot hibernate (EC2 refused: "
				    "UnsupportedHibernationConfiguration): stopped instead");
	wf_destroy(wf);
}

static void test_toy(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *toy = cfg_find_env(cfg, "toy");
	struct run r;
	char marks[16];

	reset(aws);
	struct wf *wf = run(aws, toy, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(r.states, "Knock>Wait>Settle>Done");
	CHECK_STR(wf_summary(wf), "toy hello awake");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "dd");
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "Toy word"), "hello");
	CHECK_STR(field(msg, "Toy"), "word: hello\n");
	cJSON_Delete(msg);
	wf_destroy(wf);

	wf = run(aws, toy, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(wf_summary(wf), "toy hello asleep");
	wf_destroy(wf);

	aws->fail_op = "GetCallerIdentity";
	aws->fail_err =
		(struct aws_err){ .rc = BOT_EAUTH, .code = "ExpiredToken", .message = "old" };
	wf = run(aws, toy, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "knock failed: ExpiredToken: old");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ep");
	wf_destroy(wf);
}

static void stopped_instances(struct aws *aws, size_t n)
{
	aws->n_inst = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(aws->inst[i].id, sizeof(aws->inst[i].id), "i-0%zu", i);
		snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "stopped");
	}
}

/* A group runs its members as child workflows: started in the listed order
 * (the instances before the stack), stopped in reverse; a start stops at
 * the member that fails, a stop goes on; a resume re-enters the member in
 * flight, the ones before it are not run again. */
static void test_group(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *grp = cfg_find_env(cfg, "grp");
	struct run r;
	char marks[16];

	reset(aws);
	stopped_instances(aws, 2);
	struct wf *wf = run(aws, grp, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeInstances,StartInstances,DescribeInstances,DescribeInstances,"
			    "DescribeStacks,DescribeImages,CreateStack,DescribeStacks,"
			    "DescribeStacks");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "dd");
	CHECK(strncmp(wf_summary(wf), "2 members up in ", 16) == 0);
	CHECK_STR(wf_image_tag(wf), "v42");
	const struct wf_step *steps;
	CHECK_INT(wf_steps(wf, &steps), 2);
	CHECK_STR(steps[0].label, "ec2 instances tagged k=v");
	CHECK_STR(steps[1].label, "stack app");
	CHECK(strncmp(steps[1].detail, "up in 0m00s with image v42", 26) == 0);
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK(strstr(field(msg, "Members"), "2. Url: https://dev.example") != NULL);
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* started again: every member already up */
	wf = run(aws, grp, ACTION_START, &r);
	CHECK(wf_was_noop(wf));
	CHECK_STR(wf_summary(wf), "already up: 2 members");
	wf_destroy(wf);

	/* stop: the stack first, then the instances */
	aws->log[0] = '\0';
	wf = run(aws, grp, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeStacks,DeleteStack,DescribeStacks,DescribeStacks,"
			    "DescribeInstances,StopInstances,DescribeInstances,DescribeInstances");
	CHECK_INT(wf_steps(wf, &steps), 2);
	CHECK_STR(steps[0].label, "stack app");
	CHECK_STR(steps[1].label, "ec2 instances tagged k=v");
	CHECK_INT(aws->stack, ST_ABSENT);
	CHECK_STR(aws->inst[0].state, "stopped");
	wf_destroy(wf);

	/* a start whose first member fails: the stack is not created */
	aws->log[0] = '\0';
	aws->fail_op = "StartInstances";
	aws->fail_err = (struct aws_err){ .rc = BOT_EREMOTE,
					  .code = "InsufficientInstanceCapacity",
					  .message = "none left" };
	wf = run(aws, grp, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(aws->log, "DescribeInstances,StartInstances");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "es");
	CHECK_STR(wf_summary(wf), "stopped at ec2 instances tagged k=v: StartInstances failed: "
				  "InsufficientInstanceCapacity: none left; up: none; not started: "
				  "stack app");
	CHECK_INT(aws->stack, ST_ABSENT);
	wf_destroy(wf);

	/* a stop whose first member fails goes on with the next */
	aws->fail_op = NULL;
	wf = run(aws, grp, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	wf_destroy(wf);
	aws->log[0] = '\0';
	aws->fail_op = "DeleteStack";
	aws->fail_err = (struct aws_err){ .rc = BOT_EAUTH,
					  .code = "AccessDenied",
					  .message = "not allowed" };
	wf = run(aws, grp, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_INT(wf_error_rc(wf), BOT_EAUTH);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ed");
	CHECK_STR(aws->inst[0].state, "stopped");
	CHECK_STR(aws->inst[1].state, "stopped");
	CHECK_STR(wf_summary(wf),
		  "1 of 2 members did not stop (see the steps); down: ec2 instances tagged k=v");
	msg = embed_workflow(wf, NULL);
	CHECK(strstr(field(msg, "Reason"), "1 of 2 members did not stop") != NULL);
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* pictured before its first state ran (no member listed yet): no
	 * description made of whatever the buffer held */
	struct wf_params p0 = { .env = grp, .action = ACTION_START, .trigger = "test" };
	struct wf_observer obs0 = { .finished = obs_finished, .arg = &r };
	wf = wf_create(aws->loop, aws, &p0, &obs0);
	msg = embed_workflow(wf, NULL);
	const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "embeds"), 0);
	CHECK(cJSON_GetObjectItem(e0, "description") == NULL);
	CHECK_STR(cJSON_GetObjectItem(e0, "title")->valuestring, "Starting grp…");
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* resumed at the second member of a start (the stack's Describe): the
	 * instances, done before the restart, are not asked again */
	aws->fail_op = NULL;
	aws->log[0] = '\0';
	aws->stack = ST_ABSENT;
	r = (struct run){ .loop = aws->loop };
	struct wf_params p = { .env = grp,
			       .action = ACTION_START,
			       .trigger = "test",
			       .id = "wf-resume",
			       .resume_state = "Members:1:Describe",
			       .poll_ms = 1 };
	struct wf_observer obs = { .checkpoint = obs_checkpoint,
				   .changed = obs_changed,
				   .finished = obs_finished,
				   .arg = &r };
	wf = wf_create(aws->loop, aws, &p, &obs);
	CHECK(wf != NULL);
	wf_begin(wf);
	loop_run(aws->loop);
	CHECK_INT(r.finished, 1);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeStacks,DescribeImages,CreateStack,DescribeStacks,"
			    "DescribeStacks");
	CHECK_INT(wf_steps(wf, &steps), 2);
	CHECK_STR(steps[0].detail, "done before the restart");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "dd");
	/* its checkpoints name the member position and the member's state */
	CHECK(strncmp(wf_resume_point(wf), "Members:1:", 10) == 0);
	wf_destroy(wf);
}

/* An RDS cluster: stopped and started, already there, a state that ends by
 * itself waited for, a refusal named with AWS's code, not found. */
static void test_rds(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *env = cfg_find_env(cfg, "docdb");
	struct run r;
	char marks[16];

	reset(aws);
	aws->n_db = 1;
	snprintf(aws->db[0].id, sizeof(aws->db[0].id), "chat-docdb");
	snprintf(aws->db[0].status, sizeof(aws->db[0].status), "available");
	struct wf *wf = run(aws, env, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log,
		  "DescribeDBClusters,StopDBCluster,DescribeDBClusters,DescribeDBClusters");
	CHECK_STR(aws->db[0].status, "stopped");
	CHECK(strncmp(wf_summary(wf), "1 DB cluster stopped in ", 24) == 0);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ddd");
	CHECK_STR(wf_detail(wf, 0), "chat-docdb: stopped (docdb, 2 instances)");
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "DB cluster"), "chat-docdb");
	cJSON_Delete(msg);
	wf_destroy(wf);

	aws->log[0] = '\0';
	wf = run(aws, env, ACTION_STOP, &r);
	CHECK(wf_was_noop(wf));
	CHECK_STR(wf_summary(wf), "already stopped: 1 DB cluster");
	CHECK_STR(aws->log, "DescribeDBClusters");
	wf_destroy(wf);

	/* backing up when the start comes: waited for, then started */
	aws->log[0] = '\0';
	snprintf(aws->db[0].status, sizeof(aws->db[0].status), "backing-up");
	aws->db[0].after = "stopped";
	aws->db[0].settle = 2;
	wf = run(aws, env, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	/* two looks while it backs up, then the start */
	CHECK_STR(aws->log, "DescribeDBClusters,DescribeDBClusters,DescribeDBClusters,"
			    "StartDBCluster,DescribeDBClusters,DescribeDBClusters");
	CHECK_STR(aws->db[0].status, "available");
	wf_destroy(wf);

	/* refused: AWS's code and message in the summary */
	aws->fail_op = "StopDBCluster";
	aws->fail_err =
		(struct aws_err){ .rc = BOT_EAUTH,
				  .code = "AccessDenied",
				  .message = "not authorized to perform: rds:StopDBCluster" };
	wf = run(aws, env, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "StopDBCluster failed: AccessDenied: not authorized to perform: "
				  "rds:StopDBCluster");
	wf_destroy(wf);

	/* a state envbot cannot act from */
	aws->fail_op = NULL;
	snprintf(aws->db[0].status, sizeof(aws->db[0].status),
		 "inaccessible-encryption-credentials");
	wf = run(aws, env, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "DB cluster chat-docdb is inaccessible-encryption-credentials: "
				  "envbot cannot start it from there");
	wf_destroy(wf);

	/* gone */
	aws->fail_op = "DescribeDBClusters";
	aws->fail_err = (struct aws_err){ .rc = BOT_ENOTFOUND,
					  .code = "DBClusterNotFoundFault",
					  .message = "DBCluster chat-docdb not found." };
	wf = run(aws, env, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "DB cluster chat-docdb not found (DBClusterNotFoundFault)");
	wf_destroy(wf);
	CHECK(kind_wakes_up(env));
}

static void asg_at(struct aws *aws, long long min, long long desired, long long max)
{
	memset(&aws->asg, 0, sizeof(aws->asg));
	aws->asg.min = min;
	aws->asg.desired = desired;
	aws->asg.max = max;
	aws->asg.n_instances = (size_t)desired;
	aws->asg.exists = true;
}

/* An Auto Scaling group: the stop keeps its capacity before anything is
 * sent, the start restores exactly it (not the config's restore), a
 * repeated stop keeps what was saved, restore = { } only when nothing was
 * saved, a refusal when neither; a failed save sends nothing. */
static void test_asg(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *web = cfg_find_env(cfg, "web");
	const struct cfg_env *web2 = cfg_find_env(cfg, "web2");
	struct run r;

	reset(aws);
	n_caps = 0;
	cap_saves = 0;
	asg_at(aws, 2, 3, 6);
	struct wf *wf = run(aws, web, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeAutoScalingGroups,SuspendProcesses,UpdateAutoScalingGroup,"
			    "DescribeAutoScalingGroups,DescribeAutoScalingGroups");
	CHECK_INT(n_caps, 1);
	CHECK_STR(caps[0].key, "asg/web-asg");
	CHECK(caps[0].min == 2 && caps[0].desired == 3 && caps[0].max == 6);
	CHECK(aws->asg.max == 0 && aws->asg.n_instances == 0);
	CHECK_INT(aws->asg.n_suspended, ASG_N_PROCESSES);
	CHECK(strncmp(wf_summary(wf), "web-asg at 0/0/0 in ", 20) == 0);
	CHECK_STR(wf_detail(wf, 0), "web-asg: 0/0/0 (kept: min 2, desired 3, max 6)");
	wf_destroy(wf);

	/* stopped again: nothing sent, the saved capacity not overwritten */
	aws->log[0] = '\0';
	wf = run(aws, web, ACTION_STOP, &r);
	CHECK(wf_was_noop(wf));
	CHECK_STR(aws->log, "DescribeAutoScalingGroups");
	CHECK(caps[0].desired == 3 && cap_saves == 1);
	wf_destroy(wf);

	/* started: exactly the saved 2/3/6, even where the config says 1/1/1 */
	aws->log[0] = '\0';
	wf = run(aws, web2, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeAutoScalingGroups,UpdateAutoScalingGroup,ResumeProcesses,"
			    "DescribeAutoScalingGroups,DescribeAutoScalingGroups");
	CHECK(aws->asg.min == 2 && aws->asg.desired == 3 && aws->asg.max == 6);
	CHECK_INT(aws->asg.n_suspended, 0);
	CHECK(strncmp(wf_summary(wf), "web-asg 2/3/6, 3 InService in ", 30) == 0);
	wf_destroy(wf);

	/* nothing saved: restore = { } of the config */
	n_caps = 0;
	asg_at(aws, 0, 0, 0);
	wf = run(aws, web2, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(aws->asg.min == 1 && aws->asg.desired == 1 && aws->asg.max == 1);
	wf_destroy(wf);

	/* neither: refused, nothing sent */
	asg_at(aws, 0, 0, 0);
	aws->log[0] = '\0';
	wf = run(aws, web, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "asg web-asg: no saved capacity and no restore = { min; desired; "
				  "max; } in the config: envbot does not guess a size");
	CHECK_STR(aws->log, "DescribeAutoScalingGroups");
	wf_destroy(wf);

	/* the capacity cannot be kept: not scaled down */
	asg_at(aws, 1, 2, 4);
	n_caps = -1;
	aws->log[0] = '\0';
	wf = run(aws, web, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "asg web-asg not scaled down: the disk is full");
	CHECK_STR(aws->log, "DescribeAutoScalingGroups");
	CHECK(aws->asg.desired == 2);
	wf_destroy(wf);
	n_caps = 0;
}

/* An ECS service with an autoscaler: the stop keeps the desired count and
 * the target's range, sets the range to 0/0 before the count; the start
 * restores both exactly (not the config's desired 1), range first. */
static void test_ecs(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *http = cfg_find_env(cfg, "http");
	struct run r;

	reset(aws);
	n_caps = 0;
	aws->ecs.desired = aws->ecs.running = 3;
	aws->ecs.has_target = true;
	aws->ecs.tmin = 2;
	aws->ecs.tmax = 6;
	struct wf *wf = run(aws, http, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log,
		  "DescribeServices,DescribeScalableTargets,RegisterScalableTarget,"
		  "UpdateService,DescribeServices,DescribeScalableTargets,DescribeServices,"
		  "DescribeScalableTargets");
	CHECK_INT(n_caps, 1);
	CHECK_STR(caps[0].key, "ecs/chat/chat-http");
	CHECK(caps[0].desired == 3 && caps[0].min == 2 && caps[0].max == 6);
	CHECK(aws->ecs.desired == 0 && aws->ecs.tmax == 0);
	CHECK(strncmp(wf_summary(wf), "chat-http at 0 tasks in ", 24) == 0);
	wf_destroy(wf);

	aws->log[0] = '\0';
	wf = run(aws, http, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log,
		  "DescribeServices,DescribeScalableTargets,RegisterScalableTarget,"
		  "UpdateService,DescribeServices,DescribeScalableTargets,DescribeServices,"
		  "DescribeScalableTargets");
	CHECK(aws->ecs.desired == 3 && aws->ecs.tmin == 2 && aws->ecs.tmax == 6);
	CHECK(strncmp(wf_summary(wf), "chat-http 3/3 running (autoscaler range back) in ", 49) ==
	      0);
	wf_destroy(wf);

	/* a start killed after the range came back but before the count: the
	 * next start still brings the count back (exactly 3) */
	aws->ecs.desired = aws->ecs.running = 0;
	aws->ecs.tmin = 2;
	aws->ecs.tmax = 6;
	wf = run(aws, http, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(aws->ecs.desired == 3 && aws->ecs.tmin == 2 && aws->ecs.tmax == 6);
	wf_destroy(wf);

	/* nothing saved, no autoscaler: the config's desired 1 */
	n_caps = 0;
	aws->ecs.desired = aws->ecs.running = 0;
	aws->ecs.has_target = false;
	wf = run(aws, http, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(aws->ecs.desired == 1);
	wf_destroy(wf);
}

static void stop_loop(void *arg)
{
	loop_stop(arg);
}

/* A workflow destroyed mid-flight cancels its call: no callback follows. */
/* Exemptions: "true" (any case), an until-date today or later, an
 * unreadable one; a lapsed one and other values are no exemption. */
static void test_exempt(void)
{
	char why[160];
	const int64_t now = 1796256000; /* 2026-12-03T00:00:00Z */
	struct aws_tag t[2] = { { "Name", "x" }, { "envbot:exclude", "True" } };
	CHECK(kind_exempt(NULL, t, 2, now, why, sizeof(why)));
	CHECK_STR(why, "envbot:exclude=True");
	t[1].value = "no";
	CHECK(!kind_exempt(NULL, t, 2, now, why, sizeof(why)));
	t[1] = (struct aws_tag){ "envbot:exclude-until", "2026-12-03" };
	CHECK(kind_exempt(NULL, t, 2, now + 86399, why, sizeof(why))); /* through that day */
	CHECK_STR(why, "envbot:exclude-until=2026-12-03");
	CHECK(!kind_exempt(NULL, t, 2, now + 86400, why, sizeof(why)));
	t[1].value = "next week";
	CHECK(kind_exempt(NULL, t, 2, now, why, sizeof(why)));
	CHECK(strstr(why, "not a date") != NULL);
	t[1] = (struct aws_tag){ "team:keep", "true" };
	CHECK(!kind_exempt(NULL, t, 2, now, why, sizeof(why)));
	CHECK(kind_exempt("team:keep", t, 2, now, why, sizeof(why)));
}

/* An environment of several regions: the kind's workflow in each at once,
 * a step per region; an exempt instance left alone and reported; a region
 * that fails fails its step, the others finish; "all" asks DescribeRegions
 * first. (The stub is one client for every region: what differs per region
 * is the fan-out's, which is what is under test.) */
static void test_regions(struct aws *aws, const struct cfg *cfg)
{
	const struct cfg_env *qa3 = cfg_find_env(cfg, "qa3");
	const struct cfg_env *qall = cfg_find_env(cfg, "qall");
	struct run r;
	char marks[16];

	reset(aws);
	aws->n_inst = 2;
	snprintf(aws->inst[0].id, sizeof(aws->inst[0].id), "i-0a");
	snprintf(aws->inst[1].id, sizeof(aws->inst[1].id), "i-0b");
	for (size_t i = 0; i < 2; i++)
		snprintf(aws->inst[i].state, sizeof(aws->inst[i].state), "running");
	aws->inst[1].tag = (struct aws_tag){ "envbot:exclude", "true" };
	struct wf *wf = run(aws, qa3, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ddd");
	const struct wf_step *steps;
	CHECK_INT(wf_steps(wf, &steps), 3);
	CHECK_STR(steps[0].label, "ap-northeast-2");
	CHECK_STR(steps[2].label, "eu-west-1");
	CHECK(strncmp(wf_summary(wf), "down in 3 regions in ", 21) == 0);
	CHECK_STR(aws->inst[0].state, "stopped");
	CHECK_STR(aws->inst[1].state, "running");
	CHECK(strstr(wf_skipped(wf), "ap-northeast-2: i-0b (envbot:exclude=true)") != NULL);
	cJSON *msg = embed_workflow(wf, NULL);
	CHECK_STR(field(msg, "Account"), "envbot's own, 3 regions");
	CHECK(strstr(field(msg, "Instances"), "exempt: envbot:exclude=true") != NULL);
	cJSON_Delete(msg);
	wf_destroy(wf);

	/* StartInstances refused: every region's step fails, the summary says
	 * how many */
	aws->fail_op = "StartInstances";
	aws->fail_err = (struct aws_err){ .rc = BOT_EREMOTE, .code = "UnauthorizedOperation" };
	wf = run(aws, qa3, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "eee");
	CHECK(strncmp(wf_summary(wf),
		      "0 of 3 regions up; failed: ap-northeast-2, us-east-1, eu-west-1", 63) == 0);
	wf_destroy(wf);
	aws->fail_op = NULL;

	/* "all": DescribeRegions, then the three regions it lists */
	aws->log[0] = '\0';
	wf = run(aws, qall, ACTION_START, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(strncmp(aws->log, "DescribeRegions,", 16) == 0);
	CHECK_INT(wf_steps(wf, &steps), 3);
	CHECK_STR(steps[1].label, "us-east-1");
	CHECK_STR(aws->inst[0].state, "running");
	wf_destroy(wf);

	/* DescribeRegions throttled once: the task starts over and succeeds,
	 * with the steps once */
	aws->fail_op = "DescribeRegions";
	aws->fail_times = 1;
	aws->fail_err = (struct aws_err){ .rc = BOT_ETHROTTLED, .code = "RequestLimitExceeded" };
	aws->log[0] = '\0';
	wf = run(aws, qall, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(strncmp(aws->log, "DescribeRegions,DescribeRegions,", 32) == 0);
	CHECK_INT(wf_steps(wf, &steps), 3);
	CHECK_STR(steps[2].label, "us-west-2");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "ddd");
	wf_destroy(wf);

	/* nothing tagged anywhere: red, said so */
	aws->n_inst = 0;
	wf = run(aws, qa3, ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_FAILED);
	CHECK_STR(wf_summary(wf), "nothing matched in any of the 3 regions");
	CHECK_STR(step_marks(wf, marks, sizeof(marks)), "sss");
	wf_destroy(wf);
}

/* A group, a service, a database tagged envbot:exclude: found, reported,
 * never changed; the workflow ends green with nothing done. */
static void test_exempt_kinds(struct aws *aws, const struct cfg *cfg)
{
	struct run r;
	reset(aws);
	n_caps = 0;
	asg_at(aws, 2, 3, 6);
	aws->tag = (struct aws_tag){ "envbot:exclude", "true" };
	struct wf *wf = run(aws, cfg_find_env(cfg, "web"), ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(wf_was_noop(wf));
	CHECK_STR(aws->log, "DescribeAutoScalingGroups");
	CHECK_STR(wf_summary(wf), "nothing to do: 1 group found, exempt (left alone)");
	CHECK_STR(wf_skipped(wf), "web-asg (envbot:exclude=true)");
	CHECK(aws->asg.max == 6 && n_caps == 0);
	wf_destroy(wf);

	reset(aws);
	aws->tag = (struct aws_tag){ "envbot:exclude-until", "2999-01-01" };
	aws->ecs.desired = aws->ecs.running = 3;
	wf = run(aws, cfg_find_env(cfg, "http"), ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(wf_summary(wf), "nothing to do: 1 service found, exempt (left alone)");
	CHECK_STR(wf_skipped(wf), "chat-http (envbot:exclude-until=2999-01-01)");
	CHECK(strstr(aws->log, "UpdateService") == NULL && aws->ecs.desired == 3);
	wf_destroy(wf);

	reset(aws);
	aws->tag = (struct aws_tag){ "envbot:exclude", "TRUE" };
	aws->n_db = 1;
	snprintf(aws->db[0].id, sizeof(aws->db[0].id), "chat-docdb");
	snprintf(aws->db[0].status, sizeof(aws->db[0].status), "available");
	wf = run(aws, cfg_find_env(cfg, "docdb"), ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK_STR(aws->log, "DescribeDBClusters");
	CHECK_STR(wf_summary(wf), "nothing to do: 1 DB cluster found, exempt (left alone)");
	CHECK_STR(aws->db[0].status, "available");
	CHECK_STR(wf_skipped(wf), "chat-docdb (envbot:exclude=TRUE)");
	wf_destroy(wf);

	/* a lapsed exemption is none: the stop goes ahead */
	reset(aws);
	aws->tag = (struct aws_tag){ "envbot:exclude-until", "2020-01-01" };
	asg_at(aws, 2, 3, 6);
	wf = run(aws, cfg_find_env(cfg, "web"), ACTION_STOP, &r);
	CHECK_INT(wf_status(wf), WF_SUCCEEDED);
	CHECK(aws->asg.max == 0);
	CHECK_STR(wf_skipped(wf), "");
	wf_destroy(wf);
}

static void test_destroy_cancels(struct aws *aws, const struct cfg *cfg)
{
	struct run r = { .loop = aws->loop };
	reset(aws);
	struct wf_params p = { .env = cfg_find_env(cfg, "dev"), .action = ACTION_START };
	struct wf_observer obs = { .checkpoint = obs_checkpoint,
				   .changed = obs_changed,
				   .finished = obs_finished,
				   .arg = &r };
	struct wf *wf = wf_create(aws->loop, aws, &p, &obs);
	wf_begin(wf);
	CHECK_INT(n_calls, 1);
	wf_destroy(wf);
	CHECK_INT(aws->cancelled, 1);
	/* the loop drains the cancelled answer without calling anything */
	loop_post(aws->loop, stop_loop, aws->loop);
	loop_run(aws->loop);
	CHECK_INT(r.finished, 0);
	CHECK_INT(n_calls, 0);
}

int main(void)
{
	log_set_level(LL_ERROR);
	struct cfg *cfg = NULL;
	char err[4096] = "";
	if (cfg_load_string(cfg_text, "wf.cfg", envbot_kinds, &cfg, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "%s", err);
		return 1;
	}
	struct aws aws = { .loop = loop_create() };
	test_tables();
	test_registry_messages();
	test_stack(&aws, cfg);
	test_ec2(&aws, cfg);
	test_toy(&aws, cfg);
	test_group(&aws, cfg);
	test_rds(&aws, cfg);
	test_asg(&aws, cfg);
	test_ecs(&aws, cfg);
	test_exempt();
	test_regions(&aws, cfg);
	test_exempt_kinds(&aws, cfg);
	test_destroy_cancels(&aws, cfg);
	loop_destroy(aws.loop);
	cfg_destroy(cfg);
	return check_done();
}
