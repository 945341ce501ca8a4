/* Fuzzes interaction decoding and the option parsing the commands do on
 * what users type: ix_parse() (bot/discord/interact.c) of an INTERACTION_CREATE "d"
 * object, then every option value through cmd_extend_parse,
 * cmd_parse_day, cmd_parse_until and cmd_escape, and a component's
 * custom_id through cmd_confirm_parse / cmd_snooze_parse
 * (commands/cmdutil.c). Checked: what parses formats and parses back the
 * same, and escaped text can never ping (@everyone, <@&role>) or carry
 * control characters. */
#include <cjson/cJSON.h>

#include "../../bot/core/log.h"
#include "../../bot/discord/interact.h"
#include "../../commands/commands.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

static void check_escaped(const char *out, size_t cap)
{
	size_t n = strlen(out);
	FUZZ_CHECK(n < cap);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		FUZZ_CHECK(c >= 0x20 && c != 0x7F);
		/* '@' is always followed by a zero-width space, so no mention. */
		if (c == '@' && i + 1 < n)
			FUZZ_CHECK(memcmp(out + i + 1, "\xE2\x80\x8B", 3) == 0);
		/* '<' (user/role/channel mentions) is always backslash-escaped. */
		if (c == '<')
			FUZZ_CHECK(i > 0 && out[i - 1] == '\\');
	}
}

static void parse_value(const char *v)
{
	char err[256], buf[128];
	struct cmd_extend_arg a, b;
	if (cmd_extend_parse(NULL, v, &a, err, sizeof(err)) == 0) {
		cmd_extend_format(&a, buf, sizeof(buf));
		FUZZ_CHECK(cmd_extend_parse(NULL, buf, &b, err, sizeof(err)) == 0);
		FUZZ_CHECK(a.until == b.until && a.at == b.at);
		if (a.until)
			FUZZ_CHECK(a.minutes == b.minutes);
		else if (a.at)
			FUZZ_CHECK(a.stop_at == b.stop_at);
		else
			FUZZ_CHECK(a.seconds == b.seconds);
	}
	const ymd_t today = 20261123;
	const time_t now = 1795424400; /* 2026-11-23 */
	ymd_t d = 0;
	if (cmd_parse_day(NULL, v, today, &d, err, sizeof(err)) == 0)
		FUZZ_CHECK(when_date_valid(d));
	ymd_t until_date = 0;
	time_t until_at = 0;
	if (cmd_parse_until(NULL, v, today, now, &until_date, &until_at, err, sizeof(err)) == 0)
		FUZZ_CHECK((until_date != 0) != (until_at != 0));

	char esc[64];
	cmd_escape(v, esc, sizeof(esc));
	check_escaped(esc, sizeof(esc));
	char big[2048];
	cmd_escape(v, big, sizeof(big));
	check_escaped(big, sizeof(big));
}

static void parse_custom_id(const char *id)
{
	struct cmd_confirm c;
	if (cmd_confirm_parse(id, &c) == 0) {
		char buf[CMD_CUSTOM_ID_MAX];
		if (cmd_confirm_format(&c, buf, sizeof(buf)) == 0) {
			struct cmd_confirm c2;
			FUZZ_CHECK(cmd_confirm_parse(buf, &c2) == 0);
			FUZZ_CHECK(strcmp(c.verb, c2.verb) == 0 && strcmp(c.env, c2.env) == 0 &&
				   strcmp(c.arg, c2.arg) == 0 && c.issued == c2.issued &&
				   c.nonce == c2.nonce);
		}
		(void)cmd_confirm_check(&c, "600000000000000006", 1795424400);
	}
	char env[64];
	time_t stop_at = 0;
	int hours = 0;
	(void)cmd_snooze_parse(id, env, sizeof(env), &stop_at, &hours);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	cJSON *d = cJSON_ParseWithLength((const char *)data, size);
	struct ix *ix = NULL;
	if (d && ix_parse(d, 0, &ix) == BOT_OK) {
		FUZZ_CHECK(ix->n_options <= IX_MAX_OPTIONS);
		for (size_t i = 0; i < ix->n_options; i++) {
			FUZZ_CHECK(ix->options[i].value != NULL);
			FUZZ_CHECK(strlen(ix->options[i].name) < IX_NAME_MAX);
			FUZZ_CHECK(ix_option(ix, ix->options[i].name) != NULL);
			parse_value(ix->options[i].value);
		}
		(void)ix_focused(ix);
		char *roles[] = { (char *)"400000000000000004" };
		(void)ix_has_role(ix, roles, 1);
		if (ix->custom_id)
			parse_custom_id(ix->custom_id);
		char esc[128];
		cmd_escape(ix->user_name, esc, sizeof(esc));
		check_escaped(esc, sizeof(esc));
	} else if (!d && size < 4096) {
		/* Not JSON: use the bytes as one option value / custom_id, so
		 * the parsers get raw text (invalid UTF-8, controls) too. */
		char *s = fuzz_strdup(data, size);
		parse_value(s);
		parse_custom_id(s);
		free(s);
	}
	ix_free(ix);
	cJSON_Delete(d);
	return 0;
}
