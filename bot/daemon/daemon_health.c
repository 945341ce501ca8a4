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
#include "../events/events.h"
#include "../health/health.h"
#include "../health/metrics.h"
#include "../sched/sched.h"
#include "../wf/wfm.h"
#include "daemon.h"
#include "replica.h"

#define MOD "health"

/* The registry, the listener, and the counters mirrored from the modules:
 * what was already added. */
struct daemon_health {
	const struct cmd_deps *deps;   /* the daemon's current handles */
	struct gw *gw;                 /* NULL until the gateway exists */
	const struct replica *replica; /* NULL: the state file, one replica */
	struct metrics *metrics;       /* owned */
	struct health *health;         /* owned; NULL if health.listen is not set */
	uint64_t reconnects, rl, rl_global;
	uint64_t aws_requests[AWS_SERVICE_COUNT], aws_errors[AWS_SERVICE_COUNT];
	uint64_t ev_delivered, ev_failures, ev_dropped;
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
	const struct cmd_deps *deps = seen->deps;
	struct metrics *m = seen->metrics;
	struct gw_stats gs = { 0 };
	if (seen->gw)
		gw_get_stats(seen->gw, &gs);
	st->gateway_connected = gs.connected;
	st->heartbeat_ack_age_ms = -1;
	st->heartbeat_interval_ms = 0;
	st->scheduler_alive = deps->sched != NULL;
	metrics_set(m, METRIC_GATEWAY_CONNECTED, NULL, NULL, gs.connected ? 1 : 0);
	if (gs.latency_ms >= 0)
		metrics_set(m, METRIC_HEARTBEAT_LATENCY, NULL, NULL,
			    (double)gs.latency_ms / 1000.0);
	add_delta(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, gs.reconnects, &seen->reconnects);
	metrics_set(m, METRIC_SCHEDULER_ALIVE, NULL, NULL, deps->sched ? 1 : 0);
	if (seen->replica) {
		st->replicated = true;
		st->standby = !replica_active(seen->replica);
		st->role_since = replica_since(seen->replica);
		/* three lease periods without an answer from DynamoDB */
		st->lease_reachable = replica_failures(seen->replica) < 3;
		metrics_set(m, METRIC_REPLICA_ACTIVE, NULL, NULL, st->standby ? 0 : 1);
		metrics_set(m, METRIC_REPLICA_SINCE, NULL, NULL, (double)st->role_since);
	} else {
		metrics_set(m, METRIC_REPLICA_ACTIVE, NULL, NULL, 1);
	}

	struct rest_stats rs = { 0 };
	if (deps->rest)
		rest_get_stats(deps->rest, &rs);
	add_delta(m, METRIC_DISCORD_429, "global", NULL, rs.ratelimited_global, &seen->rl_global);
	add_delta(m, METRIC_DISCORD_429, "route", NULL, rs.ratelimited - rs.ratelimited_global,
		  &seen->rl);

	if (deps->aws) {
		struct aws_metrics am;
		aws_get_metrics(deps->aws, &am);
		for (int s = 0; s < AWS_SERVICE_COUNT; s++) {
			const char *svc = aws_service_name((enum aws_service)s);
			add_delta(m, METRIC_AWS_CALLS, svc, NULL, am.requests[s],
				  &seen->aws_requests[s]);
			add_delta(m, METRIC_AWS_ERRORS, svc, "any", am.errors[s],
				  &seen->aws_errors[s]);
		}
	}
	struct events_metrics em;
	events_get_metrics(deps->events, &em);
	add_delta(m, METRIC_EVENTS, "delivered", NULL, em.delivered, &seen->ev_delivered);
	add_delta(m, METRIC_EVENTS, "retried", NULL, em.failures, &seen->ev_failures);
	add_delta(m, METRIC_EVENTS, "dropped", NULL, em.dropped, &seen->ev_dropped);
	metrics_set(m, METRIC_EVENTS_PENDING, NULL, NULL, (double)em.pending);
	metrics_set(m, METRIC_WORKFLOWS_RUNNING, NULL, NULL,
		    deps->wfm ? (double)wfm_count(deps->wfm) : 0);

	/* Next scheduled action per environment (after overrides). */
	metrics_clear(m, METRIC_NEXT_ACTION);
	time_t now = time(NULL);
	for (size_t i = 0; deps->sched && i < deps->cfg->n_envs; i++) {
		struct sched_action a;
		if (sched_next(deps->sched, deps->cfg->envs[i].name, now, &a) && a.decision.run)
			metrics_set(m, METRIC_NEXT_ACTION, deps->cfg->envs[i].name,
				    action_name(a.action), (double)a.at);
	}
}

static void provide(void *arg, struct health_status *st)
{
	refresh(arg, st);
}

enum bot_rc daemon_health_create(struct loop *loop, const struct cmd_deps *deps,
				 struct daemon_health **out)
{
	struct daemon_health *dh = calloc(1, sizeof(*dh));
	*out = NULL;
	if (!dh || !(dh->metrics = metrics_create())) {
		free(dh);
		return BOT_ENOMEM;
	}
	dh->deps = deps;
	*out = dh;
	if (!deps->cfg->health_listen)
		return BOT_OK;
	char err[256];
	struct health_opts opts = { .listen = deps->cfg->health_listen,
				    .provider = { .status = provide, .arg = dh },
				    .metrics = dh->metrics };
	if (health_create(loop, &opts, &dh->health, err, sizeof(err)) != BOT_OK) {
		log_error(MOD, "msg=\"health listener not started\" listen=%s reason=\"%s\"",
			  deps->cfg->health_listen, err);
		return BOT_ECONFIG;
	}
	log_info(MOD, "msg=\"health listener\" listen=%s port=%d", deps->cfg->health_listen,
		 health_port(dh->health));
	return BOT_OK;
}

void daemon_health_destroy(struct daemon_health *dh)
{
	if (!dh)
		return;
	health_destroy(dh->health);
	metrics_destroy(dh->metrics);
	free(dh);
}

void daemon_health_set_replica(struct daemon_health *dh, const struct replica *r)
{
	if (dh)
		dh->replica = r;
}

void daemon_health_set_gateway(struct daemon_health *dh, struct gw *gw)
{
	if (dh)
		dh->gw = gw;
}

void daemon_count_workflow(struct daemon_health *dh, const struct wf *wf)
{
	if (!dh)
		return;
	metrics_inc(dh->metrics, METRIC_WORKFLOWS, action_name(wf_action(wf)),
		    wf_status(wf) == WF_SUCCEEDED ? "success" : "failed");
}
