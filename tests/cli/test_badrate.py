# SPDX-License-Identifier: MIT
"""Bad --rates, --gaps and --duration: exit code 2 and one line on stderr naming the flag,
the value and what is allowed, before anything is created; good spellings run."""
import os
import shutil
from clitest import check, expect_bad, finish, run, tmpdir

out = tmpdir()
fast = ["run", "--out", os.path.join(out, "y"), "--mode", "rate,wakeup", "--backends", "pipe",
        "--sizes", "64", "--repetitions", "1"]
BAD = [
    (["--rates", "0"], "--rates", "0"),
    (["--rates", "-5"], "--rates", "-5"),
    (["--rates", "fast"], "--rates", "fast"),
    (["--rates", "10kk"], "--rates", "10kk"),
    (["--rates", "10G"], "--rates", "10G"),
    (["--rates", "1001M"], "--rates", "1001M"),
    (["--rates", "1e3"], "--rates", "1e3"),
    (["--rates", "nan"], "--rates", "nan"),
    (["--rates", "inf"], "--rates", "inf"),
    (["--rates", "0.5"], "--rates", "0.5"),
    (["--rates", "1k,,max"], "--rates", "1k,,max"),
    (["--rates", "1k,1000"], "--rates", "1000"),
    (["--rates", "max,max"], "--rates", "max"),
    (["--rates", "MAX"], "--rates", "MAX"),
    (["--rates", ""], "--rates", ""),
    (["--rates"], "--rates", ""),
    (["--gaps", "10"], "--gaps", "10"),
    (["--gaps", "10xs"], "--gaps", "10xs"),
    (["--gaps", "500ns"], "--gaps", "500ns"),
    (["--gaps", "2s"], "--gaps", "2s"),
    (["--gaps", "0us"], "--gaps", "0us"),
    (["--gaps", "-1ms"], "--gaps", "-1ms"),
    (["--gaps", "1.0005us"], "--gaps", "1.0005us"),
    (["--gaps", "us"], "--gaps", "us"),
    (["--gaps", "1ms,1000us"], "--gaps", "1000us"),
    (["--gaps", "1ms,"], "--gaps", "1ms,"),
    (["--duration", "0"], "--duration", "0"),
    (["--duration", "-1"], "--duration", "-1"),
    (["--duration", "61"], "--duration", "61"),
    (["--duration", "abc"], "--duration", "abc"),
    (["--duration", "nan"], "--duration", "nan"),
    (["--duration", "inf"], "--duration", "inf"),
    (["--duration", ""], "--duration", ""),
    (["--duration"], "--duration", ""),
]
for args, flag, value in BAD:
    expect_bad(fast + args, flag, value, made=os.path.join(out, "y"))

# Good spellings run: suffixes k, K, M and max; gaps in ns, us, ms, s.
for args in (["--rates", "2k,1.5K,max", "--gaps", "20000ns,0.05ms", "--duration", "0.02"],
             ["--mode", "wakeup", "--gaps", "0.001s", "--duration", "0.01"]):
    r = run(fast + args, timeout=60)
    check(r.returncode == 0, f"{args}: exit {r.returncode}: {r.stderr[-600:]!r}")
    shutil.rmtree(os.path.join(out, "y"), True)

r = run(["run", "--help"])
for flag in ("--rates", "--gaps", "--duration", "rate", "wakeup"):
    check(flag in r.stdout, f"run --help does not mention {flag}")
finish()
