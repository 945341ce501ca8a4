/* Renders a workflow as a Discord embed: one line per step with its mark,
 * detail and elapsed time; the kind's own fields (the stack and its status,
 * the instance tag), image tag, trigger and outcome as fields;
 * blue/green/red by status. Limits are enforced by rest.c. */
#include "embed.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../i18n/i18n.h"
#include "kind.h"

#define EMBED_FULL_STEPS 12

const char *embed_mark(enum wf_mark mark)
{
	switch (mark) {
	case WF_PENDING: return "▫️";
	case WF_ACTIVE: return "🔄";
	case WF_DONE: return "✅";
	case WF_SKIPPED: return "⏭️";
	case WF_ERROR: return "❌";
	}
	return "?";
}

void embed_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (s < 60)
		snprintf(buf, len, "%llu.%llus", (unsigned long long)s,
			 (unsigned long long)(ms % 1000 / 100));
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
}

static void add_field(cJSON *fields, const char *name, const char *value, int is_inline)
{
	if (!value || !*value)
		return;
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "name", name);
	cJSON_AddStringToObject(f, "value", value);
	cJSON_AddBoolToObject(f, "inline", is_inline);
	cJSON_AddItemToArray(fields, f);
}

/* Another account or region than the daemon's is said, so nobody reads a
 * red embed against the wrong console: "222222222222, ap-northeast-2". */
static void add_target_field(cJSON *fields, const struct cfg_env *env, const char *loc)
{
	struct cfg_aws_target t = cfg_env_target(env);
	if (!t.assume_role && !t.region && !env->regions && !env->all_regions)
		return;
	char where[700];
	const char *acct = cfg_role_account(t.assume_role);
	size_t o = 0;
	if (acct)
		o += (size_t)snprintf(where + o, sizeof(where) - o, "%.12s", acct);
	else
		o += (size_t)snprintf(where + o, sizeof(where) - o, "%s", tr(loc, "envbot's own"));
	if (o >= sizeof(where))
		o = sizeof(where) - 1;
	if (env->all_regions)
		snprintf(where + o, sizeof(where) - o, "%s", tr(loc, ", every enabled region"));
	else if (env->n_regions > 1)
		snprintf(where + o, sizeof(where) - o, tr(loc, ", %zu regions"), env->n_regions);
	else if (env->n_regions == 1 || t.region)
		snprintf(where + o, sizeof(where) - o, ", %s",
			 env->n_regions == 1 ? env->regions[0] : t.region);
	add_field(fields, tr(loc, "Account"), where, 1);
}

/* The kinds add their fields through this (kind_field_fn): their names are
 * msgids (N_), shown in the embed's language. */
struct kind_fields {
	cJSON *fields;
	const char *loc;
};

static void add_kind_field(void *arg, const char *name, const char *value, bool is_inline)
{
	const struct kind_fields *kf = arg;
	add_field(kf->fields, tr(kf->loc, name), value, is_inline);
}

cJSON *embed_workflow(const struct wf *wf, const char *note)
{
	const struct cfg_env *env = wf_env(wf);
	enum wf_status st = wf_status(wf);
	bool start = wf_action(wf) == ACTION_START;
	const char *loc = wf_locale(wf); /* everything people read of it */
	char title[256], buf[4096], dur[32];

	if (st == WF_RUNNING)
		snprintf(title, sizeof(title),
			 start ? tr(loc, "Starting %s…") : tr(loc, "Stopping %s…"), env->name);
	else if (st == WF_SUCCEEDED)
		snprintf(title, sizeof(title), start ? tr(loc, "%s is up") : tr(loc, "%s is down"),
			 env->name);
	else
		snprintf(title, sizeof(title),
			 start ? tr(loc, "%s start failed") : tr(loc, "%s stop failed"), env->name);

	/* The steps, one per line (none yet: a group before its members are
	 * listed). */
	size_t off = 0;
	buf[0] = '\0';
	if (note && *note)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "*%s*\n", note);
	const struct wf_step *steps;
	size_t n = wf_steps(wf, &steps);
	uint64_t now = wf_started_ms(wf) + wf_elapsed_ms(wf);
	/* A group of many members would pass Discord's 4096 characters: past a
	 * dozen steps, only the running and the failed ones keep their detail. */
	bool compact = n > EMBED_FULL_STEPS;
	for (size_t i = 0; i < n && off < sizeof(buf) - 1; i++) {
		const struct wf_step *s = &steps[i];
		const char *detail =
			!compact || s->mark == WF_ACTIVE || s->mark == WF_ERROR ? s->detail : "";
		char el[32] = "";
		if (s->started_ms &&
		    (s->mark == WF_DONE || s->mark == WF_ERROR || s->mark == WF_ACTIVE)) {
			uint64_t end = s->ended_ms ? s->ended_ms : now;
			embed_duration(end > s->started_ms ? end - s->started_ms : 0, el,
				       sizeof(el));
		}
		off += (size_t)snprintf(
			buf + off, sizeof(buf) - off, "%s **%s**%s%s%s%s%s\n", embed_mark(s->mark),
			s->msgid ? tr(loc, s->label) : s->label, detail[0] ? " — " : "", detail,
			el[0] ? " (" : "", el, el[0] ? ")" : "");
	}
	if (off >= sizeof(buf))
		off = sizeof(buf) - 1;

	cJSON *msg = cJSON_CreateObject();
	cJSON *embeds = cJSON_AddArrayToObject(msg, "embeds");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddItemToArray(embeds, e);
	cJSON_AddStringToObject(e, "title", title);
	if (buf[0])
		cJSON_AddStringToObject(e, "description", buf);
	cJSON_AddNumberToObject(e, "color",
				st == WF_RUNNING     ? EMBED_BLUE
				: st == WF_SUCCEEDED ? EMBED_GREEN
						     : EMBED_RED);
	cJSON *fields = cJSON_AddArrayToObject(e, "fields");
	if (st != WF_RUNNING)
		add_field(fields, st == WF_SUCCEEDED ? tr(loc, "Result") : tr(loc, "Reason"),
			  wf_summary_said(wf), 0);
	const struct kind *kind = kind_of(env);
	struct kind_fields kf = { .fields = fields, .loc = loc };
	if (kind && kind->embed_fields)
		kind->embed_fields(wf, add_kind_field, &kf);
	add_target_field(fields, env, loc);
	if (wf_image_tag(wf)[0]) {
		snprintf(buf, sizeof(buf), "`%s`%s%s%s", wf_image_tag(wf),
			 wf_image_rule(wf)[0] ? " (" : "", wf_image_rule(wf),
			 wf_image_rule(wf)[0] ? ")" : "");
		add_field(fields, tr(loc, "Image tag"), buf, 1);
	}
	add_field(fields, tr(loc, "Triggered by"), wf_trigger_said(wf), 1);
	embed_duration(wf_elapsed_ms(wf), dur, sizeof(dur));
	add_field(fields, tr(loc, "Elapsed"), dur, 1);
	if (wf_n_details(wf) > 0) {
		off = 0;
		for (size_t i = 0; i < wf_n_details(wf) && off < 1000; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\n",
						wf_detail(wf, i));
		add_field(
			fields,
			tr(loc, kind && kind->details_title ? kind->details_title : N_("Details")),
			buf, 0);
	}
	snprintf(buf, sizeof(buf), tr(loc, "workflow %s"), wf_id(wf));
	cJSON *footer = cJSON_AddObjectToObject(e, "footer");
	cJSON_AddStringToObject(footer, "text", buf);
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(e, "timestamp", buf);
	return msg;
}
