#!/usr/bin/env python3
"""Boot reconcile of N persisted profiles on tmpfs-backed folders (goal: under 1 s for 10,000).

Builds STATE/profiles/pNNNNN/{service/run, state.json} under /dev/shm with a realistic mix
(want up, want down, a `last` observation, stale runtime files and pid records, corrupt
state files), then times `reconcile` as svinit runs it at boot: a fresh empty scandir and
run dir (a new container instance) each time, the same state dir. The first run sweeps the
stale files; later runs have nothing left to sweep. No peers: s6 and runit have no
persisted-profile reconciler. Python 3.9+, standard library only.
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402  (shared helpers: machine(), now_ms())

GOAL_MS = 1000.0
GOAL_PROFILES = 10000
RUN = "#!/bin/sh\nexec sleep 100000\n"
STAMP = "2026-11-26T21:00:00Z"
BOOT_LOG_LIMIT = 256 * 1024  # reconcile rotates STATE/logs/boot.log past this (DESIGN.md)


def kind_of(i):
    """The profile mix, by index: deterministic, so every run builds the same state dir."""
    r = i % 100
    if r == 99:
        return "corrupt"       # 1 %: a truncated state.json
    if r < 15:
        return "down"          # 15 %
    return "up"                # 84 %


def has_last(i):
    return i % 20 == 3         # 5 %: a `last` observation from the previous instance


def has_runtime(i):
    return i % 50 == 7         # 2 %: runtime-files, a stale data/app.pid and a stale pid record


def make_state(state_dir, n):
    """Writes the profiles; returns what reconcile should find."""
    expect = collections.Counter()
    profiles = state_dir / "profiles"
    profiles.mkdir(parents=True)
    for i in range(n):
        p = profiles / f"p{i:05d}"
        svc = p / "service"
        svc.mkdir(parents=True)
        run = svc / "run"
        run.write_text(RUN)
        run.chmod(0o755)
        kind = kind_of(i)
        expect[kind] += 1
        if kind == "corrupt":
            (p / "state.json").write_text('{"schema":1,"want":"u')
        else:
            state = {"schema": 1, "want": kind, "updated_at": STAMP, "by": "svctl add"}
            if has_last(i):
                state["last"] = {"event": "started", "at": STAMP, "at_ms": 1, "pid": 42,
                                 "code": -1, "signal": 0, "instance": "old"}
                expect["unclean"] += 1
            (p / "state.json").write_text(json.dumps(state) + "\n")
        if has_runtime(i):
            (svc / "runtime-files").write_text("# left by the previous container\ndata/*.pid\n")
            (p / "data").mkdir()
            (p / "data" / "app.pid").write_text("42\n")
            (p / "pid").write_text('{"pid":42,"start_time":1,"instance":"old"}\n')
            expect["stale_files"] += 2
    return expect


def boot_log_state(state_dir):
    log = state_dir / "logs" / "boot.log"
    try:
        data = log.read_bytes()
    except FileNotFoundError:
        return 0, 0
    return len(data), data.count(b"\n")


def run_once(ctx, state_dir, k):
    """One boot: fresh scandir and run dir, the same state dir. Returns (ms, checks)."""
    scandir, rundir = ctx.tmp / f"scan-{k}", ctx.tmp / f"run-{k}"
    scandir.mkdir()
    size_before, lines_before = boot_log_state(state_dir)
    env = dict(os.environ, SVKIT_STATE_DIR=str(state_dir), SVKIT_SCANDIR=str(scandir),
               SVKIT_RUNDIR=str(rundir), SVKIT_LOG_DIR=str(ctx.tmp / "log"))
    with open(ctx.tmp / f"reconcile-{k}.err", "wb") as err:
        t0 = core.now_ms()
        rc = subprocess.run([str(ctx.libexec / "reconcile")], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err).returncode
        ms = core.now_ms() - t0
    # Checks, outside the timing.
    size_after, lines_after = boot_log_state(state_dir)
    rotated = size_before > BOOT_LOG_LIMIT
    new_lines = lines_after - (0 if rotated else lines_before)
    log_text = (state_dir / "logs" / "boot.log").read_text()
    new = log_text.splitlines()[-new_lines:] if new_lines > 0 else []
    fields = [dict(f.split("=", 1) for f in line.split(" ") if "=" in f) for line in new]
    slots = [e for e in os.listdir(scandir) if not e.startswith(".")]
    checks = {
        "rc": rc,
        "slots": len(slots),
        "staging_left": sum(1 for e in os.listdir(scandir) if e.startswith(".")),
        "down_files": sum(1 for s in slots if (scandir / s / "down").exists()),
        "new_log_lines": new_lines,
        "started": sum(1 for f in fields if f.get("action") == "started"),
        "registered": sum(1 for f in fields if f.get("action") == "registered"),
        "failed": sum(1 for f in fields if f.get("action") == "failed"),
        "corrupt": sum(1 for f in fields if f.get("prior_state") == "corrupt"),
        "unclean": sum(1 for f in fields if f.get("prior_exit") == "unclean"),
        "swept": sum(int(f.get("swept", 0)) for f in fields),
        "stderr_lines": (ctx.tmp / f"reconcile-{k}.err").read_text().count("\n"),
    }
    return ms, checks


def verify(checks, expect, n, first):
    """Problems found in one run's checks, as text."""
    problems = []
    want = {"rc": 0, "failed": 0, "staging_left": 0, "new_log_lines": n,
            "slots": n - checks["failed"], "started": expect["up"],
            "registered": expect["down"] + expect["corrupt"],
            "down_files": expect["down"] + expect["corrupt"], "corrupt": expect["corrupt"],
            "unclean": expect["unclean"], "swept": expect["stale_files"] if first else 0}
    for key, value in want.items():
        if checks[key] != value:
            problems.append(f"{key} {checks[key]} (expected {value})")
    return problems


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", type=int, default=GOAL_PROFILES, help="persisted profiles")
    ap.add_argument("--repeats", type=int, default=3, help="reconcile runs (median)")
    ap.add_argument("--build", default=str(core.REPO / "build"), help="meson build folder")
    ap.add_argument("--shm", default="/dev/shm", help="tmpfs folder for the state dir and scandirs")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    if args.profiles < 1 or args.repeats < 1:
        ap.error("--profiles and --repeats must be at least 1")
    return args


def main():
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="svkit-bench-reconcile-", dir=args.shm))
    ctx = core.Context(tmp, tmp / "libexec", False)
    ctx.libexec.mkdir()
    shutil.copy2(Path(args.build) / "svkit" / "svkit", ctx.libexec)
    (ctx.libexec / "reconcile").symlink_to("svkit")
    state_dir = tmp / "state"
    runs, problems = [], []
    try:
        t0 = time.monotonic()
        expect = make_state(state_dir, args.profiles)
        print(f"# {args.profiles} profiles written in {time.monotonic() - t0:.1f} s: "
              f"{expect['up']} up, {expect['down']} down, {expect['corrupt']} corrupt, "
              f"{expect['unclean']} with a `last` start, {expect['stale_files']} stale files",
              file=sys.stderr, flush=True)
        for k in range(args.repeats):
            ms, checks = run_once(ctx, state_dir, k)
            runs.append({"ms": ms, **checks})
            problems += [f"run {k + 1}: {p}" for p in verify(checks, expect, args.profiles, k == 0)]
            print(f"# run {k + 1}: {ms:.1f} ms", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    n = args.profiles
    first, median = runs[0]["ms"], statistics.median(r["ms"] for r in runs)
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(f"state dir on {args.shm} (tmpfs); {n} profiles: {expect['up']} want up, "
          f"{expect['down']} want down, {expect['corrupt']} corrupt state.json, "
          f"{expect['unclean']} with a `last` start of another instance, "
          f"{expect['stale_files'] // 2} with a stale data/app.pid + pid record\n")
    goal_ms = GOAL_MS * n / GOAL_PROFILES
    rows = [("first run (sweeps stale files)", first),
            (f"median of {len(runs)} runs", median)]
    print(f"{'figure':<56} {'ms':>9} {'µs/profile':>11}  {'goal':>16}")
    print("-" * 96)
    for label, ms in rows:
        verdict = "met" if ms < goal_ms else "MISSED"
        print(f"{'reconcile ' + str(n) + ' profiles, ' + label:<56} {ms:>9.1f} "
              f"{1000.0 * ms / n:>11.1f}  {'< %.0f ms' % goal_ms:>9} {verdict}")
    per_run = ", ".join(f"{r['ms']:.1f}" for r in runs)
    print(f"\nper run (ms): {per_run}")
    c = runs[0]
    print(f"checks, run 1: exit {c['rc']}, {c['slots']} slots ({c['down_files']} with down), "
          f"{c['new_log_lines']} new boot.log lines, {c['started']} started, "
          f"{c['registered']} registered, {c['failed']} failed, {c['swept']} files swept, "
          f"{c['stderr_lines']} stderr lines")
    print(f"goal: < {GOAL_MS:.0f} ms for {GOAL_PROFILES} profiles"
          + (f" (scaled: < {goal_ms:.0f} ms for {n})" if n != GOAL_PROFILES else ""))
    print("peers: none (s6 and runit have no persisted-profile reconciler)")
    print("verification: " + ("ok" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    if args.keep:
        print(f"kept: {tmp}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"settings": vars(args), "expect": expect, "runs": runs,
             "results": {"first_ms": first, "median_ms": median,
                         "first_us_per_profile": 1000.0 * first / n,
                         "median_us_per_profile": 1000.0 * median / n,
                         "goal_ms": goal_ms, "problems": problems}}, indent=1))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
