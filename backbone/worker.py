"""A service's worker process: its set-up, then its outbox relay, the count of its event
log and its consumers, each in a thread, and a keeper of its topics.

The process never exits because a dependency is away: set-up is tried again, and each task
is restarted after a pause, so a broker or database outage delays work and loses none.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka.errors import KafkaError
from prometheus_client import start_http_server
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from backbone import log_counts, logs, metrics, mongo, tracing
from backbone.consumer import ConsumerRunner, Handler, is_transient
from backbone.events.catalogue import topic_of
from backbone.kafka import ensure_topics
from backbone.relay import OutboxRelay
from backbone.settings import Settings

log = logging.getLogger(__name__)

Task = Callable[[threading.Event], None]
RESTART_PAUSE_SECONDS = 2.0
# SIGTERM gives the tasks this long to finish what they are doing (one batch, one event):
# less than the grace period of `make run` and docker-compose, so nothing is killed
# mid-write. A task still busy after it is abandoned; its work is redone after restart.
STOP_SECONDS = 10.0


@dataclass
class WorkerPlan:
    service: str
    topics: list[str]  # topics this worker publishes or consumes: kept as configured
    tasks: dict[str, Task] = field(default_factory=dict)
    setup: Callable[[], None] | None = None  # runs once, before the tasks: indexes, seeds
    # The collections whose documents carry the service's event log: their outbox relay
    # publishes to the service's topic (which `topics` must list).
    event_log: list[str] = field(default_factory=list)

    @property
    def kept_topics(self) -> list[str]:
        """The topics the worker makes and keeps as configured: the plan's, and where it
        keeps an event log, the topic it says the log's count on."""
        return [*self.topics, *([log_counts.TOPIC] if self.event_log else [])]

    @property
    def consumers(self) -> dict[str, list[str]]:
        """Each consumer group of the worker, and the topics it reads."""
        return {
            task.group: list(task.topics)
            for task in self.tasks.values()
            if isinstance(task, ConsumerTask)
        }


def run(plan: WorkerPlan, settings: Settings, stop: threading.Event | None = None) -> None:
    """Set up, then run the plan's tasks until SIGTERM or SIGINT (or `stop`)."""
    stop = stop or threading.Event()
    tracing.configure(plan.service)
    _serve_metrics()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    warnings = logs.Throttle(settings.warning_interval_seconds)
    while not stop.is_set():
        try:
            ensure_topics(settings, plan.kept_topics)
            if plan.setup is not None:
                plan.setup()
            break
        except (KafkaError, PyMongoError) as error:
            if not is_transient(error):
                raise  # a fault of ours, not an outage: the process manager restarts us
            warnings.warning(
                log, "worker waiting for the broker and database", error=type(error).__name__
            )
            stop.wait(RESTART_PAUSE_SECONDS)
    tasks = {"topic-keeper": topic_keeper(settings, plan.kept_topics), **plan.tasks}
    if plan.event_log:
        tasks["outbox-relay"] = relay_task(settings, plan)
        tasks["event-log-count"] = log_count_task(settings, plan)
    threads = [
        threading.Thread(
            target=_supervise, args=(plan.service, name, task, stop), name=name, daemon=True
        )
        for name, task in tasks.items()
    ]
    for name in tasks:  # a task hung in its very first loop shows as one
        metrics.WORKER_LAST_LOOP.labels(plan.service, name).set_to_current_time()
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"tasks": list(tasks)})
    stop.wait()
    deadline = time.monotonic() + STOP_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    log.info("worker stopped", extra={"unfinished": [t.name for t in threads if t.is_alive()]})


def topic_keeper(settings: Settings, topics: list[str]) -> Task:
    """Makes the worker's topics again whenever they are found missing or wrong (a broker
    that restarted without its log), rather than leave them to the broker's defaults."""

    def keep(stop: threading.Event) -> None:
        warnings = logs.Throttle(settings.warning_interval_seconds)
        while not stop.wait(settings.broker_check_seconds):
            try:
                ensure_topics(settings, topics)
            except KafkaError as error:
                warnings.warning(log, "cannot check topics", error=type(error).__name__)
            else:
                metrics.loop_done()

    return keep


def relay_task(settings: Settings, plan: WorkerPlan) -> Task:
    """The outbox relay of a service, over the collections of its event log."""

    def relay(stop: threading.Event) -> None:
        OutboxRelay(event_log(settings, plan), settings, [topic_of(plan.service)]).run(stop)

    return relay


def log_count_task(settings: Settings, plan: WorkerPlan) -> Task:
    """Says on Kafka how many events of the service's log are published (backbone.log_counts)."""

    def count(stop: threading.Event) -> None:
        log_counts.LogCountPublisher(plan.service, event_log(settings, plan), settings).run(stop)

    return count


def event_log(settings: Settings, plan: WorkerPlan) -> list[Collection]:
    db = mongo.database(settings, plan.service)
    return [db[name] for name in plan.event_log]


@dataclass(frozen=True, eq=False)
class ConsumerTask:
    """A consumer group's runner, which says what it reads: the broker's ACLs are made from
    it (backbone.acls)."""

    settings: Settings
    group: str
    topics: list[str]
    handlers: dict[str, Handler]
    db: Database

    def __call__(self, stop: threading.Event) -> None:
        ConsumerRunner(self.group, self.topics, self.handlers, self.db, self.settings).run(stop)


def consumer_task(
    settings: Settings, group: str, topics: list[str], handlers: dict[str, Handler], db: Database
) -> ConsumerTask:
    """A consumer group's runner. Its plan must also list `dead_letter_topic(group)`, so
    that the topic is made, as configured, before anything is sent to it."""
    return ConsumerTask(settings, group, topics, handlers, db)


def _serve_metrics() -> None:
    """WORKER_METRICS_PORT gives a worker a /metrics of its own (so a stopped worker is a
    target down), on WORKER_METRICS_HOST: 127.0.0.1 under `make run`, every interface in a
    container, where only the container network reaches it."""
    port = os.environ.get("WORKER_METRICS_PORT")
    if port:
        host = os.environ.get("WORKER_METRICS_HOST", "0.0.0.0")
        start_http_server(int(port), addr=host, registry=metrics.registry())


def _supervise(service: str, name: str, task: Task, stop: threading.Event) -> None:
    metrics.worker_task_started(service, name)
    warnings = logs.Throttle(60)
    while not stop.is_set():
        try:
            task(stop)
        except Exception as error:
            if is_transient(error):  # a dependency away: no traceback
                warnings.warning(log, "worker task waiting", task=name, error=type(error).__name__)
            else:
                log.exception("worker task failed; restarting it", extra={"task": name})
            stop.wait(RESTART_PAUSE_SECONDS)
