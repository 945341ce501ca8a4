/* Unit tests of events out: the event document (bot/events/event.c), its
 * record in the state and the state file (bot/state/state_events.c), the
 * Slack body, the webhook signature, PutEvents' verdicts (aws/notify.c), the
 * config of sinks, the report, calendars and the locale, and the calendar
 * copies in the state. The delivery itself is tested end to end by
 * tests/e2e/test_events.py. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/notify.h"
#include "../../bot/core/log.h"
#include "../../bot/events/event.h"
#include "../../bot/events/events.h"
#include "../../bot/kinds/kinds.h"
#include "../../config/config.h"
#include "check.h"

static const char head[] = "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
			   "aws: { region = \"us-east-1\"; };\n";
static const char env_ok[] = "environments = ( { name = \"qa\"; kind = \"ec2\";\n"
			     "  tag = { key = \"k\"; value = \"v\"; }; } );\n";

/* Loads head + middle + env (NULL: env_ok); err receives the messages. */
static struct cfg *load(const char *middle, const char *env, char *err, size_t errlen)
{
	char text[4096];
	struct cfg *cfg = NULL;
	snprintf(text, sizeof(text), "%s%s%s", head, middle, env ? env : env_ok);
	err[0] = '\0';
	if (cfg_load_string(text, "t.cfg", envbot_kinds, &cfg, err, errlen) != BOT_OK)
		return NULL;
	return cfg;
}

static const char sinks[] =
	"notify = { webhooks = ( { url = \"http://127.0.0.1:9/h\"; format = \"slack\"; "
	"name = \"hook\"; } );\n"
	"  sns_topic_arn = \"arn:aws:sns:eu-west-1:123456789012:envbot\";\n"
	"  eventbridge_bus = \"arn:aws:events:ap-northeast-2:123456789012:event-bus/default\"; "
	"};\n";

static void test_config_sinks(void)
{
	char err[4096];
	struct cfg *cfg = load(sinks, NULL, err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return;
	}
	CHECK_INT(cfg->n_sinks, 3);
	CHECK_INT(cfg->sinks[0].kind, CFG_SINK_WEBHOOK);
	CHECK(cfg->sinks[0].slack);
	CHECK_STR(cfg->sinks[0].name, "hook");
	CHECK_INT(cfg->sinks[1].kind, CFG_SINK_SNS);
	CHECK_STR(cfg->sinks[1].name, "sns");
	CHECK_STR(cfg->sinks[1].region, "eu-west-1"); /* from the ARN */
	CHECK_INT(cfg->sinks[2].kind, CFG_SINK_EVENTBRIDGE);
	CHECK_STR(cfg->sinks[2].name, "eventbridge");
	CHECK_STR(cfg->sinks[2].region, "ap-northeast-2");
	CHECK_STR(cfg->locale, "en");
	CHECK(!cfg->report_on);
	cfg_destroy(cfg);

	/* each mistake, with its line and setting */
	static const struct {
		const char *middle, *want;
	} bad[] = {
		{ "notify = { webhooks = ( { format = \"json\"; } ); };\n",
		  "t.cfg:3: notify.webhooks.[0].url: required setting is missing" },
		{ "notify = { sns_topic_arn = \"arn:aws:sqs:eu-west-1:1:x\"; };\n",
		  "notify.sns_topic_arn: \"arn:aws:sqs:eu-west-1:1:x\" is not an SNS topic ARN" },
		{ "notify = { sns_topic_arn = ( \"arn:aws:sns:eu-west-1:123456789012:a\", 5 ); "
		  "};\n",
		  "notify.sns_topic_arn.[1]: must be a string" },
		{ "notify = { webhooks = ( { url = \"http://example.com/h\"; } ); };\n",
		  "notify.webhooks.[0].url:" },
		{ "notify = { webhooks = ( { url = \"http://127.0.0.1/h\"; format = \"xml\"; } ); "
		  "};\n",
		  "notify.webhooks.[0].format: \"xml\" is not one of \"json\", \"slack\"" },
		{ "notify = { webhooks = ( { url = \"http://127.0.0.1/a\"; name = \"a\"; },\n"
		  "  { url = \"http://127.0.0.1/b\"; name = \"a\"; } ); };\n",
		  "t.cfg:4: notify.webhooks.[1].name: duplicate destination name \"a\"" },
		{ "notify = { webhooks = ( { url = \"http://127.0.0.1/a\"; name = \"a b\"; } ); "
		  "};\n",
		  "notify.webhooks.[0].name: \"a b\" is not a destination name" },
		{ "notify = { eventbridge_bus = \"arn:aws:sqs:eu-west-1:123456789012:q\"; };\n",
		  "notify.eventbridge_bus: \"arn:aws:sqs:eu-west-1:123456789012:q\" is neither a "
		  "bus "
		  "name nor an EventBridge bus ARN" },
		{ "notify = { sns_topic = \"x\"; };\n", "notify.sns_topic: unknown setting" },
		{ "locale = \"fr\";\n", "t.cfg:3: locale: \"fr\" is not one of \"en\", \"ko\"" },
		{ "report = { schedule = \"0 9 * * XYZ\"; };\n", "report.schedule: bad cron" },
		{ "holiday_calendars = [ \"relative/ko.ics\" ];\n",
		  "holiday_calendars.[0]: \"relative/ko.ics\" is neither an https:// URL nor an "
		  "absolute path" },
		{ "holiday_calendars = [ \"/a/ko.ics\", \"https://x.example/ko.ics\" ];\n",
		  "holiday_calendars.[1]: \"https://x.example/ko.ics\": another calendar already "
		  "has the name \"ko\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = load(bad[i].middle, NULL, err, sizeof(err));
		CHECK(cfg == NULL);
		CHECK(strstr(err, bad[i].want) != NULL);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "case %zu: want \"%s\" in:\n%s", i, bad[i].want, err);
		cfg_destroy(cfg);
	}
}

static void test_config_report_calendars(void)
{
	char err[4096];
	struct cfg *cfg = load(
		"report = { schedule = \"0 9 * * MON\"; cost_explorer = true; };\n"
		"holiday_calendars = [ \"/etc/envbot/ko.ics\", \"https://h.example/c/co.ics?x=1\" "
		"];\nlocale = \"ko\";\n",
		"environments = ( { name = \"qa\"; kind = \"ec2\"; holidays_from = [ \"ko\" ];\n"
		"  tag = { key = \"k\"; value = \"v\"; }; },\n"
		"  { name = \"dev\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"w\"; }; } );\n",
		err, sizeof(err));
	CHECK(cfg != NULL);
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return;
	}
	CHECK(cfg->report_on);
	CHECK_STR(cfg->report_expr, "0 9 * * MON");
	CHECK(cfg->report_ce);
	CHECK_STR(cfg->report_cost_tag, "envbot:env");
	CHECK_INT(cfg->n_calendars, 2);
	CHECK_STR(cfg->calendars[0].name, "ko");
	CHECK(!cfg->calendars[0].is_url);
	CHECK_STR(cfg->calendars[1].name, "co");
	CHECK(cfg->calendars[1].is_url);
	CHECK_STR(cfg->locale, "ko");
	CHECK(cfg->envs[0].holidays_from_set);
	CHECK_INT(cfg->envs[0].n_holidays_from, 1);
	CHECK(!cfg->envs[1].holidays_from_set);
	cfg_destroy(cfg);

	cfg = load("holiday_calendars = [ \"/etc/envbot/ko.ics\" ];\n",
		   "environments = ( { name = \"qa\"; kind = \"ec2\"; holidays_from = [ \"jp\" ];\n"
		   "  tag = { key = \"k\"; value = \"v\"; }; } );\n",
		   err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "t.cfg:4: environments.[0].holidays_from.[0]: \"jp\" is not one of "
			  "holiday_calendars' names") != NULL);
	cfg_destroy(cfg);
}

static void test_event_json(void)
{
	struct event_in in = { .type = EVENT_WF_FINISHED,
			       .time = 1767225600, /* 2026-01-01T00:00:00Z */
			       .env = "qa",
			       .who = "alice",
			       .summary = "qa: start done",
			       .workflow_id = "wf-qa-1",
			       .action = "start",
			       .trigger = "/env start by alice",
			       .outcome = "succeeded",
			       .duration_s = 42 };
	char id[STATE_WFID_MAX];
	event_make_id(&in, id, sizeof(id));
	CHECK_STR(id, "wf-qa-1:finished");
	char *json = event_json(&in, id);
	cJSON *o = cJSON_Parse(json);
	CHECK(o != NULL);
	CHECK_INT(cJSON_GetObjectItem(o, "version")->valueint, 1);
	CHECK_STR(cJSON_GetObjectItem(o, "id")->valuestring, "wf-qa-1:finished");
	CHECK_STR(cJSON_GetObjectItem(o, "type")->valuestring, "workflow.finished");
	CHECK_STR(cJSON_GetObjectItem(o, "time")->valuestring, "2026-01-01T00:00:00Z");
	CHECK_STR(cJSON_GetObjectItem(o, "environment")->valuestring, "qa");
	const cJSON *wf = cJSON_GetObjectItem(o, "workflow");
	CHECK_STR(cJSON_GetObjectItem(wf, "outcome")->valuestring, "succeeded");
	CHECK_INT(cJSON_GetObjectItem(wf, "duration_s")->valueint, 42);
	CHECK(cJSON_GetObjectItem(wf, "error") == NULL);
	cJSON_Delete(o);
	free(json);

	/* an override without an environment (freeze): environment is null */
	struct event_in ov = { .type = EVENT_OVERRIDE,
			       .time = 1767225600,
			       .who = "bob",
			       .command = "/freeze",
			       .override = "freeze" };
	event_make_id(&ov, id, sizeof(id));
	CHECK(strncmp(id, "ev-1767225600-", 14) == 0 && strlen(id) == 14 + 16);
	char id2[STATE_WFID_MAX];
	event_make_id(&ov, id2, sizeof(id2));
	CHECK(strcmp(id, id2) != 0); /* random part */
	json = event_json(&ov, id);
	o = cJSON_Parse(json);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "environment")));
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "override"), "name")->valuestring,
		  "freeze");
	cJSON_Delete(o);
	free(json);
}

static void test_record_and_deliver(void)
{
	char err[4096];
	struct cfg *cfg = load(sinks, NULL, err, sizeof(err));
	struct state *st = state_create();
	CHECK(cfg && st);
	if (!cfg || !st)
		return;
	struct event_in in = { .type = EVENT_WF_STARTED,
			       .time = 1767225600,
			       .env = "qa",
			       .workflow_id = "wf-qa-2",
			       .action = "stop",
			       .trigger = "schedule" };
	char id[STATE_WFID_MAX];
	CHECK_INT(event_record(st, cfg, &in, id, sizeof(id)), BOT_OK);
	CHECK_STR(id, "wf-qa-2:started");
	/* recorded again (a resumed workflow): still one */
	CHECK_INT(event_record(st, cfg, &in, NULL, 0), BOT_OK);
	CHECK_INT(state_event_count(st), 1);
	const struct state_event *e = state_event_find(st, id);
	CHECK(e && e->n_pending == 3);
	CHECK(e && strcmp(e->pending[0], "hook") == 0 && strcmp(e->pending[2], "eventbridge") == 0);

	/* the state file keeps it, and the calendars */
	struct state_cal_day days[2] = { { 20270206, "Seollal" }, { 20270207, "Seollal" } };
	CHECK_INT(state_calendar_set(st, "ko", 1767225600, days, 2, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_calendar_failed(st, "ko", 1767312000, "HTTP 500"), BOT_OK);
	char *dump = state_dump(st);
	struct state *back = NULL;
	CHECK_INT(state_parse(dump, &back, err, sizeof(err)), BOT_OK);
	char *again = back ? state_dump(back) : NULL;
	CHECK(again && strcmp(dump, again) == 0);
	const struct state_calendar *c = back ? state_calendar_find(back, "ko") : NULL;
	CHECK(c && c->n_days == 2 && c->days[1].date == 20270207 && c->failed_at == 1767312000);
	CHECK(c && strcmp(c->error, "HTTP 500") == 0 && c->fetched == 1767225600);
	free(dump);
	free(again);
	state_destroy(back);

	CHECK(state_event_delivered(st, id, "sns"));
	CHECK(!state_event_delivered(st, id, "sns")); /* once */
	CHECK(state_event_delivered(st, id, "hook"));
	CHECK_INT(state_event_count(st), 1);
	CHECK(state_event_delivered(st, id, "eventbridge"));
	CHECK_INT(state_event_count(st), 0); /* the last sink took it */

	/* a full outbox drops the oldest */
	for (int i = 0; i <= STATE_MAX_EVENTS; i++) {
		char wid[32];
		snprintf(wid, sizeof(wid), "wf-%d", i);
		in.workflow_id = wid;
		CHECK_INT(event_record(st, cfg, &in, NULL, 0), BOT_OK);
	}
	CHECK_INT(state_event_count(st), STATE_MAX_EVENTS);
	CHECK_STR(state_event_at(st, 0)->id, "wf-1:started");

	/* calendars gone from the config are forgotten */
	char *keep[] = { (char *)"other" };
	CHECK_INT(state_calendar_keep(st, keep, 1), 1);
	CHECK(state_calendar_find(st, "ko") == NULL);
	state_destroy(st);
	cfg_destroy(cfg);
}

static void test_slack_and_signature(void)
{
	char *body =
		event_slack_body("{\"id\":\"e1\",\"type\":\"workflow.finished\",\"summary\":"
				 "\"qa <stop> & done\",\"workflow\":{\"outcome\":\"failed\"}}");
	cJSON *o = cJSON_Parse(body);
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetObjectItem(o, "text")->valuestring, ":x: qa &lt;stop&gt; &amp; done");
	const cJSON *blocks = cJSON_GetObjectItem(o, "blocks");
	CHECK_INT(cJSON_GetArraySize(blocks), 2);
	const cJSON *ctx = cJSON_GetArrayItem(blocks, 1);
	CHECK_STR(cJSON_GetObjectItem(ctx, "type")->valuestring, "context");
	const cJSON *el = cJSON_GetArrayItem(cJSON_GetObjectItem(ctx, "elements"), 0);
	CHECK_STR(cJSON_GetObjectItem(el, "text")->valuestring, "envbot event e1");
	cJSON_Delete(o);
	free(body);
	CHECK(event_slack_body("{\"no\":1}") == NULL);

	/* python3 -c 'import hmac,hashlib; print(hmac.new(b"k3y",
	 *   b"1700000000.{\"id\":\"e1\"}", hashlib.sha256).hexdigest())' */
	char sig[80];
	events_signature("k3y", 3, 1700000000, "{\"id\":\"e1\"}", sig, sizeof(sig));
	CHECK_STR(sig, "sha256=c42a3ef4d6ea300d148480ff9919eff074ce550325cfaccd070778d56133fd46");
}

static void test_putevents_verdict(void)
{
	static const struct {
		const char *body;
		enum bot_rc rc;
		const char *code;
	} cases[] = {
		{ "{\"FailedEntryCount\":0,\"Entries\":[{\"EventId\":\"x\"}]}", BOT_OK, "" },
		{ "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"ThrottlingException\","
		  "\"ErrorMessage\":\"slow down\"}]}",
		  BOT_ETHROTTLED, "ThrottlingException" },
		{ "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"InternalFailure\"}]}",
		  BOT_ESERVER, "InternalFailure" },
		{ "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"MalformedDetail\"}]}",
		  BOT_EREMOTE, "MalformedDetail" },
		{ "{\"Entries\":[]}", BOT_EPARSE, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aws_err err = { .rc = BOT_OK };
		eb_decode_put(cases[i].body, strlen(cases[i].body), &err);
		CHECK_INT(err.rc, cases[i].rc);
		CHECK_STR(err.code, cases[i].code);
	}
}

int main(void)
{
	log_set_level(LL_ERROR);
	test_config_sinks();
	test_config_report_calendars();
	test_event_json();
	test_record_and_deliver();
	test_slack_and_signature();
	test_putevents_verdict();
	return check_done();
}
