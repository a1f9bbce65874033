#!/usr/bin/env python3
"""svinit's HTTP endpoint (issue 12) over N services, beside `svctl stat --json` and supervisord.

svinit runs as an ordinary process (a child subreaper, not PID 1) over N static services, each
`exec sleep 100000`. With SVKIT_HTTP_LISTEN=127.0.0.1:0 it picks a free port and logs
`http: listening on 127.0.0.1:PORT`; the bench reads the port from that line. Measured:

  latency        GET /metrics, /readyz, /readyz?verbose, /status, /livez: --requests each, one
                 TCP connection per request (svinit answers with Connection: close), from the
                 request's start until the last byte of the answer; median and p90
  CPU/request    svinit's on-CPU time (schedstat) over those requests, less its idle rate, / requests
  memory         svinit's private memory (Private_Clean + Private_Dirty, smaps_rollup) in a boot
                 without the endpoint, and with it before the first request and after them all
  svctl          `svctl stat --json` over the same N services, run as a process: wall time, and
                 the process's own CPU (wait4's rusage)
  supervisord    N programs (`/bin/sleep 100000`), XML-RPC supervisor.getAllProcessInfo over its
                 inet_http_server: wall time of the exchange, and supervisord's CPU per call
  Prometheus     (--prometheus) a real Prometheus server (Debian's package, extracted into the
                 cache folder, never installed) scrapes svinit every second; one service's run is
                 SIGKILLed, and the bench waits until Prometheus's API reports
                 svkit_service_restarts_total{service=NAME} = 1

Goals (issue 12): a scrape of 1,000 services under 20 ms; under 1 MiB of private memory added.
Unprivileged (Prometheus's first download needs apt-get); Python 3.9+, standard library only.
"""
import os
import sys

# This file's own name shadows the standard library's `http` package while its folder is first
# on sys.path: the standard library first, then bench/ for core.py.
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != HERE]

import argparse  # noqa: E402
import glob  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import xmlrpc.client  # noqa: E402
from pathlib import Path  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, HERE)
import core  # noqa: E402

PROGRAMS = ("supervise", "svscan", "svctl", "svinit")
RUN_SCRIPT = "#!/bin/sh\nexec sleep 100000\n"
PATHS = ("/metrics", "/readyz", "/readyz?verbose", "/status", "/livez")
UP_TIMEOUT = 180.0       # s: every service (or supervisord program) up
STOP_TIMEOUT = 60.0      # s: svinit's stage 3, supervisord's shutdown
LISTEN_TIMEOUT = 10.0    # s: svinit logs its listening line right after it starts
PROMETHEUS_TIMEOUT = 60.0
SETTLE = 1.0             # s: after bring-up, before memory and idle-CPU samples
IDLE_SAMPLE = 1.0        # s: a server's idle CPU rate, subtracted from its CPU per request
CACHE = core.REPO / "bench" / ".cache"  # gitignored (bench/.gitignore)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10.0):
    """(status, body) of one GET over a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def idle_cpu_rate(pid):
    """A server's on-CPU ns per second while nobody asks it anything (its background work)."""
    n0, t0 = core.on_cpu_ns(pid), time.monotonic()
    time.sleep(IDLE_SAMPLE)
    return (core.on_cpu_ns(pid) - n0) / (time.monotonic() - t0)


def timed_calls(call, n, server_pid, idle_rate, warmup=3):
    """Run call() n times (after `warmup` untimed calls); its latencies (ms) and the server's
    on-CPU ms per call, less what the server burns when idle over the same time."""
    for _ in range(warmup):
        call()
    latencies = []
    n0, t0 = core.on_cpu_ns(server_pid), time.monotonic()
    for _ in range(n):
        start = core.now_ms()
        call()
        latencies.append(core.now_ms() - start)
    cpu_ns = core.on_cpu_ns(server_pid) - n0 - idle_rate * (time.monotonic() - t0)
    return {"median_ms": statistics.median(latencies), "p90_ms": core.p90(latencies),
            "cpu_ms": max(0.0, cpu_ns) / 1e6 / n}


# ---------------------------------------------------------------- svinit

class Svinit:
    """svinit over the static services of `services_dir`, in its own folder."""

    def __init__(self, ctx, services_dir, tag, http_on):
        self.ctx, self.tag, self.http_on = ctx, tag, http_on
        self.dir = ctx.tmp / tag
        (self.dir / "cont-init.d").mkdir(parents=True)
        self.env = dict(os.environ, SVKIT_SCANDIR=str(self.dir / "service"),
                        SVKIT_RUNDIR=str(self.dir / "run"), SVKIT_LOG_DIR=str(self.dir / "log"),
                        SVKIT_STATE_DIR=str(self.dir / "state"), SVKIT_LIBEXEC=str(ctx.libexec),
                        SVKIT_SERVICES_DIR=str(services_dir),
                        SVKIT_CONT_INIT_DIR=str(self.dir / "cont-init.d"),
                        SVKIT_SERVICES_GRACETIME="10000")
        self.env.pop("SVKIT_HTTP_LISTEN", None)
        if http_on:
            self.env["SVKIT_HTTP_LISTEN"] = "127.0.0.1:0"
        self.log_path = self.dir / "svinit.log"
        self.proc, self.port = None, None

    def start(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(self.ctx.libexec / "svinit")], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        core.TRACK.add(self.proc.pid, "scanner", self.tag)
        self.ctx.popens.append(self.proc)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_listening(self):
        """The port from svinit's `http: listening on ADDR:PORT` line (setup: polled, deadline)."""
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while True:
            text = self.log()
            m = re.search(r"http: listening on (\S+):(\d+)", text)
            if m:
                self.port = int(m.group(2))
                return self.port
            bad = re.search(r".*SVKIT_HTTP_LISTEN.*", text)
            if bad:
                raise RuntimeError(f"svinit: {bad.group(0).strip()}")
            if self.proc.poll() is not None:
                raise RuntimeError(f"svinit exited {self.proc.returncode}: {text[-500:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"svinit logged no 'http: listening on' line in {LISTEN_TIMEOUT:.0f} s: "
                                   "this svinit has no HTTP endpoint (SVKIT_HTTP_LISTEN)")
            time.sleep(0.05)

    def svctl(self, *argv, **kw):
        return subprocess.run([str(self.ctx.libexec / "svctl"), *argv], env=self.env, **kw)

    def wait_up(self, names):
        """Every service up (`svctl wait up`, event-driven, once stage 1 has copied the service
        folders into the scandir: polled with a deadline), then svinit's own readiness."""
        scandir, deadline = Path(self.env["SVKIT_SCANDIR"]), time.monotonic() + UP_TIMEOUT
        while not all((scandir / name).is_dir() for name in names):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"svinit: the scandir never got its {len(names)} services "
                                   f"(exit {self.proc.poll()}): {self.log()[-300:]}")
            time.sleep(0.05)
        r = self.svctl("wait", "up", "-t", str(int(UP_TIMEOUT * 1000)), *names,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"svctl wait up exited {r.returncode}: {r.stderr.strip()[:300]}")
        if self.port:
            deadline = time.monotonic() + 30
            while http_get(self.port, "/readyz")[0] != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("GET /readyz is not 200 within 30 s of every service up")
                time.sleep(0.05)
        for pid in core.descendants([self.proc.pid]):
            core.TRACK.add(pid, "service", self.tag)

    def status(self, *names):
        r = self.svctl("stat", "--json", *names, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"svctl stat --json exited {r.returncode}: {r.stderr.strip()[:300]}")
        return json.loads(r.stdout)

    def stop(self):
        if self.proc is None:
            return None
        code = None
        if self.proc.poll() is None:
            for pid in core.descendants([self.proc.pid]):
                core.TRACK.add(pid, "service", self.tag)
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        core.TRACK.kill_leftovers(self.tag)
        return code


def make_services(path, names):
    for name in names:
        svc = path / name
        svc.mkdir(parents=True)
        (svc / "run").write_text(RUN_SCRIPT)
        (svc / "run").chmod(0o755)
        (svc / "restart-min-interval").write_text("0\n")


def svctl_timing(init, n):
    """`svctl stat --json` as a process: wall ms from spawn to exit, and its own CPU (rusage)."""
    argv = [str(init.ctx.libexec / "svctl"), "stat", "--json"]
    walls, cpus = [], []
    for i in range(n + 1):
        t0 = core.now_ms()
        p = subprocess.Popen(argv, env=init.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = core.now_ms() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise RuntimeError(f"svctl stat --json exited {p.returncode}")
        if i:  # the first run warms the page cache
            walls.append(wall)
            cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
    return {"median_ms": statistics.median(walls), "p90_ms": core.p90(walls),
            "cpu_ms": statistics.median(cpus)}


def bench_svinit_off(ctx, services_dir, names, args, out):
    """A boot without the endpoint: svinit's private memory, and `svctl stat --json`."""
    init = Svinit(ctx, services_dir, "off", http_on=False).start()
    try:
        init.wait_up(names)
        time.sleep(SETTLE)
        out["mem_off_kib"] = core.private_kib(init.proc.pid)
        statuses = init.status()
        if len(statuses) != len(names) or not all(s.get("state") == "up" for s in statuses):
            raise RuntimeError(f"svctl stat --json: {len(statuses)} services, not all up")
        r = init.svctl("stat", "--json", capture_output=True)
        out["bytes"]["svctl"] = len(r.stdout)
        out["rows"]["svctl"] = svctl_timing(init, args.svctl_runs)
    finally:
        out["exit_off"] = init.stop()


def check_answer(path, status, body, n):
    """What each path must answer with every service up; an error line otherwise."""
    if status != 200:
        return f"GET {path}: {status} {body[:200]!r}"
    if path == "/metrics":
        text = body.decode()
        restarts = len(re.findall(r'^svkit_service_restarts_total\{service="[^"]+"\} 0$', text, re.M))
        states = len(re.findall(r'^svkit_service_state\{service="[^"]+",state="up"\} 1$', text, re.M))
        if restarts != n or states != n:
            return (f"GET /metrics: {restarts} svkit_service_restarts_total ... 0 and {states} "
                    f"svkit_service_state{{...,state=\"up\"}} 1 lines for {n} services")
    elif path == "/status":
        data = json.loads(body)
        if len(data) != n or not all(s.get("state") == "up" for s in data):
            return f"GET /status: {len(data)} entries for {n} services, not all up"
    elif path.startswith("/readyz"):
        if not body.rstrip().endswith(b"ok" if path == "/readyz" else b"readyz check passed"):
            return f"GET {path}: {body[-200:]!r}"
    return None


def bench_svinit_on(ctx, services_dir, names, args, out, prometheus):
    """A boot with the endpoint: memory before and after, every path's latency and CPU, then
    (when given a Prometheus binary) the real scrape."""
    init = Svinit(ctx, services_dir, "on", http_on=True).start()
    try:
        port = init.wait_listening()
        out["http"] = f"127.0.0.1:{port}"
        init.wait_up(names)
        time.sleep(SETTLE)
        pid = init.proc.pid
        out["mem_on_kib"] = core.private_kib(pid)
        idle = idle_cpu_rate(pid)
        out["svinit_idle_ms_per_s"] = idle / 1e6
        for path in PATHS:
            status, body = http_get(port, path)
            error = check_answer(path, status, body, len(names))
            if error:
                raise RuntimeError(error)
            out["bytes"][path] = len(body)

            def call(path=path):
                status, _ = http_get(port, path)
                if status != 200:
                    raise RuntimeError(f"GET {path}: {status}")
            out["rows"][path] = timed_calls(call, args.requests, pid, idle)
        time.sleep(SETTLE)
        out["mem_on_after_kib"] = core.private_kib(pid)
        if prometheus:
            try:
                out["prometheus"] = prometheus_check(ctx, init, names, prometheus)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                out["prometheus"] = {"error": str(e)}
    finally:
        out["exit_on"] = init.stop()


# ---------------------------------------------------------------- supervisord

def bench_supervisord(ctx, names, args, out):
    """N programs under supervisord; XML-RPC supervisor.getAllProcessInfo over its inet_http_server."""
    d = ctx.tmp / "supervisord"
    d.mkdir()
    port = free_port()
    conf = ["[supervisord]", "nodaemon=true", "loglevel=warn", f"logfile={d}/supervisord.log",
            f"pidfile={d}/supervisord.pid", f"childlogdir={d}", f"minfds={4 * len(names) + 256}", "",
            "[inet_http_server]", f"port=127.0.0.1:{port}", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", ""]
    for name in names:
        conf += [f"[program:{name}]", "command=/bin/sleep 100000", "startsecs=0", "autorestart=true",
                 "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
    (d / "supervisord.conf").write_text("\n".join(conf))
    log = open(d / "stdout.log", "wb")
    proc = subprocess.Popen(["supervisord", "-c", str(d / "supervisord.conf")], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    core.TRACK.add(proc.pid, "scanner", "supervisord")
    ctx.popens.append(proc)
    url = f"http://127.0.0.1:{port}/RPC2"
    body = xmlrpc.client.dumps((), "supervisor.getAllProcessInfo").encode()

    def raw_call():
        """The whole exchange, answer read to its last byte, not parsed (as for svinit)."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"supervisord XML-RPC: {resp.status}")
            return data
        finally:
            conn.close()

    def proxy_call():
        """The same through xmlrpc.client.ServerProxy, a new connection each time, parsed."""
        with xmlrpc.client.ServerProxy(url) as proxy:
            return proxy.supervisor.getAllProcessInfo()

    try:
        deadline, t0 = time.monotonic() + UP_TIMEOUT, time.monotonic()
        running = -1
        while running != len(names):
            if proc.poll() is not None:
                raise RuntimeError(f"supervisord exited {proc.returncode}: "
                                   f"{(d / 'supervisord.log').read_text(errors='replace')[-300:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord: {running} of {len(names)} RUNNING after {UP_TIMEOUT:.0f} s")
            time.sleep(0.5)  # setup only: polled with a deadline
            try:
                running = sum(1 for p in proxy_call() if p["statename"] == "RUNNING")
            except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                running = -1
        out["supervisord_up_s"] = time.monotonic() - t0
        for pid in core.descendants([proc.pid]):
            core.TRACK.add(pid, "service", "supervisord")
        time.sleep(SETTLE)
        idle = idle_cpu_rate(proc.pid)
        out["supervisord_idle_ms_per_s"] = idle / 1e6
        out["bytes"]["supervisord"] = len(raw_call())
        # About a second a call at 1,000 programs: fewer calls than for svinit.
        out["rows"]["supervisord"] = timed_calls(raw_call, args.supervisord_requests, proc.pid, idle, 1)
        out["rows"]["supervisord_proxy"] = timed_calls(proxy_call, args.supervisord_requests, proc.pid,
                                                       idle, 1)
        out["mem_supervisord_kib"] = core.private_kib(proc.pid)
    finally:
        if proc.poll() is None:
            for pid in core.descendants([proc.pid]):
                core.TRACK.add(pid, "service", "supervisord")
            # Its shutdown is not measured, and it stops about two programs a second (8 minutes
            # for 1,000): SIGTERM, two seconds, then SIGKILL, and the bench (a subreaper) kills
            # the programs it leaves, by pid.
            core.terminate(proc, 2)
        core.TRACK.kill_leftovers("supervisord")


# ---------------------------------------------------------------- Prometheus

def get_prometheus(cache):
    """A prometheus binary: on PATH, or Debian's package downloaded (`apt-get download`, not
    installed: no service is started) and extracted into `cache`. (path, None) or (None, why)."""
    found = shutil.which("prometheus")
    if found:
        return found, None
    root = cache / "prometheus"
    binary = root / "usr" / "bin" / "prometheus"
    if binary.exists():
        return str(binary), None
    cache.mkdir(parents=True, exist_ok=True)

    def download():
        return subprocess.run(["apt-get", "download", "prometheus"], cwd=cache, capture_output=True,
                              text=True)
    try:
        r = download()
        if r.returncode != 0 and os.geteuid() == 0:  # no package lists yet
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            r = download()
        debs = sorted(glob.glob(str(cache / "prometheus_*.deb")))
        if r.returncode != 0 or not debs:
            return None, f"apt-get download prometheus failed: {(r.stderr or r.stdout).strip()[-200:]}"
        tmp = cache / "prometheus.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", debs[-1], str(tmp)], check=True, capture_output=True)
        tmp.rename(root)
        for deb in debs:
            os.unlink(deb)
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"cannot get prometheus: {e}"
    return (str(binary), None) if binary.exists() else (None, f"no usr/bin/prometheus in the package")


def prom_query(port, query):
    """The result vector of an instant query: [(labels, float value)]."""
    status, body = http_get(port, "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    if status != 200:
        raise RuntimeError(f"Prometheus query {query!r}: HTTP {status} {body[:200]!r}")
    data = json.loads(body)
    return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]


def wait_for(what, predicate, timeout):
    """Poll predicate() (a value or None) until it gives a value; a clear error at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, http.client.HTTPException):
            value = None
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prometheus: {what} not seen within {timeout:.0f} s")
        time.sleep(0.1)


def prometheus_check(ctx, init, names, binary):
    """Prometheus scrapes svinit every second; SIGKILL one service's run; until Prometheus's API
    says svkit_service_restarts_total{service=NAME} is 1."""
    d = ctx.tmp / "prometheus"
    (d / "data").mkdir(parents=True)
    port = free_port()
    (d / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: svkit\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{init.port}']\n")
    log = open(d / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/data",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            cwd=d, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    core.TRACK.add(proc.pid, "prometheus", "prometheus")
    ctx.popens.append(proc)
    victim = names[len(names) // 2]
    series = f'svkit_service_restarts_total{{service="{victim}"}}'
    out = {"victim": victim}
    try:
        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited {proc.returncode}: "
                                   f"{(d / 'prometheus.log').read_text(errors='replace')[-400:]}")
            return True if http_get(port, "/-/ready")[0] == 200 else None
        wait_for("/-/ready", ready, PROMETHEUS_TIMEOUT)
        first = wait_for(f"{series} (the first scrape)", lambda: prom_query(port, series) or None,
                         PROMETHEUS_TIMEOUT)
        out["before"] = first[0][1]
        if out["before"] != 0:
            raise RuntimeError(f"{series} is {out['before']} before any kill")
        (status,) = init.status(victim)
        pid, start = status["pid"], status["pid_start_time"]
        st = core.proc_stat(pid)
        if not st or st[2] != start or pid not in core.descendants([init.proc.pid]):
            raise RuntimeError(f"{victim}'s pid {pid} is not its run (start time {start})")
        core.TRACK.add(pid, "service", init.tag)
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_for(f"{series} == 1",
                 lambda: True if any(v == 1 for _, v in prom_query(port, series)) else None,
                 PROMETHEUS_TIMEOUT)
        out["seen_after_s"] = time.monotonic() - t0
        sig = prom_query(port, f'svkit_service_last_exit_signal{{service="{victim}"}}')
        out["last_exit_signal"] = sig[0][1] if sig else None
        for key, query in (("up", 'up{job="svkit"}'),
                           ("scrape_duration_ms", 'scrape_duration_seconds{job="svkit"}'),
                           ("samples", 'scrape_samples_scraped{job="svkit"}')):
            r = prom_query(port, query)
            out[key] = r[0][1] * (1000 if key.endswith("_ms") else 1) if r else None
        r = prom_query(port, 'max_over_time(scrape_duration_seconds{job="svkit"}[1m])')
        out["scrape_duration_max_ms"] = r[0][1] * 1000 if r else None
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
        out["version"] = version[2] if len(version) > 2 else "?"
    finally:
        if proc.poll() is None:
            core.terminate(proc, 30)
    return out


# ---------------------------------------------------------------- report

LABELS = {
    "/metrics": "GET /metrics",
    "/readyz": "GET /readyz",
    "/readyz?verbose": "GET /readyz?verbose",
    "/status": "GET /status",
    "/livez": "GET /livez",
    "svctl": "svctl stat --json (a process)",
    "supervisord": "supervisord getAllProcessInfo",
    "supervisord_proxy": "  the same via xmlrpc.client (parsed)",
}


def report(out, args):
    n = args.services
    rows, nbytes = out["rows"], out["bytes"]
    head = (f"{'request ({:,} services)'.format(n):<40} {'median ms':>10} {'p90 ms':>8} "
            f"{'CPU/req ms':>11} {'bytes':>9} {'x svctl':>8} {'x supervisord':>14}")
    lines = [head, "-" * len(head)]
    svctl, sup = rows.get("svctl"), rows.get("supervisord")
    for key, label in LABELS.items():
        r = rows.get(key)
        if r is None:
            what = "svinit HTTP" if key.startswith("/") else "svctl" if key == "svctl" else "supervisord"
            why = out["errors"].get(what)
            if why:
                lines.append(f"{label:<40} {'-':>10}   (failed: see below)")
            continue
        size = nbytes.get(key.replace("_proxy", ""), 0)
        x_svctl = f"{r['median_ms'] / svctl['median_ms']:.3g}" if svctl and key != "svctl" else ""
        x_sup = (f"{r['median_ms'] / sup['median_ms']:.3g}"
                 if sup and not key.startswith("supervisord") else "")
        lines.append(f"{label:<40} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f} {r['cpu_ms']:>11.3f} "
                     f"{size:>9,} {x_svctl:>8} {x_sup:>14}")
    idle = ", ".join(f"{who} {out[key]:.3f} ms/s" for who, key in (
        ("svinit", "svinit_idle_ms_per_s"), ("supervisord", "supervisord_idle_ms_per_s")) if key in out)
    lines.append("CPU/req: svinit's own on-CPU time (HTTP rows), the svctl process's (rusage), "
                 "supervisord's;\n  less the server's idle rate" + (f" ({idle})" if idle else ""))
    lines.append("")
    off, on, after = out.get("mem_off_kib"), out.get("mem_on_kib"), out.get("mem_on_after_kib")
    def added(kib):
        return f"  ({kib - off:+,})" if off is not None else ""
    if off is not None:
        lines.append(f"svinit private memory, HTTP off:                     {off:>8,} KiB")
    if on is not None:
        lines.append(f"svinit private memory, HTTP on, before any request:  {on:>8,} KiB{added(on)}")
    if after is not None:
        lines.append(f"svinit private memory, HTTP on, after the requests:  {after:>8,} KiB{added(after)}")
    if "mem_supervisord_kib" in out:
        lines.append(f"supervisord private memory ({n:,} programs):        "
                     f"{out['mem_supervisord_kib']:>8,} KiB  (up in {out['supervisord_up_s']:.1f} s)")
    goals = []
    m = rows.get("/metrics")
    if m:
        goals.append(f"a scrape of {n:,} services under 20 ms: "
                     f"{'met' if m['median_ms'] < 20 else 'MISSED'} (median {m['median_ms']:.2f} ms, "
                     f"p90 {m['p90_ms']:.2f} ms)")
    if off is not None and on is not None and after is not None:
        added = max(on, after) - off
        goals.append(f"under 1 MiB private memory added: {'met' if added < 1024 else 'MISSED'} "
                     f"(+{added:,} KiB)")
    if goals:
        lines.append("goals (issue 12):\n  " + "\n  ".join(goals))
    p = out.get("prometheus")
    if p is None:
        lines.append(f"prometheus: {out['errors'].get('prometheus', 'not run (--no-prometheus)')}")
    elif "error" in p:
        lines.append(f"prometheus: FAILED: {p['error']}")
    else:
        lines.append(
            f"prometheus {p['version']}: scraping svinit every 1 s (up {p['up']:.0f}, "
            f"{p['samples']:,.0f} samples a scrape, scrape_duration_seconds {p['scrape_duration_ms']:.1f} ms, "
            f"max over the last minute {p['scrape_duration_max_ms']:.1f} ms);\n"
            f"  SIGKILL of {p['victim']}'s run: Prometheus reports "
            f"svkit_service_restarts_total{{service=\"{p['victim']}\"}} = 1 after {p['seen_after_s']:.2f} s "
            f"(last_exit_signal {p['last_exit_signal']:.0f}): OK")
    return "\n".join(lines)


def machine(prometheus):
    """core.machine(), with this bench's peers (supervisor, prometheus) on its second line."""
    lines = core.machine().split("\n")
    peers = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}  ", "supervisor"],
                           capture_output=True, text=True).stdout.strip()
    if prometheus:
        version = subprocess.run([prometheus, "--version"], capture_output=True, text=True).stdout
        peers += f"  prometheus {version.split()[2] if version.count(' ') > 2 else '?'} ({prometheus})"
    lines[1] = f"peers: {peers}"
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=1000, help="services (and supervisord programs)")
    ap.add_argument("--requests", type=int, default=50, help="timed requests per path (median, p90)")
    ap.add_argument("--svctl-runs", type=int, default=20, help="timed `svctl stat --json` runs")
    ap.add_argument("--supervisord-requests", type=int, default=10,
                    help="timed getAllProcessInfo calls (each way)")
    ap.add_argument("--prometheus", action=argparse.BooleanOptionalAction, default=None,
                    help="a real Prometheus scrapes svinit (default: when its binary can be had)")
    ap.add_argument("--supervisord", action=argparse.BooleanOptionalAction, default=True,
                    help="supervisord's XML-RPC beside it (Debian's supervisor, installed if missing)")
    ap.add_argument("--cache", default=str(CACHE), help="where Prometheus's package is extracted")
    ap.add_argument("--build", default=str(core.REPO / "build"), help="meson build folder")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = ap.parse_args()
    if min(args.services, args.requests, args.svctl_runs, args.supervisord_requests) < 1:
        ap.error("--services, --requests, --svctl-runs, --supervisord-requests >= 1")
    return args


def main():
    args = parse_args()
    if args.supervisord and not shutil.which("supervisord"):
        subprocess.run([str(core.REPO / "scripts/install-deps.sh"), "supervisor"], check=True)
    prometheus, why = None, None
    if args.prometheus is not False:
        prometheus, why = get_prometheus(Path(args.cache).resolve())
        if args.prometheus and not prometheus:
            sys.exit(f"--prometheus: {why}")
    ctx = core.make_workspace(args.build, PROGRAMS, "svkit-bench-http-", 4 * args.services + 256)
    core.become_subreaper()
    names = [f"s{i:04d}" for i in range(args.services)]
    services_dir = ctx.tmp / "services.d"
    make_services(services_dir, names)
    out = {"rows": {}, "bytes": {}, "errors": {}}
    if why:
        out["errors"]["prometheus"] = f"skipped: {why}"
    interrupted = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for what, fn, fn_args in (
                ("svctl", bench_svinit_off, (ctx, services_dir, names, args, out)),
                ("svinit HTTP", bench_svinit_on, (ctx, services_dir, names, args, out, prometheus)),
                ("supervisord", bench_supervisord, (ctx, names, args, out))):
            if what == "supervisord" and not args.supervisord:
                continue
            print(f"# {what}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            try:
                fn(*fn_args)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError,
                    xmlrpc.client.Error, http.client.HTTPException) as e:
                out["errors"][what] = f"error: {e}"
                if what == "svinit HTTP" and prometheus:
                    out["errors"]["prometheus"] = "not run: no HTTP endpoint"
            out.setdefault("phase_s", {})[what] = round(time.monotonic() - t0, 1)
            print(f"#   {out['phase_s'][what]:.1f} s", file=sys.stderr, flush=True)
    except (KeyboardInterrupt, SystemExit) as e:
        interrupted = 130 if isinstance(e, KeyboardInterrupt) else e.code
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.cleanup()
        left = core.TRACK.living() + sorted(core.descendants([os.getpid()]))
        if not args.keep:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(machine(prometheus))
    print(f"settings: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(f"{args.services:,} services, run: exec sleep 100000; svinit not PID 1, "
          f"one connection per request\n")
    print(report(out, args))
    for what, e in out["errors"].items():
        if what != "prometheus":
            print(f"ERROR ({what}): {e}")
    if left:
        print(f"WARNING: still alive after cleanup: {left}")
    if args.keep:
        print(f"kept: {ctx.tmp}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "results": out}, indent=1))
    if interrupted is not None:
        print("INTERRUPTED: partial results")
        sys.exit(interrupted)
    if any(k != "prometheus" for k in out["errors"]) or "error" in (out.get("prometheus") or {}):
        sys.exit(1)


if __name__ == "__main__":
    main()
