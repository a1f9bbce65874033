#!/bin/sh
# Prints a folder holding `promtool` and `prometheus` from Debian's
# `prometheus` package, unpacked into a cache folder rather than installed:
# installing it would start a system service. The metrics test and
# bench/http.py use them.
set -eu
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/svkit/prometheus"
bin="$cache/root/usr/bin"
if [ ! -x "$bin/promtool" ]; then
  mkdir -p "$cache"
  cd "$cache"
  rm -f prometheus_*.deb
  if ! apt-get download prometheus >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    apt-get download prometheus >&2
  fi
  dpkg-deb -x prometheus_*.deb root
  rm -f prometheus_*.deb
fi
echo "$bin"
