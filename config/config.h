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

enum env_kind { ENV_STACK = 0, ENV_EC2 = 1 };

struct cfg_param {
	char *key;
	char *value;
};

struct cfg_schedule {
	char *start_expr; /* NULL when the environment has no scheduled start */
	char *stop_expr;  /* NULL when it has no scheduled stop */
	struct cron start;
	struct cron stop;
	char *timezone; /* the schedule's zone; defaults to the top-level timezone */
	struct tz *tz;  /* that zone, opened once when the config is loaded (owned) */
};

struct cfg_env {
	char *name;
	enum env_kind kind;
	int line; /* line of the environment's group, for messages */

	/* kind = "stack" */
	char *stack_name;
	char *template_url;
	char *role_arn; /* may be NULL */
	char **capabilities;
	size_t n_capabilities;
	char *image_repository; /* may be NULL: no image lookup */
	char **image_parameters;
	size_t n_image_parameters;
	struct cfg_param *parameters;
	size_t n_parameters;

	/* kind = "ec2" */
	char *tag_key;
	char *tag_value;

	struct cfg_schedule schedule;
	bool protected_env; /* "protected" in the file */
	bool enforce;
	double hourly_cost; /* USD per hour while up; >= 0 */
};

struct cfg {
	char *path; /* the file it was read from */

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

	char *state_file;    /* default "/var/lib/envbot/state.json" */
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

	struct cfg_env *envs;
	size_t n_envs;
};

/* Reads and validates path. On success returns BOT_OK and *out (caller frees
 * with cfg_destroy). On failure returns BOT_ECONFIG and writes every error it
 * found, one "FILE:LINE: setting: why" per line, into err (truncated to
 * errlen). */
enum bot_rc cfg_load(const char *path, struct cfg **out, char *err, size_t errlen);
/* Same from a string (tests, fuzzing); name is used in messages. */
enum bot_rc cfg_load_string(const char *text, const char *name, struct cfg **out, char *err,
			    size_t errlen);
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

/* Prints the one-screen summary of `envbot check-config`. */
void cfg_print_summary(const struct cfg *cfg, FILE *out);

const char *cfg_kind_name(enum env_kind kind);

#endif
