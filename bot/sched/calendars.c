/* The holiday calendars' refresher (calendars.h): a round starts one fetch
 * per calendar (calfetch.c) at once; each answer updates the state as it
 * comes, and the last one arms the timer for the next round. Whether a
 * failure opens a streak is read from the state (failed_at was 0), so a
 * restart in the middle of one does not post the message again. */
#include "calendars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../i18n/i18n.h"
#include "calfetch.h"
#include "plan.h"

#define MOD "calendars"

/* One calendar's fetch of the current round. */
struct slot {
	struct calendars *owner;
	char name[STATE_CAL_NAME_MAX];
	struct calfetch *fetch; /* NULL: answered (or never started) */
};

struct calendars {
	struct calendars_deps d;
	const struct cfg *cfg;
	char *ca_file;
	uint64_t every_ms, retry_ms;
	struct loop_timer *timer;
	struct slot slots[CFG_MAX_CALENDARS];
	size_t in_flight;
	bool round_failed;
	bool started;
};

/* The test knob, else the production periods. */
static void periods(struct calendars *c)
{
	const char *v = getenv("ENVBOT_TEST_CALENDAR_REFRESH_S");
	long s = v ? strtol(v, NULL, 10) : 0;
	c->every_ms = (uint64_t)CALENDARS_EVERY_S * 1000u;
	c->retry_ms = (uint64_t)CALENDARS_RETRY_S * 1000u;
	if (s >= 1 && s <= 86400)
		c->every_ms = c->retry_ms = (uint64_t)s * 1000u;
}

struct calendars *calendars_create(const struct calendars_deps *deps, const struct cfg *cfg)
{
	struct calendars *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = *deps;
	c->cfg = cfg;
	const char *ca = getenv("SSL_CERT_FILE");
	if (ca && *ca && !(c->ca_file = strdup(ca))) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < CFG_MAX_CALENDARS; i++)
		c->slots[i].owner = c;
	periods(c);
	return c;
}

static void abandon_round(struct calendars *c)
{
	for (size_t i = 0; i < CFG_MAX_CALENDARS; i++) {
		calfetch_cancel(c->slots[i].fetch);
		c->slots[i].fetch = NULL;
	}
	c->in_flight = 0;
	c->round_failed = false;
}

void calendars_destroy(struct calendars *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->d.loop, c->timer);
	abandon_round(c);
	free(c->ca_file);
	free(c);
}

static void save(struct calendars *c)
{
	if (c->d.save)
		c->d.save(c->d.arg);
}

/* "2026-12-03 10:00 KST" in the top-level zone. */
static void fmt_when(const struct calendars *c, time_t t, char *buf, size_t len)
{
	struct tm tm;
	tz_local(c->cfg->tz, t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm);
}

/* The channel's one message of a failure streak. why goes in a code span:
 * it may quote the calendar, which anybody on the Internet may have
 * written. */
static void post_failure(struct calendars *c, const struct state_calendar *sc, const char *why)
{
	char text[STATE_TEXT_MAX + 512], when[64], quoted[STATE_TEXT_MAX];
	if (!c->d.post)
		return;
	snprintf(quoted, sizeof(quoted), "%s", why);
	for (char *p = quoted; *p; p++)
		if (*p == '`' || (unsigned char)*p < 0x20)
			*p = '\'';
	/* The channel's language: nobody asked. */
	const char *loc = c->cfg->locale;
	if (sc->fetched) {
		fmt_when(c, sc->fetched, when, sizeof(when));
		snprintf(text, sizeof(text),
			 tr(loc,
			    "⚠️ Holiday calendar **%s** could not be refreshed: `%s`. The copy "
			    "from %s is still used."),
			 sc->name, quoted, when);
	} else {
		snprintf(text, sizeof(text),
			 tr(loc,
			    "⚠️ Holiday calendar **%s** could not be refreshed: `%s`. No copy "
			    "yet: its days do not apply."),
			 sc->name, quoted);
	}
	c->d.post(c->d.arg, text);
}

static void failed(struct calendars *c, const char *name, time_t now, const char *why)
{
	const struct state_calendar *sc = state_calendar_find(c->d.st, name);
	bool opens_streak = !sc || sc->failed_at == 0;
	c->round_failed = true;
	if (state_calendar_failed(c->d.st, name, now, why) != BOT_OK) {
		log_error(MOD, "msg=\"calendar failure not recorded\" calendar=%s", name);
		return;
	}
	sc = state_calendar_find(c->d.st, name);
	log_warn(MOD,
		 "msg=\"holiday calendar not refreshed; the last good copy is kept\" calendar=%s "
		 "reason=\"%s\" copy_days=%zu copy_fetched=%lld",
		 name, why, sc->n_days, (long long)sc->fetched);
	if (opens_streak)
		post_failure(c, sc, why);
}

static void arm(struct calendars *c, uint64_t ms);

static void on_fetched(void *arg, const struct calfetch_result *r)
{
	struct slot *s = arg;
	struct calendars *c = s->owner;
	time_t now = time(NULL);
	char err[256];
	s->fetch = NULL;
	c->in_flight--;
	if (r->rc == BOT_OK && state_calendar_set(c->d.st, s->name, now, r->days, r->n_days, err,
						  sizeof(err)) == BOT_OK) {
		log_info(MOD, "msg=\"holiday calendar refreshed\" calendar=%s days=%zu", s->name,
			 r->n_days);
	} else {
		failed(c, s->name, now, r->rc == BOT_OK ? err : r->error);
	}
	save(c);
	if (c->in_flight == 0)
		arm(c, c->round_failed ? c->retry_ms : c->every_ms);
}

static void round_due(void *arg)
{
	struct calendars *c = arg;
	c->timer = NULL;
	calendars_refresh(c);
}

static void arm(struct calendars *c, uint64_t ms)
{
	loop_timer_cancel(c->d.loop, c->timer);
	c->timer = c->cfg->n_calendars ? loop_timer_add(c->d.loop, ms, round_due, c) : NULL;
}

void calendars_refresh(struct calendars *c)
{
	if (c->in_flight > 0)
		return;
	loop_timer_cancel(c->d.loop, c->timer);
	c->timer = NULL;
	if (c->d.fence && !fence_ok(c->d.fence)) {
		/* Not the active replica (now): its turn comes again. */
		arm(c, c->retry_ms);
		return;
	}
	time_t now = time(NULL);
	ymd_t today = plan_local_date(c->cfg->tz, now);
	c->round_failed = false;
	for (size_t i = 0; i < c->cfg->n_calendars && i < CFG_MAX_CALENDARS; i++) {
		const struct cfg_calendar *cal = &c->cfg->calendars[i];
		struct slot *s = &c->slots[i];
		snprintf(s->name, sizeof(s->name), "%s", cal->name);
		s->fetch = calfetch_start(c->d.loop, cal, today, c->ca_file, on_fetched, s);
		if (s->fetch) {
			c->in_flight++;
			continue;
		}
		failed(c, cal->name, now, "out of memory");
		save(c);
	}
	if (c->in_flight == 0)
		arm(c, c->round_failed ? c->retry_ms : c->every_ms);
}

/* Forgets the copies of calendars the config no longer names. */
static void keep_configured(struct calendars *c)
{
	char *names[CFG_MAX_CALENDARS];
	size_t n = 0;
	for (size_t i = 0; i < c->cfg->n_calendars && n < CFG_MAX_CALENDARS; i++)
		names[n++] = c->cfg->calendars[i].name;
	size_t dropped = state_calendar_keep(c->d.st, names, n);
	if (dropped) {
		log_info(MOD,
			 "msg=\"holiday calendars no longer configured: copies dropped\" "
			 "count=%zu",
			 dropped);
		save(c);
	}
}

void calendars_start(struct calendars *c)
{
	c->started = true;
	keep_configured(c);
	calendars_refresh(c);
}

static bool same_list(const struct cfg *a, const struct cfg *b)
{
	if (a->n_calendars != b->n_calendars)
		return false;
	for (size_t i = 0; i < a->n_calendars; i++)
		if (strcmp(a->calendars[i].name, b->calendars[i].name) != 0 ||
		    strcmp(a->calendars[i].source, b->calendars[i].source) != 0)
			return false;
	return true;
}

void calendars_set_config(struct calendars *c, const struct cfg *cfg)
{
	bool changed = !same_list(c->cfg, cfg);
	/* With the same list a round in flight goes on: its fetches hold their
	 * own copies of the sources, its slots the names. */
	c->cfg = cfg;
	if (!c->started)
		return;
	keep_configured(c);
	if (changed)
		abandon_round(c);
	/* A SIGHUP re-reads the calendars as it re-reads the config, so an
	 * edited file counts at once (a no-op while a round is in flight). */
	calendars_refresh(c);
}
