#!/usr/bin/python3
"""A unix socket path that a live process serves (issue 12): a second
frontdesk or frontdesk-console refuses it and says so, unless started with
--replace, which takes the path over with no gap; a socket file nobody
answers on (its process killed) is taken over as before."""
import os
import signal
import subprocess
import threading
import time

import fdtest
from fdtest import wait_for

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster)


def fcgi_get(path, sock):
    c = fdtest.FcgiClient(sock)
    c.begin({"REQUEST_METHOD": "GET", "REQUEST_URI": path})
    c.stdin(b"")
    return c.response()


def healthy():
    """frontdesk answers through nginx."""
    return S.get("/api/healthz").status == 200


def serving():
    """S.frontdesk is up on S.socket, as each test leaves it."""
    if S.frontdesk is None or S.frontdesk.poll() is not None:
        S.start_frontdesk()
    wait_for(healthy, what="frontdesk through nginx")


def frontdesk(name, *args):
    """Another frontdesk on S's web file (S.socket); returns the process
    and its log's path."""
    log = os.path.join(S.dir, name + ".log")
    return fdtest.spawn([S.program("frontdesk"), "-c", S.web_conf_path] +
                        list(args), log), log


def refused(p, log, path, timeout=10):
    """p exits 1 at once with one logfmt line naming path and --replace."""
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("still running %ds after start: it took the "
                             "path: %s" % (timeout, open(log).read()))
    text = open(log).read()
    assert rc == 1, (rc, text)
    lines = text.splitlines()
    assert len(lines) == 1, lines
    f = fdtest.logfmt(lines[0])
    assert (f["level"], f["event"], f["path"]) == (
        "error", "socket_in_use", path), f
    assert "--replace" in f["hint"], f


def no_private_names():
    return not [n for n in os.listdir(S.dir) if n.endswith(".new")]


def test_second_frontdesk_on_a_live_path_refused():
    """a second frontdesk on the path the first serves exits 1 with one
    line naming the path and --replace; the first keeps serving through
    nginx, its socket untouched"""
    serving()
    ino = os.stat(S.socket).st_ino
    p, log = frontdesk("second")
    refused(p, log, S.socket)
    assert os.stat(S.socket).st_ino == ino
    assert no_private_names()
    assert S.frontdesk.poll() is None
    for _ in range(20):
        assert healthy()


class Poller(threading.Thread):
    """Health checks through nginx, one after another, until stopped:
    [(monotonic time, status)]."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done = threading.Event()
        self.seen = []

    def run(self):
        while not self.done.is_set():
            try:
                status = S.get("/api/healthz").status
            except OSError as e:
                status = repr(e)
            self.seen.append((time.monotonic(), status))

    def stop(self):
        self.done.set()
        self.join(30)
        return self.seen


def test_replace_takes_over_with_no_502():
    """--replace: the second takes the path over while nginx is polled
    without a pause: no 502 (or anything but 200) before, during or after
    the swap and the first one's exit, which leaves the new socket"""
    serving()
    first, ino = S.frontdesk, os.stat(S.socket).st_ino
    poll = Poller()
    poll.start()
    second = None
    try:
        wait_for(lambda: len(poll.seen) >= 20, what="polls before the swap")
        second, log = frontdesk("replacing", "--replace")
        wait_for(lambda: os.stat(S.socket).st_ino != ino or
                 second.poll() is not None, 15, what="the new socket")
        assert second.poll() is None, open(log).read()
        swapped = time.monotonic()
        n = len(poll.seen)
        wait_for(lambda: len(poll.seen) >= n + 20, what="polls after")
        t_stop = time.monotonic()
        assert fdtest.stop(first) == 0
        stopped = time.monotonic()
        n = len(poll.seen)
        wait_for(lambda: len(poll.seen) >= n + 20, what="polls after exit")
    finally:
        seen = poll.stop()
    bad = [s for t, s in seen if s != 200]
    print("# %d health checks through nginx, %d before the swap, %d "
          "while the first stopped (%.2fs), %d after: not 200: %r" % (
              len(seen), len([1 for t, s in seen if t < swapped]),
              len([1 for t, s in seen if t_stop <= t < stopped]),
              stopped - t_stop, len([1 for t, s in seen if t >= stopped]),
              bad))
    assert not bad, bad
    assert os.path.exists(S.socket), "the first one removed the new socket"
    assert os.stat(S.socket).st_ino != ino
    assert "socket_in_use" not in open(log).read()
    assert no_private_names()
    S.frontdesk = second
    assert healthy()


def test_stale_socket_taken_over_without_replace():
    """a frontdesk SIGKILLed leaves its socket file, which nobody answers
    on: a new one takes it over without --replace"""
    serving()
    S.frontdesk.send_signal(signal.SIGKILL)
    S.frontdesk.wait(10)
    assert os.path.exists(S.socket)
    assert S.get("/api/healthz").status == 502
    p, log = frontdesk("after-kill")
    S.frontdesk = p
    wait_for(lambda: healthy() or p.poll() is not None, 15,
             what="the new frontdesk through nginx")
    assert p.poll() is None, open(log).read()
    assert "socket_in_use" not in open(log).read()
    assert healthy()


def test_console_live_path_refused_replace_takes_over():
    """frontdesk-console the same: a second on a live path exits 1 naming
    it and --replace; with --replace it takes the path over, and the
    first one's exit leaves the new socket"""
    first = S.start_console("swapcon")
    sock = os.path.join(S.dir, "swapcon.sock")
    conf = os.path.join(S.dir, "swapcon.conf")
    ino = os.stat(sock).st_ino
    prog = S.program("frontdesk-console")
    log = os.path.join(S.dir, "swapcon2.log")
    refused(fdtest.spawn([prog, "-c", conf], log), log, sock)
    assert os.stat(sock).st_ino == ino and first.poll() is None
    assert fcgi_get("/console/api/me", sock).startswith(b"Status: ")
    log = os.path.join(S.dir, "swapcon3.log")
    second = fdtest.spawn([prog, "-c", conf, "--replace"], log)
    try:
        wait_for(lambda: os.stat(sock).st_ino != ino or
                 second.poll() is not None, 15, what="the new socket")
        assert second.poll() is None, open(log).read()
        assert fdtest.stop(first) == 0
        assert os.path.exists(sock), "the first one removed the new socket"
        assert fcgi_get("/console/api/me", sock).startswith(b"Status: ")
    finally:
        assert fdtest.stop(second) == 0
    assert not os.path.exists(sock)


def test_replace_in_help_and_only_there():
    """-h of frontdesk and frontdesk-console shows --replace; the mailer
    and frontdeskctl refuse it as a usage error"""
    for prog in ("frontdesk", "frontdesk-console"):
        r = subprocess.run([S.program(prog), "-h"], capture_output=True)
        assert r.returncode == 0 and b"--replace" in r.stdout, r
    for prog in ("frontdesk-mailer", "frontdeskctl"):
        r = subprocess.run([S.program(prog), "--replace", "-c",
                            S.conf_path], capture_output=True, timeout=30)
        assert r.returncode == 2, r
        assert b"unknown option --replace" in r.stderr, r


fdtest.run(globals())
