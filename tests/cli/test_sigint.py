# SPDX-License-Identifier: MIT
"""Ctrl-C (SIGINT to the process group) during a run: workers end, no IPC object is
left, and what was measured so far is written."""
import os
import re
import signal
import subprocess
import threading
import time
from clitest import COLUMNS, IPCBENCH, check, finish, ipc_snapshot, read_csv, tmpdir

before = ipc_snapshot()
out = tmpdir()
p = subprocess.Popen([IPCBENCH, "run", "--mode", "floor,latency,throughput",
                      "--backends", "pipe,sysv,mqueue,shm", "--sizes", "64",
                      "--repetitions", "1", "--min-time", "0.2", "--out", out],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                     text=True)
# Interrupt once google-benchmark has reported a first cell (not after a fixed
# sleep: under ASan on a loaded machine nothing may be measured by then).
reported = threading.Event()
out_lines = []


def read_stdout():
    for line in p.stdout:
        out_lines.append(line)
        if re.match(r"(floor|latency|throughput|bare)/", line):
            reported.set()


reader = threading.Thread(target=read_stdout, daemon=True)
reader.start()
check(reported.wait(90), "no cell reported within 90 s")
os.killpg(p.pid, signal.SIGINT)
try:
    p.wait(timeout=30)
    reader.join(5)
    err = p.stderr.read()
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    check(False, "ipcbench did not stop within 30 s of SIGINT")
    finish()
check(p.returncode == 130, f"exit {p.returncode}, expected 130: {err[-1000:]!r}")
time.sleep(0.3)


def parent_of(pid):
    """The parent pid of @pid, or None once it is gone (any process may end meanwhile)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[2]
    except (FileNotFoundError, ProcessLookupError):
        return None


left = [pid for pid in os.listdir("/proc") if pid.isdigit() and parent_of(pid) == str(p.pid)]
check(not left, f"processes of the run still alive: {left}")
leaked = ipc_snapshot() - before
check(not leaked, f"IPC objects left behind: {leaked}")
header, rows = read_csv(os.path.join(out, "results.csv"))
check(header == COLUMNS, "results.csv columns")
check(any(r["status"] == "ok" for r in rows), f"nothing measured before SIGINT was kept: {rows}")
for r in rows:
    m = re.match(r"interrupted after (\d+) repetitions?$", r["note"])
    if m:
        check(r["note"].endswith("repetition" if m.group(1) == "1" else "repetitions"),
              f"note {r['note']!r}")
check(os.path.exists(os.path.join(out, "env.json")), "env.json not written")
check(os.path.exists(os.path.join(out, "benchmarks.json")), "benchmarks.json not written")
finish()
