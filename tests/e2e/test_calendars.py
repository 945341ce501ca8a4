#!/usr/bin/env python3
"""Holiday calendars, end to end: the real binary, a calendar file, a
calendar URL served on 127.0.0.1 by a thread of this test, the fake Discord.

  plan     `envbot plan` on an ICS file with a Seollal range (DTSTART
           2027-02-06, DTEND 2027-02-10), a weekly rule (Thursdays, COUNT=4)
           and a yearly one: exactly those starts are skipped, with the
           calendar and the SUMMARY in the reason; the days around them run;
           an environment with `holidays_from = [ ]` runs every day; a
           broken file is said so and its days do not apply.
  daemon   `envbot run` with the URL calendar (ko: dev only) and a file
           (company: dev and qa): both cached in the state; plan, /schedule
           show and /holiday list see their days with their sources; qa
           (holidays_from = [ "company" ]) runs on ko's days. Then the URL
           serves a broken calendar, later a 404: the last good copy stays in
           the state and still applies, the failure is recorded, the log
           warns, the channel gets exactly one message; /holiday list and
           plan say so; doctor names the failure. A broken file likewise. A
           mended URL clears the failure; SIGHUP without a calendar drops its
           copy.

usage: test_calendars.py ENVBOT_BINARY
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (Checks, FakeDiscord, Result, aws_test_env, free_port,  # noqa: E402
                      run_envbot, start_daemon, stop_daemon, tmpdir)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
BROKEN_ICS = os.path.join(HERE, "..", "data", "ical", "broken.ics")
ZONE = ZoneInfo("Asia/Seoul")
ADMIN = "500000000000000005"
REFRESH_S = 2


def ics(events):
    """A VCALENDAR of (start, end exclusive or None, summary, extra lines)."""
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//envbot e2e//calendars//EN"]
    for i, (start, end, summary, extra) in enumerate(events):
        out += ["BEGIN:VEVENT", f"UID:e{i}@envbot.test", "DTSTAMP:20260101T000000Z",
                f"DTSTART;VALUE=DATE:{start:%Y%m%d}"]
        if end:
            out.append(f"DTEND;VALUE=DATE:{end:%Y%m%d}")
        out += list(extra) + [f"SUMMARY:{summary}", "END:VEVENT"]
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


# The file of the plan part: Seollal 2027 (Sat 6 - Tue 9 February), four
# Thursdays from 21 January, and a yearly day since 2020 (15 February).
PLAN_ICS = ics([
    (date(2027, 2, 6), date(2027, 2, 10), "\uc124\ub0a0 Seollal", []),
    (date(2027, 1, 21), date(2027, 1, 22), "Focus Thursday", ["RRULE:FREQ=WEEKLY;COUNT=4"]),
    (date(2020, 2, 15), date(2020, 2, 16), "Founding Day", ["RRULE:FREQ=YEARLY"]),
])
PLAN_SKIPPED = {date(2027, 1, 21): "Focus Thursday", date(2027, 1, 28): "Focus Thursday",
                date(2027, 2, 4): "Focus Thursday", date(2027, 2, 6): "\uc124\ub0a0 Seollal",
                date(2027, 2, 7): "\uc124\ub0a0 Seollal", date(2027, 2, 8): "\uc124\ub0a0 Seollal",
                date(2027, 2, 9): "\uc124\ub0a0 Seollal", date(2027, 2, 11): "Focus Thursday",
                date(2027, 2, 15): "Founding Day"}
PLAN_FROM, PLAN_DAYS = date(2027, 1, 18), 35


class CalendarServer:
    """/ko.ics on 127.0.0.1: serves `body` with `status`; counts requests."""

    def __init__(self, body):
        self.lock = threading.Lock()
        self.body, self.status, self.hits = body, 200, 0
        srv = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                with srv.lock:
                    srv.hits += 1
                    body, status = srv.body, srv.status
                if self.path != "/ko.ics":
                    body, status = b"no such calendar", 404
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ko.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, body=None, status=200):
        with self.lock:
            if body is not None:
                self.body = body
            self.status = status
            return self.hits

    def count(self):
        with self.lock:
            return self.hits

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def config(path, state, calendars, api_base, qa_from):
    cal = ", ".join(f'"{c}"' for c in calendars)
    qa = f"holidays_from = [ {', '.join(repr(x).replace(chr(39), chr(34)) for x in qa_from)} ];"
    text = f"""
discord: {{
  application_id = "100000000000000001";
  guild_id = "200000000000000002";
  channel_id = "300000000000000003";
  api_base = "{api_base}";
  roles: {{ operator = [ "400000000000000004" ]; admin = [ "{ADMIN}" ]; }};
}};
aws: {{ region = "ap-northeast-2"; endpoint_url = "http://127.0.0.1:{free_port()}"; }};
state_file = "{state}";
catch_up = "0";
timezone = "Asia/Seoul";
holiday_calendars = [ {cal} ];
environments = (
  {{ name = "dev"; kind = "ec2"; tag = {{ key = "AutoStopStart"; value = "dev"; }};
     schedule: {{ start = "0 9 * * *"; stop = "0 18 * * *"; }}; hourly_cost = 0.1; }},
  {{ name = "qa"; kind = "ec2"; tag = {{ key = "AutoStopStart"; value = "qa"; }};
     {qa}
     schedule: {{ start = "0 9 * * *"; stop = "0 18 * * *"; }}; hourly_cost = 0.1; }}
);
"""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def plan_json(c, binary, cfg, *args):
    r = run_envbot(binary, cfg, "plan", "--json", *args)
    c.ok(r.rc == 0, f"plan {' '.join(args)} exits 0", r)
    try:
        return json.loads(r.out), r
    except ValueError:
        c.ok(False, "plan --json parses", r)
        return {"environments": [], "calendars": []}, r


def starts(doc, env):
    """{local date: skipped reason or None} of env's starts."""
    for e in doc["environments"]:
        if e["name"] == env:
            return {date.fromisoformat(a["local"][:10]): a.get("skipped")
                    for a in e["actions"] if a["action"] == "start"}
    return {}


def part_plan(c, binary, d):
    """Offline: one ICS file, exactly its days skipped."""
    pdir = os.path.join(d, "plan")
    os.makedirs(pdir)
    ko = os.path.join(pdir, "ko.ics")
    with open(ko, "wb") as f:
        f.write(PLAN_ICS)
    cfg = os.path.join(pdir, "envbot.cfg")
    config(cfg, os.path.join(pdir, "state.json"), [ko], "https://discord.com/api/v10", [])
    doc, _ = plan_json(c, binary, cfg, "--from", PLAN_FROM.isoformat(), "--days", str(PLAN_DAYS))
    dev, qa = starts(doc, "dev"), starts(doc, "qa")
    c.ok(len(dev) == PLAN_DAYS and len(qa) == PLAN_DAYS, "plan: one start a day for each",
         (len(dev), len(qa)))
    skipped = {k for k, v in dev.items() if v}
    c.ok(skipped == set(PLAN_SKIPPED), "plan: dev skips exactly the calendar's days",
         sorted(skipped ^ set(PLAN_SKIPPED)))
    for day, summary in PLAN_SKIPPED.items():
        want = f"holiday {day.isoformat()} ({summary}, calendar ko)"
        c.ok(dev.get(day) == want, f"plan: {day} names the calendar and its SUMMARY",
             dev.get(day))
    for day in (date(2027, 1, 20), date(2027, 1, 22), date(2027, 2, 5), date(2027, 2, 10),
                date(2027, 2, 12), date(2027, 2, 14), date(2027, 2, 16), date(2027, 2, 18)):
        c.ok(day in dev and dev[day] is None, f"plan: the neighbouring day {day} runs",
             dev.get(day, "absent"))
    c.ok(all(v is None for v in qa.values()), "plan: qa (holidays_from = [ ]) runs every day",
         {k: v for k, v in qa.items() if v})
    cals = doc.get("calendars") or []
    c.ok(len(cals) == 1 and cals[0]["name"] == "ko" and cals[0]["copy"] == "file" and
         cals[0]["error"] is None, "plan --json: the calendar read from its file", cals)
    je = {e["name"]: e for e in doc["environments"]}
    c.ok(je.get("dev", {}).get("holiday_calendars") == ["ko"] and
         je.get("qa", {}).get("holiday_calendars") == [],
         "plan --json: which calendars each environment takes")
    # the text listing
    r = run_envbot(binary, cfg, "plan", "--from", "2027-02-05", "--days", "6", "--env", "dev")
    c.ok(r.rc == 0 and f"Holiday calendars: ko (file {ko})" in r.out,
         "plan: says where the calendar comes from", r)
    c.ok(re.search(r"Sun 2027-02-07 09:00 KST +start .*skipped \(holiday 2027-02-07 "
                   r"\(\S+ Seollal, calendar ko\)\)", r.out), "plan: the skip in the listing", r)
    c.ok(re.search(r"Wed 2027-02-10 09:00 KST +start +2027-02-10 00:00 UTC$", r.out, re.M),
         "plan: DTEND's day runs", r)
    # broken: said so, nothing skipped
    shutil.copy(BROKEN_ICS, ko)
    doc, r = plan_json(c, binary, cfg, "--from", PLAN_FROM.isoformat(), "--days", str(PLAN_DAYS))
    c.ok("holiday calendar ko not read" in r.err and "its days are not applied" in r.err,
         "plan: a broken calendar file is said so", r.err)
    c.ok(not any(starts(doc, "dev").values()), "plan: a broken file's days do not apply")
    cals = doc.get("calendars") or [{}]
    c.ok(cals[0].get("copy") == "none" and cals[0].get("error"),
         "plan --json: no copy, with the error", cals)


def wait_for(what, fn, timeout=15.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def read_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def cal_state(path, name):
    return (read_state(path).get("calendars") or {}).get(name)


def channel_warnings(discord, name):
    msgs = discord.call("/state")["messages"]
    return [m for m in msgs
            if f"Holiday calendar **{name}** could not be refreshed" in (m.get("content") or "")]


def ask(discord, command, sub, options=None, roles=(), timeout=8.0):
    iid = discord.call("/interaction", {"command": command, "subcommand": sub,
                                        "options": options or {}, "roles": list(roles),
                                        "user_name": "bob"})["id"]
    rec = wait_for("answer", lambda: (discord.reply(iid)["msg"]["content"] or None),
                   timeout=timeout)
    return rec or ""


def md(text):
    """text as cmd_escape shows it in chat."""
    return re.sub(r"([\\`*_~|><#\[\]()])", r"\\\1", text)


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def part_daemon(c, binary, d):
    today = datetime.now(ZONE).date()
    brk = [today + timedelta(days=k) for k in (1, 2, 3)]
    founders = today + timedelta(days=5)
    ko_good = ics([(brk[0], brk[-1] + timedelta(days=1), "Test break", []),
                   (date(2027, 2, 6), date(2027, 2, 10), "Seollal", [])])
    server = CalendarServer(ko_good)
    ddir = os.path.join(d, "daemon")
    os.makedirs(ddir)
    company = os.path.join(ddir, "company.ics")
    with open(company, "wb") as f:
        f.write(ics([(founders, None, "Founders' Day", [])]))
    state = os.path.join(ddir, "state.json")
    cfg = os.path.join(ddir, "envbot.cfg")
    discord = FakeDiscord(ddir, FAKE_DISCORD)
    proc = None
    log = os.path.join(ddir, "envbot.log")
    try:
        config(cfg, state, [server.url, company], discord.api, ["company"])
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_CALENDAR_REFRESH_S"] = str(REFRESH_S)
        ok, proc = start_daemon(binary, cfg, log, env)
        c.ok(ok, "daemon ready")

        # ---- first fetch: both cached in the state
        ko = wait_for("ko cached", lambda: (cal_state(state, "ko") or {}).get("fetched") and
                      cal_state(state, "ko"))
        co = wait_for("company cached", lambda: (cal_state(state, "company") or {}).get("fetched")
                      and cal_state(state, "company"))
        c.ok(bool(ko) and bool(co), "both calendars cached in the state", read_state(state))
        ko = ko or {}
        days = {dd[0]: dd[1] for dd in ko.get("days") or []}
        c.ok(all(days.get(x.isoformat()) == "Test break" for x in brk),
             "the state holds the URL calendar's days with their SUMMARY", days)
        c.ok(not ko.get("failed_at") and not ko.get("error"), "no failure recorded", ko)
        fetched_first = ko.get("fetched")
        c.ok([dd[0] for dd in (co or {}).get("days") or []] == [founders.isoformat()],
             "the file calendar's one day cached", co)
        c.ok(re.search(r'msg="holiday calendar refreshed" calendar=ko days=\d+', log_text(log)),
             "the log says the calendar was refreshed")

        # ---- plan reads the daemon's copy; qa does not take ko
        doc, r = plan_json(c, binary, cfg, "--days", "7")
        dev, qa = starts(doc, "dev"), starts(doc, "qa")
        ko_days = set(brk) | {date(2027, 2, 6) + timedelta(days=k) for k in range(4)}
        window = {today + timedelta(days=k) for k in range(7)}
        c.ok({k for k, v in dev.items() if v} == (ko_days | {founders}) & window,
             "plan: dev skips the days of both calendars", dev)
        c.ok({k for k, v in qa.items() if v} == {founders} & window,
             "plan: qa (holidays_from = [ \"company\" ]) runs on ko's days", qa)
        c.ok(all("calendar ko" in (dev.get(x) or "") and "Test break" in (dev.get(x) or "")
                 for x in brk), "plan: dev's skips name calendar ko", dev)
        cals = {x["name"]: x for x in doc.get("calendars") or []}
        c.ok(cals.get("ko", {}).get("copy") == "cached" and cals.get("ko", {}).get("days", 0) >= 3,
             "plan --json: ko from the daemon's cache", cals)

        # ---- /schedule show and /holiday list in chat
        text = ask(discord, "schedule", "show", {"name": "dev"})
        for x in brk:
            c.ok(re.search(rf"~~[^~]*{x.isoformat()}[^~]* start~~: skipped: holiday "
                           rf"{x.isoformat()} \(Test break, calendar ko\)", text),
                 f"/schedule show dev: {x} skipped by calendar ko", text)
            c.ok(f"Holiday {x.isoformat()} (Test break, calendar ko)" in text,
                 f"/schedule show dev: {x} listed as a holiday", text)
        text = ask(discord, "schedule", "show", {"name": "qa"})
        c.ok("calendar ko" not in text and not re.search(rf"~~[^~]*{brk[0].isoformat()}", text),
             "/schedule show qa: ko's days run", text)
        c.ok(f"Holiday {founders.isoformat()}" in text or founders not in window,
             "/schedule show qa: the company day is a holiday", text)
        text = ask(discord, "holiday", "list")
        for x in brk:
            c.ok(f"- {x.isoformat()} Test break (calendar ko)" in text,
                 f"/holiday list: {x} from calendar ko", text)
        c.ok(f"- {founders.isoformat()} Founders' Day (calendar company)" in text,
             "/holiday list: the company day from calendar company", text)
        c.ok(re.search(r"- \*\*ko\*\*: http://127\.0\.0\.1/\u2026 \u00b7 dev \u00b7 fetched "
                       r"\w+ \S+ \S+ KST, \d+ days\n", text),
             "/holiday list: ko's source, who takes it, when it was cached", text)
        c.ok(re.search(r"- \*\*company\*\*: file " + re.escape(md(company)) +
                       r" \u00b7 every environment \u00b7 fetched \w+ \S+ \S+ KST, 1 day$", text,
                       re.M),
             "/holiday list: company's source and who takes it", text)
        c.ok("\u26a0" not in text, "/holiday list: no failure yet", text)
        # /holiday add on a calendar's day: noted, not refused
        text = ask(discord, "holiday", "add", {"date": brk[1].isoformat(), "label": "team day"},
                   roles=[ADMIN])
        c.ok(f"Holiday {brk[1].isoformat()} (team day) added" in text and
             f"Note: {brk[1].isoformat()} is already a day of calendar ko (Test break), "
             "which keeps dev down" in text, "/holiday add notes the calendar's day", text)
        text = ask(discord, "holiday", "list")
        c.ok(f"- {brk[1].isoformat()} Test break (calendar ko; chat, added by bob: team day)"
             in text, "/holiday list: one line, both sources", text)
        text = ask(discord, "holiday", "remove", {"date": brk[0].isoformat()}, roles=[ADMIN])
        c.ok(text.startswith("\u2718") and f"{brk[0].isoformat()} is a day of holiday calendar ko"
             in text, "/holiday remove of a calendar's day is refused, saying why", text)

        # ---- the URL breaks: the copy stays and still applies; one message
        hits = server.serve(open(BROKEN_ICS, "rb").read())
        ko = wait_for("failure recorded", lambda: (cal_state(state, "ko") or {}).get("failed_at")
                      and cal_state(state, "ko"), timeout=4 * REFRESH_S + 5) or {}
        c.ok(ko.get("failed_at") and ko.get("error"), "the failure is recorded in the state", ko)
        c.ok(ko.get("fetched") == fetched_first, "the copy's time is kept", ko)
        c.ok({dd[0] for dd in ko.get("days") or []} >= {x.isoformat() for x in brk},
             "the copy's days are kept", ko)
        c.ok(re.search(r'msg="holiday calendar not refreshed; the last good copy is kept" '
                       r'calendar=ko reason="line \d+', log_text(log)),
             "the log warns, with the parser's reason")
        wait_for("two more rounds", lambda: server.count() >= hits + 3, timeout=4 * REFRESH_S + 5)
        time.sleep(0.5)
        warns = channel_warnings(discord, "ko")
        c.ok(len(warns) == 1, "the channel gets exactly one message for the failure streak",
             [m.get("content") for m in warns])
        if warns:
            c.ok("is still used" in warns[0]["content"] and "line " in warns[0]["content"],
                 "the message says why and that the last copy is still used", warns[0])
        text = ask(discord, "schedule", "show", {"name": "dev"})
        c.ok(f"holiday {brk[0].isoformat()} (Test break, calendar ko)" in text,
             "/schedule show dev: the last good copy still applies", text)
        text = ask(discord, "holiday", "list")
        c.ok(f"- {brk[0].isoformat()} Test break (calendar ko)" in text,
             "/holiday list: the days of the last good copy", text)
        c.ok(re.search(r"\u26a0 the refresh of \w+ \S+ \S+ KST failed: line \d+.*; the copy "
                       r"fetched \w+ \S+ \S+ KST is still used", text),
             "/holiday list: the failure and the copy in use", text)
        doc, r = plan_json(c, binary, cfg, "--days", "7")
        c.ok({k for k, v in starts(doc, "dev").items() if v} == (ko_days | {founders}) & window,
             "plan: the last good copy still applies", starts(doc, "dev"))
        cals = {x["name"]: x for x in doc.get("calendars") or []}
        c.ok(cals.get("ko", {}).get("error", "") and cals["ko"]["copy"] == "cached",
             "plan --json: the copy and the failure", cals)

        # ---- a 404 now: same streak, still one message; doctor says so
        hits = server.serve(status=404)
        ko = wait_for("404 recorded", lambda: (cal_state(state, "ko") or {}).get("error") ==
                      "HTTP 404" and cal_state(state, "ko"), timeout=4 * REFRESH_S + 5) or {}
        c.ok(ko.get("error") == "HTTP 404" and ko.get("fetched") == fetched_first,
             "a 404 is recorded; the copy stays", ko)
        wait_for("another round", lambda: server.count() >= hits + 2, timeout=4 * REFRESH_S + 5)
        time.sleep(0.3)
        c.ok(len(channel_warnings(discord, "ko")) == 1, "still one message in the same streak")
        p = subprocess.run([binary, "-c", cfg, "doctor"], capture_output=True, text=True,
                           env=dict(aws_test_env(), DISCORD_TOKEN=FakeDiscord.TOKEN), timeout=60)
        r = Result(p.returncode, p.stdout, p.stderr, 0)
        c.ok("Holiday calendars\n" in r.out, "doctor: a section for the calendars", r)
        c.ok(re.search(r"^\u2718 holiday calendar ko \(http://127\.0\.0\.1/\u2026\): HTTP 404$",
                       r.out, re.M), "doctor: the URL's failure", r.out)
        c.ok(re.search(r"^    fix: check the URL in holiday_calendars", r.out, re.M),
             "doctor: a fix for it", r.out)
        c.ok(re.search(r"^\u2714 holiday calendar company \(file " + re.escape(company) +
                       r"\): 1 day from \S+ to \S+, the next " + founders.isoformat() +
                       r" Founders' Day; for dev, qa$", r.out, re.M),
             "doctor: the file's days and who takes it", r.out)
        c.ok(re.search(r"^\u2714 channel 300000000000000003", r.out, re.M),
             "doctor: the rest of its checks ran (the fake Discord)", r.out)
        c.ok(r.rc == 1, "doctor exits 1 with a check failed", r)

        # ---- a broken file: plan uses the daemon's copy and says so
        with open(company, "w") as f:
            f.write("BEGIN:VCALENDAR\nthis is not\n")
        doc, r = plan_json(c, binary, cfg, "--days", "7")
        c.ok("holiday calendar company not read" in r.err and
             "the daemon's cached copy is used" in r.err, "plan: the broken file is said so",
             r.err)
        c.ok({k for k, v in starts(doc, "qa").items() if v} == {founders, brk[1]} & window,
             "plan: the company day still applies from the copy (and the chat's day)",
             starts(doc, "qa"))
        co = wait_for("company failure", lambda: (cal_state(state, "company") or {}).get(
            "failed_at") and cal_state(state, "company"), timeout=4 * REFRESH_S + 5) or {}
        c.ok(co.get("error") and [dd[0] for dd in co.get("days") or []] == [founders.isoformat()],
             "the daemon keeps the file's last good copy", co)
        c.ok(wait_for("company message", lambda: len(channel_warnings(discord, "company")) == 1),
             "one message for the file's failure")

        # ---- mended: the failure is cleared; SIGHUP without company drops it
        server.serve(ko_good, 200)
        ko = wait_for("mended", lambda: (lambda s: s and not s.get("failed_at") and
                                         s.get("fetched", 0) > fetched_first and s)(
            cal_state(state, "ko")), timeout=4 * REFRESH_S + 5) or {}
        c.ok(ko and not ko.get("error"), "a good refresh clears the failure", ko)
        config(cfg, state, [server.url], discord.api, [])
        proc.send_signal(signal.SIGHUP)
        c.ok(wait_for("dropped", lambda: cal_state(state, "company") is None and
                      cal_state(state, "ko") is not None),
             "SIGHUP without a calendar drops its copy", read_state(state).get("calendars"))
        c.ok(len(channel_warnings(discord, "ko")) == 1, "still one message for ko at the end")
        stop_daemon(c, proc, log)
        proc = None
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
        discord.stop()


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-calendars-")
    c = Checks()
    t0 = time.monotonic()
    part_plan(c, binary, d)
    part_daemon(c, binary, d)
    print(f"({time.monotonic() - t0:.1f} s)")
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
