/* `envbot check-config`: loads and validates the config without touching the
 * network, then prints the one-screen summary (exit 0) or every error found,
 * one "FILE:LINE: setting: why" per line (exit 2). */
#include <stdio.h>
#include <string.h>

#include "../core/exitcode.h"
#include "cli.h"

int cli_check_config(const struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "envbot check-config: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	cfg_print_summary(cfg, stdout);
	cfg_destroy(cfg);
	return EXIT_OK;
}
