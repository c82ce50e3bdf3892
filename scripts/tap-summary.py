#!/usr/bin/python3
"""tap-summary: counts every test case meson ran, from its JSON test log.

Each test program speaks TAP, so a program with 40 cases counts 40. A
program that failed without reporting a failing case (a crash, a timeout)
counts as one more failure. Prints the last line CI reads:
"N passed, N failed" (", N skipped" when any were skipped)."""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            p = fl = sk = 0
            for out in (t.get("stdout") or "").splitlines():
                m = re.match(r"^(not )?ok\b.*?(#\s*(SKIP|TODO)\b.*)?$", out,
                             re.I)
                if not m:
                    continue
                if m.group(3) and m.group(3).upper() == "SKIP":
                    sk += 1
                elif m.group(1):
                    fl += 1
                else:
                    p += 1
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
