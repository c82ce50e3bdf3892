#!/usr/bin/python3
"""frontdesk-mailer keeps the SMTP password to itself (issue 13): no core
dump can hold it, a password file others may read is refused, and tls = off
sends (in the clear) only to the loopback, decided before any traffic."""
import glob
import os
import resource
import shutil
import signal
import struct
import subprocess
import time

import fdtest
import mailtest as mt
from fdtest import wait_for

cluster = fdtest.Cluster()
PASSWORD = "s3cret pass;word"
NOBODY = 65534


def stack():
    """A database and an SMTP server on the loopback that wants AUTH."""
    S = fdtest.Stack(cluster, start=False)
    mt.start_smtpd(S, "--auth", "frontdesk", PASSWORD)
    return S


def password_file(S, name, mode=0o600, owner=0):
    path = os.path.join(S.dir, name)
    with open(path, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(path, mode)
    os.chown(path, owner, owner)
    return path


def auth_conf(S, name, path):
    return mt.mailer_conf(S, name + ".conf", smtp={
        "username": "frontdesk", "password_file": path})


def as_user(uid):
    """preexec_fn: the mailer as another user (the tests run as root)."""
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return drop


def run_once(S, conf, preexec=None, env=None, wrap=()):
    """frontdesk-mailer --once; returns (exit status, its log)."""
    r = subprocess.run(list(wrap) + [S.program("frontdesk-mailer"), "-c",
                                     conf, "--once"],
                       capture_output=True, timeout=60, preexec_fn=preexec,
                       env=env)
    log = r.stderr.decode()
    with open(os.path.join(S.dir, "mailer.log"), "a") as f:
        f.write(log)
    return r.returncode, log


def refused(S, conf, want, **kw):
    """The mailer exits 1 at start with one log line naming want; the
    message queued before waits untouched and the SMTP server heard
    nothing."""
    ref, = mt.insert_requests(S, 1)
    rc, log = run_once(S, conf, **kw)
    assert rc == 1, log
    lines = log.splitlines()
    assert len(lines) == 1 and "level=error" in lines[0], log
    for w in want:
        assert w in lines[0], (w, log)
    assert PASSWORD not in log and "s3cret" not in log, log
    assert mt.outbox_row(S, ref)[:2] == ("pending", "0"), \
        mt.outbox_row(S, ref)
    S.sql("DELETE FROM appointment_requests WHERE reference = :'p1'", (ref,))
    return lines[0]


def delivered(S, conf, **kw):
    ref, = mt.insert_requests(S, 1)
    rc, log = run_once(S, conf, **kw)
    assert rc == 0, log
    assert mt.outbox_row(S, ref)[0] == "sent", (mt.outbox_row(S, ref), log)
    assert "password_file_readable" not in log and PASSWORD not in log, log


# -- core dumps --------------------------------------------------------------

def test_no_core_dumps():
    """the mailer turns core dumps off itself, whatever it was started
    with: its core limit is 0 (soft and hard), it is not dumpable (its
    /proc files belong to root, not to its user), and a SIGABRT leaves no
    core behind"""
    S = stack()
    cwd = fdtest.tempdir("fdtest-core-")
    os.chmod(cwd, 0o777)
    log = os.path.join(S.dir, "nocore.log")
    drop = as_user(NOBODY)

    def start():
        # what a shell with `ulimit -c unlimited` would hand it
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))
        drop()
    p = fdtest.spawn([S.program("frontdesk-mailer"), "-c",
                      S.mailer_conf_path], log, cwd=cwd, preexec_fn=start)
    try:
        wait_for(lambda: "event=mailer_started" in open(log).read() or
                 p.poll() is not None, what="the mailer started")
        assert p.poll() is None, open(log).read()
        with open("/proc/%d/limits" % p.pid) as f:
            core = [ln.split() for ln in f if ln.startswith("Max core")]
        assert core and core[0][4:6] == ["0", "0"], core
        with open("/proc/%d/status" % p.pid) as f:
            uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
        assert uids == [str(NOBODY)] * 4, uids
        # A process that is not dumpable has its /proc/PID files owned by
        # root (the kernel's task_dump_owner), whatever its user.
        st = os.stat("/proc/%d/status" % p.pid)
        assert st.st_uid == 0, "dumpable: /proc/PID is its user's"
        p.send_signal(signal.SIGABRT)
        assert p.wait(15) == -signal.SIGABRT, p.returncode
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        raise fdtest.Skip("limits and dumpable checked; core_pattern %r "
                          "writes no core here to look for" % pattern)
    prefix = pattern.split("%")[0] or "core"
    assert glob.glob(os.path.join(cwd, prefix + "*")) == [], \
        os.listdir(cwd)


# -- tls = off ---------------------------------------------------------------

def network_sockets(trace):
    """The AF_INET/AF_INET6 sockets a strace -e trace=socket log shows."""
    with open(trace) as f:
        return [ln for ln in f if "socket(AF_INET" in ln]


def test_tls_off_only_to_the_loopback_itself():
    """tls = off with a host that only starts like the loopback
    (localhost.attacker.example, 127.0.0.1.attacker.example, localhost as
    the user name) is refused at start, one line naming the host, before
    any traffic: no DNS lookup, no connection; localhost itself works"""
    S = stack()
    pw = password_file(S, "smtp.password")
    strace = shutil.which("strace")
    for url, host in (
            ("smtp://localhost.attacker.example:%d", "localhost.attacker."
             "example"),
            ("smtp://127.0.0.1.attacker.example:%d", "127.0.0.1.attacker."
             "example"),
            ("smtp://frontdesk:s3cret@localhost.attacker.example:%d",
             "localhost.attacker.example"),
            ("smtp://localhost@attacker.example:%d", "attacker.example")):
        conf = mt.mailer_conf(S, "remote.conf", smtp={
            "url": url % S.smtp_port, "tls": "off", "username": "frontdesk",
            "password_file": pw})
        trace = os.path.join(S.dir, "strace.log")
        wrap = (strace, "-f", "-qq", "-e", "trace=socket", "-o",
                trace) if strace else ()
        # LeakSanitizer (the sanitizer build) cannot run under ptrace.
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get(
            "ASAN_OPTIONS", "") + ":detect_leaks=0")
        line = refused(S, conf, ["event=smtp_tls_off", 'host="%s"' % host,
                                 "loopback", "tls = required"], wrap=wrap,
                       env=env)
        assert "s3cret" not in line, line
        if strace:
            assert network_sockets(trace) == [], network_sockets(trace)
    # the loopback by name, and with a user name in the URL
    for url in ("smtp://localhost:%d", "smtp://u@127.0.0.1:%d"):
        delivered(S, mt.mailer_conf(S, "loop.conf", smtp={
            "url": url % S.smtp_port, "tls": "off", "username": "frontdesk",
            "password_file": pw}))
    if not strace:
        raise fdtest.Skip("refusals checked; strace missing, so no trace "
                          "of the absent traffic")


# -- password_file -----------------------------------------------------------

def test_password_file_others_may_read_is_refused():
    """a password_file that its group or others may read or write, or that
    belongs to another user, stops the mailer: exit 1, one line naming the
    file and the fix"""
    S = stack()
    for name, mode, owner in (("p644", 0o644, 0), ("p640", 0o640, 0),
                              ("p604", 0o604, 0), ("p620", 0o620, 0),
                              ("pnobody", 0o600, NOBODY)):
        path = password_file(S, name, mode, owner)
        line = refused(S, auth_conf(S, name, path), [
            "event=password_file_readable", 'path="%s"' % path,
            "mode=%04o" % mode, "owner=%d" % owner, "chmod 600 " + path])
        assert "level=error" in line


def test_private_password_file_is_used():
    """0600 and 0400 files of the mailer's user (or root) are read and the
    password works, as are systemd's credentials: 0400 owned by the
    service's user, or 0400 root's with an ACL for that user (stat shows
    0440), in $CREDENTIALS_DIRECTORY"""
    S = stack()
    for name, mode in (("p600", 0o600), ("p400", 0o400)):
        delivered(S, auth_conf(S, name, password_file(S, name, mode)))
    # The mailer as the service's user, nobody here.
    creds = os.path.join(S.dir, "credentials")
    os.mkdir(creds, 0o755)
    env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
    own = os.path.join(creds, "smtp-password")
    with open(own, "w") as f:
        f.write(PASSWORD)
    os.chmod(own, 0o400)
    os.chown(own, NOBODY, NOBODY)
    delivered(S, auth_conf(S, "cred", own), preexec=as_user(NOBODY), env=env)
    # The ACL systemd sets where the file system has them: user::r,
    # user:SERVICE:r, group::-, mask::r, other::- on a 0400 root file.
    acl = os.path.join(creds, "smtp-password-acl")
    with open(acl, "w") as f:
        f.write(PASSWORD)
    os.chmod(acl, 0o400)
    entries = [(0x01, 4, 0xffffffff), (0x02, 4, NOBODY),
               (0x04, 0, 0xffffffff), (0x10, 4, 0xffffffff),
               (0x20, 0, 0xffffffff)]
    try:
        os.setxattr(acl, "system.posix_acl_access", struct.pack("<I", 2) +
                    b"".join(struct.pack("<HHI", *e) for e in entries))
    except OSError as e:
        raise fdtest.Skip("no ACLs here (%s): the credential's other form "
                          "checked" % e)
    assert os.stat(acl).st_mode & 0o777 == 0o440
    delivered(S, auth_conf(S, "credacl", acl), preexec=as_user(NOBODY),
              env=env)
    # the same file for a mailer that is not the ACL's user (root here,
    # who can read it): the ACL lets another user read it, refused
    refused(S, auth_conf(S, "credacl2", acl), [
        "event=password_file_readable", "mode=0440", "another user"])


fdtest.run(globals())
