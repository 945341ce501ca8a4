#!/usr/bin/python3
"""End to end, hostile input: `envbot run` (the real binary) against the fake
Discord (tests/fakes/fake_discord.py) and the fake AWS (tests/fakes/fake_aws.py),
both on loopback.

  frames    a gateway message of about 18 MB (over the 8 MiB cap), JSON
            nested 200000 deep, nested 900 deep inside an interaction, and
            an INTERACTION_CREATE with invalid UTF-8 and control bytes: each
            dropped or handled, said in the log, the daemon keeps serving
  surrogate an interaction whose option holds a lone UTF-16 surrogate
            escape: the daemon lives and keeps serving
  mentions  option values and a user name holding @everyone, @here, role and
            user mentions, markdown, control characters, bidi overrides and
            6000 characters, across /env, /schedule, /holiday, autocomplete
            and a workflow's channel embed: every message, edit and followup
            the fake recorded carries allowed_mentions {"parse": []} and no
            raw mention text
  awshuge   DescribeStacks answered 200 with 10 MB of padding (under the
            client's 16 MiB cap): /env status answered (libxml2 refuses a
            document that size: a clear AWS error), daemon alive; then 20 MB
            (over the cap): a clear "larger than" error in the reply
  zlib      with zlib-stream on, an event inflating to about 18 MB from a few
            KB: dropped, reconnect and resume, no reconnect loop when the
            resumed session replays it
After all of them: /env list still answered, SIGTERM exits 0, no sanitizer
report.

usage: test_hostile.py ENVBOT_BINARY [SCENARIO...]
Exit 77 when /usr/bin/python3 lacks aiohttp (the fake Discord needs it)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import Checks, FakeAws, FakeDiscord, tmpdir, write_config  # noqa: E402

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
OPERATOR = "400000000000000004"
ADMIN = "500000000000000005"
STACK = "ChatAppMasterStack"

# Text that would ping if a reply echoed it raw and Discord parsed mentions.
PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d")


class Ctx:
    def __init__(self, d, aws, discord, binary, cfg, env, c):
        self.d, self.aws, self.discord, self.c = d, aws, discord, c
        self.binary, self.cfg, self.env = binary, cfg, env
        self.bot = None
        self.logs = []
        self.log_path = None

    def start(self, compress=False):
        env = dict(self.env)
        if compress:
            env["ENVBOT_GATEWAY_COMPRESS"] = "1"
        self.log_path = os.path.join(self.d, "envbot-%d.log" % len(self.logs))
        self.logs.append(self.log_path)
        out = open(self.log_path, "wb")
        ready = self.discord.call("/state")["counters"].get("ready", 0)
        self.bot = subprocess.Popen([self.binary, "-c", self.cfg, "run"], stdout=out,
                                    stderr=subprocess.STDOUT, env=env)
        out.close()
        w = self.discord.call("/wait?counter=ready&min=%d&timeout=20" % (ready + 1), timeout=25)
        return self.c.ok(w.get("ok"), "envbot connected to the fake gateway")

    def stop(self):
        """SIGTERM; True when it exited 0."""
        if self.bot is None or self.bot.poll() is not None:
            return self.c.ok(False, "envbot still running at the end",
                             None if self.bot is None else self.bot.returncode)
        self.bot.send_signal(signal.SIGTERM)
        try:
            rc = self.bot.wait(20)
        except subprocess.TimeoutExpired:
            self.bot.kill()
            rc = self.bot.wait()
        return self.c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")

    def restart(self, compress=False):
        self.stop()
        return self.start(compress)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.1)
        return False

    def post_raw(self, path, payload, timeout=60):
        """A control call whose body is sent as UTF-8 (not \\u-escaped):
        the fake re-escapes it, so the frame it sends is bigger than the
        8 MiB it accepts as a control body."""
        data = json.dumps(payload, ensure_ascii=False).encode()
        req = urllib.request.Request(self.discord.control + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")

    def send(self, command, sub=None, options=None, roles=(OPERATOR,), **extra):
        spec = {"command": command, "options": options or {}, "roles": list(roles)}
        if sub:
            spec["subcommand"] = sub
        spec.update(extra)
        return self.discord.call("/interaction", spec)["id"]

    def answered(self, iid, timeout=15):
        """The interaction's record once it has a response and, if that was
        a deferral (type 5), an edit too; None if not within timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rec = self.discord.reply(iid)
            resp = rec.get("responses") or []
            if resp and (resp[0]["type"] != 5 or rec.get("edits")):
                return rec
            time.sleep(0.05)
        return None

    def alive(self, what):
        return self.c.ok(self.bot.poll() is None, f"{what}: daemon still running",
                         self.log()[-2000:] if self.bot.poll() is not None else None)

    def serves(self, what):
        rec = self.answered(self.send("env", "list"))
        text = json.dumps(rec["msg"]) if rec else ""
        return self.c.ok(rec is not None and "dev" in text and "qa" in text,
                         f"{what}: /env list still answered", rec)


def s_frames(x):
    c = x.c
    # ~18 MB: 3 million two-byte characters, \u-escaped by the fake (6 bytes each).
    r = x.post_raw("/dispatch", {"t": "HOSTILE_BIG", "d": {"blob": "\u00e9" * 3_000_000}},
                   timeout=120)
    c.ok(r.get("sent") is True, "oversized: the fake sent the frame", r)
    c.ok(x.wait_log(r"oversized gateway message dropped"),
         "oversized: dropped and said in the log", x.log()[-1500:])
    x.alive("oversized")
    x.serves("oversized")

    deep = '{"op":0,"t":"INTERACTION_CREATE","d":' + "[" * 200000 + "]" * 200000 + "}"
    x.discord.call("/raw", {"text": deep}, timeout=30)
    c.ok(x.wait_log(r"malformed gateway payload dropped"),
         "deep nesting: dropped and said in the log", x.log()[-1500:])
    x.alive("deep nesting")

    # Nested 900 deep inside an otherwise valid interaction (cJSON's limit
    # is 1000): decoded or refused, never a crash. The id is unknown to the
    # fake, so any callback is answered 404: only the daemon's health counts.
    nested = ('{"op":0,"t":"INTERACTION_CREATE","d":{"id":"1399999999999999901",'
              '"application_id":"100000000000000001","type":2,"token":"hostile-token-nested-0001",'
              '"guild_id":"200000000000000002","channel_id":"300000000000000003",'
              '"member":{"user":{"id":"600000000000000006","username":"x"},"roles":[]},'
              '"data":{"name":"env","options":[{"name":"list","type":1,"options":'
              + "[" * 900 + "]" * 900 + "}]}}}")
    x.discord.call("/raw", {"text": nested})
    x.alive("nested interaction")

    # Invalid UTF-8, NUL-free control bytes and an escape sequence inside the
    # strings of an interaction, as a raw frame (the fake only sends valid
    # JSON text of its own).
    bad = (b'{"op":0,"t":"INTERACTION_CREATE","d":{"id":"1399999999999999902",'
           b'"application_id":"100000000000000001","type":2,"token":"hostile-token-utf8-0002",'
           b'"guild_id":"200000000000000002","channel_id":"300000000000000003",'
           b'"member":{"user":{"id":"600000000000000006","username":"\xff\xfe\x07\x1b[31m"},'
           b'"roles":["400000000000000004"]},"data":{"name":"env","options":[{"name":"extend",'
           b'"type":1,"options":[{"name":"name","type":3,"value":"\xc3\x28\xe2\x82\x01"},'
           b'{"name":"duration","type":3,"value":"\xf0\x9f\x92\xa9\xed\xa0\x80 2h"}]}]}}}')
    x.discord.call("/raw", {"hex": bad.hex()})
    end = time.monotonic() + 10
    seen = False
    while time.monotonic() < end and not seen:
        reqs = x.discord.call("/state").get("requests") or []
        seen = any("/interactions/1399999999999999902/" in q.get("path", "") for q in reqs)
        time.sleep(0.1)
    c.ok(seen, "invalid UTF-8: the interaction was decoded and answered")
    x.alive("invalid UTF-8")
    x.serves("hostile frames")


def s_surrogate(x):
    # json.dumps writes "\udcff" as the escape; cJSON refuses a lone low
    # surrogate, so the whole event is undecodable: dropped, not fatal.
    x.send("env", "extend", {"name": "dev", "duration": "\udcff2h"})
    x.send("env", "status", {"name": "\ud800"})
    time.sleep(1.0)
    x.alive("lone surrogates")
    x.serves("lone surrogates")


MENTION_VALUES = [
    "@everyone",
    "@here please",
    "<@&400000000000000004> <@600000000000000006> <@!600000000000000006> <#300000000000000003>",
    "**bold** __u__ ~~s~~ ||spoiler|| `code` ```block``` > quote [link](https://evil.example)",
    "\x07bell\x1b[31mred\x7f\x01\x1f tab\tnl\ncr\r",
    "\u202eevil\u200b@\u200beveryone @\u2060everyone",
    "@everyone" * 700,  # 6300 characters
]


def s_mentions(x):
    c = x.c
    ids = []
    n_auto = 0
    ops = (OPERATOR,)
    both = (OPERATOR, ADMIN)
    # The user's display name is hostile too: it is shown as "by ..." in
    # replies, notes, the audit and the workflow embed.
    who = "@everyone <@&400000000000000004>"
    for v in MENTION_VALUES:
        ids.append(x.send("env", "start", {"name": v}, roles=ops, user_name=who))
        ids.append(x.send("env", "extend", {"name": "dev", "duration": v}, roles=ops,
                          user_name=who))
        ids.append(x.send("env", "extend", {"name": v, "duration": "1h"}, roles=ops,
                          user_name=who))
        ids.append(x.send("env", "skip", {"name": "dev", "date": v}, roles=ops, user_name=who))
        ids.append(x.send("schedule", "pause", {"name": "dev", "until": v}, roles=both,
                          user_name=who))
        ids.append(x.send("schedule", "show", {"name": v}, roles=ops, user_name=who))
        ids.append(x.send("env", "status", {"name": v}, roles=ops, type=4, focused="name",
                          user_name=who))
        n_auto += 1
    # Accepted values that are stored and shown again later.
    ids.append(x.send("holiday", "add", {"date": "2026-12-24", "label": MENTION_VALUES[2]},
                      roles=both, user_name=who))
    ids.append(x.send("holiday", "add", {"date": "2026-12-25", "label": MENTION_VALUES[0]},
                      roles=both, user_name=who))
    ids.append(x.send("holiday", "list", roles=both, user_name=who))
    ids.append(x.send("env", "extend", {"name": "dev", "duration": "1h"}, roles=ops,
                      user_name=who))
    ids.append(x.send("env", "skip", {"name": "qa", "date": "2026-12-30"}, roles=ops,
                      user_name=who))
    ids.append(x.send("schedule", "show", {"name": "dev"}, roles=ops, user_name=who))
    # A workflow whose embed is edited as it runs (qa: EC2, two instances).
    x.aws.ctl("instances", {"instances": [
        {"id": "i-0aaaaaaaaaaaaaaa1", "state": "stopped", "tags": {"AutoStopStart": "Yes"}},
        {"id": "i-0aaaaaaaaaaaaaaa2", "state": "stopped", "tags": {"AutoStopStart": "Yes"}}]})
    wf = x.send("env", "start", {"name": "qa"}, roles=ops, user_name=who)
    ids.append(wf)
    ids.append(x.send("audit", roles=both, user_name=who))
    unanswered = [i for i in ids if x.answered(i, timeout=20) is None]
    c.ok(not unanswered, f"mentions: all {len(ids)} interactions answered",
         unanswered[:5])
    # Let the workflow finish its edits.
    end = time.monotonic() + 20
    while time.monotonic() < end:
        em = x.discord.reply(wf)["msg"]["embeds"]
        if em and em[0].get("color") in (3066993, 15158332):
            break
        time.sleep(0.2)
    time.sleep(0.5)

    st = x.discord.call("/state")
    bodies = []  # (where, body that Discord would render)
    for rec in st.get("interactions") or []:
        iid = rec.get("id")
        for r in rec.get("responses") or []:
            if r["type"] in (4, 7):
                bodies.append((f"interaction {iid} response type {r['type']}", r.get("data")))
        for e in rec.get("edits") or []:
            bodies.append((f"interaction {iid} edit", e.get("body")))
        for f in rec.get("followups") or []:
            bodies.append((f"interaction {iid} followup", f.get("body")))
    for m in st.get("messages") or []:
        mid = m.get("id")
        if m.get("interaction_id") is None:  # posted by the bot itself
            bodies.append((f"message {mid}", {"allowed_mentions": m.get("allowed_mentions"),
                                              "content": m.get("content"),
                                              "embeds": m.get("embeds")}))
        for e in m.get("edits") or []:
            bodies.append((f"message {mid} edit", e.get("body")))
    # Every interaction but the autocompletes (type 8 answers: choices,
    # which Discord does not render as a message) answered with a message.
    c.ok(len(bodies) >= len(ids) - n_auto, f"mentions: {len(bodies)} message bodies recorded")
    bad_am = [(w, (b or {}).get("allowed_mentions")) for w, b in bodies
              if (b or {}).get("allowed_mentions") != {"parse": []}]
    c.ok(not bad_am, "mentions: every message, edit and followup has allowed_mentions "
         '{"parse": []}', bad_am[:5])
    pings = []
    for w, b in bodies:
        shown = {k: v for k, v in (b or {}).items() if k != "allowed_mentions"}
        t = json.dumps(shown, ensure_ascii=False)
        m = PINGS.search(t)
        if m:
            pings.append((w, t[max(0, m.start() - 80):m.end() + 40]))
    distinct = {}
    for w, snippet in pings:
        distinct.setdefault(snippet, w)
    c.ok(not pings, f"mentions: no raw @everyone/@here/<@...> in any text ({len(pings)} "
         f"bodies, {len(distinct)} distinct)", [(w, t) for t, w in distinct.items()][:10])
    x.alive("mentions")
    x.serves("mentions")


def s_awshuge(x):
    c = x.c
    x.aws.ctl("stack", {"name": STACK, "status": "CREATE_COMPLETE",
                        "parameters": {"APIServerImageTag": "v9.9.9"}})
    x.aws.ctl("faults", {"clear": True, "rules": [
        {"match": "DescribeStacks", "count": 1, "kind": "huge", "bytes": 10 << 20}]})
    t0 = time.monotonic()
    rec = x.answered(x.send("env", "status", {"name": "dev"}), timeout=30)
    text = json.dumps(rec["msg"], ensure_ascii=False) if rec else ""
    c.ok(rec is not None, f"10 MB: /env status answered ({time.monotonic() - t0:.1f}s)")
    # libxml2 refuses a 10 MB document by default ("Huge input lookup"):
    # either the status or that error, said as AWS's, is right.
    c.ok(re.search(r"CREATE\\*_COMPLETE|AWS: .*(XML|larger than)", text),
         "10 MB: the reply has the stack status or a clear AWS error", text[:600])
    x.alive("10 MB response")

    # Over the client's cap; the fault is repeated so that retries (if any)
    # see it too.
    x.aws.ctl("faults", {"clear": True, "rules": [
        {"match": "DescribeStacks", "count": 10, "kind": "huge", "bytes": 20 << 20}]})
    t0 = time.monotonic()
    rec = x.answered(x.send("env", "status", {"name": "dev"}), timeout=45)
    text = json.dumps(rec["msg"], ensure_ascii=False) if rec else ""
    c.ok(rec is not None, f"20 MB: /env status answered ({time.monotonic() - t0:.1f}s)")
    c.ok("larger than" in text, "20 MB: the reply says the response was too large",
         text[:600])
    x.aws.ctl("faults", {"clear": True, "rules": []})
    x.alive("20 MB response")
    x.serves("huge AWS responses")


def s_zlib(x):
    """zlib-stream: a dispatch that inflates to about 18 MB (a few KB on the
    wire). The daemon drops it, reconnects and resumes; the resumed session
    replays the event, which must not trap it in a reconnect loop."""
    c = x.c
    x.restart(compress=True)
    st = x.discord.call("/state")
    conn = (st.get("connections") or [{}])[-1]
    c.ok(conn.get("query", {}).get("compress") == "zlib-stream",
         "zlib: the daemon asked for zlib-stream", conn.get("query"))
    r = x.post_raw("/dispatch", {"t": "HOSTILE_BOMB", "d": {"blob": "\u00e9" * 3_000_000}},
                   timeout=120)
    c.ok(r.get("sent") is True, "zlib: the fake sent the compressed frame", r)
    c.ok(x.wait_log(r"inflated payload too large"), "zlib: dropped and said in the log",
         x.log()[-1500:])
    x.alive("zlib bomb")
    x.serves("zlib bomb")
    before = x.discord.call("/state")["counters"].get("connections", 0)
    time.sleep(5)
    after = x.discord.call("/state")["counters"].get("connections", 0)
    c.ok(after - before <= 1, f"zlib: no reconnect loop ({after - before} connections in 5 s)")
    drops = len(re.findall(r"inflated payload too large", x.log()))
    c.ok(drops == 1, f"zlib: the event is dropped once, not on every resume ({drops} times)")
    x.serves("zlib bomb, 5 s later")


SCENARIOS = {"frames": s_frames, "surrogate": s_surrogate, "mentions": s_mentions,
             "awshuge": s_awshuge, "zlib": s_zlib}


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    d = tmpdir("envbot-hostile-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = None
    x = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        aws.ctl("images", {"repository": "chat-chat-http", "images": [
            {"tags": ["v2.0.0"], "pushed_at": 1700000000},
            {"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, aws.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     os.path.join(d, "state.json"), api_base=discord.api)
        env = aws.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"
        x = Ctx(d, aws, discord, binary, cfg, env, c)
        if not x.start():
            return c.done()
        x.serves("at start")
        for n in names:
            before = c.failed
            t0 = time.monotonic()
            SCENARIOS[n](x)
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
            if x.bot.poll() is not None:
                c.ok(False, f"envbot still running after {n}", x.bot.returncode)
                break
        x.stop()
        for path in x.logs:
            with open(path, errors="replace") as f:
                text = f.read()
            c.ok("Sanitizer" not in text and "runtime error:" not in text,
                 f"no sanitizer report in {os.path.basename(path)}", text[-3000:])
    finally:
        if x and x.bot and x.bot.poll() is None:
            x.bot.kill()
            x.bot.wait()
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
