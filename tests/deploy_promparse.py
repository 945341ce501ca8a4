"""Checks a /metrics rendering (written by `test_metrics FILE`) with the
Prometheus client's parser: every line must parse, each family must have the
declared type, and the sample values and unescaped labels must be the ones
test_metrics.c's write_sample() set."""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
families = {f.name: f for f in text_string_to_metric_families(text)}
failed = 0
passed = 0


def check(cond, what):
    global failed, passed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)


def sample(family, labels=None):
    f = families.get(family)
    if f is None:
        return None
    for s in f.samples:
        if s.labels == (labels or {}):
            return s.value
    return None


# The client strips "_total" from counter family names.
expect_types = {
    "envbot_gateway_reconnects": "counter",
    "envbot_gateway_connected": "gauge",
    "envbot_gateway_heartbeat_latency_seconds": "gauge",
    "envbot_gateway_heartbeat_ack_age_seconds": "gauge",
    "envbot_scheduler_alive": "gauge",
    "envbot_interactions": "counter",
    "envbot_discord_rate_limited": "counter",
    "envbot_aws_requests": "counter",
    "envbot_aws_errors": "counter",
    "envbot_workflows": "counter",
    "envbot_workflows_running": "gauge",
    "envbot_next_action_timestamp_seconds": "gauge",
    "envbot_metrics_series_dropped": "counter",
    "envbot_replica_active": "gauge",
    "envbot_replica_role_since_timestamp_seconds": "gauge",
    "envbot_events": "counter",
    "envbot_events_pending": "gauge",
}
for name, typ in expect_types.items():
    check(name in families and families[name].type == typ, f"{name} is a {typ}")
check(len(families) == len(expect_types), f"{len(families)} families, want {len(expect_types)}")

check(sample("envbot_gateway_reconnects") == 3, "reconnects 3")
check(sample("envbot_gateway_heartbeat_latency_seconds") == 0.125, "latency 0.125")
check(sample("envbot_gateway_heartbeat_ack_age_seconds") == 12.5, "ack age 12.5")
check(sample("envbot_interactions", {"command": "env start", "outcome": "ok"}) == 1,
      "interactions env start ok")
check(sample("envbot_interactions", {"command": "env stop", "outcome": "refused"}) == 1,
      "interactions env stop refused")
check(sample("envbot_discord_rate_limited", {"scope": "user"}) == 1, "429 user")
check(sample("envbot_aws_requests", {"service": "cloudformation"}) == 42, "aws calls 42")
check(sample("envbot_aws_errors", {"service": "ec2", "code": 'Unauthorized"Operation\\'}) == 1,
      "escaped label round-trips")
check(sample("envbot_workflows", {"kind": "start", "outcome": "success"}) == 1, "workflows")
check(sample("envbot_next_action_timestamp_seconds", {"environment": "dev", "action": "stop"})
      == 1795424400, "next action dev stop")
check(sample("envbot_next_action_timestamp_seconds", {"environment": "qa", "action": "start"})
      == 1795395600, "next action qa start")
check(sample("envbot_metrics_series_dropped") == 0, "nothing dropped")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
