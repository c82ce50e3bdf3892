"""pgdrop: a TCP proxy in front of PostgreSQL's unix socket that, when
armed, lets one `post` statement run and commit, then breaks the
client's connection before the answer reaches it: the one failure after
which a client cannot know whether its insert happened."""
import os
import socket
import threading


class DropProxy:
    def __init__(self, unix_path):
        self.unix_path = unix_path
        self.armed = threading.Event()
        self.dropped = 0
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, _ = self.ls.accept()
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.unix_path)
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
            finally:
                s.close()

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
                        self.dropped += 1
                        break
                    continue
                c.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (c, s):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def socket_path(cluster_dir, port=5432):
    return os.path.join(cluster_dir, ".s.PGSQL.%d" % port)
