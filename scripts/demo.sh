#!/bin/sh
# A demo container boot without a container: the services in
# examples/services are supervised in a temporary scandir, `svctl stat` is
# printed, then everything is stopped cleanly.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build="$(pwd)/${BUILD_DIR:-build}"
demo="$(mktemp -d /tmp/svkit-demo-XXXXXX)"
trap 'rm -rf "$demo"' EXIT
mkdir -p "$demo/libexec"
for p in supervise/supervise svscan/svscan svctl/svctl; do ln -s "$build/$p" "$demo/libexec/"; done
export SVKIT_SCANDIR="$demo/service" SVKIT_RUNDIR="$demo/run" SVKIT_LOG_DIR="$demo/log" \
  SVKIT_STATE_DIR="$demo/state" SVKIT_LIBEXEC="$demo/libexec"
cp -a examples/services "$SVKIT_SCANDIR"
svctl="$demo/libexec/svctl"

"$demo/libexec/svscan" &
svscan=$!
"$svctl" wait ready -t 10000 ticker worker api api/log
echo "== svctl stat"
"$svctl" stat
echo "== svctl stat api/log"
"$svctl" stat api/log
echo "== stopping (SIGTERM to svscan)"
kill -TERM "$svscan"
wait "$svscan"
echo "== svscan exited $?; service logs:"
for f in "$SVKIT_LOG_DIR"/*/current "$SVKIT_LOG_DIR"/*/log/current; do
  [ -f "$f" ] && sed "s|^|${f#$SVKIT_LOG_DIR/}: |" "$f"
done
