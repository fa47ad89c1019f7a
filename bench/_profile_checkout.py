"""Count and time the SQL of one upgrade checkout (quote + checkout) in-process, on the bench database.

    bench/run checkout --quick   # leaves seatplan_bench and bench/results/seed-checkout.json behind
    SEATPLAN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/seatplan_bench SEATPLAN_SANDBOX=1 \
      SEATPLAN_BENCHMARK=1 DJANGO_SETTINGS_MODULE=seatplan.settings .venv-bench/bin/python bench/_profile_checkout.py

Prints per request: the number of queries, their total time, and the queries grouped by shape;
then the wall and CPU time of N repeated pairs, and a cProfile top list.
"""

import contextlib
import cProfile
import json
import pstats
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SEED = Path(__file__).resolve().parent / "results" / "seed-checkout.json"


def shape(sql: str) -> str:
    sql = re.sub(r"'[^']*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r"\(\?(, \?)*\)", "(...)", sql)
    m = re.match(r"\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK)\s*(.*)", sql, re.S)
    if not m:
        return sql[:100]
    verb, rest = m.groups()
    table = re.search(r'FROM "(\w+)"', sql) if verb == "SELECT" else re.match(r'"(\w+)"', rest)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    return f"{verb} {table.group(1) if table else rest[:40]}{lock}"


def pair(client: Client, acct: dict, *, show: bool) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {acct['key']}"}
    for label in ("quote", "checkout"):
        # Capturing formats every statement (mogrify): only for the shown pair, not the timed ones.
        with CaptureQueriesContext(connection) if show else contextlib.nullcontext() as ctx:
            if label == "quote":
                r = client.post(
                    f"/api/v1/accounts/{acct['account']}/quotes",
                    json.dumps(
                        {
                            "subscription": acct["subscription"],
                            "billing_cycle": "month",
                            "quantity": acct["quantity"] + 1,
                        }
                    ),
                    content_type="application/json",
                    **auth,
                )
                assert r.status_code == 201, r.content
                quote_id = r.json()["id"]
            else:
                r = client.post(
                    f"/api/v1/quotes/{quote_id}/checkout",
                    "{}",
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                    **auth,
                )
                assert r.status_code == 200, r.content
                acct["quantity"] = r.json()["subscription"]["quantity"]
        if show:
            qs = ctx.captured_queries
            total = sum(float(q["time"]) for q in qs) * 1000
            print(f"\n== {label}: {len(qs)} queries, {total:.1f} ms in SQL (client-side timing)")
            for s, n in Counter(shape(q["sql"]) for q in qs).most_common():
                print(f"  {n:3d}  {s}")


def main() -> None:
    accounts = json.loads(SEED.read_text())["accounts"]
    from seatplan.subscriptions.models import Subscription

    current = dict(Subscription.objects.values_list("pk", "quantity"))
    for acct in accounts:  # the benchmark run moved them on since seeding
        acct["quantity"] = current[acct["subscription"]]
    client = Client()
    pair(client, accounts[0], show=True)  # warm (imports, caches)
    pair(client, accounts[1], show=False)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        pair(client, accounts[2 + i % (len(accounts) - 2)], show=False)
    wall, cpu = (time.perf_counter() - t) / n * 1000, (time.process_time() - c) / n * 1000
    print(f"\n{n} pairs in-process, one at a time: {wall:.1f} ms wall, {cpu:.1f} ms Python CPU per pair")
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        pair(client, accounts[2 + i % (len(accounts) - 2)], show=False)
    prof.disable()
    prof.dump_stats(str(SEED.parent / "checkout.prof"))
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(r"seatplan", 30)
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
