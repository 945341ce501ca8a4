#!/usr/bin/env python3
"""`envbot run` says when it runs as root (it needs no privilege), and says
nothing of the kind as an unprivileged user; either way it keeps retrying a
Discord it cannot reach and stops cleanly on SIGTERM.

The daemon is pointed at a closed loopback port (nothing to talk to: the
warning comes before any network). As root, the same binary is also run as
`nobody`; as any other user, only that user's run is
checked (no root warning allowed).

usage: test_privileges.py ENVBOT"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfcommon as w  # noqa: E402

WARNING = "running as root: envbot needs no privileges"


def run_daemon(t, binary, cfg, name, as_user=None):
    """Starts the daemon, waits for it to log its start, stops it with
    SIGTERM; returns (exit status, log text)."""
    log = os.path.join(t, name + ".log")
    env = {"PATH": "/usr/bin:/bin", "DISCORD_TOKEN": "priv-test-token-0000",
           "HOME": t, "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fakesecret",
           "AWS_EC2_METADATA_DISABLED": "true"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    cmd = [binary, "-c", cfg, "--log-level", "debug", "run"]
    ids = {}
    if as_user:  # the daemon itself is the child: SIGTERM reaches it
        pw = pwd.getpwnam(as_user)
        ids = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    with open(log, "w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, **ids)
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline and p.poll() is None:
        with open(log) as f:
            text = f.read()
        if "network error" in text:  # past start-up, trying to reach Discord
            break
        time.sleep(0.1)
    alive = p.poll() is None
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    with open(log) as f:
        text = f.read()
    return (rc if alive else "exited early: %s" % rc), text


def main():
    c = w.Checks()
    t = w.tmpdir("envbot-priv-")
    os.chmod(t, 0o777)  # nobody writes its state and log here
    binary = os.path.join(t, "envbot")
    shutil.copy(os.path.abspath(sys.argv[1]), binary)
    os.chmod(binary, 0o755)
    dead = w.free_port()  # nothing listens there

    def config(name):  # one state file per user: each is created 0600
        cfg = os.path.join(t, name + ".cfg")
        w.write_config(cfg, "http://127.0.0.1:%d" % dead, "https://b.s3.amazonaws.com/t.yaml",
                       os.path.join(t, name + "-state.json"),
                       api_base="http://127.0.0.1:%d/api/v10" % dead)
        os.chmod(cfg, 0o644)
        return cfg

    if os.geteuid() == 0:
        rc, text = run_daemon(t, binary, config("root"), "root")
        c.ok(rc == 0, "as root: clean exit on SIGTERM", rc)
        c.ok(WARNING in text, "as root: the warning is logged", text[-2000:])
        user = "nobody"
        rc, text = run_daemon(t, binary, config(user), user, as_user=user)
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
        rc, text = run_daemon(t, binary, config("user"), "user")
    c.ok(rc == 0, "as %s: clean exit on SIGTERM" % user, rc)
    c.ok("network error" in text, "as %s: the daemon started" % user, text[-2000:])
    c.ok(WARNING not in text, "as %s: no root warning" % user, text[-2000:])
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
