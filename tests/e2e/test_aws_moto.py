#!/usr/bin/env python3
"""The AWS module against moto with signature checking ON: moto's first 3
actions are unauthenticated (they create an IAM user, its admin policy and
its access key); from then on every request must carry a valid SigV4
signature by a key moto's IAM knows. A wrong signature must be refused, ours
must pass for every call envbot makes (STS, CloudFormation create /
describe / events / delete, ECR with more than 1000 images, EC2 by tag,
start, stop, an AssumeRole profile), and `envbot status` / `envbot tags`
must print the right answers.

Usage: test_aws_moto.py ENVBOT_BINARY PROBE_BINARY
Exit 77 (skipped) only when moto is not installed."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REGION = "ap-northeast-2"
failures = []


def check(cond, what, detail=""):
    if cond:
        print("ok   ", what)
    else:
        print("FAIL ", what, detail)
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError:
        print("SKIP: moto/boto3 are not installed for %s" % sys.executable)
        return 77
    envbot, probe = sys.argv[1], sys.argv[2]
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    tmp = tempfile.mkdtemp(prefix="envbot-aws-moto-")
    menv = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3", MOTO_ALLOW_NONEXISTENT_REGION="1")
    log = open(os.path.join(tmp, "moto.log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=log, stderr=log, env=menv)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("moto did not start")
                    return 1
                time.sleep(0.1)
        return run(envbot, probe, url, tmp)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def run(envbot, probe, url, tmp):
    import boto3
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                    AWS_EC2_METADATA_DISABLED="true")

    def client(svc, ak="testing", sk="testing"):
        return boto3.client(svc, endpoint_url=url, region_name=REGION,
                            aws_access_key_id=ak, aws_secret_access_key=sk)

    # the three unauthenticated actions: user, admin policy, access key
    iam = client("iam")
    iam.create_user(UserName="envbot")
    iam.put_user_policy(UserName="envbot", PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="envbot")["AccessKey"]
    ak, sk = key["AccessKeyId"], key["SecretAccessKey"]

    env = dict(base_env, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)

    def p(*args, env_over=None):
        e = dict(env)
        e.update(env_over or {})
        r = subprocess.run([probe, url, REGION, *args], capture_output=True, text=True,
                           env=e, timeout=120)
        try:
            out = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
        except ValueError:
            out = {}
        if r.returncode not in (0, 4) and not env_over:
            print(r.stdout, r.stderr)
        return r.returncode, out

    # auth is on: a wrong signature and an unknown key are refused
    rc, out = p("identity", env_over={"AWS_SECRET_ACCESS_KEY": sk[:-1] + ("A" if sk[-1] != "A"
                                                                            else "B")})
    check(rc == 3 and out.get("code") == "SignatureDoesNotMatch",
          "moto refuses a wrong signature (exit 3, SignatureDoesNotMatch)", out)
    check(out.get("attempts") == 1, "auth errors are not retried", out)
    rc, out = p("identity", env_over={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN0000000000"})
    check(rc == 3 and out.get("code") == "InvalidClientTokenId",
          "moto refuses an unknown key (InvalidClientTokenId)", out)
    try:
        client("sts", ak, "wrong").get_caller_identity()
        check(False, "boto3 with a wrong secret is refused too (auth really on)")
    except Exception as e:  # botocore ClientError
        check("SignatureDoesNotMatch" in str(e), "boto3 with a wrong secret is refused too")

    rc, out = p("identity")
    check(rc == 0 and out.get("account") == "123456789012"
          and out.get("arn", "").endswith(":user/envbot"), "GetCallerIdentity signed by us", out)

    # seed with the real key (boto3 signs these)
    s3 = client("s3", ak, sk)
    s3.create_bucket(Bucket="envbot-templates",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="envbot-templates", Key="app.yaml", Body=TEMPLATE.encode())
    template_url = "https://envbot-templates.s3.amazonaws.com/app.yaml"

    ecr = client("ecr", ak, sk)
    ecr.create_repository(repositoryName="chat-chat-http")
    for i in range(1100):
        ecr.put_image(repositoryName="chat-chat-http", imageManifest=manifest(i),
                      imageTag="1.0.%d" % i)
    time.sleep(1.1)  # moto's imagePushedAt has whole seconds: make the newest unique
    newest_sha = "9f3c2a1"
    for t in ("latest", newest_sha):
        ecr.put_image(repositoryName="chat-chat-http", imageManifest=manifest(5000),
                      imageTag=t)

    ec2 = client("ec2", ak, sk)
    ami = ec2.describe_images()["Images"][0]["ImageId"]

    def launch(tags, n=1):
        r = ec2.run_instances(ImageId=ami, MinCount=n, MaxCount=n, InstanceType="t3.micro",
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": k, "Value": v} for k, v in tags]}])
        return [i["InstanceId"] for i in r["Instances"]]
    plain = launch([("AutoStopStart", "Yes"), ("Name", "qa-app")], 2)
    asg = launch([("AutoStopStart", "Yes"), ("Name", "qa-asg"),
                  ("aws:autoscaling:groupName", "qa-workers")])
    gone = launch([("AutoStopStart", "Yes")])
    ec2.terminate_instances(InstanceIds=gone)
    launch([("Name", "bystander")])

    # CloudFormation through our calls
    # No space in values here: moto's server checks signatures against the
    # form re-encoded by botocore (spaces as '+'), not the bytes received,
    # so our %20 (which real AWS verifies on the raw body) fails there.
    # Spaces are proved against fake_aws.py, which checks the raw bytes.
    params = ["APIServerImageTag=1.0.7", "ChatServerImageTag=1.0.7",
              "NotificationServerImageTag=1.0.7", "Environment=dev&b=c/\u00e9~*"]
    rc, out = p("create-stack", "ChatAppMasterStack", template_url, *params)
    check(rc == 0 and out.get("id", "").startswith("arn:aws:cloudformation:"),
          "CreateStack (parameters, capabilities, tags, token) accepted", out)
    stack_id = out.get("id", "")
    rc, out = p("describe-stack", "ChatAppMasterStack")
    check(rc == 0 and out.get("status") == "CREATE_COMPLETE", "DescribeStacks", out)
    check(out.get("parameters", {}).get("Environment") == "dev&b=c/\u00e9~*",
          "parameter values round-trip (&, =, /, UTF-8, ~, *)", out.get("parameters"))
    check(out.get("outputs", {}).get("ApiImageTag") == "1.0.7", "outputs decoded", out)
    got = client("cloudformation", ak, sk).describe_stacks(StackName="ChatAppMasterStack")
    st = got["Stacks"][0]
    # (moto does not keep Capabilities; fake_aws.py checks those)
    check({"Key": "managed-by", "Value": "envbot"} in st.get("Tags", []),
          "boto3 sees the stack tags we sent", st.get("Tags"))
    rc, out = p("failure", stack_id)
    check(rc == 0 and out.get("events", 0) >= 2 and out.get("summary") == "",
          "DescribeStackEvents: no failure in a completed create", out)
    rc, out = p("describe-stack", "NoSuchStack")
    check(rc == 4 and out.get("code") == "ValidationError", "missing stack: not found", out)

    # ECR: 1101 images, newest by push time, immutable tag preferred
    rc, out = p("newest", "chat-chat-http")
    check(rc == 0 and out.get("tag") == newest_sha and out.get("rule") == "git sha",
          "newest image tag among 1101 images (git sha preferred over latest)", out)
    check(out.get("images") == 1101, "every image read", out.get("images"))
    rc, out = p("newest", "nope")
    check(rc == 4 and out.get("code") == "RepositoryNotFoundException", "missing repository",
          out)

    # EC2 by tag, start/stop
    rc, out = p("by-tag", "AutoStopStart", "Yes")
    ids = sorted(i["id"] for i in out.get("instances", []))
    check(rc == 0 and ids == sorted(plain + asg), "DescribeInstances by tag, terminated skipped",
          out)
    check(out.get("asg") == 1 and [i["id"] for i in out["instances"] if i["asg"]] == asg,
          "the ASG instance is reported as such", out)
    rc, out = p("stop", *plain)
    check(rc == 0 and len(out.get("changes", [])) == 2
          and all(c["previous"] == "running" for c in out["changes"]), "StopInstances", out)
    rc, out = p("by-tag", "AutoStopStart", "Yes")
    states = {i["id"]: i["state"] for i in out.get("instances", [])}
    check(all(states.get(i) in ("stopping", "stopped") for i in plain), "instances stopped",
          states)

    # envbot status / tags against moto
    cfg = os.path.join(tmp, "envbot.cfg")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(endpoint=url, region=REGION, state=os.path.join(tmp, "st.json"),
                              template=template_url))
    os.chmod(cfg, 0o600)

    def envbot_run(*args, env_over=None):
        e = dict(env)
        e.update(env_over or {})
        return subprocess.run([envbot, "-c", cfg, *args], capture_output=True, text=True,
                              env=e, timeout=120)
    r = envbot_run("status")
    print(r.stdout, r.stderr)
    out = r.stdout
    check(r.returncode == 0, "envbot status exits 0", r.returncode)
    check("account 123456789012" in out, "status: account line from STS")
    check("stack ChatAppMasterStack: CREATE_COMPLETE" in out, "status: stack status")
    check("running 1.0.7, newest %s" % newest_sha in out and "differs" in out,
          "status: running tag vs newest")
    check("3 instances: 1 running, 2 stopped" in out or "3 instances: 1 running, 0 stopped, 2"
          in out, "status: EC2 instances by state")
    check("1 in Auto Scaling groups" in out, "status: ASG instance reported")
    check("stack Missing: not created (down)" in out, "status: a missing stack is down")

    r = envbot_run("tags", "dev", "--count", "3")
    print(r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines and lines[0].startswith("chat-chat-http: 1101 tagged"),
          "tags: header with the image count")
    check(len(lines) == 4 and newest_sha in lines[1] and "also: latest" in lines[1]
          and "git sha" in lines[1], "tags: newest first with its rule", lines)

    r = envbot_run("status", env_over={"AWS_SECRET_ACCESS_KEY": "wrong"})
    check(r.returncode == 3, "status with a refused key exits 3", r.returncode)
    r = envbot_run("tags", "dev", env_over={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN0000000000"})
    check(r.returncode == 3, "tags with an unknown key exits 3", r.returncode)

    # DeleteStack, then gone
    rc, out = p("delete-stack", "ChatAppMasterStack")
    check(rc == 0, "DeleteStack accepted", out)
    rc, out = p("describe-stack", "ChatAppMasterStack")
    check(rc == 4, "deleted stack: not found by name", out)

    # a profile with role_arn + source_profile: AssumeRole through moto
    iam2 = client("iam", ak, sk)
    iam2.create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": "arn:aws:iam::123456789012:user/envbot"}, "Action": "sts:AssumeRole"}]}))
    iam2.put_role_policy(RoleName="ops", PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    with open(os.path.join(tmp, "credentials"), "w") as f:
        f.write("[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (ak, sk))
    with open(os.path.join(tmp, "config"), "w") as f:
        f.write("[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
                "source_profile = base\nrole_session_name = envbot-e2e\n")
    prof = dict(base_env, AWS_CONFIG_FILE=os.path.join(tmp, "config"),
                AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "credentials"), AWS_PROFILE="ops")
    r = subprocess.run([probe, url, REGION, "identity"], capture_output=True, text=True,
                       env=prof, timeout=60)
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and "assumed-role/ops/envbot-e2e" in out.get("arn", "")
          and out.get("source") == "profile:ops", "AssumeRole profile through moto", out)

    print("%d failures" % len(failures))
    return 1 if failures else 0


def manifest(i):
    return json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "size": 100 + i, "digest": "sha256:%064x" % (i + 1)},
                       "layers": []})


TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  APIServerImageTag: {Type: String}
  ChatServerImageTag: {Type: String}
  NotificationServerImageTag: {Type: String}
  Environment: {Type: String}
Resources:
  ApiImage:
    Type: AWS::SSM::Parameter
    Properties: {Name: /envbot-aws-e2e/api, Type: String, Value: !Ref APIServerImageTag}
Outputs:
  ApiImageTag:
    Value: !Ref APIServerImageTag
"""

CONFIG = """
discord: {{
  application_id = "100000000000000001";
  guild_id = "200000000000000002";
  channel_id = "300000000000000003";
  roles: {{ operator = [ "400000000000000004" ]; admin = [ "500000000000000005" ]; }};
}};
aws: {{ region = "{region}"; endpoint_url = "{endpoint}"; }};
state_file = "{state}";
environments = (
  {{ name = "dev"; kind = "stack"; stack_name = "ChatAppMasterStack";
     template_url = "{template}";
     image: {{ repository = "chat-chat-http";
              parameters = [ "APIServerImageTag", "ChatServerImageTag",
                             "NotificationServerImageTag" ]; }};
     schedule: {{ start = "0 9 * * MON-FRI"; stop = "0 18 * * MON-FRI"; }}; }},
  {{ name = "gone"; kind = "stack"; stack_name = "Missing";
     template_url = "{template}";
     schedule: {{ start = "0 9 * * MON-FRI"; stop = "0 18 * * MON-FRI"; }}; }},
  {{ name = "qa"; kind = "ec2"; tag = {{ key = "AutoStopStart"; value = "Yes"; }};
     schedule: {{ start = "30 8 * * MON-FRI"; stop = "0 20 * * MON-FRI"; }}; }}
);
"""

if __name__ == "__main__":
    sys.exit(main())
