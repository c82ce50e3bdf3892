#!/usr/bin/python3
"""run_fuzz: one timed libFuzzer run of a harness, as a TAP test (the
'fuzz' suite of a -Dfuzzing=true build, which scripts/test.sh runs).

    run_fuzz.py FUZZER CORPUS ARTIFACTS

It fuzzes for FRONTDESK_FUZZ_SECONDS (default 30) starting from a copy of
the seed corpus CORPUS in a temporary folder (what libFuzzer adds to the
corpus stays out of the repository and is removed), bounded: one input
at most 10 s (-timeout), 2048 MiB of memory (-rss_limit_mb), inputs of at
most 64 KiB, and the whole run killed 120 s past its time. One TAP case:
ok with the runs, coverage and corpus growth; not ok on a crash, a
sanitizer report, a leak, a timeout or running out of memory, with the
input that did it saved under ARTIFACTS (kept across runs) and printed,
and the command that replays it."""
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def stopped(signum, frame):
    """meson's timeout or Ctrl-C: the finally blocks stop the fuzzer and
    remove the temporary corpus (this process prints nothing while the
    fuzzer runs, so raising here interrupts no write)."""
    raise SystemExit(128 + signum)


def main():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stopped)
    fuzzer, corpus, artifacts = sys.argv[1:4]
    name = os.path.basename(fuzzer)
    secs = int(os.environ.get("FRONTDESK_FUZZ_SECONDS") or 30)
    os.makedirs(artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fdfuzz-%s-" % name)
    try:
        seeds = os.path.join(work, "corpus")
        if os.path.isdir(corpus):
            shutil.copytree(corpus, seeds)
        else:  # a harness with no seeds yet starts from nothing
            os.makedirs(seeds)
        n_seeds = len(os.listdir(seeds))
        before = set(os.listdir(artifacts))
        log = os.path.join(work, "fuzz.log")
        prefix = os.path.join(artifacts, name + "-")
        cmd = [fuzzer, "-max_total_time=%d" % secs, "-timeout=10",
               "-rss_limit_mb=2048", "-max_len=65536", "-print_final_stats=1",
               "-artifact_prefix=" + prefix, seeds]
        t0 = time.monotonic()
        with open(log, "wb") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            try:
                rc = p.wait(secs + 120)
                killed = False
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
                killed = True
            finally:
                if p.poll() is None:  # stopped by a signal
                    p.kill()
                    p.wait()
        elapsed = time.monotonic() - t0
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        # slow-unit- files are reports, not failures
        new = sorted(a for a in set(os.listdir(artifacts)) - before
                     if a.startswith(name + "-") and
                     not a.startswith(name + "-slow-unit-"))
        stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
        cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
        seed = re.search(r"INFO: Seed: (\d+)", text)
        summary = "%s runs in %.0f s, cov %s ft %s, corpus %d -> %d, " \
            "peak RSS %s MiB (seed %s)" % (
                stat.get("number_of_executed_units", "?"), elapsed,
                cov[-1][0] if cov else "?", cov[-1][1] if cov else "?",
                n_seeds, len(os.listdir(seeds)),
                stat.get("peak_rss_mb", "?"), seed.group(1) if seed else "?")
        if rc == 0 and not new and not killed:
            print("ok 1 - %s: %s" % (name, summary))
            print("1..1")
            return 0
        why = ("killed past %d s" % (secs + 120) if killed
               else "exit status %d" % rc)
        print("not ok 1 - %s: %s; %s" % (name, why, summary))
        for line in text.splitlines():
            if re.match(r"==\d+==\s*(ERROR|WARNING)|SUMMARY:|.*runtime error:"
                        r"|Test unit written|ERROR: libFuzzer", line):
                print("# " + line)
        for a in new:
            path = os.path.join(artifacts, a)
            with open(path, "rb") as f:
                data = f.read()
            print("# input saved: %s (%d bytes); replay: %s %s"
                  % (path, len(data), fuzzer, path))
            print("# input: %r%s" % (data[:2048],
                                     " ..." if len(data) > 2048 else ""))
            print("# base64: %s%s" % (base64.b64encode(data[:8192]).decode(),
                                      " ..." if len(data) > 8192 else ""))
        if not new:
            print("# no input saved; the end of libFuzzer's log:")
            for line in text.splitlines()[-20:]:
                print("# " + line)
        print("1..1")
        # meson --print-errorlogs shows stderr: the whole log goes there.
        sys.stderr.write(text[-20000:])
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
