#!/usr/bin/env python3
"""svkit beside s6 and runit, on identical service directories.

Six benchmarks (see bench/README.md): restart latency after SIGKILL, private
memory per supervisor process, bring-up of N services, one status query over N
services, shutdown of N services, context switches of an idle supervisor.

Everything runs unprivileged in a fresh temporary directory. Every process the
bench starts is remembered by pid and start time and killed at the end (scanner
first with SIGTERM, then SIGKILL for whatever is left); nothing is killed by
name. Python 3.9+, standard library only.
"""
import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SVKIT_PROGRAMS = ("supervise", "svscan", "svctl")
PEER_COMMANDS = {"s6": ("s6-svscan", "s6-supervise", "s6-svstat"), "runit": ("runsvdir", "runsv", "sv"),
                 "supervisord": ("supervisord", "supervisorctl")}
PEER_PACKAGES = {"s6": "s6", "runit": "runit", "supervisord": "supervisor"}
SUPERVISORS = ("svkit", "s6", "runit", "supervisord")
BENCHES = ("restart", "memory", "bringup", "status", "shutdown", "idle")
# The run script of every service, for every supervisor: announce the pid
# (which `exec` keeps) on the instance's FIFO, then idle. With --readiness the
# supervisors that support it get a notification-fd file, and the script reports
# readiness on that fd.
RUN_SCRIPT = """#!/bin/sh
echo $$ > {fifo}
if [ -e {dir}/notification-fd ]; then echo >&3; exec 3>&-; fi
exec sleep 100000
"""
UP_TIMEOUT = 120.0        # s: all services of an instance have announced themselves
RESTART_TIMEOUT = 30.0    # s: one restart after SIGKILL
SHUTDOWN_TIMEOUT = 10.0   # s: services still up after that are reported as left running
SETTLE = 1.0              # s: let supervisors finish their post-spawn work before sampling
REFERENCE = "fork+exec"   # the reference rows: not supervisors, not in the ratios
DEATH = "SIGKILL->exit"
FLOOR = "no supervisor"    # the scale figures' floors: the bench's own spawns and SIGTERMs
REFERENCES = (REFERENCE, DEATH, FLOOR)


def now_ms():
    return time.perf_counter() * 1000.0


# ---------------------------------------------------------------- the supervisors

@dataclasses.dataclass
class Supervisor:
    name: str
    scanner: callable          # (scandir, n) -> argv of the scan root
    per_service: str           # comm of the per-service supervisor process
    status: callable           # (scandir, names) -> list of argv, run in sequence
    extra_files: dict = dataclasses.field(default_factory=dict)
    readiness: bool = False    # understands the s6 notification-fd file
    alt_stop: int = 0          # a second stop signal, measured when SIGTERM leaves services up
    configure: callable = None  # (instance) -> None: writes the scan root's config (supervisord)


def supervisors(libexec):
    which = shutil.which
    return {
        "svkit": Supervisor(
            "svkit", lambda d, n: [f"{libexec}/svscan", d], "supervise",
            lambda d, names: [[f"{libexec}/svctl", "stat"]],
            extra_files={"restart-min-interval": "0"}, readiness=True),
        "s6": Supervisor(
            "s6", lambda d, n: [which("s6-svscan"), "-c", str(max(1000, n + 16)), d], "s6-supervise",
            lambda d, names: [[which("s6-svstat"), f"{d}/{x}"] for x in names], readiness=True),
        "runit": Supervisor(
            "runit", lambda d, n: [which("runsvdir"), d], "runsv",
            lambda d, names: [[which("sv"), "status"] + [f"{d}/{x}" for x in names]],
            alt_stop=signal.SIGHUP),  # runsvdir(8): HUP = TERM to every runsv, then exit
        # One Python process for every program: no per-service supervisor, so its
        # memory per service is its private memory divided by the services.
        "supervisord": Supervisor(
            "supervisord", lambda d, n: [which("supervisord"), "-c", f"{d}/../supervisord.conf"], None,
            lambda d, names: [[which("supervisorctl"), "-c", f"{d}/../supervisord.conf", "status"]],
            configure=write_supervisord_conf),
    }


def write_supervisord_conf(inst):
    """Every service folder as a program: restarted at once (startsecs=0, so no
    backoff), TERM to stop, output discarded (the others' output goes nowhere either)."""
    d = inst.dir
    conf = ["[supervisord]", "nodaemon=true", "loglevel=warn", f"logfile={d}/supervisord.log",
            f"pidfile={d}/supervisord.pid", f"childlogdir={d}", f"minfds={4 * inst.n + 256}",
            "minprocs=200", "",
            "[unix_http_server]", f"file={d}/supervisor.sock", "",
            "[supervisorctl]", f"serverurl=unix://{d}/supervisor.sock", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", ""]
    for name in inst.names:
        conf += [f"[program:{name}]", f"command={inst.scandir / name / 'run'}",
                 f"directory={inst.scandir / name}", "autorestart=true", "startsecs=0",
                 "startretries=1000000", "stopsignal=TERM", "stopwaitsecs=10",
                 "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
    (d / "supervisord.conf").write_text("\n".join(conf))


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """(state, ppid, starttime, comm) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    l, r = data.index(b"("), data.rindex(b")")
    fields = data[r + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[19]), data[l + 1:r].decode(errors="replace")


def process_table():
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                out[int(entry)] = st
    return out


def children(pid, comm=None):
    return sorted(p for p, st in process_table().items()
                  if st[1] == pid and st[0] != "Z" and (comm is None or st[3] == comm))


def descendants(pids):
    kids = {}
    for p, st in process_table().items():
        kids.setdefault(st[1], []).append(p)
    found, todo = set(), list(pids)
    while todo:
        for p in kids.get(todo.pop(), ()):
            if p not in found:
                found.add(p)
                todo.append(p)
    return found


class Tracker:
    """Every pid the bench caused to exist, with its start time (no pid-reuse accidents)."""

    def __init__(self):
        self.pids = {}  # pid -> (starttime, role, owner)

    def add(self, pid, role, owner):
        st = proc_stat(pid)
        if st and self.pids.get(pid, (None,))[0] != st[2]:  # new, or a reused pid
            self.pids[pid] = (st[2], role, owner)

    def alive(self, pid):
        st = proc_stat(pid)
        return bool(st) and st[0] != "Z" and pid in self.pids and st[2] == self.pids[pid][0]

    def living(self, role=None, owner=None):
        return [p for p, (_, r, o) in self.pids.items()
                if role in (None, r) and owner in (None, o) and self.alive(p)]

    def kill_leftovers(self, owner=None):
        """SIGKILL what is still alive, scan roots and supervisors first (so nothing restarts),
        wait for each death, then reap what was reparented to the bench (a subreaper)."""
        for child in descendants(self.living(None, owner)):
            self.add(child, "service", owner)
        for role in ("scanner", "supervisor", "service"):
            for pid in self.living(role, owner):
                kill_and_wait(pid, lambda: self.alive(pid))
        for pid, (_, role, o) in self.pids.items():
            if role != "scanner" and owner in (None, o):  # scan roots: Popen reaps them
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def terminate(proc, timeout):
    """SIGTERM to a Popen, SIGKILL when it is still there after `timeout` s; reaped either way."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_and_wait(pid, still_ours, timeout=5.0):
    """SIGKILL through a pidfd (no pid-reuse race) and wait until the process has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if still_ours():
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll(timeout * 1000)
    except ProcessLookupError:
        pass
    finally:
        os.close(fd)


def become_subreaper():
    """Orphans of the processes the bench starts (e.g. runsv after runsvdir exits) come back to
    the bench instead of PID 1, so the final sweep of its descendants finds everything."""
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_children(timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.01)  # cleanup only: a SIGKILLed child not dead yet
        except ChildProcessError:
            return


TRACK = Tracker()


class Fifo:
    """Read end of a FIFO, opened before any writer exists; a dummy writer keeps EOF away."""

    def __init__(self, path, owner):
        self.owner = owner
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.keep = os.open(path, os.O_WRONLY)
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)
        self.buf, self.lines = b"", deque()

    def read_pids(self, k, timeout):
        """The next k announced pids, each with the time (ms) its line arrived."""
        out, deadline = [], time.monotonic() + timeout
        while True:
            while self.lines and len(out) < k:
                out.append(self.lines.popleft())
            if len(out) == k:
                return out
            left = deadline - time.monotonic()
            if left <= 0 or not self.poller.poll(left * 1000):
                raise TimeoutError(f"{len(out)} of {k} services announced in {timeout:.0f} s")
            t = now_ms()
            try:
                self.buf += os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            *full, self.buf = self.buf.split(b"\n")
            for line in full:
                pid = int(line)
                TRACK.add(pid, "service", self.owner)
                self.lines.append((pid, t))

    def close(self):
        os.close(self.fd)
        os.close(self.keep)


class Instance:
    """One scan root over n identical services, in its own folder with its own FIFO."""

    def __init__(self, ctx, sup, n, tag):
        self.ctx, self.sup, self.n = ctx, sup, n
        self.dir = Path(tempfile.mkdtemp(prefix=f"{tag}-{sup.name}-", dir=ctx.tmp))
        self.scandir = self.dir / "scan"
        self.scandir.mkdir()
        self.fifo = Fifo(self.dir / "up.fifo", self.dir.name)
        self.names = [f"s{i:04d}" for i in range(n)]
        extra = dict(sup.extra_files)
        if ctx.readiness and sup.readiness:
            extra["notification-fd"] = "3"
        for name in self.names:
            make_service(self.scandir / name, self.dir / "up.fifo", extra)
        if sup.configure:
            sup.configure(self)
        # A scandir prepared ahead of boot, as in real life: runsvdir defers its first scan by
        # about a second when the scandir was modified within the current second.
        past = time.time() - 60
        os.utime(self.scandir, (past, past))
        self.proc = None

    def env(self):
        return dict(os.environ, SVKIT_SCANDIR=str(self.scandir), SVKIT_RUNDIR=str(self.dir / "run"),
                    SVKIT_LOG_DIR=str(self.dir / "log"), SVKIT_STATE_DIR=str(self.dir / "state"),
                    SVKIT_LIBEXEC=str(self.ctx.libexec))

    def start(self):
        log = open(self.dir / "scanner.log", "wb")
        self.t0 = now_ms()
        self.proc = subprocess.Popen(self.sup.scanner(str(self.scandir), self.n), env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        TRACK.add(self.proc.pid, "scanner", self.dir.name)
        self.ctx.popens.append(self.proc)
        return self

    def wait_up(self):
        pids = self.fifo.read_pids(self.n, UP_TIMEOUT)
        for pid in self.supervisor_pids():
            TRACK.add(pid, "supervisor", self.dir.name)
        return pids

    def supervisor_pids(self):
        """The per-service supervisors; the scan root itself when it supervises every service."""
        if self.sup.per_service is None:
            return [self.proc.pid]
        return children(self.proc.pid, self.sup.per_service)

    def tree_pids(self):
        """The scan root and the per-service supervisors under it."""
        return [self.proc.pid] + ([] if self.sup.per_service is None else self.supervisor_pids())

    def stop(self):
        """SIGTERM to the scan root, SIGKILL if it lingers; then SIGKILL whatever it left."""
        if self.proc.poll() is None:
            for pid in descendants([self.proc.pid]):
                TRACK.add(pid, "service", self.dir.name)
            terminate(self.proc, SHUTDOWN_TIMEOUT)
        TRACK.kill_leftovers(self.dir.name)
        self.fifo.close()


def make_service(path, fifo, extra_files):
    path.mkdir()
    run = path / "run"
    run.write_text(RUN_SCRIPT.format(fifo=fifo, dir=path))
    run.chmod(0o755)
    for name, text in extra_files.items():
        (path / name).write_text(text + "\n")


def on_cpu_ns(pid):
    """Time on CPU (ns) from /proc/PID/task/*/schedstat: exact, unlike the tick counts."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except OSError:
        return None
    return total


def private_kib(pid):
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def ctxt_switches(pid):
    """Voluntary + nonvoluntary context switches summed over all threads of pid."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    total += int(line.split()[1])
    return total


def round_median(values):
    """The median of a figure's rounds; a round without a number (an error, services left
    running) makes the figure that round's text."""
    texts = [v for v in values if isinstance(v, str)]
    return texts[0] if texts else statistics.median(values)


def p90(values):
    s = sorted(values)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


# ---------------------------------------------------------------- the benchmarks
# Each returns {figure: value}; a value is a number, or a string saying why there is none.

def rotated(items, k):
    """items, starting at position k (mod len): who goes first changes every round."""
    k %= len(items)
    return items[k:] + items[:k]


class CpuSplit:
    """On a machine of two CPUs or more, the bench observes from the last and the
    services (with their supervisors) run on the others. The reader of the FIFO
    must not share a CPU with the service it times: the scheduler would wake it
    at once when the service's time slice is spent and only at the next tick when
    the service had just been given a fresh one (after its supervisor ran), a
    2-3 ms difference that depends on when the supervisor did its bookkeeping,
    not on how soon the service ran. Children inherit the CPUs of this process
    at their fork: serve() before starting them, observe() after."""

    def __init__(self):
        self.all = os.sched_getaffinity(0)
        cpus = sorted(self.all)
        self.observer = {cpus[-1]} if len(cpus) > 1 else self.all
        self.services = set(cpus[:-1]) if len(cpus) > 1 else self.all

    def serve(self):
        os.sched_setaffinity(0, self.services)

    def observe(self):
        os.sched_setaffinity(0, self.observer)

    def restore(self):
        os.sched_setaffinity(0, self.all)


class ForkExec:
    """References: this script's own Popen of the same run script until its line arrives
    (fork+exec), and the SIGKILL of that process until its pidfd says it has exited: the
    kernel's teardown of the killed process, which comes before any supervisor hears of the
    death. A restart cannot be quicker than the two together."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = Path(tempfile.mkdtemp(prefix="fork-exec-", dir=ctx.tmp))
        self.fifo = Fifo(self.dir / "up.fifo", self.dir.name)
        make_service(self.dir / "svc", self.dir / "up.fifo", {})

    def once(self, cpus):
        """(fork+exec ms, SIGKILL->exit ms); the child on the services' CPUs."""
        cpus.serve()
        t0 = now_ms()
        p = subprocess.Popen([str(self.dir / "svc" / "run")], stdin=subprocess.DEVNULL)
        cpus.observe()
        self.ctx.popens.append(p)
        try:
            (_, t1), = self.fifo.read_pids(1, RESTART_TIMEOUT)
            pidfd = os.pidfd_open(p.pid)
            try:
                t2 = now_ms()
                p.kill()
                select.select([pidfd], [], [], RESTART_TIMEOUT)
                t3 = now_ms()
            finally:
                os.close(pidfd)
        finally:
            p.kill()
            p.wait()
        return t1 - t0, t3 - t2

    def close(self):
        self.fifo.close()


def restart_figures(latencies):
    return {"restart_median": statistics.median(latencies), "restart_p90": p90(latencies)}


def bench_restart(ctx, sups, args):
    """One service per supervisor, all up side by side; the SIGKILLs go round-robin, one per
    supervisor (and one fork+exec reference) a round, the first of a round changing every
    round, so a slow moment of the machine falls on every supervisor alike. Every kill comes
    after the same idle pause (a kill right after another's restart would find the machine
    warmer), and each service has been up at least --uptime-before-kill seconds when it is
    killed; t1 = the new instance's line on the FIFO, read from a CPU of its own (CpuSplit)."""
    insts, pids, failed = {}, {}, {}
    reference = ForkExec(ctx)
    cpus = CpuSplit()
    try:
        cpus.serve()
        for sup in sups:
            insts[sup.name] = Instance(ctx, sup, 1, "restart").start()
        cpus.observe()
        for name, inst in insts.items():
            try:
                (pids[name], _), = inst.wait_up()
            except (TimeoutError, OSError) as e:
                failed[name] = f"error: {e}"
        names = list(insts) + [REFERENCE]
        latencies = {name: [] for name in names + [DEATH]}
        pause = args.uptime_before_kill / len(names)
        for k in range(args.kills):
            for name in rotated(names, k):
                time.sleep(pause)
                if name == REFERENCE:
                    fork_exec, death = reference.once(cpus)
                    latencies[REFERENCE].append(fork_exec)
                    latencies[DEATH].append(death)
                    continue
                if name in failed:
                    continue
                try:
                    t0 = now_ms()
                    os.kill(pids[name], signal.SIGKILL)
                    (new, t1), = insts[name].fifo.read_pids(1, RESTART_TIMEOUT)
                    if new == pids[name]:
                        raise AssertionError("the same pid announced twice")
                    latencies[name].append(t1 - t0)
                    pids[name] = new
                except (TimeoutError, AssertionError, OSError) as e:
                    failed[name] = f"error: {e}"
    finally:
        cpus.restore()
        for inst in insts.values():
            inst.stop()
        reference.close()
    return {name: ({"restart_median": failed[name], "restart_p90": failed[name]} if name in failed
                   else restart_figures(values)) for name, values in latencies.items()}


def bench_memory(ctx, sup, args):
    """Private (clean + dirty) KiB of each per-service supervisor, N services up, averaged."""
    inst = Instance(ctx, sup, args.services_memory, "memory").start()
    try:
        inst.wait_up()
        time.sleep(SETTLE)
        subprocess.run(["sync"], check=False)
        pids = inst.supervisor_pids()
        if sup.per_service is None:  # one process for all: its share per service
            whole = private_kib(inst.proc.pid)
            return {"memory": whole / inst.n, "memory_scanner": whole}
        if len(pids) != inst.n:
            return {"memory": f"{len(pids)} {sup.per_service} for {inst.n} services"}
        return {"memory": statistics.mean(private_kib(p) for p in pids),
                "memory_scanner": private_kib(inst.proc.pid)}
    finally:
        inst.stop()


def time_status(inst, repeats):
    """Median over repeats of the whole status query (one command, or one per service for s6)."""
    commands, times = inst.sup.status(str(inst.scandir), inst.names), []
    for _ in range(repeats):
        t0 = now_ms()
        for argv in commands:
            rc = subprocess.run(argv, env=inst.env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode
            if rc != 0:
                return f"{Path(argv[0]).name} exited {rc}"
        times.append(now_ms() - t0)
    return statistics.median(times)


def time_shutdown(stop, pids, supervisor_pids=()):
    """Call stop(); time until every service pid has exited, and until the supervisor
    processes have too (pidfd poll, no sleeping): {"shutdown": ms, "shutdown_tree": ms}."""
    poller, services, others = select.poll(), set(), set()
    for group, wanted in ((services, pids), (others, supervisor_pids)):
        for pid in wanted:
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            group.add(fd)
            poller.register(fd, select.POLLIN)
    fds, left, times = services | others, services | others, {}
    if not services:
        for fd in fds:
            os.close(fd)
        return {key: "no service left to stop" for key in ("shutdown", "shutdown_tree")}
    t0 = now_ms()
    stop()
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    while left:
        remaining = deadline - time.monotonic()
        events = poller.poll(max(0.0, remaining) * 1000) if remaining > 0 else []
        if not events:
            break
        t1 = now_ms()
        for fd, _ in events:
            poller.unregister(fd)
            left.discard(fd)
        if "shutdown" not in times and not left & services:
            times["shutdown"] = t1 - t0
        if not left:
            times["shutdown_tree"] = t1 - t0
    for fd in fds:
        os.close(fd)
    if left & services:
        error = f"{len(left & services)}/{len(pids)} left running after {SHUTDOWN_TIMEOUT:.0f} s"
        return {"shutdown": error, "shutdown_tree": error}
    if left:
        times["shutdown_tree"] = f"{len(left)} supervisor processes left after {SHUTDOWN_TIMEOUT:.0f} s"
    return times


def bench_scale(ctx, sup, args, wanted):
    """N services: bring-up time, then status query, then shutdown, on one instance."""
    out = {}
    inst = Instance(ctx, sup, args.services_scale, "scale").start()
    try:
        announced = inst.wait_up()
        out["bringup"] = max(t for _, t in announced) - inst.t0
        # Settled supervisors; and a runsv lingers a second after a service younger than that.
        if {"status", "shutdown"} & set(wanted):
            time.sleep(SETTLE)
        if "status" in wanted:
            out["status"] = time_status(inst, args.repeats)
        if "shutdown" in wanted:
            out.update(time_shutdown(lambda: os.kill(inst.proc.pid, signal.SIGTERM),
                                     [p for p, _ in announced], inst.tree_pids()))
    finally:
        inst.stop()
    if "bringup" not in wanted:
        del out["bringup"]
    if "shutdown" in wanted and isinstance(out["shutdown"], str) and sup.alt_stop:
        out.update({f"{key}_alt": value for key, value in bench_shutdown_alt(ctx, sup, args).items()})
    return out


def bench_scale_floor(ctx, args, wanted):
    """The floors of bring-up and shutdown, with no supervisor: the bench's own posix_spawn of
    the N run scripts one after another until every line has arrived, then a SIGTERM to each
    until every one has exited."""
    d = Path(tempfile.mkdtemp(prefix="scale-floor-", dir=ctx.tmp))
    fifo = Fifo(d / "up.fifo", d.name)
    make_service(d / "svc", d / "up.fifo", {})
    run, pids, out = str(d / "svc" / "run"), [], {}
    try:
        t0 = now_ms()
        for _ in range(args.services_scale):
            pids.append(os.posix_spawn(run, [run], os.environ))
        announced = fifo.read_pids(args.services_scale, UP_TIMEOUT)
        if "bringup" in wanted:
            out["bringup"] = max(t for _, t in announced) - t0
        if "shutdown" in wanted:
            out.update(time_shutdown(lambda: [os.kill(p, signal.SIGTERM) for p in pids], pids))
    finally:
        for pid in pids:
            kill_and_wait(pid, lambda: TRACK.alive(pid))
        reap_children()
        fifo.close()
    return out


def bench_shutdown_alt(ctx, sup, args):
    """The same shutdown with the supervisor's documented stop-everything signal (runit: HUP)."""
    inst = Instance(ctx, sup, args.services_scale, "scale-alt").start()
    try:
        announced = inst.wait_up()
        time.sleep(SETTLE)
        return time_shutdown(lambda: os.kill(inst.proc.pid, sup.alt_stop), [p for p, _ in announced],
                             inst.tree_pids())
    finally:
        inst.stop()


def bench_idle(ctx, sups, args):
    """One idle service per supervisor, all side by side; context switches over D seconds."""
    insts = [Instance(ctx, sup, 1, "idle").start() for sup in sups]
    try:
        watched = {}
        for inst in insts:
            inst.wait_up()
            sup_pids = inst.supervisor_pids()
            if len(sup_pids) != 1:
                raise RuntimeError(f"{inst.sup.name}: {len(sup_pids)} {inst.sup.per_service} processes")
            watched[inst.sup.name] = (sup_pids[0], inst.proc.pid)
        time.sleep(SETTLE)
        before = {name: [ctxt_switches(p) for p in pids] for name, pids in watched.items()}
        time.sleep(args.idle_seconds)
        after = {name: [ctxt_switches(p) for p in pids] for name, pids in watched.items()}
    finally:
        for inst in insts:
            inst.stop()
    return {name: {"idle": after[name][0] - before[name][0],
                   "idle_scanner": after[name][1] - before[name][1]} for name in watched}


# ---------------------------------------------------------------- report

FIGURES = [  # key, bench, label, unit
    ("restart_median", "restart", "restart after SIGKILL, median", "ms"),
    ("restart_p90", "restart", "restart after SIGKILL, p90", "ms"),
    ("memory", "memory", "private memory per service's supervisor ({services_memory} up)", "KiB"),
    ("memory_scanner", "memory", "private memory of the scan root ({services_memory} up)", "KiB"),
    ("bringup", "bringup", "bring-up of {services_scale} services", "ms"),
    ("status", "status", "status query over {services_scale} services", "ms"),
    ("shutdown", "shutdown", "shutdown of {services_scale} services (SIGTERM)", "ms"),
    ("shutdown_tree", "shutdown", "shutdown, until the supervisors are gone too", "ms"),
    ("idle", "idle", "ctx switches, idle supervisor, {idle_seconds:g} s", "count"),
    ("idle_scanner", "idle", "ctx switches, idle scan root, {idle_seconds:g} s", "count"),
]


def ratio(value, best):
    if best == 0:
        return 1.0 if value == 0 else math.inf
    return value / best


def round_ratios(rows):
    """svkit/best peer in each round where both have a number, as text."""
    svkit = rows.get("svkit", [])
    ratios = []
    for r, value in enumerate(svkit):
        peers = [v[r] for k, v in rows.items()
                 if k != "svkit" and k not in REFERENCES and r < len(v) and isinstance(v[r], (int, float))]
        if isinstance(value, (int, float)) and peers:
            ratios.append(f"{ratio(value, min(peers)):.2f}")
    return ratios


def report(results, args):
    """results: {figure: {row label: value}} -> the table, as text."""
    lines = [f"{'figure':<52} {'supervisor':<14} {'value':>12}  {'x best':>7}", "-" * 90]
    for key, _, label, unit in FIGURES:
        rows = results.get(key)
        if not rows:
            continue
        numeric = {k: v for k, v in rows.items() if isinstance(v, (int, float)) and k not in REFERENCES}
        best = min(numeric.values()) if numeric else None
        title = f"{label.format(**vars(args))} [{unit}]"
        for name, value in rows.items():
            if isinstance(value, str):
                cell, r = value, ""
            else:
                cell = f"{value:,.0f}" if unit in ("KiB", "count") or value >= 100 else f"{value:.2f}"
                r = "" if name in REFERENCES or best is None else f"{ratio(value, best):.3g}"
            lines.append(f"{title:<52} {name:<14} {cell:>12}  {r:>7}")
            title = ""
        peers = [v for k, v in numeric.items() if k != "svkit"]
        if "svkit" in numeric and peers:
            lines.append(f"{'':<52} {'svkit/best peer':<14} {ratio(numeric['svkit'], min(peers)):>12.3g}")
        # What a supervisor adding nothing to the kernel's teardown and the spawn would score.
        floor = [rows.get(REFERENCE), rows.get(DEATH)]
        if peers and all(isinstance(v, (int, float)) for v in floor):
            lines.append(f"{'':<52} {'floor/best peer':<14} {ratio(sum(floor), min(peers)):>12.3g}")
        by_round = round_ratios(results.get(f"{key}_rounds", {}))
        if len(by_round) > 1:
            lines.append(f"{'':<52} {'by round':<14} {'  '.join(by_round):>12}")
        lines.append("")
    return "\n".join(lines)


def machine():
    def cmd(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    versions = cmd("dpkg-query", "-W", "-f=${Package} ${Version}  ", "s6", "runit", "supervisor")
    return (f"machine: nproc {os.cpu_count()}, kernel {cmd('uname', '-r')}, {platform.machine()}, "
            f"{datetime.datetime.now().astimezone().isoformat(timespec='seconds')}\n"
            f"peers: {versions}\nsvkit: {cmd('git', '-C', str(REPO), 'describe', '--always', '--dirty')}"
            f"\nscandirs under: {bench_root() or tempfile.gettempdir()}")


# ---------------------------------------------------------------- main

class Context:
    def __init__(self, tmp, libexec, readiness):
        self.tmp, self.libexec, self.readiness, self.popens = tmp, libexec, readiness, []

    def cleanup(self):
        for p in self.popens:
            if p.poll() is None:
                terminate(p, SHUTDOWN_TIMEOUT)
        TRACK.kill_leftovers()
        for pid in descendants([os.getpid()]):  # anything the tracking missed: still ours
            TRACK.add(pid, "service", None)
            kill_and_wait(pid, lambda: TRACK.alive(pid))
        reap_children()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services-memory", type=int, default=200, help="services up for the memory figure")
    ap.add_argument("--services-scale", type=int, default=1000, help="services for bring-up, status, shutdown")
    ap.add_argument("--kills", type=int, default=30, help="SIGKILLs for the restart latency")
    ap.add_argument("--uptime-before-kill", type=float, default=3.0, help="seconds a service is up before each kill")
    ap.add_argument("--idle-seconds", type=float, default=60.0, help="seconds of idleness for the ctx switch count")
    ap.add_argument("--repeats", type=int, default=5, help="repetitions of the status query (median)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of bring-up, status and shutdown, supervisors in turn (median)")
    ap.add_argument("--only", default=",".join(BENCHES), help=f"comma list of {','.join(BENCHES)}")
    ap.add_argument("--supervisors", default=",".join(SUPERVISORS), help=f"comma list of {','.join(SUPERVISORS)}")
    ap.add_argument("--readiness", action="store_true",
                    help="services report readiness on notification-fd where supported (svkit, s6)")
    ap.add_argument("--build", default=str(REPO / "build"), help="meson build folder holding svkit's programs")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (scanner logs)")
    args = ap.parse_args()
    args.only = [b for b in args.only.split(",") if b]
    args.supervisors = [s for s in args.supervisors.split(",") if s]
    for b in args.only:
        if b not in BENCHES:
            ap.error(f"unknown bench {b!r}")
    for s in args.supervisors:
        if s not in SUPERVISORS:
            ap.error(f"unknown supervisor {s!r}")
    return args


def bench_root():
    """Where the scandirs go: $TMPDIR when set, else /dev/shm, a tmpfs as a
    container's scandir is (on a disk filesystem every status rename costs a
    journal update, which would be most of what is timed)."""
    if os.environ.get("TMPDIR"):
        return os.environ["TMPDIR"]
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def make_workspace(build, programs, prefix, open_files, readiness=False):
    """A fresh temp folder with a private copy of svkit's binary (the build
    folder may be rebuilt meanwhile) and a link to it for each of `programs`,
    as once installed, and room for `open_files` descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, open_files)), hard))
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=bench_root()))
    libexec = tmp / "libexec"
    libexec.mkdir()
    if programs:
        shutil.copy2(Path(build) / "svkit" / "svkit", libexec)
    for prog in programs:
        (libexec / prog).symlink_to("svkit")
    return Context(tmp, libexec, readiness)


def install_peers(wanted, names):
    """Installs the Debian packages of the peers in `wanted` when their commands are missing."""
    missing = [n for n in names
               if n in wanted and not all(shutil.which(c) for c in PEER_COMMANDS[n])]
    if missing:
        subprocess.run([str(REPO / "scripts/install-deps.sh"), *(PEER_PACKAGES[n] for n in missing)],
                       check=True)


def prepare(args):
    install_peers(args.supervisors, ("s6", "runit", "supervisord"))
    programs = SVKIT_PROGRAMS if "svkit" in args.supervisors else ()
    return make_workspace(args.build, programs, "svkit-bench-", 4 * args.services_scale + 256,
                          args.readiness)


def row_of(key, name, sups):
    """A result's figure and row label: a supervisor's alternative stop is a row of shutdown."""
    if key.endswith("_alt"):
        return key[:-len("_alt")], f"{name} ({signal.Signals(sups[name].alt_stop).name})"
    return key, name


def run_all(ctx, args, results):
    sups = supervisors(ctx.libexec)
    chosen = [sups[s] for s in args.supervisors]

    def record(name, figures):
        for key, value in figures.items():
            figure, label = row_of(key, name, sups)
            results.setdefault(figure, {})[label] = value

    def measure(names, benches, fn, *fn_args):
        """Run one benchmark: {name: figures}; a failure becomes an error cell for each of its
        figures, and the other benchmarks go on."""
        print(f"# {fn.__name__} {','.join(names)}", file=sys.stderr, flush=True)
        try:
            out = fn(*fn_args)
            return {name: out[name] if len(names) > 1 else out for name in names}
        except (TimeoutError, RuntimeError, AssertionError, OSError, subprocess.SubprocessError) as e:
            return {name: {k: f"error: {e}" for k, b, _, _ in FIGURES if b in benches} for name in names}

    def attempt(names, benches, fn, *fn_args):
        for name, figures in measure(names, benches, fn, *fn_args).items():
            record(name, figures)

    if "restart" in args.only:
        attempt([s.name for s in chosen] + [REFERENCE, DEATH], ["restart"], bench_restart, ctx, chosen,
                args)
    if "memory" in args.only:
        for sup in chosen:
            attempt([sup.name], ["memory"], bench_memory, ctx, sup, args)
    scale = [b for b in ("bringup", "status", "shutdown") if b in args.only]
    # Rounds, each supervisor once a round (the first changing every round); the table
    # shows each figure's median over the rounds, and svkit/best peer round by round.
    rounds = {}  # figure -> {name: [value of each round]}

    def add_round(name, fn, *fn_args):
        for key, value in measure([name], scale, fn, *fn_args)[name].items():
            rounds.setdefault(key, {}).setdefault(name, []).append(value)

    for r in range(args.rounds if scale else 0):
        print(f"# round {r + 1} of {args.rounds}", file=sys.stderr, flush=True)
        for sup in rotated(chosen, r):
            add_round(sup.name, bench_scale, ctx, sup, args, scale)
        if {"bringup", "shutdown"} & set(scale):
            add_round(FLOOR, bench_scale_floor, ctx, args, scale)
    for key, by_name in rounds.items():
        for name, values in by_name.items():
            figure, label = row_of(key, name, sups)
            results.setdefault(figure, {})[label] = round_median(values)
            results.setdefault(f"{figure}_rounds", {})[label] = values
    if "idle" in args.only:
        attempt([s.name for s in chosen], ["idle"], bench_idle, ctx, chosen, args)


def main():
    args = parse_args()
    ctx = prepare(args)
    become_subreaper()
    results = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    interrupted = None
    try:
        run_all(ctx, args, results)
    except (KeyboardInterrupt, SystemExit) as e:
        interrupted = 130 if isinstance(e, KeyboardInterrupt) else e.code
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut cleanup short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.cleanup()
        left = TRACK.living() + sorted(descendants([os.getpid()]))
        if not args.keep:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}\n")
    print(report(results, args))
    if left:
        print(f"WARNING: still alive after cleanup: {left}")
    if args.keep:
        print(f"kept: {ctx.tmp}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "results": results}, indent=1))
    if interrupted is not None:
        print("INTERRUPTED: partial results")
        sys.exit(interrupted)


if __name__ == "__main__":
    main()
