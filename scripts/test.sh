#!/bin/sh
# test: the whole suite (unit, integration, browser), then every libFuzzer
# harness fuzzed for 30 s (FRONTDESK_FUZZ_SECONDS) in a clang build
# (build-fuzz/, the suite 'fuzz', two at a time), then the unit and
# integration suites again built with AddressSanitizer and UBSan. Each
# integration test starts the services it needs on free ports and in
# temporary folders, and stops them, so two runs never collide.
# Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer pass)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || { echo "0 passed, 1 failed"; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
logs=""
status=0
# The last line is always "N passed, N failed", even when a step before or
# between the suites fails: that step counts as one failure, added to what
# the passes that did run counted, and the exit status is 1.
finish() {  # [failures outside the logs]
	extra=${1:-0}
	# shellcheck disable=SC2086
	line=$(/usr/bin/python3 "$top/scripts/tap-summary.py" --failed "$extra" $logs) ||
		status=1
	# tap-summary.py itself may be what is broken (or python3 missing):
	# still end with a summary line.
	case $line in
	*" passed, "*" failed"*) ;;
	*) line="0 passed, $((extra + 1)) failed" ;;
	esac
	[ "$extra" = 0 ] || status=1
	printf '%s\n' "$line"
	exit $status
}
step_failed() {  # what
	printf 'test.sh: %s failed\n' "$1" >&2
	finish 1
}

"$top/scripts/install-deps.sh" || step_failed install-deps
[ ! -f tests/browser/package.json ] || { [ -d tests/browser/node_modules/playwright-core ] &&
	[ -d tests/browser/node_modules/@axe-core/playwright ]; } ||
	(cd tests/browser && npm install --no-audit --no-fund --silent) ||
	step_failed "npm install"

# run_suite build-dir target suite meson-setup-args...: builds target
# (empty: everything) and runs suite (empty: every suite).
run_suite() {
	dir=$1 target=$2 suite=$3; shift 3
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; step_failed "meson setup $dir"; }
	fi
	# ninja rather than meson compile: an alias target just added to a
	# meson.build is only known once ninja has regenerated the build.
	# shellcheck disable=SC2086
	ninja -C "$dir" -j "$jobs" $target >/dev/null ||
		{ ninja -C "$dir" -j "$jobs" $target; step_failed "compile $dir $target"; }
	# An old run's log must not count for this one.
	rm -f "$dir/meson-logs/testlog.json"
	# shellcheck disable=SC2086
	meson test -C "$dir" --no-rebuild ${suite:+--suite $suite} \
	    --print-errorlogs --num-processes "$jobs" ||
		status=1
	[ -f "$dir/meson-logs/testlog.json" ] ||
		step_failed "meson test -C $dir (no test log)"
	logs="$logs $dir/meson-logs/testlog.json"
}
run_suite build-test "" ""
# The fuzzers, as scripts/fuzz.sh builds them (clang, libFuzzer, ASan and
# UBSan), each fuzzed for 30 s, $jobs at a time: only their targets are
# built, and only the suite 'fuzz' runs (tests/fuzz/run_fuzz.py). What they
# add to the corpus goes to a temporary copy; a failing input is saved in
# build-fuzz/fuzz-artifacts/ and printed.
CC=clang run_suite build-fuzz fuzzers fuzz -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false
if [ "${1:-}" != "--quick" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite build-asan "" "" -Db_sanitize=address,undefined \
		    -Db_lundef=false
fi
finish
