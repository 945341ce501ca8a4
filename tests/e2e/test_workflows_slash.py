#!/usr/bin/env python3
"""End to end through the daemon: `envbot run` connected to the fake Discord
(tests/fakes/fake_discord.py) and the fault-injecting fake AWS
(tests/fakes/fake_aws.py); workflows started by /env start|stop as a user
would, judged by the progress embed the user sees (the interaction's
original response, as the fake recorded every edit of it).

  createfail  red embed, the first failed resource and its reason
  deletefail  red embed, every resource that failed to delete and why
  busy        a stack in UPDATE_IN_PROGRESS: red embed saying so
  leftover    ROLLBACK_COMPLETE leftover removed, then created: green
  throttle    throttling injected mid-workflow: green
  one         a second /env start while one runs: answered with a pointer
              to the running one; the first still ends green
  ec2reason   an ec2 start that EC2 gives up on (the instance back at
              stopped with StateReason Client.InternalError): red embed
              with AWS's reason
  parallel200 200 environments stopped at once by 200 /env stop: every
              interaction acknowledged in time, 200 green embeds, 200 stacks
              deleted

usage: test_workflows_slash.py ENVBOT_BINARY [SCENARIO...]
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (GREEN, RED, Checks, FakeAws, FakeDiscord, embed_field,  # noqa: E402
                      embed_text, tmpdir, write_config)

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
STACK = "ChatAppMasterStack"
REPO = "chat-chat-http"
N_PARALLEL = 200


def seed_images(aws):
    aws.ctl("images", {"repository": REPO, "images": [
        {"tags": ["v2.0.0"], "pushed_at": 1700000000},
        {"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})


def wait_final(discord, iid, timeout=30):
    """The reply once its embed is green or red (or the last seen)."""
    end = time.monotonic() + timeout
    rec = None
    while time.monotonic() < end:
        rec = discord.reply(iid)
        em = rec["msg"]["embeds"]
        if em and em[0].get("color") in (GREEN, RED):
            time.sleep(0.3)  # a trailing edit would be a bug: look again
            return discord.reply(iid)
        time.sleep(0.1)
    return rec


def final_embed(rec):
    em = (rec or {}).get("msg", {}).get("embeds") or []
    return em[0] if em else {}


def s_createfail(aws, discord, c):
    seed_images(aws)
    reason = "Resource handler returned message: CannotPullContainerError: v2.0.1 not found"
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 0.5,
                         "create_fail": {"logical_id": "ApiService", "type": "AWS::ECS::Service",
                                         "reason": reason}})
    rec = wait_final(discord, discord.slash("start", "dev"))
    e = final_embed(rec)
    c.ok(e.get("color") == RED, "createfail: red embed", e)
    r = embed_field(e, "Reason") or ""
    c.ok("ApiService" in r and "AWS::ECS::Service" in r and "CannotPullContainerError" in r,
         "createfail: the first failed resource and its reason", e)
    c.ok(embed_field(e, "Stack status") == "ROLLBACK_COMPLETE", "createfail: stack status", e)
    c.ok(rec["responses"] and rec["responses"][0]["type"] == 5,
         "createfail: deferred at once", rec.get("responses"))


def s_deletefail(aws, discord, c):
    aws.ctl("stack", {"name": STACK, "status": "CREATE_COMPLETE"})
    fails = [{"logical_id": "UploadsBucket", "type": "AWS::S3::Bucket",
              "reason": "The bucket you tried to delete is not empty"},
             {"logical_id": "AppSecurityGroup", "type": "AWS::EC2::SecurityGroup",
              "reason": "resource sg-0abc has a dependent object"}]
    aws.ctl("behavior", {"stack": STACK, "delete_seconds": 0.5, "delete_fail": fails})
    e = final_embed(wait_final(discord, discord.slash("stop", "dev")))
    c.ok(e.get("color") == RED, "deletefail: red embed", e)
    text = embed_text(e)
    for f in fails:
        c.ok(f["logical_id"] in text and f["reason"] in text,
             f"deletefail: {f['logical_id']} and why", text)
    c.ok(embed_field(e, "Stack status") == "DELETE_FAILED", "deletefail: stack status", e)


def s_busy(aws, discord, c):
    aws.ctl("stack", {"name": STACK, "status": "UPDATE_IN_PROGRESS"})
    e = final_embed(wait_final(discord, discord.slash("start", "dev")))
    c.ok(e.get("color") == RED, "busy: red embed", e)
    c.ok("another operation is in progress" in (embed_field(e, "Reason") or "") and
         "UPDATE_IN_PROGRESS" in embed_text(e), "busy: says why", e)
    c.ok(not aws.requests("CreateStack"), "busy: nothing created")


def s_leftover(aws, discord, c):
    seed_images(aws)
    aws.ctl("stack", {"name": STACK, "status": "ROLLBACK_COMPLETE"})
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 0.5, "delete_seconds": 0.5})
    e = final_embed(wait_final(discord, discord.slash("start", "dev")))
    c.ok(e.get("color") == GREEN, "leftover: green embed", e)
    c.ok("✅ **Remove failed leftover**" in (e.get("description") or ""),
         "leftover: removal step done", e.get("description"))
    acts = [q["action"] for q in aws.requests() if q["action"] in ("DeleteStack", "CreateStack")]
    c.ok(acts == ["DeleteStack", "CreateStack"], "leftover: deleted, then created", acts)
    c.ok("v2.0.1" in (embed_field(e, "Image tag") or ""), "leftover: image tag shown", e)


def s_throttle(aws, discord, c):
    seed_images(aws)
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 1.5})
    iid = discord.slash("start", "dev")
    end = time.monotonic() + 10
    while time.monotonic() < end and not aws.requests("CreateStack"):
        time.sleep(0.05)
    aws.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 2, "status": 400,
                                  "code": "Throttling", "message": "Rate exceeded"}]})
    e = final_embed(wait_final(discord, iid))
    c.ok(e.get("color") == GREEN, "throttle: green embed", e)
    c.ok(embed_field(e, "Stack status") == "CREATE_COMPLETE", "throttle: stack status", e)


def s_one(aws, discord, c):
    seed_images(aws)
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 3})
    first = discord.slash("start", "dev")
    end = time.monotonic() + 10
    while time.monotonic() < end and not discord.reply(first)["msg"]["embeds"]:
        time.sleep(0.05)
    second = discord.slash("start", "dev", user="bob")
    time.sleep(1.0)
    r2 = discord.reply(second)
    text = r2["msg"]["content"] + " ".join(embed_text(x) for x in r2["msg"]["embeds"])
    c.ok("already has a start running" in text or "already has a workflow running" in text,
         "one: the second request is pointed to the running one", r2)
    c.ok("https://discord.com/channels/" in text, "one: with a link to it", text)
    e = final_embed(wait_final(discord, first))
    c.ok(e.get("color") == GREEN, "one: the first still ends green", e)
    c.ok(len(aws.requests("CreateStack")) == 1, "one: one CreateStack",
         len(aws.requests("CreateStack")))


def s_parallel200(aws, discord, c):
    for i in range(N_PARALLEL):
        aws.ctl("stack", {"name": f"ParStack{i:03d}", "status": "CREATE_COMPLETE"})
        aws.ctl("behavior", {"stack": f"ParStack{i:03d}", "delete_seconds": 1.0})
    t0 = time.monotonic()
    ids = [discord.slash("stop", f"par{i:03d}") for i in range(N_PARALLEL)]
    sent = time.monotonic() - t0
    end = time.monotonic() + 90
    finals = {}
    while time.monotonic() < end and len(finals) < N_PARALLEL:
        st = discord.call("/state", timeout=30)
        by_id = {r["id"]: r for r in st["interactions"]}
        for iid in ids:
            if iid in finals or iid not in by_id:
                continue
            msg = {"embeds": []}
            for ed in by_id[iid].get("edits") or []:
                if "embeds" in (ed.get("body") or {}):
                    msg["embeds"] = ed["body"]["embeds"]
            if msg["embeds"] and msg["embeds"][0].get("color") in (GREEN, RED):
                finals[iid] = msg["embeds"][0]
        time.sleep(0.5)
    took = time.monotonic() - t0
    green = sum(1 for e in finals.values() if e.get("color") == GREEN)
    c.ok(green == N_PARALLEL, f"parallel: {green}/{N_PARALLEL} green embeds "
         f"({len(finals)} finished) in {took:.1f}s (interactions sent in {sent:.1f}s)",
         [embed_field(e, "Reason") for e in finals.values() if e.get("color") != GREEN][:3])
    lat = discord.call("/latency")
    if os.environ.get("WF_DEBUG"):
        st = discord.call("/state", timeout=30)
        for r in sorted(st["interactions"], key=lambda r: r["created"])[::20]:
            rs = r["responses"]
            print(f"   created +{r['created'] - st['interactions'][0]['created']:.3f} "
                  f"sent {None if r['sent'] is None else round(r['sent'] - r['created'], 3)} "
                  f"ack {rs[0]['latency_ms'] if rs else None}")
    print(f"   parallel: {len(finals)} finished, {green} green in {took:.1f}s; ACK p50 "
          f"{lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms; "
          f"{len(aws.requests('DescribeStacks'))} DescribeStacks", flush=True)
    c.ok(lat["late"] == 0 and lat["unanswered"] == 0,
         f"parallel: every interaction acknowledged within 3 s (p99 {lat['p99_ms']} ms)", lat)
    counters = discord.call("/state", timeout=30)["counters"]
    c.ok(counters.get("rest_4xx", 0) == counters.get("rest_429", 0),
         "parallel: no rejected Discord request other than rate limits", counters)
    deletes = {q["params"].get("StackName") for q in aws.requests("DeleteStack")}
    c.ok(len(deletes) == N_PARALLEL, f"parallel: {len(deletes)} stacks deleted")
    c.ok(took < 60, f"parallel: done in {took:.1f}s")


def s_ec2reason(aws, discord, c):
    why = "Client.InternalError: Client error on launch"
    aws.ctl("instances", {"instances": [
        {"id": "i-0aa11bb22cc33dd44", "state": "stopped", "tags": {"AutoStopStart": "Yes"},
         "fail_start": {"code": "Client.InternalError", "message": why}}]})
    e = final_embed(wait_final(discord, discord.slash("start", "qa")))
    c.ok(e.get("color") == RED, "ec2reason: red embed", e)
    r = embed_field(e, "Reason") or ""
    c.ok("i-0aa11bb22cc33dd44 fell back to stopped" in r and why in r,
         "ec2reason: AWS's StateReason in the Reason", e)
    c.ok(len(aws.requests("StartInstances")) >= 1, "ec2reason: StartInstances sent")


SCENARIOS = {"ec2reason": s_ec2reason, "createfail": s_createfail, "deletefail": s_deletefail, "busy": s_busy,
             "leftover": s_leftover, "throttle": s_throttle, "one": s_one,
             "parallel200": s_parallel200}


def extra_envs(n):
    return "".join(f""",
  {{ name = "par{i:03d}"; kind = "stack"; stack_name = "ParStack{i:03d}";
     template_url = "https://envbot-templates.s3.amazonaws.com/master-stack.yaml"; }}"""
                   for i in range(n))


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    d = tmpdir("envbot-wf-slash-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = None
    bot = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, aws.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     os.path.join(d, "state.json"), api_base=discord.api,
                     extra_envs=extra_envs(N_PARALLEL) if "parallel200" in names else "")
        env = aws.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"
        log = open(os.path.join(d, "envbot.log"), "wb")
        bot = subprocess.Popen([binary, "-c", cfg, "run"], stdout=log, stderr=subprocess.STDOUT,
                               env=env)
        w = discord.call("/wait?counter=ready&min=1&timeout=20", timeout=25)
        if not c.ok(w.get("ok"), "envbot connected to the fake gateway"):
            return c.done()
        for n in names:
            aws.ctl("reset")
            before = c.failed
            t0 = time.monotonic()
            SCENARIOS[n](aws, discord, c)
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
            if bot.poll() is not None:
                c.ok(False, f"envbot still running after {n}", bot.returncode)
                break
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                rc = bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
                rc = bot.wait()
            c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")
        log.close()
        with open(os.path.join(d, "envbot.log"), errors="replace") as f:
            text = f.read()
        c.ok("Sanitizer" not in text and "runtime error:" not in text,
             "no sanitizer report", text[-3000:])
    finally:
        if bot and bot.poll() is None:
            bot.kill()
            bot.wait()
        aws.stop()
        if discord:
            discord.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
