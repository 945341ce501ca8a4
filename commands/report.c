/* The weekly report: /report [week] on demand and the report = { schedule }
 * post. Per environment the hours up on each day of the week (measured from
 * envbot's own record of starts and stops, bot/sched/weekly.c), scheduled
 * against actual, money at hourly_cost against always-on, and with
 * cost_explorer = true the week's actual cost from Cost Explorer grouped by
 * the cost_tag. Posted to the channel as one message: an embed, the chart
 * (report.png, bot/report) shown in it, and report.csv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aws/ce.h"
#include "../bot/core/log.h"
#include "../bot/report/report.h"
#include "../bot/sched/weekly.h"
#include "cmd_internal.h"

#define MOD "report"

struct report_job {
	struct rest *rest;
	struct state *state; /* for the scheduled post's record; NULL on demand */
	struct saver *saver;
	const struct cfg *cfg; /* the config it started with (SIGHUP keeps it alive) */
	struct ix *ix;         /* /report: answered when the post lands; NULL when scheduled */
	/* The caller's language (/report), else the channel's (cfg->locale). */
	const char *loc;
	char channel[32];
	struct report rep;
	char ce_note[700]; /* why Cost Explorer gave nothing; "" */
};

static void job_free(struct report_job *j)
{
	weekly_free(&j->rep);
	ix_free(j->ix);
	free(j);
}

static void money(double v, char *buf, size_t len)
{
	snprintf(buf, len, "$%.2f", v);
}

/* The embed: totals in the description, one field per environment. */
static cJSON *report_message(const struct report_job *j)
{
	char date[16], line[600], a[32], b[32], c[32], d[32];
	const struct report *r = &j->rep;
	struct cmd_text t = { 0 };
	double up = 0, sched = 0, est = 0, saved = 0;
	for (size_t i = 0; i < r->n_envs; i++) {
		up += r->envs[i].actual_hours;
		sched += r->envs[i].scheduled_hours;
		est += r->envs[i].estimate;
		saved += r->envs[i].saved;
	}
	when_format_date(r->monday, date, sizeof(date));
	money(est, a, sizeof(a));
	money(saved, b, sizeof(b));
	cmd_text_add(&t,
		     tr(j->loc, "Hours up measured from envbot's record of starts and stops, "
				"Monday to Sunday (%s). Saved is against always-on at each "
				"environment's hourly cost.\n**Total**: up %.2f h (scheduled %.2f "
				"h) · estimate %s · saved %s"),
		     tz_name(j->cfg->tz), up, sched, a, b);
	if (j->ce_note[0])
		cmd_text_add(&t, tr(j->loc, "\n⚠ Cost Explorer: %s"), j->ce_note);
	cJSON *msg = cJSON_CreateObject(), *embeds = cJSON_AddArrayToObject(msg, "embeds");
	cJSON *e = cJSON_CreateObject();
	if (!e || !cJSON_AddItemToArray(embeds, e)) {
		cJSON_Delete(e);
		cJSON_Delete(msg);
		cmd_text_free(&t);
		return NULL;
	}
	snprintf(line, sizeof(line), tr(j->loc, "📊 Weekly report: week of %s"), date);
	cJSON_AddStringToObject(e, "title", line);
	cJSON_AddStringToObject(e, "description", cmd_text_str(&t));
	cJSON_AddNumberToObject(e, "color", 3447003);
	cmd_text_free(&t);
	cJSON *fields = cJSON_AddArrayToObject(e, "fields");
	for (size_t i = 0; i < r->n_envs && i < REST_EMBED_FIELDS; i++) {
		const struct report_env *x = &r->envs[i];
		money(x->estimate, a, sizeof(a));
		money(x->always_on, b, sizeof(b));
		money(x->saved, c, sizeof(c));
		int n = snprintf(line, sizeof(line),
				 tr(j->loc, "up %.2f h · scheduled %.2f h\nestimate %s "
					    "· always-on %s · saved %s"),
				 x->actual_hours, x->scheduled_hours, a, b, c);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = (int)strlen(line);
		if (x->has_actual_cost) {
			money(x->actual_cost, d, sizeof(d));
			snprintf(line + n, sizeof(line) - (size_t)n,
				 tr(j->loc, "\nCost Explorer: %s"), d);
		}
		cJSON *f = cJSON_CreateObject();
		if (f && cJSON_AddItemToArray(fields, f)) {
			cJSON_AddStringToObject(f, "name", x->name);
			cJSON_AddStringToObject(f, "value", line);
		} else {
			cJSON_Delete(f);
		}
	}
	cJSON *img = cJSON_AddObjectToObject(e, "image");
	cJSON_AddStringToObject(img, "url", "attachment://report.png");
	cJSON *foot = cJSON_AddObjectToObject(e, "footer");
	cJSON_AddStringToObject(foot, "text",
				tr(j->loc, "report.csv: the same figures, a row per day"));
	cJSON_AddItemToObject(msg, "allowed_mentions", cJSON_CreateObject());
	return msg;
}

static void posted(void *arg, const struct rest_response *res)
{
	struct report_job *j = arg;
	char date[16], text[256];
	when_format_date(j->rep.monday, date, sizeof(date));
	if (res->rc == BOT_OK) {
		log_info(MOD, "msg=\"weekly report posted\" week=%s channel=%s", date, j->channel);
		if (j->state) {
			state_set_report_week(j->state, j->rep.monday);
			saver_save_soon(j->saver);
		}
		snprintf(text, sizeof(text),
			 tr(j->loc, "📊 The report for the week of %s is posted."), date);
	} else {
		log_error(MOD, "msg=\"weekly report not posted\" week=%s status=%ld rc=\"%s\"",
			  date, res->status, bot_strerror(res->rc));
		snprintf(text, sizeof(text),
			 tr(j->loc, "✘ The report for the week of %s could not be "
				    "posted (%s)."),
			 date, bot_strerror(res->rc));
	}
	if (j->ix)
		ix_edit(j->rest, j->ix, rest_msg_new(text, REST_FLAG_EPHEMERAL), NULL, NULL);
	job_free(j);
}

/* Renders and posts; frees j one way or the other. */
static void job_post(struct report_job *j)
{
	struct buf png = { 0 }, csv = { 0 };
	cJSON *msg = NULL;
	enum bot_rc rc = report_chart_png(&j->rep, &png);
	if (rc == BOT_OK)
		rc = report_csv(&j->rep, &csv);
	if (rc == BOT_OK && !(msg = report_message(j)))
		rc = BOT_ENOMEM;
	if (rc == BOT_OK && !j->ix) {
		/* a scheduled post: one message per week whatever restarts */
		char key[64], date[16], nonce[REST_NONCE_SIZE];
		when_format_date(j->rep.monday, date, sizeof(date));
		snprintf(key, sizeof(key), "weekly-report-%s", date);
		rest_nonce_for(key, nonce);
		cJSON_AddStringToObject(msg, "nonce", nonce);
	}
	const struct rest_file files[] = {
		{ .name = "report.png",
		  .content_type = "image/png",
		  .data = png.p,
		  .len = png.len },
		{ .name = "report.csv",
		  .content_type = "text/csv; charset=utf-8",
		  .data = csv.p,
		  .len = csv.len },
	};
	if (rc == BOT_OK)
		rc = rest_create_message_files(j->rest, j->channel, msg, files, 2, posted, j);
	else
		cJSON_Delete(msg);
	buf_free(&png);
	buf_free(&csv);
	if (rc != BOT_OK) {
		struct rest_response res = { .rc = rc };
		posted(j, &res);
	}
}

static void on_costs(void *arg, const struct aws_err *err, const struct ce_cost *costs, size_t n)
{
	struct report_job *j = arg;
	if (err->rc != BOT_OK) {
		char why[600];
		aws_err_str(err, why, sizeof(why));
		snprintf(j->ce_note, sizeof(j->ce_note), "%s", why);
		log_warn(MOD, "msg=\"Cost Explorer gave no costs\" reason=\"%s\"", why);
	}
	for (size_t i = 0; i < j->rep.n_envs; i++) {
		struct report_env *x = &j->rep.envs[i];
		for (size_t k = 0; k < n; k++) {
			if (strcmp(costs[k].value, x->name) == 0) {
				x->has_actual_cost = true;
				x->actual_cost = costs[k].amount;
			}
		}
	}
	job_post(j);
}

/* Starts the report of the week of monday into channel. ix (may be NULL) is
 * taken: answered when the post lands. */
static enum bot_rc report_start(const struct cmd_deps *deps, ymd_t monday, time_t now,
				const char *channel, struct ix *ix, bool scheduled, const char *loc)
{
	struct report_job *j = calloc(1, sizeof(*j));
	if (!j) {
		ix_free(ix);
		return BOT_ENOMEM;
	}
	j->rest = deps->rest;
	j->cfg = deps->cfg;
	j->ix = ix;
	j->loc = loc;
	j->state = scheduled ? deps->state : NULL;
	j->saver = deps->saver;
	snprintf(j->channel, sizeof(j->channel), "%s", channel ? channel : "");
	enum bot_rc rc = weekly_build(deps->cfg, deps->state, monday, now, &j->rep);
	if (rc != BOT_OK) {
		job_free(j);
		return rc;
	}
	if (!deps->cfg->report_ce || !deps->aws) {
		job_post(j);
		return BOT_OK;
	}
	/* Cost Explorer is global, answered from us-east-1; its days are UTC. */
	char err[256] = "", start[16], end[16];
	struct aws_target t = { .region = "us-east-1" };
	struct aws *ce = aws_for(deps->aws, &t, err, sizeof(err));
	when_format_date(monday, start, sizeof(start));
	when_format_date(when_add_days(monday, REPORT_DAYS), end, sizeof(end));
	rc = ce ? ce_costs_by_tag(ce, start, end, deps->cfg->report_cost_tag, on_costs, j)
		: BOT_EINVAL;
	if (rc != BOT_OK) {
		snprintf(j->ce_note, sizeof(j->ce_note), "not asked (%.600s)",
			 err[0] ? err : bot_strerror(rc));
		job_post(j);
	}
	return BOT_OK;
}

enum bot_rc cmd_post_weekly_report(const struct cmd_deps *deps, time_t now)
{
	if (!deps->cfg->channel_id || !deps->state)
		return BOT_EINVAL;
	ymd_t monday = weekly_monday(deps->cfg, now, 1);
	if (state_report_week(deps->state) == monday) {
		log_info(MOD, "msg=\"weekly report already posted for that week\"");
		return BOT_OK;
	}
	/* Nobody asked: the channel's language. */
	return report_start(deps, monday, now, deps->cfg->channel_id, NULL, true,
			    deps->cfg->locale);
}

/* "last" (the default: the week before this one) or "this" (so far). */
static int prepare_report(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			  size_t errlen)
{
	const char *w = ix_option(c->ix, "week");
	if (!w || !*w || strcmp(w, "last") == 0) {
		snprintf(arg, len, "last");
		return 0;
	}
	if (strcmp(w, "this") == 0) {
		snprintf(arg, len, "this");
		return 0;
	}
	snprintf(err, errlen, tr(loc, "week must be \"last\" or \"this\", not \"%.40s\""), w);
	return -1;
}

static void run_report(struct cmd_ctx *c, const char *arg)
{
	if (!c->deps->cfg->report_on) {
		cmd_refuse(c,
			   "the weekly report is off: add report = { schedule = \"0 9 * * MON\"; "
			   "}; to the config");
		return;
	}
	ymd_t monday = weekly_monday(c->deps->cfg, c->now, strcmp(arg, "this") == 0 ? 0 : 1);
	if (ix_defer(c->deps->rest, c->ix, true) != BOT_OK)
		return;
	cmd_audit(c, "ok");
	struct ix *ix = c->ix;
	c->ix = NULL;
	enum bot_rc rc = report_start(c->deps, monday, c->now, ix->channel_id, ix, false, c->loc);
	if (rc != BOT_OK)
		log_error(MOD, "msg=\"report not made\" rc=\"%s\"", bot_strerror(rc));
}

const struct cmd_desc cmd_report_table[] = {
	{ .command = "report", .level = CMD_ANYONE, .prepare = prepare_report, .run = run_report },
	{ .command = NULL },
};
