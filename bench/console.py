#!/usr/bin/python3
"""bench/console: the console's answer times with a clinic's years of
requests stored, sign-in's time (argon2id) and the console's memory,
through real nginx and PostgreSQL, printed beside the ceilings measured
against. Bounded: a fixed number of calls, loopback only.

    meson compile -C build && bench/console.py [--build build] [--rows 100000]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--rows", type=int, default=100000)
ap.add_argument("--calls", type=int, default=30)
args = ap.parse_args()
os.environ["FRONTDESK_BUILD"] = os.path.abspath(args.build)
os.environ.setdefault("FRONTDESK_SOURCE", os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
import fdtest  # noqa: E402

# What a person at the front desk would notice, with a wide margin.
CEILINGS = {
    "page_p95_ms": 100.0,     # any inbox answer, counts included
    "view_p95_ms": 50.0,      # the whole request
    "sign_in_p50_ms": 500.0,  # argon2id with 64 MiB, then the session
    "rss_max_mib": 400.0,     # 4 threads x 64 MiB argon2id at most
}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    cluster = fdtest.Cluster(durable=True)
    S = fdtest.Stack(cluster, start=False)
    console = S.start_console(console={"second_factor": "off"})
    S.start_frontdesk()
    S.start_nginx()
    S.ctl("user", "add", "desk", "--role", "staff", "--location", "midtown",
          "--password-stdin", input="bench-password-long\n")
    S.ctl("user", "add", "boss", "--role", "admin", "--password-stdin",
          input="bench-password-long\n")
    t0 = time.monotonic()
    # A clinic's history: three locations, five years of requests.
    S.sql("""
        INSERT INTO appointment_requests (reference, location_id, status,
            first_name, last_name, email, phone, service, message, consent,
            created_at, triage)
        SELECT 'FD-' || lpad(upper(to_hex(g)), 8, '0'),
            1 + g %% 3, CASE WHEN g %% 50 = 0 THEN 'spam' ELSE 'received' END,
            'First' || g, 'Last' || (g %% 997), 'p' || g || '@example.com',
            '(212) 555-' || lpad((g %% 10000)::text, 4, '0'),
            'Back Pain & Sciatica', 'Pain since March.', true,
            now() - (g || ' minutes')::interval * 25,
            (ARRAY['new', 'contacted', 'scheduled', 'closed'])[1 + g %% 4]
        FROM generate_series(1, %d) g;
        INSERT INTO outbox (request_id, message_id, status, sent_at)
        SELECT id, '<' || reference || '@clinic.example>', 'sent', created_at
        FROM appointment_requests WHERE status = 'received';
        ANALYZE;
    """ % args.rows)
    load_s = time.monotonic() - t0
    origin = "http://127.0.0.1:%d" % S.port

    def call(method, path, cookie=None, body=None, csrf=None):
        h = {"Accept": "application/json", "Origin": origin}
        if cookie:
            h["Cookie"] = "__Host-fd_session=" + cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        data = json.dumps(body).encode() if body is not None else None
        if data:
            h["Content-Type"] = "application/json"
        t = time.monotonic()
        r = S.request(method, "/console/api" + path, body=data, headers=h)
        return r, (time.monotonic() - t) * 1000.0

    def sign_in(name):
        r, ms = call("POST", "/session", body={
            "username": name, "password": "bench-password-long"})
        assert r.status == 201, r
        ck = r.headers["set-cookie"].split("=", 1)[1].split(";", 1)[0]
        return ck, r.json()["csrf"], ms

    sign_ins = [sign_in("desk")[2] for _ in range(10)]
    staff, _, _ = sign_in("desk")
    boss, _, _ = sign_in("boss")
    # The oldest page: the cursor of the 51st-oldest midtown request.
    last = S.sql("""SELECT ((extract(epoch FROM created_at) * 1000000)
        ::bigint)::text || '.' || id FROM appointment_requests
        WHERE location_id = 1 AND status = 'received'
        ORDER BY created_at, id OFFSET 50 LIMIT 1""")[0][0]
    one = S.sql("SELECT reference FROM appointment_requests WHERE "
                "location_id = 1 ORDER BY id DESC LIMIT 1")[0][0]
    cases = [
        ("first page (staff)", staff, "/requests"),
        ("last page (staff)", staff, "/requests?before=" + last),
        ("search by name (staff)", staff, "/requests?q=last42"),
        ("search by phone (staff)", staff, "/requests?q=555-0042"),
        ("search by reference (staff)", staff, "/requests?q=" + one),
        ("triage filter (staff)", staff, "/requests?triage=scheduled"),
        ("first page (admin, all)", boss, "/requests"),
        ("location filter (admin)", boss, "/requests?location=woodbury"),
        ("search by email (admin)", boss, "/requests?q=p4242%40example"),
        ("spam (admin)", boss, "/requests?status=spam"),
        ("whole request (staff)", staff, "/requests/" + one),
    ]
    rows = []
    for name, ck, path in cases:
        times = []
        for _ in range(args.calls):
            r, ms = call("GET", path, ck)
            assert r.status == 200, (name, r)
            times.append(ms)
        rows.append((name, pct(times, 50), pct(times, 95), max(times)))
    rss = rss_mib(console.pid)
    print("console with %d stored requests (loaded in %.1f s), %d calls "
          "each, through nginx:" % (args.rows, load_s, args.calls))
    print("%-32s %9s %9s %9s   ceiling" % ("answer", "p50 ms", "p95 ms",
                                          "max ms"))
    for name, p50, p95, mx in rows:
        ceil = CEILINGS["view_p95_ms" if "whole" in name else "page_p95_ms"]
        print("%-32s %9.2f %9.2f %9.2f   p95 <= %.0f %s" % (
            name, p50, p95, mx, ceil, "ok" if p95 <= ceil else "OVER"))
    si = pct(sign_ins, 50)
    print("%-32s %9.2f %9.2f %9.2f   p50 <= %.0f %s" % (
        "sign-in (argon2id)", si, pct(sign_ins, 95), max(sign_ins),
        CEILINGS["sign_in_p50_ms"],
        "ok" if si <= CEILINGS["sign_in_p50_ms"] else "OVER"))
    print("%-32s %9.1f MiB peak                 <= %.0f %s" % (
        "console RSS (4 threads)", rss, CEILINGS["rss_max_mib"],
        "ok" if rss <= CEILINGS["rss_max_mib"] else "OVER"))
    fdtest.stop(console)
    fdtest._cleanup()


if __name__ == "__main__":
    main()
