/* The AWS client core: endpoints, the life of one logical call (struct
 * aws_op) through signing, curl transfers on the event loop, error decoding
 * and the standard retry mode (full-jitter backoff on loop timers, a retry
 * quota), and the counters behind /metrics. The typed calls (cfn.c, ecr.c,
 * ec2.c, sts.c) and the credential chain (creds.c) are built on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bot/core/fence.h"
#include "../bot/core/log.h"
#include "../bot/core/rand.h"
#include "aws_core.h"
#include "envbot_version.h"
#include "sigv4.h"

#define USER_AGENT         "envbot/" ENVBOT_VERSION
#define QUOTA_MAX          500
#define RETRY_COST         5
#define RETRY_COST_TIMEOUT 10

static const struct {
	const char *name;    /* signing name */
	const char *version; /* query API version */
	const char *target;  /* JSON X-Amz-Target prefix */
} svc_info[AWS_SERVICE_COUNT] = {
	[AWS_CFN] = { "cloudformation", "2010-05-15", NULL },
	[AWS_ECR] = { "ecr", NULL, "AmazonEC2ContainerRegistry_V20150921" },
	[AWS_EC2] = { "ec2", "2016-11-15", NULL },
	[AWS_STS] = { "sts", "2011-06-15", NULL },
	[AWS_ASG] = { "autoscaling", "2011-01-01", NULL },
	[AWS_ECS] = { "ecs", NULL, "AmazonEC2ContainerServiceV20141113" },
	[AWS_APPAS] = { "application-autoscaling", NULL, "AnyScaleFrontendService" },
	[AWS_RDS] = { "rds", "2014-10-31", NULL },
	[AWS_DDB] = { "dynamodb", NULL, "DynamoDB_20120810" },
	[AWS_SNS] = { "sns", "2010-03-31", NULL },
	[AWS_EVENTS] = { "events", NULL, "AWSEvents" },
	[AWS_CE] = { "ce", NULL, "AWSInsightsIndexService" },
};

const char *aws_service_name(enum aws_service svc)
{
	return (unsigned)svc < AWS_SERVICE_COUNT ? svc_info[svc].name : "?";
}

const char *aws_service_target(enum aws_service svc)
{
	return (unsigned)svc < AWS_SERVICE_COUNT ? svc_info[svc].target : NULL;
}

const char *aws_service_version(enum aws_service svc)
{
	return (unsigned)svc < AWS_SERVICE_COUNT ? svc_info[svc].version : NULL;
}

static int64_t default_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

int64_t aws_now(const struct aws *aws)
{
	return aws->clock_fn(aws->clock_arg);
}

/* Splits an endpoint URL into the Host header value (port only when not the
 * scheme's default) and the path to sign. */
static int split_endpoint(const char *url, char **host_out, char **path_out)
{
	int rc = -1;
	char *host = NULL, *port = NULL, *scheme = NULL, *path = NULL;
	CURLU *u = curl_url();
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	struct buf b = { 0 };
	buf_adds(&b, host);
	if (port && !((strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
		      (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0)))
		buf_addf(&b, ":%s", port);
	*host_out = buf_take(&b);
	struct buf p = { 0 };
	buf_adds(&p, path);
	if (!p.len || p.p[p.len - 1] != '/')
		buf_add(&p, "/", 1);
	*path_out = buf_take(&p);
	rc = (*host_out && *path_out) ? 0 : -1;
out:
	curl_free(host);
	curl_free(port);
	curl_free(scheme);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* Every service's endpoint for aws->region. */
static int set_endpoints(struct aws *aws, char *err, size_t errlen)
{
	const struct cfg *cfg = aws->cfg;
	for (int s = 0; s < AWS_SERVICE_COUNT; s++) {
		aws->endpoint[s] =
			aws_resolve_endpoint((enum aws_service)s, aws->region,
					     cfg ? cfg->endpoint_url : NULL, err, errlen);
		if (!aws->endpoint[s])
			return -1;
		if (split_endpoint(aws->endpoint[s], &aws->host[s], &aws->path[s]) != 0) {
			snprintf(err, errlen, "cannot parse endpoint URL \"%s\"", aws->endpoint[s]);
			return -1;
		}
	}
	return 0;
}

struct aws *aws_create(struct loop *loop, const struct cfg *cfg, char *err, size_t errlen)
{
	struct aws *aws = calloc(1, sizeof(*aws));
	if (!aws) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	aws->loop = loop;
	aws->cfg = cfg;
	aws->clock_fn = default_clock;
	aws->tuning = (struct aws_tuning){
		.max_attempts = 3,
		.backoff_scale = 1.0,
		.max_body = (size_t)16 << 20,
		.timeout_ms = 30000,
		.connect_timeout_ms = 5000,
		.retry_quota = QUOTA_MAX,
	};
	aws->quota = QUOTA_MAX;

	if (aws_creds_init(aws, err, errlen) != BOT_OK)
		goto fail;
	if (!aws->region[0]) {
		snprintf(err, errlen,
			 "no AWS region: set aws.region (or AWS_REGION, AWS_DEFAULT_REGION, the "
			 "profile's region)");
		goto fail;
	}
	if (set_endpoints(aws, err, errlen) != 0)
		goto fail;
	return aws;
fail:
	aws_destroy(aws);
	return NULL;
}

/* ---- derived clients: other regions, other accounts ---- */

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static struct aws *find_derived(struct aws *root, const char *region, const char *role,
				const char *external_id)
{
	for (size_t i = 0; i < root->n_derived; i++) {
		struct aws *d = root->derived[i];
		if (strcmp(d->region, region) == 0 && same(d->role_arn, role) &&
		    same(d->external_id, external_id))
			return d;
	}
	return NULL;
}

/* A new client of root for region and role (NULL: root's credentials),
 * using owner's credentials (NULL: its own, from assuming role). */
static struct aws *derive(struct aws *root, const char *region, const char *role,
			  const char *external_id, struct aws *owner, char *err, size_t errlen)
{
	if (root->n_derived == root->cap_derived) {
		size_t cap = root->cap_derived ? root->cap_derived * 2 : 8;
		struct aws **v = realloc(root->derived, cap * sizeof(*v));
		if (!v)
			goto oom;
		root->derived = v;
		root->cap_derived = cap;
	}
	struct aws *d = calloc(1, sizeof(*d));
	if (!d)
		goto oom;
	d->loop = root->loop;
	d->cfg = root->cfg;
	d->clock_fn = root->clock_fn;
	d->clock_arg = root->clock_arg;
	d->tuning = root->tuning;
	d->quota = root->tuning.retry_quota;
	d->capture = root->capture;
	d->capture_arg = root->capture_arg;
	d->root = root;
	d->cred_owner = owner;
	d->region = strdup(region);
	d->ca_bundle = root->ca_bundle ? strdup(root->ca_bundle) : NULL;
	d->role_arn = role ? strdup(role) : NULL;
	d->external_id = external_id ? strdup(external_id) : NULL;
	if (!d->region || (root->ca_bundle && !d->ca_bundle) || (role && !d->role_arn) ||
	    (external_id && !d->external_id)) {
		aws_destroy(d);
		goto oom;
	}
	if ((!owner && aws_creds_init_role(d, role, external_id, err, errlen) != BOT_OK) ||
	    set_endpoints(d, err, errlen) != 0) {
		aws_destroy(d);
		return NULL;
	}
	root->derived[root->n_derived++] = d;
	log_info("aws", "msg=\"client for another target\" region=%s role=%s", region,
		 role ? role : "-");
	return d;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

struct aws *aws_for(struct aws *aws, const struct aws_target *t, char *err, size_t errlen)
{
	struct aws *root = aws->root ? aws->root : aws;
	const char *region = t && t->region && *t->region ? t->region : root->region;
	const char *role = t && t->role_arn && *t->role_arn ? t->role_arn : NULL;
	const char *ext = role && t->external_id && *t->external_id ? t->external_id : NULL;
	if (!role && strcmp(region, root->region) == 0)
		return root;
	struct aws *d = find_derived(root, region, role, ext);
	if (d)
		return d;
	struct aws *owner = root;
	if (role) {
		/* the role's credentials live in its client of the root's region */
		owner = find_derived(root, root->region, role, ext);
		if (!owner)
			owner = derive(root, root->region, role, ext, NULL, err, errlen);
		if (!owner || strcmp(region, root->region) == 0)
			return owner;
	}
	return derive(root, region, role, ext, owner, err, errlen);
}

const char *aws_role(const struct aws *aws)
{
	return aws->role_arn ? aws->role_arn : "";
}

void aws_destroy(struct aws *aws)
{
	if (!aws)
		return;
	aws->destroying = true;
	/* newest first: a role's other regions before the client owning its
	 * credentials, all before the root their AssumeRole calls run on */
	while (aws->n_derived)
		aws_destroy(aws->derived[--aws->n_derived]);
	free(aws->derived);
	free(aws->role_arn);
	free(aws->external_id);
	while (aws->ops)
		aws_op_abort(aws->ops);
	aws_creds_cleanup(aws);
	for (int s = 0; s < AWS_SERVICE_COUNT; s++) {
		free(aws->endpoint[s]);
		free(aws->host[s]);
		free(aws->path[s]);
	}
	free(aws);
}

void aws_cancel(struct aws *aws, void *arg)
{
	struct aws_op *op = aws->ops;
	while (op) {
		struct aws_op *next = op->next;
		if (op->user_arg == arg && !op->internal)
			aws_op_abort(op);
		op = next;
	}
}

void aws_set_clock(struct aws *aws, aws_clock_fn fn, void *arg)
{
	aws->clock_fn = fn ? fn : default_clock;
	aws->clock_arg = arg;
	for (size_t i = 0; i < aws->n_derived; i++)
		aws_set_clock(aws->derived[i], fn, arg);
}

void aws_set_fence(struct aws *aws, const struct fence *fence)
{
	struct aws *root = aws->root ? aws->root : aws;
	root->fence = fence;
}

void aws_get_tuning(const struct aws *aws, struct aws_tuning *out)
{
	*out = aws->tuning;
}

void aws_set_tuning(struct aws *aws, const struct aws_tuning *tuning)
{
	aws->tuning = *tuning;
	if (aws->tuning.max_attempts < 1)
		aws->tuning.max_attempts = 1;
	if (aws->tuning.max_body < 1024)
		aws->tuning.max_body = 1024;
	aws->quota = aws->tuning.retry_quota;
	for (size_t i = 0; i < aws->n_derived; i++)
		aws_set_tuning(aws->derived[i], tuning);
}

/* The root's counters include its derived clients'. */
void aws_get_metrics(const struct aws *aws, struct aws_metrics *out)
{
	*out = aws->metrics;
	for (size_t i = 0; i < aws->n_derived; i++) {
		const struct aws_metrics *d = &aws->derived[i]->metrics;
		for (int s = 0; s < AWS_SERVICE_COUNT; s++) {
			out->calls[s] += d->calls[s];
			out->errors[s] += d->errors[s];
			out->requests[s] += d->requests[s];
			out->retries[s] += d->retries[s];
			out->throttles[s] += d->throttles[s];
			out->latency_ms_sum[s] += d->latency_ms_sum[s];
		}
		out->cred_refreshes += d->cred_refreshes;
		out->cred_errors += d->cred_errors;
		out->retry_quota_exhausted += d->retry_quota_exhausted;
		out->in_flight += d->in_flight;
	}
}

const char *aws_region(const struct aws *aws)
{
	return aws->region ? aws->region : "";
}

const char *aws_endpoint(const struct aws *aws, enum aws_service svc)
{
	return (unsigned)svc < AWS_SERVICE_COUNT ? aws->endpoint[svc] : "";
}

/* ---- one logical call ---- */

void aws_op_init(struct aws_op *op, struct aws *aws, enum aws_service svc, void *user_arg,
		 aws_op_resp_fn on_resp, aws_op_free_fn free_fn)
{
	op->aws = aws;
	op->svc = svc;
	op->user_arg = user_arg;
	op->on_resp = on_resp;
	op->free_fn = free_fn;
	op->started_ms = loop_now_ms();
	op->next = aws->ops;
	if (aws->ops)
		aws->ops->prev = op;
	aws->ops = op;
	aws->metrics.in_flight++;
}

static void op_unlink(struct aws_op *op)
{
	struct aws *aws = op->aws;
	if (!op->linked_out) {
		if (op->prev)
			op->prev->next = op->next;
		else
			aws->ops = op->next;
		if (op->next)
			op->next->prev = op->prev;
		op->prev = op->next = NULL;
		op->linked_out = true;
		aws->metrics.in_flight--;
	}
}

/* Stops whatever the op is waiting for (transfer, timer). */
static void op_quiesce(struct aws_op *op)
{
	if (op->easy) {
		loop_http_remove(op->aws->loop, op->easy);
		curl_easy_cleanup(op->easy);
		op->easy = NULL;
	}
	curl_slist_free_all(op->hdrs);
	op->hdrs = NULL;
	if (op->timer) {
		loop_timer_cancel(op->aws->loop, op->timer);
		op->timer = NULL;
	}
	buf_free(&op->resp);
	op->waiting_creds = false;
}

void aws_op_release(struct aws_op *op)
{
	op_quiesce(op);
	free(op->body);
	op->body = NULL;
	free(op->target);
	op->target = NULL;
}

void aws_op_abort(struct aws_op *op)
{
	op_quiesce(op);
	op_unlink(op);
	op->free_fn(op);
}

void aws_op_finish(struct aws_op *op, const struct aws_err *err)
{
	struct aws *aws = op->aws;
	op_quiesce(op);
	op_unlink(op);
	if (!op->internal) {
		aws->metrics.calls[op->svc]++;
		if (err->rc != BOT_OK)
			aws->metrics.errors[op->svc]++;
		aws->metrics.latency_ms_sum[op->svc] += loop_now_ms() - op->started_ms;
	}
}

const char *aws_err_str(const struct aws_err *err, char *buf, size_t len)
{
	if (!len)
		return buf;
	snprintf(buf, len, "%s%s%s%s%s%s", bot_strerror(err->rc), err->code[0] ? " (" : "",
		 err->code, err->code[0] ? ")" : "", err->message[0] ? ": " : "", err->message);
	return buf;
}

void aws_err_set(struct aws_err *err, enum bot_rc rc, const char *code, const char *fmt, ...)
{
	va_list ap;
	memset(err, 0, sizeof(*err));
	err->rc = rc;
	snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void attempt_timer(void *arg);

static enum bot_rc schedule_attempt(struct aws_op *op, uint64_t delay_ms)
{
	op->timer = loop_timer_add(op->aws->loop, delay_ms, attempt_timer, op);
	return op->timer ? BOT_OK : BOT_ENOMEM;
}

enum bot_rc aws_op_send(struct aws_op *op, char *body)
{
	free(op->body);
	op->body = body;
	op->body_len = body ? strlen(body) : 0;
	op->attempt = 0;
	op->retry_cost = 0;
	op->refreshed = false;
	if (!body)
		return BOT_ENOMEM;
	/* Always start from a timer: the callback never runs inside the call
	 * that started the operation. */
	return schedule_attempt(op, 0);
}

enum bot_rc aws_op_query_body(struct buf *b, enum aws_service svc, const char *action,
			      const char *form, char **out)
{
	struct buf q = { 0 };
	buf_addf(&q, "Action=%s&Version=%s", action, svc_info[svc].version);
	if (form && *form) {
		buf_add(&q, "&", 1);
		buf_adds(&q, form);
	}
	if (b && b->oom)
		q.oom = true;
	*out = buf_take(&q);
	return *out ? BOT_OK : BOT_ENOMEM;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct aws_op *op = arg;
	size_t n = size * nmemb;
	if (op->resp.len + n > op->aws->tuning.max_body) {
		op->too_big = true;
		return 0; /* aborts the transfer */
	}
	buf_add(&op->resp, data, n);
	return op->resp.oom ? 0 : n;
}

void aws_header_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct aws_op *op = arg;
	size_t n = size * nmemb;
	static const char rid1[] = "x-amzn-requestid:", rid2[] = "x-amz-request-id:",
			  etype[] = "x-amzn-errortype:";
	if (n > sizeof(rid1) - 1 && strncasecmp(data, rid1, sizeof(rid1) - 1) == 0)
		aws_header_value(op->request_id, sizeof(op->request_id), data + sizeof(rid1) - 1,
				 n - (sizeof(rid1) - 1));
	else if (n > sizeof(rid2) - 1 && strncasecmp(data, rid2, sizeof(rid2) - 1) == 0)
		aws_header_value(op->request_id, sizeof(op->request_id), data + sizeof(rid2) - 1,
				 n - (sizeof(rid2) - 1));
	else if (n > sizeof(etype) - 1 && strncasecmp(data, etype, sizeof(etype) - 1) == 0)
		aws_header_value(op->errtype, sizeof(op->errtype), data + sizeof(etype) - 1,
				 n - (sizeof(etype) - 1));
	return n;
}

static void on_done(void *arg, CURL *easy, CURLcode result);

/* Builds, signs and starts one HTTP attempt with creds. */
/* Appends "name: value" to *list; false on allocation failure. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct buf b = { 0 };
	buf_addf(&b, "%s: %s", name, value);
	char *s = buf_take(&b);
	struct curl_slist *l = s ? curl_slist_append(*list, s) : NULL;
	free(s);
	if (l)
		*list = l;
	return l != NULL;
}

enum bot_rc aws_sign_request(const struct aws *aws, enum aws_service svc, const char *target,
			     const char *body, size_t body_len, const struct aws_creds *creds,
			     int64_t now, struct curl_slist **hdrs, struct sigv4_out *sig_out)
{
	enum bot_rc rc = BOT_ENOMEM;
	struct sigv4_out sig = { 0 };
	char date[17];
	struct sigv4_header h[5];
	size_t nh = 0;
	const char *ctype = svc == AWS_DDB ? "application/x-amz-json-1.0"
			    : svc_info[svc].target
				    ? "application/x-amz-json-1.1"
				    : "application/x-www-form-urlencoded; charset=utf-8";

	sigv4_amz_date(now, date);
	h[nh++] = (struct sigv4_header){ "Host", aws->host[svc] };
	h[nh++] = (struct sigv4_header){ "Content-Type", ctype };
	h[nh++] = (struct sigv4_header){ "X-Amz-Date", date };
	if (creds && creds->token && *creds->token)
		h[nh++] = (struct sigv4_header){ "X-Amz-Security-Token", creds->token };
	if (target)
		h[nh++] = (struct sigv4_header){ "X-Amz-Target", target };
	for (size_t i = 0; i < nh; i++)
		if (!add_header(hdrs, h[i].name, h[i].value))
			goto out;
	if (creds) {
		struct sigv4_req req = {
			.method = "POST",
			.path = aws->path[svc],
			.query = "",
			.headers = h,
			.n_headers = nh,
			.body = body,
			.body_len = body_len,
			.region = aws->region,
			.service = svc_info[svc].name,
			.amz_date = date,
			.access_key = creds->access_key,
			.secret_key = creds->secret_key,
		};
		rc = sigv4_sign(&req, &sig);
		if (rc != BOT_OK)
			goto out;
		rc = BOT_ENOMEM;
		if (!add_header(hdrs, "Authorization", sig.authorization))
			goto out;
	}
	/* no "100-continue" round trip */
	struct curl_slist *l = curl_slist_append(*hdrs, "Expect:");
	if (!l)
		goto out;
	*hdrs = l;
	rc = BOT_OK;
	if (sig_out) {
		*sig_out = sig;
		memset(&sig, 0, sizeof(sig));
	}
out:
	sigv4_out_free(&sig);
	return rc;
}

/* Builds, signs and starts one HTTP attempt with creds (NULL: unsigned). */
static enum bot_rc send_attempt(struct aws_op *op, const struct aws_creds *creds)
{
	struct aws *aws = op->aws;
	enum bot_rc rc = BOT_ENOMEM;

	op->easy = curl_easy_init();
	if (!op->easy)
		goto out;
	rc = aws_sign_request(aws, op->svc, op->target, op->body, op->body_len, creds, aws_now(aws),
			      &op->hdrs, NULL);
	if (rc != BOT_OK)
		goto out;
	rc = BOT_ENOMEM;

	char url[1024];
	snprintf(url, sizeof(url), "%s/", aws->endpoint[op->svc]);
	if (aws->capture) {
		/* test seam: hand over the finished request instead of sending it */
		aws->capture(aws->capture_arg, op->svc, url, op->hdrs, op->body, op->body_len);
		op->attempt++;
		rc = BOT_ECANCELLED;
		goto out;
	}
	buf_free(&op->resp);
	op->too_big = false;
	op->request_id[0] = op->errtype[0] = op->curl_err[0] = '\0';
	CURL *e = op->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, op->hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, op->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)op->body_len);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, op);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, op);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, op->curl_err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, aws->tuning.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, aws->tuning.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (aws->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, aws->ca_bundle);
	/* TLS verification stays at curl's default (on); plain http is only
	 * possible for loopback endpoints (aws_resolve_endpoint). */
	if (loop_http_add(aws->loop, e, on_done, op) != 0)
		goto out;
	op->attempt++;
	aws->metrics.requests[op->svc]++;
	if (op->attempt > 1)
		aws->metrics.retries[op->svc]++;
	rc = BOT_OK;
out:
	if (rc != BOT_OK) {
		if (op->easy)
			curl_easy_cleanup(op->easy);
		op->easy = NULL;
		curl_slist_free_all(op->hdrs);
		op->hdrs = NULL;
	}
	return rc;
}

static void fail_now(struct aws_op *op, enum bot_rc rc, const char *code, const char *msg)
{
	struct aws_err err;
	aws_err_set(&err, rc, code, "%s", msg);
	err.attempts = op->attempt;
	op->on_resp(op, &err, NULL, 0);
}

/* Runs the next attempt once credentials allow it. */
static void attempt_now(struct aws_op *op)
{
	const struct aws_creds *creds = NULL;
	char why[256];
	const struct aws *root = op->aws->root ? op->aws->root : op->aws;
	if (!op->unsigned_req && !fence_ok(root->fence)) {
		fail_now(op, BOT_ECANCELLED, "NotActive",
			 "not sent: this replica is not the active one");
		return;
	}
	if (op->unsigned_req) {
		creds = NULL;
	} else if (op->creds) {
		creds = op->creds;
	} else {
		switch (aws_creds_get(op->aws, &creds, why, sizeof(why))) {
		case AWS_CREDS_READY: op->cred_gen = aws_creds_gen(op->aws); break;
		case AWS_CREDS_WAIT: op->waiting_creds = true; return;
		case AWS_CREDS_FAILED: fail_now(op, BOT_EAUTH, "NoCredentials", why); return;
		}
	}
	enum bot_rc rc = send_attempt(op, creds);
	if (rc == BOT_ECANCELLED)
		fail_now(op, BOT_ENET, "", "request captured, not sent");
	else if (rc != BOT_OK)
		fail_now(op, rc, "",
			 rc == BOT_EINVAL ? "cannot sign the request (bad credentials?)"
					  : "cannot start the request");
}

static void attempt_timer(void *arg)
{
	struct aws_op *op = arg;
	op->timer = NULL;
	attempt_now(op);
}

static void wake_waiting(struct aws *aws)
{
	for (struct aws_op *op = aws->ops; op; op = op->next) {
		if (op->waiting_creds && !op->timer) {
			op->waiting_creds = false;
			if (schedule_attempt(op, 0) != BOT_OK)
				op->waiting_creds = true; /* picked up by the next refresh */
		}
	}
}

void aws_ops_creds_ready(struct aws *aws)
{
	wake_waiting(aws);
	/* the clients of other regions sharing these credentials */
	struct aws *root = aws->root ? aws->root : aws;
	for (size_t i = 0; i < root->n_derived; i++)
		if (root->derived[i]->cred_owner == aws)
			wake_waiting(root->derived[i]);
}

/* Decides whether to retry; schedules it and returns true if so. */
static bool maybe_retry(struct aws_op *op, bool timeout)
{
	struct aws *aws = op->aws;
	if (op->attempt >= aws->tuning.max_attempts)
		return false;
	unsigned cost = timeout ? RETRY_COST_TIMEOUT : RETRY_COST;
	if (aws->quota < cost) {
		aws->metrics.retry_quota_exhausted++;
		return false;
	}
	uint64_t delay = aws_backoff_ms(op->attempt, rand_unit(), aws->tuning.backoff_scale);
	if (schedule_attempt(op, delay) != BOT_OK)
		return false;
	aws->quota -= cost;
	op->retry_cost = cost;
	log_debug("aws", "msg=\"retrying\" service=%s attempt=%d delay_ms=%llu",
		  svc_info[op->svc].name, op->attempt + 1, (unsigned long long)delay);
	return true;
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct aws_op *op = arg;
	struct aws *aws = op->aws;
	struct aws_err err;
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	op->easy = NULL;
	curl_slist_free_all(op->hdrs);
	op->hdrs = NULL;
	memset(&err, 0, sizeof(err));
	err.http_status = (int)status;
	err.attempts = op->attempt;
	snprintf(err.request_id, sizeof(err.request_id), "%s", op->request_id);

	if (op->too_big || op->resp.oom) {
		aws_err_set(&err, BOT_EPARSE, "", "%s: response larger than %zu bytes",
			    svc_info[op->svc].name, aws->tuning.max_body);
		err.http_status = (int)status;
		err.attempts = op->attempt;
		buf_free(&op->resp);
		op->on_resp(op, &err, NULL, 0);
		return;
	}
	if (result != CURLE_OK) {
		bool timeout = result == CURLE_OPERATION_TIMEDOUT;
		if (maybe_retry(op, timeout))
			return;
		aws_err_set(&err, BOT_ENET, "", "%s: %s", svc_info[op->svc].name,
			    op->curl_err[0] ? op->curl_err : curl_easy_strerror(result));
		err.attempts = op->attempt;
		buf_free(&op->resp);
		op->on_resp(op, &err, NULL, 0);
		return;
	}
	if (status >= 200 && status < 300) {
		/* success refunds the retry it cost, or adds a token */
		unsigned refund = op->retry_cost ? op->retry_cost : 1;
		aws->quota = aws->quota + refund > aws->tuning.retry_quota ? aws->tuning.retry_quota
									   : aws->quota + refund;
		struct buf resp = op->resp; /* op may be freed or reused by on_resp */
		memset(&op->resp, 0, sizeof(op->resp));
		op->on_resp(op, &err, resp.p ? resp.p : "", resp.len);
		buf_free(&resp);
		return;
	}

	struct aws_class cls;
	aws_parse_error(op->resp.p, op->resp.len, op->errtype[0] ? op->errtype : NULL, err.code,
			sizeof(err.code), err.message, sizeof(err.message));
	aws_classify((int)status, err.code, &cls);
	if (cls.throttle)
		aws->metrics.throttles[op->svc]++;
	buf_free(&op->resp);
	/* Expired temporary credentials: refresh once and try again; the
	 * attempt does not count against the retry budget. */
	if (cls.rc == BOT_EAUTH && !op->refreshed && !op->creds && !op->unsigned_req &&
	    (strcmp(err.code, "ExpiredToken") == 0 ||
	     strcmp(err.code, "ExpiredTokenException") == 0) &&
	    aws_creds_invalidate(aws, op->cred_gen)) {
		op->refreshed = true;
		op->attempt--;
		if (schedule_attempt(op, 0) == BOT_OK)
			return;
		op->attempt++;
	}
	if (cls.retry && maybe_retry(op, false))
		return;
	err.rc = cls.rc;
	if (!err.message[0])
		snprintf(err.message, sizeof(err.message), "HTTP %ld%s%s", status,
			 err.code[0] ? " " : "", err.code);
	if (err.rc == BOT_EAUTH)
		log_warn("aws", "msg=\"credentials refused\" service=%s code=%s",
			 svc_info[op->svc].name, err.code);
	op->on_resp(op, &err, NULL, 0);
}

/* ---- generic calls ---- */

struct raw_op {
	struct aws_op op;
	aws_raw_fn cb;
};

static void raw_free(struct aws_op *op)
{
	aws_op_release(op);
	free(op);
}

static void raw_resp(struct aws_op *op, const struct aws_err *err, const char *body, size_t len)
{
	struct raw_op *r = (struct raw_op *)op;
	aws_op_finish(op, err);
	r->cb(op->user_arg, err, err->rc == BOT_OK ? body : NULL, err->rc == BOT_OK ? len : 0);
	raw_free(op);
}

enum bot_rc aws_call_query(struct aws *aws, enum aws_service svc, const char *action,
			   const char *form, aws_raw_fn cb, void *arg)
{
	if ((unsigned)svc >= AWS_SERVICE_COUNT || !svc_info[svc].version || !action || !cb)
		return BOT_EINVAL;
	struct raw_op *r = calloc(1, sizeof(*r));
	if (!r)
		return BOT_ENOMEM;
	r->cb = cb;
	aws_op_init(&r->op, aws, svc, arg, raw_resp, raw_free);
	char *body = NULL;
	enum bot_rc rc = aws_op_query_body(NULL, svc, action, form, &body);
	if (rc == BOT_OK)
		rc = aws_op_send(&r->op, body);
	if (rc != BOT_OK)
		aws_op_abort(&r->op);
	return rc;
}

enum bot_rc aws_op_set_target(struct aws_op *op, const char *operation)
{
	struct buf b = { 0 };
	buf_addf(&b, "%s.%s", svc_info[op->svc].target, operation);
	free(op->target);
	op->target = buf_take(&b);
	return op->target ? BOT_OK : BOT_ENOMEM;
}

enum bot_rc aws_call_json(struct aws *aws, enum aws_service svc, const char *operation,
			  const char *json, aws_raw_fn cb, void *arg)
{
	if ((unsigned)svc >= AWS_SERVICE_COUNT || !svc_info[svc].target || !operation || !cb)
		return BOT_EINVAL;
	struct raw_op *r = calloc(1, sizeof(*r));
	if (!r)
		return BOT_ENOMEM;
	r->cb = cb;
	aws_op_init(&r->op, aws, svc, arg, raw_resp, raw_free);
	enum bot_rc rc = aws_op_set_target(&r->op, operation);
	if (rc == BOT_OK)
		rc = aws_op_send(&r->op, strdup(json ? json : "{}"));
	if (rc != BOT_OK)
		aws_op_abort(&r->op);
	return rc;
}
