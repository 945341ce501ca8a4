#!/usr/bin/env python3
"""End to end in Korean: the real `envbot` against the fake Discord
(tests/fakes/fake_discord.py) and the fake AWS, with po/ko.po.

  catalogue  a malformed po/ko.po stops register-commands and run with exit 2
             and its FILE:LINE; no catalogue at all is English with a warning.
  register   `envbot register-commands` PUTs Korean description_localizations
             (key "ko") for every command, subcommand and option, names
             unchanged; the fake (which refuses what Discord refuses) takes
             them; a second run GETs ?with_localizations=true, sees them
             equal and PUTs nothing; the fake refuses a wrong locale key, a
             description over 100 characters and an empty one with 400.
  reply      /env list from a "ko" user: Korean, no English left; from an
             "en-US" user in the same run: English.
  refusal    a bad /env extend duration and a missing role: Korean for "ko",
             English for "en-US"; the audit keeps the English either way.
  embed      /env start from a "ko" user: the progress embed in Korean
             (title, steps, fields, trigger), green; the workflow's record
             and the audit stay English.
  scheduled  locale = "ko" in the config: the start-up catch-up's embed in the
             channel and the stop warning with its buttons are Korean.

usage: test_korean.py ENVBOT_BINARY
Exit 77 when Debian's python3 lacks aiohttp (the fake Discord)."""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wfcommon import (GREEN, IMAGE_PARAMS, REGION, RED, Checks, FakeAws,  # noqa: E402
                      FakeDiscord, embed_field, embed_text, tmpdir)

SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
FAKE_AWS = os.path.join(HERE, "..", "fakes", "fake_aws.py")
FAKE_DISCORD = os.path.join(HERE, "..", "fakes", "fake_discord.py")
GUILD = "200000000000000002"
CHANNEL = "300000000000000003"
ADMIN_ROLE = "500000000000000005"
STACK = "ChatAppMasterStack"
NIGHTLY = "NightlyStack"
# What an English leftover would look like in a Korean reply: the words of
# the English messages, not names from the config ("stack", "dev").
ENGLISH = re.compile(r"\b(next|down|up since|none scheduled|in progress|start|stop|"
                     r"Mon|Tue|Wed|Thu|Fri|Sat|Sun|protected)\b")


def korean(text):
    return re.search("[\uac00-\ud7a3]", text or "") is not None


def write_config(path, aws_url, api, state_file):
    """dev and qa never act on their own (29 February); nightly started at
    00:00 KST, missed (catch_up 24h: the start-up catches it up), and stops
    in ten minutes (warn_before 15m: warned at start-up)."""
    stop = datetime.datetime.now(ZoneInfo("Asia/Seoul")) + datetime.timedelta(minutes=10)
    text = f"""
discord: {{
  application_id = "100000000000000001";
  guild_id = "{GUILD}";
  channel_id = "{CHANNEL}";
  api_base = "{api}";
  roles: {{ operator = [ "{FakeDiscord.OPERATOR_ROLE}" ]; admin = [ "{ADMIN_ROLE}" ]; }};
}};
aws: {{ region = "{REGION}"; endpoint_url = "{aws_url}"; }};
state_file = "{state_file}";
catch_up = "24h";
warn_before = "15m";
timezone = "Asia/Seoul";
locale = "ko";
environments = (
  {{
    name = "dev";
    kind = "stack";
    stack_name = "{STACK}";
    template_url = "https://envbot-templates.s3.amazonaws.com/master-stack.yaml";
    role_arn = "arn:aws:iam::123456789012:role/cfn-service-role";
    capabilities = [ "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM" ];
    image: {{ repository = "chat-chat-http";
             parameters = [ "{IMAGE_PARAMS[0]}", "{IMAGE_PARAMS[1]}", "{IMAGE_PARAMS[2]}" ]; }};
    parameters = ( {{ key = "Environment"; value = "dev"; }} );
    schedule: {{ start = "0 9 29 2 *"; stop = "0 18 29 2 *"; }};
    hourly_cost = 0.241;
  }},
  {{
    name = "nightly";
    kind = "stack";
    stack_name = "{NIGHTLY}";
    template_url = "https://envbot-templates.s3.amazonaws.com/master-stack.yaml";
    role_arn = "arn:aws:iam::123456789012:role/cfn-service-role";
    capabilities = [ "CAPABILITY_IAM" ];
    parameters = ( {{ key = "Environment"; value = "nightly"; }} );
    schedule: {{ start = "0 0 * * *"; stop = "{stop.minute} {stop.hour} * * *"; }};
    hourly_cost = 0.1;
  }}
);
"""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def put_commands(discord, body):
    """A PUT of command definitions straight to the fake, as a bot would."""
    req = urllib.request.Request(
        discord.api + "/applications/100000000000000001/guilds/%s/commands" % GUILD,
        data=json.dumps(body).encode(), method="PUT",
        headers={"Authorization": "Bot " + FakeDiscord.TOKEN,
                 "User-Agent": "DiscordBot (https://example.test, 1)",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def walk(items, out, where=""):
    """(path, name, description, localizations) of every command and option."""
    for c in items or []:
        p = where + "/" + c["name"]
        out.append((p, c["name"], c["description"], c.get("description_localizations")))
        walk(c.get("options"), out, p)
    return out


def s_catalogue_errors(binary, cfg, env, discord, d, c):
    """A malformed catalogue is refused like a config error, with its file
    and line, before anything is sent; a missing one is English, said."""
    bad = os.path.join(d, "po-bad")
    os.makedirs(bad, exist_ok=True)
    with open(os.path.join(SRC, "po", "ko.po"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    at = next(i for i, ln in enumerate(lines) if ln.startswith('msgstr "') and i > 20)
    lines[at] = lines[at] + " oops"
    with open(os.path.join(bad, "ko.po"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    r = subprocess.run([binary, "-c", cfg, "register-commands"], env=dict(env, ENVBOT_PO_DIR=bad),
                       capture_output=True, text=True, timeout=60)
    c.ok(r.returncode == 2 and ("ko.po:%d:" % (at + 1)) in r.stderr,
         "catalogue: a malformed ko.po exits 2 naming its file and line", (r.returncode, r.stderr))
    c.ok(not discord.call("/state")["counters"].get("commands_put"),
         "catalogue: nothing registered then")
    r = subprocess.run([binary, "-c", cfg, "run"], env=dict(env, ENVBOT_PO_DIR=bad),
                       capture_output=True, text=True, timeout=60)
    c.ok(r.returncode == 2 and "ko.po:%d:" % (at + 1) in r.stderr,
         "catalogue: run refuses it too", (r.returncode, r.stderr[-500:]))


def s_english_only(binary, cfg, env, discord, d, c):
    """No catalogue directory: English, with a warning; the definitions
    lose their translations (a change: PUT)."""
    before = discord.call("/state")["counters"].get("commands_put", 0)
    r = subprocess.run([binary, "-c", cfg, "register-commands"],
                       env=dict(env, ENVBOT_PO_DIR=os.path.join(d, "no-such-dir")),
                       capture_output=True, text=True, timeout=60)
    st = discord.call("/state")
    c.ok(r.returncode == 0 and "every reply in English" in r.stderr + r.stdout,
         "catalogue: none found is English with a warning", r.stderr[-500:])
    cmds = st["commands"].get(GUILD, [])
    c.ok(st["counters"].get("commands_put") == before + 1 and
         "description_localizations" not in json.dumps(cmds),
         "catalogue: English-only definitions registered", st["counters"])


def s_register(binary, cfg, env, discord, c):
    r = subprocess.run([binary, "-c", cfg, "register-commands"], env=env, capture_output=True,
                       text=True, timeout=60)
    c.ok(r.returncode == 0, "register: register-commands exits 0", r.stderr[-2000:])
    st = discord.call("/state")
    c.ok(st["counters"].get("commands_put") == 1 and
         not st["counters"].get("commands_put_refused"),
         "register: the fake took the localized definitions", st["counters"])
    cmds = st["commands"].get(GUILD, [])
    items = walk(cmds, [])
    c.ok(len(items) > 30, "register: commands, subcommands and options", len(items))
    missing = [p for p, _, d, loc in items
               if not loc or set(loc) != {"ko"} or not korean(loc["ko"]) or
               not 1 <= len(loc["ko"]) <= 100]
    c.ok(not missing, "register: a Korean description for each", missing)
    c.ok(all(re.fullmatch(r"[a-z0-9_-]+", n) for _, n, _, _ in items) and
         "name_localizations" not in json.dumps(cmds),
         "register: names stay English (people type /env)", [n for _, n, _, _ in items])
    env_cmd = next((x for x in cmds if x["name"] == "env"), {})
    c.ok((env_cmd.get("description_localizations") or {}).get("ko") ==
         "환경: 목록, 상태, 시작, 중지, 연장, 건너뛰기",
         "register: /env in Korean, from po/ko.po", env_cmd.get("description_localizations"))
    c.ok(env_cmd.get("description") == "environments: list, status, start, stop, extend, skip",
         "register: the English description unchanged", env_cmd.get("description"))

    # unchanged: compared with the localizations, nothing PUT again
    r = subprocess.run([binary, "-c", cfg, "register-commands"], env=env, capture_output=True,
                       text=True, timeout=60)
    st = discord.call("/state")
    c.ok(r.returncode == 0 and "already up to date" in r.stdout,
         "register: the second run sees the translations equal", r.stdout + r.stderr)
    c.ok(st["counters"].get("commands_put") == 1, "register: no second PUT", st["counters"])
    gets = [q for q in st["requests"] if q["method"] == "GET" and q["path"].endswith("/commands")]
    c.ok(gets and all(q.get("query", {}).get("with_localizations") == "true" for q in gets),
         "register: GET ?with_localizations=true", [q.get("query") for q in gets])

    # the fake refuses what Discord refuses
    good = [{"name": "ping", "type": 1, "description": "ping",
             "description_localizations": {"ko": "핑"}}]
    status, _ = put_commands(discord, good)
    c.ok(status == 200, "register: the fake takes a valid localization", status)
    for what, loc in (("a wrong locale key", {"kr": "핑"}), ("a region-less key", {"ko-KR": "핑"}),
                      ("over 100 characters", {"ko": "가" * 101}), ("empty", {"ko": ""}),
                      ("not a string", {"ko": 5})):
        bad = [dict(good[0], description_localizations=loc)]
        status, body = put_commands(discord, bad)
        c.ok(status == 400 and body.get("code") == 50035 and
             "description_localizations" in json.dumps(body.get("errors")),
             f"register: the fake refuses {what} with 400", (status, body))
    sub = [{"name": "env", "type": 1, "description": "e", "options": [
        {"type": 1, "name": "list", "description": "l",
         "description_localizations": {"xx": "목록"}}]}]
    status, body = put_commands(discord, sub)
    c.ok(status == 400 and "options" in json.dumps(body.get("errors")),
         "register: an option's localization is checked too", (status, body))
    status, _ = put_commands(discord, [dict(good[0], name="Ping")])
    c.ok(status == 400, "register: a name with capitals refused", status)


def ephemeral_text(discord, iid, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        msg = discord.reply(iid)["msg"]
        if msg["content"]:
            return msg["content"]
        time.sleep(0.05)
    return ""


def interaction(discord, sub, opts, locale, roles=None, user="alice"):
    return discord.call("/interaction", {
        "command": "env", "subcommand": sub, "options": opts, "locale": locale,
        "roles": [FakeDiscord.OPERATOR_ROLE] if roles is None else roles,
        "user_name": user})["id"]


def s_reply(discord, c):
    ko = ephemeral_text(discord, interaction(discord, "list", {}, "ko"))
    c.ok("**dev** (stack): 꺼짐, 다음: 예약 없음" in ko or
         re.search(r"\*\*dev\*\* \(stack\): 꺼짐, 다음: 시작 \d{4}-\d\d-\d\d \([월화수목금토일]\) "
                   r"09:00 KST", ko), "reply: /env list in Korean", ko)
    c.ok(not ENGLISH.search(ko), "reply: no English left in it", ENGLISH.findall(ko))
    en = ephemeral_text(discord, interaction(discord, "list", {}, "en-US", user="bob"))
    c.ok("**dev** (stack): down; next: " in en and not korean(en),
         "reply: the en-US user still gets English", en)


def audit(state_file):
    with open(state_file) as f:
        return json.load(f).get("audit", [])


def s_refusal(discord, state_file, c):
    ko = ephemeral_text(discord, interaction(discord, "extend", {"name": "dev",
                                                                 "duration": "banana"}, "ko"))
    c.ok(ko.startswith("✘ ") and "\"banana\"은(는) 기간이 아닙니다" in ko,
         "refusal: a bad duration refused in Korean", ko)
    en = ephemeral_text(discord, interaction(discord, "extend", {"name": "dev",
                                                                 "duration": "banana"}, "en-US"))
    c.ok("\"banana\" is not a duration" in en, "refusal: in English for en-US", en)
    ko = ephemeral_text(discord, interaction(discord, "start", {"name": "dev"}, "ko", roles=[]))
    c.ok("/env start 명령은 운영자 권한이 필요합니다" in ko, "refusal: a missing role in Korean", ko)
    time.sleep(1.5)  # the audit lines go out with the next coalesced save
    outcomes = [a["outcome"] for a in audit(state_file)]
    c.ok(sum("\"banana\" is not a duration" in o for o in outcomes) == 2 and
         any("/env start needs an operator" in o for o in outcomes) and
         not any(korean(o) for o in outcomes),
         "refusal: the audit keeps English for both", outcomes)


def wait_embed(discord, iid, timeout=40):
    end = time.monotonic() + timeout
    rec = None
    while time.monotonic() < end:
        rec = discord.reply(iid)
        em = rec["msg"]["embeds"]
        if em and em[0].get("color") in (GREEN, RED):
            return rec, em[0]
        time.sleep(0.1)
    return rec, ((rec or {}).get("msg", {}).get("embeds") or [{}])[0]


def s_embed(discord, aws, state_file, c):
    aws.ctl("images", {"repository": "chat-chat-http", "images": [
        {"tags": ["v2.0.1", "latest"], "pushed_at": 1700000600}]})
    aws.ctl("behavior", {"stack": STACK, "create_seconds": 0.5})
    iid = interaction(discord, "start", {"name": "dev"}, "ko")
    rec, e = wait_embed(discord, iid)
    firsts = [ed["body"]["embeds"][0]["title"] for ed in rec.get("edits") or []
              if (ed.get("body") or {}).get("embeds")]
    c.ok(firsts and firsts[0] == "dev 시작 중…", "embed: the running title in Korean", firsts)
    c.ok(e.get("color") == GREEN and e.get("title") == "dev 켜짐", "embed: green, Korean title", e)
    desc = e.get("description") or ""
    for step in ("스택 확인", "이미지 태그 확인", "스택 생성", "CREATE_COMPLETE 대기"):
        c.ok("**%s**" % step in desc, f"embed: step {step}", desc)
    c.ok(re.fullmatch(r"(이미지 v2\.0\.1\(으\)로 )?켜짐, \d+분 \d\d초 소요",
                      embed_field(e, "결과") or ""),
         "embed: the result in Korean", embed_field(e, "결과"))
    c.ok(embed_field(e, "실행 주체") == "alice 님의 /env start", "embed: the trigger in Korean",
         embed_field(e, "실행 주체"))
    for name in ("이미지 태그", "경과 시간", "스택", "스택 상태"):
        c.ok(embed_field(e, name) is not None, f"embed: field {name}", e.get("fields"))
    c.ok((e.get("footer") or {}).get("text", "").startswith("워크플로 "), "embed: footer", e)
    text = embed_text(e)
    c.ok(not re.search(r"\b(Starting|Result|Reason|Triggered by|Elapsed|Check stack|"
                       r"Create stack|up in)\b", text), "embed: no English frame left", text)
    time.sleep(1.5)
    outs = [(a["action"], a["outcome"]) for a in audit(state_file) if a["env"] == "dev"]
    c.ok(any(a == "/env start dev" and o.startswith("ok") for a, o in outs) and
         not any(korean(o) for _, o in outs), "embed: the audit stays English", outs)


def channel_messages(discord):
    return [m for m in discord.call("/state")["messages"] if m["channel_id"] == CHANNEL]


def s_scheduled(discord, c):
    end = time.monotonic() + 40
    catchup = warning = None
    while time.monotonic() < end:
        for m in channel_messages(discord):
            for e in m.get("embeds") or []:
                if "nightly" in (e.get("title") or "") and e.get("color") in (GREEN, RED):
                    catchup = e
            if "**nightly**" in (m.get("content") or ""):
                warning = m
        if catchup and warning:
            break
        time.sleep(0.2)
    c.ok(catchup and catchup.get("title") == "nightly 켜짐",
         "scheduled: the catch-up embed in Korean (locale = \"ko\")", catchup)
    if catchup:
        trig = embed_field(catchup, "실행 주체") or ""
        c.ok(re.fullmatch(r"놓친 시작 실행 \([월화수목금토일] 00:00 KST\)", trig),
             "scheduled: its trigger in Korean", trig)
        c.ok("놓친 작업 실행: 예약된 시작" in (catchup.get("description") or ""),
             "scheduled: its note in Korean", catchup.get("description"))
    content = (warning or {}).get("content", "")
    c.ok(warning and re.match(r"⏰ \*\*nightly\*\*은\(는\) \d{4}-\d\d-\d\d \([월화수목금토일]\) "
                              r"\d\d:\d\d KST에 중지됩니다 \(\d+분 후\)\. 더 필요하면 운영자가 "
                              r"중지를 미룰 수 있습니다:", content),
         "scheduled: the stop warning in Korean", content)
    labels = [b.get("label") for row in (warning or {}).get("components") or []
              for b in row.get("components") or []]
    c.ok(labels == ["+1시간", "+2시간"], "scheduled: its buttons in Korean", labels)
    return warning


def s_snooze(discord, warning, c):
    """A Korean click on the Korean warning: answered in Korean."""
    ids = [b.get("custom_id") for row in (warning or {}).get("components") or []
           for b in row.get("components") or []]
    if not ids:
        c.ok(False, "snooze: no button to click")
        return
    iid = discord.call("/interaction", {
        "type": 3, "custom_id": ids[0], "locale": "ko", "message_id": warning["id"],
        "roles": [FakeDiscord.OPERATOR_ROLE], "user_name": "alice"})["id"]
    end = time.monotonic() + 10
    text = ""
    while time.monotonic() < end and not text:
        rec = discord.call(f"/interaction/{iid}")
        for r in rec.get("responses") or []:
            text = (r.get("data") or {}).get("content") or text
        time.sleep(0.05)
    c.ok("님이" in text and "+1시간" in text and "연장했습니다" in text,
         "snooze: the click answered in Korean", text)


def main():
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-korean-")
    c = Checks()
    aws = FakeAws(d, FAKE_AWS)
    discord = None
    bot = None
    try:
        discord = FakeDiscord(d, FAKE_DISCORD)
        cfg = os.path.join(d, "envbot.cfg")
        state_file = os.path.join(d, "state.json")
        write_config(cfg, aws.url, discord.api, state_file)
        env = aws.env()
        env["DISCORD_TOKEN"] = FakeDiscord.TOKEN
        env["ENVBOT_TEST_POLL_MS"] = "200"
        env["ENVBOT_PO_DIR"] = os.path.join(SRC, "po")
        s_catalogue_errors(binary, cfg, env, discord, d, c)
        s_register(binary, cfg, env, discord, c)
        s_english_only(binary, cfg, env, discord, d, c)
        aws.ctl("behavior", {"stack": NIGHTLY, "create_seconds": 0.5})
        log = open(os.path.join(d, "envbot.log"), "wb")
        bot = subprocess.Popen([binary, "-c", cfg, "run"], stdout=log, stderr=subprocess.STDOUT,
                               env=env)
        w = discord.call("/wait?counter=ready&min=1&timeout=20", timeout=25)
        if not c.ok(w.get("ok"), "envbot connected to the fake gateway"):
            return c.done()
        warning = s_scheduled(discord, c)
        s_reply(discord, c)
        s_refusal(discord, state_file, c)
        s_embed(discord, aws, state_file, c)
        s_snooze(discord, warning, c)
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                rc = bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
                rc = bot.wait()
            c.ok(rc == 0, f"envbot exits 0 on SIGTERM (got {rc})")
        log.close()
        with open(os.path.join(d, "envbot.log"), errors="replace") as f:
            text = f.read()
        c.ok("message catalogue loaded\" locale=ko" in text, "the catalogue was loaded",
             text[-2000:])
        c.ok("Sanitizer" not in text and "runtime error:" not in text,
             "no sanitizer report", text[-3000:])
    finally:
        if bot and bot.poll() is None:
            bot.kill()
            bot.wait()
        aws.stop()
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
