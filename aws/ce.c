/* Cost Explorer GetCostAndUsage by tag (ce.h), on the core's JSON call. */
#include "ce.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_core.h"

#define CE_MAX_PAGES 20

struct ce_op {
	struct aws_op op;
	ce_costs_fn cb;
	char *start, *end, *tag;
	struct ce_cost *costs;
	size_t n, cap;
	int pages;
};

static void ce_free(struct aws_op *op)
{
	struct ce_op *c = (struct ce_op *)op;
	aws_op_release(op);
	free(c->start);
	free(c->end);
	free(c->tag);
	free(c->costs);
	free(c);
}

static struct ce_cost *cost_for(struct ce_cost **costs, size_t *n, size_t *cap, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*costs)[i].value, value) == 0)
			return &(*costs)[i];
	if (*n >= CE_MAX_GROUPS)
		return NULL;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct ce_cost *v = realloc(*costs, nc * sizeof(*v));
		if (!v)
			return NULL;
		*costs = v;
		*cap = nc;
	}
	struct ce_cost *c = &(*costs)[(*n)++];
	memset(c, 0, sizeof(*c));
	snprintf(c->value, sizeof(c->value), "%s", value);
	return c;
}

enum bot_rc ce_decode_page(const char *body, size_t len, const char *tag_key,
			   struct ce_cost **costs, size_t *n_costs, size_t *cap, char *next,
			   size_t next_len, char *why, size_t whylen)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *results = cJSON_GetObjectItemCaseSensitive(o, "ResultsByTime"), *r, *g;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "NextPageToken");
	enum bot_rc rc = BOT_OK;
	next[0] = '\0';
	if (!cJSON_IsArray(results)) {
		snprintf(why, whylen, "GetCostAndUsage: no ResultsByTime in the answer");
		cJSON_Delete(o);
		return BOT_EPARSE;
	}
	/* group keys are "KEY$VALUE" */
	size_t klen = strlen(tag_key);
	cJSON_ArrayForEach(r, results)
	{
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(r, "Groups"))
		{
			const cJSON *key =
				cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, "Keys"), 0);
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(g, "Metrics"), "UnblendedCost");
			const cJSON *amount = cJSON_GetObjectItemCaseSensitive(m, "Amount");
			const cJSON *unit = cJSON_GetObjectItemCaseSensitive(m, "Unit");
			if (!cJSON_IsString(key) || !cJSON_IsString(amount)) {
				snprintf(why, whylen,
					 "GetCostAndUsage: a group without Keys or Amount");
				rc = BOT_EPARSE;
				goto out;
			}
			const char *v = key->valuestring;
			if (strncmp(v, tag_key, klen) == 0 && v[klen] == '$')
				v += klen + 1;
			char *end = NULL;
			double a = strtod(amount->valuestring, &end);
			if (end == amount->valuestring) {
				snprintf(why, whylen,
					 "GetCostAndUsage: Amount \"%.32s\" is not a number",
					 amount->valuestring);
				rc = BOT_EPARSE;
				goto out;
			}
			struct ce_cost *c = cost_for(costs, n_costs, cap, v);
			if (!c) {
				snprintf(why, whylen, "GetCostAndUsage: more than %d tag values",
					 CE_MAX_GROUPS);
				rc = BOT_EPARSE;
				goto out;
			}
			c->amount += a;
			if (cJSON_IsString(unit))
				snprintf(c->unit, sizeof(c->unit), "%s", unit->valuestring);
		}
	}
	if (cJSON_IsString(tok))
		snprintf(next, next_len, "%s", tok->valuestring);
out:
	cJSON_Delete(o);
	return rc;
}

static enum bot_rc ce_page(struct ce_op *c, const char *token)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *tp = cJSON_AddObjectToObject(req, "TimePeriod");
	cJSON *metrics = cJSON_AddArrayToObject(req, "Metrics");
	cJSON *groups = cJSON_AddArrayToObject(req, "GroupBy");
	cJSON *g = groups ? cJSON_CreateObject() : NULL;
	cJSON *m = metrics ? cJSON_CreateString("UnblendedCost") : NULL;
	char *json = NULL;
	if (g && !cJSON_AddItemToArray(groups, g)) {
		cJSON_Delete(g);
		g = NULL;
	}
	if (m && !cJSON_AddItemToArray(metrics, m)) {
		cJSON_Delete(m);
		m = NULL;
	}
	if (g && m && cJSON_AddStringToObject(tp, "Start", c->start) &&
	    cJSON_AddStringToObject(tp, "End", c->end) &&
	    cJSON_AddStringToObject(req, "Granularity", "DAILY") &&
	    cJSON_AddStringToObject(g, "Type", "TAG") &&
	    cJSON_AddStringToObject(g, "Key", c->tag) &&
	    (!token || cJSON_AddStringToObject(req, "NextPageToken", token)))
		json = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!json)
		return BOT_ENOMEM;
	enum bot_rc rc = aws_op_send(&c->op, strdup(json));
	cJSON_free(json);
	return rc;
}

static void ce_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct ce_op *c = (struct ce_op *)op;
	struct aws_err err = *in;
	char next[1024], why[256];
	if (err.rc == BOT_OK) {
		enum bot_rc rc = ce_decode_page(body, len, c->tag, &c->costs, &c->n, &c->cap, next,
						sizeof(next), why, sizeof(why));
		if (rc == BOT_OK && next[0] && ++c->pages < CE_MAX_PAGES &&
		    ce_page(c, next) == BOT_OK)
			return; /* the next page's answer comes here */
		if (rc == BOT_OK && next[0]) {
			rc = BOT_EPARSE;
			snprintf(why, sizeof(why), "GetCostAndUsage: more than %d pages",
				 CE_MAX_PAGES);
		}
		if (rc != BOT_OK) {
			int attempts = err.attempts, status = err.http_status;
			aws_err_set(&err, rc, "", "%s", why);
			err.attempts = attempts;
			err.http_status = status;
		}
	}
	aws_op_finish(op, &err);
	c->cb(op->user_arg, &err, err.rc == BOT_OK ? c->costs : NULL, err.rc == BOT_OK ? c->n : 0);
	ce_free(op);
}

enum bot_rc ce_costs_by_tag(struct aws *aws, const char *start, const char *end,
			    const char *tag_key, ce_costs_fn cb, void *arg)
{
	if (!aws || !start || !end || !tag_key || !cb)
		return BOT_EINVAL;
	struct ce_op *c = calloc(1, sizeof(*c));
	if (!c)
		return BOT_ENOMEM;
	c->cb = cb;
	aws_op_init(&c->op, aws, AWS_CE, arg, ce_resp, ce_free);
	c->start = strdup(start);
	c->end = strdup(end);
	c->tag = strdup(tag_key);
	enum bot_rc rc = c->start && c->end && c->tag ? aws_op_set_target(&c->op, "GetCostAndUsage")
						      : BOT_ENOMEM;
	if (rc == BOT_OK)
		rc = ce_page(c, NULL);
	if (rc != BOT_OK)
		aws_op_abort(&c->op);
	return rc;
}
