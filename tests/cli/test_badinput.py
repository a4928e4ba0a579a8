# SPDX-License-Identifier: MIT
"""Bad input: exit code 2 and one line on stderr naming the flag and the value."""
import os
import shutil
from clitest import check, expect_bad, finish, run, tmpdir

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
    (["run", "--sizes", "0"], "--sizes", "0"),
    (["run", "--pairs", "2x"], "--pairs", "2x"),
    (["run", "--repetitions", "-1"], "--repetitions", "-1"),
    (["run", "--min-time", "abc"], "--min-time", "abc"),
    (["run", "--out", "/proc/forbidden"], "--out", "/proc/forbidden"),
    (["run", "--benchmark_bogus"], "--benchmark", "--benchmark_bogus"),
    (["run", "--benchmark_repetitions=0"], "--benchmark_repetitions", "0"),
    # google-benchmark's own complaint must not make a second line.
    (["run", "--benchmark_min_time=abc"], "--benchmark", "--benchmark_min_time=abc"),
    (["frobnicate"], "command", "frobnicate"),
    ([], "command", ""),
    (["clean", "extra"], "clean", "extra"),
    (["list", "extra"], "list", "extra"),
    (["report", "/nonexistent-ipcbench-run"], "DIR", "/nonexistent-ipcbench-run"),
    (["report", "/etc/passwd"], "DIR", "/etc/passwd"),
    (["report", out, "--bogus"], "option", "--bogus"),
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

# A filter that leaves every cell out is an error, not an empty success.
r = run(["run", "--benchmark_filter=no-such-cell", "--out", os.path.join(out, "nomatch")])
check(r.returncode == 2 and "--benchmark_filter" in r.stderr.strip().splitlines()[-1]
      and "no cell matched" in r.stderr, f"filter matching nothing: {r.returncode} {r.stderr!r}")

# Lists, numbers and pass-through flags (defect 6 of issue 8): each is refused before
# anything runs or is created, with one line naming the flag and the value.
fast = ["run", "--out", os.path.join(out, "y"), "--mode", "floor", "--backends", "pipe",
        "--repetitions", "1", "--min-time", "0.01"]
ALL8 = "same-cpu,smt,same-l2,same-l3,cross-l3,cross-numa,cross-package,none"
STRICT = [
    (["--sizes", "64,,4K"], "--sizes", "64,,4K"),
    (["--sizes", ",64"], "--sizes", ",64"),
    (["--sizes", "64,"], "--sizes", "64,"),
    (["--sizes", ","], "--sizes", ","),
    (["--pairs", "1x1,,2x2"], "--pairs", "1x1,,2x2"),
    (["--mode", "floor,,floor"], "--mode", "floor,,floor"),
    (["--backends", "pipe,"], "--backends", "pipe,"),
    (["--placement", ",none"], "--placement", ",none"),
    (["--sizes", "18014398509482048K"], "--sizes", "18014398509482048K"),
    (["--sizes", "17592186044416M"], "--sizes", "17592186044416M"),
    (["--sizes", "99999999999999999999999"], "--sizes", "99999999999999999999999"),
    (["--sizes", "1025K"], "--sizes", "1025K"),
    (["--sizes", "64,64"], "--sizes", "64"),
    (["--sizes", "1K,1024"], "--sizes", "1024"),
    (["--pairs", "1x1,2x2,1x1"], "--pairs", "1x1"),
    (["--placement", "none,none"], "--placement", "none"),
    (["--placement", ALL8 + ",none"], "--placement", "none"),
    (["--mode", "floor,floor"], "--mode", "floor"),
    (["--backends", "pipe,shm,pipe"], "--backends", "pipe"),
    (["--min-time", "nan"], "--min-time", "nan"),
    (["--batch", "0"], "--batch", "0"),
    (["--batch", "1025"], "--batch", "1025"),
    (["--batch", "4x"], "--batch", "4x"),
    (["--min-time", "inf"], "--min-time", "inf"),
    (["--min-time", "1e308"], "--min-time", "1e308"),
    (["--benchmark_min_time=1e308"], "--benchmark_min_time", "1e308"),
    (["--benchmark_min_time=nan"], "--benchmark_min_time", "nan"),
    (["--benchmark_min_time=inf"], "--benchmark_min_time", "inf"),
    (["--benchmark_min_time=-1"], "--benchmark_min_time", "-1"),
    (["--benchmark_min_time=0"], "--benchmark_min_time", "0"),
    (["--benchmark_min_time=3601"], "--benchmark_min_time", "3601"),
    (["--benchmark_min_warmup_time=1e308"], "--benchmark_min_warmup_time", "1e308"),
    (["--benchmark_min_warmup_time=-1"], "--benchmark_min_warmup_time", "-1"),
    (["--benchmark_min_warmup_time=nan"], "--benchmark_min_warmup_time", "nan"),
    (["--benchmark_repetitions=1001"], "--benchmark_repetitions", "1001"),
    (["--benchmark_out=" + os.path.join(out, "z.json")], "--benchmark_out",
     os.path.join(out, "z.json")),
    (["--benchmark_out_format=csv"], "--benchmark_out_format", "csv"),
    (["--benchmark_list_tests=true"], "--benchmark_list_tests", "true"),
    (["--benchmark_filter=zzz"], "--benchmark_filter", "zzz"),
    (["--benchmark_filter=(("], "--benchmark_filter", "(("),
    (["--benchmark_filter=-."], "--benchmark_filter", "-."),
    (["--mode", "latency", "--backends", "pipe-stream"], "--mode", "latency"),  # no cell at all
]
for args, flag, value in STRICT:
    expect_bad(fast + args, flag, value, made=os.path.join(out, "y"))
r = run(fast + ["--benchmark_filter=zzz"])
check("no cell matched" in r.stderr, f"filter zzz: {r.stderr!r}")
r = run(fast + ["--benchmark_filter=(("])
check("regular expression" in r.stderr and "no cell matched" not in r.stderr,
      f"filter ((: {r.stderr!r}")

# Each entry once, in any order and spelling that is valid: these run.
for args in (["--sizes", "64,4K", "--placement", "none"], ["--benchmark_filter=floor/"],
             ["--benchmark_filter=-latency", "--benchmark_min_time=0.01"]):
    r = run(fast + args)
    check(r.returncode == 0, f"{args}: exit {r.returncode}: {r.stderr[-600:]!r}")
    shutil.rmtree(os.path.join(out, "y"), True)

# report: a missing --compare value names the flag and what it wants.
for args in (["report", out, "--compare"], ["report", out, "--compare="]):
    r = run(args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "--compare" in r.stderr
          and "allowed" in r.stderr, f"{args}: {r.returncode} {r.stderr!r}")

# Each command's --help exits 0 on stdout and lists what the command takes.
for args, words in ((["list", "--help"], ["usage: ipcbench list"]),
                    (["clean", "--help"], ["usage: ipcbench clean"]),
                    (["report", "--help"], ["--compare", "--svg-only"]),
                    (["run", "--help"], ["--profile", "--out"])):
    r = run(args)
    check(r.returncode == 0 and r.stderr == "" and all(w in r.stdout for w in words),
          f"{args}: exit {r.returncode}, stdout {r.stdout[:80]!r}, stderr {r.stderr!r}")

r = run(["--help"])
check(r.returncode == 0 and "usage: ipcbench" in r.stdout, "--help")
for flag in ("--profile", "--mode", "--backends", "--sizes", "--pairs", "--placement",
             "--repetitions", "--min-time", "--out", "--force", "--benchmark_", "exit codes"):
    check(flag in r.stdout, f"--help does not mention {flag}")
r = run(["list"])
check(r.returncode == 0 and "backends:" in r.stdout and "pair relations:" in r.stdout,
      f"list: {r.returncode} {r.stderr}")
finish()
