/* A minimal unit-test harness: CHECK* record a failure with file:line and go
 * on; check_done() prints "N passed, N failed" and returns the exit status. */
#ifndef ENVBOT_CHECK_H
#define ENVBOT_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			check_passed++;                                                          \
		} else {                                                                         \
			check_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                                           \
	do {                                                                                      \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
		if (check_a_ == check_b_) {                                                       \
			check_passed++;                                                           \
		} else {                                                                          \
			check_failed++;                                                           \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, \
				#a, check_a_, check_b_);                                          \
		}                                                                                 \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *check_a_ = (a), *check_b_ = (b);                                \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {              \
			check_passed++;                                                     \
		} else {                                                                    \
			check_failed++;                                                     \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, check_a_ ? check_a_ : "(null)",               \
				check_b_ ? check_b_ : "(null)");                            \
		}                                                                           \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

/* Tests that read the repository's test vectors (tests/data) call this first
 * with every file they need: a missing one ends the test with a clear
 * message and exit 1, never with a crash on a NULL read later. */
static inline void check_testdata(const char *dir, const char *const *needed)
{
	char path[2048];
	struct stat st;
	if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"test data missing: %s is not a directory (tests/data of the "
			"repository)\n",
			dir ? dir : "(none given)");
		exit(1);
	}
	for (; needed && *needed; needed++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *needed);
		if (stat(path, &st) != 0) {
			fprintf(stderr, "test data missing: %s\n", path);
			exit(1);
		}
	}
}

#endif
