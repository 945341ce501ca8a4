#!/usr/bin/env python3
"""The local demo's driver (demo/run starts the processes and calls this).

  demo.py setup --moto URL --api URL --dir DIR
      fills moto with what the example environments need (a CloudFormation
      template in S3, an ECR repository with images pushed at different
      times, EC2 instances tagged for qa) and writes DIR/envbot.cfg.
  demo.py drive --moto URL --control URL [--timeout S]
      waits until envbot is connected to the fake Discord, then sends
      /env start dev and /env stop dev as a user with the operator role and
      prints every state of the progress embed as envbot edits it. Exit 0
      when both end green and moto agrees (stack created, then deleted).

Everything is on 127.0.0.1: moto plays AWS, tests/fakes/fake_discord.py
plays Discord. Needs the python3 with boto3 (moto's)."""
import argparse
import json
import os
import sys
import textwrap
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import wfcommon  # noqa: E402

OPERATOR_ROLE = "400000000000000004"
BLUE, GREEN, RED = 3447003, 3066993, 15158332
COLOURS = {BLUE: "\033[34mrunning\033[0m", GREEN: "\033[32msucceeded\033[0m",
           RED: "\033[31mfailed\033[0m"}


class Remote:
    """moto as an already-running server (demo/run started it)."""

    def __init__(self, url):
        self.url = url

    client = wfcommon.Moto.client


def setup(a):
    moto = Remote(a.moto)
    url, _ = wfcommon.setup_moto(moto, old_tags=(("v1.4.0", "stable"), ("v1.4.1",)),
                                 newest_tags=("latest", "v1.4.2"))
    wfcommon.setup_ec2(moto)
    cfg = os.path.join(a.dir, "envbot.cfg")
    wfcommon.write_config(cfg, a.moto, url, os.path.join(a.dir, "state.json"), api_base=a.api)
    print(f"  moto: template s3://envbot-templates/master-stack.yaml, ECR chat-chat-http "
          f"(newest: v1.4.2), 4 EC2 instances tagged AutoStopStart=Yes")
    print(f"  config: {cfg}")


def http(url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # A zombie (exited, not yet reaped by demo/run) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def render(embed, t):
    """An embed as a terminal block."""
    colour = COLOURS.get(embed.get("color"), str(embed.get("color")))
    lines = [f"┌─ +{t:5.1f}s  {embed.get('title', '')}  [{colour}]"]
    for ln in (embed.get("description") or "").splitlines():
        lines.append("│ " + ln.replace("**", ""))
    for f in embed.get("fields") or []:
        val = f.get("value", "").replace("`", "")
        vlines = val.splitlines() or [""]
        lines.append(f"│ {f.get('name')}: {vlines[0]}")
        for v in vlines[1:]:
            lines.append("│     " + v)
    foot = (embed.get("footer") or {}).get("text")
    if foot:
        lines.append(f"│ ({foot})")
    lines.append("└─")
    return "\n".join(lines)


def run_command(control, sub, env, timeout, pid):
    """Sends /env SUB ENV and prints every state of the reply: the fake
    records each edit envbot makes, so none is missed however fast they
    come. Returns the final embed, or None if no workflow ended."""
    print(f"\n>>> alice types: /env {sub} {env}", flush=True)
    rec = http(control + "/interaction", {"command": "env", "subcommand": sub,
                                          "options": {"name": env},
                                          "roles": [OPERATOR_ROLE], "user_name": "alice"})
    iid = rec["id"]
    t0 = time.monotonic()
    seen_resp = seen_edits = 0
    msg = {"content": "", "embeds": []}
    printed = None
    done_at = None
    last_change = t0

    def show(t):
        nonlocal printed
        cur = json.dumps(msg, sort_keys=True)
        if cur == printed:
            return
        printed = cur
        if msg.get("embeds"):
            print(render(msg["embeds"][0], t), flush=True)
        elif msg.get("content"):
            print(f"    +{t:5.1f}s  message: {textwrap.shorten(msg['content'], 300)}",
                  flush=True)

    while time.monotonic() - t0 < timeout:
        r = http(f"{control}/interaction/{iid}")
        for resp in (r.get("responses") or [])[seen_resp:]:
            kind = {4: "reply", 5: "deferred (thinking...)"}.get(resp["type"], resp["type"])
            print(f"    +{resp['t'] - r['created']:5.2f}s  envbot acknowledged: {kind}"
                  f" ({resp['latency_ms']:.0f} ms after the command)", flush=True)
            data = resp.get("data") or {}
            msg = {"content": data.get("content", ""), "embeds": data.get("embeds") or []}
            show(resp["t"] - r["created"])
            seen_resp += 1
        for ed in (r.get("edits") or [])[seen_edits:]:
            body = ed.get("body") or {}
            for k in ("content", "embeds"):
                if k in body:
                    msg[k] = body[k]
            show(ed["t"] - r["created"])
            seen_edits += 1
            last_change = time.monotonic()
        embeds = msg.get("embeds") or []
        if embeds and embeds[0].get("color") in (GREEN, RED):
            # Finished; a last look 0.5 s later catches a trailing edit.
            if done_at is None:
                done_at = time.monotonic()
            elif time.monotonic() - done_at > 0.5:
                print(f"    ({seen_edits} edits of the message)", flush=True)
                return embeds[0]
        elif seen_resp and not embeds and time.monotonic() - last_change > 5:
            return None  # a plain answer (refused, busy...), no workflow
        if not alive(pid):
            print("    envbot is not running any more", flush=True)
            return None
        time.sleep(0.1)
    print(f"    no finished embed after {timeout}s", flush=True)
    return None


def check_embed(e, title, want_fields):
    """The finished embed as CONTRACT.md describes it; returns problems."""
    if not e:
        return ["no finished embed"]
    bad = []
    if e.get("color") != GREEN:
        bad.append(f"colour {e.get('color')} is not green")
    if e.get("title") != title:
        bad.append(f"title {e.get('title')!r}, expected {title!r}")
    fields = {f.get("name"): f.get("value", "") for f in e.get("fields") or []}
    for name, part in want_fields.items():
        if part not in fields.get(name, ""):
            bad.append(f"field {name!r} = {fields.get(name)!r}, expected it to hold {part!r}")
    desc = e.get("description") or ""
    if "🔄" in desc or "▫️" in desc:
        bad.append("a step is still shown running or pending")
    return bad


def drive(a):
    moto = Remote(a.moto)
    cfn = moto.client("cloudformation")
    print("waiting for envbot to connect to the (fake) Discord gateway...", flush=True)
    w = http(a.control + "/wait?counter=ready&min=1&timeout=30", timeout=35)
    if not w.get("ok"):
        print("envbot did not connect within 30 s (see its log)")
        return 1
    print("envbot is online.", flush=True)
    problems = []
    e = run_command(a.control, "start", "dev", a.timeout, a.pid)
    problems += ["start: " + p for p in check_embed(
        e, "dev is up", {"Image tag": "v1.4.2", "Stack status": "CREATE_COMPLETE",
                         "Triggered by": "alice",
                         "Outputs": "LoadBalancerUrl: http://dev-alb.example.test"})]
    stack_id = None
    try:
        st = cfn.describe_stacks(StackName="ChatAppMasterStack")["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}
        print(f"\n    moto says: stack {st['StackStatus']}, image parameters "
              f"{sorted(set(v for k, v in params.items() if k.endswith('ImageTag')))}",
              flush=True)
        stack_id = st["StackId"]
        if st["StackStatus"] != "CREATE_COMPLETE":
            problems.append(f"moto: stack {st['StackStatus']}")
        if any(v != "v1.4.2" for k, v in params.items() if k.endswith("ImageTag")):
            problems.append(f"moto: image parameters {params}")
    except Exception as ex:  # the demo reports, it does not crash
        print(f"\n    moto says: no stack ({ex})", flush=True)
        problems.append("moto: no stack after /env start")
    e = run_command(a.control, "stop", "dev", a.timeout, a.pid)
    problems += ["stop: " + p for p in check_embed(
        e, "dev is down", {"Stack status": "DELETE_COMPLETE", "Triggered by": "alice"})]
    if stack_id:
        st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        print(f"\n    moto says: stack {st['StackStatus']}", flush=True)
        if st["StackStatus"] != "DELETE_COMPLETE":
            problems.append(f"moto: stack {st['StackStatus']} after /env stop")
    if problems:
        print("\nDemo FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nDemo finished: /env start and /env stop both ran to a green embed "
          "(local simulation: moto + fake Discord).")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--moto", required=True)
    s.add_argument("--api", required=True)
    s.add_argument("--dir", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--moto", required=True)
    d.add_argument("--control", required=True)
    d.add_argument("--timeout", type=float, default=60)
    d.add_argument("--pid", type=int, default=0, help="envbot's pid: stop waiting if it dies")
    a = ap.parse_args()
    if a.cmd == "setup":
        setup(a)
        return 0
    return drive(a)


if __name__ == "__main__":
    sys.exit(main())
