/* /schedule: show (the next 7 days as the scheduler itself will run them:
 * overrides, holidays and extends applied), pause until a date or for a
 * duration, resume. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/sched/holidays.h"
#include "../bot/sched/plan.h"
#include "../bot/sched/sched.h"
#include "cmd_internal.h"

#define SHOW_DAYS 7

/* One line per action sched_upcoming reports. */
struct show_ctx {
	const char *loc;
	const struct state *st;
	const char *env;
	const struct tz *tz;
	time_t now;
	struct cmd_text *t;
	size_t listed;
};

static int show_one(void *arg, const struct sched_action *a)
{
	struct show_ctx *x = arg;
	char when[64], why[STATE_TEXT_MAX * 2];
	/* What already happened (or happens this very second) is not "next". */
	if ((a->decision.run ? a->at : a->scheduled_at) <= x->now)
		return 0;
	cmd_fmt_local_in(x->loc, x->tz, a->scheduled_at, when, sizeof(when));
	const char *verb = cmd_verb(x->loc, a->action);
	cmd_reason_words(x->loc, x->st, x->env, &a->decision,
			 plan_local_date(x->tz, a->scheduled_at), x->tz, why, sizeof(why));
	if (!a->decision.run)
		cmd_text_add(x->t, "- ~~%s %s~~: %s\n", when, verb, why);
	else if (a->decision.rule != STATE_RULE_NONE)
		cmd_text_add(x->t, "- %s %s: %s\n", when, verb, why);
	else
		cmd_text_add(x->t, "- %s %s\n", when, verb);
	x->listed++;
	return 0;
}

/* The next SHOW_DAYS days as the scheduler will run them (sched_upcoming:
 * the same rule and the same call that fires the actions), then the
 * holidays in that window. */
static void run_show(struct cmd_ctx *c, const char *arg)
{
	const struct cfg_env *e = c->env;
	const struct cfg *cfg = c->deps->cfg;
	char ds[16];
	struct cmd_text t = { 0 };
	(void)arg;
	const struct tz *tz = cfg_env_tz(cfg, e);
	const struct sched *s = cmd_sched(c);
	if (!s) {
		cmd_refuse(c, "out of memory");
		return;
	}
	time_t to = c->now + SHOW_DAYS * 86400;
	cmd_text_add(&t, tr(c->loc, "**%s**: the next %d days (%s)\n"), e->name, SHOW_DAYS,
		     tz_name(tz));
	struct show_ctx x = { .loc = c->loc,
			      .st = c->deps->state,
			      .env = e->name,
			      .tz = tz,
			      .now = c->now,
			      .t = &t };
	sched_upcoming(s, e->name, c->now, SHOW_DAYS, show_one, &x);
	if (x.listed == 0)
		cmd_text_add(&t, "%s", tr(c->loc, "No scheduled action in these days.\n"));
	const struct state_lease *ls = state_lease_of(c->deps->state, e->name);
	if (ls) {
		char who[STATE_WHO_MAX * 2], when[64];
		cmd_escape(ls->who, who, sizeof(who));
		if (ls->until) {
			cmd_fmt_local_in(c->loc, tz, ls->until, when, sizeof(when));
			cmd_text_add(&t,
				     tr(c->loc, "Lease: manual %s by %s, up until %s unless a "
						"scheduled action comes first\n"),
				     cmd_verb(c->loc, ls->action), who, when);
		} else {
			cmd_text_add(&t,
				     tr(c->loc, "Lease: manual %s by %s, kept until the next "
						"scheduled action\n"),
				     cmd_verb(c->loc, ls->action), who);
		}
	}
	/* Holidays in the window, whichever list they come from. */
	ymd_t first = plan_local_date(tz, c->now), last = plan_local_date(tz, to);
	for (ymd_t d = first; d <= last; d = when_add_days(d, 1)) {
		const struct state_holiday *h = state_holiday_find(c->deps->state, d);
		struct holiday ch; /* the config's, or a calendar's this env takes */
		bool in_cfg = holidays_find(cfg, c->deps->state, e, d, &ch);
		if (!h && !in_cfg)
			continue;
		char label[STATE_TEXT_MAX * 2] = "", raw[STATE_TEXT_MAX + STATE_CAL_NAME_MAX + 16];
		if (in_cfg && ch.source == HOLIDAY_CALENDAR) {
			/* holidays_label's "Seollal, calendar ko", in the caller's
			 * words */
			char cal[STATE_CAL_NAME_MAX + 64];
			snprintf(cal, sizeof(cal), tr(c->loc, "calendar %s"), ch.calendar);
			snprintf(raw, sizeof(raw), "%s%s%s", ch.label ? ch.label : "",
				 ch.label && ch.label[0] ? ", " : "", cal);
			cmd_escape(raw, label, sizeof(label));
		} else if (h && h->label[0]) {
			cmd_escape(h->label, label, sizeof(label));
		}
		when_format_date(d, ds, sizeof(ds));
		cmd_text_add(&t, tr(c->loc, "Holiday %s%s%s%s\n"), ds, label[0] ? " (" : "", label,
			     label[0] ? ")" : "");
	}
	cmd_answer(c, cmd_text_str(&t), false);
	cmd_text_free(&t);
}

static int prepare_pause(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			 size_t errlen)
{
	ymd_t date;
	time_t at;
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	int r = cmd_parse_until(loc, ix_option(c->ix, "until"), plan_local_date(tz, c->now), c->now,
				&date, &at, err, errlen);
	if (r != 0)
		return -1;
	if (date)
		when_format_date(date, arg, len);
	else
		snprintf(arg, len, "@%lld", (long long)at);
	return 0;
}

static void run_pause(struct cmd_ctx *c, const char *arg)
{
	ymd_t date = 0;
	time_t at = 0;
	char err[512], until[64], who[STATE_WHO_MAX * 2], text[CMD_LANGS][768], note[512];
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	if (arg[0] == '@') {
		at = (time_t)strtoll(arg + 1, NULL, 10);
		if (at <= c->now) {
			cmd_refuse(c, "that time has already passed");
			return;
		}
	} else if (when_parse_date(arg, &date) != 0 || date <= plan_local_date(tz, c->now)) {
		cmd_refuse(c, "a pause must last until a later day than today");
		return;
	}
	if (state_pause_set(c->deps->state, c->env->name, date, at, c->ix->user_name, c->now, err,
			    sizeof(err)) != BOT_OK) {
		cmd_refuse(c, err);
		return;
	}
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++) {
		const char *loc = cmd_lang(c, i);
		if (date)
			when_format_date(date, until, sizeof(until));
		else
			cmd_fmt_local_in(loc, tz, at, until, sizeof(until));
		if (date)
			snprintf(text[i], sizeof(text[i]),
				 tr(loc,
				    "⏸ **%s**: paused by %s until %s: no automatic "
				    "start or stop before that day. /schedule resume %s ends it "
				    "sooner."),
				 c->env->name, who, until, c->env->name);
		else
			snprintf(text[i], sizeof(text[i]),
				 tr(loc, "⏸ **%s**: paused by %s until %s: no automatic "
					 "start or stop before then. /schedule resume %s ends it "
					 "sooner."),
				 c->env->name, who, until, c->env->name);
	}
	cmd_conflict_note(c->loc, c->deps->state, c->env->name, "pause", 0, NULL, 0, note,
			  sizeof(note));
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], note);
}

static int prepare_resume(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			  size_t errlen)
{
	(void)arg;
	(void)len;
	if (!state_pause_until(c->deps->state, c->env->name)) {
		snprintf(err, errlen, tr(loc, "%s is not paused"), c->env->name);
		return -1;
	}
	return 0;
}

static void run_resume(struct cmd_ctx *c, const char *arg)
{
	char text[CMD_LANGS][512], who[STATE_WHO_MAX * 2], note[512];
	(void)arg;
	if (!state_pause_clear(c->deps->state, c->env->name)) {
		cmd_refusef(c, "%s is not paused", c->env->name);
		return;
	}
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++)
		snprintf(text[i], sizeof(text[i]),
			 tr(cmd_lang(c, i), "▶ **%s**: resumed by %s; scheduled actions "
					    "run again from the next one."),
			 c->env->name, who);
	cmd_conflict_note(c->loc, c->deps->state, c->env->name, "resume", 0, NULL, 0, note,
			  sizeof(note));
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], note);
}

const struct cmd_desc cmd_schedule_table[] = {
	{ .command = "schedule",
	  .sub = "show",
	  .level = CMD_ANYONE,
	  .env_option = true,
	  .env_required = true,
	  .run = run_show },
	{ .command = "schedule",
	  .sub = "pause",
	  .level = CMD_ADMIN,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .prepare = prepare_pause,
	  .run = run_pause },
	{ .command = "schedule",
	  .sub = "resume",
	  .level = CMD_ADMIN,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .prepare = prepare_resume,
	  .run = run_resume },
	{ .command = NULL },
};
