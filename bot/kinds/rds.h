/* kind = "rds" (a DB instance) and kind = "rds-cluster" (an Aurora,
 * DocumentDB or Neptune cluster): stopped at night, started in the morning,
 * by identifier or by tag; kept data, unlike a deleted stack. */
#ifndef ENVBOT_KINDS_RDS_H
#define ENVBOT_KINDS_RDS_H

#include "../wf/kind.h"
#include "select.h"

extern const struct kind kind_rds;
extern const struct kind kind_rds_cluster;

#endif
