# SPDX-License-Identifier: MIT
"""Every message of the rate and wakeup modes is verified: a producer that flips one byte
of its first message (IPCBENCH_FAULT=corrupt-first: the due time in bytes 8..15;
corrupt-mid, corrupt-last: the payload) or never sends its second (drop) fails the cell
with what was wrong, on a schedule (rate 10k), back to back (max, no schedule to compare
the due time with) and after idle gaps (wakeup), at 16 bytes (the due time is the last
word) and 64."""
import os
from clitest import check, finish, read_csv, run, tmpdir

WHY = {"corrupt-first": "due time", "corrupt-mid": "corrupt", "corrupt-last": "corrupt",
       "drop": "lost"}
for fault, word in WHY.items():
    out = tmpdir()
    r = run(["run", "--mode", "rate,wakeup", "--backends", "pipe,shm", "--sizes", "16,64",
             "--rates", "10k,max", "--gaps", "20us", "--duration", "0.05", "--repetitions",
             "1", "--out", out], env={"IPCBENCH_FAULT": fault}, timeout=110)
    check(r.returncode == 1, f"{fault}: exit {r.returncode}, expected 1: {r.stderr[-800:]}")
    _, rows = read_csv(os.path.join(out, "results.csv"))
    check(len(rows) == 12, f"{fault}: {len(rows)} rows, expected 12")
    for row in rows:
        name = f"{fault}: {row['mode']} {row['backend']} {row['size']} B " \
               f"{row['offered_rate'] or row['gap_ns']}"
        check(row["status"] == "failed" and word in row["note"],
              f"{name}: {row['status']}: {row['note']!r}")
        check(row["lat_p50_ns"] == "" and row["achieved_rate"] == "",
              f"{name}: a failed cell shows numbers")
# Without a fault the same cells are ok.
out = tmpdir()
r = run(["run", "--mode", "rate,wakeup", "--backends", "pipe,shm", "--sizes", "16,64",
         "--rates", "10k,max", "--gaps", "20us", "--duration", "0.05", "--repetitions", "1",
         "--out", out], timeout=110)
check(r.returncode == 0, f"no fault: exit {r.returncode}: {r.stderr[-800:]}")
_, rows = read_csv(os.path.join(out, "results.csv"))
check(all(row["status"] in ("ok", "saturated") for row in rows),
      f"no fault: {[(row['mode'], row['backend'], row['note']) for row in rows if row['status'] not in ('ok', 'saturated')]}")
finish()
