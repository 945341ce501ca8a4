/* AWS Signature Version 4 for header-signed requests (HMAC-SHA256 from
 * OpenSSL). Pure: no clock, no I/O, so the vectors of
 * shared/testdata/sigv4 can check it byte for byte. Every header passed is
 * signed; the caller includes host, x-amz-date and x-amz-security-token. */
#ifndef ENVBOT_SIGV4_H
#define ENVBOT_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "../bot/core/rc.h"

struct sigv4_header {
	const char *name;  /* any case; lower-cased for signing */
	const char *value; /* trimmed, inner runs of spaces folded */
};

struct sigv4_req {
	const char *method;
	const char *path;  /* as sent, percent-encoded; normalised and encoded again */
	const char *query; /* without '?', may be NULL or "" */
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
	const char *region;
	const char *service;
	const char *amz_date; /* "YYYYMMDDTHHMMSSZ" */
	const char *access_key;
	const char *secret_key;
};

/* New strings, caller frees each with free() (sigv4_out_free). */
struct sigv4_out {
	char *canonical_request;
	char *string_to_sign;
	char *authorization; /* the Authorization header value */
};

/* Returns BOT_OK, BOT_EINVAL (missing field, bad date) or BOT_ENOMEM; *out
 * is filled only on BOT_OK. */
enum bot_rc sigv4_sign(const struct sigv4_req *req, struct sigv4_out *out);
void sigv4_out_free(struct sigv4_out *out);

/* "YYYYMMDDTHHMMSSZ" for Unix time t (UTC) into buf[17]. */
void sigv4_amz_date(int64_t t, char buf[17]);

#endif
