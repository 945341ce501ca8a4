/* `envbot status [ENV]`: the live state of each environment, read from AWS
 * in parallel on the event loop: the account (STS), then per environment
 * what its kind reports (a stack's status and the image tag it runs against
 * the newest tag in ECR, EC2 instances by state: bot/kinds/).
 * Exit: 0, 1 a lookup failed, 2 usage/config, 3 credentials refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "../wf/kind.h"
#include "cli.h"

struct status;

struct env_status {
	struct status *owner;
	const struct cfg_env *env;
	char *report; /* the kind's lines (owned), NULL until it answered */
	int exit;
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

/* live is borrowed: its report is copied. */
static void on_live(void *arg, const struct kind_live *live)
{
	struct env_status *e = arg;
	e->report = strdup(live->report.p ? live->report.p : "");
	e->exit = e->report ? live->exit : EXIT_FAILED;
	one_done(e->owner);
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

int cli_status(const struct cli *cli, int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: envbot status [ENV]\n");
		return EXIT_USAGE;
	}
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != EXIT_OK)
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
		const struct kind *k = kind_of(env);
		if (!k || !k->live)
			continue;
		s.pending++;
		if (kind_live(aws, env, NULL, on_live, e) != BOT_OK)
			goto out;
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
		int st = s.envs[i].exit;
		if (s.envs[i].report)
			fputs(s.envs[i].report, stdout);
		if (st == EXIT_AUTH || (st == EXIT_FAILED && status != EXIT_AUTH))
			status = st;
	}
	fflush(stdout);
out:
	aws_destroy(aws);
	loop_destroy(s.loop);
	for (size_t i = 0; s.envs && i < s.n_envs; i++)
		free(s.envs[i].report);
	free(s.envs);
	cfg_destroy(cfg);
	return status;
}
