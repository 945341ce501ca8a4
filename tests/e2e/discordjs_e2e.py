#!/usr/bin/python3
"""Proves tests/fakes/fake_discord.py realistic: a minimal discord.js bot
(tests/discordjs/bot.js) connects to the fake, receives an interaction,
ACKs it with a deferred response, edits the original, posts a channel
message, then uploads files the way discord.js does (multipart/form-data:
a followup with two files, a channel message with one), and the fake must
have accepted every step and recorded the files byte for byte.

With ENVBOT_BINARY, `envbot register-commands` registers envbot's commands
with their Korean translations (po/ko.po) first; discord.js reads them back
with ?with_localizations=true, finds a Korean description on every command,
subcommand and option, PUTs them again (envbot then sees them unchanged),
and a locale Discord does not have is refused with 50035 as discord.js
reports Discord's errors.

usage: discordjs_e2e.py TESTS_DISCORDJS_DIR [ENVBOT_BINARY]
Exit 77 (skipped) when node is missing or discord.js cannot be installed."""

import base64
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from discord_harness import APP_ID, TOKEN, Failure, Harness, check  # noqa: E402

# bot.js's files, built the same way.
CHART = bytearray((i * 7 + 3) & 0xFF for i in range(3000))
CHART[0:8] = b"\x89PNG\r\n\x1a\n"
CHART[1000:1016] = b"\r\n--boundary\r\n\r\n"
CHART = bytes(CHART)
CSV = b'environment,hours\r\n"a,""b""",1.50\r\n'


def check_files(st, attachments, want, what):
    """attachments (the fake's objects) hold exactly want [(name, bytes)]."""
    check([a["filename"] for a in attachments] == [n for n, _ in want],
          "%s: attachments %r" % (what, attachments))
    for a, (name, data) in zip(attachments, want):
        up = st["uploads"].get(a["id"])
        check(up is not None, "%s: no upload recorded for %s" % (what, name))
        got = base64.b64decode(up["data_b64"])
        check(got == data and a["size"] == len(data),
              "%s: %s is %d bytes, not the %d sent" % (what, name, len(got), len(data)))


def ensure_modules(d):
    if os.path.isdir(os.path.join(d, "node_modules", "discord.js")):
        return True
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        return False
    cmd = [npm, "ci"] if os.path.exists(os.path.join(d, "package-lock.json")) else [npm, "install"]
    try:
        r = subprocess.run(cmd + ["--no-audit", "--no-fund"], cwd=d, capture_output=True,
                           text=True, timeout=240)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and os.path.isdir(os.path.join(d, "node_modules", "discord.js"))


def main():
    d = os.path.abspath(sys.argv[1])
    if not ensure_modules(d):
        print("skipped: node or discord.js not available")
        return 77
    binary = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    h = Harness(binary=binary,
                env={"ENVBOT_PO_DIR": os.path.join(d, "..", "..", "po")} if binary else None)
    node = None
    lines = []
    try:
        h.start_fake()
        env = dict(os.environ, FAKE_PORT=str(h.port), DISCORD_TOKEN=TOKEN)
        if binary:
            r = h.run("register-commands")
            check(r.returncode == 0 and h.counters().get("commands_put") == 1,
                  "envbot registered its commands: %r" % r.stderr[-1000:])
            env["COMMANDS_GUILD"] = "200000000000000002"
        node = subprocess.Popen(["node", "bot.js"], cwd=d, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=lambda: [lines.append(x.strip()) for x in node.stdout],
                         daemon=True).start()

        def wait_line(prefix, timeout):
            end = time.time() + timeout
            while time.time() < end:
                for x in lines:
                    if x.startswith(prefix):
                        return x
                if node.poll() is not None:
                    break
                time.sleep(0.05)
            raise Failure("discord.js never printed %r; output: %r" % (prefix, lines[-20:]))

        wait_line("READY", 30)
        if binary:
            got = wait_line("COMMANDS ", 5).split()
            n, ko = int(got[1].split("=")[1]), int(got[2].split("=")[1])
            check(n > 30 and ko == n, "a Korean description for each of the %d: %d" % (n, ko))
            check(" ".join(got[3:]) == "env=환경: 목록, 상태, 시작, 중지, 연장, 건너뛰기",
                  "/env in Korean: %r" % got)
            wait_line("COMMANDS_SET", 5)
            check(h.counters().get("commands_put") == 2, "discord.js PUT them again")
            refused = wait_line("REFUSED ", 5)
            check(refused.startswith("REFUSED 50035 ") and "description_localizations.kr" in
                  refused, "a locale Discord lacks refused as Discord does: %r" % refused)
            r = h.run("register-commands")
            check(r.returncode == 0 and "already up to date" in r.stdout and
                  h.counters().get("commands_put") == 2,
                  "envbot sees discord.js's copy unchanged: %r" % (r.stdout + r.stderr))
        i = h.interaction(command="env", subcommand="status", options={"name": "dev"})
        wait_line("DONE " + i["id"], 15)
        check(not any(x.startswith("ERROR") for x in lines), "discord.js error: %r" % lines)
        r = h.interaction_record(i["id"])
        check(len(r["responses"]) == 1 and r["responses"][0]["type"] == 5,
              "deferred ACK: %r" % r["responses"])
        check(r["responses"][0]["data"].get("flags") == 64, "ephemeral flag")
        check(r["responses"][0]["latency_ms"] < 3000, "ACK within the deadline")
        check(len(r["edits"]) == 1 and r["edits"][0]["body"]["content"] == "pong: /env",
              "edit of @original: %r" % r["edits"])
        st = h.state()
        msgs = st["messages"]
        check(len(msgs) == 2 and msgs[0]["content"] == "done" and not msgs[0]["attachments"],
              "channel message %r" % msgs)
        # the followup with two files (interaction.followUp)
        check(len(r["followups"]) == 1, "one followup: %r" % r["followups"])
        fu = r["followups"][0]
        check(fu["body"]["content"] == "report" and
              fu["body"]["embeds"][0]["image"]["url"] == "attachment://chart.png",
              "followup payload_json %r" % fu["body"])
        check_files(st, fu["attachments"] or [], [("chart.png", CHART), ("report.csv", CSV)],
                    "followup")
        # the channel message with a file (REST post with files)
        up = msgs[1]
        check_files(st, up["attachments"], [("chart.png", CHART)], "channel upload")
        check(up["attachments"][0]["content_type"] == "image/png",
              "content type %r" % up["attachments"][0]["content_type"])
        # the attachment url serves the same bytes (the fake's CDN)
        with urllib.request.urlopen(up["attachments"][0]["url"], timeout=10) as resp:
            check(resp.read() == CHART, "the attachment url's bytes")
        uploads = [q for q in st["requests"] if q.get("multipart")]
        check([q["route"] for q in uploads] ==
              ["POST /webhooks/%s/%s" % (APP_ID, r["token"]),
               "POST /channels/%s/messages" % up["channel_id"]],
              "multipart requests: %r" % [q["route"] for q in uploads])
        for q in st["requests"]:
            if q["method"] == "PUT" and q["body"] and q["body"][0].get("name") == "ping":
                continue  # refused on purpose
            check(q["status"] is not None and q["status"] < 400,
                  "fake refused discord.js: %s %s -> %s" % (q["method"], q["path"], q["status"]))
            tokened = q["path"].startswith("/interactions/") or q["path"].startswith("/webhooks/")
            check(q["auth"] != tokened, "auth header on %s" % q["route"])
        conn = st["connections"][0]
        check(conn["identify"] and conn["query"].get("v") == "10", "IDENTIFY over v10")
        shutil.rmtree(h.tmp, ignore_errors=True)
        print("ok discordjs: %s" % ", ".join(
            q["route"] for q in st["requests"]))
        return 0
    except Failure as e:
        sys.stderr.write("FAIL discordjs: %s\nnode output: %r\n" % (e, lines[-30:]))
        h.dump()
        return 1
    finally:
        if node and node.poll() is None:
            node.terminate()
            try:
                node.wait(timeout=5)
            except subprocess.TimeoutExpired:
                node.kill()
        h.close()


if __name__ == "__main__":
    sys.exit(main())
