/* kind = "stack": a CloudFormation stack deleted at night and created in the
 * morning with the newest ECR image tag. Its parsed settings, for the tests
 * that look at them; everything else goes through the descriptor. */
#ifndef ENVBOT_KINDS_STACK_H
#define ENVBOT_KINDS_STACK_H

#include <stddef.h>

#include "../wf/kind.h"

struct stack_param {
	char *key;
	char *value;
};

/* env->spec of a stack environment. */
struct stack_spec {
	char *stack_name;
	char *template_url;
	char *role_arn; /* may be NULL */
	char **capabilities;
	size_t n_capabilities;
	char *image_repository; /* may be NULL: no image lookup */
	char **image_parameters;
	size_t n_image_parameters;
	struct stack_param *parameters;
	size_t n_parameters;
};

extern const struct kind kind_stack;

#endif
