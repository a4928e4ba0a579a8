#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the report test fixtures into tests/report/fixtures/ (committed).

Deterministic (fixed seeds): rerunning it rewrites the same files.  The numbers
are of this machine's order: blocking kernel IPC round trips of tens of
microseconds across cores, a shared-memory floor of about 100 ns.

Fixtures:
  normal/       4 backends, 5 sizes, 2 placements, P x C, floor, bare, 3 repetitions
  skipfail/     skipped and failed cells, one placement, no benchmarks.json, no histograms
  single/       one backend (shm) and the floor, one repetition
  cmp-base/     2 backends, 5 repetitions: the base of the comparisons
  cmp-slow/     the same cells, every one exactly 2x slower (same spread)
  cmp-same/     the same code run twice: other draws from the same distribution
  notarun/      a directory that is not a run
  missingcol/   results.csv without the lat_p99_ns column
  cpu/          a run with the CPU columns (cpu_ns_per_msg, cpu_util, csw_per_msg), the
                clock and harness keys of env.json, and bare cells for every backend
                (shm, packet pipe) plus the stream pipe (pipe-stream); one placement
"""
import json
import math
import os
import random
import shutil
import statistics
import sys

COLUMNS = ("mode,backend,size,producers,consumers,placement,status,repetitions,messages,"
           "seconds,msgs_per_s,bytes_per_s,lat_min_ns,lat_mean_ns,lat_p50_ns,lat_p90_ns,"
           "lat_p99_ns,lat_p999_ns,lat_max_ns,cv,note").split(",")
CPU_COLUMNS = ["cpu_ns_per_msg", "cpu_util", "csw_per_msg"]

# Round-trip p50 in ns at 8 bytes across cores (same-l3), and per-byte cost.
LAT_BASE = {"pipe": 24000.0, "sysv": 19000.0, "mqueue": 21000.0, "shm": 9000.0}
LAT_PER_BYTE = {"pipe": 0.55, "sysv": 0.45, "mqueue": 0.5, "shm": 0.12}
TPUT_BASE = {"pipe": 310000.0, "sysv": 260000.0, "mqueue": 290000.0, "shm": 4200000.0}
BARE_GAIN = 0.93  # the bare mechanism skips our framing and checks
SAME_CPU = 0.35   # same-cpu ping-pong avoids the cross-core wakeup
LIMIT_SKIP = {"sysv": "msgmax is 8192 bytes (kernel.msgmax); raise it with sysctl -w kernel.msgmax=65536",
              "mqueue": "msgsize_max is 8192 bytes (fs.mqueue.msgsize_max); raise it with sysctl -w fs.mqueue.msgsize_max=65536"}


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v) else v
    if isinstance(v, int):
        return str(v)
    if abs(v) >= 1e6 or v == int(v):
        return "%.6g" % v if abs(v) < 1e15 else "%.6e" % v
    return "%.4g" % v


def g5(v):
    return float("%.5g" % v)


def lat_samples(rng, p50, n):
    """Round trips: a lognormal body plus a thin tail of scheduler hiccups."""
    out = []
    for _ in range(n):
        x = p50 * math.exp(rng.gauss(0.0, 0.18))
        if rng.random() < 0.012:
            x *= rng.uniform(1.8, 6.0)
        if rng.random() < 0.0008:
            x *= rng.uniform(6.0, 25.0)
        out.append(x)
    out.sort()
    return out


def pct(sorted_vals, q):
    i = min(len(sorted_vals) - 1, max(0, int(math.ceil(q * len(sorted_vals))) - 1))
    return sorted_vals[i]


def buckets(sorted_vals):
    """Log buckets, four per power of two; bucket_ns is the upper bound."""
    counts = {}
    for x in sorted_vals:
        k = math.ceil(4 * math.log2(max(x, 1.0)))
        ub = int(round(2 ** (k / 4)))
        counts[ub] = counts.get(ub, 0) + 1
    return sorted(counts.items())


class Run:
    def __init__(self, seed, reps):
        self.rng = random.Random(seed)
        self.reps = reps
        self.rows = []
        self.hist = []
        self.bench = []

    def bench_name(self, mode, backend, size, p, c, placement):
        return "%s/%s/%d/%dx%d/%s/manual_time" % (mode, backend, size, p, c, placement)

    def skip(self, mode, backend, size, p, c, placement, status, note):
        row = dict.fromkeys(COLUMNS)
        row.update(mode=mode, backend=backend, size=size, producers=p, consumers=c,
                   placement=placement, status=status, repetitions=self.reps, note=note)
        self.rows.append(row)
        name = self.bench_name(mode, backend, size, p, c, placement)
        self.bench.append({"name": name, "family_index": len(self.bench),
                           "per_family_instance_index": 0, "run_name": name,
                           "run_type": "iteration", "repetitions": self.reps,
                           "repetition_index": 0, "threads": 1, "iterations": 0,
                           "real_time": 0, "cpu_time": 0, "time_unit": "ns",
                           "error_occurred": True, "error_message": note})

    def latency(self, mode, backend, size, placement, p50, rep_noise=None, nsamp=4000,
                messages=20000, hist=True):
        """One ping-pong cell: repetitions with their own p50, the row is the median."""
        reps = []
        for r in range(self.reps):
            f = rep_noise[r] if rep_noise else 1.0 + self.rng.gauss(0.0, 0.025)
            s = lat_samples(self.rng, p50 * f, nsamp)
            reps.append(s)
        stats = []
        for s in reps:
            stats.append({"lat_min_ns": s[0], "lat_mean_ns": statistics.fmean(s),
                          "lat_p50_ns": pct(s, 0.5), "lat_p90_ns": pct(s, 0.9),
                          "lat_p99_ns": pct(s, 0.99), "lat_p999_ns": pct(s, 0.999),
                          "lat_max_ns": s[-1]})
        secs = [messages * st["lat_mean_ns"] * 1e-9 for st in stats]
        for st, sec in zip(stats, secs):
            st["msgs_per_s"] = messages / sec
            st["bytes_per_s"] = messages * size / sec
        self._row(mode, backend, size, 1, 1, placement, stats, secs, messages, "lat_p50_ns")
        if hist:
            # The histogram of the median repetition, scaled to all round trips.
            mid = sorted(range(self.reps), key=lambda i: stats[i]["lat_p50_ns"])[self.reps // 2]
            scale = messages / nsamp
            for ub, n in buckets(reps[mid]):
                self.hist.append((mode, backend, size, placement, ub, int(round(n * scale))))

    def throughput(self, backend, size, p, c, placement, mps, rep_noise=None, messages=200000):
        stats, secs = [], []
        for r in range(self.reps):
            f = rep_noise[r] if rep_noise else 1.0 + self.rng.gauss(0.0, 0.03)
            m = mps * f
            stats.append({"msgs_per_s": m, "bytes_per_s": m * size})
            secs.append(messages / m)
        self._row("throughput", backend, size, p, c, placement, stats, secs, messages, "msgs_per_s")

    def _row(self, mode, backend, size, p, c, placement, stats, secs, messages, key):
        row = dict.fromkeys(COLUMNS)
        row.update(mode=mode, backend=backend if mode != "floor" else "floor", size=size,
                   producers=p, consumers=c, placement=placement, status="ok",
                   repetitions=self.reps, messages=messages * self.reps,
                   seconds=statistics.median(secs))
        for k in stats[0]:
            row[k] = statistics.median(st[k] for st in stats)
        vals = [st[key] for st in stats]
        row["cv"] = statistics.pstdev(vals) / statistics.fmean(vals) if len(vals) > 1 else 0.0
        self.rows.append(row)
        name = self.bench_name(mode, row["backend"], size, p, c, placement)
        fam = len({b["run_name"] for b in self.bench})
        for i, (st, sec) in enumerate(zip(stats, secs)):
            e = {"name": name, "family_index": fam, "per_family_instance_index": 0,
                 "run_name": name, "run_type": "iteration", "repetitions": self.reps,
                 "repetition_index": i, "threads": 1, "iterations": messages,
                 "real_time": g5(sec * 1e9 / messages),
                 "cpu_time": g5(sec * 1e9 / messages * 0.4), "time_unit": "ns",
                 "bytes_per_second": g5(st["msgs_per_s"] * size),
                 "items_per_second": g5(st["msgs_per_s"])}
            e.update({k: g5(v) for k, v in st.items()})
            self.bench.append(e)
        if self.reps > 1:
            for agg, fn in (("mean", statistics.fmean), ("median", statistics.median),
                            ("stddev", statistics.stdev)):
                e = {"name": name + "_" + agg, "family_index": fam,
                     "per_family_instance_index": 0, "run_name": name,
                     "run_type": "aggregate", "repetitions": self.reps, "threads": 1,
                     "aggregate_name": agg, "aggregate_unit": "time", "iterations": self.reps,
                     "real_time": g5(fn([s * 1e9 / messages for s in secs])),
                     "cpu_time": g5(fn([s * 0.4e9 / messages for s in secs])), "time_unit": "ns"}
                e.update({k: g5(fn([st[k] for st in stats])) for k in stats[0]})
                self.bench.append(e)

    def write(self, d, env, bench=True, hist=True, columns=COLUMNS):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "results.csv"), "w") as f:
            f.write(",".join(columns) + "\n")
            for r in self.rows:
                f.write(",".join(fmt(r.get(c)) for c in columns) + "\n")
        if hist:
            with open(os.path.join(d, "histograms.csv"), "w") as f:
                f.write("mode,backend,size,placement,bucket_ns,count\n")
                for h in self.hist:
                    f.write("%s,%s,%d,%s,%d,%d\n" % h)
        if bench:
            doc = {"context": {"date": env["date"], "host_name": env["host"],
                               "executable": "./build/bench/ipcbench", "num_cpus": 2,
                               "mhz_per_cpu": 2600, "cpu_scaling_enabled": False,
                               "caches": [{"type": "Data", "level": 1, "size": 49152,
                                           "num_sharing": 1}],
                               "load_avg": [1.9, 1.7, 1.6], "library_build_type": "release"},
                   "benchmarks": self.bench}
            with open(os.path.join(d, "benchmarks.json"), "w") as f:
                f.write("{\n  \"context\": " + json.dumps(doc["context"]) +
                        ",\n  \"benchmarks\": [\n")
                f.write(",\n".join("    " + json.dumps(b) for b in self.bench))
                f.write("\n  ]\n}\n")
        with open(os.path.join(d, "env.json"), "w") as f:
            json.dump(env, f, indent=2)
            f.write("\n")
        with open(os.path.join(d, "topology.xml"), "w") as f:
            f.write(TOPOLOGY)


TOPOLOGY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" online_cpuset="0x00000003" allowed_cpuset="0x00000003" nodeset="0x00000001" gp_index="1">
    <object type="Package" os_index="0" cpuset="0x00000003" gp_index="3">
      <object type="L3Cache" cpuset="0x00000003" cache_size="110100480" depth="3" cache_linesize="64" cache_associativity="15" cache_type="0" gp_index="6">
        <object type="L2Cache" cpuset="0x00000001" cache_size="2097152" depth="2" cache_linesize="64" gp_index="7">
          <object type="Core" os_index="0" cpuset="0x00000001" gp_index="9"><object type="PU" os_index="0" cpuset="0x00000001" gp_index="10"/></object>
        </object>
        <object type="L2Cache" cpuset="0x00000002" cache_size="2097152" depth="2" cache_linesize="64" gp_index="11">
          <object type="Core" os_index="1" cpuset="0x00000002" gp_index="13"><object type="PU" os_index="1" cpuset="0x00000002" gp_index="14"/></object>
        </object>
      </object>
    </object>
  </object>
</topology>
"""


def env(command, profile="quick", rev="3f2c1a9"):
    return {"date": "2026-11-28T08:00:00Z", "host": "vm", "kernel": "Linux 6.18.44-fc-v769 x86_64",
            "cpu_model": "Intel(R) Xeon(R) Processor", "cores": 2, "pus": 2, "smt": False,
            "numa_nodes": 1, "topology": "Package:1 L3:1 L2:2 Core:2 PU:2",
            "governor": "unknown (no cpufreq)",
            "ipc_limits": {"mqueue_msg_max": 10, "mqueue_msgsize_max": 8192,
                           "rlimit_msgqueue": 819200, "mqueue_queues_max": 256,
                           "sysv_msgmax": 8192, "sysv_msgmnb": 16384, "pipe_max_size": 1048576},
            "compiler": "gcc 12.2.0", "cflags": "-O2 -g -std=c17", "git_revision": rev,
            "command": command, "profile": profile, "ipcbench_version": "0.1.0"}


def floor_ns(size, placement):
    base = 95.0 if placement == "same-l3" else 40.0
    return base + size / 64 * 6.0


def throughput_1x1(run, b, sizes, pl, factor=1.0):
    """Streaming cells of backend B at each size; sizes over the kernel's limit skipped."""
    for s in sizes:
        if s > 8192 and b in LIMIT_SKIP:
            run.skip("throughput", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[b])
            continue
        per_msg = 1.0 / TPUT_BASE[b] + s * (0.35e-9 if b != "shm" else 0.12e-9)
        run.throughput(b, s, 1, 1, pl, (1.0 / per_msg) * factor)


def make_normal(d):
    run = Run(1, 3)
    sizes = [8, 64, 1024, 4096, 65536]
    backends = ["pipe", "sysv", "mqueue", "shm"]
    for pl in ("same-l3", "same-cpu"):
        szs = sizes if pl == "same-l3" else [64]
        for s in szs:
            run.latency("floor", "floor", s, pl, floor_ns(s, pl))
        for b in backends:
            for s in szs:
                if s > 8192 and b in LIMIT_SKIP:
                    run.skip("latency", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[b])
                    continue
                p50 = (LAT_BASE[b] + LAT_PER_BYTE[b] * s) * (SAME_CPU if pl == "same-cpu" else 1)
                run.latency("latency", b, s, pl, p50)
        if pl == "same-l3":
            for b in ("pipe", "sysv", "mqueue"):
                for s in szs:
                    if s > 8192 and b in LIMIT_SKIP:
                        run.skip("bare", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[b])
                        continue
                    run.latency("bare", b, s, pl, (LAT_BASE[b] + LAT_PER_BYTE[b] * s) * BARE_GAIN)
        for b in backends:
            throughput_1x1(run, b, szs, pl, 0.8 if pl == "same-cpu" else 1)
            if pl == "same-l3":
                for p, c, f in ((2, 1, 1.15), (1, 2, 0.9), (2, 2, 1.05)):
                    per_msg = 1.0 / TPUT_BASE[b] + 64 * 0.35e-9
                    run.throughput(b, 64, p, c, pl, f / per_msg)
    run.write(d, env("ipcbench run --profile quick --repetitions 3"))


def make_skipfail(d):
    run = Run(2, 3)
    pl = "same-l3"
    for s in (64, 4096, 65536):
        run.latency("floor", "", s, pl, floor_ns(s, pl))
    for b in ("pipe", "sysv", "mqueue"):
        for s in (64, 4096, 65536):
            if s > 8192 and b in LIMIT_SKIP:
                run.skip("latency", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[b])
            elif b == "mqueue" and s == 4096:
                run.skip("latency", b, s, 1, 1, pl, "failed",
                         "consumer 0: lost 3 of 20000 messages, duplicated 1")
            else:
                run.latency("latency", b, s, pl, LAT_BASE[b] + LAT_PER_BYTE[b] * s)
        for s in (64, 4096):
            if b == "pipe" and s == 4096:
                run.skip("throughput", b, s, 2, 2, pl, "failed",
                         'producer 1: message 812 reordered, "seq" 813 before 812')
            else:
                run.throughput(b, s, 1, 1, pl, TPUT_BASE[b] / (1 + s / 8000))
    run.skip("latency", "shm", 64, 1, 1, pl, "skipped", "backend shm not built in")
    # The floor's backend column is empty here: the report must accept both spellings.
    for r in run.rows:
        if r["mode"] == "floor":
            r["backend"] = ""
    run.write(d, env("ipcbench run --profile quick --backend pipe,sysv,mqueue,shm"),
              bench=False, hist=False)


def make_single(d):
    run = Run(3, 1)
    pl = "same-l3"
    for s in (8, 64, 4096):
        run.latency("floor", "floor", s, pl, floor_ns(s, pl))
        run.latency("latency", "shm", s, pl, 900.0 + 0.1 * s)
        run.throughput("shm", s, 1, 1, pl, 1.0 / (1 / 4.2e6 + s * 0.12e-9))
    run.write(d, env("ipcbench run --profile quick --backend shm --repetitions 1"))


def make_compare(base_d, slow_d, same_d):
    # Five repetitions each.  The factors are constructed so the answer is known:
    # the slow run is exactly twice the base (same spread, no overlap), the same
    # run interleaves with the base (a rank test cannot tell them apart).
    base_f = [0.97, 1.00, 1.03, 0.99, 1.02]
    same_f = [1.01, 0.98, 1.00, 1.025, 0.995]
    cells = [("pipe", 64), ("pipe", 4096), ("sysv", 64), ("sysv", 4096)]
    for d, mult, fac in ((base_d, 1.0, base_f), (slow_d, 2.0, base_f), (same_d, 1.0, same_f)):
        run = Run(4, 5)
        for b, s in cells:
            p50 = LAT_BASE[b] + LAT_PER_BYTE[b] * s
            run.latency("latency", b, s, "same-l3", p50 * mult, rep_noise=fac, nsamp=1500,
                        hist=False)
            run.throughput(b, s, 1, 1, "same-l3", TPUT_BASE[b] / (1 + s / 8000) / mult,
                           rep_noise=fac)
        run.skip("latency", "sysv", 65536, 1, 1, "same-l3", "skipped", LIMIT_SKIP["sysv"])
        run.write(d, env("ipcbench run --backend pipe,sysv --size 64,4096 --repetitions 5",
                         rev="slow123" if mult > 1 else "3f2c1a9"), hist=False)


# CPU-seconds per wall-second: both sides of a shm cell spin, the kernel queues sleep.
CPU_UTIL = {"latency": {"pipe": 0.62, "pipe-stream": 0.6, "sysv": 0.55, "mqueue": 0.58,
                        "shm": 1.96, "floor": 2.0},
            "throughput": {"pipe": 1.4, "sysv": 1.3, "mqueue": 1.35, "shm": 1.98}}
# Context switches per message or round trip.
CSW = {"pipe": 2.0, "pipe-stream": 2.0, "sysv": 2.1, "mqueue": 2.05, "shm": 0.0004,
       "floor": 0.0001}
HARNESS_NS = {"64": 12.5, "1024": 61.0, "4096": 180.0, "16384": 700.0, "65536": 2900.0}


def add_cpu(rows):
    """The CPU columns of every ok cell; skipped and failed cells leave them empty."""
    for r in rows:
        if r["status"] != "ok":
            continue
        kind = "throughput" if r["mode"] == "throughput" else "latency"
        util = CPU_UTIL[kind][r["backend"]]
        # Wall time per message: the mean round trip, or the inverse of the rate.
        wall = r["lat_mean_ns"] if kind == "latency" else 1e9 / r["msgs_per_s"]
        r["cpu_ns_per_msg"] = g5(util * wall)
        r["cpu_util"] = util
        r["csw_per_msg"] = CSW[r["backend"]] * (0.15 if kind == "throughput" else 1)


def make_cpu(d):
    run = Run(5, 3)
    pl = "same-l3"
    sizes = [64, 1024, 4096, 65536]
    backends = ["pipe", "sysv", "mqueue", "shm"]
    run.latency("floor", "floor", 64, pl, floor_ns(64, pl))
    for b in backends:
        for s in sizes:
            if s > 8192 and b in LIMIT_SKIP:
                run.skip("latency", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[b])
                continue
            run.latency("latency", b, s, pl, LAT_BASE[b] + LAT_PER_BYTE[b] * s)
    # Bare loops: one per backend (pipe in packet mode like the backend, a minimal
    # SPSC ring for shm), and the stream pipe beside them.
    for b in backends + ["pipe-stream"]:
        q = "pipe" if b == "pipe-stream" else b
        for s in sizes:
            if s > 8192 and q in LIMIT_SKIP:
                run.skip("bare", b, s, 1, 1, pl, "skipped", LIMIT_SKIP[q])
                continue
            gain = BARE_GAIN * (0.97 if b == "pipe-stream" else 1)
            run.latency("bare", b, s, pl, (LAT_BASE[q] + LAT_PER_BYTE[q] * s) * gain, hist=False)
    for b in backends:
        throughput_1x1(run, b, sizes, pl)
        run.throughput(b, 64, 2, 2, pl, 1.1 / (1.0 / TPUT_BASE[b] + 64 * 0.35e-9))
    run.skip("throughput", "mqueue", 4096, 2, 2, pl, "failed",
             "consumer 1: message 77 of producer 0 corrupt at byte 4095")
    add_cpu(run.rows)
    e = env("ipcbench run --profile quick --repetitions 3")
    e.update(clocksource="tsc", tsc_invariant=True, timer="clock_gettime(CLOCK_MONOTONIC) via vDSO",
             timer_cost_ns=17.9, harness_ns_per_msg=HARNESS_NS)
    run.write(d, e, columns=COLUMNS + CPU_COLUMNS)


def make_bad(root):
    d = os.path.join(root, "notarun")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("Not an ipcbench run: no results.csv here.\n")
    d = os.path.join(root, "missingcol")
    shutil.copytree(os.path.join(root, "single"), d)
    with open(os.path.join(d, "results.csv")) as f:
        lines = [l.rstrip("\n").split(",") for l in f]
    i = lines[0].index("lat_p99_ns")
    with open(os.path.join(d, "results.csv"), "w") as f:
        for l in lines:
            f.write(",".join(l[:i] + l[i + 1:]) + "\n")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    if os.path.isdir(root):
        shutil.rmtree(root)
    make_normal(os.path.join(root, "normal"))
    make_skipfail(os.path.join(root, "skipfail"))
    make_single(os.path.join(root, "single"))
    make_compare(*(os.path.join(root, n) for n in ("cmp-base", "cmp-slow", "cmp-same")))
    make_bad(root)
    make_cpu(os.path.join(root, "cpu"))


if __name__ == "__main__":
    main()
