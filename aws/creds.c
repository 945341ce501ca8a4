/* The credential chain, in the standard order: environment; the profile
 * (AWS_PROFILE or aws.profile) in ~/.aws/credentials and ~/.aws/config with
 * static keys, role_arn + source_profile/credential_source (STS AssumeRole),
 * web_identity_token_file or credential_process; AWS_WEB_IDENTITY_TOKEN_FILE;
 * ECS container credentials; EC2 IMDSv2. Which source applies is decided at
 * start from files and environment; fetching is asynchronous on the loop:
 * STS through the signed-call machinery, ECS/IMDS as plain curl transfers,
 * credential_process as a child (posix_spawn) whose stdout pipe is watched
 * with loop_fd_add, so nothing blocks. Temporary credentials are refreshed
 * 15 minutes before Expiration while calls keep using the current ones. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bot/core/log.h"
#include "../bot/core/url.h"
#include "aws_core.h"

extern char **environ;

#define REFRESH_AHEAD_S (15 * 60)
#define MIN_VALID_S     60 /* below this the current credentials are not used */
#define RETRY_AFTER_S   30 /* after a failed fetch */
/* After a successful fetch, the next early refresh waits this long: a
 * provider that keeps handing out credentials already inside the refresh
 * window (IMDS does so in the last 15 minutes) would otherwise be asked again
 * on every request. Below MIN_VALID_S left, a fetch starts regardless. */
#define REFRESH_EVERY_S    60
#define CRED_BODY_MAX      (64 * 1024)
#define PROCESS_TIMEOUT_MS 60000
#define MAX_PROFILE_DEPTH  5

enum cred_kind { CK_STATIC, CK_ASSUME_ROLE, CK_WEB_IDENTITY, CK_PROCESS, CK_ECS, CK_IMDS };

struct cred_provider {
	enum cred_kind kind;
	char *label;
	struct aws_creds stat; /* CK_STATIC */
	char *role_arn, *session_name, *external_id;
	long duration;
	struct cred_provider *source; /* CK_ASSUME_ROLE */
	char *token_file;             /* CK_WEB_IDENTITY */
	char *command;                /* CK_PROCESS */
	char *url;                    /* CK_ECS: full URL; CK_IMDS: base */
	char *auth_token, *auth_token_file;
};

struct fetch;
typedef void (*fetch_done_fn)(void *arg, enum bot_rc rc, const struct aws_cred_fields *f,
			      const char *why);

struct sts_cred_op {
	struct aws_op op;
	struct fetch *f;
};

struct fetch {
	struct aws *aws;
	struct cred_provider *p;
	fetch_done_fn done;
	void *done_arg;
	struct fetch *prev, *next; /* cred_state.fetches */

	struct fetch *child;     /* CK_ASSUME_ROLE: the source's fetch */
	struct aws_creds src;    /* CK_ASSUME_ROLE: source credentials (owned) */
	struct sts_cred_op *sts; /* STS call in flight */

	CURL *easy; /* ECS / IMDS */
	struct curl_slist *hdrs;
	struct abuf resp;
	int step;
	char imds_token[128];
	char imds_role[128];

	pid_t pid; /* CK_PROCESS */
	int fd;
	struct loop_timer *timer;
	uint64_t deadline_ms;
	bool eof;
};

struct cred_state {
	struct cred_provider *provider; /* NULL: nothing found */
	char *none_reason;
	struct aws_creds cur;
	bool have;
	bool failed;
	int64_t retry_after;   /* after a failure: no fetch before this */
	int64_t refresh_after; /* after a success: no early refresh before this */
	char error[512];
	struct fetch *top;     /* the fetch under way, if any */
	struct fetch *fetches; /* every live fetch, for cleanup */
};

/* ---- small helpers ---- */

static void creds_clear(struct aws_creds *c)
{
	free(c->access_key);
	free(c->secret_key);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static int creds_set(struct aws_creds *c, const char *ak, const char *sk, const char *tok,
		     int64_t exp)
{
	struct aws_creds n = { 0 };
	n.access_key = strdup(ak);
	n.secret_key = strdup(sk);
	n.token = tok && *tok ? strdup(tok) : NULL;
	n.expiration = exp;
	if (!n.access_key || !n.secret_key || (tok && *tok && !n.token)) {
		creds_clear(&n);
		return -1;
	}
	creds_clear(c);
	*c = n;
	log_add_secret(sk);
	if (tok && *tok)
		log_add_secret(tok);
	return 0;
}

static void provider_free(struct cred_provider *p)
{
	if (!p)
		return;
	creds_clear(&p->stat);
	free(p->label);
	free(p->role_arn);
	free(p->session_name);
	free(p->external_id);
	provider_free(p->source);
	free(p->token_file);
	free(p->command);
	free(p->url);
	free(p->auth_token);
	free(p->auth_token_file);
	free(p);
}

static struct cred_provider *provider_new(enum cred_kind kind, const char *label)
{
	struct cred_provider *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind;
	p->label = strdup(label);
	if (!p->label) {
		free(p);
		return NULL;
	}
	return p;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Reads a small file whole (token files, at most 64 KiB). New string or
 * NULL. */
static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct abuf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len < CRED_BODY_MAX)
		abuf_add(&b, buf, n);
	fclose(f);
	char *s = abuf_take(&b);
	if (s) {
		size_t l = strlen(s);
		while (l && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
			s[--l] = '\0';
	}
	return s;
}

/* ---- shared config files ---- */

struct ini_entry {
	char *section; /* profile name */
	char *key;
	char *value;
	bool from_credentials;
};

struct ini {
	struct ini_entry *v;
	size_t n, cap;
	bool sections_cfg; /* some profile names seen */
	char **profiles;   /* distinct profile names */
	size_t n_profiles;
};

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
		if (ini->n == ini->cap) {
			size_t cap = ini->cap ? ini->cap * 2 : 32;
			struct ini_entry *v = realloc(ini->v, cap * sizeof(*v));
			if (!v)
				break;
			ini->v = v;
			ini->cap = cap;
		}
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

static void ini_free(struct ini *ini)
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
static const char *ini_get(const struct ini *ini, const char *profile, const char *key)
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

static bool ini_has_profile(const struct ini *ini, const char *profile)
{
	for (size_t i = 0; i < ini->n_profiles; i++)
		if (strcmp(ini->profiles[i], profile) == 0)
			return true;
	return false;
}

static void ini_load_all(struct ini *ini)
{
	char path[4096];
	const char *home = env("HOME");
	const char *cfgf = env("AWS_CONFIG_FILE"), *credf = env("AWS_SHARED_CREDENTIALS_FILE");
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

static struct cred_provider *static_provider(const char *label, const char *ak, const char *sk,
					     const char *tok)
{
	struct cred_provider *p = provider_new(CK_STATIC, label);
	if (p && creds_set(&p->stat, ak, sk, tok, 0) != 0) {
		provider_free(p);
		p = NULL;
	}
	return p;
}

static struct cred_provider *ecs_provider(char *err, size_t errlen);
static struct cred_provider *imds_provider(void);

static char *label_of(const char *fmt, const char *a)
{
	struct abuf b = { 0 };
	abuf_addf(&b, fmt, a);
	return abuf_take(&b);
}

/* A provider for profile, or NULL: *err set on a broken profile, empty when
 * the profile simply has no credentials. */
static struct cred_provider *profile_provider(const struct ini *ini, const char *profile, int depth,
					      char *err, size_t errlen)
{
	struct cred_provider *p = NULL;
	char *label = label_of("profile:%s", profile);
	if (!label) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (depth > MAX_PROFILE_DEPTH) {
		snprintf(err, errlen, "profile %s: source_profile chain too long (a loop?)",
			 profile);
		goto out;
	}
	const char *role = ini_get(ini, profile, "role_arn");
	const char *ak = ini_get(ini, profile, "aws_access_key_id");
	const char *sk = ini_get(ini, profile, "aws_secret_access_key");
	if (role) {
		const char *srcp = ini_get(ini, profile, "source_profile");
		const char *csrc = ini_get(ini, profile, "credential_source");
		const char *wif = ini_get(ini, profile, "web_identity_token_file");
		struct cred_provider *src = NULL;
		if (wif) {
			p = provider_new(CK_WEB_IDENTITY, label);
			if (p) {
				p->token_file = strdup(wif);
				p->role_arn = strdup(role);
			}
			goto session;
		}
		if (srcp) {
			if (strcmp(srcp, profile) == 0 && ak && sk)
				src = static_provider(label, ak, sk,
						      ini_get(ini, profile, "aws_session_token"));
			else if (!ini_has_profile(ini, srcp))
				snprintf(err, errlen, "profile %s: source_profile %s not found",
					 profile, srcp);
			else
				src = profile_provider(ini, srcp, depth + 1, err, errlen);
			if (!src && !*err)
				snprintf(err, errlen,
					 "profile %s: source_profile %s has no credentials",
					 profile, srcp);
		} else if (csrc) {
			if (strcmp(csrc, "Environment") == 0) {
				if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY"))
					src = static_provider("env", env("AWS_ACCESS_KEY_ID"),
							      env("AWS_SECRET_ACCESS_KEY"),
							      env("AWS_SESSION_TOKEN"));
				else
					snprintf(err, errlen,
						 "profile %s: credential_source Environment but "
						 "AWS_ACCESS_KEY_ID is not set",
						 profile);
			} else if (strcmp(csrc, "Ec2InstanceMetadata") == 0) {
				src = imds_provider();
			} else if (strcmp(csrc, "EcsContainer") == 0) {
				src = ecs_provider(err, errlen);
				if (!src && !*err)
					snprintf(err, errlen,
						 "profile %s: credential_source EcsContainer but "
						 "no AWS_CONTAINER_CREDENTIALS_*_URI",
						 profile);
			} else {
				snprintf(err, errlen, "profile %s: unknown credential_source %s",
					 profile, csrc);
			}
		} else {
			snprintf(err, errlen,
				 "profile %s: role_arn needs source_profile or credential_source",
				 profile);
		}
		if (!src)
			goto out;
		p = provider_new(CK_ASSUME_ROLE, label);
		if (!p) {
			provider_free(src);
			goto out;
		}
		p->source = src;
		p->role_arn = strdup(role);
	session:
		if (!p) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		const char *sn = ini_get(ini, profile, "role_session_name");
		const char *ext = ini_get(ini, profile, "external_id");
		const char *dur = ini_get(ini, profile, "duration_seconds");
		p->session_name = sn ? strdup(sn) : NULL;
		p->external_id = ext ? strdup(ext) : NULL;
		p->duration = dur ? strtol(dur, NULL, 10) : 0;
		if (p->duration && (p->duration < 900 || p->duration > 43200)) {
			snprintf(err, errlen, "profile %s: duration_seconds must be 900..43200",
				 profile);
			provider_free(p);
			p = NULL;
		}
		goto out;
	}
	if (ak && sk) {
		p = static_provider(label, ak, sk, ini_get(ini, profile, "aws_session_token"));
		goto out;
	}
	if (ak || sk) {
		snprintf(err, errlen,
			 "profile %s: aws_access_key_id and aws_secret_access_key go together",
			 profile);
		goto out;
	}
	const char *proc = ini_get(ini, profile, "credential_process");
	if (proc) {
		p = provider_new(CK_PROCESS, "process");
		if (p && !(p->command = strdup(proc))) {
			provider_free(p);
			p = NULL;
		}
	}
out:
	free(label);
	return p;
}

/* Hosts the ECS full URI may name (the SDKs' rule): any https URL, or plain
 * http to loopback or to the ECS and EKS link-local agents. The host is the
 * one curl will connect to (url.h), so "http://169.254.170.2:@evil/" names
 * evil, not the agent. */
static bool ecs_url_ok(const char *url)
{
	static const char *const agents[] = { "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]" };
	char scheme[8], host[256];
	if (!url_parts(url, scheme, sizeof(scheme), host, sizeof(host)))
		return false;
	if (strcmp(scheme, "https") == 0)
		return true;
	if (strcmp(scheme, "http") != 0)
		return false;
	if (url_host_is_loopback(host))
		return true;
	for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++)
		if (strcasecmp(host, agents[i]) == 0)
			return true;
	return false;
}

static struct cred_provider *ecs_provider(char *err, size_t errlen)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	struct abuf b = { 0 };
	if (rel)
		abuf_addf(&b, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
	else if (full) {
		if (!ecs_url_ok(full)) {
			snprintf(
				err, errlen,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or the "
				"ECS/EKS agent address");
			return NULL;
		}
		abuf_adds(&b, full);
	} else {
		return NULL;
	}
	struct cred_provider *p = provider_new(CK_ECS, "ecs");
	if (!p) {
		abuf_free(&b);
		return NULL;
	}
	p->url = abuf_take(&b);
	const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	p->auth_token = tok ? strdup(tok) : NULL;
	p->auth_token_file = tokf ? strdup(tokf) : NULL;
	if (tok)
		log_add_secret(tok);
	return p;
}

static struct cred_provider *imds_provider(void)
{
	const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct cred_provider *p = provider_new(CK_IMDS, "imds");
	if (!p)
		return NULL;
	size_t n = strlen(ep ? ep : "http://169.254.169.254");
	p->url = strndup(ep ? ep : "http://169.254.169.254", n);
	while (p->url && n && p->url[n - 1] == '/')
		p->url[--n] = '\0';
	return p;
}

/* ---- init ---- */

enum bot_rc aws_creds_init(struct aws *aws, char *err, size_t errlen)
{
	struct cred_state *st = calloc(1, sizeof(*st));
	struct ini ini = { 0 };
	enum bot_rc rc = BOT_ENOMEM;
	const struct cfg *cfg = aws->cfg;
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	aws->cred = st;
	err[0] = '\0';
	ini_load_all(&ini);

	const char *profile = env("AWS_PROFILE");
	bool explicit_profile = profile != NULL;
	if (!profile && cfg && cfg->profile) {
		profile = cfg->profile;
		explicit_profile = true;
	}
	if (!profile)
		profile = env("AWS_DEFAULT_PROFILE");
	if (!profile)
		profile = "default";

	const char *region = cfg && cfg->region && *cfg->region ? cfg->region : NULL;
	if (!region)
		region = env("AWS_REGION");
	if (!region)
		region = env("AWS_DEFAULT_REGION");
	if (!region)
		region = ini_get(&ini, profile, "region");
	aws->region = strdup(region ? region : "");
	if (!aws->region)
		goto out;
	/* A private CA (a TLS-inspecting proxy, a VPC endpoint behind one):
	 * trusted instead of the system's, as the AWS CLI does. Verification
	 * stays on either way. */
	const char *ca = env("AWS_CA_BUNDLE");
	if (!ca)
		ca = ini_get(&ini, profile, "ca_bundle");
	if (ca) {
		if (access(ca, R_OK) != 0) {
			rc = BOT_ECONFIG;
			snprintf(err, errlen,
				 "AWS CA bundle \"%s\" (AWS_CA_BUNDLE or ca_bundle): %s", ca,
				 strerror(errno));
			goto out;
		}
		aws->ca_bundle = strdup(ca);
		if (!aws->ca_bundle)
			goto out;
	}

	rc = BOT_ECONFIG;
	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		st->provider =
			static_provider("env", env("AWS_ACCESS_KEY_ID"),
					env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"));
	} else {
		if (explicit_profile && !ini_has_profile(&ini, profile)) {
			snprintf(err, errlen,
				 "AWS profile \"%s\" not found in the shared config or credentials "
				 "file",
				 profile);
			goto out;
		}
		st->provider = profile_provider(&ini, profile, 0, err, errlen);
		if (!st->provider && err[0])
			goto out;
	}
	if (!st->provider && env("AWS_WEB_IDENTITY_TOKEN_FILE") && env("AWS_ROLE_ARN")) {
		st->provider = provider_new(CK_WEB_IDENTITY, "web-identity");
		if (st->provider) {
			st->provider->token_file = strdup(env("AWS_WEB_IDENTITY_TOKEN_FILE"));
			st->provider->role_arn = strdup(env("AWS_ROLE_ARN"));
			const char *sn = env("AWS_ROLE_SESSION_NAME");
			st->provider->session_name = sn ? strdup(sn) : NULL;
		}
	}
	if (!st->provider) {
		st->provider = ecs_provider(err, errlen);
		if (!st->provider && err[0])
			goto out;
	}
	if (!st->provider) {
		const char *off = env("AWS_EC2_METADATA_DISABLED");
		if (!(off && strcasecmp(off, "true") == 0))
			st->provider = imds_provider();
	}
	if (st->provider && st->provider->kind == CK_STATIC) {
		if (creds_set(&st->cur, st->provider->stat.access_key,
			      st->provider->stat.secret_key, st->provider->stat.token, 0) != 0) {
			rc = BOT_ENOMEM;
			goto out;
		}
		st->have = true;
	}
	rc = BOT_OK;
out:
	ini_free(&ini);
	if (rc != BOT_OK && !err[0])
		snprintf(err, errlen, "out of memory");
	return rc;
}

/* ---- fetching ---- */

static void fetch_free(struct fetch *f);

static void fetch_complete(struct fetch *f, enum bot_rc rc, const struct aws_cred_fields *c,
			   const char *why)
{
	fetch_done_fn done = f->done;
	void *arg = f->done_arg;
	/* the callback may start another fetch; this one is finished first
	 * but freed after, since c may point into it */
	f->done = NULL;
	if (done)
		done(arg, rc, c, why);
	fetch_free(f);
}

static struct fetch *fetch_start(struct aws *aws, struct cred_provider *p, fetch_done_fn done,
				 void *arg);

static void sts_cred_free(struct aws_op *op)
{
	struct sts_cred_op *s = (struct sts_cred_op *)op;
	if (s->f)
		s->f->sts = NULL;
	aws_op_release(op);
	free(s);
}

static void sts_cred_resp(struct aws_op *op, const struct aws_err *err, const char *body,
			  size_t len)
{
	struct sts_cred_op *s = (struct sts_cred_op *)op;
	struct fetch *f = s->f;
	struct arena a = { 0 };
	struct aws_cred_fields c = { 0 };
	char why[400];
	enum bot_rc rc = err->rc;
	aws_op_finish(op, err);
	f->sts = NULL;
	s->f = NULL;
	sts_cred_free(op);
	if (rc == BOT_OK) {
		const char *result = f->p->kind == CK_WEB_IDENTITY
					     ? "AssumeRoleWithWebIdentityResult"
					     : "AssumeRoleResult";
		rc = sts_decode_credentials(body, len, result, &a, &c, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "STS %s for %.80s: %s%s%.120s",
			 f->p->kind == CK_WEB_IDENTITY ? "AssumeRoleWithWebIdentity" : "AssumeRole",
			 f->p->role_arn, err->code, err->code[0] ? ": " : "", err->message);
		if (rc != BOT_EAUTH && rc != BOT_ENET)
			rc = BOT_EAUTH; /* a refused role is an authentication failure */
	}
	fetch_complete(f, rc, rc == BOT_OK ? &c : NULL, why);
	arena_free(&a);
}

/* Starts the STS call of an assume-role or web-identity fetch. */
static void sts_cred_call(struct fetch *f, const char *web_token)
{
	struct aws *aws = f->aws;
	struct abuf form = { 0 };
	char session[64];
	char *body = NULL;
	struct sts_cred_op *s = calloc(1, sizeof(*s));
	if (!s) {
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	}
	snprintf(session, sizeof(session), "envbot-%lld", (long long)aws_now(aws));
	aws_form_add(&form, "RoleArn", f->p->role_arn);
	aws_form_add(&form, "RoleSessionName", f->p->session_name ? f->p->session_name : session);
	if (web_token)
		aws_form_add(&form, "WebIdentityToken", web_token);
	if (f->p->duration)
		abuf_addf(&form, "&DurationSeconds=%ld", f->p->duration);
	aws_form_add(&form, "ExternalId", f->p->external_id);
	s->f = f;
	s->op.internal = true;
	aws_op_init(&s->op, aws, AWS_STS, f, sts_cred_resp, sts_cred_free);
	if (web_token)
		s->op.unsigned_req = true;
	else
		s->op.creds = &f->src;
	f->sts = s;
	enum bot_rc rc = aws_op_query_body(&form, AWS_STS,
					   web_token ? "AssumeRoleWithWebIdentity" : "AssumeRole",
					   form.p ? form.p : "", &body);
	abuf_free(&form);
	if (rc == BOT_OK)
		rc = aws_op_send(&s->op, body);
	if (rc != BOT_OK) {
		aws_op_abort(&s->op);
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
	}
}

static void source_done(void *arg, enum bot_rc rc, const struct aws_cred_fields *c, const char *why)
{
	struct fetch *f = arg;
	f->child = NULL;
	if (rc != BOT_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "source credentials for %s: %s", f->p->role_arn, why);
		fetch_complete(f, rc, NULL, msg);
		return;
	}
	if (creds_set(&f->src, c->access_key, c->secret_key, c->token, c->expiration) != 0) {
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	}
	sts_cred_call(f, NULL);
}

/* ECS and IMDS: plain GET/PUT on the loop. */
static void http_done(void *arg, CURL *easy, CURLcode result);

static size_t http_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;
	if (f->resp.len + n > CRED_BODY_MAX)
		return 0;
	abuf_add(&f->resp, data, n);
	return f->resp.oom ? 0 : n;
}

static int http_start(struct fetch *f, const char *method, const char *url, const char *header1,
		      const char *header2)
{
	f->easy = curl_easy_init();
	if (!f->easy)
		return -1;
	abuf_free(&f->resp);
	curl_slist_free_all(f->hdrs);
	f->hdrs = NULL;
	if (header1)
		f->hdrs = curl_slist_append(f->hdrs, header1);
	if (header2 && f->hdrs)
		f->hdrs = curl_slist_append(f->hdrs, header2);
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->hdrs);
	if (f->aws->ca_bundle)
		curl_easy_setopt(f->easy, CURLOPT_CAINFO, f->aws->ca_bundle);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	/* metadata services answer at once or not at all */
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, 5000L);
	if (loop_http_add(f->aws->loop, f->easy, http_done, f) != 0) {
		curl_easy_cleanup(f->easy);
		f->easy = NULL;
		return -1;
	}
	return 0;
}

static void finish_json(struct fetch *f, const char *what)
{
	struct arena a = { 0 };
	struct aws_cred_fields c = { 0 };
	char why[300], err[200] = ""; /* decoders write it only on errors */
	enum bot_rc rc = aws_decode_json_credentials(f->resp.p ? f->resp.p : "", f->resp.len, &a,
						     &c, err, sizeof(err));
	snprintf(why, sizeof(why), "%s: %s", what, err);
	fetch_complete(f, rc, rc == BOT_OK ? &c : NULL, why);
	arena_free(&a);
}

static void http_done(void *arg, CURL *easy, CURLcode result)
{
	struct fetch *f = arg;
	long status = 0;
	char why[300], url[512], h1[200];
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	f->easy = NULL;
	const char *what = f->p->kind == CK_ECS ? "ECS container credentials" : "EC2 IMDSv2";
	if (result != CURLE_OK || status != 200) {
		if (result != CURLE_OK)
			snprintf(why, sizeof(why), "%s: %s", what, curl_easy_strerror(result));
		else
			snprintf(why, sizeof(why), "%s: HTTP %ld", what, status);
		fetch_complete(f, BOT_EAUTH, NULL, why);
		return;
	}
	if (f->p->kind == CK_ECS) {
		finish_json(f, what);
		return;
	}
	/* IMDSv2: token, then role name, then the role's credentials */
	switch (f->step) {
	case 0:
		snprintf(f->imds_token, sizeof(f->imds_token), "%s", f->resp.p ? f->resp.p : "");
		log_add_secret(f->imds_token);
		f->step = 1;
		snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/",
			 f->p->url);
		snprintf(h1, sizeof(h1), "X-aws-ec2-metadata-token: %s", f->imds_token);
		if (http_start(f, "GET", url, h1, NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	case 1: {
		const char *r = f->resp.p ? f->resp.p : "";
		size_t n = strcspn(r, "\r\n");
		if (n == 0 || n >= sizeof(f->imds_role) || strchr(r, '/')) {
			fetch_complete(f, BOT_EAUTH, NULL, "EC2 IMDSv2: no instance role");
			return;
		}
		memcpy(f->imds_role, r, n);
		f->imds_role[n] = '\0';
		f->step = 2;
		snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s",
			 f->p->url, f->imds_role);
		snprintf(h1, sizeof(h1), "X-aws-ec2-metadata-token: %s", f->imds_token);
		if (http_start(f, "GET", url, h1, NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	}
	default: finish_json(f, what); return;
	}
}

/* credential_process: a child whose stdout we read without blocking. */
static void process_check(void *arg);

static void process_finish(struct fetch *f, int status)
{
	char why[300];
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, sizeof(why), "credential_process exited with status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fetch_complete(f, BOT_EAUTH, NULL, why);
		return;
	}
	finish_json(f, "credential_process");
}

static void process_readable(void *arg, int fd, short revents)
{
	struct fetch *f = arg;
	char buf[4096];
	(void)revents;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (f->resp.len + (size_t)n > CRED_BODY_MAX) {
				f->eof = true;
				break;
			}
			abuf_add(&f->resp, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		f->eof = true;
		break;
	}
	loop_fd_remove(f->aws->loop, f->fd);
	close(f->fd);
	f->fd = -1;
	if (f->timer)
		loop_timer_cancel(f->aws->loop, f->timer);
	f->timer = NULL;
	process_check(f);
}

/* Reaps the child once its stdout is closed; polls with short timers so the
 * loop never waits in waitpid. */
static void process_check(void *arg)
{
	struct fetch *f = arg;
	int status = 0;
	f->timer = NULL;
	if (f->fd < 0) {
		pid_t r = waitpid(f->pid, &status, WNOHANG);
		if (r == f->pid) {
			f->pid = 0;
			process_finish(f, status);
			return;
		}
	}
	if (loop_now_ms() > f->deadline_ms) {
		fetch_complete(f, BOT_EAUTH, NULL, "credential_process timed out");
		return;
	}
	f->timer = loop_timer_add(f->aws->loop, f->fd < 0 ? 10 : 1000, process_check, f);
	if (!f->timer)
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
}

static void process_start(struct fetch *f)
{
	int fds[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", f->p->command, NULL };
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fetch_complete(f, BOT_EIO, NULL, "credential_process: pipe failed");
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	int err = posix_spawn(&f->pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err != 0) {
		close(fds[0]);
		f->pid = 0;
		fetch_complete(f, BOT_EIO, NULL, "credential_process: cannot start /bin/sh");
		return;
	}
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	f->fd = fds[0];
	f->deadline_ms = loop_now_ms() + PROCESS_TIMEOUT_MS;
	if (loop_fd_add(f->aws->loop, f->fd, POLLIN, process_readable, f) != 0) {
		fetch_complete(f, BOT_EIO, NULL, "credential_process: too many watched fds");
		return;
	}
	f->timer = loop_timer_add(f->aws->loop, 1000, process_check, f);
}

static void fetch_begin(void *arg)
{
	struct fetch *f = arg;
	char url[1024], h1[600];
	f->timer = NULL;
	switch (f->p->kind) {
	case CK_STATIC: {
		struct aws_cred_fields c = { .access_key = f->p->stat.access_key,
					     .secret_key = f->p->stat.secret_key,
					     .token = f->p->stat.token ? f->p->stat.token : "" };
		fetch_complete(f, BOT_OK, &c, "");
		return;
	}
	case CK_ASSUME_ROLE:
		f->child = fetch_start(f->aws, f->p->source, source_done, f);
		if (!f->child)
			fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	case CK_WEB_IDENTITY: {
		char *tok = read_small_file(f->p->token_file);
		if (!tok || !*tok) {
			snprintf(h1, sizeof(h1), "web identity token file %s unreadable or empty",
				 f->p->token_file);
			free(tok);
			fetch_complete(f, BOT_EAUTH, NULL, h1);
			return;
		}
		log_add_secret(tok);
		sts_cred_call(f, tok);
		free(tok);
		return;
	}
	case CK_PROCESS: process_start(f); return;
	case CK_ECS: {
		char *tok = f->p->auth_token_file ? read_small_file(f->p->auth_token_file) : NULL;
		const char *t = tok ? tok : f->p->auth_token;
		h1[0] = '\0';
		if (t) {
			log_add_secret(t);
			snprintf(h1, sizeof(h1), "Authorization: %s", t);
		}
		int r = http_start(f, "GET", f->p->url, t ? h1 : NULL, NULL);
		free(tok);
		if (r != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the ECS request");
		return;
	}
	case CK_IMDS:
		snprintf(url, sizeof(url), "%s/latest/api/token", f->p->url);
		if (http_start(f, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600",
			       NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	}
}

/* Starts fetching p; done runs later from the loop (never inside this
 * call). Returns NULL on allocation failure (done is not called). */
static struct fetch *fetch_start(struct aws *aws, struct cred_provider *p, fetch_done_fn done,
				 void *arg)
{
	struct cred_state *st = aws->cred;
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->aws = aws;
	f->p = p;
	f->done = done;
	f->done_arg = arg;
	f->fd = -1;
	f->timer = loop_timer_add(aws->loop, 0, fetch_begin, f);
	if (!f->timer) {
		free(f);
		return NULL;
	}
	f->next = st->fetches;
	if (st->fetches)
		st->fetches->prev = f;
	st->fetches = f;
	return f;
}

static void fetch_free(struct fetch *f)
{
	struct aws *aws = f->aws;
	struct cred_state *st = aws->cred;
	if (f->prev)
		f->prev->next = f->next;
	else if (st->fetches == f)
		st->fetches = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (f->child) {
		f->child->done = NULL;
		fetch_free(f->child);
	}
	if (f->sts) {
		f->sts->f = NULL;
		aws_op_abort(&f->sts->op);
	}
	if (f->easy) {
		loop_http_remove(aws->loop, f->easy);
		curl_easy_cleanup(f->easy);
	}
	curl_slist_free_all(f->hdrs);
	abuf_free(&f->resp);
	if (f->timer)
		loop_timer_cancel(aws->loop, f->timer);
	if (f->fd >= 0) {
		loop_fd_remove(aws->loop, f->fd);
		close(f->fd);
	}
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0); /* killed: returns at once */
	}
	creds_clear(&f->src);
	free(f);
}

static void top_done(void *arg, enum bot_rc rc, const struct aws_cred_fields *c, const char *why)
{
	struct aws *aws = arg;
	struct cred_state *st = aws->cred;
	st->top = NULL;
	char msg[200];
	if (rc == BOT_OK && c->expiration && c->expiration < aws_now(aws) + MIN_VALID_S) {
		/* taking them would refetch forever; the clocks disagree */
		snprintf(msg, sizeof(msg),
			 "%s returned credentials that expire in %lld s (clock skew?)",
			 st->provider->label, (long long)(c->expiration - aws_now(aws)));
		rc = BOT_EAUTH;
		why = msg;
	}
	if (rc == BOT_OK &&
	    creds_set(&st->cur, c->access_key, c->secret_key, c->token, c->expiration) == 0) {
		st->have = true;
		st->failed = false;
		st->refresh_after = aws_now(aws) + REFRESH_EVERY_S;
		aws->metrics.cred_refreshes++;
		log_info("aws", "msg=\"credentials loaded\" source=%s expires_in_s=%lld",
			 st->provider->label,
			 c->expiration ? (long long)(c->expiration - aws_now(aws)) : -1LL);
	} else {
		st->failed = true;
		st->retry_after = aws_now(aws) + RETRY_AFTER_S;
		snprintf(st->error, sizeof(st->error), "%s", rc == BOT_OK ? "out of memory" : why);
		aws->metrics.cred_errors++;
		log_warn("aws", "msg=\"cannot load credentials\" source=%s why=\"%s\"",
			 st->provider->label, st->error);
	}
	aws_ops_creds_ready(aws);
}

static void start_top_fetch(struct aws *aws)
{
	struct cred_state *st = aws->cred;
	st->top = fetch_start(aws, st->provider, top_done, aws);
}

enum aws_creds_status aws_creds_get(struct aws *aws, const struct aws_creds **out, char *why,
				    size_t whylen)
{
	struct cred_state *st = aws->cred;
	int64_t now = aws_now(aws);
	*out = NULL;
	if (!st->provider) {
		snprintf(why, whylen,
			 "no AWS credentials found (environment, shared files, web identity, "
			 "container; instance metadata disabled)");
		return AWS_CREDS_FAILED;
	}
	if (st->have) {
		int64_t exp = st->cur.expiration;
		if (exp == 0 || now < exp - REFRESH_AHEAD_S) {
			*out = &st->cur;
			return AWS_CREDS_READY;
		}
		/* refresh window: fetch in the background, keep using the current
		 * credentials while they are still good */
		bool usable = now < exp - MIN_VALID_S;
		if (!st->top && now >= st->retry_after && (!usable || now >= st->refresh_after))
			start_top_fetch(aws);
		if (usable) {
			*out = &st->cur;
			return AWS_CREDS_READY;
		}
		if (st->top)
			return AWS_CREDS_WAIT;
		snprintf(why, whylen, "AWS credentials expired and could not be refreshed: %s",
			 st->error);
		return AWS_CREDS_FAILED;
	}
	if (st->top)
		return AWS_CREDS_WAIT;
	if (st->failed && now < st->retry_after) {
		snprintf(why, whylen, "no AWS credentials: %s", st->error);
		return AWS_CREDS_FAILED;
	}
	start_top_fetch(aws);
	if (!st->top) {
		snprintf(why, whylen, "out of memory");
		return AWS_CREDS_FAILED;
	}
	return AWS_CREDS_WAIT;
}

bool aws_creds_invalidate(struct aws *aws)
{
	struct cred_state *st = aws->cred;
	if (!st->provider || st->provider->kind == CK_STATIC)
		return false;
	st->have = false;
	st->failed = false;
	st->retry_after = 0;
	return true;
}

const char *aws_credentials_source(const struct aws *aws)
{
	const struct cred_state *st = aws->cred;
	return st && st->provider ? st->provider->label : "none";
}

void aws_creds_cleanup(struct aws *aws)
{
	struct cred_state *st = aws->cred;
	if (!st)
		return;
	while (st->fetches) {
		st->fetches->done = NULL;
		fetch_free(st->fetches);
	}
	creds_clear(&st->cur);
	provider_free(st->provider);
	free(st->none_reason);
	free(aws->region);
	aws->region = NULL;
	free(aws->ca_bundle);
	aws->ca_bundle = NULL;
	free(st);
	aws->cred = NULL;
}
