"""Benchmark `renewals`: the billing job renewing due monthly subscriptions, against pgbench, on PostgreSQL.

    bench/run renewals [--quick] [--subscriptions N] [--workers 1,2] [--pgbench-seconds S]

Seeds N due monthly subscriptions per worker count (bulk inserts), then for each worker count runs
that many `bench/_renew_worker.py` processes (each one pass of `seatplan.jobs.billing_run` at the due
instant, started together) and measures renewals per second from the first start to the last finish.
The baseline, on the same server in the same run: `pgbench` TPC-B-like, 8 clients, scale 8. The last
stdout line is the JSON result.
"""

import argparse
import json
import re
import subprocess
import time

from _harness import BENCH_DIR, PG_HOST, PG_PORT, PG_USER, RESULTS, ROOT, VENV_PY, _psql, emit, fresh_database, log

GOAL_RATIO, GOAL_PER_S = 0.33, 2000.0
PGBENCH_DB = "seatplan_pgbench"
# One set of due subscriptions per worker count, billed in this order: far enough apart that no set
# is due again, or inside its 7-day reminder window, when another is billed.
DUE = ["2027-03-01T00:00:00+00:00", "2027-03-10T00:00:00+00:00", "2027-03-20T00:00:00+00:00"]


def pgbench_tps(seconds: int) -> float:
    _psql(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{PGBENCH_DB}"')
    base = ["-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]
    subprocess.run(["pgbench", *base, "-i", "-q", "-s", "8", PGBENCH_DB], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", *base, "-c", "8", "-j", "2", "-T", str(seconds), PGBENCH_DB],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))
    _psql(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
    log(f"pgbench TPC-B-like, 8 clients, scale 8, {seconds}s: {tps:.0f} tps")
    return tps


def run_workers(env: dict, workers: int, due_at: str) -> tuple[float, int, float]:
    """(renewals per second, renewals, wall seconds) for `workers` processes started together."""
    procs = [
        subprocess.Popen(
            [str(VENV_PY), str(BENCH_DIR / "_renew_worker.py"), due_at],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            p.wait(timeout=3600)
    renewed = sum(r["counts"]["renewed"] for r in results)
    wall = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    log(
        f"{workers} worker(s): {renewed} renewals in {wall:.2f}s = {renewed / wall:.0f}/s "
        f"(per worker: {[r['counts']['renewed'] for r in results]})"
    )
    return renewed / wall, renewed, wall


def check(env: dict, expected: int) -> dict:
    """Every seeded subscription renewed exactly once, paid, numbers gapless."""
    sql = """SELECT (SELECT count(*) FROM invoices_invoice),
                    (SELECT count(*) FROM invoices_invoice WHERE status = 'paid'),
                    (SELECT count(DISTINCT subscription_id) FROM invoices_invoice),
                    (SELECT coalesce(max(sequence), 0) - count(*) FROM invoices_invoice),
                    (SELECT count(*) FROM payments_sandboxcharge)"""
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", "seatplan_bench", "-At", "-F", " ", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    invoices, paid, subs, gaps, charges = map(int, out)
    ok = invoices == paid == subs == charges == expected and gaps == 0
    log(
        f"check: {invoices} invoices, {paid} paid, {subs} subscriptions, {charges} charges, gaps {gaps}: "
        + ("OK" if ok else "WRONG")
    )
    return {"invoices": invoices, "double_billed": invoices - subs, "gaps": gaps, "ok": ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 subscriptions, shorter pgbench")
    parser.add_argument("--subscriptions", type=int, help="due subscriptions per worker count (default 100,000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2,4 (at most 3)")
    parser.add_argument("--pgbench-seconds", type=int)
    args = parser.parse_args()
    n = args.subscriptions or (10_000 if args.quick else 100_000)
    counts = [int(w) for w in args.workers.split(",")][: len(DUE)]
    env = fresh_database()
    baseline = pgbench_tps(args.pgbench_seconds or (10 if args.quick else 30))
    t = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "seed-renewals.json"
    sets = [{"count": n, "due_at": DUE[i]} for i in range(len(counts))]
    subprocess.run(
        [str(VENV_PY), str(BENCH_DIR / "_seed_renewals.py"), str(out), json.dumps({"sets": sets})],
        check=True,
        env=env,
        cwd=ROOT,
    )
    log(f"seeded {n} due subscriptions x {len(counts)} in {time.monotonic() - t:.1f}s")
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
            "seatplan_bench",
            "-q",
            "-c",
            "VACUUM ANALYZE",
        ],
        check=True,
    )
    rates = {}
    for i, workers in enumerate(counts):
        rate, renewed, _ = run_workers(env, workers, DUE[i])
        if renewed != n:
            log(f"WRONG: {renewed} renewed, expected {n}")
        rates[workers] = rate
    verdict = check(env, n * len(counts))
    best = max(rates, key=rates.get)
    ratio = rates[best] / baseline
    emit(
        {
            "benchmark": "renewals",
            "subscriptions": n,
            "renewals_per_s": round(rates[best], 1),
            "workers": best,
            "pgbench_tps": round(baseline, 1),
            "ratio": round(ratio, 3),
            "by_workers": {str(w): round(r, 1) for w, r in rates.items()},
            "quick": args.quick,
            "goal_met": ratio >= GOAL_RATIO and rates[best] >= GOAL_PER_S,
            "exactly_once": verdict["ok"],
        }
    )
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
