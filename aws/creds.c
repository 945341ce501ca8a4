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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../bot/core/log.h"
#include "../bot/core/url.h"
#include "aws_core.h"
#include "creds_internal.h"

#define REFRESH_AHEAD_S (15 * 60)
#define MIN_VALID_S     60 /* below this the current credentials are not used */
#define RETRY_AFTER_S   30 /* after a failed fetch */
/* After a successful fetch, the next early refresh waits this long: a
 * provider that keeps handing out credentials already inside the refresh
 * window (IMDS does so in the last 15 minutes) would otherwise be asked again
 * on every request. Below MIN_VALID_S left, a fetch starts regardless. */
#define REFRESH_EVERY_S   60
#define MAX_PROFILE_DEPTH 5

/* ---- providers ---- */

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
	struct buf b = { 0 };
	buf_addf(&b, fmt, a);
	return buf_take(&b);
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
	const char *role = creds_ini_get(ini, profile, "role_arn");
	const char *ak = creds_ini_get(ini, profile, "aws_access_key_id");
	const char *sk = creds_ini_get(ini, profile, "aws_secret_access_key");
	if (role) {
		const char *srcp = creds_ini_get(ini, profile, "source_profile");
		const char *csrc = creds_ini_get(ini, profile, "credential_source");
		const char *wif = creds_ini_get(ini, profile, "web_identity_token_file");
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
				src = static_provider(
					label, ak, sk,
					creds_ini_get(ini, profile, "aws_session_token"));
			else if (!creds_ini_has_profile(ini, srcp))
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
				if (creds_env("AWS_ACCESS_KEY_ID") &&
				    creds_env("AWS_SECRET_ACCESS_KEY"))
					src = static_provider("env", creds_env("AWS_ACCESS_KEY_ID"),
							      creds_env("AWS_SECRET_ACCESS_KEY"),
							      creds_env("AWS_SESSION_TOKEN"));
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
		const char *sn = creds_ini_get(ini, profile, "role_session_name");
		const char *ext = creds_ini_get(ini, profile, "external_id");
		const char *dur = creds_ini_get(ini, profile, "duration_seconds");
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
		p = static_provider(label, ak, sk,
				    creds_ini_get(ini, profile, "aws_session_token"));
		goto out;
	}
	if (ak || sk) {
		snprintf(err, errlen,
			 "profile %s: aws_access_key_id and aws_secret_access_key go together",
			 profile);
		goto out;
	}
	const char *proc = creds_ini_get(ini, profile, "credential_process");
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
	const char *rel = creds_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = creds_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	struct buf b = { 0 };
	if (rel)
		buf_addf(&b, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
	else if (full) {
		if (!ecs_url_ok(full)) {
			snprintf(
				err, errlen,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or the "
				"ECS/EKS agent address");
			return NULL;
		}
		buf_adds(&b, full);
	} else {
		return NULL;
	}
	struct cred_provider *p = provider_new(CK_ECS, "ecs");
	if (!p) {
		buf_free(&b);
		return NULL;
	}
	p->url = buf_take(&b);
	const char *tok = creds_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokf = creds_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	p->auth_token = tok ? strdup(tok) : NULL;
	p->auth_token_file = tokf ? strdup(tokf) : NULL;
	if (tok)
		log_add_secret(tok);
	return p;
}

static struct cred_provider *imds_provider(void)
{
	const char *ep = creds_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
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
	creds_ini_load_all(&ini);

	const char *profile = creds_env("AWS_PROFILE");
	bool explicit_profile = profile != NULL;
	if (!profile && cfg && cfg->profile) {
		profile = cfg->profile;
		explicit_profile = true;
	}
	if (!profile)
		profile = creds_env("AWS_DEFAULT_PROFILE");
	if (!profile)
		profile = "default";

	const char *region = cfg && cfg->region && *cfg->region ? cfg->region : NULL;
	if (!region)
		region = creds_env("AWS_REGION");
	if (!region)
		region = creds_env("AWS_DEFAULT_REGION");
	if (!region)
		region = creds_ini_get(&ini, profile, "region");
	aws->region = strdup(region ? region : "");
	if (!aws->region)
		goto out;
	/* A private CA (a TLS-inspecting proxy, a VPC endpoint behind one):
	 * trusted instead of the system's, as the AWS CLI does. Verification
	 * stays on either way. */
	const char *ca = creds_env("AWS_CA_BUNDLE");
	if (!ca)
		ca = creds_ini_get(&ini, profile, "ca_bundle");
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
	if (creds_env("AWS_ACCESS_KEY_ID") && creds_env("AWS_SECRET_ACCESS_KEY")) {
		st->provider = static_provider("env", creds_env("AWS_ACCESS_KEY_ID"),
					       creds_env("AWS_SECRET_ACCESS_KEY"),
					       creds_env("AWS_SESSION_TOKEN"));
	} else {
		if (explicit_profile && !creds_ini_has_profile(&ini, profile)) {
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
	if (!st->provider && creds_env("AWS_WEB_IDENTITY_TOKEN_FILE") &&
	    creds_env("AWS_ROLE_ARN")) {
		st->provider = provider_new(CK_WEB_IDENTITY, "web-identity");
		if (st->provider) {
			st->provider->token_file = strdup(creds_env("AWS_WEB_IDENTITY_TOKEN_FILE"));
			st->provider->role_arn = strdup(creds_env("AWS_ROLE_ARN"));
			const char *sn = creds_env("AWS_ROLE_SESSION_NAME");
			st->provider->session_name = sn ? strdup(sn) : NULL;
		}
	}
	if (!st->provider) {
		st->provider = ecs_provider(err, errlen);
		if (!st->provider && err[0])
			goto out;
	}
	if (!st->provider) {
		const char *off = creds_env("AWS_EC2_METADATA_DISABLED");
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
	creds_ini_free(&ini);
	if (rc != BOT_OK && !err[0])
		snprintf(err, errlen, "out of memory");
	return rc;
}

enum bot_rc aws_creds_init_role(struct aws *aws, const char *role_arn, const char *external_id,
				char *err, size_t errlen)
{
	struct cred_state *st = calloc(1, sizeof(*st));
	char *label = label_of("role:%s", role_arn);
	struct cred_provider *p = label ? provider_new(CK_ASSUME_ROLE, label) : NULL;
	free(label);
	if (!st || !p || !(p->role_arn = strdup(role_arn)) ||
	    (external_id && !(p->external_id = strdup(external_id)))) {
		free(st);
		provider_free(p);
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	st->provider = p;
	aws->cred = st;
	return BOT_OK;
}

/* ---- the chain at run time ---- */

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
		st->gen++;
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
	st->top = creds_fetch_start(aws, st->provider, top_done, aws);
}

/* The client whose credential state aws uses. */
static struct aws *owner_of(struct aws *aws)
{
	return aws->cred_owner ? aws->cred_owner : aws;
}

uint64_t aws_creds_gen(struct aws *aws)
{
	return owner_of(aws)->cred->gen;
}

enum aws_creds_status aws_creds_get(struct aws *aws, const struct aws_creds **out, char *why,
				    size_t whylen)
{
	aws = owner_of(aws);
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

bool aws_creds_invalidate(struct aws *aws, uint64_t gen)
{
	struct cred_state *st = owner_of(aws)->cred;
	if (!st->provider || st->provider->kind == CK_STATIC)
		return false;
	if (gen != st->gen)
		return true; /* refreshed since that call was signed */
	st->have = false;
	st->failed = false;
	st->retry_after = 0;
	return true;
}

const char *aws_credentials_source(const struct aws *aws)
{
	const struct cred_state *st = aws->cred_owner ? aws->cred_owner->cred : aws->cred;
	return st && st->provider ? st->provider->label : "none";
}

void aws_creds_cleanup(struct aws *aws)
{
	struct cred_state *st = aws->cred;
	if (!st) {
		free(aws->region);
		aws->region = NULL;
		free(aws->ca_bundle);
		aws->ca_bundle = NULL;
		return;
	}
	while (st->fetches) {
		st->fetches->done = NULL;
		creds_fetch_free(st->fetches);
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
