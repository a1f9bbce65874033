#!/usr/bin/env python3
"""Log throughput: one service writing lines as fast as it can (and 50 at once), logged with
timestamps by svkit's supervise (console copy on), s6-log `T`, runit's svlogd `-tt`, and
supervisord's file logging (no timestamps: it has none), side by side.

Each writer is `cat` of a prepared file of 89-byte lines on tmpfs (so the writer costs about
nothing), the service's stdout going to the logger of each supervisor. Timed from the scan
root's start until the log files hold every line (their sizes polled every 5 ms: a
measurement, not a synchronisation); the logger's CPU is its on-CPU time (schedstat), per
million lines; lines lost are the lines the log files lack. svkit's console copy goes to
/dev/null through svscan's stdout (formatted and written all the same). After the burst:
svkit's supervise private memory against its size before any output.

Goal (issue 9): svkit at most 0.7x s6-log T's time and CPU, 0 lines lost, memory back within
8 KiB of its idle size. Python 3.9+, standard library only, unprivileged.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402

LINE = 89  # bytes, newline included
KINDS = ("svkit", "s6", "runit", "supervisord")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000, help="lines in all, over all writers")
    ap.add_argument("--writers", default="1,50", help="comma list of writer counts")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; medians are printed")
    ap.add_argument("--supervisors", default=",".join(KINDS))
    ap.add_argument("--build", default=str(core.REPO / "build"))
    ap.add_argument("--json", help="also write the results to this file")
    return ap.parse_args()


def lines_file(tmp, count):
    path = tmp / f"lines-{count}"
    if not path.exists():
        body = b"".join(b"line %010d " % i + b"x" * (LINE - 17) + b"\n" for i in range(1000))
        with open(path, "wb") as f:
            for _ in range(count // 1000):
                f.write(body)
            f.write(body[:LINE * (count % 1000)])
    return path


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


class Setup:
    """One supervisor's scan root over `writers` services, each cat-ing its share of lines."""

    def __init__(self, ctx, kind, writers, per_writer, source):
        self.kind, self.writers = kind, writers
        self.dir = ctx.tmp / f"{kind}-{writers}-{time.monotonic_ns()}"
        self.scan = self.dir / "scan"
        self.expected_lines = writers * per_writer
        run = f"#!/bin/sh\nexec cat {source}\n"
        idle = "#!/bin/sh\nexec sleep 100000\n"
        self.logs = []
        for i in range(writers):
            svc = self.scan / f"w{i:02d}"
            if kind == "svkit":
                write(svc / "run", run + "", 0o755)
                write(svc / "restart", "never")
                write(svc / "log-max-bytes", str(1 << 40))
                self.logs.append(self.dir / "log" / f"w{i:02d}")
            elif kind == "s6":
                write(svc / "run", run.replace("exec cat", "cat") + "exec sleep 100000\n", 0o755)
                write(svc / "log" / "run", f"#!/bin/sh\nexec s6-log T s4000000000 {svc}/log/main\n", 0o755)
                self.logs.append(svc / "log" / "main")
            elif kind == "runit":
                write(svc / "run", run.replace("exec cat", "cat") + "exec sleep 100000\n", 0o755)
                write(svc / "log" / "run", "#!/bin/sh\nexec svlogd -tt ./main\n", 0o755)
                write(svc / "log" / "main" / "config", "s4000000000\n")
                self.logs.append(svc / "log" / "main")
        if kind == "supervisord":
            conf = ["[supervisord]", f"logfile={self.dir}/supervisord.log", "nodaemon=true",
                    f"pidfile={self.dir}/supervisord.pid", f"childlogdir={self.dir}", ""]
            for i in range(writers):
                out = self.dir / "logs" / f"w{i:02d}"
                out.mkdir(parents=True)
                conf += [f"[program:w{i:02d}]", f"command=/bin/sh -c 'cat {source}; exec sleep 100000'",
                         "autorestart=false", f"stdout_logfile={out}/current",
                         "stdout_logfile_maxbytes=0", "redirect_stderr=true", ""]
                self.logs.append(out)
            write(self.dir / "supervisord.conf", "\n".join(conf))
        self.scan.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, SVKIT_SCANDIR=str(self.scan), SVKIT_RUNDIR=str(self.dir / "run"),
                        SVKIT_LOG_DIR=str(self.dir / "log"), SVKIT_STATE_DIR=str(self.dir / "state"),
                        SVKIT_LIBEXEC=str(ctx.libexec), SVKIT_CONSOLE="on")
        self.argv = {
            "svkit": [str(ctx.libexec / "svscan"), str(self.scan)],
            "s6": ["s6-svscan", str(self.scan)],
            "runit": ["runsvdir", str(self.scan)],
            "supervisord": ["supervisord", "-c", str(self.dir / "supervisord.conf")],
        }[kind]
        self.proc = None
        self.offsets, self.counted = {}, 0

    def count_new_lines(self):
        """Lines logged so far: only the bytes added since the last call are read."""
        for folder in self.logs:
            path = Path(folder) / "current"
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets.get(path, 0))
                    while chunk := f.read(1 << 20):
                        self.counted += chunk.count(b"\n")
                    self.offsets[path] = f.tell()
            except OSError:
                pass
        return self.counted

    def loggers(self):
        """The processes that do the logging: svkit's supervise, s6-log, svlogd, supervisord."""
        table = core.process_table()
        mine = core.descendants([self.proc.pid]) | {self.proc.pid}
        comm = {"svkit": "supervise", "s6": "s6-log", "runit": "svlogd", "supervisord": None}[self.kind]
        if comm is None:
            return [self.proc.pid]
        return [p for p in mine if p in table and table[p][3] == comm]

    def run(self):
        """Seconds until every line is logged, and the loggers' CPU ms."""
        null = open(os.devnull, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=null,
                                     stderr=open(self.dir / "scanner.err", "wb"), start_new_session=True)
        core.TRACK.add(self.proc.pid, "scanner", self.kind)
        # Until every line is there, or nothing more came for 10 s (then lines were lost).
        last, last_progress = 0, t0
        while self.count_new_lines() < self.expected_lines:
            now = time.monotonic()
            if self.counted != last:
                last, last_progress = self.counted, now
            elif now - last_progress > (10 if last else 120):
                break
            time.sleep(0.005)
        elapsed = (time.monotonic() if self.counted >= self.expected_lines else last_progress) - t0
        cpu = sum(core.on_cpu_ns(p) or 0 for p in self.loggers()) / 1e6
        return elapsed, cpu

    def stop(self):
        for pid in core.descendants([self.proc.pid]):
            core.TRACK.add(pid, "service", self.kind)
        self.proc.send_signal(signal.SIGTERM if self.kind != "runit" else signal.SIGHUP)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        core.TRACK.kill_leftovers(self.kind)


def memory_after_burst(ctx, source):
    """svkit's supervise: private KiB of an idle supervise, then after a burst of output."""
    s = Setup(ctx, "svkit", 1, 0, source)
    (s.scan / "w00" / "run").write_text(f"#!/bin/sh\nread x < {s.dir}/go\ncat {source}\nexec sleep 100000\n")
    os.mkfifo(s.dir / "go")
    s.proc = subprocess.Popen(s.argv, env=dict(s.env, SVKIT_CONSOLE="on"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not s.loggers():
            if time.monotonic() > deadline:
                raise TimeoutError("no supervise")
            time.sleep(0.05)
        time.sleep(1)
        sup = s.loggers()[0]
        before = core.private_kib(sup)
        with open(s.dir / "go", "w") as f:
            f.write("go\n")
        s.expected_lines = source.stat().st_size // LINE
        while s.count_new_lines() < s.expected_lines:
            time.sleep(0.01)
        time.sleep(1)
        after = core.private_kib(sup)
    finally:
        s.stop()
    return before, after


def main():
    args = parse_args()
    kinds = [k for k in args.supervisors.split(",") if k]
    wanted = [k for k in kinds if k != "svkit"]
    core.install_peers(wanted, [k for k in ("s6", "runit") if k in wanted])
    if "supervisord" in kinds and not shutil.which("supervisord"):
        subprocess.run([str(core.REPO / "scripts/install-deps.sh"), "supervisor"], check=True)
    ctx = core.make_workspace(args.build, core.SVKIT_PROGRAMS, "svkit-logs-", 4096)
    core.become_subreaper()
    results = {}
    try:
        for writers in [int(w) for w in args.writers.split(",")]:
            per_writer = args.lines // writers
            source = lines_file(ctx.tmp, per_writer)
            for kind in kinds:
                times, cpus = [], []
                for _ in range(args.rounds):
                    s = Setup(ctx, kind, writers, per_writer, source)
                    try:
                        t, cpu = s.run()
                        lost = per_writer * writers - s.count_new_lines()
                    finally:
                        s.stop()
                        shutil.rmtree(s.dir, ignore_errors=True)
                    times.append(t)
                    cpus.append(cpu)
                med_t, med_cpu = sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]
                results.setdefault(str(writers), {})[kind] = {
                    "seconds": round(med_t, 3), "lines_per_s": round(per_writer * writers / med_t),
                    "cpu_ms_per_million": round(med_cpu * 1e6 / (per_writer * writers), 1),
                    "lost": lost}
        if "svkit" in kinds:
            before, after = memory_after_burst(ctx, lines_file(ctx.tmp, 200_000))
            results["svkit_memory_kib"] = {"idle": before, "after_burst": after}
    finally:
        ctx.cleanup()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(core.machine())
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}\n")
    for writers, by_kind in results.items():
        if writers == "svkit_memory_kib":
            continue
        print(f"{args.lines:,} lines of {LINE} bytes from {writers} writer(s):")
        best_t = min(v["seconds"] for v in by_kind.values())
        ref = by_kind.get("s6")
        for kind, v in by_kind.items():
            vs = ""
            if ref and kind != "s6":
                vs = (f"  x{v['seconds'] / ref['seconds']:.2f} s6-log's time, "
                      f"x{v['cpu_ms_per_million'] / max(ref['cpu_ms_per_million'], 0.1):.2f} its CPU")
            print(f"  {kind:<12} {v['seconds']:8.3f} s  {v['lines_per_s']:>10,} lines/s  "
                  f"{v['cpu_ms_per_million']:8.1f} ms CPU per million  lost {v['lost']}"
                  f"  (x{v['seconds'] / best_t:.2f} best){vs}")
        print()
    if "svkit_memory_kib" in results:
        m = results["svkit_memory_kib"]
        print(f"svkit supervise private memory: {m['idle']} KiB idle, {m['after_burst']} KiB after a "
              f"burst of 200,000 lines (goal: within 8 KiB)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
