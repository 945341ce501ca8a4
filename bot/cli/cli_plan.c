/* `envbot plan [--days N] [--env NAME] [--from YYYY-MM-DD] [--json]`: the
 * coming scheduled actions of each environment (local time with the zone's
 * abbreviation, and UTC) and the month's cost table. Offline: only the config
 * and the system tz database are read. The numbers come from bot/sched/plan.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/exitcode.h"
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
	const char *env;
	const struct tz *tz;
	char **reasons; /* kept until the end: the plan borrows them */
	size_t n_reasons;
};

static const char *override_filter(void *ud, const struct plan_event *ev)
{
	struct plan_overrides *o = ud;
	struct state_decision d;
	state_decide(o->st, o->env, ev->action == ACTION_START ? ACTION_START : ACTION_STOP, ev->at,
		     ev->date, NULL, 0, o->tz, &d);
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

static void print_text(const struct plan_opts *o, const struct cfg *cfg, struct env_plan *ep,
		       size_t n, int year, int month, const struct plan_cost *total)
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
static int print_json(const struct plan_opts *o, const struct cfg *cfg, struct env_plan *ep,
		      size_t n, int year, int month, const struct plan_cost *total)
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
		if (st) {
			p->ov = (struct plan_overrides){ .st = st, .env = e->name, .tz = p->tz };
			p->sched.filter = override_filter;
			p->sched.filter_ud = &p->ov;
		}
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
		rc = print_json(&o, cfg, ep, n, year, month, &total);
	else {
		print_text(&o, cfg, ep, n, year, month, &total);
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
	free(ep);
	free(rows);
	cfg_destroy(cfg);
	return rc;
}
