/* STS calls (query protocol, XML): who the credentials belong to. AssumeRole
 * for profiles with role_arn is internal to the credential chain.
 * Calling convention, ownership and errors: see aws.h. */
#ifndef ENVBOT_STS_H
#define ENVBOT_STS_H

#include "aws.h"

struct sts_identity {
	const char *account;
	const char *arn;
	const char *user_id;
};
typedef void (*sts_identity_fn)(void *arg, const struct aws_err *err,
				const struct sts_identity *id);
enum bot_rc sts_get_caller_identity(struct aws *aws, sts_identity_fn cb, void *arg);

#endif
