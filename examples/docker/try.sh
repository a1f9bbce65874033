#!/bin/sh
# Builds the example image with ${DOCKER:-docker} and checks, in a real
# container: service output in `docker logs`, a `docker restart` that keeps
# the operator's intent (a profile added stays up, one stopped stays down),
# and a `docker stop` that exits 0 within the grace. Not part of CI: an
# image build takes minutes.
#   examples/docker/try.sh                                 # with Docker
#   DOCKER=../shared/container/docker examples/docker/try.sh   # with the podman shim
set -eu
cd "$(dirname "$0")/../.."
DOCKER="${DOCKER:-docker}"
image=svkit-example
name="svkit-try-$$"
say() { printf '== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*"; "$DOCKER" logs "$name" 2>&1 | tail -20; exit 1; }

say "build"
"$DOCKER" build -q -f examples/docker/Dockerfile -t "$image" . > /dev/null
"$DOCKER" rm -f "$name" > /dev/null 2>&1 || true
trap '"$DOCKER" rm -f "$name" > /dev/null 2>&1 || true' EXIT
"$DOCKER" run -d --name "$name" --tmpfs /run "$image" > /dev/null
"$DOCKER" exec "$name" svctl wait ready -t 20000 ticker worker api api/log || fail "services never ready"

say "docker logs shows service output"
"$DOCKER" logs "$name" 2>&1 | grep -E '^(ticker|worker|api/log) \| ' | head -5
"$DOCKER" logs "$name" 2>&1 | grep -q '^worker | worker: ready$' || fail "no worker line in docker logs"
"$DOCKER" logs "$name" 2>&1 | grep -q '^api/log | api-log: api: listening' || fail "no logger line"

say "operator intent: two profiles added, one of them stopped"
"$DOCKER" exec "$name" svctl add extra -- sleep 100000
"$DOCKER" exec "$name" svctl add paused -- sleep 100000
"$DOCKER" exec "$name" svctl wait up -t 20000 extra paused || fail "profiles never up"
"$DOCKER" exec "$name" svctl down paused
"$DOCKER" exec "$name" svctl stat

say "docker restart"
"$DOCKER" restart "$name" > /dev/null
"$DOCKER" exec "$name" svctl wait ready -t 20000 ticker api extra || fail "not back after restart"
"$DOCKER" exec "$name" svctl stat
"$DOCKER" exec "$name" svctl stat extra | grep -q '^extra: up' || fail "the added profile is not up"
"$DOCKER" exec "$name" svctl stat paused | grep -q '^paused: down' || fail "the stopped profile came back"
"$DOCKER" exec "$name" sh -c 'cat /var/lib/svkit/logs/boot.log | tail -2'

say "docker stop"
start=$(date +%s%3N)
"$DOCKER" stop -t 10 "$name" > /dev/null
took=$(( $(date +%s%3N) - start ))
code=$("$DOCKER" inspect "$name" --format '{{.State.ExitCode}}')
echo "stopped in ${took} ms, exit code $code"
[ "$code" = 0 ] || fail "exit code $code"
[ "$took" -lt 10000 ] || fail "docker stop took the whole grace"
say "all good"
