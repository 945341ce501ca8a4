/* ECS and Application Auto Scaling calls (JSON 1.1): services of a cluster
 * by name or by tag, their desired count set, and the scalable target that
 * would scale them back out read and set. Calling convention, ownership
 * and errors: see aws.h. */
#ifndef ENVBOT_ECS_H
#define ENVBOT_ECS_H

#include <stdbool.h>

#include "aws.h"

struct ecs_service {
	const char *name;
	const char *status; /* ACTIVE, DRAINING, INACTIVE */
	long long desired, running, pending;
	size_t n_deployments;
	const struct aws_tag *tags; /* include TAGS */
	size_t n_tags;
};

struct ecs_services {
	const struct ecs_service *v;
	size_t n;
};
typedef void (*ecs_services_fn)(void *arg, const struct aws_err *err,
				const struct ecs_services *list);
/* By name (key NULL): that service of cluster (missing: an empty list). By
 * tag (service NULL): every service of cluster carrying key=value
 * (ListServices, every page, then DescribeServices by tens). */
enum bot_rc ecs_describe(struct aws *aws, const char *cluster, const char *service, const char *key,
			 const char *value, ecs_services_fn cb, void *arg);

typedef void (*ecs_done_fn)(void *arg, const struct aws_err *err);
/* UpdateService desiredCount. */
enum bot_rc ecs_update(struct aws *aws, const char *cluster, const char *service, long long desired,
		       ecs_done_fn cb, void *arg);

/* The service's scalable target (ecs:service:DesiredCount), found or not. */
typedef void (*appas_target_fn)(void *arg, const struct aws_err *err, bool found, long long min,
				long long max);
enum bot_rc appas_target(struct aws *aws, const char *cluster, const char *service,
			 appas_target_fn cb, void *arg);
/* RegisterScalableTarget of an existing target: its min and max. */
enum bot_rc appas_register(struct aws *aws, const char *cluster, const char *service, long long min,
			   long long max, ecs_done_fn cb, void *arg);

#endif
