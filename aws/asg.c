/* Auto Scaling calls on top of the paged call (paged.h). A tag selection
 * reads every group's Tags (the API's tag filters differ between AWS and
 * its emulators; the answer's own tags do not). */
#include "asg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paged.h"

#define ASG_MAX 10000

static const char *const processes[] = { ASG_PROCESSES };

static char *describe_form(const char *name, const char *token)
{
	struct buf b = { 0 };
	aws_form_add(&b, "AutoScalingGroupNames.member.1", name);
	if (!name)
		aws_form_add(&b, "MaxRecords", "100");
	aws_form_add(&b, "NextToken", token);
	return buf_take(&b);
}

static enum bot_rc describe_page(struct aws_paged *p, const char *body, size_t len, char **next,
				 char *why, size_t whylen)
{
	const char *token = NULL;
	enum bot_rc rc = asg_decode_groups(body, len, p->key, p->value, &p->a, &p->items, &token,
					   why, whylen);
	if (rc == BOT_OK && token && !p->ctx && !(*next = describe_form(NULL, token)))
		rc = BOT_ENOMEM;
	return rc;
}

static void describe_done(struct aws_paged *p, const struct aws_err *err)
{
	struct asg_groups res = { .v = p->items.v, .n = p->items.n };
	((asg_groups_fn)p->cb)(p->op.user_arg, err, err->rc == BOT_OK ? &res : NULL);
}

enum bot_rc asg_describe(struct aws *aws, const char *name, const char *key, const char *value,
			 asg_groups_fn cb, void *arg)
{
	if (!cb || (!name == !key) || (key && !value))
		return BOT_EINVAL;
	return aws_paged_start(aws, AWS_ASG, "DescribeAutoScalingGroups", false,
			       describe_form(name, NULL), sizeof(struct asg_group), ASG_MAX,
			       describe_page, describe_done, (void (*)(void))cb, arg, key, value,
			       name);
}

static enum bot_rc action_page(struct aws_paged *p, const char *body, size_t len, char **next,
			       char *why, size_t whylen)
{
	(void)p, (void)body, (void)len, (void)why, (void)whylen;
	*next = NULL;
	return BOT_OK;
}

static void action_done(struct aws_paged *p, const struct aws_err *err)
{
	((asg_done_fn)p->cb)(p->op.user_arg, err);
}

enum bot_rc asg_update(struct aws *aws, const char *name, long long min, long long desired,
		       long long max, asg_done_fn cb, void *arg)
{
	if (!name || !*name || !cb || min < 0 || desired < min || max < desired)
		return BOT_EINVAL;
	struct buf b = { 0 };
	aws_form_add(&b, "AutoScalingGroupName", name);
	buf_addf(&b, "&MinSize=%lld&DesiredCapacity=%lld&MaxSize=%lld", min, desired, max);
	return aws_paged_start(aws, AWS_ASG, "UpdateAutoScalingGroup", false, buf_take(&b), 1, 1,
			       action_page, action_done, (void (*)(void))cb, arg, NULL, NULL, name);
}

enum bot_rc asg_processes(struct aws *aws, const char *name, bool suspend, asg_done_fn cb,
			  void *arg)
{
	if (!name || !*name || !cb)
		return BOT_EINVAL;
	struct buf b = { 0 };
	aws_form_add(&b, "AutoScalingGroupName", name);
	for (size_t i = 0; i < ASG_N_PROCESSES; i++)
		aws_form_addk(&b, processes[i], "ScalingProcesses.member.%zu", i + 1);
	return aws_paged_start(aws, AWS_ASG, suspend ? "SuspendProcesses" : "ResumeProcesses",
			       false, buf_take(&b), 1, 1, action_page, action_done,
			       (void (*)(void))cb, arg, NULL, NULL, name);
}
