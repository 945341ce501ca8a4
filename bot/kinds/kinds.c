/* The registry: one entry per kind, in the order messages and reports list
 * them. A test build adds one more kind with -DENVBOT_EXTRA_KIND=kind_NAME
 * (tests/kinds/: a kind in one file, nothing else changed). */
#include "kinds.h"

#include "asg.h"
#include "ec2.h"
#include "ecs.h"
#include "group.h"
#include "rds.h"
#include "stack.h"

#ifdef ENVBOT_EXTRA_KIND
extern const struct kind ENVBOT_EXTRA_KIND;
#endif

const struct cfg_kind *const envbot_kinds[] = {
	&kind_stack.cfg,
	&kind_ec2.cfg,
	&kind_asg.cfg,
	&kind_ecs_service.cfg,
	&kind_rds.cfg,
	&kind_rds_cluster.cfg,
	&kind_group.cfg,
#ifdef ENVBOT_EXTRA_KIND
	&ENVBOT_EXTRA_KIND.cfg,
#endif
	NULL,
};
