#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one of the seed's demos (pool/demo-*.c) and checks what it prints.

usage: check_demos.py DEMO-NAME PATH-TO-BINARY
Exit 0 pass, 1 fail (what was wrong and the full output on stderr).
"""
import re
import subprocess
import sys


def run(cmd, timeout=30):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Checker:
    def __init__(self, out):
        self.out = out
        self.lines = out.splitlines()
        self.errors = []

    def check(self, cond, what):
        if not cond:
            self.errors.append(what)

    def index(self, pattern, start=0):
        """Index of the first line at or after start matching pattern, or -1."""
        for i in range(start, len(self.lines)):
            if re.search(pattern, self.lines[i]):
                return i
        return -1

    def in_order(self, patterns):
        pos = 0
        for pat in patterns:
            i = self.index(pat, pos)
            self.check(i >= 0, f"no line matching {pat!r} after line {pos}")
            if i < 0:
                return
            pos = i + 1


def demo_process(exe):
    outs = []
    # As in the seed (the child may just have finished at 1 s), then with a
    # child that surely still runs at 1 s and must be terminated.
    for args, must_terminate in (([], False), (["--loops", "50"], True)):
        rc, out, err = run([exe] + args)
        c = Checker(out)
        c.check(rc == 0, f"exit status {rc}: {err}")
        m = re.search(r"started child pid=(\d+) with name=Xiaoming, age=18", out)
        c.check(m is not None, "no 'started child' line")
        if m:
            pid = m.group(1)
            n = len(re.findall(rf"child process running, name=Xiaoming, age=18, pid={pid}$",
                               out, re.M))
            c.check(n >= 1, f"child printed {n} lines, expected about 5")
            c.check(n <= 6 if not must_terminate else n <= 7,
                    f"child printed {n} lines in about 1 s")
        c.check("{'m': 20}" in out, "kwargs not printed")
        if must_terminate:
            c.check("exit code -15 (terminated by SIGTERM)" in out, "child not terminated")
        else:
            c.check(re.search(r"exit code (-15|0) ", out) is not None, "no exit code")
        c.in_order([r"terminating the child", r"child joined",
                    r"counter = 101 in the child",
                    r"counter = 1 in the parent: globals are not shared"])
        outs.append((c, out))
    return outs


def demo_queue(exe):
    rc, out, err = run([exe])
    c = Checker(out)
    c.check(rc == 0, f"exit status {rc}: {err}")
    c.in_order([r"^Put A to queue\.\.\.$", r"^Put B to queue\.\.\.$", r"^Put C to queue\.\.\.$",
                r"^Get A from queue\.$", r"^Get B from queue\.$", r"^Get C from queue\.$",
                r"^All data written and read"])
    c.check(len(re.findall(r"^Get ", out, re.M)) == 3, "not exactly three Gets")
    return [(c, out)]


def demo_pool(exe):
    rc, out, err = run([exe], timeout=40)
    c = Checker(out)
    c.check(rc == 0, f"exit status {rc}: {err}")
    started = re.findall(r"^(\d+) started, pid (\d+)$", out, re.M)
    finished = re.findall(r"^(\d+) finished, took (\d+\.\d\d) s$", out, re.M)
    c.check(sorted(int(t) for t, _ in started) == list(range(10)),
            f"tasks started: {[t for t, _ in started]}")
    c.check(sorted(int(t) for t, _ in finished) == list(range(10)),
            f"tasks finished: {[t for t, _ in finished]}")
    pids = {p for _, p in started}
    c.check(len(pids) == 3, f"{len(pids)} distinct worker pids, expected 3 (Pool(3))")
    c.check(all(0.0 <= float(s) < 2.9 for _, s in finished), "a task took too long")
    start, end = c.index(r"^---start----$"), c.index(r"^----end----$")
    c.check(start >= 0 and end > start, "---start---- / ----end---- missing or misplaced")
    c.check(end == len(c.lines) - 1, "----end---- is not the last line")
    # Each task finishes after it started.
    for t, _ in started:
        s = c.index(rf"^{t} started,")
        f = c.index(rf"^{t} finished,")
        c.check(0 <= s < f, f"task {t}: finished before it started")
    return [(c, out)]


def demo_pool_queue(exe):
    rc, out, err = run([exe])
    c = Checker(out)
    c.check(rc == 0, f"exit status {rc}: {err}")
    c.in_order([r"An anonymous queue created after the pool started",
                r"parent: pipe:\[\d+\]",
                r"worker pid \d+: pipe:\[\d+\]: not here",
                r"cannot reach this queue",
                r"^Why: a pool worker is a fork\(\) of the parent",
                r"Manager\(\)\.Queue\(\)",
                r"A named queue, opened by name",
                r"^\(\d+\) start$",
                r"^writer started \(\d+\), parent is \(\d+\)$",
                r"^reader started \(\d+\), parent is \(\d+\)$"]
               + [rf"^reader got message from Queue: {ch}$" for ch in "itcast"]
               + [r"^\(\d+\) End$"])
    c.check("PRESENT" not in out, "a worker holds the late queue")
    c.check(len(re.findall(r"^reader got message", out, re.M)) == 6, "not exactly 6 letters")
    return [(c, out)]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, exe = sys.argv[1], sys.argv[2]
    fn = {"demo-process": demo_process, "demo-queue": demo_queue,
          "demo-pool": demo_pool, "demo-pool-queue": demo_pool_queue}.get(name)
    if fn is None:
        print(f"unknown demo {name}", file=sys.stderr)
        return 2
    failed = False
    for c, out in fn(exe):
        print(out)
        for e in c.errors:
            print(f"{name}: {e}", file=sys.stderr)
            failed = True
    if failed:
        return 1
    print(f"{name}: output as the seed's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
