/* array.h: doubling growth for typed arrays. The pointer is read and written
 * through memcpy so that a T ** can be passed without an aliasing cast. */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int array_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max)
{
	if (need <= *cap)
		return 0;
	if (max && need > max)
		return -1;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -1;
		ncap *= 2;
	}
	if (max && ncap > max)
		ncap = max;
	void *p;
	memcpy(&p, pp, sizeof(p));
	void *np = realloc(p, ncap * elem);
	if (!np)
		return -1;
	memcpy(pp, &np, sizeof(np));
	*cap = ncap;
	return 0;
}
