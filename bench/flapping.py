#!/usr/bin/env python3
"""Flapping load: N services each exiting 100 ms after start, svkit beside s6 in one run.

Both scan roots (svkit's `svscan`, `s6-svscan`) run at the same time over identical service
folders whose run script appends one byte to a per-supervisor counter file and then
`exec sleep 0.1`. svkit keeps its defaults (restart-min-interval 1 s doubling up to 60 s,
reset after 10 s of uptime): the point is that its backoff engages. Measured over --seconds:
the supervisors' own CPU (scan root + every per-service supervisor), their private memory
(sampled), service starts, starts per second at the end, zombies left, and the time each
takes to shut down on SIGTERM. Unprivileged; Python 3.9+, standard library only.
"""
import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402  (Tracker, Context, supervisors(), private_kib(), machine(), ...)

RUN_SCRIPT = "#!/bin/sh\nprintf x >> {count}\nexec sleep 0.1\n"
SVKIT_PROGRAMS = ("supervise", "svscan")
KINDS = ("svkit", "s6")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SHUTDOWN_TIMEOUT = 30.0


# Why the CPU figure is not read from /proc/PID/stat (issue 13). This kernel accounts CPU time by
# ticks (CONFIG_TICK_CPU_ACCOUNTING, HZ 250): the exact figure is sum_exec_runtime (ns), and the
# utime and stime that /proc/PID/stat shows are that total split in the ratio of the tick samples
# (cputime_adjust()), each half then rounded *down* to a whole 1/USER_HZ = 10 ms for every process
# separately. A supervise in backoff uses a few ms in 30 s: it starts the run with, say, 2 ms (0
# ticks) and ends it with 6 ms split 1 + 5 (still 0 + 0 ticks), so the delta of each of the 200
# supervisors is 0, and so is their sum: "utime+stime 0 ms" beside 820 ms on CPU. On a quiet
# machine the errors do not average out: the supervisors do identical work, so they sit at the
# same place below a tick (on a busy one their counters spread and the sum comes out roughly
# right, by luck; the bound is 20 ms per process either way, 4 s over 201 processes). The raw
# tick samples are no cure either: a burst shorter than a tick after an idle wakeup is rarely
# hit (NO_HZ), and they showed less than half the exact time for svkit (952 vs 2077 ms).
#
# So each process's CPU clock is read instead (clock_getcpuclockid(3) for another pid; Linux
# allows it for any process): CPUCLOCK_SCHED is sum_exec_runtime of the whole thread group in ns,
# exited threads included -- the kernel's utime+stime before the rounding. CPUCLOCK_PROF and
# CPUCLOCK_VIRT are the raw tick samples of utime+stime and utime; summed over every watched
# process they split the exact total into user and system time as the kernel itself would. The
# schedstat sum of the live threads (core.on_cpu_ns) is read too, as an independent check.
CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED = 0, 1, 2


def cpu_clock_ns(pid, which):
    """CPU clock `which` of process pid in ns (the clockid glibc's clock_getcpuclockid makes:
    (~pid << 3) | which); None when the process is gone."""
    try:
        return time.clock_gettime_ns((~pid << 3) | which)
    except OSError:
        return None


def cpu_sample(pid):
    """(starttime, exact ns, tick-sampled utime+stime ns, tick-sampled utime ns, on-CPU ns from
    schedstat, /proc/PID/stat utime+stime ticks, cutime+cstime ticks); None when gone. The
    /proc/PID/stat tick counts are kept for the JSON only (see above why they are not the figure)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # fields[0] is field 3 (state)
    clocks = [cpu_clock_ns(pid, c) for c in (CPUCLOCK_SCHED, CPUCLOCK_PROF, CPUCLOCK_VIRT)]
    on_cpu = core.on_cpu_ns(pid)
    if None in clocks or on_cpu is None:
        return None
    return (int(fields[19]), *clocks, on_cpu,
            int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))


class Family:
    """One scan root over N flapping services, with its counter file."""

    def __init__(self, ctx, kind, n):
        self.ctx, self.kind, self.n = ctx, kind, n
        self.sup = core.supervisors(ctx.libexec)[kind]  # scanner argv; not svkit's bench extra_files
        self.dir = ctx.tmp / kind
        self.scandir = self.dir / "scan"
        self.scandir.mkdir(parents=True)
        self.count = self.dir / "count"
        self.count.touch()
        for i in range(n):
            svc = self.scandir / f"s{i:04d}"
            svc.mkdir()
            (svc / "run").write_text(RUN_SCRIPT.format(count=self.count))
            (svc / "run").chmod(0o755)
        self.proc = None
        self.samples = []  # (t, mean KiB per supervisor, max KiB, scan root KiB)

    def start(self):
        env = dict(os.environ, SVKIT_SCANDIR=str(self.scandir), SVKIT_RUNDIR=str(self.dir / "run"),
                   SVKIT_LOG_DIR=str(self.dir / "log"), SVKIT_STATE_DIR=str(self.dir / "state"),
                   SVKIT_LIBEXEC=str(self.ctx.libexec))
        log = open(self.dir / "scanner.log", "wb")
        self.proc = subprocess.Popen(self.sup.scanner(str(self.scandir), self.n), env=env,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        core.TRACK.add(self.proc.pid, "scanner", self.kind)
        self.ctx.popens.append(self.proc)

    def supervisors(self):
        return core.children(self.proc.pid, self.sup.per_service)

    def starts(self):
        return self.count.stat().st_size

    def wait_up(self, timeout=120.0):
        """Until every per-service supervisor runs and every service has started once
        (setup only: polled with a deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            sups = self.supervisors()
            if len(sups) >= self.n and self.starts() >= self.n:
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind}: {len(sups)} of {self.n} {self.sup.per_service}, "
                                   f"{self.starts()} starts after {timeout:.0f} s")
            time.sleep(0.05)
        for pid in sups:
            core.TRACK.add(pid, "supervisor", self.kind)
        self.watched = [self.proc.pid] + sups  # they live the whole run

    def cpu(self):
        """{pid: cpu_sample(pid)} of the watched set."""
        out = {}
        for pid in self.watched:
            t = cpu_sample(pid)
            if t:
                out[pid] = t
        return out

    def sample_memory(self, t):
        kib = []
        for pid in self.supervisors():
            try:
                kib.append(core.private_kib(pid))
            except OSError:
                pass
        try:
            root = core.private_kib(self.proc.pid)
        except OSError:
            root = 0
        if kib:
            self.samples.append((t, sum(kib) / len(kib), max(kib), root))

    def zombies(self):
        """{(pid, starttime)} of zombies whose parent is the scan root or a supervisor."""
        parents = set(self.watched)
        return {(p, st[2]) for p, st in core.process_table().items()
                if st[0] == "Z" and st[1] in parents}


def cpu_delta(before, after):
    """Deltas summed over the processes alive at both ends (same start time), in ms:
    {"exact", "system", "on_cpu", "proc_stat", "children_proc_stat"}, and the pids that vanished
    or were replaced meanwhile (not counted)."""
    d = [0] * 6
    lost = []
    for pid, b in before.items():
        a = after.get(pid)
        if not a or not b or a[0] != b[0]:
            lost.append(pid)
            continue
        for i in range(6):
            d[i] += a[i + 1] - b[i + 1]
    exact, prof, virt, on_cpu, ticks, kid_ticks = d
    # The kernel's own split (cputime_adjust), over the whole set: system = exact x stime samples
    # / all samples. No sample at all (a few ms in total): all user time, as the kernel says too.
    system = exact * (prof - virt) / prof if prof > 0 else 0
    tick_ms = 1000.0 / CLK_TCK
    return {"exact": exact / 1e6, "system": system / 1e6, "on_cpu": on_cpu / 1e6,
            "proc_stat": ticks * tick_ms, "children_proc_stat": kid_ticks * tick_ms}, lost


def run(ctx, args, fams):
    for f in fams:
        f.start()
    for f in fams:
        f.wait_up()
    window = min(10.0, args.seconds / 2)
    t_start = time.monotonic()
    cpu0 = {f.kind: f.cpu() for f in fams}
    starts0 = {f.kind: f.starts() for f in fams}
    for f in fams:
        f.sample_memory(0.0)
    # The schedule: a memory sample every --sample-seconds, the counters at end - window.
    events, at = [(args.seconds - window, "mark")], args.sample_seconds
    while at < args.seconds:
        events.append((at, "mem"))
        at += args.sample_seconds
    marks = {}
    for at, what in sorted(events):
        time.sleep(max(0.0, t_start + at - time.monotonic()))  # the measurement's duration
        if what == "mem":
            for f in fams:
                f.sample_memory(time.monotonic() - t_start)
        else:
            marks = {f.kind: (time.monotonic(), f.starts()) for f in fams}
    time.sleep(max(0.0, t_start + args.seconds - time.monotonic()))
    t_end = time.monotonic()
    cpu1 = {f.kind: f.cpu() for f in fams}
    ends = {f.kind: (time.monotonic(), f.starts()) for f in fams}
    for f in fams:
        f.sample_memory(t_end - t_start)
    # Zombies: those present in three samples over a second (a zombie being reaped right now
    # is not "left").
    zombies = {f.kind: f.zombies() for f in fams}
    transient = {k: len(v) for k, v in zombies.items()}
    for _ in range(2):
        time.sleep(0.5)
        for f in fams:
            z = f.zombies()
            transient[f.kind] = max(transient[f.kind], len(z))
            zombies[f.kind] &= z
    out = {}
    elapsed = t_end - t_start
    for f in fams:
        cpu, lost = cpu_delta(cpu0[f.kind], cpu1[f.kind])
        root = cpu_delta({f.proc.pid: cpu0[f.kind].get(f.proc.pid)},
                         {f.proc.pid: cpu1[f.kind].get(f.proc.pid)})[0]
        (tm, cm), (te, ce) = marks[f.kind], ends[f.kind]
        s = f.samples
        out[f.kind] = {
            "starts": ends[f.kind][1],
            "restarts": ends[f.kind][1] - f.n,
            "starts_measured": ends[f.kind][1] - starts0[f.kind],
            "starts_per_s_end": (ce - cm) / (te - tm),
            "cpu_ms": cpu["exact"],
            "cpu_sys_ms": cpu["system"],
            "cpu_root_ms": root["exact"],
            "cpu_pct": 100.0 * cpu["exact"] / 1000.0 / elapsed,
            "on_cpu_ms": cpu["on_cpu"],
            # JSON only: what /proc/PID/stat's fields 14+15 (and 16+17: the services the
            # supervisors reaped) add up to, 10 ms per process and field, rounded down.
            "cpu_proc_stat_ticks_ms": cpu["proc_stat"],
            "services_cpu_proc_stat_ticks_ms": cpu["children_proc_stat"],
            "mem_first_mean": s[0][1],
            "mem_last_mean": s[-1][1],
            "mem_max_mean": max(x[1] for x in s),
            "mem_max_max": max(x[2] for x in s),
            "mem_root_first": s[0][3],
            "mem_root_max": max(x[3] for x in s),
            "zombies": len(zombies[f.kind]),
            "zombies_transient_max": transient[f.kind],
            "lost_processes": len(lost),
            "memory_samples": [list(x) for x in s],
        }
    out["_elapsed_s"] = elapsed
    out["_window_s"] = window
    shutdown(fams, out)
    return out


def shutdown(fams, out):
    """SIGTERM to both scan roots at once; per family, until every one of its processes
    (scan root, supervisors, services running at that moment) has exited (pidfds)."""
    poller, owner = select.poll(), {}
    for f in fams:
        for pid in [f.proc.pid] + sorted(core.descendants([f.proc.pid])):
            core.TRACK.add(pid, "service" if pid not in f.watched else "supervisor", f.kind)
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            owner[fd] = f.kind
            poller.register(fd, select.POLLIN)
    left = {f.kind: sum(1 for k in owner.values() if k == f.kind) for f in fams}
    last = {}
    t0 = core.now_ms()
    for f in fams:
        f.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    while any(left.values()):
        remaining = deadline - time.monotonic()
        events = poller.poll(remaining * 1000) if remaining > 0 else []
        if not events:
            break
        t = core.now_ms()
        for fd, _ in events:
            poller.unregister(fd)
            kind = owner.pop(fd)
            os.close(fd)
            left[kind] -= 1
            if left[kind] == 0:
                last[kind] = t - t0
    for fd in owner:
        os.close(fd)
    for f in fams:
        out[f.kind]["shutdown_ms"] = last.get(
            f.kind, f"{left[f.kind]} processes left after {SHUTDOWN_TIMEOUT:.0f} s")
    out["_shutdown_both_ms"] = (max(last.values()) if len(last) == len(fams)
                                else f"not done after {SHUTDOWN_TIMEOUT:.0f} s")


ROWS = [  # key, label, unit, format
    ("starts", "service starts in the run", "count", "{:,.0f}"),
    ("restarts", "restarts (starts - services)", "count", "{:,.0f}"),
    ("starts_per_s_end", "service starts per second, last {window:g} s", "1/s", "{:.1f}"),
    ("cpu_ms", "supervisors' CPU, utime+stime, {seconds:g} s", "ms", "{:,.1f}"),
    ("cpu_pct", "  the same, % of one core", "%", "{:.2f}"),
    ("cpu_sys_ms", "  of which system time", "ms", "{:,.1f}"),
    ("cpu_root_ms", "  of which the scan root", "ms", "{:,.1f}"),
    ("on_cpu_ms", "supervisors' on-CPU time (schedstat)", "ms", "{:,.1f}"),
    ("mem_first_mean", "private memory per supervisor, first sample", "KiB", "{:,.0f}"),
    ("mem_last_mean", "private memory per supervisor, last sample", "KiB", "{:,.0f}"),
    ("mem_max_mean", "private memory per supervisor, max of mean", "KiB", "{:,.0f}"),
    ("mem_max_max", "private memory per supervisor, max of max", "KiB", "{:,.0f}"),
    ("mem_root_first", "private memory of the scan root, first", "KiB", "{:,.0f}"),
    ("mem_root_max", "private memory of the scan root, max", "KiB", "{:,.0f}"),
    ("zombies", "zombies left (in 3 samples over 1 s)", "count", "{:,.0f}"),
    ("zombies_transient_max", "  zombies seen in any one sample", "count", "{:,.0f}"),
    ("shutdown_ms", "shutdown: SIGTERM -> all its processes gone", "ms", "{:,.1f}"),
]


def report(out, args):
    kinds = [k for k in KINDS if k in out]  # svkit first: the ratio is svkit/s6
    fmt = {"window": out["_window_s"], "seconds": args.seconds}
    head = f"{'figure':<50} {'unit':<6}" + "".join(f" {k:>12}" for k in kinds)
    if len(kinds) == 2:
        head += f" {'svkit/s6':>9}"
    lines = [head, "-" * len(head)]
    for key, label, unit, form in ROWS:
        cells, values = [], []
        for k in kinds:
            v = out[k][key]
            values.append(v)
            cells.append(form.format(v) if isinstance(v, (int, float)) else str(v))
        line = f"{label.format(**fmt):<50} {unit:<6}" + "".join(f" {c:>12}" for c in cells)
        if len(kinds) == 2 and all(isinstance(v, (int, float)) for v in values):
            a, b = values
            line += f" {a / b:>9.3g}" if b else f" {'-' if a == 0 else 'inf':>9}"
        lines.append(line)
    both = out["_shutdown_both_ms"]
    lines.append(f"\nshutdown of both (SIGTERM to both scan roots at once -> all gone): "
                 + (f"{both:,.1f} ms" if isinstance(both, (int, float)) else both))
    for k in kinds:
        if out[k]["lost_processes"]:
            lines.append(f"WARNING: {k}: {out[k]['lost_processes']} watched processes died or were "
                         "replaced during the run; their CPU is not counted")
    if "svkit" in out:
        s = out["svkit"]
        goals = [f"0 zombies: {'met' if s['zombies'] == 0 else 'MISSED'} ({s['zombies']})",
                 f"memory flat: per supervisor, mean {s['mem_first_mean']:.0f} KiB first, "
                 f"{s['mem_max_mean']:.0f} max, {s['mem_last_mean']:.0f} last; "
                 f"scan root {s['mem_root_first']:.0f} -> {s['mem_root_max']:.0f} KiB max"]
        o = out.get("s6")
        if o and o["on_cpu_ms"] and o["cpu_ms"]:
            r, rt = s["on_cpu_ms"] / o["on_cpu_ms"], s["cpu_ms"] / o["cpu_ms"]
            goals.insert(0, f"CPU well below s6's (backoff): svkit/s6 = {r:.2f} on-CPU time, "
                            f"{rt:.2f} utime+stime -> {'met' if r < 0.5 else 'MISSED'} "
                            "(met when svkit's on-CPU time is below half of s6's)")
        lines.append("goals (svkit):\n  " + "\n  ".join(goals))
    return "\n".join(lines)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=200, help="flapping services per supervisor")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured duration")
    ap.add_argument("--sample-seconds", type=float, default=5.0, help="memory sampling interval")
    ap.add_argument("--supervisors", default="svkit,s6", help="comma list of svkit,s6")
    ap.add_argument("--build", default=str(core.REPO / "build"), help="meson build folder")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = ap.parse_args()
    args.supervisors = [s for s in args.supervisors.split(",") if s]
    if any(s not in KINDS for s in args.supervisors):
        ap.error("--supervisors: svkit and/or s6")
    if args.services < 1 or args.seconds < 2 or args.sample_seconds < 1:
        ap.error("--services >= 1, --seconds >= 2, --sample-seconds >= 1")
    return args


def prepare(args):
    core.install_peers(args.supervisors, ("s6",))
    return core.make_workspace(args.build, SVKIT_PROGRAMS, "svkit-bench-flapping-", 8 * args.services + 256)


def main():
    args = parse_args()
    ctx = prepare(args)
    core.become_subreaper()
    out, error, interrupted = None, None, None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        fams = [Family(ctx, k, args.services) for k in args.supervisors]
        out = run(ctx, args, fams)
    except (KeyboardInterrupt, SystemExit) as e:
        interrupted = 130 if isinstance(e, KeyboardInterrupt) else e.code
    except (RuntimeError, OSError) as e:
        error = str(e)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.cleanup()
        left = core.TRACK.living() + sorted(core.descendants([os.getpid()]))
        if not args.keep:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(f"{args.services} services per supervisor, run: printf x >> COUNT; exec sleep 0.1; "
          "svkit with its default backoff, s6-svscan with its defaults\n")
    if out:
        print(report(out, args))
    if error:
        print(f"ERROR: {error}")
    if left:
        print(f"WARNING: still alive after cleanup: {left}")
    if args.keep:
        print(f"kept: {ctx.tmp}")
    if args.json and out:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "results": out}, indent=1))
    if interrupted is not None:
        print("INTERRUPTED: partial results")
        sys.exit(interrupted)
    if error:
        sys.exit(1)


if __name__ == "__main__":
    main()
