#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ipcbench report` on hostile or huge run directories.  Exit 0 pass, 1 fail, 77 skip.

usage: test_hostile.py CASE DRIVER
  CASE: inject_csv | inject_compare | inject_text | quoting | bounds | big | scale |
        cpu_columns | env_keys | clocksource | batch_column
  DRIVER: the ipcbench binary followed by the word "report"

A run is shared and compared: nothing written into one may run a command
(gnuplot evaluates code in its scripts, and backquotes inside double quotes),
quote its way out of summary.md or compare.csv, crash the report or keep it
busy for minutes.  Every injection touches a marker file if it ever runs.
"""
import csv
import json
import os
import resource
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_report as tr  # noqa: E402  (the fixtures and checks of the main report test)

check = tr.check
marker = None  # set per case: the file a payload would create


def payloads():
    """Texts that run `touch MARKER` if they reach gnuplot as code."""
    m = marker
    return [
        'x"; system("touch %s"); y="' % m,  # out of PLACEMENT = "%s"
        "`touch %s`" % m,  # backquotes, evaluated inside double quotes
        "x' . system(\"touch %s\") . '" % m,  # out of a single-quoted TICS = '...'
        'x" 0); system("touch %s"); set ytics ("y' % m,  # out of compare's eval TICS
        "ok\tshm",  # a tab
    ]


def nothing_ran(what):
    """No marker: neither the absolute one nor a relative one in gnuplot's directory."""
    ran = [os.path.join(d, n) for d, _, names in os.walk(os.path.dirname(marker))
           for n in names if n == "PWNED"]
    check(not ran, "%s: the payload ran (%s exists)" % (what, ran))
    for m in ran:
        os.unlink(m)


def read_rows(run, name="results.csv"):
    with open(os.path.join(run, name), newline="") as f:
        rows = list(csv.DictReader(f))
    return rows, list(rows[0].keys())


def write_rows(run, rows, header, name="results.csv"):
    with open(os.path.join(run, name), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def fresh(tmp, fixture, name=None):
    dst = os.path.join(tmp, name or fixture)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(os.path.join(tr.FIXTURES, fixture), dst)
    return dst


def edit(tmp, fixture, name, column, value, pick=lambda r: r["mode"] == "latency", every=False):
    """A copy of FIXTURE whose first row (or EVERY row) matching PICK has COLUMN = VALUE."""
    run = fresh(tmp, fixture, "edited")
    rows, header = read_rows(run, name)
    for r in rows:
        if pick(r):
            r[column] = value
            if not every:
                break
    write_rows(run, rows, header, name)
    return run


def bad(driver, run, words, what, args=()):
    tr.expect_bad(driver, [run] + list(args), [run], words)
    nothing_ran(what)


def case_inject_csv(driver, tmp):
    """Every text column that reaches the pictures comes from a closed set or a strict pattern."""
    for i, p in enumerate(payloads()):
        for col in ("placement", "backend", "mode", "status"):
            every = col in ("placement", "backend")  # so that the pictures use it
            run = edit(tmp, "single", "results.csv", col, p, lambda r: every or r["mode"] == "latency",
                       every)
            bad(driver, run, ["results.csv", col, "allowed"], "results.csv %s #%d" % (col, i))
        for col in ("placement", "backend", "mode"):
            run = edit(tmp, "single", "histograms.csv", col, p, lambda r: True, True)
            bad(driver, run, ["histograms.csv", col, "allowed"], "histograms.csv %s #%d" % (col, i))
    for b in ("Shm", "9p", "a" * 33, "", "sh m", "shm/x", "=1+1"):
        run = edit(tmp, "single", "results.csv", "backend", b)
        bad(driver, run, ["backend", "allowed"], "backend %r" % b)
    # The floor's backend column may be empty (older runs) but not hostile.
    run = edit(tmp, "single", "results.csv", "backend", "", lambda r: r["mode"] == "floor")
    rc, _, err = tr.run_report(driver, run)
    check(rc == 0, "floor with an empty backend: exit %d: %s" % (rc, err))
    run = edit(tmp, "single", "results.csv", "backend", payloads()[0], lambda r: r["mode"] == "floor")
    bad(driver, run, ["backend", "allowed"], "floor backend")


def case_inject_compare(driver, tmp):
    """Cell labels and run names of --compare reach the picture as data, never as code."""
    for i, p in enumerate(payloads()):
        for col in ("backend", "placement"):
            base = edit(tmp, "cmp-base", "results.csv", col, p, lambda r: True, True)
            base = shutil.move(base, os.path.join(tmp, "b"))
            cur = edit(tmp, "cmp-slow", "results.csv", col, p, lambda r: True, True)
            tr.expect_bad(driver, [cur, "--compare", base], [cur, base], [col, "allowed"])
            nothing_ran("compare %s #%d" % (col, i))
            shutil.rmtree(base)
    # Run directories named to break out of BASE = "..." / CUR = "...": drawn, quoted.
    # A directory name has no slash: the payload touches PWNED in gnuplot's directory.
    names = ['b`touch PWNED`"', "c'`touch PWNED`'x", 'd"; system("touch PWNED"); x="',
             "e\\\" . system(\"touch PWNED\") . \"", "f@MACRO $x"]
    for i, n in enumerate(names):
        d = os.path.join(tmp, "dirs%d" % i)
        os.mkdir(d)
        base = fresh(d, "cmp-base", n)
        cur = fresh(d, "cmp-slow", n + "-cur")
        rc, _, err = tr.run_report(driver, cur, "--compare", base)
        nothing_ran("run directory named %r" % n)
        check(rc == 0, "run directory named %r: exit %d: %s" % (n, rc, err))
        svg = os.path.join(cur, "report", "compare.svg")
        if check(os.path.isfile(svg), "%r: compare.svg not drawn: %s" % (n, err)):
            check(tr.svg_ok(svg) is None, "%r: compare.svg: %s" % (n, tr.svg_ok(svg)))
            with open(svg) as f:
                check("Each cell of" in f.read(), "%r: no title" % n)


def case_inject_text(driver, tmp):
    """Free text (env.json, the note column) is shown, escaped, and never runs."""
    for i, p in enumerate(payloads()):
        run = fresh(tmp, "single", "env%d" % i)
        with open(os.path.join(run, "env.json")) as f:
            env = json.load(f)
        for k in ("host", "cpu_model", "command", "kernel", "governor", "git_revision", "profile"):
            env[k] = p
        with open(os.path.join(run, "env.json"), "w") as f:
            json.dump(env, f)
        rows, header = read_rows(run)
        for r in rows:
            r["note"] = p
        write_rows(run, rows, header)
        rc, _, err = tr.run_report(driver, run)
        nothing_ran("env.json / note #%d" % i)
        check(rc == 0, "env.json / note #%d: exit %d: %s" % (i, rc, err))
        with open(os.path.join(run, "report", "index.html")) as f:
            page = f.read()
        check('"' not in p or "&quot;" in page, "#%d: a quote not escaped in index.html" % i)


def md_section(md, title):
    start = md.index("## %s\n" % title) + len(title) + 4
    end = md.find("\n## ", start)
    return md[start:end if end >= 0 else len(md)]


def case_quoting(driver, tmp):
    """summary.md's code block and code span, and compare.csv's fields, hold any text."""
    evil = "ipcbench run\n```\n# Injected heading\n\n<script>x</script> ````` |a|b|"
    base = fresh(tmp, "cmp-base", "base`x``y`")
    cur = fresh(tmp, "cmp-slow")
    with open(os.path.join(cur, "env.json")) as f:
        env = json.load(f)
    env["command"] = evil
    with open(os.path.join(cur, "env.json"), "w") as f:
        json.dump(env, f)
    rc, _, err = tr.run_report(driver, cur, "--compare", base)
    check(rc == 0, "quoting: exit %d: %s" % (rc, err))
    with open(os.path.join(cur, "report", "summary.md")) as f:
        md = f.read()
    check("\n# Injected heading" not in md, "summary.md: the command broke out of its code block")
    block = [ln for ln in md_section(md, "Command").split("\n") if ln]
    check(len(block) == 3, "summary.md: the command block is %d lines: %r" % (len(block), block))
    if len(block) == 3:
        fence = block[0]
        check(set(fence) == {"`"} and block[2] == fence and fence not in block[1],
              "summary.md: fences %r %r around %r" % (block[0], block[2], block[1]))
        check("Injected heading" in block[1], "summary.md: the command is not shown")
    line = [ln for ln in md.split("\n") if ln.startswith("Base: ")]
    if check(len(line) == 1, "summary.md: no Base line"):
        # A code span: N backticks, the text, N backticks, where the text has no run of N.
        s = line[0][len("Base: "):]
        n = len(s) - len(s.lstrip("`"))
        inner = s[n:s.index("`" * n, n)]
        check(n > 2 and "`" * n not in inner and "base`x``y`" in inner,
              "summary.md: base directory not in one code span: %r" % line[0])
    with open(os.path.join(cur, "report", "index.html")) as f:
        page = f.read()
    check("<script>" not in page, "index.html: the command is not escaped")
    with open(os.path.join(cur, "report", "compare.csv"), newline="") as f:
        rows = list(csv.reader(f))
    check(len(rows) == 9 and all(len(r) == 16 for r in rows), "compare.csv: %r" % rows[:2])


def case_bounds(driver, tmp):
    """Numbers that would overflow are refused when the run is read."""
    for col, v in (("size", "9007199254740993K"), ("size", "9223372036854775807M"),
                   ("size", "99999999999999999999"), ("size", "-1"),
                   ("producers", "2147483647"), ("consumers", "2147483647"),
                   ("producers", "0"), ("producers", "4097"), ("consumers", "1.5"),
                   ("producers", "nan"), ("producers", "1e300")):
        run = edit(tmp, "single", "results.csv", col, v, lambda r: r["mode"] == "throughput")
        bad(driver, run, [col], "%s %s" % (col, v))
    run = edit(tmp, "single", "histograms.csv", "size", "9007199254740993K", lambda r: True)
    bad(driver, run, ["size"], "histogram size")


CPU_COLS = ("cpu_ns_per_msg", "cpu_util", "csw_per_msg")


def case_cpu_columns(driver, tmp):
    """The CPU columns hold a finite number >= 0 or nothing; all three or none."""
    for col in CPU_COLS:
        for v in ("abc", "1e400", "inf", "-inf", "nan", "-1", "-0.5", "12 34", "1,5", p0()):
            run = edit(tmp, "cpu", "results.csv", col, v, lambda r: r["mode"] == "throughput")
            bad(driver, run, ["results.csv", col, "allowed"], "%s %r" % (col, v))
        # Empty: not measured, drawn as missing.
        run = edit(tmp, "cpu", "results.csv", col, "", lambda r: r["status"] == "ok", True)
        rc, _, err = tr.run_report(driver, run, "--svg-only")
        check(rc == 0, "%s empty everywhere: exit %d: %s" % (col, rc, err))
    for col in CPU_COLS:
        run = fresh(tmp, "cpu", "edited")
        rows, header = read_rows(run)
        header = [h for h in header if h != col]
        for r in rows:
            del r[col]
        write_rows(run, rows, header)
        bad(driver, run, ["missing column", col], "without %s" % col)


def batch_run(tmp, pick_value):
    """A copy of the cpu fixture with a batch column: PICK_VALUE(row) for each row."""
    run = fresh(tmp, "cpu", "batch")
    rows, header = read_rows(run)
    for r in rows:
        r["batch"] = pick_value(r)
    write_rows(run, rows, header + ["batch"])
    return run


def case_batch_column(driver, tmp):
    """batch (after the CPU columns): a whole number 1..1024 for throughput, empty otherwise."""
    def tp(v, other=""):
        return lambda r: v if r["mode"] == "throughput" else other
    for v in ("1", "32", "1024", ""):
        run = batch_run(tmp, tp(v))
        rc, _, err = tr.run_report(driver, run, "--svg-only")
        check(rc == 0, "batch %s: exit %d: %s" % (v, rc, err))
    for v in ("0", "-1", "1.5", "1025", "1e3x", "abc", "inf", p0()):
        bad(driver, batch_run(tmp, tp(v)), ["results.csv", "batch", "allowed"], "batch %r" % v)
    bad(driver, batch_run(tmp, tp("1", "1")), ["results.csv", "batch", "allowed"],
        "batch on a latency row")


def p0():
    return payloads()[0]


def edit_env(tmp, **keys):
    """A copy of the cpu fixture whose env.json has KEYS (None: removed)."""
    run = fresh(tmp, "cpu", "env")
    path = os.path.join(run, "env.json")
    with open(path) as f:
        env = json.load(f)
    for k, v in keys.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    with open(path, "w") as f:
        json.dump(env, f)
    return run


def case_env_keys(driver, tmp):
    """clocksource, tsc_invariant, timer_cost_ns and harness_ns_per_msg are checked."""
    for k, v in (("clocksource", 5), ("clocksource", ["tsc"]), ("clocksource", {"a": 1}),
                 ("clocksource", False), ("tsc_invariant", "yes"), ("tsc_invariant", 1),
                 ("tsc_invariant", "true"), ("timer_cost_ns", "17"), ("timer_cost_ns", -1),
                 ("timer_cost_ns", [1]), ("harness_ns_per_msg", [12.5]),
                 ("harness_ns_per_msg", "64: 12.5"), ("harness_ns_per_msg", 5)):
        bad(driver, edit_env(tmp, **{k: v}), ["env.json", k, "allowed"], "%s = %r" % (k, v))
    # Keys that are not sizes, values that are not costs.
    for key in ("abc", "-64", "64K", "064", "", "6 4", "1e3", "0x40", "99999999999999999999",
                "<b>64</b>", p0(), "64\n"):
        bad(driver, edit_env(tmp, harness_ns_per_msg={"64": 12.5, key: 1.0}),
            ["harness_ns_per_msg", "allowed"], "harness key %r" % key)
    for val in ("12", -1, -0.001, None, {}, [], True):
        bad(driver, edit_env(tmp, harness_ns_per_msg={"64": val}),
            ["harness_ns_per_msg", "allowed"], "harness value %r" % val)
    # JSON has no NaN: a run that writes one is not read at all.
    run = edit_env(tmp)
    with open(os.path.join(run, "env.json")) as f:
        text = f.read()
    with open(os.path.join(run, "env.json"), "w") as f:
        f.write(text.replace('"64": 12.5', '"64": NaN'))
    bad(driver, run, ["env.json"], "harness NaN")
    # Large but finite, zero, and every key absent: all fine.
    for keys in ({"harness_ns_per_msg": {"0": 0, "64": 1e300}},
                 {"clocksource": None, "tsc_invariant": None, "timer_cost_ns": None,
                  "harness_ns_per_msg": None}):
        rc, _, err = tr.run_report(driver, edit_env(tmp, **keys), "--svg-only")
        check(rc == 0, "%s: exit %d: %s" % (keys, rc, err))


def case_clocksource(driver, tmp):
    """The clocksource is text: escaped in index.html and summary.md, never in gnuplot."""
    evil = payloads() + ["<script>alert(1)</script>", "**bold** | `code` [link](http://x) \\",
                         "hpet\n# Injected heading\n", "&lt;b&gt;"]
    for i, cs in enumerate(evil):
        run = edit_env(tmp, clocksource=cs)
        rc, _, err = tr.run_report(driver, run)
        nothing_ran("clocksource #%d" % i)
        if not check(rc == 0, "clocksource #%d: exit %d: %s" % (i, rc, err)):
            continue
        rep = os.path.join(run, "report")
        with open(os.path.join(rep, "index.html")) as f:
            page = f.read()
        with open(os.path.join(rep, "summary.md")) as f:
            md = f.read()
        check("slow clock read" in page and "slow clock read" in md, "#%d: no warning" % i)
        check("<script>" not in page and "<b>" not in page and "&lt;b&gt;" not in page.replace(
            "&amp;lt;b&amp;gt;", ""), "#%d: clocksource not escaped in index.html" % i)
        check(not any(ln.startswith("# Injected") for ln in md.split("\n")),
              "#%d: the clocksource made a heading in summary.md" % i)
        check("[link](" not in md and "`code`" not in md and "**bold**" not in md,
              "#%d: the clocksource is markup in summary.md" % i)
        # Nothing of it reaches the pictures' data (what gnuplot reads).
        for fn in os.listdir(os.path.join(rep, "data")):
            with open(os.path.join(rep, "data", fn), errors="replace") as f:
                check(cs.strip() not in f.read(), "#%d: the clocksource is in data/%s" % (i, fn))


def limit_stack():
    resource.setrlimit(resource.RLIMIT_STACK, (512 << 10, 512 << 10))


ROW = ("{mode},{b},{size},{p},{c},{pl},ok,3,20000,0.5,40000,2.6e6,14000,24000,23000,30000,"
       "41000,140000,270000,0.02,")


def big_run(tmp, name, nrows):
    """NROWS ok cells: 4 backends, distinct sizes, latency and throughput, floor and bare."""
    run = fresh(tmp, "single", name)
    os.unlink(os.path.join(run, "benchmarks.json"))
    with open(os.path.join(run, "results.csv")) as f:
        header = f.readline()
    lines = [header.strip()]
    modes = ("latency", "throughput", "floor", "bare")
    backends = ("pipe", "sysv", "mqueue", "shm")
    for i in range(nrows):
        mode = modes[i % 4]
        b = "floor" if mode == "floor" else backends[(i // 4) % 4]
        lines.append(ROW.format(mode=mode, b=b, size=1 + i // 16, p=1 + (i // 8) % 3,
                                c=1 + (i // 24) % 2, pl=("same-l3", "same-cpu")[(i // 2) % 2]))
    with open(os.path.join(run, "results.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return run


def timed(driver, bound, what, *args, preexec=None):
    import subprocess
    t = time.monotonic()
    try:
        p = subprocess.run(driver + list(args), capture_output=True, text=True,
                           timeout=bound, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        check(False, "%s: still running after %d s" % (what, bound))
        return None, None
    dt = time.monotonic() - t
    print("%s: exit %d in %.1f s" % (what, p.returncode, dt))
    check(p.returncode == 0, "%s: exit %d: %s" % (what, p.returncode, p.stderr[-2000:]))
    return p, dt


def case_big(driver, tmp):
    """Many rows on a small stack: no variable-length array, no crash, nothing left."""
    run = big_run(tmp, "big", 120000)
    timed(driver, 100, "120k rows, 512 KiB stack", run, preexec=limit_stack)
    tr.no_leftovers(run)
    check(os.path.isfile(os.path.join(run, "report", "index.html")), "big: no report")


def case_scale(driver, tmp):
    """No quadratic step: 40k rows, and a comparison of 150k repetitions per cell."""
    run = big_run(tmp, "rows", 40000)
    timed(driver, 60, "40k rows", run)
    tr.no_leftovers(run)
    # Two cells, 150k repetitions each, with ties (values on a coarse grid).
    runs = []
    for name, shift in (("reps-base", 0), ("reps-cur", 3)):
        d = fresh(tmp, "cmp-base", name)
        rows, header = read_rows(d)
        rows = [r for r in rows if r["status"] == "ok"][:2]
        write_rows(d, rows, header)
        bench = []
        for r in rows:
            key = "lat_p50_ns" if r["mode"] == "latency" else "msgs_per_s"
            bname = "%s/%s/%s/%sx%s/%s/manual_time" % (r["mode"], r["backend"], r["size"],
                                                      r["producers"], r["consumers"],
                                                      r["placement"])
            for k in range(150000):
                bench.append({"name": bname, "run_name": bname, "run_type": "iteration",
                              key: 1000 + (k * 7919) % 500 + shift})
        with open(os.path.join(d, "benchmarks.json"), "w") as f:
            json.dump({"benchmarks": bench}, f)
        runs.append(d)
    p, _ = timed(driver, 90, "compare, 150k repetitions per cell", runs[1], "--compare", runs[0])
    if p and p.returncode == 0:
        with open(os.path.join(runs[1], "report", "compare.csv"), newline="") as f:
            got = list(csv.DictReader(f))
        check(len(got) == 2 and all(r["method"].startswith("Mann-Whitney") for r in got),
              "150k repetitions: %r" % got)


def set_marker(tmp):
    global marker
    marker = os.path.join(tmp, "PWNED")


if __name__ == "__main__":
    sys.exit(tr.main(globals(), __doc__, "ipcb-hostile-", set_marker))
