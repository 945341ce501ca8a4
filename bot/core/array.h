/* Growing an array of any element type in place: one doubling policy for
 * every table envbot builds up (state collections, metrics series, doctor
 * checks, config errors, INI entries). Typed arrays stay typed; only the
 * growth is shared. */
#ifndef ENVBOT_ARRAY_H
#define ENVBOT_ARRAY_H

#include <stddef.h>

/* Makes the array whose pointer is at pp (a T **, passed as void *) hold at
 * least need elements of elem bytes: capacity doubles from 8, at most max
 * elements (0 = no limit). *cap is updated. Returns 0, or -1 (nothing
 * changed) on allocation failure or past max. */
int array_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max);

#endif
