#!/bin/sh
# tests/readme-commands.sh README SERVER [--update]
# Checks (or with --update, rewrites) the README's command table against
# `SERVER --commands-markdown`, so the table is never written by hand. One
# test with one check (the table is the server's); ends with "readme: checks:
# ..." and "readme: N passed, N failed".
readme=$1
server=$2
tmp=$(mktemp)
"$server" --commands-markdown > "$tmp" || { rm -f "$tmp"; exit 1; }
new=$(mktemp)
awk -v table="$tmp" '
    /<!-- commands:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- commands:end -->/ { skip = 0 }
    !skip { print }
' "$readme" > "$new"
if [ "$3" = "--update" ]; then
    cat "$new" > "$readme"
    rm -f "$tmp" "$new"
    echo "readme: command table updated"
    exit 0
fi
if cmp -s "$new" "$readme"; then
    rm -f "$tmp" "$new"
    echo "[ok] the README's command table is the server's"
    echo "readme: checks: 0 reply comparisons, 1 other checks, 0 failed"
    echo "readme: 1 passed, 0 failed"
    exit 0
fi
diff "$readme" "$new" | head -20
rm -f "$tmp" "$new"
echo "readme: the command table is out of date: run 'make readme'"
echo "[FAILED] the README's command table is the server's"
echo "readme: checks: 0 reply comparisons, 1 other checks, 1 failed"
echo "readme: 0 passed, 1 failed"
exit 1
