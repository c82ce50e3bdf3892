#!/usr/bin/python3
"""frontdeskctl user ... and audit list against a real PostgreSQL: every
command and refusal (exit 0, 1 with one line on stderr, 2), the audit rows
frontdeskctl writes for its changes and exports, and who may change the
audit log."""
import ctypes
import ctypes.util
import json
import os
import pwd
import re
import subprocess

import fdtest

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster, start=False)
# A login role in the console's group role, as the console runs.
cluster.psql("CREATE ROLE fdu_console LOGIN IN ROLE frontdesk_console")

ACTOR = "frontdeskctl:" + pwd.getpwuid(os.geteuid()).pw_name
PASSWORD = "correct horse battery"

# libsodium itself checks the stored hashes: what the console will do.
_sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert _sodium.sodium_init() >= 0


def verifies(hash_, password):
    pw = password.encode()
    return _sodium.crypto_pwhash_str_verify(
        hash_.encode(), pw, ctypes.c_ulonglong(len(pw))) == 0


def run(*args, conf=None, stdin=None):
    r = subprocess.run([S.program("frontdeskctl"), "-c",
                        conf or S.admin_conf_path] + list(args),
                       capture_output=True,
                       input=stdin.encode() if isinstance(stdin, str)
                       else stdin)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ctl(*args, rc=0, want=None, conf=None, stdin=None, stack=None):
    """frontdeskctl as the admin role; an error is exactly one line on
    stderr naming want, with nothing on stdout."""
    if stack is not None:
        conf = conf or stack.admin_conf_path
    code, out, err = run(*args, conf=conf, stdin=stdin)
    where = "frontdeskctl %s: exit %d, want %d\nstdout: %s\nstderr: %s" % (
        " ".join(args), code, rc, out, err)
    assert code == rc, where
    if rc != 0:
        lines = err.splitlines()
        assert len(lines) == 1 and err.endswith("\n"), where
        assert lines[0].startswith("frontdeskctl: "), where
        if want is not None:
            assert re.search(want, lines[0]), where
        assert out == "", where
    else:
        assert err == "", where
    return out


def user(name, st=S):
    rows = st.sql("SELECT u.role, u.password_hash, u.enabled, "
                  "coalesce((SELECT string_agg(l.slug, ',' ORDER BY l.id) "
                  "FROM user_locations ul JOIN locations l ON "
                  "l.id = ul.location_id WHERE ul.user_id = u.id), '') "
                  "FROM users u WHERE username = :'p1'", (name,))
    if not rows:
        return None
    role, h, enabled, locs = rows[0]
    return {"role": role, "hash": h, "enabled": enabled == "t",
            "locations": locs.split(",") if locs else []}


def audit(st=S, where="true"):
    return st.sql("SELECT actor, address, action, object, detail FROM "
                  "audit_log WHERE %s ORDER BY id" % where)


def audit_count(st=S):
    return st.count("audit_log")


def fresh():
    return fdtest.Stack(cluster, start=False)


def add_session(name, st=S):
    st.sql("INSERT INTO sessions (token_hash, user_id, csrf) SELECT "
           "decode(md5(random()::text) || md5(random()::text), 'hex'), id, "
           "'x' FROM users WHERE username = :'p1'", (name,))


def sessions(name, st=S):
    return int(st.sql("SELECT count(*) FROM sessions s JOIN users u ON "
                      "u.id = s.user_id WHERE u.username = :'p1'",
                      (name,))[0][0])


# -- user add ------------------------------------------------------------------

def test_user_add_password_stdin():
    """user add --password-stdin: the first line of stdin without its line
    end, stored only as an argon2id hash; locations as given; one
    user_add row"""
    st = fresh()
    out = ctl("user", "add", "maria", "--role", "staff", "--location",
              "midtown", "--location", "fidi", "--password-stdin",
              stdin=PASSWORD + "\nsecond line\n", stack=st)
    assert out == "added user maria (staff)\n", out
    u = user("maria", st)
    assert u["role"] == "staff" and u["enabled"], u
    assert u["locations"] == ["midtown", "fidi"], u
    assert u["hash"].startswith("$argon2id$v=19$m=65536,t=2,"), u
    assert verifies(u["hash"], PASSWORD), "hash does not verify"
    assert not verifies(u["hash"], PASSWORD + "\n")
    assert not verifies(u["hash"], "second line")
    rows = audit(st, "action LIKE 'user%'")
    assert rows == [(ACTOR, None, "user_add", "maria",
                     'role: "staff"; locations: ["midtown", "fidi"]')], rows
    # CR LF and no final line end: the same password.
    ctl("user", "add", "crlf", "--role", "admin", "--password-stdin",
        stdin=PASSWORD + "\r\n", stack=st)
    assert verifies(user("crlf", st)["hash"], PASSWORD)
    ctl("user", "add", "noeol", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    assert verifies(user("noeol", st)["hash"], PASSWORD)
    assert user("noeol", st)["locations"] == []
    # Nothing of the password anywhere in the log.
    for r in audit(st):
        assert PASSWORD not in (r[4] or "") and "argon2" not in (r[4] or "")


def test_user_add_random_password():
    """Without --password-stdin: a random password printed alone on one
    line of stdout, and it is the one stored"""
    st = fresh()
    out = ctl("user", "add", "admin1", "--role", "admin", stack=st)
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    pw = out[:-1]
    assert 12 <= len(pw) <= 128 and pw.strip() == pw and " " not in pw, pw
    assert verifies(user("admin1", st)["hash"], pw)
    out2 = ctl("user", "add", "admin2", "--role", "admin", stack=st)
    assert out2 != out
    assert pw not in json.dumps(audit(st))


def test_user_add_refusals():
    """Bad names, roles, locations and passwords: 1; usage errors: 2;
    nothing stored and no audit row"""
    st = fresh()
    before = audit_count(st)
    for args, want in (
            (("Maria", "--role", "staff", "--location", "midtown"),
             "not a valid account name"),
            (("a" * 65, "--role", "admin"), "not a valid account name"),
            (("ma ria", "--role", "admin"), "not a valid account name"),
            (("maria", "--role", "boss"), "bad --role"),
            (("maria", "--role", "staff"), "at least one --location"),
            (("maria", "--role", "admin", "--location", "midtown"),
             "admin sees every location"),
            (("maria", "--role", "staff", "--location", "nowhere"),
             "unknown location nowhere"),
            (("maria", "--role", "staff", "--location", "Bad Slug"),
             "not a valid location slug")):
        ctl("user", "add", *args, "--password-stdin", stdin=PASSWORD + "\n",
            rc=1, want=want, stack=st)
    for pw, why in (("a" * 11, "11 characters"), ("é" * 11, "11 two-byte"),
                    ("a" * 129, "129"), ("abcdefghijk\x01l", "control"),
                    ("abcdefghijk\tl", "tab"), ("", "empty"),
                    (b"abcdefghijk\xffl", "invalid UTF-8")):
        stdin = pw + "\n" if isinstance(pw, str) else pw + b"\n"
        code, out, err = run("user", "add", "maria", "--role", "admin",
                             "--password-stdin", conf=st.admin_conf_path,
                             stdin=stdin)
        assert code == 1 and "12 to 128 characters" in err and \
            err.count("\n") == 1 and out == "", (why, code, out, err)
    ctl("user", "add", "maria", "--role", "admin", "--password-stdin",
        stdin="", rc=1, want="no password on standard input", stack=st)
    assert st.count("users") == 0 and audit_count(st) == before
    # Limits are characters: 12 two-byte ones and 128 of three bytes pass.
    ctl("user", "add", "e12", "--role", "admin", "--password-stdin",
        stdin="é" * 12 + "\n", stack=st)
    assert verifies(user("e12", st)["hash"], "é" * 12)
    ctl("user", "add", "eu128", "--role", "admin", "--password-stdin",
        stdin="€" * 128 + "\n", stack=st)
    ctl("user", "add", "a128", "--role", "admin", "--password-stdin",
        stdin="a" * 128 + "\n", stack=st)
    ctl("user", "add", "a12", "--role", "admin", "--password-stdin",
        stdin="a" * 12 + "\n", stack=st)
    ctl("user", "add", "a12", "--role", "admin", "--password-stdin",
        stdin="a" * 12 + "\n", rc=1, want="user a12 already exists",
        stack=st)
    assert audit_count(st) == before + 4
    # Usage errors.
    ctl("user", "add", "x", rc=2, want="--role is required", stack=st)
    ctl("user", "add", "--role", "admin", rc=2, want="missing argument",
        stack=st)
    ctl("user", "add", "x", "y", "--role", "admin", rc=2, want="too many",
        stack=st)
    ctl("user", "add", "x", "--role", rc=2, want="needs a value", stack=st)
    ctl("user", "add", "x", "--role", "admin", "--bogus", rc=2,
        want="unknown option --bogus", stack=st)
    ctl("user", rc=2, want="needs a command", stack=st)
    ctl("user", "frob", rc=2, want="unknown command", stack=st)


# -- user set, passwd, disable, enable, reset-2fa ---------------------------

def test_user_set():
    """user set: the locations given replace the old ones; a role change
    keeps the rule (staff >= 1 location, admin none); old and new values in
    the audit row"""
    st = fresh()
    ctl("user", "add", "sam", "--role", "staff", "--location", "midtown",
        "--password-stdin", stdin=PASSWORD, stack=st)
    n = audit_count(st)
    out = ctl("user", "set", "sam", "--location", "fidi", "--location",
              "woodbury", stack=st)
    assert "fidi" in out, out
    assert user("sam", st)["locations"] == ["fidi", "woodbury"]
    assert audit(st)[-1] == (ACTOR, None, "user_change", "sam",
                             'locations: ["midtown"] -> ["fidi", '
                             '"woodbury"]'), audit(st)[-1]
    ctl("user", "set", "sam", "--role", "admin", "--location", "fidi",
        rc=1, want="admin sees every location", stack=st)
    ctl("user", "set", "sam", "--location", "nowhere", rc=1,
        want="unknown location", stack=st)
    assert user("sam", st)["locations"] == ["fidi", "woodbury"]
    # Made admin: its locations go.
    ctl("user", "set", "sam", "--role", "admin", stack=st)
    assert user("sam", st) | {"hash": None} == {
        "role": "admin", "hash": None, "enabled": True, "locations": []}
    assert audit(st)[-1][2:] == ("user_change", "sam",
                                 'role: "staff" -> "admin"; locations: '
                                 '["fidi", "woodbury"] -> []')
    # Made staff: needs locations.
    ctl("user", "set", "sam", "--role", "staff", rc=1,
        want="at least one --location", stack=st)
    ctl("user", "set", "sam", "--role", "staff", "--location", "midtown",
        stack=st)
    assert user("sam", st)["role"] == "staff"
    assert user("sam", st)["locations"] == ["midtown"]
    m = audit_count(st)
    assert ctl("user", "set", "sam", "--location", "midtown",
               stack=st) == "user sam unchanged\n"
    assert audit_count(st) == m == n + 3
    ctl("user", "set", "nobody", "--role", "admin", rc=1,
        want="unknown user nobody", stack=st)
    ctl("user", "set", "sam", rc=2, want="nothing to change", stack=st)
    ctl("user", "set", "sam", "--password-stdin", rc=2,
        want="unknown option", stack=st)
    ctl("user", "set", "sam", "--role", "root", rc=1, want="bad --role",
        stack=st)


def test_user_passwd():
    """user passwd: a new hash (from stdin or random), every session ended,
    a user_passwd row without the password"""
    st = fresh()
    ctl("user", "add", "pat", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    add_session("pat", st)
    add_session("pat", st)
    old = user("pat", st)["hash"]
    out = ctl("user", "passwd", "pat", "--password-stdin",
              stdin="another good passphrase\n", stack=st)
    assert "2 session(s) ended" in out, out
    h = user("pat", st)["hash"]
    assert h != old and verifies(h, "another good passphrase")
    assert not verifies(h, PASSWORD)
    assert sessions("pat", st) == 0
    assert audit(st)[-1] == (ACTOR, None, "user_passwd", "pat",
                             "sessions_ended: 2"), audit(st)[-1]
    out = ctl("user", "passwd", "pat", stack=st)
    assert out.count("\n") == 1
    assert verifies(user("pat", st)["hash"], out[:-1])
    ctl("user", "passwd", "pat", "--password-stdin", stdin="short\n",
        rc=1, want="12 to 128", stack=st)
    assert verifies(user("pat", st)["hash"], out[:-1])
    ctl("user", "passwd", "nobody", "--password-stdin", stdin=PASSWORD,
        rc=1, want="unknown user nobody", stack=st)
    ctl("user", "passwd", rc=2, want="missing argument", stack=st)
    ctl("user", "passwd", "pat", "--role", "admin", rc=2,
        want="unknown option", stack=st)
    assert PASSWORD not in json.dumps(audit(st))
    assert "another good passphrase" not in json.dumps(audit(st))


def test_user_disable_enable():
    """disable ends the sessions; enable lifts a lockout; each change one
    user_change row; doing it twice changes nothing"""
    st = fresh()
    ctl("user", "add", "dee", "--role", "staff", "--location", "fidi",
        "--password-stdin", stdin=PASSWORD, stack=st)
    add_session("dee", st)
    ctl("user", "disable", "dee", stack=st)
    assert not user("dee", st)["enabled"] and sessions("dee", st) == 0
    assert audit(st)[-1] == (ACTOR, None, "user_change", "dee",
                             "enabled: true -> false; sessions_ended: 1")
    n = audit_count(st)
    assert ctl("user", "disable", "dee", stack=st) == \
        "user dee was already disabled\n"
    assert audit_count(st) == n
    st.sql("UPDATE users SET failed_sign_ins = 5, locked_until = "
           "'2099-01-01 00:00:00+00' WHERE username = 'dee'")
    ctl("user", "enable", "dee", stack=st)
    row = st.sql("SELECT enabled, failed_sign_ins, locked_until FROM users "
                 "WHERE username = 'dee'")[0]
    assert row == ("t", "0", None), row
    last = audit(st)[-1]
    assert last[2:4] == ("user_change", "dee"), last
    assert last[4].startswith("enabled: false -> true; failed_sign_ins: 5 "
                              "-> 0; locked_until: \"2099-01-01T"), last
    assert last[4].endswith(" -> null"), last
    # Enabled but locked out: enable lifts the lockout alone.
    st.sql("UPDATE users SET failed_sign_ins = 3, locked_until = now() + "
           "interval '10 minutes' WHERE username = 'dee'")
    ctl("user", "enable", "dee", stack=st)
    assert st.sql("SELECT failed_sign_ins, locked_until FROM users WHERE "
                  "username = 'dee'")[0] == ("0", None)
    assert audit(st)[-1][4].startswith("failed_sign_ins: 3 -> 0; "
                                       "locked_until: ")
    n = audit_count(st)
    assert ctl("user", "enable", "dee", stack=st) == \
        "user dee was already enabled\n"
    assert audit_count(st) == n
    for verb in ("disable", "enable", "reset-2fa"):
        ctl("user", verb, "nobody", rc=1, want="unknown user nobody",
            stack=st)
        ctl("user", verb, "Dee", rc=1, want="not a valid account name",
            stack=st)
        ctl("user", verb, rc=2, want="missing argument", stack=st)
        ctl("user", verb, "dee", "x", rc=2, want="too many", stack=st)
        ctl("user", verb, "dee", "--json", rc=2, want="unknown option",
            stack=st)


def test_user_reset_2fa():
    """reset-2fa clears the secret, the pending enrolment and the last
    step, ends the sessions; the audit row never holds the secret"""
    st = fresh()
    ctl("user", "add", "ada", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    st.sql("UPDATE users SET totp_secret = 'v0:GEZDGNBVGY3TQOJQGEZDGNBVGY3"
           "TQOJQ', totp_pending = 'v0:JBSWY3DPEHPK3PXP', "
           "totp_last_step = 55555555 WHERE username = 'ada'")
    add_session("ada", st)
    out = ctl("user", "reset-2fa", "ada", stack=st)
    assert "1 session(s) ended" in out, out
    assert st.sql("SELECT totp_secret, totp_pending, totp_last_step FROM "
                  "users WHERE username = 'ada'")[0] == (None, None, "0")
    assert sessions("ada", st) == 0
    last = audit(st)[-1]
    assert last == (ACTOR, None, "user_reset_2fa", "ada",
                    'second_factor: "on" -> "off"; sessions_ended: 1'), last
    assert "GEZDG" not in json.dumps(audit(st))
    assert "JBSWY" not in json.dumps(audit(st))
    # Not enrolled: still a reset, and said so.
    ctl("user", "reset-2fa", "ada", stack=st)
    assert audit(st)[-1][4] == 'second_factor: "off" -> "off"; ' \
        'sessions_ended: 0'


# -- user list ---------------------------------------------------------------

def test_user_list():
    """user list --json: the contract's keys; second_factor on, enrol (as
    [console] second_factor of the file asks) or off"""
    st = fresh()
    ctl("user", "add", "staff1", "--role", "staff", "--location", "woodbury",
        "--location", "midtown", "--password-stdin", stdin=PASSWORD,
        stack=st)
    ctl("user", "add", "admin1", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    ctl("user", "add", "admin2", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    ctl("user", "disable", "admin2", stack=st)
    st.sql("UPDATE users SET totp_secret = 'v0:X', last_sign_in = "
           "'2030-05-06 07:08:09+00' WHERE username = 'admin1'")
    got = json.loads(ctl("user", "list", "--json", stack=st))
    # No [console] section: its default, second_factor = admins.
    assert got == [
        {"username": "staff1", "role": "staff",
         "locations": ["midtown", "woodbury"], "enabled": True,
         "second_factor": "off", "last_sign_in": None},
        {"username": "admin1", "role": "admin", "locations": [],
         "enabled": True, "second_factor": "on",
         "last_sign_in": "2030-05-06T07:08:09+00:00"},
        {"username": "admin2", "role": "admin", "locations": [],
         "enabled": False, "second_factor": "enrol", "last_sign_in": None},
    ], got
    assert all(list(x) == ["username", "role", "locations", "enabled",
                           "second_factor", "last_sign_in"] for x in got)

    def factors(**console):
        conf = st.write_conf("u.conf", st.conf_as("admin", console=console))
        return [u["second_factor"] for u in json.loads(
            ctl("user", "list", "--json", conf=conf))]
    assert factors(second_factor="all") == ["enrol", "on", "enrol"]
    assert factors(second_factor="off") == ["off", "on", "off"]
    assert factors(second_factor="admins") == ["off", "on", "enrol"]
    assert factors(second_factor="all", auth="remote_user",
                   listen="/tmp/x.sock") == ["off", "on", "off"]
    text = ctl("user", "list", stack=st)
    lines = text.splitlines()
    assert lines[0].split() == ["USER", "ROLE", "LOCATIONS", "ENABLED",
                                "2FA", "LOCKED", "UNTIL", "LAST", "SIGN-IN"]
    assert lines[1].split()[:5] == ["staff1", "staff", "midtown,woodbury",
                                    "yes", "off"], lines
    assert lines[2].split()[:5] == ["admin1", "admin", "(all)", "yes",
                                    "on"], lines
    st.sql("UPDATE users SET locked_until = now() + interval '1 hour' "
           "WHERE username = 'staff1'")
    assert re.search(r"staff1 .* \d{4}-\d\d-\d\d \d\d:\d\d",
                     ctl("user", "list", stack=st))
    ctl("user", "list", "extra", rc=2, want="too many", stack=st)
    empty = fresh()
    assert json.loads(ctl("user", "list", "--json", stack=empty)) == []
    assert "no users yet" in ctl("user", "list", stack=empty)


# -- audit -------------------------------------------------------------------

def test_audit_rows_of_changes():
    """Every change frontdeskctl makes writes its row in the same
    transaction: location add/enable/disable, route add/remove, request
    resend/unspam, outbox retry"""
    st = fresh()
    assert audit(st) == [
        (ACTOR, None, "location_add", "midtown",
         'name: "Midtown Manhattan"; thank_you_url: null'),
        (ACTOR, None, "route_add", "midtown",
         'email: "midtown.desk@clinic.example"; kind: "to"'),
        (ACTOR, None, "location_add", "fidi",
         'name: "Financial District"; thank_you_url: null'),
        (ACTOR, None, "route_add", "fidi",
         'email: "fidi.desk@clinic.example"; kind: "to"'),
        (ACTOR, None, "location_add", "woodbury",
         'name: "Woodbury, Long Island"; thank_you_url: null'),
        (ACTOR, None, "route_add", "woodbury",
         'email: "woodbury.desk@clinic.example"; kind: "to"'),
    ], audit(st)
    st.sql("TRUNCATE audit_log")
    ctl("location", "add", "soho", "--name", 'So "Ho"; x -> y',
        "--thank-you", "/thanks/soho", stack=st)
    ctl("location", "disable", "soho", stack=st)
    ctl("location", "disable", "soho", stack=st)      # no change, no row
    ctl("location", "enable", "soho", stack=st)
    ctl("route", "add", "soho", "Desk@Clinic.example", "--bcc", stack=st)
    ctl("route", "remove", "soho", "desk@clinic.example", stack=st)
    # Refusals change nothing and write nothing.
    ctl("location", "add", "soho", "--name", "Again", rc=1, stack=st)
    ctl("route", "remove", "soho", "desk@clinic.example", rc=1, stack=st)
    ctl("route", "add", "nowhere", "a@b.example", rc=1, stack=st)
    assert audit(st) == [
        (ACTOR, None, "location_add", "soho",
         'name: "So \\"Ho\\"; x -> y"; thank_you_url: "/thanks/soho"'),
        (ACTOR, None, "location_change", "soho", "active: true -> false"),
        (ACTOR, None, "location_change", "soho", "active: false -> true"),
        (ACTOR, None, "route_add", "soho",
         'email: "Desk@Clinic.example"; kind: "bcc"'),
        (ACTOR, None, "route_remove", "soho",
         'email: "Desk@Clinic.example"; kind: "bcc"'),
    ], audit(st)
    st.sql("TRUNCATE audit_log")
    add_request(st, "FD-0000000A", outbox=["sent"])
    add_request(st, "FD-0000000B", status="spam")
    add_request(st, "FD-0000000C", outbox=["dead"])
    add_request(st, "FD-0000000D", outbox=["dead"])
    ctl("request", "resend", "FD-0000000A", stack=st)
    ctl("request", "unspam", "fd-0000000b", stack=st)
    ctl("request", "resend", "FD-0000000B", stack=st)
    ids = [r[0] for r in st.sql("SELECT o.id FROM outbox o WHERE "
                                "status = 'dead' ORDER BY id")]
    ctl("outbox", "retry", ids[0], stack=st)
    st.sql("UPDATE outbox SET status = 'dead' WHERE id = %s" % ids[0])
    ctl("outbox", "retry", "--all-dead", stack=st)
    ctl("outbox", "retry", ids[0], rc=1, stack=st)    # not dead: nothing
    rows = audit(st)
    obx = [r[0] for r in st.sql("SELECT o.id FROM outbox o JOIN "
                                "appointment_requests r ON r.id = "
                                "o.request_id ORDER BY o.id")]
    assert rows[0] == (ACTOR, None, "resend", "FD-0000000A",
                       "outbox: %s" % obx[-3]), (rows, obx)
    assert rows[1] == (ACTOR, None, "unspam", "FD-0000000B",
                       'status: "spam" -> "received"; outbox: %s' % obx[-2])
    assert rows[2] == (ACTOR, None, "resend", "FD-0000000B",
                       "outbox: %s" % obx[-1])
    assert rows[3] == (ACTOR, None, "outbox_retry", ids[0],
                       'status: "dead" -> "pending"')
    assert rows[4:] == [(ACTOR, None, "outbox_retry", i,
                         'status: "dead" -> "pending"; all_dead: true')
                        for i in ids], rows
    # Never a patient's data in a detail.
    assert "Maria" not in json.dumps(rows) and "@example.com" not in \
        json.dumps(rows)


def test_audit_rows_of_exports():
    """request show (text or JSON) and request list --json/--csv are
    exports: one row each, the filters as detail, no patient data; the
    text list and an unknown reference write none"""
    st = fresh()
    add_request(st, "FD-0000000E", outbox=["sent"])
    st.sql("TRUNCATE audit_log")
    ctl("request", "show", "FD-0000000E", stack=st)
    ctl("request", "show", "fd-0000000e", "--json", stack=st)
    ctl("request", "show", "FD-0000000Z", rc=1, stack=st)
    ctl("request", "list", stack=st)
    ctl("request", "list", "--json", stack=st)
    ctl("request", "list", "--csv", "--location", "midtown", "--since",
        "2020-01-02", "--status", "received", stack=st)
    rows = audit(st)
    assert rows == [
        (ACTOR, None, "export", "FD-0000000E",
         'command: "request show"; format: "text"'),
        (ACTOR, None, "export", "FD-0000000E",
         'command: "request show"; format: "json"'),
        (ACTOR, None, "export", None,
         'command: "request list"; format: "json"; location: null; '
         'since: null; status: null; rows: 1'),
        (ACTOR, None, "export", None,
         'command: "request list"; format: "csv"; location: "midtown"; '
         'since: "2020-01-02"; status: "received"; rows: 1'),
    ], rows
    assert "Maria" not in json.dumps(rows)


def test_audit_write_failure_stops_the_change():
    """When the audit row cannot be written, the change is rolled back and
    the export prints nothing: exit 1, one line"""
    st = fresh()
    add_request(st, "FD-0000000F", outbox=["sent"])
    # The admin role loses INSERT on audit_log (as the owner, for the test).
    st.sql("REVOKE INSERT ON audit_log FROM frontdesk_admin")
    try:
        ctl("location", "add", "lost", "--name", "Lost", rc=1,
            want="cannot write the audit log", stack=st)
        assert st.count("locations", "slug = 'lost'") == 0
        ctl("route", "add", "midtown", "new@clinic.example", rc=1,
            want="audit log", stack=st)
        assert st.count("routes", "email = 'new@clinic.example'") == 0
        ctl("location", "disable", "fidi", rc=1, want="audit log", stack=st)
        assert st.sql("SELECT active FROM locations WHERE slug = "
                      "'fidi'") == [("t",)]
        ctl("request", "show", "FD-0000000F", "--json", rc=1,
            want="audit log", stack=st)
        ctl("request", "list", "--csv", rc=1, want="audit log", stack=st)
        ctl("request", "resend", "FD-0000000F", rc=1, want="audit log",
            stack=st)
        assert st.count("outbox") == 1
        ctl("user", "add", "lost", "--role", "admin", "--password-stdin",
            stdin=PASSWORD, rc=1, want="audit log", stack=st)
        assert st.count("users") == 0
    finally:
        st.sql("GRANT INSERT ON audit_log TO frontdesk_admin")


def test_audit_list():
    """audit list: oldest first, filters by user, reference and date;
    JSON keys as the contract names them (actor as "user")"""
    st = fresh()
    st.sql("TRUNCATE audit_log")
    st.sql("INSERT INTO audit_log (at, actor, address, action, object, "
           "detail) VALUES "
           "('2024-03-01 10:00+00', 'maria', '192.0.2.7', 'sign_in', NULL, "
           "NULL), "
           "('2024-03-02 11:00+00', 'maria', '192.0.2.7', 'view', "
           "'FD-0000000G', NULL), "
           "('2024-03-03 12:00+00', '(unknown)', '2001:db8::1', "
           "'sign_in_failed', NULL, NULL), "
           "('2024-03-04 13:00+00', 'sam', NULL, 'triage', 'FD-0000000G', "
           "'triage: \"new\" -> \"contacted\"')")
    env = dict(os.environ, PGTZ="UTC")
    got = json.loads(subprocess.run(
        [S.program("frontdeskctl"), "-c", st.admin_conf_path, "audit",
         "list", "--json"], capture_output=True, env=env,
        check=True).stdout)
    assert got[0] == {"at": "2024-03-01T10:00:00+00:00", "user": "maria",
                      "address": "192.0.2.7", "action": "sign_in",
                      "object": None, "detail": None}, got[0]
    assert [list(x) for x in got] == [["at", "user", "address", "action",
                                       "object", "detail"]] * 4
    assert [x["action"] for x in got] == ["sign_in", "view",
                                          "sign_in_failed", "triage"]

    def actions(*args):
        return [x["action"] for x in json.loads(
            ctl("audit", "list", "--json", *args, stack=st))]
    assert actions("--user", "maria") == ["sign_in", "view"]
    assert actions("--user", "(unknown)") == ["sign_in_failed"]
    assert actions("--user", "nobody") == []
    assert actions("--reference", "fd-0000000g") == ["view", "triage"]
    assert actions("--since", "2024-03-03") == ["sign_in_failed", "triage"]
    assert actions("--user", "sam", "--reference", "FD-0000000G",
                   "--since", "2024-03-01") == ["triage"]
    # The command's own rows go to the end, oldest first.
    ctl("location", "disable", "woodbury", stack=st)
    got = json.loads(ctl("audit", "list", "--json", stack=st))
    assert got[-1]["user"] == ACTOR and got[-1]["action"] == \
        "location_change" and got[-1]["object"] == "woodbury"
    text = ctl("audit", "list", "--user", "maria", stack=st)
    lines = text.splitlines()
    assert lines[0].split() == ["AT", "USER", "ADDRESS", "ACTION", "OBJECT",
                                "DETAIL"], lines
    assert len(lines) == 3 and "sign_in" in lines[1] and \
        "FD-0000000G" in lines[2], lines
    assert ctl("audit", "list", "--user", "nobody", stack=st) == \
        "no audit rows\n"
    ctl("audit", "list", "--since", "2024-02-30", rc=1, want="bad --since",
        stack=st)
    ctl("audit", "list", "--reference", "FD-1", rc=1,
        want="not a request reference", stack=st)
    ctl("audit", "list", "--user", "", rc=1, want="bad --user", stack=st)
    ctl("audit", "list", "x", rc=2, want="too many", stack=st)
    ctl("audit", "list", "--bogus", rc=2, want="unknown option", stack=st)
    ctl("audit", rc=2, want="needs a command", stack=st)


# -- who may change the log --------------------------------------------------

def denied(user, sql, st=S):
    try:
        cluster.psql(sql, db=st.db, user=user)
    except RuntimeError as e:
        assert "permission denied" in str(e), e
        return True
    return False


def test_audit_log_append_only():
    """frontdesk_admin and frontdesk_console may add and read audit rows,
    never change or remove them; the web's and mailer's roles not even
    read them"""
    st = fresh()
    for who in ("fdt_admin", "fdu_console"):
        cluster.psql("INSERT INTO audit_log (actor, action, object) VALUES "
                     "('%s', 'view', 'FD-0000000H')" % who, db=st.db,
                     user=who)
        rows = cluster.psql("SELECT actor FROM audit_log WHERE actor = "
                            "'%s'" % who, db=st.db, user=who)
        assert rows == [(who,)], rows
        for sql in ("UPDATE audit_log SET detail = 'x'",
                    "UPDATE audit_log SET actor = 'someone' WHERE "
                    "actor = '%s'" % who,
                    "DELETE FROM audit_log",
                    "DELETE FROM audit_log WHERE actor = '%s'" % who,
                    "TRUNCATE audit_log"):
            assert denied(who, sql, st), (who, sql)
    for who in ("fdt_web", "fdt_mailer"):
        for sql in ("SELECT * FROM audit_log",
                    "INSERT INTO audit_log (actor, action) VALUES "
                    "('x', 'view')"):
            assert denied(who, sql, st), (who, sql)
    # The rows are still there.
    assert st.count("audit_log", "object = 'FD-0000000H'") == 2


def test_admin_rights_on_accounts():
    """The admin role reads and changes users and their locations, may
    only read and delete sessions, only read notes and read state"""
    st = fresh()
    ctl("user", "add", "rights", "--role", "admin", "--password-stdin",
        stdin=PASSWORD, stack=st)
    add_session("rights", st)
    for sql in ("INSERT INTO sessions (token_hash, user_id, csrf) SELECT "
                "'\\x00', id, 'x' FROM users",
                "UPDATE sessions SET csrf = 'y'",
                "INSERT INTO notes (request_id, author, text) VALUES (1, "
                "'x', 'y')",
                "DELETE FROM notes",
                "DELETE FROM request_reads",
                "UPDATE appointment_requests SET triage = 'closed'"):
        assert denied("fdt_admin", sql, st), sql
    cluster.psql("SELECT count(*) FROM sessions; SELECT count(*) FROM "
                 "notes; SELECT count(*) FROM request_reads; SELECT triage "
                 "FROM appointment_requests", db=st.db, user="fdt_admin")


# -- console-key and help ----------------------------------------------------

def test_console_key():
    """console-key FILE: 64 hex digits and a newline, mode 0600, never over
    an existing file; no database needed"""
    path = os.path.join(S.dir, "console.key")
    code, out, err = run("console-key", path, conf="/nonexistent.conf")
    assert code == 0 and err == "" and path in out, (code, out, err)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as f:
        key = f.read()
    assert re.fullmatch(r"[0-9a-f]{64}\n", key), key
    code, out, err = run("console-key", path, conf="/nonexistent.conf")
    assert code == 1 and "exists" in err and err.count("\n") == 1, err
    with open(path) as f:
        assert f.read() == key
    ctl("console-key", rc=2, want="missing argument")
    ctl("console-key", "a", "b", rc=2, want="too many")


def test_help_lists_user_and_audit():
    """-h lists the user and audit commands; `user --help` and each
    command's --help describe them"""
    code, out, err = run("-h")
    assert code == 0 and err == ""
    for cmd in ("user add NAME --role staff|admin [--location SLUG]... "
                "[--password-stdin]",
                "user set NAME [--role staff|admin] [--location SLUG]...",
                "user passwd NAME [--password-stdin]", "user disable NAME",
                "user enable NAME", "user reset-2fa NAME",
                "user list [--json]",
                "audit list [--user NAME] [--reference REF] "
                "[--since YYYY-MM-DD] [--json]"):
        assert cmd in out, cmd
    code, out, err = run("user", "--help", conf="/nonexistent.conf")
    assert code == 0 and err == "", (code, err)
    for verb in ("add", "set", "passwd", "disable", "enable", "reset-2fa",
                 "list"):
        assert "usage: frontdeskctl [-c FILE] user " + verb in out, verb
    code, out, err = run("audit", "-h", conf="/nonexistent.conf")
    assert code == 0 and "audit list" in out
    for verb in ("add", "set", "passwd", "disable", "enable", "reset-2fa",
                 "list"):
        code, out, err = run("user", verb, "--help", conf="/nonexistent.conf")
        assert code == 0 and out.startswith("usage: frontdeskctl [-c FILE] "
                                            "user " + verb), (verb, out)
    # The man page has them too.
    with open(os.path.join(fdtest.SOURCE, "man", "frontdeskctl.8")) as f:
        man = f.read()
    for word in ("Ic user add", "Ic user set", "Ic user passwd",
                 "Ic user disable", "Ic user enable", "Ic user reset-2fa",
                 "Ic user list", "Ic audit list", "Ic console-key",
                 "frontdesk_console"):
        assert word in man, word


def lit(v):
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def add_request(st, ref, slug="midtown", status="received", outbox=()):
    st.sql("INSERT INTO appointment_requests (reference, location_id, "
           "status, first_name, last_name, email) SELECT %s, id, %s, "
           "'Maria', 'Gonzalez', 'maria@example.com' FROM locations WHERE "
           "slug = %s" % (lit(ref), lit(status), lit(slug)))
    for i, s in enumerate(outbox):
        st.sql("INSERT INTO outbox (request_id, message_id, status) SELECT "
               "id, %s, %s FROM appointment_requests WHERE reference = %s"
               % (lit("<%s.%d@clinic.example>" % (ref, i)), lit(s),
                  lit(ref)))


fdtest.run(globals())
