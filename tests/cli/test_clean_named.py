# SPDX-License-Identifier: MIT
"""`ipcbench clean` lists a named queue whose creator was SIGKILLed and that nobody
holds, and removes it only with --named; a queue whose creator lives is neither.
The queues are made through the real libipcq (ctypes), one backend per argument."""
import ctypes
import os
import signal
import subprocess
import sys
import time
from clitest import check, finish, run, skip

backend = sys.argv[2] if len(sys.argv) > 2 else "mqueue"
build = os.environ.get("IPCB_BUILD_ROOT", "build")
libpath = os.path.join(build, "ipc", "libipcq.so")
# The sanitizer build's library needs its runtime loaded first: python is not built with it.
if "libasan" not in os.environ.get("LD_PRELOAD", ""):
    deps = subprocess.run(["ldd", libpath], capture_output=True, text=True).stdout
    asan = [l.split("=>")[1].split()[0] for l in deps.splitlines() if "libasan" in l and "=>" in l]
    if asan:
        env = dict(os.environ, LD_PRELOAD=asan[0],
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
lib = ctypes.CDLL(libpath)


class Opts(ctypes.Structure):
    _fields_ = [("backend", ctypes.c_char_p), ("name", ctypes.c_char_p),
                ("capacity", ctypes.c_size_t), ("msg_max", ctypes.c_size_t)]


def make(name, die):
    """A child creates queue NAME; it is SIGKILLed (die) or left running."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        q = ctypes.c_void_p()
        o = Opts(backend.encode(), name.encode(), 4, 64)
        rc = lib.ipcq_create(ctypes.byref(q), ctypes.byref(o))
        os.write(w, b"%d\n" % rc)
        time.sleep(60)
        os._exit(0)
    rc = int(os.read(r, 64).split()[0])
    os.close(r)
    os.close(w)
    if die:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return pid, rc


tag = "clinamed%d" % os.getpid()
dead, alive = tag + "dead", tag + "alive"
_, rc = make(dead, True)
if rc == -38:  # ENOSYS
    skip(f"{backend}: no named queues here")
check(rc == 0, f"create {dead}: {rc}")
live_pid, rc = make(alive, False)
check(rc == 0, f"create {alive}: {rc}")
try:
    r = run(["clean"])
    check(r.returncode == 0, f"clean exited {r.returncode}: {r.stderr}")
    left = [l for l in r.stdout.splitlines() if l.startswith("left " + backend) and dead in l]
    check(len(left) == 1, f"clean does not list {dead}: {r.stdout!r}")
    check(alive not in r.stdout, f"clean lists a queue whose creator lives: {r.stdout!r}")
    check("clean --named removes" in r.stdout, f"no hint at --named: {r.stdout!r}")
    r = run(["clean", "--named"])
    check(r.returncode == 0, f"clean --named exited {r.returncode}: {r.stderr}")
    check(any(l.startswith("removed " + backend) and dead in l for l in r.stdout.splitlines()),
          f"clean --named does not remove {dead}: {r.stdout!r}")
    check(alive not in r.stdout, f"clean --named touches a live queue: {r.stdout!r}")
    r = run(["clean"])
    check(dead not in r.stdout, f"{dead} still there after --named: {r.stdout!r}")
    r = run(["clean", "--bogus"])
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
          f"clean --bogus: exit {r.returncode}, {r.stderr!r}")
finally:
    os.kill(live_pid, signal.SIGKILL)
    os.waitpid(live_pid, 0)
    check(lib.ipcq_unlink(backend.encode(), alive.encode()) == 0, f"unlink {alive}")
    lib.ipcq_unlink(backend.encode(), dead.encode())
finish()
