#!/bin/sh
# utils/bench/split.sh [SERVER]: what one element's change costs on a big
# collection, stored whole (storage-split-threshold 0) and split (the
# default, 512), on one longtail started here on a free port in a temp dir.
#
# For each type whose commands the server has: fill one key with 100 000
# elements through pipelined writes, then redis-benchmark -n 20000 -c 10 of
# a one-element write to that key (HSET and ZADD of random elements, LPUSH).
# Prints ops/s and the bytes committed to RocksDB per write (INFO
# commit_bytes), as a Markdown table; a command the server lacks is shown
# as "(not built)".
set -eu
SERVER=${1:-./longtail-server}
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
N=100000
REQ=20000

. "$(dirname "$0")/lib.sh"
# fill KEY with N elements: CMD KEY [score] member... in batches of 1000
fill() { # port cmd key kind(hash|zset|list)
    python3 - "$@" "$N" <<'PY'
import socket, sys
port, cmd, key, kind, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
s = socket.create_connection(("127.0.0.1", port))
def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
buf = b""
for base in range(0, n, 1000):
    args = [cmd.encode(), key.encode()]
    for i in range(base, base + 1000):
        if kind == "hash":
            args += [b"field:%d" % i, b"value:%d" % i]
        elif kind == "zset":
            args += [b"%d" % i, b"member:%d" % i]
        else:
            args += [b"element:%d" % i]
    buf += enc(args)
s.sendall(buf)
got = b""
while got.count(b"\r\n") < n // 1000:
    got += s.recv(1 << 16)
PY
}
info() { redis-cli -p "$1" info tiering | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }

echo "| command on a 100 000-element key | stored | ops/s | bytes committed per write |"
echo "| --- | --- | --- | --- |"
for mode in whole split; do
    port=$(free_port)
    rm -rf "$work/d"
    thr=512; [ $mode = whole ] && thr=0
    "$SERVER" --port "$port" --dir "$work/d" --logfile "$work/lt.log" \
        --storage-split-threshold $thr & pid=$!
    wait_ping "$port"
    for t in "hash HSET big:h field:__rand_int__ x" "zset ZADD big:z __rand_int__ member:__rand_int__" \
        "list LPUSH big:l element"; do
        set -- $t
        kind=$1; cmd=$2; key=$3; shift 3
        if [ -z "$(redis-cli -p "$port" command info "$cmd" | head -1)" ]; then
            echo "| $cmd | $mode | (not built) | |"
            continue
        fi
        fill "$port" "$cmd" "$key" "$kind"
        b0=$(info "$port" commit_bytes)
        rps=$(redis-benchmark -p "$port" -q -n $REQ -c 10 -r $N "$cmd" "$key" "$@" 2>/dev/null |
            tr '\r' '\n' | awk -F': ' '/requests per second/ { split($2, a, " "); print a[1] }' | tail -1)
        b1=$(info "$port" commit_bytes)
        echo "| $cmd | $mode | $rps | $(( (b1 - b0) / REQ )) |"
    done
    kill $pid; wait $pid 2>/dev/null || true
done
