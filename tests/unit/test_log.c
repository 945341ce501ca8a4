/* The logger's redaction point: a registered secret never reaches a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "check.h"

static void test_redact(void)
{
	char buf[256];
	log_add_secret("Bot-token-ABCDEF.123");
	snprintf(buf, sizeof(buf), "auth=Bot-token-ABCDEF.123 again Bot-token-ABCDEF.123 end");
	log_redact(buf, sizeof(buf));
	CHECK_STR(buf, "auth=[REDACTED] again [REDACTED] end");

	/* Replacement longer than the room left: truncated, never overflowing. */
	char small[12] = "xx123456789";
	log_add_secret("123456789");
	log_redact(small, sizeof(small));
	CHECK(strstr(small, "123456789") == NULL);
	CHECK(strlen(small) < sizeof(small));

	/* Short strings are not registered: they would mangle ordinary text. */
	log_add_secret("abc");
	snprintf(buf, sizeof(buf), "abc");
	log_redact(buf, sizeof(buf));
	CHECK_STR(buf, "abc");

	log_remove_secret("123456789");
	snprintf(buf, sizeof(buf), "123456789");
	log_redact(buf, sizeof(buf));
	CHECK_STR(buf, "123456789");
}

static void test_line(void)
{
	/* Capture stderr into a file and read the line back. */
	char path[] = "/tmp/envbot-test-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	log_set_level(LL_INFO);
	log_info("test", "msg=\"hello\nworld\" token=Bot-token-ABCDEF.123");
	log_debug("test", "msg=\"hidden\"");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char line[512] = { 0 };
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		CHECK(fgets(line, sizeof(line), f) != NULL);
		char extra[64];
		CHECK(fgets(extra, sizeof(extra), f) == NULL); /* one line, debug dropped */
		fclose(f);
	}
	unlink(path);
	close(fd);
	CHECK(strstr(line, " level=info mod=test msg=\"hello world\" token=[REDACTED]") != NULL);
	CHECK(line[4] == '-' && line[10] == 'T');

	enum log_level lvl;
	CHECK_INT(log_parse_level("debug", &lvl), 0);
	CHECK_INT(lvl, LL_DEBUG);
	CHECK_INT(log_parse_level("loud", &lvl), -1);
}

int main(void)
{
	test_redact();
	test_line();
	log_clear_secrets();
	return check_done();
}
