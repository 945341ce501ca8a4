/* The scheduler's side of the daemon: what a fired, held or warned
 * scheduled action turns into (a workflow with its embed, an audit line, a
 * stop warning with snooze buttons). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../i18n/i18n.h"
#include "../sched/plan.h"
#include "../sched/sched.h"
#include "../state/saver.h"
#include "../wf/kind.h"
#include "../wf/wfm.h"
#include "daemon.h"

#define MOD "sched"

static void local_hhmm(const struct cmd_deps *deps, const struct cfg_env *env, time_t t, char *buf,
		       size_t len)
{
	struct tm tm;
	tz_local(cfg_env_tz(deps->cfg, env), t, &tm);
	strftime(buf, len, "%a %H:%M %Z", &tm);
}

/* "Mon 09:00 KST" in the language loc ("월 09:00 KST"). */
static void local_hhmm_in(const char *loc, const struct cmd_deps *deps, const struct cfg_env *env,
			  time_t t, char *buf, size_t len)
{
	struct tm tm;
	tz_local(cfg_env_tz(deps->cfg, env), t, &tm);
	/* TRANSLATORS: a weekday, a time of day and its zone: "Mon 09:00 KST". */
	snprintf(buf, len, tr(loc, "%s %02d:%02d %s"), cmd_weekday(loc, tm.tm_wday), tm.tm_hour,
		 tm.tm_min, tm.tm_zone ? tm.tm_zone : "");
}

/* The trigger as the embed shows it, in the language loc: what the English
 * one ("scheduled start (Mon 09:00 KST)") says. */
static void trigger_said(const char *loc, enum sched_kind kind, enum action action,
			 const char *when, char *buf, size_t len)
{
	bool start = action == ACTION_START;
	const char *fmt;
	switch (kind) {
	case SCHED_CATCH_UP:
		fmt = start ? N_("catch-up start (%s)") : N_("catch-up stop (%s)");
		break;
	case SCHED_ENFORCE: fmt = start ? N_("enforce start (%s)") : N_("enforce stop (%s)"); break;
	case SCHED_LEASE: fmt = start ? N_("lease start (%s)") : N_("lease stop (%s)"); break;
	case SCHED_WATCH: fmt = start ? N_("watch start (%s)") : N_("watch stop (%s)"); break;
	default: fmt = start ? N_("scheduled start (%s)") : N_("scheduled stop (%s)"); break;
	}
	snprintf(buf, len, tr(loc, fmt), when);
}

static void on_fire(void *arg, const struct cfg_env *env, enum action action, enum sched_kind kind,
		    time_t scheduled_at, const struct state_decision *d)
{
	const struct cmd_deps *deps = arg;
	/* Nobody asked: the embed is in the channel's language; the trigger
	 * stays English for the audit and events out. */
	const char *loc = deps->cfg->locale;
	char when[64], when_said[64], note[512], trigger[160], said[256];
	local_hhmm(deps, env, scheduled_at, when, sizeof(when));
	local_hhmm_in(loc, deps, env, scheduled_at, when_said, sizeof(when_said));
	snprintf(trigger, sizeof(trigger), "%s %s (%s)", sched_kind_name(kind), action_name(action),
		 when);
	trigger_said(loc, kind, action, when_said, said, sizeof(said));
	note[0] = '\0';
	const struct state_lease *ls = deps->state ? state_lease_of(deps->state, env->name) : NULL;
	if (kind == SCHED_LEASE && ls)
		snprintf(note, sizeof(note), tr(loc, "end of the lease of %s"),
			 ls->who[0] ? ls->who : tr(loc, "a manual start"));
	else if (kind == SCHED_LEASE)
		snprintf(note, sizeof(note), "%s", d ? d->reason : tr(loc, "the lease ended"));
	else if (kind == SCHED_WATCH)
		snprintf(note, sizeof(note),
			 tr(loc, "AWS starts a database stopped for 7 days again on its own; the "
				 "schedule says down since %s, so envbot stops it again"),
			 when_said);
	else if (kind == SCHED_CATCH_UP && action == ACTION_START)
		snprintf(note, sizeof(note),
			 tr(loc, "catch-up: envbot was down at the scheduled start (%s)"),
			 when_said);
	else if (kind == SCHED_CATCH_UP)
		snprintf(note, sizeof(note),
			 tr(loc, "catch-up: envbot was down at the scheduled stop (%s)"),
			 when_said);
	else if (d && d->rule == STATE_RULE_EXTEND) {
		const struct tz *tz = cfg_env_tz(deps->cfg, env);
		cmd_reason_words(loc, deps->state, env->name, d, plan_local_date(tz, scheduled_at),
				 tz, note, sizeof(note));
	}
	struct wfm_request req = { .env = env,
				   .action = action,
				   .trigger = trigger,
				   .trigger_said = said,
				   .locale = loc,
				   .note = note,
				   /* Catch-up and enforcement only speak when there is
				    * something to do. */
				   .quiet_if_noop =
					   kind != SCHED_SCHEDULED && kind != SCHED_LEASE };
	if (kind == SCHED_LEASE) {
		/* /audit: the lease's end, next to who asked for it. */
		state_audit(deps->state, time(NULL), "", "schedule", "lease end: stop", env->name,
			    d ? d->reason : "");
		saver_save_soon(deps->saver);
	}
	const struct wf *running = NULL;
	enum bot_rc rc = wfm_start(deps->wfm, &req, &running);
	/* The opposite action still running (a group's stop that takes longer
	 * than the gap to its start): the scheduled one runs when it ends, as
	 * a queued /env command does, rather than not at all. */
	if (rc == BOT_EBUSY && kind != SCHED_ENFORCE && kind != SCHED_WATCH && running &&
	    wf_action(running) != action) {
		rc = wfm_enqueue(deps->wfm, &req, "the schedule", NULL);
		if (rc == BOT_OK)
			log_info(MOD,
				 "msg=\"scheduled action queued behind the running one\" env=%s "
				 "action=%s running=%s",
				 env->name, action_name(action), wf_id(running));
	}
	if (rc == BOT_EBUSY && kind != SCHED_ENFORCE && kind != SCHED_WATCH)
		log_warn(MOD,
			 "msg=\"scheduled action not started: a workflow is running\" env=%s "
			 "action=%s running=%s",
			 env->name, action_name(action), running ? wf_id(running) : "?");
	else if (rc != BOT_OK && rc != BOT_EBUSY)
		log_error(MOD, "msg=\"scheduled action not started\" env=%s rc=\"%s\"", env->name,
			  bot_strerror(rc));
}

static void on_held(void *arg, const struct cfg_env *env, enum action action, time_t scheduled_at,
		    const struct state_decision *d)
{
	const struct cmd_deps *deps = arg;
	char what[STATE_TEXT_MAX], when[64];
	local_hhmm(deps, env, scheduled_at, when, sizeof(when));
	snprintf(what, sizeof(what), "scheduled %s (%s)", action_name(action), when);
	if (d->rule == STATE_RULE_LEASE)
		snprintf(what, sizeof(what), "lease end (%s)", when);
	log_info(MOD, "msg=\"scheduled action held\" env=%s action=%s reason=\"%s\"", env->name,
		 action_name(action), d->reason);
	state_audit(deps->state, time(NULL), "", "schedule", what, env->name, d->reason);
	saver_save_soon(deps->saver);
}

static void on_warn(void *arg, const struct cfg_env *env, time_t stop_at)
{
	const struct cmd_deps *deps = arg;
	if (cmd_post_stop_warning(deps, env, stop_at) != BOT_OK)
		log_warn(MOD, "msg=\"stop warning not posted\" env=%s", env->name);
}

static bool wakes_up(void *arg, const struct cfg_env *env)
{
	(void)arg;
	return kind_wakes_up(env);
}

static void on_save(void *arg)
{
	const struct cmd_deps *deps = arg;
	saver_save_now(deps->saver);
}

struct sched *daemon_sched_start(struct loop *loop, const struct cmd_deps *deps)
{
	struct sched_deps sd = { .loop = loop,
				 .cfg = deps->cfg,
				 .st = deps->state,
				 .fire = on_fire,
				 .warn = on_warn,
				 .held = on_held,
				 .save = on_save,
				 .wakes_up = wakes_up,
				 /* The callbacks only read: sched_deps wants void *. */
				 .arg = (void *)deps };
	struct sched *s = sched_create(&sd);
	if (!s) {
		log_error(MOD, "msg=\"scheduler not created\"");
		return NULL;
	}
	sched_start(s);
	return s;
}
