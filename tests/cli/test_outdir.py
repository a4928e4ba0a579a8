# SPDX-License-Identifier: MIT
"""run --out: links planted in the directory are never followed, an existing run is
refused without --force and replaced with it, a refused path leaves nothing behind."""
import os
import signal
import stat
import subprocess
import time
from clitest import IPCBENCH, check, finish, run, tmpdir

QUICK = ["run", "--mode", "floor", "--repetitions", "1", "--min-time", "0.01"]
FILES = ("results.csv", "histograms.csv", "env.json", "topology.xml", "benchmarks.json")
base = tmpdir()


def one_line_2(r, what, words):
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2: {r.stderr!r}")
    check(len(lines) == 1, f"{what}: {len(lines)} lines on stderr: {r.stderr!r}")
    check(all(w in r.stderr for w in words), f"{what}: stderr lacks {words}: {r.stderr!r}")


def is_run(d):
    return all(os.path.isfile(os.path.join(d, f)) and not os.path.islink(os.path.join(d, f))
               for f in FILES)


def no_temp_left(parent, what):
    left = [n for n in os.listdir(parent) if n.startswith(".ipcbench")]
    check(not left, f"{what}: temporary directories left in {parent}: {left}")


# Links planted in a world-writable directory, pointing at files that must not change.
victims = os.path.join(base, "victims")
os.mkdir(victims)
planted = os.path.join(base, "planted")
os.mkdir(planted)
os.chmod(planted, 0o777)
for f in FILES:
    with open(os.path.join(victims, f), "w") as v:
        v.write("precious\n")
    os.symlink(os.path.join(victims, f), os.path.join(planted, f))
os.symlink(os.path.join(victims, "new-file"), os.path.join(planted, "report"))


def victims_intact(what):
    for f in FILES:
        with open(os.path.join(victims, f)) as v:
            check(v.read() == "precious\n", f"{what}: {f} was written through a link")
    check(not os.path.exists(os.path.join(victims, "new-file")),
          f"{what}: a file was created through a link")


r = run(QUICK + ["--out", planted])
one_line_2(r, "planted links without --force", ["--out", "--force"])
victims_intact("planted links without --force")
r = run(QUICK + ["--out", planted, "--force"])
check(r.returncode == 0, f"planted links with --force: exit {r.returncode}: {r.stderr[-800:]!r}")
victims_intact("planted links with --force")
check(is_run(planted), f"planted links with --force: not a run of regular files: "
      f"{os.listdir(planted)}")
no_temp_left(base, "planted links")

# The run directory itself a link: refused, even with --force.
link = os.path.join(base, "link")
os.symlink(victims, link)
for extra in ([], ["--force"]):
    r = run(QUICK + ["--out", link] + extra)
    one_line_2(r, f"--out a symlink {extra}", ["--out", link])
victims_intact("--out a symlink")
check(sorted(os.listdir(victims)) == sorted(FILES), "--out a symlink: victims changed")

# A fresh run: a directory of regular files, nothing else beside it.
# google-benchmark's own --benchmark_out (flag or environment) never opens a path.
fresh = os.path.join(base, "runs", "deeper", "fresh")
r = run(QUICK + ["--out", fresh], env={"BENCHMARK_OUT": os.path.join(victims, "new-file")})
check(r.returncode == 0, f"fresh run: exit {r.returncode}: {r.stderr[-800:]!r}")
check(is_run(fresh), f"fresh run: {os.listdir(fresh) if os.path.isdir(fresh) else 'missing'}")
mode = stat.S_IMODE(os.stat(fresh).st_mode)
check(mode & 0o700 == 0o700 and not mode & 0o022, f"fresh run: mode {oct(mode)}")
no_temp_left(os.path.dirname(fresh), "fresh run")
victims_intact("fresh run with BENCHMARK_OUT")

# An existing run: refused without --force, its report/ kept; with --force replaced whole.
os.mkdir(os.path.join(fresh, "report"))
with open(os.path.join(fresh, "report", "stale.svg"), "w") as f:
    f.write("stale\n")
with open(os.path.join(fresh, "results.csv")) as f:
    old_csv = f.read()
r = run(QUICK + ["--out", fresh])
one_line_2(r, "existing run without --force", ["--out", fresh, "--force"])
check(os.path.exists(os.path.join(fresh, "report", "stale.svg")),
      "existing run without --force: the old run was touched")
r = run(QUICK + ["--out", fresh, "--force"])
check(r.returncode == 0, f"existing run with --force: exit {r.returncode}: {r.stderr[-800:]!r}")
check(is_run(fresh) and not os.path.exists(os.path.join(fresh, "report")),
      f"existing run with --force: {os.listdir(fresh)}")
no_temp_left(os.path.dirname(fresh), "existing run with --force")

# A directory that is not a run is not replaced, not even with --force.
notrun = os.path.join(base, "notrun")
os.mkdir(notrun)
with open(os.path.join(notrun, "thesis.tex"), "w") as f:
    f.write("keep\n")
for extra in ([], ["--force"]):
    r = run(QUICK + ["--out", notrun] + extra)
    one_line_2(r, f"a directory that is not a run {extra}", ["--out", notrun])
check(os.listdir(notrun) == ["thesis.tex"], "a directory that is not a run was changed")

# An empty directory is used as it is.
empty = os.path.join(base, "empty")
os.mkdir(empty)
r = run(QUICK + ["--out", empty])
check(r.returncode == 0 and is_run(empty), f"empty dir: exit {r.returncode}: {r.stderr[-800:]!r}")

# Too long: refused before anything is created.
for long in (os.path.join(base, "x", "y" * 300), os.path.join(base, "x", *(["z" * 200] * 25))):
    r = run(QUICK + ["--out", long])
    one_line_2(r, f"long path ({len(long)} chars)", ["--out"])
    check(not os.path.exists(os.path.join(base, "x")), f"long path: {base}/x left behind")

# New parents are made; a refused run removes the ones it made.
r = run(QUICK + ["--out", os.path.join(base, "made", "deeper", "run")])
check(r.returncode == 0 and is_run(os.path.join(base, "made", "deeper", "run")),
      f"new parents: exit {r.returncode}: {r.stderr[-800:]!r}")
r = run(QUICK + ["--out", os.path.join(base, "new1", "new2", "run"),
                 "--benchmark_filter=no-such-cell"])
one_line_2(r, "filter matching nothing", ["--benchmark_filter"])
check(not os.path.exists(os.path.join(base, "new1")), "filter matching nothing: new1 left")
blocker = os.path.join(base, "blocker")
with open(blocker, "w") as f:
    f.write("a file, not a directory\n")
r = run(QUICK + ["--out", os.path.join(blocker, "run")])
one_line_2(r, "a file as parent", ["--out"])
nowrite = os.path.join(base, "nowrite")
os.mkdir(nowrite)
os.chmod(nowrite, 0o500)
if os.geteuid() != 0:  # root writes anyway
    r = run(QUICK + ["--out", os.path.join(nowrite, "new", "run")])
    one_line_2(r, "unwritable parent", ["--out"])
    check(os.listdir(nowrite) == [], "unwritable parent: something was created")
os.chmod(nowrite, 0o700)
# A SIGKILLed run cannot clean up: it must have nothing to clean (the files are made
# only once the measurements are over).
killed = os.path.join(base, "killed")
p = subprocess.Popen([IPCBENCH] + QUICK + ["--min-time", "30", "--out", killed],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
time.sleep(1.5)
check(p.poll() is None, f"SIGKILLed run: it had ended already (exit {p.returncode})")
os.killpg(p.pid, signal.SIGKILL)
p.wait()
check(not os.path.exists(killed), "SIGKILLed run: its directory exists")
no_temp_left(base, "the end")
finish()
