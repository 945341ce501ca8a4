/* Logging: one line per event on stderr, journald-friendly:
 *   2026-11-23T01:50:00.123Z level=info mod=gw msg="connected" key=value ...
 * Every line passes through one redaction point: strings registered with
 * log_add_secret() (tokens, AWS keys, interaction tokens) are replaced by
 * "[REDACTED]" whatever level or module printed them.
 * The logger is process-wide (level, secrets) and thread-safe: the one shared
 * facility besides the signal mask, because every thread must be able to log. */
#ifndef ENVBOT_LOG_H
#define ENVBOT_LOG_H

#include <stdarg.h>

enum log_level { LL_ERROR = 0, LL_WARN = 1, LL_INFO = 2, LL_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug". Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);

/* Registers a secret to redact; the string is copied. Strings shorter than 6
 * bytes are ignored (too likely to match ordinary text). Thread-safe. */
void log_add_secret(const char *secret);
/* Forgets a secret registered before (e.g. an interaction token that expired). */
void log_remove_secret(const char *secret);
void log_clear_secrets(void);

/* fmt is the rest of the line after "mod=...": by convention
 * msg="text" followed by key=value pairs. */
void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *mod, const char *fmt, va_list ap);

/* Redacts registered secrets in buf in place (NUL-terminated). Exposed for the
 * test that greps logs and for messages that leave the process (embeds). */
void log_redact(char *buf, unsigned long size);

#define log_error(mod, ...) log_msg(LL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LL_DEBUG, mod, __VA_ARGS__)

#endif
