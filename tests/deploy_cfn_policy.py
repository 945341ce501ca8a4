"""What envbot's IAM role may actually do, per deploy/cloudformation/envbot.yaml.

cfn-lint checks the template's shape, not the meaning of its policies (and it
cannot look inside the JSON-string policy). This test evaluates the template
for given parameters with a small interpreter of the intrinsics it uses
(Ref, Sub, If, Join, Split, Select, conditions, Fn::ForEach), collects every
statement attached to the role and checks least privilege:
  - no action wildcards; "*" resources only for sts:GetCallerIdentity and
    ec2:DescribeInstances (which IAM cannot scope);
  - CloudFormation create/delete/describe only on the configured stacks'
    ARNs, CreateStack only with the service role when one is configured;
  - iam:PassRole only for the service role, only to CloudFormation;
  - ecr:DescribeImages only on the configured repositories;
  - ec2 start/stop only on instances carrying the configured tag;
  - Auto Scaling groups, ECS services, RDS instances and clusters changed
    only by name (their ARNs) or, tag-selected, only when carrying the tag;
  - without a value for an option, its permissions are absent.
usage: deploy_cfn_policy.py   (cwd: source root; needs PyYAML)
"""
import json
import re
import sys

import yaml

TEMPLATE = "deploy/cloudformation/envbot.yaml"
SPOKE_TEMPLATE = "deploy/cloudformation/envbot-spoke.yaml"
REGION, ACCOUNT = "ap-northeast-2", "123456789012"
NOVALUE = object()
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


# ---- loading: short-form tags become the long form
class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


Loader.add_multi_constructor("!", _tag)


# ---- evaluation
class Evaluator:
    def __init__(self, template, params):
        self.t = template
        self.params = {}
        for name, p in template["Parameters"].items():
            v = params.get(name, p.get("Default", ""))
            if p["Type"] == "CommaDelimitedList":
                v = v.split(",") if isinstance(v, str) else v
            self.params[name] = v
        self.conds = {}

    def ref(self, name):
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION,
                  "AWS::AccountId": ACCOUNT, "AWS::StackName": "envbot"}
        if name == "AWS::NoValue":
            return NOVALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        return "<" + name + ">"  # a resource's Ref

    def cond(self, name):
        if name not in self.conds:
            self.conds[name] = self.ev(self.t["Conditions"][name])
        return self.conds[name]

    def sub(self, text, extra):
        def repl(m):
            key = m.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in extra:
                return str(extra[key])
            if "." in key:
                return "<" + key + ">"
            v = self.ref(key)
            assert isinstance(v, str), f"${{{key}}} is not a string"
            return v
        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def ev(self, n):
        if isinstance(n, list):
            return [v for v in (self.ev(x) for x in n) if v is not NOVALUE]
        if not isinstance(n, dict):
            return n
        if len(n) == 1:
            (k, v), = n.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Condition":
                return self.cond(v)
            if k == "Fn::Sub":
                if isinstance(v, str):
                    return self.sub(v, {})
                return self.sub(v[0], {a: self.ev(b) for a, b in v[1].items()})
            if k == "Fn::If":
                return self.ev(v[1] if self.cond(v[0]) else v[2])
            if k == "Fn::Join":
                return v[0].join(self.ev(v[1]))
            if k == "Fn::Split":
                return self.ev(v[1]).split(v[0])
            if k == "Fn::Select":
                return self.ev(v[1])[int(self.ev(v[0]))]
            if k == "Fn::Equals":
                return self.ev(v[0]) == self.ev(v[1])
            if k == "Fn::Not":
                return not self.ev(v[0])
            if k == "Fn::And":
                return all(self.ev(x) for x in v)
            if k == "Fn::Or":
                return any(self.ev(x) for x in v)
            if k == "Fn::GetAtt":
                return "<" + ".".join(v) + ">"
            if k == "Fn::Base64":
                return self.ev(v)  # kept readable for inspection
        return {k: e for k, e in ((k, self.ev(x)) for k, x in n.items()) if e is not NOVALUE}


def replace_ident(node, ident, value):
    if isinstance(node, str):
        return node.replace("${" + ident + "}", value).replace(
            "&{" + ident + "}", re.sub(r"[^A-Za-z0-9]", "", value))
    if isinstance(node, list):
        return [replace_ident(x, ident, value) for x in node]
    if isinstance(node, dict):
        return {replace_ident(k, ident, value): replace_ident(v, ident, value)
                for k, v in node.items()}
    return node


def resources(ev):
    """The Resources section with Fn::ForEach expanded and conditions applied."""
    out = {}
    for key, val in ev.t["Resources"].items():
        if key.startswith("Fn::ForEach::"):
            ident, coll, frag = val
            for item in ev.ev(coll):
                for k, v in replace_ident(frag, ident, item).items():
                    assert k not in out, f"duplicate logical id {k}"
                    out[k] = v
        else:
            out[key] = val
    return {k: v for k, v in out.items() if "Condition" not in v or ev.cond(v["Condition"])}


def role_statements(params):
    template = yaml.load(open(TEMPLATE, encoding="utf-8"), Loader=Loader)
    ev = Evaluator(template, params)
    res = resources(ev)
    docs = []
    role = ev.ev(res["EnvbotRole"]["Properties"])
    docs += [p["PolicyDocument"] for p in role.get("Policies", [])]
    for name, r in res.items():
        if r["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            props = ev.ev(r["Properties"])
            check(props.get("RoleName") == "<EnvbotRole>", f"{name} is attached to EnvbotRole")
            docs.append(props["PolicyDocument"])
    stmts = []
    for d in docs:
        if isinstance(d, str):
            d = json.loads(d)  # the JSON-string policy must parse
        check(d.get("Version") == "2012-10-17", "policy Version 2012-10-17")
        for s in d["Statement"]:
            check(set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"},
                  f"statement keys {sorted(s)}")
            check(s["Effect"] == "Allow", "only Allow statements")
            check(re.fullmatch(r"[A-Za-z0-9]*", s.get("Sid", "")) is not None,
                  f"Sid is alphanumeric: {s.get('Sid')}")
            acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            rsrc = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            stmts.append((acts, rsrc, s.get("Condition")))
    return stmts, res, ev


def grants(stmts, action):
    """[(resource, condition)] for an action."""
    return [(r, c) for acts, rs, c in stmts if action in acts for r in rs]


STACK_ACTIONS = ["cloudformation:CreateStack", "cloudformation:DeleteStack",
                 "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"]
SERVICE_ROLE = "arn:aws:iam::123456789012:role/cfn-service-role"


# Reads IAM accepts only on "*" (the last four: listing to read tags, only
# with a tag selection).
UNSCOPABLE_READS = {"sts:GetCallerIdentity", "ec2:DescribeInstances", "ec2:DescribeRegions",
                    "autoscaling:DescribeAutoScalingGroups",
                    "application-autoscaling:DescribeScalableTargets", "ecs:ListServices",
                    "ecs:DescribeServices", "rds:DescribeDBInstances", "rds:DescribeDBClusters",
                    "ce:GetCostAndUsage"}
SCALING = ["autoscaling:UpdateAutoScalingGroup", "autoscaling:SuspendProcesses",
           "autoscaling:ResumeProcesses"]
RDS_DB = ["rds:StartDBInstance", "rds:StopDBInstance"]
RDS_CLUSTER = ["rds:StartDBCluster", "rds:StopDBCluster"]


def common(stmts, label):
    for acts, rs, _ in stmts:
        for a in acts:
            check("*" not in a, f"{label}: no wildcard action ({a})")
        if "*" in rs:
            check(set(acts) <= UNSCOPABLE_READS,
                  f"{label}: '*' resource only for unscopable reads, not {acts}")
    check(grants(stmts, "sts:GetCallerIdentity") == [("*", None)], f"{label}: sts identity")
    check(grants(stmts, "ec2:DescribeInstances") == [("*", None)], f"{label}: describe instances")


# ---- every option set
full = {
    "StackNames": "ChatAppMasterStack,qa-stack",
    "CfnServiceRoleArn": SERVICE_ROLE,
    "TemplateBucket": "example-bucket",
    "EcrRepositoryNames": "chat-chat-http,team/api",
    "Ec2TagKey": "AutoStopStart",
    "Ec2TagValue": "Yes",
    "AutoScalingGroupNames": "chat-ecs-asg",
    "EcsServices": "chat/chat-http,chat/chat-ws",
    "RdsInstanceIds": "chat-pg",
    "RdsClusterIds": "chat-docdb",
    "ResourceTagKey": "envbot:env",
    "ResourceTagValue": "staging",
    "CreateHost": "true",
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetId": "subnet-0123456789abcdef0",
    "ReleaseS3Uri": "s3://rel-bucket/envbot/envbot-arm64.tar.gz",
    "ConfigS3Uri": "s3://cfg-bucket/envbot.cfg",
    "SpokeRoleArns": "arn:aws:iam::222222222222:role/envbot-spoke,"
                     "arn:aws:iam::333333333333:role/envbot-spoke",
}
stmts, res, ev = role_statements(full)
common(stmts, "full")
arn = "arn:aws:cloudformation:%s:%s:stack/%%s/*" % (REGION, ACCOUNT)
want = {arn % "ChatAppMasterStack", arn % "qa-stack"}
for a in STACK_ACTIONS:
    got = grants(stmts, a)
    check({r for r, _ in got} == want, f"{a} exactly on the two stacks: {got}")
for r, c in grants(stmts, "cloudformation:CreateStack"):
    check(c == {"StringEquals": {"cloudformation:RoleArn": SERVICE_ROLE}},
          f"CreateStack requires the service role: {c}")
check(not [1 for acts, _, _ in stmts for a in acts
           if a.startswith("cloudformation:") and a not in STACK_ACTIONS],
      "no other CloudFormation action")
check(grants(stmts, "iam:PassRole") ==
      [(SERVICE_ROLE, {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}})],
      "PassRole only the service role, only to CloudFormation")
check({r for r, _ in grants(stmts, "ecr:DescribeImages")} ==
      {f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/chat-chat-http",
       f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/api"},
      "DescribeImages exactly on the two repositories")
for a in ("ec2:StartInstances", "ec2:StopInstances"):
    got = grants(stmts, a)
    check(got == [(f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*",
                   {"StringEquals": {"aws:ResourceTag/AutoStopStart": "Yes"}})],
          f"{a} only with the tag condition: {got}")
check(grants(stmts, "s3:GetObject") and
      {r for r, _ in grants(stmts, "s3:GetObject")} ==
      {"arn:aws:s3:::example-bucket/*", "arn:aws:s3:::rel-bucket/envbot/envbot-arm64.tar.gz",
       "arn:aws:s3:::cfg-bucket/envbot.cfg"},
      "s3:GetObject: the template bucket, the release and the config object")
check(grants(stmts, "ssm:GetParameter") ==
      [(f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/envbot/discord-token", None)],
      "ssm:GetParameter only the token parameter")
TAG_COND = {"StringEquals": {"aws:ResourceTag/envbot:env": "staging"}}
ASG_ARN = f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/%s"
ECS_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/%s"
DB_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:%s"
CL_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:%s"
for a in SCALING:
    check(sorted(map(str, grants(stmts, a))) == sorted(map(str, [
        (ASG_ARN % "chat-ecs-asg", None), (ASG_ARN % "*", TAG_COND)])),
        f"{a}: the named group, or any carrying the tag: {grants(stmts, a)}")
check(sorted(map(str, grants(stmts, "ecs:UpdateService"))) == sorted(map(str, [
    (ECS_ARN % "chat/chat-http", None), (ECS_ARN % "chat/chat-ws", None),
    (ECS_ARN % "*", TAG_COND)])), f"ecs:UpdateService: the named services or tagged ones")
for a, arn_of, name in [(x, DB_ARN, "chat-pg") for x in RDS_DB] + \
        [(x, CL_ARN, "chat-docdb") for x in RDS_CLUSTER]:
    check(sorted(map(str, grants(stmts, a))) == sorted(map(str, [
        (arn_of % name, None), (arn_of % "*", TAG_COND)])),
        f"{a}: the named one or tagged ones: {grants(stmts, a)}")
check(grants(stmts, "application-autoscaling:RegisterScalableTarget") ==
      [(f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*", None)],
      "RegisterScalableTarget on this account's and region's scalable targets only")
for acts, rs, c in stmts:
    changes = set(acts) & set(SCALING + RDS_DB + RDS_CLUSTER + ["ecs:UpdateService"])
    if changes:
        check("*" not in rs and all(r.endswith("/*") or r.endswith(":*") for r in rs) == (c ==
              TAG_COND), f"changes by wildcard ARN only under the tag condition: {acts} {rs}")
all_actions = {a for acts, _, _ in stmts for a in acts}
check(all_actions == set(STACK_ACTIONS) | set(SCALING) | set(RDS_DB) | set(RDS_CLUSTER) | {
    "sts:GetCallerIdentity", "ec2:DescribeInstances", "ec2:DescribeRegions", "iam:PassRole",
    "s3:GetObject", "sts:AssumeRole", "ecr:DescribeImages", "ec2:StartInstances", "ec2:StopInstances", "ssm:GetParameter",
    "autoscaling:DescribeAutoScalingGroups", "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget", "ecs:ListServices",
    "ecs:DescribeServices", "ecs:UpdateService", "rds:DescribeDBInstances",
    "rds:DescribeDBClusters"},
    f"no action beyond the list: {sorted(all_actions)}")



# The host: IMDSv2 only, the unit installed from the release, no `set -x`.
check(sorted(grants(stmts, "sts:AssumeRole")) == [
    ("arn:aws:iam::222222222222:role/envbot-spoke", None),
    ("arn:aws:iam::333333333333:role/envbot-spoke", None)],
    f"sts:AssumeRole exactly on the spoke roles: {grants(stmts, 'sts:AssumeRole')}")
check("Host" in res and "EnvbotInstanceProfile" in res, "host created with CreateHost=true")
lt = ev.ev(res["HostLaunchTemplate"]["Properties"])["LaunchTemplateData"]
check(lt["MetadataOptions"]["HttpTokens"] == "required", "IMDSv2 required")
check(lt["InstanceType"] == "t4g.nano", "t4g.nano by default")
ud = lt["UserData"]
check("set -x" not in ud and "set -euo pipefail" in ud, "user data fails fast, never traces")
check("/etc/systemd/system/envbot.service" in ud and "systemctl enable --now envbot" in ud,
      "user data installs and starts the unit")
check("s3://rel-bucket/envbot/envbot-arm64.tar.gz" in ud and "/envbot/discord-token" in ud,
      "user data uses the parameters")
runtime = open("deploy/install-deps.sh", encoding="utf-8").read()
rt = re.search(r'^RUNTIME_PKGS="([^"]*)"', runtime, re.M).group(1).split()
check(all(p in ud for p in rt), "user data installs every runtime package of install-deps.sh")

# ---- names only, no tag: nothing of the new kinds on a wildcard ARN
stmts, _, _ = role_statements({"AutoScalingGroupNames": "a1", "RdsClusterIds": "docdb"})
common(stmts, "names")
check(grants(stmts, "autoscaling:UpdateAutoScalingGroup") == [(ASG_ARN % "a1", None)],
      "one named group only")
check(grants(stmts, "rds:StopDBCluster") == [(CL_ARN % "docdb", None)], "one cluster only")
check(grants(stmts, "ecs:UpdateService") == [] and grants(stmts, "rds:StopDBInstance") == [],
      "no ECS or DB instance permission when none is configured")
check(grants(stmts, "ecs:ListServices") == [], "no listing without a tag selection")

# ---- events out and the report: publish only to the named topics and buses
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:envbot"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
stmts, _, _ = role_statements({"NotifyTopicArns": TOPIC + "," + TOPIC + ".fifo",
                               "NotifyEventBusArns": BUS, "CostExplorer": "true"})
common(stmts, "notify")
check(sorted(grants(stmts, "sns:Publish")) == [(TOPIC, None), (TOPIC + ".fifo", None)],
      f"sns:Publish exactly on the two topics: {grants(stmts, 'sns:Publish')}")
check(grants(stmts, "events:PutEvents") == [(BUS, None)],
      f"events:PutEvents exactly on the bus: {grants(stmts, 'events:PutEvents')}")
check(grants(stmts, "ce:GetCostAndUsage") == [("*", None)], "Cost Explorer when asked")
check({a for acts, _, _ in stmts for a in acts} ==
      {"sts:GetCallerIdentity", "ec2:DescribeInstances", "ec2:DescribeRegions", "sns:Publish",
       "events:PutEvents", "ce:GetCostAndUsage"}, "notify adds nothing else")

# ---- nothing configured: only the two unscopable reads remain
stmts, res, _ = role_statements({})
common(stmts, "empty")
check({a for acts, _, _ in stmts for a in acts} ==
      {"sts:GetCallerIdentity", "ec2:DescribeInstances", "ec2:DescribeRegions"},
      f"empty configuration grants only the reads: {stmts}")
check(grants(stmts, "sts:AssumeRole") == [], "no AssumeRole without spoke roles")
check(not grants(stmts, "sns:Publish") and not grants(stmts, "events:PutEvents") and
      not grants(stmts, "ce:GetCostAndUsage"), "no events out or Cost Explorer by default")
check("Host" not in res and "Ec2TagPolicy" not in res, "no host, no tag policy by default")
check("EnvbotInstanceProfile" in res, "the instance profile exists without the host too")

# ---- stacks without a service role: CreateStack has no RoleArn condition and
# PassRole is absent.
stmts, _, _ = role_statements({"StackNames": "dev"})
check(grants(stmts, "iam:PassRole") == [], "no PassRole without a service role")
check(grants(stmts, "cloudformation:CreateStack") == [(arn % "dev", None)],
      "CreateStack on the one stack")

# ---- the spoke role (envbot-spoke.yaml): trusted by the hub role only, with
# the external id; changes only on tagged resources, in any region.
spoke_t = yaml.load(open(SPOKE_TEMPLATE, encoding="utf-8"), Loader=Loader)
check("Transform" not in spoke_t, "spoke: no transform (a StackSet deploys it as is)")
sev = Evaluator(spoke_t, {"HubRoleArn": "arn:aws:iam::123456789012:role/envbot",
                          "ExternalId": "envbot-test"})
sres = resources(sev)
srole = sev.ev(sres["SpokeRole"]["Properties"])
trust = srole["AssumeRolePolicyDocument"]["Statement"]
check(trust == [{"Sid": "OnlyEnvbotWithTheExternalId", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::123456789012:role/envbot"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"sts:ExternalId": "envbot-test"}}}],
      f"spoke: only the hub role, only with the external id: {trust}")
sdocs = [p["PolicyDocument"] for p in srole.get("Policies", [])]
sdocs.append(json.loads(sev.ev(sres["SpokeTagPolicy"]["Properties"])["PolicyDocument"]))
sstmts = []
for d in sdocs:
    for st in d["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        rsrc = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        check(st["Effect"] == "Allow", "spoke: only Allow statements")
        sstmts.append((acts, rsrc, st.get("Condition")))
common(sstmts, "spoke")
SPOKE_TAG = {"StringEquals": {"aws:ResourceTag/AutoStopStart": "Yes"}}
for acts, rs, c in sstmts:
    changes = set(acts) & set(SCALING + RDS_DB + RDS_CLUSTER +
                              ["ecs:UpdateService", "ec2:StartInstances", "ec2:StopInstances"])
    if changes:
        check(c == SPOKE_TAG and "*" not in rs, f"spoke: {sorted(changes)} only on tagged "
              f"resources: {rs} {c}")
check(grants(sstmts, "ec2:DescribeRegions") == [("*", None)], "spoke: DescribeRegions")
check(not [a for acts, _, _ in sstmts for a in acts if a.startswith("cloudformation:") or
           a.startswith("iam:") or a == "sts:AssumeRole"],
      "spoke: no stack, IAM or further AssumeRole permission")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
