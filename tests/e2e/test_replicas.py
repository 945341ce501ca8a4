#!/usr/bin/env python3
"""End to end: two replicas of `envbot run` sharing their state and the
leader lease in moto's DynamoDB (issue 17).

One fake AWS (tests/fakes/fake_aws.py --upstream MOTO) plays CloudFormation
and ECR (a slow CreateStack, so a workflow is in flight when a replica
dies) and forwards DynamoDB to moto; replica a signs with AKIDFAKE and
replica b with AKIDREPB, so its request log says who called. One fake
Discord; a's api_base is /r/a/api/v10 and b's /r/b/api/v10, so its request
log and its gateway connections say who sent. lease_seconds = 3 (renewed
every second).

  takeover  a starts first and identifies; b stays standby (no gateway
            connection, /healthz role standby). A skip is recorded; /env
            start dev begins a 6 s CreateStack; kill -9 of a: b identifies
            within the lease plus one renewal (plus its start-up), resumes
            the workflow (CreateStack sent once in all) and finishes the
            embed green; the skip and the audit are in the table.
  pause     a comes back as a standby; SIGSTOP of b for twice the lease: a
            takes over; SIGCONT: b sends nothing to Discord (REST or
            gateway) and calls nothing in AWS once it runs again, logs that
            it lost the lease and starts over as a standby.
  faults    DynamoDB throttled, then unreachable for longer than the lease:
            sampled every 50 ms, never two replicas active; the active one
            gives up, one becomes active again once DynamoDB answers.
  rounds    REPLICA_ROUNDS (default 10; 100 for the issue's run) rounds of
            kill -9 of a random replica and a restart, each followed by one
            skip recorded through whichever is active: every skip is in the
            table once, every command audited once, never two active.

usage: test_replicas.py ENVBOT_BINARY      (exit 77 without moto or aiohttp)"""
import base64
import datetime
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e} (needs the python3 with moto and boto3)")
    sys.exit(77)
if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                  capture_output=True).returncode != 0:
    print("SKIP: Debian's python3 lacks aiohttp (apt-get install python3-aiohttp)")
    sys.exit(77)

from wfcommon import (GREEN, Checks, FakeAws, FakeDiscord, Moto, free_port,  # noqa: E402
                      sanitizer_reports_in, tmpdir, write_config)

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
TABLE = "envbot-state"
LEASE = 3
STACK = "ChatAppMasterStack"
REPO = "chat-chat-http"
KEYS = {"a": ("AKIDFAKE", "fakesecret"), "b": ("AKIDREPB", "replicabsecret")}


def weekday(d):
    """d, or the Monday after when d is a weekend day (dev starts MON-FRI)."""
    while d.weekday() >= 5:
        d += datetime.timedelta(days=1)
    return d


class Replica:
    def __init__(self, t, name):
        self.t, self.name = t, name
        self.health = free_port()
        self.cfg = os.path.join(t.d, f"envbot-{name}.cfg")
        self.log_path = os.path.join(t.d, f"replica-{name}.log")
        self.logs = []
        self.proc = None
        api = t.discord.api.replace("/api/v10", f"/r/{name}/api/v10")
        write_config(self.cfg, t.fake.url, "https://envbot-templates.s3.amazonaws.com/x.yaml",
                     os.path.join(t.d, f"state-{name}.json"), api_base=api,
                     extra_top=f'health: {{ listen = "127.0.0.1:{self.health}"; }};\n'
                               f'state: {{ backend = "dynamodb"; table = "{TABLE}"; '
                               f'lease_seconds = {t.lease}; replica_id = "{name}"; }};')

    def start(self):
        n = len(self.logs)
        path = f"{self.log_path}.{n}"
        self.logs.append(path)
        env = self.t.fake.env()
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = KEYS[self.name]
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "300"
        self.proc = subprocess.Popen([self.t.binary, "-c", self.cfg, "run"],
                                     stdout=open(path, "wb"), stderr=subprocess.STDOUT, env=env)
        return self

    def text(self):
        return open(self.logs[-1], errors="replace").read() if self.logs else ""

    def wait_log(self, needle, timeout=20, count=1):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.text().count(needle) >= count:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def role(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health}/healthz",
                                        timeout=1) as r:
                return json.loads(r.read()).get("role")
        except urllib.error.HTTPError as e:
            try:
                return json.loads(e.read()).get("role")
            except ValueError:
                return None
        except OSError:
            return None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode if self.proc else None


class Test:
    def __init__(self, binary, lease=LEASE):
        self.binary, self.lease = binary, lease
        self.d = tmpdir("envbot-replicas-")
        self.c = Checks()
        self.m = Moto(self.d)
        self.fake = FakeAws(self.d, FAKE_AWS, upstream=self.m.url)
        self.fake.ctl("credentials", {"access_key": KEYS["b"][0], "secret": KEYS["b"][1]})
        self.discord = FakeDiscord(self.d, FAKE_DISCORD)
        self.ddb = self.m.client("dynamodb")
        self.ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk",
                                                     "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        self.fake.ctl("images", {"repository": REPO, "images": [
            {"tags": ["v1.0.0"], "pushed_at": time.time() - 3600}]})
        self.r = {n: Replica(self, n) for n in ("a", "b")}

    # ---- what the fakes and the table saw ----

    def state(self):
        item = self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": "state"}},
                                 ConsistentRead=True).get("Item")
        if not item:
            return None
        data = item["d"]["B"]
        for k in range(1, int(item["parts"]["N"])):
            data += self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"state#{k}"}},
                                      ConsistentRead=True)["Item"]["d"]["B"]
        return json.loads(zlib.decompress(data))

    def discord_state(self):
        return self.discord.call("/state")

    def identifies(self, name):
        return [c for c in self.discord_state()["connections"]
                if c["path"].startswith(f"/r/{name}/") and c["identify"]]

    def aws_calls(self, name, action=None):
        return [q for q in self.fake.requests(action) if q["access_key"] == KEYS[name][0]]

    def actives(self):
        return [n for n, r in self.r.items() if r.role() == "active"]

    def wait_one_active(self, timeout=20, watch=None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            a = self.actives()
            if watch is not None:
                watch.append(a)
            if len(a) == 1:
                return a[0]
            time.sleep(0.05)
        return None

    def skip(self, date):
        iid = self.discord.call("/interaction", {
            "command": "env", "subcommand": "skip",
            "options": {"name": "dev", "date": date},
            "roles": [FakeDiscord.OPERATOR_ROLE], "user_name": "alice"})["id"]
        end = time.monotonic() + 20
        while time.monotonic() < end:
            rec = self.discord.reply(iid)
            if rec["msg"]["content"]:
                return rec["msg"]["content"]
            time.sleep(0.1)
        return ""

    def final_embed(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.discord_state()["messages"]:
                es = m.get("embeds") or []
                if es and es[0].get("color") == GREEN and "dev" in (
                        es[0].get("title") or ""):
                    return m
            time.sleep(0.2)
        return None

    # ---- scenarios ----

    def takeover(self):
        c, a, b = self.c, self.r["a"], self.r["b"]
        a.start()
        c.ok(a.wait_log('msg="ready"', 30), "a becomes active and ready", a.text()[-3000:])
        b.start()
        c.ok(b.wait_log("standby: watching the lease", 20), "b starts as a standby",
             b.text()[-2000:])
        time.sleep(LEASE)
        c.ok(a.role() == "active" and b.role() == "standby", "healthz: a active, b standby",
             (a.role(), b.role()))
        c.ok(len(self.identifies("a")) == 1 and not self.identifies("b"),
             "only a identified on the gateway",
             [(x["path"], x["identify"]) for x in self.discord_state()["connections"]])
        c.ok(not any(q.get("replica") == "b" for q in self.discord_state()["requests"]),
             "the standby sent nothing to Discord's REST API")
        c.ok(all(q["service"] == "dynamodb" for q in self.aws_calls("b")),
             "the standby called nothing but DynamoDB",
             {q["action"] for q in self.aws_calls("b")})
        env = self.fake.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        p = subprocess.run([self.binary, "-c", a.cfg, "doctor"], capture_output=True,
                           text=True, env=env, timeout=60)
        line = [ln for ln in p.stdout.splitlines() if "DynamoDB state table" in ln]
        c.ok(line and line[0].startswith("\u2714") and "key pk" in line[0] and
             "lease held by a#" in line[0], "doctor: the table and who holds the lease",
             p.stdout)
        self.ddb.create_table(TableName="envbot-badkey", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "id",
                                                     "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        bad = os.path.join(self.d, "bad.cfg")
        with open(a.cfg) as f:
            text = f.read()
        with open(bad, "w") as f:
            f.write(text.replace(f'table = "{TABLE}"', 'table = "envbot-badkey"'))
        p = subprocess.run([self.binary, "-c", bad, "doctor"], capture_output=True,
                           text=True, env=env, timeout=60)
        c.ok(p.returncode != 0 and "\u2718 DynamoDB state table envbot-badkey" in p.stdout
             and "string hash key" in p.stdout, "doctor: a table with the wrong key fails",
             p.stdout)
        skip_day = weekday(datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        reply = self.skip(skip_day)
        c.ok("recorded" in reply, "a records a skip", reply)

        self.fake.ctl("behavior", {"stack": STACK, "create_seconds": 6})
        iid = self.discord.slash("start", "dev")
        end = time.monotonic() + 15
        while time.monotonic() < end and not self.fake.requests("CreateStack"):
            time.sleep(0.05)
        c.ok(len(self.fake.requests("CreateStack")) == 1, "CreateStack sent by a")
        time.sleep(0.5)
        t_kill = time.monotonic()
        a.kill9()
        c.ok(b.wait_log('msg="ready"', LEASE + 15), "b takes over", b.text()[-3000:])
        ids = self.identifies("b")
        took = ids[0]["opened"] - t_kill if ids else None
        c.ok(took is not None and took < LEASE + LEASE / 3 + 3,
             f"b identified within the lease plus one renewal (+3 s start-up): {took}")
        print(f"failover: kill -9 to b's gateway connection {took:.2f} s" if took else
              "failover: b never identified", flush=True)
        m = self.final_embed(40)
        c.ok(m is not None, "the workflow in flight finished green through b",
             [(e.get("title"), e.get("color")) for x in self.discord_state()["messages"]
             for e in x.get("embeds") or []])
        c.ok(len(self.fake.requests("CreateStack")) == 1, "CreateStack sent once in all",
             len(self.fake.requests("CreateStack")))
        c.ok(any(q["action"] == "DescribeStacks" for q in self.aws_calls("b")),
             "b polled the stack a had created")
        st = self.state() or {}
        skips = st.get("environments", {}).get("dev", {}).get("skips", [])
        c.ok(any(s.get("date") == skip_day for s in skips), "the skip is in the table", skips)
        audit = [e.get("action", "") for e in st.get("audit", [])]
        c.ok(any("skip" in x for x in audit), "a's audit of the skip survived", audit)
        c.ok(any("workflow start" in x for x in audit), "the workflow's end is audited",
             audit)
        rec = self.discord.reply(iid)
        c.ok(rec["responses"], "the /env start was answered by a", rec)

    def pause(self):
        c, a, b = self.c, self.r["a"], self.r["b"]
        a.start()
        c.ok(a.wait_log("standby: watching the lease", 20), "a comes back as a standby")
        time.sleep(1)
        c.ok(b.role() == "active" and a.role() == "standby", "b active, a standby",
             (a.role(), b.role()))
        b.proc.send_signal(signal.SIGSTOP)
        c.ok(a.wait_log('msg="ready"', LEASE * 2 + 15), "a takes over from the paused b",
             a.text()[-2000:])
        time.sleep(max(0, LEASE * 2 - 2))
        t_cont, t_cont_wall = time.monotonic(), time.time()
        b.proc.send_signal(signal.SIGCONT)
        c.ok(b.wait_log("leadership lost", 15), "b sees it lost the lease",
             b.text()[-2000:])
        c.ok(b.wait_log("standby: watching the lease", 15, count=2),
             "b starts over as a standby", b.text()[-2000:])
        time.sleep(1)
        ds = self.discord_state()
        late_rest = [q for q in ds["requests"] if q.get("replica") == "b" and q["t"] >= t_cont]
        c.ok(not late_rest, "b sent no REST request after SIGCONT", late_rest[:5])
        late_gw = [(x["path"], h["t"]) for x in ds["connections"]
                   if x["path"].startswith("/r/b/") for h in x["heartbeats"] if h["t"] >= t_cont]
        c.ok(not late_gw, "b sent no gateway payload after SIGCONT", late_gw[:5])
        ids_after = [x for x in ds["connections"] if x["path"].startswith("/r/b/") and
                     x["opened"] >= t_cont]
        c.ok(not ids_after, "b opened no gateway connection after SIGCONT", ids_after)
        late_aws = [q for q in self.aws_calls("b") if q["time"] >= t_cont_wall and
                    q["service"] != "dynamodb"]
        c.ok(not late_aws, "b called no AWS API after SIGCONT", late_aws[:5])
        late_writes = [q for q in self.aws_calls("b") if q["time"] >= t_cont_wall and
                       q["action"] == "TransactWriteItems"]
        c.ok(not late_writes, "b tried no state write after SIGCONT", late_writes[:5])
        c.ok(b.role() == "standby" and a.role() == "active", "then b is the standby",
             (a.role(), b.role()))

    def faults(self):
        c = self.c
        watch = []
        first = self.wait_one_active(10, watch)
        c.ok(first is not None, "one active before the faults", watch[-1:])
        self.fake.ctl("faults", {"rules": [{"match": "dynamodb", "count": 8, "status": 400,
                                            "code": "ThrottlingException"}]})
        end = time.monotonic() + LEASE * 2
        while time.monotonic() < end:
            watch.append(self.actives())
            time.sleep(0.05)
        self.fake.ctl("faults", {"rules": [{"match": "dynamodb", "count": 10000,
                                            "kind": "reset"}]})
        end = time.monotonic() + LEASE * 3
        while time.monotonic() < end:
            watch.append(self.actives())
            time.sleep(0.05)
        gave_up = any("leadership lost" in r.text() for r in self.r.values())
        c.ok(gave_up, "the active replica gave up when DynamoDB stopped answering")
        self.fake.ctl("faults", {"clear": True, "rules": []})
        back = self.wait_one_active(LEASE * 4 + 20, watch)
        c.ok(back is not None, "one replica active again once DynamoDB answers", watch[-3:])
        two = [w for w in watch if len(w) > 1]
        c.ok(not two, f"never two active ({len(watch)} samples)", two[:3])

    def rounds(self, n):
        c = self.c
        watch, dates = [], []
        day = weekday(datetime.date.today() + datetime.timedelta(days=40))
        for i in range(n):
            victim = random.choice(list(self.r.values()))
            victim.kill9()
            victim.start()
            if self.wait_one_active(LEASE * 2 + 20, watch) is None:
                c.ok(False, f"round {i}: a replica became active", watch[-3:])
                continue
            day = weekday(day + datetime.timedelta(days=1))
            reply = self.skip(day.isoformat())
            if "recorded" not in reply:
                # the interaction may have reached a replica that was dying:
                # Discord would show the user the failure; ask once more
                reply = self.skip(day.isoformat())
            c.ok("recorded" in reply, f"round {i}: skip {day} recorded", reply)
            dates.append(day.isoformat())
            for _ in range(5):
                watch.append(self.actives())
                time.sleep(0.05)
        st = self.state() or {}
        skips = [s["date"] for s in st.get("environments", {}).get("dev", {}).get("skips", [])]
        missing = [d for d in dates if d not in skips]
        c.ok(not missing, f"all {len(dates)} skips are in the table", missing)
        c.ok(len(skips) == len(set(skips)), "no skip twice", skips)
        audit = [e for e in st.get("audit", []) if "skip" in e.get("action", "")
                 and e.get("outcome", "").startswith("ok")]
        per_day = {}
        for e in audit:
            per_day[e["action"]] = per_day.get(e["action"], 0) + 1
        twice = {k: v for k, v in per_day.items() if v > 1}
        c.ok(not twice, "no skip audited twice", twice)
        two = [w for w in watch if len(w) > 1]
        c.ok(not two, f"never two active over {n} rounds ({len(watch)} samples)", two[:3])
        print(f"rounds: {n} kill -9 rounds, {len(dates)} skips kept", flush=True)

    def migrate(self):
        c = self.c
        cfg = self.r["a"].cfg
        env = self.fake.env()

        def run(*args):
            return subprocess.run([self.binary, "-c", cfg, "migrate-state", *args],
                                  capture_output=True, text=True, env=env, timeout=60)
        out = os.path.join(self.d, "copied.json")
        p = run("--to-table", "--file", out)
        c.ok(p.returncode != 0, "migrate-state --to-table of a missing file refused", p)
        p = run("--to-file", "--file", out)
        c.ok(p.returncode == 0 and "copied the table" in p.stdout,
             "migrate-state --to-file while the replicas run (a read)", p)
        with open(out) as f:
            copied = json.load(f)
        c.ok(copied == self.state() or copied.get("environments") == self.state().get(
            "environments"), "the file holds the table's state")
        p = run("--to-table", "--file", out, "--force")
        c.ok(p.returncode == 1 and "holds the lease" in p.stderr,
             "migrate-state --to-table refused while a replica holds the lease", p)
        for r in self.r.values():
            rc = r.stop()
            c.ok(rc == 0, f"replica {r.name} exits 0 on SIGTERM ({rc})")
        ver = int(self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": "state"}},
                                    ConsistentRead=True)["Item"]["ver"]["N"])
        p = run("--to-table", "--file", out)
        c.ok(p.returncode == 1 and "already holds a state" in p.stderr,
             "migrate-state --to-table without --force keeps the table's state", p)
        p = run("--to-table", "--file", out, "--force")
        c.ok(p.returncode == 0 and f"version {ver + 1}" in p.stdout,
             "migrate-state --to-table --force writes the next version", p)
        c.ok(self.state().get("environments") == copied.get("environments"),
             "the table holds the file's state")

    def close(self):
        for r in self.r.values():
            r.stop()
        logs = [p for r in self.r.values() for p in r.logs]
        found = sanitizer_reports_in(logs)
        self.c.ok(not found, "no sanitizer report in any replica's log", found[:8])
        self.discord.stop()
        self.fake.stop()
        self.m.stop()


def main():
    t = Test(sys.argv[1])
    try:
        t.takeover()
        t.pause()
        t.faults()
        t.rounds(int(os.environ.get("REPLICA_ROUNDS", "10")))
        t.migrate()
    finally:
        t.close()
    rc = t.c.done()
    if rc == 0:
        shutil.rmtree(t.d, ignore_errors=True)
    else:
        print(f"logs kept in {t.d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
