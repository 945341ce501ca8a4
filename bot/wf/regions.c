/* An environment of several regions (`regions = [ ... ]` or "all", for the
 * kinds that find their resources by tag): its workflow runs the kind's own
 * workflow once per region, all at once, each through the client of that
 * region (and of the environment's role). One embed: a step per region with
 * its own state and time. A region that fails or cannot be reached fails
 * its step; the others finish, and the summary names each failed region.
 * "all" asks DescribeRegions first (the regions enabled in the account).
 * The live lookups go the same way, one region after the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "kind.h"
#include "regions.h"
#include "wf_internal.h"

/* ---- the region list ---- */

struct region_list {
	char **v;
	size_t n;
};

static void list_free(struct region_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_set(struct region_list *l, const char *const *names, size_t n)
{
	if (n > WF_MAX_STEPS)
		n = WF_MAX_STEPS; /* the embed's limit; CFG_MAX_REGIONS is below it */
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(l->v[i] = strdup(names[i])))
			return -1;
		l->n++;
	}
	return 0;
}

/* For "all": the regions DescribeRegions gave, into out; err is set
 * (BOT_ENOMEM) when they cannot be kept. */
static void take_regions(struct region_list *out, struct aws_err *err, const struct ec2_regions *r)
{
	if (err->rc == BOT_OK && list_set(out, r->v, r->n) != 0) {
		err->rc = BOT_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory");
	}
}

/* ---- the workflow: every region at once ---- */

struct region_child {
	struct region_run *run;
	size_t i;
	struct wf *wf;
	bool ended;
};

struct region_run {
	struct wf *wf;
	struct region_list regions;
	struct region_child *children;
	size_t n_ended, n_failed, n_noop, n_empty;
	struct loop_timer *timer; /* frees the ended children, then finishes */
	bool finishing;
};

static void run_free(void *p)
{
	struct region_run *run = p;
	if (!run)
		return;
	loop_timer_cancel(run->wf->loop, run->timer);
	for (size_t i = 0; run->children && i < run->regions.n; i++)
		wf_destroy(run->children[i].wf);
	free(run->children);
	list_free(&run->regions);
	free(run);
}

static void child_changed(void *arg, struct wf *child)
{
	struct region_child *c = arg;
	char detail[512]; /* cut to the step's detail by wf_mark_step */
	wf_active_detail(child, detail, sizeof(detail));
	wf_mark_step(c->run->wf, (int)c->i, WF_ACTIVE, detail);
}

static void finish_regions(void *arg)
{
	struct region_run *run = arg;
	struct wf *wf = run->wf;
	run->timer = NULL;
	size_t n = run->regions.n;
	const char *verb = wf->action == ACTION_START ? "up" : "down";
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	size_t n_used = n - run->n_empty; /* the regions where something matched */
	if (n_used == 0 && run->n_failed == 0) {
		/* the selection matches nothing anywhere: a mistake worth red */
		wf_set_summary(wf, "nothing matched in any of the %zu region%s", n,
			       n == 1 ? "" : "s");
		wf->found_nothing = true;
		wf_next(wf, "failed");
		return;
	}
	char empty[64] = "";
	if (run->n_empty)
		snprintf(empty, sizeof(empty), " (%zu with nothing to act on)", run->n_empty);
	if (run->n_failed == 0) {
		wf->noop = run->n_noop == n_used;
		bool start = wf->action == ACTION_START;
		unsigned long long m = secs / 60, sec = secs % 60;
		const char *pl = n_used == 1 ? "" : "s";
		if (wf->noop && start)
			wf_set_summary(wf, "already up in %zu region%s%s", n_used, pl, empty);
		else if (wf->noop)
			wf_set_summary(wf, "already down in %zu region%s%s", n_used, pl, empty);
		else if (start)
			wf_set_summary(wf, "up in %zu region%s in %llum%02llus%s", n_used, pl, m,
				       sec, empty);
		else
			wf_set_summary(wf, "down in %zu region%s in %llum%02llus%s", n_used, pl, m,
				       sec, empty);
		wf_next(wf, "done");
		return;
	}
	char failed[400] = "";
	for (size_t i = 0; i < n; i++) {
		struct wf *c = run->children[i].wf;
		if (c && (wf_status(c) == WF_SUCCEEDED || wf_found_none(c)))
			continue;
		size_t used = strlen(failed);
		snprintf(failed + used, sizeof(failed) - used, "%s%s", used ? ", " : "",
			 run->regions.v[i]);
	}
	wf_set_summary(wf, "%zu of %zu regions %s; failed: %s (see the steps)%s",
		       n_used - run->n_failed, n_used, verb, failed, empty);
	wf_next(wf, "failed");
}

static void child_finished(void *arg, struct wf *child)
{
	struct region_child *c = arg;
	struct region_run *run = c->run;
	struct wf *wf = run->wf;
	bool ok = wf_status(child) == WF_SUCCEEDED;
	const char *region = run->regions.v[c->i];
	/* nothing selected in one region of several: nothing to do there */
	bool empty = !ok && wf_found_none(child);
	if (empty) {
		run->n_empty++;
		wf_mark_step(wf, (int)c->i, WF_SKIPPED, wf_summary(child));
		goto ended;
	}
	wf_mark_step(wf, (int)c->i, ok ? WF_DONE : WF_ERROR, wf_summary(child));
	for (size_t i = 0; i < wf_n_details(child); i++)
		wf_add_detail(wf, "%s: %s", region, wf_detail(child, i));
	if (wf_skipped(child)[0])
		wf_add_skipped(wf, "%s: %s", region, wf_skipped(child));
	if (!ok) {
		run->n_failed++;
		wf->last_rc = wf_error_rc(child);
	} else if (wf_was_noop(child)) {
		run->n_noop++;
	}
ended:
	log_info("wf", "msg=\"region %s\" id=%s region=%s summary=\"%s\"",
		 empty ? "empty"
		 : ok  ? "done"
		       : "failed",
		 wf->id, region, wf_summary(child));
	c->ended = true;
	/* The child is freed with the run (we are inside its own call); the
	 * end is decided on the next turn, after every child that ends in this
	 * one. */
	if (++run->n_ended == run->regions.n && !run->timer) {
		run->timer = loop_timer_add(wf->loop, 0, finish_regions, run);
		if (!run->timer)
			wf_error(wf, BOT_ENOMEM, "out of memory arming a timer");
	}
}

/* Capacities of one region are kept under "REGION/KEY": the same Auto
 * Scaling group name may exist in every region. */
static void region_key(const struct region_child *c, const char *key, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->run->regions.v[c->i], key);
}

static enum bot_rc child_save_capacity(void *arg, struct wf *child,
				       const struct state_capacity *cap, char *err, size_t errlen)
{
	struct region_child *c = arg;
	struct state_capacity k = *cap;
	(void)child;
	char key[STATE_KEY_MAX + 40];
	region_key(c, cap->key, key, sizeof(key));
	size_t n = strlen(key);
	if (n >= sizeof(k.key)) {
		snprintf(err, errlen, "capacity key \"%s\" is too long to keep", key);
		return BOT_EINVAL;
	}
	memcpy(k.key, key, n + 1);
	return wf_capacity_save(c->run->wf, &k, err, errlen);
}

static bool child_load_capacity(void *arg, struct wf *child, const char *key,
				struct state_capacity *out)
{
	struct region_child *c = arg;
	(void)child;
	char k[STATE_KEY_MAX + 40];
	region_key(c, key, k, sizeof(k));
	return wf_capacity_load(c->run->wf, k, out);
}

static void start_children(struct region_run *run)
{
	struct wf *wf = run->wf;
	size_t n = run->regions.n;
	if (n == 0) {
		wf_set_summary(wf, "no region to act in (DescribeRegions listed none)");
		wf_next(wf, "failed");
		return;
	}
	run->children = calloc(n, sizeof(*run->children));
	if (!run->children) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	/* the steps are the regions, labelled with this run's strings (a retry
	 * freed the previous run and starts the list over) */
	wf->n_steps = 0;
	for (size_t i = 0; i < n; i++)
		wf_add_step(wf, run->regions.v[i]);
	for (size_t i = 0; i < n; i++) {
		struct region_child *c = &run->children[i];
		*c = (struct region_child){ .run = run, .i = i };
		char id[96];
		snprintf(id, sizeof(id), "%.60s-r%zu", wf->id, i + 1);
		struct wf_params p = { .env = wf->env,
				       .action = wf->action,
				       .trigger = wf->trigger,
				       .trigger_said = wf->trigger_said,
				       .locale = wf->locale,
				       .id = id,
				       .region = run->regions.v[i],
				       .poll_ms = wf->poll_ms };
		const struct wf_observer obs = { .changed = child_changed,
						 .finished = child_finished,
						 .save_capacity = child_save_capacity,
						 .load_capacity = child_load_capacity,
						 .arg = c };
		c->wf = wf_new(wf->loop, wf->aws, &p, &obs, NULL);
		if (!c->wf) {
			wf_error(wf, BOT_ENOMEM, "out of memory starting a region");
			return;
		}
		wf_set_parent(c->wf, wf);
	}
	for (size_t i = 0; i < n; i++) {
		wf_mark_step(wf, (int)i, WF_ACTIVE, "");
		wf_begin(run->children[i].wf);
	}
}

/* DescribeRegions answered (its call is the workflow's: wf_destroy cancels
 * it). */
static void on_region_list(void *arg, const struct aws_err *in, const struct ec2_regions *r)
{
	struct wf *wf = arg;
	struct region_run *run = wf->kind_data;
	struct aws_err e = *in;
	const struct aws_err *err = &e;
	take_regions(&run->regions, &e, r);
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg),
			 "cannot list the account's regions (DescribeRegions): %s", err->message);
		wf_error(run->wf, err->rc, msg);
		return;
	}
	start_children(run);
}

/* The one task. A resume starts every region afresh: each kind's tasks
 * are idempotent, and a region already done finds nothing to do. */
static void t_regions(struct wf *wf)
{
	/* a retry (DescribeRegions throttled, memory short) starts over */
	if (wf->kind_data_free)
		wf->kind_data_free(wf->kind_data);
	wf->kind_data = NULL;
	wf->kind_data_free = NULL;
	struct region_run *run = calloc(1, sizeof(*run));
	if (!run) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	run->wf = wf;
	wf->kind_data = run;
	wf->kind_data_free = run_free;
	wf->resume_arg[0] = '\0';
	if (!wf->env->all_regions) {
		if (list_set(&run->regions, (const char *const *)wf->env->regions,
			     wf->env->n_regions) != 0) {
			wf_error(wf, BOT_ENOMEM, "out of memory");
			return;
		}
		start_children(run);
		return;
	}
	enum bot_rc rc = ec2_describe_regions(wf->aws, on_region_list, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "cannot ask for the account's regions");
}

static const char *const no_steps[] = { NULL };

static const struct wf_state states[] = {
	{ .name = "Regions",
	  .type = WF_TASK,
	  .step = -1,
	  .run = t_regions,
	  .retry = { .attempts = 2, .interval_ms = 5000 },
	  .next = { { "done", "Done" }, { "failed", "Failed" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1 },
	{ .name = "Failed", .type = WF_FAIL, .step = -1 },
	{ .name = "Fail", .type = WF_FAIL, .step = -1 },
	{ 0 },
};

static const struct wf_table start_table = {
	.name = "regions/start", .steps = no_steps, .states = states, .no_deadline = true
};
static const struct wf_table stop_table = {
	.name = "regions/stop", .steps = no_steps, .states = states, .no_deadline = true
};

const struct wf_table *wf_regions_table(enum action action)
{
	return action == ACTION_START ? &start_table : &stop_table;
}

struct wf *wf_create(struct loop *loop, struct aws *aws, const struct wf_params *p,
		     const struct wf_observer *obs)
{
	bool fan_out = cfg_env_multi_region(p->env) && !(p->region && *p->region);
	return wf_new(loop, aws, p, obs, fan_out ? wf_regions_table(p->action) : NULL);
}

/* ---- live status: region after region ---- */

struct regions_live {
	struct aws *aws;
	const struct cfg_env *env;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	struct region_list regions;
	size_t i;
	struct kind_live out;
};

static void live_end(struct regions_live *rl)
{
	rl->done(rl->arg, &rl->out);
	buf_free(&rl->out.report);
	list_free(&rl->regions);
	free(rl);
}

static void live_next(struct regions_live *rl);

static void on_region_live(void *arg, const struct kind_live *live)
{
	struct regions_live *rl = arg;
	buf_addf(&rl->out.report, "       [%s]\n", rl->regions.v[rl->i]);
	if (live->report.len)
		buf_add(&rl->out.report, live->report.p, live->report.len);
	size_t used = strlen(rl->out.line);
	snprintf(rl->out.line + used, sizeof(rl->out.line) - used, "%s%s: %s", used ? "; " : "",
		 rl->regions.v[rl->i], live->line);
	if (live->exit > rl->out.exit)
		rl->out.exit = live->exit;
	rl->i++;
	live_next(rl);
}

static void live_next(struct regions_live *rl)
{
	const struct kind *k = kind_of(rl->env);
	while (rl->i < rl->regions.n) {
		char err[256];
		struct aws *a = kind_aws(rl->aws, rl->env, rl->regions.v[rl->i], err, sizeof(err));
		if (a && k->live(a, rl->env, rl->escape, on_region_live, rl) == BOT_OK)
			return;
		buf_addf(&rl->out.report, "       [%s] could not be looked up\n",
			 rl->regions.v[rl->i]);
		rl->out.exit = rl->out.exit ? rl->out.exit : 1;
		rl->i++;
	}
	live_end(rl);
}

static void on_live_regions(void *arg, const struct aws_err *in, const struct ec2_regions *r)
{
	struct regions_live *rl = arg;
	struct aws_err e = *in;
	const struct aws_err *err = &e;
	take_regions(&rl->regions, &e, r);
	if (err->rc != BOT_OK) {
		kind_live_report_error(&rl->out, "DescribeRegions", err);
		kind_live_line_error(&rl->out, err, rl->escape);
		live_end(rl);
		return;
	}
	live_next(rl);
}

static enum bot_rc regions_live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
				kind_live_done done, void *arg)
{
	struct regions_live *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return BOT_ENOMEM;
	*rl = (struct regions_live){
		.aws = aws, .env = env, .escape = escape, .done = done, .arg = arg
	};
	buf_addf(&rl->out.report, "%-6s %s in %s:\n", env->name, cfg_kind_name(env->kind),
		 env->all_regions ? "every enabled region" : "these regions");
	char err[256];
	struct aws *home = kind_aws(aws, env, NULL, err, sizeof(err));
	enum bot_rc rc = BOT_ENOMEM;
	if (home && !env->all_regions) {
		if (list_set(&rl->regions, (const char *const *)env->regions, env->n_regions) ==
		    0) {
			live_next(rl);
			return BOT_OK;
		}
	} else if (home) {
		rc = ec2_describe_regions(home, on_live_regions, rl);
		if (rc == BOT_OK)
			return BOT_OK;
	}
	buf_free(&rl->out.report);
	list_free(&rl->regions);
	free(rl);
	return rc;
}

enum bot_rc kind_live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
		      kind_live_done done, void *arg)
{
	const struct kind *k = kind_of(env);
	if (!k || !k->live)
		return BOT_EINVAL;
	if (aws && cfg_env_multi_region(env))
		return regions_live(aws, env, escape, done, arg);
	char err[256];
	struct aws *a = aws ? kind_aws(aws, env, NULL, err, sizeof(err)) : NULL;
	if (aws && !a)
		return BOT_ENOMEM;
	return k->live(a, env, escape, done, arg);
}
