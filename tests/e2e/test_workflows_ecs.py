#!/usr/bin/env python3
"""End to end: kind ecs-service with `envbot stop|start ENV` (the real
binary) against moto on loopback.

  http     a service at desired 3 with an Application Auto Scaling target
           min 2 / max 6: the stop keeps 3 and 2..6 in the state file, sets
           the target to 0/0 and the count to 0; the start brings back
           exactly 3 and 2..6 (not the config's restore desired 1)
  tagged   every service of the cluster tagged envbot=staging (an untagged
           one beside them untouched), each back to its own count
  restore  a service at 0 with nothing saved: restore = { desired } of the
           config; without one: refused, nothing changed

moto 5.2.1 (one container instance registered) answers runningCount 0 for
a service just created and runningCount = desiredCount after UpdateService,
with one deployment: the waits here see a service steady at once.

usage: test_workflows_ecs.py ENVBOT_BINARY   (exit 77: no moto)"""
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
  { name = "http"; kind = "ecs-service"; cluster = "chat"; service = "chat-http";
    restore = { desired = 1; }; },
  { name = "tagged"; kind = "ecs-service"; cluster = "chat";
    tag = { key = "envbot"; value = "staging"; }; },
  { name = "fresh"; kind = "ecs-service"; cluster = "chat"; service = "fresh";
    restore = { desired = 2; }; },
  { name = "bare"; kind = "ecs-service"; cluster = "chat"; service = "bare"; }"""


def svc(ecs, name):
    s = ecs.describe_services(cluster="chat", services=[name])["services"][0]
    return s["desiredCount"], s["runningCount"]


def target(aas, name):
    t = aas.describe_scalable_targets(ServiceNamespace="ecs",
                                      ResourceIds=[f"service/chat/{name}"])["ScalableTargets"]
    return (t[0]["MinCapacity"], t[0]["MaxCapacity"]) if t else None


def main():
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-wf-ecs-")
    c = Checks()
    m = Moto(d)
    try:
        ecs = m.client("ecs")
        aas = m.client("application-autoscaling")
        ec2 = m.client("ec2")
        ecs.create_cluster(clusterName="chat")
        inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        doc = json.dumps({"instanceId": inst["InstanceId"], "region": "ap-northeast-2"})
        ecs.register_container_instance(cluster="chat", instanceIdentityDocument=doc)
        ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "web", "image": "nginx", "memory": 64, "cpu": 10}])

        def service(name, desired, tags=()):
            ecs.create_service(cluster="chat", serviceName=name, taskDefinition="web",
                               desiredCount=desired,
                               tags=[{"key": k, "value": v} for k, v in tags])
        service("chat-http", 3)
        service("blue", 2, [("envbot", "staging")])
        service("green", 1, [("envbot", "staging")])
        service("other", 1, [("envbot", "prod")])
        service("fresh", 0)
        service("bare", 0)
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/chat/chat-http",
                                     ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=2, MaxCapacity=6)
        state = os.path.join(d, "state.json")
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, "https://b.s3.amazonaws.com/t.yaml", state, extra_envs=ENVS)

        r = run_envbot(binary, cfg, "stop", "http")
        c.ok(r.rc == 0 and "chat-http at 0 tasks" in r.out, "http: stop", r)
        c.ok(svc(ecs, "chat-http")[0] == 0, f"http: desired 0 in moto {svc(ecs, 'chat-http')}")
        c.ok(target(aas, "chat-http") == (0, 0), f"http: target 0/0 {target(aas, 'chat-http')}")
        cap = saved_capacity(state, "ecs/chat/chat-http")
        c.ok(cap and (cap["desired"], cap["min"], cap["max"]) == (3, 2, 6),
             "http: desired 3 and 2..6 kept in the state file", cap)
        r = run_envbot(binary, cfg, "start", "http")
        c.ok(r.rc == 0 and "chat-http 3/3 running" in r.out, "http: start", r)
        c.ok(svc(ecs, "chat-http") == (3, 3), f"http: exactly 3 back {svc(ecs, 'chat-http')}")
        c.ok(target(aas, "chat-http") == (2, 6), f"http: 2..6 back {target(aas, 'chat-http')}")
        r = run_envbot(binary, cfg, "status", "http")
        c.ok("chat-http 3/3 running, 1 deployment" in r.out, "http: status line", r)

        r = run_envbot(binary, cfg, "stop", "tagged")
        c.ok(r.rc == 0 and svc(ecs, "blue")[0] == 0 and svc(ecs, "green")[0] == 0,
             "tagged: both tagged services at 0", r)
        c.ok(svc(ecs, "other")[0] == 1 and svc(ecs, "chat-http")[0] == 3,
             "tagged: the others untouched")
        r = run_envbot(binary, cfg, "start", "tagged")
        c.ok(r.rc == 0 and svc(ecs, "blue")[0] == 2 and svc(ecs, "green")[0] == 1,
             "tagged: each back to its own count", (r, svc(ecs, "blue"), svc(ecs, "green")))

        r = run_envbot(binary, cfg, "start", "fresh")
        c.ok(r.rc == 0 and svc(ecs, "fresh")[0] == 2, "restore: the config's desired 2", r)
        r = run_envbot(binary, cfg, "start", "bare")
        c.ok(r.rc == 1 and "no saved capacity and no restore" in r.out, "restore: none: refused", r)
        c.ok(svc(ecs, "bare")[0] == 0, "restore: none: nothing changed")
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
