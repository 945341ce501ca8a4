/* The one door of every interaction: where it may come from, which command
 * it is, who may use it (checked before anything happens), the confirm
 * button of protected environments, autocomplete of environment names, and
 * the buttons (confirm, cancel, stop-warning snooze). Refusals are
 * ephemeral, say why, change nothing and are audited (reply.c, which the
 * families answer through too). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../bot/sched/sched.h"
#include "cmd_internal.h"

static const struct cmd_desc *const families[] = {
	cmd_env_table,  cmd_schedule_table, cmd_holiday_table,
	cmd_misc_table, cmd_report_table,   NULL,
};

static const struct cmd_desc *find_desc(const char *command, const char *sub)
{
	for (size_t f = 0; families[f]; f++)
		for (const struct cmd_desc *d = families[f]; d->command; d++)
			if (strcmp(d->command, command) == 0 &&
			    strcmp(d->sub ? d->sub : "", sub ? sub : "") == 0)
				return d;
	return NULL;
}

static cJSON *message(const char *text, bool ephemeral)
{
	return rest_msg_new(text, ephemeral ? REST_FLAG_EPHEMERAL : 0);
}

/* ---- autocomplete ---- */

static void autocomplete(struct cmd_ctx *c)
{
	const struct ix_option *f = ix_focused(c->ix);
	const char *names[25];
	size_t n = 0;
	if (f && strcmp(f->name, "name") == 0 && !cmd_check_place(c->deps->cfg, c->ix)) {
		size_t typed = strlen(f->value);
		for (size_t i = 0; i < c->deps->cfg->n_envs && n < 25; i++) {
			const char *name = c->deps->cfg->envs[i].name;
			if (strncasecmp(name, f->value, typed) == 0)
				names[n++] = name;
		}
	}
	ix_autocomplete(c->deps->rest, c->ix, names, n);
}

/* ---- slash commands ---- */

static void describe_action(struct cmd_ctx *c)
{
	size_t o = (size_t)snprintf(c->action, sizeof(c->action), "/%s", c->ix->command);
	if (c->ix->group[0] && o < sizeof(c->action))
		o += (size_t)snprintf(c->action + o, sizeof(c->action) - o, " %s", c->ix->group);
	if (c->ix->subcommand[0] && o < sizeof(c->action))
		o += (size_t)snprintf(c->action + o, sizeof(c->action) - o, " %s",
				      c->ix->subcommand);
	for (size_t i = 0; i < c->ix->n_options && o < sizeof(c->action); i++)
		o += (size_t)snprintf(c->action + o, sizeof(c->action) - o, " %s",
				      c->ix->options[i].value);
}

/* "dev, qa, ..." within len, whole names only: "... and 40 more" when they
 * do not all fit (a refusal is one short message). */
static void list_env_names(const char *loc, const struct cfg *cfg, char *buf, size_t len)
{
	char tail[96], more[80];
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_envs; i++) {
		size_t left = cfg->n_envs - i - 1;
		size_t need = strlen(cfg->envs[i].name) + (i ? 2 : 0);
		/* Keep room for the tail unless this is the last name. */
		size_t room = left ? sizeof(tail) : 0;
		if (o + need + room >= len) {
			snprintf(more, sizeof(more), tr(loc, "and %zu more"), cfg->n_envs - i);
			snprintf(tail, sizeof(tail), "%s… %s", i ? ", " : "", more);
			snprintf(buf + o, len - o, "%s", tail);
			return;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", cfg->envs[i].name);
	}
}

/* Resolves the "name" option. Returns false after refusing. */
static bool resolve_env(struct cmd_ctx *c, const struct cmd_desc *d)
{
	const char *name = ix_option(c->ix, "name");
	char why[CMD_LANGS][512], shown[96], known[300];
	if (!d->env_option || (!name && !d->env_required))
		return true;
	if (!name || !name[0]) {
		cmd_refuse(c, "name the environment");
		return false;
	}
	c->env = cfg_find_env(c->deps->cfg, name);
	if (!c->env) {
		cmd_escape(name, shown, sizeof(shown));
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			list_env_names(loc, c->deps->cfg, known, sizeof(known));
			snprintf(why[i], sizeof(why[i]),
				 tr(loc, "unknown environment \"%s\" (known: %s)"), shown, known);
		}
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return false;
	}
	return true;
}

static uint32_t nonce_of(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a of the interaction id: unique per prompt */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Discord button styles. */
enum { BUTTON_PRIMARY = 1, BUTTON_SECONDARY = 2, BUTTON_DANGER = 4 };

struct button {
	const char *label;
	const char *custom_id;
	int style;
};

/* A "components" array holding one action row of buttons; NULL on ENOMEM.
 * Strings are copied. */
static cJSON *button_row(const struct button *b, size_t n)
{
	cJSON *rows = cJSON_CreateArray(), *row = NULL, *btns = NULL;
	if (!rows || !(row = cJSON_CreateObject()))
		goto fail;
	cJSON_AddItemToArray(rows, row);
	if (!cJSON_AddNumberToObject(row, "type", 1) ||
	    !(btns = cJSON_AddArrayToObject(row, "components")))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_CreateObject();
		if (!j)
			goto fail;
		cJSON_AddItemToArray(btns, j);
		if (!cJSON_AddNumberToObject(j, "type", 2) ||
		    !cJSON_AddNumberToObject(j, "style", b[i].style) ||
		    !cJSON_AddStringToObject(j, "label", b[i].label) ||
		    !cJSON_AddStringToObject(j, "custom_id", b[i].custom_id))
			goto fail;
	}
	return rows;
fail:
	cJSON_Delete(rows);
	return NULL;
}

/* The [+1h] [+2h] row of a stop warning; NULL on failure. */
static cJSON *snooze_buttons(const char *loc, const char *env, time_t stop_at)
{
	char id1[CMD_CUSTOM_ID_MAX], id2[CMD_CUSTOM_ID_MAX];
	if (cmd_snooze_format(env, stop_at, 1, id1, sizeof(id1)) != 0 ||
	    cmd_snooze_format(env, stop_at, 2, id2, sizeof(id2)) != 0)
		return NULL;
	const struct button b[] = { { tr(loc, "+1h"), id1, BUTTON_PRIMARY },
				    { tr(loc, "+2h"), id2, BUTTON_PRIMARY } };
	return button_row(b, 2);
}

/* Asks the admin to press Confirm within 60 s (ephemeral prompt). */
static void ask_confirm(struct cmd_ctx *c, const struct cmd_desc *d, const char *arg)
{
	struct cmd_confirm cf = { .issued = (int64_t)c->now, .nonce = nonce_of(c->ix->id) };
	char yes[CMD_CUSTOM_ID_MAX], no[CMD_CUSTOM_ID_MAX], text[1024];
	snprintf(cf.verb, sizeof(cf.verb), "%s", d->sub);
	snprintf(cf.env, sizeof(cf.env), "%s", c->env->name);
	snprintf(cf.arg, sizeof(cf.arg), "%s", arg);
	snprintf(cf.user, sizeof(cf.user), "%s", c->ix->user_id);
	if (strlen(arg) >= sizeof(cf.arg) || cmd_confirm_format(&cf, yes, sizeof(yes)) != 0) {
		cmd_refuse(c, "this request is too long to confirm");
		return;
	}
	snprintf(no, sizeof(no), "cx|%s", c->ix->user_id);
	char typed[STATE_TEXT_MAX * 2];
	cmd_escape(c->action, typed, sizeof(typed));
	snprintf(text, sizeof(text),
		 tr(c->loc, "**%s** is protected. Press Confirm within %d s to run %s."),
		 c->env->name, CMD_CONFIRM_TTL_S, typed);
	const struct button b[] = { { tr(c->loc, "Confirm"), yes, BUTTON_DANGER },
				    { tr(c->loc, "Cancel"), no, BUTTON_SECONDARY } };
	cJSON *msg = rest_msg_new(text, REST_FLAG_EPHEMERAL);
	cJSON *rows = button_row(b, 2);
	if (!msg || !rows) {
		cJSON_Delete(msg);
		cJSON_Delete(rows);
		cmd_refuse(c, "out of memory");
		return;
	}
	cJSON_AddItemToObject(msg, "components", rows);
	ix_reply(c->deps->rest, c->ix, msg);
}

static void on_command(struct cmd_ctx *c)
{
	const char *place = cmd_check_place(c->deps->cfg, c->ix);
	char why[CMD_LANGS][512], arg[64] = "";
	if (place) {
		cmd_refuse(c, place);
		return;
	}
	const struct cmd_desc *d = find_desc(c->ix->command, c->ix->subcommand);
	if (!d) {
		cmd_refuse(c, "unknown command");
		return;
	}
	if (c->level < d->level) {
		/* The options may be long: keep the command name only. */
		char cmd[2 * IX_NAME_MAX + 2];
		snprintf(cmd, sizeof(cmd), "/%s%s%s", d->command, d->sub ? " " : "",
			 d->sub ? d->sub : "");
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			snprintf(why[i], sizeof(why[i]),
				 tr(loc, "%s needs %s (you are not in discord.roles.%s)"), cmd,
				 tr(loc, cmd_level_name(d->level)),
				 d->level == CMD_ADMIN ? "admin" : "operator");
		}
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (!resolve_env(c, d))
		return;
	bool protect = d->mutates && c->env && c->env->protected_env;
	if (protect && c->level < CMD_ADMIN) {
		cmd_refusef(c, "%s is protected: only an admin may do this", c->env->name);
		return;
	}
	if (d->prepare &&
	    d->prepare(c, c->loc, arg, sizeof(arg), why[CMD_SAID], sizeof(why[CMD_SAID])) != 0) {
		/* Asked again in English, for the audit. */
		if (d->prepare(c, NULL, arg, sizeof(arg), why[CMD_EN], sizeof(why[CMD_EN])) == 0)
			snprintf(why[CMD_EN], sizeof(why[CMD_EN]), "%s", why[CMD_SAID]);
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (protect) {
		ask_confirm(c, d, arg);
		return;
	}
	d->run(c, arg);
}

/* ---- buttons ---- */

static void on_confirm(struct cmd_ctx *c)
{
	struct cmd_confirm cf;
	if (cmd_confirm_parse(c->ix->custom_id, &cf) != 0) {
		cmd_refuse(c, "this button is not one of envbot's");
		return;
	}
	snprintf(c->action, sizeof(c->action), "confirm /%s %s %s%s%s",
		 strcmp(cf.verb, "pause") == 0 || strcmp(cf.verb, "resume") == 0 ? "schedule"
										 : "env",
		 cf.verb, cf.env, cf.arg[0] ? " " : "", cf.arg);
	const char *bad = cmd_confirm_check(&cf, c->ix->user_id, c->now);
	if (bad) {
		cmd_refuse(c, bad);
		return;
	}
	const struct cmd_desc *d = find_desc("env", cf.verb);
	if (!d || !d->mutates)
		d = find_desc("schedule", cf.verb);
	c->env = cfg_find_env(c->deps->cfg, cf.env);
	if (!d || !d->mutates || !c->env) {
		cmd_refuse(c, "this confirmation no longer matches the configuration");
		return;
	}
	/* Roles may have changed in the last minute: check them again. */
	if (c->level < CMD_ADMIN || c->level < d->level) {
		cmd_refusef(c, "%s is protected: only an admin may do this", c->env->name);
		return;
	}
	c->confirmed = true;
	d->run(c, cf.arg);
}

static void on_cancel(struct cmd_ctx *c)
{
	const char *user = c->ix->custom_id + 3;
	snprintf(c->action, sizeof(c->action), "cancel confirmation");
	if (strcmp(user, c->ix->user_id) != 0) {
		cmd_refuse(c, "only the person who asked can cancel this");
		return;
	}
	cmd_answer(c, tr(c->loc, "Cancelled: nothing was done."), false);
}

/* Stop-warning snooze: "keep it up until the warned stop + N h" for
 * whoever clicks (cmd_snooze_compute). A click that changes nothing (a
 * double click, the same button pressed by two people, +1h after +2h) gets
 * an ephemeral answer and leaves the warning as it is. */
/* A snooze of a lease's stop warning: the lease ends at warned + hours
 * (never earlier than it does now; capped like /env extend of a lease). */
static void snooze_lease(struct cmd_ctx *c, const struct tz *tz, time_t warned, int hours)
{
	const struct state_lease ls = *state_lease_of(c->deps->state, c->env->name);
	char was[64], until[64], why[CMD_LANGS][512], who[STATE_WHO_MAX * 2],
		text[REST_CONTENT_MAX];
	time_t target = warned + (time_t)hours * 3600, t = 0;
	if (target <= ls.until) {
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			cmd_fmt_local_in(loc, tz, warned, was, sizeof(was));
			cmd_fmt_local_in(loc, tz, ls.until, until, sizeof(until));
			snprintf(why[i], sizeof(why[i]),
				 tr(loc, "%s is already up until %s: +%dh from the warned stop "
					 "(%s) changes nothing."),
				 c->env->name, until, hours, was);
		}
		cmd_noop_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	struct cmd_lease_arg la = { .at = true, .until_at = target };
	if (cmd_lease_extend(c->loc, &la, tz, c->now, ls.until, c->deps->cfg->max_extend,
			     c->level >= CMD_ADMIN, &t, why[CMD_SAID],
			     sizeof(why[CMD_SAID])) != 0) {
		cmd_lease_extend(NULL, &la, tz, c->now, ls.until, c->deps->cfg->max_extend,
				 c->level >= CMD_ADMIN, &t, why[CMD_EN], sizeof(why[CMD_EN]));
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (state_lease_set(c->deps->state, c->env->name, ACTION_START, t, ls.who, ls.set_at,
			    why[CMD_EN], sizeof(why[CMD_EN])) != BOT_OK) {
		cmd_refuse(c, why[CMD_EN]);
		return;
	}
	cmd_who(c, who, sizeof(who));
	cmd_audit(c, "ok: lease lengthened");
	/* The event out in English, like the audit. */
	cmd_fmt_local(tz, t, until, sizeof(until));
	snprintf(text, sizeof(text), "%s: lease extended to %s by %s (+%dh)", c->env->name, until,
		 who, hours);
	cmd_emit_override(c, text);
	bool saved = saver_save_now(c->deps->saver) == BOT_OK;
	cmd_fmt_local_in(c->loc, tz, warned, was, sizeof(was));
	cmd_fmt_local_in(c->loc, tz, t, until, sizeof(until));
	snprintf(text, sizeof(text),
		 tr(c->loc, "⏰ **%s** was to stop at %s (end of its lease).\n%s Lease "
			    "extended to %s by %s (+%dh).%s"),
		 c->env->name, was, saved ? "✅" : "⚠", until, who, hours,
		 saved ? ""
		       : tr(c->loc, " But it could NOT be saved: it holds only until envbot "
				    "restarts."));
	cJSON *msg = rest_msg_new(text, 0);
	if (msg)
		cJSON_AddItemToObject(msg, "components",
				      snooze_buttons(c->loc, c->env->name, warned));
	ix_component_update(c->deps->rest, c->ix, msg);
}

static void on_snooze(struct cmd_ctx *c)
{
	char name[STATE_NAME_MAX], why[CMD_LANGS][768], who[STATE_WHO_MAX * 2];
	struct cmd_snooze_plan sp;
	time_t stop_at;
	int hours;
	if (cmd_snooze_parse(c->ix->custom_id, name, sizeof(name), &stop_at, &hours) != 0) {
		snprintf(c->action, sizeof(c->action), "stop-warning button");
		cmd_refuse(c, "this button is not one of envbot's");
		return;
	}
	snprintf(c->action, sizeof(c->action), "stop-warning +%dh %s", hours, name);
	c->env = cfg_find_env(c->deps->cfg, name);
	if (!c->env) {
		cmd_refuse(c, "this environment is no longer configured");
		return;
	}
	enum cmd_level need = c->env->protected_env ? CMD_ADMIN : CMD_OPERATOR;
	if (c->level < need) {
		for (int i = 0; i < CMD_LANGS; i++)
			snprintf(why[i], sizeof(why[i]),
				 tr(cmd_lang(c, i), "extending %s needs %s"), c->env->name,
				 tr(cmd_lang(c, i), cmd_level_name(need)));
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	const struct tz *tz = cfg_env_tz(c->deps->cfg, c->env);
	char was[64], until[64], target[64], note[512], text[REST_CONTENT_MAX];
	const struct state_lease *ls = state_lease_of(c->deps->state, c->env->name);
	if (ls && ls->action == ACTION_START && ls->until && stop_at >= ls->set_at &&
	    stop_at <= ls->until) {
		snooze_lease(c, tz, stop_at, hours);
		return;
	}
	if (cmd_snooze_compute(c->loc, c->env, tz, c->deps->state, stop_at, hours, c->now,
			       c->deps->cfg->max_extend, c->level >= CMD_ADMIN, &sp, why[CMD_SAID],
			       sizeof(why[CMD_SAID])) != 0) {
		cmd_snooze_compute(NULL, c->env, tz, c->deps->state, stop_at, hours, c->now,
				   c->deps->cfg->max_extend, c->level >= CMD_ADMIN, &sp,
				   why[CMD_EN], sizeof(why[CMD_EN]));
		cmd_refuse_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (!sp.change) {
		for (int i = 0; i < CMD_LANGS; i++) {
			const char *loc = cmd_lang(c, i);
			char by[STATE_WHO_MAX * 2 + 64] = "";
			cmd_fmt_local_in(loc, tz, stop_at, was, sizeof(was));
			cmd_fmt_local_in(loc, tz, sp.effective, until, sizeof(until));
			cmd_fmt_local_in(loc, tz, sp.target, target, sizeof(target));
			if (sp.ext && sp.ext->who[0]) {
				cmd_escape(sp.ext->who, who, sizeof(who));
				snprintf(by, sizeof(by), tr(loc, " (extended by %s)"), who);
			}
			snprintf(why[i], sizeof(why[i]),
				 tr(loc, "%s is already up until %s%s: +%dh from the warned stop "
					 "(%s) means until %s, so nothing changed."),
				 c->env->name, until, by, hours, was, target);
		}
		cmd_noop_said(c, why[CMD_EN], why[CMD_SAID]);
		return;
	}
	if (state_extend_set(c->deps->state, c->env->name, sp.date, sp.new_stop, c->ix->user_name,
			     c->now, why[CMD_EN], sizeof(why[CMD_EN])) != BOT_OK) {
		cmd_refuse(c, why[CMD_EN]);
		return;
	}
	cmd_who(c, who, sizeof(who));
	cmd_audit(c, "ok");
	bool saved = saver_save_now(c->deps->saver) == BOT_OK;
	cmd_fmt_local_in(c->loc, tz, stop_at, was, sizeof(was));
	cmd_fmt_local_in(c->loc, tz, sp.new_stop, until, sizeof(until));
	cmd_conflict_note(c->loc, c->deps->state, c->env->name, "extend", sp.date,
			  c->deps->cfg->holidays, c->deps->cfg->n_holidays, note, sizeof(note));
	snprintf(text, sizeof(text),
		 tr(c->loc, "⏰ **%s** was to stop at %s.\n%s Extended to %s by %s "
			    "(+%dh).%s"),
		 c->env->name, was, saved ? "✅" : "⚠", until, who, hours,
		 saved ? note
		       : tr(c->loc, " But it could NOT be saved: it holds only until envbot "
				    "restarts."));
	/* Update the warning in place, buttons kept (same warned stop): a
	 * longer snooze is still one click away, a repeated one is a no-op.
	 * It answers the click: in the clicker's language, like every reply. */
	cJSON *msg = rest_msg_new(text, 0);
	if (msg)
		cJSON_AddItemToObject(msg, "components",
				      snooze_buttons(c->loc, c->env->name, stop_at));
	ix_component_update(c->deps->rest, c->ix, msg);
}

static void on_component(struct cmd_ctx *c)
{
	const char *id = c->ix->custom_id ? c->ix->custom_id : "";
	const char *place = cmd_check_place(c->deps->cfg, c->ix);
	if (place) {
		snprintf(c->action, sizeof(c->action), "button");
		cmd_refuse(c, place);
		return;
	}
	if (strncmp(id, "cf|", 3) == 0)
		on_confirm(c);
	else if (strncmp(id, "cx|", 3) == 0)
		on_cancel(c);
	else if (strncmp(id, "sw|", 3) == 0)
		on_snooze(c);
	else {
		snprintf(c->action, sizeof(c->action), "button");
		cmd_refuse(c, "this button is not one of envbot's");
	}
}

void cmd_dispatch(const struct cmd_deps *deps, struct ix *ix)
{
	struct cmd_ctx c = {
		.deps = deps,
		.ix = ix,
		.now = time(NULL),
	};
	if (!ix)
		return;
	c.loc = i18n_locale_of(ix->locale);
	c.level = cmd_member_level(deps->cfg, ix);
	switch (ix->type) {
	case IX_AUTOCOMPLETE: autocomplete(&c); break;
	case IX_COMMAND:
		describe_action(&c);
		if (!deps->state) {
			ix_reply(deps->rest, ix,
				 message(tr(c.loc, "✘ envbot's state is not loaded; try "
						   "again later"),
					 true));
			break;
		}
		on_command(&c);
		break;
	case IX_COMPONENT:
		if (!deps->state) {
			ix_reply(deps->rest, ix,
				 message(tr(c.loc, "✘ envbot's state is not loaded; try "
						   "again later"),
					 true));
			break;
		}
		on_component(&c);
		break;
	default: break;
	}
	ix_free(c.ix);
	sched_destroy(c.own_sched);
}

/* ---- the stop warning ---- */

enum bot_rc cmd_post_stop_warning(const struct cmd_deps *deps, const struct cfg_env *env,
				  time_t stop_at)
{
	char text[768], when[64];
	/* Nobody asked: the channel's language. */
	const char *loc = deps->cfg->locale;
	const struct tz *tz = cfg_env_tz(deps->cfg, env);
	cmd_fmt_local_in(loc, tz, stop_at, when, sizeof(when));
	long mins = (long)((stop_at - time(NULL) + 59) / 60);
	snprintf(text, sizeof(text),
		 tr(loc, "⏰ **%s** stops at %s (in %ld min). Need it longer? %s can "
			 "snooze the stop:"),
		 env->name, when, mins < 0 ? 0 : mins,
		 env->protected_env ? tr(loc, "An admin") : tr(loc, "An operator"));
	cJSON *msg = rest_msg_new(text, 0);
	cJSON *rows = msg ? snooze_buttons(loc, env->name, stop_at) : NULL;
	if (!rows) {
		cJSON_Delete(msg);
		return BOT_ENOMEM;
	}
	cJSON_AddItemToObject(msg, "components", rows);
	return rest_create_message(deps->rest, deps->cfg->channel_id, msg, NULL, NULL);
}
