/* Environments of several regions: the fan-out workflow tables and the
 * region-by-region live lookups (regions.c). wf.c and kind.c use them;
 * the kinds need not know. */
#ifndef ENVBOT_WF_REGIONS_H
#define ENVBOT_WF_REGIONS_H

#include "kind.h"

struct wf_table;
extern const struct wf_table wf_regions_start, wf_regions_stop;

/* kind_live for an environment of several regions. */
enum bot_rc regions_live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			 kind_live_done done, void *arg);

#endif
