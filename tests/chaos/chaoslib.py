"""Shared harness of the chaos suite (tests/chaos/chaos.py): the real
`envbot run` daemon against the fault-injecting fakes (tests/fakes/
fake_discord.py, tests/fakes/fake_aws.py) on 127.0.0.1, plus the invariant
checks every scenario ends with:

  nothing acknowledged is lost  every override whose acknowledgement reached
                                Discord is in the state file; every workflow
                                acknowledged ends (green, or red with a reason)
  nothing runs twice            one CreateStack / DeleteStack per workflow in
                                the fake AWS's request log; one callback per
                                interaction (the fake refuses and counts a
                                second one)
  the daemon keeps serving      an /env list is answered after each fault

Stdlib only (the fakes run as child processes: Debian's python3 has aiohttp
for the fake Discord)."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import wfcommon as w  # noqa: E402

FAKE_AWS = os.path.join(ROOT, "tests", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(ROOT, "tests", "fakes", "fake_discord.py")
DISCORD_PY = "/usr/bin/python3"
TOKEN = "chaos-bot-token-0000"
OPERATOR = "400000000000000004"
ADMIN = "500000000000000005"
TEMPLATE = "https://b.s3.amazonaws.com/t.yaml"
GREEN, RED = w.GREEN, w.RED


# One definition for every harness (tests/e2e/wfcommon.py): ASan, LSan,
# UBSan and valgrind (CHAOS_DAEMON_WRAPPER) findings.
SANITIZER_MARK = w.SANITIZER_MARK


class Fail(Exception):
    pass


def stack_of(env):
    return "Chaos%sStack" % env.capitalize()


class MotoUpstream:
    """moto (on the Python that has it: $ENVBOT_MOTO_PYTHON, else python3 on
    PATH) behind the fake AWS, for the kinds the fake does not play; None
    from start() when there is no moto. Requests to it are plain forms
    (moto reads the service from the credential scope and checks no
    signature)."""

    def __init__(self, logdir, python):
        self.port = w.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        os.makedirs(logdir, exist_ok=True)
        self.log = open(os.path.join(logdir, "moto.log"), "wb")
        self.proc = subprocess.Popen([python, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                      str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=logdir)
        w.wait_http(self.url + "/moto-api/", self.proc)

    @staticmethod
    def start(logdir):
        python = os.environ.get("ENVBOT_MOTO_PYTHON") or shutil.which("python3")
        if not python or subprocess.run([python, "-c", "import moto"],
                                         capture_output=True).returncode != 0:
            return None
        return MotoUpstream(logdir, python)

    def query(self, service, form):
        req = urllib.request.Request(self.url + "/", data=form.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/%s/%s/aws4_request, "
                             "SignedHeaders=host, Signature=0" % (w.REGION, service)})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def make_asg(self, name, mn, des, mx):
        self.query("ec2", "Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName="
                   "%s-lt&LaunchTemplateData.ImageId=ami-12c6146b&LaunchTemplateData."
                   "InstanceType=t3.micro" % name)
        self.query("autoscaling", "Action=CreateAutoScalingGroup&Version=2011-01-01&"
                   "AutoScalingGroupName=%s&MinSize=%d&DesiredCapacity=%d&MaxSize=%d&"
                   "LaunchTemplate.LaunchTemplateName=%s-lt&AvailabilityZones.member.1=%sa"
                   % (name, mn, des, mx, name, w.REGION))

    def asg_sizes(self, name):
        x = self.query("autoscaling", "Action=DescribeAutoScalingGroups&Version=2011-01-01&"
                       "AutoScalingGroupNames.member.1=%s" % name)
        get = lambda tag: int(re.search("<%s>(\\d+)</%s>" % (tag, tag), x).group(1))  # noqa
        return (get("MinSize"), get("DesiredCapacity"), get("MaxSize"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def write_config(path, aws_url, api_base, state_file, envs, extra_top="", groups=None):
    """Stack environments without schedules (nothing fires by itself, at
    any hour the suite runs), UTC; groups: {group: [member, ...]}, each
    member a stack of its own (stack_of(member)), or "asg:NAME" an Auto
    Scaling group (played by moto behind the fake)."""
    items = []
    for e in envs:
        items.append('  { name = "%s"; kind = "stack"; stack_name = "%s"; template_url = "%s";'
                     ' hourly_cost = 0.1; }' % (e, stack_of(e), TEMPLATE))
    for g, members in (groups or {}).items():
        ms = ", ".join(('{ kind = "asg"; name = "%s"; }' % m[4:]) if m.startswith("asg:") else
                       '{ kind = "stack"; stack_name = "%s"; template_url = "%s"; }' %
                       (stack_of(m), TEMPLATE) for m in members)
        items.append('  { name = "%s"; kind = "group"; members = ( %s ); hourly_cost = 0.3; }'
                     % (g, ms))
    text = """
discord: {
  application_id = "100000000000000001";
  guild_id = "200000000000000002";
  channel_id = "300000000000000003";
  api_base = "%s";
  roles: { operator = [ "%s" ]; admin = [ "%s" ]; };
};
aws: { region = "%s"; endpoint_url = "%s"; };
state_file = "%s";
catch_up = "0";
timezone = "UTC";
%s
environments = (
%s
);
""" % (api_base, OPERATOR, ADMIN, w.REGION, aws_url, state_file, extra_top, ",\n".join(items))
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Discord:
    """fake_discord.py on a fixed or free port; restartable on the same port
    (connection-refused scenarios)."""

    def __init__(self, logdir, port=0, hb_ms=None):
        self.logdir, self.hb_ms, self.gen = logdir, hb_ms, 0
        self.port = port
        self.start()

    def start(self):
        self.gen += 1
        self.out = open(os.path.join(self.logdir, "discord%d.out" % self.gen), "w+")
        self.log = open(os.path.join(self.logdir, "discord%d.log" % self.gen), "wb")
        args = [DISCORD_PY, FAKE_DISCORD, "--token", TOKEN, "--port", str(self.port)]
        if self.hb_ms:
            args += ["--heartbeat-interval", str(self.hb_ms)]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.log)
        end = time.monotonic() + 15
        line = ""
        while time.monotonic() < end and self.proc.poll() is None:
            self.out.seek(0)
            line = self.out.readline()
            if line.startswith("READY"):
                break
            time.sleep(0.05)
        if not line.startswith("READY"):
            raise Fail("fake_discord.py did not start (port %s)" % self.port)
        self.api = line.split("api=")[1].split()[0]
        self.port = int(line.split("port=")[1].split()[0])
        self.control = self.api.rsplit("/api/", 1)[0] + "/_control"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.log.close()

    def call(self, path, body=None, timeout=20):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data,
                                     method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")

    def interaction(self, spec, timeout=30):
        """Sends INTERACTION_CREATE; retries while the fake has no session
        yet (409: the daemon is between sessions)."""
        end = time.monotonic() + timeout
        while True:
            try:
                return self.call("/interaction", spec)["id"]
            except urllib.error.HTTPError as e:
                if e.code != 409 or time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def state(self):
        return self.call("/state")

    def counters(self):
        return self.state()["counters"]

    def record(self, iid):
        return self.call("/interaction/%s" % iid)


class Daemon:
    """`envbot run` with its log captured through a pipe (a file-size limit
    on the daemon then limits the state file, not its log)."""

    def __init__(self, binary, cfg, logdir, env, name="run", poll_ms=100, extra_env=None,
                 preexec=None, user=None):
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "ab")
        e = w.sanitizer_env(env)
        e["DISCORD_TOKEN"] = TOKEN
        e["ENVBOT_TEST_POLL_MS"] = str(poll_ms)
        e.update(extra_env or {})
        argv = [binary, "-c", cfg, "--log-level", "debug", "run"]
        # CHAOS_DAEMON_WRAPPER="valgrind --error-exitcode=99 ...": the
        # daemon under a checker (its exit status is judged on SIGTERM).
        wrap = os.environ.get("CHAOS_DAEMON_WRAPPER", "").split()
        argv = wrap + argv
        if user:
            argv = ["runuser", "-u", user, "--"] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=e, preexec_fn=preexec)
        self.pid = self.proc.pid
        self.term_rc = None  # the exit status after stop() sent it SIGTERM
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self.log.write(chunk)
            self.log.flush()

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout=20, start=0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.text()[start:]:
                return True
            if self.proc.poll() is not None:
                return needle in self.text()[start:]
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc.poll() is None

    def rss(self):
        return rss_kb(self.target_pid())

    def target_pid(self):
        """The envbot process (under runuser it is runuser's child)."""
        try:
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                kids = f.read().split()
            if kids and "runuser" in open("/proc/%d/cmdline" % self.pid).read():
                return int(kids[0])
        except OSError:
            pass
        return self.pid

    def send(self, sig):
        if self.proc.poll() is None:
            os.kill(self.target_pid(), sig)

    def kill9(self):
        self.send(signal.SIGKILL)
        self.proc.wait()
        self.pump.join(5)
        self.log.close()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """The exit status; one that ignores sig for timeout s is killed
        (and, for SIGTERM, term_rc says "hung on SIGTERM")."""
        if self.proc.poll() is None:
            self.send(sig)
            hung = False
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.target_pid(), signal.SIGKILL)
                self.proc.wait()
                hung = True
            if sig == signal.SIGTERM:
                self.term_rc = "hung on SIGTERM" if hung else self.proc.returncode
        self.pump.join(5)
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode


class World:
    """One scenario's fakes, config and daemon, and the invariant checks."""

    def __init__(self, c, binary, logdir, envs, name, aws_env=None, poll_ms=100,
                 hb_ms=None, create_s=1.0, delete_s=0.5, extra_top="", extra_env=None,
                 groups=None, upstream=None):
        self.c, self.binary, self.logdir, self.envs = c, binary, logdir, list(envs)
        self.name, self.poll_ms, self.extra_env = name, poll_ms, dict(extra_env or {})
        os.makedirs(logdir, exist_ok=True)
        # upstream: moto behind the fake, for the kinds it does not play
        # (a group's "asg:NAME" members)
        self.aws = w.FakeAws(logdir, FAKE_AWS, upstream=upstream)
        self.dc = Discord(logdir, hb_ms=hb_ms)
        self.cfg = os.path.join(logdir, name + ".cfg")
        self.state_path = os.path.join(logdir, name + "-state.json")
        self.extra_top = extra_top
        self.groups = dict(groups or {})
        self.aws_env = aws_env if aws_env is not None else self.aws.env()
        for e in self.envs + [m for ms in self.groups.values() for m in ms
                              if not m.startswith("asg:")]:
            self.aws.ctl("behavior", {"stack": stack_of(e), "create_seconds": create_s,
                                      "delete_seconds": delete_s,
                                      "outputs": {"Url": "http://%s.fake" % e}})
        self.write_config()
        self.d = None
        self.daemons = []     # every daemon started, for close()'s checks
        self.runs = 0
        self.sent = []        # (iid, kind, what)
        self.holidays = {}    # date -> iid
        self.wf = []          # (iid, env, action)
        self.fallbacks = set()  # workflows whose outcome came as a new message
        self.channel_edits = False  # set by scenarios where token edits fail
        self.claimed = set()    # channel messages already matched to a workflow
        self.matched = {}       # iid -> the embed matched that way

    def write_config(self, envs=None):
        write_config(self.cfg, self.aws.url, self.dc.api, self.state_path, envs or self.envs,
                     self.extra_top, self.groups)

    def start_daemon(self, wait_ready=True, **kw):
        self.runs += 1
        env = dict(self.aws_env)
        self.d = Daemon(self.binary, self.cfg, self.logdir, env, "%s-%d" % (self.name, self.runs),
                        poll_ms=self.poll_ms, extra_env=self.extra_env, **kw)
        self.daemons.append(self.d)
        if wait_ready and not self.d.wait_log('msg="ready"', 30):
            raise Fail("daemon did not reach ready:\n" + self.d.text()[-3000:])
        return self.d

    def close(self):
        """SIGTERM: a clean exit 0 (under ASan/LSan a leak or a bad access
        makes it non-zero), the same for every daemon a scenario stopped with
        SIGTERM on the way, and no sanitizer report in any daemon log (those
        killed with SIGKILL included: a bad access before the kill is there)."""
        if self.d:
            alive = self.d.alive()
            rc = self.d.stop(signal.SIGTERM)
            if alive:
                self.c.ok(rc == 0, "%s: clean exit 0 on SIGTERM (got %r)" % (self.name, rc),
                          self.d.text()[-2000:])
        earlier = [(os.path.basename(d.log_path), d.term_rc) for d in self.daemons[:-1]
                   if d.term_rc is not None and d.term_rc != 0]
        self.c.ok(not earlier, "%s: every daemon stopped on the way exited 0 on SIGTERM"
                  % self.name, earlier)
        logs = [os.path.join(self.logdir, n) for n in sorted(os.listdir(self.logdir))
                if n.startswith(self.name + "-") and n.endswith(".log")]
        reports = w.sanitizer_reports_in(logs)
        self.c.ok(not reports, "%s: no sanitizer report in the daemon logs" % self.name,
                  reports[:5])
        self.aws.stop()
        self.dc.stop()

    # ---- actions ----
    def slash(self, sub, env=None, roles=(OPERATOR,), **opts):
        o = dict(opts)
        if env:
            o["name"] = env
        iid = self.dc.interaction({"command": "env", "subcommand": sub, "options": o,
                                   "roles": list(roles), "user_name": "chaos"})
        self.sent.append((iid, "env " + sub, env))
        if sub in ("start", "stop"):
            self.wf.append((iid, env, sub))
        return iid

    def holiday(self, date):
        iid = self.dc.interaction({"command": "holiday", "subcommand": "add",
                                   "options": {"date": date, "label": "chaos"},
                                   "roles": [ADMIN], "user_name": "chaos"})
        self.sent.append((iid, "holiday add", date))
        self.holidays[date] = iid
        return iid

    def answered(self, iid, timeout=15):
        """The record once it has a response (and, deferred, an edit)."""
        end = time.monotonic() + timeout
        rec = {}
        while time.monotonic() < end:
            rec = self.dc.record(iid)
            r = rec.get("responses") or []
            if r and (r[0]["type"] != 5 or rec.get("edits")):
                return rec
            time.sleep(0.05)
        return rec

    def list_ok(self, what, timeout=15):
        """The daemon keeps serving: /env list answered with every env."""
        iid = self.slash("list")
        rec = self.answered(iid, timeout)
        data = ((rec.get("responses") or [{}])[0].get("data") or {})
        text = data.get("content") or ""
        ok = all("**%s**" % e in text for e in self.envs[:3])
        return self.c.ok(ok, "%s: /env list answered (%s)" % (self.name, what),
                         {"rec": rec, "log": self.d.text()[-1500:] if self.d else ""})

    def final_embed(self, iid):
        """The embed the user sees now: the last edit through the
        interaction's webhook, or, once that is not final, the public
        original as a channel message (a restarted daemon edits it through
        the channel route)."""
        rec = self.dc.record(iid)
        body = None
        for r in rec.get("responses") or []:
            body = r.get("data") or body
        for ed in rec.get("edits") or []:
            if "embeds" in (ed.get("body") or {}):
                body = ed["body"]
        em = (body or {}).get("embeds") or []
        if em and em[0].get("color") in (GREEN, RED):
            return em[0]
        # Only a restarted daemon (or one whose token edits failed) edits
        # through the channel route; /state is big on long runs.
        if rec.get("original") and not rec.get("ephemeral") and \
                (self.runs > 1 or self.channel_edits):
            oid = rec["original"]["id"]
            for m in self.dc.state()["messages"]:
                if m["id"] == oid and m.get("embeds"):
                    return m["embeds"][0]
        return em[0] if em else None

    def outcome_embed(self, iid, env=None, action=None):
        """final_embed, or when that is stuck in progress (or was never
        edited): the finished embed of the same workflow posted as a new
        channel message. A daemon killed after the ACK but before Discord
        told it the original's message id resumes the workflow without a
        message to edit, and posts the outcome afresh (footer "workflow
        ID"; matched by ID, or by env and action after the interaction)."""
        if iid in self.matched:
            return self.matched[iid]
        e = self.final_embed(iid)
        if e and e.get("color") in (GREEN, RED):
            return e
        foot = ((e or {}).get("footer") or {}).get("text") or ""
        prefix = "workflow envbot-%s-%s-" % (env, action) if env else None
        if not foot.startswith("workflow ") and not prefix:
            return e
        created = self.dc.record(iid).get("created") or 0
        for m in self.dc.state()["messages"]:
            if m.get("interaction_id") or m.get("t", 0) < created:
                continue
            for em in m.get("embeds") or []:
                f = (em.get("footer") or {}).get("text") or ""
                same = f == foot if foot.startswith("workflow ") else f.startswith(prefix)
                if same and em.get("color") in (GREEN, RED) and m["id"] not in self.claimed:
                    self.fallbacks.add(iid)
                    self.claimed.add(m["id"])
                    self.matched[iid] = em
                    return em
        return e

    def wait_workflows(self, wfs=None, timeout=60, want=GREEN):
        """Every acknowledged workflow's embed ends `want`; returns the
        failures [(iid, env, action, embed)]."""
        wfs = list(self.wf if wfs is None else wfs)
        end = time.monotonic() + timeout
        pending = list(wfs)
        bad = []
        while pending and time.monotonic() < end:
            nxt = []
            for item in pending:
                e = self.outcome_embed(item[0], item[1], item[2])
                if e and e.get("color") in (GREEN, RED):
                    if e["color"] != want:
                        bad.append(item + (e,))
                else:
                    nxt.append(item)
            pending = nxt
            if pending:
                time.sleep(0.2)
        bad += [p + (self.outcome_embed(p[0], p[1], p[2]),) for p in pending]
        return bad

    def wait_idle(self, timeout=60):
        """No workflow in flight in the state file."""
        end = time.monotonic() + timeout
        st = {}
        while time.monotonic() < end:
            st = self.read_state()
            if st is not None and not st.get("workflows"):
                return True
            time.sleep(0.1)
        return False

    def read_state(self):
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    # ---- invariants ----
    def aws_counts(self, action, raw=False):
        """Stack name -> how many operations: distinct ClientRequestTokens
        (a retry with the same token after a restart or a lost answer is
        the same operation to CloudFormation, which the fake honours), or
        with raw=True every request."""
        out, seen = {}, set()
        for q in self.aws.requests(action):
            p = q.get("params") or {}
            name = p.get("StackName") or ""
            if name.startswith("arn:"):
                name = name.split(":stack/", 1)[-1].split("/", 1)[0]
            key = (name, p.get("ClientRequestToken") or id(q))
            if not raw and key in seen:
                continue
            seen.add(key)
            out[name] = out.get(name, 0) + 1
        return out

    def check_invariants(self, what, workflows_green=True, wf_timeout=60, expect_red=(),
                         counts=True):
        c = self.c
        tag = "%s: %s" % (self.name, what)
        # Let ACKs still being retried land (the deadline is 3 s), so that
        # "acknowledged" is what Discord will ever have seen.
        end = time.monotonic() + 8
        while time.monotonic() < end and \
                any(not self.dc.record(i).get("responses") for i, _, _ in self.sent[-200:]):
            time.sleep(0.2)
        # Workflows: every acknowledged one ends, green.
        acked = [x for x in self.wf if (self.dc.record(x[0]).get("responses"))]
        green = [x for x in acked if x[1] not in expect_red]
        bad = self.wait_workflows(green, wf_timeout) if workflows_green else []
        c.ok(not bad, "%s: %d acknowledged workflows all ended green" % (tag, len(green)),
             [(b[1], b[2], b[3] and w.embed_text(b[3])) for b in bad[:5]])
        c.ok(self.wait_idle(wf_timeout), "%s: nothing left in flight" % tag,
             (self.read_state() or {}).get("workflows"))
        # Nothing twice: one CreateStack per start, one DeleteStack per stop.
        starts, stops = {}, {}
        for iid, env, action in acked:
            d = starts if action == "start" else stops
            d[stack_of(env)] = d.get(stack_of(env), 0) + 1
        creates, deletes = self.aws_counts("CreateStack"), self.aws_counts("DeleteStack")
        raw_c = sum(self.aws_counts("CreateStack", True).values())
        raw_d = sum(self.aws_counts("DeleteStack", True).values())
        if counts:
            c.ok(creates == starts, "%s: one CreateStack per start (%d)" %
                 (tag, sum(creates.values())), {"creates": creates, "starts": starts})
            c.ok(deletes == stops, "%s: one DeleteStack per stop (%d)" %
                 (tag, sum(deletes.values())), {"deletes": deletes, "stops": stops})
        # One callback per interaction.
        st = self.dc.state()
        cnt = st["counters"]
        multi = [i for i, rec in st["interactions"].items() if len(rec["responses"]) > 1] \
            if isinstance(st.get("interactions"), dict) else \
            [r["id"] for r in st.get("interactions", []) if len(r["responses"]) > 1]
        c.ok(cnt.get("callbacks_duplicate", 0) == 0 and not multi,
             "%s: one callback per interaction (%d callbacks)" % (tag, cnt.get("callbacks", 0)),
             {"dup": cnt.get("callbacks_duplicate"), "multi": multi[:5]})
        # Overrides acknowledged are in the state file.
        hols = {h["date"] for h in (self.read_state() or {}).get("holidays", [])}
        acked_h = [d for d, iid in self.holidays.items() if self.acked_ok(iid)]
        missing = [d for d in acked_h if d not in hols]
        print("%s: %d workflows acknowledged (%d failed), CreateStack %d (%d requests), "
              "DeleteStack %d (%d requests), "
              "%d callbacks, %d duplicate, %d holidays acknowledged (%d missing); %d outcomes "
              "posted as a new message after a restart" %
              (tag, len(acked), len(bad), sum(creates.values()), raw_c, sum(deletes.values()), raw_d,
               cnt.get("callbacks", 0), cnt.get("callbacks_duplicate", 0), len(acked_h),
               len(missing), len(self.fallbacks)), flush=True)
        c.ok(not missing, "%s: %d acknowledged holidays all in the state file" %
             (tag, len(acked_h)), {"missing": missing})
        return not bad

    def acked_ok(self, iid):
        rec = self.dc.record(iid)
        for r in rec.get("responses") or []:
            t = (r.get("data") or {}).get("content") or ""
            if "added by" in t:
                return True
        return False


def future_day(k):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400 * (30 + k)))


def seeded_random():
    seed = int(os.environ.get("ENVBOT_TEST_SEED", "0")) or random.randrange(1, 1 << 30)
    print("seed %d (ENVBOT_TEST_SEED to replay)" % seed, flush=True)
    return random.Random(seed)
