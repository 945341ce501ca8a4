/* SNS Publish and EventBridge PutEvents (notify.h), on the generic calls. */
#include "notify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_core.h"

/* One call: the core's op and the user's callback. The user's arg is the
 * op's, so aws_cancel(aws, arg) cancels it like any typed call. */
struct notify_op {
	struct aws_op op;
	notify_fn cb;
	bool putevents; /* the answer is PutEvents' (entries may have failed) */
};

static void notify_free(struct aws_op *op)
{
	aws_op_release(op);
	free(op);
}

static void notify_resp(struct aws_op *op, const struct aws_err *in, const char *body, size_t len)
{
	struct notify_op *n = (struct notify_op *)op;
	struct aws_err err = *in;
	if (err.rc == BOT_OK && n->putevents)
		eb_decode_put(body, len, &err);
	aws_op_finish(op, &err);
	n->cb(op->user_arg, &err);
	notify_free(op);
}

static struct notify_op *notify_new(struct aws *aws, enum aws_service svc, notify_fn cb, void *arg)
{
	struct notify_op *n = calloc(1, sizeof(*n));
	if (n) {
		n->cb = cb;
		n->putevents = svc == AWS_EVENTS;
		aws_op_init(&n->op, aws, svc, arg, notify_resp, notify_free);
	}
	return n;
}

/* SNS subjects: ASCII, starting with a letter, number or punctuation, no
 * line breaks or control characters, at most 100. */
static void clean_subject(const char *in, char *out, size_t len)
{
	size_t n = 0;
	for (; in && *in && n + 1 < len && n < 100; in++)
		if ((unsigned char)*in >= 0x20 && (unsigned char)*in < 0x7F)
			out[n++] = *in;
	while (n > 0 && out[0] == ' ') {
		memmove(out, out + 1, --n);
	}
	out[n] = '\0';
}

static bool is_fifo(const char *arn)
{
	size_t n = strlen(arn);
	return n > 5 && strcmp(arn + n - 5, ".fifo") == 0;
}

enum bot_rc sns_publish(struct aws *aws, const char *topic_arn, const char *subject,
			const char *message, const char *group_id, const char *dedup_id,
			notify_fn cb, void *arg)
{
	if (!aws || !topic_arn || !message || !cb)
		return BOT_EINVAL;
	char subj[101];
	clean_subject(subject, subj, sizeof(subj));
	struct buf form = { 0 };
	aws_form_add(&form, "TopicArn", topic_arn);
	aws_form_add(&form, "Message", message);
	if (subj[0])
		aws_form_add(&form, "Subject", subj);
	if (is_fifo(topic_arn)) {
		aws_form_add(&form, "MessageGroupId", group_id && *group_id ? group_id : "envbot");
		aws_form_add(&form, "MessageDeduplicationId", dedup_id);
	}
	char *f = buf_take(&form), *body = NULL;
	struct notify_op *n = f ? notify_new(aws, AWS_SNS, cb, arg) : NULL;
	enum bot_rc rc = n ? aws_op_query_body(NULL, AWS_SNS, "Publish", f, &body) : BOT_ENOMEM;
	if (rc == BOT_OK)
		rc = aws_op_send(&n->op, body);
	if (rc != BOT_OK && n)
		aws_op_abort(&n->op);
	free(f);
	return rc;
}

void eb_decode_put(const char *body, size_t len, struct aws_err *err)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *failed = cJSON_GetObjectItemCaseSensitive(o, "FailedEntryCount");
	const cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "Entries"), 0);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(entry, "ErrorCode");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(entry, "ErrorMessage");
	if (!cJSON_IsNumber(failed)) {
		err->rc = BOT_EPARSE;
		snprintf(err->code, sizeof(err->code), "%s", "");
		snprintf(err->message, sizeof(err->message),
			 "PutEvents: the answer has no FailedEntryCount");
	} else if (failed->valuedouble > 0) {
		const char *c = cJSON_IsString(code) ? code->valuestring : "";
		err->rc = strcmp(c, "ThrottlingException") == 0 ? BOT_ETHROTTLED
			  : strcmp(c, "InternalFailure") == 0   ? BOT_ESERVER
								: BOT_EREMOTE;
		snprintf(err->code, sizeof(err->code), "%s", c);
		snprintf(err->message, sizeof(err->message), "PutEvents refused the entry: %s",
			 cJSON_IsString(msg) ? msg->valuestring : "no reason given");
	}
	cJSON_Delete(o);
}

enum bot_rc eb_put_event(struct aws *aws, const char *bus, const char *source, const char *type,
			 const char *detail, notify_fn cb, void *arg)
{
	if (!aws || !bus || !source || !type || !detail || !cb)
		return BOT_EINVAL;
	cJSON *req = cJSON_CreateObject();
	cJSON *entries = cJSON_AddArrayToObject(req, "Entries");
	cJSON *e = entries ? cJSON_CreateObject() : NULL;
	char *json = NULL;
	if (e && cJSON_AddItemToArray(entries, e) && cJSON_AddStringToObject(e, "Source", source) &&
	    cJSON_AddStringToObject(e, "DetailType", type) &&
	    cJSON_AddStringToObject(e, "Detail", detail) &&
	    cJSON_AddStringToObject(e, "EventBusName", bus))
		json = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	struct notify_op *n = json ? notify_new(aws, AWS_EVENTS, cb, arg) : NULL;
	enum bot_rc rc = n ? aws_op_set_target(&n->op, "PutEvents") : BOT_ENOMEM;
	if (rc == BOT_OK)
		rc = aws_op_send(&n->op, strdup(json));
	if (rc != BOT_OK && n)
		aws_op_abort(&n->op);
	cJSON_free(json);
	return rc;
}
