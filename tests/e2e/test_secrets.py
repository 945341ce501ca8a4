#!/usr/bin/python3
"""End to end: secrets never reach the log, at any level. `envbot run --log-level
debug` goes through a representative session against the fake Discord and
the fake AWS with known fake secrets, twice:

  env  AWS credentials from the environment with a session token
  ecs  AWS credentials from an ECS-style endpoint (a loopback server of this
       test, so the secret key and session token it hands out are known),
       with an authorization token

Each session: gateway connect (IDENTIFY with the bot token), a dropped
connection (RESUME with the token), slash commands with interaction tokens
(list, status, extend, autocomplete, a component), REST 429 and 5xx on the
tokened webhook and callback routes, AWS throttling and 503 retried,
workflows (an EC2 start, a stack start) and their progress edits. Then every
line of the log is searched for each secret (bot token, AWS secret key,
session token, ECS authorization token, every interaction token the fake
issued), raw and base64-, URL- and JSON-encoded, and for any 20-character
piece of one (a truncated token is still a leak): zero hits required. The log
must also show that debug logging was on and that each part ran.

usage: test_secrets.py ENVBOT_BINARY
Exit 77 when /usr/bin/python3 lacks aiohttp (the fake Discord needs it)."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import Checks, FakeAws, FakeDiscord, tmpdir, write_config  # noqa: E402

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
OPERATOR = "400000000000000004"
ADMIN = "500000000000000005"
STACK = "ChatAppMasterStack"

# Shaped like the real things (a bot token is three base64url parts; AWS
# secrets and session tokens are base64 with '/', '+' and '=').
BOT_TOKEN = "MTMxMDAwMDAwMDAwMDAwMDAwMQ.GsEcRt.k3Y_pQ-9vZx2Lm8NwT4rYb6HcJd1FeUaSiOo"
ENV_KEY = "ASIAENVSECRETSTEST01"
ENV_SECRET = "kX9/envSecret+AWSkey/Zq7Lm3Np5Rt8Vw1Yb4Hc6Jd"
ENV_SESSION = ("IQoJb3JpZ2luX2VjEJf//////////wEaDmFwLW5vcnRoZWFzdC0yIkcwRQIhAK"
               "envSessionToken+With/Slashes=And+Plus/0123456789abcdefXYZ==")
ECS_KEY = "ASIAECSSECRETSTEST02"
ECS_SECRET = "Ecs/Secret+Key/Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L"
ECS_SESSION = ("FwoGZXIvYXdzEcsSessionToken/ecs+Token=Value/9876543210ZYXWVUTSRQ"
               "PONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba==")
ECS_AUTH = "ecs-authorization-token-4f7c2a9e1b3d5f6a8c0e"


class EcsServer:
    """Hands out the known ECS credentials on /creds (Authorization checked),
    like the ECS agent does."""

    def __init__(self):
        outer = self
        self.hits = 0

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path != "/creds" or self.headers.get("Authorization") != ECS_AUTH:
                    self.send_response(401)
                    self.end_headers()
                    return
                outer.hits += 1
                exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
                body = json.dumps({"AccessKeyId": ECS_KEY, "SecretAccessKey": ECS_SECRET,
                                   "Token": ECS_SESSION, "Expiration": exp}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/creds" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def forms(secret):
    """The secret as a log line could carry it."""
    out = {secret}
    b = secret.encode()
    for enc in (base64.b64encode(b), base64.urlsafe_b64encode(b)):
        out.add(enc.decode())
        out.add(enc.decode().rstrip("="))
    out.add(base64.b64encode(b"Bot " + b).decode())
    out.add(urllib.parse.quote(secret, safe=""))
    out.add(urllib.parse.quote_plus(secret))
    out.add(json.dumps(secret)[1:-1])
    out.add(secret.encode().hex())
    return out


def pieces(secret, n=20, skip_prefix=0):
    """Every n-character piece of secret (after a known public prefix)."""
    s = secret[skip_prefix:]
    return {s[i:i + n] for i in range(0, max(1, len(s) - n + 1))}


def wait_for(pred, timeout=15, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def session(name, aws, discord, binary, d, env_extra, c):
    """One daemon run through the representative session; returns its log
    text and the interaction tokens the fake issued meanwhile."""
    discord.call("/reset", {})
    aws.ctl("reset")
    aws.ctl("credentials", {"access_key": ENV_KEY, "secret": ENV_SECRET, "token": ENV_SESSION})
    aws.ctl("credentials", {"access_key": ECS_KEY, "secret": ECS_SECRET, "token": ECS_SESSION})
    aws.ctl("images", {"repository": "chat-chat-http", "images": [
        {"tags": ["v2.0.0"], "pushed_at": 1700000000},
        {"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})
    aws.ctl("instances", {"instances": [
        {"id": "i-0bbbbbbbbbbbbbbb1", "state": "stopped", "tags": {"AutoStopStart": "Yes"}}]})
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 0.5})
    cfg = os.path.join(d, "envbot-%s.cfg" % name)
    write_config(cfg, aws.url, "https://envbot-templates.s3.amazonaws.com/master-stack.yaml",
                 os.path.join(d, "state-%s.json" % name), api_base=discord.api)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true", DISCORD_TOKEN=BOT_TOKEN,
               ENVBOT_TEST_POLL_MS="200", **env_extra)
    log_path = os.path.join(d, "envbot-%s.log" % name)
    log = open(log_path, "wb")
    bot = subprocess.Popen([binary, "-c", cfg, "--log-level", "debug", "run"], stdout=log,
                           stderr=subprocess.STDOUT, env=env)
    issued = []
    try:
        ok = discord.call("/wait?counter=ready&min=1&timeout=20", timeout=25).get("ok")
        if not c.ok(ok, f"{name}: envbot connected with the bot token"):
            return "", []

        def send(command, sub=None, options=None, roles=(OPERATOR,), **extra):
            spec = {"command": command, "options": options or {}, "roles": list(roles)}
            if sub:
                spec["subcommand"] = sub
            spec.update(extra)
            r = discord.call("/interaction", spec)
            issued.append(r["token"])
            return r["id"]

        def answered(iid, edits=0, timeout=20):
            def done():
                rec = discord.call(f"/interaction/{iid}")
                resp = rec.get("responses") or []
                if resp and (resp[0]["type"] != 5 or len(rec.get("edits") or []) > edits - 1):
                    return rec
                return None
            return wait_for(done, timeout)

        # REST faults on the tokened routes: a 429 then a 5xx on the edits
        # of @original, a 5xx on a followup-style POST.
        discord.call("/fail", {"method": "PATCH", "path": "/webhooks/", "status": 429,
                               "count": 1, "retry_after": 0.3})
        discord.call("/fail", {"method": "PATCH", "path": "/webhooks/", "status": 502,
                               "count": 1})
        # AWS faults: throttling and a 503, retried.
        aws.ctl("faults", {"rules": [{"match": "DescribeStacks", "count": 1, "status": 400,
                                      "code": "Throttling"},
                                     {"match": "ecr", "count": 1, "status": 503}]})
        ids = [send("env", "list"), send("env", "status", {"name": "dev"}),
               send("env", "status", {"name": "qa"}),
               send("env", "status", {"name": "d"}, type=4, focused="name"),
               send("env", "extend", {"name": "dev", "duration": "1h"})]
        c.ok(all(answered(i) for i in ids), f"{name}: commands answered")

        # The gateway drops: the bot resumes (the token goes out again).
        discord.call("/drop", {})
        c.ok(discord.call("/wait?counter=resumed&min=1&timeout=20", timeout=25).get("ok"),
             f"{name}: resumed after a drop")

        # Workflows: an EC2 start and a stack start, progress edited.
        wf1 = send("env", "start", {"name": "qa"})
        wf2 = send("env", "start", {"name": "dev"})

        def final(iid):
            rec = discord.reply(iid)
            em = rec["msg"]["embeds"]
            return rec if em and em[0].get("color") in (3066993, 15158332) else None
        r1, r2 = wait_for(lambda: final(wf1), 30), wait_for(lambda: final(wf2), 30)
        c.ok(r1 and r2, f"{name}: both workflows finished",
             [discord.reply(wf1)["msg"], discord.reply(wf2)["msg"]])
        # A component: the confirm-less "stop" of a running env, refused or
        # not, with its own token.
        send("env", "stop", {"name": "qa"}, roles=(OPERATOR, ADMIN))
        cid = send("env", None, type=3, custom_id="cf|stop|qa||600000000000000006|1|1")
        answered(cid)
        reqs = aws.requests()
        keys = {q.get("access_key") for q in reqs if q.get("signed")}
        want = ENV_KEY if name == "env" else ECS_KEY
        c.ok(want in keys, f"{name}: AWS calls signed with the session's key {want}", keys)
        st = discord.call("/state")
        c.ok(st["counters"].get("rest_429", 0) >= 1 and st["counters"].get("rest_5xx", 0) >= 1,
             f"{name}: the REST 429 and 5xx were served", st["counters"])
        issued.extend(r["token"] for r in st.get("interactions") or [])
    finally:
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                rc = bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
                rc = bot.wait()
            c.ok(rc == 0, f"{name}: envbot exits 0 on SIGTERM (got {rc})")
        else:
            c.ok(False, f"{name}: envbot still running at the end", bot.returncode)
        log.close()
    with open(log_path, "rb") as f:
        return f.read().decode("utf-8", "replace"), sorted(set(issued))


def check_log(name, text, secrets, c):
    lines = text.splitlines()
    c.ok(len(lines) > 30 and any("level=debug" in ln for ln in lines),
         f"{name}: a debug-level log ({len(lines)} lines)")
    for mod in ("gw", "rest", "aws"):
        c.ok(any(f"mod={mod}" in ln for ln in lines), f"{name}: the log has mod={mod} lines")
    hits = []
    for label, secret, skip in secrets:
        needles = forms(secret) | pieces(secret, 20, skip)
        for i, ln in enumerate(lines):
            for nd in needles:
                if nd and nd in ln:
                    hits.append(f"{label} ({nd[:8]}...) on line {i + 1}: {ln[:200]}")
                    break
    c.ok(not hits, f"{name}: no secret in {len(lines)} log lines "
         f"({len(secrets)} secrets searched)", hits[:10])
    c.ok("Sanitizer" not in text and "runtime error:" not in text,
         f"{name}: no sanitizer report")


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-secrets-")
    c = Checks()
    FakeDiscord.TOKEN = BOT_TOKEN
    aws = FakeAws(d, FAKE_AWS)
    ecs = EcsServer()
    discord = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        runs = [("env", {"AWS_ACCESS_KEY_ID": ENV_KEY, "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
                         "AWS_SESSION_TOKEN": ENV_SESSION}),
                ("ecs", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN": ECS_AUTH})]
        for name, extra in runs:
            t0 = time.monotonic()
            text, tokens = session(name, aws, discord, binary, d, extra, c)
            if name == "ecs":
                c.ok(ecs.hits >= 1, "ecs: credentials fetched from the ECS endpoint")
            c.ok(len(tokens) >= 8, f"{name}: {len(tokens)} interaction tokens issued")
            secrets = [("bot token", BOT_TOKEN, 0), ("AWS secret key", ENV_SECRET, 0),
                       ("AWS session token", ENV_SESSION, 0),
                       ("ECS AWS secret key", ECS_SECRET, 0),
                       ("ECS session token", ECS_SESSION, 0),
                       ("ECS authorization token", ECS_AUTH, 0)]
            # The fake's tokens start with base64("interaction:"): search the
            # random part for pieces.
            secrets += [("interaction token", t, 16) for t in tokens]
            check_log(name, text, secrets, c)
            print(f"-- {name}: done ({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        aws.stop()
        ecs.stop()
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
