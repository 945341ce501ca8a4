/* The daemon proper: wires the state file, AWS, the workflow manager and the
 * scheduler into struct bot, and keeps the bookkeeping that spans them
 * (uptime for /cost, the audit of automatic actions, expiry of overrides). */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/aws.h"
#include "../core/log.h"
#include "../state/state.h"
#include "../wf/wfm.h"

#define MOD             "daemon"
#define EXPIRE_EVERY_MS (10u * 60u * 1000u)
#define UPTIME_KEEP_S   ((time_t)62 * 86400) /* this month and the last */

enum bot_rc bot_save_state(struct bot *bot)
{
	char err[256];
	if (!bot->state)
		return BOT_EIO;
	if (state_save(bot->state, bot->cfg->state_file, err, sizeof(err)) != BOT_OK) {
		log_error(MOD, "msg=\"state not saved\" path=%s reason=\"%s\"",
			  bot->cfg->state_file, err);
		return BOT_EIO;
	}
	return BOT_OK;
}

static void save_due(void *arg)
{
	struct bot *bot = arg;
	bot->save_timer = NULL;
	bot_save_state(bot);
}

void bot_save_state_soon(struct bot *bot)
{
	if (!bot->state || bot->save_timer)
		return;
	bot->save_timer = loop_timer_add(bot->loop, 0, save_due, bot);
	if (!bot->save_timer)
		bot_save_state(bot);
}

/* Uptime and audit when a workflow ends, whoever started it. */
static void on_wf_finished(void *arg, const struct wf *wf)
{
	struct bot *bot = arg;
	time_t now = time(NULL);
	const char *env = wf_env(wf)->name;
	bool ok = wf_status(wf) == WF_SUCCEEDED;
	if (ok && wf_action(wf) == ACTION_START)
		state_up(bot->state, env, now);
	else if (ok && wf_action(wf) == ACTION_STOP)
		state_down(bot->state, env, now);
	char action[STATE_TEXT_MAX], outcome[STATE_TEXT_MAX];
	snprintf(action, sizeof(action), "workflow %s (%s)", action_name(wf_action(wf)),
		 wf_trigger(wf));
	snprintf(outcome, sizeof(outcome), "%s: %s", ok ? "ok" : "failed", wf_summary(wf));
	state_audit(bot->state, now, "", "envbot", action, env, outcome);
	bot_save_state_soon(bot);
	daemon_count_workflow(bot, wf);
}

static ymd_t today_for(void *ctx, const char *env_name, time_t t)
{
	struct bot *bot = ctx;
	const struct cfg_env *env = cfg_find_env(bot->cfg, env_name);
	const char *zone =
		env && env->schedule.timezone ? env->schedule.timezone : bot->cfg->timezone;
	struct tz *tz = tz_open(zone);
	struct tm tm;
	if (tz) {
		tz_local(tz, t, &tm);
		tz_destroy(tz);
	} else {
		gmtime_r(&t, &tm);
	}
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void expire_tick(void *arg)
{
	struct bot *bot = arg;
	bot->expire_timer = NULL;
	time_t now = time(NULL);
	size_t n = state_expire(bot->state, now, bot->cfg->catch_up, today_for, bot);
	if (n > 0)
		log_info(MOD, "msg=\"overrides expired\" count=%zu", n);
	/* /cost reads this month's uptime: older intervals only grow the file
	 * (two a day per environment, forever). */
	size_t old = state_uptime_prune(bot->state, now - UPTIME_KEEP_S);
	if (old > 0)
		log_debug(MOD, "msg=\"old uptime intervals dropped\" count=%zu", old);
	if (n > 0 || old > 0)
		bot_save_state(bot);
	bot->expire_timer = loop_timer_add(bot->loop, EXPIRE_EVERY_MS, expire_tick, bot);
}

static void warn_channel(struct bot *bot, const char *text)
{
	if (bot->cfg->channel_id)
		rest_create_message(bot->rest, bot->cfg->channel_id, rest_msg_new(text, 0), NULL,
				    NULL);
}

static enum bot_rc load_state(struct bot *bot)
{
	char err[512];
	struct state_load_info info;
	enum bot_rc rc = state_load(bot->cfg->state_file, &bot->state, &info, err, sizeof(err));
	if (rc != BOT_OK) {
		log_error(MOD,
			  "msg=\"state file refused; not starting (fix or move it)\" path=%s "
			  "reason=\"%s\"",
			  bot->cfg->state_file, err);
		return rc;
	}
	state_set_audit_max(bot->state, bot->cfg->audit_max);
	if (info.recovered) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "⚠️ envbot's state file was damaged (%s). The last good copy was "
			 "loaded; "
			 "the damaged file is kept at `%s`. Check recent overrides.",
			 info.reason, info.corrupt_path);
		warn_channel(bot, text);
	}
	/* Prove now that the state can be written, not at the first override. */
	return bot_save_state(bot) == BOT_OK ? BOT_OK : BOT_EIO;
}

enum bot_rc daemon_start(struct bot *bot)
{
	char err[512];
	enum bot_rc rc = load_state(bot);
	if (rc != BOT_OK)
		return rc;
	rc = daemon_health_start(bot);
	if (rc != BOT_OK)
		return rc;
	bot->aws = aws_create(bot->loop, bot->cfg, err, sizeof(err));
	if (!bot->aws) {
		log_error(MOD, "msg=\"AWS client not created\" reason=\"%s\"", err);
		return BOT_ECONFIG;
	}
	struct wfm_deps deps = { .loop = bot->loop,
				 .aws = bot->aws,
				 .rest = bot->rest,
				 .state = bot->state,
				 .state_path = bot->cfg->state_file,
				 .cfg = bot->cfg,
				 .on_finished = on_wf_finished,
				 .arg = bot };
	bot->wfm = wfm_create(&deps);
	if (!bot->wfm)
		return BOT_ENOMEM;
	size_t resumed = wfm_resume_all(bot->wfm);
	if (resumed)
		log_info(MOD, "msg=\"workflows resumed\" count=%zu", resumed);
	rc = daemon_sched_start(bot);
	if (rc != BOT_OK)
		return rc;
	expire_tick(bot);
	return BOT_OK;
}

void daemon_stop(struct bot *bot)
{
	if (bot->loop) {
		loop_timer_cancel(bot->loop, bot->expire_timer);
		loop_timer_cancel(bot->loop, bot->save_timer);
	}
	bot->expire_timer = NULL;
	bot->save_timer = NULL;
	daemon_sched_stop(bot);
	daemon_health_stop(bot);
	if (bot->state)
		bot_save_state(bot);
	wfm_destroy(bot->wfm);
	bot->wfm = NULL;
	aws_destroy(bot->aws);
	bot->aws = NULL;
	state_destroy(bot->state);
	bot->state = NULL;
}

void daemon_reload(struct bot *bot)
{
	char err[8192];
	struct cfg *fresh = NULL;
	if (cfg_load(bot->cfg->path, &fresh, err, sizeof(err)) != BOT_OK) {
		/* One line per error, so each is a journald record of its own. */
		log_error(MOD,
			  "msg=\"SIGHUP: config has errors; still running on the previous "
			  "one\" path=%s",
			  bot->cfg->path);
		for (char *line = err, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			log_error(MOD, "msg=\"config error\" detail=\"%s\"", line);
		}
		return;
	}
	struct cfg **r = realloc(bot->retired, (bot->n_retired + 1) * sizeof(*r));
	if (!r) {
		cfg_destroy(fresh);
		log_error(MOD, "msg=\"SIGHUP: out of memory; config not reloaded\"");
		return;
	}
	bot->retired = r;
	if (strcmp(fresh->region, bot->cfg->region) != 0 ||
	    (fresh->endpoint_url ? 1 : 0) != (bot->cfg->endpoint_url ? 1 : 0) ||
	    strcmp(fresh->api_base, bot->cfg->api_base) != 0)
		log_warn(MOD, "msg=\"SIGHUP: region, endpoints and api_base take effect at the "
			      "next restart\"");
	daemon_sched_stop(bot);
	bot->retired[bot->n_retired++] = bot->cfg;
	bot->cfg = fresh;
	state_set_audit_max(bot->state, fresh->audit_max);
	if (daemon_sched_start(bot) != BOT_OK)
		log_error(MOD, "msg=\"SIGHUP: scheduler did not restart\"");
	log_info(MOD, "msg=\"config reloaded\" path=%s environments=%zu", fresh->path,
		 fresh->n_envs);
}
