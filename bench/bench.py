#!/usr/bin/python3
"""bench: frontdesk measured side by side with its ceilings, in one run,
through real nginx (the shipped conf/nginx/frontdesk.conf) with wrk, on
two PostgreSQL clusters (fsync on, fsync off), printed as one table with
the ratios and the targets, each marked met or missed from this run's own
numbers:

- nginx answering `return 204` (the web server's ceiling);
- bench/bare.c, a bare libfcgi + libpq responder (8 threads, each its own
  connection) inserting the same request and outbox rows in one prepared
  statement, behind the same nginx file and socket;
- pgbench running the same insert as one statement at the same
  concurrency (the database's ceiling);
- frontdesk: rate limit off; every check on (the rate limit at 20/hour,
  each post from its own address through [http] trusted_proxies and with
  its own idempotency key, as the shipped form sends); one address at a
  limit of 10^8;
- the way to the front desk: post to SMTP server, a backlog drained, the
  mailer against Postfix's smtp-sink beside smtp-source driving the same
  sink, the mailer's memory; a /metrics scrape with 10^6 delivery
  attempts stored.

Bounded: a fixed number of seconds per run, loopback and unix sockets
only, every process stopped at the end (fdtest's clean-up, on error and on
a signal too).

    meson compile -C build && bench/bench.py [--build build] [--seconds 5]
    bench/bench.py --profile    # callgrind, perf and pg_stat_statements
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--seconds", type=int, default=5,
                help="seconds per load run (default 5)")
ap.add_argument("--connections", type=int, default=32)
ap.add_argument("--attempts", type=int, default=1000000,
                help="delivery attempts stored for the /metrics scrape")
ap.add_argument("--scrapes", type=int, default=50)
ap.add_argument("--profile", action="store_true",
                help="profile frontdesk instead (bench/profile.sh)")
ap.add_argument("--mail-only", action="store_true",
                help="only the way to the front desk (post to SMTP, the "
                "backlogs, the mailer beside smtp-source)")
ap.add_argument("--posts", type=int, default=400,
                help="--profile: posts per load under callgrind")
args = ap.parse_args()
os.environ["FRONTDESK_BUILD"] = os.path.abspath(args.build)
os.environ.setdefault("FRONTDESK_SOURCE", os.path.abspath(
    os.path.join(HERE, "..")))
import fdtest  # noqa: E402
import mailtest  # noqa: E402

THREADS = 8
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"

# The targets (the speed issue) and the ceilings bench.py held before.
TARGETS = {
    "checks_x_bare": 0.9,      # every check on, fsync off, vs bare req/s
    "checks_p99_ms": 10.0,     # every check on, fsync off, 32 connections
    "one_addr_x_checks": 0.9,  # one address at 10^8, within 10% of that
    "rss_max_mib": 16.0,       # frontdesk's peak RSS at 8 threads
    "mailer_x_source": 0.5,    # the mailer vs smtp-source, same sink
    "metrics_p99_ms": 5.0,     # /metrics with 10^6 attempts stored
    "post_p99_ms": 50.0,       # ceiling: submit p99, fsync on
    "post_min_rps": 500.0,     # ceiling: durable submissions per second
    "get_p99_ms": 20.0,        # ceiling: GET /locations p99
    "deliver_p99_ms": 2000.0,  # ceiling: post to the SMTP server
    "mailer_min_mps": 20.0,    # ceiling: backlog drained per second
    "mailer_rss_max_mib": 32.0,  # ceiling: frontdesk-mailer's peak RSS
}

LUA = """
wrk.method = "%(method)s"
wrk.body = "%(body)s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  tid = tid or 0
  math.randomseed(os.time() * 7919 + tid)
  base = math.random(0, 4194303)
  n = 0
end
%(request)s
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d non2xx=%%d errors=%%d "
    .. "seconds=%%.3f p50=%%.3f p99=%%.3f max=%%.3f\\n",
    summary.requests, summary.errors.status, summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""

# Every post with a key of its own (as the shipped form's page view
# gives), and, with "each", from an address of its own, as the rate limit
# sees it behind a trusted proxy (2^22 addresses per wrk thread, from a
# random start: none posts twice in a run).
REQUEST = """
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = string.format("b%%d-%%d-%%d-%%d",
    os.time(), tid, base, n)
  %s
  return wrk.format()
end
"""
EACH = """local a = (base + n) % 4194304 + tid * 4194304
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
    math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256)"""
ONE = 'wrk.headers["X-Forwarded-For"] = "10.255.255.1"'


def wrk(stack, method, path, body=b"", seconds=None, mode=None):
    """mode: None (one static request), "each" (a key and an address per
    post) or "one" (a key per post, one address)."""
    request = "" if mode is None else REQUEST % (EACH if mode == "each"
                                                 else ONE)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False,
                                     dir=stack.dir) as f:
        f.write(LUA % {"method": method, "body": body.decode(),
                       "request": request})
    secs = seconds or args.seconds
    out = subprocess.run(["wrk", "-t2", "-c%d" % args.connections,
                          "-d%ds" % secs, "--timeout", "10s", "-s", f.name,
                          "http://127.0.0.1:%d%s" % (stack.port, path)],
                         capture_output=True, text=True, timeout=secs + 60)
    os.unlink(f.name)
    m = re.search(r"RESULT (.*)", out.stdout)
    if not m:
        sys.exit("wrk failed: " + out.stdout + out.stderr)
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["rps"] = r["requests"] / r["seconds"]
    return r


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        st = f.read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", st).group(1)) / 1024


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


class BenchCluster(fdtest.Cluster):
    """fdtest's throwaway cluster with fsync on or off (nothing else
    changed) and extra server options."""

    def __init__(self, fsync, extra=""):
        self.fsync = fsync
        self.extra = extra
        super().__init__(durable=True)

    def start(self):
        opts = "-k %s -c listen_addresses='' -c max_connections=300%s %s" % (
            self.dir, "" if self.fsync else " -c fsync=off", self.extra)
        subprocess.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                        "-w", "-l", os.path.join(self.dir, "server.log"),
                        "-o", opts, "start"], check=True,
                       stdout=subprocess.DEVNULL, preexec_fn=self._drop)


def build_bare():
    d = fdtest.tempdir("fdbench-bare-")
    out = os.path.join(d, "bare")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fcgi",
                            "libpq"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(HERE, "bare.c")] +
                   flags + ["-lpthread"], check=True)
    return out


def bench_stack(cluster):
    """A database, frontdesk (8 threads, rate limit off) and nginx with the
    shipped file, plus `location = /bench/204 { return 204; }`."""
    d = fdtest.tempdir("fdbench-nginx-")
    inc = os.path.join(d, "bench-204.conf")
    with open(inc, "w") as f:
        f.write("location = /bench/204 { return 204; }\n")
    return fdtest.Stack(cluster, conf={"fastcgi": {"threads": str(THREADS)}},
                        nginx_includes=[inc])


def checks_conf(stack, limit):
    return stack.write_conf("checks-%d.conf" % limit, stack.conf_as(
        "web", limits={"per_ip_per_hour": str(limit)},
        http={"trusted_proxies": "127.0.0.1"}))


def restart_frontdesk(stack, conf=None):
    if stack.frontdesk is not None and stack.frontdesk.poll() is None:
        stack.stop_frontdesk()
    stack.start_frontdesk(conf)


def start_bare(stack, bare):
    stack.stop_frontdesk()
    if os.path.exists(stack.socket):
        os.unlink(stack.socket)
    p = fdtest.spawn([bare, stack.socket, str(THREADS),
                      stack.cluster.conninfo(stack.db, "fdt_web")],
                     os.path.join(stack.dir, "bare.log"))
    fdtest.wait_for(lambda: os.path.exists(stack.socket) or
                    p.poll() is not None, what="bare socket")
    if p.poll() is not None:
        sys.exit("bare exited: " + stack.log("bare"))
    return p


# The submit's inserts as one statement (the bare responder's), with a
# random reference (2^40 of them, Crockford's alphabet) and phone number.
PGBENCH = r"""\set r random(0, 1099511627775)
\set ph random(1000000, 9999999)
WITH ref AS (
  SELECT 'FD-' || string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
    ((:r::bigint >> (5 * i)) & 31)::int + 1, 1), '' ORDER BY i) AS v
  FROM generate_series(0, 7) AS i
), loc AS (SELECT id FROM locations WHERE slug = 'midtown' AND active
), req AS (INSERT INTO appointment_requests (reference, location_id, status,
  first_name, last_name, email, phone, service, preferred_time, message,
  consent)
  SELECT ref.v, loc.id, 'received', 'Maria', 'Gonzalez',
  'maria.gonzalez@example.com', '(212) ' || :ph, 'Back Pain & Sciatica',
  'Weekday mornings', 'Shooting pain down my left leg since March.', true
  FROM loc, ref RETURNING id, reference
), ob AS (INSERT INTO outbox (request_id, message_id)
  SELECT id, '<' || reference || '.' || gen_random_uuid() ||
  '@clinic.example>' FROM req RETURNING id)
SELECT (SELECT count(*) FROM ob);
"""


# What a post with every check on must write besides: its idempotency key
# and its address's count (a new address each post, as the "every check"
# load sends), in the same statement, as the owner (the web role may not
# touch those tables but through frontdesk_post). No lookup, no function:
# the checks' writes alone, the ceiling of every check on.
PGBENCH_CHECKS = PGBENCH.replace("""SELECT (SELECT count(*) FROM ob);""",
                                 """, k AS (INSERT INTO idempotency_keys
  (key, fingerprint, reference) SELECT 'k' || :r, sha256(:r::text::bytea),
  reference FROM req RETURNING 1
), rl AS (INSERT INTO rate_limits (addr, minute, total, counts)
  VALUES ('10.' || :r, 1, 1, array_fill(0, ARRAY[61])) RETURNING 1)
SELECT (SELECT count(*) FROM ob), (SELECT count(*) FROM k),
  (SELECT count(*) FROM rl);""")


def pgbench(stack, text=PGBENCH, user="fdt_web"):
    script = os.path.join(stack.dir, "submit.sql")
    with open(script, "w") as f:
        f.write(text)
    prefix = os.path.join(stack.dir, "pgbench-log")
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c",
                          str(args.connections), "-j", "2", "-T",
                          str(args.seconds), "-f", script, "-l",
                          "--log-prefix=" + prefix, "-h", stack.cluster.dir,
                          "-U", user, stack.db],
                         capture_output=True, text=True,
                         timeout=args.seconds + 60, cwd=stack.dir)
    m = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.exit("pgbench failed: " + out.stdout + out.stderr)
    lat = []
    for name in glob.glob(prefix + ".*"):
        with open(name) as f:
            lat += [int(line.split()[2]) / 1000.0 for line in f]
        os.unlink(name)
    return {"rps": float(m.group(1)), "p50": percentile(lat, 50),
            "p99": percentile(lat, 99),
            "non2xx": int(failed.group(1)) if failed else 0, "errors": 0}


def side_by_side(cluster, bare, extra):
    """The HTTP and database rows on one cluster; extra: the fsync-on
    cluster's extra rows (GET /locations, keep_conn)."""
    stack = bench_stack(cluster)
    body = fdtest.form_body(fdtest.maria())
    res = {"stack": stack, "rss": 0.0}
    res["204"] = wrk(stack, "GET", "/bench/204")
    b = start_bare(stack, bare)
    wrk(stack, "POST", "/api/appointments", body, seconds=1, mode="each")
    res["bare"] = wrk(stack, "POST", "/api/appointments", body, mode="each")
    fdtest.stop(b)
    res["pgbench"] = pgbench(stack)
    res["pgbench_checks"] = pgbench(stack, PGBENCH_CHECKS, "postgres")

    restart_frontdesk(stack)
    wrk(stack, "POST", "/api/appointments", body, seconds=1)
    res["plain"] = wrk(stack, "POST", "/api/appointments", body)
    if extra:
        res["get"] = wrk(stack, "GET", "/api/locations")
    res["rss"] = max(res["rss"], rss_mib(stack.frontdesk.pid))

    restart_frontdesk(stack, checks_conf(stack, 20))
    wrk(stack, "POST", "/api/appointments", body, seconds=1, mode="each")
    res["checks"] = wrk(stack, "POST", "/api/appointments", body, mode="each")
    res["rss"] = max(res["rss"], rss_mib(stack.frontdesk.pid))

    restart_frontdesk(stack, checks_conf(stack, 100000000))
    wrk(stack, "POST", "/api/appointments", body, seconds=1, mode="one")
    res["one"] = wrk(stack, "POST", "/api/appointments", body, mode="one")
    res["rss"] = max(res["rss"], rss_mib(stack.frontdesk.pid))
    res["one_hits"] = int(stack.sql(
        "SELECT coalesce(max(total), 0) FROM rate_limits")[0][0])

    if extra:
        # The nginx setup the shipped file avoids: kept FastCGI connections.
        restart_frontdesk(stack)
        keep = open(os.path.join(fdtest.SOURCE,
                                 "conf/nginx/frontdesk.conf")).read()
        keep = keep.replace("fastcgi_keep_conn off;", "fastcgi_keep_conn on;")
        keep = keep.replace("fastcgi_pass unix:/run/frontdesk/fcgi.sock;",
                            "fastcgi_pass frontdesk_keep;")
        stack.start_nginx(keep, "upstream frontdesk_keep { server "
                          "unix:/run/frontdesk/fcgi.sock; keepalive 16; }")
        res["keep"] = wrk(stack, "POST", "/api/appointments", body)
        stack.start_nginx()
    return res


def stored_at(maildir):
    """{reference: wall-clock time the SMTP server stored it}, from
    smtpd_fault.py's file names (time_ns first)."""
    out = {}
    d = os.path.join(maildir, "new")
    for name in os.listdir(d) if os.path.isdir(d) else ():
        with open(os.path.join(d, name), "rb") as f:
            m = re.search(rb"^X-Frontdesk-Reference: (FD-\w{8})", f.read(),
                          re.M)
        if m:
            out[m.group(1).decode()] = int(name.split(".")[0]) / 1e9
    return out


def message_size(maildir):
    """The mean size of the messages as sent (smtpd_fault.py's two
    X- lines of envelope taken off)."""
    sizes = []
    d = os.path.join(maildir, "new")
    for name in os.listdir(d):
        with open(os.path.join(d, name), "rb") as f:
            sizes.append(len(f.read().split(b"\r\n", 2)[2]))
    return int(sum(sizes) / len(sizes))


def delivery(cluster):
    """Post to delivery: posts through nginx, spread out so they meet the
    mailer's poll at every phase, timed from the post to the SMTP server
    storing the message; then a backlog drained by one mailer; then the
    same backlog to Postfix's smtp-sink, and smtp-source sending as many
    messages of the same size to the same sink over one connection (the
    mailer keeps its connection too)."""
    import random
    S = fdtest.Stack(cluster)
    mailtest.start_smtpd(S)
    mailer = S.start_mailer()
    time.sleep(0.5)
    sent = {}
    for i in range(args.seconds * 8):
        t = time.time()
        r = S.post(fdtest.maria(first_name="Bench%d" % i))
        if r.status != 201:
            sys.exit("delivery post: %r" % r)
        sent[r.json()["reference"]] = t
        time.sleep(random.uniform(0.0, 0.25))
    fdtest.wait_for(lambda: len(stored_at(S.maildir)) >= len(sent), 60,
                    what="every message at the SMTP server")
    got = stored_at(S.maildir)
    lat = [(got[ref] - t) * 1000 for ref, t in sent.items()]
    # A backlog: as after an SMTP outage, every message due at once.
    fdtest.stop(mailer)
    n = 100 * args.seconds
    mailtest.insert_requests(S, n)
    t0 = time.monotonic()
    mailer = S.start_mailer()
    mailtest.wait_status(S, "sent", n + len(sent), timeout=300)
    mps = n / (time.monotonic() - t0)
    rss = rss_mib(mailer.pid)
    fdtest.stop(mailer)
    size = message_size(S.maildir)

    # The same backlog to smtp-sink, beside smtp-source.
    port = fdtest.free_port()
    sink = fdtest.spawn([SINK] + (["-u", "nobody"] if os.geteuid() == 0
                                  else []) +
                        ["127.0.0.1:%d" % port, "256"],
                        os.path.join(S.dir, "smtp-sink.log"))
    fdtest.wait_for(lambda: S._port_open(port) or sink.poll() is not None,
                    what="smtp-sink port")
    if sink.poll() is not None:
        sys.exit("smtp-sink exited: " + S.log("smtp-sink"))
    conf = S.write_conf("mailer-sink.conf", S.conf_as(
        "mailer", smtp={"url": "smtp://127.0.0.1:%d" % port}))
    before = n + len(sent)
    mailtest.insert_requests(S, n)
    t0 = time.monotonic()
    mailer = S.start_mailer(conf=conf)
    mailtest.wait_status(S, "sent", before + n, timeout=300)
    sink_mps = n / (time.monotonic() - t0)
    rss = max(rss, rss_mib(mailer.pid))
    fdtest.stop(mailer)
    t0 = time.monotonic()
    src = subprocess.run([SOURCE, "-d", "-s", "1", "-m", str(n), "-l",
                          str(size), "-f", "appointments@clinic.example",
                          "-t", "midtown.desk@clinic.example",
                          "127.0.0.1:%d" % port], capture_output=True,
                         text=True, timeout=300)
    source_mps = n / (time.monotonic() - t0)
    if src.returncode != 0:
        sys.exit("smtp-source failed: " + src.stdout + src.stderr)
    fdtest.stop(sink)
    return {"n": len(lat), "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "max": max(lat), "backlog": n,
            "mps": mps, "rss": rss, "size": size, "sink_mps": sink_mps,
            "source_mps": source_mps}


def scrapes(stack, n):
    """n GET /api/metrics through nginx, one after the other: ms each."""
    out = []
    for _ in range(n):
        t = time.monotonic()
        r = stack.get("/api/metrics")
        out.append((time.monotonic() - t) * 1000)
        if r.status != 200:
            sys.exit("metrics: %r" % r)
    return out


def metrics_history(stack, attempts):
    """/metrics with the attempts stored now, then with `attempts` more
    delivery attempts (mostly sent, some retries, a few dead) spread over
    the outbox rows the runs left."""
    restart_frontdesk(stack)
    # The runs' outbox rows as history (delivered), not a queue of tens of
    # thousands: a clinic's outbox is mostly sent messages.
    stack.sql("UPDATE outbox SET status = 'sent', sent_at = now(),"
              " attempts = 1 WHERE status = 'pending'")
    stack.sql("VACUUM ANALYZE outbox")
    outbox = stack.count("outbox")
    scrapes(stack, 3)
    before = scrapes(stack, args.scrapes)
    t0 = time.monotonic()
    # Every outbox row gets its share (a hash join on the row's number);
    # the foreign key is not checked row by row (replica mode): the ids
    # are the table's own.
    stack.sql(
        "SET session_replication_role = replica;"
        " INSERT INTO outbox_attempts (outbox_id, attempted_at, outcome,"
        " smtp_code, reply)"
        " SELECT o.id, now() - g * interval '1 second',"
        "  CASE WHEN g %% 100 = 0 THEN 'dead' WHEN g %% 10 = 0 THEN 'retry'"
        "  ELSE 'sent' END, 250, '250 2.0.0 Ok: queued'"
        " FROM generate_series(0, %d) AS g"
        " JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i"
        "  FROM outbox) AS o ON o.i = g %% (SELECT count(*) FROM outbox)"
        % (attempts - 1))
    stack.sql("VACUUM ANALYZE outbox_attempts")
    load_s = time.monotonic() - t0
    stored = stack.count("outbox_attempts")
    scrapes(stack, 3)
    after = scrapes(stack, args.scrapes)
    return {"before": before, "after": after, "stored": stored,
            "load_s": load_s, "outbox": outbox}


# -- --profile: where the time goes (bench/profile.sh)
PROFILE_LOADS = (("every check on", 20, "each"),
                 ("one address at 10^8", 100000000, "one"))


def post_n(stack, n, mode, clients=4):
    """n posts through nginx from `clients` threads, each with its own key
    (and, with "each", its own address); returns how many were not 201."""
    import threading
    import uuid
    body = fdtest.form_body(fdtest.maria())
    bad = []
    run = uuid.uuid4().hex[:8]

    def client(c):
        for i in range(c, n, clients):
            h = {"Idempotency-Key": "p%s-%d" % (run, i),
                 "X-Forwarded-For": "10.%d.%d.%d" % (
                     c, i // 256 % 256, i % 256) if mode == "each"
                 else "10.255.255.1"}
            r = stack.post(body=body, headers=h,
                           content_type="application/x-www-form-urlencoded")
            if r.status != 201:
                bad.append(r)
    ts = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(bad)


def callgrind(stack, conf, mode, posts, out):
    """frontdesk under callgrind (--trace-children=no) for `posts` posts;
    returns the total instructions (Ir) of the run."""
    if stack.frontdesk is not None and stack.frontdesk.poll() is None:
        stack.stop_frontdesk()
    if os.path.exists(stack.socket):
        os.unlink(stack.socket)
    p = fdtest.spawn(["valgrind", "--tool=callgrind", "--trace-children=no",
                      "--callgrind-out-file=" + out,
                      stack.program("frontdesk"), "-c", conf],
                     os.path.join(stack.dir, "callgrind.log"))
    fdtest.wait_for(lambda: os.path.exists(stack.socket) or
                    p.poll() is not None, 120, what="frontdesk socket")
    bad = post_n(stack, posts, mode)
    p.send_signal(signal.SIGTERM)
    p.wait(180)
    if bad:
        sys.exit("callgrind: %d posts not accepted" % bad)
    with open(out) as f:
        text = f.read()
    m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(m.group(1))


def annotate_fns(out, inclusive):
    """{function: Ir} from callgrind_annotate (every function)."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=" + (
        "yes" if inclusive else "no"), "--threshold=100", out],
                       capture_output=True, text=True, timeout=120)
    fns = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
        if m and not m.group(2).startswith("PROGRAM"):
            fns[m.group(2)] = fns.get(m.group(2), 0) + int(
                m.group(1).replace(",", ""))
    return fns


def annotate_diff(few_out, out, n, inclusive, top=20):
    """The top functions per post: (Ir in the long run - Ir in the short
    one) / the posts between, so start-up and first connections cancel."""
    a, b = annotate_fns(few_out, inclusive), annotate_fns(out, inclusive)
    per = sorted(((b[f] - a.get(f, 0)) / n, f) for f in b)[::-1]
    total = sum(v for v, f in per) if not inclusive else None
    lines = []
    for v, f in per[:top]:
        name = f.split(":", 1)[1] if ":" in f else f
        lines.append("  %10.0f %s %s" % (v, "" if total is None else
                                         "%5.1f%%" % (100 * v / total),
                                         name[:90]))
    return lines


def perf_start(pids, out):
    if shutil.which("perf") is None:
        return None, "perf not installed (apt-get install linux-perf)"
    p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999",
                          "-g", "-o", out, "-p", ",".join(map(str, pids))],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    if p.poll() is not None:
        return None, "perf record failed: " + p.stderr.read().decode()[-300:]
    return p, None


def perf_stop(p, out, top=14):
    """Self time: the share of each program, then the top symbols of
    frontdesk and of its backends."""
    p.send_signal(signal.SIGINT)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

    def report(*opts):
        r = subprocess.run(["perf", "report", "-i", out, "--stdio",
                            "--no-children", "-g", "none"] + list(opts),
                           capture_output=True, text=True, timeout=300)
        got = [line for line in r.stdout.splitlines()
               if line.strip() and not line.startswith("#")]
        return got or ["  (perf report: %s)" % r.stderr.strip()[-200:]]
    lines = ["  by program:"] + report("--sort", "comm")[:4]
    for comm in ("frontdesk", "postgres"):
        lines += ["  %s, by symbol:" % comm] + report(
            "--comms", comm, "--sort", "dso,sym")[:top]
    return lines


STATEMENTS = (("post (frontdesk_post)", "FROM public.frontdesk_post($1"),
              ("  its one statement", "WITH look AS ("),
              ("  the rate limit's slow path", "FROM public.rate_limits l"
               " WHERE l.addr = p_addr FOR UPDATE"),
              ("the bare responder's insert", "'Maria', 'Gonzalez'"))


def statement_stats(stack):
    rows = stack.sql("SELECT calls, mean_exec_time, total_exec_time, query"
                     " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM"
                     " pg_database WHERE datname = current_database())"
                     " ORDER BY total_exec_time DESC")
    out = []
    for name, needle in STATEMENTS:
        for calls, mean, total, q in rows:
            if needle in q:
                out.append("  %-30s calls %7s  mean %8.3f ms  total %9.1f ms"
                           % (name, calls, float(mean), float(total)))
                break
    return out


def ratelimit_alone(stack, addr):
    """The rate limit's count alone (pgbench, one client, 200 calls, as
    the owner: frontdesk_post calls it) for an address: its mean latency
    in ms."""
    script = os.path.join(stack.dir, "ratelimit.sql")
    with open(script, "w") as f:
        f.write("SELECT public.frontdesk_rate_take('%s', 100000000, "
                "now());\n" % addr)
    r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", "1", "-t",
                        "200", "-f", script, "-h", stack.cluster.dir, "-U",
                        "postgres", stack.db], capture_output=True,
                       text=True, timeout=300)
    m = re.search(r"latency average = ([\d.]+) ms", r.stdout)
    return float(m.group(1)) if m else float("nan")


def profile():
    keep = os.environ.get("FRONTDESK_PROFILE_DIR")
    d = os.path.abspath(keep) if keep else fdtest.tempdir("fdbench-prof-")
    os.makedirs(d, exist_ok=True)
    cluster = BenchCluster(fsync=False, extra="-c shared_preload_libraries="
                           "pg_stat_statements -c pg_stat_statements.track=all")
    stack = bench_stack(cluster)
    stack.sql("CREATE EXTENSION pg_stat_statements")
    body = fdtest.form_body(fdtest.maria())
    print("frontdesk profile: fsync off, %d threads, %d connections, %d s "
          "under wrk; callgrind: %d posts (4 clients); files in %s%s" % (
              THREADS, args.connections, args.seconds, args.posts, d,
              "" if keep else " (removed at exit: FRONTDESK_PROFILE_DIR=DIR "
              "keeps them)"))
    # The floor: the bare responder's one statement, under the same load.
    b = start_bare(stack, build_bare())
    wrk(stack, "POST", "/api/appointments", body, seconds=1, mode="each")
    stack.sql("SELECT pg_stat_statements_reset()")
    r = wrk(stack, "POST", "/api/appointments", body, mode="each")
    fdtest.stop(b)
    print("\n== the bare responder: %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
          "non-2xx %d" % (r["rps"], r["p50"], r["p99"], r["non2xx"]))
    print("pg_stat_statements (this run):")
    print("\n".join(statement_stats(stack)))
    for name, limit, mode in PROFILE_LOADS:
        tag = "one" if mode == "one" else "checks"
        conf = checks_conf(stack, limit)
        restart_frontdesk(stack, conf)
        wrk(stack, "POST", "/api/appointments", body, seconds=1, mode=mode)
        pids = [stack.frontdesk.pid] + [int(r[0]) for r in stack.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = "
            "current_database() AND usename = 'fdt_web'")]
        stack.sql("SELECT pg_stat_statements_reset()")
        pdata = os.path.join(d, "perf.%s.data" % tag)
        perf, why = perf_start(pids, pdata)
        r = wrk(stack, "POST", "/api/appointments", body, mode=mode)
        print("\n== %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d"
              % (name, r["rps"], r["p50"], r["p99"], r["non2xx"]))
        print("pg_stat_statements (this run):")
        print("\n".join(statement_stats(stack)))
        if mode == "one":
            hits = stack.sql("SELECT total FROM rate_limits "
                             "WHERE addr = '10.255.255.1'")[0][0]
            print("the rate limit alone, one client (pgbench, 200 calls): "
                  "%.3f ms at one address holding %s posts, %.3f ms at a "
                  "fresh address" % (ratelimit_alone(stack, "10.255.255.1"),
                                     hits, ratelimit_alone(stack,
                                                           "10.254.0.1")))
        print("perf record -e cpu-clock -g, frontdesk and its backends "
              "(self time):")
        print("\n".join(perf_stop(perf, pdata)) if perf else "  " + why)
        few = max(1, args.posts // 4)
        outs = [os.path.join(d, "callgrind.%s.%d.out" % (tag, n))
                for n in (few, args.posts)]
        ir_few = callgrind(stack, conf, mode, few, outs[0])
        ir = callgrind(stack, conf, mode, args.posts, outs[1])
        print("callgrind: %.0f instructions per post in frontdesk ((Ir of "
              "%d posts - Ir of %d) / %d; start-up and first connections "
              "cancel)" % ((ir - ir_few) / (args.posts - few), args.posts,
                           few, args.posts - few))
        print("top functions by instructions per post, self (%: of the "
              "post's):")
        print("\n".join(annotate_diff(outs[0], outs[1], args.posts - few,
                                      False)))
        print("top functions by instructions per post, inclusive:")
        print("\n".join(annotate_diff(outs[0], outs[1], args.posts - few,
                                      True, top=25)))
    fdtest._cleanup()


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def main():
    bare = build_bare()
    t_start = time.monotonic()
    on = BenchCluster(fsync=True)
    mail = delivery(on)
    runs = {"on": side_by_side(on, bare, extra=True)}
    hist = metrics_history(runs["on"]["stack"], args.attempts)
    off = BenchCluster(fsync=False)
    runs["off"] = side_by_side(off, bare, extra=False)

    rows = []   # (what, fsync, rate, p50, p99, xbare, x204, xpgb, target, ok)

    def http_row(what, fs, r, target="", ok=None, vs=True):
        R = runs[fs]
        rows.append((what, fs, r["rps"], r["p50"], r["p99"],
                     r["rps"] / R["bare"]["rps"] if vs else None,
                     r["rps"] / R["204"]["rps"] if vs else None,
                     r["rps"] / R["pgbench"]["rps"] if vs else None,
                     target, ok))

    for fs in ("on", "off"):
        R = runs[fs]
        rows.append(("nginx return 204", fs, R["204"]["rps"], R["204"]["p50"],
                     R["204"]["p99"], None, 1.0, None, "ceiling", None))
        http_row("bare responder (libfcgi+libpq)", fs, R["bare"],
                 "floor")
        rows.append(("pgbench, the same insert", fs, R["pgbench"]["rps"],
                     R["pgbench"]["p50"], R["pgbench"]["p99"],
                     R["pgbench"]["rps"] / R["bare"]["rps"], None, 1.0,
                     "ceiling", None))
        k = R["pgbench_checks"]
        rows.append(("pgbench, + a key and a count", fs, k["rps"], k["p50"],
                     k["p99"], k["rps"] / R["bare"]["rps"], None,
                     k["rps"] / R["pgbench"]["rps"],
                     "ceiling of every check", None))
        p = R["plain"]
        if fs == "on":
            http_row("frontdesk, rate limit off", fs, p,
                     "p99<=%.0fms, >=%.0f/s" % (TARGETS["post_p99_ms"],
                                                TARGETS["post_min_rps"]),
                     p["p99"] <= TARGETS["post_p99_ms"] and
                     p["rps"] >= TARGETS["post_min_rps"])
        else:
            http_row("frontdesk, rate limit off", fs, p)
        c, o = R["checks"], R["one"]
        xb = c["rps"] / R["bare"]["rps"]
        xo = o["rps"] / c["rps"]
        if fs == "off":
            http_row("frontdesk, every check on", fs, c,
                     ">=%.1fx bare, p99<%.0fms (%.2fx its ceiling)" % (
                         TARGETS["checks_x_bare"], TARGETS["checks_p99_ms"],
                         c["rps"] / R["pgbench_checks"]["rps"]),
                     xb >= TARGETS["checks_x_bare"] and
                     c["p99"] < TARGETS["checks_p99_ms"])
            http_row("frontdesk, one address, 10^8/h", fs, o,
                     ">=%.1fx every check (%.2fx)" % (
                         TARGETS["one_addr_x_checks"], xo),
                     xo >= TARGETS["one_addr_x_checks"])
        else:
            http_row("frontdesk, every check on", fs, c)
            http_row("frontdesk, one address, 10^8/h", fs, o,
                     "info: %.2fx every check" % xo)
        if fs == "on":
            g = R["get"]
            rows.append(("GET /api/locations", fs, g["rps"], g["p50"],
                         g["p99"], None, g["rps"] / R["204"]["rps"], None,
                         "p99<=%.0fms" % TARGETS["get_p99_ms"],
                         g["p99"] <= TARGETS["get_p99_ms"]))
            http_row("frontdesk, fastcgi_keep_conn on", fs, R["keep"],
                     "info: what the nginx file avoids")
    rss = max(runs["on"]["rss"], runs["off"]["rss"])
    rows.append(("frontdesk peak RSS, 8 threads", "-", None, None, None,
                 None, None, None, "<%.0f MiB (%.1f MiB)" % (
                     TARGETS["rss_max_mib"], rss),
                 rss < TARGETS["rss_max_mib"]))
    rows.append(("post to SMTP server (ms)", "on", None, mail["p50"],
                 mail["p99"], None, None, None, "p99<=%.0fms (%d posts)" % (
                     TARGETS["deliver_p99_ms"], mail["n"]),
                 mail["p99"] <= TARGETS["deliver_p99_ms"]))
    rows.append(("mailer backlog drain (msg/s)", "on", mail["mps"], None,
                 None, None, None, None, ">=%.0f msg/s (%d msgs)" % (
                     TARGETS["mailer_min_mps"], mail["backlog"]),
                 mail["mps"] >= TARGETS["mailer_min_mps"]))
    xs = mail["sink_mps"] / mail["source_mps"]
    rows.append(("smtp-source -s 1 -d, smtp-sink", "-", mail["source_mps"],
                 None, None, None, None, None, "ceiling (%d x %d B)" % (
                     mail["backlog"], mail["size"]), None))
    rows.append(("mailer -> smtp-sink (msg/s)", "on", mail["sink_mps"], None,
                 None, None, None, None, ">=%.1fx smtp-source (%.3fx)" % (
                     TARGETS["mailer_x_source"], xs),
                 xs >= TARGETS["mailer_x_source"]))
    rows.append(("frontdesk-mailer peak RSS", "-", None, None, None, None,
                 None, None, "<=%.0f MiB (%.1f MiB)" % (
                     TARGETS["mailer_rss_max_mib"], mail["rss"]),
                 mail["rss"] <= TARGETS["mailer_rss_max_mib"]))
    b, a = hist["before"], hist["after"]
    rows.append(("/metrics scrape, few attempts", "on", None,
                 percentile(b, 50), percentile(b, 99), None, None, None,
                 "info (%d sent in outbox)" % hist["outbox"],
                 None))
    rows.append(("/metrics scrape, 10^6 attempts", "on", None,
                 percentile(a, 50), percentile(a, 99), None, None, None,
                 "p99<%.0fms (%d attempts)" % (
                     TARGETS["metrics_p99_ms"], hist["stored"]),
                 percentile(a, 99) < TARGETS["metrics_p99_ms"]))

    print("frontdesk benchmark: %d connections, %d s per run, %d threads, "
          "%d cores, nginx (shipped frontdesk.conf) + PostgreSQL; fsync on: "
          "defaults, off: -c fsync=off; %.0f s in all" % (
              args.connections, args.seconds, THREADS, os.cpu_count(),
              time.monotonic() - t_start))
    head = ("what", "fsync", "req/s", "p50 ms", "p99 ms", "x bare", "x 204",
            "x pgb", "target", "verdict")
    line = "%-34s %-5s %8s %7s %8s %6s %6s %6s  %-32s %s"
    print(line % head)
    for what, fs, rate, p50, p99, xb, x2, xp, target, ok in rows:
        print(line % (what, fs, fmt(rate, "%.0f"), fmt(p50, "%.2f"),
                      fmt(p99, "%.2f"), fmt(xb, "%.2f"), fmt(x2, "%.2f"),
                      fmt(xp, "%.2f"), target, "" if ok is None else
                      "met" if ok else "MISSED"))
    bad = sum(r["non2xx"] + r["errors"] for fs in runs for k, r in
              runs[fs].items() if isinstance(r, dict) and "non2xx" in r
              and k != "keep")
    print("one address at 10^8: %d posts in its count after the runs; "
          "10^6 attempts loaded in %.1f s" % (
              max(runs["on"]["one_hits"], runs["off"]["one_hits"]),
              hist["load_s"]))
    missed = sum(1 for r in rows if r[9] is False)
    met = sum(1 for r in rows if r[9] is True)
    print("targets: %d met, %d missed; non-2xx or failed requests: %d" % (
        met, missed, bad))
    fdtest._cleanup()
    sys.exit(0 if missed == 0 and bad == 0 else 1)


def mail_only():
    mail = delivery(BenchCluster(fsync=True))
    print("post to SMTP server: p50 %.2f ms, p99 %.2f ms (%d posts); "
          "backlog drained %.0f msg/s; mailer -> smtp-sink %.0f msg/s, "
          "smtp-source -s 1 -d %.0f msg/s (%.3fx); mailer RSS %.1f MiB" % (
              mail["p50"], mail["p99"], mail["n"], mail["mps"],
              mail["sink_mps"], mail["source_mps"],
              mail["sink_mps"] / mail["source_mps"], mail["rss"]))
    fdtest._cleanup()


profile() if args.profile else mail_only() if args.mail_only else main()
