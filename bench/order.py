#!/usr/bin/env python3
"""Start order that waits for readiness (issue 11): a dependency graph of services, svkit beside s6.

L levels of W services (default 10 x 20 = 200); each service of level k > 0 depends on 2 or 3
services of level k-1 (a fixed pseudo-random choice, --seed). Every service becomes ready a
fixed delay after its run starts (`sleep DELAY`, then its readiness), so the critical path's
own readiness time is L x DELAY. Four setups, each timed from the spawn of its root process
(svinit, or s6-svscan) until the last service is ready, and for svinit until CMD starts:

  svkit-deps-fd     svinit; dependencies.d; readiness on notification-fd
  svkit-deps-check  svinit; dependencies.d; readiness by a ready-check (ready-check-interval 20)
  svkit-svctl-fd    svinit; no dependencies.d: `svctl wait ready DEP... -t 60000` on top of run
  s6-svwait-fd      s6-svscan; `s6-svwait -U -t 60000 DEPDIR...` on top of run; notification-fd

Every run script reports on one FIFO the bench holds open: `S NAME PID` when the service
itself starts (after any wait), `R NAME PID` just before it signals readiness, and CMD says
`C`. The bench timestamps the lines as they arrive (no sleeping) and checks the order: no
service may start before each of its dependencies said R.

"No polling": a second svinit boot of the graph whose first level-0 service waits on a FIFO
the bench holds before it gets ready; its dependents (and theirs) stay waiting. The context
switches of their supervise processes (and of svinit, svscan and every supervise), sampled
twice --idle-seconds apart while nothing changes, should not move: goal 0.

Unprivileged (svinit runs as an ordinary child, not PID 1), everything in a fresh temporary
folder, private copies of svkit's programs. Python 3.9+, standard library only.
"""
import argparse
import json
import math
import os
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402  (Tracker, Fifo, Context, machine(), now_ms(), ...)

SVKIT_PROGRAMS = ("supervise", "svscan", "svctl", "svinit")
SETUPS = {  # name -> (label, root)
    "svkit-deps-fd": ("svkit dependencies.d, notification-fd", "svinit"),
    "svkit-deps-check": ("svkit dependencies.d, ready-check {interval} ms", "svinit"),
    "svkit-svctl-fd": ("svkit svctl wait ready in run, notification-fd", "svinit"),
    "s6-svwait-fd": ("s6 s6-svwait -U in run, notification-fd", "s6-svscan"),
}
STOP_TIMEOUT = 30.0    # s: svinit's stage 3 / s6-svscan's shutdown
WAIT_MS = 60000        # the run scripts' own wait limit (svctl -t, s6-svwait -t)

# The run scripts. {wait} is the setup's wait for the dependencies (empty for dependencies.d),
# {gate} holds a service before readiness in the idle test, {ready} signals readiness.
RUN = """#!/bin/sh
{wait}echo "S {name} $$" > {fifo}
{gate}sleep {delay}
echo "R {name} $$" > {fifo}
{ready}exec sleep 100000
"""
READY_FD = "echo >&3\nexec 3>&-\n"
READY_MARKER = ": > {markers}/{name}\n"
READY_CHECK = "#!/bin/sh\n[ -e {markers}/{name} ]\n"
WAIT_SVCTL = """{svctl} wait ready -t {wait_ms} {deps} || {{ echo "F {name} $?" > {fifo}; exit 1; }}
"""
# s6-svwait exits 111 at once when a dependency has no status file and event fifodir yet (made
# by its s6-supervise, which s6-svscan may not have started yet): the bench prepares both before
# the boot (Round.prepare_s6), so the script never meets that race.
WAIT_S6 = """s6-svwait -U -t {wait_ms} {depdirs} || {{ echo "F {name} $?" > {fifo}; exit 1; }}
"""
CMD = 'echo "C cmd $$" > {fifo}; exec sleep 100000'


# ---------------------------------------------------------------- the graph

def make_graph(levels, width, seed):
    """[[names of level 0], ...], {name: [dependencies]}: deterministic for a seed."""
    rng = random.Random(seed)
    names = [[f"l{k:02d}s{i:02d}" for i in range(width)] for k in range(levels)]
    deps = {n: [] for n in names[0]}
    for k in range(1, levels):
        for n in names[k]:
            deps[n] = sorted(rng.sample(names[k - 1], min(width, rng.choice((2, 3)))))
    return names, deps


def dependents_closure(deps, root):
    """Every service that depends on root, directly or not."""
    out, changed = set(), True
    while changed:
        changed = False
        for n, ds in deps.items():
            if n not in out and any(d == root or d in out for d in ds):
                out.add(n)
                changed = True
    return out


# ---------------------------------------------------------------- the FIFO of events

class Events(core.Fifo):
    """Lines `KIND NAME PID|RC`, each with the time (ms) it arrived."""

    def __init__(self, path, owner):
        super().__init__(path, owner)
        self.events = []  # (t_ms, kind, name, number)

    def wait_until(self, done, timeout, watch_pid_fd=None, what="the services"):
        """Reads lines until done(self) is true; raises when the root process exits first or
        the time is up."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        if watch_pid_fd is not None:
            poller.register(watch_pid_fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while not done(self):
            left = deadline - time.monotonic()
            ready = poller.poll(max(0.0, left) * 1000) if left > 0 else []
            if not ready:
                raise TimeoutError(f"{what}: not done in {timeout:g} s ({self.summary()})")
            t = core.now_ms()
            if any(fd == self.fd for fd, _ in ready):
                try:
                    self.buf += os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    pass
                *full, self.buf = self.buf.split(b"\n")
                for line in full:
                    kind, name, number = line.decode().split()
                    self.events.append((t, kind, name, int(number)))
                    if kind in "SRC":
                        core.TRACK.add(int(number), "service", self.owner)
            elif not done(self):
                raise RuntimeError(f"{what}: the root process exited ({self.summary()})")

    def count(self, kind):
        return sum(1 for e in self.events if e[1] == kind)

    def summary(self):
        return ", ".join(f"{self.count(k)} {k}" for k in "SRCF")


def check_order(events, deps):
    """Services whose S line came before the R line of one of their dependencies."""
    seen_ready, bad = set(), []
    for _, kind, name, _ in events:
        if kind == "R":
            seen_ready.add(name)
        elif kind == "S" and any(d not in seen_ready for d in deps[name]):
            bad.append(name)
    return bad


def cpu_busy_ns():
    """(busy, total) CPU time of the whole machine so far, from /proc/stat's first line (ns)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    tick = 1e9 / os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])       # guest time is already in user
    return (total - idle) * tick, total * tick


SUPERVISOR_COMMS = {"svinit", "svscan", "supervise", "s6-svscan", "s6-supervise"}


# ---------------------------------------------------------------- one bring-up

class Round:
    """One bring-up of the graph under one setup, in its own folder."""

    def __init__(self, ctx, args, setup, names, deps, tag, gate=None):
        self.ctx, self.args, self.setup, self.deps = ctx, args, setup, deps
        self.all = [n for level in names for n in level]
        self.root_kind = SETUPS[setup][1]
        self.dir = ctx.tmp / tag
        self.dir.mkdir()
        self.fifo = Events(self.dir / "events.fifo", tag)
        self.services = self.dir / ("services" if self.root_kind == "svinit" else "scan")
        self.scandir = self.dir / "scan"
        (self.dir / "markers").mkdir()
        self.gate_path = None
        if gate:
            self.gate_path = self.dir / "gate.fifo"
            os.mkfifo(self.gate_path)
            self.gate_fd = os.open(self.gate_path, os.O_RDWR)  # the gated `read` blocks on data
        for name in self.all:
            self.make_service(name, gate == name)
            if self.root_kind == "s6-svscan":
                self.prepare_s6(self.services / name)
        self.proc, self.pidfd = None, None

    def prepare_s6(self, d):
        """What s6-svwait reads before the service's s6-supervise runs: the event fifodir
        (s6-mkfifodir's mode) and a status file saying down (written by s6-supervise itself,
        for a template service with a `down` file: Context.s6_down_status)."""
        (d / "event").mkdir()
        os.chmod(d / "event", 0o3730)
        (d / "supervise").mkdir(mode=0o700)
        (d / "supervise" / "status").write_bytes(self.ctx.s6_down_status)

    def make_service(self, name, gated):
        a, d = self.args, self.services / name
        d.mkdir(parents=True)
        deps = self.deps[name]
        fifo, markers = self.dir / "events.fifo", self.dir / "markers"
        wait = ""
        if deps and self.setup == "svkit-svctl-fd":
            wait = WAIT_SVCTL.format(svctl=self.ctx.libexec / "svctl", wait_ms=WAIT_MS,
                                     deps=" ".join(deps), name=name, fifo=fifo)
        elif deps and self.setup == "s6-svwait-fd":
            wait = WAIT_S6.format(depdirs=" ".join(str(self.scandir / x) for x in deps),
                                  wait_ms=WAIT_MS, name=name, fifo=fifo)
        if self.setup.startswith("svkit-deps"):
            (d / "dependencies.d").mkdir()
            for x in deps:
                (d / "dependencies.d" / x).write_text("")
        if self.setup == "svkit-deps-check":
            ready = READY_MARKER.format(markers=markers, name=name)
            (d / "ready-check").write_text(READY_CHECK.format(markers=markers, name=name))
            (d / "ready-check").chmod(0o755)
            (d / "ready-check-interval").write_text(f"{a.ready_check_interval}\n")
        else:
            ready = READY_FD
            (d / "notification-fd").write_text("3\n")
        gate = f"read _ < {self.gate_path}\n" if gated else ""
        (d / "run").write_text(RUN.format(wait=wait, name=name, fifo=fifo, gate=gate,
                                          delay=a.delay_ms / 1000, ready=ready))
        (d / "run").chmod(0o755)

    def env(self):
        return dict(os.environ, SVKIT_SCANDIR=str(self.scandir), SVKIT_RUNDIR=str(self.dir / "run"),
                    SVKIT_LOG_DIR=str(self.dir / "log"), SVKIT_STATE_DIR=str(self.dir / "state"),
                    SVKIT_SERVICES_DIR=str(self.services),
                    SVKIT_CONT_INIT_DIR=str(self.dir / "cont-init.d"),
                    SVKIT_S6RC_DIRS=str(self.dir / "no-s6-rc.d"),  # never the host's /etc
                    SVKIT_LIBEXEC=str(self.ctx.libexec), SVKIT_CONSOLE="off",
                    SVKIT_SERVICES_GRACETIME="10000")

    def start(self):
        if self.root_kind == "svinit":
            (self.dir / "cont-init.d").mkdir()
            cmd = CMD.format(fifo=self.dir / "events.fifo")
            argv, env = [str(self.ctx.libexec / "svinit"), "--", "/bin/sh", "-c", cmd], self.env()
        else:
            n = len(self.all)
            argv, env = [shutil.which("s6-svscan"), "-c", str(max(1000, 2 * n + 16)),
                         str(self.scandir)], dict(os.environ)
        log = open(self.dir / "root.log", "wb")
        self.busy0 = cpu_busy_ns()
        self.t0 = core.now_ms()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.pidfd = os.pidfd_open(self.proc.pid)
        core.TRACK.add(self.proc.pid, "scanner", self.dir.name)
        self.ctx.popens.append(self.proc)
        return self

    def wait(self, ready, cmd):
        """Until `ready` R lines (and the C line when cmd)."""
        self.fifo.wait_until(lambda f: f.count("R") >= ready and (not cmd or f.count("C")),
                             self.args.round_timeout, self.pidfd, self.setup)
        busy1 = cpu_busy_ns()
        self.busy_cores = (busy1[0] - self.busy0[0]) / (busy1[1] - self.busy0[1]) * os.cpu_count()
        table = core.process_table()
        sup = [p for p in core.descendants([self.proc.pid]) if table.get(p, ("",) * 4)[3] in SUPERVISOR_COMMS]
        self.cpu_by_comm = {}
        for p in sup + [self.proc.pid]:
            comm = table.get(p, ("",) * 4)[3] or self.root_kind
            self.cpu_by_comm[comm] = self.cpu_by_comm.get(comm, 0) + (core.on_cpu_ns(p) or 0) / 1e6
        self.supervisors_cpu_ms = sum(self.cpu_by_comm.values())

    def log_tail(self, n=600):
        try:
            return (self.dir / "root.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def figures(self):
        ev = self.fifo.events
        first = {}
        for t, kind, name, _ in ev:
            first.setdefault((kind, name), t)
        starts = [t for (k, _), t in first.items() if k == "S"]
        readies = [t for (k, _), t in first.items() if k == "R"]
        out = {"ready_ms": max(readies) - self.t0, "first_start_ms": min(starts) - self.t0,
               "order_violations": len(check_order(ev, self.deps)),
               "failed_waits": self.fifo.count("F"),
               "failed_wait_codes": sorted({e[3] for e in ev if e[1] == "F"}),
               "starts": self.fifo.count("S"), "busy_cores": self.busy_cores,
               "supervisors_cpu_ms": self.supervisors_cpu_ms, "cpu_ms_by_program": self.cpu_by_comm}
        level = lambda name: int(name[1:3])  # noqa: E731  (names are lKKsII)
        for kind, key in (("S", "level_first_start_ms"), ("S", "level_last_start_ms"),
                          ("R", "level_last_ready_ms")):
            pick = min if key == "level_first_start_ms" else max
            by = {}
            for (k, name), t in first.items():
                if k == kind:
                    by.setdefault(level(name), []).append(t - self.t0)
            out[key] = [round(pick(by[k]), 1) if k in by else None for k in range(self.args.levels)]
        out["level0_ms"] = out["level_last_ready_ms"][0]
        if self.args.levels > 1:
            out["step_ms"] = (out["ready_ms"] - out["level0_ms"]) / (self.args.levels - 1)
        cmd = [t for t, k, _, _ in ev if k == "C"]
        if cmd:
            out["cmd_ms"] = cmd[0] - self.t0
            out["cmd_after_last_ready_ms"] = cmd[0] - max(readies)
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            for pid in core.descendants([self.proc.pid]):
                core.TRACK.add(pid, "service", self.dir.name)
            core.terminate(self.proc, STOP_TIMEOUT)
        core.TRACK.kill_leftovers(self.dir.name)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.gate_path:
            os.close(self.gate_fd)
            self.gate_path = None
        self.fifo.close()


# ---------------------------------------------------------------- the measurements

def s6_down_status(ctx):
    """The supervise/status bytes s6-supervise writes for a service that is down: one
    s6-supervise on a template service with a `down` file (setup: polled, deadline)."""
    d = ctx.tmp / "s6-template"
    d.mkdir()
    (d / "run").write_text("#!/bin/sh\nexec sleep 100000\n")
    (d / "run").chmod(0o755)
    (d / "down").write_text("")
    p = subprocess.Popen([shutil.which("s6-supervise"), str(d)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    core.TRACK.add(p.pid, "supervisor", d.name)
    ctx.popens.append(p)
    try:
        deadline = time.monotonic() + 10
        while not (d / "supervise" / "status").exists():
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"s6-supervise made no status file (exit {p.poll()})")
            time.sleep(0.01)
        time.sleep(0.1)  # its first status write is whole by now (written by rename anyway)
        return (d / "supervise" / "status").read_bytes()
    finally:
        p.terminate()
        p.wait(10)
        core.TRACK.kill_leftovers(d.name)

def bare_chain(ctx, args):
    """The critical path with no supervisor: L times, one after the other, the bench spawns
    `sh -c 'sleep DELAY; echo R ... > FIFO'` and waits for its line. ms, median of rounds."""
    d = ctx.tmp / "bare-chain"
    d.mkdir()
    times = []
    for r in range(args.rounds):
        fifo = Events(d / f"r{r}.fifo", d.name)
        try:
            t0 = core.now_ms()
            for k in range(args.levels):
                body = f'sleep {args.delay_ms / 1000}; echo "R l{k} $$" > {d / f"r{r}.fifo"}'
                p = subprocess.Popen(["/bin/sh", "-c", body], stdin=subprocess.DEVNULL)
                fifo.wait_until(lambda f, k=k: f.count("R") > k, args.round_timeout, None, "bare chain")
                p.wait()
            times.append(fifo.events[-1][0] - t0)
        finally:
            fifo.close()
    return times


def timed_rounds(ctx, args, names, deps, setup, raw):
    n = len(deps)
    for r in range(args.rounds):
        print(f"# {setup} round {r + 1}", file=sys.stderr, flush=True)
        rd = Round(ctx, args, setup, names, deps, f"{setup}-{r + 1}")
        row = {"setup": setup, "round": r + 1}
        try:
            rd.start()
            rd.wait(n, rd.root_kind == "svinit")
            row.update(rd.figures())
        except (TimeoutError, RuntimeError, OSError) as e:
            row["error"] = f"{e}; root log: {rd.log_tail(300)!r}"
            if isinstance(e, TimeoutError):  # still a round: it took longer than the limit
                row.update(timed_out=True, failed_waits=rd.fifo.count("F"),
                           failed_wait_codes=sorted({x[3] for x in rd.fifo.events if x[1] == "F"}))
        finally:
            t = core.now_ms()
            rd.stop()
            row["stop_ms"] = core.now_ms() - t  # SIGTERM to the root -> it and all it left are gone
            if not args.keep:
                shutil.rmtree(rd.dir, ignore_errors=True)
        ready = f"{row['ready_ms']:.0f} ms" if "ready_ms" in row else "stuck"
        print(f"#   all ready {ready}, stop {row['stop_ms']:.0f} ms",
              file=sys.stderr, flush=True)
        raw.append(row)


def supervise_pids(root_pid):
    """{service name: pid} of the supervise processes under svinit's svscan, and svscan's pid."""
    svscan = core.children(root_pid, "svscan")
    if len(svscan) != 1:
        raise RuntimeError(f"svinit has {len(svscan)} svscan children")
    out = {}
    for pid in core.children(svscan[0], "supervise"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        out[Path(argv[-2 if argv[-1] == b"" else -1].decode()).name] = pid
    return out, svscan[0]


def idle_test(ctx, args, names, deps, setup):
    """Level 0's first service held before its readiness; its dependents wait. Context
    switches of every waiting supervise (and svinit, svscan, every supervise) over
    --idle-seconds; then the gate opens and everything must come up in order."""
    gate = names[0][0]
    blocked = dependents_closure(deps, gate)
    n = len(deps)
    rd = Round(ctx, args, setup, names, deps, f"idle-{setup}", gate=gate)
    out = {"setup": setup, "gate": gate, "blocked": len(blocked)}
    try:
        rd.start()
        rd.fifo.wait_until(lambda f: f.count("R") >= n - 1 - len(blocked)
                           and any(e[1] == "S" and e[2] == gate for e in f.events),
                           args.round_timeout, rd.pidfd, f"idle {setup}: the services not blocked")
        time.sleep(core.SETTLE)  # let the last ready services' supervisors finish their work
        sups, svscan = supervise_pids(rd.proc.pid)
        missing = [b for b in blocked | {gate} if b not in sups]
        if missing:
            raise RuntimeError(f"no supervise for {missing[:5]}")
        started_blocked = [e[2] for e in rd.fifo.events if e[1] == "S" and e[2] in blocked]
        watched = {"waiting": [sups[b] for b in sorted(blocked)], "gated": [sups[gate]],
                   "all supervise": list(sups.values()), "svscan": [svscan], "svinit": [rd.proc.pid]}
        before = {k: [core.ctxt_switches(p) for p in v] for k, v in watched.items()}
        cpu0 = {k: sum(core.on_cpu_ns(p) or 0 for p in v) for k, v in watched.items()}
        time.sleep(args.idle_seconds)
        after = {k: [core.ctxt_switches(p) for p in v] for k, v in watched.items()}
        cpu1 = {k: sum(core.on_cpu_ns(p) or 0 for p in v) for k, v in watched.items()}
        for k in watched:
            deltas = [b - a for a, b in zip(before[k], after[k])]
            out[k] = {"processes": len(deltas), "ctxt_sum": sum(deltas), "ctxt_max": max(deltas),
                      "cpu_us": (cpu1[k] - cpu0[k]) / 1000}
        out["started_while_blocked"] = len(started_blocked)
        t_open = core.now_ms()
        os.write(rd.gate_fd, b"go\n")
        rd.wait(n, True)
        ev = rd.fifo.events
        out["after_gate_ms"] = max(t for t, k, _, _ in ev if k in "RC") - t_open
        out["order_violations"] = len(check_order(ev, deps))
    except (TimeoutError, RuntimeError, OSError) as e:
        out["error"] = f"{e}; svinit log: {rd.log_tail(300)!r}"
    finally:
        rd.stop()
        if not args.keep:
            shutil.rmtree(rd.dir, ignore_errors=True)
    return out


# ---------------------------------------------------------------- report

def median_or_error(rows, key, timed_out_inf=False):
    """Median over the rounds; with timed_out_inf a round that never got there counts as
    infinitely long (so one stuck round of three still has a median), else any error wins."""
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    if timed_out_inf:
        values += [math.inf for r in rows if r.get("timed_out")]
    if len(values) == len(rows) and rows:
        return statistics.median(values)
    errors = [r["error"] for r in rows if "error" in r]
    return f"error: {errors[0]}" if errors else None


def report(args, raw, chain, idle):
    crit = args.levels * args.delay_ms
    bare = statistics.median(chain) if chain else None
    lines = [f"critical path: {args.levels} levels x {args.delay_ms:g} ms = {crit:g} ms; "
             f"bare chain (the bench spawns the {args.levels} run bodies one after the other, "
             f"no supervisor): " + (f"{bare:.0f} ms ({' '.join(f'{t:.0f}' for t in chain)})"
                                    if bare else "not measured"),
             "",
             f"{'setup (median of ' + str(args.rounds) + ')':<48} {'all ready':>9} {'x crit':>6} "
             f"{'x bare':>6} {'CMD':>6} {'x crit':>6} {'1st run':>7} {'level 0':>7} {'/level':>6} "
             f"{'order':>5} {'fail':>4} {'busy':>4} {'sup CPU':>7}  all ready, each run",
             "-" * 150]
    def cell(value, spec, width):
        if isinstance(value, (int, float)) and math.isinf(value):  # a stuck round's median
            text = "inf" if spec == ".2f" else f">{args.round_timeout:g}s"
            return f"{text:>{width}}"
        return format(value, f">{width}{spec}") if isinstance(value, (int, float)) else f"{'-':>{width}}"

    for setup in args.setups:
        rows = [r for r in raw if r["setup"] == setup]
        label = SETUPS[setup][0].format(interval=args.ready_check_interval)
        ready = median_or_error(rows, "ready_ms", timed_out_inf=True)
        if not isinstance(ready, (int, float)):
            lines.append(f"{label:<48} {ready}")
            continue
        done = [r for r in rows if "error" not in r]  # the other figures: rounds that finished
        med = {k: median_or_error(done, k) for k in ("first_start_ms", "level0_ms", "step_ms",
                                                    "busy_cores", "supervisors_cpu_ms")}
        cmd = median_or_error(rows, "cmd_ms", timed_out_inf=True)
        viol = sum(r.get("order_violations", 0) for r in rows)
        fails = sum(r.get("failed_waits", 0) for r in rows)
        codes = sorted({c for r in rows for c in r.get("failed_wait_codes", ())})
        each = " ".join(f"{r['ready_ms']:.0f}" if "ready_ms" in r else "stuck" for r in rows)
        lines.append(f"{label:<48} {cell(ready, '.0f', 9)} {cell(ready / crit, '.2f', 6)} "
                     f"{cell(ready / bare if bare else None, '.2f', 6)} {cell(cmd, '.0f', 6)} "
                     f"{cell(cmd / crit if isinstance(cmd, (int, float)) else None, '.2f', 6)} "
                     f"{cell(med['first_start_ms'], '.0f', 7)} {cell(med['level0_ms'], '.0f', 7)} "
                     f"{cell(med['step_ms'], '.1f', 6)} {viol:>5} {fails:>4} "
                     f"{cell(med['busy_cores'], '.1f', 4)} {cell(med['supervisors_cpu_ms'], '.0f', 7)}  "
                     f"{each}" + (f"  (failed waits exited {','.join(map(str, codes))})" if codes else ""))
        stuck = [r for r in rows if r.get("timed_out")]
        if stuck:
            lines.append(f"{'':<48} stuck round: {stuck[0]['error'][:200]}")
    lines += ["",
              "ms. all ready = the root process spawned -> the last service's R line; CMD = -> CMD's "
              "line (svinit's CMD waits for every service ready); x crit = / critical path; x bare = / "
              "bare chain; 1st run = -> the first S line; level 0 = -> level 0's last R line (the "
              "bring-up of every supervisor is in it); /level = (all ready - level 0) / (levels - 1), "
              f"each level's cost after level 0 (the delay is {args.delay_ms:g}); order = services "
              "started before a dependency's R line, all rounds (goal 0); fail = waits in run "
              "scripts that failed, all rounds; a round not done in --round-timeout counts as "
              "infinitely long in the medians of all ready and CMD ('stuck'), and is left out of "
              "the other columns; busy = cores busy on average (/proc/stat, the whole "
              "machine); sup CPU = on-CPU time of the root and the supervisors (svinit, svscan, "
              "supervise; s6-svscan, s6-supervise) at the end, not of the services or waiters"]
    goal = [r for r in raw if r["setup"] == "svkit-deps-fd"]
    g = median_or_error(goal, "ready_ms")
    if isinstance(g, (int, float)):
        lines.append(f"goal (svkit dependencies.d within 1.2x of the critical path): all ready "
                     f"{g / crit:.2f}x -> {'met' if g / crit <= 1.2 else 'MISSED'}")
    for out in idle:
        lines += ["", f"no polling ({out['setup']}): {out['gate']} held before readiness, "
                  f"{out['blocked']} services waiting on it; context switches over "
                  f"{args.idle_seconds:g} s (goal 0)"]
        if "error" in out and "waiting" not in out:
            lines.append(f"  {out['error']}")
            continue
        for k in ("waiting", "gated", "all supervise", "svscan", "svinit"):
            v = out[k]
            lines.append(f"  {k + ' (' + str(v['processes']) + ')':<24} sum {v['ctxt_sum']:>5}  "
                         f"max {v['ctxt_max']:>5}  on CPU {v['cpu_us']:>8.0f} us")
        lines.append(f"  blocked services that started anyway: {out['started_while_blocked']}; "
                     + (f"gate opened -> all ready and CMD: {out['after_gate_ms']:.0f} ms, order "
                        f"violations {out['order_violations']}" if "after_gate_ms" in out
                        else out.get("error", "")))
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, default=10, help="levels of the dependency graph")
    ap.add_argument("--per-level", type=int, default=20, help="services per level")
    ap.add_argument("--delay-ms", type=float, default=50, help="each service's start -> ready")
    ap.add_argument("--rounds", type=int, default=3, help="bring-ups per setup (median)")
    ap.add_argument("--round-timeout", type=float, default=15.0,
                    help="s: a bring-up not done by then counts as infinitely long")
    ap.add_argument("--seed", type=int, default=11, help="seed of the graph's dependencies")
    ap.add_argument("--ready-check-interval", type=int, default=20, help="ms, svkit-deps-check")
    ap.add_argument("--idle-seconds", type=float, default=5.0, help="0: no idle test")
    ap.add_argument("--idle-setups", default="svkit-deps-fd,svkit-deps-check",
                    help="dependencies.d setups for the idle test")
    ap.add_argument("--setups", default=",".join(SETUPS), help=f"comma list of {','.join(SETUPS)}")
    ap.add_argument("--build", default=str(core.REPO / "build"), help="meson build folder")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (root logs)")
    args = ap.parse_args()
    args.setups = [s for s in args.setups.split(",") if s]
    args.idle_setups = [s for s in args.idle_setups.split(",") if s] if args.idle_seconds > 0 else []
    for s in args.setups:
        if s not in SETUPS:
            ap.error(f"unknown setup {s!r}")
    for s in args.idle_setups:
        if not s.startswith("svkit-deps"):
            ap.error(f"--idle-setups: {s!r} is not a dependencies.d setup")
    if args.levels < 1 or args.per_level < 1 or args.rounds < 1:
        ap.error("--levels, --per-level and --rounds must be at least 1")
    return args


def main():
    args = parse_args()
    if any(s.startswith("s6") for s in args.setups):
        core.install_peers(["s6"], ("s6",))
        if not shutil.which("s6-svwait"):
            sys.exit("s6-svwait not found after installing s6")
    n = args.levels * args.per_level
    ctx = core.make_workspace(args.build, SVKIT_PROGRAMS, "svkit-bench-order-", 8 * n + 256)
    core.become_subreaper()
    names, deps = make_graph(args.levels, args.per_level, args.seed)
    raw, chain, idle, interrupted = [], [], [], None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if any(s.startswith("s6") for s in args.setups):
            ctx.s6_down_status = s6_down_status(ctx)
        chain = bare_chain(ctx, args)
        for setup in args.setups:
            timed_rounds(ctx, args, names, deps, setup, raw)
        for setup in args.idle_setups:
            print(f"# idle {setup}", file=sys.stderr, flush=True)
            idle.append(idle_test(ctx, args, names, deps, setup))
    except (KeyboardInterrupt, SystemExit) as e:
        interrupted = 130 if isinstance(e, KeyboardInterrupt) else e.code
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.cleanup()
        left = core.TRACK.living() + sorted(core.descendants([os.getpid()]))
        if not args.keep:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    edges = sum(len(d) for d in deps.values())
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(f"graph: {args.levels} levels x {args.per_level} = {n} services, {edges} dependencies "
          f"(seed {args.seed}); run: sleep {args.delay_ms:g} ms, then ready\n")
    print(report(args, raw, chain, idle))
    if left:
        print(f"WARNING: still alive after cleanup: {left}")
    if args.keep:
        print(f"kept: {ctx.tmp}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "rounds": raw,
                                               "bare_chain_ms": chain, "idle": idle}, indent=1))
    if interrupted is not None:
        print("INTERRUPTED: partial results")
        sys.exit(interrupted)


if __name__ == "__main__":
    main()
