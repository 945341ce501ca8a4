#!/usr/bin/env python3
"""Runs a command with tests/fakes/fake_aws.py listening on a free loopback
port: every "{base}" in the command becomes http://127.0.0.1:PORT. The
command's exit status is returned (77 = skipped passes through).

Usage: aws_with_fake.py FAKE_AWS_PY CMD [ARGS...]"""
import subprocess
import sys


def main():
    fake, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen([sys.executable, fake, "0"], stdout=subprocess.PIPE, text=True)
    try:
        base = "http://127.0.0.1:%d" % int(proc.stdout.readline())
        return subprocess.run([a.replace("{base}", base) for a in cmd], timeout=300).returncode
    finally:
        proc.terminate()
        proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
