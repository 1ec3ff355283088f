"""Benchmark: the local database's insert rate once it has seen WRITES writes, with
retryable writes on and off.

SecantusDB keeps a record of retryable writes and, once it holds 10,000, sorts the whole
record on every further write to drop the oldest. This measures what that costs, on a
fresh database server per mode, and writes the ratio to docs/benchmarks.md.

    python -m bench.retryable_writes
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pymongo import MongoClient

from bench.report import write_section
from tests import servers

WRITES = int(os.environ.get("BENCH_WRITES", "10500"))
MEASURED = int(os.environ.get("BENCH_MEASURED", "300"))


def inserts_per_second(uri: str, retry_writes: bool) -> tuple[float, float]:
    """(rate over the first MEASURED inserts, rate over MEASURED after WRITES)."""
    client = MongoClient(uri, retryWrites=retry_writes, w="majority", journal=True)
    collection = client.bench.writes

    def timed(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            collection.insert_one({"n": 1})
        return count / (time.perf_counter() - started)

    fresh = timed(MEASURED)
    for _ in range(WRITES - MEASURED):
        collection.insert_one({"n": 0})
    used = timed(MEASURED)
    client.close()
    return fresh, used


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-retryable-"))
    results = {}
    for retry_writes in (False, True):
        storage = workdir / f"db-{retry_writes}"
        with servers.database(storage, workdir) as (uri, _):
            base = uri.replace("&retryWrites=false", "")
            results[retry_writes] = inserts_per_second(base, retry_writes)
            print(f"retryWrites={retry_writes}: {results[retry_writes]}", flush=True)
    off, on = results[False], results[True]
    text = TEMPLATE.format(
        date=time.strftime("%Y-%m-%d"),
        writes=WRITES,
        measured=MEASURED,
        off_fresh=off[0],
        off_used=off[1],
        on_fresh=on[0],
        on_used=on[1],
        ratio=on[1] / off[1],
    )
    write_section("retryable-writes", text)
    print(text)


TEMPLATE = """## The local database: retryable writes

Measured by `bench/retryable_writes.py` on {date}: single-document inserts
(`w: majority, j: true`, database run with `--sync-on-commit`), on a fresh database server
for each mode, timed over {measured} inserts at first and again after {writes:,}.

| retryable writes | inserts/s, fresh | inserts/s after {writes:,} writes |
|---|---|---|
| off (the local default) | {off_fresh:.0f} | {off_used:.0f} |
| on | {on_fresh:.0f} | {on_used:.0f} |

With them on, a database that has seen {writes:,} writes inserts at **{ratio:.0%}** of the
rate with them off: SecantusDB sorts its whole record of retryable writes on every write
once it holds 10,000. So the local URI carries `retryWrites=false`; the outbox,
idempotency keys and idempotent consumers already make a retried request safe.
"""


if __name__ == "__main__":
    main()
