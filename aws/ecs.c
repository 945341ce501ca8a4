/* ECS and Application Auto Scaling calls on top of the paged call
 * (paged.h). A tag selection is two phases: ListServices (every page), then
 * DescribeServices of ten at a time with include TAGS; the answer's tags
 * select. */
#include "ecs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paged.h"

#define ECS_MAX      5000
#define ECS_DESCRIBE 10 /* services per DescribeServices */

/* DescribeServices of names[0..n) of cluster (JSON text, malloc'd). */
static char *describe_body(const char *cluster, const char *const *names, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "services");
	cJSON *inc = cJSON_AddArrayToObject(o, "include");
	cJSON_AddStringToObject(o, "cluster", cluster);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	cJSON_AddItemToArray(inc, cJSON_CreateString("TAGS"));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static char *list_body(const char *cluster, const char *token)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cluster", cluster);
	cJSON_AddNumberToObject(o, "maxResults", 100);
	if (token)
		cJSON_AddStringToObject(o, "nextToken", token);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* The next ten listed services to describe, or NULL when all were. */
static char *next_describe(struct aws_paged *p)
{
	const char *const *arns = p->aux.v;
	size_t n = p->aux.n - p->aux_pos < ECS_DESCRIBE ? p->aux.n - p->aux_pos : ECS_DESCRIBE;
	char *body = describe_body(p->ctx, arns + p->aux_pos, n);
	p->aux_pos += n;
	return body;
}

static enum bot_rc tag_page(struct aws_paged *p, const char *body, size_t len, char **next,
			    char *why, size_t whylen)
{
	if (strcmp(p->action, "DescribeServices") == 0) {
		enum bot_rc rc = ecs_decode_services(body, len, p->key, p->value, &p->a, &p->items,
						     why, whylen);
		if (rc == BOT_OK && p->aux_pos < p->aux.n && !(*next = next_describe(p)))
			rc = BOT_ENOMEM;
		return rc;
	}
	/* ListServices */
	if (!p->aux.size) {
		p->aux.size = sizeof(const char *);
		p->aux.max = ECS_MAX;
	}
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *arns = cJSON_GetObjectItemCaseSensitive(doc, "serviceArns");
	enum bot_rc rc = BOT_OK;
	if (!cJSON_IsArray(arns)) {
		snprintf(why, whylen, "ListServices: no serviceArns in the answer");
		rc = BOT_EPARSE;
		goto out;
	}
	const cJSON *s;
	cJSON_ArrayForEach(s, arns)
	{
		const char **slot = cJSON_IsString(s) ? vec_push(&p->aux) : NULL;
		if (slot && !(*slot = arena_strdup(&p->a, s->valuestring)))
			slot = NULL;
		if (cJSON_IsString(s) && !slot) {
			snprintf(why, whylen, "more than %d services or out of memory", ECS_MAX);
			rc = BOT_ENOMEM;
			goto out;
		}
	}
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "nextToken");
	if (cJSON_IsString(tok) && tok->valuestring[0])
		*next = list_body(p->ctx, tok->valuestring);
	else if (p->aux.n) {
		p->action = "DescribeServices";
		if (aws_op_set_target(&p->op, p->action) == BOT_OK)
			*next = next_describe(p);
	} else {
		goto out; /* no service at all */
	}
	if (!*next)
		rc = BOT_ENOMEM;
out:
	cJSON_Delete(doc);
	return rc;
}

static enum bot_rc one_page(struct aws_paged *p, const char *body, size_t len, char **next,
			    char *why, size_t whylen)
{
	*next = NULL;
	return ecs_decode_services(body, len, NULL, NULL, &p->a, &p->items, why, whylen);
}

static void services_done(struct aws_paged *p, const struct aws_err *err)
{
	struct ecs_services res = { .v = p->items.v, .n = p->items.n };
	((ecs_services_fn)p->cb)(p->op.user_arg, err, err->rc == BOT_OK ? &res : NULL);
}

enum bot_rc ecs_describe(struct aws *aws, const char *cluster, const char *service, const char *key,
			 const char *value, ecs_services_fn cb, void *arg)
{
	if (!cluster || !*cluster || !cb || (!service == !key) || (key && !value))
		return BOT_EINVAL;
	if (service) {
		const char *names[1] = { service };
		return aws_paged_start(aws, AWS_ECS, "DescribeServices", true,
				       describe_body(cluster, names, 1), sizeof(struct ecs_service),
				       1, one_page, services_done, (void (*)(void))cb, arg, NULL,
				       NULL, cluster);
	}
	enum bot_rc rc =
		aws_paged_start(aws, AWS_ECS, "ListServices", true, list_body(cluster, NULL),
				sizeof(struct ecs_service), ECS_MAX, tag_page, services_done,
				(void (*)(void))cb, arg, key, value, cluster);
	return rc;
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
	((ecs_done_fn)p->cb)(p->op.user_arg, err);
}

enum bot_rc ecs_update(struct aws *aws, const char *cluster, const char *service, long long desired,
		       ecs_done_fn cb, void *arg)
{
	if (!cluster || !service || !cb || desired < 0)
		return BOT_EINVAL;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cluster", cluster);
	cJSON_AddStringToObject(o, "service", service);
	cJSON_AddNumberToObject(o, "desiredCount", (double)desired);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return aws_paged_start(aws, AWS_ECS, "UpdateService", true, body, 1, 1, action_page,
			       action_done, (void (*)(void))cb, arg, NULL, NULL, NULL);
}

/* ---- Application Auto Scaling ---- */

struct appas_found {
	bool found;
	long long min, max;
};

static cJSON *target_request(const char *cluster, const char *service)
{
	char id[600];
	snprintf(id, sizeof(id), "service/%s/%s", cluster, service);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ServiceNamespace", "ecs");
	cJSON_AddStringToObject(o, "ScalableDimension", "ecs:service:DesiredCount");
	return cJSON_AddStringToObject(o, "ResourceId", id) ? o : (cJSON_Delete(o), NULL);
}

static enum bot_rc target_page(struct aws_paged *p, const char *body, size_t len, char **next,
			       char *why, size_t whylen)
{
	struct appas_found *f = vec_push(&p->items);
	*next = NULL;
	if (!f)
		return BOT_ENOMEM;
	return appas_decode_target(body, len, &f->found, &f->min, &f->max, why, whylen);
}

static void target_done(struct aws_paged *p, const struct aws_err *err)
{
	const struct appas_found *f = p->items.n ? p->items.v : NULL;
	((appas_target_fn)p->cb)(p->op.user_arg, err, f && f->found, f ? f->min : 0,
				 f ? f->max : 0);
}

enum bot_rc appas_target(struct aws *aws, const char *cluster, const char *service,
			 appas_target_fn cb, void *arg)
{
	if (!cluster || !service || !cb)
		return BOT_EINVAL;
	cJSON *o = target_request(cluster, service);
	cJSON *ids = o ? cJSON_DetachItemFromObject(o, "ResourceId") : NULL;
	cJSON *arr = ids ? cJSON_AddArrayToObject(o, "ResourceIds") : NULL;
	if (arr)
		cJSON_AddItemToArray(arr, ids);
	else
		cJSON_Delete(ids);
	char *body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return aws_paged_start(aws, AWS_APPAS, "DescribeScalableTargets", true, body,
			       sizeof(struct appas_found), 1, target_page, target_done,
			       (void (*)(void))cb, arg, NULL, NULL, NULL);
}

enum bot_rc appas_register(struct aws *aws, const char *cluster, const char *service, long long min,
			   long long max, ecs_done_fn cb, void *arg)
{
	if (!cluster || !service || !cb || min < 0 || max < min)
		return BOT_EINVAL;
	cJSON *o = target_request(cluster, service);
	if (o) {
		cJSON_AddNumberToObject(o, "MinCapacity", (double)min);
		cJSON_AddNumberToObject(o, "MaxCapacity", (double)max);
	}
	char *body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return aws_paged_start(aws, AWS_APPAS, "RegisterScalableTarget", true, body, 1, 1,
			       action_page, action_done, (void (*)(void))cb, arg, NULL, NULL, NULL);
}
