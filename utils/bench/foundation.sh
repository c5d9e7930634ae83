#!/bin/sh
# utils/bench/foundation.sh [SERVER]: the figures of the foundation issue,
# longtail against redis-server 7.0.15 in one run, on free ports in temp dirs.
#
#   1. redis-benchmark -q -n 200000 -c 50 -t set,get,incr,mset, with and
#      without -P 16; Redis runs with appendonly yes + appendfsync everysec,
#      longtail with its defaults (WAL, appendfsync everysec). The two
#      servers alternate, each test twice, and the better run counts.
#   2. restart: 1 M keys, SIGTERM, start, time to the first reply to GET.
#   3. memory: hot-tier bytes per key (longtail) and used_memory per key
#      (Redis) for 1 M small strings (16-byte keys, 8-byte values).
#
# Prints a Markdown table of ratios (longtail / Redis).
set -eu
SERVER=${1:-./longtail-server}
REDIS=$(command -v redis-server)
work=$(mktemp -d)
trap 'kill $lpid $rpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "$0")/lib.sh"
# load N keys "key:%012d" -> "val:%04d" through a pipelined raw RESP stream
load_keys() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
batch = 10000
for start in range(0, n, batch):
    buf = b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$8\r\nval:%04d\r\n" % (i, i % 10000)
                   for i in range(start, min(n, start + batch)))
    s.sendall(buf)
    need = (min(n, start + batch) - start) * 5
    got = 0
    while got < need:
        got += len(s.recv(1 << 20))
PY
}

lport=$(free_port); rport=$(free_port)
mkdir -p "$work/lt" "$work/redis"
"$SERVER" --port "$lport" --dir "$work/lt" --logfile "$work/lt.log" & lpid=$!
"$REDIS" --port "$rport" --dir "$work/redis" --save "" --appendonly yes --appendfsync everysec \
    --logfile "$work/redis.log" & rpid=$!
wait_ping "$lport"; wait_ping "$rport"

bench() { # port pipeline -> "test rps" lines
    redis-benchmark -p "$1" -q -n 200000 -c 50 -P "$2" -t set,get,incr,mset 2>/dev/null |
        tr '\r' '\n' | awk -F': ' '/requests per second/ { split($2, a, " "); print $1, a[1] }'
}
echo "| test | pipeline | longtail rps | redis rps | ratio |"
echo "| --- | --- | --- | --- | --- |"
for P in 1 16; do
    bench "$lport" "$P" > "$work/l1"; bench "$rport" "$P" > "$work/r1"
    bench "$lport" "$P" > "$work/l2"; bench "$rport" "$P" > "$work/r2"
    for t in SET GET INCR "MSET (10 keys)"; do
        l=$(grep -h "^$t " "$work/l1" "$work/l2" | awk '{print $NF}' | sort -n | tail -1)
        r=$(grep -h "^$t " "$work/r1" "$work/r2" | awk '{print $NF}' | sort -n | tail -1)
        echo "| $t | $P | $l | $r | $(echo "$l $r" | awk '{printf "%.2f", $1/$2}') |"
    done
done

# memory per key
redis-cli -p "$lport" flushall >/dev/null; redis-cli -p "$rport" flushall >/dev/null
lbase=$(redis-cli -p "$lport" info tiering | awk -F: '/^hot_tier_used_memory:/ {print $2+0}')
rbase=$(redis-cli -p "$rport" info memory | awk -F: '/^used_memory:/ {print $2+0}')
load_keys "$lport" 1000000; load_keys "$rport" 1000000
lmem=$(redis-cli -p "$lport" info tiering | awk -F: '/^hot_tier_used_memory:/ {print $2+0}')
rmem=$(redis-cli -p "$rport" info memory | awk -F: '/^used_memory:/ {print $2+0}')
echo
echo "| memory, 1 M small strings | longtail hot tier | redis used_memory | ratio |"
echo "| --- | --- | --- | --- |"
echo "| bytes per key | $(( (lmem - lbase) / 1000000 )) | $(( (rmem - rbase) / 1000000 )) | $(echo "$lmem $lbase $rmem $rbase" | awk '{printf "%.2f", ($1-$2)/($3-$4)}') |"

# restart with 1 M keys (Redis restarts from its AOF)
redis-cli -p "$lport" dbsize | grep -q '^1000000$'
kill -TERM "$lpid"; wait "$lpid" || true
kill -TERM "$rpid"; wait "$rpid" || true
t0=$(date +%s%N)
"$SERVER" --port "$lport" --dir "$work/lt" --logfile "$work/lt.log" & lpid=$!
until [ "$(redis-cli -p "$lport" get key:000000123456 2>/dev/null)" = "val:3456" ]; do sleep 0.005; done
t1=$(date +%s%N)
"$REDIS" --port "$rport" --dir "$work/redis" --save "" --appendonly yes --appendfsync everysec \
    --logfile "$work/redis.log" & rpid=$!
until [ "$(redis-cli -p "$rport" get key:000000123456 2>/dev/null)" = "val:3456" ]; do sleep 0.005; done
t2=$(date +%s%N)
echo
echo "| restart, 1 M keys | longtail | redis (AOF) |"
echo "| --- | --- | --- |"
echo "| start to first GET reply (ms) | $(( (t1 - t0) / 1000000 )) | $(( (t2 - t1) / 1000000 )) |"
