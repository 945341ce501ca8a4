/* Private to bot/state: the layout of struct state and the helpers that the
 * collections (state.c), the conflict rule (state_rule.c), the JSON encoding
 * (state_json.c) and the file (state_file.c) share. Calls go one way:
 * file -> json -> collections, rule -> collections. Not for other modules:
 * they use state.h. */
#ifndef ENVBOT_STATE_INTERNAL_H
#define ENVBOT_STATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "state.h"

struct interval {
	time_t from, to;
};

struct env_state {
	char name[STATE_NAME_MAX];
	struct state_extend extends[STATE_MAX_EXTENDS];
	size_t n_extends;
	struct state_skip *skips; /* sorted by date */
	size_t n_skips, cap_skips;
	bool paused;
	struct state_pause pause;
	bool leased;
	struct state_lease lease;
	struct state_capacity *caps; /* in the order they were first saved */
	size_t n_caps, cap_caps;
	time_t up_since; /* 0: down */
	struct interval *iv;
	size_t n_iv, cap_iv;
};

struct state {
	struct env_state *envs; /* sorted by name, so that dumps are stable */
	size_t n_envs, cap_envs;
	bool frozen;
	struct state_freeze freeze;
	struct state_holiday *holidays; /* sorted by date */
	size_t n_holidays, cap_holidays;
	/* Audit ring: while n_audit < audit_max the entries are in order from
	 * index 0; once full, audit_head is the oldest and is overwritten. */
	struct state_audit *audit;
	size_t n_audit, cap_audit, audit_head, audit_max;
	struct state_wf *wfs;
	size_t n_wfs, cap_wfs;
	struct state_final *finals; /* the outbox, oldest first */
	size_t n_finals, cap_finals;
	struct state_event *events; /* events out, oldest first */
	size_t n_events, cap_events;
	struct state_calendar *cals; /* sorted by name */
	size_t n_cals, cap_cals;
	time_t last_tick;  /* the scheduler's; 0 = never ticked */
	ymd_t report_week; /* the week of the last scheduled report posted; 0 = none */
};

/* snprintf into err (errlen bytes) when err is not NULL. */
void state_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies src into dst (size bytes), truncating at a UTF-8 character boundary
 * so that a long display name never ends in half a character. NULL = "". */
void state_copy_text(char *dst, size_t size, const char *src);
/* Copies an identifier whole into dst; -1 when it does not fit (a cut stack
 * id would point elsewhere). NULL = "". */
int state_copy_id(char *dst, size_t size, const char *src);
/* false with a reason in err when env is not a usable environment name. */
bool state_env_name_ok(const char *env, char *err, size_t errlen);
/* The record of name, or NULL. The pointer is st's; valid until the next
 * state_env_get (the array may move). */
const struct env_state *state_env_find(const struct state *st, const char *name);
/* The record of name, creating it; NULL with a reason on failure. Same
 * lifetime as state_env_find's. */
struct env_state *state_env_get(struct state *st, const char *name, char *err, size_t errlen);
/* The insertions the decoder shares with the public setters: they validate
 * and copy *x (the caller keeps it) into st, replacing what has the same key. */
enum bot_rc state_extend_put(struct state *st, const char *env, const struct state_extend *x,
			     char *err, size_t errlen);
enum bot_rc state_skip_put(struct state *st, const char *env, const struct state_skip *s, char *err,
			   size_t errlen);
enum bot_rc state_pause_put(struct state *st, const char *env, const struct state_pause *p,
			    char *err, size_t errlen);
enum bot_rc state_lease_put(struct state *st, const char *env, const struct state_lease *l,
			    char *err, size_t errlen);
enum bot_rc state_holiday_put(struct state *st, const struct state_holiday *h, char *err,
			      size_t errlen);
/* Appends [from, to) to e's uptime intervals, dropping the oldest at
 * STATE_MAX_INTERVALS. */
enum bot_rc state_interval_append(struct env_state *e, time_t from, time_t to);

#endif
