#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ipcbench report` of a map directory (what `ipcbench map` writes): one heatmap
per backend, index.html and summary.md; and the strict reading of hostile maps:
each is refused with exit 2 and one line, no report/ written, nothing of it run by
gnuplot.  Exit 0 pass, 1 fail, 77 skip.

usage: test_map_report.py IPCBENCH
"""
import os
import shutil
import subprocess
import sys
import tempfile

IPCBENCH = sys.argv[1]
failures = []
PWNED = os.path.join(tempfile.gettempdir(), f"ipcb-map-pwned-{os.getpid()}")


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def write_map(d, cpus, rel, maps):
    """rel: n x n names; maps: {backend: n x n values ('' = not measured)}"""
    os.makedirs(d)

    def mat(name, cells):
        with open(os.path.join(d, name), "w") as f:
            f.write("cpu," + ",".join(str(c) for c in cpus) + "\n")
            for c, row in zip(cpus, cells):
                f.write(f"{c}," + ",".join(str(v) for v in row) + "\n")
    mat("relations.csv", rel)
    for b, cells in maps.items():
        mat(f"map-{b}.csv", cells)
    with open(os.path.join(d, "env.json"), "w") as f:
        f.write('{"profile": "map"}')


def report(d, *more):
    return subprocess.run([IPCBENCH, "report", d] + list(more), capture_output=True, text=True,
                          timeout=120)


REL2 = [["same-cpu", "same-l3"], ["same-l3", "same-cpu"]]
OK2 = {"floor": [[4300, 421], [430.5, 4800]], "shm": [[8500, 850], ["", 9400]],
       "pipe": [[8400, 34800], [30300, 8600]]}


def normal(base):
    d = os.path.join(base, "ok")
    write_map(d, [0, 1], REL2, OK2)
    r = report(d)
    check(r.returncode == 0, f"a 2x2 map is drawn (rc {r.returncode}: {r.stderr})")
    rep = os.path.join(d, "report")
    for b in OK2:
        for ext in ("svg", "png"):
            p = os.path.join(rep, f"map-{b}.{ext}")
            check(os.path.exists(p) and os.path.getsize(p) > 1000, f"{p}")
    svg = open(os.path.join(rep, "map-shm.svg")).read()
    check("same-l3" in svg and "850 ns" in svg, "the cells show value and relation")
    check("not measured" in svg, "the cell without a value says so")
    html = open(os.path.join(rep, "index.html")).read()
    md = open(os.path.join(rep, "summary.md")).read()
    order = [html.find(f"<h2>{b}</h2>") for b in ("floor", "pipe", "shm")]
    check(all(i >= 0 for i in order) and order == sorted(order), "floor first, then by name")
    check("| same-l3 |" in md and "426 ns" in md, f"summary.md: median per relation\n{md}")
    r = report(d, "--svg-only")
    check(r.returncode == 0 and not os.path.exists(os.path.join(rep, "map-shm.png")),
          "--svg-only: SVG only")
    r = report(d, "--compare", d)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "--compare of a map: 2")
    # A bigger map: marks instead of text, tics thinned.
    n = 40
    cpus = list(range(n))
    rel = [["same-cpu" if i == j else "smt" if i // 2 == j // 2 else "cross-package"
            for j in cpus] for i in cpus]
    d = os.path.join(base, "big")
    write_map(d, cpus, rel, {"floor": [[100 + i + j for j in cpus] for i in cpus]})
    r = report(d)
    check(r.returncode == 0, f"a 40x40 map is drawn ({r.stderr})")


def hostile(base):
    inj = f'1"; system("touch {PWNED}"); print "'
    cases = {
        "not square": ([0, 1], [["same-cpu", "smt"]], None),
        "bad relation": ([0, 1], [["same-cpu", "l9"], ["smt", "same-cpu"]], None),
        "injected relation": ([0, 1], [["same-cpu", inj], ["smt", "same-cpu"]], None),
        "negative value": ([0, 1], REL2, {"floor": [[1, -5], [1, 1]]}),
        "zero value": ([0, 1], REL2, {"floor": [[1, 0], [1, 1]]}),
        "nan value": ([0, 1], REL2, {"floor": [[1, "nan"], [1, 1]]}),
        "inf value": ([0, 1], REL2, {"floor": [[1, "1e400"], [1, 1]]}),
        "hex value": ([0, 1], REL2, {"floor": [[1, "0x10"], [1, 1]]}),
        "huge value": ([0, 1], REL2, {"floor": [[1, "2e12"], [1, 1]]}),
        "text value": ([0, 1], REL2, {"floor": [[1, "fast"], [1, 1]]}),
        "injected value": ([0, 1], REL2, {"floor": [[1, inj], [1, 1]]}),
        "fraction cpu": (["0", "1.5"], REL2, None),
        "negative cpu": (["0", "-1"], REL2, None),
        "big cpu": (["0", "99999999"], REL2, None),
        "repeated cpu": ([3, 3], REL2, None),
        "injected cpu": (["0", inj], REL2, None),
    }
    for name, (cpus, rel, maps) in cases.items():
        d = os.path.join(base, name.replace(" ", "_"))
        write_map(d, cpus, rel, maps if maps is not None else {"floor": [[1, 2], [3, 4]]})
        r = report(d)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1, f"{name}: exit 2, one line ({r.returncode}"
              f", {lines})")
        check(not os.path.exists(os.path.join(d, "report")), f"{name}: no report")
    # Rows not in the header's order, another axis in a map file, a bad backend file name.
    d = os.path.join(base, "row_order")
    write_map(d, [0, 1], REL2, {"floor": [[1, 2], [3, 4]]})
    with open(os.path.join(d, "relations.csv"), "w") as f:
        f.write("cpu,0,1\n1,same-l3,same-cpu\n0,same-cpu,same-l3\n")
    d2 = os.path.join(base, "other_axis")
    write_map(d2, [0, 1], REL2, {"floor": [[1, 2], [3, 4]]})
    with open(os.path.join(d2, "map-shm.csv"), "w") as f:
        f.write("cpu,0,2\n0,1,2\n2,3,4\n")
    d3 = os.path.join(base, "bad_name")
    write_map(d3, [0, 1], REL2, {"floor": [[1, 2], [3, 4]]})
    open(os.path.join(d3, 'map-x";system("touch ' + os.path.basename(PWNED) + '").csv'),
         "w").write("cpu,0,1\n0,1,2\n1,3,4\n")
    d4 = os.path.join(base, "no_backend")
    write_map(d4, [0, 1], REL2, {})
    for d in (d, d2, d3, d4):
        r = report(d)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1, f"{d}: exit 2, one line ({lines})")
        check(not os.path.exists(os.path.join(d, "report")), f"{d}: no report")
    check(not os.path.exists(PWNED), "nothing of a map ran as gnuplot code")


def main():
    if not shutil.which("gnuplot"):
        print("SKIP: no gnuplot")
        sys.exit(77)
    base = tempfile.mkdtemp(prefix="ipcb-map-report-")
    try:
        normal(base)
        hostile(base)
    finally:
        shutil.rmtree(base, True)
        if os.path.exists(PWNED):
            os.unlink(PWNED)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("ok")


main()
