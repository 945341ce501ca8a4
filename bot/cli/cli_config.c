/* What the cli_<command>.c files share: loading the config the way every
 * command does (errors on stderr, the config's log level applied). Apart
 * from main.c so that main.c -> cli_<command>.c stays one-way. */
#include <stdio.h>
#include <string.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "../kinds/kinds.h"
#include "cli.h"

int cli_load_config(const struct cli *cli, struct cfg **out)
{
	char err[8192];
	*out = NULL;
	if (cfg_load(cli->config_path, envbot_kinds, out, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "%s", err);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return EXIT_USAGE;
	}
	if ((*out)->log_level) {
		enum log_level lvl;
		if (log_parse_level((*out)->log_level, &lvl) == 0)
			log_set_level(lvl);
	}
	return EXIT_OK;
}
