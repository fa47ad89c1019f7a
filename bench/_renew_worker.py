"""One billing worker process for bench/renewals.py: python bench/_renew_worker.py NOW_ISO

Sets Django up, prints "ready", waits for a line on stdin (so that every worker starts together),
runs one pass of the billing job at NOW and prints one JSON line: {"t0", "t1", "counts"} (epoch seconds).
"""

import json
import sys
import time
from datetime import datetime

import django

django.setup()

from django.db import connection  # noqa: E402

from seatplan.jobs import billing_run  # noqa: E402

now = datetime.fromisoformat(sys.argv[1])
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
t0 = time.time()
counts = billing_run(now=now)
t1 = time.time()
print(json.dumps({"t0": t0, "t1": t1, "counts": counts}), flush=True)
