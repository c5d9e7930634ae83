#!/bin/bash
# utils/bench/writes.sh [--rounds N] [LONGTAIL_SERVER]
#
# The write path against Redis, in one alternating run: redis-benchmark
# -c 50 -r 100000 -t set,incr,lpush,hset,mset, pipelined (-P 16, 1 M
# requests per test) then not (-P 1, 200 000), on three servers started
# fresh in temporary directories: longtail, redis-server with
# `--appendonly yes --appendfsync everysec`, and redis-server without
# persistence. Each line is one server's round: requests per second per
# test, then the client's CPU and wall time (at -P 1 the client is the
# bottleneck on 2 cores: compare its CPU with the wall time). Then the
# size and duration of longtail's last checkpoint.
#
# Default server: build/longtail-server. Ports 7201-7203 must be free.
set -eu
rounds=3
if [ "${1:-}" = --rounds ]; then
    rounds=$2
    shift 2
fi
lt=${1:-build/longtail-server}
dir=$(mktemp -d /tmp/lt-writes.XXXXXX)
mkdir -p "$dir/lt" "$dir/ra" "$dir/rn"
"$lt" --port 7201 --dir "$dir/lt" --logfile "$dir/lt.log" &
redis-server --port 7202 --dir "$dir/ra" --appendonly yes --appendfsync everysec --save "" \
    --logfile "$dir/ra.log" &
redis-server --port 7203 --dir "$dir/rn" --appendonly no --save "" --logfile "$dir/rn.log" &
trap 'for p in 7201 7202 7203; do redis-cli -p $p shutdown nosave >/dev/null 2>&1 || true; done; rm -rf "$dir"' EXIT
for p in 7201 7202 7203; do
    until redis-cli -p $p ping >/dev/null 2>&1; do sleep 0.1; done
done
name() { case $1 in 7201) echo longtail ;; 7202) echo redis-aof ;; 7203) echo redis ;; esac; }
run() { # port pipeline requests
    /usr/bin/time -f "client cpu %U+%S s, wall %e s" -o "$dir/time" \
        redis-benchmark -p "$1" -c 50 -r 100000 -n "$3" -P "$2" -t set,incr,lpush,hset,mset --csv |
        sed 1d | cut -d, -f1,2 | tr -d '"' | tr '\n' ' '
    echo "| $(cat "$dir/time")"
}
for pipeline in 16 1; do
    n=1000000
    [ "$pipeline" = 1 ] && n=200000
    for round in $(seq 1 "$rounds"); do
        for p in 7201 7202 7203; do
            echo "-P $pipeline round $round $(name $p): $(run $p $pipeline $n)"
        done
    done
done
redis-cli -p 7201 info persistence | grep -E "^checkpoint_last_(duration_ms|keys|bytes)"
