/* What the cli_<command>.c files share: loading the config the way every
 * command does (errors on stderr, the config's log level applied), and the
 * message catalogues of the commands that talk to Discord. Apart from
 * main.c so that main.c -> cli_<command>.c stays one-way. */
#include <stdio.h>
#include <string.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "../i18n/i18n.h"
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

int cli_load_catalogues(const struct cfg *cfg)
{
	char err[1024];
	const char *dir = i18n_dir_default();
	enum bot_rc rc = i18n_load(dir, err, sizeof(err));
	if (rc == BOT_ENOTFOUND) {
		/* Nothing to translate with is not broken: English for all. */
		log_warn("i18n", "msg=\"%s: every reply in English\" hint=\"set $ENVBOT_PO_DIR\"",
			 err);
	} else if (rc != BOT_OK) {
		/* A translator's typo: refused like a config error, with where. */
		fprintf(stderr, "envbot: message catalogue: %s\n", err);
		return EXIT_USAGE;
	} else {
		for (size_t i = 0; i < i18n_n_locales(); i++)
			log_info("i18n",
				 "msg=\"message catalogue loaded\" locale=%s messages=%zu dir=%s",
				 i18n_locale_at(i), i18n_count(i18n_locale_at(i)), dir);
	}
	if (cfg && cfg->locale && strcmp(cfg->locale, "en") != 0 && !i18n_translates(cfg->locale))
		log_warn("i18n",
			 "msg=\"locale %s has no message catalogue: the channel's posts are in "
			 "English\" dir=%s",
			 cfg->locale, dir);
	return EXIT_OK;
}
