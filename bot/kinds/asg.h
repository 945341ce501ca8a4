/* kind = "asg": Auto Scaling groups, by name or by tag, scaled to zero at
 * night with their capacity kept, and back to exactly it in the morning. */
#ifndef ENVBOT_KINDS_ASG_H
#define ENVBOT_KINDS_ASG_H

#include "../wf/kind.h"
#include "select.h"

/* env->spec of an asg environment or member. */
struct asg_spec {
	struct kind_select sel;
	struct cfg_capacity restore; /* min, desired and max, when set */
};

extern const struct kind kind_asg;

#endif
