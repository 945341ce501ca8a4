#!/usr/bin/env python3
"""End to end: `envbot doctor` (the real binary) against moto and the fake
Discord on loopback.

Everything right: every line ✔ (the stack that does not exist yet is
allowed, EC2 start/stop are probed with DryRun on the tagged instances),
ℹ lines for what cannot be probed (iam:PassRole), exit 0. Then one broken
input at a time, each must give its ✘ with a fix and the right exit status:
a wrong Discord token (3), an application id that is not the token's (1),
an unknown channel (1), a guild the bot is not in (1), a missing ECR
repository (1), no token at all (2), a config that does not load (2).
Then moto enforces IAM (its /moto-api/reset-auth): an IAM user allowed
everything passes (0), an unknown access key is refused (3), and a user
denied ec2:StartInstances gets ✘ for that permission only (1).

usage: test_doctor.py ENVBOT_BINARY FAKE_DISCORD_PY   (exit 77: no moto)"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e} (needs the python3 with moto and boto3)")
    sys.exit(77)

if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                  capture_output=True).returncode != 0:
    print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
    sys.exit(77)

from wfcommon import (REGION, Checks, FakeDiscord, Moto, aws_test_env, setup_ec2, setup_moto,
                      tmpdir, write_config)

OK, FAIL, INFO = "\u2714", "\u2718", "\u2139"


class Run:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    def line(self, start):
        """The first output line starting with `start` (mark + subject),
        with the fix/check line under it appended; "" if none."""
        lines = self.out.splitlines()
        for i, ln in enumerate(lines):
            if ln.startswith(start):
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                return ln + ("\n" + nxt if nxt.startswith("    ") else "")
        return ""

    def marks(self):
        return [ln[0] for ln in self.out.splitlines() if ln[:1] in (OK, FAIL, INFO)]

    def __repr__(self):
        return f"rc={self.rc} ({self.secs:.1f}s)\n--- stdout\n{self.out}--- stderr\n{self.err}"


def doctor(binary, cfg, token, key="testing", secret="testing", extra=None):
    env = aws_test_env()
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
    env.pop("DISCORD_TOKEN", None)
    if token is not None:
        env["DISCORD_TOKEN"] = token
    env.update(extra or {})
    t0 = time.monotonic()
    p = subprocess.run([binary, "-c", cfg, "doctor"], capture_output=True, text=True, env=env,
                       timeout=90)
    r = Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    if os.environ.get("TEST_VERBOSE"):
        print(r, flush=True)
    return r


def edit(path, src, old, new):
    with open(src) as f:
        text = f.read()
    assert old in text, old
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    os.chmod(path, 0o600)
    return path


def main():
    binary = os.path.abspath(sys.argv[1])
    fake = os.path.abspath(sys.argv[2])
    d = tmpdir("envbot-doctor-")
    c = Checks()
    m = Moto(d)
    fd = FakeDiscord(d, fake)
    try:
        url, _ = setup_moto(m)
        plain, asg, _ = setup_ec2(m)
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, url, os.path.join(d, "state.json"), api_base=fd.api)
        tok = FakeDiscord.TOKEN

        # ---- everything right ----
        r = doctor(binary, cfg, tok)
        c.ok(r.rc == 0, "all checks pass: exit 0", r)
        c.ok(FAIL not in r.out, "no ✘ when everything is right", r)
        for subject in ("config", "Discord token", "application id 100000000000000001",
                        "channel 300000000000000003", "guild 200000000000000002",
                        "AWS credentials", "cloudformation:DescribeStacks ChatAppMasterStack",
                        "cloudformation:DescribeStackEvents ChatAppMasterStack",
                        "ecr:DescribeImages chat-chat-http",
                        "ec2:DescribeInstances tag AutoStopStart=Yes",
                        "ec2:StartInstances tag AutoStopStart=Yes",
                        "ec2:StopInstances tag AutoStopStart=Yes"):
            c.ok(r.line(f"{OK} {subject}"), f"✔ {subject}", r)
        c.ok("account 123456789012" in r.line(f"{OK} AWS credentials") and
             "arn:aws:sts::123456789012:user/moto" in r.line(f"{OK} AWS credentials"),
             "the credentials line shows the account and the ARN", r)
        c.ok("does not exist" in r.line(f"{OK} cloudformation:DescribeStacks"),
             "a stack not created yet counts as allowed", r)
        c.ok(f"DryRun on {len(plain)} tagged instances" in r.line(f"{OK} ec2:StartInstances"),
             "StartInstances probed with DryRun on the tagged instances outside the ASG", r)
        pr = r.line(f"{INFO} iam:PassRole arn:aws:iam::123456789012:role/cfn-service-role")
        c.ok("iam:PassedToService" in pr and "cloudformation.amazonaws.com" in pr,
             "ℹ iam:PassRole with the policy to check", r)
        c.ok(re.search(r"^12 passed, 0 failed, 2 to check by hand$", r.out, re.M),
             "summary line", r)
        c.ok(r.secs < 15, f"doctor answers in seconds ({r.secs:.1f}s)")
        # DryRun really was a dry run: nothing stopped or started
        ec2 = m.client("ec2")
        states = {i["InstanceId"]: i["State"]["Name"]
                  for res in ec2.describe_instances(InstanceIds=plain)["Reservations"]
                  for i in res["Instances"]}
        c.ok(set(states.values()) == {"running"}, "the DryRun probes changed nothing", states)
        # the channel and guild checks really asked the fake Discord
        reqs = [q["path"] for q in fd.call("/state")["requests"]]
        for p in ("/users/@me", "/applications/@me", "/channels/300000000000000003",
                  "/guilds/200000000000000002"):
            c.ok(any(q.endswith(p) for q in reqs), f"GET {p} was sent", reqs)
        # the output is stable: a second run prints the same lines
        r2 = doctor(binary, cfg, tok)
        c.ok(r2.out == r.out, "a second run prints the same output (stable order)",
             (r.out, r2.out))

        # ---- a tag no instance carries: start/stop cannot be probed (ℹ) ----
        ghost = os.path.join(d, "ghost.cfg")
        write_config(ghost, m.url, url, os.path.join(d, "state.json"), api_base=fd.api,
                     extra_envs=""",
  { name = "ghost"; kind = "ec2"; tag = { key = "AutoStopStart"; value = "Nobody"; };
    schedule: { start = "0 9 * * MON-FRI"; stop = "0 18 * * MON-FRI"; }; }""")
        r = doctor(binary, ghost, tok)
        c.ok(r.rc == 0, "a tag without instances is not a failure: exit 0", r)
        c.ok("0 instances tagged" in
             r.line(f"{OK} ec2:DescribeInstances tag AutoStopStart=Nobody (ghost)"),
             "✔ DescribeInstances with no instance", r)
        ln = r.line(f"{INFO} ec2:StartInstances tag AutoStopStart=Nobody (ghost)")
        c.ok("not probed" in ln and "check:" in ln, "ℹ StartInstances not probed", r)
        c.ok(r.line(f"{OK} ec2:StartInstances tag AutoStopStart=Yes (qa)"),
             "the other tag is still probed", r)

        # ---- events out and Cost Explorer: ℹ, never probed (no message sent) ----
        outs = os.path.join(d, "outs.cfg")
        topic = f"arn:aws:sns:{REGION}:123456789012:envbot-doctor"
        write_config(outs, m.url, url, os.path.join(d, "state.json"), api_base=fd.api,
                     extra_top=f"""
notify: {{ webhooks = ( {{ url = "https://hooks.example.com/secret-path"; name = "ops"; }} );
          sns_topic_arn = "{topic}"; eventbridge_bus = "default"; }};
report: {{ cost_explorer = true; cost_tag = "team"; }};
""")
        r = doctor(binary, outs, tok)
        c.ok(r.rc == 0, "events out and the report add no failure: exit 0", r)
        ln = r.line(f"{INFO} events out: sns:Publish {topic}")
        c.ok("allow sns:Publish on " + topic in ln and "not probed" in ln, "ℹ sns:Publish", r)
        ln = r.line(f"{INFO} events out: events:PutEvents default")
        c.ok("NotifyEventBusArns" in ln, "ℹ events:PutEvents", r)
        c.ok("not probed" in r.line(f"{INFO} events out: webhook ops"), "ℹ webhook", r)
        c.ok("secret-path" not in r.out, "the webhook's path is not printed", r)
        ln = r.line(f"{INFO} weekly report: ce:GetCostAndUsage team")
        c.ok("cost-allocation tag team" in ln, "ℹ Cost Explorer with the tag", r)
        c.ok(re.search(r"^12 passed, 0 failed, 6 to check by hand$", r.out, re.M),
             "summary counts the four ℹ lines", r)

        # ---- a wrong Discord token: refused, exit 3 ----
        r = doctor(binary, cfg, "not-the-token-0000")
        c.ok(r.rc == 3, "a wrong Discord token exits 3", r)
        ln = r.line(f"{FAIL} Discord token")
        c.ok("401" in ln and "fix:" in ln and "Reset Token" in ln,
             "✘ Discord token with the fix", r)
        c.ok("not checked" in r.line(f"{FAIL} channel 300000000000000003"),
             "the channel is not checked with a refused token", r)
        c.ok(r.line(f"{OK} AWS credentials"), "AWS is still checked", r)
        c.ok("not-the-token-0000" not in r.out + r.err, "the token is never printed", r)

        # ---- the application id is not the token's ----
        bad = edit(os.path.join(d, "app.cfg"), cfg, '"100000000000000001"',
                   '"100000000000000009"')
        r = doctor(binary, bad, tok)
        c.ok(r.rc == 1, "a wrong application id exits 1", r)
        ln = r.line(f"{FAIL} application id 100000000000000009")
        c.ok('set discord.application_id = "100000000000000001"' in ln,
             "✘ application id with the right id in the fix", r)

        # ---- an unknown channel and a guild the bot is not in ----
        fd.call("/hide", {"channels": ["399999999999999999"]})
        fd.call("/hide", {"guilds": ["299999999999999999"], "status": 403})
        bad = edit(os.path.join(d, "chan.cfg"), cfg, '"300000000000000003"',
                   '"399999999999999999"')
        r = doctor(binary, bad, tok)
        c.ok(r.rc == 1, "an unknown channel exits 1", r)
        ln = r.line(f"{FAIL} channel 399999999999999999")
        c.ok("Unknown Channel" in ln and "10003" in ln and "Copy Channel ID" in ln and
             "discord.channel_id" in ln, "✘ channel: Unknown Channel with the fix", r)
        c.ok(r.marks().count(FAIL) == 1, "only the channel fails", r)
        bad = edit(os.path.join(d, "guild.cfg"), cfg, 'guild_id = "200000000000000002"',
                   'guild_id = "299999999999999999"')
        r = doctor(binary, bad, tok)
        c.ok(r.rc == 1, "a guild the bot is not in exits 1", r)
        ln = r.line(f"{FAIL} guild 299999999999999999")
        c.ok("Missing Access" in ln and "oauth2/authorize?client_id=100000000000000001" in ln
             and "applications.commands" in ln, "✘ guild with the invite link", r)
        ln = r.line(f"{FAIL} channel 300000000000000003")
        c.ok("guild 200000000000000002" in ln and "discord.guild_id" in ln,
             "✘ channel: it is in another guild than discord.guild_id", r)

        # ---- a missing ECR repository ----
        bad = edit(os.path.join(d, "ecr.cfg"), cfg, 'repository = "chat-chat-http"',
                   'repository = "chat-no-such-repo"')
        r = doctor(binary, bad, tok)
        c.ok(r.rc == 1, "a missing ECR repository exits 1", r)
        ln = r.line(f"{FAIL} ecr:DescribeImages chat-no-such-repo (dev)")
        c.ok("RepositoryNotFoundException" in ln and
             "aws ecr create-repository --repository-name chat-no-such-repo" in ln and
             "image.repository of dev" in ln, "✘ ecr:DescribeImages with the fix", r)
        c.ok(r.marks().count(FAIL) == 1, "only the repository fails", r)

        # ---- no token at all; a config that does not load ----
        r = doctor(binary, cfg, None)
        c.ok(r.rc == 2, "no Discord token: exit 2 (config)", r)
        ln = r.line(f"{FAIL} Discord token")
        c.ok("DISCORD_TOKEN" in ln and "token_file" in ln, "✘ Discord token: where to put it",
             r)
        c.ok(r.line(f"{OK} AWS credentials"), "AWS is checked without a token", r)
        bad = edit(os.path.join(d, "typo.cfg"), cfg, "catch_up =", "catchup =")
        r = doctor(binary, bad, tok)
        c.ok(r.rc == 2, "a config error exits 2", r)
        ln = r.line(f"{FAIL} config")
        c.ok("catchup" in ln and ("typo.cfg:" in r.out), "✘ config names the file and setting",
             r)
        c.ok("fix:" in r.out and "Discord token" not in r.out,
             "nothing else is checked without a config", r)

        # ---- moto enforcing IAM ----
        iam = m.client("iam")
        keys = {}
        policies = {
            "envbot-admin": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            "envbot-nostart": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "ec2:StartInstances", "Resource": "*"}]},
        }
        for user, pol in policies.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(pol))
            k = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        # Flask keeps a form-encoded body out of request.data: send it as text
        req = urllib.request.Request(m.url + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()

        r = doctor(binary, cfg, tok, *keys["envbot-admin"])
        c.ok(r.rc == 0, "IAM enforced, a user allowed everything: exit 0", r)
        c.ok("user/envbot-admin" in r.line(f"{OK} AWS credentials"),
             "the ARN is the IAM user's", r)

        r = doctor(binary, cfg, tok, "AKIAUNKNOWNKEY000000", "nope")
        c.ok(r.rc == 3, "unknown AWS credentials exit 3", r)
        ln = r.line(f"{FAIL} AWS credentials")
        c.ok("InvalidClientTokenId" in ln and "fix:" in ln and "access key" in ln,
             "✘ AWS credentials names the error and the fix", r)
        c.ok("not checked: the credentials were refused" in
             r.line(f"{FAIL} ecr:DescribeImages"), "the permissions are not checked", r)
        c.ok(r.line(f"{OK} Discord token"), "Discord is still checked", r)
        c.ok(r.secs < 15, f"refused credentials are not retried ({r.secs:.1f}s)")

        r = doctor(binary, cfg, tok, keys["envbot-admin"][0], "not-the-secret")
        c.ok(r.rc == 3, "a known access key with the wrong secret exits 3", r)
        ln = r.line(f"{FAIL} AWS credentials")
        c.ok("SignatureDoesNotMatch" in ln and "secret access key" in ln,
             "✘ AWS credentials: SignatureDoesNotMatch with its fix", r)
        c.ok("not-the-secret" not in r.out + r.err, "the secret is never printed", r)

        r = doctor(binary, cfg, tok, *keys["envbot-nostart"])
        c.ok(r.rc == 1, "ec2:StartInstances denied: exit 1", r)
        ln = r.line(f"{FAIL} ec2:StartInstances tag AutoStopStart=Yes (qa)")
        c.ok("denied" in ln and "fix: allow ec2:StartInstances on "
             f"arn:aws:ec2:{REGION}:123456789012:instance/*" in ln and
             "aws:ResourceTag/AutoStopStart = Yes" in ln and
             "in a policy of arn:aws:iam::123456789012:user/envbot-nostart" in ln,
             "✘ ec2:StartInstances denied, with the policy and whose it is", r)
        c.ok(r.line(f"{OK} ec2:StopInstances tag AutoStopStart=Yes (qa)"),
             "ec2:StopInstances still ✔", r)
        c.ok(r.marks().count(FAIL) == 1, "only StartInstances fails", r)
    finally:
        m.stop()
        fd.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
