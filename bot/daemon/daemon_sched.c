/* The scheduler's side of the daemon: what a fired, held or warned
 * scheduled action turns into (a workflow with its embed, an audit line, a
 * stop warning with snooze buttons). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../commands/commands.h"
#include "../core/log.h"
#include "../sched/sched.h"
#include "../wf/wfm.h"
#include "daemon.h"

#define MOD "sched"

static void local_hhmm(const struct bot *bot, const struct cfg_env *env, time_t t, char *buf,
		       size_t len)
{
	const char *zone = env->schedule.timezone ? env->schedule.timezone : bot->cfg->timezone;
	struct tz *tz = tz_open(zone);
	struct tm tm;
	if (tz)
		tz_local(tz, t, &tm);
	else
		gmtime_r(&t, &tm);
	strftime(buf, len, "%a %H:%M %Z", &tm);
	tz_destroy(tz);
}

static void on_fire(void *arg, const struct cfg_env *env, enum action action, enum sched_kind kind,
		    time_t scheduled_at, const struct state_decision *d)
{
	struct bot *bot = arg;
	char when[64], note[512], trigger[160];
	local_hhmm(bot, env, scheduled_at, when, sizeof(when));
	snprintf(trigger, sizeof(trigger), "%s %s (%s)", sched_kind_name(kind), action_name(action),
		 when);
	note[0] = '\0';
	if (kind == SCHED_CATCH_UP)
		snprintf(note, sizeof(note), "catch-up: envbot was down at the scheduled %s (%s)",
			 action_name(action), when);
	else if (d && d->rule == STATE_RULE_EXTEND)
		snprintf(note, sizeof(note), "%s", d->reason);
	struct wfm_request req = { .env = env,
				   .action = action,
				   .trigger = trigger,
				   .note = note,
				   /* Catch-up and enforcement only speak when there is
				    * something to do. */
				   .quiet_if_noop = kind != SCHED_SCHEDULED };
	const struct wf *running = NULL;
	enum bot_rc rc = wfm_start(bot->wfm, &req, &running);
	if (rc == BOT_EBUSY && kind != SCHED_ENFORCE)
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
	struct bot *bot = arg;
	char what[STATE_TEXT_MAX], when[64];
	local_hhmm(bot, env, scheduled_at, when, sizeof(when));
	snprintf(what, sizeof(what), "scheduled %s (%s)", action_name(action), when);
	log_info(MOD, "msg=\"scheduled action held\" env=%s action=%s reason=\"%s\"", env->name,
		 action_name(action), d->reason);
	state_audit(bot->state, time(NULL), "", "schedule", what, env->name, d->reason);
	bot_save_state_soon(bot);
}

static void on_warn(void *arg, const struct cfg_env *env, time_t stop_at)
{
	struct bot *bot = arg;
	if (cmd_post_stop_warning(bot, env, stop_at) != BOT_OK)
		log_warn(MOD, "msg=\"stop warning not posted\" env=%s", env->name);
}

static void on_save(void *arg)
{
	bot_save_state(arg);
}

enum bot_rc daemon_sched_start(struct bot *bot)
{
	struct sched_deps deps = { .loop = bot->loop,
				   .cfg = bot->cfg,
				   .st = bot->state,
				   .fire = on_fire,
				   .warn = on_warn,
				   .held = on_held,
				   .save = on_save,
				   .arg = bot };
	bot->sched = sched_create(&deps);
	if (!bot->sched) {
		log_error(MOD, "msg=\"scheduler not created\"");
		return BOT_ENOMEM;
	}
	sched_start(bot->sched);
	return BOT_OK;
}

void daemon_sched_stop(struct bot *bot)
{
	sched_destroy(bot->sched);
	bot->sched = NULL;
}
