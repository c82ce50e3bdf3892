"""mailtest: helpers shared by the mailer's integration tests (on top of
fdtest): a misbehaving SMTP server, outbox rows straight into the
database, throwaway certificates, waiting for deliveries."""
import email
import email.header
import email.policy
import json
import os
import random
import subprocess
import time

import fdtest
from fdtest import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
MAILER_LOG = "mailer"


def start_smtpd(S, *opts, port=None):
    """smtpd_fault.py on S's SMTP port (or port), storing into S.maildir."""
    port = port or S.smtp_port
    p = fdtest.spawn([fdtest.PYTHON, os.path.join(HERE, "smtpd_fault.py"),
                      "--port", str(port), "--maildir", S.maildir] +
                     [str(o) for o in opts],
                     os.path.join(S.dir, "smtp.log"))
    wait_for(lambda: S._port_open(port) or p.poll() is not None,
             what="SMTP port")
    if p.poll() is not None:
        raise AssertionError("smtpd_fault exited: " + S.log("smtp"))
    S.smtp = p
    return p


def stop_smtpd(S):
    if S.smtp is not None:
        fdtest.stop(S.smtp)
        S.smtp = None


def smtp_stats(S):
    try:
        with open(os.path.join(S.maildir, "stats.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"connections": 0, "messages": 0}


def raw_messages(S):
    """The stored messages as bytes, oldest first."""
    out = []
    d = os.path.join(S.maildir, "new")
    if os.path.isdir(d):
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
    return out


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def messages(S):
    return [parse(r) for r in raw_messages(S)]


def text(m):
    """The decoded body with its CRLFs as "\\n"."""
    return m.get_content().replace("\r\n", "\n")


def display_name(raw, name="Reply-To"):
    """The display name in a raw message's address header, decoded per
    RFC 2047 6.2 (blanks between encoded words dropped). Python's
    policy.default keeps those blanks inside an address's phrase, so exact
    comparisons use email.header's decoder on the raw value."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = m[name].replace("\r\n", "").replace("\n", "")
    phrase = value.rsplit("<", 1)[0].strip()
    return str(email.header.make_header(email.header.decode_header(phrase)))


def by_reference(S):
    """{reference: [message, ...]} from X-Frontdesk-Reference."""
    out = {}
    for m in messages(S):
        out.setdefault(str(m["X-Frontdesk-Reference"]), []).append(m)
    return out


def location_id(S, slug):
    return int(S.sql("SELECT id FROM locations WHERE slug = :'p1'",
                     (slug,))[0][0])


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    return "FD-" + "".join(random.choice(CROCKFORD) for _ in range(8))


def insert_requests(S, n, slug="midtown", fields=None, created=None):
    """n requests with their outbox rows, straight into the database (the
    web's validation bypassed on purpose). fields: column -> value for
    every row. Returns the references, in order."""
    f = {"first_name": "Maria", "last_name": "Gonzalez",
         "email": "maria.gonzalez@example.com", "phone": "(212) 555-0143",
         "service": "Back Pain & Sciatica", "preferred_time": "Mornings",
         "message": "Shooting pain down my left leg.", "consent": "t"}
    f.update(fields or {})
    cols = list(f)
    refs = [new_reference() for _ in range(n)]
    params = [slug, ",".join(refs), created or "now"] + [f[c] for c in cols]
    values = ", ".join(":'p%d'" % (i + 4) for i in range(len(cols)))
    S.sql("WITH r AS (INSERT INTO appointment_requests (reference,"
          "  location_id, status, created_at, %s)"
          "  SELECT ref, (SELECT id FROM locations WHERE slug = :'p1'),"
          "  'received', :'p3'::timestamptz, %s"
          "  FROM unnest(string_to_array(:'p2', ',')) WITH ORDINALITY"
          "   AS g(ref, i) ORDER BY i"
          "  RETURNING id, reference, created_at)"
          " INSERT INTO outbox (request_id, message_id, created_at)"
          " SELECT id, '<' || reference || '.' || gen_random_uuid() ||"
          " '@clinic.example>', created_at FROM r ORDER BY id"
          % (", ".join(cols), values), params)
    return refs


def outbox_status(S):
    """{status: count}"""
    return dict((s, int(n)) for s, n in S.sql(
        "SELECT status, count(*) FROM outbox GROUP BY status"))


def wait_status(S, status, n, timeout=30):
    return wait_for(lambda: outbox_status(S).get(status, 0) >= n, timeout,
                    what=lambda: "%d outbox rows %s (have %r)" % (
                        n, status, outbox_status(S)))


def attempts(S, ref):
    """[(outcome, smtp_code, reply)] of a reference's message, in order."""
    return S.sql("SELECT a.outcome, a.smtp_code, a.reply FROM outbox_attempts a"
                 " JOIN outbox o ON o.id = a.outbox_id"
                 " JOIN appointment_requests r ON r.id = o.request_id"
                 " WHERE r.reference = :'p1' ORDER BY a.id", (ref,))


def outbox_row(S, ref):
    """(status, attempts, last_error, message_id, sent_at) of ref's message"""
    return S.sql("SELECT o.status, o.attempts, o.last_error, o.message_id,"
                 " o.sent_at FROM outbox o JOIN appointment_requests r"
                 " ON r.id = o.request_id WHERE r.reference = :'p1'",
                 (ref,))[0]


def mailer_conf(S, name, **sections):
    """A mailer's file (its own role, fdt_mailer) with sections' keys
    changed."""
    return S.write_conf(name, S.conf_as("mailer", **sections))


def run_once(S, conf=None, timeout=60, env=None):
    """frontdesk-mailer --once (as fdt_mailer unless conf says otherwise;
    env: variables set over ours); returns (exit status, its log lines)."""
    r = subprocess.run([S.program("frontdesk-mailer"), "-c",
                        conf or S.mailer_conf_path, "--once"],
                       capture_output=True, timeout=timeout,
                       env=dict(os.environ, **env) if env else None)
    log = r.stderr.decode()
    with open(os.path.join(S.dir, "mailer.log"), "a") as f:
        f.write(log)
    return r.returncode, log


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_ca(d, name):
    """A throwaway CA in d: name.crt and name.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out",
            name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt")


def make_cert(d, name, ca, san="IP:127.0.0.1,DNS:localhost"):
    """A server certificate name.crt/name.key signed by ca."""
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % san)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def patient_text_absent(log, texts):
    """The texts that wrongly appear in a log."""
    return [t for t in texts if t and t in log]


def elapsed(t0):
    return time.monotonic() - t0
