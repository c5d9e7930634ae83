#!/usr/bin/env bash
# Runs Redis 7.0.15's own Tcl test suite (tests/unit/**) in external-server mode against a server
# this script starts itself: longtail-server in hot and/or cold mode, or Debian's redis-server
# (--reference) to get the counts real Redis passes.
#
# Invariants:
# - one test file per runtest invocation, each against a FRESH server in its own temp dir on a
#   free port (tests leave config behind), with a wall-clock limit, so a crash or a hang costs
#   one file and is reported as such;
# - a file whose server died while it ran is "crashed" and its server log is kept in the
#   results dir; the next file gets a new server;
# - each runtest gets its own tree (symlinks into the cached source, private tests/tmp) and a
#   random --baseport, so parallel jobs and other runs on the machine do not collide;
# - only processes this script started are ever signalled.
#
# Counting: the table of results/<mode>.txt has each file's own counts. The
# figure of a longtail mode is against redis-server 7.0.15 (reference.txt,
# under the same exclusions): N passed of the tests Redis passes, and every
# other one of them failed, including all the tests of a file that timed out,
# crashed, stopped at an exception or did not run. Each mode ends with
# "<mode>: N passed, N failed" on that basis (the reference mode: as run), and
# the output with the same line over every mode.
#
# Usage: run.sh [--server PATH | --reference] [--mode hot|cold|both] [--only FILE...]
#               [--jobs N] [--out DIR] [--file-timeout SECS] [--no-exclude]
#               [--server-args "ARGS"] [--read-delay US] [--keep] [--fetch-only]

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=lib/fetch.sh
source "$HERE/lib/fetch.sh"

SERVER="$REPO/longtail-server"
REFERENCE=0
MODE=both
ONLY=()
JOBS=1
OUT="$HERE/results"
FILE_TIMEOUT=900
NO_EXCLUDE=0
EXTRA_ARGS=""
READ_DELAY=0
KEEP=0
FETCH_ONLY=0
EXCLUDE_FILE="$HERE/exclude.txt"

usage() {
    sed -n '/^# Usage:/,/^$/p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --server PATH       server binary to test (default: the repo's ./longtail-server)
  --reference         test Debian's redis-server 7.0.15 instead (DEBUG enabled); one mode
  --mode M            hot (default config), cold (adds --maxmemory 1) or both (default)
  --only FILE...      run only these files (unit/type/list, type/list or a path to the .tcl)
  --jobs N            files run in parallel (default 1, at most 2)
  --out DIR           results dir (default redis-compat/results)
  --file-timeout S    wall-clock limit per file in seconds (default 900)
  --no-exclude        ignore exclude.txt
  --server-args "A"   extra arguments for every server started
  --read-delay US     longtail only: every storage read waits US microseconds, as on a
                      slow disk (DEBUG STORAGE-READ-DELAY); commands wait longer for cold keys
  --keep              keep the temp dirs (server dirs, runtest trees)
  --fetch-only        only fetch the Redis source and tcl, then exit
EOF
}

die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --server) [ $# -ge 2 ] || die "--server needs a path"; SERVER=$2; shift 2 ;;
        --reference) REFERENCE=1; shift ;;
        --mode) [ $# -ge 2 ] || die "--mode needs a value"; MODE=$2; shift 2 ;;
        --only)
            shift
            while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do ONLY+=("$1"); shift; done
            [ ${#ONLY[@]} -gt 0 ] || die "--only needs at least one file" ;;
        --jobs) [ $# -ge 2 ] || die "--jobs needs a number"; JOBS=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a dir"; OUT=$2; shift 2 ;;
        --file-timeout) [ $# -ge 2 ] || die "--file-timeout needs seconds"; FILE_TIMEOUT=$2; shift 2 ;;
        --no-exclude) NO_EXCLUDE=1; shift ;;
        --server-args) [ $# -ge 2 ] || die "--server-args needs a value"; EXTRA_ARGS=$2; shift 2 ;;
        --read-delay) [ $# -ge 2 ] || die "--read-delay needs microseconds"; READ_DELAY=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --fetch-only) FETCH_ONLY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

case "$JOBS" in 1|2) ;; *) die "--jobs must be 1 or 2 on this machine" ;; esac
case "$FILE_TIMEOUT" in ''|*[!0-9]*) die "--file-timeout must be a number of seconds" ;; esac
case "$READ_DELAY" in ''|*[!0-9]*) die "--read-delay must be a number of microseconds" ;; esac
[ "$READ_DELAY" = 0 ] || [ $REFERENCE -eq 0 ] || die "--read-delay is for longtail only"
if [ $REFERENCE -eq 1 ]; then
    MODES=(reference)
    SERVER=$(command -v redis-server) || die "redis-server is not installed (apt-get install redis-server)"
else
    case "$MODE" in
        hot|cold) MODES=("$MODE") ;;
        both) MODES=(hot cold) ;;
        *) die "--mode must be hot, cold or both" ;;
    esac
fi

fetch_redis_source || die "could not obtain the Redis $REDIS_VERSION source"
grep -q '^    r function flush$' "$REDIS_SRC/tests/support/server.tcl" ||
    die "tests/support/server.tcl has no 'r function flush' line for make_tree to patch"
[ $FETCH_ONLY -eq 1 ] && exit 0

[ -x "$SERVER" ] || die "server binary $SERVER not found or not executable (use --server PATH)"
SERVER=$(cd "$(dirname "$SERVER")" && pwd)/$(basename "$SERVER")

# --- the list of files --------------------------------------------------------------------------

normalize_unit() {
    local u=$1
    u=${u#./}; u=${u#"$REDIS_SRC"/}; u=${u#tests/}; u=${u%.tcl}
    case "$u" in unit/*) ;; *) u="unit/$u" ;; esac
    printf '%s\n' "$u"
}

# A unit is a file that runs tests; helpers such as type/list-common.tcl only define data.
is_unit() { grep -qE '^[[:space:]]*(start_server|start_cluster|tags)[[:space:]]' "$REDIS_SRC/tests/$1.tcl"; }

UNITS=()
if [ ${#ONLY[@]} -gt 0 ]; then
    for u in "${ONLY[@]}"; do
        u=$(normalize_unit "$u")
        [ -f "$REDIS_SRC/tests/$u.tcl" ] || die "no such test file: tests/$u.tcl"
        UNITS+=("$u")
    done
else
    while IFS= read -r u; do
        is_unit "$u" && UNITS+=("$u")
    done < <(cd "$REDIS_SRC/tests" && find unit -name '*.tcl' | sed 's/\.tcl$//' | LC_ALL=C sort)
fi

# --- exclusions ---------------------------------------------------------------------------------
# exclude.txt lines: "file | <unit or glob> | reason", "test | <unit> | <name or /regexp> | reason",
# "tag | <tag> | reason". EXCL_FILE maps each excluded unit to its reason.

trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

declare -A EXCL_FILE=()
declare -A EXCL_TESTS=()
FILE_PATTERNS=()
FILE_REASONS=()
TAG_ARGS=()
EXCL_TAGS=()
if [ $NO_EXCLUDE -eq 0 ] && [ -f "$EXCLUDE_FILE" ]; then
    while IFS= read -r line; do
        case "$line" in ''|'#'*) continue ;; esac
        IFS='|' read -r kind what rest <<< "$line"
        kind=$(trim "$kind"); what=$(trim "$what")
        if [ -z "$what" ] || [ -z "$(trim "$rest")" ]; then
            die "exclude.txt: a line needs a reason: $line"
        fi
        case "$kind" in
            file) FILE_PATTERNS+=("$what"); FILE_REASONS+=("$(trim "$rest")") ;;
            tag) TAG_ARGS+=("-$what"); EXCL_TAGS+=("$what: $(trim "$rest")") ;;
            test)
                [ "${rest%|*}" != "$rest" ] || die "exclude.txt: a test line needs a reason: $line"
                EXCL_TESTS[$what]+="$(trim "${rest%|*}")"$'\n' ;;
            *) die "exclude.txt: bad line: $line" ;;
        esac
    done < "$EXCLUDE_FILE"
fi
for unit in "${UNITS[@]}"; do
    for i in "${!FILE_PATTERNS[@]}"; do
        # shellcheck disable=SC2053
        if [[ $unit == ${FILE_PATTERNS[$i]} ]]; then EXCL_FILE[$unit]=${FILE_REASONS[$i]}; break; fi
    done
done
# runtest takes one --tags argument holding a list.
TAGS_OPT=()
[ ${#TAG_ARGS[@]} -gt 0 ] && TAGS_OPT=(--tags "${TAG_ARGS[*]}")

# --- work area and cleanup ----------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/longtail-compat.XXXXXX")
mkdir -p "$WORK/rec"

cleanup() {
    local f pid
    # The runners first: timeout passes the signal on to runtest's whole process group.
    for f in "$WORK"/job/*/runner.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    for f in "$WORK"/job/*/server.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    done
    if [ $KEEP -eq 0 ]; then rm -rf "$WORK"; else echo "run.sh: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one file -----------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
    local lo=$1 span=$2 p i
    for i in $(seq 1 50); do
        p=$((lo + RANDOM % span))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# Sends an inline command (port, command, expected status reply) over bash's
# /dev/tcp and waits for the reply: no client binary needed.
server_says() {
    (
        exec 7<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf '%s\r\n' "$2" >&7
        IFS= read -r -t 2 reply <&7 || exit 1
        [ "${reply%$'\r'}" = "$3" ]
    ) 2>/dev/null
}

server_ready() { server_says "$1" PING +PONG; }

# Starts a server for (mode, job dir); sets SRV_PID and SRV_PORT. Returns nonzero if no server
# answered PING (its log stays in the job dir).
start_server() {
    local mode=$1 job=$2 attempt deadline
    local -a cmd
    for attempt in 1 2 3; do
        SRV_PORT=$(pick_port 10000 10000) || return 1
        rm -rf "$job/data"; mkdir -p "$job/data"
        cmd=("$SERVER" --port "$SRV_PORT" --dir "$job/data")
        # DEBUG is off by default in both servers; the suite needs it
        case "$mode" in
            reference) cmd+=(--save "" --enable-debug-command yes) ;;
            hot) cmd+=(--enable-debug-command yes) ;;
            cold) cmd+=(--enable-debug-command yes --maxmemory 1) ;;
        esac
        # shellcheck disable=SC2206
        [ -n "$EXTRA_ARGS" ] && cmd+=($EXTRA_ARGS)
        printf '%q ' "${cmd[@]}" > "$job/server.cmd"
        "${cmd[@]}" >> "$job/server.log" 2>&1 < /dev/null &
        SRV_PID=$!
        echo "$SRV_PID" > "$job/server.pid"
        deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ]; do
            kill -0 "$SRV_PID" 2>/dev/null || break
            if server_ready "$SRV_PORT"; then
                [ "$READ_DELAY" = 0 ] && return 0
                server_says "$SRV_PORT" "DEBUG STORAGE-READ-DELAY $READ_DELAY" +OK && return 0
                echo "run.sh: DEBUG STORAGE-READ-DELAY $READ_DELAY refused" >> "$job/server.log"
                kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
                return 1
            fi
            sleep 0.1
        done
        if kill -0 "$SRV_PID" 2>/dev/null; then
            kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
            echo "run.sh: server did not answer PING within 30 s" >> "$job/server.log"
            return 1
        fi
        wait "$SRV_PID" 2>/dev/null
        echo "run.sh: server exited before answering PING (attempt $attempt)" >> "$job/server.log"
    done
    return 1
}

# Stops the server; prints how it ended if it was already dead ("" if it was alive).
stop_server() {
    local pid=$1 rc i
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null; rc=$?
        if [ $rc -gt 128 ]; then echo "server killed by signal $((rc - 128))"
        else echo "server exited with status $rc"; fi
        return
    fi
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo ""
}

# A private tree: symlinks into the cached source, with its own tests/tmp and one change to the
# harness, the same for every server: start_server sends FUNCTION FLUSH in a catch, since longtail
# has no scripting yet (FUNCTION is an unknown command there, and an error in start_server ends
# the whole file); run.sh checks at start that the line is there.
make_tree() {
    local tree=$1 e
    mkdir -p "$tree/tests/tmp" "$tree/tests/support"
    for e in "$REDIS_SRC"/*; do
        [ "$(basename "$e")" = tests ] || ln -s "$e" "$tree/"
    done
    for e in "$REDIS_SRC"/tests/*; do
        case "$(basename "$e")" in
            tmp | support) ;;
            *) ln -s "$e" "$tree/tests/" ;;
        esac
    done
    for e in "$REDIS_SRC"/tests/support/*; do
        [ "$(basename "$e")" = server.tcl ] || ln -s "$e" "$tree/tests/support/"
    done
    sed 's/^    r function flush$/    catch {r function flush}/' \
        "$REDIS_SRC/tests/support/server.tcl" > "$tree/tests/support/server.tcl"
}

slug() { printf '%s' "${1#unit/}" | tr '/' '-'; }

# Reads a runner log; prints "key=value" lines: passed, failed, skipped (by the suite itself: tags
# such as external:skip or large-memory), excluded (by exclude.txt: --skiptest gives [skip] lines,
# --tags -X gives "Tag: X denied"), finished, suite_timeout,
# and one "fail=" line per failing test.
parse_log() {
    awk '
        { sub(/\r$/, "") }
        /^\[ok\]: / { passed++; next }
        /^\[err\]: / {
            failed++; name = substr($0, 8)
            if (name ~ / in tests\/unit\/.*\.tcl$/) sub(/ in tests\/unit\/.*\.tcl$/, "", name)
            else name = "(error outside a test) " name
            fails[failed] = name; next
        }
        /^\[exception\]: / {
            failed++; fails[failed] = "(exception, rest of file not run) " substr($0, 14); next
        }
        /^\[skip\]: / || /^\[ignore\]: .*Tag: .* denied$/ { excluded++; next }
        /^\[ignore\]: / { skipped++; next }
        /^\[TIMEOUT\]: / { suite_timeout = 1; next }
        /^ *The End *$/ { finished = 1; next }
        END {
            printf "passed=%d\nfailed=%d\nskipped=%d\nexcluded=%d\nfinished=%d\nsuite_timeout=%d\n", \
                passed, failed, skipped, excluded, finished, suite_timeout
            for (i = 1; i <= failed; i++) print "fail=" fails[i]
        }' "$1"
}

run_file() {
    local mode=$1 unit=$2
    local s job tree logdir start rc ended status note baseport
    s=$(slug "$unit")
    job="$WORK/job/$mode-$s"
    logdir="$OUT/logs/$mode"
    mkdir -p "$job" "$logdir"
    rm -f "$logdir/$s.log" "$logdir/$s.server.log"
    start=$SECONDS
    note=""

    local -a skipargs=()
    if [ -n "${EXCL_TESTS[$unit]:-}" ]; then
        while IFS= read -r t; do [ -n "$t" ] && skipargs+=(--skiptest "$t"); done <<< "${EXCL_TESTS[$unit]}"
    fi

    if ! start_server "$mode" "$job"; then
        cp "$job/server.log" "$logdir/$s.server.log" 2>/dev/null
        { echo "status=crashed"; echo "passed=0"; echo "failed=0"; echo "skipped=0"; echo "excluded=0"
          echo "secs=$((SECONDS - start))"; echo "note=server did not start"
          echo "fail=(server did not start)"; } > "$WORK/rec/$mode--$s"
        printf '%-9s %-36s %-8s (server did not start; log: %s)\n' "$mode" "$unit" crashed \
            "$logdir/$s.server.log"
        return
    fi
    tree="$job/tree"
    make_tree "$tree"
    # Baseport: the runner listens in [baseport-32, baseport) and probes +10000 too; this range
    # stays clear of the servers' ports (10000-19999) and of the kernel's ephemeral ports.
    baseport=$((21100 + RANDOM % 1600))
    (cd "$tree" && TERM=dumb exec timeout -k 15 "$FILE_TIMEOUT" ./runtest \
        --host 127.0.0.1 --port "$SRV_PORT" --single "$unit" --durable \
        --baseport "$baseport" --timeout "$FILE_TIMEOUT" "${TAGS_OPT[@]}" "${skipargs[@]}") \
        > "$logdir/$s.log" 2>&1 < /dev/null &
    echo $! > "$job/runner.pid"
    wait $!
    rc=$?
    rm -f "$job/runner.pid"
    ended=$(stop_server "$SRV_PID")
    rm -f "$job/server.pid"

    parse_log "$logdir/$s.log" > "$job/parsed"
    local passed failed skipped excluded finished suite_timeout
    passed=$(sed -n 's/^passed=//p' "$job/parsed")
    failed=$(sed -n 's/^failed=//p' "$job/parsed")
    skipped=$(sed -n 's/^skipped=//p' "$job/parsed")
    excluded=$(sed -n 's/^excluded=//p' "$job/parsed")
    finished=$(sed -n 's/^finished=//p' "$job/parsed")
    suite_timeout=$(sed -n 's/^suite_timeout=//p' "$job/parsed")

    if [ -n "$ended" ]; then
        status=crashed; note=$ended
        cp "$job/server.log" "$logdir/$s.server.log"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ] || [ "$suite_timeout" = 1 ]; then
        status=timeout; note="no result within ${FILE_TIMEOUT} s"
        cp "$job/server.log" "$logdir/$s.server.log"
    elif [ "$failed" -gt 0 ] || [ "$finished" != 1 ]; then
        status=failed
        [ "$finished" = 1 ] || note="runner exited with status $rc before the end"
    else
        status=ok
    fi
    {
        echo "status=$status"; echo "passed=$passed"; echo "failed=$failed"
        echo "skipped=$skipped"; echo "excluded=$excluded"; echo "secs=$((SECONDS - start))"
        echo "note=$note"
        grep '^fail=' "$job/parsed"
        [ "$status" = crashed ] && echo "fail=(server died: $note)"
        [ "$status" = timeout ] && echo "fail=(timeout: $note)"
    } > "$WORK/rec/$mode--$s"
    printf '%-9s %-34s %-8s %4d passed %4d failed %3d skipped %3d excluded %4ds%s\n' "$mode" "$unit" \
        "$status" "$passed" "$failed" "$skipped" "$excluded" "$((SECONDS - start))" "${note:+  ($note)}"
    [ $KEEP -eq 1 ] || rm -rf "$job"
}

# --- the run ------------------------------------------------------------------------------------

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUN_START=$SECONDS
echo "redis-compat: redis $REDIS_VERSION suite from $REDIS_SRC"
echo "redis-compat: server $SERVER; modes ${MODES[*]}; ${#UNITS[@]} files; $JOBS job(s)"

running=0
for mode in "${MODES[@]}"; do
    for unit in "${UNITS[@]}"; do
        [ -n "${EXCL_FILE[$unit]+x}" ] && continue
        if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
        run_file "$mode" "$unit" &
        running=$((running + 1))
    done
done
wait
TOTAL_SECS=$((SECONDS - RUN_START))

# --- reports ------------------------------------------------------------------------------------

rec_get() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# Passed counts from reference.txt, for the "ref" column.
# "file passed" for each row of a results table that ran (the failing-tests section also starts
# lines with unit/, so the row shape is checked).
table_rows() { awk 'NF == 8 && $1 ~ /^unit\// && $3 ~ /^[0-9]+$/ { print $1, $3 }' "$1"; }

declare -A REF=()
if [ $REFERENCE -eq 0 ] && [ -f "$HERE/reference.txt" ]; then
    while read -r f p; do REF[$f]=$p; done < <(table_rows "$HERE/reference.txt")
fi

# The honest count of a longtail mode is against the reference: of the tests
# redis-server passes in a file (reference.txt, same exclusions), those
# longtail passes pass, and all the others fail, run or not: a file that timed
# out, crashed, stopped at an exception or did not run fails every test it
# did not pass. A test longtail passes beyond Redis's count is not counted.
ALL_PASSED=0
ALL_FAILED=0
report_mode() {
    local mode=$1 unit r t i n status passed failed skipped excluded secs note ref
    local tp=0 tf=0 ts=0 tx=0 nok=0 nfail=0 ncrash=0 ntime=0 nexcl=0 nnotrun=0
    local hp=0 hr=0 hn=0 hx=0 good
    printf '# redis-compat results: mode %s\n' "$mode"
    printf '# suite: redis %s tests/unit (Debian source %s), external mode, one fresh server per file\n' \
        "$REDIS_VERSION" "$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$REDIS_SRC/debian/changelog")"
    if [ "$mode" = reference ]; then
        printf '# server: redis-server %s (Debian package %s)\n' \
            "$("$SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" \
            "$(dpkg-query -W -f='${Version}' redis-server 2>/dev/null || echo unknown)"
    else
        printf '# server: %s\n' "${SERVER#"$REPO"/}"
    fi
    printf '# date: %s; wall time of the whole run: %d s; jobs: %d\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
        "$TOTAL_SECS" "$JOBS"
    printf '# skipped: by the suite itself (external:skip, large-memory...); excl: by exclude.txt;\n'
    printf '# a skipped block of tests counts once; ref: passed by redis-server 7.0.15 (reference.txt)\n\n'
    printf '%-36s %-8s %6s %6s %7s %5s %5s %5s\n' file status passed failed skipped excl secs ref
    for unit in "${UNITS[@]}"; do
        if [ -n "${EXCL_FILE[$unit]+x}" ]; then nexcl=$((nexcl + 1)); continue; fi
        r="$WORK/rec/$mode--$(slug "$unit")"
        if [ -f "$r" ]; then
            status=$(rec_get "$r" status); passed=$(rec_get "$r" passed); failed=$(rec_get "$r" failed)
            skipped=$(rec_get "$r" skipped); excluded=$(rec_get "$r" excluded)
            secs=$(rec_get "$r" secs)
        else
            status=notrun; passed=0; failed=0; skipped=0; excluded=0; secs=0
        fi
        ref=${REF[$unit]:--}
        printf '%-36s %-8s %6d %6d %7d %5d %5d %5s\n' "$unit" "$status" "$passed" "$failed" \
            "$skipped" "$excluded" "$secs" "$ref"
        tp=$((tp + passed)); tf=$((tf + failed)); ts=$((ts + skipped)); tx=$((tx + excluded))
        case "$status" in ok) nok=$((nok + 1)) ;; failed) nfail=$((nfail + 1)) ;;
            crashed) ncrash=$((ncrash + 1)) ;; timeout) ntime=$((ntime + 1)) ;;
            notrun) nnotrun=$((nnotrun + 1)) ;; esac
        [ "$ref" = - ] && ref=0
        good=$((passed < ref ? passed : ref))
        hp=$((hp + good)); hr=$((hr + ref)); hx=$((hx + passed - good))
        # Redis's passes neither passed nor reported failing: never reached
        [ $((ref - good - failed)) -gt 0 ] && hn=$((hn + ref - good - failed))
    done
    printf '\nfiles: %d ok, %d failed, %d crashed, %d timeout%s; %d excluded by exclude.txt\n' \
        "$nok" "$nfail" "$ncrash" "$ntime" "$([ $nnotrun -eq 0 ] || echo ", $nnotrun not run")" \
        "$nexcl"
    printf 'tests run: %d passed, %d failed (%d run); %d skipped by the suite, %d excluded\n' \
        "$tp" "$tf" "$((tp + tf))" "$ts" "$tx"
    local honest=0
    if [ "$mode" != reference ] && [ ${#REF[@]} -gt 0 ] && [ "$hr" -gt 0 ]; then
        honest=1
        printf 'against redis-server %s: %d passed of the %d tests it passes (%s %%); %d failed,\n' \
            "$REDIS_VERSION" "$hp" "$hr" "$(awk -v p="$hp" -v r="$hr" 'BEGIN { printf "%.1f", 100 * p / r }')" \
            "$((hr - hp))"
        printf '  %d of them never reported (the file timed out, crashed, stopped early or did not run)\n' \
            "$hn"
        [ "$hx" -eq 0 ] || printf '  (and %d passes beyond the reference'"'"'s counts, not counted)\n' "$hx"
    fi
    if [ $nexcl -gt 0 ]; then
        printf '\nexcluded files (exclude.txt):\n'
        for i in "${!FILE_PATTERNS[@]}"; do
            n=0
            for unit in "${UNITS[@]}"; do
                # shellcheck disable=SC2053
                [ "${EXCL_FILE[$unit]:-}" = "${FILE_REASONS[$i]}" ] && [[ $unit == ${FILE_PATTERNS[$i]} ]] \
                    && n=$((n + 1))
            done
            [ $n -gt 0 ] && printf '  %s (%d files): %s\n' "${FILE_PATTERNS[$i]}" "$n" "${FILE_REASONS[$i]}"
        done
    fi
    if [ ${#EXCL_TAGS[@]} -gt 0 ] || [ ${#EXCL_TESTS[@]} -gt 0 ]; then
        printf '\nexcluded tests (exclude.txt):\n'
        for t in "${EXCL_TAGS[@]}"; do printf '  tag %s\n' "$t"; done
        for unit in "${UNITS[@]}"; do
            [ -n "${EXCL_TESTS[$unit]:-}" ] || continue
            [ -z "${EXCL_FILE[$unit]+x}" ] || continue
            while IFS= read -r t; do
                [ -n "$t" ] || continue
                # A name that skipped nothing is a stale entry (renamed test, typo).
                if [ "${t#/}" = "$t" ] && [ -f "$OUT/logs/$mode/$(slug "$unit").log" ] &&
                    ! grep -qFx "[skip]: $t" "$OUT/logs/$mode/$(slug "$unit").log"; then
                    printf '  %s: %s   (WARNING: matched no test in this run)\n' "$unit" "$t"
                else
                    printf '  %s: %s\n' "$unit" "$t"
                fi
            done <<< "${EXCL_TESTS[$unit]}"
        done
    fi
    local header=0
    for unit in "${UNITS[@]}"; do
        r="$WORK/rec/$mode--$(slug "$unit")"
        [ -f "$r" ] || continue
        grep -q '^fail=' "$r" || continue
        [ $header -eq 1 ] || { printf '\nfailing tests:\n'; header=1; }
        note=$(rec_get "$r" note)
        printf '%s (%s%s):\n' "$unit" "$(rec_get "$r" status)" "${note:+, $note}"
        sed -n 's/^fail=/  - /p' "$r"
    done
    # The mode's last line: against the reference for longtail, as run for
    # the reference itself.
    if [ $honest -eq 1 ]; then
        tp=$hp; tf=$((hr - hp))
    fi
    printf '\n%s: %d passed, %d failed\n' "$mode" "$tp" "$tf"
    ALL_PASSED=$((ALL_PASSED + tp)); ALL_FAILED=$((ALL_FAILED + tf))
}

for mode in "${MODES[@]}"; do
    echo
    report_mode "$mode" > "$OUT/$mode.txt"
    cat "$OUT/$mode.txt"
done
echo
echo "redis-compat: results in $(printf '%s.txt ' "${MODES[@]/#/$OUT/}")(logs in $OUT/logs/);" \
    "${TOTAL_SECS} s"
echo "$ALL_PASSED passed, $ALL_FAILED failed"
