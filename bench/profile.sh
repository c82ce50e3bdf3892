#!/bin/sh
# profile: where frontdesk's time goes under the two rate-limited loads of
# bench/bench.py ("every check on": 20/hour, each post from its own address
# and with its own key; "one address at 10^8"), on a cluster with fsync off
# and pg_stat_statements preloaded. For each load it runs, in order:
#
#   wrk -t2 -c32 -dS (the bench's Lua script), with
#   perf record -e cpu-clock -F 999 -g -p FRONTDESK,BACKENDS   (self time)
#   SELECT ... FROM pg_stat_statements  (calls, mean and total time of the
#     submit, precheck and rate-limit statements, and the rate limit's
#     INSERT ... ON CONFLICT inside its function: track = all)
#   pgbench -c 1 -t 200 on the rate-limit call alone (one address at 10^8)
#   valgrind --tool=callgrind --trace-children=no frontdesk, twice (N/4 and
#     N posts), for instructions per post, then callgrind_annotate
#
#   meson compile -C build && bench/profile.sh [--build build] [--posts 400]
#   FRONTDESK_PROFILE_DIR=prof bench/profile.sh   # keeps perf.data, callgrind.out
exec "$(dirname "$0")/bench.py" --profile "$@"
