/* Fuzzes the holiday-calendar parser of bot/time/ical.c (it reads iCalendar
 * feeds fetched from the network) with libical underneath. Whatever parses
 * must list dates that are valid, sorted, unique and inside the range; a
 * failure must say why; and no input may take long (the budget). */
#include "../../bot/core/log.h"
#include "../../bot/time/ical.h"
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
	/* Ranges picked by the input's length: a short one, a year, the
	 * longest (three years with a leap day), one across a century. */
	static const ymd_t ranges[][2] = { { 20270206, 20270208 },
					   { 20270101, 20271231 },
					   { 20260101, 20281231 },
					   { 20990601, 21010601 } };
	const ymd_t *r = ranges[size % (sizeof(ranges) / sizeof(ranges[0]))];
	struct ical_day *days = NULL;
	size_t n = 0;
	char err[160];

	if (size > 65536)
		return 0;
	enum bot_rc rc =
		ical_days((const char *)data, size, r[0], r[1], &days, &n, err, sizeof(err));
	if (rc == BOT_OK) {
		FUZZ_CHECK(n <= ICAL_MAX_RANGE_DAYS);
		FUZZ_CHECK((n == 0) == (days == NULL));
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(when_date_valid(days[i].date));
			FUZZ_CHECK(days[i].date >= r[0] && days[i].date <= r[1]);
			FUZZ_CHECK(i == 0 || days[i - 1].date < days[i].date);
			FUZZ_CHECK(strnlen(days[i].summary, sizeof(days[i].summary)) <
				   sizeof(days[i].summary));
		}
	} else {
		FUZZ_CHECK(rc == BOT_EPARSE || rc == BOT_ENOMEM);
		FUZZ_CHECK(days == NULL && n == 0);
		FUZZ_CHECK(err[0] != '\0');
	}
	free(days);
	return 0;
}
