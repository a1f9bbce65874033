#!/bin/sh
# Installs what is missing, builds, and runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build="${BUILD_DIR:-build}"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
python3 scripts/summarize-tests.py "$build/meson-logs/testlog.json"
exit $status
