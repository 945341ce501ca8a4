/* /holiday add|remove|list: dated exceptions shared by every schedule. Chat
 * holidays live in the state file next to the config's `holidays`; the
 * config's list is read-only from chat (edit the file for those). Days are
 * judged in the top-level time zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int prepare_add(struct cmd_ctx *c, char *arg, size_t len, char *err, size_t errlen)
{
	ymd_t d;
	char ds[16];
	if (cmd_parse_day(ix_option(c->ix, "date"), today_default(c), &d, err, errlen) != 0)
		return -1;
	when_format_date(d, ds, sizeof(ds));
	if (in_config(c->deps->cfg, d)) {
		snprintf(err, errlen, "%s is already a holiday (in the config file)", ds);
		return -1;
	}
	if (state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen, "%s is already a holiday", ds);
		return -1;
	}
	snprintf(arg, len, "%s", ds);
	return 0;
}

static void run_add(struct cmd_ctx *c, const char *arg)
{
	ymd_t d;
	const char *label = ix_option(c->ix, "label");
	char err[512], shown[STATE_TEXT_MAX * 2] = "", who[STATE_WHO_MAX * 2], text[1024],
					      note[512];
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
	cmd_conflict_note(c->deps->state, NULL, "holiday", d, NULL, 0, note, sizeof(note));
	snprintf(text, sizeof(text),
		 "\xF0\x9F\x8F\x96 Holiday %s%s%s%s added by %s: scheduled starts that day are "
		 "skipped for every environment (stops still run).",
		 arg, shown[0] ? " (" : "", shown, shown[0] ? ")" : "", who);
	cmd_commit(c, text, note);
}

static int prepare_remove(struct cmd_ctx *c, char *arg, size_t len, char *err, size_t errlen)
{
	ymd_t d;
	char t[40], ds[16], shown[96];
	const char *v = ix_option(c->ix, "date");
	/* Past holidays may be removed too: any day expression, no "not in the
	 * past" rule. */
	snprintf(t, sizeof(t), "%s", v ? v : "");
	if (!v || strlen(v) >= sizeof(t) || when_parse_day(t, today_default(c), &d) != 0) {
		cmd_escape(v ? v : "", shown, sizeof(shown));
		snprintf(err, errlen, "\"%s\" is not a day: use YYYY-MM-DD", shown);
		return -1;
	}
	when_format_date(d, ds, sizeof(ds));
	if (in_config(c->deps->cfg, d) && !state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen,
			 "%s is a holiday of the config file: remove it from `holidays` there", ds);
		return -1;
	}
	if (!state_holiday_find(c->deps->state, d)) {
		snprintf(err, errlen, "%s is not a holiday", ds);
		return -1;
	}
	snprintf(arg, len, "%s", ds);
	return 0;
}

static void run_remove(struct cmd_ctx *c, const char *arg)
{
	ymd_t d;
	char who[STATE_WHO_MAX * 2], text[512];
	if (when_parse_date(arg, &d) != 0 || !state_holiday_remove(c->deps->state, d)) {
		cmd_refuse(c, "not a holiday");
		return;
	}
	cmd_who(c, who, sizeof(who));
	snprintf(text, sizeof(text),
		 "Holiday %s removed by %s: the schedules run as usual that day.", arg, who);
	cmd_commit(c, text, NULL);
}

struct listed {
	ymd_t date;
	const struct state_holiday *chat; /* NULL: from the config file */
};

static int by_date(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	return (x->date > y->date) - (x->date < y->date);
}

static void run_list(struct cmd_ctx *c, const char *arg)
{
	const struct cfg *cfg = c->deps->cfg;
	char ds[16], label[STATE_TEXT_MAX * 2], who[STATE_WHO_MAX * 2];
	size_t nc = cfg->n_holidays, ns = state_holiday_count(c->deps->state), n = 0;
	struct cmd_text t = { 0 };
	(void)arg;
	struct listed *all = calloc(nc + ns + 1, sizeof(*all));
	if (!all) {
		cmd_refuse(c, "out of memory");
		return;
	}
	for (size_t i = 0; i < ns; i++) {
		const struct state_holiday *h = state_holiday_at(c->deps->state, i);
		all[n++] = (struct listed){ .date = h->date, .chat = h };
	}
	for (size_t i = 0; i < nc; i++)
		if (!state_holiday_find(c->deps->state, cfg->holidays[i]))
			all[n++] = (struct listed){ .date = cfg->holidays[i] };
	qsort(all, n, sizeof(*all), by_date);
	cmd_text_add(&t, "Holidays (scheduled starts are skipped):\n");
	for (size_t i = 0; i < n; i++) {
		when_format_date(all[i].date, ds, sizeof(ds));
		if (!all[i].chat) {
			cmd_text_add(&t, "- %s (config file)\n", ds);
			continue;
		}
		cmd_escape(all[i].chat->label, label, sizeof(label));
		cmd_escape(all[i].chat->who, who, sizeof(who));
		cmd_text_add(&t, "- %s%s%s (added by %s)\n", ds, label[0] ? " " : "", label, who);
	}
	free(all);
	cmd_answer(c, n ? cmd_text_str(&t) : "No holidays.", false);
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
