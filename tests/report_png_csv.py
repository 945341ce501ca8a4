#!/usr/bin/python3
"""The weekly report's files read by other software than the one that wrote
them: `test_report --write DIR` renders the known report of
tests/unit/test_report.c into DIR/out.png and DIR/out.csv; this script
decodes the PNG with the standard library alone (chunks and CRCs, IHDR,
IDAT inflated with zlib and unfiltered) and measures every bar in pixels,
and reads the CSV with Python's csv module. Then it renders again with a
fontconfig that knows no font at all: the picture must still come out, with
the same bars.

usage: report_png_csv.py PATH/TO/test_report
"""
import csv
import io
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

W, H = 900, 400
PLOT_X, PLOT_Y, PLOT_H, DAY_W, PAD = 50, 40, 300, 100, 10
BG = (255, 255, 255)
# Tableau 10's first three: the colours of environments 0, 1, 2.
COLOURS = [(0x4E, 0x79, 0xA7), (0xF2, 0x8E, 0x2B), (0xE1, 0x57, 0x59)]
NAMES = ["dev", 'qa, "east"', "prod\nline"]
HOURS = [[8.5, 10, 0, 12.25, 9, 0, 0],
         [24, 0, 3.2, 6, 0.01, 18, 1],
         [0, 0, 0, 0, 0, 0, 30]]
DATES = ["2026-12-%02d" % d for d in range(7, 14)]
# scheduled, actual, estimate, always_on, saved, actual_cost (None = empty)
SUMMARY = [[40, 39.75, 19.88, 84, 64.13, 21.30],
           [50, 52.21, 65.26, 210, 144.74, None],
           [0, 30, None, None, None, None]]

failures = []


def cround(v):
    """C's round(): halves away from zero (Python's round() goes to even)."""
    return math.floor(v + 0.5)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL " + what)


def png_chunks(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
    at, out = 8, []
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        crc, = struct.unpack(">I", data[at + 8 + n:at + 12 + n])
        check(zlib.crc32(kind + body) == crc, "CRC of chunk %r" % kind)
        out.append((kind, body))
        at += 12 + n
    check(out and out[0][0] == b"IHDR" and out[-1][0] == b"IEND", "IHDR first, IEND last")
    return out


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB PNG."""
    with open(path, "rb") as f:
        chunks = png_chunks(f.read())
    w, h, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    check((depth, ctype, interlace) == (8, 2, 0),
          "8-bit RGB, not interlaced: depth %d type %d interlace %d" % (depth, ctype, interlace))
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride, bpp = w * 3, 3
    check(len(raw) == h * (stride + 1), "IDAT size %d for %dx%d" % (len(raw), w, h))
    prev, rows = bytearray(stride), []
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, paeth(a, b, c))[ft]) & 0xFF
        rows.append([tuple(line[x * 3:x * 3 + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def check_png(path, label):
    w, h, px = decode(path)
    check((w, h) == (W, H), "%s: IHDR %dx%d, want %dx%d" % (label, w, h, W, H))
    if (w, h) != (W, H):
        return
    check(px[2][2] == BG, "%s: background white" % label)
    axis = PLOT_Y + PLOT_H
    each = (DAY_W - 2 * PAD) / 3.0
    for e, hours in enumerate(HOURS):
        for d, hrs in enumerate(hours):
            left = PLOT_X + d * DAY_W + PAD
            x0, x1 = cround(left + e * each), cround(left + (e + 1) * each)
            cx = (x0 + x1 - 2) // 2  # the middle of the bar (a 2 px gap on the right)
            want = 0 if hrs == 0 else max(1, cround(min(hrs, 24) * PLOT_H / 24.0))
            got = 0
            while got < PLOT_H and px[axis - 1 - got][cx] == COLOURS[e]:
                got += 1
            check(got == want, "%s: env %d day %d: bar %d px high, want %d (%.2f h)"
                  % (label, e, d, got, want, hrs))
            if want < PLOT_H:
                check(px[axis - 1 - want][cx] == BG,
                      "%s: env %d day %d: background above the bar" % (label, e, d))


def check_csv(path):
    with open(path, "rb") as f:
        raw = f.read()
    # one CRLF per record; the LF inside "prod\nline" is quoted data
    check(raw.endswith(b"\r\n") and raw.count(b"\r\n") == 1 + 21 + 3,
          "CRLF line ends: %d" % raw.count(b"\r\n"))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    check(rows[0] == ["row_type", "date", "environment", "hours_up", "scheduled_hours",
                      "actual_hours", "estimate", "always_on", "saved", "actual_cost",
                      "currency"], "header %r" % rows[0])
    check(len(rows) == 1 + 21 + 3, "%d rows" % len(rows))
    check(all(len(r) == 11 for r in rows), "11 columns everywhere")
    for e in range(3):
        for d in range(7):
            r = rows[1 + e * 7 + d]
            check(r[:3] == ["day", DATES[d], NAMES[e]], "day row %r" % r)
            check(r[3] == "%.2f" % HOURS[e][d] and float(r[3]) == round(HOURS[e][d], 2),
                  "hours_up %r for env %d day %d" % (r[3], e, d))
            check(r[4:] == [""] * 7, "day row's other fields empty: %r" % r)
        s = rows[22 + e]
        check(s[:4] == ["summary", DATES[0], NAMES[e], ""], "summary row %r" % s)
        for c, v in enumerate(SUMMARY[e]):
            field = s[4 + c]
            if v is None:
                check(field == "", "summary %d col %d empty: %r" % (e, c, field))
            else:
                check(field == "%.2f" % v, "summary %d col %d: %r want %.2f" % (e, c, field, v))
        check(s[10] == "USD", "currency %r" % s[10])


def render(binary, outdir, env=None):
    r = subprocess.run([binary, "--write", outdir], env=env, capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "test_report --write: exit %d %s" % (r.returncode, r.stderr))
    return r.returncode == 0


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="envbot-report-") as tmp:
        if render(binary, tmp):
            check_png(os.path.join(tmp, "out.png"), "chart")
            check_csv(os.path.join(tmp, "out.csv"))
        # No font anywhere: cairo falls back to its own; the bars are the same.
        bare = os.path.join(tmp, "nofonts")
        os.mkdir(bare)
        conf = os.path.join(bare, "fonts.conf")
        with open(conf, "w") as f:
            f.write('<?xml version="1.0"?>\n<fontconfig><cachedir>%s</cachedir></fontconfig>\n'
                    % bare)
        env = dict(os.environ, FONTCONFIG_FILE=conf, FONTCONFIG_PATH=bare, HOME=bare,
                   XDG_CACHE_HOME=bare)
        fc_list = shutil.which("fc-list")
        if fc_list:
            fonts = subprocess.run([fc_list], env=env, capture_output=True, text=True).stdout
            check(fonts.strip() == "", "the bare fontconfig still finds fonts: %r" % fonts[:200])
        if render(binary, bare, env):
            check_png(os.path.join(bare, "out.png"), "chart without fonts")
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok report_png_csv: PNG %dx%d with its 21 bars measured, CSV of 25 rows" % (W, H))
    return 0


if __name__ == "__main__":
    sys.exit(main())
