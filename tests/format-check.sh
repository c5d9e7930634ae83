#!/bin/sh
# tests/format-check.sh SRCDIR: the C sources follow .clang-format, and every
# tracked text file follows .editorconfig's basics (final newline, no
# trailing white space, no tabs in C).
#
# Two tests, each over every file it applies to (a file is one check):
# "C sources follow .clang-format" and "text files follow .editorconfig".
# Ends with "format: checks: ..." and "format: N passed, N failed" (tests).
cd "$1" || exit 2
checks=0
checks_failed=0
failed_here=0 # checks failed in the current test
check() { # name, status
    checks=$((checks + 1))
    if [ "$2" -ne 0 ]; then
        checks_failed=$((checks_failed + 1))
        failed_here=$((failed_here + 1))
        echo "format: $1"
    fi
}
tests_passed=0
tests_failed=0
test_end() { # name, files checked
    if [ "$2" -eq 0 ]; then
        tests_failed=$((tests_failed + 1))
        echo "[FAILED] $1: no file to check"
    elif [ "$failed_here" -eq 0 ]; then
        tests_passed=$((tests_passed + 1))
        echo "[ok] $1: $2 files"
    else
        tests_failed=$((tests_failed + 1))
        echo "[FAILED] $1: $failed_here of $2 files"
    fi
    failed_here=0
}
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format: clang-format is not installed (deps/install.sh installs it)"
    echo "format: checks: 0 reply comparisons, 0 other checks, 0 failed"
    echo "format: 0 passed, 2 failed"
    exit 1
fi
n=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src tests redis-compat -name '*.[ch]'); do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1
    check "$f does not follow .clang-format (run clang-format -i $f)" $?
    n=$((n + 1))
done
test_end "C sources follow .clang-format" $n
n=0
for f in $(git ls-files 2>/dev/null | grep -vE '^tests/fuzz/corpus/|\.(png|gz)$'); do
    [ -f "$f" ] || continue
    bad=0
    if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then bad=1; fi
    if grep -qE '[[:blank:]]+$' "$f"; then bad=1; fi
    case "$f" in
    *.c | *.h) if grep -q "$(printf '\t')" "$f"; then bad=1; fi ;;
    esac
    check "$f breaks .editorconfig (final newline, trailing blanks, tabs)" $bad
    n=$((n + 1))
done
test_end "text files follow .editorconfig" $n
echo "format: checks: 0 reply comparisons, $checks other checks, $checks_failed failed"
echo "format: $tests_passed passed, $tests_failed failed"
[ "$tests_failed" -eq 0 ]
