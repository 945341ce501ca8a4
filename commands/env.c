/* /env: list, status, start, stop, extend, skip. Reads answer only the
 * caller (ephemeral); start/stop get a public progress embed (the deferred
 * response, edited by the workflow manager); extend and skip are overrides,
 * saved before they are acknowledged, with the conflict rule in the reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/core/log.h"
#include "../bot/sched/holidays.h"
#include "../bot/sched/plan.h"
#include "../bot/sched/sched.h"
#include "../bot/wf/kind.h"
#include "../bot/wf/wfm.h"
#include "cmd_internal.h"

#define MOD "cmd"

/* ---- reads ---- */

/* "up since Mon 09:02 KST", "down", "starting (step Poll)". */
static void env_state(const struct cmd_ctx *c, const struct cfg_env *env, const struct tz *tz,
		      char *buf, size_t len)
{
	const struct wf *wf = c->deps->wfm ? wfm_running(c->deps->wfm, env->name) : NULL;
	time_t since;
	char when[64];
	if (wf) {
		const char *link = wfm_link(c->deps->wfm, env->name);
		snprintf(buf, len, tr(c->loc, "%s in progress (%s)%s%s"),
			 cmd_verb(c->loc, wf_action(wf)), wf_state_name(wf), link[0] ? " " : "",
			 link);
		return;
	}
	if (state_is_up(c->deps->state, env->name, &since)) {
		cmd_fmt_local_in(c->loc, tz, since, when, sizeof(when));
		snprintf(buf, len, tr(c->loc, "up since %s"), when);
		return;
	}
	snprintf(buf, len, "%s", tr(c->loc, "down"));
}

static void run_list(struct cmd_ctx *c, const char *arg)
{
	char st[256], next[320], who[STATE_WHO_MAX * 2];
	struct cmd_text t = { 0 };
	const struct state_freeze *fz = state_is_frozen(c->deps->state);
	(void)arg;
	if (fz) {
		cmd_escape(fz->who, who, sizeof(who));
		cmd_text_add(&t,
			     tr(c->loc, "❄ Frozen by %s: no automatic action until "
					"/unfreeze.\n"),
			     who);
	}
	/* One line per environment, however many: cmd_answer sends a long
	 * list as embeds over several messages. */
	for (size_t i = 0; i < c->deps->cfg->n_envs; i++) {
		const struct cfg_env *e = &c->deps->cfg->envs[i];
		const struct tz *tz = cfg_env_tz(c->deps->cfg, e);
		env_state(c, e, tz, st, sizeof(st));
		cmd_next_action(c, e, tz, next, sizeof(next));
		cmd_text_add(&t, tr(c->loc, "**%s** (%s%s): %s; next: %s\n"), e->name,
			     cfg_kind_name(e->kind),
			     e->protected_env ? tr(c->loc, ", protected") : "", st, next);
	}
	if (c->deps->cfg->n_envs == 0)
		cmd_text_add(&t, "%s", tr(c->loc, "No environment is configured."));
	cmd_answer(c, cmd_text_str(&t), false);
	cmd_text_free(&t);
}

/* Every override of env, one line each, appended to t; false if none. */
static bool overrides_text(const struct cmd_ctx *c, const struct cfg_env *env, const struct tz *tz,
			   struct cmd_text *t)
{
	const struct state *st = c->deps->state;
	char when[64], ds[16], who[STATE_WHO_MAX * 2];
	bool any = false;
	const struct state_freeze *fz = state_is_frozen(st);
	if (fz) {
		cmd_escape(fz->who, who, sizeof(who));
		cmd_fmt_local_in(c->loc, tz, fz->since, when, sizeof(when));
		cmd_text_add(t, tr(c->loc, "- frozen by %s since %s\n"), who, when);
		any = true;
	}
	const struct state_pause *pz = state_pause_until(st, env->name);
	if (pz) {
		cmd_escape(pz->who, who, sizeof(who));
		if (pz->until_date)
			when_format_date(pz->until_date, when, sizeof(when));
		else
			cmd_fmt_local_in(c->loc, tz, pz->until_at, when, sizeof(when));
		cmd_text_add(t, tr(c->loc, "- paused until %s by %s\n"), when, who);
		any = true;
	}
	const struct state_lease *ls = state_lease_of(st, env->name);
	if (ls) {
		char set[64];
		cmd_escape(ls->who, who, sizeof(who));
		cmd_fmt_local_in(c->loc, tz, ls->set_at, set, sizeof(set));
		if (ls->until) {
			cmd_fmt_local_in(c->loc, tz, ls->until, when, sizeof(when));
			cmd_text_add(t,
				     tr(c->loc, "- lease: %s by %s at %s, up until %s (then "
						"stopped)\n"),
				     cmd_verb(c->loc, ls->action), who, set, when);
		} else {
			cmd_text_add(t,
				     tr(c->loc, "- manual %s by %s at %s: kept until the next "
						"scheduled action\n"),
				     cmd_verb(c->loc, ls->action), who, set);
		}
		any = true;
	}
	for (size_t i = 0; i < state_extend_count(st, env->name); i++) {
		const struct state_extend *x = state_extend_at(st, env->name, i);
		when_format_date(x->date, ds, sizeof(ds));
		cmd_fmt_local_in(c->loc, tz, x->stop_at, when, sizeof(when));
		cmd_escape(x->who, who, sizeof(who));
		cmd_text_add(t, tr(c->loc, "- extend: the stop of %s moved to %s by %s\n"), ds,
			     when, who);
		any = true;
	}
	for (size_t i = 0; i < state_skip_count(st, env->name); i++) {
		const struct state_skip *k = state_skip_at(st, env->name, i);
		when_format_date(k->date, ds, sizeof(ds));
		cmd_escape(k->who, who, sizeof(who));
		cmd_text_add(t, tr(c->loc, "- skip: no scheduled start on %s (by %s)\n"), ds, who);
		any = true;
	}
	return any;
}

/* /env status asks AWS for the live state while "thinking": the text built
 * from the state file waits here for the answer. Everything is copied, so a
 * config reload meanwhile cannot pull anything from under it. */
struct status_req {
	struct rest *rest;
	struct aws *aws;
	const char *loc; /* the caller's language (static or catalogue) */
	struct ix *ix;   /* owned until the answer is sent */
	char live[768];
	char *text; /* owned: the reply without its live line */
};

static void status_send(struct status_req *r)
{
	struct cmd_text out = { 0 };
	/* The live line goes second, under the title line. */
	const char *nl = strchr(r->text, '\n');
	int head = nl ? (int)(nl - r->text) + 1 : (int)strlen(r->text);
	cmd_text_add(&out, "%.*s", head, r->text);
	cmd_text_add(&out, tr(r->loc, "Live: %s\n"), r->live);
	cmd_text_add(&out, "%s", r->text + head);
	cmd_reply_long(r->rest, r->ix, cmd_text_str(&out), true);
	cmd_text_free(&out);
	ix_free(r->ix);
	free(r->text);
	free(r);
}

/* The kind's lookups answered: its line goes under the title. */
static void on_live(void *arg, const struct kind_live *live)
{
	struct status_req *r = arg;
	snprintf(r->live, sizeof(r->live), "%s", live->line);
	status_send(r);
}

static void run_status(struct cmd_ctx *c, const char *arg)
{
	const struct cfg_env *e = c->env;
	char st[256], next[320], words[160], words2[160], up[16];
	struct cmd_text t = { 0 };
	(void)arg;
	const struct tz *tz = cfg_env_tz(c->deps->cfg, e);
	env_state(c, e, tz, st, sizeof(st));
	cmd_next_action(c, e, tz, next, sizeof(next));
	ymd_t today = plan_local_date(tz, c->now);
	int64_t secs = state_uptime_seconds(c->deps->state, e->name, plan_local_midnight(tz, today),
					    c->now + 1, c->now);
	when_format_duration(secs - secs % 60, up, sizeof(up));
	cmd_text_add(&t, "**%s** (%s%s, %s)\n", e->name, cfg_kind_name(e->kind),
		     e->protected_env ? tr(c->loc, ", protected") : "", tz_name(tz));
	cmd_text_add(&t, tr(c->loc, "State: %s\n"), st);
	const struct wf *wf = c->deps->wfm ? wfm_running(c->deps->wfm, e->name) : NULL;
	if (wf && wf_image_tag(wf)[0])
		cmd_text_add(&t, tr(c->loc, "Image tag: %s (%s)\n"), wf_image_tag(wf),
			     wf_image_rule(wf));
	cmd_text_add(&t, tr(c->loc, "Uptime today: %s (measured)\n"), up);
	cmd_text_add(&t, tr(c->loc, "Next: %s\n"), next);
	/* cron_describe's words ("Mon-Fri 09:00") are bot/time's, English. */
	if (e->schedule.start_expr && e->schedule.stop_expr) {
		cron_describe(e->schedule.start_expr, words, sizeof(words));
		cron_describe(e->schedule.stop_expr, words2, sizeof(words2));
		cmd_text_add(&t, tr(c->loc, "Schedule: start %s, stop %s\n"), words, words2);
	} else if (e->schedule.start_expr) {
		cron_describe(e->schedule.start_expr, words, sizeof(words));
		cmd_text_add(&t, tr(c->loc, "Schedule: start %s\n"), words);
	} else if (e->schedule.stop_expr) {
		cron_describe(e->schedule.stop_expr, words, sizeof(words));
		cmd_text_add(&t, tr(c->loc, "Schedule: stop %s\n"), words);
	} else {
		cmd_text_add(&t, "%s", tr(c->loc, "Schedule: none (by hand only)\n"));
	}
	struct cmd_text ov = { 0 };
	if (overrides_text(c, e, tz, &ov))
		cmd_text_add(&t, tr(c->loc, "Overrides:\n%s"), cmd_text_str(&ov));
	else
		cmd_text_add(&t, "%s", tr(c->loc, "Overrides: none\n"));
	cmd_text_free(&ov);

	struct status_req *r = c->deps->aws ? calloc(1, sizeof(*r)) : NULL;
	if (!r || !t.b.p) {
		free(r);
		cmd_answer(c, cmd_text_str(&t), false);
		cmd_text_free(&t);
		return;
	}
	r->rest = c->deps->rest;
	r->aws = c->deps->aws;
	r->loc = c->loc;
	r->text = t.b.p; /* ownership moves to r */
	t = (struct cmd_text){ 0 };
	/* AWS may take longer than Discord's 3 s: "thinking" first. */
	if (ix_defer(c->deps->rest, c->ix, true) != BOT_OK) {
		free(r->text);
		free(r);
		return;
	}
	r->ix = c->ix;
	c->ix = NULL;
	const struct kind *kind = kind_of(e);
	enum bot_rc rc =
		kind && kind->live ? kind_live(r->aws, e, cmd_escape, on_live, r) : BOT_EINVAL;
	if (rc != BOT_OK) {
		snprintf(r->live, sizeof(r->live), tr(c->loc, "unknown (%s)"), bot_strerror(rc));
		status_send(r);
	}
}

/* ---- start / stop ---- */

/* What a manual action does to the env's lease (state_lease), decided before
 * the workflow starts and recorded once it did (or was queued). */
struct lease_plan {
	bool set;        /* record a lease (an override) */
	bool cleared;    /* a start's lease is ended early (a stop) */
	bool inside;     /* a `for` ignored: inside scheduled hours */
	enum action act; /* the action planned for */
	time_t until;    /* the lease's end; 0: the next scheduled transition */
	char note[512];  /* said in the reply (caller's language), "" if nothing */
	char audit[256]; /* the same for the audit, in English */
};

/* What the plan means, in the language loc, into buf ("" if nothing). */
static void lease_words(const struct lease_plan *p, const char *loc, const struct tz *tz, char *buf,
			size_t len)
{
	char when[64];
	buf[0] = '\0';
	if (p->act == ACTION_STOP) {
		if (p->cleared)
			snprintf(buf, len, "%s", tr(loc, "the lease ends now"));
		if (p->set)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "; " : "",
				 tr(loc, "kept down until the next scheduled action (enforce)"));
	} else if (p->inside) {
		snprintf(buf, len, "%s",
			 tr(loc, "inside scheduled hours: no lease, it stays up until the "
				 "scheduled stop"));
	} else if (p->set && p->until) {
		cmd_fmt_local_in(loc, tz, p->until, when, sizeof(when));
		snprintf(buf, len,
			 tr(loc, "lease: up until %s, then stopped (warned before; /env extend or "
				 "the snooze buttons keep it longer)"),
			 when);
	} else if (p->set) {
		snprintf(buf, len, "%s", tr(loc, "lease: up until the next scheduled action"));
	}
}

/* The schedule wants env down at now: a start now is off-hours. */
static bool off_hours(struct cmd_ctx *c)
{
	const struct sched *s = cmd_sched(c);
	enum action want;
	return s && sched_desired(s, c->env->name, c->now, &want) && want == ACTION_STOP;
}

static bool schedule_wants_up(struct cmd_ctx *c)
{
	const struct sched *s = cmd_sched(c);
	enum action want;
	return s && sched_desired(s, c->env->name, c->now, &want) && want == ACTION_START;
}

/* A `for` (text) into the lease's end; the reason in the language loc. */
static int lease_end(struct cmd_ctx *c, const char *loc, const char *text, time_t *until, char *err,
		     size_t errlen)
{
	struct cmd_lease_arg a;
	if (cmd_lease_parse(loc, text, &a, err, errlen) != 0 ||
	    cmd_lease_compute(loc, &a, cfg_env_tz(c->deps->cfg, c->env), c->now,
			      c->deps->cfg->max_extend, c->level >= CMD_ADMIN, until, err,
			      errlen) != 0)
		return -1;
	return 0;
}

/* arg is the canonical `for` ("@<until>", or "" when none was given). On
 * -1, why holds the reason in both languages (CMD_SAID, CMD_EN). */
static int plan_lease(struct cmd_ctx *c, enum action action, const char *arg, struct lease_plan *p,
		      char (*why)[512])
{
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	const struct state_lease *old = state_lease_of(c->deps->state, c->env->name);
	*p = (struct lease_plan){ .act = action };
	if (action == ACTION_STOP) {
		p->cleared = old && old->action == ACTION_START;
		/* enforce would start it again within a minute: the stop is an
		 * override until the next scheduled transition. */
		p->set = c->env->enforce && schedule_wants_up(c);
		goto words;
	}
	bool given = arg && arg[0];
	if (!off_hours(c)) {
		p->inside = given && schedule_wants_up(c);
		if (!given || schedule_wants_up(c))
			goto words;
	}
	if (given) {
		if (lease_end(c, c->loc, arg, &p->until, why[CMD_SAID], sizeof(why[CMD_SAID])) !=
		    0) {
			lease_end(c, NULL, arg, &p->until, why[CMD_EN], sizeof(why[CMD_EN]));
			return -1;
		}
	} else if (c->deps->cfg->manual_lease > 0) {
		int64_t len = c->deps->cfg->manual_lease;
		if (c->level < CMD_ADMIN && len > c->deps->cfg->max_extend)
			len = c->deps->cfg->max_extend;
		p->until = c->now + (time_t)len;
	} else if (!c->env->enforce) {
		return 0; /* until-next-stop: nothing to hold (today's behaviour) */
	}
	p->set = true;
words:
	lease_words(p, c->loc, tz, p->note, sizeof(p->note));
	lease_words(p, NULL, tz, p->audit, sizeof(p->audit));
	return 0;
}

/* Records the plan; returns the lease that was there before (restored with
 * lease_undo when the workflow could not begin). */
static void lease_apply(struct cmd_ctx *c, enum action action, const struct lease_plan *p,
			struct state_lease *was, bool *had)
{
	const struct state_lease *old = state_lease_of(c->deps->state, c->env->name);
	*had = old != NULL;
	if (old)
		*was = *old;
	if (p->set)
		state_lease_set(c->deps->state, c->env->name, action, p->until, c->ix->user_name,
				c->now, NULL, 0);
	else if (p->cleared || old)
		state_lease_clear(c->deps->state, c->env->name); /* a new manual action */
}

static void lease_undo(struct cmd_ctx *c, const struct state_lease *was, bool had)
{
	state_lease_clear(c->deps->state, c->env->name);
	if (had)
		state_lease_set(c->deps->state, c->env->name, was->action, was->until, was->who,
				was->set_at, NULL, 0);
}

/* Refuses a second workflow of the same action (running or queued), or a
 * third one; true when refused. */
static bool refuse_busy(struct cmd_ctx *c, enum action action, const struct wf *running)
{
	char why[CMD_LANGS][768];
	enum action queued;
	const char *link = wfm_link(c->deps->wfm, c->env->name);
	const char *sep = link[0] ? ": " : "";
	bool same = wf_action(running) == action;
	if (same || (wfm_queued(c->deps->wfm, c->env->name, &queued) && queued == action)) {
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			if (same)
				snprintf(why[i], sizeof(why[i]),
					 tr(loc, "%s already has a %s running%s%s"), c->env->name,
					 cmd_verb(loc, action), sep, link);
			else
				snprintf(why[i], sizeof(why[i]),
					 tr(loc, "%s already has a %s queued%s%s"), c->env->name,
					 cmd_verb(loc, action), sep, link);
		}
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return true;
	}
	if (wfm_queued(c->deps->wfm, c->env->name, NULL)) {
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			snprintf(why[i], sizeof(why[i]),
				 tr(loc, "%s already has a %s running and an action queued%s%s"),
				 c->env->name, cmd_verb(loc, wf_action(running)), sep, link);
		}
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return true;
	}
	return false;
}

/* The opposite workflow runs: this one waits for its end. */
static void queue_workflow(struct cmd_ctx *c, struct wfm_request *req, const struct wf *running,
			   const struct lease_plan *lp)
{
	char text[1024], who[STATE_WHO_MAX * 2];
	char outcome[STATE_TEXT_MAX + 64]; /* the audit cuts it to STATE_TEXT_MAX */
	struct state_lease was;
	bool had;
	req->channel_id = c->ix->channel_id;
	const char *link = wfm_link(c->deps->wfm, c->env->name);
	if (wfm_enqueue(c->deps->wfm, req, c->ix->user_name, NULL) != BOT_OK) {
		cmd_refuse(c, "could not queue it behind the running workflow");
		return;
	}
	lease_apply(c, req->action, lp, &was, &had);
	cmd_who(c, who, sizeof(who));
	snprintf(text, sizeof(text),
		 tr(c->loc, "⏳ The %s of **%s** is queued by %s: it will run when the "
			    "current %s ends%s%s.%s%s"),
		 cmd_verb(c->loc, req->action), c->env->name, who,
		 cmd_verb(c->loc, wf_action(running)), link[0] ? " " : "", link,
		 lp->note[0] ? tr(c->loc, " Then ") : "", lp->note);
	snprintf(outcome, sizeof(outcome), "ok: queued behind the running %s%s%s",
		 action_name(wf_action(running)), lp->audit[0] ? "; " : "", lp->audit);
	cmd_audit(c, outcome);
	saver_save_now(c->deps->saver);
	cmd_answer(c, text, true);
}

static void run_workflow(struct cmd_ctx *c, enum action action, const char *arg)
{
	char text[1024], trigger[160], trigger_said[256], why[CMD_LANGS][512];
	char outcome[STATE_TEXT_MAX + 64]; /* the audit cuts it to STATE_TEXT_MAX */
	struct lease_plan lp;
	struct state_lease was;
	bool had;
	if (!c->deps->wfm) {
		cmd_refuse(c, "workflows are not available in this process");
		return;
	}
	const struct wf *running = wfm_running(c->deps->wfm, c->env->name);
	if (running && refuse_busy(c, action, running))
		return;
	if (plan_lease(c, action, arg, &lp, why) != 0) {
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	/* The trigger stays English (the audit, events out, who did it); the
	 * embed says it in the caller's language, like the rest of it. */
	snprintf(trigger, sizeof(trigger), "/env %s by %s", action_name(action), c->ix->user_name);
	snprintf(trigger_said, sizeof(trigger_said), tr(c->loc, "/env %s by %s"),
		 action_name(action), c->ix->user_name);
	struct wfm_request req = {
		.env = c->env,
		.action = action,
		.trigger = trigger,
		.trigger_said = trigger_said,
		.locale = c->loc,
		.note = lp.note[0] ? lp.note : NULL,
	};
	if (running) {
		queue_workflow(c, &req, running, &lp);
		return;
	}
	if (c->ix->type == IX_COMMAND) {
		/* Public, deferred: the workflow's embed becomes the response. */
		if (ix_defer(c->deps->rest, c->ix, false) != BOT_OK) {
			cmd_audit(c, "failed: could not answer Discord");
			return;
		}
		req.ix = c->ix;
	} else {
		/* Confirmed through the (ephemeral) prompt: the embed is posted
		 * publicly in the channel, the prompt says so. */
		req.channel_id = c->ix->channel_id;
		snprintf(text, sizeof(text),
			 tr(c->loc, "Confirmed: %s of **%s** requested; progress below."),
			 cmd_verb(c->loc, action), c->env->name);
		cmd_answer(c, text, false);
	}
	/* Before the start: its first save (saver_flush) carries the lease. */
	lease_apply(c, action, &lp, &was, &had);
	const struct wf *busy = NULL;
	enum bot_rc rc = wfm_start(c->deps->wfm, &req, &busy);
	if (rc == BOT_OK) {
		/* The manager owns the ix now; it is still alive for the audit. */
		snprintf(outcome, sizeof(outcome), "ok: workflow started%s%s",
			 lp.audit[0] ? "; " : "", lp.audit);
		cmd_audit(c, outcome);
		/* The workflow's own record is what must survive; the audit line
		 * goes out with the next coalesced save. */
		saver_save_soon(c->deps->saver);
		if (req.ix)
			c->ix = NULL;
		return;
	}
	lease_undo(c, &was, had);
	if (rc == BOT_EBUSY) {
		const char *link = wfm_link(c->deps->wfm, c->env->name);
		snprintf(text, sizeof(text), tr(c->loc, "✘ %s already has a workflow running%s%s"),
			 c->env->name, link[0] ? ": " : "", link);
	} else {
		snprintf(text, sizeof(text), tr(c->loc, "✘ the %s of %s could not begin: %s"),
			 cmd_verb(c->loc, action), c->env->name, bot_strerror(rc));
	}
	cmd_audit(c, rc == BOT_EBUSY ? "refused: a workflow is running" : "failed");
	saver_save_soon(c->deps->saver);
	if (c->ix->type == IX_COMMAND)
		ix_edit(c->deps->rest, c->ix, rest_msg_new(text, 0), NULL, NULL);
	else
		ix_followup(c->deps->rest, c->ix, rest_msg_new(text, REST_FLAG_EPHEMERAL), NULL,
			    NULL);
}

/* Validates `for` now (a bad one is refused before anything happens, and
 * before a confirm prompt), into its end instant: a confirm pressed later
 * keeps the lease it showed. */
static int prepare_start(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			 size_t errlen)
{
	const char *f = ix_option(c->ix, "for");
	time_t until;
	arg[0] = '\0';
	if (!f || !f[0])
		return 0;
	if (lease_end(c, loc, f, &until, err, errlen) != 0)
		return -1;
	snprintf(arg, len, "@%lld", (long long)until);
	return 0;
}

static void run_start(struct cmd_ctx *c, const char *arg)
{
	run_workflow(c, ACTION_START, arg);
}

static void run_stop(struct cmd_ctx *c, const char *arg)
{
	(void)arg;
	run_workflow(c, ACTION_STOP, "");
}

/* ---- extend ---- */

/* Everything an extend needs, validated: the stop it moves and where to. */
struct extend_plan {
	struct cmd_extend_arg arg;
	time_t scheduled, effective, new_stop;
	ymd_t date;
	bool lease; /* a start's lease is lengthened, not today's stop */
	struct state_lease was;
};

/* The reason of a refusal in the language loc. */
static int extend_plan(struct cmd_ctx *c, const char *loc, const char *text, const struct tz *tz,
		       struct extend_plan *p, char *err, size_t errlen)
{
	p->lease = false;
	if (cmd_extend_parse(loc, text, &p->arg, err, errlen) != 0)
		return -1;
	const struct state_lease *ls = state_lease_of(c->deps->state, c->env->name);
	p->lease = ls && ls->action == ACTION_START && ls->until;
	if (p->lease) {
		struct cmd_lease_arg la = { .until = p->arg.until,
					    .at = p->arg.at,
					    .seconds = p->arg.seconds,
					    .minutes = p->arg.minutes,
					    .until_at = p->arg.stop_at };
		p->was = *ls;
		p->effective = p->scheduled = ls->until;
		return cmd_lease_extend(loc, &la, tz, c->now, ls->until, c->deps->cfg->max_extend,
					c->level >= CMD_ADMIN, &p->new_stop, err, errlen);
	}
	if (cmd_stop_today(loc, c->env, tz, c->deps->state, c->now, &p->scheduled, &p->effective,
			   &p->date, err, errlen) != 0)
		return -1;
	return cmd_extend_compute(loc, &p->arg, tz, p->date, c->now, p->scheduled, p->effective,
				  c->deps->cfg->max_extend, c->level >= CMD_ADMIN, &p->new_stop,
				  err, errlen);
}

static int prepare_extend(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			  size_t errlen)
{
	struct extend_plan p;
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	int r = -1;
	if (extend_plan(c, loc, ix_option(c->ix, "duration"), tz, &p, err, errlen) == 0) {
		/* The instant, not the duration: a confirm pressed twice
		 * extends once. */
		snprintf(arg, len, "@%lld", (long long)p.new_stop);
		r = 0;
	}
	return r;
}

static void run_extend(struct cmd_ctx *c, const char *arg)
{
	struct extend_plan p;
	char why[CMD_LANGS][512], was[64], now_s[64], who[STATE_WHO_MAX * 2], text[CMD_LANGS][768],
		note[512];
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	if (extend_plan(c, c->loc, arg, tz, &p, why[CMD_SAID], sizeof(why[CMD_SAID])) != 0) {
		extend_plan(c, NULL, arg, tz, &p, why[CMD_EN], sizeof(why[CMD_EN]));
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	cmd_who(c, who, sizeof(who));
	if (p.lease) {
		if (state_lease_set(c->deps->state, c->env->name, ACTION_START, p.new_stop,
				    p.was.who, p.was.set_at, why[CMD_EN],
				    sizeof(why[CMD_EN])) != BOT_OK) {
			cmd_refuse(c, why[CMD_EN]);
			return;
		}
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			cmd_fmt_local_in(loc, tz, p.was.until, was, sizeof(was));
			cmd_fmt_local_in(loc, tz, p.new_stop, now_s, sizeof(now_s));
			snprintf(text[i], sizeof(text[i]),
				 tr(loc, "✅ **%s**: the lease (until %s) now ends at %s, "
					 "by %s; then it is stopped."),
				 c->env->name, was, now_s, who);
		}
		cmd_commit(c, text[CMD_EN], text[CMD_SAID], "");
		return;
	}
	/* A confirm pressed twice names the same instant: the first press did
	 * it; no second change, "ok" audit or event out. */
	const struct state_extend *have = state_extend_for(c->deps->state, c->env->name, p.date);
	if (have && have->stop_at == p.new_stop) {
		char by[STATE_WHO_MAX * 2];
		cmd_escape(have->who, by, sizeof(by));
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			cmd_fmt_local_in(loc, tz, p.new_stop, now_s, sizeof(now_s));
			snprintf(text[i], sizeof(text[i]),
				 tr(loc, "**%s**: today's stop is already moved to %s (by %s)."),
				 c->env->name, now_s, by);
		}
		cmd_noop_said(c, text[CMD_EN], text[CMD_SAID]);
		return;
	}
	if (state_extend_set(c->deps->state, c->env->name, p.date, p.new_stop, c->ix->user_name,
			     c->now, why[CMD_EN], sizeof(why[CMD_EN])) != BOT_OK) {
		cmd_refuse(c, why[CMD_EN]);
		return;
	}
	for (int i = 0; i < CMD_LANGS; i++) {
		const char *loc = cmd_lang(c, i);
		cmd_fmt_local_in(loc, tz, p.scheduled, was, sizeof(was));
		cmd_fmt_local_in(loc, tz, p.new_stop, now_s, sizeof(now_s));
		snprintf(text[i], sizeof(text[i]),
			 tr(loc, "✅ **%s**: today's stop (scheduled %s) moved to %s by "
				 "%s. Tomorrow's schedule is unchanged."),
			 c->env->name, was, now_s, who);
	}
	cmd_conflict_note(c->loc, c->deps->state, c->env->name, "extend", p.date,
			  c->deps->cfg->holidays, c->deps->cfg->n_holidays, note, sizeof(note));
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], note);
}

/* ---- skip ---- */

/* The scheduled start of env on date (local), validated for a skip; the
 * reason of a refusal in the language loc. */
static int skip_plan(struct cmd_ctx *c, const char *loc, const char *text, const struct tz *tz,
		     ymd_t *date, time_t *start_at, char *err, size_t errlen)
{
	ymd_t today = plan_local_date(tz, c->now);
	char ds[16];
	if (cmd_parse_day(loc, text, today, date, err, errlen) != 0)
		return -1;
	when_format_date(*date, ds, sizeof(ds));
	if (!c->env->schedule.start_expr) {
		snprintf(err, errlen, tr(loc, "%s has no scheduled start to skip"), c->env->name);
		return -1;
	}
	if (cron_next(&c->env->schedule.start, tz, plan_local_midnight(tz, *date) - 1, start_at) !=
		    0 ||
	    plan_local_date(tz, *start_at) != *date) {
		snprintf(err, errlen, tr(loc, "%s has no scheduled start on %s (%s)"), c->env->name,
			 ds, cmd_weekday(loc, when_weekday(*date)));
		return -1;
	}
	/* The last start of the day decides whether anything is left to skip. */
	time_t later = *start_at, t;
	while (cron_next(&c->env->schedule.start, tz, later, &t) == 0 &&
	       plan_local_date(tz, t) == *date)
		later = t;
	if (later <= c->now) {
		snprintf(err, errlen,
			 tr(loc, "the scheduled start of %s on %s has already happened"),
			 c->env->name, ds);
		return -1;
	}
	const struct state_skip *s = state_skip_find(c->deps->state, c->env->name, *date);
	if (s) {
		char who[STATE_WHO_MAX * 2];
		cmd_escape(s->who, who, sizeof(who));
		snprintf(err, errlen, tr(loc, "%s is already skipped on %s (by %s)"), c->env->name,
			 ds, who);
		return -1;
	}
	return 0;
}

static int prepare_skip(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			size_t errlen)
{
	ymd_t date;
	time_t at;
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	int r = -1;
	if (skip_plan(c, loc, ix_option(c->ix, "date"), tz, &date, &at, err, errlen) == 0) {
		when_format_date(date, arg, len);
		r = 0;
	}
	return r;
}

static void run_skip(struct cmd_ctx *c, const char *arg)
{
	ymd_t date;
	time_t at;
	char why[CMD_LANGS][512], ds[16], when[64], who[STATE_WHO_MAX * 2], text[CMD_LANGS][768],
		note[512];
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	if (skip_plan(c, c->loc, arg, tz, &date, &at, why[CMD_SAID], sizeof(why[CMD_SAID])) != 0) {
		skip_plan(c, NULL, arg, tz, &date, &at, why[CMD_EN], sizeof(why[CMD_EN]));
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (state_skip_add(c->deps->state, c->env->name, date, c->ix->user_name, c->now,
			   why[CMD_EN], sizeof(why[CMD_EN])) != BOT_OK) {
		cmd_refuse(c, why[CMD_EN]);
		return;
	}
	when_format_date(date, ds, sizeof(ds));
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++) {
		const char *loc = cmd_lang(c, i);
		cmd_fmt_local_in(loc, tz, at, when, sizeof(when));
		snprintf(text[i], sizeof(text[i]),
			 tr(loc, "✅ **%s**: skip %s recorded by %s; the scheduled start "
				 "(%s) will not happen. Scheduled stops still run."),
			 c->env->name, ds, who, when);
	}
	/* The date as the holiday it is for this environment, from the config
	 * or one of its calendars (the chat's the note finds itself). */
	struct holiday h;
	bool holiday = holidays_find(c->deps->cfg, c->deps->state, c->env, date, &h);
	cmd_conflict_note(c->loc, c->deps->state, c->env->name, "skip", date,
			  holiday ? &date : NULL, holiday ? 1 : 0, note, sizeof(note));
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], note);
}

const struct cmd_desc cmd_env_table[] = {
	{ .command = "env", .sub = "list", .level = CMD_ANYONE, .run = run_list },
	{ .command = "env",
	  .sub = "status",
	  .level = CMD_ANYONE,
	  .env_option = true,
	  .env_required = true,
	  .run = run_status },
	{ .command = "env",
	  .sub = "start",
	  .level = CMD_OPERATOR,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .prepare = prepare_start,
	  .run = run_start },
	{ .command = "env",
	  .sub = "stop",
	  .level = CMD_OPERATOR,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .run = run_stop },
	{ .command = "env",
	  .sub = "extend",
	  .level = CMD_OPERATOR,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .prepare = prepare_extend,
	  .run = run_extend },
	{ .command = "env",
	  .sub = "skip",
	  .level = CMD_OPERATOR,
	  .env_option = true,
	  .env_required = true,
	  .mutates = true,
	  .prepare = prepare_skip,
	  .run = run_skip },
	{ .command = NULL },
};
