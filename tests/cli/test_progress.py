# SPDX-License-Identifier: MIT
"""Progress on stderr: on a terminal, lines with cells done of all, the cell
running now and the time left (reckoned over the interleaved repetitions, so
it reaches the end with the run); nothing of it when stderr is not a terminal."""
import os
import pty
import re
import subprocess
from clitest import IPCBENCH, check, finish, run, tmpdir

out = tmpdir()
ARGS = ["run", "--backends", "pipe,shm", "--sizes", "64", "--mode", "latency,throughput",
        "--repetitions", "3", "--min-time", "0.2",
        # cross-package is skipped on most machines (one package): those cells take
        # no time and must not make the time left look shorter than it is.
        "--placement", "same-cpu,cross-package"]
LINE = re.compile(r"^\[(\d+)/(\d+) cells done\] now (\S+)(?:  \((\d+) s elapsed, about (\d+) s left\))?$")

# stderr on a pseudo-terminal, stdout on a pipe.
master, slave = pty.openpty()
p = subprocess.Popen([IPCBENCH] + ARGS + ["--out", os.path.join(out, "tty")],
                     stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
chunks = []
while True:
    try:
        b = os.read(master, 4096)
    except OSError:  # EIO: the child closed the terminal
        break
    if not b:
        break
    chunks.append(b)
p.communicate(timeout=120)
os.close(master)
text = b"".join(chunks).decode(errors="replace").replace("\r", "")
lines = [m for m in (LINE.match(l) for l in text.splitlines()) if m]
check(p.returncode == 0, f"run on a terminal: exit {p.returncode}")
check(len(lines) >= 2, f"fewer than 2 progress lines on a terminal: {text!r}")
names = {f"{m}/{b}/64/1x1/" for m in ("latency", "throughput") for b in ("pipe", "shm")}
for m in lines:
    check(m.group(2) == "8", f"total cells {m.group(2)}, want 8: {m.group(0)}")
    check(any(m.group(3).startswith(n) for n in names), f"unknown current cell: {m.group(0)}")
timed = [m for m in lines if m.group(4) is not None]
check(bool(timed), f"no line says the time left: {text!r}")
if timed:
    # An estimate must not say the run is over long before it is (counting cells
    # started, as interleaved repetitions start them all early, did): elapsed + left
    # of the first estimate covers at least half of the run (loose: a loaded machine).
    last_el = int(timed[-1].group(4))
    first = timed[0]
    check(int(first.group(4)) + int(first.group(5)) + 1 >= last_el / 2,
          f"first estimate {first.group(0)} ends before the run reached {last_el} s")
check(int(lines[-1].group(1)) <= 8, f"more cells done than exist: {lines[-1].group(0)}")

# Not a terminal: no progress at all.
r = run(ARGS + ["--out", os.path.join(out, "pipe")])
check(r.returncode == 0, f"run without a terminal: exit {r.returncode}: {r.stderr}")
check(not any(LINE.match(l) for l in r.stderr.splitlines()),
      f"progress written although stderr is not a terminal: {r.stderr!r}")
finish()
