/* kind = "ec2": EC2 instances found by a tag, in one file. Its setting (the
 * tag); its workflows as state tables (find the instances by tag, every page,
 * Auto Scaling group members left alone and listed as such; start or stop
 * those not already in the target state, in batches; poll until every one is
 * running, or stopped); its live status, embed fields and doctor checks. */
#include "ec2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

static const struct ec2_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

#define RETRY                                       \
	{                                           \
		.attempts = 3, .interval_ms = 10000 \
	}
#define MAX_CHANGE_ROUNDS 3 /* an instance that falls back is retried, not forever */

enum { E_FIND, E_CHANGE, E_WAIT };
static const char *const start_steps[] = { N_("Find instances"), N_("Start instances"),
					   N_("Wait until running"), NULL };
static const char *const stop_steps[] = { N_("Find instances"), N_("Stop instances"),
					  N_("Wait until stopped"), NULL };

static const char *target_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "running" : "stopped";
}

/* The stable state an instance must be in for our call to apply to it. */
static const char *source_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "stopped" : "running";
}

/* Not ours to change: an Auto Scaling group's, or exempt by its tag. */
static bool left_alone(const struct wf_instance *in)
{
	return in->in_asg || in->exempt[0];
}

static void on_described(void *arg, const struct aws_err *err, const struct ec2_instances *list)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "DescribeInstances failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	if (list->n > WF_MAX_INSTANCES) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "%zu instances are tagged %s=%s; envbot acts on at most %d", list->n,
			 spec_of(wf->env)->tag_key, spec_of(wf->env)->tag_value, WF_MAX_INSTANCES);
		wf_error(wf, BOT_EINVAL, msg);
		return;
	}
	size_t n = list->n;
	struct wf_instance *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "%s", list->v[i].id);
		snprintf(v[i].state, sizeof(v[i].state), "%s", list->v[i].state);
		snprintf(v[i].name, sizeof(v[i].name), "%s", list->v[i].name);
		v[i].in_asg = list->v[i].in_asg;
		v[i].hibernation = list->v[i].hibernation;
		snprintf(v[i].reason, sizeof(v[i].reason), "%s", list->v[i].reason);
		kind_exempt(wf->env->exclude_tag, list->v[i].tags, list->v[i].n_tags,
			    (int64_t)time(NULL), v[i].exempt, sizeof(v[i].exempt));
	}
	free(wf->instances);
	wf->instances = v;
	wf->n_instances = n;
	wf->polls++;

	size_t ok = 0, managed = 0, exempt = 0;
	for (size_t i = 0; i < n; i++) {
		exempt += !v[i].in_asg && v[i].exempt[0];
		if (left_alone(&v[i]))
			continue;
		managed++;
		if (strcmp(v[i].state, target_state(wf)) == 0)
			ok++;
	}
	if (exempt)
		wf_detail_step(wf,
			       "%zu/%zu %s (%zu in Auto Scaling groups, %zu exempt: left alone)",
			       ok, managed, target_state(wf), list->n_asg, exempt);
	else
		wf_detail_step(wf, "%zu/%zu %s (%zu in Auto Scaling groups, left alone)", ok,
			       managed, target_state(wf), list->n_asg);
	wf_next(wf, "*");
}

static void t_describe(struct wf *wf)
{
	enum bot_rc rc = ec2_describe_by_tag(wf->aws, spec_of(wf->env)->tag_key,
					     spec_of(wf->env)->tag_value, on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "DescribeInstances could not be sent");
}

/* The failure names AWS's own reason for every instance that fell back
 * (stateReason: "Client.InternalError: Client error on launch" when the
 * role may not use the volumes' KMS key), in the summary and the details. */
static void stuck(struct wf *wf, size_t n)
{
	char why[400] = "";
	size_t o = 0;
	for (size_t i = 0; i < wf->n_instances; i++) {
		const struct wf_instance *in = &wf->instances[i];
		if (left_alone(in) || strcmp(in->state, source_state(wf)) != 0)
			continue;
		wf_add_detail(wf, "%s: %s%s%s", in->id, in->state, in->reason[0] ? " — " : "",
			      in->reason);
		if (o < sizeof(why))
			o += (size_t)snprintf(why + o, sizeof(why) - o, "; %s fell back to %s%s%s",
					      in->id, in->state, in->reason[0] ? ": " : "",
					      in->reason);
	}
	wf_set_summary(wf, "%zu instance(s) did not stay %s%s", n, target_state(wf), why);
	wf_next(wf, "stuck");
}

/* Choice: what does the fleet need now? */
static void c_choose(struct wf *wf)
{
	size_t managed = 0, to_change = 0, settling = 0;
	for (size_t i = 0; i < wf->n_instances; i++) {
		const struct wf_instance *in = &wf->instances[i];
		if (left_alone(in))
			continue;
		managed++;
		if (strcmp(in->state, source_state(wf)) == 0)
			to_change++;
		else if (strcmp(in->state, target_state(wf)) != 0)
			settling++; /* pending, stopping: wait for it to settle */
	}
	if (managed == 0) {
		size_t exempt = 0;
		for (size_t i = 0; i < wf->n_instances; i++) {
			const struct wf_instance *in = &wf->instances[i];
			if (!in->in_asg && in->exempt[0]) {
				exempt++;
				wf_add_skipped(wf, "%s (%s)", in->id, in->exempt);
				wf_add_detail(wf, "%s %s%s%s: %s (exempt: %s, left alone)", in->id,
					      in->name[0] ? "(" : "", in->name,
					      in->name[0] ? ")" : "", in->state, in->exempt);
			}
		}
		if (exempt)
			wf_set_summary(wf,
				       "no instances tagged %s=%s outside Auto Scaling groups but "
				       "exempt ones",
				       spec_of(wf->env)->tag_key, spec_of(wf->env)->tag_value);
		else
			wf_set_summary(wf, "no instances tagged %s=%s outside Auto Scaling groups",
				       spec_of(wf->env)->tag_key, spec_of(wf->env)->tag_value);
		wf_found_nothing(wf);
		return;
	}
	if (to_change > 0) {
		if (wf->change_rounds >= MAX_CHANGE_ROUNDS) {
			stuck(wf, to_change);
			return;
		}
		wf_next(wf, "change");
		return;
	}
	if (settling > 0) {
		wf_next(wf, "wait");
		return;
	}
	/* Everything is in the target state. */
	bool changed = wf->steps[E_CHANGE].mark != WF_PENDING;
	wf->noop = !changed;
	size_t exempt = 0;
	for (size_t i = 0; i < wf->n_instances; i++) {
		const struct wf_instance *in = &wf->instances[i];
		char note[200] = "";
		if (in->in_asg)
			snprintf(note, sizeof(note), " (Auto Scaling group, left alone)");
		else if (in->exempt[0])
			snprintf(note, sizeof(note), " (exempt: %s, left alone)", in->exempt);
		if (!in->in_asg && in->exempt[0]) {
			exempt++;
			wf_add_skipped(wf, "%s (%s)", in->id, in->exempt);
		}
		wf_add_detail(wf, "%s %s%s%s: %s%s", in->id, in->name[0] ? "(" : "", in->name,
			      in->name[0] ? ")" : "", in->state, note);
	}
	char skipped[64] = "";
	if (exempt)
		snprintf(skipped, sizeof(skipped), "; %zu exempt, left alone", exempt);
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	if (changed)
		wf_set_summary(wf, "%zu instance(s) %s in %llum%02llus%s", managed,
			       target_state(wf), (unsigned long long)(secs / 60),
			       (unsigned long long)(secs % 60), skipped);
	else
		wf_set_summary(wf, "already %s: %zu instance(s)%s", target_state(wf), managed,
			       skipped);
	wf_next(wf, "done");
}

static void on_changed(void *arg, const struct aws_err *err, const struct ec2_changes *ch)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "%s failed: %s%s%s",
			 wf->action == ACTION_START ? "StartInstances" : "StopInstances", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	wf_detail_step(wf, "%zu instance(s) %s", ch->n,
		       wf->action == ACTION_START ? "starting" : "stopping");
	wf_next(wf, "*");
}

/* The ids to act on now; with hib, only those whose hibernation is (true)
 * or is not (false) configured. Returns a new array the caller frees, NULL
 * on ENOMEM; *n is its length. */
static const char **change_ids(const struct wf *wf, int hib, size_t *n)
{
	const char **ids = calloc(wf->n_instances ? wf->n_instances : 1, sizeof(*ids));
	*n = 0;
	for (size_t i = 0; ids && i < wf->n_instances; i++)
		if (!left_alone(&wf->instances[i]) &&
		    strcmp(wf->instances[i].state, source_state(wf)) == 0 &&
		    (hib < 0 || wf->instances[i].hibernation == (hib > 0)))
			ids[(*n)++] = wf->instances[i].id;
	return ids;
}

/* Plain StopInstances for those that cannot hibernate (hib 0), or for all
 * when EC2 refused the hibernation (hib -1); each one is named. */
static void stop_rest(struct wf *wf, int hib)
{
	size_t n;
	const char **ids = change_ids(wf, hib, &n);
	if (!ids) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		wf_add_detail(wf, "%s cannot hibernate (%s): stopped instead", ids[i],
			      hib < 0 ? "EC2 refused: UnsupportedHibernationConfiguration"
				      : "not configured");
	enum bot_rc rc = ec2_stop_instances(wf->aws, ids, n, on_changed, wf);
	free(ids);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the EC2 request could not be sent");
}

static void on_hibernated(void *arg, const struct aws_err *err, const struct ec2_changes *ch)
{
	struct wf *wf = arg;
	(void)ch;
	if (err->rc != BOT_OK && strcmp(err->code, "UnsupportedHibernationConfiguration") == 0) {
		stop_rest(wf, -1);
		return;
	}
	if (err->rc != BOT_OK) {
		char msg[700];
		snprintf(msg, sizeof(msg), "StopInstances (Hibernate) failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	stop_rest(wf, 0);
}

/* hibernate = true: those configured for it hibernate first, then the
 * others stop. */
static void hibernate(struct wf *wf)
{
	size_t n;
	const char **ids = change_ids(wf, 1, &n);
	if (!ids) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	enum bot_rc rc = n ? ec2_hibernate_instances(wf->aws, ids, n, on_hibernated, wf) : BOT_OK;
	free(ids);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the EC2 request could not be sent");
	else if (n == 0)
		stop_rest(wf, 0);
}

static void t_change(struct wf *wf)
{
	if (wf->action == ACTION_STOP && spec_of(wf->env)->hibernate) {
		wf->change_rounds++;
		hibernate(wf);
		return;
	}
	const char **ids = calloc(wf->n_instances ? wf->n_instances : 1, sizeof(*ids));
	if (!ids) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	size_t n = 0;
	wf->change_rounds++;
	for (size_t i = 0; i < wf->n_instances; i++)
		if (!left_alone(&wf->instances[i]) &&
		    strcmp(wf->instances[i].state, source_state(wf)) == 0)
			ids[n++] = wf->instances[i].id;
	enum bot_rc rc = wf->action == ACTION_START
				 ? ec2_start_instances(wf->aws, ids, n, on_changed, wf)
				 : ec2_stop_instances(wf->aws, ids, n, on_changed, wf);
	free(ids); /* the ids are copied by the call */
	if (rc != BOT_OK)
		wf_error(wf, rc, "the EC2 request could not be sent");
}

/* ---- the table: one for both directions; the tasks read wf->action ---- */

static const struct wf_state states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = E_FIND,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "*", "Choose" } } },
	{ .name = "Choose",
	  .type = WF_CHOICE,
	  .step = -1,
	  .run = c_choose,
	  .next = { { "none", "NoInstances" },
		    { "change", "Change" },
		    { "wait", "Wait" },
		    { "done", "Done" },
		    { "stuck", "Fail" } } },
	{ .name = "Change",
	  .type = WF_TASK,
	  .step = E_CHANGE,
	  .run = t_change,
	  .retry = RETRY,
	  .next = { { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = E_WAIT, .next = { { "*", "Poll" } } },
	{ .name = "Poll",
	  .type = WF_TASK,
	  .step = E_WAIT,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "*", "Choose" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = N_("done") },
	{ .name = "NoInstances",
	  .type = WF_FAIL,
	  .step = -1,
	  .text = N_("no instances to act on") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
	{ 0 },
};

static const struct wf_table start_table = { .name = "ec2/start",
					     .steps = start_steps,
					     .states = states };
static const struct wf_table stop_table = { .name = "ec2/stop",
					    .steps = stop_steps,
					    .states = states };

/* ---- settings ---- */

static const char *const settings[] = { "tag", "hibernate", NULL };

static void free_spec(void *p)
{
	struct ec2_spec *s = p;
	if (!s)
		return;
	free(s->tag_key);
	free(s->tag_value);
	free(s);
}

/* Returns the new spec (freed with free_spec), NULL on ENOMEM (reported). */
static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	static const char *const tag_known[] = { "key", "value", NULL };
	(void)env;
	struct ec2_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	cfg_read_bool(r, "hibernate", &s->hibernate);
	struct cfg_reader *tag = cfg_read_group(r, "tag", true);
	if (!tag)
		return s;
	cfg_read_known(tag, tag_known);
	cfg_read_string(tag, "key", CFG_REQUIRED, &s->tag_key);
	cfg_read_string(tag, "value", CFG_REQUIRED, &s->tag_value);
	return s;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	fprintf(out, "instances tagged %s=%s", kind_str(spec_of(env)->tag_key),
		kind_str(spec_of(env)->tag_value));
}

/* ---- live status: the tagged instances by state ---- */

#define LIVE_MAX_INSTANCES 20 /* listed one per line; the rest summed up */

/* Everything is copied: a config reload meanwhile cannot pull anything from
 * under the lookup. */
struct live {
	struct kind_live out;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	char name[64], tag_key[128], tag_value[256];
	char exclude[128]; /* the exemption tag key */
};

/* How many of list are exempt; the first why into why. */
static size_t count_exempt(const struct live *l, const struct ec2_instances *list)
{
	size_t n = 0;
	char why[160];
	for (size_t i = 0; i < list->n; i++)
		n += !list->v[i].in_asg &&
		     kind_exempt(l->exclude, list->v[i].tags, list->v[i].n_tags,
				 (int64_t)time(NULL), why, sizeof(why));
	return n;
}

/* `envbot status`: a count by state and one line per instance. */
static void render_report(struct live *l, const struct aws_err *err,
			  const struct ec2_instances *list)
{
	struct buf *b = &l->out.report;
	buf_addf(b, "%-6s ec2 tag %s=%s: ", l->name, l->tag_key, l->tag_value);
	if (err->rc != BOT_OK || !list) {
		buf_addf(b, "unknown\n");
		kind_live_report_error(&l->out, "DescribeInstances", err);
		return;
	}
	if (list->n == 0) {
		buf_addf(b, "no instances\n");
		return;
	}
	size_t running = 0, stopped = 0, other = 0;
	for (size_t i = 0; i < list->n; i++) {
		if (strcmp(list->v[i].state, "running") == 0)
			running++;
		else if (strcmp(list->v[i].state, "stopped") == 0)
			stopped++;
		else
			other++;
	}
	buf_addf(b, "%zu instance%s: %zu running, %zu stopped", list->n, list->n == 1 ? "" : "s",
		 running, stopped);
	if (other)
		buf_addf(b, ", %zu changing", other);
	if (list->n_asg)
		buf_addf(b, " (%zu in Auto Scaling groups: left to the group)", list->n_asg);
	size_t exempt = count_exempt(l, list);
	if (exempt)
		buf_addf(b, " (%zu exempt: left alone)", exempt);
	buf_addf(b, "\n");
	for (size_t i = 0; i < list->n && i < LIVE_MAX_INSTANCES; i++) {
		const struct ec2_instance *in = &list->v[i];
		char line[400], why[160] = "";
		if (!in->in_asg)
			kind_exempt(l->exclude, in->tags, in->n_tags, (int64_t)time(NULL), why,
				    sizeof(why));
		snprintf(line, sizeof(line), "%s  %-13s %-11s %s%s%s%s%s%s%s", in->id, in->state,
			 in->type, in->name, in->in_asg ? "  (Auto Scaling group " : "",
			 in->in_asg ? in->asg_name : "", in->in_asg ? ")" : "",
			 why[0] ? "  (exempt: " : "", why, why[0] ? ")" : "");
		buf_addf(b, "       %s\n", line);
	}
	if (list->n > LIVE_MAX_INSTANCES)
		buf_addf(b, "       ... and %zu more\n", list->n - LIVE_MAX_INSTANCES);
}

/* /env status: "2 instances, 1 running, 1 stopped (1 in Auto Scaling groups)". */
static void render_line(struct live *l, const struct aws_err *err, const struct ec2_instances *list)
{
	static const char *const shown[] = { "running", "pending", "stopping", "stopped",
					     "shutting-down" };
	char *line = l->out.line;
	size_t len = sizeof(l->out.line);
	if (!list || err->rc != BOT_OK) {
		kind_live_line_error(&l->out, err, l->escape);
		return;
	}
	size_t o = (size_t)snprintf(line, len, "%zu instance%s", list->n, list->n == 1 ? "" : "s");
	for (size_t s = 0; s < sizeof(shown) / sizeof(shown[0]) && o < len; s++) {
		size_t k = 0;
		for (size_t i = 0; i < list->n; i++)
			k += strcmp(list->v[i].state, shown[s]) == 0;
		if (k)
			o += (size_t)snprintf(line + o, len - o, ", %zu %s", k, shown[s]);
	}
	if (list->n_asg && o < len)
		o += (size_t)snprintf(line + o, len - o, " (%zu in Auto Scaling groups)",
				      list->n_asg);
	size_t exempt = count_exempt(l, list);
	if (exempt && o < len)
		snprintf(line + o, len - o, " (%zu exempt by tag %s)", exempt, l->exclude);
}

static void on_live(void *arg, const struct aws_err *err, const struct ec2_instances *list)
{
	struct live *l = arg;
	render_report(l, err, list);
	render_line(l, err, list);
	l->done(l->arg, &l->out);
	buf_free(&l->out.report);
	free(l);
}

/* done and arg are kept until done runs; env is copied. */
static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	struct live *l = calloc(1, sizeof(*l));
	if (!l)
		return BOT_ENOMEM;
	l->escape = escape;
	l->done = done;
	l->arg = arg;
	snprintf(l->name, sizeof(l->name), "%s", env->name);
	snprintf(l->tag_key, sizeof(l->tag_key), "%s", spec_of(env)->tag_key);
	snprintf(l->tag_value, sizeof(l->tag_value), "%s", spec_of(env)->tag_value);
	snprintf(l->exclude, sizeof(l->exclude), "%s",
		 env->exclude_tag ? env->exclude_tag : CFG_EXCLUDE_TAG);
	enum bot_rc rc = ec2_describe_by_tag(aws, l->tag_key, l->tag_value, on_live, l);
	if (rc != BOT_OK)
		free(l);
	return rc;
}

/* ---- the progress embed ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	const struct ec2_spec *s = spec_of(wf_env(wf));
	char buf[512];
	snprintf(buf, sizeof(buf), "%s=%s", s->tag_key, s->tag_value);
	add(arg, N_("Instances tagged"), buf, true);
}

/* ---- envbot doctor ---- */

#define PROBE_MAX_IDS EC2_BATCH

/* What DescribeInstances found for the DryRun probes: the tagged instances
 * outside Auto Scaling groups. */
struct probe_ids {
	size_t n;
	char id[PROBE_MAX_IDS][32];
};

static const char *target_tag(const struct cfg_env *env, char *buf, size_t len)
{
	snprintf(buf, len, "%s=%s", spec_of(env)->tag_key, spec_of(env)->tag_value);
	return buf;
}

static void policy_tag(const struct cfg_env *env, const char **a, const char **b)
{
	*a = spec_of(env)->tag_key;
	*b = spec_of(env)->tag_value;
}

/* The ids go into a form unescaped and into fixed slots: anything that is
 * not an instance id as EC2 writes them ("i-" and hex) is left out. */
static bool instance_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 2 && n < sizeof(((struct probe_ids *)0)->id[0]) && strncmp(id, "i-", 2) == 0 &&
	       strspn(id + 2, "0123456789abcdef") == n - 2;
}

static void on_probe_instances(void *arg, const struct aws_err *err, const struct ec2_instances *l)
{
	struct kind_probe *p = arg;
	if (err->rc != BOT_OK || !l) {
		const struct kind_answer a = { .verdict = KIND_AWS_ERROR, .err = err };
		p->answer(p, &a);
		return;
	}
	struct probe_ids *ids = calloc(1, sizeof(*ids));
	char why[160];
	for (size_t i = 0; ids && i < l->n && ids->n < PROBE_MAX_IDS; i++)
		if (!l->v[i].in_asg && instance_id_ok(l->v[i].id) &&
		    !kind_exempt(p->env->exclude_tag, l->v[i].tags, l->v[i].n_tags,
				 (int64_t)time(NULL), why, sizeof(why)))
			snprintf(ids->id[ids->n++], sizeof(ids->id[0]), "%s", l->v[i].id);
	char detail[200];
	snprintf(detail, sizeof(detail), "allowed: %zu instance%s tagged%s", l->n,
		 l->n == 1 ? "" : "s",
		 l->n_asg ? " (some in Auto Scaling groups, left to the group)" : "");
	const struct kind_answer a = { .verdict = KIND_PASS, .detail = detail, .output = ids };
	p->answer(p, &a);
}

static enum bot_rc probe_instances(struct kind_probe *p)
{
	return ec2_describe_by_tag(p->aws, spec_of(p->env)->tag_key, spec_of(p->env)->tag_value,
				   on_probe_instances, p);
}

static void on_dry_run(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct kind_probe *p = arg;
	const struct probe_ids *ids = p->input;
	char detail[128];
	(void)body;
	(void)len;
	struct kind_answer a = { .verdict = KIND_PASS, .detail = detail };
	if (err->rc == BOT_EREMOTE && strcmp(err->code, "DryRunOperation") == 0)
		snprintf(detail, sizeof(detail), "allowed (DryRun on %zu tagged instance%s)",
			 ids->n, ids->n == 1 ? "" : "s");
	else if (err->rc == BOT_OK) /* an endpoint that ignores DryRun: it did act, but allowed */
		snprintf(detail, sizeof(detail), "allowed (the endpoint ignored DryRun=true)");
	else
		a = (struct kind_answer){ .verdict = KIND_AWS_ERROR, .err = err };
	p->answer(p, &a);
}

/* The start/stop probes need instance ids: a tag condition in the policy is
 * evaluated against the instances themselves, so probing made-up ids would
 * say "denied" for a policy that is right. */
static enum bot_rc dry_run(struct kind_probe *p, const char *action)
{
	const struct probe_ids *ids = p->input;
	if (ids->n == 0) {
		char detail[400], fix[400];
		snprintf(detail, sizeof(detail),
			 "not probed: no instance outside Auto Scaling groups has the tag %s now",
			 p->target);
		snprintf(fix, sizeof(fix),
			 "the policy must allow ec2:%s on instances tagged %s (condition "
			 "aws:ResourceTag)",
			 action, p->target);
		const struct kind_answer a = { .verdict = KIND_INFO, .detail = detail, .fix = fix };
		p->answer(p, &a);
		return BOT_OK;
	}
	char form[64 * PROBE_MAX_IDS + 32];
	size_t n = 0;
	for (size_t i = 0; i < ids->n; i++)
		n += (size_t)snprintf(form + n, sizeof(form) - n, "InstanceId.%zu=%s&", i + 1,
				      ids->id[i]);
	snprintf(form + n, sizeof(form) - n, "DryRun=true");
	return aws_call_query(p->aws, AWS_EC2, action, form, on_dry_run, p);
}

static enum bot_rc probe_start(struct kind_probe *p)
{
	return dry_run(p, "StartInstances");
}

static enum bot_rc probe_stop(struct kind_probe *p)
{
	return dry_run(p, "StopInstances");
}

static const struct kind_check check_describe = {
	.name = "ec2:DescribeInstances",
	.label = "tag ",
	.target = target_tag,
	.fix_denied = "allow ec2:DescribeInstances on Resource \"*\" (EC2 Describe "
		      "calls have no resource-level permissions; envbot itself filters "
		      "by the tag %s=%s)",
	.policy_args = policy_tag,
	.probe = probe_instances,
};
static const struct kind_check check_start = {
	.name = "ec2:StartInstances",
	.label = "tag ",
	.target = target_tag,
	.fix_denied = "allow ec2:StartInstances on arn:aws:ec2:REGION:ACCOUNT:instance/* "
		      "with condition StringEquals aws:ResourceTag/%s = %s "
		      "(deploy/cloudformation/envbot.yaml, Ec2TagKey/Ec2TagValue)",
	.policy_args = policy_tag,
	.probe = probe_start,
	.after = &check_describe,
};
static const struct kind_check check_stop = {
	.name = "ec2:StopInstances",
	.label = "tag ",
	.target = target_tag,
	.fix_denied = "allow ec2:StopInstances on arn:aws:ec2:REGION:ACCOUNT:instance/* "
		      "with condition StringEquals aws:ResourceTag/%s = %s "
		      "(deploy/cloudformation/envbot.yaml, Ec2TagKey/Ec2TagValue)",
	.policy_args = policy_tag,
	.probe = probe_stop,
	.after = &check_describe,
};
static const struct kind_check *const checks[] = { &check_describe, &check_start, &check_stop,
						   NULL };

/* ---- the descriptor ---- */

static bool by_tag(const struct cfg_env *env)
{
	(void)env;
	return true; /* ec2 always selects by tag */
}

const struct kind kind_ec2 = {
	.cfg = {
		.name = "ec2",
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
	.details_title = N_("Instances"),
	.checks = checks,
};
