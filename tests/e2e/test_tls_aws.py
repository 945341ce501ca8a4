#!/usr/bin/env python3
"""TLS to AWS is verified, and there is no switch to turn that off: `envbot
tags` against the fake AWS served over HTTPS on 127.0.0.1 with a throwaway
CA. Without that CA trusted the handshake is refused before any request is
sent; with it trusted (AWS_CA_BUNDLE, or the profile's ca_bundle, as the AWS
CLI does) the call goes through; a certificate for another host name is
refused even with the CA trusted; a CA bundle that cannot be read is a
start-up error naming it. Discord's side (https REST, wss gateway) is
covered by tests/e2e/discord_e2e.py's `tls` scenario.

usage: test_tls_aws.py ENVBOT FAKE_AWS"""
import json
import os
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wfcommon as w  # noqa: E402

BIN, FAKE = sys.argv[1], sys.argv[2]


def make_certs(t):
    """A CA, a server certificate for 127.0.0.1 and one for another name."""
    cmds = [["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             t + "/ca.key", "-out", t + "/ca.pem", "-days", "2", "-subj", "/CN=envbot test CA"]]
    for name, san in (("ok", "IP:127.0.0.1"), ("other", "DNS:not-this-host.example")):
        with open(f"{t}/{name}.ext", "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")
        cmds += [["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  f"{t}/{name}.key", "-out", f"{t}/{name}.csr", "-subj", "/CN=127.0.0.1"],
                 ["openssl", "x509", "-req", "-in", f"{t}/{name}.csr", "-CA", t + "/ca.pem",
                  "-CAkey", t + "/ca.key", "-CAcreateserial", "-out", f"{t}/{name}.pem",
                  "-days", "2", "-extfile", f"{t}/{name}.ext"]]
    for c in cmds:
        subprocess.run(c, check=True, capture_output=True)


class TlsFake:
    """fake_aws.py speaking HTTPS with the given certificate."""

    def __init__(self, t, cert):
        self.log = open(os.path.join(t, "fake_aws_tls.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "0", "--tls", f"{t}/{cert}.pem", f"{t}/{cert}.key"],
            stdout=subprocess.PIPE, stderr=self.log, env=w.aws_test_env())
        self.port = int(self.proc.stdout.readline().decode().strip())
        self.url = f"https://127.0.0.1:{self.port}"
        # the control API trusts the CA and skips the host name (the "other"
        # certificate is for another name on purpose)
        self.ctx = ssl.create_default_context(cafile=f"{t}/ca.pem")
        self.ctx.check_hostname = False

    def ctl(self, what, body=None, method="POST"):
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request(f"{self.url}/_fake/{what}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=self.ctx) as r:
            return json.loads(r.read() or b"{}")

    def api_requests(self):
        return self.ctl("requests", method="GET")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.log.close()


def tags(cfg, extra_env):
    e = w.aws_test_env()
    e.update(AWS_ACCESS_KEY_ID="AKIDFAKE", AWS_SECRET_ACCESS_KEY="fakesecret")
    e.pop("AWS_CA_BUNDLE", None)
    e.update(extra_env)
    return w.run_envbot(BIN, cfg, "tags", "dev", env=e, timeout=60)


def main():
    c = w.Checks()
    t = w.tmpdir("envbot-tls-aws-")
    make_certs(t)
    cfg = os.path.join(t, "envbot.cfg")
    for cert in ("ok", "other"):
        fake = TlsFake(t, cert)
        try:
            fake.ctl("images", {"repository": "chat-chat-http",
                                "images": [{"tags": ["v9.9.9"], "pushed_at": 1790000000}]})
            w.write_config(cfg, fake.url, "https://b.s3.amazonaws.com/t.yaml",
                           os.path.join(t, "state.json"))
            if cert == "ok":
                # the fake itself is sound: a client that trusts the CA gets in
                c.ok(fake.ctl("health", method="GET").get("ok") is True,
                     "fake AWS answers over HTTPS to a client trusting the CA")
                r = tags(cfg, {})
                c.ok(r.rc != 0, "untrusted CA: tags fails", r)
                c.ok("certificate" in (r.out + r.err).lower(),
                     "untrusted CA: the error says certificate", r)
                c.ok(not fake.api_requests(), "untrusted CA: no request reached the fake")

                r = tags(cfg, {"AWS_CA_BUNDLE": f"{t}/ca.pem"})
                c.ok(r.rc == 0 and "v9.9.9" in r.out, "AWS_CA_BUNDLE: tags goes through", r)
                c.ok(any(q["action"] == "DescribeImages" for q in fake.api_requests()),
                     "AWS_CA_BUNDLE: DescribeImages reached the fake")

                conf = os.path.join(t, "aws-config")
                with open(conf, "w") as f:
                    f.write(f"[default]\nca_bundle = {t}/ca.pem\n")
                r = tags(cfg, {"AWS_CONFIG_FILE": conf})
                c.ok(r.rc == 0 and "v9.9.9" in r.out, "profile ca_bundle: tags goes through", r)

                r = tags(cfg, {"AWS_CA_BUNDLE": f"{t}/absent.pem"})
                c.ok(r.rc == 2 and "absent.pem" in r.err and "AWS_CA_BUNDLE" in r.err,
                     "unreadable AWS_CA_BUNDLE: a config error naming it", r)
            else:
                r = tags(cfg, {"AWS_CA_BUNDLE": f"{t}/ca.pem"})
                c.ok(r.rc != 0, "certificate for another host: refused even with the CA", r)
                c.ok(not fake.api_requests(),
                     "certificate for another host: no request reached the fake")
        finally:
            fake.stop()
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
