/* The registry of environment kinds: what cfg_load accepts and what every
 * part of envbot finds through an environment's descriptor (bot/wf/kind.h).
 * Adding a kind is one file in this folder and one entry in kinds.c. */
#ifndef ENVBOT_KINDS_H
#define ENVBOT_KINDS_H

#include "../../config/config.h"

/* NULL-terminated; pass to cfg_load / cfg_load_string. */
extern const struct cfg_kind *const envbot_kinds[];

#endif
