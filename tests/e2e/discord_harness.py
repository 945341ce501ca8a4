"""Shared driver pieces for envbot's Discord end-to-end tests: start the fake
Discord (tests/fakes/fake_discord.py) on a free loopback port, write a config
pointing at it, run the real `envbot` binary, talk to the fake's control API.
Used by tests/e2e/discord_e2e.py and the other end-to-end drivers."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakes", "fake_discord.py")
TOKEN = "test-token-abcdef123456"
APP_ID = "100000000000000001"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Harness:
    def __init__(self, binary, heartbeat_interval=1000, env=None, config_extra=""):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="envbot-discord-")
        self.fake = None
        self.bot = None
        self.port = None
        self.hb = heartbeat_interval
        # Fake AWS credentials and no instance metadata: the daemon's AWS
        # client must never look beyond loopback in these tests.
        self.env = dict({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLEDISCORD",
                         "AWS_SECRET_ACCESS_KEY": "discord-e2e-secret",
                         "AWS_EC2_METADATA_DISABLED": "true"}, **(env or {}))
        self.config_extra = config_extra
        self.bot_log = os.path.join(self.tmp, "bot.log")
        self.bot_logs = []
        self.scheme = "http"
        self.exit_codes = []

    # ---- fake ----
    def make_tls(self):
        """A throwaway CA and a server certificate for 127.0.0.1; returns
        (ca, cert, key) paths. The bot trusts the CA via SSL_CERT_FILE."""
        t = self.tmp
        ext = os.path.join(t, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        cmds = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             t + "/ca.key", "-out", t + "/ca.pem", "-days", "2", "-subj", "/CN=envbot test CA"],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", t + "/srv.key",
             "-out", t + "/srv.csr", "-subj", "/CN=127.0.0.1"],
            ["openssl", "x509", "-req", "-in", t + "/srv.csr", "-CA", t + "/ca.pem", "-CAkey",
             t + "/ca.key", "-CAcreateserial", "-out", t + "/srv.pem", "-days", "2",
             "-extfile", ext],
        ]
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True)
        return t + "/ca.pem", t + "/srv.pem", t + "/srv.key"

    def start_fake(self, token=TOKEN, tls=None):
        self.fake_log = open(os.path.join(self.tmp, "fake.log"), "w")
        extra = ["--tls-cert", tls[1], "--tls-key", tls[2]] if tls else []
        self.scheme = "https" if tls else "http"
        self.fake = subprocess.Popen(
            ["/usr/bin/python3", FAKE, "--token", token, "--app-id", APP_ID,
             "--heartbeat-interval", str(self.hb)] + extra,
            stdout=subprocess.PIPE, stderr=self.fake_log, text=True)
        line = self.fake.stdout.readline()
        m = re.match(r"READY port=(\d+)", line)
        check(m, "fake did not start: %r" % line)
        self.port = int(m.group(1))
        return self.port

    def ctl(self, path, body=None, timeout=30):
        url = "%s://127.0.0.1:%d/_control/%s" % (self.scheme, self.port, path)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
        ctx = None
        if self.scheme == "https":
            import ssl
            ctx = ssl._create_unverified_context()  # the test's own control channel
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read() or b"{}")

    def wait(self, counter, at_least=1, timeout=10.0):
        r = self.ctl("wait?counter=%s&min=%d&timeout=%s" % (counter, at_least, timeout),
                     timeout=timeout + 5)
        return r.get("ok", False)

    def counters(self):
        return self.ctl("state")["counters"]

    def state(self):
        return self.ctl("state")

    @staticmethod
    def default_spec(spec):
        """/env status dev by an operator unless told otherwise: an
        ephemeral deferred ACK, then an edit of @original once the (closed,
        loopback) AWS endpoint has refused the call. It holds no lock and
        writes no state, so any number of them can run at once."""
        spec.setdefault("command", "env")
        spec.setdefault("subcommand", "status")
        spec.setdefault("options", {"name": "dev"})
        spec.setdefault("roles", ["400000000000000004"])
        return spec

    def interaction(self, **spec):
        return self.ctl("interaction", self.default_spec(spec))

    def interactions(self, count, interval_ms=0, **spec):
        body = self.default_spec(spec)
        body.update(count=count, interval_ms=interval_ms)
        return self.ctl("interactions", body, timeout=120)

    def interaction_record(self, iid):
        return self.ctl("interaction/%s" % iid)

    def wait_answered(self, iid, timeout=5.0, edits=0):
        end = time.time() + timeout
        while time.time() < end:
            r = self.interaction_record(iid)
            if r.get("responses") and len(r.get("edits", [])) >= edits:
                return r
            time.sleep(0.02)
        return self.interaction_record(iid)

    # ---- bot ----
    def write_config(self):
        path = os.path.join(self.tmp, "envbot.cfg")
        with open(path, "w") as f:
            f.write("""discord: {
  application_id = "%s";
  guild_id = "200000000000000002";
  channel_id = "300000000000000003";
  api_base = "%s://127.0.0.1:%d/api/v10";
  roles: { operator = [ "400000000000000004" ]; admin = [ "500000000000000005" ]; };
};
aws: { region = "ap-northeast-2"; endpoint_url = "http://127.0.0.1:9"; };  # loopback only: never real AWS
state_file = "%s/state.json";
timezone = "UTC";
environments = (
  { name = "dev"; kind = "ec2"; tag = { key = "AutoStopStart"; value = "Yes"; };
    hourly_cost = 0.1; },
  { name = "qa"; kind = "ec2"; tag = { key = "AutoStopStart"; value = "Yes"; };
    hourly_cost = 0.1; }
);
%s
""" % (APP_ID, self.scheme, self.port, self.tmp, self.config_extra))
        return path

    def run(self, *args, token=TOKEN, timeout=30):
        env = dict(os.environ, DISCORD_TOKEN=token, **self.env)
        cfg = self.write_config()
        return subprocess.run([self.binary, "-c", cfg] + list(args), env=env,
                              capture_output=True, text=True, timeout=timeout)

    def start_bot(self, token=TOKEN, log_level="info"):
        env = dict(os.environ, DISCORD_TOKEN=token, **self.env)
        cfg = self.write_config()
        self.bot_log = os.path.join(self.tmp, "bot-%d.log" % len(self.bot_logs))
        self.bot_logs.append(self.bot_log)
        self.bot_out = open(self.bot_log, "w")
        self.bot = subprocess.Popen([self.binary, "-c", cfg, "--log-level", log_level, "run"],
                                    env=env, stdout=self.bot_out, stderr=subprocess.STDOUT)
        return self.bot

    def wait_ready(self, n=1, timeout=10.0):
        check(self.wait("ready", n, timeout), "bot did not reach READY #%d" % n)
        # READY is dispatched before the bot has processed it; the next
        # interaction is queued in order anyway.

    def log(self):
        with open(self.bot_log) as f:
            return f.read()

    def wait_log(self, pattern, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if re.search(pattern, self.log()):
                return True
            if self.bot and self.bot.poll() is not None:
                return bool(re.search(pattern, self.log()))
            time.sleep(0.05)
        return False

    def wait_exit(self, timeout=10.0):
        try:
            return self.bot.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def rss_kb(self):
        with open("/proc/%d/status" % self.bot.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def sanitizer_reports(self):
        """Sanitizer findings in any bot log (ENVBOT_SANITIZE builds)."""
        found = []
        for path in self.bot_logs:
            with open(path) as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    found.append("%s in %s" % (marker, path))
        return found

    def close_bot(self):
        """SIGTERM to the bot; returns its exit status (None if it had
        already exited, "hung on SIGTERM" if it had to be killed)."""
        rc = None
        if self.bot and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                rc = self.bot.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.bot.kill()
                self.bot.wait()
                rc = "hung on SIGTERM"
        return rc

    def close(self):
        """Stops the bot (SIGTERM) and the fake; returns the bot's exit
        status when this stopped it, else None."""
        rc = self.close_bot()
        if self.fake and self.fake.poll() is None:
            self.fake.terminate()
            try:
                self.fake.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.fake.kill()
                self.fake.wait()
        return rc

    def dump(self):
        sys.stderr.write("---- bot log (%s) ----\n" % self.bot_log)
        try:
            sys.stderr.write(self.log()[-8000:])
        except OSError:
            pass
        try:
            with open(os.path.join(self.tmp, "fake.log")) as f:
                sys.stderr.write("---- fake log ----\n" + f.read()[-4000:])
        except OSError:
            pass
