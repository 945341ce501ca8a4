/* Unit tests of config/config.c: the example config loads into the expected
 * struct, defaults, extra settings, error collection and ordering, URL
 * policy, the Discord token (environment, file, permissions, redaction) and
 * the summary. The per-mistake messages are covered end to end by
 * tests/check_config_e2e.sh on tests/config-bad/. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "../../bot/core/url.h"
#include "../../bot/kinds/ec2.h"
#include "../../bot/kinds/kinds.h"
#include "../../bot/kinds/stack.h"
#include "../../config/config.h"
#include "check.h"

#ifndef ENVBOT_SOURCE_DIR
#define ENVBOT_SOURCE_DIR "."
#endif

static const char minimal[] = "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
			      "aws: { region = \"us-east-1\"; };\n"
			      "environments = ( { name = \"qa\"; kind = \"ec2\";\n"
			      "  tag = { key = \"k\"; value = \"v\"; };\n"
			      "  schedule: { start = \"0 8 * * *\"; }; } );\n";

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_example(void)
{
	struct cfg *cfg = NULL;
	char err[4096] = "";
	enum bot_rc rc = cfg_load(ENVBOT_SOURCE_DIR "/config/example.cfg", envbot_kinds, &cfg, err,
				  sizeof(err));
	CHECK_INT(rc, BOT_OK);
	if (rc != BOT_OK) {
		fprintf(stderr, "%s", err);
		return;
	}
	CHECK_STR(cfg->application_id, "100000000000000001");
	CHECK_STR(cfg->guild_id, "200000000000000002");
	CHECK_STR(cfg->channel_id, "300000000000000003");
	CHECK_STR(cfg->api_base, "https://discord.com/api/v10");
	CHECK(cfg->token_file == NULL);
	CHECK_INT(cfg->n_operator_roles, 1);
	CHECK_STR(cfg->operator_roles[0], "400000000000000004");
	CHECK_INT(cfg->n_admin_roles, 1);
	CHECK_STR(cfg->admin_roles[0], "500000000000000005");
	CHECK_STR(cfg->region, "ap-northeast-2");
	CHECK(cfg->endpoint_url == NULL);
	CHECK_STR(cfg->state_file, "/var/lib/envbot/state.json");
	CHECK_INT(cfg->catch_up, 2 * 3600);
	CHECK_INT(cfg->max_extend, 4 * 3600);
	CHECK_INT(cfg->warn_before, 15 * 60);
	CHECK_STR(cfg->health_listen, "127.0.0.1:9464");
	CHECK_STR(cfg->timezone, "Asia/Seoul");
	CHECK_INT(cfg->n_holidays, 2);
	CHECK_INT(cfg->holidays[0], 20261225);
	CHECK_INT(cfg->holidays[1], 20270101);
	CHECK_INT(cfg->audit_max, 1000);
	CHECK_INT(cfg->n_envs, 3);
	const struct cfg_env *stg = cfg_find_env(cfg, "staging");
	CHECK(stg != NULL);
	if (stg) {
		/* the seed's layout: data first, then the apps */
		CHECK_INT(stg->n_members, 4);
		static const char *const kinds[] = { "rds-cluster", "stack", "asg", "ecs-service" };
		for (size_t i = 0; i < stg->n_members && i < 4; i++) {
			CHECK_STR(cfg_kind_name(stg->members[i].kind), kinds[i]);
			CHECK(stg->members[i].parent == stg);
		}
		CHECK_STR(stg->members[2].name, "staging[3]");
	}

	const struct cfg_env *dev = cfg_find_env(cfg, "dev");
	CHECK(dev == &cfg->envs[0]);
	if (dev) {
		CHECK(dev->kind == &kind_stack.cfg);
		const struct stack_spec *st = dev->spec;
		CHECK(st != NULL);
		CHECK_STR(st->stack_name, "ChatAppMasterStack");
		CHECK_STR(st->template_url,
			  "https://example-bucket.s3.amazonaws.com/master-stack.yaml");
		CHECK_STR(st->role_arn, "arn:aws:iam::123456789012:role/cfn-service-role");
		CHECK_INT(st->n_capabilities, 2);
		CHECK_STR(st->capabilities[1], "CAPABILITY_NAMED_IAM");
		CHECK_STR(st->image_repository, "chat-chat-http");
		CHECK_INT(st->n_image_parameters, 3);
		CHECK_STR(st->image_parameters[2], "NotificationServerImageTag");
		CHECK_INT(st->n_parameters, 1);
		CHECK_STR(st->parameters[0].key, "Environment");
		CHECK_STR(st->parameters[0].value, "dev");
		CHECK_STR(dev->schedule.start_expr, "0 9 * * MON-FRI");
		CHECK_STR(dev->schedule.stop_expr, "0 18 * * MON-FRI");
		CHECK_STR(dev->schedule.timezone, "Asia/Seoul"); /* inherited */
		/* The parsed cron: 09:00, Monday to Friday. */
		CHECK(dev->schedule.start.hours == (1u << 9));
		CHECK(dev->schedule.start.minutes == 1u);
		CHECK(dev->schedule.start.wdays == 0x3e);
		CHECK(!dev->protected_env);
		CHECK(!dev->enforce);
		CHECK(dev->hourly_cost > 0.2409 && dev->hourly_cost < 0.2411);
		CHECK(dev->line > 0);
	}
	const struct cfg_env *qa = cfg_find_env(cfg, "qa");
	CHECK(qa == &cfg->envs[1]);
	if (qa) {
		CHECK(qa->kind == &kind_ec2.cfg);
		const struct ec2_spec *e2 = qa->spec;
		CHECK(e2 != NULL);
		CHECK_STR(e2->tag_key, "AutoStopStart");
		CHECK_STR(e2->tag_value, "Yes");
		CHECK_STR(qa->schedule.timezone, "Asia/Seoul");
		CHECK(qa->schedule.start.minutes == (1ull << 30));
		CHECK(qa->hourly_cost > 0.0919 && qa->hourly_cost < 0.0921);
		CHECK(qa->line > dev->line);
	}
	CHECK(cfg_find_env(cfg, "prod") == NULL);
	CHECK(cfg_find_env(cfg, NULL) == NULL);
	CHECK(cfg_find_env(NULL, "dev") == NULL);
	CHECK_STR(cfg_kind_name(&kind_stack.cfg), "stack");
	CHECK_STR(cfg_kind_name(&kind_ec2.cfg), "ec2");

	/* The summary: one screen, everything a reviewer needs to see. */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	unsetenv("DISCORD_TOKEN");
	cfg_print_summary(cfg, mem);
	fclose(mem);
	CHECK(strstr(text, "environments (3)") != NULL);
	CHECK(strstr(text, "3. asg chat-ecs-asg (restore 1/2/4)") != NULL);
	CHECK(strstr(text, "dev") && strstr(text, "ChatAppMasterStack"));
	CHECK(strstr(text, "AutoStopStart=Yes") != NULL);
	CHECK(strstr(text, "at 09:00") != NULL);
	CHECK(strstr(text, "at 08:30") != NULL);
	CHECK(strstr(text, "Asia/Seoul") != NULL);
	CHECK(strstr(text, "2026-12-25, 2027-01-01") != NULL);
	CHECK(strstr(text, "400000000000000004") != NULL);
	CHECK(strstr(text, "500000000000000005") != NULL);
	CHECK(strstr(text, "127.0.0.1:9464") != NULL);
	CHECK(strstr(text, "/var/lib/envbot/state.json") != NULL);
	/* a screen: three environments, one of them a group of four members
	 * listed one per line */
	CHECK(count_lines(text) <= 40);
	free(text);
	cfg_destroy(cfg);
}

static void test_defaults_and_extras(void)
{
	struct cfg *cfg = NULL;
	char err[2048] = "";
	CHECK_INT(cfg_load_string(minimal, "min.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_OK);
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return;
	}
	CHECK_STR(cfg->path, "min.cfg");
	CHECK(cfg->guild_id == NULL);
	CHECK_STR(cfg->api_base, "https://discord.com/api/v10");
	CHECK_STR(cfg->state_file, "/var/lib/envbot/state.json");
	CHECK_STR(cfg->timezone, "UTC");
	CHECK_INT(cfg->catch_up, 7200);
	CHECK_INT(cfg->max_extend, 14400);
	CHECK_INT(cfg->warn_before, 900);
	CHECK_INT(cfg->audit_max, 1000);
	CHECK(cfg->health_listen == NULL);
	CHECK(cfg->log_level == NULL);
	CHECK_INT(cfg->n_operator_roles, 0);
	CHECK_INT(cfg->n_admin_roles, 0);
	CHECK_INT(cfg->n_holidays, 0);
	CHECK_STR(cfg->envs[0].schedule.timezone, "UTC");
	CHECK(cfg->envs[0].schedule.stop_expr == NULL);
	CHECK(cfg->envs[0].hourly_cost == 0.0);
	cfg_destroy(cfg);

	/* The settings beyond CONTRACT.md, integer costs, "0" durations, a
	 * list ( ) where an array [ ] is usual, duplicate holidays merged. */
	static const char extras[] =
		"discord: { application_id = \"1\"; channel_id = \"2\";\n"
		"  token_file = \"/run/secrets/discord\";\n"
		"  api_base = \"http://127.0.0.1:8080/api/v10\"; };\n"
		"aws: { region = \"eu-central-1\"; profile = \"envbot\";\n"
		"  endpoint_url = \"http://localhost:5000\"; };\n"
		"audit_max = 50; log_level = \"debug\"; warn_before = \"0\";\n"
		"catch_up = \"1h30m\"; timezone = \"Europe/Berlin\";\n"
		"holidays = ( \"2027-01-01\", \"2026-12-25\", \"2027-01-01\" );\n"
		"environments = ( { name = \"a\"; kind = \"ec2\";\n"
		"  tag = { key = \"k\"; value = \"v\"; }; hourly_cost = 2;\n"
		"  protected = true; enforce = true;\n"
		"  schedule: { stop = \"0 20 * * *\"; timezone = \"America/New_York\"; }; } );\n";
	CHECK_INT(cfg_load_string(extras, "extras.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_OK);
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return;
	}
	CHECK_STR(cfg->token_file, "/run/secrets/discord");
	CHECK_STR(cfg->api_base, "http://127.0.0.1:8080/api/v10");
	CHECK_STR(cfg->profile, "envbot");
	CHECK_STR(cfg->endpoint_url, "http://localhost:5000");
	CHECK_INT(cfg->audit_max, 50);
	CHECK_STR(cfg->log_level, "debug");
	CHECK_INT(cfg->warn_before, 0);
	CHECK_INT(cfg->catch_up, 5400);
	CHECK_INT(cfg->n_holidays, 2);
	CHECK_INT(cfg->holidays[0], 20261225);
	CHECK_INT(cfg->holidays[1], 20270101);
	CHECK(cfg->envs[0].hourly_cost == 2.0);
	CHECK(cfg->envs[0].protected_env);
	CHECK(cfg->envs[0].enforce);
	CHECK_STR(cfg->envs[0].schedule.timezone, "America/New_York");
	CHECK(cfg->envs[0].schedule.start_expr == NULL);
	cfg_destroy(cfg);
}

static void test_errors(void)
{
	struct cfg *cfg = (struct cfg *)1;
	char err[4096] = "";

	/* Several mistakes: every one reported, sorted by line, and no cfg. */
	static const char bad[] = "discord: { application_id = \"1\"; };\n" /* 1: channel_id */
				  "aws: { region = \"us-east-1\"; regoin = \"x\"; };\n" /* 2 */
				  "timezone = \"Nowhere/City\";\n"                      /* 3 */
				  "environments = (\n"                                  /* 4 */
				  "  { name = \"a\"; kind = \"ec2\"; },\n"              /* 5: tag */
				  "  { name = \"a\"; kind = \"stack\";\n"               /* 6: dup */
				  "    stack_name = \"S\"; template_url = \"https://x/t\";\n"
				  "    hourly_cost = -3; }\n" /* 8 */
				  ");\n";
	CHECK_INT(cfg_load_string(bad, "bad.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_ECONFIG);
	CHECK(cfg == NULL);
	CHECK_INT(count_lines(err), 6);
	const char *want[] = {
		"bad.cfg:1: discord.channel_id: required setting is missing\n",
		"bad.cfg:2: aws.regoin: unknown setting (did you mean \"region\"?)\n",
		"bad.cfg:3: timezone: unknown time zone \"Nowhere/City\"",
		"bad.cfg:5: environments.[0].tag: required setting is missing\n",
		("bad.cfg:6: environments.[1].name: duplicate environment name \"a\" (first "
		 "defined "
		 "at line 5)\n"),
		"bad.cfg:8: environments.[1].hourly_cost: -3 is negative",
	};
	const char *prev = err;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *at = strstr(err, want[i]);
		CHECK(at != NULL);
		if (!at) {
			fprintf(stderr, "missing: %s\nin:\n%s", want[i], err);
			continue;
		}
		CHECK(at >= prev); /* file order */
		prev = at;
	}

	/* A syntax error names file and line. */
	CHECK_INT(cfg_load_string("a = ;\n", "syn.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_ECONFIG);
	CHECK(strncmp(err, "syn.cfg:1: ", 11) == 0);

	/* A missing file. */
	CHECK_INT(cfg_load("/nonexistent/envbot.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_ECONFIG);
	CHECK(strstr(err, "/nonexistent/envbot.cfg") != NULL);
	CHECK(strstr(err, "No such file") != NULL);

	/* A tiny error buffer is truncated, never overrun. */
	char tiny[16];
	memset(tiny, 'x', sizeof(tiny));
	CHECK_INT(cfg_load_string(bad, "bad.cfg", envbot_kinds, &cfg, tiny, 8), BOT_ECONFIG);
	CHECK_INT(strlen(tiny), 7);
	CHECK(tiny[8] == 'x');

	/* Hundreds of typos: the list is capped and says there is more. */
	size_t cap = 300 * 16 + sizeof(minimal);
	char *many = malloc(cap), *big = malloc(65536);
	size_t used = (size_t)snprintf(many, cap, "%s", minimal);
	for (int i = 0; i < 300; i++)
		used += (size_t)snprintf(many + used, cap - used, "typo%d = 1;\n", i);
	CHECK_INT(cfg_load_string(many, "many.cfg", envbot_kinds, &cfg, big, 65536), BOT_ECONFIG);
	CHECK(strstr(big, "many.cfg:6: typo0: unknown setting") != NULL);
	CHECK(strstr(big, "and more errors") != NULL);
	CHECK(count_lines(big) <= 101);
	free(many);
	free(big);
}

static void test_include(void)
{
	char dir[] = "/tmp/envbot-cfg-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char main_path[64], inc_path[64];
	snprintf(main_path, sizeof(main_path), "%s/main.cfg", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/envs.cfg", dir);
	FILE *f = fopen(inc_path, "w");
	fputs("environments = ( { name = \"qa\"; kind = \"ec2\";\n"
	      "  tag = { key = \"k\"; valu = \"v\"; }; } );\n",
	      f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs("discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
	      "aws: { region = \"us-east-1\"; };\n"
	      "@include \"envs.cfg\"\n",
	      f);
	fclose(f);
	struct cfg *cfg = NULL;
	char err[1024] = "";
	CHECK_INT(cfg_load(main_path, envbot_kinds, &cfg, err, sizeof(err)), BOT_ECONFIG);
	/* The error is located in the included file. */
	char want[128];
	snprintf(want, sizeof(want), "%s:2: environments.[0].tag.valu: unknown setting", inc_path);
	CHECK(strstr(err, want) != NULL);
	if (!strstr(err, want))
		fprintf(stderr, "%s", err);

	/* A syntax error in the included file is located there too. */
	f = fopen(inc_path, "w");
	fputs("environments = (\n  { name = ; } );\n", f);
	fclose(f);
	CHECK_INT(cfg_load(main_path, envbot_kinds, &cfg, err, sizeof(err)), BOT_ECONFIG);
	snprintf(want, sizeof(want), "%s:2: ", inc_path);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "%s", err);
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
}

static void test_urls(void)
{
	CHECK(url_allowed("https://discord.com/api/v10", URL_HTTP | URL_WS));
	CHECK(url_allowed("wss://gateway.discord.gg/?v=10", URL_HTTP | URL_WS));
	CHECK(url_allowed("http://127.0.0.1:5000", URL_HTTP | URL_WS));
	CHECK(url_allowed("http://127.8.9.10/", URL_HTTP | URL_WS));
	CHECK(url_allowed("http://localhost:8080/api", URL_HTTP | URL_WS));
	CHECK(url_allowed("HTTP://LOCALHOST:8080/api", URL_HTTP | URL_WS));
	CHECK(url_allowed("http://[::1]:9000/", URL_HTTP | URL_WS));
	CHECK(url_allowed("ws://127.0.0.1:4000/gateway", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://discord.com/api", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://10.0.0.5:5000", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://128.0.0.1/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://localhost.evil.example/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://127.0.0.1.evil.example/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://127.0.0.1@evil.example/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://evil.example/#@127.0.0.1", URL_HTTP | URL_WS));
	CHECK(!url_allowed("ws://gateway.example/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://[::2]/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("ftp://127.0.0.1/", URL_HTTP | URL_WS));
	CHECK(!url_allowed("file:///etc/passwd", URL_HTTP | URL_WS));
	CHECK(!url_allowed("discord.com/api", URL_HTTP | URL_WS));
	CHECK(!url_allowed("http://", URL_HTTP | URL_WS));
	CHECK(!url_allowed("", URL_HTTP | URL_WS));
	CHECK(!url_allowed(NULL, URL_HTTP | URL_WS));

	CHECK(url_is_loopback("https://127.0.0.1:8443/"));
	CHECK(url_is_loopback("http://localhost/"));
	CHECK(url_is_loopback("ws://[::1]:1/"));
	CHECK(!url_is_loopback("https://discord.com/"));
	CHECK(!url_is_loopback("http://127.0.0.1@evil.example/"));
	CHECK(!url_is_loopback(NULL));

	/* The config applies that policy to each endpoint: loopback named only
	 * in the user-info, or a look-alike host, is refused with the message. */
	static const struct {
		const char *setting, *url;
	} tricks[] = {
		{ "api_base", "http://127.0.0.1@evil.example/" },
		{ "api_base", "http://localhost.evil.example/" },
		{ "api_base", "ws://127.0.0.1:1/" },
	};
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		char text[1024], err[2048] = "", want[512];
		struct cfg *cfg = NULL;
		snprintf(text, sizeof(text),
			 "discord: { application_id = \"1\"; channel_id = \"2\";\n"
			 "  %s = \"%s\"; };\n%s",
			 tricks[i].setting, tricks[i].url,
			 minimal + strlen("discord: { application_id = \"1\"; channel_id = \"2\"; "
					  "};\n"));
		CHECK_INT(cfg_load_string(text, "url.cfg", envbot_kinds, &cfg, err, sizeof(err)),
			  BOT_ECONFIG);
		CHECK(cfg == NULL);
		if (strncmp(tricks[i].url, "ws:", 3) == 0)
			snprintf(want, sizeof(want),
				 "url.cfg:2: discord.%s: \"%s\" must be an https:// URL",
				 tricks[i].setting, tricks[i].url);
		else
			snprintf(want, sizeof(want),
				 "url.cfg:2: discord.%s: \"%s\": plain http:// is allowed only for "
				 "loopback hosts (127.0.0.0/8, ::1, localhost); use https://",
				 tricks[i].setting, tricks[i].url);
		CHECK(strstr(err, want) != NULL);
		if (!strstr(err, want))
			fprintf(stderr, "want: %s\nin:\n%s", want, err);
		cfg_destroy(cfg);
	}
	/* and a loopback one is accepted */
	struct cfg *cfg = NULL;
	char err[2048] = "", text[1024];
	snprintf(text, sizeof(text),
		 "discord: { application_id = \"1\"; channel_id = \"2\";\n"
		 "  api_base = \"http://127.0.0.1:5000/api\"; };\n%s",
		 minimal + strlen("discord: { application_id = \"1\"; channel_id = \"2\"; };\n"));
	CHECK_INT(cfg_load_string(text, "url.cfg", envbot_kinds, &cfg, err, sizeof(err)), BOT_OK);
	if (cfg)
		CHECK_STR(cfg->api_base, "http://127.0.0.1:5000/api");
	cfg_destroy(cfg);
}

/* Runs cfg_discord_token with stderr captured into log (for the warning). */
static enum bot_rc token_with_stderr(const struct cfg *cfg, char **tok, char *err, size_t errlen,
				     char *log, size_t loglen)
{
	char path[] = "/tmp/envbot-stderr-XXXXXX";
	int fd = mkstemp(path);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	enum bot_rc rc = cfg_discord_token(cfg, tok, err, errlen);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, log, loglen - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void test_token(void)
{
	static const char secret[] = "MTAwMDAwMDAwMDAwMDAwMDAx.GhIjKl.secret-part_1234567890";
	struct cfg *cfg = NULL;
	char err[512], log[4096];
	CHECK_INT(cfg_load_string(minimal, "tok.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_OK);
	if (!cfg)
		return;
	char *tok = NULL;

	/* Neither source: a clear error, nothing returned. */
	unsetenv("DISCORD_TOKEN");
	CHECK_INT(cfg_discord_token(cfg, &tok, err, sizeof(err)), BOT_ECONFIG);
	CHECK(tok == NULL);
	CHECK(strstr(err, "DISCORD_TOKEN") != NULL);
	CHECK(strstr(err, "token_file") != NULL);

	/* The environment wins; trailing newline trimmed; redacted in logs. */
	char envval[128];
	snprintf(envval, sizeof(envval), "%s\n", secret);
	setenv("DISCORD_TOKEN", envval, 1);
	CHECK_INT(cfg_discord_token(cfg, &tok, err, sizeof(err)), BOT_OK);
	CHECK_STR(tok, secret);
	char line[256];
	snprintf(line, sizeof(line), "Authorization: Bot %s", secret);
	log_redact(line, sizeof(line));
	CHECK(strstr(line, secret) == NULL);
	CHECK(strstr(line, "[REDACTED]") != NULL);

	/* The summary says where the token comes from, never what it is. */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	cfg_print_summary(cfg, mem);
	fclose(mem);
	CHECK(strstr(text, "$DISCORD_TOKEN") != NULL);
	CHECK(strstr(text, secret) == NULL);
	free(text);
	free(tok);
	tok = NULL;
	unsetenv("DISCORD_TOKEN");
	log_clear_secrets();

	/* From token_file, 0600: no warning. */
	char dir[] = "/tmp/envbot-tok-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/token", dir);
	write_file(path, "file-token-0123456789\r\n", 0600);
	cfg->token_file = strdup(path);
	CHECK_INT(token_with_stderr(cfg, &tok, err, sizeof(err), log, sizeof(log)), BOT_OK);
	CHECK_STR(tok, "file-token-0123456789");
	CHECK(strstr(log, "readable by group or others") == NULL);
	free(tok);
	tok = NULL;

	/* 0644: still read, but a warning that names the file, not the token. */
	write_file(path, "file-token-0123456789\n", 0644);
	CHECK_INT(token_with_stderr(cfg, &tok, err, sizeof(err), log, sizeof(log)), BOT_OK);
	CHECK_STR(tok, "file-token-0123456789");
	CHECK(strstr(log, "readable by group or others") != NULL);
	CHECK(strstr(log, path) != NULL);
	CHECK(strstr(log, "file-token-0123456789") == NULL);
	free(tok);
	tok = NULL;

	/* Empty file, a file with two words, a missing file: errors. */
	write_file(path, "\n", 0600);
	CHECK_INT(cfg_discord_token(cfg, &tok, err, sizeof(err)), BOT_ECONFIG);
	CHECK(tok == NULL);
	write_file(path, "two words\n", 0600);
	CHECK_INT(cfg_discord_token(cfg, &tok, err, sizeof(err)), BOT_ECONFIG);
	CHECK(strstr(err, "two") == NULL); /* never echo what might be a token */
	unlink(path);
	CHECK_INT(cfg_discord_token(cfg, &tok, err, sizeof(err)), BOT_ECONFIG);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(tok == NULL);
	rmdir(dir);
	log_clear_secrets();
	cfg_destroy(cfg);
}

/* aws = { } and regions: a member falls back to its group's role and
 * region; regions override the group's region; the exemption tag key. */
static void test_targets(void)
{
	static const char text[] =
		"discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
		"aws: { region = \"ap-northeast-2\"; exclude_tag = \"team:keep\"; };\n"
		"environments = (\n"
		" { name = \"g\"; kind = \"group\";\n"
		"   aws = { region = \"us-east-1\";\n"
		"           assume_role = \"arn:aws:iam::222222222222:role/envbot-spoke\";\n"
		"           external_id = \"ext-1\"; };\n"
		"   members = ( { kind = \"ec2\"; tag = { key = \"a\"; value = \"b\"; }; },\n"
		"     { kind = \"ec2\"; tag = { key = \"c\"; value = \"d\"; };\n"
		"       regions = [ \"eu-west-1\", \"sa-east-1\" ]; },\n"
		"     { kind = \"asg\"; name = \"x\"; restore = { min = 0; desired = 1; max = 1; "
		"};\n"
		"       aws = { region = \"eu-central-1\"; }; } ); },\n"
		" { name = \"all\"; kind = \"ec2\"; tag = { key = \"a\"; value = \"b\"; };\n"
		"   regions = \"all\"; } );\n";
	struct cfg *cfg = NULL;
	char err[2048] = "";
	CHECK_INT(cfg_load_string(text, "t.cfg", envbot_kinds, &cfg, err, sizeof(err)), BOT_OK);
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return;
	}
	const struct cfg_env *g = &cfg->envs[0];
	struct cfg_aws_target t = cfg_env_target(&g->members[0]);
	CHECK_STR(t.region, "us-east-1");
	CHECK_STR(t.assume_role, "arn:aws:iam::222222222222:role/envbot-spoke");
	CHECK_STR(t.external_id, "ext-1");
	CHECK(!cfg_env_multi_region(&g->members[0]));
	t = cfg_env_target(&g->members[1]);
	CHECK(t.region == NULL); /* its regions instead of the group's region */
	CHECK_STR(t.assume_role, "arn:aws:iam::222222222222:role/envbot-spoke");
	CHECK(cfg_env_multi_region(&g->members[1]));
	CHECK_INT(g->members[1].n_regions, 2);
	t = cfg_env_target(&g->members[2]);
	CHECK_STR(t.region, "eu-central-1");
	CHECK_STR(g->members[2].exclude_tag, "team:keep");
	CHECK(cfg->envs[1].all_regions && cfg_env_multi_region(&cfg->envs[1]));
	t = cfg_env_target(&cfg->envs[1]);
	CHECK(t.region == NULL && t.assume_role == NULL);
	CHECK_STR(cfg->envs[1].exclude_tag, "team:keep");
	cfg_destroy(cfg);

	/* the default key */
	CHECK_INT(cfg_load_string(minimal, "min.cfg", envbot_kinds, &cfg, err, sizeof(err)),
		  BOT_OK);
	if (cfg)
		CHECK_STR(cfg->envs[0].exclude_tag, "envbot:exclude");
	cfg_destroy(cfg);
}

int main(void)
{
	test_targets();
	test_example();
	test_defaults_and_extras();
	test_errors();
	test_include();
	test_urls();
	test_token();
	return check_done();
}
