# SPDX-License-Identifier: MIT
"""A tiny matrix end to end: every file written, every ok cell verified and positive."""
import json
import os
from clitest import COLUMNS, check, finish, read_csv, run, tmpdir

out = tmpdir()
r = run(["run", "--backends", "pipe,sysv,mqueue,shm", "--sizes", "64,64K",
         "--mode", "latency,throughput,floor,bare", "--repetitions", "2",
         "--min-time", "0.01", "--out", out], timeout=110)
check(r.returncode == 0, f"run exited {r.returncode}: {r.stderr[-2000:]}")
check(out in r.stdout, "run does not say where the results went")

header, rows = read_csv(os.path.join(out, "results.csv"))
check(header == COLUMNS, f"results.csv columns: {header}")
# floor 1 + bare 4x2 + latency 4x2 + throughput 4x2
check(len(rows) == 25, f"{len(rows)} rows, expected 25")
names = set()
for row in rows:
    name = "/".join(row[k] for k in ("mode", "backend", "size", "producers", "placement"))
    names.add((row["mode"], row["backend"], row["size"]))
    check(row["status"] in ("ok", "skipped"), f"{name}: status {row['status']}: {row['note']}")
    if row["status"] != "ok":
        check(len(row["note"]) > 10, f"{name}: skipped without a reason")
        for k in COLUMNS[7:20] + COLUMNS[21:24]:
            check(row[k] == "", f"{name}: skipped cell has {k}={row[k]}")
        continue
    check(int(row["repetitions"]) == 2, f"{name}: repetitions {row['repetitions']}")
    check(float(row["messages"]) > 0 and float(row["seconds"]) > 0, f"{name}: no messages")
    if row["mode"] == "throughput":
        check(float(row["msgs_per_s"]) > 0 and float(row["bytes_per_s"]) > 0,
              f"{name}: throughput not positive")
        check(abs(float(row["bytes_per_s"]) - float(row["msgs_per_s"]) * int(row["size"]))
              <= 0.01 * float(row["bytes_per_s"]), f"{name}: bytes_per_s != msgs_per_s*size")
        check(row["lat_p50_ns"] == "", f"{name}: throughput row has latency")
    else:
        lat = [float(row[k]) for k in COLUMNS[12:19]]
        check(lat[0] > 0, f"{name}: lat_min not positive")
        check(lat[0] <= lat[2] <= lat[3] <= lat[4] <= lat[5] <= lat[6],
              f"{name}: percentiles out of order {lat}")
        check(lat[0] <= lat[1] <= lat[6], f"{name}: mean outside [min,max]")
        check(row["msgs_per_s"] == "", f"{name}: latency row has msgs_per_s")
    check(row["cv"] != "" and float(row["cv"]) >= 0, f"{name}: cv {row['cv']}")
    for k in ("cpu_ns_per_msg", "cpu_util", "csw_per_msg"):
        check(row[k] != "" and float(row[k]) >= 0, f"{name}: {k} {row[k]!r}")
    check(row["batch"] == ("1" if row["mode"] == "throughput" else ""),
          f"{name}: batch {row['batch']!r} without --batch")
    check(row["cpu_ns_per_msg"] == "" or float(row["cpu_ns_per_msg"]) > 0,
          f"{name}: no CPU time")

by = {(r["mode"], r["backend"], r["size"]): r for r in rows}
sysv64k = by.get(("latency", "sysv", "65536"))
check(sysv64k is not None and sysv64k["status"] == "skipped" and "msgmax" in sysv64k["note"],
      f"latency sysv 64K not skipped naming kernel.msgmax: {sysv64k}")
check(("floor", "floor", "64") in names, "no floor row")
for m in ("pipe", "sysv", "mqueue", "shm"):
    check(("bare", m, "64") in names, f"no bare {m} row")

hh, hrows = read_csv(os.path.join(out, "histograms.csv"))
check(hh == ["mode", "backend", "size", "placement", "bucket_ns", "count"], f"histogram columns {hh}")
check(any(h["mode"] == "floor" for h in hrows) and any(h["mode"] == "latency" for h in hrows),
      "histograms.csv lacks floor or latency buckets")
check(all(int(h["count"]) > 0 for h in hrows), "empty histogram bucket written")

env = json.load(open(os.path.join(out, "env.json")))
for k in ("date", "host", "kernel", "cpu_model", "cores", "pus", "smt", "numa_nodes", "topology",
          "governor", "ipc_limits", "compiler", "cflags", "git_revision", "command", "profile",
          "ipcbench_version", "clocksource", "harness_ns_per_msg", "timer_cost_ns"):
    check(k in env, f"env.json lacks {k}")
check(isinstance(env.get("clocksource"), str) and env.get("clocksource"), "env.json clocksource")
if os.uname().machine in ("x86_64", "i686", "i386"):
    check(isinstance(env.get("tsc_invariant"), bool), "env.json tsc_invariant on x86")
h = env.get("harness_ns_per_msg", {})
check(sorted(h) == ["64", "65536"] and all(isinstance(v, (int, float)) and v > 0
                                           for v in h.values()),
      f"env.json harness_ns_per_msg: {h}")
check(isinstance(env.get("smt"), bool) and isinstance(env.get("ipc_limits"), dict),
      "env.json types")
check("--sizes 64,64K" in env.get("command", ""), "env.json command line")
check(os.path.getsize(os.path.join(out, "topology.xml")) > 100, "topology.xml")

bj = json.load(open(os.path.join(out, "benchmarks.json")))
runs = [b for b in bj["benchmarks"] if b.get("run_type") == "iteration"]
check(len(runs) > 0, "benchmarks.json has no runs")
# Every repetition of a measured cell, not only its aggregates: --compare ranks them.
for b in bj["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
        reps = [x for x in runs if x["name"] == b["run_name"]]
        check(len(reps) == 2, f"{b['run_name']}: {len(reps)} repetitions in benchmarks.json, want 2")
for b in runs:
    check(len(b["name"].split("/")) == 5, f"benchmark name {b['name']}")
    if b.get("error_occurred"):
        continue
    keys = ("msgs_per_s", "bytes_per_s") if b["name"].startswith("throughput") else \
        ("lat_min_ns", "lat_p50_ns", "lat_p999_ns", "lat_max_ns")
    for k in keys:
        check(k in b, f"{b['name']} lacks counter {k}")

# --batch N: throughput through ipcq_put_many/get_many, every message still checked.
bout = tmpdir()
r = run(["run", "--backends", "pipe,shm", "--sizes", "64", "--mode", "throughput",
         "--pairs", "1x1,2x2", "--batch", "8", "--repetitions", "1", "--min-time", "0.01",
         "--out", bout], timeout=110)
check(r.returncode == 0, f"run --batch exited {r.returncode}: {r.stderr[-2000:]}")
for row in read_csv(os.path.join(bout, "results.csv"))[1] if r.returncode == 0 else []:
    check(row["status"] == "ok" and row["batch"] == "8",
          f"--batch 8: {row['backend']} {row['producers']}x{row['consumers']}: "
          f"{row['status']} batch {row['batch']!r} {row['note']}")

# The run's own report, drawn by the same binary (what `./run bench` does last).
r = run(["report", out], timeout=110)
check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr[-2000:]}")
index = os.path.join(out, "report", "index.html")
check(os.path.isfile(index) and index in r.stdout, "report does not print its index.html")
check(os.path.isfile(os.path.join(out, "report", "latency_vs_size.svg")), "no latency picture")

# A run of one cell compared with itself: the comparison is drawn (gnuplot 5.4.4
# crashed on a labels plot whose only point was undefined).
one = tmpdir()
r = run(["run", "--backends", "pipe", "--sizes", "64", "--mode", "latency",
         "--repetitions", "2", "--min-time", "0.01", "--out", one], timeout=60)
check(r.returncode == 0, f"one-cell run exited {r.returncode}: {r.stderr[-2000:]}")
r = run(["report", one, "--compare", one], timeout=60)
check(r.returncode == 0, f"report --compare exited {r.returncode}: {r.stderr[-2000:]}")
check("compare not drawn" not in r.stderr, f"one-cell compare: {r.stderr[-500:]}")
check(os.path.isfile(os.path.join(one, "report", "compare.svg")), "no compare.svg for one cell")
finish()
