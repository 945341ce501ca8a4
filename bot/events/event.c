/* The event document and its recording (event.h). */
#include "event.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/rand.h"

#define MOD "events"

const char *event_type_name(enum event_type t)
{
	switch (t) {
	case EVENT_WF_STARTED: return "workflow.started";
	case EVENT_WF_FINISHED: return "workflow.finished";
	case EVENT_OVERRIDE: return "override";
	}
	return "?";
}

void event_make_id(const struct event_in *in, char *buf, size_t len)
{
	if (in->type != EVENT_OVERRIDE && in->workflow_id && in->workflow_id[0]) {
		/* STATE_WFID_MAX is 64 and workflow ids are shorter than 48. */
		snprintf(buf, len, "%.48s:%s", in->workflow_id,
			 in->type == EVENT_WF_STARTED ? "started" : "finished");
		return;
	}
	snprintf(buf, len, "ev-%lld-%016" PRIx64, (long long)in->time, rand_u64());
}

static bool add_opt(cJSON *o, const char *key, const char *v)
{
	if (v && v[0])
		return cJSON_AddStringToObject(o, key, v) != NULL;
	return true;
}

char *event_json(const struct event_in *in, const char *id)
{
	char when[32];
	struct tm tm;
	time_t t = in->time;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON *o = cJSON_CreateObject(), *sub = NULL;
	bool ok = o && cJSON_AddNumberToObject(o, "version", EVENT_VERSION) &&
		  cJSON_AddStringToObject(o, "id", id) &&
		  cJSON_AddStringToObject(o, "type", event_type_name(in->type)) &&
		  cJSON_AddStringToObject(o, "time", when) &&
		  (in->env && in->env[0] ? cJSON_AddStringToObject(o, "environment", in->env)
					 : cJSON_AddNullToObject(o, "environment")) &&
		  cJSON_AddStringToObject(o, "who", in->who && in->who[0] ? in->who : "envbot") &&
		  add_opt(o, "user_id", in->user_id) && add_opt(o, "summary", in->summary);
	if (ok && in->type != EVENT_OVERRIDE) {
		ok = (sub = cJSON_AddObjectToObject(o, "workflow")) &&
		     add_opt(sub, "id", in->workflow_id) && add_opt(sub, "action", in->action) &&
		     add_opt(sub, "trigger", in->trigger);
		if (ok && in->type == EVENT_WF_FINISHED)
			ok = add_opt(sub, "outcome", in->outcome) &&
			     add_opt(sub, "error", in->error) &&
			     cJSON_AddNumberToObject(sub, "duration_s", (double)in->duration_s);
	} else if (ok) {
		ok = (sub = cJSON_AddObjectToObject(o, "override")) &&
		     add_opt(sub, "name", in->override) && add_opt(sub, "command", in->command);
	}
	char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

enum bot_rc event_record(struct state *st, const struct cfg *cfg, const struct event_in *in,
			 char *id_out, size_t id_len)
{
	if (id_out && id_len)
		id_out[0] = '\0';
	if (!st || !cfg || cfg->n_sinks == 0)
		return BOT_OK;
	/* 5 KiB: on the heap, not on the loop thread's stack. */
	struct state_event *e = calloc(1, sizeof(*e));
	if (!e)
		return BOT_ENOMEM;
	event_make_id(in, e->id, sizeof(e->id));
	e->created = in->time;
	char *json = event_json(in, e->id);
	enum bot_rc rc = BOT_ENOMEM;
	char err[256] = "out of memory";
	if (json && strlen(json) >= sizeof(e->json)) {
		/* Only free text can make it this long: the summary goes. */
		struct event_in shorter = *in;
		shorter.summary = NULL;
		shorter.error = NULL;
		free(json);
		json = event_json(&shorter, e->id);
	}
	if (json) {
		snprintf(e->json, sizeof(e->json), "%s", json);
		for (size_t i = 0; i < cfg->n_sinks && i < STATE_SINKS_MAX; i++)
			snprintf(e->pending[e->n_pending++], STATE_SINK_NAME_MAX, "%s",
				 cfg->sinks[i].name);
		bool dropped = false;
		rc = state_event_put(st, e, &dropped, err, sizeof(err));
		if (dropped)
			log_error(MOD,
				  "msg=\"events outbox full (%d): the oldest event was dropped "
				  "undelivered\"",
				  STATE_MAX_EVENTS);
	}
	if (rc == BOT_OK && id_out)
		snprintf(id_out, id_len, "%s", e->id);
	else if (rc != BOT_OK)
		log_error(MOD, "msg=\"event not recorded\" type=%s env=%s reason=\"%s\"",
			  event_type_name(in->type), in->env ? in->env : "", err);
	free(json);
	free(e);
	return rc;
}

/* ---- Slack ---- */

static const char *slack_icon(const cJSON *ev)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *wf = cJSON_GetObjectItemCaseSensitive(ev, "workflow");
	const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(wf, "outcome");
	if (!cJSON_IsString(type))
		return ":grey_question:";
	if (strcmp(type->valuestring, "override") == 0)
		return ":pencil2:";
	if (strcmp(type->valuestring, "workflow.started") == 0)
		return ":hourglass_flowing_sand:";
	return cJSON_IsString(outcome) && strcmp(outcome->valuestring, "succeeded") == 0
		       ? ":white_check_mark:"
		       : ":x:";
}

/* Slack's mrkdwn treats &, < and > as control characters: a new string. */
static char *slack_escape(const char *in)
{
	char *out = malloc(strlen(in) * 5 + 1), *p = out;
	for (; out && *in; in++) {
		const char *rep = *in == '&'   ? "&amp;"
				  : *in == '<' ? "&lt;"
				  : *in == '>' ? "&gt;"
					       : NULL;
		size_t n = rep ? strlen(rep) : 1;
		memcpy(p, rep ? rep : in, n);
		p += n;
	}
	if (out)
		*p = '\0';
	return out;
}

/* A new object appended to arr (NULL when either is NULL). */
static cJSON *push_object(cJSON *arr)
{
	cJSON *o = arr ? cJSON_CreateObject() : NULL;
	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *event_slack_body(const char *json)
{
	cJSON *ev = cJSON_Parse(json);
	const cJSON *summary = cJSON_GetObjectItemCaseSensitive(ev, "summary");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
	if (!cJSON_IsString(type) || !cJSON_IsString(id)) {
		cJSON_Delete(ev);
		return NULL;
	}
	char line[STATE_EVENT_JSON_MAX], idtext[STATE_WFID_MAX + 16];
	snprintf(line, sizeof(line), "%s %s", slack_icon(ev),
		 cJSON_IsString(summary) ? summary->valuestring : type->valuestring);
	snprintf(idtext, sizeof(idtext), "envbot event %s", id->valuestring);
	char *text = slack_escape(line), *ids = slack_escape(idtext), *s = NULL;
	/* {"text", "blocks": [ section(text), context(id) ]}: the text is the
	 * notification's, the blocks what the channel shows; the id lets a
	 * receiver's log be matched to envbot's. */
	cJSON *body = cJSON_CreateObject();
	cJSON *blocks = cJSON_AddArrayToObject(body, "blocks");
	cJSON *sec = push_object(blocks), *ctx = push_object(blocks);
	cJSON *st = cJSON_AddObjectToObject(sec, "text");
	cJSON *el = push_object(cJSON_AddArrayToObject(ctx, "elements"));
	if (text && ids && cJSON_AddStringToObject(body, "text", text) &&
	    cJSON_AddStringToObject(sec, "type", "section") &&
	    cJSON_AddStringToObject(st, "type", "mrkdwn") &&
	    cJSON_AddStringToObject(st, "text", text) &&
	    cJSON_AddStringToObject(ctx, "type", "context") &&
	    cJSON_AddStringToObject(el, "type", "mrkdwn") &&
	    cJSON_AddStringToObject(el, "text", ids))
		s = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	cJSON_Delete(ev);
	free(text);
	free(ids);
	return s;
}
