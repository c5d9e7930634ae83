#!/bin/sh
# deps/install.sh: installs every Debian 12 package longtail needs to build,
# test and benchmark. Idempotent; quick when everything is present.
set -e

PKGS="build-essential autoconf automake libtool pkg-config
librocksdb-dev libjemalloc-dev liblz4-dev libhiredis-dev
redis-server redis-tools tcl clang clang-format libclang-rt-14-dev python3 procps psmisc
gnuplot-nox
git"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian starts the packaged redis-server as a service where systemd runs;
# longtail's tests start their own servers on free ports and need none.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    $SUDO systemctl stop redis-server || true
fi
echo "deps: done"
