#!/usr/bin/env python3
"""End to end: one writer per state file (<state_file>.lock, flock).

  second    a second `envbot run` on the same state file refuses to start
            (exit 2, the holder's pid named); the first keeps serving
  shell     `envbot stop qa` from the shell while the daemon runs: the
            workflow runs, says it keeps no state, and the state file is
            byte for byte what the daemon wrote (nothing overwritten)
  lease     `envbot start dev --for 2h` while the daemon runs: exit 2 before
            anything runs (no AWS call), pointing to /env start … for
  after     kill -9 of the daemon: the kernel drops the lock; the shell's
            next run keeps its state again (`--for 2h` recorded in the file)

usage: test_state_lock.py ENVBOT_BINARY. Exit 77 without aiohttp in Debian's
python3 (the fake Discord)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (Checks, FakeAws, FakeDiscord, run_envbot, sanitizer_env,  # noqa: E402
                      tmpdir, write_config)

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")


def wait_log(path, needle, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, errors="replace") as f:
            if needle in f.read():
                return True
        time.sleep(0.1)
    return False


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-state-lock-")
    c = Checks()
    fake = FakeAws(d, FAKE_AWS)
    dc = FakeDiscord(d, FAKE_DISCORD)
    procs = []
    try:
        cfg = os.path.join(d, "envbot.cfg")
        state = os.path.join(d, "state.json")
        write_config(cfg, fake.url, "https://b.s3.amazonaws.com/t.yaml", state, api_base=dc.api)
        fake.ctl("instances", {"instances": [
            {"id": "i-0000000000000000a", "state": "running",
             "tags": {"AutoStopStart": "Yes"}, "delay": 0.3}]})
        env = sanitizer_env(fake.env())
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        log1 = os.path.join(d, "daemon1.log")
        p1 = subprocess.Popen([binary, "-c", cfg, "run"], stdout=open(log1, "wb"),
                              stderr=subprocess.STDOUT, env=env)
        procs.append(p1)
        c.ok(wait_log(log1, 'msg="ready"'), "the first daemon is ready")

        # second
        log2 = os.path.join(d, "daemon2.log")
        p2 = subprocess.run([binary, "-c", cfg, "run"], stdout=open(log2, "wb"),
                            stderr=subprocess.STDOUT, env=env, timeout=30)
        text2 = open(log2, errors="replace").read()
        c.ok(p2.returncode == 2, f"second: a second daemon exits 2 (got {p2.returncode})", text2)
        c.ok("state file in use" in text2 and f"pid {p1.pid}" in text2,
             "second: it says the state file is in use and by which pid", text2[-800:])
        c.ok(p1.poll() is None, "second: the first daemon keeps running")

        # shell
        before = open(state, "rb").read()
        r = run_envbot(binary, cfg, "stop", "qa", env=fake.env())
        c.ok(r.rc == 0, "shell: the stop from the shell runs", r)
        c.ok("this run keeps no state" in r.err and f"pid {p1.pid}" in r.err,
             "shell: it says it keeps no state, naming the daemon's pid", r.err[-600:])
        c.ok(open(state, "rb").read() == before,
             "shell: the state file is exactly what the daemon wrote")

        # lease
        n0 = len(fake.requests())
        r = run_envbot(binary, cfg, "start", "dev", "--for", "2h", env=fake.env())
        c.ok(r.rc == 2, f"lease: exit 2 (got {r.rc})", r)
        c.ok("/env start dev for 2h" in r.err, "lease: points to /env start … for", r.err)
        c.ok(len(fake.requests()) == n0, "lease: no AWS call was made")

        # after
        p1.send_signal(signal.SIGKILL)
        p1.wait(10)
        r = run_envbot(binary, cfg, "start", "qa", "--for", "2h", env=fake.env())
        c.ok(r.rc == 0 and "keeps no state" not in r.err,
             "after: with the daemon gone the shell takes the lock", r)
        audit = json.load(open(state)).get("audit", [])
        c.ok(any(a.get("env") == "qa" and "--for 2h" in a.get("action", "") for a in audit),
             "after: the shell's lease is in the state file", audit[-3:])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        dc.stop()
        fake.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
