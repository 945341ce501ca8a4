#!/usr/bin/env python3
"""A channel post is one message even when its answer is lost: `envbot start
dev --notify` (the real binary) against the fake AWS and the fake Discord,
whose first answer to the progress message's POST is a 502 sent after the
message was created (an edge error or a timeout after Discord did the work).
envbot retries the post; with Discord's nonce + enforce_nonce the retry gets
the first message back instead of posting a second one, and every progress
edit goes to that one message, which ends green.

usage: test_post_once.py ENVBOT
Exit 77 when /usr/bin/python3 lacks aiohttp (the fake Discord needs it)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wfcommon as w  # noqa: E402

FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
CHANNEL = "300000000000000003"
GREEN = 3066993


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp")
        return 77
    binary = os.path.abspath(sys.argv[1])
    c = w.Checks()
    t = w.tmpdir("envbot-post-once-")
    aws = w.FakeAws(t, FAKE_AWS)
    dc = w.FakeDiscord(t, FAKE_DISCORD)
    try:
        aws.ctl("images", {"repository": "chat-chat-http",
                           "images": [{"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})
        aws.ctl("behavior", {"stack": "ChatAppMasterStack", "create_seconds": 1.0})
        cfg = os.path.join(t, "envbot.cfg")
        w.write_config(cfg, aws.url, "https://b.s3.amazonaws.com/t.yaml",
                       os.path.join(t, "state.json"), api_base=dc.api)
        dc.call("/fail", {"method": "POST", "path": r"^/channels/\d+/messages$",
                          "status": 502, "count": 1, "after": True})
        e = aws.env()
        e.update(DISCORD_TOKEN=dc.TOKEN, ENVBOT_TEST_POLL_MS="200")
        p = subprocess.run([binary, "-c", cfg, "start", "dev", "--notify"],
                           capture_output=True, text=True, env=e, timeout=120)
        rc = w.judged_rc(p.returncode, p.stderr)
        c.ok(rc == 0, "start --notify: exit 0", p.stdout[-2000:] + p.stderr[-3000:])
        st = dc.call("/state")
        posts = [r for r in st["requests"]
                 if r.get("method") == "POST" and r.get("path", "").endswith("/messages")
                 and "/channels/" in r.get("path", "")]
        c.ok(len(posts) >= 2, "the post was retried after the lost answer (%d posts)"
             % len(posts), posts)
        c.ok(st["counters"].get("injected", 0) == 1, "the lost answer was injected",
             st["counters"])
        msgs = [m for m in st["messages"] if m["channel_id"] == CHANNEL]
        c.ok(len(msgs) == 1, "one message in the channel, not %d" % len(msgs),
             [m.get("embeds") for m in msgs])
        c.ok(st["counters"].get("nonce_replays", 0) >= 1,
             "the retry was answered with the first message (nonce)", st["counters"])
        if msgs:
            embeds = msgs[0].get("embeds") or [{}]
            c.ok(embeds[0].get("color") == GREEN, "that message ends green",
                 embeds[0])
        nonces = {(r.get("body") or {}).get("nonce") for r in posts}
        c.ok(len(nonces) == 1 and None not in nonces and all(len(n) <= 25 for n in nonces),
             "every try carried the same nonce of at most 25 characters", nonces)
    finally:
        dc.stop()
        aws.stop()
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
