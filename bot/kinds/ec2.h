/* kind = "ec2": EC2 instances found by a tag, stopped at night and started
 * in the morning. Its parsed settings, for the tests that look at them. */
#ifndef ENVBOT_KINDS_EC2_H
#define ENVBOT_KINDS_EC2_H

#include "../wf/kind.h"

/* env->spec of an ec2 environment. */
struct ec2_spec {
	char *tag_key;
	char *tag_value;
	bool hibernate; /* stop hibernates the instances configured for it */
};

extern const struct kind kind_ec2;

#endif
