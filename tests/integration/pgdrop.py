"""pgdrop: a TCP proxy in front of PostgreSQL's unix socket that, when
armed, lets one `post` statement run and commit, then breaks the
client's connection before the answer reaches it: the one failure after
which a client cannot know whether its insert happened."""
import os
import socket
import threading


class DropProxy:
    """Listens on 127.0.0.1 (self.port); pgpair.AckLoss listens on a unix
    socket and does more once the statement has committed."""

    def __init__(self, unix_path):
        self.unix_path = unix_path
        self.armed = threading.Event()
        self.dropped = 0
        self.ls = self._listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _listen(self):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(64)
        self.port = ls.getsockname()[1]
        return ls

    def committed(self):
        """The armed statement committed; its answer is not passed on."""

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.unix_path)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, s), daemon=True
                             ).start()

    def _pipe(self, c, s):
        state = {"drop": False}

        def up():  # client -> server
            try:
                while True:
                    data = c.recv(65536)
                    if not data:
                        break
                    if self.armed.is_set() and b"\x00post\x00" in data:
                        self.armed.clear()
                        state["drop"] = True
                    s.sendall(data)
            except OSError:
                pass
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        buf = b""
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                if state["drop"]:
                    buf += data
                    # ReadyForQuery, idle: the statement has committed.
                    if buf.endswith(b"Z\x00\x00\x00\x05I"):
                        self.committed()
                        self.dropped += 1
                        break
                    continue
                c.sendall(data)
        except OSError:
            pass
        for sock in (c, s):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def socket_path(cluster_dir, port=5432):
    return os.path.join(cluster_dir, ".s.PGSQL.%d" % port)
