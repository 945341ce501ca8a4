"""Static checks of deploy/Dockerfile and deploy/docker-compose.yml.

No Docker engine runs in CI, so this reads the files: the Dockerfile has a
build stage and a final stage on Debian bookworm; the final stage installs no
-dev package and no compiler, runs as a non-root USER, keeps the state in a
VOLUME and runs `envbot run`; its package lists equal deploy/install-deps.sh's;
when given the built binary, every library it links directly (DT_NEEDED) comes
from a runtime package (or libc). The compose file mounts the config read-only,
reads DISCORD_TOKEN from an env file and keeps the state in a named volume.
usage: deploy_docker_files.py [PATH/TO/envbot]   (cwd: source root)
"""
import os
import re
import shlex
import subprocess
import sys

import yaml

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def dockerfile_instructions(path):
    """Returns [(INSTRUCTION, args)] with continuations joined, comments dropped."""
    out, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # comment inside a continued instruction
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def apt_packages(run_args):
    """Package names of every `apt-get install` in a RUN line."""
    pkgs = []
    for cmd in re.split(r"&&|;", run_args):
        words = shlex.split(cmd)
        if "apt-get" in words and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def install_deps_list(*flags):
    out = subprocess.run(["sh", "deploy/install-deps.sh", "--list", *flags], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


# ---- Dockerfile
ins = dockerfile_instructions("deploy/Dockerfile")
args = {k: v for k, v in (a.split("=", 1) for i, a in ins if i == "ARG" and "=" in a)}
stages, current = [], None
for i, a in ins:
    if i == "FROM":
        current = {"from": a, "ins": []}
        stages.append(current)
    elif current is not None:
        current["ins"].append((i, a))
check(len(stages) == 2, f"two stages (build, final), found {len(stages)}")
for st in stages:
    image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), st["from"].split()[0])
    check(image.startswith("debian:bookworm"), f"stage FROM Debian bookworm: {image}")

build, final = stages[0], stages[-1]
check(" AS build" in build["from"] or " as build" in build["from"], "first stage is named build")
build_pkgs = [p for i, a in build["ins"] if i == "RUN" for p in apt_packages(a)]
final_pkgs = [p for i, a in final["ins"] if i == "RUN" for p in apt_packages(a)]
check(any("cmake --build" in a for i, a in build["ins"] if i == "RUN"), "build stage runs cmake")
runtime = install_deps_list("--runtime")
# install-deps.sh's build set includes the runtime set; the build stage
# needs only the rest (the -dev packages pull the libraries in).
build_only = [p for p in install_deps_list() if p not in runtime]
check(sorted(build_pkgs) == sorted(build_only),
      f"build packages match install-deps.sh: {sorted(set(build_pkgs) ^ set(build_only))}")
check(sorted(final_pkgs) == sorted(runtime),
      f"final packages match install-deps.sh --runtime: {sorted(set(final_pkgs) ^ set(runtime))}")
banned = [p for p in final_pkgs
          if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "clang", "make",
                                         "pkg-config")]
check(not banned, f"final stage installs no build tools: {banned}")
final_text = "\n".join(f"{i} {a}" for i, a in final["ins"])
check("-dev" not in final_text, "no -dev anywhere in the final stage")
check(any(i == "COPY" and "--from=build" in a and "envbot" in a for i, a in final["ins"]),
      "final stage copies the binary from the build stage")
users = [a for i, a in final["ins"] if i == "USER"]
check(len(users) >= 1, "final stage has a USER line")
if users:
    user = users[-1].split(":")[0]
    check(user not in ("root", "0"), f"final USER is not root: {users[-1]}")
vols = [a for i, a in final["ins"] if i == "VOLUME"]
check(any("/var/lib/envbot" in v for v in vols), "state directory is a VOLUME")
check(('ENTRYPOINT', '["envbot"]') in final["ins"], 'ENTRYPOINT ["envbot"] (exec form)')
check(('CMD', '["run"]') in final["ins"], 'CMD ["run"]')

# Debian knows every package name (when apt lists are there to ask).
# One apt-cache call (each costs half a second): the names it describes.
if subprocess.run(["sh", "-c", "apt-cache show libc6 >/dev/null 2>&1"]).returncode == 0:
    names = sorted(set(build_pkgs + final_pkgs))
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", *names],
                       capture_output=True, text=True)
    known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
    for p in names:
        check(p in known, f"Debian has a package named {p}")

# The binary's direct library needs are covered by the runtime list.
binary = sys.argv[1] if len(sys.argv) > 1 else ""
if binary and os.access(binary, os.X_OK):
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn)
    check(len(needed) > 3, f"readelf found the binary's libraries: {needed}")
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    # What the image has: the runtime packages and what they depend on
    # (libcap2 comes with libwebsockets17), from the installed dpkg database.
    deps = subprocess.run(["dpkg-query", "-W", "-f=${Depends},", *runtime],
                          capture_output=True, text=True).stdout
    present = set(runtime) | {"libc6", "libgcc-s1"} | {
        d.strip().split()[0].split(":")[0] for alt in deps.split(",") if alt.strip()
        for d in alt.split("|")}
    for lib in needed:
        if re.match(r"lib(a|ub|t|l)san\.so", lib):
            continue  # sanitizer builds; the image is a Release build
        path = os.path.realpath(paths.get(lib, lib))
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if owner.returncode != 0:  # merged /usr: dpkg knows /lib/... names
            owner = subprocess.run(["dpkg", "-S", "/lib/" + path.split("/lib/", 1)[-1]],
                                   capture_output=True, text=True)
        pkg = owner.stdout.split(":", 1)[0] if owner.returncode == 0 else "?"
        check(pkg in present, f"{lib} ({path}) comes with the runtime packages, not {pkg}")
else:
    print("note: no built envbot given; library coverage not checked")

# ---- docker-compose.yml
with open("deploy/docker-compose.yml", encoding="utf-8") as f:
    compose = yaml.safe_load(f)
svc = (compose.get("services") or {}).get("envbot")
check(svc is not None, "compose has an envbot service")
svc = svc or {}
b = svc.get("build") or {}
check(os.path.normpath(os.path.join("deploy", b.get("context", "."), b.get("dockerfile", "")))
      == os.path.normpath("deploy/Dockerfile"), "compose builds deploy/Dockerfile from the root")
env_files = svc.get("env_file") or []
env_files = [env_files] if isinstance(env_files, str) else env_files
check(len(env_files) >= 1, "DISCORD_TOKEN comes from an env_file")
environment = svc.get("environment") or {}
if isinstance(environment, list):
    environment = dict(e.split("=", 1) if "=" in e else (e, None) for e in environment)
check("DISCORD_TOKEN" not in environment, "no token in the compose file itself")

mounts = []
for v in svc.get("volumes") or []:
    if isinstance(v, str):
        parts = v.split(":")
        mounts.append({"source": parts[0], "target": parts[1],
                       "read_only": len(parts) > 2 and "ro" in parts[2].split(","),
                       "type": "bind" if parts[0].startswith((".", "/")) else "volume"})
    else:
        mounts.append(v)
cfg = [m for m in mounts if m.get("target") == "/etc/envbot/envbot.cfg"
       or m.get("target") == "/etc/envbot"]
check(len(cfg) == 1 and cfg[0].get("read_only") is True, "config is mounted read-only")
state = [m for m in mounts if m.get("target") == "/var/lib/envbot"]
check(len(state) == 1 and state[0].get("type") == "volume"
      and state[0].get("source") in (compose.get("volumes") or {}),
      "state is a declared named volume at /var/lib/envbot")
check(svc.get("read_only") is True, "root filesystem read-only")
check("ALL" in (svc.get("cap_drop") or []), "all capabilities dropped")
check(str(svc.get("restart", "")).startswith("on-failure"), "restart on failure only")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
