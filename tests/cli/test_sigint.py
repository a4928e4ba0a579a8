# SPDX-License-Identifier: MIT
"""Ctrl-C (SIGINT to the process group) during a run: workers end, no IPC object is
left, and what was measured so far is written."""
import os
import re
import signal
import subprocess
import time
from clitest import COLUMNS, IPCBENCH, check, finish, ipc_snapshot, read_csv, tmpdir

before = ipc_snapshot()
out = tmpdir()
p = subprocess.Popen([IPCBENCH, "run", "--mode", "floor,latency,throughput",
                      "--backends", "pipe,sysv,mqueue,shm", "--sizes", "64",
                      "--repetitions", "2", "--min-time", "0.2", "--out", out],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
time.sleep(2.5)
os.killpg(p.pid, signal.SIGINT)
try:
    _, err = p.communicate(timeout=30)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    check(False, "ipcbench did not stop within 30 s of SIGINT")
    finish()
check(p.returncode == 130, f"exit {p.returncode}, expected 130: {err[-1000:]!r}")
time.sleep(0.3)
left = [pid for pid in os.listdir("/proc") if pid.isdigit() and
        os.path.exists(f"/proc/{pid}/stat") and
        open(f"/proc/{pid}/stat").read().rsplit(")", 1)[-1].split()[2] == str(p.pid)]
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
