#!/bin/sh
# Configures (once) and builds svkit in BUILD_DIR (default build/).
set -eu
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"
[ -f "$build/build.ninja" ] || meson setup "$build" "$@" >&2
ninja -C "$build" >&2
