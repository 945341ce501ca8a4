/* Fuzzes the config loader (libconfig parsing plus envbot's validation)
 * through cfg_load_string: any text gives a config or an error message,
 * never a crash or a leak. */
#include "../../bot/core/log.h"
#include "../../bot/kinds/kinds.h"
#include "../../config/config.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *s = fuzz_strdup(data, size);
	struct cfg *cfg = NULL;
	char err[4096];
	err[0] = '\0';
	enum bot_rc rc = cfg_load_string(s, "fuzz.cfg", envbot_kinds, &cfg, err, sizeof(err));
	if (rc == BOT_OK)
		FUZZ_CHECK(cfg != NULL);
	else
		FUZZ_CHECK(cfg == NULL && err[0] != '\0');
	cfg_destroy(cfg);
	free(s);
	return 0;
}
