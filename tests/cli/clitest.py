# SPDX-License-Identifier: MIT
"""Shared helpers of the ipcbench CLI tests: exit 0 pass, 1 fail, 77 skip."""
import atexit
import csv
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile

IPCBENCH = sys.argv[1] if len(sys.argv) > 1 else "build/bench/ipcbench"

COLUMNS = ("mode,backend,size,producers,consumers,placement,status,repetitions,messages,"
           "seconds,msgs_per_s,bytes_per_s,lat_min_ns,lat_mean_ns,lat_p50_ns,lat_p90_ns,"
           "lat_p99_ns,lat_p999_ns,lat_max_ns,cv,note,cpu_ns_per_msg,cpu_util,"
           "csw_per_msg,offered_rate,achieved_rate,gap_ns,batch").split(",")

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def run(args, env=None, timeout=120, **kw):
    e = dict(os.environ)
    e.pop("IPCBENCH_FAULT", None)
    if env:
        e.update(env)
    return subprocess.run([IPCBENCH] + args, capture_output=True, text=True, env=e,
                          timeout=timeout, **kw)


def expect_bad(args, flag, value, made=None, timeout=30):
    """ipcbench ARGS: exit 2 and one line on stderr naming FLAG, 'VALUE' and what is
    allowed; MADE (a path), when given, must not have been created."""
    what = " ".join(args)
    try:
        r = run(args, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, f"{what}: still running after {timeout} s")
        return
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2")
    check(len(lines) == 1, f"{what}: {len(lines)} lines on stderr: {r.stderr!r}")
    check(f"{flag}:" in r.stderr and f"'{value}'" in r.stderr and "allowed" in r.stderr,
          f"{what}: stderr does not name {flag} and '{value}': {r.stderr!r}")
    if made:
        check(not os.path.exists(made), f"{what}: a results dir was created")
        shutil.rmtree(made, True)


def tmpdir():
    d = tempfile.mkdtemp(prefix="ipcbench-test-")
    atexit.register(shutil.rmtree, d, True)
    return d


def read_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = [dict(zip(header, row)) for row in r]
    return header, rows


def sysv_ids():
    """msqids of this user's SysV queues."""
    ids = set()
    try:
        with open("/proc/sysvipc/msg") as f:
            next(f)
            for line in f:
                p = line.split()
                if int(p[7]) == os.getuid():  # uid column
                    ids.add(int(p[1]))
    except FileNotFoundError:
        pass
    return ids


def ipc_snapshot():
    """Everything of ours an ipcq queue could leave behind."""
    s = {("sysv", i) for i in sysv_ids()}
    for d in ("/dev/shm", "/dev/mqueue", f"/tmp/ipcq-{os.getuid()}",
              os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "ipcq")):
        for root, dirs, files in os.walk(d):
            for name in files:
                s.add(("path", os.path.join(root, name)))
    return s


libc = ctypes.CDLL(None, use_errno=True)


def leaked_since(before, settle=5.0):
    """What appeared since @before and stays: a dead run's leftovers stay, while what
    other programs on this machine use meanwhile comes and goes (waits up to @settle s)."""
    import time
    new = ipc_snapshot() - before
    deadline = time.time() + settle
    while new and time.time() < deadline:
        time.sleep(0.25)
        new &= ipc_snapshot()
    return new
