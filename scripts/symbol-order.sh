#!/bin/bash
# Regenerates svkit/symbol-order.txt, the order in which the link (with lld)
# lays out svkit's one binary: first the data a supervise writes, then the
# functions supervise, svctl and svscan run, each group side by side.
# Why: a process maps its code 64 KiB at a page fault and copies each data page
# it writes, and one supervise per service starts, wakes and exits a thousand
# times over. Code side by side is fewer faults; written data side by side is
# fewer private pages (the figure bench/core.py's memory bench prints).
#
# Usage: scripts/symbol-order.sh [BUILD_DIR]   (needs valgrind; a release build)
# supervise runs through its everyday paths twice, under callgrind (which
# functions run) and under lackey (which data it writes): it starts a service,
# restarts it after a SIGKILL, takes it down and up, stops on SIGTERM. Under
# callgrind too: svscan starts two services and stops them; svctl lists, names,
# waits. Stale names in the file are harmless (the link ignores them), so
# regenerating is for when the hot paths change, not for every commit.
# After regenerating, compare `python3 bench/core.py --only memory --supervisors
# svkit` before and after: on 2026-11-30 a regenerated file put svscan's code in
# 64 KiB windows no supervise maps (svscan 164 -> 228 KiB private), and the
# file was kept with the new names added by hand instead.
set -euo pipefail
build=${1:-build}
binary=$(realpath "$build/svkit/svkit")
out=$(realpath "$(dirname "$0")/..")/svkit/symbol-order.txt
command -v valgrind >/dev/null || { echo "symbol-order: valgrind is not installed" >&2; exit 1; }

work=$(mktemp -d /tmp/svkit-order.XXXXXX)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
for p in supervise svscan svctl; do ln -s "$binary" "$p"; done
export SVKIT_RUNDIR=$work/run SVKIT_LOG_DIR=$work/log SVKIT_STATE_DIR=$work/state SVKIT_SCANDIR=$work/scan
mkdir -p scan/a scan/b solo/svc
for svc in scan/a scan/b solo/svc; do
  printf '#!/bin/sh\necho started\nexec sleep 100000\n' > $svc/run
  chmod +x $svc/run
  echo 0 > $svc/restart-min-interval
done

# NAME TOOL ARGS...: becomes ARGS under valgrind's TOOL, its output in NAME.out.
# Called in a subshell, ( ) or &, so that a background one's $! is its pid.
profile() {
  local name=$1 tool=$2
  shift 2
  case $tool in
    callgrind) exec valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$name.out" \
      "$@" >/dev/null 2>&1 ;;
    lackey) exec valgrind --tool=lackey --trace-mem=yes --log-file="$work/$name.out" \
      "$@" >/dev/null 2>&1 ;;
  esac
}
wait_for() {  # FILE TEXT: polls until FILE holds TEXT (valgrind is slow to start)
  for _ in $(seq 600); do grep -qs "$2" "$1" && return 0; sleep 0.05; done
  echo "symbol-order: $1 never held $2" >&2
  exit 1
}
run_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$1/supervise/status.json"; }

drive_supervise() {  # TOOL
  rm -rf solo/svc/supervise
  profile "supervise-$1" "$1" ./supervise solo/svc &
  local pid=$!
  started+=("$pid")
  wait_for solo/svc/supervise/status.json '"state":"up"'
  kill -KILL "$(run_pid solo/svc)"
  wait_for solo/svc/supervise/status.json '"restarts":1'
  SVKIT_SCANDIR=$work/solo ./svctl down svc
  wait_for solo/svc/supervise/status.json '"state":"down"'
  SVKIT_SCANDIR=$work/solo ./svctl up svc
  wait_for solo/svc/supervise/status.json '"state":"up"'
  kill -TERM "$pid"
  wait "$pid"
}
drive_supervise callgrind
drive_supervise lackey

profile svscan callgrind ./svscan scan &
started+=($!)
wait_for scan/a/supervise/status.json '"state":"up"'
wait_for scan/b/supervise/status.json '"state":"up"'
(profile svctl-list callgrind ./svctl stat)
(profile svctl-named callgrind ./svctl stat a b)
(profile svctl-wait callgrind ./svctl wait up -t 60000 a b)
kill -TERM "${started[-1]}"
wait "${started[-1]}"

# The binary's symbols, read once: address, size (when it has one), type, name.
nm -S --defined-only "$binary" > symbols.txt
# The data symbols (nm: d, b, v) whose bytes a lackey trace stores to, in the
# order of the first store.
written_data() {
  awk 'NF == 4 && $3 ~ /^[dDbBvV]$/ {print $1, $2, $4}' symbols.txt |
    python3 -c '
import bisect, sys
symbols = sorted((int(a, 16), int(size, 16), name) for a, size, name in (l.split() for l in sys.stdin))
starts = [s[0] for s in symbols]
seen = set()
for line in open(sys.argv[1]):
    if line[:3] not in (" S ", " M "):
        continue
    address = int(line[3:].split(",")[0], 16)
    i = bisect.bisect_right(starts, address) - 1
    if i >= 0 and address < symbols[i][0] + max(symbols[i][1], 1) and symbols[i][2] not in seen:
        seen.add(symbols[i][2])
        print(symbols[i][2])
' "$1"
}
# A profile's functions, in the order callgrind first names them.
functions() {
  grep -E '^c?fn=\([0-9]+\) ' "$1" | sed -E 's/^c?fn=\([0-9]+\) //' |
    grep -vE "^\(|^0x|'[0-9]+$" | awk '!seen[$0]++'
}
# What every start of a static program runs that callgrind does not name (the
# entry, the C runtime's, glibc's IFUNC resolvers), and supervise's way out.
startup() {
  printf '%s\n' _start _dl_relocate_static_pie _init _fini frame_dummy register_tm_clones \
    deregister_tm_clones __do_global_dtors_aux
  awk '$NF ~ /_ifunc$/ {print $NF}' symbols.txt
  awk '$NF ~ /Supervisor[0-9]+exit_now/ {print $NF}' symbols.txt
}
# callgrind's CPU picks other variants of glibc's string functions (avx2)
# than the machines svkit runs on (evex, avx512): name every variant of each.
variants() {
  local bases
  bases=$(sed -nE 's/^(__[a-z]+)_(avx|evex|sse|ssse|erms)[a-z0-9_]*$/\1/p' | sort -u | paste -sd '|')
  [ -n "$bases" ] || return 0
  awk '{print $NF}' symbols.txt | grep -E "^(${bases})_(avx|evex|sse|ssse|erms)" || true
}
{
  echo "# Generated by scripts/symbol-order.sh: the data supervise writes, then the"
  echo "# functions of supervise, svctl and svscan."
  written_data supervise-lackey.out
  { startup; functions supervise-callgrind.out; functions svctl-list.out
    functions svctl-named.out; functions svctl-wait.out; functions svscan.out; } |
    awk '!seen[$0]++' > functions.txt
  cat functions.txt
  variants < functions.txt | grep -vxFf functions.txt || true
} > "$out"
echo "symbol-order: $(grep -vc '^#' "$out") names in $out" >&2
