# SPDX-License-Identifier: MIT
"""A deliberately broken producer or echo (IPCBENCH_FAULT, in the harness, not in libipcq)
must turn the cell into `failed` with what went wrong, never a number."""
import os
from clitest import check, finish, read_csv, run, tmpdir

FAULTS = {"corrupt": "corrupt", "drop": "lost", "dup": "duplicate", "reorder": "reordered"}
# One payload byte flipped: its offset in a 64-byte message (the payload is bytes 8..63).
CORRUPT_AT = {"corrupt-first": 8, "corrupt-mid": 35, "corrupt-last": 63}


def one(fault, size="64", mode="throughput"):
    out = tmpdir()
    env = {"IPCBENCH_FAULT": fault} if fault else None
    r = run(["run", "--mode", mode, "--backends", "pipe", "--sizes", size,
             "--repetitions", "1", "--min-time", "0.01", "--out", out], env=env, timeout=60)
    what = f"{mode} {fault}"
    # A CI job must tell: exit 1 when a cell failed, 0 when all went well.
    want = 1 if fault else 0
    check(r.returncode == want, f"{what}: exit {r.returncode}, expected {want}: "
          f"{r.stderr[-1000:]}")
    _, rows = read_csv(os.path.join(out, "results.csv"))
    check(len(rows) == 1, f"{what}: {len(rows)} rows")
    row = rows[0] if rows else {}
    # The console lists no skipped or failed runs (once per repetition each);
    # after the run, stderr names each failed cell with its reason, once.
    check("ERROR OCCURRED" not in r.stdout, f"{what}: console lists error runs: {r.stdout!r}")
    said = [l for l in r.stderr.splitlines() if l.startswith("ipcbench: failed: ")]
    if row.get("status") == "failed":
        check(len(said) == 1 and f"{mode}/pipe/{size}/1x1/" in said[0]
              and row.get("note", "") in said[0], f"{what}: stderr does not name it: {r.stderr!r}")
    else:
        check(not said, f"{what}: stderr names a failure: {said}")
    return row


def failed(row, what, word):
    check(row.get("status") == "failed", f"{what}: status {row.get('status')}")
    check(word in row.get("note", ""), f"{what}: note {row.get('note')!r} lacks {word!r}")
    check(row.get("msgs_per_s") == "" and row.get("seconds") == "" and
          row.get("lat_p50_ns") == "" and row.get("cpu_ns_per_msg") == "",
          f"{what}: a number was reported: {row}")


for mode in ("throughput", "latency"):
    row = one(None, mode=mode)
    check(row.get("status") == "ok", f"{mode}: control run not ok: {row}")
    for fault, at in CORRUPT_AT.items():
        failed(one(fault, mode=mode), f"{mode} {fault}", f"payload byte {at} of 64 differs")
for fault, word in FAULTS.items():
    failed(one(fault), fault, word)
row = one("corrupt", "8")
check(row.get("status") == "failed" and "corrupt" in row.get("note", ""), f"corrupt at 8 B: {row}")
finish()
