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


def run_command(control, sub, env, timeout):
    """Sends /env SUB ENV and follows the embed to its end. Returns the
    final embed or None."""
    print(f"\n>>> alice types: /env {sub} {env}", flush=True)
    rec = http(control + "/interaction", {"command": "env", "subcommand": sub,
                                          "options": {"name": env},
                                          "roles": [OPERATOR_ROLE], "user_name": "alice"})
    iid = rec["id"]
    t0 = time.monotonic()
    seen_resp = 0
    last = None
    last_change = t0
    final = None
    while time.monotonic() - t0 < timeout:
        r = http(f"{control}/interaction/{iid}")
        resps = r.get("responses") or []
        for resp in resps[seen_resp:]:
            kind = {4: "reply", 5: "deferred (thinking...)"}.get(resp["type"], resp["type"])
            print(f"    +{resp['t'] - r['created']:5.2f}s  envbot acknowledged: {kind}"
                  f" ({resp['latency_ms']:.0f} ms after the command)", flush=True)
            content = (resp.get("data") or {}).get("content")
            if content:
                print("    " + textwrap.shorten(content, 300), flush=True)
        seen_resp = len(resps)
        orig = r.get("original") or {}
        embeds = orig.get("embeds") or []
        if orig.get("content") and not embeds:
            if orig.get("content") != last:
                last = orig.get("content")
                last_change = time.monotonic()
                print(f"    message: {last}", flush=True)
            elif time.monotonic() - last_change > 5:
                return None  # a plain answer (refused, busy...), no workflow
        if embeds:
            cur = json.dumps(embeds[0], sort_keys=True)
            if cur != last:
                last = cur
                print(render(embeds[0], time.monotonic() - t0), flush=True)
            if embeds[0].get("color") in (GREEN, RED):
                final = embeds[0]
                # One more look in case an edit is still queued.
                time.sleep(0.3)
                r2 = http(f"{control}/interaction/{iid}")
                e2 = ((r2.get("original") or {}).get("embeds") or [None])[0]
                if e2 and json.dumps(e2, sort_keys=True) != last:
                    print(render(e2, time.monotonic() - t0), flush=True)
                    final = e2
                print(f"    ({len(r2.get('edits') or [])} edits of the message)", flush=True)
                return final
        elif resps and resps[0]["type"] == 4:
            return None  # answered without a workflow (refused, busy...)
        time.sleep(0.1)
    print(f"    no finished embed after {timeout}s", flush=True)
    return final


def drive(a):
    moto = Remote(a.moto)
    cfn = moto.client("cloudformation")
    print("waiting for envbot to connect to the (fake) Discord gateway...", flush=True)
    w = http(a.control + "/wait?counter=ready&min=1&timeout=30", timeout=35)
    if not w.get("ok"):
        print("envbot did not connect within 30 s (see its log)")
        return 1
    print("envbot is online.", flush=True)
    ok = True
    e = run_command(a.control, "start", "dev", a.timeout)
    try:
        st = cfn.describe_stacks(StackName="ChatAppMasterStack")["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}
        print(f"\n    moto says: stack {st['StackStatus']}, "
              f"APIServerImageTag={params.get('APIServerImageTag')}", flush=True)
        stack_id = st["StackId"]
        ok &= st["StackStatus"] == "CREATE_COMPLETE"
    except Exception as ex:  # the demo reports, it does not crash
        print(f"\n    moto says: no stack ({ex})", flush=True)
        stack_id, ok = None, False
    ok &= bool(e) and e.get("color") == GREEN
    e = run_command(a.control, "stop", "dev", a.timeout)
    ok &= bool(e) and e.get("color") == GREEN
    if stack_id:
        st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        print(f"\n    moto says: stack {st['StackStatus']}", flush=True)
        ok &= st["StackStatus"] == "DELETE_COMPLETE"
    print("\nDemo " + ("finished: both workflows succeeded." if ok else "FAILED (see above)."))
    return 0 if ok else 1


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
    a = ap.parse_args()
    if a.cmd == "setup":
        setup(a)
        return 0
    return drive(a)


if __name__ == "__main__":
    sys.exit(main())
