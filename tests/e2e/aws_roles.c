/* Clients for other accounts and regions (aws_for) against the
 * fault-injecting fake (tests/fakes/fake_aws.py, base URL in argv[1];
 * started by tests/e2e/aws_with_fake.py): real transfers, SigV4 checked by
 * the fake, STS AssumeRole signed with the root's keys, temporary keys that
 * the fake expires on demand.
 *
 *   cache    one role, three regions, 40 calls at once in each: one
 *            AssumeRole for the role, not one per region or per call; a
 *            second role gets its own; the same target gives the same
 *            client; calls in each region are signed for that region.
 *   ahead    the signer's clock 50 minutes on (credentials of one hour,
 *            refresh 15 minutes ahead): under load, one more AssumeRole per
 *            role, and no call waits or fails.
 *   expired  the fake expires every temporary key: 40 calls refused with
 *            ExpiredToken at once make one refresh per role, and all end
 *            well.
 *   throttle STS throttled twice, then the keys expire: the refresh is
 *            retried and the calls succeed.
 *   refused  AssumeRole refused (AccessDenied): every call fails with
 *            BOT_EAUTH naming the role and AWS's reason; a second burst
 *            does not hammer STS (the failure is kept 30 s).
 *   region   one region's requests reset by the fake: its calls fail with
 *            BOT_ENET; another region's, in flight at the same time, end
 *            well. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/aws_core.h"
#include "../../bot/core/log.h"
#include "../unit/check.h"
#include "fake_ctl.h"

#define ROLE_A "arn:aws:iam::222222222222:role/envbot-spoke"
#define ROLE_B "arn:aws:iam::333333333333:role/envbot-spoke"
#define ROLE_C "arn:aws:iam::444444444444:role/not-trusted"
#define BURST  40

static struct loop *loop;
static char region[] = "ap-northeast-2";
static char endpoint[256];
static struct cfg cfg;
static int64_t clock_offset;

/* AssumeRole requests the fake saw for role (NULL: any), and of action in
 * region (NULL: any) when action is not NULL. */
static int count(const char *action, const char *role, const char *in_region)
{
	char *s = ctl("requests", NULL);
	cJSON *j = cJSON_Parse(s);
	int n = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, j)
	{
		const cJSON *a = cJSON_GetObjectItem(r, "action");
		const cJSON *p = cJSON_GetObjectItem(r, "params");
		const cJSON *arn = p ? cJSON_GetObjectItem(p, "RoleArn") : NULL;
		const cJSON *reg = cJSON_GetObjectItem(r, "region");
		if (!cJSON_IsString(a) || strcmp(a->valuestring, action) != 0)
			continue;
		if (role && !(cJSON_IsString(arn) && strcmp(arn->valuestring, role) == 0))
			continue;
		if (in_region && !(cJSON_IsString(reg) && strcmp(reg->valuestring, in_region) == 0))
			continue;
		n++;
	}
	cJSON_Delete(j);
	free(s);
	return n;
}

static int64_t test_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL) + clock_offset;
}

static struct aws *make_root(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fakesecret", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
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
	t.backoff_scale = 0.01;
	t.timeout_ms = 10000;
	aws_set_tuning(aws, &t);
	aws_set_clock(aws, test_clock, NULL);
	return aws;
}

static struct aws *target(struct aws *root, const char *reg, const char *role, const char *ext)
{
	char err[256];
	const struct aws_target t = { .region = reg, .role_arn = role, .external_id = ext };
	struct aws *a = aws_for(root, &t, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "aws_for: %s\n", err);
		check_failed++;
	}
	return a;
}

/* ---- a burst of calls ---- */

struct tally {
	int pending, ok, eauth, enet, other;
	char message[512];
};

static void on_instances(void *arg, const struct aws_err *e, const struct ec2_instances *l)
{
	struct tally *t = arg;
	(void)l;
	if (e->rc == BOT_OK)
		t->ok++;
	else if (e->rc == BOT_EAUTH)
		t->eauth++;
	else if (e->rc == BOT_ENET)
		t->enet++;
	else
		t->other++;
	if (e->rc != BOT_OK && !t->message[0])
		snprintf(t->message, sizeof(t->message), "%s", e->message);
	if (--t->pending == 0)
		loop_stop(loop);
}

/* n DescribeInstances on each of the clients at once; runs them all. */
static void burst(struct aws *const *clients, size_t n_clients, int n, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t c = 0; c < n_clients; c++)
		for (int i = 0; i < n; i++)
			if (ec2_describe_by_tag(clients[c], "Team", "spoke", on_instances, t) ==
			    BOT_OK)
				t->pending++;
	if (t->pending)
		loop_run(loop);
}

static void test_cache(void)
{
	ctlv("reset", "{}");
	clock_offset = 0;
	struct aws *root = make_root();
	if (!root)
		return;
	struct aws *a1 = target(root, "ap-northeast-2", ROLE_A, "envbot-test");
	struct aws *a2 = target(root, "us-east-1", ROLE_A, "envbot-test");
	struct aws *a3 = target(root, "eu-west-1", ROLE_A, "envbot-test");
	struct aws *b1 = target(root, "us-east-1", ROLE_B, NULL);
	CHECK(target(root, "us-east-1", ROLE_A, "envbot-test") == a2);
	CHECK(target(a3, NULL, NULL, NULL) == root); /* nothing different: the root */
	CHECK(target(root, "us-east-1", NULL, NULL) != a2);
	CHECK_STR(aws_role(a2), ROLE_A);
	CHECK_STR(aws_region(a3), "eu-west-1");
	if (!a1 || !a2 || !a3 || !b1)
		goto out;
	struct aws *const clients[] = { a1, a2, a3, b1 };
	struct tally t;
	burst(clients, 4, BURST, &t);
	CHECK_INT(t.ok, 4 * BURST);
	CHECK_INT(count("AssumeRole", ROLE_A, NULL), 1);
	CHECK_INT(count("AssumeRole", ROLE_B, NULL), 1);
	/* the roles are assumed through the root's region, signed with its keys */
	CHECK_INT(count("AssumeRole", NULL, "ap-northeast-2"), 2);
	CHECK_INT(count("DescribeInstances", NULL, "eu-west-1"), BURST);
	CHECK_INT(count("DescribeInstances", NULL, "us-east-1"), 2 * BURST);
	/* the role's external id went with it */
	char *reqs = ctl("requests", NULL);
	CHECK(reqs && strstr(reqs, "\"ExternalId\": \"envbot-test\""));
	free(reqs);

	/* ahead: 50 minutes later the one-hour keys are 10 minutes from
	 * expiring: one background refresh per role while the calls go on */
	clock_offset = 50 * 60;
	burst(clients, 4, BURST, &t);
	CHECK_INT(t.ok, 4 * BURST);
	burst(clients, 4, 5, &t); /* the refresh has landed by now */
	CHECK_INT(t.ok, 4 * 5);
	CHECK_INT(count("AssumeRole", ROLE_A, NULL), 2);
	CHECK_INT(count("AssumeRole", ROLE_B, NULL), 2);

	/* expired: every temporary key refused at once */
	ctlv("expire", "{}");
	burst(clients, 4, BURST, &t);
	CHECK_INT(t.ok, 4 * BURST);
	CHECK_INT(t.eauth, 0);
	CHECK_INT(count("AssumeRole", ROLE_A, NULL), 3);
	CHECK_INT(count("AssumeRole", ROLE_B, NULL), 3);
	CHECK(count("DescribeInstances", NULL, NULL) >= 4 * (2 * BURST + 5) + 4 * BURST);

	/* throttle: STS says Throttling twice, then the keys expire again */
	ctlv("faults", "{\"rules\":[{\"match\":\"AssumeRole\",\"count\":2,\"status\":400,"
		       "\"code\":\"Throttling\"}]}");
	ctlv("expire", "{}");
	struct aws *const one[] = { a2 };
	burst(one, 1, BURST, &t);
	CHECK_INT(t.ok, BURST);
	CHECK_INT(count("AssumeRole", ROLE_A, NULL), 6); /* 3 + two throttled + one */
	struct aws_metrics m;
	aws_get_metrics(root, &m);
	CHECK(m.cred_refreshes >= 7);
out:
	aws_destroy(root);
}

static void test_refused(void)
{
	ctlv("reset", "{}");
	clock_offset = 0;
	struct aws *root = make_root();
	if (!root)
		return;
	ctlv("faults", "{\"rules\":[{\"match\":\"AssumeRole\",\"count\":1000,\"status\":403,"
		       "\"code\":\"AccessDenied\",\"message\":\"User: arn:aws:iam::123456789012:"
		       "user/envbot is not authorized to perform: sts:AssumeRole on resource: "
		       "arn:aws:iam::444444444444:role/not-trusted\"}]}");
	struct aws *c = target(root, "us-east-1", ROLE_C, NULL);
	struct aws *ok = target(root, "us-east-1", NULL, NULL);
	if (!c || !ok)
		goto out;
	struct aws *const clients[] = { c };
	struct tally t;
	burst(clients, 1, 10, &t);
	CHECK_INT(t.eauth, 10);
	CHECK(strstr(t.message, ROLE_C) != NULL);
	CHECK(strstr(t.message, "AccessDenied") != NULL);
	int sts = count("AssumeRole", ROLE_C, NULL);
	CHECK(sts >= 1 && sts <= 3);
	burst(clients, 1, 10, &t);
	CHECK_INT(t.eauth, 10);
	CHECK_INT(count("AssumeRole", ROLE_C, NULL), sts); /* kept, not asked again */
	/* the daemon's own credentials are unaffected */
	struct aws *const mine[] = { ok };
	burst(mine, 1, 3, &t);
	CHECK_INT(t.ok, 3);
out:
	aws_destroy(root);
}

static void test_region_down(void)
{
	ctlv("reset", "{}");
	clock_offset = 0;
	struct aws *root = make_root();
	if (!root)
		return;
	ctlv("faults", "{\"rules\":[{\"match\":\"*\",\"count\":1000,\"kind\":\"reset\","
		       "\"region\":\"eu-west-1\"},{\"match\":\"DescribeInstances\",\"count\":5,"
		       "\"kind\":\"delay\",\"seconds\":1,\"region\":\"us-east-1\"}]}");
	struct aws *down = target(root, "eu-west-1", ROLE_A, NULL);
	struct aws *slow = target(root, "us-east-1", ROLE_A, NULL);
	if (!down || !slow)
		goto out;
	struct aws *const clients[] = { down, slow };
	struct tally t;
	burst(clients, 2, 5, &t);
	CHECK_INT(t.ok, 5);
	CHECK_INT(t.enet, 5);
	CHECK_INT(count("AssumeRole", ROLE_A, NULL), 1);
out:
	aws_destroy(root);
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
	test_cache();
	test_refused();
	test_region_down();
	loop_destroy(loop);
	curl_global_cleanup();
	return check_done();
}
