"""Shared helpers of the workflow end-to-end tests (test_workflows_*.py) and
the local demo: free ports, moto as a child process, the demo/test config,
running the real envbot binary with a time limit, and judging what a
sanitizer build (-DENVBOT_SANITIZE=ON) of it reported.

Everything listens on 127.0.0.1 only; ports are chosen free at runtime."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REGION = "ap-northeast-2"
IMAGE_PARAMS = ["APIServerImageTag", "ChatServerImageTag", "NotificationServerImageTag"]

# A template moto can create: one SSM parameter per image parameter (the tag
# lands in a place boto3 can read back), one for the static parameter, and
# Outputs like the load balancer URL of the real stack.
TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Description: envbot e2e stack (moto)
Parameters:
  APIServerImageTag: {Type: String}
  ChatServerImageTag: {Type: String}
  NotificationServerImageTag: {Type: String}
  Environment: {Type: String}
Resources:
  ApiImage:
    Type: AWS::SSM::Parameter
    Properties: {Name: /envbot-e2e/api-image, Type: String, Value: !Ref APIServerImageTag}
  ChatImage:
    Type: AWS::SSM::Parameter
    Properties: {Name: /envbot-e2e/chat-image, Type: String, Value: !Ref ChatServerImageTag}
  NotificationImage:
    Type: AWS::SSM::Parameter
    Properties: {Name: /envbot-e2e/notification-image, Type: String, Value: !Ref NotificationServerImageTag}
  EnvName:
    Type: AWS::SSM::Parameter
    Properties: {Name: /envbot-e2e/environment, Type: String, Value: !Ref Environment}
Outputs:
  LoadBalancerUrl:
    Value: !Sub "http://${Environment}-alb.example.test"
  ApiImageTag:
    Value: !Ref APIServerImageTag
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, timeout=20.0):
    """Waits until url answers (any HTTP status) or proc dies."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving {url}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


# ---- sanitizer builds ----
# An ASan/LSan/UBSan build of envbot reports on stderr. A leak is found at
# exit, so only a process that exits by itself or on SIGTERM can report one
# (SIGKILL leaves nothing to check: its successor's clean exit is). Defaults
# every envbot this suite starts gets (the caller's own settings, such as
# tests/run-all's, come later in the string and win): leaks checked, and any
# report aborts, so its exit status (-6, 134 in a shell) is never one a test
# expects, like the 1 a failed workflow exits with and ASan's default
# exitcode also is. -fno-sanitize-recover=all makes UB fatal already;
# halt_on_error says so for builds without it.
SANITIZER_DEFAULTS = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
                      "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}

# A line of a sanitizer's (or valgrind's, CHAOS_DAEMON_WRAPPER) report.
SANITIZER_MARK = re.compile(
    r"ERROR: (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer"
    r"|runtime error: |SUMMARY: (Address|Leak|Undefined\w*)Sanitizer"
    r"|Sanitizer has encountered a fatal error|Sanitizer CHECK failed"
    r"|==\d+== (Invalid|Conditional|Use of uninit|Mismatched)|definitely lost: [1-9]")


def sanitizer_env(env):
    """A copy of env with the SANITIZER_DEFAULTS its options lack in front."""
    e = dict(env)
    for var, defaults in SANITIZER_DEFAULTS.items():
        own = e.get(var, "")
        have = {o.split("=", 1)[0] for o in own.split(":")}
        add = [d for d in defaults.split(":") if d.split("=", 1)[0] not in have]
        e[var] = ":".join(add + ([own] if own else []))
    return e


def sanitizer_reports(text, where=""):
    """The lines of text (a process's stderr or log) that are a finding."""
    return [where + ln.strip()[:300] for ln in text.splitlines() if SANITIZER_MARK.search(ln)]


# Every report judged_rc has seen; Checks.done() fails on any, so that a
# check any failure satisfies (`r.rc != 0`) cannot pass on an abort either.
SEEN_REPORTS = []


def judged_rc(rc, err):
    """rc, or (when err, the process's stderr, holds a sanitizer report) a
    status no test expects. For runs whose exit status cannot show an
    abort: the faketime wrapper reports a child killed by a signal as exit
    1, which is also what a failed workflow exits with."""
    found = sanitizer_reports(err)
    if not found:
        return rc
    SEEN_REPORTS.extend(found[:4])
    return f"{rc} with a sanitizer report"


def sanitizer_reports_in(paths):
    """Findings in every log file of paths, each line prefixed with its file."""
    found = []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                found += sanitizer_reports(f.read(), os.path.basename(path) + ": ")
        except OSError:
            pass
    return found


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    """Sends sig (unless proc has exited) and returns the exit status; one
    that does not exit within timeout is killed: "hung on SIGTERM"."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "hung on %s" % signal.Signals(sig).name


def check_clean_exit(c, rc, logs, what):
    """How every daemon a test starts must end: exit 0 after SIGTERM (a
    sanitizer build makes a leak or a bad access non-zero) and no report in
    its log, nor in the logs of the daemons before it (one killed with
    SIGKILL cannot report a leak, but a bad access before the kill is in its
    log). c is a Checks; returns True when both hold."""
    ok = c.ok(rc == 0, f"{what}: exit 0 on SIGTERM (got {rc!r})")
    found = sanitizer_reports_in(logs)
    return c.ok(not found, f"{what}: no sanitizer report in {len(logs)} daemon log(s)",
                found[:8]) and ok


def aws_test_env():
    """Fake credentials only: nothing here can reach real AWS. Carries the
    sanitizer options (sanitizer_env) to every envbot started with it."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_EC2_METADATA_DISABLED="true")
    return sanitizer_env(env)


class Moto:
    """moto's standalone server on a free loopback port."""

    def __init__(self, logdir, extra_env=None, name="moto"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(logdir, name + ".log"), "wb")
        env = aws_test_env()
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=logdir)
        wait_http(self.url + "/moto-api/", self.proc)

    def client(self, service):
        import boto3
        return boto3.client(service, region_name=REGION, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def image_manifest(n):
    # Distinct bytes give distinct digests.
    return ('{"schemaVersion": 2, "mediaType": '
            '"application/vnd.docker.distribution.manifest.v2+json", '
            '"config": {"mediaType": "application/vnd.docker.container.image.v1+json", '
            f'"size": {100 + n}, "digest": "sha256:{n:064x}"}}, "layers": []}}')


def setup_moto(moto, repo="chat-chat-http", old_tags=(("v1.4.0", "latest-old"), ("v1.4.1",)),
               newest_tags=("v1.4.2",)):
    """Puts the template in moto's S3, pushes images (the newest one at
    least one whole second after the others: moto records imagePushedAt in
    seconds) and returns (template_url, newest tag)."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="envbot-templates",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="envbot-templates", Key="master-stack.yaml", Body=TEMPLATE.encode())
    ecr = moto.client("ecr")
    ecr.create_repository(repositoryName=repo)
    n = 0
    for tags in old_tags:
        n += 1
        ecr.put_image(repositoryName=repo, imageManifest=image_manifest(n), imageTag=tags[0])
        for t in tags[1:]:
            ecr.put_image(repositoryName=repo, imageManifest=image_manifest(n), imageTag=t)
    time.sleep(1.05)
    n += 1
    for t in newest_tags:
        ecr.put_image(repositoryName=repo, imageManifest=image_manifest(n), imageTag=t)
    imgs = ecr.describe_images(repositoryName=repo)["imageDetails"]
    newest = max(imgs, key=lambda i: i["imagePushedAt"])
    others = [i for i in imgs if i is not newest]
    assert all(o["imagePushedAt"] < newest["imagePushedAt"] for o in others), imgs
    return "https://envbot-templates.s3.amazonaws.com/master-stack.yaml", newest_tags[0]


def setup_ec2(moto, tag=("AutoStopStart", "Yes"), n=3):
    """n instances tagged for qa, one of them also in an Auto Scaling group,
    and one untagged bystander. Returns (plain ids, asg id, bystander id)."""
    ec2 = moto.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def run(tags, count=1):
        spec = [{"ResourceType": "instance",
                 "Tags": [{"Key": k, "Value": v} for k, v in tags]}] if tags else []
        r = ec2.run_instances(ImageId=ami, MinCount=count, MaxCount=count,
                              InstanceType="t3.micro", TagSpecifications=spec)
        return [i["InstanceId"] for i in r["Instances"]]

    plain = run([tag, ("Name", "qa-app")], n)
    asg = run([tag, ("Name", "qa-asg"), ("aws:autoscaling:groupName", "qa-workers")])[0]
    other = run([("Name", "bystander")])[0]
    return plain, asg, other


def instance_states(moto, ids):
    ec2 = moto.client("ec2")
    out = {}
    for r in ec2.describe_instances(InstanceIds=list(ids))["Reservations"]:
        for i in r["Instances"]:
            out[i["InstanceId"]] = i["State"]["Name"]
    return out


def write_config(path, endpoint, template_url, state_file, api_base=None,
                 stack_name="ChatAppMasterStack", extra_envs="", extra_top="",
                 dev_schedule=("0 9 * * MON-FRI", "0 18 * * MON-FRI"),
                 qa_schedule=("30 8 * * MON-FRI", "0 20 * * MON-FRI")):
    api = api_base or "https://discord.com/api/v10"
    text = f"""
discord: {{
  application_id = "100000000000000001";
  guild_id = "200000000000000002";
  channel_id = "300000000000000003";
  api_base = "{api}";
  roles: {{ operator = [ "400000000000000004" ]; admin = [ "500000000000000005" ]; }};
}};
aws: {{ region = "{REGION}"; endpoint_url = "{endpoint}"; }};
state_file = "{state_file}";
catch_up = "0";
timezone = "Asia/Seoul";
{extra_top}
environments = (
  {{
    name = "dev";
    kind = "stack";
    stack_name = "{stack_name}";
    template_url = "{template_url}";
    role_arn = "arn:aws:iam::123456789012:role/cfn-service-role";
    capabilities = [ "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM" ];
    image: {{ repository = "chat-chat-http";
             parameters = [ "{IMAGE_PARAMS[0]}", "{IMAGE_PARAMS[1]}", "{IMAGE_PARAMS[2]}" ]; }};
    parameters = ( {{ key = "Environment"; value = "dev"; }} );
    schedule: {{ start = "{dev_schedule[0]}"; stop = "{dev_schedule[1]}"; }};
    hourly_cost = 0.241;
  }},
  {{
    name = "qa";
    kind = "ec2";
    tag = {{ key = "AutoStopStart"; value = "Yes"; }};
    schedule: {{ start = "{qa_schedule[0]}"; stop = "{qa_schedule[1]}"; }};
    hourly_cost = 0.092;
  }}{extra_envs}
);
"""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def saved_capacity(state_path, key):
    """The capacity saved under key anywhere in the state file, or None."""
    try:
        st = json.load(open(state_path))
    except (OSError, ValueError):
        return None

    def walk(n):
        if isinstance(n, dict):
            if isinstance(n.get("capacities"), dict) and key in n["capacities"]:
                return n["capacities"][key]
            for v in n.values():
                f = walk(v)
                if f is not None:
                    return f
        elif isinstance(n, list):
            for v in n:
                f = walk(v)
                if f is not None:
                    return f
        return None
    return walk(st)


class Result:
    """One CLI run. A sanitizer report on its stderr fails the run whatever
    its exit status: rc then says so and equals no status a test expects."""

    def __init__(self, rc, out, err, secs):
        self.out, self.err, self.secs = out, err, secs
        self.rc = judged_rc(rc, err)

    def __repr__(self):
        return f"rc={self.rc} ({self.secs:.1f}s)\n--- stdout\n{self.out}--- stderr\n{self.err}"


def run_envbot(binary, cfg, *args, poll_ms=200, timeout=60, env=None):
    e = aws_test_env() if env is None else sanitizer_env(env)
    e["ENVBOT_TEST_POLL_MS"] = str(poll_ms)
    e.pop("DISCORD_TOKEN", None)
    t0 = time.monotonic()
    p = subprocess.run([binary, "-c", cfg, *args], capture_output=True, text=True, env=e,
                       timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def start_daemon(binary, cfg, log_path, env, timeout=30):
    """`envbot -c CFG run` with its output in log_path; the process once it
    logged ready, None if it did not within timeout (the process is left
    to the caller's close either way: returned as the second value)."""
    proc = subprocess.Popen([binary, "-c", cfg, "run"], stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT, env=env)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if 'msg="ready"' in open(log_path, errors="replace").read():
            return True, proc
        time.sleep(0.1)
    return False, proc


def stop_daemon(c, proc, log_path):
    """SIGTERM: exit 0 within 20 s, and no sanitizer report in its log."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")
    text = open(log_path, errors="replace").read()
    c.ok("Sanitizer" not in text and "runtime error:" not in text, "no sanitizer report",
         text[-2000:])


class Checks:
    """Counts assertions and prints "N passed, N failed" like tests/unit/check.h."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, cond, what, ctx=None):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}", flush=True)
            if ctx is not None:
                print(f"      {ctx!r}"[:4000], flush=True)
        return cond

    def done(self):
        if SEEN_REPORTS:
            self.ok(False, "no sanitizer report on the stderr of any envbot run",
                    SEEN_REPORTS[:8])
            del SEEN_REPORTS[:]
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


class FakeAws:
    """tests/fakes/fake_aws.py on a free loopback port (it picks the port
    and prints it). Signed requests need its key AKIDFAKE / fakesecret."""

    KEY, SECRET = "AKIDFAKE", "fakesecret"

    def __init__(self, logdir, script, upstream=None, extra=None):
        self.log = open(os.path.join(logdir, "fake_aws.log"), "wb")
        args = (["--upstream", upstream] if upstream else []) + list(extra or [])
        self.proc = subprocess.Popen([sys.executable, script, *args, "0"],
                                     stdout=subprocess.PIPE, stderr=self.log, env=aws_test_env())
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"fake_aws.py did not start (said {line!r})")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/_fake/health", self.proc)

    def ctl(self, what, body=None):
        import json
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(f"{self.url}/_fake/{what}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def requests(self, action=None):
        import json
        with urllib.request.urlopen(self.url + "/_fake/requests", timeout=10) as r:
            reqs = json.loads(r.read())
        return [q for q in reqs if action is None or q["action"] == action]

    def env(self):
        e = aws_test_env()
        e.update(AWS_ACCESS_KEY_ID=self.KEY, AWS_SECRET_ACCESS_KEY=self.SECRET)
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class FakeDiscord:
    """tests/fakes/fake_discord.py (Debian's python3, which has aiohttp) on a
    free loopback port; `control` is its /_control base URL."""

    TOKEN = "wf-test-token-0000"
    OPERATOR_ROLE = "400000000000000004"

    def __init__(self, logdir, script, python="/usr/bin/python3"):
        self.out = open(os.path.join(logdir, "discord.out"), "w+")
        self.log = open(os.path.join(logdir, "discord.log"), "wb")
        self.proc = subprocess.Popen([python, script, "--token", self.TOKEN],
                                     stdout=self.out, stderr=self.log)
        end = time.monotonic() + 15
        line = ""
        while time.monotonic() < end and self.proc.poll() is None:
            self.out.seek(0)
            line = self.out.readline()
            if line.startswith("READY"):
                break
            time.sleep(0.05)
        if not line.startswith("READY"):
            raise RuntimeError("fake_discord.py did not start; see discord.log")
        self.api = line.split("api=")[1].split()[0]
        self.control = self.api.rsplit("/api/", 1)[0] + "/_control"

    def call(self, path, body=None, timeout=10):
        import json
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data,
                                     method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")

    def slash(self, sub, env, user="alice", roles=None):
        """/env SUB ENV from a user with the operator role; returns its id."""
        return self.call("/interaction", {
            "command": "env", "subcommand": sub, "options": {"name": env},
            "roles": [self.OPERATOR_ROLE] if roles is None else roles, "user_name": user})["id"]

    def reply(self, iid):
        """The interaction's record: the reply as it stands now (content,
        embeds), the callbacks and every edit."""
        rec = self.call(f"/interaction/{iid}")
        msg = {"content": "", "embeds": []}
        for resp in rec.get("responses") or []:
            d = resp.get("data") or {}
            msg = {"content": d.get("content", ""), "embeds": d.get("embeds") or []}
        for ed in rec.get("edits") or []:
            for k in ("content", "embeds"):
                if k in (ed.get("body") or {}):
                    msg[k] = ed["body"][k]
        rec["msg"] = msg
        return rec

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


GREEN, RED, BLUE = 3066993, 15158332, 3447003


def embed_text(e):
    """Everything an embed shows, as one string (for 'says X' checks)."""
    parts = [e.get("title") or "", e.get("description") or ""]
    for f in e.get("fields") or []:
        parts.append(f"{f.get('name')}: {f.get('value')}")
    parts.append((e.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def embed_field(e, name):
    for f in e.get("fields") or []:
        if f.get("name") == name:
            return f.get("value") or ""
    return None
