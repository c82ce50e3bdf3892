#!/usr/bin/python3
"""demo-console: scripts/demo.sh's steps that speak HTTP to the running
demo, on 127.0.0.1 only.

  demo-console.py seed PORT
      posts a few requests through the clinic's form API (one per service
      or condition below, across the three locations), each with its own
      idempotency key, so a repeat stores nothing twice.
  demo-console.py enrol PORT ACCOUNTS SECRET_FILE
      enrols the admin's second factor through the console's API, as the
      console's page does at the first sign-in: POST /session with the
      admin's password (read from ACCOUNTS, lines "NAME PASSWORD"), POST
      /me/2fa {"password"} for the secret, POST /me/2fa {"code"} with the
      code `oathtool --totp -b SECRET` gives, sign-out. The secret is
      written to SECRET_FILE (mode 0600) once the console has taken it.

No password or secret is printed, logged or put on a command line of this
script (oathtool's is the one the demo prints for people to run)."""
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

SEED = [
    # first, last, location, service (the form's list), preferred time,
    # message, contact
    ("Maria", "Gonzalez", "midtown", "Back Pain & Sciatica",
     "Weekday mornings", "Shooting pain down my left leg since March; "
     "sitting at my desk makes it worse.",
     {"email": "maria.gonzalez@example.com", "phone": "(212) 555-0143"}),
    ("James", "Okafor", "fidi", "Sports Rehabilitation",
     "After 6 pm", "Sprained my ankle playing basketball two weeks ago. "
     "I would like to get back to running.",
     {"email": "j.okafor@example.com"}),
    ("Linda", "Park", "woodbury", "Pelvic Floor Therapy",
     "Saturday", "Referred by my OB after my second child.",
     {"phone": "516 555 0182"}),
    ("Dev", "Raman", "midtown", "Neck Pain",
     "Lunchtime, 12-2", "Stiff neck and headaches after long days at the "
     "computer.", {"email": "dev.raman@example.com",
                   "phone": "+1 646 555 0110"}),
    ("Rosa", "Delgado", "fidi", "Hip & Knee Pain", "",
     "Knee replacement in January, looking for post-surgery PT near work.",
     {"email": "rosa.delgado@example.com"}),
]


def die(msg):
    print("demo-console: " + msg, file=sys.stderr)
    sys.exit(1)


def call(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def seed(port):
    stored = 0
    for i, (first, last, loc, service, when, msg, contact) in \
            enumerate(SEED, 1):
        fields = dict(first_name=first, last_name=last, location=loc,
                      service=service, preferred_time=when, message=msg,
                      consent="yes", submission_id="demo-seed-%d" % i,
                      **contact)
        st, _, body = call(port, "POST", "/api/appointments",
                           urllib.parse.urlencode(fields).encode(),
                           {"Content-Type":
                            "application/x-www-form-urlencoded",
                            "Accept": "application/json"})
        if st != 201:
            die("seeding request %d: %d %s" % (i, st, body[:200]))
        stored += 1
    print("demo: seeded %d demo requests through the form's API" % stored)


class Console:
    """One browser's session with the console's API."""

    def __init__(self, port):
        self.port = port
        self.origin = "http://127.0.0.1:%d" % port
        self.cookie = self.csrf = None

    def call(self, method, path, body=None):
        h = {"Accept": "application/json", "Origin": self.origin}
        if self.cookie:
            h["Cookie"] = "__Host-fd_session=" + self.cookie
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        st, hdrs, out = call(self.port, method, "/console/api" + path, data,
                             h)
        m = re.search(r"__Host-fd_session=([^;]*)", hdrs.get("set-cookie",
                                                             ""))
        if m:
            self.cookie = m.group(1) or None
        try:
            j = json.loads(out) if out else {}
        except ValueError:
            j = {}
        return st, j


def oathtool_code(secret):
    r = subprocess.run(["oathtool", "--totp", "-b", secret],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("oathtool failed: " + r.stderr.strip())
    return r.stdout.strip()


def enrol(port, accounts, secret_file):
    password = None
    with open(accounts) as f:
        for line in f:
            name, _, pw = line.rstrip("\n").partition(" ")
            if name == "admin":
                password = pw
    if not password:
        die("no password for admin in " + accounts)
    c = Console(port)
    st, j = c.call("POST", "/session", {"username": "admin",
                                        "password": password})
    if st != 201:
        die("the admin's sign-in: %d %s" % (st, j.get("error", "")))
    c.csrf = j["csrf"]
    if j.get("second_factor") != "enrol":
        die("the admin does not need to enrol (second_factor %r)"
            % j.get("second_factor"))
    st, j = c.call("POST", "/me/2fa", {"password": password})
    if st != 200 or "secret" not in j:
        die("POST /me/2fa {password}: %d %s" % (st, j.get("error", "")))
    secret = j["secret"]
    # A code read just before its 30 s step ends may reach the console
    # after it; the console takes the step before too, and one more try
    # covers the rest.
    for attempt in range(2):
        st, j = c.call("POST", "/me/2fa", {"code": oathtool_code(secret)})
        if st == 204:
            break
        time.sleep(1)
    else:
        die("POST /me/2fa {code}: %d %s" % (st, j.get("error", "")))
    old = os.umask(0o077)
    try:
        tmp = secret_file + ".new"
        with open(tmp, "w") as f:
            f.write(secret + "\n")
        os.chmod(tmp, 0o600)
        os.rename(tmp, secret_file)
    finally:
        os.umask(old)
    st, _ = c.call("DELETE", "/session")
    if st != 204:
        die("sign-out: %d" % st)
    print("demo: enrolled the admin's second factor through the console")


def main(argv):
    if len(argv) == 3 and argv[1] == "seed":
        seed(int(argv[2]))
    elif len(argv) == 5 and argv[1] == "enrol":
        enrol(int(argv[2]), argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
