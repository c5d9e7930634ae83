#!/usr/bin/env bash
# Obtains Redis 7.0.15's source tree (with Debian's patches applied) in the cache dir and makes sure
# tclsh is installed. Sourced by run.sh; defines fetch_redis_source, which prints nothing on success
# but progress lines on stderr.
#
# Invariants: the repo never receives the source; the cache dir holds either nothing or a complete
# tree (it is unpacked elsewhere and moved into place last); apt's source list is only ever extended
# with one file of ours, written once, holding deb-src twins of Debian's own deb entries.

REDIS_VERSION=7.0.15
APT_ETC=${APT_ETC:-/etc/apt}
CACHE_ROOT="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/longtail"
REDIS_SRC="$CACHE_ROOT/redis-$REDIS_VERSION"
DEBSRC_LIST=$APT_ETC/sources.list.d/longtail-deb-src.list

fetch_log() { printf 'redis-compat: %s\n' "$*" >&2; }

# Prints deb-src lines (one-line format) for every enabled deb entry that points at Debian's archive,
# reading classic .list files and deb822 .sources files alike.
debsrc_lines() {
    local f
    for f in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        [ "$f" = "$DEBSRC_LIST" ] && continue
        awk '
            { sub(/#.*/, "") }
            $1 == "deb" {
                opts = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        opts = opts (opts == "" ? "" : " ") $i
                        if ($(i++) ~ /\]$/) break
                    }
                }
                if ($i !~ /debian/) next
                line = "deb-src " (opts == "" ? "" : opts " ") $i
                for (j = i + 1; j <= NF; j++) line = line " " $j
                print line
            }' "$f"
    done
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Paragraph mode: one deb822 stanza per record. One line per (URI, suite) pair.
        awk 'BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; comps = ""; signed = ""; enabled = "yes"
                for (k = 1; k <= NF; k++) {
                    l = $k
                    if (l ~ /^[ \t]*#/) continue
                    split(l, kv, ":"); key = tolower(kv[1]); val = substr(l, length(kv[1]) + 2)
                    gsub(/^[ \t]+|[ \t]+$/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "components") comps = val
                    else if (key == "signed-by") signed = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                if (enabled == "no" || (" " types " ") !~ / deb /) next
                opt = (signed != "" && signed !~ / /) ? "[signed-by=" signed "] " : ""
                nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                for (a = 1; a <= nu; a++) {
                    if (u[a] !~ /debian/) continue
                    for (b = 1; b <= ns; b++) print "deb-src " opt u[a] " " s[b] " " comps
                }
            }' "$f"
    done
}

has_debsrc() {
    grep -qsE '^[[:space:]]*deb-src[[:space:]]' "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list \
        && return 0
    local f
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n"; found = 1 }
            {
                on = 1; src = 0
                for (k = 1; k <= NF; k++) {
                    if ($k ~ /^[Ee]nabled:[ \t]*no/) on = 0
                    if ($k ~ /^[Tt]ypes:.*deb-src/) src = 1
                }
                if (on && src) found = 0
            }
            END { exit found }' "$f" && return 0
    done
    return 1
}

ensure_debsrc() {
    has_debsrc && return 0
    local lines
    lines=$(debsrc_lines | awk '!seen[$0]++')
    if [ -z "$lines" ]; then
        fetch_log "no deb entry for Debian's archive in /etc/apt/sources.list*; cannot add deb-src"
        return 1
    fi
    fetch_log "adding deb-src entries in $DEBSRC_LIST"
    printf '# Added by longtail redis-compat/run.sh: source twins of the deb entries.\n%s\n' \
        "$lines" > "$DEBSRC_LIST"
    apt-get update -qq >&2
}

ensure_tcl() {
    command -v tclsh >/dev/null 2>&1 && return 0
    fetch_log "installing tcl"
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcl >&2
}

fetch_redis_source() {
    ensure_tcl || return 1
    if [ -x "$REDIS_SRC/runtest" ] && [ -f "$REDIS_SRC/tests/test_helper.tcl" ]; then
        return 0
    fi
    command -v dpkg-source >/dev/null 2>&1 || {
        fetch_log "installing dpkg-dev (for dpkg-source)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >&2 || return 1
    }
    ensure_debsrc || return 1
    mkdir -p "$CACHE_ROOT"
    local tmp dsc upstream
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/longtail-redis-src.XXXXXX")
    # apt drops privileges to _apt for downloads; it needs to be able to write here.
    chmod 755 "$tmp"; chown _apt "$tmp" 2>/dev/null || true
    fetch_log "downloading the redis source package"
    if ! (cd "$tmp" && apt-get source --download-only -qq redis >&2); then
        # The index may be stale on a machine where deb-src was already present.
        apt-get update -qq >&2
        (cd "$tmp" && apt-get source --download-only -qq redis >&2) || { rm -rf "$tmp"; return 1; }
    fi
    local dscs=("$tmp"/redis_*.dsc)
    dsc=${dscs[0]}
    upstream=$(sed -n 's/^Version: \([0-9]*:\)\{0,1\}\([^-]*\)-.*/\2/p' "$dsc" | head -n 1)
    if [ "$upstream" != "$REDIS_VERSION" ]; then
        fetch_log "the archive offers redis $upstream, not $REDIS_VERSION"
        rm -rf "$tmp"
        return 1
    fi
    fetch_log "unpacking $(basename "$dsc")"
    (cd "$tmp" && dpkg-source --no-check -x "$dsc" tree >/dev/null) || { rm -rf "$tmp"; return 1; }
    rm -rf "$REDIS_SRC" "$REDIS_SRC.new"
    mv "$tmp/tree" "$REDIS_SRC.new" && mv "$REDIS_SRC.new" "$REDIS_SRC"
    rm -rf "$tmp"
    fetch_log "redis $REDIS_VERSION source in $REDIS_SRC"
}
