/* Fuzzes the date, duration, HH:MM and day-expression parsers of bot/time/when.c
 * (they read user-typed option values). Whatever parses must also format
 * and parse back to the same value. */
#include "../../bot/core/log.h"
#include "../../bot/time/when.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = fuzz_strdup(data, size);
	char buf[128];

	int64_t secs = 0;
	if (when_parse_duration(s, &secs) == 0) {
		FUZZ_CHECK(secs >= 0);
		when_format_duration(secs, buf, sizeof(buf));
		int64_t again = -1;
		/* "0" is the format of zero; it need not be a valid input. */
		if (secs > 0) {
			FUZZ_CHECK(when_parse_duration(buf, &again) == 0);
			FUZZ_CHECK(again == secs);
		}
	}

	ymd_t d = 0;
	if (when_parse_date(s, &d) == 0) {
		FUZZ_CHECK(when_date_valid(d));
		when_format_date(d, buf, sizeof(buf));
		ymd_t again = 0;
		FUZZ_CHECK(when_parse_date(buf, &again) == 0 && again == d);
		FUZZ_CHECK(when_civil_from_days(when_days_from_civil(d)) == d);
		int wd = when_weekday(d);
		FUZZ_CHECK(wd >= 0 && wd <= 6);
	}

	int minutes = -1;
	if (when_parse_hhmm(s, &minutes) == 0)
		FUZZ_CHECK(minutes >= 0 && minutes < 24 * 60);

	/* A fixed "today" plus one taken from the input's length, so that
	 * month and year ends are reached too. */
	static const ymd_t todays[] = { 20261123, 20261231, 20240229, 19700101, 20991231 };
	ymd_t today = todays[size % (sizeof(todays) / sizeof(todays[0]))];
	if (when_parse_day(s, today, &d) == 0)
		FUZZ_CHECK(when_date_valid(d));
	free(s);
	return 0;
}
