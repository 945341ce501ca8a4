/* Unit tests of interaction decoding (INTERACTION_CREATE -> struct ix) and of
 * the slash command definitions and their comparison. */
#include <stdlib.h>

#include "../../bot/discord/interact.h"
#include "../../commands/definitions.h"
#include "check.h"

static struct ix *parse(const char *json, enum bot_rc want)
{
	cJSON *d = cJSON_Parse(json);
	struct ix *ix = NULL;
	CHECK(d != NULL);
	CHECK_INT(ix_parse(d, 42, &ix), want);
	cJSON_Delete(d);
	CHECK(want == BOT_OK ? ix != NULL : ix == NULL);
	return ix;
}

static void test_command(void)
{
	struct ix *ix = parse(
		"{\"id\":\"1100000000000000011\",\"application_id\":\"100000000000000001\","
		"\"type\":2,\"token\":\"aW50ZXJhY3Rpb246abc\",\"guild_id\":\"200000000000000002\","
		"\"locale\":\"ko\",\"guild_locale\":\"en-US\","
		"\"channel_id\":\"300000000000000003\",\"member\":{\"user\":{\"id\":"
		"\"600000000000000006\",\"username\":\"alice\",\"global_name\":\"Alice\"},"
		"\"roles\":[\"400000000000000004\",\"12\",\"not-an-id\"]},\"data\":{\"name\":"
		"\"env\",\"type\":1,\"options\":[{\"name\":\"extend\",\"type\":1,\"options\":["
		"{\"name\":\"name\",\"type\":3,\"value\":\"dev\"},{\"name\":\"duration\","
		"\"type\":3,\"value\":\"2h\"},{\"name\":\"count\",\"type\":4,\"value\":7},"
		"{\"name\":\"force\",\"type\":5,\"value\":true},{\"name\":\"ratio\",\"type\":10,"
		"\"value\":0.5}]}]}}",
		BOT_OK);
	if (!ix)
		return;
	CHECK_STR(ix->id, "1100000000000000011");
	CHECK_STR(ix->application_id, "100000000000000001");
	CHECK_INT(ix->type, IX_COMMAND);
	CHECK_STR(ix->token, "aW50ZXJhY3Rpb246abc");
	CHECK_STR(ix->guild_id, "200000000000000002");
	CHECK_STR(ix->channel_id, "300000000000000003");
	CHECK_STR(ix->user_id, "600000000000000006");
	CHECK_STR(ix->user_name, "Alice");
	CHECK_STR(ix->locale, "ko"); /* the user's, not guild_locale */
	CHECK_INT(ix->n_roles, 2);
	CHECK_STR(ix->command, "env");
	CHECK_STR(ix->group, "");
	CHECK_STR(ix->subcommand, "extend");
	CHECK_INT(ix->n_options, 5);
	CHECK_STR(ix_option(ix, "name"), "dev");
	CHECK_STR(ix_option(ix, "duration"), "2h");
	CHECK_STR(ix_option(ix, "count"), "7");
	CHECK_STR(ix_option(ix, "force"), "true");
	CHECK_STR(ix_option(ix, "ratio"), "0.5");
	CHECK(ix_option(ix, "missing") == NULL);
	CHECK(ix_focused(ix) == NULL);
	CHECK_INT(ix->received_ms, 42);
	char op_role[] = "400000000000000004", admin_role[] = "500000000000000005";
	char *ops[] = { op_role };
	char *admins[] = { admin_role };
	CHECK(ix_has_role(ix, ops, 1));
	CHECK(!ix_has_role(ix, admins, 1));
	ix_free(ix);
}

static void test_autocomplete_group_dm(void)
{
	struct ix *ix =
		parse("{\"id\":\"5\",\"type\":4,\"token\":\"tok123456\",\"channel_id\":\"9\","
		      "\"user\":{\"id\":\"77\",\"username\":\"bob\"},\"data\":{\"name\":"
		      "\"schedule\",\"options\":[{\"name\":\"admin\",\"type\":2,\"options\":"
		      "[{\"name\":\"pause\",\"type\":1,\"options\":[{\"name\":\"name\","
		      "\"type\":3,\"value\":\"q\",\"focused\":true}]}]}]}}",
		      BOT_OK);
	if (!ix)
		return;
	CHECK_INT(ix->type, IX_AUTOCOMPLETE);
	CHECK_STR(ix->group, "admin");
	CHECK_STR(ix->subcommand, "pause");
	CHECK_STR(ix->user_id, "77"); /* DM: user, not member */
	CHECK_STR(ix->guild_id, "");
	CHECK_STR(ix->locale, ""); /* none sent */
	CHECK_INT(ix->n_roles, 0);
	const struct ix_option *f = ix_focused(ix);
	CHECK(f && strcmp(f->name, "name") == 0 && strcmp(f->value, "q") == 0);
	ix_free(ix);
}

static void test_component(void)
{
	struct ix *ix =
		parse("{\"id\":\"6\",\"type\":3,\"token\":\"tok123456\",\"channel\":{\"id\":"
		      "\"31\"},\"member\":{\"user\":{\"id\":\"1\"},\"roles\":[]},\"data\":"
		      "{\"custom_id\":\"confirm:dev\",\"component_type\":2},\"message\":{"
		      "\"id\":\"800\"}}",
		      BOT_OK);
	if (!ix)
		return;
	CHECK_INT(ix->type, IX_COMPONENT);
	CHECK_STR(ix->custom_id, "confirm:dev");
	CHECK_STR(ix->message_id, "800");
	CHECK_STR(ix->channel_id, "31");
	ix_free(ix);
}

static void test_malformed(void)
{
	/* no id, bad id, no token, unknown type, command without a name,
	 * component without custom_id, not an object */
	parse("{\"type\":2,\"token\":\"t\",\"data\":{\"name\":\"env\"}}", BOT_EPARSE);
	parse("{\"id\":\"12x\",\"type\":2,\"token\":\"t\",\"data\":{\"name\":\"env\"}}",
	      BOT_EPARSE);
	parse("{\"id\":12,\"type\":2,\"token\":\"t\",\"data\":{\"name\":\"env\"}}", BOT_EPARSE);
	parse("{\"id\":\"12\",\"type\":2,\"data\":{\"name\":\"env\"}}", BOT_EPARSE);
	parse("{\"id\":\"12\",\"type\":99,\"token\":\"t\",\"data\":{\"name\":\"env\"}}",
	      BOT_EPARSE);
	parse("{\"id\":\"12\",\"type\":2,\"token\":\"t\",\"data\":{}}", BOT_EPARSE);
	parse("{\"id\":\"12\",\"type\":3,\"token\":\"t\",\"data\":{}}", BOT_EPARSE);
	parse("[1,2,3]", BOT_EPARSE);
	parse("{\"id\":\"123456789012345678901234567\",\"type\":2,\"token\":\"t\"}", BOT_EPARSE);
	/* bounded: more than 25 options and very long values are cut */
	char *json = malloc(20000);
	char *p = json;
	p += sprintf(p,
		     "{\"id\":\"1\",\"type\":2,\"token\":\"tok\",\"data\":{\"name\":"
		     "\"%s\",\"options\":[",
		     "a-very-long-command-name-beyond-32-characters");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s{\"name\":\"o%d\",\"type\":3,\"value\":\"v\"}", i ? "," : "", i);
	sprintf(p, "]}}");
	struct ix *ix = parse(json, BOT_OK);
	if (ix) {
		CHECK_INT(ix->n_options, IX_MAX_OPTIONS);
		CHECK_INT(strlen(ix->command), IX_NAME_MAX - 1);
		ix_free(ix);
	}
	free(json);
	ix_free(NULL);
}

static void test_definitions(void)
{
	cJSON *want = cmd_definitions();
	CHECK(cJSON_IsArray(want));
	CHECK_INT(cJSON_GetArraySize(want), 9);
	CHECK(cmd_definitions_equal(want, want));
	/* What Discord returns: extra server fields, another order. */
	cJSON *have = cJSON_CreateArray();
	for (int i = cJSON_GetArraySize(want) - 1; i >= 0; i--) {
		cJSON *c = cJSON_Duplicate(cJSON_GetArrayItem(want, i), true);
		cJSON_AddStringToObject(c, "id", "999");
		cJSON_AddStringToObject(c, "version", "1");
		cJSON_AddNullToObject(c, "default_member_permissions");
		cJSON_AddItemToArray(have, c);
	}
	CHECK(cmd_definitions_equal(want, have));
	/* a changed description is a change */
	cJSON *env = NULL, *c;
	cJSON_ArrayForEach(c, have) if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring,
					       "env") == 0) env = c;
	CHECK(env != NULL);
	cJSON *opts = cJSON_GetObjectItem(env, "options");
	cJSON *start = cJSON_GetArrayItem(opts, 2);
	CHECK_STR(cJSON_GetObjectItem(start, "name")->valuestring, "start");
	cJSON *name = cJSON_GetArrayItem(cJSON_GetObjectItem(start, "options"), 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(name, "autocomplete")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(name, "required")));
	cJSON_ReplaceItemInObject(name, "autocomplete", cJSON_CreateFalse());
	CHECK(!cmd_definitions_equal(want, have));
	cJSON_ReplaceItemInObject(name, "autocomplete", cJSON_CreateTrue());
	CHECK(cmd_definitions_equal(want, have));
	/* a missing command is a change */
	cJSON_DeleteItemFromArray(have, 0);
	CHECK(!cmd_definitions_equal(want, have));
	CHECK(!cmd_definitions_equal(want, NULL));
	/* every name and description within Discord's limits */
	cJSON_ArrayForEach(c, want)
	{
		const char *n = cJSON_GetObjectItem(c, "name")->valuestring;
		const char *d = cJSON_GetObjectItem(c, "description")->valuestring;
		CHECK(strlen(n) >= 1 && strlen(n) <= 32);
		CHECK(strlen(d) >= 1 && strlen(d) <= 100);
	}
	cJSON_Delete(have);
	cJSON_Delete(want);
}

int main(void)
{
	test_command();
	test_autocomplete_group_dm();
	test_component();
	test_malformed();
	test_definitions();
	return check_done();
}
