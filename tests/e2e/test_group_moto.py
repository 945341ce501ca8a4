#!/usr/bin/env python3
"""End to end: the seed's layout as one group environment, run by the
daemon (`envbot run`) against moto, driven from the fake Discord and from
the schedule. Members, in start order: a Neptune cluster (the data tier,
stopped not deleted; moto 5.2.1 has no DocumentDB engine, and both are the
same RDS cluster API), the app stack (deleted, created with the newest
image tag), the ECS cluster's Auto Scaling group (1/2/4) and the ECS
service (desired 3, autoscaler 2..6).

  chat      /env stop staging, then /env start staging: green embeds with a
            step per member; moto after the stop: cluster stopped, stack
            gone, group 0/0/0, service 0 with its target 0/0; after the
            start: exactly 1/2/4, 3 and 2..6 again (not restore = { }),
            cluster available, stack up with the newest tag. moto's own
            request recorder proves the order: each member's calls all come
            after the previous member's (start), in reverse for the stop.
  schedule  the same from the schedule (stop at 09:00, start at 09:01 KST,
            under libfaketime at 10x): both embeds green, the same exact
            capacities back.
  wakeup    the 7-day restart: a stopped cluster of an environment whose
            schedule says down is started behind envbot's back (as AWS does
            after 7 days); the scheduler's watch (ENVBOT_TEST_WATCH_MINUTES=1,
            at 10x) stops it again and says so in the channel, once; the
            ticks after that, with nothing to do, post nothing.

usage: test_group_moto.py ENVBOT_BINARY [SCENARIO...]
Exit 77 without moto, libfaketime (schedule, wakeup) or aiohttp in Debian's
python3."""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)
from wfcommon import (GREEN, RED, Checks, FakeDiscord, Moto, aws_test_env,  # noqa: E402
                      embed_text, setup_moto, start_daemon, stop_daemon, tmpdir,
                      write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
CHANNEL = "300000000000000003"
STACK = "ChatAppStack"


def libfaketime():
    import glob
    for pat in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1"):
        found = glob.glob(pat)
        if found:
            return found[0]
    return None


def group_env(url, schedule, with_group=True):
    lone = """,
  { name = "graph"; kind = "rds-cluster"; cluster = "lone-graph";
    schedule: { start = "0 9 * * MON-FRI"; stop = "0 18 * * MON-FRI"; }; }"""
    if not with_group:
        return lone
    return f""",
  {{ name = "staging"; kind = "group";
    members = (
      {{ kind = "rds-cluster"; cluster = "chat-graph"; }},
      {{ kind = "stack"; stack_name = "{STACK}"; template_url = "{url}";
         image: {{ repository = "chat-chat-http";
                  parameters = [ "APIServerImageTag", "ChatServerImageTag",
                                 "NotificationServerImageTag" ]; }};
         parameters = ( {{ key = "Environment"; value = "staging"; }} ); }},
      {{ kind = "asg"; name = "chat-ecs-asg"; restore = {{ min = 1; desired = 1; max = 1; }}; }},
      {{ kind = "ecs-service"; cluster = "chat"; service = "chat-http";
         restore = {{ desired = 1; }}; }}
    );
    schedule: {{ start = "{schedule[0]}"; stop = "{schedule[1]}"; }};
    hourly_cost = 0.420; }}""" + lone


class World:
    def __init__(self, d):
        self.d = d
        self.m = Moto(d)
        m = self.m
        self.url, self.newest = setup_moto(m, old_tags=(("v2.0.0",),), newest_tags=("v2.1.0",))
        self.rds, self.asg, self.ecs = m.client("rds"), m.client("autoscaling"), m.client("ecs")
        self.aas, self.cfn = m.client("application-autoscaling"), m.client("cloudformation")
        for ident in ("chat-graph", "lone-graph"):
            self.rds.create_db_cluster(DBClusterIdentifier=ident, Engine="neptune",
                                       MasterUsername="u", MasterUserPassword="password1")
        ec2 = m.client("ec2")
        ec2.create_launch_template(LaunchTemplateName="chat-lt", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName="chat-ecs-asg", MinSize=1, DesiredCapacity=2, MaxSize=4,
            LaunchTemplate={"LaunchTemplateName": "chat-lt"},
            AvailabilityZones=["ap-northeast-2a"])
        self.ecs.create_cluster(clusterName="chat")
        inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        self.ecs.register_container_instance(cluster="chat", instanceIdentityDocument=json.dumps(
            {"instanceId": inst["InstanceId"], "region": "ap-northeast-2"}))
        self.ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "web", "image": "nginx", "memory": 64, "cpu": 10}])
        self.ecs.create_service(cluster="chat", serviceName="chat-http", taskDefinition="web",
                                desiredCount=3)
        self.aas.register_scalable_target(
            ServiceNamespace="ecs", ResourceId="service/chat/chat-http",
            ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=6)
        self.discord = FakeDiscord(d, FAKE_DISCORD)
        self.bot = None

    def config(self, name, schedule=("0 9 * * MON-FRI", "0 18 * * MON-FRI"), with_group=True):
        """dev and qa (write_config's own) on a schedule that never fires
        while the test runs."""
        cfg = os.path.join(self.d, name + ".cfg")
        write_config(cfg, self.m.url, self.url, os.path.join(self.d, "state.json"),
                     api_base=self.discord.api, extra_top='warn_before = "0";',
                     extra_envs=group_env(self.url, schedule, with_group),
                     dev_schedule=("0 3 * * SUN", "5 3 * * SUN"),
                     qa_schedule=("0 3 * * SUN", "5 3 * * SUN"))
        return cfg

    def snapshot(self):
        g = self.asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=["chat-ecs-asg"])["AutoScalingGroups"][0]
        s = self.ecs.describe_services(cluster="chat", services=["chat-http"])["services"][0]
        t = self.aas.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=["service/chat/chat-http"])["ScalableTargets"][0]
        cl = self.rds.describe_db_clusters(DBClusterIdentifier="chat-graph")["DBClusters"][0]
        stacks = [x for x in self.cfn.list_stacks()["StackSummaries"]
                  if x["StackName"] == STACK and x["StackStatus"] != "DELETE_COMPLETE"]
        return {"cluster": cl["Status"], "stack": stacks[0]["StackStatus"] if stacks else "",
                "asg": (g["MinSize"], g["DesiredCapacity"], g["MaxSize"]),
                "ecs": s["desiredCount"], "target": (t["MinCapacity"], t["MaxCapacity"])}

    def recording(self, on):
        """moto's request recorder: on (emptied first) or off. It keeps its
        file in moto's working directory, emptied by the reset."""
        for path in (["reset-recording", "start-recording"] if on else ["stop-recording"]):
            urllib.request.urlopen(urllib.request.Request(
                f"{self.m.url}/moto-api/recorder/{path}", data=b"", method="POST"),
                timeout=10).read()

    def calls(self):
        """envbot's recorded requests as (service, operation), in order (the
        test's own boto3 calls left out)."""
        text = urllib.request.urlopen(f"{self.m.url}/moto-api/recorder/download-recording",
                                      timeout=10).read().decode()
        out = []
        for line in text.splitlines():
            r = json.loads(line)
            h = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
            if "boto" in h.get("user-agent", "").lower():
                continue
            auth = h.get("authorization", "")
            svc = auth.split("Credential=", 1)[-1].split("/")[3] if "Credential=" in auth else ""
            op = h.get("x-amz-target", "").split(".")[-1]
            body = r.get("body") or ""
            if not op and "Action=" in body:
                op = body.split("Action=", 1)[1].split("&", 1)[0]
            out.append((svc, op))
        return out

    def start_bot(self, cfg, name, faketime=None, extra=None, poll_ms=300):
        """poll_ms None: the real 5 s poll."""
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        if poll_ms:
            env["ENVBOT_TEST_POLL_MS"] = str(poll_ms)
        if faketime:
            env.update(TZ="UTC", LD_PRELOAD=libfaketime(), FAKETIME=faketime,
                       FAKETIME_NO_CACHE="1")
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                   ":verify_asan_link_order=0").lstrip(":")
        env.update(extra or {})
        self.log_path = os.path.join(self.d, name + ".log")
        ready, self.bot = start_daemon(sys.argv[1], cfg, self.log_path, env)
        return ready

    def stop_bot(self, c):
        stop_daemon(c, self.bot, self.log_path)
        self.bot = None

    def channel(self):
        return [m for m in self.discord.call("/state", timeout=20)["messages"]
                if m.get("channel_id") == CHANNEL]

    def close(self):
        if self.bot and self.bot.poll() is None:
            self.bot.kill()
            self.bot.wait()
        self.discord.stop()
        self.m.stop()


MEMBER_OF = {"rds": 1, "cloudformation": 2, "ecr": 2, "autoscaling": 3, "ecs": 4,
             "application-autoscaling": 4}


def member_order(calls):
    return [MEMBER_OF[s] for s, _ in calls if s in MEMBER_OF]


def wait_embed(w, iid, timeout=90):
    end = time.monotonic() + timeout
    e = None
    while time.monotonic() < end:
        embeds = w.discord.reply(iid)["msg"]["embeds"]
        e = embeds[0] if embeds else None
        if e and e.get("color") in (GREEN, RED):
            return e
        time.sleep(0.3)
    return e


def s_chat(w, c):
    cfg = w.config("chat")
    # 10:00 KST on a Monday, whatever the real time: the schedules say up,
    # so the scheduler's 7-day watch (which runs the stop of an environment
    # with a database while its schedule says down) stays out of the
    # recording this scenario reads the member order from.
    c.ok(w.start_bot(cfg, "chat", faketime="@2026-11-23 01:00:00") if libfaketime() else
         w.start_bot(cfg, "chat"), "chat: daemon ready")
    w.recording(True)
    e = wait_embed(w, w.discord.slash("stop", "staging"))
    text = embed_text(e or {})
    c.ok(e and e.get("color") == GREEN, "chat: /env stop staging ends green", text)
    c.ok(all(x in text for x in ("rds-cluster chat-graph", f"stack {STACK}", "asg chat-ecs-asg",
                                 "ecs-service chat/chat-http")),
         "chat: a step per member in the embed", text)
    snap = w.snapshot()
    c.ok(snap == {"cluster": "stopped", "stack": "", "asg": (0, 0, 0), "ecs": 0,
                  "target": (0, 0)}, f"chat: everything down in moto {snap}")
    order = member_order(w.calls())
    c.ok(order and order == sorted(order, reverse=True) and set(order) == {1, 2, 3, 4},
         "chat: the stop's calls go member 4, 3, 2, 1 (reverse)", order)
    w.recording(False)
    w.recording(True)
    e = wait_embed(w, w.discord.slash("start", "staging"))
    text = embed_text(e or {})
    c.ok(e and e.get("color") == GREEN, "chat: /env start staging ends green", text)
    snap = w.snapshot()
    c.ok(snap == {"cluster": "available", "stack": "CREATE_COMPLETE", "asg": (1, 2, 4),
                  "ecs": 3, "target": (2, 6)},
         f"chat: exactly the saved capacities back, not restore = {{ }} {snap}")
    params = {p["ParameterKey"]: p["ParameterValue"]
              for p in w.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Parameters"]}
    c.ok(params.get("APIServerImageTag") == w.newest, "chat: the stack has the newest tag", params)
    order = member_order(w.calls())
    c.ok(order and order == sorted(order) and set(order) == {1, 2, 3, 4},
         "chat: the start's calls go member 1, 2, 3, 4, each after the last", order)
    w.recording(False)
    # every kind in status, /env status, /env list and doctor
    iid = w.discord.call("/interaction", {"command": "env", "subcommand": "status",
                                          "options": {"name": "staging"},
                                          "roles": [FakeDiscord.OPERATOR_ROLE],
                                          "user_name": "alice"})["id"]
    text = ""
    end = time.monotonic() + 20
    while time.monotonic() < end and "chat-http" not in text:
        text = json.dumps(w.discord.reply(iid)["msg"])
        time.sleep(0.3)
    c.ok(all(x in text for x in ("chat-graph available", "chat-ecs-asg 2/2 InService",
                                 "chat-http 3/3 running")),
         "chat: /env status staging shows every member live", text[:1500])
    iid = w.discord.slash("list", "staging")
    text = ""
    end = time.monotonic() + 20
    while time.monotonic() < end and "staging" not in text:
        text = json.dumps(w.discord.reply(iid)["msg"], ensure_ascii=False)
        time.sleep(0.3)
    c.ok("**staging** (group): up since" in text, "chat: /env list shows the group up",
         text[:1500])
    env = aws_test_env()
    env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
    r = subprocess.run([sys.argv[1], "-c", cfg, "status", "staging"], capture_output=True,
                       text=True, env=env, timeout=60)
    c.ok(r.returncode == 0 and "staging[3] asg chat-ecs-asg: chat-ecs-asg 2/2 InService "
         "(min 1, max 4)" in r.stdout and "staging[4] ecs-service chat/chat-http: chat-http "
         "3/3 running, 1 deployment" in r.stdout, "chat: envbot status staging", r.stdout)
    r = subprocess.run([sys.argv[1], "-c", cfg, "doctor"], capture_output=True, text=True,
                       env=env, timeout=60)
    c.ok(r.returncode == 0 and all(x in r.stdout for x in (
        "✔ rds:DescribeDBClusters chat-graph (staging[1])",
        "✔ autoscaling:DescribeAutoScalingGroups chat-ecs-asg (staging[3])",
        "✔ ecs:DescribeServices chat/chat-http (staging[4])",
        "✔ application-autoscaling:DescribeScalableTargets chat/chat-http (staging[4]): "
        "allowed: autoscaled, min 2, max 6",
        "ℹ autoscaling:UpdateAutoScalingGroup chat-ecs-asg")),
        "chat: doctor checks every member's kind", r.stdout[-3000:])
    w.stop_bot(c)


def s_schedule(w, c):
    # 08:59:50 KST on Monday 2026-11-23: the stop at 09:00, the start at 09:01,
    # while the group's stop still runs (it takes minutes of the fake clock):
    # the start is queued behind it and runs when it ends.
    cfg = w.config("sched", schedule=("1 9 * * *", "0 9 * * *"))
    before = len(w.channel())
    # A 30 s poll (of the fake clock, 3 s real): the stop waits for each of
    # three members at least once, so it is still running at 09:01.
    c.ok(w.start_bot(cfg, "sched", faketime="@2026-11-22 23:59:50 x10", poll_ms=30000),
         "schedule: ready")
    end = time.monotonic() + 150
    titles = {}
    while time.monotonic() < end and not ("staging is up" in titles and
                                          "staging is down" in titles):
        for m in w.channel()[before:]:
            for e in m.get("embeds") or []:
                if e.get("color") in (GREEN, RED):
                    titles.setdefault(e.get("title"), e)
        time.sleep(0.3)
    for t in ("staging is down", "staging is up"):
        e = titles.get(t) or {}
        c.ok(e.get("color") == GREEN and "scheduled" in embed_text(e),
             f"schedule: '{t}' green, triggered by the schedule", sorted(titles))
    snap = w.snapshot()
    c.ok(snap == {"cluster": "available", "stack": "CREATE_COMPLETE", "asg": (1, 2, 4),
                  "ecs": 3, "target": (2, 6)}, f"schedule: exact capacities back {snap}")
    log = open(w.log_path, errors="replace").read()
    c.ok('msg="scheduled action queued behind the running one" env=staging action=start' in log,
         "schedule: the 09:01 start came while the stop ran, and was queued behind it")
    w.stop_bot(c)


def s_wakeup(w, c):
    # 20:00 KST, Monday: graph's schedule says down since 18:00.
    w.rds.stop_db_cluster(DBClusterIdentifier="lone-graph")
    cfg = w.config("wake", with_group=False)
    before = len(w.channel())
    c.ok(w.start_bot(cfg, "wake", faketime="@2026-11-23 11:00:00 x10",
                     extra={"ENVBOT_TEST_WATCH_MINUTES": "1"}), "wakeup: ready")
    time.sleep(8)  # a watch tick with nothing to do
    c.ok(not w.channel()[before:], "wakeup: a tick with nothing to do posts nothing",
         [json.dumps(m)[:300] for m in w.channel()[before:]])
    w.rds.start_db_cluster(DBClusterIdentifier="lone-graph")  # AWS, after 7 days
    end = time.monotonic() + 30
    status = "available"
    while time.monotonic() < end and status != "stopped":
        status = w.rds.describe_db_clusters(DBClusterIdentifier="lone-graph")["DBClusters"][0][
            "Status"]
        time.sleep(0.3)
    c.ok(status == "stopped", "wakeup: the cluster is stopped again by the watch", status)
    time.sleep(15)  # two more ticks
    msgs = w.channel()[before:]
    said = [m for m in msgs if "7 days" in json.dumps(m)]
    c.ok(len(msgs) == 1 and len(said) == 1,
         f"wakeup: said once in the channel ({len(said)} of {len(msgs)} messages)",
         [json.dumps(m)[:400] for m in msgs])
    e = (said[0].get("embeds") or [{}])[0] if said else {}
    c.ok(e.get("title") == "graph is down" and e.get("color") == GREEN,
         "wakeup: the message is graph's green stop", e)
    w.stop_bot(c)


SCENARIOS = {"chat": s_chat, "schedule": s_schedule, "wakeup": s_wakeup}


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp")
        return 77
    names = sys.argv[2:] or list(SCENARIOS)
    if not libfaketime():
        names = [n for n in names if n == "chat"]
    d = tmpdir("envbot-group-moto-")
    c = Checks()
    w = World(d)
    try:
        for n in names:
            before = c.failed
            t0 = time.monotonic()
            SCENARIOS[n](w, c)
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        w.close()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
