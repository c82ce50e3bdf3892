#!/usr/bin/python3
"""What one connection to frontdesk's FastCGI socket may cost (issue 13):
the params are capped (64 KiB in all, all nginx can send: more is a 431,
and a flood is cut off without the memory it would take), and slow senders are let go
once the whole header has taken 5 s or the rest of the request 30 s, while
health checks through nginx keep being answered."""
import os
import socket
import time

import fdtest
from fdtest import wait_for, _fcgi_record, _fcgi_len, fcgi_params

cluster = fdtest.Cluster()
THREADS = 4
S = fdtest.Stack(cluster, conf={"fastcgi": {"threads": str(THREADS)}},
                 start=False)
S.start_frontdesk()
# Headers up to what nginx can pass in params (its default buffers would
# answer 400 first).
S.start_nginx(http_extra="large_client_header_buffers 4 256k;")

BEGIN = _fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))
HEALTHZ = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/api/healthz",
           "REMOTE_ADDR": "127.0.0.1"}


def connect(timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(S.socket)
    return s


def read_all(s):
    """What the server sent until it closed (a reset ends it too)."""
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def peak_rss_kib():
    with open("/proc/%d/status" % S.frontdesk.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def healthz_direct(timeout):
    """A health check straight to the socket: its status line or None."""
    s = connect(timeout)
    try:
        s.sendall(BEGIN + _fcgi_record(4, fcgi_params(HEALTHZ)) +
                  _fcgi_record(4, b"") + _fcgi_record(5, b""))
        out = read_all(s)
    except OSError:
        return None
    finally:
        s.close()
    i = out.find(b"Status: ")
    return out[i:i + 11] if i >= 0 else None


def healthz_nginx(timeout):
    try:
        return S.request("GET", "/api/healthz", timeout=timeout).status
    except OSError:
        return None


# -- item 6: the params ------------------------------------------------------

def test_params_nginx_can_send_are_served():
    """the cap leaves room for every header nginx can pass: it sends the
    params in one record, at most 65535 bytes (past that it answers 500
    itself, "fastcgi request record is too big"), and ~63 KiB of them are
    served"""
    pad = {"X-Pad-%d" % i: "a" * 7800 for i in range(8)}
    r = S.request("GET", "/api/healthz", headers=pad)
    assert r.status == 200, (r, S.log("frontdesk")[-2000:])
    assert "event=header_too_large" not in S.log("frontdesk")
    more = {"X-Pad-%d" % i: "a" * 7800 for i in range(9)}
    r = S.request("GET", "/api/healthz", headers=more)
    assert r.status == 500, r
    assert "fastcgi request record is too big" in S.log("nginx-error"), \
        S.log("nginx-error")[-2000:]


def test_params_flood_is_cut_off():
    """16 MiB of params (small pairs, record after record) straight to
    the socket: frontdesk stops reading at the cap and answers 431, its
    peak memory does not grow with the flood, and it serves on"""
    before = peak_rss_kib()
    s = connect()
    pair = _fcgi_len(8) + _fcgi_len(32000) + b"HTTP_X_Y" + b"v" * 32000
    record = _fcgi_record(4, pair)
    sent = 0
    try:
        s.sendall(BEGIN)
        while sent < 16 << 20:
            s.sendall(record)
            sent += len(record)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    out = read_all(s)
    s.close()
    grown = peak_rss_kib() - before
    assert sent < 4 << 20, "frontdesk read %d bytes of params" % sent
    assert grown < 4096, "peak RSS grew by %d KiB" % grown
    # what it said, if the reset let it through: the 431
    assert out == b"" or b"Status: 431" in out, out[:200]
    assert healthz_direct(5) == b"Status: 200"


def test_params_declared_huge_answered_at_once():
    """a pair that says its value is 1 GiB: 431 at once, without waiting
    for (or allocating) the gigabyte"""
    s = connect(timeout=5)
    head = _fcgi_len(9) + _fcgi_len(1 << 30) + b"HTTP_HUGE" + b"v" * 100
    t0 = time.monotonic()
    s.sendall(BEGIN + _fcgi_record(4, head))
    out = read_all(s)
    s.close()
    assert b"Status: 431" in out, out[:200]
    assert time.monotonic() - t0 < 2, time.monotonic() - t0


def test_header_not_for_libfcgi_is_dropped():
    """what libfcgi would stall on or answer into the wrong place is
    closed at once: a management record, another role, a cut pair"""
    mgmt = _fcgi_record(9, fcgi_params({"FCGI_MAX_CONNS": ""}), req_id=0)
    authorizer = _fcgi_record(1, bytes([0, 2, 0, 0, 0, 0, 0, 0]))
    cut = BEGIN + _fcgi_record(4, _fcgi_len(4) + _fcgi_len(10) + b"NAME") + \
        _fcgi_record(4, b"")
    for data in (mgmt + BEGIN, authorizer + _fcgi_record(4, b""), cut):
        s = connect(timeout=5)
        t0 = time.monotonic()
        s.sendall(data)
        assert read_all(s) == b"" and time.monotonic() - t0 < 2
        s.close()
    assert healthz_direct(5) == b"Status: 200"


def test_padded_records_are_served():
    """a BEGIN_REQUEST and an end of params that carry padding (which the
    protocol allows and libfcgi misreads on its own) are served"""
    def padded(rtype, content, pad):
        n = len(content)
        return (bytes([1, rtype, 0, 1, n >> 8, n & 255, pad, 0]) + content +
                b"\0" * pad)
    s = connect(timeout=5)
    s.sendall(padded(1, bytes([0, 1, 0, 0, 0, 0, 0, 0]), 5) +
              padded(4, fcgi_params(HEALTHZ), 3) + padded(4, b"", 7) +
              _fcgi_record(5, b""))
    out = read_all(s)
    s.close()
    assert b"Status: 200" in out, out[:300]


# -- item 7: slow senders ----------------------------------------------------

def test_slow_senders_let_go_and_health_answers():
    """as many slow senders as threads, one byte a second each (under any
    per-read timeout): two in the header are let go 5 s after they
    connected, two in the body 30 s after their header; from 6 s on,
    health checks through nginx answer"""
    post = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/api/appointments",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": "1000", "HTTP_ACCEPT": "application/json",
            "REMOTE_ADDR": "127.0.0.1"}
    header = BEGIN + _fcgi_record(4, fcgi_params(HEALTHZ)) + \
        _fcgi_record(4, b"")
    slow = []  # [socket, bytes to dribble, kind, start, closed at]
    t0 = time.monotonic()
    for _ in range(THREADS // 2):
        slow.append([connect(), header, "header", time.monotonic(), None])
    for _ in range(THREADS - THREADS // 2):
        s = connect()
        s.sendall(BEGIN + _fcgi_record(4, fcgi_params(post)) +
                  _fcgi_record(4, b""))
        # a STDIN record that says 1000 bytes, sent one by one
        slow.append([s, bytes([1, 5, 0, 1, 3, 232, 0, 0]) + b"a" * 1000,
                     "body", time.monotonic(), None])
    try:
        # the premise: every thread is held, nobody else is served
        time.sleep(1.5)
        assert healthz_direct(1.0) is None, "a thread was free"
        checks = []
        next_check = t0 + 6
        while time.monotonic() - t0 < 36 and any(x[4] is None for x in slow):
            now = time.monotonic()
            for x in slow:
                if x[4] is not None:
                    continue
                try:
                    x[0].setblocking(False)
                    try:
                        if x[0].recv(4096) == b"":
                            x[4] = now
                            continue
                    except BlockingIOError:
                        pass
                    x[0].setblocking(True)
                    x[0].send(x[1][:1])
                    x[1] = x[1][1:]
                except OSError:
                    x[4] = now
            if now >= next_check and now - t0 < 14:
                checks.append((round(now - t0, 1), healthz_nginx(2.0)))
                next_check = now + 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
        for sock, _, kind, start, closed in slow:
            assert closed is not None, "%s sender never let go" % kind
            held = closed - start
            if kind == "header":
                assert 4.5 <= held <= 7.0, ("header", held)
            else:
                assert 29.5 <= held <= 33.0, ("body", held)
        assert len(checks) >= 5 and all(c[1] == 200 for c in checks), checks
    finally:
        for x in slow:
            x[0].close()
    log = S.log("frontdesk")
    assert log.count("event=header_timeout") >= THREADS // 2, log[-3000:]
    assert "event=request_timeout" in log, log[-3000:]
    assert healthz_nginx(5) == 200


fdtest.run(globals())
