#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The rate and wakeup pictures in the report of a tiny real run, and results.csv's
load columns read strictly.  Exit 0 pass, 1 fail, 77 skip.

usage: test_rate_report.py IPCBENCH

A run of two backends (rate 1k, 50M (saturated) and max; wakeup after 100 us) is
reported: rate_latency, wakeup_latency and rate_cpu are drawn (SVG and PNG, gnuplot
silent) and shown in index.html and summary.md, the saturated rates marked.  Then
copies of it with one field of offered_rate, achieved_rate, gap_ns or status made
wrong are refused with one line naming the column, and no text of them runs.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

IPCBENCH = sys.argv[1] if len(sys.argv) > 1 else "build/bench/ipcbench"
PICS = ["rate_latency", "wakeup_latency", "rate_cpu"]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_report as tr  # noqa: E402  (its check and failures)

check, failures = tr.check, tr.failures


def run(*args, timeout=120):
    env = dict(os.environ)
    env.pop("IPCBENCH_FAULT", None)
    return subprocess.run([IPCBENCH] + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)


if not shutil.which("gnuplot"):
    print("SKIP: gnuplot is not on PATH")
    sys.exit(77)
tmp = tempfile.mkdtemp(prefix="ipcb-rate-report-")
try:
    run_dir = os.path.join(tmp, "run")
    r = run("run", "--mode", "rate,wakeup", "--backends", "pipe,shm", "--sizes", "64",
            "--rates", "1k,50M,max", "--gaps", "100us", "--duration", "0.05",
            "--repetitions", "1", "--out", run_dir)
    if not check(r.returncode == 0, f"run: exit {r.returncode}: {r.stderr[-1500:]}"):
        sys.exit(1)
    r = run("report", run_dir)
    check(r.returncode == 0, f"report: exit {r.returncode}: {r.stderr[-1500:]}")
    rep = os.path.join(run_dir, "report")
    html = open(os.path.join(rep, "index.html")).read()
    md = open(os.path.join(rep, "summary.md")).read()
    for p in PICS:
        for ext in ("svg", "png"):
            f = os.path.join(rep, f"{p}.{ext}")
            check(os.path.isfile(f) and os.path.getsize(f) > 1000, f"{p}.{ext} not drawn")
        check(f"{p}.svg" in html, f"index.html does not show {p}")
        check(p in md, f"summary.md does not name {p}")
        check(not os.path.exists(os.path.join(rep, "data", f"{p}.log")),
              f"gnuplot complained on {p}.gp")
    data = os.listdir(os.path.join(rep, "data"))
    check(any(n.startswith("rate_latency-sat_") for n in data),
          f"the saturated rates are not marked: {sorted(data)}")
    check(any(n.startswith("rate_latency-max_") for n in data), "max is not marked")
    svg = open(os.path.join(rep, "rate_latency.svg")).read()
    check("saturated" in svg and "offered rate" in svg, "rate_latency.svg lacks its legend")

    # Strict reading: each bad field refused with one line naming its column.
    with open(os.path.join(run_dir, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0].keys())
    marker = os.path.join(tmp, "PWNED")
    inject = 'max"; system("touch %s"); x="' % marker

    def first(mode, status="ok"):
        return next(i for i, row in enumerate(rows) if row["mode"] == mode
                    and row["status"] == status)

    BAD = [
        (first("rate"), "offered_rate", inject),
        (first("rate"), "offered_rate", ""),
        (first("rate"), "offered_rate", "0"),
        (first("rate"), "offered_rate", "inf"),
        (first("rate"), "offered_rate", "-5"),
        (first("rate"), "achieved_rate", "nan"),
        (first("rate"), "achieved_rate", "-1"),
        (first("rate"), "gap_ns", "1000"),
        (first("wakeup"), "gap_ns", ""),
        (first("wakeup"), "gap_ns", "`touch %s`" % marker),
        (first("wakeup"), "offered_rate", "1000"),
        (first("wakeup"), "status", "saturated"),
        (first("rate"), "mode", "rates"),
        (first("rate"), "status", "saturated; x"),
    ]
    for n, (i, col, val) in enumerate(BAD):
        d = os.path.join(tmp, f"bad{n}")
        shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("report"))
        edited = [dict(row) for row in rows]
        edited[i][col] = val
        with open(os.path.join(d, "results.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            w.writerows(edited)
        r = run("report", d)
        lines = r.stderr.strip().splitlines()
        what = f"{col}={val!r} in row {i + 2}"
        check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2")
        check(len(lines) == 1 and col in r.stderr and "allowed" in r.stderr,
              f"{what}: stderr {r.stderr!r}")
    # Without the three columns (a run written before them) the pictures are left out.
    d = os.path.join(tmp, "old")
    shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("report"))
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        old = [h for h in header if h not in ("offered_rate", "achieved_rate", "gap_ns")]
        w = csv.DictWriter(f, fieldnames=old, extrasaction="ignore")
        w.writeheader()
        w.writerows(row for row in rows if row["mode"] not in ("rate", "wakeup"))
    r = run("report", d)
    check(r.returncode == 0, f"old run: exit {r.returncode}: {r.stderr[-600:]}")
    check(not os.path.exists(marker), "a text of results.csv ran as a command")
finally:
    shutil.rmtree(tmp, True)
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("ok")
