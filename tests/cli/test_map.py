#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ipcbench map` on this machine: an n x n map per backend (every cell a number, or
empty with its reason in pairs.csv), the relations, env.json; the report draws it;
--out as for run; --mem-node's check (on node 0 where the machine has one node) for
map and run; every bad value of every flag exits 2 with one line, creating nothing.
Exit 0 pass, 1 fail, 77 skip."""
import csv
import json
import os
import sys

from clitest import check, finish, read_csv, run, tmpdir, IPCBENCH

RELATIONS = {"same-cpu", "smt", "same-l2", "same-l3", "cross-l3", "cross-numa",
             "cross-package", "none"}


def matrix(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def nodes():
    try:
        return sorted(int(d[4:]) for d in os.listdir("/sys/devices/system/node")
                      if d.startswith("node") and d[4:].isdigit())
    except FileNotFoundError:
        return [0]


def check_map(d, backends, cpus):
    n = len(cpus)
    hdr, rows = matrix(os.path.join(d, "relations.csv"))
    check(hdr[0] == "cpu" and sorted(int(c) for c in hdr[1:]) == sorted(cpus),
          f"relations.csv header {hdr} names the CPUs {cpus}")
    axis = [int(c) for c in hdr[1:]]
    check(len(rows) == n and all(len(r) == n + 1 for r in rows), "relations.csv is square")
    for i, r in enumerate(rows):
        check(int(r[0]) == axis[i], f"row {i} of relations.csv is CPU {axis[i]}")
        for j, rel in enumerate(r[1:]):
            check(rel in RELATIONS, f"relation {rel!r} is a topo relation")
            check((rel == "same-cpu") == (i == j), f"same-cpu exactly on the diagonal ({i},{j})")
            check(rel == rows[j][i + 1], f"relation of ({i},{j}) symmetric")
    _, pairs = read_csv(os.path.join(d, "pairs.csv"))
    check(len(pairs) == n * n * len(backends), f"pairs.csv has {n}x{n} rows per backend")
    reason = {(p["backend"], int(p["cpu_a"]), int(p["cpu_b"])): p for p in pairs}
    values = {}
    for b in backends:
        hdr, rows = matrix(os.path.join(d, f"map-{b}.csv"))
        check([int(c) for c in hdr[1:]] == axis, f"map-{b}.csv has the axis of relations.csv")
        check(len(rows) == n and all(len(r) == n + 1 for r in rows), f"map-{b}.csv is square")
        for i, r in enumerate(rows):
            for j, v in enumerate(r[1:]):
                p = reason.get((b, axis[i], axis[j]))
                check(p is not None, f"{b} {axis[i]}->{axis[j]} in pairs.csv")
                if v:
                    check(float(v) > 0 and p and p["status"] == "ok"
                          and float(p["lat_p50_ns"]) == float(v), f"{b} {i},{j}: {v} ns, ok")
                    values[(b, axis[i], axis[j])] = float(v)
                else:
                    check(p and p["status"] != "ok" and p["note"], f"{b} {i},{j}: a reason")
    env = json.load(open(os.path.join(d, "env.json")))
    check(env.get("profile") == "map", "env.json profile map")
    check(env.get("map", {}).get("backends") == backends, "env.json map.backends")
    check(sorted(env.get("map", {}).get("cpus", [])) == sorted(cpus), "env.json map.cpus")
    check(os.path.exists(os.path.join(d, "topology.xml")), "topology.xml written")
    return values


def main():
    cpus = sorted(os.sched_getaffinity(0))
    base = tmpdir()
    d = os.path.join(base, "map")
    r = run(["map", "--pair-time", "0.02", "--out", d], timeout=120)
    check(r.returncode == 0, f"map exits 0 (rc {r.returncode}: {r.stderr[-500:]})")
    check(f"results: {d}" in r.stdout, "stdout names the map")
    check("pairs measured" in r.stderr, "progress and the end on stderr")
    if r.returncode == 0:
        v = check_map(d, ["floor", "shm", "pipe"], cpus)
        if len(cpus) == 2:
            check(len(v) == 12, f"every cell of this 2-CPU machine measured ({len(v)} of 12)")
        print(r.stdout)
        # The report draws one heatmap per backend.
        rr = run(["report", d])
        check(rr.returncode == 0, f"report of the map exits 0 ({rr.stderr[-300:]})")
        for b in ("floor", "shm", "pipe"):
            for ext in ("svg", "png"):
                p = os.path.join(d, "report", f"map-{b}.{ext}")
                check(os.path.exists(p) and os.path.getsize(p) > 1000, f"{p} drawn")
        page = open(os.path.join(d, "report", "index.html")).read()
        check("map-shm.svg" in page and "Median p50 per relation" in page, "index.html")
        # --out as for run: a map there is replaced only with --force.
        r2 = run(["map", "--pair-time", "0.01", "--cpus", str(cpus[0]), "--backends", "floor",
                  "--out", d])
        check(r2.returncode == 2 and "--out" in r2.stderr, "a map in --out needs --force")
        r2 = run(["map", "--pair-time", "0.01", "--cpus", str(cpus[0]), "--backends", "floor",
                  "--out", d, "--force"])
        check(r2.returncode == 0, f"--force replaces it ({r2.stderr[-300:]})")
        check(not os.path.exists(os.path.join(d, "map-shm.csv")), "replaced whole")
        check_map(d, ["floor"], [cpus[0]])
    other = os.path.join(base, "other")
    os.mkdir(other)
    open(os.path.join(other, "keep"), "w").close()
    link = os.path.join(base, "link")
    os.symlink(other, link)
    for target in (other, link):
        r = run(["map", "--pair-time", "0.01", "--out", target, "--force"])
        check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
              f"--out {target}: refused with one line even with --force")

    # --mem-node: where the machine has one node, said once and still checked on node 0.
    node = nodes()[0]
    d = os.path.join(base, "mem")
    r = run(["map", "--pair-time", "0.01", "--cpus", str(cpus[-1]), "--mem-node", str(node),
             "--out", d])
    check(r.returncode == 0, f"map --mem-node {node} exits 0 ({r.stderr[-300:]})")
    if len(nodes()) == 1:
        check("no effect" in r.stderr, "one node: the option says it has no effect")
    if r.returncode == 0:
        mem = json.load(open(os.path.join(d, "env.json"))).get("mem_node", {})
        cells = mem.get("cells", {})
        check(mem.get("node") == node, "env.json mem_node.node")
        for key in ("map/shm/64", "map/floor/64"):
            c = cells.get(key, {})
            check(c.get("pages", 0) > 0 and c.get("pages_on_node") == c.get("pages"),
                  f"{key}: every page on node {node} ({c})")
        check("not placed" in cells.get("map/pipe/64", {}).get("note", ""),
              "pipe: the kernel's memory, said so")
    d = os.path.join(base, "run")
    r = run(["run", "--mode", "latency,bare,throughput", "--backends", "shm,pipe", "--sizes",
             "64", "--repetitions", "1", "--min-time", "0.01", "--mem-node", str(node),
             "--out", d], timeout=120)
    check(r.returncode == 0, f"run --mem-node exits 0 ({r.stderr[-300:]})")
    if r.returncode == 0:
        cells = json.load(open(os.path.join(d, "env.json"))).get("mem_node", {}).get("cells", {})
        for prefix in ("latency/shm/", "bare/shm/", "throughput/shm/"):
            got = [c for k, c in cells.items() if k.startswith(prefix)]
            check(got and all(c.get("pages", 0) > 0 and c["pages_on_node"] == c["pages"]
                              for c in got), f"run: {prefix} pages on node {node} ({got})")
        check(any(k.startswith("latency/pipe/") and "not placed" in c.get("note", "")
                  for k, c in cells.items()), "run: pipe not placed, said so")

    # Bad values: exit 2, one line, nothing created.
    bad = [["--backends", ""], ["--backends", "floor,floor"], ["--backends", "nosuch"],
           ["--backends", "pipe-stream"], ["--cpus", ""], ["--cpus", "0,0"],
           ["--cpus", "99999"], ["--cpus", "a"], ["--cpus", "1-0"], ["--size", "0"],
           ["--size", "2M"], ["--size", "x"], ["--size", "7"], ["--pair-time", "0"],
           ["--pair-time", "-1"], ["--pair-time", "61"], ["--pair-time", "nan"],
           ["--pair-time", "x"], ["--mem-node", "-1"], ["--mem-node", "1024"],
           ["--mem-node", "x"], ["--mem-node", str(max(nodes()) + 1)], ["--out", ""],
           ["--out"], ["--force=1"], ["--help=1"], ["--bogus"], ["extra"]]
    for args in bad:
        d = os.path.join(base, "never")
        r = run(["map", "--pair-time", "0.01"] + args + ([] if "--out" in args else ["--out", d]))
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1, f"map {args}: exit 2, one line "
              f"(rc {r.returncode}, {lines})")
        check(not os.path.exists(d), f"map {args}: nothing created")
    r = run(["run", "--mem-node", "x"])
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "run --mem-node x: 2")
    r = run(["map", "--help"])
    check(r.returncode == 0 and "--pair-time" in r.stdout, "map --help")
    r = run(["--help"])
    check(r.returncode == 0 and "map [options]" in r.stdout, "--help lists map")
    finish()


main()
