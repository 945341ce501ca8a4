/* bot/i18n: catalogues read with libgettextpo (a good one, a malformed one
 * refused with FILE:LINE, a translation with other arguments than its msgid
 * refused, fuzzy and empty entries falling back to English), the lookup and
 * the Discord locale mapping; then the real po/ko.po: the command
 * definitions carry a Korean description for every command, subcommand and
 * option within Discord's limits, a changed translation is a change to
 * register, and Korean dates and reasons read as Korean. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bot/i18n/i18n.h"
#include "../../bot/time/tz.h"
#include "../../commands/commands.h"
#include "../../commands/definitions.h"
#include "check.h"

#ifndef ENVBOT_SOURCE_DIR
#define ENVBOT_SOURCE_DIR "."
#endif

static char dir[256];

#define HEADER(lang)                                       \
	"msgid \"\"\n"                                     \
	"msgstr \"\"\n"                                    \
	"\"Content-Type: text/plain; charset=UTF-8\\n\"\n" \
	"\"Language: " lang "\\n\"\n\n"

/* Writes text as dir/name, removing every other .po first. */
static void write_po(const char *name, const char *text)
{
	char path[512];
	const char *const all[] = { "ko.po", "xx.po", NULL };
	for (size_t i = 0; all[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, all[i]);
		unlink(path);
	}
	if (!name)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void test_good(void)
{
	char err[512];
	write_po("ko.po", HEADER("ko") "msgid \"start\"\nmsgstr \"시작\"\n\n"
				       "#, c-format\nmsgid \"%s is up\"\nmsgstr \"%s 켜짐\"\n\n"
				       "#, c-format\nmsgid \"%s of %s\"\nmsgstr \"%2$s의 %1$s\"\n\n"
				       "#, fuzzy\nmsgid \"stop\"\nmsgstr \"중지?\"\n\n"
				       "msgid \"down\"\nmsgstr \"\"\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_OK);
	CHECK_INT(i18n_n_locales(), 1);
	CHECK_STR(i18n_locale_at(0), "ko");
	CHECK_INT(i18n_count("ko"), 3); /* fuzzy and empty are left out */
	CHECK(i18n_translates("ko"));
	CHECK(!i18n_translates("en"));
	CHECK_STR(tr("ko", "start"), "시작");
	CHECK_STR(tr("ko", "%s is up"), "%s 켜짐");
	char buf[64];
	snprintf(buf, sizeof(buf), tr("ko", "%s of %s"), "a", "b");
	CHECK_STR(buf, "b의 a"); /* positional arguments */
	/* English, fuzzy, empty, unknown: the msgid itself */
	CHECK_STR(tr("en", "start"), "start");
	CHECK_STR(tr(NULL, "start"), "start");
	CHECK_STR(tr("ko", "stop"), "stop");
	CHECK_STR(tr("ko", "down"), "down");
	CHECK_STR(tr("ko", "never translated"), "never translated");
	CHECK_STR(tr("fr", "start"), "start");
	/* Discord locales to catalogues */
	CHECK_STR(i18n_locale_of("ko"), "ko");
	CHECK_STR(i18n_locale_of("ko-KR"), "ko");
	CHECK_STR(i18n_locale_of("en-GB"), "en");
	CHECK_STR(i18n_locale_of("en-US"), "en");
	CHECK_STR(i18n_locale_of("fr"), "en");
	CHECK_STR(i18n_locale_of(""), "en");
	CHECK_STR(i18n_locale_of(NULL), "en");
}

static void test_refused(void)
{
	char err[512];
	/* A syntax error: refused with the file and the line, and what was
	 * loaded before stays. */
	write_po("ko.po", HEADER("ko") "msgid \"start\"\nmsgstr \"시작\"\n\n"
				       "msgid \"stop\"\nmsgstr \"중지\" oops\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_EPARSE);
	char want[300];
	snprintf(want, sizeof(want), "%s/ko.po:", dir);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	/* the line of the mistake: 10 (after the 5 header lines) */
	CHECK(strstr(err, "ko.po:10:") != NULL);
	fprintf(stderr, "(syntax: %s)\n", err);
	CHECK_STR(tr("ko", "start"), "시작"); /* the earlier load */

	/* A translation reading other arguments than its msgid: %d for %s
	 * would read a pointer as an int. */
	write_po("ko.po", HEADER("ko") "#, c-format\nmsgid \"%s is up\"\nmsgstr \"%d 켜짐\"\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "ko.po:") != NULL);
	fprintf(stderr, "(format: %s)\n", err);
	/* ... also when the file forgot to flag it c-format */
	write_po("ko.po", HEADER("ko") "msgid \"%s is up\"\nmsgstr \"%s %s 켜짐\"\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_EPARSE);
	/* a missing argument is refused too */
	write_po("ko.po", HEADER("ko") "msgid \"%s is %s\"\nmsgstr \"%s 켜짐\"\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_EPARSE);

	/* the header names another language than the file */
	write_po("ko.po", HEADER("ja") "msgid \"start\"\nmsgstr \"開始\"\n");
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "Language") != NULL);

	/* no catalogue: English, said */
	write_po(NULL, NULL);
	CHECK_INT(i18n_load(dir, err, sizeof(err)), BOT_ENOTFOUND);
	CHECK(strstr(err, dir) != NULL);
	CHECK_INT(i18n_load("/nonexistent/envbot-po", err, sizeof(err)), BOT_ENOTFOUND);
	i18n_unload();
	CHECK_STR(tr("ko", "start"), "start");
	CHECK_STR(i18n_locale_of("ko"), "en");
}

/* The description of every command, subcommand and option, and its Korean. */
static void walk(const cJSON *arr, int *n, int *localized)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		const char *d = cJSON_GetObjectItem(o, "description")->valuestring;
		const cJSON *l = cJSON_GetObjectItem(o, "description_localizations");
		const cJSON *ko = l ? cJSON_GetObjectItem(l, "ko") : NULL;
		(*n)++;
		if (cJSON_IsString(ko) && strcmp(ko->valuestring, d) != 0) {
			size_t chars = 0;
			for (const char *p = ko->valuestring; *p; p++)
				chars += ((unsigned char)*p & 0xC0) != 0x80;
			CHECK(chars >= 1 && chars <= 100);
			(*localized)++;
		} else {
			fprintf(stderr, "no Korean for \"%s\"\n", d);
		}
		CHECK(!l || cJSON_GetArraySize(l) == 1); /* ko only */
		walk(cJSON_GetObjectItem(o, "options"), n, localized);
	}
}

static void test_real_catalogue(void)
{
	char err[512];
	CHECK_INT(i18n_load(ENVBOT_SOURCE_DIR "/po", err, sizeof(err)), BOT_OK);
	CHECK(i18n_translates("ko"));
	CHECK(i18n_count("ko") > 300);

	cJSON *want = cmd_definitions();
	int n = 0, localized = 0;
	walk(want, &n, &localized);
	fprintf(stderr, "(%d descriptions, %d in Korean)\n", n, localized);
	CHECK(n > 30);
	CHECK_INT(localized, n);
	/* names stay English: people type /env */
	const cJSON *c;
	cJSON_ArrayForEach(c, want)
	{
		CHECK(cJSON_GetObjectItem(c, "name_localizations") == NULL);
		if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring, "env") == 0)
			CHECK_STR(cJSON_GetObjectItem(
					  cJSON_GetObjectItem(c, "description_localizations"), "ko")
					  ->valuestring,
				  "환경: 목록, 상태, 시작, 중지, 연장, 건너뛰기");
	}
	/* a changed translation is a change: register-commands PUTs again */
	cJSON *have = cJSON_Duplicate(want, true);
	CHECK(cmd_definitions_equal(want, have));
	cJSON *l = cJSON_GetObjectItem(cJSON_GetArrayItem(have, 0), "description_localizations");
	cJSON_ReplaceItemInObject(l, "ko", cJSON_CreateString("다른 번역"));
	CHECK(!cmd_definitions_equal(want, have));
	/* ... and so is a translation Discord does not have yet */
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(have, 0), "description_localizations");
	CHECK(!cmd_definitions_equal(want, have));
	/* Discord's null is none, like absent */
	cJSON_Delete(have);
	i18n_unload();
	cJSON *en = cmd_definitions();
	have = cJSON_Duplicate(en, true);
	cJSON_AddNullToObject(cJSON_GetArrayItem(have, 0), "description_localizations");
	CHECK(cmd_definitions_equal(en, have));
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(en, 0), "description_localizations") ==
	      NULL); /* English only: no localizations at all */
	cJSON_Delete(have);
	cJSON_Delete(en);
	cJSON_Delete(want);
	CHECK_INT(i18n_load(ENVBOT_SOURCE_DIR "/po", err, sizeof(err)), BOT_OK);

	/* Korean dates: "2026-11-23 (월) 18:00 KST"; English unchanged */
	struct tz *tz = tz_open("Asia/Seoul");
	char buf[128];
	cmd_fmt_local_in("ko", tz, 1795424400, buf, sizeof(buf)); /* Mon 18:00 KST */
	CHECK_STR(buf, "2026-11-23 (월) 18:00 KST");
	cmd_fmt_local_in("en", tz, 1795424400, buf, sizeof(buf));
	CHECK_STR(buf, "Mon 2026-11-23 18:00 KST");
	cmd_fmt_local(tz, 1795424400, buf, sizeof(buf));
	CHECK_STR(buf, "Mon 2026-11-23 18:00 KST");
	CHECK_STR(cmd_weekday("ko", 0), "일");

	/* the pure parts' reasons in the language asked */
	struct cmd_lease_arg la;
	CHECK_INT(cmd_lease_parse("ko", "banana", &la, buf, sizeof(buf)), -1);
	CHECK(strstr(buf, "올바른 유지 기간이 아닙니다") != NULL);
	CHECK_INT(cmd_lease_parse(NULL, "banana", &la, buf, sizeof(buf)), -1);
	CHECK(strstr(buf, "is not a lease") != NULL);
	ymd_t d;
	CHECK_INT(cmd_parse_day("ko", "2020-01-01", 20261123, &d, buf, sizeof(buf)), -1);
	CHECK_STR(buf, "2020-01-01은(는) 지난 날짜입니다");
	tz_destroy(tz);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/envbot-test-i18n-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good();
	test_refused();
	test_real_catalogue();
	write_po(NULL, NULL);
	rmdir(dir);
	i18n_unload();
	return check_done();
}
