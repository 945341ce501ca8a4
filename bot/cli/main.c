/* envbot's entry point: global options, then one subcommand (CONTRACT.md,
 * "Command line"). The subcommands live in bot/cli_<name>.c. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "../report/report.h"
#include "cli.h"

struct cli_command {
	const char *name;
	int (*fn)(const struct cli *cli, int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const struct cli_command commands[] = {
	{ .name = "run",
	  .fn = cli_run,
	  .usage = "run",
	  .summary = "the daemon: gateway, slash commands, scheduler, workflows" },
	{ .name = "check-config",
	  .fn = cli_check_config,
	  .usage = "check-config",
	  .summary = "validate the config and print a summary" },
	{ .name = "plan",
	  .fn = cli_plan,
	  .usage = "plan [--days N] [--env NAME] [--from YYYY-MM-DD] [--json]",
	  .summary = "upcoming scheduled actions and the monthly cost table (offline)" },
	{ .name = "status",
	  .fn = cli_status,
	  .usage = "status [ENV]",
	  .summary = "live state of each environment" },
	{ .name = "start",
	  .fn = cli_start,
	  .usage = "start ENV [--notify]",
	  .summary = "run the start workflow now, progress on stdout" },
	{ .name = "stop",
	  .fn = cli_stop,
	  .usage = "stop ENV [--notify]",
	  .summary = "run the stop workflow now, progress on stdout" },
	{ .name = "tags",
	  .fn = cli_tags,
	  .usage = "tags ENV",
	  .summary = "newest image tags in the environment's ECR repository" },
	{ .name = "register-commands",
	  .fn = cli_register_commands,
	  .usage = "register-commands",
	  .summary = "bulk-overwrite the slash commands" },
	{ .name = "doctor",
	  .fn = cli_doctor,
	  .usage = "doctor",
	  .summary = "check config, Discord access, AWS credentials and permissions" },
	{ .name = "migrate-state",
	  .fn = cli_migrate_state,
	  .usage = "migrate-state --to-table|--to-file [--file PATH] [--force]",
	  .summary = "copy the state file into the DynamoDB table, or back" },
	{ .name = "init-state",
	  .fn = cli_init_state,
	  .usage = "init-state",
	  .summary = "create the DynamoDB state table when it is missing" },
	{ 0 },
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [-c FILE] [--log-level LEVEL] COMMAND [ARGS]\n\n"
		"Keeps AWS dev/staging environments up only while people need them,\n"
		"driven from Discord.\n\ncommands:\n",
		prog);
	for (const struct cli_command *c = commands; c->name; c++)
		fprintf(out, "  %-58s %s\n", c->usage, c->summary);
	fprintf(out,
		"\noptions:\n"
		"  -c, --config FILE      config file (default $ENVBOT_CONFIG, else ./envbot.cfg)\n"
		"      --log-level LEVEL  error, warn, info (default) or debug\n"
		"  -h, --help             this text\n"
		"  -V, --version          print the version\n"
		"\nexit status: 0 ok, 1 action failed, 2 usage or config error, "
		"3 authentication refused\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0, 0, 0, 0 },
	};
	/* Jitter (retries, reconnects) and workflow ids need no crypto, only
	 * to differ between processes. */
	struct cli cli = { .prog = "envbot" };
	const char *env_cfg = getenv("ENVBOT_CONFIG");
	cli.config_path = env_cfg && *env_cfg ? env_cfg : "envbot.cfg";
	const char *log_level = NULL;

	int c;
	/* "+" stops at the first non-option: the command's own options follow. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_path = optarg; break;
		case 'L': log_level = optarg; break;
		case 'h': usage(stdout, cli.prog); return EXIT_OK;
		case 'V': printf("envbot %s\n", ENVBOT_VERSION); return EXIT_OK;
		default: usage(stderr, cli.prog); return EXIT_USAGE;
		}
	}
	if (log_level) {
		enum log_level lvl;
		if (log_parse_level(log_level, &lvl) != 0) {
			fprintf(stderr,
				"envbot: --log-level: '%s' is not one of error, warn, "
				"info, debug\n",
				log_level);
			return EXIT_USAGE;
		}
		log_set_level(lvl);
	}
	if (optind >= argc) {
		usage(stderr, cli.prog);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (const struct cli_command *cmd = commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) != 0)
			continue;
		/* --help and --version work after the command too. */
		for (int i = optind + 1; i < argc; i++) {
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				printf("usage: envbot [-c FILE] %s\n  %s\n", cmd->usage,
				       cmd->summary);
				return EXIT_OK;
			}
			if (strcmp(argv[i], "--version") == 0) {
				printf("envbot %s\n", ENVBOT_VERSION);
				return EXIT_OK;
			}
		}
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "envbot: libcurl failed to initialise\n");
			return EXIT_FAILED;
		}
		/* Re-base getopt for the command's own option parsing. */
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0; /* 0: glibc re-initialises (and forgets the "+" mode) */
		int status = cmd->fn(&cli, sub_argc, sub_argv);
		report_release();
		log_clear_secrets();
		curl_global_cleanup();
		return status;
	}
	fprintf(stderr, "envbot: unknown command '%s' (see envbot --help)\n", name);
	return EXIT_USAGE;
}
