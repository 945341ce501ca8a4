#!/usr/bin/env python3
"""Proves tests/fakes/fake_aws.py speaks the AWS wire format: the real `aws`
CLI (botocore's serializers, parsers, signer and retry logic) runs against it
with --endpoint-url and dummy credentials, and every answer it parses must
be the state the fake was given. Also proves the fake's SigV4 check agrees
with botocore (a wrong secret is refused) and that its injected throttling
is what botocore retries.

Usage: test_fake_aws_cli.py FAKE_AWS_PY   (exit 77 when the aws CLI is absent)"""
import json
import os
import shutil
import subprocess
import sys
import urllib.request

FAKE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "fakes", "fake_aws.py")


def main():
    aws = shutil.which("aws")
    if not aws:
        print("SKIP: the aws CLI is not installed")
        return 77
    proc = subprocess.Popen([sys.executable, FAKE, "0"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        base = "http://127.0.0.1:%d" % port
        rc = run(aws, base)
    finally:
        proc.terminate()
        proc.wait(5)
    return rc or upstream(aws)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upstream(aws):
    """--upstream: autoscaling, ecs and rds forwarded to moto, with the
    fake's faults, rewrite and log applied to them."""
    import time
    try:
        import moto  # noqa: F401
    except ImportError:
        print("SKIP upstream: this python3 has no moto")
        return 0
    mport = free_port()
    moto_p = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(mport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/moto-api/" % mport, timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        proc = subprocess.Popen([sys.executable, FAKE, "--upstream",
                                 "http://127.0.0.1:%d" % mport, "0"], stdout=subprocess.PIPE,
                                text=True)
        base = "http://127.0.0.1:%d" % int(proc.stdout.readline())
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="AKIDFAKE", AWS_SECRET_ACCESS_KEY="fakesecret",
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
                   AWS_MAX_ATTEMPTS="1", AWS_PAGER="")

        def cli(*args):
            return subprocess.run([aws, "--endpoint-url", base, "--output", "json", *args],
                                  env=env, capture_output=True, text=True, timeout=60)
        r = cli("autoscaling", "describe-auto-scaling-groups")
        check(r.returncode == 0 and json.loads(r.stdout)["AutoScalingGroups"] == [],
              "upstream: describe-auto-scaling-groups answered by moto")
        r = cli("ecs", "list-clusters")
        check(r.returncode == 0 and json.loads(r.stdout)["clusterArns"] == [],
              "upstream: ecs list-clusters answered by moto")
        ctl(base, "faults", {"rules": [{"match": "DescribeDBInstances", "count": 1,
                                        "kind": "rewrite", "pattern": "<DBInstances\\s*/>",
                                        "replace": "<DBInstances><DBInstance><DBInstanceIdentifier>"
                                        "rewritten</DBInstanceIdentifier></DBInstance>"
                                        "</DBInstances>"}]})
        r = cli("rds", "describe-db-instances")
        dbs = json.loads(r.stdout)["DBInstances"] if r.returncode == 0 else []
        check([d.get("DBInstanceIdentifier") for d in dbs] == ["rewritten"],
              "upstream: rds describe-db-instances forwarded, its answer rewritten", )
        ctl(base, "faults", {"rules": [{"match": "autoscaling", "count": 1, "status": 400,
                                        "code": "Throttling"}]})
        r = cli("autoscaling", "describe-auto-scaling-groups")
        check(r.returncode != 0 and "Throttling" in r.stderr,
              "upstream: a throttle fault on a forwarded call is Throttling to the CLI")
        r = cli("sts", "get-caller-identity", )
        check(r.returncode == 0, "upstream: sts still played by the fake")
        log = [(q["service"], q["action"], q["forwarded"]) for q in ctl(base, "requests")]
        check(log == [("autoscaling", "DescribeAutoScalingGroups", True),
                      ("ecs", "ListClusters", True), ("rds", "DescribeDBInstances", True),
                      ("autoscaling", "DescribeAutoScalingGroups", True),
                      ("sts", "GetCallerIdentity", False)],
              "upstream: the log has every call in order, forwarded ones marked", )
        print("%d failures" % len(failures))
        return 1 if failures else 0
    finally:
        if proc:
            proc.terminate()
            proc.wait(5)
        moto_p.terminate()
        moto_p.wait(5)


def ctl(base, path, body=None):
    req = urllib.request.Request(base + "/_fake/" + path,
                                 data=json.dumps(body or {}).encode() if body is not None else None,
                                 method="POST" if body is not None else "GET")
    return json.loads(urllib.request.urlopen(req, timeout=5).read())


failures = []


def check(cond, what):
    if cond:
        print("ok   ", what)
    else:
        print("FAIL ", what)
        failures.append(what)


def run(aws, base):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDFAKE", AWS_SECRET_ACCESS_KEY="fakesecret",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
               AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3", AWS_PAGER="")

    def cli(*args, env_over=None, ok=True):
        e = dict(env)
        e.update(env_over or {})
        r = subprocess.run([aws, "--endpoint-url", base, "--output", "json", *args], env=e,
                           capture_output=True, text=True, timeout=60)
        if ok and r.returncode != 0:
            print(r.stderr)
        return r

    # CloudFormation: a seeded leftover, then create / describe / events / delete
    ctl(base, "stack", {"name": "old", "status": "ROLLBACK_COMPLETE",
                        "parameters": {"ImageTag": "v1"}, "outputs": {"Url": "http://x"},
                        "events": [{"logical_id": "Db", "type": "AWS::RDS::DBInstance",
                                    "status": "CREATE_FAILED", "reason": "quota"}]})
    r = cli("cloudformation", "describe-stacks", "--stack-name", "old")
    st = json.loads(r.stdout)["Stacks"][0] if r.returncode == 0 else {}
    check(st.get("StackStatus") == "ROLLBACK_COMPLETE", "describe-stacks parses the status")
    check(st.get("Parameters") == [{"ParameterKey": "ImageTag", "ParameterValue": "v1"}],
          "describe-stacks parses parameters")
    check(st.get("Outputs") == [{"OutputKey": "Url", "OutputValue": "http://x"}],
          "describe-stacks parses outputs")

    r = cli("cloudformation", "describe-stack-events", "--stack-name", "old")
    evs = json.loads(r.stdout)["StackEvents"] if r.returncode == 0 else []
    check(any(e["LogicalResourceId"] == "Db" and e["ResourceStatus"] == "CREATE_FAILED"
              and e["ResourceStatusReason"] == "quota" for e in evs),
          "describe-stack-events parses resource events")

    ctl(base, "behavior", {"stack": "app", "create_seconds": 0,
                           "create_fail": {"logical_id": "Queue", "type": "AWS::SQS::Queue",
                                           "reason": "name taken"}})
    r = cli("cloudformation", "create-stack", "--stack-name", "app", "--template-url",
            "https://example.com/t.yaml", "--parameters",
            "ParameterKey=Tag,ParameterValue=a b&c", "--capabilities", "CAPABILITY_IAM",
            "--role-arn", "arn:aws:iam::123456789012:role/cfn",
            "--client-request-token", "tok-1")
    sid = json.loads(r.stdout).get("StackId", "") if r.returncode == 0 else ""
    check(sid.startswith("arn:aws:cloudformation:"), "create-stack returns the StackId")
    reqs = ctl(base, "requests")
    cs = [q for q in reqs if q["action"] == "CreateStack"]
    check(cs and cs[-1]["params"].get("Parameters.member.1.ParameterValue") == "a b&c"
          and cs[-1]["params"].get("ClientRequestToken") == "tok-1"
          and cs[-1]["params"].get("Capabilities.member.1") == "CAPABILITY_IAM",
          "create-stack parameters decoded by the fake as sent")
    r = cli("cloudformation", "describe-stacks", "--stack-name", "app")
    check(r.returncode == 0 and json.loads(r.stdout)["Stacks"][0]["StackStatus"]
          == "ROLLBACK_COMPLETE", "a failing create ends in ROLLBACK_COMPLETE")
    r = cli("cloudformation", "describe-stack-events", "--stack-name", sid)
    evs = json.loads(r.stdout)["StackEvents"] if r.returncode == 0 else []
    check(any(e["LogicalResourceId"] == "Queue" and e["ResourceStatusReason"] == "name taken"
              for e in evs), "events of the failed create, read through every page")

    r = cli("cloudformation", "delete-stack", "--stack-name", "app")
    check(r.returncode == 0, "delete-stack")
    r = cli("cloudformation", "describe-stacks", "--stack-name", "app", ok=False)
    check(r.returncode != 0 and "does not exist" in r.stderr and "ValidationError" in r.stderr,
          "a deleted stack is a ValidationError 'does not exist'")
    r = cli("cloudformation", "describe-stacks", "--stack-name", sid)
    check(r.returncode == 0 and json.loads(r.stdout)["Stacks"][0]["StackStatus"]
          == "DELETE_COMPLETE", "by id, a deleted stack is DELETE_COMPLETE")

    # ECR: 2500 images over pages (the CLI paginates nextToken itself)
    ctl(base, "images", {"repository": "app", "generate": 2500, "start": 1700000000,
                         "step": 60, "latest_on_newest": True})
    r = cli("ecr", "describe-images", "--repository-name", "app", "--filter",
            "tagStatus=TAGGED", "--page-size", "1000")
    imgs = json.loads(r.stdout)["imageDetails"] if r.returncode == 0 else []
    check(len(imgs) == 2500, "describe-images: all 2500 images over pages (got %d)" % len(imgs))
    newest = max(imgs, key=lambda i: i["imagePushedAt"]) if imgs else {}
    check(sorted(newest.get("imageTags", [])) == ["b2499", "latest"],
          "the newest image carries latest + b2499")
    r = cli("ecr", "describe-images", "--repository-name", "nope", ok=False)
    check(r.returncode != 0 and "RepositoryNotFoundException" in r.stderr,
          "missing repository: RepositoryNotFoundException")

    # EC2
    ctl(base, "instances", {"instances": [
        {"id": "i-%017d" % i, "state": "stopped" if i % 2 else "running",
         "tags": {"AutoStopStart": "Yes", "Name": "qa-%d" % i}} for i in range(30)]})
    r = cli("ec2", "describe-instances", "--filters", "Name=tag:AutoStopStart,Values=Yes",
            "--page-size", "7")
    res = json.loads(r.stdout)["Reservations"] if r.returncode == 0 else []
    ids = [i["InstanceId"] for rr in res for i in rr["Instances"]]
    check(len(ids) == 30, "describe-instances over pages of 7 (got %d)" % len(ids))
    r = cli("ec2", "start-instances", "--instance-ids", "i-%017d" % 1, "i-%017d" % 3)
    ch = json.loads(r.stdout)["StartingInstances"] if r.returncode == 0 else []
    check([c["PreviousState"]["Name"] for c in ch] == ["stopped", "stopped"]
          and ch[0]["CurrentState"]["Name"] in ("pending", "running"),
          "start-instances parses state changes")
    r = cli("ec2", "stop-instances", "--instance-ids", "i-nope", ok=False)
    check(r.returncode != 0 and "InvalidInstanceID.NotFound" in r.stderr,
          "EC2 error shape: InvalidInstanceID.NotFound")

    # STS
    r = cli("sts", "get-caller-identity")
    check(r.returncode == 0 and json.loads(r.stdout)["Account"] == "123456789012",
          "get-caller-identity")

    # signatures: botocore's and the fake's agree; a wrong secret is refused
    r = cli("sts", "get-caller-identity", env_over={"AWS_SECRET_ACCESS_KEY": "wrong"}, ok=False)
    check(r.returncode != 0 and "SignatureDoesNotMatch" in r.stderr,
          "wrong secret: SignatureDoesNotMatch")
    r = cli("sts", "get-caller-identity", env_over={"AWS_ACCESS_KEY_ID": "AKIDUNKNOWN"},
            ok=False)
    check(r.returncode != 0 and "InvalidClientTokenId" in r.stderr,
          "unknown key: InvalidClientTokenId")

    # faults: two throttles then success (botocore standard retries), 503 x3 fails
    ctl(base, "faults", {"rules": [{"match": "DescribeStacks", "count": 2, "status": 400,
                                    "code": "Throttling"}]})
    before = len(ctl(base, "requests"))
    r = cli("cloudformation", "describe-stacks", "--stack-name", "old")
    after = ctl(base, "requests")[before:]
    check(r.returncode == 0 and len(after) == 3, "Throttling x2 retried by botocore (3 requests)")
    ctl(base, "faults", {"rules": [{"match": "ecr", "count": 3, "status": 503}]})
    r = cli("ecr", "describe-images", "--repository-name", "app", "--max-items", "1", ok=False)
    check(r.returncode != 0 and "ServiceUnavailable" in r.stderr,
          "503 on every attempt: botocore gives up with ServiceUnavailable")

    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
