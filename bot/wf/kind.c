/* From an environment to its kind's descriptor: the registry holds the
 * config-facing parts (struct cfg_kind), each the first member of its
 * struct kind, so the way back is a cast checked by that layout. */
#include "kind.h"
#include "../core/exitcode.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

_Static_assert(offsetof(struct kind, cfg) == 0, "struct kind must start with its cfg_kind");

const struct kind *kind_from_cfg(const struct cfg_kind *k)
{
	return (const struct kind *)(const void *)k;
}

const struct kind *kind_of(const struct cfg_env *env)
{
	return env ? kind_from_cfg(env->kind) : NULL;
}

const char *kind_image_repository(const struct cfg_env *env)
{
	const struct kind *k = kind_of(env);
	return k && k->image_repository ? k->image_repository(env) : NULL;
}

void kind_live_fold(struct kind_live *live, const struct aws_err *err)
{
	if (err->rc == BOT_OK || err->rc == BOT_ENOTFOUND)
		return;
	if (err->rc == BOT_EAUTH)
		live->exit = EXIT_AUTH;
	else if (live->exit != EXIT_AUTH)
		live->exit = EXIT_FAILED;
}

void kind_live_report_error(struct kind_live *live, const char *what, const struct aws_err *err)
{
	buf_addf(&live->report, "       %s: %s%s%s%s\n", what, bot_strerror(err->rc),
		 err->code[0] ? " (" : "", err->code, err->code[0] ? ")" : "");
	if (err->message[0])
		buf_addf(&live->report, "         %s\n", err->message);
	kind_live_fold(live, err);
}

void kind_escape(kind_escape_fn escape, const char *in, char *out, size_t len)
{
	if (escape)
		escape(in, out, len);
	else
		snprintf(out, len, "%s", in);
}

void kind_live_line_error(struct kind_live *live, const struct aws_err *err, kind_escape_fn escape)
{
	char msg[600];
	kind_escape(escape, err ? err->message : "", msg, sizeof(msg));
	snprintf(live->line, sizeof(live->line), "unknown (AWS: %s%s%s)",
		 err ? bot_strerror(err->rc) : "no answer", msg[0] ? ", " : "", msg);
}

bool kind_wakes_up(const struct cfg_env *env)
{
	const struct kind *k = kind_of(env);
	return k && k->wakes_up && k->wakes_up(env);
}

const char *kind_str(const char *s)
{
	return s ? s : "?";
}

struct aws *kind_aws(struct aws *aws, const struct cfg_env *env, const char *region, char *err,
		     size_t errlen)
{
	if (!aws)
		return NULL;
	struct cfg_aws_target t = cfg_env_target(env);
	if (!region && env->n_regions == 1)
		region = env->regions[0];
	struct aws_target at = { .region = region ? region : t.region,
				 .role_arn = t.assume_role,
				 .external_id = t.external_id };
	return aws_for(aws, &at, err, errlen);
}

static const char *tag_value(const struct aws_tag *tags, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (tags[i].key && strcmp(tags[i].key, key) == 0)
			return tags[i].value ? tags[i].value : "";
	return NULL;
}

bool kind_exempt(const char *key, const struct aws_tag *tags, size_t n, int64_t now, char *why,
		 size_t whylen)
{
	if (!key)
		key = CFG_EXCLUDE_TAG;
	const char *v = tag_value(tags, n, key);
	if (v && strcasecmp(v, "true") == 0) {
		snprintf(why, whylen, "%s=%s", key, v);
		return true;
	}
	char until_key[160];
	snprintf(until_key, sizeof(until_key), "%s-until", key);
	const char *u = tag_value(tags, n, until_key);
	if (!u)
		return false;
	struct tm tm = { 0 };
	const char *end = strptime(u, "%Y-%m-%d", &tm);
	if (!end || *end) {
		snprintf(why, whylen, "%s=%s (not a date YYYY-MM-DD: exempt until it is fixed)",
			 until_key, u);
		return true;
	}
	/* exempt through that day, UTC */
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	if ((int64_t)timegm(&tm) < now)
		return false;
	snprintf(why, whylen, "%s=%s", until_key, u);
	return true;
}
