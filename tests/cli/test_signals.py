# SPDX-License-Identifier: MIT
"""SIGHUP (the terminal closed) and SIGPIPE (`ipcbench run ... | head -1`) end a run
like Ctrl-C: exit 128+signal, the partial run is kept and `ipcbench report` draws it,
every worker ends and no IPC object is left."""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from clitest import (COLUMNS, IPCBENCH, check, finish, ipc_snapshot, leaked_since, read_csv, run,
                     tmpdir)

CELL = re.compile(r"(floor|latency|throughput|bare)/")


# Every backend and mode; and only SysV cells, so that a queue (the bare loop's own,
# raw msgget, or libipcq's) is open whenever the signal comes.
EVERY = ["--mode", "floor,bare,latency,throughput", "--backends", "pipe,sysv,mqueue,shm",
         "--sizes", "64"]
SYSV = ["--mode", "bare,latency", "--backends", "sysv", "--sizes", "64,256,1K,4K"]


def start(out, errf, cells):
    return subprocess.Popen([IPCBENCH, "run"] + cells +
                            ["--repetitions", "1", "--min-time", "0.2", "--out", out],
                            stdout=subprocess.PIPE, stderr=errf, start_new_session=True,
                            text=True)


def children_of(pid):
    left = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                if d.isdigit() and f.read().rsplit(")", 1)[-1].split()[2] == str(pid):
                    left.append(d)
        except OSError:
            pass
    return left


def wait_end(p, what):
    try:
        p.wait(timeout=30)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        check(False, f"{what}: ipcbench did not stop within 30 s")
        return False


def after(what, p, sig, out, errf, before):
    errf.seek(0)
    err = errf.read()
    check(p.returncode == 128 + sig, f"{what}: exit {p.returncode}, expected {128 + sig}: "
          f"{err[-1000:]!r}")
    time.sleep(0.3)
    check(not children_of(p.pid), f"{what}: workers of the run still alive")
    leaked = leaked_since(before)
    check(not leaked, f"{what}: IPC objects left behind: {leaked}")
    if not check(os.path.exists(os.path.join(out, "results.csv")),
                 f"{what}: no results.csv: {err[-1000:]!r}"):
        return
    header, rows = read_csv(os.path.join(out, "results.csv"))
    check(header == COLUMNS, f"{what}: results.csv columns")
    check(any(r["status"] == "ok" for r in rows), f"{what}: nothing measured was kept: {rows}")
    for name in ("env.json", "benchmarks.json", "topology.xml", "histograms.csv"):
        check(os.path.exists(os.path.join(out, name)), f"{what}: {name} not written")
    r = run(["report", out, "--svg-only"], timeout=120)
    check(r.returncode == 0, f"{what}: report of the partial run: exit {r.returncode}: "
          f"{r.stderr[-1000:]!r}")


def sighup(cells):
    before = ipc_snapshot()
    out = os.path.join(tmpdir(), "run")
    with tempfile.TemporaryFile("w+") as errf:
        p = start(out, errf, cells)
        reported = threading.Event()

        def read_stdout():
            for line in p.stdout:
                if CELL.match(line):
                    reported.set()

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        check(reported.wait(90), "SIGHUP: no cell reported within 90 s")
        # A closed terminal hangs up its whole foreground process group.
        os.killpg(p.pid, signal.SIGHUP)
        if wait_end(p, "SIGHUP"):
            reader.join(5)
            after("SIGHUP", p, signal.SIGHUP, out, errf, before)


def sigpipe(cells):
    before = ipc_snapshot()
    out = os.path.join(tmpdir(), "run")
    with tempfile.TemporaryFile("w+") as errf:
        p = start(out, errf, cells)
        # `| head -1`: the reader takes what it wants and goes; the next write to
        # stdout finds no reader.  Wait for a first cell so that one is measured.
        ok = False
        for line in p.stdout:
            if CELL.match(line):
                ok = True
                break
        check(ok, "SIGPIPE: no cell reported")
        p.stdout.close()
        if wait_end(p, "SIGPIPE"):
            after("SIGPIPE", p, signal.SIGPIPE, out, errf, before)


sighup(SYSV)
sigpipe(SYSV)
sighup(EVERY)
sigpipe(EVERY)
finish()
