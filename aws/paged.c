/* The paged logical call of aws/paged.h. */
#include "paged.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void paged_free(struct aws_op *op)
{
	struct aws_paged *p = (struct aws_paged *)op;
	aws_op_release(op);
	arena_free(&p->a);
	vec_free(&p->items);
	vec_free(&p->aux);
	free(p->key);
	free(p->value);
	free(p->ctx);
	free(p);
}

static enum bot_rc send_body(struct aws_paged *p, char *body)
{
	if (!body)
		return BOT_ENOMEM;
	if (p->json)
		return aws_op_send(&p->op, body);
	char *q = NULL;
	enum bot_rc rc = aws_op_query_body(NULL, p->op.svc, p->action, body, &q);
	free(body);
	return rc == BOT_OK ? aws_op_send(&p->op, q) : rc;
}

static void paged_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct aws_paged *p = (struct aws_paged *)op;
	struct aws_err err = *in;
	if (err.rc == BOT_OK) {
		char why[200] = "";
		char *next = NULL;
		enum bot_rc rc = p->page(p, body, len, &next, why, sizeof(why));
		p->pages++;
		if (rc == BOT_OK && next && p->pages >= AWS_PAGED_MAX_PAGES) {
			rc = BOT_EPARSE;
			snprintf(why, sizeof(why), "%s: more than %d pages", p->action,
				 AWS_PAGED_MAX_PAGES);
		}
		if (rc == BOT_OK && next) {
			rc = send_body(p, next);
			next = NULL;
			if (rc == BOT_OK)
				return;
			snprintf(why, sizeof(why), "cannot request the next page");
		}
		free(next);
		if (rc != BOT_OK) {
			int attempts = err.attempts, status = err.http_status;
			aws_err_set(&err, rc, "", "%s", why);
			err.attempts = attempts;
			err.http_status = status;
		}
	}
	aws_op_finish(op, &err);
	p->done(p, &err);
	paged_free(op);
}

enum bot_rc aws_paged_start(struct aws *aws, enum aws_service svc, const char *action, bool json,
			    char *body, size_t item_size, size_t max_items, aws_page_fn page,
			    aws_paged_done_fn done, void (*cb)(void), void *arg, const char *key,
			    const char *value, const char *ctx)
{
	if (!aws || !cb || !body) {
		enum bot_rc rc = body ? BOT_EINVAL : BOT_ENOMEM;
		free(body);
		return rc;
	}
	struct aws_paged *p = calloc(1, sizeof(*p));
	if (!p) {
		free(body);
		return BOT_ENOMEM;
	}
	p->items.size = item_size;
	p->items.max = max_items;
	p->action = action;
	p->json = json;
	p->page = page;
	p->done = done;
	p->cb = cb;
	aws_op_init(&p->op, aws, svc, arg, paged_resp, paged_free);
	enum bot_rc rc = BOT_ENOMEM;
	if ((key && !(p->key = strdup(key))) || (value && !(p->value = strdup(value))) ||
	    (ctx && !(p->ctx = strdup(ctx)))) {
		free(body);
		goto out;
	}
	if (json && (rc = aws_op_set_target(&p->op, action)) != BOT_OK) {
		free(body);
		goto out;
	}
	rc = send_body(p, body);
out:
	if (rc != BOT_OK)
		aws_op_abort(&p->op);
	return rc;
}
