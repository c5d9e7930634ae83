#!/bin/sh
# tests/ci-check.sh: the README's test command. Builds longtail twice from
# this checkout, out of tree (build/ and build-asan/), and runs `make check`
# in each: the default build (-Werror) and the ASan+UBSan build. Then the
# compatibility gate: Redis's own test suite, hot and cold, against the
# default build (redis-compat/check.sh: no file may pass fewer tests than
# redis-compat/baseline.txt). The last line is the summed
# "N passed, N failed" (the gate counts one check per file and mode).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || autoreconf -fi
jobs=$(nproc 2>/dev/null || echo 2)
total_pass=0
total_fail=0
status=0
for variant in build build-asan; do
    mkdir -p "$variant"
    (
        cd "$variant"
        if [ ! -f Makefile ]; then
            if [ "$variant" = build-asan ]; then
                ../configure --enable-sanitizers >/dev/null
            else
                ../configure >/dev/null
            fi
        fi
        make -j"$jobs" >/dev/null
    )
    echo "=== make check ($variant) ==="
    if [ "$variant" = build-asan ]; then
        # the sanitizer pass runs the unit, fuzz-replay and integration
        # suites; the Redis-reference pass is the default build's job
        export LT_SKIP_REFERENCE=1
    fi
    if (cd "$variant" && make check >check.log 2>&1); then :; else status=1; fi
    cat "$variant/check.log"
    unset LT_SKIP_REFERENCE
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$variant/check.log" | tail -n 1)
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ -n "$p" ] || { p=0; f=1; status=1; }
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
done
echo "=== redis-compat gate (Redis 7.0.15's suite, hot and cold) ==="
if bash redis-compat/check.sh --server "$top/build/longtail-server" --jobs 2 \
    --file-timeout 300 >build/compat.log 2>&1; then :; else status=1; fi
cat build/compat.log
line=$(grep -E '^check.sh: [0-9]+ passed, [0-9]+ failed' build/compat.log | tail -n 1 |
    sed 's/^check.sh: //')
p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
[ -n "$p" ] || { p=0; f=1; status=1; }
total_pass=$((total_pass + p))
total_fail=$((total_fail + f))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$status" -eq 0 ]
