/* Internal to aws/: the pieces the module's files share and its unit tests
 * reach directly (encoders, the pure decoders and policies). Not for
 * other modules: they use aws.h and the per-service headers. */
#ifndef ENVBOT_AWS_INTERNAL_H
#define ENVBOT_AWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bot/core/buf.h"
#include "asg.h"
#include "aws.h"
#include "ecs.h"
#include "rds.h"

/* Appends s[0..n) percent-encoded: every byte outside A-Za-z0-9-_.~ (and '/'
 * when keep_slash) becomes %XX, upper-case hex. */
void aws_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash);
/* Appends "key=value" to a form body, '&'-separated, value encoded with
 * aws_uri_encode (space is %20, never '+'). NULL value: nothing appended. */
void aws_form_add(struct buf *b, const char *key, const char *value);
/* Same with a printf-formatted key, e.g. "Parameters.member.%zu.ParameterKey". */
void aws_form_addk(struct buf *b, const char *value, const char *keyfmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Arena for decoded results: everything is freed at once by arena_free. */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total; /* bytes held, bounded by ARENA_MAX */
};
#define ARENA_MAX ((size_t)64 << 20)
/* Zeroed memory, or NULL (allocation failure or ARENA_MAX reached). */
void *arena_alloc(struct arena *a, size_t n);
/* Copies s (NULL gives ""). NULL on failure. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* Growable array of elements of one size; vec_push returns a zeroed slot or
 * NULL (allocation failure or more than max elements). */
struct vec {
	void *v;
	size_t n, cap, size, max;
};
void *vec_push(struct vec *v);
void vec_free(struct vec *v);

/* ---- errors and retry policy ---- */

/* Extracts code and message from an error body: XML query shape
 * (<ErrorResponse><Error><Code>), EC2 shape (<Response><Errors><Error>), or
 * JSON (__type with an optional "prefix#", message/Message). errtype is the
 * x-amzn-ErrorType header (may be NULL), used when the body has no code.
 * Always leaves NUL-terminated (possibly empty) strings. */
void aws_parse_error(const char *body, size_t len, const char *errtype, char *code, size_t codelen,
		     char *msg, size_t msglen);

struct aws_class {
	enum bot_rc rc; /* what the call reports if it is not retried */
	bool retry;     /* transient: worth another attempt */
	bool throttle;  /* throttling: counted, and reported as BOT_ETHROTTLED */
};
/* Classifies an HTTP error response (status >= 300) by status and code. */
void aws_classify(int status, const char *code, struct aws_class *out);
bool aws_code_is_auth(const char *code);
bool aws_code_is_throttle(const char *code);

/* Full-jitter delay in ms for retry number n (1 = first retry):
 * r * min(2^(n-1), 20) s * scale, r in [0,1). */
uint64_t aws_backoff_ms(int n, double r, double scale);

/* ---- decoders (pure; strings land in the arena) ----
 * Each returns BOT_OK, or BOT_EPARSE with a one-line reason in err. */

/* The first stack of DescribeStacks; BOT_ENOTFOUND when the list is empty. */
enum bot_rc cfn_decode_stack(const char *body, size_t len, struct arena *a, struct cfn_stack *out,
			     char *err, size_t errlen);
enum bot_rc cfn_decode_create(const char *body, size_t len, struct arena *a, const char **stack_id,
			      char *err, size_t errlen);
/* Appends the page's events (struct cfn_event) to events; *next is the
 * NextToken or NULL. */
enum bot_rc cfn_decode_events(const char *body, size_t len, struct arena *a, struct vec *events,
			      const char **next, char *err, size_t errlen);
/* Analyses events (newest first). *complete tells whether they reach back to
 * the start of the latest operation. */
void cfn_analyze_failure(const struct cfn_event *events, size_t n, struct arena *a,
			 struct cfn_failure *out, bool *complete);

/* Appends tagged images (struct ecr_image, tag/rule chosen) to images. */
enum bot_rc ecr_decode_images(const char *body, size_t len, struct arena *a, struct vec *images,
			      const char **next, char *err, size_t errlen);
/* Sorts newest first (imagePushedAt descending, then digest). */
void ecr_sort_newest(struct ecr_image *v, size_t n);

/* Appends instances (struct ec2_instance), skipping terminated ones. */
enum bot_rc ec2_decode_instances(const char *body, size_t len, struct arena *a,
				 struct vec *instances, const char **next, char *err,
				 size_t errlen);
/* Appends the region names (const char *) of DescribeRegions, the enabled
 * ones (optInStatus not "not-opted-in"). */
enum bot_rc ec2_decode_regions(const char *body, size_t len, struct arena *a, struct vec *names,
			       char *err, size_t errlen);
/* Appends struct ec2_state_change from Start/StopInstances. */
enum bot_rc ec2_decode_changes(const char *body, size_t len, struct arena *a, struct vec *changes,
			       char *err, size_t errlen);

/* asg.c: one DescribeAutoScalingGroups page into out (struct asg_group),
 * only those tagged key=value when key is not NULL; *next the next page's
 * token, NULL on the last. */
enum bot_rc asg_decode_groups(const char *body, size_t len, const char *key, const char *value,
			      struct arena *a, struct vec *out, const char **next, char *why,
			      size_t whylen);
/* ecs.c: one DescribeServices answer into out (struct ecs_service), only
 * those tagged key=value when key is not NULL; and the first scalable
 * target of a DescribeScalableTargets answer. */
enum bot_rc ecs_decode_services(const char *body, size_t len, const char *key, const char *value,
				struct arena *a, struct vec *out, char *why, size_t whylen);
enum bot_rc appas_decode_target(const char *body, size_t len, bool *found, long long *min,
				long long *max, char *why, size_t whylen);
/* rds.c: one DescribeDBInstances/DescribeDBClusters page into out (struct
 * rds_db), only those tagged key=value when key is not NULL; *marker the
 * next page's, NULL on the last. */
enum bot_rc rds_decode_dbs(const char *body, size_t len, enum rds_what what, const char *key,
			   const char *value, struct arena *a, struct vec *out, const char **marker,
			   char *why, size_t whylen);
enum bot_rc sts_decode_identity(const char *body, size_t len, struct arena *a,
				struct sts_identity *out, char *err, size_t errlen);

/* Temporary credentials as every source returns them. */
struct aws_cred_fields {
	const char *access_key;
	const char *secret_key;
	const char *token;  /* "" when none */
	int64_t expiration; /* Unix seconds; 0 when they do not expire */
};
/* STS AssumeRole / AssumeRoleWithWebIdentity (result names the
 * *Result element). */
enum bot_rc sts_decode_credentials(const char *body, size_t len, const char *result,
				   struct arena *a, struct aws_cred_fields *out, char *err,
				   size_t errlen);
/* JSON of ECS, IMDS (AccessKeyId, SecretAccessKey, Token, Expiration) and
 * credential_process (Version 1, ..., SessionToken). */
enum bot_rc aws_decode_json_credentials(const char *body, size_t len, struct arena *a,
					struct aws_cred_fields *out, char *err, size_t errlen);

/* "2024-05-01T12:00:00Z" / "...00.123Z" / "+00:00" offsets to Unix seconds;
 * -1 if malformed. */
int64_t aws_parse_iso8601(const char *s);

/* ---- request encoders (pure; tests compare them with botocore's) ---- */
/* Each appends the form parameters after Action/Version. */
void cfn_encode_create(struct buf *b, const struct cfn_create_req *req);
struct ec2_filter {
	const char *name; /* e.g. "tag:Project", "instance-state-name" */
	const char *const *values;
	size_t n_values;
};
void ec2_encode_describe(struct buf *b, const struct ec2_filter *filters, size_t n, int max_results,
			 const char *next_token);
void ec2_encode_ids(struct buf *b, const char *const *ids, size_t n);
/* DescribeImages JSON; returns a new string the caller frees, NULL on OOM. */
char *ecr_encode_describe(const char *repo, const char *next_token, int max_results);

/* ---- endpoints ---- */
/* Resolves svc's endpoint from env and cfg (AWS_ENDPOINT_URL_<SVC>,
 * AWS_ENDPOINT_URL, cfg_url, default regional host). Returns a new string,
 * or NULL with err set (not https and not loopback). */
char *aws_resolve_endpoint(enum aws_service svc, const char *region, const char *cfg_url, char *err,
			   size_t errlen);

#endif
