/* Shared bits of the libFuzzer harnesses: the entry point's prototype (the
 * project builds with -Wmissing-prototypes), a NUL-terminated copy of the
 * input for the parsers that take C strings, and a check that aborts so a
 * broken invariant is reported as a finding like a sanitizer error. */
#ifndef ENVBOT_FUZZ_H
#define ENVBOT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Returns a malloc'd copy of data with a NUL appended (embedded NULs stay:
 * C-string parsers simply see the prefix). Aborts on allocation failure,
 * which libFuzzer's -rss_limit reports separately anyway. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

#endif
