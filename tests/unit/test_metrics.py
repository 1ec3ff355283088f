"""The metrics' pure parts: a worker task's loop time, gauges read at scrape time, and the
month the referrals gauge counts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from pymongo.errors import ServerSelectionTimeoutError

from backbone import metrics
from backbone.clock import start_of_month

LAST_LOOP = "familyties_worker_last_loop_timestamp_seconds"


def last_loop(service: str, task: str) -> float | None:
    return metrics.registry().get_sample_value(LAST_LOOP, {"service": service, "task": task})


def in_thread(work) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_a_loop_counts_for_the_task_its_thread_runs_and_nothing_elsewhere():
    before = time.time()

    def task() -> None:
        metrics.worker_task_started("unit", "relay")
        metrics.loop_done()

    in_thread(task)
    counted = last_loop("unit", "relay")
    assert counted >= before
    in_thread(metrics.loop_done)  # a thread that is no worker's task: nothing counted
    assert last_loop("unit", "relay") == counted


def gauge_samples(gauge: metrics.DatabaseGauge) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(gauge)
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_a_database_gauge_reads_at_scrape_time_one_value_or_one_per_label():
    values = {"email": 2, "carrier pigeon": 1}  # a value outside the vocabulary: left out
    by_channel = metrics.DatabaseGauge(
        "t_failed", "Failed.", lambda: values, label="channel", values=("email", "webhook")
    )
    assert gauge_samples(by_channel) == {(("channel", "email"),): 2, (("channel", "webhook"),): 0}
    values["webhook"] = 5
    assert gauge_samples(by_channel)[(("channel", "webhook"),)] == 5
    assert gauge_samples(metrics.DatabaseGauge("t_open", "Open.", lambda: 3)) == {(): 3}


def test_a_database_gauge_is_absent_while_the_database_is_away():
    def away() -> int:
        raise ServerSelectionTimeoutError("no database")

    assert gauge_samples(metrics.DatabaseGauge("t_open", "Open.", away)) == {}


def test_this_month_begins_at_midnight_uk_time():
    # Summer time: 1 July began at 23:00 UTC on 30 June.
    assert start_of_month(datetime(2026, 7, 1, 0, 30, tzinfo=UTC)) == datetime(
        2026, 6, 30, 23, 0, tzinfo=UTC
    )
    assert start_of_month(datetime(2026, 6, 30, 22, 59, tzinfo=UTC)) == datetime(
        2026, 5, 31, 23, 0, tzinfo=UTC
    )
    assert start_of_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
