/* Discord REST, the message side: Discord's text limits applied to message
 * bodies (clamping, mention defusing, allowed_mentions), the message
 * builders, and the message and interaction endpoints, each a checked path
 * handed to rest_request() in rest.c (rest_request_files() for those that
 * attach files: names and types are checked here, the multipart is
 * rest.c's). */
#include "rest_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "../core/rand.h"

/* ---- embeds and messages ---- */

/* Number of code points in s (invalid bytes count as one each). */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Truncates the string item to max code points, the last being "…".
 * Returns 1 when changed. max 0 empties it. */
static int clamp_string(cJSON *item, size_t max)
{
	if (!cJSON_IsString(item) || !item->valuestring)
		return 0;
	const char *s = item->valuestring;
	if (utf8_len(s) <= max)
		return 0;
	size_t keep = max ? max - 1 : 0;
	const char *p = s;
	size_t cps = 0;
	while (*p) {
		if (((unsigned char)*p & 0xC0) != 0x80) {
			if (cps == keep)
				break;
			cps++;
		}
		p++;
	}
	size_t bytes = (size_t)(p - s);
	char *out = malloc(bytes + 4);
	if (!out)
		return 0;
	memcpy(out, s, bytes);
	if (max)
		memcpy(out + bytes, "\xE2\x80\xA6", 4); /* U+2026 and NUL */
	else
		out[bytes] = '\0';
	cJSON_SetValuestring(item, out);
	free(out);
	return 1;
}

/* Clamps one text item to min(limit, *budget) and charges the budget.
 * Returns changes; *removed set when nothing of it could be kept. */
static int clamp_budget(cJSON *item, size_t limit, size_t *budget, bool *removed)
{
	*removed = false;
	if (!cJSON_IsString(item) || !item->valuestring)
		return 0;
	size_t max = limit < *budget ? limit : *budget;
	int changed = clamp_string(item, max);
	size_t len = utf8_len(item->valuestring);
	if (max == 0 || len == 0)
		*removed = max == 0 && changed;
	*budget -= len < *budget ? len : *budget;
	return changed;
}

static int clamp_embed(cJSON *embed, size_t *budget)
{
	int changes = 0;
	bool removed;
	if (!cJSON_IsObject(embed))
		return 0;
	cJSON *title = cJSON_GetObjectItemCaseSensitive(embed, "title");
	changes += clamp_budget(title, REST_EMBED_TITLE, budget, &removed);
	if (removed)
		cJSON_DeleteItemFromObjectCaseSensitive(embed, "title");
	cJSON *author = cJSON_GetObjectItemCaseSensitive(embed, "author");
	cJSON *aname = cJSON_GetObjectItemCaseSensitive(author, "name");
	changes += clamp_budget(aname, REST_EMBED_AUTHOR, budget, &removed);
	if (removed)
		cJSON_DeleteItemFromObjectCaseSensitive(embed, "author");
	cJSON *desc = cJSON_GetObjectItemCaseSensitive(embed, "description");
	changes += clamp_budget(desc, REST_EMBED_DESCRIPTION, budget, &removed);
	if (removed)
		cJSON_DeleteItemFromObjectCaseSensitive(embed, "description");
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(embed, "fields");
	if (cJSON_IsArray(fields)) {
		while (cJSON_GetArraySize(fields) > REST_EMBED_FIELDS) {
			cJSON_DeleteItemFromArray(fields, cJSON_GetArraySize(fields) - 1);
			changes++;
		}
		for (int i = 0; i < cJSON_GetArraySize(fields);) {
			cJSON *f = cJSON_GetArrayItem(fields, i);
			bool r1 = false, r2 = false;
			changes += clamp_budget(cJSON_GetObjectItemCaseSensitive(f, "name"),
						REST_EMBED_FIELD_NAME, budget, &r1);
			changes += clamp_budget(cJSON_GetObjectItemCaseSensitive(f, "value"),
						REST_EMBED_FIELD_VALUE, budget, &r2);
			if (r1 || r2) {
				/* A field needs both a name and a value. */
				cJSON_DeleteItemFromArray(fields, i);
				changes++;
				continue;
			}
			i++;
		}
	}
	cJSON *footer = cJSON_GetObjectItemCaseSensitive(embed, "footer");
	cJSON *ftext = cJSON_GetObjectItemCaseSensitive(footer, "text");
	changes += clamp_budget(ftext, REST_EMBED_FOOTER, budget, &removed);
	if (removed)
		cJSON_DeleteItemFromObjectCaseSensitive(embed, "footer");
	return changes;
}

/* Mention syntax made inert in shown text: "@everyone", "@here", "<@id>",
 * "<@!id>", "<@&id>" get a zero-width space after the '@'. allowed_mentions
 * already stops the pings; this also keeps user-typed names (stored raw in
 * the state and the audit) from even looking like a mention, whatever module
 * built the message. Returns 1 when the string changed. */
static int defuse_mentions(cJSON *str)
{
	static const char zwsp[] = "\xE2\x80\x8B";
	if (!cJSON_IsString(str) || !str->valuestring || !strchr(str->valuestring, '@'))
		return 0;
	const char *in = str->valuestring;
	size_t n = strlen(in), extra = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] == '@')
			extra += 3;
	char *out = malloc(n + extra + 1), *o = out;
	if (!out)
		return 0;
	int changed = 0;
	for (size_t i = 0; i < n; i++) {
		*o++ = in[i];
		if (in[i] != '@')
			continue;
		const char *next = in + i + 1;
		bool ping = strncmp(next, "everyone", 8) == 0 || strncmp(next, "here", 4) == 0 ||
			    (i > 0 && in[i - 1] == '<' &&
			     (isdigit((unsigned char)*next) || *next == '!' || *next == '&'));
		if (ping) {
			memcpy(o, zwsp, 3);
			o += 3;
			changed = 1;
		}
	}
	*o = '\0';
	if (changed)
		cJSON_SetValuestring(str, out);
	free(out);
	return changed;
}

/* Every shown string under item (not URLs). */
static int defuse_tree(cJSON *item)
{
	int changes = 0;
	cJSON *c;
	if (cJSON_IsString(item))
		return defuse_mentions(item);
	cJSON_ArrayForEach(c, item)
	{
		size_t kl = c->string ? strlen(c->string) : 0;
		if (kl >= 3 && strcmp(c->string + kl - 3, "url") == 0)
			continue;
		changes += defuse_tree(c);
	}
	return changes;
}

int rest_message_clamp(cJSON *msg)
{
	int changes = 0;
	if (!cJSON_IsObject(msg))
		return 0;
	/* Defused first: each defused '@' adds a character, so clamping after
	 * could leave a string over Discord's limit (400: the message lost). */
	changes += defuse_tree(cJSON_GetObjectItemCaseSensitive(msg, "content"));
	changes += defuse_tree(cJSON_GetObjectItemCaseSensitive(msg, "embeds"));
	changes += clamp_string(cJSON_GetObjectItemCaseSensitive(msg, "content"), REST_CONTENT_MAX);
	cJSON *embeds = cJSON_GetObjectItemCaseSensitive(msg, "embeds");
	if (cJSON_IsArray(embeds)) {
		while (cJSON_GetArraySize(embeds) > REST_EMBEDS_PER_MESSAGE) {
			cJSON_DeleteItemFromArray(embeds, cJSON_GetArraySize(embeds) - 1);
			changes++;
		}
		size_t budget = REST_EMBED_TOTAL;
		cJSON *e;
		cJSON_ArrayForEach(e, embeds) changes += clamp_embed(e, &budget);
	}
	/* The bot can never be made to ping @everyone, roles or users. */
	cJSON *am = cJSON_CreateObject();
	if (am && cJSON_AddArrayToObject(am, "parse")) {
		if (cJSON_HasObjectItem(msg, "allowed_mentions"))
			cJSON_ReplaceItemInObjectCaseSensitive(msg, "allowed_mentions", am);
		else
			cJSON_AddItemToObject(msg, "allowed_mentions", am);
	} else {
		cJSON_Delete(am);
	}
	return changes;
}

cJSON *rest_msg_new(const char *content, int flags)
{
	cJSON *m = cJSON_CreateObject();
	if (!m)
		return NULL;
	if (content && !cJSON_AddStringToObject(m, "content", content))
		goto fail;
	if (flags && !cJSON_AddNumberToObject(m, "flags", flags))
		goto fail;
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

static bool id_ok(const char *s)
{
	return s && rest_all_digits(s, strlen(s)) && strlen(s) < 24;
}

/* Interaction tokens are URL-safe: letters, digits, '-', '_', '.'. */
static bool token_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 512)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* One nonce for every retry of a channel post (the body is built once):
 * msg's own, else a random one; and enforce_nonce. */
static void set_nonce(cJSON *msg)
{
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "nonce"))) {
		unsigned char r[12];
		char nonce[REST_NONCE_SIZE];
		rand_bytes(r, sizeof(r));
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(nonce + 2 * i, 3, "%02x", r[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(msg, "nonce");
		cJSON_AddStringToObject(msg, "nonce", nonce);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "enforce_nonce");
	cJSON_AddBoolToObject(msg, "enforce_nonce", 1);
}

enum bot_rc rest_create_message(struct rest *rest, const char *channel_id, cJSON *msg,
				rest_done_fn done, void *arg)
{
	char path[96];
	if (!id_ok(channel_id) || !msg) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	rest_message_clamp(msg);
	set_nonce(msg);
	snprintf(path, sizeof(path), "/channels/%s/messages", channel_id);
	return rest_request(rest, "POST", path, msg, 0, done, arg);
}

/* ---- files ---- */

/* Names an embed can point at as attachment://NAME: Discord keeps letters,
 * digits, '.', '-' and '_' as they are and rewrites the rest, which would
 * break the reference silently. */
static bool file_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > REST_FILE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return false;
	return true;
}

/* A Content-Type goes into a part's header line as it is: printable ASCII,
 * nothing that could end the line. */
static bool content_type_ok(const char *s)
{
	if (!s)
		return true; /* application/octet-stream */
	size_t n = strlen(s);
	if (n == 0 || n > 127)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7E)
			return false;
	return true;
}

static bool files_ok(const struct rest_file *files, size_t n)
{
	size_t total = 0;
	if (n > REST_FILES_MAX || (n && !files))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct rest_file *f = &files[i];
		if (!file_name_ok(f->name) || !content_type_ok(f->content_type) ||
		    (f->len && !f->data) || f->len > REST_FILES_BYTES - total)
			return false;
		total += f->len;
	}
	return true;
}

/* msg's "attachments": one {id, filename} per file, the id being the index
 * of its "files[i]" part. Returns false on allocation failure. */
static bool set_attachments(cJSON *msg, const struct rest_file *files, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return false;
	for (size_t i = 0; i < n; i++) {
		cJSON *a = cJSON_CreateObject();
		if (!a) {
			cJSON_Delete(arr);
			return false;
		}
		cJSON_AddItemToArray(arr, a);
		if (!cJSON_AddNumberToObject(a, "id", (double)i) ||
		    !cJSON_AddStringToObject(a, "filename", files[i].name)) {
			cJSON_Delete(arr);
			return false;
		}
	}
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "attachments");
	cJSON_AddItemToObject(msg, "attachments", arr);
	return true;
}

/* What every *_files endpoint does before sending: the files checked, the
 * message clamped and given its attachments. Frees msg on failure. */
static enum bot_rc files_prepare(cJSON *msg, const struct rest_file *files, size_t n)
{
	if (!msg || !files_ok(files, n)) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	rest_message_clamp(msg);
	if (!set_attachments(msg, files, n)) {
		cJSON_Delete(msg);
		return BOT_ENOMEM;
	}
	return BOT_OK;
}

enum bot_rc rest_create_message_files(struct rest *rest, const char *channel_id, cJSON *msg,
				      const struct rest_file *files, size_t n_files,
				      rest_done_fn done, void *arg)
{
	char path[96];
	if (!id_ok(channel_id)) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	enum bot_rc rc = files_prepare(msg, files, n_files);
	if (rc != BOT_OK)
		return rc;
	set_nonce(msg);
	snprintf(path, sizeof(path), "/channels/%s/messages", channel_id);
	return rest_request_files(rest, "POST", path, msg, files, n_files, 0, done, arg);
}

void rest_nonce_for(const char *key, char out[REST_NONCE_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)key, strlen(key), md);
	for (size_t i = 0; i < 12; i++) /* 24 hex characters */
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

enum bot_rc rest_edit_message(struct rest *rest, const char *channel_id, const char *message_id,
			      cJSON *msg, rest_done_fn done, void *arg)
{
	char path[128];
	if (!id_ok(channel_id) || !id_ok(message_id) || !msg) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	rest_message_clamp(msg);
	snprintf(path, sizeof(path), "/channels/%s/messages/%s", channel_id, message_id);
	return rest_request(rest, "PATCH", path, msg, 0, done, arg);
}

enum bot_rc rest_interaction_callback(struct rest *rest, const char *interaction_id,
				      const char *interaction_token, enum rest_callback_type type,
				      cJSON *data, rest_done_fn done, void *arg)
{
	char path[640];
	cJSON *body = NULL;
	if (!id_ok(interaction_id) || !token_ok(interaction_token)) {
		cJSON_Delete(data);
		return BOT_EINVAL;
	}
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddNumberToObject(body, "type", (double)type)) {
		cJSON_Delete(body);
		cJSON_Delete(data);
		return BOT_ENOMEM;
	}
	if (data) {
		if (type == REST_CB_MESSAGE || type == REST_CB_UPDATE_MESSAGE)
			rest_message_clamp(data);
		cJSON_AddItemToObject(body, "data", data);
	}
	snprintf(path, sizeof(path), "/interactions/%s/%s/callback", interaction_id,
		 interaction_token);
	return rest_request(rest, "POST", path, body, REST_INTERACTION, done, arg);
}

enum bot_rc rest_edit_original(struct rest *rest, const char *interaction_token, cJSON *msg,
			       rest_done_fn done, void *arg)
{
	char path[640];
	if (!token_ok(interaction_token) || !msg || !id_ok(rest_app_id(rest))) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	rest_message_clamp(msg);
	snprintf(path, sizeof(path), "/webhooks/%s/%s/messages/@original", rest_app_id(rest),
		 interaction_token);
	return rest_request(rest, "PATCH", path, msg, REST_INTERACTION, done, arg);
}

enum bot_rc rest_followup(struct rest *rest, const char *interaction_token, cJSON *msg,
			  rest_done_fn done, void *arg)
{
	char path[640];
	if (!token_ok(interaction_token) || !msg || !id_ok(rest_app_id(rest))) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	rest_message_clamp(msg);
	snprintf(path, sizeof(path), "/webhooks/%s/%s", rest_app_id(rest), interaction_token);
	return rest_request(rest, "POST", path, msg, REST_INTERACTION, done, arg);
}

/* The webhook routes of an interaction's followup or @original, with
 * files. */
static enum bot_rc webhook_files(struct rest *rest, const char *method, const char *tail,
				 const char *interaction_token, cJSON *msg,
				 const struct rest_file *files, size_t n_files, rest_done_fn done,
				 void *arg)
{
	char path[640];
	if (!token_ok(interaction_token) || !id_ok(rest_app_id(rest))) {
		cJSON_Delete(msg);
		return BOT_EINVAL;
	}
	enum bot_rc rc = files_prepare(msg, files, n_files);
	if (rc != BOT_OK)
		return rc;
	snprintf(path, sizeof(path), "/webhooks/%s/%s%s", rest_app_id(rest), interaction_token,
		 tail);
	return rest_request_files(rest, method, path, msg, files, n_files, REST_INTERACTION, done,
				  arg);
}

enum bot_rc rest_followup_files(struct rest *rest, const char *interaction_token, cJSON *msg,
				const struct rest_file *files, size_t n_files, rest_done_fn done,
				void *arg)
{
	return webhook_files(rest, "POST", "", interaction_token, msg, files, n_files, done, arg);
}

enum bot_rc rest_edit_original_files(struct rest *rest, const char *interaction_token, cJSON *msg,
				     const struct rest_file *files, size_t n_files,
				     rest_done_fn done, void *arg)
{
	return webhook_files(rest, "PATCH", "/messages/@original", interaction_token, msg, files,
			     n_files, done, arg);
}

enum bot_rc rest_autocomplete(struct rest *rest, const char *interaction_id,
			      const char *interaction_token, const char *const *choices,
			      size_t n_choices, rest_done_fn done, void *arg)
{
	cJSON *data = cJSON_CreateObject();
	cJSON *arr = data ? cJSON_AddArrayToObject(data, "choices") : NULL;
	if (!arr)
		goto fail;
	for (size_t i = 0; i < n_choices && i < 25; i++) {
		cJSON *c = cJSON_CreateObject();
		if (!c)
			goto fail;
		cJSON_AddItemToArray(arr, c);
		cJSON *name = cJSON_AddStringToObject(c, "name", choices[i]);
		cJSON *value = cJSON_AddStringToObject(c, "value", choices[i]);
		if (!name || !value)
			goto fail;
		clamp_string(name, 100);
		clamp_string(value, 100);
	}
	return rest_interaction_callback(rest, interaction_id, interaction_token,
					 REST_CB_AUTOCOMPLETE, data, done, arg);
fail:
	cJSON_Delete(data);
	return BOT_ENOMEM;
}
