/* kind = "ecs-service": services of one cluster, by name (service, or a
 * member's name) or by tag. Stop: each service's desired count and, where
 * it has an Application Auto Scaling target, that target's min and max are
 * saved in the state (on disk before anything is sent); the target is set
 * to 0/0 (the autoscaler would scale it out again), the desired count to
 * 0; polled until no task runs or is pending. Start: a service held at zero
 * gets back exactly what was saved (else the config's restore = { }, else a
 * refusal): target first, then the desired count; polled until steady
 * (running = desired, one deployment). A service not at zero at the start
 * was scaled by someone meanwhile: it is left as it is. */
#include "ecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/ecs.h"
#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

#define RETRY                                       \
	{                                           \
		.attempts = 3, .interval_ms = 10000 \
	}
#define MAX_ROUNDS   3
#define MAX_SERVICES 200

static const struct ecs_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

/* ---- the run ---- */

struct svc {
	char name[256];
	long long desired, running, pending;
	size_t n_deployments;
	bool has_target;
	long long tmin, tmax;
	struct state_capacity back; /* start: what it goes back to */
	const char *source;
};

struct run {
	struct svc *v;
	size_t n;
	size_t next; /* the service being looked at or worked on */
	int phase;
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

enum { S_FIND, S_APPLY, S_WAIT };
static const char *const start_steps[] = { N_("Find services"), N_("Restore the desired count"),
					   N_("Wait for a steady state"), NULL };
static const char *const stop_steps[] = { N_("Find services"), N_("Save the count and scale to 0"),
					  N_("Wait until no task runs"), NULL };

static void cap_key(const struct wf *wf, const char *name, char *key, size_t len)
{
	snprintf(key, len, "ecs/%.90s/%.90s", spec_of(wf->env)->cluster, name);
}

/* At a start, a service at desired 0 is down, whatever its target says (a
 * start killed between restoring the target and the count leaves 0 with
 * the range back). */
static bool held_at_zero(const struct svc *s)
{
	return s->desired == 0;
}

static void fail_call(struct wf *wf, const char *call, const char *name, const struct aws_err *err)
{
	char msg[700];
	snprintf(msg, sizeof(msg), "%s %.200s failed: %s%s%.300s", call, name, err->code,
		 err->code[0] ? ": " : "", err->message);
	wf_error(wf, err->rc, msg);
}

/* ---- Describe: the services, then each one's scalable target ---- */

static void target_next(struct wf *wf);

static void on_target(void *arg, const struct aws_err *err, bool found, long long min,
		      long long max)
{
	struct wf *wf = arg;
	struct run *r = run_of(wf);
	if (err->rc != BOT_OK) {
		fail_call(wf, "DescribeScalableTargets", r->v[r->next].name, err);
		return;
	}
	r->v[r->next].has_target = found;
	r->v[r->next].tmin = min;
	r->v[r->next].tmax = max;
	r->next++;
	target_next(wf);
}

static void target_next(struct wf *wf)
{
	struct run *r = run_of(wf);
	if (r->next >= r->n) {
		const struct svc *s = &r->v[0];
		if (r->n == 1)
			wf_detail_step(wf, "%s: %lld/%lld running, %zu deployment%s%s", s->name,
				       s->running, s->desired, s->n_deployments,
				       s->n_deployments == 1 ? "" : "s",
				       s->has_target ? ", autoscaled" : "");
		else
			wf_detail_step(wf, "%zu services", r->n);
		wf_next(wf, "*");
		return;
	}
	enum bot_rc rc =
		appas_target(wf->aws, spec_of(wf->env)->cluster, r->v[r->next].name, on_target, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the Application Auto Scaling request could not be sent");
}

static void on_described(void *arg, const struct aws_err *err, const struct ecs_services *list)
{
	struct wf *wf = arg;
	const struct ecs_spec *sp = spec_of(wf->env);
	struct run *r = run_of(wf);
	if (!r) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	if (err->rc != BOT_OK) {
		fail_call(wf, "DescribeServices", sp->cluster, err);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < list->n; i++)
		n += strcmp(list->v[i].status, "ACTIVE") == 0;
	if (n == 0) {
		if (sp->sel.name)
			wf_set_summary(wf, "ECS service %s/%s not found (or not ACTIVE)",
				       sp->cluster, sp->sel.name);
		else
			wf_set_summary(wf, "no ECS services of %s tagged %s=%s", sp->cluster,
				       sp->sel.tag_key, sp->sel.tag_value);
		wf_found_nothing(wf);
		return;
	}
	if (n > MAX_SERVICES) {
		wf_error(wf, BOT_EINVAL, "more than 200 ECS services carry the tag");
		return;
	}
	struct svc *v = calloc(n, sizeof(*v));
	if (!v) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	size_t k = 0;
	r->n_exempt = 0;
	r->exempt[0] = '\0';
	for (size_t i = 0; i < list->n; i++) {
		const struct ecs_service *e = &list->v[i];
		if (strcmp(e->status, "ACTIVE") != 0)
			continue;
		char why[160];
		if (kind_exempt(wf->env->exclude_tag, e->tags, e->n_tags, (int64_t)time(NULL), why,
				sizeof(why))) {
			kind_note_exempt(r->exempt, sizeof(r->exempt), &r->n_exempt, e->name, why);
			continue;
		}
		snprintf(v[k].name, sizeof(v[k].name), "%s", e->name);
		v[k].desired = e->desired;
		v[k].running = e->running;
		v[k].pending = e->pending;
		v[k].n_deployments = e->n_deployments;
		k++;
	}
	free(r->v);
	r->v = v;
	r->n = k;
	r->next = 0;
	target_next(wf);
}

static void t_describe(struct wf *wf)
{
	const struct ecs_spec *sp = spec_of(wf->env);
	enum bot_rc rc = ecs_describe(wf->aws, sp->cluster, sp->sel.name, sp->sel.tag_key,
				      sp->sel.tag_value, on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the ECS request could not be sent");
}

/* ---- Choose ---- */

/* Start: what a service held at zero goes back to; false (summary set)
 * when there is nothing to go back to. */
static bool start_target(struct wf *wf, struct svc *s)
{
	const struct cfg_capacity *rs = &spec_of(wf->env)->restore;
	char key[STATE_KEY_MAX];
	cap_key(wf, s->name, key, sizeof(key));
	if (wf_capacity_load(wf, key, &s->back) && s->back.desired > 0) {
		s->source = "the saved count";
		return true;
	}
	if (rs->set) {
		s->back = (struct state_capacity){ .min = rs->min,
						   .desired = rs->desired,
						   .max = rs->max };
		s->source = "restore = { } of the config";
		return true;
	}
	wf_set_summary(wf,
		       "ecs-service %s/%s: no saved capacity and no restore = { desired; } in "
		       "the config: envbot does not guess a count",
		       spec_of(wf->env)->cluster, s->name);
	return false;
}

static bool needs_apply(struct wf *wf, const struct svc *s)
{
	if (wf->action == ACTION_STOP)
		return s->desired > 0 || (s->has_target && s->tmax > 0);
	return held_at_zero(s);
}

static bool settled(struct wf *wf, const struct svc *s)
{
	if (wf->action == ACTION_STOP)
		return s->running + s->pending == 0;
	return s->running == s->desired && s->pending == 0 && s->n_deployments == 1;
}

static void c_choose(struct wf *wf)
{
	struct run *r = run_of(wf);
	size_t apply = 0, waiting = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct svc *s = &r->v[i];
		if (wf->action == ACTION_START && held_at_zero(s) && !start_target(wf, s)) {
			wf_next(wf, "stuck");
			return;
		}
		if (needs_apply(wf, s))
			apply++;
		else if (!settled(wf, s))
			waiting++;
	}
	if (apply) {
		if (wf->change_rounds >= MAX_ROUNDS) {
			wf_set_summary(wf, "%zu service(s) did not keep the count asked for",
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
	bool changed = wf->steps[S_APPLY].mark != WF_PENDING;
	wf->noop = !changed;
	for (size_t i = 0; i < r->n; i++) {
		const struct svc *s = &r->v[i];
		char key[STATE_KEY_MAX];
		struct state_capacity saved;
		cap_key(wf, s->name, key, sizeof(key));
		if (wf->action == ACTION_STOP && wf_capacity_load(wf, key, &saved))
			wf_add_detail(wf, "%s: 0 tasks (kept: desired %lld%s)", s->name,
				      saved.desired,
				      saved.max >= 0 ? ", autoscaler range kept" : "");
		else
			wf_add_detail(wf, "%s: %lld/%lld running, %zu deployment%s%s", s->name,
				      s->running, s->desired, s->n_deployments,
				      s->n_deployments == 1 ? "" : "s",
				      s->has_target ? " (autoscaled)" : "");
	}
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	const struct svc *s = &r->v[0];
	kind_report_exempt(wf, r->exempt, r->n_exempt);
	if (r->n == 0)
		wf_set_summary(wf, "nothing to do: %zu service%s found, exempt (left alone)",
			       r->n_exempt, r->n_exempt == 1 ? "" : "s");
	else if (!changed && wf->action == ACTION_START)
		wf_set_summary(wf, "already up: %zu service%s", r->n, r->n == 1 ? "" : "s");
	else if (!changed)
		wf_set_summary(wf, "already at 0: %zu service%s", r->n, r->n == 1 ? "" : "s");
	else if (r->n == 1 && wf->action == ACTION_START)
		wf_set_summary(wf, "%s %lld/%lld running%s in %llum%02llus", s->name, s->running,
			       s->desired, s->has_target ? " (autoscaler range back)" : "",
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else if (r->n == 1)
		wf_set_summary(wf, "%s at 0 tasks in %llum%02llus, count kept", s->name,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else if (wf->action == ACTION_START)
		wf_set_summary(wf, "%zu services up in %llum%02llus", r->n,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else
		wf_set_summary(wf, "%zu services at 0, counts kept in %llum%02llus", r->n,
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	wf_next(wf, "done");
}

/* ---- Apply ---- */

enum { P_SAVE, P_TARGET, P_COUNT, P_NEXT };

static void apply_next(struct wf *wf);

static void on_call(void *arg, const struct aws_err *err)
{
	struct wf *wf = arg;
	struct run *r = run_of(wf);
	if (err->rc != BOT_OK) {
		fail_call(wf, r->phase == P_TARGET ? "RegisterScalableTarget" : "UpdateService",
			  r->v[r->next].name, err);
		return;
	}
	r->phase++;
	apply_next(wf);
}

/* Stop: the count and range to keep. A target already at 0/0 (a stop
 * killed between its two calls) keeps the range an earlier save has. */
static enum bot_rc save(struct wf *wf, const struct svc *s)
{
	char err[300];
	struct state_capacity c = {
		.min = -1, .desired = s->desired, .max = -1, .saved_at = time(NULL)
	};
	cap_key(wf, s->name, c.key, sizeof(c.key));
	struct state_capacity before;
	if (s->has_target && s->tmax > 0) {
		c.min = s->tmin;
		c.max = s->tmax;
	} else if (s->has_target && wf_capacity_load(wf, c.key, &before)) {
		c.min = before.min;
		c.max = before.max;
	}
	if (wf_capacity_save(wf, &c, err, sizeof(err)) != BOT_OK) {
		char msg[600];
		snprintf(msg, sizeof(msg), "ecs-service %s not scaled down: %s", s->name, err);
		wf_error(wf, BOT_EINVAL, msg);
		return BOT_EINVAL;
	}
	if (c.max >= 0)
		wf_detail_step(wf, "%s: kept desired %lld, autoscaler min %lld, max %lld", s->name,
			       c.desired, c.min, c.max);
	else
		wf_detail_step(wf, "%s: kept desired %lld", s->name, c.desired);
	return BOT_OK;
}

static void apply_next(struct wf *wf)
{
	struct run *r = run_of(wf);
	const char *cluster = spec_of(wf->env)->cluster;
	for (; r->next < r->n; r->next++, r->phase = P_SAVE) {
		struct svc *s = &r->v[r->next];
		if (!needs_apply(wf, s))
			continue;
		bool stop = wf->action == ACTION_STOP;
		enum bot_rc rc = BOT_OK;
		for (; r->phase < P_NEXT; r->phase++) {
			if (stop && r->phase == P_SAVE && s->desired > 0) {
				if (save(wf, s) != BOT_OK)
					return;
			} else if (stop && r->phase == P_TARGET && s->has_target && s->tmax > 0) {
				rc = appas_register(wf->aws, cluster, s->name, 0, 0, on_call, wf);
				break;
			} else if (stop && r->phase == P_COUNT && s->desired > 0) {
				rc = ecs_update(wf->aws, cluster, s->name, 0, on_call, wf);
				break;
			} else if (!stop && r->phase == P_TARGET && s->has_target &&
				   s->back.max >= 0 && s->back.min >= 0) {
				rc = appas_register(wf->aws, cluster, s->name, s->back.min,
						    s->back.max, on_call, wf);
				break;
			} else if (!stop && r->phase == P_COUNT) {
				wf_detail_step(wf, "%s: back to %lld task%s (%s)", s->name,
					       s->back.desired, s->back.desired == 1 ? "" : "s",
					       s->source);
				rc = ecs_update(wf->aws, cluster, s->name, s->back.desired, on_call,
						wf);
				break;
			}
		}
		if (r->phase < P_NEXT) {
			if (rc != BOT_OK)
				wf_error(wf, rc, "the ECS request could not be sent");
			return;
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
	  .step = S_FIND,
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
	  .step = S_APPLY,
	  .run = t_apply,
	  .retry = RETRY,
	  .next = { { "look", "Describe" }, { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = S_WAIT, .next = { { "*", "Poll" } } },
	{ .name = "Poll",
	  .type = WF_TASK,
	  .step = S_WAIT,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "none", "NotFound" }, { "*", "Choose" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = N_("done") },
	{ .name = "NotFound", .type = WF_FAIL, .step = -1, .text = N_("no service to act on") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
	{ 0 },
};

static const struct wf_table start_table = { .name = "ecs-service/start",
					     .steps = start_steps,
					     .states = states };
static const struct wf_table stop_table = { .name = "ecs-service/stop",
					    .steps = stop_steps,
					    .states = states };

/* ---- settings ---- */

static const char *const settings[] = { "cluster", "service", "tag", "restore", NULL };

static void free_spec(void *p)
{
	struct ecs_spec *s = p;
	if (!s)
		return;
	free(s->cluster);
	kind_select_free(&s->sel);
	free(s);
}

static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	struct ecs_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	cfg_read_string(r, "cluster", CFG_REQUIRED, &s->cluster);
	kind_select_parse(r, env, "service", &s->sel);
	if (cfg_read_capacity(r, "restore", &s->restore)) {
		if (s->restore.desired < 0) {
			cfg_read_error(r, "restore", "an ECS service needs desired");
			s->restore.set = false;
		} else if ((s->restore.min < 0) != (s->restore.max < 0)) {
			cfg_read_error(r, "restore",
				       "min and max (the autoscaler's range) go together: both "
				       "or neither");
			s->restore.set = false;
		}
	}
	return s;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	const struct ecs_spec *s = spec_of(env);
	if (s->sel.name)
		fprintf(out, "%s/%s", kind_str(s->cluster), s->sel.name);
	else
		fprintf(out, "services of %s tagged %s=%s", kind_str(s->cluster),
			kind_str(s->sel.tag_key), kind_str(s->sel.tag_value));
	if (s->restore.set)
		fprintf(out, " (restore desired %lld)", s->restore.desired);
}

/* ---- live status ---- */

#define LIVE_MAX 20 /* resources listed; the rest are left out */

static void on_live(void *arg, const struct aws_err *err, const struct ecs_services *list)
{
	char text[LIVE_MAX][400];
	const char *lines[LIVE_MAX];
	size_t n = 0;
	for (size_t i = 0; list && i < list->n && n < LIVE_MAX; i++, n++) {
		const struct ecs_service *s = &list->v[i];
		snprintf(text[n], sizeof(text[n]), "%s %lld/%lld running, %zu deployment%s%s",
			 s->name, s->running, s->desired, s->n_deployments,
			 s->n_deployments == 1 ? "" : "s",
			 strcmp(s->status, "ACTIVE") ? " (not ACTIVE)" : "");
		lines[n] = text[n];
	}
	kind_live_list_end(arg, err, lines, n);
}

static const char *target(const struct cfg_env *env, char *buf, size_t len)
{
	const struct ecs_spec *s = spec_of(env);
	if (s->sel.name)
		snprintf(buf, len, "%s/%s", s->cluster, s->sel.name);
	else
		snprintf(buf, len, "%s %s=%s", s->cluster, s->sel.tag_key, s->sel.tag_value);
	return buf;
}

static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	const struct ecs_spec *sp = spec_of(env);
	char buf[600];
	struct kind_live_list *l = kind_live_list_new(env, target(env, buf, sizeof(buf)),
						      "DescribeServices", escape, done, arg);
	if (!l)
		return BOT_ENOMEM;
	enum bot_rc rc = ecs_describe(aws, sp->cluster, sp->sel.name, sp->sel.tag_key,
				      sp->sel.tag_value, on_live, l);
	if (rc != BOT_OK)
		free(l);
	return rc;
}

/* ---- embed ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	char buf[600];
	add(arg, N_("ECS service"), target(wf_env(wf), buf, sizeof(buf)), true);
}

/* ---- doctor ---- */

static void on_probe(void *arg, const struct aws_err *err, const struct ecs_services *list)
{
	struct kind_probe *p = arg;
	if (err->rc != BOT_OK) {
		const struct kind_answer a = { .verdict = KIND_AWS_ERROR, .err = err };
		p->answer(p, &a);
		return;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "allowed: %zu service%s found", list->n,
		 list->n == 1 ? "" : "s");
	const struct kind_answer a = { .verdict = list->n ? KIND_PASS : KIND_FAIL,
				       .detail = list->n ? detail : "allowed, but no such service",
				       .fix = list->n ? NULL
						      : "check cluster, service or the tag" };
	p->answer(p, &a);
}

static enum bot_rc probe_describe(struct kind_probe *p)
{
	const struct ecs_spec *sp = spec_of(p->env);
	return ecs_describe(p->aws, sp->cluster, sp->sel.name, sp->sel.tag_key, sp->sel.tag_value,
			    on_probe, p);
}

static void on_probe_target(void *arg, const struct aws_err *err, bool found, long long min,
			    long long max)
{
	struct kind_probe *p = arg;
	char detail[160];
	if (err->rc != BOT_OK) {
		const struct kind_answer a = { .verdict = KIND_AWS_ERROR, .err = err };
		p->answer(p, &a);
		return;
	}
	if (found)
		snprintf(detail, sizeof(detail), "allowed: autoscaled, min %lld, max %lld", min,
			 max);
	else
		snprintf(detail, sizeof(detail), "allowed: no scalable target");
	const struct kind_answer a = { .verdict = KIND_PASS, .detail = detail };
	p->answer(p, &a);
}

static enum bot_rc probe_target(struct kind_probe *p)
{
	const struct ecs_spec *sp = spec_of(p->env);
	if (!sp->sel.name) {
		const struct kind_answer a = {
			.verdict = KIND_INFO,
			.detail = "not probed: the services are selected by tag",
			.fix = "the policy must allow "
			       "application-autoscaling:DescribeScalableTargets "
			       "on \"*\""
		};
		p->answer(p, &a);
		return BOT_OK;
	}
	return appas_target(p->aws, sp->cluster, sp->sel.name, on_probe_target, p);
}

static enum bot_rc probe_info(struct kind_probe *p, const char *action)
{
	char detail[200], fix[500];
	snprintf(detail, sizeof(detail), "not probed: %s has no DryRun", action);
	snprintf(fix, sizeof(fix),
		 "the policy must allow %s for %s (deploy/cloudformation/envbot.yaml, %s)", action,
		 p->target,
		 spec_of(p->env)->sel.name ? "EcsServices" : "ResourceTagKey/ResourceTagValue");
	const struct kind_answer a = { .verdict = KIND_INFO, .detail = detail, .fix = fix };
	p->answer(p, &a);
	return BOT_OK;
}

static enum bot_rc probe_update(struct kind_probe *p)
{
	return probe_info(p, "ecs:UpdateService");
}

static enum bot_rc probe_register(struct kind_probe *p)
{
	return probe_info(p, "application-autoscaling:RegisterScalableTarget");
}

static const struct kind_check check_describe = {
	.name = "ecs:DescribeServices",
	.label = "",
	.target = target,
	.fix_denied = "allow ecs:DescribeServices on the service %s (ecs:ListServices too when "
		      "selected by tag) %s",
	.probe = probe_describe,
};
static const struct kind_check check_target = {
	.name = "application-autoscaling:DescribeScalableTargets",
	.label = "",
	.target = target,
	.fix_denied = "allow application-autoscaling:DescribeScalableTargets on \"*\" (no "
		      "resource-level permissions; %s) %s",
	.probe = probe_target,
};
static const struct kind_check check_update = {
	.name = "ecs:UpdateService",
	.label = "",
	.target = target,
	.fix_denied = "allow ecs:UpdateService on %s (%s)",
	.probe = probe_update,
};
static const struct kind_check check_register = {
	.name = "application-autoscaling:RegisterScalableTarget",
	.label = "",
	.target = target,
	.fix_denied = "allow application-autoscaling:RegisterScalableTarget for %s (%s)",
	.probe = probe_register,
};
static const struct kind_check *const checks[] = { &check_describe, &check_target, &check_update,
						   &check_register, NULL };

static bool by_tag(const struct cfg_env *env)
{
	return spec_of(env) && spec_of(env)->sel.tag_key;
}

const struct kind kind_ecs_service = {
	.cfg = {
		.name = "ecs-service",
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
	.details_title = N_("Services"),
	.checks = checks,
};
