#!/bin/sh
# check_rules PROMTOOL DIR: the alerting rules in DIR (conf/prometheus/)
# are valid, pass their own tests (each rule firing and not firing), and
# the example configuration that loads them is valid too. TAP: one case
# per check, promtool's words as comments.
set -u
promtool=$1
cd "$2" || { echo "1..0 # SKIP no $2"; exit 1; }
n=0
failed=0
check() {  # description, then the command
	what=$1
	shift
	n=$((n + 1))
	if out=$("$promtool" "$@" 2>&1); then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=1
	fi
	printf '%s\n' "$out" | sed 's/^/# /'
}
check "promtool check rules frontdesk-rules.yml" check rules frontdesk-rules.yml
check "promtool test rules frontdesk-rules.test.yml" test rules frontdesk-rules.test.yml
check "promtool check config prometheus.yml.example" check config prometheus.yml.example
echo "1..$n"
exit $failed
