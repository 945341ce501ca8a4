/* The slash command set of CONTRACT.md as Discord application-command JSON:
 * the one definition used by `envbot register-commands` and by `run` at
 * start-up, and the comparison that makes registration happen only when the
 * set changed. */
#ifndef ENVBOT_DEFINITIONS_H
#define ENVBOT_DEFINITIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Returns a new JSON array of command objects (caller frees with
 * cJSON_Delete), NULL on allocation failure. The descriptions' translations
 * come from the message catalogues loaded (i18n_load) when it is called. */
cJSON *cmd_definitions(void);

/* True when the commands Discord returned (GET .../commands
 * ?with_localizations=true, an array with server-side fields such as id and
 * version) describe the same set as want: same names, descriptions and their
 * translations (description_localizations), options, choices and
 * autocomplete flags, in any order of commands. Both borrowed. */
bool cmd_definitions_equal(const cJSON *want, const cJSON *have);

#endif
