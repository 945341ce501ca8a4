#!/usr/bin/env python3
"""End to end: scheduled ticks of `envbot run` drive a full start and stop
against moto, each reported by a progress embed in the configured channel of
the fake Discord (tests/fakes/fake_discord.py).

The schedules are dev (stack) and qa (EC2): start at 09:00 and stop at 09:01
Asia/Seoul. envbot runs under libfaketime from 08:59:50 KST at 10x speed, so
both ticks come within about 7 s of real time; nothing in envbot is told
about the fake clock (the real 5 s poll, no test knobs).

usage: test_workflows_sched.py ENVBOT_BINARY
Exit 77 without moto, faketime, or aiohttp in Debian's python3."""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)
from wfcommon import (GREEN, RED, Checks, FakeDiscord, Moto, aws_test_env,  # noqa: E402
                      embed_field, instance_states, setup_ec2, setup_moto, tmpdir, write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
CHANNEL = "300000000000000003"
# 08:59:50 in Seoul on Monday 2026-11-23 is 23:59:50 UTC the day before.
START_AT = "@2026-11-22 23:59:50 x10"


def finished(discord):
    """Channel messages whose embed is finished: {title: embed}."""
    out = {}
    for m in discord.call("/state", timeout=20)["messages"]:
        if m.get("channel_id") != CHANNEL:
            continue
        for e in m.get("embeds") or []:
            if e.get("color") in (GREEN, RED):
                out.setdefault(e.get("title"), e)
    return out


def libfaketime():
    """The preload library itself: run through the `faketime` wrapper,
    SIGTERM would reach the wrapper, not envbot."""
    import glob
    for pat in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1",
                "/usr/local/lib/faketime/libfaketimeMT.so.1"):
        found = glob.glob(pat)
        if found:
            return found[0]
    return None


def main():
    lib = libfaketime()
    if not lib:
        print("SKIP: libfaketime is not installed")
        return 77
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-wf-sched-")
    c = Checks()
    m = Moto(d)
    discord = None
    bot = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        url, _ = setup_moto(m, old_tags=(("v3.0.0",),), newest_tags=("v3.1.0",))
        plain, asg, _ = setup_ec2(m)
        m.client("ec2").stop_instances(InstanceIds=plain)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, url, os.path.join(d, "state.json"), api_base=discord.api,
                     extra_top='warn_before = "0";', dev_schedule=("0 9 * * *", "1 9 * * *"),
                     qa_schedule=("0 9 * * *", "1 9 * * *"))
        env = aws_test_env()
        env.update(DISCORD_TOKEN=FakeDiscord.TOKEN, TZ="UTC", LD_PRELOAD=lib, FAKETIME=START_AT,
                   FAKETIME_NO_CACHE="1")
        env.pop("ENVBOT_TEST_POLL_MS", None)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                               ":verify_asan_link_order=0").lstrip(":")
        log = open(os.path.join(d, "envbot.log"), "wb")
        t0 = time.monotonic()
        bot = subprocess.Popen([binary, "-c", cfg, "run"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
        cfn = m.client("cloudformation")
        seen_up = None
        end = time.monotonic() + 60
        fin = {}
        while time.monotonic() < end and bot.poll() is None:
            fin = finished(discord)
            if seen_up is None and "dev is up" in fin:
                st = cfn.describe_stacks(StackName="ChatAppMasterStack")["Stacks"][0]
                seen_up = (st, instance_states(m, plain + [asg]))
            if all(t in fin for t in ("dev is up", "dev is down", "qa is up", "qa is down")):
                break
            if any(e.get("color") == RED for e in fin.values()):
                break
            time.sleep(0.2)
        took = time.monotonic() - t0
        print(f"   finished embeds after {took:.1f}s: {sorted(fin)}", flush=True)
        for title in ("dev is up", "dev is down", "qa is up", "qa is down"):
            e = fin.get(title)
            c.ok(e and e.get("color") == GREEN, f"green embed '{title}'", fin)
            trig = embed_field(e or {}, "Triggered by") or ""
            want = "start" if title.endswith("up") else "stop"
            c.ok(trig.startswith("scheduled " + want) and
                 ("09:00" if want == "start" else "09:01") in trig,
                 f"'{title}' says it was the scheduled {want}", trig)
        if seen_up:
            st, states = seen_up
            params = {p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}
            c.ok(st["StackStatus"] == "CREATE_COMPLETE", "after 09:00: stack up in moto", st)
            c.ok(params.get("APIServerImageTag") == "v3.1.0", "after 09:00: newest tag", params)
        c.ok(seen_up is not None, "the start was seen before the stop")
        e = fin.get("dev is up") or {}
        c.ok("v3.1.0" in (embed_field(e, "Image tag") or ""), "start embed: image tag", e)
        c.ok("LoadBalancerUrl" in (embed_field(e, "Outputs") or ""), "start embed: outputs", e)
        live = [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackStatus"] != "DELETE_COMPLETE"]
        c.ok(not live, "after 09:01: no stack left in moto", live)
        states = instance_states(m, plain + [asg])
        c.ok(all(states[i] == "stopped" for i in plain) and states[asg] == "running",
             "after 09:01: qa stopped, the ASG instance untouched", states)
        c.ok(took < 40, f"both ticks within {took:.1f}s of real time")
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                rc = bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
                rc = bot.wait()
            c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")
        else:
            c.ok(False, f"envbot ran to the end (exited {bot.returncode})")
        log.close()
        with open(os.path.join(d, "envbot.log"), errors="replace") as f:
            text = f.read()
        c.ok("Sanitizer" not in text and "runtime error:" not in text,
             "no sanitizer report", text[-3000:])
    finally:
        if bot and bot.poll() is None:
            bot.kill()
            bot.wait()
        m.stop()
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
