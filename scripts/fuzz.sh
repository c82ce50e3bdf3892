#!/bin/sh
# fuzz: builds the libFuzzer harnesses with Debian's clang (ASan + UBSan)
# and fuzzes each for SECONDS (default 60), starting from the seed corpus
# in tests/fuzz/corpus/ (copied: what libFuzzer finds stays out of the
# repo). A crash stops it with the reproducer's path.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
cd "$top"
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C build-fuzz >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every fuzzer tests/fuzz/meson.build builds (a harness may have no seeds).
harnesses=${*:-$(cd build-fuzz/tests/fuzz && for f in fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] && echo "${f#fuzz_}"; done)}
for h in $harnesses; do
	mkdir -p "$work/$h"
	[ ! -d tests/fuzz/corpus/"$h" ] || cp tests/fuzz/corpus/"$h"/* "$work/$h/"
	echo "fuzz: $h for ${secs}s"
	build-fuzz/tests/fuzz/fuzz_"$h" -max_total_time="$secs" -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$top/build-fuzz/crash-$h-" "$work/$h" 2>&1 |
	    grep -E "^#[0-9]+.*DONE|ERROR|SUMMARY|Test unit written" || true
	if ls "$top"/build-fuzz/crash-"$h"-* >/dev/null 2>&1; then
		echo "fuzz: $h crashed; reproducers in build-fuzz/" >&2
		exit 1
	fi
done
