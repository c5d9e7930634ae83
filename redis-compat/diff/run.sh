#!/bin/sh
# run.sh: differential tests of longtail-server against redis-server 7.0.15.
#
#   sh redis-compat/diff/run.sh [SEED]
#
# Runs every command script in scripts/ (hot and cold, starting in RESP2; the
# scripts switch to RESP3 themselves with @resp3), then a random sequence of
# $LT_DIFF_COUNT commands (default 10000) from SEED (default $LT_DIFF_SEED,
# else 1) in hot and cold mode, RESP2 and RESP3. Ends with lt-diff's lines
# "lt-diff: checks: N reply comparisons, ..." and "lt-diff: N passed, N failed"
# (N = tests: a script or the random sequence in one mode and protocol);
# exits non-zero on any mismatch, 77 (automake's "skipped") when redis-server
# is not installed.
#
# Environment:
#   LONGTAIL_SERVER  the server under test (default ./longtail-server, as in
#                    the build directory where make check runs)
#   REDIS_SERVER     the reference (default redis-server from PATH)
#   LT_DIFF          an lt-diff binary already built (make check builds one);
#                    otherwise it is built here into $LT_DIFF_BUILD (default /tmp)
#   LT_DIFF_ARGS     extra lt-diff options (e.g. "--repro-time 20 --verbose")
set -u

here=$(cd "$(dirname "$0")" && pwd)
seed=${1:-${LT_DIFF_SEED:-1}}
count=${LT_DIFF_COUNT:-10000}
longtail=${LONGTAIL_SERVER:-./longtail-server}
redis=${REDIS_SERVER:-redis-server}

if ! command -v "$redis" >/dev/null 2>&1; then
    echo "run.sh: $redis not found: differential tests skipped"
    exit 77
fi
if [ ! -x "$longtail" ]; then
    echo "run.sh: $longtail is not an executable (set LONGTAIL_SERVER)"
    exit 2
fi

bin=${LT_DIFF:-}
if [ -z "$bin" ]; then
    build=${LT_DIFF_BUILD:-/tmp}
    bin=$build/lt-diff
    # rebuild when a source is newer than the binary
    stale=1
    if [ -x "$bin" ]; then
        stale=0
        for f in "$here"/*.c "$here"/*.h; do
            [ "$f" -nt "$bin" ] && stale=1
        done
    fi
    if [ "$stale" = 1 ]; then
        mkdir -p "$build" || exit 2
        gcc -O2 -Wall -Wextra -Werror -o "$bin" "$here"/*.c || exit 2
    fi
fi

# shellcheck disable=SC2086 # LT_DIFF_ARGS is a list of options
exec "$bin" --longtail "$longtail" --redis "$redis" --mode both \
    --scripts "$here/scripts" --scripts-resp 2 \
    --random --seed "$seed" --count "$count" --resp both ${LT_DIFF_ARGS:-}
