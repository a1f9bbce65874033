#!/usr/bin/env python3
"""Chaos: N persisted profiles under svinit, K random SIGKILLs over services, supervise processes
and svscan; then a shutdown. Prints what must all be zero or small.

svinit runs as an ordinary child subreaper (not PID 1) with reconcile as its cont-init hook, so a
killed svscan is started again by svinit as it would be in a container. Each service is
`exec sleep <unique number>`, so its instances are counted from /proc. Figures:

  duplicates          most services seen running twice (or more) at one time, sampled after kills
  leftovers           processes of the tree alive after svinit's SIGTERM shutdown
  back after (s)      from the last kill until every service runs exactly once again
  torn state files    state.json files that do not parse at the end
  refused spawns/s    "already supervised" refusals per second of the run

Goal (issue 10): 0 duplicates, 0 leftovers, 0 torn files, 0 refused spawns, all back within 2 s
of the last kill, at 1,000 kills. Unprivileged; Python 3.9+, standard library only.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402

PROGRAMS = ("supervise", "svscan", "svctl", "svinit",
            "reconcile")
MARK = 900000  # sleep MARK+i is service i


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=50)
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--interval-ms", type=float, default=20.0, help="pause between two kills")
    ap.add_argument("--weights", default="60,35,5", help="percent of kills on services,supervise,svscan")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build", default=str(core.REPO / "build"))
    ap.add_argument("--json", help="also write the results to this file")
    return ap.parse_args()


def tree(root):
    """(role, pid) of every live process below `root`: svscan, supervise, or the service index."""
    table = core.process_table()
    below = core.descendants([root])
    out = []
    for pid in below:
        st = table.get(pid)
        if not st or st[0] == "Z":
            continue
        if st[3] in ("svscan", "supervise"):
            out.append((st[3], pid))
        elif st[3] == "sleep":
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                n = int(args[1]) - MARK
            except (OSError, ValueError, IndexError):
                continue
            out.append((n, pid))
    return out


def instances(root, n):
    counts = [0] * n
    for role, _ in tree(root):
        if isinstance(role, int) and 0 <= role < n:
            counts[role] += 1
    return counts


def main():
    args = parse_args()
    weights = [int(w) for w in args.weights.split(",")]
    rng = random.Random(args.seed)
    ctx = core.make_workspace(args.build, PROGRAMS, "svkit-chaos-", 8 * args.services + 256)
    core.become_subreaper()
    base = ctx.tmp
    state = base / "state"
    for i in range(args.services):
        svc = state / "profiles" / f"p{i:03d}" / "service"
        svc.mkdir(parents=True)
        (svc / "run").write_text(f"#!/bin/sh\nexec sleep {MARK + i}\n")
        (svc / "run").chmod(0o755)
        (svc / "restart-min-interval").write_text("0")
        (state / "profiles" / f"p{i:03d}" / "state.json").write_text(json.dumps(
            {"schema": 1, "want": "up", "updated_at": "2026-11-29T00:00:00Z", "by": "bench"}))
    hooks = base / "cont-init.d"
    hooks.mkdir()
    (hooks / "10-reconcile").write_text(f"#!/bin/sh\nexec {ctx.libexec}/reconcile > /dev/null\n")
    (hooks / "10-reconcile").chmod(0o755)
    env = dict(os.environ, SVKIT_SCANDIR=str(base / "service"), SVKIT_RUNDIR=str(base / "run"),
               SVKIT_LOG_DIR=str(base / "log"), SVKIT_STATE_DIR=str(state),
               SVKIT_LIBEXEC=str(ctx.libexec), SVKIT_SERVICES_DIR=str(base / "none"),
               SVKIT_CONT_INIT_DIR=str(hooks), SVKIT_SERVICES_GRACETIME="10000")
    log_path = base / "svinit.log"
    log = open(log_path, "wb")
    init = subprocess.Popen([str(ctx.libexec / "svinit")], env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    n = args.services
    results = {}
    try:
        deadline = time.monotonic() + 30
        while instances(init.pid, n) != [1] * n:
            if time.monotonic() > deadline:
                raise TimeoutError("the services never all came up")
            time.sleep(0.02)
        started = time.monotonic()
        most_duplicates = 0
        kinds = ("service", "supervise", "svscan")
        killed = dict.fromkeys(kinds, 0)
        for k in range(args.kills):
            kind = rng.choices(kinds, weights)[0]
            procs = tree(init.pid)
            pool = [p for r, p in procs if (isinstance(r, int) if kind == "service" else r == kind)]
            if pool:
                pid = rng.choice(pool)
                core.TRACK.add(pid, kind, "chaos")
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed[kind] += 1
                except ProcessLookupError:
                    pass
            if k % 10 == 0:
                counts = instances(init.pid, n)
                most_duplicates = max(most_duplicates, sum(1 for c in counts if c > 1))
            time.sleep(args.interval_ms / 1000)
        last_kill = time.monotonic()
        while True:
            counts = instances(init.pid, n)
            most_duplicates = max(most_duplicates, sum(1 for c in counts if c > 1))
            if counts == [1] * n:
                break
            if time.monotonic() - last_kill > 60:
                break
            time.sleep(0.005)
        back_after = time.monotonic() - last_kill
        ran_for = time.monotonic() - started
        everything = [p for _, p in tree(init.pid)]
        for pid in everything:
            core.TRACK.add(pid, "tree", "chaos")
        init.send_signal(signal.SIGTERM)
        code = init.wait(60)
        time.sleep(0.2)  # let the last exits of a tree that was told to stop land
        leftovers = [p for p in everything if core.TRACK.alive(p)]
        torn = 0
        for f in (state / "profiles").glob("*/state.json"):
            try:
                json.loads(f.read_text())
            except ValueError:
                torn += 1
        text = log_path.read_text(errors="replace")
        refused = text.count("already supervised")
        results = {
            "services": n, "kills": killed, "duplicates": most_duplicates,
            "leftovers": len(leftovers), "back_after_s": round(back_after, 3),
            "torn_state_files": torn, "refused_spawns_per_s": round(refused / ran_for, 3),
            "svinit_exit": code, "all_back": counts == [1] * n,
        }
    finally:
        if init.poll() is None:
            init.kill()
            init.wait()
        core.TRACK.kill_leftovers("chaos")
        for pid in core.descendants([os.getpid()]):
            core.kill_and_wait(pid, lambda: True)
        core.reap_children()
        log.close()
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}\n")
    rows = [("services", n), ("kills (service/supervise/svscan)",
                              "/".join(str(results["kills"][k]) for k in ("service", "supervise", "svscan"))),
            ("duplicates (goal 0)", results["duplicates"]),
            ("leftovers after shutdown (goal 0)", results["leftovers"]),
            ("seconds until all back after the last kill (goal < 2)", results["back_after_s"]),
            ("torn state files (goal 0)", results["torn_state_files"]),
            ("refused spawns per second (goal 0)", results["refused_spawns_per_s"]),
            ("svinit exit code after SIGTERM", results["svinit_exit"])]
    for label, value in rows:
        print(f"{label:<56} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    import shutil
    shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
