/* kind = "group": an environment made of members of any other kind (a
 * DocumentDB cluster stopped, an app stack deleted, an ECS service and its
 * Auto Scaling group scaled to zero), started in the listed order, each
 * member ready before the next begins (data before apps), and stopped in
 * reverse. Each member runs its own kind's workflow as a child of the
 * group's; the group's embed shows one step per member. A start stops at
 * the first member that fails (what is up and what is not is said); a stop
 * goes on with the others and reports each. */
#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

/* ---- config ---- */

struct group_spec {
	char **labels; /* per member: "rds-cluster chat-docdb" */
	size_t n;
};

static const struct group_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

static void free_spec(void *p)
{
	struct group_spec *g = p;
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->labels[i]);
	free(g->labels);
	free(g);
}

/* "KIND TARGET", from the member kind's own check-config phrase. */
static char *member_label(const struct cfg_env *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "%s", cfg_kind_name(m->kind));
	if (m->kind && m->kind->print_target && m->spec) {
		fputc(' ', f);
		m->kind->print_target(m, f);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static const char *const settings[] = { "members", NULL };

static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	size_t n = cfg_read_members(r, "members", env);
	struct group_spec *g = calloc(1, sizeof(*g));
	if (!g || !(g->labels = calloc(n ? n : 1, sizeof(*g->labels)))) {
		free(g);
		cfg_read_oom(r);
		return NULL;
	}
	for (size_t i = 0; i < n && i < env->n_members; i++) {
		const struct cfg_env *m = &env->members[i];
		if (m->kind && kind_from_cfg(m->kind) == &kind_group)
			cfg_read_elem_error(r, "members", i,
					    "a group cannot be a member of a group");
		g->labels[i] = member_label(m);
		if (!g->labels[i]) {
			cfg_read_oom(r);
			break;
		}
		g->n++;
	}
	return g;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	fprintf(out, "group of %zu", env->n_members);
}

static void print_details(const struct cfg_env *env, FILE *out)
{
	const struct group_spec *g = spec_of(env);
	for (size_t i = 0; g && i < g->n; i++) {
		fprintf(out, "      %zu. %s\n", i + 1, g->labels[i]);
		const struct cfg_env *m = &env->members[i];
		cfg_print_target_aws(out, m, "         ");
		if (m->kind && m->kind->print_details)
			m->kind->print_details(m, out);
	}
}

/* ---- the run: one member at a time ---- */

struct group_run {
	struct wf *wf;    /* the group's */
	struct wf *child; /* the member running now */
	struct wf *dead;  /* the one that just ended, freed on the next turn */
	struct loop_timer *timer;
	size_t pos; /* position in the run order */
	size_t n_failed, n_noop;
	char resume_child[STATE_STEP_MAX]; /* the member state to resume, once */
	char failed_at[600];               /* start: the member that failed */
};

static size_t n_members(const struct wf *wf)
{
	const struct group_spec *g = spec_of(wf->env);
	return g ? g->n : 0;
}

/* The member at run position pos: listed order to start, reverse to stop. */
static size_t member_at(const struct wf *wf, size_t pos)
{
	return wf->action == ACTION_START ? pos : n_members(wf) - 1 - pos;
}

static const char *label_at(const struct wf *wf, size_t pos)
{
	return spec_of(wf->env)->labels[member_at(wf, pos)];
}

static void run_free(void *p)
{
	struct group_run *run = p;
	if (!run)
		return;
	loop_timer_cancel(run->wf->loop, run->timer);
	wf_destroy(run->child);
	wf_destroy(run->dead);
	free(run);
}

static void start_member(struct group_run *run);

static void on_next_turn(void *arg)
{
	struct group_run *run = arg;
	run->timer = NULL;
	wf_destroy(run->dead);
	run->dead = NULL;
	start_member(run);
}

static void child_checkpoint(void *arg, struct wf *child)
{
	struct group_run *run = arg;
	struct wf *wf = run->wf;
	snprintf(wf->resume_point, sizeof(wf->resume_point), "Members:%zu:%s", run->pos,
		 wf_resume_point(child));
	/* One member runs at a time, so the group's one stack id and image
	 * tag slot (persisted for the resume) is the running member's. */
	snprintf(wf->stack_id, sizeof(wf->stack_id), "%s", child->stack_id);
	snprintf(wf->stack_status, sizeof(wf->stack_status), "%s", child->stack_status);
	if (child->image_tag[0]) {
		snprintf(wf->image_tag, sizeof(wf->image_tag), "%s", child->image_tag);
		wf->image_rule = child->image_rule;
	}
	if (wf->obs.checkpoint)
		wf->obs.checkpoint(wf->obs.arg, wf);
}

static void child_changed(void *arg, struct wf *child)
{
	struct group_run *run = arg;
	char detail[512]; /* cut to the step's detail by wf_mark_step */
	wf_active_detail(child, detail, sizeof(detail));
	wf_mark_step(run->wf, (int)run->pos, WF_ACTIVE, detail);
}

static void child_finished(void *arg, struct wf *child)
{
	struct group_run *run = arg;
	struct wf *wf = run->wf;
	bool ok = wf_status(child) == WF_SUCCEEDED;
	wf_mark_step(wf, (int)run->pos, ok ? WF_DONE : WF_ERROR, wf_summary(child));
	for (size_t i = 0; i < wf_n_details(child); i++)
		wf_add_detail(wf, "%zu. %s", member_at(wf, run->pos) + 1, wf_detail(child, i));
	if (wf_skipped(child)[0])
		wf_add_skipped(wf, "%zu. %s", member_at(wf, run->pos) + 1, wf_skipped(child));
	if (child->image_tag[0]) {
		snprintf(wf->image_tag, sizeof(wf->image_tag), "%s", child->image_tag);
		wf->image_rule = child->image_rule;
	}
	log_info("wf", "msg=\"group member %s\" id=%s member=\"%s\" summary=\"%s\"",
		 ok ? "done" : "failed", wf->id, label_at(wf, run->pos), wf_summary(child));
	if (ok && wf_was_noop(child))
		run->n_noop++;
	if (!ok) {
		run->n_failed++;
		wf->last_rc = wf_error_rc(child);
		if (wf->action == ACTION_START && !run->failed_at[0])
			snprintf(run->failed_at, sizeof(run->failed_at), "%s: %s",
				 label_at(wf, run->pos), wf_summary(child));
	}
	/* Not freed here: we are inside its own call. */
	run->dead = child;
	run->child = NULL;
	run->pos++;
	run->timer = loop_timer_add(wf->loop, 0, on_next_turn, run);
	if (!run->timer)
		wf_error(wf, BOT_ENOMEM, "out of memory arming a timer");
}

static enum bot_rc child_save_capacity(void *arg, struct wf *child, const struct state_capacity *c,
				       char *err, size_t errlen)
{
	struct group_run *run = arg;
	(void)child;
	return wf_capacity_save(run->wf, c, err, errlen);
}

static bool child_load_capacity(void *arg, struct wf *child, const char *key,
				struct state_capacity *out)
{
	struct group_run *run = arg;
	(void)child;
	return wf_capacity_load(run->wf, key, out);
}

/* The end of the group: a start that failed names what is up and what is
 * not; a stop that failed lists every member that did not stop. */
static void finish_group(struct group_run *run)
{
	struct wf *wf = run->wf;
	size_t n = n_members(wf);
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	const struct wf_step *steps;
	wf_steps(wf, &steps);
	if (run->n_failed == 0) {
		wf->noop = run->n_noop == n;
		bool start = wf->action == ACTION_START;
		unsigned long long m = secs / 60, sec = secs % 60;
		if (wf->noop && start)
			wf_set_summary(wf, "already up: %zu member%s", n, n == 1 ? "" : "s");
		else if (wf->noop)
			wf_set_summary(wf, "already down: %zu member%s", n, n == 1 ? "" : "s");
		else if (start)
			wf_set_summary(wf, "%zu member%s up in %llum%02llus", n, n == 1 ? "" : "s",
				       m, sec);
		else
			wf_set_summary(wf, "%zu member%s down in %llum%02llus", n,
				       n == 1 ? "" : "s", m, sec);
		wf_next(wf, "done");
		return;
	}
	char up[400] = "", rest[400] = "";
	size_t nu = 0, nr = 0;
	for (size_t p = 0; p < n; p++) {
		char *dst = steps[p].mark == WF_DONE ? up : rest;
		size_t *cnt = steps[p].mark == WF_DONE ? &nu : &nr;
		if (steps[p].mark == WF_ERROR)
			continue;
		size_t used = strlen(dst);
		snprintf(dst + used, 400 - used, "%s%s", (*cnt)++ ? ", " : "", label_at(wf, p));
	}
	if (wf->action == ACTION_START)
		wf_set_summary(wf, "stopped at %s; up: %s; not started: %s", run->failed_at,
			       nu ? up : "none", nr ? rest : "none");
	else
		wf_set_summary(wf, "%zu of %zu members did not stop (see the steps); down: %s",
			       run->n_failed, n, nu ? up : "none");
	wf_next(wf, "failed");
}

static void start_member(struct group_run *run)
{
	struct wf *wf = run->wf;
	size_t n = n_members(wf);
	if (run->pos >= n || (run->n_failed > 0 && wf->action == ACTION_START)) {
		for (size_t p = run->pos; p < n; p++)
			wf_mark_step(wf, (int)p, WF_SKIPPED,
				     "not started: an earlier member failed");
		finish_group(run);
		return;
	}
	size_t idx = member_at(wf, run->pos);
	char id[96]; /* fits wf->id: 60 + "-m50" */
	snprintf(id, sizeof(id), "%.60s-m%zu", wf->id, idx + 1);
	struct wf_params p = { .env = &wf->env->members[idx],
			       .action = wf->action,
			       .trigger = wf->trigger,
			       .trigger_said = wf->trigger_said,
			       .locale = wf->locale,
			       .id = id,
			       .poll_ms = wf->poll_ms };
	if (run->resume_child[0]) {
		p.resume_state = run->resume_child;
		p.resume_stack_id = wf->stack_id;
		p.resume_image_tag = wf->image_tag;
	}
	const struct wf_observer obs = { .checkpoint = child_checkpoint,
					 .changed = child_changed,
					 .finished = child_finished,
					 .save_capacity = child_save_capacity,
					 .load_capacity = child_load_capacity,
					 .arg = run };
	run->child = wf_create(wf->loop, wf->aws, &p, &obs);
	if (!run->child && run->resume_child[0]) {
		/* A state this build does not know: start the member afresh; every
		 * task is idempotent. */
		log_warn("wf", "msg=\"group member not resumable; started afresh\" id=%s state=%s",
			 wf->id, run->resume_child);
		p.resume_state = NULL;
		run->child = wf_create(wf->loop, wf->aws, &p, &obs);
	}
	run->resume_child[0] = '\0';
	if (!run->child) {
		wf_error(wf, BOT_ENOMEM, "out of memory starting a member");
		return;
	}
	wf_set_parent(run->child, wf);
	wf_mark_step(wf, (int)run->pos, WF_ACTIVE, "");
	wf_begin(run->child);
}

/* The one task: runs the members, resuming at the persisted one. */
static void t_members(struct wf *wf)
{
	size_t n = n_members(wf);
	struct group_run *run = calloc(1, sizeof(*run));
	if (!run) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	run->wf = wf;
	wf->kind_data = run;
	wf->kind_data_free = run_free;
	for (size_t p = 0; p < n; p++)
		wf_add_step(wf, label_at(wf, p));
	/* "POS:STATE" from a resume: the members before POS were done. */
	if (wf->resume_arg[0]) {
		char *end = NULL;
		unsigned long pos = strtoul(wf->resume_arg, &end, 10);
		if (end && *end == ':' && pos < n) {
			run->pos = pos;
			snprintf(run->resume_child, sizeof(run->resume_child), "%s", end + 1);
			for (size_t p = 0; p < pos; p++)
				wf_mark_step(wf, (int)p, WF_DONE, "done before the restart");
		}
		wf->resume_arg[0] = '\0';
	}
	start_member(run);
}

static const char *const no_steps[] = { NULL };

static const struct wf_state states[] = {
	{ .name = "Members",
	  .type = WF_TASK,
	  .step = -1,
	  .run = t_members,
	  .next = { { "done", "Done" }, { "failed", "Failed" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1 },
	{ .name = "Failed", .type = WF_FAIL, .step = -1 },
	{ .name = "Fail", .type = WF_FAIL, .step = -1 },
	{ 0 },
};

static const struct wf_table start_table = {
	.name = "group/start", .steps = no_steps, .states = states, .no_deadline = true
};
static const struct wf_table stop_table = {
	.name = "group/stop", .steps = no_steps, .states = states, .no_deadline = true
};

/* ---- live status: every member's, in order ---- */

struct group_live {
	struct aws *aws;
	const struct cfg_env *env;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	size_t i;
	struct kind_live out;
};

static void live_next(struct group_live *gl);

static void on_member_live(void *arg, const struct kind_live *live)
{
	struct group_live *gl = arg;
	if (live->report.len)
		buf_add(&gl->out.report, live->report.p, live->report.len);
	size_t used = strlen(gl->out.line);
	snprintf(gl->out.line + used, sizeof(gl->out.line) - used, "%s%zu. %s", used ? "; " : "",
		 gl->i + 1, live->line);
	if (live->exit > gl->out.exit)
		gl->out.exit = live->exit;
	gl->i++;
	live_next(gl);
}

static void live_next(struct group_live *gl)
{
	const struct group_spec *g = spec_of(gl->env);
	while (gl->i < g->n) {
		const struct cfg_env *m = &gl->env->members[gl->i];
		const struct kind *k = kind_of(m);
		if (k && k->live && kind_live(gl->aws, m, gl->escape, on_member_live, gl) == BOT_OK)
			return; /* on_member_live goes on */
		buf_addf(&gl->out.report, "%-6s %s: could not be looked up\n", m->name,
			 g->labels[gl->i]);
		gl->out.exit = gl->out.exit ? gl->out.exit : 1;
		gl->i++;
	}
	gl->done(gl->arg, &gl->out);
	buf_free(&gl->out.report);
	free(gl);
}

static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	struct group_live *gl = calloc(1, sizeof(*gl));
	if (!gl)
		return BOT_ENOMEM;
	*gl = (struct group_live){
		.aws = aws, .env = env, .escape = escape, .done = done, .arg = arg
	};
	/* The members' own lines follow, each under its name "GROUP[N]". */
	buf_addf(&gl->out.report,
		 "%-6s group of %zu (started in this order, stopped in reverse):\n", env->name,
		 env->n_members);
	live_next(gl);
	return BOT_OK;
}

/* ---- the rest of the descriptor ---- */

static const char *image_repository(const struct cfg_env *env)
{
	for (size_t i = 0; i < env->n_members; i++) {
		const char *r = kind_image_repository(&env->members[i]);
		if (r)
			return r;
	}
	return NULL;
}

static bool wakes_up(const struct cfg_env *env)
{
	for (size_t i = 0; i < env->n_members; i++)
		if (kind_wakes_up(&env->members[i]))
			return true;
	return false;
}

const struct kind kind_group = {
	.cfg = {
		.name = "group",
		.settings = settings,
		.parse = parse,
		.free_spec = free_spec,
		.print_target = print_target,
		.print_details = print_details,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.details_title = N_("Members"),
	.image_repository = image_repository,
	.wakes_up = wakes_up,
};
