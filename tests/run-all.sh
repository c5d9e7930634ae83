#!/bin/sh
# run-all.sh SRCDIR BUILDDIR: every test suite of longtail, run from BUILDDIR.
#
#   unit tests        tests/unit/test_*
#   fuzz replays      tests/fuzz/replay_<name> over SRCDIR/tests/fuzz/corpus/<name>/
#   command scripts   lt-script --mode hot, --mode cold, and --reference (redis-server)
#   special tests     lt-restart, lt-bigdata, lt-badinput, lt-split, lt-limits on
#                     longtail, then on redis-server; lt-fault (the storage
#                     fault shim) and lt-diskfull (a full disk, needs root)
#                     on longtail
#   crash durability  lt-crash --mode hot, --mode cold, and --reference (redis-server)
#   effect log        lt-effects --mode hot, --mode cold: the log is valid AOF, holds
#                     what Redis propagates, rebuilds the data in redis-server and
#                     on restart (runs redis-server in every build: it is the yardstick)
#   differential      lt-diff: the same commands to redis-server and longtail
#   command fuzzer    lt-cmdfuzz, a fixed seed and count, hot and cold
#   load generator    lt-bench: longtail-bench's open loop (--rate) on longtail
#   tree checks       code format, layers of src/, the README's command table
#
# What counts. Every program counts TESTS, each a named unit of behaviour that
# passes or fails as a whole and is counted once (a unit test function, a
# named case of an lt-* program, a command script in one mode, a fuzz corpus,
# a differential script or random sequence in one mode and protocol), and
# apart from them its CHECKS: reply comparisons (a server's reply against the
# expected one) and other checks. Its last two lines are
#   <name>: checks: N reply comparisons, N other checks, N failed
#   <name>: N passed, N failed                      (tests)
# The runs against redis-server (--reference) are REFERENCE RUNS: they prove
# what longtail's tests expect and are not tests of longtail.
#
# Each program runs under `timeout`; its output goes to
# BUILDDIR/test-logs/<suite>.log and a failing suite's tail is shown. A
# program that crashes, times out or prints no summary line counts each test
# it had planned ("plan: N tests") and not passed as failed, at least one.
#
# The last lines: the checks of longtail's tests, the reference runs, and
# exactly "N passed, N failed": N passed = longtail's tests that passed; N
# failed = longtail's tests that failed + reference runs that failed (a test's
# expectation is then unproven) + programs that died as above. The exit status
# is non-zero if anything failed. LT_SKIP_REFERENCE=1 skips the reference runs
# (the sanitizer build of tests/ci-check.sh: the default build made them).
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

total_passed=0    # longtail's tests
total_failed=0    # longtail's tests, reference runs and dead programs
suites_failed=0
check_replies=0   # checks of longtail's tests
check_others=0
check_failed=0
ref_passed=0      # reference runs: tests run on redis-server
ref_failed=0
ref_replies=0

# run SUITE KIND TIMEOUT_SECONDS COMMAND...: KIND is "longtail" (tests of
# longtail) or "reference" (the same tests run on redis-server).
run() {
    suite=$1
    kind=$2
    limit=$3
    shift 3
    log="$LOGDIR/$(echo "$suite" | tr ' /[]' '____').log"
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    status=$?
    secs=$(($(date +%s) - start))
    # From the log: the last "N passed, N failed" (tests; "- -" if none), the
    # last checks line (zeros if none), the "[ok]" test lines and the plan.
    # shellcheck disable=SC2046 # seven numbers, split on purpose
    set -- $(awk '
        match($0, /[0-9]+ passed, [0-9]+ failed/) { s = substr($0, RSTART, RLENGTH) }
        match($0, /checks: [0-9]+ reply comparisons, [0-9]+ other checks, [0-9]+ failed/) {
            c = substr($0, RSTART, RLENGTH)
        }
        /^\[ok\] / { ok++ }
        /^plan: [0-9]+ tests$/ { plan = $2 }
        END {
            if (s != "") { split(s, a, " "); printf "%s %s ", a[1], a[3] } else printf "- - "
            if (c != "") { split(c, b, " "); printf "%s %s %s ", b[2], b[5], b[8] } else printf "0 0 0 "
            printf "%d %d\n", ok, plan
        }' "$log")
    passed=$1 failed=$2 replies=$3 others=$4 cfailed=$5 oks=$6 plan=$7
    note=""
    if [ "$passed" = - ]; then
        # no summary: the tests it passed count, the others it planned fail
        passed=$oks
        failed=$((plan > oks ? plan - oks : 1))
        note=" (no summary line)"
    fi
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        [ -n "$note" ] || failed=$((failed + 1))
        note="$note (timed out after ${limit}s)"
    elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
        note="$note (exit status $status)"
    fi
    if [ "$kind" = reference ]; then
        ref_passed=$((ref_passed + passed))
        ref_failed=$((ref_failed + failed))
        ref_replies=$((ref_replies + replies))
    else
        total_passed=$((total_passed + passed))
        check_replies=$((check_replies + replies))
        check_others=$((check_others + others))
        check_failed=$((check_failed + cfailed))
    fi
    total_failed=$((total_failed + failed))
    what="(tests); checks: $replies reply comparisons, $others other checks"
    if [ "$failed" -eq 0 ]; then
        echo "PASS $suite: $passed passed, 0 failed $what (${secs}s)"
    else
        suites_failed=$((suites_failed + 1))
        echo "FAIL $suite: $passed passed, $failed failed $what$note (${secs}s)"
        echo "---- last lines of $log ----"
        tail -n 40 "$log"
        echo "----"
    fi
}

# fail SUITE MESSAGE: a suite that could not run at all (one failure).
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
REDIS_BIN=${REDIS:-redis-server} # lt-effects feeds the log to it in every build
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
    run "unit $(basename "$t")" longtail 120 "./$t"
done
[ $found -eq 1 ] || fail "unit" "no tests/unit/test_* binary in $BUILDDIR"

# ---- fuzz corpus replays
for t in tests/fuzz/replay_*; do
    is_test_binary "$t" || continue
    name=$(basename "$t")
    name=${name#replay_}
    corpus="$SRCDIR/tests/fuzz/corpus/$name"
    if [ -d "$corpus" ]; then
        run "fuzz replay_$name" longtail 300 "./$t" "$corpus"
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
        run "lt-script reference" reference 600 tests/integration/lt-script --reference --server "$REDIS" \
            "$SCRIPTS"/*.txt
    fi
    run "lt-script hot" longtail 600 tests/integration/lt-script --mode hot --server "$LT_SERVER" \
        "$SCRIPTS"/*.txt
    run "lt-script cold" longtail 600 tests/integration/lt-script --mode cold --server "$LT_SERVER" \
        "$SCRIPTS"/*.txt
fi

# ---- special tests on longtail, then the same checks on Redis
for t in lt-restart lt-bigdata lt-badinput lt-split; do
    if [ ! -x "tests/integration/$t" ]; then
        fail "$t" "tests/integration/$t is not built"
        continue
    fi
    run "$t" longtail 300 "tests/integration/$t" --server "$LT_SERVER"
    if [ -n "$REDIS" ]; then
        run "$t reference" reference 300 "tests/integration/$t" --reference --server "$REDIS"
    fi
done

# ---- limits, CONFIG and start-up on longtail, then the same checks on Redis
for t in lt-limits; do
    if [ ! -x "tests/integration/$t" ]; then
        fail "$t" "tests/integration/$t is not built"
        continue
    fi
    run "$t" longtail 120 "tests/integration/$t" --server "$LT_SERVER"
    if [ -n "$REDIS" ]; then
        run "$t reference" reference 120 "tests/integration/$t" --reference --server "$REDIS"
    fi
done

# ---- the fault shim really fails the server's storage calls (longtail only)
if [ ! -x tests/integration/lt-fault ]; then
    fail "lt-fault" "tests/integration/lt-fault is not built"
elif [ ! -f tests/fault/ltfault.so ]; then
    fail "lt-fault" "tests/fault/ltfault.so is not built"
else
    run "lt-fault" longtail 120 tests/integration/lt-fault --server "$LT_SERVER"
fi

# ---- a full disk: needs root for its tmpfs (CI runs as root), says
# SKIPPED otherwise
if [ ! -x tests/integration/lt-diskfull ]; then
    fail "lt-diskfull" "tests/integration/lt-diskfull is not built"
else
    run "lt-diskfull" longtail 300 tests/integration/lt-diskfull --server "$LT_SERVER"
fi

# ---- kill -9 under a pipelined write load, restart, exact model check: hot,
# cold, then the same checks on redis-server (appendonly yes, appendfsync always)
if [ ! -x tests/integration/lt-crash ]; then
    fail "lt-crash" "tests/integration/lt-crash is not built"
else
    run "lt-crash hot" longtail 120 tests/integration/lt-crash --mode hot --server "$LT_SERVER"
    run "lt-crash cold" longtail 120 tests/integration/lt-crash --mode cold --server "$LT_SERVER"
    if [ -n "$REDIS" ]; then
        run "lt-crash reference" reference 120 tests/integration/lt-crash --reference \
            --server "$REDIS"
    fi
fi

# ---- the effect log: a seeded workload of every type; redis-check-aof on the
# log, the log fed to redis-server gives the same keys, kill -9 and the restart's
# replay gives them again (tests/integration/lt-effects.c)
if [ ! -x tests/integration/lt-effects ]; then
    fail "lt-effects" "tests/integration/lt-effects is not built"
else
    for mode in hot cold; do
        run "lt-effects $mode" longtail 120 tests/integration/lt-effects --mode "$mode" \
            --server "$LT_SERVER" --redis "$REDIS_BIN"
    done
fi

# ---- random commands from the server's own command table (tests/fuzz/lt-cmdfuzz.c): a fixed
# seed and count (the same commands on every machine), about 20 s hot and 20 s cold in the
# sanitizer build. Every crash it found is fixed and has a regression test (issue #9); to
# step over a new one while hunting for others, lt-cmdfuzz --skip NAME or NAME:ARG.
if [ -x tests/fuzz/lt-cmdfuzz ]; then
    for spec in hot:30000 cold:20000; do
        mode=${spec%:*}
        count=${spec#*:}
        run "lt-cmdfuzz $mode" longtail 300 tests/fuzz/lt-cmdfuzz --server "$LT_SERVER" --mode "$mode" \
            --seed 9 --count "$count" --shrink-time 120 \
            --out "$LOGDIR/cmdfuzz-$mode"
    done
else
    fail "lt-cmdfuzz" "tests/fuzz/lt-cmdfuzz is not built"
fi

# ---- longtail-bench's open loop (--rate): its rate, and a stalled server's
# queueing counted in its latency (about 8 s)
if [ ! -x tests/integration/lt-bench ]; then
    fail "lt-bench" "tests/integration/lt-bench is not built"
elif [ ! -x ./longtail-bench ]; then
    fail "lt-bench" "longtail-bench is not built"
else
    run "lt-bench" longtail 120 tests/integration/lt-bench --server "$LT_SERVER" \
        --bench "$BUILDDIR/longtail-bench"
fi

# ---- differential tests: the same commands to redis-server and longtail,
# replies compared byte for byte (scripts, then a seeded random sequence)
if [ -x redis-compat/diff/lt-diff ]; then
    run "lt-diff" longtail 300 env LT_DIFF=redis-compat/diff/lt-diff LONGTAIL_SERVER="$LT_SERVER" \
        sh "$SRCDIR/redis-compat/diff/run.sh"
else
    fail "lt-diff" "redis-compat/diff/lt-diff is not built"
fi

# ---- code format (.clang-format, .editorconfig)
run "format" longtail 120 sh "$SRCDIR/tests/format-check.sh" "$SRCDIR"

# ---- every #include of src/ points down the layers (docs/design.md)
run "layers" longtail 60 sh "$SRCDIR/tests/layers.sh" "$SRCDIR"

# ---- the README's command table is generated, never edited by hand
run "readme commands" longtail 60 sh "$SRCDIR/tests/readme-commands.sh" "$SRCDIR/README.md" "$LT_SERVER"

echo
if [ $suites_failed -ne 0 ]; then
    echo "$suites_failed suite(s) failed; logs in $LOGDIR"
fi
echo "checks in longtail's tests: $check_replies reply comparisons, $check_others other checks," \
    "$check_failed failed"
if [ -n "$REDIS" ]; then
    echo "reference runs on redis-server: $ref_passed of $((ref_passed + ref_failed)) tests" \
        "passed, $ref_replies reply comparisons"
else
    echo "reference runs on redis-server: none (skipped)"
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
