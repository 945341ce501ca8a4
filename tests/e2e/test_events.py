#!/usr/bin/env python3
"""Events out, end to end (issue 18): `envbot run` with four sinks,
  hook   a local webhook receiver (format json, signed with secret_file)
  slack  the same receiver as a Slack incoming webhook (format slack)
  sns-1  moto's SNS (a standard topic, read through an SQS subscription)
  sns-2  moto's SNS FIFO topic (SNS drops a resend of one id)
  sns-3  an SNS topic that does not exist: refused for good, dropped
  eventbridge  moto's EventBridge default bus (a rule on source envbot -> SQS)
and overrides and workflows from chat (the fake Discord), then:
  - the receiver answers 503 for a while: the AWS sinks get the events at
    once, the webhooks later, in order;
  - kill -9 of the daemon twice, once right after a workflow was
    acknowledged (it is resumed), while deliveries wait;
  - at the end every sink has every event exactly once (by id), the
    webhook's signature checks, the Slack body is text + blocks, the event
    documents follow the schema, and /metrics counts what happened.

usage: test_events.py ENVBOT_BINARY
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (REGION, Checks, FakeDiscord, Moto, aws_test_env,  # noqa: E402
                      free_port, instance_states, setup_ec2, start_daemon, stop_daemon, tmpdir, write_config)

FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
SECRET = b"s3cr3t-key-for-hmac"


class Receiver:
    """A webhook receiver on loopback: records every POST (path, headers,
    body); answers 503 while failing is set."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.failing = True
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    fail = rec.failing
                    rec.posts.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body, "answered": 503 if fail else 200})
                self.send_response(503 if fail else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def taken(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path and p["answered"] == 200]

    def tried(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path]

    def stop(self):
        self.srv.shutdown()


class Queue:
    """An SQS queue that collects every message it is sent."""

    def __init__(self, moto, name, fifo=False):
        self.sqs = moto.client("sqs")
        attrs = {"FifoQueue": "true"} if fifo else {}
        self.url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.bodies = []

    def drain(self):
        while True:
            r = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            msgs = r.get("Messages") or []
            if not msgs:
                return self.bodies
            for m in msgs:
                self.bodies.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])


def setup_aws(moto):
    sns = moto.client("sns")
    ev = moto.client("events")
    q = {"topic": Queue(moto, "ev-topic"), "fifo": Queue(moto, "ev-fifo.fifo", fifo=True),
         "bus": Queue(moto, "ev-bus")}
    topic = sns.create_topic(Name="envbot-events")["TopicArn"]
    fifo = sns.create_topic(Name="envbot-events.fifo",
                            Attributes={"FifoTopic": "true"})["TopicArn"]
    for arn, queue in ((topic, q["topic"]), (fifo, q["fifo"])):
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue.arn,
                      Attributes={"RawMessageDelivery": "true"})
    ev.put_rule(Name="envbot-all", EventPattern=json.dumps({"source": ["envbot"]}))
    ev.put_targets(Rule="envbot-all", Targets=[{"Id": "q", "Arn": q["bus"].arn}])
    return topic, fifo, q


def sinks_config(port, secret_file, topic, fifo):
    """notify = { }: two webhooks, two SNS topics (a list: sinks sns-1,
    sns-2, and sns-3 that does not exist), the default bus."""
    gone = topic.rsplit(":", 1)[0] + ":no-such-topic"
    return f"""
notify = {{
  webhooks = (
    {{ name = "hook"; url = "http://127.0.0.1:{port}/hook"; secret_file = "{secret_file}"; }},
    {{ name = "slack"; url = "http://127.0.0.1:{port}/slack"; format = "slack"; }}
  );
  sns_topic_arn = [ "{topic}", "{fifo}", "{gone}" ];
  eventbridge_bus = "default";
}};
"""


def slash(discord, sub, options, user="alice"):
    return discord.call("/interaction", {
        "command": "env", "subcommand": sub, "options": options,
        "roles": [FakeDiscord.OPERATOR_ROLE], "user_name": user})["id"]


def wait_green(discord, iid, timeout=40):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        em = discord.reply(iid)["msg"]["embeds"]
        if em and em[0].get("color") == 3066993:
            return True
        time.sleep(0.2)
    return False


def wait_acked(discord, iid, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if discord.reply(iid).get("responses"):
            return True
        time.sleep(0.05)
    return False


def state_events(path):
    try:
        return json.load(open(path)).get("events") or []
    except (OSError, ValueError):
        return []


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric_value(text, name, label=None):
    for line in text.splitlines():
        if line.startswith(name) and (label is None or label in line):
            return float(line.rsplit(" ", 1)[1])
    return None


def ids_of(docs):
    return [d.get("id") for d in docs]


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-events-")
    c = Checks()
    moto = Moto(d)
    rcv = Receiver()
    discord = None
    procs = []
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        plain, _, _ = setup_ec2(moto)
        topic, fifo, queues = setup_aws(moto)
        secret = os.path.join(d, "hook.secret")
        with open(secret, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(secret, 0o600)
        hport = free_port()
        cfg = os.path.join(d, "envbot.cfg")
        state = os.path.join(d, "state.json")
        write_config(cfg, moto.url, "https://envbot-templates.s3.amazonaws.com/m.yaml", state,
                     api_base=discord.api,
                     extra_top=sinks_config(rcv.port, secret, topic, fifo) +
                     f'health: {{ listen = "127.0.0.1:{hport}"; }};\n')
        env = aws_test_env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"

        def start(n):
            log = os.path.join(d, f"envbot-{n}.log")
            ok, p = start_daemon(binary, cfg, log, env)
            procs.append(p)
            c.ok(ok, f"daemon {n} ready")
            return p, log

        # ---- 1: the receiver fails; the AWS sinks get the events at once
        p, _ = start(1)
        # weekdays ahead (qa starts Monday to Friday: a skip of a Sunday changes nothing)
        days = [date.today() + timedelta(days=k) for k in range(2, 14)]
        days = [x.isoformat() for x in days if x.weekday() < 5][:3]
        for day in days[:2]:
            iid = slash(discord, "skip", {"name": "qa", "date": day})
            c.ok(wait_acked(discord, iid), f"skip {day} answered")
        c.ok(wait_green(discord, slash(discord, "stop", {"name": "qa"})), "qa stopped: green")
        time.sleep(2)
        got = ids_of(queues["topic"].drain())
        c.ok(len(got) == 4, "SNS took the 4 events while the receiver fails", got)
        c.ok(len(rcv.tried("/hook")) >= 1 and not rcv.taken("/hook"),
             "the receiver was tried and refused", len(rcv.tried("/hook")))
        pend = state_events(state)
        c.ok(len(pend) == 4 and all("hook" in e["pending"] and
                                    set(e["pending"]) <= {"hook", "slack"} for e in pend),
             "the state keeps the 4 events for the webhooks only", pend)
        p.send_signal(signal.SIGKILL)
        p.wait()

        # ---- 2: kill -9 right after a workflow was acknowledged, deliveries
        # to the AWS sinks in flight
        p, log2 = start(2)
        iid = slash(discord, "skip", {"name": "qa", "date": days[2]})
        c.ok(wait_acked(discord, iid), f"skip {days[2]} answered")
        iid = slash(discord, "start", {"name": "qa"})
        c.ok(wait_acked(discord, iid), "start answered")
        p.send_signal(signal.SIGKILL)
        p.wait()
        # what daemon 2 had sent and not yet heard back about may come twice
        delivered2 = {(ln.split("sink=")[1].split()[0], ln.split(" id=")[1].split()[0])
                      for ln in open(log2, errors="replace") if 'msg="event delivered"' in ln}

        # ---- 3: restart; the receiver fails 3 s more, then takes them
        p, log3 = start(3)
        time.sleep(3)
        with rcv.lock:
            rcv.failing = False
        want = 7  # 3 skips, stop started/finished, start started/finished
        end = time.monotonic() + 40
        while time.monotonic() < end and (len(rcv.taken("/hook")) < want or
                                          len(rcv.taken("/slack")) < want or
                                          state_events(state)):
            time.sleep(0.5)
        time.sleep(3)  # a duplicate would come now
        hook = [json.loads(x["body"]) for x in rcv.taken("/hook")]
        slack = [json.loads(x["body"]) for x in rcv.taken("/slack")]
        sns_ids = ids_of(queues["topic"].drain())
        fifo_ids = ids_of(queues["fifo"].drain())
        bus = queues["bus"].drain()
        bus_ids = [b.get("detail", {}).get("id") for b in bus]
        all_ids = sorted(ids_of(hook))
        c.ok(len(all_ids) == want and len(set(all_ids)) == want,
             f"the webhook took {want} events, each once", all_ids)
        c.ok(sorted(fifo_ids) == all_ids, f"SNS FIFO got the same {want} events, each once",
             sorted(fifo_ids))
        # SNS standard and EventBridge cannot drop a resend: each event at
        # least once, and twice only if daemon 2 had it in flight when killed
        # (sent, no answer logged); every other one exactly once.
        for name, sink, ids in (("SNS", "sns-1", sns_ids), ("EventBridge", "eventbridge", bus_ids)):
            c.ok(sorted(set(ids)) == all_ids, f"{name} got every one of the {want} events",
                 sorted(ids))
            twice = sorted({i for i in ids if ids.count(i) > 1})
            phase1 = set(got)  # delivered before the first kill
            c.ok(all(ids.count(i) <= 2 and i not in phase1 and (sink, i) not in delivered2
                     for i in twice),
                 f"{name}: a duplicate only of an event in flight at the kill", twice)
            print(f"   {name}: {len(ids)} messages for {want} events "
                  f"(resent after the kill: {twice or 'none'})", flush=True)
        slack_ids = [b["blocks"][1]["elements"][0]["text"].split()[-1] for b in slack]
        c.ok(sorted(slack_ids) == all_ids, "Slack got the same events, each once", slack_ids)
        c.ok(not state_events(state), "nothing left in the state's outbox")
        c.ok(set(instance_states(moto, plain).values()) == {"running"},
             "the start acknowledged before the kill was resumed and finished",
             instance_states(moto, plain))

        # the documents and the transport
        types = sorted(e["type"] for e in hook)
        c.ok(types == ["override"] * 3 + ["workflow.finished"] * 2 + ["workflow.started"] * 2,
             "types: 3 overrides, 2 workflows started and finished", types)
        fin = [e for e in hook if e["type"] == "workflow.finished"]
        c.ok(all(e["version"] == 1 and e["environment"] == "qa" and
                 e["workflow"]["outcome"] == "succeeded" and
                 e["workflow"]["action"] in ("start", "stop") and e["who"] == "alice"
                 for e in fin), "finished events: schema, outcome, who", fin)
        ov = [e for e in hook if e["type"] == "override"]
        c.ok(all(e["override"]["name"] == "env skip" and e["override"]["command"].startswith(
            "/env skip qa") for e in ov), "override events name the command", ov)
        order = [e["id"] for e in hook]
        c.ok(order.index(fin[0]["workflow"]["id"] + ":started") <
             order.index(fin[0]["workflow"]["id"] + ":finished"),
             "the webhook got a workflow's start before its end", order)
        sig_ok = True
        for x in rcv.taken("/hook"):
            h = {k.lower(): v for k, v in x["headers"].items()}
            mac = hmac.new(SECRET, h["x-envbot-timestamp"].encode() + b"." + x["body"],
                           hashlib.sha256).hexdigest()
            ev = json.loads(x["body"])
            sig_ok = sig_ok and h.get("x-envbot-signature") == "sha256=" + mac and \
                h.get("x-envbot-event-id") == ev["id"] and \
                h.get("content-type") == "application/json"
        c.ok(sig_ok, "webhook: signature, event id header, content type")
        c.ok(all(isinstance(b.get("text"), str) and b["text"] and
                 b["blocks"][0]["type"] == "section" for b in slack),
             "Slack bodies: text and blocks", slack[:2])
        c.ok(all(b.get("source") == "envbot" and b.get("detail-type", "").startswith("envbot ")
                 for b in bus), "EventBridge: source envbot, detail-type", bus[:1])

        m = metrics(hport)
        c.ok((metric_value(m, "envbot_events_total", 'outcome="retried"') or 0) >= 1,
             "metrics: retried counted")
        c.ok((metric_value(m, "envbot_events_total", 'outcome="dropped"') or 0) >= 1,
             "metrics: the missing topic's deliveries dropped")
        c.ok(metric_value(m, "envbot_events_pending") == 0, "metrics: nothing pending")
        text = open(log3, errors="replace").read()
        c.ok("refused for good" in text and "sink=sns-3" in text,
             "the missing topic is logged as refused for good")
        c.ok(f"127.0.0.1:{rcv.port}/hook" not in text, "the webhook URL is not logged")
        stop_daemon(c, p, log3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        rcv.stop()
        moto.stop()
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
