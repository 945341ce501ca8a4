/* The DynamoDB store of ddb_store.h: request documents built with cJSON,
 * the state document compressed with zlib and carried as binary
 * attributes (base64 on the wire, OpenSSL's codec). */
#include "ddb_store.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "../core/log.h"

#define MOD        "state"
#define SYNC_MS    3000L /* per attempt of a blocking call */
#define LEASE_PK   "leader"
#define STATE_PK   "state"
#define MAX_DOC_MB 64 /* an uncompressed document larger than this is refused */

struct ddb_store {
	struct aws *aws;
	char *table;
	char owner[DDB_OWNER_MAX];
	const struct fence *fence;
	int64_t token;   /* the lease's fencing token while ours, else 0 */
	int64_t version; /* the state item's version last read or written */
	struct lease_call *calls;
};

/* An asynchronous lease call in flight. */
struct lease_call {
	struct ddb_store *s;
	bool acquire;
	ddb_lease_fn cb;
	void *arg;
	struct lease_call *next;
};

struct ddb_store *ddb_store_create(struct aws *aws, const char *table, const char *owner,
				   const struct fence *fence)
{
	struct ddb_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->table = strdup(table))) {
		free(s);
		return NULL;
	}
	s->aws = aws;
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->fence = fence;
	return s;
}

void ddb_store_destroy(struct ddb_store *s)
{
	if (!s)
		return;
	ddb_lease_cancel(s);
	free(s->table);
	free(s);
}

const char *ddb_store_owner(const struct ddb_store *s)
{
	return s->owner;
}

const char *ddb_store_table(const struct ddb_store *s)
{
	return s->table;
}

int64_t ddb_store_token(const struct ddb_store *s)
{
	return s->token;
}

int64_t ddb_store_version(const struct ddb_store *s)
{
	return s->version;
}

/* ---- attribute values ---- */

static cJSON *attr(cJSON *obj, const char *name, const char *type, const char *value)
{
	cJSON *a = cJSON_AddObjectToObject(obj, name);
	if (a)
		cJSON_AddStringToObject(a, type, value);
	return a;
}

static void attr_n(cJSON *obj, const char *name, int64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)v);
	attr(obj, name, "N", num);
}

static const char *get_s(const cJSON *item, const char *name)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "S");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_n(const cJSON *item, const char *name, int64_t *out)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "N");
	if (!cJSON_IsString(v))
		return false;
	char *end;
	long long n = strtoll(v->valuestring, &end, 10);
	if (end == v->valuestring || *end)
		return false;
	*out = n;
	return true;
}

static cJSON *key_of(const char *pk)
{
	cJSON *k = cJSON_CreateObject();
	if (k)
		attr(k, "pk", "S", pk);
	return k;
}

/* {"TableName": table} plus whatever the caller adds. */
static cJSON *request(const struct ddb_store *s)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddStringToObject(o, "TableName", s->table);
	return o;
}

/* Prints and frees o; NULL on allocation failure. */
static char *take_json(cJSON *o)
{
	char *j = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return j;
}

static bool is_code(const struct aws_err *e, const char *code)
{
	return strcmp(e->code, code) == 0;
}

/* ---- the lease ---- */

static char *lease_update_json(const struct ddb_store *s, bool acquire, int64_t now_ms,
			       int64_t lease_ms)
{
	cJSON *o = request(s);
	if (!o)
		return NULL;
	cJSON_AddItemToObject(o, "Key", key_of(LEASE_PK));
	cJSON *names = cJSON_AddObjectToObject(o, "ExpressionAttributeNames");
	cJSON_AddStringToObject(names, "#o", "owner");
	cJSON_AddStringToObject(names, "#t", "token");
	cJSON *v = cJSON_AddObjectToObject(o, "ExpressionAttributeValues");
	attr(v, ":me", "S", s->owner);
	attr_n(v, ":exp", now_ms + lease_ms);
	if (acquire) {
		attr_n(v, ":now", now_ms);
		attr_n(v, ":one", 1);
		cJSON_AddStringToObject(o, "ConditionExpression",
					"attribute_not_exists(pk) OR expires_ms < :now");
		cJSON_AddStringToObject(o, "UpdateExpression",
					"SET #o = :me, expires_ms = :exp, since_ms = :now "
					"ADD #t :one");
		cJSON_AddStringToObject(o, "ReturnValues", "ALL_NEW");
	} else {
		attr_n(v, ":tok", s->token);
		cJSON_AddStringToObject(o, "ConditionExpression", "#o = :me AND #t = :tok");
		cJSON_AddStringToObject(o, "UpdateExpression", "SET expires_ms = :exp");
	}
	return take_json(o);
}

/* What an UpdateItem of the lease answered: rc and why as for ddb_lease_fn. */
static enum bot_rc lease_result(struct ddb_store *s, bool acquire, const struct aws_err *err,
				const char *body, size_t len, char *why, size_t whylen)
{
	why[0] = '\0';
	if (err->rc != BOT_OK) {
		if (is_code(err, "ConditionalCheckFailedException")) {
			snprintf(why, whylen, "%s",
				 acquire ? "held by another replica" : "no longer ours");
			if (!acquire)
				s->token = 0;
			return BOT_EBUSY;
		}
		aws_err_str(err, why, whylen);
		return err->rc;
	}
	if (!acquire)
		return BOT_OK;
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, "Attributes");
	int64_t token = 0;
	const char *owner = get_s(item, "owner");
	enum bot_rc rc = BOT_OK;
	if (!get_n(item, "token", &token) || token <= 0 || !owner || strcmp(owner, s->owner)) {
		snprintf(why, whylen, "UpdateItem answered no token for us");
		rc = BOT_EPARSE;
	} else {
		s->token = token;
	}
	cJSON_Delete(o);
	return rc;
}

static void unlink_call(struct lease_call *c)
{
	for (struct lease_call **pp = &c->s->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void on_lease(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct lease_call *c = arg;
	char why[600];
	unlink_call(c);
	enum bot_rc rc = lease_result(c->s, c->acquire, err, body, len, why, sizeof(why));
	ddb_lease_fn cb = c->cb;
	void *cb_arg = c->arg;
	free(c);
	cb(cb_arg, rc, why);
}

static enum bot_rc lease_call(struct ddb_store *s, bool acquire, int64_t now_ms, int64_t lease_ms,
			      ddb_lease_fn cb, void *arg)
{
	if (!acquire && s->token <= 0)
		return BOT_EINVAL;
	struct lease_call *c = calloc(1, sizeof(*c));
	char *json = lease_update_json(s, acquire, now_ms, lease_ms);
	enum bot_rc rc = BOT_ENOMEM;
	if (c && json) {
		*c = (struct lease_call){ .s = s, .acquire = acquire, .cb = cb, .arg = arg };
		rc = aws_call_json(s->aws, AWS_DDB, "UpdateItem", json, on_lease, c);
	}
	free(json);
	if (rc != BOT_OK) {
		free(c);
		return rc;
	}
	c->next = s->calls;
	s->calls = c;
	return BOT_OK;
}

enum bot_rc ddb_lease_acquire(struct ddb_store *s, int64_t now_ms, int64_t lease_ms,
			      ddb_lease_fn cb, void *arg)
{
	return lease_call(s, true, now_ms, lease_ms, cb, arg);
}

enum bot_rc ddb_lease_renew(struct ddb_store *s, int64_t now_ms, int64_t lease_ms, ddb_lease_fn cb,
			    void *arg)
{
	return lease_call(s, false, now_ms, lease_ms, cb, arg);
}

void ddb_lease_cancel(struct ddb_store *s)
{
	while (s->calls) {
		struct lease_call *c = s->calls;
		s->calls = c->next;
		aws_cancel(s->aws, c);
		free(c);
	}
}

/* One blocking call; the body (caller frees) in *body. */
static enum bot_rc call_sync(struct ddb_store *s, const char *op, char *json, char **body,
			     struct aws_err *err)
{
	size_t len = 0;
	*body = NULL;
	if (!json) {
		memset(err, 0, sizeof(*err));
		err->rc = BOT_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return BOT_ENOMEM;
	}
	enum bot_rc rc = aws_call_json_sync(s->aws, AWS_DDB, op, json, SYNC_MS, err, body, &len);
	free(json);
	return rc;
}

enum bot_rc ddb_lease_acquire_sync(struct ddb_store *s, int64_t now_ms, int64_t lease_ms, char *err,
				   size_t errlen)
{
	struct aws_err e;
	char *body;
	call_sync(s, "UpdateItem", lease_update_json(s, true, now_ms, lease_ms), &body, &e);
	enum bot_rc rc = lease_result(s, true, &e, body, body ? strlen(body) : 0, err, errlen);
	free(body);
	return rc;
}

enum bot_rc ddb_lease_release(struct ddb_store *s, char *err, size_t errlen)
{
	if (s->token <= 0)
		return BOT_OK;
	cJSON *o = request(s);
	if (o) {
		cJSON_AddItemToObject(o, "Key", key_of(LEASE_PK));
		cJSON *names = cJSON_AddObjectToObject(o, "ExpressionAttributeNames");
		cJSON_AddStringToObject(names, "#o", "owner");
		cJSON_AddStringToObject(names, "#t", "token");
		cJSON *v = cJSON_AddObjectToObject(o, "ExpressionAttributeValues");
		attr(v, ":me", "S", s->owner);
		attr_n(v, ":tok", s->token);
		attr_n(v, ":zero", 0);
		cJSON_AddStringToObject(o, "ConditionExpression", "#o = :me AND #t = :tok");
		cJSON_AddStringToObject(o, "UpdateExpression", "SET expires_ms = :zero");
	}
	struct aws_err e;
	char *body;
	enum bot_rc rc = call_sync(s, "UpdateItem", take_json(o), &body, &e);
	free(body);
	s->token = 0;
	if (rc != BOT_OK)
		aws_err_str(&e, err, errlen);
	return rc;
}

/* GetItem (consistent) of pk: *item_json is the whole answer (caller
 * deletes), *item its Item or NULL. */
static enum bot_rc get_item(struct ddb_store *s, const char *pk, cJSON **answer, const cJSON **item,
			    char *err, size_t errlen)
{
	cJSON *o = request(s);
	if (o) {
		cJSON_AddItemToObject(o, "Key", key_of(pk));
		cJSON_AddBoolToObject(o, "ConsistentRead", 1);
	}
	struct aws_err e;
	char *body;
	*answer = NULL;
	*item = NULL;
	enum bot_rc rc = call_sync(s, "GetItem", take_json(o), &body, &e);
	if (rc != BOT_OK) {
		aws_err_str(&e, err, errlen);
		return rc;
	}
	*answer = cJSON_Parse(body);
	free(body);
	if (!*answer) {
		snprintf(err, errlen, "GetItem %s: the answer is not JSON", pk);
		return BOT_EPARSE;
	}
	*item = cJSON_GetObjectItemCaseSensitive(*answer, "Item");
	return BOT_OK;
}

enum bot_rc ddb_lease_read(struct ddb_store *s, struct ddb_lease_info *out, char *err,
			   size_t errlen)
{
	cJSON *answer;
	const cJSON *item;
	memset(out, 0, sizeof(*out));
	enum bot_rc rc = get_item(s, LEASE_PK, &answer, &item, err, errlen);
	if (rc == BOT_OK && item) {
		out->found = true;
		const char *owner = get_s(item, "owner");
		snprintf(out->owner, sizeof(out->owner), "%s", owner ? owner : "");
		get_n(item, "token", &out->token);
		get_n(item, "expires_ms", &out->expires_ms);
		get_n(item, "since_ms", &out->since_ms);
	}
	cJSON_Delete(answer);
	return rc;
}

/* ---- the state document ---- */

static char *b64_encode(const unsigned char *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Decodes s into a new buffer (*n bytes); NULL when it is not base64. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	if (len % 4)
		return NULL;
	unsigned char *out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	size_t pad = len >= 2 && s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
	*n = (size_t)got - pad;
	return out;
}

static char *part_key(char *buf, size_t len, int k)
{
	if (k == 0)
		snprintf(buf, len, "%s", STATE_PK);
	else
		snprintf(buf, len, "%s#%d", STATE_PK, k);
	return buf;
}

/* The TransactWriteItems document of version ver from the compressed z. */
static char *write_json(const struct ddb_store *s, const unsigned char *z, size_t zlen,
			size_t bytes, int parts, int64_t ver)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *items = o ? cJSON_AddArrayToObject(o, "TransactItems") : NULL;
	if (!items)
		goto fail;
	/* 1. the lease is still ours, with our token */
	cJSON *cc = cJSON_CreateObject();
	cJSON_AddItemToArray(items, cc);
	cJSON *check = cJSON_AddObjectToObject(cc, "ConditionCheck");
	cJSON_AddStringToObject(check, "TableName", s->table);
	cJSON_AddItemToObject(check, "Key", key_of(LEASE_PK));
	cJSON_AddStringToObject(check, "ConditionExpression", "#o = :me AND #t = :tok");
	cJSON *names = cJSON_AddObjectToObject(check, "ExpressionAttributeNames");
	cJSON_AddStringToObject(names, "#o", "owner");
	cJSON_AddStringToObject(names, "#t", "token");
	cJSON *v = cJSON_AddObjectToObject(check, "ExpressionAttributeValues");
	attr(v, ":me", "S", s->owner);
	attr_n(v, ":tok", s->token);
	/* 2. the header and the parts, the header conditional on the version */
	for (int k = 0; k < parts; k++) {
		size_t off = (size_t)k * DDB_PART_BYTES;
		size_t n = zlen - off < DDB_PART_BYTES ? zlen - off : DDB_PART_BYTES;
		char *b64 = b64_encode(z + off, n);
		char key[32];
		cJSON *wrap = cJSON_CreateObject();
		cJSON_AddItemToArray(items, wrap);
		cJSON *put = cJSON_AddObjectToObject(wrap, "Put");
		cJSON_AddStringToObject(put, "TableName", s->table);
		cJSON *item = cJSON_AddObjectToObject(put, "Item");
		if (!b64 || !item) {
			free(b64);
			goto fail;
		}
		attr(item, "pk", "S", part_key(key, sizeof(key), k));
		attr_n(item, "ver", ver);
		attr(item, "d", "B", b64);
		free(b64);
		if (k > 0)
			continue;
		attr_n(item, "token", s->token);
		attr(item, "owner", "S", s->owner);
		attr_n(item, "parts", parts);
		attr_n(item, "bytes", (int64_t)bytes);
		attr_n(item, "saved_ms", (int64_t)time(NULL) * 1000);
		if (ver == 1) {
			cJSON_AddStringToObject(put, "ConditionExpression",
						"attribute_not_exists(pk)");
		} else {
			cJSON_AddStringToObject(put, "ConditionExpression", "ver = :read");
			cJSON *pv = cJSON_AddObjectToObject(put, "ExpressionAttributeValues");
			attr_n(pv, ":read", ver - 1);
		}
	}
	return take_json(o);
fail:
	cJSON_Delete(o);
	return NULL;
}

/* "Transaction cancelled, please refer cancellation reasons for specific
 * reasons [ConditionalCheckFailed, None]": which condition failed. */
static void cancelled_why(const struct ddb_store *s, const char *msg, char *err, size_t errlen)
{
	const char *open = strchr(msg, '[');
	bool lease = open && strncmp(open + 1, "ConditionalCheckFailed", 22) == 0;
	if (lease)
		snprintf(err, errlen,
			 "the lease is no longer ours (token %lld): another replica took over",
			 (long long)s->token);
	else
		snprintf(err, errlen,
			 "the state was written by another replica since version %lld was read",
			 (long long)s->version);
}

enum bot_rc ddb_state_write(struct ddb_store *s, const struct state *st, char *err, size_t errlen)
{
	if (!fence_ok(s->fence) || s->token <= 0) {
		snprintf(err, errlen, "not written: this replica is not the active one");
		return BOT_EBUSY;
	}
	char *doc = state_dump(st);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	size_t bytes = strlen(doc);
	uLongf zlen = compressBound((uLong)bytes);
	unsigned char *z = malloc(zlen);
	if (!z || compress2(z, &zlen, (const Bytef *)doc, (uLong)bytes, 6) != Z_OK) {
		free(z);
		free(doc);
		snprintf(err, errlen, "could not compress the state");
		return BOT_ENOMEM;
	}
	free(doc);
	int parts = (int)((zlen + DDB_PART_BYTES - 1) / DDB_PART_BYTES);
	if (parts < 1)
		parts = 1;
	if (parts > DDB_MAX_PARTS) {
		free(z);
		snprintf(err, errlen,
			 "the state is %lu bytes compressed, over the %d bytes one write carries",
			 (unsigned long)zlen, DDB_PART_BYTES * DDB_MAX_PARTS);
		return BOT_EINVAL;
	}
	char *json = write_json(s, z, zlen, bytes, parts, s->version + 1);
	free(z);
	struct aws_err e;
	char *body;
	enum bot_rc rc = call_sync(s, "TransactWriteItems", json, &body, &e);
	free(body);
	if (rc == BOT_OK) {
		s->version++;
		return BOT_OK;
	}
	if (is_code(&e, "TransactionCanceledException") && strstr(e.message, "ConditionalCheck")) {
		cancelled_why(s, e.message, err, errlen);
		return BOT_EBUSY;
	}
	aws_err_str(&e, err, errlen);
	return rc;
}

/* Appends the binary attribute d of item to *z. */
static bool add_part(const cJSON *item, unsigned char **z, size_t *zlen)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, "d");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(a, "B");
	size_t n = 0;
	unsigned char *p = cJSON_IsString(b) ? b64_decode(b->valuestring, &n) : NULL;
	if (!p)
		return false;
	unsigned char *grown = realloc(*z, *zlen + n + 1);
	if (!grown) {
		free(p);
		return false;
	}
	memcpy(grown + *zlen, p, n);
	free(p);
	*z = grown;
	*zlen += n;
	return true;
}

/* The parts 1..parts-1 of version ver, read in one transaction. */
static enum bot_rc read_parts(struct ddb_store *s, int parts, int64_t ver, unsigned char **z,
			      size_t *zlen, char *err, size_t errlen)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *items = o ? cJSON_AddArrayToObject(o, "TransactItems") : NULL;
	for (int k = 1; items && k < parts; k++) {
		char key[32];
		cJSON *w = cJSON_CreateObject();
		cJSON_AddItemToArray(items, w);
		cJSON *g = cJSON_AddObjectToObject(w, "Get");
		cJSON_AddStringToObject(g, "TableName", s->table);
		cJSON_AddItemToObject(g, "Key", key_of(part_key(key, sizeof(key), k)));
	}
	struct aws_err e;
	char *body;
	enum bot_rc rc = call_sync(s, "TransactGetItems", take_json(o), &body, &e);
	if (rc != BOT_OK) {
		aws_err_str(&e, err, errlen);
		return rc;
	}
	cJSON *answer = cJSON_Parse(body);
	free(body);
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(answer, "Responses");
	rc = BOT_EPARSE;
	if (cJSON_GetArraySize(resp) != parts - 1) {
		snprintf(err, errlen, "TransactGetItems answered %d parts of %d",
			 cJSON_GetArraySize(resp), parts - 1);
		goto out;
	}
	for (int k = 1; k < parts; k++) {
		const cJSON *item =
			cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(resp, k - 1), "Item");
		int64_t v = 0;
		if (!get_n(item, "ver", &v) || v != ver) {
			snprintf(err, errlen, "part %d is of version %lld, not %lld", k,
				 (long long)v, (long long)ver);
			rc = BOT_EBUSY; /* written meanwhile: read again */
			goto out;
		}
		if (!add_part(item, z, zlen)) {
			snprintf(err, errlen, "part %d is not base64", k);
			goto out;
		}
	}
	rc = BOT_OK;
out:
	cJSON_Delete(answer);
	return rc;
}

static enum bot_rc read_once(struct ddb_store *s, struct state **out, bool *missing, char *err,
			     size_t errlen)
{
	cJSON *answer;
	const cJSON *item;
	enum bot_rc rc = get_item(s, STATE_PK, &answer, &item, err, errlen);
	if (rc != BOT_OK)
		return rc;
	if (!item) {
		cJSON_Delete(answer);
		*missing = true;
		s->version = 0;
		*out = state_create();
		return *out ? BOT_OK : BOT_ENOMEM;
	}
	int64_t ver = 0, parts = 0, bytes = 0;
	unsigned char *z = NULL;
	size_t zlen = 0;
	char *doc = NULL;
	rc = BOT_EPARSE;
	if (!get_n(item, "ver", &ver) || !get_n(item, "parts", &parts) ||
	    !get_n(item, "bytes", &bytes) || parts < 1 || parts > DDB_MAX_PARTS || bytes < 0 ||
	    bytes > (int64_t)MAX_DOC_MB << 20) {
		snprintf(err, errlen, "the state item lacks ver, parts or bytes");
		goto out;
	}
	if (!add_part(item, &z, &zlen)) {
		snprintf(err, errlen, "the state item's d is not base64");
		goto out;
	}
	if (parts > 1 && (rc = read_parts(s, (int)parts, ver, &z, &zlen, err, errlen)) != BOT_OK)
		goto out;
	rc = BOT_EPARSE;
	uLongf dlen = (uLongf)bytes;
	doc = malloc((size_t)bytes + 1);
	if (!doc || uncompress((Bytef *)doc, &dlen, z, (uLong)zlen) != Z_OK ||
	    dlen != (uLongf)bytes) {
		snprintf(err, errlen, "the state document (version %lld) does not decompress",
			 (long long)ver);
		goto out;
	}
	doc[dlen] = '\0';
	rc = state_parse(doc, out, err, errlen);
	if (rc == BOT_OK) {
		*missing = false;
		s->version = ver;
	}
out:
	free(doc);
	free(z);
	cJSON_Delete(answer);
	return rc;
}

enum bot_rc ddb_state_read(struct ddb_store *s, struct state **out, bool *missing, char *err,
			   size_t errlen)
{
	*out = NULL;
	enum bot_rc rc = BOT_EBUSY;
	/* A document in parts written between the header and the parts: read
	 * it again (only the lease holder writes, so once is the usual most). */
	for (int i = 0; i < 3 && rc == BOT_EBUSY; i++)
		rc = read_once(s, out, missing, err, errlen);
	return rc;
}
