/* The metrics registry: exact Prometheus text for a known state, label
 * validation and escaping, the series cap, clear, and concurrent increments.
 * With an argument, writes a populated rendering to that file instead, for
 * tests/deploy_promparse.py to check with the Prometheus client's parser. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bot/health/metrics.h"
#include "check.h"

/* Returns the rendering (caller frees). */
static char *render(struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	CHECK_INT(metrics_render(m, &text, &len), BOT_OK);
	CHECK(text != NULL);
	if (text)
		CHECK_INT(strlen(text), len);
	return text;
}

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static void test_fresh(void)
{
	struct metrics *m = metrics_create();
	char *t = render(m);
	/* Unlabelled metrics show 0 from the start; labelled ones only their
	 * HELP and TYPE. */
	CHECK(contains(t, "# HELP envbot_gateway_reconnects_total "));
	CHECK(contains(t, "# TYPE envbot_gateway_reconnects_total counter\n"
			  "envbot_gateway_reconnects_total 0\n"));
	CHECK(contains(t, "# TYPE envbot_gateway_connected gauge\nenvbot_gateway_connected 0\n"));
	CHECK(contains(t, "# TYPE envbot_interactions_total counter\n# HELP "));
	CHECK(!contains(t, "envbot_interactions_total{"));
	/* Every metric of the table is rendered, each exactly once. */
	for (int i = 0; i < METRIC_COUNT; i++) {
		char want[128];
		snprintf(want, sizeof(want), "# TYPE %s ", metrics_name((enum metric_id)i));
		CHECK(contains(t, want));
		const char *first = strstr(t, want);
		CHECK(first && !strstr(first + 1, want));
	}
	free(t);
	metrics_destroy(m);
}

static void test_values(void)
{
	struct metrics *m = metrics_create();
	CHECK_INT(metrics_inc(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL), BOT_OK);
	CHECK_INT(metrics_inc(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL), BOT_OK);
	CHECK_INT(metrics_add(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, 3), BOT_OK);
	CHECK_INT(metrics_set(m, METRIC_HEARTBEAT_LATENCY, NULL, NULL, 0.042), BOT_OK);
	CHECK_INT(metrics_inc(m, METRIC_INTERACTIONS, "env start", "ok"), BOT_OK);
	CHECK_INT(metrics_inc(m, METRIC_INTERACTIONS, "env start", "ok"), BOT_OK);
	CHECK_INT(metrics_inc(m, METRIC_INTERACTIONS, "env stop", "refused"), BOT_OK);
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "cloudformation", "ValidationError"), BOT_OK);
	CHECK_INT(metrics_set(m, METRIC_NEXT_ACTION, "dev", "stop", 1795424400), BOT_OK);
	CHECK_INT(metrics_set(m, METRIC_HEARTBEAT_ACK_AGE, NULL, NULL, -1), BOT_OK);

	CHECK(metrics_get(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL) == 5);
	CHECK(metrics_get(m, METRIC_INTERACTIONS, "env start", "ok") == 2);
	CHECK(metrics_get(m, METRIC_INTERACTIONS, "env start", "error") == 0);

	char *t = render(m);
	CHECK(contains(t, "\nenvbot_gateway_reconnects_total 5\n"));
	CHECK(contains(t, "\nenvbot_gateway_heartbeat_latency_seconds 0.042\n"));
	CHECK(contains(t, "\nenvbot_gateway_heartbeat_ack_age_seconds -1\n"));
	CHECK(contains(t,
		       "\nenvbot_interactions_total{command=\"env start\",outcome=\"ok\"} 2\n"
		       "envbot_interactions_total{command=\"env stop\",outcome=\"refused\"} 1\n"));
	CHECK(contains(t, "\nenvbot_aws_errors_total{service=\"cloudformation\","
			  "code=\"ValidationError\"} 1\n"));
	/* Timestamps print as integers, not 1.7954244e+09. */
	CHECK(contains(t, "\nenvbot_next_action_timestamp_seconds{environment=\"dev\","
			  "action=\"stop\"} 1795424400\n"));
	CHECK(t && t[strlen(t) - 1] == '\n');
	free(t);

	/* clear drops every series of one metric, and only that one. */
	metrics_clear(m, METRIC_NEXT_ACTION);
	t = render(m);
	CHECK(!contains(t, "envbot_next_action_timestamp_seconds{"));
	CHECK(contains(t, "envbot_aws_errors_total{"));
	free(t);
	metrics_destroy(m);
}

static void test_refusals(void)
{
	struct metrics *m = metrics_create();
	/* Wrong label counts, counters going down or being set, bad ids. */
	CHECK_INT(metrics_inc(m, METRIC_INTERACTIONS, "env start", NULL), BOT_EINVAL);
	CHECK_INT(metrics_inc(m, METRIC_INTERACTIONS, NULL, NULL), BOT_EINVAL);
	CHECK_INT(metrics_inc(m, METRIC_GATEWAY_RECONNECTS, "x", NULL), BOT_EINVAL);
	CHECK_INT(metrics_inc(m, METRIC_AWS_CALLS, NULL, "ec2"), BOT_EINVAL);
	CHECK_INT(metrics_add(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, -1), BOT_EINVAL);
	CHECK_INT(metrics_set(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, 7), BOT_EINVAL);
	CHECK_INT(metrics_inc(m, METRIC_COUNT, NULL, NULL), BOT_EINVAL);
	CHECK(metrics_name(METRIC_COUNT) == NULL);
	CHECK(metrics_get(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL) == 0);
	/* A NULL registry is a no-op, so modules can run without one. */
	CHECK_INT(metrics_inc(NULL, METRIC_GATEWAY_RECONNECTS, NULL, NULL), BOT_OK);
	metrics_destroy(NULL);
	metrics_destroy(m);
}

static void test_labels(void)
{
	struct metrics *m = metrics_create();
	/* Quotes and backslashes are escaped; control and non-ASCII bytes
	 * (remote text) become '_'; long values are truncated. */
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "ec2", "Bad\"Code\\x\n\xc3\xa9"), BOT_OK);
	char long_code[200];
	memset(long_code, 'A', sizeof(long_code) - 1);
	long_code[sizeof(long_code) - 1] = '\0';
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "ec2", long_code), BOT_OK);
	char *t = render(m);
	CHECK(contains(t, "code=\"Bad\\\"Code\\\\x___\"} 1\n"));
	char want[128];
	snprintf(want, sizeof(want), "code=\"%.*s\"} 1\n", METRICS_MAX_LABEL, long_code);
	CHECK(contains(t, want));
	free(t);
	/* The truncated value is the key: the same long code hits one series. */
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "ec2", long_code), BOT_OK);
	CHECK(metrics_get(m, METRIC_AWS_ERRORS, "ec2", long_code) == 2);
	metrics_destroy(m);
}

static void test_cap(void)
{
	struct metrics *m = metrics_create();
	char code[32];
	for (int i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(code, sizeof(code), "E%d", i);
		CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "sts", code), BOT_OK);
	}
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "sts", "OneTooMany"), BOT_ENOMEM);
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "sts", "TwoTooMany"), BOT_ENOMEM);
	/* Existing series still count. */
	CHECK_INT(metrics_inc(m, METRIC_AWS_ERRORS, "sts", "E0"), BOT_OK);
	CHECK(metrics_get(m, METRIC_AWS_ERRORS, "sts", "E0") == 2);
	CHECK(metrics_get(m, METRIC_SERIES_DROPPED, NULL, NULL) == 2);
	char *t = render(m);
	CHECK(contains(t, "\nenvbot_metrics_series_dropped_total 2\n"));
	CHECK(!contains(t, "OneTooMany"));
	free(t);
	metrics_destroy(m);
}

enum { THREADS = 4, PER_THREAD = 20000 };

static void *incrementer(void *arg)
{
	struct metrics *m = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		metrics_inc(m, METRIC_WORKFLOWS, "start", i % 2 ? "success" : "failed");
		metrics_inc(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL);
	}
	return NULL;
}

static void test_threads(void)
{
	struct metrics *m = metrics_create();
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, incrementer, m);
	/* Render concurrently: must never see a torn state or crash. */
	for (int i = 0; i < 50; i++)
		free(render(m));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK(metrics_get(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL) == THREADS * PER_THREAD);
	CHECK(metrics_get(m, METRIC_WORKFLOWS, "start", "success") == THREADS * PER_THREAD / 2);
	CHECK(metrics_get(m, METRIC_WORKFLOWS, "start", "failed") == THREADS * PER_THREAD / 2);
	metrics_destroy(m);
}

/* A populated registry with every kind of value, for the external parser. */
static int write_sample(const char *path)
{
	struct metrics *m = metrics_create();
	metrics_add(m, METRIC_GATEWAY_RECONNECTS, NULL, NULL, 3);
	metrics_set(m, METRIC_GATEWAY_CONNECTED, NULL, NULL, 1);
	metrics_set(m, METRIC_HEARTBEAT_LATENCY, NULL, NULL, 0.125);
	metrics_set(m, METRIC_HEARTBEAT_ACK_AGE, NULL, NULL, 12.5);
	metrics_set(m, METRIC_SCHEDULER_ALIVE, NULL, NULL, 1);
	metrics_inc(m, METRIC_INTERACTIONS, "env start", "ok");
	metrics_inc(m, METRIC_INTERACTIONS, "env stop", "refused");
	metrics_inc(m, METRIC_DISCORD_429, "user", NULL);
	metrics_add(m, METRIC_AWS_CALLS, "cloudformation", NULL, 42);
	metrics_inc(m, METRIC_AWS_ERRORS, "ec2", "Unauthorized\"Operation\\");
	metrics_inc(m, METRIC_WORKFLOWS, "start", "success");
	metrics_set(m, METRIC_WORKFLOWS_RUNNING, NULL, NULL, 1);
	metrics_set(m, METRIC_NEXT_ACTION, "dev", "stop", 1795424400);
	metrics_set(m, METRIC_NEXT_ACTION, "qa", "start", 1795395600);
	char *text = NULL;
	size_t len = 0;
	int rc = 1;
	FILE *f = NULL;
	if (metrics_render(m, &text, &len) != BOT_OK || !(f = fopen(path, "w")))
		goto out;
	if (fwrite(text, 1, len, f) == len)
		rc = 0;
out:
	if (f && fclose(f) != 0)
		rc = 1;
	free(text);
	metrics_destroy(m);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 2)
		return write_sample(argv[1]);
	test_fresh();
	test_values();
	test_refusals();
	test_labels();
	test_cap();
	test_threads();
	return check_done();
}
