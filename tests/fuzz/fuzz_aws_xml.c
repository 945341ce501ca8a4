/* Fuzzes the AWS XML decoders of aws/decode.c (CloudFormation, EC2, STS and
 * the XML error shapes): every response body an endpoint or a proxy can send
 * must decode to values or to BOT_EPARSE/BOT_ENOTFOUND with a reason. Each
 * input goes through every decoder, so one seed from any service reaches
 * them all; decoded strings are read to the end so that ASan sees any that
 * are not NUL-terminated or not in the arena. */
#include "../../aws/aws_internal.h"
#include "../../aws/cfn.h"
#include "../../aws/ec2.h"
#include "../../aws/sts.h"
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

static void decode_all(const char *body, size_t len)
{
	struct arena a = { 0 };
	char err[256];

	struct cfn_stack st;
	if (cfn_decode_stack(body, len, &a, &st, err, sizeof(err)) == BOT_OK) {
		touch(st.name);
		touch(st.status);
		touch(st.status_reason);
		for (size_t i = 0; i < st.n_parameters; i++) {
			touch(st.parameters[i].key);
			touch(st.parameters[i].value);
		}
		for (size_t i = 0; i < st.n_outputs; i++)
			touch(st.outputs[i].value);
		for (size_t i = 0; i < st.n_tags; i++)
			touch(st.tags[i].value);
	}

	const char *id = NULL;
	if (cfn_decode_create(body, len, &a, &id, err, sizeof(err)) == BOT_OK)
		touch(id);

	struct vec ev = { .size = sizeof(struct cfn_event), .max = 1000 };
	const char *next = NULL;
	if (cfn_decode_events(body, len, &a, &ev, &next, err, sizeof(err)) == BOT_OK) {
		touch(next);
		struct cfn_failure f;
		bool complete = false;
		cfn_analyze_failure(ev.v, ev.n, &a, &f, &complete);
		touch(f.summary);
		if (f.first_failed)
			touch(f.first_failed->reason);
		for (size_t i = 0; i < f.n_delete_failed; i++)
			touch(f.delete_failed[i].logical_id);
	}
	vec_free(&ev);

	struct vec in = { .size = sizeof(struct ec2_instance), .max = 1000 };
	next = NULL;
	if (ec2_decode_instances(body, len, &a, &in, &next, err, sizeof(err)) == BOT_OK) {
		const struct ec2_instance *v = in.v;
		for (size_t i = 0; i < in.n; i++) {
			touch(v[i].id);
			touch(v[i].state);
			touch(v[i].name);
			touch(v[i].asg_name);
			for (size_t t = 0; t < v[i].n_tags; t++) {
				touch(v[i].tags[t].key);
				touch(v[i].tags[t].value);
			}
		}
	}
	vec_free(&in);

	struct vec rn = { .size = sizeof(const char *), .max = 1000 };
	if (ec2_decode_regions(body, len, &a, &rn, err, sizeof(err)) == BOT_OK)
		for (size_t i = 0; i < rn.n; i++)
			touch(((const char **)rn.v)[i]);
	vec_free(&rn);

	struct vec ch = { .size = sizeof(struct ec2_state_change), .max = 1000 };
	if (ec2_decode_changes(body, len, &a, &ch, err, sizeof(err)) == BOT_OK) {
		const struct ec2_state_change *v = ch.v;
		for (size_t i = 0; i < ch.n; i++) {
			touch(v[i].id);
			touch(v[i].previous);
			touch(v[i].current);
		}
	}
	vec_free(&ch);

	struct sts_identity ident;
	if (sts_decode_identity(body, len, &a, &ident, err, sizeof(err)) == BOT_OK) {
		touch(ident.account);
		touch(ident.arn);
		touch(ident.user_id);
	}

	static const char *const results[] = { "AssumeRoleResult",
					       "AssumeRoleWithWebIdentityResult" };
	for (size_t i = 0; i < 2; i++) {
		struct aws_cred_fields cf;
		if (sts_decode_credentials(body, len, results[i], &a, &cf, err, sizeof(err)) ==
		    BOT_OK) {
			touch(cf.access_key);
			touch(cf.secret_key);
			touch(cf.token);
		}
	}

	char code[128], msg[512];
	aws_parse_error(body, len, NULL, code, sizeof(code), msg, sizeof(msg));
	FUZZ_CHECK(strlen(code) < sizeof(code) && strlen(msg) < sizeof(msg));
	touch(code);
	touch(msg);
	/* the services built on the paged call */
	struct vec groups = { .size = sizeof(struct asg_group), .max = 1000 };
	const char *token = NULL;
	if (asg_decode_groups(body, len, NULL, NULL, &a, &groups, &token, err, sizeof(err)) ==
	    BOT_OK) {
		const struct asg_group *g = groups.v;
		for (size_t i = 0; i < groups.n; i++) {
			touch(g[i].name);
			for (size_t t = 0; t < g[i].n_tags; t++) {
				touch(g[i].tags[t].key);
				touch(g[i].tags[t].value);
			}
		}
		touch(token);
	}
	vec_free(&groups);
	struct vec tagged = { .size = sizeof(struct asg_group), .max = 1000 };
	if (asg_decode_groups(body, len, "envbot", "staging", &a, &tagged, &token, err,
			      sizeof(err)) == BOT_OK)
		touch(token);
	vec_free(&tagged);
	for (int w = RDS_INSTANCE; w <= RDS_CLUSTER; w++) {
		struct vec dbs = { .size = sizeof(struct rds_db), .max = 1000 };
		const char *marker = NULL;
		if (rds_decode_dbs(body, len, (enum rds_what)w, w == RDS_CLUSTER ? "k" : NULL, "v",
				   &a, &dbs, &marker, err, sizeof(err)) == BOT_OK) {
			const struct rds_db *d = dbs.v;
			for (size_t i = 0; i < dbs.n; i++) {
				touch(d[i].id);
				touch(d[i].status);
				touch(d[i].cluster);
				for (size_t t = 0; t < d[i].n_tags; t++) {
					touch(d[i].tags[t].key);
					touch(d[i].tags[t].value);
				}
			}
			touch(marker);
		}
		vec_free(&dbs);
	}
	arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	/* The transport hands the decoders the body and its length; a NUL
	 * terminator is there too (struct buf), so keep that contract. */
	char *body = fuzz_strdup(data, size);
	decode_all(body, size);
	free(body);
	return 0;
}
