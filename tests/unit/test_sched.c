/* The daemon's scheduler with a fake wall clock: a simulated week of weekday
 * 09:00/18:00 in Asia/Seoul fires exactly those actions at their instants;
 * holidays, skip, pause, freeze and extend (the stop and its warning move);
 * catch-up of the most recent missed action only; clock jumps both ways;
 * enforce; the DST days of America/New_York; and the real loop's timer
 * landing within a second of the minute and of an extended stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bot/kinds/kinds.h"
#include "../../bot/sched/sched.h"
#include "check.h"

/* ------------------------------------------------------------ the harness */

static int64_t fake_ms;
static int64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

struct rec {
	char type; /* 'F' fire, 'H' held, 'W' warn */
	char env[32];
	enum action action;
	enum sched_kind kind;
	time_t scheduled_at; /* stop_at for a warning */
	enum state_rule rule;
	int64_t when_ms; /* the clock when called */
};

#define MAX_RECS 100000
static struct rec recs[MAX_RECS];
static size_t nrec;
static int saves;
static int64_t max_save_gap, last_save_ms;
static struct state *cur_st;

static void rec_add(char type, const struct cfg_env *env, enum action a, enum sched_kind k,
		    time_t at, const struct state_decision *d)
{
	if (nrec >= MAX_RECS)
		return;
	struct rec *r = &recs[nrec++];
	r->type = type;
	snprintf(r->env, sizeof(r->env), "%s", env->name);
	r->action = a;
	r->kind = k;
	r->scheduled_at = at;
	r->rule = d ? d->rule : STATE_RULE_NONE;
	r->when_ms = fake_ms;
}

static void on_fire(void *arg, const struct cfg_env *env, enum action action, enum sched_kind kind,
		    time_t scheduled_at, const struct state_decision *d)
{
	(void)arg;
	rec_add('F', env, action, kind, scheduled_at, d);
}

static void on_warn(void *arg, const struct cfg_env *env, time_t stop_at)
{
	(void)arg;
	rec_add('W', env, ACTION_STOP, SCHED_SCHEDULED, stop_at, NULL);
}

static void on_held(void *arg, const struct cfg_env *env, enum action action, time_t scheduled_at,
		    const struct state_decision *d)
{
	(void)arg;
	rec_add('H', env, action, SCHED_SCHEDULED, scheduled_at, d);
}

static void on_save(void *arg)
{
	(void)arg;
	saves++;
	/* What the daemon would write must already carry this tick. */
	CHECK(state_last_tick(cur_st) == fake_ms / 1000);
	if (last_save_ms && fake_ms - last_save_ms > max_save_gap)
		max_save_gap = fake_ms - last_save_ms;
	last_save_ms = fake_ms;
}

static void reset_recs(void)
{
	nrec = 0;
	saves = 0;
	max_save_gap = 0;
	last_save_ms = 0;
}

/* Instant of a local wall time at a fixed offset (Seoul has no DST). */
static time_t at_off(ymd_t d, int h, int m, int s, int off_h)
{
	return (time_t)(when_days_from_civil(d) * 86400 + h * 3600 + m * 60 + s - off_h * 3600);
}
static time_t kst(ymd_t d, int h, int m)
{
	return at_off(d, h, m, 0, 9);
}

static const char base_cfg[] = "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
			       "aws: { region = \"ap-northeast-2\"; };\n"
			       "timezone = \"Asia/Seoul\";\n";

/* A config from base_cfg + extra (holidays, catch_up...) + environments. */
static struct cfg *make_cfg(const char *extra, const char *envs)
{
	char text[4096], err[2048] = "";
	struct cfg *cfg = NULL;
	snprintf(text, sizeof(text), "%s%s\nenvironments = ( %s );\n", base_cfg, extra, envs);
	if (cfg_load_string(text, "test.cfg", envbot_kinds, &cfg, err, sizeof(err)) != BOT_OK)
		fprintf(stderr, "config: %s\n", err);
	return cfg;
}

#define ENV_DEV                                                                      \
	"{ name = \"dev\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n" \
	"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; }"

/* What the kinds would say: here every environment named "db..." is one
 * AWS may start again on its own (an RDS instance after 7 days). */
static bool test_wakes_up(void *arg, const struct cfg_env *env)
{
	(void)arg;
	return strncmp(env->name, "db", 2) == 0;
}

static struct sched *make_sched(const struct cfg *cfg, struct state *st, struct loop *loop)
{
	struct sched_deps d = {
		.loop = loop,
		.cfg = cfg,
		.st = st,
		.clock = fake_clock,
		.fire = on_fire,
		.warn = on_warn,
		.held = on_held,
		.save = on_save,
		.wakes_up = test_wakes_up,
	};
	cur_st = st;
	return sched_create(&d);
}

/* Ticks as the timer would, from the current fake time until `end`. */
static size_t run_until(struct sched *s, time_t end)
{
	size_t ticks = 0;
	for (;;) {
		int64_t next = sched_next_tick_ms(s);
		if (next > (int64_t)end * 1000 + SCHED_SLACK_MS)
			break;
		CHECK(next > fake_ms);
		fake_ms = next;
		sched_tick(s);
		ticks++;
	}
	return ticks;
}

/* The i-th record is (type, action, kind, instant) and came within a second
 * of `due` (the instant it should have happened at). */
static void expect(size_t i, char type, const char *env, enum action a, enum sched_kind k,
		   time_t at, time_t due, int line)
{
	if (i >= nrec) {
		fprintf(stderr, "line %d: record %zu missing (have %zu)\n", line, i, nrec);
		check_failed++;
		return;
	}
	const struct rec *r = &recs[i];
	int ok = r->type == type && strcmp(r->env, env) == 0 && r->action == a && r->kind == k &&
		 r->scheduled_at == at && r->when_ms >= (int64_t)due * 1000 &&
		 r->when_ms < (int64_t)due * 1000 + 1000;
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr,
			"line %d: record %zu is %c %s %s %s at=%lld when=%lld; expected %c %s %s "
			"%s "
			"at=%lld due=%lld\n",
			line, i, r->type, r->env, action_name(r->action), sched_kind_name(r->kind),
			(long long)r->scheduled_at, (long long)r->when_ms, type, env,
			action_name(a), sched_kind_name(k), (long long)at, (long long)due);
	}
}
#define EXPECT(i, type, env, a, k, at, due) expect(i, type, env, a, k, at, due, __LINE__)

static void dump_recs(void)
{
	for (size_t i = 0; i < nrec; i++)
		fprintf(stderr, "  %zu: %c %s %s %s at=%lld when=%lld rule=%d\n", i, recs[i].type,
			recs[i].env, action_name(recs[i].action), sched_kind_name(recs[i].kind),
			(long long)recs[i].scheduled_at, (long long)recs[i].when_ms,
			(int)recs[i].rule);
}

/* ------------------------------------------------------------------ tests */

/* Sun 2026-11-22 .. Sun 11-29 in Seoul: 5 starts, 5 stops, 5 warnings,
 * each within a second of its instant; ticks on the minute; saves. */
static void test_week(void)
{
	struct cfg *cfg = make_cfg("", ENV_DEV);
	struct state *st = state_create();
	struct sched *s = make_sched(cfg, st, NULL);
	CHECK(s != NULL);
	reset_recs();
	fake_ms = (int64_t)kst(20261122, 0, 0) * 1000 + 123;
	sched_start(s);
	CHECK_INT(nrec, 0);  /* nothing to catch up on a Sunday */
	CHECK_INT(saves, 1); /* the first tick is saved */
	CHECK_INT(state_last_tick(st), kst(20261122, 0, 0));
	CHECK_INT(sched_next_tick_ms(s), (int64_t)kst(20261122, 0, 1) * 1000 + SCHED_SLACK_MS);

	size_t ticks = run_until(s, kst(20261129, 0, 0));
	CHECK_INT(ticks, 7 * 1440);
	CHECK_INT(fake_ms % 60000, SCHED_SLACK_MS);
	CHECK_INT(nrec, 15);
	size_t i = 0;
	for (int d = 0; d < 5; d++) {
		ymd_t day = 20261123 + d;
		EXPECT(i++, 'F', "dev", ACTION_START, SCHED_SCHEDULED, kst(day, 9, 0),
		       kst(day, 9, 0));
		EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(day, 18, 0),
		       kst(day, 17, 45));
		EXPECT(i++, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(day, 18, 0),
		       kst(day, 18, 0));
	}
	/* Saved after each of the 15 events, otherwise every 10 minutes. */
	CHECK(saves >= 15 + 7 * 144 - 20 && saves <= 15 + 7 * 144 + 20);
	CHECK(max_save_gap <= (SCHED_SAVE_EVERY + 60) * 1000);

	/* The queries agree with what happened. */
	struct sched_action a;
	CHECK(sched_next(s, "dev", kst(20261123, 12, 0), &a));
	CHECK(a.action == ACTION_STOP && a.at == kst(20261123, 18, 0) && a.decision.run);
	CHECK_STR(a.decision.reason, "scheduled");
	CHECK(sched_next(s, "dev", kst(20261127, 19, 0), &a)); /* Friday night */
	CHECK(a.action == ACTION_START && a.at == kst(20261130, 9, 0));
	CHECK(!sched_next(s, "nope", kst(20261127, 19, 0), &a) && a.scheduled_at == 0);
	state_destroy(st);
	sched_destroy(s);
	cfg_destroy(cfg);
}

struct collect {
	struct sched_action v[64];
	size_t n;
	size_t stop_after;
};

static int collect_cb(void *arg, const struct sched_action *a)
{
	struct collect *c = arg;
	if (c->n < 64)
		c->v[c->n++] = *a;
	return c->stop_after && c->n >= c->stop_after;
}

/* Config and chat holidays skip the start, never the stop. */
static void test_holidays(void)
{
	struct cfg *cfg = make_cfg("holidays = [ \"2026-11-25\" ];", ENV_DEV);
	struct state *st = state_create();
	CHECK_INT(state_holiday_add(st, 20261126, "Chuseok", "admin", 1, NULL, 0), BOT_OK);
	struct sched *s = make_sched(cfg, st, NULL);
	reset_recs();
	fake_ms = (int64_t)kst(20261124, 20, 0) * 1000;
	sched_start(s);

	struct sched_action a;
	CHECK(sched_next(s, "dev", kst(20261124, 20, 0), &a)); /* Wed: the stop still runs */
	CHECK(a.action == ACTION_STOP && a.at == kst(20261125, 18, 0));

	run_until(s, kst(20261127, 0, 0));
	if (nrec != 6)
		dump_recs();
	CHECK_INT(nrec, 6);
	EXPECT(0, 'H', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261125, 9, 0),
	       kst(20261125, 9, 0));
	CHECK(recs[0].rule == STATE_RULE_HOLIDAY);
	EXPECT(1, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261125, 18, 0),
	       kst(20261125, 17, 45));
	EXPECT(2, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261125, 18, 0),
	       kst(20261125, 18, 0));
	EXPECT(3, 'H', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261126, 9, 0),
	       kst(20261126, 9, 0));
	CHECK(recs[3].rule == STATE_RULE_HOLIDAY);
	EXPECT(5, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261126, 18, 0),
	       kst(20261126, 18, 0));

	/* /schedule show lists the skipped starts with their reason. */
	struct collect c = { .n = 0 };
	CHECK_INT(sched_upcoming(s, "dev", kst(20261125, 0, 0), 2, collect_cb, &c), 4);
	CHECK(c.n == 4 && !c.v[0].decision.run && c.v[0].decision.rule == STATE_RULE_HOLIDAY);
	CHECK(strstr(c.v[2].decision.reason, "Chuseok") != NULL);
	CHECK(c.v[1].decision.run && c.v[1].action == ACTION_STOP);
	state_destroy(st);
	sched_destroy(s);
	cfg_destroy(cfg);
}

/* Mon skip; Tue extend to an odd second (stop and warning move); Wed extend
 * after the warning (a new warning before the new stop); Thu pause until
 * noon; Fri freeze. */
static void test_overrides(void)
{
	struct cfg *cfg = make_cfg("", ENV_DEV);
	struct state *st = state_create();
	struct sched *s = make_sched(cfg, st, NULL);
	time_t tue_stop = kst(20261124, 20, 30) + 30;
	CHECK_INT(state_skip_add(st, "dev", 20261123, "alice", 1, NULL, 0), BOT_OK);
	CHECK_INT(state_extend_set(st, "dev", 20261124, tue_stop, "bob", 1, NULL, 0), BOT_OK);
	reset_recs();
	fake_ms = (int64_t)kst(20261123, 0, 0) * 1000;
	sched_start(s);

	/* The extended stop and its warning are ticks of their own. */
	struct sched_action a;
	CHECK(sched_next(s, "dev", kst(20261124, 12, 0), &a));
	CHECK(a.action == ACTION_STOP && a.at == tue_stop &&
	      a.scheduled_at == kst(20261124, 18, 0));
	CHECK(a.decision.rule == STATE_RULE_EXTEND && strstr(a.decision.reason, "20:30") != NULL);

	run_until(s, kst(20261125, 17, 50));
	/* Wed 17:50: the 18:00 warning went out; now extend to 19:00. */
	CHECK_INT(state_extend_set(st, "dev", 20261125, kst(20261125, 19, 0), "dave", 1, NULL, 0),
		  BOT_OK);
	run_until(s, kst(20261126, 8, 0));
	/* A pause holds everything from now until its end. */
	CHECK_INT(state_pause_set(st, "dev", 0, kst(20261126, 12, 0), "carol", 1, NULL, 0), BOT_OK);
	run_until(s, kst(20261127, 8, 0));
	state_freeze(st, "erin", kst(20261127, 8, 0));
	run_until(s, kst(20261128, 0, 0));

	size_t i = 0;
	if (nrec != 15)
		dump_recs();
	CHECK_INT(nrec, 15);
	EXPECT(i, 'H', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261123, 9, 0),
	       kst(20261123, 9, 0));
	CHECK(recs[i++].rule == STATE_RULE_SKIP);
	EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 17, 45));
	EXPECT(i++, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 18, 0));
	/* Tue: no warning at 17:45 and no stop at 18:00. */
	EXPECT(i++, 'F', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261124, 9, 0),
	       kst(20261124, 9, 0));
	EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, tue_stop, tue_stop - 15 * 60);
	EXPECT(i++, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261124, 18, 0), tue_stop);
	/* Wed: the old warning, then a new one 15 minutes before 19:00. */
	EXPECT(i++, 'F', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261125, 9, 0),
	       kst(20261125, 9, 0));
	EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261125, 18, 0),
	       kst(20261125, 17, 45));
	EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261125, 19, 0),
	       kst(20261125, 18, 45));
	EXPECT(i++, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261125, 18, 0),
	       kst(20261125, 19, 0));
	/* Thu: paused until noon holds the start only. */
	EXPECT(i, 'H', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261126, 9, 0),
	       kst(20261126, 9, 0));
	CHECK(recs[i++].rule == STATE_RULE_PAUSE);
	EXPECT(i++, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261126, 18, 0),
	       kst(20261126, 17, 45));
	EXPECT(i++, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261126, 18, 0),
	       kst(20261126, 18, 0));
	/* Fri: frozen, no warning either. */
	EXPECT(i, 'H', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261127, 9, 0),
	       kst(20261127, 9, 0));
	CHECK(recs[i++].rule == STATE_RULE_FREEZE);
	EXPECT(i, 'H', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261127, 18, 0),
	       kst(20261127, 18, 0));
	CHECK(recs[i++].rule == STATE_RULE_FREEZE);

	/* Frozen: nothing will run; the reason says why. */
	CHECK(!sched_next(s, "dev", kst(20261128, 0, 0), &a));
	CHECK(a.scheduled_at == kst(20261130, 9, 0) && a.decision.rule == STATE_RULE_FREEZE);
	CHECK(strstr(a.decision.reason, "frozen by erin") != NULL);
	state_unfreeze(st);
	CHECK(sched_next(s, "dev", kst(20261128, 0, 0), &a) && a.at == kst(20261130, 9, 0));
	state_destroy(st);
	sched_destroy(s);
	cfg_destroy(cfg);
}

/* A postponed stop whose extend is cleared runs at the next tick; one that
 * is frozen meanwhile is held once, at its extended instant. */
static void test_extend_cleared(void)
{
	struct cfg *cfg = make_cfg("", ENV_DEV);
	struct state *st = state_create();
	struct sched *s = make_sched(cfg, st, NULL);
	CHECK_INT(state_extend_set(st, "dev", 20261123, kst(20261123, 21, 0), "bob", 1, NULL, 0),
		  BOT_OK);
	CHECK_INT(state_extend_set(st, "dev", 20261124, kst(20261124, 21, 0), "bob", 1, NULL, 0),
		  BOT_OK);
	reset_recs();
	fake_ms = (int64_t)kst(20261123, 10, 0) * 1000;
	sched_start(s); /* catches up the 09:00 start */
	run_until(s, kst(20261123, 19, 0));
	CHECK(state_extend_clear(st, "dev", 20261123));
	run_until(s, kst(20261124, 19, 0));
	state_freeze(st, "erin", kst(20261124, 19, 0));
	run_until(s, kst(20261124, 22, 0));
	/* Mon: the stop runs at the first tick after the extend went away.
	 * Tue: frozen at 19:00, so no warning at 20:45 and the stop is held
	 * once, at 21:00 (not at 19:01 and again at 21:00). */
	if (nrec != 4)
		dump_recs();
	CHECK_INT(nrec, 4);
	EXPECT(0, 'F', "dev", ACTION_START, SCHED_CATCH_UP, kst(20261123, 9, 0),
	       kst(20261123, 10, 0));
	EXPECT(1, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 19, 1));
	EXPECT(2, 'F', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261124, 9, 0),
	       kst(20261124, 9, 0));
	EXPECT(3, 'H', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261124, 18, 0),
	       kst(20261124, 21, 0));
	CHECK(nrec > 3 && recs[3].rule == STATE_RULE_FREEZE);
	state_destroy(st);
	sched_destroy(s);
	cfg_destroy(cfg);
}

#define ENV_QA                                                                      \
	"{ name = \"qa\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n" \
	"  schedule: { start = \"0 9 * * *\"; stop = \"30 9 * * *\"; }; }"

/* One start-up: a fresh state with last_tick (0 = none), optional set-up,
 * then the first tick at `now`. Returns the number of records. */
static size_t start_at(const char *envs, time_t last_tick, time_t now,
		       void (*setup)(struct state *st), struct sched **out_s, struct state **out_st,
		       struct cfg **out_cfg)
{
	struct cfg *cfg = make_cfg("", envs);
	struct state *st = state_create();
	state_set_last_tick(st, last_tick);
	if (setup)
		setup(st);
	struct sched *s = make_sched(cfg, st, NULL);
	reset_recs();
	fake_ms = (int64_t)now * 1000 + 7;
	sched_start(s);
	*out_s = s;
	*out_st = st;
	*out_cfg = cfg;
	return nrec;
}

static void finish(struct sched *s, struct state *st, struct cfg *cfg)
{
	sched_destroy(s);
	state_destroy(st);
	cfg_destroy(cfg);
}

static void setup_by_hand(struct state *st)
{
	state_up(st, "dev", kst(20261123, 9, 20)); /* someone started it at 09:20 */
}
static void setup_before(struct state *st)
{
	state_up(st, "dev", kst(20261123, 8, 30)); /* up and down before 09:00 */
	state_down(st, "dev", kst(20261123, 8, 40));
}
static void setup_frozen(struct state *st)
{
	state_freeze(st, "erin", 1);
}
static void setup_extend(struct state *st)
{
	state_extend_set(st, "dev", 20261123, kst(20261123, 19, 0), "bob", 1, NULL, 0);
}

static void test_catch_up(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	time_t mon9 = kst(20261123, 9, 0);

	/* Down from 08:00 to 10:00:30: the 09:00 start runs, once. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 8, 0), kst(20261123, 10, 0) + 30, NULL, &s, &st,
			   &cfg),
		  1);
	EXPECT(0, 'F', "dev", ACTION_START, SCHED_CATCH_UP, mon9, kst(20261123, 10, 0) + 30);
	CHECK_INT(state_last_tick(st), kst(20261123, 10, 0) + 30);
	CHECK_INT(saves, 1);
	run_until(s, kst(20261123, 12, 0));
	CHECK_INT(nrec, 1); /* and not again */
	finish(s, st, cfg);

	/* The most recent only: qa's 09:30 stop, not its 09:00 start. */
	CHECK_INT(start_at(ENV_DEV "," ENV_QA, kst(20261123, 8, 50), kst(20261123, 10, 0), NULL, &s,
			   &st, &cfg),
		  2);
	EXPECT(0, 'F', "dev", ACTION_START, SCHED_CATCH_UP, mon9, kst(20261123, 10, 0));
	EXPECT(1, 'F', "qa", ACTION_STOP, SCHED_CATCH_UP, kst(20261123, 9, 30),
	       kst(20261123, 10, 0));
	finish(s, st, cfg);

	/* last_tick shows the 09:00 tick ran: nothing is missed. */
	CHECK_INT(start_at(ENV_DEV, mon9, kst(20261123, 10, 0), NULL, &s, &st, &cfg), 0);
	finish(s, st, cfg);

	/* Older than catch_up (2h): missed for good, with or without a last tick. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 6, 0), kst(20261123, 11, 1), NULL, &s, &st, &cfg),
		  0);
	finish(s, st, cfg);
	CHECK_INT(start_at(ENV_DEV, 0, kst(20261123, 11, 1), NULL, &s, &st, &cfg), 0);
	finish(s, st, cfg);
	/* First run ever (no last tick): within catch_up it is missed. */
	CHECK_INT(start_at(ENV_DEV, 0, kst(20261123, 10, 59), NULL, &s, &st, &cfg), 1);
	EXPECT(0, 'F', "dev", ACTION_START, SCHED_CATCH_UP, mon9, kst(20261123, 10, 59));
	finish(s, st, cfg);

	/* Someone started it by hand after 09:00: not again. Before: yes. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 8, 0), kst(20261123, 10, 0), setup_by_hand, &s,
			   &st, &cfg),
		  0);
	finish(s, st, cfg);
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 8, 0), kst(20261123, 10, 0), setup_before, &s,
			   &st, &cfg),
		  1);
	finish(s, st, cfg);

	/* Frozen: nothing is caught up. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 8, 0), kst(20261123, 10, 0), setup_frozen, &s,
			   &st, &cfg),
		  0);
	finish(s, st, cfg);

	/* An extended stop missed: caught up at its new instant's window. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 17, 0), kst(20261123, 19, 30), setup_extend, &s,
			   &st, &cfg),
		  1);
	EXPECT(0, 'F', "dev", ACTION_STOP, SCHED_CATCH_UP, kst(20261123, 18, 0),
	       kst(20261123, 19, 30));
	finish(s, st, cfg);
	/* Restarted while the extended stop is still ahead: it runs at 19:00,
	 * after its warning (missed at 18:45? no: restarted at 18:30). */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 17, 0), kst(20261123, 18, 30), setup_extend, &s,
			   &st, &cfg),
		  0);
	run_until(s, kst(20261123, 20, 0));
	CHECK_INT(nrec, 2);
	EXPECT(0, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 19, 0),
	       kst(20261123, 18, 45));
	EXPECT(1, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 19, 0));
	finish(s, st, cfg);

	/* A warning missed while down, for a stop still ahead, goes out. */
	CHECK_INT(start_at(ENV_DEV, kst(20261123, 17, 40), kst(20261123, 17, 50), NULL, &s, &st,
			   &cfg),
		  1);
	EXPECT(0, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 17, 50));
	finish(s, st, cfg);
}

/* Ticks at arbitrary clock readings (as after a jump). */
static void tick_at(struct sched *s, time_t t)
{
	fake_ms = (int64_t)t * 1000 + SCHED_SLACK_MS;
	sched_tick(s);
}

static void test_clock_jumps(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	CHECK_INT(
		start_at(ENV_DEV, kst(20261123, 8, 57), kst(20261123, 8, 58), NULL, &s, &st, &cfg),
		0);
	/* Forward 7 minutes (less than catch_up): 09:00 runs as scheduled. */
	tick_at(s, kst(20261123, 9, 5));
	CHECK_INT(nrec, 1);
	EXPECT(0, 'F', "dev", ACTION_START, SCHED_SCHEDULED, kst(20261123, 9, 0),
	       kst(20261123, 9, 5));
	/* Back 6 minutes: nothing runs twice; last_tick does not go back. */
	tick_at(s, kst(20261123, 8, 59));
	tick_at(s, kst(20261123, 9, 0));
	tick_at(s, kst(20261123, 9, 1));
	CHECK_INT(nrec, 1);
	CHECK_INT(state_last_tick(st), kst(20261123, 9, 5));
	tick_at(s, kst(20261123, 9, 6));
	CHECK_INT(state_last_tick(st), kst(20261123, 9, 6));
	/* Forward 23.5 hours: only Tuesday's 09:00 start (the stop of Monday
	 * 18:00 is older than catch_up), as a catch-up. */
	tick_at(s, kst(20261124, 10, 0));
	CHECK_INT(nrec, 2);
	EXPECT(1, 'F', "dev", ACTION_START, SCHED_CATCH_UP, kst(20261124, 9, 0),
	       kst(20261124, 10, 0));
	/* Forward 3 hours from 16:30 (more than catch_up): the 18:00 stop is
	 * within the last 2 hours, so it runs, once, as a catch-up. */
	tick_at(s, kst(20261124, 16, 30));
	tick_at(s, kst(20261124, 19, 30));
	CHECK_INT(nrec, 3);
	EXPECT(2, 'F', "dev", ACTION_STOP, SCHED_CATCH_UP, kst(20261124, 18, 0),
	       kst(20261124, 19, 30));
	/* Far back (a day): the schedule restarts from the new now. */
	tick_at(s, kst(20261123, 17, 59));
	CHECK_INT(state_last_tick(st), kst(20261123, 17, 59));
	run_until(s, kst(20261123, 18, 0));
	CHECK_INT(nrec, 4);
	EXPECT(3, 'F', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 18, 0),
	       kst(20261123, 18, 0));
	finish(s, st, cfg);
}

/* A gap shorter than catch_up (a stalled loop, a small jump): every action
 * in it runs once, in order, as scheduled. */
static void test_gap_in_order(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	CHECK_INT(start_at(ENV_QA, kst(20261123, 8, 57), kst(20261123, 8, 58), NULL, &s, &st, &cfg),
		  0);
	tick_at(s, kst(20261123, 9, 40));
	CHECK_INT(nrec, 2);
	EXPECT(0, 'F', "qa", ACTION_START, SCHED_SCHEDULED, kst(20261123, 9, 0),
	       kst(20261123, 9, 40));
	EXPECT(1, 'F', "qa", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 9, 30),
	       kst(20261123, 9, 40));
	tick_at(s, kst(20261123, 9, 41));
	CHECK_INT(nrec, 2);
	finish(s, st, cfg);
}

static void setup_enforce_wf(struct state *st)
{
	(void)st;
}

static size_t count_kind(enum sched_kind k, const char *env)
{
	size_t n = 0;
	for (size_t i = 0; i < nrec; i++)
		if (recs[i].type == 'F' && recs[i].kind == k && strcmp(recs[i].env, env) == 0)
			n++;
	return n;
}

static void test_enforce(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	const char *envs = ENV_DEV
		",{ name = \"pinned\"; kind = \"ec2\"; enforce = true;\n"
		"  tag = { key = \"k\"; value = \"v\"; };\n"
		"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; }";
	start_at(envs, kst(20261123, 11, 58), kst(20261123, 11, 59), setup_enforce_wf, &s, &st,
		 &cfg);
	/* Every minute: the desired state, set by the 09:00 start. */
	CHECK_INT(nrec, 1);
	EXPECT(0, 'F', "pinned", ACTION_START, SCHED_ENFORCE, kst(20261123, 9, 0),
	       kst(20261123, 11, 59));
	run_until(s, kst(20261123, 12, 10));
	CHECK_INT(count_kind(SCHED_ENFORCE, "pinned"), 12);
	CHECK_INT(count_kind(SCHED_ENFORCE, "dev"), 0);
	CHECK_INT(saves, 2); /* the first tick and 12:09: enforcing is no change */

	/* Not while a workflow of it runs, nor while paused or frozen. */
	struct state_wf wf;
	memset(&wf, 0, sizeof(wf));
	snprintf(wf.env, sizeof(wf.env), "pinned");
	snprintf(wf.id, sizeof(wf.id), "wf-1");
	CHECK_INT(state_wf_put(st, &wf, NULL, 0), BOT_OK);
	reset_recs();
	run_until(s, kst(20261123, 12, 20));
	CHECK_INT(nrec, 0);
	state_wf_remove(st, "pinned");
	CHECK_INT(state_pause_set(st, "pinned", 0, kst(20261123, 12, 30), "carol", 1, NULL, 0),
		  BOT_OK);
	run_until(s, kst(20261123, 12, 29));
	CHECK_INT(nrec, 0);
	/* The pause ran out: by the conflict rule every action before its
	 * end was held, so nothing is enforced until /schedule resume (or the
	 * next scheduled action). */
	run_until(s, kst(20261123, 12, 31));
	CHECK_INT(nrec, 0);
	CHECK(state_pause_clear(st, "pinned"));
	run_until(s, kst(20261123, 12, 32));
	CHECK_INT(nrec, 1);
	state_freeze(st, "erin", 1);
	run_until(s, kst(20261123, 12, 40));
	CHECK_INT(nrec, 1);
	state_unfreeze(st);

	/* An extend keeps it up past 18:00; the stop then sets it down. */
	state_extend_set(st, "pinned", 20261123, kst(20261123, 19, 0), "bob", 1, NULL, 0);
	reset_recs();
	run_until(s, kst(20261123, 19, 2));
	size_t i = 0, enf_start = 0, enf_stop = 0;
	for (; i < nrec; i++) {
		if (strcmp(recs[i].env, "pinned") != 0 || recs[i].type != 'F')
			continue;
		if (recs[i].kind == SCHED_ENFORCE && recs[i].action == ACTION_START) {
			enf_start++;
			CHECK(recs[i].when_ms < (int64_t)kst(20261123, 19, 0) * 1000);
		}
		if (recs[i].kind == SCHED_ENFORCE && recs[i].action == ACTION_STOP) {
			enf_stop++;
			CHECK(recs[i].when_ms > (int64_t)kst(20261123, 19, 0) * 1000);
		}
	}
	CHECK_INT(count_kind(SCHED_SCHEDULED, "pinned"), 1); /* the stop at 19:00 */
	CHECK_INT(enf_stop, 2);                              /* 19:01, 19:02 */
	CHECK_INT(enf_start, 6 * 60 + 19);                   /* 12:41 .. 18:59 */
	finish(s, st, cfg);
}

/* Watch: an environment that wakes up by itself gets its stop again every
 * SCHED_WATCH_MINUTES while the schedule says down, never while it says up,
 * nor during a lease, nor for one that is enforced (that one every minute). */
static void test_watch(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	const char *envs = ENV_DEV
		",{ name = \"db\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
		"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; }"
		",{ name = \"dbpinned\"; kind = \"ec2\"; enforce = true;\n"
		"  tag = { key = \"k\"; value = \"v\"; };\n"
		"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; }";
	/* Monday 18:59: the 18:00 stop ran (last_tick 18:01). */
	start_at(envs, kst(20261123, 18, 1), kst(20261123, 18, 59), NULL, &s, &st, &cfg);
	reset_recs();
	run_until(s, kst(20261123, 20, 0));
	/* 19:00, 19:15, 19:30, 19:45, 20:00 */
	CHECK_INT(count_kind(SCHED_WATCH, "db"), 5);
	CHECK_INT(count_kind(SCHED_WATCH, "dev"), 0);
	CHECK_INT(count_kind(SCHED_WATCH, "dbpinned"), 0);
	CHECK_INT(count_kind(SCHED_ENFORCE, "dbpinned"), 61);
	for (size_t i = 0; i < nrec; i++) {
		if (recs[i].kind != SCHED_WATCH)
			continue;
		CHECK(recs[i].action == ACTION_STOP);
		CHECK(recs[i].scheduled_at == kst(20261123, 18, 0));
		CHECK((recs[i].when_ms / 1000 / 60) % SCHED_WATCH_MINUTES == 0);
	}
	/* A manual start's lease holds the watch off. */
	CHECK_INT(
		state_lease_set(st, "db", ACTION_START, 0, "alice", kst(20261123, 20, 1), NULL, 0),
		BOT_OK);
	reset_recs();
	run_until(s, kst(20261123, 21, 0));
	CHECK_INT(count_kind(SCHED_WATCH, "db"), 0);
	/* The next morning the schedule says up: no watch all day. */
	state_lease_clear(st, "db");
	reset_recs();
	run_until(s, kst(20261124, 8, 59));
	size_t overnight = count_kind(SCHED_WATCH, "db");
	CHECK(overnight >= 4 * 11); /* 21:15 .. 08:45 */
	reset_recs();
	run_until(s, kst(20261124, 17, 59));
	CHECK_INT(count_kind(SCHED_WATCH, "db"), 0);
	CHECK_INT(count_kind(SCHED_SCHEDULED, "db"), 1); /* the 09:00 start */
	finish(s, st, cfg);
}

/* Leases: an off-hours start at 20:00 for 2h is stopped at 22:00 (SCHED_LEASE)
 * with its warning 15 min before; enforce leaves a leased environment alone;
 * a stop override holds enforce until the next scheduled transition, which
 * drops it; the lease survives a new scheduler (a restart) and one that ended
 * while envbot was down ends at the first tick; held while frozen. */
static void test_leases(void)
{
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	enum action want;
	struct sched_action na;
	const char *envs = ENV_DEV
		",{ name = \"pinned\"; kind = \"ec2\"; enforce = true;\n"
		"  tag = { key = \"k\"; value = \"v\"; };\n"
		"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; }";
	start_at(envs, kst(20261123, 19, 58), kst(20261123, 19, 59), NULL, &s, &st, &cfg);
	CHECK(sched_desired(s, "dev", kst(20261123, 20, 0), &want) && want == ACTION_STOP);
	CHECK(sched_desired(s, "dev", kst(20261123, 10, 0), &want) && want == ACTION_START);
	CHECK(!sched_desired(s, "nosuch", kst(20261123, 10, 0), &want));
	/* The enforced one wants down: its enforce stop each minute. */
	CHECK_INT(count_kind(SCHED_ENFORCE, "pinned"), 1);
	CHECK_INT(state_lease_set(st, "dev", ACTION_START, kst(20261123, 22, 0), "alice",
				  kst(20261123, 20, 0), NULL, 0),
		  BOT_OK);
	CHECK_INT(state_lease_set(st, "pinned", ACTION_START, kst(20261123, 22, 30), "bob",
				  kst(20261123, 20, 0), NULL, 0),
		  BOT_OK);
	/* Refused: an end in the past. */
	CHECK_INT(state_lease_set(st, "dev", ACTION_START, kst(20261123, 19, 0), "alice",
				  kst(20261123, 20, 0), NULL, 0),
		  BOT_EINVAL);
	CHECK(sched_next(s, "dev", kst(20261123, 20, 1), &na) && na.action == ACTION_STOP &&
	      na.at == kst(20261123, 22, 0));
	reset_recs();
	run_until(s, kst(20261123, 21, 0));
	CHECK_INT(nrec, 0); /* enforce keeps off the leased one */
	run_until(s, kst(20261123, 22, 0));
	if (nrec != 2)
		dump_recs();
	CHECK_INT(nrec, 2);
	EXPECT(0, 'W', "dev", ACTION_STOP, SCHED_SCHEDULED, kst(20261123, 22, 0),
	       kst(20261123, 21, 45));
	EXPECT(1, 'F', "dev", ACTION_STOP, SCHED_LEASE, kst(20261123, 22, 0), kst(20261123, 22, 0));
	CHECK(state_lease_of(st, "dev") == NULL);
	CHECK(state_lease_of(st, "pinned") != NULL);

	/* A restart in the middle of pinned's lease: the new scheduler (over
	 * the saved state) ends it at 22:30, its warning at 22:15. */
	char *json = state_dump(st);
	struct state *st2 = NULL;
	CHECK_INT(state_parse(json, &st2, NULL, 0), BOT_OK);
	free(json);
	sched_destroy(s);
	state_destroy(st);
	st = st2;
	s = make_sched(cfg, st, NULL);
	reset_recs();
	sched_start(s);
	run_until(s, kst(20261123, 22, 31));
	CHECK_INT(count_kind(SCHED_LEASE, "pinned"), 1);
	CHECK_INT(count_kind(SCHED_ENFORCE, "pinned"), 1); /* 22:31: enforcing again */
	CHECK(state_lease_of(st, "pinned") == NULL);

	/* A manual stop during hours on an enforced env: held off until the
	 * next scheduled transition (the start of 11-24), which drops it. */
	CHECK_INT(state_lease_set(st, "pinned", ACTION_STOP, 0, "carol", kst(20261123, 22, 40),
				  NULL, 0),
		  BOT_OK);
	reset_recs();
	run_until(s, kst(20261124, 9, 2));
	CHECK_INT(count_kind(SCHED_ENFORCE, "pinned"), 2); /* 09:01, 09:02 */
	CHECK_INT(count_kind(SCHED_SCHEDULED, "pinned"), 1);
	CHECK(state_lease_of(st, "pinned") == NULL);

	/* A lease that ended while envbot was down ends at the first tick;
	 * while frozen it is held (and dropped). */
	CHECK_INT(state_lease_set(st, "dev", ACTION_START, kst(20261124, 9, 30), "alice",
				  kst(20261124, 9, 10), NULL, 0),
		  BOT_OK);
	sched_destroy(s);
	s = make_sched(cfg, st, NULL);
	reset_recs();
	fake_ms = (int64_t)kst(20261124, 11, 0) * 1000;
	sched_start(s);
	/* The 09:00 start came before the lease was set: it does not end it. */
	CHECK_INT(count_kind(SCHED_LEASE, "dev"), 1);
	CHECK(state_lease_of(st, "dev") == NULL);
	CHECK_INT(state_lease_set(st, "dev", ACTION_START, kst(20261124, 11, 30), "alice",
				  kst(20261124, 11, 0), NULL, 0),
		  BOT_OK);
	state_freeze(st, "erin", 1);
	reset_recs();
	run_until(s, kst(20261124, 11, 31));
	CHECK_INT(count_kind(SCHED_LEASE, "dev"), 0);
	CHECK(nrec == 1 && recs[0].type == 'H');
	CHECK(state_lease_of(st, "dev") == NULL);
	finish(s, st, cfg);
}

/* America/New_York: 02:30 does not exist on 2026-03-08 (runs at 03:00 EDT);
 * 01:30 happens twice on 2026-11-01 (runs once, the first time). */
static void drop_warnings(void)
{
	size_t k = 0;
	for (size_t i = 0; i < nrec; i++)
		if (recs[i].type != 'W')
			recs[k++] = recs[i];
	nrec = k;
}

static void test_dst(void)
{
	const char *envs =
		"{ name = \"ny\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
		"  schedule: { start = \"30 2 * * *\"; stop = \"30 1 * * *\";\n"
		"              timezone = \"America/New_York\"; }; }";
	struct sched *s;
	struct state *st;
	struct cfg *cfg;
	start_at(envs, 0, at_off(20260307, 0, 0, 0, -5), NULL, &s, &st, &cfg);
	run_until(s, at_off(20260309, 0, 0, 0, -4));
	drop_warnings();
	if (nrec != 4)
		dump_recs();
	CHECK_INT(nrec, 4);
	EXPECT(0, 'F', "ny", ACTION_STOP, SCHED_SCHEDULED, at_off(20260307, 1, 30, 0, -5),
	       at_off(20260307, 1, 30, 0, -5));
	EXPECT(1, 'F', "ny", ACTION_START, SCHED_SCHEDULED, at_off(20260307, 2, 30, 0, -5),
	       at_off(20260307, 2, 30, 0, -5));
	EXPECT(2, 'F', "ny", ACTION_STOP, SCHED_SCHEDULED, at_off(20260308, 1, 30, 0, -5),
	       at_off(20260308, 1, 30, 0, -5));
	EXPECT(3, 'F', "ny", ACTION_START, SCHED_SCHEDULED, at_off(20260308, 3, 0, 0, -4),
	       at_off(20260308, 3, 0, 0, -4));
	finish(s, st, cfg);

	start_at(envs, 0, at_off(20261031, 0, 0, 0, -4), NULL, &s, &st, &cfg);
	run_until(s, at_off(20261102, 0, 0, 0, -5));
	drop_warnings();
	if (nrec != 4)
		dump_recs();
	CHECK_INT(nrec, 4);
	EXPECT(0, 'F', "ny", ACTION_STOP, SCHED_SCHEDULED, at_off(20261031, 1, 30, 0, -4),
	       at_off(20261031, 1, 30, 0, -4));
	EXPECT(1, 'F', "ny", ACTION_START, SCHED_SCHEDULED, at_off(20261031, 2, 30, 0, -4),
	       at_off(20261031, 2, 30, 0, -4));
	EXPECT(2, 'F', "ny", ACTION_STOP, SCHED_SCHEDULED, at_off(20261101, 1, 30, 0, -4),
	       at_off(20261101, 1, 30, 0, -4));
	EXPECT(3, 'F', "ny", ACTION_START, SCHED_SCHEDULED, at_off(20261101, 2, 30, 0, -5),
	       at_off(20261101, 2, 30, 0, -5));
	finish(s, st, cfg);
}

/* The real loop: the timer lands within a second of 09:00:00 and of an
 * extended stop at 20:30:30, with the fake clock running at real speed. */
static int64_t live_base_ms;
static uint64_t live_mono0;
static struct loop *live_loop;
static int64_t live_clock(void *arg)
{
	(void)arg;
	return live_base_ms + (int64_t)(loop_now_ms() - live_mono0);
}
static void live_fire(void *arg, const struct cfg_env *env, enum action action,
		      enum sched_kind kind, time_t scheduled_at, const struct state_decision *d)
{
	(void)arg;
	fake_ms = live_clock(NULL);
	rec_add('F', env, action, kind, scheduled_at, d);
	loop_stop(live_loop);
}
static void live_timeout(void *arg)
{
	(void)arg;
	loop_stop(live_loop);
}

static void live_case(time_t due, void (*setup)(struct state *st), enum action want,
		      time_t want_sched)
{
	struct cfg *cfg = make_cfg("", ENV_DEV);
	struct state *st = state_create();
	if (setup)
		setup(st);
	live_loop = loop_create();
	live_mono0 = loop_now_ms();
	live_base_ms = (int64_t)due * 1000 - 80; /* 80 ms before the instant */
	struct sched_deps d = {
		.loop = live_loop,
		.cfg = cfg,
		.st = st,
		.clock = live_clock,
		.fire = live_fire,
	};
	struct sched *s = sched_create(&d);
	reset_recs();
	struct loop_timer *guard = loop_timer_add(live_loop, 3000, live_timeout, NULL);
	sched_start(s);
	loop_run(live_loop);
	CHECK_INT(nrec, 1);
	if (nrec == 1) {
		CHECK(recs[0].action == want && recs[0].scheduled_at == want_sched);
		CHECK(recs[0].when_ms >= (int64_t)due * 1000 &&
		      recs[0].when_ms < (int64_t)due * 1000 + 1000);
		CHECK(loop_now_ms() - live_mono0 < 1000); /* and really that soon */
		loop_timer_cancel(live_loop, guard);
	}
	sched_destroy(s);
	loop_destroy(live_loop);
	state_destroy(st);
	cfg_destroy(cfg);
}

static void setup_extend_odd(struct state *st)
{
	state_extend_set(st, "dev", 20261124, kst(20261124, 20, 30) + 30, "bob", 1, NULL, 0);
}

static void test_live_timer(void)
{
	live_case(kst(20261123, 9, 0), NULL, ACTION_START, kst(20261123, 9, 0));
	live_case(kst(20261124, 20, 30) + 30, setup_extend_odd, ACTION_STOP, kst(20261124, 18, 0));
}

/* /schedule show with every kind of override, and a reload. */
static void test_queries(void)
{
	struct cfg *cfg = make_cfg("holidays = [ \"2026-11-25\" ];", ENV_DEV);
	struct state *st = state_create();
	struct sched *s = make_sched(cfg, st, NULL);
	state_skip_add(st, "dev", 20261123, "alice", 1, NULL, 0);
	state_extend_set(st, "dev", 20261124, kst(20261124, 20, 0), "bob", 1, NULL, 0);
	struct collect c = { .n = 0 };
	CHECK_INT(sched_upcoming(s, "dev", kst(20261123, 0, 0), 7, collect_cb, &c), 10);
	CHECK(c.n == 10);
	/* Mon start skipped; Mon stop; Tue start; Tue stop at 20:00; Wed
	 * holiday; Wed stop; Thu and Fri run. */
	CHECK(!c.v[0].decision.run && c.v[0].decision.rule == STATE_RULE_SKIP);
	CHECK(c.v[1].decision.run && c.v[1].action == ACTION_STOP);
	CHECK(c.v[3].action == ACTION_STOP && c.v[3].at == kst(20261124, 20, 0) &&
	      c.v[3].scheduled_at == kst(20261124, 18, 0) &&
	      c.v[3].decision.rule == STATE_RULE_EXTEND);
	CHECK(!c.v[4].decision.run && c.v[4].decision.rule == STATE_RULE_HOLIDAY);
	CHECK(c.v[8].decision.run && c.v[8].action == ACTION_START &&
	      c.v[8].at == kst(20261127, 9, 0));
	CHECK(c.v[9].decision.run && c.v[9].at == kst(20261127, 18, 0));
	/* A pause until Friday outranks the skip. */
	state_pause_set(st, "dev", 20261127, 0, "carol", 1, NULL, 0);
	c.n = 0;
	CHECK_INT(sched_upcoming(s, "dev", kst(20261123, 0, 0), 7, collect_cb, &c), 10);
	CHECK(c.v[0].decision.rule == STATE_RULE_PAUSE && c.v[3].decision.rule == STATE_RULE_PAUSE);
	CHECK(c.v[8].decision.run);
	state_pause_clear(st, "dev");

	/* From 19:00 Tuesday the postponed stop is listed first. */
	c.n = 0;
	CHECK_INT(sched_upcoming(s, "dev", kst(20261124, 19, 0), 1, collect_cb, &c), 3);
	CHECK(c.v[0].at == kst(20261124, 20, 0) && c.v[0].scheduled_at == kst(20261124, 18, 0));
	/* The callback can stop the listing. */
	c.n = 0;
	c.stop_after = 3;
	CHECK_INT(sched_upcoming(s, "dev", kst(20261123, 0, 0), 7, collect_cb, &c), 3);
	CHECK_INT(sched_upcoming(s, "nope", kst(20261123, 0, 0), 7, collect_cb, &c), 0);

	struct sched_action a;
	CHECK(sched_next(s, "dev", kst(20261124, 19, 0), &a)); /* the extended stop */
	CHECK(a.at == kst(20261124, 20, 0) && a.scheduled_at == kst(20261124, 18, 0));
	/* Wednesday is a holiday: after Tuesday's stop comes Wednesday's. */
	CHECK(sched_next(s, "dev", kst(20261124, 21, 0), &a));
	CHECK(a.action == ACTION_STOP && a.at == kst(20261125, 18, 0));
	/* Paused until Friday: the next action that runs is Friday's start,
	 * and while frozen none (the reason says so). */
	state_pause_set(st, "dev", 20261127, 0, "carol", 1, NULL, 0);
	CHECK(sched_next(s, "dev", kst(20261124, 21, 0), &a));
	CHECK(a.action == ACTION_START && a.at == kst(20261127, 9, 0));

	/* A reload to another zone applies at once. */
	struct cfg *cfg2 = NULL;
	char text[1024], err[1024];
	snprintf(text, sizeof(text),
		 "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
		 "aws: { region = \"eu-west-1\"; };\ntimezone = \"UTC\";\n"
		 "environments = ( %s );\n",
		 ENV_DEV);
	CHECK_INT(cfg_load_string(text, "utc.cfg", envbot_kinds, &cfg2, err, sizeof(err)), BOT_OK);
	if (!cfg2) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(sched_set_config(s, cfg2), BOT_OK);
	state_pause_clear(st, "dev");
	/* Thu 10:00 UTC is 19:00 KST: in Seoul the next would be Friday's start. */
	CHECK(sched_next(s, "dev", at_off(20261126, 10, 0, 0, 0), &a));
	CHECK(a.action == ACTION_STOP && a.at == at_off(20261126, 18, 0, 0, 0));
	sched_destroy(s);
	state_destroy(st);
	cfg_destroy(cfg);
	cfg_destroy(cfg2);
}

int main(void)
{
	test_week();
	test_holidays();
	test_overrides();
	test_extend_cleared();
	test_catch_up();
	test_clock_jumps();
	test_gap_in_order();
	test_enforce();
	test_watch();
	test_leases();
	test_dst();
	test_queries();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_live_timer();
	curl_global_cleanup();
	return check_done();
}
