/* Response side of the AWS module (argv[1] = tests/data): every sample
 * in aws-responses/ decoded to the values it holds, the error shapes, the
 * failure analysis over stack events, the tag choice, and hostile input:
 * every truncation of every sample, wrong types, entity tricks, deep nesting
 * and large documents give a clear error or a correct answer, never a crash
 * (run under ASan/UBSan in CI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws_internal.h"
#include "check.h"

static const char *testdata;

static char *load(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/aws-responses/%s", testdata, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "test data missing: %s\n", path);
		exit(1);
	}
	struct buf b = { 0 };
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		buf_add(&b, buf, n);
	fclose(f);
	*len = b.len;
	return buf_take(&b);
}

static void test_samples(void)
{
	struct arena a = { 0 };
	char err[200];
	size_t len;
	char *s;

	s = load("cfn-describe-stacks.xml", &len);
	struct cfn_stack st;
	CHECK_INT(cfn_decode_stack(s, len, &a, &st, err, sizeof(err)), BOT_OK);
	CHECK_STR(st.name, "my-stack");
	CHECK_STR(st.status, "UPDATE_COMPLETE");
	CHECK_STR(st.id, "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/"
			 "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	CHECK_INT(st.n_parameters, 1);
	CHECK_STR(st.parameters[0].key, "ImageTag");
	CHECK_STR(st.parameters[0].value, "v1.2.3");
	CHECK_INT(st.n_outputs, 1);
	CHECK_STR(st.outputs[0].key, "ServiceUrl");
	CHECK_STR(st.outputs[0].value, "https://example.com");
	CHECK_INT(st.n_tags, 1);
	CHECK_STR(st.tags[0].value, "bot");
	CHECK_STR(st.creation_time, "2024-05-01T12:00:00.123Z");
	CHECK_STR(st.status_reason, "");
	free(s);

	s = load("cfn-create-stack.xml", &len);
	const char *id = NULL;
	CHECK_INT(cfn_decode_create(s, len, &a, &id, err, sizeof(err)), BOT_OK);
	CHECK_STR(id, "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/"
		      "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	free(s);

	s = load("cfn-describe-stack-events.xml", &len);
	struct vec ev = { .size = sizeof(struct cfn_event), .max = 100 };
	const char *next = NULL;
	CHECK_INT(cfn_decode_events(s, len, &a, &ev, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(ev.n, 1);
	CHECK_STR(next, "opaque-token");
	if (ev.n) {
		const struct cfn_event *e = ev.v;
		CHECK_STR(e->logical_id, "Bucket");
		CHECK_STR(e->status, "CREATE_FAILED");
		CHECK_STR(e->resource_type, "AWS::S3::Bucket");
		CHECK_STR(e->reason, "Resource handler returned message: \"...\"");
		CHECK_STR(e->stack_name, "my-stack");
	}
	vec_free(&ev);
	free(s);

	char code[64], msg[512];
	s = load("cfn-error-stack-does-not-exist.xml", &len);
	aws_parse_error(s, len, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "ValidationError");
	CHECK_STR(msg, "Stack with id foo does not exist");
	free(s);

	s = load("ec2-error.xml", &len);
	aws_parse_error(s, len, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "InvalidInstanceID.NotFound");
	CHECK(strstr(msg, "does not exist") != NULL);
	free(s);

	s = load("json-error-repository-not-found.json", &len);
	aws_parse_error(s, len, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "RepositoryNotFoundException");
	CHECK(strstr(msg, "'nope'") != NULL);
	free(s);

	s = load("json-error-throttling.json", &len);
	aws_parse_error(s, len, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "ThrottlingException"); /* "com.amazonaws.ecr#" dropped */
	CHECK_STR(msg, "Rate exceeded");
	free(s);

	s = load("ec2-describe-instances.xml", &len);
	struct vec in = { .size = sizeof(struct ec2_instance), .max = 100 };
	CHECK_INT(ec2_decode_instances(s, len, &a, &in, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(in.n, 1);
	CHECK_STR(next, "eyJ2IjoiMiJ9");
	if (in.n) {
		const struct ec2_instance *i = in.v;
		CHECK_STR(i->id, "i-1234567890abcdef0");
		CHECK_STR(i->state, "running");
		CHECK_STR(i->type, "t2.micro");
		CHECK_STR(i->name, "Server_1");
		CHECK(!i->in_asg);
		CHECK_STR(i->launch_time, "2018-05-08T16:46:19.000Z");
		CHECK_STR(i->reason, ""); /* no stateReason */
		CHECK(!i->hibernation);   /* no hibernationOptions */
	}
	vec_free(&in);
	free(s);

	/* stateReason: a message that repeats its code is not doubled */
	s = load("ec2-describe-instances-reasons.xml", &len);
	in = (struct vec){ .size = sizeof(struct ec2_instance), .max = 100 };
	CHECK_INT(ec2_decode_instances(s, len, &a, &in, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(in.n, 2);
	CHECK(next == NULL);
	if (in.n == 2) {
		const struct ec2_instance *i = in.v;
		CHECK_STR(i[0].state, "stopped");
		CHECK_STR(i[0].reason_code, "Client.InternalError");
		CHECK_STR(i[0].reason, "Client.InternalError: Client error on launch");
		CHECK(i[0].hibernation);
		CHECK_STR(i[1].reason_code, "Server.InsufficientInstanceCapacity");
		CHECK_STR(i[1].reason, "Server.InsufficientInstanceCapacity: Insufficient capacity "
				       "to satisfy instance request");
		CHECK(!i[1].hibernation);
	}
	vec_free(&in);
	free(s);

	s = load("ec2-start-instances.xml", &len);
	struct vec ch = { .size = sizeof(struct ec2_state_change), .max = 100 };
	CHECK_INT(ec2_decode_changes(s, len, &a, &ch, err, sizeof(err)), BOT_OK);
	CHECK_INT(ch.n, 1);
	if (ch.n) {
		const struct ec2_state_change *c = ch.v;
		CHECK_STR(c->id, "i-1234567890abcdef0");
		CHECK_STR(c->previous, "stopped");
		CHECK_STR(c->current, "pending");
	}
	vec_free(&ch);
	free(s);

	s = load("ecr-describe-images.json", &len);
	struct vec im = { .size = sizeof(struct ecr_image), .max = 100 };
	CHECK_INT(ecr_decode_images(s, len, &a, &im, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(im.n, 1);
	CHECK_STR(next, "ukD72mdD/mC8b5xV3susmJzzaTgp3hKwR9nRJ2Ie+Jw=");
	if (im.n) {
		const struct ecr_image *i = im.v;
		CHECK_STR(i->tag, "v1.2.3");
		CHECK_STR(i->rule, "version");
		CHECK_INT(i->n_tags, 2);
		CHECK_INT(i->pushed_at, 1714564800);
		CHECK_INT(i->size_bytes, 24542216);
		CHECK(strncmp(i->digest, "sha256:764f", 11) == 0);
	}
	vec_free(&im);
	free(s);

	s = load("sts-get-caller-identity.xml", &len);
	struct sts_identity who;
	CHECK_INT(sts_decode_identity(s, len, &a, &who, err, sizeof(err)), BOT_OK);
	CHECK_STR(who.account, "123456789012");
	CHECK_STR(who.arn, "arn:aws:sts::123456789012:assumed-role/ops/discord-bot");
	CHECK_STR(who.user_id, "AROAEXAMPLEID:discord-bot");
	free(s);

	s = load("sts-assume-role.xml", &len);
	struct aws_cred_fields c;
	CHECK_INT(sts_decode_credentials(s, len, "AssumeRoleResult", &a, &c, err, sizeof(err)),
		  BOT_OK);
	CHECK_STR(c.access_key, "ASIAIOSFODNN7EXAMPLE");
	CHECK_STR(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	CHECK(strncmp(c.token, "AQoDYXdzEPT", 11) == 0);
	CHECK_INT(c.expiration, 1714568400);
	/* the wrong result element is refused */
	CHECK_INT(sts_decode_credentials(s, len, "AssumeRoleWithWebIdentityResult", &a, &c, err,
					 sizeof(err)),
		  BOT_EPARSE);
	free(s);
	arena_free(&a);
}

/* Every prefix of every sample: no crash, and never a success that
 * invents data (a cut before the root's end tag is an error). */
static void test_truncations(void)
{
	static const char *const files[] = {
		"cfn-create-stack.xml",
		"cfn-describe-stack-events.xml",
		"cfn-describe-stacks.xml",
		"cfn-error-stack-does-not-exist.xml",
		"ec2-describe-instances.xml",
		"ec2-describe-instances-reasons.xml",
		"ec2-error.xml",
		"ec2-start-instances.xml",
		"ecr-describe-images.json",
		"json-error-repository-not-found.json",
		"json-error-throttling.json",
		"sts-assume-role.xml",
		"sts-get-caller-identity.xml",
	};
	int cuts = 0, ok_cuts = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *s = load(files[f], &len);
		if (!s) {
			check_failed++;
			continue;
		}
		/* the document's real end (without trailing whitespace) */
		size_t end = len;
		while (end && (s[end - 1] == '\n' || s[end - 1] == ' '))
			end--;
		for (size_t n = 0; n < len; n++) {
			char *cut = malloc(n + 1); /* exact size: ASan sees over-reads */
			memcpy(cut, s, n);
			cut[n] = '\0';
			struct arena a = { 0 };
			char err[200], code[64], msg[512];
			const char *next;
			struct cfn_stack st;
			struct sts_identity who;
			struct aws_cred_fields c;
			const char *id;
			struct vec v1 = { .size = sizeof(struct cfn_event), .max = 100 };
			struct vec v2 = { .size = sizeof(struct ec2_instance), .max = 100 };
			struct vec v3 = { .size = sizeof(struct ecr_image), .max = 100 };
			struct vec v4 = { .size = sizeof(struct ec2_state_change), .max = 100 };
			enum bot_rc r[8];
			r[0] = cfn_decode_stack(cut, n, &a, &st, err, sizeof(err));
			r[1] = cfn_decode_create(cut, n, &a, &id, err, sizeof(err));
			r[2] = cfn_decode_events(cut, n, &a, &v1, &next, err, sizeof(err));
			r[3] = ec2_decode_instances(cut, n, &a, &v2, &next, err, sizeof(err));
			r[4] = ecr_decode_images(cut, n, &a, &v3, &next, err, sizeof(err));
			r[5] = ec2_decode_changes(cut, n, &a, &v4, err, sizeof(err));
			r[6] = sts_decode_identity(cut, n, &a, &who, err, sizeof(err));
			r[7] = sts_decode_credentials(cut, n, "AssumeRoleResult", &a, &c, err,
						      sizeof(err));
			aws_parse_error(cut, n, NULL, code, sizeof(code), msg, sizeof(msg));
			aws_decode_json_credentials(cut, n, &a, &c, err, sizeof(err));
			bool any_ok = false;
			for (int k = 0; k < 8; k++)
				any_ok |= r[k] == BOT_OK;
			if (n < end) {
				if (any_ok) {
					check_failed++;
					fprintf(stderr, "FAIL %s cut at %zu decoded as OK\n",
						files[f], n);
				} else {
					check_passed++;
				}
				ok_cuts++;
			}
			cuts++;
			vec_free(&v1);
			vec_free(&v2);
			vec_free(&v3);
			vec_free(&v4);
			arena_free(&a);
			free(cut);
		}
		free(s);
	}
	printf("truncations: %d cuts, %d strictly before the end refused\n", cuts, ok_cuts);
}

static void test_hostile(void)
{
	struct arena a = { 0 };
	char err[200];
	const char *next;
	struct vec im = { .size = sizeof(struct ecr_image), .max = 1000 };

#define ECR_BAD(json, needle)                                                                  \
	do {                                                                                   \
		const char *j_ = (json);                                                       \
		CHECK_INT(ecr_decode_images(j_, strlen(j_), &a, &im, &next, err, sizeof(err)), \
			  BOT_EPARSE);                                                         \
		CHECK(strstr(err, needle) != NULL);                                            \
	} while (0)

	ECR_BAD("[]", "not a JSON object");
	ECR_BAD("{}", "imageDetails");
	ECR_BAD("{\"imageDetails\":{}}", "imageDetails");
	ECR_BAD("{\"imageDetails\":[1]}", "imageDetails[0]");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":5}]}", "imageDigest");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":\"d\",\"imageTags\":\"v1\","
		"\"imagePushedAt\":1}]}",
		"imageTags");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":\"d\",\"imageTags\":[\"v1\"],"
		"\"imagePushedAt\":\"yesterday\"}]}",
		"imagePushedAt");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":\"d\",\"imageTags\":[\"v1\"],"
		"\"imagePushedAt\":-5}]}",
		"imagePushedAt");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":\"d\",\"imageTags\":[7],"
		"\"imagePushedAt\":1}]}",
		"non-string");
	ECR_BAD("{\"imageDetails\":[],\"nextToken\":12}", "nextToken");
	ECR_BAD("{\"imageDetails\":[{\"imageDigest\":\"d\",\"imageTags\":[\"v\"],"
		"\"imagePushedAt\":1e400}]}",
		"imagePushedAt");
	/* untagged images are skipped, not errors; null nextToken is the end */
	const char *ok = "{\"imageDetails\":[{\"imageDigest\":\"d\",\"imagePushedAt\":1},"
			 "{\"imageDigest\":\"e\",\"imageTags\":[],\"imagePushedAt\":2}],"
			 "\"nextToken\":null}";
	im.n = 0;
	CHECK_INT(ecr_decode_images(ok, strlen(ok), &a, &im, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(im.n, 0);
	CHECK(next == NULL);

	/* a large page: 20000 images, tags chosen per image */
	struct buf big = { 0 };
	buf_adds(&big, "{\"imageDetails\":[");
	for (int i = 0; i < 20000; i++)
		buf_addf(&big,
			 "%s{\"imageDigest\":\"sha256:%064d\",\"imageTags\":[\"latest\",\"g%07x\"],"
			 "\"imagePushedAt\":%d.5}",
			 i ? "," : "", i, 0xa000000 + i, 1700000000 + (i * 7919) % 20000);
	buf_adds(&big, "]}");
	struct vec many = { .size = sizeof(struct ecr_image), .max = 100000 };
	CHECK_INT(ecr_decode_images(big.p, big.len, &a, &many, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(many.n, 20000);
	ecr_sort_newest(many.v, many.n);
	const struct ecr_image *newest = many.v;
	CHECK_INT(newest->pushed_at, 1700000000 + 19999);
	CHECK_STR(newest->rule, "git sha");
	/* sub-second push times order images pushed in the same second */
	const char *ms = "{\"imageDetails\":[{\"imageDigest\":\"a\",\"imageTags\":[\"early\"],"
			 "\"imagePushedAt\":1700000000.2},{\"imageDigest\":\"b\",\"imageTags\":"
			 "[\"late\"],\"imagePushedAt\":1700000000.7}]}";
	struct vec two = { .size = sizeof(struct ecr_image), .max = 10 };
	CHECK_INT(ecr_decode_images(ms, strlen(ms), &a, &two, &next, err, sizeof(err)), BOT_OK);
	ecr_sort_newest(two.v, two.n);
	CHECK_STR(((const struct ecr_image *)two.v)->tag, "late");
	vec_free(&two);
	/* the vector bound is an error, not a crash */
	struct vec few = { .size = sizeof(struct ecr_image), .max = 10 };
	CHECK_INT(ecr_decode_images(big.p, big.len, &a, &few, &next, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "too many") != NULL);
	vec_free(&few);
	vec_free(&many);
	buf_free(&big);

	/* XML: wrong document, entity expansion, external entities, nesting */
	struct cfn_stack st;
	const char *x = "<DescribeInstancesResponse/>";
	CHECK_INT(cfn_decode_stack(x, strlen(x), &a, &st, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "unexpected XML root") != NULL);
	x = "<DescribeStacksResponse><DescribeStacksResult><Stacks/></DescribeStacksResult>"
	    "</DescribeStacksResponse>";
	CHECK_INT(cfn_decode_stack(x, strlen(x), &a, &st, err, sizeof(err)), BOT_ENOTFOUND);
	x = "<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>x"
	    "</StackName></member></Stacks></DescribeStacksResult></DescribeStacksResponse>";
	CHECK_INT(cfn_decode_stack(x, strlen(x), &a, &st, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "StackId") != NULL);
	x = "not xml at all";
	CHECK_INT(cfn_decode_stack(x, strlen(x), &a, &st, err, sizeof(err)), BOT_EPARSE);
	CHECK(strstr(err, "malformed XML") != NULL);
	CHECK_INT(cfn_decode_stack("", 0, &a, &st, err, sizeof(err)), BOT_EPARSE);
	CHECK_INT(cfn_decode_stack(NULL, 0, &a, &st, err, sizeof(err)), BOT_EPARSE);

	const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			   "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
			   "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
			   "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
			   "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
			   "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
			   "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
			   "]><GetCallerIdentityResponse><GetCallerIdentityResult><Account>&lol7;"
			   "</Account><Arn>a</Arn></GetCallerIdentityResult>"
			   "</GetCallerIdentityResponse>";
	struct sts_identity who;
	enum bot_rc r = sts_decode_identity(bomb, strlen(bomb), &a, &who, err, sizeof(err));
	CHECK(r == BOT_EPARSE || (r == BOT_OK && strlen(who.account) < 100000));

	const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
			  "\"file:///etc/passwd\">]><GetCallerIdentityResponse>"
			  "<GetCallerIdentityResult><Account>&x;</Account><Arn>a</Arn>"
			  "</GetCallerIdentityResult></GetCallerIdentityResponse>";
	r = sts_decode_identity(xxe, strlen(xxe), &a, &who, err, sizeof(err));
	CHECK(r == BOT_EPARSE || (r == BOT_OK && strstr(who.account, "root:") == NULL));

	struct buf deep = { 0 };
	for (int i = 0; i < 5000; i++)
		buf_adds(&deep, "<a>");
	for (int i = 0; i < 5000; i++)
		buf_adds(&deep, "</a>");
	CHECK_INT(sts_decode_identity(deep.p, deep.len, &a, &who, err, sizeof(err)), BOT_EPARSE);
	buf_free(&deep);

	char code[64], msg[512];
	/* moto's shape: <ErrorResponse><Errors><Error> */
	const char *moto = "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>"
			   "SignatureDoesNotMatch</Code><Message>bad sig</Message></Error></Errors>"
			   "</ErrorResponse>";
	aws_parse_error(moto, strlen(moto), NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "SignatureDoesNotMatch");
	CHECK_STR(msg, "bad sig");

	/* errors: HTML from a proxy, JSON without __type (header used), junk */
	const char *html = "<html><body>502 Bad Gateway</body></html>";
	aws_parse_error(html, strlen(html), NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "");
	const char *js = "{\"message\":\"slow down\"}";
	aws_parse_error(js, strlen(js), "ThrottlingException:http://internal.amazon.com/", code,
			sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "ThrottlingException");
	CHECK_STR(msg, "slow down");
	const char *nl = "{\"__type\":\"X\",\"message\":\"line1\\nline2\"}";
	aws_parse_error(nl, strlen(nl), NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(msg, "line1 line2"); /* one line for logs and embeds */
	aws_parse_error("\x01\x02", 2, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_STR(code, "");
	struct buf longmsg = { 0 };
	buf_adds(&longmsg, "{\"__type\":\"");
	for (int i = 0; i < 1000; i++)
		buf_adds(&longmsg, "C");
	buf_adds(&longmsg, "\",\"message\":\"");
	for (int i = 0; i < 5000; i++)
		buf_adds(&longmsg, "m");
	buf_adds(&longmsg, "\"}");
	aws_parse_error(longmsg.p, longmsg.len, NULL, code, sizeof(code), msg, sizeof(msg));
	CHECK_INT(strlen(code), sizeof(code) - 1);
	CHECK_INT(strlen(msg), sizeof(msg) - 1);
	buf_free(&longmsg);

	/* credentials JSON */
	struct aws_cred_fields c;
	const char *ecs = "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Token\":\"T\","
			  "\"Expiration\":\"2024-05-01T13:00:00Z\"}";
	CHECK_INT(aws_decode_json_credentials(ecs, strlen(ecs), &a, &c, err, sizeof(err)), BOT_OK);
	CHECK_STR(c.token, "T");
	CHECK_INT(c.expiration, 1714568400);
	const char *proc = "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\","
			   "\"SessionToken\":\"ST\"}";
	CHECK_INT(aws_decode_json_credentials(proc, strlen(proc), &a, &c, err, sizeof(err)),
		  BOT_OK);
	CHECK_STR(c.token, "ST");
	CHECK_INT(c.expiration, 0);
	const char *imds_fail =
		"{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}";
	CHECK_INT(
		aws_decode_json_credentials(imds_fail, strlen(imds_fail), &a, &c, err, sizeof(err)),
		BOT_EPARSE);
	const char *wrong = "{\"AccessKeyId\":1,\"SecretAccessKey\":\"S\"}";
	CHECK_INT(aws_decode_json_credentials(wrong, strlen(wrong), &a, &c, err, sizeof(err)),
		  BOT_EPARSE);
	const char *badexp =
		"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"x\"}";
	CHECK_INT(aws_decode_json_credentials(badexp, strlen(badexp), &a, &c, err, sizeof(err)),
		  BOT_EPARSE);

	vec_free(&im);
	arena_free(&a);
}

static void test_times(void)
{
	CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00Z"), 1440938160);
	CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00.123Z"), 1440938160);
	CHECK_INT(aws_parse_iso8601("2015-08-30T21:36:00+09:00"), 1440938160);
	CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00"), 1440938160);
	CHECK_INT(aws_parse_iso8601("2015-08-30"), -1);
	CHECK_INT(aws_parse_iso8601("2015-13-30T12:36:00Z"), -1);
	CHECK_INT(aws_parse_iso8601("2015-08-30T12:36:00Zjunk"), -1);
	CHECK_INT(aws_parse_iso8601(NULL), -1);
}

static void test_pick_tag(void)
{
	const char *rule;
	const char *t1[] = { "latest", "v1.2.3" };
	CHECK_STR(ecr_pick_tag(t1, 2, &rule), "v1.2.3");
	CHECK_STR(rule, "version");
	const char *t2[] = { "latest", "1.4.0", "3f2a9c1" };
	CHECK_STR(ecr_pick_tag(t2, 3, &rule), "3f2a9c1");
	CHECK_STR(rule, "git sha");
	const char *t3[] = { "main", "main-3f2a9c1d" };
	CHECK_STR(ecr_pick_tag(t3, 2, &rule), "main-3f2a9c1d");
	CHECK_STR(rule, "git sha");
	const char *t4[] = { "latest", "feature-login" };
	CHECK_STR(ecr_pick_tag(t4, 2, &rule), "feature-login");
	CHECK_STR(rule, "not a moving tag");
	const char *t5[] = { "latest", "prod" };
	CHECK_STR(ecr_pick_tag(t5, 2, &rule), "latest");
	CHECK_STR(rule, "moving tag");
	const char *t6[] = { "latest" };
	CHECK_STR(ecr_pick_tag(t6, 1, &rule), "latest");
	CHECK_STR(rule, "only tag");
	const char *t7[] = { "2026.11.23", "staging" };
	CHECK_STR(ecr_pick_tag(t7, 2, &rule), "2026.11.23");
	const char *t8[] = { "build-42", "v2.0.0-rc1", "sha-0123456789abcdef0123" };
	CHECK_STR(ecr_pick_tag(t8, 3, &rule), "sha-0123456789abcdef0123");
	CHECK(ecr_pick_tag(NULL, 0, &rule) == NULL);
}

static struct cfn_event E(const char *logical, const char *type, const char *status,
			  const char *reason) {
	return (struct cfn_event){ .event_id = "e",
				   .stack_name = "app",
				   .logical_id = logical,
				   .physical_id = "",
				   .resource_type = type,
				   .status = status,
				   .reason = reason,
				   .timestamp = "" };
}

static void
test_failure_analysis(void)
{
	struct arena a = { 0 };
	struct cfn_failure f;
	bool complete;
	const char *S = "AWS::CloudFormation::Stack";
	/* a create that rolled back, newest first, preceded by an older
	 * operation that must not be looked at */
	struct cfn_event ev[] = {
		E("app", S, "ROLLBACK_COMPLETE", ""),
		E("Db", "AWS::RDS::DBInstance", "DELETE_COMPLETE", ""),
		E("app", S, "ROLLBACK_IN_PROGRESS",
		  "The following resource(s) failed to create: [Db, Queue]."),
		E("Db", "AWS::RDS::DBInstance", "CREATE_FAILED", "Resource creation cancelled"),
		E("Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Queue name already exists"),
		E("Db", "AWS::RDS::DBInstance", "CREATE_IN_PROGRESS", ""),
		E("app", S, "CREATE_IN_PROGRESS", "User Initiated"),
		E("Old", "AWS::S3::Bucket", "CREATE_FAILED", "older operation"),
	};
	cfn_analyze_failure(ev, 8, &a, &f, &complete);
	CHECK(complete);
	CHECK_INT(f.n_events, 7);
	CHECK(f.first_failed != NULL);
	if (f.first_failed)
		CHECK_STR(f.first_failed->logical_id, "Queue");
	CHECK_STR(f.summary, "Queue (AWS::SQS::Queue): Queue name already exists");
	CHECK_INT(f.n_delete_failed, 0);

	/* a delete that failed on two resources; one was retried and then
	 * deleted, so only one is still DELETE_FAILED */
	struct cfn_event del[] = {
		E("app", S, "DELETE_FAILED",
		  "The following resource(s) failed to delete: [Bucket]."),
		E("Role", "AWS::IAM::Role", "DELETE_COMPLETE", ""),
		E("Bucket", "AWS::S3::Bucket", "DELETE_FAILED",
		  "The bucket you tried to delete is not empty"),
		E("Role", "AWS::IAM::Role", "DELETE_FAILED", "transient"),
		E("app", S, "DELETE_IN_PROGRESS", "User Initiated"),
	};
	cfn_analyze_failure(del, 5, &a, &f, &complete);
	CHECK(complete);
	CHECK_INT(f.n_delete_failed, 1);
	if (f.n_delete_failed)
		CHECK_STR(f.delete_failed[0].logical_id, "Bucket");
	CHECK(f.first_failed != NULL);
	if (f.first_failed)
		CHECK_STR(f.first_failed->logical_id, "Role"); /* oldest failure */

	/* no start marker yet (more pages needed); no failure at all */
	struct cfn_event partial[] = { E("X", "AWS::S3::Bucket", "CREATE_COMPLETE", "") };
	cfn_analyze_failure(partial, 1, &a, &f, &complete);
	CHECK(!complete);
	CHECK(f.first_failed == NULL);
	CHECK_STR(f.summary, "");
	cfn_analyze_failure(NULL, 0, &a, &f, &complete);
	CHECK(!complete);
	arena_free(&a);
}

/* The services built on the paged call, on answers moto 5.2.1 gave (tests/
 * data/aws-responses: asg-, rds-, ecs-, appas-*): sizes, states, tags. */
static void test_new_services(void)
{
	struct arena a = { 0 };
	char err[256] = "";
	size_t len;
	const char *next = NULL;

	char *s = load("asg-describe-groups.xml", &len);
	struct vec g = { .size = sizeof(struct asg_group), .max = 10 };
	CHECK_INT(asg_decode_groups(s, len, NULL, NULL, &a, &g, &next, err, sizeof(err)), BOT_OK);
	CHECK_INT(g.n, 1);
	const struct asg_group *grp = g.v;
	CHECK_STR(grp->name, "chat-ecs-asg");
	CHECK(grp->min == 1 && grp->desired == 2 && grp->max == 4);
	CHECK_INT(grp->n_instances, 2);
	CHECK_INT(grp->n_ready, 2);
	CHECK_INT(grp->n_suspended, 1); /* AZRebalance */
	CHECK_INT(grp->n_tags, 1);      /* the tags, for the exemptions */
	CHECK(grp->n_tags == 1 && strcmp(grp->tags[0].key, "envbot") == 0 &&
	      strcmp(grp->tags[0].value, "staging") == 0);
	CHECK(next == NULL);
	vec_free(&g);
	struct vec none = { .size = sizeof(struct asg_group), .max = 10 };
	CHECK_INT(asg_decode_groups(s, len, "envbot", "prod", &a, &none, &next, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(none.n, 0);
	CHECK_INT(
		asg_decode_groups(s, len, "envbot", "staging", &a, &none, &next, err, sizeof(err)),
		BOT_OK);
	CHECK_INT(none.n, 1);
	vec_free(&none);
	free(s);

	/* moto's DescribeRegions: the regions not opted in are left out */
	s = load("ec2-describe-regions.xml", &len);
	struct vec rn = { .size = sizeof(const char *), .max = 100 };
	CHECK_INT(ec2_decode_regions(s, len, &a, &rn, err, sizeof(err)), BOT_OK);
	bool seoul = false, hk = false;
	for (size_t i = 0; i < rn.n; i++) {
		const char *r = ((const char **)rn.v)[i];
		seoul = seoul || strcmp(r, "ap-northeast-2") == 0;
		hk = hk || strcmp(r, "ap-east-1") == 0; /* not-opted-in */
	}
	CHECK(seoul && !hk);
	CHECK(rn.n >= 15 && rn.n < 38);
	vec_free(&rn);
	CHECK_INT(ec2_decode_regions("<DescribeRegionsResponse><regionInfo><item><regionName/>"
				     "</item></regionInfo></DescribeRegionsResponse>",
				     102, &a, &rn, err, sizeof(err)),
		  BOT_EPARSE);
	vec_free(&rn);
	free(s);

	s = load("rds-describe-db-clusters.xml", &len);
	struct vec d = { .size = sizeof(struct rds_db), .max = 10 };
	CHECK_INT(rds_decode_dbs(s, len, RDS_CLUSTER, "envbot", "staging", &a, &d, &next, err,
				 sizeof(err)),
		  BOT_OK);
	CHECK_INT(d.n, 1);
	const struct rds_db *db = d.v;
	CHECK_STR(db->id, "chat-graph");
	CHECK_STR(db->status, "available");
	CHECK_STR(db->engine, "neptune");
	CHECK(db->n_tags == 1 && strcmp(db->tags[0].key, "envbot") == 0 &&
	      strcmp(db->tags[0].value, "staging") == 0);
	/* a cluster answer is not an instance answer */
	CHECK_INT(rds_decode_dbs(s, len, RDS_INSTANCE, NULL, NULL, &a, &d, &next, err, sizeof(err)),
		  BOT_EPARSE);
	vec_free(&d);
	free(s);
	s = load("rds-describe-db-instances.xml", &len);
	struct vec di = { .size = sizeof(struct rds_db), .max = 10 };
	CHECK_INT(
		rds_decode_dbs(s, len, RDS_INSTANCE, NULL, NULL, &a, &di, &next, err, sizeof(err)),
		BOT_OK);
	CHECK_INT(di.n, 1);
	db = di.v;
	CHECK_STR(db->id, "chat-pg");
	CHECK_STR(db->engine, "postgres");
	CHECK_STR(db->cluster, "");
	vec_free(&di);
	free(s);

	s = load("ecs-describe-services.json", &len);
	struct vec sv = { .size = sizeof(struct ecs_service), .max = 10 };
	CHECK_INT(ecs_decode_services(s, len, "envbot", "staging", &a, &sv, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(sv.n, 1);
	const struct ecs_service *e = sv.v;
	CHECK_STR(e->name, "chat-http");
	CHECK_STR(e->status, "ACTIVE");
	CHECK(e->desired == 3 && e->running == 0);
	CHECK_INT(e->n_deployments, 1);
	CHECK(e->n_tags == 1 && strcmp(e->tags[0].key, "envbot") == 0 &&
	      strcmp(e->tags[0].value, "staging") == 0);
	vec_free(&sv);
	struct vec sv2 = { .size = sizeof(struct ecs_service), .max = 10 };
	CHECK_INT(ecs_decode_services(s, len, "envbot", "prod", &a, &sv2, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(sv2.n, 0);
	vec_free(&sv2);
	free(s);

	s = load("appas-describe-scalable-targets.json", &len);
	bool found = false;
	long long mn = -1, mx = -1;
	CHECK_INT(appas_decode_target(s, len, &found, &mn, &mx, err, sizeof(err)), BOT_OK);
	CHECK(found && mn == 2 && mx == 6);
	CHECK_INT(appas_decode_target("{}", 2, &found, &mn, &mx, err, sizeof(err)), BOT_EPARSE);
	/* what the fuzzer found: a count no long long holds is a broken answer */
	static const char huge[] =
		"{\"ScalableTargets\":[{\"MinCapacity\":1.7e92,\"MaxCapacity\":2}]}";
	CHECK_INT(appas_decode_target(huge, sizeof(huge) - 1, &found, &mn, &mx, err, sizeof(err)),
		  BOT_EPARSE);
	static const char half[] = "{\"services\":[{\"serviceName\":\"a\",\"desiredCount\":1.5,"
				   "\"runningCount\":0,\"pendingCount\":0}]}";
	struct vec sv3 = { .size = sizeof(struct ecs_service), .max = 10 };
	CHECK_INT(
		ecs_decode_services(half, sizeof(half) - 1, NULL, NULL, &a, &sv3, err, sizeof(err)),
		BOT_EPARSE);
	vec_free(&sv3);
	free(s);
	arena_free(&a);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TESTDATA_DIR\n", argv[0]);
		return 2;
	}
	testdata = argv[1];
	check_testdata(testdata, (const char *const[]){ "aws-responses", NULL });
	test_samples();
	test_truncations();
	test_hostile();
	test_times();
	test_pick_tag();
	test_failure_analysis();
	test_new_services();
	return check_done();
}
