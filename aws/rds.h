/* RDS calls (query protocol, XML): DB instances and DB clusters (Aurora,
 * DocumentDB and Neptune share the API), found by identifier or by tag over
 * every page, and started or stopped. Calling convention, ownership and
 * errors: see aws.h. */
#ifndef ENVBOT_RDS_H
#define ENVBOT_RDS_H

#include <stdbool.h>

#include "aws.h"

enum rds_what { RDS_INSTANCE, RDS_CLUSTER };

struct rds_db {
	const char *id;
	const char *status;         /* available, stopped, stopping, starting, ... */
	const char *engine;         /* postgres, aurora-postgresql, docdb, neptune, ... */
	const char *cluster;        /* an instance's DBClusterIdentifier, "" if none */
	size_t n_members;           /* a cluster's instances */
	const struct aws_tag *tags; /* TagList */
	size_t n_tags;
};

struct rds_dbs {
	const struct rds_db *v;
	size_t n;
};
typedef void (*rds_dbs_fn)(void *arg, const struct aws_err *err, const struct rds_dbs *list);
/* By identifier (key NULL): the one instance or cluster (AWS answers
 * DBInstanceNotFound / DBClusterNotFoundFault when there is none: BOT_ENOTFOUND).
 * By tag (id NULL): every one carrying key=value (TagList), every page. */
enum bot_rc rds_describe(struct aws *aws, enum rds_what what, const char *id, const char *key,
			 const char *value, rds_dbs_fn cb, void *arg);

typedef void (*rds_done_fn)(void *arg, const struct aws_err *err);
/* StartDBInstance / StopDBInstance, StartDBCluster / StopDBCluster. */
enum bot_rc rds_start(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb,
		      void *arg);
enum bot_rc rds_stop(struct aws *aws, enum rds_what what, const char *id, rds_done_fn cb,
		     void *arg);

#endif
