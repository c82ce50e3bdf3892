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


def test_signal_cleans_up():
    """SIGTERM, SIGINT or SIGHUP: PostgreSQL stopped, folders removed, exit
    128 + the signal"""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(fdtest.__file__))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
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
