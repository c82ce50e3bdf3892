#!/usr/bin/python3
"""[spool] dir: posts accepted while PostgreSQL is down are written to disk
durably, answered as accepted, and replayed exactly once when it is back."""
import contextlib
import datetime
import json
import os
import random
import re
import signal
import time
import uuid

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


# -- crafted entries, written into the real spool as spool_write writes
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ref():
    return "FD-" + "".join(random.choice(CROCKFORD) for _ in range(8))


def iso(t):
    """A time as spool_accept writes created_at."""
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(**over):
    """The entry frontdesk spools for maria(), members changed by over."""
    e = {"version": 1, "reference": new_ref(),
         "created_at": iso(time.time() - 5), "status": "received",
         "consent": True, "key": None, "fingerprint": None,
         "msgid_domain": "clinic.example"}
    e.update({k: v for k, v in maria().items() if k != "consent"})
    e.update(over)
    return e


def entry_name(e):
    return "%s-%s.json" % (e["created_at"][:26], e["reference"])


def craft(e=None, name=None, raw=None):
    """Writes an entry (or raw text) into new/ through tmp/, as
    spool_write does; returns its name."""
    data = raw if raw is not None else json.dumps(e, ensure_ascii=False)
    name = name or entry_name(e)
    tmp = os.path.join(SPOOL, "tmp", "crafted." + uuid.uuid4().hex)
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.rename(tmp, os.path.join(SPOOL, "new", name))
    return name


def failed():
    return sorted(os.listdir(os.path.join(SPOOL, "failed")))


@contextlib.contextmanager
def outage():
    cluster.stop()
    try:
        yield
    finally:
        cluster.start()


_LOGFMT = re.compile(r' *([A-Za-z_][A-Za-z0-9_]*)='
                     r'("(?:[^"\\]|\\.)*"|[^ "]*)')


def logfmt(line):
    """A log line's key=value pairs, values unquoted; an error when the
    line is not logfmt at all."""
    pairs, i = [], 0
    while i < len(line):
        m = _LOGFMT.match(line, i)
        if not m:
            raise AssertionError("not logfmt at %d: %r" % (i, line))
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        pairs.append((m.group(1), v))
        i = m.end()
    return pairs


def log_about(name):
    """frontdesk's log lines that name a spool file."""
    return [dict(logfmt(line)) for line in S.log("frontdesk").splitlines()
            if "spool_replay" in line and dict(logfmt(line)).get("file")
            == name]


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


def test_repost_as_it_would_be_stored_while_down():
    """while down, as while up: a repost that differs only in its line
    breaks (CRLF, then LF) or in its consent's word (yes, then on) is the
    same post, one spooled request; other fields still 409 (issue 12)"""
    f = maria(submission_id="as-stored-down", message="one\r\ntwo",
              consent="yes")
    with outage():
        r1 = S.post(f)
        assert r1.status == 201, r1
        for again in (dict(f, message="one\ntwo"), dict(f, consent="on"),
                      dict(f, message="one\ntwo", consent="on",
                           service=" " + f["service"])):
            r = S.post(again)
            assert r.status == 201 and r.json() == r1.json(), (again, r)
        no_consent = {k: v for k, v in f.items() if k != "consent"}
        assert S.post(no_consent).status == 409
        assert len(spooled()) == 1, spooled()
    wait_replayed()
    assert S.count("appointment_requests",
                   "submission_id = 'as-stored-down'") == 1
    r = S.post(dict(f, message="one\ntwo", consent="on"))
    assert r.status == 201 and r.json() == r1.json(), r


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


def outbox_of(ref):
    return S.count("outbox o JOIN appointment_requests r ON r.id = "
                   "o.request_id", "r.reference = '%s'" % ref)


def test_outage_reference_of_a_stored_post_leads_to_it():
    """a post stored before the outage, reposted during it (its line
    breaks now LF): the spool cannot know it and answers with a new
    reference; once replayed, that reference leads to the stored request
    (request show, in text and JSON, and resend), and no second request or
    email is made (issue 12: the reference never came to exist)"""
    f = maria(submission_id="alias-1", first_name="Alia",
              message="one\r\ntwo")
    r1 = S.post(f)
    assert r1.status == 201, r1
    ref = r1.json()["reference"]
    mails = S.count("outbox")
    with outage():
        r2 = S.post(dict(f, message="one\ntwo"))
        assert r2.status == 201, r2
    alias = r2.json()["reference"]
    assert alias != ref
    wait_replayed()
    assert S.count("appointment_requests", "first_name = 'Alia'") == 1
    assert by_ref(alias) == 0 and S.count("outbox") == mails
    shown = json.loads(S.ctl("request", "show", alias, "--json").stdout)
    assert shown["reference"] == ref and shown["first_name"] == "Alia", shown
    text = S.ctl("request", "show", alias.lower()).stdout.decode()
    assert re.search(r"^reference +%s$" % ref, text, re.M), text
    out = S.ctl("request", "resend", alias).stdout.decode()
    assert out.startswith(ref + ": queued as outbox"), out
    assert outbox_of(ref) == 2
    assert S.sql("SELECT object FROM audit_log WHERE action = 'resend' "
                 "ORDER BY id DESC LIMIT 1") == [(ref,)]
    line = [dict(logfmt(x)) for x in S.log("frontdesk").splitlines()
            if "reference=" + alias in x and "spool_replayed" in x]
    assert len(line) == 1 and line[0]["key"] == "same" and \
        line[0]["alias_of"] == ref, line
    r3 = S.post(f)   # the key's first answer, as before the outage
    assert r3.status == 201 and r3.json() == r1.json(), r3


def test_key_taken_for_other_fields_before_the_outage():
    """a key stored before the outage for one post, used during it for
    other fields: the spool cannot know and accepts it; once replayed,
    that request is found by its reference and mailed, stored without the
    key, which stays the first post's: one key, one request; after, a
    repost of the first gets its answer and one of the second 409 (issue
    12: the key ended with two requests)"""
    first = maria(submission_id="taken-1", first_name="Prima")
    r1 = S.post(first)
    assert r1.status == 201, r1
    with outage():
        r2 = S.post(dict(first, first_name="Secunda"))
        assert r2.status == 201, r2
    ref2 = r2.json()["reference"]
    wait_replayed()
    assert S.count("appointment_requests", "submission_id = 'taken-1'") == 1
    assert by_ref(ref2) == 1 and outbox_of(ref2) == 1
    assert S.sql("SELECT first_name, submission_id FROM appointment_requests "
                 "WHERE reference = :'p1'", (ref2,)) == [("Secunda", None)]
    shown = json.loads(S.ctl("request", "show", ref2, "--json").stdout)
    assert shown["reference"] == ref2 and shown["delivery"] == "pending"
    line = [dict(logfmt(x)) for x in S.log("frontdesk").splitlines()
            if "reference=" + ref2 in x and "spool_replayed" in x]
    assert len(line) == 1 and line[0]["key"] == "other" and \
        line[0]["key_reference"] == r1.json()["reference"], line
    assert S.post(first).json() == r1.json()
    assert S.post(dict(first, first_name="Secunda")).status == 409


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


def spool_bytes():
    """Every file's bytes in the spool, as max_size counts them."""
    total = 0
    for root, _, files in os.walk(SPOOL):
        for f in files:
            path = os.path.join(root, f)
            if path != os.path.join(SPOOL, "usage") and \
                    not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def direct(sock, fields):
    """A post straight to a frontdesk's socket: (status, headers)."""
    body = fdtest.form_body(fields)
    c = fdtest.FcgiClient(sock)
    c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/api/appointments",
             "CONTENT_TYPE": "application/x-www-form-urlencoded",
             "CONTENT_LENGTH": str(len(body)),
             "HTTP_ACCEPT": "application/json", "REMOTE_ADDR": "127.0.0.1"})
    c.stdin(body)
    c.stdin(b"")
    head = c.response().split(b"\r\n\r\n", 1)[0].decode()
    headers = dict(line.split(": ", 1) for line in head.split("\r\n"))
    return int(headers["Status"][:3]), headers


def test_max_size_counts_the_whole_spool():
    """[spool] max_size (its least, 1 MiB) counts every file in the spool,
    across the processes sharing it: posts of about 112 KB, by turns to
    two processes, until the next would take the spool past it: 503 with
    Retry-After, and the spool's files never pass 1 MiB; a small post
    that fits is still taken; back up, every accepted one is stored
    (issue 12: nothing bounded the spool)"""
    small = {"max_size": "1048576"}
    S.conf["spool"].update(small)
    S.conf["fastcgi"]["max_body"] = "262144"
    S.stop_frontdesk()
    S.start_frontdesk(S.write_conf("small.conf", S.conf_as("web")))
    p, sock2 = S.second_frontdesk("small2")
    socks = [S.socket, sock2]
    big = maria(first_name="Bulky", message="m" * 5000,
                phone="1" + " " * 107000 + "234567")
    answers = []
    before = spool_bytes()
    assert before < 100000, before
    try:
        with outage():
            for i in range(14):
                answers.append(direct(socks[i % 2], big))
                assert spool_bytes() <= 1048576, (i, spool_bytes())
            size = os.path.getsize(os.path.join(SPOOL, "new", spooled()[0]))
            tiny = direct(socks[0], maria(first_name="Tiny"))
        codes = [a[0] for a in answers]
        taken = codes.count(201)
        # as many as fit, by both processes together, and then none
        assert taken == (1048576 - before) // size, (codes, before, size)
        assert codes == [201] * taken + [503] * (14 - taken), codes
        assert all(a[1]["Retry-After"] == "30" for a in answers[taken:])
        if 1048576 - before - taken * size > 1000:
            assert tiny[0] == 201, tiny
        assert "event=spool_full" in S.log("frontdesk") + S.log("small2")
        wait_replayed()
        assert S.count("appointment_requests", "first_name = 'Bulky'") == \
            taken
        assert S.count("appointment_requests", "first_name = 'Tiny'") == \
            (1 if tiny[0] == 201 else 0)
        # the room comes back with the replay
        assert spool_bytes() < 10000, spool_bytes()
        with open(os.path.join(SPOOL, "usage")) as f:
            assert int(f.read()) == spool_bytes()
    finally:
        del S.conf["spool"]["max_size"]
        del S.conf["fastcgi"]["max_body"]
        assert fdtest.stop(p) == 0
        S.stop_frontdesk()
        S.start_frontdesk()


def test_claims_hold_no_fields():
    """a key's claim in keys/ holds the reference and a keyed fingerprint,
    nothing of the patient's fields (issue 12: they were there, hex-
    encoded), and the spooled entry no fingerprint at all"""
    f = maria(submission_id="claim-1", first_name="Clara")
    with outage():
        r = S.post(f)
        assert r.status == 201, r
        with open(os.path.join(SPOOL, "keys", "claim-1"), "rb") as k:
            claim = k.read()
        with open(os.path.join(SPOOL, "new", spooled()[0])) as e:
            entry = json.load(e)
    lines = claim.decode().split("\n")
    assert lines[0] == r.json()["reference"] and lines[2] == "", claim
    assert re.match(r"^[0-9a-f]{64}$", lines[1]), claim
    for secret in ("Clara", "Gonzalez", "maria.gonzalez", "Sciatica"):
        assert secret.encode().hex() not in claim.decode(), secret
        assert secret.encode() not in claim, secret
    assert "fingerprint" not in entry, entry
    key = os.path.join(SPOOL, "fingerprint.key")
    assert os.path.getsize(key) == 32 and \
        os.stat(key).st_mode & 0o777 == 0o600
    wait_replayed()
    assert by_ref(r.json()["reference"]) == 1


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


def test_crafted_entry_replayed():
    """the tests' crafted entries are what frontdesk spools: one written
    into new/ while the database is down is stored once it is back"""
    e = entry(first_name="Crafted")
    with outage():
        craft(e)
    wait_replayed()
    assert by_ref(e["reference"]) == 1
    assert not failed()


def test_entry_key_is_no_path():
    """an entry whose key is a path ("../../victim") for a location that
    does not exist deletes nothing outside the spool: it goes to failed/
    (the replayer unlinked <spool>/keys/../../victim)"""
    victim = os.path.join(S.dir, "victim")
    with open(victim, "w") as f:
        f.write("keep me\n")
    e = entry(key="../../victim", fingerprint="00", location="nowhere")
    with outage():
        name = craft(e)
    wait_replayed()
    assert os.path.exists(victim), "a file outside the spool was deleted"
    assert name in failed(), failed()
    assert by_ref(e["reference"]) == 0


def test_symlink_not_followed():
    """a symlink in new/ to an entry outside the spool is never opened: not
    stored, the link itself moved to failed/, its target left alone"""
    e = entry(first_name="Linked")
    outside = os.path.join(S.dir, "outside-entry.json")
    with open(outside, "w") as f:
        json.dump(e, f)
    with outage():
        os.symlink(outside, os.path.join(SPOOL, "new", entry_name(e)))
    wait_replayed()
    assert by_ref(e["reference"]) == 0
    assert os.path.islink(os.path.join(SPOOL, "failed", entry_name(e)))
    with open(outside) as f:
        assert json.load(f) == e


def test_fifo_never_blocks():
    """a FIFO in new/ does not block the replayer: the entries after it are
    stored, it goes to failed/, and SIGTERM still ends frontdesk"""
    fifo = os.path.join(SPOOL, "new", entry_name(entry(
        created_at=iso(time.time() - 60))))   # sorts first
    e = entry(first_name="AfterFifo")
    try:
        with outage():
            os.mkfifo(fifo)
            craft(e)
        wait_replayed()
        assert by_ref(e["reference"]) == 1
        assert os.path.basename(fifo) in failed()
        assert S.stop_frontdesk() == 0
    finally:
        # a replayer stuck in open(2) on it (the old code) is let go
        if os.path.exists(fifo):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        if S.frontdesk.poll() is not None:
            S.start_frontdesk()


def test_foreign_and_huge_files_not_read():
    """a file in new/ of another user, one with a second name (a hard link
    from outside the spool) and one larger than any valid post (a valid
    entry padded to 1 MB) are not stored: each goes to failed/"""
    if os.geteuid() != 0:
        raise fdtest.Skip("needs root to give a file away")
    foreign = entry(first_name="Foreign")
    linked = entry(first_name="HardLinked")
    huge = entry(first_name="Huge")
    outside = os.path.join(S.dir, "hard-link-target.json")
    with open(outside, "w") as f:
        json.dump(linked, f)
    with outage():
        name = craft(foreign)
        os.chown(os.path.join(SPOOL, "new", name), 65534, 65534)
        os.link(outside, os.path.join(SPOOL, "new", entry_name(linked)))
        craft(raw=json.dumps(huge) + " " * 1000000, name=entry_name(huge))
    wait_replayed()
    for e in (foreign, linked, huge):
        assert by_ref(e["reference"]) == 0, e["first_name"]
        assert entry_name(e) in failed(), (e["first_name"], failed())
    assert os.path.exists(outside)


def test_largest_post_replayed():
    """the size bound holds the largest valid post: every field at its
    limit in 4-byte characters, a phone padded to tens of kilobytes, a
    key; spooled and replayed as it was posted"""
    clef = "\U0001d11e"
    f = maria(first_name=clef * 100, last_name=clef * 100,
              service=clef * 200, preferred_time=clef * 200,
              message=clef * 5000, phone="1" + " " * 30000 + "234567",
              submission_id="largest-1")
    with outage():
        r = S.post(f, multipart=True)
        assert r.status == 201, r
    wait_replayed()
    ref = r.json()["reference"]
    assert by_ref(ref) == 1 and not any(ref in n for n in failed())
    row = S.sql("SELECT length(message), length(phone) FROM "
                "appointment_requests WHERE reference = :'p1'", (ref,))
    assert row == [("5000", "30007")], row


def test_entries_judged_as_posts():
    """a crafted entry is judged as a post would be: CRLF in a name, a
    5000-character last name, a 200 KB message, a bad email, an untrimmed
    value, a created_at of 1970 or tomorrow, a Message-ID domain with a
    header in it: none stored, each in failed/ with one log line naming
    the field, never its value"""
    now = time.time()
    bad = {
        "first_name": entry(first_name="Eve\r\nstatus          spam"),
        "last_name": entry(last_name="L" * 5000),
        "message": entry(message="m" * 200000),
        "email": entry(email="not-an-email"),
        "phone": entry(phone=" (212) 555-0143"),
        "created_at": entry(created_at=iso(0)),
        "created_at ": entry(created_at=iso(now + 86400)),
        "msgid_domain": entry(msgid_domain="clinic.example>\r\nBcc: "
                              "x@evil.example"),
    }
    good = entry(first_name="JudgedFine")
    with outage():
        for e in bad.values():
            craft(e)
        craft(good)
    wait_replayed()
    assert by_ref(good["reference"]) == 1
    for field, e in bad.items():
        assert by_ref(e["reference"]) == 0, field
        assert entry_name(e) in failed(), field
        lines = log_about(entry_name(e))
        assert len(lines) == 1 and lines[0]["event"] == \
            "spool_replay_failed", (field, lines)
        assert lines[0]["reason"].startswith(field.strip() + ":"), \
            (field, lines)
    log = S.log("frontdesk")
    for secret in ("Eve", "LLLLL", "mmmmm", "not-an-email", "evil.example"):
        assert secret not in log, secret


def test_request_show_escapes_control_characters():
    """`request show` (and `request list`) print a stored CR, LF or other
    control character escaped: a bad row written before the replay judged
    entries cannot forge a `key value` line"""
    ref = new_ref()
    S.sql("INSERT INTO appointment_requests (reference, location_id, "
          "status, first_name, last_name, email, message) SELECT :'p1', "
          "id, 'received', E'Eve\\r\\nstatus          spam', "
          "E'Lee\\x1b[2J', 'eve@example.com', "
          "E'one\\r\\nreference       FD-F0RGED00\\ntwo' "
          "FROM locations WHERE slug = 'midtown'", (ref,))
    out = S.ctl("request", "show", ref).stdout.decode()
    lines = out.split("\n")
    assert "\r" not in out and "\x1b" not in out, out
    assert [x for x in lines if x.startswith("status")] == \
        ["status          received"], out
    assert not [x for x in lines if x.startswith("reference       FD-F0RGED")]
    assert "first_name      Eve\\x0d\\x0astatus          spam" in lines, out
    # the message keeps its LF (indented: no line of its own), not its CR
    at = lines.index("message:")
    assert lines[at + 1:at + 4] == ["    one\\x0d",
                                    "    reference       FD-F0RGED00",
                                    "    two"], out
    listed = S.ctl("request", "list").stdout.decode()
    assert "\r" not in listed and "Eve\\x0d\\x0astatus" in listed, listed


def test_refused_for_good_goes_to_failed():
    """a replay the database refuses for good (a check constraint, SQLSTATE
    23514) goes to failed/ at once, logged once, not retried every second;
    the others are stored"""
    S.sql("ALTER TABLE appointment_requests ADD CONSTRAINT fdtest_refused "
          "CHECK (first_name <> 'Refused') NOT VALID")
    try:
        with outage():
            r1 = S.post(maria(first_name="Refused"))
            assert r1.status == 201, r1
            name = spooled()[0]
            r2 = S.post(maria(first_name="NotRefused"))
            assert r2.status == 201, r2
        wait_for(lambda: name in failed(), 15, "the refused one in failed/")
        wait_replayed()
        assert by_ref(r1.json()["reference"]) == 0
        assert by_ref(r2.json()["reference"]) == 1
        time.sleep(3)   # long enough for three more tries
        lines = log_about(name)
        assert len(lines) == 1 and lines[0]["event"] == \
            "spool_replay_failed" and "23514" in lines[0]["reason"], lines
        assert "fdtest_refused" not in S.log("frontdesk")
    finally:
        S.sql("ALTER TABLE appointment_requests DROP CONSTRAINT "
              "fdtest_refused")


def test_refused_for_now_backs_off_then_gives_up():
    """a replay the database refuses for now (a trigger raising
    lock_not_available) is tried again less and less often (1, 2, 4 s...),
    logged once, not twice a second; refused for [mail] give_up_after (60
    s here), it goes to failed/; the others are stored meanwhile"""
    S.sql("CREATE SEQUENCE fdtest_tries; "
          "CREATE FUNCTION fdtest_busy() RETURNS trigger LANGUAGE plpgsql "
          "SECURITY DEFINER AS $$ BEGIN IF NEW.first_name = 'Busy' THEN "
          "PERFORM nextval('fdtest_tries'); RAISE EXCEPTION 'busy' USING "
          "ERRCODE = 'lock_not_available'; END IF; RETURN NEW; END $$; "
          "CREATE TRIGGER fdtest_busy BEFORE INSERT ON appointment_requests "
          "FOR EACH ROW EXECUTE FUNCTION fdtest_busy()")
    S.stop_frontdesk()
    S.start_frontdesk(S.write_conf("giveup.conf", S.conf_as(
        "web", mail={"give_up_after": "60"})))
    logged = S.log("frontdesk").count("db_query_failed")
    try:
        with outage():
            busy = S.post(maria(first_name="Busy"))
            assert busy.status == 201, busy
            name = spooled()[0]
            other = S.post(maria(first_name="NotBusy"))
        wait_for(lambda: log_about(name), 15, "the first refusal")
        t0 = time.monotonic()
        wait_for(lambda: by_ref(other.json()["reference"]) == 1, 15,
                 "the other stored")
        time.sleep(max(0, 9 - (time.monotonic() - t0)))
        tries = int(S.sql("SELECT last_value FROM fdtest_tries")[0][0])
        # tried at 0, 1, 3 and 7 s: not once a second
        assert 3 <= tries <= 5, tries
        lines = log_about(name)
        assert len(lines) == 1 and lines[0]["event"] == \
            "spool_replay_deferred" and "55P03" in lines[0]["reason"], lines
        assert name in spooled() and by_ref(busy.json()["reference"]) == 0
        assert S.log("frontdesk").count("db_query_failed") == logged
        wait_for(lambda: name in failed(), 90, "given up on")
        lines = log_about(name)
        assert [x["event"] for x in lines] == ["spool_replay_deferred",
                                               "spool_replay_failed"], lines
        assert "refused for now for 6" in lines[1]["reason"], lines
    finally:
        S.sql("DROP TRIGGER fdtest_busy ON appointment_requests; "
              "DROP FUNCTION fdtest_busy(); DROP SEQUENCE fdtest_tries")
        S.stop_frontdesk()
        S.start_frontdesk()


def test_file_names_quoted_in_log():
    """a crafted file name cannot add fields to the log: every name is
    logged quoted"""
    names = ["evil x=1 event=forged.json", 'q"uote reason=forged\\.json']
    with outage():
        for n in names:
            craft(raw="not json", name=n)
    wait_replayed()
    for n in names:
        assert n in failed(), failed()
        lines = [x for x in S.log("frontdesk").splitlines() if "forged" in x]
        for line in lines:
            keys = [k for k, _ in logfmt(line)]
            assert keys.count("event") == 1 and keys.count("reason") == 1, \
                line
        assert len(log_about(n)) == 1, (n, lines)


def test_no_patient_data_in_spool_logs():
    """the log says spooled and replayed, by reference only"""
    log = S.log("frontdesk")
    assert "outcome=spooled" in log and "event=spool_replayed" in log
    for secret in ("Spooled", "Gonzalez", "Sciatica", "maria.gonzalez"):
        assert secret not in log, secret


fdtest.run(globals())
