# SPDX-License-Identifier: MIT
"""A deliberately broken producer (IPCBENCH_FAULT, in the harness, not in libipcq) must
turn the cell into `failed` with what went wrong, never a number."""
import os
from clitest import check, finish, read_csv, run, tmpdir

FAULTS = {"corrupt": "corrupt", "drop": "lost", "dup": "duplicate", "reorder": "reordered"}


def one(fault, size="64"):
    out = tmpdir()
    env = {"IPCBENCH_FAULT": fault} if fault else None
    r = run(["run", "--mode", "throughput", "--backends", "pipe", "--sizes", size,
             "--repetitions", "1", "--min-time", "0.01", "--out", out], env=env, timeout=60)
    # A CI job must tell: exit 1 when a cell failed, 0 when all went well.
    want = 1 if fault else 0
    check(r.returncode == want, f"{fault}: exit {r.returncode}, expected {want}: "
          f"{r.stderr[-1000:]}")
    _, rows = read_csv(os.path.join(out, "results.csv"))
    check(len(rows) == 1, f"{fault}: {len(rows)} rows")
    row = rows[0] if rows else {}
    # The console lists no skipped or failed runs (once per repetition each);
    # after the run, stderr names each failed cell with its reason, once.
    check("ERROR OCCURRED" not in r.stdout, f"{fault}: console lists error runs: {r.stdout!r}")
    said = [l for l in r.stderr.splitlines() if l.startswith("ipcbench: failed: ")]
    if row.get("status") == "failed":
        check(len(said) == 1 and f"throughput/pipe/{size}/1x1/" in said[0]
              and row.get("note", "") in said[0], f"{fault}: stderr does not name it: {r.stderr!r}")
    else:
        check(not said, f"{fault}: stderr names a failure: {said}")
    return row


row = one(None)
check(row.get("status") == "ok", f"control run not ok: {row}")
for fault, word in FAULTS.items():
    row = one(fault)
    check(row.get("status") == "failed", f"{fault}: status {row.get('status')}")
    check(word in row.get("note", ""), f"{fault}: note {row.get('note')!r} lacks {word!r}")
    check(row.get("msgs_per_s") == "" and row.get("seconds") == "", f"{fault}: a number was reported")
row = one("corrupt", "8")
check(row.get("status") == "failed" and "corrupt" in row.get("note", ""), f"corrupt at 8 B: {row}")
finish()
