/* envbot's configuration: reads the libconfig file once, walks the whole
 * schema of CONTRACT.md ("Configuration") and fills a plain struct cfg. It
 * collects every mistake rather than stopping at the first, each as
 * "FILE:LINE: setting: what is wrong", because a config is fixed in one edit
 * far more happily than in ten. Unknown settings are errors at every level: a
 * typo must never silently disable a schedule. */
#include "config.h"
#include "../bot/core/array.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bot/core/log.h"
#include "../bot/core/url.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
/* Enough for any real config; a runaway list of errors helps nobody. */
#define CFG_MAX_ERRORS 100
/* Full setting paths ("environments.[12].schedule.timezone"). */
#define CFG_PATH_LEN 256
/* A Discord bot token is ~72 bytes; anything much larger is not a token. */
#define CFG_TOKEN_MAX 4096

/* What goes out (the end of this file): read before the environments,
 * since holidays_from names calendars. */
static void load_outputs(struct cfg_reader *root, struct cfg *cfg);
static void load_env_outputs(struct cfg_reader *r, const struct cfg *cfg, struct cfg_env *env);
static void free_outputs(struct cfg *cfg);
static void free_env_outputs(struct cfg_env *env);
static void print_outputs(const struct cfg *cfg, FILE *out);

struct cfg_error {
	unsigned line;
	unsigned seq; /* keeps errors on one line in the order found */
	char *text;
};

/* One load: the struct being filled and the errors found so far. */
struct loader {
	const char *name;                    /* file name for messages when libconfig has none */
	const char *include_dir;             /* where @include files were found, or NULL */
	const struct cfg_kind *const *kinds; /* the registry (borrowed) */
	const char **env_known;              /* settings an environment may have */
	struct cfg_reader *readers;          /* the kinds' readers, freed at the end */
	struct cfg *cfg;
	struct cfg_error *errs;
	size_t n_errs, cap_errs;
	unsigned seq;
	bool oom;
};

/* ---- errors ---------------------------------------------------------------- */

static void add_error(struct loader *ld, const config_setting_t *at, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records "FILE:LINE: path: message". at gives the line (the setting itself,
 * or for a missing one its parent group); NULL or the root means line 1. */
static void add_error(struct loader *ld, const config_setting_t *at, const char *path,
		      const char *fmt, ...)
{
	if (ld->n_errs >= CFG_MAX_ERRORS) {
		ld->seq++; /* counted, reported as "... more" */
		return;
	}
	if (array_grow(&ld->errs, &ld->cap_errs, ld->n_errs + 1, sizeof(*ld->errs), 0) < 0) {
		ld->oom = true;
		return;
	}
	unsigned line = at ? config_setting_source_line(at) : 0;
	const char *file =
		at && config_setting_source_file(at) ? config_setting_source_file(at) : ld->name;
	/* libconfig names an @included file as written; show where it is. */
	const char *dir = "", *sep = "";
	if (ld->include_dir && file[0] != '/' && strcmp(file, ld->name) != 0) {
		dir = ld->include_dir;
		sep = "/";
	}
	if (line == 0)
		line = 1;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *text = NULL;
	int n = path ? asprintf(&text, "%s%s%s:%u: %s: %s", dir, sep, file, line, path, msg)
		     : asprintf(&text, "%s%s%s:%u: %s", dir, sep, file, line, msg);
	if (n < 0) {
		ld->oom = true;
		return;
	}
	ld->errs[ld->n_errs++] = (struct cfg_error){ .line = line, .seq = ld->seq++, .text = text };
}

static int error_cmp(const void *a, const void *b)
{
	const struct cfg_error *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the errors, in file order, one per line into err. */
static void flush_errors(struct loader *ld, char *err, size_t errlen)
{
	if (!err || errlen == 0)
		return;
	err[0] = '\0';
	qsort(ld->errs, ld->n_errs, sizeof(*ld->errs), error_cmp);
	size_t used = 0;
	for (size_t i = 0; i < ld->n_errs && used < errlen; i++) {
		int w = snprintf(err + used, errlen - used, "%s\n", ld->errs[i].text);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (ld->seq > ld->n_errs && used < errlen) {
		int w = snprintf(err + used, errlen - used, "%s: ... and more errors\n", ld->name);
		used += w > 0 ? (size_t)w : 0;
	}
	if (ld->oom && used < errlen)
		snprintf(err + used, errlen - used, "%s: out of memory\n", ld->name);
}

static void free_errors(struct loader *ld)
{
	for (size_t i = 0; i < ld->n_errs; i++)
		free(ld->errs[i].text);
	free(ld->errs);
}

/* ---- paths and names --------------------------------------------------------- */

/* Setting paths are for messages only: a (pathologically) long one is cut
 * and marked rather than dropped. */
static void mark_cut(char *buf, int n)
{
	if (n >= CFG_PATH_LEN)
		memcpy(buf + CFG_PATH_LEN - 4, "...", 4);
}

static void child_path(char *buf, const char *parent, const char *name)
{
	if (parent && *parent)
		mark_cut(buf, snprintf(buf, CFG_PATH_LEN, "%s.%s", parent, name));
	else
		mark_cut(buf, snprintf(buf, CFG_PATH_LEN, "%s", name));
}

/* libconfig's own path syntax for list elements: "environments.[0]". */
static void elem_path(char *buf, const char *parent, unsigned idx)
{
	mark_cut(buf, snprintf(buf, CFG_PATH_LEN, "%s.[%u]", parent, idx));
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ]";
	case CONFIG_TYPE_LIST: return "a list ( )";
	default: return "something else";
	}
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 64;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
				tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
					? 0
					: 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Every member of group must be one of known (NULL-terminated): typos are
 * errors, with the closest known name suggested. */
static void check_unknown(struct loader *ld, const config_setting_t *group, const char *path,
			  const char *const *known)
{
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		if (!name)
			continue;
		const char *best = NULL;
		size_t best_d = 3;
		bool found = false;
		for (const char *const *k = known; *k; k++) {
			if (strcmp(*k, name) == 0) {
				found = true;
				break;
			}
			size_t d = edit_distance(*k, name);
			if (d < best_d) {
				best_d = d;
				best = *k;
			}
		}
		if (found)
			continue;
		char p[CFG_PATH_LEN];
		child_path(p, path, name);
		if (best)
			add_error(ld, s, p, "unknown setting (did you mean \"%s\"?)", best);
		else
			add_error(ld, s, p, "unknown setting");
	}
}

/* ---- typed getters ----------------------------------------------------------
 * Each looks up name in group; a missing required setting is reported at the
 * group's line. They return true when the setting is present and valid. */

static char *dup_str(struct loader *ld, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ld->oom = true;
	return d;
}

static const config_setting_t *member(const config_setting_t *group, const char *name)
{
	return group ? config_setting_get_member(group, name) : NULL;
}

static void missing(struct loader *ld, const config_setting_t *group, const char *path,
		    const char *name)
{
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	add_error(ld, group, p, "required setting is missing");
}

/* *out becomes a new string (owned by the cfg being built). */
static bool get_string(struct loader *ld, const config_setting_t *group, const char *path,
		       const char *name, bool required, char **out)
{
	const config_setting_t *s = member(group, name);
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	if (!s) {
		if (required)
			missing(ld, group, path, name);
		return false;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		add_error(ld, s, p, "must be a string in double quotes, not %s", type_name(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	if (!v || !*v) {
		add_error(ld, s, p, "must not be empty");
		return false;
	}
	*out = dup_str(ld, v);
	return *out != NULL;
}

static bool get_bool(struct loader *ld, const config_setting_t *group, const char *path,
		     const char *name, bool *out)
{
	const config_setting_t *s = member(group, name);
	if (!s)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		char p[CFG_PATH_LEN];
		child_path(p, path, name);
		add_error(ld, s, p, "must be true or false, not %s", type_name(s));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

static bool get_number(struct loader *ld, const config_setting_t *group, const char *path,
		       const char *name, double *out)
{
	const config_setting_t *s = member(group, name);
	if (!s)
		return false;
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	double v;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: v = (double)config_setting_get_int64(s); break;
	case CONFIG_TYPE_FLOAT: v = config_setting_get_float(s); break;
	default: add_error(ld, s, p, "must be a number, not %s", type_name(s)); return false;
	}
	if (!isfinite(v)) {
		add_error(ld, s, p, "must be a finite number");
		return false;
	}
	*out = v;
	return true;
}

static bool get_int(struct loader *ld, const config_setting_t *group, const char *path,
		    const char *name, long long min, long long max, long long *out)
{
	const config_setting_t *s = member(group, name);
	if (!s)
		return false;
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		add_error(ld, s, p, "must be an integer, not %s", type_name(s));
		return false;
	}
	long long v = config_setting_get_int64(s);
	if (v < min || v > max) {
		add_error(ld, s, p, "%lld is out of range %lld-%lld", v, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool get_duration(struct loader *ld, const config_setting_t *group, const char *path,
			 const char *name, int64_t *out)
{
	const config_setting_t *s = member(group, name);
	if (!s)
		return false;
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		add_error(ld, s, p, "must be a duration string like \"2h\" or \"30m\", not %s",
			  type_name(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	if (when_parse_duration(v, out) != 0) {
		add_error(ld, s, p,
			  "\"%s\" is not a duration (use e.g. \"30m\", \"2h\", \"1h30m\", "
			  "\"0\"; at most 366d)",
			  v);
		return false;
	}
	return true;
}

/* A group member; reports a wrong type. */
static const config_setting_t *get_group(struct loader *ld, const config_setting_t *group,
					 const char *path, const char *name, bool required)
{
	const config_setting_t *s = member(group, name);
	if (!s) {
		if (required)
			missing(ld, group, path, name);
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		char p[CFG_PATH_LEN];
		child_path(p, path, name);
		add_error(ld, s, p, "must be a group { ... }, not %s", type_name(s));
		return NULL;
	}
	return s;
}

/* A sequence of non-empty strings, written as an array [ ] or a list ( ).
 * *out becomes a new array of new strings (owned by the cfg being built). */
static bool get_strings(struct loader *ld, const config_setting_t *group, const char *path,
			const char *name, char ***out, size_t *n_out)
{
	const config_setting_t *s = member(group, name);
	if (!s)
		return false;
	char p[CFG_PATH_LEN];
	child_path(p, path, name);
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		add_error(ld, s, p, "must be an array of strings [ \"...\" ], not %s",
			  type_name(s));
		return false;
	}
	unsigned n = (unsigned)config_setting_length(s);
	char **v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		ld->oom = true;
		return false;
	}
	size_t k = 0;
	bool ok = true;
	for (unsigned i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		char ep[CFG_PATH_LEN];
		elem_path(ep, p, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			add_error(ld, config_setting_source_line(e) ? e : s, ep,
				  "must be a string, not %s", type_name(e));
			ok = false;
			continue;
		}
		const char *str = config_setting_get_string(e);
		if (!*str) {
			add_error(ld, config_setting_source_line(e) ? e : s, ep,
				  "must not be empty");
			ok = false;
			continue;
		}
		if (!(v[k++] = dup_str(ld, str)))
			ok = false;
	}
	*out = v;
	*n_out = k;
	return ok;
}

/* ---- value checks ------------------------------------------------------------ */

/* Discord ids are decimal snowflakes; writing them unquoted would make
 * libconfig parse a 64-bit integer, so they must be strings. */
static void check_snowflake(struct loader *ld, const config_setting_t *at, const char *path,
			    const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 20 || strspn(v, "0123456789") != n)
		add_error(ld, at, path, "\"%s\" is not a Discord id (digits only)", v);
}

/* A string-valued setting known to be present: for messages on its value. */
static const config_setting_t *at_of(const config_setting_t *group, const char *name)
{
	const config_setting_t *s = member(group, name);
	return s ? s : group;
}

/* Zone names are relative paths under the system tz database: only the
 * characters IANA uses, so "..", absolute paths and other tricks cannot
 * name a file elsewhere; and the file must really be a TZif zone. */
static bool zone_exists(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//"))
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
			return false;
	char file[192];
	snprintf(file, sizeof(file), "%s/%s", ZONEINFO_DIR, name);
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP) /* e.g. "US/Eastern" may be a symlink */
		fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	char magic[4];
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		  read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		  memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

static void check_zone(struct loader *ld, const config_setting_t *at, const char *path,
		       const char *zone)
{
	if (!zone_exists(zone))
		add_error(ld, at, path, "unknown time zone \"%s\" (not in %s)", zone, ZONEINFO_DIR);
}

/* An endpoint: http(s) only, and plain http only to loopback. */
static void check_endpoint(struct loader *ld, const config_setting_t *at, const char *path,
			   const char *url)
{
	bool http = strncasecmp(url, "http://", 7) == 0;
	bool https = strncasecmp(url, "https://", 8) == 0;
	if (!http && !https)
		add_error(ld, at, path, "\"%s\" must be an https:// URL", url);
	else if (!url_allowed(url, URL_HTTP))
		add_error(ld, at, path,
			  "\"%s\": plain http:// is allowed only for loopback hosts (127.0.0.0/8, "
			  "::1, localhost); use https://",
			  url);
}

static void check_listen(struct loader *ld, const config_setting_t *at, const char *path,
			 const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == v || !end || *end || end == colon + 1 || port < 1 || port > 65535)
		add_error(ld, at, path, "\"%s\" must be HOST:PORT (e.g. \"127.0.0.1:9464\")", v);
}

/* ---- the schema --------------------------------------------------------------- */

static void load_discord(struct loader *ld, const config_setting_t *root)
{
	static const char *const known[] = { "application_id", "guild_id", "channel_id", "api_base",
					     "token_file",     "roles",    NULL };
	static const char *const role_known[] = { "operator", "admin", NULL };
	struct cfg *cfg = ld->cfg;
	const config_setting_t *g = get_group(ld, root, "", "discord", true);
	if (!g)
		return;
	check_unknown(ld, g, "discord", known);
	if (get_string(ld, g, "discord", "application_id", true, &cfg->application_id))
		check_snowflake(ld, at_of(g, "application_id"), "discord.application_id",
				cfg->application_id);
	if (get_string(ld, g, "discord", "guild_id", false, &cfg->guild_id))
		check_snowflake(ld, at_of(g, "guild_id"), "discord.guild_id", cfg->guild_id);
	if (get_string(ld, g, "discord", "channel_id", true, &cfg->channel_id))
		check_snowflake(ld, at_of(g, "channel_id"), "discord.channel_id", cfg->channel_id);
	if (get_string(ld, g, "discord", "api_base", false, &cfg->api_base))
		check_endpoint(ld, at_of(g, "api_base"), "discord.api_base", cfg->api_base);
	get_string(ld, g, "discord", "token_file", false, &cfg->token_file);

	const config_setting_t *r = get_group(ld, g, "discord", "roles", false);
	if (!r)
		return;
	check_unknown(ld, r, "discord.roles", role_known);
	struct {
		const char *name;
		char ***v;
		size_t *n;
	} lists[] = { { "operator", &cfg->operator_roles, &cfg->n_operator_roles },
		      { "admin", &cfg->admin_roles, &cfg->n_admin_roles } };
	for (size_t i = 0; i < 2; i++) {
		char p[CFG_PATH_LEN];
		child_path(p, "discord.roles", lists[i].name);
		if (!get_strings(ld, r, "discord.roles", lists[i].name, lists[i].v, lists[i].n))
			continue;
		const config_setting_t *arr = member(r, lists[i].name);
		for (size_t k = 0; k < *lists[i].n; k++) {
			char ep[CFG_PATH_LEN];
			elem_path(ep, p, (unsigned)k);
			check_snowflake(ld, config_setting_get_elem(arr, (unsigned)k), ep,
					(*lists[i].v)[k]);
		}
	}
}

/* "ap-northeast-2", "us-gov-west-1": lowercase words, then a digit. */
static bool region_ok(const char *v)
{
	size_t n = strlen(v);
	return strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == n && strchr(v, '-') &&
	       isdigit((unsigned char)v[n - 1]) && islower((unsigned char)v[0]);
}

static void check_region(struct loader *ld, const config_setting_t *at, const char *path,
			 const char *v)
{
	if (!region_ok(v))
		add_error(ld, at, path,
			  "\"%s\" is not an AWS region name (like \"ap-northeast-2\")", v);
}

static void load_aws(struct loader *ld, const config_setting_t *root)
{
	static const char *const known[] = { "region", "endpoint_url", "profile", "exclude_tag",
					     NULL };
	struct cfg *cfg = ld->cfg;
	const config_setting_t *g = get_group(ld, root, "", "aws", true);
	if (!g)
		return;
	check_unknown(ld, g, "aws", known);
	if (get_string(ld, g, "aws", "region", true, &cfg->region))
		check_region(ld, at_of(g, "region"), "aws.region", cfg->region);
	if (get_string(ld, g, "aws", "endpoint_url", false, &cfg->endpoint_url))
		check_endpoint(ld, at_of(g, "endpoint_url"), "aws.endpoint_url", cfg->endpoint_url);
	get_string(ld, g, "aws", "profile", false, &cfg->profile);
	/* AWS tag keys are at most 128 characters; "-until" is appended. */
	if (get_string(ld, g, "aws", "exclude_tag", false, &cfg->exclude_tag) &&
	    strlen(cfg->exclude_tag) > 120)
		add_error(ld, at_of(g, "exclude_tag"), "aws.exclude_tag",
			  "is %zu characters; a tag key is at most 128, and \"-until\" is added",
			  strlen(cfg->exclude_tag));
}

/* arn:PARTITION:iam::ACCOUNT:role/NAME, as IAM spells a role's ARN. */
static bool role_arn_ok(const char *v)
{
	if (strncmp(v, "arn:", 4) != 0)
		return false;
	v += 4;
	size_t part = strspn(v, "abcdefghijklmnopqrstuvwxyz-");
	if (part == 0 || strncmp(v + part, ":iam::", 6) != 0)
		return false;
	v += part + 6;
	if (strspn(v, "0123456789") != 12 || strncmp(v + 12, ":role/", 6) != 0)
		return false;
	v += 18;
	return *v && strlen(v) <= 512 &&
	       strspn(v,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-/") ==
		       strlen(v);
}

/* aws = { region; assume_role; external_id; } and regions = [ ... ] | "all"
 * of an environment or a member. */
static void load_target(struct loader *ld, const config_setting_t *g, const char *path,
			struct cfg_env *env)
{
	static const char *const known[] = { "region", "assume_role", "external_id", NULL };
	char p[CFG_PATH_LEN], ap[CFG_PATH_LEN];
	child_path(ap, path, "aws");
	const config_setting_t *a = get_group(ld, g, path, "aws", false);
	if (a) {
		check_unknown(ld, a, ap, known);
		child_path(p, ap, "region");
		if (get_string(ld, a, ap, "region", false, &env->aws.region))
			check_region(ld, at_of(a, "region"), p, env->aws.region);
		child_path(p, ap, "assume_role");
		if (get_string(ld, a, ap, "assume_role", false, &env->aws.assume_role) &&
		    !role_arn_ok(env->aws.assume_role))
			add_error(ld, at_of(a, "assume_role"), p,
				  "\"%s\" is not an IAM role ARN "
				  "(arn:aws:iam::123456789012:role/NAME)",
				  env->aws.assume_role);
		child_path(p, ap, "external_id");
		if (get_string(ld, a, ap, "external_id", false, &env->aws.external_id)) {
			size_t n = strlen(env->aws.external_id);
			if (n < 2 || n > 1224 ||
			    strspn(env->aws.external_id,
				   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				   "+=,.@:/_-") != n)
				add_error(ld, at_of(a, "external_id"), p,
					  "must be 2 to 1224 letters, digits or +=,.@:/_- (as STS "
					  "takes it)");
			if (!member(a, "assume_role"))
				add_error(ld, at_of(a, "external_id"), p,
					  "only makes sense with assume_role (STS sends it with "
					  "AssumeRole)");
		}
	}
	child_path(p, path, "regions");
	const config_setting_t *rs = member(g, "regions");
	if (!rs)
		return;
	if (config_setting_type(rs) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(rs), "all") == 0)
			env->all_regions = true;
		else
			add_error(ld, rs, p,
				  "must be \"all\" (every region enabled in the account) or an "
				  "array [ \"ap-northeast-2\", ... ]");
	} else if (get_strings(ld, g, path, "regions", &env->regions, &env->n_regions)) {
		if (env->n_regions == 0)
			add_error(ld, rs, p, "must name at least one region");
		if (env->n_regions > CFG_MAX_REGIONS)
			add_error(ld, rs, p, "names %zu regions; at most %d", env->n_regions,
				  CFG_MAX_REGIONS);
		for (size_t i = 0; i < env->n_regions; i++) {
			char ep[CFG_PATH_LEN];
			elem_path(ep, p, (unsigned)i);
			check_region(ld, rs, ep, env->regions[i]);
			for (size_t j = 0; j < i; j++)
				if (strcmp(env->regions[i], env->regions[j]) == 0)
					add_error(ld, rs, ep, "\"%s\" is listed twice",
						  env->regions[i]);
		}
	}
	if (a && member(a, "region"))
		add_error(ld, rs, p,
			  "give either regions or aws.region, not both (regions names each "
			  "region the environment spans)");
}

/* regions only where the kind finds its resources by tag. */
static void check_regions_kind(struct loader *ld, const config_setting_t *g, const char *path,
			       const struct cfg_env *env)
{
	if (!env->kind || !(env->regions || env->all_regions))
		return;
	if (env->kind->by_tag && env->kind->by_tag(env))
		return;
	char names[256] = "";
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++) {
		if (!(*k)->by_tag)
			continue;
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", (*k)->name);
	}
	char p[CFG_PATH_LEN];
	child_path(p, path, "regions");
	add_error(ld, at_of(g, "regions"), p,
		  "only valid where resources are found by tag = { key; value; } (kinds %s); "
		  "a named resource lives in one region: use aws.region",
		  names);
}

static void load_holidays(struct loader *ld, const config_setting_t *root)
{
	struct cfg *cfg = ld->cfg;
	char **strs = NULL;
	size_t n = 0;
	get_strings(ld, root, "", "holidays", &strs, &n);
	if (!strs)
		return;
	cfg->holidays = calloc(n ? n : 1, sizeof(*cfg->holidays));
	if (!cfg->holidays)
		ld->oom = true;
	const config_setting_t *arr = member(root, "holidays");
	for (size_t i = 0; i < n && cfg->holidays; i++) {
		ymd_t d;
		if (when_parse_date(strs[i], &d) != 0) {
			char ep[CFG_PATH_LEN];
			elem_path(ep, "holidays", (unsigned)i);
			add_error(ld, config_setting_get_elem(arr, (unsigned)i), ep,
				  "\"%s\" is not a real date (YYYY-MM-DD)", strs[i]);
			continue;
		}
		/* Sorted insert, duplicates dropped: lookups can bisect. */
		size_t pos = 0;
		while (pos < cfg->n_holidays && cfg->holidays[pos] < d)
			pos++;
		if (pos < cfg->n_holidays && cfg->holidays[pos] == d)
			continue;
		memmove(cfg->holidays + pos + 1, cfg->holidays + pos,
			(cfg->n_holidays - pos) * sizeof(*cfg->holidays));
		cfg->holidays[pos] = d;
		cfg->n_holidays++;
	}
	for (size_t i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
}

static bool valid_env_name(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 32 && isalnum((unsigned char)v[0]) &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void load_schedule(struct loader *ld, const config_setting_t *env, const char *path,
			  struct cfg_schedule *sch)
{
	static const char *const known[] = { "start", "stop", "timezone", NULL };
	char p[CFG_PATH_LEN];
	child_path(p, path, "schedule");
	const config_setting_t *g = get_group(ld, env, path, "schedule", false);
	if (!g)
		return;
	check_unknown(ld, g, p, known);
	struct {
		const char *name;
		char **expr;
		struct cron *cron;
	} exprs[] = { { "start", &sch->start_expr, &sch->start },
		      { "stop", &sch->stop_expr, &sch->stop } };
	for (size_t i = 0; i < 2; i++) {
		if (!get_string(ld, g, p, exprs[i].name, false, exprs[i].expr))
			continue;
		char why[160] = "";
		if (cron_parse(*exprs[i].expr, exprs[i].cron, why, sizeof(why)) != 0) {
			char cp[CFG_PATH_LEN];
			child_path(cp, p, exprs[i].name);
			add_error(ld, at_of(g, exprs[i].name), cp, "bad cron \"%s\": %s",
				  *exprs[i].expr, why[0] ? why : "not a 5-field cron expression");
			free(*exprs[i].expr);
			*exprs[i].expr = NULL;
		}
	}
	if (get_string(ld, g, p, "timezone", false, &sch->timezone)) {
		char zp[CFG_PATH_LEN];
		child_path(zp, p, "timezone");
		check_zone(ld, at_of(g, "timezone"), zp, sch->timezone);
	}
}

/* ---- the kinds' reader ---------------------------------------------------------
 * A kind parses its own settings through these: the same getters and the same
 * messages as the rest of the schema, on a group of the file. */

struct cfg_reader {
	struct loader *ld;
	const config_setting_t *g;
	char path[CFG_PATH_LEN];
	struct cfg_reader *next; /* the load's list of readers, freed at its end */
};

/* A new reader of g at path, owned by the load; NULL (oom set) on ENOMEM. */
static struct cfg_reader *new_reader(struct loader *ld, const config_setting_t *g, const char *path)
{
	struct cfg_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		ld->oom = true;
		return NULL;
	}
	r->ld = ld;
	r->g = g;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->next = ld->readers;
	ld->readers = r;
	return r;
}

bool cfg_read_string(struct cfg_reader *r, const char *name, unsigned flags, char **out)
{
	struct loader *ld = r->ld;
	if (!(flags & CFG_EMPTY_OK))
		return get_string(ld, r->g, r->path, name, flags & CFG_REQUIRED, out);
	/* get_string without its "must not be empty" */
	const config_setting_t *s = member(r->g, name);
	if (!s) {
		if (flags & CFG_REQUIRED)
			missing(ld, r->g, r->path, name);
		return false;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		char p[CFG_PATH_LEN];
		child_path(p, r->path, name);
		add_error(ld, s, p, "must be a string in double quotes, not %s", type_name(s));
		return false;
	}
	*out = dup_str(ld, config_setting_get_string(s));
	return *out != NULL;
}

bool cfg_read_url(struct cfg_reader *r, const char *name, unsigned flags, char **out)
{
	if (!cfg_read_string(r, name, flags, out))
		return false;
	char p[CFG_PATH_LEN];
	child_path(p, r->path, name);
	size_t before = r->ld->n_errs + r->ld->seq;
	check_endpoint(r->ld, at_of(r->g, name), p, *out);
	return r->ld->n_errs + r->ld->seq == before;
}

bool cfg_read_strings(struct cfg_reader *r, const char *name, char ***out, size_t *n_out)
{
	return get_strings(r->ld, r->g, r->path, name, out, n_out);
}

bool cfg_read_string_or_strings(struct cfg_reader *r, const char *name, char ***out, size_t *n_out)
{
	const config_setting_t *v = member(r->g, name);
	*out = NULL;
	*n_out = 0;
	if (!v || config_setting_type(v) != CONFIG_TYPE_STRING)
		return get_strings(r->ld, r->g, r->path, name, out, n_out);
	char *one = NULL;
	if (!cfg_read_string(r, name, CFG_REQUIRED, &one))
		return false;
	if (!(*out = calloc(1, sizeof(**out)))) {
		free(one);
		r->ld->oom = true;
		return false;
	}
	(*out)[0] = one;
	*n_out = 1;
	return true;
}

bool cfg_read_bool(struct cfg_reader *r, const char *name, bool *out)
{
	return get_bool(r->ld, r->g, r->path, name, out);
}

bool cfg_read_number(struct cfg_reader *r, const char *name, double *out)
{
	return get_number(r->ld, r->g, r->path, name, out);
}

struct cfg_reader *cfg_read_group(struct cfg_reader *r, const char *name, bool required)
{
	const config_setting_t *g = get_group(r->ld, r->g, r->path, name, required);
	if (!g)
		return NULL;
	char p[CFG_PATH_LEN];
	child_path(p, r->path, name);
	return new_reader(r->ld, g, p);
}

struct cfg_reader *cfg_read_list(struct cfg_reader *r, const char *name, const char *hint,
				 size_t *n)
{
	*n = 0;
	char p[CFG_PATH_LEN];
	child_path(p, r->path, name);
	const config_setting_t *list = member(r->g, name);
	if (!list)
		return NULL;
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		add_error(r->ld, list, p, "must be a list ( { %s } ), not %s", hint,
			  type_name(list));
		return NULL;
	}
	struct cfg_reader *lr = new_reader(r->ld, list, p);
	if (lr)
		*n = (size_t)config_setting_length(list);
	return lr;
}

struct cfg_reader *cfg_read_elem(struct cfg_reader *list, size_t i, const char *hint)
{
	const config_setting_t *e = config_setting_get_elem(list->g, (unsigned)i);
	if (!e)
		return NULL;
	char ep[CFG_PATH_LEN];
	elem_path(ep, list->path, (unsigned)i);
	if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
		add_error(list->ld, e, ep, "must be a group { %s }", hint);
		return NULL;
	}
	return new_reader(list->ld, e, ep);
}

void cfg_read_known(struct cfg_reader *r, const char *const *known)
{
	check_unknown(r->ld, r->g, r->path, known);
}

void cfg_read_error(struct cfg_reader *r, const char *name, const char *fmt, ...)
{
	char msg[512], p[CFG_PATH_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name)
		child_path(p, r->path, name);
	add_error(r->ld, name ? at_of(r->g, name) : r->g, name ? p : r->path, "%s", msg);
}

void cfg_read_elem_error(struct cfg_reader *r, const char *name, size_t i, const char *fmt, ...)
{
	char msg[512], p[CFG_PATH_LEN], ep[CFG_PATH_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	child_path(p, r->path, name);
	elem_path(ep, p, (unsigned)i);
	const config_setting_t *arr = member(r->g, name);
	const config_setting_t *e = arr ? config_setting_get_elem(arr, (unsigned)i) : NULL;
	add_error(r->ld, e ? e : r->g, ep, "%s", msg);
}

void cfg_read_oom(struct cfg_reader *r)
{
	r->ld->oom = true;
}

bool cfg_read_capacity(struct cfg_reader *r, const char *name, struct cfg_capacity *out)
{
	static const char *const known[] = { "min", "desired", "max", NULL };
	out->set = false;
	out->min = out->desired = out->max = -1;
	struct cfg_reader *g = cfg_read_group(r, name, false);
	if (!g)
		return false;
	check_unknown(g->ld, g->g, g->path, known);
	bool ok = true;
	long long *dst[] = { &out->min, &out->desired, &out->max };
	for (size_t i = 0; i < 3; i++) {
		const config_setting_t *s = member(g->g, known[i]);
		if (!s)
			continue;
		char p[CFG_PATH_LEN];
		child_path(p, g->path, known[i]);
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64) {
			add_error(g->ld, s, p, "must be a whole number, not %s", type_name(s));
			ok = false;
			continue;
		}
		long long v = config_setting_get_int64(s);
		if (v < 0 || v > 1000000) {
			add_error(g->ld, s, p, "%lld is out of range (0 to 1000000)", v);
			ok = false;
			continue;
		}
		*dst[i] = v;
	}
	if (ok && out->min >= 0 && out->desired >= 0 && out->min > out->desired) {
		cfg_read_error(g, "min", "min (%lld) is above desired (%lld)", out->min,
			       out->desired);
		ok = false;
	}
	if (ok && out->desired >= 0 && out->max >= 0 && out->desired > out->max) {
		cfg_read_error(g, "desired", "desired (%lld) is above max (%lld)", out->desired,
			       out->max);
		ok = false;
	}
	if (ok && out->min >= 0 && out->max >= 0 && out->min > out->max) {
		cfg_read_error(g, "min", "min (%lld) is above max (%lld)", out->min, out->max);
		ok = false;
	}
	out->set = ok;
	return ok;
}

/* ---- environments ---------------------------------------------------------------- */

static const struct cfg_kind *find_kind(const struct loader *ld, const char *name)
{
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++)
		if (strcmp((*k)->name, name) == 0)
			return *k;
	return NULL;
}

static bool kind_takes(const struct cfg_kind *k, const char *setting)
{
	for (const char *const *s = k->settings; s && *s; s++)
		if (strcmp(*s, setting) == 0)
			return true;
	return false;
}

/* The kinds of the registry for messages, into buf: "\"stack\"",
 * "\"stack\" or \"ec2\"", "\"a\", \"b\" or \"c\"". Only those taking
 * setting (when not NULL), never except (may be NULL). */
static void kind_names(const struct loader *ld, const char *setting, const struct cfg_kind *except,
		       char *buf, size_t len)
{
	size_t n = 0, total = 0;
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++)
		total += *k != except && (!setting || kind_takes(*k, setting));
	buf[0] = '\0';
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++) {
		if (*k == except || (setting && !kind_takes(*k, setting)))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s\"%s\"",
			 n == 0           ? ""
			 : n + 1 == total ? " or "
					  : ", ",
			 (*k)->name);
		n++;
	}
}

/* Settings of the other kinds are errors naming the kinds they belong to. */
static void reject_others(struct loader *ld, const config_setting_t *g, const char *path,
			  const struct cfg_kind *kind)
{
	for (const struct cfg_kind *const *k = ld->kinds; *k; k++) {
		if (*k == kind)
			continue;
		for (const char *const *n = (*k)->settings; n && *n; n++) {
			const config_setting_t *s = member(g, *n);
			if (!s || kind_takes(kind, *n))
				continue;
			bool seen = false; /* reported with an earlier kind */
			for (const struct cfg_kind *const *e = ld->kinds; e != k; e++)
				seen = seen || (*e != kind && kind_takes(*e, *n));
			if (seen)
				continue;
			char p[CFG_PATH_LEN], names[256];
			child_path(p, path, *n);
			kind_names(ld, *n, kind, names, sizeof(names));
			add_error(ld, s, p, "only valid for kind = %s", names);
		}
	}
}

/* The settings an environment may have: its own, then every kind's (the
 * order is the order of "did you mean" ties). NULL-ended, into ld. */
static void build_env_known(struct loader *ld)
{
	static const char *const head[] = { "name", "kind", NULL };
	static const char *const tail[] = { "schedule", "protected", "enforce",       "hourly_cost",
					    "aws",      "regions",   "holidays_from", NULL };
	size_t n = sizeof(head) / sizeof(head[0]) + sizeof(tail) / sizeof(tail[0]);
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++)
		for (const char *const *s = (*k)->settings; s && *s; s++)
			n++;
	ld->env_known = calloc(n + 1, sizeof(*ld->env_known));
	if (!ld->env_known) {
		ld->oom = true;
		return;
	}
	size_t used = 0;
	for (const char *const *s = head; *s; s++)
		ld->env_known[used++] = *s;
	for (const struct cfg_kind *const *k = ld->kinds; k && *k; k++) {
		for (const char *const *s = (*k)->settings; s && *s; s++) {
			bool dup = false;
			for (size_t i = 0; i < used; i++)
				dup = dup || strcmp(ld->env_known[i], *s) == 0;
			if (!dup)
				ld->env_known[used++] = *s;
		}
	}
	for (const char *const *s = tail; *s; s++)
		ld->env_known[used++] = *s;
}

static void load_env(struct loader *ld, const config_setting_t *g, unsigned idx)
{
	struct cfg *cfg = ld->cfg;
	struct cfg_env *env = &cfg->envs[cfg->n_envs++];
	char path[CFG_PATH_LEN], p[CFG_PATH_LEN];
	elem_path(path, "environments", idx);
	env->line = (int)config_setting_source_line(g);
	env->hourly_cost = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		add_error(ld, g, path,
			  "must be a group { name = \"...\"; kind = \"...\"; ... }, not %s",
			  type_name(g));
		return;
	}
	if (ld->env_known)
		check_unknown(ld, g, path, ld->env_known);

	child_path(p, path, "name");
	if (get_string(ld, g, path, "name", true, &env->name)) {
		if (!valid_env_name(env->name))
			add_error(ld, at_of(g, "name"), p,
				  "\"%s\" is not a valid environment name (1-32 letters, digits, "
				  "'_', '.', '-', starting with a letter or digit)",
				  env->name);
		for (size_t i = 0; i + 1 < cfg->n_envs; i++)
			if (cfg->envs[i].name && strcmp(cfg->envs[i].name, env->name) == 0)
				add_error(ld, at_of(g, "name"), p,
					  "duplicate environment name \"%s\" (first defined at "
					  "line %d)",
					  env->name, cfg->envs[i].line);
	}

	char *kind = NULL;
	child_path(p, path, "kind");
	if (get_string(ld, g, path, "kind", true, &kind)) {
		const struct cfg_kind *k = find_kind(ld, kind);
		if (k) {
			env->kind = k;
			struct cfg_reader *r = new_reader(ld, g, path);
			load_target(ld, g, path, env);
			if (r && k->parse)
				env->spec = k->parse(r, env);
			reject_others(ld, g, path, k);
			check_regions_kind(ld, g, path, env);
		} else {
			char names[256];
			kind_names(ld, NULL, NULL, names, sizeof(names));
			add_error(ld, at_of(g, "kind"), p, "unknown kind \"%s\" (expected %s)",
				  kind, names);
		}
	}
	free(kind);

	load_schedule(ld, g, path, &env->schedule);
	struct cfg_reader *outr = new_reader(ld, g, path);
	if (outr)
		load_env_outputs(outr, cfg, env);
	get_bool(ld, g, path, "protected", &env->protected_env);
	get_bool(ld, g, path, "enforce", &env->enforce);
	if (get_number(ld, g, path, "hourly_cost", &env->hourly_cost) && env->hourly_cost < 0) {
		child_path(p, path, "hourly_cost");
		add_error(ld, at_of(g, "hourly_cost"), p, "%g is negative (USD per hour, >= 0)",
			  env->hourly_cost);
	}
}

struct cfg_aws_target cfg_env_target(const struct cfg_env *env)
{
	struct cfg_aws_target t = env->aws;
	const struct cfg_env *g = env->parent;
	if (g && !t.region && !env->regions && !env->all_regions)
		t.region = g->aws.region;
	if (g && !t.assume_role) {
		t.assume_role = g->aws.assume_role;
		t.external_id = g->aws.external_id;
	}
	return t;
}

const char *cfg_role_account(const char *arn)
{
	const char *a = arn ? strstr(arn, ":iam::") : NULL;
	return a && strspn(a + 6, "0123456789") >= 12 ? a + 6 : NULL;
}

bool cfg_env_multi_region(const struct cfg_env *env)
{
	return env->all_regions || env->n_regions > 1;
}

const struct cfg_env *cfg_env_root(const struct cfg_env *env)
{
	while (env && env->parent)
		env = env->parent;
	return env;
}

/* One member of a group: kind and that kind's settings, nothing else. */
static void load_member(struct loader *ld, struct cfg_env *group, struct cfg_env *m,
			const config_setting_t *g, const char *path, size_t idx)
{
	char p[CFG_PATH_LEN];
	m->parent = group;
	m->line = (int)config_setting_source_line(g);
	if (group->name && asprintf(&m->name, "%s[%zu]", group->name, idx + 1) < 0) {
		m->name = NULL;
		ld->oom = true;
		return;
	}
	char *kind = NULL;
	child_path(p, path, "kind");
	if (!get_string(ld, g, path, "kind", true, &kind))
		return;
	const struct cfg_kind *k = find_kind(ld, kind);
	if (!k) {
		char names[256];
		kind_names(ld, NULL, NULL, names, sizeof(names));
		add_error(ld, at_of(g, "kind"), p, "unknown kind \"%s\" (expected %s)", kind,
			  names);
		free(kind);
		return;
	}
	free(kind);
	/* Settings: kind, name (the member's own: for a kind whose resource has
	 * a name, such as asg, that name; otherwise a label) and the kind's own;
	 * the environment's (schedule, ...) belong to the group. */
	const char *known[64];
	size_t n = 0;
	known[n++] = "kind";
	known[n++] = "name";
	known[n++] = "aws";
	known[n++] = "regions";
	for (const char *const *st = k->settings; st && *st && n + 1 < 64; st++)
		known[n++] = *st;
	known[n] = NULL;
	check_unknown(ld, g, path, known);
	reject_others(ld, g, path, k);
	m->kind = k;
	load_target(ld, g, path, m);
	struct cfg_reader *r = new_reader(ld, g, path);
	if (r && k->parse)
		m->spec = k->parse(r, m);
	check_regions_kind(ld, g, path, m);
}

size_t cfg_read_members(struct cfg_reader *r, const char *name, struct cfg_env *env)
{
	size_t n = 0;
	struct cfg_reader *list = cfg_read_list(r, name, "kind = \"...\"; ...", &n);
	if (!list) {
		if (!member(r->g, name))
			cfg_read_error(r, name, "is required: the group's members, in start order");
		return 0;
	}
	if (env->parent) {
		cfg_read_error(r, name, "a group cannot be a member of a group");
		return 0;
	}
	if (n == 0) {
		cfg_read_error(r, name, "must list at least one member");
		return 0;
	}
	if (n > CFG_MAX_MEMBERS) {
		cfg_read_error(r, name, "has %zu members; a group has at most %d", n,
			       CFG_MAX_MEMBERS);
		return 0;
	}
	env->members = calloc(n, sizeof(*env->members));
	if (!env->members) {
		r->ld->oom = true;
		return 0;
	}
	env->n_members = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list->g, (unsigned)i);
		char ep[CFG_PATH_LEN];
		elem_path(ep, list->path, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			add_error(r->ld, e, ep, "must be a group { kind = \"...\"; ... }, not %s",
				  type_name(e));
			continue;
		}
		load_member(r->ld, env, &env->members[i], e, ep, i);
	}
	return n;
}

static void load_environments(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *list = member(root, "environments");
	if (!list) {
		missing(ld, root, "", "environments");
		return;
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		add_error(ld, list, "environments",
			  "must be a list ( { name = \"...\"; ... }, ... ), not %s",
			  type_name(list));
		return;
	}
	unsigned n = (unsigned)config_setting_length(list);
	if (n == 0) {
		add_error(ld, list, "environments", "must list at least one environment");
		return;
	}
	build_env_known(ld);
	ld->cfg->envs = calloc(n, sizeof(*ld->cfg->envs));
	if (!ld->cfg->envs) {
		ld->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		load_env(ld, config_setting_get_elem(list, i), i);
}

/* Every default lives here, applied after loading to whatever the file left
 * unset (durations start at -1, strings at NULL). */
static void cfg_defaults(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	const char *const strings[][2] = { { "api_base", "https://discord.com/api/v10" },
					   { "state_file", "/var/lib/envbot/state.json" },
					   { "timezone", "UTC" } };
	char **fields[] = { &cfg->api_base, &cfg->state_file, &cfg->timezone };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!*fields[i])
			*fields[i] = dup_str(ld, strings[i][1]);
	if (cfg->catch_up < 0)
		cfg->catch_up = 2 * 3600;
	if (cfg->max_extend < 0)
		cfg->max_extend = 4 * 3600;
	if (cfg->warn_before < 0)
		cfg->warn_before = 15 * 60;
	if (cfg->audit_max <= 0)
		cfg->audit_max = 1000;
	if (cfg->state_lease_s <= 0)
		cfg->state_lease_s = 15;
	if (!cfg->exclude_tag)
		cfg->exclude_tag = dup_str(ld, CFG_EXCLUDE_TAG);
	for (size_t i = 0; i < cfg->n_envs; i++) {
		struct cfg_env *e = &cfg->envs[i];
		struct cfg_schedule *s = &e->schedule;
		if (!s->timezone && cfg->timezone)
			s->timezone = dup_str(ld, cfg->timezone);
		e->exclude_tag = cfg->exclude_tag;
		for (size_t m = 0; m < e->n_members; m++)
			e->members[m].exclude_tag = cfg->exclude_tag;
	}
}

/* DynamoDB table names: 3 to 255 of [A-Za-z0-9_.-]. */
static bool table_name_ok(const char *v)
{
	size_t n = strlen(v);
	if (n < 3 || n > 255)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '_' && *v != '-' && *v != '.')
			return false;
	return true;
}

/* state = { backend = "file" | "dynamodb"; table; region; lease_seconds;
 * replica_id; } */
static void load_state_group(struct loader *ld, const config_setting_t *root)
{
	struct cfg *cfg = ld->cfg;
	const config_setting_t *g = get_group(ld, root, "", "state", false);
	if (!g)
		return;
	static const char *const known[] = { "backend",       "table",      "region",
					     "lease_seconds", "replica_id", NULL };
	check_unknown(ld, g, "state", known);
	char *backend = NULL;
	if (get_string(ld, g, "state", "backend", true, &backend)) {
		if (strcmp(backend, "dynamodb") == 0)
			cfg->state_ddb = true;
		else if (strcmp(backend, "file") != 0)
			add_error(ld, at_of(g, "backend"), "state.backend",
				  "\"%s\" is not one of \"file\", \"dynamodb\"", backend);
	}
	free(backend);
	if (get_string(ld, g, "state", "table", cfg->state_ddb, &cfg->state_table) &&
	    !table_name_ok(cfg->state_table))
		add_error(ld, at_of(g, "table"), "state.table",
			  "\"%s\" is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)",
			  cfg->state_table);
	if (get_string(ld, g, "state", "region", false, &cfg->state_region))
		check_region(ld, at_of(g, "region"), "state.region", cfg->state_region);
	long long lease = 0;
	if (get_int(ld, g, "state", "lease_seconds", 3, 300, &lease))
		cfg->state_lease_s = (int)lease;
	get_string(ld, g, "state", "replica_id", false, &cfg->state_replica);
	if (!cfg->state_ddb) {
		static const char *const ddb_only[] = { "table", "region", "lease_seconds",
							"replica_id", NULL };
		for (size_t i = 0; ddb_only[i]; i++)
			if (member(g, ddb_only[i])) {
				char p[CFG_PATH_LEN];
				child_path(p, "state", ddb_only[i]);
				add_error(ld, at_of(g, ddb_only[i]), p,
					  "only means something with backend = \"dynamodb\"");
			}
	}
}

static void load_root(struct loader *ld, const config_setting_t *root)
{
	static const char *const known[] = {
		"discord",           "aws",          "state_file", "catch_up",
		"max_extend",        "warn_before",  "health",     "timezone",
		"holidays",          "environments", "audit_max",  "log_level",
		"manual_lease",      "state",        "notify",     "report",
		"holiday_calendars", "locale",       NULL
	};
	struct cfg *cfg = ld->cfg;
	check_unknown(ld, root, "", known);
	load_discord(ld, root);
	load_aws(ld, root);
	get_string(ld, root, "", "state_file", false, &cfg->state_file);
	load_state_group(ld, root);
	get_duration(ld, root, "", "catch_up", &cfg->catch_up);
	get_duration(ld, root, "", "max_extend", &cfg->max_extend);
	get_duration(ld, root, "", "warn_before", &cfg->warn_before);
	/* manual_lease: a duration, or "until-next-stop" (0, the default). */
	const config_setting_t *ml = member(root, "manual_lease");
	if (!(ml && config_setting_type(ml) == CONFIG_TYPE_STRING &&
	      strcmp(config_setting_get_string(ml), "until-next-stop") == 0))
		get_duration(ld, root, "", "manual_lease", &cfg->manual_lease);

	const config_setting_t *h = get_group(ld, root, "", "health", false);
	if (h) {
		static const char *const health_known[] = { "listen", NULL };
		check_unknown(ld, h, "health", health_known);
		if (get_string(ld, h, "health", "listen", true, &cfg->health_listen))
			check_listen(ld, at_of(h, "listen"), "health.listen", cfg->health_listen);
	}
	if (get_string(ld, root, "", "timezone", false, &cfg->timezone))
		check_zone(ld, at_of(root, "timezone"), "timezone", cfg->timezone);
	load_holidays(ld, root);
	struct cfg_reader *outr = new_reader(ld, root, "");
	if (outr)
		load_outputs(outr, cfg);

	long long audit = 0;
	if (get_int(ld, root, "", "audit_max", 1, 1000000, &audit))
		cfg->audit_max = (int)audit;
	enum log_level lvl;
	if (get_string(ld, root, "", "log_level", false, &cfg->log_level) &&
	    log_parse_level(cfg->log_level, &lvl) != 0)
		add_error(ld, at_of(root, "log_level"), "log_level",
			  "\"%s\" is not one of error, warn, info, debug", cfg->log_level);
	load_environments(ld, root);
	cfg_defaults(ld);
}

/* ---- loading ------------------------------------------------------------------ */

/* Opens every zone the schedules use once, for the life of the config (each
 * name was checked by check_zone already; a failure here is a zone file that
 * changed or cannot be parsed). */
static void open_zones(struct loader *ld)
{
	struct cfg *cfg = ld->cfg;
	if (!(cfg->tz = tz_open(cfg->timezone)))
		add_error(ld, NULL, "timezone", "cannot read time zone \"%s\"", cfg->timezone);
	for (size_t i = 0; i < cfg->n_envs; i++) {
		struct cfg_schedule *s = &cfg->envs[i].schedule;
		if (!(s->tz = tz_open(s->timezone)))
			add_error(ld, NULL, "timezone", "cannot read time zone \"%s\"",
				  s->timezone);
	}
}

/* Reads a parsed config; cf must have been read successfully. */
static enum bot_rc load_parsed(config_t *cf, const char *name, const struct cfg_kind *const *kinds,
			       struct cfg **out, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_ENOMEM;
	struct loader ld = { .name = name,
			     .include_dir = config_get_include_dir(cf),
			     .kinds = kinds };
	ld.cfg = calloc(1, sizeof(*ld.cfg));
	if (!ld.cfg)
		goto out;
	ld.cfg->kinds = kinds;
	ld.cfg->catch_up = ld.cfg->max_extend = ld.cfg->warn_before = -1;
	if (!(ld.cfg->path = strdup(name)))
		goto out;
	load_root(&ld, config_root_setting(cf));
	if (ld.oom)
		goto out;
	if (ld.n_errs == 0 && ld.seq == 0)
		open_zones(&ld);
	if (ld.oom)
		goto out;
	if (ld.n_errs > 0 || ld.seq > 0) {
		rc = BOT_ECONFIG;
		goto out;
	}
	*out = ld.cfg;
	ld.cfg = NULL;
	rc = BOT_OK;
out:
	if (rc == BOT_ENOMEM)
		ld.oom = true;
	if (rc != BOT_OK)
		flush_errors(&ld, err, errlen);
	free_errors(&ld);
	while (ld.readers) {
		struct cfg_reader *next = ld.readers->next;
		free(ld.readers);
		ld.readers = next;
	}
	free(ld.env_known);
	cfg_destroy(ld.cfg);
	return rc;
}

static void syntax_error(const config_t *cf, const char *name, char *err, size_t errlen)
{
	const char *file = config_error_file(cf) ? config_error_file(cf) : name;
	const char *text = config_error_text(cf) ? config_error_text(cf) : "syntax error";
	const char *dir = config_get_include_dir(cf);
	bool included = dir && file[0] != '/' && strcmp(file, name) != 0;
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s:%d: %s\n", included ? dir : "", included ? "/" : "",
			 file, config_error_line(cf), text);
}

enum bot_rc cfg_load(const char *path, const struct cfg_kind *const *kinds, struct cfg **out,
		     char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	/* libconfig only says "file I/O error"; ask the system why first. */
	FILE *probe = fopen(path, "r");
	if (!probe) {
		if (err && errlen)
			snprintf(err, errlen, "%s:0: cannot read the config file: %s\n", path,
				 strerror(errno));
		return BOT_ECONFIG;
	}
	fclose(probe);

	config_t cf;
	config_init(&cf);
	/* @include "x.cfg" is resolved next to the including file. */
	char *dir = strdup(path);
	if (!dir) {
		config_destroy(&cf);
		return BOT_ENOMEM;
	}
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		config_set_include_dir(&cf, *dir ? dir : "/");
	}
	enum bot_rc rc;
	if (!config_read_file(&cf, path)) {
		syntax_error(&cf, path, err, errlen);
		rc = BOT_ECONFIG;
	} else {
		rc = load_parsed(&cf, path, kinds, out, err, errlen);
	}
	config_destroy(&cf);
	free(dir);
	return rc;
}

enum bot_rc cfg_load_string(const char *text, const char *name, const struct cfg_kind *const *kinds,
			    struct cfg **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	config_t cf;
	config_init(&cf);
	enum bot_rc rc;
	if (!config_read_string(&cf, text)) {
		syntax_error(&cf, name, err, errlen);
		rc = BOT_ECONFIG;
	} else {
		rc = load_parsed(&cf, name, kinds, out, err, errlen);
	}
	config_destroy(&cf);
	return rc;
}

void cfg_free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void env_free(struct cfg_env *e)
{
	free(e->aws.region);
	free(e->aws.assume_role);
	free(e->aws.external_id);
	cfg_free_strv(e->regions, e->n_regions);
	for (size_t i = 0; i < e->n_members; i++)
		env_free(&e->members[i]);
	free(e->members);
	free(e->name);
	if (e->kind && e->kind->free_spec)
		e->kind->free_spec(e->spec);
}

void cfg_destroy(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_envs; i++) {
		struct cfg_env *e = &cfg->envs[i];
		env_free(e);
		free(e->schedule.start_expr);
		free(e->schedule.stop_expr);
		free(e->schedule.timezone);
		tz_destroy(e->schedule.tz);
		free_env_outputs(e);
	}
	free_outputs(cfg);
	free(cfg->envs);
	free(cfg->path);
	free(cfg->application_id);
	free(cfg->guild_id);
	free(cfg->channel_id);
	free(cfg->api_base);
	free(cfg->token_file);
	cfg_free_strv(cfg->operator_roles, cfg->n_operator_roles);
	cfg_free_strv(cfg->admin_roles, cfg->n_admin_roles);
	free(cfg->region);
	free(cfg->endpoint_url);
	free(cfg->profile);
	free(cfg->exclude_tag);
	free(cfg->state_file);
	free(cfg->state_table);
	free(cfg->state_region);
	free(cfg->state_replica);
	free(cfg->health_listen);
	free(cfg->timezone);
	tz_destroy(cfg->tz);
	free(cfg->log_level);
	free(cfg->holidays);
	free(cfg);
}

const struct tz *cfg_env_tz(const struct cfg *cfg, const struct cfg_env *env)
{
	env = cfg_env_root(env);
	return env && env->schedule.tz ? env->schedule.tz : cfg->tz;
}

const struct cfg_env *cfg_find_env(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_envs; i++)
		if (cfg->envs[i].name && strcmp(cfg->envs[i].name, name) == 0)
			return &cfg->envs[i];
	return NULL;
}

const char *cfg_kind_name(const struct cfg_kind *kind)
{
	return kind ? kind->name : "?";
}

/* ---- the token -------------------------------------------------------------- */

static void trim_right(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* Never prints the token itself, only where it was looked for. */
enum bot_rc cfg_discord_token(const struct cfg *cfg, char **out, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_ECONFIG;
	char *tok = NULL;
	int fd = -1;
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';

	const char *envtok = getenv("DISCORD_TOKEN");
	if (envtok && *envtok) {
		rc = BOT_ENOMEM;
		if (!(tok = strdup(envtok)))
			goto out;
	} else if (cfg && cfg->token_file) {
		fd = open(cfg->token_file, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			snprintf(err, errlen, "%s: discord.token_file \"%s\": %s", cfg->path,
				 cfg->token_file, strerror(errno));
			goto out;
		}
		if (st.st_mode & (S_IRGRP | S_IROTH))
			log_warn("config",
				 "msg=\"token file is readable by group or others; chmod 600 it\" "
				 "file=\"%s\"",
				 cfg->token_file);
		rc = BOT_ENOMEM;
		if (!(tok = calloc(1, CFG_TOKEN_MAX + 1)))
			goto out;
		size_t used = 0;
		ssize_t r;
		while (used < CFG_TOKEN_MAX &&
		       (r = read(fd, tok + used, CFG_TOKEN_MAX - used)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = BOT_ECONFIG;
				snprintf(err, errlen, "%s: discord.token_file \"%s\": %s",
					 cfg->path, cfg->token_file, strerror(errno));
				goto out;
			}
			used += (size_t)r;
		}
		rc = BOT_ECONFIG;
		if (used >= CFG_TOKEN_MAX || memchr(tok, '\0', used)) {
			snprintf(err, errlen, "%s: discord.token_file \"%s\" does not hold a token",
				 cfg->path, cfg->token_file);
			goto out;
		}
	} else {
		snprintf(err, errlen,
			 "%s: no Discord token: set $DISCORD_TOKEN or discord.token_file",
			 cfg ? cfg->path : "config");
		goto out;
	}
	trim_right(tok);
	rc = BOT_ECONFIG;
	if (!*tok || strpbrk(tok, " \t\r\n")) {
		snprintf(err, errlen, "%s: the Discord token is empty or has spaces in it",
			 cfg ? cfg->path : "config");
		goto out;
	}
	log_add_secret(tok);
	*out = tok;
	tok = NULL;
	rc = BOT_OK;
out:
	if (fd >= 0)
		close(fd);
	free(tok);
	return rc;
}

/* ---- summary ------------------------------------------------------------------ */

static void print_list(FILE *out, char *const *v, size_t n, const char *none)
{
	if (n == 0)
		fputs(none, out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
}

static void print_schedule(FILE *out, const char *what, const char *expr, const char *zone)
{
	char words[160];
	if (!expr) {
		fprintf(out, "      %-6s never (manual only)\n", what);
		return;
	}
	cron_describe(expr, words, sizeof(words));
	fprintf(out, "      %-6s %s (%s, \"%s\")\n", what, words, zone, expr);
}

/* "in account 222222222222 (role ...), regions a, b": where env's calls
 * go when not the daemon's own; nothing otherwise. */
void cfg_print_target_aws(FILE *out, const struct cfg_env *e, const char *indent)
{
	struct cfg_aws_target t = cfg_env_target(e);
	if (!t.assume_role && !t.region && !e->regions && !e->all_regions)
		return;
	fprintf(out, "%s", indent);
	if (t.assume_role) {
		const char *acct = cfg_role_account(t.assume_role);
		fprintf(out, "account %.12s as %s%s", acct ? acct : "?", t.assume_role,
			t.external_id ? " (with an external id)" : "");
	}
	if (t.region)
		fprintf(out, "%sregion %s", t.assume_role ? ", " : "", t.region);
	if (e->all_regions)
		fprintf(out, "%severy enabled region", t.assume_role ? ", " : "");
	for (size_t i = 0; i < e->n_regions; i++)
		fprintf(out, "%s%s",
			i               ? ", "
			: t.assume_role ? ", regions "
					: "regions ",
			e->regions[i]);
	fprintf(out, "\n");
}

void cfg_print_summary(const struct cfg *cfg, FILE *out)
{
	char a[32], b[32], c[32];
	fprintf(out, "%s: OK\n\n", cfg->path);

	fprintf(out, "discord   application %s, channel %s\n", cfg->application_id,
		cfg->channel_id);
	if (cfg->guild_id)
		fprintf(out, "          commands registered to guild %s\n", cfg->guild_id);
	else
		fprintf(out, "          commands registered globally (no guild_id)\n");
	fprintf(out, "          api %s\n", cfg->api_base);
	const char *envtok = getenv("DISCORD_TOKEN");
	if (envtok && *envtok)
		fprintf(out, "          token from $DISCORD_TOKEN\n");
	else if (cfg->token_file)
		fprintf(out, "          token from %s%s\n", cfg->token_file,
			access(cfg->token_file, R_OK) == 0 ? "" : " (NOT READABLE)");
	else
		fprintf(out, "          token: none yet (set $DISCORD_TOKEN or token_file)\n");
	fprintf(out, "roles     operator: ");
	print_list(out, cfg->operator_roles, cfg->n_operator_roles, "(none)");
	fprintf(out, "\n          admin:    ");
	print_list(out, cfg->admin_roles, cfg->n_admin_roles, "(none)");
	fprintf(out, "\naws       region %s", cfg->region);
	if (cfg->profile)
		fprintf(out, ", profile %s", cfg->profile);
	if (cfg->endpoint_url)
		fprintf(out, ", endpoint %s", cfg->endpoint_url);
	fprintf(out, "\n          exempt: resources tagged %s = \"true\" or %s-until = \"DATE\"",
		cfg->exclude_tag, cfg->exclude_tag);
	if (cfg->state_ddb)
		fprintf(out,
			"\nstate     DynamoDB table %s in %s, lease %d s (audit keeps %d "
			"entries)\n",
			cfg->state_table, cfg->state_region ? cfg->state_region : cfg->region,
			cfg->state_lease_s, cfg->audit_max);
	else
		fprintf(out, "\nstate     %s (audit keeps %d entries)\n", cfg->state_file,
			cfg->audit_max);
	when_format_duration(cfg->catch_up, a, sizeof(a));
	when_format_duration(cfg->max_extend, b, sizeof(b));
	when_format_duration(cfg->warn_before, c, sizeof(c));
	fprintf(out, "timing    catch-up %s, max extend %s, stop warning %s%s\n", a, b,
		cfg->warn_before ? c : "off", cfg->warn_before ? " before" : "");
	fprintf(out, "health    %s\n", cfg->health_listen ? cfg->health_listen : "off");
	fprintf(out, "zone      %s (default for schedules)\n", cfg->timezone);
	fprintf(out, "holidays  ");
	if (cfg->n_holidays == 0)
		fprintf(out, "(none)");
	for (size_t i = 0; i < cfg->n_holidays; i++) {
		when_format_date(cfg->holidays[i], a, sizeof(a));
		fprintf(out, "%s%s", i ? ", " : "", a);
	}
	fprintf(out, "\n");
	print_outputs(cfg, out);
	fprintf(out, "\nenvironments (%zu)\n", cfg->n_envs);
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct cfg_env *e = &cfg->envs[i];
		fprintf(out, "  %-10s %-5s  ", e->name, cfg_kind_name(e->kind));
		if (e->kind->print_target)
			e->kind->print_target(e, out);
		fprintf(out, ", %.3f USD/h%s%s\n", e->hourly_cost,
			e->protected_env ? ", protected" : "", e->enforce ? ", enforced" : "");
		cfg_print_target_aws(out, e, "             ");
		if (e->kind->print_details)
			e->kind->print_details(e, out);
		print_schedule(out, "start", e->schedule.start_expr, e->schedule.timezone);
		print_schedule(out, "stop", e->schedule.stop_expr, e->schedule.timezone);
	}
}

/* ---- what goes out: events, the report, holiday calendars, locale -------------
 * Read through the kinds' reader, so they report their mistakes exactly like
 * the rest of the schema. (Kept in this file: a file of its own would call
 * the reader here and be called from here, a cycle tests/check_layering.py
 * refuses.) */

bool cfg_locale_known(const char *code)
{
	return code && (strcmp(code, "en") == 0 || strcmp(code, "ko") == 0);
}

/* ---- events ---- */

static bool sink_name_ok(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n < CFG_SINK_NAME_MAX &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE; *region (a pointer into
 * arn, length *rlen) when it is one. */
static bool arn_split(const char *arn, const char *service, const char **region, size_t *rlen)
{
	char pre[32];
	if (strncmp(arn, "arn:", 4) != 0)
		return false;
	const char *p = strchr(arn + 4, ':');
	if (!p)
		return false;
	snprintf(pre, sizeof(pre), ":%s:", service);
	if (strncmp(p, pre, strlen(pre)) != 0)
		return false;
	const char *r = p + strlen(pre), *e = strchr(r, ':');
	if (!e || e == r)
		return false;
	const char *acct = e + 1, *ae = strchr(acct, ':');
	if (!ae || ae - acct != 12 || strspn(acct, "0123456789") != 12 || !ae[1])
		return false;
	*region = r;
	*rlen = (size_t)(e - r);
	return true;
}

/* The region of an SNS topic or EventBridge bus ARN, NULL (aws.region)
 * for a bus name. */
static char *arn_region(struct cfg_reader *r, const char *arn, const char *service)
{
	const char *reg;
	size_t n;
	char *v = NULL;
	if (arn_split(arn, service, &reg, &n) && !(v = strndup(reg, n)))
		cfg_read_oom(r);
	return v;
}

static struct cfg_sink *new_sink(struct cfg_reader *r, struct cfg *cfg, const char *name)
{
	if (cfg->n_sinks >= CFG_MAX_SINKS) {
		cfg_read_error(r, NULL, "more than %d destinations", CFG_MAX_SINKS);
		return NULL;
	}
	struct cfg_sink *s = &cfg->sinks[cfg->n_sinks];
	for (size_t i = 0; i < cfg->n_sinks; i++)
		if (strcmp(cfg->sinks[i].name, name) == 0)
			cfg_read_error(r, "name", "duplicate destination name \"%s\"", name);
	if (!(s->name = strdup(name))) {
		cfg_read_oom(r);
		return NULL;
	}
	cfg->n_sinks++;
	return s;
}

/* webhooks = ( { url; format; secret_file; name; } ) */
static void read_webhook(struct cfg_reader *g, struct cfg *cfg, size_t i)
{
	static const char *const known[] = { "url", "format", "secret_file", "name", NULL };
	char *name = NULL, *url = NULL, *format = NULL, *secret = NULL, dflt[32];
	cfg_read_known(g, known);
	if (cfg_read_string(g, "name", CFG_OPTIONAL, &name) && !sink_name_ok(name))
		cfg_read_error(g, "name",
			       "\"%s\" is not a destination name (1 to %d of A-Z a-z 0-9 _ -)",
			       name, CFG_SINK_NAME_MAX - 1);
	bool have_url = cfg_read_url(g, "url", CFG_REQUIRED, &url);
	bool slack = false;
	if (cfg_read_string(g, "format", CFG_OPTIONAL, &format)) {
		if (strcmp(format, "slack") == 0)
			slack = true;
		else if (strcmp(format, "json") != 0)
			cfg_read_error(g, "format", "\"%s\" is not one of \"json\", \"slack\"",
				       format);
	}
	if (cfg_read_string(g, "secret_file", CFG_OPTIONAL, &secret) && secret[0] != '/')
		cfg_read_error(g, "secret_file", "\"%s\" must be an absolute path", secret);
	snprintf(dflt, sizeof(dflt), "webhook-%zu", i + 1);
	struct cfg_sink *s = have_url ? new_sink(g, cfg, name ? name : dflt) : NULL;
	if (s) {
		s->kind = CFG_SINK_WEBHOOK;
		s->url = url;
		s->slack = slack;
		s->secret_file = secret;
		url = secret = NULL;
	}
	free(name);
	free(url);
	free(format);
	free(secret);
}

/* notify = { webhooks = ( ... ); sns_topic_arn; eventbridge_bus; }: the
 * destinations of events out. sns_topic_arn may also be a list. */
static void load_sinks(struct cfg_reader *root, struct cfg *cfg)
{
	static const char *const known[] = { "webhooks", "sns_topic_arn", "eventbridge_bus", NULL };
	struct cfg_reader *g = cfg_read_group(root, "notify", false);
	if (!g)
		return;
	cfg_read_known(g, known);
	if (!(cfg->sinks = calloc(CFG_MAX_SINKS, sizeof(*cfg->sinks)))) {
		cfg_read_oom(g);
		return;
	}
	size_t n = 0;
	struct cfg_reader *list = cfg_read_list(g, "webhooks", "url = \"https://...\";", &n);
	for (size_t i = 0; list && i < n; i++) {
		struct cfg_reader *w = cfg_read_elem(list, i, "url = \"https://...\";");
		if (w)
			read_webhook(w, cfg, i);
	}
	char **topics = NULL;
	size_t n_topics = 0;
	cfg_read_string_or_strings(g, "sns_topic_arn", &topics, &n_topics);
	for (size_t i = 0; i < n_topics; i++) {
		const char *reg;
		size_t rl;
		char name[32];
		if (!arn_split(topics[i], "sns", &reg, &rl)) {
			cfg_read_error(
				g, "sns_topic_arn",
				"\"%s\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
				topics[i]);
			continue;
		}
		snprintf(name, sizeof(name), n_topics > 1 ? "sns-%zu" : "sns", i + 1);
		struct cfg_sink *s = new_sink(g, cfg, name);
		if (!s)
			break;
		s->kind = CFG_SINK_SNS;
		s->topic_arn = topics[i];
		s->region = arn_region(g, topics[i], "sns");
		topics[i] = NULL;
	}
	cfg_free_strv(topics, n_topics);
	char *bus = NULL;
	if (cfg_read_string(g, "eventbridge_bus", CFG_OPTIONAL, &bus)) {
		const char *reg;
		size_t rl;
		struct cfg_sink *s = NULL;
		if (strncmp(bus, "arn:", 4) == 0 && !arn_split(bus, "events", &reg, &rl))
			cfg_read_error(g, "eventbridge_bus",
				       "\"%s\" is neither a bus name nor an EventBridge bus ARN",
				       bus);
		else if ((s = new_sink(g, cfg, "eventbridge"))) {
			s->kind = CFG_SINK_EVENTBRIDGE;
			s->bus = bus;
			s->region = arn_region(g, bus, "events");
			bus = NULL;
		}
	}
	free(bus);
}

/* ---- the weekly report ---- */

static void load_report(struct cfg_reader *root, struct cfg *cfg)
{
	static const char *const known[] = { "schedule", "cost_explorer", "cost_tag", NULL };
	struct cfg_reader *g = cfg_read_group(root, "report", false);
	if (!g)
		return;
	cfg_read_known(g, known);
	cfg->report_on = true;
	if (cfg_read_string(g, "schedule", CFG_OPTIONAL, &cfg->report_expr)) {
		char why[160] = "";
		if (cron_parse(cfg->report_expr, &cfg->report_cron, why, sizeof(why)) != 0) {
			cfg_read_error(g, "schedule", "bad cron \"%s\": %s", cfg->report_expr,
				       why[0] ? why : "not a 5-field cron expression");
			free(cfg->report_expr);
			cfg->report_expr = NULL;
		}
	}
	cfg_read_bool(g, "cost_explorer", &cfg->report_ce);
	if (cfg_read_string(g, "cost_tag", CFG_OPTIONAL, &cfg->report_cost_tag) &&
	    strlen(cfg->report_cost_tag) > 128)
		cfg_read_error(g, "cost_tag", "longer than a tag key may be (128)");
	if (!cfg->report_cost_tag && !(cfg->report_cost_tag = strdup("envbot:env")))
		cfg_read_oom(g);
}

/* ---- holiday calendars ---- */

/* "https://x/ko.ics" and "/etc/envbot/ko.ics" are both "ko". */
static char *calendar_name(const char *source)
{
	const char *b = source, *q = source + strcspn(source, "?#");
	for (const char *p = source; p < q; p++)
		if (*p == '/')
			b = p + 1;
	size_t n = (size_t)(q - b);
	if (n > 4 && strncmp(q - 4, ".ics", 4) == 0)
		n -= 4;
	return strndup(b, n);
}

static void load_calendars(struct cfg_reader *root, struct cfg *cfg)
{
	char **v = NULL;
	size_t n = 0;
	cfg_read_strings(root, "holiday_calendars", &v, &n);
	if (!v)
		return;
	if (n > CFG_MAX_CALENDARS) {
		cfg_read_error(root, "holiday_calendars", "%zu calendars; at most %d", n,
			       CFG_MAX_CALENDARS);
		cfg_free_strv(v, n);
		return;
	}
	if (!(cfg->calendars = calloc(n ? n : 1, sizeof(*cfg->calendars)))) {
		cfg_read_oom(root);
		cfg_free_strv(v, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct cfg_calendar *c = &cfg->calendars[cfg->n_calendars];
		c->is_url = strstr(v[i], "://") != NULL;
		if (c->is_url && !url_allowed(v[i], URL_HTTP)) {
			cfg_read_elem_error(
				root, "holiday_calendars", i,
				"\"%s\" must be https://, or http:// to a loopback host", v[i]);
			continue;
		}
		if (!c->is_url && v[i][0] != '/') {
			cfg_read_elem_error(
				root, "holiday_calendars", i,
				"\"%s\" is neither an https:// URL nor an absolute path", v[i]);
			continue;
		}
		if (!(c->name = calendar_name(v[i]))) {
			cfg_read_oom(root);
			break;
		}
		bool dup = !c->name[0];
		for (size_t k = 0; k < cfg->n_calendars; k++)
			dup = dup || strcmp(cfg->calendars[k].name, c->name) == 0;
		if (dup) {
			cfg_read_elem_error(root, "holiday_calendars", i,
					    "\"%s\": another calendar already has the name \"%s\" "
					    "(its file name without .ics)",
					    v[i], c->name);
			free(c->name);
			c->name = NULL;
			continue;
		}
		c->source = v[i];
		v[i] = NULL;
		cfg->n_calendars++;
	}
	cfg_free_strv(v, n);
}

static void load_outputs(struct cfg_reader *root, struct cfg *cfg)
{
	load_sinks(root, cfg);
	load_report(root, cfg);
	load_calendars(root, cfg);
	if (cfg_read_string(root, "locale", CFG_OPTIONAL, &cfg->locale) &&
	    !cfg_locale_known(cfg->locale))
		cfg_read_error(root, "locale", "\"%s\" is not one of \"en\", \"ko\"", cfg->locale);
	if (!cfg->locale && !(cfg->locale = strdup("en")))
		cfg_read_oom(root);
}

static void load_env_outputs(struct cfg_reader *r, const struct cfg *cfg, struct cfg_env *env)
{
	if (!cfg_read_strings(r, "holidays_from", &env->holidays_from, &env->n_holidays_from) &&
	    !env->holidays_from)
		return;
	env->holidays_from_set = true;
	for (size_t i = 0; i < env->n_holidays_from; i++) {
		bool found = false;
		for (size_t k = 0; k < cfg->n_calendars && !found; k++)
			found = strcmp(cfg->calendars[k].name, env->holidays_from[i]) == 0;
		if (!found)
			cfg_read_elem_error(r, "holidays_from", i,
					    "\"%s\" is not one of holiday_calendars' names",
					    env->holidays_from[i]);
	}
}

static void free_env_outputs(struct cfg_env *env)
{
	cfg_free_strv(env->holidays_from, env->n_holidays_from);
}

static void free_outputs(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		struct cfg_sink *s = &cfg->sinks[i];
		free(s->name);
		free(s->url);
		free(s->secret_file);
		free(s->topic_arn);
		free(s->bus);
		free(s->region);
	}
	free(cfg->sinks);
	free(cfg->report_expr);
	free(cfg->report_cost_tag);
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		free(cfg->calendars[i].name);
		free(cfg->calendars[i].source);
	}
	free(cfg->calendars);
	free(cfg->locale);
}

static void print_outputs(const struct cfg *cfg, FILE *out)
{
	static const char *const kinds[] = { "webhook", "sns", "eventbridge" };
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct cfg_sink *s = &cfg->sinks[i];
		/* A webhook's path is its key (Slack's is): scheme and host only. */
		char shown[300], scheme[16] = "", host[256] = "";
		if (s->kind == CFG_SINK_WEBHOOK)
			url_parts(s->url, scheme, sizeof(scheme), host, sizeof(host));
		snprintf(shown, sizeof(shown), "%s://%s/\xE2\x80\xA6", scheme, host);
		const char *to = s->kind == CFG_SINK_WEBHOOK ? shown
				 : s->kind == CFG_SINK_SNS   ? s->topic_arn
							     : s->bus;
		fprintf(out, "events    %s (%s%s%s) -> %s%s%s\n", s->name, kinds[s->kind],
			s->slack ? ", slack" : "", s->secret_file ? ", signed" : "", to,
			s->region ? " in " : "", s->region ? s->region : "");
	}
	if (cfg->report_on)
		fprintf(out, "report    weekly %s%s\n",
			cfg->report_expr ? cfg->report_expr : "on /report only",
			cfg->report_ce ? ", with Cost Explorer" : "");
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		const struct cfg_calendar *cal = &cfg->calendars[i];
		/* A private calendar's address carries its key: the host only. */
		char scheme[16] = "", host[256] = "";
		if (cal->is_url &&
		    url_parts(cal->source, scheme, sizeof(scheme), host, sizeof(host)))
			fprintf(out, "calendar  %s <- %s://%s/\xE2\x80\xA6\n", cal->name, scheme,
				host);
		else
			fprintf(out, "calendar  %s <- %s\n", cal->name, cal->source);
	}
	if (cfg->locale && strcmp(cfg->locale, "en") != 0)
		fprintf(out, "locale    %s (the channel's scheduled posts)\n", cfg->locale);
}
