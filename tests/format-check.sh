#!/bin/sh
# tests/format-check.sh SRCDIR: the C sources follow .clang-format, and every
# tracked text file follows .editorconfig's basics (final newline, no
# trailing white space, no tabs in C). Ends with "format: N passed, N failed".
cd "$1" || exit 2
passed=0
failed=0
check() { # name, status
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "format: $1"; fi
}
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format: clang-format is not installed (deps/install.sh installs it)"
    echo "format: 0 passed, 1 failed"
    exit 1
fi
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src tests redis-compat -name '*.[ch]'); do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1
    check "$f does not follow .clang-format (run clang-format -i $f)" $?
done
for f in $(git ls-files 2>/dev/null | grep -vE '^tests/fuzz/corpus/|\.(png|gz)$'); do
    [ -f "$f" ] || continue
    bad=0
    if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then bad=1; fi
    if grep -qE '[[:blank:]]+$' "$f"; then bad=1; fi
    case "$f" in
    *.c | *.h) if grep -q "$(printf '\t')" "$f"; then bad=1; fi ;;
    esac
    check "$f breaks .editorconfig (final newline, trailing blanks, tabs)" $bad
done
echo "format: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
