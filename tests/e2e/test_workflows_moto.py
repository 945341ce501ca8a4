#!/usr/bin/env python3
"""End to end: `envbot start|stop ENV` (the real binary, the same workflow
tables as the daemon) against moto on loopback.

dev (stack): created from a template in moto's S3 with the newest ECR tag in
every image parameter, "already up" the second time, deleted at stop (seen
as DELETE_COMPLETE by stack id), "already down" the second time.
qa (ec2): the tagged instances stopped and started, the Auto Scaling group
member and an untagged bystander untouched. An unknown environment: exit 2.
With "auth": moto enforcing IAM auth refuses the test keys, and both kinds
of workflow must end with exit status 3 (credentials refused), not 1.

usage: test_workflows_moto.py ENVBOT_BINARY [auth]   (exit 77: no moto)"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e} (needs the python3 with moto and boto3)")
    sys.exit(77)

from wfcommon import (IMAGE_PARAMS, Checks, Moto, instance_states, run_envbot, setup_ec2,
                      setup_moto, tmpdir, write_config)

STACK = "ChatAppMasterStack"


def auth(binary):
    """moto with INITIAL_NO_AUTH_ACTION_COUNT=0 checks every request's key:
    "testing" is unknown to its IAM, so each call is refused (CloudFormation
    and ECR with 403 InvalidClientTokenId, EC2 with 401 AuthFailure)."""
    d = tmpdir("envbot-wf-auth-")
    c = Checks()
    m = Moto(d, {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}, "moto-auth")
    try:
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, "https://envbot-templates.s3.amazonaws.com/x.yaml",
                     os.path.join(d, "state.json"))
        for action, env in (("start", "dev"), ("stop", "dev"), ("stop", "qa")):
            r = run_envbot(binary, cfg, action, env)
            c.ok(r.rc == 3, f"{action} {env} with refused credentials exits 3", r)
            c.ok("InvalidClientTokenId" in r.out or "AuthFailure" in r.out,
                 f"{action} {env} names the AWS error code", r)
            c.ok(r.secs < 10, f"{action} {env}: refused credentials are not retried "
                 f"({r.secs:.1f}s)")
    finally:
        m.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


def main():
    binary = os.path.abspath(sys.argv[1])
    if sys.argv[2:] == ["auth"]:
        return auth(binary)
    d = tmpdir("envbot-wf-moto-")
    c = Checks()
    m = Moto(d)
    try:
        # The newest image is tagged "latest" and "v1.4.2" (the version tag is
        # the one deployed); an OLDER image carries a higher version, so only
        # the push time can make v1.4.2 the answer.
        url, _ = setup_moto(m, old_tags=(("v9.9.9", "old"), ("v1.4.1",)),
                            newest_tags=("latest", "v1.4.2"))
        newest = "v1.4.2"
        plain, asg, bystander = setup_ec2(m)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, url, os.path.join(d, "state.json"))
        cfn = m.client("cloudformation")
        ssm = m.client("ssm")

        # ---- start dev: created with the newest tag ----
        r = run_envbot(binary, cfg, "start", "dev")
        c.ok(r.rc == 0, "start dev exits 0", r)
        c.ok(r.secs < 15, f"start dev is fast ({r.secs:.1f}s)")
        stacks = cfn.describe_stacks(StackName=STACK)["Stacks"]
        st = stacks[0] if stacks else {}
        stack_id = st.get("StackId", "")
        c.ok(st.get("StackStatus") == "CREATE_COMPLETE", "stack CREATE_COMPLETE in moto", st)
        params = {p["ParameterKey"]: p["ParameterValue"] for p in st.get("Parameters", [])}
        for p in IMAGE_PARAMS:
            c.ok(params.get(p) == newest, f"parameter {p} = newest tag {newest}", params)
        c.ok(params.get("Environment") == "dev", "static parameter Environment=dev", params)
        c.ok(len(params) == len(IMAGE_PARAMS) + 1, "no other parameters passed", params)
        for name in ("api-image", "chat-image", "notification-image"):
            v = ssm.get_parameter(Name=f"/envbot-e2e/{name}")["Parameter"]["Value"]
            c.ok(v == newest, f"resource /envbot-e2e/{name} carries {newest}", v)
        tags = {t["Key"]: t["Value"] for t in st.get("Tags", [])}
        c.ok(tags.get("envbot:environment") == "dev", "stack tagged envbot:environment=dev",
             tags)
        c.ok(tags.get("envbot:workflow", "").startswith("envbot-dev-start-"),
             "stack tagged with the workflow id", tags)
        if "RoleARN" in st:  # moto 5 echoes it; older versions did not
            c.ok(st["RoleARN"] == "arn:aws:iam::123456789012:role/cfn-service-role",
                 "role passed", st["RoleARN"])
        c.ok("LoadBalancerUrl: http://dev-alb.example.test" in r.out, "outputs printed", r)
        c.ok(f"chat-chat-http:{newest}" in r.out, "tag shown in the Resolve step", r)
        c.ok("✅ dev start: up in" in r.out, "success line", r)
        c.ok("⏭️ Remove failed leftover" in r.out, "leftover step skipped", r)

        # ---- start dev again: already up, nothing created ----
        r = run_envbot(binary, cfg, "start", "dev")
        c.ok(r.rc == 0, "second start dev exits 0", r)
        c.ok("already up" in r.out, "second start says already up", r)
        live = [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackStatus"] != "DELETE_COMPLETE"]
        c.ok(len(live) == 1 and live[0]["StackId"] == stack_id, "still exactly one stack", live)

        # ---- stop dev: deleted, visible by id only ----
        r = run_envbot(binary, cfg, "stop", "dev")
        c.ok(r.rc == 0, "stop dev exits 0", r)
        c.ok("✅ dev stop: down" in r.out, "stop success line", r)
        by_id = cfn.describe_stacks(StackName=stack_id)["Stacks"]
        c.ok(by_id and by_id[0]["StackStatus"] == "DELETE_COMPLETE",
             "stack by id is DELETE_COMPLETE", by_id)
        try:
            cfn.describe_stacks(StackName=STACK)
            c.ok(False, "stack by name is gone")
        except cfn.exceptions.ClientError as e:
            c.ok("does not exist" in str(e), "stack by name is gone", str(e))

        # ---- stop dev again: already down ----
        r = run_envbot(binary, cfg, "stop", "dev")
        c.ok(r.rc == 0, "second stop dev exits 0", r)
        c.ok("already down" in r.out, "second stop says already down", r)

        # ---- qa: stop, stop again, start ----
        r = run_envbot(binary, cfg, "stop", "qa")
        c.ok(r.rc == 0, "stop qa exits 0", r)
        s = instance_states(m, plain + [asg, bystander])
        c.ok(all(s[i] == "stopped" for i in plain), "tagged instances stopped", s)
        c.ok(s[asg] == "running", "ASG instance left running", s)
        c.ok(s[bystander] == "running", "untagged instance untouched", s)
        c.ok(f"{asg} (qa-asg): running (Auto Scaling group, left alone)" in r.out,
             "ASG instance listed as left alone", r)
        c.ok(f"{len(plain)} instance(s) stopped" in r.out, "stop count printed", r)

        r = run_envbot(binary, cfg, "stop", "qa")
        c.ok(r.rc == 0 and "already stopped" in r.out, "second stop qa: already stopped", r)

        r = run_envbot(binary, cfg, "start", "qa")
        c.ok(r.rc == 0, "start qa exits 0", r)
        s = instance_states(m, plain + [asg, bystander])
        c.ok(all(s[i] == "running" for i in plain), "tagged instances running", s)
        c.ok(s[asg] == "running" and s[bystander] == "running", "others still running", s)
        c.ok(f"{len(plain)} instance(s) running" in r.out, "start count printed", r)

        # ---- unknown environment ----
        r = run_envbot(binary, cfg, "start", "nosuchenv")
        c.ok(r.rc == 2, "unknown env exits 2", r)
        c.ok("nosuchenv" in r.err, "unknown env named in the error", r)
    finally:
        m.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
