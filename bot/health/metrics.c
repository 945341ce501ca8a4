/* The metrics registry: a fixed table of metric descriptors (policy as data)
 * and, per metric, a small array of label combinations. One mutex guards it
 * all: updates are a few per second at most (gateway thread and loop
 * thread), so contention does not matter and a snapshot is consistent. */
#include "metrics.h"
#include "../core/array.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"

enum metric_type { MT_COUNTER, MT_GAUGE };

struct metric_desc {
	const char *name;
	enum metric_type type;
	const char *help;
	const char *label[2]; /* NULL when unused; label[1] only if label[0] */
};

static const struct metric_desc descs[METRIC_COUNT] = {
	[METRIC_GATEWAY_RECONNECTS] = { .name = "envbot_gateway_reconnects_total",
					.type = MT_COUNTER,
					.help = "Gateway reconnections since start, resumes "
						"included." },
	[METRIC_GATEWAY_CONNECTED] = { .name = "envbot_gateway_connected",
				       .type = MT_GAUGE,
				       .help = "1 while the Discord gateway session is ready." },
	[METRIC_HEARTBEAT_LATENCY] = { .name = "envbot_gateway_heartbeat_latency_seconds",
				       .type = MT_GAUGE,
				       .help = "Round trip of the last gateway heartbeat." },
	[METRIC_HEARTBEAT_ACK_AGE] = { .name = "envbot_gateway_heartbeat_ack_age_seconds",
				       .type = MT_GAUGE,
				       .help = "Seconds since the last heartbeat ACK (-1: none "
					       "yet)." },
	[METRIC_SCHEDULER_ALIVE] = { .name = "envbot_scheduler_alive",
				     .type = MT_GAUGE,
				     .help = "1 while the scheduler is ticking." },
	[METRIC_INTERACTIONS] = { .name = "envbot_interactions_total",
				  .type = MT_COUNTER,
				  .help = "Slash commands and buttons handled, by outcome.",
				  .label = { "command", "outcome" } },
	[METRIC_DISCORD_429] = { .name = "envbot_discord_rate_limited_total",
				 .type = MT_COUNTER,
				 .help = "Discord REST answers with status 429.",
				 .label = { "scope" } },
	[METRIC_AWS_CALLS] = { .name = "envbot_aws_requests_total",
			       .type = MT_COUNTER,
			       .help = "AWS API requests sent.",
			       .label = { "service" } },
	[METRIC_AWS_ERRORS] = { .name = "envbot_aws_errors_total",
				.type = MT_COUNTER,
				.help = "AWS API requests that failed, by error code.",
				.label = { "service", "code" } },
	[METRIC_WORKFLOWS] = { .name = "envbot_workflows_total",
			       .type = MT_COUNTER,
			       .help = "Workflows finished, by kind and outcome.",
			       .label = { "kind", "outcome" } },
	[METRIC_WORKFLOWS_RUNNING] = { .name = "envbot_workflows_running",
				       .type = MT_GAUGE,
				       .help = "Workflows in flight." },
	[METRIC_NEXT_ACTION] = { .name = "envbot_next_action_timestamp_seconds",
				 .type = MT_GAUGE,
				 .help = "Unix time of the next scheduled action per environment.",
				 .label = { "environment", "action" } },
	[METRIC_SERIES_DROPPED] = { .name = "envbot_metrics_series_dropped_total",
				    .type = MT_COUNTER,
				    .help = "Label combinations refused because a metric was "
					    "full." },
	[METRIC_REPLICA_ACTIVE] = { .name = "envbot_replica_active",
				    .type = MT_GAUGE,
				    .help = "1 on the active replica (the lease holder), 0 on the "
					    "standby." },
	[METRIC_REPLICA_SINCE] = { .name = "envbot_replica_role_since_timestamp_seconds",
				   .type = MT_GAUGE,
				   .help = "Unix time this replica became active or standby." },
	[METRIC_EVENTS] = { .name = "envbot_events_total",
			    .type = MT_COUNTER,
			    .help = "Deliveries of events out, by outcome (delivered, retried, "
				    "dropped).",
			    .label = { "outcome" } },
	[METRIC_EVENTS_PENDING] = { .name = "envbot_events_pending",
				    .type = MT_GAUGE,
				    .help = "Deliveries of events out waiting, over all sinks." },
};

struct series {
	char l[2][METRICS_MAX_LABEL + 1];
	double value;
};

struct metric {
	struct series *series;
	size_t n, cap;
};

struct metrics {
	pthread_mutex_t lock;
	struct metric m[METRIC_COUNT];
};

static int desc_labels(const struct metric_desc *d)
{
	return d->label[0] ? (d->label[1] ? 2 : 1) : 0;
}

struct metrics *metrics_create(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_destroy(struct metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < METRIC_COUNT; i++)
		free(m->m[i].series);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const char *metrics_name(enum metric_id id)
{
	if ((int)id < 0 || id >= METRIC_COUNT)
		return NULL;
	return descs[id].name;
}

/* Copies a label value into dst, truncated to METRICS_MAX_LABEL bytes and
 * restricted to printable ASCII: values may carry remote text (AWS error
 * codes), and the exposition format needs valid UTF-8 without newlines. */
static void label_copy(char dst[METRICS_MAX_LABEL + 1], const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i < METRICS_MAX_LABEL; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '_';
	}
	dst[i] = '\0';
}

/* Checks the label count of a call against the descriptor. */
static bool labels_match(const struct metric_desc *d, const char *l1, const char *l2)
{
	int want = desc_labels(d);
	int got = l1 ? (l2 ? 2 : 1) : (l2 ? -1 : 0);
	return want == got;
}

/* Finds the series of (l1, l2), creating it when create is set. Returns NULL
 * if it does not exist (or cannot be created: *full tells why). Lock held. */
static struct series *series_find(struct metrics *m, enum metric_id id, const char *l1,
				  const char *l2, bool create, bool *full)
{
	struct metric *mt = &m->m[id];
	char k[2][METRICS_MAX_LABEL + 1];
	label_copy(k[0], l1);
	label_copy(k[1], l2);
	*full = false;
	for (size_t i = 0; i < mt->n; i++) {
		if (strcmp(mt->series[i].l[0], k[0]) == 0 && strcmp(mt->series[i].l[1], k[1]) == 0)
			return &mt->series[i];
	}
	if (!create)
		return NULL;
	if (mt->n == METRICS_MAX_SERIES) {
		*full = true;
		return NULL;
	}
	if (array_grow(&mt->series, &mt->cap, mt->n + 1, sizeof(*mt->series), METRICS_MAX_SERIES) <
	    0)
		return NULL;
	struct series *s = &mt->series[mt->n++];
	memcpy(s->l, k, sizeof(k));
	s->value = 0;
	return s;
}

/* The one update path of add and set. */
static enum bot_rc update(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
			  double v, bool set)
{
	if (!m)
		return BOT_OK;
	if ((int)id < 0 || id >= METRIC_COUNT)
		return BOT_EINVAL;
	const struct metric_desc *d = &descs[id];
	if (!labels_match(d, l1, l2))
		return BOT_EINVAL;
	if (d->type == MT_COUNTER && (set || !(v >= 0)))
		return BOT_EINVAL;

	enum bot_rc rc = BOT_ENOMEM;
	pthread_mutex_lock(&m->lock);
	bool full;
	struct series *s = series_find(m, id, l1, l2, true, &full);
	if (!s) {
		if (full) {
			bool unused;
			struct series *drop =
				series_find(m, METRIC_SERIES_DROPPED, NULL, NULL, true, &unused);
			if (drop)
				drop->value += 1;
		}
		goto out;
	}
	if (set)
		s->value = v;
	else
		s->value += v;
	rc = BOT_OK;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

enum bot_rc metrics_add(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
			double delta)
{
	return update(m, id, l1, l2, delta, false);
}

enum bot_rc metrics_inc(struct metrics *m, enum metric_id id, const char *l1, const char *l2)
{
	return update(m, id, l1, l2, 1, false);
}

enum bot_rc metrics_set(struct metrics *m, enum metric_id id, const char *l1, const char *l2,
			double value)
{
	return update(m, id, l1, l2, value, true);
}

double metrics_get(struct metrics *m, enum metric_id id, const char *l1, const char *l2)
{
	if (!m || (int)id < 0 || id >= METRIC_COUNT)
		return 0;
	pthread_mutex_lock(&m->lock);
	bool full;
	const struct series *s = series_find(m, id, l1, l2, false, &full);
	double v = s ? s->value : 0;
	pthread_mutex_unlock(&m->lock);
	return v;
}

void metrics_clear(struct metrics *m, enum metric_id id)
{
	if (!m || (int)id < 0 || id >= METRIC_COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	m->m[id].n = 0;
	pthread_mutex_unlock(&m->lock);
}

/* Prometheus sample values: integers without an exponent (counters read
 * naturally), others with 15 significant digits, and the spelled-out
 * special values of the format. */
static void value_format(char *s, size_t n, double v)
{
	if (isnan(v))
		snprintf(s, n, "NaN");
	else if (isinf(v))
		snprintf(s, n, v > 0 ? "+Inf" : "-Inf");
	else if (v > -9e15 && v < 9e15 && v == (double)(long long)v)
		snprintf(s, n, "%lld", (long long)v);
	else
		snprintf(s, n, "%.15g", v);
}

/* Label values were restricted to printable ASCII on the way in; only the
 * backslash and the double quote need escaping. */
static void label_append(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_addf(b, "\\%c", *p);
		else
			buf_addf(b, "%c", *p);
	}
	buf_addf(b, "\"");
}

enum bot_rc metrics_render(struct metrics *m, char **out, size_t *len)
{
	struct buf b = { 0 };
	*out = NULL;
	*len = 0;

	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < METRIC_COUNT; i++) {
		const struct metric_desc *d = &descs[i];
		const struct metric *mt = &m->m[i];
		int nl = desc_labels(d);
		buf_addf(&b, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
			 d->type == MT_COUNTER ? "counter" : "gauge");
		/* A metric without labels always has its one sample (0 until
		 * set), so dashboards see it from the first scrape. */
		if (nl == 0 && mt->n == 0)
			buf_addf(&b, "%s 0\n", d->name);
		for (size_t j = 0; j < mt->n; j++) {
			const struct series *s = &mt->series[j];
			char v[64];
			value_format(v, sizeof(v), s->value);
			buf_addf(&b, "%s", d->name);
			if (nl > 0) {
				buf_addf(&b, "{");
				for (int k = 0; k < nl; k++) {
					if (k)
						buf_addf(&b, ",");
					label_append(&b, d->label[k], s->l[k]);
				}
				buf_addf(&b, "}");
			}
			buf_addf(&b, " %s\n", v);
		}
	}
	pthread_mutex_unlock(&m->lock);

	size_t n = b.len;
	char *s = buf_take(&b);
	if (!s)
		return BOT_ENOMEM;
	*out = s;
	*len = n;
	return BOT_OK;
}
