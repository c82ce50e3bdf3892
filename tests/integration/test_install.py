#!/usr/bin/python3
"""An installed tree (meson install into a temporary prefix) works on its
own: frontdeskctl db migrate finds the installed sql/, the programs and
the man page are where the packaging expects them."""
import glob
import os
import re
import shutil
import subprocess
import tempfile

import fdtest

cluster = fdtest.Cluster()
PREFIX = tempfile.mkdtemp(prefix="fdtest-prefix-")
BUILD = tempfile.mkdtemp(prefix="fdtest-build-")
fdtest._cleanups.append(lambda: shutil.rmtree(PREFIX, ignore_errors=True))
fdtest._cleanups.append(lambda: shutil.rmtree(BUILD, ignore_errors=True))


def sh(*args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout


def test_meson_install():
    """meson setup --prefix, compile and install into a temporary prefix"""
    sh("meson", "setup", BUILD, fdtest.SOURCE, "--prefix", PREFIX)
    sh("meson", "install", "-C", BUILD, "--quiet")
    for path in ("bin/frontdesk", "bin/frontdesk-mailer", "sbin/frontdeskctl",
                 "share/frontdesk/sql/001_core.sql",
                 "share/man/man8/frontdeskctl.8"):
        assert os.path.exists(os.path.join(PREFIX, path)), path


def test_units_name_installed_programs():
    """every program conf/systemd/ runs from /usr/local is where meson
    install puts it with --prefix /usr/local (frontdeskctl in sbin)"""
    seen = set()
    for u in glob.glob(os.path.join(fdtest.SOURCE, "conf", "systemd", "*")):
        with open(u) as f:
            for m in re.finditer(r"^Exec\w*=[-@:+!]*/usr/local/(\S+)",
                                 f.read(), re.M):
                seen.add(m.group(1))
                assert os.access(os.path.join(PREFIX, m.group(1)),
                                 os.X_OK), (u, m.group(0))
    assert {"bin/frontdesk", "bin/frontdesk-mailer",
            "sbin/frontdeskctl"} <= seen, seen


def test_installed_migrate():
    """the installed frontdeskctl migrates a new database from the
    installed sql/, and a second run applies nothing"""
    db = cluster.createdb()
    conf = os.path.join(PREFIX, "frontdesk.conf")
    with open(conf, "w") as f:
        f.write("[database]\nconninfo = %s\n" % cluster.conninfo(db))
    ctl = os.path.join(PREFIX, "sbin", "frontdeskctl")
    env = {k: v for k, v in os.environ.items() if k != "FRONTDESK_SQL_DIR"}
    out = sh(ctl, "-v", "-c", conf, "db", "migrate", env=env, cwd="/")
    assert os.path.join(PREFIX, "share/frontdesk/sql") in out, out
    tables = {r[0] for r in cluster.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", db)}
    assert {"locations", "routes", "appointment_requests", "outbox",
            "idempotency_keys", "rate_limits"} <= tables, tables
    out = sh(ctl, "-c", conf, "db", "migrate", env=env, cwd="/")
    assert "nothing to apply" in out.lower() or "up to date" in out.lower(), \
        out
    out = sh(os.path.join(PREFIX, "bin", "frontdesk"), "-t", "-c", conf)
    assert "ok" in out, out


fdtest.run(globals())
