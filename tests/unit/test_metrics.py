"""The metrics' pure parts: a worker task's loop time."""

from __future__ import annotations

import threading
import time

from backbone import metrics

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
