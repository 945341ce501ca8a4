/* The AWS client against the fault-injecting fake (tests/fakes/fake_aws.py,
 * base URL in argv[1]; started by tests/e2e/aws_with_fake.py): real
 * transfers on the event loop, SigV4 checked by the fake, pagination,
 * batches, the standard retry mode under throttling / 5xx / resets, hostile
 * bodies, dozens of calls in flight, cancellation, and every source of the
 * credential chain including refresh before expiry. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/aws_core.h"
#include "../../bot/core/log.h"
#include "../unit/check.h"
#include "fake_ctl.h"

static struct loop *loop;
static char region[] = "us-east-1";
static char endpoint[256];
static struct cfg cfg;

/* Requests the fake saw with this action (and how many). */
static int count_requests(const char *action)
{
	char *s = ctl("requests", NULL);
	cJSON *j = cJSON_Parse(s);
	int n = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, j)
	{
		const cJSON *a = cJSON_GetObjectItem(r, "action");
		if (cJSON_IsString(a) && strcmp(a->valuestring, action) == 0)
			n++;
	}
	cJSON_Delete(j);
	free(s);
	return n;
}

/* ---- client helpers ---- */

static void env_clean(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN",
		"AWS_PROFILE",
		"AWS_ENDPOINT_URL",
		"AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT",
		NULL,
	};
	for (const char *const *v = vars; *v; v++)
		unsetenv(*v);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void env_static(void)
{
	env_clean();
	setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fakesecret", 1);
}

static struct aws *make(double scale)
{
	char err[256];
	cfg.region = region;
	cfg.endpoint_url = endpoint;
	struct aws *aws = aws_create(loop, &cfg, err, sizeof(err));
	if (!aws) {
		fprintf(stderr, "aws_create: %s\n", err);
		check_failed++;
		return NULL;
	}
	struct aws_tuning t;
	aws_get_tuning(aws, &t);
	t.backoff_scale = scale;
	t.timeout_ms = 10000;
	aws_set_tuning(aws, &t);
	return aws;
}

/* Every callback records into one of these and stops the loop when the
 * expected number of callbacks arrived. */
struct res {
	int calls;
	struct aws_err err;
	char s1[256], s2[256], s3[256];
	size_t n1, n2, n3;
};
static int pending;

static void done_one(struct res *r, const struct aws_err *e)
{
	r->calls++;
	r->err = *e;
	if (--pending <= 0)
		loop_stop(loop);
}

static void run(int n)
{
	pending = n;
	loop_run(loop);
}

static void on_ident(void *arg, const struct aws_err *e, const struct sts_identity *id)
{
	struct res *r = arg;
	if (id) {
		snprintf(r->s1, sizeof(r->s1), "%s", id->account);
		snprintf(r->s2, sizeof(r->s2), "%s", id->arn);
	}
	done_one(r, e);
}

static void on_stack(void *arg, const struct aws_err *e, const struct cfn_stack *s)
{
	struct res *r = arg;
	if (s) {
		snprintf(r->s1, sizeof(r->s1), "%s", s->status);
		snprintf(r->s2, sizeof(r->s2), "%s", s->id);
		r->n1 = s->n_parameters;
	}
	done_one(r, e);
}

static void on_id(void *arg, const struct aws_err *e, const char *id)
{
	struct res *r = arg;
	if (id)
		snprintf(r->s2, sizeof(r->s2), "%s", id);
	done_one(r, e);
}

static void on_done(void *arg, const struct aws_err *e)
{
	done_one(arg, e);
}

static void on_failure(void *arg, const struct aws_err *e, const struct cfn_failure *f)
{
	struct res *r = arg;
	if (f) {
		snprintf(r->s1, sizeof(r->s1), "%s", f->summary);
		r->n1 = f->n_delete_failed;
		r->n2 = f->n_events;
		if (f->n_delete_failed)
			snprintf(r->s2, sizeof(r->s2), "%s", f->delete_failed[0].logical_id);
	}
	done_one(r, e);
}

static void on_newest(void *arg, const struct aws_err *e, const struct ecr_newest *n)
{
	struct res *r = arg;
	if (n && n->image) {
		snprintf(r->s1, sizeof(r->s1), "%s", n->image->tag);
		snprintf(r->s2, sizeof(r->s2), "%s", n->image->rule);
		r->n1 = n->n_images;
		r->n2 = n->n_pages;
	}
	done_one(r, e);
}

static void on_list(void *arg, const struct aws_err *e, const struct ecr_image_list *l)
{
	struct res *r = arg;
	if (l) {
		r->n1 = l->n;
		r->n2 = l->n_images;
		for (size_t i = 0; i < l->n; i++) {
			size_t len = strlen(r->s1);
			snprintf(r->s1 + len, sizeof(r->s1) - len, "%s%s", i ? "," : "",
				 l->images[i].tag);
		}
	}
	done_one(r, e);
}

static void on_instances(void *arg, const struct aws_err *e, const struct ec2_instances *l)
{
	struct res *r = arg;
	if (l) {
		r->n1 = l->n;
		r->n2 = l->n_asg;
		r->n3 = l->n_pages;
	}
	done_one(r, e);
}

static void on_changes(void *arg, const struct aws_err *e, const struct ec2_changes *c)
{
	struct res *r = arg;
	if (c) {
		r->n1 = c->n;
		if (c->n)
			snprintf(r->s1, sizeof(r->s1), "%s>%s", c->v[0].previous, c->v[0].current);
	}
	done_one(r, e);
}

/* ---- scenarios ---- */

static void test_cfn(void)
{
	env_static();
	struct aws *aws = make(0.01);
	struct res r = { 0 };
	if (!aws)
		return;
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_STR(r.s1, "123456789012");

	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "missing", on_stack, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ENOTFOUND);
	CHECK_STR(r.err.code, "ValidationError");
	CHECK_INT(r.err.attempts, 1);

	struct cfn_kv params[] = { { "ImageTag", "v1 2&3" }, { "Env", "dev" } };
	const char *caps[] = { "CAPABILITY_IAM" };
	struct cfn_create_req req = { .stack_name = "app",
				      .template_url = "https://example.com/t.yaml",
				      .role_arn = "arn:aws:iam::123456789012:role/cfn",
				      .client_token = "wf-1",
				      .parameters = params,
				      .n_parameters = 2,
				      .capabilities = caps,
				      .n_capabilities = 1 };
	ctlv("behavior", "{\"stack\":\"app\",\"create_seconds\":0.3}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_create_stack(aws, &req, on_id, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK(strncmp(r.s2, "arn:aws:cloudformation:", 23) == 0);
	char id[256];
	snprintf(id, sizeof(id), "%s", r.s2);
	/* an idempotent retry with the same token returns the same stack */
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_create_stack(aws, &req, on_id, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s2, id);
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "app", on_stack, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s1, "CREATE_IN_PROGRESS");
	CHECK_INT(r.n1, 2);
	usleep(350000);
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, id, on_stack, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s1, "CREATE_COMPLETE");
	/* the fake decoded our parameters as we meant them */
	char *reqs = ctl("requests", NULL);
	CHECK(strstr(reqs, "\"Parameters.member.1.ParameterValue\": \"v1 2&3\"") != NULL);
	CHECK(strstr(reqs, "\"ClientRequestToken\": \"wf-1\"") != NULL);
	CHECK(strstr(reqs, "\"Capabilities.member.1\": \"CAPABILITY_IAM\"") != NULL);
	CHECK(strstr(reqs, "\"RoleARN\": \"arn:aws:iam::123456789012:role/cfn\"") != NULL);
	free(reqs);

	/* a create that fails: the first failed resource, not the echoes */
	ctlv("behavior", "{\"stack\":\"bad\",\"create_fail\":{\"logical_id\":\"Queue\","
			 "\"type\":\"AWS::SQS::Queue\",\"reason\":\"name taken\"}}");
	req.stack_name = "bad";
	req.client_token = NULL;
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_create_stack(aws, &req, on_id, &r), BOT_OK);
	run(1);
	snprintf(id, sizeof(id), "%s", r.s2);
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "bad", on_stack, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s1, "ROLLBACK_COMPLETE");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_first_failure(aws, id, on_failure, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_STR(r.s1, "Queue (AWS::SQS::Queue): name taken");

	/* a long history: the answer needs several pages of 10 events */
	struct buf seed = { 0 };
	buf_adds(&seed, "{\"name\":\"long\",\"status\":\"ROLLBACK_COMPLETE\",\"events\":[");
	buf_adds(&seed, "{\"logical_id\":\"First\",\"type\":\"AWS::EC2::VPC\",\"status\":"
			"\"CREATE_FAILED\",\"reason\":\"the root cause\"}");
	for (int i = 0; i < 34; i++)
		buf_addf(&seed, ",{\"logical_id\":\"R%d\",\"status\":\"%s\"}", i,
			 i % 2 ? "CREATE_FAILED" : "DELETE_COMPLETE");
	buf_adds(&seed, "]}");
	char *out = ctl("stack", seed.p);
	buf_free(&seed);
	cJSON *j = cJSON_Parse(out);
	const cJSON *jid = cJSON_GetObjectItem(j, "id");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_first_failure(aws, cJSON_IsString(jid) ? jid->valuestring : "x", on_failure,
				    &r),
		  BOT_OK);
	run(1);
	cJSON_Delete(j);
	free(out);
	CHECK_STR(r.s1, "First (AWS::EC2::VPC): the root cause");
	CHECK_INT(r.n2, 37); /* every event back to "User Initiated", over 4 pages */

	/* a delete that fails on resources */
	ctlv("behavior", "{\"stack\":\"app\",\"delete_fail\":[{\"logical_id\":\"Bucket\","
			 "\"reason\":\"not empty\"},{\"logical_id\":\"Role\",\"type\":"
			 "\"AWS::IAM::Role\",\"reason\":\"in use\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_delete_stack(aws, "app", "arn:aws:iam::123456789012:role/cfn", "del-1",
				   on_done, &r),
		  BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "app", on_stack, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s1, "DELETE_FAILED");
	snprintf(id, sizeof(id), "%s", r.s2);
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_first_failure(aws, id, on_failure, &r), BOT_OK);
	run(1);
	CHECK_INT(r.n1, 2);
	CHECK(strstr(r.s1, "not empty") != NULL || strstr(r.s1, "in use") != NULL);
	aws_destroy(aws);
}

static void test_ecr_ec2(void)
{
	env_static();
	struct aws *aws = make(0.01);
	struct res r = { 0 };
	if (!aws)
		return;
	/* 2500 images pushed a minute apart, listed in shuffled pages */
	ctlv("images", "{\"repository\":\"chat\",\"generate\":2500,\"tag_fmt\":\"{i:07x}0\","
		       "\"latest_on_newest\":true}");
	CHECK_INT(ecr_newest_tag(aws, "chat", on_newest, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_STR(r.s1, "00009c30"); /* 2499 = 0x9c3, an 8-hex-digit "sha" */
	CHECK_STR(r.s2, "git sha");
	CHECK_INT(r.n1, 2500);
	CHECK_INT(r.n2, 3);
	memset(&r, 0, sizeof(r));
	CHECK_INT(ecr_list_tags(aws, "chat", 3, on_list, &r), BOT_OK);
	run(1);
	CHECK_STR(r.s1, "00009c30,00009c20,00009c10");
	CHECK_INT(r.n1, 3);
	memset(&r, 0, sizeof(r));
	CHECK_INT(ecr_newest_tag(aws, "nope", on_newest, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ENOTFOUND);
	CHECK_STR(r.err.code, "RepositoryNotFoundException");

	/* 120 tagged instances (3 in an ASG, 1 terminated), 8 untagged */
	struct buf b = { 0 };
	buf_adds(&b, "{\"instances\":[");
	for (int i = 0; i < 128; i++)
		buf_addf(&b, "%s{\"id\":\"i-%017d\",\"state\":\"%s\",\"tags\":{%s%s}}",
			 i ? "," : "", i, i == 5 ? "terminated" : "stopped",
			 i < 121 ? "\"AutoStopStart\":\"Yes\"" : "\"Other\":\"x\"",
			 i >= 10 && i < 13 ? ",\"aws:autoscaling:groupName\":\"asg-1\"" : "");
	buf_adds(&b, "]}");
	ctlv("instances", b.p);
	buf_free(&b);
	memset(&r, 0, sizeof(r));
	CHECK_INT(ec2_describe_by_tag(aws, "AutoStopStart", "Yes", on_instances, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_INT(r.n1, 120);
	CHECK_INT(r.n2, 3);
	CHECK_INT(r.n3, 1);

	const char *ids[120];
	char idbuf[120][24];
	for (int i = 0; i < 120; i++) {
		snprintf(idbuf[i], sizeof(idbuf[i]), "i-%017d", i);
		ids[i] = idbuf[i];
	}
	ids[5] = "i-00000000000000127"; /* not the terminated one */
	int before = count_requests("StartInstances");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ec2_start_instances(aws, ids, 120, on_changes, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_INT(r.n1, 120);
	CHECK_STR(r.s1, "stopped>pending");
	CHECK_INT(count_requests("StartInstances") - before, 3); /* 50 + 50 + 20 */
	memset(&r, 0, sizeof(r));
	const char *bad[] = { "i-nope" };
	CHECK_INT(ec2_stop_instances(aws, bad, 1, on_changes, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EREMOTE);
	CHECK_STR(r.err.code, "InvalidInstanceID.NotFound");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ec2_stop_instances(aws, NULL, 0, on_changes, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_INT(r.n1, 0);
	aws_destroy(aws);
}

static void test_retries(void)
{
	env_static();
	struct aws *aws = make(0.02);
	struct res r = { 0 };
	struct aws_metrics m0, m1;
	if (!aws)
		return;
	aws_get_metrics(aws, &m0);
	ctlv("faults", "{\"rules\":[{\"match\":\"GetCallerIdentity\",\"count\":2,\"status\":400,"
		       "\"code\":\"Throttling\"}]}");
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_INT(r.err.attempts, 3);
	aws_get_metrics(aws, &m1);
	CHECK_INT(m1.retries[AWS_STS] - m0.retries[AWS_STS], 2);
	CHECK_INT(m1.throttles[AWS_STS] - m0.throttles[AWS_STS], 2);
	CHECK_INT(m1.requests[AWS_STS] - m0.requests[AWS_STS], 3);

	/* throttled on every attempt */
	ctlv("faults", "{\"rules\":[{\"match\":\"ecr\",\"count\":3,\"status\":400,"
		       "\"code\":\"ThrottlingException\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ecr_newest_tag(aws, "chat", on_newest, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ETHROTTLED);
	CHECK_INT(r.err.attempts, 3);
	CHECK_STR(r.err.code, "ThrottlingException");

	/* 500, 502, 503, 504 are retried; 3 x 503 gives up */
	ctlv("faults", "{\"rules\":[{\"match\":\"DescribeStacks\",\"count\":1,\"status\":500},"
		       "{\"match\":\"DescribeStacks\",\"count\":1,\"status\":502}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "missing", on_stack, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ENOTFOUND);
	CHECK_INT(r.err.attempts, 3);
	ctlv("faults", "{\"rules\":[{\"match\":\"ec2\",\"count\":3,\"status\":503}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ec2_describe_by_tag(aws, "AutoStopStart", "Yes", on_instances, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ESERVER);
	CHECK_INT(r.err.http_status, 503);
	CHECK_INT(r.err.attempts, 3);
	ctlv("faults", "{\"rules\":[{\"match\":\"ec2\",\"count\":1,\"status\":504}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ec2_describe_by_tag(aws, "AutoStopStart", "Yes", on_instances, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_INT(r.err.attempts, 2);

	/* connection resets are network errors: retried. (curl itself
	 * retries once when a reused keep-alive connection dies, so two
	 * resets make sure at least one reaches our retry logic.) */
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":2,\"kind\":\"reset\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK(r.err.attempts >= 2);
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":6,\"kind\":\"reset\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_ENET);
	CHECK_INT(r.err.attempts, 3);
	ctlv("faults", "{\"clear\":true}");

	/* a 400 that is not throttling is not retried */
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":1,\"status\":400,\"code\":"
		       "\"ValidationError\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EREMOTE);
	CHECK_INT(r.err.attempts, 1);

	/* hostile bodies: a clear error, not retried, no crash */
	ctlv("faults", "{\"rules\":[{\"match\":\"DescribeStacks\",\"count\":1,\"kind\":"
		       "\"truncate\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(cfn_describe_stack(aws, "bad", on_stack, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EPARSE);
	CHECK_INT(r.err.attempts, 1);
	ctlv("faults", "{\"rules\":[{\"match\":\"ecr\",\"count\":1,\"kind\":\"garbage\"}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ecr_newest_tag(aws, "chat", on_newest, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EPARSE);
	ctlv("faults", "{\"rules\":[{\"match\":\"ecr\",\"count\":1,\"kind\":\"huge\",\"bytes\":"
		       "17000000}]}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ecr_newest_tag(aws, "chat", on_newest, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EPARSE);
	CHECK(strstr(r.err.message, "larger than") != NULL);

	/* the real schedule: two retries wait rand*1 s + rand*2 s at most */
	struct aws_tuning t;
	aws_get_tuning(aws, &t);
	t.backoff_scale = 1.0;
	aws_set_tuning(aws, &t);
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":2,\"status\":503}]}");
	memset(&r, 0, sizeof(r));
	uint64_t t0 = loop_now_ms();
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	uint64_t took = loop_now_ms() - t0;
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK(took < 3000 + 1500);
	printf("two full-jitter retries took %llu ms\n", (unsigned long long)took);
	aws_destroy(aws);
}

static void test_concurrency_cancel(void)
{
	env_static();
	struct aws *aws = make(0.01);
	if (!aws)
		return;
	/* 40 calls at once against a fake that takes 0.4 s each */
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":40,\"kind\":\"delay\","
		       "\"seconds\":0.4}]}");
	static struct res rs[40];
	memset(rs, 0, sizeof(rs));
	uint64_t t0 = loop_now_ms();
	for (int i = 0; i < 40; i++)
		CHECK_INT(sts_get_caller_identity(aws, on_ident, &rs[i]), BOT_OK);
	struct aws_metrics m;
	aws_get_metrics(aws, &m);
	CHECK_INT(m.in_flight, 40);
	run(40);
	uint64_t took = loop_now_ms() - t0;
	int ok = 0;
	for (int i = 0; i < 40; i++)
		ok += rs[i].calls == 1 && rs[i].err.rc == BOT_OK;
	CHECK_INT(ok, 40);
	CHECK(took < 40 * 400 / 4); /* concurrent, not serial */
	printf("40 concurrent calls took %llu ms\n", (unsigned long long)took);

	/* cancel one of two slow calls: only the other answers */
	ctlv("faults", "{\"rules\":[{\"match\":\"sts\",\"count\":2,\"kind\":\"delay\","
		       "\"seconds\":0.3}]}");
	struct res a = { 0 }, b = { 0 };
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &a), BOT_OK);
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &b), BOT_OK);
	aws_cancel(aws, &a);
	run(1);
	CHECK_INT(a.calls, 0);
	CHECK_INT(b.calls, 1);
	/* destroy with a call in flight: no callback (ASan checks the rest) */
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &a), BOT_OK);
	aws_destroy(aws);
	CHECK_INT(a.calls, 0);
}

static void identity_with(const char *what, enum bot_rc want, const char *want_source)
{
	struct aws *aws = make(0.01);
	struct res r = { 0 };
	if (!aws)
		return;
	if (want_source && strcmp(aws_credentials_source(aws), want_source) != 0) {
		check_failed++;
		fprintf(stderr, "FAIL %s: source %s, expected %s\n", what,
			aws_credentials_source(aws), want_source);
	}
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	if (r.err.rc != want) {
		check_failed++;
		fprintf(stderr, "FAIL %s: rc %d (%s: %s), expected %d\n", what, r.err.rc,
			r.err.code, r.err.message, want);
	} else {
		check_passed++;
	}
	aws_destroy(aws);
}

static char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "/tmp/envbot-aws-live-%d-%s", (int)getpid(), name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int64_t later_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL) + 11 * 60;
}

static int64_t clock_offset_s; /* offset_clock: now + this */

static int64_t offset_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL) + clock_offset_s;
}

static void test_credentials(void)
{
	char url[512], text[1024];

	/* wrong secret, unknown key: refused, not retried */
	env_static();
	setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
	identity_with("wrong secret", BOT_EAUTH, "env");
	env_static();
	setenv("AWS_ACCESS_KEY_ID", "AKIDUNKNOWN", 1);
	identity_with("unknown key", BOT_EAUTH, "env");

	/* expired static session credentials: ExpiredToken, not refreshable */
	ctlv("credentials", "{\"access_key\":\"ASIAEXPIRED\",\"secret\":\"s3cr3t-exp\","
			    "\"token\":\"tok-expired-123\",\"expires_in\":-10}");
	env_clean();
	setenv("AWS_ACCESS_KEY_ID", "ASIAEXPIRED", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-exp", 1);
	setenv("AWS_SESSION_TOKEN", "tok-expired-123", 1);
	identity_with("expired token", BOT_EAUTH, "env");

	/* nothing anywhere */
	env_clean();
	identity_with("no credentials", BOT_EAUTH, "none");

	/* IMDSv2 */
	env_clean();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
	identity_with("imds", BOT_OK, "imds");

	/* ECS container credentials with an authorization token */
	env_clean();
	snprintf(url, sizeof(url), "%s/ecs/creds", base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-secret-token", 1);
	identity_with("ecs", BOT_OK, "ecs");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token", 1);
	identity_with("ecs wrong token", BOT_EAUTH, "ecs");

	/* profile: credential_process */
	env_clean();
	snprintf(
		text, sizeof(text),
		"[profile proc]\nregion = us-east-1\ncredential_process = printf '{\"Version\": 1, "
		"\"AccessKeyId\": \"AKIDFAKE\", \"SecretAccessKey\": \"fakesecret\"}'\n"
		"[profile failing]\ncredential_process = sh -c 'exit 3'\n");
	setenv("AWS_CONFIG_FILE", write_file("config", text), 1);
	setenv("AWS_PROFILE", "proc", 1);
	identity_with("credential_process", BOT_OK, "process");
	setenv("AWS_PROFILE", "failing", 1);
	identity_with("credential_process failing", BOT_EAUTH, "process");
	setenv("AWS_PROFILE", "absent", 1);
	char err[256];
	cfg.region = region;
	cfg.endpoint_url = endpoint;
	CHECK(aws_create(loop, &cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "\"absent\" not found") != NULL);

	/* profile: role_arn + source_profile -> STS AssumeRole */
	snprintf(text, sizeof(text),
		 "[default]\nregion = us-east-1\n[profile ops]\nrole_arn = "
		 "arn:aws:iam::123456789012:role/ops\nsource_profile = base\n"
		 "role_session_name = envbot-test\n");
	setenv("AWS_CONFIG_FILE", write_file("config2", text), 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE",
	       write_file("credentials", "[base]\naws_access_key_id = "
					 "AKIDFAKE\naws_secret_access_key = fakesecret\n"),
	       1);
	setenv("AWS_PROFILE", "ops", 1);
	identity_with("assume role", BOT_OK, "profile:ops");
	int assumed = count_requests("AssumeRole");
	CHECK(assumed >= 1);
	snprintf(text, sizeof(text),
		 "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
		 "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n");
	setenv("AWS_CONFIG_FILE", write_file("config3", text), 1);
	setenv("AWS_PROFILE", "loop1", 1);
	CHECK(aws_create(loop, &cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "too long") != NULL);

	/* web identity from the environment */
	env_clean();
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", write_file("token", "eyJ.web.identity\n"), 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web", 1);
	identity_with("web identity", BOT_OK, "web-identity");

	/* refresh: credentials that expire in 10 minutes are refreshed in the
	 * background while calls go on with the current ones, at most once a
	 * minute (the provider keeps serving keys inside the window); once past
	 * expiry (clock moved) calls wait for the new ones */
	ctlv("credentials", "{\"serve_expires_in\":600}");
	env_clean();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
	struct aws *aws = make(0.01);
	if (!aws)
		return;
	clock_offset_s = 0;
	aws_set_clock(aws, offset_clock, NULL);
	struct res r = { 0 };
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	char first_arn[256];
	snprintf(first_arn, sizeof(first_arn), "%s", r.s2);
	struct aws_metrics m;
	aws_get_metrics(aws, &m);
	CHECK_INT(m.cred_refreshes, 1);
	/* 20 more calls inside the window, within a minute of the fetch: no
	 * refetch (it used to be one per call) */
	for (int i = 0; i < 20; i++) {
		memset(&r, 0, sizeof(r));
		CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
		run(1);
		CHECK_INT(r.err.rc, BOT_OK);
	}
	aws_get_metrics(aws, &m);
	CHECK_INT(m.cred_refreshes, 1);
	CHECK_STR(r.s2, first_arn);
	/* a minute on: this call is not blocked (current keys), and it starts
	 * the refresh */
	clock_offset_s = 61;
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK_STR(r.s2, first_arn); /* signed with the current keys */
	for (int i = 0; i < 50 && m.cred_refreshes < 2; i++) {
		memset(&r, 0, sizeof(r));
		CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
		run(1);
		aws_get_metrics(aws, &m);
	}
	CHECK_INT(m.cred_refreshes, 2);
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	CHECK(strcmp(r.s2, first_arn) != 0); /* the refreshed keys are in use */
	aws_get_metrics(aws, &m);
	CHECK_INT(m.cred_refreshes, 2);

	/* past expiry (the signer's clock moved 11 minutes on): calls wait for
	 * a fetch instead of signing with dead keys, then succeed */
	ctlv("credentials", "{\"serve_expires_in\":3600}");
	aws_set_clock(aws, later_clock, NULL);
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_OK);
	aws_get_metrics(aws, &m);
	CHECK(m.cred_refreshes >= 3);
	aws_destroy(aws);

	/* credentials that arrive already expired (clocks disagree): a clear
	 * error, not an endless refetch */
	ctlv("credentials", "{\"serve_expires_in\":600}");
	aws = make(0.01);
	if (!aws)
		return;
	aws_set_clock(aws, later_clock, NULL);
	memset(&r, 0, sizeof(r));
	CHECK_INT(sts_get_caller_identity(aws, on_ident, &r), BOT_OK);
	run(1);
	CHECK_INT(r.err.rc, BOT_EAUTH);
	CHECK(strstr(r.err.message, "clock skew") != NULL);
	aws_destroy(aws);
	ctlv("credentials", "{\"serve_expires_in\":3600}");

	/* secrets never reach the log */
	char line[256] = "secret=fakesecret token=tok-expired-123 ecs=ecs-secret-token";
	log_redact(line, sizeof(line));
	CHECK(strstr(line, "fakesecret") == NULL);
	CHECK(strstr(line, "tok-expired-123") == NULL);
	CHECK(strstr(line, "ecs-secret-token") == NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s http://127.0.0.1:PORT (the fake AWS)\n", argv[0]);
		return 2;
	}
	base = argv[1];
	snprintf(endpoint, sizeof(endpoint), "%s", base);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_set_level(LL_WARN);
	loop = loop_create();
	test_cfn();
	test_ecr_ec2();
	test_retries();
	test_concurrency_cancel();
	test_credentials();
	loop_destroy(loop);
	curl_global_cleanup();
	return check_done();
}
