# SPDX-License-Identifier: MIT
"""`ipcbench clean` after a SIGKILLed run removes exactly what the run left (SysV), and
never another program's queue.  Argument MODE (after the binary): latency (ipcq's
queues, the default) or bare (the bare loop's queues, used raw)."""
import os
import re
import signal
import subprocess
import sys
import time
from clitest import IPCBENCH, check, finish, libc, run, skip, sysv_ids, tmpdir

IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
run(["clean"])  # leftovers of earlier dead runs are not this test's
foreign = libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
if foreign < 0:
    skip("msgget failed: no SysV message queues here")
before = sysv_ids()
out = tmpdir()
mode = sys.argv[2] if len(sys.argv) > 2 else "latency"
p = subprocess.Popen([IPCBENCH, "run", "--mode", mode, "--backends", "sysv", "--sizes", "64",
                      "--repetitions", "1", "--min-time", "20", "--out", out],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def children(ppid):
    kids = set()
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == str(ppid):
                kids.add(int(pid))
        except (OSError, IndexError):
            pass
    return kids


def ours(pids):
    """Queues our run used: other agents may create queues at the same time."""
    ids = set()
    with open("/proc/sysvipc/msg") as f:
        next(f)
        for line in f:
            c = line.split()
            if int(c[1]) not in before and (int(c[5]) in pids or int(c[6]) in pids):
                ids.add(int(c[1]))
    return ids


pids = {p.pid}
deadline = time.time() + 20
while time.time() < deadline and len(ours(pids)) < 2:
    pids |= children(p.pid)
    time.sleep(0.05)
time.sleep(0.5)  # into the timed loop
pids |= children(p.pid)
p.send_signal(signal.SIGKILL)
p.wait()
time.sleep(0.5)  # the workers die with their parent (PR_SET_PDEATHSIG)
left = ours(pids)
check(len(left) > 0, "the killed run left no SysV queue (nothing to test)")

r = run(["clean"])
check(r.returncode == 0, f"clean exited {r.returncode}: {r.stderr}")
after = sysv_ids()
removed = {int(m) for m in re.findall(r"^removed sysv: .*?msqid (\d+)", r.stdout, re.M)}
check(not (left & after), f"clean left {left & after} behind: {r.stdout}")
check(left <= removed, f"clean does not report removing {left - removed}: {r.stdout}")
# Other agents may create and remove queues meanwhile: what existed before our run,
# alive or not ours, must not be touched.
check(not (removed & before), f"clean removed queues that predate the run: {removed & before}")
check(foreign in after, "clean removed another program's (live) queue")
check(re.search(r"clean: \d+ objects? removed", r.stdout), f"no summary line: {r.stdout}")
r = run(["clean"])
again = {int(m) for m in re.findall(r"msqid (\d+)", r.stdout)}
check(r.returncode == 0 and not (again & left), f"second clean found ours again: {r.stdout}")
libc.msgctl(foreign, IPC_RMID, None)
finish()
