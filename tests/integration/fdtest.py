"""fdtest: the integration tests' harness.

Each test file gets its own throwaway PostgreSQL cluster (unix socket only,
in a temporary folder: no port to collide on), and builds what it needs on
top: a database migrated with frontdeskctl, frontdesk behind the real nginx
with the shipped conf/nginx/frontdesk.conf, an SMTP server, the mailer.
Every port is picked free at start; everything is stopped at exit.

Tests are plain functions named test_*; run(globals()) runs them in the
order they are defined and prints TAP, so meson counts every case.
"""
import atexit
import email
import email.policy
import glob
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

BUILD = os.environ.get("FRONTDESK_BUILD") or os.path.abspath("build")
SOURCE = os.environ.get("FRONTDESK_SOURCE") or os.path.abspath(".")
PYTHON = "/usr/bin/python3"  # Debian's, with aiosmtpd
NULL = "\x1dNULL\x1d"

_procs = []
_cleanups = []


def _pgbin():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found "
                           "(apt-get install postgresql)")
    return dirs[-1]


_LOGFMT_PAIR = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s"=\\]+)(?: |$)')


def logfmt(line):
    """The key=value pairs of one logfmt line, values unescaped. Raises
    AssertionError when the line is not strictly well formed: every value
    bare (no space, quote, backslash or '=') or double-quoted with \\"
    and \\\\ escapes, one space between pairs, no key twice."""
    pairs, pos = {}, 0
    while pos < len(line):
        m = _LOGFMT_PAIR.match(line, pos)
        assert m, "not logfmt at %d: %r" % (pos, line)
        k, v = m.group(1), m.group(2)
        assert k not in pairs, "key %s twice: %r" % (k, line)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        pairs[k] = v
        pos = m.end()
    return pairs


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=10.0, what="condition", interval=0.02):
    """Polls cond() until it is truthy or the deadline passes. what names
    the condition in the error; a callable is called at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what() if callable(what)
                                    else what))
        time.sleep(interval)


def spawn(args, log, **kw):
    """Starts a process whose output goes to log; stopped at exit."""
    out = open(log, "ab")
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kw)
    out.close()
    _procs.append(p)
    return p


def tempdir(prefix="fdtest-"):
    """A temporary folder removed at exit, and when a signal stops the test
    (which skips finally blocks)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _cleanups.append(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def stop(p, sig=signal.SIGTERM, timeout=15):
    """Signals a process and waits for it; returns its exit status."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def _end(p):
    """Kills a process of ours and reaps it, without Popen.wait(): the
    signal handler runs this too, and the code it interrupted may be in
    p.wait(), holding the Popen's lock (a second wait() would deadlock)."""
    if p.returncode is not None:
        return
    try:
        os.kill(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        _, status = os.waitpid(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:  # reaped already (by p.poll() or p.wait())
        pass


@atexit.register
def _cleanup():
    """Stops every process spawn() started and runs every cleanup, the
    newest first. It runs at exit, at the end of run(), and from the
    signal handler, which may interrupt it: so an item is taken off its
    list only once it has run (the handler redoes the one it interrupted,
    and each is idempotent), and nothing here may use what the
    interrupted code may be inside (no sys.stdout or sys.stderr, no
    Popen.wait(), no lock; a cleanup added to _cleanups must be plain os
    calls, like shutil.rmtree)."""
    while _procs:
        _end(_procs[-1])
        _procs.pop()
    while _cleanups:
        f = _cleanups[-1]
        try:
            f()
        except Exception:
            pass
        _cleanups.pop()


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PID = os.getpid()
_handling = False


def _on_signal(signum, frame):
    """meson stops a test past its timeout with SIGTERM (to its process
    group, SIGKILL 0.5 s later), and a signal's default action skips atexit:
    PostgreSQL, which pg_ctl starts in a session of its own, and the
    temporary folders would stay. Clean up here, at once, then exit 128 +
    the signal. Not by raising SystemExit: a test's finally blocks would
    run first (and may wait), and an exception they raise would let run()
    go on to the next test.

    A Python handler runs between two steps of whatever the main thread
    was doing, possibly inside sys.stdout's BufferedWriter (CPython checks
    for signals after each write() of a flush, with the buffer's lock
    held) or inside Popen.wait(). So the handler touches nothing the
    interrupted code may hold: its message goes to fd 2 with os.write, the
    cleanup uses os calls only (_cleanup), and it exits with os._exit,
    never flushing sys.stdout: what a test printed since run()'s last
    flush (each TAP line is flushed as it is printed) is dropped, which is
    better than "RuntimeError: reentrant call inside BufferedWriter" (an
    exit status of 1, and the cleanup cut short) or a hang."""
    global _handling
    if os.getpid() != _PID:
        # A child between fork and exec (preexec_fn) that meson's signal
        # to the process group reached: the test's own process cleans up.
        os._exit(128 + signum)
    _handling = True
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    try:
        os.write(2, b"fdtest: %s: stopping everything\n"
                 % signal.Signals(signum).name.encode())
    except OSError:
        pass
    _cleanup()
    os._exit(128 + signum)


def _nudge(rfd, main):
    """The signal's messenger. CPython's C handler only notes a signal; the
    Python handler runs when the main thread next checks, and a blocking
    call entered just after the signal came (time.sleep(), a wait, a
    recv: the check is before it, the signal between) does not return
    early: the handler would wait for it (120 s for test_harness's child)
    and meson's SIGKILL comes 0.5 s after its SIGTERM. The C handler also
    writes the signal's number to the wakeup fd, which this thread reads:
    if the Python handler has not started 50 ms later, the thread sends
    the signal again, to the main thread itself, which interrupts that
    call (EINTR), and the handler runs. Every 100 ms, 50 times at most,
    and only while _on_signal is the signal's handler."""
    while True:
        try:
            data = os.read(rfd, 64)
        except OSError:
            return
        if not data:
            return
        for signum in data:
            if signum not in _SIGNALS:
                continue
            time.sleep(0.05)
            for _ in range(50):
                if _handling or signal.getsignal(signum) is not _on_signal:
                    break
                try:
                    signal.pthread_kill(main, signum)
                except (OSError, ValueError):
                    return
                time.sleep(0.1)


for _s in _SIGNALS:
    signal.signal(_s, _on_signal)
_wake_r, _wake_w = os.pipe()  # not inherited by children (PEP 446)
os.set_blocking(_wake_w, False)
signal.set_wakeup_fd(_wake_w, warn_on_full_buffer=False)
threading.Thread(target=_nudge, args=(_wake_r, threading.get_ident()),
                 name="fdtest-signals", daemon=True).start()


def _alive(pid):
    """Whether pid runs (a zombie awaiting its reaper does not)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return False


def _as_postgres():
    """preexec_fn and owner for the server when we are root."""
    if os.geteuid() != 0:
        return None, None
    pw = pwd.getpwnam("postgres")

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop, pw


class Cluster:
    """A throwaway PostgreSQL server on a unix socket in a temporary dir."""

    def __init__(self, durable=False):
        """durable=False turns fsync off: fine for tests, not for timing."""
        self.durable = durable
        self.dir = tempfile.mkdtemp(prefix="fdtest-pg-")
        drop, pw = _as_postgres()
        if pw:
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.bin = _pgbin()
        self._drop = drop
        self._starting = False
        # Before initdb and start: a signal (or a failure) from here on
        # still stops the server and removes the folder.
        _cleanups.append(self.destroy)
        subprocess.run([os.path.join(self.bin, "initdb"), "-A", "trust",
                        "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                        "--no-sync", "-D", self.data], check=True,
                       stdout=subprocess.DEVNULL, preexec_fn=drop)
        self.start()

    def start(self):
        self._starting = True
        try:
            self._pg_ctl_start()
        finally:
            self._starting = False

    def _pg_ctl_start(self):
        subprocess.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                        "-w", "-l", os.path.join(self.dir, "server.log"),
                        "-o", "-k %s -c listen_addresses='' %s"
                        "-c max_connections=300" % (self.dir, "" if
                        self.durable else "-c fsync=off -c synchronous_"
                        "commit=off -c full_page_writes=off "),
                        "start"], check=True, stdout=subprocess.DEVNULL,
                       preexec_fn=self._drop)

    def stop(self, mode="fast"):
        subprocess.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                        "-w", "-m", mode, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, preexec_fn=self._drop)

    def destroy(self):
        """Stops the server at once and removes its folder. This is what
        pg_ctl stop -m immediate does (SIGQUIT to the postmaster, then wait
        until it is gone), without starting pg_ctl: the signal handler runs
        it too (_cleanup). Bounded: 15 s at most."""
        pid = None
        t0 = time.monotonic()
        while True:
            try:
                with open(os.path.join(self.data, "postmaster.pid")) as f:
                    pid = int(f.readline())
                if pid <= 0:  # a single-user server: not ours to signal
                    pid = None
                break
            except (OSError, ValueError):
                # Not written yet while pg_ctl start runs (it may be what
                # the signal interrupted): wait for it, 5 s at most.
                if not self._starting or time.monotonic() - t0 > 5:
                    break
                time.sleep(0.01)
        deadline = time.monotonic() + 10
        if pid:
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pid = None
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        shutil.rmtree(self.dir, ignore_errors=True)

    def conninfo(self, db="postgres", user="postgres"):
        return "host=%s dbname=%s user=%s" % (self.dir, db, user)

    def psql(self, sql, db="postgres", user="postgres", params=()):
        """Runs sql; returns the rows of the last statement as tuples of
        str (None for NULL). params fill :'p1', :'p2', ... as literals."""
        args = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-F", "\x1f", "-R", "\x1e", "-P", "null=" + NULL,
                "-d", self.conninfo(db, user)]
        for i, p in enumerate(params, 1):
            args += ["-v", "p%d=%s" % (i, p)]
        r = subprocess.run(args, input=sql.encode(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr.decode().strip())
        out = r.stdout.decode()
        rows = []
        for line in out.split("\x1e"):
            line = line.strip("\n")
            if line == "":
                continue
            rows.append(tuple(None if c == NULL else c
                              for c in line.split("\x1f")))
        return rows

    def login_roles(self):
        """fdt_web, fdt_mailer and fdt_admin: login roles in the group
        roles of sql/002_roles.sql, so each program runs with only its
        own rights, as in production."""
        for role in ROLES:
            self.psql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles "
                      "WHERE rolname = 'fdt_%s') THEN CREATE ROLE fdt_%s "
                      "LOGIN IN ROLE frontdesk_%s; END IF; END $$"
                      % (role, role, role))

    def session(self, db):
        """An interactive psql on db (Session)."""
        return Session(self, db)

    def createdb(self, name=None):
        name = name or "fd_" + uuid.uuid4().hex[:12]
        self.psql("CREATE DATABASE %s" % name)
        return name


# The programs' database roles: each program's tests run under its own.
ROLES = ("web", "mailer", "admin", "console")


class Session:
    """An interactive psql on one database, for a test that holds a
    transaction open (a row, a lock) while a program runs into it:
    send() writes SQL, line() reads one line of its answers (unaligned,
    tuples only), end() sends the last SQL (COMMIT by default), closes
    psql's input and returns its exit status. Leaving the with-block
    kills a psql still running (its transaction rolls back)."""

    def __init__(self, cluster, db):
        self.p = subprocess.Popen(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
             cluster.conninfo(db)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def line(self):
        return self.p.stdout.readline().strip()

    def end(self, sql="COMMIT;", timeout=10):
        self.send(sql)
        self.p.stdin.close()
        return self.p.wait(timeout)

    def errors(self):
        return self.p.stderr.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:300])


DEFAULT_LOCATIONS = [
    ("midtown", "Midtown Manhattan", ["midtown.desk@clinic.example"]),
    ("fidi", "Financial District", ["fidi.desk@clinic.example"]),
    ("woodbury", "Woodbury, Long Island", ["woodbury.desk@clinic.example"]),
]


def form_body(fields):
    """urlencoded body from a dict or a list of pairs."""
    import urllib.parse
    items = fields.items() if isinstance(fields, dict) else fields
    return urllib.parse.urlencode(list(items)).encode()


def multipart_body(fields, boundary="fdtestBoundary42"):
    items = fields.items() if isinstance(fields, dict) else fields
    out = b""
    for k, v in items:
        v = v.encode() if isinstance(v, str) else v
        out += (b"--" + boundary.encode() + b"\r\n"
                b'Content-Disposition: form-data; name="' + k.encode() +
                b'"\r\n\r\n' + v + b"\r\n")
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


SHIPPED_SOCKET = "/run/frontdesk/fcgi.sock"  # in every file under conf/
SHIPPED_CONSOLE_SOCKET = "/run/frontdesk/console.sock"


def with_socket(text, socket_path, console_socket=None):
    """A shipped file's text with the test's sockets put in."""
    text = text.replace(SHIPPED_SOCKET, socket_path)
    if console_socket is not None:
        text = text.replace(SHIPPED_CONSOLE_SOCKET, console_socket)
    return text


def shipped(relpath, socket_path, dest, console_socket=None):
    """Copies SOURCE/relpath to dest with the sockets put in; returns
    dest."""
    with open(os.path.join(SOURCE, relpath)) as f:
        text = f.read()
    with open(dest, "w") as f:
        f.write(with_socket(text, socket_path, console_socket))
    return dest


def nginx_conf(d, port, www, includes, http_extra="",
               error_log="error.log"):
    """Writes d/nginx.conf: nginx in the foreground, everything in d, one
    server on 127.0.0.1:port serving www with includes in it; returns its
    path. Run it as nginx -p d -c PATH."""
    shutil.copy("/etc/nginx/fastcgi_params", d)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write("""
%(user)s
daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/%(error_log)s warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path %(d)s/client_body;
    fastcgi_temp_path %(d)s/fastcgi_temp;
    proxy_temp_path %(d)s/proxy_temp;
    uwsgi_temp_path %(d)s/uwsgi_temp;
    scgi_temp_path %(d)s/scgi_temp;
    %(http_extra)s
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
%(includes)s    }
}
""" % {"d": d, "port": port, "www": www, "http_extra": http_extra,
       "error_log": error_log,
       "user": "user root;" if os.geteuid() == 0 else "",
       "includes": "".join("        include %s;\n" % i for i in includes)})
    return path


class Stack:
    """A database, frontdesk and nginx (and, when asked, an SMTP server
    and the mailer), wired together in a temporary folder."""

    def __init__(self, cluster, conf=None, locations=DEFAULT_LOCATIONS,
                 start=True, smtp=False, mailer=False, user="postgres",
                 www=None, nginx_includes=()):
        # www: the folder nginx serves (default: an empty <dir>/www);
        # nginx_includes: more files included in nginx's server { }.
        self.cluster = cluster
        self.www = www
        self.nginx_includes = list(nginx_includes)
        self.dir = tempfile.mkdtemp(prefix="fdtest-stack-")
        os.chmod(self.dir, 0o755)
        _cleanups.append(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.db = cluster.createdb()
        self.socket = os.path.join(self.dir, "fcgi.sock")
        self.port = free_port()
        self.maildir = os.path.join(self.dir, "maildir")
        self.smtp_port = free_port()
        self.frontdesk = self.nginx = self.smtp = None
        self.mailers = []
        self.conf = {
            "database": {"conninfo": cluster.conninfo(self.db, user)},
            "fastcgi": {"listen": self.socket, "threads": "4",
                        "socket_mode": "0666"},
            "http": {"prefix": "/api", "thank_you_url": "/thank-you/"},
            "smtp": {"url": "smtp://127.0.0.1:%d" % self.smtp_port,
                     "tls": "off", "timeout": "10",
                     "from": "In Touch NYC Physical Therapy "
                             "<appointments@clinic.example>"},
            "mail": {"default_to": "frontdesk@clinic.example",
                     "retry_min": "1", "retry_max": "2"},
            "limits": {"per_ip_per_hour": "0"},
        }
        for section, keys in (conf or {}).items():
            self.conf.setdefault(section, {}).update(keys)
        # conf_path: the database owner's file, for `db migrate`; each
        # program gets its own role's file by default (rewrite_confs).
        self.conf_path = self.write_conf("frontdesk.conf", self.conf)
        self.ctl("db", "migrate")
        cluster.login_roles()
        self.rewrite_confs()
        for slug, name, routes in locations:
            self.ctl("location", "add", slug, "--name", name)
            for r in routes:
                self.ctl("route", "add", slug, r)
        if smtp:
            self.start_smtp()
        if start:
            self.start_frontdesk()
            self.start_nginx()
        if mailer:
            self.start_mailer()

    # -- files and programs
    def conf_as(self, role, **sections):
        """A copy of self.conf connecting as role's login role, with
        sections (dicts) merged over it."""
        conf = {k: dict(v) for k, v in self.conf.items()}
        conf["database"]["conninfo"] = self.cluster.conninfo(
            self.db, "fdt_" + role)
        for section, keys in sections.items():
            conf.setdefault(section, {}).update(keys)
        return conf

    def rewrite_confs(self):
        """(Re)writes the owner's and each role's file from self.conf."""
        self.conf_path = self.write_conf("frontdesk.conf", self.conf)
        for role in ROLES:
            setattr(self, role + "_conf_path", self.write_conf(
                "frontdesk-%s.conf" % role, self.conf_as(role)))

    def write_conf(self, name, conf):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for section, keys in conf.items():
                f.write("[%s]\n" % section)
                for k, v in keys.items():
                    f.write("%s = %s\n" % (k, v))
        return path

    def program(self, name):
        return os.path.join(BUILD, name)

    def ctl(self, *args, check=True, conf=None, input=None):
        """frontdeskctl as the admin role (db migrate as the owner);
        input: its standard input (bytes or str)."""
        if conf is None:
            conf = (self.conf_path if args[:2] == ("db", "migrate")
                    else self.admin_conf_path)
        if isinstance(input, str):
            input = input.encode()
        r = subprocess.run([self.program("frontdeskctl"), "-c",
                            conf] + list(args),
                           capture_output=True, input=input)
        if check and r.returncode != 0:
            raise AssertionError("frontdeskctl %s: exit %d: %s" % (
                " ".join(args), r.returncode, r.stderr.decode()))
        return r

    def sql(self, q, params=()):
        return self.cluster.psql(q, db=self.db, params=params)

    def start_frontdesk(self, conf=None):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.frontdesk_log = os.path.join(self.dir, "frontdesk.log")
        self.frontdesk = spawn([self.program("frontdesk"), "-c",
                                conf or self.web_conf_path],
                               self.frontdesk_log)
        wait_for(lambda: os.path.exists(self.socket) or
                 self.frontdesk.poll() is not None, what="frontdesk socket")
        if self.frontdesk.poll() is not None:
            raise AssertionError("frontdesk exited: " + self.log("frontdesk"))
        return self.frontdesk

    def second_frontdesk(self, name="second"):
        """Another frontdesk process on the same database (and spool), on
        a socket of its own: returns (process, socket path)."""
        sock = os.path.join(self.dir, name + ".sock")
        conf = self.conf_as("web", fastcgi={"listen": sock})
        p = spawn([self.program("frontdesk"), "-c",
                   self.write_conf(name + ".conf", conf)],
                  os.path.join(self.dir, name + ".log"))
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 what=name + " socket")
        assert p.poll() is None, self.log(name)
        return p, sock

    def start_console(self, name="console", **sections):
        """frontdesk-console as its own role on a socket of its own, with
        sections merged over the console's file; returns the process. Its
        socket is self.console_socket (the first one's, for nginx)."""
        sock = os.path.join(self.dir, name + ".sock")
        key = os.path.join(self.dir, name + ".key")
        if not os.path.exists(key):
            with open(key, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(key, 0o600)
        conf = self.conf_as("console")
        conf["console"] = {"listen": sock, "socket_mode": "0666",
                           "threads": "4", "key_file": key}
        for section, keys in sections.items():
            conf.setdefault(section, {}).update(keys)
        if os.path.exists(sock):
            os.unlink(sock)
        p = spawn([self.program("frontdesk-console"), "-c",
                   self.write_conf(name + ".conf", conf)],
                  os.path.join(self.dir, name + ".log"))
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 what=name + " socket")
        assert p.poll() is None, self.log(name)
        if not hasattr(self, "console_socket"):
            self.console_socket = sock
        return p

    def stop_frontdesk(self, sig=signal.SIGTERM):
        return stop(self.frontdesk, sig)

    def start_nginx(self, location_conf=None, http_extra=""):
        """Serves the shipped location block (or location_conf's text)
        with the frontdesk socket put in; http_extra goes in http {}."""
        if self.nginx is not None:
            stop(self.nginx, signal.SIGQUIT)
            self.port = free_port()
            if os.path.exists(os.path.join(self.dir, "nginx.pid")):
                os.unlink(os.path.join(self.dir, "nginx.pid"))
        loc = os.path.join(self.dir, "frontdesk-location.conf")
        if location_conf is None:
            shipped("conf/nginx/frontdesk.conf", self.socket, loc)
        else:
            with open(loc, "w") as f:
                f.write(with_socket(location_conf, self.socket))
        includes = [loc]
        console = getattr(self, "console_socket", None)
        if console is not None:
            cl = os.path.join(self.dir, "console-location.conf")
            shipped("conf/nginx/console.conf", self.socket, cl, console)
            includes.append(cl)
        www = self.www or os.path.join(self.dir, "www")
        os.makedirs(www, exist_ok=True)
        nginx_conf(self.dir, self.port, www, includes + self.nginx_includes,
                   with_socket(http_extra, self.socket, console),
                   error_log="nginx-error.log")
        self.nginx = spawn(["nginx", "-e", os.path.join(self.dir,
                            "nginx-error.log"), "-p", self.dir, "-c",
                            os.path.join(self.dir, "nginx.conf")],
                           os.path.join(self.dir, "nginx.out"))
        wait_for(lambda: self._port_open() and os.path.exists(
            os.path.join(self.dir, "nginx.pid")), what="nginx port")

    def _port_open(self, port=None):
        try:
            socket.create_connection(("127.0.0.1", port or self.port),
                                     0.2).close()
            return True
        except OSError:
            return False

    def start_smtp(self):
        # aiosmtpd's Mailbox makes the maildir (tmp/, new/, cur/) itself,
        # but only when the folder does not exist yet.
        self.smtp = spawn([PYTHON, "-m", "aiosmtpd", "-n", "-l",
                           "127.0.0.1:%d" % self.smtp_port, "-c",
                           "aiosmtpd.handlers.Mailbox", self.maildir],
                          os.path.join(self.dir, "smtp.log"))
        wait_for(lambda: self._port_open(self.smtp_port), what="SMTP port")
        return self.smtp

    def start_mailer(self, *extra, conf=None):
        m = spawn([self.program("frontdesk-mailer"), "-c",
                   conf or self.mailer_conf_path] + list(extra),
                  os.path.join(self.dir, "mailer.log"))
        self.mailers.append(m)
        return m

    def messages(self):
        """Every message the SMTP server stored, parsed by Python's MIME
        parser."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(email.message_from_binary_file(
                        f, policy=email.policy.default))
        return out

    def log(self, name):
        try:
            return open(os.path.join(self.dir, name + ".log")).read()
        except OSError:
            return ""

    # -- HTTP through nginx
    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Response(r.status, hdrs, data)
        finally:
            c.close()

    def post(self, fields=None, body=None, content_type=None, json_mode=True,
             headers=None, path="/api/appointments", multipart=False):
        h = {}
        if fields is not None:
            if multipart:
                body, content_type = multipart_body(fields)
            else:
                body = form_body(fields)
        if content_type is None and fields is not None:
            content_type = "application/x-www-form-urlencoded"
        if content_type is not None:
            h["Content-Type"] = content_type
        if json_mode:
            h["Accept"] = "application/json"
        else:
            h["Accept"] = "text/html,application/xhtml+xml"
        h.update(headers or {})
        return self.request("POST", path, body=body or b"", headers=h)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def count(self, table, where="true"):
        return int(self.sql("SELECT count(*) FROM %s WHERE %s"
                            % (table, where))[0][0])


def maria(**over):
    """The clinic's example request: Maria Gonzalez, Midtown Manhattan."""
    f = {"first_name": "Maria", "last_name": "Gonzalez",
         "email": "maria.gonzalez@example.com", "phone": "(212) 555-0143",
         "location": "midtown", "service": "Back Pain & Sciatica",
         "preferred_time": "Weekday mornings",
         "message": "Shooting pain down my left leg since March.",
         "consent": "yes"}
    for k, v in over.items():
        if v is None:
            f.pop(k, None)
        else:
            f[k] = v
    return f


# -- the TAP runner
def run(namespace):
    only = os.environ.get("FDTEST_ONLY", "").split()
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)
             and (not only or n in only)]
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        doc = (fn.__doc__ or "").strip().splitlines()
        desc = name + (" - " + doc[0] if doc else "")
        t0 = time.monotonic()
        try:
            fn()
            print("ok %d - %s (%.2fs)" % (i, desc, time.monotonic() - t0))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, desc, e))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, desc))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            # also on stderr, which meson --print-errorlogs shows for TAP
            sys.stderr.write("not ok %d - %s\n%s" % (
                i, desc, traceback.format_exc()))
        sys.stdout.flush()
    print("1..%d" % len(tests))
    sys.stdout.flush()
    _cleanup()
    sys.exit(1 if failed else 0)


class Skip(Exception):
    pass


# -- a raw FastCGI client, to talk to frontdesk without nginx in between
def _fcgi_record(rtype, content, req_id=1):
    pad = (8 - len(content) % 8) % 8
    return (bytes([1, rtype, req_id >> 8, req_id & 255, len(content) >> 8,
                   len(content) & 255, pad, 0]) + content + b"\0" * pad)


def _fcgi_len(n):
    return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")


def fcgi_params(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        out += _fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v
    return out


class FcgiClient:
    """Sends one request in pieces, so a test can act between them."""

    def __init__(self, path):
        """path: a unix socket's path, or a (host, port) pair."""
        if isinstance(path, tuple):
            self.s = socket.create_connection(path, 20)
        else:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(20)
            self.s.connect(path)

    def begin(self, params):
        self.s.sendall(_fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) +
                       _fcgi_record(4, fcgi_params(params)) +
                       _fcgi_record(4, b""))

    def stdin(self, data):
        for i in range(0, len(data), 65535):
            self.s.sendall(_fcgi_record(5, data[i:i + 65535]))
        if not data:
            self.s.sendall(_fcgi_record(5, b""))

    def response(self):
        """The STDOUT stream up to END_REQUEST."""
        buf, out = b"", b""
        while True:
            chunk = self.s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                clen = (buf[4] << 8) | buf[5]
                total = 8 + clen + buf[6]
                if len(buf) < total:
                    break
                rtype, content = buf[1], buf[8:8 + clen]
                buf = buf[total:]
                if rtype == 6:
                    out += content
                elif rtype == 3:
                    self.s.close()
                    return out
        self.s.close()
        return out
