/* Internal to aws/: struct aws, the logical call (struct aws_op) every typed
 * call embeds, and the credential chain's entry points. */
#ifndef ENVBOT_AWS_CORE_H
#define ENVBOT_AWS_CORE_H

#include <stdarg.h>

#include "aws_internal.h"

struct aws_creds {
	char *access_key;
	char *secret_key;
	char *token;        /* NULL when none */
	int64_t expiration; /* Unix seconds; 0 = never */
};

struct aws_op;
/* Called once per HTTP exchange (after retries): body/len on success
 * (err->rc == BOT_OK), NULL/0 on failure. The op must then either send the
 * next request (aws_op_send) or finish (aws_op_finish, user callback, free). */
typedef void (*aws_op_resp_fn)(struct aws_op *op, const struct aws_err *err, const char *body,
			       size_t len);
/* Frees the object containing op (cancel/destroy path; no callback). */
typedef void (*aws_op_free_fn)(struct aws_op *op);

struct aws_op {
	struct aws *aws;
	enum aws_service svc;
	void *user_arg;
	aws_op_resp_fn on_resp;
	aws_op_free_fn free_fn;
	bool internal; /* a credential fetch: not cancellable by arg, not counted as a call */

	/* the request (re-signed on each attempt) */
	char *target; /* X-Amz-Target, NULL for query/ec2 */
	char *body;
	size_t body_len;
	const struct aws_creds *creds; /* signing override (AssumeRole source), borrowed */
	bool unsigned_req;             /* AssumeRoleWithWebIdentity */

	/* state */
	int attempt;
	unsigned retry_cost;
	bool refreshed;
	uint64_t cred_gen; /* generation of the credentials it was signed with */
	bool waiting_creds;
	bool linked_out;
	bool too_big;
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf resp;
	struct loop_timer *timer;
	char request_id[80];
	char errtype[64];
	char curl_err[CURL_ERROR_SIZE];
	uint64_t started_ms;
	struct aws_op *prev, *next;
};

struct cred_provider;
struct cred_state;

/* Test seam: when set, each attempt's finished request (URL, headers with
 * Authorization, body) goes here instead of onto the network, and the
 * attempt fails with BOT_ENET. */
typedef void (*aws_capture_fn)(void *arg, enum aws_service svc, const char *url,
			       const struct curl_slist *hdrs, const char *body, size_t len);

struct aws {
	struct loop *loop;
	const struct cfg *cfg;
	char *region;
	char *ca_bundle; /* AWS_CA_BUNDLE or the profile's ca_bundle; NULL: system CAs */
	char *endpoint[AWS_SERVICE_COUNT];
	char *host[AWS_SERVICE_COUNT];
	char *path[AWS_SERVICE_COUNT];
	aws_clock_fn clock_fn;
	void *clock_arg;
	struct aws_tuning tuning;
	unsigned quota;
	struct aws_metrics metrics;
	struct aws_op *ops;
	bool destroying;
	struct cred_state *cred; /* NULL for a client using cred_owner's */
	aws_capture_fn capture;
	void *capture_arg;
	const struct fence *fence; /* the root's; NULL: always open (aws_set_fence) */

	/* aws_for: a derived client has its root; its credentials are its own
	 * (a role's first client, in the root's region) or cred_owner's (the
	 * root, or its role's first client). The root owns every derived one,
	 * in creation order (a role's owner before its other regions). */
	struct aws *root;       /* NULL for a root */
	struct aws *cred_owner; /* NULL: cred is its own */
	char *role_arn, *external_id;
	struct aws **derived;
	size_t n_derived, cap_derived;
};

int64_t aws_now(const struct aws *aws);
const char *aws_service_version(enum aws_service svc);
/* Copies a response header's value (n bytes at v) into dst, trimmed. */
void aws_header_value(char *dst, size_t dstlen, const char *v, size_t n);
/* The JSON protocols' X-Amz-Target prefix, NULL for the query ones. */
const char *aws_service_target(enum aws_service svc);

/* Links op into aws (in flight). */
void aws_op_init(struct aws_op *op, struct aws *aws, enum aws_service svc, void *user_arg,
		 aws_op_resp_fn on_resp, aws_op_free_fn free_fn);
/* Starts a request with body (taken; NULL means allocation failed and
 * returns BOT_ENOMEM). The first attempt runs from a loop timer. */
enum bot_rc aws_op_send(struct aws_op *op, char *body);
/* Sets the JSON X-Amz-Target "<prefix>.<operation>". */
enum bot_rc aws_op_set_target(struct aws_op *op, const char *operation);
/* "Action=A&Version=V&form" as a new string in *out. b (may be NULL) is the
 * form buffer whose oom flag is carried over. */
enum bot_rc aws_op_query_body(struct buf *b, enum aws_service svc, const char *action,
			      const char *form, char **out);
/* Unlinks op and counts the call; the caller then runs the user callback
 * and frees op. */
void aws_op_finish(struct aws_op *op, const struct aws_err *err);
/* Cancels op's pending work, unlinks it and calls its free_fn. */
void aws_op_abort(struct aws_op *op);
/* Frees what aws_op owns (body, target, transfer); for free_fn. */
void aws_op_release(struct aws_op *op);
/* Appends the request headers of one attempt (Host, Content-Type,
 * X-Amz-Date, X-Amz-Security-Token, X-Amz-Target, Authorization) to *hdrs,
 * signed at Unix time now with creds (NULL: unsigned). When sig is not NULL
 * it receives the signer's output (caller frees with sigv4_out_free). */
struct sigv4_out;
enum bot_rc aws_sign_request(const struct aws *aws, enum aws_service svc, const char *target,
			     const char *body, size_t body_len, const struct aws_creds *creds,
			     int64_t now, struct curl_slist **hdrs, struct sigv4_out *sig);
void aws_err_set(struct aws_err *err, enum bot_rc rc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- credentials (creds.c) ---- */
enum aws_creds_status { AWS_CREDS_READY, AWS_CREDS_WAIT, AWS_CREDS_FAILED };
/* Resolves the chain's configuration (files and environment; no network)
 * and the region. */
enum bot_rc aws_creds_init(struct aws *aws, char *err, size_t errlen);
void aws_creds_cleanup(struct aws *aws);
/* READY with *out borrowed until the next call into the loop; WAIT when a
 * fetch is under way (aws_ops_creds_ready is called when it ends); FAILED
 * with why. Starts a background refresh 15 minutes before expiry. */
enum aws_creds_status aws_creds_get(struct aws *aws, const struct aws_creds **out, char *why,
				    size_t whylen);
/* The generation of the credentials aws_creds_get hands out now (it grows
 * with every load). */
uint64_t aws_creds_gen(struct aws *aws);
/* Drops refreshable credentials of generation gen so the next call fetches
 * new ones (when newer ones were loaded meanwhile, nothing is dropped: a
 * hundred calls refused with the old ones make one refresh); false for
 * static credentials (nothing to refresh). */
bool aws_creds_invalidate(struct aws *aws, uint64_t gen);
/* The credential state of a derived client of role_arn (aws->root set):
 * AssumeRole signed by the root's chain. */
enum bot_rc aws_creds_init_role(struct aws *aws, const char *role_arn, const char *external_id,
				char *err, size_t errlen);
/* Wakes the operations waiting for credentials (creds.c calls it). */
void aws_ops_creds_ready(struct aws *aws);

#endif
