#!/usr/bin/python3
"""End-to-end tests of envbot's slash commands: the real `envbot run` against
the fake Discord (tests/fakes/fake_discord.py) and the fake AWS
(tests/fakes/fake_aws.py), both on loopback with free ports.

usage: test_commands.py ENVBOT_BINARY [SCENARIO ...]
Covers every command, every refusal path (DM, other guild, unknown command,
unknown environment, missing role, protected environment), the confirm flow
(same user within 60 s; foreign and stale clicks refused; cancel), each
duration/date form and its bad forms, the stop-warning snooze buttons, and
restart survival of overrides (kill -9, restart, still there).

The schedules are written in an Etc/GMT zone chosen at run time so that the
local time is 10:xx: today's start (03:00) has passed beyond catch_up, today's
stop (18:00) is 7-8 h away, whatever the hour the test runs at."""

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from discord_harness import APP_ID, Failure, Harness, check  # noqa: E402

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
GUILD = "200000000000000002"
CHANNEL = "300000000000000003"
OPERATOR = "400000000000000004"
ADMIN = "500000000000000005"
ALICE = "600000000000000006"  # the fake's default user
BOB = "600000000000000007"
EPHEMERAL = 64


def pick_zone():
    """An Etc/GMT zone where the local hour is 10 now, and its offset."""
    utc = datetime.datetime.now(datetime.timezone.utc)
    for off in range(-12, 15):
        if (utc.hour + off) % 24 == 10:
            # Etc/GMT-N is UTC+N (POSIX sign convention).
            name = "Etc/GMT%+d" % (-off) if off else "Etc/UTC"
            return name, off
    raise Failure("no zone")


class CommandsHarness(Harness):
    def __init__(self, binary):
        super().__init__(binary, env={})
        self.zone, self.offset = pick_zone()
        self.aws = None
        self.aws_port = None
        self.tz = datetime.timezone(datetime.timedelta(hours=self.offset))
        today = self.local_now().date()
        self.cfg_holiday = today + datetime.timedelta(days=30)
        self.extra = ""  # more top-level settings for one scenario

    def local_now(self):
        return datetime.datetime.now(self.tz)

    def start_aws(self):
        self.aws_log = open(os.path.join(self.tmp, "aws.log"), "w")
        self.aws = subprocess.Popen(["/usr/bin/python3", FAKE_AWS, "0"], stdout=subprocess.PIPE,
                                    stderr=self.aws_log, text=True)
        self.aws_port = int(self.aws.stdout.readline())
        self.aws_ctl("instances", {"instances": [
            {"id": "i-0dev000000000001", "state": "stopped", "tags": {"Env": "dev"},
             "delay": 4},
            {"id": "i-0prod00000000001", "state": "running", "tags": {"Env": "prod"},
             "delay": 1},
        ]})
        self.aws_ctl("images", {"repository": "app-repo", "images": [
            {"tags": ["v1.2.0"], "pushed_at": 1790000000},
            {"tags": ["latest", "abc1234"], "pushed_at": 1790000500},
        ]})

    def aws_ctl(self, what, body):
        req = urllib.request.Request("http://127.0.0.1:%d/_fake/%s" % (self.aws_port, what),
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def write_config(self):
        path = os.path.join(self.tmp, "envbot.cfg")
        sched = 'schedule: { start = "0 3 * * *"; stop = "0 18 * * *"; };'
        with open(path, "w") as f:
            f.write("""discord: {
  application_id = "%(app)s";
  guild_id = "%(guild)s";
  channel_id = "%(channel)s";
  api_base = "http://127.0.0.1:%(port)d/api/v10";
  roles: { operator = [ "%(op)s" ]; admin = [ "%(admin)s" ]; };
};
aws: { region = "us-east-1"; endpoint_url = "http://127.0.0.1:%(aws)d"; };
state_file = "%(tmp)s/state.json";
timezone = "%(zone)s";
max_extend = "4h";
%(extra)s
holidays = [ "%(hol)s" ];
environments = (
  { name = "dev"; kind = "ec2"; tag = { key = "Env"; value = "dev"; }; %(sched)s
    hourly_cost = 0.5; },
  { name = "prod"; kind = "ec2"; tag = { key = "Env"; value = "prod"; }; %(sched)s
    protected = true; hourly_cost = 1.0; },
  { name = "wk"; kind = "ec2"; tag = { key = "Env"; value = "wk"; };
    schedule: { start = "0 3 * * MON"; stop = "0 18 * * MON"; }; },
  { name = "app"; kind = "stack"; stack_name = "AppStack";
    template_url = "https://example-bucket.s3.amazonaws.com/app.yaml";
    image: { repository = "app-repo"; parameters = [ "ImageTag" ]; };
    %(sched)s hourly_cost = 0.25; }
);
""" % {"app": APP_ID, "guild": GUILD, "channel": CHANNEL, "port": self.port,
                "op": OPERATOR, "admin": ADMIN, "aws": self.aws_port, "tmp": self.tmp,
                "zone": self.zone, "hol": self.cfg_holiday.isoformat(), "sched": sched,
                "extra": self.extra})
        return path

    def start_bot(self, faketime=None, **kw):
        """faketime: "YYYY-MM-DD HH:MM:SS" (UTC) for the daemon's wall clock
        (libfaketime; the monotonic clock stays real)."""
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(AWS_ACCESS_KEY_ID="AKIDFAKE", AWS_SECRET_ACCESS_KEY="fakesecret",
                        AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                        AWS_EC2_METADATA_DISABLED="true", ENVBOT_TEST_POLL_MS="200")
        for k in ("LD_PRELOAD", "FAKETIME"):
            self.env.pop(k, None)
        if faketime:
            self.env.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME="@" + faketime, TZ="UTC",
                            FAKETIME_DONT_FAKE_MONOTONIC="1", FAKETIME_NO_CACHE="1",
                            ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                          ":verify_asan_link_order=0").lstrip(":"))
        env_backup = os.environ.copy()
        # Harness.start_bot merges os.environ with self.env: drop AWS_* first.
        for k in list(os.environ):
            if k.startswith("AWS_"):
                del os.environ[k]
        try:
            return super().start_bot(**kw)
        finally:
            os.environ.clear()
            os.environ.update(env_backup)

    def close(self):
        super().close()
        if self.aws and self.aws.poll() is None:
            self.aws.terminate()
            self.aws.wait(timeout=5)

    # ---- interactions ----
    def send(self, command, sub=None, options=None, roles=(), user=ALICE, name="alice",
             **extra):
        spec = {"command": command, "options": options or {}, "roles": list(roles),
                "user_id": user, "user_name": name}
        if sub:
            spec["subcommand"] = sub
        spec.update(extra)
        r = self.ctl("interaction", spec)
        check("id" in r, "interaction not sent: %r" % r)
        return r["id"]

    def answer(self, iid, timeout=8.0, final=True):
        """The interaction's record once answered (and, for a deferred
        answer, once edited)."""
        end = time.time() + timeout
        rec = {}
        while time.time() < end:
            rec = self.interaction_record(iid)
            resp = rec.get("responses") or []
            if resp and (resp[0]["type"] not in (5, 6) or not final or rec.get("edits")):
                return rec
            time.sleep(0.02)
        raise Failure("interaction %s not answered: %r" % (iid, rec))

    def button(self, custom_id, roles=(), user=ALICE, name="alice", guild=GUILD):
        return self.send(None, type=3, custom_id=custom_id, roles=roles, user=user,
                         name=name, guild_id=guild)

    def state_file(self):
        with open(os.path.join(self.tmp, "state.json")) as f:
            return json.load(f)

    def dump(self):
        super().dump()
        try:
            with open(os.path.join(self.tmp, "state.json")) as f:
                sys.stderr.write("---- state.json ----\n" + f.read()[-3000:] + "\n")
        except OSError:
            pass


def text_of(rec):
    """The text of the interaction's answer: its last edit, else the first
    response's content (embeds' titles and descriptions appended)."""
    body = None
    if rec.get("edits"):
        body = rec["edits"][-1]["body"]
    elif rec.get("responses"):
        body = rec["responses"][0].get("data") or {}
    body = body or {}
    out = body.get("content") or ""
    for e in body.get("embeds") or []:
        out += "\n" + (e.get("title") or "") + "\n" + (e.get("description") or "")
        for fl in e.get("fields") or []:
            out += "\n" + fl.get("name", "") + " " + fl.get("value", "")
    return out


def is_ephemeral(rec):
    data = rec["responses"][0].get("data") or {}
    return bool((data.get("flags") or 0) & EPHEMERAL)


def expect(h, iid, pattern, ephemeral=None, what=""):
    rec = h.answer(iid)
    t = text_of(rec)
    check(re.search(pattern, t), "%s: %r does not match %r" % (what or iid, t, pattern))
    if ephemeral is not None:
        check(is_ephemeral(rec) == ephemeral,
              "%s: ephemeral should be %s: %r" % (what or iid, ephemeral, rec["responses"]))
    return rec


def refused(h, iid, pattern, what=""):
    return expect(h, iid, "^\u2718 .*" + pattern, ephemeral=True, what=what)


def eventually(cond, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def env_entry(state, name):
    return (state.get("environments") or {}).get(name) or {}


# ---- scenarios ----

def s_reads(h):
    # Autocomplete: prefix match, case-insensitive, at most 25.
    iid = h.send("env", "status", {"name": "d"}, type=4, focused="name")
    rec = h.answer(iid)
    check(rec["responses"][0]["type"] == 8, "autocomplete type")
    names = [c["name"] for c in rec["responses"][0]["data"]["choices"]]
    check(names == ["dev"], "autocomplete %r" % names)
    iid = h.send("env", "status", {"name": ""}, type=4, focused="name")
    names = [c["name"] for c in h.answer(iid)["responses"][0]["data"]["choices"]]
    check(names == ["dev", "prod", "wk", "app"], "autocomplete all %r" % names)

    rec = expect(h, h.send("env", "list"), r"\*\*dev\*\*.*down; next: stop", ephemeral=True,
                 what="/env list")
    check("**prod** (ec2, protected)" in text_of(rec), "list shows protected")
    rec = expect(h, h.send("env", "status", {"name": "dev"}),
                 r"(?s)\*\*dev\*\* .*\nLive: 1 instance, 1 stopped\n.*Uptime today: 0.*"
                 r"Next: stop .*18:00.*Overrides: none", ephemeral=True, what="/env status")
    check(rec["responses"][0]["type"] == 5, "/env status is deferred (AWS is asked)")
    expect(h, h.send("env", "status", {"name": "app"}),
           r"Live: no stack \(down\); newest image: abc1234", what="/env status of a stack")
    h.aws_ctl("stack", {"name": "AppStack", "status": "CREATE_COMPLETE",
                        "parameters": {"ImageTag": "v1.2.0"}})
    expect(h, h.send("env", "status", {"name": "app"}),
           r"Live: stack CREATE\\_COMPLETE, image tag running: v1\.2\.0; newest image: abc1234",
           what="/env status of a live stack")
    expect(h, h.send("schedule", "show", {"name": "dev"}), r"(?s)next 7 days.*start.*stop",
           ephemeral=True, what="/schedule show")
    expect(h, h.send("holiday", "list"), h.cfg_holiday.isoformat() + r" \(config file\)",
           ephemeral=True, what="/holiday list")
    expect(h, h.send("cost"), r"(?s)\*\*dev\*\*: up 0\.0 h.*\$.*\*\*total\*\*", ephemeral=True,
           what="/cost")
    expect(h, h.send("cost", options={"name": "app"}), r"\*\*app\*\*", ephemeral=True)
    rec = expect(h, h.send("tags", options={"name": "app"}),
                 r"(?s)Newest images in app-repo.*abc1234.*v1\.2\.0", ephemeral=True,
                 what="/tags")
    check(rec["responses"][0]["type"] == 5, "/tags is deferred")
    refused(h, h.send("tags", options={"name": "dev"}), "no image repository")


def s_refusals(h):
    refused(h, h.send("env", "start", {"name": "dev"}), "needs an operator", "no role")
    refused(h, h.send("env", "start", {"name": "dev"}, roles=[OPERATOR], guild_id=""),
            "direct messages", "DM")
    refused(h, h.send("env", "start", {"name": "dev"}, roles=[OPERATOR],
                      guild_id="299999999999999999"), "does not serve", "other guild")
    refused(h, h.send("bogus", roles=[ADMIN]), "unknown command")
    refused(h, h.send("env", "frobnicate", {"name": "dev"}, roles=[ADMIN]), "unknown command")
    refused(h, h.send("env", "extend", {"name": "nope", "duration": "1h"}, roles=[OPERATOR]),
            r'unknown environment "nope" \(known: dev, prod, wk, app\)')
    refused(h, h.send("env", "stop", {"name": "prod"}, roles=[OPERATOR]),
            "prod is protected: only an admin")
    refused(h, h.send("freeze", roles=[OPERATOR]), "needs an admin")
    refused(h, h.send("audit", roles=[OPERATOR]), "needs an admin")
    refused(h, h.send("holiday", "add", {"date": "tomorrow"}, roles=[OPERATOR]),
            "needs an admin")
    refused(h, h.send("schedule", "pause", {"name": "dev", "until": "tomorrow"},
                      roles=[OPERATOR]), "needs an admin")
    refused(h, h.button("nonsense", roles=[ADMIN]), "not one of envbot's")
    # Nothing changed; every refusal is in the audit (saved, possibly just
    # after the reply: an audit line needs no acknowledgement).
    check(not env_entry(h.state_file(), "dev").get("extends"), "refusal changed state")

    def refusals_saved():
        outcomes = [a["outcome"] for a in h.state_file().get("audit", [])]
        return (sum(1 for o in outcomes if o.startswith("refused")) >= 12 and
                any("direct messages" in o for o in outcomes))
    check(eventually(refusals_saved), "refusals audited: %r" % h.state_file().get("audit"))


def s_extend(h):
    op = [OPERATOR]
    # Bad forms first: nothing recorded.
    for bad, why in (("soon", "not a duration"), ("0", "longer than 0"),
                     ("until 25:00", "not a time of day"), ("2x", "not a duration"),
                     ("until", "not a time of day"), ("`@everyone`", r"\\`@\u200beveryone")):
        refused(h, h.send("env", "extend", {"name": "dev", "duration": bad}, roles=op),
                why, "extend " + bad)
    check(not env_entry(h.state_file(), "dev").get("extends"), "bad extend recorded")
    rec = expect(h, h.send("env", "extend", {"name": "dev", "duration": "30m"}, roles=op),
                 r"\*\*dev\*\*: today's stop \(scheduled .*18:00.*\) moved to .*18:30",
                 ephemeral=False, what="extend 30m")
    ext = env_entry(h.state_file(), "dev")["extends"]
    check(len(ext) == 1, "extend saved before the reply: %r" % ext)
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "1h30m"}, roles=op),
           r"moved to .*20:00", what="extend 1h30m (cumulative)")
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "until 21:00"}, roles=op),
           r"moved to .*21:00", what="extend until 21:00")
    refused(h, h.send("env", "extend", {"name": "dev", "duration": "2h"}, roles=op),
            r"5h after the scheduled stop.*at most 4h \(max_extend\)", "over max_extend")
    refused(h, h.send("env", "extend", {"name": "dev", "duration": "until 17:00"}, roles=op),
            "not after today's scheduled stop")
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "2h"}, roles=[ADMIN]),
           r"moved to .*23:00", what="admin beyond max_extend")
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "until 22:00"}, roles=op),
           r"moved to .*22:00", what="until shortens")
    stop_at = env_entry(h.state_file(), "dev")["extends"][0]["stop_at"]
    local = datetime.datetime.fromtimestamp(stop_at, h.tz)
    check((local.hour, local.minute) == (22, 0), "saved stop_at %s" % local)
    if h.local_now().weekday() != 0:
        refused(h, h.send("env", "extend", {"name": "wk", "duration": "1h"}, roles=op),
                "wk has no scheduled stop today")
    expect(h, h.send("schedule", "show", {"name": "dev"}), r"extended to .*22:00",
           what="show lists the extend")
    expect(h, h.send("env", "status", {"name": "dev"}), r"extend: the stop of .* moved to",
           what="status lists the extend")


def s_skip(h):
    op = [OPERATOR]
    today = h.local_now().date()
    d3 = today + datetime.timedelta(days=3)
    d5 = today + datetime.timedelta(days=5)
    weekday = d5.strftime("%A").lower()
    refused(h, h.send("env", "skip", {"name": "dev", "date": "today"}, roles=op),
            "already happened")
    refused(h, h.send("env", "skip", {"name": "dev", "date": "someday"}, roles=op),
            "not a day")
    refused(h, h.send("env", "skip", {"name": "dev", "date": "2020-01-01"}, roles=op),
            "in the past")
    refused(h, h.send("env", "skip", {"name": "dev", "date": "2026-02-30"}, roles=op),
            "not a day")
    def projection():
        t = text_of(h.answer(h.send("cost", options={"name": "dev"})))
        m = re.search(r"projection for the month: \$(\d+\.\d\d) spent", t)
        check(m, "/cost projection: %r" % t)
        return float(m.group(1))
    before = projection()
    expect(h, h.send("env", "skip", {"name": "dev", "date": "tomorrow"}, roles=op),
           r"skip %s recorded" % (today + datetime.timedelta(days=1)).isoformat(),
           ephemeral=False)
    if (today + datetime.timedelta(days=1)).month == today.month:
        # A skipped day is 15 h (03:00-18:00) at $0.50 less in the projection.
        check(abs(before - projection() - 7.5) < 0.011, "projection after a skip")
    expect(h, h.send("env", "skip", {"name": "dev", "date": d3.isoformat()}, roles=op),
           r"skip %s recorded" % d3.isoformat())
    expect(h, h.send("env", "skip", {"name": "dev", "date": weekday}, roles=op),
           r"skip %s recorded" % d5.isoformat())
    refused(h, h.send("env", "skip", {"name": "dev", "date": "tomorrow"}, roles=op),
            "already skipped")
    # A skip on a config holiday says the holiday wins anyway.
    expect(h, h.send("env", "skip", {"name": "dev", "date": h.cfg_holiday.isoformat()},
                     roles=op), "is a holiday")
    skips = [s["date"] for s in env_entry(h.state_file(), "dev")["skips"]]
    check(len(skips) == 4, "skips saved: %r" % skips)
    nonmon = today + datetime.timedelta(days=1)
    if nonmon.weekday() == 0:
        nonmon += datetime.timedelta(days=1)
    refused(h, h.send("env", "skip", {"name": "wk", "date": nonmon.isoformat()}, roles=op),
            "no scheduled start on")
    expect(h, h.send("schedule", "show", {"name": "dev"}),
           r"~~.*start~~: skipped", what="show lists the skip")


def s_pause_holiday_freeze(h):
    adm = [ADMIN]
    today = h.local_now().date()
    refused(h, h.send("schedule", "pause", {"name": "dev", "until": "today"}, roles=adm),
            "later day")
    refused(h, h.send("schedule", "pause", {"name": "dev", "until": "2099-01-01"},
                      roles=adm), "more than a year")
    refused(h, h.send("schedule", "pause", {"name": "dev", "until": "whenever"}, roles=adm),
            "not a day or a duration")
    refused(h, h.send("schedule", "resume", {"name": "dev"}, roles=adm), "not paused")
    d2 = (today + datetime.timedelta(days=2)).isoformat()
    expect(h, h.send("schedule", "pause", {"name": "dev", "until": d2}, roles=adm),
           r"paused by alice until %s" % d2, ephemeral=False)
    check(env_entry(h.state_file(), "dev").get("pause"), "pause saved")
    # An extend now notes the pause (conflict rule in the reply).
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "30m"}, roles=[OPERATOR]),
           r"Note: dev is paused until %s.*rule: freeze > pause" % d2)
    expect(h, h.send("schedule", "show", {"name": "dev"}), "held: paused")
    expect(h, h.send("schedule", "resume", {"name": "dev"}, roles=adm), "resumed by alice")
    check(not env_entry(h.state_file(), "dev").get("pause"), "resume saved")
    expect(h, h.send("schedule", "pause", {"name": "dev", "until": "3h"}, roles=adm),
           r"paused by alice until")
    expect(h, h.send("schedule", "resume", {"name": "dev"}, roles=adm), "resumed")

    # Holidays.
    d40 = (today + datetime.timedelta(days=40)).isoformat()
    refused(h, h.send("holiday", "add", {"date": h.cfg_holiday.isoformat()}, roles=adm),
            "in the config file")
    refused(h, h.send("holiday", "add", {"date": "nope"}, roles=adm), "not a day")
    rec = expect(h, h.send("holiday", "add", {"date": d40, "label": "`@everyone` *party*"},
                           roles=adm), r"Holiday %s \(" % d40, ephemeral=False)
    t = text_of(rec)
    check("@everyone" not in t and "\\`" in t and "\\*party\\*" in t, "label escaped: %r" % t)
    refused(h, h.send("holiday", "add", {"date": d40}, roles=adm), "already a holiday")
    hol = [x["date"] for x in h.state_file().get("holidays", [])]
    check(d40 in hol, "holiday saved %r" % hol)
    rec = expect(h, h.send("holiday", "list"), r"(?s)%s \(config file\).*%s" % (
        h.cfg_holiday.isoformat(), d40))
    refused(h, h.send("holiday", "remove", {"date": h.cfg_holiday.isoformat()}, roles=adm),
            "config file")
    refused(h, h.send("holiday", "remove", {"date": "2030-05-05"}, roles=adm),
            "not a holiday")
    expect(h, h.send("holiday", "remove", {"date": d40}, roles=adm), "removed by alice")
    check(not h.state_file().get("holidays"), "holiday removal saved")

    # Freeze.
    expect(h, h.send("freeze", roles=adm), r"Frozen by alice", ephemeral=False)
    check(h.state_file().get("freeze"), "freeze saved")
    refused(h, h.send("freeze", roles=adm), "already frozen")
    expect(h, h.send("env", "skip", {"name": "dev", "date": "2026-12-31"
                                     if today < datetime.date(2026, 12, 31) else
                                     (today + datetime.timedelta(days=9)).isoformat()},
                     roles=[OPERATOR]),
           r"Note: frozen by alice overrides everything until /unfreeze")
    expect(h, h.send("env", "list"), r"Frozen by alice")
    expect(h, h.send("unfreeze", roles=adm), "Unfrozen by alice")
    refused(h, h.send("unfreeze", roles=adm), "not frozen")
    check(not h.state_file().get("freeze"), "unfreeze saved")

    # Audit.
    rec = expect(h, h.send("audit", options={"count": "50"}, roles=adm),
                 r"(?s)Last \d+ of \d+ audit entries.*/freeze.*ok", ephemeral=True)
    check("refused" in text_of(rec), "audit shows refusals")
    rec = expect(h, h.send("audit", roles=adm), r"Last 10 of")
    refused(h, h.send("audit", options={"count": "abc"}, roles=adm), "count must be")
    refused(h, h.send("audit", options={"count": "0"}, roles=adm), "count must be")


def confirm_prompt(h, iid):
    rec = h.answer(iid)
    check(is_ephemeral(rec), "prompt is ephemeral")
    data = rec["responses"][0]["data"]
    buttons = data["components"][0]["components"]
    ids = {b["label"]: b["custom_id"] for b in buttons}
    check(set(ids) == {"Confirm", "Cancel"}, "buttons %r" % ids)
    return ids


def s_confirm(h):
    adm = [ADMIN]
    # Protected + extend: prompt, then a foreign click, a stale click, the
    # right click.
    ids = confirm_prompt(h, h.send("env", "extend", {"name": "prod", "duration": "1h"},
                                   roles=adm))
    check(not env_entry(h.state_file(), "prod").get("extends"), "nothing before confirm")
    refused(h, h.button(ids["Confirm"], roles=adm, user=BOB, name="bob"), "only the person")
    parts = ids["Confirm"].split("|")
    parts[5] = str(int(time.time()) - 120)
    refused(h, h.button("|".join(parts), roles=adm), "expired")
    # The right user, but no longer an admin: refused.
    refused(h, h.button(ids["Confirm"], roles=[OPERATOR]), "only an admin")
    check(not env_entry(h.state_file(), "prod").get("extends"), "refused clicks changed state")
    rec = h.answer(h.button(ids["Confirm"], roles=adm))
    check(rec["responses"][0]["type"] == 7, "confirm updates the prompt")
    t = text_of(rec)
    check(re.search(r"\*\*prod\*\*: today's stop .* moved to .*19:00", t), "confirmed: %r" % t)
    check(rec["responses"][0]["data"].get("components") == [], "buttons removed")
    x = env_entry(h.state_file(), "prod").get("extends", [])
    check(len(x) == 1, "prod extend saved")
    # Pressed twice (a double click racing the update): extended once.
    rec = h.answer(h.button(ids["Confirm"], roles=adm))
    check(re.search(r"moved to .*19:00", text_of(rec)), "second press %r" % text_of(rec))
    check(env_entry(h.state_file(), "prod")["extends"] == x, "a second press extended again")
    # A "no change" is saved soon after its answer, not before it.
    deadline = time.time() + 5
    while True:
        last = h.state_file()["audit"][-1]
        if last["outcome"].startswith("no change") or time.time() > deadline:
            break
        time.sleep(0.1)
    check(last["outcome"].startswith("no change"), "second press audited %r" % last)
    # Bad forms are refused before any prompt.
    refused(h, h.send("env", "extend", {"name": "prod", "duration": "forever"}, roles=adm),
            "not a duration")
    # Cancel.
    ids = confirm_prompt(h, h.send("env", "skip", {"name": "prod", "date": "tomorrow"},
                                   roles=adm))
    refused(h, h.button(ids["Cancel"], roles=adm, user=BOB, name="bob"), "only the person")
    expect(h, h.button(ids["Cancel"], roles=adm), "Cancelled")
    check(not env_entry(h.state_file(), "prod").get("skips"), "cancel changed nothing")
    # Protected stop: confirmed, the embed goes to the channel.
    before = h.counters().get("messages", 0)
    ids = confirm_prompt(h, h.send("env", "stop", {"name": "prod"}, roles=adm))
    expect(h, h.button(ids["Confirm"], roles=adm), "Confirmed: stop of \\*\\*prod\\*\\*")
    check(h.wait("messages", before + 1, 10), "stop embed posted to the channel")
    check(eventually(lambda: any(
        (a["action"] + " " + a["outcome"]).startswith("confirm /env stop prod ok")
        for a in h.state_file()["audit"])), "audit %r" % h.state_file()["audit"])


def s_workflow(h):
    op = [OPERATOR]
    iid = h.send("env", "start", {"name": "dev"}, roles=op)
    rec = h.answer(iid)
    check(rec["responses"][0]["type"] == 5 and not is_ephemeral(rec),
          "start: public deferred response %r" % rec["responses"])
    # While it runs, another start is refused with a pointer.
    time.sleep(0.3)
    refused(h, h.send("env", "start", {"name": "dev"}, roles=op), "already has a start running")
    # The embed is edited in place until done.
    end = time.time() + 20
    done = False
    while time.time() < end and not done:
        rec = h.interaction_record(iid)
        for e in rec.get("edits", []):
            for em in e["body"].get("embeds") or []:
                if em.get("color") == 3066993:
                    done = True
        time.sleep(0.2)
    check(done, "start embed finished green: %r" % rec.get("edits", [])[-1:])


def s_snooze(h):
    """A snooze button means "keep it up until the warned stop + N h": a
    double click, or two people pressing the same button, extends once; +2h
    after +1h gives the warned stop + 2h; the buttons of a later warning
    (the extended stop) extend further, within max_extend."""
    st = h.local_now()
    stop_local = st.replace(hour=18, minute=0, second=0, microsecond=0)
    stop_at = int(stop_local.timestamp())
    cid = "sw|dev|%d|1" % stop_at
    refused(h, h.button(cid), "needs an operator")
    rec = h.answer(h.button(cid, roles=[OPERATOR], name="carol"))
    check(rec["responses"][0]["type"] == 7, "snooze updates the warning")
    t = text_of(rec)
    check(re.search(r"Extended to .*19:00.* by carol \(\+1h\)", t), "snooze text %r" % t)
    comps = rec["responses"][0]["data"]["components"][0]["components"]
    check([c["label"] for c in comps] == ["+1h", "+2h"], "buttons kept")
    # The same +1h again (a double click, or dave pressing it too): no change.
    rec = expect(h, h.button(cid, roles=[OPERATOR], name="dave"),
                 r"already up until .*19:00.*\(extended by carol\).*nothing changed",
                 ephemeral=True, what="repeated +1h")
    check(rec["responses"][0]["type"] == 4, "a no-op leaves the warning alone")
    x = env_entry(h.state_file(), "dev")["extends"]
    check(len(x) == 1 and x[0]["stop_at"] == stop_at + 3600 and x[0]["who"] == "carol",
          "repeated +1h changed the extend: %r" % x)
    rec = h.answer(h.button("sw|dev|%d|2" % stop_at, roles=[OPERATOR], name="dave"))
    check(re.search(r"Extended to .*20:00.* by dave \(\+2h\)", text_of(rec)),
          "+2h after +1h is the warned stop + 2h: %r" % text_of(rec))
    expect(h, h.button(cid, roles=[OPERATOR], name="erin"), r"already up until .*20:00",
           ephemeral=True, what="+1h after +2h")
    # The warning of the extended stop (20:00) carries its own instant.
    later = stop_at + 2 * 3600
    rec = h.answer(h.button("sw|dev|%d|2" % later, roles=[OPERATOR], name="erin"))
    check(re.search(r"Extended to .*22:00.* by erin", text_of(rec)),
          "a later warning extends further: %r" % text_of(rec))
    refused(h, h.button("sw|dev|%d|1" % (later + 2 * 3600), roles=[OPERATOR]), "max_extend")
    refused(h, h.button("sw|prod|%d|1" % stop_at, roles=[OPERATOR]), "needs an admin")
    refused(h, h.button("sw|dev|%d|1" % (stop_at - 86400), roles=[OPERATOR]),
            "already happened")
    x = env_entry(h.state_file(), "dev")["extends"]
    check(len(x) == 1 and x[0]["stop_at"] == stop_at + 4 * 3600, "snooze saved %r" % x)
    want = ["refused", "ok", "no change", "ok", "no change", "ok", "refused", "refused",
            "refused"]

    def outcomes():
        # Refusals and no-ops are saved with the next batch: wait for it.
        return [a["outcome"].split(":")[0] for a in h.state_file()["audit"]
                if a["action"].startswith("stop-warning")]
    check(eventually(lambda: outcomes() == want), "snooze audit %r" % outcomes())


def s_warning(h):
    """The scheduler's stop warning, posted by cmd_post_stop_warning: with
    warn_before = 8h, today's 18:00 stops are inside the warning window at
    start-up (10:xx local), so the first tick warns at once."""
    end = time.time() + 10
    dev = None
    while time.time() < end and dev is None:
        for m in h.state().get("messages", []):
            if m.get("content", "").startswith("\u23f0 **dev** stops at"):
                dev = m
        time.sleep(0.1)
    check(dev, "no stop warning for dev posted")
    check(re.search(r"stops at \w+ [\d-]+ 18:00 \S+ \(in \d+ min\)\. Need it longer\? "
                    r"An operator can snooze", dev["content"]), "warning text %r" % dev)
    stop_at = int(h.local_now().replace(hour=18, minute=0, second=0,
                                        microsecond=0).timestamp())
    rec = h.answer(h.send(None, type=3, custom_id="sw|dev|%d|2" % stop_at, roles=[OPERATOR],
                          name="erin", message_id=dev["id"]))
    check(re.search(r"Extended to .*20:00.* by erin \(\+2h\)", text_of(rec)),
          "snooze from the posted warning: %r" % text_of(rec))


s_warning.extra = 'warn_before = "8h";'


def s_save_failure(h):
    """When the state cannot be written the reply says so instead of
    claiming it is done. A directory where the temporary file goes makes the
    atomic save fail, even as root."""
    blocker = os.path.join(h.tmp, "state.json.tmp")
    os.mkdir(blocker)
    try:
        rec = expect(h, h.send("env", "extend", {"name": "dev", "duration": "1h"},
                               roles=[OPERATOR]),
                     r"^\u26a0 .*moved to .* But it could NOT be saved to the state file")
        check(not is_ephemeral(rec), "the warning is public, like the change")
        check(not env_entry(h.state_file(), "dev").get("extends"), "nothing on disk")
    finally:
        os.rmdir(blocker)
    # Writable again: the next change saves both.
    expect(h, h.send("env", "skip", {"name": "dev", "date": "tomorrow"}, roles=[OPERATOR]),
           "^\u2705 .*recorded")
    d = env_entry(h.state_file(), "dev")
    check(d.get("extends") and d.get("skips"), "saved once writable: %r" % d)


def s_expiry(h):
    """Overrides expire by themselves: restart with the wall clock three
    days on (libfaketime); extends, skips and pauses that have passed are
    gone, the freeze and chat holidays stay."""
    if not os.path.exists(FAKETIME_LIB):
        sys.stderr.write("expiry: libfaketime not installed; skipped\n")
        return
    op, adm = [OPERATOR], [ADMIN]
    today = h.local_now().date()
    later = (today + datetime.timedelta(days=10)).isoformat()
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "1h"}, roles=op), "moved to")
    expect(h, h.send("env", "skip", {"name": "dev", "date": "tomorrow"}, roles=op), "recorded")
    expect(h, h.send("env", "skip", {"name": "dev", "date": later}, roles=op), "recorded")
    expect(h, h.send("schedule", "pause", {"name": "dev", "until": (
        today + datetime.timedelta(days=2)).isoformat()}, roles=adm), "paused")
    expect(h, h.send("schedule", "pause", {"name": "app", "until": "3h"}, roles=adm), "paused")
    expect(h, h.send("schedule", "pause", {"name": "wk", "until": later}, roles=adm), "paused")
    expect(h, h.send("holiday", "add", {"date": (today + datetime.timedelta(days=1)).isoformat()},
                     roles=adm), "added")
    expect(h, h.send("freeze", roles=adm), "Frozen")
    h.bot.send_signal(signal.SIGKILL)
    h.bot.wait()
    fake_now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    h.start_bot(faketime=fake_now.strftime("%Y-%m-%d %H:%M:%S"))
    h.wait_ready(2, timeout=15)
    check(h.wait_log("overrides expired", 10), "no expiry logged")
    st = h.state_file()
    dev = env_entry(st, "dev")
    check(not dev.get("extends"), "extend kept: %r" % dev)
    check([x["date"] for x in dev.get("skips", [])] == [later], "skips %r" % dev.get("skips"))
    check(not dev.get("pause"), "dev pause kept")
    check(not env_entry(st, "app").get("pause"), "app pause (3h) kept")
    check(env_entry(st, "wk").get("pause"), "wk pause (10 days) expired too soon")
    check(st.get("freeze"), "the freeze expired: only /unfreeze ends it")
    check(len(st.get("holidays", [])) == 1, "chat holiday dropped")
    rec = expect(h, h.send("env", "status", {"name": "dev"}),
                 r"(?s)Overrides:\n- frozen by alice.*skip: no scheduled start on %s" % later)
    check("extend:" not in text_of(rec) and "paused" not in text_of(rec),
          "expired overrides shown: %r" % text_of(rec))


def s_restart(h):
    op = [OPERATOR]
    expect(h, h.send("env", "extend", {"name": "dev", "duration": "1h"}, roles=op), "moved to")
    expect(h, h.send("env", "skip", {"name": "dev", "date": "tomorrow"}, roles=op), "recorded")
    expect(h, h.send("holiday", "add", {"date": (h.local_now().date() + datetime.timedelta(
        days=20)).isoformat(), "label": "x"}, roles=[ADMIN]), "added")
    # kill -9 right after the acknowledgements, then restart.
    h.bot.send_signal(signal.SIGKILL)
    h.bot.wait()
    h.start_bot()
    h.wait_ready(2, timeout=15)
    rec = expect(h, h.send("env", "status", {"name": "dev"}),
                 r"(?s)extend: the stop of .* moved to .*19:00.*skip: no scheduled start",
                 what="status after kill -9")
    expect(h, h.send("holiday", "list"), "added by alice")


def s_crash(h):
    """kill -9 at 20 random points of override writes: every override whose
    acknowledgement reached Discord is in the state after the restart."""
    import random
    rnd = random.Random(int(os.environ.get("ENVBOT_TEST_SEED", "0")) or None)
    today = h.local_now().date()
    acked_skips, acked_hols, acked_stop = set(), set(), 0
    for k in range(1, 21):
        sent = []
        day = (today + datetime.timedelta(days=k)).isoformat()
        hol = (today + datetime.timedelta(days=40 + k)).isoformat()
        sent.append(("skip", day, h.send("env", "skip", {"name": "dev", "date": day},
                                        roles=[OPERATOR])))
        sent.append(("holiday", hol, h.send("holiday", "add", {"date": hol},
                                           roles=[ADMIN])))
        sent.append(("extend", None, h.send("env", "extend",
                                            {"name": "dev", "duration": "10m"},
                                            roles=[OPERATOR])))
        time.sleep(rnd.uniform(0, 0.015))
        h.bot.send_signal(signal.SIGKILL)
        h.bot.wait()
        for kind, what, iid in sent:
            rec = h.interaction_record(iid)
            if not rec.get("responses"):
                continue
            t = text_of(rec)
            check(not t.startswith("\u2718") or "already" in t, "round %d: %s refused: %r"
                  % (k, kind, t))
            if kind == "skip":
                acked_skips.add(what)
            elif kind == "holiday":
                acked_hols.add(what)
            else:
                m = re.search(r"moved to \w+ [\d-]+ (\d\d):(\d\d)", t)
                check(m, "extend text %r" % t)
                acked_stop = max(acked_stop, int(m.group(1)) * 60 + int(m.group(2)))
        h.start_bot()
        h.wait_ready(k + 1, timeout=15)
        st = h.state_file()
        skips = {s["date"] for s in env_entry(st, "dev").get("skips", [])}
        hols = {x["date"] for x in st.get("holidays", [])}
        check(acked_skips <= skips, "round %d: acknowledged skips lost: %r" % (
            k, acked_skips - skips))
        check(acked_hols <= hols, "round %d: acknowledged holidays lost: %r" % (
            k, acked_hols - hols))
        if acked_stop:
            x = env_entry(st, "dev").get("extends", [])
            check(x, "round %d: acknowledged extend lost" % k)
            local = datetime.datetime.fromtimestamp(x[0]["stop_at"], h.tz)
            check(local.hour * 60 + local.minute >= acked_stop,
                  "round %d: extend went back: %s < %d min" % (k, local, acked_stop))
    check(len(acked_skips) >= 3, "too few acknowledged before the kills: %d" % len(acked_skips))


SCENARIOS = [
    ("reads", s_reads),
    ("refusals", s_refusals),
    ("extend", s_extend),
    ("skip", s_skip),
    ("pause_holiday_freeze", s_pause_holiday_freeze),
    ("confirm", s_confirm),
    ("workflow", s_workflow),
    ("snooze", s_snooze),
    ("warning", s_warning),
    ("save_failure", s_save_failure),
    ("restart", s_restart),
    ("expiry", s_expiry),
    ("crash", s_crash),
]


def run_one(binary, name, fn):
    h = CommandsHarness(binary)
    try:
        h.start_fake()
        h.start_aws()
        h.extra = getattr(fn, "extra", "")
        h.start_bot()
        h.wait_ready()
        fn(h)
        # A clean stop, and nothing the sanitizers (when built in) saw.
        h.bot.send_signal(signal.SIGTERM)
        rc = h.wait_exit(10)
        check(rc == 0, "envbot exited with %r after SIGTERM" % rc)
        # Every bot's log: those killed with SIGKILL (restart, expiry,
        # crash) cannot report a leak, but a bad access before the kill is
        # in their log only.
        found = h.sanitizer_reports()
        check(not found, "sanitizer report: %s" % "; ".join(found))
        return True
    except Exception as e:  # noqa: BLE001 - report any failure with the logs
        sys.stderr.write("FAIL %s: %s: %s\n" % (name, type(e).__name__, e))
        h.dump()
        return False
    finally:
        h.close()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    binary = sys.argv[1]
    wanted = sys.argv[2:]
    failed = 0
    passed = 0
    for name, fn in SCENARIOS:
        if wanted and name not in wanted:
            continue
        t0 = time.time()
        ok = run_one(binary, name, fn)
        print("%s %s (%.1fs)" % ("ok  " if ok else "FAIL", name, time.time() - t0), flush=True)
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
