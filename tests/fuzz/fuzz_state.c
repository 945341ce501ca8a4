/* Fuzzes state_parse (the state file read at start-up: a damaged or
 * hand-edited file must give an error, never a crash). A document that
 * parses must dump to text that parses to the same dump (state_dump is
 * stable for equal states). */
#include "../../bot/core/log.h"
#include "../../bot/state/state.h"
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
	if (size > 262144)
		return 0;
	char *s = fuzz_strdup(data, size);
	struct state *st = NULL, *st2 = NULL;
	char *dump = NULL, *dump2 = NULL;
	char err[512];
	if (state_parse(s, &st, err, sizeof(err)) != BOT_OK) {
		FUZZ_CHECK(st == NULL);
		goto out;
	}
	dump = state_dump(st);
	if (!dump)
		goto out;
	FUZZ_CHECK(state_parse(dump, &st2, err, sizeof(err)) == BOT_OK);
	dump2 = state_dump(st2);
	if (dump2)
		FUZZ_CHECK(strcmp(dump, dump2) == 0);
out:
	free(dump2);
	free(dump);
	state_destroy(st2);
	state_destroy(st);
	free(s);
	return 0;
}
