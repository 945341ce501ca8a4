#!/usr/bin/env python3
"""End to end: a group environment (kind = "group") run by the real binary
(`envbot start|stop stg`) against the fault-injecting fake AWS
(tests/fakes/fake_aws.py), with members of the kinds the fake plays itself:
a data stack, an app stack and EC2 instances by tag, in that order.

  order     members that take seconds each, under throttling: started in the
            listed order, each ready before the next begins, stopped in
            reverse (proven from the order of the AWS calls); retried calls
            reuse their idempotency token; nothing is created twice
  startfail the app stack rolls back: the start stops there (instances not
            started), exit 1, the summary says what is up and what is not
  stopfail  the app stack's delete fails: the stop goes on (instances
            stopped, data stack deleted), exit 1, each member reported

usage: test_group_faults.py ENVBOT_BINARY [SCENARIO...]. Exit 77 without
boto3 (the fake's own checks use it)."""
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import Checks, FakeAws, run_envbot, tmpdir, write_config  # noqa: E402

FAKE = os.path.join(HERE, "..", "fakes", "fake_aws.py")
DATA, APP = "ChatDataStack", "ChatAppStack"
TAG = ("AutoStopStart", "Stg")
N_INST = 4

GROUP = f"""
  ,{{
    name = "stg";
    kind = "group";
    members = (
      {{ kind = "stack"; stack_name = "{DATA}";
         template_url = "https://envbot-templates.s3.amazonaws.com/data.yaml"; }},
      {{ kind = "stack"; stack_name = "{APP}";
         template_url = "https://envbot-templates.s3.amazonaws.com/app.yaml";
         image: {{ repository = "chat-chat-http"; parameters = [ "ImageTag" ]; }}; }},
      {{ kind = "ec2"; tag = {{ key = "{TAG[0]}"; value = "{TAG[1]}"; }}; }}
    );
    schedule: {{ start = "0 9 * * MON-FRI"; stop = "0 18 * * MON-FRI"; }};
    hourly_cost = 0.42;
  }}"""


def seed(fake, instances="stopped"):
    fake.ctl("images", {"repository": "chat-chat-http", "generate": 30, "start": 1700000000,
                        "step": 60, "tag_fmt": "v2.{i}", "latest_on_newest": True})
    fake.ctl("instances", {"instances": [
        {"id": f"i-{i:017x}", "state": instances, "tags": {TAG[0]: TAG[1]}, "delay": 1.0}
        for i in range(N_INST)]})


def stack_of(q):
    """The stack a call names, by name or by id (arn:...:stack/NAME/UUID)."""
    s = q["params"].get("StackName", "")
    return s.split("/")[1] if s.startswith("arn:") else s


def member_calls(fake):
    """The calls that change something, in order: ("CreateStack", NAME),
    ("StartInstances", ID), ..."""
    out = []
    for q in fake.requests():
        a = q["action"]
        if a in ("CreateStack", "DeleteStack"):
            out.append((a, stack_of(q), q["time"], q["params"].get("ClientRequestToken", "")))
        elif a in ("StartInstances", "StopInstances"):
            for k, v in sorted(q["params"].items()):
                if k.startswith("InstanceId."):
                    out.append((a, v, q["time"], ""))
    return out


def last_poll_of(fake, name):
    """Time of the last DescribeStacks of stack name."""
    ts = [q["time"] for q in fake.requests("DescribeStacks")
          if stack_of(q) == name]
    return max(ts) if ts else None


def s_order(fake, binary, cfg, c):
    seed(fake)
    fake.ctl("behavior", {"stack": DATA, "create_seconds": 2.0, "delete_seconds": 1.5})
    fake.ctl("behavior", {"stack": APP, "create_seconds": 2.0, "delete_seconds": 1.5})
    # Throttling on every kind of call, a 503 on each creation.
    fake.ctl("faults", {"rules": [
        {"match": "DescribeStacks", "count": 3, "status": 400, "code": "Throttling",
         "message": "Rate exceeded"},
        {"match": "CreateStack", "count": 2, "status": 503},
        {"match": "DescribeInstances", "count": 2, "status": 503},
        {"match": "StartInstances", "count": 1, "status": 400,
         "code": "RequestLimitExceeded", "message": "Request limit exceeded."}]})
    r = run_envbot(binary, cfg, "start", "stg", env=fake.env(), timeout=120)
    c.ok(r.rc == 0, "order: start exit 0", r)
    c.ok("✅ stg start: 3 members up in" in r.out, "order: the group's success line", r.out[-800:])
    calls = member_calls(fake)
    creates = [x for x in calls if x[0] == "CreateStack"]
    names = [x[1] for x in creates]
    # 2 × 503 on the first CreateStack: three tries of one creation, one token.
    c.ok(names.count(DATA) == 3 and names.count(APP) == 1 and
         len({x[3] for x in creates if x[1] == DATA}) == 1,
         "order: each stack created once (retries with one token)", creates)
    c.ok(names and names[-1] == APP and names.index(APP) > max(
        i for i, n in enumerate(names) if n == DATA), "order: data stack before app stack", names)
    starts = [x for x in calls if x[0] == "StartInstances"]
    started = {x[1] for x in starts}
    c.ok(len(started) == N_INST, f"order: every instance started ({len(started)})", starts)
    app_create = max(x[2] for x in creates if x[1] == APP)
    data_done = last_poll_of(fake, DATA)
    c.ok(data_done is not None and data_done < app_create,
         "order: the app stack created only after the data stack's last poll (it was ready)")
    app_done = last_poll_of(fake, APP)
    c.ok(starts and app_done is not None and min(x[2] for x in starts) > app_done,
         "order: instances started only after the app stack was ready")
    c.ok(f"✅ stack {DATA} — up in" in r.out and f"✅ stack {APP} — up in" in r.out and
         f"✅ ec2 instances tagged {TAG[0]}={TAG[1]} — {N_INST} instance(s) running" in r.out,
         "order: each member's step ends done in the progress", r.out[-1500:])

    # Stopped: in reverse, each member gone before the next.
    fake.ctl("faults", {"rules": [
        {"match": "DeleteStack", "count": 1, "status": 400, "code": "Throttling",
         "message": "Rate exceeded"},
        {"match": "StopInstances", "count": 1, "status": 503}]})
    t0 = time.time()
    r = run_envbot(binary, cfg, "stop", "stg", env=fake.env(), timeout=120)
    c.ok(r.rc == 0, "order: stop exit 0", r)
    calls = [x for x in member_calls(fake) if x[2] >= t0]
    seq = []
    for a, what, _, _ in calls:
        key = (a, what if a == "DeleteStack" else "instances")
        if not seq or seq[-1] != key:
            seq.append(key)
    c.ok(seq == [("StopInstances", "instances"), ("DeleteStack", APP), ("DeleteStack", DATA)],
         "order: stop in reverse: instances, app stack, data stack", seq)
    stops = {x[1] for x in calls if x[0] == "StopInstances"}
    c.ok(len(stops) == N_INST, f"order: every instance stopped ({len(stops)})")
    c.ok("✅ stg stop: 3 members down in" in r.out, "order: the stop's success line",
         r.out[-800:])


def s_startfail(fake, binary, cfg, c):
    seed(fake)
    reason = "Resource handler returned message: CannotPullContainerError: v2.29 not found"
    fake.ctl("behavior", {"stack": DATA, "create_seconds": 0.5})
    fake.ctl("behavior", {"stack": APP, "create_seconds": 0.5,
                          "create_fail": {"logical_id": "ApiService",
                                          "type": "AWS::ECS::Service", "reason": reason}})
    r = run_envbot(binary, cfg, "start", "stg", env=fake.env(), timeout=120)
    c.ok(r.rc == 1, "startfail: exit 1", r)
    last = [ln for ln in r.out.splitlines() if ln.startswith("❌ stg start:")]
    c.ok(last and f"stopped at stack {APP}" in last[0] and "CannotPullContainerError" in last[0]
         and f"up: stack {DATA}" in last[0] and "not started: ec2 instances tagged" in last[0],
         "startfail: the summary names the failed member, what is up and what is not", last)
    c.ok(not fake.requests("StartInstances"), "startfail: the instances were not started")
    c.ok([stack_of(q) for q in fake.requests("CreateStack")] == [DATA, APP],
         "startfail: each stack asked once")


def s_stopfail(fake, binary, cfg, c):
    seed(fake, instances="running")
    fake.ctl("stack", {"name": DATA, "status": "CREATE_COMPLETE"})
    fake.ctl("stack", {"name": APP, "status": "CREATE_COMPLETE"})
    fake.ctl("behavior", {"stack": DATA, "delete_seconds": 0.5})
    fake.ctl("behavior", {"stack": APP, "delete_seconds": 0.5, "delete_fail": [
        {"logical_id": "UploadsBucket", "type": "AWS::S3::Bucket",
         "reason": "The bucket you tried to delete is not empty"}]})
    r = run_envbot(binary, cfg, "stop", "stg", env=fake.env(), timeout=120)
    c.ok(r.rc == 1, "stopfail: exit 1", r)
    c.ok(len({k for q in fake.requests("StopInstances") for k in q["params"]
              if k.startswith("InstanceId.")}) == N_INST, "stopfail: the instances were stopped")
    c.ok([stack_of(q) for q in fake.requests("DeleteStack")] == [APP, DATA],
         "stopfail: the data stack was deleted after the app stack failed")
    last = [ln for ln in r.out.splitlines() if ln.startswith("❌ stg stop:")]
    c.ok(last and "1 of 3 members did not stop" in last[0] and f"stack {DATA}" in last[0],
         "stopfail: the summary counts the failed member and lists what is down", last)
    c.ok("UploadsBucket" in r.out and "not empty" in r.out,
         "stopfail: the failed member's reason is shown", r.out[-1500:])


SCENARIOS = {"order": s_order, "startfail": s_startfail, "stopfail": s_stopfail}


def main():
    try:
        import boto3  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e}")
        return 77
    binary = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    d = tmpdir("envbot-group-faults-")
    c = Checks()
    fake = FakeAws(d, FAKE)
    try:
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, fake.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     os.path.join(d, "state.json"), extra_envs=GROUP)
        for n in names:
            fake.ctl("reset")
            before = c.failed
            t0 = time.monotonic()
            SCENARIOS[n](fake, binary, cfg, c)
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        fake.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
