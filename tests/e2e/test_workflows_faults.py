#!/usr/bin/env python3
"""End to end: `envbot start|stop ENV` (the real binary) against the
fault-injecting fake AWS (tests/fakes/fake_aws.py) for what moto cannot do:

  slow       CREATE_IN_PROGRESS for a while, then CREATE_COMPLETE (with the
             test poll, and once with the real 5 s poll: seen within 10 s);
             the newest of 2500 images over 3 shuffled ECR pages
  createfail CREATE_FAILED + ROLLBACK_COMPLETE: exit 1, the first failed
             resource and its reason
  deletefail DELETE_FAILED: exit 1, every failed resource and why
  leftover   a ROLLBACK_COMPLETE stack at start: deleted first, then created
  busy       a stack in *_IN_PROGRESS: start and stop refuse, exit 1
  throttle   throttling and a 503 injected while the workflow runs: retried,
             succeeds, one stack only
  ec2        1200 tagged instances over 2 pages, 40 of them in an ASG:
             started in batches and waited for
  auth       unknown access key: exit 3
  outage     5 x 503 on a poll (more than one call's attempts): the state's
             retry gets through; 12 x 503 on "Check stack" (more than 3 of
             its tries): ridden out; 5000 x 503: exit 1 with the real error
             (under libfaketime at 20x: the 10 s retry interval is real)
  noimage    no ECR repository / no tagged image: exit 1, nothing created
  timeout    a stack stuck in CREATE_IN_PROGRESS: the 60-minute timeout,
             run under libfaketime at 300x speed (about 12 s of real time)

The 200-environments-in-parallel case needs the daemon (`envbot run`): it is
in test_workflows_slash.py.

usage: test_workflows_faults.py ENVBOT_BINARY [SCENARIO...]   (default: all
but timeout and ec2, which CTest runs as tests of their own). Exit 77 when
the python3 lacks boto3; scenarios needing faketime skip without it."""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (IMAGE_PARAMS, Checks, FakeAws, judged_rc, run_envbot, tmpdir,  # noqa: E402
                      write_config)

FAKE = os.path.join(HERE, "..", "fakes", "fake_aws.py")
STACK = "ChatAppMasterStack"
REPO = "chat-chat-http"
NEWEST = "v1.2499"
TAG = ("AutoStopStart", "Yes")


def seed_images(fake):
    # 2500 images, pushed a minute apart, listed in a shuffled order: the
    # newest (tagged v1.2499 and latest) can be on any of the 3 pages.
    fake.ctl("images", {"repository": REPO, "generate": 2500, "start": 1700000000, "step": 60,
                        "tag_fmt": "v1.{i}", "latest_on_newest": True})


def params_of(req):
    p = req["params"]
    out = {}
    i = 1
    while f"Parameters.member.{i}.ParameterKey" in p:
        out[p[f"Parameters.member.{i}.ParameterKey"]] = p[f"Parameters.member.{i}.ParameterValue"]
        i += 1
    return out


def stack_status(fake, name_or_id):
    """The stack as the fake has it, asked with a signed call of our own."""
    import boto3
    cfn = boto3.client("cloudformation", region_name="ap-northeast-2", endpoint_url=fake.url,
                       aws_access_key_id=FakeAws.KEY, aws_secret_access_key=FakeAws.SECRET)
    try:
        return cfn.describe_stacks(StackName=name_or_id)["Stacks"][0]
    except cfn.exceptions.ClientError:
        return None


def s_slow(fake, binary, cfg, c):
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 2.0,
                          "outputs": {"LoadBalancerUrl": "http://dev-alb.example.test"}})
    r = run_envbot(binary, cfg, "start", "dev", env=fake.env())
    c.ok(r.rc == 0, "slow create: exit 0", r)
    c.ok("CREATE_IN_PROGRESS" in r.out and "✅ Wait for CREATE_COMPLETE — CREATE_COMPLETE"
         in r.out, "slow create: progress shows IN_PROGRESS then COMPLETE", r)
    c.ok(2.0 <= r.secs < 6, f"slow create: finished soon after the 2 s create ({r.secs:.1f}s)")
    c.ok("LoadBalancerUrl: http://dev-alb.example.test" in r.out, "slow create: outputs", r)
    c.ok(f"{REPO}:{NEWEST} (version" in r.out, f"slow create: newest tag {NEWEST} chosen", r)
    pages = fake.requests("DescribeImages")
    c.ok(len(pages) == 3, f"slow create: every ECR page read ({len(pages)} requests)")
    c.ok(all((q["json"].get("filter") or {}).get("tagStatus") == "TAGGED" for q in pages),
         "slow create: only tagged images asked for", pages[:1])
    creates = fake.requests("CreateStack")
    c.ok(len(creates) == 1, "slow create: one CreateStack", len(creates))
    if creates:
        q = creates[0]["params"]
        params = params_of(creates[0])
        c.ok(all(params.get(p) == NEWEST for p in IMAGE_PARAMS) and
             params.get("Environment") == "dev" and len(params) == 4,
             "slow create: parameters = newest tag in each image parameter + static", params)
        c.ok(q.get("TemplateURL", "").endswith("/master-stack.yaml"), "slow create: template", q)
        c.ok(q.get("RoleARN") == "arn:aws:iam::123456789012:role/cfn-service-role",
             "slow create: role", q)
        c.ok({q.get("Capabilities.member.1"), q.get("Capabilities.member.2")} ==
             {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}, "slow create: capabilities", q)
        c.ok(q.get("ClientRequestToken", "").startswith("envbot-dev-start-"),
             "slow create: idempotency token", q)
    polls = fake.requests("DescribeStacks")
    # 2 s at a 200 ms poll: about 10 polls + the first check; never a storm.
    c.ok(3 <= len(polls) <= 20, f"slow create: {len(polls)} DescribeStacks calls")

    # The real poll interval (no test knob): completion seen within 10 s.
    fake.ctl("reset")
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 1.0})
    e = fake.env()
    t0 = time.monotonic()
    p = subprocess.run([binary, "-c", cfg, "start", "dev"], capture_output=True, text=True,
                       env=e, timeout=60)
    secs = time.monotonic() - t0
    c.ok(p.returncode == 0, "real poll: exit 0", p.stdout + p.stderr)
    c.ok(secs < 1.0 + 10.0, f"real poll: completion seen within 10 s ({secs:.1f}s)")


def s_createfail(fake, binary, cfg, c):
    seed_images(fake)
    reason = ("Resource handler returned message: \"Invalid request provided: "
              "CannotPullContainerError: chat-chat-http:v1.2499 not found\"")
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 0.5,
                          "create_fail": {"logical_id": "ApiService",
                                          "type": "AWS::ECS::Service", "reason": reason}})
    r = run_envbot(binary, cfg, "start", "dev", env=fake.env())
    c.ok(r.rc == 1, "create failed: exit 1", r)
    last = [ln for ln in r.out.splitlines() if ln.startswith("❌ dev start:")]
    c.ok(last and "ApiService" in last[0] and "AWS::ECS::Service" in last[0] and
         "CannotPullContainerError" in last[0],
         "create failed: first failed resource, type and reason in the result", r)
    c.ok(not any("Other" in ln for ln in last), "create failed: not the cancelled one", last)
    c.ok(len(fake.requests("DescribeStackEvents")) >= 1, "create failed: events read")


def s_deletefail(fake, binary, cfg, c):
    fake.ctl("stack", {"name": STACK, "status": "CREATE_COMPLETE"})
    fails = [{"logical_id": "UploadsBucket", "type": "AWS::S3::Bucket",
              "reason": "The bucket you tried to delete is not empty"},
             {"logical_id": "AppSecurityGroup", "type": "AWS::EC2::SecurityGroup",
              "reason": "resource sg-0abc has a dependent object"}]
    fake.ctl("behavior", {"stack": STACK, "delete_seconds": 0.5, "delete_fail": fails})
    r = run_envbot(binary, cfg, "stop", "dev", env=fake.env())
    c.ok(r.rc == 1, "delete failed: exit 1", r)
    for f in fails:
        c.ok(f"DELETE_FAILED {f['logical_id']} ({f['type']}): {f['reason']}" in r.out,
             f"delete failed: {f['logical_id']} listed with its reason", r)
    last = [ln for ln in r.out.splitlines() if ln.startswith("❌ dev stop:")]
    c.ok(last and any(f["logical_id"] in last[0] and f["reason"] in last[0] for f in fails),
         "delete failed: the result line names a failed resource and why", r)


def s_leftover(fake, binary, cfg, c):
    seed_images(fake)
    old = fake.ctl("stack", {"name": STACK, "status": "ROLLBACK_COMPLETE",
                             "events": [{"logical_id": "ApiService", "type": "AWS::ECS::Service",
                                         "status": "CREATE_FAILED", "reason": "earlier"}]})
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 0.5, "delete_seconds": 0.5})
    r = run_envbot(binary, cfg, "start", "dev", env=fake.env())
    c.ok(r.rc == 0, "leftover: exit 0", r)
    c.ok("✅ Remove failed leftover" in r.out, "leftover: the removal step is shown done", r)
    acts = [q["action"] for q in fake.requests() if q["action"] in ("DeleteStack", "CreateStack")]
    c.ok(acts == ["DeleteStack", "CreateStack"], "leftover: deleted, then created", acts)
    dels = fake.requests("DeleteStack")
    c.ok(dels and dels[0]["params"].get("StackName") == old["id"],
         "leftover: deleted by its stack id", dels[:1])
    st = stack_status(fake, old["id"])
    c.ok(st and st["StackStatus"] == "DELETE_COMPLETE", "leftover: old stack DELETE_COMPLETE", st)
    st = stack_status(fake, STACK)
    c.ok(st and st["StackStatus"] == "CREATE_COMPLETE" and st["StackId"] != old["id"],
         "leftover: a new stack is up", st)


def s_busy(fake, binary, cfg, c):
    fake.ctl("stack", {"name": STACK, "status": "UPDATE_IN_PROGRESS"})
    for action in ("start", "stop"):
        r = run_envbot(binary, cfg, action, "dev", env=fake.env())
        c.ok(r.rc == 1, f"busy: {action} exits 1", r)
        c.ok("another operation is in progress" in r.out and "UPDATE_IN_PROGRESS" in r.out,
             f"busy: {action} says why", r)
    c.ok(not fake.requests("CreateStack") and not fake.requests("DeleteStack"),
         "busy: nothing changed")


def s_throttle(fake, binary, cfg, c):
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 2.0})
    # Before the run: one page of ECR throttled, CreateStack answered 503
    # once (retried with the same token).
    fake.ctl("faults", {"rules": [{"match": "DescribeImages", "count": 1, "status": 400,
                                   "code": "ThrottlingException"},
                                  {"match": "CreateStack", "count": 1, "status": 503}]})
    e = fake.env()
    e["ENVBOT_TEST_POLL_MS"] = "200"
    p = subprocess.Popen([binary, "--log-level", "debug", "-c", cfg, "start", "dev"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    # Mid-workflow: once the stack is being created, throttle the polls.
    end = time.monotonic() + 10
    while time.monotonic() < end and not fake.requests("CreateStack"):
        time.sleep(0.05)
    fake.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 2, "status": 400,
                                   "code": "Throttling", "message": "Rate exceeded"}]})
    out, err = p.communicate(timeout=60)
    c.ok(p.returncode == 0, "throttle: exit 0", out + err[-3000:])
    c.ok(err.count("retrying") >= 4, f"throttle: retries logged ({err.count('retrying')})",
         err[-2000:])
    creates = fake.requests("CreateStack")
    tokens = {q["params"].get("ClientRequestToken") for q in creates}
    c.ok(len(creates) == 2 and len(tokens) == 1, "throttle: CreateStack retried with one token",
         [q["params"].get("ClientRequestToken") for q in creates])
    polls_after = [q for q in fake.requests() if q["action"] == "DescribeStacks"
                   and q["time"] > creates[-1]["time"]]
    c.ok(len(polls_after) >= 3, "throttle: polls went on after the throttled ones",
         len(polls_after))
    c.ok("✅ dev start: up in" in out, "throttle: success line", out)


def run_faketime(binary, cfg, env, speed, *args, timeout=120):
    """envbot under libfaketime at `speed` x: its waits (poll, retry
    intervals, backoff) pass that much faster; nothing in it is told."""
    e = dict(env)
    e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    t0 = time.monotonic()
    p = subprocess.run(["faketime", "-f", f"+0 x{speed}", binary, "--log-level", "debug", "-c",
                        cfg, *args], capture_output=True, text=True, env=e, timeout=timeout)
    # The wrapper turns envbot's sanitizer abort into exit 1: stderr decides.
    p.returncode = judged_rc(p.returncode, p.stderr)
    return p, time.monotonic() - t0


def s_outage(fake, binary, cfg, c):
    """An outage longer than the AWS module's own attempts: the state's
    retry (10 s later) gets through; a longer one ends the workflow with
    the real error."""
    if not shutil.which("faketime"):
        print("SKIP outage: faketime is not installed")
        return 77
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 2.0})
    # Five 503s in a row on the first poll: more than one call's attempts.
    fake.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 1, "status": 200,
                                   "kind": "delay", "seconds": 0},
                                  {"match": "DescribeStacks", "count": 5, "status": 503}]})
    p, secs = run_faketime(binary, cfg, fake.env(), 20, "start", "dev")
    c.ok(p.returncode == 0, "outage: recovered, exit 0", p.stdout + p.stderr[-3000:])
    c.ok("retrying state" in p.stderr, "outage: the state was retried", p.stderr[-3000:])
    c.ok(len(fake.requests("CreateStack")) == 1, "outage: one CreateStack")

    # A minute-long 5xx blip at a step that is not a poll ("Check stack":
    # 12 x 503 = four tries of 3 HTTP attempts each): ridden out (it used
    # to end red after 3 tries), one CreateStack.
    fake.ctl("reset")
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 2.0})
    fake.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 12, "status": 503}]})
    p, secs = run_faketime(binary, cfg, fake.env(), 20, "start", "dev")
    c.ok(p.returncode == 0, "blip: ridden out, exit 0", p.stdout + p.stderr[-3000:])
    c.ok(p.stderr.count("retrying state") >= 4, "blip: Check stack tried at least 4 times",
         p.stderr[-3000:])
    c.ok(len(fake.requests("CreateStack")) == 1, "blip: one CreateStack")

    fake.ctl("reset")
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 2.0})
    fake.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 1, "status": 200,
                                   "kind": "delay", "seconds": 0},
                                  {"match": "DescribeStacks", "count": 5000, "status": 503,
                                   "code": "ServiceUnavailable",
                                   "message": "Service is unavailable"}]})
    # Polls keep trying through an outage (the stack goes on in AWS) until
    # the 60-minute deadline; at 300x that is about 12 s.
    p, secs = run_faketime(binary, cfg, fake.env(), 300, "start", "dev")
    c.ok(p.returncode == 1, "long outage: exit 1", p.stdout + p.stderr[-3000:])
    last = [ln for ln in p.stdout.splitlines() if ln.startswith("❌ dev start:")]
    c.ok(last and "timed out after 60 minutes" in last[0] and "ServiceUnavailable" in last[0],
         "long outage: the deadline, with the real error", p.stdout[-1500:])
    c.ok(secs < 60, f"long outage: gave up in {secs:.1f}s real")
    return 0


def s_noimage(fake, binary, cfg, c):
    """No repository, then a repository without tagged images: exit 1 with
    the reason, and no stack created."""
    r = run_envbot(binary, cfg, "start", "dev", env=fake.env())
    c.ok(r.rc == 1 and "RepositoryNotFoundException" in r.out,
         "noimage: missing repository reported", r)
    fake.ctl("images", {"repository": REPO, "images": [{"tags": [], "pushed_at": 1700000000}]})
    r = run_envbot(binary, cfg, "start", "dev", env=fake.env())
    c.ok(r.rc == 1 and "no tagged image" in r.out, "noimage: untagged-only repository", r)
    c.ok(not fake.requests("CreateStack"), "noimage: nothing created")


def s_ec2(fake, binary, cfg, c):
    insts = []
    for i in range(1200):
        tags = {TAG[0]: TAG[1], "Name": f"qa-{i}"}
        if i % 30 == 0:
            tags["aws:autoscaling:groupName"] = "qa-workers"
        insts.append({"id": f"i-{i:017x}", "state": "stopped", "tags": tags, "delay": 0.5})
    insts.append({"id": "i-0000000000bystand", "state": "stopped", "tags": {"Name": "other"}})
    fake.ctl("instances", {"instances": insts})
    r = run_envbot(binary, cfg, "start", "qa", env=fake.env(), timeout=120)
    c.ok(r.rc == 0, "ec2: exit 0", r)
    starts = fake.requests("StartInstances")
    ids = [v for q in starts for k, v in q["params"].items() if k.startswith("InstanceId.")]
    asg = {x["id"] for x in insts if "aws:autoscaling:groupName" in x["tags"]}
    want = {x["id"] for x in insts[:1200]} - asg
    c.ok(set(ids) == want and len(ids) == len(want),
         f"ec2: every non-ASG instance started once ({len(set(ids))}/{len(want)})")
    c.ok(len(starts) >= len(want) // 50, f"ec2: in batches ({len(starts)} calls)")
    c.ok(f"{len(want)} instance(s) running" in r.out, "ec2: count in the result", r.out[-500:])
    pages = [q for q in fake.requests("DescribeInstances")]
    c.ok(len(pages) >= 4, f"ec2: 2 pages per look ({len(pages)} DescribeInstances)")


def s_auth(fake, binary, cfg, c):
    e = fake.env()
    e["AWS_ACCESS_KEY_ID"] = "AKIDUNKNOWN"
    for action, env in (("start", "dev"), ("stop", "qa")):
        r = run_envbot(binary, cfg, action, env, env=e)
        c.ok(r.rc == 3, f"auth: {action} {env} exits 3", r)
        c.ok("InvalidClientTokenId" in r.out, f"auth: {action} {env} names the code", r)


def s_timeout(fake, binary, cfg, c):
    faketime = shutil.which("faketime")
    if not faketime:
        print("SKIP timeout: faketime is not installed")
        return 77
    seed_images(fake)
    fake.ctl("behavior", {"stack": STACK, "create_seconds": 1e9})  # stuck
    e = fake.env()
    # libfaketime after ASan in the preload order is fine for this test.
    e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    t0 = time.monotonic()
    # 300x: the 60 minutes pass in 12 s; the real 5 s poll (no test knob)
    # and the AWS timeouts (30 s -> 100 ms real) scale the same way.
    p = subprocess.run([faketime, "-f", "+0 x300", binary, "-c", cfg, "start", "dev"],
                       capture_output=True, text=True, env=e, timeout=120)
    # The wrapper turns envbot's sanitizer abort into exit 1: stderr decides.
    p.returncode = judged_rc(p.returncode, p.stderr)
    secs = time.monotonic() - t0
    c.ok(p.returncode == 1, "timeout: exit 1", p.stdout + p.stderr[-2000:])
    c.ok("timed out after 60 minutes" in p.stdout, "timeout: says it timed out", p.stdout[-1500:])
    c.ok(secs < 60, f"timeout: took {secs:.1f}s of real time")
    polls = fake.requests("DescribeStacks")
    # At most one poll per 5 s (fake time) for an hour: <= 720 + the check.
    # Fewer is expected: at 300x every real millisecond of a request is
    # 0.3 s of envbot's time. They must go on to the end, though.
    c.ok(20 <= len(polls) <= 725, f"timeout: {len(polls)} polls over the hour")
    c.ok(polls and polls[-1]["time"] > time.time() - (secs / 10 + 1),
         "timeout: polled until the deadline", polls[-1:] and polls[-1]["time"] - time.time())
    c.ok(not fake.requests("DeleteStack"), "timeout: the stuck stack is left alone")
    return 0


SCENARIOS = {"slow": s_slow, "createfail": s_createfail, "deletefail": s_deletefail,
             "leftover": s_leftover, "busy": s_busy, "throttle": s_throttle, "ec2": s_ec2,
             "auth": s_auth, "timeout": s_timeout, "outage": s_outage, "noimage": s_noimage}
DEFAULT = [n for n in SCENARIOS if n not in ("timeout", "ec2")]


def main():
    try:
        import boto3  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e}")
        return 77
    binary = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or DEFAULT
    d = tmpdir("envbot-wf-faults-")
    c = Checks()
    fake = FakeAws(d, FAKE)
    skipped = 0
    try:
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, fake.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     os.path.join(d, "state.json"))
        for n in names:
            fake.ctl("reset")
            before = c.failed
            t0 = time.monotonic()
            rc = SCENARIOS[n](fake, binary, cfg, c)
            skipped += rc == 77
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        fake.stop()
    rc = c.done()
    if rc == 0 and skipped == len(names):
        return 77
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
