/* Environments of several regions: wf_create (wf.h) and kind_live (kind.h)
 * live in regions.c, above the interpreter (wf.c) and the descriptors
 * (kind.c), because they choose between the kind's own workflow or lookup
 * and the fan-out over the regions. */
#ifndef ENVBOT_WF_REGIONS_H
#define ENVBOT_WF_REGIONS_H

#include "../core/action.h"

struct wf_table;
/* The fan-out table: the kind's workflow in every region at once. */
const struct wf_table *wf_regions_table(enum action action);

#endif
