/* The pure parts of the slash commands: who holds which level, where an
 * interaction may come from, parsing and validating what users type
 * (durations, "until 22:00", days), the extend computation, the custom ids
 * of buttons and the conflict notes of replies. No I/O and no clock: callers
 * pass `now`, so the unit tests drive every case. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../bot/i18n/i18n.h"
#include "../bot/sched/plan.h"
#include "commands.h"

/* ix_has_role's rule, kept here so that this file links without the
 * Discord client (the unit test uses only the pure parts). */
static bool holds_any(const struct ix *ix, char *const *roles, size_t n_roles)
{
	for (size_t i = 0; i < ix->n_roles; i++)
		for (size_t j = 0; j < n_roles; j++)
			if (ix->roles[i] && roles[j] && strcmp(ix->roles[i], roles[j]) == 0)
				return true;
	return false;
}

enum cmd_level cmd_member_level(const struct cfg *cfg, const struct ix *ix)
{
	if (holds_any(ix, cfg->admin_roles, cfg->n_admin_roles))
		return CMD_ADMIN;
	if (holds_any(ix, cfg->operator_roles, cfg->n_operator_roles))
		return CMD_OPERATOR;
	return CMD_ANYONE;
}

const char *cmd_verb(const char *loc, enum action a)
{
	return a == ACTION_START ? tr(loc, "start") : tr(loc, "stop");
}

const char *cmd_level_name(enum cmd_level level)
{
	switch (level) {
	case CMD_ADMIN: return N_("an admin");
	case CMD_OPERATOR: return N_("an operator");
	default: return N_("anyone");
	}
}

const char *cmd_check_place(const struct cfg *cfg, const struct ix *ix)
{
	if (!ix->guild_id[0])
		return N_("envbot only answers in its server, not in direct messages");
	if (cfg->guild_id && cfg->guild_id[0] && strcmp(cfg->guild_id, ix->guild_id) != 0)
		return N_("envbot does not serve this server");
	return NULL;
}

/* Backs n up to the start of a UTF-8 sequence so truncation never splits a
 * character. */
static size_t utf8_floor(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void cmd_escape(const char *in, char *out, size_t len)
{
	static const char ellipsis[] = "…";
	static const char zwsp[] = "​"; /* after '@': no mention */
	size_t o = 0;
	if (len == 0)
		return;
	out[0] = '\0';
	if (!in)
		return;
	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char piece[8];
		size_t n;
		if (c < 0x20 || c == 0x7F) {
			piece[0] = ' ';
			n = 1;
		} else if (c == '@') {
			piece[0] = '@';
			memcpy(piece + 1, zwsp, 3);
			n = 4;
		} else if (strchr("\\`*_~|><#[]()", c)) {
			piece[0] = '\\';
			piece[1] = (char)c;
			n = 2;
		} else {
			piece[0] = (char)c;
			n = 1;
		}
		/* Room for the piece plus a possible ellipsis and the NUL. */
		if (o + n + sizeof(ellipsis) > len) {
			o = utf8_floor(out, o);
			if (o + sizeof(ellipsis) <= len) {
				memcpy(out + o, ellipsis, sizeof(ellipsis));
			} else {
				out[o] = '\0';
			}
			return;
		}
		memcpy(out + o, piece, n);
		o += n;
		out[o] = '\0';
	}
}

/* Copies s without surrounding spaces into buf (truncated). */
static void trim_copy(const char *s, char *buf, size_t len)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	snprintf(buf, len, "%s", s);
	size_t n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
}

int cmd_extend_parse(const char *loc, const char *text, struct cmd_extend_arg *out, char *err,
		     size_t errlen)
{
	char t[64], shown[96];
	*out = (struct cmd_extend_arg){ 0 };
	cmd_escape(text ? text : "", shown, sizeof(shown));
	if (!text || strlen(text) >= sizeof(t))
		goto bad;
	trim_copy(text, t, sizeof(t));
	if (strncasecmp(t, "until", 5) == 0 && (t[5] == ' ' || t[5] == '\0')) {
		char hhmm[16];
		trim_copy(t + 5, hhmm, sizeof(hhmm));
		if (when_parse_hhmm(hhmm, &out->minutes) != 0) {
			snprintf(err, errlen,
				 tr(loc, "\"%s\" is not a time of day: write until HH:MM, e.g. "
					 "until 22:00"),
				 shown);
			return -1;
		}
		out->until = true;
		return 0;
	}
	if (t[0] == '@') {
		char *end;
		long long v = strtoll(t + 1, &end, 10);
		if (t[1] == '\0' || *end || v <= 0)
			goto bad;
		out->at = true;
		out->stop_at = (time_t)v;
		return 0;
	}
	const char *d = t[0] == '+' ? t + 1 : t;
	if (when_parse_duration(d, &out->seconds) != 0)
		goto bad;
	if (out->seconds <= 0) {
		snprintf(err, errlen, "%s", tr(loc, "the extension must be longer than 0"));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 tr(loc, "\"%s\" is not a duration: write 30m, 2h, 1h30m or until 22:00"), shown);
	return -1;
}

void cmd_extend_format(const struct cmd_extend_arg *a, char *buf, size_t len)
{
	if (a->until) {
		snprintf(buf, len, "until %02d:%02d", a->minutes / 60, a->minutes % 60);
		return;
	}
	if (a->at) {
		snprintf(buf, len, "@%lld", (long long)a->stop_at);
		return;
	}
	when_format_duration(a->seconds, buf, len);
}

/* ---- leases ---- */

int cmd_lease_parse(const char *loc, const char *text, struct cmd_lease_arg *out, char *err,
		    size_t errlen)
{
	char t[64], shown[96];
	*out = (struct cmd_lease_arg){ 0 };
	cmd_escape(text ? text : "", shown, sizeof(shown));
	if (!text || strlen(text) >= sizeof(t))
		goto bad;
	trim_copy(text, t, sizeof(t));
	if (strncasecmp(t, "until", 5) == 0 && (t[5] == ' ' || t[5] == '\0')) {
		char rest[48];
		const char *hhmm = rest;
		trim_copy(t + 5, rest, sizeof(rest));
		if (strncasecmp(rest, "tomorrow", 8) == 0 && (rest[8] == ' ' || rest[8] == '\0')) {
			out->tomorrow = true;
			hhmm = rest + 8;
			while (*hhmm == ' ')
				hhmm++;
		}
		if (when_parse_hhmm(hhmm, &out->minutes) != 0) {
			snprintf(err, errlen,
				 tr(loc, "\"%s\" is not a time of day: write until HH:MM or until "
					 "tomorrow HH:MM, e.g. until 22:00"),
				 shown);
			return -1;
		}
		out->until = true;
		return 0;
	}
	if (t[0] == '@') {
		char *end;
		long long v = strtoll(t + 1, &end, 10);
		if (t[1] == '\0' || *end || v <= 0)
			goto bad;
		out->at = true;
		out->until_at = (time_t)v;
		return 0;
	}
	const char *d = t[0] == '+' ? t + 1 : t;
	if (when_parse_duration(d, &out->seconds) != 0)
		goto bad;
	if (out->seconds <= 0) {
		snprintf(err, errlen, "%s", tr(loc, "the lease must be longer than 0"));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 tr(loc, "\"%s\" is not a lease: write 2h, 90m, until 22:00 or until tomorrow "
			 "09:00"),
		 shown);
	return -1;
}

/* The instant a lease's until/@ form names, from now. */
static time_t lease_instant(const struct cmd_lease_arg *a, const struct tz *tz, time_t now)
{
	if (a->at)
		return a->until_at;
	if (!a->until)
		return now + (time_t)a->seconds;
	struct tm tm;
	tz_local(tz, now, &tm);
	ymd_t today = (ymd_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
	ymd_t day = a->tomorrow ? when_add_days(today, 1) : today;
	return tz_resolve(tz, when_days_from_civil(day) * 86400 + (int64_t)a->minutes * 60);
}

static int lease_cap(const char *loc, time_t t, const struct tz *tz, time_t now, int64_t max_extend,
		     bool admin, char *err, size_t errlen)
{
	char cap[16], when[64];
	if (!admin && (int64_t)(t - now) > max_extend) {
		when_format_duration(max_extend, cap, sizeof(cap));
		cmd_fmt_local_in(loc, tz, t, when, sizeof(when));
		snprintf(err, errlen,
			 tr(loc, "a lease until %s is longer than max_extend (%s from now); an "
				 "admin may give more"),
			 when, cap);
		return -1;
	}
	return 0;
}

int cmd_lease_compute(const char *loc, const struct cmd_lease_arg *a, const struct tz *tz,
		      time_t now, int64_t max_extend, bool admin, time_t *until, char *err,
		      size_t errlen)
{
	char when[64];
	time_t t = lease_instant(a, tz, now);
	if (t <= now) {
		cmd_fmt_local_in(loc, tz, t, when, sizeof(when));
		if (a->until && !a->tomorrow)
			snprintf(err, errlen,
				 tr(loc, "%s has already passed: write until tomorrow %02d:%02d "
					 "for tomorrow's"),
				 when, a->minutes / 60, a->minutes % 60);
		else
			snprintf(err, errlen, tr(loc, "%s has already passed"), when);
		return -1;
	}
	if (lease_cap(loc, t, tz, now, max_extend, admin, err, errlen) != 0)
		return -1;
	*until = t;
	return 0;
}

int cmd_lease_extend(const char *loc, const struct cmd_lease_arg *a, const struct tz *tz,
		     time_t now, time_t current, int64_t max_extend, bool admin, time_t *until,
		     char *err, size_t errlen)
{
	char when[64], cur[64];
	time_t t = a->until || a->at ? lease_instant(a, tz, now) : current + (time_t)a->seconds;
	if (a->until && !a->tomorrow && t <= now) {
		struct cmd_lease_arg b = *a; /* past midnight: tomorrow's */
		b.tomorrow = true;
		t = lease_instant(&b, tz, now);
	}
	if (t <= current || t <= now) {
		cmd_fmt_local_in(loc, tz, t, when, sizeof(when));
		cmd_fmt_local_in(loc, tz, current, cur, sizeof(cur));
		snprintf(err, errlen, tr(loc, "%s is not after the lease's end (%s)"), when, cur);
		return -1;
	}
	if (lease_cap(loc, t, tz, now, max_extend, admin, err, errlen) != 0)
		return -1;
	*until = t;
	return 0;
}

/* "18:00 KST" (or "18:00 KST on 2026-11-24" when not on `date`). */
static void fmt_local_time(const char *loc, const struct tz *tz, time_t t, ymd_t date, char *buf,
			   size_t len)
{
	struct tm tm;
	tz_local(tz, t, &tm);
	ymd_t d = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	if (d == date || date == 0) {
		snprintf(buf, len, "%02d:%02d %s", tm.tm_hour, tm.tm_min,
			 tm.tm_zone ? tm.tm_zone : "");
	} else {
		char ds[16];
		when_format_date(d, ds, sizeof(ds));
		snprintf(buf, len, tr(loc, "%02d:%02d %s on %s"), tm.tm_hour, tm.tm_min,
			 tm.tm_zone ? tm.tm_zone : "", ds);
	}
}

int cmd_stop_today(const char *loc, const struct cfg_env *env, const struct tz *tz,
		   const struct state *st, time_t now, time_t *scheduled, time_t *effective,
		   ymd_t *date, char *err, size_t errlen)
{
	if (!env->schedule.stop_expr) {
		snprintf(err, errlen, tr(loc, "%s has no scheduled stop to postpone"), env->name);
		return -1;
	}
	ymd_t today = plan_local_date(tz, now);
	time_t after = plan_local_midnight(tz, today) - 1, at;
	bool any = false;
	/* A day has at most 1440 fire times; stop there whatever happens. */
	for (int i = 0; i < 1440; i++) {
		if (cron_next(&env->schedule.stop, tz, after, &at) != 0 ||
		    plan_local_date(tz, at) != today)
			break;
		any = true;
		const struct state_extend *ext = st ? state_extend_for(st, env->name, today) : NULL;
		time_t eff = ext && ext->stop_at > at ? ext->stop_at : at;
		if (eff > now) {
			*scheduled = at;
			*effective = eff;
			*date = today;
			return 0;
		}
		after = at;
	}
	if (any)
		snprintf(err, errlen, tr(loc, "%s's scheduled stop today has already happened"),
			 env->name);
	else
		snprintf(err, errlen, tr(loc, "%s has no scheduled stop today"), env->name);
	return -1;
}

int cmd_extend_compute(const char *loc, const struct cmd_extend_arg *a, const struct tz *tz,
		       ymd_t date, time_t now, time_t scheduled, time_t effective,
		       int64_t max_extend, bool admin, time_t *new_stop, char *err, size_t errlen)
{
	char sched_s[64], new_s[64], dur[16], cap[16];
	time_t t;
	fmt_local_time(loc, tz, scheduled, date, sched_s, sizeof(sched_s));
	if (a->until || a->at) {
		int64_t wall = when_days_from_civil(date) * 86400 + (int64_t)a->minutes * 60;
		t = a->at ? a->stop_at : tz_resolve(tz, wall);
		if (t <= scheduled) {
			fmt_local_time(loc, tz, t, date, new_s, sizeof(new_s));
			snprintf(err, errlen,
				 tr(loc, "%s is not after today's scheduled stop (%s)"), new_s,
				 sched_s);
			return -1;
		}
	} else {
		if (a->seconds <= 0) {
			snprintf(err, errlen, "%s", tr(loc, "the extension must be longer than 0"));
			return -1;
		}
		t = effective + (time_t)a->seconds;
	}
	fmt_local_time(loc, tz, t, date, new_s, sizeof(new_s));
	if (t <= now) {
		snprintf(err, errlen, tr(loc, "%s has already passed"), new_s);
		return -1;
	}
	if (!admin && max_extend >= 0 && (int64_t)(t - scheduled) > max_extend) {
		when_format_duration((int64_t)(t - scheduled), dur, sizeof(dur));
		when_format_duration(max_extend, cap, sizeof(cap));
		snprintf(err, errlen,
			 tr(loc, "%s would be %s after the scheduled stop (%s); operators may "
				 "extend by at most %s (max_extend), beyond needs an admin"),
			 new_s, dur, sched_s, cap);
		return -1;
	}
	*new_stop = t;
	return 0;
}

/* What a day may be written as (English words: when_parse_day reads them). */
static const char *day_help(const char *loc)
{
	return tr(loc, "use today, tomorrow, a weekday (friday) or YYYY-MM-DD");
}

int cmd_parse_day(const char *loc, const char *text, ymd_t today, ymd_t *out, char *err,
		  size_t errlen)
{
	char t[40], shown[96];
	cmd_escape(text ? text : "", shown, sizeof(shown));
	if (!text || strlen(text) >= sizeof(t))
		goto bad;
	trim_copy(text, t, sizeof(t));
	if (when_parse_day(t, today, out) != 0)
		goto bad;
	if (*out < today) {
		char ds[16];
		when_format_date(*out, ds, sizeof(ds));
		snprintf(err, errlen, tr(loc, "%s is in the past"), ds);
		return -1;
	}
	if (when_days_from_civil(*out) - when_days_from_civil(today) > 366) {
		snprintf(err, errlen, "%s", tr(loc, "that is more than a year ahead"));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, tr(loc, "\"%s\" is not a day: %s"), shown, day_help(loc));
	return -1;
}

int cmd_parse_until(const char *loc, const char *text, ymd_t today, time_t now, ymd_t *until_date,
		    time_t *until_at, char *err, size_t errlen)
{
	char t[40], shown[96];
	int64_t secs;
	*until_date = 0;
	*until_at = 0;
	cmd_escape(text ? text : "", shown, sizeof(shown));
	if (!text || strlen(text) >= sizeof(t))
		goto bad;
	trim_copy(text, t, sizeof(t));
	if (strncasecmp(t, "until ", 6) == 0)
		memmove(t, t + 6, strlen(t + 6) + 1);
	if (when_parse_day(t, today, until_date) == 0) {
		if (*until_date <= today) {
			snprintf(err, errlen, "%s",
				 tr(loc, "a pause must last until a later day than today (it ends "
					 "at the start of that day)"));
			*until_date = 0;
			return -1;
		}
		if (when_days_from_civil(*until_date) - when_days_from_civil(today) > 366) {
			snprintf(err, errlen, "%s", tr(loc, "that is more than a year ahead"));
			*until_date = 0;
			return -1;
		}
		return 0;
	}
	*until_date = 0;
	if (when_parse_duration(t, &secs) == 0 && secs > 0) {
		*until_at = now + (time_t)secs;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 tr(loc, "\"%s\" is not a day or a duration: %s, or a duration like 3h"), shown,
		 day_help(loc));
	return -1;
}

/* ---- custom ids ---- */

static bool has_bar(const char *s)
{
	return strchr(s, '|') != NULL;
}

int cmd_confirm_format(const struct cmd_confirm *c, char *buf, size_t len)
{
	if (has_bar(c->verb) || has_bar(c->env) || has_bar(c->arg) || has_bar(c->user))
		return -1;
	int n = snprintf(buf, len, "cf|%s|%s|%s|%s|%" PRId64 "|%08" PRIx32, c->verb, c->env, c->arg,
			 c->user, c->issued, c->nonce);
	if (n < 0 || (size_t)n >= len || n > CMD_CUSTOM_ID_MAX - 1)
		return -1;
	return 0;
}

/* Splits s (modified) at '|' into at most max fields; returns the count. */
static size_t split_bars(char *s, char **fields, size_t max)
{
	size_t n = 0;
	fields[n++] = s;
	for (char *p = s; *p && n < max + 1; p++) {
		if (*p == '|') {
			*p = '\0';
			if (n == max)
				return max + 1; /* too many */
			fields[n++] = p + 1;
		}
	}
	return n;
}

static int copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int cmd_confirm_parse(const char *custom_id, struct cmd_confirm *out)
{
	char buf[CMD_CUSTOM_ID_MAX], *f[8], *end;
	*out = (struct cmd_confirm){ 0 };
	if (!custom_id || strlen(custom_id) >= sizeof(buf))
		return -1;
	memcpy(buf, custom_id, strlen(custom_id) + 1);
	if (split_bars(buf, f, 7) != 7 || strcmp(f[0], "cf") != 0)
		return -1;
	if (copy_field(out->verb, sizeof(out->verb), f[1]) ||
	    copy_field(out->env, sizeof(out->env), f[2]) ||
	    copy_field(out->arg, sizeof(out->arg), f[3]) ||
	    copy_field(out->user, sizeof(out->user), f[4]))
		return -1;
	out->issued = strtoll(f[5], &end, 10);
	if (!f[5][0] || *end)
		return -1;
	unsigned long nonce = strtoul(f[6], &end, 16);
	if (!f[6][0] || *end || nonce > UINT32_MAX)
		return -1;
	out->nonce = (uint32_t)nonce;
	return out->verb[0] && out->env[0] && out->user[0] ? 0 : -1;
}

const char *cmd_confirm_check(const struct cmd_confirm *c, const char *clicker, time_t now)
{
	if (strcmp(c->user, clicker) != 0)
		return N_("only the person who asked can confirm this");
	/* A little slack backwards for clock steps; none forwards. */
	if ((int64_t)now - c->issued > CMD_CONFIRM_TTL_S || (int64_t)now < c->issued - 5)
		return N_("this confirmation has expired (60 s); run the command again");
	return NULL;
}

int cmd_snooze_format(const char *env, time_t stop_at, int hours, char *buf, size_t len)
{
	if (has_bar(env))
		return -1;
	int n = snprintf(buf, len, "sw|%s|%lld|%d", env, (long long)stop_at, hours);
	return n < 0 || (size_t)n >= len || n > CMD_CUSTOM_ID_MAX - 1 ? -1 : 0;
}

int cmd_snooze_parse(const char *custom_id, char *env, size_t envlen, time_t *stop_at, int *hours)
{
	char buf[CMD_CUSTOM_ID_MAX], *f[5], *end;
	if (!custom_id || strlen(custom_id) >= sizeof(buf))
		return -1;
	memcpy(buf, custom_id, strlen(custom_id) + 1);
	if (split_bars(buf, f, 4) != 4 || strcmp(f[0], "sw") != 0 || !f[1][0] ||
	    copy_field(env, envlen, f[1]))
		return -1;
	long long at = strtoll(f[2], &end, 10);
	if (!f[2][0] || *end || at <= 0)
		return -1;
	long h = strtol(f[3], &end, 10);
	if (!f[3][0] || *end || h < 1 || h > 12)
		return -1;
	*stop_at = (time_t)at;
	*hours = (int)h;
	return 0;
}

int cmd_snooze_compute(const char *loc, const struct cfg_env *env, const struct tz *tz,
		       const struct state *st, time_t warned, int hours, time_t now,
		       int64_t max_extend, bool admin, struct cmd_snooze_plan *out, char *err,
		       size_t errlen)
{
	time_t p;
	*out = (struct cmd_snooze_plan){ 0 };
	/* The scheduled stop the warning belongs to: the last one at or before
	 * the warned instant (a warning of an extended stop comes after it),
	 * on the warned date or the day before (an extend past midnight). This
	 * is the stop the scheduler maps that date's extend to. */
	ymd_t wdate = plan_local_date(tz, warned);
	if (!env->schedule.stop_expr || cron_prev(&env->schedule.stop, tz, warned, &p) != 0 ||
	    plan_local_date(tz, p) < when_add_days(wdate, -1)) {
		snprintf(err, errlen, tr(loc, "%s no longer has this scheduled stop"), env->name);
		return -1;
	}
	out->date = plan_local_date(tz, p);
	out->scheduled = p;
	out->ext = st ? state_extend_for(st, env->name, out->date) : NULL;
	if (out->ext && out->ext->stop_at <= p)
		out->ext = NULL; /* state_decide ignores an extend not later */
	out->effective = out->ext ? out->ext->stop_at : p;
	if (out->effective <= now) {
		snprintf(err, errlen, tr(loc, "%s's stop has already happened"), env->name);
		return -1;
	}
	out->target = warned + (time_t)hours * 3600;
	if (out->target <= out->effective) {
		out->new_stop = out->effective;
		return 0;
	}
	struct cmd_extend_arg a = { .at = true, .stop_at = out->target };
	if (cmd_extend_compute(loc, &a, tz, out->date, now, p, out->effective, max_extend, admin,
			       &out->new_stop, err, errlen) != 0)
		return -1;
	out->change = true;
	return 0;
}

/* ---- replies of any length ---- */

void cmd_fmt_local(const struct tz *tz, time_t t, char *buf, size_t len)
{
	cmd_fmt_local_in(NULL, tz, t, buf, len);
}

const char *cmd_weekday(const char *loc, int wday)
{
	/* TRANSLATORS: the short weekday of dates ("Mon 2026-11-23"). */
	const char *const wd[] = { N_("Sun"), N_("Mon"), N_("Tue"), N_("Wed"),
				   N_("Thu"), N_("Fri"), N_("Sat") };
	return tr(loc, wd[((wday % 7) + 7) % 7]);
}

void cmd_fmt_local_in(const char *loc, const struct tz *tz, time_t t, char *buf, size_t len)
{
	struct tm tm;
	char day[16], hm[8];
	tz_local(tz, t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(hm, sizeof(hm), "%H:%M", &tm);
	/* TRANSLATORS: a weekday, a date, a time of day and its zone, as in
	 * "Mon 2026-11-23 18:00 KST"; reorder with %2$s (the date) etc. */
	snprintf(buf, len, tr(loc, "%s %s %s %s"), cmd_weekday(loc, tm.tm_wday), day, hm,
		 tm.tm_zone ? tm.tm_zone : "");
}

void cmd_text_add(struct cmd_text *t, const char *fmt, ...)
{
	va_list ap;
	t->b.max = CMD_TEXT_MAX;
	va_start(ap, fmt);
	buf_vaddf(&t->b, fmt, ap);
	va_end(ap);
}

const char *cmd_text_str(const struct cmd_text *t)
{
	return t->b.p ? t->b.p : "";
}

void cmd_text_free(struct cmd_text *t)
{
	buf_free(&t->b);
}

/* Code points in s[0..n) (Discord counts characters, not bytes). */
static size_t cp_count(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

/* Bytes of the first cps code points of s[0..n). */
static size_t cp_bytes(const char *s, size_t n, size_t cps)
{
	size_t i = 0;
	for (size_t k = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && k++ == cps)
			break;
	}
	return i;
}

/* Room kept in the last page for the "not shown" line. */
#define PAGE_NOTE_ROOM 80

struct span {
	size_t b, e; /* bytes [b, e) of the text */
};

/* A body {flags?} with "content" or "embeds" to be added; NULL on ENOMEM. */
static cJSON *body_new(int flags)
{
	cJSON *m = cJSON_CreateObject();
	if (m && flags && !cJSON_AddNumberToObject(m, "flags", flags)) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static cJSON *string_of(const char *s, size_t n, const char *tail)
{
	size_t tl = tail ? strlen(tail) : 0;
	char *buf = malloc(n + tl + 1);
	if (!buf)
		return NULL;
	memcpy(buf, s, n);
	if (tl)
		memcpy(buf + n, tail, tl);
	buf[n + tl] = '\0';
	cJSON *str = cJSON_CreateString(buf);
	free(buf);
	return str;
}

/* The most characters page i may hold: the first is a message's content,
 * the others embed descriptions; the last one keeps room for the note. The
 * content keeps some room too: the REST layer defuses mention syntax
 * ("@everyone" in a name) with a zero-width space after clamping, which
 * must not push a full page over Discord's limit. */
static size_t page_cap(size_t i, size_t max)
{
	size_t cap = i == 0 ? REST_CONTENT_MAX - 100 : CMD_PAGE_CHARS;
	return i + 1 == max ? cap - PAGE_NOTE_ROOM : cap;
}

/* Cuts text[0..len) into at most max pages (page_cap), at line ends (a
 * longer line is cut between characters). Returns the number of pages;
 * *more is the number of lines (whole, or the rest of one) that did not
 * fit, 0 when everything did. */
static size_t paginate(const char *text, size_t len, struct span *pages, size_t max, size_t *more)
{
	size_t np = 0, pos = 0, pb = 0, pe = 0, pcp = 0;
	bool open = false;
	*more = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t le = nl ? (size_t)(nl - text) : len;
		size_t lcp = cp_count(text + pos, le - pos);
		if (open && pcp + 1 + lcp > page_cap(np, max)) {
			pages[np++] = (struct span){ pb, pe };
			open = false;
			if (np == max)
				goto cut;
		}
		if (!open) {
			while (lcp > page_cap(np, max)) {
				size_t cap = page_cap(np, max);
				size_t b = cp_bytes(text + pos, le - pos, cap);
				pages[np++] = (struct span){ pos, pos + b };
				pos += b;
				lcp -= cap;
				if (np == max)
					goto cut;
			}
			open = true;
			pb = pos;
			pcp = lcp;
		} else {
			pcp += 1 + lcp;
		}
		pe = le;
		pos = nl ? le + 1 : len;
	}
	if (open)
		pages[np++] = (struct span){ pb, pe };
	return np;
cut:
	*more = pos < len ? 1 : 0;
	for (size_t i = pos; i < len; i++)
		*more += text[i] == '\n' && i + 1 < len;
	return np;
}

cJSON *cmd_reply_messages(const char *loc, const char *text, int flags, size_t max_messages)
{
	cJSON *msgs = cJSON_CreateArray(), *m = NULL, *embeds = NULL, *str = NULL;
	struct span *pages = NULL;
	size_t len = text ? strlen(text) : 0, more = 0;
	if (!msgs)
		return NULL;
	if (!text)
		text = "";
	while (len > 0 && text[len - 1] == '\n')
		len--;
	if (max_messages == 0)
		max_messages = 1;
	if (cp_count(text, len) <= REST_CONTENT_MAX) {
		/* One message, as any short reply. */
		if (!(str = string_of(text, len, NULL)) || !(m = body_new(flags)))
			goto fail;
		cJSON_AddItemToArray(msgs, m);
		cJSON_AddItemToObject(m, "content", str);
		return msgs;
	}
	size_t max_pages = 1 + (max_messages - 1) * CMD_PAGES_PER_MSG;
	pages = calloc(max_pages, sizeof(*pages));
	if (!pages)
		goto fail;
	size_t np = paginate(text, len, pages, max_pages, &more);
	char note[256] = "", lines[200];
	if (more == 1) {
		snprintf(note, sizeof(note), "\n… %s",
			 tr(loc, "and 1 more line not shown (too long for Discord)"));
	} else if (more > 1) {
		snprintf(lines, sizeof(lines),
			 tr(loc, "and %zu more lines not shown (too long for Discord)"), more);
		snprintf(note, sizeof(note), "\n… %s", lines);
	}
	for (size_t i = 0; i < np; i++) {
		str = string_of(text + pages[i].b, pages[i].e - pages[i].b,
				i + 1 == np ? note : NULL);
		if (!str)
			goto fail;
		if (i == 0 || (i - 1) % CMD_PAGES_PER_MSG == 0) {
			if (!(m = body_new(flags)))
				goto fail;
			cJSON_AddItemToArray(msgs, m);
		}
		if (i == 0) {
			cJSON_AddItemToObject(m, "content", str);
			str = NULL;
			continue;
		}
		if ((i - 1) % CMD_PAGES_PER_MSG == 0 &&
		    !(embeds = cJSON_AddArrayToObject(m, "embeds")))
			goto fail;
		cJSON *e = cJSON_CreateObject();
		if (!e)
			goto fail;
		cJSON_AddItemToArray(embeds, e);
		cJSON_AddItemToObject(e, "description", str);
		str = NULL;
	}
	free(pages);
	return msgs;
fail:
	cJSON_Delete(str);
	free(pages);
	cJSON_Delete(msgs);
	return NULL;
}

/* ---- reply notes ---- */

static bool is_holiday(const struct state *st, ymd_t date, const ymd_t *cfg_h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cfg_h[i] == date)
			return true;
	return st && state_holiday_find(st, date) != NULL;
}

void cmd_reason_words(const char *loc, const struct state *st, const char *env,
		      const struct state_decision *d, ymd_t date, const struct tz *tz, char *buf,
		      size_t len)
{
	char who[STATE_WHO_MAX * 2], when[64];
	const struct state_freeze *fz = st ? state_is_frozen(st) : NULL;
	const struct state_pause *pz = st ? state_pause_until(st, env) : NULL;
	const struct state_skip *sk = st ? state_skip_find(st, env, date) : NULL;
	const struct state_extend *x = st ? state_extend_for(st, env, date) : NULL;
	const struct state_holiday *h = st ? state_holiday_find(st, date) : NULL;
	snprintf(buf, len, "%s", d->reason);
	if (!i18n_translates(loc))
		return; /* English, or a language without a catalogue */
	switch (d->rule) {
	case STATE_RULE_FREEZE:
		if (!fz)
			return;
		cmd_escape(fz->who, who, sizeof(who));
		cmd_fmt_local_in(loc, tz, fz->since, when, sizeof(when));
		snprintf(buf, len, tr(loc, "held: frozen by %s since %s"), who, when);
		return;
	case STATE_RULE_PAUSE:
		if (!pz)
			return;
		cmd_escape(pz->who, who, sizeof(who));
		if (pz->until_date)
			when_format_date(pz->until_date, when, sizeof(when));
		else
			cmd_fmt_local_in(loc, tz, pz->until_at, when, sizeof(when));
		snprintf(buf, len, tr(loc, "held: paused by %s until %s"), who, when);
		return;
	case STATE_RULE_SKIP:
		if (!sk)
			return;
		cmd_escape(sk->who, who, sizeof(who));
		snprintf(buf, len, tr(loc, "skipped: /env skip by %s"), who);
		return;
	case STATE_RULE_HOLIDAY: {
		char ds[16], label[STATE_TEXT_MAX * 2] = "";
		when_format_date(date, ds, sizeof(ds));
		if (h && h->label[0])
			cmd_escape(h->label, label, sizeof(label));
		if (label[0])
			snprintf(buf, len, tr(loc, "skipped: holiday %s (%s)"), ds, label);
		else
			snprintf(buf, len, tr(loc, "skipped: holiday %s"), ds);
		return;
	}
	case STATE_RULE_EXTEND:
		if (!x)
			return;
		cmd_escape(x->who, who, sizeof(who));
		cmd_fmt_local_in(loc, tz, x->stop_at, when, sizeof(when));
		snprintf(buf, len, tr(loc, "extended to %s by %s"), when, who);
		return;
	case STATE_RULE_LEASE: snprintf(buf, len, "%s", tr(loc, "the end of a lease")); return;
	default: return;
	}
}

void cmd_appendf(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	if (*o >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	*o += w > 0 ? (size_t)w : 0;
}

void cmd_conflict_note(const char *loc, const struct state *st, const char *env, const char *kind,
		       ymd_t date, const ymd_t *cfg_holidays, size_t n_cfg_holidays, char *buf,
		       size_t len)
{
	const struct state_freeze *fz = st ? state_is_frozen(st) : NULL;
	const struct state_pause *pz = st && env ? state_pause_until(st, env) : NULL;
	char who[STATE_WHO_MAX * 2], ds[16];
	size_t o = 0;
	buf[0] = '\0';
	if (fz) {
		cmd_escape(fz->who, who, sizeof(who));
		cmd_appendf(buf, len, &o,
			    tr(loc, " Note: frozen by %s overrides everything until /unfreeze."),
			    who);
	}
	if (pz && strcmp(kind, "pause") != 0 && strcmp(kind, "holiday") != 0) {
		bool covers = pz->until_date ? (date == 0 || date < pz->until_date) : true;
		if (covers) {
			cmd_escape(pz->who, who, sizeof(who));
			if (pz->until_date) {
				when_format_date(pz->until_date, ds, sizeof(ds));
				cmd_appendf(buf, len, &o,
					    tr(loc,
					       " Note: %s is paused until %s by %s, which holds "
					       "every automatic action first."),
					    env, ds, who);
			} else {
				cmd_appendf(buf, len, &o,
					    tr(loc, " Note: %s is paused by %s, which holds every "
						    "automatic action first."),
					    env, who);
			}
		}
	}
	if (strcmp(kind, "skip") == 0 && date &&
	    is_holiday(st, date, cfg_holidays, n_cfg_holidays)) {
		when_format_date(date, ds, sizeof(ds));
		cmd_appendf(buf, len, &o,
			    tr(loc, " Note: %s is a holiday: that start was skipped anyway."), ds);
	}
	if (o > 0)
		cmd_appendf(buf, len, &o, "%s",
			    tr(loc, " (rule: freeze > pause > skip/holiday > extend)"));
	if (o >= len && len > 0)
		buf[len - 1] = '\0';
}

int64_t cmd_cents(double hours, double hourly_cost)
{
	return (int64_t)llround(hours * hourly_cost * 100.0);
}
