/* kind = "group": an environment of members of other kinds, started in the
 * listed order and stopped in reverse (config: members = ( { kind = ...; },
 * ... ), read by cfg_read_members). */
#ifndef ENVBOT_KINDS_GROUP_H
#define ENVBOT_KINDS_GROUP_H

#include "../wf/kind.h"

extern const struct kind kind_group;

#endif
