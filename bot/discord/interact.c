/* Interactions: decoding INTERACTION_CREATE into struct ix (bounded copies
 * of the fields envbot uses) and the reply helpers. A reply that must learn
 * something back (the id of @original) holds a reference on the ix, so a
 * handler may free its ix at any time. */
#include "interact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/loop.h"

#define MOD "ix"

/* An edit queued until the ACK has landed. */
struct ix_later {
	cJSON *msg;
	rest_done_fn done;
	void *arg;
	struct ix_later *next;
};

static bool copy_id(char *dst, const cJSON *item)
{
	if (!cJSON_IsString(item) || !item->valuestring)
		return false;
	size_t n = strlen(item->valuestring);
	if (n == 0 || n >= IX_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (item->valuestring[i] < '0' || item->valuestring[i] > '9')
			return false;
	memcpy(dst, item->valuestring, n + 1);
	return true;
}

static void copy_name(char *dst, const cJSON *item)
{
	if (cJSON_IsString(item) && item->valuestring)
		snprintf(dst, IX_NAME_MAX, "%s", item->valuestring);
}

/* A Discord locale ("ko", "en-US", "es-419"): letters, digits and '-', or
 * nothing. */
static void copy_locale(char *dst, const cJSON *item)
{
	if (!cJSON_IsString(item) || !item->valuestring)
		return;
	size_t n = strlen(item->valuestring);
	if (n == 0 || n >= IX_LOCALE_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = item->valuestring[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return;
	}
	memcpy(dst, item->valuestring, n + 1);
}

/* The option's value as text; a new string, NULL on ENOMEM. */
static char *value_text(const cJSON *v)
{
	char buf[64];
	if (cJSON_IsString(v) && v->valuestring) {
		size_t n = strlen(v->valuestring);
		if (n >= IX_VALUE_MAX)
			n = IX_VALUE_MAX - 1;
		return strndup(v->valuestring, n);
	}
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		/* Range first: converting a double outside long long is
		 * undefined (found by tests/fuzz with 1e300). */
		if (d < 9e15 && d > -9e15 && d == (double)(long long)d)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	return strdup("");
}

/* Descends subcommand groups and subcommands, then copies the leaf
 * options. Returns false on ENOMEM. */
static bool parse_options(struct ix *ix, const cJSON *options, int depth)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, options)
	{
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
		int t = cJSON_IsNumber(type) ? type->valueint : 0;
		if ((t == 1 || t == 2) && depth < 2) {
			copy_name(t == 2 ? ix->group : ix->subcommand, name);
			if (!parse_options(ix, cJSON_GetObjectItemCaseSensitive(o, "options"),
					   depth + 1))
				return false;
			continue;
		}
		if (ix->n_options >= IX_MAX_OPTIONS || !cJSON_IsString(name))
			continue;
		struct ix_option *opt = &ix->options[ix->n_options];
		copy_name(opt->name, name);
		opt->type = t;
		opt->focused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "focused"));
		opt->value = value_text(cJSON_GetObjectItemCaseSensitive(o, "value"));
		if (!opt->value)
			return false;
		ix->n_options++;
	}
	return true;
}

enum bot_rc ix_parse(const cJSON *d, uint64_t received_ms, struct ix **out)
{
	enum bot_rc rc = BOT_ENOMEM;
	*out = NULL;
	struct ix *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return BOT_ENOMEM;
	ix->refs = 1;
	ix->received_ms = received_ms;
	rc = BOT_EPARSE;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(d, "token");
	if (!copy_id(ix->id, cJSON_GetObjectItemCaseSensitive(d, "id")) || !cJSON_IsNumber(type) ||
	    type->valueint < IX_PING || type->valueint > IX_MODAL || !cJSON_IsString(token) ||
	    !token->valuestring[0] || strlen(token->valuestring) > 512)
		goto out;
	ix->type = (enum ix_type)type->valueint;
	copy_id(ix->application_id, cJSON_GetObjectItemCaseSensitive(d, "application_id"));
	copy_id(ix->guild_id, cJSON_GetObjectItemCaseSensitive(d, "guild_id"));
	if (!copy_id(ix->channel_id, cJSON_GetObjectItemCaseSensitive(d, "channel_id"))) {
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, "channel");
		copy_id(ix->channel_id, cJSON_GetObjectItemCaseSensitive(ch, "id"));
	}
	const cJSON *member = cJSON_GetObjectItemCaseSensitive(d, "member");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(member, "user");
	if (!user)
		user = cJSON_GetObjectItemCaseSensitive(d, "user");
	copy_id(ix->user_id, cJSON_GetObjectItemCaseSensitive(user, "id"));
	const cJSON *gname = cJSON_GetObjectItemCaseSensitive(user, "global_name");
	copy_name(ix->user_name, cJSON_IsString(gname)
					 ? gname
					 : cJSON_GetObjectItemCaseSensitive(user, "username"));
	/* The user's, not guild_locale: a reply is read by the one who asked. */
	copy_locale(ix->locale, cJSON_GetObjectItemCaseSensitive(d, "locale"));

	rc = BOT_ENOMEM;
	ix->token = strdup(token->valuestring);
	if (!ix->token)
		goto out;
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(member, "roles");
	int nr = cJSON_IsArray(roles) ? cJSON_GetArraySize(roles) : 0;
	if (nr > IX_MAX_ROLES)
		nr = IX_MAX_ROLES;
	if (nr > 0) {
		ix->roles = calloc((size_t)nr, sizeof(char *));
		if (!ix->roles)
			goto out;
		const cJSON *r;
		cJSON_ArrayForEach(r, roles)
		{
			if (ix->n_roles >= (size_t)nr)
				break;
			char id[IX_ID_MAX];
			if (!copy_id(id, r))
				continue;
			ix->roles[ix->n_roles] = strdup(id);
			if (!ix->roles[ix->n_roles])
				goto out;
			ix->n_roles++;
		}
	}

	const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data");
	if (ix->type == IX_COMMAND || ix->type == IX_AUTOCOMPLETE) {
		rc = BOT_EPARSE;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(data, "name");
		if (!cJSON_IsString(name) || !name->valuestring[0])
			goto out;
		copy_name(ix->command, name);
		rc = BOT_ENOMEM;
		if (!parse_options(ix, cJSON_GetObjectItemCaseSensitive(data, "options"), 0))
			goto out;
	} else if (ix->type == IX_COMPONENT || ix->type == IX_MODAL) {
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(data, "custom_id");
		rc = BOT_EPARSE;
		if (!cJSON_IsString(cid) || strlen(cid->valuestring) > 100)
			goto out;
		rc = BOT_ENOMEM;
		ix->custom_id = strdup(cid->valuestring);
		if (!ix->custom_id)
			goto out;
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(d, "message");
		copy_id(ix->message_id, cJSON_GetObjectItemCaseSensitive(msg, "id"));
	}
	log_add_secret(ix->token);
	*out = ix;
	ix = NULL;
	rc = BOT_OK;
out:
	if (ix) {
		/* Not registered as a secret yet: free directly. */
		char *t = ix->token;
		ix->token = NULL;
		ix_free(ix);
		free(t);
	}
	return rc;
}

void ix_free(struct ix *ix)
{
	if (!ix || --ix->refs > 0)
		return;
	if (ix->token) {
		log_remove_secret(ix->token);
		free(ix->token);
	}
	for (size_t i = 0; i < ix->n_roles; i++)
		free(ix->roles[i]);
	free(ix->roles);
	for (size_t i = 0; i < ix->n_options; i++)
		free(ix->options[i].value);
	free(ix->custom_id);
	while (ix->later) {
		struct ix_later *l = ix->later;
		ix->later = l->next;
		cJSON_Delete(l->msg);
		free(l);
	}
	free(ix);
}

const char *ix_option(const struct ix *ix, const char *name)
{
	for (size_t i = 0; i < ix->n_options; i++)
		if (strcmp(ix->options[i].name, name) == 0)
			return ix->options[i].value;
	return NULL;
}

const struct ix_option *ix_focused(const struct ix *ix)
{
	for (size_t i = 0; i < ix->n_options; i++)
		if (ix->options[i].focused)
			return &ix->options[i];
	return NULL;
}

bool ix_has_role(const struct ix *ix, char *const *roles, size_t n_roles)
{
	for (size_t i = 0; i < ix->n_roles; i++)
		for (size_t j = 0; j < n_roles; j++)
			if (roles[j] && strcmp(ix->roles[i], roles[j]) == 0)
				return true;
	return false;
}

/* ---- replies ---- */

/* A reply in flight that holds a reference on its ix. */
struct ix_pending {
	struct ix *ix;
	struct rest *rest;
	rest_done_fn done;
	void *arg;
	bool learn_id;
	bool is_ack;
};

/* The ACK finished: send the edits that waited for it, or fail them. */
static void flush_later(struct rest *rest, struct ix *ix, const struct rest_response *ack)
{
	struct ix_later *l = ix->later;
	ix->later = NULL;
	while (l) {
		struct ix_later *next = l->next;
		enum bot_rc rc = BOT_OK;
		if (ack->rc == BOT_OK)
			rc = ix_edit(rest, ix, l->msg, l->done, l->arg);
		else
			cJSON_Delete(l->msg);
		if ((ack->rc != BOT_OK || rc != BOT_OK) && l->done) {
			struct rest_response res = { .rc = ack->rc != BOT_OK ? ack->rc : rc,
						     .body = "" };
			l->done(l->arg, &res);
		}
		free(l);
		l = next;
	}
}

static void pending_done(void *arg, const struct rest_response *res)
{
	struct ix_pending *p = arg;
	if (res->rc == BOT_OK && p->learn_id && !p->ix->original_id[0]) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(res->json, "id");
		copy_id(p->ix->original_id, id);
	}
	if (res->rc != BOT_OK && res->rc != BOT_ECANCELLED)
		log_warn(MOD, "msg=\"interaction reply failed\" id=%s status=%ld rc=\"%s\"",
			 p->ix->id, res->status, bot_strerror(res->rc));
	if (p->is_ack) {
		p->ix->ack_state = res->rc == BOT_OK ? 2 : 3;
		flush_later(p->rest, p->ix, res);
	}
	if (p->done)
		p->done(p->arg, res);
	ix_free(p->ix);
	free(p);
}

static struct ix_pending *pending_new(struct rest *rest, struct ix *ix, rest_done_fn done,
				      void *arg, bool learn)
{
	struct ix_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ix = ix;
	p->rest = rest;
	p->done = done;
	p->arg = arg;
	p->learn_id = learn;
	ix->refs++;
	return p;
}

/* rc from a rest_* call that did not take the pending context. */
static enum bot_rc pending_fail(struct ix_pending *p, enum bot_rc rc)
{
	ix_free(p->ix);
	free(p);
	return rc;
}

/* The interaction's one response; done (may be NULL) once it has landed or
 * failed, after the edits that waited for it have been sent on their way. */
static enum bot_rc callback_then(struct rest *rest, struct ix *ix, enum rest_callback_type type,
				 cJSON *data, rest_done_fn done, void *arg)
{
	if (ix->acked) {
		/* Discord allows one response per interaction. */
		cJSON_Delete(data);
		return BOT_EBUSY;
	}
	struct ix_pending *p = pending_new(rest, ix, done, arg, false);
	if (!p) {
		cJSON_Delete(data);
		return BOT_ENOMEM;
	}
	p->is_ack = true;
	enum bot_rc rc =
		rest_interaction_callback(rest, ix->id, ix->token, type, data, pending_done, p);
	if (rc != BOT_OK)
		return pending_fail(p, rc);
	ix->acked = true;
	ix->ack_state = 1;
	uint64_t age = loop_now_ms() - ix->received_ms;
	if (age > 2500)
		log_warn(MOD, "msg=\"interaction acknowledged late\" id=%s age_ms=%llu", ix->id,
			 (unsigned long long)age);
	return BOT_OK;
}

static enum bot_rc callback(struct rest *rest, struct ix *ix, enum rest_callback_type type,
			    cJSON *data)
{
	return callback_then(rest, ix, type, data, NULL, NULL);
}

enum bot_rc ix_defer(struct rest *rest, struct ix *ix, bool ephemeral)
{
	cJSON *data = NULL;
	if (ephemeral) {
		data = cJSON_CreateObject();
		if (!data || !cJSON_AddNumberToObject(data, "flags", REST_FLAG_EPHEMERAL)) {
			cJSON_Delete(data);
			return BOT_ENOMEM;
		}
	}
	enum bot_rc rc = callback(rest, ix, REST_CB_DEFERRED_MESSAGE, data);
	if (rc == BOT_OK)
		ix->ephemeral = ephemeral;
	return rc;
}

enum bot_rc ix_reply(struct rest *rest, struct ix *ix, cJSON *msg)
{
	return ix_reply_then(rest, ix, msg, NULL, NULL);
}

enum bot_rc ix_reply_then(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done,
			  void *arg)
{
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(msg, "flags");
	bool eph = cJSON_IsNumber(flags) && (flags->valueint & REST_FLAG_EPHEMERAL);
	enum bot_rc rc = callback_then(rest, ix, REST_CB_MESSAGE, msg, done, arg);
	if (rc == BOT_OK)
		ix->ephemeral = eph;
	return rc;
}

enum bot_rc ix_edit(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done, void *arg)
{
	if (!msg)
		return BOT_EINVAL;
	if (ix->ack_state == 3) {
		/* The ACK was refused: there is no @original to edit. */
		cJSON_Delete(msg);
		return BOT_EREMOTE;
	}
	if (ix->ack_state == 1) {
		struct ix_later *l = calloc(1, sizeof(*l)), **pp = &ix->later;
		if (!l) {
			cJSON_Delete(msg);
			return BOT_ENOMEM;
		}
		*l = (struct ix_later){ .msg = msg, .done = done, .arg = arg };
		while (*pp)
			pp = &(*pp)->next;
		*pp = l;
		return BOT_OK;
	}
	uint64_t age = loop_now_ms() - ix->received_ms;
	bool token_valid = age < IX_TOKEN_TTL_MS - IX_TOKEN_MARGIN_MS;
	if (!token_valid && (ix->ephemeral || !ix->original_id[0] || !ix->channel_id[0])) {
		/* Ephemeral messages exist only through the token. */
		cJSON_Delete(msg);
		return BOT_ETIMEDOUT;
	}
	struct ix_pending *p = pending_new(rest, ix, done, arg, true);
	if (!p) {
		cJSON_Delete(msg);
		return BOT_ENOMEM;
	}
	enum bot_rc rc;
	if (token_valid)
		rc = rest_edit_original(rest, ix->token, msg, pending_done, p);
	else
		rc = rest_edit_message(rest, ix->channel_id, ix->original_id, msg, pending_done, p);
	return rc == BOT_OK ? rc : pending_fail(p, rc);
}

enum bot_rc ix_followup(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done, void *arg)
{
	if (loop_now_ms() - ix->received_ms >= IX_TOKEN_TTL_MS - IX_TOKEN_MARGIN_MS) {
		cJSON_Delete(msg);
		return BOT_ETIMEDOUT;
	}
	struct ix_pending *p = pending_new(rest, ix, done, arg, false);
	if (!p) {
		cJSON_Delete(msg);
		return BOT_ENOMEM;
	}
	enum bot_rc rc = rest_followup(rest, ix->token, msg, pending_done, p);
	return rc == BOT_OK ? rc : pending_fail(p, rc);
}

enum bot_rc ix_autocomplete(struct rest *rest, struct ix *ix, const char *const *choices, size_t n)
{
	if (ix->acked)
		return BOT_EBUSY;
	struct ix_pending *p = pending_new(rest, ix, NULL, NULL, false);
	if (!p)
		return BOT_ENOMEM;
	enum bot_rc rc = rest_autocomplete(rest, ix->id, ix->token, choices, n, pending_done, p);
	if (rc != BOT_OK)
		return pending_fail(p, rc);
	ix->acked = true;
	return BOT_OK;
}

enum bot_rc ix_component_update(struct rest *rest, struct ix *ix, cJSON *msg)
{
	return callback(rest, ix, msg ? REST_CB_UPDATE_MESSAGE : REST_CB_DEFERRED_UPDATE, msg);
}
