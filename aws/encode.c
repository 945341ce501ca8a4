/* Request encoders (query/ec2 form parameters, ECR JSON) and the retry
 * policy as data: which error codes are throttling, which are authentication
 * failures, and the full-jitter backoff. Pure, so unit tests pin them. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/core/backoff.h"
#include "aws_internal.h"

void cfn_encode_create(struct buf *b, const struct cfn_create_req *req)
{
	aws_form_add(b, "StackName", req->stack_name);
	aws_form_add(b, "TemplateURL", req->template_url);
	for (size_t i = 0; i < req->n_parameters; i++) {
		aws_form_addk(b, req->parameters[i].key, "Parameters.member.%zu.ParameterKey",
			      i + 1);
		aws_form_addk(b, req->parameters[i].value, "Parameters.member.%zu.ParameterValue",
			      i + 1);
	}
	if (req->timeout_minutes > 0)
		buf_addf(b, "%sTimeoutInMinutes=%d", b->len ? "&" : "", req->timeout_minutes);
	for (size_t i = 0; i < req->n_capabilities; i++)
		aws_form_addk(b, req->capabilities[i], "Capabilities.member.%zu", i + 1);
	aws_form_add(b, "RoleARN", req->role_arn);
	aws_form_add(b, "OnFailure", req->on_failure);
	for (size_t i = 0; i < req->n_tags; i++) {
		aws_form_addk(b, req->tags[i].key, "Tags.member.%zu.Key", i + 1);
		aws_form_addk(b, req->tags[i].value, "Tags.member.%zu.Value", i + 1);
	}
	aws_form_add(b, "ClientRequestToken", req->client_token);
}

void ec2_encode_describe(struct buf *b, const struct ec2_filter *filters, size_t n, int max_results,
			 const char *next_token)
{
	for (size_t i = 0; i < n; i++) {
		aws_form_addk(b, filters[i].name, "Filter.%zu.Name", i + 1);
		for (size_t j = 0; j < filters[i].n_values; j++)
			aws_form_addk(b, filters[i].values[j], "Filter.%zu.Value.%zu", i + 1,
				      j + 1);
	}
	if (max_results > 0)
		buf_addf(b, "%sMaxResults=%d", b->len ? "&" : "", max_results);
	aws_form_add(b, "NextToken", next_token);
}

void ec2_encode_ids(struct buf *b, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		aws_form_addk(b, ids[i], "InstanceId.%zu", i + 1);
}

/* cJSON's compact output with a space after each ',' and ':' outside
 * strings: the exact bytes the AWS SDKs (json.dumps) send, so requests can be
 * compared with botocore's byte for byte. New string or NULL. */
static char *json_spaced(const char *s)
{
	struct buf b = { 0 };
	bool in_str = false, esc = false;
	for (; *s; s++) {
		buf_add(&b, s, 1);
		if (in_str) {
			if (esc)
				esc = false;
			else if (*s == '\\')
				esc = true;
			else if (*s == '"')
				in_str = false;
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == ',' || *s == ':') {
			buf_add(&b, " ", 1);
		}
	}
	return buf_take(&b);
}

char *ecr_encode_describe(const char *repo, const char *next_token, int max_results)
{
	char *s = NULL;
	cJSON *doc = cJSON_CreateObject();
	cJSON *filter = NULL;
	if (!doc || !cJSON_AddStringToObject(doc, "repositoryName", repo))
		goto out;
	filter = cJSON_AddObjectToObject(doc, "filter");
	if (!filter || !cJSON_AddStringToObject(filter, "tagStatus", "TAGGED"))
		goto out;
	if (max_results > 0 && !cJSON_AddNumberToObject(doc, "maxResults", max_results))
		goto out;
	if (next_token && !cJSON_AddStringToObject(doc, "nextToken", next_token))
		goto out;
	char *compact = cJSON_PrintUnformatted(doc);
	if (compact)
		s = json_spaced(compact);
	cJSON_free(compact);
out:
	cJSON_Delete(doc);
	return s;
}

/* ---- retry policy ---- */

/* Codes of the standard retry mode (botocore/SDK "throttling errors"). */
static const char *const throttle_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
	NULL,
};

/* Transient, not throttling. */
static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"InternalError",
	"InternalFailure",
	"ServiceUnavailable",
	"IDPCommunicationError",
	NULL,
};

/* The credentials themselves were refused: never retried, exit status 3. */
static const char *const auth_codes[] = {
	"InvalidClientTokenId",
	"SignatureDoesNotMatch",
	"ExpiredToken",
	"ExpiredTokenException",
	"UnrecognizedClientException",
	"AuthFailure",
	"InvalidAccessKeyId",
	"IncompleteSignature",
	"MissingAuthenticationToken",
	"InvalidSignatureException",
	"InvalidToken",
	"TokenRefreshRequired",
	"RequestExpired",
	NULL,
};

static bool in_list(const char *const *list, const char *code)
{
	for (; code && *list; list++)
		if (strcmp(*list, code) == 0)
			return true;
	return false;
}

bool aws_code_is_auth(const char *code)
{
	return in_list(auth_codes, code);
}

bool aws_code_is_throttle(const char *code)
{
	return in_list(throttle_codes, code);
}

void aws_classify(int status, const char *code, struct aws_class *out)
{
	memset(out, 0, sizeof(*out));
	out->rc = BOT_EREMOTE;
	if (aws_code_is_auth(code)) {
		out->rc = BOT_EAUTH;
		return;
	}
	if (aws_code_is_throttle(code) || status == 429) {
		out->rc = BOT_ETHROTTLED;
		out->retry = true;
		out->throttle = true;
		return;
	}
	if (in_list(transient_codes, code) || status == 500 || status == 502 || status == 503 ||
	    status == 504) {
		out->rc = BOT_ESERVER;
		out->retry = true;
		return;
	}
	if (status >= 500)
		out->rc = BOT_ESERVER;
}

/* The standard retry mode's shape: 1, 2, 4, 8, 16 s, then 20 s, with full
 * jitter (a draw in [0, delay)). */
static const uint32_t retry_table_ms[] = { 1000, 2000, 4000, 8000, 16000, 20000 };
static const struct backoff retry_backoff = {
	.table_ms = retry_table_ms,
	.count = BACKOFF_COUNT(retry_table_ms),
	.full_jitter = true,
};

uint64_t aws_backoff_ms(int n, double r, double scale)
{
	if (r >= 1)
		r = 0.999999;
	double ms = (double)backoff_ms(&retry_backoff, n > 1 ? (unsigned)(n - 1) : 0, r) * scale;
	return ms > 0 ? (uint64_t)ms : 0;
}
