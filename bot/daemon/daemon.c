/* The daemon proper: owns the config, the state and its saver, AWS, the
 * workflow manager and the scheduler, fills the commands' handles (struct
 * cmd_deps) and keeps them current across SIGHUP, and keeps the bookkeeping
 * that spans the modules (uptime for /cost, the audit of automatic actions,
 * expiry of overrides). The only writer of struct daemon. */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/aws.h"
#include "../core/fence.h"
#include "../core/log.h"
#include "../core/rand.h"
#include "../events/events.h"
#include "../i18n/i18n.h"
#include "../sched/calendars.h"
#include "../sched/sched.h"
#include "../sched/weekly.h"
#include "../state/ddb_store.h"
#include "../state/saver.h"
#include "../state/state.h"
#include "../wf/wfm.h"
#include "replica.h"

#define MOD             "daemon"
#define EXPIRE_EVERY_MS (10u * 60u * 1000u)
#define UPTIME_KEEP_S   ((time_t)62 * 86400) /* this month and the last */

struct daemon {
	struct loop *loop;
	struct cfg *cfg;         /* owned: the current config */
	struct cmd_deps deps;    /* the handles, cfg included; what the
				    scheduler and the health listener read */
	struct aws *aws;         /* owned (deps.aws borrows) */
	struct state *state;     /* owned; NULL until loaded */
	struct saver *saver;     /* owned */
	struct state_lock *lock; /* on the state file; NULL when none could be made */
	struct wfm *wfm;         /* owned */
	struct events *events;   /* owned: events out */
	struct sched *sched;     /* owned; rebuilt by SIGHUP */
	struct calendars *cals;  /* owned: the holiday calendars' refresher */
	struct daemon_health *health;
	struct loop_timer *expire_timer; /* overrides expiry, every 10 minutes */
	struct loop_timer *report_timer; /* the weekly report's schedule */
	/* Two replicas (state.backend = "dynamodb"): the lease, the table and
	 * the fence every side effect asks; all NULL with the state file. */
	struct fence fence;
	struct aws *ddb_aws; /* the table's client, owned, not fenced */
	struct ddb_store *store;
	struct replica *replica;
	bool table_missing; /* DescribeTable said so at start-up: exit */
	/* Configs replaced by SIGHUP: running workflows and the AWS client
	 * borrow from them, so they live until exit. */
	struct cfg **retired;
	size_t n_retired;
};

struct daemon *daemon_create(struct loop *loop, struct rest *rest, struct cfg *cfg)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (!d) {
		cfg_destroy(cfg);
		return NULL;
	}
	d->loop = loop;
	d->cfg = cfg;
	d->deps.rest = rest;
	d->deps.cfg = cfg;
	return d;
}

const struct fence *daemon_fence(const struct daemon *d)
{
	/* the start-up config decides, not a later SIGHUP's */
	return d->store ? &d->fence : NULL;
}

const struct cfg *daemon_cfg(const struct daemon *d)
{
	return d->cfg;
}

void daemon_dispatch(struct daemon *d, struct ix *ix)
{
	cmd_dispatch(&d->deps, ix);
}

void daemon_set_gateway(struct daemon *d, struct gw *gw)
{
	daemon_health_set_gateway(d->health, gw);
}

/* "/env start by alice" was alice's; the rest ("schedule", "catch-up",
 * "enforce") the schedule's. */
static const char *trigger_who(const char *trigger)
{
	const char *by = strstr(trigger, " by ");
	return by ? by + 4 : "schedule";
}

static void on_wf_started(void *arg, const struct wf *wf)
{
	struct daemon *d = arg;
	char summary[STATE_TEXT_MAX + 96];
	snprintf(summary, sizeof(summary), "%s: %s started (%s)", wf_env(wf)->name,
		 action_name(wf_action(wf)), wf_trigger(wf));
	struct event_in in = { .type = EVENT_WF_STARTED,
			       .time = time(NULL),
			       .env = wf_env(wf)->name,
			       .who = trigger_who(wf_trigger(wf)),
			       .summary = summary,
			       .workflow_id = wf_id(wf),
			       .action = action_name(wf_action(wf)),
			       .trigger = wf_trigger(wf) };
	events_emit(d->events, &in);
}

static void emit_finished(struct daemon *d, const struct wf *wf, time_t now, bool ok)
{
	char summary[STATE_EVENT_JSON_MAX / 2];
	snprintf(summary, sizeof(summary), "%s: %s %s: %s", wf_env(wf)->name,
		 action_name(wf_action(wf)), ok ? "done" : "FAILED", wf_summary(wf));
	struct event_in in = { .type = EVENT_WF_FINISHED,
			       .time = now,
			       .env = wf_env(wf)->name,
			       .who = trigger_who(wf_trigger(wf)),
			       .summary = summary,
			       .workflow_id = wf_id(wf),
			       .action = action_name(wf_action(wf)),
			       .trigger = wf_trigger(wf),
			       .outcome = ok ? "succeeded" : "failed",
			       .error = ok ? NULL : wf_summary(wf),
			       .duration_s = (long)(wf_elapsed_ms(wf) / 1000) };
	events_emit(d->events, &in);
}

/* Uptime, audit and the event out when a workflow ends, whoever started
 * it: one mutation, one save. */
static void on_wf_finished(void *arg, const struct wf *wf)
{
	struct daemon *d = arg;
	time_t now = time(NULL);
	const char *env = wf_env(wf)->name;
	bool ok = wf_status(wf) == WF_SUCCEEDED;
	if (ok && wf_action(wf) == ACTION_START)
		state_up(d->state, env, now);
	else if (ok && wf_action(wf) == ACTION_STOP)
		state_down(d->state, env, now);
	char action[STATE_TEXT_MAX], outcome[STATE_TEXT_MAX];
	snprintf(action, sizeof(action), "workflow %s (%s)", action_name(wf_action(wf)),
		 wf_trigger(wf));
	snprintf(outcome, sizeof(outcome), "%s: %s%s%s", ok ? "ok" : "failed", wf_summary(wf),
		 wf_skipped(wf)[0] ? "; left alone: " : "", wf_skipped(wf));
	state_audit(d->state, now, "", "envbot", action, env, outcome);
	emit_finished(d, wf, now, ok);
	saver_save_soon(d->saver);
	daemon_count_workflow(d->health, wf);
}

static ymd_t today_for(void *ctx, const char *env_name, time_t t)
{
	struct daemon *d = ctx;
	const struct cfg_env *env = cfg_find_env(d->cfg, env_name);
	struct tm tm;
	tz_local(cfg_env_tz(d->cfg, env), t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void expire_tick(void *arg)
{
	struct daemon *d = arg;
	d->expire_timer = NULL;
	time_t now = time(NULL);
	size_t n = state_expire(d->state, now, d->cfg->catch_up, today_for, d);
	if (n > 0)
		log_info(MOD, "msg=\"overrides expired\" count=%zu", n);
	/* /cost reads this month's uptime: older intervals only grow the file
	 * (two a day per environment, forever). */
	size_t old = state_uptime_prune(d->state, now - UPTIME_KEEP_S);
	if (old > 0)
		log_debug(MOD, "msg=\"old uptime intervals dropped\" count=%zu", old);
	if (n > 0 || old > 0)
		saver_save_now(d->saver);
	d->expire_timer = loop_timer_add(d->loop, EXPIRE_EVERY_MS, expire_tick, d);
}

/* ---- the weekly report's schedule ---- */

#define REPORT_RECHECK_S 3600 /* re-judged hourly: the wall clock may jump */

static void arm_report(struct daemon *d);

static void report_tick(void *arg)
{
	struct daemon *d = arg;
	d->report_timer = NULL;
	arm_report(d);
}

/* Posts last week's report when its scheduled instant has come (or came
 * while envbot was down, within catch_up), then waits for the next one. */
static void arm_report(struct daemon *d)
{
	loop_timer_cancel(d->loop, d->report_timer);
	d->report_timer = NULL;
	const struct cfg *cfg = d->cfg;
	if (!cfg->report_on || !cfg->report_expr || !d->state)
		return;
	time_t now = time(NULL), due = 0, next = 0;
	/* the latest scheduled instant, if it was at most catch_up (and a
	 * minute of timer slack) ago */
	if (cron_prev(&cfg->report_cron, cfg->tz, now, &due) != 0 || due < now - cfg->catch_up - 60)
		due = 0;
	if (due && state_report_week(d->state) != weekly_monday(cfg, now, 1)) {
		enum bot_rc rc = cmd_post_weekly_report(&d->deps, now);
		if (rc != BOT_OK)
			log_error(MOD, "msg=\"weekly report not started\" rc=\"%s\"",
				  bot_strerror(rc));
	}
	if (cron_next(&cfg->report_cron, cfg->tz, now, &next) != 0)
		return;
	time_t wait = next - now;
	if (wait > REPORT_RECHECK_S)
		wait = REPORT_RECHECK_S;
	if (wait < 1)
		wait = 1;
	d->report_timer = loop_timer_add(d->loop, (uint64_t)wait * 1000u, report_tick, d);
}

static void warn_channel(struct daemon *d, const char *text)
{
	if (d->cfg->channel_id)
		rest_create_message(d->deps.rest, d->cfg->channel_id, rest_msg_new(text, 0), NULL,
				    NULL);
}

/* The holiday calendars' refresher: a copy replaced or a failure recorded,
 * coalesced like the other saves; its one message of a failure streak. */
static void on_calendar_save(void *arg)
{
	struct daemon *d = arg;
	saver_save_soon(d->saver);
}

static void on_calendar_post(void *arg, const char *text)
{
	warn_channel(arg, text);
}

/* One writer per state file: refused while another process (a second
 * daemon, a shell start/stop) writes it; a directory where no lock file can
 * be made is worked in without one, said so. */
static enum bot_rc lock_state(const char *path, struct state_lock **out)
{
	char err[512];
	enum bot_rc rc = state_lock_take(path, 5000, out, err, sizeof(err));
	if (rc == BOT_EBUSY) {
		log_error(MOD,
			  "msg=\"state file in use; not starting (one envbot writes a state file "
			  "at a time)\" reason=\"%s\"",
			  err);
		return BOT_ECONFIG;
	}
	if (rc != BOT_OK)
		log_warn(MOD,
			 "msg=\"state file not locked (a second writer would not be seen)\" "
			 "reason=\"%s\"",
			 err);
	return BOT_OK;
}

/* Leadership is gone (replica.h): the process starts over as a standby. */
static void on_lost(void *arg, const char *why)
{
	(void)arg;
	(void)why;
	daemon_reexec();
}

/* The saver's write was refused by its condition: another replica holds
 * the lease, or wrote since. */
static void on_write_refused(void *arg, const char *why)
{
	struct daemon *d = arg;
	replica_lost(d->replica, why);
}

static void on_active(void *arg)
{
	struct daemon *d = arg;
	loop_stop(d->loop);
}

/* "<replica_id or host>#<pid>-<nonce>": unique to this process, so that a
 * restarted replica never mistakes its predecessor's lease for its own. */
static void owner_name(const struct cfg *cfg, char *buf, size_t len)
{
	char host[64] = "envbot";
	if (!cfg->state_replica)
		gethostname(host, sizeof(host) - 1);
	snprintf(buf, len, "%.100s#%ld-%08x", cfg->state_replica ? cfg->state_replica : host,
		 (long)getpid(), (unsigned)(rand_unit() * 4294967295.0));
}

/* Standby: serves /healthz and watches the lease until it is ours (BOT_OK)
 * or a signal stops the loop (BOT_ECANCELLED). Nothing else runs: no
 * gateway, no scheduler, no workflow. */
static void on_table(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct daemon *d = arg;
	(void)body;
	(void)len;
	if (err->rc != BOT_ENOTFOUND && strcmp(err->code, "ResourceNotFoundException") != 0)
		return;
	log_error(MOD,
		  "msg=\"the state table does not exist: create it with `envbot init-state` (or "
		  "the deploy template's StateTableName)\" table=%s region=%s",
		  d->cfg->state_table,
		  d->cfg->state_region ? d->cfg->state_region : d->cfg->region);
	d->table_missing = true;
	loop_stop(d->loop);
}

static enum bot_rc wait_for_lease(struct daemon *d)
{
	char err[512], owner[DDB_OWNER_MAX];
	fence_init(&d->fence);
	rest_set_fence(d->deps.rest, &d->fence);
	enum bot_rc rc = daemon_health_create(d->loop, &d->deps, &d->health);
	if (rc != BOT_OK)
		return rc;
	d->ddb_aws = aws_create(d->loop, d->cfg, err, sizeof(err));
	if (!d->ddb_aws) {
		log_error(MOD, "msg=\"AWS client for the state table not created\" reason=\"%s\"",
			  err);
		return BOT_ECONFIG;
	}
	struct aws_target t = { .region = d->cfg->state_region };
	struct aws *table_aws = aws_for(d->ddb_aws, &t, err, sizeof(err));
	if (!table_aws) {
		log_error(MOD, "msg=\"AWS client for the state table not created\" reason=\"%s\"",
			  err);
		return BOT_ECONFIG;
	}
	owner_name(d->cfg, owner, sizeof(owner));
	d->store = ddb_store_create(table_aws, d->cfg->state_table, owner, &d->fence);
	struct replica_cb cb = { .on_active = on_active, .on_lost = on_lost, .arg = d };
	d->replica =
		d->store ? replica_create(d->loop, d->store, d->cfg->state_lease_s, &d->fence, &cb)
			 : NULL;
	if (!d->replica)
		return BOT_ENOMEM;
	daemon_health_set_replica(d->health, d->replica);
	/* A missing table is a set-up mistake, said once, not a standby
	 * waiting forever. Other answers (network, throttling) wait. */
	char req[320];
	snprintf(req, sizeof(req), "{\"TableName\":\"%s\"}", d->cfg->state_table);
	if (aws_call_json(table_aws, AWS_DDB, "DescribeTable", req, on_table, d) != BOT_OK)
		return BOT_ENOMEM;
	replica_start(d->replica);
	if (loop_run(d->loop) != 0)
		return BOT_EIO;
	if (d->table_missing)
		return BOT_ECONFIG;
	return replica_active(d->replica) ? BOT_OK : BOT_ECANCELLED;
}

/* The lease is ours: the state as the last holder left it. */
static enum bot_rc load_table_state(struct daemon *d)
{
	char err[512];
	bool missing = false;
	enum bot_rc rc = ddb_state_read(d->store, &d->state, &missing, err, sizeof(err));
	if (rc != BOT_OK) {
		log_error(MOD,
			  "msg=\"state in the table refused; not starting (fix it or run "
			  "migrate-state)\" table=%s reason=\"%s\"",
			  d->cfg->state_table, err);
		return rc;
	}
	log_info(MOD, "msg=\"state read\" table=%s version=%lld%s", d->cfg->state_table,
		 (long long)ddb_store_version(d->store), missing ? " new=true" : "");
	d->saver = saver_create_ddb(d->loop, d->state, d->store, on_write_refused, d);
	if (!d->saver)
		return BOT_ENOMEM;
	d->deps.state = d->state;
	d->deps.saver = d->saver;
	state_set_audit_max(d->state, d->cfg->audit_max);
	/* Prove now that the state can be written (and that the lease is
	 * still ours), not at the first override. */
	return saver_save_now(d->saver) == BOT_OK ? BOT_OK : BOT_EIO;
}

static enum bot_rc load_state(struct daemon *d)
{
	char err[512];
	struct state_load_info info;
	if (d->store)
		return load_table_state(d);
	if (lock_state(d->cfg->state_file, &d->lock) != BOT_OK)
		return BOT_ECONFIG;
	enum bot_rc rc = state_load(d->cfg->state_file, &d->state, &info, err, sizeof(err));
	if (rc != BOT_OK) {
		log_error(MOD,
			  "msg=\"state file refused; not starting (fix or move it)\" path=%s "
			  "reason=\"%s\"",
			  d->cfg->state_file, err);
		return rc;
	}
	d->saver = saver_create(d->loop, d->state, d->cfg->state_file);
	if (!d->saver)
		return BOT_ENOMEM;
	/* The commands see the state only with its saver. */
	d->deps.state = d->state;
	d->deps.saver = d->saver;
	state_set_audit_max(d->state, d->cfg->audit_max);
	if (info.recovered) {
		char text[1024];
		/* The channel's language: nobody asked. */
		snprintf(text, sizeof(text),
			 tr(d->cfg->locale,
			    "⚠️ envbot's state file was damaged (%s). The last good "
			    "copy was loaded; the damaged file is kept at `%s`. "
			    "Check recent overrides."),
			 info.reason, info.corrupt_path);
		warn_channel(d, text);
	}
	/* Prove now that the state can be written, not at the first override. */
	return saver_save_now(d->saver) == BOT_OK ? BOT_OK : BOT_EIO;
}

enum bot_rc daemon_start(struct daemon *d)
{
	char err[512];
	enum bot_rc rc = d->cfg->state_ddb ? wait_for_lease(d) : BOT_OK;
	if (rc != BOT_OK)
		return rc;
	rc = load_state(d);
	if (rc != BOT_OK)
		return rc;
	if (!d->health && (rc = daemon_health_create(d->loop, &d->deps, &d->health)) != BOT_OK)
		return rc;
	if (d->replica)
		daemon_health_set_replica(d->health, d->replica);
	d->aws = aws_create(d->loop, d->cfg, err, sizeof(err));
	if (!d->aws) {
		log_error(MOD, "msg=\"AWS client not created\" reason=\"%s\"", err);
		return BOT_ECONFIG;
	}
	if (d->store)
		aws_set_fence(d->aws, &d->fence);
	d->deps.aws = d->aws;
	struct events_deps ed = { .loop = d->loop,
				  .state = d->state,
				  .saver = d->saver,
				  .aws = d->aws,
				  .fence = daemon_fence(d) };
	if (!(d->events = events_create(&ed, d->cfg)))
		return BOT_ENOMEM;
	d->deps.events = d->events;
	/* What a previous process recorded and did not deliver. */
	events_kick(d->events);
	struct wfm_deps wd = { .loop = d->loop,
			       .aws = d->aws,
			       .rest = d->deps.rest,
			       .state = d->state,
			       .saver = d->saver,
			       .cfg = d->cfg,
			       .on_started = on_wf_started,
			       .on_finished = on_wf_finished,
			       .arg = d };
	d->wfm = wfm_create(&wd);
	if (!d->wfm)
		return BOT_ENOMEM;
	d->deps.wfm = d->wfm;
	size_t resumed = wfm_resume_all(d->wfm);
	if (resumed)
		log_info(MOD, "msg=\"workflows resumed\" count=%zu", resumed);
	d->sched = daemon_sched_start(d->loop, &d->deps);
	if (!d->sched)
		return BOT_ENOMEM;
	d->deps.sched = d->sched;
	struct calendars_deps cd = { .loop = d->loop,
				     .st = d->state,
				     .fence = daemon_fence(d),
				     .save = on_calendar_save,
				     .post = on_calendar_post,
				     .arg = d };
	if (!(d->cals = calendars_create(&cd, d->cfg)))
		return BOT_ENOMEM;
	calendars_start(d->cals);
	expire_tick(d);
	arm_report(d);
	return BOT_OK;
}

void daemon_destroy(struct daemon *d)
{
	if (!d)
		return;
	loop_timer_cancel(d->loop, d->expire_timer);
	loop_timer_cancel(d->loop, d->report_timer);
	sched_destroy(d->sched);
	calendars_destroy(d->cals);
	daemon_health_destroy(d->health);
	if (d->saver && (!d->replica || replica_active(d->replica)))
		saver_save_now(d->saver);
	/* The standby need not wait for the lease to run out. */
	replica_release(d->replica);
	wfm_destroy(d->wfm);
	events_destroy(d->events);
	aws_destroy(d->aws);
	saver_destroy(d->saver);
	replica_destroy(d->replica);
	ddb_store_destroy(d->store);
	aws_destroy(d->ddb_aws);
	state_destroy(d->state);
	state_lock_release(d->lock);
	for (size_t i = 0; i < d->n_retired; i++)
		cfg_destroy(d->retired[i]);
	free(d->retired);
	cfg_destroy(d->cfg);
	free(d);
}

/* ---- SIGHUP ---- */

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Names, by value, each setting that changed but is read only at start-up:
 * the AWS client (region, endpoint, profile), the REST client (api_base,
 * application_id, the token), the slash commands' registration (guild_id),
 * the health listener. */
static void log_restart_only(const struct cfg *was, const struct cfg *now)
{
	const struct {
		const char *name;
		const char *was, *now;
	} s[] = {
		{ "aws.region", was->region, now->region },
		{ "aws.endpoint_url", was->endpoint_url, now->endpoint_url },
		{ "aws.profile", was->profile, now->profile },
		{ "discord.api_base", was->api_base, now->api_base },
		{ "discord.application_id", was->application_id, now->application_id },
		{ "discord.guild_id", was->guild_id, now->guild_id },
		{ "discord.token_file", was->token_file, now->token_file },
		{ "health.listen", was->health_listen, now->health_listen },
		{ "state.backend", was->state_ddb ? "dynamodb" : "file",
		  now->state_ddb ? "dynamodb" : "file" },
		{ "state.table", was->state_table, now->state_table },
		{ "state.region", was->state_region, now->state_region },
		{ "state.replica_id", was->state_replica, now->state_replica },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!same(s[i].was, s[i].now))
			log_warn(MOD,
				 "msg=\"SIGHUP: setting changed; it takes effect at the next "
				 "restart\" setting=%s",
				 s[i].name);
}

/* state_file moved: the state in memory is the truth, written to the new
 * path at once (proving it writable, as at start-up); if it cannot be
 * written there, saving stays on the old path. */
static void move_state_file(struct daemon *d, const char *was, const char *now)
{
	if (!d->saver || d->store || same(was, now))
		return;
	char err[512];
	struct state_lock *lock = NULL;
	if (state_lock_take(now, 0, &lock, err, sizeof(err)) == BOT_EBUSY) {
		log_error(MOD,
			  "msg=\"SIGHUP: new state_file in use; state still saved to the old "
			  "one\" path=%s old=%s reason=\"%s\"",
			  now, was, err);
		return;
	}
	if (saver_set_path(d->saver, now) != BOT_OK) {
		log_error(MOD, "msg=\"SIGHUP: out of memory; state still saved to\" path=%s", was);
		state_lock_release(lock);
		return;
	}
	if (saver_save_now(d->saver) != BOT_OK) {
		log_error(MOD,
			  "msg=\"SIGHUP: new state_file not writable; state still saved to the "
			  "old one\" path=%s old=%s",
			  now, was);
		if (saver_set_path(d->saver, was) == BOT_OK)
			saver_save_soon(d->saver);
		state_lock_release(lock);
		return;
	}
	state_lock_release(d->lock);
	d->lock = lock;
	log_info(MOD, "msg=\"state file moved\" path=%s old=%s", now, was);
}

void daemon_reload(struct daemon *d)
{
	char err[8192];
	struct cfg *fresh = NULL;
	if (cfg_load(d->cfg->path, d->cfg->kinds, &fresh, err, sizeof(err)) != BOT_OK) {
		/* One line per error, so each is a journald record of its own. */
		log_error(MOD,
			  "msg=\"SIGHUP: config has errors; still running on the previous "
			  "one\" path=%s",
			  d->cfg->path);
		for (char *line = err, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			log_error(MOD, "msg=\"config error\" detail=\"%s\"", line);
		}
		return;
	}
	struct cfg **r = realloc(d->retired, (d->n_retired + 1) * sizeof(*r));
	if (!r) {
		cfg_destroy(fresh);
		log_error(MOD, "msg=\"SIGHUP: out of memory; config not reloaded\"");
		return;
	}
	d->retired = r;
	log_restart_only(d->cfg, fresh);
	/* The scheduler is rebuilt on the new config: its zones, schedules and
	 * warnings all come from it. */
	sched_destroy(d->sched);
	d->sched = NULL;
	d->deps.sched = NULL;
	struct cfg *was = d->cfg;
	d->retired[d->n_retired++] = was;
	d->cfg = fresh;
	d->deps.cfg = fresh;
	if (fresh->log_level) {
		enum log_level lvl;
		if (log_parse_level(fresh->log_level, &lvl) == 0)
			log_set_level(lvl);
	}
	if (d->state)
		state_set_audit_max(d->state, fresh->audit_max);
	move_state_file(d, was->state_file, fresh->state_file);
	if (d->wfm)
		wfm_set_config(d->wfm, fresh);
	if (d->events) {
		events_set_config(d->events, fresh);
		events_kick(d->events);
	}
	if (d->wfm)
		arm_report(d);
	if (d->cals)
		calendars_set_config(d->cals, fresh);
	if (d->state) {
		d->sched = daemon_sched_start(d->loop, &d->deps);
		d->deps.sched = d->sched;
		if (!d->sched)
			log_error(MOD, "msg=\"SIGHUP: scheduler did not restart\"");
	}
	log_info(MOD, "msg=\"config reloaded\" path=%s environments=%zu", fresh->path,
		 fresh->n_envs);
}
