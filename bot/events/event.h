/* One event out (CONTRACT.md "Events out"): the JSON every sink is sent,
 * version 1, recorded in the state with the sinks that must take it, in the
 * same mutation as what it reports. Pure: no network here (events.h sends). */
#ifndef ENVBOT_EVENT_H
#define ENVBOT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../../config/config.h"
#include "../core/rc.h"
#include "../state/state.h"

#define EVENT_VERSION 1

enum event_type {
	EVENT_WF_STARTED,  /* "workflow.started" */
	EVENT_WF_FINISHED, /* "workflow.finished" */
	EVENT_OVERRIDE,    /* "override": a change made from chat */
};

/* What happened. Strings are borrowed; NULL or "" leaves a field out
 * (environment: null). */
struct event_in {
	enum event_type type;
	time_t time;
	const char *env;
	const char *who;     /* "alice", "schedule" */
	const char *user_id; /* Discord user id, "" for the schedule */
	const char *summary; /* one line for humans (Slack shows it) */
	/* workflow.*: */
	const char *workflow_id;
	const char *action;  /* "start" | "stop" */
	const char *trigger; /* "schedule", "/env start by alice" */
	const char *outcome; /* finished: "succeeded" | "failed" */
	const char *error;   /* finished and failed: why */
	long duration_s;     /* finished */
	/* override: */
	const char *command;  /* "/env extend dev 2h" */
	const char *override; /* "extend", "skip", "holiday add", ... */
};

const char *event_type_name(enum event_type t);

/* The id of the event: for a workflow's events the workflow id and the
 * type ("wf-...:started"), so a resumed workflow records its start once; for
 * the rest 16 random hex digits after the time. buf >= STATE_WFID_MAX. */
void event_make_id(const struct event_in *in, char *buf, size_t len);

/* The event's JSON document (compact; caller frees with free()), id
 * included; NULL on ENOMEM. */
char *event_json(const struct event_in *in, const char *id);

/* Records the event in st for every sink of cfg (none: nothing, BOT_OK).
 * *id_out (may be NULL, >= STATE_WFID_MAX) receives its id. When the state's
 * outbox of events was full the oldest was dropped: logged here. The caller
 * saves. */
enum bot_rc event_record(struct state *st, const struct cfg *cfg, const struct event_in *in,
			 char *id_out, size_t id_len);

/* The body a Slack incoming webhook takes for the event json ({"text": ...,
 * "attachments": [...]}): a new string (free()), NULL when json is not an
 * event or on ENOMEM. */
char *event_slack_body(const char *json);

#endif
