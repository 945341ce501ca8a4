/* Cost Explorer GetCostAndUsage, grouped by a cost-allocation tag: the
 * weekly report's actual cost next to envbot's estimate. Cost Explorer is
 * global: call it on a client of us-east-1 (aws_for). */
#ifndef ENVBOT_AWS_CE_H
#define ENVBOT_AWS_CE_H

#include "aws.h"

#define CE_MAX_GROUPS 500

/* One tag value's cost over the whole period (the days summed). value is
 * the tag's value ("" for resources without the tag). */
struct ce_cost {
	char value[128];
	double amount;
	char unit[8]; /* "USD" */
};

/* costs (n of them; NULL/0 on error) are valid during the callback. */
typedef void (*ce_costs_fn)(void *arg, const struct aws_err *err, const struct ce_cost *costs,
			    size_t n);

/* UnblendedCost per value of tag_key for the UTC days [start, end)
 * ("YYYY-MM-DD"), every page read. */
enum bot_rc ce_costs_by_tag(struct aws *aws, const char *start, const char *end,
			    const char *tag_key, ce_costs_fn cb, void *arg);

/* Pure, for tests: adds one page's groups into *costs (n_costs, capacity
 * cap; realloc'd), and the page's NextPageToken into next (empty when none).
 * BOT_EPARSE with why for a body that is not GetCostAndUsage's. */
enum bot_rc ce_decode_page(const char *body, size_t len, const char *tag_key,
			   struct ce_cost **costs, size_t *n_costs, size_t *cap, char *next,
			   size_t next_len, char *why, size_t whylen);

#endif
