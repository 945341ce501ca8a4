/* /healthz and /metrics for `envbot run` (health.listen). The figures are
 * pulled from the modules' own counters at scrape time (gateway, REST, AWS,
 * workflow manager, scheduler), so no module needs to know about the
 * registry; the counters that only the daemon sees (workflow outcomes) are
 * pushed as they happen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/aws.h"
#include "../core/log.h"
#include "../health/health.h"
#include "../health/metrics.h"
#include "../sched/sched.h"
#include "../wf/wfm.h"
#include "daemon.h"

#define MOD "health"

/* Counters mirrored from the modules: what was already added. */
struct daemon_health {
	struct bot *bot;
	uint64_t reconnects, rl, rl_global;
	uint64_t aws_requests[AWS_SERVICE_COUNT], aws_errors[AWS_SERVICE_COUNT];
};

static void add_delta(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
		      uint64_t now, uint64_t *was)
{
	if (now > *was)
		metrics_add(m, id, l1, l2, (double)(now - *was));
	*was = now;
}

static void refresh(struct daemon_health *seen, struct health_status *st)
{
	struct bot *bot = seen->bot;
	struct metrics *m = bot->metrics;
	struct gw_stats gs = { 0 };
	if (bot->gw)
		gw_get_stats(bot->gw, &gs);
	st->gateway_connected = gs.connected;
	st->heartbeat_ack_age_ms = -1;
	st->heartbeat_interval_ms = 0;
	st->scheduler_alive = bot->sched != NULL;
	metrics_set(m, METRIC_GATEWAY_CONNECTED, NULL, NULL, gs.connected ? 1 : 0);
	if (gs.latency_ms >= 0)
		metrics_set(m, METRIC_HEARTBEAT_LATENCY, NULL, NULL,
			    (double)gs.latency_ms / 1000.0);
	add_delta(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, gs.reconnects, &seen->reconnects);
	metrics_set(m, METRIC_SCHEDULER_ALIVE, NULL, NULL, bot->sched ? 1 : 0);

	struct rest_stats rs = { 0 };
	rest_get_stats(bot->rest, &rs);
	add_delta(m, METRIC_DISCORD_429, "global", NULL, rs.ratelimited_global, &seen->rl_global);
	add_delta(m, METRIC_DISCORD_429, "route", NULL, rs.ratelimited - rs.ratelimited_global,
		  &seen->rl);

	if (bot->aws) {
		struct aws_metrics am;
		aws_get_metrics(bot->aws, &am);
		for (int s = 0; s < AWS_SERVICE_COUNT; s++) {
			const char *svc = aws_service_name((enum aws_service)s);
			add_delta(m, METRIC_AWS_CALLS, svc, NULL, am.requests[s],
				  &seen->aws_requests[s]);
			add_delta(m, METRIC_AWS_ERRORS, svc, "any", am.errors[s],
				  &seen->aws_errors[s]);
		}
	}
	metrics_set(m, METRIC_WORKFLOWS_RUNNING, NULL, NULL,
		    bot->wfm ? (double)wfm_count(bot->wfm) : 0);

	/* Next scheduled action per environment (after overrides). */
	metrics_clear(m, METRIC_NEXT_ACTION);
	time_t now = time(NULL);
	for (size_t i = 0; bot->sched && i < bot->cfg->n_envs; i++) {
		struct sched_action a;
		if (sched_next(bot->sched, bot->cfg->envs[i].name, now, &a) && a.decision.run)
			metrics_set(m, METRIC_NEXT_ACTION, bot->cfg->envs[i].name,
				    action_name(a.action), (double)a.at);
	}
}

static void provide(void *arg, struct health_status *st)
{
	refresh(arg, st);
}

enum bot_rc daemon_health_start(struct bot *bot)
{
	bot->metrics = metrics_create();
	bot->dhealth = calloc(1, sizeof(*bot->dhealth));
	if (!bot->metrics || !bot->dhealth)
		return BOT_ENOMEM;
	bot->dhealth->bot = bot;
	if (!bot->cfg->health_listen)
		return BOT_OK;
	char err[256];
	struct health_opts opts = { .listen = bot->cfg->health_listen,
				    .provider = { .status = provide, .arg = bot->dhealth },
				    .metrics = bot->metrics };
	if (health_create(bot->loop, &opts, &bot->health, err, sizeof(err)) != BOT_OK) {
		log_error(MOD, "msg=\"health listener not started\" listen=%s reason=\"%s\"",
			  bot->cfg->health_listen, err);
		return BOT_ECONFIG;
	}
	log_info(MOD, "msg=\"health listener\" listen=%s port=%d", bot->cfg->health_listen,
		 health_port(bot->health));
	return BOT_OK;
}

void daemon_health_stop(struct bot *bot)
{
	health_destroy(bot->health);
	bot->health = NULL;
	metrics_destroy(bot->metrics);
	bot->metrics = NULL;
	free(bot->dhealth);
	bot->dhealth = NULL;
}

void daemon_count_workflow(struct bot *bot, const struct wf *wf)
{
	metrics_inc(bot->metrics, METRIC_WORKFLOWS, action_name(wf_action(wf)),
		    wf_status(wf) == WF_SUCCEEDED ? "success" : "failed");
}
