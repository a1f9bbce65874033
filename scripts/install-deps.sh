#!/bin/sh
# Installs what svkit needs to build and test on Debian (12+), only what is
# missing. Extra package names on the command line are installed too (the
# benchmarks add s6, runit and supervisor).
set -eu
packages="meson ninja-build g++ pkg-config libuv1-dev nlohmann-json3-dev libspdlog-dev
libfmt-dev libgtest-dev libgmock-dev libhttp-parser-dev lld util-linux procps python3 $*"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "svkit: installing$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
