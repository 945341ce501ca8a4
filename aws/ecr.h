/* ECR calls (JSON 1.1): the newest pushed image tag of a repository, and the
 * newest N images, read over every DescribeImages page (tagStatus=TAGGED,
 * maxResults=1000) so repositories with thousands of images are right.
 * Calling convention, ownership and errors: see aws.h. */
#ifndef ENVBOT_ECR_H
#define ENVBOT_ECR_H

#include "aws.h"

struct ecr_image {
	const char *digest;
	const char *const *tags; /* as listed by ECR */
	size_t n_tags;
	const char *tag;      /* the tag ecr_pick_tag chose */
	const char *rule;     /* why (see ecr_pick_tag) */
	int64_t pushed_at;    /* Unix seconds */
	int64_t pushed_at_ms; /* Unix milliseconds (ECR sends fractions; order uses these) */
	int64_t size_bytes;
};

/* Newest image by imagePushedAt (ties: the later digest in the listing). */
struct ecr_newest {
	const struct ecr_image *image;
	size_t n_images; /* tagged images seen over all pages */
	size_t n_pages;
};
/* newest is NULL on error; a repository without tagged images is BOT_OK with
 * newest->image NULL. A missing repository is BOT_ENOTFOUND. */
typedef void (*ecr_newest_fn)(void *arg, const struct aws_err *err,
			      const struct ecr_newest *newest);
enum bot_rc ecr_newest_tag(struct aws *aws, const char *repository, ecr_newest_fn cb, void *arg);

/* The n newest images, newest first (fewer if the repository has fewer). */
struct ecr_image_list {
	const struct ecr_image *images;
	size_t n;
	size_t n_images; /* tagged images seen over all pages */
	size_t n_pages;
};
typedef void (*ecr_list_fn)(void *arg, const struct aws_err *err,
			    const struct ecr_image_list *list);
enum bot_rc ecr_list_tags(struct aws *aws, const char *repository, size_t n, ecr_list_fn cb,
			  void *arg);

/* Pure: chooses the tag that names an image with several tags. Preference:
 * a git-sha-looking tag (7-40 hex, optionally prefixed "sha-"/"git-"), then a
 * version-looking tag (v1.2.3, 1.2, 2026.11.23...), then any tag that is not
 * a moving name (latest, main, master, dev, staging, prod, stable, edge,
 * nightly), then the moving name. Ties keep ECR's order. *rule (static
 * string) says which rule chose: "only tag", "git sha", "version",
 * "not a moving tag", "moving tag". Returns a borrowed element of tags, or
 * NULL when n == 0. */
const char *ecr_pick_tag(const char *const *tags, size_t n, const char **rule);

#endif
