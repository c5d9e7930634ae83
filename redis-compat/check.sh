#!/usr/bin/env bash
# The compatibility gate: runs Redis's suite through run.sh for the given modes, then compares the
# passed count of every file with baseline.txt. A file that passes fewer tests than its baseline
# is run once more alone, and is a regression (exit 1) if it still does; one that passes more asks
# for the baseline to be raised.
#
# Usage: check.sh [--mode hot|cold|both] [--update] [--no-run] [other run.sh options...]
#   --update   after the run, rewrite the baseline lines of the modes that ran (other modes kept)
#   --no-run   compare the existing results/<mode>.txt without running anything
#
# Invariants: baseline.txt holds one "mode file passed" line per file and mode; a file absent from
# a run (--only, or excluded) is neither a regression nor an improvement; with --update the gate
# still reports what changed, and the new baseline is exactly what this run passed.
#
# Output: the gate's verdict (REGRESSION lines, exit 1), then per mode longtail's passes over the
# tests redis-server 7.0.15 passes under the same exclusions (the "ref" column of the table, from
# reference.txt): every other test of those fails, including all the tests of a file that timed
# out, crashed, stopped early or did not run. The last line is that figure over all modes,
# "check.sh: N passed, N failed" (tests). The counts are the run's own tables: a retried file's
# better count serves the gate only.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASELINE="$HERE/baseline.txt"
OUT="$HERE/results"
MODE=both
UPDATE=0
NO_RUN=0
RUN_ARGS=()

while [ $# -gt 0 ]; do
    case "$1" in
        --mode) [ $# -ge 2 ] || { echo "check.sh: --mode needs a value" >&2; exit 2; }
            MODE=$2; RUN_ARGS+=("$1" "$2"); shift 2 ;;
        --out) [ $# -ge 2 ] || { echo "check.sh: --out needs a dir" >&2; exit 2; }
            OUT=$2; RUN_ARGS+=("$1" "$2"); shift 2 ;;
        --update) UPDATE=1; shift ;;
        --no-run) NO_RUN=1; shift ;;
        --reference) echo "check.sh: the gate is for longtail; use run.sh --reference" >&2; exit 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) RUN_ARGS+=("$1"); shift ;;
    esac
done
case "$MODE" in
    hot|cold) MODES=("$MODE") ;;
    both) MODES=(hot cold) ;;
    *) echo "check.sh: --mode must be hot, cold or both" >&2; exit 2 ;;
esac

if [ $NO_RUN -eq 0 ]; then
    "$HERE/run.sh" "${RUN_ARGS[@]}"
    rc=$?
    [ $rc -eq 0 ] || { echo "check.sh: run.sh failed (exit $rc)"; exit 1; }
fi

# "mode file status passed" for every file that ran, from the results tables.
current() {
    local m
    for m in "${MODES[@]}"; do
        [ -f "$OUT/$m.txt" ] || { echo "check.sh: no $OUT/$m.txt" >&2; return 1; }
        awk -v m="$m" 'NF == 8 && $1 ~ /^unit\// && $3 ~ /^[0-9]+$/ { print m, $1, $2, $3 }' "$OUT/$m.txt"
    done
}
CUR=$(current) || exit 1

echo
echo "check.sh: comparing with $BASELINE"
regressions=0
improvements=0
compared=0
declare -A BASE=()
if [ -f "$BASELINE" ]; then
    while read -r m f p; do
        case "$m" in ''|'#'*) continue ;; esac
        BASE["$m $f"]=$p
    done < "$BASELINE"
fi
# A file below its baseline runs once more, alone (no second file sharing
# the 2 cores): some of Redis's tests are timing-sensitive, and one slow
# moment must not fail the gate. A real regression fails both times.
rerun() {
    local m=$1 f=$2 dir
    dir=$(mktemp -d)
    "$HERE/run.sh" "${RUN_ARGS[@]}" --mode "$m" --jobs 1 --only "$f" --out "$dir" >/dev/null 2>&1
    awk -v f="$f" 'NF == 8 && $1 == f && $3 ~ /^[0-9]+$/ { print $3; exit }' "$dir/$m.txt" 2>/dev/null
    rm -rf "$dir"
}
while read -r m f status p; do
    [ -n "$m" ] || continue
    b=${BASE["$m $f"]:-0}
    compared=$((compared + 1))
    if [ "$p" -lt "$b" ] && [ $NO_RUN -eq 0 ] && [ $UPDATE -eq 0 ]; then
        p2=$(rerun "$m" "$f")
        printf '  retried    %-5s %-36s %4d passed, then %s alone (baseline %d)\n' "$m" "$f" "$p" \
            "${p2:-none}" "$b"
        [ -n "$p2" ] && [ "$p2" -gt "$p" ] && p=$p2
    fi
    if [ "$p" -lt "$b" ]; then
        printf '  REGRESSION %-5s %-36s %4d passed, baseline %d (%s)\n' "$m" "$f" "$p" "$b" "$status"
        regressions=$((regressions + 1))
    elif [ "$p" -gt "$b" ]; then
        printf '  better     %-5s %-36s %4d passed, baseline %d\n' "$m" "$f" "$p" "$b"
        improvements=$((improvements + 1))
    fi
done <<< "$CUR"

if [ $UPDATE -eq 1 ]; then
    tmp=$(mktemp)
    {
        echo "# redis-compat baseline: tests passed per file and mode in the latest accepted run."
        echo "# check.sh fails when a file passes fewer; 'check.sh --update' rewrites the lines of the"
        echo "# modes it ran. Format: mode file passed"
        {
            [ -f "$BASELINE" ] && grep -vE '^(#|$)' "$BASELINE" | \
                awk -v keep="$(printf '%s ' "${MODES[@]}")" \
                    'BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) drop[k[i]] = 1 }
                     !($1 in drop)'
            printf '%s\n' "$CUR" | awk 'NF == 4 { print $1, $2, $4 }'
        } | sort -k1,1 -k2,2 | awk '{ printf "%-5s %-36s %d\n", $1, $2, $3 }'
    } > "$tmp"
    cat "$tmp" > "$BASELINE"; rm -f "$tmp"
    echo "check.sh: baseline.txt updated for mode(s) ${MODES[*]}"
fi

if [ $regressions -gt 0 ]; then
    echo "check.sh: FAIL: $regressions file(s) pass fewer tests than baseline.txt"
    [ $UPDATE -eq 1 ] && echo "check.sh: (the baseline was lowered to this run by --update)"
elif [ $improvements -gt 0 ] && [ $UPDATE -eq 0 ]; then
    echo "check.sh: OK, and $improvements file(s) pass more tests than baseline.txt:" \
        "raise the baseline (redis-compat/check.sh --update, or edit baseline.txt) and commit it"
else
    echo "check.sh: OK: every file passes at least its baseline"
fi
echo "check.sh: gate: $compared file(s) and mode(s) compared with baseline.txt, $regressions below it"

# Longtail against the reference, per mode then in total: of the tests redis-server passes in each
# file, those longtail passed ("good": never more than the reference's count); the rest failed,
# run or not ("unreached": neither passed nor reported failing).
ALL_PASSED=0
ALL_REF=0
for m in "${MODES[@]}"; do
    read -r p r n < <(awk 'NF == 8 && $1 ~ /^unit\// && $3 ~ /^[0-9]+$/ {
            ref = $8 ~ /^[0-9]+$/ ? $8 : 0; good = $3 < ref ? $3 : ref
            p += good; r += ref; if (ref - good - $4 > 0) n += ref - good - $4
        } END { print p + 0, r + 0, n + 0 }' "$OUT/$m.txt")
    printf 'check.sh: %s: %d passed of the %d tests redis-server 7.0.15 passes (%s %%); %d failed, %d of them never reported\n' \
        "$m" "$p" "$r" "$(awk -v p="$p" -v r="$r" 'BEGIN { printf "%.1f", r ? 100 * p / r : 0 }')" \
        "$((r - p))" "$n"
    ALL_PASSED=$((ALL_PASSED + p)); ALL_REF=$((ALL_REF + r))
done
echo "check.sh: $ALL_PASSED passed, $((ALL_REF - ALL_PASSED)) failed"
[ $regressions -eq 0 ] || [ $UPDATE -eq 1 ]
