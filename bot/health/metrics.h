/* Operational metrics: a small thread-safe registry of counters and gauges
 * with up to two labels, rendered in the Prometheus text exposition format
 * (version 0.0.4) for GET /metrics on the health listener (health.h).
 * The set of metrics is fixed here, as data, so every module increments the
 * same names and a typo is a compile error instead of a new time series. */
#ifndef ENVBOT_METRICS_H
#define ENVBOT_METRICS_H

#include <stddef.h>

#include "../core/rc.h"

/* One id per metric. The exposed name, type, help text and label names are in
 * the table of metrics.c; they are repeated here so callers know which label
 * values to pass (l1, l2 in that order; NULL for a metric without labels). */
enum metric_id {
	/* counter envbot_gateway_reconnects_total: gateway (re)connections
	 * after the first, resumes included. */
	METRIC_GATEWAY_RECONNECTS = 0,
	/* gauge envbot_gateway_connected: 1 while the gateway session is
	 * READY or RESUMED. */
	METRIC_GATEWAY_CONNECTED,
	/* gauge envbot_gateway_heartbeat_latency_seconds: time between the
	 * last heartbeat sent and its ACK. */
	METRIC_HEARTBEAT_LATENCY,
	/* gauge envbot_gateway_heartbeat_ack_age_seconds: time since the last
	 * heartbeat ACK (set by the health listener at scrape time). */
	METRIC_HEARTBEAT_ACK_AGE,
	/* gauge envbot_scheduler_alive: 1 while the scheduler ticks. */
	METRIC_SCHEDULER_ALIVE,
	/* counter envbot_interactions_total{command, outcome}: slash commands
	 * and buttons; outcome is "ok", "refused" or "error". */
	METRIC_INTERACTIONS,
	/* counter envbot_discord_rate_limited_total{scope}: REST 429 answers;
	 * scope is Discord's X-RateLimit-Scope ("user", "global", "shared"). */
	METRIC_DISCORD_429,
	/* counter envbot_aws_requests_total{service}: AWS API calls sent;
	 * service is "cloudformation", "ec2", "ecr", "sts". */
	METRIC_AWS_CALLS,
	/* counter envbot_aws_errors_total{service, code}: AWS calls that
	 * failed; code is the AWS error code, or "network". */
	METRIC_AWS_ERRORS,
	/* counter envbot_workflows_total{kind, outcome}: workflows finished;
	 * kind is "start" or "stop", outcome "success", "failed", "cancelled". */
	METRIC_WORKFLOWS,
	/* gauge envbot_workflows_running: workflows in flight. */
	METRIC_WORKFLOWS_RUNNING,
	/* gauge envbot_next_action_timestamp_seconds{environment, action}:
	 * Unix time of the next scheduled action; action is "start" or "stop".
	 * Call metrics_clear() before re-publishing after a config reload so
	 * removed environments disappear. */
	METRIC_NEXT_ACTION,
	/* counter envbot_metrics_series_dropped_total: label combinations
	 * refused because a metric already had METRICS_MAX_SERIES series. */
	METRIC_SERIES_DROPPED,
	/* gauge envbot_replica_active: 1 on the replica holding the lease
	 * (and on a daemon of the state file), 0 on the standby. */
	METRIC_REPLICA_ACTIVE,
	/* gauge envbot_replica_role_since_timestamp_seconds: Unix time this
	 * replica became active or standby. */
	METRIC_REPLICA_SINCE,
	/* counter envbot_events_total{outcome}: deliveries of events out,
	 * "delivered", "retried" (an attempt failed) or "dropped" (refused
	 * for good, or the sink left the config). */
	METRIC_EVENTS,
	/* gauge envbot_events_pending: deliveries waiting (summed over sinks). */
	METRIC_EVENTS_PENDING,
	METRIC_COUNT
};

/* Label combinations kept per metric; more would mean a label fed by
 * something unbounded (a bug), so they are dropped and counted instead. */
#define METRICS_MAX_SERIES 64
/* Longer label values are truncated (bytes, NUL excluded). */
#define METRICS_MAX_LABEL 63

struct metrics;

/* Returns a new registry with every metric at zero, or NULL on allocation
 * failure. */
struct metrics *metrics_create(void);
/* Accepts NULL. */
void metrics_destroy(struct metrics *m);

/* The exposed name ("envbot_..."), or NULL for an invalid id. Static string. */
const char *metrics_name(enum metric_id id);

/* Adds delta (>= 0 for counters) to the series of (l1, l2). Label values are
 * copied; pass NULL for labels the metric does not have. Thread-safe; m may
 * be NULL (no-op), so modules can run without a registry.
 * Returns BOT_OK, BOT_EINVAL (bad id, wrong label count, negative counter
 * delta) or BOT_ENOMEM (series table full; counted in
 * METRIC_SERIES_DROPPED). */
enum bot_rc metrics_add(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
			double delta);
/* metrics_add(m, id, l1, l2, 1). */
enum bot_rc metrics_inc(struct metrics *m, enum metric_id id, const char *l1, const char *l2);
/* Sets a gauge (BOT_EINVAL for a counter). Same rules as metrics_add. */
enum bot_rc metrics_set(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
			double value);
/* Current value of one series; 0 if it does not exist. Thread-safe. */
double metrics_get(struct metrics *m, enum metric_id id, const char *l1, const char *l2);
/* Forgets every series of id (e.g. per-environment gauges after a reload). */
void metrics_clear(struct metrics *m, enum metric_id id);

/* Renders every metric in the Prometheus text format. On success *out is a
 * new NUL-terminated string the caller frees and *len its length. Returns
 * BOT_OK or BOT_ENOMEM. Thread-safe (a consistent snapshot). */
enum bot_rc metrics_render(struct metrics *m, char **out, size_t *len);

#endif
