/* The shared config files (~/.aws/config and ~/.aws/credentials, the SDKs'
 * INI dialect) and the environment, as the credential chain reads them:
 * profiles and their keys, nothing more. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../bot/core/array.h"
#include "creds_internal.h"

const char *creds_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static void ini_note_profile(struct ini *ini, const char *name)
{
	for (size_t i = 0; i < ini->n_profiles; i++)
		if (strcmp(ini->profiles[i], name) == 0)
			return;
	char **p = realloc(ini->profiles, (ini->n_profiles + 1) * sizeof(*p));
	if (!p)
		return;
	ini->profiles = p;
	p[ini->n_profiles] = strdup(name);
	if (p[ini->n_profiles])
		ini->n_profiles++;
}

/* Parses path; config-file sections are "[default]" / "[profile X]",
 * credentials-file sections "[X]". Other sections (sso-session, services)
 * are ignored, as are indented sub-settings. */
static void ini_load(struct ini *ini, const char *path, bool credentials)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	char section[256] = "";
	bool in_profile = false;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			in_profile = false;
			if (!end)
				continue;
			*end = '\0';
			char *name = trim(s + 1);
			if (credentials) {
				snprintf(section, sizeof(section), "%s", name);
				in_profile = true;
			} else if (strcmp(name, "default") == 0) {
				snprintf(section, sizeof(section), "default");
				in_profile = true;
			} else if (strncmp(name, "profile", 7) == 0 &&
				   (name[7] == ' ' || name[7] == '\t')) {
				snprintf(section, sizeof(section), "%s", trim(name + 8));
				in_profile = true;
			}
			if (in_profile)
				ini_note_profile(ini, section);
			continue;
		}
		if (!in_profile)
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		if (array_grow(&ini->v, &ini->cap, ini->n + 1, sizeof(*ini->v), 0) < 0)
			break;
		struct ini_entry *e = &ini->v[ini->n];
		e->section = strdup(section);
		e->key = strdup(key);
		e->value = strdup(value);
		e->from_credentials = credentials;
		if (!e->section || !e->key || !e->value) {
			free(e->section);
			free(e->key);
			free(e->value);
			break;
		}
		ini->n++;
	}
	fclose(f);
}

void creds_ini_free(struct ini *ini)
{
	for (size_t i = 0; i < ini->n; i++) {
		free(ini->v[i].section);
		free(ini->v[i].key);
		free(ini->v[i].value);
	}
	free(ini->v);
	for (size_t i = 0; i < ini->n_profiles; i++)
		free(ini->profiles[i]);
	free(ini->profiles);
	memset(ini, 0, sizeof(*ini));
}

/* The credentials file wins over the config file for the same key. */
const char *creds_ini_get(const struct ini *ini, const char *profile, const char *key)
{
	const char *found = NULL;
	for (size_t i = 0; i < ini->n; i++) {
		const struct ini_entry *e = &ini->v[i];
		if (strcmp(e->section, profile) != 0 || strcasecmp(e->key, key) != 0)
			continue;
		if (e->from_credentials)
			return *e->value ? e->value : NULL;
		if (!found && *e->value)
			found = e->value;
	}
	return found;
}

bool creds_ini_has_profile(const struct ini *ini, const char *profile)
{
	for (size_t i = 0; i < ini->n_profiles; i++)
		if (strcmp(ini->profiles[i], profile) == 0)
			return true;
	return false;
}

void creds_ini_load_all(struct ini *ini)
{
	char path[4096];
	const char *home = creds_env("HOME");
	const char *cfgf = creds_env("AWS_CONFIG_FILE"),
		   *credf = creds_env("AWS_SHARED_CREDENTIALS_FILE");
	if (cfgf)
		ini_load(ini, cfgf, false);
	else if (home) {
		snprintf(path, sizeof(path), "%s/.aws/config", home);
		ini_load(ini, path, false);
	}
	if (credf)
		ini_load(ini, credf, true);
	else if (home) {
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
		ini_load(ini, path, true);
	}
}
