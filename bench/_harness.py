"""What every benchmark needs: PostgreSQL, a fresh database, seeding, a gunicorn server, a load runner.

Benchmarks (bench/NAME.py) import this; it never imports Django itself (the load generator stays
light) — seeding runs in a child process (bench/_seed.py) with the benchmark's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The venv bench/run runs this in (.venv-bench): the server, the seeding and the workers use the same Python.
VENV_PY = Path(sys.executable)
SEATPLAN = VENV_PY.parent / "seatplan"
RESULTS = BENCH_DIR / "results"  # git-ignored: server logs, seed files
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
DB_NAME = "seatplan_bench"

_T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --- signals: turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop the server -------------


def _exit_on_signal(signum, frame):  # noqa: ANN001
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _exit_on_signal)


# --- database -----------------------------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            PG_USER,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )


def ensure_postgres() -> None:
    ready = ["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT)]
    if subprocess.run(ready).returncode == 0:
        return
    log("PostgreSQL is not answering; starting cluster 15/main")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"], check=True)
    for _ in range(60):
        if subprocess.run(ready).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come up on 127.0.0.1:5432")


def bench_env(db_name: str = DB_NAME) -> dict[str, str]:
    """The environment of every Seatplan process the benchmark starts."""
    env = dict(os.environ)
    env.update(
        {
            "SEATPLAN_DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}",
            "SEATPLAN_SANDBOX": "1",
            "SEATPLAN_BENCHMARK": "1",
            "SEATPLAN_CONN_MAX_AGE": "600",
            "SEATPLAN_DEBUG": "0",
            "SEATPLAN_VAR_DIR": str(RESULTS / "var"),
            "SEATPLAN_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "DJANGO_SETTINGS_MODULE": "seatplan.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def fresh_database(db_name: str = DB_NAME) -> dict[str, str]:
    """Drop and recreate the database, migrate it; returns the environment pointing at it."""
    ensure_postgres()
    RESULTS.mkdir(parents=True, exist_ok=True)
    _psql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{db_name}"')
    env = bench_env(db_name)
    t = time.monotonic()
    subprocess.run([str(SEATPLAN), "migrate"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    log(f"database {db_name} created and migrated in {time.monotonic() - t:.1f}s")
    return env


def seed(env: dict[str, str], kind: str, **params) -> dict:
    """Run bench/_seed.py KIND in a Django process; returns what it wrote (JSON)."""
    out = RESULTS / f"seed-{kind}.json"
    t = time.monotonic()
    subprocess.run(
        [str(VENV_PY), str(BENCH_DIR / "_seed.py"), kind, str(out), json.dumps(params)], check=True, env=env, cwd=ROOT
    )
    data = json.loads(out.read_text())
    log(f"seeded {kind} {params} in {time.monotonic() - t:.1f}s")
    return data


# --- server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving seatplan.wsgi in its own process group; always stopped on exit."""

    def __init__(self, env: dict[str, str], *, workers: int, threads: int, name: str) -> None:
        self.env, self.workers, self.threads = env, workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = RESULTS / f"gunicorn-{name}.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self._log = self.log_path.open("w")
        cmd = [
            str(VENV_PY),
            "-m",
            "gunicorn",
            "seatplan.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--backlog",
            "256",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--preload",  # the workers share the application's pages (docs/deployment.md)
        ]
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 0),
        )
        log(
            f"gunicorn pid {self.proc.pid} on {self.url} ({self.workers} workers x {self.threads} threads), "
            f"log {self.log_path.relative_to(ROOT)}"
        )
        return self

    def wait_ready(self, probe: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if probe():
                    log("server answers")
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {timeout}s; see {self.log_path}")

    def errors_in_log(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [
            line
            for line in text.splitlines()
            if "Traceback" in line or "ERROR" in line or "Internal Server Error" in line
        ]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        log("server stopped")

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()
        self._log.close()


# --- CPU accounting (Linux /proc) ---------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server_pgid: int | None) -> dict[str, float]:
    """CPU seconds used so far by the server's processes, PostgreSQL's, and the whole machine (busy)."""
    out = {"server": 0.0, "postgres": 0.0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        if server_pgid is not None and int(fields[2]) == server_pgid:
            out["server"] += cpu
        elif comm == "postgres":
            out["postgres"] += cpu
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    out["machine_busy"] = (sum(ticks) - ticks[3] - ticks[4]) / _TICK  # all but idle and iowait
    out["machine_total"] = sum(ticks) / _TICK
    return out


# --- load ---------------------------------------------------------------------------------------


class Reply:
    """What a load client needs of an HTTP response."""

    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self):  # noqa: ANN201
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class HttpClient:
    """HTTP/1.1 for one load client, written on a plain socket: one connection per request.

    The load generator shares the machine's two cores with the server and PostgreSQL, so it should cost
    as little as possible. gunicorn's sync workers close the connection after every response anyway, so
    each request says `Connection: close`, sends its bytes, and reads until the server closes: no header
    parsing beyond the status line, and no keep-alive bookkeeping (about half the CPU of `http.client`,
    which in turn cost about a third of what httpx did).
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        rest = base_url.removeprefix("http://")
        host_port, _, prefix = rest.partition("/")
        host, _, port = host_port.partition(":")
        self.prefix = "/" + prefix if prefix else ""
        self.address = (socket.gethostbyname(host), int(port or 80))
        self.host, self.timeout = host_port, timeout

    def request(
        self, method: str, path: str, *, json_body: object = None, headers: dict[str, str] | None = None
    ) -> Reply:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = [
            f"{method} {self.prefix}{path} HTTP/1.1",
            f"Host: {self.host}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ]
        if json_body is not None:
            head.append("Content-Type: application/json")
        head.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.address)
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        raw = b"".join(chunks)
        status_line, _, rest = raw.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP response: {raw[:80]!r}")
        _, _, content = rest.partition(b"\r\n\r\n")
        return Reply(int(parts[1]), content)

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, *, json: object = None, headers: dict[str, str] | None = None) -> Reply:  # noqa: A002
        return self.request("POST", path, json_body=json, headers=headers)

    def delete(self, path: str, *, headers: dict[str, str] | None = None) -> Reply:
        return self.request("DELETE", path, headers=headers)

    def close(self) -> None:
        pass  # every request closes its own connection


@dataclass
class PhaseResult:
    name: str
    clients: int
    duration_s: float
    ops: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # seconds into the window, per operation
    errors: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the phase, by who

    def cpu_ms_per_op(self, who: str) -> float:
        return self.cpu.get(who, 0.0) / self.ops * 1000 if self.ops else float("nan")

    @property
    def per_s(self) -> float:
        return self.ops / self.duration_s if self.duration_s else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    def rate_by_second(self) -> dict[str, float | int]:
        """Operations finished in each second of the window: the slowest, median and fastest second, and
        how many seconds ran at under half the median (the machine stalled: a shared VM's CPU is
        sometimes taken away for a second or more, and those seconds carry the tail)."""
        per_second = [0] * max(1, int(self.duration_s))
        for t in self.finished_at:
            per_second[min(len(per_second) - 1, int(t))] += 1
        ordered = sorted(per_second)
        median = ordered[len(ordered) // 2]
        return {
            "min": ordered[0],
            "median": median,
            "max": ordered[-1],
            "stalled_seconds": sum(1 for n in per_second if n < median / 2),
        }

    def summary(self) -> str:
        return (
            f"{self.name}: {self.ops} ops in {self.duration_s:.1f}s = {self.per_s:.1f}/s, "
            f"p50 {self.pct(50):.1f} ms, p99 {self.pct(99):.1f} ms, errors {len(self.errors)}, "
            f"load-generator CPU {self.client_cpu_s:.1f}s"
            + (
                f"; CPU ms/op: server {self.cpu_ms_per_op('server'):.1f}, "
                f"postgres {self.cpu_ms_per_op('postgres'):.1f}, "
                f"load generator {self.client_cpu_s / max(self.ops, 1) * 1000:.1f}; "
                f"machine busy {self.cpu['machine_busy_pct']:.0f}%"
                if self.cpu
                else ""
            )
        )


def run_phase(
    name: str,
    workers: list[Callable[[], float | None]],
    duration: float,
    *,
    warmup: float = 0.0,
    record: bool = True,
    server_pgid: int | None = None,
) -> PhaseResult:
    """Run one callable per client in a loop: `warmup` seconds, then `duration` seconds measured.

    Each call does one operation and returns its latency in ms, or None when it did nothing
    (e.g. the client ran out of work); it raises on failure (counted, the loop goes on).
    The clients run without a pause from the warm-up into the measured window, so the window sees the
    steady state: clients that started together (as they do at the start of a phase) send their first
    requests in step, and that burst takes a few seconds to spread out. An operation counts if it
    starts in the window and finishes before its end; the CPU counters are read at its two ends.
    """
    result = PhaseResult(name=name, clients=len(workers), duration_s=duration)
    lock = threading.Lock()
    start_barrier = threading.Barrier(len(workers) + 1)
    state = {"opens": 0.0, "deadline": 0.0}

    def loop(op: Callable[[], float | None]) -> None:
        start_barrier.wait()
        opens, deadline = state["opens"], state["deadline"]
        while (began := time.monotonic()) < deadline:
            try:
                ms = op()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    result.errors.append(str(exc)[:300])
                continue
            if ms is None:
                time.sleep(0.01)
                continue
            if record and began >= opens and (done := time.monotonic()) <= deadline:
                with lock:
                    result.ops += 1
                    result.latencies_ms.append(ms)
                    result.finished_at.append(done - opens)

    threads = [threading.Thread(target=loop, args=(op,), daemon=True) for op in workers]
    for t in threads:
        t.start()
    state["opens"] = time.monotonic() + warmup
    state["deadline"] = state["opens"] + duration
    start_barrier.wait()
    time.sleep(max(0.0, state["opens"] - time.monotonic()))
    cpu0, snap0 = sum(os.times()[:2]), cpu_snapshot(server_pgid)
    time.sleep(max(0.0, state["deadline"] - time.monotonic()))
    snap1 = cpu_snapshot(server_pgid)  # at the deadline: the work counted, not the stragglers
    client_cpu1 = sum(os.times()[:2])
    for t in threads:
        t.join()
    result.client_cpu_s = client_cpu1 - cpu0
    result.cpu = {k: snap1[k] - snap0[k] for k in ("server", "postgres")}
    result.cpu["machine_busy_pct"] = (
        100
        * (snap1["machine_busy"] - snap0["machine_busy"])
        / max(snap1["machine_total"] - snap0["machine_total"], 1e-9)
    )
    if record:
        log(result.summary())
        for err in sorted(set(result.errors))[:5]:
            log(f"  error: {err}")
    return result


def emit(result: dict) -> None:
    """The machine-readable result: the LAST line on stdout (with the Python it ran on)."""
    result = {**result, "python": f"{platform.python_version()} {Path(sys.base_prefix, 'bin')}"}
    print(json.dumps(result), flush=True)


def prioritise_clients(nice: int) -> None:
    """Run the load generator ahead of the server on the shared cores.

    The clients stand for callers on other machines: when the server's processes keep both cores busy,
    a client that waits for a core to read its answer adds that wait to the latency it measures, and
    sends its next request late. The server (started with priority 0) and PostgreSQL still get all the
    CPU the clients do not use, which is about 5 % of it. Needs root; otherwise the run says so.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except OSError as exc:
        log(f"load generator left at its priority ({exc}): latencies include its waits for a core")


def load_arguments(
    prog: str,
    doc: str | None,
    quick_help: str,
    argv: list[str],
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The options every HTTP load benchmark takes; phase lengths and accounts resolved for --quick."""
    p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (default 1)")
    p.add_argument("--duration", type=float, help="seconds per measured phase (default 30, quick 8)")
    p.add_argument("--warmup", type=float, help="seconds of unmeasured load first (default 5, quick 2)")
    p.add_argument("--accounts", type=int, help="accounts seeded (default 400, quick 100)")
    p.add_argument(
        "--client-nice",
        type=int,
        default=-10,
        help="scheduling priority of the load generator (default -10; the server runs at 0)",
    )
    if extra:
        extra(p)
    args = p.parse_args(argv)
    prioritise_clients(args.client_nice)
    args.duration = args.duration or (8.0 if args.quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 5.0)
    args.accounts = args.accounts or (100 if args.quick else 400)
    args.error = p.error
    return args
