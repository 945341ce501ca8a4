#!/usr/bin/python3
"""A fake Discord (REST v10 + gateway) on 127.0.0.1 for envbot's tests.

Run:   /usr/bin/python3 tests/fakes/fake_discord.py [--token T] [--app-id A]
                         [--heartbeat-interval MS] [--port 0]
                         [--tls-cert PEM --tls-key PEM]   (https:// and wss://)
It binds a free port (unless --port) and prints one line on stdout:
       READY port=PORT api=http://127.0.0.1:PORT/api/v10
Point envbot at api_base = http://127.0.0.1:PORT/api/v10 (discord.js: rest.api =
http://127.0.0.1:PORT/api). GET /api/v10/gateway/bot answers the gateway URL
ws://127.0.0.1:PORT/gateway; READY's resume_gateway_url is
ws://127.0.0.1:PORT/gateway-resume (both serve the gateway; the path used is
recorded so tests can check that RESUME went to the resume URL).

What it enforces, like Discord:
  REST: "Authorization: Bot TOKEN" on bot routes (401 otherwise), and no bot
  token needed on interaction callbacks / webhook-token routes (a header sent
  there is recorded as `auth` so tests can check it is absent); a User-Agent
  "DiscordBot (...)" (400 otherwise); interaction callbacks within 3 s of the
  INTERACTION_CREATE (404 code 10062 after), one callback per interaction (400
  code 40060 for a second); @original edits/followups only after an ACK and
  within 15 min; message limits (content 2000, 10 embeds, title 256,
  description 4096, 25 fields of 256/1024, footer 2048, author 256, total
  6000; 400 code 50035); autocomplete <= 25 choices; application commands
  on PUT: names, descriptions of 1-100 characters, 25 options at most, and
  name_localizations / description_localizations keyed by Discord's locales
  ("ko", "en-US"; not "kr", not "ko-KR") with values within the same limits
  (400 code 50035, the field's path in "errors"), and GET .../commands
  leaving the localizations out unless ?with_localizations=true; rate limits with real
  X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket headers (channel
  messages 5 per 5 s per channel, other bot routes 50 per 1 s, callbacks 5
  per 1 s per interaction) and 429s with retry_after; the global limit of 50
  bot-authenticated requests per second (429 with X-RateLimit-Global).
  Uploads: channel posts and the webhook routes (followup, @original edit)
  also take multipart/form-data the way Discord documents it: the message
  JSON in the part "payload_json", files in parts "files[N]" (each with a
  filename; at most 10; 10 MiB in all, else 413 code 40005); an
  "attachments" entry {"id": N} must name a files[N] part that was sent
  (400 code 50035). The message gets Discord-like attachment objects (id,
  filename, size, content_type, url); the url serves the bytes
  (GET /attachments/ID/FILENAME, like the CDN).
  Gateway: HELLO, IDENTIFY token check (close 4004), already authenticated
  (4005), unknown opcode (4001), payloads > 4096 bytes or undecodable (4002),
  more than 120 payloads per 60 s (4008), heartbeat ACKs, READY/RESUMED,
  RESUME with replay of missed events, op 9 false when the session is gone,
  sessions invalidated when the client closes with 1000/1001.

Two replicas of envbot on one fake (issue 17): api_base
http://127.0.0.1:PORT/r/NAME/api/v10 serves the same API, records "replica":
NAME on each request, and GET /gateway/bot answers ws://.../r/NAME/gateway
(a connection's "path" says which replica opened it).

Control API (HTTP, JSON bodies, all under /_control):
  POST /_control/interaction   {"command": "env", "subcommand": "start",
        "options": {"name": "dev"}, "type": 2, "focused": "name",
        "user_id": "...", "roles": [...], "guild_id": "...",
        "channel_id": "...", "custom_id": "..." (type 3), "locale": "ko"
        (the user's Discord language; "en-US" when left out)}
        -> {"id", "token"}: sends INTERACTION_CREATE on the current session
        (queued for replay if no connection is up); type 4 = autocomplete.
        With "offline": true nothing is sent: the interaction is recorded
        as delivered now, for tests of a REST client without a gateway.
  POST /_control/interactions  same fields + {"count": N, "interval_ms": M}
        -> {"ids": [...]}: a burst (interval 0 = as fast as possible).
  POST /_control/dispatch      {"t": "TYPE", "d": {...}}: any dispatch event.
  POST /_control/raw           {"text": "..."} or {"hex": "..."}: a raw frame
        (malformed-payload tests); {"fragments": ["..", ".."]} sends one text
        message in several websocket fragments.
  POST /_control/drop          abort the TCP connection (no close frame).
  POST /_control/reconnect     send op 7.
  POST /_control/invalidate    {"resumable": true|false}: send op 9; false
        also forgets the session.
  POST /_control/heartbeat_ack {"enabled": false}: stop (or resume) acking
        heartbeats on the connections open now (new ones ack normally).
  POST /_control/close         {"code": 4000, "reason": ""}: close frame; 4007
        and 4009 also forget the session.
  POST /_control/replay_extra  {"n": 5}: the next RESUME replays n events the
        client already had (Discord delivers at least once).
  POST /_control/fail          {"method": "POST", "path": "regex", "status":
        429|500|502|..., "count": N, "retry_after": 0.5, "global": false,
        "after": false}: answer the next N matching REST requests with that
        status; with "after", carry each out first (the answer is lost).
        Channel posts honour nonce + enforce_nonce as Discord does (a repeat
        within 5 minutes returns the first message; counter nonce_replays).
        {"clear": true} forgets every failure still pending.
  POST /_control/ratelimit     {"path": "regex", "method": "POST", "limit": N,
        "window": S}: bucket size for matching routes.
  POST /_control/delay         {"ms": 50}: added latency on every REST answer.
  POST /_control/session_start_limit {"remaining": 0, "reset_after": MS}:
        what GET /gateway/bot reports; an IDENTIFY over the limit is closed
        with 4000 (counter identify_over_limit).
  POST /_control/hello         {"heartbeat_interval": MS}: for new connections.
  POST /_control/hide          {"channels": [id], "guilds": [id], "status": 404}:
        GET /channels/ID and /guilds/ID answer 404 Unknown Channel (10003) /
        Unknown Guild (10004), or with status 403, Missing Access (50001).
        Every other id exists (a channel in guild 200000000000000002).
  POST /_control/refuse_identify {"code": 4014}: every later IDENTIFY with the
        right token is closed with that code (4013 invalid intents, 4014
        disallowed intents, as Discord does); {"code": 0} stops refusing.
  POST /_control/reset         forget recorded requests/interactions/messages.
  GET  /_control/state         everything recorded: counters, connections
        (path, identify/resume, heartbeats with times, close codes),
        interactions (responses with timestamps and latency_ms, edits,
        followups), messages (with edits and attachments), requests
        (method, path, route, status, auth, ua, t; for an upload also
        "multipart": true and "files": [{field, filename, content_type, size,
        sha256}]), commands, uploads ({attachment id: {field, filename,
        content_type, size, sha256, data_b64 (the exact bytes)}}).
  GET  /_control/interaction/ID  one interaction's record.
  GET  /_control/wait?counter=NAME&min=N&timeout=S  long-poll until
        counters[NAME] >= N -> {"ok": bool, "value": n}.
  GET  /_control/latency       ACK latency over answered interactions:
        {"count", "p50_ms", "p99_ms", "max_ms", "late", "unanswered"}.
Counters: connections, identifies, resumes, ready, resumed, heartbeats,
heartbeat_acks, dispatches, interactions, callbacks, callbacks_late,
callbacks_duplicate, edits, followups, messages, message_edits, requests,
rest_401, rest_4xx, rest_429, rest_429_global, rest_5xx, injected,
commands_put, commands_put_refused, commands_get, gateway_closes,
invalid_payloads.
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import random
import re
import string
import sys
import time
import zlib

from aiohttp import WSMsgType, web

DEADLINE_S = 3.0
TOKEN_TTL_S = 15 * 60
UPLOAD_FILES_MAX = 10
UPLOAD_BYTES_MAX = 10 << 20  # Discord's upload limit for bots
# The locales Discord takes as keys of name_localizations and
# description_localizations (anything else: 400 Invalid Form Body).
DISCORD_LOCALES = {"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it",
                   "lt", "hu", "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr",
                   "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko"}
COMMAND_NAME_RE = r"[-_\w]{1,32}"  # Discord: lowercase where the script has case


def command_errors(c, where="", top=True):
    """Discord's checks of one application command (top) or option: name,
    description (1-100 characters), their localizations (Discord locales
    only, values within the same limits), options (25 at most). Returns
    (path, code, message) of the first problem, or None."""
    if not isinstance(c, dict):
        return where, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
    name = c.get("name")
    if not isinstance(name, str) or not re.fullmatch(COMMAND_NAME_RE, name) or \
            name != name.lower():
        return where + "name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
    desc = c.get("description")
    if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
        return where + "description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
    for key, limit in (("name_localizations", None), ("description_localizations", 100)):
        loc = c.get(key)
        if loc is None:
            continue
        if not isinstance(loc, dict):
            return where + key, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
        for k, v in loc.items():
            if k not in DISCORD_LOCALES:
                return "%s%s.%s" % (where, key, k), "ENUM_TYPE_COERCE", \
                    "Value \"%s\" is not a valid enum value." % k
            if not isinstance(v, str):
                return "%s%s.%s" % (where, key, k), "BASE_TYPE_STRING", "Must be a string."
            if limit is None:
                if not re.fullmatch(COMMAND_NAME_RE, v) or v != v.lower():
                    return "%s%s.%s" % (where, key, k), "APPLICATION_COMMAND_INVALID_NAME", \
                        "Command name is invalid"
            elif not 1 <= len(v) <= limit:
                return "%s%s.%s" % (where, key, k), "BASE_TYPE_BAD_LENGTH", \
                    "Must be between 1 and %d in length." % limit
    opts = c.get("options") or []
    if not isinstance(opts, list) or len(opts) > 25:
        return where + "options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
    for i, o in enumerate(opts):
        e = command_errors(o, "%soptions.%d." % (where, i), False)
        if e:
            return e
    return None


def without_localizations(c):
    """A command as GET .../commands answers it without
    ?with_localizations=true: the localization maps left out."""
    c = {k: v for k, v in c.items() if k not in ("name_localizations", "description_localizations")}
    if isinstance(c.get("options"), list):
        c["options"] = [without_localizations(o) for o in c["options"]]
    return c


def form_error(path, code, message):
    """Discord's 50035 body: the errors nested along the field's path."""
    errors = {"_errors": [{"code": code, "message": message}]}
    for part in reversed([p for p in path.split(".") if p]):
        errors = {part: errors}
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}


def now():
    return time.monotonic()


class Snowflakes:
    def __init__(self):
        self.n = int(time.time() * 1000) << 22

    def next(self):
        self.n += 1
        return str(self.n)


def embed_error(msg):
    """Discord's message limits; returns a reason or None."""
    if not isinstance(msg, dict):
        return "body is not an object"
    content = msg.get("content")
    if content is not None and len(content) > 2000:
        return "content longer than 2000"
    embeds = msg.get("embeds") or []
    if len(embeds) > 10:
        return "more than 10 embeds"
    total = 0
    for e in embeds:
        title = e.get("title") or ""
        desc = e.get("description") or ""
        if len(title) > 256:
            return "embed title longer than 256"
        if len(desc) > 4096:
            return "embed description longer than 4096"
        fields = e.get("fields") or []
        if len(fields) > 25:
            return "more than 25 fields"
        total += len(title) + len(desc)
        for f in fields:
            name, value = f.get("name") or "", f.get("value") or ""
            if not name or not value:
                return "field without name or value"
            if len(name) > 256:
                return "field name longer than 256"
            if len(value) > 1024:
                return "field value longer than 1024"
            total += len(name) + len(value)
        footer = (e.get("footer") or {}).get("text") or ""
        if len(footer) > 2048:
            return "footer longer than 2048"
        author = (e.get("author") or {}).get("name") or ""
        if len(author) > 256:
            return "author name longer than 256"
        total += len(footer) + len(author)
    if total > 6000:
        return "embeds longer than 6000 in total"
    return None


class Session:
    def __init__(self, sid):
        self.id = sid
        self.seq = 0
        self.events = collections.deque(maxlen=5000)  # (seq, t, d)
        self.conn = None
        self.valid = True


class Conn:
    def __init__(self, ws, request, compress):
        self.ws = ws
        self.transport = request.transport
        self.path = request.path
        self.query = dict(request.query)
        self.compress = compress
        self.zc = zlib.compressobj() if compress else None
        self.session = None
        self.ack = True
        self.heartbeats = []
        self.recv_times = collections.deque()
        self.opened = now()
        self.close_code = None
        self.closed_by = None
        self.identify = None
        self.resume = None
        self.lock = asyncio.Lock()


class Fake:
    def __init__(self, args):
        self.token = args.token
        self.app_id = args.app_id
        self.hb_interval = args.heartbeat_interval
        self.port = 0
        self.ws = "wss" if args.tls_cert else "ws"
        self.ids = Snowflakes()
        self.counters = collections.Counter()
        self.cond = None
        self.sessions = {}
        self.last_session = None
        self.conns = []
        self.all_conns = []
        self.interactions = {}
        self.messages = {}
        self.nonces = {}  # (channel, nonce) -> (message id, time)
        self.requests = []
        self.failures = []
        self.limits = []  # (method, regex, limit, window)
        self.buckets = {}
        self.global_times = collections.deque()
        self.commands = {}
        self.replay_extra = 0
        self.delay_ms = 0
        self.start_remaining = 1000
        self.start_reset_at = None  # monotonic time the start limit refills
        self.hidden = {}  # {"channels"|"guilds": {id: 404|403}} (/_control/hide)
        self.identify_refusal = 0  # close code for IDENTIFY (/_control/refuse_identify)
        self.uploads = {}  # attachment id -> what was uploaded (bytes in data_b64)

    # ---- helpers ----
    def count(self, name, n=1):
        self.counters[name] += n
        if self.cond:
            asyncio.get_event_loop().create_task(self._notify())

    async def _notify(self):
        async with self.cond:
            self.cond.notify_all()

    async def send(self, conn, payload):
        text = json.dumps(payload, separators=(",", ":"))
        async with conn.lock:
            if conn.ws.closed:
                return False
            try:
                if conn.compress:
                    data = conn.zc.compress(text.encode()) + conn.zc.flush(zlib.Z_SYNC_FLUSH)
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True

    def current_session(self):
        live = [c for c in self.conns if c.session and c.session.valid]
        if live:
            return live[-1].session
        if self.last_session and self.last_session.valid:
            return self.last_session
        return None

    async def dispatch(self, session, t, d):
        session.seq += 1
        seq = session.seq
        session.events.append((seq, t, d))
        self.count("dispatches")
        conn = session.conn
        sent = False
        if conn and not conn.ws.closed:
            sent = await self.send(conn, {"op": 0, "t": t, "s": seq, "d": d})
        return seq, sent

    # ---- gateway ----
    async def gateway(self, request):
        ws = web.WebSocketResponse(max_msg_size=1 << 20, autoping=True)
        await ws.prepare(request)
        conn = Conn(ws, request, request.query.get("compress") == "zlib-stream")
        self.conns.append(conn)
        self.all_conns.append(conn)
        self.count("connections")
        await self.send(conn, {"op": 10, "d": {"heartbeat_interval": self.hb_interval}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = msg.data
                elif msg.type == WSMsgType.BINARY:
                    data = msg.data.decode("utf-8", "replace")
                else:
                    break
                await self.on_payload(conn, data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            # A close() from another task breaks the loop above first and
            # writes its close frame afterwards: returning now would let
            # aiohttp send 1000 in its place.
            for _ in range(100):
                if conn.closed_by != "server" or ws.closed:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0)
            conn.close_code = ws.close_code
            if conn in self.conns:
                self.conns.remove(conn)
            s = conn.session
            if s and s.conn is conn:
                s.conn = None
                # A client that closes with 1000/1001 ends its session.
                if conn.closed_by is None and ws.close_code in (1000, 1001):
                    s.valid = False
            self.count("gateway_closes")
        return ws

    async def close(self, conn, code, reason=""):
        conn.closed_by = "server"
        self.count("server_closes")
        await conn.ws.close(code=code, message=reason.encode())

    async def on_payload(self, conn, data):
        t = now()
        if len(data.encode()) > 4096:
            self.count("invalid_payloads")
            await self.close(conn, 4002, "payload too large")
            return
        conn.recv_times.append(t)
        while conn.recv_times and t - conn.recv_times[0] > 60:
            conn.recv_times.popleft()
        if len(conn.recv_times) > 120:
            await self.close(conn, 4008, "rate limited")
            return
        try:
            p = json.loads(data)
            op = p["op"]
        except (ValueError, KeyError, TypeError):
            self.count("invalid_payloads")
            await self.close(conn, 4002, "decode error")
            return
        d = p.get("d")
        if op == 1:
            conn.heartbeats.append({"t": t, "seq": d})
            self.count("heartbeats")
            if conn.ack:
                await self.send(conn, {"op": 11, "d": None})
                self.count("heartbeat_acks")
        elif op == 2:
            await self.on_identify(conn, d)
        elif op == 6:
            await self.on_resume(conn, d)
        elif op in (3, 4, 8, 31):
            self.count("op%d" % op)
        else:
            await self.close(conn, 4001, "unknown opcode")

    async def on_identify(self, conn, d):
        self.count("identifies")
        conn.identify = d
        if not isinstance(d, dict) or d.get("token") != self.token:
            await self.close(conn, 4004, "authentication failed")
            return
        if conn.session and conn.session.valid:
            await self.close(conn, 4005, "already authenticated")
            return
        if self.identify_refusal:
            self.count("identify_refused")
            await self.close(conn, self.identify_refusal,
                             {4013: "invalid intents",
                              4014: "disallowed intents"}.get(self.identify_refusal, ""))
            return
        if not isinstance(d.get("intents"), int):
            await self.close(conn, 4013, "invalid intents")
            return
        if self.start_remaining <= 0 and (self.start_reset_at is None or
                                          now() < self.start_reset_at):
            self.count("identify_over_limit")
            await self.close(conn, 4000, "session start limit exhausted")
            return
        if self.start_reset_at is not None and now() >= self.start_reset_at:
            self.start_remaining, self.start_reset_at = 1000, None
        self.start_remaining -= 1
        sid = "".join(random.choice(string.hexdigits.lower()) for _ in range(32))
        s = Session(sid)
        self.sessions[sid] = s
        self.last_session = s
        s.conn = conn
        conn.session = s
        ready = {
            "v": 10,
            "user": {"id": self.app_id, "username": "envbot", "discriminator": "0",
                     "global_name": None, "avatar": None, "bot": True, "flags": 0},
            "guilds": [],
            "session_id": sid,
            "resume_gateway_url": "%s://127.0.0.1:%d%s/gateway-resume" % (
                self.ws, self.port,
                "/".join(conn.path.split("/")[:3]) if conn.path.startswith("/r/") else ""),
            "application": {"id": self.app_id, "flags": 0},
            "shard": [0, 1],
        }
        await self.dispatch(s, "READY", ready)
        self.count("ready")

    async def on_resume(self, conn, d):
        self.count("resumes")
        conn.resume = d
        if not isinstance(d, dict) or d.get("token") != self.token:
            await self.close(conn, 4004, "authentication failed")
            return
        s = self.sessions.get(d.get("session_id"))
        seq = d.get("seq")
        if not s or not s.valid or not isinstance(seq, int) or seq > s.seq:
            self.count("resume_refused")
            await self.send(conn, {"op": 9, "d": False})
            return
        old = s.conn
        s.conn = conn
        conn.session = s
        self.last_session = s
        if old and old is not conn and not old.ws.closed:
            old.session = None
            asyncio.get_event_loop().create_task(self.close(old, 4000, "resumed elsewhere"))
        start = max(0, seq - self.replay_extra)
        self.replay_extra = 0
        for (es, et, ed) in list(s.events):
            if es > start:
                await self.send(conn, {"op": 0, "t": et, "s": es, "d": ed})
                self.count("replayed")
        s.seq += 1
        s.events.append((s.seq, "RESUMED", {}))
        await self.send(conn, {"op": 0, "t": "RESUMED", "s": s.seq, "d": {}})
        self.count("resumed")

    # ---- interactions ----
    def interaction_payload(self, spec, iid, token):
        itype = int(spec.get("type", 2))
        guild_id = spec.get("guild_id", "200000000000000002")
        channel_id = spec.get("channel_id", "300000000000000003")
        user = {"id": spec.get("user_id", "600000000000000006"),
                "username": spec.get("user_name", "alice"), "discriminator": "0",
                "global_name": spec.get("user_name", "alice"), "avatar": None}
        d = {
            "id": iid, "application_id": self.app_id, "type": itype, "token": token,
            "version": 1, "guild_id": guild_id, "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 0, "guild_id": guild_id, "name": "ops"},
            "member": {"user": user, "roles": spec.get("roles", []), "nick": None,
                       "avatar": None, "joined_at": "2026-01-01T00:00:00.000000+00:00",
                       "deaf": False, "mute": False, "flags": 0, "pending": False,
                       "permissions": "2248473465835073"},
            "app_permissions": "2248473465835073", "locale": spec.get("locale", "en-US"),
            "guild_locale": spec.get("guild_locale", "en-US"), "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id}, "context": 0,
        }
        if itype in (2, 4):
            opts = [{"name": k, "type": 3, "value": v} for k, v in
                    (spec.get("options") or {}).items()]
            if spec.get("focused"):
                for o in opts:
                    if o["name"] == spec["focused"]:
                        o["focused"] = True
            if spec.get("subcommand"):
                opts = [{"name": spec["subcommand"], "type": 1, "options": opts}]
            d["data"] = {"id": "700000000000000007", "name": spec.get("command", "env"),
                         "type": 1, "guild_id": guild_id, "options": opts}
        elif itype == 3:
            d["data"] = {"custom_id": spec.get("custom_id", "button"), "component_type": 2}
            d["message"] = {"id": spec.get("message_id", "800000000000000008"),
                            "channel_id": channel_id, "content": "", "flags": 0}
        return d

    async def create_interaction(self, spec):
        s = self.current_session()
        if spec.get("offline"):
            s = None  # recorded as delivered, for a REST-only client
        elif s is None:
            raise web.HTTPConflict(text=json.dumps({"error": "no session"}),
                                   content_type="application/json")
        iid = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + "".join(
            random.choice(string.ascii_letters + string.digits) for _ in range(60))
        rec = {"id": iid, "token": token, "type": int(spec.get("type", 2)),
               "created": now(), "sent": None, "responses": [], "edits": [],
               "followups": [], "original": None, "ephemeral": False,
               "channel_id": spec.get("channel_id", "300000000000000003")}
        self.interactions[iid] = rec
        self.count("interactions")
        if s is None:
            rec["seq"], rec["sent"] = None, rec["created"]
            return rec
        seq, sent = await self.dispatch(s, "INTERACTION_CREATE",
                                        self.interaction_payload(spec, iid, token))
        rec["seq"] = seq
        rec["sent"] = now() if sent else None
        return rec

    # ---- REST ----
    def route_key(self, method, path):
        segs = [x for x in path.split("/") if x]
        out, keep = [], 0
        for i, sgm in enumerate(segs):
            if keep:
                out.append(sgm)
                keep -= 1
            elif sgm.isdigit():
                out.append(":id")
            else:
                out.append(sgm)
            if i == 0:
                keep = 1 if sgm in ("channels", "guilds") else (
                    2 if sgm in ("webhooks", "interactions") else 0)
        return method + " /" + "/".join(out)

    def bucket_limits(self, method, path, route):
        for (m, rx, limit, window) in self.limits:
            if (m is None or m == method) and re.search(rx, path):
                return limit, window
        if re.match(r"POST /channels/\d+/messages$", route):
            return 5, 5.0
        if route.startswith("POST /interactions/"):
            return 5, 1.0
        return 50, 1.0

    def headers_for(self, b):
        t = now()
        reset_after = max(0.0, b["reset"] - t)
        return {
            "X-RateLimit-Limit": str(b["limit"]),
            "X-RateLimit-Remaining": str(max(0, b["remaining"])),
            "X-RateLimit-Reset": "%.3f" % (time.time() + reset_after),
            "X-RateLimit-Reset-After": "%.3f" % reset_after,
            "X-RateLimit-Bucket": b["hash"],
        }

    def json_response(self, status, body, headers=None):
        if status == 204:
            return web.Response(status=204, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def rest(self, request):
        t = now()
        method = request.method
        path = "/" + request.match_info["tail"]
        # an upload is read part by part below (read_upload)
        raw = None if request.content_type == "multipart/form-data" else await request.read()
        auth = request.headers.get("Authorization")
        ua = request.headers.get("User-Agent", "")
        route = self.route_key(method, path)
        replica = request.match_info.get("replica")
        query = dict(request.query)
        rec = {"t": t, "method": method, "path": path, "route": route, "auth": auth is not None,
               "ua": ua, "status": None, "body": None, "replica": replica, "query": query}
        self.requests.append(rec)
        self.count("requests")
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000.0)
        files = None
        if raw is None:
            raw, files, err = await self.read_upload(request)
            rec["multipart"] = True
            rec["files"] = [{k: v for k, v in f.items() if k != "data"} for f in files]
            if err:
                rec["status"] = err[0]
                self.count("rest_4xx")
                return self.json_response(err[0], err[1])
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<invalid json>"
        if files is not None and body is None:
            body = {}
        rec["body"] = body
        status, out, headers = await self.rest_inner(request, method, path, route, body,
                                                     auth, ua,
                                                     "/r/" + replica if replica else "",
                                                     files, query)
        rec["status"] = status
        if status == 401:
            self.count("rest_401")
        if 400 <= status < 500:
            self.count("rest_4xx")
        if status == 429:
            self.count("rest_429")
        if status >= 500:
            self.count("rest_5xx")
        return self.json_response(status, out, headers)

    async def read_upload(self, request):
        """A multipart/form-data body as Discord takes it: (payload_json's
        bytes, the files[N] parts, None) or (.., .., (status, error body))."""
        payload, files, total = b"", [], 0
        try:
            reader = await request.multipart()
            async for part in reader:
                data = bytes(await part.read(decode=False))
                total += len(data)
                if total > UPLOAD_BYTES_MAX:
                    return payload, files, (413, {"message": "Request entity too large",
                                                  "code": 40005})
                m = re.fullmatch(r"files\[(\d+)\]", part.name or "")
                if part.name == "payload_json":
                    payload = data
                elif m:
                    if not part.filename:
                        return payload, files, (400, {"message": "Invalid Form Body: %s has "
                                                      "no filename" % part.name, "code": 50035})
                    files.append({"field": part.name, "index": int(m.group(1)),
                                  "filename": part.filename,
                                  "content_type": part.headers.get("Content-Type"),
                                  "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest(), "data": data})
        except (ValueError, AssertionError) as e:  # aiohttp's parser on a malformed body
            return payload, files, (400, {"message": "Invalid Form Body: %s" % e, "code": 50035})
        if len(files) > UPLOAD_FILES_MAX:
            return payload, files, (400, {"message": "Invalid Form Body: more than 10 files",
                                          "code": 50035})
        return payload, files, None

    def attach(self, body, files):
        """The attachment objects of an upload's message: (error, list). An
        "attachments" entry {"id": N} in the payload names files[N] (and may
        rename it with "filename"); files no entry names are attached too."""
        by_index = {f["index"]: f for f in files}
        entries = {}
        for a in (body.get("attachments") or []) if isinstance(body, dict) else []:
            aid = a.get("id") if isinstance(a, dict) else None
            if isinstance(aid, str) and aid.isdigit():
                aid = int(aid)
            if not isinstance(aid, int) or aid not in by_index:
                return "attachments: %r names no files[N] part" % (a,), None
            entries[aid] = a
        out = []
        for f in sorted(files, key=lambda f: f["index"]):
            att_id = self.ids.next()
            name = entries.get(f["index"], {}).get("filename") or f["filename"]
            self.uploads[att_id] = {k: v for k, v in f.items() if k != "data"}
            self.uploads[att_id]["data_b64"] = base64.b64encode(f["data"]).decode()
            out.append({"id": att_id, "filename": name, "size": f["size"],
                        "content_type": f["content_type"], "sha256": f["sha256"],
                        "url": "http://127.0.0.1:%d/attachments/%s/%s" % (self.port, att_id, name)})
        return None, out

    async def rest_inner(self, request, method, path, route, body, auth, ua, prefix="",
                         files=None, query=None):
        t = now()
        tokened = route.startswith("POST /interactions/") or path.startswith("/webhooks/")
        for f in self.failures:
            if f["count"] > 0 and (f.get("method") in (None, method)) and \
                    re.search(f["path"], path):
                f["count"] -= 1
                self.count("injected")
                st = int(f.get("status", 500))
                if f.get("after"):
                    # the request is carried out, its answer lost (an edge
                    # 5xx or a timeout after Discord did the work)
                    await self.handle(method, path, body, prefix, files, query)
                    return st, {"message": "%d: injected after" % st, "code": 0}, None
                if st == 429:
                    ra = float(f.get("retry_after", 0.5))
                    glob = bool(f.get("global", False))
                    if glob:
                        self.count("rest_429_global")
                    h = {"Retry-After": str(max(1, int(ra + 0.999))),
                         "X-RateLimit-Scope": "global" if glob else "user"}
                    if glob:
                        h["X-RateLimit-Global"] = "true"
                    return 429, {"message": "You are being rate limited.",
                                 "retry_after": ra, "global": glob}, h
                return st, {"message": "%d: injected" % st, "code": 0}, None
        if not ua.startswith("DiscordBot ("):
            return 400, {"message": "bad User-Agent", "code": 0}, None
        if not tokened:
            if auth != "Bot " + self.token:
                return 401, {"message": "401: Unauthorized", "code": 0}, None
            while self.global_times and t - self.global_times[0] >= 1.0:
                self.global_times.popleft()
            if len(self.global_times) >= 50:
                self.count("rest_429_global")
                ra = 1.0 - (t - self.global_times[0])
                return 429, {"message": "You are being rate limited.", "retry_after": ra,
                             "global": True}, {"X-RateLimit-Global": "true",
                                               "X-RateLimit-Scope": "global",
                                               "Retry-After": "1"}
            self.global_times.append(t)
        limit, window = self.bucket_limits(method, path, route)
        b = self.buckets.get(route)
        if b is None or t >= b["reset"]:
            b = {"limit": limit, "remaining": limit, "reset": t + window,
                 "hash": "%08x" % (hash(route) & 0xffffffff)}
            self.buckets[route] = b
        if b["remaining"] <= 0:
            ra = b["reset"] - t
            h = self.headers_for(b)
            h.update({"Retry-After": str(max(1, int(ra + 0.999))), "X-RateLimit-Scope": "user"})
            return 429, {"message": "You are being rate limited.", "retry_after": ra,
                         "global": False}, h
        b["remaining"] -= 1
        status, out = await self.handle(method, path, body, prefix, files, query)
        return status, out, self.headers_for(b)

    async def handle(self, method, path, body, prefix="", files=None, query=None):
        m = re.fullmatch(r"/gateway(/bot)?", path)
        if m and method == "GET":
            url = "%s://127.0.0.1:%d%s/gateway" % (self.ws, self.port, prefix)
            if not m.group(1):
                return 200, {"url": url}
            reset_after = 86400000
            if self.start_reset_at is not None:
                reset_after = max(0, int((self.start_reset_at - now()) * 1000))
            return 200, {"url": url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": max(0, self.start_remaining),
                "reset_after": reset_after, "max_concurrency": 1}}
        m = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if m:
            scope = m.group(2) or "global"
            if method == "GET":
                self.count("commands_get")
                # Without it Discord leaves the translations out (and says
                # one language's words in *_localized instead).
                if (query or {}).get("with_localizations") == "true":
                    return 200, self.commands.get(scope, [])
                return 200, [without_localizations(c) for c in self.commands.get(scope, [])]
            if method == "PUT":
                if not isinstance(body, list) or len(body) > 100:
                    return 400, {"message": "Invalid Form Body", "code": 50035}
                for i, c in enumerate(body):
                    e = command_errors(c, "%d." % i)
                    if e:
                        self.count("commands_put_refused")
                        return 400, form_error(*e)
                stored = []
                for c in body:
                    c = dict(c)
                    c.update({"id": self.ids.next(), "application_id": m.group(1),
                              "version": self.ids.next(), "default_member_permissions": None,
                              "nsfw": False})
                    c.setdefault("dm_permission", True)
                    stored.append(c)
                self.commands[scope] = stored
                self.count("commands_put")
                return 200, stored
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if m and method == "POST":
            return self.on_callback(m.group(1), m.group(2), body)
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/(@original|\d+))?", path)
        if m:
            return self.on_webhook(method, m.group(1), m.group(2), m.group(3), body, files)
        m = re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", path)
        if m:
            return self.on_channel_message(method, m.group(1), m.group(2), body, files)
        m = re.fullmatch(r"/channels/(\d+)", path)
        if m and method == "GET":
            if m.group(1) in self.hidden.get("channels", {}):
                return self.hidden_answer("channels", m.group(1), "Unknown Channel", 10003)
            return 200, {"id": m.group(1), "type": 0, "guild_id": "200000000000000002",
                         "name": "ops"}
        m = re.fullmatch(r"/guilds/(\d+)", path)
        if m and method == "GET":
            if m.group(1) in self.hidden.get("guilds", {}):
                return self.hidden_answer("guilds", m.group(1), "Unknown Guild", 10004)
            return 200, {"id": m.group(1), "name": "envbot test guild", "owner_id": "1",
                         "roles": [], "features": []}
        if path == "/users/@me" and method == "GET":
            return 200, {"id": self.app_id, "username": "envbot", "bot": True,
                         "discriminator": "0"}
        if path == "/applications/@me" and method == "GET":
            return 200, {"id": self.app_id, "name": "envbot", "flags": 0}
        return 404, {"message": "404: Not Found", "code": 0}

    def hidden_answer(self, kind, oid, unknown, code):
        # 404 "Unknown ..." when it does not exist; 403 50001 when the bot
        # is not in it or cannot view it, as Discord answers.
        if self.hidden[kind][oid] == 403:
            return 403, {"message": "Missing Access", "code": 50001}
        return 404, {"message": unknown, "code": code}

    def on_callback(self, iid, token, body):
        t = now()
        rec = self.interactions.get(iid)
        if not rec or rec["token"] != token:
            return 404, {"message": "Unknown interaction", "code": 10062}
        if t - rec["created"] > DEADLINE_S:
            self.count("callbacks_late")
            rec["late"] = True
            return 404, {"message": "Unknown interaction", "code": 10062}
        if rec["responses"]:
            self.count("callbacks_duplicate")
            return 400, {"message": "Interaction has already been acknowledged.",
                         "code": 40060}
        if not isinstance(body, dict) or body.get("type") not in (1, 4, 5, 6, 7, 8, 9):
            return 400, {"message": "Invalid Form Body", "code": 50035}
        data = body.get("data") or {}
        ctype = body["type"]
        if ctype in (4, 7):
            err = embed_error(data)
            if err:
                return 400, {"message": "Invalid Form Body: " + err, "code": 50035}
        if ctype == 8:
            ch = data.get("choices")
            if not isinstance(ch, list) or len(ch) > 25:
                return 400, {"message": "Invalid Form Body: choices", "code": 50035}
        if ctype in (6, 7) and rec["type"] != 3:
            return 400, {"message": "Interaction is not a component", "code": 50035}
        if ctype == 8 and rec["type"] != 4:
            return 400, {"message": "Interaction is not autocomplete", "code": 50035}
        sent = rec["sent"] if rec["sent"] is not None else rec["created"]
        rec["responses"].append({"t": t, "type": ctype, "data": data,
                                 "latency_ms": (t - sent) * 1000.0})
        rec["ephemeral"] = bool((data.get("flags") or 0) & 64)
        if ctype in (4, 5):
            rec["original"] = {"id": self.ids.next(), "content": data.get("content", ""),
                               "embeds": data.get("embeds", []), "flags": data.get("flags", 0)}
            if not rec["ephemeral"]:
                # Like Discord, a public response is a channel message too:
                # editable through the channel route after the token expires.
                oid = rec["original"]["id"]
                self.messages[oid] = {"id": oid, "channel_id": rec["channel_id"],
                                      "content": rec["original"]["content"],
                                      "embeds": rec["original"]["embeds"], "t": t,
                                      "edits": [], "allowed_mentions": None,
                                      "interaction_id": rec["id"]}
        self.count("callbacks")
        return 204, None

    def find_by_token(self, token):
        for rec in self.interactions.values():
            if rec["token"] == token:
                return rec
        return None

    def on_webhook(self, method, app, token, which, body, files=None):
        t = now()
        rec = self.find_by_token(token)
        if app != self.app_id or not rec:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        if t - rec["created"] > TOKEN_TTL_S:
            return 401, {"message": "Invalid Webhook Token", "code": 50027}
        if not rec["responses"]:
            return 404, {"message": "Unknown Message", "code": 10008}
        atts = None
        if method in ("PATCH", "POST"):
            err = embed_error(body)
            if not err and files is not None and which in (None, "@original"):
                err, atts = self.attach(body, files)
            if err:
                return 400, {"message": "Invalid Form Body: " + err, "code": 50035}
        if which is None and method == "POST":
            mid = self.ids.next()
            msg = dict(body or {})
            msg.update({"id": mid, "channel_id": "300000000000000003"})
            if atts is not None:
                msg["attachments"] = atts
            rec["followups"].append({"t": t, "body": body, "id": mid, "attachments": atts})
            self.count("followups")
            return 200, msg
        if which == "@original" or (rec["original"] and which == rec["original"]["id"]):
            orig = rec["original"]
            if orig is None:
                return 404, {"message": "Unknown Message", "code": 10008}
            if method == "GET":
                return 200, orig
            if method == "DELETE":
                rec["original"] = None
                return 204, None
            if method == "PATCH":
                orig.update({k: v for k, v in (body or {}).items()
                             if k in ("content", "embeds", "components")})
                mirror = self.messages.get(orig["id"])
                if mirror is not None:
                    mirror.update({k: v for k, v in (body or {}).items()
                                   if k in ("content", "embeds")})
                if atts is not None:
                    # an upload's attachments replace the message's
                    orig["attachments"] = atts
                    if mirror is not None:
                        mirror["attachments"] = atts
                rec["edits"].append({"t": t, "body": body, "attachments": atts})
                self.count("edits")
                out = dict(orig)
                out["channel_id"] = "300000000000000003"
                return 200, out
        return 404, {"message": "Unknown Message", "code": 10008}

    def on_channel_message(self, method, channel, mid, body, files=None):
        t = now()
        atts = None
        if mid is None and method == "POST":
            err = embed_error(body)
            if not err and files is not None:
                err, atts = self.attach(body, files)
            if err:
                return 400, {"message": "Invalid Form Body: " + err, "code": 50035}
            if not body.get("content") and not body.get("embeds") and not atts:
                return 400, {"message": "Cannot send an empty message", "code": 50006}
            nonce = body.get("nonce")
            if nonce is not None and not (isinstance(nonce, int) or
                                          (isinstance(nonce, str) and len(nonce) <= 25)):
                return 400, {"message": "Invalid Form Body: nonce", "code": 50035}
            if nonce is not None and body.get("enforce_nonce"):
                # Discord: the same nonce from the same author within a few
                # minutes returns the message it created, no new one
                seen = self.nonces.get((channel, nonce))
                if seen and t - seen[1] < 300 and seen[0] in self.messages:
                    self.count("nonce_replays")
                    for a in atts or []:  # the first post keeps its files
                        self.uploads.pop(a["id"], None)
                    old = self.messages[seen[0]]
                    return 200, {k: v for k, v in old.items() if k not in ("t", "edits")}
            mid = self.ids.next()
            if nonce is not None:
                self.nonces[(channel, nonce)] = (mid, t)
            msg = {"id": mid, "channel_id": channel, "content": body.get("content", ""),
                   "embeds": body.get("embeds", []), "t": t, "edits": [],
                   "allowed_mentions": body.get("allowed_mentions"),
                   "components": body.get("components") or [],
                   "attachments": atts or []}
            self.messages[mid] = msg
            self.count("messages")
            return 200, {k: v for k, v in msg.items() if k not in ("t", "edits")}
        msg = self.messages.get(mid) if mid else None
        if not msg or msg["channel_id"] != channel:
            return 404, {"message": "Unknown Message", "code": 10008}
        if method == "GET":
            return 200, {k: v for k, v in msg.items() if k not in ("t", "edits")}
        if method == "PATCH":
            err = embed_error(body)
            if not err and files is not None:
                err, atts = self.attach(body, files)
            if err:
                return 400, {"message": "Invalid Form Body: " + err, "code": 50035}
            msg["edits"].append({"t": t, "body": body, "attachments": atts})
            for k in ("content", "embeds", "components"):
                if k in body:
                    msg[k] = body[k]
            if atts is not None:
                msg["attachments"] = atts
            self.count("message_edits")
            return 200, {k: v for k, v in msg.items() if k not in ("t", "edits")}
        if method == "DELETE":
            del self.messages[mid]
            return 204, None
        return 405, {"message": "405: Method Not Allowed", "code": 0}

    # ---- control ----
    async def control(self, request):
        what = request.match_info["what"]
        body = {}
        if request.method == "POST" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = {}
        fn = getattr(self, "c_" + what.replace("/", "_"), None)
        if fn is None:
            return web.json_response({"error": "unknown control " + what}, status=404)
        out = await fn(request, body)
        return web.json_response(out)

    async def c_hide(self, request, body):
        for kind in ("channels", "guilds"):
            for oid in body.get(kind) or []:
                self.hidden.setdefault(kind, {})[str(oid)] = int(body.get("status", 404))
        return {"hidden": self.hidden}

    async def c_interaction(self, request, body):
        rec = await self.create_interaction(body)
        return {"id": rec["id"], "token": rec["token"], "seq": rec["seq"]}

    async def c_interactions(self, request, body):
        ids = []
        interval = float(body.get("interval_ms", 0)) / 1000.0
        for _ in range(int(body.get("count", 1))):
            rec = await self.create_interaction(body)
            ids.append(rec["id"])
            if interval:
                await asyncio.sleep(interval)
        return {"ids": ids}

    async def c_dispatch(self, request, body):
        s = self.current_session()
        if s is None:
            return {"error": "no session"}
        seq, sent = await self.dispatch(s, body["t"], body.get("d"))
        return {"seq": seq, "sent": sent}

    async def c_raw(self, request, body):
        n = 0
        for c in list(self.conns):
            if "fragments" in body:
                # aiohttp cannot fragment: write the frames by hand (text
                # opcode first, continuations after, FIN on the last).
                frags = body["fragments"]
                async with c.lock:
                    for i, f in enumerate(frags):
                        await self._raw_frame(c, f.encode(), 0x1 if i == 0 else 0x0,
                                              i == len(frags) - 1)
            elif "hex" in body:
                await c.ws.send_bytes(bytes.fromhex(body["hex"]))
            else:
                await c.ws.send_str(body.get("text", ""))
            n += 1
        return {"sent": n}

    async def _raw_frame(self, conn, payload, opcode, fin):
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + n.to_bytes(2, "big")
        else:
            header += bytes([127]) + n.to_bytes(8, "big")
        conn.transport.write(header + payload)

    async def c_drop(self, request, body):
        n = 0
        for c in list(self.conns):
            c.closed_by = "drop"
            c.transport.abort()
            n += 1
        return {"dropped": n}

    async def c_reconnect(self, request, body):
        for c in list(self.conns):
            await self.send(c, {"op": 7, "d": None})
        return {"ok": True}

    async def c_invalidate(self, request, body):
        resumable = bool(body.get("resumable", False))
        for c in list(self.conns):
            if not resumable and c.session:
                c.session.valid = False
            await self.send(c, {"op": 9, "d": resumable})
        return {"ok": True}

    async def c_heartbeat_ack(self, request, body):
        for c in list(self.conns):
            c.ack = bool(body.get("enabled", True))
        return {"ok": True}

    async def c_close(self, request, body):
        code = int(body.get("code", 4000))
        for c in list(self.conns):
            if code in (4007, 4009) and c.session:
                c.session.valid = False
            await self.close(c, code, body.get("reason", ""))
        return {"ok": True}

    async def c_replay_extra(self, request, body):
        self.replay_extra = int(body.get("n", 1))
        return {"ok": True}

    async def c_fail(self, request, body):
        if body.get("clear"):
            self.failures.clear()
            return {"ok": True}
        self.failures.append({"method": body.get("method"), "path": body.get("path", ".*"),
                              "status": int(body.get("status", 500)),
                              "count": int(body.get("count", 1)),
                              "retry_after": float(body.get("retry_after", 0.5)),
                              "global": bool(body.get("global", False)),
                              "after": bool(body.get("after", False))})
        return {"ok": True}

    async def c_ratelimit(self, request, body):
        self.limits.insert(0, (body.get("method"), body.get("path", ".*"),
                               int(body["limit"]), float(body.get("window", 1.0))))
        self.buckets.clear()
        return {"ok": True}

    async def c_session_start_limit(self, request, body):
        self.start_remaining = int(body.get("remaining", 1000))
        self.start_reset_at = now() + float(body.get("reset_after", 86400000)) / 1000.0
        return {"ok": True}

    async def c_delay(self, request, body):
        self.delay_ms = float(body.get("ms", 0))
        return {"ok": True}

    async def c_hello(self, request, body):
        self.hb_interval = int(body.get("heartbeat_interval", self.hb_interval))
        return {"ok": True}

    async def c_refuse_identify(self, request, body):
        self.identify_refusal = int(body.get("code", 0))
        return {"code": self.identify_refusal}

    async def c_reset(self, request, body):
        self.interactions.clear()
        self.messages.clear()
        self.nonces.clear()
        self.requests.clear()
        self.counters.clear()
        self.uploads.clear()
        return {"ok": True}

    async def c_state(self, request, body):
        return {
            "counters": dict(self.counters),
            "connections": [{"path": c.path, "query": c.query, "opened": c.opened,
                             "identify": c.identify is not None,
                             "identify_d": {k: v for k, v in (c.identify or {}).items()
                                            if k != "token"},
                             "resume": c.resume is not None,
                             "resume_seq": (c.resume or {}).get("seq"),
                             "heartbeats": c.heartbeats, "close_code": c.close_code,
                             "closed_by": c.closed_by, "open": c in self.conns}
                            for c in self.all_conns],
            "interactions": list(self.interactions.values()),
            "messages": list(self.messages.values()),
            "requests": self.requests,
            "commands": self.commands,
            "uploads": self.uploads,
            "now": now(),
        }

    async def c_interaction_get(self, request, body):
        return self.interactions.get(request.query.get("id"), {})

    async def c_wait(self, request, body):
        name = request.query["counter"]
        want = int(request.query.get("min", 1))
        deadline = now() + float(request.query.get("timeout", 5))
        async with self.cond:
            while self.counters[name] < want and now() < deadline:
                try:
                    await asyncio.wait_for(self.cond.wait(), deadline - now())
                except asyncio.TimeoutError:
                    break
        return {"ok": self.counters[name] >= want, "value": self.counters[name]}

    async def c_latency(self, request, body):
        lat = sorted(r["responses"][0]["latency_ms"] for r in self.interactions.values()
                     if r["responses"])
        unanswered = sum(1 for r in self.interactions.values() if not r["responses"])
        late = sum(1 for r in self.interactions.values() if r.get("late"))

        def pct(p):
            if not lat:
                return None
            return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
        return {"count": len(lat), "p50_ms": pct(50), "p99_ms": pct(99),
                "max_ms": lat[-1] if lat else None, "late": late,
                "unanswered": unanswered}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=os.environ.get("FAKE_DISCORD_TOKEN", "test-token-123456"))
    ap.add_argument("--app-id", default="100000000000000001")
    ap.add_argument("--heartbeat-interval", type=int, default=41250)
    ap.add_argument("--tls-cert", help="serve https/wss with this certificate (PEM)")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    ssl_ctx = None
    if args.tls_cert:
        import ssl
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
    fake = Fake(args)
    fake.cond = asyncio.Condition()
    app = web.Application(client_max_size=8 << 20)

    async def attachment_get(request):
        # the CDN: an uploaded file's bytes at its attachment url
        up = fake.uploads.get(request.match_info["id"])
        if up is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=base64.b64decode(up["data_b64"]), headers={
            "Content-Type": up["content_type"] or "application/octet-stream"})
    app.router.add_route("GET", "/attachments/{id}/{name}", attachment_get)
    for path in ("/gateway", "/gateway/", "/gateway-resume", "/gateway-resume/"):
        app.router.add_route("GET", path, fake.gateway)
        app.router.add_route("GET", "/r/{replica}" + path, fake.gateway)
    app.router.add_route("*", r"/api/v{ver:\d+}/{tail:.*}", fake.rest)
    app.router.add_route("*", r"/r/{replica}/api/v{ver:\d+}/{tail:.*}", fake.rest)

    async def interaction_get(request):
        return web.json_response(fake.interactions.get(request.match_info["id"], {}))
    app.router.add_route("GET", "/_control/interaction/{id}", interaction_get)
    app.router.add_route("*", "/_control/{what:.*}", fake.control)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=2048, ssl_context=ssl_ctx)
    await site.start()
    fake.port = site._server.sockets[0].getsockname()[1]
    print("READY port=%d api=%s://127.0.0.1:%d/api/v10" %
          (fake.port, "https" if ssl_ctx else "http", fake.port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_event_loop()
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
