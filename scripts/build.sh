#!/bin/sh
# Configures (once) and builds svkit in BUILD_DIR (default build/): every
# target, or only those named in TARGETS (the demo builds just its programs).
set -eu
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"
[ -f "$build/build.ninja" ] || meson setup "$build" "$@" >&2
# shellcheck disable=SC2086 # TARGETS is a list of words
ninja -C "$build" ${TARGETS:-} >&2
