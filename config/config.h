/* envbot's configuration: read once from a libconfig file into this plain,
 * validated struct. No other module includes <libconfig.h>. Every error is
 * reported as "FILE:LINE: setting: what is wrong". Defaults are applied in
 * one place (config.c, cfg_defaults()). */
#ifndef ENVBOT_CONFIG_H
#define ENVBOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../bot/core/rc.h"
#include "../bot/time/cron.h"
#include "../bot/time/when.h"

struct cfg_env;

/* ---- environment kinds ----------------------------------------------------
 * A kind (a CloudFormation stack, tagged EC2 instances, ...) parses its own
 * settings through this reader, so config/ stays the only user of libconfig
 * and knows no kind by name: the kinds a load accepts are the registry the
 * caller passes (bot/kinds/kinds.c). */

/* One group of the file being read: an environment, or a group or list
 * element inside it. Opaque; valid only during the kind's parse(). */
struct cfg_reader;

/* Flags of cfg_read_string(). */
enum { CFG_OPTIONAL = 0, CFG_REQUIRED = 1, CFG_EMPTY_OK = 2 };

/* The config-facing part of a kind. */
struct cfg_kind {
	const char *name;            /* kind = "name" */
	const char *const *settings; /* the settings only this kind takes (NULL-ended) */
	/* Reads the kind's settings of env's group; returns its own parsed
	 * settings (env->spec, freed with free_spec), NULL when it keeps none.
	 * Mistakes are reported through the reader, never by failing. */
	void *(*parse)(struct cfg_reader *r, struct cfg_env *env);
	void (*free_spec)(void *spec); /* accepts NULL */
	/* `envbot check-config`: what env acts on, one phrase without a newline
	 * ("ChatAppMasterStack", "instances tagged k=v"), then optional whole
	 * lines under it (may be NULL). */
	void (*print_target)(const struct cfg_env *env, FILE *out);
	void (*print_details)(const struct cfg_env *env, FILE *out);
	/* True when env selects its resources by tag, so it may be discovered
	 * in several regions (`regions = [ ... ]`). NULL: never. */
	bool (*by_tag)(const struct cfg_env *env);
};

/* The readers' getters: each looks up name in the reader's group, reports a
 * wrong type or a missing required setting ("FILE:LINE: path: why") and
 * returns true when the setting is present and valid. Strings come back new
 * (the caller's spec owns them). */
bool cfg_read_string(struct cfg_reader *r, const char *name, unsigned flags, char **out);
/* A string that must be an https:// URL (http:// only to loopback). */
bool cfg_read_url(struct cfg_reader *r, const char *name, unsigned flags, char **out);
/* An array [ ] or list ( ) of non-empty strings; *out is a new array of new
 * strings (free with cfg_free_strv), set even when some element is wrong. */
bool cfg_read_strings(struct cfg_reader *r, const char *name, char ***out, size_t *n_out);
/* The same, taking a single "string" as a list of one. */
bool cfg_read_string_or_strings(struct cfg_reader *r, const char *name, char ***out, size_t *n_out);
bool cfg_read_bool(struct cfg_reader *r, const char *name, bool *out);
bool cfg_read_number(struct cfg_reader *r, const char *name, double *out);
/* The group name { ... } as a reader (owned by the load), NULL when absent
 * (reported if required) or not a group. */
struct cfg_reader *cfg_read_group(struct cfg_reader *r, const char *name, bool required);
/* The list name ( { ... }, ... ) as a reader with its length in *n, NULL
 * when absent or not a list. hint is the groups' content for messages:
 * "must be a list ( { HINT } ), not ...". */
struct cfg_reader *cfg_read_list(struct cfg_reader *r, const char *name, const char *hint,
				 size_t *n);
/* Element i of such a list as a group reader; NULL (reported as "must be a
 * group { HINT }") when it is not a group. */
struct cfg_reader *cfg_read_elem(struct cfg_reader *list, size_t i, const char *hint);
/* Every member of the reader's group must be one of known (NULL-ended): an
 * unknown one is an error, with the closest known name suggested. */
void cfg_read_known(struct cfg_reader *r, const char *const *known);
/* Reports "FILE:LINE: PATH.name: why" at the setting name (at the group when
 * it is absent; name NULL: the group itself). */
void cfg_read_error(struct cfg_reader *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same at element i of the array or list name ("PATH.name.[i]"). */
void cfg_read_elem_error(struct cfg_reader *r, const char *name, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The kind ran out of memory: the load fails with "out of memory". */
void cfg_read_oom(struct cfg_reader *r);
/* Frees n strings and the array (accepts NULL). */
void cfg_free_strv(char **v, size_t n);

/* restore = { min = 1; desired = 2; max = 4; }: what a start restores when
 * no capacity was saved. Each value an integer >= 0, or -1 when absent
 * (a kind names which it requires). */
struct cfg_capacity {
	bool set; /* the group is present (and valid) */
	long long min, desired, max;
};
/* Reads the group name as a capacity; false when absent or wrong (reported:
 * not a group, unknown member, negative or non-integer value, min > desired
 * or desired > max when both are given). */
bool cfg_read_capacity(struct cfg_reader *r, const char *name, struct cfg_capacity *out);

#define CFG_MAX_MEMBERS 50 /* members of one group */
/* members = ( { kind = "..."; ... }, ... ): the group environment's members,
 * in order, each parsed by its kind like an environment of its own (its
 * settings only: kind and the kind's). They are named "GROUP[1]", "GROUP[2]",
 * ... (1-based), have env as parent, no schedule, and are owned by env
 * (freed by cfg_destroy). A member cannot itself have members. Returns the
 * number read; errors are reported through the reader. */
size_t cfg_read_members(struct cfg_reader *r, const char *name, struct cfg_env *env);

struct cfg_schedule {
	char *start_expr; /* NULL when the environment has no scheduled start */
	char *stop_expr;  /* NULL when it has no scheduled stop */
	struct cron start;
	struct cron stop;
	char *timezone; /* the schedule's zone; defaults to the top-level timezone */
	struct tz *tz;  /* that zone, opened once when the config is loaded (owned) */
};

/* aws = { region = "..."; assume_role = "arn:..."; external_id = "..."; }:
 * where an environment's (or a member's) calls go, instead of the daemon's
 * own region and credentials. NULL: not set (a member falls back to its
 * group's, then the daemon's). */
struct cfg_aws_target {
	char *region;
	char *assume_role; /* arn:PARTITION:iam::ACCOUNT:role/NAME */
	char *external_id;
};

#define CFG_MAX_REGIONS 40
#define CFG_EXCLUDE_TAG "envbot:exclude" /* the default of aws.exclude_tag */

struct cfg_env {
	char *name;
	const struct cfg_kind *kind; /* from the registry it was loaded with */
	void *spec;                  /* the kind's own settings (kind->parse), may be NULL */
	int line;                    /* line of the environment's group, for messages */

	struct cfg_schedule schedule;
	bool protected_env; /* "protected" in the file */
	bool enforce;
	double hourly_cost; /* USD per hour while up; >= 0 */
	/* holidays_from = [ "ko", ... ]: the calendars whose days keep this
	 * environment down; NULL (unset) = every calendar, an empty list none. */
	char **holidays_from;
	size_t n_holidays_from;
	bool holidays_from_set;

	struct cfg_aws_target aws; /* its own aws = { ... } (see cfg_env_target) */
	/* regions = [ "...", ... ] or "all" (a kind selecting by tag): the
	 * resources are found and acted on in each region, in parallel. */
	char **regions;
	size_t n_regions;
	bool all_regions;
	/* aws.exclude_tag: a resource with KEY = "true" is never touched, one
	 * with KEY-until = "YYYY-MM-DD" not before that date (borrowed from the
	 * config). */
	const char *exclude_tag;

	/* A group's members (cfg_read_members), in start order; a member has
	 * its group as parent and no schedule of its own. */
	const struct cfg_env *parent;
	struct cfg_env *members;
	size_t n_members;
};

/* Where env's calls go: each field its own, else its group's (a member),
 * else NULL (the daemon's). */
struct cfg_aws_target cfg_env_target(const struct cfg_env *env);
/* The 12-digit account inside a role ARN the config accepted
 * ("arn:aws:iam::222222222222:role/x" gives "222222222222..."; print it
 * with %.12s), NULL when arn is NULL or not one. */
const char *cfg_role_account(const char *arn);
/* True when env names more than one region or "all" (discovery fans out). */
bool cfg_env_multi_region(const struct cfg_env *env);

/* The top-level environment env belongs to: env itself, or its group. */
const struct cfg_env *cfg_env_root(const struct cfg_env *env);

/* ---- what goes out (config_out.c) ----------------------------------------- */

/* notify = { webhooks = ( { url; format; secret_file; name; } );
 * sns_topic_arn; eventbridge_bus; }: where every workflow start and end and
 * every override goes, as one JSON event (CONTRACT.md "Events out"). Each
 * destination is a sink with a name: a webhook's own (default
 * "webhook-N"), "sns" (or "sns-N" for a list of topics), "eventbridge". */
enum cfg_sink_kind { CFG_SINK_WEBHOOK, CFG_SINK_SNS, CFG_SINK_EVENTBRIDGE };
#define CFG_MAX_SINKS     16
#define CFG_SINK_NAME_MAX 32
struct cfg_sink {
	char *name; /* unique: the key of its deliveries in the state */
	enum cfg_sink_kind kind;
	char *url;         /* webhook: https:// (http:// to loopback) */
	bool slack;        /* webhook format = "slack": a Slack message, not the event */
	char *secret_file; /* webhook: key of the X-Envbot-Signature HMAC (optional) */
	char *topic_arn;   /* sns: arn:aws:sns:REGION:ACCOUNT:NAME (a .fifo one dedups) */
	char *bus;         /* eventbridge: a bus name or ARN ("default") */
	char *region;      /* sns / eventbridge: the ARN's; NULL (a bus name): aws.region */
};

/* holiday_calendars = [ "https://.../ko.ics", "/etc/envbot/company.ics" ]:
 * a calendar's name is its file name without ".ics" ("ko", "company"),
 * which is what holidays_from and /holiday list say. */
#define CFG_MAX_CALENDARS 16
struct cfg_calendar {
	char *name;
	char *source; /* an https:// URL (http:// to loopback) or an absolute path */
	bool is_url;
};

/* The message catalogues envbot speaks (po/<code>.po): "en" and "ko". */
bool cfg_locale_known(const char *code);

struct cfg {
	char *path;                          /* the file it was read from */
	const struct cfg_kind *const *kinds; /* the registry it was loaded with (borrowed) */

	/* discord */
	char *application_id;
	char *guild_id; /* may be NULL: global commands */
	char *channel_id;
	char *api_base;   /* default "https://discord.com/api/v10" */
	char *token_file; /* may be NULL: $DISCORD_TOKEN */
	char **operator_roles;
	size_t n_operator_roles;
	char **admin_roles;
	size_t n_admin_roles;

	/* aws */
	char *region;
	char *endpoint_url; /* may be NULL */
	char *profile;      /* may be NULL */
	char *exclude_tag;  /* default CFG_EXCLUDE_TAG */

	char *state_file; /* default "/var/lib/envbot/state.json" */
	/* state = { backend = "dynamodb"; table; region; lease_seconds;
	 * replica_id; }: two replicas share the state in a DynamoDB table and
	 * one of them, the lease holder, acts (#17). Unset: the state file. */
	bool state_ddb;
	char *state_table;   /* "envbot-state" */
	char *state_region;  /* NULL: aws.region */
	int state_lease_s;   /* default 15, 3..300 */
	char *state_replica; /* NULL: "<hostname>:<pid>" */
	int64_t catch_up;    /* seconds, default 2h */
	int64_t max_extend;  /* seconds, default 4h */
	int64_t warn_before; /* seconds, default 15m; 0 disables */
	/* An off-hours manual start stays up this long unless `for` says
	 * otherwise; 0 ("until-next-stop", the default): until the next
	 * scheduled transition. */
	int64_t manual_lease;
	int audit_max;       /* audit entries kept, default 1000 */
	char *health_listen; /* "127.0.0.1:9464" or NULL */
	char *timezone;      /* default "UTC" */
	struct tz *tz;       /* that zone, opened once at load (owned) */
	char *log_level;     /* may be NULL */

	ymd_t *holidays;
	size_t n_holidays;

	struct cfg_sink *sinks; /* events = ( ... ) */
	size_t n_sinks;
	/* report = { schedule = "0 9 * * MON"; cost_explorer; cost_tag; }:
	 * the weekly report, posted to the channel on its schedule (in the
	 * top-level timezone) and on /report. */
	bool report_on;
	char *report_expr; /* NULL: /report only */
	struct cron report_cron;
	bool report_ce;        /* actual cost from Cost Explorer */
	char *report_cost_tag; /* the cost-allocation tag key, default "envbot:env" */
	struct cfg_calendar *calendars;
	size_t n_calendars;
	char *locale; /* the channel's scheduled posts: "en" (default) or "ko" */

	struct cfg_env *envs;
	size_t n_envs;
};

/* Reads and validates path, accepting the kinds of the registry kinds
 * (NULL-terminated, borrowed: it must outlive the config). On success returns
 * BOT_OK and *out (caller frees with cfg_destroy). On failure returns
 * BOT_ECONFIG and writes every error it found, one "FILE:LINE: setting: why"
 * per line, into err (truncated to errlen). */
enum bot_rc cfg_load(const char *path, const struct cfg_kind *const *kinds, struct cfg **out,
		     char *err, size_t errlen);
/* Same from a string (tests, fuzzing); name is used in messages. */
enum bot_rc cfg_load_string(const char *text, const char *name, const struct cfg_kind *const *kinds,
			    struct cfg **out, char *err, size_t errlen);
/* Accepts NULL. */
void cfg_destroy(struct cfg *cfg);

/* The zone env's schedule runs in (the top-level one when env is NULL), opened
 * once at load: borrowed from cfg, never NULL for a loaded config. Callers used
 * to open the zone file again for every use (per environment on every /env
 * list). */
const struct tz *cfg_env_tz(const struct cfg *cfg, const struct cfg_env *env);

/* Finds an environment by name; borrowed pointer, NULL if none. */
const struct cfg_env *cfg_find_env(const struct cfg *cfg, const char *name);

/* The Discord token from $DISCORD_TOKEN, else discord.token_file (a warning is
 * logged if that file is readable by group or others). Returns a new string
 * the caller frees, registered with log_add_secret(); BOT_ECONFIG with a
 * message in err when neither is set. */
enum bot_rc cfg_discord_token(const struct cfg *cfg, char **out, char *err, size_t errlen);

/* One line (after indent) saying where env's calls go when its aws = { }
 * or regions say other than the daemon's own; nothing otherwise. */
void cfg_print_target_aws(FILE *out, const struct cfg_env *env, const char *indent);

/* Prints the one-screen summary of `envbot check-config`. */
void cfg_print_summary(const struct cfg *cfg, FILE *out);

/* The kind's name, "?" for NULL. */
const char *cfg_kind_name(const struct cfg_kind *kind);

#endif
