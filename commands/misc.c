/* /tags (newest images from ECR), /cost (measured hours and money this
 * month, saved vs always-on, the month's projection), /freeze and /unfreeze
 * (no automatic action anywhere), /audit (who did what, when, the outcome). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aws/ecr.h"
#include "../bot/core/log.h"
#include "../bot/sched/holidays.h"
#include "../bot/sched/plan.h"
#include "../bot/wf/kind.h"
#include "cmd_internal.h"

#define MOD       "cmd"
#define TAGS_SHOW 10

/* ---- /tags ---- */

struct tags_req {
	struct rest *rest;
	const char *loc; /* the caller's language */
	struct ix *ix;   /* owned until the answer is sent */
	char repo[256];
};

static void on_tags(void *arg, const struct aws_err *err, const struct ecr_image_list *list)
{
	struct tags_req *r = arg;
	char repo[300], tag[300], msg[600];
	struct cmd_text t = { 0 };
	cmd_escape(r->repo, repo, sizeof(repo));
	if (!list || (err && err->rc != BOT_OK)) {
		cmd_escape(err ? err->message : "", msg, sizeof(msg));
		cmd_text_add(&t, tr(r->loc, "✘ could not read the tags of %s: %s%s%s"), repo,
			     err ? bot_strerror(err->rc) : "unknown error", msg[0] ? " — " : "",
			     msg);
	} else if (list->n == 0) {
		cmd_text_add(&t, tr(r->loc, "%s has no tagged image."), repo);
	} else {
		cmd_text_add(&t, tr(r->loc, "Newest images in %s (%zu tagged):\n"), repo,
			     list->n_images);
		for (size_t i = 0; i < list->n; i++) {
			const struct ecr_image *im = &list->images[i];
			char pushed[40] = "?";
			time_t pt = (time_t)im->pushed_at;
			struct tm tm;
			if (gmtime_r(&pt, &tm))
				strftime(pushed, sizeof(pushed), "%Y-%m-%d %H:%M UTC", &tm);
			cmd_escape(im->tag ? im->tag : "", tag, sizeof(tag));
			cmd_text_add(&t, tr(r->loc, "- %s (%s), pushed %s, %.1f MB"), tag,
				     im->rule ? im->rule : "", pushed,
				     (double)im->size_bytes / 1e6);
			if (im->n_tags > 1)
				cmd_text_add(&t, tr(r->loc, ", %zu tags"), im->n_tags);
			cmd_text_add(&t, "\n");
		}
	}
	cmd_reply_long(r->rest, r->ix, cmd_text_str(&t), true);
	cmd_text_free(&t);
	ix_free(r->ix);
	free(r);
}

static void run_tags(struct cmd_ctx *c, const char *arg)
{
	char why[256];
	(void)arg;
	if (!kind_image_repository(c->env)) {
		cmd_refusef(c, "%s has no image repository in the config", c->env->name);
		return;
	}
	if (!c->deps->aws) {
		cmd_refuse(c, "AWS is not available in this process");
		return;
	}
	struct tags_req *r = calloc(1, sizeof(*r));
	if (!r) {
		cmd_refuse(c, "out of memory");
		return;
	}
	r->rest = c->deps->rest;
	r->loc = c->loc;
	snprintf(r->repo, sizeof(r->repo), "%s", kind_image_repository(c->env));
	/* ECR may take longer than Discord's 3 s: answer "thinking" first. */
	if (ix_defer(c->deps->rest, c->ix, true) != BOT_OK) {
		free(r);
		return;
	}
	r->ix = c->ix;
	enum bot_rc rc = ecr_list_tags(c->deps->aws, r->repo, TAGS_SHOW, on_tags, r);
	if (rc != BOT_OK) {
		snprintf(why, sizeof(why), tr(c->loc, "✘ could not ask ECR: %s"), bot_strerror(rc));
		ix_edit(c->deps->rest, c->ix, rest_msg_new(why, REST_FLAG_EPHEMERAL), NULL, NULL);
		free(r);
		return;
	}
	c->ix = NULL; /* on_tags frees it */
}

/* ---- /cost ---- */

/* Hours the schedule (holidays applied, other overrides not) keeps env up
 * inside [from, to): the projection of the rest of the month. */
static double scheduled_hours(const struct plan_schedule *ps, time_t from, time_t to)
{
	struct plan_event ev[512];
	if (to <= from)
		return 0;
	size_t n = plan_events(ps, from, to, ev, 512);
	if (n > 512)
		n = 512;
	bool up = plan_up_at(ps, from);
	time_t since = from;
	double secs = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].skipped)
			continue;
		if (ev[i].action == ACTION_START && !up) {
			up = true;
			since = ev[i].at;
		} else if (ev[i].action == ACTION_STOP && up) {
			up = false;
			secs += (double)(ev[i].at - since);
		}
	}
	if (up)
		secs += (double)(to - since);
	return secs / 3600.0;
}

static void fmt_money(int64_t cents, char *buf, size_t len)
{
	snprintf(buf, len, "%s$%lld.%02lld", cents < 0 ? "-" : "", llabs(cents) / 100,
		 llabs(cents) % 100);
}

struct cost_row {
	double hours_up, hours_so_far, proj_hours, month_hours;
	int64_t spent, always_so_far, saved, proj_spent, proj_always, proj_saved;
};

/* The projection follows the overrides too (skips, chat holidays, pause,
 * freeze): an action they hold does not happen. Extends are left out: they
 * only ever concern today. */
struct cost_filter {
	const struct cmd_ctx *c;
	const struct cfg_env *env;
	const struct tz *tz;
};

static const char *cost_held(void *ud, const struct plan_event *ev)
{
	const struct cost_filter *f = ud;
	struct state_decision d;
	/* the holiday calendars' days too, as the scheduler sees them */
	struct holidays_of ho = { .cfg = f->c->deps->cfg, .st = f->c->deps->state, .env = f->env };
	state_decide(f->c->deps->state, f->env->name,
		     ev->action == ACTION_START ? ACTION_START : ACTION_STOP, ev->at, ev->date,
		     holidays_decide_fn, &ho, f->tz, &d);
	return d.run ? NULL : "held by an override";
}

static void cost_of(const struct cmd_ctx *c, const struct cfg_env *e, const struct tz *tz,
		    struct cost_row *r, char *month, size_t mlen)
{
	static const char *const names[] = { N_("January"), N_("February"), N_("March"),
					     N_("April"),   N_("May"),      N_("June"),
					     N_("July"),    N_("August"),   N_("September"),
					     N_("October"), N_("November"), N_("December") };
	ymd_t today = plan_local_date(tz, c->now);
	int y = today / 10000, m = today / 100 % 100;
	time_t from = plan_local_midnight(tz, y * 10000 + m * 100 + 1);
	time_t to = plan_local_midnight(tz, m == 12 ? (y + 1) * 10000 + 101
						    : y * 10000 + (m + 1) * 100 + 1);
	struct plan_schedule ps = {
		.start = e->schedule.start_expr ? &e->schedule.start : NULL,
		.stop = e->schedule.stop_expr ? &e->schedule.stop : NULL,
		.tz = tz,
		.holidays = c->deps->cfg->holidays,
		.n_holidays = c->deps->cfg->n_holidays,
		.filter = cost_held,
	};
	struct cost_filter cf = { .c = c, .env = e, .tz = tz };
	ps.filter_ud = &cf;
	/* TRANSLATORS: a month and its year, "November 2026". */
	snprintf(month, mlen, tr(c->loc, "%s %d"), tr(c->loc, names[m - 1]), y);
	r->hours_up =
		(double)state_uptime_seconds(c->deps->state, e->name, from, c->now + 1, c->now) /
		3600.0;
	r->hours_so_far = (double)(c->now - from) / 3600.0;
	r->month_hours = (double)(to - from) / 3600.0;
	r->proj_hours = r->hours_up + scheduled_hours(&ps, c->now, to);
	r->spent = cmd_cents(r->hours_up, e->hourly_cost);
	r->always_so_far = cmd_cents(r->hours_so_far, e->hourly_cost);
	r->saved = r->always_so_far - r->spent;
	r->proj_spent = cmd_cents(r->proj_hours, e->hourly_cost);
	r->proj_always = cmd_cents(r->month_hours, e->hourly_cost);
	r->proj_saved = r->proj_always - r->proj_spent;
}

static void run_cost(struct cmd_ctx *c, const char *arg)
{
	char month[32] = "", a[32], b[32], d[32], pa[32], pb[32];
	struct cmd_text t = { 0 };
	struct cost_row total = { 0 };
	size_t rows = 0;
	(void)arg;
	for (size_t i = 0; i < c->deps->cfg->n_envs; i++) {
		const struct cfg_env *e = &c->deps->cfg->envs[i];
		struct cost_row r;
		if (c->env && c->env != e)
			continue;
		cost_of(c, e, cfg_env_tz(c->deps->cfg, e), &r, month, sizeof(month));
		if (rows == 0)
			cmd_text_add(&t,
				     tr(c->loc, "Cost for %s so far (hours measured from the "
						"actual starts and stops):\n"),
				     month);
		fmt_money(r.spent, a, sizeof(a));
		fmt_money(r.saved, b, sizeof(b));
		fmt_money(r.always_so_far, d, sizeof(d));
		fmt_money(r.proj_spent, pa, sizeof(pa));
		fmt_money(r.proj_saved, pb, sizeof(pb));
		cmd_text_add(&t,
			     tr(c->loc, "**%s**: up %.1f h of %.0f h · spent %s · saved "
					"%s vs always-on (%s) · projection for the month: "
					"%s spent, %s saved\n"),
			     e->name, r.hours_up, r.hours_so_far, a, b, d, pa, pb);
		total.spent += r.spent;
		total.saved += r.saved;
		total.always_so_far += r.always_so_far;
		total.proj_spent += r.proj_spent;
		total.proj_saved += r.proj_saved;
		rows++;
	}
	if (rows > 1) {
		fmt_money(total.spent, a, sizeof(a));
		fmt_money(total.saved, b, sizeof(b));
		fmt_money(total.always_so_far, d, sizeof(d));
		fmt_money(total.proj_spent, pa, sizeof(pa));
		fmt_money(total.proj_saved, pb, sizeof(pb));
		cmd_text_add(&t,
			     tr(c->loc, "**total**: spent %s · saved %s vs always-on (%s) "
					"· projection: %s spent, %s saved\n"),
			     a, b, d, pa, pb);
	}
	cmd_answer(c, rows ? cmd_text_str(&t) : tr(c->loc, "No environment to cost."), false);
	cmd_text_free(&t);
}

/* ---- /freeze, /unfreeze ---- */

static void run_freeze(struct cmd_ctx *c, const char *arg)
{
	char text[CMD_LANGS][768], who[STATE_WHO_MAX * 2];
	(void)arg;
	const struct state_freeze *fz = state_is_frozen(c->deps->state);
	if (fz) {
		cmd_escape(fz->who, who, sizeof(who));
		cmd_refusef(c, "already frozen by %s; /unfreeze ends it", who);
		return;
	}
	state_freeze(c->deps->state, c->ix->user_name, c->now);
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++)
		snprintf(text[i], sizeof(text[i]),
			 tr(cmd_lang(c, i),
			    "❄ Frozen by %s: no automatic action anywhere (scheduled "
			    "starts and stops, catch-up, enforce) until /unfreeze. Frozen "
			    "overrides every pause, skip and extend. /env start and /env stop "
			    "still work by hand."),
			 who);
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], NULL);
}

static void run_unfreeze(struct cmd_ctx *c, const char *arg)
{
	char text[CMD_LANGS][512], who[STATE_WHO_MAX * 2];
	(void)arg;
	if (!state_unfreeze(c->deps->state)) {
		cmd_refuse(c, "envbot is not frozen");
		return;
	}
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++)
		snprintf(text[i], sizeof(text[i]),
			 tr(cmd_lang(c, i), "Unfrozen by %s: scheduled actions run again (pauses, "
					    "skips and extends apply)."),
			 who);
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], NULL);
}

/* ---- /audit ---- */

static void run_audit(struct cmd_ctx *c, const char *arg)
{
	const char *v = ix_option(c->ix, "count");
	char *end = NULL;
	struct cmd_text t = { 0 };
	long count = 10;
	(void)arg;
	if (v) {
		count = strtol(v, &end, 10);
		if (!v[0] || *end || count < 1 || count > 50) {
			cmd_refuse(c, "count must be a number from 1 to 50");
			return;
		}
	}
	size_t n = state_audit_count(c->deps->state);
	size_t want = n > (size_t)count ? (size_t)count : n;
	/* Oldest first; a long answer goes out over several messages. The
	 * entries are the operators' record, in English; the frame is the
	 * caller's. */
	cmd_text_add(&t, tr(c->loc, "Last %zu of %zu audit entries (UTC):\n"), want, n);
	for (size_t k = want; k-- > 0;) {
		const struct state_audit *e = state_audit_at(c->deps->state, n - 1 - k);
		char when[32], user[STATE_WHO_MAX * 2], action[STATE_TEXT_MAX * 2],
			outcome[STATE_TEXT_MAX * 2];
		struct tm tm;
		time_t at = e->time;
		gmtime_r(&at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		cmd_escape(e->user[0] ? e->user : e->user_id, user, sizeof(user));
		cmd_escape(e->action, action, sizeof(action));
		cmd_escape(e->outcome, outcome, sizeof(outcome));
		cmd_text_add(&t, "%s · %s · %s → %s\n", when, user, action, outcome);
	}
	cmd_answer(c, cmd_text_str(&t), false);
	cmd_text_free(&t);
}

const struct cmd_desc cmd_misc_table[] = {
	{ .command = "tags",
	  .level = CMD_ANYONE,
	  .env_option = true,
	  .env_required = true,
	  .run = run_tags },
	{ .command = "cost", .level = CMD_ANYONE, .env_option = true, .run = run_cost },
	{ .command = "freeze", .level = CMD_ADMIN, .run = run_freeze },
	{ .command = "unfreeze", .level = CMD_ADMIN, .run = run_unfreeze },
	{ .command = "audit", .level = CMD_ADMIN, .run = run_audit },
	{ .command = NULL },
};
