/* aws_call_json_sync (aws.h): one JSON call that blocks its thread, for the
 * replicated state's writes. It shares the asynchronous calls' signing,
 * error decoding, retry classification and counters; only the transfer
 * (curl_easy_perform) and the waits between attempts (nanosleep, capped at
 * SYNC_BACKOFF_CAP_MS so that a throttled write holds the loop for
 * seconds, not the 20 s the asynchronous backoff allows) differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../bot/core/buf.h"
#include "../bot/core/fence.h"
#include "../bot/core/log.h"
#include "../bot/core/loop.h"
#include "../bot/core/rand.h"
#include "aws_core.h"
#include "aws_internal.h"
#include "envbot_version.h"

#define SYNC_BACKOFF_CAP_MS 1000u

struct sync_resp {
	struct buf body;
	size_t max;
	bool too_big;
	char errtype[128];
	char request_id[80];
};

static size_t sync_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sync_resp *r = arg;
	size_t n = size * nmemb;
	if (r->body.len + n > r->max) {
		r->too_big = true;
		return 0;
	}
	buf_add(&r->body, data, n);
	return r->body.oom ? 0 : n;
}

static size_t sync_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sync_resp *r = arg;
	size_t n = size * nmemb;
	static const char rid[] = "x-amzn-requestid:", etype[] = "x-amzn-errortype:";
	if (n > sizeof(rid) - 1 && strncasecmp(data, rid, sizeof(rid) - 1) == 0)
		aws_header_value(r->request_id, sizeof(r->request_id), data + sizeof(rid) - 1,
				 n - (sizeof(rid) - 1));
	else if (n > sizeof(etype) - 1 && strncasecmp(data, etype, sizeof(etype) - 1) == 0)
		aws_header_value(r->errtype, sizeof(r->errtype), data + sizeof(etype) - 1,
				 n - (sizeof(etype) - 1));
	return n;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One attempt: *status and r filled; returns the curl result. */
static CURLcode sync_attempt(struct aws *aws, enum aws_service svc, const char *target,
			     const char *json, size_t json_len, const struct aws_creds *creds,
			     long timeout_ms, long *status, struct sync_resp *r, char *curl_err)
{
	struct curl_slist *hdrs = NULL;
	CURLcode res = CURLE_OUT_OF_MEMORY;
	CURL *e = curl_easy_init();
	if (!e)
		return res;
	if (aws_sign_request(aws, svc, target, json, json_len, creds, aws_now(aws), &hdrs, NULL) !=
	    BOT_OK)
		goto out;
	char url[1024];
	snprintf(url, sizeof(url), "%s/", aws->endpoint[svc]);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)json_len);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "envbot/" ENVBOT_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sync_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, sync_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 aws->tuning.connect_timeout_ms < timeout_ms
				 ? aws->tuning.connect_timeout_ms
				 : timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (aws->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, aws->ca_bundle);
	/* TLS verification stays at curl's default (on), as in aws.c. */
	res = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return res;
}

enum bot_rc aws_call_json_sync(struct aws *aws, enum aws_service svc, const char *operation,
			       const char *json, long timeout_ms, struct aws_err *err, char **body,
			       size_t *len)
{
	const struct aws *root = aws->root ? aws->root : aws;
	const char *prefix = aws_service_target(svc);
	char target[160];
	*body = NULL;
	*len = 0;
	memset(err, 0, sizeof(*err));
	if (!prefix) {
		aws_err_set(err, BOT_EINVAL, "", "%s is not a JSON service", aws_service_name(svc));
		return err->rc;
	}
	snprintf(target, sizeof(target), "%s.%s", prefix, operation);
	if (timeout_ms <= 0 || timeout_ms > aws->tuning.timeout_ms)
		timeout_ms = aws->tuning.timeout_ms;

	uint64_t started = loop_now_ms();
	size_t json_len = strlen(json);
	int attempt = 0;
	for (;;) {
		if (!fence_ok(root->fence)) {
			aws_err_set(err, BOT_ECANCELLED, "NotActive",
				    "not sent: this replica is not the active one");
			break;
		}
		const struct aws_creds *creds = NULL;
		char why[256];
		if (aws_creds_get(aws, &creds, why, sizeof(why)) != AWS_CREDS_READY) {
			aws_err_set(err, BOT_EAUTH, "NoCredentials", "%s",
				    why[0] ? why : "credentials are not resolved yet");
			break;
		}
		struct sync_resp r = { .max = aws->tuning.max_body };
		char curl_err[CURL_ERROR_SIZE] = "";
		long status = 0;
		attempt++;
		aws->metrics.requests[svc]++;
		if (attempt > 1)
			aws->metrics.retries[svc]++;
		CURLcode res = sync_attempt(aws, svc, target, json, json_len, creds, timeout_ms,
					    &status, &r, curl_err);
		memset(err, 0, sizeof(*err));
		err->http_status = (int)status;
		err->attempts = attempt;
		snprintf(err->request_id, sizeof(err->request_id), "%s", r.request_id);
		bool retry = false;
		if (r.too_big || r.body.oom) {
			aws_err_set(err, BOT_EPARSE, "", "%s: response too large",
				    aws_service_name(svc));
		} else if (res != CURLE_OK) {
			aws_err_set(err, BOT_ENET, "", "%s: %s", aws_service_name(svc),
				    curl_err[0] ? curl_err : curl_easy_strerror(res));
			retry = true;
		} else if (status >= 200 && status < 300) {
			*len = r.body.len;
			*body = buf_take(&r.body);
			if (!*body)
				aws_err_set(err, BOT_ENOMEM, "", "out of memory");
			break;
		} else {
			struct aws_class cls;
			aws_parse_error(r.body.p, r.body.len, r.errtype[0] ? r.errtype : NULL,
					err->code, sizeof(err->code), err->message,
					sizeof(err->message));
			aws_classify((int)status, err->code, &cls);
			if (cls.throttle)
				aws->metrics.throttles[svc]++;
			err->rc = cls.rc;
			if (!err->message[0])
				snprintf(err->message, sizeof(err->message), "HTTP %ld %s", status,
					 err->code);
			retry = cls.retry;
		}
		err->http_status = (int)status;
		err->attempts = attempt;
		buf_free(&r.body);
		if (!retry || attempt >= aws->tuning.max_attempts)
			break;
		uint64_t delay = aws_backoff_ms(attempt, rand_unit(), aws->tuning.backoff_scale);
		if (delay > SYNC_BACKOFF_CAP_MS)
			delay = SYNC_BACKOFF_CAP_MS;
		log_debug("aws",
			  "msg=\"retrying (blocking call)\" service=%s attempt=%d delay_ms=%llu",
			  aws_service_name(svc), attempt + 1, (unsigned long long)delay);
		sleep_ms(delay);
	}
	aws->metrics.calls[svc]++;
	if (err->rc != BOT_OK)
		aws->metrics.errors[svc]++;
	aws->metrics.latency_ms_sum[svc] += loop_now_ms() - started;
	return err->rc;
}
