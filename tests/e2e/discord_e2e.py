#!/usr/bin/python3
"""End-to-end tests of envbot's Discord side: the real `envbot` binary against
tests/fakes/fake_discord.py on loopback.

usage: discord_e2e.py ENVBOT_BINARY SCENARIO
Each scenario is registered as its own ctest (tests/CMakeLists.txt, "discord"). Exit 0 on
success, 1 on failure (with the bot's and the fake's logs on stderr)."""

import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from discord_harness import APP_ID, TOKEN, Failure, Harness, check  # noqa: E402

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def started(h, **kw):
    h.start_fake()
    h.start_bot(**kw)
    h.wait_ready()
    return h


def answered_once(h, iid, edits=1, timeout=5.0):
    r = h.wait_answered(iid, timeout=timeout, edits=edits)
    check(len(r.get("responses", [])) == 1,
          "interaction %s: %d responses" % (iid, len(r.get("responses", []))))
    check(len(r.get("edits", [])) >= edits, "interaction %s: no edit" % iid)
    return r


@scenario
def flow(h):
    """connect -> interaction -> deferred ACK -> edit original; an immediate
    ephemeral reply; autocomplete; components; what each request carried."""
    started(h)
    # /env start (operator): public deferred ACK, then the progress embed
    # edits @original (AWS is a closed loopback port: the run fails fast).
    i = h.interaction(command="env", subcommand="start", options={"name": "dev"})
    r = answered_once(h, i["id"])
    resp = r["responses"][0]
    check(resp["type"] == 5, "deferred ACK expected, got type %s" % resp["type"])
    check(not resp["data"].get("flags", 0) & 64, "a workflow's progress is public")
    check(resp["latency_ms"] < 3000, "ACK too late")
    edit = r["edits"][0]["body"]
    check(edit.get("embeds") or edit.get("content"), "empty edit")
    check(edit.get("allowed_mentions") == {"parse": []}, "allowed_mentions missing on the edit")

    # /holiday list: answered at once (type 4), only for the caller.
    j = h.interaction(command="holiday", subcommand="list", options={})
    r = h.wait_answered(j["id"])
    check(r["responses"] and r["responses"][0]["type"] == 4, "immediate reply expected")
    check(r["responses"][0]["data"].get("flags") == 64, "reply should be ephemeral")

    a = h.interaction(type=4, command="env", subcommand="start", options={"name": "d"},
                      focused="name")
    r = h.wait_answered(a["id"])
    check(r["responses"] and r["responses"][0]["type"] == 8, "autocomplete answer")
    names = [c["name"] for c in r["responses"][0]["data"]["choices"]]
    check("dev" in names and "qa" not in names, "autocomplete choices %r" % names)

    b = h.interaction(type=3, custom_id="confirm:dev")
    r = h.wait_answered(b["id"])
    check(len(r["responses"]) == 1 and r["responses"][0]["type"] in (4, 6, 7),
          "component answer %r" % r["responses"])

    st = h.state()
    for req in st["requests"]:
        check(req["ua"].startswith("DiscordBot (https://"), "User-Agent %r" % req["ua"])
        tokened = req["path"].startswith("/interactions/") or req["path"].startswith("/webhooks/")
        check(req["auth"] != tokened,
              "Authorization %s on %s" % ("sent" if req["auth"] else "missing", req["route"]))
    conn = st["connections"][0]
    check(conn["query"].get("v") == "10" and conn["query"].get("encoding") == "json",
          "gateway query %r" % conn["query"])
    check(conn["identify_d"].get("intents") == 0, "IDENTIFY intents 0")
    props = conn["identify_d"].get("properties", {})
    check(set(props) >= {"os", "browser", "device"}, "IDENTIFY properties %r" % props)
    check(len(conn["heartbeats"]) >= 1 or h.wait("heartbeats", 1, 3), "no heartbeat")
    check(st["counters"].get("commands_put") == 1, "commands registered once at start-up")


@scenario
def register_commands(h):
    h.start_fake()
    r = h.run("register-commands")
    check(r.returncode == 0 and "registered 9" in r.stdout, "first run: %r %r" % (r.stdout, r.stderr))
    r = h.run("register-commands")
    check(r.returncode == 0 and "up to date" in r.stdout, "second run: %r" % r.stdout)
    check(h.counters().get("commands_put") == 1, "PUT only when changed")
    cmds = h.state()["commands"]["200000000000000002"]
    names = sorted(c["name"] for c in cmds)
    check(names == sorted(["env", "schedule", "holiday", "tags", "cost", "freeze", "unfreeze",
                           "audit", "report"]), "command names %r" % names)
    env = [c for c in cmds if c["name"] == "env"][0]
    subs = {o["name"]: o for o in env["options"]}
    check(set(subs) == {"list", "status", "start", "stop", "extend", "skip"}, "env subs")
    check(subs["start"]["options"][0].get("autocomplete") is True, "name autocomplete")
    r = h.run("register-commands", token="wrong-token-000000")
    check(r.returncode == 3, "401 must exit 3, got %d" % r.returncode)
    h.start_bot()
    h.wait_ready()
    check(h.counters().get("commands_put") == 1, "run must not re-register unchanged commands")


@scenario
def resume_replay(h):
    """Drop the TCP connection; the bot resumes at resume_gateway_url; events
    replayed by the gateway (including ones it already answered) are handled
    exactly once; an interaction created while it was away is answered."""
    started(h)
    first = h.interaction()
    answered_once(h, first["id"])
    h.ctl("replay_extra", {"n": 3})
    h.ctl("drop")
    missed = h.interaction()  # queued while disconnected: replayed on resume
    check(h.wait("resumed", 1, 10), "no RESUMED")
    answered_once(h, missed["id"])
    after = h.interaction()
    answered_once(h, after["id"])
    st = h.state()
    check(st["counters"].get("replayed", 0) >= 2, "fake replayed nothing")
    check(st["counters"].get("callbacks_duplicate", 0) == 0, "an interaction was answered twice")
    check(st["counters"]["identifies"] == 1, "resume must not IDENTIFY")
    resumed = [c for c in st["connections"] if c["resume"]]
    check(resumed and resumed[0]["path"].startswith("/gateway-resume"),
          "RESUME not sent to resume_gateway_url")
    first_rec = h.interaction_record(first["id"])
    check(len(first_rec["responses"]) == 1, "first interaction answered %d times" %
          len(first_rec["responses"]))
    check(h.wait_log("replayed interaction ignored"), "dedup not logged")


@scenario
def zombie(h):
    started(h)
    h.ctl("heartbeat_ack", {"enabled": False})
    check(h.wait("resumed", 1, 10), "zombie connection not replaced")
    st = h.state()
    check(st["connections"][0]["close_code"] not in (None, 1000),
          "zombie close code %r (must not be 1000)" % st["connections"][0]["close_code"])
    check(h.wait_log("heartbeat not acknowledged"), "zombie not logged")
    check(st["counters"]["identifies"] == 1, "zombie must resume, not IDENTIFY")
    i = h.interaction()
    answered_once(h, i["id"])


@scenario
def op7(h):
    started(h)
    h.ctl("reconnect")
    check(h.wait("resumed", 1, 10), "op 7 did not lead to RESUME")
    check(h.counters()["identifies"] == 1, "op 7 must resume")
    answered_once(h, h.interaction()["id"])


@scenario
def op9_resumable(h):
    started(h)
    h.ctl("invalidate", {"resumable": True})
    check(h.wait("resumed", 1, 10), "op 9 true did not RESUME")
    check(h.counters()["identifies"] == 1, "op 9 true must not IDENTIFY")
    answered_once(h, h.interaction()["id"])


@scenario
def op9_new_session(h):
    started(h)
    t0 = time.time()
    h.ctl("invalidate", {"resumable": False})
    check(h.wait("identifies", 2, 10), "op 9 false did not IDENTIFY anew")
    waited = time.time() - t0
    check(waited >= 0.9, "IDENTIFY after op 9 false came after %.2fs (< 1 s)" % waited)
    check(h.wait("ready", 2, 5), "no second READY")
    check(h.counters().get("resumes", 0) == 0, "op 9 false must not RESUME")
    answered_once(h, h.interaction()["id"])


@scenario
def start_limit(h):
    """session_start_limit exhausted: IDENTIFY waits for reset_after."""
    h.start_fake()
    h.ctl("session_start_limit", {"remaining": 0, "reset_after": 1500})
    t0 = time.time()
    h.start_bot()
    h.wait_ready(timeout=10)
    check(time.time() - t0 >= 1.4, "IDENTIFY did not wait for the reset (%.2fs)" %
          (time.time() - t0))
    check(h.counters().get("identify_over_limit", 0) == 0, "IDENTIFY over the limit")
    check(h.wait_log("session start limit reached"), "wait not logged")
    answered_once(h, h.interaction()["id"])


@scenario
def close_resumable(h):
    started(h)
    for n, code in enumerate((4000, 1001, 4008), start=1):
        h.ctl("close", {"code": code})
        check(h.wait("resumed", n, 10), "close %d did not resume" % code)
    check(h.counters()["identifies"] == 1, "resumable closes must not IDENTIFY")
    answered_once(h, h.interaction()["id"])


@scenario
def close_new_session(h):
    started(h)
    for n, code in enumerate((4009, 4007), start=2):
        h.ctl("close", {"code": code})
        check(h.wait("ready", n, 15), "close %d did not start a new session" % code)
    check(h.counters().get("resumes", 0) == 0, "4007/4009 must not RESUME")
    answered_once(h, h.interaction()["id"])


@scenario
def close_fatal(h):
    h.start_fake()
    for code in (4004, 4010, 4011, 4012, 4013, 4014):
        h.start_bot()
        h.wait_ready(n=1 if code == 4004 else None or 1)
        h.ctl("close", {"code": code})
        rc = h.wait_exit(10)
        # Intents the application may not use are a configuration error
        # (exit 2: a restart cannot fix it); the others are the token's (3).
        want = 2 if code in (4013, 4014) else 3
        check(rc == want, "close %d: exit %r, expected %d" % (code, rc, want))
        h.ctl("reset")
    check(h.wait_log("gateway closed for good"), "fatal close not explained")


@scenario
def close_intents(h):
    """Discord refuses the IDENTIFY itself (before READY) with 4013 or 4014:
    the bot stops at once with exit 2 and says why, and never retries."""
    h.start_fake()
    for code, why in ((4013, "invalid intents"), (4014, "disallowed intents")):
        h.ctl("refuse_identify", {"code": code})
        h.start_bot()
        rc = h.wait_exit(15)
        check(rc == 2, "IDENTIFY closed with %d: exit %r, expected 2" % (code, rc))
        check(h.wait_log("code=%d why=\"%s" % (code, why)), "close %d not explained" % code)
        c = h.counters()
        check(c.get("identify_refused") == 1,
              "close %d: %r IDENTIFYs refused, expected 1 (no retry)"
              % (code, c.get("identify_refused")))
        check(not c.get("ready"), "close %d: READY seen" % code)
        h.ctl("reset")


@scenario
def bad_token(h):
    h.start_fake()
    h.start_bot(token="wrong-token-000000")
    rc = h.wait_exit(10)
    check(rc == 3, "401 at start-up: exit %r, expected 3" % rc)
    check(h.wait_log("refused the bot token"), "401 not explained")


@scenario
def rest_429_route(h):
    started(h)
    h.ctl("fail", {"path": "/webhooks/", "status": 429, "count": 2, "retry_after": 0.4})
    i = h.interaction()
    r = answered_once(h, i["id"], timeout=8)
    delay = r["edits"][0]["t"] - r["responses"][0]["t"]
    check(delay >= 0.75, "edit retried too early after two 429s (%.2fs)" % delay)
    st = h.state()
    edits = [q for q in st["requests"] if q["path"].startswith("/webhooks/")]
    check(len(edits) == 3, "expected 2 refused + 1 accepted edit, saw %d" % len(edits))
    check(st["counters"]["rest_429"] == 2, "429 count")
    # Pre-emptive: the callback route learnt nothing bad; the next one is fast.
    j = h.interaction()
    r = answered_once(h, j["id"])
    check(r["responses"][0]["latency_ms"] < 1000, "later ACK slowed down")


@scenario
def rest_429_global(h):
    h.start_fake()
    h.ctl("fail", {"method": "GET", "path": "/commands$", "status": 429, "count": 1,
                   "retry_after": 1.0, "global": True})
    t0 = time.time()
    r = h.run("register-commands")
    took = time.time() - t0
    check(r.returncode == 0, "register-commands after a global 429: %r" % r.stderr)
    st = h.state()
    gets = [q for q in st["requests"] if q["method"] == "GET" and q["path"].endswith("/commands")]
    check(len(gets) == 2, "GET retried once, saw %d" % len(gets))
    check(gets[1]["t"] - gets[0]["t"] >= 0.95, "retried before retry_after (%.2fs)" %
          (gets[1]["t"] - gets[0]["t"]))
    puts = [q for q in st["requests"] if q["method"] == "PUT"]
    check(puts and puts[0]["t"] - gets[0]["t"] >= 0.95, "global wait not applied to other routes")
    check(took < 10, "took %.1fs" % took)
    # A global 429 on an interaction route holds that request only.
    h.start_bot()
    h.wait_ready()
    h.ctl("fail", {"path": "/webhooks/", "status": 429, "count": 1, "retry_after": 0.5,
                   "global": True})
    r = answered_once(h, h.interaction()["id"], timeout=8)
    check(r["edits"][0]["t"] - r["responses"][0]["t"] >= 0.45, "edit ignored retry_after")


@scenario
def rest_5xx(h):
    started(h)
    h.ctl("fail", {"path": "/webhooks/", "status": 502, "count": 2})
    r = answered_once(h, h.interaction()["id"], timeout=10)
    st = h.state()
    edits = [q for q in st["requests"] if q["path"].startswith("/webhooks/")]
    check([q["status"] for q in edits] == [502, 502, 200], "statuses %r" %
          [q["status"] for q in edits])
    # Retries are bounded: a route that keeps failing gives up, the bot lives.
    h.ctl("fail", {"path": "/webhooks/", "status": 500, "count": 100})
    i = h.interaction()
    time.sleep(6)
    rec = h.interaction_record(i["id"])
    check(len(rec["responses"]) == 1, "ACK must not depend on the failing route")
    n = len([q for q in h.state()["requests"] if q["path"].startswith("/webhooks/")]) - 3
    check(1 < n <= 5, "edit attempts against a failing route: %d (want 2..5)" % n)
    check(h.bot.poll() is None, "bot died")
    h.ctl("fail", {"path": "/webhooks/", "status": 500, "count": 0})


def burst(h, count, interval_ms, delay_ms=0):
    started(h)
    if delay_ms:
        h.ctl("delay", {"ms": delay_ms})
    h.interactions(count, interval_ms)
    check(h.wait("callbacks", count + 0, 30), "not every interaction was acknowledged")
    time.sleep(0.5)
    lat = h.ctl("latency")
    c = h.counters()
    check(lat["late"] == 0 and lat["unanswered"] == 0,
          "late %d unanswered %d" % (lat["late"], lat["unanswered"]))
    check(c.get("callbacks_duplicate", 0) == 0, "duplicate ACKs")
    check(lat["max_ms"] < 3000, "max ACK latency %.1f ms" % lat["max_ms"])
    check(h.wait("edits", count, 30), "not every original was edited")
    if interval_ms:
        # The gateway thread kept its heartbeat rhythm while the loop was
        # busy (not checked for the all-at-once burst: there the fake
        # itself is too busy to timestamp heartbeats faithfully).
        beats = [b["t"] for b in h.state()["connections"][0]["heartbeats"]]
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        check(len(beats) >= 2 and max(gaps) < h.hb / 1000.0 * 1.5,
              "heartbeat gaps %r (interval %d ms)" % (gaps, h.hb))
    print("burst count=%d interval_ms=%d delay_ms=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" %
          (count, interval_ms, delay_ms, lat["p50_ms"], lat["p99_ms"], lat["max_ms"]))
    return lat


@scenario
def burst_500(h):
    burst(h, 500, 0)


@scenario
def burst_delay(h):
    """200 interactions per second with 50 ms of REST latency."""
    burst(h, 500, 5, delay_ms=50)


@scenario
def latency(h):
    """The figures for the report: ACK latency (fake sends INTERACTION_CREATE
    -> fake receives the callback) over 1000 interactions, 200 per second,
    for an immediate reply (/holiday list) and for a deferred one that also
    calls AWS and edits @original (/env status); idle RSS after READY."""
    started(h)
    time.sleep(1.0)
    rss_idle = h.rss_kb()
    for name, spec in (("holiday_list", dict(command="holiday", subcommand="list",
                                             options={})),
                       ("env_status", {})):
        h.ctl("reset")
        h.interactions(1000, 5, **spec)
        check(h.wait("callbacks", 1000, 30), "not all acknowledged")
        time.sleep(0.5)
        lat = h.ctl("latency")
        print("latency %s count=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" %
              (name, lat["count"], lat["p50_ms"], lat["p99_ms"], lat["max_ms"]))
        check(lat["late"] == 0 and lat["count"] == 1000, "late or missing")
    print("rss idle_after_ready_kb=%d after_2000_interactions_kb=%d" % (rss_idle, h.rss_kb()))


@scenario
def sigterm(h):
    started(h)
    h.bot.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    check(h.bot.poll() is None, "SIGHUP must not stop the bot")
    h.bot.send_signal(signal.SIGTERM)
    rc = h.wait_exit(5)
    check(rc == 0, "SIGTERM exit %r" % rc)
    time.sleep(0.2)
    code = h.state()["connections"][0]["close_code"]
    check(code == 1000, "gateway close code %r, expected 1000" % code)


@scenario
def malformed(h):
    started(h)
    h.ctl("raw", {"text": "this is not json {"})
    h.ctl("raw", {"text": '{"op": "x"}'})
    h.ctl("raw", {"hex": "00ff00ff"})
    h.ctl("dispatch", {"t": "INTERACTION_CREATE", "d": {"id": "nope"}})
    # A dispatch in three websocket fragments is reassembled.
    i = h.interaction()  # normal one first, to get a token the fake knows
    answered_once(h, i["id"])
    st = h.state()
    check(st["counters"]["identifies"] == 1 and st["counters"].get("resumes", 0) == 0,
          "malformed frames must not cost the connection")
    import json as _json
    spec = h.interaction()
    # Re-send the same interaction id fragmented: the bot must treat it as a
    # replay (answered once) and stay connected.
    payload = _json.dumps({"op": 0, "t": "INTERACTION_CREATE", "s": 1000,
                           "d": {"id": spec["id"], "type": 2, "token": spec["token"],
                                 "data": {"name": "env"}}})
    third = len(payload) // 3
    h.ctl("raw", {"fragments": [payload[:third], payload[third:2 * third], payload[2 * third:]]})
    answered_once(h, spec["id"])
    check(h.wait_log("replayed interaction ignored"), "fragmented dispatch not reassembled")
    check(h.wait_log("malformed gateway payload dropped"), "malformed payload not logged")
    check(h.bot.poll() is None and h.counters().get("resumes", 0) == 0, "connection lost")


@scenario
def tls(h):
    """The production path: https:// REST and wss:// gateway with
    certificate verification on (a test CA trusted through SSL_CERT_FILE);
    an untrusted certificate is refused."""
    ca, cert, key = h.make_tls()
    h.start_fake(tls=(ca, cert, key))
    h.start_bot()  # SSL_CERT_FILE not set: the test CA is not trusted
    time.sleep(2)
    st = h.state()
    check(st["counters"].get("requests", 0) == 0 and not st["connections"],
          "an untrusted certificate was accepted")
    check(h.bot.poll() is None, "the bot must keep retrying, not exit")
    h.close_bot()
    h.env["SSL_CERT_FILE"] = ca
    h.start_bot()
    h.wait_ready()
    check(h.state()["connections"][0]["query"].get("v") == "10", "wss gateway")
    answered_once(h, h.interaction()["id"])
    h.ctl("drop")
    check(h.wait("resumed", 1, 10), "no resume over wss")
    answered_once(h, h.interaction()["id"])


@scenario
def compress(h):
    h.env["ENVBOT_GATEWAY_COMPRESS"] = "1"
    started(h)
    st = h.state()
    check(st["connections"][0]["query"].get("compress") == "zlib-stream", "compress not asked")
    for _ in range(3):
        answered_once(h, h.interaction()["id"])
    h.ctl("drop")
    check(h.wait("resumed", 1, 10), "no resume with compression")
    answered_once(h, h.interaction()["id"])


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        sys.stderr.write("usage: %s ENVBOT SCENARIO (%s)\n" % (sys.argv[0], ", ".join(SCENARIOS)))
        return 2
    h = Harness(os.path.abspath(sys.argv[1]))
    try:
        SCENARIOS[sys.argv[2]](h)
        # Secrets never reach the log: the bot token and interaction tokens.
        secrets = [TOKEN] + [i["token"] for i in h.state()["interactions"]]
        for path in h.bot_logs:
            with open(path) as f:
                text = f.read()
            leaked = [x for x in secrets if x in text]
            check(not leaked, "%d secret(s) in %s" % (len(leaked), path))
        rc = h.close()
        check(rc in (None, 0), "bot exit status on SIGTERM: %r" % rc)
        found = h.sanitizer_reports()
        check(not found, "sanitizer: %s" % "; ".join(found))
    except Failure as e:
        sys.stderr.write("FAIL %s: %s\n" % (sys.argv[2], e))
        h.close()
        h.dump()
        return 1
    except Exception:
        h.close()
        h.dump()
        raise
    shutil.rmtree(h.tmp, ignore_errors=True)
    print("ok %s" % sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
