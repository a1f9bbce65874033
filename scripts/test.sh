#!/bin/sh
# Installs what is missing, builds, and runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build="${BUILD_DIR:-build}"
# The metrics test checks /metrics with promtool, and may not skip here.
SVKIT_PROMTOOL="$(scripts/get-prometheus.sh)/promtool"
SVKIT_REQUIRE_PROMTOOL=1
export SVKIT_PROMTOOL SVKIT_REQUIRE_PROMTOOL
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
python3 scripts/summarize-tests.py "$build/meson-logs/testlog.json"
exit $status
