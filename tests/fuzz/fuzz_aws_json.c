/* Fuzzes the AWS JSON decoders of aws/decode.c: ECR DescribeImages (with the
 * tag choice and the newest-first sort), the JSON credential documents
 * (ECS/IMDS/credential_process), the JSON error shape and the ISO 8601
 * timestamps they carry. */
#include "../../aws/aws_internal.h"
#include "../../aws/ecr.h"
#include "../../bot/core/log.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	char *body = fuzz_strdup(data, size);
	struct arena a = { 0 };
	char err[256];

	struct vec im = { .size = sizeof(struct ecr_image), .max = 2000 };
	const char *next = NULL;
	if (ecr_decode_images(body, size, &a, &im, &next, err, sizeof(err)) == BOT_OK) {
		touch(next);
		struct ecr_image *v = im.v;
		ecr_sort_newest(v, im.n);
		for (size_t i = 0; i < im.n; i++) {
			touch(v[i].digest);
			touch(v[i].tag);
			touch(v[i].rule);
			for (size_t t = 0; t < v[i].n_tags; t++)
				touch(v[i].tags[t]);
			if (i > 0)
				FUZZ_CHECK(v[i - 1].pushed_at_ms >= v[i].pushed_at_ms);
		}
	}
	vec_free(&im);

	struct aws_cred_fields cf;
	if (aws_decode_json_credentials(body, size, &a, &cf, err, sizeof(err)) == BOT_OK) {
		touch(cf.access_key);
		touch(cf.secret_key);
		touch(cf.token);
	}

	char code[128], msg[512];
	aws_parse_error(body, size, "ThrottlingException:http://internal.amazon.com/", code,
			sizeof(code), msg, sizeof(msg));
	FUZZ_CHECK(strlen(code) < sizeof(code) && strlen(msg) < sizeof(msg));
	aws_parse_error(body, size, NULL, code, sizeof(code), msg, sizeof(msg));
	touch(code);
	touch(msg);

	(void)aws_parse_iso8601(body);
	struct vec svcs = { .size = sizeof(struct ecs_service), .max = 1000 };
	if (ecs_decode_services(body, size, "envbot", "staging", &a, &svcs, err, sizeof(err)) ==
	    BOT_OK) {
		const struct ecs_service *v = svcs.v;
		for (size_t i = 0; i < svcs.n; i++) {
			touch(v[i].name);
			for (size_t t = 0; t < v[i].n_tags; t++) {
				touch(v[i].tags[t].key);
				touch(v[i].tags[t].value);
			}
		}
	}
	vec_free(&svcs);
	bool found;
	long long mn, mx;
	if (appas_decode_target(body, size, &found, &mn, &mx, err, sizeof(err)) == BOT_OK && found)
		sink += (size_t)(mn + mx);
	arena_free(&a);
	free(body);
	return 0;
}
