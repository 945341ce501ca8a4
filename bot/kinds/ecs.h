/* kind = "ecs-service": ECS services of a cluster, by name or by tag,
 * scaled to zero at night with their desired count and autoscaler range
 * kept, and back to exactly them in the morning. */
#ifndef ENVBOT_KINDS_ECS_H
#define ENVBOT_KINDS_ECS_H

#include "../wf/kind.h"
#include "select.h"

/* env->spec of an ecs-service environment or member. */
struct ecs_spec {
	char *cluster;
	struct kind_select sel;      /* service, or tag */
	struct cfg_capacity restore; /* desired; min and max both or neither */
};

extern const struct kind kind_ecs_service;

#endif
