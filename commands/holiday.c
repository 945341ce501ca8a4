/* /holiday add|remove|list: dated exceptions shared by every schedule. Chat
 * holidays live in the state file next to the config's `holidays`; the
 * config's list is read-only from chat (edit the file for those). Days are
 * judged in the top-level time zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/sched/holidays.h"
#include "../bot/sched/plan.h"
#include "cmd_internal.h"

static bool in_config(const struct cfg *cfg, ymd_t d)
{
	for (size_t i = 0; i < cfg->n_holidays; i++)
		if (cfg->holidays[i] == d)
			return true;
	return false;
}

static ymd_t today_default(const struct cmd_ctx *c)
{
	return plan_local_date(cfg_env_tz(c->deps->cfg, NULL), c->now);
}

static int prepare_add(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
		       size_t errlen)
{
	ymd_t d;
	char ds[16];
	if (cmd_parse_day(loc, ix_option(c->ix, "date"), today_default(c), &d, err, errlen) != 0)
		return -1;
	when_format_date(d, ds, sizeof(ds));
	if (in_config(c->deps->cfg, d)) {
		snprintf(err, errlen, tr(loc, "%s is already a holiday (in the config file)"), ds);
		return -1;
	}
	if (state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen, tr(loc, "%s is already a holiday"), ds);
		return -1;
	}
	snprintf(arg, len, "%s", ds);
	return 0;
}

/* " Note: 2027-02-08 is already a day of calendar ko (Seollal), which keeps
 * dev down; this holiday keeps every environment down." for each calendar
 * whose copy has d, appended to buf; nothing when none has. A chat holiday
 * on such a day is not refused: it holds whatever the calendar's next
 * refresh says, and for the environments the calendar leaves up. */
static void calendar_note(const struct cmd_ctx *c, ymd_t d, char *buf, size_t len)
{
	const struct cfg *cfg = c->deps->cfg;
	struct holiday *v = NULL;
	size_t n = 0, o = strlen(buf);
	char ds[16], name[STATE_CAL_NAME_MAX * 2], label[STATE_CAL_TEXT_MAX * 2];
	if (holidays_list(cfg, c->deps->state, NULL, &v, &n) != BOT_OK)
		return;
	when_format_date(d, ds, sizeof(ds));
	for (size_t i = 0; i < n; i++) {
		if (v[i].date != d || v[i].source != HOLIDAY_CALENDAR)
			continue;
		cmd_escape(v[i].calendar, name, sizeof(name));
		cmd_escape(v[i].label, label, sizeof(label));
		char envs[512] = "";
		size_t users = 0, eo = 0;
		for (size_t k = 0; k < cfg->n_envs; k++) {
			if (!holidays_applies(&cfg->envs[k], v[i].calendar))
				continue;
			users++;
			cmd_appendf(envs, sizeof(envs), &eo, "%s%s", eo ? ", " : "",
				    cfg->envs[k].name);
		}
		/* One message per case: the sentence is the translator's. */
		if (users == cfg->n_envs)
			cmd_appendf(
				buf, len, &o,
				tr(c->loc,
				   " Note: %s is already a day of calendar %s%s%s%s, which keeps "
				   "every environment down already."),
				ds, name, label[0] ? " (" : "", label, label[0] ? ")" : "");
		else if (users == 0)
			cmd_appendf(
				buf, len, &o,
				tr(c->loc,
				   " Note: %s is already a day of calendar %s%s%s%s, which keeps "
				   "no environment down; this holiday keeps every environment "
				   "down."),
				ds, name, label[0] ? " (" : "", label, label[0] ? ")" : "");
		else
			cmd_appendf(
				buf, len, &o,
				tr(c->loc,
				   " Note: %s is already a day of calendar %s%s%s%s, which keeps "
				   "%s down; this holiday keeps every environment down."),
				ds, name, label[0] ? " (" : "", label, label[0] ? ")" : "", envs);
	}
	if (o >= len && len > 0)
		buf[len - 1] = '\0';
	free(v);
}

static void run_add(struct cmd_ctx *c, const char *arg)
{
	ymd_t d;
	const char *label = ix_option(c->ix, "label");
	char err[512], shown[STATE_TEXT_MAX * 2] = "", who[STATE_WHO_MAX * 2],
					      text[CMD_LANGS][1024], note[2048];
	if (when_parse_date(arg, &d) != 0) {
		cmd_refuse(c, "not a date");
		return;
	}
	if (state_holiday_add(c->deps->state, d, label ? label : "", c->ix->user_name, c->now, err,
			      sizeof(err)) != BOT_OK) {
		cmd_refuse(c, err);
		return;
	}
	const struct state_holiday *h = state_holiday_find(c->deps->state, d);
	if (h && h->label[0])
		cmd_escape(h->label, shown, sizeof(shown));
	cmd_who(c, who, sizeof(who));
	cmd_conflict_note(c->loc, c->deps->state, NULL, "holiday", d, NULL, 0, note, sizeof(note));
	calendar_note(c, d, note, sizeof(note));
	for (int i = 0; i < CMD_LANGS; i++)
		snprintf(text[i], sizeof(text[i]),
			 tr(cmd_lang(c, i), "🏖 Holiday %s%s%s%s added by %s: "
					    "scheduled starts that day are skipped for every "
					    "environment (stops still run)."),
			 arg, shown[0] ? " (" : "", shown, shown[0] ? ")" : "", who);
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], note);
}

static int prepare_remove(struct cmd_ctx *c, const char *loc, char *arg, size_t len, char *err,
			  size_t errlen)
{
	ymd_t d;
	char t[40], ds[16], shown[96];
	const char *v = ix_option(c->ix, "date");
	/* Past holidays may be removed too: any day expression, no "not in the
	 * past" rule. */
	snprintf(t, sizeof(t), "%s", v ? v : "");
	if (!v || strlen(v) >= sizeof(t) || when_parse_day(t, today_default(c), &d) != 0) {
		cmd_escape(v ? v : "", shown, sizeof(shown));
		snprintf(err, errlen, tr(loc, "\"%s\" is not a day: use YYYY-MM-DD"), shown);
		return -1;
	}
	when_format_date(d, ds, sizeof(ds));
	if (in_config(c->deps->cfg, d) && !state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen,
			 tr(loc, "%s is a holiday of the config file: remove it from `holidays` "
				 "there"),
			 ds);
		return -1;
	}
	struct holiday h;
	if (!state_holiday_find(c->deps->state, d) &&
	    holidays_find(c->deps->cfg, c->deps->state, NULL, d, &h) &&
	    h.source == HOLIDAY_CALENDAR) {
		char name[STATE_CAL_NAME_MAX * 2];
		cmd_escape(h.calendar, name, sizeof(name));
		snprintf(err, errlen,
			 "%s is a day of holiday calendar %s: change the calendar, or leave it "
			 "out of an environment's holidays_from",
			 ds, name);
		return -1;
	}
	if (!state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen, tr(loc, "%s is not a holiday"), ds);
		return -1;
	}
	snprintf(arg, len, "%s", ds);
	return 0;
}

static void run_remove(struct cmd_ctx *c, const char *arg)
{
	ymd_t d;
	char who[STATE_WHO_MAX * 2], text[CMD_LANGS][512];
	if (when_parse_date(arg, &d) != 0 || !state_holiday_remove(c->deps->state, d)) {
		cmd_refuse(c, "not a holiday");
		return;
	}
	cmd_who(c, who, sizeof(who));
	for (int i = 0; i < CMD_LANGS; i++)
		snprintf(text[i], sizeof(text[i]),
			 tr(cmd_lang(c, i),
			    "Holiday %s removed by %s: the schedules run as usual that day."),
			 arg, who);
	cmd_commit(c, text[CMD_EN], text[CMD_SAID], NULL);
}

/* "- 2027-02-08 Seollal (calendar ko; chat, added by bob)": one line per
 * date, the first source's label, then every source in the conflict rule's
 * order (holidays_list's), each with its own label when it differs from
 * the first ("calendar company: Lunar New Year"). */
static void list_date(const char *loc, struct cmd_text *t, const struct holiday *v, size_t n)
{
	char ds[16], label[STATE_TEXT_MAX * 2] = "", own[STATE_TEXT_MAX * 2],
					    name[STATE_WHO_MAX * 2];
	const char *head = "";
	when_format_date(v[0].date, ds, sizeof(ds));
	for (size_t i = 0; i < n && !head[0]; i++)
		head = v[i].label ? v[i].label : "";
	cmd_escape(head, label, sizeof(label));
	cmd_text_add(t, "- %s%s%s (", ds, label[0] ? " " : "", label);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "; " : "";
		const char *mine = v[i].label ? v[i].label : "";
		own[0] = '\0';
		if (mine[0] && strcmp(mine, head) != 0)
			cmd_escape(mine, own, sizeof(own));
		cmd_text_add(t, "%s", sep);
		switch (v[i].source) {
		case HOLIDAY_CONFIG: cmd_text_add(t, "%s", tr(loc, "config file")); break;
		case HOLIDAY_CALENDAR:
			cmd_escape(v[i].calendar, name, sizeof(name));
			cmd_text_add(t, tr(loc, "calendar %s"), name);
			break;
		case HOLIDAY_CHAT:
			cmd_escape(v[i].who, name, sizeof(name));
			cmd_text_add(t, tr(loc, "chat, added by %s"), name);
			break;
		}
		if (own[0])
			cmd_text_add(t, ": %s", own);
	}
	cmd_text_add(t, ")\n");
}

/* Each calendar: where it comes from, who takes it, its copy, and the
 * last refresh if it failed. */
static void list_calendars(const struct cmd_ctx *c, struct cmd_text *t)
{
	const struct cfg *cfg = c->deps->cfg;
	const struct tz *tz = cfg_env_tz(cfg, NULL);
	char raw[1024], src[2048], name[STATE_CAL_NAME_MAX * 2], a[64] = "", b[64],
								 why[STATE_TEXT_MAX * 2];
	if (cfg->n_calendars)
		cmd_text_add(t, "%s",
			     tr(c->loc, "Holiday calendars (their days from today on above):\n"));
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		const struct cfg_calendar *cal = &cfg->calendars[i];
		const struct state_calendar *sc = state_calendar_find(c->deps->state, cal->name);
		size_t users = 0;
		for (size_t k = 0; k < cfg->n_envs; k++)
			users += holidays_applies(&cfg->envs[k], cal->name);
		holidays_source_shown(cal, raw, sizeof(raw));
		cmd_escape(raw, src, sizeof(src));
		cmd_escape(cal->name, name, sizeof(name));
		if (cal->is_url)
			cmd_text_add(t, "- **%s**: %s · ", name, src);
		else
			cmd_text_add(t, tr(c->loc, "- **%s**: file %s · "), name, src);
		if (users == cfg->n_envs)
			cmd_text_add(t, "%s", tr(c->loc, "every environment"));
		for (size_t k = 0, m = 0; users < cfg->n_envs && k < cfg->n_envs; k++)
			if (holidays_applies(&cfg->envs[k], cal->name))
				cmd_text_add(t, "%s%s", m++ ? ", " : "", cfg->envs[k].name);
		if (users == 0)
			cmd_text_add(t, "%s", tr(c->loc, "no environment (holidays_from)"));
		if (sc && sc->fetched) {
			cmd_fmt_local_in(c->loc, tz, sc->fetched, a, sizeof(a));
			cmd_text_add(t, tr(c->loc, " · fetched %s, %zu day%s\n"), a, sc->n_days,
				     sc->n_days == 1 ? "" : "s");
		} else {
			cmd_text_add(t, "%s",
				     tr(c->loc, " · no copy yet: its days do not apply\n"));
		}
		if (sc && sc->failed_at) {
			cmd_fmt_local_in(c->loc, tz, sc->failed_at, b, sizeof(b));
			cmd_escape(sc->error, why, sizeof(why));
			if (sc->fetched)
				cmd_text_add(t,
					     tr(c->loc,
						"  ⚠ the refresh of %s failed: %s; the copy "
						"fetched %s is still used\n"),
					     b, why, a);
			else
				cmd_text_add(t, tr(c->loc, "  ⚠ the refresh of %s failed: %s\n"), b,
					     why);
		}
	}
}

/* Every holiday with where it comes from: the config file, the chat (all
 * of them), the calendars (from today on: their copies reach a month back
 * for /cost); then the calendars themselves. */
static void run_list(struct cmd_ctx *c, const char *arg)
{
	const struct cfg *cfg = c->deps->cfg;
	struct holiday *v = NULL;
	size_t n = 0, shown = 0;
	struct cmd_text t = { 0 };
	(void)arg;
	if (holidays_list(cfg, c->deps->state, NULL, &v, &n) != BOT_OK) {
		cmd_refuse(c, "out of memory");
		return;
	}
	ymd_t today = today_default(c);
	/* the past days of a calendar are not listed */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].source != HOLIDAY_CALENDAR || v[i].date >= today)
			v[k++] = v[i];
	cmd_text_add(&t, "%s", tr(c->loc, "Holidays (scheduled starts are skipped):\n"));
	for (size_t i = 0, j; i < k; i = j) {
		for (j = i + 1; j < k && v[j].date == v[i].date;)
			j++;
		list_date(c->loc, &t, &v[i], j - i);
		shown++;
	}
	free(v);
	list_calendars(c, &t);
	cmd_answer(c, shown || cfg->n_calendars ? cmd_text_str(&t) : tr(c->loc, "No holidays."),
		   false);
	cmd_text_free(&t);
}

const struct cmd_desc cmd_holiday_table[] = {
	{ .command = "holiday",
	  .sub = "add",
	  .level = CMD_ADMIN,
	  .prepare = prepare_add,
	  .run = run_add },
	{ .command = "holiday",
	  .sub = "remove",
	  .level = CMD_ADMIN,
	  .prepare = prepare_remove,
	  .run = run_remove },
	{ .command = "holiday", .sub = "list", .level = CMD_ANYONE, .run = run_list },
	{ .command = NULL },
};
