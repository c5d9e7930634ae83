#!/bin/sh
# utils/bench/split-del.sh [SERVER [REDIS]]: how long DEL, EXISTS, TTL and HLEN
# of a cold 100 000-field hash take, on one longtail started here on a free
# port in a temp dir, and the same commands on the same hash in
# redis-server, where it is in memory (the ratio is longtail / Redis).
#
# Each round fills the hash (pipelined HSETs, stored split), makes every
# key cold (CONFIG SET maxmemory 1, then a PING so the commit and the
# demotion have run), and times one command from send to reply. Prints the
# median and the worst of ROUNDS rounds in ms, as a Markdown table, with
# the elements the server read for it (INFO split_element_reads).
set -eu
SERVER=${1:-./longtail-server}
REDIS=${2:-redis-server}
ROUNDS=${ROUNDS:-7}
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "$0")/lib.sh"

# rounds PORT COLD CMD: prints "median worst elements-read"
rounds() {
    python3 - "$@" "$ROUNDS" <<'PY'
import socket, sys, time
port, cold, cmd, rounds = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
def call(*args):
    s.sendall(enc(args))
    got = b""
    while not got.endswith(b"\r\n") or (got.startswith(b"$") and got.count(b"\r\n") < 2):
        got += s.recv(1 << 20)
    return got
def elements_read():
    info = call("INFO", "tiering").decode()
    for line in info.split("\r\n"):
        if line.startswith("split_element_reads:"):
            return int(line.split(":")[1])
    return None
times, reads = [], 0
for r in range(rounds):
    if cold:
        call("CONFIG", "SET", "maxmemory", "0")
    buf = b""
    for base in range(0, 100000, 1000):
        args = ["HSET", "big"]
        for i in range(base, base + 1000):
            args += ["field:%d" % i, "value:%d" % i]
        buf += enc(args)
    s.sendall(buf)
    got = b""
    while got.count(b"\r\n") < 100:
        got += s.recv(1 << 16)
    if cold:
        call("CONFIG", "SET", "maxmemory", "1")
        call("PING")
        call("PING")
    e0 = elements_read()
    t0 = time.perf_counter()
    for c in cmd.split(";"):
        call(*c.split())
    times.append((time.perf_counter() - t0) * 1000)
    e1 = elements_read()
    reads = e1 - e0 if e0 is not None else "n/a"
    call("DEL", "big")
times.sort()
print("%.2f %.2f %s" % (times[len(times) // 2], times[-1], reads))
PY
}

# run_cmds LABEL PORT COLD: one table row per command
run_cmds() {
    label=$1 cport=$2 cold=$3
    for cmd in "DEL big" "EXISTS big" "TTL big" "HLEN big"; do
        set -- $(rounds "$cport" "$cold" "$cmd")
        echo "| $label | $cmd | $1 | $2 | $3 |"
    done
}

echo "| server | command on a 100 000-field hash | median ms | worst ms | elements read |"
echo "| --- | --- | --- | --- | --- |"
port=$(free_port)
"$SERVER" --port "$port" --dir "$work/d" --logfile "$work/lt.log" & pid=$!
wait_ping "$port"
run_cmds "longtail (cold)" "$port" 1
kill $pid; wait $pid 2>/dev/null || true
if command -v "$REDIS" >/dev/null 2>&1; then
    port=$(free_port)
    "$REDIS" --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/r.log" & pid=$!
    wait_ping "$port"
    run_cmds "redis-server (in memory)" "$port" 0
    kill $pid; wait $pid 2>/dev/null || true
fi
