/* kinds "rds" and "rds-cluster", in one file: one table for both kinds and
 * both directions (find the databases, start or stop those in the stable
 * state the call applies to, wait for the others to settle, poll until
 * every one is available, or stopped); live status, embed fields, doctor.
 * AWS starts a database stopped for 7 days again on its own: wakes_up says
 * so, and the scheduler's watch stops it again while the schedule says down
 * (bot/sched). An instance that belongs to a cluster is left to it (AWS
 * starts and stops Aurora instances only through their cluster). */
#include "rds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/rds.h"
#include "../i18n/i18n.h"
#include "../wf/wf_internal.h"

#define RETRY                                       \
	{                                           \
		.attempts = 3, .interval_ms = 10000 \
	}
#define MAX_CHANGE_ROUNDS 3
#define MAX_DBS           200

static const struct kind_select *sel_of(const struct cfg_env *env)
{
	return env->spec;
}

static enum rds_what what_of(const struct cfg_env *env)
{
	return kind_of(env) == &kind_rds ? RDS_INSTANCE : RDS_CLUSTER;
}

static const char *noun(const struct cfg_env *env)
{
	return what_of(env) == RDS_INSTANCE ? "DB instance" : "DB cluster";
}

/* ---- the run ---- */

struct db {
	char id[72];
	char status[48];
	char engine[40];
	char cluster[72];
	size_t n_members;
	char exempt[160]; /* the exemption tag keeping it untouched, "" if none */
};

struct run {
	struct db *v;
	size_t n;
	size_t next; /* Change: the next database to send the call for */
	bool changed;
};

static void free_run_data(void *p)
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
		wf->kind_data_free = free_run_data;
	}
	return wf->kind_data;
}

enum { R_FIND, R_CHANGE, R_WAIT };
static const char *const start_steps[] = { N_("Find databases"), N_("Start"),
					   N_("Wait until available"), NULL };
static const char *const stop_steps[] = { N_("Find databases"), N_("Stop"),
					  N_("Wait until stopped"), NULL };

static const char *target_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "available" : "stopped";
}

static const char *source_state(const struct wf *wf)
{
	return wf->action == ACTION_START ? "stopped" : "available";
}

/* States that end by themselves: wait for them, then act. */
static bool settling(const char *status)
{
	static const char *const s[] = { "starting",
					 "stopping",
					 "backing-up",
					 "modifying",
					 "rebooting",
					 "upgrading",
					 "renaming",
					 "maintenance",
					 "configuring-enhanced-monitoring",
					 "creating",
					 "storage-optimization",
					 "resetting-master-credentials",
					 "configuring-iam-database-auth",
					 "migrating",
					 "promoting",
					 "backtracking",
					 "configuring-log-exports",
					 NULL };
	for (const char *const *p = s; *p; p++)
		if (strcmp(*p, status) == 0)
			return true;
	return false;
}

/* An Aurora instance selected by tag belongs to its cluster; an exempt one
 * (kind_exempt) to nobody. */
static bool left_alone(const struct wf *wf, const struct db *d)
{
	return d->exempt[0] ||
	       (what_of(wf->env) == RDS_INSTANCE && sel_of(wf->env)->tag_key && d->cluster[0]);
}

static void db_error(struct wf *wf, const char *call, const struct aws_err *err)
{
	char msg[700];
	snprintf(msg, sizeof(msg), "%s failed: %s%s%s", call, err->code, err->code[0] ? ": " : "",
		 err->message);
	wf_error(wf, err->rc, msg);
}

static const char *describe_call(const struct wf *wf)
{
	return what_of(wf->env) == RDS_INSTANCE ? "DescribeDBInstances" : "DescribeDBClusters";
}

static void on_described(void *arg, const struct aws_err *err, const struct rds_dbs *list)
{
	struct wf *wf = arg;
	const struct kind_select *s = sel_of(wf->env);
	struct run *r = run_of(wf);
	if (!r) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	if (err->rc == BOT_ENOTFOUND || (err->rc == BOT_OK && s->name && list->n == 0)) {
		wf_set_summary(wf, "%s %s not found (%s)", noun(wf->env), s->name,
			       err->code[0] ? err->code : "no such database");
		wf_next(wf, "none");
		return;
	}
	if (err->rc != BOT_OK) {
		db_error(wf, describe_call(wf), err);
		return;
	}
	if (list->n > MAX_DBS) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "%zu databases are tagged %s=%s; envbot acts on at most %d", list->n,
			 s->tag_key, s->tag_value, MAX_DBS);
		wf_error(wf, BOT_EINVAL, msg);
		return;
	}
	struct db *v = calloc(list->n ? list->n : 1, sizeof(*v));
	if (!v) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	size_t ok = 0, alone = 0;
	for (size_t i = 0; i < list->n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "%s", list->v[i].id);
		snprintf(v[i].status, sizeof(v[i].status), "%s", list->v[i].status);
		snprintf(v[i].engine, sizeof(v[i].engine), "%s", list->v[i].engine);
		snprintf(v[i].cluster, sizeof(v[i].cluster), "%s", list->v[i].cluster);
		v[i].n_members = list->v[i].n_members;
		kind_exempt(wf->env->exclude_tag, list->v[i].tags, list->v[i].n_tags,
			    (int64_t)time(NULL), v[i].exempt, sizeof(v[i].exempt));
	}
	free(r->v);
	r->v = v;
	r->n = list->n;
	for (size_t i = 0; i < r->n; i++) {
		if (left_alone(wf, &v[i]))
			alone++;
		else if (strcmp(v[i].status, target_state(wf)) == 0)
			ok++;
	}
	if (r->n == 1)
		wf_detail_step(wf, "%s %s (%s)", v[0].id, v[0].status, v[0].engine);
	else
		wf_detail_step(wf, "%zu/%zu %s%s", ok, r->n - alone, target_state(wf),
			       alone ? " (instances of a cluster left to it)" : "");
	wf_next(wf, "*");
}

static void t_describe(struct wf *wf)
{
	const struct kind_select *s = sel_of(wf->env);
	enum bot_rc rc = rds_describe(wf->aws, what_of(wf->env), s->name, s->tag_key, s->tag_value,
				      on_described, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the RDS request could not be sent");
}

static void c_choose(struct wf *wf)
{
	struct run *r = run_of(wf);
	const struct kind_select *s = sel_of(wf->env);
	size_t managed = 0, to_change = 0, waiting = 0;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct db *d = &r->v[i];
		if (left_alone(wf, d))
			continue;
		if (d->cluster[0] && what_of(wf->env) == RDS_INSTANCE) {
			wf_set_summary(wf,
				       "%s belongs to cluster %s: AWS starts and stops it with its "
				       "cluster (use kind = \"rds-cluster\"; cluster = \"%s\";)",
				       d->id, d->cluster, d->cluster);
			wf_next(wf, "stuck");
			return;
		}
		managed++;
		if (strcmp(d->status, source_state(wf)) == 0)
			to_change++;
		else if (settling(d->status))
			waiting++;
		else if (strcmp(d->status, target_state(wf)) != 0) {
			if (wf->action == ACTION_START)
				wf_set_summary(wf, "%s %s is %s: envbot cannot start it from there",
					       noun(wf->env), d->id, d->status);
			else
				wf_set_summary(wf, "%s %s is %s: envbot cannot stop it from there",
					       noun(wf->env), d->id, d->status);
			wf_next(wf, "stuck");
			return;
		}
	}
	if (managed == 0) {
		size_t exempt = 0;
		for (size_t i = 0; r && i < r->n; i++) {
			const struct db *d = &r->v[i];
			if (!d->exempt[0])
				continue;
			exempt++;
			wf_add_skipped(wf, "%s (%s)", d->id, d->exempt);
			wf_add_detail(wf, "%s: %s (exempt: %s, left alone)", d->id, d->status,
				      d->exempt);
		}
		if (exempt) {
			wf->noop = true;
			wf_set_summary(wf, "nothing to do: %zu %s%s found, exempt (left alone)",
				       exempt, noun(wf->env), exempt == 1 ? "" : "s");
			wf_next(wf, "done");
			return;
		}
		wf_set_summary(wf, "no %ss tagged %s=%s", noun(wf->env), kind_str(s->tag_key),
			       kind_str(s->tag_value));
		wf_found_nothing(wf);
		return;
	}
	if (to_change > 0) {
		if (wf->change_rounds >= MAX_CHANGE_ROUNDS) {
			wf_set_summary(wf, "%zu database(s) did not stay %s", to_change,
				       target_state(wf));
			wf_next(wf, "stuck");
			return;
		}
		wf_next(wf, "change");
		return;
	}
	if (waiting > 0) {
		wf_next(wf, "wait");
		return;
	}
	bool changed = wf->steps[R_CHANGE].mark != WF_PENDING;
	wf->noop = !changed;
	for (size_t i = 0; i < r->n; i++) {
		const struct db *d = &r->v[i];
		if (d->exempt[0]) {
			wf_add_skipped(wf, "%s (%s)", d->id, d->exempt);
			wf_add_detail(wf, "%s: %s (exempt: %s, left alone)", d->id, d->status,
				      d->exempt);
		} else if (what_of(wf->env) == RDS_CLUSTER)
			wf_add_detail(wf, "%s: %s (%s, %zu instance%s)", d->id, d->status,
				      d->engine, d->n_members, d->n_members == 1 ? "" : "s");
		else
			wf_add_detail(wf, "%s: %s (%s)%s", d->id, d->status, d->engine,
				      left_alone(wf, d) ? " (in a cluster, left to it)" : "");
	}
	uint64_t secs = wf_elapsed_ms(wf) / 1000;
	if (changed)
		wf_set_summary(wf, "%zu %s%s %s in %llum%02llus", managed, noun(wf->env),
			       managed == 1 ? "" : "s", target_state(wf),
			       (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
	else
		wf_set_summary(wf, "already %s: %zu %s%s", target_state(wf), managed, noun(wf->env),
			       managed == 1 ? "" : "s");
	wf_next(wf, "done");
}

static void change_next(struct wf *wf);

static void on_changed(void *arg, const struct aws_err *err)
{
	struct wf *wf = arg;
	struct run *r = run_of(wf);
	/* Its state moved meanwhile (someone else started it, AWS's own
	 * restart): the poll sees what it is now. */
	if (err->rc != BOT_OK && strncmp(err->code, "InvalidDB", 9) != 0) {
		db_error(wf,
			 wf->action == ACTION_START
				 ? (what_of(wf->env) == RDS_INSTANCE ? "StartDBInstance"
								     : "StartDBCluster")
				 : (what_of(wf->env) == RDS_INSTANCE ? "StopDBInstance"
								     : "StopDBCluster"),
			 err);
		return;
	}
	r->changed = true;
	r->next++;
	change_next(wf);
}

static void change_next(struct wf *wf)
{
	struct run *r = run_of(wf);
	while (r->next < r->n && (left_alone(wf, &r->v[r->next]) ||
				  strcmp(r->v[r->next].status, source_state(wf)) != 0))
		r->next++;
	if (r->next >= r->n) {
		wf_detail_step(wf, "%s sent", wf->action == ACTION_START ? "start" : "stop");
		wf_next(wf, "*");
		return;
	}
	const char *id = r->v[r->next].id;
	wf_detail_step(wf, "%s %s", wf->action == ACTION_START ? "starting" : "stopping", id);
	enum bot_rc rc = wf->action == ACTION_START
				 ? rds_start(wf->aws, what_of(wf->env), id, on_changed, wf)
				 : rds_stop(wf->aws, what_of(wf->env), id, on_changed, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the RDS request could not be sent");
}

static void t_change(struct wf *wf)
{
	struct run *r = run_of(wf);
	if (!r) {
		wf_error(wf, BOT_ENOMEM, "out of memory");
		return;
	}
	if (r->n == 0) { /* resumed here after a restart: look first */
		wf_next(wf, "look");
		return;
	}
	wf->change_rounds++;
	r->next = 0;
	change_next(wf);
}

static const struct wf_state states[] = {
	{ .name = "Describe",
	  .type = WF_TASK,
	  .step = R_FIND,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "none", "NotFound" }, { "*", "Choose" } } },
	{ .name = "Choose",
	  .type = WF_CHOICE,
	  .step = -1,
	  .run = c_choose,
	  .next = { { "none", "NotFound" },
		    { "change", "Change" },
		    { "wait", "Wait" },
		    { "done", "Done" },
		    { "stuck", "Fail" } } },
	{ .name = "Change",
	  .type = WF_TASK,
	  .step = R_CHANGE,
	  .run = t_change,
	  .retry = RETRY,
	  .next = { { "look", "Describe" }, { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = R_WAIT, .next = { { "*", "Poll" } } },
	{ .name = "Poll",
	  .type = WF_TASK,
	  .step = R_WAIT,
	  .run = t_describe,
	  .retry = RETRY,
	  .next = { { "none", "NotFound" }, { "*", "Choose" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = N_("done") },
	{ .name = "NotFound", .type = WF_FAIL, .step = -1, .text = N_("no database to act on") },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = N_("failed") },
	{ 0 },
};

static const struct wf_table start_table = { .name = "rds/start",
					     .steps = start_steps,
					     .states = states };
static const struct wf_table stop_table = { .name = "rds/stop",
					    .steps = stop_steps,
					    .states = states };

/* ---- settings ---- */

static const char *const instance_settings[] = { "identifier", "tag", NULL };
static const char *const cluster_settings[] = { "cluster", "tag", NULL };

static void free_spec(void *p)
{
	if (!p)
		return;
	kind_select_free(p);
	free(p);
}

static void *parse_with(struct cfg_reader *r, struct cfg_env *env, const char *setting)
{
	struct kind_select *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	kind_select_parse(r, env, setting, s);
	return s;
}

static void *parse_instance(struct cfg_reader *r, struct cfg_env *env)
{
	return parse_with(r, env, "identifier");
}

static void *parse_cluster(struct cfg_reader *r, struct cfg_env *env)
{
	return parse_with(r, env, "cluster");
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	const struct kind_select *s = sel_of(env);
	const char *what = kind_of(env) == &kind_rds ? "instance" : "cluster";
	if (s->name)
		fprintf(out, "%s", s->name);
	else
		fprintf(out, "%ss tagged %s=%s", what, kind_str(s->tag_key),
			kind_str(s->tag_value));
}

/* ---- live status ---- */

#define LIVE_MAX 20 /* resources listed; the rest are left out */

static void on_live(void *arg, const struct aws_err *err, const struct rds_dbs *list)
{
	const struct kind_live_list *l = arg;
	char text[LIVE_MAX][240];
	const char *lines[LIVE_MAX];
	size_t n = 0;
	for (size_t i = 0; list && i < list->n && n < LIVE_MAX; i++, n++) {
		const struct rds_db *d = &list->v[i];
		if (l->what == RDS_CLUSTER)
			snprintf(text[n], sizeof(text[n]), "%s %s (%s, %zu instance%s)", d->id,
				 d->status, d->engine, d->n_members, d->n_members == 1 ? "" : "s");
		else
			snprintf(text[n], sizeof(text[n]), "%s %s (%s)", d->id, d->status,
				 d->engine);
		lines[n] = text[n];
	}
	kind_live_list_end(arg, err, lines, n);
}

static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	const struct kind_select *s = sel_of(env);
	char target[400];
	struct kind_live_list *l = kind_live_list_new(
		env, kind_select_target(s, target, sizeof(target)),
		what_of(env) == RDS_INSTANCE ? "DescribeDBInstances" : "DescribeDBClusters", escape,
		done, arg);
	if (!l)
		return BOT_ENOMEM;
	l->what = what_of(env);
	enum bot_rc rc =
		rds_describe(aws, what_of(env), s->name, s->tag_key, s->tag_value, on_live, l);
	if (rc != BOT_OK)
		free(l);
	return rc;
}

/* ---- embed ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	const struct kind_select *s = sel_of(wf_env(wf));
	char buf[400];
	kind_select_target(s, buf, sizeof(buf));
	add(arg,
	    what_of(wf_env(wf)) == RDS_INSTANCE ? (s->name ? "DB instance" : "DB instances tagged")
						: (s->name ? "DB cluster" : "DB clusters tagged"),
	    buf, true);
}

/* ---- doctor ---- */

static const char *target(const struct cfg_env *env, char *buf, size_t len)
{
	return kind_select_target(sel_of(env), buf, len);
}

static void on_probe(void *arg, const struct aws_err *err, const struct rds_dbs *list)
{
	struct kind_probe *p = arg;
	if (err->rc != BOT_OK) {
		const struct kind_answer a = { .verdict = KIND_AWS_ERROR, .err = err };
		p->answer(p, &a);
		return;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "allowed: %zu found", list->n);
	const struct kind_answer a = { .verdict = list->n ? KIND_PASS : KIND_FAIL,
				       .detail = list->n ? detail : "allowed, but nothing found",
				       .fix = list->n ? NULL : "check the identifier or the tag" };
	p->answer(p, &a);
}

static enum bot_rc probe_describe(struct kind_probe *p)
{
	const struct kind_select *s = sel_of(p->env);
	return rds_describe(p->aws, what_of(p->env), s->name, s->tag_key, s->tag_value, on_probe,
			    p);
}

/* RDS has no DryRun: the permission is stated, not probed. */
static enum bot_rc probe_info(struct kind_probe *p, const char *action)
{
	char detail[300], fix[500];
	snprintf(detail, sizeof(detail), "not probed: RDS has no DryRun for %s", action);
	snprintf(fix, sizeof(fix),
		 "the policy must allow rds:%s on %s (deploy/cloudformation/envbot.yaml, %s)",
		 action, p->target,
		 sel_of(p->env)->name
			 ? (what_of(p->env) == RDS_INSTANCE ? "RdsInstanceIds" : "RdsClusterIds")
			 : "ResourceTagKey/ResourceTagValue");
	const struct kind_answer a = { .verdict = KIND_INFO, .detail = detail, .fix = fix };
	p->answer(p, &a);
	return BOT_OK;
}

static enum bot_rc probe_start(struct kind_probe *p)
{
	return probe_info(p,
			  what_of(p->env) == RDS_INSTANCE ? "StartDBInstance" : "StartDBCluster");
}

static enum bot_rc probe_stop(struct kind_probe *p)
{
	return probe_info(p, what_of(p->env) == RDS_INSTANCE ? "StopDBInstance" : "StopDBCluster");
}

#define CHECKS(pfx, Desc, Start, Stop)                                                          \
	static const struct kind_check pfx##_describe = {                                       \
		.name = "rds:" Desc,                                                            \
		.label = "",                                                                    \
		.target = target,                                                               \
		.fix_denied = "allow rds:" Desc " on the database %s (or on \"*\" when it "     \
			      "is selected by tag %s)",                                         \
		.probe = probe_describe,                                                        \
	};                                                                                      \
	static const struct kind_check pfx##_start = {                                          \
		.name = "rds:" Start,                                                           \
		.label = "",                                                                    \
		.target = target,                                                               \
		.fix_denied = "allow rds:" Start " on %s (%s)",                                 \
		.probe = probe_start,                                                           \
	};                                                                                      \
	static const struct kind_check pfx##_stop = {                                           \
		.name = "rds:" Stop,                                                            \
		.label = "",                                                                    \
		.target = target,                                                               \
		.fix_denied = "allow rds:" Stop " on %s (%s)",                                  \
		.probe = probe_stop,                                                            \
	};                                                                                      \
	static const struct kind_check *const pfx##_checks[] = { &pfx##_describe, &pfx##_start, \
								 &pfx##_stop, NULL }

CHECKS(instance, "DescribeDBInstances", "StartDBInstance", "StopDBInstance");
CHECKS(cluster, "DescribeDBClusters", "StartDBCluster", "StopDBCluster");

static bool wakes_up(const struct cfg_env *env)
{
	(void)env;
	return true; /* AWS restarts a database stopped for 7 days */
}

static bool by_tag(const struct cfg_env *env)
{
	return sel_of(env) && sel_of(env)->tag_key;
}

const struct kind kind_rds = {
	.cfg = {
		.name = "rds",
		.settings = instance_settings,
		.parse = parse_instance,
		.free_spec = free_spec,
		.print_target = print_target,
		.by_tag = by_tag,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.embed_fields = embed_fields,
	.details_title = N_("Databases"),
	.checks = instance_checks,
	.wakes_up = wakes_up,
};

const struct kind kind_rds_cluster = {
	.cfg = {
		.name = "rds-cluster",
		.settings = cluster_settings,
		.parse = parse_cluster,
		.free_spec = free_spec,
		.print_target = print_target,
		.by_tag = by_tag,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.embed_fields = embed_fields,
	.details_title = N_("Clusters"),
	.checks = cluster_checks,
	.wakes_up = wakes_up,
};
