"""Benchmark: end-to-end capacity, from a partner's POST to the case opened in casework.

The stack runs as `make run` starts it (supervisord, gunicorn, the workers, the local
broker and database), on a database that already holds PRELOAD referrals and their cases.
Referrals are posted at a fixed rate (an open loop: a slow answer does not slow the
offered load); each one's time to case is read from its CaseOpened on Kafka, whose time
casework set when it opened the case. Results go to docs/benchmarks.md.

    make bench            # with the intake benchmark
    python -m bench.capacity
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests
from kafka import KafkaConsumer, TopicPartition

from backbone.events.catalogue import topic_of
from bench import preload
from bench.report import write_section
from bench.sample import body
from tests import servers
from tests.e2e.stack import Stack

PRELOAD = int(os.environ.get("BENCH_PRELOAD", "50000"))
RATES = [float(r) for r in os.environ.get("BENCH_RATES", "40,60").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
TARGET_RATE, TARGET_P95 = 40, 2.0


class CasesOpened(threading.Thread):
    """Reads intake's and casework's topics from their end: when each referral's
    ReferralReceived reached the broker (its record's timestamp, set by the relay's
    producer as it sent it) and when its case was opened (CaseOpened's time)."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.published: dict[str, float] = {}
        self.opened: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        partitions = [
            TopicPartition(topic, p)
            for topic in (topic_of("referral"), topic_of("casework"))
            for p in self.consumer.partitions_for_topic(topic) or set()
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end()

    def run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=200).values():
                for record in records:
                    event = json.loads(record.value)
                    if event["type"] == "ReferralReceived":
                        self.published.setdefault(event["subject"], record.timestamp / 1000)
                    elif event["type"] == "CaseOpened":
                        at = datetime.fromisoformat(event["time"]).timestamp()
                        self.opened[event["data"]["referral_id"]] = at
        self.consumer.close()


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p95) of `values`."""
    if not values:
        return float("nan"), float("nan")
    values = sorted(values)
    return statistics.median(values), values[int(len(values) * 0.95)]


def offer(stack: Stack, headers: dict, rate: float, seconds: float, first: int) -> dict:
    """Post at `rate` a second for `seconds`; answer when each was sent and its answer."""
    sent: dict[str, float] = {}
    answers: list[tuple[int, float]] = []
    lock = threading.Lock()
    session = requests.Session()

    def post(n: int) -> None:
        started = time.time()
        answer = session.post(
            f"{stack.url('referral')}/v1/referrals", json=body(n), headers=headers, timeout=30
        )
        with lock:
            answers.append((answer.status_code, time.time() - started))
            if answer.status_code == 201:
                sent[answer.json()["id"]] = started

    count = int(rate * seconds)
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(count):
            time.sleep(max(0.0, begin + i / rate - time.monotonic()))
            pool.submit(post, first + i)
    return {"sent": sent, "answers": answers, "offered": count}


def measure(stack: Stack, headers: dict, rate: float, first: int) -> dict:
    watcher = CasesOpened(stack.broker)
    watcher.start()
    started = time.time()
    offered = offer(stack, headers, rate, SECONDS, first)
    sent = offered["sent"]
    deadline = time.monotonic() + 120
    while not set(sent) <= set(watcher.opened) and time.monotonic() < deadline:
        time.sleep(0.5)
    watcher.stop.set()
    done = [i for i in sent if i in watcher.opened]
    latencies = sorted(watcher.opened[i] - sent[i] for i in done)
    relayed = [watcher.published[i] - sent[i] for i in done if i in watcher.published]
    consumed = [watcher.opened[i] - watcher.published[i] for i in done if i in watcher.published]
    last_case = max((watcher.opened[i] for i in done), default=started)
    statuses: dict[int, int] = {}
    for status, _ in offered["answers"]:
        statuses[status] = statuses.get(status, 0) + 1
    p50, p95 = percentiles(latencies)
    return {
        "rate": rate,
        "offered": offered["offered"],
        "statuses": statuses,
        "cases": len(latencies),
        # every case opened, over the time from the first POST to the last case
        "sustained": len(latencies) / (last_case - started),
        "p50": p50,
        "p95": p95,
        "max": latencies[-1] if latencies else float("nan"),
        "post_p95": percentiles([t for _, t in offered["answers"]])[1],
        "relay_p50_p95": percentiles(relayed),
        "consumer_p50_p95": percentiles(consumed),
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-capacity-"))
    stack = Stack(workdir / "var", workdir / "stack.log")
    database_port = int(stack.env["MONGODB_URI"].rsplit(":", 1)[1].split("/")[0])
    started = time.monotonic()
    with servers.database(workdir / "var" / "db", workdir, database_port) as (uri, _):
        preload.referrals_and_cases(uri, "familyties_", PRELOAD)
    print(f"preloaded {PRELOAD} referrals and cases in {time.monotonic() - started:.0f} s")
    stack.start()
    try:
        headers = {"Authorization": f"Bearer {stack.new_partner_key('Bench partner')}"}
        offer(stack, headers, 10, 10, first=1)  # warm-up: connections, caches, groups
        results = []
        for number, rate in enumerate(RATES):
            result = measure(stack, headers, rate, first=(number + 1) * 1_000_000)
            print(result, flush=True)
            results.append(result)
    finally:
        stack.stop()
    write_report(results)


def write_report(results: list[dict]) -> None:
    rows = "\n".join(
        f"| {r['rate']:.0f} | {r['sustained']:.1f} | {r['p50']:.2f} | {r['p95']:.2f} "
        f"| {r['max']:.2f} | {r['post_p95'] * 1000:.0f} | {r['cases']} of {r['offered']} "
        f"| {', '.join(f'{c}: {n}' for c, n in sorted(r['statuses'].items()))} |"
        for r in results
    )
    stages = "\n".join(
        f"| {r['rate']:.0f} | {r['relay_p50_p95'][0]:.2f} / {r['relay_p50_p95'][1]:.2f} "
        f"| {r['consumer_p50_p95'][0]:.2f} / {r['consumer_p50_p95'][1]:.2f} |"
        for r in results
    )
    at_target = next((r for r in results if r["rate"] == TARGET_RATE), None)
    verdict = "not measured"
    if at_target:
        met = at_target["sustained"] >= TARGET_RATE * 0.98 and at_target["p95"] < TARGET_P95
        verdict = "meets" if met else "does NOT meet"
    text = CAPACITY_TEMPLATE.format(
        date=time.strftime("%Y-%m-%d"),
        preload=PRELOAD,
        seconds=SECONDS,
        rows=rows,
        stages=stages,
        verdict=verdict,
    )
    write_section("capacity", text)
    print(text)


CAPACITY_TEMPLATE = """## End-to-end capacity: POST to case opened

Measured by `bench/capacity.py` on {date}, against the whole stack as `make run` starts it,
on a database already holding {preload:,} referrals and their cases (their events all
published). Referrals are offered at a fixed rate for {seconds:.0f} s (an open loop), after
a 10 s warm-up; "to case" runs from sending the POST to the time casework wrote into the
case's CaseOpened, read back from Kafka. "Sustained" is every case opened over the time
from the first POST to the last case; p50, p95 and max are times to case.

| offered /s | sustained /s | p50 s | p95 s | max s | POST p95 ms | cases | answers |
|---|---|---|---|---|---|---|---|
{rows}

At 40 referrals a second the stack {verdict} the target (40 a second sustained, p95 under 2 s).

Where the time goes, p50 / p95 in seconds: from the POST to ReferralReceived on the broker
(the referral relay; the record's timestamp is set as the relay sends it), and from there
to the case opened (casework's consumer).

| offered /s | POST to published | published to case opened |
|---|---|---|
{stages}

Offered more than the stack sustains, referrals queue before casework's consumer (the last
column) while intake keeps answering quickly; the local database server, one Python
process, is then busy on one core.
"""


if __name__ == "__main__":
    main()
