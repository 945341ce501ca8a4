#!/usr/bin/env python3
"""End to end: a kind added from one file. envbot_toy is the envbot binary
built with one more registry entry, the toy kind of tests/kinds/kind_toy.c
(-DENVBOT_EXTRA_KIND=kind_toy); nothing else of envbot knows it. Against the
fake AWS (tests/fakes/fake_aws.py, the toy knocks with GetCallerIdentity) and
the fake Discord, on loopback:

  check-config  the toy environment with its own setting; the stock envbot
                refuses kind "toy", naming the kinds it has
  doctor        the registry's kinds counted, the toy's own check ✔
  status        `envbot status` prints the toy's live line
  daemon        /env list shows it, /env status its live line, /env start
                and /env stop run its table to green embeds with its field,
                and a refused knock ends red with the reason

usage: test_toy_kind.py ENVBOT_TOY ENVBOT
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (GREEN, RED, Checks, FakeAws, FakeDiscord, embed_field,  # noqa: E402
                      embed_text, run_envbot, tmpdir, write_config)

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
TOY = """,
  { name = "toy"; kind = "toy"; word = "hello"; hourly_cost = 0.01; }"""


def text(rec):
    msg = (rec or {}).get("msg") or {}
    return "\n".join([msg.get("content") or ""] + [embed_text(e) for e in msg.get("embeds") or []])


def wait_reply(discord, iid, cond, timeout=20):
    """The reply once cond(rec) holds (or the last one seen)."""
    end = time.monotonic() + timeout
    rec = None
    while time.monotonic() < end:
        rec = discord.reply(iid)
        if cond(rec):
            time.sleep(0.3)  # a trailing edit would be a bug: look again
            return discord.reply(iid)
        time.sleep(0.1)
    return rec


def final_embed(discord, iid):
    rec = wait_reply(discord, iid, lambda r: r["msg"]["embeds"] and
                     r["msg"]["embeds"][0].get("color") in (GREEN, RED))
    em = (rec or {}).get("msg", {}).get("embeds") or []
    return em[0] if em else {}


def cli_checks(toy, stock, cfg, aws, discord, c):
    r = run_envbot(toy, cfg, "check-config", env=aws.env())
    c.ok(r.rc == 0, "check-config: the toy environment loads", r)
    c.ok(re.search(r"toy\s+toy\s+toy saying hello, 0\.010 USD/h", r.out),
         "check-config: the toy's own summary", r.out)
    r = run_envbot(stock, cfg, "check-config", env=aws.env())
    c.ok(r.rc == 2 and 'kind: unknown kind "toy" (expected "stack", "ec2", "asg", "ecs-service", "rds", "rds-cluster" or "group")' in r.err,
         "check-config: the stock binary refuses kind toy", r)

    env = aws.env()
    env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
    r = run_envbot(toy, cfg, "doctor", env=env)
    c.ok("\u2714 config: 3 environments (1 stack, 1 ec2, 1 toy)" in r.out,
         "doctor: every kind of the registry counted", r.out)
    c.ok("\u2714 toy:Knock word hello (toy): allowed (the toy answered)" in r.out,
         "doctor: the toy's own check", r.out)
    c.ok(0 <= r.out.find("ec2:StopInstances") < r.out.find("toy:Knock"),
         "doctor: the toy's check after the other kinds' (registry order)", r.out)

    r = run_envbot(toy, cfg, "status", "toy", env=aws.env())
    c.ok(r.rc == 0 and re.search(r"^toy\s+toy hello: answers in account \d+$", r.out, re.M),
         "status: the toy's live line", r)


def daemon_checks(discord, aws, c):
    rec = wait_reply(discord, discord.slash("list", "toy"), lambda r: "**toy**" in text(r))
    c.ok(re.search(r"\*\*toy\*\* \(toy\): down", text(rec)), "/env list: the toy", text(rec))

    rec = wait_reply(discord, discord.slash("status", "toy"), lambda r: "Live:" in text(r))
    c.ok(re.search(r"\*\*toy\*\* \(toy.*\nLive: toy hello answers in account \d+", text(rec)),
         "/env status: the toy's live line under the title", text(rec))

    e = final_embed(discord, discord.slash("start", "toy"))
    c.ok(e.get("color") == GREEN and e.get("title") == "toy is up", "/env start: green", e)
    c.ok(embed_field(e, "Toy word") == "hello", "/env start: the toy's embed field", e)
    c.ok(embed_field(e, "Result") == "toy hello awake", "/env start: the toy's result", e)
    desc = e.get("description") or ""
    c.ok("\u2705 **Knock**" in desc and "\u2705 **Wake up**" in desc,
         "/env start: the toy's steps, done", desc)
    c.ok(len(aws.requests("GetCallerIdentity")) >= 1, "/env start: the toy knocked")

    e = final_embed(discord, discord.slash("stop", "toy"))
    c.ok(e.get("color") == GREEN and embed_field(e, "Result") == "toy hello asleep",
         "/env stop: green", e)
    c.ok("**Fall asleep**" in (e.get("description") or ""), "/env stop: the stop table", e)

    aws.ctl("faults", {"rules": [{"match": "GetCallerIdentity", "count": 10, "status": 403,
                                  "code": "AccessDenied", "message": "knock refused"}]})
    e = final_embed(discord, discord.slash("start", "toy"))
    aws.ctl("faults", {"clear": True, "rules": []})
    c.ok(e.get("color") == RED, "/env start refused: red", e)
    c.ok("knock failed: AccessDenied" in (embed_field(e, "Reason") or ""),
         "/env start refused: the reason", e)


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    toy, stock = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    d = tmpdir("envbot-toy-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = bot = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, aws.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     os.path.join(d, "state.json"), api_base=discord.api, extra_envs=TOY)
        cli_checks(toy, stock, cfg, aws, discord, c)

        env = aws.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"
        log = open(os.path.join(d, "envbot.log"), "wb")
        bot = subprocess.Popen([toy, "-c", cfg, "run"], stdout=log, stderr=subprocess.STDOUT,
                               env=env)
        w = discord.call("/wait?counter=ready&min=1&timeout=20", timeout=25)
        if c.ok(w.get("ok"), "envbot_toy connected to the fake gateway"):
            daemon_checks(discord, aws, c)
        bot.send_signal(signal.SIGTERM)
        try:
            rc = bot.wait(20)
        except subprocess.TimeoutExpired:
            bot.kill()
            rc = bot.wait()
        c.ok(rc == 0, f"envbot_toy exits 0 on SIGTERM (got {rc})")
        log.close()
    finally:
        if bot and bot.poll() is None:
            bot.kill()
        if discord:
            discord.stop()
        aws.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
