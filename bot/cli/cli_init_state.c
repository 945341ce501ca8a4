/* `envbot init-state`: creates the DynamoDB table of state = { backend =
 * "dynamodb"; table; } when it is missing (on-demand billing, encrypted,
 * point-in-time recovery on), waits until it is ACTIVE, and otherwise says
 * what is there. A table of the wrong shape is reported, never changed.
 * The deploy template (deploy/cloudformation/envbot.yaml, StateTableName)
 * makes the same table; this is for installs without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "../core/loop.h"
#include "cli.h"

#define ACTIVE_WAIT_S 120

struct call {
	struct loop *loop;
	struct aws_err err;
	char *body;
};

static void on_answer(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct call *c = arg;
	c->err = *err;
	c->body = body ? strndup(body, len) : NULL;
	loop_stop(c->loop);
}

/* One call on the loop: credentials from the network are waited for. */
static int call(struct loop *loop, struct aws *aws, const char *op, const char *json,
		struct call *c)
{
	free(c->body);
	*c = (struct call){ .loop = loop };
	if (aws_call_json(aws, AWS_DDB, op, json, on_answer, c) != BOT_OK || loop_run(loop) != 0)
		return -1;
	return 0;
}

static bool missing(const struct aws_err *err)
{
	return err->rc == BOT_ENOTFOUND || strcmp(err->code, "ResourceNotFoundException") == 0;
}

/* "ACTIVE", "CREATING", ... and whether the key is the string hash key pk. */
static void table_shape(const char *body, char *status, size_t len, bool *key_ok)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "Table");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "TableStatus");
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(t, "KeySchema"), *k;
	int n = 0;
	*key_ok = false;
	snprintf(status, len, "%s", cJSON_IsString(st) ? st->valuestring : "?");
	cJSON_ArrayForEach(k, ks)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(k, "KeyType");
		n++;
		*key_ok = cJSON_IsString(name) && strcmp(name->valuestring, "pk") == 0 &&
			  cJSON_IsString(type) && strcmp(type->valuestring, "HASH") == 0;
	}
	if (n != 1)
		*key_ok = false;
	cJSON_Delete(o);
}

int cli_init_state(const struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: envbot init-state\n");
		return EXIT_USAGE;
	}
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	status = EXIT_USAGE;
	char err[700], req[600], st[32];
	bool key_ok = false;
	struct call c = { 0 };
	struct loop *loop = NULL;
	struct aws *aws = NULL;
	if (!cfg->state_ddb) {
		fprintf(stderr,
			"envbot: %s has no state = { backend = \"dynamodb\"; table = ...; }: the "
			"state file needs no set-up\n",
			cfg->path);
		goto out;
	}
	status = EXIT_FAILED;
	if (!(loop = loop_create()))
		goto out;
	aws = aws_create(loop, cfg, err, sizeof(err));
	struct aws_target t = { .region = cfg->state_region };
	struct aws *table = aws ? aws_for(aws, &t, err, sizeof(err)) : NULL;
	if (!table) {
		fprintf(stderr, "envbot: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	snprintf(req, sizeof(req), "{\"TableName\":\"%s\"}", cfg->state_table);
	if (call(loop, table, "DescribeTable", req, &c) != 0)
		goto out;
	if (c.err.rc == BOT_OK) {
		table_shape(c.body, st, sizeof(st), &key_ok);
		if (!key_ok) {
			fprintf(stderr,
				"envbot: table %s exists but its key is not the string hash key "
				"\"pk\": it is not envbot's; left alone\n",
				cfg->state_table);
			goto out;
		}
		printf("table %s in %s exists (%s): nothing to do\n", cfg->state_table,
		       aws_region(table), st);
		status = EXIT_OK;
		goto out;
	}
	if (!missing(&c.err)) {
		fprintf(stderr, "envbot: table %s: %s\n", cfg->state_table,
			aws_err_str(&c.err, err, sizeof(err)));
		status = c.err.rc == BOT_EAUTH ? EXIT_AUTH : EXIT_FAILED;
		goto out;
	}
	snprintf(req, sizeof(req),
		 "{\"TableName\":\"%s\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
		 "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
		 "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\",\"SSESpecification\":{"
		 "\"Enabled\":true},\"Tags\":[{\"Key\":\"envbot\",\"Value\":\"state\"}]}",
		 cfg->state_table);
	if (call(loop, table, "CreateTable", req, &c) != 0)
		goto out;
	if (c.err.rc != BOT_OK) {
		fprintf(stderr, "envbot: CreateTable %s: %s\n", cfg->state_table,
			aws_err_str(&c.err, err, sizeof(err)));
		status = c.err.rc == BOT_EAUTH ? EXIT_AUTH : EXIT_FAILED;
		goto out;
	}
	printf("table %s in %s created; waiting until it is ACTIVE\n", cfg->state_table,
	       aws_region(table));
	fflush(stdout);
	snprintf(req, sizeof(req), "{\"TableName\":\"%s\"}", cfg->state_table);
	for (time_t end = time(NULL) + ACTIVE_WAIT_S;;) {
		if (call(loop, table, "DescribeTable", req, &c) != 0)
			goto out;
		table_shape(c.body, st, sizeof(st), &key_ok);
		if (c.err.rc == BOT_OK && strcmp(st, "ACTIVE") == 0)
			break;
		if (time(NULL) >= end) {
			fprintf(stderr, "envbot: table %s still %s after %d s\n", cfg->state_table,
				st, ACTIVE_WAIT_S);
			goto out;
		}
		struct timespec pause = { .tv_sec = 2 };
		nanosleep(&pause, NULL);
	}
	/* Point-in-time recovery: the state is small and precious. A refusal
	 * here (a policy without the permission) leaves a working table. */
	snprintf(req, sizeof(req),
		 "{\"TableName\":\"%s\",\"PointInTimeRecoverySpecification\":{"
		 "\"PointInTimeRecoveryEnabled\":true}}",
		 cfg->state_table);
	if (call(loop, table, "UpdateContinuousBackups", req, &c) == 0 && c.err.rc != BOT_OK)
		fprintf(stderr, "envbot: warning: point-in-time recovery not turned on: %s\n",
			aws_err_str(&c.err, err, sizeof(err)));
	printf("table %s is ACTIVE; start the replicas with `envbot run`\n", cfg->state_table);
	status = EXIT_OK;
out:
	free(c.body);
	aws_destroy(aws);
	loop_destroy(loop);
	cfg_destroy(cfg);
	return status;
}
