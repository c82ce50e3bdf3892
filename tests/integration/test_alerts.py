#!/usr/bin/python3
"""Nobody is left unaware when mail dies, on three paths: the mailer's
alert digests to [mail] alert_to (straight to SMTP, each death once across
restarts and several mailers), /metrics for Prometheus (the rules in
conf/prometheus/ against the real metrics), and the console's banner data
in an admin's GET /me.

The SMTP server (smtpd_fault.py) refuses the front desks' addresses with a
550 and takes the alert addresses: one [smtp] url serves both, as in
production. Time passes honestly (alert_interval = 60) once; elsewhere the
digest's clock is moved back in the database, as if the minute had gone."""
import base64
import email
import email.policy
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
import mailtest as mt
from fdtest import maria, wait_for

ALERT_TO = ["alerts@clinic.example", "oncall@clinic.example"]
URL = "https://staff.clinic.example/console/"
INTERVAL = 60
REFUSED = ["midtown.desk@clinic.example", "fidi.desk@clinic.example"]
RULES = os.path.join(fdtest.SOURCE, "conf", "prometheus",
                     "frontdesk-rules.yml")
API = "/console/api"

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster, start=False, conf={"mail": {
    "alert_to": ", ".join(ALERT_TO), "alert_interval": str(INTERVAL),
    "console_url": URL}})
S.ctl("location", "add", "annex", "--name", "Annex \u2013 Queens")
SMTP_REFUSING = ["--reject", REFUSED[0], "--reject", REFUSED[1]]
mt.start_smtpd(S, *SMTP_REFUSING)
S.start_console()
S.start_frontdesk()
S.start_nginx()
ORIGIN = "http://127.0.0.1:%d" % S.port

# One patient per request, every value distinct, none of them a word any
# alert would use: if one reaches an alert, the check below sees it.
PATIENTS = []


def patient(n, **over):
    f = maria(first_name="Rosalind%s" % chr(65 + n),
              last_name="Quetzalcoatl%s" % chr(65 + n),
              email="rosalind.q%d@example.com" % n,
              phone="(212) 555-01%02d" % (50 + n),
              service="Sciatica rehab Zyx%d" % n,
              preferred_time="Thursday evenings Qwv%d" % n,
              message="Numbness in the left foot, Plk%d.\nSince May." % n)
    f.update(over)
    PATIENTS.append(f)
    return f


def patient_values():
    """Every patient value posted, and its recognisable pieces (the
    phone's digits, the email's local part, each line of the message)."""
    out = set()
    for f in PATIENTS:
        for k in ("first_name", "last_name", "email", "phone", "service",
                  "preferred_time", "message"):
            out.add(f[k])
        out.add(re.sub(r"\D", "", f["phone"]))
        out.add(f["phone"][-8:])
        out.add(f["email"].split("@")[0])
        out.update(line for line in f["message"].split("\n") if line)
    return sorted(out)


def post(n, **over):
    r = S.post(patient(n, **over))
    assert r.status == 201, r
    return r.json()["reference"]


def dead_count():
    return mt.outbox_status(S).get("dead", 0)


def wait_dead(n):
    """Until at least n messages are dead."""
    return mt.wait_status(S, "dead", n, 20)


def alerts():
    """The alert digests the SMTP server took, oldest first:
    (raw bytes, parsed)."""
    out = []
    for raw in mt.raw_messages(S):
        m = mt.parse(raw)
        if m["X-Frontdesk-Alert"] is not None:
            out.append((raw, m))
    return out


def wait_alerts(n, timeout):
    return wait_for(lambda: len(alerts()) >= n and alerts(), timeout,
                    what=lambda: "%d alerts (have %d); mailer log: %s" % (
                        n, len(alerts()), S.log("mailer")[-2000:]),
                    interval=0.1)


def decoded_texts(m):
    """Every header decoded and every part's decoded text."""
    out = ["%s: %s" % (k, v) for k, v in m.items()]
    for part in m.walk():
        if part.get_content_maintype() == "multipart":
            continue
        out.extend("%s: %s" % (k, v) for k, v in part.items())
        out.append(part.get_content())
    return out


def check_no_patient_data(raw, m):
    """None of the patients' values anywhere: raw bytes, decoded headers,
    decoded parts (case-insensitive)."""
    values = [v.lower() for v in patient_values() if len(v) >= 4]
    hay = [raw.decode("ascii", "replace").lower()] + \
        [t.lower() for t in decoded_texts(m)]
    found = [v for v in values for h in hay if v in h]
    assert not found, found


def digest_refs(m):
    return re.findall(r"^(FD-[0-9A-Z]{8})  ", mt.text(m), re.M)


def deaths(where="true"):
    return S.sql("SELECT r.reference, d.alerted_at IS NOT NULL, d.reply"
                 " FROM mail_deaths d JOIN outbox o ON o.id = d.outbox_id"
                 " JOIN appointment_requests r ON r.id = o.request_id"
                 " WHERE %s ORDER BY d.id" % where)


def pass_the_interval():
    """As if alert_interval had passed since the last digest (sent or
    failed): its clock moves back."""
    S.sql("UPDATE mail_alert_state SET last_attempt_at = last_attempt_at -"
          " make_interval(secs => %d), last_sent_at = last_sent_at -"
          " make_interval(secs => %d)" % (INTERVAL, INTERVAL))


def ago(interval):
    """A timestamp interval ago, as the database writes it."""
    return S.sql("SELECT (now() - interval '%s')::text" % interval)[0][0]


def last_attempt_age():
    return float(S.sql("SELECT extract(epoch FROM now() - last_attempt_at)"
                       " FROM mail_alert_state")[0][0])


def mailer_log_pairs():
    return [fdtest.logfmt(line) for line in S.log("mailer").splitlines()
            if line.startswith("ts=")]


MAILER = []


def test_first_death_alerted_at_once():
    """a post through nginx; the front desk's server answers 550: the
    message dies and alert_to hears of it within a minute (here within
    seconds), in one message with the reference, the location's name, the
    reply and the console link, and no patient data"""
    MAILER.append(S.start_mailer())
    sent = post(9, location="woodbury")    # its desk takes mail
    dead = dead_count()
    ref = post(0)
    wait_dead(dead + 1)
    t_dead = time.monotonic()
    (raw, m), = wait_alerts(1, 60)
    took = time.monotonic() - t_dead
    assert took < 15, took
    assert str(m["Subject"]) == \
        "frontdesk: 1 message could not be delivered", m["Subject"]
    assert [a.addr_spec for a in m["To"].addresses] == ALERT_TO, m["To"]
    assert sorted(str(m["X-RcptTo"]).split(", ")) == sorted(ALERT_TO), \
        m["X-RcptTo"]
    assert m["From"].addresses[0].addr_spec == "appointments@clinic.example"
    assert str(m["Auto-Submitted"]) == "auto-generated"
    assert m.get_content_type() == "text/plain"
    body = mt.text(m)
    assert digest_refs(m) == [ref], body
    assert "%s  Midtown Manhattan\n" % ref in body, body
    assert ("  Reply:    550 5.1.1 <%s>: mailbox unavailable\n" % REFUSED[0]
            in body), body
    assert "  Attempts: 1\n" in body, body
    assert "  Console:  %srequests/%s\n" % (URL, ref) in body, body
    check_no_patient_data(raw, m)
    # The check can fail: the notification that went out holds them.
    mt.wait_status(S, "sent", 1, 20)
    note = [r for r in mt.raw_messages(S) if sent.encode() in r]
    assert len(note) == 1
    try:
        check_no_patient_data(note[0], mt.parse(note[0]))
        raise RuntimeError("the check missed a full notification")
    except AssertionError as e:
        assert "rosalind.q9@example.com" in str(e), e
    # CRLF, short lines
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")[2:]) <= 78
    assert deaths() == [(ref, "t", "550 5.1.1 <%s>: mailbox unavailable"
                         % REFUSED[0])], deaths()
    sent = [p for p in mailer_log_pairs() if p["event"] == "alert_sent"]
    assert len(sent) == 1 and sent[0]["deaths"] == "1", sent


def test_next_death_waits_for_the_digest_across_a_restart():
    """the mailer restarts; a second death within alert_interval gets no
    alert of its own, and the first is not alerted again; once the
    interval has passed, the next digest holds the second alone"""
    assert fdtest.stop(MAILER.pop()) == 0
    MAILER.append(S.start_mailer())
    dead = dead_count()
    ref = post(1, location="fidi")
    wait_dead(dead + 1)
    time.sleep(2.5 * 5)   # two and a half of the mailer's 5 s checks
    assert len(alerts()) == 1, len(alerts())
    assert deaths("NOT d.alerted_at IS NOT NULL") == \
        [(ref, "f", "550 5.1.1 <%s>: mailbox unavailable" % REFUSED[1])]
    assert last_attempt_age() < INTERVAL
    pass_the_interval()
    (raw, m) = wait_alerts(2, 15)[1]
    assert digest_refs(m) == [ref], mt.text(m)
    assert "%s  Financial District\n" % ref in mt.text(m)
    check_no_patient_data(raw, m)
    assert all(a == "t" for _, a, _ in deaths()), deaths()


def test_two_mailers_one_digest_after_the_interval():
    """two mailers run; three messages die between them just after a
    digest; the next comes alert_interval after it (honest time: 60 s),
    once, listing the three"""
    MAILER.append(S.start_mailer())
    pass_the_interval()      # a digest now, so the next is a minute away
    before, dead = len(alerts()), dead_count()
    ref0 = post(2, location="fidi")
    wait_dead(dead + 1)
    wait_alerts(before + 1, 15)
    t_last = time.monotonic() - last_attempt_age()
    refs = mt.insert_requests(S, 3, fields=dict(
        (k, v) for k, v in patient(3).items()
        if k in ("first_name", "last_name", "email", "phone", "service",
                 "preferred_time", "message")))
    wait_dead(dead + 4)
    assert len(alerts()) == before + 1
    (raw, m) = wait_alerts(before + 2, INTERVAL + 15)[before + 1]
    waited = time.monotonic() - t_last
    assert INTERVAL - 1 <= waited <= INTERVAL + 12, waited
    assert str(m["Subject"]) == \
        "frontdesk: 3 messages could not be delivered", m["Subject"]
    assert sorted(digest_refs(m)) == sorted(refs), (digest_refs(m), refs)
    assert ref0 not in digest_refs(m)
    check_no_patient_data(raw, m)
    time.sleep(2.5 * 5)
    assert len(alerts()) == before + 2, len(alerts())
    beats = S.sql("SELECT count(*) FROM mailer_heartbeats"
                  " WHERE at > now() - interval '10 seconds'")[0][0]
    assert beats == "2", beats


def once_mailers(n):
    """n frontdesk-mailer --once started together; their logs."""
    procs = [subprocess.Popen([S.program("frontdesk-mailer"), "-c",
                               S.mailer_conf_path, "--once"],
                              stderr=subprocess.PIPE) for _ in range(n)]
    return procs


def finish(procs):
    logs = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), logs
    with open(os.path.join(S.dir, "mailer.log"), "a") as f:
        f.write("".join(logs))
    return logs


def test_racing_mailers_send_one_digest():
    """a digest due and its row locked (as by a mailer claiming it): six
    mailers skip it, none waits to send it after; unlocked, six mailers
    --once at the same instant send it once. A death made by hand (an
    UPDATE) is recorded too"""
    while MAILER:
        assert fdtest.stop(MAILER.pop()) == 0
    ref, = mt.insert_requests(S, 1, slug="woodbury", created=ago("1 hour"))
    S.sql("UPDATE outbox SET status = 'dead', last_error = 'by hand'"
          " WHERE status = 'pending'")
    assert deaths("NOT d.alerted_at IS NOT NULL") == [(ref, "f", "by hand")]
    pass_the_interval()
    before = len(alerts())
    with cluster.session(S.db) as holder:
        holder.send("BEGIN;\nSELECT 'locked' FROM mail_alert_state"
                    " FOR UPDATE;")
        assert holder.line() == "locked"
        procs = once_mailers(6)
        time.sleep(1.5)    # under their statement_timeout (2.5 s)
        holder.end()
    logs = finish(procs)
    assert len(alerts()) == before, (len(alerts()), logs)
    assert not any("event=alert_" in log for log in logs), logs
    logs = finish(once_mailers(6))
    assert len(alerts()) == before + 1, (len(alerts()), logs)
    assert sum(log.count("event=alert_sent") for log in logs) == 1, logs
    (raw, m) = alerts()[-1]
    assert digest_refs(m) == [ref], mt.text(m)
    assert "Woodbury, Long Island" in mt.text(m)
    assert "  Reply:    by hand\n" in mt.text(m)


def test_failed_alert_tried_with_the_next_digest():
    """the server refuses the alert addresses too: the alert fails, its
    death stays unalerted and is not retried at once; with the next
    digest (the server fixed) it arrives"""
    mt.stop_smtpd(S)
    mt.start_smtpd(S, *(SMTP_REFUSING + ["--reject", ALERT_TO[0],
                                         "--reject", ALERT_TO[1]]))
    pass_the_interval()
    before = len(alerts())
    MAILER.append(S.start_mailer())
    dead = dead_count()
    ref = post(4)
    wait_dead(dead + 1)
    wait_for(lambda: "event=alert_failed" in S.log("mailer"), 15,
             "alert_failed")
    failed = [p for p in mailer_log_pairs() if p["event"] == "alert_failed"]
    assert failed[-1]["smtp_code"] == "550" and \
        "mailbox unavailable" in failed[-1]["reply"], failed
    assert deaths("NOT d.alerted_at IS NOT NULL") == \
        [(ref, "f", "550 5.1.1 <%s>: mailbox unavailable" % REFUSED[0])]
    mt.stop_smtpd(S)
    mt.start_smtpd(S, *SMTP_REFUSING)
    time.sleep(2.5 * 5)
    assert len(alerts()) == before, "retried before the next digest"
    pass_the_interval()
    (raw, m) = wait_alerts(before + 1, 15)[before]
    assert digest_refs(m) == [ref], mt.text(m)
    check_no_patient_data(raw, m)
    assert deaths("NOT d.alerted_at IS NOT NULL") == []


def test_give_up_after_is_a_death():
    """a message given up on (give_up_after, here with no recipient to
    try) is a death like a refusal, and is alerted"""
    while MAILER:
        assert fdtest.stop(MAILER.pop()) == 0
    ref, = mt.insert_requests(S, 1, slug="annex",
                              created=ago("10 minutes"))
    conf = mt.mailer_conf(S, "giveup.conf", mail={
        "default_to": "", "give_up_after": "60"})
    pass_the_interval()
    before = len(alerts())
    rc, log = mt.run_once(S, conf)
    assert rc == 0, log
    assert "event=mail_dead" in log and "event=alert_sent" in log, log
    (raw, m) = alerts()[before]
    body = mt.text(m)
    assert digest_refs(m) == [ref], body
    assert "%s  Annex \u2013 Queens\n" % ref in body, body
    assert "  Reply:    no recipients: the location has no routes" in body
    check_no_patient_data(raw, m)


def test_bad_alert_to_refused_at_start():
    """alert_to with a display name or a stray word: the mailer will not
    start, in one logfmt line naming the key"""
    for bad in ("Ops <ops@clinic.example>", "ops@clinic.example, oops"):
        conf = mt.mailer_conf(S, "bad.conf", mail={"alert_to": bad})
        rc, log = mt.run_once(S, conf)
        lines = log.strip().splitlines()
        assert rc == 1 and len(lines) == 1, log
        p = fdtest.logfmt(lines[0])
        assert p["event"] == "config_invalid" and \
            p["key"] == "[mail] alert_to", p


# -- the console's banner data
def totp(secret, t=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((t if t is not None else time.time()) // 30)
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff)
                     % 1000000)


class Client:
    def __init__(self):
        self.cookie = self.csrf = None

    def call(self, method, path, body=None):
        h = {"Accept": "application/json"}
        if self.cookie:
            h["Cookie"] = "__Host-fd_session=" + self.cookie
        if method != "GET":
            h["Origin"] = ORIGIN
            if self.csrf:
                h["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        r = S.request(method, API + path, body=data, headers=h)
        c = re.search(r"__Host-fd_session=([^;]*)",
                      r.headers.get("set-cookie", ""))
        if c:
            self.cookie = c.group(1) or None
        return r

    def sign_in(self, name, password):
        r = self.call("POST", "/session", {"username": name,
                                           "password": password})
        if r.status == 201:
            self.csrf = r.json()["csrf"]
        return r


def test_console_banner_data():
    """an admin's GET /me carries mail.dead and mail.oldest_pending_seconds
    (not while enrolling, never for staff); staff see delivery "dead" on
    the request whose email failed"""
    S.ctl("user", "add", "ada", "--role", "admin", "--password-stdin",
          input="ada-long-enough-password\n")
    S.ctl("user", "add", "sam", "--role", "staff", "--location", "midtown",
          "--password-stdin", input="sam-long-enough-password\n")
    a = Client()
    assert a.sign_in("ada", "ada-long-enough-password").status == 201
    me = a.call("GET", "/me").json()
    assert me["second_factor"] == "enrol" and "mail" not in me, me
    e = a.call("POST", "/me/2fa", {"password": "ada-long-enough-password"})
    assert e.status == 200, e
    r = a.call("POST", "/me/2fa", {"code": totp(e.json()["secret"])})
    assert r.status == 204, r
    dead = S.count("outbox", "status = 'dead'")
    assert dead > 0, dead
    me = a.call("GET", "/me").json()
    assert me["second_factor"] == "on", me
    assert me["mail"] == {"dead": dead, "oldest_pending_seconds": 0}, me
    # a message waiting 20 minutes (its next try an hour away): long-stuck
    ref, = mt.insert_requests(S, 1, slug="woodbury",
                              created=ago("20 minutes"))
    S.sql("UPDATE outbox SET next_attempt_at = now() + interval '1 hour'"
          " WHERE status = 'pending'")
    mail = a.call("GET", "/me").json()["mail"]
    assert mail["dead"] == dead and 1200 <= mail["oldest_pending_seconds"] \
        < 1300, mail
    S.sql("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")
    # staff: no banner data; their request's delivery is "dead"
    s = Client()
    assert s.sign_in("sam", "sam-long-enough-password").status == 201
    me = s.call("GET", "/me").json()
    assert me["role"] == "staff" and "mail" not in me, me
    ref = deaths()[0][0]
    r = s.call("GET", "/requests/" + ref)
    assert r.status == 200 and r.json()["delivery"] == "dead", r
    listed = s.call("GET", "/requests").json()["requests"]
    assert [x["delivery"] for x in listed if x["reference"] == ref] == \
        ["dead"], listed


# -- /metrics against the rules
def parse_exposition(text):
    """Prometheus text format 0.0.4: {family: type} and [(name, labels,
    value)]. Raises AssertionError on a line that is not well formed or a
    sample outside a declared family."""
    types, samples = {}, []
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                        r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                        r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?'
                        r'\})? (\S+)$')
    for line in text.split("\n"):
        if line == "":
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary",
                            "untyped"), line
            assert name not in types, "TYPE twice: " + line
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = sample.match(line)
        assert m, "not a sample: %r" % line
        name, value = m.group(1), m.group(3)
        float(value)   # +Inf, NaN and numbers
        family = name
        if name not in types:
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert types.get(family) == "histogram", \
                "%s outside any TYPE" % name
        samples.append((name, m.group(2) or "", value))
    return types, samples


def rule_metrics():
    """{metric: type the rules need}: a metric under rate() or increase()
    must be a counter, any other a gauge."""
    lines = open(RULES).read().split("\n")
    exprs = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(- )?expr:(.*)$", line)
        if not m:
            continue
        indent, e = len(m.group(1)), [m.group(3)]
        for more in lines[i + 1:]:
            if more.strip() and len(more) - len(more.lstrip()) <= indent:
                break
            e.append(more)
        exprs.append(" ".join(e))
    assert exprs, "no expr in " + RULES
    out = {}
    for e in exprs:
        for name in re.findall(r"\b(frontdesk_[a-z_]+)", e):
            counter = re.search(r"(rate|increase)\(\s*" + name, e)
            out[name] = "counter" if counter else "gauge"
    return out


def scrape(path):
    r = S.get(path)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def test_every_metric_the_rules_use_is_scraped():
    """every metric a rule in conf/prometheus/frontdesk-rules.yml uses is
    in frontdesk's /api/metrics or the console's /console/api/metrics, with
    the TYPE the rule needs; promtool check metrics passes both"""
    MAILER.append(S.start_mailer())
    wait_for(lambda: S.sql("SELECT count(*) FROM mailer_heartbeats WHERE"
                           " at > now() - interval '3 seconds'")[0][0]
             != "0", 15, "a heartbeat")
    texts = [scrape("/api/metrics"), scrape(API + "/metrics")]
    types = {}
    for t in texts:
        ty, _ = parse_exposition(t)
        types.update(ty)
        r = subprocess.run(["promtool", "check", "metrics"], input=t.encode(),
                           capture_output=True)
        assert r.returncode == 0, r.stdout + r.stderr
    need = rule_metrics()
    assert {"frontdesk_outbox_dead", "frontdesk_outbox_oldest_pending_seconds",
            "frontdesk_mailer_heartbeat_age_seconds",
            "frontdesk_http_requests_total"} <= set(need), need
    wrong = dict((n, (k, types.get(n))) for n, k in need.items()
                 if types.get(n) != k)
    assert not wrong, wrong
    _, samples = parse_exposition(texts[0])
    vals = dict((n + l, float(v)) for n, l, v in samples)
    assert vals["frontdesk_outbox_dead"] == S.count("outbox",
                                                    "status = 'dead'")
    assert 0 <= vals["frontdesk_mailer_heartbeat_age_seconds"] < 8, vals


def heartbeat_metric():
    _, samples = parse_exposition(scrape("/api/metrics"))
    return [v for n, _, v in samples
            if n == "frontdesk_mailer_heartbeat_age_seconds"]


def test_heartbeat_age_when_the_mailer_stops():
    """no mailer writes: the age grows past the rule's 120 s; no
    heartbeat at all: +Inf; the database down: absent"""
    while MAILER:
        assert fdtest.stop(MAILER.pop()) == 0
    S.sql("UPDATE mailer_heartbeats SET at = at - interval '200 seconds'")
    age = float(heartbeat_metric()[0])
    assert 200 <= age < 215, age
    S.sql("DELETE FROM mailer_heartbeats")
    assert heartbeat_metric() == ["+Inf"], heartbeat_metric()
    cluster.stop()
    try:
        text = scrape("/api/metrics")
        assert "frontdesk_database_up 0" in text, text
        assert "frontdesk_mailer_heartbeat_age_seconds" not in text, text
    finally:
        cluster.start()
    wait_for(lambda: S.get("/api/healthz").status == 200, 15, "reconnect")


def test_purge_takes_deaths_with_their_requests():
    """frontdeskctl purge --include-undelivered (its own role) removes an
    old request whose message died, its death included"""
    ref, = mt.insert_requests(S, 1, created=ago("3 days"))
    S.sql("UPDATE outbox SET status = 'dead' WHERE status = 'pending'")
    assert deaths("r.reference = '%s'" % ref)
    r = S.ctl("purge", "--older-than", "1")    # keeps undelivered ones
    assert r.returncode == 0, r
    assert deaths("r.reference = '%s'" % ref)
    r = S.ctl("purge", "--older-than", "1", "--include-undelivered")
    assert r.returncode == 0, r
    assert not deaths("r.reference = '%s'" % ref), deaths()
    assert S.count("appointment_requests", "reference = '%s'" % ref) == 0


def test_each_role_only_what_it_needs():
    """the web role reads the heartbeats' times and nothing else of 008;
    no program's role can add, change or remove a death (the trigger
    writes them) but the mailer, which marks them alerted"""
    def can(role, sql):
        try:
            cluster.psql(sql, db=S.db, user="fdt_" + role)
            return True
        except RuntimeError as e:
            assert "permission denied" in str(e), e
            return False
    assert can("web", "SELECT max(at) FROM mailer_heartbeats")
    for sql in ("SELECT claimed_by FROM mailer_heartbeats",
                "SELECT * FROM mail_deaths", "SELECT * FROM mail_alert_state"):
        assert not can("web", sql), sql
    assert can("mailer", "UPDATE mail_deaths SET alerted_at = alerted_at"
                         " WHERE false")
    for role in ("mailer", "admin", "console", "web"):
        assert not can(role, "INSERT INTO mail_deaths (outbox_id, attempts)"
                             " SELECT id, 0 FROM outbox LIMIT 1"), role
        assert not can(role, "DELETE FROM mail_deaths"), role
        assert not can(role, "UPDATE mail_deaths SET reply = 'x'"), role
    for role in ("admin", "console", "web"):
        assert not can(role, "UPDATE mail_alert_state SET last_sent_at ="
                             " now()"), role


def test_no_patient_data_in_logs():
    """the mailer's, frontdesk's and the console's logs hold no patient
    value"""
    for name in ("mailer", "frontdesk", "console"):
        found = mt.patient_text_absent(S.log(name), [
            v for v in patient_values() if len(v) >= 4])
        assert not found, (name, found)


fdtest.run(globals())
