/* The scheduler: on each tick, the cron instants that came due since the last
 * tick are decided by state_decide() and handed to the daemon's callbacks;
 * extended stops are remembered until their new instant; the first tick (and
 * a forward clock jump) replays only the most recent missed action. Listing
 * reuses plan_events() (plan.c), so /schedule show, `envbot plan` and the
 * ticks all walk the same merged start/stop sequence. */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "holidays.h"
#include "plan.h"

/* Backward and forward walks over held actions stop after this many steps (a
 * start every minute on a long run of skipped days is the worst case; whole
 * days, pauses and the freeze are jumped over at once). */
#define SCHED_WALK_MAX 10000
/* One tick or listing handles at most this many instants of one env (a
 * minute cron over ~70 days); the rest is logged and dropped. */
#define SCHED_MAX_EVENTS 100000
/* Stops postponed by an extend, waiting for their new instant. */
#define SCHED_POSTPONED_MAX 4096

struct sched_env {
	const struct cfg_env *env; /* borrowed from the config */
	const struct tz *tz;       /* borrowed from the config (opened once at load) */
};

/* A stop that an extend postponed, fired (or held) once its new instant
 * comes, or at once if the extend disappears. Keyed by name: a config reload
 * renumbers the environments. */
struct postponed {
	char env[STATE_NAME_MAX];
	time_t scheduled_at;
	time_t due; /* the extended instant last seen */
};

struct sched {
	struct sched_deps d;
	struct sched_env *envs;
	size_t n_envs;
	struct loop_timer *timer;
	bool armed;  /* sched_start was called: keep a timer */
	bool ticked; /* the first (catch-up) tick has run */
	time_t last; /* the last tick's wall-clock second */
	/* Instants after this one were seen by this process at their time (and
	 * fired, held or remembered); earlier ones only through the state. */
	time_t seen_from;
	time_t last_saved;
	struct postponed *pp;
	size_t n_pp, cap_pp;
};

/* What one tick decided for one env, dispatched after the decisions are all
 * made so that callbacks may change the state freely. */
enum ev_type { EV_FIRE, EV_HELD, EV_WARN };
struct ev {
	enum ev_type type;
	enum sched_kind kind;
	struct sched_action a;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

/* ------------------------------------------------------------------ helpers */

static int64_t clock_realtime(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct sched *s)
{
	return s->d.clock(s->d.clock_arg);
}

static time_t ms_to_sec(int64_t ms)
{
	return (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
}

const char *sched_kind_name(enum sched_kind k)
{
	switch (k) {
	case SCHED_SCHEDULED: return "scheduled";
	case SCHED_CATCH_UP: return "catch-up";
	case SCHED_ENFORCE: return "enforce";
	case SCHED_LEASE: return "lease";
	case SCHED_WATCH: return "watch";
	}
	return "?";
}

/* Not action_name(): the scheduler does not link the workflow library. */
static const struct cron *cron_of(const struct cfg_env *e, enum action a)
{
	if (a == ACTION_START)
		return e->schedule.start_expr ? &e->schedule.start : NULL;
	return e->schedule.stop_expr ? &e->schedule.stop : NULL;
}

static const struct sched_env *env_by_name(const struct sched *s, const char *name)
{
	for (size_t i = 0; name && i < s->n_envs; i++)
		if (strcmp(s->envs[i].env->name, name) == 0)
			return &s->envs[i];
	return NULL;
}

/* The decision for the action of kind a scheduled at `at`. */
static void decide(const struct sched *s, const struct sched_env *se, enum action a, time_t at,
		   struct sched_action *out)
{
	memset(out, 0, sizeof(*out));
	out->action = a;
	out->scheduled_at = at;
	/* The config's holidays and the calendars' as the state holds them now:
	 * a refresh counts from the next decision on. */
	struct holidays_of ho = { .cfg = s->d.cfg, .st = s->d.st, .env = se->env };
	state_decide(s->d.st, se->env->name, a == ACTION_START ? ACTION_START : ACTION_STOP, at,
		     plan_local_date(se->tz, at), holidays_decide_fn, &ho, se->tz, &out->decision);
	out->at = out->decision.at;
}

static bool is_extended(const struct sched_action *a)
{
	return a->decision.run && a->decision.rule == STATE_RULE_EXTEND && a->at > a->scheduled_at;
}

/* The env's scheduled instants in [from, to), merged in order (plan.c's
 * sequence). Returns how many are in *out: buf when they fit, else a new
 * array the caller frees (compare with buf). */
static size_t scheduled_in(const struct sched_env *se, time_t from, time_t to,
			   struct plan_event *buf, size_t nbuf, struct plan_event **out)
{
	struct plan_schedule ps = {
		.start = cron_of(se->env, ACTION_START),
		.stop = cron_of(se->env, ACTION_STOP),
		.tz = se->tz,
	};
	*out = buf;
	if (to <= from)
		return 0;
	size_t n = plan_events(&ps, from, to, buf, nbuf);
	if (n <= nbuf)
		return n;
	if (n > SCHED_MAX_EVENTS) {
		log_warn("sched",
			 "msg=\"too many scheduled instants; the latest are dropped\" "
			 "env=%s count=%zu",
			 se->env->name, n);
		n = SCHED_MAX_EVENTS;
	}
	struct plan_event *v = malloc(n * sizeof(*v));
	if (!v) {
		log_error("sched", "msg=\"out of memory listing the schedule\" env=%s",
			  se->env->name);
		return nbuf;
	}
	plan_events(&ps, from, to, v, n);
	*out = v;
	return n;
}

/* The scheduled stop that extend x postpones: the last stop of x's date
 * before the new instant. Fills *out with its current decision; false when
 * that date has no such stop. */
static bool extend_target(const struct sched *s, const struct sched_env *se,
			  const struct state_extend *x, struct sched_action *out)
{
	const struct cron *c = cron_of(se->env, ACTION_STOP);
	time_t t0 = plan_local_midnight(se->tz, x->date);
	time_t t1 = plan_local_midnight(se->tz, when_add_days(x->date, 1));
	time_t hi = x->stop_at < t1 ? x->stop_at : t1, p;
	if (!c || hi <= t0 || cron_prev(c, se->tz, hi - 1, &p) != 0 || p < t0)
		return false;
	decide(s, se, ACTION_STOP, p, out);
	return true;
}

/* The extends of env, copied (callbacks and decisions must not hold
 * pointers into the state). Returns the count, at most max. */
static size_t extends_of(const struct sched *s, const char *env, struct state_extend *out,
			 size_t max)
{
	size_t n = state_extend_count(s->d.st, env), k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		const struct state_extend *x = state_extend_at(s->d.st, env, i);
		if (x)
			out[k++] = *x;
	}
	return k;
}

static bool evlist_add(struct evlist *l, enum ev_type type, enum sched_kind kind,
		       const struct sched_action *a)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct ev *v = realloc(l->v, ncap * sizeof(*v));
		if (!v) {
			log_error("sched", "msg=\"out of memory; an action is dropped\" at=%lld",
				  (long long)a->at);
			return false;
		}
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = (struct ev){ .type = type, .kind = kind, .a = *a };
	return true;
}

/* Order of effect: by instant, warnings before actions, starts before stops
 * (plan.c's order for equal instants). */
static int ev_cmp(const void *pa, const void *pb)
{
	const struct ev *a = pa, *b = pb;
	time_t ta = a->type == EV_WARN ? a->a.at - 1 : a->a.at;
	time_t tb = b->type == EV_WARN ? b->a.at - 1 : b->a.at;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->a.action != b->a.action)
		return a->a.action == ACTION_START ? -1 : 1;
	return a->a.scheduled_at < b->a.scheduled_at ? -1 : a->a.scheduled_at > b->a.scheduled_at;
}

/* ---------------------------------------------------------------- postponed */

static struct postponed *pp_find(struct sched *s, const char *env, time_t scheduled_at)
{
	for (size_t i = 0; i < s->n_pp; i++)
		if (s->pp[i].scheduled_at == scheduled_at && strcmp(s->pp[i].env, env) == 0)
			return &s->pp[i];
	return NULL;
}

static void pp_add(struct sched *s, const char *env, time_t scheduled_at, time_t due)
{
	struct postponed *old = pp_find(s, env, scheduled_at);
	if (old) {
		old->due = due;
		return;
	}
	if (s->n_pp >= SCHED_POSTPONED_MAX) {
		/* Not lost: the extend itself still fires it at its instant. */
		log_warn("sched", "msg=\"too many postponed stops remembered\" env=%s", env);
		return;
	}
	if (s->n_pp == s->cap_pp) {
		size_t ncap = s->cap_pp ? s->cap_pp * 2 : 8;
		struct postponed *v = realloc(s->pp, ncap * sizeof(*v));
		if (!v)
			return;
		s->pp = v;
		s->cap_pp = ncap;
	}
	snprintf(s->pp[s->n_pp].env, sizeof(s->pp[s->n_pp].env), "%s", env);
	s->pp[s->n_pp].scheduled_at = scheduled_at;
	s->pp[s->n_pp].due = due;
	s->n_pp++;
}

static void pp_remove_at(struct sched *s, size_t i)
{
	s->pp[i] = s->pp[--s->n_pp];
}

/* ------------------------------------------------------------------- create */

/* One entry per environment of cfg. Returns BOT_OK and a new array (caller
 * frees), or BOT_ENOMEM. */
static enum bot_rc envs_open(const struct cfg *cfg, struct sched_env **out)
{
	*out = NULL;
	if (cfg->n_envs == 0)
		return BOT_OK;
	struct sched_env *v = calloc(cfg->n_envs, sizeof(*v));
	if (!v)
		return BOT_ENOMEM;
	for (size_t i = 0; i < cfg->n_envs; i++)
		v[i] = (struct sched_env){ .env = &cfg->envs[i],
					   .tz = cfg_env_tz(cfg, &cfg->envs[i]) };
	*out = v;
	return BOT_OK;
}

struct sched *sched_create(const struct sched_deps *deps)
{
	struct sched *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = *deps;
	if (!s->d.clock) {
		s->d.clock = clock_realtime;
		s->d.clock_arg = NULL;
	}
	if (envs_open(s->d.cfg, &s->envs) != BOT_OK) {
		free(s);
		return NULL;
	}
	s->n_envs = s->d.cfg->n_envs;
	return s;
}

void sched_destroy(struct sched *s)
{
	if (!s)
		return;
	if (s->timer)
		loop_timer_cancel(s->d.loop, s->timer);
	free(s->envs);
	free(s->pp);
	free(s);
}

enum bot_rc sched_set_config(struct sched *s, const struct cfg *cfg)
{
	struct sched_env *v;
	enum bot_rc rc = envs_open(cfg, &v);
	if (rc != BOT_OK)
		return rc;
	free(s->envs);
	s->envs = v;
	s->n_envs = cfg->n_envs;
	s->d.cfg = cfg;
	/* Forget postponed stops of environments that are gone. */
	for (size_t i = 0; i < s->n_pp;) {
		if (!env_by_name(s, s->pp[i].env))
			pp_remove_at(s, i);
		else
			i++;
	}
	return BOT_OK;
}

/* -------------------------------------------------------------------- ticks */

/* Normal tick of one env: everything due in (last, now]. */
static void tick_window(struct sched *s, const struct sched_env *se, time_t last, time_t now,
			struct evlist *out)
{
	const char *name = se->env->name;
	struct plan_event buf[16], *evs;
	struct sched_action a;
	size_t n = scheduled_in(se, last + 1, now + 1, buf, 16, &evs);
	for (size_t i = 0; i < n; i++) {
		decide(s, se, (enum action)evs[i].action, evs[i].at, &a);
		if (!a.decision.run)
			evlist_add(out, EV_HELD, SCHED_SCHEDULED, &a);
		else if (!is_extended(&a))
			evlist_add(out, EV_FIRE, SCHED_SCHEDULED, &a);
		else if (a.at > now)
			pp_add(s, name, a.scheduled_at, a.at);
		else if (a.at > last)
			evlist_add(out, EV_FIRE, SCHED_SCHEDULED, &a); /* moved within the window */
	}
	if (evs != buf)
		free(evs);

	/* Extends whose instant came: the stops they postponed, unless one
	 * remembered below covers it. This also fires a stop that was postponed
	 * before this process started. */
	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, name, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		if (xs[i].stop_at <= last || xs[i].stop_at > now ||
		    !extend_target(s, se, &xs[i], &a))
			continue;
		if (pp_find(s, name, a.scheduled_at) || a.scheduled_at > last)
			continue; /* remembered, or seen in the loop above */
		if (!a.decision.run && a.scheduled_at > s->seen_from)
			continue; /* reported held at its own instant already */
		if (!a.decision.run) {
			a.at = xs[i].stop_at;
			evlist_add(out, EV_HELD, SCHED_SCHEDULED, &a);
		} else if (is_extended(&a) && a.at == xs[i].stop_at) {
			evlist_add(out, EV_FIRE, SCHED_SCHEDULED, &a);
		}
	}

	/* Remembered postponed stops: due, held since, or their extend gone. */
	for (size_t i = 0; i < s->n_pp;) {
		struct postponed *p = &s->pp[i];
		if (strcmp(p->env, name) != 0) {
			i++;
			continue;
		}
		decide(s, se, ACTION_STOP, p->scheduled_at, &a);
		if (a.decision.run && is_extended(&a) && a.at > now) {
			p->due = a.at; /* still ahead (maybe moved again) */
			i++;
			continue;
		}
		if (!a.decision.run && p->due > now) {
			i++; /* held now; reported when its instant comes */
			continue;
		}
		if (!a.decision.run) {
			a.at = now;
			evlist_add(out, EV_HELD, SCHED_SCHEDULED, &a);
		} else {
			/* Due now, or the extend was cleared or moved into the
			 * past: the stop is overdue and runs now. */
			if (a.at <= last)
				a.at = now;
			evlist_add(out, EV_FIRE, SCHED_SCHEDULED, &a);
		}
		pp_remove_at(s, i);
	}
}

/* Stop warnings whose instant (stop - warn_before) is in (lo, now], for stops
 * still ahead that will run. */
static void warnings(const struct sched *s, const struct sched_env *se, time_t lo, time_t now,
		     struct evlist *out)
{
	time_t w = (time_t)s->d.cfg->warn_before;
	struct plan_event buf[16], *evs;
	struct sched_action a;
	if (w <= 0 || !cron_of(se->env, ACTION_STOP))
		return;
	size_t n = scheduled_in(se, lo + w + 1, now + w + 1, buf, 16, &evs);
	for (size_t i = 0; i < n; i++) {
		if (evs[i].action != ACTION_STOP || evs[i].at <= now)
			continue;
		decide(s, se, ACTION_STOP, evs[i].at, &a);
		if (a.decision.run && !is_extended(&a))
			evlist_add(out, EV_WARN, SCHED_SCHEDULED, &a);
	}
	if (evs != buf)
		free(evs);

	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, se->env->name, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		time_t wi = xs[i].stop_at - w;
		if (wi <= lo || wi > now || xs[i].stop_at <= now ||
		    !extend_target(s, se, &xs[i], &a))
			continue;
		if (is_extended(&a) && a.at == xs[i].stop_at)
			evlist_add(out, EV_WARN, SCHED_SCHEDULED, &a);
	}
}

/* Catch-up of one env: the most recent action of (lo, now] that runs. */
static void catch_up(struct sched *s, const struct sched_env *se, time_t lo, time_t now,
		     struct evlist *out)
{
	const char *name = se->env->name;
	struct plan_event buf[16], *evs;
	struct sched_action a, best;
	bool have = false;

	/* Postponed stops remembered before a clock jump are candidates too. */
	for (size_t i = 0; i < s->n_pp;) {
		if (strcmp(s->pp[i].env, name) != 0) {
			i++;
			continue;
		}
		decide(s, se, ACTION_STOP, s->pp[i].scheduled_at, &a);
		if (a.decision.run && is_extended(&a) && a.at > now) {
			i++;
			continue;
		}
		if (a.decision.run && a.at > lo && (!have || a.at >= best.at)) {
			best = a;
			have = true;
		}
		pp_remove_at(s, i);
	}

	size_t n = scheduled_in(se, lo + 1, now + 1, buf, 16, &evs);
	for (size_t i = 0; i < n; i++) {
		decide(s, se, (enum action)evs[i].action, evs[i].at, &a);
		if (!a.decision.run)
			continue;
		if (a.at > now) {
			pp_add(s, name, a.scheduled_at, a.at);
			continue;
		}
		if (!have || a.at >= best.at) { /* equal: the later in order wins */
			best = a;
			have = true;
		}
	}
	if (evs != buf)
		free(evs);

	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, name, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		if (xs[i].stop_at <= lo || xs[i].stop_at > now || !extend_target(s, se, &xs[i], &a))
			continue;
		if (is_extended(&a) && a.at == xs[i].stop_at && (!have || a.at >= best.at)) {
			best = a;
			have = true;
		}
	}
	if (!have)
		return;

	time_t up, down;
	state_last_transitions(s->d.st, name, &up, &down);
	time_t done = best.action == ACTION_START ? up : down;
	if (done != 0 && done >= best.at) {
		log_info("sched",
			 "msg=\"missed action already done by hand; not caught up\" env=%s "
			 "action=%s scheduled=%lld done=%lld",
			 name, action_name(best.action), (long long)best.at, (long long)done);
		return;
	}
	log_info("sched", "msg=\"catching up a missed action\" env=%s action=%s scheduled=%lld",
		 name, action_name(best.action), (long long)best.at);
	evlist_add(out, EV_FIRE, SCHED_CATCH_UP, &best);
}

/* The most recent action of env at or before now that ran (after overrides):
 * the state enforce keeps. False when none is found (no schedule, or
 * everything before a pause that just ended was held). */
static bool last_action(const struct sched *s, const struct sched_env *se, time_t now,
			struct sched_action *out)
{
	const struct cron *c[2] = { cron_of(se->env, ACTION_START), cron_of(se->env, ACTION_STOP) };
	time_t prev[2];
	bool has[2];
	struct sched_action a;
	bool have = false;

	/* Extended stops that already took effect. */
	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, se->env->name, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		if (xs[i].stop_at > now || !extend_target(s, se, &xs[i], &a))
			continue;
		if (is_extended(&a) && a.at == xs[i].stop_at && (!have || a.at > out->at)) {
			*out = a;
			have = true;
		}
	}

	for (int k = 0; k < 2; k++)
		has[k] = c[k] && cron_prev(c[k], se->tz, now, &prev[k]) == 0;
	for (int i = 0; i < SCHED_WALK_MAX && (has[0] || has[1]); i++) {
		/* The later one; at equal instants the stop came second. */
		int k = !has[0] ? 1 : !has[1] ? 0 : prev[1] >= prev[0] ? 1 : 0;
		if (have && prev[k] < out->at)
			break; /* everything further back took effect earlier */
		decide(s, se, (enum action)k, prev[k], &a);
		if (a.decision.run && a.at <= now) {
			if (!have || a.at > out->at || (a.at == out->at && k == ACTION_STOP))
				*out = a;
			have = true;
			break;
		}
		if (!a.decision.run &&
		    (a.decision.rule == STATE_RULE_FREEZE || a.decision.rule == STATE_RULE_PAUSE))
			break; /* a pause holds everything before its end */
		time_t from = prev[k] - 1;
		if (!a.decision.run) /* a skipped or holiday start: the whole day */
			from = plan_local_midnight(se->tz, plan_local_date(se->tz, prev[k])) - 1;
		has[k] = cron_prev(c[k], se->tz, from, &prev[k]) == 0;
	}
	return have;
}

static bool held_now(const struct sched *s, const struct sched_env *se, time_t now)
{
	if (state_is_frozen(s->d.st))
		return true;
	const struct state_pause *p = state_pause_until(s->d.st, se->env->name);
	return p && ((p->until_at != 0 && now < p->until_at) ||
		     (p->until_date != 0 && plan_local_date(se->tz, now) < p->until_date));
}

/* SCHED_WATCH_MINUTES, or the test knob ENVBOT_TEST_WATCH_MINUTES (1 to
 * 60): the e2e test does not wait a quarter of an hour. Unset in
 * production. */
static long watch_minutes(void)
{
	const char *v = getenv("ENVBOT_TEST_WATCH_MINUTES");
	long m = v ? strtol(v, NULL, 10) : 0;
	return m >= 1 && m <= 60 ? m : SCHED_WATCH_MINUTES;
}

/* Whether env is watched at this tick: on the minutes that are a multiple
 * of the period (no memory needed: a restart keeps the rhythm). */
static bool watch_due(const struct sched *s, const struct sched_env *se, time_t now)
{
	if (!s->d.wakes_up || !s->d.wakes_up(s->d.arg, se->env))
		return false;
	return (now / 60) % watch_minutes() == 0;
}

static void enforce(const struct sched *s, const struct sched_env *se, time_t now,
		    struct evlist *out)
{
	struct sched_action a;
	bool watch = !se->env->enforce && watch_due(s, se, now);
	if ((!se->env->enforce && !watch) || held_now(s, se, now) ||
	    state_wf_find(s->d.st, se->env->name) || state_lease_of(s->d.st, se->env->name))
		return; /* a manual action's lease is an override enforce keeps */
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].type == EV_FIRE)
			return; /* a transition this tick already says it */
	if (!last_action(s, se, now, &a) || (watch && a.action != ACTION_STOP))
		return;
	evlist_add(out, EV_FIRE, watch ? SCHED_WATCH : SCHED_ENFORCE, &a);
}

/* The stop that ends a start's lease, as an action. */
static void lease_stop(const struct state_lease *l, time_t at, struct sched_action *out)
{
	memset(out, 0, sizeof(*out));
	out->action = ACTION_STOP;
	out->scheduled_at = l->until;
	out->at = at;
	out->decision.run = true;
	out->decision.at = at;
	out->decision.rule = STATE_RULE_LEASE;
	snprintf(out->decision.reason, sizeof(out->decision.reason), "end of the lease of %s",
		 l->who[0] ? l->who : "a manual start");
}

/* The lease of one env at this tick (see "Leases" in sched.h): dropped by a
 * scheduled transition after it was set, else ended (a stop) or warned. Runs
 * after the tick's scheduled events are in out, before enforce. */
static void lease_tick(struct sched *s, const struct sched_env *se, time_t lo, time_t now,
		       struct evlist *out)
{
	const struct state_lease *lp = state_lease_of(s->d.st, se->env->name);
	if (!lp)
		return;
	struct state_lease l = *lp;
	struct sched_action a;
	for (size_t i = 0; i < out->n; i++) {
		const struct ev *e = &out->v[i];
		if (e->type == EV_FIRE && e->kind != SCHED_ENFORCE && e->kind != SCHED_WATCH &&
		    e->a.at >= l.set_at) {
			log_info("sched",
				 "msg=\"a scheduled action ends the manual override\" env=%s "
				 "action=%s",
				 se->env->name, action_name(e->a.action));
			state_lease_clear(s->d.st, se->env->name);
			return;
		}
	}
	if (l.action != ACTION_START || l.until == 0)
		return;
	if (l.until <= now) {
		lease_stop(&l, now, &a);
		state_lease_clear(s->d.st, se->env->name);
		if (held_now(s, se, now)) {
			a.decision.run = false;
			snprintf(a.decision.reason, sizeof(a.decision.reason), "lease end held: %s",
				 state_is_frozen(s->d.st) ? "frozen" : "paused");
			evlist_add(out, EV_HELD, SCHED_LEASE, &a);
		} else {
			evlist_add(out, EV_FIRE, SCHED_LEASE, &a);
		}
		return;
	}
	time_t w = (time_t)s->d.cfg->warn_before;
	if (w > 0 && l.until - w > lo && l.until - w <= now && !held_now(s, se, now)) {
		lease_stop(&l, l.until, &a);
		evlist_add(out, EV_WARN, SCHED_LEASE, &a);
	}
}

static bool dispatch(const struct sched *s, const struct sched_env *se, struct evlist *l)
{
	bool changed = false;
	if (l->n == 0)
		return false;
	qsort(l->v, l->n, sizeof(*l->v), ev_cmp);
	for (size_t i = 0; i < l->n; i++) {
		const struct ev *e = &l->v[i];
		const char *what = action_name(e->a.action);
		switch (e->type) {
		case EV_FIRE:
			if (e->kind != SCHED_ENFORCE && e->kind != SCHED_WATCH) {
				log_info(
					"sched",
					"msg=\"%s %s\" env=%s scheduled=%lld at=%lld reason=\"%s\"",
					sched_kind_name(e->kind), what, se->env->name,
					(long long)e->a.scheduled_at, (long long)e->a.at,
					e->a.decision.reason);
				changed = true;
			}
			if (s->d.fire)
				s->d.fire(s->d.arg, se->env, e->a.action, e->kind,
					  e->a.scheduled_at, &e->a.decision);
			break;
		case EV_HELD:
			log_info("sched",
				 "msg=\"scheduled %s not run\" env=%s scheduled=%lld reason=\"%s\"",
				 what, se->env->name, (long long)e->a.scheduled_at,
				 e->a.decision.reason);
			changed = true;
			if (s->d.held)
				s->d.held(s->d.arg, se->env, e->a.action, e->a.scheduled_at,
					  &e->a.decision);
			break;
		case EV_WARN:
			changed = true;
			if (s->d.warn)
				s->d.warn(s->d.arg, se->env, e->a.at);
			break;
		}
	}
	l->n = 0;
	return changed;
}

/* When the next tick is due (ms since the epoch): the next minute boundary,
 * or an extended stop or its warning if one comes first. */
static int64_t next_wake_ms(const struct sched *s, int64_t now)
{
	int64_t next = (now / 60000 + 1) * 60000 + SCHED_SLACK_MS;
	int64_t w = s->d.cfg->warn_before;
	for (size_t i = 0; i < s->n_envs; i++) {
		const char *name = s->envs[i].env->name;
		size_t n = state_extend_count(s->d.st, name);
		for (size_t j = 0; j < n; j++) {
			const struct state_extend *x = state_extend_at(s->d.st, name, j);
			int64_t cand[2] = { (int64_t)x->stop_at * 1000 + SCHED_SLACK_MS,
					    ((int64_t)x->stop_at - w) * 1000 + SCHED_SLACK_MS };
			for (int k = 0; k < (w > 0 ? 2 : 1); k++)
				if (cand[k] > now && cand[k] < next)
					next = cand[k];
		}
		const struct state_lease *l = state_lease_of(s->d.st, name);
		if (l && l->action == ACTION_START && l->until) {
			int64_t cand[2] = { (int64_t)l->until * 1000 + SCHED_SLACK_MS,
					    ((int64_t)l->until - w) * 1000 + SCHED_SLACK_MS };
			for (int k = 0; k < (w > 0 ? 2 : 1); k++)
				if (cand[k] > now && cand[k] < next)
					next = cand[k];
		}
	}
	return next;
}

int64_t sched_next_tick_ms(const struct sched *s)
{
	return next_wake_ms(s, now_ms(s));
}

static void on_timer(void *arg)
{
	struct sched *s = arg;
	s->timer = NULL; /* fired: the handle is gone */
	sched_tick(s);
}

static void arm(struct sched *s)
{
	if (!s->armed || !s->d.loop)
		return;
	if (s->timer)
		loop_timer_cancel(s->d.loop, s->timer);
	/* Re-read the clock: the callbacks of this tick took time. */
	int64_t now = now_ms(s);
	int64_t due = next_wake_ms(s, now);
	s->timer = loop_timer_add(s->d.loop, (uint64_t)(due - now), on_timer, s);
	if (!s->timer)
		log_error("sched", "msg=\"out of memory arming the schedule timer\"");
}

void sched_tick(struct sched *s)
{
	int64_t ms = now_ms(s);
	time_t now = ms_to_sec(ms);
	time_t catch_s = (time_t)(s->d.cfg->catch_up > 0 ? s->d.cfg->catch_up : 0);
	time_t jump = catch_s > SCHED_JUMP_MIN ? catch_s : SCHED_JUMP_MIN;
	bool catching = false, changed = false, first = !s->ticked;
	time_t last = first ? state_last_tick(s->d.st) : s->last, lo = last;

	if (last > now) {
		if (last - now > jump) {
			log_warn("sched",
				 "msg=\"wall clock went back; the schedule restarts from now\" "
				 "last=%lld now=%lld",
				 (long long)last, (long long)now);
			last = now;
		}
		lo = last; /* nothing fires until the clock passes the last tick */
	} else if (first || now - last > jump) {
		catching = true;
		lo = now - catch_s;
		if (last > lo)
			lo = last;
		if (!first)
			log_warn("sched",
				 "msg=\"wall clock jumped forward; only the latest missed "
				 "action runs\" last=%lld now=%lld",
				 (long long)last, (long long)now);
	}

	if (first)
		s->seen_from = lo;

	struct evlist l = { 0 };
	for (size_t i = 0; i < s->n_envs; i++) {
		const struct sched_env *se = &s->envs[i];
		if (lo < now) {
			if (catching)
				catch_up(s, se, lo, now, &l);
			else
				tick_window(s, se, lo, now, &l);
			warnings(s, se, lo, now, &l);
		}
		lease_tick(s, se, lo, now, &l);
		enforce(s, se, now, &l);
		changed = dispatch(s, se, &l) || changed;
	}
	free(l.v);

	s->ticked = true;
	s->last = now > last ? now : last;
	state_set_last_tick(s->d.st, s->last);
	if (first || changed || s->last - s->last_saved >= SCHED_SAVE_EVERY) {
		s->last_saved = s->last;
		if (s->d.save)
			s->d.save(s->d.arg);
	}
	arm(s);
}

void sched_start(struct sched *s)
{
	s->armed = true;
	sched_tick(s);
}

/* ------------------------------------------------------------------ queries */

bool sched_next(const struct sched *s, const char *env, time_t now, struct sched_action *out)
{
	const struct sched_env *se = env_by_name(s, env);
	struct sched_action a, held;
	bool have = false, have_held = false;
	memset(out, 0, sizeof(*out));
	memset(&held, 0, sizeof(held));
	if (!se)
		return false;

	/* Stops already postponed past now. */
	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, env, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		if (xs[i].stop_at <= now || !extend_target(s, se, &xs[i], &a))
			continue;
		if (is_extended(&a) && a.at == xs[i].stop_at && (!have || a.at < out->at)) {
			*out = a;
			have = true;
		}
	}

	const struct cron *c[2] = { cron_of(se->env, ACTION_START), cron_of(se->env, ACTION_STOP) };
	time_t next[2], horizon = now + (time_t)SCHED_HORIZON * 86400;
	bool has[2];
	for (int k = 0; k < 2; k++)
		has[k] = c[k] && cron_next(c[k], se->tz, now, &next[k]) == 0;
	for (int i = 0; i < SCHED_WALK_MAX && (has[0] || has[1]); i++) {
		int k = !has[1] ? 0 : !has[0] ? 1 : next[0] <= next[1] ? 0 : 1;
		if (next[k] > horizon || (have && next[k] >= out->at))
			break;
		decide(s, se, (enum action)k, next[k], &a);
		if (a.decision.run) {
			if (!have || a.at < out->at)
				*out = a;
			have = true;
			has[k] = cron_next(c[k], se->tz, next[k], &next[k]) == 0;
			continue;
		}
		if (!have_held) {
			held = a;
			have_held = true;
		}
		if (a.decision.rule == STATE_RULE_FREEZE)
			break; /* nothing runs until /unfreeze */
		time_t from = next[k];
		if (a.decision.rule == STATE_RULE_PAUSE) {
			const struct state_pause *p = state_pause_until(s->d.st, env);
			from = p && p->until_at ? p->until_at - 1
			       : p              ? plan_local_midnight(se->tz, p->until_date) - 1
						: next[k];
			if (from < next[k])
				from = next[k];
			for (int j = 0; j < 2; j++)
				has[j] = c[j] && cron_next(c[j], se->tz, from, &next[j]) == 0;
			continue;
		}
		/* A skipped or holiday start: the rest of that day too. */
		time_t eod = plan_local_midnight(
				     se->tz, when_add_days(plan_local_date(se->tz, next[k]), 1)) -
			     1;
		if (eod > from)
			from = eod;
		has[k] = cron_next(c[k], se->tz, from, &next[k]) == 0;
	}
	if (!have && have_held)
		*out = held;
	/* A start's lease ends with a stop unless a scheduled action comes
	 * first (and ends the lease instead). */
	const struct state_lease *l = state_lease_of(s->d.st, env);
	if (l && l->action == ACTION_START && l->until > now && (!have || l->until < out->at)) {
		lease_stop(l, l->until, out);
		have = true;
	}
	return have;
}

bool sched_desired(const struct sched *s, const char *env, time_t now, enum action *out)
{
	const struct sched_env *se = env_by_name(s, env);
	struct sched_action a;
	if (!se || !last_action(s, se, now, &a))
		return false;
	*out = a.action;
	return true;
}

struct upcoming {
	struct sched_action *v;
	size_t n, cap;
};

static bool upcoming_add(struct upcoming *u, const struct sched_action *a)
{
	if (u->n == u->cap) {
		size_t ncap = u->cap ? u->cap * 2 : 32;
		struct sched_action *v = realloc(u->v, ncap * sizeof(*v));
		if (!v)
			return false;
		u->v = v;
		u->cap = ncap;
	}
	u->v[u->n++] = *a;
	return true;
}

static int action_cmp(const void *pa, const void *pb)
{
	const struct sched_action *a = pa, *b = pb;
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	if (a->action != b->action)
		return a->action == ACTION_START ? -1 : 1;
	return a->scheduled_at < b->scheduled_at ? -1 : a->scheduled_at > b->scheduled_at;
}

size_t sched_upcoming(const struct sched *s, const char *env, time_t from, int days,
		      sched_upcoming_fn cb, void *arg)
{
	const struct sched_env *se = env_by_name(s, env);
	struct upcoming u = { 0 };
	struct plan_event buf[32], *evs;
	struct sched_action a;
	size_t calls = 0;
	if (!se || days < 1)
		return 0;
	if (days > SCHED_MAX_DAYS)
		days = SCHED_MAX_DAYS;
	time_t to = from + (time_t)days * 86400;

	size_t n = scheduled_in(se, from, to, buf, 32, &evs);
	for (size_t i = 0; i < n; i++) {
		decide(s, se, (enum action)evs[i].action, evs[i].at, &a);
		if (!upcoming_add(&u, &a))
			break;
	}
	if (evs != buf)
		free(evs);

	struct state_extend xs[STATE_MAX_EXTENDS];
	size_t nx = extends_of(s, env, xs, STATE_MAX_EXTENDS);
	for (size_t i = 0; i < nx; i++) {
		if (xs[i].stop_at < from || xs[i].stop_at >= to ||
		    !extend_target(s, se, &xs[i], &a))
			continue;
		if (a.scheduled_at < from && is_extended(&a) && a.at == xs[i].stop_at)
			upcoming_add(&u, &a);
	}

	/* A lease's stop, unless a scheduled action ends the lease first. */
	const struct state_lease *l = state_lease_of(s->d.st, env);
	if (l && l->action == ACTION_START && l->until >= from && l->until < to) {
		bool first = true;
		for (size_t i = 0; i < u.n; i++)
			if (u.v[i].decision.run && u.v[i].at >= l->set_at && u.v[i].at < l->until)
				first = false;
		if (first) {
			lease_stop(l, l->until, &a);
			upcoming_add(&u, &a);
		}
	}
	if (u.n > 1)
		qsort(u.v, u.n, sizeof(*u.v), action_cmp);
	for (size_t i = 0; i < u.n; i++) {
		calls++;
		if (cb(arg, &u.v[i]) != 0)
			break;
	}
	free(u.v);
	return calls;
}
