#!/bin/sh
# tests/ci-check.sh: the README's test command. Builds longtail twice from
# this checkout, out of tree (build/ and build-asan/), and runs `make check`
# in each: the default build (-Werror) and the ASan+UBSan build. Then the
# compatibility gate: Redis's own test suite, hot and cold, against the
# default build (redis-compat/check.sh).
#
# What it counts, each figure on its own line:
# - the default build's `make check` (tests/run-all.sh): longtail's tests,
#   each counted once, with their checks and the reference runs on
#   redis-server apart;
# - "sanitizer build: N of N tests passed": the sanitizer build reruns the
#   same tests of longtail (not the reference runs, which the default build
#   made). A failure there fails CI; its count is never added to the total;
# - "redis-compat gate: ...": per mode, longtail's passes over the tests
#   redis-server 7.0.15 passes under the same exclusions (a file that timed
#   out or stopped early fails all its tests). A file passing fewer tests than
#   redis-compat/baseline.txt fails CI. These are Redis's tests, never added.
# The last line is exactly the default build's "N passed, N failed": its
# tests of longtail, each counted once (failed also counts failed reference
# runs and programs that died, see tests/run-all.sh). The exit status is
# non-zero if anything failed in any of the three, said on the line before.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || autoreconf -fi
jobs=$(nproc 2>/dev/null || echo 2)
status=0
problems=""

# tests_line LOG: "passed failed" from the last "N passed, N failed" line, or nothing.
tests_line() {
    grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1 | sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/'
}

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
    counts=$(tests_line "$variant/check.log")
    if [ "$variant" = build ]; then
        if [ -n "$counts" ]; then
            default_passed=${counts% *}
            default_failed=${counts#* }
        else
            default_passed=0
            default_failed=1
            status=1
        fi
        [ "$default_failed" -eq 0 ] || problems="$problems default build;"
    else
        if [ -n "$counts" ]; then
            p=${counts% *}
            f=${counts#* }
        else
            p=0
            f=1
            status=1
        fi
        sanitizer_line="sanitizer build: $p of $((p + f)) tests passed"
        [ $((p + f)) -eq $((default_passed + default_failed)) ] ||
            sanitizer_line="$sanitizer_line (the default build ran $((default_passed + default_failed)))"
        [ "$f" -eq 0 ] || problems="$problems sanitizer build;"
    fi
done

echo "=== redis-compat gate (Redis 7.0.15's suite, hot and cold) ==="
gate=0
if bash redis-compat/check.sh --server "$top/build/longtail-server" --jobs 2 \
    --file-timeout 300 >build/compat.log 2>&1; then :; else gate=1; fi
cat build/compat.log
grep -qE '^check\.sh: gate: .* 0 below it$' build/compat.log || gate=1
[ $gate -eq 0 ] || { status=1; problems="$problems redis-compat gate;"; }

echo
echo "=== summary ==="
echo "$sanitizer_line"
# per mode: "redis-compat gate: hot: N passed of the N tests redis-server 7.0.15 passes (...)"
sed -n 's/^check\.sh: \(hot\|cold\): /redis-compat gate: \1: /p' build/compat.log
if [ $gate -eq 0 ]; then
    echo "redis-compat gate: no file below redis-compat/baseline.txt"
else
    echo "redis-compat gate: FAILED (files below redis-compat/baseline.txt, or no result)"
fi
if [ -n "$problems" ] || [ $status -ne 0 ]; then
    echo "ci-check: FAILED:${problems:- make check}"
    status=1
fi
echo "$default_passed passed, $default_failed failed"
[ "$status" -eq 0 ]
