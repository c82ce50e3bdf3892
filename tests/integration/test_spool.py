#!/usr/bin/python3
"""[spool] dir: posts accepted while PostgreSQL is down are written to disk
durably, answered as accepted, and replayed exactly once when it is back."""
import os
import re
import signal

import fdtest
from fdtest import maria, wait_for

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster, start=False)
SPOOL = os.path.join(S.dir, "spool")
S.conf["spool"] = {"dir": SPOOL}
S.rewrite_confs()
S.start_frontdesk()
S.start_nginx()


def spooled():
    d = os.path.join(SPOOL, "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def by_ref(ref):
    return S.count("appointment_requests", "reference = '%s'" % ref)


def wait_replayed():
    wait_for(lambda: not spooled(), 20, "spool replay")


def test_locations_noted_while_up():
    """the active locations are noted in the spool for bad days"""
    wait_for(lambda: os.path.exists(os.path.join(SPOOL, "locations.json")),
             10, "locations.json")


def test_down_accepted_then_replayed_once():
    """database down: 201 from the spool; back: stored once, mailed"""
    cluster.stop()
    try:
        r = S.post(maria(first_name="Spooled"))
        assert r.status == 201, r
        ref = r.json()["reference"]
        assert re.match(r"^FD-[0-9A-Z]{8}$", ref)
        r2 = S.post(maria(first_name="Spooled2"), json_mode=False)
        assert r2.status == 303 and "ref=FD-" in r2.headers["location"], r2
        assert len(spooled()) == 2, spooled()
        assert S.get("/api/healthz").status == 503
    finally:
        cluster.start()
    wait_replayed()
    assert by_ref(ref) == 1
    assert S.count("appointment_requests", "first_name LIKE 'Spooled%'") == 2
    assert S.count("outbox o JOIN appointment_requests r ON r.id = "
                   "o.request_id", "r.reference = '%s'" % ref) == 1
    # it keeps the time it was accepted, not the time it was replayed
    age = float(S.sql("SELECT extract(epoch FROM now() - created_at) FROM "
                      "appointment_requests WHERE reference = :'p1'",
                      (ref,))[0][0])
    assert age > 0.1, age


def test_validation_while_down():
    """while down: invalid posts 422, unknown locations 422, nothing kept"""
    cluster.stop()
    try:
        r = S.post(maria(email="bad", phone=None))
        assert r.status == 422 and set(r.json()["errors"]) == {"email"}, r
        r = S.post(maria(location="mars"))
        assert r.status == 422 and set(r.json()["errors"]) == {"location"}
        assert spooled() == []
    finally:
        cluster.start()


def test_keys_honoured_while_down():
    """while down: a repost with its key gets the same answer; other
    fields with that key get 409; one row after the replay"""
    cluster.stop()
    try:
        f = maria(submission_id="spool-key-1")
        r1 = S.post(f)
        r2 = S.post(f)
        assert r1.status == 201 and r2.json() == r1.json(), (r1, r2)
        r3 = S.post(maria(submission_id="spool-key-1", first_name="Other"))
        assert r3.status == 409, r3
        assert len(spooled()) == 1
    finally:
        cluster.start()
    wait_replayed()
    assert by_ref(r1.json()["reference"]) == 1
    r4 = S.post(f)  # and the database now knows the key
    assert r4.status == 201 and r4.json() == r1.json(), r4
    assert S.count("appointment_requests", "submission_id = 'spool-key-1'") \
        == 1


def test_reused_key_409_before_422_up_and_down():
    """a key already accepted, reused for other fields that are also
    invalid: 409, not 422, whether the database or the spool knows the key
    (the verdict is one function: the replay comes before validation)"""
    bad = dict(maria(first_name="Other"), email="not an address")
    del bad["phone"]
    r1 = S.post(maria(submission_id="verdict-up"))
    assert r1.status == 201, r1
    r2 = S.post(dict(bad, submission_id="verdict-up"))
    assert r2.status == 409, r2
    cluster.stop()
    try:
        r3 = S.post(maria(submission_id="verdict-down"))
        assert r3.status == 201, r3
        r4 = S.post(dict(bad, submission_id="verdict-down"))
        assert r4.status == 409, r4
        # and an invalid post with a fresh key is still 422
        r5 = S.post(dict(bad, submission_id="verdict-fresh"))
        assert r5.status == 422 and "email" in r5.json()["errors"], r5
    finally:
        cluster.start()
    wait_replayed()
    assert by_ref(r3.json()["reference"]) == 1


def test_replay_refused_for_now_is_kept():
    """a replay the database refuses for now (here: the web role may not
    insert) stays in the spool, nothing lost; meanwhile, the database up,
    a repost with its key gets the spool's first answer and other fields
    409; once it may, it is stored, once"""
    f = maria(submission_id="deferred-1", first_name="Deferred")
    cluster.stop()
    try:
        r1 = S.post(f)
        assert r1.status == 201, r1
        ref = r1.json()["reference"]
    finally:
        cluster.start()
    S.sql("REVOKE INSERT ON appointment_requests FROM frontdesk_web")
    try:
        wait_for(lambda: "spool_replay_deferred" in S.log("frontdesk"), 10,
                 "a deferred replay")
        assert len(spooled()) == 1 and by_ref(ref) == 0
        assert not os.listdir(os.path.join(SPOOL, "failed"))
        r2 = S.post(f)
        assert r2.status == 201 and r2.json() == r1.json(), r2
        r3 = S.post(maria(submission_id="deferred-1", first_name="Other"))
        assert r3.status == 409, r3
    finally:
        S.sql("GRANT INSERT ON appointment_requests TO frontdesk_web")
    wait_replayed()
    assert by_ref(ref) == 1
    assert S.count("appointment_requests", "submission_id = 'deferred-1'") \
        == 1


def test_key_trimmed_like_every_field():
    """a key with surrounding Unicode white space (NBSP) is the trimmed
    key: a repost is one request"""
    f = maria(submission_id="nbsp-key-1\u00a0", first_name="Nbsp")
    r1, r2 = S.post(f), S.post(dict(f, submission_id=" nbsp-key-1 "))
    assert r1.status == 201 and r2.json() == r1.json(), (r1, r2)
    assert S.count("appointment_requests", "first_name = 'Nbsp'") == 1
    assert S.count("appointment_requests",
                   "submission_id = 'nbsp-key-1'") == 1


def test_concurrent_same_key_while_down():
    """while down: 12 posts at once with one key, one spooled request, every
    answer the same"""
    import concurrent.futures
    f = maria(submission_id="spool-race-1", first_name="Race")
    cluster.stop()
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            answers = list(ex.map(lambda _: S.post(f), range(12)))
        assert all(a.status == 201 for a in answers), answers
        assert len({a.json()["reference"] for a in answers}) == 1, answers
        assert len(spooled()) == 1, spooled()
    finally:
        cluster.start()
    wait_replayed()
    assert S.count("appointment_requests", "first_name = 'Race'") == 1
    assert by_ref(answers[0].json()["reference"]) == 1


def test_repost_of_a_stored_post_not_doubled():
    """a key the database took before the outage, reposted during it:
    still one request"""
    f = maria(submission_id="before-outage-1")
    r1 = S.post(f)
    assert r1.status == 201
    cluster.stop()
    try:
        assert S.post(f).status == 201
    finally:
        cluster.start()
    wait_replayed()
    assert S.count("appointment_requests",
                   "submission_id = 'before-outage-1'") == 1


def test_disabled_since_still_stored():
    """a request for a location disabled before its replay is stored and
    queued all the same"""
    cluster.stop()
    try:
        r = S.post(maria(location="woodbury", first_name="Woody"))
        assert r.status == 201, r
        S.stop_frontdesk()  # no replay until the location is disabled
    finally:
        cluster.start()
    S.sql("UPDATE locations SET active = false WHERE slug = 'woodbury'")
    S.start_frontdesk()
    wait_replayed()
    ref = r.json()["reference"]
    assert by_ref(ref) == 1
    assert S.count("outbox o JOIN appointment_requests r ON r.id = "
                   "o.request_id", "r.reference = '%s'" % ref) == 1
    S.sql("UPDATE locations SET active = true WHERE slug = 'woodbury'")


def test_start_while_down_and_crash():
    """started while the database is down it still knows the locations;
    killed with SIGKILL after accepting, the next start replays"""
    S.stop_frontdesk()
    cluster.stop()
    try:
        S.start_frontdesk()
        r = S.post(maria(first_name="Crash"))
        assert r.status == 201, r
        S.stop_frontdesk(signal.SIGKILL)
    finally:
        cluster.start()
    assert len(spooled()) == 1
    S.start_frontdesk()
    wait_replayed()
    assert by_ref(r.json()["reference"]) == 1


def test_location_thank_you_page_while_down():
    """while down, an HTML post for a location with its own thank-you page
    is sent there, as it would be with the database up"""
    S.ctl("location", "add", "tyloc", "--name", "Thank You Lane",
          "--thank-you", "/thanks/tyloc/")
    path = os.path.join(SPOOL, "locations.json")
    wait_for(lambda: "/thanks/tyloc/" in open(path).read(), 15,
             "the location noted in the spool")
    f = maria(location="tyloc", first_name="Tylane")
    cluster.stop()
    try:
        r = S.post(f, json_mode=False)
        assert r.status == 303, r
        assert r.headers["location"].startswith("/thanks/tyloc/?ref=FD-"), \
            r.headers
    finally:
        cluster.start()
    wait_replayed()
    assert S.count("appointment_requests", "first_name = 'Tylane'") == 1
    S.ctl("location", "disable", "tyloc")


def test_never_read_locations_503():
    """started with the database down and a spool that never saw the
    locations: 503, not a 422 about the location"""
    fresh = os.path.join(S.dir, "fresh-spool")
    conf = S.conf_as("web", spool={"dir": fresh})
    S.stop_frontdesk()
    cluster.stop()
    try:
        S.start_frontdesk(S.write_conf("fresh.conf", conf))
        r = S.post(maria(first_name="Fresh"))
        assert r.status == 503 and "retry-after" in r.headers, r
        h = S.get("/api/healthz", headers={"Accept": "application/json"})
        assert h.status == 503 and set(h.json()) == {"error"}, h
    finally:
        cluster.start()
        S.stop_frontdesk()
        S.start_frontdesk()


def test_two_processes_share_a_spool():
    """two frontdesk processes on one spool: 20 posts, 20 rows, no double"""
    p, sock2 = S.second_frontdesk()
    before = S.count("appointment_requests")
    cluster.stop()
    refs = []
    try:
        for i in range(20):
            refs.append(S.post(maria(first_name="Pair%d" % i)).json()
                        ["reference"])
        assert len(spooled()) == 20
    finally:
        cluster.start()
    wait_replayed()
    assert S.count("appointment_requests") == before + 20
    assert len(set(refs)) == 20
    assert fdtest.stop(p) == 0


def test_unresponsive_database_host():
    """a database host that takes the connection and never answers: posts
    are spooled without each waiting out a connect timeout"""
    import socket
    import time
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # never accepted: connect works, nothing answers
    conf = S.conf_as("web")
    conf["database"]["conninfo"] = ("host=127.0.0.1 port=%d dbname=%s "
                                    "user=fdt_web" % (hole.getsockname()[1],
                                                      S.db))
    S.stop_frontdesk()
    S.start_frontdesk(S.write_conf("hole.conf", conf))
    try:
        t0 = time.monotonic()
        codes = [S.post(maria(first_name="Hole%d" % i)).status
                 for i in range(8)]
        took = time.monotonic() - t0
        assert codes == [201] * 8, codes
        # connect_timeout is 3 s: one or two attempts, not eight
        assert took < 8, took
    finally:
        S.stop_frontdesk()
        hole.close()
        S.start_frontdesk()
    wait_replayed()
    assert S.count("appointment_requests", "first_name LIKE 'Hole%'") == 8


def test_no_patient_data_in_spool_logs():
    """the log says spooled and replayed, by reference only"""
    log = S.log("frontdesk")
    assert "event=spooled" in log and "event=spool_replayed" in log
    for secret in ("Spooled", "Gonzalez", "Sciatica", "maria.gonzalez"):
        assert secret not in log, secret


fdtest.run(globals())
