/* `envbot tags ENV [--count N]`: the newest image tags in the environment's
 * ECR repository, newest first, read over every DescribeImages page, with
 * the push time and which tag names each image (ecr_pick_tag's rule).
 * Exit: 0, 1 the lookup failed, 2 usage/config, 3 credentials refused. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "../wf/kind.h"
#include "cli.h"

#define TAGS_DEFAULT 10
#define TAGS_MAX     1000

struct tags_run {
	struct loop *loop;
	const char *repo;
	int status;
};

static void print_image(const struct ecr_image *img)
{
	char when[40];
	time_t t = (time_t)img->pushed_at;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	printf("  %s  %-28s %s", when, img->tag, img->rule);
	bool first = true;
	for (size_t i = 0; i < img->n_tags; i++) {
		if (img->tags[i] == img->tag)
			continue;
		printf("%s%s", first ? "  (also: " : ", ", img->tags[i]);
		first = false;
	}
	printf("%s\n", first ? "" : ")");
}

static void on_list(void *arg, const struct aws_err *err, const struct ecr_image_list *l)
{
	struct tags_run *r = arg;
	if (err->rc != BOT_OK) {
		fprintf(stderr, "envbot: %s: %s%s%s%s%s%s\n", r->repo, bot_strerror(err->rc),
			err->code[0] ? " (" : "", err->code, err->code[0] ? ")" : "",
			err->message[0] ? ": " : "", err->message);
		r->status = err->rc == BOT_EAUTH ? EXIT_AUTH : EXIT_FAILED;
	} else {
		printf("%s: %zu tagged image%s, newest first\n", r->repo, l->n_images,
		       l->n_images == 1 ? "" : "s");
		for (size_t i = 0; i < l->n; i++)
			print_image(&l->images[i]);
		r->status = EXIT_OK;
	}
	fflush(stdout);
	loop_stop(r->loop);
}

int cli_tags(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "count", required_argument, NULL, 'n' },
					      { 0, 0, 0, 0 } };
	long count = TAGS_DEFAULT;
	int o;
	/* 0, not 1: makes glibc forget main()'s "+" (stop at the first
	 * non-option) so "tags dev --count 3" permutes like "tags --count 3 dev" */
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		char *end = NULL;
		count = o == 'n' ? strtol(optarg, &end, 10) : -1;
		if (o != 'n' || !end || *end || count < 1 || count > TAGS_MAX) {
			fprintf(stderr, "usage: envbot tags ENV [--count N]   (N = 1..%d)\n",
				TAGS_MAX);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: envbot tags ENV [--count N]\n");
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	struct tags_run r = { .status = EXIT_FAILED };
	struct aws *aws = NULL;
	char err[512];
	status = EXIT_USAGE;
	const struct cfg_env *env = cfg_find_env(cfg, name);
	if (!env) {
		fprintf(stderr, "envbot: no environment named '%s' in %s\n", name, cfg->path);
		goto out;
	}
	if (!kind_image_repository(env)) {
		fprintf(stderr,
			"envbot: environment '%s' has no image repository (image.repository)\n",
			name);
		goto out;
	}
	r.repo = kind_image_repository(env);
	status = EXIT_FAILED;
	r.loop = loop_create();
	if (!r.loop)
		goto out;
	aws = aws_create(r.loop, cfg, err, sizeof(err));
	if (!aws) {
		fprintf(stderr, "envbot: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (ecr_list_tags(aws, kind_image_repository(env), (size_t)count, on_list, &r) != BOT_OK)
		goto out;
	if (loop_run(r.loop) != 0)
		goto out;
	status = r.status;
out:
	aws_destroy(aws);
	loop_destroy(r.loop);
	cfg_destroy(cfg);
	return status;
}
