"""Benchmark `checkout`: upgrade checkouts per second against the baseline write, on PostgreSQL.

    bench/run checkout [--quick] [--workers 4] [--threads 1] [--clients 16] [--duration S] [--accounts N]

One "checkout" is the pair a customer does to add a session:
    POST /api/v1/accounts/{acct}/quotes {"subscription", "billing_cycle": "month", "quantity": current+1} -> 201
    POST /api/v1/quotes/{id}/checkout  (fresh Idempotency-Key)                                            -> 200
Each client owns a disjoint set of accounts (round-robin), so no two clients contend for one
subscription. The baseline is POST /api/v1/bench/baseline (lock a row, update it, insert a row),
same server, same clients, same duration. The last stdout line is the JSON result.
"""

import sys
import time
import uuid

import httpx
from _harness import HttpClient, Server, emit, fresh_database, load_arguments, log, run_phase, seed

MAX_QUANTITY = 1000
GOAL_RATIO, GOAL_P99_MS = 0.25, 100.0


class Exhausted(Exception):
    pass


class CheckoutClient:
    """One simulated client: its own keep-alive connection and its own accounts."""

    def __init__(self, base_url: str, accounts: list[dict]) -> None:
        self.http = HttpClient(base_url + "/api/v1")
        self.accounts = [dict(a) for a in accounts]
        self.next = 0
        self.exhausted: set[str] = set()

    def _headers(self, acct: dict, idempotency_key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {acct['key']}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _pick(self) -> dict | None:
        for _ in range(len(self.accounts)):
            acct = self.accounts[self.next % len(self.accounts)]
            self.next += 1
            if acct["account"] not in self.exhausted:
                return acct
        return None

    def checkout(self) -> float | None:
        acct = self._pick()
        if acct is None:
            return None  # every account is at MAX_QUANTITY
        quantity = acct["quantity"] + 1
        if quantity > MAX_QUANTITY:
            self.exhausted.add(acct["account"])
            return self.checkout()
        t0 = time.perf_counter()
        q = self.http.post(
            f"/accounts/{acct['account']}/quotes",
            headers=self._headers(acct),
            json={"subscription": acct["subscription"], "billing_cycle": "month", "quantity": quantity},
        )
        if q.status_code != 201:
            if q.status_code == 422 and q.json().get("error", {}).get("code") == "quantity_invalid":
                self.exhausted.add(acct["account"])
                return self.checkout()
            self._resync(acct)
            raise RuntimeError(f"quote {q.status_code}: {q.text[:200]}")
        c = self.http.post(f"/quotes/{q.json()['id']}/checkout", headers=self._headers(acct, str(uuid.uuid4())))
        ms = (time.perf_counter() - t0) * 1000
        if c.status_code != 200:
            self._resync(acct)
            raise RuntimeError(f"checkout {c.status_code}: {c.text[:200]}")
        acct["quantity"] = c.json()["subscription"]["quantity"]
        return ms

    def baseline(self) -> float:
        acct = self.accounts[self.next % len(self.accounts)]
        self.next += 1
        t0 = time.perf_counter()
        r = self.http.post("/bench/baseline", headers=self._headers(acct), json={})
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"baseline {r.status_code}: {r.text[:200]}")
        return ms

    def _resync(self, acct: dict) -> None:
        r = self.http.get(f"/subscriptions/{acct['subscription']}", headers=self._headers(acct))
        if r.status_code == 200:
            acct["quantity"] = r.json()["quantity"]

    def close(self) -> None:
        self.http.close()


def main(argv: list[str]) -> int:
    args = load_arguments("bench/run checkout", __doc__, "100 accounts, 8 s phases (about 40 s in all)", argv)
    duration, warmup, n_accounts = args.duration, args.warmup, args.accounts
    if n_accounts < args.clients:
        args.error("need at least one account per client")

    log(
        f"checkout benchmark: {args.clients} clients, {duration:.0f}s phases, {n_accounts} accounts"
        f"{' (quick)' if args.quick else ''}"
    )
    env = fresh_database()
    accounts = seed(env, "checkout", accounts=n_accounts)["accounts"]

    with Server(env, workers=args.workers, threads=args.threads, name="checkout") as server:
        probe_headers = {"Authorization": f"Bearer {accounts[0]['key']}"}
        server.wait_ready(
            lambda: httpx.get(f"{server.url}/api/v1/me", headers=probe_headers, timeout=2).status_code == 200
        )
        clients = [CheckoutClient(server.url, accounts[i :: args.clients]) for i in range(args.clients)]
        try:
            # Each phase warms up and is then measured without a pause (see run_phase).
            log(f"baseline: {warmup / 2:.1f}s warm-up, {duration:.0f}s measured")
            base = run_phase(
                "baseline", [c.baseline for c in clients], duration, warmup=warmup / 2, server_pgid=server.proc.pid
            )
            log(f"checkout: {warmup:.0f}s warm-up, {duration:.0f}s measured")
            chk = run_phase(
                "checkout", [c.checkout for c in clients], duration, warmup=warmup, server_pgid=server.proc.pid
            )
        finally:
            for c in clients:
                c.close()
        server_errors = server.errors_in_log()

    if server_errors:
        log(f"{len(server_errors)} error lines in {server.log_path}; first: {server_errors[0]}")
    ratio = chk.per_s / base.per_s if base.per_s else 0.0
    p99 = chk.pct(99)
    result = {
        "benchmark": "checkout",
        "checkouts_per_s": round(chk.per_s, 1),
        "p50_ms": round(chk.pct(50), 1),
        "p99_ms": round(p99, 1),
        "baseline_per_s": round(base.per_s, 1),
        "ratio": round(ratio, 3),
        "clients": args.clients,
        "duration_s": duration,
        "quick": args.quick,
        "goal_met": ratio >= GOAL_RATIO and p99 < GOAL_P99_MS,
        "checkouts_by_second": chk.rate_by_second(),
        "baseline_p50_ms": round(base.pct(50), 1),
        "baseline_p99_ms": round(base.pct(99), 1),
        "baseline_by_second": base.rate_by_second(),
        "errors": len(chk.errors) + len(base.errors),
        "server_error_lines": len(server_errors),
        "accounts": n_accounts,
        "gunicorn": f"{args.workers}x{args.threads}",
        "cpu_ms_per_checkout": {
            "server": round(chk.cpu_ms_per_op("server"), 1),
            "postgres": round(chk.cpu_ms_per_op("postgres"), 1),
            "load_generator": round(chk.client_cpu_s / max(chk.ops, 1) * 1000, 1),
        },
        "cpu_ms_per_baseline": {
            "server": round(base.cpu_ms_per_op("server"), 1),
            "postgres": round(base.cpu_ms_per_op("postgres"), 1),
            "load_generator": round(base.client_cpu_s / max(base.ops, 1) * 1000, 1),
        },
    }
    log(
        f"ratio {ratio:.3f} (goal >= {GOAL_RATIO}), p99 {p99:.1f} ms (goal < {GOAL_P99_MS:.0f}) -> "
        f"goal {'met' if result['goal_met'] else 'MISSED'}"
    )
    emit(result)
    if result["errors"]:
        log(f"FAILED: {result['errors']} failed requests")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
