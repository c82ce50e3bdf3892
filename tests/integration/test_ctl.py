#!/usr/bin/python3
"""frontdeskctl against a real PostgreSQL: every command, every error path
(exit 0, 1 with one line on stderr, 2), the three roles' rights, and the web
running under its role."""
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import threading

import fdtest
from fdtest import maria

cluster = fdtest.Cluster()
# The default clinic (three locations, a route each), migrated as the owner.
S = fdtest.Stack(cluster, start=False)
for _role in ("web", "mailer", "admin"):
    cluster.psql("CREATE ROLE fd_%s LOGIN IN ROLE frontdesk_%s"
                 % (_role, _role))

SQL_FILES = sorted(f for f in os.listdir(os.path.join(fdtest.SOURCE, "sql"))
                   if re.match(r"^\d{3}_.+\.sql$", f))
MSGID = re.compile(r"^<FD-[0-9A-HJKMNP-TV-Z]{8}\.[0-9a-f-]{36}"
                   r"@clinic\.example>$")
JSON_KEYS = ["reference", "created_at", "status", "delivery", "triage",
             "location",
             "first_name", "last_name", "email", "phone", "service",
             "preferred_time", "message", "consent", "submission_id"]


def conf_for(stack, user, name=None, **sections):
    """A configuration file for stack's database as the given role."""
    c = {k: dict(v) for k, v in stack.conf.items()}
    c["database"]["conninfo"] = cluster.conninfo(stack.db, user)
    for section, keys in sections.items():
        c.setdefault(section, {}).update(keys)
    return stack.write_conf(name or user + ".conf", c)


ADMIN = conf_for(S, "fd_admin")


def run(*args, conf=None, env=None):
    r = subprocess.run([S.program("frontdeskctl")] +
                       (["-c", conf] if conf else []) + list(args),
                       capture_output=True, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ctl(*args, rc=0, want=None, conf=None, env=None):
    """Runs frontdeskctl (as fd_admin by default) and checks its exit
    status; an error must be exactly one line on stderr, naming want."""
    code, out, err = run(*args, conf=conf or ADMIN, env=env)
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


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    return "'" + str(v).replace("'", "''") + "'"


def add_request(stack, ref, slug="midtown", status="received", days=0,
                outbox=(), **fields):
    """A stored request made `days` ago, with outbox rows in the given
    states."""
    f = {"first_name": "Maria", "last_name": "Gonzalez",
         "email": "maria@example.com", "phone": None, "service": None,
         "preferred_time": None, "message": None, "consent": False,
         "submission_id": None}
    f.update(fields)
    cols = ", ".join(f)
    vals = ", ".join(lit(v) for v in f.values())
    stack.sql("INSERT INTO appointment_requests (reference, location_id, "
              "status, created_at, %s) SELECT %s, id, %s, now() - "
              "interval '%d days', %s FROM locations WHERE slug = %s"
              % (cols, lit(ref), lit(status), days, vals, lit(slug)))
    for i, st in enumerate(outbox):
        stack.sql("INSERT INTO outbox (request_id, message_id, status, "
                  "created_at) SELECT id, %s, %s, now() - interval '%d days' "
                  "FROM appointment_requests WHERE reference = %s"
                  % (lit("<%s.%d@clinic.example>" % (ref, i)), lit(st), days,
                     lit(ref)))


def outbox_of(stack, ref):
    return stack.sql("SELECT o.id, o.status, o.message_id, o.attempts FROM "
                     "outbox o JOIN appointment_requests r ON "
                     "r.id = o.request_id WHERE r.reference = :'p1' "
                     "ORDER BY o.id", (ref,))


def fresh(locations=fdtest.DEFAULT_LOCATIONS):
    """Another database, migrated, with its own admin configuration."""
    st = fdtest.Stack(cluster, start=False, locations=locations)
    return st, conf_for(st, "fd_admin")


# -- usage ---------------------------------------------------------------

def test_usage_errors_exit_2():
    """No command, unknown commands and options, wrong operand counts: 2"""
    ctl(rc=2, want="no command")
    ctl("frobnicate", rc=2, want="unknown command")
    ctl("location", rc=2, want="needs a command")
    ctl("location", "frob", rc=2, want="unknown command")
    ctl("location", "list", "--frob", rc=2, want="unknown option --frob")
    ctl("location", "list", "-x", rc=2, want="unknown option -x")
    ctl("location", "list", "extra", rc=2, want="too many")
    ctl("location", "add", "x", rc=2, want="--name is required")
    ctl("location", "add", "--name", "X", rc=2, want="missing argument")
    ctl("location", "add", "x", "--name", rc=2, want="needs a value")
    ctl("location", "enable", rc=2)
    ctl("route", "add", "midtown", rc=2)
    ctl("route", "remove", "midtown", "a@b.example", "c", rc=2)
    ctl("request", "show", rc=2)
    ctl("request", "resend", rc=2)
    ctl("outbox", "retry", rc=2)
    ctl("purge", rc=2, want="--older-than")
    ctl("purge", "30", rc=2)
    ctl("db", "migrate", "now", rc=2)
    code, out, err = run("--bogus")
    assert code == 2 and "--bogus" in err and out == "", (code, err)
    # An operand that starts with '-' comes after "--".
    ctl("location", "add", "-x", "--name", "X", rc=2, want="unknown option")
    # a name that shows nothing would break the rendered form for everyone
    for blank in ("   ", "\u00a0", "\u200b", "Mid\u202etown"):
        ctl("location", "add", "blank", "--name", blank, rc=1,
            want="bad --name")


def test_usage_errors_before_configuration():
    """A usage error is 2 and --help works without a configuration: the
    file is read only once the command line is known to be right"""
    none = "/nonexistent.conf"
    for noun, verb in (("request", "resend"), ("request", "unspam")):
        ctl(noun, verb, conf=none, rc=2, want="missing argument")
        ctl(noun, verb, "a", "b", conf=none, rc=2, want="too many")
        ctl(noun, verb, "--bogus", conf=none, rc=2,
            want="unknown option --bogus")
        code, out, err = run(noun, verb, "--help", conf=none)
        assert code == 0 and out.startswith("usage: frontdeskctl") and \
            err == "", (code, out, err)
        # A well-formed command does read it, and says so.
        ctl(noun, verb, "FD-23456789", conf=none, rc=1,
            want="configuration")


def test_help_is_complete():
    """-h lists every command; each command's --help describes it"""
    code, out, err = run("-h")
    assert code == 0 and err == ""
    for cmd in ("db migrate", "location add", "location list",
                "location enable", "location disable", "route add",
                "route remove", "route list", "request list",
                "request show", "request resend", "request unspam",
                "outbox list", "outbox retry", "purge --older-than",
                "user add", "user set", "user passwd", "user disable",
                "user enable", "user reset-2fa", "user list", "audit list"):
        assert cmd in out, cmd
    assert "Exit status" in out
    for args in (("location", "add"), ("request", "list"),
                 ("outbox", "retry"), ("purge",), ("db", "migrate")):
        code, out, err = run(*args, "--help")
        assert code == 0 and out.startswith("usage: frontdeskctl"), out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("frontdeskctl "), out
    code, out, _ = run("help")
    assert code == 0 and "Commands:" in out


def test_database_errors_exit_1():
    """An unreachable database or missing rights: 1, one line"""
    c = dict(S.conf)
    c["database"] = {"conninfo": cluster.conninfo("no_such_db")}
    bad = S.write_conf("nodb.conf", c)
    ctl("location", "list", conf=bad, rc=1, want="cannot connect")
    # The web's role may not read routes: a database error, one line.
    ctl("route", "list", conf=conf_for(S, "fd_web"), rc=1,
        want="permission denied")
    ctl("location", "list", conf="/nonexistent.conf", rc=1,
        want="configuration")


# -- db migrate -------------------------------------------------------------

def test_migration_011_carries_the_rate_limit_over():
    """migration 011 moves each address's posts of the last hour into
    their minutes: an address at its limit before the upgrade is still at
    it after, its wait that of its oldest post (give or take the minute);
    an address with no post in the hour is dropped"""
    db = cluster.createdb()
    older = os.path.join(S.dir, "sql-010")
    os.makedirs(older, exist_ok=True)
    for f in SQL_FILES:
        if f < "011":
            shutil.copy(os.path.join(fdtest.SOURCE, "sql", f), older)
    c = {k: dict(v) for k, v in S.conf.items()}
    c["database"]["conninfo"] = cluster.conninfo(db, "postgres")
    conf = S.write_conf("owner-011.conf", c)
    ctl("db", "migrate", conf=conf,
        env=dict(os.environ, FRONTDESK_SQL_DIR=older))
    cluster.psql("INSERT INTO rate_limits (addr, hits) VALUES "
                 "('192.0.2.90', ARRAY[now() - interval '50 minutes', now() -"
                 " interval '10 minutes', now()]), "
                 "('192.0.2.91', ARRAY[now() - interval '2 hours']), "
                 "('192.0.2.92', ARRAY[now() - interval '61 minutes', now() -"
                 " interval '59 minutes'])", db=db)
    out = ctl("db", "migrate", conf=conf)
    assert "011_post.sql" in out, out
    assert cluster.psql("SELECT addr, total, (SELECT sum(n) FROM "
                        "unnest(counts) AS n) FROM rate_limits ORDER BY 1",
                        db=db) == [("192.0.2.90", "3", "3"),
                                   ("192.0.2.92", "1", "1")]

    def take(addr, limit):
        return int(cluster.psql("SELECT frontdesk_rate_take('%s', %d, now())"
                                % (addr, limit), db=db)[0][0])
    assert 600 < take("192.0.2.90", 3) <= 660
    assert 60 < take("192.0.2.92", 1) <= 120
    assert take("192.0.2.92", 2) == 0


def test_migrate_twice_applies_nothing():
    """A second db migrate applies nothing and says so; every file is
    recorded once"""
    out = ctl("db", "migrate", conf=S.conf_path)
    assert out.startswith("nothing to apply"), out
    rows = S.sql("SELECT name FROM schema_migrations ORDER BY name")
    assert [r[0] for r in rows] == SQL_FILES, rows
    # The admin role may ask too: nothing to do needs no owner's rights.
    assert ctl("db", "migrate").startswith("nothing to apply")


def test_migrate_fresh_database():
    """db migrate on an empty database applies every file in order"""
    db = cluster.createdb()
    c = dict(S.conf)
    c["database"] = {"conninfo": cluster.conninfo(db)}
    conf = S.write_conf("fresh.conf", c)
    out = ctl("db", "migrate", conf=conf)
    assert out.splitlines() == ["applied " + f for f in SQL_FILES] + [
        "applied %d of %d migrations" % (len(SQL_FILES), len(SQL_FILES))], out
    assert ctl("db", "migrate", conf=conf).startswith("nothing to apply")


def test_migrate_concurrent():
    """Two db migrate at once: each file applied exactly once"""
    db = cluster.createdb()
    c = dict(S.conf)
    c["database"] = {"conninfo": cluster.conninfo(db)}
    conf = S.write_conf("concurrent.conf", c)
    results = []

    def go():
        results.append(run("db", "migrate", conf=conf))
    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[0] == 0 for r in results), results
    applied = sum(len(re.findall(r"^applied \d{3}_", r[1], re.M))
                  for r in results)
    assert applied == len(SQL_FILES), results
    assert int(cluster.psql("SELECT count(*) FROM schema_migrations",
                            db=db)[0][0]) == len(SQL_FILES)


def test_migrate_bad_file_rolls_back():
    """A failing migration: 1, one line naming the file and line; nothing
    of it stays, and it is applied once fixed"""
    d = fdtest.tempdir("fdtest-sql-")
    try:
        for f in SQL_FILES:
            shutil.copy(os.path.join(fdtest.SOURCE, "sql", f), d)
        bad = os.path.join(d, "999_broken.sql")
        with open(bad, "w") as f:
            f.write("CREATE TABLE half_done (id int);\n\nSELECT * FROM\n"
                    "  no_such_table;\n")
        with open(os.path.join(d, "README"), "w") as f:
            f.write("not a migration\n")
        env = dict(os.environ, FRONTDESK_SQL_DIR=d)
        ctl("db", "migrate", conf=S.conf_path, env=env, rc=1,
            want=r"999_broken\.sql, line 4: .*no_such_table")
        assert S.sql("SELECT to_regclass('half_done')") == [(None,)]
        assert S.count("schema_migrations", "name = '999_broken.sql'") == 0
        with open(bad, "w") as f:
            f.write("CREATE TABLE half_done (id int);\n")
        out = ctl("db", "migrate", conf=S.conf_path, env=env)
        assert "applied 999_broken.sql" in out, out
        # Comments only: a valid, empty migration.
        with open(os.path.join(d, "998_comments.sql"), "w") as f:
            f.write("-- nothing yet\n")
        out = ctl("db", "migrate", conf=S.conf_path, env=env)
        assert out.startswith("applied 998_comments.sql"), out
        # An applied file edited afterwards: a warning, nothing applied.
        with open(os.path.join(d, SQL_FILES[0]), "a") as f:
            f.write("\n-- edited\n")
        code, out, err = run("db", "migrate", conf=S.conf_path, env=env)
        assert code == 0 and out.startswith("nothing to apply"), out
        assert err == "frontdeskctl: warning: %s has changed since it was " \
            "applied; a change needs a new numbered file\n" % SQL_FILES[0], err
        S.sql("DROP TABLE half_done; DELETE FROM schema_migrations "
              "WHERE name IN ('999_broken.sql', '998_comments.sql')")
        # An empty directory is an error, not a silent success.
        empty = fdtest.tempdir("fdtest-sql-")
        ctl("db", "migrate", conf=S.conf_path, rc=1, want="no migrations",
            env=dict(os.environ, FRONTDESK_SQL_DIR=empty))
        os.rmdir(empty)
    finally:
        shutil.rmtree(d)


def test_migrate_finds_installed_tree():
    """Outside the build tree frontdeskctl reads the installed sql dir"""
    code, out, _ = run("db", "migrate", "--help")
    installed = re.search(r"\((/[^)]*)\)", out).group(1)
    d = fdtest.tempdir("fdtest-bin-")
    try:
        exe = os.path.join(d, "frontdeskctl")
        shutil.copy(S.program("frontdeskctl"), exe)
        r = subprocess.run([exe, "-v", "-c", S.conf_path, "db", "migrate"],
                           capture_output=True)
        if os.path.isdir(installed):
            assert r.returncode == 0, r
            assert ("sql directory: " + installed) in r.stdout.decode()
        else:
            assert r.returncode == 1, r
            assert installed in r.stderr.decode(), r
        # From the build tree: the source tree's sql/.
        out = ctl("-v", "db", "migrate", conf=S.conf_path)
        assert ("sql directory: " + os.path.join(fdtest.SOURCE, "sql")) in \
            out.replace("//", "/"), out
    finally:
        shutil.rmtree(d)


# -- locations ----------------------------------------------------------------

def test_location_add_and_list():
    """location add/list: text, JSON, the thank-you override"""
    st, conf = fresh(locations=[])
    assert "no locations" in ctl("location", "list", conf=conf)
    assert ctl("location", "list", "--json", conf=conf).strip() == "[]"
    ctl("location", "add", "midtown", "--name", "Midtown Manhattan",
        conf=conf)
    ctl("location", "add", "--thank-you", "https://clinic.example/merci/",
        "woodbury", "--name", "Woodbury, Long Island", conf=conf)
    out = ctl("location", "list", conf=conf)
    lines = out.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "ACTIVE", "ROUTES",
                                "THANK-YOU", "URL"], out
    assert lines[1].split()[0] == "midtown" and "Midtown Manhattan" in \
        lines[1], out
    assert "https://clinic.example/merci/" in lines[2], out
    got = json.loads(ctl("location", "list", "--json", conf=conf))
    assert [(g["slug"], g["name"], g["thank_you_url"], g["active"],
             g["routes"]) for g in got] == [
        ("midtown", "Midtown Manhattan", None, True, 0),
        ("woodbury", "Woodbury, Long Island", "https://clinic.example/merci/",
         True, 0)], got
    assert all(re.match(r"^\d{4}-\d\d-\d\dT", g["created_at"]) for g in got)


def test_location_add_errors():
    """location add: bad slug, name or URL, or a slug taken: 1, nothing
    stored"""
    before = S.count("locations")
    ctl("location", "add", "midtown", "--name", "Again", rc=1,
        want="already exists")
    for slug in ("Midtown", "-x", "a b", "x" * 65, "", "é"):
        ctl("location", "add", "--name", "X", "--", slug, rc=1,
            want="not a valid location slug")
    for name in ("", "x" * 201, "two\nlines", "tab\tname", "bad \x7f"):
        ctl("location", "add", "newplace", "--name", name, rc=1,
            want="bad --name")
    for url in ("javascript:alert(1)", "//evil.example/", "/with space",
                "ftp://x.example/", "/" + "x" * 500, "relative/path",
                "https://"):
        ctl("location", "add", "newplace", "--name", "N", "--thank-you",
            url, rc=1, want="bad --thank-you")
    assert S.count("locations") == before
    ctl("location", "add", "x" * 64, "--name", "é" * 200, conf=ADMIN)
    S.sql("DELETE FROM locations WHERE slug = :'p1'", ("x" * 64,))


def test_location_enable_disable():
    """disable/enable, idempotent; never the last active location"""
    st, conf = fresh()
    assert "disabled" in ctl("location", "disable", "fidi", conf=conf)
    assert st.sql("SELECT active FROM locations WHERE slug = 'fidi'") == \
        [("f",)]
    assert "already disabled" in ctl("location", "disable", "fidi",
                                     conf=conf)
    got = json.loads(ctl("location", "list", "--json", conf=conf))
    assert [g["active"] for g in got] == [True, False, True], got
    ctl("location", "disable", "midtown", conf=conf)
    ctl("location", "disable", "woodbury", conf=conf, rc=1,
        want="last active location")
    assert st.count("locations", "active") == 1
    ctl("location", "enable", "fidi", conf=conf)
    assert "already enabled" in ctl("location", "enable", "fidi", conf=conf)
    ctl("location", "disable", "woodbury", conf=conf)
    ctl("location", "enable", "nowhere", conf=conf, rc=1,
        want="unknown location nowhere")
    ctl("location", "disable", "Bad_Slug", conf=conf, rc=1,
        want="not a valid location slug")


# -- routes ------------------------------------------------------------------

def test_route_add_list_remove():
    """route add (to, cc, bcc), list, remove; moving Woodbury's mail"""
    st, conf = fresh()
    ctl("route", "add", "midtown", "manager@clinic.example", "--cc",
        conf=conf)
    ctl("route", "add", "--bcc", "midtown", "audit@clinic.example",
        conf=conf)
    got = json.loads(ctl("route", "list", "midtown", "--json", conf=conf))
    assert [(g["location"], g["email"], g["kind"]) for g in got] == [
        ("midtown", "midtown.desk@clinic.example", "to"),
        ("midtown", "manager@clinic.example", "cc"),
        ("midtown", "audit@clinic.example", "bcc")], got
    # Woodbury's front desk moves to a new address.
    ctl("route", "add", "woodbury", "new.desk@clinic.example", conf=conf)
    out = ctl("route", "remove", "woodbury", "WOODBURY.desk@clinic.example",
              conf=conf)
    assert "no longer mails woodbury.desk@clinic.example" in out, out
    got = json.loads(ctl("route", "list", "woodbury", "--json", conf=conf))
    assert [(g["email"], g["kind"]) for g in got] == [
        ("new.desk@clinic.example", "to")], got
    out = ctl("route", "list", conf=conf)
    assert out.splitlines()[0].split() == ["LOCATION", "KIND", "EMAIL"]
    assert len(out.splitlines()) == 1 + 5, out
    # The last route gone: the text list says where the mail goes now.
    out = ctl("route", "remove", "fidi", "fidi.desk@clinic.example",
              conf=conf)
    assert "default_to" in out, out
    out = ctl("route", "list", "fidi", conf=conf)
    assert "default_to" in out.splitlines()[1], out
    assert json.loads(ctl("route", "list", "fidi", "--json",
                          conf=conf)) == []
    assert len(json.loads(ctl("route", "list", "--json", conf=conf))) == 4


def test_route_errors():
    """route: a duplicate (any case or kind), unknown slug, bad address:
    1, nothing changed; --cc with --bcc: 2"""
    before = S.count("routes")
    ctl("route", "add", "midtown", "Midtown.Desk@Clinic.Example", "--cc",
        rc=1, want="already routes to midtown.desk@clinic.example as to")
    ctl("route", "add", "nowhere", "a@clinic.example", rc=1,
        want="unknown location nowhere")
    for bad in ("not-an-address", "a@b", "Name <a@b.example>", "a b@c.de",
                "\"q\"@clinic.example", "a@clinic.example\n"):
        ctl("route", "add", "midtown", bad, rc=1,
            want="not a plain email address")
    ctl("route", "add", "midtown", "x@clinic.example", "--cc", "--bcc",
        rc=2, want="at most one")
    ctl("route", "add", "midtown", "x@clinic.example", "--to", rc=2)
    ctl("route", "remove", "midtown", "nobody@clinic.example", rc=1,
        want="no route to nobody@clinic.example")
    ctl("route", "remove", "nowhere", "a@clinic.example", rc=1,
        want="unknown location")
    ctl("route", "remove", "midtown", "bad", rc=1, want="not a plain")
    ctl("route", "list", "nowhere", rc=1, want="unknown location")
    ctl("route", "list", "midtown", "fidi", rc=2, want="too many")
    assert S.count("routes") == before


# -- requests ----------------------------------------------------------------

R = fdtest.Stack(cluster, start=False)
R_ADMIN = conf_for(R, "fd_admin")
TRICKY = "Pain, \"sharp\" here;\nsecond line\nthird, with 'quotes'"
add_request(R, "FD-0000000A", days=10, outbox=["sent"],
            first_name="Ann", last_name="Lee", phone="+1 212 555 0100",
            service="=HYPERLINK(\"http://evil\")", preferred_time="@noon",
            message=TRICKY, consent=True, submission_id="sub_1")
add_request(R, "FD-0000000B", slug="fidi", days=3, outbox=["dead"],
            first_name="José", last_name="Núñez", email=None,
            phone="-2125550100")
add_request(R, "FD-0000000C", slug="woodbury", status="spam", days=1,
            first_name="Bot", last_name="Spammer", message="+buy now")
add_request(R, "FD-0000000D", days=0, outbox=["sent", "sending"],
            first_name="Dee", last_name="Doe")


def request_json(ref):
    return json.loads(ctl("request", "show", ref, "--json", conf=R_ADMIN))


def test_request_list_text():
    """request list: aligned text, oldest first, with filters"""
    out = ctl("request", "list", conf=R_ADMIN)
    lines = out.splitlines()
    assert lines[0].split() == ["REFERENCE", "CREATED", "LOCATION", "STATUS",
                                "MAIL", "NAME", "CONTACT"], out
    assert [ln.split()[0] for ln in lines[1:]] == [
        "FD-0000000A", "FD-0000000B", "FD-0000000C", "FD-0000000D"], out
    # Aligned: every row's LOCATION starts in the header's column.
    col = lines[0].index("LOCATION")
    assert all(ln[col - 2:col] == "  " and ln[col] != " "
               for ln in lines[1:]), out
    refs = lambda *a: [ln.split()[0] for ln in  # noqa: E731
                       ctl("request", "list", *a,
                           conf=R_ADMIN).splitlines()[1:]]
    assert refs("--location", "fidi") == ["FD-0000000B"]
    assert refs("--status", "spam") == ["FD-0000000C"]
    assert refs("--status", "received", "--location", "midtown") == [
        "FD-0000000A", "FD-0000000D"]
    since = R.sql("SELECT (now() - interval '2 days')::date")[0][0]
    assert refs("--since", since) == ["FD-0000000C", "FD-0000000D"]
    assert "no requests" in ctl("request", "list", "--since", "2999-01-01",
                                conf=R_ADMIN)


def test_request_list_json():
    """request list --json: every stored field, keyed as the form names
    them, plus reference, created_at, status and delivery"""
    got = json.loads(ctl("request", "list", "--json", conf=R_ADMIN))
    assert [list(g) for g in got] == [JSON_KEYS] * 4, got
    a, b, c, d = got
    assert a == dict(a, reference="FD-0000000A", status="received",
                     delivery="sent", triage="new", location="midtown",
                     first_name="Ann",
                     last_name="Lee", email="maria@example.com",
                     phone="+1 212 555 0100",
                     service="=HYPERLINK(\"http://evil\")",
                     preferred_time="@noon", message=TRICKY, consent=True,
                     submission_id="sub_1"), a
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                    r"([+-]\d\d:\d\d|Z)$", a["created_at"]), a
    assert (b["delivery"], b["email"], b["consent"], b["first_name"]) == \
        ("dead", None, False, "José"), b
    assert (c["status"], c["delivery"]) == ("spam", None), c
    # The latest message counts, and one being sent is pending.
    assert d["delivery"] == "pending", d
    assert json.loads(ctl("request", "list", "--json", "--location", "fidi",
                          conf=R_ADMIN))[0]["reference"] == "FD-0000000B"


def test_request_list_csv_round_trip():
    """--csv: RFC 4180 with CRLF rows that Python's csv module reads back,
    commas, quotes and line breaks intact, formulas neutralised"""
    raw = subprocess.run([S.program("frontdeskctl"), "-c", R_ADMIN,
                          "request", "list", "--csv"],
                         capture_output=True, check=True).stdout
    text = raw.decode("utf-8")
    assert text.startswith(",".join(JSON_KEYS) + "\r\n"), text[:200]
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["reference"] for r in rows] == [
        "FD-0000000A", "FD-0000000B", "FD-0000000C", "FD-0000000D"]
    a, b, c, d = rows
    assert a["message"] == TRICKY, a
    assert a["service"] == "'=HYPERLINK(\"http://evil\")", a
    assert a["preferred_time"] == "'@noon" and a["phone"] == \
        "'+1 212 555 0100", a
    assert a["consent"] == "true" and a["delivery"] == "sent", a
    assert b["phone"] == "'-2125550100" and b["email"] == "", b
    assert b["last_name"] == "Núñez" and b["consent"] == "false", b
    assert c["message"] == "'+buy now" and c["delivery"] == "", c
    # Only a cell's first character matters.
    assert a["message"][0] == "P"
    rows = list(csv.reader(io.StringIO(ctl(
        "request", "list", "--csv", "--status", "spam", conf=R_ADMIN),
        newline="")))
    assert len(rows) == 2 and rows[1][0] == "FD-0000000C", rows
    rows = list(csv.reader(io.StringIO(ctl(
        "request", "list", "--csv", "--since", "2999-12-31", conf=R_ADMIN),
        newline="")))
    assert rows == [JSON_KEYS], rows


def test_request_list_errors():
    """request list: bad --since, --status or --location: 1; --json with
    --csv, an operand: 2"""
    for since in ("2024-02-30", "yesterday", "2024-1-1", "01/02/2024", ""):
        ctl("request", "list", "--since", since, conf=R_ADMIN, rc=1,
            want="bad --since")
    for status in ("sent", "RECEIVED", ""):
        ctl("request", "list", "--status", status, conf=R_ADMIN, rc=1,
            want="bad --status")
    ctl("request", "list", "--location", "nowhere", conf=R_ADMIN, rc=1,
        want="unknown location nowhere")
    ctl("request", "list", "--location", "No Way", conf=R_ADMIN, rc=1,
        want="not a valid location slug")
    ctl("request", "list", "--json", "--csv", conf=R_ADMIN, rc=2,
        want="at most one")
    ctl("request", "list", "midtown", conf=R_ADMIN, rc=2)
    ctl("request", "list", "--since", conf=R_ADMIN, rc=2,
        want="needs a value")


def test_request_show():
    """request show: text with the message and its mail; --json one
    object; the reference in any case"""
    out = ctl("request", "show", "FD-0000000A", conf=R_ADMIN)
    assert re.search(r"^reference +FD-0000000A$", out, re.M), out
    assert re.search(r"^location +midtown$", out, re.M), out
    assert "    second line\n    third, with 'quotes'" in out, out
    assert re.search(r"^mail:\n\s*OUTBOX +STATUS", out, re.M), out
    obj = request_json("FD-0000000A")
    assert list(obj) == JSON_KEYS and obj["message"] == TRICKY, obj
    assert obj["triage"] == "new", obj
    R.sql("UPDATE appointment_requests SET triage = 'scheduled' WHERE "
          "reference = 'FD-0000000D'")
    assert request_json("FD-0000000D")["triage"] == "scheduled"
    R.sql("UPDATE appointment_requests SET triage = 'new' WHERE "
          "reference = 'FD-0000000D'")
    assert obj == json.loads(ctl("request", "list", "--json",
                                 conf=R_ADMIN))[0]
    # Crockford: lower case, O for 0 and l for 1 are read as meant.
    assert request_json("fd-oooooooa")["reference"] == "FD-0000000A"
    ctl("request", "show", "FD-ZZZZZZZZ", conf=R_ADMIN, rc=1,
        want="unknown request FD-ZZZZZZZZ")
    for bad in ("FD-123", "XX-00000000", "FD-0000000U", "FD-00000000A"):
        ctl("request", "show", bad, conf=R_ADMIN, rc=1,
            want="not a request reference")
    ctl("request", "show", "FD-0000000A", "FD-0000000B", conf=R_ADMIN,
        rc=2)


def test_request_resend():
    """resend: a new pending message with a new Message-ID; spam is an
    error"""
    before = outbox_of(R, "FD-0000000B")
    out = ctl("request", "resend", "FD-0000000B", conf=R_ADMIN)
    assert "queued as outbox" in out, out
    after = outbox_of(R, "FD-0000000B")
    assert len(after) == len(before) + 1, after
    new = after[-1]
    assert new[1] == "pending" and new[3] == "0", new
    assert MSGID.match(new[2]) and new[2].startswith("<FD-0000000B."), new
    assert new[2] not in [b[2] for b in before]
    assert request_json("FD-0000000B")["delivery"] == "pending"
    ctl("request", "resend", "FD-0000000B", conf=R_ADMIN)
    ids = [o[2] for o in outbox_of(R, "FD-0000000B")]
    assert len(set(ids)) == len(ids) == len(before) + 2
    n = R.count("outbox")
    ctl("request", "resend", "FD-0000000C", conf=R_ADMIN, rc=1,
        want="is spam.*unspam")
    ctl("request", "resend", "FD-ZZZZZZZZ", conf=R_ADMIN, rc=1,
        want="unknown request")
    ctl("request", "resend", "nope", conf=R_ADMIN, rc=1,
        want="not a request reference")
    assert R.count("outbox") == n


def test_request_unspam():
    """unspam: received, and exactly one message queued; again: 1"""
    st, conf = fresh()
    add_request(st, "FD-000000SP", status="spam")
    assert request_json_in(st, conf, "FD-000000SP")["delivery"] is None
    out = ctl("request", "unspam", "fd-000000sp", conf=conf)
    assert "marked received" in out, out
    assert st.sql("SELECT status FROM appointment_requests") == \
        [("received",)]
    ob = outbox_of(st, "FD-000000SP")
    assert len(ob) == 1 and ob[0][1] == "pending" and MSGID.match(ob[0][2])
    assert request_json_in(st, conf, "FD-000000SP")["delivery"] == "pending"
    ctl("request", "unspam", "FD-000000SP", conf=conf, rc=1,
        want="not marked as spam")
    ctl("request", "unspam", "FD-ZZZZZZZZ", conf=conf, rc=1,
        want="unknown request")
    assert len(outbox_of(st, "FD-000000SP")) == 1


def request_json_in(st, conf, ref):
    return json.loads(ctl("request", "show", ref, "--json", conf=conf))


# -- outbox ------------------------------------------------------------------

def test_outbox_list():
    """outbox list: every message, sending shown as pending, filters"""
    st, conf = fresh()
    add_request(st, "FD-00000001", outbox=["sent", "dead"])
    add_request(st, "FD-00000002", outbox=["sending", "pending"])
    out = ctl("outbox", "list", conf=conf)
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["ID", "REFERENCE", "LOCATION", "STATUS",
                                    "ATTEMPTS"], out
    assert [ln.split()[3] for ln in lines[1:]] == [
        "sent", "dead", "pending", "pending"], out
    got = json.loads(ctl("outbox", "list", "--json", conf=conf))
    assert [g["status"] for g in got] == ["sent", "dead", "pending",
                                          "pending"], got
    assert set(got[0]) >= {"id", "reference", "location", "status",
                           "attempts", "message_id", "created_at",
                           "next_attempt_at", "sent_at", "last_error"}
    assert isinstance(got[0]["id"], int)
    st_of = lambda s: [g["reference"] for g in json.loads(  # noqa: E731
        ctl("outbox", "list", "--status", s, "--json", conf=conf))]
    assert st_of("pending") == ["FD-00000002", "FD-00000002"]
    assert st_of("dead") == ["FD-00000001"]
    assert st_of("sent") == ["FD-00000001"]
    assert "no messages" in ctl("outbox", "list", conf=fresh()[1])
    for bad in ("sending", "queued", ""):
        ctl("outbox", "list", "--status", bad, conf=conf, rc=1,
            want="bad --status")
    ctl("outbox", "list", "x", conf=conf, rc=2)


def test_outbox_retry():
    """retry ID and --all-dead: dead back to pending, due now, attempts
    from 0; anything else is refused"""
    st, conf = fresh()
    add_request(st, "FD-00000001", days=5, outbox=["dead", "sent"])
    add_request(st, "FD-00000002", outbox=["dead", "dead", "pending"])
    st.sql("UPDATE outbox SET attempts = 7, last_error = '550 no such user',"
           " next_attempt_at = now() + interval '1 day'")
    ids = [int(r[0]) for r in st.sql("SELECT id FROM outbox ORDER BY id")]
    ctl("outbox", "retry", str(ids[0]), conf=conf)
    row = st.sql("SELECT status, attempts, next_attempt_at <= now(), "
                 "created_at > now() - interval '1 minute', last_error "
                 "FROM outbox WHERE id = %d" % ids[0])
    assert row == [("pending", "0", "t", "t", "550 no such user")], row
    ctl("outbox", "retry", str(ids[0]), conf=conf, rc=1,
        want="is pending, not dead")
    ctl("outbox", "retry", str(ids[1]), conf=conf, rc=1,
        want="is sent, not dead")
    ctl("outbox", "retry", "999999", conf=conf, rc=1,
        want="unknown outbox message 999999")
    for bad in ("0", "-1", "x", "1.5", "99999999999999999999"):
        ctl("outbox", "retry", "--", bad, conf=conf, rc=1,
            want="bad outbox ID")
    ctl("outbox", "retry", str(ids[2]), "--all-dead", conf=conf, rc=2)
    ctl("outbox", "retry", "1", "2", conf=conf, rc=2)
    out = ctl("outbox", "retry", "--all-dead", conf=conf)
    assert out.startswith("2 dead messages"), out
    assert st.count("outbox", "status = 'dead'") == 0
    assert st.count("outbox", "status = 'pending'") == 4
    assert ctl("outbox", "retry", "--all-dead",
               conf=conf).startswith("0 dead")


# -- purge -------------------------------------------------------------------

def test_purge():
    """purge: old requests go with their mail, except those whose mail is
    pending or being sent; old idempotency keys go"""
    st, conf = fresh()
    add_request(st, "FD-0000001A", days=100, outbox=["sent"])
    add_request(st, "FD-0000001B", days=100, outbox=["sent", "dead"])
    add_request(st, "FD-0000001C", days=100, status="spam")
    add_request(st, "FD-0000001D", days=100, outbox=["sent", "pending"])
    add_request(st, "FD-0000001E", days=100, outbox=["sending"])
    add_request(st, "FD-0000001F", days=10, outbox=["sent"])
    st.sql("INSERT INTO outbox_attempts (outbox_id, outcome) "
           "SELECT id, 'sent' FROM outbox")
    st.sql("INSERT INTO idempotency_keys (key, fingerprint, reference, "
           "created_at) VALUES ('old', 'x', 'FD-0000001A', now() - "
           "interval '25 hours'), ('new', 'x', 'FD-0000001F', now())")
    # the last post of .1 was 61 minutes ago, of .2 five
    st.sql("INSERT INTO rate_limits (addr, minute, total, counts) SELECT "
           "a, floor(extract(epoch FROM now()) / 60)::integer - ago, 1, "
           "array_fill(0, ARRAY[61]) FROM (VALUES ('192.0.2.1', 61), "
           "('192.0.2.2', 5)) AS v (a, ago)")
    out = ctl("purge", "--older-than", "30", conf=conf)
    assert out == ("purged 3 request(s) older than 30 days, with 3 "
                   "message(s); kept 2 whose mail is still pending; "
                   "dropped 1 idempotency key(s) older than 24 hours and 1 "
                   "address(es) with no post in the last hour\n"), out
    assert st.sql("SELECT addr FROM rate_limits") == [("192.0.2.2",)]
    left = [r[0] for r in st.sql("SELECT reference FROM appointment_requests"
                                 " ORDER BY reference")]
    assert left == ["FD-0000001D", "FD-0000001E", "FD-0000001F"], left
    assert st.count("outbox") == 4 and st.count("outbox_attempts") == 4
    assert [r[0] for r in st.sql("SELECT key FROM idempotency_keys")] == \
        ["new"]
    out = ctl("purge", "--older-than", "5", conf=conf)
    assert out.startswith("purged 1 request(s)"), out
    for bad in ("0", "-3", "abc", "1e3", "100001", ""):
        ctl("purge", "--older-than", bad, conf=conf, rc=1,
            want="bad --older-than")
    ctl("purge", conf=conf, rc=2, want="--older-than DAYS is required")
    ctl("purge", "--older-than", conf=conf, rc=2, want="needs a value")


def test_purge_takes_work_keeps_audit():
    """A purged request's notes, read state and triage go with it (the
    schema's cascades); the audit rows about it stay, and so do the notes
    of a request that is kept"""
    st, conf = fresh()
    add_request(st, "FD-0000002A", days=100, outbox=["sent"])
    add_request(st, "FD-0000002B", days=1, outbox=["sent"])
    st.sql("INSERT INTO users (username, role) VALUES ('maria', 'staff')")
    for ref in ("FD-0000002A", "FD-0000002B"):
        st.sql("UPDATE appointment_requests SET triage = 'contacted' "
               "WHERE reference = :'p1'", (ref,))
        st.sql("INSERT INTO notes (request_id, author, text) SELECT id, "
               "'maria', 'Called back, left a message' FROM "
               "appointment_requests WHERE reference = :'p1'", (ref,))
        st.sql("INSERT INTO request_reads (request_id, user_id) SELECT "
               "r.id, u.id FROM appointment_requests r, users u WHERE "
               "r.reference = :'p1' AND u.username = 'maria'", (ref,))
        st.sql("INSERT INTO audit_log (actor, action, object, detail) "
               "VALUES ('maria', 'triage', :'p1', 'triage: \"new\" -> "
               "\"contacted\"'), ('maria', 'note', :'p1', NULL)", (ref,))
    assert st.count("notes") == 2 and st.count("request_reads") == 2
    out = ctl("purge", "--older-than", "30", conf=conf)
    assert out.startswith("purged 1 request(s)"), out
    assert [r[0] for r in st.sql("SELECT reference FROM "
                                 "appointment_requests")] == ["FD-0000002B"]
    kept = st.sql("SELECT r.reference, r.triage, (SELECT count(*) FROM "
                  "notes n WHERE n.request_id = r.id), (SELECT count(*) "
                  "FROM request_reads rr WHERE rr.request_id = r.id) FROM "
                  "appointment_requests r")
    assert kept == [("FD-0000002B", "contacted", "1", "1")], kept
    assert st.count("notes") == 1 and st.count("request_reads") == 1
    # Both requests' audit rows, the purged one's included.
    assert st.count("audit_log", "object = 'FD-0000002A'") == 2
    assert st.count("audit_log", "object = 'FD-0000002B'") == 2
    assert st.count("users") == 1


def test_purge_keeps_undelivered():
    """purge keeps an old request whose email never reached anyone (every
    message dead, none sent) and says so; --include-undelivered removes it
    (issue 13)"""
    st, conf = fresh()
    add_request(st, "FD-0000002A", days=100, outbox=["dead"])
    add_request(st, "FD-0000002B", days=100, outbox=["dead", "dead"])
    add_request(st, "FD-0000002C", days=100, outbox=["sent", "dead"])
    add_request(st, "FD-0000002D", days=100, outbox=["dead", "pending"])
    add_request(st, "FD-0000002E", days=100, status="spam")
    add_request(st, "FD-0000002F", days=10, outbox=["dead"])

    def left():
        return [r[0] for r in st.sql("SELECT reference FROM "
                                     "appointment_requests ORDER BY 1")]
    out = ctl("purge", "--older-than", "30", conf=conf)
    lines = out.splitlines()
    assert len(lines) == 2 and out.endswith("\n"), out
    assert lines[0].startswith(
        "purged 2 request(s) older than 30 days, with 2 message(s); kept 1 "
        "whose mail is still pending;"), out
    assert lines[1] == ("kept 2 request(s) whose email was never delivered "
                        "(dead); --include-undelivered removes them"), out
    assert left() == ["FD-0000002A", "FD-0000002B", "FD-0000002D",
                      "FD-0000002F"], left()
    out = ctl("purge", "--older-than", "30", "--include-undelivered",
              conf=conf)
    lines = out.splitlines()
    assert lines[0].startswith(
        "purged 2 request(s) older than 30 days, with 3 message(s); kept 1 "
        "whose mail is still pending;"), out
    assert lines[1] == ("purged with them 2 request(s) whose email was "
                        "never delivered (dead), as --include-undelivered "
                        "asked"), out
    assert left() == ["FD-0000002D", "FD-0000002F"], left()
    # nothing undelivered left to keep: the one line of before
    out = ctl("purge", "--older-than", "30", conf=conf)
    assert out.count("\n") == 1 and out.startswith("purged 0 request(s)"), out
    code, out, err = run("purge", "--help")
    assert code == 0 and "--include-undelivered" in out, (out, err)
    ctl("purge", "--older-than", "30", "--include-undelivered=yes",
        conf=conf, rc=2)


# -- roles -------------------------------------------------------------------

def denied(user, sql):
    try:
        cluster.psql(sql, db=S.db, user=user)
    except RuntimeError as e:
        assert "permission denied" in str(e), e
        return True
    return False


def test_web_role_least_privilege():
    """frontdesk_web cannot read routes or requests' contents, update the
    outbox or delete anything"""
    add_request(S, "FD-000000WB", outbox=["pending"])
    for sql in ("SELECT * FROM routes",
                "SELECT message FROM appointment_requests",
                "UPDATE outbox SET status = 'sent'",
                "DELETE FROM appointment_requests",
                "DELETE FROM outbox",
                "DELETE FROM idempotency_keys",
                "UPDATE locations SET active = false",
                "INSERT INTO routes (location_id, email) VALUES (1, "
                "'x@evil.example')",
                "UPDATE appointment_requests SET status = 'spam'",
                "SELECT * FROM schema_migrations"):
        assert denied("fd_web", sql), sql


WEB_POST = ("SELECT retry_after, location_active, key_reference, key_same,"
            " stored FROM frontdesk_post(%s, %d, :'p1', 'midtown', true, "
            "false, 'Ann', 'Lee', 'ann@example.com', NULL, NULL, NULL, NULL,"
            " true, %s, '\\x%s'::bytea, 'clinic.example')")


def web_post(ref, addr="NULL", limit=0, key="NULL", digest="00"):
    """frontdesk_post as the web calls it, as fd_web"""
    return cluster.psql(WEB_POST % (addr, limit, key, digest), db=S.db,
                        user="fd_web", params=(ref,))[0]


def test_web_role_rate_limit_only_through_its_function():
    """frontdesk_web cannot read or change rate_limits (recent clients'
    addresses) nor create temporary tables; it counts a post through
    frontdesk_post(), which no other role may call, as the rate limit's
    own functions are its owner's alone (issue 13)"""
    cluster.psql("INSERT INTO rate_limits (addr, minute, total, counts) "
                 "VALUES ('192.0.2.77', 0, 0, array_fill(0, ARRAY[61])) "
                 "ON CONFLICT DO NOTHING", db=S.db)
    for sql in ("SELECT * FROM rate_limits",
                "SELECT addr FROM rate_limits",
                "SELECT count(*) FROM rate_limits",
                "UPDATE rate_limits SET total = 0",
                "INSERT INTO rate_limits (addr, minute, total, counts) "
                "VALUES ('x', 0, 0, array_fill(0, ARRAY[61]))",
                "DELETE FROM rate_limits",
                "CREATE TEMP TABLE t (x int)",
                "CREATE TEMPORARY TABLE t AS SELECT addr FROM rate_limits",
                "SELECT frontdesk_rate_take('x', 1, now())"):
        assert denied("fd_web", sql), sql
    for who in ("fd_mailer", "fd_admin"):
        assert denied(who, "CREATE TEMP TABLE t (x int)"), who
        assert denied(who, "SELECT * FROM frontdesk_post(NULL, 0, NULL, "
                      "NULL, false, false, NULL, NULL, NULL, NULL, NULL, "
                      "NULL, NULL, false, NULL, NULL, NULL)"), who
        assert denied(who, "SELECT frontdesk_rate_take('x', 1, now())"), who
    assert cluster.psql("SELECT has_database_privilege('fd_web', "
                        "current_database(), 'TEMP')", db=S.db) == [("f",)]
    # The web's one way in counts and answers: under the limit (2) twice,
    # stored; then refused with the seconds to wait, nothing stored.
    got = [web_post("FD-000000R%d" % i, "'192.0.2.78'", 2)
           for i in range(1, 4)]
    assert [(g[0], g[4]) for g in got[:2]] == [("0", "t")] * 2, got
    assert got[2][4] == "f" and 3540 < int(got[2][0]) <= 3660, got
    assert cluster.psql("SELECT total FROM rate_limits WHERE addr = "
                        "'192.0.2.78'", db=S.db) == [("2",)]
    assert S.count("appointment_requests",
                   "reference LIKE 'FD-000000R_'") == 2
    # and it cannot be steered: its owner's rights, a fixed search_path
    # (and one plan a session, issue 11)
    assert cluster.psql("SELECT prosecdef, proconfig FROM pg_proc WHERE "
                        "proname = 'frontdesk_post'", db=S.db) == [
        ("t", "{\"search_path=pg_catalog, pg_temp\","
         "plan_cache_mode=force_generic_plan}")]
    # the functions it replaced are gone
    assert cluster.psql("SELECT count(*) FROM pg_proc WHERE proname IN "
                        "('frontdesk_rate_limit', 'frontdesk_key_find', "
                        "'frontdesk_key_claim')", db=S.db) == [("0",)]


def test_web_role_reaches_keys_only_by_key():
    """frontdesk_web cannot list the idempotency keys, read a fingerprint
    or the secret that keys them, nor take or change a key but through
    its functions, which no other role may call; by them it claims a key
    with a post, looks it up (same fields or other) and replays one. A
    stored fingerprint is keyed (HMAC-SHA-256 with the secret), not a hash
    anyone could compute of a guess (issue 12)"""
    digest = hashlib.sha256(b"a guess of the fields").hexdigest()
    for sql in ("SELECT * FROM idempotency_keys",
                "SELECT key, reference FROM idempotency_keys",
                "SELECT count(*) FROM idempotency_keys",
                "SELECT fingerprint FROM idempotency_keys WHERE key = 'k'",
                "INSERT INTO idempotency_keys (key, fingerprint, reference) "
                "VALUES ('k-x', 'x', 'FD-000000K1')",
                "UPDATE idempotency_keys SET reference = 'FD-000000K1'",
                "DELETE FROM idempotency_keys",
                "SELECT * FROM fingerprint_secret",
                "SELECT frontdesk_fingerprint('\\x00')"):
        assert denied("fd_web", sql), sql
    # stored with its key; the same key again: its request, same fields
    # or not, and nothing stored
    assert web_post("FD-000000K1", key="'k-role'", digest=digest) == (
        "0", "t", None, None, "t")
    assert web_post("FD-000000K2", key="'k-role'", digest=digest) == (
        "0", "t", "FD-000000K1", "t", "f")
    assert web_post("FD-000000K3", key="'k-role'") == (
        "0", "t", "FD-000000K1", "f", "f")
    assert S.count("appointment_requests",
                   "reference IN ('FD-000000K2', 'FD-000000K3')") == 0
    # what is kept is keyed with the secret: not the digest's SHA-256
    assert cluster.psql(
        "SELECT k.fingerprint = hmac('\\x%s'::bytea, s.secret, 'sha256'),"
        " k.fingerprint <> sha256('\\x%s'::bytea), length(s.secret) FROM "
        "idempotency_keys k, fingerprint_secret s WHERE k.key = 'k-role'"
        % (digest, digest), db=S.db) == [("t", "t", "32")]
    # the aliases an outage leaves: made by the replay's function only,
    # read by the admin (request show) and the console
    for sql in ("SELECT * FROM reference_aliases",
                "INSERT INTO reference_aliases (alias, reference) VALUES "
                "('FD-000000K9', 'FD-000000K1')"):
        assert denied("fd_web", sql), sql
    assert denied("fd_mailer", "SELECT * FROM reference_aliases")
    for who in ("fd_web", "fd_mailer"):
        assert denied(who, "SELECT frontdesk_reference('FD-000000K9')"), who
    cluster.psql("SELECT count(*) FROM reference_aliases", db=S.db,
                 user="fd_admin")
    for who in ("fd_mailer", "fd_admin"):
        assert denied(who, "SELECT * FROM fingerprint_secret"), who
        for f in ("frontdesk_key_replay('k-r2', '\\x00', 'FD-000000K1', "
                  "now())", "frontdesk_fingerprint('\\x00')"):
            assert denied(who, "SELECT * FROM " + f), (who, f)
    # and none can be steered: their owner's rights, a fixed search_path
    assert cluster.psql(
        "SELECT proname, prosecdef, proconfig FROM pg_proc WHERE proname "
        "IN ('frontdesk_fingerprint', 'frontdesk_post', "
        "'frontdesk_key_replay') ORDER BY 1",
        db=S.db) == [(n, "t", "{\"search_path=pg_catalog, pg_temp\"%s}" % (
            ",plan_cache_mode=force_generic_plan" if n == "frontdesk_post"
            else "")) for n in ("frontdesk_fingerprint", "frontdesk_key_replay",
                                "frontdesk_post")]


def test_mailer_role_least_privilege():
    """frontdesk_mailer cannot insert or change requests, nor touch
    locations or routes; it can move the outbox on"""
    for sql in ("INSERT INTO appointment_requests (reference, location_id, "
                "status, first_name, last_name, email) VALUES "
                "('FD-MMMMMMMM', 1, 'received', 'a', 'b', 'c@d.example')",
                "UPDATE appointment_requests SET status = 'spam'",
                "DELETE FROM appointment_requests",
                "DELETE FROM outbox",
                "INSERT INTO routes (location_id, email) VALUES (1, "
                "'x@evil.example')",
                "UPDATE locations SET active = false",
                "SELECT * FROM idempotency_keys",
                "UPDATE outbox SET message_id = '<x@evil.example>'",
                "UPDATE outbox SET request_id = 1",
                "SELECT submission_id FROM appointment_requests",
                "SELECT thank_you_url FROM locations"):
        assert denied("fd_mailer", sql), sql
    add_request(S, "FD-000000MA", outbox=["pending"])
    cluster.psql("SELECT o.id FROM outbox o JOIN appointment_requests r ON "
                 "r.id = o.request_id JOIN locations l ON l.id = "
                 "r.location_id LEFT JOIN routes rt ON rt.location_id = l.id"
                 " FOR UPDATE OF o SKIP LOCKED; UPDATE outbox SET status = "
                 "'sent', sent_at = now() WHERE message_id LIKE "
                 "'<FD-000000MA.%'; INSERT INTO outbox_attempts (outbox_id, "
                 "outcome, smtp_code) SELECT id, 'sent', 250 FROM outbox "
                 "WHERE message_id LIKE '<FD-000000MA.%'",
                 db=S.db, user="fd_mailer")


def test_admin_role_cannot_change_schema():
    """frontdesk_admin runs every command but cannot alter the schema, nor
    rewrite a message or a location's name behind the commands' backs"""
    checks = ["DROP TABLE routes", "ALTER TABLE locations ADD x int",
              "CREATE ROLE sneaky", "CREATE TABLE mine (id int)",
              "UPDATE outbox SET message_id = '<x@evil.example>'",
              "UPDATE locations SET slug = 'x'"]
    for who in ("fd_web", "fd_mailer"):
        try:
            cluster.psql("CREATE TABLE mine (id int)", db=S.db, user=who)
            raise AssertionError("%s may create tables" % who)
        except RuntimeError as e:
            assert "permission denied" in str(e), e
    for sql in checks:
        try:
            cluster.psql(sql, db=S.db, user="fd_admin")
            raise AssertionError("allowed: " + sql)
        except RuntimeError as e:
            assert "must be owner" in str(e) or "permission denied" in \
                str(e), e


def test_web_runs_under_its_role():
    """frontdesk under frontdesk_web: posts stored and replayed, spam
    kept, /locations and /metrics answer; a location disabled with
    frontdeskctl is gone from the next answer, no restart"""
    if shutil.which("nginx") is None:
        raise fdtest.Skip("nginx not installed")
    st = fdtest.Stack(cluster, start=False)
    # The rate limit on, so that its statement runs under the role too.
    web = conf_for(st, "fd_web", "web.conf",
                   limits={"per_ip_per_hour": "1000"})
    admin = conf_for(st, "fd_admin")
    st.start_frontdesk(conf=web)
    st.start_nginx()
    r = st.post(maria(submission_id="k-1"))
    assert r.status == 201, (r, st.log("frontdesk"))
    ref = r.json()["reference"]
    again = st.post(maria(submission_id="k-1"))
    assert again.status == 201 and again.json()["reference"] == ref, again
    assert st.post(maria(submission_id="k-1", first_name="Other")).status \
        == 409
    st.sql("UPDATE idempotency_keys SET created_at = now() - "
           "interval '25 hours'")
    r2 = st.post(maria(submission_id="k-1"))
    assert r2.status == 201 and r2.json()["reference"] != ref, r2
    assert st.post(maria(website="http://spam.example")).status == 201
    assert st.count("appointment_requests") == 3
    assert st.count("appointment_requests", "status = 'spam'") == 1
    assert st.count("outbox") == 2
    got = json.loads(ctl("request", "show", ref, "--json", conf=admin))
    assert got["first_name"] == "Maria" and got["delivery"] == "pending"
    assert got["submission_id"] == "k-1" and got["consent"] is True, got
    assert st.get("/api/metrics").status == 200
    assert [x["slug"] for x in st.get("/api/locations").json()] == [
        "midtown", "fidi", "woodbury"]
    ctl("location", "disable", "fidi", conf=admin)
    assert [x["slug"] for x in st.get("/api/locations").json()] == [
        "midtown", "woodbury"]
    assert st.post(maria(location="fidi")).status == 422
    ctl("location", "enable", "fidi", conf=admin)
    assert st.post(maria(location="fidi")).status == 201
    assert st.count("rate_limits") == 1
    assert "level=error" not in st.log("frontdesk"), st.log("frontdesk")


fdtest.run(globals())
