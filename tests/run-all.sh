#!/bin/sh
# run-all.sh SRCDIR BUILDDIR: every test suite of longtail, run from BUILDDIR.
#
#   unit tests        tests/unit/test_*
#   fuzz replays      tests/fuzz/replay_<name> over SRCDIR/tests/fuzz/corpus/<name>/
#   command scripts   lt-script --mode hot, --mode cold, and --reference (redis-server)
#   special tests     lt-restart, lt-bigdata, lt-badinput, lt-split on longtail, then on
#                     redis-server
#   command fuzzer    lt-cmdfuzz, a fixed seed for about 20 s hot and 20 s cold
#
# Each program runs under `timeout` and ends with a line "... N passed, N failed";
# a program that crashes, times out, exits non-zero or prints no such line
# counts as one more failure. Output of each program goes to
# BUILDDIR/test-logs/<suite>.log; a failing suite's tail is shown. The last
# line is exactly "N passed, N failed" (totals); the exit status is non-zero
# if anything failed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SRCDIR BUILDDIR" >&2
    exit 2
fi
SRCDIR=$(cd "$1" && pwd) || exit 2
BUILDDIR=$(cd "$2" && pwd) || exit 2
cd "$BUILDDIR" || exit 2

LOGDIR="$BUILDDIR/test-logs"
mkdir -p "$LOGDIR"
LT_SERVER="$BUILDDIR/longtail-server"
export LT_SERVER

total_passed=0
total_failed=0
suites_failed=0

# run SUITE TIMEOUT_SECONDS COMMAND...
run() {
    suite=$1
    limit=$2
    shift 2
    log="$LOGDIR/$(echo "$suite" | tr ' /[]' '____').log"
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    status=$?
    secs=$(($(date +%s) - start))
    # The last "N passed, N failed" of the output: "N N", or nothing.
    counts=$(awk 'match($0, /[0-9]+ passed, [0-9]+ failed/) { s = substr($0, RSTART, RLENGTH) }
                  END { if (s != "") { split(s, a, " "); print a[1], a[3] } }' "$log")
    passed=${counts% *}
    failed=${counts#* }
    note=""
    if [ -z "$passed" ]; then
        passed=0
        failed=1
        note=" (no summary line)"
    fi
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        failed=$((failed + 1))
        note="$note (timed out after ${limit}s)"
    elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
        note="$note (exit status $status)"
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$failed" -eq 0 ]; then
        echo "PASS $suite: $passed passed, 0 failed (${secs}s)"
    else
        suites_failed=$((suites_failed + 1))
        echo "FAIL $suite: $passed passed, $failed failed$note (${secs}s)"
        echo "---- last lines of $log ----"
        tail -n 40 "$log"
        echo "----"
    fi
}

# fail SUITE MESSAGE: a suite that could not run at all.
fail() {
    total_failed=$((total_failed + 1))
    suites_failed=$((suites_failed + 1))
    echo "FAIL $1: $2"
}

is_test_binary() {
    case $(basename "$1") in
    *.*) return 1 ;;
    esac
    [ -f "$1" ] && [ -x "$1" ]
}

# The reference server is part of the test dependencies: missing is a failure.
# LT_SKIP_REFERENCE=1 (the sanitizer pass of tests/ci-check.sh) skips the runs
# against Redis, which the default pass has already made.
REDIS=$(command -v redis-server || true)
if [ -z "$REDIS" ]; then
    fail "reference" "redis-server is not on PATH (deps/install.sh installs it)"
fi
if [ "${LT_SKIP_REFERENCE:-0}" = 1 ]; then
    REDIS=""
fi

# ---- unit tests
found=0
for t in tests/unit/test_*; do
    is_test_binary "$t" || continue
    found=1
    run "unit $(basename "$t")" 120 "./$t"
done
[ $found -eq 1 ] || fail "unit" "no tests/unit/test_* binary in $BUILDDIR"

# ---- fuzz corpus replays
for t in tests/fuzz/replay_*; do
    is_test_binary "$t" || continue
    name=$(basename "$t")
    name=${name#replay_}
    corpus="$SRCDIR/tests/fuzz/corpus/$name"
    if [ -d "$corpus" ]; then
        run "fuzz replay_$name" 300 "./$t" "$corpus"
    else
        fail "fuzz replay_$name" "no corpus directory $corpus"
    fi
done

# ---- command scripts: the same scripts on Redis, on longtail hot and cold
SCRIPTS="$SRCDIR/tests/integration/scripts"
if ! ls "$SCRIPTS"/*.txt >/dev/null 2>&1; then
    fail "lt-script" "no scripts in $SCRIPTS"
elif [ ! -x tests/integration/lt-script ]; then
    fail "lt-script" "tests/integration/lt-script is not built"
else
    if [ -n "$REDIS" ]; then
        run "lt-script reference" 600 tests/integration/lt-script --reference --server "$REDIS" \
            "$SCRIPTS"/*.txt
    fi
    run "lt-script hot" 600 tests/integration/lt-script --mode hot --server "$LT_SERVER" \
        "$SCRIPTS"/*.txt
    run "lt-script cold" 600 tests/integration/lt-script --mode cold --server "$LT_SERVER" \
        "$SCRIPTS"/*.txt
fi

# ---- special tests on longtail, then the same checks on Redis
for t in lt-restart lt-bigdata lt-badinput lt-split; do
    if [ ! -x "tests/integration/$t" ]; then
        fail "$t" "tests/integration/$t is not built"
        continue
    fi
    run "$t" 300 "tests/integration/$t" --server "$LT_SERVER"
    if [ -n "$REDIS" ]; then
        run "$t reference" 300 "tests/integration/$t" --reference --server "$REDIS"
    fi
done

# ---- limits, CONFIG and start-up on longtail, then the same checks on Redis
for t in lt-limits; do
    if [ ! -x "tests/integration/$t" ]; then
        fail "$t" "tests/integration/$t is not built"
        continue
    fi
    run "$t" 120 "tests/integration/$t" --server "$LT_SERVER"
    if [ -n "$REDIS" ]; then
        run "$t reference" 120 "tests/integration/$t" --reference --server "$REDIS"
    fi
done

# ---- random commands from the server's own command table (tests/fuzz/lt-cmdfuzz.c): a fixed
# seed and count (the same commands on every machine), about 20 s hot and 20 s cold in the
# sanitizer build. CMDFUZZ_SKIP steps over crashes already filed (issue #9):
# remove an entry once its fix lands, so the fuzzer covers that path again.
#   unwatch                        UNWATCH inside MULTI, then EXEC: heap-use-after-free (absent_known)
#   *randmember/hrandfield:LLONG_MIN(+1)  a negative count near LLONG_MIN builds a reply until OOM
#   *scan:COUNT > LLONG_MAX/10     count * 10 overflows (hash.c, set.c, zset.c)
#   z*range*:LLONG_MIN(+1)         LIMIT 0 LLONG_MIN overflows in range_emit_limited (zset.c)
#   config|set:storage-level0-*    a slowdown trigger under 4 aborts in RocksDB; after SAVE, a
#                                  stop trigger of 1 stalls every write forever
CMDFUZZ_SKIP='unwatch,srandmember:-922337203685477580[78],zrandmember:-922337203685477580[78]'
CMDFUZZ_SKIP="$CMDFUZZ_SKIP,hrandfield:-922337203685477580[78],*scan:922337203685477580[67]"
CMDFUZZ_SKIP="$CMDFUZZ_SKIP,z*range*:-922337203685477580[78],config|set:storage-level0-*"
if [ -x tests/fuzz/lt-cmdfuzz ]; then
    for spec in hot:30000 cold:20000; do
        mode=${spec%:*}
        count=${spec#*:}
        run "lt-cmdfuzz $mode" 300 tests/fuzz/lt-cmdfuzz --server "$LT_SERVER" --mode "$mode" \
            --seed 9 --count "$count" --skip "$CMDFUZZ_SKIP" --shrink-time 120 \
            --out "$LOGDIR/cmdfuzz-$mode"
    done
else
    fail "lt-cmdfuzz" "tests/fuzz/lt-cmdfuzz is not built"
fi

# ---- differential tests: the same commands to redis-server and longtail,
# replies compared byte for byte (scripts, then a seeded random sequence)
if [ -x redis-compat/diff/lt-diff ]; then
    run "lt-diff" 300 env LT_DIFF=redis-compat/diff/lt-diff LONGTAIL_SERVER="$LT_SERVER" \
        sh "$SRCDIR/redis-compat/diff/run.sh"
else
    fail "lt-diff" "redis-compat/diff/lt-diff is not built"
fi

# ---- code format (.clang-format, .editorconfig)
run "format" 120 sh "$SRCDIR/tests/format-check.sh" "$SRCDIR"

# ---- the README's command table is generated, never edited by hand
run "readme commands" 60 sh "$SRCDIR/tests/readme-commands.sh" "$SRCDIR/README.md" "$LT_SERVER"

echo
if [ $suites_failed -ne 0 ]; then
    echo "$suites_failed suite(s) failed; logs in $LOGDIR"
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
