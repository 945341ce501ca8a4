/* ECR calls on top of the core (aws.c): DescribeImages over every page
 * (tagStatus=TAGGED, maxResults=1000), then the newest image or the newest N
 * by imagePushedAt. Reading every page is the point: a first page holds an
 * arbitrary thousand images, not the newest ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_core.h"

#define ECR_PAGE       1000
#define ECR_MAX_PAGES  1000 /* a million images */
#define ECR_MAX_IMAGES 1000000

struct ecr_op {
	struct aws_op op;
	struct arena a;
	struct vec images;
	char *repo;
	size_t want; /* 0: newest only */
	size_t pages;
	union {
		ecr_newest_fn newest;
		ecr_list_fn list;
	} cb;
};

static void ecr_free(struct aws_op *op)
{
	struct ecr_op *e = (struct ecr_op *)op;
	aws_op_release(op);
	arena_free(&e->a);
	vec_free(&e->images);
	free(e->repo);
	free(e);
}

static enum bot_rc ecr_page(struct ecr_op *e, const char *next)
{
	return aws_op_send(&e->op, ecr_encode_describe(e->repo, next, ECR_PAGE));
}

static void ecr_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct ecr_op *e = (struct ecr_op *)op;
	struct aws_err err = *in;
	const char *next = NULL;
	char why[200];
	if (err.rc == BOT_OK) {
		enum bot_rc rc =
			ecr_decode_images(body, len, &e->a, &e->images, &next, why, sizeof(why));
		e->pages++;
		if (rc == BOT_OK && next && e->pages >= ECR_MAX_PAGES) {
			rc = BOT_EPARSE;
			snprintf(why, sizeof(why), "DescribeImages: more than %d pages",
				 ECR_MAX_PAGES);
		}
		if (rc == BOT_OK && next) {
			rc = ecr_page(e, next);
			if (rc == BOT_OK)
				return;
			snprintf(why, sizeof(why), "cannot request the next page");
		}
		if (rc != BOT_OK) {
			int attempts = err.attempts, status = err.http_status;
			aws_err_set(&err, rc, "", "%s", why);
			err.attempts = attempts;
			err.http_status = status;
		}
	}
	if (err.rc == BOT_EREMOTE && strcmp(err.code, "RepositoryNotFoundException") == 0)
		err.rc = BOT_ENOTFOUND;
	aws_op_finish(op, &err);
	struct ecr_image *v = e->images.v;
	size_t n = e->images.n;
	if (err.rc == BOT_OK)
		ecr_sort_newest(v, n);
	if (e->want == 0) {
		struct ecr_newest res = { .image = n ? &v[0] : NULL,
					  .n_images = n,
					  .n_pages = e->pages };
		e->cb.newest(op->user_arg, &err, err.rc == BOT_OK ? &res : NULL);
	} else {
		struct ecr_image_list res = { .images = v,
					      .n = n < e->want ? n : e->want,
					      .n_images = n,
					      .n_pages = e->pages };
		e->cb.list(op->user_arg, &err, err.rc == BOT_OK ? &res : NULL);
	}
	ecr_free(op);
}

static enum bot_rc ecr_start(struct aws *aws, const char *repo, size_t want, ecr_newest_fn ncb,
			     ecr_list_fn lcb, void *arg)
{
	if (!aws || !repo || !*repo || (!ncb && !lcb))
		return BOT_EINVAL;
	struct ecr_op *e = calloc(1, sizeof(*e));
	if (!e)
		return BOT_ENOMEM;
	e->images.size = sizeof(struct ecr_image);
	e->images.max = ECR_MAX_IMAGES;
	e->want = want;
	aws_op_init(&e->op, aws, AWS_ECR, arg, ecr_resp, ecr_free);
	if (want == 0)
		e->cb.newest = ncb;
	else
		e->cb.list = lcb;
	enum bot_rc rc = BOT_ENOMEM;
	e->repo = strdup(repo);
	if (e->repo)
		rc = aws_op_set_target(&e->op, "DescribeImages");
	if (rc == BOT_OK)
		rc = ecr_page(e, NULL);
	if (rc != BOT_OK)
		aws_op_abort(&e->op);
	return rc;
}

enum bot_rc ecr_newest_tag(struct aws *aws, const char *repository, ecr_newest_fn cb, void *arg)
{
	return ecr_start(aws, repository, 0, cb, NULL, arg);
}

enum bot_rc ecr_list_tags(struct aws *aws, const char *repository, size_t n, ecr_list_fn cb,
			  void *arg)
{
	if (n == 0)
		return BOT_EINVAL;
	return ecr_start(aws, repository, n, NULL, cb, arg);
}
