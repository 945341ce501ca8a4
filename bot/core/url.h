/* The one URL policy of envbot: https:// and wss:// to any host, plain
 * http:// and ws:// only to loopback (127.0.0.0/8, ::1, localhost). The host
 * is judged after libcurl's own URL parser has split the URL, so it is the
 * host a client would connect to ("http://127.0.0.1@evil.example/" names
 * evil.example, not 127.0.0.1). Pure functions, safe on any thread. */
#ifndef ENVBOT_URL_H
#define ENVBOT_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Which families of schemes a caller accepts (bits, OR them). */
enum url_schemes {
	URL_HTTP = 1 << 0, /* https:// anywhere, http:// to loopback */
	URL_WS = 1 << 1,   /* wss:// anywhere, ws:// to loopback */
};

/* True when url (may be NULL) parses, has a non-empty host, and its scheme
 * is in one of the families of schemes, with the plain-text scheme only to a
 * loopback host. Scheme and host are compared case-insensitively. */
bool url_allowed(const char *url, unsigned schemes);

/* True when url (may be NULL) parses and its host is loopback, whatever the
 * scheme (used to relax TLS checks for local test endpoints). */
bool url_is_loopback(const char *url);

/* Copies url's lowercased scheme and its host (IPv6 in brackets, as curl
 * gives it) into the caller's buffers and returns true; false when url (may
 * be NULL) does not parse, names no host, or a part does not fit. For rules
 * that name particular hosts (the ECS credential agents). */
bool url_parts(const char *url, char *scheme, size_t scheme_len, char *host, size_t host_len);

/* True when host (no scheme, no port; IPv6 with or without brackets) is
 * "localhost", an address in 127.0.0.0/8 or ::1. For hosts split by another
 * parser than curl's (libwebsockets' lws_parse_uri). */
bool url_host_is_loopback(const char *host);

#endif
