/* `envbot status [ENV]`: the live state of each environment, read from AWS
 * in parallel on the event loop: the account (STS), per stack environment
 * the stack status and the image tag it runs (its image parameters) against
 * the newest tag in ECR, per EC2 environment its instances by state.
 * Exit: 0, 1 a lookup failed, 2 usage/config, 3 credentials refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "cli.h"

#define STATUS_MAX_INSTANCES 20 /* listed one per line; the rest summed up */

struct status;

struct env_status {
	struct status *owner;
	const struct cfg_env *env;
	struct aws_err stack_err, image_err, ec2_err;
	bool stack_done, image_done, ec2_done;
	bool stack_found;
	char stack_status[64], stack_reason[256], stack_time[40];
	char running[256]; /* distinct image parameter values */
	bool has_image;
	char newest_tag[128], newest_rule[40];
	int64_t newest_pushed;
	size_t n_images;
	/* EC2 */
	size_t n_instances, n_asg, n_running, n_stopped, n_other;
	char lines[STATUS_MAX_INSTANCES][160];
	size_t n_lines;
};

struct status {
	struct loop *loop;
	int pending;
	struct aws_err id_err;
	char account[32], arn[256];
	struct env_status *envs;
	size_t n_envs;
};

static void one_done(struct status *s)
{
	if (--s->pending == 0)
		loop_stop(s->loop);
}

static void on_identity(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct status *s = arg;
	s->id_err = *err;
	if (id) {
		snprintf(s->account, sizeof(s->account), "%s", id->account);
		snprintf(s->arn, sizeof(s->arn), "%s", id->arn);
	}
	one_done(s);
}

static void on_stack(void *arg, const struct aws_err *err, const struct cfn_stack *st)
{
	struct env_status *e = arg;
	e->stack_err = *err;
	e->stack_done = true;
	if (st) {
		e->stack_found = true;
		snprintf(e->stack_status, sizeof(e->stack_status), "%s", st->status);
		snprintf(e->stack_reason, sizeof(e->stack_reason), "%s", st->status_reason);
		snprintf(e->stack_time, sizeof(e->stack_time), "%s",
			 *st->last_updated_time ? st->last_updated_time : st->creation_time);
		/* the tag running: the values of the image parameters */
		for (size_t i = 0; i < e->env->n_image_parameters; i++) {
			for (size_t j = 0; j < st->n_parameters; j++) {
				if (strcmp(st->parameters[j].key, e->env->image_parameters[i]) != 0)
					continue;
				const char *v = st->parameters[j].value;
				if (strstr(e->running, v) && *v)
					continue; /* already listed (usually all equal) */
				size_t n = strlen(e->running);
				snprintf(e->running + n, sizeof(e->running) - n, "%s%s",
					 n ? ", " : "", v);
			}
		}
	}
	one_done(e->owner);
}

static void on_newest(void *arg, const struct aws_err *err, const struct ecr_newest *nw)
{
	struct env_status *e = arg;
	e->image_err = *err;
	e->image_done = true;
	if (nw) {
		e->n_images = nw->n_images;
		if (nw->image) {
			e->has_image = true;
			snprintf(e->newest_tag, sizeof(e->newest_tag), "%s", nw->image->tag);
			snprintf(e->newest_rule, sizeof(e->newest_rule), "%s", nw->image->rule);
			e->newest_pushed = nw->image->pushed_at;
		}
	}
	one_done(e->owner);
}

static void on_instances(void *arg, const struct aws_err *err, const struct ec2_instances *l)
{
	struct env_status *e = arg;
	e->ec2_err = *err;
	e->ec2_done = true;
	if (l) {
		e->n_instances = l->n;
		e->n_asg = l->n_asg;
		for (size_t i = 0; i < l->n; i++) {
			const struct ec2_instance *in = &l->v[i];
			if (strcmp(in->state, "running") == 0)
				e->n_running++;
			else if (strcmp(in->state, "stopped") == 0)
				e->n_stopped++;
			else
				e->n_other++;
			if (e->n_lines < STATUS_MAX_INSTANCES)
				snprintf(e->lines[e->n_lines++], sizeof(e->lines[0]),
					 "%s  %-13s %-11s %s%s%s%s", in->id, in->state, in->type,
					 in->name, in->in_asg ? "  (Auto Scaling group " : "",
					 in->in_asg ? in->asg_name : "", in->in_asg ? ")" : "");
		}
	}
	one_done(e->owner);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Worst result of a set: auth beats other failures (EXIT_AUTH over
 * EXIT_FAILED). */
static int fold_exit(int status, const struct aws_err *err)
{
	if (err->rc == BOT_OK || err->rc == BOT_ENOTFOUND)
		return status;
	if (err->rc == BOT_EAUTH)
		return EXIT_AUTH;
	return status == EXIT_AUTH ? EXIT_AUTH : EXIT_FAILED;
}

static void print_err(const char *what, const struct aws_err *err)
{
	printf("       %s: %s%s%s%s\n", what, bot_strerror(err->rc), err->code[0] ? " (" : "",
	       err->code, err->code[0] ? ")" : "");
	if (err->message[0])
		printf("         %s\n", err->message);
}

static int print_env(const struct env_status *e)
{
	int status = EXIT_OK;
	const struct cfg_env *env = e->env;
	if (env->kind == ENV_STACK) {
		if (e->stack_err.rc == BOT_ENOTFOUND) {
			printf("%-6s stack %s: not created (down)\n", env->name, env->stack_name);
		} else if (e->stack_err.rc != BOT_OK) {
			printf("%-6s stack %s: unknown\n", env->name, env->stack_name);
			print_err("DescribeStacks", &e->stack_err);
			status = fold_exit(status, &e->stack_err);
		} else {
			printf("%-6s stack %s: %s (since %s)\n", env->name, env->stack_name,
			       e->stack_status, e->stack_time);
			if (e->stack_reason[0])
				printf("       reason: %s\n", e->stack_reason);
		}
		if (env->image_repository) {
			char when[40] = "";
			const char *running = e->stack_found && e->running[0] ? e->running : "-";
			if (e->image_err.rc != BOT_OK) {
				printf("       image %s: running %s, newest unknown\n",
				       env->image_repository, running);
				print_err("DescribeImages", &e->image_err);
				status = fold_exit(status, &e->image_err);
			} else if (!e->has_image) {
				printf("       image %s: running %s, no tagged image in the "
				       "repository\n",
				       env->image_repository, running);
			} else {
				fmt_time(e->newest_pushed, when, sizeof(when));
				bool current =
					e->stack_found && strcmp(e->running, e->newest_tag) == 0;
				printf("       image %s: running %s, newest %s (pushed %s, %s; %zu "
				       "tagged images)%s\n",
				       env->image_repository, running, e->newest_tag, when,
				       e->newest_rule, e->n_images,
				       !e->stack_found ? ""
				       : current       ? " — up to date"
						       : " — differs");
			}
		}
	} else {
		printf("%-6s ec2 tag %s=%s: ", env->name, env->tag_key, env->tag_value);
		if (e->ec2_err.rc != BOT_OK) {
			printf("unknown\n");
			print_err("DescribeInstances", &e->ec2_err);
			return fold_exit(status, &e->ec2_err);
		}
		if (e->n_instances == 0) {
			printf("no instances\n");
			return status;
		}
		printf("%zu instance%s: %zu running, %zu stopped", e->n_instances,
		       e->n_instances == 1 ? "" : "s", e->n_running, e->n_stopped);
		if (e->n_other)
			printf(", %zu changing", e->n_other);
		if (e->n_asg)
			printf(" (%zu in Auto Scaling groups: left to the group)", e->n_asg);
		printf("\n");
		for (size_t i = 0; i < e->n_lines; i++)
			printf("       %s\n", e->lines[i]);
		if (e->n_instances > e->n_lines)
			printf("       ... and %zu more\n", e->n_instances - e->n_lines);
	}
	return status;
}

int cli_status(const struct cli *cli, int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: envbot status [ENV]\n");
		return EXIT_USAGE;
	}
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	struct status s = { 0 };
	struct aws *aws = NULL;
	char err[512];
	status = EXIT_USAGE;
	const struct cfg_env *only = NULL;
	if (argc == 2) {
		only = cfg_find_env(cfg, argv[1]);
		if (!only) {
			fprintf(stderr, "envbot: no environment named '%s' in %s\n", argv[1],
				cfg->path);
			goto out;
		}
	}
	s.envs = calloc(cfg->n_envs ? cfg->n_envs : 1, sizeof(*s.envs));
	s.loop = loop_create();
	status = EXIT_FAILED;
	if (!s.envs || !s.loop)
		goto out;
	aws = aws_create(s.loop, cfg, err, sizeof(err));
	if (!aws) {
		fprintf(stderr, "envbot: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	/* every lookup at once; the loop stops when the last one answered */
	s.pending = 1;
	if (sts_get_caller_identity(aws, on_identity, &s) != BOT_OK)
		goto out;
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct cfg_env *env = &cfg->envs[i];
		if (only && env != only)
			continue;
		struct env_status *e = &s.envs[s.n_envs++];
		e->env = env;
		e->owner = &s;
		if (env->kind == ENV_STACK) {
			s.pending++;
			if (cfn_describe_stack(aws, env->stack_name, on_stack, e) != BOT_OK)
				goto out;
			if (env->image_repository) {
				s.pending++;
				if (ecr_newest_tag(aws, env->image_repository, on_newest, e) !=
				    BOT_OK)
					goto out;
			}
		} else {
			s.pending++;
			if (ec2_describe_by_tag(aws, env->tag_key, env->tag_value, on_instances,
						e) != BOT_OK)
				goto out;
		}
	}
	if (loop_run(s.loop) != 0)
		goto out;

	status = EXIT_OK;
	if (s.id_err.rc == BOT_OK) {
		printf("account %s (%s), region %s, credentials from %s\n", s.account, s.arn,
		       aws_region(aws), aws_credentials_source(aws));
	} else {
		printf("account unknown: %s%s%s%s\n", bot_strerror(s.id_err.rc),
		       s.id_err.code[0] ? " (" : "", s.id_err.code, s.id_err.code[0] ? ")" : "");
		if (s.id_err.message[0])
			printf("  %s\n", s.id_err.message);
		status = fold_exit(status, &s.id_err);
	}
	for (size_t i = 0; i < s.n_envs; i++) {
		int st = print_env(&s.envs[i]);
		if (st == EXIT_AUTH || (st == EXIT_FAILED && status != EXIT_AUTH))
			status = st;
	}
	fflush(stdout);
out:
	aws_destroy(aws);
	loop_destroy(s.loop);
	free(s.envs);
	cfg_destroy(cfg);
	return status;
}
