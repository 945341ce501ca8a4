/* What a kind acts on: one resource by name, or every one carrying a tag.
 * Shared by the kinds that select that way (asg, ecs-service, rds,
 * rds-cluster). */
#ifndef ENVBOT_KINDS_SELECT_H
#define ENVBOT_KINDS_SELECT_H

#include <stdio.h>

#include "../../config/config.h"
#include "../wf/kind.h"

struct wf;

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

/* The live lookup of such a kind, shown both ways (`envbot status` lines,
 * the /env status text): made when the lookup starts, ended with what it
 * found. */
struct kind_live_list {
	struct kind_live out;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	char head[700];   /* "NAME   KIND TARGET: " */
	const char *call; /* the lookup, named in a failure's report */
	int what;         /* the kind's own (rds: instance or cluster) */
};
/* NULL on allocation failure. target is what the kind acts on; call (a
 * static string) the AWS call that looks it up. */
struct kind_live_list *kind_live_list_new(const struct cfg_env *env, const char *target,
					  const char *call, kind_escape_fn escape,
					  kind_live_done done, void *arg);
/* Renders lines[0..n) (one per resource found; none: "not found"), or the
 * failed lookup's err, runs done and frees l. */
void kind_live_list_end(struct kind_live_list *l, const struct aws_err *err,
			const char *const *lines, size_t n);

/* Exemptions found by a kind's lookup (kind_exempt): "NAME (why)" appended
 * to buf ("; "-separated, cut when full) and counted in *n. */
void kind_note_exempt(char *buf, size_t len, size_t *n, const char *name, const char *why);
/* At the end of a workflow: each exemption noted in buf as a detail line
 * and in the workflow's skipped list. */
void kind_report_exempt(struct wf *wf, const char *buf, size_t n);

#endif
