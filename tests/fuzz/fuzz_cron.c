/* Fuzzes cron_parse (the schedule strings of the config file) and, for
 * every expression that parses, cron_next / cron_prev / cron_describe in a
 * fixed zone with DST (Europe/Berlin) and one without (Asia/Seoul): the
 * next run must be after the start and match the expression's fields. */
#include <time.h>

#include "../../bot/core/log.h"
#include "../../bot/time/cron.h"
#include "fuzz.h"

static struct tz *zones[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	zones[0] = tz_open("Europe/Berlin");
	zones[1] = tz_open("Asia/Seoul");
	if (!zones[0] || !zones[1]) {
		fprintf(stderr, "fuzz_cron: time zones missing (tzdata)\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *s = fuzz_strdup(data, size);
	struct cron c;
	char err[256];
	char desc[256];
	cron_describe(s, desc, sizeof(desc));
	if (cron_parse(s, &c, err, sizeof(err)) != 0)
		goto out;
	/* 2026-03-28 23:30 UTC: the night Europe moves to summer time. */
	static const time_t starts[] = { 1774740600, 1798761599, 0 };
	for (size_t z = 0; z < 2; z++) {
		for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
			time_t next = 0;
			if (cron_next(&c, zones[z], starts[i], &next) == 0) {
				FUZZ_CHECK(next > starts[i]);
				/* Near a DST change a job may move by design
				 * (CONTRACT.md); check the fields elsewhere. */
				if (tz_offset(zones[z], next - 7200) !=
				    tz_offset(zones[z], next + 7200))
					continue;
				struct tm tm;
				tz_local(zones[z], next, &tm);
				FUZZ_CHECK(c.minutes & (1ull << tm.tm_min));
				FUZZ_CHECK(c.hours & (1u << tm.tm_hour));
				FUZZ_CHECK(c.months & (1u << (tm.tm_mon + 1)));
				time_t prev = 0;
				FUZZ_CHECK(cron_prev(&c, zones[z], next, &prev) == 0);
				FUZZ_CHECK(prev == next);
			}
		}
	}
out:
	free(s);
	return 0;
}
