#!/usr/bin/python3
"""soak: frontdesk under a steady load for a long time, through the real
nginx (the shipped conf/nginx/frontdesk.conf) against a durable PostgreSQL
(fsync on), with frontdesk-mailer delivering every request to a local SMTP
sink and frontdesk-console answering a staff member's inbox, to see what a
short benchmark cannot: memory that grows, a backlog that builds, errors
that appear after an hour.

Every minute it prints the posts sent and accepted, the errors by kind,
the messages delivered (stored at the sink), the outbox backlog, the
client's latency, the resident memory of frontdesk, frontdesk-mailer and
frontdesk-console, and the machine's load average (the machine may be
shared: a burst of errors beside a load of 8 on 2 cores is someone
else's). At the end, after a bounded wait for the mailer to drain, it
compares the accepted references with those the sink stored, and prints
each program's peak RSS and the warnings and errors of their logs.

Bounded: the load stops after --minutes, the drain waits at most
--drain-seconds, every request has a timeout; loopback only (nginx and
the sink on 127.0.0.1, PostgreSQL on a unix socket). Exit 0 when every
accepted request was delivered and no post failed, else 1.

The sink is smtpd_fault.py (aiosmtpd, as the tests use, no fault asked),
storing each message in a maildir and counting them in stats.json.

    meson setup build-soak -Dbuildtype=debugoptimized && \\
        meson compile -C build-soak
    bench/soak.py --build build-soak --minutes 30 [--rate 50]
"""
import argparse
import collections
import glob
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--minutes", type=float, required=True,
                help="how long the load runs")
ap.add_argument("--rate", type=float, default=50.0,
                help="posts per second (default 50)")
ap.add_argument("--build", default="build")
ap.add_argument("--workers", type=int, default=16,
                help="client threads sending the posts (default 16)")
ap.add_argument("--threads", type=int, default=8,
                help="frontdesk's [fastcgi] threads (default 8)")
ap.add_argument("--drain-seconds", type=float, default=300.0,
                help="the longest wait for the mailer at the end")
ap.add_argument("--interval", type=float, default=60.0,
                help="seconds between two report lines (default 60)")
ap.add_argument("--no-console", action="store_true",
                help="leave frontdesk-console out")
ap.add_argument("--logs", help="copy the programs' logs into this folder")
args = ap.parse_args()
if args.minutes <= 0 or args.rate <= 0:
    sys.exit("soak: --minutes and --rate must be positive")
os.environ["FRONTDESK_BUILD"] = os.path.abspath(args.build)
os.environ.setdefault("FRONTDESK_SOURCE", os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
import fdtest  # noqa: E402
import mailtest  # noqa: E402

PASSWORD = "soak-password-long"
HTTP_TIMEOUT = 30.0


def say(*a):
    print(*a, flush=True)


def proc_status(pid):
    """{VmRSS, VmHWM} in MiB of a live process, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            st = f.read()
    except OSError:
        return None
    out = {}
    for k in ("VmRSS", "VmHWM"):
        m = re.search(r"^%s:\s+(\d+) kB" % k, st, re.M)
        out[k] = int(m.group(1)) / 1024.0 if m else 0.0
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_seconds(pid):
    """user + system CPU seconds a process has used."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


class Sink:
    """The SMTP server the mailer delivers to: delivered() counts what it
    stored, references() reads the references back."""

    def __init__(self, S):
        self.S = S
        self.proc = mailtest.start_smtpd(S)
        self.dir = os.path.join(S.maildir, "new")

    def delivered(self):
        return mailtest.smtp_stats(self.S)["messages"]

    def references(self):
        """[reference of each stored message]"""
        out = []
        pat = re.compile(rb"^X-Frontdesk-Reference: (FD-\w{8})", re.M)
        for path in glob.glob(os.path.join(self.dir, "*")):
            with open(path, "rb") as f:
                m = pat.search(f.read(65536))
            out.append(m.group(1).decode() if m else None)
        return out


class Load:
    """--workers threads posting, together, --rate posts a second on a
    fixed schedule (slot k at t0 + k / rate): a worker that took long does
    not slow the others, and a stall is caught up afterwards."""

    def __init__(self, S, until):
        self.S = S
        self.until = until
        self.lock = threading.Lock()
        self.slot = 0
        self.t0 = time.monotonic()
        self.sent = 0
        self.accepted = 0
        self.errors = collections.Counter()
        self.samples = {}        # kind -> first few examples
        self.refs = []
        self.lat = []            # this interval's latencies, ms
        self.late = 0            # posts sent over 1 s after their slot
        self.threads = [threading.Thread(target=self.work, daemon=True)
                        for _ in range(args.workers)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(HTTP_TIMEOUT + 5)

    def take(self):
        with self.lock:
            k = self.slot
            self.slot += 1
        return self.t0 + k / args.rate, k

    def error(self, kind, sample):
        with self.lock:
            self.errors[kind] += 1
            s = self.samples.setdefault(kind, [])
            if len(s) < 3:
                s.append("%s %s" % (time.strftime("%H:%M:%S"), sample))

    def work(self):
        while True:
            when, k = self.take()
            if when >= self.until:
                return
            now = time.monotonic()
            if when > now:
                time.sleep(when - now)
            elif now - when > 1.0:
                with self.lock:
                    self.late += 1
            body = fdtest.form_body(fdtest.maria(
                first_name="Soak%d" % k, submission_id="soak-%d-%d" % (
                    os.getpid(), k)))
            t = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.S.port,
                                               timeout=HTTP_TIMEOUT)
                try:
                    c.request("POST", "/api/appointments", body=body,
                              headers={"Content-Type":
                                       "application/x-www-form-urlencoded",
                                       "Accept": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                finally:
                    c.close()
            except Exception as e:  # a refused, reset or timed-out post
                with self.lock:
                    self.sent += 1
                self.error(type(e).__name__, repr(e)[:200])
                continue
            ms = (time.monotonic() - t) * 1000.0
            ref = None
            if r.status == 201:
                try:
                    ref = json.loads(data)["reference"]
                except (ValueError, KeyError):
                    pass
            with self.lock:
                self.sent += 1
                self.lat.append(ms)
                if ref:
                    self.accepted += 1
                    self.refs.append(ref)
            if not ref:
                self.error("HTTP %d" % r.status, data[:200])

    def interval(self):
        """(sent, accepted, errors, late, latencies) so far; the
        latencies are this interval's, then forgotten."""
        with self.lock:
            lat, self.lat = self.lat, []
            return (self.sent, self.accepted, collections.Counter(
                self.errors), self.late, lat)


class Console:
    """A staff member with the inbox open: sign-in, then the first page
    of the inbox and the newest request every few seconds."""

    def __init__(self, S, until):
        self.S = S
        self.until = until
        self.calls = 0
        self.errors = collections.Counter()
        self.cookie = None
        self.t = threading.Thread(target=self.work, daemon=True)

    def call(self, method, path, body=None):
        h = {"Accept": "application/json",
             "Origin": "http://127.0.0.1:%d" % self.S.port}
        if self.cookie:
            h["Cookie"] = "__Host-fd_session=" + self.cookie
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return self.S.request(method, "/console/api" + path, body=data,
                              headers=h, timeout=HTTP_TIMEOUT)

    def sign_in(self):
        self.cookie = None
        r = self.call("POST", "/session", {"username": "desk",
                                           "password": PASSWORD})
        if r.status != 201:
            raise RuntimeError("sign-in: %d" % r.status)
        self.cookie = r.headers["set-cookie"].split("=", 1)[1].split(
            ";", 1)[0]

    def work(self):
        while time.monotonic() < self.until:
            try:
                if self.cookie is None:
                    self.sign_in()
                r = self.call("GET", "/requests")
                if r.status == 401:
                    self.errors["signed out"] += 1
                    self.cookie = None
                    continue
                if r.status != 200:
                    self.errors["HTTP %d" % r.status] += 1
                else:
                    items = r.json().get("requests") or []
                    if items and items[0].get("reference"):
                        r = self.call("GET", "/requests/" +
                                      items[0]["reference"])
                        if r.status != 200:
                            self.errors["HTTP %d" % r.status] += 1
                self.calls += 1
            except Exception as e:
                self.errors[type(e).__name__] += 1
            time.sleep(2.0)


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


def fmt_errors(c):
    return ",".join("%s:%d" % kv for kv in sorted(c.items())) or "-"


def log_events(S, names):
    """{(program, level, event): count} of the warn and error lines."""
    out = collections.Counter()
    for name in names:
        for line in S.log(name).splitlines():
            m = re.search(r"level=(warn|error)\b.*?event=(\S+)", line)
            if m:
                out[(name, m.group(1), m.group(2))] += 1
    return out


def main():
    cluster = fdtest.Cluster(durable=True)
    S = fdtest.Stack(cluster, start=False,
                     conf={"fastcgi": {"threads": str(args.threads)}})
    programs = {}
    if not args.no_console:
        programs["console"] = S.start_console(console={"second_factor":
                                                       "off"})
        S.ctl("user", "add", "desk", "--role", "staff", "--location",
              "midtown", "--password-stdin", input=PASSWORD + "\n")
    programs["frontdesk"] = S.start_frontdesk()
    S.start_nginx()
    sink = Sink(S)
    programs["mailer"] = S.start_mailer()
    order = [n for n in ("frontdesk", "mailer", "console") if n in programs]
    peak = {n: 0.0 for n in order}
    cpu0 = {n: cpu_seconds(p.pid) for n, p in programs.items()}

    start = time.monotonic()
    until = start + args.minutes * 60.0
    load = Load(S, until)
    console = Console(S, until) if "console" in programs else None
    say("soak: %.0f posts/s for %g min through nginx (shipped "
        "frontdesk.conf) on 127.0.0.1:%d; frontdesk %d threads, fsync on; "
        "sink smtpd_fault.py; %d cores, build %s" % (
            args.rate, args.minutes, S.port, args.threads,
            os.cpu_count(), os.environ["FRONTDESK_BUILD"]))
    say("%5s %7s %8s %6s %-22s %9s %7s %7s %7s %s %5s" % (
        "min", "sent", "accepted", "late", "errors", "delivered", "backlog",
        "p50ms", "p99ms", "  ".join("%9s" % ("rss " + n[:7]) for n in order),
        "load"))
    load.start()
    if console:
        console.t.start()
    lines = []

    def report(label):
        # The sink first: a message stored is then counted as accepted
        # unless its post's answer is still on its way.
        delivered = sink.delivered()
        sent, acc, errs, late, lat = load.interval()
        rss = {}
        for n in order:
            st = proc_status(programs[n].pid)
            rss[n] = st["VmRSS"] if st else float("nan")
            if st:
                peak[n] = max(peak[n], st["VmHWM"])
        pending = mailtest.outbox_status(S).get("pending", 0)
        row = (label, sent, acc, late, fmt_errors(errs), delivered,
               pending, pct(lat, 50), pct(lat, 99), rss, loadavg())
        lines.append(row)
        say("%5s %7d %8d %6d %-22s %9d %7d %7.1f %7.1f %s %5.2f" % (
            row[:9] + ("  ".join("%5.1f MiB" % rss[n] for n in order),
                       row[10])))
        # A program that died is the soak's end.
        for n in order:
            if programs[n].poll() is not None:
                say("soak: %s exited with %s" % (n, programs[n].returncode))
                return False
        return True

    alive = True
    k = 1
    while alive and time.monotonic() < until:
        time.sleep(max(0.0, min(start + k * args.interval, until) -
                       time.monotonic()))
        alive = report("%d" % round((time.monotonic() - start) / 60.0)
                       if args.interval == 60.0 else "%.0fs" % (
                           time.monotonic() - start))
        k += 1
    load.join()
    if console:
        console.t.join(HTTP_TIMEOUT + 5)
    load_secs = time.monotonic() - start

    # The drain: until the sink has every accepted message and the outbox
    # nothing pending, or --drain-seconds.
    t0 = time.monotonic()
    while alive and time.monotonic() - t0 < args.drain_seconds:
        st = mailtest.outbox_status(S)
        if st.get("pending", 0) == 0 and sink.delivered() >= load.accepted:
            break
        time.sleep(1.0)
    drain_secs = time.monotonic() - t0
    if alive:
        report("end")

    sent, acc, errs, late, _ = load.interval()
    stored_refs = sink.references()
    got = collections.Counter(stored_refs)
    accepted = set(load.refs)
    missing = accepted - set(got)
    dups = sum(n - 1 for r, n in got.items() if r and n > 1)
    st = mailtest.outbox_status(S)
    in_db = S.count("appointment_requests")
    say("")
    say("load: %d posts in %.0f s (%.1f/s), %d accepted, %d failed (%s), "
        "%d sent over 1 s late" % (sent, load_secs, sent / load_secs, acc,
                                   sent - acc, fmt_errors(errs), late))
    for kind, ex in sorted(load.samples.items()):
        for e in ex:
            say("  %s: %s" % (kind, e))
    say("stored in the database: %d requests; outbox: %s" % (
        in_db, ", ".join("%s %d" % kv for kv in sorted(st.items()))))
    say("accepted %d, delivered %d (%d distinct references; %d accepted "
        "not delivered, %d duplicates) after a drain of %.0f s" % (
            len(accepted), len(stored_refs), len(got), len(missing), dups,
            drain_secs))
    if missing:
        say("  not delivered, e.g.: %s" % " ".join(sorted(missing)[:10]))
    say("peak RSS: %s" % ", ".join("%s %.1f MiB" % (n, peak[n])
                                   for n in order))
    first = next((r for r in lines if r[0] == "1"), lines[0] if lines
                 else None)
    last = lines[-1] if lines else None
    if first and last:
        say("RSS minute 1 -> end: %s" % ", ".join(
            "%s %.1f -> %.1f MiB" % (n, first[9][n], last[9][n])
            for n in order))
    say("CPU seconds: %s" % ", ".join(
        "%s %.0f" % (n, cpu_seconds(programs[n].pid) - cpu0[n])
        for n in order))
    if console:
        say("console: %d inbox reads, errors %s" % (
            console.calls, fmt_errors(console.errors)))
    events = log_events(S, ["frontdesk", "mailer", "console",
                            "nginx-error"])
    nginx_err = [ln for ln in open(os.path.join(S.dir, "nginx-error.log"),
                                   errors="replace").read().splitlines()
                 if "[error]" in ln or "[crit]" in ln or "[alert]" in ln]
    say("log warnings and errors: %s" % (", ".join(
        "%s %s %s x%d" % (k + (n,)) for k, n in sorted(events.items()))
        or "none"))
    if nginx_err:
        say("nginx errors: %d, e.g. %s" % (len(nginx_err), nginx_err[0]))
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
        for name in ("frontdesk", "mailer", "console", "nginx-error",
                     "smtp"):
            p = os.path.join(S.dir, name + ".log")
            if os.path.exists(p):
                shutil.copy(p, args.logs)
        say("logs copied to %s" % args.logs)
    ok = alive and not missing and acc == sent
    say("soak: %s" % ("ok" if ok else "FAILED"))
    for p in programs.values():
        fdtest.stop(p)
    fdtest._cleanup()
    sys.exit(0 if ok else 1)


main()
