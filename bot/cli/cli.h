/* The command line: main.c parses the global options and dispatches to one
 * cli_<command>() per file (bot/cli_<command>.c). Each returns the process
 * exit status of CONTRACT.md: 0 ok, 1 action failed, 2 usage/config, 3 auth. */
#ifndef ENVBOT_CLI_H
#define ENVBOT_CLI_H

#include "../../config/config.h"
#include "envbot_version.h"

struct cli {
	const char *config_path; /* -c, else $ENVBOT_CONFIG, else ./envbot.cfg */
	const char *prog;
};

/* cli_config.c: what the commands share. */

/* Loads cli->config_path; on failure prints the errors to stderr and returns
 * 2 with *out NULL. Caller frees *out with cfg_destroy. */
int cli_load_config(const struct cli *cli, struct cfg **out);
/* Loads the message catalogues (i18n_dir_default: $ENVBOT_PO_DIR, the
 * installed ones, the source tree's): EXIT_OK, also when there are none
 * (English, with a warning); EXIT_USAGE, said on stderr with FILE:LINE,
 * when one is malformed. */
int cli_load_catalogues(const struct cfg *cfg);

/* argv[0] is the command name; argv[1..] its arguments. */
int cli_run(const struct cli *cli, int argc, char **argv);
int cli_check_config(const struct cli *cli, int argc, char **argv);
int cli_plan(const struct cli *cli, int argc, char **argv);
int cli_status(const struct cli *cli, int argc, char **argv);
int cli_start(const struct cli *cli, int argc, char **argv);
int cli_stop(const struct cli *cli, int argc, char **argv);
int cli_tags(const struct cli *cli, int argc, char **argv);
int cli_register_commands(const struct cli *cli, int argc, char **argv);
int cli_doctor(const struct cli *cli, int argc, char **argv);
int cli_migrate_state(const struct cli *cli, int argc, char **argv);
int cli_init_state(const struct cli *cli, int argc, char **argv);

#endif
