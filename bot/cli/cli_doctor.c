/* `envbot doctor`: checks everything envbot needs before it is trusted to run
 * unattended: the config, the Discord token, application, channel and guild,
 * the AWS credentials and every permission the workflows will use, probed
 * with read-only calls or EC2 DryRun. All calls run at once on the event loop;
 * the results are printed in a fixed order, one ✔/✘/ℹ line each, with a fix
 * under every ✘. Exit: 0 all passed, 1 a check failed, 2 config error,
 * 3 the Discord token or the AWS credentials were refused. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "../core/log.h"
#include "../discord/rest.h"
#include "cli.h"

#define DOC_DEADLINE_MS 45000 /* every check answered or reported as silent */
#define DOC_MAX_IDS     EC2_BATCH
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
	K_DESCRIBE_STACKS,
	K_STACK_EVENTS,
	K_ECR_IMAGES,
	K_CREATE_DELETE,
	K_PASS_ROLE,
	K_DESCRIBE_INSTANCES,
	K_START_INSTANCES,
	K_STOP_INSTANCES,
	K_COUNT
};

struct doctor;
struct doc_check;
typedef enum bot_rc (*doc_start_fn)(struct doc_check *c);

/* One kind of check. The list of checks is built from the config in this
 * table's order, one per distinct target, so the output order is stable
 * whatever order the answers come in. */
struct doc_kind {
	const char *name;   /* the permission or object checked */
	doc_start_fn start; /* starts the call, or marks an ℹ line (start_info) */
	/* what the permission needs, for the fix of a ✘ or the text of an ℹ:
	 * printf format taking two strings, the target twice, or for the EC2
	 * kinds the tag key and value (policy_text) */
	const char *fix_denied;
};

struct doc_check {
	struct doctor *d;
	enum doc_kind_id kind;
	char target[256]; /* stack, repository, tag "key=value", snowflake */
	char envs[160];   /* environments sharing the target */
	const struct cfg_env *env;
	enum doc_state state;
	bool refused; /* token or credentials refused: exit 3 */
	char detail[768];
	char fix[768];
	/* EC2: the tagged instances DescribeInstances found (outside Auto
	 * Scaling groups), the DryRun probes' input */
	char (*ids)[32];
	size_t n_ids;
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

static struct doc_check *find_check(struct doctor *d, enum doc_kind_id kind, const char *target)
{
	for (size_t i = 0; i < d->n_checks; i++)
		if (d->checks[i].kind == kind && strcmp(d->checks[i].target, target) == 0)
			return &d->checks[i];
	return NULL;
}

/* Adds a check (or names env on the existing one with the same target).
 * Returns it, NULL on ENOMEM. The array may move: pointers into it are
 * taken only once every check has been added. */
static struct doc_check *add_check(struct doctor *d, enum doc_kind_id kind, const char *target,
				   const struct cfg_env *env)
{
	struct doc_check *c = find_check(d, kind, target);
	if (c) {
		if (env) {
			size_t n = strlen(c->envs);
			snprintf(c->envs + n, sizeof(c->envs) - n, "%s%s", n ? ", " : "",
				 env->name);
		}
		return c;
	}
	if (d->n_checks == d->cap_checks) {
		size_t cap = d->cap_checks ? d->cap_checks * 2 : 16;
		struct doc_check *v = realloc(d->checks, cap * sizeof(*v));
		if (!v)
			return NULL;
		d->checks = v;
		d->cap_checks = cap;
	}
	c = &d->checks[d->n_checks++];
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->kind = kind;
	c->env = env;
	SET(c->target, "%s", target);
	if (env)
		SET(c->envs, "%s", env->name);
	return c;
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

/* What the kind's permission needs, with this check's names filled in: the
 * EC2 kinds name the tag key and value, the others their target. */
static void policy_text(const struct doc_check *c, char *buf, size_t len)
{
	const char *a = c->target, *b = c->target;
	if (c->env && c->env->kind == ENV_EC2) {
		a = c->env->tag_key;
		b = c->env->tag_value;
	}
	snprintf(buf, len, kinds[c->kind].fix_denied, a, b);
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

static void on_stack(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct doc_check *c = arg;
	if (c->d->finished)
		return;
	if (err->rc == BOT_ENOTFOUND) {
		SET(c->detail, "allowed (the stack does not exist now)");
		finish(c, DOC_PASS);
		return;
	}
	if (aws_common(c, err))
		return;
	if (err->rc != BOT_OK || !st) {
		aws_other(c, err);
		return;
	}
	SET(c->detail, "allowed (%s)", st->status);
	finish(c, DOC_PASS);
}

static void on_stack_events(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct doc_check *c = arg;
	(void)body;
	(void)len;
	if (c->d->finished)
		return;
	/* A stack that does not exist is a ValidationError after the
	 * permission check passed. */
	if (err->rc == BOT_ENOTFOUND ||
	    (err->rc == BOT_EREMOTE && strstr(err->message, "does not exist"))) {
		SET(c->detail, "allowed (the stack does not exist now)");
		finish(c, DOC_PASS);
		return;
	}
	if (aws_common(c, err))
		return;
	if (err->rc != BOT_OK) {
		aws_other(c, err);
		return;
	}
	SET(c->detail, "allowed");
	finish(c, DOC_PASS);
}

static void on_images(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct doc_check *c = arg;
	(void)body;
	(void)len;
	if (c->d->finished)
		return;
	if (err->rc == BOT_ENOTFOUND || strcmp(err->code, "RepositoryNotFoundException") == 0) {
		char why[600];
		aws_why(err, why, sizeof(why));
		SET(c->detail, "%s", why);
		SET(c->fix,
		    "no repository %s in %s (account %s): create it (aws ecr create-repository "
		    "--repository-name %s) or correct image.repository of %s",
		    c->target, aws_region(c->d->aws), c->d->account[0] ? c->d->account : "?",
		    c->target, c->envs);
		finish(c, DOC_FAIL);
		return;
	}
	if (aws_common(c, err))
		return;
	if (err->rc != BOT_OK) {
		aws_other(c, err);
		return;
	}
	SET(c->detail, "allowed");
	finish(c, DOC_PASS);
}

/* Form value escaping for the query protocol. Returns a new string the
 * caller frees with curl_free, NULL on ENOMEM. */
static char *form_escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

static void start_dry_runs(struct doctor *d, struct doc_check *describe);

/* The ids go into a form unescaped and into fixed slots: anything that is
 * not an instance id as EC2 writes them ("i-" and hex) is left out. */
static bool instance_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 2 && n < sizeof(((struct doc_check *)0)->ids[0]) && strncmp(id, "i-", 2) == 0 &&
	       strspn(id + 2, "0123456789abcdef") == n - 2;
}

static void on_instances(void *arg, const struct aws_err *err, const struct ec2_instances *l)
{
	struct doc_check *c = arg;
	if (c->d->finished)
		return;
	if (err->rc == BOT_OK && l) {
		c->ids = calloc(DOC_MAX_IDS, sizeof(*c->ids));
		for (size_t i = 0; c->ids && i < l->n && c->n_ids < DOC_MAX_IDS; i++)
			if (!l->v[i].in_asg && instance_id_ok(l->v[i].id))
				SET(c->ids[c->n_ids++], "%s", l->v[i].id);
		SET(c->detail, "allowed: %zu instance%s tagged%s", l->n, l->n == 1 ? "" : "s",
		    l->n_asg ? " (some in Auto Scaling groups, left to the group)" : "");
		start_dry_runs(c->d, c);
		finish(c, DOC_PASS);
		return;
	}
	if (!aws_common(c, err))
		aws_other(c, err);
	start_dry_runs(c->d, c);
}

static void on_dry_run(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct doc_check *c = arg;
	(void)body;
	(void)len;
	if (c->d->finished)
		return;
	if (err->rc == BOT_EREMOTE && strcmp(err->code, "DryRunOperation") == 0) {
		SET(c->detail, "allowed (DryRun on %zu tagged instance%s)", c->n_ids,
		    c->n_ids == 1 ? "" : "s");
		finish(c, DOC_PASS);
		return;
	}
	if (err->rc == BOT_OK) {
		/* an endpoint that ignores DryRun: it did act, but it was allowed */
		SET(c->detail, "allowed (the endpoint ignored DryRun=true)");
		finish(c, DOC_PASS);
		return;
	}
	if (!aws_common(c, err))
		aws_other(c, err);
}

/* The start/stop probes need instance ids: a tag condition in the policy is
 * evaluated against the instances themselves, so probing made-up ids would
 * say "denied" for a policy that is right. */
static void start_dry_runs(struct doctor *d, struct doc_check *describe)
{
	static const struct {
		enum doc_kind_id kind;
		const char *action;
	} probes[] = {
		{ K_START_INSTANCES, "StartInstances" },
		{ K_STOP_INSTANCES, "StopInstances" },
	};
	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		struct doc_check *c = find_check(d, probes[p].kind, describe->target);
		if (!c || c->state != DOC_PENDING)
			continue;
		if (describe->state == DOC_SKIP) {
			SET(c->detail, "%s", describe->detail);
			finish(c, DOC_SKIP);
			continue;
		}
		if (describe->state == DOC_FAIL || !describe->ids) {
			SET(c->detail, "not checked: ec2:DescribeInstances failed");
			finish(c, DOC_SKIP);
			continue;
		}
		if (describe->n_ids == 0) {
			SET(c->detail,
			    "not probed: no instance outside Auto Scaling groups has the tag %s "
			    "now",
			    c->target);
			SET(c->fix,
			    "the policy must allow ec2:%s on instances tagged %s "
			    "(condition aws:ResourceTag)",
			    probes[p].action, c->target);
			finish(c, DOC_INFO);
			continue;
		}
		c->n_ids = describe->n_ids;
		char form[64 * DOC_MAX_IDS + 32];
		size_t n = 0;
		for (size_t i = 0; i < describe->n_ids; i++)
			n += (size_t)snprintf(form + n, sizeof(form) - n, "InstanceId.%zu=%s&",
					      i + 1, describe->ids[i]);
		snprintf(form + n, sizeof(form) - n, "DryRun=true");
		if (aws_call_query(d->aws, AWS_EC2, probes[p].action, form, on_dry_run, c) !=
		    BOT_OK) {
			SET(c->detail, "could not start the probe (out of memory)");
			finish(c, DOC_FAIL);
		}
	}
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

static enum bot_rc start_describe_stacks(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	return aws_started(c, cfn_describe_stack(c->d->aws, c->target, on_stack, c));
}

static enum bot_rc start_stack_events(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	char *name = form_escape(c->target);
	char form[400];
	enum bot_rc rc = BOT_ENOMEM;
	if (name) {
		snprintf(form, sizeof(form), "StackName=%s", name);
		rc = aws_call_query(c->d->aws, AWS_CFN, "DescribeStackEvents", form,
				    on_stack_events, c);
	}
	curl_free(name);
	return aws_started(c, rc);
}

static enum bot_rc start_ecr_images(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	enum bot_rc rc = BOT_ENOMEM;
	char *json = NULL;
	cJSON *req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "repositoryName", c->target) ||
	    !cJSON_AddNumberToObject(req, "maxResults", 1))
		goto out;
	json = cJSON_PrintUnformatted(req);
	if (json)
		rc = aws_call_json(c->d->aws, AWS_ECR, "DescribeImages", json, on_images, c);
out:
	free(json);
	cJSON_Delete(req);
	return aws_started(c, rc);
}

static enum bot_rc start_describe_instances(struct doc_check *c)
{
	if (start_aws_pending(c) != BOT_OK)
		return BOT_OK;
	return aws_started(c, ec2_describe_by_tag(c->d->aws, c->env->tag_key, c->env->tag_value,
						  on_instances, c));
}

/* Started by start_describe_instances's answer; counted as pending now so
 * the loop cannot stop between the two. */
static enum bot_rc start_after_describe(struct doc_check *c)
{
	if (!c->d->aws) {
		SET(c->detail, "not checked: no AWS client");
		c->state = DOC_SKIP;
		return BOT_OK;
	}
	c->d->pending++;
	return BOT_OK;
}

static enum bot_rc start_info(struct doc_check *c)
{
	c->state = DOC_INFO;
	return BOT_OK;
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
	[K_DESCRIBE_STACKS] = {
		.name = "cloudformation:DescribeStacks",
		.start = start_describe_stacks,
		.fix_denied = "allow cloudformation:DescribeStacks on "
			      "arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/* "
			      "(deploy/cloudformation/envbot.yaml, parameter StackNames)",
	},
	[K_STACK_EVENTS] = {
		.name = "cloudformation:DescribeStackEvents",
		.start = start_stack_events,
		.fix_denied = "allow cloudformation:DescribeStackEvents on "
			      "arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/* "
			      "(deploy/cloudformation/envbot.yaml, parameter StackNames)",
	},
	[K_ECR_IMAGES] = {
		.name = "ecr:DescribeImages",
		.start = start_ecr_images,
		.fix_denied = "allow ecr:DescribeImages on "
			      "arn:aws:ecr:REGION:ACCOUNT:repository/%s "
			      "(deploy/cloudformation/envbot.yaml, parameter EcrRepositoryNames)",
	},
	[K_CREATE_DELETE] = {
		.name = "cloudformation:CreateStack/DeleteStack",
		.start = start_info,
		.fix_denied = "cannot be probed without creating or deleting %s: the policy must "
			      "allow both on arn:aws:cloudformation:REGION:ACCOUNT:stack/%s/*, "
			      "and s3:GetObject on the template_url object when its bucket is "
			      "private",
	},
	[K_PASS_ROLE] = {
		.name = "iam:PassRole",
		.start = start_info,
		.fix_denied = "cannot be probed safely (only CreateStack uses it): the policy "
			      "must allow iam:PassRole on %s with condition iam:PassedToService = "
			      "cloudformation.amazonaws.com",
	},
	[K_DESCRIBE_INSTANCES] = {
		.name = "ec2:DescribeInstances",
		.start = start_describe_instances,
		.fix_denied = "allow ec2:DescribeInstances on Resource \"*\" (EC2 Describe "
			      "calls have no resource-level permissions; envbot itself filters "
			      "by the tag %s=%s)",
	},
	[K_START_INSTANCES] = {
		.name = "ec2:StartInstances",
		.start = start_after_describe,
		.fix_denied = "allow ec2:StartInstances on arn:aws:ec2:REGION:ACCOUNT:instance/* "
			      "with condition StringEquals aws:ResourceTag/%s = %s "
			      "(deploy/cloudformation/envbot.yaml, Ec2TagKey/Ec2TagValue)",
	},
	[K_STOP_INSTANCES] = {
		.name = "ec2:StopInstances",
		.start = start_after_describe,
		.fix_denied = "allow ec2:StopInstances on arn:aws:ec2:REGION:ACCOUNT:instance/* "
			      "with condition StringEquals aws:ResourceTag/%s = %s "
			      "(deploy/cloudformation/envbot.yaml, Ec2TagKey/Ec2TagValue)",
	},
};

/* ---- the list, the run and the report ---- */

static int build_checks(struct doctor *d)
{
	const struct cfg *cfg = d->cfg;
	char tag[300];
	if (!add_check(d, K_TOKEN, "", NULL) ||
	    !add_check(d, K_APPLICATION, cfg->application_id, NULL) ||
	    !add_check(d, K_CHANNEL, cfg->channel_id, NULL))
		return -1;
	if (cfg->guild_id && cfg->guild_id[0] && !add_check(d, K_GUILD, cfg->guild_id, NULL))
		return -1;
	if (!add_check(d, K_CREDENTIALS, "", NULL))
		return -1;
	/* kind by kind, environments in config order within each */
	for (int k = K_DESCRIBE_STACKS; k < K_COUNT; k++) {
		for (size_t i = 0; i < cfg->n_envs; i++) {
			const struct cfg_env *env = &cfg->envs[i];
			const char *target = NULL;
			switch ((enum doc_kind_id)k) {
			case K_DESCRIBE_STACKS:
			case K_STACK_EVENTS:
			case K_CREATE_DELETE:
				target = env->kind == ENV_STACK ? env->stack_name : NULL;
				break;
			case K_ECR_IMAGES:
				target = env->kind == ENV_STACK ? env->image_repository : NULL;
				break;
			case K_PASS_ROLE:
				target = env->kind == ENV_STACK ? env->role_arn : NULL;
				break;
			case K_DESCRIBE_INSTANCES:
			case K_START_INSTANCES:
			case K_STOP_INSTANCES:
				if (env->kind == ENV_EC2) {
					snprintf(tag, sizeof(tag), "%s=%s", env->tag_key,
						 env->tag_value);
					target = tag;
				}
				break;
			default: break;
			}
			if (target && target[0] && !add_check(d, (enum doc_kind_id)k, target, env))
				return -1;
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
static void fill_arn(const struct doctor *d, const char *text, char *out, size_t len)
{
	size_t n = 0;
	while (*text && n + 1 < len) {
		const char *with = NULL;
		size_t skip = 0;
		if (strncmp(text, "REGION", 6) == 0 && d->cfg->region) {
			with = d->cfg->region;
			skip = 6;
		} else if (strncmp(text, "ACCOUNT", 7) == 0 && d->account[0]) {
			with = d->account;
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
	case K_DESCRIBE_INSTANCES:
	case K_START_INSTANCES:
	case K_STOP_INSTANCES:
		SET(head, "%s tag %s (%s)", kinds[c->kind].name, c->target, c->envs);
		break;
	default: SET(head, "%s %s (%s)", kinds[c->kind].name, c->target, c->envs); break;
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
	fill_arn(d, fix, filled, sizeof(filled));
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
	if (cfg_load(cli->config_path, &cfg, err, sizeof(err)) != BOT_OK) {
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
	size_t n_stack = 0;
	for (size_t i = 0; i < cfg->n_envs; i++)
		n_stack += cfg->envs[i].kind == ENV_STACK;
	printf("\u2714 config: %zu environment%s (%zu stack, %zu ec2)\n", cfg->n_envs,
	       cfg->n_envs == 1 ? "" : "s", n_stack, cfg->n_envs - n_stack);

	status = EXIT_FAILED;
	d.cfg = cfg;
	d.loop = loop_create();
	if (!d.loop || build_checks(&d) != 0) {
		fprintf(stderr, "envbot: out of memory\n");
		goto out;
	}
	make_rest(&d, &d.checks[0], &token);
	for (size_t i = 0; i < d.n_checks; i++)
		if (d.checks[i].kind == K_CREDENTIALS)
			make_aws(&d, &d.checks[i]);
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
	rest_destroy(d.rest);
	aws_destroy(d.aws);
	loop_destroy(d.loop);
	for (size_t i = 0; i < d.n_checks; i++)
		free(d.checks[i].ids);
	free(d.checks);
	free(token);
	cfg_destroy(cfg);
	return status;
}
