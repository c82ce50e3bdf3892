#!/usr/bin/python3
"""run_admin: the console's admin pages in a real browser. Starts the
stack as run_console.py does (PostgreSQL, frontdesk, frontdesk-console
behind nginx with the shipped console.conf, the clinic's form) with an
SMTP server that turns Woodbury's desk away (550: its mail dies), makes
accounts with `frontdeskctl user add` and requests through the form's
endpoint, delivers them with `frontdesk-mailer --once`, then runs
test_admin.mjs in headless Chromium and relays its TAP. The test runs the
mailer (--once, FD_MAILER) whenever it needs mail delivered, and reads
what arrived with mail_check.py (Python's email parser)."""
import base64
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fdtest  # noqa: E402
import run_browser  # noqa: E402
import run_console  # noqa: E402

PASSWORDS = {
    "ada.admin": "admin pass phrase one",
    "sam.desk": "staff pass phrase two",
    "wes.desk": "woodbury pass phrase",
}
REJECTED = "woodbury.desk@clinic.example"


def totp(secret, t=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((t if t is not None else time.time()) // 30)
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff)
                     % 1000000)


def enrol(stack, base, name):
    """name sets up a second factor through the console's API, as the
    account page would: a staff account with one, for the admin's reset."""
    origin = {"Origin": base, "Accept": "application/json",
              "Content-Type": "application/json"}
    r = stack.request("POST", "/console/api/session", json.dumps({
        "username": name, "password": PASSWORDS[name]}).encode(), origin)
    assert r.status == 201, r
    cookie = re.search(r"__Host-fd_session=([^;]*)",
                       r.headers["set-cookie"]).group(1)
    h = dict(origin, Cookie="__Host-fd_session=" + cookie,
             **{"X-CSRF-Token": r.json()["csrf"]})
    r = stack.request("POST", "/console/api/me/2fa", json.dumps({
        "password": PASSWORDS[name]}).encode(), h)
    assert r.status == 200, r
    secret = r.json()["secret"]
    r = stack.request("POST", "/console/api/me/2fa", json.dumps({
        "code": totp(secret)}).encode(), h)
    assert r.status == 204, r
    stack.request("DELETE", "/console/api/session", None, h)


REQUESTS = [
    ("Maria", "Gonzalez", "midtown"),
    ("James", "O'Neil", "fidi"),
    ("Dmitri", "Volkov", "woodbury"),
    ("Aisha", "Rahman", "midtown"),
    ("Priya", "Natarajan", "woodbury"),
    ("Wei", "Chen", "fidi"),
    ("Tom", "Becker", "woodbury"),
]


def main():
    why = run_console.skip_reason()
    if why:
        print("1..0 # SKIP " + why)
        return 0
    www = run_browser.served_www()
    cluster = fdtest.Cluster()
    stack = fdtest.Stack(cluster, www=www,
                         nginx_includes=run_browser.nginx_extras(www),
                         start=False,
                         conf={"limits": {"per_ip_per_hour": "0"}})
    base = "http://127.0.0.1:%d" % stack.port
    stack.conf["mail"]["console_url"] = base + "/console/"
    stack.rewrite_confs()
    run_console.start_console(stack, "console")
    stack.start_frontdesk()
    stack.start_nginx()
    run_browser.render_form(stack, www)
    run_console.PASSWORDS.update(PASSWORDS)
    run_console.add_user(stack, "ada.admin", "admin", [])
    run_console.add_user(stack, "sam.desk", "staff", ["midtown", "fidi"])
    run_console.add_user(stack, "wes.desk", "staff", ["woodbury"])
    enrol(stack, base, "sam.desk")

    refs = {}
    for first, last, loc in REQUESTS:
        r = stack.post(fdtest.maria(first_name=first, last_name=last,
                                    location=loc, email="%s@example.org" %
                                    first.lower()))
        assert r.status == 201, r
        refs[first] = r.json()["reference"]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(stack.maildir, sub), exist_ok=True)
    fdtest.spawn([fdtest.PYTHON, os.path.join(HERE, "..", "integration",
                                              "smtpd_fault.py"),
                  "--port", str(stack.smtp_port), "--maildir",
                  stack.maildir, "--reject", REJECTED],
                 os.path.join(stack.dir, "smtp.log"))
    fdtest.wait_for(lambda: stack._port_open(stack.smtp_port),
                    what="SMTP port")
    mailer = [stack.program("frontdesk-mailer"), "-c",
              stack.mailer_conf_path, "--once"]
    r = subprocess.run(mailer, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    dead = stack.count("outbox", "status = 'dead'")
    assert dead == 3, "Woodbury's three messages dead: %d" % dead

    env = dict(os.environ,
               FD_BASE_URL=base,
               FD_PASSWORDS=json.dumps(PASSWORDS),
               FD_REFS=json.dumps(refs),
               FD_REJECTED=REJECTED,
               FD_CONNINFO=cluster.conninfo(stack.db),
               FD_MAILDIR=stack.maildir,
               FD_MAILER=json.dumps(mailer),
               FD_MAIL_CHECK=json.dumps([fdtest.PYTHON, os.path.join(
                   HERE, "mail_check.py"), stack.maildir]),
               FRONTDESK_BUILD=fdtest.BUILD,
               PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    sys.stdout.flush()
    try:
        rc = subprocess.run(["node", os.path.join(HERE, "test_admin.mjs")],
                            env=env, cwd=HERE, timeout=900).returncode
    except subprocess.TimeoutExpired:
        print("Bail out! test_admin.mjs ran over 15 minutes")
        rc = 1
    if rc != 0:
        for name in ("console", "frontdesk", "nginx-error", "smtp"):
            for line in stack.log(name).splitlines()[-25:]:
                print("# %s: %s" % (name, line))
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    rc = main()
    fdtest._cleanup()
    sys.exit(rc)
