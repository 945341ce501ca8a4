#!/usr/bin/env python3
"""End to end: manual runs with leases (issue 16), through `envbot run`
under libfaketime (10x) against the fake Discord and the fake AWS.

dev (stack, 09:00-18:00 MON-FRI, enforce = true) on Monday 2026-11-23 from
20:00:30 KST (off hours); manual_lease = "4h", max_extend = "4h",
warn_before = "5m".

  refusals  `for banana`, `for 5h` (operator, over max_extend), `for until
            19:00` (past): ephemeral, nothing created, no lease saved
  queue     /env start dev for 2h, then /env stop dev while it creates: the
            reply says it is queued, the start's embed shows it as the next
            step, a second stop is pointed to it; exactly one DeleteStack,
            after the CreateStack completed
  enforce   /env start dev for 2h again: the next minutes' enforce ticks do
            not undo it (no DeleteStack); /env status and /schedule show
            list the lease; the lease is in the state file
  restart   kill -9, then a restart 5.5 min before the lease's end: the
            stop warning (with snooze buttons) comes 5 min before, then the
            lease's stop; the audit records the lease's end

usage: test_leases.py ENVBOT_BINARY
Exit 77 without faketime or aiohttp in Debian's python3."""
import datetime
import json
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
CHANNEL = "300000000000000003"
STACK = "ChatAppMasterStack"
REPO = "chat-chat-http"
# 20:00:30 KST on Monday 2026-11-23 is 11:00:30 UTC.
START_AT = "@2026-11-23 11:00:30 x10"


def libfaketime():
    """The preload library itself (the `faketime` wrapper would take the
    signals meant for envbot)."""
    import glob
    for pat in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1",
                "/usr/local/lib/faketime/libfaketimeMT.so.1"):
        found = glob.glob(pat)
        if found:
            return found[0]
    return None


def slash(discord, sub, opts, user="alice", command="env"):
    return discord.call("/interaction", {
        "command": command, "subcommand": sub, "options": opts,
        "roles": [FakeDiscord.OPERATOR_ROLE], "user_name": user})["id"]


def wait_reply(discord, iid, cond, timeout=20):
    end = time.monotonic() + timeout
    rec = discord.reply(iid)
    while time.monotonic() < end:
        rec = discord.reply(iid)
        if cond(rec):
            return rec
        time.sleep(0.1)
    return rec


def text_of(rec):
    m = rec["msg"]
    return (m.get("content") or "") + "\n" + "\n".join(embed_text(e) for e in m["embeds"])


def final(rec):
    em = rec["msg"]["embeds"]
    return bool(em) and em[0].get("color") in (GREEN, RED)


def ephemeral(rec):
    rs = rec.get("responses") or []
    return bool(rs) and ((rs[0].get("data") or {}).get("flags", 0) & 64) != 0


def channel_messages(discord):
    return [m for m in discord.call("/state", timeout=20)["messages"]
            if m.get("channel_id") == CHANNEL]


def start_bot(binary, cfg, env, faketime, d, name):
    e = dict(env)
    e.update(FAKETIME=faketime)
    log = open(os.path.join(d, name), "wb")
    return subprocess.Popen([binary, "-c", cfg, "run"], stdout=log, stderr=subprocess.STDOUT,
                            env=e), log


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
    d = tmpdir("envbot-leases-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = None
    bot = None
    logs = []
    state_file = os.path.join(d, "state.json")
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, aws.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     state_file, api_base=discord.api,
                     extra_top='manual_lease = "4h";\nmax_extend = "4h";\nwarn_before = "5m";',
                     qa_schedule=("0 9 * * MON-FRI", "0 18 * * MON-FRI"))
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace("hourly_cost = 0.241;", "hourly_cost = 0.241; enforce = true;"))
        aws.ctl("images", {"repository": REPO, "images": [
            {"tags": ["v2.0.1"], "pushed_at": 1700000600}]})
        env = aws.env()
        env.update(DISCORD_TOKEN=FakeDiscord.TOKEN, TZ="UTC", LD_PRELOAD=lib,
                   FAKETIME_NO_CACHE="1")
        env.pop("ENVBOT_TEST_POLL_MS", None)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                               ":verify_asan_link_order=0").lstrip(":")
        bot, log = start_bot(binary, cfg, env, START_AT, d, "envbot.log")
        logs.append(log)
        w = discord.call("/wait?counter=ready&min=1&timeout=20", timeout=25)
        if not c.ok(w.get("ok"), "envbot connected to the fake gateway"):
            return c.done()

        # --- refusals: ephemeral, nothing changed.
        for opt, why in (("banana", "not a lease"), ("5h", "max_extend"),
                         ("until 19:00", "already passed")):
            rec = wait_reply(discord, slash(discord, "start", {"name": "dev", "for": opt}),
                             lambda r: bool(r.get("responses")))
            t = text_of(rec)
            c.ok(ephemeral(rec) and "\u2718" in t and why in t,
                 f"refusals: for {opt!r} refused, ephemeral, saying why", rec)
        time.sleep(0.5)
        c.ok(not aws.requests("CreateStack"), "refusals: nothing created")
        with open(state_file) as f:
            st = json.load(f)
        c.ok("lease" not in json.dumps(st["environments"]), "refusals: no lease saved",
             st["environments"])

        # --- queue: stop while the start creates.
        aws.ctl("behavior", {"stack": STACK, "create_seconds": 3, "delete_seconds": 0.5})
        first = slash(discord, "start", {"name": "dev", "for": "2h"})
        end = time.monotonic() + 15
        while time.monotonic() < end and not aws.requests("CreateStack"):
            time.sleep(0.05)
        c.ok(aws.requests("CreateStack"), "queue: the start created the stack")
        stop = slash(discord, "stop", {"name": "dev"}, user="bob")
        rec = wait_reply(discord, stop, lambda r: "queued" in text_of(r))
        c.ok("queued" in text_of(rec) and "when the current start ends" in text_of(rec),
             "queue: the stop's reply says it runs when the start ends", rec["msg"])
        again = slash(discord, "stop", {"name": "dev"}, user="carol")
        rec = wait_reply(discord, again, lambda r: bool(r.get("responses")))
        c.ok(ephemeral(rec) and "already has a stop queued" in text_of(rec),
             "queue: the same stop again is pointed to the queued one", rec["msg"])
        rec = wait_reply(discord, first, lambda r: "queued by bob" in text_of(r), timeout=10)
        c.ok("Next: stop, queued by bob" in text_of(rec),
             "queue: the start's embed shows the stop as the next step", rec["msg"])
        rec = wait_reply(discord, first, final, timeout=30)
        c.ok(final(rec) and rec["msg"]["embeds"][0].get("color") == GREEN,
             "queue: the start ends green", rec["msg"])
        end = time.monotonic() + 30
        down = None
        while time.monotonic() < end and not down:
            for m in channel_messages(discord):
                for e in m.get("embeds") or []:
                    if e.get("title") == "dev is down" and e.get("color") in (GREEN, RED):
                        down = e
            time.sleep(0.2)
        c.ok(down and down.get("color") == GREEN, "queue: the queued stop ran, green", down)
        creates = aws.requests("CreateStack")
        deletes = aws.requests("DeleteStack")
        c.ok(len(creates) == 1 and len(deletes) == 1,
             f"queue: one CreateStack, one DeleteStack ({len(creates)}, {len(deletes)})")
        if creates and deletes:
            c.ok(deletes[0]["time"] >= creates[0]["time"] + 3.0,
                 "queue: the DeleteStack came after the CreateStack completed",
                 (creates[0]["time"], deletes[0]["time"]))

        # --- enforce: a leased manual start survives the ticks.
        # An enforce run (quiet, nothing to do) may be in flight: then the
        # start is queued behind it and posts its own message.
        second = slash(discord, "start", {"name": "dev", "for": "2h"})
        rec = wait_reply(discord, second, lambda r: final(r) or "queued" in text_of(r),
                         timeout=30)
        up = final(rec) and rec["msg"]["embeds"][0].get("color") == GREEN
        end = time.monotonic() + 30
        while not up and time.monotonic() < end:
            up = any(e.get("title") == "dev is up" and e.get("color") == GREEN
                     for m in channel_messages(discord) for e in m.get("embeds") or [])
            time.sleep(0.2)
        c.ok(up, "enforce: the second start ends green", rec["msg"])
        time.sleep(15)  # 2.5 minutes of fake time: at least two enforce ticks
        c.ok(len(aws.requests("DeleteStack")) == 1,
             "enforce: the next minutes' ticks did not stop it",
             len(aws.requests("DeleteStack")))
        rec = wait_reply(discord, slash(discord, "status", {"name": "dev"}),
                         lambda r: "Live:" in text_of(r))
        c.ok("lease: start by alice" in text_of(rec) and "up until" in text_of(rec),
             "enforce: /env status shows the lease and its end", text_of(rec))
        rec = wait_reply(discord, slash(discord, "show", {"name": "dev"}, command="schedule"),
                         lambda r: bool(r.get("responses")))
        c.ok("Lease: manual start by alice, up until" in text_of(rec) and
             "end of the lease of alice" in text_of(rec),
             "enforce: /schedule show lists the lease's stop", text_of(rec))
        with open(state_file) as f:
            st = json.load(f)
        before = (st["environments"].get("dev", {}).get("lease") or {}).get("until", 0)
        # /env extend lengthens the lease; over max_extend it is refused.
        rec = wait_reply(discord, slash(discord, "extend", {"name": "dev", "duration": "5h"},
                                        user="bob"), lambda r: bool(r.get("responses")))
        c.ok(ephemeral(rec) and "max_extend" in text_of(rec),
             "extend: a lease past max_extend refused", text_of(rec))
        rec = wait_reply(discord, slash(discord, "extend", {"name": "dev", "duration": "30m"},
                                        user="bob"), lambda r: bool(r.get("responses")))
        c.ok("the lease" in text_of(rec) and "now ends at" in text_of(rec),
             "extend: /env extend lengthens the lease", text_of(rec))
        with open(state_file) as f:
            st = json.load(f)
        lease = st["environments"].get("dev", {}).get("lease")
        c.ok(lease and lease["action"] == "start" and lease["who"] == "alice",
             "enforce: the lease is in the state file", lease)
        c.ok(lease and lease["until"] == before + 1800, "extend: the lease's end moved 30 min",
             (before, lease))

        # --- restart: kill -9 in the middle of the lease.
        bot.kill()
        bot.wait()
        if not lease:
            return c.done()
        until = int(lease["until"])
        at = datetime.datetime.fromtimestamp(until - 330, datetime.timezone.utc)
        discord.call("/reset", {})
        bot, log = start_bot(binary, cfg, env, at.strftime("@%Y-%m-%d %H:%M:%S x10"), d,
                             "envbot2.log")
        logs.append(log)
        end = time.monotonic() + 90
        warn = down = None
        while time.monotonic() < end and not down and bot.poll() is None:
            for m in channel_messages(discord):
                if not warn and "stops at" in (m.get("content") or "") and \
                        "dev" in m.get("content"):
                    warn = (time.monotonic(), m)
                for e in m.get("embeds") or []:
                    if e.get("title") == "dev is down" and e.get("color") in (GREEN, RED):
                        down = (time.monotonic(), e)
            time.sleep(0.2)
        posts = [q.get("body") or {} for q in discord.call("/state", timeout=20)["requests"]
                 if q.get("method") == "POST" and q.get("path", "").endswith("/messages")]
        wbody = [b for b in posts if "stops at" in (b.get("content") or "")]
        ids = [x.get("custom_id") for b in wbody for row in b.get("components") or []
               for x in row.get("components") or []]
        c.ok(warn is not None and any(i and i.startswith("sw|dev|") for i in ids),
             "restart: the stop warning with its snooze buttons", (warn, ids))
        c.ok(down is not None and down[1].get("color") == GREEN,
             "restart: the lease's stop ran, green", down)
        if warn and down:
            c.ok(down[0] - warn[0] > 15, "restart: the warning came well before the stop",
                 down[0] - warn[0])
            trig = embed_field(down[1], "Triggered by") or ""
            c.ok(trig.startswith("lease stop"), "restart: the stop says it was the lease", trig)
        c.ok(len(aws.requests("DeleteStack")) == 2, "restart: one more DeleteStack",
             len(aws.requests("DeleteStack")))
        time.sleep(1.0)
        with open(state_file) as f:
            st = json.load(f)
        c.ok("lease" not in st["environments"].get("dev", {}), "restart: the lease is gone",
             st["environments"].get("dev"))
        ends = [a for a in st["audit"] if a["action"] == "lease end: stop"]
        c.ok(ends and "alice" in ends[-1]["outcome"],
             "restart: the audit records the lease's end and who asked", st["audit"][-5:])
        asked = [a for a in st["audit"] if a["action"].startswith("/env start dev") and
                 "lease: up until" in a["outcome"]]
        c.ok(asked and asked[-1]["user"] == "alice", "the audit records the lease asked for",
             st["audit"][-8:])
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
        # --- the CLI: `envbot start dev --for`, refused when bad, else the
        # lease lands in the state file.
        cli_env = {k: v for k, v in env.items() if not k.startswith("FAKETIME") and
                   k != "LD_PRELOAD"}
        cli_env["ENVBOT_TEST_POLL_MS"] = "200"
        r = subprocess.run([binary, "-c", cfg, "start", "dev", "--for", "banana"],
                           capture_output=True, text=True, env=cli_env, timeout=60)
        c.ok(r.returncode == 2 and "not a lease" in r.stderr,
             "cli: --for banana refused (exit 2)", (r.returncode, r.stderr))
        c.ok(len(aws.requests("CreateStack")) == 2, "cli: nothing created for a bad --for")
        r = subprocess.run([binary, "-c", cfg, "start", "dev", "--for", "90m"],
                           capture_output=True, text=True, env=cli_env, timeout=90)
        with open(state_file) as f:
            st = json.load(f)
        lease = st["environments"].get("dev", {}).get("lease") or {}
        c.ok(r.returncode == 0 and lease.get("action") == "start" and
             abs(lease.get("until", 0) - (time.time() + 90 * 60)) < 120,
             "cli: --for 90m started it and recorded the lease", (r.returncode, r.stderr,
                                                                  lease))
        for lg in logs:
            lg.close()
        for name in ("envbot.log", "envbot2.log"):
            with open(os.path.join(d, name), errors="replace") as f:
                text = f.read()
            c.ok("Sanitizer" not in text and "runtime error:" not in text,
                 f"no sanitizer report in {name}", text[-3000:])
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
