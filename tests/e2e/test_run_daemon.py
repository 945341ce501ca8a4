#!/usr/bin/env python3
"""End to end: the real `envbot run` daemon against moto (AWS) and the fake
Discord, on loopback only.

  1. /env start dev and /env stop dev from an operator: a full CloudFormation
     start (newest ECR tag in every image parameter) and stop in moto, each
     with one progress embed edited to a finished green state.
  2. The scheduler: libfaketime puts the daemon's wall clock a few seconds
     before 09:00 KST, then before 18:00 KST; the scheduled start and stop run
     by themselves and report in the channel.
  3. kill -9 while a slow stack is being created (fault-injecting fake AWS):
     the restarted daemon resumes the workflow (no second CreateStack) and
     finishes the same embed.
  4. 200 stack environments stopped at the same scheduled minute against the
     fake AWS: every one succeeds and the channel's rate limit is never hit.

Usage: test_run_daemon.py ENVBOT_BINARY REPO_ROOT"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfcommon as w  # noqa: E402

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class Daemon:
    """`envbot run`, stdout and stderr in LOGDIR/NAME.log. Every one started
    is kept in Daemon.started: main() scans all their logs for sanitizer
    reports at the end (those killed with SIGKILL too) and kills any left
    running by a scenario that failed half way."""
    started = []

    def __init__(self, binary, cfg, logdir, env, name="run", faketime=None):
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "wb")
        e = w.sanitizer_env(env)
        e["DISCORD_TOKEN"] = w.FakeDiscord.TOKEN
        e["ENVBOT_TEST_POLL_MS"] = "200"
        if faketime:
            e["LD_PRELOAD"] = FAKETIME_LIB
            e["FAKETIME"] = "@" + faketime
            e["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            e["FAKETIME_NO_CACHE"] = "1"
            # An ASan build wants its runtime first; libfaketime only
            # interposes the clock, so the order does not matter here.
            e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
        self.proc = subprocess.Popen([binary, "-c", cfg, "--log-level", "debug", "run"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=e)
        Daemon.started.append(self)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM):
        """The exit status ("hung on SIGTERM" when it had to be killed)."""
        rc = w.stop_process(self.proc, sig, 15)
        self.log.close()
        return rc


def wait_final(fetch, timeout=60):
    """Polls fetch() -> embed dict or None until the embed is not blue."""
    end = time.monotonic() + timeout
    e = None
    while time.monotonic() < end:
        e = fetch()
        if e and e.get("color") in (w.GREEN, w.RED):
            return e
        time.sleep(0.1)
    return e


def reply_embed(fd, iid):
    emb = fd.reply(iid)["msg"]["embeds"]
    return emb[0] if emb else None


def channel_messages(fd, title_part):
    st = fd.call("/state")
    return [m for m in st["messages"]
            if m.get("embeds") and title_part in (m["embeds"][0].get("title") or "")]


def scenario_slash(c, binary, root, logdir):
    moto = w.Moto(logdir)
    fd = w.FakeDiscord(logdir, os.path.join(root, "tests/fakes/fake_discord.py"))
    d = None
    try:
        template_url, newest = w.setup_moto(moto)
        cfg = os.path.join(logdir, "slash.cfg")
        w.write_config(cfg, moto.url, template_url, os.path.join(logdir, "slash-state.json"),
                       api_base=fd.api)
        hport = w.free_port()
        with open(cfg, "a") as f:
            f.write(f'health: {{ listen = "127.0.0.1:{hport}"; }};\n')
        d = Daemon(binary, cfg, logdir, w.aws_test_env(), "slash")
        c.ok(d.wait_log('msg="ready"'), "daemon reaches READY", d.text()[-2000:])

        iid = fd.slash("start", "dev")
        e = wait_final(lambda: reply_embed(fd, iid))
        c.ok(e and e["color"] == w.GREEN, "/env start dev ends green", e)
        text = w.embed_text(e or {})
        c.ok("dev is up" in text, "title says the environment is up", text)
        c.ok(newest in (w.embed_field(e or {}, "Image tag") or ""), "embed shows the newest tag",
             text)
        c.ok("LoadBalancerUrl: http://dev-alb.example.test" in text, "embed lists the outputs",
             text)
        c.ok("/env start by alice" in text, "embed says who triggered it", text)
        c.ok(all(m in (e or {}).get("description", "") for m in ("✅ **Check stack**",
                                                                  "✅ **Create stack**")),
             "steps are marked done", e)
        stacks = moto.client("cloudformation").describe_stacks(
            StackName="ChatAppMasterStack")["Stacks"]
        c.ok(stacks[0]["StackStatus"] == "CREATE_COMPLETE", "moto: stack CREATE_COMPLETE",
             stacks)
        params = {p["ParameterKey"]: p["ParameterValue"] for p in stacks[0]["Parameters"]}
        c.ok(all(params.get(k) == newest for k in w.IMAGE_PARAMS),
             "every image parameter carries the newest tag", params)
        c.ok(params.get("Environment") == "dev", "static parameter passed", params)
        rec = fd.reply(iid)
        c.ok(len(rec["responses"]) == 1 and rec["responses"][0]["type"] == 5,
             "one deferred ACK", rec["responses"])

        again = fd.slash("start", "dev")
        e = wait_final(lambda: reply_embed(fd, again))
        c.ok(e and e["color"] == w.GREEN and "already up" in w.embed_text(e),
             "a second start says already up", e)

        iid = fd.slash("stop", "dev")
        e = wait_final(lambda: reply_embed(fd, iid))
        c.ok(e and e["color"] == w.GREEN and "dev is down" in w.embed_text(e),
             "/env stop dev ends green", e)
        names = [s["StackName"] for s in
                 moto.client("cloudformation").describe_stacks()["Stacks"]
                 if s["StackStatus"] != "DELETE_COMPLETE"]
        c.ok("ChatAppMasterStack" not in names, "moto: stack deleted", names)

        nobody = fd.slash("start", "dev", roles=[])
        rec = {}
        for _ in range(50):
            rec = fd.reply(nobody)
            if rec["responses"]:
                break
            time.sleep(0.05)
        data = (rec.get("responses") or [{}])[0].get("data") or {}
        c.ok(data.get("flags", 0) & 64 and "operator" in data.get("content", ""),
             "a user without the role is refused, ephemerally, with the reason", rec)
        st = json.load(open(os.path.join(logdir, "slash-state.json")))
        c.ok(not st.get("workflows"), "no workflow left in flight in the state file", st)
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{hport}/healthz", timeout=5) as r:
            health = json.loads(r.read())
        c.ok(health.get("gateway_connected") is True, "/healthz: gateway connected", health)
        with urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        c.ok('envbot_workflows_total{kind="start",outcome="success"} 2' in metrics and
             'envbot_workflows_total{kind="stop",outcome="success"} 1' in metrics,
             "/metrics counts the workflows by kind and outcome", metrics)
        c.ok('envbot_gateway_connected 1' in metrics, "/metrics: gateway connected", metrics)
        c.ok('envbot_aws_requests_total{service="cloudformation"}' in metrics,
             "/metrics: AWS calls by service", metrics)
        c.ok('envbot_next_action_timestamp_seconds{environment="dev",action=' in metrics,
             "/metrics: next scheduled action per environment", metrics)
        c.ok(d.stop() == 0, "SIGTERM: clean exit 0")
    finally:
        if d:
            d.stop(signal.SIGKILL)
        moto.stop()
        fd.stop()


def scenario_schedule(c, binary, root, logdir):
    moto = w.Moto(logdir, name="moto-sched")
    fd = w.FakeDiscord(logdir, os.path.join(root, "tests/fakes/fake_discord.py"))
    try:
        template_url, newest = w.setup_moto(moto)
        w.setup_ec2(moto)
        cfg = os.path.join(logdir, "sched.cfg")
        state = os.path.join(logdir, "sched-state.json")
        w.write_config(cfg, moto.url, template_url, state, api_base=fd.api)
        # 08:59:57 KST on Wednesday 2026-11-25 is 23:59:57 UTC the day before.
        d = Daemon(binary, cfg, logdir, w.aws_test_env(), "sched-start",
                   faketime="2026-11-24 23:59:57")
        found = []
        end = time.monotonic() + 40
        while time.monotonic() < end and not found:
            found = [m for m in channel_messages(fd, "dev is up")]
            time.sleep(0.2)
        c.ok(found, "the 09:00 scheduled start posted a finished embed", d.text()[-3000:])
        if found:
            text = w.embed_text(found[0]["embeds"][0])
            c.ok("scheduled start" in text and "09:00" in text,
                 "the embed says the schedule triggered it", text)
        stacks = moto.client("cloudformation").describe_stacks()["Stacks"]
        c.ok(any(s["StackName"] == "ChatAppMasterStack" and
                 s["StackStatus"] == "CREATE_COMPLETE" for s in stacks),
             "moto: stack created by the schedule", stacks)
        c.ok(d.stop() == 0, "scheduled start: clean exit")

        d = Daemon(binary, cfg, logdir, w.aws_test_env(), "sched-stop",
                   faketime="2026-11-25 08:59:57")
        found = []
        end = time.monotonic() + 40
        while time.monotonic() < end and not found:
            found = channel_messages(fd, "dev is down")
            time.sleep(0.2)
        c.ok(found, "the 18:00 scheduled stop posted a finished embed", d.text()[-3000:])
        names = [s["StackName"] for s in
                 moto.client("cloudformation").describe_stacks()["Stacks"]
                 if s["StackStatus"] != "DELETE_COMPLETE"]
        c.ok("ChatAppMasterStack" not in names, "moto: stack deleted by the schedule", names)
        c.ok(d.stop() == 0, "scheduled stop: clean exit")
        st = json.load(open(state))
        audit = json.dumps(st.get("audit", []))
        c.ok("scheduled start" in audit and "scheduled stop" in audit,
             "scheduled actions are in the audit log", audit[:2000])
    finally:
        moto.stop()
        fd.stop()


def scenario_resume(c, binary, root, logdir):
    fa = w.FakeAws(logdir, os.path.join(root, "tests/fakes/fake_aws.py"))
    fd = w.FakeDiscord(logdir, os.path.join(root, "tests/fakes/fake_discord.py"))
    try:
        fa.ctl("images", {"repository": "chat-chat-http", "generate": 30})
        fa.ctl("behavior", {"stack": "ChatAppMasterStack", "create_seconds": 6,
                            "outputs": {"LoadBalancerUrl": "http://dev.fake"}})
        cfg = os.path.join(logdir, "resume.cfg")
        state = os.path.join(logdir, "resume-state.json")
        w.write_config(cfg, fa.url, "https://b.s3.amazonaws.com/t.yaml", state, api_base=fd.api)
        d = Daemon(binary, cfg, logdir, fa.env(), "resume-1")
        c.ok(d.wait_log('msg="ready"'), "daemon 1 ready", d.text()[-2000:])
        iid = fd.slash("start", "dev")
        end = time.monotonic() + 20
        while time.monotonic() < end and not fa.requests("CreateStack"):
            time.sleep(0.05)
        time.sleep(0.5)  # a poll or two: the resume point is PollCreate
        d.stop(signal.SIGKILL)
        st = json.load(open(state))
        c.ok(st.get("workflows"), "the workflow in flight is in the state file", st)
        d = Daemon(binary, cfg, logdir, fa.env(), "resume-2")
        c.ok(d.wait_log("resuming workflow"), "daemon 2 resumes it", d.text()[-2000:])
        orig_id = None
        for _ in range(100):
            orig = fd.reply(iid).get("original")
            if orig:
                orig_id = orig["id"]
                break
            time.sleep(0.05)

        def final():
            m = [x for x in fd.call("/state")["messages"] if x["id"] == orig_id]
            return m[0]["embeds"][0] if m and m[0].get("embeds") else None
        e = wait_final(final, timeout=40)
        c.ok(e and e["color"] == w.GREEN and "dev is up" in w.embed_text(e),
             "the same embed is finished green after the restart", e)
        c.ok("resumed after a restart" in (e or {}).get("description", ""),
             "the embed says it was resumed", e)
        c.ok(len(fa.requests("CreateStack")) == 1, "CreateStack was sent once",
             len(fa.requests("CreateStack")))
        c.ok(d.stop() == 0, "daemon 2: clean exit")
        st = json.load(open(state))
        c.ok(not st.get("workflows"), "nothing left in flight", st.get("workflows"))
    finally:
        fa.stop()
        fd.stop()


def scenario_fanout(c, binary, root, logdir, n=200):
    fa = w.FakeAws(logdir, os.path.join(root, "tests/fakes/fake_aws.py"))
    fd = w.FakeDiscord(logdir, os.path.join(root, "tests/fakes/fake_discord.py"))
    try:
        extra = ""
        for i in range(n):
            name = f"fan{i:03d}"
            fa.ctl("stack", {"name": f"Fan{i:03d}Stack", "status": "CREATE_COMPLETE"})
            fa.ctl("behavior", {"stack": f"Fan{i:03d}Stack", "delete_seconds": 1})
            extra += (f',\n  {{ name = "{name}"; kind = "stack"; stack_name = "Fan{i:03d}Stack";'
                      f' template_url = "https://b.s3.amazonaws.com/t.yaml";'
                      f' schedule: {{ stop = "0 18 * * *"; }}; hourly_cost = 0.1; }}')
        cfg = os.path.join(logdir, "fan.cfg")
        w.write_config(cfg, fa.url, "https://b.s3.amazonaws.com/t.yaml",
                       os.path.join(logdir, "fan-state.json"), api_base=fd.api,
                       extra_envs=extra)
        state = os.path.join(logdir, "fan-state.json")
        d = Daemon(binary, cfg, logdir, fa.env(), "fanout", faketime="2026-11-25 08:59:58")
        # The workflows' outcomes are in the audit log as soon as each ends;
        # their embeds trail behind Discord's 5-per-5-s channel limit (200
        # new messages take over 3 minutes on real Discord too).
        t0 = time.monotonic()
        ok = failed = []
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                audit = json.load(open(state)).get("audit", [])
            except (OSError, ValueError):
                audit = []
            wfs = [a for a in audit if a.get("action", "").startswith("workflow stop")
                   and a.get("env", "").startswith("fan")]
            ok = [a for a in wfs if a.get("outcome", "").startswith("ok")]
            failed = [a for a in wfs if not a.get("outcome", "").startswith("ok")]
            if len(wfs) >= n:
                break
            time.sleep(0.2)
        secs = time.monotonic() - t0
        c.ok(len(ok) == n and not failed,
             f"all {n} scheduled stops succeeded ({len(ok)} ok, {len(failed)} failed, "
             f"{secs:.1f}s from 08:59:58)", failed[:3] or d.text()[-3000:])
        deletes = len(fa.requests("DeleteStack"))
        c.ok(deletes == n, f"one DeleteStack per environment ({deletes})")
        time.sleep(6)  # a few rate-limit windows of embeds
        st = fd.call("/state")
        posts = sorted(m["t"] for m in st["messages"] if not m.get("interaction_id"))
        worst = max((sum(1 for t in posts if a <= t < a + 5.0) for a in posts), default=0)
        c.ok(st["counters"].get("rest_429", 0) == 0 and worst <= 5,
             f"the channel's rate limit was never exceeded (429s: "
             f"{st['counters'].get('rest_429', 0)}, most posts in 5 s: {worst})",
             st["counters"])
        c.ok(len(posts) >= 5, f"embeds keep being posted ({len(posts)} so far)")
        print(f"fan-out: {n} stops done in {secs:.1f}s; {len(posts)} embeds posted so far, "
              f"{st['counters'].get('message_edits')} edits", flush=True)
        c.ok(d.stop() == 0, "fan-out daemon: clean exit")
    finally:
        fa.stop()
        fd.stop()


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    try:
        import moto  # noqa: F401
    except ImportError:
        print("SKIP: moto is not installed for", sys.executable)
        return 77
    only = sys.argv[3] if len(sys.argv) > 3 else None
    c = w.Checks()
    logdir = w.tmpdir("envbot-run-")
    try:
        for name, fn in (("slash", scenario_slash), ("schedule", scenario_schedule),
                         ("resume", scenario_resume), ("fanout", scenario_fanout)):
            if only and name != only:
                continue
            if name in ("schedule", "fanout") and not os.path.exists(FAKETIME_LIB):
                print(f"SKIP {name}: libfaketime is not installed")
                continue
            print(f"== {name}", flush=True)
            fn(c, binary, root, logdir)
    finally:
        for d in Daemon.started:
            if d.proc.poll() is None:
                d.stop(signal.SIGKILL)
    # Each scenario checked its daemons' exit 0 on SIGTERM; a bad access in
    # one killed with SIGKILL (resume's first) is only in its log.
    logs = [d.log_path for d in Daemon.started]
    found = w.sanitizer_reports_in(logs)
    c.ok(not found, f"no sanitizer report in the {len(logs)} daemon logs", found[:8])
    print("logs in", logdir)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
