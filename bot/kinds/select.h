/* What a kind acts on: one resource by name, or every one carrying a tag.
 * Shared by the kinds that select that way (asg, ecs-service, rds,
 * rds-cluster). */
#ifndef ENVBOT_KINDS_SELECT_H
#define ENVBOT_KINDS_SELECT_H

#include <stdio.h>

#include "../../config/config.h"

struct kind_select {
	char *name;                /* NULL when selected by tag */
	char *tag_key, *tag_value; /* NULL when selected by name */
};

/* Reads `setting = "NAME"` or `tag = { key = "..."; value = "..."; }`,
 * exactly one of them (reported otherwise). A group member may give the
 * name as `name` instead of setting. */
void kind_select_parse(struct cfg_reader *r, const struct cfg_env *env, const char *setting,
		       struct kind_select *out);
void kind_select_free(struct kind_select *s);
/* "NAME" or "KEY=VALUE", into buf. */
const char *kind_select_target(const struct kind_select *s, char *buf, size_t len);

#endif
