/* A command-line driver of the AWS module for end-to-end tests (moto):
 * one call per run, the result as one JSON line on stdout.
 *   test_aws_probe ENDPOINT REGION COMMAND [ARGS...]
 *   identity | describe-stack NAME | create-stack NAME URL [K=V...]
 *   | delete-stack NAME | failure STACK_ID | newest REPO | tags REPO N
 *   | by-tag KEY VALUE | start ID... | stop ID...
 * Credentials come from the standard chain (environment, profiles...).
 * Exit: 0 ok, 4 not found, 3 auth refused, 1 other failure, 2 usage. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws.h"

struct probe {
	struct loop *loop;
	struct aws *aws;
	cJSON *out;
	enum bot_rc rc;
};

static void finish(struct probe *p, const struct aws_err *err)
{
	p->rc = err->rc;
	cJSON_AddStringToObject(p->out, "rc", bot_strerror(err->rc));
	cJSON_AddStringToObject(p->out, "code", err->code);
	cJSON_AddStringToObject(p->out, "message", err->message);
	cJSON_AddNumberToObject(p->out, "attempts", err->attempts);
	loop_stop(p->loop);
}

static void on_ident(void *arg, const struct aws_err *e, const struct sts_identity *id)
{
	struct probe *p = arg;
	if (id) {
		cJSON_AddStringToObject(p->out, "account", id->account);
		cJSON_AddStringToObject(p->out, "arn", id->arn);
	}
	cJSON_AddStringToObject(p->out, "source", aws_credentials_source(p->aws));
	finish(p, e);
}

static void on_stack(void *arg, const struct aws_err *e, const struct cfn_stack *s)
{
	struct probe *p = arg;
	if (s) {
		cJSON_AddStringToObject(p->out, "id", s->id);
		cJSON_AddStringToObject(p->out, "status", s->status);
		cJSON *params = cJSON_AddObjectToObject(p->out, "parameters");
		for (size_t i = 0; i < s->n_parameters; i++)
			cJSON_AddStringToObject(params, s->parameters[i].key,
						s->parameters[i].value);
		cJSON *outs = cJSON_AddObjectToObject(p->out, "outputs");
		for (size_t i = 0; i < s->n_outputs; i++)
			cJSON_AddStringToObject(outs, s->outputs[i].key, s->outputs[i].value);
	}
	finish(p, e);
}

static void on_id(void *arg, const struct aws_err *e, const char *id)
{
	struct probe *p = arg;
	if (id)
		cJSON_AddStringToObject(p->out, "id", id);
	finish(p, e);
}

static void on_done(void *arg, const struct aws_err *e)
{
	finish(arg, e);
}

static void on_failure(void *arg, const struct aws_err *e, const struct cfn_failure *f)
{
	struct probe *p = arg;
	if (f) {
		cJSON_AddStringToObject(p->out, "summary", f->summary);
		cJSON_AddNumberToObject(p->out, "events", (double)f->n_events);
		cJSON_AddNumberToObject(p->out, "delete_failed", (double)f->n_delete_failed);
	}
	finish(p, e);
}

static void add_image(cJSON *o, const struct ecr_image *img)
{
	cJSON_AddStringToObject(o, "tag", img->tag);
	cJSON_AddStringToObject(o, "rule", img->rule);
	cJSON_AddStringToObject(o, "digest", img->digest);
	cJSON_AddNumberToObject(o, "pushed_at", (double)img->pushed_at);
}

static void on_newest(void *arg, const struct aws_err *e, const struct ecr_newest *n)
{
	struct probe *p = arg;
	if (n) {
		if (n->image)
			add_image(p->out, n->image);
		cJSON_AddNumberToObject(p->out, "images", (double)n->n_images);
		cJSON_AddNumberToObject(p->out, "pages", (double)n->n_pages);
	}
	finish(p, e);
}

static void on_list(void *arg, const struct aws_err *e, const struct ecr_image_list *l)
{
	struct probe *p = arg;
	if (l) {
		cJSON *a = cJSON_AddArrayToObject(p->out, "list");
		for (size_t i = 0; i < l->n; i++) {
			cJSON *o = cJSON_CreateObject();
			add_image(o, &l->images[i]);
			cJSON_AddItemToArray(a, o);
		}
		cJSON_AddNumberToObject(p->out, "images", (double)l->n_images);
	}
	finish(p, e);
}

static void on_instances(void *arg, const struct aws_err *e, const struct ec2_instances *l)
{
	struct probe *p = arg;
	if (l) {
		cJSON *a = cJSON_AddArrayToObject(p->out, "instances");
		for (size_t i = 0; i < l->n; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", l->v[i].id);
			cJSON_AddStringToObject(o, "state", l->v[i].state);
			cJSON_AddStringToObject(o, "name", l->v[i].name);
			cJSON_AddBoolToObject(o, "asg", l->v[i].in_asg);
			cJSON_AddItemToArray(a, o);
		}
		cJSON_AddNumberToObject(p->out, "asg", (double)l->n_asg);
	}
	finish(p, e);
}

static void on_changes(void *arg, const struct aws_err *e, const struct ec2_changes *c)
{
	struct probe *p = arg;
	if (c) {
		cJSON *a = cJSON_AddArrayToObject(p->out, "changes");
		for (size_t i = 0; i < c->n; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", c->v[i].id);
			cJSON_AddStringToObject(o, "previous", c->v[i].previous);
			cJSON_AddStringToObject(o, "current", c->v[i].current);
			cJSON_AddItemToArray(a, o);
		}
	}
	finish(p, e);
}

static int usage(void)
{
	fprintf(stderr, "usage: test_aws_probe ENDPOINT REGION identity|describe-stack NAME|"
			"create-stack NAME URL [K=V...]|delete-stack NAME|failure ID|newest REPO|"
			"tags REPO N|by-tag KEY VALUE|start ID...|stop ID...\n");
	return 2;
}

static enum bot_rc start(struct probe *p, int argc, char **argv)
{
	const char *cmd = argv[0];
	if (strcmp(cmd, "identity") == 0)
		return sts_get_caller_identity(p->aws, on_ident, p);
	if (strcmp(cmd, "describe-stack") == 0 && argc == 2)
		return cfn_describe_stack(p->aws, argv[1], on_stack, p);
	if (strcmp(cmd, "create-stack") == 0 && argc >= 3) {
		static struct cfn_kv params[32];
		static char *keys[32];
		size_t n = 0;
		for (int i = 3; i < argc && n < 32; i++) {
			char *eq = strchr(argv[i], '=');
			if (!eq)
				return BOT_EINVAL;
			keys[n] = strndup(argv[i], (size_t)(eq - argv[i]));
			params[n] = (struct cfn_kv){ keys[n], eq + 1 };
			n++;
		}
		const char *caps[] = { "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM" };
		struct cfn_kv tags[] = { { "managed-by", "envbot" } };
		struct cfn_create_req req = { .stack_name = argv[1],
					      .template_url = argv[2],
					      .client_token = "probe-create-1",
					      .parameters = params,
					      .n_parameters = n,
					      .capabilities = caps,
					      .n_capabilities = 2,
					      .tags = tags,
					      .n_tags = 1 };
		enum bot_rc rc = cfn_create_stack(p->aws, &req, on_id, p);
		for (size_t i = 0; i < n; i++)
			free(keys[i]); /* copied by cfn_create_stack */
		return rc;
	}
	if (strcmp(cmd, "delete-stack") == 0 && argc == 2)
		return cfn_delete_stack(p->aws, argv[1], NULL, "probe-delete-1", on_done, p);
	if (strcmp(cmd, "failure") == 0 && argc == 2)
		return cfn_first_failure(p->aws, argv[1], on_failure, p);
	if (strcmp(cmd, "newest") == 0 && argc == 2)
		return ecr_newest_tag(p->aws, argv[1], on_newest, p);
	if (strcmp(cmd, "tags") == 0 && argc == 3)
		return ecr_list_tags(p->aws, argv[1], (size_t)atoi(argv[2]), on_list, p);
	if (strcmp(cmd, "by-tag") == 0 && argc == 3)
		return ec2_describe_by_tag(p->aws, argv[1], argv[2], on_instances, p);
	if (strcmp(cmd, "start") == 0)
		return ec2_start_instances(p->aws, (const char *const *)argv + 1, (size_t)argc - 1,
					   on_changes, p);
	if (strcmp(cmd, "stop") == 0)
		return ec2_stop_instances(p->aws, (const char *const *)argv + 1, (size_t)argc - 1,
					  on_changes, p);
	return BOT_EINVAL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	char endpoint[512], region[64], err[512];
	snprintf(endpoint, sizeof(endpoint), "%s", argv[1]);
	snprintf(region, sizeof(region), "%s", argv[2]);
	struct cfg cfg = { 0 };
	cfg.region = region;
	cfg.endpoint_url = endpoint;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct probe p = { .rc = BOT_EINVAL };
	int status = 1;
	p.loop = loop_create();
	p.out = cJSON_CreateObject();
	p.aws = aws_create(p.loop, &cfg, err, sizeof(err));
	if (!p.aws) {
		fprintf(stderr, "aws_create: %s\n", err);
		goto out;
	}
	if (start(&p, argc - 3, argv + 3) != BOT_OK) {
		status = usage();
		goto out;
	}
	loop_run(p.loop);
	char *s = cJSON_PrintUnformatted(p.out);
	printf("%s\n", s);
	free(s);
	status = p.rc == BOT_OK ? 0 : p.rc == BOT_ENOTFOUND ? 4 : p.rc == BOT_EAUTH ? 3 : 1;
out:
	aws_destroy(p.aws);
	loop_destroy(p.loop);
	cJSON_Delete(p.out);
	curl_global_cleanup();
	return status;
}
