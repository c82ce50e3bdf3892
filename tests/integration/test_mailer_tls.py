#!/usr/bin/python3
"""frontdesk-mailer and TLS for real: a throwaway CA and server certificate
made with openssl, an SMTP server with STARTTLS and AUTH. Delivery works
with ca_file; with a certificate from another CA, a name that does not
match, or no STARTTLS on offer, the message is kept (pending), not sent."""
import os
import tempfile

import fdtest
import mailtest as mt

cluster = fdtest.Cluster()
PKI = tempfile.mkdtemp(prefix="fdtest-pki-")
fdtest._cleanups.append(lambda: __import__("shutil").rmtree(PKI, True))
CA = mt.make_ca(PKI, "ca")
OTHER_CA = mt.make_ca(PKI, "otherca")
GOOD = mt.make_cert(PKI, "server", "ca")
FOREIGN = mt.make_cert(PKI, "foreign", "otherca")
WRONG_NAME = mt.make_cert(PKI, "wrongname", "ca", san="DNS:mail.other.example")
PASSWORD = "s3cret pass;word"


def stack(*smtp_opts, smtp_conf=None):
    """A database, the SMTP server with smtp_opts, and a mailer
    configuration with TLS required and AUTH (the password in a file
    ending in a newline, as editors leave it)."""
    S = fdtest.Stack(cluster, start=False)
    pw = os.path.join(S.dir, "smtp.password")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pw, 0o600)
    smtp = {"tls": "required", "ca_file": CA, "username": "frontdesk",
            "password_file": pw}
    smtp.update(smtp_conf or {})
    S.tls_conf = mt.mailer_conf(S, "tls.conf", smtp=smtp)
    mt.start_smtpd(S, *smtp_opts)
    return S


def queue_one_and_run(S):
    """Queues one request and runs the mailer once on S.tls_conf; it must
    exit 0 whatever the server does. Returns (reference, log)."""
    ref, = mt.insert_requests(S, 1)
    rc, log = mt.run_once(S, S.tls_conf)
    assert rc == 0, log
    return ref, log


def kept_not_sent(S, ref, log, want):
    """The attempt failed before any mail went out; the message waits."""
    assert mt.raw_messages(S) == [], "a message was delivered"
    assert mt.smtp_stats(S)["messages"] == 0
    row = mt.outbox_row(S, ref)
    assert row[:2] == ("pending", "1"), row
    (outcome, code, reply), = mt.attempts(S, ref)
    assert (outcome, code) == ("retry", None), (outcome, code, reply)
    assert want.lower() in reply.lower(), reply
    assert "mail_retry" in log, log
    assert PASSWORD not in log


def test_starttls_auth_delivers_with_ca_file():
    """STARTTLS + AUTH, the server's certificate checked against ca_file"""
    S = stack("--starttls", *GOOD, "--auth", "frontdesk", PASSWORD)
    ref, = mt.insert_requests(S, 3)[:1]
    rc, log = mt.run_once(S, S.tls_conf)
    assert rc == 0, log
    assert mt.outbox_status(S) == {"sent": 3}, (mt.outbox_status(S), log)
    assert mt.smtp_stats(S) == {"connections": 1, "messages": 3}
    m = mt.by_reference(S)[ref][0]
    assert str(m["X-RcptTo"]) == "midtown.desk@clinic.example"
    assert PASSWORD not in log


def test_certificate_from_another_ca():
    """a certificate from another CA: not sent, kept pending"""
    S = stack("--starttls", *FOREIGN, "--auth", "frontdesk", PASSWORD)
    ref, log = queue_one_and_run(S)
    kept_not_sent(S, ref, log, "certificate")


def test_certificate_for_another_name():
    """our CA, but a certificate for another host name: not sent"""
    S = stack("--starttls", *WRONG_NAME, "--auth", "frontdesk", PASSWORD)
    ref, log = queue_one_and_run(S)
    kept_not_sent(S, ref, log, "certificate")


def test_no_starttls_offered():
    """tls = required and a server without STARTTLS: not sent, pending"""
    S = stack("--auth", "frontdesk", PASSWORD)
    ref, log = queue_one_and_run(S)
    kept_not_sent(S, ref, log, "STARTTLS")


def test_system_store_rejects_throwaway_ca():
    """no ca_file: the system store, which does not know our CA"""
    S = stack("--starttls", *GOOD, "--auth", "frontdesk", PASSWORD,
              smtp_conf={"ca_file": ""})
    ref, log = queue_one_and_run(S)
    kept_not_sent(S, ref, log, "certificate")


def test_wrong_password_is_transient():
    """a refused AUTH is our set-up's fault: retried, never dead"""
    S = stack("--starttls", *GOOD, "--auth", "frontdesk", "other password")
    ref, log = queue_one_and_run(S)
    assert mt.raw_messages(S) == []
    assert mt.outbox_row(S, ref)[0] == "pending"
    (outcome, code, reply), = mt.attempts(S, ref)
    assert outcome == "retry" and code == "535", (outcome, code, reply)
    assert PASSWORD not in log and "other password" not in log


def test_implicit_tls_smtps():
    """smtps:// (TLS from the first byte) with ca_file"""
    S = stack("--implicit-tls", *GOOD, "--auth", "frontdesk", PASSWORD)
    S.tls_conf = mt.mailer_conf(S, "smtps.conf", smtp={
        "url": "smtps://127.0.0.1:%d" % S.smtp_port, "tls": "required",
        "ca_file": CA, "username": "frontdesk",
        "password_file": os.path.join(S.dir, "smtp.password")})
    ref, log = queue_one_and_run(S)
    assert mt.outbox_row(S, ref)[0] == "sent", log
    assert len(mt.raw_messages(S)) == 1


def test_implicit_tls_foreign_certificate():
    """smtps:// with a certificate from another CA: not sent"""
    S = stack("--implicit-tls", *FOREIGN)
    S.tls_conf = mt.mailer_conf(S, "smtps.conf", smtp={
        "url": "smtps://127.0.0.1:%d" % S.smtp_port, "tls": "off",
        "ca_file": CA})
    ref, log = queue_one_and_run(S)
    kept_not_sent(S, ref, log, "certificate")


def test_readable_password_file_warned():
    """a password file others can read: refused at start (issue 13: it was
    only warned about), the file named, not the password"""
    S = stack("--starttls", *GOOD, "--auth", "frontdesk", PASSWORD)
    os.chmod(os.path.join(S.dir, "smtp.password"), 0o644)
    ref, = mt.insert_requests(S, 1)
    rc, log = mt.run_once(S, S.tls_conf)
    assert rc == 1, log
    assert "password_file_readable" in log, log
    assert PASSWORD not in log
    assert mt.outbox_row(S, ref)[:2] == ("pending", "0")
    assert mt.smtp_stats(S)["connections"] == 0


fdtest.run(globals())
