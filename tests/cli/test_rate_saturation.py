# SPDX-License-Identifier: MIT
"""Offered and achieved rates.  Far below saturation (1,000 messages/s) every backend
carries the offered rate within 5%, and the cell is ok with one-way latencies and CPU
columns.  An offered rate no backend carries (50M messages/s of verified 64-byte
messages) makes the cell `saturated`, with the rate reached in the note and no latency."""
import os
from clitest import check, finish, read_csv, run, tmpdir

out = tmpdir()
r = run(["run", "--mode", "rate", "--sizes", "64", "--rates", "1k,50M", "--duration", "0.3",
         "--repetitions", "1", "--out", out], timeout=110)
check(r.returncode == 0, f"run exited {r.returncode}: {r.stderr[-1500:]}")
_, rows = read_csv(os.path.join(out, "results.csv"))
backends = {row["backend"] for row in rows}
check(len(backends) >= 4, f"rate cells of {sorted(backends)} only")
for row in rows:
    name = f"{row['backend']} at {row['offered_rate']}/s"
    check(row["mode"] == "rate" and row["gap_ns"] == "", f"{name}: {row}")
    if row["offered_rate"] == "1000":
        if not check(row["status"] == "ok", f"{name}: {row['status']}: {row['note']}"):
            continue
        got = float(row["achieved_rate"])
        check(abs(got - 1000) <= 50, f"{name}: achieved {got}/s, not within 5% of 1000")
        check(280 <= float(row["messages"]) <= 310, f"{name}: {row['messages']} messages")
        check(0 < float(row["lat_p50_ns"]) <= float(row["lat_p99_ns"]), f"{name}: latency")
        check(float(row["cpu_ns_per_msg"]) > 0, f"{name}: no CPU per message")
    else:
        check(row["offered_rate"] == "50000000", f"{name}: offered {row['offered_rate']}")
        check(row["status"] == "saturated", f"{name}: {row['status']}: {row['note']}")
        got = float(row["achieved_rate"] or "nan")
        check(0 < got < 0.95 * 50e6, f"{name}: achieved {got}")
        check("saturated: reached" in row["note"] and str(round(got)) in row["note"],
              f"{name}: note {row['note']!r} does not say the rate reached")
        check(row["lat_p50_ns"] == "" and row["cpu_ns_per_msg"] == "",
              f"{name}: a saturated cell shows a latency or CPU figure")
check(sum(r["offered_rate"] == "1000" for r in rows) == len(backends), "a 1k cell is missing")
finish()
