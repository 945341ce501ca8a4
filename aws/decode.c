/* Decoders of AWS responses: XML (query and ec2 protocols) through libxml2,
 * JSON (ECR, credential endpoints) through cJSON. Pure functions over a
 * body; every string lands in an arena. Remote data is never trusted: a
 * missing element, a wrong type or a truncated document is BOT_EPARSE with a
 * reason, never a crash. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_internal.h"
#include "xml_internal.h"

#define OOM_IF(cond)                                                                  \
	do {                                                                          \
		if (cond) {                                                           \
			snprintf(err, errlen, "out of memory decoding the response"); \
			goto out;                                                     \
		}                                                                     \
	} while (0)

/* ---- errors ---- */

static void copy_trunc(char *dst, size_t dstlen, const char *src)
{
	if (!dstlen)
		return;
	snprintf(dst, dstlen, "%s", src ? src : "");
	/* keep messages on one line: they go to logs and embeds */
	for (char *p = dst; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* The first <Error> element with a <Code>, depth first, at most a few
 * levels down: query (<ErrorResponse><Error>), ec2 (<Response><Errors>
 * <Error>) and moto's (<ErrorResponse><Errors><Error>) shapes alike, as
 * botocore accepts them. */
static xmlNodePtr find_error(xmlNodePtr n, int depth)
{
	if (!n || depth > 4)
		return NULL;
	if (aws_xml_is(n, "Error") && aws_xml_child(n, "Code"))
		return n;
	for (xmlNodePtr c = n->children; c; c = c->next) {
		xmlNodePtr e = c->type == XML_ELEMENT_NODE ? find_error(c, depth + 1) : NULL;
		if (e)
			return e;
	}
	return NULL;
}

static void parse_error_xml(const char *body, size_t len, char *code, size_t codelen, char *msg,
			    size_t msglen)
{
	char err[160];
	xmlDocPtr doc = aws_xml_parse(body, len, err, sizeof(err));
	if (!doc)
		return;
	xmlNodePtr e = find_error(xmlDocGetRootElement(doc), 0);
	if (e) {
		xmlChar *c = xmlNodeGetContent(aws_xml_child(e, "Code"));
		xmlChar *m = xmlNodeGetContent(aws_xml_child(e, "Message"));
		copy_trunc(code, codelen, (const char *)c);
		copy_trunc(msg, msglen, (const char *)m);
		xmlFree(c);
		xmlFree(m);
	}
	xmlFreeDoc(doc);
}

/* "com.amazonaws.ecr#ThrottlingException" and
 * "ThrottlingException:http://..." both name ThrottlingException. */
static void clean_type(char *code)
{
	char *hash = strrchr(code, '#');
	if (hash)
		memmove(code, hash + 1, strlen(hash + 1) + 1);
	char *colon = strchr(code, ':');
	if (colon)
		*colon = '\0';
}

static void parse_error_json(const char *body, size_t len, char *code, size_t codelen, char *msg,
			     size_t msglen)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc))
		goto out;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "__type");
	if (!cJSON_IsString(t))
		t = cJSON_GetObjectItemCaseSensitive(doc, "code");
	if (cJSON_IsString(t))
		copy_trunc(code, codelen, t->valuestring);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(doc, "Message");
	if (cJSON_IsString(m))
		copy_trunc(msg, msglen, m->valuestring);
out:
	cJSON_Delete(doc);
}

void aws_parse_error(const char *body, size_t len, const char *errtype, char *code, size_t codelen,
		     char *msg, size_t msglen)
{
	if (codelen)
		code[0] = '\0';
	if (msglen)
		msg[0] = '\0';
	size_t i = 0;
	while (body && i < len && isspace((unsigned char)body[i]))
		i++;
	if (body && i < len && body[i] == '<')
		parse_error_xml(body, len, code, codelen, msg, msglen);
	else if (body && i < len && body[i] == '{')
		parse_error_json(body, len, code, codelen, msg, msglen);
	if (codelen && !code[0] && errtype)
		copy_trunc(code, codelen, errtype);
	if (codelen)
		clean_type(code);
}

/* ---- CloudFormation ---- */

static enum bot_rc decode_kv_list(struct arena *a, xmlNodePtr list, const char *kname,
				  const char *vname, const struct cfn_kv **out, size_t *n_out)
{
	size_t n = 0;
	for (xmlNodePtr m = list ? list->children : NULL; m; m = m->next)
		if (aws_xml_is(m, "member"))
			n++;
	struct cfn_kv *v = arena_alloc(a, (n ? n : 1) * sizeof(*v));
	if (!v)
		return BOT_ENOMEM;
	size_t i = 0;
	for (xmlNodePtr m = list ? list->children : NULL; m; m = m->next) {
		if (!aws_xml_is(m, "member"))
			continue;
		v[i].key = aws_xml_child_text(a, m, kname);
		v[i].value = aws_xml_child_text(a, m, vname);
		if (!v[i].key || !v[i].value)
			return BOT_ENOMEM;
		i++;
	}
	*out = v;
	*n_out = n;
	return BOT_OK;
}

enum bot_rc cfn_decode_stack(const char *body, size_t len, struct arena *a, struct cfn_stack *out,
			     char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	if (!doc)
		return BOT_EPARSE;
	memset(out, 0, sizeof(*out));
	xmlNodePtr root = aws_xml_root(doc, "DescribeStacksResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr result = aws_xml_child(root, "DescribeStacksResult");
	xmlNodePtr stacks = aws_xml_child(result, "Stacks");
	if (!result) {
		snprintf(err, errlen, "DescribeStacks: no DescribeStacksResult");
		goto out;
	}
	xmlNodePtr m = aws_xml_child(stacks, "member");
	if (!m) {
		snprintf(err, errlen, "no such stack");
		rc = BOT_ENOTFOUND;
		goto out;
	}
	out->id = aws_xml_child_text(a, m, "StackId");
	out->name = aws_xml_child_text(a, m, "StackName");
	out->status = aws_xml_child_text(a, m, "StackStatus");
	out->status_reason = aws_xml_child_text(a, m, "StackStatusReason");
	out->creation_time = aws_xml_child_text(a, m, "CreationTime");
	out->last_updated_time = aws_xml_child_text(a, m, "LastUpdatedTime");
	OOM_IF(!out->id || !out->name || !out->status || !out->status_reason ||
	       !out->creation_time || !out->last_updated_time);
	if (!*out->id || !*out->status) {
		snprintf(err, errlen, "DescribeStacks: stack without StackId or StackStatus");
		goto out;
	}
	OOM_IF(decode_kv_list(a, aws_xml_child(m, "Outputs"), "OutputKey", "OutputValue",
			      &out->outputs, &out->n_outputs) != BOT_OK);
	OOM_IF(decode_kv_list(a, aws_xml_child(m, "Parameters"), "ParameterKey", "ParameterValue",
			      &out->parameters, &out->n_parameters) != BOT_OK);
	OOM_IF(decode_kv_list(a, aws_xml_child(m, "Tags"), "Key", "Value", &out->tags,
			      &out->n_tags) != BOT_OK);
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

enum bot_rc cfn_decode_create(const char *body, size_t len, struct arena *a, const char **stack_id,
			      char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = aws_xml_root(doc, "CreateStackResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr id = aws_xml_child(aws_xml_child(root, "CreateStackResult"), "StackId");
	if (!id) {
		snprintf(err, errlen, "CreateStack: no StackId in the response");
		goto out;
	}
	*stack_id = aws_xml_text(a, id);
	OOM_IF(!*stack_id);
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

enum bot_rc cfn_decode_events(const char *body, size_t len, struct arena *a, struct vec *events,
			      const char **next, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	*next = NULL;
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = aws_xml_root(doc, "DescribeStackEventsResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr result = aws_xml_child(root, "DescribeStackEventsResult");
	if (!result) {
		snprintf(err, errlen, "DescribeStackEvents: no DescribeStackEventsResult");
		goto out;
	}
	xmlNodePtr list = aws_xml_child(result, "StackEvents");
	if (list) {
		for (xmlNodePtr e = list->children; e; e = e->next) {
			if (!aws_xml_is(e, "member"))
				continue;
			struct cfn_event *ev = vec_push(events);
			if (!ev) {
				snprintf(err, errlen, "too many stack events");
				goto out;
			}
			ev->event_id = aws_xml_child_text(a, e, "EventId");
			ev->stack_name = aws_xml_child_text(a, e, "StackName");
			ev->logical_id = aws_xml_child_text(a, e, "LogicalResourceId");
			ev->physical_id = aws_xml_child_text(a, e, "PhysicalResourceId");
			ev->resource_type = aws_xml_child_text(a, e, "ResourceType");
			ev->status = aws_xml_child_text(a, e, "ResourceStatus");
			ev->reason = aws_xml_child_text(a, e, "ResourceStatusReason");
			ev->timestamp = aws_xml_child_text(a, e, "Timestamp");
			OOM_IF(!ev->event_id || !ev->stack_name || !ev->logical_id ||
			       !ev->physical_id || !ev->resource_type || !ev->status ||
			       !ev->reason || !ev->timestamp);
		}
	}
	xmlNodePtr tok = aws_xml_child(result, "NextToken");
	if (tok) {
		const char *t = aws_xml_text(a, tok);
		OOM_IF(!t);
		*next = *t ? t : NULL;
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An event about the stack itself rather than one of its resources. */
static bool is_stack_event(const struct cfn_event *e)
{
	return strcmp(e->logical_id, e->stack_name) == 0 &&
	       strcmp(e->resource_type, "AWS::CloudFormation::Stack") == 0;
}

void cfn_analyze_failure(const struct cfn_event *events, size_t n, struct arena *a,
			 struct cfn_failure *out, bool *complete)
{
	size_t end = n; /* events[0..end) belong to the latest operation */
	memset(out, 0, sizeof(*out));
	*complete = false;
	for (size_t i = 0; i < n; i++) {
		if (is_stack_event(&events[i]) && ends_with(events[i].status, "_IN_PROGRESS") &&
		    strcmp(events[i].reason, "User Initiated") == 0) {
			end = i + 1;
			*complete = true;
			break;
		}
	}
	out->n_events = end;
	/* oldest failure first: walk from the operation's start towards now */
	const struct cfn_event *cancelled = NULL;
	for (size_t i = end; i-- > 0;) {
		const struct cfn_event *e = &events[i];
		if (is_stack_event(e) || !ends_with(e->status, "_FAILED"))
			continue;
		if (strstr(e->reason, "cancelled") || strstr(e->reason, "canceled")) {
			if (!cancelled)
				cancelled = e;
			continue;
		}
		out->first_failed = e;
		break;
	}
	if (!out->first_failed)
		out->first_failed = cancelled;

	/* latest status per resource: the first time a logical id appears */
	size_t n_df = 0;
	struct cfn_event *df = arena_alloc(a, (end ? end : 1) * sizeof(*df));
	for (size_t i = 0; df && i < end; i++) {
		const struct cfn_event *e = &events[i];
		if (is_stack_event(e))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(events[j].logical_id, e->logical_id) == 0;
		if (!seen && strcmp(e->status, "DELETE_FAILED") == 0)
			df[n_df++] = *e;
	}
	out->delete_failed = df;
	out->n_delete_failed = df ? n_df : 0;

	const struct cfn_event *f = out->first_failed;
	if (!f && out->n_delete_failed)
		f = &out->delete_failed[0];
	if (f) {
		struct buf b = { 0 };
		buf_addf(&b, "%s (%s): %s", f->logical_id, f->resource_type,
			 *f->reason ? f->reason : f->status);
		char *s = buf_take(&b);
		out->summary = s ? arena_strdup(a, s) : NULL;
		free(s);
	}
	if (!out->summary)
		out->summary = "";
}

/* ---- STS ---- */

enum bot_rc sts_decode_identity(const char *body, size_t len, struct arena *a,
				struct sts_identity *out, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = aws_xml_root(doc, "GetCallerIdentityResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr r = aws_xml_child(root, "GetCallerIdentityResult");
	out->account = aws_xml_child_text(a, r, "Account");
	out->arn = aws_xml_child_text(a, r, "Arn");
	out->user_id = aws_xml_child_text(a, r, "UserId");
	OOM_IF(!out->account || !out->arn || !out->user_id);
	if (!*out->account || !*out->arn) {
		snprintf(err, errlen, "GetCallerIdentity: no Account or Arn");
		goto out;
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

int64_t aws_parse_iso8601(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	const char *p = s + n;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m2 = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m2) != 2 || m2 != 5)
			return -1;
		off = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else if (*p) {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - off;
}

enum bot_rc sts_decode_credentials(const char *body, size_t len, const char *result,
				   struct arena *a, struct aws_cred_fields *out, char *err,
				   size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	char root_name[96];
	if (!doc)
		return BOT_EPARSE;
	snprintf(root_name, sizeof(root_name), "%.*sResponse", (int)(strlen(result) - 6), result);
	xmlNodePtr root = aws_xml_root(doc, root_name, err, errlen);
	if (!root)
		goto out;
	xmlNodePtr c = aws_xml_child(aws_xml_child(root, result), "Credentials");
	out->access_key = aws_xml_child_text(a, c, "AccessKeyId");
	out->secret_key = aws_xml_child_text(a, c, "SecretAccessKey");
	out->token = aws_xml_child_text(a, c, "SessionToken");
	const char *exp = aws_xml_child_text(a, c, "Expiration");
	OOM_IF(!out->access_key || !out->secret_key || !out->token || !exp);
	if (!*out->access_key || !*out->secret_key) {
		snprintf(err, errlen, "%s: no credentials in the response", result);
		goto out;
	}
	out->expiration = *exp ? aws_parse_iso8601(exp) : 0;
	if (out->expiration < 0) {
		snprintf(err, errlen, "%s: bad Expiration", result);
		goto out;
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- JSON helpers ---- */

/* A string member, or NULL; *bad is set when present with another type. */
static const char *json_str(const cJSON *o, const char *name, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = true;
		return NULL;
	}
	return v->valuestring;
}

enum bot_rc aws_decode_json_credentials(const char *body, size_t len, struct arena *a,
					struct aws_cred_fields *out, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	bool bad = false;
	cJSON *doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "credentials: not a JSON object");
		goto out;
	}
	const char *ak = json_str(doc, "AccessKeyId", &bad);
	const char *sk = json_str(doc, "SecretAccessKey", &bad);
	const char *tok = json_str(doc, "Token", &bad);
	if (!tok)
		tok = json_str(doc, "SessionToken", &bad);
	const char *exp = json_str(doc, "Expiration", &bad);
	const char *code = json_str(doc, "Code", &bad);
	if (code && strcmp(code, "Success") != 0) {
		snprintf(err, errlen, "credentials: Code \"%.60s\"", code);
		goto out;
	}
	if (bad || !ak || !sk || !*ak || !*sk) {
		snprintf(err, errlen,
			 "credentials: AccessKeyId/SecretAccessKey missing or not strings");
		goto out;
	}
	out->access_key = arena_strdup(a, ak);
	out->secret_key = arena_strdup(a, sk);
	out->token = arena_strdup(a, tok);
	OOM_IF(!out->access_key || !out->secret_key || !out->token);
	out->expiration = exp ? aws_parse_iso8601(exp) : 0;
	if (out->expiration < 0) {
		snprintf(err, errlen, "credentials: bad Expiration \"%.40s\"", exp);
		goto out;
	}
	rc = BOT_OK;
out:
	cJSON_Delete(doc);
	return rc;
}

/* ---- ECR ---- */

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool looks_git_sha(const char *t)
{
	static const char *const prefixes[] = { "sha-", "git-", "sha256-", "g", "" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (strncmp(t, prefixes[i], pl) != 0)
			continue;
		size_t n = strlen(t + pl);
		if (n >= 7 && n <= 64 && all_hex(t + pl, n))
			return true;
	}
	/* branch-sha, e.g. "main-3f2a9c1" */
	const char *dash = strrchr(t, '-');
	if (dash) {
		size_t n = strlen(dash + 1);
		if (n >= 7 && n <= 40 && all_hex(dash + 1, n))
			return true;
	}
	return false;
}

static bool looks_version(const char *t)
{
	const char *p = t;
	if (*p == 'v' || *p == 'V')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	/* "1.2.3", "42" (build number), "2026.11.23", then an optional
	 * pre-release or build suffix */
	return *p == '\0' || *p == '-' || *p == '+' || *p == '_';
}

static bool is_moving(const char *t)
{
	static const char *const moving[] = { "latest",     "main",    "master", "dev",
					      "develop",    "staging", "stage",  "prod",
					      "production", "stable",  "edge",   "nightly",
					      "release",    "test",    "qa",     "head",
					      "current",    "snapshot" };
	for (size_t i = 0; i < sizeof(moving) / sizeof(moving[0]); i++)
		if (strcasecmp(t, moving[i]) == 0)
			return true;
	return false;
}

const char *ecr_pick_tag(const char *const *tags, size_t n, const char **rule)
{
	static const char *const rules[] = { "git sha", "version", "not a moving tag",
					     "moving tag" };
	const char *best = NULL;
	int best_rank = 4;
	if (n == 0) {
		if (rule)
			*rule = "";
		return NULL;
	}
	if (n == 1) {
		if (rule)
			*rule = "only tag";
		return tags[0];
	}
	for (size_t i = 0; i < n; i++) {
		int rank = looks_git_sha(tags[i])   ? 0
			   : looks_version(tags[i]) ? 1
			   : !is_moving(tags[i])    ? 2
						    : 3;
		if (rank < best_rank) {
			best_rank = rank;
			best = tags[i];
		}
	}
	if (rule)
		*rule = rules[best_rank];
	return best;
}

enum bot_rc ecr_decode_images(const char *body, size_t len, struct arena *a, struct vec *images,
			      const char **next, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	bool bad = false;
	cJSON *doc = cJSON_ParseWithLength(body, len);
	*next = NULL;
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "DescribeImages: response is not a JSON object");
		goto out;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "imageDetails");
	if (!cJSON_IsArray(list)) {
		snprintf(err, errlen, "DescribeImages: imageDetails missing or not an array");
		goto out;
	}
	size_t idx = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		if (!cJSON_IsObject(it)) {
			snprintf(err, errlen, "DescribeImages: imageDetails[%zu] is not an object",
				 idx);
			goto out;
		}
		const char *digest = json_str(it, "imageDigest", &bad);
		const cJSON *tags = cJSON_GetObjectItemCaseSensitive(it, "imageTags");
		const cJSON *pushed = cJSON_GetObjectItemCaseSensitive(it, "imagePushedAt");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "imageSizeInBytes");
		if (bad || !digest) {
			snprintf(err, errlen,
				 "DescribeImages: imageDetails[%zu].imageDigest missing or not a "
				 "string",
				 idx);
			goto out;
		}
		if (tags && !cJSON_IsArray(tags)) {
			snprintf(err, errlen,
				 "DescribeImages: imageDetails[%zu].imageTags is not an array",
				 idx);
			goto out;
		}
		if (!cJSON_IsNumber(pushed) || !isfinite(pushed->valuedouble) ||
		    pushed->valuedouble < 0 || pushed->valuedouble > 1e11) {
			snprintf(err, errlen,
				 "DescribeImages: imageDetails[%zu].imagePushedAt missing or not "
				 "a time",
				 idx);
			goto out;
		}
		/* A byte count: converting a double outside int64 would be
		 * undefined (found by tests/fuzz/fuzz_aws_json). */
		if (size && (!cJSON_IsNumber(size) || !isfinite(size->valuedouble) ||
			     size->valuedouble < 0 || size->valuedouble > 9e18)) {
			snprintf(err, errlen,
				 "DescribeImages: imageDetails[%zu].imageSizeInBytes is not a "
				 "size",
				 idx);
			goto out;
		}
		idx++;
		int ntags = cJSON_GetArraySize(tags);
		if (ntags <= 0)
			continue; /* untagged: nothing to deploy by name */
		struct ecr_image *img = vec_push(images);
		if (!img) {
			snprintf(err, errlen, "DescribeImages: too many images");
			goto out;
		}
		const char **tv = arena_alloc(a, (size_t)ntags * sizeof(*tv));
		img->digest = arena_strdup(a, digest);
		OOM_IF(!tv || !img->digest);
		size_t k = 0;
		const cJSON *t;
		cJSON_ArrayForEach(t, tags)
		{
			if (!cJSON_IsString(t)) {
				snprintf(err, errlen,
					 "DescribeImages: imageDetails[%zu].imageTags has a "
					 "non-string",
					 idx - 1);
				goto out;
			}
			tv[k] = arena_strdup(a, t->valuestring);
			OOM_IF(!tv[k]);
			k++;
		}
		img->tags = tv;
		img->n_tags = k;
		img->tag = ecr_pick_tag(tv, k, &img->rule);
		img->pushed_at = (int64_t)pushed->valuedouble;
		img->pushed_at_ms = (int64_t)(pushed->valuedouble * 1000.0);
		img->size_bytes = size ? (int64_t)size->valuedouble : 0;
	}
	const char *tok = json_str(doc, "nextToken", &bad);
	if (bad) {
		snprintf(err, errlen, "DescribeImages: nextToken is not a string");
		goto out;
	}
	if (tok && *tok) {
		*next = arena_strdup(a, tok);
		OOM_IF(!*next);
	}
	rc = BOT_OK;
out:
	cJSON_Delete(doc);
	return rc;
}

static int image_cmp(const void *x, const void *y)
{
	const struct ecr_image *a = x, *b = y;
	if (a->pushed_at_ms != b->pushed_at_ms)
		return a->pushed_at_ms > b->pushed_at_ms ? -1 : 1;
	return strcmp(b->digest, a->digest);
}

void ecr_sort_newest(struct ecr_image *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), image_cmp);
}

/* ---- EC2 ---- */

/* stateReason as one line: "code: message", or the message alone when EC2
 * already starts it with the code ("Client.InternalError: Client error on
 * launch"), or whichever of the two is there. NULL only on a full arena. */
static const char *state_reason(struct arena *a, xmlNodePtr sr, const char **code)
{
	const char *c = aws_xml_child_text(a, sr, "code");
	const char *m = aws_xml_child_text(a, sr, "message");
	*code = c;
	if (!c || !m)
		return NULL;
	size_t n = strlen(c);
	if (!*c || (strncmp(m, c, n) == 0 && m[n] == ':'))
		return m;
	if (!*m)
		return c;
	size_t len = n + 2 + strlen(m) + 1;
	char *out = arena_alloc(a, len);
	if (out)
		snprintf(out, len, "%s: %s", c, m);
	return out;
}

enum bot_rc ec2_decode_instances(const char *body, size_t len, struct arena *a,
				 struct vec *instances, const char **next, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	*next = NULL;
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = aws_xml_root(doc, "DescribeInstancesResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr rs = aws_xml_child(root, "reservationSet");
	for (xmlNodePtr r = rs ? rs->children : NULL; r; r = r->next) {
		if (!aws_xml_is(r, "item"))
			continue;
		xmlNodePtr is = aws_xml_child(r, "instancesSet");
		for (xmlNodePtr i = is ? is->children : NULL; i; i = i->next) {
			if (!aws_xml_is(i, "item"))
				continue;
			const char *state =
				aws_xml_child_text(a, aws_xml_child(i, "instanceState"), "name");
			OOM_IF(!state);
			if (strcmp(state, "terminated") == 0)
				continue;
			struct ec2_instance *in = vec_push(instances);
			if (!in) {
				snprintf(err, errlen, "DescribeInstances: too many instances");
				goto out;
			}
			in->state = state;
			in->id = aws_xml_child_text(a, i, "instanceId");
			in->type = aws_xml_child_text(a, i, "instanceType");
			in->launch_time = aws_xml_child_text(a, i, "launchTime");
			in->name = "";
			in->asg_name = "";
			in->reason =
				state_reason(a, aws_xml_child(i, "stateReason"), &in->reason_code);
			const char *hib = aws_xml_child_text(
				a, aws_xml_child(i, "hibernationOptions"), "configured");
			OOM_IF(!in->id || !in->type || !in->launch_time || !in->reason || !hib);
			in->hibernation = strcmp(hib, "true") == 0;
			if (!*in->id) {
				snprintf(err, errlen,
					 "DescribeInstances: instance without instanceId");
				goto out;
			}
			xmlNodePtr ts = aws_xml_child(i, "tagSet");
			size_t n_tags = 0;
			for (xmlNodePtr t = ts ? ts->children : NULL; t; t = t->next)
				n_tags += aws_xml_is(t, "item");
			struct aws_tag *tags =
				n_tags ? arena_alloc(a, n_tags * sizeof(*tags)) : NULL;
			OOM_IF(n_tags && !tags);
			in->tags = tags;
			for (xmlNodePtr t = ts ? ts->children : NULL; t; t = t->next) {
				if (!aws_xml_is(t, "item"))
					continue;
				const char *k = aws_xml_child_text(a, t, "key");
				const char *v = aws_xml_child_text(a, t, "value");
				OOM_IF(!k || !v);
				tags[in->n_tags++] = (struct aws_tag){ .key = k, .value = v };
				if (strcmp(k, "Name") == 0)
					in->name = v;
				else if (strcmp(k, "aws:autoscaling:groupName") == 0) {
					in->asg_name = v;
					in->in_asg = true;
				}
			}
		}
	}
	xmlNodePtr tok = aws_xml_child(root, "nextToken");
	if (tok) {
		const char *t = aws_xml_text(a, tok);
		OOM_IF(!t);
		*next = *t ? t : NULL;
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

enum bot_rc ec2_decode_regions(const char *body, size_t len, struct arena *a, struct vec *names,
			       char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = aws_xml_root(doc, "DescribeRegionsResponse", err, errlen);
	if (!root)
		goto out;
	xmlNodePtr ri = aws_xml_child(root, "regionInfo");
	for (xmlNodePtr i = ri ? ri->children : NULL; i; i = i->next) {
		if (!aws_xml_is(i, "item"))
			continue;
		const char *name = aws_xml_child_text(a, i, "regionName");
		const char *opt = aws_xml_child_text(a, i, "optInStatus");
		OOM_IF(!name || !opt);
		/* not enabled in the account (AWS lists those only with AllRegions;
		 * an answer that has them anyway is not a list to act in) */
		if (strcmp(opt, "not-opted-in") == 0)
			continue;
		if (!*name) {
			snprintf(err, errlen, "DescribeRegions: region without regionName");
			goto out;
		}
		const char **slot = vec_push(names);
		if (!slot) {
			snprintf(err, errlen, "DescribeRegions: too many regions");
			goto out;
		}
		*slot = name;
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}

enum bot_rc ec2_decode_changes(const char *body, size_t len, struct arena *a, struct vec *changes,
			       char *err, size_t errlen)
{
	enum bot_rc rc = BOT_EPARSE;
	xmlDocPtr doc = aws_xml_parse(body, len, err, errlen);
	if (!doc)
		return BOT_EPARSE;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!aws_xml_is(root, "StartInstancesResponse") &&
	    !aws_xml_is(root, "StopInstancesResponse")) {
		snprintf(err, errlen, "unexpected XML root <%.60s>", (const char *)root->name);
		goto out;
	}
	xmlNodePtr is = aws_xml_child(root, "instancesSet");
	for (xmlNodePtr i = is ? is->children : NULL; i; i = i->next) {
		if (!aws_xml_is(i, "item"))
			continue;
		struct ec2_state_change *c = vec_push(changes);
		if (!c) {
			snprintf(err, errlen, "too many instance state changes");
			goto out;
		}
		c->id = aws_xml_child_text(a, i, "instanceId");
		c->previous = aws_xml_child_text(a, aws_xml_child(i, "previousState"), "name");
		c->current = aws_xml_child_text(a, aws_xml_child(i, "currentState"), "name");
		OOM_IF(!c->id || !c->previous || !c->current);
	}
	rc = BOT_OK;
out:
	xmlFreeDoc(doc);
	return rc;
}
