#!/usr/bin/python3
"""mail_check: what the test SMTP server (tests/integration/smtpd_fault.py)
stored for a request, read with Python's email parser: for each message
whose Subject carries the reference, its To and Cc addresses, the
envelope's recipients (the server's X-RcptTo line: Bcc is there only) and
the Subject, as JSON on stdout. test_admin.mjs asks it where a request's
email went.

  mail_check.py MAILDIR REFERENCE"""
import email
import email.policy
import json
import os
import sys


def addresses(msg, name):
    h = msg.get(name)
    return [a.addr_spec for a in h.addresses] if h is not None else []


def main():
    maildir, ref = sys.argv[1], sys.argv[2]
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
            subject = str(msg.get("Subject", ""))
            if ref not in subject:
                continue
            rcpt = [a.strip() for a in str(msg.get("X-RcptTo", ""))
                    .split(",") if a.strip()]
            out.append({"subject": subject, "to": addresses(msg, "To"),
                        "cc": addresses(msg, "Cc"),
                        "bcc_header": msg.get("Bcc") is not None,
                        "envelope": rcpt,
                        "message_id": str(msg.get("Message-ID", ""))})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
