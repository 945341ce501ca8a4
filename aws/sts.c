/* STS GetCallerIdentity on top of the core (aws.c): the account line of
 * `envbot status` and the cheapest proof that credentials work. */
#include <stdio.h>
#include <stdlib.h>

#include "aws_core.h"

struct sts_op {
	struct aws_op op;
	struct arena a;
	sts_identity_fn cb;
};

static void sts_free(struct aws_op *op)
{
	struct sts_op *s = (struct sts_op *)op;
	aws_op_release(op);
	arena_free(&s->a);
	free(s);
}

static void identity_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct sts_op *s = (struct sts_op *)op;
	struct aws_err err = *in;
	struct sts_identity id = { 0 };
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc = sts_decode_identity(body, len, &s->a, &id, why, sizeof(why));
		if (rc != BOT_OK) {
			int attempts = err.attempts, status = err.http_status;
			aws_err_set(&err, rc, "", "%s", why);
			err.attempts = attempts;
			err.http_status = status;
		}
	}
	aws_op_finish(op, &err);
	s->cb(op->user_arg, &err, err.rc == BOT_OK ? &id : NULL);
	sts_free(op);
}

enum bot_rc sts_get_caller_identity(struct aws *aws, sts_identity_fn cb, void *arg)
{
	if (!aws || !cb)
		return BOT_EINVAL;
	struct sts_op *s = calloc(1, sizeof(*s));
	if (!s)
		return BOT_ENOMEM;
	s->cb = cb;
	aws_op_init(&s->op, aws, AWS_STS, arg, identity_resp, sts_free);
	char *body = NULL;
	enum bot_rc rc = aws_op_query_body(NULL, AWS_STS, "GetCallerIdentity", "", &body);
	if (rc == BOT_OK)
		rc = aws_op_send(&s->op, body);
	if (rc != BOT_OK)
		aws_op_abort(&s->op);
	return rc;
}
