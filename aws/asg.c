/* Auto Scaling calls on top of the paged call (paged.h). A tag selection
 * reads every group's Tags (the API's tag filters differ between AWS and
 * its emulators; the answer's own tags do not). */
#include "asg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paged.h"
#include "xml_internal.h"

#define ASG_MAX 10000

static const char *const processes[] = { ASG_PROCESSES };

static bool has_tag(struct arena *a, xmlNodePtr g, const char *key, const char *value)
{
	xmlNodePtr tags = aws_xml_child(g, "Tags");
	for (xmlNodePtr t = tags ? tags->children : NULL; t; t = t->next) {
		if (!aws_xml_is(t, "member"))
			continue;
		const char *k = aws_xml_child_text(a, t, "Key");
		const char *v = aws_xml_child_text(a, t, "Value");
		if (k && v && strcmp(k, key) == 0 && strcmp(v, value) == 0)
			return true;
	}
	return false;
}

static bool number(struct arena *a, xmlNodePtr n, const char *name, long long *out)
{
	const char *t = aws_xml_child_text(a, n, name);
	char *end = NULL;
	if (!t || !*t)
		return false;
	*out = strtoll(t, &end, 10);
	return end && *end == '\0' && *out >= 0;
}

enum bot_rc asg_decode_groups(const char *body, size_t len, const char *key, const char *value,
			      struct arena *a, struct vec *out, const char **next, char *why,
			      size_t whylen)
{
	*next = NULL;
	xmlDocPtr doc = aws_xml_parse(body, len, why, whylen);
	if (!doc)
		return BOT_EPARSE;
	enum bot_rc rc = BOT_OK;
	xmlNodePtr res =
		aws_xml_child(aws_xml_root(doc, "DescribeAutoScalingGroupsResponse", why, whylen),
			      "DescribeAutoScalingGroupsResult");
	if (!res) {
		if (!why[0])
			snprintf(why, whylen, "DescribeAutoScalingGroups: no result");
		rc = BOT_EPARSE;
		goto out;
	}
	xmlNodePtr list = aws_xml_child(res, "AutoScalingGroups");
	for (xmlNodePtr g = list ? list->children : NULL; g; g = g->next) {
		if (!aws_xml_is(g, "member") || (key && !has_tag(a, g, key, value)))
			continue;
		struct asg_group *o = vec_push(out);
		if (!o) {
			snprintf(why, whylen, "more than %d groups or out of memory", ASG_MAX);
			rc = BOT_ENOMEM;
			goto out;
		}
		o->name = aws_xml_child_text(a, g, "AutoScalingGroupName");
		if (!o->name || !o->name[0] || !number(a, g, "MinSize", &o->min) ||
		    !number(a, g, "DesiredCapacity", &o->desired) ||
		    !number(a, g, "MaxSize", &o->max)) {
			snprintf(why, whylen,
				 "DescribeAutoScalingGroups: a group without its name "
				 "or sizes");
			rc = BOT_EPARSE;
			goto out;
		}
		xmlNodePtr insts = aws_xml_child(g, "Instances");
		for (xmlNodePtr i = insts ? insts->children : NULL; i; i = i->next) {
			if (!aws_xml_is(i, "member"))
				continue;
			o->n_instances++;
			const char *life = aws_xml_child_text(a, i, "LifecycleState");
			const char *health = aws_xml_child_text(a, i, "HealthStatus");
			if (life && health && strcmp(life, "InService") == 0 &&
			    strcmp(health, "Healthy") == 0)
				o->n_ready++;
		}
		xmlNodePtr sus = aws_xml_child(g, "SuspendedProcesses");
		for (xmlNodePtr s = sus ? sus->children : NULL; s; s = s->next) {
			const char *p = aws_xml_is(s, "member")
						? aws_xml_child_text(a, s, "ProcessName")
						: NULL;
			for (size_t k = 0; p && k < ASG_N_PROCESSES; k++)
				o->n_suspended += strcmp(p, processes[k]) == 0;
		}
	}
	const char *t = aws_xml_child_text(a, res, "NextToken");
	*next = t && *t ? t : NULL;
out:
	xmlFreeDoc(doc);
	return rc;
}

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
