#!/bin/sh
# Installs what tend's build and tests need on Debian 12, once; silent when all is there.
#   scripts/deps.sh        everything `make check` needs (the default)
#   scripts/deps.sh demo   only what `make demo` needs: the build, nginx, Node.js, curl
set -eu
need="build-essential pkg-config libuv1-dev libinih-dev libsystemd-dev nginx-light nodejs curl"
if [ "${1:-check}" != demo ]; then
    need="$need libcmocka-dev python3 python3-pytest util-linux mount procps iproute2 wrk
          clang libclang-rt-14-dev llvm mandoc valgrind strace"
fi
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# nginx from any package (nginx, nginx-light, nginx-full, ...) will do.
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    missing=$(echo "$missing" | sed 's/ nginx-light//')
fi
# Node.js from nodesource or Debian will do.
if command -v node >/dev/null 2>&1; then
    missing=$(echo "$missing" | sed 's/ nodejs//')
fi
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
