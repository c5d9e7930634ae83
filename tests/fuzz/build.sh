#!/bin/sh
# build.sh SRCDIR BUILDDIR: builds the libFuzzer binaries, one per
# tests/fuzz/fuzz_*.c, with clang (-fsanitize=fuzzer,address,undefined),
# into BUILDDIR/tests/fuzz/. make check does not need this: it replays the
# corpora through tests/fuzz/replay.c with gcc.
#
# Sanitizer builds define LT_SANITIZERS: ds/alloc.c then uses the system
# allocator instead of a jemalloc arena, so ASan sees every block (and no
# -ljemalloc is needed).
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 SRCDIR BUILDDIR" >&2
    exit 2
fi
SRCDIR=$(cd "$1" && pwd)
BUILDDIR=$2
OUT="$BUILDDIR/tests/fuzz"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

CC=${CLANG:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "$0: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
CFLAGS="-std=gnu11 -D_GNU_SOURCE -DLT_SANITIZERS -g -O1 -fno-omit-frame-pointer \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
-I$SRCDIR/src"

# Extra flags per target. fuzz_resp shrinks the parser's limits (64 KiB
# lines, 1 MiB bulk preallocation, 1024 argv slots) so that inputs of a few
# hundred bytes reach them and the growth paths.
target_flags() {
    case "$1" in
    fuzz_resp) echo "-DRESP_INLINE_MAX=512 -DRESP_BULK_PREALLOC=16 -DRESP_ARGV_PREALLOC=2" ;;
    *) echo "" ;;
    esac
}

# The sources each target links, besides itself.
target_sources() {
    case "$1" in
    fuzz_resp) echo "src/net/resp.c src/ds/str.c src/ds/util.c src/ds/alloc.c src/ds/log.c" ;;
    fuzz_codec) echo "src/storage/codec.c src/ds/hashfn.c" ;;
    fuzz_aof) echo "src/storage/aof.c src/ds/str.c src/ds/util.c src/ds/alloc.c src/ds/log.c" ;;
    *) echo "" ;;
    esac
}

built=""
for f in "$SRCDIR"/tests/fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .c)
    srcs=""
    for s in $(target_sources "$name"); do
        srcs="$srcs $SRCDIR/$s"
    done
    echo "  CC $name"
    # shellcheck disable=SC2086
    $CC $CFLAGS $(target_flags "$name") -o "$OUT/$name" "$f" $srcs -lm
    built="$built $name"
done

if [ -z "$built" ]; then
    echo "$0: no tests/fuzz/fuzz_*.c under $SRCDIR" >&2
    exit 1
fi

echo
echo "Built into $OUT. Run one (a copy of the corpus collects new inputs):"
for name in $built; do
    corpus=${name#fuzz_}
    echo "  mkdir -p /tmp/corpus-$corpus && cp $SRCDIR/tests/fuzz/corpus/$corpus/* /tmp/corpus-$corpus/"
    echo "  $OUT/$name -max_total_time=120 /tmp/corpus-$corpus"
done
echo "A crash is written as ./crash-<sha1>; minimize it with"
echo "  <binary> -minimize_crash=1 -runs=10000 crash-<sha1>"
echo "and add the result to tests/fuzz/corpus/<target>/."
