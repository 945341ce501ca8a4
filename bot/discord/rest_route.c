/* Discord REST, the pure half: rate-limit route keys (and their metrics and
 * log forms, with ids and tokens hidden) and the arithmetic of one bucket
 * learnt from X-RateLimit-* headers. No I/O and no state of its own, so the
 * tests drive it directly; rest.c's request engine is built on it. */
#include "rest_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

uint32_t rest_fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

bool rest_all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void appendf(char *out, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len >= size)
		return;
	size_t room = size - 1 - *len;
	if (n > room)
		n = room;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
}

/* ---- route keys ---- */

void rest_route_key(const char *method, const char *path, char *out, size_t size)
{
	size_t len = 0;
	if (!size)
		return;
	out[0] = '\0';
	appendf(out, size, &len, method, strlen(method));
	appendf(out, size, &len, " ", 1);

	size_t plen = strcspn(path, "?#");
	const char *p = path;
	const char *end = path + plen;
	int index = 0;
	char first[32] = "";
	int keep_literal = 0; /* segments still to keep literally (major params) */
	char prev[32] = "";
	while (p < end) {
		if (*p == '/') {
			p++;
			continue;
		}
		const char *seg = p;
		while (p < end && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		appendf(out, size, &len, "/", 1);
		if (keep_literal > 0) {
			appendf(out, size, &len, seg, n);
			keep_literal--;
		} else if (strcmp(prev, "reactions") == 0) {
			/* Every emoji and user of a message's reactions share one
			 * bucket. */
			appendf(out, size, &len, "*", 1);
			break;
		} else if (rest_all_digits(seg, n)) {
			appendf(out, size, &len, ":id", 3);
		} else {
			appendf(out, size, &len, seg, n);
		}
		if (index == 0) {
			snprintf(first, sizeof(first), "%.*s", (int)(n < 31 ? n : 31), seg);
			/* The major parameter follows the first segment: channel and
			 * guild ids; webhook and interaction id + token. */
			if (strcmp(first, "channels") == 0 || strcmp(first, "guilds") == 0)
				keep_literal = 1;
			else if (strcmp(first, "webhooks") == 0 ||
				 strcmp(first, "interactions") == 0)
				keep_literal = 2;
		}
		snprintf(prev, sizeof(prev), "%.*s", (int)(n < 31 ? n : 31), seg);
		index++;
	}
	if (index == 0)
		appendf(out, size, &len, "/", 1);
}

/* The part of a route key that names its major parameter, e.g.
 * "/channels/123" of "POST /channels/123/messages". */
void rest_route_major(const char *route, char *out, size_t size)
{
	const char *p = strchr(route, ' ');
	p = p ? p + 1 : route;
	int want = 0;
	if (strncmp(p, "/channels/", 10) == 0 || strncmp(p, "/guilds/", 8) == 0)
		want = 2;
	else if (strncmp(p, "/webhooks/", 10) == 0 || strncmp(p, "/interactions/", 14) == 0)
		want = 3;
	const char *q = p;
	for (int seen = 0; want && *q; q++) {
		if (*q == '/' && ++seen > want)
			break;
	}
	size_t n = want ? (size_t)(q - p) : 0;
	snprintf(out, size, "%.*s", (int)n, p);
}

/* The key a route is counted under in metrics: every id and token hidden so
 * that the table stays small and holds no secret. */
void rest_stats_key(const char *route, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	const char *sp = strchr(route, ' ');
	if (!sp)
		return;
	appendf(out, size, &len, route, (size_t)(sp - route) + 1);
	bool tokened =
		strncmp(sp, " /webhooks/", 11) == 0 || strncmp(sp, " /interactions/", 15) == 0;
	const char *p = sp + 1;
	int index = 0;
	while (*p) {
		if (*p == '/') {
			appendf(out, size, &len, "/", 1);
			p++;
			continue;
		}
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (rest_all_digits(seg, n))
			appendf(out, size, &len, ":id", 3);
		else if (tokened && index == 2)
			appendf(out, size, &len, ":token", 6);
		else
			appendf(out, size, &len, seg, n);
		index++;
	}
}

/* The route as logged: interaction tokens are secrets, and the logger's
 * table of secrets is too small for a burst of interactions. */
void rest_log_route(const char *route, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	const char *sp = strchr(route, ' ');
	bool tokened = sp && (strncmp(sp, " /webhooks/", 11) == 0 ||
			      strncmp(sp, " /interactions/", 15) == 0);
	if (!tokened) {
		snprintf(out, size, "%s", route);
		return;
	}
	/* "METHOD /webhooks/ID/" then ":token" then the rest */
	const char *tok = strchr(strchr(sp + 2, '/') + 1, '/');
	if (!tok) {
		snprintf(out, size, "%s", route);
		return;
	}
	tok++;
	const char *rest_of = strchr(tok, '/');
	appendf(out, size, &len, route, (size_t)(tok - route));
	appendf(out, size, &len, ":token", 6);
	if (rest_of)
		appendf(out, size, &len, rest_of, strlen(rest_of));
}

/* ---- bucket arithmetic (pure) ---- */

static int bucket_effective_remaining(const struct rest_bucket_state *b, uint64_t now_ms)
{
	if (b->reset_ms && now_ms >= b->reset_ms && b->limit >= 0)
		return b->limit;
	return b->remaining;
}

uint64_t rest_bucket_wait_ms(const struct rest_bucket_state *b, uint64_t now_ms)
{
	int rem = bucket_effective_remaining(b, now_ms);
	if (rem < 0)
		return b->in_flight > 0 ? REST_WAIT_RESPONSE : 0;
	if (rem > 0)
		return 0;
	if (b->reset_ms > now_ms)
		return b->reset_ms - now_ms;
	return b->in_flight > 0 ? REST_WAIT_RESPONSE : 0;
}

void rest_bucket_take(struct rest_bucket_state *b, uint64_t now_ms)
{
	if (b->reset_ms && now_ms >= b->reset_ms) {
		if (b->limit >= 0)
			b->remaining = b->limit;
		b->reset_ms = 0;
	}
	if (b->remaining > 0)
		b->remaining--;
	if (b->reset_ms == 0 && b->window_ms)
		b->reset_ms = now_ms + b->window_ms;
	b->in_flight++;
}

/* A header's non-negative integer, or -1 when absent or malformed. */
static long header_count(const char *s)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	long v = strtol(s, &end, 10);
	return *end == '\0' && v < 1000000 ? v : -1;
}

void rest_bucket_update(struct rest_bucket_state *b, const char *limit, const char *remaining,
			const char *reset_after, uint64_t now_ms)
{
	if (b->in_flight > 0)
		b->in_flight--;
	long l = header_count(limit);
	if (l >= 0)
		b->limit = (int)l;
	{
		long r = header_count(remaining);
		if (r >= 0) {
			/* The server's count does not yet include requests still in
			 * flight: subtract them so the window is never overrun. */
			r -= b->in_flight;
			b->remaining = r < 0 ? 0 : (int)r;
		}
	}
	if (reset_after && isdigit((unsigned char)*reset_after)) {
		double s = strtod(reset_after, NULL);
		if (s >= 0 && s < 86400.0)
			b->reset_ms = now_ms + (uint64_t)ceil(s * 1000.0);
	}
	if (b->limit >= 0 && b->remaining < 0)
		b->remaining = b->limit;
}
