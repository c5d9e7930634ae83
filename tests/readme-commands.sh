#!/bin/sh
# tests/readme-commands.sh README SERVER [--update]
# Checks (or with --update, rewrites) the README's command table against
# `SERVER --commands-markdown`, so the table is never written by hand.
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
    echo "readme: 1 passed, 0 failed"
    exit 0
fi
diff "$readme" "$new" | head -20
rm -f "$tmp" "$new"
echo "readme: the command table is out of date: run 'make readme'"
echo "readme: 0 passed, 1 failed"
exit 1
