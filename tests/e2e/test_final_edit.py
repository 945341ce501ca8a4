#!/usr/bin/env python3
"""The outbox of final progress pictures, end to end: `envbot run` against the
fake Discord (tests/fakes/fake_discord.py) and the fake AWS
(tests/fakes/fake_aws.py). Discord refuses the final edit (500s injected on
PATCH), the daemon is killed with SIGKILL once the workflow has finished, the
fake is healed and the daemon restarted; then:

  edit  the progress message now shows the final outcome, through exactly one
        edit (the channel route: the interaction token is not used after a
        restart), no new message, the workflow not re-run, and its record gone
        from the state file
  post  every edit refused from the start, so the message id was never
        learnt: the final picture is posted as one new channel message
  gone  the message is gone when the restarted daemon edits it (404): the
        record is dropped with a log line, nothing is retried

usage: test_final_edit.py ENVBOT_BINARY [SCENARIO...]
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (BLUE, GREEN, RED, Checks, FakeAws, FakeDiscord,  # noqa: E402
                      tmpdir, write_config)

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
STACK = "ChatAppMasterStack"
REPO = "chat-chat-http"
FINAL = (GREEN, RED)


class World:
    def __init__(self, binary, d, aws, discord):
        self.binary, self.d, self.aws, self.dc = binary, d, aws, discord
        self.cfg = os.path.join(d, "envbot.cfg")
        self.state_path = os.path.join(d, "state.json")
        write_config(self.cfg, aws.url,
                     "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                     self.state_path, api_base=discord.api)
        self.proc = None
        self.runs = 0
        self.logs = []

    def start(self):
        self.runs += 1
        env = self.aws.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"
        path = os.path.join(self.d, "envbot-%d.log" % self.runs)
        self.logs.append(path)
        self.log = open(path, "wb")
        ready0 = self.dc.call("/state")["counters"].get("ready", 0)
        self.proc = subprocess.Popen([self.binary, "-c", self.cfg, "run"], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        w = self.dc.call("/wait?counter=ready&min=%d&timeout=20" % (ready0 + 1), timeout=25)
        if not w.get("ok"):
            raise RuntimeError("envbot did not connect:\n" + self.text()[-3000:])

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)  # our own child, by its pid
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.log.close()
            return rc
        return None

    def text(self, run=None):
        path = self.logs[-1 if run is None else run - 1]
        with open(path, errors="replace") as f:
            return f.read()

    def state(self):
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def outbox(self, env):
        return [r for r in self.state().get("outbox") or [] if r.get("env") == env]

    def wait(self, pred, timeout=30, step=0.1):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = pred()
            if v:
                return v
            time.sleep(step)
        return pred()

    def final_sightings(self, iid, wid):
        """Every accepted picture of workflow wid that shows an outcome: edits
        of the interaction's original (webhook), edits of it as a channel
        message, and new channel messages carrying it."""
        st = self.dc.call("/state")
        rec = self.dc.call("/interaction/%s" % iid)
        oid = (rec.get("original") or {}).get("id")
        out = []
        for ed in rec.get("edits") or []:
            out += [("webhook edit", e) for e in (ed.get("body") or {}).get("embeds") or []]
        for m in st["messages"]:
            if m["id"] == oid:
                for ed in m.get("edits") or []:
                    out += [("channel edit", e)
                            for e in (ed.get("body") or {}).get("embeds") or []]
            elif not m.get("interaction_id"):
                out += [("new message", e) for e in m.get("embeds") or []
                        if (e.get("footer") or {}).get("text") == "workflow " + wid]
        return [(how, e) for how, e in out if e.get("color") in FINAL]

    def shown(self, iid):
        """The embed the user sees on the interaction's message now."""
        st = self.dc.call("/state")
        oid = (self.dc.call("/interaction/%s" % iid).get("original") or {}).get("id")
        for m in st["messages"]:
            if m["id"] == oid:
                return (m.get("embeds") or [{}])[0]
        return {}

    def failed_final_patch(self, since):
        for q in self.dc.call("/state")["requests"][since:]:
            em = (q.get("body") or {}).get("embeds") if isinstance(q.get("body"), dict) else None
            if q["method"] == "PATCH" and q["status"] == 500 and em and \
                    em[0].get("color") in FINAL:
                return True
        return False

    def finish_behind_a_wall(self, c, tag, action, fail_from_start):
        """/env ACTION dev while Discord refuses edits; returns (iid, wid)
        once the workflow has finished, its final record is on disk and a
        final edit has been refused; then kill -9, heal, restart."""
        self.aws.ctl("behavior", {"stack": STACK, "create_seconds": 1.5,
                                  "delete_seconds": 1.5})
        n_req = len(self.dc.call("/state")["requests"])
        if fail_from_start:
            self.dc.call("/fail", {"method": "PATCH", "path": "/messages/", "status": 500,
                                   "count": 100000})
        iid = self.dc.slash(action, "dev")
        if not fail_from_start:
            # The picture in progress reached Discord (so the message id is
            # known and saved); then every edit is refused.
            rec = self.wait(lambda: [e for e in self.dc.call("/interaction/%s" % iid)
                                     .get("edits") or []
                                     if ((e.get("body") or {}).get("embeds") or [{}])[0]
                                     .get("color") == BLUE], 15)
            c.ok(rec, "%s: an in-progress edit landed first" % tag)
            self.wait(lambda: any(w.get("message_id")
                                  for w in self.state().get("workflows") or []), 10)
            self.dc.call("/fail", {"method": "PATCH", "path": "/messages/", "status": 500,
                                   "count": 100000})
        rec = self.wait(lambda: self.outbox("dev"), 30)
        c.ok(rec, "%s: the finished workflow's final record is in the state file" % tag,
             self.state())
        wid = rec[0]["id"] if rec else "?"
        c.ok(not [w for w in self.state().get("workflows") or [] if w.get("env") == "dev"],
             "%s: and its running record is gone" % tag, self.state().get("workflows"))
        c.ok(self.wait(lambda: self.failed_final_patch(n_req), 20),
             "%s: Discord refused the final edit" % tag)
        self.kill9()
        c.ok(not self.final_sightings(iid, wid),
             "%s: before the restart no picture shows the outcome (the hole)" % tag,
             self.final_sightings(iid, wid))
        self.dc.call("/fail", {"clear": True})
        return iid, wid


def creates(aws):
    return len(aws.requests("CreateStack"))


def s_edit(W, c):
    c0 = creates(W.aws)
    iid, wid = W.finish_behind_a_wall(c, "edit", "start", False)
    n_req = len(W.dc.call("/state")["requests"])
    W.start()
    e = W.wait(lambda: W.shown(iid).get("color") in FINAL and W.shown(iid), 20)
    c.ok(e and e.get("color") == GREEN and "dev is up" in (e.get("title") or ""),
         "edit: after the restart the message shows the outcome", W.shown(iid))
    c.ok(W.wait(lambda: not W.outbox("dev"), 10), "edit: the final record is gone",
         W.state().get("outbox"))
    time.sleep(1.0)  # a second send would be a bug: look again
    seen = W.final_sightings(iid, wid)
    c.ok(len(seen) == 1 and seen[0][0] == "channel edit",
         "edit: the outcome shown exactly once, by a channel-route edit", seen)
    patches = [q for q in W.dc.call("/state")["requests"][n_req:] if q["method"] == "PATCH"]
    c.ok(len(patches) == 1 and patches[0]["path"].startswith("/channels/"),
         "edit: one PATCH after the restart, none through the expired-token route",
         [(q["path"], q["status"]) for q in patches])
    c.ok(creates(W.aws) == c0 + 1, "edit: the finished workflow was not re-run",
         creates(W.aws) - c0)
    c.ok("final progress picture delivered" in W.text(), "edit: logged",
         W.text()[-2000:])


def s_post(W, c):
    iid, wid = W.finish_behind_a_wall(c, "post", "stop", True)
    ob = W.outbox("dev")
    c.ok(ob and not ob[0].get("message_id"), "post: the final record has no message id",
         W.state().get("outbox"))
    W.start()
    seen = W.wait(lambda: W.final_sightings(iid, wid), 20)
    c.ok(W.wait(lambda: not W.outbox("dev"), 10), "post: the final record is gone",
         W.state().get("outbox"))
    time.sleep(1.0)
    seen = W.final_sightings(iid, wid)
    c.ok(len(seen) == 1 and seen[0][0] == "new message" and
         seen[0][1].get("color") == GREEN and "dev is down" in seen[0][1].get("title", ""),
         "post: the outcome posted as one new message", seen)


def s_gone(W, c):
    iid, wid = W.finish_behind_a_wall(c, "gone", "start", False)
    n_req = len(W.dc.call("/state")["requests"])
    # The message was deleted meanwhile: Discord answers 404 Unknown Message.
    oid = (W.dc.call("/interaction/%s" % iid).get("original") or {}).get("id")
    W.dc.call("/fail", {"method": "PATCH", "path": "/channels/.*/messages/%s" % oid,
                        "status": 404, "count": 1000})
    W.start()
    c.ok(W.wait(lambda: not W.outbox("dev"), 20), "gone: the final record is dropped",
         W.state().get("outbox"))
    time.sleep(2.5)  # longer than the first retry step: nothing may follow
    patches = [q for q in W.dc.call("/state")["requests"][n_req:] if q["method"] == "PATCH"]
    c.ok(len(patches) == 1 and patches[0]["status"] == 404,
         "gone: one attempt, not retried", [(q["path"], q["status"]) for q in patches])
    c.ok("refused for good; dropped" in W.text(), "gone: logged", W.text()[-2000:])
    W.dc.call("/fail", {"clear": True})


SCENARIOS = {"edit": s_edit, "post": s_post, "gone": s_gone}


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    d = tmpdir("envbot-final-edit-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = None
    W = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        aws.ctl("images", {"repository": REPO, "images": [
            {"tags": ["v2.0.0"], "pushed_at": 1700000000},
            {"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})
        W = World(binary, d, aws, discord)
        W.start()
        for n in names:
            before = c.failed
            t0 = time.monotonic()
            SCENARIOS[n](W, c)
            print(f"-- {n}: {'ok' if c.failed == before else 'FAILED'} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
            if W.proc.poll() is not None:
                c.ok(False, f"envbot still running after {n}", W.proc.returncode)
                break
        rc = W.stop()
        c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")
        bad = [p for p in W.logs
               if "Sanitizer" in open(p, errors="replace").read() or
               "runtime error:" in open(p, errors="replace").read()]
        c.ok(not bad, "no sanitizer report", bad)
    finally:
        if W and W.proc and W.proc.poll() is None:
            W.proc.kill()
            W.proc.wait()
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
