# utils/bench/lib.sh: shell helpers shared by the bench scripts (sourced).

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 15 s for a server on port $1 to answer PING; exits otherwise.
wait_ping() {
    i=0
    until redis-cli -p "$1" ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { echo "server on $1 did not start" >&2; exit 1; }
        sleep 0.05
    done
}
