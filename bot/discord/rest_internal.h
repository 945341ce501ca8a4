/* What the files of the REST client share and nothing else sees: the route
 * helpers of rest_route.c used by rest.c's request engine and rest_msg.c's
 * endpoints, and the one field of the client rest_msg.c needs. Calls go one
 * way: rest_msg.c -> rest.c -> rest_route.c. Not for other modules. */
#ifndef ENVBOT_REST_INTERNAL_H
#define ENVBOT_REST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rest.h"

/* ---- rest_route.c ---- */

/* FNV-1a of the string s: the hash of the bucket and route tables. */
uint32_t rest_fnv1a(const char *s);
/* True when s[0..n) is a non-empty run of decimal digits (a snowflake). */
bool rest_all_digits(const char *s, size_t n);
/* The part of a route key that names its major parameter, e.g.
 * "/channels/123" of "POST /channels/123/messages"; "" if none. Writes a
 * NUL-terminated string into out (truncated to size). */
void rest_route_major(const char *route, char *out, size_t size);
/* The key a route is counted under in metrics: every id and token hidden so
 * that the table stays small and holds no secret. Writes into out. */
void rest_stats_key(const char *route, char *out, size_t size);
/* The route as logged, with an interaction or webhook token hidden. Writes
 * into out. */
void rest_log_route(const char *route, char *out, size_t size);

/* ---- rest.c ---- */

/* The application id given to rest_create ("" if none); borrowed, lives as
 * long as rest. */
const char *rest_app_id(const struct rest *rest);

/* rest_request() whose body goes as multipart/form-data: body (taken) as the
 * part "payload_json" (application/json), files[i] as the part "files[i]"
 * with its filename and type. The files are copied before the call returns;
 * each attempt builds its parts anew from the copy. The caller has checked
 * names and types (rest_msg.c). Returns as rest_request(). */
enum bot_rc rest_request_files(struct rest *rest, const char *method, const char *path, cJSON *body,
			       const struct rest_file *files, size_t n_files, unsigned flags,
			       rest_done_fn done, void *arg);

#endif
