/* `envbot plan [--days N] [--env NAME] [--from YYYY-MM-DD] [--json]`: the
 * coming scheduled actions of each environment (local time with the zone's
 * abbreviation, and UTC) and the month's cost table. Offline: only the config,
 * the state file, the holiday calendars that are local files and the system
 * tz database are read, and nothing is written. The numbers come from
 * bot/sched/plan.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/exitcode.h"
#include "../sched/calfetch.h"
#include "../sched/holidays.h"
#include "../sched/plan.h"
#include "../state/state.h"
#include "cli.h"

#define PLAN_MAX_DAYS   366
#define PLAN_MAX_LISTED 2000 /* actions listed per environment */

struct plan_opts {
	int days;
	const char *env;
	ymd_t from; /* 0: today in the default zone */
	bool json;
};

/* The overrides of the state file (skips, pauses, freeze, chat holidays),
 * applied to the plan through its filter hook with the daemon's own
 * conflict rule (state_decide). Extends are not shown: they move a stop to
 * another time, which the listing cannot express as a skip. */
struct plan_overrides {
	const struct state *st;
	const struct cfg *cfg;
	const struct cfg_env *e; /* for the calendars it takes */
	const char *env;
	const struct tz *tz;
	char **reasons; /* kept until the end: the plan borrows them */
	size_t n_reasons;
};

static const char *override_filter(void *ud, const struct plan_event *ev)
{
	struct plan_overrides *o = ud;
	struct state_decision d;
	/* The config's holidays are the plan's own list (skipped before this
	 * hook); the calendars' come here, named in the reason. */
	struct holidays_of ho = { .cfg = o->cfg, .st = o->st, .env = o->e };
	state_decide(o->st, o->env, ev->action == ACTION_START ? ACTION_START : ACTION_STOP, ev->at,
		     ev->date, holidays_decide_fn, &ho, o->tz, &d);
	if (d.run)
		return NULL;
	char **r = realloc(o->reasons, (o->n_reasons + 1) * sizeof(*r));
	if (!r)
		return "held";
	o->reasons = r;
	/* The listing already says "skipped"; keep only the why. */
	const char *why = strncmp(d.reason, "skipped: ", 9) == 0 ? d.reason + 9 : d.reason;
	o->reasons[o->n_reasons] = strdup(why);
	return o->reasons[o->n_reasons] ? o->reasons[o->n_reasons++] : "held";
}

struct env_plan {
	const struct cfg_env *env;
	struct plan_overrides ov;
	const struct tz *tz; /* borrowed from the config */
	struct plan_schedule sched;
	struct plan_event *events;
	size_t n_events, n_total;
	struct plan_cost cost;
};

/* Where each holiday calendar's days came from, for the output. */
enum cal_copy {
	COPY_NONE = 0, /* no copy: its days do not apply */
	COPY_CACHED,   /* the daemon's copy in the state file */
	COPY_FILE,     /* a local file, read now (no cached copy) */
};
struct cal_info {
	enum cal_copy copy;
	char error[STATE_TEXT_MAX]; /* a file that could not be read now */
};

static const char *const month_names[] = { "January",   "February", "March",    "April",
					   "May",       "June",     "July",     "August",
					   "September", "October",  "November", "December" };

static void usage(FILE *out)
{
	fprintf(out, "usage: envbot plan [--days N] [--env NAME] [--from YYYY-MM-DD] [--json]\n"
		     "  --days N     days of actions to list, 1-366 (default 7)\n"
		     "  --env NAME   only this environment\n"
		     "  --from DATE  first day listed, and the month of the cost table "
		     "(default today)\n"
		     "  --json       machine-readable output\n");
}

/* Returns 0, 1 for --help, or EXIT_USAGE with a message on stderr. */
static int parse_args(int argc, char **argv, struct plan_opts *o)
{
	*o = (struct plan_opts){ .days = 7 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const char *eq = strchr(a, '=');
		char name[16];
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		if (n < sizeof(name)) {
			memcpy(name, a, n);
			name[n] = '\0';
		}
		if (n >= sizeof(name) ||
		    (strcmp(name, "--days") != 0 && strcmp(name, "--env") != 0 &&
		     strcmp(name, "--from") != 0)) {
			fprintf(stderr, "envbot plan: unknown argument \"%s\"\n", a);
			return EXIT_USAGE;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "envbot plan: %s needs a value\n", name);
			return EXIT_USAGE;
		}
		if (strcmp(name, "--days") == 0) {
			char *end;
			long d = strtol(val, &end, 10);
			if (*val == '\0' || *end != '\0' || d < 1 || d > PLAN_MAX_DAYS) {
				fprintf(stderr,
					"envbot plan: --days: \"%s\" is not a number 1-%d\n", val,
					PLAN_MAX_DAYS);
				return EXIT_USAGE;
			}
			o->days = (int)d;
		} else if (strcmp(name, "--env") == 0) {
			o->env = val;
		} else if (when_parse_date(val, &o->from) != 0) {
			fprintf(stderr, "envbot plan: --from: \"%s\" is not a date YYYY-MM-DD\n",
				val);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void fmt_local(const struct tz *tz, time_t t, char *buf, size_t len)
{
	struct tm tm;
	tz_local(tz, t, &tm);
	strftime(buf, len, "%a %Y-%m-%d %H:%M", &tm);
}

static void fmt_iso_local(const struct tz *tz, time_t t, char *buf, size_t len)
{
	struct tm tm;
	long off;
	tz_local(tz, t, &tm);
	off = tm.tm_gmtoff;
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
		 labs(off) % 3600 / 60);
}

static void fmt_utc(time_t t, const char *fmt, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, fmt, &tm);
}

static void fmt_money(int64_t cents, char *buf, size_t len)
{
	snprintf(buf, len, "%s%lld.%02lld", cents < 0 ? "-" : "", llabs(cents) / 100,
		 llabs(cents) % 100);
}

/* "2026-12-03 10:00 KST" in the top-level zone. */
static void fmt_top(const struct cfg *cfg, time_t t, char *buf, size_t len)
{
	struct tm tm;
	tz_local(cfg->tz, t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm);
}

/* The calendar copies plan uses, into the state in memory (plan never
 * saves it): a local file read now, over the same days as the daemon's
 * copy would cover from `from` (what the daemon's next refresh, or a
 * SIGHUP, will load); a URL, or a file that cannot be read now, the
 * daemon's cached copy in the state file. */
static void load_calendars(const struct cfg *cfg, struct state *st, ymd_t from,
			   struct cal_info *info)
{
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		const struct cfg_calendar *cal = &cfg->calendars[i];
		const struct state_calendar *sc = state_calendar_find(st, cal->name);
		struct state_cal_day *days = NULL;
		size_t n = 0;
		if (cal->is_url) {
			info[i].copy = sc && sc->fetched ? COPY_CACHED : COPY_NONE;
			continue;
		}
		if (calfetch_file(cal->source, from, &days, &n, info[i].error,
				  sizeof(info[i].error)) == BOT_OK &&
		    state_calendar_set(st, cal->name, time(NULL), days, n, info[i].error,
				       sizeof(info[i].error)) == BOT_OK) {
			info[i].copy = COPY_FILE;
		} else {
			info[i].copy = sc && sc->fetched ? COPY_CACHED : COPY_NONE;
			fprintf(stderr, "envbot plan: holiday calendar %s not read (%s); %s\n",
				cal->name, info[i].error,
				info[i].copy == COPY_CACHED ? "the daemon's cached copy is used"
							    : "its days are not applied");
		}
		free(days);
	}
}

/* The last day a cached copy knows (calfetch's span from the day it was
 * fetched), 0 when the plan's days are all inside it. */
static ymd_t copy_ends_before(const struct cfg *cfg, const struct state_calendar *sc,
			      const struct plan_opts *o)
{
	ymd_t last = when_add_days(plan_local_date(cfg->tz, sc->fetched), CALFETCH_DAYS_AFTER);
	return when_add_days(o->from, o->days - 1) > last ? last : 0;
}

/* "ko (cached 2026-12-03 10:00 KST)", "company (file /etc/envbot/company.ics)". */
static void describe_calendar(const struct plan_opts *o, const struct cfg *cfg,
			      const struct state *st, size_t i, const struct cal_info *ci,
			      char *buf, size_t len)
{
	const struct cfg_calendar *cal = &cfg->calendars[i];
	const struct state_calendar *sc = state_calendar_find(st, cal->name);
	char a[64], b[64], ends[64] = "", d[16];
	switch (ci->copy) {
	case COPY_CACHED: {
		ymd_t last = copy_ends_before(cfg, sc, o);
		if (last) {
			when_format_date(last, d, sizeof(d));
			snprintf(ends, sizeof(ends), "; it knows no day after %s", d);
		}
		fmt_top(cfg, sc->fetched, a, sizeof(a));
		if (!cal->is_url)
			snprintf(buf, len,
				 "%s (file %s not read now: %s; the daemon's copy of %s%s)",
				 cal->name, cal->source, ci->error, a, ends);
		else if (sc->failed_at) {
			fmt_top(cfg, sc->failed_at, b, sizeof(b));
			snprintf(buf, len, "%s (cached %s; the refresh of %s failed: %s%s)",
				 cal->name, a, b, sc->error, ends);
		} else {
			snprintf(buf, len, "%s (cached %s%s)", cal->name, a, ends);
		}
		return;
	}
	case COPY_FILE: snprintf(buf, len, "%s (file %s)", cal->name, cal->source); return;
	case COPY_NONE: break;
	}
	if (!cal->is_url)
		snprintf(buf, len, "%s (file %s not read: %s; its days do not apply)", cal->name,
			 cal->source, ci->error);
	else if (sc && sc->failed_at)
		snprintf(buf, len, "%s (no copy yet: %s; its days do not apply)", cal->name,
			 sc->error);
	else
		snprintf(buf, len,
			 "%s (no copy yet: the daemon has not fetched it; its days do not "
			 "apply)",
			 cal->name);
}

/* The calendars env takes, "ko, company" or "none". */
static void env_calendars(const struct cfg *cfg, const struct cfg_env *e, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_calendars && used < len; i++)
		if (holidays_applies(e, cfg->calendars[i].name))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 cfg->calendars[i].name);
	if (!buf[0])
		snprintf(buf, len, "none (holidays_from = [ ])");
}

static void print_text(const struct plan_opts *o, const struct cfg *cfg, const struct state *st,
		       const struct cal_info *ci, struct env_plan *ep, size_t n, int year,
		       int month, const struct plan_cost *total)
{
	char d[16], a[48], b[48], c[48];
	when_format_date(o->from, d, sizeof(d));
	printf("Scheduled actions for %d day%s from %s", o->days, o->days == 1 ? "" : "s", d);
	if (cfg->n_holidays) {
		printf(" (holidays:");
		for (size_t i = 0; i < cfg->n_holidays; i++) {
			when_format_date(cfg->holidays[i], d, sizeof(d));
			printf(" %s", d);
		}
		printf(")");
	}
	printf("\n");
	for (size_t i = 0; i < cfg->n_calendars; i++) {
		char line[2 * STATE_TEXT_MAX + 1024];
		describe_calendar(o, cfg, st, i, &ci[i], line, sizeof(line));
		printf("%s%s", i ? ", " : "Holiday calendars: ", line);
	}
	if (cfg->n_calendars)
		printf("\n");
	for (size_t i = 0; i < n; i++) {
		const struct cfg_env *e = ep[i].env;
		char words[160];
		printf("\n%s (%s, %s)\n", e->name, cfg_kind_name(e->kind), tz_name(ep[i].tz));
		if (e->schedule.start_expr) {
			cron_describe(e->schedule.start_expr, words, sizeof(words));
			printf("  start  %-20s %s\n", e->schedule.start_expr, words);
		}
		if (e->schedule.stop_expr) {
			cron_describe(e->schedule.stop_expr, words, sizeof(words));
			printf("  stop   %-20s %s\n", e->schedule.stop_expr, words);
		}
		if (!e->schedule.start_expr && !e->schedule.stop_expr)
			printf("  no schedule: started and stopped by hand only\n");
		if (cfg->n_calendars) {
			env_calendars(cfg, e, words, sizeof(words));
			printf("  holiday calendars: %s\n", words);
		}
		if (ep[i].n_total == 0)
			printf("  no scheduled action in these days\n");
		for (size_t k = 0; k < ep[i].n_events; k++) {
			const struct plan_event *ev = &ep[i].events[k];
			struct tm tm;
			tz_local(ep[i].tz, ev->at, &tm);
			fmt_local(ep[i].tz, ev->at, a, sizeof(a));
			fmt_utc(ev->at, "%Y-%m-%d %H:%M UTC", b, sizeof(b));
			printf("  %s %-5s  %-5s  %s", a, tm.tm_zone, action_name(ev->action), b);
			if (ev->skipped)
				printf("  skipped (%s)", ev->skipped);
			printf("\n");
		}
		if (ep[i].n_total > ep[i].n_events)
			printf("  ... and %zu more\n", ep[i].n_total - ep[i].n_events);
	}

	printf("\nCost for %s %d (USD, hours up per the schedule and holidays)\n",
	       month_names[month - 1], year);
	printf("  %-16s %8s %10s %11s %11s %11s %8s\n", "environment", "$/hour", "hours up",
	       "always-on", "scheduled", "saved", "saved %");
	for (size_t i = 0; i <= n; i++) {
		const struct plan_cost *pc = i < n ? &ep[i].cost : total;
		char rate[16], hours[32];
		if (i == n)
			snprintf(rate, sizeof(rate), "%s", "");
		else
			snprintf(rate, sizeof(rate), "%.3f", ep[i].env->hourly_cost);
		snprintf(hours, sizeof(hours), "%.1f/%.0f", pc->hours_up, pc->hours_month);
		fmt_money(pc->always_cents, a, sizeof(a));
		fmt_money(pc->scheduled_cents, b, sizeof(b));
		fmt_money(pc->saved_cents, c, sizeof(c));
		printf("  %-16s %8s %10s %11s %11s %11s %7.1f%%\n",
		       i < n ? ep[i].env->name : "total", rate, hours, a, b, c, pc->saved_pct);
	}
}

static cJSON *cost_json(const struct plan_cost *pc)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "hours_up", pc->hours_up);
	cJSON_AddNumberToObject(o, "hours_month", pc->hours_month);
	cJSON_AddNumberToObject(o, "always_on", (double)pc->always_cents / 100.0);
	cJSON_AddNumberToObject(o, "scheduled", (double)pc->scheduled_cents / 100.0);
	cJSON_AddNumberToObject(o, "saved", (double)pc->saved_cents / 100.0);
	cJSON_AddNumberToObject(o, "saved_pct", round(pc->saved_pct * 10.0) / 10.0);
	return o;
}

/* Returns EXIT_OK, or EXIT_FAILED when memory ran out. */
static int print_json(const struct plan_opts *o, const struct cfg *cfg, const struct state *st,
		      const struct cal_info *ci, struct env_plan *ep, size_t n, int year, int month,
		      const struct plan_cost *total)
{
	char buf[64];
	int rc = EXIT_FAILED;
	char *text = NULL;
	cJSON *root = cJSON_CreateObject(), *envs, *hol;
	if (!root)
		goto out;
	when_format_date(o->from, buf, sizeof(buf));
	cJSON_AddStringToObject(root, "from", buf);
	cJSON_AddNumberToObject(root, "days", o->days);
	snprintf(buf, sizeof(buf), "%04d-%02d", year, month);
	cJSON_AddStringToObject(root, "month", buf);
	cJSON_AddStringToObject(root, "currency", "USD");
	hol = cJSON_AddArrayToObject(root, "holidays");
	for (size_t i = 0; hol && i < cfg->n_holidays; i++) {
		when_format_date(cfg->holidays[i], buf, sizeof(buf));
		cJSON_AddItemToArray(hol, cJSON_CreateString(buf));
	}
	cJSON *cals = cJSON_AddArrayToObject(root, "calendars");
	for (size_t i = 0; cals && i < cfg->n_calendars; i++) {
		static const char *const copies[] = { "none", "cached", "file" };
		const struct cfg_calendar *cal = &cfg->calendars[i];
		const struct state_calendar *sc = state_calendar_find(st, cal->name);
		cJSON *jc = cJSON_CreateObject();
		if (!jc)
			goto out;
		cJSON_AddItemToArray(cals, jc);
		cJSON_AddStringToObject(jc, "name", cal->name);
		char shown[300]; /* a URL's key stays out, as in check-config */
		holidays_source_shown(cal, shown, sizeof(shown));
		cJSON_AddStringToObject(jc, "source", shown);
		cJSON_AddStringToObject(jc, "copy", copies[ci[i].copy]);
		cJSON_AddNumberToObject(jc, "days", sc && ci[i].copy ? (double)sc->n_days : 0);
		if (ci[i].copy == COPY_CACHED) {
			fmt_utc(sc->fetched, "%Y-%m-%dT%H:%M:%SZ", buf, sizeof(buf));
			cJSON_AddStringToObject(jc, "fetched", buf);
		} else {
			cJSON_AddNullToObject(jc, "fetched");
		}
		const char *err = ci[i].error[0]        ? ci[i].error
				  : sc && sc->failed_at ? sc->error
							: NULL;
		if (err)
			cJSON_AddStringToObject(jc, "error", err);
		else
			cJSON_AddNullToObject(jc, "error");
	}
	envs = cJSON_AddArrayToObject(root, "environments");
	if (!envs)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_env *e = ep[i].env;
		cJSON *je = cJSON_CreateObject(), *acts;
		if (!je)
			goto out;
		cJSON_AddItemToArray(envs, je);
		cJSON_AddStringToObject(je, "name", e->name);
		cJSON_AddStringToObject(je, "kind", cfg_kind_name(e->kind));
		cJSON_AddStringToObject(je, "timezone", tz_name(ep[i].tz));
		if (e->schedule.start_expr)
			cJSON_AddStringToObject(je, "start", e->schedule.start_expr);
		else
			cJSON_AddNullToObject(je, "start");
		if (e->schedule.stop_expr)
			cJSON_AddStringToObject(je, "stop", e->schedule.stop_expr);
		else
			cJSON_AddNullToObject(je, "stop");
		cJSON_AddNumberToObject(je, "hourly_cost", e->hourly_cost);
		cJSON *from = cJSON_AddArrayToObject(je, "holiday_calendars");
		for (size_t k = 0; from && k < cfg->n_calendars; k++)
			if (holidays_applies(e, cfg->calendars[k].name))
				cJSON_AddItemToArray(from,
						     cJSON_CreateString(cfg->calendars[k].name));
		acts = cJSON_AddArrayToObject(je, "actions");
		for (size_t k = 0; acts && k < ep[i].n_events; k++) {
			const struct plan_event *ev = &ep[i].events[k];
			cJSON *ja = cJSON_CreateObject();
			struct tm tm;
			if (!ja)
				goto out;
			cJSON_AddItemToArray(acts, ja);
			tz_local(ep[i].tz, ev->at, &tm);
			cJSON_AddStringToObject(ja, "action", action_name(ev->action));
			fmt_iso_local(ep[i].tz, ev->at, buf, sizeof(buf));
			cJSON_AddStringToObject(ja, "local", buf);
			cJSON_AddStringToObject(ja, "zone", tm.tm_zone);
			fmt_utc(ev->at, "%Y-%m-%dT%H:%M:%SZ", buf, sizeof(buf));
			cJSON_AddStringToObject(ja, "utc", buf);
			if (ev->skipped)
				cJSON_AddStringToObject(ja, "skipped", ev->skipped);
			else
				cJSON_AddNullToObject(ja, "skipped");
		}
		cJSON_AddItemToObject(je, "cost", cost_json(&ep[i].cost));
	}
	cJSON_AddItemToObject(root, "total", cost_json(total));
	text = cJSON_Print(root);
	if (!text)
		goto out;
	printf("%s\n", text);
	rc = EXIT_OK;
out:
	free(text);
	cJSON_Delete(root);
	if (rc)
		fprintf(stderr, "envbot plan: out of memory\n");
	return rc;
}

int cli_plan(const struct cli *cli, int argc, char **argv)
{
	struct plan_opts o;
	struct cfg *cfg = NULL;
	struct env_plan *ep = NULL;
	struct plan_cost *rows = NULL, total;
	struct state *st = NULL;
	struct cal_info *ci = NULL;
	size_t n = 0;
	int rc = parse_args(argc, argv, &o), year, month;

	if (rc == 1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (rc != 0) {
		usage(stderr);
		return rc;
	}
	rc = cli_load_config(cli, &cfg);
	if (rc != 0)
		return rc;
	rc = EXIT_USAGE;
	if (o.env && !cfg_find_env(cfg, o.env)) {
		fprintf(stderr, "envbot plan: no environment named \"%s\" in %s\n", o.env,
			cfg->path);
		goto out;
	}
	if (o.from == 0) {
		/* Today in the default zone: one date for every environment. */
		o.from = plan_local_date(cfg_env_tz(cfg, NULL), time(NULL));
	}
	year = o.from / 10000;
	month = o.from / 100 % 100;
	rc = EXIT_FAILED;
	/* Overrides from the daemon's state file, when there is one; plan is
	 * offline and never writes it. */
	{
		char err[256];
		struct state_load_info info;
		if (state_load_readonly(cfg->state_file, &st, &info, err, sizeof(err)) != BOT_OK) {
			fprintf(stderr,
				"envbot plan: state file %s not read (%s); overrides "
				"from chat are not shown\n",
				cfg->state_file, err);
			st = NULL;
		} else if (info.recovered) {
			fprintf(stderr,
				"envbot plan: state file %s is damaged; showing the "
				"overrides of its backup\n",
				cfg->state_file);
		}
	}
	/* Without a state file the calendars that are files still apply. */
	if (!st && !(st = state_create())) {
		fprintf(stderr, "envbot plan: out of memory\n");
		goto out;
	}
	ci = calloc(cfg->n_calendars ? cfg->n_calendars : 1, sizeof(*ci));
	if (!ci) {
		fprintf(stderr, "envbot plan: out of memory\n");
		goto out;
	}
	load_calendars(cfg, st, o.from, ci);
	ep = calloc(cfg->n_envs ? cfg->n_envs : 1, sizeof(*ep));
	rows = calloc(cfg->n_envs ? cfg->n_envs : 1, sizeof(*rows));
	if (!ep || !rows) {
		fprintf(stderr, "envbot plan: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct cfg_env *e = &cfg->envs[i];
		struct env_plan *p = &ep[n];
		if (o.env && strcmp(o.env, e->name) != 0)
			continue;
		p->env = e;
		n++;
		p->tz = cfg_env_tz(cfg, e);
		p->sched = (struct plan_schedule){
			.start = e->schedule.start_expr ? &e->schedule.start : NULL,
			.stop = e->schedule.stop_expr ? &e->schedule.stop : NULL,
			.tz = p->tz,
			.holidays = cfg->holidays,
			.n_holidays = cfg->n_holidays,
		};
		p->ov = (struct plan_overrides){
			.st = st, .cfg = cfg, .e = e, .env = e->name, .tz = p->tz
		};
		p->sched.filter = override_filter;
		p->sched.filter_ud = &p->ov;
		time_t from = plan_local_midnight(p->tz, o.from);
		time_t to = plan_local_midnight(p->tz, when_add_days(o.from, o.days));
		p->n_total = plan_events(&p->sched, from, to, NULL, 0);
		p->n_events = p->n_total < PLAN_MAX_LISTED ? p->n_total : PLAN_MAX_LISTED;
		p->events = calloc(p->n_events ? p->n_events : 1, sizeof(*p->events));
		if (!p->events) {
			fprintf(stderr, "envbot plan: out of memory\n");
			goto out;
		}
		plan_events(&p->sched, from, to, p->events, p->n_events);
		plan_month(&p->sched, year, month, e->hourly_cost, &p->cost);
		rows[n - 1] = p->cost;
	}
	plan_total(rows, n, &total);
	if (o.json)
		rc = print_json(&o, cfg, st, ci, ep, n, year, month, &total);
	else {
		print_text(&o, cfg, st, ci, ep, n, year, month, &total);
		rc = EXIT_OK;
	}
out:
	for (size_t i = 0; ep && i < n; i++) {
		free(ep[i].events);
		for (size_t j = 0; j < ep[i].ov.n_reasons; j++)
			free(ep[i].ov.reasons[j]);
		free(ep[i].ov.reasons);
	}
	state_destroy(st);
	free(ci);
	free(ep);
	free(rows);
	cfg_destroy(cfg);
	return rc;
}
