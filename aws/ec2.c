/* EC2 calls on top of the core (aws.c): DescribeInstances by tag over every
 * page, and StartInstances/StopInstances sent in batches of EC2_BATCH ids,
 * one batch after the other (a few batches at most; order keeps the error
 * report simple: the first failed batch ends the call). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_core.h"

#define EC2_PAGE          1000
#define EC2_MAX_PAGES     200
#define EC2_MAX_INSTANCES 100000

struct ec2_op {
	struct aws_op op;
	struct arena a;
	struct vec items; /* ec2_instance or ec2_state_change */
	char *key, *value;
	char **ids; /* start/stop: copies */
	size_t n_ids, sent;
	const char *action;
	bool hibernate; /* StopInstances: Hibernate=true in every batch */
	size_t pages;
	union {
		ec2_instances_fn instances;
		ec2_changes_fn changes;
	} cb;
};

static void ec2_free(struct aws_op *op)
{
	struct ec2_op *e = (struct ec2_op *)op;
	aws_op_release(op);
	arena_free(&e->a);
	vec_free(&e->items);
	free(e->key);
	free(e->value);
	for (size_t i = 0; i < e->n_ids; i++)
		free(e->ids[i]);
	free(e->ids);
	free(e);
}

static enum bot_rc ec2_send(struct ec2_op *e, const char *action, struct buf *form)
{
	char *body = NULL;
	enum bot_rc rc = aws_op_query_body(form, AWS_EC2, action, form->p ? form->p : "", &body);
	buf_free(form);
	if (rc == BOT_OK)
		rc = aws_op_send(&e->op, body);
	return rc;
}

static void set_failure(struct aws_err *err, enum bot_rc rc, const char *why)
{
	int attempts = err->attempts, status = err->http_status;
	aws_err_set(err, rc, "", "%s", why);
	err->attempts = attempts;
	err->http_status = status;
}

static enum bot_rc describe_page(struct ec2_op *e, const char *next)
{
	struct buf form = { 0 }, name = { 0 };
	const char *values[1] = { e->value };
	buf_addf(&name, "tag:%s", e->key);
	struct ec2_filter f = { .name = name.p ? name.p : "", .values = values, .n_values = 1 };
	ec2_encode_describe(&form, &f, 1, EC2_PAGE, next);
	if (name.oom)
		form.oom = true;
	buf_free(&name);
	return ec2_send(e, "DescribeInstances", &form);
}

static void describe_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct ec2_op *e = (struct ec2_op *)op;
	struct aws_err err = *in;
	const char *next = NULL;
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc =
			ec2_decode_instances(body, len, &e->a, &e->items, &next, why, sizeof(why));
		e->pages++;
		if (rc == BOT_OK && next && e->pages >= EC2_MAX_PAGES) {
			rc = BOT_EPARSE;
			snprintf(why, sizeof(why), "DescribeInstances: more than %d pages",
				 EC2_MAX_PAGES);
		}
		if (rc == BOT_OK && next) {
			rc = describe_page(e, next);
			if (rc == BOT_OK)
				return;
			snprintf(why, sizeof(why), "cannot request the next page");
		}
		if (rc != BOT_OK)
			set_failure(&err, rc, why);
	}
	aws_op_finish(op, &err);
	struct ec2_instances res = { .v = e->items.v, .n = e->items.n, .n_pages = e->pages };
	for (size_t i = 0; i < res.n; i++)
		res.n_asg += res.v[i].in_asg;
	e->cb.instances(op->user_arg, &err, err.rc == BOT_OK ? &res : NULL);
	ec2_free(op);
}

enum bot_rc ec2_describe_by_tag(struct aws *aws, const char *key, const char *value,
				ec2_instances_fn cb, void *arg)
{
	if (!aws || !key || !*key || !value || !cb)
		return BOT_EINVAL;
	struct ec2_op *e = calloc(1, sizeof(*e));
	if (!e)
		return BOT_ENOMEM;
	e->items.size = sizeof(struct ec2_instance);
	e->items.max = EC2_MAX_INSTANCES;
	e->cb.instances = cb;
	aws_op_init(&e->op, aws, AWS_EC2, arg, describe_resp, ec2_free);
	enum bot_rc rc = BOT_ENOMEM;
	e->key = strdup(key);
	e->value = strdup(value);
	if (e->key && e->value)
		rc = describe_page(e, NULL);
	if (rc != BOT_OK)
		aws_op_abort(&e->op);
	return rc;
}

static enum bot_rc next_batch(struct ec2_op *e)
{
	struct buf form = { 0 };
	size_t n = e->n_ids - e->sent < EC2_BATCH ? e->n_ids - e->sent : EC2_BATCH;
	ec2_encode_ids(&form, (const char *const *)e->ids + e->sent, n);
	if (e->hibernate)
		aws_form_addk(&form, "true", "Hibernate");
	e->sent += n;
	return ec2_send(e, e->action, &form);
}

static void changes_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct ec2_op *e = (struct ec2_op *)op;
	struct aws_err err = *in;
	char why[200];
	if (err.rc == BOT_OK && e->n_ids) {
		enum bot_rc rc = ec2_decode_changes(body, len, &e->a, &e->items, why, sizeof(why));
		if (rc == BOT_OK && e->sent < e->n_ids) {
			rc = next_batch(e);
			if (rc == BOT_OK)
				return;
			snprintf(why, sizeof(why), "cannot send the next batch");
		}
		if (rc != BOT_OK)
			set_failure(&err, rc, why);
	}
	aws_op_finish(op, &err);
	struct ec2_changes res = { .v = e->items.v, .n = e->items.n };
	e->cb.changes(op->user_arg, &err, err.rc == BOT_OK ? &res : NULL);
	ec2_free(op);
}

static void empty_done(void *arg)
{
	struct ec2_op *e = arg;
	struct aws_err err = { 0 };
	e->op.timer = NULL;
	changes_resp(&e->op, &err, "", 0);
}

static enum bot_rc start_stop(struct aws *aws, const char *action, bool hibernate,
			      const char *const *ids, size_t n, ec2_changes_fn cb, void *arg)
{
	if (!aws || (n && !ids) || !cb)
		return BOT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!ids[i] || !*ids[i])
			return BOT_EINVAL;
	struct ec2_op *e = calloc(1, sizeof(*e));
	if (!e)
		return BOT_ENOMEM;
	e->items.size = sizeof(struct ec2_state_change);
	e->items.max = n + 1;
	e->cb.changes = cb;
	e->action = action;
	e->hibernate = hibernate;
	aws_op_init(&e->op, aws, AWS_EC2, arg, changes_resp, ec2_free);
	enum bot_rc rc = BOT_ENOMEM;
	e->ids = calloc(n ? n : 1, sizeof(*e->ids));
	if (!e->ids)
		goto out;
	for (; e->n_ids < n; e->n_ids++)
		if (!(e->ids[e->n_ids] = strdup(ids[e->n_ids])))
			goto out;
	if (n == 0) {
		/* nothing to send; still answer from the loop, never inline */
		e->op.timer = loop_timer_add(aws->loop, 0, empty_done, e);
		rc = e->op.timer ? BOT_OK : BOT_ENOMEM;
	} else {
		rc = next_batch(e);
	}
out:
	if (rc != BOT_OK)
		aws_op_abort(&e->op);
	return rc;
}

enum bot_rc ec2_start_instances(struct aws *aws, const char *const *ids, size_t n,
				ec2_changes_fn cb, void *arg)
{
	return start_stop(aws, "StartInstances", false, ids, n, cb, arg);
}

enum bot_rc ec2_stop_instances(struct aws *aws, const char *const *ids, size_t n, ec2_changes_fn cb,
			       void *arg)
{
	return start_stop(aws, "StopInstances", false, ids, n, cb, arg);
}

enum bot_rc ec2_hibernate_instances(struct aws *aws, const char *const *ids, size_t n,
				    ec2_changes_fn cb, void *arg)
{
	return start_stop(aws, "StopInstances", true, ids, n, cb, arg);
}

/* ---- DescribeRegions ---- */

struct regions_op {
	struct aws_op op;
	ec2_regions_fn cb;
};

static void regions_free(struct aws_op *op)
{
	aws_op_release(op);
	free(op);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void regions_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct regions_op *r = (struct regions_op *)op;
	struct aws_err err = *in;
	struct arena a = { 0 };
	struct vec names = { .size = sizeof(const char *), .max = 1000 };
	char why[300];
	if (err.rc == BOT_OK &&
	    ec2_decode_regions(body, len, &a, &names, why, sizeof(why)) != BOT_OK)
		set_failure(&err, BOT_EPARSE, why);
	if (names.n)
		qsort(names.v, names.n, sizeof(const char *), cmp_str);
	struct ec2_regions list = { .v = names.v, .n = names.n };
	ec2_regions_fn cb = r->cb;
	void *arg = op->user_arg;
	aws_op_finish(op, &err);
	cb(arg, &err, err.rc == BOT_OK ? &list : NULL);
	regions_free(op);
	vec_free(&names);
	arena_free(&a);
}

enum bot_rc ec2_describe_regions(struct aws *aws, ec2_regions_fn cb, void *arg)
{
	struct regions_op *r = calloc(1, sizeof(*r));
	if (!r)
		return BOT_ENOMEM;
	r->cb = cb;
	aws_op_init(&r->op, aws, AWS_EC2, arg, regions_resp, regions_free);
	char *body = NULL;
	enum bot_rc rc = aws_op_query_body(NULL, AWS_EC2, "DescribeRegions", "", &body);
	if (rc == BOT_OK)
		rc = aws_op_send(&r->op, body);
	if (rc != BOT_OK)
		aws_op_abort(&r->op);
	return rc;
}
