#!/usr/bin/python3
"""The test tooling itself: fdtest cleans up when a signal stops a test
(meson's timeout is a SIGTERM), and scripts/tap-summary.py counts TAP
directives as meson does."""
import json
import os
import signal
import subprocess
import tempfile

import fdtest

CHILD = """
import sys, time
import fdtest
c = fdtest.Cluster()
d = fdtest.tempdir("fdtest-harness-")
print(c.dir, d, open(c.data + "/postmaster.pid").readline().strip(),
      flush=True)
time.sleep(120)
"""


SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def child_env():
    """The environment of a test that meson runs on a fresh machine: stdout
    buffered (a pipe), whatever this shell's PYTHONUNBUFFERED says (with
    it, sys.stdout has no BufferedWriter to be caught inside)."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(fdtest.__file__))
    env.pop("PYTHONUNBUFFERED", None)
    return env


def gone(pid):
    """No process pid, or a zombie awaiting its reaper."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().split(") ")[1][0] == "Z"
    except FileNotFoundError:
        return True


def test_signal_cleans_up():
    """SIGTERM, SIGINT or SIGHUP: PostgreSQL stopped, folders removed, exit
    128 + the signal"""
    env = child_env()
    for sig in SIGNALS:
        p = subprocess.Popen([fdtest.PYTHON, "-c", CHILD], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            pgdir, tmp, pid = p.stdout.readline().decode().split()
            assert os.path.isdir(pgdir) and os.path.isdir(tmp)
            p.send_signal(sig)
            p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert p.returncode == 128 + sig, (sig, p.returncode,
                                           p.stderr.read())
        assert not os.path.exists(pgdir) and not os.path.exists(tmp), sig
        # the postmaster is gone (a zombie awaiting its reaper counts too)
        try:
            with open("/proc/%s/stat" % pid) as f:
                assert f.read().split(") ")[1][0] == "Z", (sig, pid)
        except FileNotFoundError:
            pass


# Prints until stdout's pipe is full (the test reads one line), so the
# signal lands inside sys.stdout's BufferedWriter, blocked in write().
CHILD_WRITING = """
import fdtest
d = fdtest.tempdir("fdtest-harness-")
p = fdtest.spawn(["sleep", "120"], "/dev/null")
print(d, p.pid, flush=True)
while True:
    print("x" * 200, flush=True)
"""

# Waits for a process of its own: the signal lands inside Popen.wait(),
# which holds the Popen's lock.
CHILD_WAITING = """
import fdtest
d = fdtest.tempdir("fdtest-harness-")
p = fdtest.spawn(["sleep", "120"], "/dev/null")
print(d, p.pid, flush=True)
p.wait()
"""


# The signal comes while the main thread is about to block: another thread
# of the child takes it (CPython's C handler only notes it), and the main
# thread sleeps on, as when the signal falls between CPython's last check
# and the sleep's system call.
CHILD_ASLEEP = """
import signal, sys, threading, time
import fdtest
d = fdtest.tempdir("fdtest-harness-")
p = fdtest.spawn(["sleep", "120"], "/dev/null")
print(d, p.pid, flush=True)
def late():
    time.sleep(0.5)
    signal.pthread_kill(threading.get_ident(), int(sys.argv[1]))
threading.Thread(target=late).start()
time.sleep(120)
"""


def signalled(child, sig, ready=None, send=True):
    """Runs child (sig its argument), signals it once it printed its line
    (and ready(pid) is true; unless send is false: it signals itself), and
    checks it exited 128 + sig within 20 s without a traceback, its folder
    removed and its process gone."""
    p = subprocess.Popen([fdtest.PYTHON, "-c", child, str(int(sig))],
                         env=child_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        tmp, pid = p.stdout.readline().decode().split()
        assert os.path.isdir(tmp)
        if ready:
            fdtest.wait_for(lambda: ready(p.pid), 10, what="the child ready")
        if send:
            p.send_signal(sig)
        p.wait(20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read().decode()
    assert p.returncode == 128 + sig, (sig, p.returncode, err)
    assert "Traceback" not in err, err
    assert not os.path.exists(tmp), sig
    assert gone(pid), (sig, pid)


def test_signal_while_writing():
    """a signal inside a write to stdout: cleaned up, exit 128 + the signal

    30 times: the child writes until its stdout pipe is full, so the
    signal interrupts write() inside sys.stdout's BufferedWriter."""
    for i in range(30):
        signalled(CHILD_WRITING, SIGNALS[i % 3])


def in_wait(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read() == "do_wait"
    except OSError:
        return False


def test_signal_while_waiting():
    """a signal inside Popen.wait(): no deadlock, exit 128 + the signal

    The handler must not wait() on the Popen whose lock the interrupted
    wait() holds."""
    for sig in SIGNALS:
        signalled(CHILD_WAITING, sig, ready=in_wait)


def test_signal_before_blocking():
    """a signal noted just before a blocking call: handled at once anyway

    CPython runs the handler when the main thread next checks; fdtest's
    thread on the wakeup fd sends the signal again to the main thread,
    which interrupts the sleep."""
    for sig in SIGNALS:
        signalled(CHILD_ASLEEP, sig, send=False)


def summary(*programs):
    """tap-summary.py on a log of programs: (stdout, result) pairs."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        for out, result in programs:
            f.write(json.dumps({"stdout": out, "result": result}) + "\n")
        f.flush()
        r = subprocess.run([fdtest.PYTHON, os.path.join(
            fdtest.SOURCE, "scripts", "tap-summary.py"), f.name],
            capture_output=True, text=True)
    return r.stdout, r.returncode


def test_tap_summary_directives():
    """tap-summary.py counts the TODO and SKIP directives as meson does
    (no hash sign in this line: it would be one, in the TAP line): "not ok
    # TODO" passes (expected failure), "ok # SKIP" skips, "ok # TODO" and
    "not ok # SKIP" fail"""
    assert summary(("ok 1 - a\nnot ok 2 - b # TODO later\n"
                    "ok 3 - c # SKIP no x\nok 4 - d # skipped: y\n1..4\n",
                    "OK")) == ("2 passed, 0 failed, 2 skipped\n", 0)
    assert summary(("ok 1 - e # TODO fixed?\nnot ok 2 - f # SKIP bad\n"
                    "ok 3 - g # a note # SKIP not a directive\n1..3\n",
                    "FAIL")) == ("1 passed, 2 failed\n", 1)
    # a crash or a timeout with no failing case counts as one failure
    assert summary(("ok 1 - a\n", "TIMEOUT")) == ("1 passed, 1 failed\n", 1)


fdtest.run(globals())
