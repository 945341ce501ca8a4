/* kind = "asg": Auto Scaling groups by name (group_name, or a member's
 * name) or by tag. Stop: each group's min/desired/max saved in the state
 * (on disk before anything is sent), the processes that would fight a
 * group at zero suspended (alarms, scheduled actions, AZ rebalancing), the
 * sizes set to 0/0/0, then polled until no instance is left. Start: a
 * group held at zero gets back exactly what was saved (else the config's
 * restore = { }, else a refusal), its processes resumed, polled until the
 * desired count is InService and Healthy. A group that is not at zero at
 * the start was sized by someone meanwhile: it is left as it is. */
#include "asg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/asg.h"
#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

#define RETRY                                       \
	{                                           \
		.attempts = 3, .interval_ms = 10000 \
	}
#define MAX_ROUNDS 3
#define MAX_GROUPS 200

static const struct asg_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

/* ---- the run ---- */

struct grp {
	char name[256];
	long long min, desired, max;
	size_t n_instances, n_ready, n_suspended;
	struct state_capacity target; /* start: what it is brought back to */
	const char *source;           /* "saved", "restore = { }" */
};

struct run {
	struct grp *v;
	size_t n;
	size_t next; /* Apply: the group being worked on */
	int phase;   /* Apply: the call of that group to send next */
	/* Found but exempt by tag (kind_exempt): never acted on, reported at
	 * the end ("NAME (envbot:exclude=true)", "; "-separated). */
	size_t n_exempt;
	char exempt[600];
};

static void free_run(void *p)
{
	struct run *r = p;
	if (r)
		free(r->v);
	free(r);
}

static struct run *run_of(struct wf *wf)
{
	if (!wf->kind_data) {
		wf->kind_data = calloc(1, sizeof(struct run));
		wf->kind_data_free = free_run;
	}
	return wf->kind_data;
}

enum { A_FIND, A_APPLY, A_WAIT };
static const char *const start_steps[] = { N_("Find groups"), N_("Restore capacity"),
					   N_("Wait until InService"), NULL };
static const char *const stop_steps[] = { N_("Find groups"), N_("Save capacity and scale to 0"),
					  N_("Wait until no instances"), NULL };

static bool at_zero(const struct grp *g)
{
	return g->min == 0 && g->desired == 0 && g->max == 0;
}

static void cap_key(const char *name, char *key, size_t len)
{
	snprintf(key, len, "asg/%.180s" /* STATE_KEY_MAX */, name);
}

static void on_described(void *arg, const struct aws_err *err, const struct asg_groups *list)
{
	struct wf *wf = arg;
	const struct kind_select *s = &spec_of(wf->env)->sel;
	struct run *r = run_of(wf);
	if (!r) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DescribeAutoScalingGroups failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	if (list->n == 0) {
		if (s->name)
			wf_set_summary(wf, "Auto Scaling group %s not found", s->name);
		else
			wf_set_summary(wf, "no Auto Scaling groups tagged %s=%s", s->tag_key,
				       s->tag_value);
		wf_found_nothing(wf);
		return;
	}
	if (list->n > MAX_GROUPS) {
		wf_error(wf, BOT_EINVAL, "more than 200 Auto Scaling groups carry the tag");
		return;
	}
	struct grp *v = calloc(list->n, sizeof(*v));
	if (!v) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	size_t ready = 0, want = 0, n = 0;
	r->n_exempt = 0;
	r->exempt[0] = '\0';
	for (size_t i = 0; i < list->n; i++) {
		const struct asg_group *g = &list->v[i];
		char why[160];
		if (kind_exempt(wf->env->exclude_tag, g->tags, g->n_tags, (int64_t)time(NULL), why,
				sizeof(why))) {
			kind_note_exempt(r->exempt, sizeof(r->exempt), &r->n_exempt, g->name, why);
			continue;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", g->name);
		v[n].min = g->min;
		v[n].desired = g->desired;
		v[n].max = g->max;
		v[n].n_instances = g->n_instances;
		v[n].n_ready = g->n_ready;
		v[n].n_suspended = g->n_suspended;
		ready += g->n_ready;
		want += (size_t)g->desired;
		n++;
	}
	free(r->v);
	r->v = v;
	r->n = n;
	if (r->n == 1)
		wf_detail_step(wf, "%s %lld/%lld/%lld, %zu/%lld InService", v[0].name, v[0].min,
			       v[0].desired, v[0].max, v[0].n_ready, v[0].desired);
	else
		wf_detail_step(wf, "%zu groups, %zu/%zu InService%s", r->n, ready, want,
			       r->n_exempt ? " (and exempt ones)" : "");
	wf_next(wf, "*");
}

static void t_describe(struct wf *wf)
{
	const struct kind_select *s = &spec_of(wf->env)->sel;
	enum bot_rc rc = asg_describe(wf->aws, s->name, s->tag_key, s->tag_value, on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the Auto Scaling request could not be sent");
}

/* Start: what a group at zero goes back to. False (summary set) when
 * there is nothing to go back to. */
static bool start_target(struct wf *wf, struct grp *g)
{
	const struct cfg_capacity *rs = &spec_of(wf->env)->restore;
	char key[STATE_KEY_MAX];
	cap_key(g->name, key, sizeof(key));
	if (wf_capacity_load(wf, key, &g->target) && g->target.max > 0) {
		g->source = "the saved capacity";
		return true;
	}
	if (rs->set) {
		g->target = (struct state_capacity){ .min = rs->min,
						     .desired = rs->desired,
						     .max = rs->max };
		g->source = "restore = { } of the config";
		return true;
	}
	wf_set_summary(wf,
		       "asg %s: no saved capacity and no restore = { min; desired; max; } in "
		       "the config: envbot does not guess a size",
		       g->name);
	return false;
}

static bool needs_apply(struct wf *wf, const struct grp *g)
{
	if (wf->action == ACTION_STOP)
		return !at_zero(g) || g->n_suspended < ASG_N_PROCESSES;
	return at_zero(g) || g->n_suspended > 0;
}

static bool settled(struct wf *wf, const struct grp *g)
{
	if (wf->action == ACTION_STOP)
		return g->n_instances == 0;
	return g->n_ready >= (size_t)g->desired && g->n_instances == (size_t)g->desired;
}

static void c_choose(struct wf *wf)
{
	struct run *r = run_of(wf);
	size_t apply = 0, waiting = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct grp *g = &r->v[i];
		if (wf->action == ACTION_START && at_zero(g) && !start_target(wf, g)) {
			wf_next(wf, "stuck");
			return;
		}
		if (needs_apply(wf, g))
			apply++;
		else if (!settled(wf, g))
			waiting++;
	}
	if (apply) {
		if (wf->change_rounds >= MAX_ROUNDS) {
			wf_set_summary(wf, "%zu group(s) did not keep the capacity asked for",
				       apply);
			wf_next(wf, "stuck");
			return;
		}
		wf_next(wf, "apply");
		return;
	}
	if (waiting) {
		wf_next(wf, "wait");
		return;
	}
	bool changed = wf->steps[A_APPLY].mark != WF_PENDING;
	wf->noop = !changed;
	char key[STATE_KEY_MAX];
	for (size_t i = 0; i < r->n; i++) {
		const struct grp *g = &r->v[i];
		struct state_capacity saved;
		cap_key(g->name, key, sizeof(key));
		if (wf->action == ACTION_STOP && wf_capacity_load(wf, key, &saved))
			wf_add_detail(wf, "%s: 0/0/0 (kept: min %lld, desired %lld, max %lld)",
				      g->name, saved.min, saved.desired, saved.max);
		else
			wf_add_detail(wf,
				      "%s: %zu/%lld InService (min %lld, desired %lld, max %lld)",
				      g->name, g->n_ready, g->desired, g->min, g->desired, g->max);
	}
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	const struct grp *g = &r->v[0];
	kind_report_exempt(wf, r->exempt, r->n_exempt);
	if (r->n == 0)
		wf_set_summary(wf, "nothing to do: %zu group%s found, exempt (left alone)",
			       r->n_exempt, r->n_exempt == 1 ? "" : "s");
	else if (!changed && wf->action == ACTION_START)
		wf_set_summary(wf, "already up: %zu group%s", r->n, r->n == 1 ? "" : "s");
	else if (!changed)
		wf_set_summary(wf, "already at 0: %zu group%s", r->n, r->n == 1 ? "" : "s");
	else if (r->n == 1 && wf->action == ACTION_START)
		wf_set_summary(wf, "%s %lld/%lld/%lld, %zu InService in %llum%02llus", g->name,
			       g->min, g->desired, g->max, g->n_ready,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else if (r->n == 1)
		wf_set_summary(wf, "%s at 0/0/0 in %llum%02llus, capacity kept", g->name,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else if (wf->action == ACTION_START)
		wf_set_summary(wf, "%zu groups up in %llum%02llus", r->n,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else
		wf_set_summary(wf, "%zu groups at 0, capacities kept in %llum%02llus", r->n,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	wf_next(wf, "done");
}

/* ---- Apply: each group's calls, one after the other ---- */

enum { P_SAVE, P_SUSPEND, P_SIZE, P_RESUME, P_NEXT };

static void apply_next(struct wf *wf);

static void on_call(void *arg, const struct aws_err *err)
{
	struct wf *wf = arg;
	struct run *r = run_of(wf);
	if (err->rc != BOT_OK) {
		static const char *const calls[] = { "", "SuspendProcesses",
						     "UpdateAutoScalingGroup", "ResumeProcesses" };
		char msg[700];
		snprintf(msg, sizeof(msg), "%s %.200s failed: %s%s%.300s", calls[r->phase],
			 r->v[r->next].name, err->code, err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	r->phase++;
	apply_next(wf);
}

static void apply_next(struct wf *wf)
{
	struct run *r = run_of(wf);
	for (; r->next < r->n; r->next++, r->phase = P_SAVE) {
		struct grp *g = &r->v[r->next];
		if (!needs_apply(wf, g))
			continue;
		bool stop = wf->action == ACTION_STOP;
		enum bot_rc rc = BOT_OK;
		for (; r->phase < P_NEXT; r->phase++) {
			if (stop && r->phase == P_SAVE && !at_zero(g)) {
				/* Kept before anything is sent: a kill -9 from here on
				 * never loses it. A group found at zero keeps what an
				 * earlier stop saved. */
				char err[300];
				struct state_capacity c = { .min = g->min,
							    .desired = g->desired,
							    .max = g->max,
							    .saved_at = time(NULL) };
				cap_key(g->name, c.key, sizeof(c.key));
				if (wf_capacity_save(wf, &c, err, sizeof(err)) != BOT_OK) {
					char msg[600];
					snprintf(msg, sizeof(msg), "asg %s not scaled down: %s",
						 g->name, err);
					wf_error(wf, BOT_EINVAL, msg);
					return;
				}
				wf_detail_step(wf, "%s: kept min %lld, desired %lld, max %lld",
					       g->name, g->min, g->desired, g->max);
			} else if (stop && r->phase == P_SUSPEND &&
				   g->n_suspended < ASG_N_PROCESSES) {
				rc = asg_processes(wf->aws, g->name, true, on_call, wf);
				break;
			} else if (stop && r->phase == P_SIZE && !at_zero(g)) {
				rc = asg_update(wf->aws, g->name, 0, 0, 0, on_call, wf);
				break;
			} else if (!stop && r->phase == P_SIZE && at_zero(g)) {
				wf_detail_step(wf,
					       "%s: back to min %lld, desired %lld, max %lld (%s)",
					       g->name, g->target.min, g->target.desired,
					       g->target.max, g->source);
				rc = asg_update(wf->aws, g->name, g->target.min, g->target.desired,
						g->target.max, on_call, wf);
				break;
			} else if (!stop && r->phase == P_RESUME && g->n_suspended > 0) {
				rc = asg_processes(wf->aws, g->name, false, on_call, wf);
				break;
			}
		}
		if (r->phase < P_NEXT) {
			if (rc != BOT_OK)
				wf_error(wf, rc, "the Auto Scaling request could not be sent");
			return; /* on_call goes on */
		}
	}
	wf_next(wf, "*");
}

static void t_apply(struct wf *wf)
{
	struct run *r = run_of(wf);
	if (!r) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	if (r->n == 0) { /* resumed here: look first */
		wf_next(wf, "look");
		return;
	}
	wf->change_rounds++;
	r->next = 0;
	r->phase = P_SAVE;
	apply_next(wf);
}

static const struct wf_state states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = A_FIND,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "none", "NotFound" }, { "*", "Choose" } } },
	{ .name = "Choose",
	  .type = WF_CHOICE,
	  .step = -1,
	  .run = c_choose,
	  .next = { { "apply", "Apply" },
		    { "wait", "Wait" },
		    { "done", "Done" },
		    { "stuck", "Fail" } } },
	{ .name = "Apply",
	  .type = WF_TASK,
	  .step = A_APPLY,
	  .run = t_apply,
	  .retry = RETRY,
	  .next = { { "look", "Describe" }, { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = A_WAIT, .next = { { "*", "Poll" } } },
	{ .name = "Poll",
	  .type = WF_TASK,
	  .step = A_WAIT,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "none", "NotFound" }, { "*", "Choose" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = N_("done") },
	{ .name = "NotFound", .type = WF_FAIL, .step = -1, .text = N_("no group to act on") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
	{ 0 },
};

static const struct wf_table start_table = { .name = "asg/start",
					     .steps = start_steps,
					     .states = states };
static const struct wf_table stop_table = { .name = "asg/stop",
					    .steps = stop_steps,
					    .states = states };

/* ---- settings ---- */

static const char *const settings[] = { "group_name", "tag", "restore", NULL };

static void free_spec(void *p)
{
	struct asg_spec *s = p;
	if (!s)
		return;
	kind_select_free(&s->sel);
	free(s);
}

static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	struct asg_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	kind_select_parse(r, env, "group_name", &s->sel);
	if (cfg_read_capacity(r, "restore", &s->restore) &&
	    (s->restore.min < 0 || s->restore.desired < 0 || s->restore.max < 0)) {
		cfg_read_error(r, "restore",
			       "an Auto Scaling group needs all three: min, desired and max");
		s->restore.set = false;
	}
	return s;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	const struct asg_spec *s = spec_of(env);
	if (s->sel.name)
		fprintf(out, "%s", s->sel.name);
	else
		fprintf(out, "groups tagged %s=%s", kind_str(s->sel.tag_key),
			kind_str(s->sel.tag_value));
	if (s->restore.set)
		fprintf(out, " (restore %lld/%lld/%lld)", s->restore.min, s->restore.desired,
			s->restore.max);
}

/* ---- live status ---- */

#define LIVE_MAX 20 /* resources listed; the rest are left out */

static void on_live(void *arg, const struct aws_err *err, const struct asg_groups *list)
{
	char text[LIVE_MAX][400];
	const char *lines[LIVE_MAX];
	size_t n = 0;
	for (size_t i = 0; list && i < list->n && n < LIVE_MAX; i++, n++) {
		const struct asg_group *g = &list->v[i];
		snprintf(text[n], sizeof(text[n]), "%s %zu/%lld InService (min %lld, max %lld)%s",
			 g->name, g->n_ready, g->desired, g->min, g->max,
			 g->n_suspended ? ", scaling processes suspended" : "");
		lines[n] = text[n];
	}
	kind_live_list_end(arg, err, lines, n);
}

static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	const struct kind_select *s = &spec_of(env)->sel;
	char target[400];
	struct kind_live_list *l =
		kind_live_list_new(env, kind_select_target(s, target, sizeof(target)),
				   "DescribeAutoScalingGroups", escape, done, arg);
	if (!l)
		return BOT_ENOMEM;
	enum bot_rc rc = asg_describe(aws, s->name, s->tag_key, s->tag_value, on_live, l);
	if (rc != BOT_OK)
		free(l);
	return rc;
}

/* ---- embed ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	const struct kind_select *s = &spec_of(wf_env(wf))->sel;
	char buf[400];
	kind_select_target(s, buf, sizeof(buf));
	add(arg, s->name ? "Auto Scaling group" : "Auto Scaling groups tagged", buf, true);
}

/* ---- doctor ---- */

static const char *target(const struct cfg_env *env, char *buf, size_t len)
{
	return kind_select_target(&spec_of(env)->sel, buf, len);
}

static void on_probe(void *arg, const struct aws_err *err, const struct asg_groups *list)
{
	struct kind_probe *p = arg;
	if (err->rc != BOT_OK) {
		const struct kind_answer a = { .verdict = KIND_AWS_ERROR, .err = err };
		p->answer(p, &a);
		return;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "allowed: %zu group%s found", list->n,
		 list->n == 1 ? "" : "s");
	const struct kind_answer a = { .verdict = list->n ? KIND_PASS : KIND_FAIL,
				       .detail = list->n ? detail : "allowed, but no such group",
				       .fix = list->n ? NULL : "check group_name or the tag" };
	p->answer(p, &a);
}

static enum bot_rc probe_describe(struct kind_probe *p)
{
	const struct kind_select *s = &spec_of(p->env)->sel;
	return asg_describe(p->aws, s->name, s->tag_key, s->tag_value, on_probe, p);
}

/* Auto Scaling has no DryRun: stated, not probed. */
static enum bot_rc probe_info(struct kind_probe *p, const char *action)
{
	char detail[200], fix[500];
	snprintf(detail, sizeof(detail), "not probed: Auto Scaling has no DryRun for %s", action);
	snprintf(fix, sizeof(fix),
		 "the policy must allow autoscaling:%s on the group %s "
		 "(deploy/cloudformation/envbot.yaml, %s)",
		 action, p->target,
		 spec_of(p->env)->sel.name ? "AutoScalingGroupNames"
					   : "ResourceTagKey/ResourceTagValue");
	const struct kind_answer a = { .verdict = KIND_INFO, .detail = detail, .fix = fix };
	p->answer(p, &a);
	return BOT_OK;
}

static enum bot_rc probe_update(struct kind_probe *p)
{
	return probe_info(p, "UpdateAutoScalingGroup");
}

static enum bot_rc probe_suspend(struct kind_probe *p)
{
	return probe_info(p, "SuspendProcesses");
}

static enum bot_rc probe_resume(struct kind_probe *p)
{
	return probe_info(p, "ResumeProcesses");
}

static const struct kind_check check_describe = {
	.name = "autoscaling:DescribeAutoScalingGroups",
	.label = "",
	.target = target,
	.fix_denied = "allow autoscaling:DescribeAutoScalingGroups on Resource \"*\" (it has "
		      "no resource-level permissions; envbot selects %s itself) %s",
	.probe = probe_describe,
};
static const struct kind_check check_update = {
	.name = "autoscaling:UpdateAutoScalingGroup",
	.label = "",
	.target = target,
	.fix_denied = "allow autoscaling:UpdateAutoScalingGroup on %s (%s)",
	.probe = probe_update,
};
static const struct kind_check check_suspend = {
	.name = "autoscaling:SuspendProcesses",
	.label = "",
	.target = target,
	.fix_denied = "allow autoscaling:SuspendProcesses on %s (%s)",
	.probe = probe_suspend,
};
static const struct kind_check check_resume = {
	.name = "autoscaling:ResumeProcesses",
	.label = "",
	.target = target,
	.fix_denied = "allow autoscaling:ResumeProcesses on %s (%s)",
	.probe = probe_resume,
};
static const struct kind_check *const checks[] = { &check_describe, &check_update, &check_suspend,
						   &check_resume, NULL };

static bool by_tag(const struct cfg_env *env)
{
	return spec_of(env) && spec_of(env)->sel.tag_key;
}

const struct kind kind_asg = {
	.cfg = {
		.name = "asg",
		.settings = settings,
		.parse = parse,
		.free_spec = free_spec,
		.print_target = print_target,
		.by_tag = by_tag,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.embed_fields = embed_fields,
	.details_title = N_("Groups"),
	.checks = checks,
};
