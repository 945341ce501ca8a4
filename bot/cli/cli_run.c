/* `envbot run`: the daemon. Loads the config and the token, then hands over
 * to struct bot (bot/daemon/bot.c), which owns everything that runs. */
#include <stdio.h>
#include <unistd.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "../daemon/bot.h"
#include "cli.h"

int cli_run(const struct cli *cli, int argc, char **argv)
{
	struct cfg *cfg = NULL;
	char *token = NULL;
	char err[512];
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: envbot [-c FILE] run\n");
		return EXIT_USAGE;
	}
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	/* Before any thread: the catalogue is read-only from then on. */
	status = cli_load_catalogues(cfg);
	if (status != 0) {
		cfg_destroy(cfg);
		return status;
	}
	if (cfg_discord_token(cfg, &token, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: %s\n", err);
		cfg_destroy(cfg);
		return EXIT_USAGE;
	}
	/* Said, not refused: a container may map root to nobody. The deploy
	 * files run it unprivileged; a root daemon is one bug from owning the
	 * host. */
	if (geteuid() == 0)
		log_warn("run", "msg=\"running as root: envbot needs no privileges\" "
				"hint=\"run it as an unprivileged user (deploy/envbot.service: "
				"DynamicUser=yes; deploy/Dockerfile: uid 10001)\"");
	struct bot *bot = bot_create(cfg, token); /* takes cfg and token */
	if (!bot) {
		fprintf(stderr, "envbot: cannot start (out of memory or bad api_base)\n");
		return EXIT_FAILED;
	}
	status = bot_run(bot);
	bot_destroy(bot);
	return status;
}
