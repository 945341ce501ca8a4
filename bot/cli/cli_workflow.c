/* `envbot start ENV` / `envbot stop ENV`: run one workflow from the shell
 * with the same tables as the daemon, progress as lines on stdout;
 * `--notify` also posts the progress embed to the configured channel;
 * `start --for 2h` records a lease in the state file once the start
 * succeeded (the daemon stops the environment at its end). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/aws.h"
#include "../../commands/commands.h"
#include "../core/exitcode.h"
#include "../core/log.h"
#include "../discord/rest.h"
#include "../wf/embed.h"
#include "../wf/wfm.h"
#include "cli.h"

#define MAX_SEEN_STEPS WF_MAX_STEPS

struct cli_wf {
	struct loop *loop;
	char seen[MAX_SEEN_STEPS][256]; /* last line printed per step */
	bool finished;
	enum wf_status status;
	enum bot_rc rc;
};

/* Prints a line for each step whose mark or detail changed since last time. */
static void print_progress(void *arg, const struct wf *wf)
{
	struct cli_wf *c = arg;
	const struct wf_step *steps;
	size_t n = wf_steps(wf, &steps);
	char el[32], line[256];
	for (size_t i = 0; i < n && i < MAX_SEEN_STEPS; i++) {
		/* A step that just began says nothing until it has a detail. */
		if (steps[i].mark == WF_PENDING ||
		    (steps[i].mark == WF_ACTIVE && !steps[i].detail[0]))
			continue;
		snprintf(line, sizeof(line), "%s %s%s%s", embed_mark(steps[i].mark), steps[i].label,
			 steps[i].detail[0] ? " — " : "", steps[i].detail);
		if (strcmp(line, c->seen[i]) == 0)
			continue;
		snprintf(c->seen[i], sizeof(c->seen[i]), "%s", line);
		embed_duration(wf_elapsed_ms(wf), el, sizeof(el));
		printf("[%7s] %s\n", el, line);
	}
	fflush(stdout);
}

static void on_finished(void *arg, const struct wf *wf)
{
	struct cli_wf *c = arg;
	c->finished = true;
	c->status = wf_status(wf);
	c->rc = wf_error_rc(wf);
	printf("%s %s %s: %s\n", c->status == WF_SUCCEEDED ? "✅" : "❌", wf_env(wf)->name,
	       action_name(wf_action(wf)), wf_summary(wf));
	for (size_t i = 0; i < wf_n_details(wf); i++)
		printf("    %s\n", wf_detail(wf, i));
	fflush(stdout);
}

/* The loop stops once the workflow ended and its last message went out. */
static void check_done(void *arg)
{
	struct cli_wf *c = arg;
	if (c->finished && loop_http_count(c->loop) == 0) {
		loop_stop(c->loop);
		return;
	}
	loop_timer_add(c->loop, 50, check_done, c);
}

/* Records the lease of a start that succeeded in cfg's state file (load,
 * set, save: the shell is trusted like an admin, so max_extend does not cap
 * it). Returns 0, or -1 with a message on stderr. */
static int record_lease(const struct cfg *cfg, const struct cfg_env *env, time_t until,
			const char *who, const char *arg)
{
	struct state *st = NULL;
	char err[512], action[STATE_TEXT_MAX], outcome[STATE_TEXT_MAX], when[64];
	time_t now = time(NULL);
	int r = -1;
	if (state_load(cfg->state_file, &st, NULL, err, sizeof(err)) != BOT_OK)
		goto out;
	if (state_lease_set(st, env->name, ACTION_START, until, who, now, err, sizeof(err)) !=
	    BOT_OK)
		goto out;
	cmd_fmt_local(cfg_env_tz(cfg, env), until, when, sizeof(when));
	snprintf(action, sizeof(action), "envbot start %s --for %s", env->name, arg);
	snprintf(outcome, sizeof(outcome), "ok: lease: up until %s, then stopped", when);
	state_audit(st, now, "", who, action, env->name, outcome);
	if (state_save(st, cfg->state_file, err, sizeof(err)) != BOT_OK)
		goto out;
	printf("lease: %s stays up until %s, then the daemon stops it\n", env->name, when);
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "envbot: --for: the lease was not recorded: %s\n", err);
	state_destroy(st);
	return r;
}

static int run_workflow(const struct cli *cli, int argc, char **argv, enum action action)
{
	static const struct option opts[] = { { "notify", no_argument, NULL, 'n' },
					      { "for", required_argument, NULL, 'f' },
					      { 0, 0, 0, 0 } };
	bool notify = false;
	const char *lease_for = NULL;
	struct cmd_lease_arg la;
	time_t until = 0;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'f' && action == ACTION_START) {
			lease_for = optarg;
			continue;
		}
		if (o != 'n') {
			fprintf(stderr, "usage: envbot %s ENV [--notify]%s\n", argv[0],
				action == ACTION_START ? " [--for 2h|\"until 22:00\"]" : "");
			return EXIT_USAGE;
		}
		notify = true;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: envbot %s ENV [--notify]%s\n", argv[0],
			action == ACTION_START ? " [--for 2h|\"until 22:00\"]" : "");
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;

	struct loop *loop = NULL;
	struct aws *aws = NULL;
	struct rest *rest = NULL;
	struct wfm *wfm = NULL;
	struct state *st = NULL;
	struct saver *sv = NULL;
	struct state_lock *lock = NULL;
	enum bot_rc lrc = BOT_OK;
	char *token = NULL;
	char err[512];
	struct cli_wf c = { 0 };
	status = EXIT_USAGE;

	const struct cfg_env *env = cfg_find_env(cfg, name);
	if (!env) {
		fprintf(stderr, "envbot: no environment named '%s' in %s\n", name, cfg->path);
		goto out;
	}
	if (lease_for) {
		/* Refused before anything runs. */
		if (cmd_lease_parse(NULL, lease_for, &la, err, sizeof(err)) != 0 ||
		    cmd_lease_compute(NULL, &la, cfg_env_tz(cfg, env), time(NULL), cfg->max_extend,
				      true, &until, err, sizeof(err)) != 0) {
			fprintf(stderr, "envbot: --for: %s\n", err);
			goto out;
		}
	}
	/* One writer per state file: while the daemon runs, this run keeps
	 * nothing there (its copy would overwrite the daemon's, or the
	 * daemon's would overwrite what this run saved). */
	lrc = state_lock_take(cfg->state_file, 0, &lock, err, sizeof(err));
	if (lrc == BOT_EBUSY && lease_for) {
		fprintf(stderr,
			"envbot: --for: %s: a lease cannot be recorded beside it; use /env start "
			"%s for %s in Discord\n",
			err, env->name, lease_for);
		goto out;
	}
	if (lrc == BOT_EBUSY)
		fprintf(stderr,
			"envbot: %s: this run keeps no state (no capacity can be saved for a "
			"scale-down; /env start|stop in Discord can)\n",
			err);
	status = EXIT_FAILED;
	loop = loop_create();
	if (!loop)
		goto out;
	c.loop = loop;
	aws = aws_create(loop, cfg, err, sizeof(err));
	if (!aws) {
		fprintf(stderr, "envbot: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (notify) {
		if (cfg_discord_token(cfg, &token, err, sizeof(err)) != BOT_OK) {
			fprintf(stderr, "envbot: --notify: %s\n", err);
			status = EXIT_USAGE;
			goto out;
		}
		struct rest_options ro = { .api_base = cfg->api_base,
					   .token = token,
					   .application_id = cfg->application_id };
		rest = rest_create(loop, &ro);
		if (!rest)
			goto out;
	}
	/* Capacities a stop scales to zero are kept in the state file, as the
	 * daemon keeps them (a kind refuses to scale down without it). */
	if (lrc != BOT_EBUSY) {
		if (state_load(cfg->state_file, &st, NULL, err, sizeof(err)) == BOT_OK)
			sv = saver_create(loop, st, cfg->state_file);
		else
			fprintf(stderr, "envbot: state file: %s (capacities cannot be saved)\n",
				err);
	}
	struct wfm_deps deps = { .loop = loop,
				 .aws = aws,
				 .rest = rest,
				 .cfg = cfg,
				 .cap_state = sv ? st : NULL,
				 .cap_saver = sv,
				 .on_finished = on_finished,
				 .on_changed = print_progress,
				 .arg = &c };
	wfm = wfm_create(&deps);
	if (!wfm)
		goto out;
	char trigger[128];
	const char *user = getenv("USER");
	snprintf(trigger, sizeof(trigger), "envbot %s (shell%s%s)", argv[0], user ? ", " : "",
		 user ? user : "");
	struct wfm_request req = { .env = env, .action = action, .trigger = trigger };
	if (wfm_start(wfm, &req, NULL) != BOT_OK)
		goto out;
	loop_timer_add(loop, 50, check_done, &c);
	loop_run(loop);
	if (rest && rest_auth_failed(rest))
		fprintf(stderr, "envbot: --notify: Discord refused the token (401)\n");
	status = c.status == WF_SUCCEEDED ? EXIT_OK : c.rc == BOT_EAUTH ? EXIT_AUTH : EXIT_FAILED;
	if (status == EXIT_OK && lease_for) {
		snprintf(trigger, sizeof(trigger), "%s (shell)", user ? user : "shell");
		if (record_lease(cfg, env, until, trigger, lease_for) != 0)
			status = EXIT_FAILED;
	}
out:
	wfm_destroy(wfm);
	saver_destroy(sv);
	state_destroy(st);
	state_lock_release(lock);
	rest_destroy(rest);
	aws_destroy(aws);
	loop_destroy(loop);
	free(token);
	cfg_destroy(cfg);
	return status;
}

int cli_start(const struct cli *cli, int argc, char **argv)
{
	return run_workflow(cli, argc, argv, ACTION_START);
}

int cli_stop(const struct cli *cli, int argc, char **argv)
{
	return run_workflow(cli, argc, argv, ACTION_STOP);
}
