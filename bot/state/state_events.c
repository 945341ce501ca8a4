/* Two collections of the state that feed what goes out: the events waiting
 * for their sinks (bot/events), and the last good copy of each holiday
 * calendar (a refresh that fails keeps it). */
#include <stdlib.h>
#include <string.h>

#include "../core/array.h"
#include "state_internal.h"

/* ------------------------------------------------------------------ events */

static struct state_event *event_find(const struct state *st, const char *id)
{
	for (size_t i = 0; id && i < st->n_events; i++)
		if (strcmp(st->events[i].id, id) == 0)
			return &st->events[i];
	return NULL;
}

static void event_remove_at(struct state *st, size_t i)
{
	memmove(&st->events[i], &st->events[i + 1], (st->n_events - i - 1) * sizeof(*st->events));
	st->n_events--;
}

/* Validates e into *out (every string NUL-terminated, pending deduplicated). */
static enum bot_rc event_check(const struct state_event *e, struct state_event *out, char *err,
			       size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (state_copy_id(out->id, sizeof(out->id), e->id) < 0 || !out->id[0]) {
		state_set_err(err, errlen, "event id empty or too long");
		return BOT_EINVAL;
	}
	if (state_copy_id(out->json, sizeof(out->json), e->json) < 0 || !out->json[0]) {
		state_set_err(err, errlen, "event %s: body empty or longer than %d bytes", out->id,
			      STATE_EVENT_JSON_MAX - 1);
		return BOT_EINVAL;
	}
	out->created = e->created;
	for (size_t i = 0; i < e->n_pending && i < STATE_SINKS_MAX; i++) {
		char name[STATE_SINK_NAME_MAX];
		if (state_copy_id(name, sizeof(name), e->pending[i]) < 0 || !name[0]) {
			state_set_err(err, errlen, "event %s: bad sink name", out->id);
			return BOT_EINVAL;
		}
		bool dup = false;
		for (size_t k = 0; k < out->n_pending; k++)
			dup = dup || strcmp(out->pending[k], name) == 0;
		if (!dup)
			memcpy(out->pending[out->n_pending++], name, sizeof(name));
	}
	if (!out->n_pending) {
		state_set_err(err, errlen, "event %s: no sink to send it to", out->id);
		return BOT_EINVAL;
	}
	return BOT_OK;
}

enum bot_rc state_event_put(struct state *st, const struct state_event *e, bool *dropped, char *err,
			    size_t errlen)
{
	if (dropped)
		*dropped = false;
	/* 5 KiB: on the heap, not on the loop thread's stack. */
	struct state_event *w = malloc(sizeof(*w));
	enum bot_rc rc = BOT_ENOMEM;
	if (!w) {
		state_set_err(err, errlen, "out of memory");
		return rc;
	}
	rc = event_check(e, w, err, errlen);
	if (rc != BOT_OK || event_find(st, w->id))
		goto out;
	if (st->n_events >= STATE_MAX_EVENTS) {
		event_remove_at(st, 0);
		if (dropped)
			*dropped = true;
	}
	rc = BOT_ENOMEM;
	if (array_grow(&st->events, &st->cap_events, st->n_events + 1, sizeof(*st->events), 0) <
	    0) {
		state_set_err(err, errlen, "out of memory");
		goto out;
	}
	st->events[st->n_events++] = *w;
	rc = BOT_OK;
out:
	free(w);
	return rc;
}

const struct state_event *state_event_find(const struct state *st, const char *id)
{
	return event_find(st, id);
}

bool state_event_delivered(struct state *st, const char *id, const char *sink)
{
	struct state_event *e = event_find(st, id);
	if (!e || !sink)
		return false;
	for (size_t i = 0; i < e->n_pending; i++) {
		if (strcmp(e->pending[i], sink) != 0)
			continue;
		memmove(e->pending[i], e->pending[i + 1],
			(e->n_pending - i - 1) * sizeof(e->pending[0]));
		e->n_pending--;
		if (!e->n_pending)
			event_remove_at(st, (size_t)(e - st->events));
		return true;
	}
	return false;
}

size_t state_event_count(const struct state *st)
{
	return st->n_events;
}

const struct state_event *state_event_at(const struct state *st, size_t i)
{
	return i < st->n_events ? &st->events[i] : NULL;
}

/* --------------------------------------------------------------- calendars */

static struct state_calendar *cal_find(const struct state *st, const char *name)
{
	for (size_t i = 0; name && i < st->n_cals; i++)
		if (strcmp(st->cals[i].name, name) == 0)
			return &st->cals[i];
	return NULL;
}

/* name's record, created (sorted by name) when absent; NULL on failure. */
static struct state_calendar *cal_get(struct state *st, const char *name, char *err, size_t errlen)
{
	struct state_calendar *c = cal_find(st, name);
	if (c)
		return c;
	if (!name || !name[0] || strlen(name) >= STATE_CAL_NAME_MAX) {
		state_set_err(err, errlen, "calendar name empty or too long");
		return NULL;
	}
	if (array_grow(&st->cals, &st->cap_cals, st->n_cals + 1, sizeof(*st->cals), 64) < 0) {
		state_set_err(err, errlen, "out of memory, or too many calendars");
		return NULL;
	}
	size_t pos = 0;
	while (pos < st->n_cals && strcmp(st->cals[pos].name, name) < 0)
		pos++;
	memmove(&st->cals[pos + 1], &st->cals[pos], (st->n_cals - pos) * sizeof(*st->cals));
	st->n_cals++;
	c = &st->cals[pos];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, name, strlen(name) + 1);
	return c;
}

enum bot_rc state_calendar_set(struct state *st, const char *name, time_t t,
			       const struct state_cal_day *days, size_t n, char *err, size_t errlen)
{
	if (n > STATE_CAL_DAYS_MAX) {
		state_set_err(err, errlen, "%zu days; at most %d", n, STATE_CAL_DAYS_MAX);
		return BOT_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!when_date_valid(days[i].date) || (i && days[i].date <= days[i - 1].date)) {
			state_set_err(err, errlen, "calendar days not sorted, unique, valid");
			return BOT_EINVAL;
		}
	}
	struct state_cal_day *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy) {
		state_set_err(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		copy[i].date = days[i].date;
		state_copy_text(copy[i].summary, sizeof(copy[i].summary), days[i].summary);
	}
	struct state_calendar *c = cal_get(st, name, err, errlen);
	if (!c) {
		free(copy);
		return BOT_EINVAL;
	}
	free(c->days);
	c->days = copy;
	c->n_days = n;
	c->fetched = t;
	c->failed_at = 0;
	c->error[0] = '\0';
	return BOT_OK;
}

enum bot_rc state_calendar_failed(struct state *st, const char *name, time_t t, const char *why)
{
	struct state_calendar *c = cal_get(st, name, NULL, 0);
	if (!c)
		return BOT_EINVAL;
	c->failed_at = t;
	state_copy_text(c->error, sizeof(c->error), why);
	return BOT_OK;
}

const struct state_calendar *state_calendar_find(const struct state *st, const char *name)
{
	return cal_find(st, name);
}

size_t state_calendar_keep(struct state *st, char *const *names, size_t n)
{
	size_t dropped = 0;
	for (size_t i = 0; i < st->n_cals;) {
		bool keep = false;
		for (size_t k = 0; k < n && !keep; k++)
			keep = strcmp(names[k], st->cals[i].name) == 0;
		if (keep) {
			i++;
			continue;
		}
		free(st->cals[i].days);
		memmove(&st->cals[i], &st->cals[i + 1], (st->n_cals - i - 1) * sizeof(*st->cals));
		st->n_cals--;
		dropped++;
	}
	return dropped;
}

size_t state_calendar_count(const struct state *st)
{
	return st->n_cals;
}

const struct state_calendar *state_calendar_at(const struct state *st, size_t i)
{
	return i < st->n_cals ? &st->cals[i] : NULL;
}

/* ------------------------------------------------------------ the report */

ymd_t state_report_week(const struct state *st)
{
	return st->report_week;
}

void state_set_report_week(struct state *st, ymd_t monday)
{
	st->report_week = when_date_valid(monday) ? monday : 0;
}
