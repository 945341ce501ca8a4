/* The slash commands of CONTRACT.md as a table of descriptors, turned into
 * Discord's application-command JSON, plus the comparison with what Discord
 * already has so that registration only happens when something changed.
 * Names stay English (people type /env); descriptions carry the
 * translations of the message catalogues (po/), so that a translator edits
 * one file for the commands and their replies. */
#include "definitions.h"

#include <stddef.h>
#include <string.h>

#include "../bot/i18n/i18n.h"

enum opt_type {
	OPT_SUBCOMMAND = 1,
	OPT_STRING = 3,
	OPT_INTEGER = 4,
};

struct opt_desc {
	const char *name;
	const char *description;
	enum opt_type type;
	bool required;
	bool autocomplete;
	int min_value, max_value;       /* integers; both 0 = unbounded */
	const struct opt_desc *options; /* subcommands: their options */
};

struct cmd_desc {
	const char *name;
	const char *description;
	const struct opt_desc *options;
};

#define ENV_NAME(req)                                                                 \
	{                                                                             \
		.name = "name", .description = N_("environment"), .type = OPT_STRING, \
		.required = (req), .autocomplete = true                               \
	}
#define END                  \
	{                    \
		.name = NULL \
	}

static const struct opt_desc env_name_only[] = { ENV_NAME(true), END };
static const struct opt_desc env_extend[] = {
	ENV_NAME(true),
	{ .name = "duration",
	  .description = N_("how much longer: 30m, 2h, until 22:00"),
	  .type = OPT_STRING,
	  .required = true },
	END,
};
static const struct opt_desc env_start[] = {
	ENV_NAME(true),
	{ .name = "for",
	  .description = N_("how long it stays up: 2h, 90m, until 22:00, until tomorrow 09:00"),
	  .type = OPT_STRING,
	  .required = false },
	END,
};
static const struct opt_desc env_skip[] = {
	ENV_NAME(true),
	{ .name = "date",
	  .description = N_("the day to skip: tomorrow, 2026-12-24"),
	  .type = OPT_STRING,
	  .required = true },
	END,
};
static const struct opt_desc env_subs[] = {
	{ .name = "list",
	  .description = N_("every environment, its state and next action"),
	  .type = OPT_SUBCOMMAND },
	{ .name = "status",
	  .description = N_("live state, image tag, uptime today, next action"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_name_only },
	{ .name = "start",
	  .description = N_("start an environment now"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_start },
	{ .name = "stop",
	  .description = N_("stop an environment now"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_name_only },
	{ .name = "extend",
	  .description = N_("postpone today's scheduled stop"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_extend },
	{ .name = "skip",
	  .description = N_("skip the scheduled start on a date"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_skip },
	END,
};

static const struct opt_desc schedule_pause[] = {
	ENV_NAME(true),
	{ .name = "until",
	  .description = N_("no automatic actions until this date: 2026-12-31"),
	  .type = OPT_STRING,
	  .required = true },
	END,
};
static const struct opt_desc schedule_subs[] = {
	{ .name = "show",
	  .description = N_("the next 7 days of actions"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_name_only },
	{ .name = "pause",
	  .description = N_("no automatic actions for an environment until a date"),
	  .type = OPT_SUBCOMMAND,
	  .options = schedule_pause },
	{ .name = "resume",
	  .description = N_("resume automatic actions"),
	  .type = OPT_SUBCOMMAND,
	  .options = env_name_only },
	END,
};

static const struct opt_desc holiday_add[] = {
	{ .name = "date", .description = N_("2026-12-24"), .type = OPT_STRING, .required = true },
	{ .name = "label", .description = N_("what the day is"), .type = OPT_STRING },
	END,
};
static const struct opt_desc holiday_remove[] = {
	{ .name = "date", .description = N_("2026-12-24"), .type = OPT_STRING, .required = true },
	END,
};
static const struct opt_desc holiday_subs[] = {
	{ .name = "add",
	  .description = N_("add a holiday: scheduled starts are skipped"),
	  .type = OPT_SUBCOMMAND,
	  .options = holiday_add },
	{ .name = "remove",
	  .description = N_("remove a holiday"),
	  .type = OPT_SUBCOMMAND,
	  .options = holiday_remove },
	{ .name = "list", .description = N_("every holiday"), .type = OPT_SUBCOMMAND },
	END,
};

static const struct opt_desc cost_opts[] = { ENV_NAME(false), END };
static const struct opt_desc report_opts[] = {
	{ .name = "week",
	  .description = N_("which week: this (so far) or last (default)"),
	  .type = OPT_STRING },
	END,
};
static const struct opt_desc audit_opts[] = {
	{ .name = "count",
	  .description = N_("how many entries (default 10)"),
	  .type = OPT_INTEGER,
	  .min_value = 1,
	  .max_value = 50 },
	END,
};

static const struct cmd_desc commands[] = {
	{ .name = "env",
	  .description = N_("environments: list, status, start, stop, extend, skip"),
	  .options = env_subs },
	{ .name = "schedule",
	  .description = N_("schedules: show, pause, resume"),
	  .options = schedule_subs },
	{ .name = "holiday",
	  .description = N_("holidays shared by all schedules"),
	  .options = holiday_subs },
	{ .name = "tags",
	  .description = N_("newest image tags in the environment's repository"),
	  .options = env_name_only },
	{ .name = "cost",
	  .description = N_("hours up and money saved this month"),
	  .options = cost_opts },
	{ .name = "report",
	  .description =
		  N_("the weekly report: hours up per day, scheduled vs actual, money saved"),
	  .options = report_opts },
	{ .name = "freeze", .description = N_("emergency: no automatic action anywhere") },
	{ .name = "unfreeze", .description = N_("end the freeze") },
	{ .name = "audit",
	  .description = N_("who did what, when, and the outcome"),
	  .options = audit_opts },
	{ .name = NULL },
};

/* Discord's limit on a description and on each of its translations. */
#define DESCRIPTION_MAX 100

/* Discord's locales (a localization under any other key is refused with
 * 400): a catalogue is used for the descriptions only when its code is
 * one of them ("ko"; "pt-BR", not "pt"). */
static const char *const discord_locales[] = {
	"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr",    "hr",    "it", "lt",
	"hu", "nl", "no", "pl",    "pt-BR", "ro",    "fi",     "sv-SE", "vi",    "tr", "cs",
	"el", "bg", "ru", "uk",    "hi",    "th",    "zh-CN",  "ja",    "zh-TW", "ko", NULL,
};

static bool discord_locale(const char *code)
{
	for (size_t i = 0; discord_locales[i]; i++)
		if (strcmp(discord_locales[i], code) == 0)
			return true;
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* "description" and its "description_localizations" ({"ko": "..."}): one
 * key per catalogue that translates it (a catalogue is named by its Discord
 * locale); none at all when no catalogue does, and Discord shows the
 * English one to everybody else. A translation over Discord's 100
 * characters is left out rather than cut, and the registration goes
 * through. Returns false on ENOMEM. */
static bool add_description(cJSON *j, const char *en)
{
	cJSON *loc = NULL;
	if (!cJSON_AddStringToObject(j, "description", en))
		return false;
	for (size_t i = 0; i < i18n_n_locales(); i++) {
		const char *code = i18n_locale_at(i), *t = tr(code, en);
		if (!discord_locale(code) || strcmp(t, en) == 0 || utf8_chars(t) == 0 ||
		    utf8_chars(t) > DESCRIPTION_MAX)
			continue;
		if (!loc && !(loc = cJSON_AddObjectToObject(j, "description_localizations")))
			return false;
		if (!cJSON_AddStringToObject(loc, code, t))
			return false;
	}
	return true;
}

static cJSON *options_json(const struct opt_desc *opts)
{
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return NULL;
	for (const struct opt_desc *o = opts; o && o->name; o++) {
		cJSON *j = cJSON_CreateObject();
		if (!j)
			goto fail;
		cJSON_AddItemToArray(arr, j);
		if (!cJSON_AddNumberToObject(j, "type", o->type) ||
		    !cJSON_AddStringToObject(j, "name", o->name) ||
		    !add_description(j, o->description))
			goto fail;
		if (o->required && !cJSON_AddTrueToObject(j, "required"))
			goto fail;
		if (o->autocomplete && !cJSON_AddTrueToObject(j, "autocomplete"))
			goto fail;
		if (o->min_value != 0 || o->max_value != 0) {
			if (!cJSON_AddNumberToObject(j, "min_value", o->min_value) ||
			    !cJSON_AddNumberToObject(j, "max_value", o->max_value))
				goto fail;
		}
		if (o->type == OPT_SUBCOMMAND && o->options) {
			cJSON *sub = options_json(o->options);
			if (!sub)
				goto fail;
			cJSON_AddItemToObject(j, "options", sub);
		}
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

cJSON *cmd_definitions(void)
{
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return NULL;
	for (const struct cmd_desc *c = commands; c->name; c++) {
		cJSON *j = cJSON_CreateObject();
		if (!j)
			goto fail;
		cJSON_AddItemToArray(arr, j);
		if (!cJSON_AddNumberToObject(j, "type", 1) || /* CHAT_INPUT */
		    !cJSON_AddStringToObject(j, "name", c->name) ||
		    !add_description(j, c->description) ||
		    !cJSON_AddFalseToObject(j, "dm_permission"))
			goto fail;
		cJSON *opts = options_json(c->options);
		if (!opts)
			goto fail;
		cJSON_AddItemToObject(j, "options", opts);
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

/* ---- comparison ---- */

static bool str_eq(const cJSON *a, const cJSON *b)
{
	const char *x = cJSON_IsString(a) ? a->valuestring : "";
	const char *y = cJSON_IsString(b) ? b->valuestring : "";
	return strcmp(x, y) == 0;
}

static double num_or(const cJSON *a, double dflt)
{
	return cJSON_IsNumber(a) ? a->valuedouble : dflt;
}

/* Booleans Discord omits when false. */
static bool flag(const cJSON *a)
{
	return cJSON_IsTrue(a);
}

static const cJSON *item(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int len_or_zero(const cJSON *arr)
{
	return cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
}

/* Two localization maps ({"ko": "..."}); null, absent and {} are all
 * "none", as Discord reports a command registered without any. */
static bool localizations_equal(const cJSON *a, const cJSON *b)
{
	int na = cJSON_IsObject(a) ? cJSON_GetArraySize(a) : 0;
	int nb = cJSON_IsObject(b) ? cJSON_GetArraySize(b) : 0;
	const cJSON *x;
	if (na != nb)
		return false;
	for (x = na ? a->child : NULL; x; x = x->next)
		if (!x->string || !str_eq(x, item(b, x->string)))
			return false;
	return true;
}

static bool choices_equal(const cJSON *a, const cJSON *b)
{
	if (len_or_zero(a) != len_or_zero(b))
		return false;
	for (int i = 0; i < len_or_zero(a); i++) {
		const cJSON *x = cJSON_GetArrayItem(a, i), *y = cJSON_GetArrayItem(b, i);
		const cJSON *xv = item(x, "value"), *yv = item(y, "value");
		if (!str_eq(item(x, "name"), item(y, "name")))
			return false;
		if (cJSON_IsString(xv) != cJSON_IsString(yv))
			return false;
		if (cJSON_IsString(xv) ? !str_eq(xv, yv) : num_or(xv, 0) != num_or(yv, 0))
			return false;
	}
	return true;
}

/* Options are compared in order: Discord keeps the order it was given. */
static bool options_equal(const cJSON *a, const cJSON *b)
{
	if (len_or_zero(a) != len_or_zero(b))
		return false;
	for (int i = 0; i < len_or_zero(a); i++) {
		const cJSON *x = cJSON_GetArrayItem(a, i), *y = cJSON_GetArrayItem(b, i);
		if (num_or(item(x, "type"), 0) != num_or(item(y, "type"), 0) ||
		    !str_eq(item(x, "name"), item(y, "name")) ||
		    !str_eq(item(x, "description"), item(y, "description")) ||
		    !localizations_equal(item(x, "description_localizations"),
					 item(y, "description_localizations")) ||
		    flag(item(x, "required")) != flag(item(y, "required")) ||
		    flag(item(x, "autocomplete")) != flag(item(y, "autocomplete")) ||
		    num_or(item(x, "min_value"), -1) != num_or(item(y, "min_value"), -1) ||
		    num_or(item(x, "max_value"), -1) != num_or(item(y, "max_value"), -1) ||
		    !choices_equal(item(x, "choices"), item(y, "choices")) ||
		    !options_equal(item(x, "options"), item(y, "options")))
			return false;
	}
	return true;
}

bool cmd_definitions_equal(const cJSON *want, const cJSON *have)
{
	if (!cJSON_IsArray(want) || !cJSON_IsArray(have) ||
	    cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
		return false;
	const cJSON *w;
	cJSON_ArrayForEach(w, want)
	{
		const cJSON *h = NULL, *c;
		cJSON_ArrayForEach(c, have)
		{
			if (str_eq(item(c, "name"), item(w, "name"))) {
				h = c;
				break;
			}
		}
		if (!h || num_or(item(w, "type"), 1) != num_or(item(h, "type"), 1) ||
		    !str_eq(item(w, "description"), item(h, "description")) ||
		    !localizations_equal(item(w, "description_localizations"),
					 item(h, "description_localizations")) ||
		    !options_equal(item(w, "options"), item(h, "options")))
			return false;
		/* dm_permission: Discord reports true when unset. */
		const cJSON *wd = item(w, "dm_permission"), *hd = item(h, "dm_permission");
		if ((wd ? cJSON_IsTrue(wd) : true) != (hd ? cJSON_IsTrue(hd) : true))
			return false;
	}
	return true;
}
