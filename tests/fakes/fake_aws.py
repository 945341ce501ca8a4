#!/usr/bin/env python3
"""fake_aws.py: a fault-injecting fake of the AWS APIs envbot uses, for what
moto cannot do (throttling bursts, 5xx, resets, slow or failing stack
operations with resource events, paged ECR/EC2 listings). Stdlib only,
loopback only. Its wire format is proved with the real `aws` CLI
(tests/e2e/test_fake_aws_cli.py).

Usage: fake_aws.py [--upstream URL [--proxy]] [PORT [--tls CERT KEY]]   (0 or absent:
a free port). With --upstream (moto), every request of a service the fake
does not play itself (autoscaling, ecs, application-autoscaling, rds, any
other; by the SigV4 credential scope) is forwarded there as it came
(headers, signature, body) and its answer returned; the signature check,
throttle, latency, faults and the request log (its record has
"forwarded": true) apply to forwarded calls as to native ones. With --proxy
as well, every request goes upstream (STS and EC2 too: moto keeps
resources per account and region) and the signature is left to moto (the
fake cannot know the keys moto issues); the fake only records, delays and
breaks requests.
Prints the port on stdout (one line) once listening. With --tls it speaks
HTTPS only (control API included), for the certificate-verification tests. Region-agnostic; account 123456789012.

Served on POST / (service chosen by the SigV4 credential scope, else by
X-Amz-Target / Action):
  CloudFormation (query, XML): DescribeStacks, CreateStack, DeleteStack,
      DescribeStackEvents (pages of 10 events, NextToken)
  ECR (JSON 1.1): DescribeImages (maxResults, nextToken, filter.tagStatus;
      pages are in a shuffled, not chronological, order)
  EC2 (ec2 XML): DescribeInstances (tag:K / instance-state-name filters,
      MaxResults, NextToken), StartInstances, StopInstances
  STS (query, XML): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity
Signatures are verified (SigV4, header form) for access keys the fake knows
(default: AKIDFAKE / fakesecret, plus temporary keys it issued);
unknown keys get InvalidClientTokenId, bad signatures SignatureDoesNotMatch,
expired temporary keys ExpiredToken. AssumeRoleWithWebIdentity is unsigned.
Credential endpoints for the chain tests:
  PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[ROLE]
      (IMDSv2; the token is required)
  GET /ecs/creds (ECS; requires Authorization equal to the configured token)

Control API (JSON in, JSON out), under /_fake/:
  GET  /_fake/health                      -> {"ok": true}
  POST /_fake/reset                       clear all state, faults and the log
  GET  /_fake/stacks                      the stacks not deleted: {name: status}
  GET  /_fake/requests                    every API request seen: [{service,
       action, params, target, json, signed, access_key, time}]
  POST /_fake/stack   {name, status?, parameters?{k:v}, outputs?{k:v},
       tags?{k:v}, reason?, events?[{logical_id, type, status, reason}]}
       seeds a stack (e.g. a ROLLBACK_COMPLETE leftover)
  POST /_fake/behavior {stack, create_seconds?, delete_seconds?,
       create_fail?{logical_id, type, reason}, delete_fail?[{logical_id,
       type, reason}], outputs?{k:v}}   how the next create/delete of that
       stack name goes: CREATE_IN_PROGRESS for create_seconds, then
       CREATE_COMPLETE, or CREATE_FAILED events + ROLLBACK_COMPLETE;
       DELETE_IN_PROGRESS then gone, or DELETE_FAILED with resource events
  POST /_fake/images  {repository, images:[{tags[], pushed_at, digest?}]}
       or {repository, generate: N, start?: T, step?: S, tag_fmt?: "b{i}",
       latest_on_newest?: true}     adds images (repository created)
  POST /_fake/instances {instances:[{id, state, type?, tags{}, delay?,
       hibernation?: bool, fail_start?{code, message}}]}  hibernation:
       HibernationOptions.Configured (StopInstances Hibernate=true on one
       that is not: UnsupportedHibernationConfiguration); fail_start: every
       start ends back at stopped with that stateReason
  POST /_fake/faults  {rules:[{match, count, status?, code?, message?,
       kind?, region?, params?}]}  match is an action/operation name
       ("DescribeStacks"), a service ("ecr", "cloudformation", "ec2", "sts")
       or "*"; with region, only requests signed for that region (the
       credential scope); with params ({"RoleArn": "..."}), only query
       requests with those parameters; the next
       `count` matching requests get: kind "error" (default: HTTP status +
       AWS error code in the service's shape, e.g. 400 Throttling,
       503 ServiceUnavailable), "reset" (connection closed, no response),
       "delay" (sleep `seconds`, then answer normally), "truncate" (a valid
       answer cut in half), "huge" (`bytes` of padding in a 200 body),
       "garbage" (200 with a non-XML/JSON body), "rewrite" (re.sub(`pattern`,
       `replace`) on the answer's body, native or forwarded); {"clear": true} first
       drops the rules still pending
  POST /_fake/expire  every temporary key it issued expires now (its next
       use gets ExpiredToken)
  POST /_fake/credentials {access_key, secret, token?, expires_in?}
       adds a known key; with expires_in, also what IMDS/ECS serve
  POST /_fake/config {imds_role?, ecs_token?, account?}
  POST /_fake/throttle {rate?, latency?}  (bench/run) every API request
       waits `latency` seconds before its answer; above `rate` requests per
       second (a token bucket of `rate` tokens refilled at `rate`/s, shared
       by all services) it is answered 400 Throttling "Rate exceeded" (its
       request record says error "Throttling"); 0 turns either off
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "123456789012"
CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
EVENTS_PAGE = 10

LOCK = threading.RLock()
UPSTREAM = None  # --upstream URL: (host, port) services the fake lacks go to
PROXY = False    # --proxy: every request goes upstream
NATIVE = ("cloudformation", "ec2", "sts", "ecr")


def now():
    return time.time()


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def new_id(prefix, n=17):
    return prefix + "".join(random.choice("0123456789abcdef") for _ in range(n))


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.stacks = []        # every stack ever (deleted ones stay, by id)
        self.behaviors = {}     # stack name -> behavior dict
        self.repos = {}         # repository -> [image]
        self.instances = {}     # id -> instance
        self.faults = []
        self.requests = []
        self.keys = {"AKIDFAKE": {"secret": "fakesecret", "token": None, "expires": None}}
        self.served_creds = None
        self.imds_role = "envbot-role"
        self.ecs_token = "ecs-secret-token"
        self.imds_tokens = set()
        self.account = ACCOUNT
        self.rate = 0.0         # /_fake/throttle: requests per second, 0 = off
        self.latency = 0.0      # /_fake/throttle: seconds added to every answer
        self.tokens = 0.0
        self.tokens_at = 0.0


def over_rate():
    """Takes a token of the /_fake/throttle bucket; True when none is left."""
    with LOCK:
        if S.rate <= 0:
            return False
        t = time.monotonic()
        S.tokens = min(S.rate, S.tokens + (t - S.tokens_at) * S.rate)
        S.tokens_at = t
        if S.tokens < 1.0:
            return True
        S.tokens -= 1.0
        return False


S = State()


# ---------------------------------------------------------------- stacks


def stack_by(name_or_id, include_deleted=False):
    for st in reversed(S.stacks):
        if st["id"] == name_or_id:
            return st
        if st["name"] == name_or_id and (include_deleted or st["status"] != "DELETE_COMPLETE"):
            return st
    return None


def add_event(st, logical, rtype, status, reason="", t=None):
    t = t if t is not None else now()
    st["events"].insert(0, {
        "id": new_id("ev-", 12), "logical_id": logical, "type": rtype, "status": status,
        "reason": reason, "time": t,
        "physical_id": st["id"] if rtype == "AWS::CloudFormation::Stack" else "",
    })


def advance(st):
    """Moves a stack along its timeline (lazily, on every request)."""
    t = now()
    b = st.get("op")
    if not b or t < b["until"]:
        return
    st["op"] = None
    if b["kind"] == "create":
        fail = b.get("create_fail")
        if fail:
            add_event(st, fail.get("logical_id", "Resource"), fail.get("type", "AWS::S3::Bucket"),
                      "CREATE_FAILED", fail.get("reason", "failed"), b["until"])
            add_event(st, "Other", "AWS::SQS::Queue", "CREATE_FAILED",
                      "Resource creation cancelled", b["until"] + 0.001)
            add_event(st, st["name"], "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
                      "The following resource(s) failed to create: [%s]."
                      % fail.get("logical_id", "Resource"), b["until"] + 0.002)
            add_event(st, st["name"], "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "",
                      b["until"] + 0.003)
            st["status"] = "ROLLBACK_COMPLETE"
            st["reason"] = ""
        else:
            add_event(st, "Resource", "AWS::S3::Bucket", "CREATE_COMPLETE", "", b["until"])
            add_event(st, st["name"], "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "",
                      b["until"] + 0.001)
            st["status"] = "CREATE_COMPLETE"
            st["outputs"].update(b.get("outputs") or {})
    elif b["kind"] == "delete":
        fails = b.get("delete_fail")
        if fails:
            for f in fails:
                add_event(st, f.get("logical_id", "Bucket"), f.get("type", "AWS::S3::Bucket"),
                          "DELETE_FAILED", f.get("reason", "failed"), b["until"])
            add_event(st, st["name"], "AWS::CloudFormation::Stack", "DELETE_FAILED",
                      "The following resource(s) failed to delete: [%s]."
                      % ", ".join(f.get("logical_id", "Bucket") for f in fails),
                      b["until"] + 0.001)
            st["status"] = "DELETE_FAILED"
        else:
            add_event(st, st["name"], "AWS::CloudFormation::Stack", "DELETE_COMPLETE", "",
                      b["until"])
            st["status"] = "DELETE_COMPLETE"


def new_stack(name, status, params=None, outputs=None, tags=None, reason=""):
    st = {
        "name": name,
        "id": "arn:aws:cloudformation:us-east-1:%s:stack/%s/%s" % (
            S.account, name, "%08x-0000-4000-8000-%012x" % (random.getrandbits(32),
                                                            random.getrandbits(48))),
        "status": status, "reason": reason, "created": now(),
        "parameters": dict(params or {}), "outputs": dict(outputs or {}),
        "tags": dict(tags or {}), "events": [], "op": None, "token": None,
    }
    S.stacks.append(st)
    return st


def stack_xml(st):
    def kvs(tag, d, kn, vn):
        if not d:
            return "<%s/>" % tag
        return "<%s>%s</%s>" % (tag, "".join(
            "<member><%s>%s</%s><%s>%s</%s></member>" % (kn, esc(k), kn, vn, esc(v), vn)
            for k, v in d.items()), tag)
    reason = "<StackStatusReason>%s</StackStatusReason>" % esc(st["reason"]) if st["reason"] else ""
    return ("<member><StackId>%s</StackId><StackName>%s</StackName>%s"
            "<CreationTime>%s</CreationTime><StackStatus>%s</StackStatus>%s"
            "<DisableRollback>false</DisableRollback>%s%s</member>") % (
        esc(st["id"]), esc(st["name"]), kvs("Parameters", st["parameters"], "ParameterKey",
                                            "ParameterValue"),
        iso(st["created"]), st["status"], reason,
        kvs("Outputs", st["outputs"], "OutputKey", "OutputValue"),
        kvs("Tags", st["tags"], "Key", "Value"))


def members(params, prefix, fields=None):
    """Collects Prefix.member.N(.Field) form parameters into a list."""
    out = {}
    for k, v in params.items():
        if not k.startswith(prefix + ".member."):
            continue
        rest = k[len(prefix) + 8:]
        num, _, field = rest.partition(".")
        if not num.isdigit():
            continue
        if fields:
            out.setdefault(int(num), {})[field] = v
        else:
            out[int(num)] = v
    return [out[i] for i in sorted(out)]


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def cfn(action, p):
    with LOCK:
        for st in S.stacks:
            advance(st)
        if action == "DescribeStacks":
            name = p.get("StackName")
            if name:
                st = stack_by(name, include_deleted=name.startswith("arn:"))
                if not st:
                    raise ApiError(400, "ValidationError", "Stack with id %s does not exist" % name)
                stacks = [st]
            else:
                stacks = [s for s in S.stacks if s["status"] != "DELETE_COMPLETE"]
            return ("<DescribeStacksResponse xmlns=\"%s\"><DescribeStacksResult><Stacks>%s"
                    "</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>%s</RequestId>"
                    "</ResponseMetadata></DescribeStacksResponse>") % (
                CFN_NS, "".join(stack_xml(s) for s in stacks), new_id("req-", 8))
        if action == "CreateStack":
            name = p.get("StackName", "")
            if not name or not p.get("TemplateURL"):
                raise ApiError(400, "ValidationError", "StackName and TemplateURL are required")
            old = stack_by(name)
            token = p.get("ClientRequestToken")
            if old:
                if token and old.get("token") == token:
                    st = old  # idempotent retry
                else:
                    raise ApiError(400, "AlreadyExistsException", "Stack [%s] already exists" % name)
            else:
                b = S.behaviors.get(name, {})
                params = {m.get("ParameterKey"): m.get("ParameterValue")
                          for m in members(p, "Parameters", True)}
                tags = {m.get("Key"): m.get("Value") for m in members(p, "Tags", True)}
                st = new_stack(name, "CREATE_IN_PROGRESS", params, {}, tags)
                st["token"] = token
                st["capabilities"] = members(p, "Capabilities")
                st["role_arn"] = p.get("RoleARN")
                add_event(st, name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS",
                          "User Initiated")
                st["op"] = {"kind": "create", "until": now() + float(b.get("create_seconds", 0)),
                            "create_fail": b.get("create_fail"), "outputs": b.get("outputs")}
            return ("<CreateStackResponse xmlns=\"%s\"><CreateStackResult><StackId>%s</StackId>"
                    "</CreateStackResult><ResponseMetadata><RequestId>%s</RequestId>"
                    "</ResponseMetadata></CreateStackResponse>") % (CFN_NS, esc(st["id"]),
                                                                    new_id("req-", 8))
        if action == "DeleteStack":
            name = p.get("StackName", "")
            st = stack_by(name, include_deleted=name.startswith("arn:"))
            if st and st["status"] not in ("DELETE_COMPLETE", "DELETE_IN_PROGRESS"):
                b = S.behaviors.get(st["name"], {})
                st["status"] = "DELETE_IN_PROGRESS"
                st["role_arn"] = p.get("RoleARN")
                add_event(st, st["name"], "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS",
                          "User Initiated")
                st["op"] = {"kind": "delete", "until": now() + float(b.get("delete_seconds", 0)),
                            "delete_fail": b.get("delete_fail")}
                if b.get("delete_fail"):
                    b = dict(b)
            return ("<DeleteStackResponse xmlns=\"%s\"><ResponseMetadata><RequestId>%s"
                    "</RequestId></ResponseMetadata></DeleteStackResponse>") % (
                CFN_NS, new_id("req-", 8))
        if action == "DescribeStackEvents":
            name = p.get("StackName", "")
            st = stack_by(name, include_deleted=name.startswith("arn:"))
            if not st:
                raise ApiError(400, "ValidationError", "Stack [%s] does not exist" % name)
            start = int(p.get("NextToken", "0") or 0) if p.get("NextToken", "0").isdigit() else 0
            page = st["events"][start:start + EVENTS_PAGE]
            nxt = start + EVENTS_PAGE if start + EVENTS_PAGE < len(st["events"]) else None
            evs = "".join(
                ("<member><StackId>%s</StackId><EventId>%s</EventId><StackName>%s</StackName>"
                 "<LogicalResourceId>%s</LogicalResourceId><PhysicalResourceId>%s"
                 "</PhysicalResourceId><ResourceType>%s</ResourceType><Timestamp>%s</Timestamp>"
                 "<ResourceStatus>%s</ResourceStatus>%s</member>") % (
                    esc(st["id"]), e["id"], esc(st["name"]), esc(e["logical_id"]),
                    esc(e["physical_id"]), esc(e["type"]), iso(e["time"]), e["status"],
                    "<ResourceStatusReason>%s</ResourceStatusReason>" % esc(e["reason"])
                    if e["reason"] else "")
                for e in page)
            return ("<DescribeStackEventsResponse xmlns=\"%s\"><DescribeStackEventsResult>"
                    "<StackEvents>%s</StackEvents>%s</DescribeStackEventsResult>"
                    "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
                    "</DescribeStackEventsResponse>") % (
                CFN_NS, evs, "<NextToken>%d</NextToken>" % nxt if nxt else "",
                new_id("req-", 8))
    raise ApiError(400, "InvalidAction", "Could not find operation %s" % action)


# ---------------------------------------------------------------- ecr


def ecr(op, body):
    if op != "DescribeImages":
        raise ApiError(400, "UnknownOperationException", "unknown operation %s" % op)
    if not isinstance(body, dict) or not isinstance(body.get("repositoryName"), str):
        raise ApiError(400, "InvalidParameterException", "repositoryName is required")
    repo = body["repositoryName"]
    with LOCK:
        if repo not in S.repos:
            raise ApiError(400, "RepositoryNotFoundException",
                           "The repository with name '%s' does not exist in the registry with id "
                           "'%s'" % (repo, S.account))
        images = S.repos[repo]
        status = (body.get("filter") or {}).get("tagStatus", "ANY")
        if status == "TAGGED":
            images = [i for i in images if i["tags"]]
        elif status == "UNTAGGED":
            images = [i for i in images if not i["tags"]]
        mr = body.get("maxResults", 100)
        if not isinstance(mr, int) or mr < 1 or mr > 1000:
            raise ApiError(400, "InvalidParameterException", "maxResults must be 1..1000")
        start = 0
        if body.get("nextToken"):
            try:
                start = int(base64.b64decode(body["nextToken"]).decode().split(":")[1])
            except Exception:
                raise ApiError(400, "InvalidParameterException", "invalid nextToken")
        page = images[start:start + mr]
        out = {"imageDetails": [{
            "registryId": S.account, "repositoryName": repo, "imageDigest": i["digest"],
            **({"imageTags": i["tags"]} if i["tags"] else {}),
            "imageSizeInBytes": 1000 + len(i["digest"]), "imagePushedAt": i["pushed_at"],
            "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
        } for i in page]}
        if start + mr < len(images):
            out["nextToken"] = base64.b64encode(("p:%d" % (start + mr)).encode()).decode()
        return json.dumps(out)


# ---------------------------------------------------------------- ec2


EC2_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
             "stopping": 64, "stopped": 80}


def ec2_advance(inst):
    t = now()
    if inst.get("until") and t >= inst["until"]:
        fail = inst.get("fail_start") if inst["state"] == "pending" else None
        inst["state"] = {"pending": "running", "stopping": "stopped"}.get(inst["state"],
                                                                         inst["state"])
        inst["reason"] = None
        if fail:  # EC2 gave up on the start: back to stopped, with its reason
            inst["state"] = "stopped"
            inst["reason"] = (fail.get("code", "Client.InternalError"),
                              fail.get("message", "Client.InternalError: Client error on launch"))
        inst["until"] = None


def ec2(action, p):
    with LOCK:
        for i in S.instances.values():
            ec2_advance(i)
        if action == "DescribeInstances":
            filters = {}
            for k, v in p.items():
                parts = k.split(".")
                if parts[0] == "Filter" and len(parts) >= 3:
                    f = filters.setdefault(int(parts[1]), {"name": None, "values": []})
                    if parts[2] == "Name":
                        f["name"] = v
                    elif parts[2] == "Value":
                        f["values"].append(v)
            sel = []
            for inst in S.instances.values():
                ok = True
                for f in filters.values():
                    if f["name"] and f["name"].startswith("tag:"):
                        ok &= inst["tags"].get(f["name"][4:]) in f["values"]
                    elif f["name"] == "instance-state-name":
                        ok &= inst["state"] in f["values"]
                    elif f["name"] == "instance-id":
                        ok &= inst["id"] in f["values"]
                if ok:
                    sel.append(inst)
            mr = int(p.get("MaxResults", "1000"))
            if mr < 5 or mr > 1000:
                raise ApiError(400, "InvalidParameterValue", "MaxResults must be 5..1000")
            start = int(p.get("NextToken", "0") or 0)
            page = sel[start:start + mr]
            nxt = start + mr if start + mr < len(sel) else None
            items = "".join(
                ("<item><reservationId>r-%s</reservationId><ownerId>%s</ownerId><groupSet/>"
                 "<instancesSet><item><instanceId>%s</instanceId><imageId>ami-1</imageId>"
                 "<instanceState><code>%d</code><name>%s</name></instanceState>"
                 "<instanceType>%s</instanceType><launchTime>%s</launchTime><tagSet>%s</tagSet>"
                 "%s<hibernationOptions><configured>%s</configured></hibernationOptions>"
                 "</item></instancesSet></item>") % (
                    i["id"][2:], S.account, i["id"], EC2_CODES[i["state"]], i["state"], i["type"],
                    iso(i["launch"]), "".join("<item><key>%s</key><value>%s</value></item>"
                                              % (esc(k), esc(v)) for k, v in i["tags"].items()),
                    "<stateReason><code>%s</code><message>%s</message></stateReason>"
                    % (esc(i["reason"][0]), esc(i["reason"][1])) if i.get("reason") else "",
                    "true" if i.get("hibernation") else "false")
                for i in page)
            return ("<DescribeInstancesResponse xmlns=\"%s\"><requestId>%s</requestId>"
                    "<reservationSet>%s</reservationSet>%s</DescribeInstancesResponse>") % (
                EC2_NS, new_id("req-", 8), items,
                "<nextToken>%d</nextToken>" % nxt if nxt else "")
        if action in ("StartInstances", "StopInstances"):
            ids = [v for k, v in sorted(p.items(), key=lambda kv: kv[0])
                   if k.startswith("InstanceId.")]
            if len(ids) > 50:
                raise ApiError(400, "InvalidParameterValue", "fake: at most 50 ids per call")
            for i in ids:
                if i not in S.instances:
                    raise ApiError(400, "InvalidInstanceID.NotFound",
                                   "The instance ID '%s' does not exist" % i)
            if action == "StopInstances" and p.get("Hibernate") == "true":
                for i in ids:
                    if not S.instances[i].get("hibernation"):
                        raise ApiError(400, "UnsupportedHibernationConfiguration",
                                       "For hibernation, the instance %s must be configured "
                                       "for hibernation" % i)
            items = ""
            for i in ids:
                inst = S.instances[i]
                prev = inst["state"]
                if action == "StartInstances" and prev in ("stopped", "stopping"):
                    inst["state"], inst["until"] = "pending", now() + inst.get("delay", 0)
                elif action == "StopInstances" and prev in ("running", "pending"):
                    inst["state"], inst["until"] = "stopping", now() + inst.get("delay", 0)
                items += ("<item><instanceId>%s</instanceId><currentState><code>%d</code>"
                          "<name>%s</name></currentState><previousState><code>%d</code>"
                          "<name>%s</name></previousState></item>") % (
                    i, EC2_CODES[inst["state"]], inst["state"], EC2_CODES[prev], prev)
            tag = action.replace("Instances", "InstancesResponse")
            return "<%s xmlns=\"%s\"><requestId>%s</requestId><instancesSet>%s</instancesSet></%s>" % (
                tag, EC2_NS, new_id("req-", 8), items, tag)
    raise ApiError(400, "InvalidAction", "The action %s is not valid for this web service." % action)


# ---------------------------------------------------------------- sts


def issue_temp(expires_in=3600):
    ak = "ASIA" + new_id("", 16).upper()
    sk = new_id("", 40)
    tok = "FQoG" + new_id("", 60)
    with LOCK:
        S.keys[ak] = {"secret": sk, "token": tok, "expires": now() + expires_in}
    return ak, sk, tok, now() + expires_in


def sts(action, p, access_key):
    if action == "GetCallerIdentity":
        return ("<GetCallerIdentityResponse xmlns=\"%s\"><GetCallerIdentityResult>"
                "<Arn>arn:aws:iam::%s:user/%s</Arn><UserId>%s</UserId><Account>%s</Account>"
                "</GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId>"
                "</ResponseMetadata></GetCallerIdentityResponse>") % (
            STS_NS, S.account, esc(access_key or "anonymous"), esc(access_key or ""), S.account,
            new_id("req-", 8))
    if action in ("AssumeRole", "AssumeRoleWithWebIdentity"):
        if not p.get("RoleArn") or not p.get("RoleSessionName"):
            raise ApiError(400, "ValidationError", "RoleArn and RoleSessionName are required")
        if action == "AssumeRoleWithWebIdentity" and not p.get("WebIdentityToken"):
            raise ApiError(400, "ValidationError", "WebIdentityToken is required")
        ak, sk, tok, exp = issue_temp(int(p.get("DurationSeconds", "3600")))
        return ("<{a}Response xmlns=\"{ns}\"><{a}Result><Credentials>"
                "<AccessKeyId>{ak}</AccessKeyId><SecretAccessKey>{sk}</SecretAccessKey>"
                "<SessionToken>{tok}</SessionToken><Expiration>{exp}</Expiration>"
                "</Credentials><AssumedRoleUser><Arn>{arn}/{sn}</Arn>"
                "<AssumedRoleId>AROA:{sn}</AssumedRoleId></AssumedRoleUser></{a}Result>"
                "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{a}Response>"
                ).format(a=action, ns=STS_NS, ak=ak, sk=sk, tok=tok, exp=iso(exp)[:-5] + "Z",
                         arn=esc(p["RoleArn"]), sn=esc(p["RoleSessionName"]))
    raise ApiError(400, "InvalidAction", "Could not find operation %s" % action)


# ---------------------------------------------------------------- sigv4


def _q(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


def verify_sigv4(method, path, query, headers, body):
    """Returns (access_key, None) or (access_key, ApiError)."""
    auth = headers.get("authorization")
    if not auth:
        return None, None
    try:
        algo, rest = auth.split(" ", 1)
        fields = dict(x.strip().split("=", 1) for x in rest.split(","))
        cred = fields["Credential"].split("/")
        ak, date, region, service = cred[0], cred[1], cred[2], cred[3]
        signed = fields["SignedHeaders"].split(";")
        sig = fields["Signature"]
    except Exception:
        return None, ApiError(400, "IncompleteSignature", "malformed Authorization header")
    with LOCK:
        key = S.keys.get(ak)
    if not key:
        return ak, ApiError(403, "InvalidClientTokenId",
                            "The security token included in the request is invalid.")
    if key["token"] and headers.get("x-amz-security-token") != key["token"]:
        return ak, ApiError(403, "InvalidClientTokenId",
                            "The security token included in the request is invalid.")
    if key["expires"] and now() > key["expires"]:
        return ak, ApiError(403, "ExpiredToken", "The security token included in the request is "
                            "expired")
    pairs = sorted((_q(urllib.parse.unquote(k)), _q(urllib.parse.unquote(v)))
                   for k, v in (kv.split("=", 1) if "=" in kv else (kv, "")
                                for kv in query.split("&") if kv))
    creq = "\n".join([
        method, _q(path, safe="/-_.~"), "&".join("%s=%s" % kv for kv in pairs),
        "".join("%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed),
        ";".join(signed), hashlib.sha256(body).hexdigest()])
    amz_date = headers.get("x-amz-date", "")
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts_ = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                      hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + key["secret"]).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts_.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig) or algo != "AWS4-HMAC-SHA256":
        return ak, ApiError(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature "
                            "you provided.")
    return ak, None


# ---------------------------------------------------------------- http


def error_body(service, status, code, message, json_proto=False):
    if service == "ecr" or json_proto:
        return "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message})
    if service == "ec2":
        return "text/xml", ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>"
                            "<Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s"
                            "</RequestID></Response>") % (esc(code), esc(message),
                                                          new_id("req-", 8))
    return "text/xml", ("<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>%s</Code>"
                        "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
                        ) % (STS_NS if service == "sts" else CFN_NS,
                             "Receiver" if status >= 500 else "Sender", esc(code), esc(message),
                             new_id("req-", 8))


DEFAULT_CODES = {400: "Throttling", 429: "TooManyRequestsException", 500: "InternalFailure",
                 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


def take_fault(service, action, region=None, params=None):
    with LOCK:
        for r in S.faults:
            m = r.get("match", "*")
            if r.get("region") and r["region"] != region:
                continue
            if any((params or {}).get(k) != v for k, v in (r.get("params") or {}).items()):
                continue
            if r.get("count", 0) > 0 and m in ("*", service, action):
                r["count"] -= 1
                return dict(r)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-aws/1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, ctype, body, extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", new_id("", 32))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---- control, IMDS, ECS
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_fake/health":
            return self.send(200, "application/json", '{"ok": true}')
        if path == "/_fake/requests":
            with LOCK:
                return self.send(200, "application/json", json.dumps(S.requests))
        if path == "/_fake/stacks":
            with LOCK:
                live = {}
                for st in S.stacks:
                    advance(st)
                    if st["status"] != "DELETE_COMPLETE":
                        live[st["name"]] = st["status"]
                return self.send(200, "application/json", json.dumps(live))
        if path.startswith("/latest/meta-data/iam/security-credentials"):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            if tok not in S.imds_tokens:
                return self.send(401, "text/plain", "")
            role = path[len("/latest/meta-data/iam/security-credentials"):].strip("/")
            if not role:
                return self.send(200, "text/plain", S.imds_role)
            if role != S.imds_role:
                return self.send(404, "text/plain", "")
            return self.send(200, "application/json", json.dumps(self.served("Token")))
        if path == "/ecs/creds":
            if self.headers.get("Authorization") != S.ecs_token:
                return self.send(401, "application/json", '{"message":"unauthorized"}')
            return self.send(200, "application/json", json.dumps(self.served("Token")))
        self.send(404, "text/plain", "not found")

    def served(self, token_name):
        c = S.served_creds
        if not c:
            ak, sk, tok, exp = issue_temp(3600)
        else:
            ak, sk, tok, exp = issue_temp(c.get("expires_in", 3600))
        return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": ak,
                "SecretAccessKey": sk, token_name: tok, "Expiration": iso(exp)[:-5] + "Z",
                "LastUpdated": iso(now())[:-5] + "Z"}

    def do_PUT(self):
        self.read_body()
        if self.path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.send(400, "text/plain", "")
            tok = new_id("imds-", 24)
            with LOCK:
                S.imds_tokens.add(tok)
            return self.send(200, "text/plain", tok)
        self.send(404, "text/plain", "")

    def control(self, path, body):
        try:
            d = json.loads(body or b"{}")
        except ValueError:
            return self.send(400, "application/json", '{"error": "bad json"}')
        with LOCK:
            if path == "/_fake/reset":
                S.reset()
            elif path == "/_fake/stack":
                st = new_stack(d["name"], d.get("status", "CREATE_COMPLETE"),
                               d.get("parameters"), d.get("outputs"), d.get("tags"),
                               d.get("reason", ""))
                t = now() - 60
                add_event(st, st["name"], "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS",
                          "User Initiated", t)
                for i, e in enumerate(d.get("events", [])):
                    add_event(st, e.get("logical_id", "R"), e.get("type", "AWS::S3::Bucket"),
                              e["status"], e.get("reason", ""), t + 1 + i)
                add_event(st, st["name"], "AWS::CloudFormation::Stack", st["status"], "",
                          t + 50)
                return self.send(200, "application/json", json.dumps({"id": st["id"]}))
            elif path == "/_fake/behavior":
                S.behaviors[d["stack"]] = d
            elif path == "/_fake/images":
                repo = S.repos.setdefault(d["repository"], [])
                for im in d.get("images", []):
                    repo.append({"digest": im.get("digest") or "sha256:" + new_id("", 64),
                                 "tags": list(im.get("tags", [])),
                                 "pushed_at": float(im["pushed_at"])})
                n = int(d.get("generate", 0))
                start, step = float(d.get("start", 1700000000)), float(d.get("step", 60))
                fmt = d.get("tag_fmt", "b{i}")
                gen = [{"digest": "sha256:%064x" % (len(repo) + i + 1),
                        "tags": [fmt.format(i=i)], "pushed_at": start + i * step}
                       for i in range(n)]
                if gen and d.get("latest_on_newest"):
                    gen[-1]["tags"].insert(0, "latest")
                random.Random(n).shuffle(gen)
                repo.extend(gen)
            elif path == "/_fake/instances":
                for i in d.get("instances", []):
                    S.instances[i["id"]] = {"id": i["id"], "state": i.get("state", "stopped"),
                                            "type": i.get("type", "t3.micro"),
                                            "tags": dict(i.get("tags", {})), "launch": now(),
                                            "delay": float(i.get("delay", 0)), "until": None,
                                            "hibernation": bool(i.get("hibernation")),
                                            "fail_start": i.get("fail_start"),
                                            "reason": None}
            elif path == "/_fake/faults":
                if d.get("clear"):
                    S.faults = []
                S.faults.extend(d.get("rules", []))
            elif path == "/_fake/expire":
                for k in S.keys.values():
                    if k.get("token"):
                        k["expires"] = now() - 1
            elif path == "/_fake/credentials":
                if d.get("access_key"):
                    exp = now() + d["expires_in"] if d.get("expires_in") is not None else None
                    S.keys[d["access_key"]] = {"secret": d["secret"], "token": d.get("token"),
                                               "expires": exp}
                if d.get("serve_expires_in") is not None:
                    S.served_creds = {"expires_in": d["serve_expires_in"]}
            elif path == "/_fake/throttle":
                S.rate = float(d.get("rate", 0))
                S.latency = float(d.get("latency", 0))
                S.tokens, S.tokens_at = S.rate, time.monotonic()
            elif path == "/_fake/config":
                S.imds_role = d.get("imds_role", S.imds_role)
                S.ecs_token = d.get("ecs_token", S.ecs_token)
                S.account = d.get("account", S.account)
            else:
                return self.send(404, "application/json", '{"error": "unknown control"}')
        return self.send(200, "application/json", '{"ok": true}')

    def do_POST(self):
        parts = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if parts.path.startswith("/_fake/"):
            return self.control(parts.path, body)
        headers = {k.lower(): v for k, v in self.headers.items()}
        target = headers.get("x-amz-target", "")
        params, jbody, action = {}, None, ""
        if target:
            action = target.split(".")[-1]
            try:
                jbody = json.loads(body or b"{}")
            except ValueError:
                return self.send(400, "application/x-amz-json-1.1",
                                 json.dumps({"__type": "SerializationException",
                                             "message": "bad json"}))
        else:
            params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                                 keep_blank_values=True))
            action = params.get("Action", "")
        scope_service = scope_region = scope_key = None
        m = headers.get("authorization", "")
        if "Credential=" in m:
            try:
                scope = m.split("Credential=")[1].split(",")[0].split("/")
                scope_key, scope_region, scope_service = scope[0], scope[2], scope[3]
            except IndexError:
                scope_service = None
        forward = PROXY or (UPSTREAM is not None and scope_service not in NATIVE and
                            not target.startswith("AmazonEC2ContainerRegistry") and
                            action not in ("AssumeRoleWithWebIdentity", "GetCallerIdentity",
                                           "AssumeRole"))
        if forward:
            service = scope_service or "unknown"
        elif target.startswith("AmazonEC2ContainerRegistry"):
            service = "ecr"
        elif scope_service in ("cloudformation", "ec2", "sts", "ecr"):
            service = scope_service
        elif action in ("AssumeRoleWithWebIdentity", "GetCallerIdentity", "AssumeRole"):
            service = "sts"
        elif params.get("Version") == "2016-11-15":
            service = "ec2"
        else:
            service = "cloudformation"
        if PROXY:
            access_key, err = scope_key, None  # moto checks what it issued
        else:
            access_key, err = verify_sigv4("POST", parts.path or "/", parts.query, headers,
                                           body)
        if err is None and access_key is None and action != "AssumeRoleWithWebIdentity":
            err = ApiError(403, "MissingAuthenticationToken" if service != "ecr" else
                           "MissingAuthenticationTokenException", "Missing Authentication Token")
        if err is None and over_rate():
            err = ApiError(400, "Throttling", "Rate exceeded")
        with LOCK:
            latency = S.latency
            S.requests.append({"service": service, "action": action, "params": params,
                               "target": target, "json": jbody, "signed": access_key is not None,
                               "access_key": access_key, "time": now(),
                               "error": err.code if err else None, "forwarded": forward,
                               "region": scope_region})
        ctype = "application/x-amz-json-1.1" if service == "ecr" else "text/xml"
        if latency:
            time.sleep(latency)
        jp = bool(target) and service != "ecr"
        if err:
            ct, b = error_body(service, err.status, err.code, err.message, jp)
            return self.send(err.status, ct, b)
        fault = take_fault(service, action, scope_region, params)
        if fault:
            kind = fault.get("kind", "error")
            if kind == "reset":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if kind == "delay":
                time.sleep(float(fault.get("seconds", 1)))
            elif kind == "error":
                st = int(fault.get("status", 400))
                code = fault.get("code") or DEFAULT_CODES.get(st, "InternalFailure")
                ct, b = error_body(service, st, code, fault.get("message", "injected " + code),
                                   jp)
                return self.send(st, ct, b)
            elif kind == "garbage":
                return self.send(200, ctype, "<<<this is not a response")
        status = 200
        try:
            if forward:
                status, ctype, out = self.forward(body)
            elif service == "cloudformation":
                out = cfn(action, params)
            elif service == "ecr":
                out = ecr(action, jbody)
            elif service == "ec2":
                out = ec2(action, params)
            else:
                out = sts(action, params, access_key)
        except ApiError as e:
            ct, b = error_body(service, e.status, e.code, e.message)
            return self.send(e.status, ct, b)
        if fault and fault.get("kind") == "rewrite":
            out = re.sub(fault["pattern"], fault.get("replace", ""), out)
        if fault and fault.get("kind") == "truncate":
            out = out[:len(out) // 2]
        if fault and fault.get("kind") == "huge":
            pad = int(fault.get("bytes", 20 << 20))
            out = out + " " * pad if service != "ecr" else out[:-1] + ', "pad": "' + "x" * pad + '"}'
        self.send(status, ctype, out)

    def forward(self, body):
        """The request as it came (headers, signature, body) to the upstream;
        its status, content type and body (text)."""
        conn = http.client.HTTPConnection(UPSTREAM[0], UPSTREAM[1], timeout=60)
        try:
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in ("connection", "keep-alive", "transfer-encoding")}
            conn.request("POST", self.path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
            return r.status, r.getheader("Content-Type", "text/xml"), data
        finally:
            conn.close()


class Server(ThreadingHTTPServer):
    # dozens of clients connect at once; the default backlog of 5 would
    # drop SYNs and add seconds of retransmission
    request_queue_size = 256
    daemon_threads = True


def main():
    global UPSTREAM, PROXY
    if "--proxy" in sys.argv:
        PROXY = True
        sys.argv.remove("--proxy")
    if "--upstream" in sys.argv:
        i = sys.argv.index("--upstream")
        u = urllib.parse.urlsplit(sys.argv[i + 1])
        UPSTREAM = (u.hostname, u.port or 80)
        del sys.argv[i:i + 2]
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) == 5 and sys.argv[2] == "--tls":
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        # a refused handshake raises in accept(): socketserver drops that
        # connection (OSError) and goes on serving
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
