#!/usr/bin/env python3
"""End to end: one envbot, several AWS accounts and regions. The daemon
(`envbot run`) talks to moto through the fault-injecting fake in proxy mode
(tests/fakes/fake_aws.py --upstream MOTO --proxy: every request goes to
moto, which keeps resources per account when the caller's credentials come
from an assumed role, and per region; the fake records each request with
the region it was signed for and injects the faults). Driven from the fake
Discord.

Accounts: 123456789012 (envbot's own), 222222222222 and 333333333333
(reached through aws.assume_role). Instances tagged Team=spoke live in
222222222222's ap-northeast-2 and us-east-1 (one of them exempt with
envbot:exclude = "true", one whose envbot:exclude-until date has passed);
decoys with the same tag live in envbot's own account and in 222222222222's
us-west-2, which the environment does not name. Team=far instances live in
333333333333's eu-west-1 and sa-east-1 (regions = "all").

  moto     /env stop spoke: green, one step per region, the exempt instance
           named with its tag in the embed, running in moto, and in
           /env status and /audit; every other spoke instance stopped; the
           decoys untouched. /env start spoke: green, back up. /env stop
           everywhere (regions = "all", from DescribeRegions): both far
           instances stopped, nothing else of 333333333333 touched.
           One AssumeRole per role for the whole run; no EC2 call of the
           spoke role signed for a region it does not name. `envbot doctor`
           shows each role's identity and DescribeRegions for "all".
  faults   STS throttled twice, us-east-1 slow (every DescribeInstances
           there waits 2 s), eu-west-1 resetting every connection:
           /env stop spoke3 ends red naming eu-west-1, the other two regions
           done and their instances stopped. A role AWS refuses
           (AccessDenied on AssumeRole): /env stop locked ends red naming
           the role and AWS's reason; doctor says so and exits 3.

usage: test_accounts.py ENVBOT_BINARY [SCENARIO...]
Exit 77 without moto or aiohttp in Debian's python3."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import boto3
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)
from wfcommon import (GREEN, RED, Checks, FakeAws, FakeDiscord, Moto, aws_test_env,  # noqa: E402
                      embed_field, embed_text, start_daemon, stop_daemon, tmpdir,
                      write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
ADMIN_ROLE = "500000000000000005"
SPOKE = "arn:aws:iam::222222222222:role/envbot-spoke"
FAR = "arn:aws:iam::333333333333:role/envbot-spoke"
LOCKED = "arn:aws:iam::444444444444:role/not-trusted"


class World:
    def __init__(self, d):
        self.d = d
        self.m = Moto(d)
        self.fake = FakeAws(d, FAKE_AWS, upstream=self.m.url, extra=["--proxy"])
        self.discord = FakeDiscord(d, FAKE_DISCORD)
        self.bot = None
        sts = self.m.client("sts")
        self.creds = {}
        for role in (SPOKE, FAR):
            self.creds[role] = sts.assume_role(RoleArn=role, RoleSessionName="test-setup",
                                               ExternalId="envbot-test")["Credentials"]
        self.ami = self.ec2(None, "ap-northeast-2").describe_images(
            Owners=["amazon"])["Images"][0]["ImageId"]
        self.ids = {}
        self.ids["spoke_apne2"] = self.run(SPOKE, "ap-northeast-2", [("Team", "spoke")], 2)
        self.ids["spoke_use1"] = self.run(SPOKE, "us-east-1", [("Team", "spoke")], 2)
        self.ids["exempt"] = self.run(SPOKE, "ap-northeast-2",
                                      [("Team", "spoke"), ("Name", "keep-me"),
                                       ("envbot:exclude", "true")])
        self.ids["lapsed"] = self.run(SPOKE, "us-east-1",
                                      [("Team", "spoke"), ("envbot:exclude-until", "2020-01-31")])
        self.ids["until_future"] = self.run(SPOKE, "us-east-1",
                                            [("Team", "spoke"),
                                             ("envbot:exclude-until", "2099-12-31")])
        self.ids["decoy_own"] = self.run(None, "ap-northeast-2", [("Team", "spoke")])
        self.ids["decoy_usw2"] = self.run(SPOKE, "us-west-2", [("Team", "spoke")])
        self.ids["far_euw1"] = self.run(FAR, "eu-west-1", [("Team", "far")])
        self.ids["far_sae1"] = self.run(FAR, "sa-east-1", [("Team", "far")])
        self.ids["far_other"] = self.run(FAR, "eu-west-1", [("Team", "not-far")])
        self.ids["spoke_euw1"] = self.run(SPOKE, "eu-west-1", [("Team", "spoke")])

    def ec2(self, role, region):
        if role is None:
            return boto3.client("ec2", region_name=region, endpoint_url=self.m.url,
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        c = self.creds[role]
        return boto3.client("ec2", region_name=region, endpoint_url=self.m.url,
                            aws_access_key_id=c["AccessKeyId"],
                            aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"])

    def run(self, role, region, tags, n=1):
        r = self.ec2(role, region).run_instances(
            ImageId=self.ami, MinCount=n, MaxCount=n, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": k, "Value": v} for k, v in tags]}])
        ids = [i["InstanceId"] for i in r["Instances"]]
        self.where = getattr(self, "where", {})
        for i in ids:
            self.where[i] = (role, region)
        return ids

    def states(self, key):
        out = []
        for i in self.ids[key]:
            role, region = self.where[i]
            r = self.ec2(role, region).describe_instances(InstanceIds=[i])["Reservations"]
            out.append(r[0]["Instances"][0]["State"]["Name"])
        return out

    def config(self, name, envs):
        cfg = os.path.join(self.d, name + ".cfg")
        write_config(cfg, self.fake.url, "https://envbot-templates.s3.amazonaws.com/x.yaml",
                     os.path.join(self.d, name + "-state.json"), api_base=self.discord.api,
                     extra_top='warn_before = "0";', extra_envs=envs,
                     dev_schedule=("0 3 * * SUN", "5 3 * * SUN"),
                     qa_schedule=("0 3 * * SUN", "5 3 * * SUN"))
        return cfg

    def start_bot(self, cfg, name):
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "300"
        self.log_path = os.path.join(self.d, name + ".log")
        ready, self.bot = start_daemon(sys.argv[1], cfg, self.log_path, env)
        return ready

    def stop_bot(self, c):
        stop_daemon(c, self.bot, self.log_path)
        self.bot = None

    def doctor(self, cfg):
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        p = subprocess.run([sys.argv[1], "-c", cfg, "doctor"], capture_output=True, text=True,
                           env=env, timeout=90)
        return p.returncode, p.stdout + p.stderr

    def cmd(self, command, sub=None, opts=None, roles=None):
        body = {"command": command, "options": opts or {},
                "roles": roles or [FakeDiscord.OPERATOR_ROLE], "user_name": "alice"}
        if sub:
            body["subcommand"] = sub
        return self.discord.call("/interaction", body)["id"]

    def wait_text(self, iid, timeout=30):
        end = time.monotonic() + timeout
        msg = {}
        while time.monotonic() < end:
            msg = self.discord.reply(iid)["msg"]
            if msg.get("content") or msg.get("embeds"):
                return msg
            time.sleep(0.2)
        return msg

    def close(self):
        if self.bot and self.bot.poll() is None:
            self.bot.kill()
            self.bot.wait()
        self.discord.stop()
        self.fake.stop()
        self.m.stop()


def wait_embed(w, iid, timeout=90):
    end = time.monotonic() + timeout
    e = None
    while time.monotonic() < end:
        embeds = w.discord.reply(iid)["msg"]["embeds"]
        e = embeds[0] if embeds else None
        if e and e.get("color") in (GREEN, RED):
            return e
        time.sleep(0.3)
    return e


ENVS_MOTO = f""",
  {{ name = "spoke"; kind = "ec2"; tag = {{ key = "Team"; value = "spoke"; }};
    aws = {{ assume_role = "{SPOKE}"; external_id = "envbot-test"; }};
    regions = [ "ap-northeast-2", "us-east-1" ];
    schedule: {{ start = "0 3 * * SUN"; stop = "5 3 * * SUN"; }}; }},
  {{ name = "everywhere"; kind = "ec2"; tag = {{ key = "Team"; value = "far"; }};
    aws = {{ assume_role = "{FAR}"; }};
    regions = "all";
    schedule: {{ start = "0 3 * * SUN"; stop = "5 3 * * SUN"; }}; }}"""


def s_moto(w, c):
    cfg = w.config("moto", ENVS_MOTO)
    c.ok(w.start_bot(cfg, "moto"), "moto: daemon ready")
    e = wait_embed(w, w.discord.slash("stop", "spoke"))
    text = embed_text(e or {})
    c.ok(e and e.get("color") == GREEN, "moto: /env stop spoke ends green", text)
    c.ok("ap-northeast-2" in text and "us-east-1" in text, "moto: a step per region", text)
    c.ok(embed_field(e or {}, "Account") == "222222222222, 2 regions",
         "moto: the embed names the account", embed_field(e or {}, "Account"))
    ex = w.ids["exempt"][0]
    c.ok(ex in text and "envbot:exclude=true" in text,
         "moto: the exempt instance is in the embed with its tag", text)
    fut = w.ids["until_future"][0]
    c.ok(fut in text and "envbot:exclude-until=2099-12-31" in text,
         "moto: the instance exempt until 2099 is in the embed with its tag", text)
    c.ok(w.states("spoke_apne2") == ["stopped"] * 2 and w.states("spoke_use1") == ["stopped"] * 2,
         "moto: the spoke instances of both regions are stopped",
         (w.states("spoke_apne2"), w.states("spoke_use1")))
    c.ok(w.states("lapsed") == ["stopped"], "moto: a lapsed exclude-until is not an exemption",
         w.states("lapsed"))
    c.ok(w.states("exempt") == ["running"] and w.states("until_future") == ["running"],
         "moto: the exempt instances keep running",
         (w.states("exempt"), w.states("until_future")))
    for key in ("decoy_own", "decoy_usw2", "spoke_euw1", "far_euw1", "far_sae1"):
        c.ok(w.states(key) == ["running"], f"moto: {key} (another account or region) untouched",
             w.states(key))

    msg = w.wait_text(w.cmd("env", "status", {"name": "spoke"}))
    st = json.dumps(msg)
    c.ok("ap-northeast-2" in st and "us-east-1" in st and "exempt" in st,
         "moto: /env status spoke shows both regions and the exemption", st[:1500])
    msg = w.wait_text(w.cmd("audit", roles=[ADMIN_ROLE]))
    au = json.dumps(msg)
    c.ok("left alone" in au and ex in au, "moto: /audit lists what was left alone and why",
         au[:2000])

    e = wait_embed(w, w.discord.slash("start", "spoke"))
    c.ok(e and e.get("color") == GREEN, "moto: /env start spoke ends green", embed_text(e or {}))
    c.ok(w.states("spoke_apne2") == ["running"] * 2 and w.states("spoke_use1") == ["running"] * 2
         and w.states("lapsed") == ["running"], "moto: the spoke instances are back up")

    e = wait_embed(w, w.discord.slash("stop", "everywhere"), timeout=150)
    text = embed_text(e or {})
    c.ok(e and e.get("color") == GREEN, "moto: /env stop everywhere (regions = \"all\") ends green",
         text[:3000])
    c.ok("sa-east-1" in text and "eu-west-1" in text and "us-west-2" in text,
         "moto: the embed has a step per enabled region", text[:2000])
    c.ok(w.states("far_euw1") == ["stopped"] and w.states("far_sae1") == ["stopped"],
         "moto: the far instances in eu-west-1 and sa-east-1 are stopped")
    c.ok(w.states("far_other") == ["running"] and w.states("spoke_euw1") == ["running"],
         "moto: instances with another tag and of another account untouched")

    reqs = w.fake.requests()
    assumes = {}
    for r in reqs:
        if r["action"] == "AssumeRole":
            assumes[r["params"].get("RoleArn")] = assumes.get(r["params"].get("RoleArn"), 0) + 1
    c.ok(assumes == {SPOKE: 1, FAR: 1}, "moto: one AssumeRole per role for the whole run", assumes)
    c.ok(any(r["action"] == "AssumeRole" and r["params"].get("ExternalId") == "envbot-test"
             for r in reqs), "moto: the external id goes with the spoke role's AssumeRole")
    changes = [(r["action"], r["region"]) for r in reqs
               if r["action"] in ("StartInstances", "StopInstances")]
    spoke_changes = {reg for a, reg in changes[:4]}
    c.ok(spoke_changes <= {"ap-northeast-2", "us-east-1"} and len(changes) >= 4,
         "moto: the spoke's start/stop calls were signed for its two regions only", changes)
    w.stop_bot(c)

    rc, out = w.doctor(cfg)
    c.ok(f"\u2714 AWS role {SPOKE} (spoke): account 222222222222" in out,
         "moto: doctor shows the spoke role's identity", out)
    c.ok(f"\u2714 ec2:DescribeRegions as {FAR} (everywhere): allowed:" in out,
         "moto: doctor checks DescribeRegions for regions = \"all\"", out)
    c.ok("[region us-east-1, account 222222222222]" in out,
         "moto: doctor runs the kind's checks in each region of the account", out)


ENVS_FAULTS = f""",
  {{ name = "spoke3"; kind = "ec2"; tag = {{ key = "Team"; value = "spoke"; }};
    aws = {{ assume_role = "{SPOKE}"; external_id = "envbot-test"; }};
    regions = [ "ap-northeast-2", "us-east-1", "eu-west-1" ];
    schedule: {{ start = "0 3 * * SUN"; stop = "5 3 * * SUN"; }}; }},
  {{ name = "locked"; kind = "ec2"; tag = {{ key = "Team"; value = "spoke"; }};
    aws = {{ assume_role = "{LOCKED}"; region = "us-east-1"; }};
    schedule: {{ start = "0 3 * * SUN"; stop = "5 3 * * SUN"; }}; }}"""


def s_faults(w, c):
    cfg = w.config("faults", ENVS_FAULTS)
    w.fake.ctl("faults", {"clear": True, "rules": [
        {"match": "AssumeRole", "count": 2, "status": 400, "code": "Throttling",
         "params": {"RoleArn": SPOKE}},
        {"match": "AssumeRole", "count": 1000, "status": 403, "code": "AccessDenied",
         "params": {"RoleArn": LOCKED},
         "message": "User: arn:aws:iam::123456789012:user/envbot is not authorized to "
                    f"perform: sts:AssumeRole on resource: {LOCKED}"},
        {"match": "*", "count": 10000, "kind": "reset", "region": "eu-west-1"},
        {"match": "DescribeInstances", "count": 1000, "kind": "delay", "seconds": 2,
         "region": "us-east-1"}]})
    c.ok(w.start_bot(cfg, "faults"), "faults: daemon ready")
    t0 = time.monotonic()
    e = wait_embed(w, w.discord.slash("stop", "spoke3"), timeout=240)
    text = embed_text(e or {})
    c.ok(e and e.get("color") == RED, "faults: /env stop spoke3 ends red", text)
    reason = embed_field(e or {}, "Reason") or ""
    c.ok("2 of 3 regions down" in reason and "eu-west-1" in reason,
         "faults: the reason names the region that could not be reached", reason)
    c.ok(w.states("spoke_apne2") == ["stopped"] * 2 and w.states("spoke_use1") == ["stopped"] * 2,
         "faults: the other regions finished (slow us-east-1 included)",
         (w.states("spoke_apne2"), w.states("spoke_use1")))
    c.ok(w.states("spoke_euw1") == ["running"], "faults: eu-west-1 untouched (unreachable)")
    print(f"faults: stop with a region down took {time.monotonic() - t0:.1f} s", flush=True)
    n_assume = sum(1 for r in w.fake.requests("AssumeRole") if r["params"].get("RoleArn") == SPOKE)
    c.ok(n_assume == 3, "faults: throttled STS retried: 2 throttled + 1 answered", n_assume)

    e = wait_embed(w, w.discord.slash("stop", "locked"))
    text = embed_text(e or {})
    c.ok(e and e.get("color") == RED, "faults: /env stop locked ends red", text)
    c.ok(LOCKED in text and "AccessDenied" in text,
         "faults: the red embed names the refused role and AWS's reason", text)
    w.stop_bot(c)
    rc, out = w.doctor(cfg)
    c.ok(f"\u2718 AWS role {LOCKED} (locked)" in out and "AccessDenied" in out,
         "faults: doctor names the refused role and why", out)
    c.ok("trust policy" in out, "faults: doctor's fix names the trust policy", out)
    c.ok(rc == 3, f"faults: doctor exits 3 for a refused role (got {rc})", out[-1500:])


SCENARIOS = {"moto": s_moto, "faults": s_faults}


def main():
    names = sys.argv[2:] or list(SCENARIOS)
    c = Checks()
    for n in names:
        d = tmpdir(f"envbot-accounts-{n}-")
        try:
            w = World(d)
        except RuntimeError as e:
            if "fake_discord" in str(e):
                print(f"SKIP: {e}")
                return 77
            raise
        try:
            SCENARIOS[n](w, c)
        finally:
            w.close()
        print(f"{n}: logs in {d}", flush=True)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
