#!/bin/sh
# tests/layers.sh SRCDIR: every #include of a file under src/ points down
# the layers of docs/design.md ("Layers"), never up or sideways into a
# layer it may not use. The allowed arrows are written once, here:
#
#   ds        (nothing)
#   storage   ds
#   keyspace  storage ds
#   tier      keyspace storage ds
#   net       ds
#   cmd       tier keyspace net ds
#   repl      cmd tier keyspace storage net ds  (the effect stream: its
#             handlers' effects go to storage's log)
#   types     repl cmd tier keyspace net ds
#   script    repl cmd tier keyspace net ds (beside types, as pubsub will be)
#   pubsub    repl cmd tier keyspace net ds
#   server    everything
#
# A file may always include its own folder's headers and system headers.
# One test ("includes point down the layers"), one check per include line.
# Ends with "layers: checks: ..." and "layers: N passed, N failed" (tests).
cd "$1" || exit 2

allowed() { # the folders a folder's files may include, besides its own
    case $1 in
    ds) echo "" ;;
    storage) echo "ds" ;;
    keyspace) echo "storage ds" ;;
    tier) echo "keyspace storage ds" ;;
    net) echo "ds" ;;
    cmd) echo "tier keyspace net ds" ;;
    repl) echo "cmd tier keyspace storage net ds" ;;
    types | script | pubsub) echo "repl cmd tier keyspace net ds" ;;
    server) echo "ds storage keyspace tier net cmd types script pubsub repl" ;;
    *) echo "UNKNOWN" ;;
    esac
}

passed=0
failed=0
echo "plan: 1 tests"
for f in $(find src -name '*.c' -o -name '*.h' -o -name '*.def' | sort); do
    from=$(echo "$f" | cut -d/ -f2)
    ok=$(allowed "$from")
    if [ "$ok" = UNKNOWN ]; then
        echo "layers: $f is in src/$from/, a folder with no place in the layers"
        failed=$((failed + 1))
        continue
    fi
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        to=$(echo "$inc" | cut -d/ -f1)
        if [ "$to" = "$inc" ] || [ "$to" = "$from" ]; then
            passed=$((passed + 1)) # its own folder (or a file next to it)
            continue
        fi
        case " $ok " in
        *" $to "*) passed=$((passed + 1)) ;;
        *)
            echo "layers: $f includes $inc: $from/ may not use $to/ (allowed: ${ok:-nothing})"
            failed=$((failed + 1))
            ;;
        esac
    done
done
echo "layers: checks: 0 reply comparisons, $((passed + failed)) other checks, $failed failed"
if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
    echo "[ok] includes point down the layers: $passed includes"
    echo "layers: 1 passed, 0 failed"
else
    echo "[FAILED] includes point down the layers: $failed of $((passed + failed)) includes"
    echo "layers: 0 passed, 1 failed"
    exit 1
fi
