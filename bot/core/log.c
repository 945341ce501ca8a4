/* One-line logger with a single redaction point. See log.h. */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Tokens, keys, and the interaction tokens of a burst: up to 15 minutes of
 * interactions at a sustained 0.5/s, or a 500-interaction burst. */
#define LOG_MAX_SECRETS 512
#define LOG_LINE_MAX    4096
static const char redacted[] = "[REDACTED]";

static struct {
	pthread_mutex_t lock;
	enum log_level level;
	char *secrets[LOG_MAX_SECRETS];
} logger = { PTHREAD_MUTEX_INITIALIZER, LL_INFO, { 0 } };

static const char *level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	pthread_mutex_lock(&logger.lock);
	logger.level = level;
	pthread_mutex_unlock(&logger.lock);
}

enum log_level log_get_level(void)
{
	pthread_mutex_lock(&logger.lock);
	enum log_level l = logger.level;
	pthread_mutex_unlock(&logger.lock);
	return l;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LL_DEBUG; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (s && strcmp(s, "warning") == 0) {
		*out = LL_WARN;
		return 0;
	}
	return -1;
}

void log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 6)
		return;
	pthread_mutex_lock(&logger.lock);
	int slot = -1;
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		if (logger.secrets[i] && strcmp(logger.secrets[i], secret) == 0)
			goto out;
		if (!logger.secrets[i] && slot < 0)
			slot = i;
	}
	/* When full, the oldest-registered slot is reused: interaction tokens
	 * come and go; long-lived secrets are registered first and the table is
	 * large enough that they are never the ones evicted in practice. */
	if (slot < 0) {
		slot = LOG_MAX_SECRETS - 1;
		free(logger.secrets[slot]);
	}
	logger.secrets[slot] = strdup(secret);
out:
	pthread_mutex_unlock(&logger.lock);
}

void log_remove_secret(const char *secret)
{
	if (!secret)
		return;
	pthread_mutex_lock(&logger.lock);
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		if (logger.secrets[i] && strcmp(logger.secrets[i], secret) == 0) {
			free(logger.secrets[i]);
			logger.secrets[i] = NULL;
		}
	}
	pthread_mutex_unlock(&logger.lock);
}

void log_clear_secrets(void)
{
	pthread_mutex_lock(&logger.lock);
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		free(logger.secrets[i]);
		logger.secrets[i] = NULL;
	}
	pthread_mutex_unlock(&logger.lock);
}

/* Caller holds the lock. Replaces every occurrence of every secret; the
 * replacement may be longer than the secret, so the line is rebuilt and
 * truncated at size. */
static void redact_locked(char *buf, size_t size)
{
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		const char *s = logger.secrets[i];
		if (!s)
			continue;
		size_t slen = strlen(s);
		char *p;
		while ((p = strstr(buf, s)) != NULL) {
			size_t head = (size_t)(p - buf);
			size_t tail = strlen(p + slen);
			size_t rlen = sizeof(redacted) - 1;
			if (head + rlen >= size) {
				buf[head] = '\0';
				break;
			}
			if (head + rlen + tail >= size)
				tail = size - 1 - head - rlen;
			memmove(p + rlen, p + slen, tail);
			p[rlen + tail] = '\0';
			memcpy(p, redacted, rlen);
		}
	}
}

void log_redact(char *buf, unsigned long size)
{
	pthread_mutex_lock(&logger.lock);
	redact_locked(buf, size);
	pthread_mutex_unlock(&logger.lock);
}

void log_vmsg(enum log_level level, const char *mod, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;

	pthread_mutex_lock(&logger.lock);
	if (level > logger.level) {
		pthread_mutex_unlock(&logger.lock);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s mod=%s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], mod ? mod : "-");
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One event, one line: embedded newlines would split journald records. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	redact_locked(line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&logger.lock);
}

void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, mod, fmt, ap);
	va_end(ap);
}
