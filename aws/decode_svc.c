/* The pure decoders of the services built on the paged call (asg.c,
 * ecs.c, rds.c): XML (Auto Scaling, RDS) and JSON (ECS, Application Auto
 * Scaling) answers into the arena, no I/O, so the fuzzers reach them
 * without the client. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml_internal.h"

#define ASG_MAX 10000
#define ECS_MAX 5000
#define RDS_MAX 10000

/* ---- Auto Scaling ---- */

static const char *const processes[] = { ASG_PROCESSES };

static bool asg_has_tag(struct arena *a, xmlNodePtr g, const char *key, const char *value)
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

/* Every <ITEM><Key/><Value/></ITEM> under parent's <LIST>, into *out (arena);
 * false on allocation failure. */
static bool xml_tags(struct arena *a, xmlNodePtr parent, const char *list, const char *item,
		     const struct aws_tag **out, size_t *n_out)
{
	xmlNodePtr l = aws_xml_child(parent, list);
	size_t n = 0;
	*out = NULL;
	*n_out = 0;
	for (xmlNodePtr t = l ? l->children : NULL; t; t = t->next)
		n += aws_xml_is(t, item);
	if (!n)
		return true;
	struct aws_tag *v = arena_alloc(a, n * sizeof(*v));
	if (!v)
		return false;
	size_t k = 0;
	for (xmlNodePtr t = l->children; t; t = t->next) {
		if (!aws_xml_is(t, item))
			continue;
		v[k].key = aws_xml_child_text(a, t, "Key");
		v[k].value = aws_xml_child_text(a, t, "Value");
		if (!v[k].key || !v[k].value)
			return false;
		k++;
	}
	*out = v;
	*n_out = k;
	return true;
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
		if (!aws_xml_is(g, "member") || (key && !asg_has_tag(a, g, key, value)))
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
		if (!xml_tags(a, g, "Tags", "member", &o->tags, &o->n_tags)) {
			snprintf(why, whylen, "out of memory");
			rc = BOT_ENOMEM;
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

/* ---- RDS ---- */

static const char *list_name(enum rds_what w)
{
	return w == RDS_INSTANCE ? "DBInstances" : "DBClusters";
}

static bool rds_has_tag(struct arena *a, xmlNodePtr item, const char *key, const char *value)
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
		if (key && !rds_has_tag(a, n, key, value))
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
		if (!d->id || !d->status || !d->engine || !d->cluster ||
		    !xml_tags(a, n, "TagList", "Tag", &d->tags, &d->n_tags)) {
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

/* ---- ECS, Application Auto Scaling ---- */

#define COUNT_MAX 1e9 /* no task count or capacity comes near it */

/* A count: a whole number in [0, COUNT_MAX]; false for anything else
 * (missing, negative, fractional, huge: a broken answer, never a size). */
static bool num(const cJSON *o, const char *name, long long *out)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0 && n->valuedouble <= COUNT_MAX) ||
	    n->valuedouble != (double)(long long)n->valuedouble)
		return false;
	*out = (long long)n->valuedouble;
	return true;
}

static const char *str(struct arena *a, const cJSON *o, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);
	return arena_strdup(a, cJSON_IsString(s) ? s->valuestring : "");
}

static bool tagged(const cJSON *svc, const char *key, const char *value)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(svc, "tags"))
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "key");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
		if (cJSON_IsString(k) && cJSON_IsString(v) && strcmp(k->valuestring, key) == 0 &&
		    strcmp(v->valuestring, value) == 0)
			return true;
	}
	return false;
}

enum bot_rc ecs_decode_services(const char *body, size_t len, const char *key, const char *value,
				struct arena *a, struct vec *out, char *why, size_t whylen)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "services");
	if (!cJSON_IsArray(list)) {
		snprintf(why, whylen, "DescribeServices: no services list in the answer");
		cJSON_Delete(doc);
		return BOT_EPARSE;
	}
	enum bot_rc rc = BOT_OK;
	const cJSON *s;
	cJSON_ArrayForEach(s, list)
	{
		if (key && !tagged(s, key, value))
			continue;
		struct ecs_service *o = vec_push(out);
		if (!o) {
			snprintf(why, whylen, "more than %d services or out of memory", ECS_MAX);
			rc = BOT_ENOMEM;
			break;
		}
		o->name = str(a, s, "serviceName");
		o->status = str(a, s, "status");
		if (!num(s, "desiredCount", &o->desired) || !num(s, "runningCount", &o->running) ||
		    !num(s, "pendingCount", &o->pending)) {
			snprintf(why, whylen, "DescribeServices: a service without whole counts");
			rc = BOT_EPARSE;
			break;
		}
		o->n_deployments = (size_t)cJSON_GetArraySize(
			cJSON_GetObjectItemCaseSensitive(s, "deployments"));
		const cJSON *tags = cJSON_GetObjectItemCaseSensitive(s, "tags");
		size_t nt = cJSON_IsArray(tags) ? (size_t)cJSON_GetArraySize(tags) : 0;
		struct aws_tag *tv = nt ? arena_alloc(a, nt * sizeof(*tv)) : NULL;
		if (nt && !tv) {
			snprintf(why, whylen, "out of memory");
			rc = BOT_ENOMEM;
			break;
		}
		for (const cJSON *t = tv ? tags->child : NULL; t; t = t->next) {
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "key");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
			if (!cJSON_IsString(k))
				continue;
			tv[o->n_tags].key = arena_strdup(a, k->valuestring);
			tv[o->n_tags].value =
				arena_strdup(a, cJSON_IsString(v) ? v->valuestring : "");
			if (!tv[o->n_tags].key || !tv[o->n_tags].value) {
				snprintf(why, whylen, "out of memory");
				rc = BOT_ENOMEM;
				break;
			}
			o->n_tags++;
		}
		if (rc != BOT_OK)
			break;
		o->tags = tv;
		if (!o->name || !o->status) {
			snprintf(why, whylen, "out of memory");
			rc = BOT_ENOMEM;
			break;
		}
		if (!o->name[0]) {
			snprintf(why, whylen, "DescribeServices: a service without its name");
			rc = BOT_EPARSE;
			break;
		}
	}
	cJSON_Delete(doc);
	return rc;
}

enum bot_rc appas_decode_target(const char *body, size_t len, bool *found, long long *min,
				long long *max, char *why, size_t whylen)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "ScalableTargets");
	if (!cJSON_IsArray(list)) {
		snprintf(why, whylen, "DescribeScalableTargets: no ScalableTargets in the answer");
		cJSON_Delete(doc);
		return BOT_EPARSE;
	}
	const cJSON *t = cJSON_GetArrayItem(list, 0);
	*found = t != NULL;
	*min = *max = 0;
	enum bot_rc rc = BOT_OK;
	if (t && (!num(t, "MinCapacity", min) || !num(t, "MaxCapacity", max))) {
		snprintf(why, whylen, "DescribeScalableTargets: a target without whole capacities");
		rc = BOT_EPARSE;
	}
	cJSON_Delete(doc);
	return rc;
}
