# SPDX-License-Identifier: MIT
"""Bad input: exit code 2 and one line on stderr naming the flag and the value."""
import os
from clitest import check, finish, run, tmpdir

out = tmpdir()
CASES = [
    (["run", "--backends", "pipe,foo"], "--backends", "foo"),
    (["run", "--sizes", "12Q"], "--sizes", "12Q"),
    (["run", "--sizes", "4"], "--sizes", "4"),
    (["run", "--sizes"], "--sizes", ""),
    (["run", "--pairs", "0x1"], "--pairs", "0x1"),
    (["run", "--pairs", "2y2"], "--pairs", "2y2"),
    (["run", "--out", "/etc/passwd/sub"], "--out", "/etc/passwd/sub"),
    (["run", "--mode", "latency,fast"], "--mode", "fast"),
    (["run", "--placement", "nowhere"], "--placement", "nowhere"),
    (["run", "--profile", "slow"], "--profile", "slow"),
    (["run", "--repetitions", "0"], "--repetitions", "0"),
    (["run", "--min-time=-1"], "--min-time", "-1"),
    (["run", "--bogus"], "--bogus", "--bogus"),
    (["run", "--benchmark_nonsense=1", "--out", os.path.join(out, "x")],
     "--benchmark", "--benchmark_nonsense=1"),
    (["frobnicate"], "command", "frobnicate"),
    (["clean", "extra"], "clean", "extra"),
]

for args, flag, value in CASES:
    r = run(args)
    lines = r.stderr.strip().splitlines()
    what = " ".join(args)
    check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2")
    check(len(lines) == 1, f"{what}: {len(lines)} lines on stderr: {r.stderr!r}")
    check(flag in r.stderr and f"'{value}'" in r.stderr and "allowed" in r.stderr,
          f"{what}: stderr does not name {flag} and '{value}': {r.stderr!r}")

# Nothing was written for bad input.
check(not os.path.exists(os.path.join(out, "x")), "a results dir was created for bad input")

r = run(["--help"])
check(r.returncode == 0 and "usage: ipcbench" in r.stdout, "--help")
for flag in ("--profile", "--mode", "--backends", "--sizes", "--pairs", "--placement",
             "--repetitions", "--min-time", "--out", "--benchmark_"):
    check(flag in r.stdout, f"--help does not mention {flag}")
r = run(["list"])
check(r.returncode == 0 and "backends:" in r.stdout and "pair relations:" in r.stdout,
      f"list: {r.returncode} {r.stderr}")
finish()
