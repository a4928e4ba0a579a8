#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ipcbench report` on the committed fixtures.  Exit 0 pass, 1 fail, 77 skip.

usage: test_report.py CASE DRIVER
  CASE: normal | nonfinite | floor64 | skipfail | single | compare | badinput | cpu |
        cpu_old | clock
  DRIVER: the command that runs `ipcbench report ARGS...`: the ipcbench binary
          followed by the word "report"

Each case copies its fixtures into a fresh temporary directory: the report is
written into the run directory, never into the source tree.
"""
import csv
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("IPCB_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(SRC, "tests", "report", "fixtures")
ALL_PICS = ["latency_vs_size", "throughput_vs_size", "throughput_vs_pc", "latency_percentiles",
            "placement", "latency_cdf", "overhead"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.refs.append(v)

    def handle_data(self, data):
        self.text.append(data)


def run_report(driver, *args, env=None):
    cmd = driver + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=90)
    return p.returncode, p.stdout, p.stderr


def svg_ok(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return "not well-formed XML: %s" % e
    if not root.tag.endswith("svg"):
        return "root element is %s" % root.tag
    shapes = [e for e in root.iter() if e.tag.split("}")[-1] in ("path", "polyline", "rect")]
    paths = [e for e in shapes if e.tag.split("}")[-1] in ("path", "polyline")]
    if len(paths) < 5:
        return "only %d path/polyline elements" % len(paths)
    return None


def png_ok(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return "no PNG signature"
    w, h = struct.unpack(">II", head[16:24])
    if w < 200 or h < 150 or os.path.getsize(path) < 2000:
        return "tiny PNG %dx%d, %d bytes" % (w, h, os.path.getsize(path))
    return None


def no_leftovers(run):
    left = [n for n in os.listdir(run) if n.startswith(".report.")]
    return check(not left, "%s: temporary directories left: %s" % (run, left))


def check_report(run, drawn, not_drawn, stderr="", png=True):
    rep = os.path.join(run, "report")
    if not check(os.path.isdir(rep), "%s: no report directory" % run):
        return None
    no_leftovers(run)
    for name in ("index.html", "summary.md"):
        check(os.path.getsize(os.path.join(rep, name)) > 500, "%s: %s missing or tiny" % (rep, name))
    for pic in drawn:
        for ext, fn in (("svg", svg_ok), ("png", png_ok))[:2 if png else 1]:
            p = os.path.join(rep, pic + "." + ext)
            if check(os.path.isfile(p), "%s.%s not written" % (pic, ext)):
                err = fn(p)
                check(err is None, "%s.%s: %s" % (pic, ext, err))
    for pic in not_drawn:
        check(not os.path.exists(os.path.join(rep, pic + ".svg")),
              "%s drawn although it has no data" % pic)
        check(pic + " not drawn" in stderr, "stderr does not say %s is not drawn" % pic)
    # gnuplot said nothing at all (no errors, no warnings) for these fixtures.
    logs = [n for n in os.listdir(os.path.join(rep, "data")) if n.endswith(".log")]
    for n in logs:
        with open(os.path.join(rep, "data", n)) as f:
            print("gnuplot said in %s:\n%s" % (n, f.read()))
    check(not logs, "gnuplot wrote warnings or errors: %s" % logs)

    with open(os.path.join(rep, "index.html")) as f:
        page = f.read()
    parser = Refs()
    parser.feed(page)
    for ref in parser.refs:
        check("://" not in ref and not ref.startswith("/") and not ref.startswith("//"),
              "index.html refers outside the report: %s" % ref)
        target = ref.split("#")[0]
        if target:
            check(os.path.isfile(os.path.join(rep, target)),
                  "index.html refers to %s, which does not exist" % ref)
    for pic in drawn:
        check('src="%s.svg"' % pic in page, "index.html does not show %s" % pic)
    for pic in not_drawn:
        check(pic + ".svg" not in page, "index.html refers to undrawn %s" % pic)
    check("<h2>Machine</h2>" in page and "Results" in page, "index.html lacks its sections")

    # Every cell in the table, skipped and failed ones with their reasons.
    with open(os.path.join(run, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    text = "".join(parser.text)
    with open(os.path.join(rep, "summary.md")) as f:
        md = f.read()
    check(page.count("<tr class=") == len(rows),
          "index.html has %d result rows, results.csv %d" % (page.count("<tr class="), len(rows)))
    for r in rows:
        if r["status"] != "ok":
            check(r["note"] in text, "index.html lacks the reason %r" % r["note"])
            check('<tr class="%s">' % r["status"] in page, "no %s row styled" % r["status"])
            check("**%s**" % r["status"] in md, "summary.md does not show %s" % r["status"])
    return rows, page, md


def spot_check(run, rows):
    """The numbers drawn are the numbers measured."""
    data = os.path.join(run, "report", "data")
    want = {(r["backend"], int(r["size"])): float(r["lat_p50_ns"]) for r in rows
            if r["mode"] == "latency" and r["status"] == "ok" and r["placement"] == "same-l3"}
    n = 0
    for fn in os.listdir(data):
        if not fn.startswith("latency_vs_size_") or fn.endswith("_floor.csv"):
            continue
        b = fn[len("latency_vs_size_"):-4]
        with open(os.path.join(data, fn)) as f:
            for line in f:
                size, p50, _ = line.strip().split(",")
                check(abs(float(p50) / want[(b, int(size))] - 1) < 1e-4,
                      "latency_vs_size: %s %s drawn %s, measured %s" %
                      (b, size, p50, want[(b, int(size))]))
                n += 1
    check(n == len(want), "latency_vs_size draws %d points, the run has %d" % (n, len(want)))


def copy(tmp, *names):
    for n in names:
        shutil.copytree(os.path.join(FIXTURES, n), os.path.join(tmp, n))
    return [os.path.join(tmp, n) for n in names]


def case_normal(driver, tmp):
    (run,) = copy(tmp, "normal")
    rc, out, err = run_report(driver, run)
    check(rc == 0, "normal: exit %d: %s" % (rc, err))
    check(out.strip() == os.path.join(run, "report", "index.html"), "stdout: %r" % out)
    res = check_report(run, ALL_PICS, [], err)
    if res:
        spot_check(run, res[0])
        check("Intel(R) Xeon(R) Processor" in res[1], "machine not shown")
        check("ipcbench run --profile quick" in res[1], "command not shown")
    # Again: the old report is replaced whole.
    open(os.path.join(run, "report", "stale.txt"), "w").close()
    rc, out, err = run_report(driver, run + "/")
    check(rc == 0, "normal, second time: exit %d: %s" % (rc, err))
    check(not os.path.exists(os.path.join(run, "report", "stale.txt")), "old report kept")
    no_leftovers(run)
    # The same run against itself: nothing may be flagged.
    (base,) = copy(tmp + "/b", "normal")
    rc, out, err = run_report(driver, run, "--compare", base)
    check(rc == 0, "normal vs itself: exit %d: %s" % (rc, err))
    with open(os.path.join(run, "report", "compare.csv"), newline="") as f:
        cmp_rows = list(csv.DictReader(f))
    check(len(cmp_rows) > 50, "normal vs itself: %d rows compared" % len(cmp_rows))
    check(all(r["verdict"] == "within noise" for r in cmp_rows),
          "normal vs itself: flagged %s" % [r for r in cmp_rows if r["verdict"] != "within noise"][:2])


def case_nonfinite(driver, tmp):
    """google-benchmark writes a rate over a zero time as a bare Infinity (not JSON)."""
    (run,) = copy(tmp, "normal")
    path = os.path.join(run, "benchmarks.json")
    with open(path) as f:
        text = f.read()
    first = text.index('"bytes_per_second": ')
    text = (text[:first] + '"bytes_per_second": Infinity, "x": "NaN Infinity", "y": -Infinity, '
            '"z": NaN, ' + text[first:])
    with open(path, "w") as f:
        f.write(text)
    rc, out, err = run_report(driver, run)
    check(rc == 0, "benchmarks.json with Infinity/NaN: exit %d: %s" % (rc, err))
    no_leftovers(run)


def case_floor64(driver, tmp):
    """A real run measures the floor at 64 B only (one cache line): every size of
    the overhead picture is still divided by it."""
    (run,) = copy(tmp, "normal")
    path = os.path.join(run, "results.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
        header = rows and list(rows[0].keys())
    rows = [r for r in rows if r["mode"] != "floor" or r["size"] == "64"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    rc, out, err = run_report(driver, run)
    check(rc == 0, "floor64: exit %d: %s" % (rc, err))
    floor = {r["placement"]: float(r["lat_p50_ns"]) for r in rows if r["mode"] == "floor"}
    want = {(r["backend"], r["size"]): float(r["lat_p50_ns"]) / floor["same-l3"] for r in rows
            if r["mode"] == "latency" and r["status"] == "ok" and r["placement"] == "same-l3"}
    data = os.path.join(run, "report", "data")
    got = {}
    for fn in os.listdir(data):
        if fn.startswith("overhead_") and fn.endswith(".csv"):
            with open(os.path.join(data, fn)) as f:
                for line in f:
                    size, _, vs_floor = line.strip().split(",")
                    got[(fn[len("overhead_"):-4], size)] = vs_floor
    check(set(got) == set(want), "overhead: cells %s, want %s" % (sorted(got), sorted(want)))
    for k, v in want.items():
        check(k in got and got[k] != "?" and abs(float(got[k]) / v - 1) < 1e-4,
              "overhead vs floor of %s: %s, want %.4g" % (k, got.get(k), v))


def case_skipfail(driver, tmp):
    (run,) = copy(tmp, "skipfail")
    rc, out, err = run_report(driver, run)
    check(rc == 0, "skipfail: exit %d: %s" % (rc, err))
    res = check_report(run, ["latency_vs_size", "throughput_vs_size", "latency_percentiles",
                             "overhead"], ["throughput_vs_pc", "placement", "latency_cdf"], err)
    if res:
        page = res[1]
        check("&quot;seq&quot; 813 before 812" in page, "quoted note not shown escaped")
        check("Not drawn: Latency distribution" in page and "no histograms.csv" in page,
              "index.html does not say why the CDF is missing")
        check("one placement only" in page, "index.html does not say why placement is missing")


def case_single(driver, tmp):
    (run,) = copy(tmp, "single")
    rc, out, err = run_report(driver, run)
    check(rc == 0, "single: exit %d: %s" % (rc, err))
    check_report(run, ["latency_vs_size", "throughput_vs_size", "latency_percentiles",
                       "latency_cdf", "overhead"], ["throughput_vs_pc", "placement"], err)
    # --svg-only: the small report one commits (no PNG, no link to one).
    rc, out, err = run_report(driver, run, "--svg-only")
    check(rc == 0, "single --svg-only: exit %d: %s" % (rc, err))
    check_report(run, ["latency_vs_size", "throughput_vs_size", "latency_percentiles",
                       "latency_cdf", "overhead"], ["throughput_vs_pc", "placement"], err,
                 png=False)
    pngs = [n for n in os.listdir(os.path.join(run, "report")) if n.endswith(".png")]
    check(not pngs, "--svg-only wrote %s" % pngs)


def compare(driver, run, base):
    rc, out, err = run_report(driver, run, "--compare", base)
    check(rc == 0, "compare %s %s: exit %d: %s" % (run, base, rc, err))
    check_report(run, ["latency_vs_size", "throughput_vs_size", "latency_percentiles", "compare"],
                 ["throughput_vs_pc", "placement", "latency_cdf", "overhead"], err)
    with open(os.path.join(run, "report", "compare.csv"), newline="") as f:
        return list(csv.DictReader(f))


def case_compare(driver, tmp):
    base, slow, same = copy(tmp, "cmp-base", "cmp-slow", "cmp-same")
    rows = compare(driver, slow, base)
    check(len(rows) == 8, "slow vs base: %d cells compared, want 8" % len(rows))
    for r in rows:
        check(r["verdict"] == "slower", "2x slowdown not flagged slower: %s" % r)
        check(abs(float(r["speedup"]) - 0.5) < 0.01, "2x slowdown: speed %s" % r["speedup"])
        want = 2.0 if r["mode"] == "latency" else 0.5
        check(abs(float(r["ratio"]) - want) < 0.01, "2x slowdown: ratio %s" % r["ratio"])
        check(r["method"].startswith("Mann-Whitney") and float(r["p_value"]) < 0.05,
              "2x slowdown: %s p=%s" % (r["method"], r["p_value"]))
    with open(os.path.join(slow, "report", "summary.md")) as f:
        md = f.read()
    check("| **slower** |" in md and "8 cells compared: 0 faster, 8 slower" in md,
          "summary.md lacks the comparison")
    rows = compare(driver, same, base)
    check(len(rows) == 8, "same vs base: %d cells compared" % len(rows))
    for r in rows:
        check(r["verdict"] == "within noise", "same code twice flagged: %s" % r)
        check(float(r["p_value"]) > 0.3, "same code twice: p=%s" % r["p_value"])
    rows = compare(driver, base, slow)
    check(all(r["verdict"] == "faster" for r in rows) and len(rows) == 8,
          "2x speedup not flagged faster: %s" % rows[:1])


def expect_bad(driver, args, runs, words, code=2, env=None):
    before = {r: os.path.exists(os.path.join(r, "report")) for r in runs}
    rc, out, err = run_report(driver, *args, env=env)
    lines = err.strip().splitlines()
    check(rc == code, "%s: exit %d, want %d" % (args, rc, code))
    check(len(lines) == 1, "%s: %d lines on stderr: %r" % (args, len(lines), err))
    for w in words:
        check(w in err, "%s: stderr %r lacks %r" % (args, err, w))
    check(out == "", "%s: stdout %r" % (args, out))
    for r in runs:
        if os.path.isdir(r):
            no_leftovers(r)
            if not before[r]:
                check(not os.path.exists(os.path.join(r, "report")), "%s: report left" % r)


def fmt_ns(v):
    """rep_fmt_ns: 23.4 µs, 105 ns, 1.25 ms."""
    if v >= 1e6:
        return "%.3g ms" % (v / 1e6)
    if v >= 1e3:
        return "%.3g µs" % (v / 1e3)
    return "%.3g ns" % v


def size_label(size):
    """rep_size_label for the fixtures' sizes: 64 B, 4 KiB."""
    size = int(size)
    return "%d KiB" % (size // 1024) if size >= 1024 and size % 1024 == 0 else "%d B" % size


def md_table(md, section):
    """The rows of the first table in summary.md's SECTION, as lists of stripped cells."""
    start = md.index("## %s\n" % section)
    end = md.find("\n## ", start + 1)
    lines = [ln for ln in md[start:end if end >= 0 else len(md)].split("\n")
             if ln.startswith("|")]
    return [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]


def read_series(data, prefix):
    """data/PREFIX_<backend>.csv of a picture: {(backend, size): [values...]}."""
    got = {}
    for fn in os.listdir(data):
        if fn.startswith(prefix + "_") and fn.endswith(".csv"):
            b = fn[len(prefix) + 1:-4]
            with open(os.path.join(data, fn)) as f:
                for line in f:
                    size, *vals = line.strip().split(",")
                    got[(b, int(size))] = vals
    return got


CPU_PICS = ["latency_vs_size", "throughput_vs_size", "throughput_vs_pc", "latency_percentiles",
            "latency_cdf", "overhead", "cpu_per_msg"]


def case_cpu(driver, tmp):
    """A run with the CPU columns, clock and harness keys, and a bare cell per backend."""
    (run,) = copy(tmp, "cpu")
    rc, out, err = run_report(driver, run)
    check(rc == 0, "cpu: exit %d: %s" % (rc, err))
    res = check_report(run, CPU_PICS, ["placement"], err)
    if not res:
        return
    rows, page, md = res
    data = os.path.join(run, "report", "data")
    ok11 = [r for r in rows if r["status"] == "ok" and r["placement"] == "same-l3" and
            r["producers"] == "1" and r["consumers"] == "1"]
    # The picture draws each 1x1 cell's measured CPU figures, nothing else.
    for kind, mode in (("lat", "latency"), ("tput", "throughput")):
        want = {(r["backend"], int(r["size"])): (float(r["cpu_ns_per_msg"]), float(r["cpu_util"]))
                for r in ok11 if r["mode"] == mode}
        got = read_series(data, "cpu_per_msg_" + kind)
        check(set(got) == set(want), "cpu_per_msg %s: cells %s, want %s" %
              (kind, sorted(got), sorted(want)))
        for k, (ns, util) in want.items():
            v = got.get(k)
            check(v is not None and abs(float(v[0]) / ns - 1) < 1e-4 and
                  abs(float(v[1]) / util - 1) < 1e-4,
                  "cpu_per_msg %s %s: drawn %s, measured %s %s" % (kind, k, v, ns, util))
    # Shown in index.html and summary.md like every picture.
    check('src="cpu_per_msg.svg"' in page and "](cpu_per_msg.svg)" in md,
          "cpu_per_msg not listed in index.html and summary.md")
    # Overhead: every backend with a bare cell, shm included; the stream pipe has no
    # ipcq backend of its own, so no line there.
    bare = {(r["backend"], int(r["size"])): float(r["lat_p50_ns"]) for r in rows
            if r["mode"] == "bare" and r["status"] == "ok"}
    lat = {(r["backend"], int(r["size"])): float(r["lat_p50_ns"]) for r in ok11
           if r["mode"] == "latency"}
    got = read_series(data, "overhead")
    with open(os.path.join(data, "overhead.txt")) as f:
        bb = f.read().split("\t")[1].split()
    check(bb == ["pipe", "sysv", "mqueue", "shm"], "overhead ÷ bare draws %s" % bb)
    for k, v in lat.items():
        g = got.get(k)
        check(g is not None and k in bare and abs(float(g[0]) / (v / bare[k]) - 1) < 1e-4,
              "overhead %s ÷ bare: drawn %s, want %s" % (k, g, k in bare and v / bare[k]))
    check(not any(b == "pipe-stream" for b, _ in got), "overhead draws pipe-stream")
    # The stream pipe is in the results table, with its CPU figures.
    ps = [r for r in rows if r["backend"] == "pipe-stream" and r["status"] == "ok"]
    table = md_table(md, "Results")
    head = table[0]
    check(head[13:16] == ["CPU/msg", "CPU util", "csw/msg"], "results table header %s" % head)
    check(len(ps) == 4, "the fixture has %d pipe-stream cells" % len(ps))
    for r in ps:
        line = [t for t in table if t[1] == "pipe-stream" and t[2] == size_label(r["size"])]
        check(len(line) == 1 and line[0][13] == fmt_ns(float(r["cpu_ns_per_msg"])),
              "results table: pipe-stream %s: %s" % (r["size"], line))
    # At a glance: CPU per message and CPU util of the latency and the throughput cell.
    g = md_table(md, "At a glance")
    check(g[0][6:10] == ["CPU ns/msg (latency, per round trip)", "CPU util (latency)",
                         "CPU ns/msg (throughput)", "CPU util (throughput)"],
          "glance header %s" % g[0])
    check("<th>CPU ns/msg (latency, per round trip)</th>" in page, "glance: no CPU in index.html")
    for b in ("pipe", "sysv", "mqueue", "shm"):
        l = [r for r in ok11 if r["mode"] == "latency" and r["backend"] == b and r["size"] == "64"][0]
        t = [r for r in ok11 if r["mode"] == "throughput" and r["backend"] == b and r["size"] == "64"][0]
        want = [fmt_ns(float(l["cpu_ns_per_msg"])), "%.2f" % float(l["cpu_util"]),
                fmt_ns(float(t["cpu_ns_per_msg"])), "%.2f" % float(t["cpu_util"])]
        line = [x for x in g if x[0] == b]
        check(len(line) == 1 and line[0][6:10] == want, "glance %s: %s, want %s" %
              (b, line, want))
    # The harness cost by size, with its share of the shm 1x1 throughput cell.
    with open(os.path.join(run, "env.json")) as f:
        harness = json.load(f)["harness_ns_per_msg"]
    shm = {int(r["size"]): 1e9 / float(r["msgs_per_s"]) for r in ok11
           if r["mode"] == "throughput" and r["backend"] == "shm"}
    h = md_table(md, "Harness cost")
    check("harness: encode+verify per message, no queue" in page and
          "harness: encode+verify per message, no queue" in md, "no harness table")
    check(len(h) == 2 + len(harness), "harness table: %s" % h)
    for size, ns in sorted(harness.items(), key=lambda kv: int(kv[0])):
        sz = int(size)
        share = "%.1f%%" % (100 * ns / shm[sz]) if sz in shm else "–"
        line = [x for x in h if x[0] == size_label(sz)]
        check(len(line) == 1 and line[0][1] == fmt_ns(ns) and line[0][3] == share,
              "harness %s: %s, want %s %s" % (size, line, fmt_ns(ns), share))
    # The machine section says which clock; tsc: no warning.
    check("<th>clocksource</th><td>tsc</td>" in page and "| clocksource | tsc |" in md,
          "clocksource not shown")
    check("<th>invariant TSC</th><td>yes</td>" in page, "TSC invariance not shown")
    check("Warning" not in page and "Warning" not in md, "a warning with clocksource tsc")


def case_cpu_old(driver, tmp):
    """A run without the CPU columns draws as before; --compare works both ways."""
    new, old = copy(tmp, "cpu", "normal")
    rc, out, err = run_report(driver, old)
    check(rc == 0, "old run: exit %d: %s" % (rc, err))
    res = check_report(old, ALL_PICS, ["cpu_per_msg"], err)
    if res:
        rows, page, md = res
        check("the run has no CPU columns" in page and "the run has no CPU columns" in md,
              "the old run does not say why cpu_per_msg is missing")
        check("CPU ns/msg" not in page and "CPU util" not in md and "CPU/msg" not in md,
              "the old run shows CPU columns")
        check("Harness cost" not in page and "Harness cost" not in md, "old run: harness table")
        check("Warning" not in page and "clocksource" not in page, "old run: clock shown")
    for cur, base in ((new, old), (old, new)):
        rc, out, err = run_report(driver, cur, "--compare", base)
        check(rc == 0, "compare %s with %s: exit %d: %s" % (cur, base, rc, err))
        with open(os.path.join(cur, "report", "compare.csv"), newline="") as f:
            got = list(csv.DictReader(f))
        check(len(got) > 20, "compare %s with %s: %d cells" % (cur, base, len(got)))
        drawn = os.path.isfile(os.path.join(cur, "report", "cpu_per_msg.svg"))
        check(drawn == (cur == new), "compare: cpu_per_msg drawn: %s" % drawn)
        check(os.path.isfile(os.path.join(cur, "report", "compare.svg")), "compare.svg missing")


def case_clock(driver, tmp):
    """A clocksource other than tsc, or a TSC that is not invariant, is a visible warning."""
    for cs, inv, cost, want in (("hpet", True, 1234.4, ["the clocksource is hpet", "1234 ns"]),
                                ("tsc", False, 17.9, ["the TSC is not invariant"]),
                                ("acpi_pm", False, None, ["the clocksource is acpi_pm",
                                                          "the TSC is not invariant"]),
                                (None, None, 17.9, [])):
        run = os.path.join(tmp, "clock")
        if os.path.exists(run):
            shutil.rmtree(run)
        shutil.copytree(os.path.join(FIXTURES, "cpu"), run)
        with open(os.path.join(run, "env.json")) as f:
            env = json.load(f)
        for k, v in (("clocksource", cs), ("tsc_invariant", inv), ("timer_cost_ns", cost)):
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        with open(os.path.join(run, "env.json"), "w") as f:
            json.dump(env, f)
        rc, _, err = run_report(driver, run, "--svg-only")
        what = "clocksource %s, invariant %s, cost %s" % (cs, inv, cost)
        check(rc == 0, "%s: exit %d: %s" % (what, rc, err))
        with open(os.path.join(run, "report", "index.html")) as f:
            page = f.read()
        with open(os.path.join(run, "report", "summary.md")) as f:
            md = f.read()
        machine = md[md.index("## Machine"):md.index("## Command")]
        html_machine = page[page.index("<h2>Machine</h2>"):page.index("<h2>Command</h2>")]
        if cs and cs != "tsc":
            w = "every latency includes a slow clock read"
            check(w in machine and w in html_machine, "%s: no slow-clock warning" % what)
            if cost:
                check("slow clock read: %.0f ns" % cost in machine, "%s: cost not shown" % what)
        for w in want:
            check(w in machine and w in html_machine, "%s: %r not in the machine section" %
                  (what, w))
        check(("Warning" in page) == bool(want) and ("**Warning:**" in md) == bool(want),
              "%s: warning shown: %s, want %s" % (what, "Warning" in page, bool(want)))
        nwarn = bool(cs and cs != "tsc") + (inv is False)
        check(page.count('class="warn"') == nwarn and md.count("**Warning:**") == nwarn,
              "%s: %d warnings, want %d" % (what, page.count('class="warn"'), nwarn))


def case_badinput(driver, tmp):
    notarun, missing, base, single, normal = copy(tmp, "notarun", "missingcol", "cmp-base",
                                                  "single", "normal")
    expect_bad(driver, [notarun], [notarun], ["not an ipcbench run", notarun])
    expect_bad(driver, [missing], [missing], ["missing column", "lat_p99_ns"])
    expect_bad(driver, [base, "--compare", single], [base, single], ["no cell in common"])
    expect_bad(driver, [base, "--compare", notarun], [base, notarun], ["not an ipcbench run"])
    expect_bad(driver, [os.path.join(tmp, "nonexistent")], [], ["not a directory"])
    expect_bad(driver, [], [], ["usage"])
    expect_bad(driver, [base, "--bogus"], [base], ["unknown option"])
    # Broken JSON is bad input too.
    with open(os.path.join(single, "benchmarks.json"), "w") as f:
        f.write('{"benchmarks": [ {"name": ')
    expect_bad(driver, [single], [single], ["benchmarks.json"])
    # A failed report leaves the previous one as it was.
    rc, _, err = run_report(driver, normal)
    check(rc == 0, "normal: exit %d: %s" % (rc, err))
    mtime = os.path.getmtime(os.path.join(normal, "report", "index.html"))
    expect_bad(driver, [normal, "--compare", missing], [normal], ["missing column"])
    check(os.path.getmtime(os.path.join(normal, "report", "index.html")) == mtime,
          "a failed report touched the previous one")
    # The scripts found through IPCB_PLOTS_DIR: a copy works, a wrong one is one clear line.
    plots = os.path.join(tmp, "myplots")
    shutil.copytree(os.path.join(SRC, "plots"), plots)
    rc, _, err = run_report(driver, base, env=dict(os.environ, IPCB_PLOTS_DIR=plots))
    check(rc == 0 and os.path.isfile(os.path.join(base, "report", "latency_vs_size.svg")),
          "IPCB_PLOTS_DIR=%s: exit %d: %s" % (plots, rc, err))
    shutil.rmtree(os.path.join(base, "report"))
    expect_bad(driver, [base], [base], ["no gnuplot scripts", "IPCB_PLOTS_DIR"], code=1,
               env=dict(os.environ, IPCB_PLOTS_DIR=os.path.join(tmp, "nowhere")))
    # No gnuplot: one clear line, nothing written.
    empty = os.path.join(tmp, "emptybin")
    os.mkdir(empty)
    env = dict(os.environ, PATH=empty)
    expect_bad(driver, [base], [base], ["gnuplot not found"], code=1, env=env)


def main(cases=None, doc=__doc__, prefix="ipcb-report-", setup=lambda tmp: None):
    """Runs case_CASE(driver, tmp) of CASES (a module's globals) in a fresh directory."""
    if len(sys.argv) < 3:
        print(doc)
        return 1
    case, driver = sys.argv[1], sys.argv[2:]
    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed (apt-get install gnuplot-nox)")
        return 77
    if not os.path.isdir(FIXTURES):
        print("no fixtures at", FIXTURES)
        return 1
    fn = (cases or globals()).get("case_" + case)
    if fn is None:
        print("unknown case", case)
        return 1
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        setup(tmp)
        fn(driver, tmp)
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
