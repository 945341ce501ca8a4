#!/usr/bin/python3
"""End-to-end test of long slash-command replies: the real `envbot run`
against the fake Discord (tests/fakes/fake_discord.py, which refuses any
body over Discord's limits: content 2000, description 4096, 10 embeds, 6000
in total) with a config of 60 environments, 300 holidays and one
environment scheduled every minute.

usage: test_cmd_long_replies.py ENVBOT_BINARY
Asserts that every environment name reaches the fake Discord in /env list
and /cost (the response's content, then embeds in follow-ups, in order, all
ephemeral), that every holiday reaches it in /holiday list, and
that a reply too long for ten messages (/schedule show of the minutely
environment: ~10,000 lines) says visibly how many lines it left out."""

import datetime
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from discord_harness import APP_ID, Failure, Harness, check  # noqa: E402

GUILD = "200000000000000002"
CHANNEL = "300000000000000003"
OPERATOR = "400000000000000004"
ADMIN = "500000000000000005"
EPHEMERAL = 64
N_ENVS = 60
N_HOLIDAYS = 300


def env_name(i):
    # Long names make long lines: 60 of them are well over one message.
    return "service-environment-%02d" % i


class LongHarness(Harness):
    def __init__(self, binary):
        super().__init__(binary)
        now = datetime.datetime.now(datetime.timezone.utc)
        # No scheduled action within catch_up (2h) before now or in the
        # next hours: the daemon runs no workflow while the test runs.
        self.start_h = (now.hour + 3) % 24
        self.stop_h = (now.hour + 5) % 24
        self.today = now.date()
        self.pause_until = self.today + datetime.timedelta(days=300)
        self.holidays = [datetime.date(2027, 1, 1) + datetime.timedelta(days=k)
                         for k in range(N_HOLIDAYS)]

    def write_config(self):
        path = os.path.join(self.tmp, "envbot.cfg")
        envs = []
        for i in range(N_ENVS):
            envs.append('  { name = "%s"; kind = "ec2"; tag = { key = "Env"; value = "e%d"; };\n'
                        '    schedule: { start = "0 %d * * *"; stop = "0 %d * * *"; };\n'
                        '    hourly_cost = 0.25; }' % (env_name(i), i, self.start_h,
                                                      self.stop_h))
        envs.append('  { name = "minutely"; kind = "ec2"; tag = { key = "Env"; value = "m"; };\n'
                    '    schedule: { start = "* * * * *"; }; }')
        with open(path, "w") as f:
            f.write("""discord: {
  application_id = "%(app)s";
  guild_id = "%(guild)s";
  channel_id = "%(channel)s";
  api_base = "http://127.0.0.1:%(port)d/api/v10";
  roles: { operator = [ "%(op)s" ]; admin = [ "%(admin)s" ]; };
};
aws: { region = "us-east-1"; endpoint_url = "http://127.0.0.1:9"; };
state_file = "%(tmp)s/state.json";
timezone = "UTC";
holidays = [ %(hol)s ];
environments = (
%(envs)s
);
""" % {"app": APP_ID, "guild": GUILD, "channel": CHANNEL, "port": self.port,
                "op": OPERATOR, "admin": ADMIN, "tmp": self.tmp,
                "hol": ", ".join('"%s"' % d.isoformat() for d in self.holidays),
                "envs": ",\n".join(envs)})
        return path

    def write_state(self):
        """The minutely environment is paused (for 300 days): its starts are
        held, so the scheduler fires nothing while /schedule show lists
        every one of them."""
        until = self.pause_until.isoformat()
        st = {"version": 1, "holidays": [], "workflows": [], "audit": [],
              "environments": {"minutely": {
                  "extends": [], "skips": [], "uptime": {"up_since": 0, "intervals": []},
                  "pause": {"until_date": until, "since": int(time.time()), "who": "ops"}}}}
        with open(os.path.join(self.tmp, "state.json"), "w") as f:
            json.dump(st, f)

    def send(self, command, sub=None, options=None, roles=()):
        spec = {"command": command, "options": options or {}, "roles": list(roles),
                "user_id": "600000000000000006", "user_name": "alice"}
        if sub:
            spec["subcommand"] = sub
        r = self.ctl("interaction", spec)
        check("id" in r, "interaction not sent: %r" % r)
        return r["id"]

    def bodies(self, iid, timeout=20.0):
        """Every message body the fake accepted for the interaction, in
        order: the first response (unless a bare deferral), the edits of
        @original, the follow-ups. Waits until nothing new came for 1.5 s."""
        end = time.time() + timeout
        last, stable_since = None, time.time()
        rec = {}
        while time.time() < end:
            rec = self.interaction_record(iid)
            resp = rec.get("responses") or []
            seen = (len(resp), len(rec.get("edits", [])), len(rec.get("followups", [])))
            if seen != last:
                last, stable_since = seen, time.time()
            answered = resp and (resp[0]["type"] != 5 or rec.get("edits"))
            if answered and time.time() - stable_since > 1.5:
                break
            time.sleep(0.05)
        check(rec.get("responses"), "interaction %s not answered: %r" % (iid, rec))
        out = []
        first = rec["responses"][0]
        if first["type"] != 5:
            out.append(first.get("data") or {})
        out += [e["body"] for e in rec.get("edits", [])]
        out += [f["body"] for f in rec.get("followups", [])]
        return rec, out


def text_of(body):
    t = body.get("content") or ""
    for e in body.get("embeds") or []:
        t += "\n" + (e.get("title") or "") + "\n" + (e.get("description") or "")
    return t


def within_limits(body):
    """Discord's limits, checked again here (the fake refuses bodies over
    them with 400, which would show up as a missing message)."""
    if len(body.get("content") or "") > 2000:
        return "content over 2000"
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        return "more than 10 embeds"
    total = 0
    for e in embeds:
        d = e.get("description") or ""
        if len(d) > 4096:
            return "description over 4096"
        total += len(d) + len(e.get("title") or "")
    if total > 6000:
        return "embeds over 6000 in total"
    return None


def check_reply(h, iid, what):
    rec, bodies = h.bodies(iid)
    check(rec["responses"][0].get("data", {}).get("flags", 0) & EPHEMERAL,
          "%s: the response is not ephemeral: %r" % (what, rec["responses"][0]))
    for b in bodies:
        bad = within_limits(b)
        check(bad is None, "%s: %s" % (what, bad))
    for f in rec.get("followups", []):
        check((f["body"].get("flags") or 0) & EPHEMERAL,
              "%s: a follow-up is not ephemeral: %r" % (what, f["body"].get("flags")))
    return rec, bodies, "\n".join(text_of(b) for b in bodies)


def s_env_list(h):
    rec, bodies, text = check_reply(h, h.send("env", "list"), "/env list")
    # Over 2000 characters: one plain message would have cut it short. The
    # answer starts at once (type 4, its content the first lines) and goes
    # on in follow-ups.
    check(len(text) > 2000, "/env list of %d environments is only %d characters" % (
        N_ENVS, len(text)))
    check(rec["responses"][0]["type"] == 4 and len(bodies) >= 2 and rec.get("followups"),
          "/env list: response %r, %d message(s)" % (rec["responses"][0]["type"],
                                                    len(bodies)))
    check("**%s**" % env_name(0) in (bodies[0].get("content") or ""),
          "/env list: the first message does not begin the list")
    pos = -1
    for i in range(N_ENVS):
        name = env_name(i)
        m = re.search(r"\*\*%s\*\* \(ec2\): down; next: start \w+ [\d-]+ %02d:00 UTC" % (
            re.escape(name), h.start_h), text)
        check(m, "/env list: %s missing or wrong: %r" % (name, text[-300:]))
        check(m.start() > pos, "/env list: %s out of order" % name)
        pos = m.start()
    # The scheduler's answer: the first start that will run, after the
    # pause and past the holidays.
    d = h.pause_until
    while d in h.holidays:
        d += datetime.timedelta(days=1)
    want = "**minutely** (ec2): down; next: start %s 00:00 UTC" % d.strftime("%a %Y-%m-%d")
    check(want in text, "/env list: the paused environment: %r not in %r" % (
        want, text[-200:]))
    check("not shown" not in text, "/env list says it left lines out")
    return len(bodies)


def s_cost(h):
    _, bodies, text = check_reply(h, h.send("cost"), "/cost")
    # ~10,000 characters: the response and its follow-ups.
    check(len(bodies) >= 2, "/cost of %d environments in %d message(s)" % (N_ENVS,
                                                                         len(bodies)))
    for i in range(N_ENVS):
        check("**%s**: up " % env_name(i) in text, "/cost: %s missing" % env_name(i))
    check("**total**: spent" in text, "/cost: no total line")


def s_holidays(h):
    _, bodies, text = check_reply(h, h.send("holiday", "list"), "/holiday list")
    for d in h.holidays:
        check("- %s (config file)" % d.isoformat() in text, "/holiday list: %s missing" % d)


def s_truncated(h):
    """~10,080 held starts in 7 days: more than ten messages hold; the last
    says how many lines were left out, and shown + left out is all."""
    t0 = time.time()
    iid = h.send("schedule", "show", {"name": "minutely"})
    _, bodies, text = check_reply(h, iid, "/schedule show minutely")
    check(len(bodies) == 10, "/schedule show: %d messages, expected the cap of 10" % len(
        bodies))
    m = re.search(r"\u2026 and (\d+) more lines not shown", text)
    check(m, "/schedule show: no visible truncation note: %r" % text[-300:])
    check(text.rstrip().endswith("not shown (too long for Discord)"),
          "/schedule show: the note is not last: %r" % text[-200:])
    held = len(re.findall(r"^- ~~\w+ [\d-]+ \d\d:\d\d UTC start~~: held: paused by ops",
                          text, re.M))
    # Every minute of the 7 days after the command, give or take the minute
    # the command ran in; plus the header line before them.
    total = held + int(m.group(1))
    minutes = 7 * 24 * 60
    check(abs(total - minutes) <= 2, "/schedule show: %d shown + %s left out != %d" % (
        held, m.group(1), minutes))
    # Ten messages of two ~2900-character pages: some 750 lines of ~76.
    check(held > 600, "/schedule show: only %d lines shown" % held)
    check(time.time() - t0 < 30, "/schedule show took %.1fs" % (time.time() - t0))


SCENARIOS = [
    ("env_list", s_env_list),
    ("cost", s_cost),
    ("holidays", s_holidays),
    ("truncated", s_truncated),
]


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    h = LongHarness(sys.argv[1])
    passed = failed = 0
    try:
        h.start_fake()
        h.write_state()
        h.start_bot()
        h.wait_ready()
        for name, fn in SCENARIOS:
            t0 = time.time()
            try:
                fn(h)
                ok = True
            except Failure as e:
                sys.stderr.write("FAIL %s: %s\n" % (name, e))
                ok = False
            print("%s %s (%.1fs)" % ("ok  " if ok else "FAIL", name, time.time() - t0),
                  flush=True)
            passed += ok
            failed += not ok
        # Nothing refused by the fake (a 400 would be a body over a limit).
        reqs = h.state().get("requests") or []
        bad = [r for r in reqs if r.get("status") == 400]
        if bad:
            sys.stderr.write("FAIL the fake refused %d request(s): %r\n" % (len(bad), bad[:3]))
            failed += 1
        h.bot.send_signal(signal.SIGTERM)
        rc = h.wait_exit(10)
        log = h.log()
        if rc != 0 or "runtime error" in log or "AddressSanitizer" in log \
                or "LeakSanitizer" in log:
            sys.stderr.write("FAIL exit %r or a sanitizer report in the log\n" % rc)
            failed += 1
    except Exception as e:  # noqa: BLE001 - report any failure with the logs
        sys.stderr.write("FAIL %s: %s\n" % (type(e).__name__, e))
        failed += 1
    if failed:
        h.dump()
    h.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
