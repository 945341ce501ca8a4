/* RDS calls on top of the paged call (paged.h): DescribeDBInstances and
 * DescribeDBClusters by identifier or, over every page, by tag (the API's
 * Filters take no tags: TagList of each answer is read), and the four
 * start/stop actions. */
#include "rds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paged.h"

#define RDS_MAX 10000

static char *describe_form(enum rds_what what, const char *id, const char *marker)
{
	struct buf b = { 0 };
	aws_form_add(&b, what == RDS_INSTANCE ? "DBInstanceIdentifier" : "DBClusterIdentifier", id);
	if (!id)
		aws_form_add(&b, "MaxRecords", "100");
	aws_form_add(&b, "Marker", marker);
	return buf_take(&b);
}

static enum bot_rc describe_page(struct aws_paged *p, const char *body, size_t len, char **next,
				 char *why, size_t whylen)
{
	enum rds_what what =
		strcmp(p->action, "DescribeDBInstances") == 0 ? RDS_INSTANCE : RDS_CLUSTER;
	const char *marker = NULL;
	enum bot_rc rc = rds_decode_dbs(body, len, what, p->key, p->value, &p->a, &p->items,
					&marker, why, whylen);
	if (rc == BOT_OK && marker && !p->ctx) {
		*next = describe_form(what, NULL, marker);
		if (!*next)
			rc = BOT_ENOMEM;
	}
	return rc;
}

static void describe_done(struct aws_paged *p, const struct aws_err *in)
{
	struct aws_err err = *in;
	if (strcmp(err.code, "DBInstanceNotFound") == 0 ||
	    strcmp(err.code, "DBClusterNotFoundFault") == 0)
		err.rc = BOT_ENOTFOUND;
	struct rds_dbs res = { .v = p->items.v, .n = p->items.n };
	((rds_dbs_fn)p->cb)(p->op.user_arg, &err, err.rc == BOT_OK ? &res : NULL);
}

enum bot_rc rds_describe(struct aws *aws, enum rds_what what, const char *id, const char *key,
			 const char *value, rds_dbs_fn cb, void *arg)
{
	if (!cb || (!id == !key) || (key && !value))
		return BOT_EINVAL;
	return aws_paged_start(
		aws, AWS_RDS, what == RDS_INSTANCE ? "DescribeDBInstances" : "DescribeDBClusters",
		false, describe_form(what, id, NULL), sizeof(struct rds_db), RDS_MAX, describe_page,
		describe_done, (void (*)(void))cb, arg, key, value, id);
}

static enum bot_rc action_page(struct aws_paged *p, const char *body, size_t len, char **next,
			       char *why, size_t whylen)
{
	(void)p, (void)body, (void)len, (void)why, (void)whylen;
	*next = NULL; /* the answer echoes the database; its state is polled */
	return BOT_OK;
}

static void action_done(struct aws_paged *p, const struct aws_err *err)
{
	((rds_done_fn)p->cb)(p->op.user_arg, err);
}

static enum bot_rc act(struct aws *aws, const char *action, enum rds_what what, const char *id,
		       rds_done_fn cb, void *arg)
{
	if (!id || !*id || !cb)
		return BOT_EINVAL;
	struct buf b = { 0 };
	aws_form_add(&b, what == RDS_INSTANCE ? "DBInstanceIdentifier" : "DBClusterIdentifier", id);
	return aws_paged_start(aws, AWS_RDS, action, false, buf_take(&b), 1, 1, action_page,
			       action_done, (void (*)(void))cb, arg, NULL, NULL, id);
}

enum bot_rc rds_start(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb,
		      void *arg)
{
	return act(aws, what == RDS_INSTANCE ? "StartDBInstance" : "StartDBCluster", what, id, cb,
		   arg);
}

enum bot_rc rds_stop(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb, void *arg)
{
	return act(aws, what == RDS_INSTANCE ? "StopDBInstance" : "StopDBCluster", what, id, cb,
		   arg);
}
