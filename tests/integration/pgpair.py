"""pgpair: a PostgreSQL primary and its streaming standby for the
failover tests, each a throwaway server on a unix socket in a temporary
folder of its own (listen_addresses = '', so no TCP port is taken; each
still has its own port number, which the socket file's name carries:
DIR/.s.PGSQL.PORT).

The standby is made with pg_basebackup -R from the running primary. The
programs reach the pair with a libpq multi-host conninfo,

    host=DIR_A,DIR_B port=PORT_A,PORT_B target_session_attrs=read-write

so that whichever of the two is the primary is the one they use. Pair is
a drop-in for fdtest.Cluster: Stack creates its database, migrates it and
runs psql through that conninfo, all on the primary of the moment.

LagLink sits in the replication stream when asked, holding the primary's
WAL for a while before the standby gets it: an asynchronous standby that
lags, as one across a slow link does. When the primary dies, what the
link still holds is lost, as on a real network the unsent data of a dead
host is."""
import collections
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import fdtest
import pgdrop


class Node:
    """One server: its folder (socket and data), its port."""

    def __init__(self, name, options=""):
        self.name = name
        self.options = options
        self.bin = fdtest._pgbin()
        self._drop, pw = fdtest._as_postgres()
        self.dir = tempfile.mkdtemp(prefix="fdtest-pg%s-" % name)
        if pw:
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = fdtest.free_port()
        self.logfile = os.path.join(self.dir, "server.log")

    def run(self, prog, *args, check=True):
        return subprocess.run([os.path.join(self.bin, prog)] + list(args),
                              check=check, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, preexec_fn=self._drop)

    def start(self, extra=""):
        # fsync off: an immediate stop kills processes, not the machine;
        # what a process wrote survives it in the page cache, so what is
        # lost is what replication had not carried, nothing else.
        self.run("pg_ctl", "-D", self.data, "-w", "-l", self.logfile, "-o",
                 "-k %s -p %d -c listen_addresses='' -c max_connections=100 "
                 "-c fsync=off -c full_page_writes=off -c cluster_name=%s "
                 "-c wal_sender_timeout=5s -c wal_receiver_timeout=5s "
                 "-c wal_retrieve_retry_interval=500ms %s %s"
                 % (self.dir, self.port, self.name, self.options, extra),
                 "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-w", "-m", mode, "stop",
                 check=False)

    def conf(self, line):
        """Appends a line to postgresql.conf (the last one of a name
        wins)."""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(line + "\n")

    def conninfo(self, db="postgres", user="postgres"):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, self.port,
                                                      db, user)

    def socket_path(self):
        return os.path.join(self.dir, ".s.PGSQL.%d" % self.port)

    def query(self, sql, timeout=10, db="postgres"):
        """One value from this server itself (not through the pair's
        conninfo), or None when it does not answer."""
        try:
            r = subprocess.run(["psql", "-X", "-A", "-t", "-d",
                                self.conninfo(db) + " connect_timeout=2",
                                "-c", sql], capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return r.stdout.decode().strip() if r.returncode == 0 else None

    def destroy(self):
        if os.path.isdir(self.data):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class LagLink:
    """A unix-socket relay for the replication connection that hands the
    standby the primary's bytes lag seconds after they were sent; what the
    standby sends goes through at once. When the primary's side closes,
    the relay closes the standby's at once: whatever it still held is
    gone."""

    def __init__(self, target_path, lag):
        self.target = target_path
        self.lag = lag
        self.dir = fdtest.tempdir("fdtest-lag-")
        os.chmod(self.dir, 0o755)
        self.port = fdtest.free_port()
        self.path = os.path.join(self.dir, ".s.PGSQL.%d" % self.port)
        self.ls = socket.socket(socket.AF_UNIX)
        self.ls.bind(self.path)
        os.chmod(self.path, 0o777)
        self.ls.listen(16)
        self.dropped_bytes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.target)
            except OSError:
                c.close()
                s.close()
                continue
            threading.Thread(target=self._link, args=(c, s),
                             daemon=True).start()

    def _link(self, c, s):
        q = collections.deque()
        cv = threading.Condition()
        state = {"closed": False}

        def close():
            with cv:
                state["closed"] = True
                cv.notify_all()
            for sock in (c, s):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def up():  # standby -> primary, at once
            try:
                while True:
                    data = c.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
            except OSError:
                pass
            close()

        def down_read():  # primary -> the queue
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    with cv:
                        q.append((time.monotonic() + self.lag, data))
                        cv.notify_all()
            except OSError:
                pass
            close()

        threading.Thread(target=up, daemon=True).start()
        threading.Thread(target=down_read, daemon=True).start()
        try:
            while True:
                with cv:
                    while not q and not state["closed"]:
                        cv.wait(0.5)
                    if state["closed"]:
                        self.dropped_bytes += sum(len(d) for _, d in q)
                        break
                    due, data = q[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        cv.wait(wait)
                        continue
                    q.popleft()
                c.sendall(data)
        except OSError:
            pass
        close()
        c.close()
        s.close()


_template = []


def initdb(node):
    """node's data folder, initdb's work: done once per test file into a
    template (initdb takes seconds on a busy machine), copied after."""
    if not _template:
        t = Node("template")
        fdtest._cleanups.append(t.destroy)
        t.run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync", "-D", t.data)
        _template.append(t.data)
    subprocess.run(["cp", "-a", _template[0], node.data], check=True)


class Pair(fdtest.Cluster):
    """A primary (a) and a streaming standby (b). sync: the primary waits
    for the standby's flush before a commit returns (synchronous_standby_
    names = '*', synchronous_commit = on); else asynchronous (commits
    return once flushed locally). lag: seconds the standby runs behind (a
    LagLink in the stream; asynchronous only). same_conf: the standby
    runs with the primary's settings, synchronous_standby_names included
    (one postgresql.conf deployed to both)."""

    def __init__(self, sync, lag=0.0, same_conf=False):
        self.sync = sync
        self.durable = True
        self.a = Node("a", "-c synchronous_commit=on")
        self.b = Node("b", "-c synchronous_commit=on")
        self.nodes = [self.a, self.b]
        self.dir = self.a.dir  # fdtest.Cluster's callers: the first host
        self.bin = self.a.bin
        self._drop = self.a._drop
        self.link = None
        fdtest._cleanups.append(self.destroy)
        initdb(self.a)
        # In postgresql.conf, not on the command line, which ALTER SYSTEM
        # could not override; pg_basebackup copies it to the standby.
        self.a.conf("synchronous_standby_names = '%s'" % ("*" if sync
                                                          else ""))
        self.a.start()
        # The standby: a base backup of the running primary, streaming
        # from it (-R writes primary_conninfo and standby.signal).
        self.b.run("pg_basebackup", "-D", self.b.data, "-R", "-X", "stream",
                   "-c", "fast", "--no-sync", "-d",
                   "host=%s port=%d user=postgres" % (self.a.dir, self.a.port))
        if not same_conf:
            self.b.conf("synchronous_standby_names = ''")
        if lag:
            self.link = LagLink(self.a.socket_path(), lag)
            with open(os.path.join(self.b.data, "postgresql.auto.conf"),
                      "a") as f:
                f.write("primary_conninfo = 'host=%s port=%d user=postgres "
                        "application_name=b'\n" % (self.link.dir,
                                                   self.link.port))
        self.b.start()
        fdtest.wait_for(self.streaming, 30, "the standby streaming")

    def streaming(self):
        want = "sync" if self.sync else "async"
        return self.a.query("SELECT sync_state FROM pg_stat_replication "
                            "WHERE state = 'streaming'") == want

    def start(self):  # fdtest.Cluster's, for callers that restart it
        for n in self.nodes:
            n.start()

    def stop(self, mode="fast"):
        for n in self.nodes:
            n.stop(mode)

    def destroy(self):
        for n in self.nodes:
            n.destroy()

    def conninfo(self, db="postgres", user="postgres"):
        """Both hosts; libpq takes the first that accepts writes."""
        return ("host=%s,%s port=%d,%d dbname=%s user=%s "
                "target_session_attrs=read-write"
                % (self.a.dir, self.b.dir, self.a.port, self.b.port, db,
                   user))

    def conninfo_via(self, relay, db, user):
        """The conninfo with relay (AckLoss) in the primary's place."""
        return ("host=%s,%s port=%d,%d dbname=%s user=%s "
                "target_session_attrs=read-write"
                % (relay.dir, self.b.dir, relay.port, self.b.port, db, user))

    def kill_primary(self):
        """pg_ctl stop -m immediate: every backend is killed at once, no
        shutdown checkpoint; the socket goes with the postmaster."""
        self.a.stop("immediate")

    def promote(self, timeout=30):
        """pg_ctl promote, then waits until b takes writes."""
        self.b.run("pg_ctl", "-D", self.b.data, "-w", "-t", str(timeout),
                   "promote")
        fdtest.wait_for(lambda: self.b.query("SELECT pg_is_in_recovery()")
                        == "f", timeout, "the standby promoted")


class AckLoss(pgdrop.DropProxy):
    """A unix-socket relay in front of a server, for one program's
    connections (name it as the first host of the program's conninfo).
    Armed, it lets the next `post` statement run and commit (its
    ReadyForQuery seen: under synchronous replication the standby has the
    row by then), runs hook() (stop the primary, promote the standby...),
    then breaks the program's link before the answer reaches it and stops
    listening, its socket gone: the program's next connection goes to the
    next host. The one failure after which a client cannot know whether
    its insert happened, across a failover."""

    def __init__(self, target_path):
        self.hook = None
        self.hook_error = None
        super().__init__(target_path)

    def _listen(self):
        self.dir = fdtest.tempdir("fdtest-ackloss-")
        os.chmod(self.dir, 0o755)
        self.port = fdtest.free_port()
        self.path = os.path.join(self.dir, ".s.PGSQL.%d" % self.port)
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(self.path)
        os.chmod(self.path, 0o777)
        ls.listen(16)
        return ls

    def arm(self, hook):
        self.hook = hook
        self.armed.set()

    def committed(self):
        try:
            self.hook()
        except Exception as e:  # the test reports it
            self.hook_error = e
        self.ls.close()
        os.unlink(self.path)
