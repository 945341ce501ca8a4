#!/usr/bin/env python3
"""End to end: kind asg with `envbot stop|start ENV` (the real binary)
against moto on loopback.

  web      an Auto Scaling group by name at min 1 / desired 2 / max 4: the
           stop keeps 1/2/4 in the state file (before the scale-down) and
           leaves 0/0/0 with no instance and the fighting processes
           suspended; a second stop keeps the saved capacity; the start
           brings back exactly 1/2/4 (not the config's restore 3/3/3),
           resumes the processes, 2 InService
  tagged   two groups by tag (one untagged beside them, untouched), each
           restored to its own capacity
  restore  a group at 0/0/0 with nothing saved: restore = { } of the config;
           without one: refused (exit 1), nothing changed
  nosave   `envbot stop` with no state file writable: refused, not scaled down

usage: test_workflows_asg.py ENVBOT_BINARY   (exit 77: no moto)"""
import json
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

from wfcommon import Checks, Moto, run_envbot, saved_capacity, tmpdir, write_config  # noqa: E402,E501

ENVS = """,
  { name = "web"; kind = "asg"; group_name = "web-asg";
    restore = { min = 3; desired = 3; max = 3; }; },
  { name = "tagged"; kind = "asg"; tag = { key = "envbot"; value = "staging"; }; },
  { name = "fresh"; kind = "asg"; group_name = "fresh-asg";
    restore = { min = 1; desired = 1; max = 2; }; },
  { name = "bare"; kind = "asg"; group_name = "bare-asg"; }"""


def sizes(asg, name):
    g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return (g["MinSize"], g["DesiredCapacity"], g["MaxSize"], len(g["Instances"]),
            sorted(p["ProcessName"] for p in g.get("SuspendedProcesses", [])))


def main():
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-wf-asg-")
    c = Checks()
    m = Moto(d)
    try:
        ec2 = m.client("ec2")
        asg = m.client("autoscaling")
        ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
        azs = ["ap-northeast-2a"]

        def group(name, mn, des, mx, tags=()):
            asg.create_auto_scaling_group(
                AutoScalingGroupName=name, MinSize=mn, DesiredCapacity=des, MaxSize=mx,
                LaunchTemplate={"LaunchTemplateName": "web-lt"}, AvailabilityZones=azs,
                Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False, "ResourceId": name,
                       "ResourceType": "auto-scaling-group"} for k, v in tags])
        group("web-asg", 1, 2, 4)
        group("blue-asg", 2, 2, 3, [("envbot", "staging")])
        group("green-asg", 0, 1, 5, [("envbot", "staging")])
        group("other-asg", 1, 1, 1, [("envbot", "prod")])
        group("fresh-asg", 0, 0, 0)
        group("bare-asg", 0, 0, 0)
        state = os.path.join(d, "state.json")
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, "https://b.s3.amazonaws.com/t.yaml", state, extra_envs=ENVS)

        # web
        r = run_envbot(binary, cfg, "stop", "web")
        c.ok(r.rc == 0 and "web-asg at 0/0/0" in r.out, "web: stop", r)
        got = sizes(asg, "web-asg")
        c.ok(got[:4] == (0, 0, 0, 0), f"web: 0/0/0 and no instance in moto {got}")
        c.ok(got[4] == ["AZRebalance", "AlarmNotification", "ScheduledActions"],
             f"web: the fighting processes suspended {got[4]}")
        cap = saved_capacity(state, "asg/web-asg") or {}
        c.ok((cap.get("min"), cap.get("desired"), cap.get("max")) == (1, 2, 4),
             "web: 1/2/4 kept in the state file", cap)
        r = run_envbot(binary, cfg, "stop", "web")
        c.ok(r.rc == 0 and "already at 0" in r.out, "web: stop again: a no-op", r)
        cap = saved_capacity(state, "asg/web-asg") or {}
        c.ok((cap.get("min"), cap.get("desired"), cap.get("max")) == (1, 2, 4),
             "web: the saved capacity survives it", cap)
        r = run_envbot(binary, cfg, "start", "web")
        c.ok(r.rc == 0 and "web-asg 1/2/4, 2 InService" in r.out, "web: start", r)
        got = sizes(asg, "web-asg")
        c.ok(got == (1, 2, 4, 2, []), f"web: exactly 1/2/4 back, 2 instances, resumed {got}")
        r = run_envbot(binary, cfg, "status", "web")
        c.ok("web-asg 2/2 InService (min 1, max 4)" in r.out, "web: status line", r)

        # tagged
        r = run_envbot(binary, cfg, "stop", "tagged")
        c.ok(r.rc == 0, "tagged: stop", r)
        c.ok(sizes(asg, "blue-asg")[:3] == (0, 0, 0) and sizes(asg, "green-asg")[:3] == (0, 0, 0),
             "tagged: both tagged groups at 0")
        c.ok(sizes(asg, "other-asg")[:3] == (1, 1, 1), "tagged: the other group untouched")
        r = run_envbot(binary, cfg, "start", "tagged")
        c.ok(r.rc == 0, "tagged: start", r)
        c.ok(sizes(asg, "blue-asg")[:4] == (2, 2, 3, 2) and
             sizes(asg, "green-asg")[:4] == (0, 1, 5, 1), "tagged: each back to its own size",
             (sizes(asg, "blue-asg"), sizes(asg, "green-asg")))

        # restore
        r = run_envbot(binary, cfg, "start", "fresh")
        c.ok(r.rc == 0 and sizes(asg, "fresh-asg")[:4] == (1, 1, 2, 1),
             "restore: nothing saved: the config's 1/1/2", (r, sizes(asg, "fresh-asg")))
        r = run_envbot(binary, cfg, "start", "bare")
        c.ok(r.rc == 1 and "no saved capacity and no restore" in r.out, "restore: none: refused", r)
        c.ok(sizes(asg, "bare-asg")[:3] == (0, 0, 0), "restore: none: nothing changed")

        # nosave: the state file's directory is not writable
        ro = os.path.join(d, "ro")
        os.makedirs(ro)
        cfg2 = os.path.join(d, "ro.cfg")
        write_config(cfg2, m.url, "https://b.s3.amazonaws.com/t.yaml",
                     os.path.join(ro, "missing", "state.json"), extra_envs=ENVS)
        r = run_envbot(binary, cfg2, "stop", "web")
        c.ok(r.rc == 1 and "not scaled down" in r.out, "nosave: refused", r)
        c.ok(sizes(asg, "web-asg")[:3] == (1, 2, 4), "nosave: not scaled down in moto")
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
