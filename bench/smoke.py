#!/usr/bin/env python3
"""bench_smoke: runs `bench/run --quick` on the given binary and checks that
every figure printed its line (no timing is asserted: the numbers of a
quick run on a busy CI machine mean nothing). Exits 77 without
/usr/bin/python3's aiohttp (the fake Discord cannot run).

Usage: smoke.py ENVBOT_BINARY REPO_ROOT"""
import os
import subprocess
import sys


def main():
    binary, root = sys.argv[1], sys.argv[2]
    if subprocess.run(["/usr/bin/python3", "-c", "import aiohttp"],
                      capture_output=True).returncode != 0:
        print("SKIP: /usr/bin/python3 has no aiohttp (the fake Discord needs it)")
        return 77
    p = subprocess.run([sys.executable, os.path.join(root, "bench/run"), "--quick", "--no-rt", "--binary",
                        binary], capture_output=True, text=True, timeout=170)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr[-4000:])
    lines = p.stdout.splitlines()
    want = {
        "[1] envbot idle": "[1] ACK latency, envbot, idle",
        "[1] envbot busy": "workflows polling",
        "[1] discord.js": "[1] ACK latency, discord.js",
        "[1] ratio": "[1] ratio discord.js / envbot",
        "[2] delay": "[2] ACK latency, envbot, every REST round trip held 50 ms",
        "[3] idle": "[3] memory idle after READY",
        "[3] peak (1)": "[3] peak during (1)",
        "[3] peak (6)": "[3] peak during (6)",
        "[3] pmap": "[3] where idle RSS goes",
        "[4] schedule": "[4] schedule firing delay (minute boundary",
        "[5] detection": "[5] completion detection (stack complete",
        "[6] fan-out": "[6] fan-out:",
        "[6] channel": "[6] channel:",
        "[7] start-up": "[7] start-up",
        "[7] cpu": "[7] CPU idle",
        "[8] group start": "/env start -> green embed",
        "[8] group stop": "/env stop -> green embed",
        "[8] group rss": "[8] RSS during the group",
    }
    failed = 0
    for name, needle in want.items():
        if not any(needle in ln for ln in lines):
            print(f"FAIL: no line for {name} ({needle!r})")
            failed += 1
    if p.returncode != 0:
        print(f"FAIL: bench/run exited {p.returncode}")
        failed += 1
    print(f"{len(want) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
