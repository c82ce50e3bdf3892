#!/usr/bin/python3
"""tap-summary: counts every test case meson ran, from its JSON test log.

Each test program speaks TAP, so a program with 40 cases counts 40. A
program that failed without reporting a failing case (a crash, a timeout)
counts as one more failure. Prints the last line CI reads:
"N passed, N failed" (", N skipped" when any were skipped).

Usage: tap-summary.py [--failed N] testlog.json...
--failed N adds N failures that no log holds (scripts/test.sh: a setup or
build step that failed); a log that does not exist counts nothing."""
import json
import os
import re
import sys

# meson's own TAP grammar (mesonbuild/mtest.py, TAPParser), so that a case
# counts here as meson counts it: "ok # SKIP..." is skipped; "not ok # TODO"
# is an expected failure, counted as passed; "ok # TODO" is an unexpected
# pass and "not ok # SKIP" a plain failure, both counted as failed.
TEST = re.compile(r"((?:not )?ok)\s*(?:([0-9]+)\s*)?([^#]*)"
                  r"(?:\s*#\s*([Ss][Kk][Ii][Pp]\S*|[Tt][Oo][Dd][Oo])\b\s*(.*))?")

args = sys.argv[1:]
passed = failed = skipped = 0
if args[:1] == ["--failed"]:
    failed = int(args[1])
    args = args[2:]
for path in args:
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            p = fl = sk = 0
            for out in (t.get("stdout") or "").splitlines():
                m = TEST.match(out.rstrip())
                if not m:
                    continue
                ok = m.group(1) == "ok"
                directive = (m.group(4) or "").upper()
                if directive.startswith("SKIP") and ok:
                    sk += 1
                elif directive == "TODO":
                    if ok:
                        fl += 1
                    else:
                        p += 1
                elif ok:
                    p += 1
                else:
                    fl += 1
            if t.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and fl == 0:
                fl = 1
            if t.get("result") == "SKIP" and p + fl + sk == 0:
                sk = 1
            passed, failed, skipped = passed + p, failed + fl, skipped + sk
line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
sys.exit(1 if failed else 0)
