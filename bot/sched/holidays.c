/* The holidays of an environment from their three sources (holidays.h). A
 * calendar's cached days are sorted and unique (state_calendar_set checks),
 * so one date is a binary search in each; nothing is merged ahead of time,
 * and a refresh of the state is seen by the next question. */
#include "holidays.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/url.h"

bool holidays_applies(const struct cfg_env *env, const char *name)
{
	if (!env || !env->holidays_from_set)
		return true;
	for (size_t i = 0; i < env->n_holidays_from; i++)
		if (strcmp(env->holidays_from[i], name) == 0)
			return true;
	return false;
}

static const struct state_cal_day *cal_day(const struct state_calendar *c, ymd_t date)
{
	size_t lo = 0, hi = c ? c->n_days : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->days[mid].date == date)
			return &c->days[mid];
		if (c->days[mid].date < date)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool holidays_find(const struct cfg *cfg, const struct state *st, const struct cfg_env *env,
		   ymd_t date, struct holiday *out)
{
	for (size_t i = 0; i < cfg->n_holidays; i++) {
		if (cfg->holidays[i] == date) {
			*out = (struct holiday){ .date = date, .label = "", .who = "" };
			return true;
		}
	}
	for (size_t i = 0; st && i < cfg->n_calendars; i++) {
		const struct cfg_calendar *cal = &cfg->calendars[i];
		if (!holidays_applies(env, cal->name))
			continue;
		const struct state_cal_day *d = cal_day(state_calendar_find(st, cal->name), date);
		if (d) {
			*out = (struct holiday){ .date = date,
						 .source = HOLIDAY_CALENDAR,
						 .calendar = cal->name,
						 .label = d->summary,
						 .who = "" };
			return true;
		}
	}
	return false;
}

/* The entry and its place in the conflict rule's order, for a stable sort. */
struct ranked {
	struct holiday h;
	size_t rank;
};

static int by_date_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->h.date != y->h.date)
		return (x->h.date > y->h.date) - (x->h.date < y->h.date);
	return (x->rank > y->rank) - (x->rank < y->rank);
}

enum bot_rc holidays_list(const struct cfg *cfg, const struct state *st, const struct cfg_env *env,
			  struct holiday **out, size_t *n_out)
{
	size_t n = cfg->n_holidays, k = 0;
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; st && i < cfg->n_calendars; i++) {
		const struct state_calendar *c = state_calendar_find(st, cfg->calendars[i].name);
		if (c && holidays_applies(env, c->name))
			n += c->n_days;
	}
	n += st ? state_holiday_count(st) : 0;
	if (n == 0)
		return BOT_OK;
	struct ranked *v = malloc(n * sizeof(*v));
	if (!v)
		return BOT_ENOMEM;
	for (size_t i = 0; i < cfg->n_holidays; i++, k++)
		v[k] = (struct ranked){ .h = { .date = cfg->holidays[i], .label = "", .who = "" },
					.rank = k };
	for (size_t i = 0; st && i < cfg->n_calendars; i++) {
		const struct cfg_calendar *cal = &cfg->calendars[i];
		const struct state_calendar *c = state_calendar_find(st, cal->name);
		if (!c || !holidays_applies(env, cal->name))
			continue;
		for (size_t j = 0; j < c->n_days; j++, k++)
			v[k] = (struct ranked){ .h = { .date = c->days[j].date,
						       .source = HOLIDAY_CALENDAR,
						       .calendar = cal->name,
						       .label = c->days[j].summary,
						       .who = "" },
						.rank = k };
	}
	for (size_t i = 0; st && i < state_holiday_count(st); i++, k++) {
		const struct state_holiday *h = state_holiday_at(st, i);
		v[k] = (struct ranked){ .h = { .date = h->date,
					       .source = HOLIDAY_CHAT,
					       .label = h->label,
					       .who = h->who },
					.rank = k };
	}
	qsort(v, k, sizeof(*v), by_date_rank);
	/* The ranks only served the sort. */
	struct holiday *h = malloc(k * sizeof(*h));
	if (!h) {
		free(v);
		return BOT_ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		h[i] = v[i].h;
	free(v);
	*out = h;
	*n_out = k;
	return BOT_OK;
}

void holidays_label(const struct holiday *h, char *buf, size_t len)
{
	const char *label = h->label ? h->label : "";
	switch (h->source) {
	case HOLIDAY_CONFIG: snprintf(buf, len, "%s", ""); return;
	case HOLIDAY_CALENDAR:
		snprintf(buf, len, "%s%scalendar %s", label, label[0] ? ", " : "", h->calendar);
		return;
	case HOLIDAY_CHAT:
		snprintf(buf, len, "%s%sadded by %s", label, label[0] ? ", " : "",
			 h->who ? h->who : "");
		return;
	}
	snprintf(buf, len, "%s", "");
}

void holidays_source_shown(const struct cfg_calendar *cal, char *buf, size_t len)
{
	char scheme[16], host[256];
	if (!cal->is_url) {
		snprintf(buf, len, "%s", cal->source);
		return;
	}
	/* As check-config shows it: user info, port, path and query may all
	 * carry a key; the calendar's name already says which file it is. */
	if (url_parts(cal->source, scheme, sizeof(scheme), host, sizeof(host)))
		snprintf(buf, len, "%s://%s/\xE2\x80\xA6", scheme, host);
	else
		snprintf(buf, len, "%s", "(a URL)");
}

bool holidays_decide_fn(void *ctx, ymd_t date, char *label, size_t len)
{
	const struct holidays_of *o = ctx;
	struct holiday h;
	if (!holidays_find(o->cfg, o->st, o->env, date, &h))
		return false;
	holidays_label(&h, label, len);
	return true;
}
