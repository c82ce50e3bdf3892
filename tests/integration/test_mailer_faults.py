#!/usr/bin/python3
"""frontdesk-mailer under faults: the SMTP server down, 451 then 250, 550,
give_up_after, the mailer SIGKILLed mid-batch, two mailers on one queue,
the database restarting. Delivery is at least once, and never twice but
for a message in flight when a mailer died."""
import datetime
import os
import signal
import subprocess
import time

import fdtest
import mailtest as mt
from fdtest import maria, wait_for

cluster = fdtest.Cluster()


def stack(*smtp_opts, smtp=True, **kw):
    kw.setdefault("start", False)
    S = fdtest.Stack(cluster, **kw)
    if smtp:
        mt.start_smtpd(S, *smtp_opts)
    return S


def tried(S):
    """How many messages have at least one recorded attempt."""
    return int(S.sql("SELECT count(DISTINCT outbox_id) FROM "
                     "outbox_attempts")[0][0])


def attempt_gap(S, ref):
    """Seconds between a message's first two attempts."""
    rows = S.sql("SELECT extract(epoch FROM a.attempted_at) FROM"
                 " outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
                 " JOIN appointment_requests r ON r.id = o.request_id"
                 " WHERE r.reference = :'p1' ORDER BY a.id", (ref,))
    return float(rows[1][0]) - float(rows[0][0])


def once_each(S, refs):
    """Every reference delivered exactly once."""
    got = mt.by_reference(S)
    missing = [r for r in refs if r not in got]
    twice = [r for r, ms in got.items() if len(ms) > 1]
    assert not missing, "missing %d: %r" % (len(missing), missing[:5])
    assert not twice, "twice: %r" % twice
    assert len(got) == len(refs), (len(got), len(refs))


def test_smtp_down_then_up():
    """SMTP down while requests arrive through nginx, then up: all arrive"""
    S = stack(smtp=False, start=True)
    S.start_mailer()
    refs = []
    for i in range(20):
        r = S.post(maria(first_name="Patient%d" % i,
                         location=("midtown", "fidi", "woodbury")[i % 3]))
        assert r.status == 201, r
        refs.append(r.json()["reference"])
    wait_for(lambda: tried(S) == 20, 20, what="a first attempt at each")
    assert mt.outbox_status(S).get("sent", 0) == 0
    outcome, code, reply = mt.attempts(S, refs[0])[0]
    assert (outcome, code) == ("retry", None), (outcome, code, reply)
    assert "connect" in reply.lower(), reply
    mt.start_smtpd(S)
    mt.wait_status(S, "sent", 20, timeout=30)
    once_each(S, refs)
    assert fdtest.stop(S.mailers[0]) == 0


def test_smtp_restart_between_messages():
    """the SMTP server restarts between two messages: the kept connection
    is found dead and replaced, no retry needed"""
    S = stack()
    p = S.start_mailer()
    first, = mt.insert_requests(S, 1)
    mt.wait_status(S, "sent", 1, timeout=10)
    mt.stop_smtpd(S)
    mt.start_smtpd(S)
    second, = mt.insert_requests(S, 1)
    mt.wait_status(S, "sent", 2, timeout=10)
    assert [a[0] for a in mt.attempts(S, second)] == ["sent"], \
        mt.attempts(S, second)
    once_each(S, [first, second])
    assert fdtest.stop(p) == 0


def test_451_on_rcpt_then_250():
    """451 to RCPT, then 250: delivered on the retry, both attempts kept"""
    S = stack("--tempfail", "1")
    ref, = mt.insert_requests(S, 1)
    S.start_mailer()
    mt.wait_status(S, "sent", 1, timeout=20)
    a = mt.attempts(S, ref)
    assert a == [("retry", "451", "RCPT <midtown.desk@clinic.example> "
                  "451 4.3.0 Try again later"),
                 ("sent", "250", "250 2.0.0 OK queued")], a
    assert attempt_gap(S, ref) >= 0.9, attempt_gap(S, ref)  # retry_min 1
    assert mt.outbox_row(S, ref)[:3] == ("sent", "2", None)
    once_each(S, [ref])


def test_451_after_data_then_250():
    """451 after the data (greylisting), then 250: delivered on retry"""
    S = stack("--tempfail-data", "2")
    ref, = mt.insert_requests(S, 1)
    S.start_mailer()
    mt.wait_status(S, "sent", 1, timeout=20)
    a = mt.attempts(S, ref)
    assert [x[:2] for x in a] == [("retry", "451"), ("retry", "451"),
                                  ("sent", "250")], a
    assert "Greylisted" in a[0][2], a
    once_each(S, [ref])


def test_550_dead_with_reply():
    """550 to RCPT: dead at once, the reply recorded; others go on"""
    S = stack("--reject", "fidi.desk@clinic.example")
    bad, = mt.insert_requests(S, 1, slug="fidi")
    good, = mt.insert_requests(S, 1, slug="midtown")
    rc, log = mt.run_once(S)
    assert rc == 0, log
    reply = "550 5.1.1 <fidi.desk@clinic.example>: mailbox unavailable"
    assert mt.attempts(S, bad) == [("dead", "550", reply)], \
        mt.attempts(S, bad)
    assert mt.outbox_row(S, bad)[:3] == ("dead", "1", reply)
    assert mt.outbox_row(S, good)[0] == "sent"
    # a dead message is not tried again
    mt.run_once(S)
    assert len(mt.attempts(S, bad)) == 1
    once_each(S, [good])


def test_one_route_refused_others_served():
    """one route refused with 550 (a stale Cc): the other recipients still
    get the message, sent; the refusal recorded and logged"""
    S = stack("--reject", "gone@clinic.example")
    S.ctl("route", "add", "midtown", "gone@clinic.example", "--cc")
    S.ctl("route", "add", "midtown", "records@clinic.example", "--bcc")
    ref, = mt.insert_requests(S, 1, slug="midtown")
    rc, log = mt.run_once(S)
    assert rc == 0, log
    raw, = mt.raw_messages(S)
    m = mt.parse(raw)
    assert sorted(str(m["X-RcptTo"]).split(", ")) == [
        "midtown.desk@clinic.example", "records@clinic.example"], \
        m["X-RcptTo"]
    (outcome, code, reply), = mt.attempts(S, ref)
    assert (outcome, code) == ("sent", "250"), (outcome, code, reply)
    assert "refused: <gone@clinic.example> 550" in reply, reply
    assert "event=rcpt_refused" in log and "refused=1" in log, log
    assert "Shooting pain" not in log


def test_every_route_refused_dead():
    """every recipient refused with 550: dead, nothing sent"""
    S = stack("--reject", "midtown.desk@clinic.example",
              "--reject", "gone@clinic.example")
    S.ctl("route", "add", "midtown", "gone@clinic.example", "--cc")
    ref, = mt.insert_requests(S, 1, slug="midtown")
    assert mt.run_once(S)[0] == 0
    (outcome, code, reply), = mt.attempts(S, ref)
    assert (outcome, code) == ("dead", "550"), (outcome, code, reply)
    assert mt.raw_messages(S) == []


def test_one_route_451_whole_message_waits():
    """a 451 to one of two recipients: nobody gets it yet, the next message
    goes out on a new connection, and the retry delivers it once, to both"""
    S = stack("--tempfail", "1")
    S.ctl("route", "add", "midtown", "manager@clinic.example", "--cc")
    ref, = mt.insert_requests(S, 1, slug="midtown")
    other, = mt.insert_requests(S, 1, slug="fidi")
    assert mt.run_once(S)[0] == 0
    (outcome, code, reply), = mt.attempts(S, ref)
    assert (outcome, code) == ("retry", "451"), (outcome, code, reply)
    assert reply.startswith("RCPT <midtown.desk@clinic.example> 451"), reply
    assert mt.outbox_row(S, other)[0] == "sent"
    assert list(mt.by_reference(S)) == [other]
    S.sql("UPDATE outbox SET next_attempt_at = now()")
    assert mt.run_once(S)[0] == 0
    assert mt.outbox_row(S, ref)[0] == "sent"
    m, = mt.by_reference(S)[ref]
    assert sorted(str(m["X-RcptTo"]).split(", ")) == [
        "manager@clinic.example", "midtown.desk@clinic.example"]


def test_554_after_data_dead():
    """554 after the data: dead with the reply"""
    S = stack("--reject-data")
    ref, = mt.insert_requests(S, 1)
    assert mt.run_once(S)[0] == 0
    assert mt.attempts(S, ref) == [
        ("dead", "554", "554 5.6.0 Message rejected as malformed")]
    assert mt.raw_messages(S) == []


def test_failed_transaction_then_a_new_connection():
    """after a refused message the next one starts on a new connection, so
    a server still stuck in the old transaction cannot refuse it ("503
    nested MAIL command" from aiosmtpd after a failed DATA)"""
    S = stack(smtp=False)
    os.makedirs(S.maildir)  # no tmp/, new/: aiosmtpd's Mailbox fails DATA
    S.start_smtp()
    refs = mt.insert_requests(S, 3)
    S.start_mailer()
    mt.wait_status(S, "dead", 3, timeout=20)
    for ref in refs:
        (outcome, code, reply), = mt.attempts(S, ref)
        assert code == "500" and "FileNotFoundError" in reply, (code, reply)


def test_give_up_after():
    """a message older than give_up_after that fails again: dead"""
    S = stack(smtp=False)
    conf = mt.mailer_conf(S, "giveup.conf", mail={"give_up_after": "3600"})
    old = (datetime.datetime.now(datetime.timezone.utc) -
           datetime.timedelta(hours=2)).isoformat()
    stale, = mt.insert_requests(S, 1, created=old)
    fresh, = mt.insert_requests(S, 1)
    assert mt.run_once(S, conf)[0] == 0
    (o1, c1, r1), = mt.attempts(S, stale)
    assert (o1, c1) == ("dead", None) and "connect" in r1.lower(), r1
    assert mt.outbox_row(S, stale)[0] == "dead"
    assert [a[0] for a in mt.attempts(S, fresh)] == ["retry"]
    assert mt.outbox_row(S, fresh)[0] == "pending"


def test_no_recipients_waits_for_a_route():
    """no routes and no default_to: retried, sent once a route exists"""
    S = stack()
    conf = mt.mailer_conf(S, "noroute.conf", mail={"default_to": ""})
    S.ctl("route", "remove", "fidi", "fidi.desk@clinic.example")
    ref, = mt.insert_requests(S, 1, slug="fidi")
    p = S.start_mailer(conf=conf)
    wait_for(lambda: len(mt.attempts(S, ref)) >= 1, 10, what="an attempt")
    outcome, code, reply = mt.attempts(S, ref)[0]
    assert (outcome, code) == ("retry", None) and "no recipients" in reply
    S.ctl("route", "add", "fidi", "late.desk@clinic.example")
    mt.wait_status(S, "sent", 1, timeout=15)
    assert str(mt.messages(S)[0]["X-RcptTo"]) == "late.desk@clinic.example"
    assert fdtest.stop(p) == 0


def test_lease_expired_reclaimed_live_lease_respected():
    """a row claimed by a mailer that died (lease run out) is sent; a row
    under a live lease is left to its mailer"""
    S = stack()
    orphan, busy = mt.insert_requests(S, 2)
    S.sql("UPDATE outbox o SET status = 'sending', claimed_by = 'gone:1',"
          " lease_until = now() - interval '1 second' FROM"
          " appointment_requests r WHERE r.id = o.request_id AND"
          " r.reference = :'p1'", (orphan,))
    S.sql("UPDATE outbox o SET status = 'sending', claimed_by = 'busy:2',"
          " lease_until = now() + interval '1 hour' FROM"
          " appointment_requests r WHERE r.id = o.request_id AND"
          " r.reference = :'p1'", (busy,))
    assert mt.run_once(S)[0] == 0
    assert mt.outbox_row(S, orphan)[0] == "sent"
    assert mt.outbox_row(S, busy)[0] == "sending"
    assert mt.attempts(S, busy) == []
    once_each(S, [orphan])


def test_sigkill_mid_batch_of_200():
    """SIGKILL in the middle of 200, restart: all 200 arrive, duplicates no
    more than the messages in flight at the kill"""
    S = stack("--delay", "0.01")
    # timeout 2: the lease is 6 + 1 s (outbox_lease), so the orphan comes
    # back soon
    conf = mt.mailer_conf(S, "kill.conf", smtp={"timeout": "2"})
    refs = mt.insert_requests(S, 200)
    p = S.start_mailer(conf=conf)
    wait_for(lambda: mt.smtp_stats(S)["messages"] >= 60, 30,
             what="60 messages delivered")
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    status = mt.outbox_status(S)
    in_flight = status.get("sending", 0)
    # the server had 60 when the kill came; the 60th may still have been
    # 'sending' (stored by the server, not yet recorded): at most 140 left
    assert 0 < status.get("pending", 0) <= 140, status
    assert in_flight <= 1, status
    t0 = time.monotonic()
    p = S.start_mailer(conf=conf)
    mt.wait_status(S, "sent", 200, timeout=60)
    print("# at the kill: %r; all sent %.1fs after the restart"
          % (status, mt.elapsed(t0)))
    got = mt.by_reference(S)
    assert sorted(got) == sorted(refs), len(got)
    total = sum(len(v) for v in got.values())
    assert total - 200 <= in_flight, (total, in_flight)
    # a duplicate is the same message: the same Message-ID
    for ms in got.values():
        assert len({str(m["Message-ID"]) for m in ms}) == 1
    assert fdtest.stop(p) == 0


def test_two_mailers_500_messages():
    """two mailers at once on 500 messages: each delivered exactly once"""
    S = stack("--delay", "0.002")
    refs = mt.insert_requests(S, 500)
    a, b = S.start_mailer(), S.start_mailer()
    t0 = time.monotonic()
    mt.wait_status(S, "sent", 500, timeout=120)
    took = mt.elapsed(t0)
    once_each(S, refs)
    assert S.count("outbox_attempts") == 500
    shares = S.sql("SELECT claimed_by, count(*) FROM outbox "
                   "GROUP BY claimed_by ORDER BY 1")
    assert len(shares) == 2, shares
    print("# 500 messages in %.1fs, shares %r" % (took, shares))
    assert fdtest.stop(a) == 0 and fdtest.stop(b) == 0


def test_database_restart():
    """the database restarts under a running mailer: it carries on"""
    S = stack()
    p = S.start_mailer()
    first, = mt.insert_requests(S, 1)
    mt.wait_status(S, "sent", 1, timeout=10)
    cluster.stop()
    time.sleep(1.5)
    cluster.start()
    second, = mt.insert_requests(S, 1)
    mt.wait_status(S, "sent", 2, timeout=20)
    once_each(S, [first, second])
    # The same claimer after reconnecting, or a message in flight across
    # a reconnect could not be recorded (claimed_by = the claimer).
    claimers = S.sql("SELECT DISTINCT claimed_by FROM outbox")
    assert len(claimers) == 1, claimers
    assert p.poll() is None
    assert fdtest.stop(p) == 0


def test_sigterm_then_database_blip():
    """SIGTERM while a message is in flight, and the database away when
    its outcome is recorded: the mailer still waits between its tries, so
    a blip of a second does not lose the record"""
    S = stack("--delay", "2")
    ref, = mt.insert_requests(S, 1)
    p = S.start_mailer()
    # in the SMTP transaction (MAIL FROM seen), its routes read: only the
    # record is left to need the database
    wait_for(lambda: mt.smtp_stats(S)["connections"] >= 1, 10,
             what="the message in flight at the SMTP server")
    p.send_signal(signal.SIGTERM)
    cluster.stop()
    try:
        wait_for(lambda: "db_query_failed" in S.log("mailer"), 10,
                 what="the first record try failing")
    finally:
        cluster.start()
    assert p.wait(15) == 0
    log = S.log("mailer")
    assert "record_failed" not in log, log
    assert mt.outbox_row(S, ref)[0] == "sent", log
    assert len(mt.raw_messages(S)) == 1


# [smtp] timeout for the tests of a relay that goes silent: every wait is
# bounded by it, so these stay short.
HANG_TIMEOUT = 3


def hang_conf(S):
    return mt.mailer_conf(S, "hang.conf",
                          smtp={"timeout": str(HANG_TIMEOUT)})


def started_mailers(S, conf, n):
    ps = [S.start_mailer(conf=conf) for _ in range(n)]
    wait_for(lambda: S.log("mailer").count("event=mailer_started") >= n, 10,
             what="%d mailers started" % n)
    return ps


def term_within(procs, limit):
    """SIGTERM to each process at once; [(exit status, seconds)], the
    seconds None for one still running at the limit (then killed)."""
    t0 = time.monotonic()
    for p in procs:
        p.send_signal(signal.SIGTERM)
    out = []
    for p in procs:
        try:
            p.wait(max(0.1, t0 + limit - time.monotonic()))
            out.append((p.returncode, round(mt.elapsed(t0), 2)))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            out.append((p.returncode, None))
    return out


def lease_of(S):
    return int(fdtest.logfmt([l for l in S.log("mailer").splitlines()
                              if "event=mailer_started" in l][0])["lease"])


def test_relay_silent_after_250_delivered_once():
    """a relay that goes silent after the data's 250 (another MAIL and the
    QUIT never answered), two mailers at once: delivered once, recorded at
    once, not sent again when the lease has passed; the next message on
    the silent connection: a retry recorded within timeout + 5 s, then
    sent on a new one; SIGTERM: each exits 0 within timeout + 5 s"""
    S = stack("--hang-after-250")
    mailers = started_mailers(S, hang_conf(S), 2)
    ref, = mt.insert_requests(S, 1)
    t0 = time.monotonic()
    mt.wait_status(S, "sent", 1, timeout=HANG_TIMEOUT + 5)
    first = mt.elapsed(t0)
    time.sleep(max(0.0, lease_of(S) + 1 - mt.elapsed(t0)))
    once_each(S, [ref])
    assert mt.attempts(S, ref) == [("sent", "250", "250 2.0.0 OK queued")]
    # the other mailer goes; the one that sent keeps the silent connection
    pid = int(S.sql("SELECT split_part(claimed_by, ':', 2) FROM outbox")[0][0])
    sender, = [p for p in mailers if p.pid == pid]
    other, = [p for p in mailers if p.pid != pid]
    stops = term_within([other], HANG_TIMEOUT + 5)
    nxt, = mt.insert_requests(S, 1)
    t1 = time.monotonic()
    wait_for(lambda: mt.attempts(S, nxt), HANG_TIMEOUT + 5,
             what="the next message's attempt on the silent connection")
    retried = mt.elapsed(t1)
    mt.wait_status(S, "sent", 2, timeout=HANG_TIMEOUT + 5)
    (o1, c1, r1), (o2, c2, _) = mt.attempts(S, nxt)
    assert (o1, c1, o2, c2) == ("retry", None, "sent", "250"), \
        mt.attempts(S, nxt)
    assert "timeout" in r1.lower(), r1
    stops += term_within([sender], HANG_TIMEOUT + 5)
    print("# sent after %.2fs; the next: retry after %.2fs; SIGTERM "
          "(other, sender): %r" % (first, retried, stops))
    assert all(rc == 0 and t is not None for rc, t in stops), stops
    log = S.log("mailer")
    assert "lease_lost" not in log, log
    once_each(S, [ref, nxt])


def test_quit_unanswered_after_a_refusal():
    """a 451 to RCPT, then the QUIT that follows never answered, two
    mailers at once: the attempt is recorded within timeout + 5 s (well
    inside its lease), the retry delivers it once; SIGTERM: both exit 0
    within timeout + 5 s"""
    S = stack("--hang-quit", "--tempfail", "1")
    a, b = started_mailers(S, hang_conf(S), 2)
    ref, = mt.insert_requests(S, 1)
    t0 = time.monotonic()
    wait_for(lambda: mt.attempts(S, ref), HANG_TIMEOUT + 5,
             what="the first attempt recorded")
    first = mt.elapsed(t0)
    mt.wait_status(S, "sent", 1, timeout=HANG_TIMEOUT + 5)
    sent = mt.elapsed(t0)
    assert [x[:2] for x in mt.attempts(S, ref)] == [("retry", "451"),
                                                    ("sent", "250")], \
        mt.attempts(S, ref)
    once_each(S, [ref])
    log = S.log("mailer")
    assert "lease_lost" not in log, log
    assert first < lease_of(S), (first, lease_of(S))
    stops = term_within([a, b], HANG_TIMEOUT + 5)
    print("# first attempt recorded after %.2fs, sent after %.2fs; "
          "SIGTERM: %r" % (first, sent, stops))
    assert all(rc == 0 and t is not None for rc, t in stops), stops


def test_sigterm_while_relay_hangs_after_data():
    """SIGTERM while the relay sits on the final dot: the attempt ends at
    [smtp] timeout, is recorded as a retry, and the mailer exits 0 within
    timeout + 5 s (no QUIT waited for on that connection)"""
    S = stack("--hang-data", "1")
    p, = started_mailers(S, hang_conf(S), 1)
    ref, = mt.insert_requests(S, 1)
    wait_for(lambda: mt.smtp_stats(S).get("hangs", 0) >= 1, 10,
             what="the relay silent after the data")
    (rc, took), = term_within([p], HANG_TIMEOUT + 5)
    print("# exit %r %.2fs after SIGTERM" % (rc, took or -1))
    assert rc == 0 and took is not None, (rc, took, S.log("mailer"))
    (outcome, code, reply), = mt.attempts(S, ref)
    assert (outcome, code) == ("retry", None), (outcome, code, reply)
    assert "timeout" in reply.lower(), reply
    assert mt.outbox_row(S, ref)[0] == "pending"
    assert mt.raw_messages(S) == []


fdtest.run(globals())
