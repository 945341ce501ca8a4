/* An environment kind as a descriptor: its config part (struct cfg_kind:
 * settings and parser), its start and stop workflows (tables run by wf.c),
 * and how it shows and checks itself (live status for `envbot status` and
 * /env status, progress embed fields, `envbot doctor` permission checks).
 * The kinds live in bot/kinds/, one file each, listed in bot/kinds/kinds.c;
 * nothing above them branches on which kind an environment is. */
#ifndef ENVBOT_KIND_H
#define ENVBOT_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "../../aws/aws.h"
#include "../../config/config.h"
#include "../core/buf.h"

struct wf;
struct wf_table;

/* ---- live status ---------------------------------------------------------- */

/* What the live lookups of one environment found, in both forms it is shown. */
struct kind_live {
	struct buf report; /* `envbot status`: its lines, each ending in "\n" */
	char line[768];    /* /env status: the "Live:" text, escaped for Discord */
	int exit; /* as `envbot status`: EXIT_OK, EXIT_FAILED (a lookup failed), EXIT_AUTH */
};

/* Escapes text for Discord markdown into out (truncated to len). */
typedef void (*kind_escape_fn)(const char *in, char *out, size_t len);
/* The lookups ended; live is borrowed for the call. */
typedef void (*kind_live_done)(void *arg, const struct kind_live *live);

/* Folds err into live->exit: credentials refused (3) beat other failures
 * (1); BOT_OK and BOT_ENOTFOUND leave it. */
void kind_live_fold(struct kind_live *live, const struct aws_err *err);
/* Appends the report lines of a failed lookup ("       what: why (Code)"
 * and the message under it) and folds err. */
void kind_live_report_error(struct kind_live *live, const char *what, const struct aws_err *err);
/* Sets the line to "unknown (AWS: why, message)". */
void kind_live_line_error(struct kind_live *live, const struct aws_err *err, kind_escape_fn escape);
/* escape(in) into out, or a plain copy when escape is NULL. */
void kind_escape(kind_escape_fn escape, const char *in, char *out, size_t len);

/* ---- embed ------------------------------------------------------------------ */

/* Adds a field to the embed being built (skipped when value is NULL or ""). */
typedef void (*kind_field_fn)(void *arg, const char *name, const char *value, bool is_inline);

/* ---- doctor ------------------------------------------------------------------ */

enum kind_verdict {
	KIND_PASS,
	KIND_FAIL,
	KIND_INFO,      /* cannot be probed safely: detail and fix say what to check */
	KIND_AWS_ERROR, /* the doctor's handling shared by every AWS probe */
};

/* A probe's answer; everything is copied by the doctor. */
struct kind_answer {
	enum kind_verdict verdict;
	const struct aws_err *err; /* KIND_AWS_ERROR */
	const char *detail;        /* may be NULL */
	const char *fix;           /* may be NULL */
	/* For the checks that run after this one (malloc'd; the doctor owns and
	 * frees it): a passing check without it makes them skipped. */
	void *output;
};

/* One probe as the doctor runs it (the doctor's; borrowed by the kind). */
struct kind_probe {
	struct aws *aws;
	const struct cfg_env *env; /* the first environment with this target */
	const char *target;        /* what it checks ("my-stack", "k=v") */
	const char *envs;          /* every environment sharing it, "dev, qa" */
	const char *account;       /* "" until STS answered */
	const void *input;         /* the output of the check this one runs after */
	/* Called exactly once, on the loop, possibly from inside probe(). */
	void (*answer)(struct kind_probe *p, const struct kind_answer *a);
};

/* A permission check of `envbot doctor`, one line per distinct target. */
struct kind_check {
	const char *name;  /* the permission: "cloudformation:DescribeStacks" */
	const char *label; /* printed between name and target: "" or "tag " */
	/* env's target, NULL or "" for none (buf, of len bytes, may hold it). */
	const char *(*target)(const struct cfg_env *env, char *buf, size_t len);
	/* What the permission needs: a printf format of two strings, the target
	 * twice unless policy_args (may be NULL) names them from env. */
	const char *fix_denied;
	void (*policy_args)(const struct cfg_env *env, const char **a, const char **b);
	/* Starts the probe (the answer may come at once); any other return than
	 * BOT_OK means no answer will come. NULL: not probed, an ℹ line. */
	enum bot_rc (*probe)(struct kind_probe *p);
	/* The check (same kind, same target) whose passing answer starts this
	 * one with its output as input; NULL: started at once. */
	const struct kind_check *after;
};

/* ---- the descriptor ------------------------------------------------------------ */

struct kind {
	struct cfg_kind cfg; /* first: an environment's kind points here */
	const struct wf_table *start, *stop;
	/* Starts the live lookups of env on aws's loop; done runs once, or never
	 * when it returns other than BOT_OK. escape may be NULL (no escaping). */
	enum bot_rc (*live)(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			    kind_live_done done, void *arg);
	/* The kind's fields of the progress embed, after Result/Reason. */
	void (*embed_fields)(const struct wf *wf, kind_field_fn add, void *arg);
	const char *details_title;              /* the field of the wf_detail() lines */
	const struct kind_check *const *checks; /* NULL-ended, in report order */
	/* The ECR repository env deploys from (/env tags, `envbot tags`);
	 * NULL hook or result: none. */
	const char *(*image_repository)(const struct cfg_env *env);
	/* True when AWS may start what env stopped on its own (an RDS instance
	 * or cluster after 7 days stopped): while the schedule says down, the
	 * scheduler runs the stop again now and then, so the restart is undone.
	 * NULL: never. */
	bool (*wakes_up)(const struct cfg_env *env);
};

/* The descriptor of a registered kind (every cfg_kind of the registry is the
 * first member of a struct kind). Borrowed; NULL for NULL. */
const struct kind *kind_from_cfg(const struct cfg_kind *k);
const struct kind *kind_of(const struct cfg_env *env);
/* env's image repository, NULL if its kind has none. */
const char *kind_image_repository(const struct cfg_env *env);
/* s, or "?" for a setting left out: print_target may run on a member whose
 * settings have errors (a group labels its members while they load). */
const char *kind_str(const char *s);
/* kind_of(env)->wakes_up(env), false when the kind has no such hook. */
bool kind_wakes_up(const struct cfg_env *env);

/* ---- where an environment's calls go ----------------------------------------- */

/* The client for env's calls (its aws = { ... }, else its group's, else the
 * daemon's), in region when not NULL (one of env's regions), else in env's
 * only region. NULL with err on failure; aws NULL gives NULL (no AWS). */
struct aws *kind_aws(struct aws *aws, const struct cfg_env *env, const char *region, char *err,
		     size_t errlen);
/* The live lookups of env (kind_of(env)->live) through its own client; an
 * environment of several regions is looked up in each ("all": the account's
 * regions from DescribeRegions), its lines grouped by region. Same contract
 * as the kind's live hook. */
enum bot_rc kind_live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
		      kind_live_done done, void *arg);

/* Whether a resource with these tags is exempt (key, env->exclude_tag: KEY =
 * "true", or KEY-until = "YYYY-MM-DD" a date after today, UTC, at now);
 * why then says which tag ("envbot:exclude=true", "envbot:exclude-until=
 * 2026-12-31"). An until-date that cannot be read exempts too (an exemption
 * someone meant is honoured until it is fixed) and says so. */
bool kind_exempt(const char *key, const struct aws_tag *tags, size_t n, int64_t now, char *why,
		 size_t whylen);

#endif
