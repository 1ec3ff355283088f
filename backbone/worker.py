"""A service's worker process: its outbox relay and consumers, each in a thread.

The process never exits because a dependency is away: each task is restarted after a
pause, so a broker or database outage delays work and loses none.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka.errors import KafkaError
from prometheus_client import start_http_server
from pymongo.collection import Collection
from pymongo.database import Database

from backbone import kafka, metrics
from backbone.consumer import ConsumerRunner, Handler
from backbone.kafka import ensure_topics
from backbone.outbox import OutboxRelay
from backbone.settings import Settings

log = logging.getLogger(__name__)

Task = Callable[[threading.Event], None]
RESTART_PAUSE_SECONDS = 2.0


@dataclass
class WorkerPlan:
    service: str
    topics: list[str]  # topics this worker publishes or consumes: created when missing
    tasks: dict[str, Task] = field(default_factory=dict)


def run(plan: WorkerPlan, settings: Settings, stop: threading.Event | None = None) -> None:
    """Run the plan's tasks until SIGTERM or SIGINT (or `stop`)."""
    stop = stop or threading.Event()
    _serve_metrics()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            ensure_topics(settings, plan.topics)
            break
        except KafkaError as error:
            log.warning("waiting for the broker", extra={"error": repr(error)})
            stop.wait(RESTART_PAUSE_SECONDS)
    threads = [
        threading.Thread(target=_supervise, args=(name, task, stop), name=name, daemon=True)
        for name, task in plan.tasks.items()
    ]
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"tasks": list(plan.tasks)})
    stop.wait()
    for thread in threads:
        thread.join(timeout=15)
    log.info("worker stopped")


def relay_task(settings: Settings, collections: Callable[[], list[Collection]]) -> Task:
    """The outbox relay of a service, over the collections whose documents carry events."""

    def relay(stop: threading.Event) -> None:
        producer = kafka.producer(settings)
        try:
            OutboxRelay(collections(), producer, settings.outbox_batch_size).run(
                stop, settings.outbox_poll_seconds
            )
        finally:
            producer.close(timeout=5)

    return relay


def consumer_task(
    settings: Settings, group: str, topics: list[str], handlers: dict[str, Handler], db: Database
) -> Task:
    """A consumer group's runner. Its plan must also list `dead_letter_topic(group)`, so
    that the topic exists where the broker does not create topics on first use."""

    def consume(stop: threading.Event) -> None:
        producer = kafka.producer(settings)
        try:
            ConsumerRunner(
                group, kafka.consumer(settings, group, topics), handlers, db, producer
            ).run(stop)
        finally:
            producer.close(timeout=5)

    return consume


def _serve_metrics() -> None:
    """Where a worker has no web process beside it sharing PROMETHEUS_MULTIPROC_DIR (one
    container per process), WORKER_METRICS_PORT gives it a /metrics of its own."""
    port = os.environ.get("WORKER_METRICS_PORT")
    if port:
        start_http_server(int(port), registry=metrics.registry())


def _supervise(name: str, task: Task, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            task(stop)
        except Exception:
            log.exception("worker task failed; restarting it", extra={"task": name})
            stop.wait(RESTART_PAUSE_SECONDS)
