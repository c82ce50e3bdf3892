#!/usr/bin/python3
"""A failover loses nothing: a primary and a streaming standby (pgpair),
every program on a multi-host conninfo (target_session_attrs=read-write),
a bounded load of posts through nginx, the primary stopped with -m
immediate mid-load and the standby promoted; then, on the new primary,
every post that got an accepted answer is stored exactly once and mailed
(synchronous replication), or (asynchronous) no post is stored twice,
every accepted post stored is mailed, and what is lost was accepted in
the last moments before the stop. The figures go to the TAP log as
comments ("# figures ...")."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import fdtest
import mailtest as mt
import pgpair
from fdtest import maria, wait_for

N_POSTS = int(os.environ.get("FDTEST_FAILOVER_POSTS", "200"))
THREADS = 3          # clients posting side by side
PACE = 0.02          # seconds between a client's posts
STOP_AT = 0.35       # the primary is stopped once this share is accepted
DETECT = 1.0         # seconds from the stop to the promotion (a failover
                     # manager's detection, kept short)
POST_DEADLINE = 60   # seconds a client keeps retrying one post
SMTP_TIMEOUT = 5     # the mailer's lease is 2 x this + 1 s


def figures(name, **f):
    """One line of figures in the TAP log (and appended to the file
    FDTEST_FIGURES names, if set)."""
    line = "figures %s: %s" % (name, " ".join(
        "%s=%s" % (k, ("%.2f" % v) if isinstance(v, float) else v)
        for k, v in f.items()))
    print("# " + line)
    sys.stdout.flush()
    if os.environ.get("FDTEST_FIGURES"):
        with open(os.environ["FDTEST_FIGURES"], "a") as out:
            out.write(line + "\n")


# -- a stack on a pair
def stack(pair, spool=False, console=False, mailer=True, threads=None,
          web_via=None, smtpd=None, smtp_timeout=SMTP_TIMEOUT):
    """frontdesk, nginx, the SMTP server and the mailer on pair, every
    program with the pair's multi-host conninfo; console: the console too,
    with a staff account (sam). threads: frontdesk's and the console's;
    web_via: a relay (pgpair.AckLoss) frontdesk reaches the primary
    through, the standby after it; smtpd: smtpd_fault.py's options, for
    it in place of aiosmtpd's Mailbox."""
    S = fdtest.Stack(pair, start=False, smtp=smtpd is None)
    if smtpd is not None:
        mt.start_smtpd(S, *smtpd)
    S.conf["smtp"]["timeout"] = str(smtp_timeout)
    if spool:
        S.conf["spool"] = {"dir": os.path.join(S.dir, "spool")}
    if threads:
        S.conf["fastcgi"]["threads"] = str(threads)
    S.rewrite_confs()
    for role in fdtest.ROLES:
        with open(getattr(S, role + "_conf_path")) as f:
            assert "target_session_attrs=read-write" in f.read()
    if console:
        S.console_proc = S.start_console(
            console={"threads": str(threads or 4)})
        S.ctl("user", "add", "sam", "--role", "staff", "--location",
              "midtown", "--password-stdin", input="pw-sam-long-enough\n")
    conf = None
    if web_via is not None:
        c = S.conf_as("web")
        c["database"]["conninfo"] = pair.conninfo_via(web_via, S.db,
                                                      "fdt_web")
        conf = S.write_conf("frontdesk-relay.conf", c)
    S.start_frontdesk(conf)
    S.start_nginx()
    if mailer:
        S.start_mailer()
    return S


def rows(S, where):
    return S.sql("SELECT reference, submission_id FROM appointment_requests"
                 " WHERE %s ORDER BY id" % where)


class Console:
    """One signed-in browser: the session cookie."""

    def __init__(self, S, name, password):
        self.S = S
        r = self.call("POST", "/session", {"username": name,
                                           "password": password},
                      origin=True)
        assert r.status == 201, r
        self.cookie = re.search(r"__Host-fd_session=([^;]*)",
                                r.headers["set-cookie"]).group(1)

    def call(self, method, path, body=None, origin=False):
        h = {"Accept": "application/json"}
        if getattr(self, "cookie", None):
            h["Cookie"] = "__Host-fd_session=" + self.cookie
        if origin:
            h["Origin"] = "http://127.0.0.1:%d" % self.S.port
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return self.S.request(method, "/console/api" + path, body=data,
                              headers=h, timeout=20)


# -- the load
class Load:
    """n posts from a few client threads, each with its own idempotency
    key; a post answered 503 (or not answered) is sent again with the
    same key and fields, within POST_DEADLINE. Every attempt is kept:
    (sent, answered, status, reference)."""

    def __init__(self, S, tag, n=N_POSTS):
        self.S = S
        self.posts = [{"i": i, "key": "%s-%04d" % (tag, i),
                       "fields": maria(last_name="Post%04d" % i,
                                       first_name=tag.capitalize(),
                                       submission_id="%s-%04d" % (tag, i)),
                       "attempts": []} for i in range(n)]
        self.lock = threading.Lock()
        self.next = 0
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), \
            "the load did not finish in %ds" % timeout

    def _take(self):
        with self.lock:
            if self.next >= len(self.posts):
                return None
            self.next += 1
            return self.posts[self.next - 1]

    def _client(self):
        while True:
            p = self._take()
            if p is None:
                return
            first = time.monotonic()
            while True:
                t0 = time.monotonic()
                status, ref = self._post(p["fields"])
                t1 = time.monotonic()
                p["attempts"].append((t0, t1, status, ref))
                if status == 201 or (isinstance(status, int) and
                                     status not in (502, 503, 504)):
                    break
                if t1 - first > POST_DEADLINE:
                    break
                time.sleep(0.25)
            time.sleep(PACE)

    def _post(self, fields):
        try:
            r = self.S.post(fields)
        except (OSError, http.client.HTTPException) as e:
            return "error:" + type(e).__name__, None
        if r.status == 201:
            return 201, r.json()["reference"]
        return r.status, None

    def accepted(self):
        return sum(1 for p in self.posts if self.answer(p) is not None)

    @staticmethod
    def answer(p):
        """The post's last accepted answer: (answered at, reference)."""
        ok = [(a[1], a[3]) for a in p["attempts"] if a[2] == 201]
        return ok[-1] if ok else None


# -- what the SMTP server got
def mail_index(S):
    """{reference: [(arrival, message-id), ...]}, arrivals by the file's
    time (wall clock), oldest first."""
    out = {}
    d = os.path.join(S.maildir, "new")
    if not os.path.isdir(d):
        return out
    for name in os.listdir(d):
        path = os.path.join(d, name)
        with open(path, "rb") as f:
            head = f.read(8192)
        ref = re.search(rb"\nX-Frontdesk-Reference: (FD-[0-9A-Z]{8})", head)
        mid = re.search(rb"\nMessage-ID: (<[^>\r\n]*>)", head, re.I)
        out.setdefault(ref.group(1).decode() if ref else None, []).append(
            (os.stat(path).st_mtime, mid.group(1).decode() if mid else None))
    for v in out.values():
        v.sort()
    return out


def stored(S, tag):
    """The new primary's rows of this load: {key: [reference, ...]}, and
    the number of outbox rows of each reference."""
    rows = S.sql("SELECT r.submission_id, r.reference, "
                 "extract(epoch FROM r.created_at), "
                 "(SELECT count(*) FROM outbox o WHERE o.request_id = r.id) "
                 "FROM appointment_requests r WHERE r.submission_id LIKE "
                 ":'p1'", (tag + "-%",))
    keys, outbox, created = {}, {}, {}
    for key, ref, at, ob in rows:
        keys.setdefault(key, []).append(ref)
        outbox[ref] = int(ob)
        created[ref] = float(at)
    return keys, outbox, created


# -- one failover under load
def failover_under_load(P, S, tag, console=None, late_console=None):
    """Runs the load, stops the primary once STOP_AT of it is accepted,
    promotes the standby DETECT seconds later, and lets the load finish.
    console: a signed-in Console whose session is tried after the switch.
    late_console: a callable that signs in just before the stop (inside
    an asynchronous standby's lag). Returns the timeline."""
    load = Load(S, tag)
    load.start()
    wait_for(lambda: load.accepted() >= STOP_AT * len(load.posts), 120,
             lambda: "%d accepted" % load.accepted())
    late = late_console() if late_console else None
    t = {"stop": time.monotonic(), "stop_wall": time.time()}
    P.kill_primary()
    t["killed"] = time.monotonic()
    t["late_signed_in_before_kill"] = t["killed"] - t["stop"]
    time.sleep(DETECT)
    P.promote()
    t["promoted"] = time.monotonic()
    t["promoted_wall"] = time.time()
    sessions = {}
    for name, c in (("console", console), ("late_console", late)):
        if c is None:
            continue
        seen = []

        def me():
            r = c.call("GET", "/me")
            seen.append(r.status)
            return r.status != 503

        wait_for(me, 30, lambda: "the console answering: %r" % seen[-5:],
                 interval=0.25)
        sessions[name] = (seen[-1], time.monotonic() - t["promoted"],
                          seen.count(503))
    load.join(POST_DEADLINE + 60)
    t["load_done"] = time.monotonic()
    return load, t, sessions


def settle_mail(S, tag, timeout=90):
    """Waits until every stored request of the load is mailed and the
    outbox holds nothing in flight; returns mail_index."""
    def done():
        keys, outbox, _ = stored(S, tag)
        refs = {r for v in keys.values() for r in v}
        idx = mail_index(S)
        pending = int(S.sql("SELECT count(*) FROM outbox WHERE status IN "
                            "('pending', 'sending')")[0][0])
        return idx if refs <= set(idx) and pending == 0 else None
    return wait_for(done, timeout, lambda: "mail settled (%d messages, "
                    "outbox %r)" % (sum(len(v) for v in mail_index(S)
                                        .values()),
                                    S.sql("SELECT status, count(*) FROM "
                                          "outbox GROUP BY status")),
                    interval=0.5)


def judge(S, load, t, tag, window):
    """The checks that hold under any replication setting; returns the
    figures and the lost posts. window: how far before the stop an
    accepted post may be lost."""
    keys, outbox, created = stored(S, tag)
    idx = settle_mail(S, tag)
    all_refs = [r for v in keys.values() for r in v]
    # No post is stored twice, and no request has two outbox rows.
    dup_keys = {k: v for k, v in keys.items() if len(v) > 1}
    assert not dup_keys, "stored twice: %r" % dup_keys
    assert all(n == 1 for n in outbox.values()), outbox
    lost, recovered, answered_503, never = [], 0, 0, []
    for p in load.posts:
        statuses = [a[2] for a in p["attempts"]]
        bad = [s for s in statuses if s not in (201, 502, 503, 504) and
               not str(s).startswith("error:")]
        assert not bad, (p["key"], p["attempts"])
        oks = {a[3] for a in p["attempts"] if a[2] == 201}
        # Every accepted answer of one post names one reference.
        assert len(oks) <= 1, (p["key"], p["attempts"])
        if any(s != 201 for s in statuses):
            answered_503 += 1
        ans = Load.answer(p)
        if ans is None:
            never.append(p["key"])
            continue
        row = keys.get(p["key"])
        if row is None:
            lost.append((p["key"], ans))
            continue
        # Stored under the reference the client was given.
        assert row == [ans[1]], (p["key"], row, p["attempts"])
        # Not answered at once, yet already stored before the stop: a
        # commit whose answer was lost, found again by its key.
        if statuses[0] != 201 and created[ans[1]] < t["stop_wall"]:
            recovered += 1
    assert not never, "never accepted: %r" % never
    # Every loss was accepted in the last moments before the stop.
    late = [(k, t["stop"] - a[0]) for k, (a) in lost
            if a[0] < t["stop"] - window]
    assert not late, "lost, accepted long before the stop: %r" % late
    # Every stored request of the load was mailed, as itself (the
    # Message-ID chosen at the insert, the same on every copy).
    assert set(all_refs) <= set(idx), set(all_refs) - set(idx)
    dups = {r: v for r, v in idx.items() if r in all_refs and len(v) > 1}
    for r, copies in dups.items():
        assert len({m for _, m in copies}) == 1, copies
        # Sent twice only around the switch: the first copy's outcome
        # was being recorded when the primary went (at least once).
        assert copies[0][0] >= t["stop_wall"] - window, (r, copies,
                                                         t["stop_wall"])
    # The first post sent once the primary was gone and accepted (from
    # the new primary, or from the spool).
    oks = sorted(a[1] for p in load.posts for a in p["attempts"]
                 if a[2] == 201 and a[0] >= t["killed"])
    mails_after = sorted(m for v in idx.values() for m, _ in v
                         if m >= t["promoted_wall"])
    f = {"posts": len(load.posts),
         "accepted": sum(1 for p in load.posts if Load.answer(p)),
         "answered_503_first": answered_503,
         "answers_503": sum(1 for p in load.posts for a in p["attempts"]
                            if a[2] != 201),
         "stored": len(all_refs),
         "lost": len(lost),
         # mailed from the old primary before it went: the desk has it
         "lost_but_mailed": sum(1 for _, a in lost if a[1] in idx),
         "lost_accepted_before_stop_s": max([t["stop"] - a[0]
                                             for _, a in lost] or [0.0]),
         "duplicates": len(dup_keys),
         "found_again_by_key": recovered,
         "mailed": len(set(all_refs) & set(idx)),
         "mail_copies": sum(len(idx[r]) for r in set(all_refs) & set(idx)),
         "mailed_twice": len(dups),
         "outage_s": (oks[0] - t["killed"]) if oks else -1.0,
         # DETECT, then pg_ctl promote until the standby takes writes
         "promoted_after_s": t["promoted"] - t["killed"],
         "mail_after_promotion_s": (mails_after[0] - t["promoted_wall"])
         if mails_after else -1.0}
    return f, lost, dups


PASSWORD = "pw-sam-long-enough"


def mailed(S, ref, timeout=30):
    return wait_for(lambda: mail_index(S).get(ref), timeout,
                    "mail for " + ref)


def test_idle_programs_carry_on():
    """the switch happens while every program is idle: the first post
    after it is stored (frontdesk sends its statement again on a new
    connection, which goes to the new primary), not answered 503; the
    signed-in session goes on; the mailer mails the post; frontdeskctl
    reads it"""
    P = pgpair.Pair(sync=True)
    S = stack(P, console=True, threads=1)
    c = Console(S, "sam", PASSWORD)
    r = S.post(maria(first_name="Before"))
    assert r.status == 201, r
    mailed(S, r.json()["reference"])
    assert c.call("GET", "/me").status == 200
    P.kill_primary()
    P.promote()
    r = S.post(maria(first_name="After"))
    assert r.status == 201, r
    ref = r.json()["reference"]
    me = c.call("GET", "/me")
    assert me.status == 200, me
    assert "set-cookie" not in me.headers, me
    mailed(S, ref)
    assert ref in S.ctl("request", "show", ref).stdout.decode()
    assert [x[0] for x in rows(S, "first_name = 'After'")] == [ref]


def test_console_outage_keeps_the_session():
    """no primary for a while: the console answers 503 (one JSON error,
    Retry-After), keeps the browser's cookie, and the same session works
    once the standby is promoted"""
    P = pgpair.Pair(sync=True)
    S = stack(P, console=True, threads=1, mailer=False)
    c = Console(S, "sam", PASSWORD)
    assert c.call("GET", "/me").status == 200
    P.kill_primary()
    for _ in range(2):  # the dead connection, then no primary at all
        r = c.call("GET", "/me")
        assert r.status == 503, r
        assert "retry-after" in r.headers, r
        assert "set-cookie" not in r.headers, r  # the cookie stays
        json.loads(r.body)  # one JSON object, not two
    P.promote()
    seen = []
    wait_for(lambda: seen.append(c.call("GET", "/me").status) or
             seen[-1] != 503, 20, lambda: repr(seen), interval=0.25)
    assert seen[-1] == 200, seen


def test_read_write_by_default():
    """a multi-host conninfo without target_session_attrs, the standby
    named first (the old primary rebuilt as a standby of the new one, say):
    every program still works on the primary, read-write being their
    default, not on the standby where every write fails"""
    P = pgpair.Pair(sync=False)
    S = stack(P, console=True, threads=1, mailer=False)
    reverse = "host=%s,%s port=%d,%d dbname=%s user=fdt_%%s" % (
        P.b.dir, P.a.dir, P.b.port, P.a.port, S.db)
    assert P.b.query("SELECT pg_is_in_recovery()") == "t"
    confs = {}
    for role in fdtest.ROLES:
        c = S.conf_as(role)
        c["database"]["conninfo"] = reverse % role
        confs[role] = S.write_conf("reverse-%s.conf" % role, c)
    S.stop_frontdesk()
    S.start_frontdesk(confs["web"])
    r = S.post(maria(first_name="Reversed"))
    assert r.status == 201, (r, S.log("frontdesk")[-600:])
    ref = r.json()["reference"]
    S.start_mailer(conf=confs["mailer"])
    mailed(S, ref, 15)
    S.ctl("location", "add", "harlem", "--name", "Harlem",
          conf=confs["admin"])
    fdtest.stop(S.console_proc)
    S.start_console(console={"threads": "1"},
                    database={"conninfo": reverse % "console"})
    c = Console(S, "sam", PASSWORD)
    assert c.call("GET", "/me").status == 200


def test_service_file():
    """a conninfo longer than a configuration line (199 bytes) holds, in
    a libpq service file: conninfo = service=NAME, PGSERVICEFILE naming
    the file"""
    P = pgpair.Pair(sync=False)
    S = stack(P, mailer=False)
    path = os.path.join(S.dir, "pg_service.conf")
    with open(path, "w") as f:
        for role in ("admin", "mailer"):
            f.write("[frontdesk-%s]\nhost=%s,%s\nport=%d,%d\ndbname=%s\n"
                    "user=fdt_%s\ntarget_session_attrs=read-write\n"
                    % (role, P.a.dir, P.b.dir, P.a.port, P.b.port, S.db,
                       role))
    env = dict(os.environ, PGSERVICEFILE=path)
    confs = {}
    for role in ("admin", "mailer"):
        c = S.conf_as(role)
        c["database"]["conninfo"] = "service=frontdesk-" + role
        confs[role] = S.write_conf("service-%s.conf" % role, c)
    ref = S.post(maria(first_name="Serviced")).json()["reference"]
    P.kill_primary()
    P.promote()
    r = subprocess.run([S.program("frontdeskctl"), "-c", confs["admin"],
                        "request", "show", ref], capture_output=True,
                       env=env)
    assert r.returncode == 0 and ref in r.stdout.decode(), r
    rc, log = mt.run_once(S, confs["mailer"], env={"PGSERVICEFILE": path})
    assert rc == 0, log
    assert mail_index(S).get(ref), log


def test_sync_setting_left_on_the_new_primary():
    """the promoted standby keeps synchronous_standby_names (one
    postgresql.conf for both nodes) and has no standby of its own: every
    commit waits for one, so posts go unanswered (frontdesk's threads wait
    with them: statement_timeout does not bound a commit's wait for a
    standby) while /healthz, which writes nothing, says 200; nothing is
    lost or doubled: once the setting is emptied the waits end, each post
    is stored once, and its repost with the key gets its reference"""
    P = pgpair.Pair(sync=True, same_conf=True)
    S = stack(P, threads=3, mailer=False)  # two to wait, one for healthz
    assert S.post(maria(first_name="Warm")).status == 201
    P.kill_primary()
    P.promote()
    posts = [maria(first_name="Waiting", submission_id="fo-wait-%d" % i)
             for i in range(2)]
    body = {"Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"}
    for f in posts:
        t0 = time.monotonic()
        try:
            r = S.request("POST", "/api/appointments",
                          body=fdtest.form_body(f), headers=body, timeout=3)
            raise AssertionError("answered: %r" % r)
        except socket.timeout:
            pass
        assert time.monotonic() - t0 >= 2.9
    assert S.get("/api/healthz").status == 200
    assert P.b.query("SELECT count(*) FROM pg_stat_activity WHERE "
                     "wait_event = 'SyncRep'") == "2"
    P.b.query("ALTER SYSTEM SET synchronous_standby_names = ''")
    P.b.query("SELECT pg_reload_conf()")
    wait_for(lambda: len(rows(S, "first_name = 'Waiting'")) == 2, 10,
             "the waiting posts committed")
    got = dict((k, r) for r, k in rows(S, "first_name = 'Waiting'"))
    for f in posts:
        r = S.post(f)
        assert r.status == 201, r
        assert r.json()["reference"] == got[f["submission_id"]], (r, got)
    assert len(rows(S, "first_name = 'Waiting'")) == 2


def test_mailer_records_across_a_slow_switch():
    """the primary goes while a message is at the SMTP server, and the
    standby is promoted only seconds later: the mailer keeps trying to
    record the outcome while its claim's lease lasts (no other mailer
    takes the message before), so the message is recorded sent on the new
    primary and sent once, not again once the lease runs out"""
    P = pgpair.Pair(sync=True)
    S = stack(P, smtpd=("--delay", "2"), smtp_timeout=10)  # lease 21 s
    r = S.post(maria(first_name="InFlight"))
    assert r.status == 201, r
    ref = r.json()["reference"]
    wait_for(lambda: mt.smtp_stats(S)["connections"] >= 1, 10,
             "the message at the SMTP server")
    P.kill_primary()
    time.sleep(4)  # a failover manager's detection, a realistic one
    P.promote()
    wait_for(lambda: S.sql("SELECT o.status FROM outbox o JOIN "
                           "appointment_requests r ON r.id = o.request_id "
                           "WHERE r.reference = :'p1'", (ref,)) ==
             [("sent",)], 12, lambda: "sent: %r, mailer: %s" % (
                 S.sql("SELECT status FROM outbox"), S.log("mailer")[-800:]))
    log = S.log("mailer")
    assert "record_failed" not in log, log
    assert len(mail_index(S)[ref]) == 1
    assert mt.attempts(S, ref)[0][0] == "sent"


def lost_ack(P, S, relay, fields, hook):
    """Warms frontdesk's connection, arms the relay with hook and posts
    fields: the insert commits, its answer never arrives."""
    r = S.post(maria(first_name="Warm"))
    assert r.status == 201, r
    relay.arm(hook)
    r = S.post(fields)
    assert relay.dropped == 1, relay.dropped
    assert relay.hook_error is None, relay.hook_error
    return r


def test_lost_ack_retried_on_the_new_primary():
    """the insert commits (the standby has it), the primary is stopped
    and the standby promoted before frontdesk hears back: frontdesk sends
    the statement again on a new connection, to the new primary, which
    tells it apart from a new post by its reference (or its key): one
    row, answered 201 with that row's reference, mailed once"""
    for key in ("fo-retried-1", None):
        P = pgpair.Pair(sync=True)
        relay = pgpair.AckLoss(P.a.socket_path())
        S = stack(P, threads=1, web_via=relay)

        def hook():
            P.kill_primary()
            P.promote()
        r = lost_ack(P, S, relay, maria(first_name="Lost",
                                        submission_id=key), hook)
        assert r.status == 201, r
        ref = r.json()["reference"]
        assert rows(S, "first_name = 'Lost'") == [(ref, key)], \
            rows(S, "first_name = 'Lost'")
        assert S.count("outbox o JOIN appointment_requests r ON r.id = "
                       "o.request_id", "r.reference = '%s'" % ref) == 1
        log = S.log("frontdesk")
        assert ("reference=%s outcome=replayed" % ref if key else
                "event=submit_recovered reference=" + ref) in log, log
        mailed(S, ref)
        time.sleep(1)
        assert len(mail_index(S)[ref]) == 1


def test_lost_ack_503_then_the_key_finds_it():
    """the insert commits and the primary is stopped before frontdesk
    hears back, with no primary to retry on: 503 (no spool); the client
    sends the post again with its key once the standby is promoted and
    gets the first post's reference: one row"""
    P = pgpair.Pair(sync=True)
    relay = pgpair.AckLoss(P.a.socket_path())
    S = stack(P, threads=1, web_via=relay, mailer=False)
    f = maria(first_name="Again", submission_id="fo-again-1")
    r = lost_ack(P, S, relay, f, P.kill_primary)
    assert r.status == 503, r
    # the standby has the committed row already (synchronous)
    assert P.b.query("SELECT count(*) FROM appointment_requests WHERE "
                     "first_name = 'Again'", db=S.db) == "1"
    P.promote()
    answers = []
    wait_for(lambda: answers.append(S.post(f)) or
             answers[-1].status == 201, 20,
             lambda: repr(answers[-3:]), interval=0.5)
    ref = answers[-1].json()["reference"]
    assert rows(S, "first_name = 'Again'") == [(ref, "fo-again-1")]
    assert "reference=%s outcome=replayed" % ref in S.log("frontdesk")


def test_lost_ack_spooled_keeps_its_reference():
    """with a spool: the insert commits, the primary is stopped before
    frontdesk hears back and there is no primary to retry on, so the post
    is spooled, under the reference of the insert in flight: once the
    standby is promoted, the replay finds that reference stored and adds
    nothing; the patient's reference is the stored one"""
    for key in (None, "fo-spooled-1"):
        P = pgpair.Pair(sync=True)
        relay = pgpair.AckLoss(P.a.socket_path())
        S = stack(P, spool=True, threads=1, web_via=relay, mailer=False)
        spool = os.path.join(S.dir, "spool")
        wait_for(lambda: os.path.exists(os.path.join(spool,
                                                     "locations.json")),
                 10, "locations noted")
        r = lost_ack(P, S, relay, maria(first_name="Spooled",
                                        submission_id=key), P.kill_primary)
        assert r.status == 201, r
        ref = r.json()["reference"]
        assert "reference=%s outcome=spooled" % ref in S.log("frontdesk")
        P.promote()
        wait_for(lambda: not os.listdir(os.path.join(spool, "new")), 30,
                 "the spool replayed")
        got = rows(S, "first_name = 'Spooled'")
        assert got == [(ref, key)], (got, ref)
        if key:
            r2 = S.post(maria(first_name="Spooled", submission_id=key))
            assert r2.status == 201 and r2.json()["reference"] == ref, r2


def test_sync_failover_loses_nothing():
    """synchronous replication, no spool: every post answered 201 is
    stored once on the new primary and mailed; a post answered 503 during
    the switch and sent again with its key is stored once; the mailer and
    a signed-in console session carry on"""
    P = pgpair.Pair(sync=True)
    S = stack(P, console=True)
    c = Console(S, "sam", "pw-sam-long-enough")
    load, t, sessions = failover_under_load(P, S, "sync", console=c)
    f, lost, dups = judge(S, load, t, "sync", window=1.0)
    assert not lost, "lost under synchronous replication: %r" % lost
    assert f["accepted"] == f["stored"] == f["mailed"] == N_POSTS, f
    # One mailer, one message in flight at the stop: at most one copy
    # more than at least once asks.
    assert len(dups) <= 1, dups
    # The session made before the stop is on the new primary: it goes on.
    assert sessions["console"][0] == 200, sessions
    # frontdeskctl, on the same conninfo, reads from the new primary.
    ref = Load.answer(load.posts[0])[1]
    assert ref in S.ctl("request", "show", ref).stdout.decode()
    figures("sync", **f, console_status=sessions["console"][0],
            console_back_s=sessions["console"][1])



def spooled_refs(S):
    return re.findall(r"reference=(FD-[0-9A-Z]{8}) outcome=spooled",
                      S.log("frontdesk"))


def test_sync_failover_with_spool():
    """synchronous replication with a spool: during the switch posts are
    accepted from the spool, and replayed into the new primary once it is
    promoted: every post answered 201 is stored there once, and mailed"""
    P = pgpair.Pair(sync=True)
    S = stack(P, spool=True)
    spool = os.path.join(S.dir, "spool")
    wait_for(lambda: os.path.exists(os.path.join(spool, "locations.json")),
             10, "locations noted")
    load, t, _ = failover_under_load(P, S, "spool")
    wait_for(lambda: not os.listdir(os.path.join(spool, "new")), 60,
             "the spool replayed")
    replayed = time.monotonic() - t["promoted"]
    f, lost, dups = judge(S, load, t, "spool", window=1.0)
    assert not lost, "lost under synchronous replication: %r" % lost
    assert f["accepted"] == f["stored"] == f["mailed"] == N_POSTS, f
    assert len(dups) <= 1, dups
    figures("sync-spool", **f, spooled=len(spooled_refs(S)),
            spool_empty_after_promotion_s=replayed)


def test_async_failover():
    """asynchronous replication: no post is stored twice, every accepted
    post that is stored is mailed, and every loss was accepted in the last
    second before the stop; prints the count"""
    P = pgpair.Pair(sync=False)
    S = stack(P, console=True)
    c = Console(S, "sam", PASSWORD)
    load, t, sessions = failover_under_load(P, S, "async", console=c)
    f, lost, dups = judge(S, load, t, "async", window=1.0)
    assert sessions["console"][0] == 200, sessions
    figures("async", **f, console_status=sessions["console"][0],
            console_back_s=sessions["console"][1])


LAG = 0.5


def test_async_lagging_standby_failover():
    """asynchronous replication to a standby LAG seconds behind: what was
    accepted in those last moments is lost, and only that; nothing is
    stored twice; a session made before is kept, one made inside the lag
    is gone (that browser signs in again)"""
    P = pgpair.Pair(sync=False, lag=LAG)
    S = stack(P, console=True)
    S.ctl("user", "add", "lee", "--role", "staff", "--location", "midtown",
          "--password-stdin", input=PASSWORD + "\n")
    c = Console(S, "sam", PASSWORD)
    load, t, sessions = failover_under_load(
        P, S, "lag", console=c, late_console=lambda: Console(S, "lee",
                                                             PASSWORD))
    f, lost, dups = judge(S, load, t, "lag", window=LAG + 1.0)
    assert sessions["console"][0] == 200, sessions
    # Signed in (committed) less than LAG before the primary was gone:
    # the standby never had the session.
    if t["late_signed_in_before_kill"] < LAG * 0.8:
        assert sessions["late_console"][0] == 401, sessions
    figures("async-lag%.1fs" % LAG, **f, console_status=sessions["console"][0],
            late_session_status=sessions["late_console"][0],
            late_signed_in_before_kill_s=t["late_signed_in_before_kill"],
            link_dropped_bytes=P.link.dropped_bytes)


if __name__ == "__main__":
    fdtest.run(globals())
