#!/usr/bin/env python3
"""The weekly report, end to end (issue 18): `envbot run` with a state file
holding last week's recorded starts and stops (uptime intervals, one across
midnight, one still open from before the week), moto's Cost Explorer with
costs per cost-allocation tag, and the fake Discord.

  scheduled  report = { schedule } due this very minute: posted at start-up
             to the channel, once (a SIGHUP re-arm does not post it again)
  ondemand   /report (last week) and /report week:this from chat
  off        /report on a config without report = { }: refused, says why

For each post: the embed's numbers equal the ones computed here from the
recorded intervals (Asia/Seoul days), scheduled hours equal the schedules',
Cost Explorer's amounts sit next to the estimate; the PNG (decoded here
with zlib alone) has one bar per environment per day, each as high as its
hours; the CSV parses with Python's csv module and holds the same figures.

usage: test_report.py ENVBOT_BINARY
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import base64
import csv
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import report_png_csv as png  # noqa: E402
from wfcommon import (Checks, FakeDiscord, Moto, aws_test_env, start_daemon,  # noqa: E402
                      stop_daemon, tmpdir, write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
ZONE = ZoneInfo("Asia/Seoul")
ENVS = ["dev", "qa"]
HOURLY = {"dev": 0.241, "qa": 0.092}
COLOURS = [(0x4E, 0x79, 0xA7), (0xF2, 0x8E, 0x2B)]  # report_colour(0), (1)
SCHEDULED = {"dev": 45.0, "qa": 57.5}  # Mon-Fri 09-18 and 08:30-20:00
CE = {"dev": 12.34, "qa": 3.21}


def last_monday(now):
    today = now.astimezone(ZONE).date()
    return today - timedelta(days=today.weekday() + 7)


def at(day, hh, mm=0):
    return int(datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZONE).timestamp())


def intervals(monday):
    """Recorded up intervals of last week (and one before it, open into it)."""
    d = [monday + timedelta(days=k) for k in range(8)]
    return {
        "dev": [[at(d[0], 9), at(d[0], 18)], [at(d[1], 9), at(d[1], 20, 30)],
                [at(d[3], 8), at(d[3], 9, 15)], [at(d[4], 22), at(d[5], 2)]],
        # qa: up from Sunday before the week until Monday 10:00, then Wed
        "qa": [[at(monday - timedelta(days=1), 20), at(d[0], 10)],
               [at(d[2], 8, 30), at(d[2], 20)]],
    }


def hours_per_day(ivs, monday):
    out = []
    for k in range(7):
        d0, d1 = at(monday + timedelta(days=k), 0), at(monday + timedelta(days=k + 1), 0)
        secs = sum(max(0, min(t, d1) - max(f, d0)) for f, t in ivs)
        out.append(secs / 3600.0)
    return out


def write_state(path, monday):
    envs = {n: {"extends": [], "skips": [],
                "uptime": {"up_since": 0, "intervals": iv}}
            for n, iv in intervals(monday).items()}
    with open(path, "w") as f:
        json.dump({"version": 1, "environments": envs, "holidays": [], "workflows": [],
                   "audit": []}, f)


def set_ce(moto, monday):
    start, end = monday.isoformat(), (monday + timedelta(days=7)).isoformat()
    groups = [{"Keys": [f"envbot:env${n}"],
               "Metrics": {"UnblendedCost": {"Amount": f"{v}", "Unit": "USD"}}}
              for n, v in CE.items()]
    body = {"results": [{"ResultsByTime": [{"TimePeriod": {"Start": start, "End": end},
                                            "Total": {}, "Groups": groups,
                                            "Estimated": False}]}] * 8}
    req = urllib.request.Request(moto.url + "/moto-api/static/ce/cost-and-usage-results",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def reports(discord):
    """The channel messages carrying report.png, oldest first."""
    st = discord.call("/state")
    out = []
    for m in st["messages"]:
        names = [a.get("filename") for a in m.get("attachments") or []]
        if "report.png" in names:
            files = {}
            for a in m["attachments"]:
                up = st["uploads"].get(a["id"]) or {}
                files[a["filename"]] = base64.b64decode(up.get("data_b64", ""))
            out.append((m, files))
    return out


def wait_reports(discord, n, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = reports(discord)
        if len(r) >= n:
            return r
        time.sleep(0.3)
    return reports(discord)


def check_post(c, label, msg, files, monday, want_hours, with_ce):
    e = (msg.get("embeds") or [{}])[0]
    c.ok(e.get("title", "").endswith(f"week of {monday.isoformat()}"), f"{label}: title",
         e.get("title"))
    c.ok((e.get("image") or {}).get("url") == "attachment://report.png",
         f"{label}: the chart is the embed's image")
    fields = {f["name"]: f["value"] for f in e.get("fields") or []}
    for n in ENVS:
        actual = sum(want_hours[n])
        est = round(actual * HOURLY[n] + 1e-9, 2)
        v = fields.get(n, "")
        c.ok(f"up {actual:.2f} h" in v, f"{label}: {n} up {actual:.2f} h", v)
        c.ok(f"estimate ${est:.2f}" in v, f"{label}: {n} estimate ${est:.2f}", v)
        if SCHEDULED.get(n) is not None and label != "this week":
            c.ok(f"scheduled {SCHEDULED[n]:.2f} h" in v, f"{label}: {n} scheduled", v)
        always = round(168 * HOURLY[n] + 1e-9, 2)
        if label != "this week":
            c.ok(f"always-on ${always:.2f}" in v and
                 f"saved ${round(always - est + 1e-9, 2):.2f}" in v,
                 f"{label}: {n} always-on and saved", v)
        c.ok((f"Cost Explorer: ${CE[n]:.2f}" in v) == with_ce,
             f"{label}: {n} Cost Explorer {'shown' if with_ce else 'absent'}", v)
    # the CSV
    rows = list(csv.reader(io.StringIO(files["report.csv"].decode(), newline="")))
    c.ok(rows and rows[0][:4] == ["row_type", "date", "environment", "hours_up"],
         f"{label}: CSV header", rows[:1])
    days = {(r[2], r[1]): r[3] for r in rows[1:] if r and r[0] == "day"}
    ok = len(days) == 14
    for n in ENVS:
        for k in range(7):
            d = (monday + timedelta(days=k)).isoformat()
            ok = ok and days.get((n, d)) == f"{want_hours[n][k]:.2f}"
    c.ok(ok, f"{label}: CSV day rows equal the recorded hours", days)
    summ = {r[2]: r for r in rows[1:] if r and r[0] == "summary"}
    c.ok(all(summ.get(n) and summ[n][5] == f"{sum(want_hours[n]):.2f}" for n in ENVS),
         f"{label}: CSV summary actual hours", summ)
    if with_ce:
        c.ok(all(summ[n][9] == f"{CE[n]:.2f}" for n in ENVS), f"{label}: CSV actual cost",
             summ)
    # the PNG: one bar per environment per day, as high as its hours
    tmp = tempfile.NamedTemporaryFile(suffix=".png", delete=False)
    tmp.write(files["report.png"])
    tmp.close()
    w, h, px = png.decode(tmp.name)
    os.unlink(tmp.name)
    c.ok((w, h) == (png.W, png.H), f"{label}: PNG {w}x{h}")
    if (w, h) != (png.W, png.H):
        return
    axis = png.PLOT_Y + png.PLOT_H
    each = (png.DAY_W - 2 * png.PAD) / float(len(ENVS))
    bars = 0
    for ei, n in enumerate(ENVS):
        for k in range(7):
            hrs = want_hours[n][k]
            left = png.PLOT_X + k * png.DAY_W + png.PAD
            x0, x1 = png.cround(left + ei * each), png.cround(left + (ei + 1) * each)
            cx = (x0 + x1 - 2) // 2
            want = 0 if hrs == 0 else max(1, png.cround(min(hrs, 24) * png.PLOT_H / 24.0))
            got = 0
            while got < png.PLOT_H and px[axis - 1 - got][cx] == COLOURS[ei]:
                got += 1
            c.ok(got == want, f"{label}: {n} day {k}: bar {got} px, want {want} ({hrs:.2f} h)")
            bars += want > 0
    c.ok(bars == sum(1 for n in ENVS for x in want_hours[n] if x > 0),
         f"{label}: one bar per environment per day with hours up", bars)


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-report-")
    c = Checks()
    moto = Moto(d)
    discord = None
    proc = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        now = datetime.now(ZONE)
        monday = last_monday(now)
        set_ce(moto, monday)
        state = os.path.join(d, "state.json")
        write_state(state, monday)
        want = {n: hours_per_day(iv, monday) for n, iv in intervals(monday).items()}
        cfg = os.path.join(d, "envbot.cfg")
        minute = f"{now.minute} {now.hour} * * *"  # due this minute: posted at start
        write_config(cfg, moto.url, "https://envbot-templates.s3.amazonaws.com/m.yaml", state,
                     api_base=discord.api,
                     extra_top=f'report = {{ schedule = "{minute}"; cost_explorer = true; '
                               f'cost_tag = "envbot:env"; }};\n')
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        log = os.path.join(d, "envbot.log")
        ok, proc = start_daemon(binary, cfg, log, env)
        c.ok(ok, "daemon ready")

        # scheduled: at start-up, once
        posts = wait_reports(discord, 1)
        c.ok(len(posts) == 1, "the scheduled report is posted", len(posts))
        if posts:
            m, files = posts[0]
            c.ok(m.get("channel_id") == "300000000000000003", "to the configured channel",
                 m.get("channel_id"))
            check_post(c, "scheduled", m, files, monday, want, True)
        time.sleep(1)
        c.ok(json.load(open(state)).get("report_week") == monday.isoformat(),
             "the state records the week posted")
        proc.send_signal(signal.SIGHUP)
        time.sleep(2)
        c.ok(len(reports(discord)) == 1, "a SIGHUP re-arm does not post it twice")

        # on demand: last week, then this week so far
        iid = discord.call("/interaction", {"command": "report", "options": {},
                                            "roles": [], "user_name": "bob"})["id"]
        posts = wait_reports(discord, 2)
        c.ok(len(posts) == 2, "/report posts", len(posts))
        if len(posts) == 2:
            check_post(c, "/report", posts[1][0], posts[1][1], monday, want, True)
        end = time.monotonic() + 10
        rec = discord.reply(iid)
        while time.monotonic() < end and "posted" not in rec["msg"]["content"]:
            time.sleep(0.2)
            rec = discord.reply(iid)
        c.ok("posted" in rec["msg"]["content"], "/report answers that it posted",
             rec["msg"]["content"])
        iid = discord.call("/interaction", {"command": "report", "options": {"week": "this"},
                                            "roles": [], "user_name": "bob"})["id"]
        posts = wait_reports(discord, 3)
        if c.ok(len(posts) == 3, "/report week:this posts", len(posts)):
            this_monday = monday + timedelta(days=7)
            zero = {n: [0.0] * 7 for n in ENVS}
            check_post(c, "this week", posts[2][0], posts[2][1], this_monday, zero, True)
        iid = discord.call("/interaction", {"command": "report", "options": {"week": "lst"},
                                            "roles": [], "user_name": "bob"})["id"]
        time.sleep(1.5)
        text = discord.reply(iid)["msg"]["content"]
        c.ok("week must be" in text, "a bad week is refused, saying why", text)
        stop_daemon(c, proc, log)
        proc = None

        # off: no report = { }
        write_config(cfg, moto.url, "https://envbot-templates.s3.amazonaws.com/m.yaml", state,
                     api_base=discord.api)
        ok, proc = start_daemon(binary, cfg, log + ".2", env)
        c.ok(ok, "daemon ready without a report")
        iid = discord.call("/interaction", {"command": "report", "options": {},
                                            "roles": [], "user_name": "bob"})["id"]
        time.sleep(1.5)
        text = discord.reply(iid)["msg"]["content"]
        c.ok("report is off" in text, "/report without report = { } says it is off", text)
        stop_daemon(c, proc, log + ".2")
        proc = None
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
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
