"""Many requests at once, for the concurrency tests."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def run_in_threads(work: Callable[[int], object], count: int) -> list:
    """`work(0..count-1)` in `count` threads released together; each closes its own connections."""
    barrier = threading.Barrier(count)

    def runner(index: int) -> object:
        try:
            barrier.wait()
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(runner, range(count)))
