/* `envbot doctor`: checks everything envbot needs before it is trusted to run
 * unattended: the config, the Discord token, application, channel and guild,
 * the AWS credentials and every permission the workflows will use, probed
 * with read-only calls or EC2 DryRun. All calls run at once on the event loop;
 * the results are printed in a fixed order, one ✔/✘/ℹ line each, with a fix
 * under every ✘. Exit: 0 all passed, 1 a check failed, 2 config error,
 * 3 the Discord token or the AWS credentials were refused. The holiday
 * calendars are read or fetched as the daemon would, and parsed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../../aws/aws.h"
#include "../core/array.h"
#include "../core/exitcode.h"
#include "../core/log.h"
#include "../discord/rest.h"
#include "../kinds/kinds.h"
#include "../sched/calfetch.h"
#include "../sched/holidays.h"
#include "../sched/plan.h"
#include "../wf/kind.h"
#include "cli.h"

#define DOC_DEADLINE_MS 45000 /* every check answered or reported as silent */
/* View Channel, Send Messages, Embed Links (docs/OPERATIONS.md, step 2). */
#define DOC_BOT_PERMISSIONS "19456"

enum doc_state {
	DOC_PENDING = 0,
	DOC_PASS,
	DOC_FAIL,
	DOC_INFO, /* cannot be probed safely: what to check by hand */
	DOC_SKIP, /* not checked because a check it depends on failed */
};

enum doc_kind_id {
	K_TOKEN,
	K_APPLICATION,
	K_CHANNEL,
	K_GUILD,
	K_CREDENTIALS,
	K_ROLE,     /* an environment's aws.assume_role: who it makes us */
	K_REGIONS,  /* regions = "all": the account's enabled regions */
	K_STATE,    /* state.backend = "dynamodb": the table and its lease */
	K_KIND,     /* a permission check of an environment kind (kc) */
	K_CALENDAR, /* a holiday calendar: read or fetched, and parsed */
	K_SNS,      /* events out to an SNS topic: sns:Publish (ℹ) */
	K_EVENTS,   /* events out to an EventBridge bus: events:PutEvents (ℹ) */
	K_WEBHOOK,  /* events out to a webhook (ℹ) */
	K_COST,     /* the weekly report's Cost Explorer figures (ℹ) */
	K_COUNT
};

struct doctor;
struct doc_check;
typedef enum bot_rc (*doc_start_fn)(struct doc_check *c);

/* One kind of check. The list of checks is built from the config in this
 * table's order, then the environment kinds' checks (bot/kinds/, in registry
 * and check order), one per distinct target, so the output order is stable
 * whatever order the answers come in. */
struct doc_kind {
	const char *name;   /* the permission or object checked */
	doc_start_fn start; /* starts the call, or marks an ℹ line (start_info) */
	/* what the permission needs, for the fix of a ✘ or the text of an ℹ:
	 * printf format taking two strings, the target twice (policy_text) */
	const char *fix_denied;
};

struct doc_check {
	struct doctor *d;
	enum doc_kind_id kind;
	const struct kind_check *kc; /* K_KIND: the environment kind's check */
	char target[256];            /* stack, repository, tag "key=value", snowflake */
	char envs[160];              /* environments sharing the target */
	const struct cfg_env *env;
	enum doc_state state;
	bool refused; /* token or credentials refused: exit 3 */
	char detail[768];
	char fix[768];
	struct kind_probe probe; /* K_KIND: the kind's view of this check */
	void *output;            /* K_KIND: its answer's output (owned) */
	/* Where the calls go (K_ROLE, K_REGIONS, K_KIND): the region, the role
	 * (and its external id, its account from the ARN); "" for the
	 * daemon's own. */
	char region[32];
	char role[600], external_id[300], role_account[16];
	struct aws *aws;                /* the client of that target (the root's) */
	const struct cfg_calendar *cal; /* K_CALENDAR */
	struct calfetch *fetch;         /* K_CALENDAR: in flight */
};

struct doctor {
	struct loop *loop;
	struct loop_timer *deadline;
	const struct cfg *cfg;
	struct rest *rest;
	struct aws *aws;
	struct doc_check *checks;
	size_t n_checks, cap_checks;
	int pending;
	bool finished; /* results are frozen; late callbacks are ignored */
	bool config_error;
	char account[32], arn[300];
};

static const struct doc_kind kinds[K_COUNT];

static void set(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define SET(field, ...) set(field, sizeof(field), __VA_ARGS__)

/* Marks c answered; stops the loop once every check has. */
static void finish(struct doc_check *c, enum doc_state state)
{
	struct doctor *d = c->d;
	if (d->finished || c->state != DOC_PENDING)
		return;
	c->state = state;
	if (--d->pending == 0)
		loop_stop(d->loop);
}

/* Where env's calls go, as a check keeps it. */
struct doc_where {
	const char *region; /* "" home */
	const char *role;   /* "" own credentials */
	const char *external_id;
};

static struct doc_check *find_check(struct doctor *d, enum doc_kind_id kind,
				    const struct kind_check *kc, const char *target,
				    const struct doc_where *w)
{
	for (size_t i = 0; i < d->n_checks; i++)
		if (d->checks[i].kind == kind && d->checks[i].kc == kc &&
		    strcmp(d->checks[i].target, target) == 0 &&
		    strcmp(d->checks[i].region, w->region) == 0 &&
		    strcmp(d->checks[i].role, w->role) == 0)
			return &d->checks[i];
	return NULL;
}

/* Adds a check (or names env on the existing one with the same target).
 * Returns it, NULL on ENOMEM. The array may move: pointers into it are
 * taken only once every check has been added. */
static struct doc_check *add_check_at(struct doctor *d, enum doc_kind_id kind,
				      const struct kind_check *kc, const char *target,
				      const struct cfg_env *env, const struct doc_where *w)
{
	struct doc_check *c = find_check(d, kind, kc, target, w);
	if (c) {
		if (env) {
			size_t n = strlen(c->envs);
			snprintf(c->envs + n, sizeof(c->envs) - n, "%s%s", n ? ", " : "",
				 env->name);
		}
		return c;
	}
	if (array_grow(&d->checks, &d->cap_checks, d->n_checks + 1, sizeof(*d->checks), 0) < 0)
		return NULL;
	c = &d->checks[d->n_checks++];
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->kind = kind;
	c->kc = kc;
	c->env = env;
	SET(c->target, "%s", target);
	SET(c->region, "%s", w->region);
	SET(c->role, "%s", w->role);
	SET(c->external_id, "%s", w->external_id ? w->external_id : "");
	const char *acct = cfg_role_account(c->role);
	if (acct)
		SET(c->role_account, "%.12s", acct);
	if (env)
		SET(c->envs, "%s", env->name);
	return c;
}

static struct doc_check *add_check(struct doctor *d, enum doc_kind_id kind,
				   const struct kind_check *kc, const char *target,
				   const struct cfg_env *env)
{
	static const struct doc_where home = { "", "", "" };
	return add_check_at(d, kind, kc, target, env, &home);
}

/* ---- Discord ---- */

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* "HTTP 404: Unknown Channel (code 10003)" from Discord's error body. */
static void discord_why(const struct rest_response *res, char *buf, size_t len)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(res->json, "code");
	const char *msg = json_str(res->json, "message");
	if (res->status == 0)
		snprintf(buf, len, "no answer: %s", bot_strerror(res->rc));
	else if (cJSON_IsNumber(code))
		snprintf(buf, len, "HTTP %ld: %s (code %d)", res->status,
			 msg[0] ? msg : bot_strerror(res->rc), code->valueint);
	else
		snprintf(buf, len, "HTTP %ld: %s", res->status,
			 msg[0] ? msg : bot_strerror(res->rc));
}

/* A failure every Discord check shares: refused token, network, 5xx. Returns
 * true when it handled res. */
static bool discord_common(struct doc_check *c, const struct rest_response *res)
{
	char why[256];
	if (res->rc == BOT_OK)
		return false;
	discord_why(res, why, sizeof(why));
	if (res->status == 401 || res->rc == BOT_EAUTH) {
		if (c->kind != K_TOKEN) {
			SET(c->detail, "not checked: the token was refused");
			finish(c, DOC_SKIP);
			return true;
		}
		c->refused = true;
		SET(c->detail, "refused: %s", why);
		SET(c->fix,
		    "reset the token in the Developer Portal (your application > Bot > Reset "
		    "Token) and put it in $DISCORD_TOKEN or the file named by discord.token_file; "
		    "it is the bot token, not the client secret or the public key");
		finish(c, DOC_FAIL);
		return true;
	}
	if (res->status == 0 || res->status >= 500 || res->status == 429) {
		SET(c->detail, "%s", why);
		SET(c->fix,
		    "check that this machine reaches %s (proxy, firewall, DNS), then run "
		    "envbot doctor again",
		    c->d->cfg->api_base);
		finish(c, DOC_FAIL);
		return true;
	}
	return false;
}

static void on_token(void *arg, const struct rest_response *res)
{
	struct doc_check *c = arg;
	if (c->d->finished || discord_common(c, res))
		return;
	if (res->rc != BOT_OK) {
		discord_why(res, c->detail, sizeof(c->detail));
		SET(c->fix, "check discord.api_base (%s) ends in /api/v10", c->d->cfg->api_base);
		finish(c, DOC_FAIL);
		return;
	}
	const cJSON *bot = cJSON_GetObjectItemCaseSensitive(res->json, "bot");
	if (!cJSON_IsTrue(bot)) {
		SET(c->detail, "the token belongs to user %s, not to a bot",
		    json_str(res->json, "username"));
		SET(c->fix, "use the token from your application's Bot page, not a user token");
		finish(c, DOC_FAIL);
		return;
	}
	SET(c->detail, "bot %s (user id %s)", json_str(res->json, "username"),
	    json_str(res->json, "id"));
	finish(c, DOC_PASS);
}

static void on_application(void *arg, const struct rest_response *res)
{
	struct doc_check *c = arg;
	if (c->d->finished || discord_common(c, res))
		return;
	const char *id = json_str(res->json, "id");
	if (res->rc != BOT_OK || !id[0]) {
		discord_why(res, c->detail, sizeof(c->detail));
		SET(c->fix, "check discord.api_base (%s)", c->d->cfg->api_base);
		finish(c, DOC_FAIL);
		return;
	}
	if (strcmp(id, c->target) != 0) {
		SET(c->detail, "the token belongs to application %s (%s), not %s", id,
		    json_str(res->json, "name"), c->target);
		SET(c->fix,
		    "set discord.application_id = \"%s\"; or use the token of application %s "
		    "(slash commands and interaction replies are addressed by this id)",
		    id, c->target);
		finish(c, DOC_FAIL);
		return;
	}
	SET(c->detail, "application %s is the token's", json_str(res->json, "name"));
	finish(c, DOC_PASS);
}

static void invite_fix(struct doc_check *c, const char *what)
{
	SET(c->fix,
	    "%s; invite the bot with https://discord.com/oauth2/authorize?client_id=%s"
	    "&scope=bot%%20applications.commands&permissions=" DOC_BOT_PERMISSIONS,
	    what, c->d->cfg->application_id);
}

static void on_channel(void *arg, const struct rest_response *res)
{
	struct doc_check *c = arg;
	const struct cfg *cfg = c->d->cfg;
	if (c->d->finished || discord_common(c, res))
		return;
	if (res->rc != BOT_OK) {
		discord_why(res, c->detail, sizeof(c->detail));
		if (res->status == 404)
			SET(c->fix, "no channel has this id: in Discord enable Developer Mode, "
				    "right-click the channel, Copy Channel ID, and put it in "
				    "discord.channel_id");
		else if (res->status == 403)
			invite_fix(c, "the bot cannot see this channel: give its role View "
				      "Channel, Send Messages and Embed Links there");
		else
			SET(c->fix, "check discord.channel_id");
		finish(c, DOC_FAIL);
		return;
	}
	const char *guild = json_str(res->json, "guild_id");
	if (cfg->guild_id && cfg->guild_id[0] && guild[0] && strcmp(guild, cfg->guild_id) != 0) {
		SET(c->detail, "#%s is in guild %s, not discord.guild_id %s",
		    json_str(res->json, "name"), guild, cfg->guild_id);
		SET(c->fix, "set discord.guild_id = \"%s\", or pick a channel of guild %s", guild,
		    cfg->guild_id);
		finish(c, DOC_FAIL);
		return;
	}
	SET(c->detail, "#%s is visible to the bot", json_str(res->json, "name"));
	finish(c, DOC_PASS);
}

static void on_guild(void *arg, const struct rest_response *res)
{
	struct doc_check *c = arg;
	if (c->d->finished || discord_common(c, res))
		return;
	if (res->rc != BOT_OK) {
		discord_why(res, c->detail, sizeof(c->detail));
		if (res->status == 404)
			SET(c->fix, "no server has this id (or the bot was never invited): "
				    "right-click the server icon, Copy Server ID, put it in "
				    "discord.guild_id, and invite the bot");
		else
			invite_fix(c, "the bot is not a member of this server");
		finish(c, DOC_FAIL);
		return;
	}
	SET(c->detail, "the bot is a member of %s", json_str(res->json, "name"));
	finish(c, DOC_PASS);
}

static enum bot_rc start_rest_get(struct doc_check *c, const char *path, rest_done_fn fn)
{
	if (!c->d->rest) {
		SET(c->detail, "not checked: no usable Discord token");
		c->state = DOC_SKIP;
		return BOT_OK;
	}
	c->d->pending++;
	enum bot_rc rc = rest_request(c->d->rest, "GET", path, NULL, REST_NO_RETRY, fn, c);
	if (rc != BOT_OK)
		c->d->pending--;
	return rc;
}

static enum bot_rc start_token(struct doc_check *c)
{
	return start_rest_get(c, "/users/@me", on_token);
}

static enum bot_rc start_application(struct doc_check *c)
{
	return start_rest_get(c, "/applications/@me", on_application);
}

static enum bot_rc start_channel(struct doc_check *c)
{
	char path[320];
	snprintf(path, sizeof(path), "/channels/%s", c->target);
	return start_rest_get(c, path, on_channel);
}

static enum bot_rc start_guild(struct doc_check *c)
{
	char path[320];
	snprintf(path, sizeof(path), "/guilds/%s", c->target);
	return start_rest_get(c, path, on_guild);
}

/* ---- AWS ---- */

static bool code_is_denied(const char *code)
{
	static const char *const denied[] = {
		"AccessDenied",
		"AccessDeniedException",
		"UnauthorizedOperation",
		"UnauthorizedAccess",
		"AuthorizationError",
		"Forbidden",
		NULL,
	};
	for (const char *const *p = denied; *p; p++)
		if (strcmp(*p, code) == 0)
			return true;
	return false;
}

static void aws_why(const struct aws_err *err, char *buf, size_t len)
{
	aws_err_str(err, buf, len);
	log_redact(buf, len);
}

/* What the check's permission needs, with its names filled in: the target,
 * or what the environment kind names (an EC2 tag's key and value). */
static void policy_text(const struct doc_check *c, char *buf, size_t len)
{
	const char *a = c->target, *b = c->target;
	const char *fmt = c->kc ? c->kc->fix_denied : kinds[c->kind].fix_denied;
	if (c->kc && c->kc->policy_args && c->env)
		c->kc->policy_args(c->env, &a, &b);
	snprintf(buf, len, fmt ? fmt : "", a, b);
}

/* The outcomes every AWS probe shares. Returns true when it handled err:
 * credentials refused (exit 3 on the credentials line, the probes skipped),
 * permission denied (the kind's fix), network/throttling/5xx. */
static bool aws_common(struct doc_check *c, const struct aws_err *err)
{
	char why[600];
	if (err->rc == BOT_OK)
		return false;
	aws_why(err, why, sizeof(why));
	if (err->rc == BOT_EAUTH) {
		if (c->kind != K_CREDENTIALS) {
			SET(c->detail, "not checked: the credentials were refused");
			finish(c, DOC_SKIP);
			return true;
		}
		c->refused = true;
		SET(c->detail, "%s", why);
		if (strcmp(err->code, "ExpiredToken") == 0 ||
		    strcmp(err->code, "ExpiredTokenException") == 0 ||
		    strcmp(err->code, "RequestExpired") == 0)
			SET(c->fix,
			    "the session credentials expired: refresh them (aws sso login, "
			    "a new AssumeRole) or use the instance/container role; if they are "
			    "fresh, check the clock (timedatectl)");
		else if (strcmp(err->code, "SignatureDoesNotMatch") == 0)
			SET(c->fix,
			    "the secret access key does not belong to this access key id: "
			    "copy both again from the same IAM access key; check the clock");
		else if (strcmp(err->code, "NoCredentials") == 0)
			SET(c->fix,
			    "no credentials found: set AWS_PROFILE (or aws.profile), "
			    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run envbot with an "
			    "instance or container role (deploy/cloudformation/envbot.yaml)");
		else
			SET(c->fix, "the access key is unknown or deactivated: create a new access "
				    "key for the IAM user, or use the role of "
				    "deploy/cloudformation/envbot.yaml; check the region");
		finish(c, DOC_FAIL);
		return true;
	}
	if (err->rc == BOT_EREMOTE && code_is_denied(err->code)) {
		char policy[600];
		policy_text(c, policy, sizeof(policy));
		SET(c->detail, "denied: %s", why);
		if (c->d->arn[0])
			SET(c->fix, "%s, in a policy of %s", policy, c->d->arn);
		else
			SET(c->fix, "%s", policy);
		finish(c, DOC_FAIL);
		return true;
	}
	if (err->rc == BOT_ENET || err->rc == BOT_ESERVER || err->rc == BOT_ETHROTTLED ||
	    err->rc == BOT_EPARSE) {
		SET(c->detail, "%s", why);
		SET(c->fix,
		    "check that this machine reaches %s (proxy, firewall, VPC endpoint) "
		    "and that aws.region is right, then run envbot doctor again",
		    aws_endpoint(c->d->aws, AWS_STS));
		finish(c, DOC_FAIL);
		return true;
	}
	return false;
}

/* Any other API error: not a permission problem, so the AWS message is the
 * best guide; the policy the call needs is named too. */
static void aws_other(struct doc_check *c, const struct aws_err *err)
{
	char why[600], policy[600];
	aws_why(err, why, sizeof(why));
	SET(c->detail, "%s", why);
	policy_text(c, policy, sizeof(policy));
	SET(c->fix,
	    "AWS refused the call for the reason above (not a missing permission); "
	    "once fixed, the call also needs: %s",
	    policy);
	finish(c, DOC_FAIL);
}

static void on_identity(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct doc_check *c = arg;
	if (c->d->finished || aws_common(c, err))
		return;
	if (err->rc != BOT_OK || !id) {
		aws_other(c, err);
		return;
	}
	SET(c->d->account, "%s", id->account);
	SET(c->d->arn, "%s", id->arn);
	SET(c->detail, "account %s, %s (from %s)", id->account, id->arn,
	    aws_credentials_source(c->d->aws));
	finish(c, DOC_PASS);
}

static enum bot_rc start_aws_pending(struct doc_check *c)
{
	if (!c->d->aws) {
		SET(c->detail, "not checked: no AWS client");
		c->state = DOC_SKIP;
		return BOT_EINVAL;
	}
	c->d->pending++;
	return BOT_OK;
}

static enum bot_rc aws_started(struct doc_check *c, enum bot_rc rc)
{
	if (rc != BOT_OK)
		c->d->pending--;
	return rc;
}

static enum bot_rc start_credentials(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	return aws_started(c, sts_get_caller_identity(c->d->aws, on_identity, c));
}

/* ---- other accounts and regions ---- */

static void on_role_identity(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct doc_check *c = arg;
	if (c->d->finished)
		return;
	char why[600];
	if (err->rc == BOT_EAUTH) {
		aws_why(err, why, sizeof(why));
		c->refused = true;
		SET(c->detail, "%s", why);
		SET(c->fix,
		    "the role's trust policy must allow %s to sts:AssumeRole it%s%s%s, and that "
		    "identity's policy must allow sts:AssumeRole on %s; "
		    "deploy/cloudformation/envbot-spoke-role.yaml creates such a role in the "
		    "other account",
		    c->d->arn[0] ? c->d->arn : "envbot's own role",
		    c->external_id[0] ? " with the condition sts:ExternalId = \"" : "",
		    c->external_id[0] ? c->external_id : "", c->external_id[0] ? "\"" : "",
		    c->role);
		finish(c, DOC_FAIL);
		return;
	}
	if (aws_common(c, err))
		return;
	if (err->rc != BOT_OK || !id) {
		aws_other(c, err);
		return;
	}
	SET(c->detail, "account %s, %s", id->account, id->arn);
	finish(c, DOC_PASS);
}

static enum bot_rc start_role(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK || !c->aws)
		return BOT_OK;
	return aws_started(c, sts_get_caller_identity(c->aws, on_role_identity, c));
}

static void on_doc_regions(void *arg, const struct aws_err *err, const struct ec2_regions *r)
{
	struct doc_check *c = arg;
	if (c->d->finished || aws_common(c, err))
		return;
	if (err->rc != BOT_OK || !r) {
		aws_other(c, err);
		return;
	}
	char names[500] = "";
	for (size_t i = 0; i < r->n; i++) {
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", r->v[i]);
	}
	SET(c->detail,
	    "allowed: %zu region%s enabled (%s); the checks below ran in the home "
	    "region only",
	    r->n, r->n == 1 ? "" : "s", names);
	finish(c, DOC_PASS);
}

static enum bot_rc start_regions(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK || !c->aws)
		return BOT_OK;
	return aws_started(c, ec2_describe_regions(c->aws, on_doc_regions, c));
}

/* ---- the replicated state's table ---- */

static void on_doc_lease(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct doc_check *c = arg;
	if (c->d->finished || aws_common(c, err))
		return;
	if (err->rc != BOT_OK) {
		aws_other(c, err);
		return;
	}
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, "Item");
	const cJSON *owner = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(item, "owner"), "S");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(item, "expires_ms"), "N");
	long long left = cJSON_IsString(exp)
				 ? (atoll(exp->valuestring) - (long long)time(NULL) * 1000) / 1000
				 : -1;
	size_t used = strlen(c->detail);
	if (cJSON_IsString(owner) && left > 0)
		snprintf(c->detail + used, sizeof(c->detail) - used,
			 "; lease held by %s for %lld s more", owner->valuestring, left);
	else
		snprintf(c->detail + used, sizeof(c->detail) - used,
			 "; lease free (no replica active)");
	used = strlen(c->detail);
	snprintf(c->detail + used, sizeof(c->detail) - used,
		 "; writes (UpdateItem, TransactWriteItems) are not probed: they would change it");
	cJSON_Delete(o);
	finish(c, DOC_PASS);
}

static void on_doc_table(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct doc_check *c = arg;
	if (c->d->finished || aws_common(c, err))
		return;
	if (err->rc != BOT_OK) {
		if (strcmp(err->code, "ResourceNotFoundException") == 0)
			SET(c->fix,
			    "create it: deploy/cloudformation/envbot.yaml with StateTableName = %s",
			    c->target);
		aws_other(c, err);
		return;
	}
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "Table");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(t, "TableStatus");
	const cJSON *key = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "KeySchema"), 0);
	const cJSON *kname = cJSON_GetObjectItemCaseSensitive(key, "AttributeName");
	bool key_ok = cJSON_IsString(kname) && strcmp(kname->valuestring, "pk") == 0 &&
		      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "KeySchema")) == 1;
	SET(c->detail, "%s, key %s", cJSON_IsString(status) ? status->valuestring : "?",
	    cJSON_IsString(kname) ? kname->valuestring : "?");
	cJSON_Delete(o);
	if (!key_ok) {
		SET(c->fix, "the table needs exactly one key, the string hash key \"pk\" "
			    "(deploy/cloudformation/envbot.yaml makes it so)");
		finish(c, DOC_FAIL);
		return;
	}
	char req[400];
	SET(req,
	    "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"leader\"}},"
	    "\"ConsistentRead\":true}",
	    c->target);
	if (aws_call_json(c->aws, AWS_DDB, "GetItem", req, on_doc_lease, c) != BOT_OK) {
		SET(c->detail, "GetItem could not be started");
		finish(c, DOC_FAIL);
	}
}

static enum bot_rc start_state_table(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK || !c->aws)
		return BOT_OK;
	char req[300];
	SET(req, "{\"TableName\":\"%s\"}", c->target);
	return aws_started(c,
			   aws_call_json(c->aws, AWS_DDB, "DescribeTable", req, on_doc_table, c));
}

static enum bot_rc start_info(struct doc_check *c)
{
	c->state = DOC_INFO;
	return BOT_OK;
}

/* ---- the holiday calendars ---- */

/* What a calendar holds over the daemon's span from today: how many days,
 * the first of them, and who takes it. */
static void on_doc_calendar(void *arg, const struct calfetch_result *r)
{
	struct doc_check *c = arg;
	char a[16], b[16], first[16];
	c->fetch = NULL;
	if (c->d->finished)
		return;
	if (r->rc != BOT_OK) {
		SET(c->detail, "%s", r->error);
		if (r->rc == BOT_EPARSE)
			SET(c->fix,
			    "the calendar does not parse: correct it (or ask its publisher to); "
			    "until then the daemon keeps the last good copy it has");
		else if (c->cal->is_url)
			SET(c->fix,
			    "check the URL in holiday_calendars and that this host can "
			    "reach it; until then the daemon keeps the last good copy it has");
		else
			SET(c->fix,
			    "make %s a readable file (the daemon's user reads it); until "
			    "then the daemon keeps the last good copy it has",
			    c->cal->source);
		finish(c, DOC_FAIL);
		return;
	}
	ymd_t today = plan_local_date(c->d->cfg->tz, time(NULL));
	when_format_date(when_add_days(today, -CALFETCH_DAYS_BEFORE), a, sizeof(a));
	when_format_date(when_add_days(today, CALFETCH_DAYS_AFTER), b, sizeof(b));
	size_t next = 0;
	while (next < r->n_days && r->days[next].date < today)
		next++;
	if (next < r->n_days) {
		when_format_date(r->days[next].date, first, sizeof(first));
		SET(c->detail, "%zu day%s from %s to %s, the next %s%s%s; for %s", r->n_days,
		    r->n_days == 1 ? "" : "s", a, b, first, r->days[next].summary[0] ? " " : "",
		    r->days[next].summary, c->envs[0] ? c->envs : "no environment");
	} else {
		SET(c->detail, "%zu day%s from %s to %s, none from today on; for %s", r->n_days,
		    r->n_days == 1 ? "" : "s", a, b, c->envs[0] ? c->envs : "no environment");
	}
	finish(c, DOC_PASS);
}

static enum bot_rc start_calendar(struct doc_check *c)
{
	ymd_t today = plan_local_date(c->d->cfg->tz, time(NULL));
	c->d->pending++;
	c->fetch = calfetch_start(c->d->loop, c->cal, today, getenv("SSL_CERT_FILE"),
				  on_doc_calendar, c);
	if (c->fetch)
		return BOT_OK;
	c->d->pending--;
	return BOT_ENOMEM;
}

/* ---- the environment kinds' checks (bot/kinds/) ---- */

/* Started by the answer of the check it runs after; counted as pending now
 * so the loop cannot stop between the two. */
static enum bot_rc start_after_pending(struct doc_check *c)
{
	if (!c->d->aws) {
		SET(c->detail, "not checked: no AWS client");
		c->state = DOC_SKIP;
		return BOT_OK;
	}
	c->d->pending++;
	return BOT_OK;
}

/* The checks that run after first (same kind check, same target): started
 * with its output when it passed, else skipped saying why. */
static void start_after(struct doctor *d, struct doc_check *first, bool passed)
{
	for (size_t i = 0; i < d->n_checks; i++) {
		struct doc_check *c = &d->checks[i];
		if (c->kind != K_KIND || c->kc->after != first->kc || c->state != DOC_PENDING ||
		    strcmp(c->target, first->target) != 0 ||
		    strcmp(c->region, first->region) != 0 || strcmp(c->role, first->role) != 0)
			continue;
		if (first->state == DOC_SKIP) {
			SET(c->detail, "%s", first->detail);
			finish(c, DOC_SKIP);
			continue;
		}
		if (!passed || !first->output) {
			SET(c->detail, "not checked: %s failed", first->kc->name);
			finish(c, DOC_SKIP);
			continue;
		}
		c->probe.input = first->output;
		if (c->kc->probe(&c->probe) != BOT_OK) {
			SET(c->detail, "could not start the probe (out of memory)");
			finish(c, DOC_FAIL);
		}
	}
}

/* A kind's probe answered; a is copied (its output is taken over). */
static void on_kind_answer(struct kind_probe *p, const struct kind_answer *a)
{
	struct doc_check *c =
		(struct doc_check *)(void *)((char *)p - offsetof(struct doc_check, probe));
	if (c->d->finished || c->state != DOC_PENDING) {
		free(a->output);
		return;
	}
	free(c->output);
	c->output = a->output;
	if (a->verdict == KIND_AWS_ERROR) {
		if (!aws_common(c, a->err))
			aws_other(c, a->err);
		start_after(c->d, c, false);
		return;
	}
	SET(c->detail, "%s", a->detail ? a->detail : "");
	SET(c->fix, "%s", a->fix ? a->fix : "");
	enum doc_state st = a->verdict == KIND_PASS   ? DOC_PASS
			    : a->verdict == KIND_INFO ? DOC_INFO
						      : DOC_FAIL;
	/* the dependents first: they are pending already, and this one is
	 * still pending while they start */
	if (st == DOC_PASS)
		start_after(c->d, c, true);
	finish(c, st);
	if (st != DOC_PASS)
		start_after(c->d, c, false);
}

static enum bot_rc start_kind(struct doc_check *c)
{
	if (!c->kc->probe)
		return start_info(c);
	if (c->kc->after)
		return start_after_pending(c);
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	return aws_started(c, c->kc->probe(&c->probe));
}

static const struct doc_kind kinds[K_COUNT] = {
	[K_TOKEN] = { .name = "Discord token", .start = start_token },
	[K_APPLICATION] = { .name = "application id", .start = start_application },
	[K_CHANNEL] = { .name = "channel", .start = start_channel },
	[K_GUILD] = { .name = "guild", .start = start_guild },
	[K_CREDENTIALS] = {
		.name = "AWS credentials (sts:GetCallerIdentity)",
		.start = start_credentials,
		.fix_denied = "allow sts:GetCallerIdentity on Resource \"*\"%s",
	},
	[K_ROLE] = {
		.name = "AWS role (sts:AssumeRole, then sts:GetCallerIdentity)",
		.start = start_role,
		.fix_denied = "allow sts:AssumeRole on %s%s",
	},
	[K_REGIONS] = {
		.name = "ec2:DescribeRegions",
		.start = start_regions,
		.fix_denied = "allow ec2:DescribeRegions on Resource \"*\" (regions = \"all\" "
			      "lists them)%s%s",
	},
	[K_STATE] = {
		.name = "DynamoDB state table",
		.start = start_state_table,
		.fix_denied = "allow dynamodb:DescribeTable, GetItem, PutItem, UpdateItem and "
			      "ConditionCheckItem on the table %s%.0s",
	},
	[K_KIND] = { .name = "environment kind check", .start = start_kind },
	[K_CALENDAR] = { .name = "holiday calendar", .start = start_calendar },
	/* Events out are not probed: the only call that proves the permission
	 * sends a real message to whoever subscribes. */
	[K_SNS] = {
		.name = "events out: sns:Publish",
		.start = start_info,
		.fix_denied = "allow sns:Publish on %s%.0s (envbot.yaml: NotifyTopicArns); "
			      "not probed: a test message would reach every subscriber",
	},
	[K_EVENTS] = {
		.name = "events out: events:PutEvents",
		.start = start_info,
		.fix_denied = "allow events:PutEvents on the bus %s%.0s (envbot.yaml: "
			      "NotifyEventBusArns); not probed: a test event would reach every rule",
	},
	[K_WEBHOOK] = {
		.name = "events out: webhook",
		.start = start_info,
		.fix_denied = "not probed (a test event would be a real one to the receiver): "
			      "watch envbot_events_pending and the log for %s%.0s",
	},
	/* GetCostAndUsage is billed per request. */
	[K_COST] = {
		.name = "weekly report: ce:GetCostAndUsage",
		.start = start_info,
		.fix_denied = "allow ce:GetCostAndUsage on Resource \"*\" (envbot.yaml: "
			      "CostExplorer=true) and activate the cost-allocation tag %s%.0s in "
			      "Billing; not probed: Cost Explorer bills each request",
	},
};

/* ---- the list, the run and the report ---- */

/* A kind's check of env in each region env acts in (its list; "all": the
 * home region, DescribeRegions names the rest), as env's role. */
static int add_kind_checks(struct doctor *d, const struct kind_check *kc, const char *target,
			   const struct cfg_env *env)
{
	struct cfg_aws_target t = cfg_env_target(env);
	struct doc_where w = { t.region ? t.region : "", t.assume_role ? t.assume_role : "",
			       t.external_id };
	if (env->n_regions == 0)
		return add_check_at(d, K_KIND, kc, target, env, &w) ? 0 : -1;
	for (size_t r = 0; r < env->n_regions; r++) {
		w.region = env->regions[r];
		if (!add_check_at(d, K_KIND, kc, target, env, &w))
			return -1;
	}
	return 0;
}

static int build_checks(struct doctor *d)
{
	const struct cfg *cfg = d->cfg;
	char tag[300];
	if (!add_check(d, K_TOKEN, NULL, "", NULL) ||
	    !add_check(d, K_APPLICATION, NULL, cfg->application_id, NULL) ||
	    !add_check(d, K_CHANNEL, NULL, cfg->channel_id, NULL))
		return -1;
	if (cfg->guild_id && cfg->guild_id[0] && !add_check(d, K_GUILD, NULL, cfg->guild_id, NULL))
		return -1;
	if (!add_check(d, K_CREDENTIALS, NULL, "", NULL))
		return -1;
	if (cfg->state_ddb) {
		struct doc_where w = { cfg->state_region ? cfg->state_region : "", "", NULL };
		if (!add_check_at(d, K_STATE, NULL, cfg->state_table, NULL, &w))
			return -1;
	}
	/* every role in use, then every "all regions" lookup */
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct cfg_env *top = &cfg->envs[i];
		size_t n = top->n_members ? top->n_members : 1;
		for (size_t j = 0; j < n; j++) {
			const struct cfg_env *env = top->n_members ? &top->members[j] : top;
			struct cfg_aws_target t = cfg_env_target(env);
			struct doc_where w = { "", t.assume_role ? t.assume_role : "",
					       t.external_id };
			if (t.assume_role && !add_check_at(d, K_ROLE, NULL, t.assume_role, env, &w))
				return -1;
			if (env->all_regions && !add_check_at(d, K_REGIONS, NULL, "", env, &w))
				return -1;
		}
	}
	/* the environment kinds' checks: kind by kind in the registry's order,
	 * check by check, environments in config order within each */
	for (const struct cfg_kind *const *ck = cfg->kinds; ck && *ck; ck++) {
		const struct kind *k = kind_from_cfg(*ck);
		for (const struct kind_check *const *kc = k->checks; kc && *kc; kc++) {
			for (size_t i = 0; i < cfg->n_envs; i++) {
				/* A group is checked through its members. */
				const struct cfg_env *top = &cfg->envs[i];
				size_t n = top->n_members ? top->n_members : 1;
				for (size_t j = 0; j < n; j++) {
					const struct cfg_env *env =
						top->n_members ? &top->members[j] : top;
					if (env->kind != *ck)
						continue;
					const char *target = (*kc)->target(env, tag, sizeof(tag));
					if (target && target[0] &&
					    add_kind_checks(d, *kc, target, env) != 0)
						return -1;
				}
			}
		}
	}
	/* events out and the report's Cost Explorer: what to check by hand */
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct cfg_sink *s = &cfg->sinks[i];
		enum doc_kind_id k = s->kind == CFG_SINK_SNS           ? K_SNS
				     : s->kind == CFG_SINK_EVENTBRIDGE ? K_EVENTS
								       : K_WEBHOOK;
		const char *target = s->kind == CFG_SINK_SNS           ? s->topic_arn
				     : s->kind == CFG_SINK_EVENTBRIDGE ? s->bus
								       : s->name;
		if (!add_check(d, k, NULL, target, NULL))
			return -1;
	}
	if (cfg->report_on && cfg->report_ce &&
	    !add_check(d, K_COST, NULL, cfg->report_cost_tag, NULL))
		return -1;
	/* the holiday calendars, in config order, each naming who takes it */
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		struct doc_check *c = add_check(d, K_CALENDAR, NULL, cfg->calendars[i].name, NULL);
		if (!c)
			return -1;
		c->cal = &cfg->calendars[i];
		for (size_t k = 0; k < cfg->n_envs; k++) {
			size_t n = strlen(c->envs);
			if (holidays_applies(&cfg->envs[k], c->cal->name))
				snprintf(c->envs + n, sizeof(c->envs) - n, "%s%s", n ? ", " : "",
					 cfg->envs[k].name);
		}
	}
	return 0;
}

static void on_deadline(void *arg)
{
	struct doctor *d = arg;
	d->deadline = NULL;
	for (size_t i = 0; i < d->n_checks; i++) {
		struct doc_check *c = &d->checks[i];
		if (c->state != DOC_PENDING)
			continue;
		SET(c->detail, "no answer within %d s", DOC_DEADLINE_MS / 1000);
		SET(c->fix, "check network access to the endpoint, then run envbot doctor again");
		c->state = DOC_FAIL;
	}
	d->finished = true;
	loop_stop(d->loop);
}

/* The fixes name ARNs with REGION and ACCOUNT; once STS answered, the real
 * values make them copy-pastable. Writes into out (truncated to len). */
static void fill_arn(const struct doctor *d, const struct doc_check *c, const char *text, char *out,
		     size_t len)
{
	size_t n = 0;
	const char *region = c->region[0] ? c->region : d->cfg->region;
	const char *account = c->role_account[0] ? c->role_account : d->account;
	while (*text && n + 1 < len) {
		const char *with = NULL;
		size_t skip = 0;
		if (strncmp(text, "REGION", 6) == 0 && region) {
			with = region;
			skip = 6;
		} else if (strncmp(text, "ACCOUNT", 7) == 0 && account[0]) {
			with = account;
			skip = 7;
		}
		if (with) {
			n += (size_t)snprintf(out + n, len - n, "%s", with);
			if (n >= len)
				n = len - 1;
			text += skip;
		} else {
			out[n++] = *text++;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

/* Names and messages come from Discord and AWS: one line each, whatever
 * they hold (control characters would forge or hide lines). */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void print_check(const struct doctor *d, const struct doc_check *c)
{
	const char *mark = c->state == DOC_PASS   ? "\u2714"
			   : c->state == DOC_INFO ? "\u2139"
						  : "\u2718";
	char head[600];
	switch (c->kind) {
	case K_TOKEN: SET(head, "%s", kinds[c->kind].name); break;
	case K_APPLICATION: SET(head, "application id %s", c->target); break;
	case K_CHANNEL: SET(head, "channel %s", c->target); break;
	case K_GUILD: SET(head, "guild %s", c->target); break;
	case K_CREDENTIALS: SET(head, "%s", kinds[c->kind].name); break;
	case K_ROLE: SET(head, "AWS role %s (%s)", c->role, c->envs); break;
	case K_STATE:
		SET(head, "%s %s%s%s", kinds[c->kind].name, c->target, c->region[0] ? " in " : "",
		    c->region);
		break;
	case K_REGIONS:
		SET(head, "%s%s%s (%s)", kinds[c->kind].name, c->role[0] ? " as " : "", c->role,
		    c->envs);
		break;
	case K_KIND: {
		char where[700] = "";
		if (c->region[0] || c->role[0])
			SET(where, " [%s%s%s%s]", c->region[0] ? "region " : "", c->region,
			    c->region[0] && c->role[0] ? ", account "
			    : c->role[0]               ? "account "
						       : "",
			    c->role_account);
		SET(head, "%s %s%s (%s)%s", c->kc->name, c->kc->label ? c->kc->label : "",
		    c->target, c->envs, where);
		break;
	}
	case K_SNS:
	case K_EVENTS:
	case K_WEBHOOK:
	case K_COST: SET(head, "%s %s", kinds[c->kind].name, c->target); break;
	case K_CALENDAR: {
		char src[300];
		holidays_source_shown(c->cal, src, sizeof(src));
		SET(head, "%s %s (%s%s)", kinds[c->kind].name, c->target,
		    c->cal->is_url ? "" : "file ", src);
		break;
	}
	case K_COUNT: head[0] = '\0'; break;
	}
	char detail[sizeof(c->detail)];
	SET(detail, "%s", c->detail);
	log_redact(detail, sizeof(detail));
	printable(detail);
	printf("%s %s%s%s\n", mark, head, detail[0] ? ": " : "", detail);
	char fix[1024], filled[1200];
	if (c->state == DOC_INFO && !c->fix[0])
		policy_text(c, fix, sizeof(fix));
	else
		SET(fix, "%s", c->fix);
	fill_arn(d, c, fix, filled, sizeof(filled));
	log_redact(filled, sizeof(filled));
	printable(filled);
	if (c->state == DOC_INFO)
		printf("    check: %s\n", filled);
	else if (c->state == DOC_FAIL && filled[0])
		printf("    fix: %s\n", filled);
}

/* The Discord client needs the token; a missing token is a config error
 * (exit 2) but the AWS half still runs. */
static void make_rest(struct doctor *d, struct doc_check *token_check, char **token)
{
	char err[512];
	if (cfg_discord_token(d->cfg, token, err, sizeof(err)) != BOT_OK) {
		SET(token_check->detail, "%s", err);
		SET(token_check->fix, "export DISCORD_TOKEN=... in the service's environment, or "
				      "set discord.token_file to a file (mode 0600) holding it");
		token_check->state = DOC_FAIL;
		d->config_error = true;
		return;
	}
	struct rest_options ro = {
		.api_base = d->cfg->api_base,
		.token = *token,
		.application_id = d->cfg->application_id,
		.timeout_ms = 15000,
		.max_retries = 1,
	};
	d->rest = rest_create(d->loop, &ro);
	if (!d->rest) {
		SET(token_check->detail, "cannot create the Discord client for %s",
		    d->cfg->api_base);
		SET(token_check->fix, "discord.api_base must be https:// (http:// only to a "
				      "loopback address)");
		token_check->state = DOC_FAIL;
		d->config_error = true;
	}
}

static void make_aws(struct doctor *d, struct doc_check *cred_check)
{
	char err[512];
	d->aws = aws_create(d->loop, d->cfg, err, sizeof(err));
	if (!d->aws) {
		SET(cred_check->detail, "%s", err);
		SET(cred_check->fix, "correct the aws settings (region, endpoint_url, profile) or "
				     "the AWS_* environment variables named above");
		cred_check->state = DOC_FAIL;
		d->config_error = true;
		return;
	}
	/* a doctor answers in seconds: fewer, shorter attempts than the daemon */
	struct aws_tuning t;
	aws_get_tuning(d->aws, &t);
	t.max_attempts = 2;
	t.timeout_ms = 15000;
	aws_set_tuning(d->aws, &t);
}

int cli_doctor(const struct cli *cli, int argc, char **argv)
{
	struct doctor d = { 0 };
	struct cfg *cfg = NULL;
	char *token = NULL;
	char err[8192];
	int status = EXIT_USAGE;
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: envbot [-c FILE] doctor\n");
		return EXIT_USAGE;
	}
	printf("envbot doctor: %s\n", cli->config_path);
	if (cfg_load(cli->config_path, envbot_kinds, &cfg, err, sizeof(err)) != BOT_OK) {
		printf("\u2718 config %s\n", cli->config_path);
		char *save = NULL;
		for (char *line = strtok_r(err, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			printf("    %s\n", line);
		printf("    fix: correct the settings named above (envbot check-config "
		       "validates without any network)\n");
		printf("nothing else checked: the config must load first\n");
		return EXIT_USAGE;
	}
	if (cfg->log_level) {
		enum log_level lvl;
		if (log_parse_level(cfg->log_level, &lvl) == 0)
			log_set_level(lvl);
	}
	/* "(1 stack, 1 ec2)": the kinds in use, in the registry's order */
	char counts[512] = "";
	size_t used = 0;
	for (const struct cfg_kind *const *k = cfg->kinds; k && *k && used < sizeof(counts); k++) {
		size_t n = 0;
		for (size_t i = 0; i < cfg->n_envs; i++)
			n += cfg->envs[i].kind == *k;
		if (n == 0)
			continue;
		int w = snprintf(counts + used, sizeof(counts) - used, "%s%zu %s", used ? ", " : "",
				 n, (*k)->name);
		used += w > 0 ? (size_t)w : 0;
	}
	printf("\u2714 config: %zu environment%s (%s)\n", cfg->n_envs, cfg->n_envs == 1 ? "" : "s",
	       counts);

	status = EXIT_FAILED;
	d.cfg = cfg;
	d.loop = loop_create();
	if (!d.loop || build_checks(&d) != 0) {
		fprintf(stderr, "envbot: out of memory\n");
		goto out;
	}
	make_rest(&d, &d.checks[0], &token);
	/* the kinds' probes see their check through this (the array no longer moves) */
	for (size_t i = 0; i < d.n_checks; i++)
		d.checks[i].probe = (struct kind_probe){ .env = d.checks[i].env,
							 .target = d.checks[i].target,
							 .envs = d.checks[i].envs,
							 .account = d.account,
							 .answer = on_kind_answer };
	for (size_t i = 0; i < d.n_checks; i++)
		if (d.checks[i].kind == K_CREDENTIALS)
			make_aws(&d, &d.checks[i]);
	for (size_t i = 0; i < d.n_checks; i++) {
		struct doc_check *c = &d.checks[i];
		const struct aws_target t = { .region = c->region,
					      .role_arn = c->role,
					      .external_id = c->external_id };
		char aerr[256];
		c->aws = d.aws ? aws_for(d.aws, &t, aerr, sizeof(aerr)) : NULL;
		if (d.aws && !c->aws && c->state == DOC_PENDING) {
			SET(c->detail, "no AWS client for this target: %s", aerr);
			c->state = DOC_FAIL;
		}
		c->probe.aws = c->aws;
		if (c->role_account[0])
			c->probe.account = c->role_account;
	}
	/* pending starts at 1 so an answer arriving while the others are still
	 * being started cannot stop the loop early */
	d.pending = 1;
	for (size_t i = 0; i < d.n_checks; i++) {
		struct doc_check *c = &d.checks[i];
		if (c->state != DOC_PENDING)
			continue;
		if (kinds[c->kind].start(c) != BOT_OK) {
			SET(c->detail, "could not start the check (out of memory)");
			c->state = DOC_FAIL;
		}
	}
	d.deadline = loop_timer_add(d.loop, DOC_DEADLINE_MS, on_deadline, &d);
	if (--d.pending > 0 && loop_run(d.loop) != 0)
		goto out;
	d.finished = true;
	loop_timer_cancel(d.loop, d.deadline);
	d.deadline = NULL;

	/* checks left pending by a failed start (none expected) read as failed */
	printf("Discord (%s)\n", cfg->api_base);
	size_t passed = 0, failed = 0, info = 0;
	bool refused = false;
	for (size_t i = 0; i < d.n_checks; i++) {
		struct doc_check *c = &d.checks[i];
		if (c->kind == K_CREDENTIALS) {
			printf("AWS (region %s", cfg->region);
			if (d.aws)
				printf(", endpoint %s, credentials from %s",
				       aws_endpoint(d.aws, AWS_STS), aws_credentials_source(d.aws));
			printf(")\n");
		}
		if (c->kind == K_CALENDAR && (i == 0 || d.checks[i - 1].kind != K_CALENDAR))
			printf("Holiday calendars\n");
		if (c->state == DOC_PENDING) {
			SET(c->detail, "not answered");
			c->state = DOC_FAIL;
		}
		print_check(&d, c);
		passed += c->state == DOC_PASS;
		info += c->state == DOC_INFO;
		failed += c->state == DOC_FAIL || c->state == DOC_SKIP;
		refused = refused || c->refused;
	}
	printf("%zu passed, %zu failed, %zu to check by hand\n", passed + 1, failed, info);
	status = d.config_error ? EXIT_USAGE : refused ? EXIT_AUTH : failed ? EXIT_FAILED : EXIT_OK;
out:
	fflush(stdout);
	d.finished = true; /* rest_destroy calls the pending callbacks */
	for (size_t i = 0; i < d.n_checks; i++)
		calfetch_cancel(d.checks[i].fetch);
	rest_destroy(d.rest);
	aws_destroy(d.aws);
	loop_destroy(d.loop);
	for (size_t i = 0; i < d.n_checks; i++)
		free(d.checks[i].output);
	free(d.checks);
	free(token);
	cfg_destroy(cfg);
	return status;
}
