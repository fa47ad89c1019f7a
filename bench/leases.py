"""Benchmark `leases`: session lease requests per second against the baseline write, on PostgreSQL.

    bench/run leases [--quick] [--workers 4] [--threads 1] [--clients 16] [--duration S] [--accounts N]

The test cloud's hot path: each of 16 clients keeps up to 2 leases; while it holds fewer it
acquires one on a random account (POST /api/v1/accounts/{acct}/sessions with a fresh
Idempotency-Key: 201 granted, 202 queued, or 429 past the queue), else it releases its oldest
(DELETE /api/v1/sessions/{id}). Acquires and releases are each counted as one request. Accounts
have a limit of 2 and are shared by all clients, so some requests meet a full account and queue.
Over-grants are checked while the load runs (a monitor compares, in one snapshot, each account's
granted leases with its limit, and the pool counters with the leases) and after it. The baseline is
POST /api/v1/bench/baseline, same server, same clients, same duration. The last stdout line is the
JSON result.
"""

import random
import sys
import threading
import time
import uuid
from collections import Counter, deque

import httpx
import psycopg
from _harness import (
    DB_NAME,
    PG_HOST,
    PG_PORT,
    PG_USER,
    HttpClient,
    PhaseResult,
    Server,
    emit,
    fresh_database,
    load_arguments,
    log,
    run_phase,
    seed,
)

GOAL_RATIO, GOAL_P99_MS = 0.8, 50.0
LIMIT = 2  # sessions per seeded account
HOLD = 2  # leases a client keeps before it releases its oldest

# One statement, one snapshot: accounts whose granted leases exceed their live limit, and pools
# whose counters disagree with the leases they count.
OVER_GRANTS_SQL = """
WITH granted AS (SELECT account_id, count(*) AS n FROM leases_sessionlease WHERE status = 'granted' GROUP BY 1),
     queued AS (SELECT account_id, count(*) AS n FROM leases_sessionlease WHERE status = 'queued' GROUP BY 1),
     limits AS (SELECT account_id, sum(quantity) AS n FROM subscriptions_subscription
                WHERE status IN ('active', 'past_due') GROUP BY 1)
SELECT
  (SELECT count(*) FROM granted g LEFT JOIN limits l USING (account_id) WHERE g.n > coalesce(l.n, 0)),
  (SELECT count(*) FROM leases_sessionlease_pool_check),
  (SELECT coalesce(max(g.n), 0) FROM granted g)
"""
POOL_CHECK_VIEW = """
CREATE OR REPLACE VIEW leases_sessionlease_pool_check AS
SELECT p.account_id FROM leases_sessionpool p
LEFT JOIN (SELECT account_id, count(*) FILTER (WHERE status = 'granted') AS g,
                  count(*) FILTER (WHERE status = 'queued') AS q
           FROM leases_sessionlease GROUP BY 1) c USING (account_id)
WHERE p.in_use <> coalesce(c.g, 0) OR p.queued <> coalesce(c.q, 0)
"""


def _connect() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=DB_NAME, autocommit=True)


def over_grants_now(connection: psycopg.Connection | None = None) -> tuple[int, int, int]:
    """(accounts over their limit, pools whose counters disagree, most granted on one account)."""
    if connection is None:
        with _connect() as fresh:
            return over_grants_now(fresh)
    over, mismatched, most = connection.execute(OVER_GRANTS_SQL).fetchone()
    return int(over), int(mismatched), int(most)


class Monitor:
    """Checks for over-grants about once a second while the load runs.

    It keeps one connection open: a new connection (and a psql process) every second cost enough CPU,
    on the two cores the server uses too, to show in the lease requests' p99.
    """

    def __init__(self) -> None:
        self.checks = 0
        self.over = 0
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._connection = _connect()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            over, _, most = over_grants_now(self._connection)  # counters may be mid-transaction: compared at the end
            self.checks += 1
            self.over += over
            self.most = max(self.most, most)

    def __enter__(self) -> "Monitor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._stop.set()
        self._thread.join()
        self._connection.close()


class LeaseClient:
    """One simulated test cloud client: its own keep-alive connection, leases on random accounts."""

    def __init__(self, base_url: str, accounts: list[dict], seed_value: int) -> None:
        self.http = HttpClient(base_url + "/api/v1")
        self.accounts = accounts
        self.random = random.Random(seed_value)
        self.held: deque[tuple[dict, str]] = deque()
        self.outcomes: Counter[str] = Counter()
        self.kind_ms: dict[str, list[float]] = {"acquire": [], "release": []}  # last phase's latencies

    def step(self) -> float:
        if len(self.held) >= HOLD:
            return self.release()
        return self.acquire()

    def acquire(self) -> float:
        acct = self.random.choice(self.accounts)
        t0 = time.perf_counter()
        r = self.http.post(
            f"/accounts/{acct['account']}/sessions",
            json={"run_type": "desktop_browser"},
            headers={"Authorization": f"Bearer {acct['key']}", "Idempotency-Key": str(uuid.uuid4())},
        )
        ms = (time.perf_counter() - t0) * 1000
        self.kind_ms["acquire"].append(ms)
        if r.status_code in (201, 202):
            self.held.append((acct, r.json()["id"]))
            self.outcomes[r.json()["status"]] += 1
        elif r.status_code == 429 and r.json()["error"]["code"] == "session_limit_reached":
            self.outcomes["refused"] += 1
        else:
            raise RuntimeError(f"acquire {r.status_code}: {r.text[:200]}")
        return ms

    def release(self) -> float:
        acct, lease_id = self.held.popleft()
        t0 = time.perf_counter()
        r = self.http.delete(f"/sessions/{lease_id}", headers={"Authorization": f"Bearer {acct['key']}"})
        ms = (time.perf_counter() - t0) * 1000
        self.kind_ms["release"].append(ms)
        if r.status_code != 200:
            raise RuntimeError(f"release {r.status_code}: {r.text[:200]}")
        self.outcomes["released"] += 1
        return ms

    def release_all(self) -> None:
        while self.held:
            self.release()

    def baseline(self) -> float:
        acct = self.random.choice(self.accounts)
        t0 = time.perf_counter()
        r = self.http.post("/bench/baseline", headers={"Authorization": f"Bearer {acct['key']}"}, json={})
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"baseline {r.status_code}: {r.text[:200]}")
        return ms

    def close(self) -> None:
        self.http.close()


def main(argv: list[str]) -> int:
    args = load_arguments("bench/run leases", __doc__, "100 accounts, 8 s phases", argv)
    duration, warmup, n_accounts = args.duration, args.warmup, args.accounts

    log(
        f"leases benchmark: {args.clients} clients, {duration:.0f}s phases, {n_accounts} accounts of "
        f"{LIMIT} sessions{' (quick)' if args.quick else ''}"
    )
    env = fresh_database()
    accounts = seed(env, "checkout", accounts=n_accounts, quantity=LIMIT)["accounts"]
    with _connect() as connection:
        connection.execute(POOL_CHECK_VIEW)

    with Server(env, workers=args.workers, threads=args.threads, name="leases") as server:
        probe_headers = {"Authorization": f"Bearer {accounts[0]['key']}"}
        server.wait_ready(
            lambda: httpx.get(f"{server.url}/api/v1/me", headers=probe_headers, timeout=2).status_code == 200
        )
        clients = [LeaseClient(server.url, accounts, seed_value=i) for i in range(args.clients)]
        try:
            if warmup:
                log(f"warm-up {warmup:.0f}s (leases, then baseline)")
                run_phase("warm-up leases", [c.step for c in clients], warmup, record=False)
                run_phase("warm-up baseline", [c.baseline for c in clients], warmup / 2, record=False)
            log(f"baseline: {duration:.0f}s")
            base = run_phase("baseline", [c.baseline for c in clients], duration, server_pgid=server.proc.pid)
            log(f"leases: {duration:.0f}s")
            for c in clients:
                c.kind_ms = {"acquire": [], "release": []}
            with Monitor() as monitor:
                lease = run_phase("leases", [c.step for c in clients], duration, server_pgid=server.proc.pid)
            over_held, mismatched_held, most_held = over_grants_now()  # with the clients' leases still held
            for c in clients:
                c.release_all()
        finally:
            for c in clients:
                c.close()
        server_errors = server.errors_in_log()
    over_end, mismatched_end, _ = over_grants_now()

    outcomes = sum((c.outcomes for c in clients), Counter())
    log(
        f"outcomes (warm-up included): {dict(outcomes)}; monitor: {monitor.checks} checks, "
        f"most granted on one account {max(monitor.most, most_held)} (limit {LIMIT})"
    )
    if server_errors:
        log(f"{len(server_errors)} error lines in {server.log_path}; first: {server_errors[0]}")
    ratio = lease.per_s / base.per_s if base.per_s else 0.0
    p99 = lease.pct(99)
    by_kind = {}
    for kind in ("acquire", "release"):
        part = PhaseResult(
            name=kind, clients=0, duration_s=duration, latencies_ms=[ms for c in clients for ms in c.kind_ms[kind]]
        )
        by_kind[kind] = {"p50": round(part.pct(50), 1), "p99": round(part.pct(99), 1)}
    over_grants = monitor.over + over_held + over_end
    result = {
        "benchmark": "leases",
        "lease_requests_per_s": round(lease.per_s, 1),
        "p50_ms": round(lease.pct(50), 1),
        "p99_ms": round(p99, 1),
        "baseline_per_s": round(base.per_s, 1),
        "ratio": round(ratio, 3),
        "over_grants": over_grants,
        "counter_mismatches": mismatched_held + mismatched_end,
        "clients": args.clients,
        "duration_s": duration,
        "quick": args.quick,
        "goal_met": ratio >= GOAL_RATIO and p99 < GOAL_P99_MS and over_grants == 0,
        "baseline_p50_ms": round(base.pct(50), 1),
        "baseline_p99_ms": round(base.pct(99), 1),
        "outcomes": dict(outcomes),
        "by_kind_ms": by_kind,
        "errors": len(lease.errors) + len(base.errors),
        "server_error_lines": len(server_errors),
        "accounts": n_accounts,
        "gunicorn": f"{args.workers}x{args.threads}",
        "cpu_ms_per_lease_request": {
            "server": round(lease.cpu_ms_per_op("server"), 2),
            "postgres": round(lease.cpu_ms_per_op("postgres"), 2),
        },
        "cpu_ms_per_baseline": {
            "server": round(base.cpu_ms_per_op("server"), 2),
            "postgres": round(base.cpu_ms_per_op("postgres"), 2),
        },
    }
    log(
        f"ratio {ratio:.3f} (goal >= {GOAL_RATIO}), p99 {p99:.1f} ms (goal < {GOAL_P99_MS:.0f}), "
        f"over-grants {over_grants} -> goal {'met' if result['goal_met'] else 'MISSED'}"
    )
    emit(result)
    if result["errors"] or over_grants or result["counter_mismatches"]:
        log("FAILED: failed requests, over-grants or counter mismatches")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
