#!/usr/bin/python3
"""The core pipeline through real nginx: every answer of docs/interface.md, in
the answer and in the database."""
import concurrent.futures
import fcntl
import os
import re
import signal
import socket
import subprocess
import threading
import time

import fdtest
from fdtest import maria, wait_for

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster)

REF = re.compile(r"^FD-[0-9A-HJKMNP-TV-Z]{8}$")


def stored(ref):
    rows = S.sql("SELECT r.first_name, r.last_name, r.email, r.phone, "
                 "l.slug, r.service, r.preferred_time, r.message, r.consent, "
                 "r.status, r.submission_id FROM appointment_requests r "
                 "JOIN locations l ON l.id = r.location_id "
                 "WHERE r.reference = :'p1'", (ref,))
    return rows[0] if rows else None


def outbox_rows(ref):
    return S.sql("SELECT o.message_id, o.status FROM outbox o JOIN "
                 "appointment_requests r ON r.id = o.request_id "
                 "WHERE r.reference = :'p1'", (ref,))


def totals():
    return (S.count("appointment_requests"), S.count("outbox"),
            S.count("idempotency_keys"))


def test_maria_html_post_gets_303_and_row():
    """Maria Gonzalez's HTML form post: 303 to the thank-you page, a row"""
    r = S.post(maria(), json_mode=False)
    assert r.status == 303, r
    loc = r.headers["location"]
    m = re.match(r"^/thank-you/\?ref=(FD-[0-9A-Z]{8})$", loc)
    assert m, loc
    ref = m.group(1)
    assert REF.match(ref)
    row = stored(ref)
    assert row == ("Maria", "Gonzalez", "maria.gonzalez@example.com",
                   "(212) 555-0143", "midtown", "Back Pain & Sciatica",
                   "Weekday mornings",
                   "Shooting pain down my left leg since March.", "t",
                   "received", None), row
    ob = outbox_rows(ref)
    assert len(ob) == 1 and ob[0][1] == "pending", ob
    assert re.match(r"^<FD-[0-9A-Z]{8}\.[0-9a-f-]{36}@clinic\.example>$",
                    ob[0][0]), ob


def test_json_post_gets_201():
    """JSON mode: 201 with the reference; row and outbox row stored"""
    r = S.post(maria(first_name="Ana", location="fidi"))
    assert r.status == 201, r
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"reference", "status"} and body["status"] == \
        "received", body
    assert stored(body["reference"])[0] == "Ana"
    assert stored(body["reference"])[4] == "fidi"
    assert len(outbox_rows(body["reference"])) == 1


def test_multipart_post():
    """multipart/form-data is accepted like urlencoded"""
    r = S.post(maria(first_name="José", message="Line one\r\nLine two"),
               multipart=True)
    assert r.status == 201, r
    row = stored(r.json()["reference"])
    assert row[0] == "José" and row[7] == "Line one\nLine two", row


def test_trimming_and_unknown_fields():
    """values trimmed of Unicode space (NBSP too); unknown fields dropped"""
    r = S.post(maria(first_name="\u00a0 Maria\t", last_name=" Gonzalez\u3000",
                     phone=None, service=None, preferred_time=None,
                     message=None, consent=None, favourite_colour="blue"))
    assert r.status == 201, r
    row = stored(r.json()["reference"])
    assert row[:4] == ("Maria", "Gonzalez", "maria.gonzalez@example.com",
                       None), row
    assert row[5:9] == (None, None, None, "f"), row


def test_phone_only_is_enough():
    """phone without email is accepted"""
    r = S.post(maria(email=None, phone="+1 212.555.0100"))
    assert r.status == 201, r
    assert stored(r.json()["reference"])[2] is None


def test_invalid_json_422_nothing_stored():
    """422 with errors per field; nothing stored"""
    before = totals()
    r = S.post(maria(first_name="", email="not-an-email", location="mars"))
    assert r.status == 422, r
    errs = r.json()["errors"]
    assert set(errs) == {"first_name", "email", "location"}, errs
    assert totals() == before


def test_neither_email_nor_phone_sets_both():
    """neither email nor phone: errors.email and errors.phone"""
    r = S.post(maria(email=None, phone=None))
    assert r.status == 422, r
    assert set(r.json()["errors"]) == {"email", "phone"}, r.json()


def test_invalid_html_422_page():
    """HTML mode: a 422 page listing the errors by the form's labels"""
    before = totals()
    r = S.post(maria(last_name="x" * 101, phone="12"), json_mode=False)
    assert r.status == 422, r
    assert r.headers["content-type"].startswith("text/html")
    assert "<strong>Last name</strong>" in r.text and \
        "<strong>Phone number</strong>" in r.text, r.text
    assert totals() == before


def test_control_chars_and_line_breaks():
    """control characters and line breaks in one-line fields: 422"""
    for over in ({"first_name": "Ma\x00ria"}, {"last_name": "Gon\nzalez"},
                 {"service": "Back\x7f"}, {"message": "hi\x1b[31m"},
                 {"first_name": "Ma\u0085ria"}):
        r = S.post(maria(**over))
        assert r.status == 422, (over, r)
        assert list(r.json()["errors"]) == list(over), (over, r.json())


def test_invalid_utf8_is_422():
    """invalid UTF-8 (an overlong slash) is a validation error"""
    body = fdtest.form_body(maria(first_name=None)) + b"&first_name=%C0%AF"
    r = S.post(body=body, content_type="application/x-www-form-urlencoded")
    assert r.status == 422, r
    assert "first_name" in r.json()["errors"]


def test_field_twice_is_422():
    """a known field given twice is a validation error"""
    body = fdtest.form_body(list(maria().items()) + [("email", "b@c.de")])
    r = S.post(body=body, content_type="application/x-www-form-urlencoded")
    assert r.status == 422, r
    assert list(r.json()["errors"]) == ["email"], r.json()


def test_unknown_and_disabled_location():
    """a location that does not exist or is disabled: 422 on location"""
    S.sql("INSERT INTO locations (slug, name, active) VALUES "
          "('closed', 'Closed Office', false)")
    for slug in ("nowhere", "closed", "MIDTOWN"):
        before = totals()
        r = S.post(maria(location=slug))
        assert r.status == 422, (slug, r)
        assert list(r.json()["errors"]) == ["location"], r.json()
        assert totals() == before


def test_honeypot_valid_stored_as_spam_no_outbox():
    """honeypot filled: answered as accepted, stored as spam, no email"""
    ob = S.count("outbox")
    r = S.post(maria(website="http://spam.example"))
    assert r.status == 201, r
    ref = r.json()["reference"]
    assert REF.match(ref)
    assert stored(ref)[9] == "spam"
    assert outbox_rows(ref) == []
    assert S.count("outbox") == ob
    r = S.post(maria(website="x"), json_mode=False)
    assert r.status == 303 and "ref=FD-" in r.headers["location"], r


def test_honeypot_invalid_dropped():
    """honeypot filled and invalid fields: accepted answer, nothing stored"""
    before = totals()
    r = S.post(maria(website="x", email="bad", phone=None))
    assert r.status == 201 and REF.match(r.json()["reference"]), r
    assert stored(r.json()["reference"]) is None
    assert totals() == before


def test_idempotent_replay():
    """same key and fields: the first answer again, no new row or email"""
    f = maria(submission_id="page-view-0001")
    r1 = S.post(f)
    assert r1.status == 201, r1
    before = totals()
    r2 = S.post(f)
    assert r2.status == 201 and r2.json() == r1.json(), (r1, r2)
    r3 = S.post(f, json_mode=False)  # replayed in this post's mode
    assert r3.status == 303, r3
    assert r3.headers["location"].endswith(r1.json()["reference"]), r3
    assert totals() == before
    assert stored(r1.json()["reference"])[10] == "page-view-0001"


def test_repost_as_it_would_be_stored_is_the_same():
    """a repost that differs only in what storing takes away is the same
    post (issue 12): CRLF (the form without JavaScript) then LF (form.js),
    consent=yes then on, an empty or blank field then none, white space
    around a value, urlencoded then multipart: the first answer, no new
    row; a real difference is still 409"""
    f = maria(submission_id="as-stored-1", message="Since March.\r\n"
              "Worse at night.\r\n", consent="yes", service="")
    r1 = S.post(f)
    assert r1.status == 201, r1
    before = totals()
    for again in (dict(f, message="Since March.\nWorse at night."),
                  dict(f, consent="on"),
                  maria(submission_id="as-stored-1", service=None,
                        message="Since March.\rWorse at night.",
                        consent=" on "),
                  dict(f, first_name="\u00a0Maria ", service="  ")):
        r = S.post(again)
        assert r.status == 201 and r.json() == r1.json(), (again, r)
    r = S.post(dict(f, consent="1"), multipart=True)
    assert r.status == 201 and r.json() == r1.json(), r
    assert totals() == before
    assert stored(r1.json()["reference"])[7] == \
        "Since March.\nWorse at night.", stored(r1.json()["reference"])
    no_consent = {k: v for k, v in f.items() if k != "consent"}
    for other in (no_consent, dict(f, message="Since March."),
                  dict(f, service="Sciatica")):
        r = S.post(other)
        assert r.status == 409, (other, r)
    assert totals() == before


def test_idempotency_header():
    """the Idempotency-Key header works the same, and wins over the field"""
    f = maria(submission_id="field-key")
    h = {"Idempotency-Key": "header-key-1"}
    r1 = S.post(f, headers=h)
    assert r1.status == 201, r1
    before = totals()
    r2 = S.post(f, headers=h)
    assert r2.json() == r1.json(), r2
    assert totals() == before
    assert S.count("idempotency_keys", "key = 'header-key-1'") == 1
    assert S.count("idempotency_keys", "key = 'field-key'") == 0


def test_idempotency_conflict_409():
    """same key, different fields: 409 in both modes; nothing stored"""
    r1 = S.post(maria(submission_id="collide-1"))
    assert r1.status == 201
    before = totals()
    r2 = S.post(maria(submission_id="collide-1", first_name="Other"))
    assert r2.status == 409, r2
    assert set(r2.json()) == {"error"}, r2.json()
    r3 = S.post(maria(submission_id="collide-1", first_name="Other"),
                json_mode=False)
    assert r3.status == 409 and "text/html" in r3.headers["content-type"]
    assert totals() == before


def test_idempotency_key_expires_after_24h():
    """a key older than 24 hours is a new submission"""
    f = maria(submission_id="old-key-1")
    r1 = S.post(f)
    S.sql("UPDATE idempotency_keys SET created_at = now() - interval "
          "'25 hours' WHERE key = 'old-key-1'")
    r2 = S.post(f)
    assert r2.status == 201 and r2.json() != r1.json(), (r1, r2)


def test_keys_after_a_restore_without_the_secret():
    """a database restored from a dump made without the fingerprint
    secret makes itself a new one at the first post with a key: that post
    is stored, its repost is its replay; a key taken before (under the old
    secret) no longer matches its fields: 409, never stored twice"""
    before = S.post(maria(submission_id="pre-restore-1"))
    assert before.status == 201, before
    S.sql("DELETE FROM fingerprint_secret")
    r1 = S.post(maria(submission_id="post-restore-1"))
    assert r1.status == 201, r1
    assert S.count("fingerprint_secret") == 1
    r2 = S.post(maria(submission_id="post-restore-1"))
    assert r2.status == 201 and r2.json() == r1.json(), (r1, r2)
    assert S.count("appointment_requests",
                   "submission_id = 'post-restore-1'") == 1
    assert S.post(maria(submission_id="pre-restore-1")).status == 409
    assert S.count("appointment_requests",
                   "submission_id = 'pre-restore-1'") == 1


def test_concurrent_same_key_one_row():
    """20 concurrent posts with one key: one row, every answer the same"""
    f = maria(submission_id="race-key-1")
    before = totals()
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        answers = list(ex.map(lambda _: S.post(f), range(20)))
    assert all(a.status == 201 for a in answers), answers
    assert len({a.json()["reference"] for a in answers}) == 1
    assert totals() == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_bad_key_is_422():
    """a malformed submission_id or Idempotency-Key header: 422"""
    r = S.post(maria(submission_id="has space"))
    assert r.status == 422 and "submission_id" in r.json()["errors"], r
    r = S.post(maria(), headers={"Idempotency-Key": "x" * 65})
    assert r.status == 422 and "submission_id" in r.json()["errors"], r


def test_unparseable_400():
    """bad percent-escapes and broken multipart: 400, nothing stored"""
    before = totals()
    cases = [(b"first_name=%zz", "application/x-www-form-urlencoded"),
             (b"first_name=%4", "application/x-www-form-urlencoded"),
             (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
              "multipart/form-data; boundary=b"),
             (b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/form-data"),
             ]
    for body, ct in cases:
        r = S.post(body=body, content_type=ct)
        assert r.status == 400, (body, r)
        assert set(r.json()) == {"error"}, r.json()
        r = S.post(body=body, content_type=ct, json_mode=False)
        assert r.status == 400, (body, r)
    assert totals() == before


def test_too_large_413():
    """a body over max_body and more than 50 fields: 413"""
    before = totals()
    r = S.post(maria(message="x" * 70000))
    assert r.status == 413, r
    assert set(r.json()) == {"error"}, r.json()
    fields = list(maria().items()) + [("f%d" % i, "1") for i in range(45)]
    r = S.post(body=fdtest.form_body(fields),
               content_type="application/x-www-form-urlencoded")
    assert r.status == 413, r
    fields = fields[:50]
    r = S.post(body=fdtest.form_body(fields),
               content_type="application/x-www-form-urlencoded")
    assert r.status == 201, r
    assert totals()[0] == before[0] + 1


def test_wrong_content_type_415():
    """other content types: 415"""
    for ct in ("text/plain", "application/json", None):
        r = S.post(body=b'{"first_name":"Maria"}', content_type=ct)
        assert r.status == 415, (ct, r)
        assert set(r.json()) == {"error"}


def test_empty_body_is_validated():
    """an empty body is an empty form: 422 on every required field"""
    r = S.post(body=b"", content_type="application/x-www-form-urlencoded")
    assert r.status == 422, r
    assert set(r.json()["errors"]) >= {"first_name", "last_name", "email",
                                       "phone", "location"}, r.json()


def test_routes_404_405():
    """unknown paths 404; wrong methods 405 with Allow"""
    r = S.get("/api/nope")
    assert r.status == 404, r
    r = S.get("/api/appointments", headers={"Accept": "application/json"})
    assert r.status == 405 and r.headers["allow"] == "POST", r
    assert set(r.json()) == {"error"}
    r = S.request("DELETE", "/api/locations")
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD", r
    r = S.request("HEAD", "/api/locations")
    assert r.status == 200 and r.body == b"", r


def test_locations_in_order_added():
    """GET /locations: active ones, in the order they were added"""
    r = S.get("/api/locations")
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.body.startswith(b'[{"slug":"midtown","name":"Midtown '
                             b'Manhattan"},'), r.body
    assert r.json() == [{"slug": "midtown", "name": "Midtown Manhattan"},
                        {"slug": "fidi", "name": "Financial District"},
                        {"slug": "woodbury",
                         "name": "Woodbury, Long Island"}], r.json()


def test_healthz():
    """GET /healthz answers ok"""
    r = S.get("/api/healthz")
    assert r.status == 200 and r.body == b"ok\n", r


def test_location_thank_you_override():
    """a location's own thank-you URL is used for its 303"""
    S.sql("UPDATE locations SET thank_you_url = '/woodbury/thanks?x=1' "
          "WHERE slug = 'woodbury'")
    r = S.post(maria(location="woodbury"), json_mode=False)
    assert r.status == 303, r
    assert re.match(r"^/woodbury/thanks\?x=1&ref=FD-[0-9A-Z]{8}$",
                    r.headers["location"]), r.headers


def test_parallel_posts():
    """200 posts from 16 clients at once: all stored, unique references"""
    before = totals()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        answers = list(ex.map(lambda i: S.post(maria(first_name="P%d" % i)),
                              range(200)))
    assert all(a.status == 201 for a in answers), \
        [a for a in answers if a.status != 201][:3]
    refs = {a.json()["reference"] for a in answers}
    assert len(refs) == 200
    assert totals()[0] == before[0] + 200 and totals()[1] == before[1] + 200


def test_database_down_503_then_back():
    """database down: healthz and posts 503 with Retry-After; then back"""
    cluster.stop()
    try:
        r = S.get("/api/healthz")
        assert r.status == 503, r
        r = S.post(maria())
        assert r.status == 503 and "retry-after" in r.headers, r
        assert set(r.json()) == {"error"}
    finally:
        cluster.start()
    wait_for(lambda: S.get("/api/healthz").status == 200, 15, "reconnect")
    r = S.post(maria())
    assert r.status == 201, r


def test_metrics():
    """GET /metrics: Prometheus text with requests, submissions, queue"""
    r = S.get("/api/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    text = r.text
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            vals[name] = float(value)
    depth = S.count("outbox", "status IN ('pending', 'sending')")
    assert vals["frontdesk_outbox_depth"] == depth, (vals, depth)
    assert vals["frontdesk_database_up"] == 1
    assert vals["frontdesk_outbox_oldest_pending_seconds"] > 0
    # Several processes' threads served, so only lower bounds hold here.
    assert vals['frontdesk_submissions_total{outcome="accepted"}'] >= 1
    assert vals['frontdesk_http_requests_total{route="appointments",'
                'status="201"}'] >= 1
    assert 'frontdesk_request_duration_seconds_bucket{route="appointments",' \
        'le="+Inf"}' in vals
    # attempts on record: a gauge (purge removes them); counters, and
    # only counters, end in _total
    for outcome in ("sent", "retry", "dead"):
        assert vals['frontdesk_delivery_attempts{outcome="%s"}' % outcome] \
            == S.count("outbox_attempts", "outcome = '%s'" % outcome)
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert types and all((kind == "counter") == name.endswith("_total")
                         for name, kind in types), types
    for line in text.splitlines():
        assert line.startswith("#") or re.match(
            r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
            r'([0-9.e+-]+|\+Inf)$', line), line
    # no mailer runs here: its heartbeat's age is +Inf (never)
    assert vals["frontdesk_mailer_heartbeat_age_seconds"] == float("inf")


def test_link_lost_after_commit_not_doubled():
    """the database link breaks after the insert committed, before the
    answer: frontdesk reconnects, finds its reference, answers once, and
    stores one row"""
    import pgdrop
    proxy = pgdrop.DropProxy(pgdrop.socket_path(cluster.dir))
    conf = S.conf_as("web", fastcgi={"threads": "1"})
    conf["database"]["conninfo"] = ("host=127.0.0.1 port=%d dbname=%s "
                                    "user=fdt_web" % (proxy.port, S.db))
    S.stop_frontdesk()
    S.start_frontdesk(S.write_conf("proxied.conf", conf))
    try:
        assert S.post(maria()).status == 201  # connected and prepared
        before = totals()
        proxy.armed.set()
        r = S.post(maria(first_name="Lost"))
        assert proxy.dropped == 1, proxy.dropped
        assert r.status == 201, r
        assert totals()[:2] == (before[0] + 1, before[1] + 1), totals()
        assert stored(r.json()["reference"])[0] == "Lost"
        assert "event=submit_recovered" in S.log("frontdesk")
    finally:
        S.stop_frontdesk()
        S.start_frontdesk()


def test_no_patient_data_in_logs():
    """the log names references, never a patient's text"""
    log = S.log("frontdesk")
    # one line per request: the access line says what became of a post
    assert re.search(r"event=request method=POST path=\"/api/appointments\" "
                     r"status=201 ms=[0-9.]+ reference=FD-[0-9A-Z]{8} "
                     r"outcome=accepted location=midtown\n", log), log[-500:]
    assert "event=accepted" not in log
    for secret in ("Gonzalez", "Maria", "Sciatica", "Shooting pain",
                   "maria.gonzalez", "555-0143", "Weekday"):
        assert secret not in log, secret


def test_sigterm_drains_in_flight():
    """SIGTERM: the request in flight is finished, then exit 0"""
    c = fdtest.FcgiClient(S.socket)
    body = fdtest.form_body(maria(first_name="Drain"))
    c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/api/appointments",
             "CONTENT_TYPE": "application/x-www-form-urlencoded",
             "CONTENT_LENGTH": str(len(body)),
             "HTTP_ACCEPT": "application/json"})
    c.stdin(body[:10])
    time.sleep(0.3)  # the request is being read by a thread now
    S.frontdesk.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert S.frontdesk.poll() is None, "exited with a request in flight"
    c.stdin(body[10:])
    c.stdin(b"")
    out = c.response()
    assert out.startswith(b"Status: 201"), out
    assert S.frontdesk.wait(10) == 0
    assert S.count("appointment_requests", "first_name = 'Drain'") == 1
    S.start_frontdesk()


def test_sigterm_idle_exits_promptly():
    """SIGTERM with every thread idle in accept: exits 0 at once"""
    t0 = time.monotonic()
    assert S.stop_frontdesk() == 0
    assert time.monotonic() - t0 < 3
    S.start_frontdesk()
    assert S.get("/api/healthz").status == 200


def test_config_check():
    """frontdesk -t: 0 for a good file, 1 naming file, line and key"""
    fd = S.program("frontdesk")
    r = subprocess.run([fd, "-t", "-c", S.conf_path], capture_output=True)
    assert r.returncode == 0, r
    bad = os.path.join(S.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("[fastcgi]\nthreads = 999\n")
    r = subprocess.run([fd, "-t", "-c", bad], capture_output=True)
    assert r.returncode == 1, r
    assert b"bad.conf:2" in r.stderr and b"threads" in r.stderr, r.stderr
    r = subprocess.run([fd, "--version"], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"frontdesk "), r
    r = subprocess.run([fd, "--bogus"], capture_output=True)
    assert r.returncode == 2, r


def _inherited_conf():
    conf = S.conf_as("web")
    conf["fastcgi"] = {"threads": "2"}
    return S.write_conf("inherited.conf", conf)


def _fcgi_get(path, sock):
    c = fdtest.FcgiClient(sock)
    c.begin({"REQUEST_METHOD": "GET", "REQUEST_URI": path})
    c.stdin(b"")
    return c.response()


def test_tcp_listen_ipv4_and_ipv6():
    """[fastcgi] listen = 127.0.0.1:PORT and [::1]:PORT"""
    for host, spec in (("127.0.0.1", "127.0.0.1:%d"), ("::1", "[::1]:%d")):
        port = fdtest.free_port()
        conf = S.conf_as("web", fastcgi={"listen": spec % port})
        p = fdtest.spawn([S.program("frontdesk"), "-c",
                          S.write_conf("tcp.conf", conf)],
                         os.path.join(S.dir, "tcp.log"))
        try:
            def up():
                try:
                    return _fcgi_get("/api/healthz", (host, port))
                except OSError:
                    return None
            out = wait_for(up, what="frontdesk on " + spec % port)
            assert out.startswith(b"Status: 200"), out
        finally:
            assert fdtest.stop(p) == 0


def test_unix_socket_appears_ready_and_survives_restart():
    """the socket file appears only once it accepts (nginx never meets a
    bound socket that is not yet listening), with its mode; a second
    process started with --replace takes the path over (test_listen: not
    without), and the first one's exit leaves the second's socket in
    place; a path too long is refused, naming the limit"""
    sock = os.path.join(S.dir, "swap.sock")
    conf = S.write_conf("swap.conf", S.conf_as(
        "web", fastcgi={"listen": sock, "socket_mode": "0600"}))
    first = fdtest.spawn([S.program("frontdesk"), "-c", conf],
                         os.path.join(S.dir, "swap1.log"))
    second = None
    try:
        # every sighting of the path must connect; none may be refused
        deadline = time.monotonic() + 15
        while not os.path.exists(sock):
            assert first.poll() is None and time.monotonic() < deadline
        out = _fcgi_get("/api/healthz", sock)
        assert out.startswith(b"Status: 200"), out
        assert os.stat(sock).st_mode & 0o777 == 0o600
        ino = os.stat(sock).st_ino
        second = fdtest.spawn([S.program("frontdesk"), "-c", conf,
                               "--replace"],
                              os.path.join(S.dir, "swap2.log"))
        served = 0

        def swapped():
            nonlocal served
            out = _fcgi_get("/api/healthz", sock)  # raises if refused
            assert out.startswith(b"Status: 200"), out
            served += 1
            return os.stat(sock).st_ino != ino
        wait_for(swapped, what="the second process's socket at the path")
        assert fdtest.stop(first) == 0
        assert os.path.exists(sock), "the first process removed the new socket"
        out = _fcgi_get("/api/healthz", sock)
        assert out.startswith(b"Status: 200"), out
        assert not [f for f in os.listdir(S.dir) if f.endswith(".new")]
    finally:
        fdtest.stop(first)
        if second is not None:
            assert fdtest.stop(second) == 0
    assert not os.path.exists(sock)
    # 96 bytes: no room left for the private name; -t says so too
    long_path = os.path.join(S.dir, "x" * (90 - len(S.dir)) + ".sock")
    assert len(long_path) == 96
    conf = S.write_conf("long.conf", S.conf_as(
        "web", fastcgi={"listen": long_path}))
    for args in (["-t", "-c", conf], ["-c", conf]):
        r = subprocess.run([S.program("frontdesk")] + args,
                           capture_output=True, timeout=30)
        assert r.returncode == 1, r
        assert b"listen: a unix socket path of at most 95 bytes" \
            in r.stderr, r
    assert not os.path.exists(long_path)


def test_silent_connections_hold_up_no_one():
    """clients that connect over TCP and say nothing park only the
    thread that took each one, for 5 s at most; the other threads go on
    serving at once, and SIGTERM still ends it all with 0"""
    port = fdtest.free_port()
    conf = S.conf_as("web", fastcgi={"listen": "127.0.0.1:%d" % port,
                                     "threads": "3"})
    p = fdtest.spawn([S.program("frontdesk"), "-c",
                      S.write_conf("silent.conf", conf)],
                     os.path.join(S.dir, "silent.log"))
    silent = []
    try:
        def up():
            try:
                return _fcgi_get("/api/healthz", ("127.0.0.1", port))
            except OSError:
                return None
        wait_for(up, what="frontdesk on TCP")
        for _ in range(2):
            silent.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.3)  # two threads are now reading nothing
        for _ in range(5):
            t0 = time.monotonic()
            out = _fcgi_get("/api/healthz", ("127.0.0.1", port))
            took = time.monotonic() - t0
            assert out.startswith(b"Status: 200"), out
            assert took < 3.0, "a served request waited %.2fs" % took
        # the silent ones are let go within the header timeout
        for sk in silent:
            sk.settimeout(10)
            t0 = time.monotonic()
            assert sk.recv(1) == b""
            assert time.monotonic() - t0 < 8
        assert fdtest.stop(p) == 0
    finally:
        for sk in silent:
            sk.close()
        if p.poll() is None:
            fdtest.stop(p)


def test_warns_without_smtp_from():
    """a web file without [smtp] from: it starts, and says once that its
    Message-IDs are not on the clinic's domain"""
    conf = S.conf_as("web")
    conf["smtp"] = {}
    conf["fastcgi"]["listen"] = os.path.join(S.dir, "nofrom.sock")
    log = os.path.join(S.dir, "nofrom.log")
    p = fdtest.spawn([S.program("frontdesk"), "-c",
                      S.write_conf("nofrom.conf", conf)], log)
    try:
        wait_for(lambda: "event=msgid_domain" in open(log).read(), 10,
                 what="the warning")
        assert "domain=localhost" in open(log).read()
    finally:
        assert fdtest.stop(p) == 0
    # the stack's own file has it: no warning there
    assert "event=msgid_domain" not in S.log("frontdesk")


def test_start_up_errors_are_one_logfmt_line_each():
    """a start-up error whose text holds a quote, a backslash and spaces
    (here the listen path, inside bind's error) is one well-formed logfmt
    line, the value escaped, so nothing after it can pass for a field"""
    conf = S.conf_as("web")
    bad = os.path.join(S.dir, 'no "such\\ dir', "x.sock")
    conf["fastcgi"]["listen"] = bad
    r = subprocess.run([S.program("frontdesk"), "-c",
                        S.write_conf("badlisten.conf", conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    lines = r.stderr.splitlines()
    assert lines, r
    for line in lines:
        fdtest.logfmt(line)
    fail = [fdtest.logfmt(l) for l in lines
            if fdtest.logfmt(l)["event"] == "listen_failed"]
    assert len(fail) == 1, r.stderr
    assert fail[0]["error"].startswith(bad + ": "), fail[0]
    assert set(fail[0]) == {"ts", "level", "prog", "event", "error"}, fail


def test_undecodable_location_is_a_field_error_not_503():
    """location=%ff (invalid UTF-8), alone or with the honeypot: 422 for
    the field (the bot's post answered as accepted), never 503, no error
    line, no 'unavailable' count"""
    def unavailable():
        m = re.search(r'frontdesk_submissions_total\{outcome="unavailable"\} '
                      r'(\d+)', S.get("/api/metrics").body.decode())
        return int(m.group(1)) if m else 0
    before = unavailable()
    logged = len(S.log("frontdesk"))
    body = fdtest.form_body(maria(location=None)).decode() + "&location=%ff"
    r = S.post(body=body.encode(), content_type="application/x-www-form-"
               "urlencoded")
    assert r.status == 422 and "location" in r.json()["errors"], r
    bot = body + "&website=http%3A%2F%2Fspam.example"
    r = S.post(body=bot.encode(), content_type="application/x-www-form-"
               "urlencoded")
    assert r.status == 201, r
    r = S.post(body=(fdtest.form_body(maria(location=None)).decode() +
               "&location=mid%00town").encode(),
               content_type="application/x-www-form-urlencoded")
    assert r.status == 422, r
    assert unavailable() == before
    assert "db_query_failed" not in S.log("frontdesk")[logged:]


def test_delivery_counts_follow_writes_and_purges():
    """/metrics counts the attempts on record as they are written and
    removed (sql/010), so a scrape costs the same with a year of history;
    the counts stay equal to the table's, a bulk insert and delete too"""
    def metric(outcome):
        text = S.get("/api/metrics").body.decode()
        m = re.search(r'^frontdesk_delivery_attempts\{outcome="%s"\} (\S+)$'
                      % outcome, text, re.M)
        return float(m.group(1))
    ref = S.post(maria()).json()["reference"]
    oid = S.sql("SELECT o.id FROM outbox o JOIN appointment_requests r ON "
                "r.id = o.request_id WHERE r.reference = :'p1'", (ref,))[0][0]
    S.sql("INSERT INTO outbox_attempts (outbox_id, outcome, smtp_code) "
          "SELECT :'p1'::bigint, (ARRAY['sent', 'retry', 'dead'])[1 + g % 3],"
          " 250 FROM generate_series(1, 3000) g", (oid,))
    for outcome in ("sent", "retry", "dead"):
        assert metric(outcome) == S.count("outbox_attempts", "outcome = '%s'"
                                          % outcome)
    S.sql("DELETE FROM outbox_attempts WHERE outbox_id = :'p1'::bigint "
          "AND outcome <> 'dead'", (oid,))
    for outcome in ("sent", "retry", "dead"):
        assert metric(outcome) == S.count("outbox_attempts", "outcome = '%s'"
                                          % outcome)
    assert S.sql("SELECT count(*) FROM delivery_counts")[0][0] == "3"


def test_check_refuses_what_start_up_or_the_mailer_would():
    """frontdesk -t exits 1 naming the key for a From no Message-ID can
    carry, a zone that does not exist, a console_url that cannot stand in
    a header, a relative spool dir, a listen host that is not an address;
    -t binds and connects to nothing, so it passes with the service up"""
    for section, keys, key in (
            ("smtp", {"from": "appointments@clinic.example;"}, "[smtp] from"),
            ("mail", {"timezone": "America/Gotham"}, "[mail] timezone"),
            ("mail", {"console_url": "https://staff.example/c/\"x/"},
             "[mail] console_url"),
            ("spool", {"dir": "spool"}, "[spool] dir"),
            ("fastcgi", {"listen": "localhost:9000"}, "[fastcgi] listen")):
        conf = S.conf_as("web")
        conf.setdefault(section, {}).update(keys)
        path = S.write_conf("check.conf", conf)
        r = subprocess.run([S.program("frontdesk"), "-t", "-c", path],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and key in r.stderr, (keys, r)
        # and start-up refuses the same file the same way
        r = subprocess.run([S.program("frontdesk"), "-c", path],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and key in r.stderr, (keys, r)
    r = subprocess.run([S.program("frontdesk"), "-t", "-c", S.web_conf_path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r


def test_sigterm_during_start_up_exits_0():
    """a SIGTERM that arrives while frontdesk is still starting (here: held
    in its first log write, to a full pipe) is kept until it runs, then
    ends it like any SIGTERM: exit 0, not death by the signal"""
    conf = S.conf_as("web")
    conf["smtp"] = {}  # its first log line is then the msgid warning
    conf["fastcgi"]["listen"] = os.path.join(S.dir, "early.sock")
    path = S.write_conf("early.conf", conf)
    r, w = os.pipe()
    flags = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"." * 4096)
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, flags)
    p = subprocess.Popen([S.program("frontdesk"), "-c", path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=w)
    os.close(w)
    out = []
    try:
        def in_pipe_write():
            try:
                with open("/proc/%d/wchan" % p.pid) as f:
                    return "pipe_write" in f.read()
            except OSError:
                return False
        # wchan names the kernel function; where it is hidden, a second
        # is ample for the first write to block
        try:
            wait_for(in_pipe_write, 2, what="frontdesk blocked in a write")
        except AssertionError:
            time.sleep(1)
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        reader = threading.Thread(target=lambda: out.append(
            b"".join(iter(lambda: os.read(r, 65536), b""))))
        reader.start()
        assert p.wait(30) == 0, p.returncode
        reader.join(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(r)
    log = out[0].lstrip(b".")
    assert b"event=msgid_domain" in log and b"event=stopping" in log, log


def test_inherited_socket_fd0():
    """no listen key: serves on fd 0, as spawn-fcgi passes it"""
    sock = os.path.join(S.dir, "fd0.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(sock)
    ls.listen(16)
    p = fdtest.spawn([S.program("frontdesk"), "-c", _inherited_conf()],
                     os.path.join(S.dir, "fd0.log"), stdin=ls.fileno())
    ls.close()
    try:
        out = _fcgi_get("/api/healthz", sock)
        assert out.startswith(b"Status: 200"), out
    finally:
        assert fdtest.stop(p) == 0


def test_inherited_socket_listen_fds():
    """no listen key: serves on fd 3 under systemd's LISTEN_FDS"""
    sock = os.path.join(S.dir, "fd3.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(sock)
    ls.listen(16)
    lfd = ls.detach()
    if lfd != 3:
        os.dup2(lfd, 3, inheritable=True)
        os.close(lfd)
    os.set_inheritable(3, True)
    p = fdtest.spawn(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" '
                      '-c "$1"', S.program("frontdesk"), _inherited_conf()],
                     os.path.join(S.dir, "fd3.log"), pass_fds=(3,))
    os.close(3)
    try:
        out = _fcgi_get("/api/locations", sock)
        assert out.startswith(b"Status: 200") and b"midtown" in out, out
    finally:
        assert fdtest.stop(p) == 0


fdtest.run(globals())
