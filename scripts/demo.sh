#!/bin/sh
# A demo container boot without a container: svinit boots the services of
# examples/services (and the reconcile hook, with one persisted profile) in a
# temporary folder, the CMD prints `svctl stat`, then svinit stops everything
# and exits with the CMD's exit code.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Only svkit's binary and its program links, not the test suite.
TARGETS="svkit/svkit svkit/supervise svkit/svscan svkit/svctl svkit/reconcile svkit/svinit" \
  scripts/build.sh
build="$(pwd)/${BUILD_DIR:-build}"
demo="$(mktemp -d /tmp/svkit-demo-XXXXXX)"
trap 'rm -rf "$demo"' EXIT
mkdir -p "$demo/libexec" "$demo/cont-init.d"
for p in svkit supervise svscan svctl reconcile svinit; do
  ln -s "$build/svkit/$p" "$demo/libexec/"
done
export SVKIT_SCANDIR="$demo/service" SVKIT_RUNDIR="$demo/run" SVKIT_LOG_DIR="$demo/log" \
  SVKIT_STATE_DIR="$demo/state" SVKIT_LIBEXEC="$demo/libexec" \
  SVKIT_SERVICES_DIR="$(pwd)/examples/services" SVKIT_CONT_INIT_DIR="$demo/cont-init.d" \
  SVKIT_SERVICES_GRACETIME=5000
# A persisted profile, as `svctl add` would have left it on the state volume.
mkdir -p "$SVKIT_STATE_DIR/profiles/cron/service"
printf '#!/bin/sh\necho "cron: tick"\nexec sleep 86400\n' > "$SVKIT_STATE_DIR/profiles/cron/service/run"
chmod +x "$SVKIT_STATE_DIR/profiles/cron/service/run"
printf '{"schema": 1, "want": "up", "updated_at": "2026-11-26T21:00:00Z", "by": "svctl add"}\n' \
  > "$SVKIT_STATE_DIR/profiles/cron/state.json"
printf '#!/bin/sh\nexec "$SVKIT_LIBEXEC/reconcile"\n' > "$demo/cont-init.d/10-reconcile"
chmod +x "$demo/cont-init.d/10-reconcile"

svctl="$demo/libexec/svctl"
"$demo/libexec/svinit" -- /bin/sh -c "
  '$svctl' wait ready -t 10000 ticker worker api api/log cron &&
  echo '== svctl stat' && '$svctl' stat && '$svctl' stat api/log"
echo "== svinit exited $?; service logs:"
for f in "$SVKIT_LOG_DIR"/*/current "$SVKIT_LOG_DIR"/*/log/current; do
  [ -f "$f" ] && sed "s|^|${f#"$SVKIT_LOG_DIR"/}: |" "$f"
done
echo "== boot log"
cat "$SVKIT_STATE_DIR/logs/boot.log"
