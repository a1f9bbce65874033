#!/usr/bin/env python3
"""Container boot -> all N services up, and shutdown -> exit: svinit beside s6-svscan as PID 1.

Each boot is a fresh PID + mount namespace (`unshare --pid --fork --mount-proc --mount
--propagation private`) whose PID 1 is either svinit (stage 1 copies the N static services
of SVKIT_SERVICES_DIR into a tmpfs scandir, stage 2 starts svscan; no CMD, so it runs until
signalled) or `s6-svscan SCANDIR` over a prepared copy of the same N service folders.
Boot = just before unshare is spawned -> the N-th service's line arrives on a FIFO.
Shutdown = SIGTERM to the namespace's PID 1 -> the unshare process has exited (pidfd), which
happens only once every process of the namespace is gone. Needs root (namespaces).
Python 3.9+, standard library only.
"""
import argparse
import json
import os
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

UNSHARE = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--mount",
           "--propagation", "private"]
RUN_SCRIPT = "#!/bin/sh\necho $$ > {fifo}\nexec sleep 100000\n"
SVKIT_PROGRAMS = ("supervise", "svscan", "svctl", "svinit")
KINDS = ("svkit", "s6")
SHUTDOWN_TIMEOUT = 30.0  # s: longer than svinit's default grace (5 s) + kill grace (3 s)


class LineFifo(core.Fifo):
    """core.Fifo, counting lines only: the pids written inside a namespace are not host pids,
    so they must never reach the tracker (which would take them for host processes)."""

    def wait_lines(self, k, timeout):
        """Time (ms) the k-th line from now arrived."""
        got, t, deadline = 0, None, time.monotonic() + timeout
        while True:
            while self.lines and got < k:
                self.lines.popleft()
                got += 1
            if got == k:
                return t
            left = deadline - time.monotonic()
            if left <= 0 or not self.poller.poll(left * 1000):
                raise TimeoutError(f"{got} of {k} services announced in {timeout:.0f} s")
            t = core.now_ms()
            try:
                self.buf += os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            *full, self.buf = self.buf.split(b"\n")
            self.lines.extend(full)

    def drain(self):
        """Lines nobody waited for (a previous boot's stragglers): should be none."""
        extra = len(self.lines)
        self.lines.clear()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            extra += data.count(b"\n")
        self.buf = b""
        return extra


def namespace_init(unshare_pid, timeout=5.0):
    """Host pid of the namespace's PID 1: unshare's only child."""
    path = f"/proc/{unshare_pid}/task/{unshare_pid}/children"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kids = Path(path).read_text().split()
        except FileNotFoundError:  # kernel without CONFIG_PROC_CHILDREN
            kids = [str(p) for p in core.children(unshare_pid)]
        if kids:
            return int(kids[0])
        time.sleep(0.01)  # setup only: unshare has not forked yet
    raise RuntimeError(f"unshare {unshare_pid} has no child after {timeout:.0f} s")


class Size:
    """The N static services and their FIFO, shared by every boot of that size."""

    def __init__(self, ctx, n):
        self.n = n
        self.dir = ctx.tmp / f"n{n}"
        self.services = self.dir / "services"
        self.services.mkdir(parents=True)
        self.fifo_path = self.dir / "up.fifo"
        self.fifo = LineFifo(self.fifo_path, self.dir.name)
        for i in range(n):
            svc = self.services / f"s{i:04d}"
            svc.mkdir()
            (svc / "run").write_text(RUN_SCRIPT.format(fifo=self.fifo_path))
            (svc / "run").chmod(0o755)


class Boot:
    """One namespace: PID 1 = svinit or s6-svscan."""
    live = []  # every Boot whose namespace may still exist, for the cleanup

    def __init__(self, ctx, kind, size, k):
        self.ctx, self.kind, self.size = ctx, kind, size
        self.dir = ctx.tmp / f"{kind}-n{size.n}-{k}"
        self.dir.mkdir()
        self.proc, self.pid1, self.pid1_fd = None, None, None
        if kind == "svkit":
            (self.dir / "cont-init.d").mkdir()
            self.argv = UNSHARE + [str(ctx.libexec / "svinit")]
            self.env = dict(os.environ, SVKIT_SERVICES_DIR=str(size.services),
                            SVKIT_SCANDIR=str(self.dir / "scan"), SVKIT_RUNDIR=str(self.dir / "run"),
                            SVKIT_LOG_DIR=str(self.dir / "log"), SVKIT_STATE_DIR=str(self.dir / "state"),
                            SVKIT_CONT_INIT_DIR=str(self.dir / "cont-init.d"),
                            SVKIT_LIBEXEC=str(ctx.libexec))
        else:
            # A scandir prepared before boot, as an image would hold it (not timed).
            shutil.copytree(size.services, self.dir / "scan", symlinks=True)
            self.argv = UNSHARE + core.supervisors(ctx.libexec)["s6"].scanner(
                str(self.dir / "scan"), size.n)
            self.env = dict(os.environ)

    def boot(self):
        """ms from spawning unshare to the N-th service's line."""
        extra = self.size.fifo.drain()
        if extra:
            raise RuntimeError(f"{extra} stray lines on the FIFO before boot")
        log = open(self.dir / "pid1.log", "wb")
        Boot.live.append(self)
        t0 = core.now_ms()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        core.TRACK.add(self.proc.pid, "unshare", self.dir.name)
        t1 = self.size.fifo.wait_lines(self.size.n, core.UP_TIMEOUT)
        self.find_pid1()  # after the timing: it is there long before the services
        return t1 - t0

    def find_pid1(self, timeout=5.0):
        self.pid1 = namespace_init(self.proc.pid, timeout)
        core.TRACK.add(self.pid1, "scanner", self.dir.name)
        self.pid1_fd = os.pidfd_open(self.pid1)

    def shutdown(self):
        """ms from SIGTERM to the namespace's PID 1 until unshare has exited; a string when
        the namespace outlives SHUTDOWN_TIMEOUT (it is then SIGKILLed)."""
        poller, fd = select.poll(), os.pidfd_open(self.proc.pid)
        poller.register(fd, select.POLLIN)
        try:
            t0 = core.now_ms()
            signal.pidfd_send_signal(self.pid1_fd, signal.SIGTERM)
            done = poller.poll(SHUTDOWN_TIMEOUT * 1000)
            t1 = core.now_ms()
        finally:
            os.close(fd)
        if not done:
            self.kill()
            return f"still running after {SHUTDOWN_TIMEOUT:.0f} s"
        self.rc = self.proc.wait()
        self.close()
        return t1 - t0

    def kill(self):
        """SIGKILL to PID 1 takes the whole namespace down; then unshare exits."""
        if self.proc is None:
            return
        if self.proc.poll() is None and self.pid1_fd is None:
            try:
                self.find_pid1(1.0)
            except (RuntimeError, OSError):
                pass  # no namespace yet: unshare is killed below
        if self.proc.poll() is None and self.pid1_fd is not None:
            try:
                signal.pidfd_send_signal(self.pid1_fd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
        self.close()

    def close(self):
        if self.pid1_fd is not None:
            os.close(self.pid1_fd)
            self.pid1_fd = None
        if self in Boot.live:
            Boot.live.remove(self)


def measure(ctx, args, results, raw):
    for n in args.sizes:
        size = Size(ctx, n)
        for k in range(args.repeats):
            for kind in args.supervisors:
                b = Boot(ctx, kind, size, k)
                print(f"# {kind} n={n} run {k + 1}", file=sys.stderr, flush=True)
                try:
                    up = b.boot()
                    time.sleep(core.SETTLE)  # let the supervisors finish their post-spawn work
                    down = b.shutdown()
                    rc = b.rc
                except (TimeoutError, RuntimeError, OSError) as e:
                    b.kill()
                    up, down, rc = f"error: {e}", "", None
                raw.append({"kind": kind, "n": n, "run": k + 1, "boot_ms": up, "shutdown_ms": down,
                            "exit_code": rc})
                if not args.keep:
                    shutil.rmtree(b.dir, ignore_errors=True)
        size.fifo.close()
        for kind in args.supervisors:
            runs = [r for r in raw if r["kind"] == kind and r["n"] == n]
            for fig in ("boot_ms", "shutdown_ms"):
                values = [r[fig] for r in runs if isinstance(r[fig], (int, float))]
                errors = [r[fig] for r in runs if isinstance(r[fig], str) and r[fig]]
                cell = statistics.median(values) if len(values) == len(runs) else \
                    (errors[0] if errors else "no value")
                results.setdefault(f"{fig}:{n}", {})[kind] = cell


def report(results, raw, args):
    lines = [f"{'figure':<46} {'supervisor':<10} {'median ms':>10}  {'runs (ms)'}", "-" * 96]
    for n in args.sizes:
        for fig, label in (("boot_ms", f"boot -> {n} services up"),
                           ("shutdown_ms", f"SIGTERM to PID 1 -> exit, {n} services")):
            rows = results.get(f"{fig}:{n}", {})
            title = label
            for kind, value in rows.items():
                runs = [r[fig] for r in raw if r["kind"] == kind and r["n"] == n]
                each = " ".join(f"{v:.0f}" if isinstance(v, (int, float)) else "err" for v in runs)
                cell = f"{value:.1f}" if isinstance(value, (int, float)) else value
                lines.append(f"{title:<46} {kind:<10} {cell:>10}  {each}")
                title = ""
            a, b = rows.get("svkit"), rows.get("s6")
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0:
                lines.append(f"{'':<46} {'svkit/s6':<10} {a / b:>10.3g}")
            lines.append("")
    codes = sorted({(r["kind"], r["exit_code"]) for r in raw}, key=str)
    lines.append("exit codes of PID 1 (via unshare): "
                 + ", ".join(f"{k} {c}" for k, c in codes))
    return "\n".join(lines)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,200", help="comma list of service counts")
    ap.add_argument("--repeats", type=int, default=5, help="boots per size and supervisor (median)")
    ap.add_argument("--supervisors", default="svkit,s6", help="comma list of svkit,s6")
    ap.add_argument("--build", default=str(core.REPO / "build"), help="meson build folder")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (PID 1 logs)")
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.supervisors = [s for s in args.supervisors.split(",") if s]
    if any(s not in KINDS for s in args.supervisors):
        ap.error("--supervisors: svkit and/or s6")
    if args.repeats < 1 or any(n < 1 for n in args.sizes):
        ap.error("--repeats and every size must be at least 1")
    if os.geteuid() != 0:
        ap.error("needs root: PID and mount namespaces")
    return args


def prepare(args):
    core.install_peers(args.supervisors, ("s6",))
    return core.make_workspace(args.build, SVKIT_PROGRAMS, "svkit-bench-boot-", 4 * max(args.sizes) + 256)


def main():
    args = parse_args()
    ctx = prepare(args)
    core.become_subreaper()
    results, raw, interrupted = {}, [], None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        measure(ctx, args, results, raw)
    except (KeyboardInterrupt, SystemExit) as e:
        interrupted = 130 if isinstance(e, KeyboardInterrupt) else e.code
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for b in list(Boot.live):  # every namespace: SIGKILL its PID 1
            b.kill()
        ctx.cleanup()
        left = core.TRACK.living() + sorted(core.descendants([os.getpid()]))
        if not args.keep:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print("svkit: PID 1 = svinit (stage 1 copies the services into a tmpfs scandir, then svscan); "
          "s6: PID 1 = s6-svscan over a prepared scandir\n")
    print(report(results, raw, args))
    if left:
        print(f"WARNING: still alive after cleanup: {left}")
    if args.keep:
        print(f"kept: {ctx.tmp}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "results": results,
                                               "runs": raw}, indent=1))
    if interrupted is not None:
        print("INTERRUPTED: partial results")
        sys.exit(interrupted)


if __name__ == "__main__":
    main()
