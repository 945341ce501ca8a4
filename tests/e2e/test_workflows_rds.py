#!/usr/bin/env python3
"""End to end: kinds rds and rds-cluster with `envbot stop|start ENV` (the
real binary) against moto on loopback.

  pg        a DB instance by identifier: stopped, "already stopped" the
            second time, started (moto's status after each), status lines
  graph     a Neptune cluster by identifier (moto 5.2.1 has no DocumentDB
            engine; both are the same RDS cluster API): the same; and an
            Aurora cluster by tag beside an untagged one (left alone)
  missing   an identifier moto does not have: exit 1, AWS's code named

usage: test_workflows_rds.py ENVBOT_BINARY   (exit 77: no moto)"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e} (needs the python3 with moto and boto3)")
    sys.exit(77)

from wfcommon import Checks, Moto, run_envbot, tmpdir, write_config  # noqa: E402

ENVS = """,
  { name = "pg"; kind = "rds"; identifier = "chat-pg"; hourly_cost = 0.1; },
  { name = "graph"; kind = "rds-cluster"; cluster = "chat-neptune"; hourly_cost = 0.2; },
  { name = "aurora"; kind = "rds-cluster"; tag = { key = "envbot"; value = "staging"; }; },
  { name = "nope"; kind = "rds"; identifier = "not-there"; }"""


def inst_status(rds, ident):
    return rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0][
        "DBInstanceStatus"]


def cl_status(rds, ident):
    return rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["Status"]


def main():
    binary = os.path.abspath(sys.argv[1])
    d = tmpdir("envbot-wf-rds-")
    c = Checks()
    m = Moto(d)
    try:
        rds = m.client("rds")
        rds.create_db_instance(DBInstanceIdentifier="chat-pg", DBInstanceClass="db.t3.micro",
                               Engine="postgres", MasterUsername="u", MasterUserPassword="password1",
                               AllocatedStorage=20)
        rds.create_db_cluster(DBClusterIdentifier="chat-neptune", Engine="neptune",
                              MasterUsername="u", MasterUserPassword="password1")
        rds.create_db_cluster(DBClusterIdentifier="chat-aurora", Engine="aurora-postgresql",
                              MasterUsername="u", MasterUserPassword="password1",
                              Tags=[{"Key": "envbot", "Value": "staging"}])
        rds.create_db_cluster(DBClusterIdentifier="other-aurora", Engine="aurora-postgresql",
                              MasterUsername="u", MasterUserPassword="password1")
        cfg = os.path.join(d, "envbot.cfg")
        write_config(cfg, m.url, "https://b.s3.amazonaws.com/t.yaml", os.path.join(d, "s.json"),
                     extra_envs=ENVS)

        r = run_envbot(binary, cfg, "check-config")
        c.ok(r.rc == 0 and "chat-neptune" in r.out and "clusters tagged envbot=staging" in r.out,
             "check-config names the databases", r)

        # pg: an instance by identifier
        r = run_envbot(binary, cfg, "stop", "pg")
        c.ok(r.rc == 0 and "✅ pg stop: 1 DB instance stopped" in r.out, "pg: stop", r)
        c.ok(inst_status(rds, "chat-pg") == "stopped", "pg: stopped in moto")
        r = run_envbot(binary, cfg, "stop", "pg")
        c.ok(r.rc == 0 and "already stopped: 1 DB instance" in r.out, "pg: stop again: no-op", r)
        r = run_envbot(binary, cfg, "status", "pg")
        c.ok("chat-pg stopped (postgres)" in r.out, "pg: status shows it stopped", r)
        r = run_envbot(binary, cfg, "start", "pg")
        c.ok(r.rc == 0 and "1 DB instance available" in r.out, "pg: start", r)
        c.ok(inst_status(rds, "chat-pg") == "available", "pg: available in moto")

        # docdb: a cluster by identifier
        r = run_envbot(binary, cfg, "stop", "graph")
        c.ok(r.rc == 0 and "1 DB cluster stopped" in r.out, "neptune: stop", r)
        c.ok(cl_status(rds, "chat-neptune") == "stopped", "neptune: stopped in moto")
        r = run_envbot(binary, cfg, "start", "graph")
        c.ok(r.rc == 0, "neptune: start", r)
        c.ok(cl_status(rds, "chat-neptune") == "available", "neptune: available in moto")

        # aurora: by tag, the untagged cluster untouched
        r = run_envbot(binary, cfg, "stop", "aurora")
        c.ok(r.rc == 0, "aurora by tag: stop", r)
        c.ok(cl_status(rds, "chat-aurora") == "stopped", "aurora: the tagged cluster stopped")
        c.ok(cl_status(rds, "other-aurora") == "available", "aurora: the untagged one untouched")
        c.ok(cl_status(rds, "chat-neptune") == "available", "aurora: neptune (untagged) untouched")

        # missing
        r = run_envbot(binary, cfg, "stop", "nope")
        c.ok(r.rc == 1 and "not-there not found (DBInstanceNotFound)" in r.out,
             "missing: exit 1 naming AWS's code", r)
    finally:
        m.stop()
    rc = c.done()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"logs kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
