#!/bin/sh
# check_rules PROMTOOL DIR: the alerting rules in DIR (conf/prometheus/)
# are valid, pass their own tests (each rule firing and not firing), and
# the example configuration that loads them is valid too.
set -eu
promtool=$1
cd "$2"
"$promtool" check rules frontdesk-rules.yml
"$promtool" test rules frontdesk-rules.test.yml
"$promtool" check config prometheus.yml.example
