#!/bin/sh
# test: the whole suite (unit, integration, browser), then the unit and
# integration suites again built with AddressSanitizer and UBSan. Each
# integration test starts the services it needs on free ports and in
# temporary folders, and stops them, so two runs never collide.
# Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer pass)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/install-deps.sh" || exit 1
[ ! -f tests/browser/package.json ] || [ -d tests/browser/node_modules/playwright-core ] ||
	(cd tests/browser && npm install --no-audit --no-fund --silent) || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
logs=""
status=0
run_suite() {  # build-dir meson-setup-args...
	dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; exit 1; }
	fi
	meson compile -C "$dir" >/dev/null || { meson compile -C "$dir"; exit 1; }
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" ||
		status=1
	logs="$logs $dir/meson-logs/testlog.json"
}
run_suite build-test
if [ "${1:-}" != "--quick" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false
fi
# shellcheck disable=SC2086
/usr/bin/python3 scripts/tap-summary.py $logs || status=1
exit $status
