/* Request side of the AWS module (argv[1] = tests/data): the encoders,
 * and whole requests built by the real calls (cfn_*, ecr_*, ec2_*, sts_*)
 * captured before sending and compared with botocore's
 * (sigv4/botocore-generated/): body, signed headers, Authorization. Also the
 * retry policy table, backoff bounds and endpoint resolution. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws_core.h"
#include "../../aws/sigv4.h"
#include "check.h"

static const char *testdata;

static char *slurp2(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/sigv4/botocore-generated/%s/%s", testdata, dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = { 0 };
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		buf_add(&b, buf, n);
	fclose(f);
	return buf_take(&b);
}

/* ---- capture ---- */

struct captured {
	char url[256];
	char *headers[16];
	size_t n_headers;
	char *body;
	int count;
};

static struct captured cap;

static void cap_reset(void)
{
	for (size_t i = 0; i < cap.n_headers; i++)
		free(cap.headers[i]);
	free(cap.body);
	memset(&cap, 0, sizeof(cap));
}

static void capture(void *arg, enum aws_service svc, const char *url, const struct curl_slist *hdrs,
		    const char *body, size_t len)
{
	(void)arg;
	(void)svc;
	cap_reset();
	snprintf(cap.url, sizeof(cap.url), "%s", url);
	for (; hdrs && cap.n_headers < 16; hdrs = hdrs->next)
		cap.headers[cap.n_headers++] = strdup(hdrs->data);
	cap.body = strndup(body, len);
	cap.count++;
}

static const char *cap_header(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < cap.n_headers; i++)
		if (strncasecmp(cap.headers[i], name, n) == 0 && cap.headers[i][n] == ':')
			return cap.headers[i] + n + 2;
	return NULL;
}

/* Header value from botocore's request.txt. */
static char *golden_header(const char *req, const char *name)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\n%s: ", name);
	const char *p = strstr(req, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	return strndup(p, strcspn(p, "\r\n"));
}

static const char *golden_body(const char *req)
{
	const char *p = strstr(req, "\n\n");
	return p ? p + 2 : "";
}

static int64_t frozen_clock(void *arg)
{
	(void)arg;
	return 1440938160; /* 2015-08-30T12:36:00Z, the vectors' time */
}

static struct loop *loop;
static char region[] = "us-east-1";
static struct cfg cfg;
static const char *const token =
	"AQoDYXdzEPT//////////"
	"wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUu"
	"wthAx7mSEI/qkPpKPi/"
	"kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQ"
	"cHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
	"scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

static struct aws *make_aws(bool with_token)
{
	char err[256];
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	if (with_token)
		setenv("AWS_SESSION_TOKEN", token, 1);
	else
		unsetenv("AWS_SESSION_TOKEN");
	cfg.region = region;
	struct aws *aws = aws_create(loop, &cfg, err, sizeof(err));
	if (!aws) {
		fprintf(stderr, "aws_create: %s\n", err);
		return NULL;
	}
	aws_set_clock(aws, frozen_clock, NULL);
	struct aws_tuning t;
	aws_get_tuning(aws, &t);
	t.max_attempts = 1;
	aws_set_tuning(aws, &t);
	aws->capture = capture;
	return aws;
}

static int cb_count;
static enum bot_rc cb_rc;

static void stop_with(enum bot_rc rc)
{
	cb_count++;
	cb_rc = rc;
	loop_stop(loop);
}
static void on_stack(void *arg, const struct aws_err *e, const struct cfn_stack *s)
{
	(void)arg;
	(void)s;
	stop_with(e->rc);
}
static void on_id(void *arg, const struct aws_err *e, const char *id)
{
	(void)arg;
	(void)id;
	stop_with(e->rc);
}
static void on_done(void *arg, const struct aws_err *e)
{
	(void)arg;
	stop_with(e->rc);
}
static void on_raw(void *arg, const struct aws_err *e, const char *b, size_t n)
{
	(void)arg;
	(void)b;
	(void)n;
	stop_with(e->rc);
}
static void on_newest(void *arg, const struct aws_err *e, const struct ecr_newest *n)
{
	(void)arg;
	(void)n;
	stop_with(e->rc);
}
static void on_changes(void *arg, const struct aws_err *e, const struct ec2_changes *c)
{
	(void)arg;
	(void)c;
	stop_with(e->rc);
}
static void on_ident(void *arg, const struct aws_err *e, const struct sts_identity *id)
{
	(void)arg;
	(void)id;
	stop_with(e->rc);
}
static void on_instances(void *arg, const struct aws_err *e, const struct ec2_instances *l)
{
	(void)arg;
	(void)l;
	stop_with(e->rc);
}

/* Runs the loop until the started call's callback; then compares the
 * captured request with botocore's case. space_plus: botocore wrote spaces
 * as '+', we write %20 (both decode the same); the body is compared with
 * that one substitution and the signature is then necessarily different. */
static void compare_case(const char *name, enum bot_rc started, bool space_plus)
{
	CHECK_INT(started, BOT_OK);
	if (started != BOT_OK)
		return;
	cb_count = 0;
	loop_run(loop);
	CHECK_INT(cb_count, 1);
	CHECK_INT(cb_rc, BOT_ENET); /* captured, not sent */
	CHECK_INT(cap.count, 1);
	char *req = slurp2(name, "request.txt");
	char *authz = slurp2(name, "authz.txt");
	CHECK(req && authz);
	if (!req || !authz || !cap.body)
		goto out;
	const char *gb = golden_body(req);
	struct buf want = { 0 };
	for (const char *p = gb; *p; p++)
		buf_adds(&want, space_plus && *p == '+' ? "%20" : (char[2]){ *p, 0 });
	if (strcmp(cap.body, want.p ? want.p : "") == 0) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "FAIL %s body\n got: %s\nwant: %s\n", name, cap.body, want.p);
	}
	buf_free(&want);
	static const char *const names[] = { "Host", "Content-Type", "X-Amz-Date",
					     "X-Amz-Security-Token", "X-Amz-Target" };
	for (size_t i = 0; i < 5; i++) {
		char *g = golden_header(req, names[i]);
		const char *c = cap_header(names[i]);
		if ((g == NULL) != (c == NULL) || (g && strcmp(g, c) != 0)) {
			check_failed++;
			fprintf(stderr, "FAIL %s header %s: got \"%s\", want \"%s\"\n", name,
				names[i], c ? c : "(none)", g ? g : "(none)");
		} else {
			check_passed++;
		}
		free(g);
	}
	const char *a = cap_header("Authorization");
	if (space_plus) {
		CHECK(a && strncmp(a, authz, strlen("AWS4-HMAC-SHA256 Credential=")) == 0);
	} else if (a && strcmp(a, authz) == 0) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "FAIL %s Authorization\n got: %s\nwant: %s\n", name,
			a ? a : "(none)", authz);
	}
	CHECK(strncmp(cap.url, "https://", 8) == 0);
out:
	free(req);
	free(authz);
}

static void test_requests(void)
{
	struct aws *aws = make_aws(false);
	struct aws *awst = make_aws(true);
	CHECK(aws && awst);
	if (!aws || !awst)
		return;
	CHECK_STR(aws_endpoint(aws, AWS_ECR), "https://api.ecr.us-east-1.amazonaws.com");
	CHECK_STR(aws_service_name(AWS_ECR), "ecr");
	CHECK_STR(aws_credentials_source(aws), "env");

	compare_case("cfn-describe-stacks", cfn_describe_stack(aws, "my-stack", on_stack, NULL),
		     false);
	compare_case("cfn-describe-stacks-token",
		     cfn_describe_stack(awst, "my-stack", on_stack, NULL), false);
	compare_case("cfn-delete-stack",
		     cfn_delete_stack(aws, "my-stack", NULL, NULL, on_done, NULL), false);

	struct cfn_kv params[] = { { "ImageTag", "v1.2.3" }, { "Env", "a b&c=d/\xc3\xa9" } };
	const char *caps[] = { "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM" };
	struct cfn_kv tags[] = { { "owner", "bot" } };
	struct cfn_create_req cr = {
		.stack_name = "my-stack",
		.template_url = "https://s3.amazonaws.com/bucket/t.yaml",
		.role_arn = "arn:aws:iam::123456789012:role/cfn-deploy",
		.parameters = params,
		.n_parameters = 2,
		.capabilities = caps,
		.n_capabilities = 2,
		.tags = tags,
		.n_tags = 1,
	};
	compare_case("cfn-create-stack", cfn_create_stack(awst, &cr, on_id, NULL), true);

	/* the second page of DescribeStackEvents, through the generic call */
	struct buf f = { 0 };
	aws_form_add(&f, "StackName", "my-stack");
	aws_form_add(&f, "NextToken", "abc+/=");
	compare_case("cfn-describe-stack-events",
		     aws_call_query(aws, AWS_CFN, "DescribeStackEvents", f.p, on_raw, NULL), false);
	buf_free(&f);

	compare_case("ecr-describe-images", ecr_newest_tag(aws, "my-repo", on_newest, NULL), false);
	char *json =
		ecr_encode_describe("my-repo", "ukD72mdD/mC8b5xV3susmJzzaTgp3hKwR9nRJ2Ie+Jw=", 0);
	compare_case("ecr-describe-images-token",
		     aws_call_json(awst, AWS_ECR, "DescribeImages", json, on_raw, NULL), false);
	free(json);

	const char *v1[] = { "bot", "ops" }, *v2[] = { "running", "stopped" };
	struct ec2_filter filters[] = { { "tag:Project", v1, 2 },
					{ "instance-state-name", v2, 2 } };
	ec2_encode_describe(&f, filters, 2, 100, "eyJ2IjoiMiJ9");
	compare_case("ec2-describe-instances",
		     aws_call_query(aws, AWS_EC2, "DescribeInstances", f.p, on_raw, NULL), false);
	buf_free(&f);

	const char *ids2[] = { "i-0123456789abcdef0", "i-0fedcba9876543210" };
	compare_case("ec2-start-instances", ec2_start_instances(awst, ids2, 2, on_changes, NULL),
		     false);
	compare_case("ec2-stop-instances", ec2_stop_instances(aws, ids2, 1, on_changes, NULL),
		     false);
	compare_case("sts-get-caller-identity", sts_get_caller_identity(aws, on_ident, NULL),
		     false);
	aws_form_add(&f, "RoleArn", "arn:aws:iam::123456789012:role/ops");
	aws_form_add(&f, "RoleSessionName", "discord-bot");
	aws_form_add(&f, "DurationSeconds", "3600");
	compare_case("sts-assume-role",
		     aws_call_query(aws, AWS_STS, "AssumeRole", f.p, on_raw, NULL), false);
	buf_free(&f);

	/* our own DescribeInstances by tag: one tag filter, pages of 1000 */
	cb_count = 0;
	CHECK_INT(ec2_describe_by_tag(aws, "AutoStopStart", "Yes", on_instances, NULL), BOT_OK);
	loop_run(loop);
	CHECK_STR(cap.body, "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%"
			    "3AAutoStopStart&Filter.1.Value.1=Yes&MaxResults=1000");

	/* cancel: the callback never runs */
	cb_count = 0;
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &cb_count), BOT_OK);
	aws_cancel(aws, &cb_count);
	struct aws_metrics m;
	aws_get_metrics(aws, &m);
	CHECK_INT(m.in_flight, 0);
	/* destroy with a call pending: no callback, no leak (ASan) */
	CHECK_INT(sts_get_caller_identity(aws, on_ident, NULL), BOT_OK);
	aws_get_metrics(aws, &m);
	CHECK_INT(m.in_flight, 1);
	CHECK_INT(m.calls[AWS_CFN], 3); /* describe, delete, events on this client */
	CHECK_INT(m.errors[AWS_CFN], 3);
	aws_destroy(aws);
	aws_destroy(awst);
	CHECK_INT(cb_count, 0);

	/* one line for humans */
	struct aws_err e = { .rc = BOT_EAUTH };
	char line[256];
	snprintf(e.code, sizeof(e.code), "ExpiredToken");
	snprintf(e.message, sizeof(e.message),
		 "The security token included in the request is expired");
	CHECK_STR(aws_err_str(&e, line, sizeof(line)),
		  "authentication refused (ExpiredToken): The security token included in the "
		  "request is expired");
	/* no region anywhere: refused at creation */
	char errbuf[256];
	cfg.region = NULL;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	CHECK(aws_create(loop, &cfg, errbuf, sizeof(errbuf)) == NULL);
	CHECK(strstr(errbuf, "no AWS region") != NULL);
	cfg.region = region;

	/* bad arguments fail at once, no callback */
	CHECK_INT(cfn_describe_stack(NULL, "x", on_stack, NULL), BOT_EINVAL);
	cap_reset();
}

static void test_encoding(void)
{
	struct buf b = { 0 };
	aws_form_add(&b, "K", "a b+c*d~e_f.g-h/i%j\xc3\xa9");
	CHECK_STR(b.p, "K=a%20b%2Bc%2Ad~e_f.g-h%2Fi%25j%C3%A9");
	buf_free(&b);
	/* every byte outside the unreserved set is encoded */
	for (int c = 1; c < 256; c++) {
		char s[2] = { (char)c, 0 };
		aws_uri_encode(&b, s, 1, false);
		bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
				  c == '~';
		if (unreserved)
			CHECK(b.len == 1 && b.p[0] == c);
		else
			CHECK(b.len == 3 && b.p[0] == '%');
		buf_free(&b);
	}
	aws_form_add(&b, "A", NULL); /* absent value: nothing */
	CHECK_INT(b.len, 0);
	aws_form_addk(&b, "x", "Tags.member.%d.Key", 3);
	CHECK_STR(b.p, "Tags.member.3.Key=x");
	buf_free(&b);

	struct cfn_kv p[] = { { "K", "v" } };
	struct cfn_create_req r = { .stack_name = "s",
				    .template_url = "https://t",
				    .client_token = "tok-1",
				    .on_failure = "DELETE",
				    .timeout_minutes = 30,
				    .parameters = p,
				    .n_parameters = 1 };
	cfn_encode_create(&b, &r);
	CHECK_STR(b.p, "StackName=s&TemplateURL=https%3A%2F%2Ft&Parameters.member.1.ParameterKey=K&"
		       "Parameters.member.1.ParameterValue=v&TimeoutInMinutes=30&OnFailure=DELETE&"
		       "ClientRequestToken=tok-1");
	buf_free(&b);

	const char *ids[60];
	char idbuf[60][24];
	for (int i = 0; i < 60; i++) {
		snprintf(idbuf[i], sizeof(idbuf[i]), "i-%017d", i);
		ids[i] = idbuf[i];
	}
	ec2_encode_ids(&b, ids, 2);
	CHECK_STR(b.p, "InstanceId.1=i-00000000000000000&InstanceId.2=i-00000000000000001");
	buf_free(&b);

	char *j = ecr_encode_describe("r\"x", NULL, 1000);
	CHECK_STR(j, "{\"repositoryName\": \"r\\\"x\", \"filter\": {\"tagStatus\": \"TAGGED\"}, "
		     "\"maxResults\": 1000}");
	free(j);
}

static void test_policy(void)
{
	struct aws_class c;
	aws_classify(400, "Throttling", &c);
	CHECK(c.retry && c.throttle && c.rc == BOT_ETHROTTLED);
	aws_classify(400, "ThrottlingException", &c);
	CHECK(c.retry && c.throttle);
	aws_classify(503, "RequestLimitExceeded", &c);
	CHECK(c.retry && c.throttle);
	aws_classify(429, "", &c);
	CHECK(c.retry && c.throttle);
	for (int s = 500; s <= 504; s++) {
		aws_classify(s, "", &c);
		CHECK_INT(c.retry, s != 501);
		CHECK_INT(c.rc, BOT_ESERVER);
	}
	static const char *const auth[] = { "InvalidClientTokenId", "SignatureDoesNotMatch",
					    "ExpiredToken",         "UnrecognizedClientException",
					    "AuthFailure",          NULL };
	for (const char *const *a = auth; *a; a++) {
		aws_classify(403, *a, &c);
		CHECK(!c.retry && c.rc == BOT_EAUTH);
	}
	aws_classify(400, "ValidationError", &c);
	CHECK(!c.retry && c.rc == BOT_EREMOTE);
	aws_classify(400, "AccessDenied", &c);
	CHECK(!c.retry && c.rc == BOT_EREMOTE);

	/* full jitter: r * min(2^(n-1), 20) s */
	CHECK_INT(aws_backoff_ms(1, 0.5, 1.0), 500);
	CHECK_INT(aws_backoff_ms(2, 0.5, 1.0), 1000);
	CHECK_INT(aws_backoff_ms(3, 0.5, 1.0), 2000);
	CHECK_INT(aws_backoff_ms(10, 0.5, 1.0), 10000); /* capped at 20 s */
	CHECK_INT(aws_backoff_ms(40, 0.99, 1.0), 19800);
	CHECK_INT(aws_backoff_ms(1, 0.0, 1.0), 0);
	CHECK_INT(aws_backoff_ms(2, 0.5, 0.01), 10);
}

static void test_endpoints(void)
{
	char err[256];
	char *u;
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_ECR");
	u = aws_resolve_endpoint(AWS_ECR, "eu-west-1", NULL, err, sizeof(err));
	CHECK_STR(u, "https://api.ecr.eu-west-1.amazonaws.com");
	free(u);
	u = aws_resolve_endpoint(AWS_CFN, "cn-north-1", NULL, err, sizeof(err));
	CHECK_STR(u, "https://cloudformation.cn-north-1.amazonaws.com.cn");
	free(u);
	u = aws_resolve_endpoint(AWS_EC2, "eu-west-1", "http://127.0.0.1:5000/", err, sizeof(err));
	CHECK_STR(u, "http://127.0.0.1:5000");
	free(u);
	setenv("AWS_ENDPOINT_URL", "http://localhost:4566", 1);
	u = aws_resolve_endpoint(AWS_EC2, "eu-west-1", "http://127.0.0.1:5000", err, sizeof(err));
	CHECK_STR(u, "http://localhost:4566");
	free(u);
	setenv("AWS_ENDPOINT_URL_ECR", "https://ecr.example.com", 1);
	u = aws_resolve_endpoint(AWS_ECR, "eu-west-1", NULL, err, sizeof(err));
	CHECK_STR(u, "https://ecr.example.com");
	free(u);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	u = aws_resolve_endpoint(AWS_ECR, "eu-west-1", NULL, err, sizeof(err));
	CHECK_STR(u, "https://api.ecr.eu-west-1.amazonaws.com");
	free(u);
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_ENDPOINT_URL_ECR");
	setenv("AWS_ENDPOINT_URL", "http://10.0.0.1:5000", 1);
	u = aws_resolve_endpoint(AWS_EC2, "eu-west-1", NULL, err, sizeof(err));
	CHECK(u == NULL && strstr(err, "AWS_ENDPOINT_URL") != NULL);
	unsetenv("AWS_ENDPOINT_URL");
	u = aws_resolve_endpoint(AWS_EC2, "eu-west-1", "http://evil.example.com", err, sizeof(err));
	CHECK(u == NULL && strstr(err, "aws.endpoint_url") != NULL);
	u = aws_resolve_endpoint(AWS_EC2, "", NULL, err, sizeof(err));
	CHECK(u == NULL);
	u = aws_resolve_endpoint(AWS_EC2, "eu-west-1/../x", NULL, err, sizeof(err));
	CHECK(u == NULL);

	/* aws_create refuses a plain-http non-loopback endpoint */
	char bad[] = "http://192.0.2.1:5000";
	cfg.endpoint_url = bad;
	CHECK(aws_create(loop, &cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "loopback") != NULL);
	cfg.endpoint_url = NULL;

	/* a host with a port is signed with the port */
	char ep[] = "http://127.0.0.1:5000";
	cfg.endpoint_url = ep;
	struct aws *aws = aws_create(loop, &cfg, err, sizeof(err));
	CHECK(aws != NULL);
	if (aws) {
		CHECK_STR(aws->host[AWS_STS], "127.0.0.1:5000");
		CHECK_STR(aws->path[AWS_STS], "/");
	}
	aws_destroy(aws);
	cfg.endpoint_url = NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TESTDATA_DIR\n", argv[0]);
		return 2;
	}
	testdata = argv[1];
	check_testdata(testdata, (const char *const[]){ "sigv4/botocore-generated", NULL });
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* a clean, offline credential chain */
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	loop = loop_create();
	test_encoding();
	test_policy();
	test_requests();
	test_endpoints();
	loop_destroy(loop);
	curl_global_cleanup();
	return check_done();
}
