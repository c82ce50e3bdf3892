#!/usr/bin/python3
"""smtpd_fault: an aiosmtpd server for the mailer's tests that misbehaves
on demand.

Each message is stored byte for byte as the client sent it (after SMTP
dot-unstuffing) in a maildir's new/, after X-MailFrom and X-RcptTo lines
holding the envelope, so the tests can check CRLFs and line lengths and
parse it with Python's email package. stats.json in the maildir counts
the connections (distinct client ports) and messages.

  --tempfail N        the first N RCPT commands get 451, then 250
  --tempfail-data N   the first N messages get 451 after DATA, then 250
  --reject ADDR       RCPT TO:<ADDR> gets 550 (repeatable)
  --reject-data       every message gets 554 after DATA
  --delay S           wait S seconds before answering DATA
  --hang-data N       the first N messages' data is never answered (nor
                      stored): the server goes silent after the final dot
  --hang-after-250    once a message's 250 is sent, that connection answers
                      nothing more (no other MAIL, no QUIT)
  --hang-quit         QUIT is never answered (the connection stays open)
  --starttls C K      offer STARTTLS with cert C and key K (and require it)
  --implicit-tls C K  TLS from the first byte (smtps://)
  --auth USER PASS    require AUTH (PLAIN, LOGIN) with these credentials
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.tempfail = args.tempfail
        self.tempfail_data = args.tempfail_data
        self.hang_data = args.hang_data
        self.hangs = 0
        self.peers = set()
        self.messages = 0
        self.lock = threading.Lock()
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
        self._stats()

    def _stats(self):
        path = os.path.join(self.args.maildir, "stats.json")
        with open(path + ".tmp", "w") as f:
            stats = {"connections": len(self.peers),
                     "messages": self.messages}
            if self.hangs:  # only where a test asked for silence
                stats["hangs"] = self.hangs
            json.dump(stats, f)
        os.rename(path + ".tmp", path)

    async def hang(self):
        """Says nothing more on this connection (until the server stops)."""
        with self.lock:
            self.hangs += 1
            self._stats()
        await asyncio.sleep(3600)
        return "421 4.3.2 Still here"

    async def handle_QUIT(self, server, session, envelope):
        if self.args.hang_quit or getattr(session, "silent", False):
            return await self.hang()
        return "221 Bye"

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        if getattr(session, "silent", False):
            return await self.hang()
        with self.lock:
            self.peers.add(session.peer)
            self._stats()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                return "451 4.3.0 Try again later"
        if address.lower() in self.args.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.delay:
            await asyncio.sleep(self.args.delay)
        with self.lock:
            hang = self.hang_data > 0
            if hang:
                self.hang_data -= 1
        if hang:
            return await self.hang()
        with self.lock:
            if self.tempfail_data > 0:
                self.tempfail_data -= 1
                return "451 4.7.1 Greylisted, come back later"
        if self.args.reject_data:
            return "554 5.6.0 Message rejected as malformed"
        head = ("X-MailFrom: %s\r\nX-RcptTo: %s\r\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos))).encode()
        with self.lock:
            self.messages += 1
            name = "%d.%d.%d.fault" % (time.time_ns(), os.getpid(),
                                       self.messages)
            tmp = os.path.join(self.args.maildir, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(head + envelope.original_content)
            os.rename(tmp, os.path.join(self.args.maildir, "new", name))
            self._stats()
        if self.args.hang_after_250:
            session.silent = True
        return "250 2.0.0 OK queued"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == user.encode() and
              auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    return check


def server_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--tempfail-data", type=int, default=0)
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--reject-data", action="store_true")
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--hang-data", type=int, default=0)
    ap.add_argument("--hang-after-250", action="store_true")
    ap.add_argument("--hang-quit", action="store_true")
    ap.add_argument("--starttls", nargs=2)
    ap.add_argument("--implicit-tls", nargs=2)
    ap.add_argument("--auth", nargs=2)
    args = ap.parse_args()
    args.reject = [a.lower() for a in args.reject]
    kw = {"enable_SMTPUTF8": False, "decode_data": False}
    if args.starttls:
        kw["tls_context"] = server_context(*args.starttls)
        kw["require_starttls"] = True
    if args.implicit_tls:
        kw["ssl_context"] = server_context(*args.implicit_tls)
    if args.auth:
        kw["authenticator"] = authenticator(*args.auth)
        kw["auth_required"] = True
        # over TLS when TLS is on; the plain-text case is the loopback relay
        kw["auth_require_tls"] = bool(args.starttls)
    c = Controller(Handler(args), hostname="127.0.0.1", port=args.port,
                   ready_timeout=10, **kw)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    c.start()
    print("listening on 127.0.0.1:%d" % args.port, flush=True)
    done.wait()
    c.stop()


if __name__ == "__main__":
    main()
