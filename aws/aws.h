/* The AWS client core: one struct aws per process, bound to the event loop.
 * It resolves credentials (standard chain), endpoints (regional, or the
 * AWS_ENDPOINT_URL* overrides), signs every attempt with SigV4 (aws/sigv4.h),
 * retries in "standard" mode on loop timers and hands results to callbacks on
 * the loop thread. The typed calls live in cfn.h, ecr.h, ec2.h and sts.h.
 *
 * Calling convention of every asynchronous call (aws_*, cfn_*, ecr_*, ec2_*,
 * sts_*): it returns BOT_OK when the call was started, and then its callback
 * runs exactly once on the loop thread (unless aws_cancel()/aws_destroy() came
 * first). Any other return means the callback will NOT run. Request arguments
 * are copied before the call returns. Results and the struct aws_err are
 * borrowed: valid only until the callback returns. */
#ifndef ENVBOT_AWS_H
#define ENVBOT_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bot/core/loop.h"
#include "../bot/core/rc.h"
#include "../config/config.h"

struct aws;

enum aws_service {
	AWS_CFN = 0, /* cloudformation (query protocol, XML) */
	AWS_ECR,     /* ecr (JSON 1.1), host api.ecr.REGION.amazonaws.com */
	AWS_EC2,     /* ec2 (ec2 protocol, XML) */
	AWS_STS,     /* sts (query protocol, XML) */
	AWS_ASG,     /* autoscaling (query protocol, XML) */
	AWS_ECS,     /* ecs (JSON 1.1) */
	AWS_APPAS,   /* application-autoscaling (JSON 1.1) */
	AWS_RDS,     /* rds (query protocol, XML): RDS, Aurora, DocumentDB, Neptune */
	AWS_DDB,     /* dynamodb (JSON 1.0): the replicated state and the leader lease */
	AWS_SNS,     /* sns (query protocol, XML): events out */
	AWS_EVENTS,  /* events (JSON 1.1): EventBridge, events out */
	AWS_CE,      /* ce (JSON 1.1): Cost Explorer, the weekly report (us-east-1) */
	AWS_SERVICE_COUNT
};

/* How a call ended. rc is BOT_OK on success; else:
 *   BOT_EAUTH      credentials refused (InvalidClientTokenId,
 *                  SignatureDoesNotMatch, ExpiredToken, AuthFailure, ...) or
 *                  no credentials could be resolved; never retried
 *   BOT_ENOTFOUND  the named resource does not exist (stack, repository)
 *   BOT_ETHROTTLED throttled on every attempt
 *   BOT_ESERVER    5xx on every attempt
 *   BOT_ENET       connection/TLS/timeout on every attempt
 *   BOT_EREMOTE    any other API error (code + message tell which)
 *   BOT_EPARSE     the response could not be decoded (truncated, too big,
 *                  wrong types)
 * code and message are always NUL-terminated strings (possibly empty). */
struct aws_err {
	enum bot_rc rc;
	int http_status;     /* last HTTP status, 0 if no response */
	int attempts;        /* HTTP attempts made */
	char code[64];       /* AWS error code, e.g. "ValidationError" */
	char message[512];   /* the service's message, or ours */
	char request_id[80]; /* x-amzn-RequestId when present */
};

/* One line for humans (logs, embeds, CLI): "authentication refused
 * (SignatureDoesNotMatch): The request signature ..." Writes into buf and
 * returns it. */
const char *aws_err_str(const struct aws_err *err, char *buf, size_t len);

/* Counters for /metrics and benchmarks; monotonic since aws_create. */
struct aws_metrics {
	uint64_t calls[AWS_SERVICE_COUNT];          /* logical calls finished (one per callback) */
	uint64_t errors[AWS_SERVICE_COUNT];         /* of which ended with rc != BOT_OK */
	uint64_t requests[AWS_SERVICE_COUNT];       /* HTTP attempts, pages included */
	uint64_t retries[AWS_SERVICE_COUNT];        /* attempts after the first */
	uint64_t throttles[AWS_SERVICE_COUNT];      /* throttling responses seen */
	uint64_t latency_ms_sum[AWS_SERVICE_COUNT]; /* per logical call, summed */
	uint64_t cred_refreshes;                    /* successful credential (re)loads */
	uint64_t cred_errors;                       /* failed ones */
	uint64_t retry_quota_exhausted;             /* retries refused by the retry quota */
	int in_flight;                              /* logical calls not yet finished */
};

/* A resource's tag as the describe calls return it. */
struct aws_tag {
	const char *key;
	const char *value;
};

/* Returns the current wall-clock time in Unix seconds (the signer's clock). */
typedef int64_t (*aws_clock_fn)(void *arg);

/* Knobs for tests and benchmarks; aws_create sets the defaults shown. */
struct aws_tuning {
	int max_attempts;        /* 3 (standard retry mode) */
	double backoff_scale;    /* 1.0: delay = rand * min(2^n, 20) s * scale */
	size_t max_body;         /* 16 MiB: larger responses fail with BOT_EPARSE */
	long timeout_ms;         /* 30000 per HTTP attempt */
	long connect_timeout_ms; /* 5000 */
	unsigned retry_quota;    /* 500 tokens; a retry costs 5 (timeout 10) */
};

/* Builds a client for cfg's region/endpoint/profile. Credentials are resolved
 * from the standard chain: environment, AWS_PROFILE / aws.profile in
 * ~/.aws/credentials and ~/.aws/config (static keys, role_arn +
 * source_profile via STS AssumeRole, credential_process), web identity token
 * file, ECS container credentials, EC2 IMDSv2. Network sources are fetched
 * asynchronously on the loop; calls made meanwhile wait for them.
 * cfg is borrowed for the lifetime of the client (the config module's
 * struct outlives it; on SIGHUP the owner destroys and re-creates).
 * Returns NULL with a reason in err on failure (bad region, endpoint not
 * https and not loopback, ...). */
struct aws *aws_create(struct loop *loop, const struct cfg *cfg, char *err, size_t errlen);
/* Accepts NULL. Cancels every call in flight (the derived clients' too, which
 * it frees); no callback runs. Only for a client from aws_create. */
void aws_destroy(struct aws *aws);

/* Where calls go when an environment says so: another region and/or
 * another account through an IAM role. NULL or "" fields: the daemon's. */
struct aws_target {
	const char *region;
	const char *role_arn;    /* assumed with STS AssumeRole */
	const char *external_id; /* sent with it, may be NULL */
};
/* The client for t, derived from aws (any client: its root is used). Made
 * on first use and owned by the root (freed by aws_destroy of the root,
 * never by the caller); the same target gives the same client. It shares
 * the root's loop, tuning, clock and endpoint settings. The credentials of
 * one role (role + external id) are one cache for all its regions: one
 * AssumeRole signed with the root's credentials, refreshed 15 minutes
 * before they expire, one refresh at a time; calls meanwhile wait or use
 * the current ones. A refused AssumeRole fails the calls with BOT_EAUTH and
 * "STS AssumeRole for ROLE: CODE: message". Returns the root itself when t
 * asks for nothing different; NULL with err on failure. */
struct aws *aws_for(struct aws *aws, const struct aws_target *t, char *err, size_t errlen);
/* The role a client's calls run as, "" for the daemon's own credentials
 * (borrowed). */
const char *aws_role(const struct aws *aws);

/* Cancels every pending call that was started with this arg; their callbacks
 * will not run. For owners (workflows) that are about to be freed. */
void aws_cancel(struct aws *aws, void *arg);

void aws_set_clock(struct aws *aws, aws_clock_fn fn, void *arg);
/* Every attempt of every call (the derived clients' too) first asks fence
 * (bot/core/fence.h; borrowed, NULL: none): a closed fence fails the call
 * with BOT_ECANCELLED, code "NotActive", and nothing is sent. Credential
 * fetches are not fenced (they change nothing). */
struct fence;
void aws_set_fence(struct aws *aws, const struct fence *fence);
void aws_get_tuning(const struct aws *aws, struct aws_tuning *out);
void aws_set_tuning(struct aws *aws, const struct aws_tuning *tuning);
void aws_get_metrics(const struct aws *aws, struct aws_metrics *out);

/* "cloudformation", "ecr", "ec2", "sts", "autoscaling", "ecs",
 * "application-autoscaling", "rds" (the signing names). */
const char *aws_service_name(enum aws_service svc);
/* The region in use (borrowed). */
const char *aws_region(const struct aws *aws);
/* The endpoint URL used for svc, e.g. "https://api.ecr.eu-west-1.amazonaws.com"
 * (borrowed, valid until aws_destroy). */
const char *aws_endpoint(const struct aws *aws, enum aws_service svc);
/* Which source of the chain supplies credentials: "env", "profile:NAME"
 * (static keys, role_arn or web identity of that profile), "process",
 * "web-identity", "ecs", "imds", or "none" (borrowed). */
const char *aws_credentials_source(const struct aws *aws);

/* Generic calls, for services or actions without a typed wrapper (doctor's
 * permission probes). body is the response body (not NUL-terminated, len
 * bytes), NULL on error. */
typedef void (*aws_raw_fn)(void *arg, const struct aws_err *err, const char *body, size_t len);
/* Query/ec2 protocol: form is the url-encoded parameters after Action and
 * Version (may be "" or NULL), e.g. "StackName=x". */
enum bot_rc aws_call_query(struct aws *aws, enum aws_service svc, const char *action,
			   const char *form, aws_raw_fn cb, void *arg);
/* JSON 1.1 protocol: target is the X-Amz-Target operation (without the
 * service prefix, e.g. "DescribeRepositories"); json the request document. */
enum bot_rc aws_call_json(struct aws *aws, enum aws_service svc, const char *operation,
			  const char *json, aws_raw_fn cb, void *arg);

/* The same JSON call, blocking the calling thread until it ends (attempts,
 * retries and backoff included, each attempt at most timeout_ms): for the
 * state writes of a replicated daemon, which like the state file's fsync
 * must be done before the caller acknowledges anything. Uses the
 * credentials the client holds now: when none are resolved yet it fails
 * (BOT_EAUTH, "NoCredentials") instead of waiting. Fenced like the
 * asynchronous calls. On BOT_OK *body (NUL-terminated, caller frees) and
 * *len hold the response; on error *body is NULL and err says why. */
enum bot_rc aws_call_json_sync(struct aws *aws, enum aws_service svc, const char *operation,
			       const char *json, long timeout_ms, struct aws_err *err, char **body,
			       size_t *len);

#include "cfn.h"
#include "ec2.h"
#include "ecr.h"
#include "sts.h"

#endif
