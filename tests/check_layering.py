#!/usr/bin/env python3
"""The layering check: envbot's dependencies point one way.

Two graphs are built from the product's sources (bot/, commands/, config/,
aws/; not tests/):
  - includes: file -> the file its #include "..." names;
  - calls: object file -> the object file that defines a symbol it uses
    (from `nm` over the build's object files, so a call through a function
    pointer handed in by the caller is not an edge, a direct call is).
Each is checked at two levels: between folders (bot/core, bot/wf, commands,
...) there must be no cycle at all; between files there must be none either,
except inside aws/ (the signer and the credential provider may need each
other). A cycle is printed as the path that closes it.

usage: check_layering.py SOURCE_DIR [BUILD_DIR]
       check_layering.py --self-test
Without BUILD_DIR only the include graph is checked. Exit 0 clean, 1 cycle.
--self-test proves the checker can fail: a made-up tree with a folder cycle,
one with a file cycle inside a folder, one inside aws/ (tolerated) and a clean
one, each judged as expected.
"""
import os
import re
import subprocess
import sys

PRODUCT = ("bot", "commands", "config", "aws")
EXEMPT_FILE_CYCLES = ("aws",)  # folders whose files may need each other
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    out = []
    for top in PRODUCT:
        for d, _, files in os.walk(os.path.join(root, top)):
            out += [os.path.relpath(os.path.join(d, f), root) for f in files
                    if f.endswith((".c", ".h"))]
    return sorted(out)


def include_graph(root, files):
    known = set(files)
    g = {f: set() for f in files}
    for f in files:
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            target = os.path.normpath(os.path.join(os.path.dirname(f), inc))
            if target in known:
                g[f].add(target)
    return g


def symbol_graph(root, build):
    """Object file (named by its source) -> object files it calls into."""
    objs = {}
    for d, _, files in os.walk(build):
        for f in files:
            if not f.endswith(".c.o") or "CMakeFiles" not in d:
                continue
            path = os.path.join(d, f)
            # build/<folder>/CMakeFiles/<target>.dir/<file>.c.o
            rel = os.path.relpath(d, build).split(os.sep)
            i = rel.index("CMakeFiles")
            folder = os.sep.join(rel[:i])
            if not folder.startswith(PRODUCT):
                continue
            src = os.path.join(folder, f[:-2])
            if os.path.exists(os.path.join(root, src)):
                objs[src] = path
    defined, used = {}, {}
    for src, path in objs.items():
        out = subprocess.run(["nm", "-P", path], capture_output=True, text=True,
                             check=True).stdout
        used[src] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            name, kind = parts[0], parts[1]
            if kind == "U":
                used[src].add(name)
            elif kind in "TDRBC" and kind.isupper():
                defined.setdefault(name, src)
    g = {src: set() for src in objs}
    for src, names in used.items():
        for n in names:
            if n in defined and defined[n] != src:
                g[src].add(defined[n])
    return g


def folder_of(path):
    return os.path.dirname(path)


def lift(g, key):
    out = {}
    for a, bs in g.items():
        ka = key(a)
        out.setdefault(ka, set())
        for b in bs:
            kb = key(b)
            if kb != ka:
                out[ka].add(kb)
            out.setdefault(kb, set())
    return out


def find_cycle(g):
    """A list of nodes closing a cycle, or None (iterative DFS)."""
    colour = {n: 0 for n in g}
    for start in sorted(g):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(g[start])))]
        colour[start] = 1
        path = [start]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            if colour.get(nxt, 0) == 1:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt, 0) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(g[nxt]))))
                path.append(nxt)
    return None


def sccs(g):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def file_level(g):
    """Edges between files, but not those inside an exempt folder."""
    out = {}
    for a, bs in g.items():
        out[a] = {b for b in bs
                  if not (folder_of(a) == folder_of(b) and folder_of(a) in EXEMPT_FILE_CYCLES)}
    return out


def check(name, g):
    problems = 0
    for level, graph in (("folders", lift(g, folder_of)), ("files", file_level(g))):
        cycle = find_cycle(graph)
        if cycle:
            print(f"FAIL {name} cycle between {level}: {' -> '.join(cycle)}")
            for comp in sccs(graph):
                print(f"     tangled {level}: {', '.join(comp)}")
            problems += 1
        else:
            print(f"ok   {name}: no cycle between {level} ({len(graph)} nodes, "
                  f"{sum(len(v) for v in graph.values())} edges)")
    return problems


def order(g):
    """The folders in dependency order (foundation first), for the docs."""
    fg = lift(g, folder_of)
    done, out = set(), []
    while len(done) < len(fg):
        ready = sorted(n for n in fg if n not in done and fg[n] <= done)
        if not ready:
            break
        out += ready
        done |= set(ready)
    return out


def self_test():
    import tempfile

    cases = {
        # name: ({file: [includes]}, expected exit)
        "clean": ({"bot/core/a.h": [], "bot/core/a.c": ["a.h"],
                   "bot/wf/w.c": ["../core/a.h"]}, 0),
        "folder cycle": ({"bot/core/a.c": ["../wf/w.h"], "bot/wf/w.h": [],
                          "bot/wf/w.c": ["../core/a.h"], "bot/core/a.h": []}, 1),
        "file cycle": ({"commands/d.c": ["e.h"], "commands/e.h": ["d.h"],
                        "commands/d.h": ["e.h"]}, 1),
        "aws tolerated": ({"aws/s.h": ["c.h"], "aws/c.h": ["s.h"]}, 0),
    }
    bad = 0
    for name, (tree, want) in cases.items():
        with tempfile.TemporaryDirectory() as root:
            for f, incs in tree.items():
                os.makedirs(os.path.join(root, os.path.dirname(f)), exist_ok=True)
                with open(os.path.join(root, f), "w", encoding="utf-8") as fh:
                    fh.write("".join(f'#include "{i}"\n' for i in incs))
            got = 1 if check("includes", include_graph(root, sources(root))) else 0
        print(f"{'ok  ' if got == want else 'FAIL'} self-test {name}: exit {got}, want {want}")
        bad += got != want
    # The call graph: two object files in two folders calling each other.
    with tempfile.TemporaryDirectory() as root:
        build = os.path.join(root, "build")
        for folder, name, body in (("bot/a", "x", "int y(void); int x(void) { return y(); }"),
                                   ("bot/b", "y", "int x(void); int y(void) { return x(); }")):
            os.makedirs(os.path.join(root, folder))
            src = os.path.join(root, folder, name + ".c")
            with open(src, "w", encoding="utf-8") as fh:
                fh.write(body + "\n")
            objdir = os.path.join(build, folder, "CMakeFiles", "t.dir")
            os.makedirs(objdir)
            subprocess.run(["cc", "-c", src, "-o", os.path.join(objdir, name + ".c.o")],
                           check=True)
        got = 1 if check("calls", symbol_graph(root, build)) else 0
    print(f"{'ok  ' if got == 1 else 'FAIL'} self-test call cycle: exit {got}, want 1")
    bad += got != 1
    return 1 if bad else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    root = sys.argv[1]
    files = sources(root)
    if not files:
        print(f"FAIL no product sources under {root}")
        return 1
    inc = include_graph(root, files)
    bad = check("includes", inc)
    if len(sys.argv) == 3:
        calls = symbol_graph(root, sys.argv[2])
        if not calls:
            print(f"FAIL no object files of the product under {sys.argv[2]}")
            return 1
        bad += check("calls", calls)
        print("dependency order: " + " < ".join(order(calls)))
    print("dependency order (includes): " + " < ".join(order(inc)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
