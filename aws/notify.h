/* Events out through AWS (bot/events): SNS Publish and EventBridge
 * PutEvents, one message each, on the loop like every call. */
#ifndef ENVBOT_AWS_NOTIFY_H
#define ENVBOT_AWS_NOTIFY_H

#include "aws.h"

/* Called once: err->rc BOT_OK when the service took the message. */
typedef void (*notify_fn)(void *arg, const struct aws_err *err);

/* SNS Publish of message to topic_arn with subject (at most 100 printable
 * ASCII characters; cut and cleaned here). For a FIFO topic (".fifo") the
 * message goes in group_id with dedup_id as its MessageDeduplicationId, so
 * SNS drops a resend of one event within its 5-minute window. */
enum bot_rc sns_publish(struct aws *aws, const char *topic_arn, const char *subject,
			const char *message, const char *group_id, const char *dedup_id,
			notify_fn cb, void *arg);

/* EventBridge PutEvents of one entry (Source source, DetailType type, Detail
 * detail, a JSON object) on bus (a name or ARN). PutEvents answers 200 even
 * when the entry failed: a failed entry is an error here, BOT_ETHROTTLED or
 * BOT_ESERVER for ThrottlingException / InternalFailure (worth a retry),
 * BOT_EREMOTE for the rest, with the entry's ErrorCode and ErrorMessage. */
enum bot_rc eb_put_event(struct aws *aws, const char *bus, const char *source, const char *type,
			 const char *detail, notify_fn cb, void *arg);

/* Pure, for tests: the verdict on a PutEvents response body. */
void eb_decode_put(const char *body, size_t len, struct aws_err *err);

#endif
