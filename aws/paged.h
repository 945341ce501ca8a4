/* Internal to aws/: a logical call of one or more requests (the pages of a
 * Describe, or a single Start/Update), for the services whose typed calls
 * are only "send, decode, maybe ask for the next page": autoscaling, ecs,
 * application-autoscaling, rds. Built on struct aws_op, so a workflow's
 * aws_cancel() cancels it like any other call. */
#ifndef ENVBOT_AWS_PAGED_H
#define ENVBOT_AWS_PAGED_H

#include "aws_core.h"

#define AWS_PAGED_MAX_PAGES 200

struct aws_paged;
/* Decodes one page into p->items (strings in p->a) and sets *next to the
 * next request's body (query form or JSON document, malloc'd), or NULL when
 * this was the last page. BOT_OK, or an error with why. */
typedef enum bot_rc (*aws_page_fn)(struct aws_paged *p, const char *body, size_t len, char **next,
				   char *why, size_t whylen);
/* The call ended (err->rc says how): run the typed user callback. */
typedef void (*aws_paged_done_fn)(struct aws_paged *p, const struct aws_err *err);

struct aws_paged {
	struct aws_op op; /* first: the op is the call */
	struct arena a;
	struct vec items;
	const char *action; /* query Action or JSON operation (static) */
	bool json;
	aws_page_fn page;
	aws_paged_done_fn done;
	void (*cb)(void);  /* the typed user callback, cast back by done */
	char *key, *value; /* a tag filter, or NULL */
	char *ctx;         /* the call's own string (cluster, name), or NULL */
	size_t pages;
	/* For a call of two phases (ECS: ListServices, then DescribeServices
	 * of what it listed): the page function's own list. */
	struct vec aux;
	size_t aux_pos;
};

/* Starts the call: body is the first request's query form (after Action and
 * Version) or JSON document (taken; NULL fails with BOT_ENOMEM). item_size
 * and max_items shape p->items. On success the callback comes from the loop,
 * exactly once; on failure nothing was sent and nothing will be called. */
enum bot_rc aws_paged_start(struct aws *aws, enum aws_service svc, const char *action, bool json,
			    char *body, size_t item_size, size_t max_items, aws_page_fn page,
			    aws_paged_done_fn done, void (*cb)(void), void *arg, const char *key,
			    const char *value, const char *ctx);

#endif
