/* RDS calls on top of the paged call (paged.h): DescribeDBInstances and
 * DescribeDBClusters by identifier or, over every page, by tag (the API's
 * Filters take no tags: TagList of each answer is read), and the four
 * start/stop actions. */
#include "rds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paged.h"
#include "xml_internal.h"

#define RDS_MAX 10000

static const char *list_name(enum rds_what w)
{
	return w == RDS_INSTANCE ? "DBInstances" : "DBClusters";
}

static bool has_tag(struct arena *a, xmlNodePtr item, const char *key, const char *value)
{
	xmlNodePtr list = aws_xml_child(item, "TagList");
	for (xmlNodePtr t = list ? list->children : NULL; t; t = t->next) {
		if (!aws_xml_is(t, "Tag"))
			continue;
		const char *k = aws_xml_child_text(a, t, "Key");
		const char *v = aws_xml_child_text(a, t, "Value");
		if (k && v && strcmp(k, key) == 0 && strcmp(v, value) == 0)
			return true;
	}
	return false;
}

enum bot_rc rds_decode_dbs(const char *body, size_t len, enum rds_what what, const char *key,
			   const char *value, struct arena *a, struct vec *out, const char **marker,
			   char *why, size_t whylen)
{
	const char *root_name =
		what == RDS_INSTANCE ? "DescribeDBInstancesResponse" : "DescribeDBClustersResponse";
	*marker = NULL;
	xmlDocPtr doc = aws_xml_parse(body, len, why, whylen);
	if (!doc)
		return BOT_EPARSE;
	enum bot_rc rc = BOT_OK;
	xmlNodePtr root = aws_xml_root(doc, root_name, why, whylen);
	xmlNodePtr res = aws_xml_child(root, what == RDS_INSTANCE ? "DescribeDBInstancesResult"
								  : "DescribeDBClustersResult");
	if (!res) {
		if (root)
			snprintf(why, whylen, "%s: no result", root_name);
		rc = BOT_EPARSE;
		goto out;
	}
	xmlNodePtr list = aws_xml_child(res, list_name(what));
	for (xmlNodePtr n = list ? list->children : NULL; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (key && !has_tag(a, n, key, value))
			continue;
		struct rds_db *d = vec_push(out);
		if (!d) {
			snprintf(why, whylen, "more than %d databases or out of memory", RDS_MAX);
			rc = BOT_ENOMEM;
			goto out;
		}
		if (what == RDS_INSTANCE) {
			d->id = aws_xml_child_text(a, n, "DBInstanceIdentifier");
			d->status = aws_xml_child_text(a, n, "DBInstanceStatus");
			d->cluster = aws_xml_child_text(a, n, "DBClusterIdentifier");
		} else {
			d->id = aws_xml_child_text(a, n, "DBClusterIdentifier");
			d->status = aws_xml_child_text(a, n, "Status");
			d->cluster = "";
			xmlNodePtr m = aws_xml_child(n, "DBClusterMembers");
			for (xmlNodePtr c = m ? m->children : NULL; c; c = c->next)
				d->n_members += aws_xml_is(c, "DBClusterMember");
		}
		d->engine = aws_xml_child_text(a, n, "Engine");
		if (!d->id || !d->status || !d->engine || !d->cluster) {
			snprintf(why, whylen, "out of memory");
			rc = BOT_ENOMEM;
			goto out;
		}
		if (!d->id[0]) {
			snprintf(why, whylen, "%s: an entry without an identifier", root_name);
			rc = BOT_EPARSE;
			goto out;
		}
	}
	const char *m = aws_xml_child_text(a, res, "Marker");
	*marker = m && *m ? m : NULL;
out:
	xmlFreeDoc(doc);
	return rc;
}

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
