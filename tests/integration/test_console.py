#!/usr/bin/python3
"""frontdesk-console's JSON API through real nginx (the shipped
conf/nginx/console.conf) and PostgreSQL: every row of the API, and the
refusals: access per location and role, forgery, sessions that end, the
lockout, the second factor, REMOTE_USER, the headers, the audit log."""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import struct
import subprocess
import time

import fdtest
from fdtest import maria, wait_for

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster, start=False)
CONSOLE = S.start_console()
S.start_frontdesk()
S.start_nginx()
ORIGIN = "http://127.0.0.1:%d" % S.port
API = "/console/api"
PASSWORDS = {}


def totp(secret, offset=0, t=None):
    """RFC 6238 (HMAC-SHA-1, 6 digits, 30 s) of a base32 secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((t if t is not None else time.time()) // 30) + offset
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff)
                     % 1000000)


def add_user(name, role, *locations, password=None):
    password = password or "pw-" + name + "-long-enough"
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    for loc in locations:
        args += ["--location", loc]
    S.ctl(*args, input=password + "\n")
    PASSWORDS[name] = password
    return password


class Client:
    """One person's browser: the session cookie and the CSRF token."""

    def __init__(self, origin=ORIGIN):
        self.cookie = None
        self.csrf = None
        self.origin = origin

    def call(self, method, path, body=None, headers=None, csrf=True,
             origin=True):
        h = {"Accept": "application/json"}
        if self.cookie:
            h["Cookie"] = "__Host-fd_session=" + self.cookie
        if origin and self.origin and method != "GET":
            h["Origin"] = self.origin
        if csrf and self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(
                body, bytes) else body
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        r = S.request(method, API + path, body=data, headers=h)
        m = re.search(r"__Host-fd_session=([^;]*)",
                      r.headers.get("set-cookie", ""))
        if m:
            self.cookie = m.group(1) or None
        return r

    def sign_in(self, name, password=None, code=None):
        body = {"username": name,
                "password": password or PASSWORDS.get(name, "x")}
        if code is not None:
            body["code"] = code
        r = self.call("POST", "/session", body)
        if r.status == 201:
            self.csrf = r.json()["csrf"]
        return r

    get = lambda self, p, **kw: self.call("GET", p, **kw)
    post = lambda self, p, b=None, **kw: self.call("POST", p, b, **kw)
    patch = lambda self, p, b=None, **kw: self.call("PATCH", p, b, **kw)
    delete = lambda self, p, **kw: self.call("DELETE", p, **kw)


def post_request(**over):
    r = S.post(maria(**over))
    assert r.status == 201, r
    return r.json()["reference"]


def audit_rows(where="true"):
    return S.sql("SELECT actor, action, object, coalesce(detail, '') FROM "
                 "audit_log WHERE %s ORDER BY id" % where)


# The clinic: a front desk per location and an admin.
add_user("sam", "staff", "midtown")
add_user("fay", "staff", "fidi")
add_user("ada", "admin")
REF_MID = post_request(first_name="Rosa", last_name="Midtown",
                       email="rosa@example.com", phone="(212) 555-0101")
REF_MID2 = post_request(first_name="Omar", last_name="Second",
                        email="omar@example.com", phone="212 555 0177")
REF_FIDI = post_request(location="fidi", first_name="Fidel",
                        last_name="Downtown", email="fidel@example.com")
REF_SPAM = S.post(maria(website="http://spam.example",
                        first_name="Bot")).json()["reference"]
ADA_SECRET = None


def test_sign_in_staff():
    """staff sign in: 201 with their locations and a CSRF token, the
    cookie __Host- Secure HttpOnly SameSite=Strict Path=/"""
    c = Client()
    r = c.sign_in("sam")
    assert r.status == 201, r
    j = r.json()
    assert j["username"] == "sam" and j["role"] == "staff", j
    assert [l["slug"] for l in j["locations"]] == ["midtown"], j
    assert len(j["csrf"]) >= 22 and j["csrf"] != c.cookie, j
    ck = r.headers["set-cookie"]
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in ck, ck
    assert len(c.cookie) >= 22
    # only the token's hash is stored
    assert S.count("sessions", "encode(token_hash, 'escape') LIKE '%%%s%%'"
                   % c.cookie) == 0
    me = c.get("/me")
    assert me.status == 200 and me.json()["csrf"] == j["csrf"], me
    assert me.json()["second_factor"] == "off", me


def test_refusals_are_one_answer_in_one_time():
    """a wrong password and an unknown name get the same 401, in about the
    same time (the unknown name is hashed against a dummy)"""
    c = Client()
    times = {"wrong": [], "unknown": []}
    answers = set()
    for _ in range(3):
        for kind, name in (("wrong", "fay"), ("unknown", "nobody-here")):
            t0 = time.monotonic()
            r = c.sign_in(name, "not the password at all")
            times[kind].append(time.monotonic() - t0)
            assert r.status == 401, r
            answers.add(r.body)
    assert len(answers) == 1, answers
    wrong, unknown = sorted(times["wrong"])[1], sorted(times["unknown"])[1]
    assert 0.5 < unknown / wrong < 2.0, times
    rows = audit_rows("action = 'sign_in_failed' AND actor = '(unknown)'")
    assert rows and all(r[2] is None or r[2] == "" for r in rows), rows
    assert not audit_rows("actor = 'nobody-here' OR object = 'nobody-here'")
    S.ctl("user", "enable", "fay")   # the three failures: lifted


def test_inbox_sees_own_locations_only():
    """the inbox holds the caller's locations, newest first, with counts;
    another location's filter is 403, its request 404"""
    c = Client()
    c.sign_in("sam")
    r = c.get("/requests")
    assert r.status == 200, r
    j = r.json()
    refs = [x["reference"] for x in j["requests"]]
    assert refs == [REF_MID2, REF_MID], refs
    assert j["counts"] == {"new": 2, "contacted": 0, "scheduled": 0,
                           "closed": 0}, j
    assert j["next"] is None
    e = j["requests"][0]
    for k in ("reference", "created_at", "location", "first_name",
              "last_name", "status", "triage", "unread", "delivery"):
        assert k in e, e
    assert e["unread"] is True and e["location"] == "midtown", e
    assert c.get("/requests?location=fidi").status == 403
    assert c.get("/requests?location=nowhere").status == 403
    assert c.get("/requests/" + REF_FIDI).status == 404
    assert c.get("/requests/FD-00000000").status == 404
    assert c.get("/requests/not-a-ref").status == 404
    f = Client()
    f.sign_in("fay")
    assert [x["reference"] for x in f.get("/requests").json()[
        "requests"]] == [REF_FIDI]


def test_search_and_paging():
    """q matches the reference, names and email as substrings, the
    phone's digits; limit and before page through"""
    c = Client()
    c.sign_in("sam")
    for q, want in (("rosa", [REF_MID]), ("MIDTOWN", [REF_MID]),
                    ("omar@", [REF_MID2]), ("555-0177", [REF_MID2]),
                    ("5550101", [REF_MID]), (REF_MID.lower(), [REF_MID]),
                    ("Rosa Midtown", [REF_MID]), ("zzz", []),
                    ("%", []), ("_", [])):
        r = c.get("/requests?q=" + q.replace(" ", "+").replace("%", "%25")
                  .replace("@", "%40"))
        assert r.status == 200, (q, r)
        got = [x["reference"] for x in r.json()["requests"]]
        assert got == want, (q, got)
    p1 = c.get("/requests?limit=1").json()
    assert [x["reference"] for x in p1["requests"]] == [REF_MID2], p1
    assert p1["next"], p1
    p2 = c.get("/requests?limit=1&before=" + p1["next"]).json()
    assert [x["reference"] for x in p2["requests"]] == [REF_MID], p2
    assert p2["next"] is None, p2
    for bad in ("limit=0", "limit=201", "limit=x", "before=abc",
                "triage=maybe", "status=deleted"):
        assert c.get("/requests?" + bad).status == 400, bad
    a = Client()
    a.sign_in("ada")   # not enrolled yet: the gate
    assert a.get("/requests").status == 403


def test_whole_request_read_and_audited():
    """the whole request: every field, unread false for the reader from
    then on (not for others), and a view row in the audit log"""
    c = Client()
    c.sign_in("sam")
    r = c.get("/requests/" + REF_MID.lower())
    assert r.status == 200, r
    j = r.json()
    for k in ("reference", "created_at", "location", "status", "delivery",
              "first_name", "last_name", "email", "phone", "service",
              "preferred_time", "message", "consent", "submission_id",
              "triage", "unread", "notes", "history", "deliveries"):
        assert k in j, (k, j)
    assert j["reference"] == REF_MID and j["unread"] is False, j
    assert j["message"] == maria()["message"] and j["consent"] is True, j
    lst = c.get("/requests").json()["requests"]
    assert [x["unread"] for x in lst if x["reference"] == REF_MID] == [False]
    a = Client()
    add_user("sue", "staff", "midtown", "fidi")
    a.sign_in("sue")
    assert [x["unread"] for x in a.get("/requests").json()["requests"]
            if x["reference"] == REF_MID] == [True]
    assert audit_rows("action = 'view' AND object = '%s'" % REF_MID)[-1][:2] \
        == ("sam", "view")


def test_triage_notes_history():
    """PATCH triage and POST a note: the whole request back, with its
    history; bad values 400; a note's text never in the audit log"""
    c = Client()
    c.sign_in("sam")
    r = c.patch("/requests/" + REF_MID, {"triage": "contacted"})
    assert r.status == 200 and r.json()["triage"] == "contacted", r
    assert c.patch("/requests/" + REF_MID, {"triage": "lost"}).status == 400
    assert c.patch("/requests/" + REF_MID, {"triage": 3}).status == 400
    assert c.patch("/requests/" + REF_MID, {"triage": "closed",
                                           "extra": 1}).status == 400
    assert c.patch("/requests/" + REF_MID, b"not json").status == 400
    assert c.patch("/requests/" + REF_FIDI, {"triage": "closed"}).status \
        == 404
    secret_words = "Called back, she prefers Thursdays"
    n = c.post("/requests/%s/notes" % REF_MID, {"text": secret_words})
    assert n.status == 201, n
    assert n.json()["author"] == "sam" and n.json()["text"] == secret_words
    for bad in ("", "   ", "x" * 2001, "bell\x07"):
        assert c.post("/requests/%s/notes" % REF_MID,
                      {"text": bad}).status == 400, bad
    j = c.get("/requests/" + REF_MID).json()
    assert [x["text"] for x in j["notes"]] == [secret_words], j
    acts = [(h["user"], h["action"]) for h in j["history"]]
    assert ("sam", "triage") in acts and ("sam", "note") in acts, acts
    counts = c.get("/requests").json()["counts"]
    assert counts["contacted"] == 1 and counts["new"] == 1, counts
    tri = c.get("/requests?triage=contacted").json()["requests"]
    assert [x["reference"] for x in tri] == [REF_MID], tri
    # no audit row holds a note's text or the patient's message
    for a in S.sql("SELECT coalesce(detail, '') || coalesce(object, '') "
                   "FROM audit_log"):
        assert "Thursdays" not in a[0] and "Shooting" not in a[0], a


def test_resend_unspam_and_export():
    """resend queues a new message (202), not for spam (409); not spam
    marks it received and queues its mail; the CSV is the inbox's, and
    audited as an export"""
    c = Client()
    c.sign_in("sam")
    before = S.count("outbox")
    assert c.post("/requests/%s/resend" % REF_MID).status == 202
    assert S.count("outbox") == before + 1
    assert c.post("/requests/%s/resend" % REF_SPAM).status == 409
    spam = c.get("/requests?status=spam").json()["requests"]
    assert [x["reference"] for x in spam] == [REF_SPAM], spam
    r = c.post("/requests/%s/unspam" % REF_SPAM)
    assert r.status == 200 and r.json()["status"] == "received", r
    assert c.post("/requests/%s/unspam" % REF_SPAM).status == 409
    csv = c.get("/requests.csv")
    assert csv.status == 200, csv
    assert csv.headers["content-type"].startswith("text/csv"), csv.headers
    lines = csv.body.decode().split("\r\n")
    assert lines[0].startswith("reference,created_at,status"), lines[0]
    assert sum(1 for l in lines[1:] if l) == 3, lines   # midtown only
    assert REF_FIDI not in csv.body.decode()
    assert audit_rows("action = 'export' AND actor = 'sam'")


def test_forgery_refused():
    """a change without the CSRF token, with a wrong one, or from a
    foreign Origin is 403 even with the cookie; sign-in too"""
    c = Client()
    c.sign_in("sam")
    path = "/requests/%s" % REF_MID2
    assert c.patch(path, {"triage": "closed"}, csrf=False).status == 403
    c2 = Client()
    c2.cookie, c2.csrf = c.cookie, "x" * 43
    assert c2.patch(path, {"triage": "closed"}).status == 403
    evil = Client("https://evil.example")
    evil.cookie, evil.csrf = c.cookie, c.csrf
    assert evil.patch(path, {"triage": "closed"}).status == 403
    prefix = Client(ORIGIN + ".evil.example")
    prefix.cookie, prefix.csrf = c.cookie, c.csrf
    assert prefix.patch(path, {"triage": "closed"}).status == 403
    assert Client("null").sign_in("sam").status == 403
    assert Client("https://evil.example").sign_in("sam").status == 403
    assert c.get("/requests/" + REF_MID2).json()["triage"] == "new"
    assert c.patch(path, {"triage": "scheduled"}).status == 200


def test_admin_routes_403_for_staff():
    """every admin route answers 403 to staff"""
    c = Client()
    c.sign_in("sam")
    for m, p, b in (("GET", "/locations", None),
                    ("POST", "/locations", {"slug": "x", "name": "X"}),
                    ("PATCH", "/locations/midtown", {"name": "M"}),
                    ("POST", "/locations/midtown/routes",
                     {"email": "a@b.example"}),
                    ("DELETE", "/locations/midtown/routes/a@b.example", None),
                    ("GET", "/outbox", None), ("POST", "/outbox/1/retry", None),
                    ("POST", "/outbox/retry", {"status": "dead"}),
                    ("GET", "/users", None),
                    ("POST", "/users", {"username": "x", "role": "admin"}),
                    ("PATCH", "/users/sam", {"role": "admin"}),
                    ("POST", "/users/sam/reset-2fa", None),
                    ("GET", "/audit", None), ("GET", "/audit.csv", None)):
        r = c.call(m, p, b)
        assert r.status == 403, (m, p, r)
    assert S.sql("SELECT role FROM users WHERE username = 'sam'") == [
        ("staff",)]


def next_step(secret, name="ada"):
    """Waits for a TOTP step after the last one the account used, with a
    few seconds of it left (a code is taken once, for its own step)."""
    def ready():
        last = int(S.sql("SELECT totp_last_step FROM users WHERE username "
                         "= :'p1'", (name,))[0][0])
        return int(time.time()) // 30 > last and int(time.time()) % 30 < 27
    wait_for(ready, 40, "a new TOTP step", interval=0.2)


def test_admin_enrols_second_factor():
    """an admin must enrol: until then only /me, /me/2fa and sign-out;
    the QR code and secret; a confirmed code; then sign-in needs it,
    each code once, not two steps back"""
    global ADA_SECRET
    c = Client()
    r = c.sign_in("ada")
    assert r.status == 201 and r.json()["second_factor"] == "enrol", r
    assert c.get("/me").json()["second_factor"] == "enrol"
    assert c.get("/requests").status == 403
    assert c.post("/me/password", {"password": PASSWORDS["ada"],
                  "new_password": "another-long-one"}).status == 403
    assert c.post("/me/2fa", {"password": "wrong"}).status == 401
    e = c.post("/me/2fa", {"password": PASSWORDS["ada"]})
    assert e.status == 200, e
    secret, uri = e.json()["secret"], e.json()["uri"]
    assert uri.startswith("otpauth://totp/") and "secret=" + secret in uri
    assert e.json().get("qr_svg", "").startswith("<svg") or \
        "<svg" in e.json().get("qr_svg", ""), e.json().keys()
    assert secret not in open(os.path.join(S.dir, "console.log")).read()
    stored = S.sql("SELECT totp_pending FROM users WHERE username = 'ada'")
    assert stored[0][0].startswith("v1:") and secret not in stored[0][0]
    assert c.post("/me/2fa", {"code": "000000"}).status == 400
    assert c.post("/me/2fa", {"code": totp(secret)}).status == 204
    ADA_SECRET = secret
    assert c.get("/me").json()["second_factor"] == "on"
    assert c.get("/requests").status == 200
    c.delete("/session")
    # the code used to enrol cannot sign in again
    assert Client().sign_in("ada", code=totp(secret)).status == 401
    assert Client().sign_in("ada").status == 401   # no code
    assert Client().sign_in("ada", code=totp(secret, -2)).status == 401
    next_step(secret)
    code = totp(secret)
    ok = Client()
    assert ok.sign_in("ada", code=code).status == 201
    assert Client().sign_in("ada", code=code).status == 401   # reused
    assert ok.get("/requests").status == 200
    ADMIN.append(ok)


ADMIN = []


def admin():
    """The admin signed in with a second factor (one session for the
    tests that follow: a new one needs a new 30 s step)."""
    assert ADMIN, "test_admin_enrols_second_factor signs the admin in"
    return ADMIN[0]


def test_admin_locations_and_routes():
    """locations: list with routes, add, rename, thank-you URL set and
    cleared, disable (not the last); routes add and remove; each audited
    with old and new values"""
    a = admin()
    locs = a.get("/locations").json()
    assert [l["slug"] for l in locs] == ["midtown", "fidi", "woodbury"]
    assert set(locs[0]) == {"slug", "name", "thank_you_url", "active",
                            "routes", "next_email"}, locs[0]
    r = a.post("/locations", {"slug": "brooklyn", "name": " Brooklyn "})
    assert r.status == 201 and r.json()["name"] == "Brooklyn", r
    assert a.post("/locations", {"slug": "brooklyn", "name": "B"}).status \
        == 409
    for bad in ({"slug": "Bad Slug", "name": "x"}, {"slug": "ok", "name":
                "   "}, {"slug": "ok2", "name": "x", "thank_you_url":
                "//evil.example"}, {"slug": "ok3"}):
        assert a.post("/locations", bad).status == 400, bad
    r = a.patch("/locations/brooklyn", {"name": "Brooklyn Heights",
                "thank_you_url": "/thanks/bk/"})
    assert r.status == 200 and r.json()["thank_you_url"] == "/thanks/bk/"
    r = a.patch("/locations/brooklyn", {"thank_you_url": None})
    assert r.status == 200 and r.json()["thank_you_url"] is None, r
    assert a.patch("/locations/nowhere", {"name": "x"}).status == 404
    det = audit_rows("action = 'location_change' AND object = 'brooklyn'")
    assert det[0][3] == ('name: "Brooklyn" -> "Brooklyn Heights"; '
                         'thank_you_url: null -> "/thanks/bk/"'), det
    assert det[1][3] == 'thank_you_url: "/thanks/bk/" -> null', det
    r = a.post("/locations/woodbury/routes",
               {"email": "frontdesk.woodbury@clinic.example", "kind": "cc"})
    assert r.status == 201 and r.json() == {
        "email": "frontdesk.woodbury@clinic.example", "kind": "cc"}, r
    assert a.post("/locations/woodbury/routes", {"email":
                  "FRONTDESK.woodbury@clinic.example"}).status == 409
    assert a.post("/locations/woodbury/routes", {"email": "not an address"}
                  ).status == 400
    assert a.post("/locations/woodbury/routes", {"email": "a@b.example",
                  "kind": "reply"}).status == 400
    assert a.post("/locations/nowhere/routes", {"email": "a@b.example"}
                  ).status == 404
    assert a.delete("/locations/woodbury/routes/frontdesk.woodbury%40"
                    "clinic.example").status == 204
    assert a.delete("/locations/woodbury/routes/frontdesk.woodbury%40"
                    "clinic.example").status == 404
    acts = [r[1] for r in audit_rows("actor = 'ada'")]
    for want in ("location_add", "location_change", "route_add",
                 "route_remove"):
        assert want in acts, acts
    # disabling: fine while others are active
    assert a.patch("/locations/brooklyn", {"active": False}).json()[
        "active"] is False
    assert a.patch("/locations/brooklyn", {"active": "no"}).status == 400


def next_email(slug):
    locs = {l["slug"]: l for l in admin().get("/locations").json()}
    return locs[slug]["next_email"]


def test_admin_next_email():
    """each location's next_email: who the mailer will send its next
    message to, by the mailer's own rule (common/route.c): its routes,
    else [mail] default_to; in every answer that is a location"""
    a = admin()
    assert next_email("midtown") == {
        "to": ["midtown.desk@clinic.example"], "cc": [], "bcc": [],
        "default": False}, next_email("midtown")
    # brooklyn has no routes: [mail] default_to, said so
    assert next_email("brooklyn") == {
        "to": ["frontdesk@clinic.example"], "cc": [], "bcc": [],
        "default": True}, next_email("brooklyn")
    # a Bcc alone is a usable route: no default_to then
    assert a.post("/locations/brooklyn/routes", {
        "email": "owner@clinic.example", "kind": "bcc"}).status == 201
    assert next_email("brooklyn") == {
        "to": [], "cc": [], "bcc": ["owner@clinic.example"],
        "default": False}, next_email("brooklyn")
    for email, kind in (("bk.desk@clinic.example", "to"),
                        ("bk.manager@clinic.example", "cc"),
                        ("bk.second@clinic.example", "to")):
        assert a.post("/locations/brooklyn/routes", {
            "email": email, "kind": kind}).status == 201
    # in the order they were added, as the mailer reads them
    want = {"to": ["bk.desk@clinic.example", "bk.second@clinic.example"],
            "cc": ["bk.manager@clinic.example"],
            "bcc": ["owner@clinic.example"], "default": False}
    assert next_email("brooklyn") == want, next_email("brooklyn")
    # the answer of a change, or of an addition, carries it too
    r = a.patch("/locations/brooklyn", {"name": "Brooklyn"})
    assert r.status == 200 and r.json()["next_email"] == want, r
    r = a.post("/locations", {"slug": "queens", "name": "Queens"})
    assert r.status == 201 and r.json()["next_email"] == {
        "to": ["frontdesk@clinic.example"], "cc": [], "bcc": [],
        "default": True}, r
    # every route removed: back to default_to
    for email in ("owner@clinic.example", "bk.desk@clinic.example",
                  "bk.manager@clinic.example", "bk.second@clinic.example"):
        assert a.delete("/locations/brooklyn/routes/" + email.replace(
            "@", "%40")).status == 204
    assert next_email("brooklyn")["default"] is True
    assert next_email("brooklyn")["to"] == ["frontdesk@clinic.example"]
    # a console with a list for default_to, and one with none: the same
    # rule (the mailer's unit table, tests/unit/test_route.c)
    for i, (default_to, want) in enumerate((
            ("a@x.example, b@x.example;c@x.example",
             ["a@x.example", "b@x.example", "c@x.example"]), ("", []))):
        name = "console-dt%d" % i
        p = S.start_console(name, mail={"default_to": default_to})
        try:
            f = fdtest.FcgiClient(os.path.join(S.dir, name + ".sock"))
            f.begin({"REQUEST_METHOD": "GET", "REQUEST_URI": API +
                     "/locations", "SERVER_PORT": "80",
                     "HTTP_HOST": "staff.clinic.example",
                     "REMOTE_ADDR": "127.0.0.1",
                     "HTTP_COOKIE": "__Host-fd_session=" + a.cookie})
            f.stdin(b"")
            out = f.response().decode()
            assert "Status: 200" in out, out
            got = {l["slug"]: l for l in json.loads(out.split(
                "\r\n\r\n", 1)[1])}["brooklyn"]["next_email"]
            assert got == {"to": want, "cc": [], "bcc": [],
                           "default": True}, (default_to, got)
        finally:
            assert fdtest.stop(p) == 0


def test_admin_outbox():
    """failed mail: the list by status, one retried, all retried"""
    a = admin()
    S.sql("UPDATE outbox SET status = 'dead', last_error = '550 no such "
          "user' WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)")
    dead = a.get("/outbox?status=dead").json()
    assert len(dead) == 2 and dead[0]["last_error"] == "550 no such user"
    assert set(dead[0]) == {"id", "reference", "location", "status",
                            "attempts", "queued", "next_or_sent",
                            "last_error"}, dead[0]
    assert a.get("/outbox?status=lost").status == 400
    one = dead[0]["id"]
    assert a.post("/outbox/%d/retry" % one).status == 200
    assert a.post("/outbox/%d/retry" % one).status == 409   # not dead now
    assert a.post("/outbox/999999/retry").status == 404
    r = a.post("/outbox/retry", {"status": "dead"})
    assert r.status == 200 and r.json() == {"retried": 1}, r
    assert a.post("/outbox/retry", {"status": "sent"}).status == 400
    assert S.count("outbox", "status = 'dead'") == 0


def test_admin_users():
    """accounts: list, add (the password shown once), change role and
    locations, disable (its sessions end), enable, reset the second
    factor"""
    a = admin()
    users = {u["username"]: u for u in a.get("/users").json()}
    assert users["ada"]["second_factor"] == "on", users
    assert users["sam"]["locations"] == ["midtown"], users
    assert set(users["sam"]) >= {"username", "role", "locations", "enabled",
                                 "second_factor", "last_sign_in"}
    r = a.post("/users", {"username": "wes", "role": "staff",
                          "locations": ["woodbury"]})
    assert r.status == 201, r
    pw = r.json()["password"]
    assert len(pw) >= 12, r
    assert pw not in json.dumps(audit_rows()), "password in the audit log"
    assert a.post("/users", {"username": "wes", "role": "staff",
                  "locations": ["woodbury"]}).status == 409
    for bad in ({"username": "Bad Name", "role": "staff", "locations":
                ["fidi"]}, {"username": "x1", "role": "staff"},
                {"username": "x2", "role": "admin", "locations": ["fidi"]},
                {"username": "x3", "role": "boss"},
                {"username": "x4", "role": "staff", "locations":
                 ["nowhere"]}):
        assert a.post("/users", bad).status == 400, bad
    w = Client()
    assert w.sign_in("wes", pw).status == 201
    assert [x["location"] for x in w.get("/requests").json()["requests"]] \
        == []
    r = a.patch("/users/wes", {"locations": ["fidi"]})
    assert r.status == 200 and r.json()["locations"] == ["fidi"], r
    # keeping a location while adding another, then dropping one
    r = a.patch("/users/wes", {"locations": ["fidi", "woodbury"]})
    assert r.status == 200 and r.json()["locations"] == [
        "fidi", "woodbury"], r
    r = a.patch("/users/wes", {"locations": ["fidi"]})
    assert r.status == 200 and r.json()["locations"] == ["fidi"], r
    assert [x["reference"] for x in w.get("/requests").json()["requests"]] \
        == [REF_FIDI]
    assert a.patch("/users/wes", {"enabled": False}).status == 200
    assert w.get("/me").status == 401
    assert Client().sign_in("wes", pw).status == 401
    assert a.patch("/users/wes", {"enabled": True}).status == 200
    assert a.patch("/users/nobody", {"enabled": True}).status == 404
    assert a.post("/users/sam/reset-2fa").status == 204
    assert a.post("/users/nobody/reset-2fa").status == 404
    acts = [r[1] for r in audit_rows("object = 'wes'")]
    assert "user_add" in acts and "user_change" in acts, acts
    det = audit_rows("action = 'user_change' AND object = 'wes'")
    assert any("enabled: true -> false" in d[3] for d in det), det


def test_admin_audit_log():
    """the audit log: newest first, by user and by reference, paged, and
    as CSV"""
    a = admin()
    r = a.get("/audit?user=sam&limit=2")
    assert r.status == 200, r
    rows = r.json()["rows"]
    assert len(rows) == 2 and all(x["user"] == "sam" for x in rows), rows
    assert set(rows[0]) == {"at", "user", "address", "action", "object",
                            "detail"}, rows[0]
    assert rows[0]["address"] == "127.0.0.1", rows[0]
    nxt = r.json()["next"]
    assert nxt
    r2 = a.get("/audit?user=sam&limit=2&before=" + nxt).json()
    assert r2["rows"] and r2["rows"][0]["at"] <= rows[-1]["at"], r2
    by_ref = a.get("/audit?reference=" + REF_MID).json()["rows"]
    assert by_ref and all(x["object"] == REF_MID for x in by_ref), by_ref
    assert a.get("/audit?since=2026-02-30").status == 400
    csv = a.get("/audit.csv?user=sam")
    assert csv.status == 200 and csv.body.startswith(
        b"at,user,address,action,object,detail\r\n"), csv


def test_sessions_end():
    """sign-out, the idle timeout, session_max, a password change and
    disabling all end a session: 401; a background poll keeps nobody
    signed in"""
    c = Client()
    c.sign_in("sam")
    assert c.delete("/session").status == 204
    assert c.get("/me").status == 401
    # idle: the session's last request by a person was long ago
    c = Client()
    c.sign_in("sam")
    before = S.sql("SELECT last_seen FROM sessions ORDER BY id DESC "
                   "LIMIT 1")[0][0]
    time.sleep(0.05)
    assert c.get("/me", headers={"X-Background": "1"}).status == 200
    assert S.sql("SELECT last_seen FROM sessions ORDER BY id DESC LIMIT 1"
                 )[0][0] == before, "a poll touched the session"
    assert c.get("/me").status == 200
    assert S.sql("SELECT last_seen FROM sessions ORDER BY id DESC LIMIT 1"
                 )[0][0] != before, "a person's request did not touch it"
    S.sql("UPDATE sessions SET last_seen = now() - interval '901 seconds'")
    r = c.get("/me")
    assert r.status == 401 and "Max-Age=0" in r.headers.get(
        "set-cookie", ""), r
    c = Client()
    c.sign_in("sam")
    S.sql("UPDATE sessions SET created_at = now() - interval '12 hours 1 "
          "second'")
    assert c.get("/me").status == 401
    # a password change ends the user's other sessions
    one, two = Client(), Client()
    one.sign_in("sam")
    two.sign_in("sam")
    r = one.post("/me/password", {"password": PASSWORDS["sam"],
                 "new_password": "short"})
    assert r.status == 400, r
    r = one.post("/me/password", {"password": "wrong-one-entirely",
                 "new_password": "a-new-long-password"})
    assert r.status == 401, r
    r = one.post("/me/password", {"password": PASSWORDS["sam"],
                 "new_password": "a-new-long-password"})
    assert r.status == 204, r
    PASSWORDS["sam"] = "a-new-long-password"
    assert two.get("/me").status == 401
    assert one.get("/me").status == 200
    assert Client().sign_in("sam").status == 201
    # disabling, from frontdeskctl
    S.ctl("user", "disable", "sam")
    assert one.get("/me").status == 401
    S.ctl("user", "enable", "sam")


def test_lockout():
    """lockout_after failures lock the account: the answer stays the
    same 401, the right password too; audited; enable lifts it"""
    add_user("lou", "staff", "woodbury")
    answers = set()
    for _ in range(5):
        r = Client().sign_in("lou", "not-lous-password")
        assert r.status == 401
        answers.add(r.body)
    r = Client().sign_in("lou")
    assert r.status == 401 and r.body in answers, r
    assert len(answers) == 1
    assert audit_rows("action = 'lockout' AND object = 'lou'")
    S.ctl("user", "enable", "lou")
    assert Client().sign_in("lou").status == 201


def test_security_headers_everywhere():
    """every answer, errors and the pages' 404 included, carries no-store,
    nosniff, no-referrer and a CSP with frame-ancestors 'none' and no
    unsafe-inline"""
    c = Client()
    c.sign_in("fay")
    for r in (c.get("/me"), c.get("/requests"), c.get("/nowhere"),
              Client().get("/me"), c.post("/session", {"x": 1}),
              S.get("/console/"), S.get("/console/requests/" + REF_FIDI)):
        h = r.headers
        assert h.get("cache-control") == "no-store", (r, h)
        assert h.get("x-content-type-options") == "nosniff", h
        assert h.get("referrer-policy") == "no-referrer", h
        csp = h.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in \
            csp, h


def test_api_refuses_what_it_does_not_know():
    """a wrong method: 405 with every method in Allow; a path outside the
    table: 404; a body over 64 KiB: 413; JSON errors are {"error"}"""
    c = Client()
    c.sign_in("fay")
    r = c.call("PUT", "/requests/" + REF_FIDI, {"triage": "new"})
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD, PATCH", r
    assert c.get("/nothing/here").status == 404
    big = c.post("/requests/%s/notes" % REF_FIDI, {"text": "x" * 70000})
    assert big.status == 413, big
    assert "error" in c.get("/nothing").json()


def test_remote_user():
    """auth = remote_user: the web server's REMOTE_USER parameter signs in
    (a session, audited); a client's Remote-User header is only
    HTTP_REMOTE_USER and never trusted; an unknown account is 403"""
    p = S.start_console("console-ru", console={"auth": "remote_user"})
    sock = os.path.join(S.dir, "console-ru.sock")

    def call(params):
        f = fdtest.FcgiClient(sock)
        base = {"REQUEST_METHOD": "GET", "REQUEST_URI": API + "/me",
                "SERVER_PORT": "80", "HTTP_HOST": "staff.clinic.example",
                "REMOTE_ADDR": "127.0.0.1"}
        base.update(params)
        f.begin(base)
        f.stdin(b"")
        return f.response().decode()

    try:
        out = call({"REMOTE_USER": "FAY"})
        assert "Status: 200" in out, out
        assert json.loads(out.split("\r\n\r\n", 1)[1])["username"] == \
            "fay", out
        assert "__Host-fd_session=" in out, out
        assert audit_rows("action = 'sign_in' AND detail = 'remote_user'")
        out = call({"HTTP_REMOTE_USER": "fay"})
        assert "Status: 401" in out, out
        out = call({"REMOTE_USER": "nobody"})
        assert "Status: 403" in out, out
        f = fdtest.FcgiClient(sock)
        f.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": API + "/session",
                 "REMOTE_USER": "fay", "CONTENT_LENGTH": "2",
                 "HTTP_HOST": "staff.clinic.example", "SERVER_PORT": "80"})
        f.stdin(b"{}")
        f.stdin(b"")
        assert "Status: 404" in f.response().decode()
    finally:
        assert fdtest.stop(p) == 0


def test_audit_log_append_only_for_the_console():
    """the console's role may add and read audit rows, never change or
    remove them"""
    conn = S.cluster.conninfo(S.db, "fdt_console")
    ok = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                         conn, "-c", "INSERT INTO audit_log (actor, action) "
                         "VALUES ('t', 'view'); SELECT count(*) FROM "
                         "audit_log"], capture_output=True)
    assert ok.returncode == 0, ok
    for sql in ("UPDATE audit_log SET detail = 'x'",
                "DELETE FROM audit_log", "TRUNCATE audit_log"):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", conn, "-c", sql], capture_output=True)
        assert r.returncode != 0 and b"permission denied" in r.stderr, (
            sql, r)


def test_alias_leads_to_its_request():
    """a reference an answer gave during an outage for a post stored
    before it (an alias) leads to that request: the whole request, the
    search, a resend, each audited under the request's own reference; an
    alias of a request outside the caller's locations is 404 (issue 12)"""
    S.sql("INSERT INTO reference_aliases (alias, reference) VALUES "
          "('FD-A11A5000', :'p1'), ('FD-A11A5001', :'p2')",
          (REF_MID2, REF_FIDI))
    c = Client()
    c.sign_in("sam")
    r = c.get("/requests/FD-A11A5000")
    assert r.status == 200 and r.json()["reference"] == REF_MID2, r
    assert audit_rows("action = 'view'")[-1][2] == REF_MID2
    got = c.get("/requests?q=fd-a11a5000").json()["requests"]
    assert [x["reference"] for x in got] == [REF_MID2], got
    before = S.count("outbox")
    assert c.post("/requests/FD-A11A5000/resend").status == 202
    assert S.count("outbox") == before + 1
    assert audit_rows("action = 'resend'")[-1][2] == REF_MID2
    assert c.get("/requests/FD-A11A5001").status == 404
    assert c.get("/requests?q=FD-A11A5001").json()["requests"] == []


def test_metrics():
    """GET /metrics: sign-ins by outcome, lockouts, answers by status"""
    r = S.get(API + "/metrics")
    assert r.status == 200, r
    t = r.body.decode()
    assert re.search(r'frontdesk_console_sign_ins_total\{outcome="ok"\} '
                     r'[1-9]', t), t
    assert re.search(r'frontdesk_console_lockouts_total [1-9]', t), t
    assert re.search(r'frontdesk_console_http_answers_total\{status="403"\} '
                     r'[1-9]', t), t


def test_stops_cleanly():
    """SIGTERM: exit 0, its socket gone"""
    assert fdtest.stop(CONSOLE) == 0
    assert not os.path.exists(S.console_socket)


fdtest.run(globals())
