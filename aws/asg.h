/* Auto Scaling calls (query protocol, XML): groups by name or by tag over
 * every page, their capacity set, and the processes that would undo a
 * scale to zero suspended and resumed. Calling convention, ownership and
 * errors: see aws.h. */
#ifndef ENVBOT_ASG_H
#define ENVBOT_ASG_H

#include <stdbool.h>

#include "aws.h"

struct asg_group {
	const char *name;
	long long min, desired, max;
	size_t n_instances;         /* in any lifecycle state */
	size_t n_ready;             /* InService and Healthy */
	size_t n_suspended;         /* of ASG_PROCESSES, suspended now */
	const struct aws_tag *tags; /* the group's tags */
	size_t n_tags;
};

struct asg_groups {
	const struct asg_group *v;
	size_t n;
};
typedef void (*asg_groups_fn)(void *arg, const struct aws_err *err, const struct asg_groups *list);
/* By name (key NULL): that group (none: an empty list). By tag (name
 * NULL): every group carrying key=value. */
enum bot_rc asg_describe(struct aws *aws, const char *name, const char *key, const char *value,
			 asg_groups_fn cb, void *arg);

typedef void (*asg_done_fn)(void *arg, const struct aws_err *err);
/* UpdateAutoScalingGroup MinSize, DesiredCapacity, MaxSize. */
enum bot_rc asg_update(struct aws *aws, const char *name, long long min, long long desired,
		       long long max, asg_done_fn cb, void *arg);
/* The processes that would fight a group held at zero: alarms and
 * scheduled actions scaling it out, AZ rebalancing launching instances. */
#define ASG_PROCESSES   "AlarmNotification", "ScheduledActions", "AZRebalance"
#define ASG_N_PROCESSES 3
/* SuspendProcesses or ResumeProcesses of ASG_PROCESSES. */
enum bot_rc asg_processes(struct aws *aws, const char *name, bool suspend, asg_done_fn cb,
			  void *arg);

#endif
