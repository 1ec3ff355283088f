"""Benchmark: what the running count of a service's event log costs (backbone.log_counts),
with and without the multikey index on `events.id` that backbone.outbox makes.

A count reads only the events made since the last one (`outbox.tally_logged`); this times
that read over a log of DOCUMENTS documents (two events each) with NEW events since the
last count, and for comparison a count of the whole log, a find by `_id` (the baseline)
and the writes the index slows: an insert and an appended event. The ratios are what
carry over to MongoDB.

    python -m bench.event_log_count
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection

from backbone import outbox
from backbone.events.envelope import new_event
from backbone.log_counts import NONE_YET
from bench.report import write_section
from services.referral import SOURCE
from tests import servers
from tests.factories import referral_received_data

DOCUMENTS = int(os.environ.get("BENCH_LOG_DOCUMENTS", "5000"))
NEW = int(os.environ.get("BENCH_LOG_NEW", "200"))
ROUNDS = 7
LAST = "ffffffff-ffff-7fff-bfff-ffffffffffff"  # above every event id


def event(subject: str) -> dict:
    return new_event("ReferralReceived", SOURCE, subject, referral_received_data())


def median_ms(action: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def fill(collection: Collection) -> list[str]:
    """DOCUMENTS documents with two published events each; their ids."""
    subjects = [str(uuid.uuid4()) for _ in range(DOCUMENTS)]
    for start in range(0, DOCUMENTS, 500):
        collection.insert_many(
            [
                {"_id": s, "events": [event(s), event(s)], "outbox": []}
                for s in subjects[start : start + 500]
            ]
        )
    return subjects


def write_new(collection: Collection, subject: str) -> dict[str, float]:
    """One new document with an event, and an event appended to `subject`'s: their times."""
    started = time.perf_counter()
    collection.insert_one(outbox.with_events({"_id": str(uuid.uuid4())}, event("new")))
    inserted = time.perf_counter()
    collection.update_one({"_id": subject}, outbox.append_events({}, event(subject)))
    return {"insert": inserted - started, "append": time.perf_counter() - inserted}


def counting(collection: Collection, last_count: str) -> dict[str, float]:
    assert outbox.tally_logged(collection, last_count, LAST).events == NEW
    assert outbox.tally_logged(collection, NONE_YET, LAST).events == 2 * DOCUMENTS + NEW
    return {
        "since_last": median_ms(lambda: outbox.tally_logged(collection, last_count, LAST)),
        "whole": median_ms(lambda: outbox.tally_logged(collection, NONE_YET, LAST), 3),
    }


def measure(uri: str) -> tuple[dict[str, dict[str, float]], float]:
    """Per collection (without, with the index): its figures in ms; and the baseline."""
    client = MongoClient(uri)
    collections = {"without": client.bench.without, "with": client.bench["with"]}
    collections["without"].create_index(
        [("outbox_since", ASCENDING)], name="outbox_since", sparse=True
    )
    outbox.ensure_index(collections["with"])  # the same, and the index on events.id
    subjects = {name: fill(collection) for name, collection in collections.items()}
    last_count = event("cut")["id"]  # where the last count reached
    time.sleep(0.01)
    # The new events, half on new documents, half appended to old ones, written to each
    # collection in turn (first one, then the other), so that both see the same server.
    writes: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in collections}
    for n in range(NEW // 2):
        for name in sorted(collections, reverse=bool(n % 2)):
            for kind, seconds in write_new(collections[name], subjects[name][n]).items():
                writes[name][kind].append(seconds)
    results = {
        name: counting(collection, last_count)
        | {kind: statistics.median(times) * 1000 for kind, times in writes[name].items()}
        for name, collection in collections.items()
    }
    baseline = median_ms(
        lambda: collections["without"].find_one({"_id": subjects["without"][-1]}), 50
    )
    client.close()
    return results, baseline


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-log-count-"))
    with servers.database(workdir / "db", workdir) as (uri, _):
        results, baseline = measure(uri)
    print(results, baseline, flush=True)
    without, with_index = results["without"], results["with"]
    rows = [
        f"| {label} | {r['since_last']:.0f} ms ({r['since_last'] / baseline:.0f}x) "
        f"| {r['whole']:.0f} ms ({r['whole'] / baseline:.0f}x) "
        f"| {r['insert']:.1f} ms | {r['append']:.1f} ms |"
        for label, r in results.items()
    ]
    text = TEMPLATE.format(
        date=time.strftime("%Y-%m-%d"),
        documents=DOCUMENTS,
        events=2 * DOCUMENTS + NEW,
        new=NEW,
        rows="\n".join(rows),
        speedup=without["since_last"] / with_index["since_last"],
        insert=with_index["insert"] / without["insert"],
        append=with_index["append"] / without["append"],
    )
    write_section("event-log-count", text)
    print(text)


TEMPLATE = """## The running count of an event log

Measured by `bench/event_log_count.py` on {date}: a log of {documents:,} documents
({events:,} events), {new} of them made since the last count (half on new documents, half
appended to old ones), in two collections of one database server, with and without the
multikey index on `events.id`, written in turn. Medians; in brackets, against a find by
`_id` on the same server.

| `events.id` index | count since last | count of all | insert an event | append an event |
|---|---|---|---|---|
{rows}

With the index, counting the events made since the last count reads only their documents:
**{speedup:.0f}x** faster than reading every document, and it does not grow with the log.
It is paid for on writes: with it, an insert took {insert:.2f}x and an append {append:.2f}x
as long as without. The whole log is counted once, on a worker's first count.
"""


if __name__ == "__main__":
    main()
