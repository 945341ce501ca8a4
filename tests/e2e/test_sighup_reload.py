#!/usr/bin/env python3
"""End to end: SIGHUP applies a changed config to every module of `envbot
run`, and names each setting that needs a restart.

envbot runs under libfaketime from 08:58:30 KST at 10x speed, qa (EC2)
scheduled to start at 09:00. Before 09:00 the config is rewritten with
another discord.channel_id, another state_file and another aws.region, and
SIGHUP is sent. Then:
  - the 09:00 start's progress embed lands in the NEW channel, none in the
    old one (the workflow manager took the new config);
  - the state is saved to the new state_file from the reload on (the
    finished workflow's uptime is there), the old file is left as it was;
  - the log names aws.region as taking effect at the next restart, and no
    setting whose value did not change.

usage: test_sighup_reload.py ENVBOT_BINARY
Exit 77 without moto, faketime, or aiohttp in Debian's python3."""
import json
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
                      check_clean_exit, instance_states, setup_ec2, setup_moto, stop_process,
                      tmpdir, write_config)
from test_workflows_sched import libfaketime  # noqa: E402

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
OLD_CHANNEL = "300000000000000003"  # what write_config writes
NEW_CHANNEL = "300000000000000777"
# 08:58:30 in Seoul on Monday 2026-11-23 is 23:58:30 UTC the day before:
# 90 fake seconds (9 real ones) to reload before the 09:00 start.
START_AT = "@2026-11-22 23:58:30 x10"


def embeds_in(discord, channel):
    """Titles of the finished embeds posted in channel, and all titles."""
    done, titles = [], []
    for m in discord.call("/state", timeout=20)["messages"]:
        if m.get("channel_id") != channel:
            continue
        for e in m.get("embeds") or []:
            titles.append(e.get("title"))
            if e.get("color") in (GREEN, RED):
                done.append(e.get("title"))
    return done, titles


def wait_log(path, text, timeout, proc):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
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
    d = tmpdir("envbot-sighup-")
    c = Checks()
    m = Moto(d)
    discord = None
    bot = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        url, _ = setup_moto(m)
        plain, asg, _ = setup_ec2(m)
        m.client("ec2").stop_instances(InstanceIds=plain)
        cfg = os.path.join(d, "envbot.cfg")
        old_state = os.path.join(d, "state.json")
        new_state = os.path.join(d, "moved", "state.json")
        os.mkdir(os.path.dirname(new_state))
        # dev never fires in this test (1 January, 03:00).
        sched = dict(extra_top='warn_before = "0";', dev_schedule=("0 3 1 1 *", "1 3 1 1 *"),
                     qa_schedule=("0 9 * * *", "30 9 * * *"))
        write_config(cfg, m.url, url, old_state, api_base=discord.api, **sched)
        env = aws_test_env()
        env.update(DISCORD_TOKEN=FakeDiscord.TOKEN, TZ="UTC", LD_PRELOAD=lib, FAKETIME=START_AT,
                   FAKETIME_NO_CACHE="1")
        env.pop("ENVBOT_TEST_POLL_MS", None)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                               ":verify_asan_link_order=0").lstrip(":")
        logpath = os.path.join(d, "envbot.log")
        log = open(logpath, "wb")
        bot = subprocess.Popen([binary, "-c", cfg, "run"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
        c.ok(wait_log(logpath, 'msg="ready"', 8, bot), "envbot is ready before 09:00")

        # The reload: new channel, new state file, new region (restart only).
        write_config(cfg, m.url, url, new_state, api_base=discord.api, **sched)
        with open(cfg) as f:
            text = f.read()
        text = text.replace(OLD_CHANNEL, NEW_CHANNEL).replace(
            'region = "ap-northeast-2"', 'region = "us-east-1"')
        with open(cfg, "w") as f:
            f.write(text)
        bot.send_signal(signal.SIGHUP)
        c.ok(wait_log(logpath, 'msg="config reloaded"', 5, bot), "SIGHUP: config reloaded")
        c.ok(os.path.exists(new_state), "SIGHUP: the state is written to the new state_file")
        old_bytes = read(old_state)

        end = time.monotonic() + 60
        done_new = []
        while time.monotonic() < end and bot.poll() is None:
            done_new, _ = embeds_in(discord, NEW_CHANNEL)
            if done_new:
                break
            time.sleep(0.2)
        # The uptime lands with the save coalesced after the workflow's end.
        time.sleep(1.0)
        done_old, titles_old = embeds_in(discord, OLD_CHANNEL)
        c.ok(done_new == ["qa is up"], "09:00 start: its embed finished in the new channel",
             done_new)
        c.ok(not titles_old, "nothing posted in the old channel after the reload", titles_old)
        states = instance_states(m, plain)
        c.ok(all(states[i] == "running" for i in plain), "09:00: qa started in moto", states)

        try:
            saved = json.loads(read(new_state) or b"{}")
        except ValueError as e:
            saved = {"unreadable": str(e)}
        up = (((saved.get("environments") or {}).get("qa") or {}).get("uptime") or {})
        c.ok(up.get("up_since", 0) > 0,
             "the new state_file holds qa's uptime (saved after the reload)", saved)
        c.ok(read(old_state) == old_bytes, "the old state_file is not written after the reload")

        rc = stop_process(bot)
        log.close()
        with open(logpath, errors="replace") as f:
            text = f.read()
        restart = [ln for ln in text.splitlines() if "next restart" in ln]
        c.ok(any("setting=aws.region" in ln for ln in restart),
             "the log names aws.region as needing a restart", restart)
        c.ok(not any("setting=discord." in ln or "setting=health." in ln or
                     "setting=aws.endpoint_url" in ln or "setting=aws.profile" in ln
                     for ln in restart),
             "the log names no restart-only setting whose value did not change", restart)
        c.ok(read(old_state) == old_bytes, "the old state_file is not written at exit either")
        check_clean_exit(c, rc, [logpath], "envbot")
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
