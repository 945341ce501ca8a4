#!/usr/bin/env python3
"""`envbot init-state` and a missing state table, against moto's DynamoDB:
  - `envbot run` with state.backend = "dynamodb" and no table exits 2 at
    once, saying to run `envbot init-state`;
  - `envbot init-state` creates it (string hash key pk, on-demand, SSE,
    point-in-time recovery) and exits 0; run again it changes nothing;
  - a table of another shape under that name is reported, left alone, exit 1;
  - `envbot run` then takes the lease (active) and stops cleanly.

usage: test_init_state.py ENVBOT_BINARY"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (Checks, FakeDiscord, Moto, aws_test_env, run_envbot,  # noqa: E402
                      start_daemon, stop_daemon, tmpdir, write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")


def main():
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-init-state-")
    c = Checks()
    moto = Moto(d)
    discord = None
    try:
        have_aiohttp = subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                                      capture_output=True).returncode == 0
        discord = FakeDiscord(d, FAKE_DISCORD) if have_aiohttp else None
        cfg = os.path.join(d, "envbot.cfg")
        state = 'state = { backend = "dynamodb"; table = "%s"; lease_seconds = 3; };\n'
        write_config(cfg, moto.url, "https://envbot-templates.s3.amazonaws.com/m.yaml",
                     os.path.join(d, "state.json"),
                     api_base=discord.api if discord else None,
                     extra_top=state % "envbot-state")
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        t0 = time.monotonic()
        p = subprocess.run([binary, "-c", cfg, "run"], capture_output=True, text=True, env=env,
                           timeout=30)
        c.ok(p.returncode == 2, f"run with no table exits 2 (got {p.returncode})", p.stderr[-800:])
        c.ok("envbot init-state" in p.stderr + p.stdout and "envbot-state" in p.stderr + p.stdout,
             "and says to run envbot init-state", p.stderr[-800:])
        c.ok(time.monotonic() - t0 < 15, "at once, not after waiting")

        r = run_envbot(binary, cfg, "init-state", env=env)
        c.ok(r.rc == 0 and "created" in r.out and "ACTIVE" in r.out, "init-state creates it", r)
        ddb = moto.client("dynamodb")
        t = ddb.describe_table(TableName="envbot-state")["Table"]
        c.ok(t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}] and
             t["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}],
             "key: string hash key pk", t["KeySchema"])
        c.ok(t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST",
             "on-demand billing", t.get("BillingModeSummary"))
        c.ok((t.get("SSEDescription") or {}).get("Status") in ("ENABLED", "ENABLING"),
             "encrypted", t.get("SSEDescription"))
        pitr = ddb.describe_continuous_backups(TableName="envbot-state")
        c.ok(pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
             ["PointInTimeRecoveryStatus"] == "ENABLED", "point-in-time recovery on", pitr)
        r = run_envbot(binary, cfg, "init-state", env=env)
        c.ok(r.rc == 0 and "nothing to do" in r.out, "again: nothing to do", r)

        ddb.create_table(TableName="other", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        write_config(cfg + ".other", moto.url, "https://x.s3.amazonaws.com/m.yaml",
                     os.path.join(d, "state.json"), extra_top=state % "other")
        r = run_envbot(binary, cfg + ".other", "init-state", env=env)
        c.ok(r.rc == 1 and "not envbot's" in r.err, "a table of another shape: refused", r)

        if discord:
            log = os.path.join(d, "run.log")
            ok, proc = start_daemon(binary, cfg, log, env)
            c.ok(ok, "run with the table: ready")
            text = open(log, errors="replace").read()
            c.ok("active: the lease is ours" in text, "and active", text[-1500:])
            stop_daemon(c, proc, log)
        else:
            print("note: /usr/bin/python3 has no aiohttp: the run with the table is skipped")
    finally:
        moto.stop()
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
