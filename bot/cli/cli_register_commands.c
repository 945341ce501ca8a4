/* `envbot register-commands`: bulk-overwrite the slash commands (guild when
 * discord.guild_id is set, else global), only when they changed. */
#include <stdio.h>
#include <stdlib.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "../daemon/bot.h"
#include "cli.h"

struct reg {
	struct loop *loop;
	enum bot_rc rc;
	bool changed;
	int n;
};

static void on_synced(void *arg, enum bot_rc rc, bool changed, int n)
{
	struct reg *r = arg;
	r->rc = rc;
	r->changed = changed;
	r->n = n;
	loop_stop(r->loop);
}

int cli_register_commands(const struct cli *cli, int argc, char **argv)
{
	struct cfg *cfg = NULL;
	char *token = NULL;
	char err[512];
	struct loop *loop = NULL;
	struct rest *rest = NULL;
	int status = EXIT_USAGE;
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: envbot [-c FILE] register-commands\n");
		return EXIT_USAGE;
	}
	status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	/* The descriptions' translations come from the catalogues. */
	status = cli_load_catalogues(cfg);
	if (status != 0)
		goto out;
	if (cfg_discord_token(cfg, &token, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: %s\n", err);
		goto out;
	}
	status = EXIT_FAILED;
	loop = loop_create();
	struct rest_options ro = {
		.api_base = cfg->api_base,
		.token = token,
		.application_id = cfg->application_id,
	};
	rest = loop ? rest_create(loop, &ro) : NULL;
	if (!rest) {
		fprintf(stderr, "envbot: cannot create the Discord client\n");
		goto out;
	}
	struct reg r = { .loop = loop, .rc = BOT_ECANCELLED };
	bot_sync_commands(rest, cfg, on_synced, &r);
	if (r.rc == BOT_ECANCELLED)
		loop_run(loop);
	const char *where = cfg->guild_id && cfg->guild_id[0] ? "guild" : "global";
	if (r.rc == BOT_OK) {
		if (r.changed)
			printf("registered %d %s commands\n", r.n, where);
		else
			printf("%d %s commands already up to date\n", r.n, where);
		status = EXIT_OK;
	} else {
		fprintf(stderr, "envbot: registering commands failed: %s\n", bot_strerror(r.rc));
		status = bot_exit_status(r.rc) == EXIT_AUTH ? EXIT_AUTH : EXIT_FAILED;
	}
out:
	rest_destroy(rest);
	loop_destroy(loop);
	cfg_destroy(cfg);
	free(token);
	return status;
}
